/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the campaign runner (daemon/runner.c) asks the database when the daemon starts:
 * the runs its own runner left running, to take them up. Like the rest of the storage
 * layer this never logs: 0 or a negative errno (SQLite's codes mapped as in db.h),
 * db_errmsg() has the message, ret_ outputs are untouched on failure.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* A run this database's runner started and did not end. */
struct db_runner_run {
	int64_t id; /* row id */
	char uuid[37];
	char *campaign;
	int boot;      /* boot number of its last recorded cycle (0 without one) */
	char *boot_id; /* boot_id of its last recorded cycle, NULL when none is recorded */
};

/* Frees what r holds (not r itself). Accepts NULL. */
void db_runner_run_done(struct db_runner_run *r);
/* Frees an array from db_runner_runs_unfinished and its n elements. Accepts NULL. */
void db_runner_runs_free(struct db_runner_run *runs, size_t n);

/* Runs with status "running" that are marked local (db_run_mark_local: imported runs
 * belong to a rig), by row id, into a malloc'd array the caller frees with
 * db_runner_runs_free (NULL when none) and its length. 0 or negative errno. */
int db_runner_runs_unfinished(struct db *db, struct db_runner_run **ret, size_t *ret_n);
