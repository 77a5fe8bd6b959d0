/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Compare engine (see compare.h). Selectors resolve to run ids. Counts come from
 * agg_outcomes and latency histograms from agg_latency, which triggers keep up to date as
 * cycles are stored (schema/004-aggregates.sql): a comparison reads a few thousand rows
 * whatever the number of cycles. Where the raw latencies are few (at most
 * COMPARE_BOOTSTRAP_MAX_N per group, metric and side) they are read instead and the
 * statistics are exact; every statistic works on (value, count) histograms either way.
 *
 * Outcome classes are compared one by one (is this class more frequent in head?) and as
 * "any failure" (every outcome more severe than deferred_ok). With several classes per
 * consumer the per-class alpha is not corrected; the default alpha of 0.001 is chosen
 * strict for that reason, and the report states the alpha it used.
 *
 * Latency comes from the cycles that bound correctly (ok, deferred_ok) only: agg_latency
 * counts no other (schema 007) and the raw queries below filter the same way.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "db-analysis.h"
#include "db.h"
#include "macro.h"
#include "util.h"

#define DEFAULT_SEED 0x70726f6265ULL /* "probe" */

static bool looks_like_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

static int resolve_side(struct db *db, const char *sel, struct compare_side *side)
{
	_cleanup_(db_run_set_done) struct db_run_set set = { 0 };
	enum db_run_key key = DB_RUN_KEY_LABEL;
	const char *val = sel;
	int k;

	if (strncmp(sel, "run:", 4) == 0 || looks_like_uuid(sel)) {
		val = strncmp(sel, "run:", 4) == 0 ? sel + 4 : sel;
		key = DB_RUN_KEY_UUID;
	} else if (strncmp(sel, "kernel:", 7) == 0) {
		val = sel + 7;
		key = DB_RUN_KEY_KERNEL_ID;
	} else if (strncmp(sel, "label:", 6) == 0)
		val = sel + 6;
	if (!*val)
		return -EINVAL;
	side->selector = strdup(sel);
	if (!side->selector)
		return -ENOMEM;
	k = db_analysis_runs_select(db, key, val, &set);
	if (k < 0)
		return k;
	if (set.n == 0)
		return -ENOENT;
	side->description =
		strprintf("%s%s%s", set.label ? set.label : "", set.label ? ", " : "",
			  set.release ? set.release : "?");
	if (!side->description)
		return -ENOMEM;
	side->run_ids = TAKE_PTR(set.ids);
	side->n_runs = set.n;
	return 0;
}

/*
 * A latency sample of one group and side as a histogram: distinct values ascending, with
 * their counts. Raw samples are exact (every count 1 until equal values merge); binned
 * ones come from agg_latency, each bin standing at its midpoint.
 */
struct sample {
	double *v;
	uint64_t *c;
	size_t len, cap;
	uint64_t total;
};

struct group_samples {
	struct sample metric[2][2]; /* [metric][side] */
};

/* Loader state: the groups' samples, parallel to r->groups, and the last group found. */
struct loader {
	struct compare_result *r;
	struct group_samples *samples;
	size_t n_samples;
	size_t last;
};

static int sample_push(struct sample *s, double v, uint64_t count)
{
	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		double *nv = realloc(s->v, cap * sizeof(*nv));
		uint64_t *nc;

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		nc = realloc(s->c, cap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		s->c = nc;
		s->cap = cap;
	}
	s->v[s->len] = v;
	s->c[s->len++] = count;
	s->total += count;
	return 0;
}

static void sample_clear(struct sample *s)
{
	free(s->v);
	free(s->c);
	*s = (struct sample){ 0 };
}

static void loader_done(struct loader *l)
{
	for (size_t i = 0; i < l->n_samples; i++)
		for (int m = 0; m < 2; m++)
			for (int side = 0; side < 2; side++)
				sample_clear(&l->samples[i].metric[m][side]);
	free(l->samples);
}

static bool group_is(const struct compare_group *g, const char *scenario,
		     const char *device)
{
	return streq(g->scenario, scenario) && streq(g->device, device);
}

/* The group of (scenario, device), created when create is set; its index into *ret.
 * -ENOENT (not created), -ENOMEM. Rows come in runs of one group, so the last group
 * found is tried first. */
