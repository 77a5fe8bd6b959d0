#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Importing what conflicts with the database (tests/data/bundles/bad-*.ndjson against the
# committed bundle): the CLI exits 2 naming the line and the field, POST /api/v1/bundles
# answers 409 with a JSON error, and nothing of the bundle is recorded. An identical
# re-import, an upper-case spelling of a UUID and a late "interrupted" end line are no-ops.
# A failing read (out of memory) is an error, never the end of the bundle.
. "$(dirname "$0")/lib.sh"

if ! command -v sqlite3 >/dev/null 2>&1; then
	echo "SKIP: sqlite3 is not installed"
	exit 77
fi
bundles=$top_srcdir/tests/data/bundles
db=$ps_tmp/api.db
ps_database "$db"

# Everything the database holds, to compare before and after a refused import.
snapshot() {
	sqlite3 -readonly "$db" "SELECT uuid, status, finished_at, load_metrics, campaign
		FROM runs ORDER BY uuid; SELECT run_id, seq, outcome, deferrals, note FROM cycles
		ORDER BY run_id, seq; SELECT count(*) FROM observations;
		SELECT count(*), group_concat(message) FROM events; SELECT count(*) FROM kernels"
}
before=$(snapshot)

# case FILE LINE FIELD: the CLI refuses FILE at LINE naming FIELD, exit 2.
cli_refuses() {
	out=$("$PS_CLI" --database "$db" import "$bundles/$1" 2>&1)
	rc=$?
	check "import $1: exit 2 (got $rc)" test "$rc" = 2
	check "import $1: names line $2 and \"$3\"" \
		grep -q "line $2: .*\"$3\" differs from the recorded copy" <<< "$out"
	check "import $1: nothing changed" test "$(snapshot)" = "$before"
}
cli_refuses bad-conflict-run.ndjson 1 campaign
cli_refuses bad-conflict-kernel.ndjson 1 kernel.release
cli_refuses bad-conflict-cycle.ndjson 3 deferrals
cli_refuses bad-conflict-event.ndjson 2 message
cli_refuses bad-end-running.ndjson 2 status
cli_refuses bad-end-final.ndjson 2 status
# bad-conflict-cycle.ndjson adds cycle 100 before its conflicting line: refused with it.
check "the new cycle before the conflict is not recorded" test "$(sqlite3 "$db" \
	"SELECT count(*) FROM cycles WHERE seq = 100")" = 0

out=$("$PS_CLI" --database "$db" import "$PS_BUNDLE" 2>&1)
check "an identical re-import is a no-op" grep -q "imported 0 runs, 0 cycles, 0 events" \
	<<< "$out"
out=$("$PS_CLI" --database "$db" import "$bundles/upper-case-uuid.ndjson" 2>&1)
check "an upper-case UUID is the same run ($out)" \
	grep -q "imported 0 runs, 0 cycles, 0 events; already present: 1 runs, 1 cycles" \
	<<< "$out"
out=$("$PS_CLI" --database "$db" import "$bundles/late-interrupted-end.ndjson" 2>&1)
check "a late 'interrupted' end is a no-op ($out)" test $? = 0
check "and the run stays finished" test "$(sqlite3 "$db" \
	"SELECT status FROM runs WHERE uuid = '$STOCK'")" = finished
# A progress bundle (run line and the first cycles, as push spools them while a run goes
# on) arriving after the final one, as a spool replayed after a restart can deliver it:
# the run stays finished.
head -n 3 "$PS_BUNDLE" > "$ps_tmp/progress.ndjson"
out=$("$PS_CLI" --database "$db" import "$ps_tmp/progress.ndjson" 2>&1)
check "a late progress bundle is a no-op ($out)" \
	grep -q "imported 0 runs, 0 cycles, 0 events; already present: 1 runs, 1 cycles" \
	<<< "$out"
check "nothing changed by the no-ops, the run is still finished" \
	test "$(snapshot)" = "$before"

# --- the same over HTTP ---
ps_config api "token = $TOKEN"
ps_start "$ps_tmp/api.conf" "$db"
post() {
	ps_req POST /api/v1/bundles -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/x-ndjson' --data-binary "@$bundles/$1"
}
for f in bad-conflict-run bad-conflict-kernel bad-conflict-cycle bad-conflict-event \
	bad-end-running bad-end-final; do
	post "$f.ndjson"
	expect_error 409 "POST $f: 409" '.error == "conflict"' \
		'(.detail | test("^line [0-9]+: .*differs from the recorded copy"))'
done
check "nothing changed by the refused POSTs" test "$(snapshot)" = "$before"
post upper-case-uuid.ndjson
expect 200 "POST of an upper-case UUID: present" '.runs_inserted == 0' \
	'.runs_present == 1' '.cycles_present == 1'
ps_req GET "/api/v1/runs/$(tr a-f A-F <<< "$STOCK")"
expect 200 "GET of a run by its upper-case UUID" ".run.uuid == \"$STOCK\""

# --- a read that fails is an error (getline()'s ENOMEM used to end the import with 0) ---
# The address space a small import needs, found by bisection; with 8 MB more, a run line
# and a 12 MB cycle line: the buffer for the second line cannot grow (realloc to 16 MiB).
if ldd "$PS_CLI" 2>/dev/null | grep -q libasan || [ -n "${ASAN_OPTIONS:-}" ]; then
	ps_ok "# SKIP out-of-memory import (ASan reserves address space)"
else
	head -n 3 "$PS_BUNDLE" > "$ps_tmp/small.ndjson"
	python3 - "$PS_BUNDLE" > "$ps_tmp/big.ndjson" <<-'PY'
	import json, sys
	lines = open(sys.argv[1]).read().split("\n")
	c = json.loads(lines[2])
	c["note"] = "a" * 12000000
	print(lines[0])
	print(json.dumps(c, separators=(",", ":")))
	PY
	lo=4000 hi=400000
	while [ $((hi - lo)) -gt 256 ]; do
		mid=$(((lo + hi) / 2))
		rm -f "$ps_tmp/oom.db"
		if (ulimit -v $mid; "$PS_CLI" --database "$ps_tmp/oom.db" import \
			"$ps_tmp/small.ndjson") > /dev/null 2>&1; then
			hi=$mid
		else
			lo=$mid
		fi
	done
	rm -f "$ps_tmp/oom.db"
	out=$(ulimit -v $((hi + 8192)); "$PS_CLI" --database "$ps_tmp/oom.db" import \
		"$ps_tmp/big.ndjson" 2>&1)
	rc=$?
	check "out of memory while reading: exit 2 (got $rc with ${hi} kB + 8 MB)" test "$rc" = 2
	check "and says so ($out)" grep -q "line 2: cannot read: Cannot allocate memory" <<< "$out"
	check "and records nothing of the bundle" test "$(sqlite3 "$ps_tmp/oom.db" \
		"SELECT count(*) FROM runs" 2>/dev/null || echo 0)" = 0
	"$PS_CLI" --database "$ps_tmp/oom.db" import "$ps_tmp/big.ndjson" > /dev/null 2>&1
	check "with enough memory it imports" test "$(sqlite3 "$ps_tmp/oom.db" \
		"SELECT count(*) FROM cycles")" = 1
fi

ps_done
