#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every cycle counts: a kernel whose target crashes and hangs, recorded the way the QEMU
# host records it (one stream per boot, `import --died crash|hang --console LOG` after each
# death), against a kernel that never fails. 20 cycles each, offset (seq % 4) * 20 ms,
# consumers decon and decon-ctl:
#   stock:  every cycle ok
#   crashy: crash in cycles 0 2 3 5 7 8 10 12 13 15 17 18 (the first one before any cycle
#           was observed), hang in 6 and 9, ok in 1 4 11 14 16 19
# Checked: each death cycle holds one crash/hang observation per consumer and its sweep
# value; agg_outcomes equals a rebuild from the raw observations; compare (text, markdown,
# JSON, JUnit), report, decide and the KCIDB export count 12/20 crashes per consumer and
# call the comparison a regression; the race window says head fails at every offset.
# Then the same database is turned back into what schema 6 had (death cycles without
# observations or sweep value, the columns of 007 gone) and migrated: schema 007's
# backfill gives back the same counts. Last, a crash imported with --pstore-root holds the
# next boot's pstore records.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/cli/lib.sh"
ps_scratch
STOCK=c0000000-0000-4000-8000-00000000000a
CRASHY=c0000000-0000-4000-8000-00000000000b

# The streams: stock's whole run, then crashy's boots, each ending with the in-flight line
# of the cycle the guest died in.
python3 - "$t" "$STOCK" "$CRASHY" <<'EOF'
import json, sys
out, stock, crashy = sys.argv[1:4]
CRASH = {0, 2, 3, 5, 7, 8, 10, 12, 13, 15, 17, 18}
HANG = {6, 9}

def run(uuid, label):
    return {"type": "run", "uuid": uuid, "campaign": "e2e", "scenario": "rebind-race",
            "target": "guest", "target_kind": "qemu", "sweep_var": "offset",
            "consumers": "decon decon-ctl", "cycles_planned": 20,
            "started_at": "2026-11-25T0%d:00:00Z" % (1 if label == "stock" else 2),
            "status": "running",
            "kernel": {"release": "7.3.4", "version": "#1 SMP", "cmdline": "console=ttyAMA0",
                       "label": label}}

def cycle(uuid, seq, boot):
    t0 = 10**9 * (seq + 1)
    return {"type": "cycle", "run": uuid, "seq": seq, "boot": boot,
            "sweep_value": seq % 4 * 20000, "start_ns": t0, "end_ns": t0 + 5 * 10**7,
            "outcome": "ok",
            "actions": [{"idx": 0, "group": -1, "verb": "bind", "arg": "decon",
                         "start_ns": t0, "end_ns": t0 + 200000 + 1000 * seq}],
            "observations": [{"device": d, "consumer": True, "driver": "ps-" + d,
                              "iommu_group": 3, "time_to_bound_ns": 10**6 + 1000 * seq,
                              "outcome": "ok"} for d in ("decon", "decon-ctl")]}

def write(name, lines):
    with open(f"{out}/{name}", "w") as f:
        for l in lines:
            f.write(json.dumps(l) + "\n")

write("stock.ndjson", [run(stock, "stock")] + [cycle(stock, s, 0) for s in range(20)] +
      [{"type": "end", "run": stock, "status": "finished",
        "finished_at": "2026-11-25T01:10:00Z"}])
boot, lines, n = 0, [run(crashy, "crashy")], 0
for s in range(20):
    if s in CRASH or s in HANG:
        lines.append({"type": "inflight", "run": crashy, "cycle": s,
                      "sweep_value": s % 4 * 20000, "action": 0, "verb": "bind",
                      "arg": "decon", "group": None})
        write("boot-%02d-%s.ndjson" % (n, "crash" if s in CRASH else "hang"), lines)
        n += 1
        boot += 1
        lines = [run(crashy, "crashy")]
    else:
        lines.append(cycle(crashy, s, boot))
lines.append({"type": "end", "run": crashy, "status": "finished",
              "finished_at": "2026-11-25T02:10:00Z"})
write("boot-%02d-end.ndjson" % n, lines)
EOF
printf 'Internal error: Oops: 96000045 [#1] SMP\r\nKernel panic - not syncing: Oops: Fatal exception\r\n' \
	> "$t/console.log"
