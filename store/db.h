/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Storage: the SQLite database every run, cycle, action, observation and kernel event is
 * recorded in (schema/NNN-*.sql, applied by PRAGMA user_version). The runner writes one
 * transaction per cycle; the CLI, the HTTP API and the compare engine read through the
 * query helpers and the views of the schema. This layer never logs: functions return 0
 * (or a documented positive value) or a negative errno, and db_errmsg() keeps SQLite's
 * (or our) message for the caller to log. SQLite result codes map as: BUSY/LOCKED -EBUSY,
 * unique or primary key violation -EEXIST, other constraint (CHECK, NOT NULL, foreign
 * key) -EINVAL, NOMEM -ENOMEM, CANTOPEN the OS errno (-ENOENT, -EACCES, ...), READONLY
 * -EROFS, FULL -ENOSPC, CORRUPT/NOTADB -EBADMSG, anything else -EIO.
 *
 * A struct db is one connection; use it from one thread at a time (open one per thread,
 * WAL lets readers run beside the writer). Outputs named ret_ are untouched on failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model.h"

/* One migration, generated from schema/NNN-name.sql by schema/gen-schema.sh. */
struct db_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct db_migration db_migrations[];
extern const size_t db_n_migrations;

struct db;

enum {
	DB_READONLY = 1 << 0, /* open read-only: no migrations, no pragmas that write */
};

/* Opens (creating when writable) the database at path (":memory:" works), applies pending
 * migrations, one transaction each. WAL, synchronous=NORMAL, foreign keys on, 5 s busy
 * timeout. -EPROTONOSUPPORT if the file is newer than this binary (nothing written);
 * -EROFS if DB_READONLY and migrations are pending. The caller owns *ret (db_close). */
int db_open(const char *path, int flags, struct db **ret);
/* Closes; rolls back an open transaction. Accepts NULL. */
void db_close(struct db *db);
/* The message of the last failure on db (SQLite's or ours); owned by db, valid until the
 * next call on db. "" when there was none. */
const char *db_errmsg(struct db *db);
/* The SQLite handle, for read-only queries of modules that aggregate in SQL (the compare
 * engine); owned by db. Declared with an incomplete type so callers need <sqlite3.h>. */
struct sqlite3;
struct sqlite3 *db_sqlite(struct db *db);
/* Schema version of the open database (PRAGMA user_version). */
int db_schema_version(struct db *db);
/* The file of the database, "" for an in-memory or temporary one; owned by db. */
const char *db_filename(struct db *db);

/* synchronous=FULL (true) or NORMAL (false): FULL survives a kernel crash of the target
 * at the cost of an fsync per commit; reboot campaigns want it. 0 or negative errno. */
int db_set_crash_safe(struct db *db, bool crash_safe);

/* Write transaction (BEGIN IMMEDIATE); nests as savepoints, so the db_* writers below can
 * run inside a caller's transaction (bundle import). 0 or negative errno. */
int db_begin(struct db *db);
/* Read transaction (BEGIN DEFERRED): a consistent snapshot over several queries. Nests
 * like db_begin; end it with db_commit or db_rollback. */
int db_begin_read(struct db *db);
/* Ends the innermost transaction. On failure the innermost level has been rolled back. */
int db_commit(struct db *db);
/* Undoes the innermost transaction level. 0 or negative errno. */
int db_rollback(struct db *db);

/* Inserts a run, reusing the kernels row with an identical identity (all fields, NULLs
 * equal) and the targets row with the same (target, target_kind). -EEXIST if the UUID is
 * recorded already, -EINVAL for a missing required field (uuid, campaign, scenario, target,
 * target_kind, started_at, kernel release/version/cmdline) or a bad status/target_kind
 * (target_kind "local" or "qemu"). A NULL status is recorded as "running".
 * *ret_run_id (optional) receives the row id. */
int db_run_insert(struct db *db, const struct run_record *r, int64_t *ret_run_id);
/* Row id of the run with this UUID; -ENOENT if there is none. */
int db_run_find(struct db *db, const char *uuid, int64_t *ret_run_id);
/* Sets (NULL: clears) the run's status reason: why it ended as it did, e.g. what aborted
 * it. -ENOENT for an unknown run. 0 or negative errno. */
int db_run_set_status_reason(struct db *db, int64_t run_id, const char *reason);
/* How many of the run's cycles have outcome o, into *ret. 0 or negative errno. */
int db_run_count_outcome(struct db *db, int64_t run_id, enum outcome o, int64_t *ret);
/* Marks a run as started by this database's own runner (not imported): only such runs are
 * taken up after a boot. Idempotent. 0 or negative errno. */
int db_run_mark_local(struct db *db, int64_t run_id);
/* Fills *ret (zeroed first; caller owns it, run_record_done) from the run with this UUID,
 * kernel identity and target included. -ENOENT if there is none. */
int db_run_load(struct db *db, const char *uuid, struct run_record *ret);
/* Sets status ("running", "finished", "aborted", "interrupted") and finished_at (may be
 * NULL); load_metrics replaces the stored text unless NULL. -ENOENT for an unknown run,
 * -EINVAL for a bad status. */
int db_run_finish(struct db *db, int64_t run_id, const char *status,
		  const char *finished_at, const char *load_metrics);
/* The seq the next cycle of the run gets: 1 + the highest recorded, 0 for none. Used to
 * resume a run. -ENOENT for an unknown run. */
int db_run_next_seq(struct db *db, int64_t run_id, int64_t *ret);

