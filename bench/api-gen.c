/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/api-gen: synthetic campaign results for bench/api. Two kernels labelled "base"
 * and "head", RUNS runs each, CYCLES cycles in all, every cycle with the actions,
 * observations (a consumer and a supplier) and EVENTS kernel events a real rebind-race
 * cycle records, outcomes drawn from a fixed-seed generator (base 5% late_iommu_probe,
 * head 8%, a few no_iommu), latencies spread like the QEMU kit's, a 20-step sweep.
 *
 *   api-gen --database FILE [--cycles N] [--events E] [--runs R] [--batch B]
 *       records through the real db API (db_run_insert, db_cycle_insert: the code bundle
 *       import runs per cycle), one transaction per B cycles, and prints the ingest rate
 *       (--cache-mb M sets PRAGMA cache_size for an A/B run: how much of the time is
 *       SQLite spilling its 2 MB default page cache to the WAL in mid-transaction;
 *       --pragma "temp_store = MEMORY" likewise for the per-cycle savepoint's
 *       sub-journal, a temporary file by default)
 *   api-gen --bare --database FILE [--cycles N] [--events E] [--runs R] [--batch B]
 *       records the same rows by bare SQLite, the yardstick for the line above: the
 *       tables the ingest writes, created from the migrated schema's own CREATE TABLE
 *       text (columns, keys, REFERENCES and CHECKs as probestorm has them) but none of its
 *       triggers or CREATE INDEX; one prepared INSERT per table, plain INSERTs (no
 *       duplicate checks, no per-cycle savepoint); db_open's pragmas and process-wide
 *       SQLite configuration; one transaction per B cycles. Prints the rate like above.
 *   api-gen --ndjson [--cycles N] [--events E] [--runs R]
 *       writes the same data as an NDJSON bundle to stdout, for `probestorm import -`
 *
 * Exit 0, or 2 with a message on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "bundle.h"
#include "db.h"
#include "macro.h"
#include "model.h"
#include "stats.h"
#include "util.h"

#define MAX_EVENTS 64

static int64_t arg_cycles = 1000000, arg_events = 10, arg_runs = 5, arg_batch = 1000;
static int64_t arg_cache_mb; /* 0: db_open's default; else PRAGMA cache_size (A/B only) */
static const char
	*arg_pragma; /* one more PRAGMA (A/B runs), e.g. "temp_store = MEMORY" */
static const char *arg_database;
static int arg_ndjson, arg_bare;

static void print_rate(int64_t n, int64_t t)
{
	printf("ingest: %" PRId64 " cycles, %" PRId64
	       " events in %.1f s: %.0f cycles/s, %.0f events/s\n",
	       n, n * arg_events, (double)t / 1e9, (double)n / ((double)t / 1e9),
	       (double)(n * arg_events) / ((double)t / 1e9));
}

static void run_make(struct run_record *r, int kernel, int run)
{
	static char started[32];

	memset(r, 0, sizeof(*r));
	snprintf(r->uuid, sizeof(r->uuid), "%08x-0000-4000-8000-%012x",
		 (unsigned)(0xbe000000u + (unsigned)kernel), (unsigned)run);
	snprintf(started, sizeof(started), "2026-11-%02dT01:00:00Z", 1 + run % 28);
	r->campaign = (char *)"nightly";
	r->scenario = (char *)"rebind-race";
	r->target = (char *)"bench-rig";
	r->target_kind = (char *)"local";
	r->hostname = (char *)"bench";
	r->sweep_var = (char *)"offset";
	r->cycles_planned = 0;
	r->started_at = started;
	r->finished_at = started;
	r->status = (char *)"finished";
	r->kernel.release = (char *)"7.3.4-bench";
	r->kernel.version = (char *)"#1 SMP PREEMPT";
	r->kernel.cmdline = (char *)"console=ttyAMA0 fw_devlink=permissive";
	r->kernel.label = (char *)(kernel ? "head" : "base");
}

struct gen {
	struct stats_rng rng;
	struct cycle_record c;
	struct action_record actions[4];
	struct observation obs[2];
	struct kernel_event events[MAX_EVENTS];
	char msg[MAX_EVENTS][96];
};

