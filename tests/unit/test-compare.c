/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of analysis/compare.c on a database recorded through the real db API
 * (db_run_insert, db_cycle_insert): two kernels labelled "base" (two runs) and "head"
 * (one run), one consumer with known outcome counts, latencies and a sweep, plus a
 * supplier whose observations must not count. The counts, Fisher p, Wilson intervals,
 * zero-count upper bounds, latency quantiles, Mann-Whitney p and Hodges-Lehmann shifts
 * are checked against SciPy/statsmodels values printed by
 * tests/data/stats/compare-reference.py (its header describes the same cycles as
 * make_cycle() below); then the verdicts, the selectors, the JSON shape and its round
 * trip, the JUnit XML, the result cache on a database file and a golden markdown
 * rendering (tests/data/golden/compare.md; rerun with PS_UPDATE_GOLDEN=1 to rewrite it
 * after an intended change of the output, and review the diff).
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
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "compare.h"
#include "db.h"
#include "death.h"
#include "macro.h"
#include "model.h"
#include "render.h"

#define UUID_BASE1 "b0000000-0000-4000-8000-000000000001"
#define UUID_BASE2 "b0000000-0000-4000-8000-000000000002"
#define UUID_HEAD  "a0000000-0000-4000-8000-000000000003"
#define GOLDEN_MD  TEST_DATA_DIR "/golden/compare.md"

/* Relative tolerance for values a different algorithm computed (SciPy vs analysis/stats.c). */
#define REL_TOL 1e-9

static struct db *db;

static void assert_close(double got, double want)
{
	double tol = REL_TOL * fmax(fabs(want), 1e-300);

	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g", got, want);
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

/* ---------------------------------------------------------------- the recorded data */

/* The formulas of compare-reference.py. */
static enum outcome base_outcome(int g)
{
	if (g % 10 == 3)
		return OUTCOME_LATE_IOMMU_PROBE;
	if (g % 10 == 7)
		return OUTCOME_UNBOUND;
	return g % 5 == 0 ? OUTCOME_DEFERRED_OK : OUTCOME_OK;
}

static enum outcome head_outcome(int g)
{
	if (g % 2 == 0)
		return OUTCOME_LATE_IOMMU_PROBE;
	return g == 1 || g == 3 ? OUTCOME_NO_IOMMU : OUTCOME_OK;
}

static void make_run(struct run_record *r, const char *uuid, const char *label,
		     const char *started)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	r->campaign = xstrdup("nightly");
	r->scenario = xstrdup("rebind-race");
	r->target = xstrdup("rig");
	r->target_kind = xstrdup("local");
	r->sweep_var = xstrdup("offset");
	r->cycles_planned = 40;
	r->started_at = xstrdup(started);
	r->status = xstrdup("finished");
	r->kernel.release = xstrdup("7.3.4");
	r->kernel.version = xstrdup("#1 SMP PREEMPT");
	r->kernel.cmdline = xstrdup("console=ttyAMA0");
	r->kernel.label = xstrdup(label);
}

static void make_cycle(struct cycle_record *c, bool head, int g, int64_t seq)
{
	enum outcome o = head ? head_outcome(g) : base_outcome(g);
	int64_t t0 = 1000000000LL * (seq + 1);

	memset(c, 0, sizeof(*c));
	c->seq = seq;
	c->has_sweep = true;
	c->sweep_value = (seq % 4) * 20000;
	c->start_ns = t0;
	c->end_ns = t0 + 50000000;
	c->outcome = o;
	c->actions = calloc(1, sizeof(*c->actions));
	c->observations = calloc(2, sizeof(*c->observations));
	assert_non_null(c->actions);
	assert_non_null(c->observations);
	c->n_actions = 1;
	c->actions[0] = (struct action_record){
		.idx = 0,
		.group = -1,
		.verb = STEP_BIND,
		.arg = xstrdup("decon"),
		.start_ns = t0 + 1000,
		.end_ns = t0 + 1000 + (head ? 200500 : 200000) + 1000LL * g,
	};
	c->n_observations = 2;
	c->observations[0] = (struct observation){
		.device = xstrdup("decon"),
		.consumer = true,
		.driver = xstrdup("ps-decon"),
		.iommu_group = o == OUTCOME_NO_IOMMU ? -1 : 3,
		.time_to_bound_ns = o == OUTCOME_UNBOUND
					    ? -1
					    : (head ? 1600000 : 1000000) + 50000LL * g,
		.outcome = o,
	};
	/* a supplier that always failed: suppliers are not compared */
	c->observations[1] = (struct observation){
		.device = xstrdup("sysmmu"),
		.consumer = false,
		.iommu_group = -1,
		.time_to_bound_ns = 5,
		.outcome = OUTCOME_PROBE_FAILED,
	};
}

