#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# contrib/ci/nightly on the bundle recorded from the real QEMU kit
# (tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson): import and compare in one go (the
# lkml-v1 regression: exit 1, summary.md as the golden markdown, well-formed junit.xml),
# the baseline found as "newest finished run of label stock", locally and through a
# probestormd on loopback, no regression (exit 0), and errors (exit 2, no summary).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
nightly=$top_srcdir/contrib/ci/nightly
bundle=$top_srcdir/tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson
stock_uuid=cfe72e22-7c67-4109-ba36-ca38a28ab4f0
t=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
	rm -rf "$t"
}
trap cleanup EXIT
fail=0
export PROBESTORM=$top_builddir/probestorm

# nt NAME WANT-EXIT ARGS...: runs nightly with --out $t/NAME
nt() {
	name=$1 want=$2; shift 2
	timeout 60 sh "$nightly" --database "$t/db" --out "$t/$name" "$@" > "$t/$name.out" \
		2> "$t/$name.err"
	rc=$?
	if [ $rc -ne "$want" ]; then
		echo "FAIL - $name: exit $rc, expected $want"
		sed 's/^/    /' "$t/$name.err"
		fail=1
		return 1
	fi
	return 0
}

xml_ok() {
	if command -v xmllint > /dev/null; then
		xmllint --noout "$1"
	else
		python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$1"
	fi
}

if nt import 1 --bundle "$bundle" --base label:stock --head lkml-v1; then
	if diff -u "$top_srcdir/tests/data/golden/compare-e2e.md" "$t/import/summary.md" \
		> "$t/diff" && xml_ok "$t/import/junit.xml" &&
		grep -q '<failure type="regression"' "$t/import/junit.xml"; then
		echo "ok   - import + compare: exit 1, golden summary.md, junit.xml with failures"
	else
		echo "FAIL - import + compare: summary or junit wrong"
		sed 's/^/    /' "$t/diff"
		fail=1
	fi
fi

if nt latest 1 --baseline-label stock --target guest --head lkml-v1; then
	if grep -q "run:$stock_uuid" "$t/latest/summary.md" && [ -s "$t/latest/junit.xml" ]; then
		echo "ok   - baseline = newest finished run of label stock on target guest"
	else
		echo "FAIL - baseline not resolved to run:$stock_uuid"; fail=1
	fi
fi

nt same 0 --base stock --head stock &&
	grep -q 'no regression' "$t/same/summary.md" && echo "ok   - stock vs stock: exit 0"

for args in "--baseline-label nope --head lkml-v1" "--base stock --head nope" "--head x"; do
	# shellcheck disable=SC2086
	if nt err 2 $args; then
		if [ -e "$t/err/summary.md" ] || [ -e "$t/err/junit.xml" ]; then
			echo "FAIL - $args: left a summary behind"; fail=1
		else
			echo "ok   - $args: exit 2, $(tail -n 1 "$t/err.err")"
		fi
	fi
done

# Against a probestormd on loopback (skipped without libmicrohttpd or curl)
printf '[daemon]\n' > "$t/d.conf"
"$top_builddir/probestormd" --config "$t/d.conf" --database "$t/db" --listen 127.0.0.1:0 \
	--port-file "$t/port" > "$t/daemon.log" 2>&1 &
pid=$!
i=0
while [ ! -s "$t/port" ] && kill -0 "$pid" 2> /dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -s "$t/port" ] || ! command -v curl > /dev/null ||
	"$PROBESTORM" compare --server http://127.0.0.1:1 --base a --head b 2>&1 |
	grep -q 'without libcurl'; then
	echo "ok   - --server: skipped (no probestormd HTTP API, no curl, or no libcurl)"
elif nt server 1 --server "http://127.0.0.1:$(cat "$t/port")/" --baseline-label stock \
	--head lkml-v1; then
	if cmp -s "$t/latest/summary.md" "$t/server/summary.md" &&
		cmp -s "$t/latest/junit.xml" "$t/server/junit.xml"; then
		echo "ok   - --server: the same summary and JUnit XML as the local database"
	else
		echo "FAIL - --server: output differs from the local compare"
		diff -u "$t/latest/summary.md" "$t/server/summary.md" | sed 's/^/    /'
		fail=1
	fi
fi
exit $fail
