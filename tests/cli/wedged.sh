#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A wedged target on the fake sysfs tree: decon's bind file is a FIFO nobody reads, so
# "bind decon" never returns (as a probe asleep in the kernel does) and every cycle hangs.
#   continue + max-consecutive-hangs = 0: never aborted, every planned cycle recorded
#   continue + max-consecutive-hangs = 2: aborted after 2, with the reason stored and shown
#   abort:   the run ends aborted after the first hung cycle, the reason names on-wedged
#   reboot:  the hung cycle is stored, the run stays running without an in-flight action,
#            the reboot command runs; in the "next boot" (another boot_id, bind works) the
#            restarted daemon goes on with the next cycle in boot 1 until all are done
#   max-reboots: a second wedged cycle past max-reboots = 1 aborts the run with the reason
#   stream:  `run --no-database --stream` ends the stream with a "reboot" line, no "end"
#            line, and runs no reboot command
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/cli/lib.sh"
ps_scratch

fake_target "$t/root"
bindf=$t/root/sys/bus/platform/drivers/ps-decon/bind
wedge() { rm -f "$bindf" && mkfifo "$bindf"; }
unwedge() { rm -f "$bindf" && : > "$bindf"; }
BOOT0=$PS_BOOT0
BOOT1=$PS_BOOT1
# conf FILE ON_WEDGED MAX_HANGS MAX_REBOOTS
conf() {
	cat > "$1" <<CONF
[daemon]
database = $t/db
listen = 127.0.0.1:0
reboot-command = echo reboot >> '$t/rebooted'

$(fake_rig_conf "$t/root")

[scenario s]
step = unbind decon
step = bind decon

[campaign c]
target = rig
scenario = s
cycles = 3
deadline = 10ms
action-timeout = 100ms
on-wedged = $2
max-consecutive-hangs = $3
max-reboots = $4
CONF
}
outcomes() { q "SELECT GROUP_CONCAT(seq || ':' || outcome || ':' || boot, ' ') FROM
		(SELECT * FROM cycles ORDER BY seq)"; }
run() { timeout 60 "$ps" --config "$t/conf" run "$@" > "$t/out" 2>> "$t/log"; }

fake_boot_id "$t/root" $BOOT0
wedge

conf "$t/conf" continue 0 10
run
check "max-consecutive-hangs = 0 never aborts: 3 hung cycles, finished" \
	$([ "$(outcomes) $(q "SELECT status FROM runs")" = "0:hang:0 1:hang:0 2:hang:0 finished" ]; echo $?)

rm -f "$t/db"
conf "$t/conf" continue 2 10
run
check "max-consecutive-hangs = 2 aborts after 2 hung cycles" \
	$([ "$(outcomes) $(q "SELECT status FROM runs")" = "0:hang:0 1:hang:0 aborted" ]; echo $?)
check "... with the reason stored" \
	$([ "$(q "SELECT status_reason FROM runs")" = \
	    "2 consecutive cycles hung (max-consecutive-hangs = 2)" ]; echo $?)

rm -f "$t/db"
conf "$t/conf" abort 3 10
run
check "on-wedged = abort: aborted after the first hung cycle" \
	$([ "$(outcomes) $(q "SELECT status FROM runs")" = "0:hang:0 aborted" ]; echo $?)
check "... the reason names the cycle and on-wedged" \
	$(q "SELECT status_reason FROM runs" | grep -q "^cycle 0: the target is wedged after a hang (decon: action did not return) (on-wedged = abort)$"; echo $?)
check "list runs shows the reason" \
	$("$ps" --database "$t/db" list runs | grep -q "^    cycle 0: the target is wedged after a hang"; echo $?)
check "list runs --json has status_reason" \
	$("$ps" --database "$t/db" list runs --json | grep -q '"status_reason": *"cycle 0: the target is wedged'; echo $?)
check "no reboot command ran" $([ ! -e "$t/rebooted" ]; echo $?)

rm -f "$t/db"
conf "$t/conf" reboot 3 10
run
check "on-wedged = reboot: the hung cycle is stored, the run stays running" \
	$([ "$(outcomes) $(q "SELECT status FROM runs")" = "0:hang:0 running" ]; echo $?)
check "... without an in-flight action" $([ "$(q 'SELECT COUNT(*) FROM inflight')" = 0 ]; echo $?)
check "... and the reboot command ran once" $([ "$(cat "$t/rebooted" 2>/dev/null)" = reboot ]; echo $?)
# the next boot: another boot_id, the driver core is fresh
fake_boot_id "$t/root" $BOOT1
unwedge
timeout 60 "$psd" --config "$t/conf" --once --no-api >> "$t/log" 2>&1
check "the next boot's daemon goes on with cycle 1 in boot 1 and finishes the run" \
	$([ "$(outcomes) $(q "SELECT status FROM runs") $(q "SELECT COUNT(*) FROM runs")" = \
	    "0:hang:0 1:ok:1 2:ok:1 finished 1" ]; echo $?)
check "... no crash cycle and no second reboot" \
	$([ "$(q "SELECT COUNT(*) FROM cycles WHERE outcome = 'crash'") $(wc -l < "$t/rebooted")" = "0 1" ]; echo $?)

rm -f "$t/db" "$t/rebooted"
fake_boot_id "$t/root" $BOOT0
wedge
conf "$t/conf" reboot 3 1
run
fake_boot_id "$t/root" $BOOT1
timeout 60 "$psd" --config "$t/conf" --once --no-api >> "$t/log" 2>&1
check "max-reboots = 1: the second wedged cycle aborts the run" \
	$([ "$(outcomes) $(q "SELECT status FROM runs")" = "0:hang:0 1:hang:1 aborted" ]; echo $?)
check "... with the reason" \
	$(q "SELECT status_reason FROM runs" | grep -q "^cycle 1: the target is wedged after a hang; 2 reboots would exceed max-reboots = 1$"; echo $?)
check "... after one reboot" $([ "$(wc -l < "$t/rebooted")" = 1 ]; echo $?)

rm -f "$t/db" "$t/rebooted"
conf "$t/conf" reboot 3 10
timeout 60 "$ps" --config "$t/conf" run --no-database --stream "$t/stream" > /dev/null 2>> "$t/log"
check "a guest's stream ends with the reboot line" \
	$(tail -n 1 "$t/stream" | python3 -c '
import json, sys
l = json.loads(sys.stdin.read())
sys.exit(0 if l["type"] == "reboot" and l["cycle"] == 0 and l["boot"] == 0 and
	 l["boot_id"] == "'$BOOT1'" and l["reason"].startswith("cycle 0: the target is wedged")
	 and len(l["run"]) == 36 else 1)'; echo $?)
check "... after the hung cycle's line (carrying the boot_id), without an end line" \
	$(python3 -c '
import json, sys
ls = [json.loads(x) for x in open(sys.argv[1])]
c = [l for l in ls if l["type"] == "cycle"]
sys.exit(0 if len(c) == 1 and c[0]["outcome"] == "hang" and c[0]["boot_id"] == "'$BOOT1'"
	 and not [l for l in ls if l["type"] == "end"] else 1)' "$t/stream"; echo $?)
check "... and no reboot command ran" $([ ! -e "$t/rebooted" ]; echo $?)
check "the host's import accepts the stream" \
	$("$ps" --database "$t/host.db" import "$t/stream" > /dev/null 2>> "$t/log"; echo $?)
[ $fail = 0 ] || sed 's/^/    /' "$t/log"
exit $fail
