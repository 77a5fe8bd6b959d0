/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The API's read-only queries (db-query.h). Each is one or two SQL statements over the
 * tables of schema/001-initial.sql whose rows become JSON objects column by column;
 * aggregation happens in SQLite, not here. SQLite errors become negative errnos at this
 * boundary and nothing logs.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db-query.h"
#include "macro.h"
#include "model.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)
#define _cleanup_json_ _cleanup_(json_decrefp)

static int dbq_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return -EBADMSG;
	default: return -EIO;
	}
}

const char *db_query_errmsg(struct db *db)
{
	return sqlite3_errmsg(db_sqlite(db));
}

static int dbq_prepare(struct db *db, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(db_sqlite(db), sql, -1, ret, NULL);

	return rc == SQLITE_OK ? 0 : dbq_errno(rc);
}

/* 1 for a row, 0 when done, negative errno on failure. */
static int dbq_step(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : dbq_errno(rc);
}

static int dbq_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	int rc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT)
		   : sqlite3_bind_null(s, i);

	return rc == SQLITE_OK ? 0 : dbq_errno(rc);
}

static int dbq_bind_int(sqlite3_stmt *s, int i, int64_t v)
{
	int rc = sqlite3_bind_int64(s, i, v);

	return rc == SQLITE_OK ? 0 : dbq_errno(rc);
}

/* A JSON string of text that may hold invalid UTF-8 (kernel messages can): bytes above
 * 0x7f become '?' when jansson refuses the text. */
static json_t *dbq_string(const char *t)
{
	_cleanup_free_ char *clean = NULL;
	json_t *v = json_string(t);

	if (v)
		return v;
	clean = strdup(t);
	if (!clean)
		return NULL;
	for (char *p = clean; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return json_string(clean);
}

static json_t *dbq_column(sqlite3_stmt *s, int i)
{
	switch (sqlite3_column_type(s, i)) {
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(s, i));
	case SQLITE_FLOAT: return json_real(sqlite3_column_double(s, i));
	case SQLITE_TEXT: return dbq_string((const char *)sqlite3_column_text(s, i));
	default: return json_null();
	}
}

/* The columns from first on as a JSON object; a column named "a.b" goes into the nested
 * object "a" as "b". */
