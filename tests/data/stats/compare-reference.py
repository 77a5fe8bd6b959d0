#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Reference values for tests/unit/test-compare.c, computed by SciPy/numpy/statsmodels (not
# by analysis/stats.c) from the same hand-made cycles the C test records. The data are defined
# by the integer formulas below, duplicated in the C test's make_cycle():
#   base: kernel label "base", 2 runs of 20 cycles; cycle g = 0..39 (run 1 has g = seq,
#         run 2 g = 20 + seq): late_iommu_probe if g % 10 == 3, unbound if g % 10 == 7,
#         deferred_ok if g % 5 == 0, else ok
#   head: kernel label "head", 1 run of 40 cycles g = 0..39: late_iommu_probe if g is even,
#         no_iommu if g is 1 or 3, else ok
#   time_to_bound (consumer decon, not for unbound cycles): base 1 ms + 50 us * g,
#         head 1.6 ms + 50 us * g;  bind latency (action "bind decon"): base 200 us + 1 us
#         * g, head 200.5 us + 1 us * g, both of the cycles with outcome ok or deferred_ok
#         only (compare.h);  sweep value: (seq % 4) * 20 ms
# Run with Debian's interpreter and packages:
#   /usr/bin/python3 tests/data/stats/compare-reference.py
import sys

import numpy as np
import scipy
import scipy.stats as st
from statsmodels.stats.proportion import proportion_confint


def out(name, value):
    print(f"{name} = {value!r}")


def base_outcome(g):
    if g % 10 == 3:
        return "late_iommu_probe"
    if g % 10 == 7:
        return "unbound"
    return "deferred_ok" if g % 5 == 0 else "ok"


def head_outcome(g):
    if g % 2 == 0:
        return "late_iommu_probe"
    return "no_iommu" if g in (1, 3) else "ok"


print(f"# scipy {scipy.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")
base = [base_outcome(g) for g in range(40)]
head = [head_outcome(g) for g in range(40)]
fail = {"late_iommu_probe", "unbound", "no_iommu"}
for cls in ("late_iommu_probe", "no_iommu", "unbound", "any_failure"):
    kb = sum(1 for o in base if (o in fail if cls == "any_failure" else o == cls))
    kh = sum(1 for o in head if (o in fail if cls == "any_failure" else o == cls))
    p = st.fisher_exact([[kb, 40 - kb], [kh, 40 - kh]], alternative="two-sided")[1]
    out(f"{cls}: k_base, k_head", (kb, kh))
    out(f"{cls}: fisher p", p)
    for side, k in (("base", kb), ("head", kh)):
        if k == 0:
            out(f"{cls}: {side} zero upper", 1 - 0.05 ** (1 / 40))
        else:
            out(f"{cls}: {side} wilson", proportion_confint(k, 40, alpha=0.05, method="wilson"))

# latency: only the cycles that bound correctly (ok, deferred_ok) are compared
good = {"ok", "deferred_ok"}
ttb_b = np.array([1e6 + 50e3 * g for g in range(40) if base[g] in good])
ttb_h = np.array([1.6e6 + 50e3 * g for g in range(40) if head[g] in good])
bl_b = np.array([200e3 + 1e3 * g for g in range(40) if base[g] in good])
bl_h = np.array([200.5e3 + 1e3 * g for g in range(40) if head[g] in good])
for name, x, y in (("time_to_bound", ttb_b, ttb_h), ("bind_latency", bl_b, bl_h)):
    r = st.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    hl = np.median(np.subtract.outer(y, x))
    out(f"{name}: n", (len(x), len(y)))
    out(f"{name}: mann-whitney p", r.pvalue)
    out(f"{name}: hodges-lehmann shift", hl)
    out(f"{name}: base quantiles", tuple(np.quantile(x, [0.5, 0.9, 0.99])))
    out(f"{name}: head quantiles", tuple(np.quantile(y, [0.5, 0.9, 0.99])))

# failures per sweep value: base runs have seq = g % 20, the head run seq = g
for s in range(4):
    bg = [g for g in range(40) if (g % 20) % 4 == s]
    hg = [g for g in range(40) if g % 4 == s]
    out(f"sweep {s * 20000} us: base n, fail, head n, fail",
        (len(bg), sum(base[g] in fail for g in bg), len(hg), sum(head[g] in fail for g in hg)))
