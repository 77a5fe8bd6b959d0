/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The compare engine shared by the CLI and the HTTP API: base vs head, each a set of runs
 * chosen by a selector (a kernel label, a run UUID, "label:NAME", "run:UUID",
 * "kernel:ID"), compared per scenario and consumer: outcome rates with Wilson 95%
 * intervals (one-sided upper bounds for zero counts), Fisher's exact p per outcome class,
 * latency percentiles with bootstrap CIs, Mann-Whitney p and Hodges-Lehmann shift for
 * time-to-bound and bind latency, and per-sweep-offset failure counts (the race window).
 * Every metric gets a verdict at its alpha; the result regressed if any metric did.
 *
 * Every cycle counts: crash and hang cycles carry one observation per consumer (schema
 * 007), so they are in every rate and per-offset count. Latency is that of the cycles
 * that bound correctly (outcome ok or deferred_ok) only: a failure mode that skips work
 * makes a bind faster. When the two sides' failure rates differ significantly (the "any
 * failure" row's Fisher p <= alpha_outcome), the cycles that bound correctly are not
 * comparable populations: a significant latency shift is then "conditional" and its
 * verdict is no_change, whichever way it goes (shift_verdict says which way).
 *
 * The JSON form (compare_result_to_json, the API's /compare body) carries everything the
 * renderers print, and compare_result_from_json reads it back, so the CLI renders a
 * remote daemon's answer with the same code as a local comparison (text, markdown,
 * JUnit).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "model.h"
#include "stats.h"

struct db;

/* Above this many values per side, latency CIs are the percentile bootstrap's
 * large-sample limit (order-statistic ranks) computed directly instead of by 2000
 * resamples; and when any group's metric has more than this on a side, the latencies of
 * the comparison come from the agg_latency histograms instead of the raw rows. */
#define COMPARE_BOOTSTRAP_MAX_N 20000u
/* Results kept by compare_run (least recently used goes first). */
#define COMPARE_CACHE_ENTRIES 16u

struct compare_opts {
	const char *base;
	const char *head;
	double alpha_outcome; /* default 0.001 */
	double alpha_latency; /* default 0.01 */
	uint64_t seed; /* bootstrap seed (0 = fixed default, results reproducible) */
	/* Raw latencies are read while no group's metric has more than this many on a side
	 * (0: COMPARE_BOOTSTRAP_MAX_N); above, the histograms are used. */
	size_t raw_max;
};

/* One outcome class (or "any failure": outcome == -1) of one consumer. */
struct compare_rate {
	int outcome;
	uint64_t k_base, n_base, k_head, n_head;
	struct stats_interval ci_base,
		ci_head; /* Wilson 95%; for k = 0, [0, exact upper] */
	double p;	 /* Fisher two-sided */
	enum stats_verdict verdict;
};

enum { COMPARE_P50, COMPARE_P90, COMPARE_P99, _COMPARE_Q_MAX };

struct compare_latency {
	const char *metric; /* "time_to_bound" or "bind_latency" (static strings) */
	size_t n_base, n_head;
	double q_base[_COMPARE_Q_MAX], q_head[_COMPARE_Q_MAX]; /* ns */
	struct stats_interval ci_base[_COMPARE_Q_MAX], ci_head[_COMPARE_Q_MAX];
	double p;	 /* Mann-Whitney two-sided; NaN when a side is empty */
	double shift_ns; /* Hodges-Lehmann, head - base */
	enum stats_verdict verdict;
	/* The verdict the shift alone gets at alpha_latency; differs from verdict only when
	 * conditional. */
	enum stats_verdict shift_verdict;
	/* The shift is significant but the failure rates of the sides differ significantly:
	 * verdict is STATS_NO_CHANGE (see the top of this file). */
	bool conditional;
	/* The statistics are those of the agg_latency histograms (schema 004: values of
	 * 1 µs and more to three significant digits, bins at most 1% wide, each at its
	 * midpoint), not of the raw values: a side had more than COMPARE_BOOTSTRAP_MAX_N. */
	bool binned;
};

struct compare_bucket {
	int64_t sweep; /* sweep value, µs */
	uint64_t n_base, fail_base, n_head, fail_head;
};

