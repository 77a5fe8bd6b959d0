/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of analysis/decide.c. Decisions on hand-built compare results: a clear
 * difference is DIFFERENT, equal rates with many cycles are SAME within the margin, small
 * samples stay UNDECIDED, and the Bonferroni per-look alpha (alpha / K) turns a p between
 * alpha / K and alpha from DIFFERENT into UNDECIDED. The reference p-values were computed
 * independently (Python: exact hypergeometric sums for Fisher with R's 1 + 1e-7 rule, the
 * Agresti-Caffo TOST with erfc) and agree with analysis/stats.c, which test-stats checks against
 * R and SciPy. Then the watch list, the plan's bounds, the design effect on hand-computed
 * cluster counts, and decide_clusters_load() on a database recorded through the db API:
 * four boots of ten cycles (a strong boot effect) against forty one-cycle boots with a
 * reboot step.
 */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "compare.h"
#include "db.h"
#include "decide.h"
#include "macro.h"
#include "model.h"
#include "stats.h"

#define REL_TOL 1e-9

static void assert_close(double got, double want)
{
	double tol = REL_TOL * fmax(fabs(want), 1e-300);

	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g", got, want);
}

/* ---------------------------------------------------------------- hand-built results */

static char scenario[] = "rebind-race";
static char dev_decon[] = "decon", dev_ctl[] = "decon-ctl";
static char sel_base[] = "stock", sel_head[] = "lkml-v1";

/* One group; rates[] gets one row per (outcome, k_base, k_head) triple plus any_failure
 * with the given totals. */
static void group_init(struct compare_group *g, char *device, uint64_t n_base,
		       uint64_t n_head, uint64_t fail_base, uint64_t fail_head)
{
	memset(g, 0, sizeof(*g));
	g->scenario = scenario;
	g->device = device;
	g->rates[0] = (struct compare_rate){ .outcome = -1,
					     .k_base = fail_base,
					     .n_base = n_base,
					     .k_head = fail_head,
					     .n_head = n_head };
	g->n_rates = 1;
}

static void group_add(struct compare_group *g, int outcome, uint64_t k_base,
		      uint64_t k_head)
{
	g->rates[g->n_rates++] = (struct compare_rate){
		.outcome = outcome,
		.k_base = k_base,
		.n_base = g->rates[0].n_base,
		.k_head = k_head,
		.n_head = g->rates[0].n_head,
	};
}

static void result_init(struct compare_result *r, struct compare_group *groups, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->base.selector = sel_base;
	r->head.selector = sel_head;
	r->base.n_runs = r->head.n_runs = 1;
	r->groups = groups;
	r->n_groups = n;
}

static struct decide_result *decide(const struct compare_result *cr, double alpha,
				    double margin, unsigned look, unsigned looks)
{
	struct decide_plan p = {
		.alpha = alpha, .margin = margin, .look = look, .looks = looks
	};
	struct decide_result *d = NULL;

	assert_int_equal(decide_run(cr, &p, &d), 0);
	assert_non_null(d);
	return d;
}

static const struct decide_metric *metric(const struct decide_result *d, const char *dev,
					  int outcome)
{
	for (size_t i = 0; i < d->n_metrics; i++)
		if (streq(d->metrics[i].device, dev) && d->metrics[i].outcome == outcome)
			return &d->metrics[i];
	fail_msg("no metric %s/%d", dev, outcome);
	return NULL;
}

/* The recorded e2e bundle's decon: 14/28 late_iommu_probe on stock, 28/28 on lkml-v1. */
static void test_clear_difference(void **state)
{
	struct compare_group g;
	struct compare_result cr;
	struct decide_result *d;
	const struct decide_metric *m;
	double p;

	group_init(&g, dev_decon, 28, 28, 14, 28);
	group_add(&g, OUTCOME_LATE_IOMMU_PROBE, 14, 28);
	result_init(&cr, &g, 1);
	d = decide(&cr, 0.001, 0.05, 1, 4);
	assert_close(d->alpha_look, 0.001 / 4);
	assert_int_equal(d->n_metrics, 2);
	/* outcome classes first, any_failure last */
	assert_int_equal(d->metrics[0].outcome, OUTCOME_LATE_IOMMU_PROBE);
	assert_int_equal(d->metrics[1].outcome, -1);
	m = metric(d, "decon", OUTCOME_LATE_IOMMU_PROBE);
	assert_close(m->p_diff, 1.3822033558200036e-05);
	assert_close(m->p_same, 0.9999913005518255);
	assert_int_equal(stats_fisher_exact(14, 28, 28, 28, &p), 0);
	assert_close(m->p_diff, p);
	assert_close(m->diff, 0.5);
	assert_int_equal(m->state, DECIDE_DIFFERENT);
	assert_int_equal(metric(d, "decon", -1)->state, DECIDE_DIFFERENT);
	assert_true(d->decided);
	assert_int_equal(d->n_different, 2);
	assert_int_equal(d->n_undecided, 0);
	decide_result_free(d);
}

