#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `probestorm export --format kcidb` on the bundle recorded from the real QEMU kit
# (tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson): every run is exported and checked with
# jq for the KCIDB v5.3 structure (version, ids prefixed by the origin, every build's
# checkout and every test's build present, statuses in the allowed set, dot-separated
# lowercase paths, no nulls); every test's status and counts are cross-checked against the
# observations table read with sqlite3 (stock: decon-ctl late_iommu_probe in 3 of 28 cycles,
# FAIL); the stock report is diffed against tests/data/golden/kcidb-stock.json (dates
# replaced by DATE, numbers rounded to 6 decimals); when python3 has jsonschema, the reports
# are validated against tests/data/kcidb-v5.3-subset.schema.json. Then --origin, --format
# summary, the unchanged default format and the errors.
# PS_UPDATE_GOLDEN=1 make check TESTS=tests/cli/kcidb.sh rewrites the golden file.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
ps=$top_builddir/probestorm
golden=$top_srcdir/tests/data/golden/kcidb-stock.json
schema=$top_srcdir/tests/data/kcidb-v5.3-subset.schema.json
bundle=$top_srcdir/tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson
stock=cfe72e22-7c67-4109-ba36-ca38a28ab4f0
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0

if ! command -v jq > /dev/null; then
	echo "SKIP - jq is not installed"
	exit 77
fi
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fail=1; }

if ! timeout 60 "$ps" --database "$t/db" import "$bundle" > /dev/null 2> "$t/err"; then
	bad "import of $bundle"; cat "$t/err"; exit 1
fi
uuids=$(timeout 30 "$ps" --database "$t/db" --json list | jq -r '.[].uuid')
[ -n "$uuids" ] || { bad "no runs listed"; exit 1; }

# The structure every report must have; prints what is wrong, nothing when all is well.
structure='
def ids(k): [.[k][]?.id];
def check(c; msg): if c then . else error(msg) end;
check(.version == {"major":5,"minor":3}; "version is \(.version)") |
check([paths(. == null)] | length == 0; "null at \([paths(. == null)][0])") |
check(.checkouts | length == 1; "\(.checkouts | length) checkouts") |
check(.builds | length == 1; "\(.builds | length) builds") |
check(.tests | length > 0; "no tests") |
ids("checkouts") as $co | ids("builds") as $bu |
[.checkouts[], .builds[], .tests[]] as $all |
($all[] | select((.origin | test("^[a-z0-9_]+$") | not) or
	(.id | startswith($origin + ":") | not) or .origin != $origin) |
	"bad id/origin: \(.id) \(.origin)"),
(.builds[] | select(.checkout_id as $c | $co | index($c) | not) |
	"build \(.id): no checkout \(.checkout_id)"),
(.tests[] | select(.build_id as $b | $bu | index($b) | not) |
	"test \(.id): no build \(.build_id)"),
(.tests[] | select(.status as $s | ["FAIL","ERROR","MISS","PASS","DONE","SKIP"] |
	index($s) | not) | "test \(.id): status \(.status)"),
(.tests[] | select(.path | test("^probestorm(\\.[a-z0-9_]+)+$") | not) |
	"test \(.id): path \(.path)"),
(.builds[] | select(.status != null and (.status | IN("PASS","FAIL") | not)) |
	"build status \(.status)"),
([.tests[].id] | group_by(.) | map(select(length > 1))[] | "duplicate test id \(.[0])")
'
for u in $uuids; do
	if ! timeout 30 "$ps" --database "$t/db" export --format kcidb "$u" > "$t/$u.json" \
		2> "$t/err"; then
		bad "export --format kcidb $u"; cat "$t/err"; continue
	fi
	if jq -r --arg origin probestorm "$structure" "$t/$u.json" > "$t/problems" 2>&1 &&
		! [ -s "$t/problems" ]; then
		ok "$u: KCIDB structure ($(jq '.tests | length' "$t/$u.json") tests)"
	else
		bad "$u: KCIDB structure:"; sed 's/^/    /' "$t/problems"
	fi
done

# Statuses and counts against the database itself.
if command -v sqlite3 > /dev/null; then
	for u in $uuids; do
		sqlite3 -separator ' ' "$t/db" "
WITH cls(name) AS (VALUES ('crash'),('oops'),('hang'),('late_iommu_probe'),('no_iommu'),
	('warn'),('probe_failed'),('unbound')),
obs AS (SELECT o.device, o.outcome FROM observations o JOIN cycles c ON c.id = o.cycle_id
	JOIN runs r ON r.id = c.run_id WHERE r.uuid = '$u' AND o.consumer = 1),
dev AS (SELECT device, COUNT(*) AS n FROM obs GROUP BY device),
per AS (SELECT d.device, d.n, cls.name, (SELECT COUNT(*) FROM obs WHERE
	obs.device = d.device AND obs.outcome = cls.name) AS k FROM dev d, cls)
SELECT 'probestorm.rebind_race.' || replace(device, '-', '_') || '.' || name,
	CASE WHEN k > 0 THEN 'FAIL' ELSE 'PASS' END, k, n FROM per
UNION ALL
SELECT 'probestorm.rebind_race.' || replace(device, '-', '_'),
	CASE WHEN SUM(k) > 0 THEN 'FAIL' ELSE 'PASS' END, SUM(k), n FROM per GROUP BY device
