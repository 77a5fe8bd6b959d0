/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The API's read-only queries (db-query.h). Each is one or two SQL statements over the
 * tables of schema/001-initial.sql whose rows become JSON objects column by column;
 * aggregation happens in SQLite, not here. It also holds the shaping of rows into JSON
 * that every JSON query of store/ uses (db-internal.h). SQLite errors become negative
 * errnos at this boundary, their messages go to db_errmsg(), and nothing logs.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db-internal.h"
#include "db-query.h"
#include "macro.h"
#include "model.h"

/* ---- JSON rows, for every query of store/ that answers in JSON ------------------------ */

json_t *db_json_string(const char *t)
{
	_cleanup_free_ char *clean = NULL;
	json_t *v;

	if (!t)
		return NULL;
	v = json_string(t);
	if (v)
		return v;
	/* Only invalid UTF-8 makes json_string() fail for non-NULL text. */
	clean = strdup(t);
	if (!clean)
		return NULL;
	for (char *p = clean; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return json_string(clean);
}

json_t *db_json_column(sqlite3_stmt *s, int i)
{
	switch (sqlite3_column_type(s, i)) {
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(s, i));
	case SQLITE_FLOAT: return json_real(sqlite3_column_double(s, i));
	case SQLITE_TEXT: return db_json_string(col_text(s, i));
	default: return json_null();
	}
}