/* No failure in 200 cycles on either side: equivalent within 5 points. 100/1000 against
 * 102/1000: TOST p 1.90e-4, SAME up to K = 5 looks (alpha / K = 2e-4), not at K = 10. */
static void test_same_within_margin(void **state)
{
	struct compare_group g[2];
	struct compare_result cr;
	struct decide_result *d;
	double p;

	group_init(&g[0], dev_decon, 200, 200, 0, 0);
	group_init(&g[1], dev_ctl, 1000, 1000, 100, 102);
	group_add(&g[1], OUTCOME_LATE_IOMMU_PROBE, 100, 102);
	result_init(&cr, g, 2);

	d = decide(&cr, 0.001, 0.05, 1, 5);
	assert_int_equal(d->n_metrics, 3);
	assert_close(metric(d, "decon", -1)->p_diff, 1.0);
	assert_close(metric(d, "decon", -1)->p_same, 4.0479406592999873e-13);
	assert_int_equal(metric(d, "decon", -1)->state, DECIDE_SAME);
	assert_close(metric(d, "decon-ctl", -1)->p_same, 0.0001901377511230571);
	assert_int_equal(stats_equivalence_tost(100, 1000, 102, 1000, 0.05, &p), 0);
	assert_close(metric(d, "decon-ctl", -1)->p_same, p);
	assert_int_equal(metric(d, "decon-ctl", OUTCOME_LATE_IOMMU_PROBE)->state,
			 DECIDE_SAME);
	assert_true(d->decided);
	assert_int_equal(d->n_same, 3);
	decide_result_free(d);

	d = decide(&cr, 0.001, 0.05, 10, 10);
	assert_int_equal(metric(d, "decon", -1)->state, DECIDE_SAME);
	assert_int_equal(metric(d, "decon-ctl", -1)->state, DECIDE_UNDECIDED);
	assert_false(d->decided);
	assert_int_equal(d->n_undecided, 2);
	decide_result_free(d);

	/* a wider margin decides it again */
	d = decide(&cr, 0.001, 0.1, 1, 10);
	assert_true(d->decided);
	decide_result_free(d);
}

/* 3/10 against 4/10: neither different (p 1) nor shown equivalent (TOST p 0.567). */
static void test_small_n_undecided(void **state)
{
	struct compare_group g;
	struct compare_result cr;
	struct decide_result *d;

	group_init(&g, dev_decon, 10, 10, 3, 4);
	group_add(&g, OUTCOME_LATE_IOMMU_PROBE, 3, 4);
	result_init(&cr, &g, 1);
	d = decide(&cr, 0.001, 0.05, 1, 1);
	assert_close(metric(d, "decon", -1)->p_diff, 1.0);
	assert_close(metric(d, "decon", -1)->p_same, 0.5672129559561511);
	assert_int_equal(metric(d, "decon", -1)->state, DECIDE_UNDECIDED);
	assert_false(d->decided);
	assert_int_equal(d->n_undecided, 2);
	decide_result_free(d);
}

/* 10/20 against 20/20: Fisher p 4.36e-4 is below alpha 0.001 but above 0.001 / 4. */
static void test_bonferroni_per_look(void **state)
{
	struct compare_group g;
	struct compare_result cr;
	struct decide_result *d;

	group_init(&g, dev_decon, 20, 20, 10, 20);
	result_init(&cr, &g, 1);
	d = decide(&cr, 0.001, 0.05, 1, 1);
	assert_close(d->metrics[0].p_diff, 0.00043591979075850045);
	assert_int_equal(d->metrics[0].state, DECIDE_DIFFERENT);
	assert_true(d->decided);
	decide_result_free(d);
	d = decide(&cr, 0.001, 0.05, 2, 4);
	assert_close(d->alpha_look, 0.00025);
	assert_int_equal(d->look, 2);
	assert_int_equal(d->looks, 4);
	assert_int_equal(d->metrics[0].state, DECIDE_UNDECIDED);
	assert_false(d->decided);
	decide_result_free(d);
	/* 9/20 against 20/20 (p 1.45e-4) is different at every look of 4 */
	group_init(&g, dev_decon, 20, 20, 9, 20);
	d = decide(&cr, 0.001, 0.05, 4, 4);
	assert_close(d->metrics[0].p_diff, 0.00014530659691950015);
	assert_int_equal(d->metrics[0].state, DECIDE_DIFFERENT);
	decide_result_free(d);
}

