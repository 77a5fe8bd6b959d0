/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of store/db.c against real SQLite databases, in memory and in a temporary
 * directory: migrations and their refusal of newer files, run and kernel deduplication,
 * a full cycle round trip through db_cycle_insert/db_cycle_load, the atomicity of a cycle
 * (duplicates and bad records leave no rows behind), the in-flight record, nested
 * transactions, the JSON query helpers, and the daemon's queries of store/db-push.c and
 * store/db-runner.c (push spool state, runs to recover). Row counts are read through a
 * second, plain SQLite connection so the tests do not trust the code under test to count.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "db-push.h"
#include "db-runner.h"
#include "db.h"
#include "macro.h"
#include "model.h"
#include "records.h"

#define UUID_A "0b7e4c1a-3f2d-4e5b-9a8c-1d2e3f405162"
#define UUID_B "7f3c2a10-9d8e-4b6a-8c5d-0e1f2a3b4c5d"
#define UUID_C "c0ffee00-1234-4abc-8def-0123456789ab"

struct fixture {
	char dir[64];
	char path[128];
	struct db *db;
};

/* ---------------------------------------------------------------- helpers */

static void make_run(struct run_record *r, const char *uuid, const char *label,
		     const char *build_id)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	r->campaign = xstrdup("nightly");
	r->scenario = xstrdup("unbind-bind-race");
	r->scenario_text = xstrdup("unbind decon\nbind sysmmu0 @0us\nbind decon @150us");
	r->target = xstrdup("qemu-virt");
	r->target_kind = xstrdup("qemu");
	r->hostname = xstrdup("rig-07");
	r->load_profile = xstrdup("cpu-heavy");
	r->load_args = xstrdup("--cpu 4 --timeout 0");
	r->load_metrics = NULL;
	r->sweep_var = xstrdup("offset_us");
	r->cycles_planned = 500;
	r->started_at = xstrdup("2026-11-24T06:00:00Z");
	r->finished_at = NULL;
	r->status = xstrdup("running");
	r->kernel.release = xstrdup("7.3.0-rc2");
	r->kernel.version = xstrdup("#1 SMP PREEMPT Mon Nov 23 2026");
	r->kernel.build_id = xstrdup(build_id);
	r->kernel.cmdline = xstrdup("console=ttyAMA0 fw_devlink=on");
	r->kernel.label = xstrdup(label);
	r->kernel.patches = xstrdup("iommu-fix@abc123");
	r->kernel.fw_devlink = xstrdup("on");
	r->kernel.deferred_probe_timeout = NULL;
}

static void make_cycle(struct cycle_record *c, int64_t seq)
{
	memset(c, 0, sizeof(*c));
	c->seq = seq;
	c->boot = 2;
	c->boot_id = seq == 0 ? xstrdup("0d3e5c64-1a7b-4c8e-9f21-5a6b7c8d9e0f") : NULL;
	c->has_sweep = true;
	c->sweep_value = 150;
	c->start_ns = 1000000000 + seq;
	c->end_ns = 1250000000 + seq;
	c->outcome = OUTCOME_LATE_IOMMU_PROBE;
	c->deferrals = 3;
	c->note = xstrdup("decon: late IOMMU probe");

	c->n_actions = 3;
	c->actions = calloc(3, sizeof(*c->actions));
	assert_non_null(c->actions);
	c->actions[0] = (struct action_record){ .idx = 0,
						.group = -1,
						.verb = STEP_UNBIND,
						.arg = xstrdup("decon"),
						.offset_us = 0,
						.start_ns = 1000000100,
						.end_ns = 1000200000 };
	c->actions[1] = (struct action_record){ .idx = 1,
						.group = 0,
						.verb = STEP_INSMOD,
						.arg = xstrdup("/lib/modules/sysmmu.ko"),
						.params = xstrdup("delay_ms=5"),
						.offset_us = 0,
						.planned_ns = 1000290000,
						.start_ns = 1000300000,
						.end_ns = 1000900000,
						.err = EEXIST };
	c->actions[2] = (struct action_record){ .idx = 2,
						.group = 0,
						.verb = STEP_BIND,
						.arg = xstrdup("decon"),
						.offset_us = 150,
						/* 10 µs late, 1 µs more each cycle */
						.planned_ns = 1000440000 - seq * 1000,
						.start_ns = 1000450000,
						.end_ns = 0,
						.hung = true };

	c->n_observations = 2;
	c->observations = calloc(2, sizeof(*c->observations));
	assert_non_null(c->observations);
	c->observations[0] = (struct observation){ .device = xstrdup("decon"),
						   .consumer = true,
						   .driver = xstrdup("exynos-decon"),
						   .iommu_group = 4,
						   .domain_type = xstrdup("DMA"),
						   .time_to_bound_ns = 2500000,
						   .deferrals = 2,
						   .deferred_reason = xstrdup(
							   "wait for supplier sysmmu0"),
						   .outcome = OUTCOME_LATE_IOMMU_PROBE };
	c->observations[1] = (struct observation){ .device = xstrdup("sysmmu0"),
						   .consumer = false,
						   .driver = NULL,
						   .iommu_group = -1,
						   .domain_type = NULL,
						   .time_to_bound_ns = -1,
						   .deferrals = 0,
						   .deferred_reason = NULL,
						   .outcome = OUTCOME_UNBOUND };

	c->n_events = 3;
	c->events = calloc(3, sizeof(*c->events));
	assert_non_null(c->events);
	c->events[0] =
		(struct kernel_event){ .source = SOURCE_KMSG,
				       .class = EVENT_MARKER,
				       .seq = 1000 + seq * 10,
				       .ts_ns = 1000000050,
				       .prio = 6,
				       .boot = 2,
				       .device = NULL,
				       .message = xstrdup("probestorm: cycle begin"),
				       .detail = NULL };
	c->events[1] = (struct kernel_event){
		.source = SOURCE_KMSG,
		.class = EVENT_LATE_IOMMU_PROBE,
		.seq = 1001 + seq * 10,
		.ts_ns = 1000500000,
		.prio = 4,
		.boot = 2,
		.device = xstrdup("platform:decon"),
		.message =
			xstrdup("late IOMMU probe at driver bind, something fishy here!"),
		.detail = xstrdup("Call trace:\n __iommu_probe_device+0x1c/0x2a0")
	};
	c->events[2] =
		(struct kernel_event){ .source = SOURCE_UEVENT,
				       .class = EVENT_UEVENT,
				       .seq = 77 + seq,
				       .ts_ns = 1000600000,
				       .prio = -1,
				       .boot = 2,
				       .device = xstrdup("platform:decon"),
				       .message = xstrdup("bind@/devices/platform/decon"),
				       .detail = NULL };
}

