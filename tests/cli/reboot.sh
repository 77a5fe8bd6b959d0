#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# How probestormd reboots the machine (a reboot step here; a wedged cycle goes through the
# same runner_reboot_machine()), on the fake sysfs tree. Nothing reboots: under a fake root
# kio_reboot() writes "b" to ROOT/proc/sysrq-trigger instead of calling reboot(2).
#   command ok:   reboot-command runs once, no reboot(2) at once; the cycle waits in the
#                 in-flight record; when no reboot came within reboot-timeout the daemon's
#                 loop falls back to reboot(2), once
#   next boot:    another boot_id: the daemon completes the cycle and finishes the run
#   command fails: reboot(2) at once
#   command hangs: killed after reboot-timeout, then reboot(2)
# (No test of the default command: `systemctl reboot` as root would reboot this machine.)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
. "$top_srcdir/tests/cli/lib.sh"
psd=$top_builddir/probestormd
t=$(mktemp -d)
dpid=
trap '[ -z "$dpid" ] || kill "$dpid" 2> /dev/null; rm -rf "$t"' EXIT
fail=0
check() { if [ "$2" = 0 ]; then echo "ok   - $1"; else echo "FAIL - $1"; fail=1; fi; }

fake_target "$t/root"
mkdir -p "$t/root/proc/sys/kernel/random"
sysrq=$t/root/proc/sysrq-trigger
boot_id() { echo "$1" > "$t/root/proc/sys/kernel/random/boot_id"; }
BOOT0=3f1c9a2e-7b4d-4e8f-a1c2-9d8e7f6a5b4c
BOOT1=b2d4f6a8-1c3e-4a5b-8d7f-0e2c4a6b8d0f
# conf COMMAND
conf() {
	cat > "$t/conf" <<CONF
[daemon]
database = $t/db
listen = 127.0.0.1:0
reboot-command = $1
reboot-timeout = 1s

$(fake_rig_conf "$t/root")

[scenario s]
step = unbind decon
step = bind decon
step = reboot

[campaign c]
target = rig
scenario = s
cycles = 1
deadline = 10ms
action-timeout = 100ms
CONF
}
q() { sqlite3 -batch -noheader "$t/db" "$1"; }
fresh() { rm -f "$t/db" "$t/rebooted" "$t/log" && : > "$sysrq" && boot_id $BOOT0; }
# the run is running with the reboot step of cycle 0 in flight (its partial cycle stored)
waiting() {
	[ "$(q "SELECT r.status || ' ' || i.verb || ' ' || (i.params IS NOT NULL) FROM runs r
		JOIN inflight i ON i.run_id = r.id")" = "running reboot 1" ]
}
elapsed() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# --- the command asks for the reboot; none comes -------------------------------------
fresh
conf "echo reboot >> '$t/rebooted'"
"$psd" --config "$t/conf" --no-api --campaign c > "$t/log" 2>&1 &
dpid=$!
wait_for 10 test -s "$t/rebooted"
check "reboot-command ran once" $([ "$(cat "$t/rebooted" 2> /dev/null)" = reboot ]; echo $?)
check "... and no reboot(2) followed at once" $([ ! -s "$sysrq" ]; echo $?)
wait_for 10 test -s "$sysrq"
check "no reboot within reboot-timeout: the daemon falls back to reboot(2)" \
	$([ "$(cat "$sysrq")" = b ]; echo $?)
check "... and says so" \
	$(grep -q "no reboot 1 s after 'echo reboot >> .*' asked for it; rebooting with reboot(2)" \
		"$t/log"; echo $?)
sleep 1.5
check "... once; the command did not run again" \
	$([ "$(cat "$sysrq")" = b ] && [ "$(wc -l < "$t/rebooted")" = 1 ]; echo $?)
check "the cycle waits in the in-flight record, the run stays running" $(waiting; echo $?)
kill "$dpid"
wait "$dpid"
check "probestormd exits 0 on SIGTERM while it waits for the reboot ($?)" $?
dpid=

# --- the next boot ---------------------------------------------------------------------
boot_id $BOOT1
: > "$sysrq"
timeout 60 "$psd" --config "$t/conf" --once --no-api >> "$t/log" 2>&1
check "the next boot completes the cycle (in boot 1) and finishes the run" \
	$([ "$(q "SELECT status FROM runs") $(q "SELECT seq || ':' || boot || ':' || outcome FROM cycles")" = \
	    "finished 0:1:ok" ] && grep -q "cycle 0: completed after the reboot" "$t/log"; echo $?)
check "... no reboot in that boot (the last cycle's reboot step is the end)" \
	$([ ! -s "$sysrq" ] && [ "$(wc -l < "$t/rebooted")" = 1 ]; echo $?)

# --- the command fails ----------------------------------------------------------------
fresh
conf "exit 3"
t0=$(date +%s%N)
timeout 60 "$psd" --config "$t/conf" --once --no-api --campaign c > "$t/log" 2>&1
ms=$(elapsed "$t0")
check "reboot-command failing: reboot(2) at once ($ms ms)" \
	$([ "$(cat "$sysrq")" = b ] && grep -q "reboot command 'exit 3' failed (exit status 3)" "$t/log" &&
	  grep -q "'exit 3' did not reboot the machine; falling back to reboot(2)" "$t/log"; echo $?)
check "... the cycle waits in the in-flight record" $(waiting; echo $?)

# --- the command hangs ----------------------------------------------------------------
fresh
conf "sleep 30"
t0=$(date +%s%N)
timeout 60 "$psd" --config "$t/conf" --once --no-api --campaign c > "$t/log" 2>&1
ms=$(elapsed "$t0")
check "reboot-command hanging: killed after reboot-timeout (1 s), then reboot(2) ($ms ms)" \
	$([ "$(cat "$sysrq")" = b ] && [ "$ms" -lt 10000 ] &&
	  grep -q "reboot command 'sleep 30' still running after 1 s, killed" "$t/log"; echo $?)

[ "$fail" = 0 ] || { echo "--- log"; cat "$t/log"; }
exit "$fail"
