#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Golden-output checks of the CLI's query verbs on the bundle recorded from the real QEMU
# kit (tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson): it is imported into a scratch
# database, then `list`, `list kernels`, `compare` (text, markdown, JUnit XML), `report`
# (text, markdown, JSON) run and
# their output is diffed against tests/data/golden/. Dates are replaced by DATE before the
# diff so a re-recorded bundle only changes what matters. compare must exit 1 (the bundle
# holds the lkml-v1 regression) and the JUnit file must be well-formed XML.
# After an intended change of the output: PS_UPDATE_GOLDEN=1 make check
# TESTS=tests/cli/golden.sh rewrites the files; review `git diff tests/data/golden`.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
ps=$top_builddir/probestorm
golden=$top_srcdir/tests/data/golden
bundle=$top_srcdir/tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0

run() { # run NAME WANT-EXIT CMD-ARGS...: output into $t/NAME, dates filtered
	name=$1 want=$2; shift 2
	timeout 30 "$ps" --database "$t/db" "$@" > "$t/$name.raw" 2> "$t/err"
	rc=$?
	sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z/DATE/g' \
		"$t/$name.raw" > "$t/$name"
	if [ $rc -ne "$want" ]; then
		echo "FAIL - $name: exit $rc, expected $want"
		sed 's/^/    /' "$t/err"
		fail=1
		return 1
	fi
	return 0
}

check() { # check NAME FILE: $t/NAME against tests/data/golden/FILE
	if [ -n "${PS_UPDATE_GOLDEN:-}" ]; then
		cp "$t/$1" "$golden/$2"
		echo "ok   - $1: rewrote $2"
	elif diff -u "$golden/$2" "$t/$1" > "$t/diff"; then
		echo "ok   - $1 matches $2"
	else
		echo "FAIL - $1 differs from tests/data/golden/$2:"
		sed 's/^/    /' "$t/diff"
		fail=1
	fi
}

if ! timeout 60 "$ps" --database "$t/db" import "$bundle" > /dev/null 2> "$t/err"; then
	echo "FAIL - import of $bundle"
	cat "$t/err"
	exit 1
fi
run list 0 list && check list list-runs.txt
run kernels 0 list kernels && check kernels list-kernels.txt
run compare 1 compare --base stock --head lkml-v1 && check compare compare.txt
run compare-md 1 compare --base label:stock --head label:lkml-v1 --markdown \
	--junit "$t/junit.xml" && check compare-md compare-e2e.md
cp "$t/junit.xml" "$t/junit" && check junit compare-junit.xml
if command -v xmllint > /dev/null; then
	if xmllint --noout "$t/junit.xml" 2> "$t/err"; then
		echo "ok   - junit: well-formed (xmllint)"
	else
		echo "FAIL - junit: not well-formed"; cat "$t/err"; fail=1
	fi
elif python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$t/junit.xml"; then
	echo "ok   - junit: well-formed (python3 xml.dom)"
else
	echo "FAIL - junit: not well-formed"; fail=1
fi
# --junit - puts the XML on stdout instead of the text
run junit-stdout 1 compare --base label:stock --head label:lkml-v1 --junit - &&
	if cmp -s "$t/junit-stdout" "$t/junit.xml"; then
		echo "ok   - --junit - writes the same XML to stdout"
	else
		echo "FAIL - --junit - differs from --junit FILE"; fail=1
	fi
# the same kernel on both sides: exit 0
run same 0 compare --base stock --head stock > /dev/null && echo "ok   - stock vs stock: exit 0"
# selectors matching nothing and bad options: exit 2 with one line on stderr
for args in "--base nope --head stock" "--base stock" "--base stock --head stock --alpha 2"; do
	# shellcheck disable=SC2086
	timeout 30 "$ps" --database "$t/db" compare $args > /dev/null 2> "$t/err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l < "$t/err")" -eq 1 ]; then
		echo "ok   - compare $args: exit 2, $(cat "$t/err")"
	else
		echo "FAIL - compare $args: exit $rc"; cat "$t/err"; fail=1
	fi
done
# options after the operands count as well as before them
run list-json-after 0 list runs --json && run list-json-before 0 --json list runs &&
	if cmp -s "$t/list-json-after" "$t/list-json-before" && jq -e 'length == 2' \
		"$t/list-json-after" > /dev/null; then
		echo "ok   - list runs --json = --json list runs"
	else
		echo "FAIL - list runs --json differs from --json list runs"; fail=1
	fi
uuid=$(jq -r '.[0].uuid' "$t/list-json-after")
run summary-after 0 export "$uuid" --format summary && run summary-before 0 export \
	--format summary "$uuid" &&
	if cmp -s "$t/summary-after" "$t/summary-before" && jq -e '.cycles == 28' \
		"$t/summary-after" > /dev/null; then
		echo "ok   - export UUID --format summary = export --format summary UUID"
	else
		echo "FAIL - export UUID --format summary differs"; fail=1
	fi
# report: one kernel alone, text and markdown against golden files, JSON by its content
run report 0 report stock && check report report.txt
run report-md 0 report --markdown lkml-v1 && check report-md report.md
run report-json 0 report stock --json &&
	if jq -e '(.groups | length) == 2 and .runs == 1 and
		(.groups[] | select(.consumer == "decon") | .window.first_us == 40000) and
		(.evidence[0].outcome == "late_iommu_probe") and
		(.evidence[0].event.detail | test("Call trace:")) and
		(.evidence[0].event.detail | test("x29:") | not)' "$t/report-json" > /dev/null; then
		echo "ok   - report --json: groups, window, evidence without the register dump"
	else
		echo "FAIL - report --json"; head -c 2000 "$t/report-json"; fail=1
	fi
timeout 30 "$ps" --database "$t/db" report nope > /dev/null 2> "$t/err"
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l < "$t/err")" -eq 1 ]; then
	echo "ok   - report nope: exit 2, $(cat "$t/err")"
else
	echo "FAIL - report nope: exit $rc"; cat "$t/err"; fail=1
fi
exit $fail