static void assert_kernel_equal(const struct kernel_identity *a,
				const struct kernel_identity *b)
{
	assert_str_or_null_equal(a->release, b->release);
	assert_str_or_null_equal(a->version, b->version);
	assert_str_or_null_equal(a->build_id, b->build_id);
	assert_str_or_null_equal(a->cmdline, b->cmdline);
	assert_str_or_null_equal(a->label, b->label);
	assert_str_or_null_equal(a->patches, b->patches);
	assert_str_or_null_equal(a->fw_devlink, b->fw_devlink);
	assert_str_or_null_equal(a->deferred_probe_timeout, b->deferred_probe_timeout);
}

static void assert_run_equal(const struct run_record *a, const struct run_record *b)
{
	assert_string_equal(a->uuid, b->uuid);
	assert_str_or_null_equal(a->campaign, b->campaign);
	assert_str_or_null_equal(a->scenario, b->scenario);
	assert_str_or_null_equal(a->scenario_text, b->scenario_text);
	assert_str_or_null_equal(a->target, b->target);
	assert_str_or_null_equal(a->target_kind, b->target_kind);
	assert_str_or_null_equal(a->hostname, b->hostname);
	assert_str_or_null_equal(a->load_profile, b->load_profile);
	assert_str_or_null_equal(a->load_args, b->load_args);
	assert_str_or_null_equal(a->load_metrics, b->load_metrics);
	assert_str_or_null_equal(a->sweep_var, b->sweep_var);
	assert_int_equal(a->cycles_planned, b->cycles_planned);
	assert_str_or_null_equal(a->started_at, b->started_at);
	assert_str_or_null_equal(a->finished_at, b->finished_at);
	assert_str_or_null_equal(a->status, b->status);
	assert_kernel_equal(&a->kernel, &b->kernel);
}

/* Counts through an independent connection: committed state only. */
static char *text_sql(const char *path, const char *sql)
{
	sqlite3 *s = NULL;
	sqlite3_stmt *st = NULL;
	char *t;

	assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	t = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(s);
	return t;
}

/* "runs/kernels/targets/cycles/actions/observations/events/inflight" */
static void counts(const char *path, int64_t n[8])
{
	static const char *const tables[8] = { "runs",	 "kernels", "targets",
					       "cycles", "actions", "observations",
					       "events", "inflight" };
	for (int i = 0; i < 8; i++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", tables[i]);
		n[i] = count_sql(path, sql);
	}
}

static int insert_run(struct db *db, const char *uuid, const char *label,
		      const char *build_id, int64_t *ret_id)
{
	struct run_record r;
	int ret;

	make_run(&r, uuid, label, build_id);
	ret = db_run_insert(db, &r, ret_id);
	run_record_done(&r);
	return ret;
}

static int setup_file(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-db.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/probestorm.db", f->dir);
	assert_int_equal(db_open(f->path, 0, &f->db), 0);
	*state = f;
	return 0;
}

static int teardown_file(void **state)
{
	struct fixture *f = *state;
	char p[160];

	db_close(f->db);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_open_memory(void **state)
{
	struct db *db = NULL;
	int64_t id;

	(void)state;
	assert_int_equal(db_open(":memory:", 0, &db), 0);
	assert_non_null(db);
	assert_int_equal(db_schema_version(db),
			 db_migrations[db_n_migrations - 1].version);
	assert_int_equal(insert_run(db, UUID_A, "stock", NULL, &id), 0);
	assert_true(id > 0);
	db_close(db);
	db_close(NULL);
}

static void test_open_file_migration_idempotent(void **state)
{
	struct fixture *f = *state;
	int64_t before[8], after[8], id;
	char *mode;

	assert_int_equal(db_schema_version(f->db),
			 db_migrations[db_n_migrations - 1].version);
	mode = text_sql(f->path, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM sqlite_master "
					    "WHERE name IN ('v_cycle_outcomes', "
					    "'v_observation_outcomes', 'inflight')"),
			 3);
	assert_int_equal(insert_run(f->db, UUID_A, "stock", NULL, &id), 0);
	counts(f->path, before);
	db_close(f->db);
	f->db = NULL;

	/* Reopening applies nothing twice and keeps the data. */
	assert_int_equal(db_open(f->path, 0, &f->db), 0);
	assert_int_equal(db_schema_version(f->db),
			 db_migrations[db_n_migrations - 1].version);
	counts(f->path, after);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(db_run_find(f->db, UUID_A, &id), 0);

	/* Read-only open of a current database works and refuses writes. */
	{
		struct db *ro = NULL;

		assert_int_equal(db_open(f->path, DB_READONLY, &ro), 0);
		assert_int_equal(db_run_find(ro, UUID_A, NULL), 0);
		assert_int_equal(insert_run(ro, UUID_B, "stock", NULL, NULL), -EROFS);
		assert_true(strlen(db_errmsg(ro)) > 0);
		db_close(ro);
	}
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct db *db = (struct db *)0x1;
	char path[160];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/missing/dir/x.db", f->dir);
	assert_int_equal(db_open(path, 0, &db), -ENOENT);
	assert_ptr_equal(db, (struct db *)0x1);
	snprintf(path, sizeof(path), "%s/absent.db", f->dir);
	assert_int_equal(db_open(path, DB_READONLY, &db), -ENOENT);

	snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	assert_int_equal(db_open(path, 0, &db), -EBADMSG);
	assert_ptr_equal(db, (struct db *)0x1);
	unlink(path);
}

