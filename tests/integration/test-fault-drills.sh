#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fault drills (issue 11, docs/security.md): what is recorded survives a kill -9 and a full
# disk.
#  - kill -9 of `probestorm import` at random points of a 10 MB bundle (40 runs, 1120
#    cycles): the database passes PRAGMA integrity_check, holds all of the bundle or none
#    of it, and a re-import gives exactly the counts of a clean import;
#  - the same for probestormd killed during POST /api/v1/bundles of that bundle, then
#    started again;
#  - a full disk (a 12 MiB tmpfs as the database's folder, needs root and mount): the
#    import fails with a clear error and exit 2, what was recorded before is all there,
#    and the daemon on that database refuses the POST in JSON and keeps serving reads.
# The random points come from PS_DRILL_SEED (printed; default: the time), the number of
# kills from PS_DRILL_KILLS (default 3 of each). The slow-client flood during which health
# checks keep being answered is test-api-abuse.sh's.
# How the drills can fail: PS_DRILL_BREAK=1 imports the bundle in 40 transactions (one per
# run) instead of one, so that a kill leaves part of it: the "all or none" checks must fail
# (they do: contrib/run-tests does not run it; see the commit message).
PS_TEST_TIMEOUT=${PS_TEST_TIMEOUT:-400}
. "$(dirname "$0")/lib.sh"

if ! command -v sqlite3 >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: sqlite3 or python3 is not installed"
	exit 77
fi
seed=${PS_DRILL_SEED:-$(date +%s)}
kills=${PS_DRILL_KILLS:-3}
echo "# seed $seed (PS_DRILL_SEED=$seed repeats the random points)"
RANDOM=$seed

# The bundle: the committed QEMU end-to-end bundle twenty times, each copy with its own
# UUIDs (the first 8 hex digits numbered), so that it is large enough to take seconds.
big=$ps_tmp/big.ndjson
python3 - "$top_srcdir/tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson" "$big" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
uuid = re.compile(r'"([0-9a-f]{8})(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"')
with open(sys.argv[2], "w") as out:
    for k in range(1, 21):
        out.write(uuid.sub(lambda m: '"%08x%s"' % (k, m.group(2)), src))
EOF
if [ -n "${PS_DRILL_BREAK:-}" ]; then
	# one transaction per run: the bundle split before each "run" line
	mkdir -p "$ps_tmp/parts"
	awk -v d="$ps_tmp/parts" '/^\{"type":"run"/ {n++} {print > (d "/" sprintf("%03d", n) ".ndjson")}' "$big"