static int group_get(struct loader *l, const char *scenario, const char *device,
		     bool create, size_t *ret)
{
	struct compare_result *r = l->r;
	struct compare_group *g;
	struct group_samples *gs;

	if (!scenario || !device)
		return -EBADMSG;
	if (l->last < r->n_groups && group_is(&r->groups[l->last], scenario, device)) {
		*ret = l->last;
		return 0;
	}
	for (size_t i = 0; i < r->n_groups; i++)
		if (group_is(&r->groups[i], scenario, device)) {
			*ret = l->last = i;
			return 0;
		}
	if (!create)
		return -ENOENT;
	g = realloc(r->groups, (r->n_groups + 1) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	r->groups = g;
	gs = realloc(l->samples, (l->n_samples + 1) * sizeof(*gs));
	if (!gs)
		return -ENOMEM;
	l->samples = gs;
	memset(&l->samples[l->n_samples], 0, sizeof(*gs));
	l->n_samples++;
	g = &r->groups[r->n_groups];
	memset(g, 0, sizeof(*g));
	g->scenario = strdup(scenario);
	g->device = strdup(device);
	if (!g->scenario || !g->device) {
		free(g->scenario);
		free(g->device);
		return -ENOMEM;
	}
	*ret = l->last = r->n_groups++;
	return 0;
}

static struct compare_rate *rate_get(struct compare_group *g, int outcome)
{
	for (size_t i = 0; i < g->n_rates; i++)
		if (g->rates[i].outcome == outcome)
			return &g->rates[i];
	g->rates[g->n_rates] = (struct compare_rate){ .outcome = outcome };
	return &g->rates[g->n_rates++];
}

static struct compare_bucket *bucket_get(struct compare_group *g, int64_t sweep)
{
	size_t pos = g->n_buckets;
	struct compare_bucket *b;

	/* sweeps step through a few values: a linear search is the fast one */
	for (size_t i = 0; i < g->n_buckets; i++)
		if (g->buckets[i].sweep == sweep)
			return &g->buckets[i];
	b = realloc(g->buckets, (g->n_buckets + 1) * sizeof(*b));
	if (!b)
		return NULL;
	g->buckets = b;
	/* kept sorted by sweep value */
	while (pos > 0 && g->buckets[pos - 1].sweep > sweep) {
		g->buckets[pos] = g->buckets[pos - 1];
		pos--;
	}
	g->buckets[pos] = (struct compare_bucket){ .sweep = sweep };
	g->n_buckets++;
	return &g->buckets[pos];
}

/*
 * Outcome counts per class and per sweep value of every (scenario, consumer) group of one
 * side, from agg_outcomes: a few rows per run, whatever the number of cycles.
 */
struct counts_ctx {
	struct loader *l;
	int side;
};

static int count_add(const struct db_outcome_count *row, void *userdata)
{
	const struct counts_ctx *ctx = userdata;
	int side = ctx->side, o = row->outcome;
	uint64_t n = (uint64_t)row->n;
	struct compare_group *g;
	struct compare_rate *all;
	size_t gi;
	int k;

	k = group_get(ctx->l, row->scenario, row->device, true, &gi);
	if (k < 0)
		return k;
	if (o < 0 || row->n < 0)
		return -EBADMSG;
	g = &ctx->l->r->groups[gi];
	/* "any failure" first, so every group has it */
	all = rate_get(g, -1);
	*(side ? &all->n_head : &all->n_base) += n;
	if (o > OUTCOME_DEFERRED_OK) {
		/* rates is an array inside the group: all stays valid */
		struct compare_rate *cr = rate_get(g, o);

		*(side ? &cr->k_head : &cr->k_base) += n;
		*(side ? &all->k_head : &all->k_base) += n;
	}
	if (row->swept) {
		struct compare_bucket *b = bucket_get(g, row->sweep_value);

		if (!b)
			return -ENOMEM;
		*(side ? &b->n_head : &b->n_base) += n;
		if (o > OUTCOME_DEFERRED_OK)
			*(side ? &b->fail_head : &b->fail_base) += n;
	}
	return 0;
}

static int load_counts(struct db *db, struct loader *l, const struct compare_side *s,
		       int side)
{
	struct counts_ctx ctx = { .l = l, .side = side };

	return db_analysis_outcome_counts(db, s->run_ids, s->n_runs, count_add, &ctx);
}

/* The width of the agg_latency bin whose lower edge is bin: 1 below 1000 ns, else a unit
 * of the third significant digit (as in schema/004-aggregates.sql). */
static int64_t bin_width(int64_t bin)
{
	int64_t w = 1;

	for (int64_t v = bin; v >= 1000; v /= 10)
		w *= 10;
	return w;
}

/*
 * Latency samples of one side's groups; devices without a group (suppliers) are skipped.
 * binned: values are agg_latency bins, each taken at the midpoint of the integers it
 * holds.
 */
struct samples_ctx {
	struct loader *l;
	int side;
	bool binned;
};

static int sample_add(const struct db_latency_value *row, void *userdata)
{
	const struct samples_ctx *ctx = userdata;
	int m = row->metric == DB_LATENCY_BIND ? 1 : 0;
	int64_t v = row->value;
	size_t gi;
	int k;

	k = group_get(ctx->l, row->scenario, row->device, false, &gi);
	if (k == -ENOENT)
		return 0;
	if (k < 0)
		return k;
	if (row->n < 0)
		return -EBADMSG;
	if (row->n == 0)
		return 0;
	return sample_push(&ctx->l->samples[gi].metric[m][ctx->side],
			   ctx->binned ? (double)v + (double)(bin_width(v) - 1) / 2.0
				       : (double)v,
			   (uint64_t)row->n);
}

/* Both latency histograms of the groups of one side, from agg_latency. */
static int load_binned(struct db *db, struct loader *l, const struct compare_side *s,
		       int side)
{
	struct samples_ctx ctx = { .l = l, .side = side, .binned = true };

	return db_analysis_latency_binned(db, s->run_ids, s->n_runs, sample_add, &ctx);
}

/* The raw samples of one side, replacing the histograms: time to bound of the consumer
 * observations and the bind/probe latency of the groups' devices. */
static int load_raw(struct db *db, struct loader *l, const struct compare_side *s,
		    int side)
{
	struct samples_ctx ctx = { .l = l, .side = side, .binned = false };

	for (size_t i = 0; i < l->n_samples; i++)
		for (int m = 0; m < 2; m++)
			sample_clear(&l->samples[i].metric[m][side]);
	return db_analysis_latency_raw(db, s->run_ids, s->n_runs, sample_add, &ctx);
}

/* Whether the raw samples are few enough to read: every group's metric at most max
 * values per side (the histograms tell without reading them). */
static bool raw_is_cheap(const struct loader *l, size_t max)
{
	for (size_t i = 0; i < l->n_samples; i++)
		for (int m = 0; m < 2; m++)
			for (int side = 0; side < 2; side++)
				if (l->samples[i].metric[m][side].total > max)
					return false;
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct value_count {
	double v;
	uint64_t c;
};

static int cmp_value_count(const void *a, const void *b)
{
	return cmp_double(&((const struct value_count *)a)->v,
			  &((const struct value_count *)b)->v);
}

/* Sorts a sample by value and merges equal values: the form stats_hist_* take. */
static int sample_normalize(struct sample *s)
{
	_cleanup_free_ struct value_count *vc = NULL;
	size_t len = 0;

	if (s->len == 0)
		return 0;
	vc = malloc(s->len * sizeof(*vc));
	if (!vc)
		return -ENOMEM;
	for (size_t i = 0; i < s->len; i++)
		vc[i] = (struct value_count){ s->v[i], s->c[i] };
	qsort(vc, s->len, sizeof(*vc), cmp_value_count);
	for (size_t i = 0; i < s->len; i++) {
		if (len > 0 && s->v[len - 1] == vc[i].v) {
			s->c[len - 1] += vc[i].c;
			continue;
		}
		s->v[len] = vc[i].v;
		s->c[len++] = vc[i].c;
	}
	s->len = len;
	return 0;
}

/*
 * 95% intervals of the type-7 quantiles of a sample. Up to COMPARE_BOOTSTRAP_MAX_N values:
 * the percentile bootstrap of stats.c (2000 resamples) over the expanded sample. Above it,
 * the bootstrap's own limit, computed instead of sampled: the k-th order statistic of a
 * resample is at most x_(j) exactly when Binomial(n, j/n) >= k, so the interval runs from
 * rank k - z sd to k + z sd with sd = sqrt(n p (1 - p)) (normal approximation of the
 * binomial, good at these n even for p99). Same answer within a rank, O(1) instead of
 * O(b * n): 2000 resamples of 10^5 values cost about a second per side and metric.
 */
static int quantile_cis(const struct sample *s, const double *probs, uint64_t seed,
			struct stats_interval *ret)
{
	uint64_t n = s->total;

	if (n <= COMPARE_BOOTSTRAP_MAX_N) {
		_cleanup_free_ double *x = malloc(n * sizeof(*x));
		size_t j = 0;

		if (!x)
			return -ENOMEM;
		for (size_t i = 0; i < s->len; i++)
			for (uint64_t c = 0; c < s->c[i]; c++)
				x[j++] = s->v[i];
		return stats_bootstrap_quantiles(x, n, probs, _COMPARE_Q_MAX, 0, seed,
						 0.95, ret);
	}
	for (int q = 0; q < _COMPARE_Q_MAX; q++) {
		double k = (double)(n - 1) * probs[q] + 1.0; /* 1-based rank */
		double sd = sqrt((double)n * probs[q] * (1.0 - probs[q]));
		double lo = floor(k - STATS_Z95 * sd), hi = ceil(k + STATS_Z95 * sd);
		int r;

		lo = lo < 1 ? 1 : lo;
		hi = hi > (double)n ? (double)n : hi;
		r = stats_hist_at_rank(s->v, s->c, s->len, (uint64_t)lo - 1, &ret[q].lo);
		if (r >= 0)
			r = stats_hist_at_rank(s->v, s->c, s->len, (uint64_t)hi - 1,
					       &ret[q].hi);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sample_stats(const struct sample *s, const double *probs, uint64_t seed,
			double *ret_q, struct stats_interval *ret_ci)
{
	for (int q = 0; q < _COMPARE_Q_MAX; q++) {
		int k = stats_hist_quantile(s->v, s->c, s->len, probs[q], &ret_q[q]);

		if (k < 0)
			return k;
	}
	return quantile_cis(s, probs, seed, ret_ci);
}

static int compute_latency(const struct compare_result *r, struct compare_group *g,
			   struct group_samples *gs, int metric, uint64_t seed)
{
	static const double probs[_COMPARE_Q_MAX] = { 0.5, 0.9, 0.99 };
	struct compare_latency *l = &g->latency[metric];
	struct sample *b = &gs->metric[metric][0], *hd = &gs->metric[metric][1];
	int k;

	l->metric = metric == 0 ? "time_to_bound" : "bind_latency";
	l->binned = r->binned;
	l->p = NAN;
	l->shift_ns = NAN;
	l->verdict = STATS_NO_CHANGE;
	l->n_base = b->total;
	l->n_head = hd->total;
	k = sample_normalize(b);
	if (k >= 0)
		k = sample_normalize(hd);
	if (k >= 0 && b->total > 0)
		k = sample_stats(b, probs, seed, l->q_base, l->ci_base);
	if (k >= 0 && hd->total > 0)
		k = sample_stats(hd, probs, seed, l->q_head, l->ci_head);
	if (k < 0)
		return k;
	if (b->total > 0 && hd->total > 0) {
		struct stats_mwu m;

		if (stats_hist_mann_whitney(b->v, b->c, b->len, hd->v, hd->c, hd->len,
					    &m) == 0)
			l->p = m.p;
		if (stats_hist_hodges_lehmann(b->v, b->c, b->len, hd->v, hd->c, hd->len,
					      &l->shift_ns) < 0)
			l->shift_ns = NAN;
		if (!isnan(l->p) && !isnan(l->shift_ns)) {
			enum stats_verdict v =
				stats_verdict(l->p, r->alpha_latency, l->shift_ns);
			l->verdict = v < 0 ? STATS_NO_CHANGE : v;
		}
	}
	l->shift_verdict = l->verdict;
	return 0;
}

/* A significant latency shift between sides whose failure rates differ significantly
 * compares different populations (a kernel that fails often binds correctly only in its
 * easy cycles, or its failures took the slow ones away): conditional, no verdict. */
static void mark_conditional(struct compare_group *g, double alpha_outcome)
{
	const struct compare_rate *all = NULL;

	for (size_t j = 0; j < g->n_rates; j++)
		if (g->rates[j].outcome < 0)
			all = &g->rates[j];
	if (!all || isnan(all->p) || all->p > alpha_outcome)
		return;
	for (int m = 0; m < 2; m++) {
		struct compare_latency *l = &g->latency[m];

		if (l->shift_verdict == STATS_NO_CHANGE)
			continue;
		l->conditional = true;
		l->verdict = STATS_NO_CHANGE;
	}
}

static void compute_rate(struct compare_rate *cr, double alpha)
{
	double d;

	if (cr->n_base > 0) {
		if (cr->k_base == 0) {
			cr->ci_base.lo = 0;
			stats_zero_events_upper(cr->n_base, 0.95, &cr->ci_base.hi);
		} else
			stats_wilson(cr->k_base, cr->n_base, 0.95, &cr->ci_base);
	}
	if (cr->n_head > 0) {
		if (cr->k_head == 0) {
			cr->ci_head.lo = 0;
			stats_zero_events_upper(cr->n_head, 0.95, &cr->ci_head.hi);
		} else
			stats_wilson(cr->k_head, cr->n_head, 0.95, &cr->ci_head);
	}
	cr->p = NAN;
	cr->verdict = STATS_NO_CHANGE;
	if (cr->n_base == 0 || cr->n_head == 0)
		return;
	if (stats_fisher_exact(cr->k_base, cr->n_base, cr->k_head, cr->n_head, &cr->p) <
	    0)
		return;
	d = (double)cr->k_head / (double)cr->n_head -
	    (double)cr->k_base / (double)cr->n_base;
	cr->verdict = stats_verdict(cr->p, alpha, d);
	if ((int)cr->verdict < 0)
		cr->verdict = STATS_NO_CHANGE;
}

static int cmp_rate(const void *a, const void *b)
{
	const struct compare_rate *x = a, *y = b;
	/* "any failure" last, the rest most severe first */
	int kx = x->outcome < 0 ? -1000 : x->outcome,
	    ky = y->outcome < 0 ? -1000 : y->outcome;

	return ky - kx;
}

/* Groups in (scenario, consumer) order, whatever order the rows came in; the samples
 * move with their groups. */
static int sort_groups(struct loader *l)
{
	struct compare_result *r = l->r;
	_cleanup_free_ struct compare_group *g = NULL;
	_cleanup_free_ struct group_samples *gs = NULL;

	if (r->n_groups < 2)
		return 0;
	g = malloc(r->n_groups * sizeof(*g));
	gs = malloc(r->n_groups * sizeof(*gs));
	if (!g || !gs)
		return -ENOMEM;
	/* insertion sort: a handful of consumers */
	for (size_t i = 0; i < r->n_groups; i++) {
		size_t pos = i;

		while (pos > 0) {
			int c = strcmp(g[pos - 1].scenario, r->groups[i].scenario);

			if (c < 0 || (c == 0 &&
				      strcmp(g[pos - 1].device, r->groups[i].device) < 0))
				break;
			g[pos] = g[pos - 1];
			gs[pos] = gs[pos - 1];
			pos--;
		}
		g[pos] = r->groups[i];
		gs[pos] = l->samples[i];
	}
	memcpy(r->groups, g, r->n_groups * sizeof(*g));
	memcpy(l->samples, gs, r->n_groups * sizeof(*gs));
	return 0;
}

/* The race window of one side (see compare.h). Offsets with no cycles on that side are
 * skipped; fewer than two offsets give no window. */
static void compute_window(const struct compare_group *g, bool head,
			   struct compare_window *w)
{
	const struct compare_bucket *base = NULL;

	*w = (struct compare_window){ .kind = COMPARE_WINDOW_NO_CYCLES };
	for (size_t i = 0; i < g->n_buckets; i++) {
		const struct compare_bucket *b = &g->buckets[i];
		uint64_t n = head ? b->n_head : b->n_base,
			 k = head ? b->fail_head : b->fail_base;
		uint64_t bn, bk;

		if (n == 0)
			continue;
		w->n_offsets++;
		w->n_failing += k > 0;
		if (!base) {
			base = b;
			continue;
		}
		bn = head ? base->n_head : base->n_base;
		bk = head ? base->fail_head : base->fail_base;
		/* k/n < bk/bn, or equal with more cycles, without division */
		if (k * bn < bk * n || (k * bn == bk * n && n > bn))
			base = b;
	}
	if (!base)
		return;
	w->baseline_us = base->sweep;
	for (size_t i = 0; i < g->n_buckets; i++) {
		const struct compare_bucket *b = &g->buckets[i];
		uint64_t n = head ? b->n_head : b->n_base,
			 k = head ? b->fail_head : b->fail_base;
		uint64_t bn = head ? base->n_head : base->n_base;
		uint64_t bk = head ? base->fail_head : base->fail_base;
		double p;

		if (b == base || n == 0 || k * bn <= bk * n)
			continue;
		if (stats_fisher_exact(k, n, bk, bn, &p) < 0 || p > COMPARE_WINDOW_ALPHA)
			continue;
		if (!w->found)
			w->first_us = b->sweep;
		w->last_us = b->sweep;
		w->found = true;
		w->n_above++;
	}
	/* Say what was found: "no window" reads as "no race" where the kernel fails at
	 * every offset alike. */
	w->kind = w->found			 ? COMPARE_WINDOW_FOUND
		  : w->n_failing == 0		 ? COMPARE_WINDOW_NO_FAILURES
		  : w->n_failing == w->n_offsets ? COMPARE_WINDOW_EVERY_OFFSET
						 : COMPARE_WINDOW_NO_DEPENDENCE;
}

const char *compare_window_kind_to_string(enum compare_window_kind k)
{
	static const char *const names[_COMPARE_WINDOW_KIND_MAX] = {
		[COMPARE_WINDOW_UNKNOWN] = "unknown",
		[COMPARE_WINDOW_NO_CYCLES] = "no_cycles",
		[COMPARE_WINDOW_NO_FAILURES] = "no_failures",
		[COMPARE_WINDOW_EVERY_OFFSET] = "every_offset",
		[COMPARE_WINDOW_NO_DEPENDENCE] = "no_dependence",
		[COMPARE_WINDOW_FOUND] = "window",
	};

	return k >= 0 && k < _COMPARE_WINDOW_KIND_MAX ? names[k] : NULL;
}

static int compare_compute(struct db *db, const struct compare_opts *o,
			   struct compare_result **ret)
{
	struct compare_result *r;
	struct loader l = { 0 };
	uint64_t seed = o->seed ? o->seed : DEFAULT_SEED;
	int k;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	l.r = r;
	r->alpha_outcome = o->alpha_outcome > 0 ? o->alpha_outcome : 0.001;
	r->alpha_latency = o->alpha_latency > 0 ? o->alpha_latency : 0.01;
	/* Without a head (a report on one kernel) its side stays empty: no counts, no
	 * samples, and every test has nothing to compare against. */
	k = resolve_side(db, o->base, &r->base);
	if (k >= 0 && o->head)
		k = resolve_side(db, o->head, &r->head);
	if (k >= 0)
		k = load_counts(db, &l, &r->base, 0);
	if (k >= 0 && o->head)
		k = load_counts(db, &l, &r->head, 1);
	if (k >= 0)
		k = load_binned(db, &l, &r->base, 0);
	if (k >= 0 && o->head)
		k = load_binned(db, &l, &r->head, 1);
	/* exact values where reading them is cheap, the histograms otherwise */
	r->binned = !raw_is_cheap(&l, o->raw_max ? o->raw_max : COMPARE_BOOTSTRAP_MAX_N);
	if (k >= 0 && !r->binned)
		k = load_raw(db, &l, &r->base, 0);
	if (k >= 0 && !r->binned && o->head)
		k = load_raw(db, &l, &r->head, 1);
	if (k >= 0)
		k = sort_groups(&l);
	for (size_t i = 0; k >= 0 && i < r->n_groups; i++) {
		struct compare_group *g = &r->groups[i];
		struct compare_rate *all = rate_get(g, -1);

		/* Each class is a share of all cycles of that consumer on that side. */
		for (size_t j = 0; j < g->n_rates; j++) {
			g->rates[j].n_base = all->n_base;
			g->rates[j].n_head = all->n_head;
		}
		for (size_t j = 0; j < g->n_rates; j++)
			compute_rate(&g->rates[j], r->alpha_outcome);
		/* the order the reports print: most severe first, "any failure" last */
		qsort(g->rates, g->n_rates, sizeof(*g->rates), cmp_rate);
		compute_window(g, false, &g->window_base);
		compute_window(g, true, &g->window_head);
		for (int m = 0; m < 2 && k >= 0; m++)
			k = compute_latency(r, g, &l.samples[i], m, seed);
		mark_conditional(g, r->alpha_outcome);
	}
	loader_done(&l);
	if (k < 0) {
		compare_result_free(r);
		return k;
	}
	*ret = r;
	return 0;
}

/* --- result cache --- */

/*
 * A comparison of a million cycles takes a second or so, and a dashboard asks the same
 * question again and again. Results are cached per database file and question (selectors,
 * alphas, seed), valid while the data they were computed from are unchanged. probestorm
 * only appends to what the compare engine reads (kernels, runs, cycles with their actions
 * and observations, each cycle in one transaction), so the largest row ids of kernels,
 * runs and cycles, read in the same snapshot as the comparison, name that data; the
 * run status, which runs_finish updates, is not part of a result. (Deleting the newest
 * rows by hand and importing others with the same ids would defeat this; probestorm never
 * deletes them.) In-memory and temporary databases ("" file name) are not cached.
 */
struct cache_entry {
	char *key;
	int64_t fp[3];
	struct compare_result *r;
	uint64_t used;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[COMPARE_CACHE_ENTRIES];
static uint64_t cache_clock;

static char *strdup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

/* A deep copy; NULL on allocation failure. */
static struct compare_result *result_dup(const struct compare_result *r)
{
	struct compare_result *d = calloc(1, sizeof(*d));
	bool oom = false;

	if (!d)
		return NULL;
	*d = *r;
	d->groups = NULL;
	d->n_groups = 0;
	d->base.run_ids = d->head.run_ids = NULL;
	d->base.selector = strdup_or_null(r->base.selector, &oom);
	d->base.description = strdup_or_null(r->base.description, &oom);
	d->head.selector = strdup_or_null(r->head.selector, &oom);
	d->head.description = strdup_or_null(r->head.description, &oom);
	if (r->base.n_runs > 0 && r->base.run_ids) {
		d->base.run_ids = malloc(r->base.n_runs * sizeof(int64_t));
		if (d->base.run_ids)
			memcpy(d->base.run_ids, r->base.run_ids,
			       r->base.n_runs * sizeof(int64_t));
		oom |= !d->base.run_ids;
	}
	if (r->head.n_runs > 0 && r->head.run_ids) {
		d->head.run_ids = malloc(r->head.n_runs * sizeof(int64_t));
		if (d->head.run_ids)
			memcpy(d->head.run_ids, r->head.run_ids,
			       r->head.n_runs * sizeof(int64_t));
		oom |= !d->head.run_ids;
	}
	if (!oom && r->n_groups > 0) {
		d->groups = calloc(r->n_groups, sizeof(*d->groups));
		oom |= !d->groups;
	}
	for (size_t i = 0; !oom && i < r->n_groups; i++) {
		struct compare_group *g = &d->groups[i];

		*g = r->groups[i];
		g->scenario = g->device = NULL;
		g->buckets = NULL;
		d->n_groups++;
		g->scenario = strdup_or_null(r->groups[i].scenario, &oom);
		g->device = strdup_or_null(r->groups[i].device, &oom);
		if (g->n_buckets > 0) {
			g->buckets = malloc(g->n_buckets * sizeof(*g->buckets));
			if (g->buckets)
				memcpy(g->buckets, r->groups[i].buckets,
				       g->n_buckets * sizeof(*g->buckets));
			oom |= !g->buckets;
		}
	}
	if (oom) {
		compare_result_free(d);
		return NULL;
	}
	return d;
}

/* The cached copy for key and fp (the caller owns it), or NULL. */
static struct compare_result *cache_get(const char *key, const int64_t fp[3])
{
	struct compare_result *r = NULL;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < COMPARE_CACHE_ENTRIES; i++) {
		struct cache_entry *e = &cache[i];

		if (!e->key || !streq(e->key, key) ||
		    memcmp(e->fp, fp, sizeof(e->fp)) != 0)
			continue;
		e->used = ++cache_clock;
		r = result_dup(e->r);
		break;
	}
	pthread_mutex_unlock(&cache_lock);
	return r;
}

/* Stores a copy of r (best effort: nothing happens without memory). */
static void cache_put(const char *key, const int64_t fp[3],
		      const struct compare_result *r)
{
	struct compare_result *copy = result_dup(r);
	char *k = strdup(key);
	struct cache_entry *victim = &cache[0];

	if (!copy || !k) {
		compare_result_free(copy);
		free(k);
		return;
	}
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < COMPARE_CACHE_ENTRIES; i++) {
		struct cache_entry *e = &cache[i];

		/* the same question with older data, a free slot, or the least recently
		 * used */
		if (e->key && streq(e->key, key)) {
			victim = e;
			break;
		}
		if (!e->key || (victim->key && e->used < victim->used))
			victim = e;
	}
	free(victim->key);
	compare_result_free(victim->r);
	*victim = (struct cache_entry){ .key = k, .r = copy, .used = ++cache_clock };
	memcpy(victim->fp, fp, sizeof(victim->fp));
	pthread_mutex_unlock(&cache_lock);
}

void compare_cache_flush(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < COMPARE_CACHE_ENTRIES; i++) {
		free(cache[i].key);
		compare_result_free(cache[i].r);
		cache[i] = (struct cache_entry){ 0 };
	}
	pthread_mutex_unlock(&cache_lock);
}

int compare_run(struct db *db, const struct compare_opts *o, struct compare_result **ret)
{
	const char *file = db_filename(db);
	_cleanup_free_ char *key = NULL;
	struct compare_result *r = NULL;
	int64_t fp[3];
	int k, q;

	if (!o->base)
		return -EINVAL;
	/* one snapshot for the fingerprint, the counts and the samples */
	k = db_begin_read(db);
	if (k < 0)
		return k;
	if (file && *file) {
		key = strprintf("%s%c%s%c%s%c%.17g%c%.17g%c%llu%c%zu", file, 0x1f,
				o->base, 0x1f, o->head ? o->head : "", 0x1f,
				o->alpha_outcome, 0x1f, o->alpha_latency, 0x1f,
				(unsigned long long)o->seed, 0x1f, o->raw_max);
		if (!key)
			k = -ENOMEM;
	}
	if (k >= 0 && key)
		k = db_analysis_fingerprint(db, fp);
	if (k >= 0 && key)
		r = cache_get(key, fp);
	if (k >= 0 && !r) {
		k = compare_compute(db, o, &r);
		if (k >= 0 && key)
			cache_put(key, fp, r);
	}
	q = db_commit(db);
	if (k >= 0 && q < 0)
		k = q;
	if (k < 0) {
		compare_result_free(r);
		return k;
	}
	*ret = r;
	return 0;
}

void compare_result_free(struct compare_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_groups; i++) {
		free(r->groups[i].scenario);
		free(r->groups[i].device);
		free(r->groups[i].buckets);
	}
	free(r->groups);
	free(r->base.selector);
	free(r->base.run_ids);
	free(r->base.description);
	free(r->head.selector);
	free(r->head.run_ids);
	free(r->head.description);
	free(r);
}

bool compare_result_regressed(const struct compare_result *r)
{
	for (size_t i = 0; i < r->n_groups; i++) {
		const struct compare_group *g = &r->groups[i];

		for (size_t j = 0; j < g->n_rates; j++)
			if (g->rates[j].verdict == STATS_REGRESSION)
				return true;
		for (int m = 0; m < 2; m++)
			if (g->latency[m].verdict == STATS_REGRESSION)
				return true;
	}
	return false;
}

const char *compare_rate_name(int outcome)
{
	return outcome < 0 ? "any_failure" : outcome_to_string(outcome);
}

static json_t *json_num(double v)
{
	return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static json_t *window_to_json(const struct compare_window *w)
{
	json_t *o;

	if (!w->found)
		o = json_pack("{s:b, s:I}", "found", 0, "baseline_us",
			      (json_int_t)w->baseline_us);
	else
		o = json_pack("{s:b, s:I, s:I, s:I, s:I}", "found", 1, "first_us",
			      (json_int_t)w->first_us, "last_us", (json_int_t)w->last_us,
			      "offsets", (json_int_t)w->n_above, "baseline_us",
			      (json_int_t)w->baseline_us);
	/* which case it is, so "no window" is never read as "no race" */
	if (o && (json_object_set_new(
			  o, "kind",
			  json_string(compare_window_kind_to_string(w->kind))) < 0 ||
		  json_object_set_new(o, "offsets_seen",
				      json_integer((json_int_t)w->n_offsets)) < 0 ||
		  json_object_set_new(o, "offsets_failing",
				      json_integer((json_int_t)w->n_failing)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void window_from_json(json_t *j, struct compare_window *w)
{
	*w = (struct compare_window){ 0 };
	if (!json_is_object(j))
		return;
	w->found = json_is_true(json_object_get(j, "found"));
	w->first_us = json_integer_value(json_object_get(j, "first_us"));
	w->last_us = json_integer_value(json_object_get(j, "last_us"));
	w->n_above = (size_t)json_integer_value(json_object_get(j, "offsets"));
	w->baseline_us = json_integer_value(json_object_get(j, "baseline_us"));
	w->n_offsets = (size_t)json_integer_value(json_object_get(j, "offsets_seen"));
	w->n_failing = (size_t)json_integer_value(json_object_get(j, "offsets_failing"));
	/* absent from the answers of older servers: unknown */
	w->kind = w->found ? COMPARE_WINDOW_FOUND : COMPARE_WINDOW_UNKNOWN;
	for (int k = 0; k < _COMPARE_WINDOW_KIND_MAX; k++)
		if (json_string_value(json_object_get(j, "kind")) &&
		    streq(json_string_value(json_object_get(j, "kind")),
			  compare_window_kind_to_string(k)))
			w->kind = k;
}

json_t *compare_result_to_json(const struct compare_result *r)
{
	json_t *root = json_object(), *groups = json_array();

	if (!root || !groups) {
		json_decref(root);
		json_decref(groups);
		return NULL;
	}
	json_object_set_new(root, "base",
			    json_pack("{s:s, s:s?, s:I}", "selector", r->base.selector,
				      "kernel", r->base.description, "runs",
				      (json_int_t)r->base.n_runs));
	json_object_set_new(root, "head",
			    json_pack("{s:s, s:s?, s:I}", "selector", r->head.selector,
				      "kernel", r->head.description, "runs",
				      (json_int_t)r->head.n_runs));
	json_object_set_new(root, "alpha_outcome", json_real(r->alpha_outcome));
	json_object_set_new(root, "alpha_latency", json_real(r->alpha_latency));
	json_object_set_new(root, "verdict",
			    json_string(compare_result_regressed(r) ? "regression"
								    : "no_regression"));
	for (size_t i = 0; i < r->n_groups; i++) {
		const struct compare_group *g = &r->groups[i];
		json_t *jg = json_pack("{s:s, s:s}", "scenario", g->scenario, "consumer",
				       g->device);
		json_t *rates = json_array(), *lat = json_array(), *bk = json_array();

		for (size_t j = 0; j < g->n_rates; j++) {
			const struct compare_rate *cr = &g->rates[j];
			json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s}", "outcome",
					      compare_rate_name(cr->outcome), "base_k",
					      (json_int_t)cr->k_base, "base_n",
					      (json_int_t)cr->n_base, "head_k",
					      (json_int_t)cr->k_head, "head_n",
					      (json_int_t)cr->n_head, "verdict",
					      stats_verdict_to_string(cr->verdict));
			json_object_set_new(o, "base_ci",
					    json_pack("[o, o]", json_num(cr->ci_base.lo),
						      json_num(cr->ci_base.hi)));
			json_object_set_new(o, "head_ci",
					    json_pack("[o, o]", json_num(cr->ci_head.lo),
						      json_num(cr->ci_head.hi)));
			json_object_set_new(o, "p", json_num(cr->p));
			json_array_append_new(rates, o);
		}
		for (int m = 0; m < 2; m++) {
			const struct compare_latency *l = &g->latency[m];
			static const char *const qn[] = { "p50", "p90", "p99" };
			json_t *o = json_pack("{s:s, s:I, s:I, s:s}", "metric", l->metric,
					      "base_n", (json_int_t)l->n_base, "head_n",
					      (json_int_t)l->n_head, "verdict",
					      stats_verdict_to_string(l->verdict));

			json_object_set_new(o, "p", json_num(l->p));
			json_object_set_new(o, "hl_shift_ns", json_num(l->shift_ns));
			json_object_set_new(o, "binned", json_boolean(l->binned));
			json_object_set_new(o, "conditional",
					    json_boolean(l->conditional));
			json_object_set_new(
				o, "shift_verdict",
				json_string(stats_verdict_to_string(l->shift_verdict)));
			for (int q = 0; q < _COMPARE_Q_MAX; q++) {
				json_t *bq =
					l->n_base
						? json_pack("{s:o, s:[o, o]}", "value",
							    json_num(l->q_base[q]), "ci",
							    json_num(l->ci_base[q].lo),
							    json_num(l->ci_base[q].hi))
						: json_null();
				json_t *hq =
					l->n_head
						? json_pack("{s:o, s:[o, o]}", "value",
							    json_num(l->q_head[q]), "ci",
							    json_num(l->ci_head[q].lo),
							    json_num(l->ci_head[q].hi))
						: json_null();
				json_t *pair =
					json_pack("{s:o, s:o}", "base", bq, "head", hq);
				json_object_set_new(o, qn[q], pair);
			}
			json_array_append_new(lat, o);
		}
		for (size_t j = 0; j < g->n_buckets; j++) {
			const struct compare_bucket *b = &g->buckets[j];
			json_array_append_new(
				bk, json_pack("{s:I, s:I, s:I, s:I, s:I}", "sweep_us",
					      (json_int_t)b->sweep, "base_n",
					      (json_int_t)b->n_base, "base_fail",
					      (json_int_t)b->fail_base, "head_n",
					      (json_int_t)b->n_head, "head_fail",
					      (json_int_t)b->fail_head));
		}
		json_object_set_new(jg, "outcomes", rates);
		json_object_set_new(jg, "latency", lat);
		json_object_set_new(jg, "sweep", bk);
		if (g->n_buckets > 0)
			json_object_set_new(jg, "window",
					    json_pack("{s:f, s:o, s:o}", "alpha",
						      COMPARE_WINDOW_ALPHA, "base",
						      window_to_json(&g->window_base),
						      "head",
						      window_to_json(&g->window_head)));
		json_array_append_new(groups, jg);
	}
	json_object_set_new(root, "groups", groups);
	return root;
}

/* --- reading the JSON form back --- */

static double num_from_json(json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* [lo, hi] or null (both NaN). false when malformed. */
static bool interval_from_json(json_t *v, struct stats_interval *ret)
{
	if (json_is_null(v) || !v) {
		*ret = (struct stats_interval){ NAN, NAN };
		return true;
	}
	if (!json_is_array(v) || json_array_size(v) != 2)
		return false;
	ret->lo = num_from_json(json_array_get(v, 0));
	ret->hi = num_from_json(json_array_get(v, 1));
	return true;
}

static bool count_from_json(json_t *o, const char *key, uint64_t *ret)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*ret = (uint64_t)json_integer_value(v);
	return true;
}

static bool verdict_from_json(json_t *o, enum stats_verdict *ret)
{
	const char *s = json_string_value(json_object_get(o, "verdict"));

	for (int v = 0; s && v < _STATS_VERDICT_MAX; v++)
		if (streq(s, stats_verdict_to_string(v))) {
			*ret = v;
			return true;
		}
	return false;
}

static int side_from_json(json_t *j, struct compare_side *side)
{
	const char *sel = json_string_value(json_object_get(j, "selector"));
	const char *kernel = json_string_value(json_object_get(j, "kernel"));
	json_t *runs = json_object_get(j, "runs");

	if (!sel || !json_is_integer(runs) || json_integer_value(runs) < 0)
		return -EBADMSG;
	side->selector = strdup(sel);
	side->description = kernel ? strdup(kernel) : NULL;
	if (!side->selector || (kernel && !side->description))
		return -ENOMEM;
	side->n_runs = (size_t)json_integer_value(runs);
	return 0;
}

static int rate_from_json(json_t *o, struct compare_rate *cr)
{
	const char *name = json_string_value(json_object_get(o, "outcome"));

	if (!name)
		return -EBADMSG;
	cr->outcome = streq(name, "any_failure") ? -1 : outcome_from_string(name);
	if (cr->outcome < -1 || !count_from_json(o, "base_k", &cr->k_base) ||
	    !count_from_json(o, "base_n", &cr->n_base) ||
	    !count_from_json(o, "head_k", &cr->k_head) ||
	    !count_from_json(o, "head_n", &cr->n_head) ||
	    !interval_from_json(json_object_get(o, "base_ci"), &cr->ci_base) ||
	    !interval_from_json(json_object_get(o, "head_ci"), &cr->ci_head) ||
	    !verdict_from_json(o, &cr->verdict))
		return -EBADMSG;
	cr->p = num_from_json(json_object_get(o, "p"));
	return 0;
}

static int latency_from_json(json_t *o, struct compare_latency *l)
{
	static const char *const qn[] = { "p50", "p90", "p99" };
	const char *metric = json_string_value(json_object_get(o, "metric"));
	uint64_t nb, nh;

	if (!metric)
		return -EBADMSG;
	/* metric points to static strings, as compare_run leaves it */
	if (streq(metric, "time_to_bound"))
		l->metric = "time_to_bound";
	else if (streq(metric, "bind_latency"))
		l->metric = "bind_latency";
	else
		return -EBADMSG;
	if (!count_from_json(o, "base_n", &nb) || !count_from_json(o, "head_n", &nh) ||
	    !verdict_from_json(o, &l->verdict))
		return -EBADMSG;
	l->n_base = (size_t)nb;
	l->n_head = (size_t)nh;
	l->p = num_from_json(json_object_get(o, "p"));
	l->shift_ns = num_from_json(json_object_get(o, "hl_shift_ns"));
	/* absent from the answers of servers before schema 004: raw values */
	l->binned = json_is_true(json_object_get(o, "binned"));
	/* absent before schema 007: never conditional */
	l->conditional = json_is_true(json_object_get(o, "conditional"));
	l->shift_verdict = l->verdict;
	if (json_object_get(o, "shift_verdict")) {
		json_t *sv = json_pack("{s:O}", "verdict",
				       json_object_get(o, "shift_verdict"));
		bool good = sv && verdict_from_json(sv, &l->shift_verdict);

		json_decref(sv);
		if (!good)
			return -EBADMSG;
	}
	for (int q = 0; q < _COMPARE_Q_MAX; q++) {
		json_t *pair = json_object_get(o, qn[q]);
		json_t *b = json_object_get(pair, "base"),
		       *h = json_object_get(pair, "head");

		if (!json_is_object(pair))
			return -EBADMSG;
		l->q_base[q] = num_from_json(json_object_get(b, "value"));
		l->q_head[q] = num_from_json(json_object_get(h, "value"));
		if (!interval_from_json(json_object_get(b, "ci"), &l->ci_base[q]) ||
		    !interval_from_json(json_object_get(h, "ci"), &l->ci_head[q]))
			return -EBADMSG;
	}
	return 0;
}

static int group_from_json(json_t *jg, struct compare_group *g)
{
	const char *scenario = json_string_value(json_object_get(jg, "scenario"));
	const char *consumer = json_string_value(json_object_get(jg, "consumer"));
	json_t *rates = json_object_get(jg, "outcomes"),
	       *lat = json_object_get(jg, "latency");
	json_t *bk = json_object_get(jg, "sweep"), *v;
	size_t i;
	int k;

	if (!scenario || !consumer || !json_is_array(rates) || !json_is_array(lat) ||
	    json_array_size(lat) != 2 || (bk && !json_is_array(bk)) ||
	    json_array_size(rates) > ARRAY_SIZE(g->rates))
		return -EBADMSG;
	g->scenario = strdup(scenario);
	g->device = strdup(consumer);
	if (!g->scenario || !g->device)
		return -ENOMEM;
	json_array_foreach(rates, i, v) {
		k = rate_from_json(v, &g->rates[g->n_rates]);
		if (k < 0)
			return k;
		g->n_rates++;
	}
	json_array_foreach(lat, i, v) {
		k = latency_from_json(v, &g->latency[i]);
		if (k < 0)
			return k;
	}
	if (json_array_size(bk) > 0) {
		g->buckets = calloc(json_array_size(bk), sizeof(*g->buckets));
		if (!g->buckets)
			return -ENOMEM;
	}
	json_array_foreach(bk, i, v) {
		struct compare_bucket *b = &g->buckets[i];
		json_t *sw = json_object_get(v, "sweep_us");

		if (!json_is_integer(sw) || !count_from_json(v, "base_n", &b->n_base) ||
		    !count_from_json(v, "base_fail", &b->fail_base) ||
		    !count_from_json(v, "head_n", &b->n_head) ||
		    !count_from_json(v, "head_fail", &b->fail_head))
			return -EBADMSG;
		b->sweep = json_integer_value(sw);
		g->n_buckets++;
	}
	window_from_json(json_object_get(json_object_get(jg, "window"), "base"),
			 &g->window_base);
	window_from_json(json_object_get(json_object_get(jg, "window"), "head"),
			 &g->window_head);
	return 0;
}

int compare_result_from_json(json_t *j, struct compare_result **ret)
{
	struct compare_result *r;
	json_t *groups = json_object_get(j, "groups"), *v;
	size_t i;
	int k;

	if (!json_is_object(j) || !json_is_array(groups) ||
	    !json_is_number(json_object_get(j, "alpha_outcome")) ||
	    !json_is_number(json_object_get(j, "alpha_latency")))
		return -EBADMSG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->alpha_outcome = json_number_value(json_object_get(j, "alpha_outcome"));
	r->alpha_latency = json_number_value(json_object_get(j, "alpha_latency"));
	k = side_from_json(json_object_get(j, "base"), &r->base);
	if (k >= 0)
		k = side_from_json(json_object_get(j, "head"), &r->head);
	if (k >= 0 && json_array_size(groups) > 0) {
		r->groups = calloc(json_array_size(groups), sizeof(*r->groups));
		if (!r->groups)
			k = -ENOMEM;
	}
	json_array_foreach(groups, i, v) {
		if (k < 0)
			break;
		/* counted first, so compare_result_free frees a half-read group too */
		r->n_groups++;
		k = group_from_json(v, &r->groups[i]);
	}
	if (k < 0) {
		compare_result_free(r);
		return k;
	}
	*ret = r;
	return 0;
}

/* The rates of a group in the order the reports print them; returns how many. */
size_t compare_group_sorted_rates(const struct compare_group *g, struct compare_rate *out)
{
	memcpy(out, g->rates, g->n_rates * sizeof(*out));
	qsort(out, g->n_rates, sizeof(*out), cmp_rate);
	return g->n_rates;
}

/* --- one side alone (probestorm report) --- */

static json_t *side_ci(struct stats_interval ci)
{
	return json_pack("[o, o]", json_num(ci.lo), json_num(ci.hi));
}

json_t *compare_side_to_json(const struct compare_result *r)
{
	json_t *root =
		json_pack("{s:s, s:s?, s:I}", "selector", r->base.selector, "kernel",
			  r->base.description, "runs", (json_int_t)r->base.n_runs);
	json_t *groups = json_array();

	if (!root || !groups || json_object_set_new(root, "groups", groups) < 0) {
		json_decref(root);
		return NULL;
	}
	for (size_t i = 0; i < r->n_groups; i++) {
		const struct compare_group *g = &r->groups[i];
		struct compare_rate sorted[_OUTCOME_MAX + 1];
		json_t *jg = json_pack("{s:s, s:s, s:[], s:[], s:[], s:o}", "scenario",
				       g->scenario, "consumer", g->device, "outcomes",
				       "latency", "sweep", "window",
				       window_to_json(&g->window_base));

		if (!jg || json_array_append_new(groups, jg) < 0)
			goto oom;
		compare_group_sorted_rates(g, sorted);
		for (size_t j = 0; j < g->n_rates; j++)
			if (json_array_append_new(
				    json_object_get(jg, "outcomes"),
				    json_pack("{s:s, s:I, s:I, s:o}", "outcome",
					      compare_rate_name(sorted[j].outcome), "k",
					      (json_int_t)sorted[j].k_base, "n",
					      (json_int_t)sorted[j].n_base, "ci",
					      side_ci(sorted[j].ci_base))) < 0)
				goto oom;
		for (int m = 0; m < 2; m++) {
			static const char *const qn[] = { "p50", "p90", "p99" };
			const struct compare_latency *l = &g->latency[m];
			json_t *o;

			if (l->n_base == 0)
				continue;
			o = json_pack("{s:s, s:I, s:b}", "metric", l->metric, "n",
				      (json_int_t)l->n_base, "binned", l->binned);
			for (int q = 0; o && q < _COMPARE_Q_MAX; q++)
				json_object_set_new(o, qn[q],
						    json_pack("{s:o, s:o}", "value",
							      json_num(l->q_base[q]),
							      "ci",
							      side_ci(l->ci_base[q])));
			if (json_array_append_new(json_object_get(jg, "latency"), o) < 0)
				goto oom;
		}
		for (size_t j = 0; j < g->n_buckets; j++)
			if (g->buckets[j].n_base > 0 &&
			    json_array_append_new(
				    json_object_get(jg, "sweep"),
				    json_pack("{s:I, s:I, s:I}", "sweep_us",
					      (json_int_t)g->buckets[j].sweep, "n",
					      (json_int_t)g->buckets[j].n_base, "fail",
					      (json_int_t)g->buckets[j].fail_base)) < 0)
				goto oom;
	}
	return root;
oom:
	json_decref(root);
	return NULL;
}
