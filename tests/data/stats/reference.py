#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Reference values for tests/unit/test-stats.c, computed by implementations independent of
# analysis/stats.c: SciPy (norm, mannwhitneyu, fisher_exact, beta), numpy (quantile), statsmodels
# (proportion_confint, tost_proportions_2indep), exact rational arithmetic (fractions) and
# mpmath at 60 digits for Fisher's test with R's tie rule, and a transcription of Vigna's
# splitmix64/xoshiro256** reference C code. Run with Debian's interpreter and packages:
#   /usr/bin/python3 tests/data/stats/reference.py
# (generated with Debian 12: python3 3.11, scipy 1.10.1, numpy 1.24.2, statsmodels 0.13.5,
# mpmath 1.2.1). The data sets below are duplicated literally or by the same integer
# formulas in the C test.
from fractions import Fraction
from math import comb
import sys

import mpmath
import numpy as np
import scipy
import scipy.stats as st
import statsmodels
from statsmodels.stats.proportion import proportion_confint, tost_proportions_2indep


def out(name, value):
    print(f"{name} = {value!r}")


print(f"# scipy {scipy.__version__}, numpy {np.__version__}, "
      f"statsmodels {statsmodels.__version__}, mpmath {mpmath.__version__}, "
      f"python {sys.version.split()[0]}")

# --- normal distribution ---
for x in (-1.96, 0.0, 3.0, -8.0):
    out(f"norm.cdf({x})", st.norm.cdf(x))
for x in (8.0, -1.0, 1.959963984540054):
    out(f"norm.sf({x})", st.norm.sf(x))
for p in (0.975, 1e-10, 0.5, 0.02425, 0.3, 1 - 1e-12, 1e-300, 0.999):
    out(f"norm.ppf({p!r})", st.norm.ppf(p))

# --- Wilson intervals (statsmodels, and the closed form as a cross-check) ---
z = st.norm.ppf(0.975)
for k, n in ((0, 10), (1, 10), (5, 10), (10, 10), (3, 100), (0, 1), (1, 1),
             (37, 1000000), (999, 1000)):
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert abs(lo - max(0, c - h)) < 1e-12 and abs(hi - min(1, c + h)) < 1e-12
    out(f"wilson({k}, {n})", (lo, hi))

# --- zero events: exact one-sided bounds (Clopper-Pearson at k = 0 / k = n) ---
mpmath.mp.dps = 40
for n in (1, 10, 100, 1000, 10**6, 10**7):
    up = 1 - mpmath.mpf("0.05") ** (mpmath.mpf(1) / n)
    assert abs(float(up) - st.beta.ppf(0.95, 1, n)) <= 1e-9 * float(up)
    out(f"zero_upper({n})", float(up))
    out(f"all_lower({n})", float(mpmath.mpf("0.05") ** (mpmath.mpf(1) / n)))


# --- Fisher's exact test, two-sided, R's rule: sum P(x) <= P(obs) * (1 + 1e-7) ---
def fisher_fraction(k1, n1, k2, n2):
    # exact integers: weight(x) = C(n1, x) C(n2, K - x)
    K = k1 + k2
    lo, hi = max(0, K - n2), min(n1, K)
    w = {x: comb(n1, x) * comb(n2, K - x) for x in range(lo, hi + 1)}
    wobs = w[k1]
    num = sum(v for v in w.values() if v * 10**7 <= wobs * (10**7 + 1))
    return float(Fraction(num, sum(w.values())))


def fisher_mpmath(k1, n1, k2, n2, width=40):
    # 60-digit log-gamma anchor at the mode, then the exact neighbour ratios
    mpmath.mp.dps = 60
    K = k1 + k2
    N = n1 + n2
    lo, hi = max(0, K - n2), min(n1, K)
    mode = (n1 + 1) * (K + 1) // (N + 2)
    sd = max(1.0, (n1 * (K / N) * (1 - K / N) * (n2 / N)) ** 0.5)
    a, b = max(lo, int(mode - width * sd)), min(hi, int(mode + width * sd))

    def logw(x):
        return (mpmath.loggamma(K + 1) - mpmath.loggamma(x + 1) - mpmath.loggamma(K - x + 1)
                + mpmath.loggamma(N - K + 1) - mpmath.loggamma(n1 - x + 1)
                - mpmath.loggamma(N - K - n1 + x + 1) - mpmath.loggamma(N + 1)
                + mpmath.loggamma(n1 + 1) + mpmath.loggamma(n2 + 1))

    terms = {mode: mpmath.exp(logw(mode))}
    t = terms[mode]
    for x in range(mode, b):
        t = t * (K - x) * (n1 - x) / ((x + 1) * (N - K - n1 + x + 1))
        terms[x + 1] = t
    t = terms[mode]
    for x in range(mode, a, -1):
        t = t * x * (N - K - n1 + x) / ((K - x + 1) * (n1 - x + 1))
        terms[x - 1] = t
    obs = terms[k1]
    lim = obs * (1 + mpmath.mpf("1e-7"))
    return float(mpmath.fsum(v for v in terms.values() if v <= lim))