timeout 30 "$ps" --database "$t/db" import "$t/stock.ndjson" > /dev/null ||
	bad "import of the stock run"
for f in "$t"/boot-*.ndjson; do
	case $f in
	*-crash.ndjson) died="--died crash --console $t/console.log" ;;
	*-hang.ndjson) died="--died hang" ;;
	*) died= ;;
	esac
	# shellcheck disable=SC2086
	timeout 30 "$ps" --database "$t/db" import $died "$f" > /dev/null 2> "$t/err" ||
		{ bad "import $died $(basename "$f")"; sed 's/^/    /' "$t/err"; }
done

check "crashy: 12 crash and 2 hang cycles, each with its sweep value and one observation per consumer" \
	$([ "$(q "SELECT c.outcome, COUNT(*), SUM(c.sweep_value = c.seq % 4 * 20000),
	          SUM((SELECT COUNT(*) FROM observations o WHERE o.cycle_id = c.id AND
	               o.consumer = 1 AND o.outcome = c.outcome))
	          FROM cycles c JOIN runs r ON r.id = c.run_id
	          WHERE r.uuid = '$CRASHY' AND c.outcome IN ('crash', 'hang')
	          GROUP BY 1 ORDER BY 1" | tr '\n' ' ')" = "crash|12|12|24 hang|2|2|4 " ]; echo $?)
check "the crash cycle names the action in flight and its device" \
	$([ "$(q "SELECT note FROM cycles c JOIN runs r ON r.id = c.run_id WHERE
	          r.uuid = '$CRASHY' AND c.seq = 0")" = \
	    "target died during 'bind decon' (boot 0): Kernel panic - not syncing: Oops: Fatal exception" ]
	  echo $?)

# agg_outcomes, kept by triggers, against a rebuild from the raw rows (both ways).
agg_check() {
	d=$(q "SELECT COUNT(*) FROM (
		SELECT run_id, device, swept, sweep_value, outcome, n FROM agg_outcomes
		EXCEPT SELECT c.run_id, o.device, c.sweep_value IS NOT NULL,
		       IFNULL(c.sweep_value, 0), o.outcome, COUNT(*)
		FROM observations o JOIN cycles c ON c.id = o.cycle_id WHERE o.consumer = 1
		GROUP BY 1, 2, 3, 4, 5)")
	e=$(q "SELECT COUNT(*) FROM (
		SELECT c.run_id, o.device, c.sweep_value IS NOT NULL,
		       IFNULL(c.sweep_value, 0), o.outcome, COUNT(*)
		FROM observations o JOIN cycles c ON c.id = o.cycle_id WHERE o.consumer = 1
		GROUP BY 1, 2, 3, 4, 5
		EXCEPT SELECT run_id, device, swept, sweep_value, outcome, n FROM agg_outcomes)")
	check "$1: agg_outcomes equals a rebuild from the raw observations ($d, $e rows differ)" \
		$([ "$d $e" = "0 0" ]; echo $?)
}
agg_check "recorded"

run() { # run NAME WANT-EXIT ARGS...
	name=$1 want=$2; shift 2
	timeout 30 "$ps" --database "$t/db" "$@" > "$t/$name" 2> "$t/err"
	rc=$?
	[ $rc = "$want" ] && return 0
	bad "$name: exit $rc, expected $want"
	sed 's/^/    /' "$t/err" "$t/$name"
	return 1
}
has() { # has NAME REGEX DESC
	if grep -Eq -- "$2" "$t/$1"; then ok "$1: $3"; else bad "$1: $3 (no /$2/)"; sed 's/^/    /' "$t/$1"; fi
}

if run compare 1 compare --base stock --head crashy; then
	has compare '^  crash +0/20 \(<[0-9.]+%\) +12/20 60\.0% .* regression$' \
		"crash 0/20 vs 12/20, regression"
	has compare '^  hang +0/20 \(<[0-9.]+%\) +2/20 10\.0% ' "hang 0/20 vs 2/20"
	has compare '^  any_failure +0/20 .* 14/20 70\.0% .* regression$' "any failure 14/20"
	has compare 'base no failures at any offset; head fails at every offset \(no offset dependence\)' \
		"the race window says what was found"
	has compare 'bind_latency ms \(bound correctly: n 20 vs 6\)' "latency of the 6 good cycles"
	has compare '^verdict: REGRESSION$' "verdict REGRESSION"
	[ "$(grep -c '^  crash ' "$t/compare")" = 2 ] && ok "compare: both consumers count the crashes" ||
		bad "compare: crash rows: $(grep -c '^  crash ' "$t/compare")"
