#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-rig: probestormd as a systemd service on a Debian arm64 rig in QEMU, pushing to
# a central probestormd on the host -- the design's test rig, end to end.
#
#  1. A central daemon on the host (build/probestormd, a token file, 127.0.0.1:free port).
#  2. The rig image (contrib/qemu/rig/build-image; its Debian base is cached, the rest takes
#     seconds) with a drop-in pointing [push] at the central daemon (10.0.2.2:PORT from the
#     guest) and the test's token; booted with contrib/qemu/rig/boot, the API forwarded to a
#     free port of the host's 127.0.0.1. Timed: QEMU start to /api/v1/health answering.
#  3. rig-rebind (6 cycles) started by POST /api/v1/campaigns on the rig: the central daemon
#     has each cycle exactly once (seqs 0..5) and the run finished; `systemctl status
#     probestormd` is active with the daemon's STATUS=; its journal entries name the run in
#     MESSAGE and carry one CODE_FILE/CODE_LINE (the caller's), PRIORITY, the unit and boot.
#  4. rig-reboot (3 cycles of the boot-probe scenario): the daemon reboots the machine
#     itself; systemd starts it at each boot and it completes the cycle from its database.
#     Three new boots, each cycle at the central daemon once, the run finished, three
#     "completed after the reboot" lines in the journal, and no restart of the unit.
#  5. rig-watchdog (30 cycles): SIGSTOP of probestormd mid-run; the unit's WatchdogSec= has
#     systemd kill it and start it again (NRestarts=1), the run resumes and the central
#     daemon ends with each of the 30 cycles once.
#  6. rig-hang (4 cycles, deadline 90 s): ps_decon.hang_on_bind_s=120 set at run time;
#     for the 90 s the runner waits on the probe stuck in the deferred-probe worker the API answers and the
#     watchdog (60 s) does not fire (same MainPID, NRestarts unchanged); the hung cycle is
#     a hang (no deferred_ok), the daemon reboots the machine with systemctl reboot
#     (on-wedged = reboot), and the next boot's service finishes the run: each cycle at the
#     central daemon once, cycle 0 in the first boot, 1..3 in the next.
#  7. rig-crash (3 cycles): the rig boots with oops=panic panic=1 and ps_decon.oops_on_bind
#     is set at run time to the next probe: the oops panics the kernel, the machine resets,
#     systemd starts probestormd, which records cycle 0 as crash (another boot_id than the
#     cycles after it) and finishes the run; each cycle at the central daemon once.
# RIG_STEPS="rebind hang" runs only those of 3-7 (default: all).
# Needs root (mmdebstrap --mode=root, the image tree's ownership), the QEMU kit's packages
# plus mmdebstrap and e2fsprogs (contrib/setup-deps --qemu), curl, jq and sqlite3; 77 (skip)
# without root or mmdebstrap, a failure when another of them is missing. RIG_WORK: work directory (default build/tests/qemu/rig-work, kept).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
rig=$top_srcdir/contrib/qemu/rig
work=${RIG_WORK:-$top_builddir/tests/qemu/rig-work}
walk_us=${RIG_WALK_US:-5000}
# RIG_STEPS: which of the campaigns below run (all by default), for working on one of them.
steps=${RIG_STEPS:-rebind reboot watchdog hang crash}
want() { case " $steps " in *" $1 "*) return 0 ;; esac; return 1; }

# Skipped (77) only where it cannot run: not root, no mmdebstrap (contrib/setup-deps
# --qemu). Any other missing tool is a failure: setup-deps installs them all.
[ "$(id -u)" = 0 ] || { echo "rig: needs root (mmdebstrap --mode=root); skipped"; exit 77; }
command -v mmdebstrap > /dev/null ||
	{ echo "rig: mmdebstrap missing (contrib/setup-deps --qemu); skipped"; exit 77; }
