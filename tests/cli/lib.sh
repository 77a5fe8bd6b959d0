# SPDX-License-Identifier: GPL-2.0-or-later
# The one shell test library (sourced by tests/cli/*.sh and tests/integration/lib.sh, after
# they set top_srcdir):
#   - the whole test runs under timeout(1), also when run by hand (make check's
#     tests/run-timeout is the outer limit): PS_TEST_TIMEOUT seconds, else ps_test_timeout
#     (set before sourcing), else 900;
#   - top_builddir, ps and psd (the CLI and the daemon), and TAP-like ok/bad/check lines
#     that set fail;
#   - ps_scratch: $t, a scratch directory removed on exit; q: SQL on $t/db; wait_for: a poll;
#   - fake_target, fake_boot_id, fake_rig_conf: a local target on the fake sysfs tree.

if [ -z "${PS_TEST_UNDER_TIMEOUT:-}" ] && command -v timeout > /dev/null 2>&1; then
	# again with the shell running us now (sh or bash, as the test's #! says)
	PS_TEST_UNDER_TIMEOUT=1 exec timeout -k 5 "${PS_TEST_TIMEOUT:-${ps_test_timeout:-900}}" \
		"$(readlink /proc/$$/exe 2> /dev/null || echo sh)" "$0" "$@"
fi

: "${top_builddir:=$top_srcdir/build}"
ps=$top_builddir/probestorm
psd=$top_builddir/probestormd
fail=0

ok() { echo "ok   - $*"; }
bad() {
	echo "FAIL - $*"
	fail=1
}
# check NAME STATUS: ok when STATUS is 0
check() { if [ "$2" = 0 ]; then ok "$1"; else bad "$1"; fi; }

# wait_for SECONDS COMMAND...: runs COMMAND (in this shell, output discarded) every 0.1 s
# until it succeeds; 1 when SECONDS pass first.
wait_for() {
	_w=$(($1 * 10))
	shift
	while [ "$_w" -gt 0 ]; do
		"$@" > /dev/null 2>&1 && return 0
		_w=$((_w - 1))
		sleep 0.1
	done
	return 1
}
# ps_scratch: makes $t, removed when the test exits.
ps_scratch() {
	t=$(mktemp -d)
	trap 'rm -rf "$t"' EXIT
}
# q SQL: a query of $t/db; waits up to 5 s for a writer's lock (a poll during a run got
# "database is locked", i.e. nothing, and missed the state it waited for under load)
q() { sqlite3 -batch -noheader -cmd ".timeout 5000" "$t/db" "$1"; }

# fake_target DIR: a local target's root made from the fake sysfs tree plus what
# runner_preflight() needs (debugfs's devices_deferred, /dev/kmsg) and a /proc/cmdline for
# the kernel identity.
fake_target() {
	sh "$top_srcdir/tests/data/fake-sysfs.sh" "$1"
	mkdir -p "$1/sys/kernel/debug" "$1/dev" "$1/proc"
	: > "$1/sys/kernel/debug/devices_deferred"
	: > "$1/dev/kmsg"
	echo "console=ttyAMA0" > "$1/proc/cmdline"
}

# Two boot_ids, and fake_boot_id ROOT ID: the running kernel's boot_id in a fake_target.
PS_BOOT0=3f1c9a2e-7b4d-4e8f-a1c2-9d8e7f6a5b4c
PS_BOOT1=b2d4f6a8-1c3e-4a5b-8d7f-0e2c4a6b8d0f
fake_boot_id() {
	mkdir -p "$1/proc/sys/kernel/random"
	echo "$2" > "$1/proc/sys/kernel/random/boot_id"
}

# fake_rig_conf ROOT: the INI sections of a local target "rig" on ROOT (a fake_target) with
# consumer decon behind supplier sysmmu-b, for the tests' configs (inside their heredocs).
fake_rig_conf() {
	cat <<CONF
[target rig]
kind = local
sysroot = $1

[consumer decon]
driver = ps-decon
iommus = sysmmu-b
expect-domain = identity

[supplier sysmmu-b]
driver = ps-sysmmu
CONF
}
