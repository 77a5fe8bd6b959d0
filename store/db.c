/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SQLite storage layer (db.h). Everything SQLite reports is turned into a negative
 * errno here, at the boundary, and its message is kept in struct db for db_errmsg();
 * nothing here logs. Writers that touch more than one row run inside db_begin()/
 * db_commit(), which nest as savepoints so a cycle insert rolls back alone inside a
 * caller's bulk transaction.
 */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db-internal.h"
#include "db.h"
#include "macro.h"
#include "model.h"
#include "stats.h"
#include "util.h"

static inline void db_closep(struct db **db)
{
	db_close(*db);
}

/* ---- errors ---------------------------------------------------------------------- */

int db_errno_from_sqlite(struct db *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_ROWID)
			return -EEXIST;
		return -EINVAL;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_CANTOPEN: {
		/* SQLite only says "unable to open"; the OS said why. */
		int e = db && db->sql ? sqlite3_system_errno(db->sql) : 0;
		return e > 0 ? -e : -ENOENT;
	}
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return -EBADMSG;
	case SQLITE_PERM:
	case SQLITE_AUTH: return -EACCES;
	case SQLITE_TOOBIG: return -E2BIG;
	default: return -EIO;
	}
}

/* Records SQLite's message for rc and returns the mapped errno. */
int db_sqlerr(struct db *db, int rc)
{
	const char *msg = db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc);

	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg ? msg : sqlite3_errstr(rc));
	return db_errno_from_sqlite(db, rc);
}

/* For failures SQLite recorded on the connection but did not return (sqlite3_bind_*). */
int db_sqlerr_last(struct db *db)
{
	int rc = sqlite3_extended_errcode(db->sql);

	return db_sqlerr(db, rc == SQLITE_OK ? SQLITE_ERROR : rc);
}

_printf_(3, 4) int db_fail(struct db *db, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->errmsg, sizeof(db->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

const char *db_errmsg(struct db *db)
{
	return db ? db->errmsg : "no database";
}

/* ---- statements ------------------------------------------------------------------ */

int db_prepare(struct db *db, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(db->sql, sql, -1, ret, NULL);

	return rc == SQLITE_OK ? 0 : db_sqlerr(db, rc);
}

int db_prepare_in(struct db *db, const char *head, const int64_t *ids, size_t n,
		  const char *tail, sqlite3_stmt **ret)
{
	_cleanup_free_ char *sql = NULL;
	size_t len = strlen(head), tail_len = strlen(tail);
	/* "-9223372036854775808," is 21 characters */
	size_t cap = len + 2 + n * 21 + tail_len + 1;

	sql = malloc(cap);
	if (!sql)
		return db_fail(db, -ENOMEM, "out of memory");
	memcpy(sql, head, len);
	sql[len++] = '(';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(sql + len, cap - len, "%s%lld", i ? "," : "",
					(long long)ids[i]);
	sql[len++] = ')';
	memcpy(sql + len, tail, tail_len + 1);
	return db_prepare(db, sql, ret);
}

/* A kept statement for slot (see enum db_cached), reset and with no bindings; owned by db:
 * the caller resets it when done (_cleanup_reset_) and never finalizes it. */
static int db_prepare_cached(struct db *db, enum db_cached slot, const char *sql,
			     sqlite3_stmt **ret)
{
	if (!db->cached[slot]) {
		int r = db_prepare(db, sql, &db->cached[slot]);

		if (r < 0)
			return r;
	} else {
		sqlite3_reset(db->cached[slot]);
		sqlite3_clear_bindings(db->cached[slot]);
	}
	*ret = db->cached[slot];
	return 0;
}

int db_step_done(struct db *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_sqlerr(db, rc);
}

int db_step_row(struct db *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_sqlerr(db, rc);
}

int db_exec(struct db *db, const char *sql)
{
	int rc = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_sqlerr(db, rc);
}

/* The model writes "none" as -1 (or 0 for end_ns); the schema as NULL. */
static int bind_int_or_null(sqlite3_stmt *s, int i, int64_t v, bool null)
{
	return null ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

/* malloc'd copy of a text column, NULL for SQL NULL; sets *oom when the copy failed. */
static char *col_dup(sqlite3_stmt *s, int i, bool *oom)
{
	const unsigned char *t;
	char *p;

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NULL;
	t = sqlite3_column_text(s, i);
	p = t ? strdup((const char *)t) : NULL;
	if (!p)
		*oom = true;
	return p;
}

static int64_t col_int_or(sqlite3_stmt *s, int i, int64_t null_value)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? null_value
							: sqlite3_column_int64(s, i);
}

static int db_pragma_int(struct db *db, const char *sql, int64_t *ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare(db, sql, &s);
	if (r < 0)
		return r;
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -EIO, "%s returned no row", sql);
	*ret = col_int(s, 0);
	return 0;
}

/* Grows *array (of elements of size) so that it holds at least n + 1 elements. */
static int grow(void **array, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 8;
	p = reallocarray(*array, c, size);
	if (!p)
		return -ENOMEM;
	memset((char *)p + *cap * size, 0, (c - *cap) * size);
	*array = p;
	*cap = c;
	return 0;
}

/* ---- transactions ---------------------------------------------------------------- */

/* Runs a statement of transaction control, kept in slot. */
static int db_exec_kept(struct db *db, enum db_cached slot, const char *sql)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare_cached(db, slot, sql, &s);
	if (r < 0)
		return r;
	return db_step_done(db, s);
}

/* SAVEPOINT, RELEASE or ROLLBACK TO (verb) of savepoint sp<level>: kept for the levels an
 * import reaches (a cycle inside a line inside a caller's transaction), prepared each time
 * deeper down. */
static int db_savepoint_exec(struct db *db, enum db_cached first_slot, const char *verb,
			     unsigned level)
{
	char sql[48];

	snprintf(sql, sizeof(sql), "%s sp%u", verb, level);
	if (level >= 1 && level <= DB_KEPT_SAVEPOINTS)
		return db_exec_kept(db, first_slot + (level - 1), sql);
	return db_exec(db, sql);
}

static int db_tx_begin(struct db *db, bool immediate)
{
	int r;

	if (db->depth == 0)
		r = immediate ? db_exec_kept(db, DB_CACHED_BEGIN_IMMEDIATE,
					     "BEGIN IMMEDIATE")
			      : db_exec_kept(db, DB_CACHED_BEGIN, "BEGIN");
	else
		r = db_savepoint_exec(db, DB_CACHED_SAVEPOINT1, "SAVEPOINT", db->depth);
	if (r < 0)
		return r;
	db->depth++;
	return 0;
}

int db_begin(struct db *db)
{
	/* IMMEDIATE takes the write lock now: a deferred transaction that later upgrades
	 * gets SQLITE_BUSY without the busy handler ever being consulted. */
	return db_tx_begin(db, true);
}

int db_begin_read(struct db *db)
{
	return db_tx_begin(db, false);
}

int db_rollback(struct db *db)
{
	int r;

	if (db->depth == 0)
		return db_fail(db, -EINVAL, "no transaction to roll back");
	db->depth--;
	/* Some errors (I/O, out of memory, full disk) make SQLite roll the whole
	 * transaction back itself; then there is nothing left to undo at any level. */
	if (sqlite3_get_autocommit(db->sql)) {
		db->depth = 0;
		return 0;
	}
	if (db->depth == 0)
		return db_exec_kept(db, DB_CACHED_ROLLBACK, "ROLLBACK");
	r = db_savepoint_exec(db, DB_CACHED_ROLLBACK_TO1, "ROLLBACK TO", db->depth);
	if (r < 0)
		return r;
	return db_savepoint_exec(db, DB_CACHED_RELEASE1, "RELEASE", db->depth);
}

