#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# "Your own topology" (docs/qemu-kit.md): a second topology whose drivers and devices share
# no name with the kit's sim runs through the kit with options only, no edit to its scripts.
# The driver pair is the sim pair renamed (acme_iommu / acme-iommu, acme_disp / acme-disp,
# compatibles "acme,sim-iommu" / "acme,sim-disp"), built against the kit's stock kernel by
# run-campaign --extra-module-src; the device tree fragment tests/data/topology/acme.dtsi
# (run-campaign --nodes) replaces the sim's nodes; --load is the module-loading step; the
# target config tests/data/topology/acme.conf runs a short rebind campaign (9 cycles).
# Asserted from the database: every cycle recorded, with observations of acme-disp and
# acme-disp-ctl bound to driver acme-disp, actions on acme-mmu-a/b, kernel events naming
# acme-disp, nothing named after the sim's devices; and acme-disp meets the race
# (late_iommu_probe) inside acme-mmu-b's walk (offsets 20, 50, 80 ms), as decon does.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
PROBESTORM=$top_builddir/probestorm
PROBESTORM_KERNEL_PKG=${PROBESTORM_KERNEL_PKG:-linux-source-7.3}
export PROBESTORM PROBESTORM_KERNEL_PKG
data=$top_srcdir/tests/data/topology
work=${TOPOLOGY_WORK:-$top_builddir/tests/qemu/topology-work}
db=$work/topology.db

command -v qemu-system-aarch64 >/dev/null || { echo "topology: qemu-system-aarch64 missing"; exit 77; }
command -v sqlite3 >/dev/null || { echo "topology: sqlite3 missing"; exit 77; }
rm -rf "$work" && mkdir -p "$work/src"
fail=0
check() { # check DESCRIPTION STATUS
	if [ "$2" = 0 ]; then echo "topology: ok   - $1"; else echo "topology: FAIL - $1"; fail=1; fi
}
q() { sqlite3 -batch -noheader "$db" "$1"; }

# The user's driver pair: the sim pair with every name changed.
sim=$top_srcdir/contrib/qemu/sim
sed -e 's/ps_sysmmu/acme_iommu/g' -e 's/ps-sysmmu/acme-iommu/g' \
	-e 's/probestorm,sim-sysmmu/acme,sim-iommu/g' "$sim/ps_sysmmu.c" > "$work/src/acme_iommu.c"
sed -e 's/ps_decon/acme_disp/g' -e 's/ps-decon/acme-disp/g' \
	-e 's/probestorm,sim-decon/acme,sim-disp/g' "$sim/ps_decon.c" > "$work/src/acme_disp.c"
printf 'obj-m += acme_iommu.o acme_disp.o\n' > "$work/src/Kbuild"

start=$(date +%s)
"$top_srcdir/contrib/qemu/run-campaign" --variant stock --config "$data/acme.conf" \
	--campaign acme-rebind --database "$db" --out "$work/run" --timeout 600 --stall 60 \
	--nodes "$data/acme.dtsi" --extra-module-src "$work/src" \
	--append "acme_iommu.walk_delay_us=10000" \
	--load 'insmod /lib/modules/ps/acme_iommu.ko $(mparams acme_iommu) && insmod /lib/modules/ps/acme_disp.ko $(mparams acme_disp)' ||
	{ echo "topology: run-campaign failed"; exit 1; }
echo "topology: ran in $(( $(date +%s) - start )) s"

check "9 cycles recorded" "$([ "$(q 'SELECT COUNT(*) FROM cycles')" = 9 ]; echo $?)"
check "each cycle observed acme-disp and acme-disp-ctl bound to driver acme-disp" \
	"$([ "$(q "SELECT COUNT(*) FROM observations WHERE device IN ('acme-disp', 'acme-disp-ctl') AND driver = 'acme-disp'")" = 18 ]; echo $?)"
check "actions bound acme-mmu-b in every cycle" \
	"$([ "$(q "SELECT COUNT(*) FROM actions WHERE verb = 'bind' AND arg = 'acme-mmu-b' AND err = 0")" = 9 ]; echo $?)"
check "kernel events name acme-disp" \
	"$([ "$(q "SELECT COUNT(*) FROM events WHERE message LIKE 'probe of acme-disp with driver acme-disp returned%'")" -gt 0 ]; echo $?)"
check "nothing named after the sim's devices or drivers" \
	"$([ "$(q "SELECT (SELECT COUNT(*) FROM observations WHERE device IN ('decon', 'decon-ctl', 'sysmmu-a', 'sysmmu-b') OR driver LIKE 'ps-%') + (SELECT COUNT(*) FROM actions WHERE arg IN ('decon', 'decon-ctl', 'sysmmu-a', 'sysmmu-b'))")" = 0 ]; echo $?)"
late=$(q "SELECT COUNT(*) FROM observations WHERE device = 'acme-disp' AND outcome = 'late_iommu_probe'")
check "acme-disp meets the race inside acme-mmu-b's walk ($late/9 late_iommu_probe)" "$([ "$late" -gt 0 ]; echo $?)"
echo "topology: outcomes per offset (device offset_us outcome count):"
q "SELECT o.device, c.sweep_value, o.outcome, COUNT(*) FROM observations o JOIN cycles c ON o.cycle_id = c.id WHERE o.device LIKE 'acme-disp%' GROUP BY 1, 2, 3" | sed 's/^/    /'
exit $fail
