#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Recovery after a boot: a run the database still has as "running" is taken up by
# probestormd at start. Two cases, on the fake sysfs tree:
#   crash:  the in-flight action was "bind decon" of cycle 1: cycle 1 is recorded as crash,
#           naming that action, with the panic pstore kept; the run continues with cycle 2
#   reboot: the in-flight action was a reboot step with the cycle so far stored: that cycle
#           is completed (outcome from the state after the boot) and the run goes on
#   import: a running run that was imported (a rig's) is not taken up
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
. "$top_srcdir/tests/cli/lib.sh"
ps=$top_builddir/probestorm
psd=$top_builddir/probestormd
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
check() { if [ "$2" = 0 ]; then echo "ok   - $1"; else echo "FAIL - $1"; fail=1; fi; }

fake_target "$t/root"
mkdir -p "$t/root/sys/fs/pstore"
cat > "$t/conf" <<CONF
[daemon]
database = $t/db
listen = 127.0.0.1:0

[target rig]
kind = local
sysroot = $t/root

[consumer decon]
driver = ps-decon
iommus = sysmmu-b
expect-domain = identity

[supplier sysmmu-b]
driver = ps-sysmmu

[scenario s]
step = unbind decon
step = bind decon

[campaign c]
target = rig
scenario = s
cycles = 3
deadline = 10ms

[scenario sw]
step = unbind decon
step = bind decon @\${offset}

[campaign sw]
target = rig
scenario = sw
cycles = 1
sweep = offset 0 2ms 3
deadline = 10ms
CONF
q() { sqlite3 -batch -noheader "$t/db" "$1"; }

# A real run of one cycle, then made to look like the target died in cycle 1's bind.
timeout 60 "$ps" --config "$t/conf" run --campaign c --cycles 1 > /dev/null 2>&1
check "a first run recorded one cycle" $([ "$(q 'SELECT COUNT(*) FROM cycles')" = 1 ]; echo $?)
q "UPDATE runs SET status = 'running', finished_at = NULL, cycles_planned = 3;
   INSERT INTO inflight (run_id, cycle_seq, action_idx, verb, arg, started_at_ns)
   VALUES (1, 1, 1, 'bind', 'decon', 123)"
printf 'Internal error: Oops: 96000045 [#1] SMP\nKernel panic - not syncing: Oops: Fatal exception\n' \
	> "$t/root/sys/fs/pstore/dmesg-ramoops-0"
timeout 60 "$psd" --config "$t/conf" --once --no-api > "$t/log" 2>&1
check "probestormd exits 0 after taking the run up ($?)" $?
check "cycle 1 is a crash naming the action" \
	$([ "$(q "SELECT outcome || ' ' || note FROM cycles WHERE seq = 1")" = \
	    "crash target died during 'bind decon' (boot 1)" ]; echo $?)
check "the crash counts for the run's consumer decon" \
	$([ "$(q "SELECT o.device || ' ' || o.outcome || ' ' || r.consumers FROM observations o
	         JOIN cycles c ON c.id = o.cycle_id JOIN runs r ON r.id = c.run_id
	         WHERE c.seq = 1")" = "decon crash decon" ]; echo $?)
check "the crash cycle holds the pstore panic" \
	$([ "$(q "SELECT COUNT(*) FROM events e JOIN cycles c ON c.id = e.cycle_id WHERE c.seq = 1
	         AND e.source = 'pstore' AND e.class = 'panic'")" = 1 ]; echo $?)
check "the run continued with cycle 2 and finished" \
	$([ "$(q "SELECT COUNT(*) FROM cycles WHERE seq = 2") $(q "SELECT status FROM runs")" = \
	    "1 finished" ]; echo $?)
check "no in-flight action is left" $([ "$(q 'SELECT COUNT(*) FROM inflight')" = 0 ]; echo $?)

# A swept run whose in-flight record has no sweep value (recorded by an older probestorm):
# the crash cycle gets the value the campaign's sweep gives its seq (cycle 4: point 4 mod 3
# = 1, 1 ms), and counts for decon at that offset.
rm -f "$t/db" "$t/root/sys/fs/pstore/dmesg-ramoops-0"
timeout 60 "$ps" --config "$t/conf" run --campaign sw --cycles 4 > /dev/null 2>&1
q "UPDATE runs SET status = 'running', finished_at = NULL, cycles_planned = 6;
   INSERT INTO inflight (run_id, cycle_seq, action_idx, verb, arg, started_at_ns)
   VALUES (1, 4, 1, 'bind', 'decon', 123)"
