/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reads behind analysis/ (db-analysis.h): the SQL of the compare engine, the decision
 * rule's per-boot counts and the report's records. Counts and latency histograms come from
 * agg_outcomes and agg_latency, which triggers keep at ingest (schema/004-aggregates.sql):
 * a comparison reads a few thousand rows whatever the number of cycles. The raw queries
 * make one pass each over the runs' rows (no GROUP BY: a temporary b-tree costs more than
 * the caller's loop). Latency is that of the cycles that bound correctly (ok, deferred_ok)
 * only: agg_latency counts no other (schema 007) and the raw queries filter the same way.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db-analysis.h"
#include "db-internal.h"
#include "db-query.h"
#include "macro.h"
#include "util.h"

void db_run_set_done(struct db_run_set *s)
{
	free(s->ids);
	free(s->label);
	free(s->release);
	*s = (struct db_run_set){ 0 };
}

int db_analysis_runs_select(struct db *db, enum db_run_key key, const char *value,
			    struct db_run_set *ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_(db_run_set_done) struct db_run_set set = { 0 };
	size_t cap = 0;
	const char *sql;
	int r;

	switch (key) {
	case DB_RUN_KEY_UUID:
		sql = "SELECT r.id, k.label, k.release FROM runs r JOIN kernels k ON "
		      "k.id = r.kernel_id WHERE r.uuid = ?1";
		break;
	case DB_RUN_KEY_KERNEL_ID:
		sql = "SELECT r.id, k.label, k.release FROM runs r JOIN kernels k ON "
		      "k.id = r.kernel_id WHERE k.id = CAST(?1 AS INTEGER) ORDER BY r.id";
		break;
	case DB_RUN_KEY_LABEL:
		sql = "SELECT r.id, k.label, k.release FROM runs r JOIN kernels k ON "
		      "k.id = r.kernel_id WHERE k.label = ?1 ORDER BY r.id";
		break;
	default: return db_fail(db, -EINVAL, "invalid run key %d", (int)key);
	}
	r = db_prepare(db, sql, &s);
	if (r < 0)
		return r;
	if (bind_text(s, 1, value))
		return db_sqlerr_last(db);
	while ((r = db_step_row(db, s)) > 0) {
		if (set.n == cap) {
			size_t c = cap ? 2 * cap : 8;
			int64_t *ids = reallocarray(set.ids, c, sizeof(*ids));

			if (!ids)
				return db_fail(db, -ENOMEM, "out of memory");
			set.ids = ids;
			cap = c;
		}
		set.ids[set.n++] = col_int(s, 0);
		if (set.n == 1) {
			const char *label = col_text(s, 1), *release = col_text(s, 2);

			set.label = label ? strdup(label) : NULL;
			set.release = release ? strdup(release) : NULL;
			if ((label && !set.label) || (release && !set.release))
				return db_fail(db, -ENOMEM, "out of memory");
		}
	}
	if (r < 0)
		return r;
	*ret = set;
	set = (struct db_run_set){ 0 };
	return 0;
}

int db_analysis_fingerprint(struct db *db, int64_t ret[3])
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare(db,
		       "SELECT (SELECT MAX(id) FROM kernels), "
		       "(SELECT MAX(id) FROM runs), (SELECT MAX(id) FROM cycles)",
		       &s);
	if (r < 0)
		return r;
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -EIO, "no row of row ids");
	for (int i = 0; i < 3; i++)
		ret[i] = col_int(s, i);
	return 0;
}

int db_analysis_outcome_counts(struct db *db, const int64_t *run_ids, size_t n_runs,
			       db_outcome_count_fn fn, void *userdata)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare_in(
		db,
		"SELECT r.scenario, a.device, a.outcome, a.swept, a.sweep_value, a.n "
		"FROM agg_outcomes a JOIN runs r ON r.id = a.run_id WHERE a.run_id IN ",
		run_ids, n_runs, "", &s);
	if (r < 0)
		return r;
	while ((r = db_step_row(db, s)) > 0) {
		struct db_outcome_count row = {
			.scenario = col_text(s, 0),
			.device = col_text(s, 1),
			.outcome = outcome_from_string(col_text(s, 2)),
			.swept = sqlite3_column_int(s, 3) != 0,
			.sweep_value = col_int(s, 4),
			.n = col_int(s, 5),
		};

		r = fn(&row, userdata);
		if (r < 0)
			return r;
	}
	return r;
}