static void test_newer_version_refused(void **state)
{
	struct fixture *f = *state;
	struct db *db = NULL;
	sqlite3 *s = NULL;
	char path[160], wal[170];
	char *mode;

	snprintf(path, sizeof(path), "%s/future.db", f->dir);
	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(s, "CREATE TABLE future (x); PRAGMA user_version = 9999;",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(s);

	assert_int_equal(db_open(path, 0, &db), -EPROTONOSUPPORT);
	assert_null(db);
	assert_int_equal(db_open(path, DB_READONLY, &db), -EPROTONOSUPPORT);
	assert_null(db);

	/* Nothing written: no migration, no WAL switch, no new tables. */
	assert_int_equal(count_sql(path, "PRAGMA user_version"), 9999);
	mode = text_sql(path, "PRAGMA journal_mode");
	assert_string_equal(mode, "delete");
	free(mode);
	assert_int_equal(count_sql(path, "SELECT COUNT(*) FROM sqlite_master"), 1);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(access(wal, F_OK), -1);
	unlink(path);
}

static void test_run_insert_dedupe(void **state)
{
	struct fixture *f = *state;
	struct run_record in, out;
	int64_t a, b, c, d, found, before[8], after[8];

	make_run(&in, UUID_A, "stock", "0123abcd");
	assert_int_equal(db_run_insert(f->db, &in, &a), 0);
	assert_int_equal(insert_run(f->db, UUID_B, "stock", "0123abcd", &b), 0);
	assert_true(a != b);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM kernels"), 1);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM targets"), 1);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(DISTINCT kernel_id) FROM runs"),
			 1);

	/* NULL and "" build ids are different identities; NULL matches NULL. */
	assert_int_equal(insert_run(f->db, UUID_C, "stock", NULL, &c), 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM kernels"), 2);
	assert_int_equal(insert_run(f->db, "aaaaaaaa-0000-4000-8000-000000000001",
				    "stock", NULL, &d),
			 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM kernels"), 2);
	assert_int_equal(insert_run(f->db, "aaaaaaaa-0000-4000-8000-000000000002",
				    "stock", "", &d),
			 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM kernels"), 3);
	/* Another label is another kernel even with the same build. */
	assert_int_equal(insert_run(f->db, "aaaaaaaa-0000-4000-8000-000000000003",
				    "lkml-v1", "0123abcd", &d),
			 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM kernels"), 4);

	/* Same UUID again: -EEXIST, nothing written, output untouched. */
	counts(f->path, before);
	found = -42;
	assert_int_equal(db_run_insert(f->db, &in, &found), -EEXIST);
	assert_int_equal(found, -42);
	assert_non_null(strstr(db_errmsg(f->db), UUID_A));
	counts(f->path, after);
	assert_memory_equal(before, after, sizeof(before));

	/* Missing required field and bad enum values are -EINVAL. */
	free(in.status);
	in.status = xstrdup("exploded");
	snprintf(in.uuid, sizeof(in.uuid), "%s", "bbbbbbbb-0000-4000-8000-000000000001");
	assert_int_equal(db_run_insert(f->db, &in, NULL), -EINVAL);
	free(in.status);
	in.status = xstrdup("running");
	free(in.target_kind);
	in.target_kind = xstrdup("mainframe");
	assert_int_equal(db_run_insert(f->db, &in, NULL), -EINVAL);
	free(in.target_kind);
	in.target_kind = xstrdup("qemu");
	free(in.campaign);
	in.campaign = NULL;
	assert_int_equal(db_run_insert(f->db, &in, NULL), -EINVAL);
	counts(f->path, after);
	assert_memory_equal(before, after, sizeof(before));
	in.campaign = xstrdup("nightly");
	snprintf(in.uuid, sizeof(in.uuid), "%s", UUID_A);

	/* Load gives back every field. */
	assert_int_equal(db_run_find(f->db, UUID_A, &found), 0);
	assert_int_equal(found, a);
	assert_int_equal(
		db_run_find(f->db, "ffffffff-ffff-4fff-8fff-ffffffffffff", &found),
		-ENOENT);
	assert_int_equal(db_run_load(f->db, UUID_A, &out), 0);
	assert_run_equal(&in, &out);
	run_record_done(&out);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(db_run_load(f->db, "ffffffff-ffff-4fff-8fff-ffffffffffff", &out),
			 -ENOENT);
	assert_int_equal(out.cycles_planned, (int64_t)0x5a5a5a5a5a5a5a5a);

	/* Finish. */
	assert_int_equal(db_run_finish(f->db, a, "finished", "2026-11-24T07:00:00Z",
				       "stress-ng: metrics"),
			 0);
	assert_int_equal(db_run_finish(f->db, a, "bogus", NULL, NULL), -EINVAL);
	assert_int_equal(db_run_finish(f->db, 999999, "finished", NULL, NULL), -ENOENT);
	assert_int_equal(db_run_load(f->db, UUID_A, &out), 0);
	assert_string_equal(out.status, "finished");
	assert_string_equal(out.finished_at, "2026-11-24T07:00:00Z");
	assert_string_equal(out.load_metrics, "stress-ng: metrics");
	run_record_done(&out);
	/* NULL load_metrics keeps what was recorded. */
	assert_int_equal(db_run_finish(f->db, a, "aborted", "2026-11-24T07:01:00Z", NULL),
			 0);
	assert_int_equal(db_run_load(f->db, UUID_A, &out), 0);
	assert_string_equal(out.status, "aborted");
	assert_string_equal(out.load_metrics, "stress-ng: metrics");
	assert_null(out.status_reason);
	run_record_done(&out);
	/* The reason an aborted run gives: stored, loaded, cleared. */
	assert_int_equal(db_run_set_status_reason(f->db, a, "4 reboots (max-reboots)"),
			 0);
	assert_int_equal(db_run_load(f->db, UUID_A, &out), 0);
	assert_string_equal(out.status_reason, "4 reboots (max-reboots)");
	run_record_done(&out);
	assert_int_equal(db_run_set_status_reason(f->db, a, NULL), 0);
	assert_int_equal(db_run_load(f->db, UUID_A, &out), 0);
	assert_null(out.status_reason);
	run_record_done(&out);
	assert_int_equal(db_run_set_status_reason(f->db, 999999, "x"), -ENOENT);
	run_record_done(&in);
}

static void test_cycle_round_trip(void **state)
{
	struct fixture *f = *state;
	struct cycle_record in, out, plain_in, plain_out;
	int64_t run, cid, cid2, late = 0;

	assert_int_equal(insert_run(f->db, UUID_A, "stock", NULL, &run), 0);
	make_cycle(&in, 0);
	assert_int_equal(db_cycle_insert(f->db, run, &in, &cid), 0);
	assert_true(cid > 0);
	assert_int_equal(db_cycle_load(f->db, run, 0, &out), 0);
	assert_cycle_equal(&in, &out);
	/* planned starts survive the round trip, and with them the lateness */
	assert_int_equal(out.actions[1].planned_ns, 1000290000);
	assert_int_equal(out.actions[0].planned_ns, 0);
	assert_true(cycle_record_max_lateness(&out, &late));
	assert_int_equal(late, 10000);
	cycle_record_done(&out);

	/* A cycle without sweep, without children, without note. */
	memset(&plain_in, 0, sizeof(plain_in));
	plain_in.seq = 1;
	plain_in.outcome = OUTCOME_OK;
	plain_in.start_ns = 5;
	plain_in.end_ns = 9;
	assert_int_equal(db_cycle_insert(f->db, run, &plain_in, &cid2), 0);
	assert_true(cid2 != cid);
	assert_int_equal(db_cycle_load(f->db, run, 1, &plain_out), 0);
	assert_cycle_equal(&plain_in, &plain_out);
	assert_false(plain_out.has_sweep);
	assert_null(plain_out.actions);
	assert_null(plain_out.note);
	cycle_record_done(&plain_out);

	/* What the schema stores for the model's "none" values. */
	assert_int_equal(
		count_sql(f->path,
			  "SELECT COUNT(*) FROM actions WHERE planned_ns IS NULL"),
		1);
	assert_int_equal(count_sql(f->path,
				   "SELECT COUNT(*) FROM actions WHERE end_ns IS NULL "
				   "AND state = 'hung'"),
			 1);
	assert_int_equal(
		count_sql(f->path, "SELECT COUNT(*) FROM actions WHERE state = 'done'"),
		2);
	assert_int_equal(count_sql(f->path,
				   "SELECT COUNT(*) FROM observations WHERE "
				   "iommu_group IS NULL AND time_to_bound_ns IS NULL"),
			 1);
	assert_int_equal(
		count_sql(f->path, "SELECT COUNT(*) FROM events WHERE prio IS NULL"), 1);
	assert_int_equal(
		count_sql(f->path,
			  "SELECT COUNT(*) FROM cycles WHERE sweep_value IS NULL"),
		1);

	/* The views see the cycles and the consumer only. */
	assert_int_equal(count_sql(f->path,
				   "SELECT COUNT(*) FROM v_cycle_outcomes WHERE "
				   "kernel_label = 'stock' AND target = 'qemu-virt'"),
			 2);
	assert_int_equal(count_sql(f->path,
				   "SELECT COUNT(*) FROM v_observation_outcomes WHERE "
				   "device = 'decon' AND outcome = 'late_iommu_probe' "
				   "AND cycle_outcome = 'late_iommu_probe'"),
			 1);
	assert_int_equal(
		count_sql(f->path, "SELECT COUNT(*) FROM v_observation_outcomes"), 1);

	assert_int_equal(db_cycle_load(f->db, run, 7, &out), -ENOENT);
	cycle_record_done(&in);
}

static void test_cycle_duplicate(void **state)
{
	struct fixture *f = *state;
	struct cycle_record c, other;
	int64_t run, id = -7, before[8], after[8];

	assert_int_equal(insert_run(f->db, UUID_A, "stock", NULL, &run), 0);
	make_cycle(&c, 3);
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), 0);
	counts(f->path, before);
	assert_int_equal(before[3], 1);
	assert_int_equal(before[4], 3);

	/* The same seq with different content is refused whole. */
	make_cycle(&other, 3);
	other.outcome = OUTCOME_OK;
	other.events[0].seq = 999999;
	assert_int_equal(db_cycle_insert(f->db, run, &other, &id), -EEXIST);
	assert_int_equal(id, -7);
	counts(f->path, after);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(
		count_sql(f->path, "SELECT COUNT(*) FROM cycles WHERE outcome = 'ok'"),
		0);

	/* Unknown run. */
	assert_int_equal(db_cycle_insert(f->db, run + 100, &other, NULL), -ENOENT);
	counts(f->path, after);
	assert_memory_equal(before, after, sizeof(before));
	cycle_record_done(&c);
	cycle_record_done(&other);
}

static void test_cycle_rollback(void **state)
{
	struct fixture *f = *state;
	struct cycle_record c;
	int64_t run, before[8], after[8];

	assert_int_equal(insert_run(f->db, UUID_A, "stock", NULL, &run), 0);
	counts(f->path, before);

	/* Invalid outcome of the second observation: the cycle row and all three actions
	 * were written by then and must be gone. */
	make_cycle(&c, 0);
	c.observations[1].outcome = (enum outcome)42;
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), -EINVAL);
	assert_non_null(strstr(db_errmsg(f->db), "outcome"));
	counts(f->path, after);
	assert_memory_equal(before, after, sizeof(before));
	c.observations[1].outcome = OUTCOME_UNBOUND;

	/* An event without a sequence number (last thing written). */
	c.events[2].seq = -1;
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), -EINVAL);
	counts(f->path, after);
	assert_memory_equal(before, after, sizeof(before));
	c.events[2].seq = 5;

	/* Two actions with one idx: malformed record, not "exists". */
	c.actions[2].idx = 1;
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), -EINVAL);
	counts(f->path, after);
	assert_memory_equal(before, after, sizeof(before));
	c.actions[2].idx = 2;

	/* Out-of-range cycle outcome. */
	c.outcome = _OUTCOME_MAX;
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), -EINVAL);
	counts(f->path, after);
	assert_memory_equal(before, after, sizeof(before));
	c.outcome = OUTCOME_OK;

	/* After all that, the fixed record goes in. */
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), 0);
	counts(f->path, after);
	assert_int_equal(after[3], before[3] + 1);
	assert_int_equal(after[4], before[4] + 3);
	assert_int_equal(after[5], before[5] + 2);
	assert_int_equal(after[6], before[6] + 3);
	cycle_record_done(&c);
}

