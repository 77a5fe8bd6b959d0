/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Adaptive campaigns ("run until decided", docs/adaptive.md): given a comparison of base
 * and head (compare_run) and a plan, decide each watched outcome rate DIFFERENT (Fisher's
 * exact test, two-sided, p <= the per-look alpha), SAME (equivalence within an absolute
 * margin: stats_equivalence_tost, p <= the per-look alpha) or UNDECIDED. The comparison
 * is DECIDED when every watched metric is DIFFERENT or SAME.
 *
 * Looking again after every batch inflates the error rates; the plan names the number of
 * looks K up front and each look tests at alpha / K (Bonferroni over the planned looks:
 * conservative, valid whatever the correlation between looks). Cycles are treated as
 * independent trials; decide_clusters_load() measures how true that is (the design effect
 * of the boots, the clusters cycles share) and whether the scenario reboots.
 *
 * Pure computation apart from decide_clusters_load() (one read of the database); no
 * logging; negative errno on failure; ret_ outputs written only on success.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "compare.h"

#define DECIDE_DEFAULT_ALPHA  0.001
#define DECIDE_DEFAULT_MARGIN 0.05
/* Below this many boots per side the design effect is little more than a sign. */
#define DECIDE_FEW_CLUSTERS 5u

enum decide_state {
	DECIDE_UNDECIDED,
	DECIDE_DIFFERENT,
	DECIDE_SAME,
	_DECIDE_STATE_MAX,
	_DECIDE_STATE_INVALID = -EINVAL,
};

struct decide_plan {
	/* Metrics to watch: "OUTCOME" (every consumer) or "CONSUMER:OUTCOME", where OUTCOME
	 * is an outcome class or "any_failure". n_watch == 0: every outcome class row and
	 * any_failure of every consumer in the comparison. */
	const char *const *watch;
	size_t n_watch;
	double alpha;  /* overall, over all looks, in (0, 1) */
	double margin; /* equivalence margin of a rate difference (absolute), in (0, 1) */
	unsigned look; /* this look, 1..looks */
	unsigned looks; /* looks planned (K) */
};

struct decide_metric {
	const char *scenario, *device; /* borrowed from the compare_result */
	int outcome;		       /* enum outcome, or -1 for any_failure */
	uint64_t k_base, n_base, k_head, n_head;
	double diff;   /* rate(head) - rate(base); NaN when a side has no cycle */
	double p_diff; /* Fisher two-sided; NaN when a side has no cycle */
	double p_same; /* TOST; NaN when a side has no cycle */
	enum decide_state state;
	/* From decide_clusters_load(), else 0 / NaN: boots (clusters) per side and the design
	 * effect (cluster variance of the rate / binomial variance; NaN below 2 clusters or
	 * at a rate of 0 or 1). */
	size_t clusters_base, clusters_head;
	double deff_base, deff_head;
};

struct decide_result {
	struct decide_metric *metrics;
	size_t n_metrics;
	double alpha, alpha_look, margin;
	unsigned look, looks;
	size_t n_different, n_same, n_undecided;
	bool decided;
	bool clusters_known; /* decide_clusters_load() succeeded */
	bool reboot; /* a run of either side has a reboot step: cycles of one boot */
};

/* Decides every watched metric of cr. -EINVAL for a plan out of range or a watch entry
 * naming an unknown outcome; -ENOENT for a watch entry that matches no consumer of cr;
 * -ENOMEM. cr must outlive *ret (the scenario and device strings are borrowed); the caller
 * owns *ret (decide_result_free). */
int decide_run(const struct compare_result *cr, const struct decide_plan *plan,
	       struct decide_result **ret);
/* Fills the cluster fields of d (and d->reboot, d->clusters_known) from the runs of cr in
 * db: a cluster is one boot of one run. Needs cr's run ids (a local compare_run result,
 * -EINVAL otherwise); -ENOMEM, or the database's errno (db.h). d is untouched on failure. */
int decide_clusters_load(struct db *db, const struct compare_result *cr,
			 struct decide_result *d);
void decide_result_free(struct decide_result *d);

/* "undecided", "different", "same"; NULL for out-of-range values. */
const char *decide_state_to_string(enum decide_state s);
/* The design effect of k[i] events in m[i] trials per cluster (n clusters): the variance
 * of the pooled rate between clusters over the binomial variance. NaN for fewer than two
 * clusters or a pooled rate of 0 or 1. */
double decide_design_effect(const uint64_t *k, const uint64_t *m, size_t n);

/* The result as JSON (NULL on allocation failure); cr supplies the side descriptions. */
json_t *decide_result_to_json(const struct decide_result *d,
			      const struct compare_result *cr);