static void gen_init(struct gen *g)
{
	static const char *const verbs_args[4][2] = {
		{ "unbind", "decon" },
		{ "unbind", "sysmmu-b" },
		{ "bind", "sysmmu-b" },
		{ "bind", "decon" },
	};

	memset(g, 0, sizeof(*g));
	stats_rng_seed(&g->rng, 0x62656e6368ULL);
	for (int i = 0; i < 4; i++)
		g->actions[i] = (struct action_record){
			.idx = i,
			.group = i >= 2 ? 2 : -1,
			.verb = (enum step_verb)step_verb_from_string(verbs_args[i][0]),
			.arg = (char *)verbs_args[i][1],
		};
	g->obs[0] = (struct observation){ .device = (char *)"decon",
					  .consumer = true,
					  .driver = (char *)"ps-decon",
					  .domain_type = (char *)"identity" };
	g->obs[1] = (struct observation){ .device = (char *)"sysmmu-b",
					  .driver = (char *)"ps-sysmmu",
					  .iommu_group = -1,
					  .time_to_bound_ns = -1 };
	for (int i = 0; i < MAX_EVENTS; i++)
		g->events[i] = (struct kernel_event){ .source = SOURCE_KMSG,
						      .class = EVENT_INFO,
						      .prio = 6,
						      .device = (char *)"platform:decon",
						      .message = g->msg[i] };
	g->c.actions = g->actions;
	g->c.n_actions = 4;
	g->c.observations = g->obs;
	g->c.n_observations = 2;
	g->c.events = g->events;
	g->c.has_sweep = true;
}

/* Cycle seq of a run of kernel (0 base, 1 head). */
static void gen_cycle(struct gen *g, int kernel, int64_t seq)
{
	uint64_t u = stats_rng_below(&g->rng, 1000);
	int64_t t0 = 1000000000LL + seq * 300000000LL;
	int64_t ttb = 2000000 + (int64_t)stats_rng_below(&g->rng, 20000000) +
		      (kernel ? 500000 : 0);
	enum outcome o = OUTCOME_OK;

	if (u < (kernel ? 80u : 50u))
		o = OUTCOME_LATE_IOMMU_PROBE;
	else if (u < (kernel ? 85u : 52u))
		o = OUTCOME_NO_IOMMU;
	else if (u < 300)
		o = OUTCOME_DEFERRED_OK;
	g->c.seq = seq;
	g->c.sweep_value = (seq % 20) * 12000;
	g->c.start_ns = t0;
	g->c.end_ns = t0 + 250000000;
	g->c.outcome = o;
	for (int i = 0; i < 4; i++) {
		g->actions[i].start_ns = t0 + i * 1000000;
		g->actions[i].end_ns = t0 + i * 1000000 + 100000 +
				       (int64_t)stats_rng_below(&g->rng, 900000);
	}
	g->obs[0].iommu_group = o == OUTCOME_NO_IOMMU ? -1 : 16;
	g->obs[0].time_to_bound_ns = ttb;
	g->obs[0].outcome = o;
	g->obs[0].deferrals = o == OUTCOME_DEFERRED_OK;
	g->obs[1].outcome = OUTCOME_OK;
	g->c.n_events = (size_t)arg_events;
	for (int64_t i = 0; i < arg_events; i++) {
		struct kernel_event *e = &g->events[i];

		e->seq = seq * arg_events + i;
		e->ts_ns = t0 + i * 1000;
		snprintf(g->msg[i], sizeof(g->msg[i]),
			 "ps-decon decon: probe of decon returned %d after %" PRId64
			 " usecs",
			 i == 0 && o != OUTCOME_OK ? -517 : 0, ttb / 1000);
	}
}

static int emit_ndjson(void)
{
	struct gen *g = malloc(sizeof(*g));
	int64_t per_run = arg_cycles / (2 * arg_runs);

	if (!g)
		return -ENOMEM;
	gen_init(g);
	for (int k = 0; k < 2; k++)
		for (int run = 0; run < arg_runs; run++) {
			struct run_record r;
			json_t *j = NULL;
			int rc;

			run_make(&r, k, k * (int)arg_runs + run);
			if (bundle_run_to_json(&r, &j) < 0 ||
			    bundle_write_line(stdout, j) < 0)
				return -EIO;
			json_decref(j);
			for (int64_t s = 0; s < per_run; s++) {
				gen_cycle(g, k, s);
				rc = bundle_cycle_to_json(r.uuid, &g->c, &j);
				if (rc < 0)
					return rc;
				/* one write per line; bundle_write_line flushes each */
				if (json_dumpf(j, stdout, JSON_COMPACT) < 0 ||
				    putchar('\n') == EOF)
					return -EIO;
				json_decref(j);
			}
			if (bundle_end_to_json(r.uuid, "finished", NULL, r.started_at,
					       NULL, &j) < 0 ||
			    bundle_write_line(stdout, j) < 0)
				return -EIO;
			json_decref(j);
		}
	free(g);
	return fflush(stdout) == 0 ? 0 : -EIO;
}