static void test_next_seq(void **state)
{
	struct fixture *f = *state;
	struct cycle_record c = { .outcome = OUTCOME_OK };
	int64_t run, seq = -5;

	assert_int_equal(insert_run(f->db, UUID_A, "stock", NULL, &run), 0);
	assert_int_equal(db_run_next_seq(f->db, run, &seq), 0);
	assert_int_equal(seq, 0);
	c.seq = 0;
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), 0);
	c.seq = 5;
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), 0);
	c.seq = 2;
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), 0);
	assert_int_equal(db_run_next_seq(f->db, run, &seq), 0);
	assert_int_equal(seq, 6);
	seq = -5;
	assert_int_equal(db_run_next_seq(f->db, run + 1, &seq), -ENOENT);
	assert_int_equal(seq, -5);

	{
		int64_t *seqs = NULL;
		size_t n = 0;

		assert_int_equal(db_cycle_seqs(f->db, run, &seqs, &n), 0);
		assert_int_equal(n, 3);
		assert_int_equal(seqs[0], 0);
		assert_int_equal(seqs[1], 2);
		assert_int_equal(seqs[2], 5);
		free(seqs);
	}
}

static void test_inflight(void **state)
{
	struct fixture *f = *state;
	struct action_record a = { .idx = 4,
				   .group = 1,
				   .verb = STEP_BIND,
				   .offset_us = 150,
				   .start_ns = 123456789 };
	struct action_record got;
	struct cycle_record ic = { .seq = -1 };
	int64_t run;

	assert_int_equal(insert_run(f->db, UUID_A, "stock", NULL, &run), 0);
	assert_int_equal(db_inflight_get(f->db, run, &ic, &got), -ENOENT);
	assert_int_equal(ic.seq, -1);

	a.arg = xstrdup("decon");
	a.params = xstrdup("x=1");
	/* a swept cycle of a known boot: its sweep value and boot_id go along */
	ic = (struct cycle_record){
		.seq = 17,
		.has_sweep = true,
		.sweep_value = 40000,
		.boot_id = (char *)"0d3e5c64-1a7b-4c8e-9f21-5a6b7c8d9e0f"
	};
	assert_int_equal(db_inflight_set(f->db, run, &ic, &a), 0);
	ic = (struct cycle_record){ 0 };
	/* Committed for another connection to see (what a reboot finds). */
	assert_int_equal(count_sql(f->path,
				   "SELECT COUNT(*) FROM inflight WHERE cycle_seq = 17 "
				   "AND action_idx = 4 AND verb = 'bind'"),
			 1);
	assert_int_equal(db_inflight_get(f->db, run, &ic, &got), 0);
	assert_int_equal(ic.seq, 17);
	assert_true(ic.has_sweep);
	assert_int_equal(ic.sweep_value, 40000);
	assert_string_equal(ic.boot_id, "0d3e5c64-1a7b-4c8e-9f21-5a6b7c8d9e0f");
	free(ic.boot_id);
	ic.boot_id = NULL;
	assert_int_equal(got.idx, 4);
	assert_int_equal(got.group, 1);
	assert_int_equal(got.verb, STEP_BIND);
	assert_string_equal(got.arg, "decon");
	assert_string_equal(got.params, "x=1");
	assert_int_equal(got.offset_us, 150);
	assert_int_equal(got.start_ns, 123456789);
	assert_int_equal(got.end_ns, 0);
	assert_false(got.hung);
	action_record_done(&got);

	/* A second set replaces: one row per run. */
	a.idx = 5;
	a.verb = STEP_RMMOD;
	a.start_ns = 0; /* "now" */
	ic = (struct cycle_record){ .seq = 18 };
	assert_int_equal(db_inflight_set(f->db, run, &ic, &a), 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM inflight"), 1);
	ic = (struct cycle_record){ .has_sweep = true };
	assert_int_equal(db_inflight_get(f->db, run, &ic, &got), 0);
	assert_int_equal(ic.seq, 18);
	assert_false(ic.has_sweep);
	assert_null(ic.boot_id); /* not known */
	assert_int_equal(got.verb, STEP_RMMOD);
	assert_true(got.start_ns > 0);
	action_record_done(&got);

	/* Not inside a transaction: durability would be the caller's commit's. */
	assert_int_equal(db_begin(f->db), 0);
	ic.seq = 19;
	assert_int_equal(db_inflight_set(f->db, run, &ic, &a), -EBUSY);
	assert_int_equal(db_rollback(f->db), 0);

	assert_int_equal(db_inflight_clear(f->db, run), 0);
	assert_int_equal(db_inflight_get(f->db, run, &ic, &got), -ENOENT);
	assert_int_equal(db_inflight_clear(f->db, run), 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM inflight"), 0);

	assert_int_equal(db_set_crash_safe(f->db, true), 0);
	ic.seq = 20;
	assert_int_equal(db_inflight_set(f->db, run, &ic, &a), 0);
	assert_int_equal(db_set_crash_safe(f->db, false), 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM inflight"), 1);
	action_record_done(&a);
}

static void test_events_unattached(void **state)
{
	struct fixture *f = *state;
	struct kernel_event e = { .source = SOURCE_KMSG,
				  .class = EVENT_INFO,
				  .seq = 1001,
				  .ts_ns = 42,
				  .prio = 6,
				  .boot = 2 };
	struct kernel_event *list = NULL;
	struct cycle_record c, out;
	size_t n = 99;
	int64_t run;

	assert_int_equal(insert_run(f->db, UUID_A, "stock", NULL, &run), 0);
	e.message = xstrdup("Booting Linux on physical CPU 0x0");
	assert_int_equal(db_event_insert_unattached(f->db, run, &e), 1);
	assert_int_equal(db_event_insert_unattached(f->db, run, &e), 0);
	e.seq = 1;
	e.boot = 0;
	assert_int_equal(db_event_insert_unattached(f->db, run, &e), 1);
	e.seq = -1;
	assert_int_equal(db_event_insert_unattached(f->db, run, &e), -EINVAL);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM events"), 2);

	assert_int_equal(db_events_load_unattached(f->db, run, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].seq, 1001);
	assert_int_equal(list[0].boot, 2);
	assert_string_equal(list[0].message, "Booting Linux on physical CPU 0x0");
	assert_null(list[0].device);
	for (size_t i = 0; i < n; i++)
		kernel_event_done(&list[i]);
	free(list);

	/* A cycle carrying the same kernel record (boot 2, kmsg, 1001) adopts it. */
	make_cycle(&c, 0);
	c.events[1].seq = 1001;
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM events"), 4);
	assert_int_equal(
		count_sql(f->path, "SELECT COUNT(*) FROM events WHERE cycle_id IS NULL"),
		1);
	assert_int_equal(db_cycle_load(f->db, run, 0, &out), 0);
	assert_int_equal(out.n_events, 3);
	cycle_record_done(&out);
	cycle_record_done(&c);
	kernel_event_done(&e);
}

static void test_nested_transactions(void **state)
{
	struct fixture *f = *state;
	struct cycle_record c;
	int64_t run;

	assert_int_equal(db_commit(f->db), -EINVAL);
	assert_int_equal(db_rollback(f->db), -EINVAL);

	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(insert_run(f->db, UUID_A, "stock", NULL, &run), 0);
	make_cycle(&c, 0);
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), 0);
	/* An inner failure undoes only its own level. */
	c.seq = 1;
	c.observations[0].outcome = (enum outcome) - 3;
	assert_int_equal(db_cycle_insert(f->db, run, &c, NULL), -EINVAL);
	/* Nothing is visible to others before the outer commit. */
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM runs"), 0);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM runs"), 1);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM cycles"), 1);

	/* Outer rollback undoes inner commits. */
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(insert_run(f->db, UUID_B, "stock", NULL, NULL), 0);
	assert_int_equal(db_begin_read(f->db), 0);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(db_rollback(f->db), 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM runs"), 1);
	assert_int_equal(db_run_find(f->db, UUID_B, NULL), -ENOENT);
	cycle_record_done(&c);
}