static void record_run(const char *uuid, const char *label, const char *started,
		       bool head, int g0, int n)
{
	struct run_record r;
	int64_t run_id;

	make_run(&r, uuid, label, started);
	assert_int_equal(db_run_insert(db, &r, &run_id), 0);
	run_record_done(&r);
	for (int i = 0; i < n; i++) {
		struct cycle_record c;

		make_cycle(&c, head, g0 + i, i);
		assert_int_equal(db_cycle_insert(db, run_id, &c, NULL), 0);
		cycle_record_done(&c);
	}
}

static int setup(void **state)
{
	if (db_open(":memory:", 0, &db) < 0)
		return -1;
	record_run(UUID_BASE1, "base", "2026-11-20T01:00:00Z", false, 0, 20);
	record_run(UUID_BASE2, "base", "2026-11-21T01:00:00Z", false, 20, 20);
	record_run(UUID_HEAD, "head", "2026-11-22T01:00:00Z", true, 0, 40);
	return 0;
}

static int teardown(void **state)
{
	db_close(db);
	return 0;
}

/* ---------------------------------------------------------------- helpers */

static struct compare_result *run_compare(const char *base, const char *head,
					  double alpha_outcome)
{
	struct compare_opts o = { .base = base,
				  .head = head,
				  .alpha_outcome = alpha_outcome };
	struct compare_result *r = NULL;

	assert_int_equal(compare_run(db, &o, &r), 0);
	assert_non_null(r);
	return r;
}

static const struct compare_rate *rate(const struct compare_group *g, int outcome)
{
	for (size_t i = 0; i < g->n_rates; i++)
		if (g->rates[i].outcome == outcome)
			return &g->rates[i];
	fail_msg("no rate for outcome %d", outcome);
	return NULL;
}

static char *render(const struct compare_result *r, int how)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (how == 2)
		render_compare_junit(f, r);
	else
		render_compare(f, r, how == 1);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* ---------------------------------------------------------------- tests */

static void test_counts_and_rates(void **state)
{
	struct compare_result *r = run_compare("base", "head", 0);
	const struct compare_group *g;
	const struct compare_rate *cr;

	assert_int_equal(r->base.n_runs, 2);
	assert_int_equal(r->head.n_runs, 1);
	assert_string_equal(r->base.description, "base, 7.3.4");
	/* one group: the supplier is not a consumer */
	assert_int_equal(r->n_groups, 1);
	g = &r->groups[0];
	assert_string_equal(g->scenario, "rebind-race");
	assert_string_equal(g->device, "decon");
	/* late_iommu_probe, no_iommu, unbound and "any failure" */
	assert_int_equal(g->n_rates, 4);

	cr = rate(g, OUTCOME_LATE_IOMMU_PROBE);
	assert_int_equal(cr->k_base, 4);
	assert_int_equal(cr->n_base, 40);
	assert_int_equal(cr->k_head, 20);
	assert_int_equal(cr->n_head, 40);
	assert_close(cr->p, 0.0001724243357872356);
	assert_close(cr->ci_base.lo, 0.03957952868260635);
	assert_close(cr->ci_base.hi, 0.23051775227522303);
	assert_close(cr->ci_head.lo, 0.35199526933465375);
	assert_close(cr->ci_head.hi, 0.6480047306653463);
	assert_int_equal(cr->verdict, STATS_REGRESSION);

	/* zero events in base: [0, exact one-sided upper bound], never a bare 0 */
	cr = rate(g, OUTCOME_NO_IOMMU);
	assert_int_equal(cr->k_base, 0);
	assert_int_equal(cr->k_head, 2);
	assert_close(cr->p, 0.49367088607594933);
	assert_true(cr->ci_base.lo == 0.0);
	assert_close(cr->ci_base.hi, 0.0721575245055146);
	assert_close(cr->ci_head.lo, 0.013820667386148358);
	assert_close(cr->ci_head.hi, 0.16503877369140968);
	assert_int_equal(cr->verdict, STATS_NO_CHANGE);

	cr = rate(g, OUTCOME_UNBOUND);
	assert_int_equal(cr->k_base, 4);
	assert_int_equal(cr->k_head, 0);
	assert_close(cr->p, 0.11556797632746996);
	assert_close(cr->ci_head.hi, 0.0721575245055146);
	assert_int_equal(cr->verdict, STATS_NO_CHANGE);

	cr = rate(g, -1);
	assert_int_equal(cr->k_base, 8);
	assert_int_equal(cr->k_head, 22);
	assert_close(cr->p, 0.00239955560056592);
	assert_close(cr->ci_base.lo, 0.10499989725437704);
	assert_close(cr->ci_base.hi, 0.3475730634639951);
	assert_close(cr->ci_head.lo, 0.3982909179893205);
	assert_close(cr->ci_head.hi, 0.6929469218909509);
	/* p 0.0024 is above the default outcome alpha of 0.001 */
	assert_int_equal(cr->verdict, STATS_NO_CHANGE);

	assert_true(compare_result_regressed(r));
	compare_result_free(r);
}

