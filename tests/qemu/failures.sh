#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end test of the failure paths, on the stock kernel in QEMU guests (campaign "e2e"
# of contrib/targets/qemu-sim.conf), all runs in one database, assertions made from it:
#   base   a clean run (label stock)
#   panic  ps_decon.oops_on_bind=3 oops=panic (label stock-panic): probes 1 and 2 are at
#          insmod, so every boot panics in its first cycle's rebind. Every cycle is a crash
#          for each consumer, with its sweep value; the run finishes through fresh boots;
#          compare --base stock --head stock-panic is a regression (exit 1) with crash
#          counts per consumer and per offset in text, markdown and JSON.
#   oops   the same knob without oops=panic (label stock-oops): the oops wedges the driver
#          core (device lock held), the runner asks for a reboot, the host resets the guest
#          at once; every planned cycle recorded, each oops counted once and for one device,
#          the run finished, no 900 s wait.
#   hang   every probe sleeps 120 s (set after insmod through the module parameter, label
#          stock-hang): every planned cycle recorded, each with a hang, the run finished
#          through fresh boots, and no deferred_ok for a probe that is still running.
# Needs the QEMU kit (contrib/setup-deps --qemu) and its cached stock kernel.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
PROBESTORM=$top_builddir/probestorm
PROBESTORM_KERNEL_PKG=${PROBESTORM_KERNEL_PKG:-linux-source-7.3}
export PROBESTORM PROBESTORM_KERNEL_PKG
command -v qemu-system-aarch64 > /dev/null || { echo "failures: qemu-system-aarch64 missing"; exit 77; }
command -v sqlite3 > /dev/null || { echo "failures: sqlite3 missing"; exit 77; }
command -v jq > /dev/null || { echo "failures: jq missing"; exit 77; }
conf=$top_srcdir/contrib/targets/qemu-sim.conf
work=${E2E_WORK:-$top_builddir/tests/qemu/failures-work}
db=$work/failures.db
walk="ps_sysmmu.walk_delay_us=5000"
rm -rf "$work" && mkdir -p "$work"
fail=0
check() { # check DESCRIPTION STATUS
	if [ "$2" = 0 ]; then echo "failures: ok   - $1"; else echo "failures: FAIL - $1"; fail=1; fi
}
q() { sqlite3 -batch -noheader "$db" "$1"; }
# run LABEL CYCLES [run-campaign options...]: one run, its wall time in $secs
run() {
	label=$1 cycles=$2
	shift 2
	t0=$(date +%s)
	"$top_srcdir/contrib/qemu/run-campaign" --variant stock --label "$label" --config "$conf" \
		--campaign e2e --cycles "$cycles" --database "$db" --out "$work/$label" \
		--timeout 600 --stall 60 "$@" > "$work/$label.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - t0 ))
	tail -n 3 "$work/$label.log" | sed 's/^/    /'
	echo "failures: $label: run-campaign exit $rc in $secs s"
	return $rc
}
# per-run facts
runq() { q "SELECT $2 FROM runs r JOIN kernels k ON k.id = r.kernel_id WHERE k.label = '$1'"; }
cycq() { q "SELECT $2 FROM cycles c JOIN runs r ON r.id = c.run_id JOIN kernels k ON k.id = r.kernel_id WHERE k.label = '$1' ${3:+AND $3}"; }
obsq() { q "SELECT $2 FROM observations o JOIN cycles c ON c.id = o.cycle_id JOIN runs r ON r.id = c.run_id JOIN kernels k ON k.id = r.kernel_id WHERE k.label = '$1' AND o.consumer = 1 ${3:+AND $3}"; }

run stock 8 --append "$walk"
check "base: run-campaign succeeded" $?
[ "$(cycq stock 'COUNT(*)')" = 8 ]; check "base: 8 cycles" $?

# --- panic ------------------------------------------------------------------------------
run stock-panic 6 --append "$walk oops=panic" --decon-params "oops_on_bind=3"
check "panic: run-campaign finished the run (exit 0)" $?
[ "$(cycq stock-panic 'COUNT(*)')" = 6 ]; check "panic: every planned cycle recorded (6)" $?
n=$(cycq stock-panic 'COUNT(*)' "c.outcome = 'crash'")
[ "$n" = 6 ]; check "panic: 6 crash cycles ($n)" $?
for dev in decon decon-ctl; do
	n=$(obsq stock-panic 'COUNT(*)' "o.device = '$dev' AND o.outcome = 'crash' AND c.sweep_value IS NOT NULL")
	[ "$n" = 6 ]; check "panic: $dev has a crash observation with a sweep value in each cycle ($n)" $?
