# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the tests in tests/cli (sourced): a local target's root made from the fake
# sysfs tree plus what runner_preflight() needs (debugfs's devices_deferred, /dev/kmsg)
# and a /proc/cmdline for the kernel identity.

# fake_target DIR
fake_target() {
	sh "$top_srcdir/tests/data/fake-sysfs.sh" "$1"
	mkdir -p "$1/sys/kernel/debug" "$1/dev" "$1/proc"
	: > "$1/sys/kernel/debug/devices_deferred"
	: > "$1/dev/kmsg"
	echo "console=ttyAMA0" > "$1/proc/cmdline"
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