/* Records (replacing any previous one) the action the runner is about to perform in cycle
 * c (its seq, sweep value and boot_id are kept; nothing else of c is read; a NULL
 * boot_id: not known), and commits it with synchronous=FULL whatever the crash-safe
 * setting, so a target crash during the action finds it after the reboot. start_ns 0
 * means "now". Must not be called inside a transaction (-EBUSY). 0 or negative errno. */
int db_inflight_set(struct db *db, int64_t run_id, const struct cycle_record *c,
		    const struct action_record *a);
/* Removes the run's in-flight record (0 also when there was none), durably like _set. */
int db_inflight_clear(struct db *db, int64_t run_id);
/* The run's in-flight action: the cycle's seq, has_sweep, sweep_value and boot_id into
 * *ret_cycle (optional; everything else zero; boot_id malloc'd or NULL when not recorded:
 * the caller frees it, cycle_record_done; has_sweep false also when the record predates
 * schema 7), idx, group, verb, arg, params, offset_us and start_ns into *ret_action
 * (zeroed first; caller owns it, action_record_done); end_ns 0, err 0, hung false.
 * -ENOENT if none is recorded. */
int db_inflight_get(struct db *db, int64_t run_id, struct cycle_record *ret_cycle,
		    struct action_record *ret_action);

/* Records a whole cycle in one transaction (a savepoint inside a caller's transaction):
 * the cycle row, its actions, observations and events. Events whose (boot, source, seq)
 * the run has recorded already are not duplicated (an unattached one is attached to this
 * cycle). Any failure rolls everything of the cycle back. -EEXIST if (run, seq) exists
 * (nothing changed), -ENOENT for an unknown run, -EINVAL for a value the schema refuses
 * (unknown outcome/verb/class/source, event seq < 0, two actions with one idx, two
 * observations of one device). *ret_cycle_id is optional. */
int db_cycle_insert(struct db *db, int64_t run_id, const struct cycle_record *c,
		    int64_t *ret_cycle_id);
/* Fills *ret (zeroed first; caller owns it, cycle_record_done) with cycle seq of the run:
 * actions by idx, observations and events in insertion order. -ENOENT if not recorded. */
int db_cycle_load(struct db *db, int64_t run_id, int64_t seq, struct cycle_record *ret);
/* The recorded cycle seqs of the run in ascending order into a malloc'd array the caller
 * frees (NULL when there are none) and its length. 0 or negative errno. */
int db_cycle_seqs(struct db *db, int64_t run_id, int64_t **ret_seqs, size_t *ret_n);

/* Records an event outside any cycle (boot records, pstore). Returns 1 if inserted, 0 if
 * the run already has an event with the same (boot, source, seq); negative errno else
 * (-EINVAL for seq < 0, an unknown class/source or an unknown run). */
int db_event_insert_unattached(struct db *db, int64_t run_id,
			       const struct kernel_event *e);
/* The run's events outside cycles, in insertion order, into a malloc'd array the caller
 * frees with kernel_event_done on each element and free (NULL when none). */
int db_events_load_unattached(struct db *db, int64_t run_id, struct kernel_event **ret,
			      size_t *ret_n);

/* The run's event with key's (boot, source, seq), attached to a cycle or not, into *ret
 * (zeroed first; caller owns it, kernel_event_done): for importers that compare a record
 * with the copy kept. -ENOENT if there is none. */
int db_event_find(struct db *db, int64_t run_id, const struct kernel_event *key,
		  struct kernel_event *ret);

/* Selection for db_query_runs: NULL fields match everything; limit <= 0: no limit. */
struct db_run_filter {
	const char *target; /* target name */
	const char *kernel_label;
	const char *campaign;
	int64_t limit;
	int64_t offset;
};
/* Runs, newest first, as a JSON array of objects (uuid, campaign, scenario, target,
 * target_kind, hostname, kernel {id, release, label}, load_profile, sweep_var,
 * cycles_planned, cycles, started_at, finished_at, status, status_reason: null unless
 * something was said about how it ended). f may be NULL. The caller owns *ret
 * (json_decref). 0 or negative errno. */
int db_query_runs(struct db *db, const struct db_run_filter *f, json_t **ret);
/* One run's summary: {"run":{as in db_query_runs}, "cycles":N, "outcomes":{name:count
 * for every outcome, in severity order}, "consumers":[{"device", "observations",
 * "outcomes":{...}}], "lateness":{"actions", "cycles", "p10_ns", "p50_ns", "p90_ns",
 * "p99_ns", "min_ns", "max_ns"} of start_ns - planned_ns over the concurrent-group
 * actions, or null when none has a planned start}. -ENOENT for an unknown UUID. The
 * caller owns *ret. */
int db_query_run_summary(struct db *db, const char *uuid, json_t **ret);
/* Recorded kernels as a JSON array ({id, all identity fields, runs, cycles}), newest row
 * first. The caller owns *ret. */
int db_query_kernels(struct db *db, json_t **ret);

/* The consumers of a run, space-separated, into *ret (malloc'd, the caller frees; NULL
 * when none is known): as the run recorded them (run_record.consumers), else, for a run
 * of an older producer, the consumers its cycles observed. 0 or negative errno. */
int db_run_consumers(struct db *db, int64_t run_id, char **ret);
/* The sweep value of cycle seq of a swept run whose in-flight record did not carry it
 * (an older producer), from the values its other cycles recorded: the runner gives cycle
 * k the point k mod steps. -ENOENT when they do not determine it (fewer cycles than
 * points seen, or values that do not repeat with the number of distinct values). */
int db_run_sweep_guess(struct db *db, int64_t run_id, int64_t seq, int64_t *ret_value);
