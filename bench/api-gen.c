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
#include "model.h"
#include "stats.h"
#include "util.h"

#define MAX_EVENTS 64

static int64_t arg_cycles = 1000000, arg_events = 10, arg_runs = 5, arg_batch = 1000;
static int64_t arg_cache_mb; /* 0: db_open's default; else PRAGMA cache_size (A/B only) */
static const char
	*arg_pragma; /* one more PRAGMA (A/B runs), e.g. "temp_store = MEMORY" */
static const char *arg_database;
static int arg_ndjson;

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
		printf("ingest: %" PRId64 " cycles, %" PRId64
		       " events in %.1f s: %.0f cycles/s, %.0f events/s\n",
		       n, n * arg_events, (double)t / 1e9, (double)n / ((double)t / 1e9),
		       (double)(n * arg_events) / ((double)t / 1e9));
	db_close(db);
	free(g);
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
		{ "cache-mb", required_argument, NULL, 'c' },
		{ "pragma", required_argument, NULL, 'p' },
		{}
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "d:n:e:r:b:Nc:p:", opts, NULL)) >= 0) {
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
	r = arg_ndjson ? emit_ndjson() : record();
	if (r < 0) {
		fprintf(stderr, "api-gen: failed: %s\n", strerror(-r));
		return 2;
	}
	return 0;
}
