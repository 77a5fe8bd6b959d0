#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# systemd-analyze verify on the units in contrib/systemd (the generated ones from the
# build tree), with ExecStart pointed at the freshly built binaries because verify checks
# that they exist. systemd need not be PID 1 for this. Skips (77) without systemd-analyze.
: "${top_srcdir:=$(dirname "$0")/../..}" "${top_builddir:=.}"
command -v systemd-analyze >/dev/null 2>&1 || { echo "SKIP: no systemd-analyze"; exit 77; }
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
for u in probestormd.service probestormd-nightly.service; do
	test -f "$top_builddir/contrib/systemd/$u" || { echo "FAIL: $u not generated"; exit 1; }
	sed -e "s|^ExecStart=[^ ]*/probestormd\$|ExecStart=$top_builddir/probestormd|" \
	    -e "s|^ExecStart=[^ ]*/probestorm |ExecStart=$top_builddir/probestorm |" \
	    "$top_builddir/contrib/systemd/$u" > "$dir/$u"
done
cp "$top_srcdir/contrib/systemd/probestormd.socket" \
   "$top_srcdir/contrib/systemd/probestormd-nightly.timer" "$dir/"
if grep -n '@[a-z]*@' "$dir"/*; then
	echo "FAIL: unsubstituted @...@ in the units"
	exit 1
fi
# verify prints problems on stderr but does not fail for all of them: any output fails.
cd "$dir" || exit 99
out=$(timeout 60 systemd-analyze verify --man=no probestormd.service probestormd.socket \
	probestormd-nightly.service probestormd-nightly.timer 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	printf '%s\n' "$out"
	echo "FAIL: systemd-analyze verify (exit $rc)"
	exit 1
fi
echo "ok: systemd-analyze verify: 4 units clean"
# The example configuration the units start with must load.
timeout 30 "$top_builddir/probestormd" --check-config \
	--config "$top_srcdir/contrib/probestorm.conf" || exit 1
