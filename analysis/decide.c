/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Adaptive campaigns: decide, after each batch of cycles, whether base and head already
 * differ or are already equivalent in every watched outcome rate, so a campaign can stop
 * as soon as the answer is known (contrib/qemu/until-decided, docs/adaptive.md).
 *
 * Per metric and look, at a per-look level alpha / K (Bonferroni over the K planned
 * looks): DIFFERENT when Fisher's exact test (two-sided) gives p <= alpha / K; otherwise
 * SAME when the TOST of |rate(head) - rate(base)| < margin gives p <= alpha / K;
 * otherwise UNDECIDED. A difference takes precedence: with very many cycles a small real
 * difference can be both significant and inside the margin, and then it is reported. The
 * union bound makes the chance of a false DIFFERENT (or a false SAME) over all K looks at
 * most alpha per metric, whatever the looks' correlation; group-sequential boundaries
 * (Pocock, O'Brien-Fleming) would spend less but assume a normal statistic per look,
 * which Fisher's test at a few dozen cycles is not. Metrics are not corrected for each
 * other (as in compare.c): the any_failure row and its dominant class are nearly the same
 * test anyway.
 *
 * The tests treat cycles as independent Bernoulli trials. Cycles that share a boot share
 * its kernel state; decide_clusters_load() reads the per-boot counts and reports the
 * design effect (Kish): the between-boot variance of the pooled rate over the binomial
 * one. About 1 means the independence assumption holds; clearly above 1 means the
 * p-values are too small by roughly that factor in variance.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db-analysis.h"
#include "db.h"
#include "decide.h"
#include "macro.h"
#include "model.h"
#include "stats.h"
#include "util.h"

static const char *const state_names[_DECIDE_STATE_MAX] = {
	[DECIDE_UNDECIDED] = "undecided",
	[DECIDE_DIFFERENT] = "different",
	[DECIDE_SAME] = "same",
};

const char *decide_state_to_string(enum decide_state s)
{
	if (s < 0 || s >= _DECIDE_STATE_MAX)
		return NULL;
	return state_names[s];
}

static int metric_from_name(const char *s)
{
	int o;

	if (streq(s, "any_failure"))
		return -1;
	/* ok and deferred_ok are not failures: compare.c keeps no row for them */
	o = outcome_from_string(s);
	return o <= OUTCOME_DEFERRED_OK ? -EINVAL : o;
}

static const struct compare_rate *rate_find(const struct compare_group *g, int outcome)
{
	for (size_t i = 0; i < g->n_rates; i++)
		if (g->rates[i].outcome == outcome)
			return &g->rates[i];
	return NULL;
}

/* One metric from the counts; a watched class without a row has zero events on both
 * sides out of the group's cycles (the any_failure row's n). */
static int metric_decide(const struct compare_group *g, int outcome, double alpha_look,
			 double margin, struct decide_metric *m)
{
	const struct compare_rate *r = rate_find(g, outcome), *all = rate_find(g, -1);
	int k;

	*m = (struct decide_metric){
		.scenario = g->scenario,
		.device = g->device,
		.outcome = outcome,
		.diff = NAN,
		.p_diff = NAN,
		.p_same = NAN,
		.deff_base = NAN,
		.deff_head = NAN,
		.state = DECIDE_UNDECIDED,
	};
	if (r) {
		m->k_base = r->k_base;
		m->k_head = r->k_head;
	}
	if (all) {
		m->n_base = all->n_base;
		m->n_head = all->n_head;
	} else if (r) {
		m->n_base = r->n_base;
		m->n_head = r->n_head;
	}
	if (m->n_base == 0 || m->n_head == 0)
		return 0;
	m->diff = (double)m->k_head / (double)m->n_head -
		  (double)m->k_base / (double)m->n_base;
	k = stats_fisher_exact(m->k_base, m->n_base, m->k_head, m->n_head, &m->p_diff);
	if (k < 0)
		return k;
	k = stats_equivalence_tost(m->k_base, m->n_base, m->k_head, m->n_head, margin,
				   &m->p_same);
	if (k < 0)
		return k;
	if (m->p_diff <= alpha_look)
		m->state = DECIDE_DIFFERENT;
	else if (m->p_same <= alpha_look)
		m->state = DECIDE_SAME;
	return 0;
}

static bool group_has_metric(const struct decide_result *d, size_t from,
			     const struct compare_group *g, int outcome)
{
	for (size_t i = from; i < d->n_metrics; i++)
		if (d->metrics[i].scenario == g->scenario &&
		    d->metrics[i].device == g->device && d->metrics[i].outcome == outcome)
			return true;
	return false;
}

int decide_run(const struct compare_result *cr, const struct decide_plan *plan,
	       struct decide_result **ret)
{
	struct decide_result *d = NULL;
	size_t cap = 0;
	int r;

	if (!cr || !plan || !(plan->alpha > 0 && plan->alpha < 1) ||
	    !(plan->margin > 0 && plan->margin < 1) || plan->looks == 0 ||
	    plan->look == 0 || plan->look > plan->looks ||
	    (plan->n_watch > 0 && !plan->watch))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->alpha = plan->alpha;
	d->looks = plan->looks;
	d->look = plan->look;
	d->alpha_look = plan->alpha / plan->looks;
	d->margin = plan->margin;

	for (size_t i = 0; i < cr->n_groups; i++)
		cap += plan->n_watch > 0 ? plan->n_watch : cr->groups[i].n_rates;
	d->metrics = calloc(cap ? cap : 1, sizeof(*d->metrics));
	if (!d->metrics) {
		r = -ENOMEM;
		goto fail;
	}
	/* every watch entry must be well-formed and match some consumer */
	for (size_t w = 0; w < plan->n_watch; w++) {
		const char *spec = plan->watch[w],
			   *colon = spec ? strchr(spec, ':') : NULL;
		const char *name = colon ? colon + 1 : spec;
		bool matched = false;
		int o;

		if (!spec) {
			r = -EINVAL;
			goto fail;
		}
		o = metric_from_name(name);
		if (o < -1) {
			r = -EINVAL;
			goto fail;
		}
		for (size_t i = 0; i < cr->n_groups; i++) {
			const struct compare_group *g = &cr->groups[i];

			if (colon &&
			    (strlen(g->device) != (size_t)(colon - spec) ||
			     strncmp(g->device, spec, (size_t)(colon - spec)) != 0))
				continue;
			matched = true;
			if (group_has_metric(d, 0, g, o))
				continue;
			r = metric_decide(g, o, d->alpha_look, d->margin,
					  &d->metrics[d->n_metrics]);
			if (r < 0)
				goto fail;
			d->n_metrics++;
		}
		if (!matched) {
			r = -ENOENT;
			goto fail;
		}
	}
	if (plan->n_watch == 0)
		for (size_t i = 0; i < cr->n_groups; i++) {
			const struct compare_group *g = &cr->groups[i];

			/* outcome classes in enum order, any_failure last (as compare prints) */
			for (int o = OUTCOME_DEFERRED_OK + 1; o <= _OUTCOME_MAX; o++) {
				int oc = o == _OUTCOME_MAX ? -1 : o;

				if (!rate_find(g, oc))
					continue;
				r = metric_decide(g, oc, d->alpha_look, d->margin,
						  &d->metrics[d->n_metrics]);
				if (r < 0)
					goto fail;
				d->n_metrics++;
			}
		}
	for (size_t i = 0; i < d->n_metrics; i++)
		switch (d->metrics[i].state) {
		case DECIDE_DIFFERENT: d->n_different++; break;
		case DECIDE_SAME: d->n_same++; break;
		default: d->n_undecided++; break;
		}
	d->decided = d->n_metrics > 0 && d->n_undecided == 0;
	*ret = d;
	return 0;
fail:
	decide_result_free(d);
	return r;
}

void decide_result_free(struct decide_result *d)
{
	if (!d)
		return;
	free(d->metrics);
	free(d);
}

double decide_design_effect(const uint64_t *k, const uint64_t *m, size_t n)
{
	double sk = 0, sm = 0, p, ss = 0, v_cluster, v_binom;

	if (n < 2)
		return NAN;
	for (size_t i = 0; i < n; i++) {
		sk += (double)k[i];
		sm += (double)m[i];
	}
	if (sm <= 0)
		return NAN;
	p = sk / sm;
	if (p <= 0 || p >= 1)
		return NAN;
	/* linearisation (ratio-estimator) variance of the pooled rate over the clusters */
	for (size_t i = 0; i < n; i++) {
		double e = (double)k[i] - p * (double)m[i];

		ss += e * e;
	}
	v_cluster = (double)n / (double)(n - 1) * ss / (sm * sm);
	v_binom = p * (1 - p) / sm;
	return v_cluster / v_binom;
}

/* ------------------------------------------------------------------ clusters (boots) */

struct cluster_row {
	int64_t run_id, boot;
	const char *scenario, *device; /* interned: pointers into the compare_result */
	int outcome;
	uint64_t count;
};

struct cluster_rows {
	const struct compare_result *cr;
	struct cluster_row *rows;
	size_t n, cap;
};

static int cluster_row_add(const struct db_boot_count *row, void *userdata)
{
	struct cluster_rows *c = userdata;
	const struct compare_group *g = NULL;

	for (size_t i = 0; row->scenario && row->device && i < c->cr->n_groups && !g; i++)
		if (streq(c->cr->groups[i].scenario, row->scenario) &&
		    streq(c->cr->groups[i].device, row->device))
			g = &c->cr->groups[i];
	if (!g)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct cluster_row *p = reallocarray(c->rows, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->rows = p;
		c->cap = cap;
	}
	c->rows[c->n++] = (struct cluster_row){
		.run_id = row->run_id,
		.boot = row->boot,
		.scenario = g->scenario,
		.device = g->device,
		.outcome = row->outcome,
		.count = (uint64_t)row->n,
	};
	return 0;
}

/* The consumer observations of one side counted per (run, boot, scenario, device,
 * outcome), ordered by cluster. Rows of groups cr does not have are skipped. */
static int cluster_rows_load(struct db *db, const struct compare_result *cr,
			     const struct compare_side *s, struct cluster_row **ret,
			     size_t *ret_n)
{
	struct cluster_rows c = { .cr = cr };
	int r;

	r = db_analysis_boot_counts(db, s->run_ids, s->n_runs, cluster_row_add, &c);
	if (r < 0) {
		free(c.rows);
		return r;
	}
	*ret = c.rows;
	*ret_n = c.n;
	return 0;
}

static bool outcome_counts(int metric, int outcome)
{
	return metric < 0 ? outcome > OUTCOME_DEFERRED_OK : metric == outcome;
}

/* Per-cluster counts of metric m from one side's rows (ordered by cluster). */
static int metric_clusters(const struct decide_metric *m, const struct cluster_row *rows,
			   size_t n, size_t *ret_clusters, double *ret_deff)
{
	_cleanup_free_ uint64_t *k = calloc(n ? n : 1, sizeof(*k));
	_cleanup_free_ uint64_t *t = calloc(n ? n : 1, sizeof(*t));
	size_t c = 0;
	bool open = false;
	int64_t run = -1, boot = -1;

	if (!k || !t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct cluster_row *row = &rows[i];

		if (row->scenario != m->scenario || row->device != m->device)
			continue;
		if (!open || row->run_id != run || row->boot != boot) {
			if (open)
				c++;
			open = true;
			run = row->run_id;
			boot = row->boot;
		}
		t[c] += row->count;
		if (outcome_counts(m->outcome, row->outcome))
			k[c] += row->count;
	}
	if (open)
		c++;
	*ret_clusters = c;
	*ret_deff = decide_design_effect(k, t, c);
	return 0;
}

int decide_clusters_load(struct db *db, const struct compare_result *cr,
			 struct decide_result *d)
{
	_cleanup_free_ struct cluster_row *rows_b = NULL, *rows_h = NULL;
	_cleanup_free_ struct decide_metric *m = NULL;
	_cleanup_free_ int64_t *ids = NULL;
	size_t n_b = 0, n_h = 0, n_ids;
	bool reboot = false;
	int r;

	if (!db || !cr || !d || (cr->base.n_runs && !cr->base.run_ids) ||
	    (cr->head.n_runs && !cr->head.run_ids))
		return -EINVAL;
	/* the runs of both sides */
	n_ids = cr->base.n_runs + cr->head.n_runs;
	ids = malloc((n_ids ? n_ids : 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	if (cr->base.n_runs)
		memcpy(ids, cr->base.run_ids, cr->base.n_runs * sizeof(*ids));
	if (cr->head.n_runs)
		memcpy(ids + cr->base.n_runs, cr->head.run_ids,
		       cr->head.n_runs * sizeof(*ids));
	r = db_analysis_reboot_seen(db, ids, n_ids, &reboot);
	if (r < 0)
		return r;

	r = cluster_rows_load(db, cr, &cr->base, &rows_b, &n_b);
	if (r < 0)
		return r;
	r = cluster_rows_load(db, cr, &cr->head, &rows_h, &n_h);
	if (r < 0)
		return r;
	/* computed into a copy, so d stays as it was on failure */
	m = malloc((d->n_metrics ? d->n_metrics : 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	memcpy(m, d->metrics, d->n_metrics * sizeof(*m));
	for (size_t i = 0; i < d->n_metrics; i++) {
		r = metric_clusters(&m[i], rows_b, n_b, &m[i].clusters_base,
				    &m[i].deff_base);
		if (r < 0)
			return r;
		r = metric_clusters(&m[i], rows_h, n_h, &m[i].clusters_head,
				    &m[i].deff_head);
		if (r < 0)
			return r;
	}
	memcpy(d->metrics, m, d->n_metrics * sizeof(*m));
	d->reboot = reboot;
	d->clusters_known = true;
	return 0;
}

/* ------------------------------------------------------------------ output */

static json_t *real_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *side_json(const struct compare_side *s)
{
	return json_pack("{s:s?, s:s?, s:I}", "selector", s->selector, "description",
			 s->description, "runs", (json_int_t)s->n_runs);
}

json_t *decide_result_to_json(const struct decide_result *d,
			      const struct compare_result *cr)
{
	json_t *j, *metrics = json_array();

	if (!metrics)
		return NULL;
	for (size_t i = 0; i < d->n_metrics; i++) {
		const struct decide_metric *m = &d->metrics[i];
		json_t *o = json_pack(
			"{s:s, s:s, s:s, s:{s:I, s:I}, s:{s:I, s:I}, s:o, s:o, s:o, s:s}",
			"scenario", m->scenario, "consumer", m->device, "metric",
			compare_rate_name(m->outcome), "base", "k", (json_int_t)m->k_base,
			"n", (json_int_t)m->n_base, "head", "k", (json_int_t)m->k_head,
			"n", (json_int_t)m->n_head, "difference", real_or_null(m->diff),
			"p_different", real_or_null(m->p_diff), "p_same",
			real_or_null(m->p_same), "decision",
			decide_state_to_string(m->state));

		if (o && d->clusters_known &&
		    json_object_set_new(o, "clusters",
					json_pack("{s:I, s:I, s:o, s:o}", "base",
						  (json_int_t)m->clusters_base, "head",
						  (json_int_t)m->clusters_head,
						  "deff_base", real_or_null(m->deff_base),
						  "deff_head",
						  real_or_null(m->deff_head))) < 0) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(metrics, o) < 0) {
			json_decref(metrics);
			return NULL;
		}
	}
	j = json_pack(
		"{s:o, s:o, s:i, s:i, s:f, s:f, s:s, s:f, s:b, s:I, s:I, s:I, s:o, s:o, s:o}",
		"base", side_json(&cr->base), "head", side_json(&cr->head), "look",
		(int)d->look, "looks", (int)d->looks, "alpha", d->alpha, "alpha_look",
		d->alpha_look, "alpha_spending", "bonferroni", "margin", d->margin,
		"decided", d->decided, "different", (json_int_t)d->n_different, "same",
		(json_int_t)d->n_same, "undecided", (json_int_t)d->n_undecided, "reboot",
		d->clusters_known ? json_boolean(d->reboot) : json_null(),
		"independence_assumed", json_true(), "metrics", metrics);
	return j;
}
