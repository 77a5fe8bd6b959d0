/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reads behind analysis/ (compare, decide, report): which runs a selector names, the
 * outcome counts and latency histograms that triggers keep at ingest (schema 004), the raw
 * latencies, per-boot counts, and the records a report quotes. analysis/ computes on what
 * these return and never sees SQL.
 *
 * Rows that come in many (counts, latencies, per-boot counts) are handed one by one to a
 * callback with a plain struct whose strings are valid during the call only: nothing is
 * copied that the caller does not keep. A callback returning a negative errno stops the
 * query, which returns that errno. Like the rest of store/ nothing here logs: 0 or a
 * negative errno (SQLite's codes mapped as in db.h), the message in db_errmsg(), ret_
 * outputs untouched on failure. Run ids are row ids as db_analysis_runs_select() gives.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "db.h"
#include "model.h"

/* How db_analysis_runs_select() picks runs. */
enum db_run_key {
	DB_RUN_KEY_UUID,      /* the run with this UUID */
	DB_RUN_KEY_KERNEL_ID, /* the runs of the kernels row with this id (text: "7") */
	DB_RUN_KEY_LABEL,     /* the runs of kernels with this label */
};

/* The runs a selector names, by row id. */
struct db_run_set {
	int64_t *ids; /* malloc'd; NULL when n is 0 */
	size_t n;
	char *label, *release; /* the kernel of the first run; either may be NULL */
};
void db_run_set_done(struct db_run_set *s);

/* The runs of key = value into *ret (zeroed first, the caller owns it: db_run_set_done):
 * by row id; none is not an error (n 0). */
int db_analysis_runs_select(struct db *db, enum db_run_key key, const char *value,
			    struct db_run_set *ret);

/* Identifies the data a comparison reads: the largest row ids of kernels, runs and
 * cycles. probestorm only appends to them, so while they are unchanged (read in one
 * snapshot with the comparison) so is everything compare reads. */
int db_analysis_fingerprint(struct db *db, int64_t ret[3]);

/* One row of agg_outcomes: n consumer observations of device in the scenario with the
 * outcome, at one sweep value or unswept. */
struct db_outcome_count {
	const char *scenario, *device;
	int outcome; /* enum outcome; negative for a name outside the model (CHECK: never) */
	bool swept;
	int64_t sweep_value; /* µs, when swept */
	int64_t n;
};
typedef int (*db_outcome_count_fn)(const struct db_outcome_count *row, void *userdata);
/* Every agg_outcomes row of the runs, to fn. */
int db_analysis_outcome_counts(struct db *db, const int64_t *run_ids, size_t n_runs,
			       db_outcome_count_fn fn, void *userdata);

enum db_latency_metric {
	DB_LATENCY_TIME_TO_BOUND, /* consumer observations' time to bound */
	DB_LATENCY_BIND,	  /* bind/probe actions' end - start */
};
/* n values (binned: n values in the bin whose lower edge is value) of a metric of device
 * in the scenario, ns. */
struct db_latency_value {
	const char *scenario, *device;
	enum db_latency_metric metric;
	int64_t value, n;
};
typedef int (*db_latency_fn)(const struct db_latency_value *row, void *userdata);
/* The agg_latency histograms of the runs (cycles that bound correctly only; schema 007),
 * to fn. */
int db_analysis_latency_binned(struct db *db, const int64_t *run_ids, size_t n_runs,
			       db_latency_fn fn, void *userdata);
/* The raw latencies of the runs' cycles that bound correctly (outcome ok or
 * deferred_ok), n 1 each: every time to bound of a consumer observation, then every
 * bind/probe action's duration, keyed by the action's argument (the device). */
int db_analysis_latency_raw(struct db *db, const int64_t *run_ids, size_t n_runs,
			    db_latency_fn fn, void *userdata);

/* Whether a cycle of any of the runs has a reboot action, into *ret. */
int db_analysis_reboot_seen(struct db *db, const int64_t *run_ids, size_t n_runs,
			    bool *ret);

/* Consumer observations counted per run, boot, scenario, device and outcome. */
struct db_boot_count {
	int64_t run_id, boot;
	const char *scenario, *device;
	int outcome; /* enum outcome; negative for a name outside the model (CHECK: never) */
	int64_t n;
};
typedef int (*db_boot_count_fn)(const struct db_boot_count *row, void *userdata);
/* The runs' per-boot counts, ordered by run and boot, to fn. */
int db_analysis_boot_counts(struct db *db, const int64_t *run_ids, size_t n_runs,
			    db_boot_count_fn fn, void *userdata);

/* The kernels the runs ran, by id, as a JSON array of {id, release, version, build_id,
 * cmdline, label, patches}. The caller owns *ret (json_decref). */
int db_analysis_kernels(struct db *db, const int64_t *run_ids, size_t n_runs,
			json_t **ret);
/* db_query_run_summary() of each run, by row id, as a JSON array. The caller owns *ret. */
int db_analysis_run_summaries(struct db *db, const int64_t *run_ids, size_t n_runs,
			      json_t **ret);

/* A cycle as a report names it. */
struct db_cycle_ref {
	int64_t id;	/* row id */
	int64_t seq;	/* within its run */
	char *note;	/* malloc'd or NULL */
	char *run_uuid; /* malloc'd */
};
void db_cycle_ref_done(struct db_cycle_ref *c);
/* The first cycle (runs in row id order, then cycles) with outcome o into *ret (the caller
 * owns it: db_cycle_ref_done). -ENOENT when none has it. */
int db_analysis_first_cycle(struct db *db, const int64_t *run_ids, size_t n_runs,
			    enum outcome o, struct db_cycle_ref *ret);
/* The first record (by insertion) of class c of cycle cycle_id into *ret (the caller owns
 * it: kernel_event_done). -ENOENT when the cycle has none. */
int db_analysis_cycle_event(struct db *db, int64_t cycle_id, enum event_class c,
			    struct kernel_event *ret);