int db_commit(struct db *db)
{
	int r;

	if (db->depth == 0)
		return db_fail(db, -EINVAL, "no transaction to commit");
	if (db->depth == 1) {
		r = db_exec_kept(db, DB_CACHED_COMMIT, "COMMIT");
		if (r < 0 && !sqlite3_get_autocommit(db->sql)) {
			/* A failed COMMIT (e.g. BUSY) leaves the transaction open; keep
			 * the promise of the header and the connection usable. */
			char saved[sizeof(db->errmsg)];
			memcpy(saved, db->errmsg, sizeof(saved));
			(void)db_exec_kept(db, DB_CACHED_ROLLBACK, "ROLLBACK");
			memcpy(db->errmsg, saved, sizeof(saved));
		}
		db->depth = 0;
		return r;
	}
	r = db_savepoint_exec(db, DB_CACHED_RELEASE1, "RELEASE", db->depth - 1);
	if (r < 0) {
		char saved[sizeof(db->errmsg)];
		memcpy(saved, db->errmsg, sizeof(saved));
		(void)db_rollback(db);
		memcpy(db->errmsg, saved, sizeof(saved));
		return r;
	}
	db->depth--;
	return 0;
}

/* Rolls back after a failure without losing the failure's message. */
static int db_rollback_keep(struct db *db, int err)
{
	char saved[sizeof(db->errmsg)];

	memcpy(saved, db->errmsg, sizeof(saved));
	(void)db_rollback(db);
	memcpy(db->errmsg, saved, sizeof(saved));
	return err;
}

/* ---- open, migrate, close -------------------------------------------------------- */

static int db_migrate(struct db *db, int64_t current)
{
	int prev = 0;
	int r;

	for (size_t i = 0; i < db_n_migrations; i++) {
		const struct db_migration *m = &db_migrations[i];
		char sql[64];
		int64_t v = 0;

		if (m->version <= prev)
			return db_fail(db, -EINVAL, "migration %s is out of order",
				       m->name);
		prev = m->version;
		if (m->version <= current)
			continue;

		r = db_begin(db);
		if (r < 0)
			return r;
		/* Another process may have migrated between our check and our lock. */
		r = db_pragma_int(db, "PRAGMA user_version", &v);
		if (r < 0)
			return db_rollback_keep(db, r);
		if (v >= m->version) {
			current = v;
			r = db_commit(db);
			if (r < 0)
				return r;
			continue;
		}
		r = db_exec(db, m->sql);
		if (r < 0) {
			char msg[sizeof(db->errmsg)];
			memcpy(msg, db->errmsg, sizeof(msg));
			db_fail(db, r, "migration %s: %s", m->name, msg);
			return db_rollback_keep(db, r);
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", m->version);
		r = db_exec(db, sql);
		if (r < 0)
			return db_rollback_keep(db, r);
		r = db_commit(db);
		if (r < 0)
			return r;
		current = m->version;
	}
	return 0;
}

static int db_max_version(void)
{
	return db_n_migrations > 0 ? db_migrations[db_n_migrations - 1].version : 0;
}

/*
 * Process-wide, before SQLite initialises: no memory statistics. Keeping them takes a
 * global mutex on every allocation; off, bulk ingest needed 15% less CPU (bench/api-gen,
 * 5*10^4 cycles, 5.8 -> 4.9 s). Too late once SQLite is initialised (SQLITE_MISUSE,
 * ignored: the statistics stay, nothing else changes).
 */
static void db_global_config(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int db_open(const char *path, int flags, struct db **ret)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	_cleanup_(db_closep) struct db *db = NULL;
	int64_t version = 0;
	int oflags, rc, r;

	if (!path || !ret)
		return -EINVAL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->flags = flags;
	pthread_once(&once, db_global_config);

	oflags = flags & DB_READONLY ? SQLITE_OPEN_READONLY
				     : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &db->sql, oflags, NULL);
	if (rc != SQLITE_OK)
		return db_sqlerr(db, rc);
	sqlite3_extended_result_codes(db->sql, 1);
	sqlite3_busy_timeout(db->sql, 5000);

	/* Reading user_version is the first real access to the file: unreadable files and
	 * files that are not databases fail here, before anything is written. */
	r = db_pragma_int(db, "PRAGMA user_version", &version);
	if (r < 0)
		return r;
	if (version > db_max_version())
		return db_fail(
			db, -EPROTONOSUPPORT,
			"database schema version %lld is newer than this binary (%d)",
			(long long)version, db_max_version());

	r = db_exec(db, "PRAGMA foreign_keys = ON");
	if (r < 0)
		return r;

	if (flags & DB_READONLY) {
		if (version < db_max_version())
			return db_fail(
				db, -EROFS,
				"database schema version %lld needs migrating to %d",
				(long long)version, db_max_version());
		*ret = TAKE_PTR(db);
		return 0;
	}

	/* WAL lets the API read while the runner writes; a file system that cannot do WAL
	 * leaves the old journal mode, which is slower but correct, so the result is not
	 * checked. NORMAL loses at most the last commits on power loss, never
	 * consistency. */
	r = db_exec(db, "PRAGMA journal_mode = WAL");
	if (r < 0)
		return r;
	r = db_exec(db, "PRAGMA synchronous = NORMAL");
	if (r < 0)
		return r;
	/* Each cycle is a savepoint whose statement journal would otherwise go to a temporary
	 * file: in memory, bulk ingest measured 43k -> 60k events/s (bench/api, 2026-11-24). */
	r = db_exec(db, "PRAGMA temp_store = MEMORY");
	if (r < 0)
		return r;

	r = db_migrate(db, version);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(db);
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < _DB_CACHED_MAX; i++)
		sqlite3_finalize(db->cached[i]);
	if (db->sql) {
		if (!sqlite3_get_autocommit(db->sql))
			(void)sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close_v2(db->sql);
	}
	free(db);
}

int db_schema_version(struct db *db)
{
	int64_t v = 0;

	if (db_pragma_int(db, "PRAGMA user_version", &v) < 0)
		return -EIO;
	return (int)v;
}

const char *db_filename(struct db *db)
{
	const char *f = sqlite3_db_filename(db->sql, "main");

	return f ? f : "";
}

int db_set_crash_safe(struct db *db, bool crash_safe)
{
	int r;

	r = db_exec(db, crash_safe ? "PRAGMA synchronous = FULL"
				   : "PRAGMA synchronous = NORMAL");
	if (r < 0)
		return r;
	db->crash_safe = crash_safe;
	return 0;
}

/* ---- runs ------------------------------------------------------------------------ */