static void test_latency(void **state)
{
	static const double ttb_b[] = { 1975000.0, 2745000.0, 2934500.0 };
	static const double ttb_h[] = { 2700000.0, 3380000.0, 3533000.0 };
	static const double bl_b[] = { 219500.0, 234900.0, 238690.0 };
	static const double bl_h[] = { 222500.0, 236100.0, 239160.0 };
	struct compare_result *r = run_compare("base", "head", 0);
	const struct compare_latency *t = &r->groups[0].latency[0];
	const struct compare_latency *b = &r->groups[0].latency[1];

	assert_string_equal(t->metric, "time_to_bound");
	/* the cycles that bound correctly (ok, deferred_ok) only */
	assert_int_equal(t->n_base, 32);
	assert_int_equal(t->n_head, 18);
	assert_close(t->p, 0.0003204067759141474);
	assert_close(t->shift_ns, 750000.0);
	/* any failure 8/40 vs 22/40, p 0.0024: not significant at alpha 0.001, so the
	 * shift has its verdict */
	assert_false(t->conditional);
	assert_int_equal(t->verdict, STATS_REGRESSION);

	assert_string_equal(b->metric, "bind_latency");
	assert_int_equal(b->n_base, 32);
	assert_int_equal(b->n_head, 18);
	assert_close(b->p, 0.39035136345898236);
	assert_close(b->shift_ns, 3500.0);
	assert_int_equal(b->verdict, STATS_NO_CHANGE);

	for (int q = 0; q < _COMPARE_Q_MAX; q++) {
		assert_close(t->q_base[q], ttb_b[q]);
		assert_close(t->q_head[q], ttb_h[q]);
		assert_close(b->q_base[q], bl_b[q]);
		assert_close(b->q_head[q], bl_h[q]);
		/* bootstrap intervals: only their sanity here (test-stats checks the
		 * method) */
		assert_true(t->ci_base[q].lo <= t->q_base[q] &&
			    t->q_base[q] <= t->ci_base[q].hi);
		assert_true(b->ci_head[q].lo <= b->q_head[q] &&
			    b->q_head[q] <= b->ci_head[q].hi);
	}
	compare_result_free(r);
}

/* The histogram path (schema 004's agg_latency), forced with raw_max = 1: the same
 * counts, and latencies within a bin (at most 1% wide) of the exact ones. */
static void test_binned(void **state)
{
	struct compare_opts o = { .base = "base", .head = "head", .raw_max = 1 };
	struct compare_result *x = run_compare("base", "head", 0), *r = NULL;
	_cleanup_free_ char *text = NULL;
	json_t *j;

	assert_int_equal(compare_run(db, &o, &r), 0);
	assert_false(x->groups[0].latency[0].binned);
	for (int m = 0; m < 2; m++) {
		const struct compare_latency *e = &x->groups[0].latency[m];
		const struct compare_latency *b = &r->groups[0].latency[m];

		assert_true(b->binned);
		assert_int_equal(b->n_base, e->n_base);
		assert_int_equal(b->n_head, e->n_head);
		for (int q = 0; q < _COMPARE_Q_MAX; q++) {
			assert_true(fabs(b->q_base[q] - e->q_base[q]) <=
				    0.01 * e->q_base[q]);
			assert_true(fabs(b->q_head[q] - e->q_head[q]) <=
				    0.01 * e->q_head[q]);
		}
	}
	/* time to bound: multiples of 10 µs, each in a bin of its own, all moved to the
	 * bins' midpoints alike: ranks, p and the shift are those of the raw values */
	assert_close(r->groups[0].latency[0].p, x->groups[0].latency[0].p);
	assert_close(r->groups[0].latency[0].shift_ns, 750000.0);
	assert_close(r->groups[0].latency[0].q_base[0], 1975000.0 + 4999.5);
	/* bind latency: head's +500 ns falls inside the 1 µs bins of ~200 µs values, so
	 * the binned shift is 3000, one bin width from the exact 3500 ns: the resolution */
	assert_true(r->groups[0].latency[1].shift_ns == 3000.0);
	assert_true(fabs(r->groups[0].latency[1].shift_ns -
			 x->groups[0].latency[1].shift_ns) <= 1000.0);
	assert_int_equal(r->groups[0].latency[1].verdict, STATS_NO_CHANGE);
	/* the counts do not depend on the path */
	for (size_t i = 0; i < x->groups[0].n_rates; i++) {
		assert_int_equal(r->groups[0].rates[i].k_base,
				 x->groups[0].rates[i].k_base);
		assert_int_equal(r->groups[0].rates[i].k_head,
				 x->groups[0].rates[i].k_head);
		assert_int_equal(r->groups[0].rates[i].n_head,
				 x->groups[0].rates[i].n_head);
	}

	text = render(r, 0);
	assert_non_null(strstr(text, "latency from histograms"));
	j = compare_result_to_json(r);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(
		json_array_get(
			json_object_get(json_array_get(json_object_get(j, "groups"), 0),
					"latency"),
			1),
		"binned")));
	compare_result_free(r);
	r = NULL;
	assert_int_equal(compare_result_from_json(j, &r), 0);
	assert_true(r->groups[0].latency[1].binned);
	json_decref(j);
	compare_result_free(r);
	compare_result_free(x);
}