for t in qemu-system-aarch64 mkfs.ext4 curl jq sqlite3; do
	command -v "$t" > /dev/null || { echo "rig: $t missing (contrib/setup-deps --qemu)"; exit 1; }
done
[ -x "$top_builddir/probestormd" ] || { echo "rig: no $top_builddir/probestormd"; exit 1; }

rm -rf "$work" && mkdir -p "$work"
fail=0
central_pid=
boot_pid=
cleanup() {
	[ -z "$boot_pid" ] || kill "$boot_pid" 2> /dev/null
	[ -z "$central_pid" ] || kill "$central_pid" 2> /dev/null
	wait 2> /dev/null
}
trap cleanup EXIT
trap 'exit 143' INT TERM
say() { echo "rig: $*"; }
check() { # check DESCRIPTION STATUS
	if [ "$2" = 0 ]; then say "ok   - $1"; else say "FAIL - $1"; fail=1; fi
}
die() {
	say "FAIL - $*"
	say "console (last lines):"
	tail -n 40 "$work/run/console.log" 2> /dev/null | sed 's/^/  | /'
	exit 1
}
agent() { "$rig/agent" --dir "$work/run" "$@"; }
# A TCP port nothing on this machine listens on or uses (any address, v4 or v6).
free_port() {
	while :; do
		p=$(shuf -i 20000-60999 -n 1)
		grep -qi "$(printf ':%04X ' "$p")" /proc/net/tcp /proc/net/tcp6 2> /dev/null || {
			echo "$p"; return; }
	done
}
now() { date +%s; }
cq() { sqlite3 -readonly -batch -noheader -cmd '.timeout 5000' "$work/central.db" "$1"; }
# central_once UUID N: the central database has cycles 0..N-1 of run UUID, each once.
central_once() {
	[ "$(cq "SELECT count(*) || ' ' || count(DISTINCT c.seq) || ' ' || min(c.seq) || ' ' ||
		max(c.seq) FROM cycles c JOIN runs r ON r.id = c.run_id WHERE r.uuid = '$1'")" = \
		"$2 $2 0 $(($2 - 1))" ]
}
central_status() { cq "SELECT status FROM runs WHERE uuid = '$1'"; }
# wait_central UUID N SECONDS: until the central daemon has the run finished with N cycles.
wait_central() {
	end=$(($(now) + $3))
	while [ "$(now)" -lt "$end" ]; do
		[ "$(central_status "$1")" = finished ] && central_once "$1" "$2" && return 0
		sleep 2
	done
	return 1
}
api() { curl -s -m 10 "http://127.0.0.1:$port$1"; }
# jqtrue FILTER: stdin is JSON and FILTER is true (jq 1.6 -e says yes to empty input).
jqtrue() {
	_in=$(cat)
	[ -n "$_in" ] && printf '%s' "$_in" | jq -e "$1" > /dev/null 2>&1
}
post_campaign() {
	curl -s -m 20 -o "$work/post.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' -d "{\"campaign\":\"$1\"}" \
		"http://127.0.0.1:$port/api/v1/campaigns"
}
# newest_run CAMPAIGN: the rig's newest run of CAMPAIGN (its API).
newest_run() {
	api /api/v1/runs | jq -r --arg c "$1" '[.runs[] | select(.campaign == $c)][0].uuid // empty'
}

# --- 1. the central daemon --------------------------------------------------------------
(umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$work/token")
token=$(cat "$work/token")
printf '[daemon]\ntoken-file = %s\n' "$work/token" > "$work/central.conf"
"$top_builddir/probestormd" --config "$work/central.conf" --database "$work/central.db" \
	--listen 127.0.0.1:0 --port-file "$work/central.port" > "$work/central.log" 2>&1 &
central_pid=$!
for _ in $(seq 50); do [ -s "$work/central.port" ] && break; sleep 0.2; done
[ -s "$work/central.port" ] || die "the central daemon did not start: $(cat "$work/central.log")"
cport=$(cat "$work/central.port")
say "central probestormd on 127.0.0.1:$cport"

# --- 2. the image and the boot ----------------------------------------------------------
printf '# make check-rig: the central daemon of this run\n[push]\nurl = http://10.0.2.2:%s\n' \
	"$cport" > "$work/90-check-rig.conf"
t=$(now)
img=$("$rig/build-image" --conf "$work/90-check-rig.conf" \
	--file "$work/token:/etc/probestorm/token" 2> "$work/build-image.log") ||
	{ cat "$work/build-image.log"; die "build-image failed"; }
t_image=$(($(now) - t))
if grep -q 'stage 1: first boot' "$work/build-image.log"; then base=built; else base=cached; fi
say "image $img in $t_image s (Debian base $base)"
port=$(free_port)
t=$(now)
"$rig/boot" --image "$img" --dir "$work/run" --data "$work/data.img" --port "$port" --quiet \
	--timeout 2400 --append "ps_sysmmu.walk_delay_us=$walk_us oops=panic panic=1" > "$work/boot.log" 2>&1 &
boot_pid=$!
t_ready=
while [ $(($(now) - t)) -lt 300 ]; do
	kill -0 "$boot_pid" 2> /dev/null || die "QEMU ended: $(cat "$work/boot.log")"
	if api /api/v1/health | jqtrue '.status == "ok"'; then
		t_ready=$(($(now) - t))
		break
	fi
	sleep 1
done
[ -n "$t_ready" ] || die "probestormd's API did not answer on 127.0.0.1:$port within 300 s"
say "probestormd ready (API on 127.0.0.1:$port) $t_ready s after QEMU started"
boot0=$(agent --wait-ready --timeout 60) || die "the agent did not come up"
say "boot $boot0: $(agent 'systemd-analyze' | head -n 1)"

# --- 3. a rebind campaign, the service and its journal -----------------------------------
boots=
if want rebind; then
code=$(post_campaign rig-rebind)
check "POST /api/v1/campaigns rig-rebind: 202 ($code)" "$([ "$code" = 202 ] && echo 0 || echo 1)"
end=$(($(now) + 300))
while [ "$(now)" -lt "$end" ]; do
	api /api/v1/health |
		jqtrue '.campaign.running == false and .campaign.last.name == "rig-rebind"' && break
	sleep 2
done
rebind=$(newest_run rig-rebind)
[ -n "$rebind" ] || die "the rig has no rig-rebind run"
wait_central "$rebind" 6 120
check "rebind run $rebind: the central daemon has cycles 0..5 once each, finished" $?

agent 'systemctl status probestormd --no-pager -l' > "$work/status.txt"
st=$?
cp "$work/status.txt" "$work/status-rebind.txt"
grep -q 'Active: active (running)' "$work/status.txt" && grep -q 'Status: "' "$work/status.txt"
check "systemctl status probestormd: exit $st, active (running), $(grep -o 'Status: .*' "$work/status.txt")" \
	"$([ "$st" = 0 ] && grep -q 'Active: active (running)' "$work/status.txt" && echo 0 || echo 1)"
agent 'journalctl -u probestormd -o json --no-pager' > "$work/journal.json"
n=$(jq -s --arg u "$rebind" '[.[] | select(.MESSAGE | type == "string" and contains($u))] | length' \
	"$work/journal.json" 2> /dev/null)
check "journal: $n entries of probestormd name run $rebind" "$([ "${n:-0}" -ge 2 ] && echo 0 || echo 1)"
bad=$(jq -s --arg u "$rebind" --arg b "$(echo "$boot0" | tr -d -)" '[.[] |
	select(.MESSAGE | type == "string" and contains($u)) |
	select((.CODE_FILE | type) != "string" or (.CODE_FILE | startswith("daemon/") | not) or
	       (.CODE_LINE | type) != "string" or .PRIORITY == null or
	       .SYSLOG_IDENTIFIER != "probestormd" or ._SYSTEMD_UNIT != "probestormd.service" or
	       ._BOOT_ID != $b)] | length' "$work/journal.json" 2> /dev/null)
check "journal: those entries carry one CODE_FILE (daemon/...) and CODE_LINE, PRIORITY, SYSLOG_IDENTIFIER, _SYSTEMD_UNIT, _BOOT_ID (${bad:-?} do not)" \
	"$([ "${bad:-1}" = 0 ] && echo 0 || echo 1)"
# The run's own field: every line the runner wrote about the run carries it.
n=$(jq -s --arg u "$rebind" '[.[] | select(.PROBESTORM_RUN == $u)] | length' \
	"$work/journal.json" 2> /dev/null)
miss=$(jq -s --arg u "$rebind" '[.[] | select(.MESSAGE | type == "string" and
	startswith("run " + $u)) | select(.PROBESTORM_RUN != $u)] | length' "$work/journal.json" 2> /dev/null)
check "journal: $n entries carry PROBESTORM_RUN=$rebind, every 'run $rebind ...' line among them (${miss:-?} not)" \
	"$([ "${n:-0}" -ge 2 ] && [ "${miss:-1}" = 0 ] && echo 0 || echo 1)"
sel=$(agent "journalctl PROBESTORM_RUN=$rebind -o cat --no-pager | wc -l")
check "journalctl PROBESTORM_RUN=$rebind selects those $sel entries" \
	"$([ "$sel" = "$n" ] && echo 0 || echo 1)"
fi

# --- 4. a reboot campaign under systemd --------------------------------------------------
if want reboot; then
code=$(post_campaign rig-reboot)
check "POST /api/v1/campaigns rig-reboot: 202 ($code)" "$([ "$code" = 202 ] && echo 0 || echo 1)"
t=$(now)
prev=$boot0
boots=
for k in 1 2 3; do
	b=$(agent --wait-ready --not-boot "$prev" --timeout 400) || die "reboot $k did not come"
	boots="$boots $(($(now) - t)) s"
	prev=$b
done
say "three reboots by the daemon, up again at$boots after the POST"
reboot_uuid=$(curl -s -m 10 "http://127.0.0.1:$cport/api/v1/runs" |
	jq -r '[.runs[] | select(.campaign == "rig-reboot")][0].uuid // empty')
[ -n "$reboot_uuid" ] || reboot_uuid=$(newest_run rig-reboot)
wait_central "$reboot_uuid" 3 300
check "reboot run $reboot_uuid: the central daemon has cycles 0..2 once each, finished ($(($(now) - t)) s)" $?
n=$(agent "journalctl -u probestormd --no-pager -o cat | grep -c 'run $reboot_uuid cycle .*: completed after the reboot'")
check "journal: $n cycles completed after the reboot by the restarted service" \
	"$([ "$n" = 3 ] && echo 0 || echo 1)"
n=$(agent 'journalctl --list-boots --no-pager | tail -n +2 | wc -l')
check "journal: $n boots recorded (persistent journal across the daemon's reboots)" \
	"$([ "${n:-0}" -ge 4 ] && echo 0 || echo 1)"
agent 'systemctl show -p NRestarts -p ActiveState -p SubState probestormd' > "$work/show.txt"
check "after the last boot: $(tr '\n' ' ' < "$work/show.txt")" \
	"$(grep -qx 'NRestarts=0' "$work/show.txt" && grep -qx 'SubState=running' "$work/show.txt" && echo 0 || echo 1)"
# The reboots were clean ones (reboot-command = systemctl reboot), not reboot(2).
n=$(agent "journalctl -u probestormd --no-pager -o cat | grep -c \"run $reboot_uuid: reboot requested with 'systemctl reboot'\"")
f=$(agent "journalctl -u probestormd --no-pager -o cat | grep -c 'falling back to reboot(2)'")
check "journal: $n reboots requested with systemctl reboot, $f fell back to reboot(2)" \
	"$([ "$n" = 3 ] && [ "$f" = 0 ] && echo 0 || echo 1)"
n=$(agent 'journalctl -b -1 --no-pager -o cat | grep -c -e "probestormd.service: Deactivated successfully" -e "Stopped probestorm"')
check "journal of the boot before: systemd stopped probestormd on the way down ($n)" \
	"$([ "${n:-0}" -ge 1 ] && echo 0 || echo 1)"
fi

# --- 5. the systemd watchdog -------------------------------------------------------------
if want watchdog; then
boot_wd=$(agent --wait-ready --timeout 10)
code=$(post_campaign rig-watchdog)
check "POST /api/v1/campaigns rig-watchdog: 202 ($code)" "$([ "$code" = 202 ] && echo 0 || echo 1)"
wd=
end=$(($(now) + 120))
while [ "$(now)" -lt "$end" ]; do
	wd=$(newest_run rig-watchdog)
	[ -n "$wd" ] && [ "$(api "/api/v1/runs/$wd" | jq -r '.cycles // .run.cycles // 0' 2> /dev/null)" -ge 3 ] \
		2> /dev/null && break
	sleep 1
done
[ -n "$wd" ] || die "the rig has no rig-watchdog run"
pid=$(agent 'systemctl show -p MainPID --value probestormd; kill -STOP $(systemctl show -p MainPID --value probestormd)')
t=$(now)
say "SIGSTOP to probestormd (pid $pid) during run $wd"
restarted=1
while [ $(($(now) - t)) -lt 300 ]; do
	agent 'systemctl show -p NRestarts -p MainPID -p SubState probestormd' > "$work/show.txt" 2> /dev/null
	if grep -qx 'NRestarts=1' "$work/show.txt" && grep -qx 'SubState=running' "$work/show.txt" &&
		! grep -qx "MainPID=$pid" "$work/show.txt"; then
		restarted=0
		break
	fi
	sleep 3
done
check "systemd restarted the frozen daemon after $(($(now) - t)) s: $(tr '\n' ' ' < "$work/show.txt")" "$restarted"
n=$(agent 'journalctl -u probestormd --no-pager -o cat | grep -c "Watchdog timeout"')
check "journal: systemd's watchdog timeout logged ($n)" "$([ "${n:-0}" -ge 1 ] && echo 0 || echo 1)"
same=$(agent --wait-ready --timeout 5)
check "the watchdog restarted the service, not the machine (boot $same)" \
	"$([ "$same" = "$boot_wd" ] && echo 0 || echo 1)"
wait_central "$wd" 30 400
check "watchdog run $wd: the central daemon has cycles 0..29 once each, finished" $?
agent 'systemctl status probestormd --no-pager -l' > "$work/status-watchdog.txt"
fi

# --- 6. a hung probe under systemd ---------------------------------------------------------
# cycles RUN: "seq:boot:outcome ..." of RUN at the central daemon
cycles() {
	cq "SELECT group_concat(seq || ':' || boot || ':' || outcome, ' ') FROM (SELECT c.seq,
		c.boot, c.outcome FROM cycles c JOIN runs r ON r.id = c.run_id WHERE r.uuid = '$1'
		ORDER BY c.seq)"
}
central_run() { # central_run CAMPAIGN: the central daemon's newest run of CAMPAIGN
	curl -s -m 10 "http://127.0.0.1:$cport/api/v1/runs" |
		jq -r --arg c "$1" '[.runs[] | select(.campaign == $c)][0].uuid // empty'
}
hang_summary=
if want hang; then
boot_h=$(agent --wait-ready --timeout 10)
agent 'systemctl show -p NRestarts -p MainPID probestormd' > "$work/hang-before.txt"
wd_before=$(agent 'journalctl -b -u probestormd --no-pager -o cat | grep -c "Watchdog timeout"')
agent 'echo 120 > /sys/module/ps_decon/parameters/hang_on_bind_s' > /dev/null ||
	die "cannot set ps_decon.hang_on_bind_s"