static int db_kernel_ensure(struct db *db, const struct kernel_identity *k,
			    int64_t *ret_id)
{
	_cleanup_reset_ sqlite3_stmt *q = NULL, *ins = NULL;
	int r;

	/* IS compares NULL with NULL as equal, matching the IFNULL unique index. */
	r = db_prepare_cached(
		db, DB_CACHED_KERNEL_FIND,
		"SELECT id FROM kernels WHERE release = ?1 AND version = ?2 "
		"AND build_id IS ?3 AND cmdline = ?4 AND label IS ?5 AND patches IS ?6 "
		"AND fw_devlink IS ?7 AND deferred_probe_timeout IS ?8",
		&q);
	if (r < 0)
		return r;
	if (bind_text(q, 1, k->release) || bind_text(q, 2, k->version) ||
	    bind_text(q, 3, k->build_id) || bind_text(q, 4, k->cmdline) ||
	    bind_text(q, 5, k->label) || bind_text(q, 6, k->patches) ||
	    bind_text(q, 7, k->fw_devlink) || bind_text(q, 8, k->deferred_probe_timeout))
		return db_sqlerr_last(db);
	r = db_step_row(db, q);
	if (r < 0)
		return r;
	if (r > 0) {
		*ret_id = col_int(q, 0);
		return 0;
	}

	r = db_prepare_cached(
		db, DB_CACHED_KERNEL_INSERT,
		"INSERT INTO kernels (release, version, build_id, cmdline, label, "
		"patches, fw_devlink, deferred_probe_timeout) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		&ins);
	if (r < 0)
		return r;
	if (bind_text(ins, 1, k->release) || bind_text(ins, 2, k->version) ||
	    bind_text(ins, 3, k->build_id) || bind_text(ins, 4, k->cmdline) ||
	    bind_text(ins, 5, k->label) || bind_text(ins, 6, k->patches) ||
	    bind_text(ins, 7, k->fw_devlink) ||
	    bind_text(ins, 8, k->deferred_probe_timeout))
		return db_sqlerr_last(db);
	r = db_step_done(db, ins);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(db->sql);
	return 0;
}

static int db_target_ensure(struct db *db, const char *name, const char *kind,
			    int64_t *ret_id)
{
	_cleanup_reset_ sqlite3_stmt *q = NULL, *ins = NULL;
	int r;

	r = db_prepare_cached(db, DB_CACHED_TARGET_FIND,
			      "SELECT id FROM targets WHERE name = ?1 AND kind = ?2", &q);
	if (r < 0)
		return r;
	if (bind_text(q, 1, name) || bind_text(q, 2, kind))
		return db_sqlerr_last(db);
	r = db_step_row(db, q);
	if (r < 0)
		return r;
	if (r > 0) {
		*ret_id = col_int(q, 0);
		return 0;
	}
	r = db_prepare_cached(db, DB_CACHED_TARGET_INSERT,
			      "INSERT INTO targets (name, kind) VALUES (?1, ?2)", &ins);
	if (r < 0)
		return r;
	if (bind_text(ins, 1, name) || bind_text(ins, 2, kind))
		return db_sqlerr_last(db);
	r = db_step_done(db, ins);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(db->sql);
	return 0;
}

static int db_run_insert_locked(struct db *db, const struct run_record *rr,
				int64_t *ret_id)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int64_t kernel_id = 0, target_id = 0, id = 0;
	int r;

	r = db_run_find(db, rr->uuid, &id);
	if (r >= 0)
		return db_fail(db, -EEXIST, "run %s is recorded already", rr->uuid);
	if (r != -ENOENT)
		return r;

	r = db_kernel_ensure(db, &rr->kernel, &kernel_id);
	if (r < 0)
		return r;
	r = db_target_ensure(db, rr->target, rr->target_kind, &target_id);
	if (r < 0)
		return r;

	r = db_prepare_cached(
		db, DB_CACHED_RUN_INSERT,
		"INSERT INTO runs (uuid, kernel_id, target_id, campaign, scenario, "
		"scenario_text, load_profile, load_args, load_metrics, sweep_var, "
		"cycles_planned, started_at, finished_at, status, hostname, consumers) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
		"?15, "
		"?16)",
		&s);
	if (r < 0)
		return r;
	if (bind_text(s, 1, rr->uuid) || bind_int(s, 2, kernel_id) ||
	    bind_int(s, 3, target_id) || bind_text(s, 4, rr->campaign) ||
	    bind_text(s, 5, rr->scenario) || bind_text(s, 6, rr->scenario_text) ||
	    bind_text(s, 7, rr->load_profile) || bind_text(s, 8, rr->load_args) ||
	    bind_text(s, 9, rr->load_metrics) || bind_text(s, 10, rr->sweep_var) ||
	    bind_int(s, 11, rr->cycles_planned) || bind_text(s, 12, rr->started_at) ||
	    bind_text(s, 13, rr->finished_at) ||
	    bind_text(s, 14, rr->status ? rr->status : "running") ||
	    bind_text(s, 15, rr->hostname) || bind_text(s, 16, rr->consumers))
		return db_sqlerr_last(db);
	r = db_step_done(db, s);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(db->sql);
	return 0;
}

int db_run_insert(struct db *db, const struct run_record *rr, int64_t *ret_run_id)
{
	int64_t id = 0;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_run_insert_locked(db, rr, &id);
	if (r < 0)
		return db_rollback_keep(db, r);
	r = db_commit(db);
	if (r < 0)
		return r;
	if (ret_run_id)
		*ret_run_id = id;
	return 0;
}

int db_run_find(struct db *db, const char *uuid, int64_t *ret_run_id)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare_cached(db, DB_CACHED_RUN_FIND,
			      "SELECT id FROM runs WHERE uuid = ?1", &s);
	if (r < 0)
		return r;
	if (bind_text(s, 1, uuid))
		return db_sqlerr_last(db);
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -ENOENT, "no run %s", uuid ? uuid : "(null)");
	if (ret_run_id)
		*ret_run_id = col_int(s, 0);
	return 0;
}

int db_run_load(struct db *db, const char *uuid, struct run_record *ret)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	struct run_record rr = {};
	bool oom = false;
	int r;

	r = db_prepare_cached(
		db, DB_CACHED_RUN_LOAD,
		"SELECT r.uuid, r.campaign, r.scenario, r.scenario_text, t.name, t.kind, "
		"r.hostname, r.load_profile, r.load_args, r.load_metrics, r.sweep_var, "
		"r.cycles_planned, r.started_at, r.finished_at, r.status, k.release, "
		"k.version, k.build_id, k.cmdline, k.label, k.patches, k.fw_devlink, "
		"k.deferred_probe_timeout, r.status_reason, r.consumers FROM runs r "
		"JOIN targets t ON t.id = r.target_id "
		"JOIN kernels k ON k.id = r.kernel_id WHERE r.uuid = ?1",
		&s);
	if (r < 0)
		return r;
	if (bind_text(s, 1, uuid))
		return db_sqlerr_last(db);
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -ENOENT, "no run %s", uuid ? uuid : "(null)");

	snprintf(rr.uuid, sizeof(rr.uuid), "%s", col_text(s, 0) ? col_text(s, 0) : "");
	rr.campaign = col_dup(s, 1, &oom);
	rr.scenario = col_dup(s, 2, &oom);
	rr.scenario_text = col_dup(s, 3, &oom);
	rr.target = col_dup(s, 4, &oom);
	rr.target_kind = col_dup(s, 5, &oom);
	rr.hostname = col_dup(s, 6, &oom);
	rr.load_profile = col_dup(s, 7, &oom);
	rr.load_args = col_dup(s, 8, &oom);
	rr.load_metrics = col_dup(s, 9, &oom);
	rr.sweep_var = col_dup(s, 10, &oom);
	rr.cycles_planned = col_int(s, 11);
	rr.started_at = col_dup(s, 12, &oom);
	rr.finished_at = col_dup(s, 13, &oom);
	rr.status = col_dup(s, 14, &oom);
	rr.kernel.release = col_dup(s, 15, &oom);
	rr.kernel.version = col_dup(s, 16, &oom);
	rr.kernel.build_id = col_dup(s, 17, &oom);
	rr.kernel.cmdline = col_dup(s, 18, &oom);
	rr.kernel.label = col_dup(s, 19, &oom);
	rr.kernel.patches = col_dup(s, 20, &oom);
	rr.kernel.fw_devlink = col_dup(s, 21, &oom);
	rr.kernel.deferred_probe_timeout = col_dup(s, 22, &oom);
	rr.status_reason = col_dup(s, 23, &oom);
	rr.consumers = col_dup(s, 24, &oom);
	if (oom) {
		run_record_done(&rr);
		return db_fail(db, -ENOMEM, "out of memory");
	}
	*ret = rr;
	return 0;
}