fisher_cases = [
    (3, 100, 15, 100), (5, 10, 5, 10), (2, 10, 8, 10), (0, 50, 50, 50), (20, 20, 0, 20),
    (1, 2, 0, 3), (7, 12, 1, 9), (5, 100000, 40, 100000), (100, 10**7, 160, 10**7),
    (0, 10, 0, 20), (10, 10, 20, 20), (1, 1000, 0, 1000), (30, 200, 12, 1000),
]
for c in fisher_cases:
    exact = fisher_fraction(*c)
    mp = fisher_mpmath(*c)
    sp = st.fisher_exact([[c[0], c[1] - c[0]], [c[2], c[3] - c[2]]])[1]
    assert abs(exact - mp) <= 1e-12 * exact, (c, exact, mp)
    out(f"fisher{c} exact", exact)
    out(f"fisher{c} scipy", sp)
# too large for exact integers: 60-digit mpmath only, scipy as a cross-check
big = (2000000, 10**7, 2003000, 10**7)
out(f"fisher{big} mpmath", fisher_mpmath(*big))
out(f"fisher{big} scipy", st.fisher_exact([[big[0], big[1] - big[0]],
                                           [big[2], big[3] - big[2]]])[1])

# --- type-7 quantiles (numpy 'linear') ---
q1 = [3.2, 1.5, 9.9, 4.4, 7.0, 2.2, 8.1, 5.5, 6.3, 0.7, 4.4]
probs = [0.0, 0.25, 0.5, 0.9, 0.99, 1.0]
out("quantile(q1)", [float(v) for v in np.quantile(q1, probs, method="linear")])
q2 = [(i * 37 % 101) * 1.5 for i in range(200)]
out("quantile(q2)", [float(v) for v in np.quantile(q2, probs, method="linear")])
out("quantile([42.0])", [float(v) for v in np.quantile([42.0], probs, method="linear")])

# --- Mann-Whitney U and Hodges-Lehmann ---
mw = {
    "ties": ([12, 15, 15, 18, 20, 20, 20, 25, 30, 31],
             [15, 20, 22, 25, 25, 33, 35, 40, 41, 45, 50, 20]),
    "noties": ([1.1, 2.3, 3.7, 4.2, 5.9], [3.3, 6.1, 7.4, 8.8, 9.0, 10.2, 11.5]),
    "gen": ([(i * 7919 % 1000) / 10 for i in range(500)],
            [((i * 104729 % 1013) + 30) / 10 for i in range(600)]),
    "tied": ([5.0, 5.0, 5.0], [5.0, 5.0]),
    "reversed": ([30, 31, 40, 44, 52, 60], [1, 2, 2, 3, 10]),
}
for name, (x, y) in mw.items():
    r = st.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic",
                        use_continuity=True)
    hl = float(np.median(np.subtract.outer(np.array(y, float), np.array(x, float))))
    out(f"mwu[{name}]", (float(r.statistic), float(r.pvalue)))
    out(f"hl[{name}]", hl)

# --- TOST equivalence, Agresti-Caffo: statsmodels compares p1 - p2 = head - base ---
for kb, nb, kh, nh, m in ((0, 1000, 0, 1000, 0.01), (3, 100, 5, 100, 0.05),
                          (50, 1000, 80, 1000, 0.02), (0, 500, 2, 500, 0.01),
                          (10, 10000, 12, 10000, 0.002)):
    # numpy scalars: statsmodels divides p1 / p2 before branching on the method
    with np.errstate(divide="ignore", invalid="ignore"):
        r = tost_proportions_2indep(np.float64(kh), nh, np.float64(kb), nb, -m, m,
                                    method="agresti-caffo")
    # statsmodels 0.13.5 reports the smaller of the two one-sided p values in r.pvalue
    # (idx_max picks the minimum); TOST's p is the larger, so take it from the parts.
    p = max(r.results_larger.pvalue, r.results_smaller.pvalue)
    out(f"tost({kb}, {nb}, {kh}, {nh}, {m})", float(p))

# --- splitmix64-seeded xoshiro256** (Vigna's reference code, transcribed) ---
M = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


def xoshiro_first(seed, count):
    s, st_ = [], seed
    for _ in range(4):
        st_, v = splitmix64(st_)
        s.append(v)
    res = []
    for _ in range(count):
        res.append(rotl((s[1] * 5) & M, 7) * 9 & M)
        t = (s[1] << 17) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return res


out("xoshiro256**(seed 42)", [hex(v) for v in xoshiro_first(42, 4)])
out("xoshiro256**(seed 0)", [hex(v) for v in xoshiro_first(0, 2)])