code=$(post_campaign rig-hang)
t=$(now)
check "POST /api/v1/campaigns rig-hang: 202 ($code)" "$([ "$code" = 202 ] && echo 0 || echo 1)"
asked=0
answered=0
hang_uuid=
while [ $(($(now) - t)) -lt 80 ]; do
	asked=$((asked + 1))
	api /api/v1/health | jqtrue '.status == "ok" and .campaign.running == true' &&
		answered=$((answered + 1))
	[ -n "$hang_uuid" ] || hang_uuid=$(newest_run rig-hang)
	sleep 4
done
[ -n "$hang_uuid" ] || die "the rig has no rig-hang run"
agent 'systemctl show -p NRestarts -p MainPID probestormd' > "$work/hang-during.txt"
asleep=$(agent 'dmesg | grep -c "fault injection: sleeping 120 s in probe"')
check "hung probe ($asleep probes asleep): the API answered $answered of $asked requests in 80 s, the campaign running" \
	"$([ "$answered" = "$asked" ] && [ "${asleep:-0}" -ge 1 ] && echo 0 || echo 1)"
check "80 s into the hang (WatchdogSec=60s): the same process, no restart ($(tr '\n' ' ' < "$work/hang-during.txt"))" \
	"$(cmp -s "$work/hang-before.txt" "$work/hang-during.txt" && echo 0 || echo 1)"