done
boots=$(cycq stock-panic 'COUNT(DISTINCT c.boot)')
[ "$boots" -ge 6 ]; check "panic: the run went on through fresh boots ($boots)" $?
[ "$(runq stock-panic status)" = finished ]; check "panic: run finished ($(runq stock-panic status))" $?
n=$(q "SELECT COUNT(*) FROM events e JOIN cycles c ON c.id = e.cycle_id JOIN runs r ON r.id = c.run_id
       JOIN kernels k ON k.id = r.kernel_id WHERE k.label = 'stock-panic' AND e.source = 'console'
       AND e.message LIKE '%Kernel panic%'")
[ "$n" -ge 6 ]; check "panic: each crash cycle carries the console's panic line ($n)" $?
"$PROBESTORM" --database "$db" compare --base stock --head stock-panic > "$work/panic.txt" 2>&1
rc=$?
cat "$work/panic.txt"
[ $rc = 1 ]; check "panic: compare says regression (exit $rc)" $?
for dev in decon decon-ctl; do
	sed -n "/consumer $dev\$/,/race window/p" "$work/panic.txt" | grep -qE '^ +crash +0/8 .* 6/6 .* regression'
	check "panic: compare text: $dev crash 0/8 vs 6/6, regression" $?
done
grep -qE '^ +[0-9.]+ ms +0/[0-9]+ +\| +[1-9]' "$work/panic.txt"
check "panic: compare text counts the crashes per offset" $?
"$PROBESTORM" --database "$db" compare --base stock --head stock-panic --markdown > "$work/panic.md" 2>&1
grep -q 'crash.*6/6.*regression' "$work/panic.md"; check "panic: compare markdown has the crash regression" $?
"$PROBESTORM" --database "$db" compare --base stock --head stock-panic --json > "$work/panic.json" 2>&1
n=$(jq '[.. | objects | select(.outcome? == "crash" and .verdict? == "regression")] | length' "$work/panic.json" 2> /dev/null)
[ "${n:-0}" -ge 2 ]; check "panic: compare JSON has a crash regression per consumer (${n:-0})" $?

# --- oops without panic -------------------------------------------------------------------
run stock-oops 4 --append "$walk" --decon-params "oops_on_bind=3"
check "oops: run-campaign finished the run (exit 0)" $?
oops_secs=$secs
[ "$oops_secs" -lt 600 ]; check "oops: no long wait ($oops_secs s for 4 cycles)" $?
[ "$(cycq stock-oops 'COUNT(*)')" = 4 ]; check "oops: every planned cycle recorded (4)" $?
[ "$(cycq stock-oops 'COUNT(DISTINCT c.seq)')" = 4 ]; check "oops: no cycle recorded twice" $?
[ "$(runq stock-oops status)" = finished ]; check "oops: run finished ($(runq stock-oops status))" $?
per=$(q "SELECT group_concat(n) FROM (SELECT COUNT(o.id) AS n FROM cycles c JOIN runs r ON r.id = c.run_id
         JOIN kernels k ON k.id = r.kernel_id LEFT JOIN observations o ON o.cycle_id = c.id
         AND o.consumer = 1 AND o.outcome = 'oops' WHERE k.label = 'stock-oops' GROUP BY c.id)")
echo "failures: oops observations per cycle: $per"
[ "$per" = "1,1,1,1" ]; check "oops: each cycle's oops is counted for exactly one device" $?
n=$(q "SELECT COUNT(DISTINCT c.id) FROM events e JOIN cycles c ON c.id = e.cycle_id JOIN runs r ON
       r.id = c.run_id JOIN kernels k ON k.id = r.kernel_id WHERE k.label = 'stock-oops' AND e.class = 'oops'")
[ "$n" = 4 ]; check "oops: each cycle holds its own oops record ($n cycles with one)" $?
boots=$(cycq stock-oops 'COUNT(DISTINCT c.boot)')
[ "$boots" -ge 4 ]; check "oops: recovered by a fresh boot after each oops ($boots boots)" $?

# --- hung probe ---------------------------------------------------------------------------
run stock-hang 3 --append "$walk" \
	--guest-setup "echo 120 > /sys/module/ps_decon/parameters/hang_on_bind_s"
check "hang: run-campaign finished the run (exit 0)" $?
[ "$(cycq stock-hang 'COUNT(*)')" = 3 ]; check "hang: every planned cycle recorded (3)" $?
[ "$(runq stock-hang status)" = finished ]; check "hang: run finished ($(runq stock-hang status))" $?
n=$(cycq stock-hang 'COUNT(*)' "c.outcome = 'hang'")
[ "$n" = 3 ]; check "hang: each cycle is a hang ($n)" $?
n=$(obsq stock-hang 'COUNT(*)' "o.outcome = 'deferred_ok'")
[ "$n" = 0 ]; check "hang: no deferred_ok while probes sleep ($n)" $?
boots=$(cycq stock-hang 'COUNT(DISTINCT c.boot)')
[ "$boots" -ge 3 ]; check "hang: recovered by a fresh boot after each hang ($boots boots)" $?

"$PROBESTORM" --database "$db" list runs > "$work/runs.txt" 2>&1
cat "$work/runs.txt"
! grep -q '1970-01-01' "$work/runs.txt"; check "list runs shows real dates, not 1970 (the guest's RTC)" $?
exit $fail
