/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Read-only queries behind the HTTP API that db.h does not have: targets, run counts,
 * a run's cycles page by page, a cycle's location by row id, a run's sweep buckets and
 * outcome-rate trends over runs. They aggregate in SQL and shape
 * their JSON with column aliases ("kernel.label" becomes {"kernel":{"label":...}}), like
 * db_query_runs(). Like the rest of the storage layer this module never logs: functions
 * return 0 or a negative errno (SQLite's codes mapped as in db.h), db_errmsg() has the
 * message of the last failure, and ret_ outputs are untouched on failure.
 */
#pragma once

#include <stdint.h>

#include <jansson.h>

#include "db.h"

/* Targets as a JSON array of {id, name, kind, runs, cycles, last_run_at}, by name and
 * kind. The caller owns *ret (json_decref). */
int db_query_targets(struct db *db, json_t **ret);

/* Number of runs db_query_runs() selects with f, limit and offset ignored (f may be
 * NULL: all runs). */
int db_query_run_count(struct db *db, const struct db_run_filter *f, int64_t *ret);

/* One page of the run's cycles by seq (limit > 0, offset >= 0) as a JSON array of {id,
 * seq, boot, sweep_value, outcome, deferrals, note, start_ns, end_ns, duration_ns,
 * max_lateness_ns (largest |start - planned| of its concurrent actions, null if none),
 * consumers: [{device, outcome, driver, iommu_group, domain_type, time_to_bound_ns,
 * deferrals, deferred_reason}]}, and the number of cycles selected into *ret_total.
 * sweep_us NULL: every cycle; otherwise only those whose sweep value is *sweep_us.
 * -ENOENT for an unknown UUID. The caller owns *ret. */
int db_query_run_cycles(struct db *db, const char *uuid, const int64_t *sweep_us,
			int64_t limit, int64_t offset, json_t **ret, int64_t *ret_total);

/* The run (row id and UUID) and seq of the cycle with row id cycle_id, for
 * db_cycle_load(). -ENOENT when there is no such cycle. */
int db_query_cycle_locate(struct db *db, int64_t cycle_id, int64_t *ret_run_id,
			  char ret_uuid[37], int64_t *ret_seq);

/* Outcome counts per consumer and sweep value of one run: {"run", "sweep_var",
 * "consumers": [{"device", "buckets": [{"sweep_us", "n", "failures", "outcomes":
 * {name: count for every outcome, in severity order}}]}]}, consumers by name, buckets by
 * sweep value; cycles without a sweep value are left out. -ENOENT for an unknown UUID.
 * The caller owns *ret. */
int db_query_run_sweep(struct db *db, const char *uuid, json_t **ret);

/* Selection for db_query_trend(); NULL strings match everything. */
struct db_trend_filter {
	const char *target;   /* target name */
	const char *consumer; /* consumer device (topology name) */
	const char *kernel_label;
	const char *campaign;
	/* the outcome counted, or -1 for "any failure" (neither ok nor deferred_ok) */
	int outcome;
	int64_t limit; /* the newest this many runs; <= 0: all */
};
/* Per run, oldest first (newest last): {run, started_at, campaign, scenario, target,
 * kernel {id, label, release}, k, n}, k the consumer observations with the outcome and n
 * all consumer observations of the selected consumer(s) in the run. Runs without such
 * observations are left out. The caller owns *ret. */
int db_query_trend(struct db *db, const struct db_trend_filter *f, json_t **ret);