static void test_sweep(void **state)
{
	static const struct compare_bucket want[] = {
		{ 0, 10, 0, 10, 10 },
		{ 20000, 10, 4, 10, 1 },
		{ 40000, 10, 0, 10, 10 },
		{ 60000, 10, 4, 10, 1 },
	};
	struct compare_result *r = run_compare("base", "head", 0);
	const struct compare_group *g = &r->groups[0];

	assert_int_equal(g->n_buckets, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		assert_int_equal(g->buckets[i].sweep, want[i].sweep);
		assert_int_equal(g->buckets[i].n_base, want[i].n_base);
		assert_int_equal(g->buckets[i].fail_base, want[i].fail_base);
		assert_int_equal(g->buckets[i].n_head, want[i].n_head);
		assert_int_equal(g->buckets[i].fail_head, want[i].fail_head);
	}
	compare_result_free(r);
}

static void test_verdicts_alpha(void **state)
{
	/* at alpha 0.2 the missing unbound cycles are an improvement, any failure a
	 * regression, and 0/40 vs 2/40 no_iommu (p 0.49) still no change */
	struct compare_result *r = run_compare("base", "head", 0.2);
	const struct compare_group *g = &r->groups[0];

	assert_true(r->alpha_outcome == 0.2);
	assert_true(r->alpha_latency == 0.01);
	assert_int_equal(rate(g, OUTCOME_UNBOUND)->verdict, STATS_IMPROVEMENT);
	assert_int_equal(rate(g, -1)->verdict, STATS_REGRESSION);
	assert_int_equal(rate(g, OUTCOME_NO_IOMMU)->verdict, STATS_NO_CHANGE);
	compare_result_free(r);

	/* a kernel against itself: nothing changes, nothing regressed */
	r = run_compare("head", "label:head", 0);
	for (size_t i = 0; i < r->groups[0].n_rates; i++) {
		assert_int_equal(r->groups[0].rates[i].verdict, STATS_NO_CHANGE);
		assert_close(r->groups[0].rates[i].p, 1.0);
	}
	assert_false(compare_result_regressed(r));
	compare_result_free(r);
}

static void test_selectors(void **state)
{
	struct compare_opts o;
	struct compare_result *r;

	r = run_compare("label:base", "run:" UUID_HEAD, 0);
	assert_int_equal(r->base.n_runs, 2);
	assert_int_equal(r->head.n_runs, 1);
	assert_string_equal(r->head.selector, "run:" UUID_HEAD);
	compare_result_free(r);

	/* a bare UUID is a run; one base run of 20 cycles */
	r = run_compare(UUID_BASE2, "head", 0);
	assert_int_equal(r->base.n_runs, 1);
	assert_int_equal(rate(&r->groups[0], -1)->n_base, 20);
	assert_int_equal(rate(&r->groups[0], -1)->k_base, 4);
	compare_result_free(r);

	r = run_compare("kernel:1", "kernel:2", 0);
	assert_int_equal(r->base.n_runs, 2);
	assert_int_equal(r->head.n_runs, 1);
	compare_result_free(r);

	/* unknown selectors; *ret stays untouched on failure */
	r = NULL;
	o = (struct compare_opts){ .base = "nope", .head = "head" };
	assert_int_equal(compare_run(db, &o, &r), -ENOENT);
	o = (struct compare_opts){ .base = "base", .head = "run:" UUID_HEAD "x" };
	assert_int_equal(compare_run(db, &o, &r), -ENOENT);
	o = (struct compare_opts){ .base = "base",
				   .head = "c0ffee00-1234-4abc-8def-0123456789ab" };
	assert_int_equal(compare_run(db, &o, &r), -ENOENT);
	o = (struct compare_opts){ .base = "label:", .head = "head" };
	assert_int_equal(compare_run(db, &o, &r), -EINVAL);
	assert_null(r);
}

