/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The push thread's queries (db-push.h): which runs have something to spool, the cycles
 * of a run from a seq on, and the push_runs record of what was spooled. Failures go
 * through db.c's error channel (db-internal.h); nothing here logs.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db-internal.h"
#include "db-push.h"
#include "macro.h"

/* 1 with a row, 0 when done, negative errno on failure. */
static int db_push_step(struct db *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_sqlerr(db, rc);
}

/* Makes room for element n of *array (elements of size), doubling. */
static int db_push_grow(void **array, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? 2 * *cap : 16;
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*array, c * size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = c;
	return 0;
}

int db_push_runs_changed(struct db *db, struct db_push_run **ret, size_t *ret_n)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_free_ struct db_push_run *runs = NULL;
	size_t n = 0, cap = 0;
	int r;

	/* max(seq) comes from the (run_id, seq) index: no count over a long run's cycles
	 * every second. */
	r = db_prepare(
		db,
		"SELECT r.id, r.uuid, r.status, p.run_id IS NOT NULL, p.next_seq, "
		"p.spooled_at, (SELECT max(seq) FROM cycles c WHERE c.run_id = r.id) "
		"FROM runs r LEFT JOIN push_runs p ON p.run_id = r.id "
		"WHERE p.run_id IS NULL OR r.status = 'running' OR p.status != r.status "
		"ORDER BY r.id",
		&s);
	if (r < 0)
		return r;
	while ((r = db_push_step(db, s)) > 0) {
		const char *uuid = (const char *)sqlite3_column_text(s, 1);
		const char *status = (const char *)sqlite3_column_text(s, 2);
		struct db_push_run *p;

		/* the schema checks length(uuid) = 36; a bundle could not name another */
		if (!uuid || strlen(uuid) != 36)
			continue;
		if (db_push_grow((void **)&runs, &cap, n, sizeof(*runs)) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
		p = &runs[n++];
		*p = (struct db_push_run){
			.run_id = sqlite3_column_int64(s, 0),
			.running = status && streq(status, "running"),
			.spooled = sqlite3_column_int(s, 3) != 0,
			.next_seq = sqlite3_column_int64(s, 4),
			.spooled_at = sqlite3_column_int64(s, 5),
			.max_seq = sqlite3_column_type(s, 6) == SQLITE_NULL
					   ? -1
					   : sqlite3_column_int64(s, 6),
		};
		memcpy(p->uuid, uuid, sizeof(p->uuid));
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(runs);
	*ret_n = n;
	return 0;
}

int db_push_cycle_seqs(struct db *db, int64_t run_id, int64_t from_seq,
		       int64_t **ret_seqs, size_t *ret_n)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_free_ int64_t *seqs = NULL;
	size_t n = 0, cap = 0;
	int r;

	r = db_prepare(db,
		       "SELECT seq FROM cycles WHERE run_id = ?1 AND seq >= ?2 "
		       "ORDER BY seq",
		       &s);
	if (r < 0)
		return r;
	if (sqlite3_bind_int64(s, 1, run_id) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, from_seq) != SQLITE_OK)
		return db_sqlerr_last(db);
	while ((r = db_push_step(db, s)) > 0) {
		if (db_push_grow((void **)&seqs, &cap, n, sizeof(*seqs)) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
		seqs[n++] = sqlite3_column_int64(s, 0);
	}
	if (r < 0)
		return r;
	*ret_seqs = TAKE_PTR(seqs);
	*ret_n = n;
	return 0;
}

int db_push_run_spooled(struct db *db, int64_t run_id, int64_t next_seq,
			const char *status, int64_t spooled_at)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r, rc;

	if (next_seq < 0 || !status)
		return db_fail(db, -EINVAL, "push_runs: bad next_seq or status");
	r = db_prepare(db,
		       "INSERT OR REPLACE INTO push_runs (run_id, next_seq, status, "
		       "spooled_at) VALUES (?1, ?2, ?3, ?4)",
		       &s);
	if (r < 0)
		return r;
	if (sqlite3_bind_int64(s, 1, run_id) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, next_seq) != SQLITE_OK ||
	    sqlite3_bind_text(s, 3, status, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 4, spooled_at) != SQLITE_OK)
		return db_sqlerr_last(db);
	rc = sqlite3_step(s);
	/* push_runs.run_id references runs: the run is gone (or never was) */
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return db_fail(db, -ENOENT, "no run with id %lld", (long long)run_id);
	return rc == SQLITE_DONE ? 0 : db_sqlerr(db, rc);
}