static int record(void)
{
	struct gen *g = malloc(sizeof(*g));
	int64_t per_run = arg_cycles / (2 * arg_runs), n = 0, t0, t;
	struct db *db = NULL;
	int r;

	if (!g)
		return -ENOMEM;
	gen_init(g);
	r = db_open(arg_database, 0, &db);
	if (r < 0) {
		free(g);
		return r;
	}
	if (arg_cache_mb > 0) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%" PRId64,
			 arg_cache_mb * 1024);
		if (sqlite3_exec(db_sqlite(db), sql, NULL, NULL, NULL) != SQLITE_OK)
			r = -EIO;
	}
	if (arg_pragma && r >= 0) {
		char sql[128];

		snprintf(sql, sizeof(sql), "PRAGMA %s", arg_pragma);
		if (sqlite3_exec(db_sqlite(db), sql, NULL, NULL, NULL) != SQLITE_OK)
			r = -EINVAL;
	}
	t0 = now_ns();
	for (int k = 0; k < 2 && r >= 0; k++)
		for (int run = 0; run < arg_runs && r >= 0; run++) {
			struct run_record rr;
			int64_t run_id;

			run_make(&rr, k, k * (int)arg_runs + run);
			rr.cycles_planned = per_run;
			r = db_run_insert(db, &rr, &run_id);
			for (int64_t s = 0, in_tx = 0; s < per_run && r >= 0; s++) {
				if (!in_tx) {
					r = db_begin(db);
					in_tx = r >= 0;
				}
				gen_cycle(g, k, s);
				if (r >= 0)
					r = db_cycle_insert(db, run_id, &g->c, NULL);
				n++;
				if (r >= 0 && (n % arg_batch == 0 || s + 1 == per_run)) {
					r = db_commit(db);
					in_tx = 0;
				}
			}
		}
	t = now_ns() - t0;
	if (r < 0)
		fprintf(stderr, "api-gen: %s (%s)\n", strerror(-r), db_errmsg(db));
	else
		print_rate(n, t);
	db_close(db);
	free(g);
	return r;
}

/* ---- the same rows by bare SQLite ---------------------------------------------------- */

/* The tables db_run_insert and db_cycle_insert write; agg_* are written by triggers only. */
static const char *const bare_tables[] = { "kernels", "targets",      "runs",  "cycles",
					   "actions", "observations", "events" };

enum bare_stmt {
	BARE_RUN,
	BARE_CYCLE,
	BARE_ACTION,
	BARE_OBSERVATION,
	BARE_EVENT,
	_BARE_MAX
};