/* Every row of a query of (scenario, device, metric index, value, count) to fn. */
static int db_latency_rows(struct db *db, const char *head, const int64_t *run_ids,
			   size_t n_runs, const char *tail, db_latency_fn fn,
			   void *userdata)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare_in(db, head, run_ids, n_runs, tail, &s);
	if (r < 0)
		return r;
	while ((r = db_step_row(db, s)) > 0) {
		struct db_latency_value row = {
			.scenario = col_text(s, 0),
			.device = col_text(s, 1),
			.metric = sqlite3_column_int(s, 2) ? DB_LATENCY_BIND
							   : DB_LATENCY_TIME_TO_BOUND,
			.value = col_int(s, 3),
			.n = col_int(s, 4),
		};

		r = fn(&row, userdata);
		if (r < 0)
			return r;
	}
	return r;
}

int db_analysis_latency_binned(struct db *db, const int64_t *run_ids, size_t n_runs,
			       db_latency_fn fn, void *userdata)
{
	return db_latency_rows(
		db,
		"SELECT r.scenario, a.device, a.metric = 'bind_latency', a.bin, a.n "
		"FROM agg_latency a JOIN runs r ON r.id = a.run_id WHERE a.run_id IN ",
		run_ids, n_runs, "", fn, userdata);
}

int db_analysis_latency_raw(struct db *db, const int64_t *run_ids, size_t n_runs,
			    db_latency_fn fn, void *userdata)
{
	int r;

	r = db_latency_rows(db,
			    "SELECT r.scenario, o.device, 0, o.time_to_bound_ns, 1 "
			    "FROM observations o JOIN cycles c ON c.id = o.cycle_id "
			    "JOIN runs r ON r.id = c.run_id WHERE o.consumer = 1 AND "
			    "o.time_to_bound_ns IS NOT NULL AND "
			    "c.outcome IN ('ok', 'deferred_ok') AND c.run_id IN ",
			    run_ids, n_runs, "", fn, userdata);
	if (r < 0)
		return r;
	return db_latency_rows(
		db,
		"SELECT r.scenario, a.arg, 1, a.end_ns - a.start_ns, 1 "
		"FROM actions a JOIN cycles c ON c.id = a.cycle_id "
		"JOIN runs r ON r.id = c.run_id WHERE c.run_id IN ",
		run_ids, n_runs,
		" AND a.verb IN ('bind', 'probe') AND a.end_ns IS NOT NULL AND "
		"a.arg IS NOT NULL AND c.outcome IN ('ok', 'deferred_ok')",
		fn, userdata);
}

int db_analysis_reboot_seen(struct db *db, const int64_t *run_ids, size_t n_runs,
			    bool *ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare_in(db,
			  "SELECT EXISTS (SELECT 1 FROM actions a JOIN cycles c ON "
			  "c.id = a.cycle_id WHERE a.verb = 'reboot' AND c.run_id IN ",
			  run_ids, n_runs, ")", &s);
	if (r < 0)
		return r;
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -EIO, "EXISTS returned no row");
	*ret = sqlite3_column_int(s, 0) != 0;
	return 0;
}

int db_analysis_boot_counts(struct db *db, const int64_t *run_ids, size_t n_runs,
			    db_boot_count_fn fn, void *userdata)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare_in(
		db,
		"SELECT c.run_id, c.boot, r.scenario, o.device, o.outcome, COUNT(*) "
		"FROM observations o JOIN cycles c ON c.id = o.cycle_id "
		"JOIN runs r ON r.id = c.run_id "
		"WHERE o.consumer = 1 AND c.run_id IN ",
		run_ids, n_runs,
		" GROUP BY c.run_id, c.boot, r.scenario, o.device, o.outcome "
		"ORDER BY c.run_id, c.boot",
		&s);
	if (r < 0)
		return r;
	while ((r = db_step_row(db, s)) > 0) {
		struct db_boot_count row = {
			.run_id = col_int(s, 0),
			.boot = col_int(s, 1),
			.scenario = col_text(s, 2),
			.device = col_text(s, 3),
			.outcome = outcome_from_string(col_text(s, 4)),
			.n = col_int(s, 5),
		};

		r = fn(&row, userdata);
		if (r < 0)
			return r;
	}
	return r;
}

