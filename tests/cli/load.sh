#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A campaign with a stress-ng load profile: stress-ng runs for the length of the run (on
# the host, against the fake sysfs tree), is always reaped, and the run records the
# profile, its arguments and stress-ng's --yaml metrics. A missing stress-ng is one clear
# error line and nothing recorded.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/cli/lib.sh"
ps_scratch
command -v stress-ng > /dev/null || { echo "stress-ng missing"; exit 77; }

fake_target "$t/root"
cat > "$t/conf" <<CONF
$(fake_rig_conf "$t/root")

[load cpu]
stress-ng = --cpu 1 --cpu-load 20

[scenario s]
step = unbind decon
step = bind decon
step = sleep 200ms

[campaign c]
target = rig
scenario = s
cycles = 5
load = cpu
CONF
timeout 60 "$ps" --config "$t/conf" --database "$t/db" run > /dev/null 2> "$t/err"
check "the loaded run finished (exit $?)" $?
check "the run records the profile and its arguments" \
	$([ "$(q "SELECT load_profile || '|' || load_args FROM runs")" = "cpu|--cpu 1 --cpu-load 20" ]; echo $?)
check "the run records stress-ng's metrics (stressor cpu, bogo-ops)" \
	$(q "SELECT load_metrics FROM runs" | grep -q "stressor: cpu" &&
	  q "SELECT load_metrics FROM runs" | grep -q "bogo-ops:"; echo $?)
sleep 0.2
check "no stress-ng is left running" $(! pgrep -f "stress-ng --cpu 1 --cpu-load 20" > /dev/null; echo $?)

# Without stress-ng on PATH: one line, exit 2, no database.
rm -f "$t/db2"
PATH=/nonexistent "$(command -v timeout)" 20 "$ps" --config "$t/conf" --database "$t/db2" run > /dev/null 2> "$t/err2"
rc=$?
check "without stress-ng: exit 2, one line naming stress-ng, nothing recorded" \
	$([ $rc -eq 2 ] && [ "$(wc -l < "$t/err2")" -eq 1 ] && grep -q "stress-ng" "$t/err2" &&
	  [ ! -e "$t/db2" ]; echo $?)
[ $fail = 0 ] || cat "$t/err" "$t/err2"
exit $fail