static void test_queries(void **state)
{
	struct fixture *f = *state;
	struct db_run_filter filter = {};
	struct cycle_record c;
	int64_t a, b;
	json_t *j = NULL, *o, *counts_j;

	assert_int_equal(insert_run(f->db, UUID_A, "stock", NULL, &a), 0);
	assert_int_equal(insert_run(f->db, UUID_B, "lkml-v1", NULL, &b), 0);
	for (int i = 0; i < 4; i++) {
		make_cycle(&c, i);
		c.outcome = i == 0 ? OUTCOME_LATE_IOMMU_PROBE : OUTCOME_OK;
		c.observations[0].outcome = c.outcome;
		assert_int_equal(db_cycle_insert(f->db, a, &c, NULL), 0);
		cycle_record_done(&c);
	}

	assert_int_equal(db_query_runs(f->db, NULL, &j), 0);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 2);
	json_decref(j);

	filter.kernel_label = "stock";
	assert_int_equal(db_query_runs(f->db, &filter, &j), 0);
	assert_int_equal(json_array_size(j), 1);
	o = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(o, "uuid")), UUID_A);
	assert_int_equal(json_integer_value(json_object_get(o, "cycles")), 4);
	assert_string_equal(json_string_value(json_object_get(o, "target")), "qemu-virt");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(o, "kernel"), "label")),
		"stock");
	assert_true(json_is_null(json_object_get(o, "finished_at")));
	json_decref(j);

	filter = (struct db_run_filter){ .limit = 1, .offset = 1 };
	assert_int_equal(db_query_runs(f->db, &filter, &j), 0);
	assert_int_equal(json_array_size(j), 1);
	json_decref(j);
	filter = (struct db_run_filter){ .target = "nope" };
	assert_int_equal(db_query_runs(f->db, &filter, &j), 0);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);

	assert_int_equal(db_query_run_summary(f->db, UUID_A, &j), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "cycles")), 4);
	counts_j = json_object_get(j, "outcomes");
	assert_int_equal(json_object_size(counts_j), _OUTCOME_MAX);
	assert_int_equal(json_integer_value(json_object_get(counts_j, "ok")), 3);
	assert_int_equal(
		json_integer_value(json_object_get(counts_j, "late_iommu_probe")), 1);
	assert_int_equal(json_integer_value(json_object_get(counts_j, "crash")), 0);
	o = json_object_get(j, "consumers");
	assert_int_equal(json_array_size(o), 1);
	o = json_array_get(o, 0);
	assert_string_equal(json_string_value(json_object_get(o, "device")), "decon");
	assert_int_equal(json_integer_value(json_object_get(o, "observations")), 4);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(o, "outcomes"), "late_iommu_probe")),
			 1);
	/* lateness of the 8 concurrent actions: 10 µs (x5), 11, 12, 13 µs */
	o = json_object_get(j, "lateness");
	assert_true(json_is_object(o));
	assert_int_equal(json_integer_value(json_object_get(o, "actions")), 8);
	assert_int_equal(json_integer_value(json_object_get(o, "cycles")), 4);
	assert_int_equal(json_integer_value(json_object_get(o, "min_ns")), 10000);
	assert_int_equal(json_integer_value(json_object_get(o, "p50_ns")), 10000);
	assert_int_equal(json_integer_value(json_object_get(o, "p90_ns")), 12300);
	assert_int_equal(json_integer_value(json_object_get(o, "max_ns")), 13000);
	json_decref(j);
	/* a run without planned starts (none recorded, or from an older bundle) */
	assert_int_equal(db_query_run_summary(f->db, UUID_B, &j), 0);
	assert_true(json_is_null(json_object_get(j, "lateness")));
	json_decref(j);
	j = NULL;
	assert_int_equal(db_query_run_summary(f->db, UUID_C, &j), -ENOENT);
	assert_null(j);

	assert_int_equal(db_query_kernels(f->db, &j), 0);
	assert_int_equal(json_array_size(j), 2);
	o = json_array_get(j, 1); /* newest first: "stock" was inserted first */
	assert_string_equal(json_string_value(json_object_get(o, "label")), "stock");
	assert_int_equal(json_integer_value(json_object_get(o, "runs")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "cycles")), 4);
	assert_true(json_is_null(json_object_get(o, "build_id")));
	json_decref(j);
}