static void test_json(void **state)
{
	struct compare_result *r = run_compare("base", "head", 0), *back = NULL;
	json_t *j = compare_result_to_json(r), *g, *o, *l, *j2;
	char *s1, *s2, *t1, *t2;

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")),
			    "regression");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "base"),
							      "selector")),
			    "base");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(j, "base"), "runs")),
		2);
	assert_true(json_is_real(json_object_get(j, "alpha_outcome")));
	g = json_array_get(json_object_get(j, "groups"), 0);
	assert_int_equal(json_array_size(json_object_get(j, "groups")), 1);
	assert_string_equal(json_string_value(json_object_get(g, "consumer")), "decon");
	assert_int_equal(json_array_size(json_object_get(g, "outcomes")), 4);
	assert_int_equal(json_array_size(json_object_get(g, "latency")), 2);
	assert_int_equal(json_array_size(json_object_get(g, "sweep")), 4);
	o = json_array_get(json_object_get(g, "outcomes"), 0);
	for (const char *const *k =
		     (const char *const[]){ "outcome", "base_k", "base_n", "head_k",
					    "head_n", "base_ci", "head_ci", "p",
					    "verdict", NULL };
	     *k; k++)
		assert_non_null(json_object_get(o, *k));
	assert_int_equal(json_array_size(json_object_get(o, "base_ci")), 2);
	l = json_array_get(json_object_get(g, "latency"), 0);
	assert_string_equal(json_string_value(json_object_get(l, "metric")),
			    "time_to_bound");
	assert_true(json_is_real(json_object_get(
		json_object_get(json_object_get(l, "p99"), "head"), "value")));
	assert_int_equal(
		json_integer_value(json_object_get(
			json_array_get(json_object_get(g, "sweep"), 1), "sweep_us")),
		20000);

	/* read back: the same JSON and the same renderings */
	assert_int_equal(compare_result_from_json(j, &back), 0);
	j2 = compare_result_to_json(back);
	s1 = json_dumps(j, JSON_SORT_KEYS);
	s2 = json_dumps(j2, JSON_SORT_KEYS);
	assert_string_equal(s1, s2);
	for (int how = 0; how < 3; how++) {
		t1 = render(r, how);
		t2 = render(back, how);
		assert_string_equal(t1, t2);
		free(t1);
		free(t2);
	}
	assert_true(compare_result_regressed(back));

	/* malformed: the caller's pointer stays untouched */
	{
		struct compare_result *none = NULL;
		json_t *bad = json_deep_copy(j);

		json_object_set_new(
			json_array_get(
				json_object_get(
					json_array_get(json_object_get(bad, "groups"), 0),
					"outcomes"),
				0),
			"outcome", json_string("frobnicated"));
		assert_int_equal(compare_result_from_json(bad, &none), -EBADMSG);
		json_decref(bad);
		bad = json_pack("{s:[]}", "groups");
		assert_int_equal(compare_result_from_json(bad, &none), -EBADMSG);
		json_decref(bad);
		assert_null(none);
	}
	free(s1);
	free(s2);
	json_decref(j);
	json_decref(j2);
	compare_result_free(back);
	compare_result_free(r);
}

