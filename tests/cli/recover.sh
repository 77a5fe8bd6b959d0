#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Recovery after a boot: a run the database still has as "running" is taken up by
# probestormd at start. Two cases, on the fake sysfs tree:
#   crash:  the in-flight action was "bind decon" of cycle 1: cycle 1 is recorded as crash,
#           naming that action, with the panic pstore kept; the run continues with cycle 2
#   reboot: the in-flight action was a reboot step with the cycle so far stored: that cycle
#           is completed (outcome from the state after the boot) and the run goes on
#   import: a running run that was imported (a rig's) is not taken up
#   kill -9: `probestorm run` killed mid-cycle and probestormd (with [daemon] autostart of
#           the same campaign) started in the same boot (same boot_id): the interrupted
#           cycle is not a crash and runs again with its seq, in the same boot number;
#           no cycle is lost or doubled, and no second run is started
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/cli/lib.sh"
ps_scratch

fake_target "$t/root"
mkdir -p "$t/root/sys/fs/pstore"
cat > "$t/conf" <<CONF
[daemon]
database = $t/db
listen = 127.0.0.1:0

$(fake_rig_conf "$t/root")

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
	    "crash target died during 'bind decon' (boot 0)" ]; echo $?)
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

# kill -9 of the runner in the middle of a cycle, restart in the same boot.
rm -f "$t/db"
fake_boot_id "$t/root" $PS_BOOT0
cat > "$t/conf-k" <<CONF
[daemon]
database = $t/db
listen = 127.0.0.1:0
autostart = k

$(fake_rig_conf "$t/root")

[scenario slow]
step = unbind decon
step = bind decon
step = sleep 1s

[campaign k]
target = rig
scenario = slow
cycles = 4
deadline = 10ms
CONF
# kill_in_cycle1: runs campaign k and kills the runner (-9) once cycle 1 sleeps (its
# in-flight record says so)
kill_in_cycle1() {
	"$ps" --config "$t/conf-k" run --campaign k > "$t/run-k.log" 2>&1 &
	runpid=$!
	i=0
	until [ "$(q "SELECT COUNT(*) FROM inflight WHERE cycle_seq = 1 AND verb = 'sleep'" 2>/dev/null)" = 1 ] ||
		[ $i -ge 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -9 $runpid
	wait $runpid 2>/dev/null
}
kill_in_cycle1
check "the runner was killed in cycle 1's sleep" \
	$([ "$(q "SELECT COUNT(*) FROM cycles") $(q "SELECT cycle_seq || verb FROM inflight")" = \
	    "1 1sleep" ]; echo $?)
check "the in-flight record carries the boot_id" \
	$([ "$(q "SELECT boot_id FROM inflight")" = $PS_BOOT0 ]; echo $?)
timeout 60 "$psd" --config "$t/conf-k" --once --no-api >> "$t/log" 2>&1
check "probestormd exits 0 after taking the run up ($?)" $?
check "exactly one run, finished" \
	$([ "$(q "SELECT COUNT(*) || ' ' || MAX(status) FROM runs")" = "1 finished" ]; echo $?)
check "no crash cycle" $([ "$(q "SELECT COUNT(*) FROM cycles WHERE outcome = 'crash'")" = 0 ]; echo $?)
check "cycles 0..3 each once, all in boot 0 and carrying the boot_id" \
	$([ "$(q "SELECT GROUP_CONCAT(seq || ':' || boot, ' ') FROM (SELECT seq, boot FROM cycles
	          WHERE boot_id = '$PS_BOOT0' ORDER BY seq)")" = \
	    "0:0 1:0 2:0 3:0" ]; echo $?)
check "every cycle ok" $([ "$(q "SELECT COUNT(*) FROM cycles WHERE outcome = 'ok'")" = 4 ]; echo $?)
check "no in-flight action is left" $([ "$(q 'SELECT COUNT(*) FROM inflight')" = 0 ]; echo $?)
check "the log says the interrupted cycle runs again" \
	$(grep -q "stopped during cycle 1 .*runs again" "$t/log"; echo $?)
check "the autostart campaign was not started a second time" \
	$(grep -q "campaign k: its run was taken up at start, not started again" "$t/log"; echo $?)
# the same kill, then a restart in another boot: the target died (crash), next boot number
rm -f "$t/db"
kill_in_cycle1
fake_boot_id "$t/root" $PS_BOOT1
timeout 60 "$psd" --config "$t/conf-k" --once --no-api >> "$t/log" 2>&1
check "another boot_id: cycle 1 is a crash of boot 0 (the boot it died in), cycles 2..3 in boot 1, one run" \
	$([ "$(q "SELECT GROUP_CONCAT(seq || ':' || outcome || ':' || boot, ' ') FROM
	          (SELECT * FROM cycles ORDER BY seq)") $(q "SELECT COUNT(*) FROM runs")" = \
	    "0:ok:0 1:crash:0 2:ok:1 3:ok:1 1" ]; echo $?)
# the same boot, but stopped after cycle 0 was stored and before its in-flight record was
# cleared (seen under systemd's watchdog in the QEMU rig): the stored cycle counts, the run
# goes on with cycle 1 instead of aborting on "cycle 0 ... is recorded already"
rm -f "$t/db"
fake_boot_id "$t/root" $PS_BOOT0
kill_in_cycle1
q "UPDATE inflight SET cycle_seq = 0"
timeout 60 "$psd" --config "$t/conf-k" --once --no-api >> "$t/log" 2>&1
check "in-flight record of a stored cycle: cycles 0..3 once each, one run, finished" \
	$([ "$(q "SELECT GROUP_CONCAT(seq, ' ') FROM (SELECT seq FROM cycles ORDER BY seq)") $(q "SELECT COUNT(*) || ' ' || MAX(status) FROM runs")" = \
	    "0 1 2 3 1 finished" ]; echo $?)
[ $fail = 0 ] || sed 's/^/    /' "$t/log"
exit $fail