fi
import_big() { # import_big DB: the bundle, in one import (or per run when broken)
	if [ -n "${PS_DRILL_BREAK:-}" ]; then
		for f in "$ps_tmp"/parts/*.ndjson; do
			"$PS_CLI" --database "$1" import "$f" || return
		done
	else
		"$PS_CLI" --database "$1" import "$big"
	fi
}

counts() { # counts DB: runs, cycles, observations, kernels
	sqlite3 -readonly "$1" "SELECT (SELECT count(*) FROM runs) || ' ' ||
		(SELECT count(*) FROM cycles) || ' ' || (SELECT count(*) FROM observations) ||
		' ' || (SELECT count(*) FROM kernels)"
}
integrity() {
	sqlite3 "$1" 'PRAGMA integrity_check'
}

# The counts of a clean import: the committed bundle's, then the big one on top.
clean=$ps_tmp/clean.db
ps_database "$clean"
base_counts=$(counts "$clean")
t0=$(date +%s%N)
import_big "$clean" > /dev/null || { echo "Bail out! the clean import failed"; exit 99; }
ms=$((($(date +%s%N) - t0) / 1000000))
clean_counts=$(counts "$clean")
echo "# clean import: $ms ms; counts before $base_counts, after $clean_counts"
# "all or none": the counts after a kill are those before or after the bundle.
all_or_none() {
	c=$(counts "$1")
	check "$2: integrity_check ok" test "$(integrity "$1")" = ok
	check "$2: all of the bundle or none ($c)" \
		test "$c" = "$base_counts" -o "$c" = "$clean_counts"
}

# --- kill -9 of the importer at random points ---
for ((drill = 1; drill <= kills; drill++)); do
	db=$ps_tmp/kill-cli-$drill.db
	ps_database "$db"
	delay=$((RANDOM % (ms + 1)))
	import_big "$db" > /dev/null 2>&1 &
	imp=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	# import_big runs in a subshell: the importer is its child. Stop the subshell, kill
	# its child, then it: killed first, the subshell would leave the importer running as
	# an orphan, still writing while the re-import below runs (seen under ASan, where the
	# import is slow: the re-import failed).
	kill -STOP "$imp" 2>/dev/null
	pkill -9 -P "$imp" 2>/dev/null
	kill -9 "$imp" 2>/dev/null
	wait "$imp" 2>/dev/null
	echo "# importer $drill killed after $delay ms"
	all_or_none "$db" "importer killed after $delay ms"
	"$PS_CLI" --database "$db" import "$big" > /dev/null 2>&1
	check "importer killed after $delay ms: a re-import gives the clean counts" \
		test "$(counts "$db")" = "$clean_counts"
done

# --- kill -9 of probestormd during a POST ---
# The re-POSTs below send the whole 20-run bundle: on a loaded machine its import takes
# longer than ps_req's usual 20 s (seen: status 000 with five other jobs running).
PS_REQ_MAX_TIME=180
ps_config api "token = $TOKEN"
for ((drill = 1; drill <= kills; drill++)); do
	db=$ps_tmp/kill-daemon-$drill.db
	ps_database "$db"
	ps_start "$ps_tmp/api.conf" "$db"
	delay=$((RANDOM % (ms + 1)))
	curl -s -o /dev/null --max-time 60 -H "Authorization: Bearer $TOKEN" \
		--data-binary "@$big" "$ps_url/api/v1/bundles" &
	cl=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -9 "$ps_pid"
	wait "$ps_pid" 2>/dev/null
	wait "$cl" 2>/dev/null
	echo "# daemon $drill killed after $delay ms"
	all_or_none "$db" "daemon killed after $delay ms"
	ps_start "$ps_tmp/api.conf" "$db"
	ps_req POST /api/v1/bundles -H "Authorization: Bearer $TOKEN" --data-binary "@$big"
	expect 200 "daemon killed after $delay ms: started again, a re-POST is taken"
	check "daemon killed after $delay ms: then the clean counts" \
		test "$(counts "$db")" = "$clean_counts"
	kill "$ps_pid"
	wait "$ps_pid" 2>/dev/null
done

# --- a full disk ---
full=$ps_tmp/full
mkdir -p "$full"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=12m probestorm-drill "$full" 2>/dev/null; then
	trap 'umount "$full" 2>/dev/null; ps_cleanup' EXIT
	db=$full/api.db
	ps_database "$db"
	# fill the rest of the disk but 512 KiB
	avail=$(df --output=avail -k "$full" | tail -n 1)
	head -c $(((avail - 512) * 1024)) /dev/zero > "$full/filler" 2>/dev/null
	echo "# tmpfs of 12 MiB: $(df --output=avail -k "$full" | tail -n 1) KiB free"
	before=$(counts "$db")
	out=$("$PS_CLI" --database "$db" import "$big" 2>&1)
	rc=$?
	echo "# import on a full disk: exit $rc: $out"
	check "full disk: import exits 2 (got $rc)" test "$rc" = 2
	check "full disk: the error says so" grep -qi 'full\|no space' <<< "$out"
	check "full disk: integrity_check ok" test "$(integrity "$db")" = ok
	check "full disk: what was recorded is all there ($(counts "$db"))" \
		test "$(counts "$db")" = "$before"
	ps_start "$ps_tmp/api.conf" "$db"
	ps_req POST /api/v1/bundles -H "Authorization: Bearer $TOKEN" --data-binary "@$big"
	expect_error 507 "full disk: POST /api/v1/bundles is refused in JSON" \
		'(.detail | test("full|space"; "i"))'
	ps_req GET /api/v1/runs
	expect 200 "full disk: the daemon keeps serving reads" \
		"(.runs | length) == ${before%% *}"
	ps_req GET /api/v1/health
	expect 200 "full disk: and health checks"
	check "full disk: still nothing lost ($(counts "$db"))" test "$(counts "$db")" = "$before"
	rm -f "$full/filler"
	"$PS_CLI" --database "$db" import "$big" > /dev/null 2>&1
	check "full disk: with space again, the import gives the clean counts" \
		test "$(counts "$db")" = "$clean_counts"
	kill "$ps_pid"
	wait "$ps_pid" 2>/dev/null
	umount "$full"
	trap ps_cleanup EXIT
else
	ps_ok "# SKIP full disk (needs root and mount -t tmpfs)"
fi

ps_done