static int dbq_row(sqlite3_stmt *s, int first, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();
	int n = sqlite3_column_count(s);

	if (!o)
		return -ENOMEM;
	for (int i = first; i < n; i++) {
		const char *name = sqlite3_column_name(s, i), *dot;
		json_t *target = o, *v;

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
		v = dbq_column(s, i);
		if (json_object_set_new(target, name, v) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

/* Every row of s (columns from first on) appended to arr. */
static int dbq_rows(sqlite3_stmt *s, int first, json_t *arr)
{
	int r;

	while ((r = dbq_step(s)) > 0) {
		json_t *o;

		r = dbq_row(s, first, &o);
		if (r < 0)
			return r;
		if (json_array_append_new(arr, o) < 0)
			return -ENOMEM;
	}
	return r;
}

static int dbq_run_id(struct db *db, const char *uuid, int64_t *ret_id,
		      json_t **ret_sweep_var)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = dbq_prepare(db, "SELECT id, sweep_var FROM runs WHERE uuid = ?1", &s);
	if (r < 0)
		return r;
	r = dbq_bind_text(s, 1, uuid);
	if (r < 0)
		return r;
	r = dbq_step(s);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	if (ret_sweep_var) {
		json_t *v = dbq_column(s, 1);

		if (!v)
			return -ENOMEM;
		*ret_sweep_var = v;
	}
	*ret_id = sqlite3_column_int64(s, 0);
	return 0;
}

int db_query_targets(struct db *db, json_t **ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return -ENOMEM;
	r = dbq_prepare(
		db,
		"SELECT t.id, t.name, t.kind, COUNT(r.id) AS runs, "
		"(SELECT COUNT(*) FROM cycles c JOIN runs r2 ON r2.id = c.run_id "
		"WHERE r2.target_id = t.id) AS cycles, MAX(r.started_at) AS last_run_at "
		"FROM targets t LEFT JOIN runs r ON r.target_id = t.id "
		"GROUP BY t.id ORDER BY t.name, t.kind",
		&s);
	if (r < 0)
		return r;
	r = dbq_rows(s, 0, arr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(arr);
	return 0;
}

int db_query_run_count(struct db *db, const struct db_run_filter *f, int64_t *ret)
{
	static const struct db_run_filter all = {};
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	if (!f)
		f = &all;
	r = dbq_prepare(
		db,
		"SELECT COUNT(*) FROM runs r JOIN targets t ON t.id = r.target_id "
		"JOIN kernels k ON k.id = r.kernel_id "
		"WHERE (?1 IS NULL OR t.name = ?1) AND (?2 IS NULL OR k.label = ?2) "
		"AND (?3 IS NULL OR r.campaign = ?3)",
		&s);
	if (r < 0)
		return r;
	if ((r = dbq_bind_text(s, 1, f->target)) < 0 ||
	    (r = dbq_bind_text(s, 2, f->kernel_label)) < 0 ||
	    (r = dbq_bind_text(s, 3, f->campaign)) < 0)
		return r;
	r = dbq_step(s);
	if (r < 0)
		return r;
	if (r == 0)
		return -EIO;
	*ret = sqlite3_column_int64(s, 0);
	return 0;
}

/* Binds the optional sweep filter of db_query_run_cycles(): NULL matches every cycle. */
static int dbq_bind_sweep(sqlite3_stmt *s, int i, const int64_t *sweep_us)
{
	int rc;

	if (sweep_us)
		return dbq_bind_int(s, i, *sweep_us);
	rc = sqlite3_bind_null(s, i);
	return rc == SQLITE_OK ? 0 : dbq_errno(rc);
}

int db_query_run_cycles(struct db *db, const char *uuid, const int64_t *sweep_us,
			int64_t limit, int64_t offset, json_t **ret, int64_t *ret_total)
{
	_cleanup_stmt_ sqlite3_stmt *cs = NULL, *os = NULL, *ns = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int64_t run_id, total;
	size_t i = 0;
	int r;

	if (!arr)
		return -ENOMEM;
	if (limit <= 0 || offset < 0)
		return -EINVAL;
	r = dbq_run_id(db, uuid, &run_id, NULL);
	if (r < 0)
		return r;

	r = dbq_prepare(db,
			"SELECT COUNT(*) FROM cycles WHERE run_id = ?1 AND "
			"(?2 IS NULL OR sweep_value = ?2)",
			&ns);
	if (r < 0 || (r = dbq_bind_int(ns, 1, run_id)) < 0 ||
	    (r = dbq_bind_sweep(ns, 2, sweep_us)) < 0 || (r = dbq_step(ns)) < 0)
		return r;
	total = sqlite3_column_int64(ns, 0);

	r = dbq_prepare(
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
	if (r < 0 || (r = dbq_bind_int(cs, 1, run_id)) < 0 ||
	    (r = dbq_bind_int(cs, 2, limit)) < 0 ||
	    (r = dbq_bind_int(cs, 3, offset)) < 0 ||
	    (r = dbq_bind_sweep(cs, 4, sweep_us)) < 0)
		return r;
	r = dbq_rows(cs, 0, arr);
	if (r < 0)
		return r;
	for (size_t j = 0; j < json_array_size(arr); j++) {
		json_t *c = json_array_get(arr, j);

		if (json_object_set_new(c, "consumers", json_array()) < 0)
			return -ENOMEM;
	}

	/* The consumers of the same page, in the same seq order: a merge walk attaches
	 * them. */
	r = dbq_prepare(
		db,
		"SELECT c.seq, o.device, o.outcome, o.driver, o.iommu_group, "
		"o.domain_type, o.time_to_bound_ns, o.deferrals, o.deferred_reason "
		"FROM observations o JOIN cycles c ON c.id = o.cycle_id "
		"WHERE o.consumer = 1 AND c.id IN (SELECT id FROM cycles WHERE "
		"run_id = ?1 AND (?4 IS NULL OR sweep_value = ?4) ORDER BY seq LIMIT ?2 "
		"OFFSET ?3) ORDER BY c.seq, o.device",
		&os);
	if (r < 0 || (r = dbq_bind_int(os, 1, run_id)) < 0 ||
	    (r = dbq_bind_int(os, 2, limit)) < 0 ||
	    (r = dbq_bind_int(os, 3, offset)) < 0 ||
	    (r = dbq_bind_sweep(os, 4, sweep_us)) < 0)
		return r;
	while ((r = dbq_step(os)) > 0) {
		int64_t seq = sqlite3_column_int64(os, 0);
		json_t *o, *c;

		while (i < json_array_size(arr) &&
		       json_integer_value(
			       json_object_get(json_array_get(arr, i), "seq")) < seq)
			i++;
		c = json_array_get(arr, i);
		if (!c)
			break; /* cannot happen: both statements read one snapshot */
		r = dbq_row(os, 1, &o);
		if (r < 0)
			return r;
		if (json_array_append_new(json_object_get(c, "consumers"), o) < 0)
			return -ENOMEM;
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
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	const char *uuid;
	int r;

	r = dbq_prepare(db,
			"SELECT c.run_id, c.seq, r.uuid FROM cycles c JOIN runs r ON "
			"r.id = c.run_id WHERE c.id = ?1",
			&s);
	if (r < 0 || (r = dbq_bind_int(s, 1, cycle_id)) < 0 || (r = dbq_step(s)) < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	uuid = (const char *)sqlite3_column_text(s, 2);
	if (!uuid || strlen(uuid) != 36)
		return -EBADMSG;
	memcpy(ret_uuid, uuid, 37);
	*ret_run_id = sqlite3_column_int64(s, 0);
	*ret_seq = sqlite3_column_int64(s, 1);
	return 0;
}

static json_t *dbq_outcome_counts(void)
{
	json_t *o = json_object();

	for (int i = 0; o && i < _OUTCOME_MAX; i++)
		if (json_object_set_new(o, outcome_to_string(i), json_integer(0)) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *dbq_bucket_new(int64_t sweep)
{
	return json_pack("{s:I, s:I, s:I, s:o}", "sweep_us", (json_int_t)sweep, "n",
			 (json_int_t)0, "failures", (json_int_t)0, "outcomes",
			 dbq_outcome_counts());
}

static int dbq_add(json_t *obj, const char *key, int64_t n)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return -EBADMSG;
	return json_integer_set(v, json_integer_value(v) + n) < 0 ? -ENOMEM : 0;
}

int db_query_run_sweep(struct db *db, const char *uuid, json_t **ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	_cleanup_json_ json_t *out = NULL, *consumers = json_array(), *sweep_var = NULL;
	json_t *consumer = NULL, *bucket = NULL;
	int64_t run_id;
	int r;

	if (!consumers)
		return -ENOMEM;
	r = dbq_run_id(db, uuid, &run_id, &sweep_var);
	if (r < 0)
		return r;
	r = dbq_prepare(
		db,
		/* counts kept at ingest (schema 004): no scan of the run's cycles */
		"SELECT device, sweep_value, outcome, n FROM agg_outcomes "
		"WHERE run_id = ?1 AND swept = 1 AND n > 0 "
		"ORDER BY device, sweep_value, outcome",
		&s);
	if (r < 0 || (r = dbq_bind_int(s, 1, run_id)) < 0)
		return r;
	while ((r = dbq_step(s)) > 0) {
		const char *device = (const char *)sqlite3_column_text(s, 0);
		const char *outcome = (const char *)sqlite3_column_text(s, 2);
		int64_t sweep = sqlite3_column_int64(s, 1),
			n = sqlite3_column_int64(s, 3);
		int o = outcome ? outcome_from_string(outcome) : -EINVAL;

		if (!device || o < 0)
			return -EBADMSG;
		if (!consumer ||
		    !streq(json_string_value(json_object_get(consumer, "device")),
			   device)) {
			consumer = json_pack("{s:o, s:[]}", "device", dbq_string(device),
					     "buckets");
			if (json_array_append_new(consumers, consumer) < 0)
				return -ENOMEM;
			bucket = NULL;
		}
		if (!bucket ||
		    json_integer_value(json_object_get(bucket, "sweep_us")) != sweep) {
			bucket = dbq_bucket_new(sweep);
			if (json_array_append_new(json_object_get(consumer, "buckets"),
						  bucket) < 0)
				return -ENOMEM;
		}
		if ((r = dbq_add(bucket, "n", n)) < 0 ||
		    (o > OUTCOME_DEFERRED_OK &&
		     (r = dbq_add(bucket, "failures", n)) < 0) ||
		    (r = dbq_add(json_object_get(bucket, "outcomes"), outcome, n)) < 0)
			return r;
	}
	if (r < 0)
		return r;
	out = json_pack("{s:s, s:O, s:O}", "run", uuid, "sweep_var", sweep_var,
			"consumers", consumers);
	if (!out)
		return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

int db_query_trend(struct db *db, const struct db_trend_filter *f, json_t **ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return -ENOMEM;
	if (f->outcome >= _OUTCOME_MAX || f->outcome < -1)
		return -EINVAL;
	r = dbq_prepare(
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
	if ((r = dbq_bind_text(s, 1, f->target)) < 0 ||
	    (r = dbq_bind_text(s, 2, f->consumer)) < 0 ||
	    (r = dbq_bind_text(s, 3, f->kernel_label)) < 0 ||
	    (r = dbq_bind_text(s, 4, f->campaign)) < 0 ||
	    (r = dbq_bind_text(
		     s, 5, f->outcome < 0 ? NULL : outcome_to_string(f->outcome))) < 0 ||
	    (r = dbq_bind_int(s, 6, f->limit > 0 ? f->limit : -1)) < 0)
		return r;
	/* Newest first in SQL (for the limit), oldest first in the answer. */
	while ((r = dbq_step(s)) > 0) {
		json_t *o;

		r = dbq_row(s, 0, &o);
		if (r < 0)
			return r;
		if (json_array_insert_new(arr, 0, o) < 0)
			return -ENOMEM;
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(arr);
	return 0;
}