/* The race window seen on one side: the offsets whose failure rate is significantly above
 * that of the least-failing offset (Fisher's exact test, two-sided, p <= COMPARE_WINDOW_ALPHA
 * per offset, not corrected for the number of offsets: a descriptive estimate). */
#define COMPARE_WINDOW_ALPHA 0.05
enum compare_window_kind {
	COMPARE_WINDOW_UNKNOWN, /* read from an answer that did not say (older server) */
	COMPARE_WINDOW_NO_CYCLES,   /* the side has no cycle at any offset */
	COMPARE_WINDOW_NO_FAILURES, /* no failures at any offset */
	COMPARE_WINDOW_EVERY_OFFSET, /* failures at every offset, none significantly more */
	COMPARE_WINDOW_NO_DEPENDENCE, /* failures at some offsets, none significantly more */
	COMPARE_WINDOW_FOUND,	      /* a window: the fields below */
	_COMPARE_WINDOW_KIND_MAX,
};
/* "unknown", "no_cycles", "no_failures", "every_offset", "no_dependence", "window". */
const char *compare_window_kind_to_string(enum compare_window_kind k);

struct compare_window {
	enum compare_window_kind kind;
	size_t n_offsets,
		n_failing; /* offsets with cycles on the side, and with failures */
	bool found;	   /* kind == COMPARE_WINDOW_FOUND */
	int64_t first_us, last_us; /* first and last offset above the baseline */
	size_t n_above;		   /* how many offsets are */
	int64_t baseline_us;	   /* the least-failing offset (ties: the most cycles) */
};

struct compare_group {
	char *scenario;
	char *device;
	struct compare_rate
		rates[_OUTCOME_MAX + 1]; /* outcome classes seen + "any failure" */
	size_t n_rates;
	struct compare_latency latency[2];
	struct compare_bucket *buckets;
	size_t n_buckets;
	struct compare_window window_base, window_head;
};

struct compare_side {
	char *selector;
	int64_t *run_ids;
	size_t n_runs;
	char *description; /* "label stock, 7.3.4-probestorm, 2 runs" */
};

struct compare_result {
	struct compare_side base, head;
	double alpha_outcome, alpha_latency;
	bool binned; /* latencies from histograms (see compare_latency) */
	struct compare_group *groups;
	size_t n_groups;
};

/* Runs the comparison in one read snapshot. -ENOENT when a selector matches no run
 * (-EINVAL when malformed). With o->head NULL only the base side is computed, for
 * compare_side_to_json() and render_compare_side(); the two-sided renderers need a head. The caller owns *ret (compare_result_free). Thread-safe for
 * distinct db handles. Results on a database file are cached process-wide while the rows
 * they were computed from are unchanged (see compare.c); compare_cache_flush() frees
 * the cache (at exit, for leak checkers). */
int compare_run(struct db *db, const struct compare_opts *o, struct compare_result **ret);
void compare_cache_flush(void);
void compare_result_free(struct compare_result *r);
/* True when any metric of any group is a regression. */
bool compare_result_regressed(const struct compare_result *r);
/* The result as JSON (the API's /compare body); NULL on allocation failure. */
json_t *compare_result_to_json(const struct compare_result *r);
/* Reads the JSON form back (run ids are not part of it: run_ids stays NULL, n_runs is
 * the count). -EBADMSG for a missing or mistyped member, an unknown outcome, metric or
 * verdict; -ENOMEM. The caller owns *ret (compare_result_free); j stays the caller's. */
int compare_result_from_json(json_t *j, struct compare_result **ret);
/* The base side alone, for a report on one kernel (compare_run without a head): JSON
 * {"selector", "kernel", "runs", "groups": [{"scenario", "consumer", "outcomes": [{"outcome",
 * "k", "n", "ci"}], "latency": [{"metric", "n", "binned", "p50": {"value", "ci"}, ...}],
 * "sweep": [{"sweep_us", "n", "fail"}], "window"}]} (NULL on allocation failure). */
json_t *compare_side_to_json(const struct compare_result *r);

/* The name of an outcome class row: the outcome's, "any_failure" for -1. Static. */
const char *compare_rate_name(int outcome);
/* The rates of g copied to out (room for _OUTCOME_MAX + 1) in the order the reports print
 * them: most severe first, "any failure" last. Returns how many. */
size_t compare_group_sorted_rates(const struct compare_group *g,
				  struct compare_rate *out);