static void test_watch_and_plan(void **state)
{
	struct compare_group g[2];
	struct compare_result cr;
	struct decide_result *d = NULL;
	const char *w1[] = { "decon-ctl:late_iommu_probe" };
	const char *w2[] = { "crash", "any_failure", "crash" };
	const char *bad[][1] = { { "nope:crash" }, { "ok" }, { "bogus" }, { "decon:" } };
	struct decide_plan p = { .alpha = 0.001, .margin = 0.05, .look = 1, .looks = 1 };

	group_init(&g[0], dev_decon, 28, 28, 14, 28);
	group_add(&g[0], OUTCOME_LATE_IOMMU_PROBE, 14, 28);
	group_init(&g[1], dev_ctl, 28, 28, 3, 28);
	group_add(&g[1], OUTCOME_LATE_IOMMU_PROBE, 3, 28);
	result_init(&cr, g, 2);

	p.watch = w1;
	p.n_watch = 1;
	assert_int_equal(decide_run(&cr, &p, &d), 0);
	assert_int_equal(d->n_metrics, 1);
	assert_string_equal(d->metrics[0].device, "decon-ctl");
	assert_int_equal(d->metrics[0].state, DECIDE_DIFFERENT);
	decide_result_free(d);

	/* a class without a row is 0 events out of the consumer's cycles; duplicates once */
	p.watch = w2;
	p.n_watch = 3;
	assert_int_equal(decide_run(&cr, &p, &d), 0);
	assert_int_equal(d->n_metrics, 4);
	assert_int_equal(metric(d, "decon", OUTCOME_CRASH)->n_base, 28);
	assert_int_equal(metric(d, "decon", OUTCOME_CRASH)->k_head, 0);
	assert_close(metric(d, "decon", OUTCOME_CRASH)->p_diff, 1.0);
	/* 0/28 on both sides is not yet equivalent within 5 points at 0.001 */
	assert_int_equal(metric(d, "decon", OUTCOME_CRASH)->state, DECIDE_UNDECIDED);
	assert_false(d->decided);
	decide_result_free(d);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		d = NULL;
		p.watch = bad[i];
		p.n_watch = 1;
		assert_int_equal(decide_run(&cr, &p, &d), i == 0 ? -ENOENT : -EINVAL);
		assert_null(d);
	}
	p.n_watch = 0;
	p.look = 5;
	p.looks = 4;
	assert_int_equal(decide_run(&cr, &p, &d), -EINVAL);
	p.look = 0;
	assert_int_equal(decide_run(&cr, &p, &d), -EINVAL);
	p.look = 1;
	p.margin = 0;
	assert_int_equal(decide_run(&cr, &p, &d), -EINVAL);
	p.margin = 0.05;
	p.alpha = 1;
	assert_int_equal(decide_run(&cr, &p, &d), -EINVAL);
	assert_null(d);

	/* a consumer seen on one side only: undecided, no p */
	group_init(&g[1], dev_ctl, 0, 28, 0, 3);
	p.alpha = 0.001;
	assert_int_equal(decide_run(&cr, &p, &d), 0);
	assert_true(isnan(metric(d, "decon-ctl", -1)->p_diff));
	assert_int_equal(metric(d, "decon-ctl", -1)->state, DECIDE_UNDECIDED);
	decide_result_free(d);
	decide_result_free(NULL);
}

static void test_state_names(void **state)
{
	assert_string_equal(decide_state_to_string(DECIDE_DIFFERENT), "different");
	assert_string_equal(decide_state_to_string(DECIDE_SAME), "same");
	assert_string_equal(decide_state_to_string(DECIDE_UNDECIDED), "undecided");
	assert_null(decide_state_to_string(_DECIDE_STATE_MAX));
	assert_null(decide_state_to_string(_DECIDE_STATE_INVALID));
}

/* Hand-computed: clusters {0/10, 10/10}: p 0.5, cluster variance 2 * 50 / 400 = 0.25,
 * binomial 0.25 / 20: deff 20. One-cycle clusters: n / (n - 1). */
static void test_design_effect(void **state)
{
	const uint64_t k1[] = { 0, 10 }, m1[] = { 10, 10 };
	const uint64_t k2[] = { 5, 5 }, m2[] = { 10, 10 };
	const uint64_t k3[] = { 1, 0, 1, 0 }, m3[] = { 1, 1, 1, 1 };
	const uint64_t k4[] = { 0, 0 };

	assert_close(decide_design_effect(k1, m1, 2), 20.0);
	assert_close(decide_design_effect(k2, m2, 2), 0.0);
	assert_close(decide_design_effect(k3, m3, 4), 4.0 / 3.0);
	assert_true(isnan(decide_design_effect(k1, m1, 1)));
	assert_true(isnan(decide_design_effect(k4, m1, 2)));
	assert_true(isnan(decide_design_effect(m1, m1, 2)));
}