/* ---------------------------------------------------------------- the daemon's queries */

#define UUID_D	  "d00dfeed-5678-4abc-9def-0123456789ab"
#define BOOT_ID_1 "0d3e5c64-1a7b-4c8e-9f21-5a6b7c8d9e0f"
#define BOOT_ID_2 "1e4f6d75-2b8c-4d9f-8a32-6b7c8d9e0f1a"

/* A run of campaign in status, marked local (started by this database's runner) or not. */
static int64_t add_run(struct db *db, const char *uuid, const char *campaign,
		       const char *status, bool local)
{
	struct run_record r;
	int64_t id = 0;

	make_run(&r, uuid, "stock", NULL);
	free(r.campaign);
	r.campaign = xstrdup(campaign);
	assert_int_equal(db_run_insert(db, &r, &id), 0);
	run_record_done(&r);
	if (!streq(status, "running"))
		assert_int_equal(
			db_run_finish(db, id, status, "2026-11-24T07:00:00Z", NULL), 0);
	if (local)
		assert_int_equal(db_run_mark_local(db, id), 0);
	return id;
}

/* Cycle seq of make_cycle(), in boot with boot_id (NULL: none recorded). */
static void add_cycle(struct db *db, int64_t run_id, int64_t seq, int boot,
		      const char *boot_id)
{
	struct cycle_record c;

	make_cycle(&c, seq);
	c.boot = boot;
	free(c.boot_id);
	c.boot_id = xstrdup(boot_id);
	assert_int_equal(db_cycle_insert(db, run_id, &c, NULL), 0);
	cycle_record_done(&c);
}