static const char *const bare_sql[_BARE_MAX] = {
	[BARE_RUN] =
		"INSERT INTO runs (uuid, kernel_id, target_id, campaign, scenario, "
		"sweep_var, cycles_planned, started_at, finished_at, status, hostname) "
		"VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[BARE_CYCLE] =
		"INSERT INTO cycles (run_id, seq, boot, sweep_value, start_ns, end_ns, "
		"outcome, deferrals, note, boot_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
		"?7, ?8, ?9, ?10)",
	[BARE_ACTION] =
		"INSERT INTO actions (cycle_id, idx, grp, verb, arg, params, "
		"offset_us, start_ns, end_ns, err, hung, state, planned_ns) VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[BARE_OBSERVATION] =
		"INSERT INTO observations (cycle_id, device, consumer, driver, "
		"iommu_group, domain_type, time_to_bound_ns, deferrals, "
		"deferred_reason, outcome) VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[BARE_EVENT] = "INSERT INTO events (run_id, cycle_id, boot, source, class, seq, "
		       "ts_ns, prio, device, message, detail) VALUES "
		       "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
};

struct bare {
	sqlite3 *h;
	sqlite3_stmt *s[_BARE_MAX];
};

static void bare_done(struct bare *b)
{
	for (size_t i = 0; i < _BARE_MAX; i++)
		sqlite3_finalize(b->s[i]);
	sqlite3_close_v2(b->h);
}

/* Every SQLite failure is an error here; its message goes to stderr once, at the top. */
static int bare_exec(struct bare *b, const char *sql)
{
	return sqlite3_exec(b->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC)
		 : sqlite3_bind_null(s, i);
}

static int bind_int_or_null(sqlite3_stmt *s, int i, int64_t v, bool null)
{
	return null ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

static int bare_step(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/*
 * The CREATE TABLE statements of the tables above as the migrations leave them (ALTERs
 * included), read from a scratch database that db_open() created and migrated: the bare
 * tables follow the schema without a copy of it here. Returns a malloc'd script.
 */
static int bare_schema_read(const char *scratch, char **ret)
{
	struct db *db = NULL;
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	char *script = NULL;
	size_t len = 0;
	int r;

	r = db_open(scratch, 0, &db);
	db_close(db);
	if (r < 0)
		return r;
	if (sqlite3_open_v2(scratch, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		    h, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
		    -1, &s, NULL) != SQLITE_OK)
		r = -EIO;
	for (size_t i = 0; i < ARRAY_SIZE(bare_tables) && r >= 0; i++) {
		const char *sql;
		char *p;

		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, bare_tables[i], -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_ROW ||
		    !(sql = (const char *)sqlite3_column_text(s, 0))) {
			r = -ENOENT;
			break;
		}
		p = realloc(script, len + strlen(sql) + 3);
		if (!p) {
			r = -ENOMEM;
			break;
		}
		script = p;
		len += (size_t)sprintf(script + len, "%s;\n", sql);
	}
	sqlite3_finalize(s);
	sqlite3_close_v2(h);
	if (r < 0) {
		free(script);
		return r;
	}
	*ret = script;
	return 0;
}

static void bare_scratch_remove(const char *scratch)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		_cleanup_free_ char *f = NULL;

		if (asprintf(&f, "%s%s", scratch, suffixes[i]) >= 0)
			(void)unlink(f);
	}
}