/* ---------------------------------------------------------------- on a database */

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static void record_run(struct db *db, const char *uuid, const char *label, bool reboot)
{
	struct run_record r;
	int64_t run_id;

	memset(&r, 0, sizeof(r));
	snprintf(r.uuid, sizeof(r.uuid), "%s", uuid);
	r.campaign = xstrdup(reboot ? "boot-probe" : "e2e");
	r.scenario = xstrdup(reboot ? "boot-probe" : "rebind-race");
	r.target = xstrdup("guest");
	r.target_kind = xstrdup("local");
	r.cycles_planned = 40;
	r.started_at = xstrdup(reboot ? "2026-11-24T02:00:00Z" : "2026-11-24T01:00:00Z");
	r.status = xstrdup("finished");
	r.kernel.release = xstrdup("7.3.4");
	r.kernel.version = xstrdup("#1 SMP PREEMPT");
	r.kernel.cmdline = xstrdup("console=ttyAMA0");
	r.kernel.label = xstrdup(label);
	assert_int_equal(db_run_insert(db, &r, &run_id), 0);
	run_record_done(&r);
	for (int i = 0; i < 40; i++) {
		/* base: four boots of ten, failing all or nothing; head: a boot per cycle */
		enum outcome o =
			reboot ? (i % 2 ? OUTCOME_OK : OUTCOME_LATE_IOMMU_PROBE)
			       : ((i / 10) % 2 ? OUTCOME_LATE_IOMMU_PROBE : OUTCOME_OK);
		int64_t t0 = 1000000000LL * (i + 1);
		struct cycle_record c = {
			.seq = i,
			.boot = reboot ? i : i / 10,
			.start_ns = t0,
			.end_ns = t0 + 1000,
			.outcome = o,
		};

		c.actions = calloc(1, sizeof(*c.actions));
		c.observations = calloc(1, sizeof(*c.observations));
		assert_non_null(c.actions);
		assert_non_null(c.observations);
		c.n_actions = 1;
		c.actions[0] = (struct action_record){
			.idx = 0,
			.group = -1,
			.verb = reboot ? STEP_REBOOT : STEP_BIND,
			.arg = reboot ? NULL : xstrdup("decon"),
			.start_ns = t0,
			.end_ns = t0 + 10,
		};
		c.n_observations = 1;
		c.observations[0] = (struct observation){
			.device = xstrdup("decon"),
			.consumer = true,
			.iommu_group = 3,
			.time_to_bound_ns = 1000,
			.outcome = o,
		};
		assert_int_equal(db_cycle_insert(db, run_id, &c, NULL), 0);
		cycle_record_done(&c);
	}
}

static void test_clusters_from_database(void **state)
{
	struct compare_opts o = { .base = "stock",
				  .head = "lkml-v1",
				  .alpha_outcome = 0.001,
				  .alpha_latency = 0.01 };
	struct compare_result *cr = NULL;
	struct decide_result *d;
	const struct decide_metric *m;
	struct db *db = NULL;
	json_t *j;

	assert_int_equal(db_open(":memory:", 0, &db), 0);
	record_run(db, "c0000000-0000-4000-8000-000000000001", "stock", false);
	record_run(db, "c0000000-0000-4000-8000-000000000002", "lkml-v1", true);
	assert_int_equal(compare_run(db, &o, &cr), 0);
	d = decide(cr, 0.001, 0.05, 1, 1);
	assert_false(d->clusters_known);
	assert_int_equal(decide_clusters_load(db, cr, d), 0);
	assert_true(d->clusters_known);
	assert_true(d->reboot);
	/* compare groups by scenario: the two runs differ in it, so two groups */
	for (size_t i = 0; i < d->n_metrics; i++) {
		m = &d->metrics[i];
		if (streq(m->scenario, "rebind-race")) {
			assert_int_equal(m->clusters_base, 4);
			/* 20/40, per boot 0, 10, 0, 10: 4/3 * 400 / 1600 / (0.25 / 40) */
			assert_close(m->deff_base, 40.0 / 3.0);
		} else {
			assert_int_equal(m->clusters_head, 40);
			assert_close(m->deff_head, 40.0 / 39.0);
		}
	}
	j = decide_result_to_json(d, cr);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "reboot")));
	assert_string_equal(json_string_value(json_object_get(j, "alpha_spending")),
			    "bonferroni");
	assert_int_equal(json_array_size(json_object_get(j, "metrics")), d->n_metrics);
	json_decref(j);
	decide_result_free(d);
	compare_result_free(cr);
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clear_difference),
		cmocka_unit_test(test_same_within_margin),
		cmocka_unit_test(test_small_n_undecided),
		cmocka_unit_test(test_bonferroni_per_look),
		cmocka_unit_test(test_watch_and_plan),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_design_effect),
		cmocka_unit_test(test_clusters_from_database),
	};

	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
