#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-lava: a LAVA lab on this machine (contrib/lava/lab) runs the campaign e2e on
# the stock and the lkml-v1 kernel of the QEMU kit as LAVA jobs (contrib/lava/submit), and
# the runs collected from the job logs show the regression as a local run does.
#
#  1. lab install (what is missing of lava-server, lava-dispatcher, lavacli, postgresql,
#     qemu-system-arm; timed). Exit 77 (skip) only when that fails or cannot run (not root).
#  2. lab up in a directory of its own (timed): afterwards lab status is complete, the
#     worker is Online and the device Idle/Good, and every listening TCP socket of the lab's
#     processes is on 127.0.0.1 (ss -ltnp).
#  3. submit --cycles 18 (stock, lkml-v1; timed per job): both jobs Complete, both runs
#     imported from their job logs with every cycle, and LAVA's test cases equal those of
#     the report of each imported run.
#  4. probestorm compare --base stock --head lkml-v1 on that database: exit 1 (regression),
#     decon-ctl's late_iommu_probe a regression.
#  5. One more stock job whose guest panics in cycle 0 (ps_decon.oops_on_bind=3
#     oops=panic, test timeout 1 min): LAVA Incomplete; submit records it as a crash cycle
#     (import --died crash) and says so. LAVA_CHECK_CRASH=0 leaves this out.
#  6. lab down (timed): none of the lab's processes (recorded after up and before down:
#     PostgreSQL, gunicorn, scheduler, worker and their children) is left, and no
#     postgres/gunicorn/lava/qemu process names the lab's directory.
# The lab is taken down on any exit. LAVA_LAB_DIR (default /var/tmp/probestorm-lava-check,
# purged first), LAVA_LAB_PORT (default 8000), LAVA_CHECK_CYCLES (18), LAVA_CHECK_WORK
# (default build/tests/lava/work, kept).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
lab_dir=${LAVA_LAB_DIR:-/var/tmp/probestorm-lava-check}
port=${LAVA_LAB_PORT:-8000}
cycles=${LAVA_CHECK_CYCLES:-18}
work=${LAVA_CHECK_WORK:-$top_builddir/tests/lava/work}
PROBESTORM=$top_builddir/probestorm
export PROBESTORM
lab() { nice -n 19 "$top_srcdir/contrib/lava/lab" --dir "$lab_dir" --port "$port" "$@"; }
fail=0
check() { # check DESCRIPTION STATUS
	if [ "$2" = 0 ]; then echo "lava: ok   - $1"; else echo "lava: FAIL - $1"; fail=1; fi
}
now() { date +%s; }
timings=

if [ "$(id -u)" != 0 ]; then
	echo "lava: SKIP - needs root (apt-get, PostgreSQL and gunicorn as lavaserver)"
	exit 77
fi
[ -x "$PROBESTORM" ] || { echo "lava: FAIL - no $PROBESTORM (make first)"; exit 1; }

# 1. Packages.
t=$(now)
if ! lab install; then
	echo "lava: SKIP - the LAVA packages cannot be installed here"
	exit 77
fi
timings="$timings install $(($(now) - t)) s;"

rm -rf "$work"
mkdir -p "$work"
cleanup() { lab down > "$work/down-at-exit.log" 2>&1 || cat "$work/down-at-exit.log"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
lab down --purge > /dev/null 2>&1 || true

# 2. Up.
t=$(now)
lab up > "$work/up.log" 2>&1
rc=$?
cat "$work/up.log"
timings="$timings up $(($(now) - t)) s;"
check "lab up (exit $rc)" $rc
[ $rc = 0 ] || exit 1
lab status > "$work/status.log" 2>&1
check "lab status: all four daemons run" $?
grep -q 'worker state *: Online' "$work/status.log" && grep -q 'device state *: Idle' "$work/status.log" &&
	grep -q 'device health *: Good' "$work/status.log"
check "worker Online, device Idle and Good" $?
# The lab's processes, to look for after down, and their listening sockets.
cp "$lab_dir/pid/all" "$work/pids-up"
pids=" $(tr '\n' ' ' < "$work/pids-up") "
ss -Hltnp > "$work/ss.txt"
socks=$(awk -v pids="$pids" '{
	s = $0; mine = 0
	while (match(s, /pid=[0-9]+/)) {
		if (index(pids, " " substr(s, RSTART + 4, RLENGTH - 4) " ")) mine = 1
		s = substr(s, RSTART + RLENGTH)
	}
	if (mine) print $4
}' "$work/ss.txt")
echo "lava: the lab's listening sockets: $(echo "$socks" | tr '\n' ' ')"
[ -n "$socks" ] && ! echo "$socks" | grep -qv '^127\.0\.0\.1:'
check "the lab's daemons listen on 127.0.0.1 only ($(echo "$socks" | wc -l) sockets)" $?
echo "$socks" | grep -qx "127.0.0.1:$port"
check "gunicorn is one of them (127.0.0.1:$port)" $?

# 3. The two jobs.
t=$(now)
nice -n 19 "$top_srcdir/contrib/lava/submit" --lab-dir "$lab_dir" --cycles "$cycles" \
	--out "$work/jobs" --database "$work/lava.db" > "$work/submit.log" 2>&1
rc=$?
grep -v -e '^build-kernel:' -e '^cross-build:' "$work/submit.log"
timings="$timings submit (both jobs, ramdisks included) $(($(now) - t)) s;"
check "submit stock and lkml-v1 (exit $rc)" $rc
for v in stock lkml-v1; do
	line=$(grep "^submit: result $v job " "$work/submit.log")
	case $line in *" Finished/Complete guest=complete run="*) r=0 ;; *) r=1 ;; esac
	check "$v: job Complete, guest ran the campaign" $r
	grep -q "^submit: $v: job .*ran the campaign: $cycles cycles.*LAVA's 18 test cases match the imported run's report" \
		"$work/submit.log"
	check "$v: $cycles cycles imported, LAVA's 18 test cases match the imported run" $?
	id=$(cat "$work/jobs/$v/job-id" 2> /dev/null)
	s=$(sed -n 's/^start_time: //p' "$work/jobs/$v/show.yaml" 2> /dev/null)
	e=$(sed -n 's/^end_time: //p' "$work/jobs/$v/show.yaml" 2> /dev/null)
	timings="$timings job $id ($v) $s .. $e;"