int db_run_finish(struct db *db, int64_t run_id, const char *status,
		  const char *finished_at, const char *load_metrics)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare_cached(db, DB_CACHED_RUN_FINISH,
			      "UPDATE runs SET status = ?2, finished_at = ?3, "
			      "load_metrics = COALESCE(?4, load_metrics) WHERE id = ?1",
			      &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id) || bind_text(s, 2, status) ||
	    bind_text(s, 3, finished_at) || bind_text(s, 4, load_metrics))
		return db_sqlerr_last(db);
	r = db_step_done(db, s);
	if (r < 0)
		return r;
	if (sqlite3_changes(db->sql) == 0)
		return db_fail(db, -ENOENT, "no run with id %lld", (long long)run_id);
	return 0;
}

int db_run_set_status_reason(struct db *db, int64_t run_id, const char *reason)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare(db, "UPDATE runs SET status_reason = ?2 WHERE id = ?1", &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id) || bind_text(s, 2, reason))
		return db_sqlerr_last(db);
	r = db_step_done(db, s);
	if (r < 0)
		return r;
	if (sqlite3_changes(db->sql) == 0)
		return db_fail(db, -ENOENT, "no run with id %lld", (long long)run_id);
	return 0;
}

int db_run_count_outcome(struct db *db, int64_t run_id, enum outcome o, int64_t *ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	const char *name = outcome_to_string(o);
	int r;

	if (!name)
		return db_fail(db, -EINVAL, "invalid outcome %d", (int)o);
	r = db_prepare(
		db, "SELECT COUNT(*) FROM cycles WHERE run_id = ?1 AND outcome = ?2", &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id) || bind_text(s, 2, name))
		return db_sqlerr_last(db);
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	*ret = r > 0 ? col_int(s, 0) : 0;
	return 0;
}

int db_run_mark_local(struct db *db, int64_t run_id)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare(db, "INSERT OR IGNORE INTO local_runs (run_id) VALUES (?1)", &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id))
		return db_sqlerr_last(db);
	r = db_step_done(db, s);
	/* a foreign key failure: no such run */
	return r == -EINVAL
		       ? db_fail(db, -ENOENT, "no run with id %lld", (long long)run_id)
		       : r;
}

static int db_run_exists(struct db *db, int64_t run_id)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare_cached(db, DB_CACHED_RUN_EXISTS,
			      "SELECT 1 FROM runs WHERE id = ?1", &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id))
		return db_sqlerr_last(db);
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	return r == 0 ? db_fail(db, -ENOENT, "no run with id %lld", (long long)run_id)
		      : 0;
}

int db_run_next_seq(struct db *db, int64_t run_id, int64_t *ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_run_exists(db, run_id);
	if (r < 0)
		return r;
	r = db_prepare(db, "SELECT MAX(seq) FROM cycles WHERE run_id = ?1", &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id))
		return db_sqlerr_last(db);
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	*ret = r > 0 ? col_int_or(s, 0, -1) + 1 : 0;
	return 0;
}

/* ---- in-flight action ------------------------------------------------------------ */

/* Runs one autocommit statement with synchronous=FULL: the row must be on disk before the
 * action that may crash the kernel starts. */
static int db_exec_durable(struct db *db, sqlite3_stmt *s)
{
	int r, q;

	if (db->depth > 0)
		return db_fail(
			db, -EBUSY,
			"in-flight records cannot be written inside a transaction");
	if (!db->crash_safe) {
		r = db_exec(db, "PRAGMA synchronous = FULL");
		if (r < 0)
			return r;
	}
	r = db_step_done(db, s);
	if (!db->crash_safe) {
		q = db_exec(db, "PRAGMA synchronous = NORMAL");
		if (r >= 0)
			r = q;
	}
	return r;
}

int db_inflight_set(struct db *db, int64_t run_id, const struct cycle_record *c,
		    const struct action_record *a)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	const char *verb = step_verb_to_string(a->verb);
	int r;

	if (!verb)
		return db_fail(db, -EINVAL, "invalid action verb %d", (int)a->verb);
	r = db_prepare(db,
		       "INSERT OR REPLACE INTO inflight (run_id, cycle_seq, action_idx, "
		       "grp, verb, arg, params, offset_us, started_at_ns, sweep_value, "
		       "boot_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
		       &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id) || bind_int(s, 2, c->seq) ||
	    bind_int_or_null(s, 10, c->sweep_value, !c->has_sweep) ||
	    bind_int(s, 3, a->idx) || bind_int(s, 4, a->group) || bind_text(s, 5, verb) ||
	    bind_text(s, 6, a->arg) || bind_text(s, 7, a->params) ||
	    bind_int(s, 8, a->offset_us) ||
	    bind_int(s, 9, a->start_ns ? a->start_ns : now_ns()) ||
	    bind_text(s, 11, c->boot_id))
		return db_sqlerr_last(db);
	return db_exec_durable(db, s);
}

int db_inflight_clear(struct db *db, int64_t run_id)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare(db, "DELETE FROM inflight WHERE run_id = ?1", &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id))
		return db_sqlerr_last(db);
	return db_exec_durable(db, s);
}

int db_inflight_get(struct db *db, int64_t run_id, struct cycle_record *ret_cycle,
		    struct action_record *ret_action)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	struct action_record a = {};
	char *boot_id = NULL;
	bool oom = false;
	int r, verb;

	r = db_prepare(
		db,
		"SELECT cycle_seq, action_idx, grp, verb, arg, params, offset_us, "
		"started_at_ns, sweep_value, boot_id FROM inflight WHERE run_id = ?1",
		&s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id))
		return db_sqlerr_last(db);
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -ENOENT, "no in-flight action for run %lld",
			       (long long)run_id);
	verb = step_verb_from_string(col_text(s, 3));
	if (verb < 0)
		return db_fail(db, -EBADMSG, "unknown verb '%s' recorded",
			       col_text(s, 3));
	a.idx = (int)col_int(s, 1);
	a.group = (int)col_int(s, 2);
	a.verb = verb;
	a.arg = col_dup(s, 4, &oom);
	a.params = col_dup(s, 5, &oom);
	a.offset_us = col_int(s, 6);
	a.start_ns = col_int(s, 7);
	boot_id = ret_cycle ? col_dup(s, 9, &oom) : NULL;
	if (oom) {
		action_record_done(&a);
		free(boot_id);
		return db_fail(db, -ENOMEM, "out of memory");
	}
	if (ret_cycle) {
		*ret_cycle = (struct cycle_record){
			.seq = col_int(s, 0),
			.has_sweep = sqlite3_column_type(s, 8) != SQLITE_NULL,
			.sweep_value = col_int(s, 8),
			.boot_id = boot_id,
		};
	}
	*ret_action = a;
	return 0;
}

/* ---- cycles ---------------------------------------------------------------------- */

static const char *action_state(const struct action_record *a)
{
	if (a->hung)
		return "hung";
	if (a->start_ns == 0)
		return "pending";
	if (a->end_ns == 0)
		return "running";
	return "done";
}

/* Binds an event's columns 3..11 (boot, source, class, seq, ts_ns, prio, device, message,
 * detail); the caller binds run_id (1) and cycle_id (2). */
