/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the files of store/ share and nothing outside store/ includes: the connection
 * (struct db), one cleanup per SQLite object, one SQLite->errno mapping and one error
 * channel (the message kept in struct db for db_errmsg()), the statement helpers, and the
 * shaping of rows into JSON. Defined in db.c (connection, errors, statements) and
 * db-query.c (JSON).
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "db.h"
#include "macro.h"

/* Statements of the per-cycle path, prepared once per connection and kept: preparing them
 * for every cycle was a fifth of the bulk-ingest time (bench/api). So are those of loading
 * a cycle (export, push, comparing a cycle imported again), of a bundle's run, event and
 * end lines and the transaction control around each line and cycle: preparing them was a
 * quarter of the time of the bundle fuzz target (tests/fuzz/fuzz-bundle, perf, 2026-12-06).
 * A cached statement is reset (not finalized) when its user is done with it, so a function
 * that uses one must not be re-entered while it does; db_close() finalizes them. */
enum db_cached {
	DB_CACHED_RUN_EXISTS,
	DB_CACHED_CYCLE_EXISTS,
	DB_CACHED_CYCLE_INSERT,
	DB_CACHED_ACTION_INSERT,
	DB_CACHED_OBSERVATION_INSERT,
	DB_CACHED_EVENT_INSERT,
	DB_CACHED_CYCLE_LOAD,
	DB_CACHED_CYCLE_ACTIONS,
	DB_CACHED_CYCLE_OBSERVATIONS,
	DB_CACHED_CYCLE_EVENTS,
	DB_CACHED_RUN_FIND,
	DB_CACHED_RUN_LOAD,
	DB_CACHED_RUN_INSERT,
	DB_CACHED_RUN_FINISH,
	DB_CACHED_KERNEL_FIND,
	DB_CACHED_KERNEL_INSERT,
	DB_CACHED_TARGET_FIND,
	DB_CACHED_TARGET_INSERT,
	DB_CACHED_EVENT_FIND,
	DB_CACHED_EVENT_INSERT_UNATTACHED,
	DB_CACHED_BEGIN,
	DB_CACHED_BEGIN_IMMEDIATE,
	DB_CACHED_COMMIT,
	DB_CACHED_ROLLBACK,
	/* savepoints sp1..spN, N = DB_KEPT_SAVEPOINTS; deeper ones are prepared each time */
	DB_CACHED_SAVEPOINT1,
	DB_CACHED_SAVEPOINT2,
	DB_CACHED_RELEASE1,
	DB_CACHED_RELEASE2,
	DB_CACHED_ROLLBACK_TO1,
	DB_CACHED_ROLLBACK_TO2,
	_DB_CACHED_MAX,
};
#define DB_KEPT_SAVEPOINTS 2

struct db {
	sqlite3 *sql;
	int flags;
	/* transaction nesting: 0 none, 1 BEGIN, n > 1 savepoint sp<n-1> */
	unsigned depth;
	bool crash_safe;
	char errmsg[512];
	sqlite3_stmt *cached[_DB_CACHED_MAX];
};

static inline void sqlite3_finalizep(sqlite3_stmt **s)
{
	sqlite3_finalize(*s); /* accepts NULL */
}
#define _cleanup_finalize_ _cleanup_(sqlite3_finalizep)

static inline void sqlite3_resetp(sqlite3_stmt **s)
{
	if (*s)
		sqlite3_reset(*s);
}
#define _cleanup_reset_ _cleanup_(sqlite3_resetp)

/* jansson (>= 2.9) provides json_decrefp(); it accepts NULL. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* ---- errors (db.c): the mapping documented at the top of db.h ---------------------- */

/* The negative errno of SQLite result code rc (extended or primary); db may be NULL. */
int db_errno_from_sqlite(struct db *db, int rc);
/* Records SQLite's message for rc in db and returns the mapped errno. */
int db_sqlerr(struct db *db, int rc);
/* The same for a failure SQLite recorded on the connection but did not return
 * (sqlite3_bind_*). */
int db_sqlerr_last(struct db *db);
/* Records our own message and returns err. */
_printf_(3, 4) int db_fail(struct db *db, int err, const char *fmt, ...);

/* ---- statements (db.c) -------------------------------------------------------------- */

/* Prepares sql on db's connection; the caller finalizes *ret (_cleanup_finalize_). */
int db_prepare(struct db *db, const char *sql, sqlite3_stmt **ret);
/* Prepares head, the row ids as an SQL list "(1,2,3)" ("()" when n is 0), then tail: the
 * ids are integers, never text from a user. */
int db_prepare_in(struct db *db, const char *head, const int64_t *ids, size_t n,
		  const char *tail, sqlite3_stmt **ret);
/* Steps a statement that returns no rows (or whose rows do not matter). */
int db_step_done(struct db *db, sqlite3_stmt *s);
/* 1 with a row, 0 when done, negative errno on failure. */
int db_step_row(struct db *db, sqlite3_stmt *s);
int db_exec(struct db *db, const char *sql);
/* Every row of s, a statement of the columns boot, source, class, seq, ts_ns, prio,
 * device, message, detail of events, as a malloc'd array (NULL when none) the caller frees
 * with kernel_event_done on each element and free. */
int db_events_load(struct db *db, sqlite3_stmt *s, struct kernel_event **ret,
		   size_t *ret_n);

/* Text is bound SQLITE_STATIC: every caller steps before the strings go away. SQLite's
 * result code (0 is SQLITE_OK); on failure db_sqlerr_last() has the message. */
static inline int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC)
		 : sqlite3_bind_null(s, i);
}

static inline int bind_int(sqlite3_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(s, i, v);
}

static inline int64_t col_int(sqlite3_stmt *s, int i)
{
	return sqlite3_column_int64(s, i);
}

static inline const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* ---- JSON rows (db-query.c) --------------------------------------------------------- */

/* A JSON string of text that may hold invalid UTF-8 (kernel messages can): bytes above
 * 0x7f become '?' when jansson refuses the text. NULL on allocation failure. */
json_t *db_json_string(const char *t);
/* The columns of the current row of s from first on as a JSON object; a column named
 * "a.b" goes into the nested object "a" as "b", so queries decide the shape of their JSON
 * with column aliases. The caller owns *ret; -ENOMEM. */
int db_json_row(sqlite3_stmt *s, int first, json_t **ret);
/* Column i of the current row of s as JSON: integer, real, string (see db_json_string) or
 * null. NULL on allocation failure. */
json_t *db_json_column(sqlite3_stmt *s, int i);
/* Every row of s, stepped to the end, appended to arr as db_json_row() shapes it (columns
 * from first on). 0 or negative errno, the message in db_errmsg(). */
int db_json_rows(struct db *db, sqlite3_stmt *s, int first, json_t *arr);
/* {name: 0} for every outcome, in severity order; NULL on allocation failure. */
json_t *db_json_outcome_counts(void);
/* Adds n to the integer obj[key]: -EBADMSG when there is no such member (an outcome
 * outside the model, which the CHECK constraints rule out), -ENOMEM. */
int db_json_add(json_t *obj, const char *key, int64_t n);