done
n=$(sqlite3 -batch -noheader "$work/lava.db" "SELECT k.label, COUNT(*) FROM cycles c
	JOIN runs r ON r.id = c.run_id JOIN kernels k ON k.id = r.kernel_id GROUP BY k.label
	ORDER BY k.label" 2> /dev/null | tr '\n' ' ')
[ "$n" = "lkml-v1|$cycles stock|$cycles " ]
check "the database holds $cycles cycles per kernel ($n)" $?

# 4. Compare, as after a local run.
"$PROBESTORM" --database "$work/lava.db" compare --base stock --head lkml-v1 > "$work/compare.txt" 2>&1
rc=$?
cat "$work/compare.txt"
[ $rc = 1 ]; check "compare --base stock --head lkml-v1 finds a regression (exit $rc)" $?
awk '/consumer decon-ctl/ { c = 1 } c && $1 == "late_iommu_probe" { print; exit }' \
	"$work/compare.txt" | grep -q 'regression$'
check "decon-ctl late_iommu_probe is the regression" $?

# 5. A guest that panics.
if [ "${LAVA_CHECK_CRASH:-1}" = 1 ]; then
	t=$(now)
	nice -n 19 "$top_srcdir/contrib/lava/submit" --lab-dir "$lab_dir" --variants stock \
		--cycles 4 --test-minutes 1 \
		--append "ps_sysmmu.walk_delay_us=5000 ps_decon.oops_on_bind=3 oops=panic" \
		--out "$work/crash" --database "$work/crash.db" > "$work/crash.log" 2>&1
	rc=$?
	grep -v -e '^build-kernel:' -e '^cross-build:' "$work/crash.log"
	timings="$timings crash job $(($(now) - t)) s;"
	check "submit of the panicking job exits 0: the crash is recorded (exit $rc)" $rc
	grep -q '^submit: result stock job [0-9]* Finished/Incomplete guest=crash run=[0-9a-f-]* ' \
		"$work/crash.log"
	check "the job is reported as LAVA Incomplete, guest crash" $?
	c=$(sqlite3 -batch -noheader "$work/crash.db" "SELECT seq || ':' || outcome FROM cycles" 2> /dev/null)
	[ "$c" = "0:crash" ]
	check "cycle 0 is recorded as crash ($c)" $?
fi

# 6. Down.
[ -r "$lab_dir/pid/all" ] && cat "$lab_dir/pid/all" >> "$work/pids-up"
t=$(now)
lab down > "$work/down.log" 2>&1
rc=$?
cat "$work/down.log"
timings="$timings down $(($(now) - t)) s;"
check "lab down (exit $rc)" $rc
left=
for p in $(sort -un "$work/pids-up"); do
	[ -d "/proc/$p" ] && left="$left $(ps -o pid=,args= -p "$p" | cut -c1-80)"
done
[ -z "$left" ]; check "none of the lab's $(sort -un "$work/pids-up" | wc -l) processes is left${left:+:$left}" $?
named=$(ps -eo pid=,args= | grep -F -- "$lab_dir/" |
	grep -E 'postgres|gunicorn|lava-(server|worker|run)|qemu-system' | grep -v 'grep ')
[ -z "$named" ]; check "no postgres/gunicorn/lava/qemu process names $lab_dir${named:+: $named}" $?
lab down > /dev/null 2>&1
check "lab down again: nothing to do" $?
trap - EXIT

echo "lava: timings:$timings"
exit $fail
