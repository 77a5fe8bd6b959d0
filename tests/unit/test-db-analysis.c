/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of store/db-analysis.c, the reads behind compare, decide and report, and of
 * what store/db-internal.h shares (the SQLite->errno mapping, the one error channel).
 * The recorded bundles of tests/data are imported into a database file, and what each
 * function hands back is checked against plain queries of the raw tables here (written
 * differently from the store's: counts over observations and actions, not agg_*).
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
#include <jansson.h>
#include <sqlite3.h>

#include "bundle.h"
#include "db-analysis.h"
#include "db-internal.h"
#include "db-query.h"
#include "db.h"
#include "macro.h"
#include "model.h"

static char path[] = "/tmp/test-db-analysis-XXXXXX";
static struct db *db;
static sqlite3 *raw; /* a second connection, for the reference queries */

static void import(const char *name)
{
	char file[512];
	FILE *f;

	snprintf(file, sizeof(file), "%s/bundles/%s", TEST_DATA_DIR, name);
	f = fopen(file, "re");
	assert_non_null(f);
	assert_int_equal(bundle_import(db, f, NULL, NULL), 0);
	fclose(f);
}

static int setup(void **state)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	close(fd);
	if (db_open(path, 0, &db) < 0)
		return -1;
	import("qemu-sim-2kernels.ndjson");
	import("qemu-failures-stock.ndjson");
	if (sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	sqlite3_close(raw);
	db_close(db);
	unlink(path);
	return 0;
}

/* One integer from a reference query with the run ids as an SQL list in place of "%s". */
static int64_t ref(const char *fmt, const struct db_run_set *s)
{
	char ids[512] = "(", sql[2048];
	sqlite3_stmt *st = NULL;
	const char *at;
	int64_t v;

	for (size_t i = 0; i < s->n; i++)
		snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%lld",
			 i ? "," : "", (long long)s->ids[i]);
	strcat(ids, ")");
	/* the ids where fmt has "%s" (not a printf format: it may hold other '%') */
	at = strstr(fmt, "%s");
	assert_non_null(at);
	snprintf(sql, sizeof(sql), "%.*s%s%s", (int)(at - fmt), fmt, ids, at + 2);
	assert_int_equal(sqlite3_prepare_v2(raw, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void select_label(const char *label, struct db_run_set *s)
{
	assert_int_equal(db_analysis_runs_select(db, DB_RUN_KEY_LABEL, label, s), 0);
	assert_true(s->n > 0);
}

static void test_runs_select(void **state)
{
	struct db_run_set s = { 0 }, one = { 0 }, none = { 0 };
	char uuid[64], kid[32];
	sqlite3_stmt *st = NULL;

	select_label("stock", &s);
	assert_int_equal(s.n, ref("SELECT COUNT(*) FROM runs r JOIN kernels k ON k.id = "
				  "r.kernel_id WHERE k.label = 'stock' AND r.id IN %s",
				  &s));
	assert_int_equal(s.n, ref("SELECT COUNT(*) FROM runs r JOIN kernels k ON k.id = "
				  "r.kernel_id WHERE k.label = 'stock' OR r.id IN %s",
				  &s));
	for (size_t i = 1; i < s.n; i++)
		assert_true(s.ids[i - 1] < s.ids[i]);
	assert_string_equal(s.label, "stock");
	assert_non_null(s.release);

	/* by UUID: the one run; by kernel id: the kernel's runs */
	assert_int_equal(
		sqlite3_prepare_v2(raw,
				   "SELECT r.uuid, r.kernel_id FROM runs r WHERE "
				   "r.id = ?1",
				   -1, &st, NULL),
		SQLITE_OK);
	sqlite3_bind_int64(st, 1, s.ids[0]);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(uuid, sizeof(uuid), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(kid, sizeof(kid), "%lld", (long long)sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
	assert_int_equal(db_analysis_runs_select(db, DB_RUN_KEY_UUID, uuid, &one), 0);
	assert_int_equal(one.n, 1);
	assert_int_equal(one.ids[0], s.ids[0]);
	db_run_set_done(&one);
	assert_int_equal(db_analysis_runs_select(db, DB_RUN_KEY_KERNEL_ID, kid, &one), 0);
	assert_true(one.n >= 1);
	assert_int_equal(one.ids[0], s.ids[0]);
	db_run_set_done(&one);

	/* nothing matches: an empty set, not an error */
	assert_int_equal(db_analysis_runs_select(db, DB_RUN_KEY_LABEL, "nope", &none), 0);
	assert_int_equal(none.n, 0);
	assert_null(none.ids);
	assert_int_equal(db_analysis_runs_select(db, DB_RUN_KEY_KERNEL_ID, "x", &none),
			 0);
	assert_int_equal(none.n, 0);
	db_run_set_done(&s);
}

struct sums {
	int64_t all, failed, swept, rows;
	int64_t metric[2];
	int64_t last_run, last_boot;
	bool ordered;
};

static int count_row(const struct db_outcome_count *row, void *userdata)
{
	struct sums *s = userdata;

	assert_non_null(row->scenario);
	assert_non_null(row->device);
	assert_true(row->outcome >= 0);
	s->rows++;
	s->all += row->n;
	if (row->outcome > OUTCOME_DEFERRED_OK)
		s->failed += row->n;
	if (row->swept)
		s->swept += row->n;
	return 0;
}

static void test_outcome_counts(void **state)
{
	struct db_run_set s = { 0 };
	struct sums sum = { 0 };

	select_label("stock", &s);
	assert_int_equal(db_analysis_outcome_counts(db, s.ids, s.n, count_row, &sum), 0);
	assert_true(sum.rows > 0);
	assert_int_equal(sum.all,
			 ref("SELECT COUNT(*) FROM observations o JOIN cycles c ON "
			     "c.id = o.cycle_id WHERE o.consumer = 1 AND "
			     "c.run_id IN %s",
			     &s));
	assert_int_equal(
		sum.failed,
		ref("SELECT COUNT(*) FROM observations o JOIN cycles c ON c.id = "
		    "o.cycle_id WHERE o.consumer = 1 AND o.outcome NOT IN ('ok', "
		    "'deferred_ok') AND c.run_id IN %s",
		    &s));
	assert_int_equal(sum.swept,
			 ref("SELECT COUNT(*) FROM observations o JOIN cycles c "
			     "ON c.id = o.cycle_id WHERE o.consumer = 1 AND "
			     "c.sweep_value IS NOT NULL AND c.run_id IN %s",
			     &s));
	assert_true(sum.failed > 0);
	db_run_set_done(&s);
}

static int stop_at_first(const struct db_outcome_count *row, void *userdata)
{
	(*(int *)userdata)++;
	return -ECANCELED;
}

static void test_callback_stops(void **state)
{
	struct db_run_set s = { 0 };
	int calls = 0;

	select_label("stock", &s);
	assert_int_equal(
		db_analysis_outcome_counts(db, s.ids, s.n, stop_at_first, &calls),
		-ECANCELED);
	assert_int_equal(calls, 1);
	db_run_set_done(&s);
}

static int latency_row(const struct db_latency_value *row, void *userdata)
{
	struct sums *s = userdata;

	assert_true(row->metric == DB_LATENCY_TIME_TO_BOUND ||
		    row->metric == DB_LATENCY_BIND);
	s->metric[row->metric] += row->n;
	return 0;
}

static void test_latency(void **state)
{
	struct db_run_set s = { 0 };
	struct sums raw_sum = { 0 }, binned = { 0 };

	select_label("stock", &s);
	assert_int_equal(db_analysis_latency_raw(db, s.ids, s.n, latency_row, &raw_sum),
			 0);
	assert_int_equal(
		raw_sum.metric[DB_LATENCY_TIME_TO_BOUND],
		ref("SELECT COUNT(*) FROM observations o JOIN cycles c ON c.id = "
		    "o.cycle_id WHERE o.consumer = 1 AND o.time_to_bound_ns IS NOT "
		    "NULL AND c.outcome IN ('ok', 'deferred_ok') AND c.run_id IN %s",
		    &s));
	assert_int_equal(
		raw_sum.metric[DB_LATENCY_BIND],
		ref("SELECT COUNT(*) FROM actions a JOIN cycles c ON c.id = "
		    "a.cycle_id WHERE a.verb IN ('bind', 'probe') AND a.end_ns IS "
		    "NOT NULL AND a.arg IS NOT NULL AND c.outcome IN ('ok', "
		    "'deferred_ok') AND c.run_id IN %s",
		    &s));
	assert_true(raw_sum.metric[0] > 0 && raw_sum.metric[1] > 0);
	assert_int_equal(db_analysis_latency_binned(db, s.ids, s.n, latency_row, &binned),
			 0);
	assert_int_equal(binned.metric[0] + binned.metric[1],
			 ref("SELECT SUM(n) FROM agg_latency WHERE run_id IN %s", &s));
	db_run_set_done(&s);
}

static int boot_row(const struct db_boot_count *row, void *userdata)
{
	struct sums *s = userdata;

	if (row->run_id < s->last_run ||
	    (row->run_id == s->last_run && row->boot < s->last_boot))
		s->ordered = false;
	s->last_run = row->run_id;
	s->last_boot = row->boot;
	s->all += row->n;
	return 0;
}

static void test_boots(void **state)
{
	struct db_run_set s = { 0 };
	struct sums sum = { .ordered = true };
	bool reboot = true;

	select_label("stock", &s);
	assert_int_equal(db_analysis_boot_counts(db, s.ids, s.n, boot_row, &sum), 0);
	assert_true(sum.ordered);
	assert_int_equal(sum.all,
			 ref("SELECT COUNT(*) FROM observations o JOIN cycles c ON "
			     "c.id = o.cycle_id WHERE o.consumer = 1 AND "
			     "c.run_id IN %s",
			     &s));
	assert_int_equal(db_analysis_reboot_seen(db, s.ids, s.n, &reboot), 0);
	assert_int_equal(reboot,
			 ref("SELECT COUNT(*) > 0 FROM actions a JOIN cycles c ON "
			     "c.id = a.cycle_id WHERE a.verb = 'reboot' AND "
			     "c.run_id IN %s",
			     &s));
	/* no runs: nothing, and no reboot */
	assert_int_equal(db_analysis_reboot_seen(db, NULL, 0, &reboot), 0);
	assert_false(reboot);
	db_run_set_done(&s);
}

static void test_fingerprint(void **state)
{
	struct db_run_set all = { .n = 0 };
	int64_t fp[3];

	assert_int_equal(db_analysis_fingerprint(db, fp), 0);
	assert_int_equal(fp[0], ref("SELECT MAX(id) FROM kernels -- %s", &all));
	assert_int_equal(fp[1], ref("SELECT MAX(id) FROM runs -- %s", &all));
	assert_int_equal(fp[2], ref("SELECT MAX(id) FROM cycles -- %s", &all));
}

static void test_report_reads(void **state)
{
	struct db_run_set s = { 0 };
	struct db_cycle_ref c = { 0 };
	struct kernel_event ev = { 0 };
	json_t *k = NULL, *sums = NULL;
	int found = 0;

	select_label("stock", &s);
	assert_int_equal(db_analysis_kernels(db, s.ids, s.n, &k), 0);
	assert_int_equal(
		json_array_size(k),
		ref("SELECT COUNT(DISTINCT kernel_id) FROM runs WHERE id IN %s", &s));
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(k, 0), "label")),
		"stock");
	json_decref(k);
	assert_int_equal(db_analysis_run_summaries(db, s.ids, s.n, &sums), 0);
	assert_int_equal(json_array_size(sums), s.n);
	assert_non_null(json_object_get(json_array_get(sums, 0), "outcomes"));
	json_decref(sums);

	/* the first cycle of every failure outcome the runs have, and only of those */
	for (int o = OUTCOME_DEFERRED_OK + 1; o < _OUTCOME_MAX; o++) {
		char fmt[256];
		int r = db_analysis_first_cycle(db, s.ids, s.n, o, &c);

		snprintf(
			fmt, sizeof(fmt),
			"SELECT COUNT(*) FROM cycles WHERE outcome = '%s' AND run_id IN %%s",
			outcome_to_string(o));
		if (ref(fmt, &s) == 0) {
			assert_int_equal(r, -ENOENT);
			continue;
		}
		assert_int_equal(r, 0);
		found++;
		snprintf(
			fmt, sizeof(fmt),
			"SELECT MIN(id) FROM cycles WHERE outcome = '%s' AND run_id = "
			"(SELECT MIN(run_id) FROM cycles WHERE outcome = '%s' AND run_id "
			"IN %%s)",
			outcome_to_string(o), outcome_to_string(o));
		assert_int_equal(c.id, ref(fmt, &s));
		assert_int_equal(strlen(c.run_uuid), 36);
		db_cycle_ref_done(&c);
	}
	assert_true(found > 0);

	/* a cycle's record of a class: the oldest; none of a class is -ENOENT */
	db_run_set_done(&s);
	select_label("stock-panic", &s);
	assert_int_equal(db_analysis_first_cycle(db, s.ids, s.n, OUTCOME_CRASH, &c), 0);
	assert_int_equal(db_analysis_cycle_event(db, c.id, EVENT_PANIC, &ev), 0);
	assert_int_equal(ev.class, EVENT_PANIC);
	assert_non_null(ev.message);
	kernel_event_done(&ev);
	assert_int_equal(db_analysis_cycle_event(db, c.id, EVENT_UEVENT, &ev), -ENOENT);
	assert_non_null(strstr(db_errmsg(db), "no uevent record"));
	db_cycle_ref_done(&c);
	db_run_set_done(&s);
}

/* The API's queries report their failures through db_errmsg, the one error channel. */
static void test_errmsg(void **state)
{
	struct db_trend_filter f = { .outcome = _OUTCOME_MAX };
	json_t *j = NULL;

	assert_int_equal(
		db_query_run_sweep(db, "00000000-0000-0000-0000-000000000000", &j),
		-ENOENT);
	assert_non_null(strstr(db_errmsg(db), "no run 00000000-"));
	assert_int_equal(db_query_trend(db, &f, &j), -EINVAL);
	assert_non_null(strstr(db_errmsg(db), "invalid outcome"));
	assert_null(j);
}

/* One mapping for every file of store/ (report.c had BUSY as -EIO). */
static void test_errno_mapping(void **state)
{
	assert_int_equal(db_errno_from_sqlite(NULL, SQLITE_BUSY), -EBUSY);
	assert_int_equal(db_errno_from_sqlite(NULL, SQLITE_BUSY_SNAPSHOT), -EBUSY);
	assert_int_equal(db_errno_from_sqlite(NULL, SQLITE_LOCKED), -EBUSY);
	assert_int_equal(db_errno_from_sqlite(NULL, SQLITE_NOMEM), -ENOMEM);
	assert_int_equal(db_errno_from_sqlite(NULL, SQLITE_FULL), -ENOSPC);
	assert_int_equal(db_errno_from_sqlite(NULL, SQLITE_CONSTRAINT_UNIQUE), -EEXIST);
	assert_int_equal(db_errno_from_sqlite(NULL, SQLITE_CONSTRAINT_CHECK), -EINVAL);
	assert_int_equal(db_errno_from_sqlite(NULL, SQLITE_CORRUPT), -EBADMSG);
	assert_int_equal(db_errno_from_sqlite(NULL, SQLITE_ERROR), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_select),
		cmocka_unit_test(test_outcome_counts),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_boots),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_report_reads),
		cmocka_unit_test(test_errmsg),
		cmocka_unit_test(test_errno_mapping),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