b=$(agent --wait-ready --not-boot "$boot_h" --timeout 400) || die "no reboot after the hung cycle"
t_hboot=$(($(now) - t))
wait_central "$hang_uuid" 4 300
check "hang run $hang_uuid: the central daemon has cycles 0..3 once each, finished ($(($(now) - t)) s)" $?
rows=$(cycles "$hang_uuid")
case $rows in "0:0:hang 1:1:"*" 2:1:"*" 3:1:"*) ok=0 ;; *) ok=1 ;; esac
check "cycle 0 hang in boot 0, cycles 1..3 in boot 1 (boots used: 2): $rows" "$ok"
n=$(cq "SELECT count(*) FROM observations o JOIN cycles c ON c.id = o.cycle_id JOIN runs r ON
	r.id = c.run_id WHERE r.uuid = '$hang_uuid' AND c.seq = 0 AND o.outcome = 'deferred_ok'")
d=$(cq "SELECT group_concat(o.device || '=' || o.outcome, ' ') FROM observations o JOIN cycles c
	ON c.id = o.cycle_id JOIN runs r ON r.id = c.run_id WHERE r.uuid = '$hang_uuid' AND c.seq = 0")
# Which consumer hangs depends on the order of the deferred-probe worker: the one it probes
# first sleeps in probe (hang); the other waits behind it, never probed (unbound).
check "no deferred_ok in the hung cycle, one consumer's probe a hang ($d)" \
	"$([ "$n" = 0 ] && echo "$d" | grep -Eq '(^| )(decon|decon-ctl)=hang( |$)' && echo 0 || echo 1)"
agent 'journalctl -b -1 -u probestormd --no-pager -o cat' > "$work/hang-journal.txt"
wd_after=$(grep -c "Watchdog timeout" "$work/hang-journal.txt")
check "the boot of the hang: no watchdog timeout during it ($wd_before before, $wd_after after)" \
	"$([ "$wd_after" = "$wd_before" ] && echo 0 || echo 1)"
check "... and the daemon asked for the reboot with systemctl reboot (on-wedged = reboot)" \
	"$(grep -q "run $hang_uuid: reboot requested with 'systemctl reboot'" "$work/hang-journal.txt" &&
		! grep -q 'falling back to reboot(2)' "$work/hang-journal.txt" && echo 0 || echo 1)"
hang_summary="hang 4 (up again ${t_hboot} s after the POST)"
fi

# --- 7. a crash through the service --------------------------------------------------------
crash_summary=
if want crash; then
boot_c=$(agent --wait-ready --timeout 10)
agent 'cat /proc/cmdline' | grep -q 'oops=panic' || die "the rig was not booted with oops=panic"
agent 'p=/sys/module/ps_decon/parameters; echo $(($(cat $p/probe_count) + 1)) > $p/oops_on_bind' \
	> /dev/null || die "cannot set ps_decon.oops_on_bind"
code=$(post_campaign rig-crash)
t=$(now)
check "POST /api/v1/campaigns rig-crash: 202 ($code)" "$([ "$code" = 202 ] && echo 0 || echo 1)"
b=$(agent --wait-ready --not-boot "$boot_c" --timeout 400) || die "no boot after the panic"
t_cboot=$(($(now) - t))
crash_uuid=
end=$(($(now) + 120))
while [ -z "$crash_uuid" ] && [ "$(now)" -lt "$end" ]; do
	crash_uuid=$(central_run rig-crash)
	[ -n "$crash_uuid" ] || crash_uuid=$(newest_run rig-crash)
	[ -n "$crash_uuid" ] || sleep 2
done
[ -n "$crash_uuid" ] || die "no rig-crash run after the panic"
wait_central "$crash_uuid" 3 300
check "crash run $crash_uuid: the central daemon has cycles 0..2 once each, finished ($(($(now) - t)) s)" $?
rows=$(cycles "$crash_uuid")
bids=$(cq "SELECT count(DISTINCT c.boot_id) || ' ' || ((SELECT boot_id FROM cycles WHERE
	run_id = r.id AND seq = 0) <> (SELECT boot_id FROM cycles WHERE run_id = r.id AND seq = 1))
	FROM cycles c JOIN runs r ON r.id = c.run_id WHERE r.uuid = '$crash_uuid'")
