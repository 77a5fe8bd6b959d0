/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the push thread (daemon/push.c) keeps in the database: push_runs (schema/002-push.sql)
 * says up to which cycle, and in which status, each run has been written to the spool.
 * Like the rest of the storage layer this never logs: 0 or a negative errno (SQLite's codes
 * mapped as in db.h), db_errmsg() has the message, ret_ outputs are untouched on failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* A run that may have something to spool, and what push_runs says about it. */
struct db_push_run {
	int64_t run_id;
	char uuid[37];
	bool running;	    /* its status is "running" */
	bool spooled;	    /* it has a push_runs row: the fields below are from it */
	int64_t next_seq;   /* cycles below it are spooled (0 when !spooled) */
	int64_t spooled_at; /* unix seconds (0 when !spooled) */
	int64_t max_seq;    /* its highest recorded cycle seq, -1 for none */
};

/* Runs that were never spooled, are running, or whose status changed since they were
 * spooled, by row id, into a malloc'd array the caller frees (NULL when none) and its
 * length. Whether a running run is due is the caller's decision (next_seq, max_seq and
 * spooled_at say what it needs). 0 or negative errno. */
int db_push_runs_changed(struct db *db, struct db_push_run **ret, size_t *ret_n);
/* The run's recorded cycle seqs from from_seq on, ascending, into a malloc'd array the
 * caller frees (NULL when none) and its length. 0 or negative errno. */
int db_push_cycle_seqs(struct db *db, int64_t run_id, int64_t from_seq,
		       int64_t **ret_seqs, size_t *ret_n);
/* Records (replacing the previous record) that the run is spooled up to cycle next_seq
 * (exclusive) in status, at spooled_at (unix seconds). -ENOENT for an unknown run,
 * -EINVAL for next_seq < 0 or a NULL status. 0 or negative errno. */
int db_push_run_spooled(struct db *db, int64_t run_id, int64_t next_seq,
			const char *status, int64_t spooled_at);