ORDER BY 1;" > "$t/want"
		jq -r '.tests[] | "\(.path) \(.status) \(.misc.occurrences) \(.misc.cycles)"' \
			"$t/$u.json" | LC_ALL=C sort > "$t/got"
		LC_ALL=C sort -o "$t/want" "$t/want"
		if [ -s "$t/want" ] && diff -u "$t/want" "$t/got" > "$t/diff"; then
			ok "$u: statuses and counts agree with the database ($(wc -l < "$t/got"))"
		else
			bad "$u: statuses/counts differ from the database:"; sed 's/^/    /' "$t/diff"
		fi
	done
	n=$(sqlite3 "$t/db" "SELECT COUNT(*) FROM observations o JOIN cycles c ON c.id =
		o.cycle_id JOIN runs r ON r.id = c.run_id WHERE r.uuid = '$stock' AND
		o.device = 'decon-ctl' AND o.outcome = 'late_iommu_probe'")
	got=$(jq -r '.tests[] | select(.path == "probestorm.rebind_race.decon_ctl.late_iommu_probe")
		| "\(.status) \(.misc.occurrences)/\(.misc.cycles)"' "$t/$stock.json")
	if [ "$n" = 3 ] && [ "$got" = "FAIL 3/28" ]; then
		ok "stock decon-ctl late_iommu_probe: $got (database: $n of 28)"
	else
		bad "stock decon-ctl late_iommu_probe: report '$got', database $n"
	fi
else
	echo "SKIP - sqlite3 is not installed: statuses not cross-checked with the database"
fi

# Golden file: dates and the last digits of floating-point numbers are not the point.
jq --sort-keys 'walk(if type == "number" and . != floor then (. * 1e6 | round) / 1e6
	else . end)' "$t/$stock.json" |
	sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z/DATE/g' \
		> "$t/golden"
if [ -n "${PS_UPDATE_GOLDEN:-}" ]; then
	cp "$t/golden" "$golden"; ok "rewrote $golden"
elif diff -u "$golden" "$t/golden" > "$t/diff"; then
	ok "stock report matches tests/data/golden/kcidb-stock.json"
else
	bad "stock report differs from tests/data/golden/kcidb-stock.json:"
	sed 's/^/    /' "$t/diff"
fi

# JSON Schema validation against the subset of v5.3 (when python3-jsonschema is there).
if python3 -c 'import jsonschema' 2> /dev/null; then
	for u in $uuids; do
		if python3 - "$schema" "$t/$u.json" > "$t/err" 2>&1 <<'EOF'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
data = json.load(open(sys.argv[2]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = list(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(data))
for e in errors[:5]:
    print("/".join(str(p) for p in e.absolute_path), e.message)
sys.exit(1 if errors else 0)
EOF
		then
			ok "$u: valid against the v5.3 subset schema (jsonschema)"
		else
			bad "$u: schema validation:"; sed 's/^/    /' "$t/err"
		fi
	done
else
	echo "SKIP - python3 jsonschema not available: no JSON Schema validation"
fi

# --origin and --arch end up in every id and in the build.
if timeout 30 "$ps" --database "$t/db" export --format kcidb --origin lab_7 --arch arm64 \
	"$stock" > "$t/origin.json" 2> "$t/err" &&
	jq -r --arg origin lab_7 "$structure" "$t/origin.json" > "$t/problems" 2>&1 &&
	! [ -s "$t/problems" ] &&
	[ "$(jq -r '.builds[0].architecture' "$t/origin.json")" = arm64 ]; then
	ok "--origin lab_7 --arch arm64"
else
	bad "--origin lab_7 --arch arm64"; cat "$t/err" "$t/problems"
fi
# --format summary is the run summary; the default format is still the bundle.
if timeout 30 "$ps" --database "$t/db" export --format summary "$stock" > "$t/sum" &&
	[ "$(jq -r '.consumers[] | select(.device == "decon-ctl") |
		.outcomes.late_iommu_probe' "$t/sum")" = 3 ]; then
	ok "--format summary"
else
	bad "--format summary"
fi
timeout 30 "$ps" --database "$t/db" export "$stock" > "$t/default"
timeout 30 "$ps" --database "$t/db" export --format ndjson "$stock" > "$t/ndjson"
if cmp -s "$t/default" "$t/ndjson" && [ "$(head -c 14 "$t/default")" = '{"type":"run",' ]; then
	ok "default format is the NDJSON bundle"
else
	bad "default format differs from --format ndjson"
fi
for args in "--format xml $stock" "--format kcidb --origin Bad-Origin $stock" \
	"--format kcidb 00000000-0000-0000-0000-000000000000" "--format kcidb"; do
	# shellcheck disable=SC2086
	timeout 30 "$ps" --database "$t/db" export $args > "$t/out" 2> "$t/err"
	rc=$?
	if [ $rc -eq 2 ] && ! [ -s "$t/out" ] && [ "$(wc -l < "$t/err")" -eq 1 ]; then
		ok "export $args: exit 2, $(cat "$t/err")"
	else
		bad "export $args: exit $rc"; cat "$t/err"
	fi
done
exit $fail