static int db_bind_event(struct db *db, sqlite3_stmt *s, const struct kernel_event *e,
			 const char *what)
{
	const char *source = event_source_to_string(e->source);
	const char *class = event_class_to_string(e->class);

	if (!source)
		return db_fail(db, -EINVAL, "%s: invalid source %d", what,
			       (int)e->source);
	if (!class)
		return db_fail(db, -EINVAL, "%s: invalid class %d", what, (int)e->class);
	if (e->seq < 0)
		return db_fail(db, -EINVAL,
			       "%s: no sequence number (the producer must assign one)",
			       what);
	if (bind_int(s, 3, e->boot) || bind_text(s, 4, source) ||
	    bind_text(s, 5, class) || bind_int(s, 6, e->seq) ||
	    bind_int(s, 7, e->ts_ns) || bind_int_or_null(s, 8, e->prio, e->prio < 0) ||
	    bind_text(s, 9, e->device) || bind_text(s, 10, e->message) ||
	    bind_text(s, 11, e->detail))
		return db_sqlerr_last(db);
	return 0;
}

/* A duplicate inside one cycle record is a malformed record, not an existing cycle. */
static int not_exist(int r)
{
	return r == -EEXIST ? -EINVAL : r;
}

static int db_cycle_insert_locked(struct db *db, int64_t run_id,
				  const struct cycle_record *c, int64_t *ret_id)
{
	_cleanup_reset_ sqlite3_stmt *q = NULL, *cs = NULL, *as = NULL, *os = NULL,
				     *es = NULL;
	const char *outcome = outcome_to_string(c->outcome);
	int64_t cycle_id;
	int r;

	r = db_run_exists(db, run_id);
	if (r < 0)
		return r;
	r = db_prepare_cached(db, DB_CACHED_CYCLE_EXISTS,
			      "SELECT 1 FROM cycles WHERE run_id = ?1 AND seq = ?2", &q);
	if (r < 0)
		return r;
	if (bind_int(q, 1, run_id) || bind_int(q, 2, c->seq))
		return db_sqlerr_last(db);
	r = db_step_row(db, q);
	if (r < 0)
		return r;
	if (r > 0)
		return db_fail(db, -EEXIST, "cycle %lld of run %lld is recorded already",
			       (long long)c->seq, (long long)run_id);
	if (!outcome)
		return db_fail(db, -EINVAL, "cycle %lld: invalid outcome %d",
			       (long long)c->seq, (int)c->outcome);

	r = db_prepare_cached(
		db, DB_CACHED_CYCLE_INSERT,
		"INSERT INTO cycles (run_id, seq, boot, sweep_value, start_ns, end_ns, "
		"outcome, deferrals, note, boot_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		"?8, ?9, ?10)",
		&cs);
	if (r < 0)
		return r;
	if (bind_int(cs, 1, run_id) || bind_int(cs, 2, c->seq) ||
	    bind_int(cs, 3, c->boot) ||
	    bind_int_or_null(cs, 4, c->sweep_value, !c->has_sweep) ||
	    bind_int(cs, 5, c->start_ns) || bind_int(cs, 6, c->end_ns) ||
	    bind_text(cs, 7, outcome) || bind_int(cs, 8, c->deferrals) ||
	    bind_text(cs, 9, c->note) || bind_text(cs, 10, c->boot_id))
		return db_sqlerr_last(db);
	r = db_step_done(db, cs);
	if (r < 0)
		return r;
	cycle_id = sqlite3_last_insert_rowid(db->sql);

	if (c->n_actions > 0) {
		r = db_prepare_cached(
			db, DB_CACHED_ACTION_INSERT,
			"INSERT INTO actions (cycle_id, idx, grp, verb, arg, params, "
			"offset_us, start_ns, end_ns, err, hung, state, planned_ns) "
			"VALUES "
			"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
			&as);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->n_actions; i++) {
		const struct action_record *a = &c->actions[i];
		const char *verb = step_verb_to_string(a->verb);

		if (!verb)
			return db_fail(db, -EINVAL, "action %zu: invalid verb %d", i,
				       (int)a->verb);
		sqlite3_reset(as);
		if (bind_int(as, 1, cycle_id) || bind_int(as, 2, a->idx) ||
		    bind_int(as, 3, a->group) || bind_text(as, 4, verb) ||
		    bind_text(as, 5, a->arg) || bind_text(as, 6, a->params) ||
		    bind_int(as, 7, a->offset_us) || bind_int(as, 8, a->start_ns) ||
		    bind_int_or_null(as, 9, a->end_ns, a->end_ns == 0) ||
		    bind_int(as, 10, a->err) || bind_int(as, 11, a->hung) ||
		    bind_text(as, 12, action_state(a)) ||
		    bind_int_or_null(as, 13, a->planned_ns, a->planned_ns == 0))
			return db_sqlerr_last(db);
		r = db_step_done(db, as);
		if (r < 0)
			return not_exist(r);
	}

	if (c->n_observations > 0) {
		r = db_prepare_cached(
			db, DB_CACHED_OBSERVATION_INSERT,
			"INSERT INTO observations (cycle_id, device, consumer, driver, "
			"iommu_group, domain_type, time_to_bound_ns, deferrals, "
			"deferred_reason, outcome) VALUES "
			"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			&os);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->n_observations; i++) {
		const struct observation *o = &c->observations[i];
		const char *oc = outcome_to_string(o->outcome);

		if (!oc)
			return db_fail(db, -EINVAL,
				       "observation %zu (%s): invalid outcome %d", i,
				       o->device ? o->device : "?", (int)o->outcome);
		sqlite3_reset(os);
		if (bind_int(os, 1, cycle_id) || bind_text(os, 2, o->device) ||
		    bind_int(os, 3, o->consumer) || bind_text(os, 4, o->driver) ||
		    bind_int_or_null(os, 5, o->iommu_group, o->iommu_group < 0) ||
		    bind_text(os, 6, o->domain_type) ||
		    bind_int_or_null(os, 7, o->time_to_bound_ns,
				     o->time_to_bound_ns < 0) ||
		    bind_int(os, 8, o->deferrals) ||
		    bind_text(os, 9, o->deferred_reason) || bind_text(os, 10, oc))
			return db_sqlerr_last(db);
		r = db_step_done(db, os);
		if (r < 0)
			return not_exist(r);
	}

	if (c->n_events > 0) {
		/* The same kernel record may have been stored before, unattached (e.g. by
		 * a live stream that sent it ahead of its cycle): adopt it, never
		 * duplicate. */
		r = db_prepare_cached(
			db, DB_CACHED_EVENT_INSERT,
			"INSERT INTO events (run_id, cycle_id, boot, source, class, seq, "
			"ts_ns, prio, device, message, detail) VALUES "
			"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
			"ON CONFLICT (run_id, boot, source, seq) DO UPDATE SET "
			"cycle_id = excluded.cycle_id WHERE events.cycle_id IS NULL",
			&es);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->n_events; i++) {
		char what[32];

		snprintf(what, sizeof(what), "event %zu", i);
		sqlite3_reset(es);
		if (bind_int(es, 1, run_id) || bind_int(es, 2, cycle_id))
			return db_sqlerr_last(db);
		r = db_bind_event(db, es, &c->events[i], what);
		if (r < 0)
			return r;
		r = db_step_done(db, es);
		if (r < 0)
			return not_exist(r);
	}

	*ret_id = cycle_id;
	return 0;
}

int db_cycle_insert(struct db *db, int64_t run_id, const struct cycle_record *c,
		    int64_t *ret_cycle_id)
{
	int64_t id = 0;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_cycle_insert_locked(db, run_id, c, &id);
	if (r < 0)
		return db_rollback_keep(db, r);
	r = db_commit(db);
	if (r < 0)
		return r;
	if (ret_cycle_id)
		*ret_cycle_id = id;
	return 0;
}

