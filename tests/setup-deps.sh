#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every package contrib/test-tools names (what the tests and the QEMU kit run) is one that
# contrib/setup-deps --qemu installs. On this machine a package dropped from setup-deps may
# still be installed by hand; this check fails anyway, naming it, and contrib/run-tests'
# first step fails on a fresh machine, where it is really missing.
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
list=$("$top_srcdir/contrib/setup-deps" --list --qemu) || { echo "setup-deps --list failed"; exit 1; }
fail=0 n=0
while read -r what pkg; do
	case $what in '#'* | '') continue ;; esac
	n=$((n + 1))
	if [ -z "$pkg" ]; then
		echo "FAIL: contrib/test-tools: '$what' names no package"; fail=1
	elif ! printf '%s\n' $list | grep -qx -- "$pkg"; then
		echo "FAIL: $what needs package $pkg, which contrib/setup-deps does not install"; fail=1
	fi
done < "$top_srcdir/contrib/test-tools"
[ $n -gt 30 ] || { echo "FAIL: only $n entries read from contrib/test-tools"; fail=1; }
# contrib/check-tools names the package of a missing tool, and takes what is there.
t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
printf '%s\n' '# a comment' 'cmd:sh dash' 'cmd:probestorm-no-such-tool acme-tools' \
	'file:/no/such/file-*.a libacme-dev' > "$t/list"
out=$("$top_srcdir/contrib/check-tools" "$t/list"); rc=$?
if [ $rc != 1 ] || ! echo "$out" | grep -q 'probestorm-no-such-tool (package acme-tools), /no/such/file-\*.a (package libacme-dev)$'; then
	echo "FAIL: check-tools on two missing tools: exit $rc, '$out'"; fail=1
fi
printf '%s\n' 'cmd:sh dash' > "$t/list"
"$top_srcdir/contrib/check-tools" "$t/list" > "$t/out" 2>&1 ||
	{ echo "FAIL: check-tools refused a list whose tool is there: $(cat "$t/out")"; fail=1; }
printf '%s\n' 'cmd:sh' > "$t/list"
"$top_srcdir/contrib/check-tools" "$t/list" > "$t/out" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "list:1: 'cmd:sh' names no package" "$t/out" ||
	{ echo "FAIL: check-tools on an entry without a package: exit $rc, $(cat "$t/out")"; fail=1; }
[ $fail = 0 ] && echo "ok: setup-deps installs the package of each of the $n tools the tests use"
exit $fail
