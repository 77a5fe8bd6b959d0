#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Bad input gets one clear error line, a non-zero exit, and nothing written: a bad config
# (file:line), a device missing from sysfs, no debugfs, not root. Runs the real CLI
# against copies of the fake sysfs tree (tests/data/fake-sysfs.sh).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/cli/lib.sh"
ps_scratch

# expect NAME PATTERN CMD...: exit 2, exactly one stderr line matching PATTERN, no database
expect() {
	name=$1 pat=$2; shift 2
	rm -f "$t/db" "$t/err"
	PROBESTORM_DB=$t/db timeout 20 "$@" > /dev/null 2> "$t/err"
	rc=$?
	lines=$(wc -l < "$t/err")
	if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -qE "$pat" "$t/err" && [ ! -e "$t/db" ]; then
		echo "ok   - $name: $(cat "$t/err")"
	else
		echo "FAIL - $name: exit $rc, $lines stderr lines, db $( [ -e "$t/db" ] && echo written || echo absent)"
		sed 's/^/    /' "$t/err"
		fail=1
	fi
}

# A sysroot with what preflight needs (debugfs, /dev/kmsg) on top of the fake tree.
fake_target "$t/root"

conf() { # conf FILE SYSROOT DEVICE
	cat > "$1" <<CONF
[target rig]
kind = local
${2:+sysroot = $2}

[consumer decon]
device = $3
driver = ps-decon
iommus = sysmmu-b

[supplier sysmmu-b]
driver = ps-sysmmu

[scenario s]
step = unbind decon
step = bind decon

[campaign c]
target = rig
scenario = s
cycles = 1
CONF
}

printf '[campaign c]\nscenario = s\ncycles = 0\n' > "$t/bad.conf"
expect "bad config" "bad\\.conf:3: \\[campaign c\\] cycles: .*out of range" \
	"$ps" --config "$t/bad.conf" run
expect "bad config (daemon check)" "bad\\.conf:3:" "$psd" --config "$t/bad.conf" --check-config

conf "$t/missing.conf" "$t/root" decon2
expect "missing device" "decon2.*not found" "$ps" --config "$t/missing.conf" run

rm -rf "$t/nodebug" && cp -a "$t/root" "$t/nodebug" && rm -rf "$t/nodebug/sys/kernel/debug"
conf "$t/nodebug.conf" "$t/nodebug" decon
expect "no debugfs" "debugfs is not mounted" "$ps" --config "$t/nodebug.conf" run

if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	conf "$t/real.conf" "" decon
	chmod 755 "$t"; chmod 644 "$t/real.conf"
	expect "not root" "must run as root" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$ps" --config "$t/real.conf" run
else
	echo "ok   - not root: skipped (needs root and setpriv to drop privileges)"
fi
# A database of an older probestorm (schema 5 here): a reader migrates it when it can
# write it and says so; when it cannot, one line says why, and the file is left as it was.
cat "$top_srcdir"/schema/00[1-5]-*.sql | sqlite3 "$t/old.db" && sqlite3 "$t/old.db" "PRAGMA user_version = 5"
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	chmod 755 "$t"; chmod 644 "$t/old.db"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ps" --database "$t/old.db" \
		list runs > /dev/null 2> "$t/err"
	rc=$? v=$(sqlite3 "$t/old.db" "PRAGMA user_version")
	if [ $rc -eq 2 ] && [ "$(wc -l < "$t/err")" -eq 1 ] && [ "$v" = 5 ] &&
	   grep -q "needs migrating.*cannot be written" "$t/err"; then
		echo "ok   - old database, not writable: $(cat "$t/err")"
	else
		echo "FAIL - old database, not writable: exit $rc, schema $v"; sed 's/^/    /' "$t/err"; fail=1
	fi
else
	echo "ok   - old database, not writable: skipped (needs root and setpriv)"
fi
"$ps" --database "$t/old.db" list runs > /dev/null 2> "$t/err"
rc=$? v=$(sqlite3 "$t/old.db" "PRAGMA user_version")
if [ $rc -eq 0 ] && [ "$v" -gt 5 ] && grep -q "Migrated database" "$t/err"; then
	echo "ok   - old database migrated by a reader: $(cat "$t/err")"
else
	echo "FAIL - old database migrated by a reader: exit $rc, schema $v"; sed 's/^/    /' "$t/err"; fail=1
fi
# `probestorm VERB --help` prints that verb's usage on stdout and exits 0, writing nothing.
for v in run import export list compare report decide; do
	rm -f "$t/db"
	out=$(PROBESTORM_DB=$t/db "$ps" --database "$t/db" "$v" --help 2> "$t/err")
	rc=$?
	if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "^Usage: probestorm $v" &&
		! [ -s "$t/err" ] && ! [ -e "$t/db" ]; then
		echo "ok   - $v --help: $(printf '%s\n' "$out" | head -n 1)"
	else
		echo "FAIL - $v --help: exit $rc"; sed 's/^/    /' "$t/err"; fail=1
	fi
done
exit $fail
