#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The QEMU rig's configuration (contrib/targets/qemu-sim.conf with qemu-rig.conf as its
# drop-in, as rig/build-image installs them) passes probestormd --check-config: a bad
# campaign there is found here, not by a rig whose service will not start.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
echo token > "$t/token"
cat "$top_srcdir/contrib/targets/qemu-sim.conf" "$top_srcdir/contrib/targets/qemu-rig.conf" |
	sed "s|/etc/probestorm/token|$t/token|" > "$t/conf"
if "$top_builddir/probestormd" --config "$t/conf" --check-config; then
	echo "ok   - qemu-sim.conf + qemu-rig.conf: probestormd --check-config"
else
	echo "FAIL - qemu-sim.conf + qemu-rig.conf: probestormd --check-config"
	exit 1
fi