static int bare_open(struct bare *b, const char *path)
{
	_cleanup_free_ char *scratch = NULL, *script = NULL;
	int r;

	if (arg_cache_mb > 0 || arg_pragma)
		return -EINVAL; /* A/B knobs of the db API path only */
	if (asprintf(&scratch, "%s.schema", path) < 0)
		return -ENOMEM;
	/* db_open() also applies probestorm's process-wide SQLite configuration (memory
	 * statistics off), before anything below initialises SQLite */
	r = bare_schema_read(scratch, &script);
	bare_scratch_remove(scratch);
	if (r < 0)
		return r;
	if (sqlite3_open_v2(path, &b->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_extended_result_codes(b->h, 1);
	sqlite3_busy_timeout(b->h, 5000);
	/* db_open()'s pragmas, in its order */
	if (bare_exec(b, "PRAGMA foreign_keys = ON") < 0 ||
	    bare_exec(b, "PRAGMA journal_mode = WAL") < 0 ||
	    bare_exec(b, "PRAGMA synchronous = NORMAL") < 0 ||
	    bare_exec(b, "PRAGMA temp_store = MEMORY") < 0)
		return -EIO;
	if (bare_exec(b, "BEGIN IMMEDIATE") < 0 || bare_exec(b, script) < 0 ||
	    bare_exec(b, "INSERT INTO kernels (release, version, cmdline, label) VALUES "
			 "('7.3.4-bench', '#1 SMP PREEMPT', "
			 "'console=ttyAMA0 fw_devlink=permissive', 'base'), "
			 "('7.3.4-bench', '#1 SMP PREEMPT', "
			 "'console=ttyAMA0 fw_devlink=permissive', 'head')") < 0 ||
	    bare_exec(b,
		      "INSERT INTO targets (name, kind) VALUES ('bench-rig', 'local')") <
		    0 ||
	    bare_exec(b, "COMMIT") < 0)
		return -EIO;
	for (size_t i = 0; i < _BARE_MAX; i++)
		if (sqlite3_prepare_v2(b->h, bare_sql[i], -1, &b->s[i], NULL) !=
		    SQLITE_OK)
			return -EIO;
	return 0;
}

static int bare_run_insert(struct bare *b, const struct run_record *rr, int kernel,
			   int64_t *ret_id)
{
	sqlite3_stmt *s = b->s[BARE_RUN];

	if (bind_text(s, 1, rr->uuid) || sqlite3_bind_int64(s, 2, kernel + 1) ||
	    bind_text(s, 3, rr->campaign) || bind_text(s, 4, rr->scenario) ||
	    bind_text(s, 5, rr->sweep_var) ||
	    sqlite3_bind_int64(s, 6, rr->cycles_planned) ||
	    bind_text(s, 7, rr->started_at) || bind_text(s, 8, rr->finished_at) ||
	    bind_text(s, 9, rr->status) || bind_text(s, 10, rr->hostname) ||
	    bare_step(s) < 0)
		return -EIO;
	*ret_id = sqlite3_last_insert_rowid(b->h);
	return 0;
}

/* db_cycle_insert's rows and values, its NULL conventions included. */
static int bare_cycle_insert(struct bare *b, int64_t run_id, const struct cycle_record *c)
{
	sqlite3_stmt *s = b->s[BARE_CYCLE];
	int64_t cycle_id;

	if (sqlite3_bind_int64(s, 1, run_id) || sqlite3_bind_int64(s, 2, c->seq) ||
	    sqlite3_bind_int64(s, 3, c->boot) ||
	    bind_int_or_null(s, 4, c->sweep_value, !c->has_sweep) ||
	    sqlite3_bind_int64(s, 5, c->start_ns) ||
	    sqlite3_bind_int64(s, 6, c->end_ns) ||
	    bind_text(s, 7, outcome_to_string(c->outcome)) ||
	    sqlite3_bind_int64(s, 8, c->deferrals) || bind_text(s, 9, c->note) ||
	    bind_text(s, 10, c->boot_id) || bare_step(s) < 0)
		return -EIO;
	cycle_id = sqlite3_last_insert_rowid(b->h);

	s = b->s[BARE_ACTION];
	for (size_t i = 0; i < c->n_actions; i++) {
		const struct action_record *a = &c->actions[i];
		const char *state = a->hung	   ? "hung"
				    : !a->start_ns ? "pending"
				    : !a->end_ns   ? "running"
						   : "done";

		if (sqlite3_bind_int64(s, 1, cycle_id) ||
		    sqlite3_bind_int64(s, 2, a->idx) ||
		    sqlite3_bind_int64(s, 3, a->group) ||
		    bind_text(s, 4, step_verb_to_string(a->verb)) ||
		    bind_text(s, 5, a->arg) || bind_text(s, 6, a->params) ||
		    sqlite3_bind_int64(s, 7, a->offset_us) ||
		    sqlite3_bind_int64(s, 8, a->start_ns) ||
		    bind_int_or_null(s, 9, a->end_ns, a->end_ns == 0) ||
		    sqlite3_bind_int64(s, 10, a->err) ||
		    sqlite3_bind_int64(s, 11, a->hung) || bind_text(s, 12, state) ||
		    bind_int_or_null(s, 13, a->planned_ns, a->planned_ns == 0) ||
		    bare_step(s) < 0)
			return -EIO;
	}

	s = b->s[BARE_OBSERVATION];
	for (size_t i = 0; i < c->n_observations; i++) {
		const struct observation *o = &c->observations[i];

		if (sqlite3_bind_int64(s, 1, cycle_id) || bind_text(s, 2, o->device) ||
		    sqlite3_bind_int64(s, 3, o->consumer) || bind_text(s, 4, o->driver) ||
		    bind_int_or_null(s, 5, o->iommu_group, o->iommu_group < 0) ||
		    bind_text(s, 6, o->domain_type) ||
		    bind_int_or_null(s, 7, o->time_to_bound_ns,
				     o->time_to_bound_ns < 0) ||
		    sqlite3_bind_int64(s, 8, o->deferrals) ||
		    bind_text(s, 9, o->deferred_reason) ||
		    bind_text(s, 10, outcome_to_string(o->outcome)) || bare_step(s) < 0)
			return -EIO;
	}

	s = b->s[BARE_EVENT];
	for (size_t i = 0; i < c->n_events; i++) {
		const struct kernel_event *e = &c->events[i];

		if (sqlite3_bind_int64(s, 1, run_id) ||
		    sqlite3_bind_int64(s, 2, cycle_id) ||
		    sqlite3_bind_int64(s, 3, e->boot) ||
		    bind_text(s, 4, event_source_to_string(e->source)) ||
		    bind_text(s, 5, event_class_to_string(e->class)) ||
		    sqlite3_bind_int64(s, 6, e->seq) ||
		    sqlite3_bind_int64(s, 7, e->ts_ns) ||
		    bind_int_or_null(s, 8, e->prio, e->prio < 0) ||
		    bind_text(s, 9, e->device) || bind_text(s, 10, e->message) ||
		    bind_text(s, 11, e->detail) || bare_step(s) < 0)
			return -EIO;
	}
	return 0;
}

/* record()'s loop, transaction boundaries included, on bare SQLite. */
static int record_bare(void)
{
	_cleanup_free_ struct gen *g = malloc(sizeof(*g));
	int64_t per_run = arg_cycles / (2 * arg_runs), n = 0, t0, t;
	struct bare b = {};
	int r;

	if (!g)
		return -ENOMEM;
	gen_init(g);
	r = bare_open(&b, arg_database);
	t0 = now_ns();
	for (int k = 0; k < 2 && r >= 0; k++)
		for (int run = 0; run < arg_runs && r >= 0; run++) {
			struct run_record rr;
			int64_t run_id;

			run_make(&rr, k, k * (int)arg_runs + run);
			rr.cycles_planned = per_run;
			r = bare_run_insert(&b, &rr, k, &run_id);
			for (int64_t s = 0, in_tx = 0; s < per_run && r >= 0; s++) {
				if (!in_tx) {
					r = bare_exec(&b, "BEGIN IMMEDIATE");
					in_tx = r >= 0;
				}
				gen_cycle(g, k, s);
				if (r >= 0)
					r = bare_cycle_insert(&b, run_id, &g->c);
				n++;
				if (r >= 0 && (n % arg_batch == 0 || s + 1 == per_run)) {
					r = bare_exec(&b, "COMMIT");
					in_tx = 0;
				}
			}
		}
	t = now_ns() - t0;
	if (r < 0)
		fprintf(stderr, "api-gen --bare: %s (%s)\n", strerror(-r),
			b.h ? sqlite3_errmsg(b.h) : "no database");
	else
		print_rate(n, t);
	bare_done(&b);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "database", required_argument, NULL, 'd' },
		{ "cycles", required_argument, NULL, 'n' },
		{ "events", required_argument, NULL, 'e' },
		{ "runs", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "ndjson", no_argument, NULL, 'N' },
		{ "bare", no_argument, NULL, 'B' },
		{ "cache-mb", required_argument, NULL, 'c' },
		{ "pragma", required_argument, NULL, 'p' },
		{}
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "d:n:e:r:b:NBc:p:", opts, NULL)) >= 0) {
		int64_t *dst = c == 'n'	  ? &arg_cycles
			       : c == 'e' ? &arg_events
			       : c == 'r' ? &arg_runs
			       : c == 'b' ? &arg_batch
			       : c == 'c' ? &arg_cache_mb
					  : NULL;

		if (c == 'd')
			arg_database = optarg;
		else if (c == 'p')
			arg_pragma = optarg;
		else if (c == 'N')
			arg_ndjson = 1;
		else if (c == 'B')
			arg_bare = 1;
		else if (!dst || parse_int64(optarg, c == 'e' || c == 'c' ? 0 : 1,
					     c == 'e' ? MAX_EVENTS : INT64_C(100000000),
					     dst) < 0) {
			fprintf(stderr, "api-gen: bad option (see bench/api-gen.c)\n");
			return 2;
		}
	}
	if (!arg_ndjson && !arg_database) {
		fprintf(stderr, "api-gen: give --database FILE or --ndjson\n");
		return 2;
	}
	r = arg_ndjson ? emit_ndjson() : arg_bare ? record_bare() : record();
	if (r < 0) {
		fprintf(stderr, "api-gen: failed: %s\n", strerror(-r));
		return 2;
	}
	return 0;
}