static void test_junit(void **state)
{
	struct compare_result *r = run_compare("base", "head", 0);
	char *x;

	/* names with XML specials are escaped */
	free(r->groups[0].device);
	r->groups[0].device = xstrdup("a<b>&\"c'\x01");
	x = render(r, 2);
	assert_non_null(
		strstr(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
	assert_non_null(strstr(x, "tests=\"6\" failures=\"2\""));
	assert_non_null(
		strstr(x, "name=\"rebind-race / a&lt;b&gt;&amp;&quot;c&apos;?\""));
	assert_non_null(strstr(x, "name=\"outcome late_iommu_probe\""));
	assert_non_null(
		strstr(x, "<failure type=\"regression\" message=\"late_iommu_probe: "
			  "base 4/40 10.0% [4.0, 23.1], head 20/40 50.0% [35.2, 64.8]; "
			  "Fisher exact p 1.7e-04 at alpha 0.001: regression\">"));
	assert_non_null(strstr(x, "name=\"latency time_to_bound\""));
	assert_null(strchr(x, '\x01'));
	free(x);
	compare_result_free(r);
}

/* Results on a database file are cached until a new cycle (or run) arrives. */
static void test_cache(void **state)
{
	char dir[] = "/tmp/test-compare.XXXXXX", path[64];
	struct compare_opts o = { .base = "base", .head = "head" };
	struct compare_result *r1 = NULL, *r2 = NULL, *r3 = NULL;
	struct db *saved = db;
	struct cycle_record c;
	char *t1, *t2;
	int64_t run_id;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db", dir);
	assert_int_equal(db_open(path, 0, &db), 0);
	record_run(UUID_BASE1, "base", "2026-11-20T01:00:00Z", false, 0, 20);
	record_run(UUID_HEAD, "head", "2026-11-22T01:00:00Z", true, 0, 40);
	assert_int_equal(compare_run(db, &o, &r1), 0);
	assert_int_equal(compare_run(db, &o, &r2), 0);
	/* a copy of the cached result, not the same object */
	assert_ptr_not_equal(r1, r2);
	t1 = render(r1, 1);
	t2 = render(r2, 1);
	assert_string_equal(t1, t2);
	free(t2);
	assert_int_equal(r2->base.n_runs, 1);
	assert_int_equal(rate(&r2->groups[0], -1)->n_base, 20);

	/* one more base cycle: recomputed */
	assert_int_equal(db_run_find(db, UUID_BASE1, &run_id), 0);
	make_cycle(&c, false, 20, 20);
	assert_int_equal(db_cycle_insert(db, run_id, &c, NULL), 0);
	cycle_record_done(&c);
	assert_int_equal(compare_run(db, &o, &r3), 0);
	assert_int_equal(rate(&r3->groups[0], -1)->n_base, 21);
	t2 = render(r3, 1);
	assert_string_not_equal(t1, t2);
	free(t1);
	free(t2);

	compare_result_free(r1);
	compare_result_free(r2);
	compare_result_free(r3);
	compare_cache_flush();
	db_close(db);
	db = saved;
	assert_int_equal(unlink(path), 0);
	unlink(strcat(path, "-wal"));
	path[strlen(path) - 4] = '\0';
	unlink(strcat(path, "-shm"));
	assert_int_equal(rmdir(dir), 0);
}

static void test_golden_markdown(void **state)
{
	struct compare_result *r = run_compare("base", "head", 0);
	char *md = render(r, 1), *want = NULL;
	const char *update = getenv("PS_UPDATE_GOLDEN");
	FILE *f;
	size_t len = 0;

	if (update && *update) {
		f = fopen(GOLDEN_MD, "we");
		assert_non_null(f);
		fputs(md, f);
		assert_int_equal(fclose(f), 0);
	}
	f = fopen(GOLDEN_MD, "re");
	assert_non_null(f);
	assert_true(getdelim(&want, &len, '\0', f) > 0);
	fclose(f);
	if (!streq(md, want)) {
		fprintf(stderr, "markdown differs from %s; got:\n%s", GOLDEN_MD, md);
		fail();
	}
	free(want);
	free(md);
	compare_result_free(r);
}

/* ------------------------------------------- crash, hang and failures that bind faster */

/* The kinds of cycles of the second database, one run per kernel label. */
enum fkind { FK_OK, FK_CRASH, FK_HANG, FK_BYPASS_FAST };

static struct db *fdb;

/* A cycle of two consumers, decon and decon-ctl, at offset (seq % 4) * 20 ms. Crash and
 * hang cycles are built as the host and the rig daemon build them
 * (death_cycle_build): one observation per consumer, no latency. bind_us: the bind
 * latency of decon in the cycle. */
static void fcycle(int64_t run_id, int64_t seq, enum fkind k, int64_t bind_us)
{
	int64_t t0 = 1000000000LL * (seq + 1);
	struct cycle_record c = { 0 };

	if (k == FK_CRASH || k == FK_HANG) {
		struct action_record a = { .idx = 1,
					   .group = -1,
					   .verb = STEP_BIND,
					   .arg = (char *)"decon",
					   .start_ns = t0 };
		struct death d = { .seq = seq,
				   .boot = (int)seq,
				   .how = k == FK_CRASH ? OUTCOME_CRASH : OUTCOME_HANG,
				   .has_sweep = true,
				   .sweep_value = (seq % 4) * 20000,
				   .action = &a,
				   .consumers = "decon decon-ctl",
				   .cause = "Kernel panic - not syncing: Oops" };

		assert_int_equal(death_cycle_build(&d, &c), 0);
		assert_int_equal(c.n_observations, 2);
		assert_non_null(strstr(c.note, "'bind decon'"));
	} else {
		enum outcome o = k == FK_BYPASS_FAST ? OUTCOME_NO_IOMMU : OUTCOME_OK;

		c = (struct cycle_record){ .seq = seq,
					   .has_sweep = true,
					   .sweep_value = (seq % 4) * 20000,
					   .start_ns = t0,
					   .end_ns = t0 + 50000000,
					   .outcome = o };
		c.actions = calloc(1, sizeof(*c.actions));
		c.observations = calloc(2, sizeof(*c.observations));
		assert_non_null(c.actions);
		assert_non_null(c.observations);
		c.n_actions = 1;
		c.actions[0] = (struct action_record){ .idx = 0,
						       .group = -1,
						       .verb = STEP_BIND,
						       .arg = xstrdup("decon"),
						       .start_ns = t0,
						       .end_ns = t0 + bind_us * 1000 };
		c.n_observations = 2;
		for (int i = 0; i < 2; i++)
			c.observations[i] = (struct observation){
				.device = xstrdup(i ? "decon-ctl" : "decon"),
				.consumer = true,
				.iommu_group = o == OUTCOME_NO_IOMMU ? -1 : 3,
				.time_to_bound_ns = (bind_us + 800) * 1000,
				.outcome = o,
			};
	}
	assert_int_equal(db_cycle_insert(fdb, run_id, &c, NULL), 0);
	cycle_record_done(&c);
}

static int64_t frun(const char *uuid, const char *label)
{
	struct run_record r;
	int64_t run_id;

	make_run(&r, uuid, label, "2026-11-23T01:00:00Z");
	r.consumers = xstrdup("decon decon-ctl");
	assert_int_equal(db_run_insert(fdb, &r, &run_id), 0);
	run_record_done(&r);
	return run_id;
}

static int fsetup(void **state)
{
	int64_t stock, crashy, bypass, half;

	if (db_open(":memory:", 0, &fdb) < 0)
		return -1;
	stock = frun("c0000000-0000-4000-8000-000000000001", "stock");
	crashy = frun("c0000000-0000-4000-8000-000000000002", "crashy");
	bypass = frun("c0000000-0000-4000-8000-000000000003", "bypass");
	half = frun("c0000000-0000-4000-8000-000000000004", "halfbypass");
	for (int64_t i = 0; i < 20; i++) {
		fcycle(stock, i, FK_OK, 200 + i);
		/* 12 crashes and 2 hangs, spread over every offset */
		fcycle(crashy, i,
		       i % 5 == 0 || i % 5 == 2 || i % 5 == 3 ? FK_CRASH
		       : i == 1 || i == 9		      ? FK_HANG
							      : FK_OK,
		       200 + i);
		/* translation bypassed in every cycle, and binds twice as fast */
		fcycle(bypass, i, FK_BYPASS_FAST, 100 + i);
		/* bypassed (fast) in every other cycle; the others bind correctly, faster */
		fcycle(half, i, i % 2 ? FK_OK : FK_BYPASS_FAST,
		       i % 2 ? 150 + i : 100 + i);
	}
	return 0;
}

static int fteardown(void **state)
{
	db_close(fdb);
	return 0;
}

static struct compare_result *fcompare(const char *base, const char *head)
{
	struct compare_opts o = { .base = base, .head = head };
	struct compare_result *r = NULL;

	assert_int_equal(compare_run(fdb, &o, &r), 0);
	return r;
}

static const struct compare_group *fgroup(const struct compare_result *r,
					  const char *device)
{
	for (size_t i = 0; i < r->n_groups; i++)
		if (streq(r->groups[i].device, device))
			return &r->groups[i];
	fail_msg("no group %s", device);
	return NULL;
}

/* Crash and hang cycles count for every consumer, in every rate, per-offset count and
 * rendering, and make the comparison a regression when the counts say so. */
static void test_crash_counts(void **state)
{
	struct compare_result *r = fcompare("stock", "crashy"), *back = NULL;
	_cleanup_free_ char *txt = render(r, 0), *md = render(r, 1),
			    *junit = render(r, 2);
	json_t *j = compare_result_to_json(r), *jw;
	uint64_t n = 0, fail = 0;

	assert_int_equal(r->n_groups, 2);
	for (int i = 0; i < 2; i++) {
		const struct compare_group *g = fgroup(r, i ? "decon-ctl" : "decon");

		assert_int_equal(rate(g, OUTCOME_CRASH)->k_head, 12);
		assert_int_equal(rate(g, OUTCOME_CRASH)->n_head, 20);
		assert_int_equal(rate(g, OUTCOME_CRASH)->k_base, 0);
		assert_int_equal(rate(g, OUTCOME_CRASH)->n_base, 20);
		/* 12/20 vs 0/20: Fisher p 4.5e-05 */
		assert_int_equal(rate(g, OUTCOME_CRASH)->verdict, STATS_REGRESSION);
		assert_int_equal(rate(g, OUTCOME_HANG)->k_head, 2);
		assert_int_equal(rate(g, -1)->k_head, 14);
		assert_int_equal(rate(g, -1)->verdict, STATS_REGRESSION);
		/* the latency of the 6 cycles that bound correctly only */
		assert_int_equal(g->latency[0].n_head, 6);
		assert_int_equal(g->latency[0].n_base, 20);
		n = fail = 0;
		for (size_t b = 0; b < g->n_buckets; b++) {
			n += g->buckets[b].n_head;
			fail += g->buckets[b].fail_head;
			assert_true(g->buckets[b].fail_head > 0);
		}
		assert_int_equal(g->n_buckets, 4);
		assert_int_equal(n, 20);
		assert_int_equal(fail, 14);
		/* failing at every offset is no window, and not "none" either */
		assert_int_equal(g->window_head.kind, COMPARE_WINDOW_EVERY_OFFSET);
		assert_false(g->window_head.found);
		assert_int_equal(g->window_base.kind, COMPARE_WINDOW_NO_FAILURES);
	}
	assert_true(compare_result_regressed(r));
	assert_non_null(strstr(txt, "crash               0/20 (<"));
	assert_non_null(strstr(txt, "12/20 60.0%"));
	assert_non_null(strstr(txt, "base no failures at any offset; head fails at every "
				    "offset (no offset dependence)"));
	assert_null(strstr(txt, " none"));
	assert_non_null(strstr(txt, "verdict: REGRESSION"));
	assert_non_null(strstr(md, "| crash | 0/20 (<"));
	assert_non_null(strstr(md, "head fails at every offset (no offset dependence)"));
	assert_non_null(strstr(junit,
			       "<failure type=\"regression\" message=\"crash: base "
			       "0/20"));
	jw = json_object_get(json_array_get(json_object_get(j, "groups"), 0), "window");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(jw, "head"), "kind")),
		"every_offset");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(jw, "base"), "kind")),
		"no_failures");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(jw, "head"),
							    "offsets_failing")),
			 4);
	/* what a remote daemon's answer renders is the same */
	assert_int_equal(compare_result_from_json(j, &back), 0);
	assert_int_equal(fgroup(back, "decon")->window_head.kind,
			 COMPARE_WINDOW_EVERY_OFFSET);
	{
		_cleanup_free_ char *t2 = render(back, 0);

		assert_string_equal(txt, t2);
	}
	compare_result_free(back);
	json_decref(j);
	compare_result_free(r);
}