int db_json_row(sqlite3_stmt *s, int first, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();
	int n = sqlite3_column_count(s);

	if (!o)
		return -ENOMEM;
	for (int i = first; i < n; i++) {
		const char *name = sqlite3_column_name(s, i), *dot;
		json_t *target = o;

		if (!name)
			return -ENOMEM;
		dot = strchr(name, '.');
		if (dot) {
			_cleanup_free_ char *outer = strndup(name, (size_t)(dot - name));

			if (!outer)
				return -ENOMEM;
			target = json_object_get(o, outer);
			if (!target) {
				target = json_object();
				if (json_object_set_new(o, outer, target) < 0)
					return -ENOMEM;
			}
			name = dot + 1;
		}
		/* set_new takes (and on failure frees) the value; NULL fails */
		if (json_object_set_new(target, name, db_json_column(s, i)) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

json_t *db_json_outcome_counts(void)
{
	json_t *o = json_object();

	for (int i = 0; o && i < _OUTCOME_MAX; i++)
		if (json_object_set_new(o, outcome_to_string(i), json_integer(0)) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

int db_json_add(json_t *obj, const char *key, int64_t n)
{
	json_t *v = key ? json_object_get(obj, key) : NULL;

	if (!v)
		return -EBADMSG;
	return json_integer_set(v, json_integer_value(v) + n) < 0 ? -ENOMEM : 0;
}

int db_json_rows(struct db *db, sqlite3_stmt *s, int first, json_t *arr)
{
	int r;

	while ((r = db_step_row(db, s)) > 0) {
		json_t *o;

		r = db_json_row(s, first, &o);
		if (r < 0)
			return db_fail(db, r, "out of memory");
		if (json_array_append_new(arr, o) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
	}
	return r;
}

/* ---- the API's queries --------------------------------------------------------------- */

/* Binds text or NULL: 0 or the mapped errno with SQLite's message recorded. */
static int dbq_bind_text(struct db *db, sqlite3_stmt *s, int i, const char *v)
{
	return bind_text(s, i, v) == SQLITE_OK ? 0 : db_sqlerr_last(db);
}

static int dbq_bind_int(struct db *db, sqlite3_stmt *s, int i, int64_t v)
{
	return bind_int(s, i, v) == SQLITE_OK ? 0 : db_sqlerr_last(db);
}

static int dbq_run_id(struct db *db, const char *uuid, int64_t *ret_id,
		      json_t **ret_sweep_var)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare(db, "SELECT id, sweep_var FROM runs WHERE uuid = ?1", &s);
	if (r < 0)
		return r;
	r = dbq_bind_text(db, s, 1, uuid);
	if (r < 0)
		return r;
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -ENOENT, "no run %s", uuid);
	if (ret_sweep_var) {
		json_t *v = db_json_column(s, 1);

		if (!v)
			return db_fail(db, -ENOMEM, "out of memory");
		*ret_sweep_var = v;
	}
	*ret_id = col_int(s, 0);
	return 0;
}

int db_query_targets(struct db *db, json_t **ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return db_fail(db, -ENOMEM, "out of memory");
	r = db_prepare(
		db,
		"SELECT t.id, t.name, t.kind, COUNT(r.id) AS runs, "
		"(SELECT COUNT(*) FROM cycles c JOIN runs r2 ON r2.id = c.run_id "
		"WHERE r2.target_id = t.id) AS cycles, MAX(r.started_at) AS last_run_at "
		"FROM targets t LEFT JOIN runs r ON r.target_id = t.id "
		"GROUP BY t.id ORDER BY t.name, t.kind",
		&s);
	if (r < 0)
		return r;
	r = db_json_rows(db, s, 0, arr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(arr);
	return 0;
}

int db_query_run_count(struct db *db, const struct db_run_filter *f, int64_t *ret)
{
	static const struct db_run_filter all = {};
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	if (!f)
		f = &all;
	r = db_prepare(
		db,
		"SELECT COUNT(*) FROM runs r JOIN targets t ON t.id = r.target_id "
		"JOIN kernels k ON k.id = r.kernel_id "
		"WHERE (?1 IS NULL OR t.name = ?1) AND (?2 IS NULL OR k.label = ?2) "
		"AND (?3 IS NULL OR r.campaign = ?3)",
		&s);
	if (r < 0)
		return r;
	if ((r = dbq_bind_text(db, s, 1, f->target)) < 0 ||
	    (r = dbq_bind_text(db, s, 2, f->kernel_label)) < 0 ||
	    (r = dbq_bind_text(db, s, 3, f->campaign)) < 0)
		return r;
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -EIO, "COUNT(*) returned no row");
	*ret = col_int(s, 0);
	return 0;
}

/* Binds the optional sweep filter of db_query_run_cycles(): NULL matches every cycle. */
static int dbq_bind_sweep(struct db *db, sqlite3_stmt *s, int i, const int64_t *sweep_us)
{
	if (sweep_us)
		return dbq_bind_int(db, s, i, *sweep_us);
	return sqlite3_bind_null(s, i) == SQLITE_OK ? 0 : db_sqlerr_last(db);
}

int db_query_run_cycles(struct db *db, const char *uuid, const int64_t *sweep_us,
			int64_t limit, int64_t offset, json_t **ret, int64_t *ret_total)
{
	_cleanup_finalize_ sqlite3_stmt *cs = NULL, *os = NULL, *ns = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int64_t run_id, total;
	size_t i = 0;
	int r;

	if (!arr)
		return db_fail(db, -ENOMEM, "out of memory");
	if (limit <= 0 || offset < 0)
		return db_fail(db, -EINVAL, "invalid page (limit %lld, offset %lld)",
			       (long long)limit, (long long)offset);
	r = dbq_run_id(db, uuid, &run_id, NULL);
	if (r < 0)
		return r;

	r = db_prepare(db,
		       "SELECT COUNT(*) FROM cycles WHERE run_id = ?1 AND "
		       "(?2 IS NULL OR sweep_value = ?2)",
		       &ns);
	if (r < 0 || (r = dbq_bind_int(db, ns, 1, run_id)) < 0 ||
	    (r = dbq_bind_sweep(db, ns, 2, sweep_us)) < 0 ||
	    (r = db_step_row(db, ns)) < 0)
		return r;
	total = col_int(ns, 0);

	r = db_prepare(
		db,
		"SELECT c.id, c.seq, c.boot, c.sweep_value, c.outcome, c.deferrals, "
		"c.note, c.start_ns, c.end_ns, c.end_ns - c.start_ns AS duration_ns, "
		"(SELECT MAX(ABS(a.start_ns - a.planned_ns)) FROM actions a WHERE "
		"a.cycle_id = c.id AND a.grp >= 0 AND a.planned_ns IS NOT NULL AND "
		"a.start_ns > 0) AS max_lateness_ns "
		"FROM cycles c WHERE c.run_id = ?1 AND (?4 IS NULL OR c.sweep_value = "
		"?4) "
		"ORDER BY c.seq LIMIT ?2 OFFSET ?3",
		&cs);
	if (r < 0 || (r = dbq_bind_int(db, cs, 1, run_id)) < 0 ||
	    (r = dbq_bind_int(db, cs, 2, limit)) < 0 ||
	    (r = dbq_bind_int(db, cs, 3, offset)) < 0 ||
	    (r = dbq_bind_sweep(db, cs, 4, sweep_us)) < 0)
		return r;
	r = db_json_rows(db, cs, 0, arr);
	if (r < 0)
		return r;
	for (size_t j = 0; j < json_array_size(arr); j++) {
		json_t *c = json_array_get(arr, j);

		if (json_object_set_new(c, "consumers", json_array()) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
	}

	/* The consumers of the same page, in the same seq order: a merge walk attaches
	 * them. */
	r = db_prepare(
		db,
		"SELECT c.seq, o.device, o.outcome, o.driver, o.iommu_group, "
		"o.domain_type, o.time_to_bound_ns, o.deferrals, o.deferred_reason "
		"FROM observations o JOIN cycles c ON c.id = o.cycle_id "
		"WHERE o.consumer = 1 AND c.id IN (SELECT id FROM cycles WHERE "
		"run_id = ?1 AND (?4 IS NULL OR sweep_value = ?4) ORDER BY seq LIMIT ?2 "
		"OFFSET ?3) ORDER BY c.seq, o.device",
		&os);
	if (r < 0 || (r = dbq_bind_int(db, os, 1, run_id)) < 0 ||
	    (r = dbq_bind_int(db, os, 2, limit)) < 0 ||
	    (r = dbq_bind_int(db, os, 3, offset)) < 0 ||
	    (r = dbq_bind_sweep(db, os, 4, sweep_us)) < 0)
		return r;
	while ((r = db_step_row(db, os)) > 0) {
		int64_t seq = col_int(os, 0);
		json_t *o, *c;

		while (i < json_array_size(arr) &&
		       json_integer_value(
			       json_object_get(json_array_get(arr, i), "seq")) < seq)
			i++;
		c = json_array_get(arr, i);
		if (!c)
			break; /* cannot happen: both statements read one snapshot */
		r = db_json_row(os, 1, &o);
		if (r < 0)
			return db_fail(db, r, "out of memory");
		if (json_array_append_new(json_object_get(c, "consumers"), o) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(arr);
	if (ret_total)
		*ret_total = total;
	return 0;
}

int db_query_cycle_locate(struct db *db, int64_t cycle_id, int64_t *ret_run_id,
			  char ret_uuid[37], int64_t *ret_seq)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	const char *uuid;
	int r;

	r = db_prepare(db,
		       "SELECT c.run_id, c.seq, r.uuid FROM cycles c JOIN runs r ON "
		       "r.id = c.run_id WHERE c.id = ?1",
		       &s);
	if (r < 0 || (r = dbq_bind_int(db, s, 1, cycle_id)) < 0 ||
	    (r = db_step_row(db, s)) < 0)
		return r;
	if (r == 0)
		return db_fail(db, -ENOENT, "no cycle %lld", (long long)cycle_id);
	uuid = col_text(s, 2);
	if (!uuid || strlen(uuid) != 36)
		return db_fail(db, -EBADMSG, "run of cycle %lld has a malformed UUID",
			       (long long)cycle_id);
	memcpy(ret_uuid, uuid, 37);
	*ret_run_id = col_int(s, 0);
	*ret_seq = col_int(s, 1);
	return 0;
}

static json_t *dbq_bucket_new(int64_t sweep)
{
	return json_pack("{s:I, s:I, s:I, s:o}", "sweep_us", (json_int_t)sweep, "n",
			 (json_int_t)0, "failures", (json_int_t)0, "outcomes",
			 db_json_outcome_counts());
}

int db_query_run_sweep(struct db *db, const char *uuid, json_t **ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_json_ json_t *out = NULL, *consumers = json_array(), *sweep_var = NULL;
	json_t *consumer = NULL, *bucket = NULL;
	int64_t run_id;
	int r;

	if (!consumers)
		return db_fail(db, -ENOMEM, "out of memory");
	r = dbq_run_id(db, uuid, &run_id, &sweep_var);
	if (r < 0)
		return r;
	r = db_prepare(
		db,
		/* counts kept at ingest (schema 004): no scan of the run's cycles */
		"SELECT device, sweep_value, outcome, n FROM agg_outcomes "
		"WHERE run_id = ?1 AND swept = 1 AND n > 0 "
		"ORDER BY device, sweep_value, outcome",
		&s);
	if (r < 0 || (r = dbq_bind_int(db, s, 1, run_id)) < 0)
		return r;
	while ((r = db_step_row(db, s)) > 0) {
		const char *device = col_text(s, 0);
		const char *outcome = col_text(s, 2);
		int64_t sweep = col_int(s, 1), n = col_int(s, 3);
		int o = outcome ? outcome_from_string(outcome) : -EINVAL;

		if (!device || o < 0)
			return db_fail(db, -EBADMSG, "malformed outcome count of run %s",
				       uuid);
		if (!consumer ||
		    !streq(json_string_value(json_object_get(consumer, "device")),
			   device)) {
			consumer = json_pack("{s:o, s:[]}", "device",
					     db_json_string(device), "buckets");
			if (json_array_append_new(consumers, consumer) < 0)
				return db_fail(db, -ENOMEM, "out of memory");
			bucket = NULL;
		}
		if (!bucket ||
		    json_integer_value(json_object_get(bucket, "sweep_us")) != sweep) {
			bucket = dbq_bucket_new(sweep);
			if (json_array_append_new(json_object_get(consumer, "buckets"),
						  bucket) < 0)
				return db_fail(db, -ENOMEM, "out of memory");
		}
		if ((r = db_json_add(bucket, "n", n)) < 0 ||
		    (o > OUTCOME_DEFERRED_OK &&
		     (r = db_json_add(bucket, "failures", n)) < 0) ||
		    (r = db_json_add(json_object_get(bucket, "outcomes"), outcome, n)) <
			    0)
			return db_fail(db, r, "cannot count outcome '%s'", outcome);
	}
	if (r < 0)
		return r;
	out = json_pack("{s:s, s:O, s:O}", "run", uuid, "sweep_var", sweep_var,
			"consumers", consumers);
	if (!out)
		return db_fail(db, -ENOMEM, "out of memory");
	*ret = TAKE_PTR(out);
	return 0;
}

int db_query_trend(struct db *db, const struct db_trend_filter *f, json_t **ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return db_fail(db, -ENOMEM, "out of memory");
	if (f->outcome >= _OUTCOME_MAX || f->outcome < -1)
		return db_fail(db, -EINVAL, "invalid outcome %d", f->outcome);
	r = db_prepare(
		db,
		"SELECT r.uuid AS run, r.started_at, r.campaign, r.scenario, t.name AS "
		"target, "
		"k.id AS \"kernel.id\", k.label AS \"kernel.label\", "
		"k.release AS \"kernel.release\", "
		"SUM(CASE WHEN ?5 IS NULL THEN o.outcome NOT IN ('ok', 'deferred_ok') "
		"ELSE o.outcome = ?5 END * o.n) AS k, SUM(o.n) AS n "
		/* counts kept at ingest (schema 004) */
		"FROM agg_outcomes o "
		"JOIN runs r ON r.id = o.run_id JOIN targets t ON t.id = r.target_id "
		"JOIN kernels k ON k.id = r.kernel_id "
		"WHERE (?1 IS NULL OR t.name = ?1) "
		"AND (?2 IS NULL OR o.device = ?2) AND (?3 IS NULL OR k.label = ?3) "
		"AND (?4 IS NULL OR r.campaign = ?4) "
		"GROUP BY r.id ORDER BY r.started_at DESC, r.id DESC LIMIT ?6",
		&s);
	if (r < 0)
		return r;
	if ((r = dbq_bind_text(db, s, 1, f->target)) < 0 ||
	    (r = dbq_bind_text(db, s, 2, f->consumer)) < 0 ||
	    (r = dbq_bind_text(db, s, 3, f->kernel_label)) < 0 ||
	    (r = dbq_bind_text(db, s, 4, f->campaign)) < 0 ||
	    (r = dbq_bind_text(db, s, 5,
			       f->outcome < 0 ? NULL : outcome_to_string(f->outcome))) <
		    0 ||
	    (r = dbq_bind_int(db, s, 6, f->limit > 0 ? f->limit : -1)) < 0)
		return r;
	/* Newest first in SQL (for the limit), oldest first in the answer. */
	while ((r = db_step_row(db, s)) > 0) {
		json_t *o;

		r = db_json_row(s, 0, &o);
		if (r < 0)
			return db_fail(db, r, "out of memory");
		if (json_array_insert_new(arr, 0, o) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(arr);
	return 0;
}
