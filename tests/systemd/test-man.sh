#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The man pages must format without a single groff warning (what `man -l` shows).
# Skips (77) without groff.
: "${top_srcdir:=$(dirname "$0")/../..}"
command -v groff >/dev/null 2>&1 || { echo "SKIP: no groff"; exit 77; }
rc=0
for p in probestorm.1 probestormd.8 probestorm.conf.5; do
	out=$(timeout 30 groff -ww -man -z -t "$top_srcdir/man/$p" 2>&1) || rc=1
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		echo "FAIL: $p"
		rc=1
	else
		echo "ok: $p"
	fi
done
exit $rc