fi
if run compare-md 1 compare --base stock --head crashy --markdown --junit "$t/junit.xml"; then
	has compare-md '^\| crash \| 0/20 \(<[0-9.]+%\) \| 12/20 60\.0% .* \| regression \|$' \
		"markdown crash row"
	has compare-md '^\| 20\.000 \| 0/5 \| [0-9]+/5 \|$' "markdown per-offset rows count 5 cycles"
	cp "$t/junit.xml" "$t/junit"
	has junit '<failure type="regression" message="crash: base 0/20 ' "JUnit failure for crash"
fi
if run compare-json 1 --json compare --base stock --head crashy; then
	check "compare --json: regression, crash 12/20 per consumer, head window every_offset" \
		"$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
ok = j["verdict"] == "regression" and len(j["groups"]) == 2
for g in j["groups"]:
    c = [o for o in g["outcomes"] if o["outcome"] == "crash"][0]
    ok &= (c["head_k"], c["head_n"], c["base_n"], c["verdict"]) == (12, 20, 20, "regression")
    ok &= sum(b["head_n"] for b in g["sweep"]) == 20
    ok &= sum(b["head_fail"] for b in g["sweep"]) == 14
    ok &= g["window"]["head"]["kind"] == "every_offset"
    ok &= g["window"]["base"]["kind"] == "no_failures"
print(0 if ok else 1)' "$t/compare-json")"
fi
if run report 0 report crashy; then
	has report '^  crash +12/20 60\.0% ' "crash 12/20"
	has report 'fails at every offset \(no offset dependence\)' "the window"
	has report "crash: run c0000000 cycle 0 \(target died during 'bind decon'" \
		"the first crash cycle and its note"
fi
if run decide 0 decide --base stock --head crashy --watch crash; then
	has decide '^  crash +0/20 .*12/20 .*DIFFERENT' "crash 0/20 vs 12/20 DIFFERENT"
fi
if run kcidb 0 export "$CRASHY" --format kcidb; then
	check "KCIDB: the crash test of each consumer fails with 12 of 20 cycles" \
		"$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
t = [x for x in j["tests"] if x["path"].endswith(".crash")]
ok = len(t) == 2 and all(x["status"] == "FAIL" and x["misc"]["occurrences"] == 12 and
                         x["misc"]["cycles"] == 20 for x in t)
print(0 if ok else 1)' "$t/kcidb")"
fi

# The API's /sweep and /trend (and /compare) on the same database, when the daemon and
# curl and jq are there (the HTTP API is optional at build time).
if [ -x "$top_builddir/probestormd" ] && command -v curl > /dev/null &&
	command -v jq > /dev/null; then
	printf '[daemon]\n' > "$t/api.conf"
	"$top_builddir/probestormd" --config "$t/api.conf" --database "$t/db" \
		--listen 127.0.0.1:0 --port-file "$t/port" > "$t/daemon.log" 2>&1 &
	pid=$!
	i=0
	while [ ! -s "$t/port" ] && [ $i -lt 100 ] && kill -0 $pid 2> /dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	url=http://127.0.0.1:$(cat "$t/port" 2> /dev/null)
	api() { # api PATH DESC JQ-EXPR
		if curl -sS --max-time 20 "$url$1" > "$t/body" 2> "$t/err" &&
			jq -e "$3" "$t/body" > /dev/null 2>&1; then
			ok "API $1: $2"
		else
			bad "API $1: $2 ($3)"
			sed 's/^/    /' "$t/err" "$t/body" "$t/daemon.log"
		fi
	}
	api "/api/v1/sweep?run=$CRASHY" "every cycle at its offset, 14 failures per consumer" \
		'(.consumers | length) == 2 and all(.consumers[];
		  ([.buckets[].n] | add) == 20 and ([.buckets[].failures] | add) == 14 and
		  ([.buckets[].outcomes.crash] | add) == 12)'
	api "/api/v1/trend?consumer=decon&metric=crash" "crashy's 12 of 20, stock's 0 of 20" \
		'[.points[] | [.kernel.label, .k, .n]] == [["stock", 0, 20], ["crashy", 12, 20]]'
	api "/api/v1/compare?base=stock&head=crashy" "a regression" '.verdict == "regression"'
	kill $pid 2> /dev/null
	wait $pid 2> /dev/null