/* Loads the events a statement (with ?1 bound by the caller) selects: boot, source,
 * class, seq, ts_ns, prio, device, message, detail. */
int db_events_load(struct db *db, sqlite3_stmt *s, struct kernel_event **ret,
		   size_t *ret_n)
{
	struct kernel_event *ev = NULL;
	size_t n = 0, cap = 0;
	int r;

	for (;;) {
		struct kernel_event *e;
		bool oom = false;
		int source, class;

		r = db_step_row(db, s);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		r = grow((void **)&ev, &cap, n, sizeof(*ev));
		if (r < 0) {
			db_fail(db, r, "out of memory");
			goto fail;
		}
		source = event_source_from_string(col_text(s, 1));
		class = event_class_from_string(col_text(s, 2));
		if (source < 0 || class < 0) {
			r = db_fail(db, -EBADMSG, "unknown event source/class recorded");
			goto fail;
		}
		e = &ev[n];
		e->boot = (int)col_int(s, 0);
		e->source = source;
		e->class = class;
		e->seq = col_int(s, 3);
		e->ts_ns = col_int(s, 4);
		e->prio = (int)col_int_or(s, 5, -1);
		e->device = col_dup(s, 6, &oom);
		e->message = col_dup(s, 7, &oom);
		e->detail = col_dup(s, 8, &oom);
		n++;
		if (oom) {
			r = db_fail(db, -ENOMEM, "out of memory");
			goto fail;
		}
	}
	*ret = ev;
	*ret_n = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		kernel_event_done(&ev[i]);
	free(ev);
	return r;
}

static int db_cycle_load_children(struct db *db, int64_t cycle_id, struct cycle_record *c)
{
	_cleanup_reset_ sqlite3_stmt *as = NULL, *os = NULL, *es = NULL;
	size_t cap;
	int r;

	r = db_prepare_cached(
		db, DB_CACHED_CYCLE_ACTIONS,
		"SELECT idx, grp, verb, arg, params, offset_us, start_ns, end_ns, "
		"err, hung, planned_ns FROM actions WHERE cycle_id = ?1 ORDER BY idx",
		&as);
	if (r < 0)
		return r;
	if (bind_int(as, 1, cycle_id))
		return db_sqlerr_last(db);
	cap = 0;
	while ((r = db_step_row(db, as)) > 0) {
		struct action_record *a;
		bool oom = false;
		int verb;

		if (grow((void **)&c->actions, &cap, c->n_actions, sizeof(*c->actions)) <
		    0)
			return db_fail(db, -ENOMEM, "out of memory");
		verb = step_verb_from_string(col_text(as, 2));
		if (verb < 0)
			return db_fail(db, -EBADMSG, "unknown verb '%s' recorded",
				       col_text(as, 2));
		a = &c->actions[c->n_actions++];
		a->idx = (int)col_int(as, 0);
		a->group = (int)col_int(as, 1);
		a->verb = verb;
		a->arg = col_dup(as, 3, &oom);
		a->params = col_dup(as, 4, &oom);
		a->offset_us = col_int(as, 5);
		a->start_ns = col_int(as, 6);
		a->end_ns = col_int_or(as, 7, 0);
		a->err = (int)col_int(as, 8);
		a->hung = col_int(as, 9) != 0;
		a->planned_ns = col_int_or(as, 10, 0);
		if (oom)
			return db_fail(db, -ENOMEM, "out of memory");
	}
	if (r < 0)
		return r;

	r = db_prepare_cached(
		db, DB_CACHED_CYCLE_OBSERVATIONS,
		"SELECT device, consumer, driver, iommu_group, domain_type, "
		"time_to_bound_ns, deferrals, deferred_reason, outcome "
		"FROM observations WHERE cycle_id = ?1 ORDER BY id",
		&os);
	if (r < 0)
		return r;
	if (bind_int(os, 1, cycle_id))
		return db_sqlerr_last(db);
	cap = 0;
	while ((r = db_step_row(db, os)) > 0) {
		struct observation *o;
		bool oom = false;
		int oc;

		if (grow((void **)&c->observations, &cap, c->n_observations,
			 sizeof(*c->observations)) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
		oc = outcome_from_string(col_text(os, 8));
		if (oc < 0)
			return db_fail(db, -EBADMSG, "unknown outcome '%s' recorded",
				       col_text(os, 8));
		o = &c->observations[c->n_observations++];
		o->device = col_dup(os, 0, &oom);
		o->consumer = col_int(os, 1) != 0;
		o->driver = col_dup(os, 2, &oom);
		o->iommu_group = (int)col_int_or(os, 3, -1);
		o->domain_type = col_dup(os, 4, &oom);
		o->time_to_bound_ns = col_int_or(os, 5, -1);
		o->deferrals = (int)col_int(os, 6);
		o->deferred_reason = col_dup(os, 7, &oom);
		o->outcome = oc;
		if (oom)
			return db_fail(db, -ENOMEM, "out of memory");
	}
	if (r < 0)
		return r;

	r = db_prepare_cached(
		db, DB_CACHED_CYCLE_EVENTS,
		"SELECT boot, source, class, seq, ts_ns, prio, device, message, detail "
		"FROM events WHERE cycle_id = ?1 ORDER BY id",
		&es);
	if (r < 0)
		return r;
	if (bind_int(es, 1, cycle_id))
		return db_sqlerr_last(db);
	return db_events_load(db, es, &c->events, &c->n_events);
}

int db_cycle_load(struct db *db, int64_t run_id, int64_t seq, struct cycle_record *ret)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	struct cycle_record c = {};
	bool oom = false;
	int64_t cycle_id;
	int r, oc;

	r = db_prepare_cached(db, DB_CACHED_CYCLE_LOAD,
			      "SELECT id, boot, sweep_value, start_ns, end_ns, outcome, "
			      "deferrals, note, boot_id "
			      "FROM cycles WHERE run_id = ?1 AND seq = ?2",
			      &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id) || bind_int(s, 2, seq))
		return db_sqlerr_last(db);
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -ENOENT, "no cycle %lld in run %lld", (long long)seq,
			       (long long)run_id);
	oc = outcome_from_string(col_text(s, 5));
	if (oc < 0)
		return db_fail(db, -EBADMSG, "unknown outcome '%s' recorded",
			       col_text(s, 5));
	cycle_id = col_int(s, 0);
	c.seq = seq;
	c.boot = (int)col_int(s, 1);
	c.has_sweep = sqlite3_column_type(s, 2) != SQLITE_NULL;
	c.sweep_value = col_int_or(s, 2, 0);
	c.start_ns = col_int(s, 3);
	c.end_ns = col_int(s, 4);
	c.outcome = oc;
	c.deferrals = (int)col_int(s, 6);
	c.note = col_dup(s, 7, &oom);
	c.boot_id = col_dup(s, 8, &oom);
	if (oom)
		return db_fail(db, -ENOMEM, "out of memory");

	r = db_cycle_load_children(db, cycle_id, &c);
	if (r < 0) {
		cycle_record_done(&c);
		return r;
	}
	*ret = c;
	return 0;
}

int db_cycle_seqs(struct db *db, int64_t run_id, int64_t **ret_seqs, size_t *ret_n)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_free_ int64_t *seqs = NULL;
	size_t n = 0, cap = 0;
	int r;

	r = db_prepare(db, "SELECT seq FROM cycles WHERE run_id = ?1 ORDER BY seq", &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id))
		return db_sqlerr_last(db);
	while ((r = db_step_row(db, s)) > 0) {
		if (grow((void **)&seqs, &cap, n, sizeof(*seqs)) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
		seqs[n++] = col_int(s, 0);
	}
	if (r < 0)
		return r;
	*ret_seqs = TAKE_PTR(seqs);
	*ret_n = n;
	return 0;
}