/* A kernel whose consumer binds with translation bypassed binds faster: that is never an
 * improvement. In every cycle: nothing to compare. In half the cycles, the other half
 * binding faster: conditional, no verdict. */
static void test_latency_of_failures(void **state)
{
	struct compare_result *r = fcompare("stock", "bypass");
	const struct compare_group *g = fgroup(r, "decon");
	char *txt;
	json_t *j, *l;

	assert_int_equal(rate(g, OUTCOME_NO_IOMMU)->k_head, 20);
	assert_int_equal(rate(g, OUTCOME_NO_IOMMU)->verdict, STATS_REGRESSION);
	for (int m = 0; m < 2; m++) {
		assert_int_equal(g->latency[m].n_base, 20);
		assert_int_equal(g->latency[m].n_head, 0);
		assert_int_equal(g->latency[m].verdict, STATS_NO_CHANGE);
		assert_false(g->latency[m].conditional);
	}
	txt = render(r, 0);
	assert_non_null(strstr(txt, "bind_latency ms (bound correctly: n 20 vs 0)"));
	assert_null(strstr(txt, "improvement"));
	free(txt);
	compare_result_free(r);

	r = fcompare("stock", "halfbypass");
	g = fgroup(r, "decon");
	/* 10/20 vs 0/20 no_iommu: the failure rates differ (p 4.5e-04 <= 0.001) */
	assert_int_equal(rate(g, -1)->verdict, STATS_REGRESSION);
	assert_int_equal(g->latency[1].n_base, 20);
	assert_int_equal(g->latency[1].n_head, 10);
	assert_true(g->latency[1].shift_ns < 0);
	assert_int_equal(g->latency[1].shift_verdict, STATS_IMPROVEMENT);
	assert_true(g->latency[1].conditional);
	assert_int_equal(g->latency[1].verdict, STATS_NO_CHANGE);
	for (int how = 0; how < 3; how++) {
		txt = render(r, how);
		assert_non_null(strstr(txt,
				       "conditional (head faster among the cycles that "
				       "bound correctly, but the failure rates differ: "
				       "not an improvement)"));
		assert_null(strstr(txt, ": improvement"));
		free(txt);
	}
	j = compare_result_to_json(r);
	l = json_array_get(
		json_object_get(json_array_get(json_object_get(j, "groups"), 0),
				"latency"),
		1);
	assert_string_equal(json_string_value(json_object_get(l, "metric")),
			    "bind_latency");
	assert_true(json_is_true(json_object_get(l, "conditional")));
	assert_string_equal(json_string_value(json_object_get(l, "verdict")),
			    "no_change");
	assert_string_equal(json_string_value(json_object_get(l, "shift_verdict")),
			    "improvement");
	compare_result_free(r);
	r = NULL;
	assert_int_equal(compare_result_from_json(j, &r), 0);
	assert_true(fgroup(r, "decon")->latency[1].conditional);
	assert_int_equal(fgroup(r, "decon")->latency[1].shift_verdict, STATS_IMPROVEMENT);
	json_decref(j);
	compare_result_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_rates),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_binned),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_verdicts_alpha),
		cmocka_unit_test(test_selectors),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_junit),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_golden_markdown),
	};

	const struct CMUnitTest failures[] = {
		cmocka_unit_test(test_crash_counts),
		cmocka_unit_test(test_latency_of_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown) ||
	       cmocka_run_group_tests(failures, fsetup, fteardown);
}