else
	echo "# skipped the API checks (no probestormd, curl or jq)"
fi

# A database of schema 6 with the same recording: death cycles without observations and,
# as an older guest streamed them, without sweep value; agg_outcomes as 004 kept it.
before=$(q "SELECT group_concat(run_id || device || swept || sweep_value || outcome || n, ' ')
            FROM (SELECT * FROM agg_outcomes ORDER BY 1, 2, 3, 4, 5)")
q "DELETE FROM observations WHERE cycle_id IN (SELECT id FROM cycles WHERE outcome IN
	('crash', 'hang'));
   UPDATE cycles SET sweep_value = NULL WHERE outcome IN ('crash', 'hang');
   DELETE FROM agg_outcomes;
   INSERT INTO agg_outcomes (run_id, device, swept, sweep_value, outcome, n)
	SELECT c.run_id, o.device, c.sweep_value IS NOT NULL, IFNULL(c.sweep_value, 0),
	       o.outcome, COUNT(*)
	FROM observations o JOIN cycles c ON c.id = o.cycle_id
	WHERE o.consumer = 1 GROUP BY 1, 2, 3, 4, 5;
   ALTER TABLE runs DROP COLUMN consumers;
   ALTER TABLE inflight DROP COLUMN sweep_value;
   ALTER TABLE inflight DROP COLUMN boot_id;
   ALTER TABLE cycles DROP COLUMN boot_id;
   ALTER TABLE runs DROP COLUMN status_reason;
   PRAGMA user_version = 6;"
check "schema 6 without the death cycles' observations: no crash counted" \
	$([ "$(q "SELECT COUNT(*) FROM agg_outcomes WHERE outcome IN ('crash', 'hang')")" = 0 ]
	  echo $?)
run migrated 1 compare --base stock --head crashy
check "schema 007 migrated it" $([ "$(q 'PRAGMA user_version')" -ge 7 ]; echo $?)
after=$(q "SELECT group_concat(run_id || device || swept || sweep_value || outcome || n, ' ')
           FROM (SELECT * FROM agg_outcomes ORDER BY 1, 2, 3, 4, 5)")
check "the backfill gives back the counts of the recording (sweep values included)" \
	$([ -n "$before" ] && [ "$before" = "$after" ]; echo $?)
agg_check "migrated"
cmp -s "$t/compare" "$t/migrated" && ok "compare after the migration: the same output" ||
	{ bad "compare after the migration differs"; diff -u "$t/compare" "$t/migrated" | sed 's/^/    /'; }

# import --pstore-root DIR: the records the next boot found (DIR/sys/fs/pstore, as the kit
# unpacks them) go into the crash cycle as events of that next boot. They are read from DIR
# whatever PROBESTORM_SYSROOT says (the kernel root is not swapped for it).
mkdir -p "$t/ps/sys/fs/pstore"
printf 'Internal error: Oops: 96000045 [#1] SMP\nKernel panic - not syncing: Oops: Fatal exception\n' \
	> "$t/ps/sys/fs/pstore/dmesg-ramoops-0"
PROBESTORM_SYSROOT=$t/nowhere timeout 30 "$ps" --database "$t/db2" import --died crash \
	--console "$t/console.log" --pstore-root "$t/ps/" "$t/boot-00-crash.ndjson" \
	> /dev/null 2> "$t/err" || { bad "import --pstore-root"; sed 's/^/    /' "$t/err"; }
check "import --pstore-root: the crash cycle holds the console panic and the pstore panic of boot 1" \
	$([ "$(sqlite3 -batch -noheader "$t/db2" "SELECT e.source, e.class, e.boot
	       FROM events e JOIN cycles c ON c.id = e.cycle_id
	       WHERE c.seq = 0 AND c.outcome = 'crash' ORDER BY e.source" | tr '\n' ' ')" = \
	    "console|panic|0 pstore|panic|1 " ]; echo $?)
exit $fail
