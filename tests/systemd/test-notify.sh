#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs notify.py (the sd_notify protocol of probestormd against a listener socket) with a
# time limit. Skips (77) without python3 or when probestormd was built without libsystemd.
: "${top_srcdir:=$(dirname "$0")/../..}" "${top_builddir:=.}"
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }
grep -q '^#define HAVE_LIBSYSTEMD 1' "$top_builddir/config.h" ||
	{ echo "SKIP: built without libsystemd"; exit 77; }
exec timeout 120 python3 -u "$top_srcdir/tests/systemd/notify.py" \
	"$top_builddir/probestormd" "$top_srcdir"