case $rows in "0:0:crash 1:1:"*" 2:1:"*) ok=0 ;; *) ok=1 ;; esac
check "cycle 0 crash in boot 0, cycles 1..2 in boot 1: $rows; boot_ids: $bids (distinct, cycle 0's differs)" \
	"$([ "$ok" = 0 ] && [ "$bids" = "2 1" ] && echo 0 || echo 1)"
grep -q 'Kernel panic' "$work/run/console.log"
check "the console shows the panic" $?
n=$(agent "journalctl -b -u probestormd --no-pager -o cat | grep -c 'run $crash_uuid: the target died during cycle 0'")
check "journal: the restarted service recorded the target's death ($n)" \
	"$([ "${n:-0}" = 1 ] && echo 0 || echo 1)"
crash_summary="crash 3 (up again ${t_cboot} s after the POST)"
fi

# --- the end -----------------------------------------------------------------------------
pushes=$(grep -c 'bundle from .* imported' "$work/central.log")
present=$(sed -n 's/.* \([0-9]*\) cycles, [0-9]* events present$/\1/p' "$work/central.log" |
	awk '{ s += $1 } END { print s + 0 }')
agent --timeout 5 'systemctl poweroff' > /dev/null 2>&1
for _ in $(seq 120); do kill -0 "$boot_pid" 2> /dev/null || break; sleep 1; done
if kill -0 "$boot_pid" 2> /dev/null; then
	check "the rig powered off" 1
else
	boot_pid=
fi
ran=
want rebind && ran="$ran rebind 6,"
want reboot && ran="$ran reboot 3 (up at$boots),"
want watchdog && ran="$ran watchdog 30,"
[ -z "$hang_summary" ] || ran="$ran $hang_summary,"
[ -z "$crash_summary" ] || ran="$ran $crash_summary,"
say "summary: image $t_image s (Debian base $base), boot to probestormd ready $t_ready s;" \
	"cycles of the steps run:${ran%,}; $pushes bundles pushed, $present cycles sent again" \
	"(already present, not duplicated)"
exit "$fail"