static const struct db_push_run *find_push_run(const struct db_push_run *runs, size_t n,
					       int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (runs[i].run_id == id)
			return &runs[i];
	return NULL;
}

/* ---------------------------------------------------------------- push */

static void test_push_runs_changed(void **state)
{
	struct fixture *f = *state;
	struct db_push_run *runs = NULL;
	const struct db_push_run *p;
	int64_t a, b, c, d;
	size_t n = 99;

	/* an empty database: nothing, and an empty array */
	assert_int_equal(db_push_runs_changed(f->db, &runs, &n), 0);
	assert_int_equal(n, 0);
	assert_null(runs);

	a = add_run(f->db, UUID_A, "nightly", "running", true);	 /* never spooled */
	b = add_run(f->db, UUID_B, "nightly", "running", false); /* spooled, running */
	c = add_run(f->db, UUID_C, "nightly", "finished", true); /* spooled as finished */
	d = add_run(f->db, UUID_D, "nightly", "aborted", true);	 /* spooled as running */
	for (int64_t s = 0; s < 5; s++)
		add_cycle(f->db, b, s, 1, NULL);
	add_cycle(f->db, c, 0, 1, NULL);
	add_cycle(f->db, d, 7, 1, NULL);
	assert_int_equal(db_push_run_spooled(f->db, b, 3, "running", 1700000000), 0);
	assert_int_equal(db_push_run_spooled(f->db, c, 1, "finished", 1700000001), 0);
	assert_int_equal(db_push_run_spooled(f->db, d, 8, "running", 1700000002), 0);

	assert_int_equal(db_push_runs_changed(f->db, &runs, &n), 0);
	/* c is spooled in the status it has: nothing to do */
	assert_int_equal(n, 3);
	assert_null(find_push_run(runs, n, c));
	/* by row id */
	assert_int_equal(runs[0].run_id, a);
	assert_int_equal(runs[1].run_id, b);
	assert_int_equal(runs[2].run_id, d);

	p = find_push_run(runs, n, a);
	assert_string_equal(p->uuid, UUID_A);
	assert_true(p->running);
	assert_false(p->spooled);
	assert_int_equal(p->next_seq, 0);
	assert_int_equal(p->max_seq, -1);

	p = find_push_run(runs, n, b);
	assert_string_equal(p->uuid, UUID_B);
	assert_true(p->running);
	assert_true(p->spooled);
	assert_int_equal(p->next_seq, 3);
	assert_int_equal(p->spooled_at, 1700000000);
	assert_int_equal(p->max_seq, 4);

	/* the status changed since it was spooled */
	p = find_push_run(runs, n, d);
	assert_string_equal(p->uuid, UUID_D);
	assert_false(p->running);
	assert_true(p->spooled);
	assert_int_equal(p->next_seq, 8);
	assert_int_equal(p->spooled_at, 1700000002);
	assert_int_equal(p->max_seq, 7);
	free(runs);
}