/* ---- events outside cycles ------------------------------------------------------- */

int db_event_insert_unattached(struct db *db, int64_t run_id,
			       const struct kernel_event *e)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare_cached(
		db, DB_CACHED_EVENT_INSERT_UNATTACHED,
		"INSERT INTO events (run_id, cycle_id, boot, source, class, seq, ts_ns, "
		"prio, device, message, detail) VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
		"ON CONFLICT (run_id, boot, source, seq) DO NOTHING",
		&s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id) || sqlite3_bind_null(s, 2))
		return db_sqlerr_last(db);
	r = db_bind_event(db, s, e, "event");
	if (r < 0)
		return r;
	r = db_step_done(db, s);
	if (r < 0)
		return r;
	return sqlite3_changes(db->sql) > 0 ? 1 : 0;
}

int db_events_load_unattached(struct db *db, int64_t run_id, struct kernel_event **ret,
			      size_t *ret_n)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	r = db_prepare(
		db,
		"SELECT boot, source, class, seq, ts_ns, prio, device, message, detail "
		"FROM events WHERE run_id = ?1 AND cycle_id IS NULL ORDER BY id",
		&s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id))
		return db_sqlerr_last(db);
	return db_events_load(db, s, ret, ret_n);
}

int db_event_find(struct db *db, int64_t run_id, const struct kernel_event *key,
		  struct kernel_event *ret)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	const char *source = event_source_to_string(key->source);
	struct kernel_event *ev = NULL;
	size_t n = 0;
	int r;

	if (!source)
		return db_fail(db, -EINVAL, "invalid event source %d", (int)key->source);
	r = db_prepare_cached(
		db, DB_CACHED_EVENT_FIND,
		"SELECT boot, source, class, seq, ts_ns, prio, device, message, "
		"detail FROM events WHERE run_id = ?1 AND "
		"boot = ?2 AND source = ?3 AND seq = ?4",
		&s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id) || bind_int(s, 2, key->boot) ||
	    bind_text(s, 3, source) || bind_int(s, 4, key->seq))
		return db_sqlerr_last(db);
	/* The unique index allows one row at most. */
	r = db_events_load(db, s, &ev, &n);
	if (r < 0)
		return r;
	if (n == 0)
		return db_fail(db, -ENOENT, "no such event");
	*ret = ev[0];
	for (size_t i = 1; i < n; i++)
		kernel_event_done(&ev[i]);
	free(ev);
	return 0;
}

/* ---- JSON queries ---------------------------------------------------------------- */

#define RUN_COLUMNS                                                                      \
	"SELECT r.uuid, r.campaign, r.scenario, t.name AS target, t.kind AS "            \
	"target_kind, "                                                                  \
	"r.hostname, k.id AS \"kernel.id\", k.release AS \"kernel.release\", "           \
	"k.label AS \"kernel.label\", r.load_profile, r.sweep_var, r.cycles_planned, "   \
	"(SELECT COUNT(*) FROM cycles c WHERE c.run_id = r.id) AS cycles, "              \
	"r.started_at, "                                                                 \
	"r.finished_at, r.status, r.status_reason FROM runs r JOIN targets t ON t.id = " \
	"r.target_id "                                                                   \
	"JOIN kernels k ON k.id = r.kernel_id "