timeout 60 "$psd" --config "$t/conf" --once --no-api >> "$t/log" 2>&1
check "probestormd exits 0 after taking the swept run up ($?)" $?
check "the swept crash cycle has the campaign's sweep value and counts at that offset" \
	$([ "$(q "SELECT c.outcome, c.sweep_value, a.n FROM cycles c JOIN agg_outcomes a ON
	          a.run_id = c.run_id AND a.swept = 1 AND a.sweep_value = c.sweep_value AND
	          a.outcome = 'crash' AND a.device = 'decon' WHERE c.seq = 4")" = \
	    "crash|1000|1" ]; echo $?)

# Reboot: the stored partial cycle 1 (cycle 0's line renumbered, a reboot action added).
rm -f "$t/db" "$t/root/sys/fs/pstore/dmesg-ramoops-0"
timeout 60 "$ps" --config "$t/conf" run --campaign c --cycles 1 > /dev/null 2>&1
uuid=$(q "SELECT uuid FROM runs")
"$ps" --database "$t/db" export "$uuid" | grep '"type":"cycle"' | python3 -c '
import json, sys
c = json.loads(sys.stdin.read())
c["seq"] = 1
c["observations"] = []
c["events"] = []
c["actions"].append({"idx": len(c["actions"]), "group": -1, "verb": "reboot", "arg": "",
                     "offset_us": 0, "start_ns": 5, "end_ns": 0, "err": 0, "hung": False})
print(json.dumps(c))' > "$t/partial"
q "UPDATE runs SET status = 'running', finished_at = NULL, cycles_planned = 3;
   INSERT INTO inflight (run_id, cycle_seq, action_idx, verb, arg, params, started_at_ns)
   VALUES (1, 1, 2, 'reboot', '', readfile('$t/partial'), 5)" 2>/dev/null ||
	q "UPDATE runs SET status = 'running', finished_at = NULL, cycles_planned = 3;
	   INSERT INTO inflight (run_id, cycle_seq, action_idx, verb, arg, params, started_at_ns)
	   VALUES (1, 1, 2, 'reboot', '', '$(sed "s/'/''/g" "$t/partial")', 5)"
timeout 60 "$psd" --config "$t/conf" --once --no-api >> "$t/log" 2>&1
check "probestormd exits 0 after the reboot step ($?)" $?
check "cycle 1 completed after the reboot with its reboot action and an observation" \
	$([ "$(q "SELECT c.outcome, (SELECT COUNT(*) FROM actions a WHERE a.cycle_id = c.id AND
	          a.verb = 'reboot'), (SELECT COUNT(*) FROM observations o WHERE o.cycle_id = c.id
	          AND o.device = 'decon') FROM cycles c WHERE c.seq = 1")" = "ok|1|1" ]; echo $?)
check "the run went on to cycle 2 and finished" \
	$([ "$(q "SELECT COUNT(*) FROM cycles") $(q "SELECT status FROM runs")" = "3 finished" ]; echo $?)
# An imported run (pushed by a rig) that is still running is not this daemon's to resume,
# even when a campaign of the same name is configured here.
uuid=$(q "SELECT uuid FROM runs")
"$ps" --database "$t/db" export "$uuid" | grep -v '"type":"end"' |
	sed "s/$uuid/11111111-2222-4333-8444-555555555555/g" > "$t/pushed.ndjson"
"$ps" --database "$t/db" import "$t/pushed.ndjson" > /dev/null
before=$(q "SELECT COUNT(*) FROM cycles c JOIN runs r ON r.id = c.run_id
            WHERE r.uuid = '11111111-2222-4333-8444-555555555555'")
timeout 60 "$psd" --config "$t/conf" --once --no-api >> "$t/log" 2>&1
check "an imported running run is left alone (status and cycles unchanged)" \
	$([ "$(q "SELECT r.status || ' ' || (SELECT COUNT(*) FROM cycles c WHERE c.run_id = r.id)
	          FROM runs r WHERE r.uuid = '11111111-2222-4333-8444-555555555555'")" = \
	    "running $before" ]; echo $?)
[ $fail = 0 ] || sed 's/^/    /' "$t/log"
exit $fail