static void test_push_cycle_seqs(void **state)
{
	struct fixture *f = *state;
	int64_t a, b, *seqs = NULL;
	size_t n = 99;

	a = add_run(f->db, UUID_A, "nightly", "running", true);
	b = add_run(f->db, UUID_B, "nightly", "running", true);
	/* inserted out of order, with a gap, and another run's cycles around them */
	for (int64_t s = 9; s >= 0; s -= 3)
		add_cycle(f->db, a, s, 1, NULL);
	for (int64_t s = 0; s < 12; s++)
		add_cycle(f->db, b, s, 1, NULL);

	assert_int_equal(db_push_cycle_seqs(f->db, a, 0, &seqs, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(seqs[0], 0);
	assert_int_equal(seqs[1], 3);
	assert_int_equal(seqs[2], 6);
	assert_int_equal(seqs[3], 9);
	free(seqs);

	/* from_seq itself is included */
	assert_int_equal(db_push_cycle_seqs(f->db, a, 6, &seqs, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(seqs[0], 6);
	assert_int_equal(seqs[1], 9);
	free(seqs);

	seqs = NULL;
	assert_int_equal(db_push_cycle_seqs(f->db, a, 10, &seqs, &n), 0);
	assert_int_equal(n, 0);
	assert_null(seqs);

	assert_int_equal(db_push_cycle_seqs(f->db, b, 11, &seqs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(seqs[0], 11);
	free(seqs);
}

static void test_push_run_spooled(void **state)
{
	struct fixture *f = *state;
	char sql[160];
	int64_t a;

	a = add_run(f->db, UUID_A, "nightly", "running", true);
	assert_int_equal(db_push_run_spooled(f->db, a, 4, "running", 1700000000), 0);
	snprintf(sql, sizeof(sql),
		 "SELECT next_seq * 1000 + (status = 'running') FROM push_runs "
		 "WHERE run_id = %lld AND spooled_at = 1700000000",
		 (long long)a);
	assert_int_equal(count_sql(f->path, sql), 4001);

	/* a second record replaces the first */
	assert_int_equal(db_push_run_spooled(f->db, a, 9, "finished", 1700000100), 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM push_runs"), 1);
	snprintf(sql, sizeof(sql),
		 "SELECT next_seq * 1000 + (status = 'finished') FROM push_runs "
		 "WHERE run_id = %lld AND spooled_at = 1700000100",
		 (long long)a);
	assert_int_equal(count_sql(f->path, sql), 9001);

	/* no such run; bad arguments: nothing written, and a message for the log */
	assert_int_equal(db_push_run_spooled(f->db, a + 100, 1, "running", 1), -ENOENT);
	assert_true(strlen(db_errmsg(f->db)) > 0);
	assert_int_equal(db_push_run_spooled(f->db, a, -1, "running", 1), -EINVAL);
	assert_int_equal(db_push_run_spooled(f->db, a, 1, NULL, 1), -EINVAL);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM push_runs"), 1);
}

/* ---------------------------------------------------------------- runner */

static void test_runner_runs_unfinished(void **state)
{
	struct fixture *f = *state;
	struct db_runner_run *runs = NULL;
	int64_t a, d;
	size_t n = 99;

	assert_int_equal(db_runner_runs_unfinished(f->db, &runs, &n), 0);
	assert_int_equal(n, 0);
	assert_null(runs);

	a = add_run(f->db, UUID_A, "nightly", "running", true);
	(void)add_run(f->db, UUID_B, "imported", "running", false); /* a rig's, pushed */
	(void)add_run(f->db, UUID_C, "done", "finished", true);
	d = add_run(f->db, UUID_D, "reboots", "running", true);
	/* a: the highest boot is 3, but the last cycle (by seq) is of boot 2 with no
	 * boot_id; d: no cycles */
	add_cycle(f->db, a, 0, 1, BOOT_ID_1);
	add_cycle(f->db, a, 1, 3, BOOT_ID_2);
	add_cycle(f->db, a, 2, 2, NULL);

	assert_int_equal(db_runner_runs_unfinished(f->db, &runs, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(runs[0].id, a);
	assert_string_equal(runs[0].uuid, UUID_A);
	assert_string_equal(runs[0].campaign, "nightly");
	assert_int_equal(runs[0].boot, 3);
	assert_null(runs[0].boot_id);
	assert_int_equal(runs[1].id, d);
	assert_string_equal(runs[1].uuid, UUID_D);
	assert_string_equal(runs[1].campaign, "reboots");
	assert_int_equal(runs[1].boot, 0);
	assert_null(runs[1].boot_id);
	db_runner_runs_free(runs, n);

	/* a new last cycle with a boot_id; d ended */
	add_cycle(f->db, a, 3, 3, BOOT_ID_1);
	assert_int_equal(db_run_finish(f->db, d, "interrupted", NULL, NULL), 0);
	assert_int_equal(db_runner_runs_unfinished(f->db, &runs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(runs[0].id, a);
	assert_int_equal(runs[0].boot, 3);
	assert_string_equal(runs[0].boot_id, BOOT_ID_1);
	db_runner_runs_free(runs, n);

	db_runner_runs_free(NULL, 0);
	db_runner_run_done(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_memory),
		cmocka_unit_test_setup_teardown(test_open_file_migration_idempotent,
						setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_open_errors, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_newer_version_refused, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_run_insert_dedupe, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_cycle_round_trip, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_cycle_duplicate, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_cycle_rollback, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_next_seq, setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_inflight, setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_events_unattached, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_nested_transactions, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_queries, setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_push_runs_changed, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_push_cycle_seqs, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_push_run_spooled, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_runner_runs_unfinished, setup_file,
						teardown_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