int db_query_runs(struct db *db, const struct db_run_filter *f, json_t **ret)
{
	static const struct db_run_filter all = {};
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return db_fail(db, -ENOMEM, "out of memory");
	if (!f)
		f = &all;
	r = db_prepare(
		db,
		RUN_COLUMNS
		"WHERE (?1 IS NULL OR t.name = ?1) AND (?2 IS NULL OR k.label = ?2) "
		"AND (?3 IS NULL OR r.campaign = ?3) "
		"ORDER BY r.started_at DESC, r.id DESC LIMIT ?4 OFFSET ?5",
		&s);
	if (r < 0)
		return r;
	if (bind_text(s, 1, f->target) || bind_text(s, 2, f->kernel_label) ||
	    bind_text(s, 3, f->campaign) ||
	    bind_int(s, 4, f->limit > 0 ? f->limit : -1) ||
	    bind_int(s, 5, f->offset > 0 ? f->offset : 0))
		return db_sqlerr_last(db);
	r = db_json_rows(db, s, 0, arr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(arr);
	return 0;
}

/*
 * How late the concurrent-group actions of a run started: type-7 percentiles of
 * start_ns - planned_ns over every such action with a planned start, and how many cycles
 * had one. NULL (JSON null) when none has (runs recorded before planned starts were).
 */
static int db_run_lateness(struct db *db, int64_t run_id, json_t **ret)
{
	static const double probs[] = { 0.10, 0.50, 0.90, 0.99 };
	static const char *const keys[] = { "p10_ns", "p50_ns", "p90_ns", "p99_ns" };
	static const char *const where =
		"FROM actions a JOIN cycles c ON c.id = a.cycle_id WHERE c.run_id = ?1 "
		"AND "
		"a.grp >= 0 AND a.planned_ns IS NOT NULL AND a.start_ns > 0";
	_cleanup_finalize_ sqlite3_stmt *cs = NULL, *s = NULL;
	_cleanup_free_ char *count_sql = NULL, *rows_sql = NULL;
	_cleanup_json_ json_t *o = NULL;
	_cleanup_free_ double *x = NULL;
	size_t n = 0, cap = 0;
	int64_t cycles;
	double q;
	int r;

	count_sql = strprintf("SELECT COUNT(DISTINCT a.cycle_id) %s", where);
	rows_sql = strprintf("SELECT a.start_ns - a.planned_ns %s ORDER BY 1", where);
	if (!count_sql || !rows_sql)
		return db_fail(db, -ENOMEM, "out of memory");
	r = db_prepare(db, count_sql, &cs);
	if (r < 0)
		return r;
	if (bind_int(cs, 1, run_id))
		return db_sqlerr_last(db);
	r = db_step_row(db, cs);
	if (r < 0)
		return r;
	cycles = r > 0 ? col_int(cs, 0) : 0;
	if (cycles == 0) {
		*ret = json_null();
		return 0;
	}
	r = db_prepare(db, rows_sql, &s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id))
		return db_sqlerr_last(db);
	while ((r = db_step_row(db, s)) > 0) {
		if (grow((void **)&x, &cap, n, sizeof(*x)) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
		x[n++] = (double)col_int(s, 0);
	}
	if (r < 0)
		return r;
	if (n == 0) {
		*ret = json_null();
		return 0;
	}
	o = json_object();
	if (!o || json_object_set_new(o, "actions", json_integer((json_int_t)n)) < 0 ||
	    json_object_set_new(o, "cycles", json_integer(cycles)) < 0)
		return db_fail(db, -ENOMEM, "out of memory");
	for (size_t i = 0; i < ARRAY_SIZE(probs); i++) {
		r = stats_quantile_sorted(x, n, probs[i], &q);
		if (r < 0)
			return db_fail(db, r, "cannot compute the lateness quantiles");
		if (json_object_set_new(o, keys[i],
					json_integer((json_int_t)llround(q))) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
	}
	if (json_object_set_new(o, "min_ns", json_integer((json_int_t)x[0])) < 0 ||
	    json_object_set_new(o, "max_ns", json_integer((json_int_t)x[n - 1])) < 0)
		return db_fail(db, -ENOMEM, "out of memory");
	*ret = TAKE_PTR(o);
	return 0;
}

int db_query_run_summary(struct db *db, const char *uuid, json_t **ret)
{
	_cleanup_finalize_ sqlite3_stmt *rs = NULL, *cs = NULL, *os = NULL;
	_cleanup_json_ json_t *out = NULL, *outcomes = NULL, *consumers = NULL;
	json_t *run = NULL, *cur = NULL, *lateness = NULL;
	const char *cur_device = NULL;
	int64_t run_id, total = 0;
	int r;

	r = db_run_find(db, uuid, &run_id);
	if (r < 0)
		return r;

	r = db_prepare(db, RUN_COLUMNS "WHERE r.id = ?1", &rs);
	if (r < 0)
		return r;
	if (bind_int(rs, 1, run_id))
		return db_sqlerr_last(db);
	r = db_step_row(db, rs);
	if (r < 0)
		return r;
	if (r == 0)
		return db_fail(db, -ENOENT, "no run %s", uuid);
	out = json_object();
	outcomes = db_json_outcome_counts();
	consumers = json_array();
	if (!out || !outcomes || !consumers || db_json_row(rs, 0, &run) < 0 ||
	    json_object_set_new(out, "run", run) < 0)
		return db_fail(db, -ENOMEM, "out of memory");

	r = db_prepare(
		db,
		"SELECT outcome, COUNT(*) FROM cycles WHERE run_id = ?1 GROUP BY outcome",
		&cs);
	if (r < 0)
		return r;
	if (bind_int(cs, 1, run_id))
		return db_sqlerr_last(db);
	while ((r = db_step_row(db, cs)) > 0) {
		total += col_int(cs, 1);
		r = db_json_add(outcomes, col_text(cs, 0), col_int(cs, 1));
		if (r < 0)
			return db_fail(db, r, "cannot count outcome '%s'",
				       col_text(cs, 0));
	}
	if (r < 0)
		return r;

	r = db_prepare(db,
		       "SELECT o.device, o.outcome, COUNT(*) FROM observations o "
		       "JOIN cycles c ON c.id = o.cycle_id WHERE c.run_id = ?1 AND "
		       "o.consumer = 1 "
		       "GROUP BY o.device, o.outcome ORDER BY o.device",
		       &os);
	if (r < 0)
		return r;
	if (bind_int(os, 1, run_id))
		return db_sqlerr_last(db);
	while ((r = db_step_row(db, os)) > 0) {
		const char *device = col_text(os, 0);
		json_t *n;

		if (!device)
			return db_fail(db, -ENOMEM, "out of memory");
		if (!cur || !streq(cur_device, device)) {
			cur = json_object();
			if (!cur || json_array_append_new(consumers, cur) < 0 ||
			    json_object_set_new(cur, "device", json_string(device)) < 0 ||
			    json_object_set_new(cur, "observations", json_integer(0)) <
				    0 ||
			    json_object_set_new(cur, "outcomes",
						db_json_outcome_counts()) < 0)
				return db_fail(db, -ENOMEM, "out of memory");
			/* The JSON string keeps the name while the statement moves on. */
			cur_device = json_string_value(json_object_get(cur, "device"));
		}
		n = json_object_get(cur, "observations");
		if (json_integer_set(n, json_integer_value(n) + col_int(os, 2)) < 0)
			return db_fail(db, -ENOMEM, "out of memory");
		r = db_json_add(json_object_get(cur, "outcomes"), col_text(os, 1),
				col_int(os, 2));
		if (r < 0)
			return db_fail(db, r, "cannot count outcome '%s'",
				       col_text(os, 1));
	}
	if (r < 0)
		return r;

	if (json_object_set_new(out, "cycles", json_integer(total)) < 0 ||
	    json_object_set_new(out, "outcomes", TAKE_PTR(outcomes)) < 0 ||
	    json_object_set_new(out, "consumers", TAKE_PTR(consumers)) < 0)
		return db_fail(db, -ENOMEM, "out of memory");
	r = db_run_lateness(db, run_id, &lateness);
	if (r < 0)
		return r;
	if (json_object_set_new(out, "lateness", lateness) < 0)
		return db_fail(db, -ENOMEM, "out of memory");
	*ret = TAKE_PTR(out);
	return 0;
}

int db_query_kernels(struct db *db, json_t **ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return db_fail(db, -ENOMEM, "out of memory");
	r = db_prepare(
		db,
		"SELECT k.id, k.release, k.version, k.build_id, k.cmdline, k.label, "
		"k.patches, k.fw_devlink, k.deferred_probe_timeout, "
		"(SELECT COUNT(*) FROM runs r WHERE r.kernel_id = k.id) AS runs, "
		"(SELECT COUNT(*) FROM cycles c JOIN runs r ON r.id = c.run_id "
		"WHERE r.kernel_id = k.id) AS cycles FROM kernels k ORDER BY k.id DESC",
		&s);
	if (r < 0)
		return r;
	r = db_json_rows(db, s, 0, arr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(arr);
	return 0;
}

sqlite3 *db_sqlite(struct db *db)
{
	return db->sql;
}

/* ---- what a cycle the target died in needs to know ------------------------------ */

int db_run_consumers(struct db *db, int64_t run_id, char **ret)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	_cleanup_free_ char *list = NULL;
	int r;

	/* As recorded at the start of the run; for runs of older producers, the consumers
	 * its other cycles observed. */
	r = db_prepare(
		db,
		"SELECT consumers FROM runs WHERE id = ?1 AND consumers IS NOT NULL "
		"UNION ALL SELECT * FROM (SELECT DISTINCT o.device FROM observations o "
		"JOIN cycles c ON c.id = o.cycle_id WHERE c.run_id = ?1 AND "
		"o.consumer = 1 AND NOT EXISTS (SELECT 1 FROM runs WHERE id = ?1 "
		"AND consumers IS NOT NULL) ORDER BY o.device)",
		&s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id))
		return db_sqlerr_last(db);
	while ((r = db_step_row(db, s)) > 0) {
		const char *d = col_text(s, 0);
		char *n;

		if (!d || !*d)
			continue;
		n = list ? strprintf("%s %s", list, d) : strdup(d);
		if (!n)
			return db_fail(db, -ENOMEM, "out of memory");
		free(list);
		list = n;
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(list);
	return 0;
}

int db_run_sweep_guess(struct db *db, int64_t run_id, int64_t seq, int64_t *ret_value)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r;

	/* The rule of schema/007-failures-count.sql: S distinct values, more than S swept
	 * cycles, every residue mod S with one value. */
	r = db_prepare(
		db,
		"WITH t AS (SELECT COUNT(DISTINCT sweep_value) AS s, COUNT(*) AS n "
		"FROM cycles WHERE run_id = ?1 AND sweep_value IS NOT NULL), "
		"res AS (SELECT c.seq % t.s AS k, COUNT(DISTINCT c.sweep_value) AS m, "
		"MIN(c.sweep_value) AS v FROM cycles c, t WHERE c.run_id = ?1 AND "
		"c.sweep_value IS NOT NULL GROUP BY 1) "
		"SELECT (SELECT v FROM res, t WHERE res.k = ?2 % t.s) FROM t "
		"WHERE t.s > 0 AND t.n > t.s AND NOT EXISTS (SELECT 1 FROM res WHERE m > "
		"1)",
		&s);
	if (r < 0)
		return r;
	if (bind_int(s, 1, run_id) || bind_int(s, 2, seq))
		return db_sqlerr_last(db);
	r = db_step_row(db, s);
	if (r < 0)
		return r;
	if (r == 0 || sqlite3_column_type(s, 0) == SQLITE_NULL)
		return db_fail(db, -ENOENT, "no sweep value known for cycle %lld",
			       (long long)seq);
	*ret_value = col_int(s, 0);
	return 0;
}