int db_analysis_kernels(struct db *db, const int64_t *run_ids, size_t n_runs,
			json_t **ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return db_fail(db, -ENOMEM, "out of memory");
	r = db_prepare_in(db,
			  "SELECT DISTINCT k.id, k.release, k.version, k.build_id, "
			  "k.cmdline, k.label, k.patches FROM kernels k JOIN runs r ON "
			  "r.kernel_id = k.id WHERE r.id IN ",
			  run_ids, n_runs, " ORDER BY k.id", &s);
	if (r < 0)
		return r;
	r = db_json_rows(db, s, 0, arr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(arr);
	return 0;
}

int db_analysis_run_summaries(struct db *db, const int64_t *run_ids, size_t n_runs,
			      json_t **ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return db_fail(db, -ENOMEM, "out of memory");
	r = db_prepare_in(db, "SELECT uuid FROM runs WHERE id IN ", run_ids, n_runs,
			  " ORDER BY id", &s);
	if (r < 0)
		return r;
	while ((r = db_step_row(db, s)) > 0) {
		json_t *sum = NULL;
		int k = db_query_run_summary(db, col_text(s, 0), &sum);

		if (k < 0)
			return k;
		if (json_array_append_new(arr, sum) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(arr);
	return 0;
}

void db_cycle_ref_done(struct db_cycle_ref *c)
{
	free(c->note);
	free(c->run_uuid);
	*c = (struct db_cycle_ref){ 0 };
}

int db_analysis_first_cycle(struct db *db, const int64_t *run_ids, size_t n_runs,
			    enum outcome o, struct db_cycle_ref *ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	const char *name = outcome_to_string(o), *note, *uuid;
	struct db_cycle_ref c = { 0 };
	int r;

	if (!name)
		return db_fail(db, -EINVAL, "invalid outcome %d", (int)o);
	/* by the index on cycles (run_id, outcome): a million cycles cost what ten do */
	r = db_prepare_in(db,
			  "SELECT c.id, c.seq, c.note, r.uuid FROM cycles c JOIN runs r "
			  "ON r.id = c.run_id WHERE c.run_id IN ",
			  run_ids, n_runs,
			  " AND c.outcome = ?1 ORDER BY c.run_id, c.id LIMIT 1", &s);
	if (r < 0)
		return r;
	if (bind_text(s, 1, name))
		return db_sqlerr_last(db);
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -ENOENT, "no cycle with outcome %s", name);
	note = col_text(s, 2);
	uuid = col_text(s, 3);
	c.id = col_int(s, 0);
	c.seq = col_int(s, 1);
	c.note = note ? strdup(note) : NULL;
	c.run_uuid = strdup(uuid ? uuid : "");
	if ((note && !c.note) || !c.run_uuid) {
		db_cycle_ref_done(&c);
		return db_fail(db, -ENOMEM, "out of memory");
	}
	*ret = c;
	return 0;
}

int db_analysis_cycle_event(struct db *db, int64_t cycle_id, enum event_class c,
			    struct kernel_event *ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	const char *name = event_class_to_string(c);
	struct kernel_event *ev = NULL;
	size_t n = 0;
	int r;

	if (!name)
		return db_fail(db, -EINVAL, "invalid event class %d", (int)c);
	r = db_prepare(db,
		       "SELECT boot, source, class, seq, ts_ns, prio, device, message, "
		       "detail FROM events WHERE cycle_id = ?1 AND class = ?2 "
		       "ORDER BY id LIMIT 1",
		       &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, cycle_id) || bind_text(s, 2, name))
		return db_sqlerr_last(db);
	r = db_events_load(db, s, &ev, &n);
	if (r < 0)
		return r;
	if (n == 0)
		return db_fail(db, -ENOENT, "no %s record in cycle %lld", name,
			       (long long)cycle_id);
	*ret = ev[0];
	free(ev);
	return 0;
}
