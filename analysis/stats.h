/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Statistics for comparing two kernels (DESIGN.md, "Statistics"): interval estimates of
 * outcome rates, exact and rank tests for A vs B, latency percentiles with bootstrap
 * confidence intervals, and the verdict that names a metric a regression, an improvement
 * or no change. Pure functions: no logging, no global state; bad input gives -EINVAL
 * (-ERANGE for counts beyond 2^53, where doubles stop being exact), allocation failure
 * -ENOMEM, and ret_ outputs are written only on success. The methods and their
 * references are described at the top of stats.c.
 */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define STATS_Z95		  1.959963984540054 /* Phi^-1(0.975) */
#define STATS_FISHER_REL_TOL	  1e-7 /* R's fisher.test: d <= d_obs * (1 + 1e-7) */
#define STATS_BOOTSTRAP_DEFAULT_B 2000u
#define STATS_BOOTSTRAP_MAX_N	  100000u /* above this, m-out-of-n with m = this */
#define STATS_COUNT_MAX		  (UINT64_C(1) << 53) /* largest count accepted (exact in double) */

/* A two-sided (or one-sided, where a bound is 0 or 1) confidence interval. */
struct stats_interval {
	double lo;
	double hi;
};

/* Standard normal CDF Phi(x); accurate in the lower tail (uses erfc). */
double stats_norm_cdf(double x);
/* Upper tail 1 - Phi(x), accurate for large x (uses erfc, no cancellation). */
double stats_norm_sf(double x);
/* Phi^-1(p): -inf at 0, +inf at 1, NaN outside [0, 1]; ~1e-15 relative (Acklam + Halley). */
double stats_norm_quantile(double p);

/*
 * Wilson score interval for k events in n trials at two-sided confidence (e.g. 0.95).
 * -EINVAL if n == 0, k > n or confidence not in (0, 1); -ERANGE if n > STATS_COUNT_MAX.
 * lo is exactly 0 when k == 0 and hi exactly 1 when k == n.
 */
int stats_wilson(uint64_t k, uint64_t n, double confidence, struct stats_interval *ret);

/*
 * Exact one-sided upper bound of the rate when 0 events were seen in n trials:
 * 1 - (1 - confidence)^(1/n), about 3/n at 0.95.
 * -EINVAL if n == 0 or confidence not in (0, 1).
 */
int stats_zero_events_upper(uint64_t n, double confidence, double *ret_upper);
/* The mirror image for n events in n trials: exact lower bound (1 - confidence)^(1/n). */
int stats_all_events_lower(uint64_t n, double confidence, double *ret_lower);

/*
 * Fisher's exact test, two-sided, of k1 events in n1 trials against k2 in n2, with R's
 * rule (p = sum of table probabilities <= P(observed) * (1 + 1e-7)). A table without
 * events (k1 == k2 == 0) or without non-events gives p = 1. -EINVAL if n1 == 0, n2 == 0,
 * k1 > n1 or k2 > n2; -ERANGE if n1 + n2 > STATS_COUNT_MAX.
 */
int stats_fisher_exact(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2, double *ret_p);

/*
 * Type-7 quantile (R's default, numpy's 'linear') of n ascending values at prob in [0, 1].
 * The caller guarantees sorted order; -EINVAL if n == 0 or prob outside [0, 1].
 */
int stats_quantile_sorted(const double *sorted, size_t n, double prob, double *ret_q);
/*
 * Type-7 quantiles of unsorted x at each of probs[0..n_probs) into ret_q[0..n_probs).
 * Sorts a private copy (-ENOMEM). -EINVAL if n == 0, n_probs == 0, a prob is outside
 * [0, 1] or x holds a NaN.
 */
int stats_quantiles(const double *x, size_t n, const double *probs, size_t n_probs,
		    double *ret_q);

/* xoshiro256** seeded through splitmix64: deterministic for a given seed on every host. */
struct stats_rng {
	uint64_t s[4];
};
void stats_rng_seed(struct stats_rng *rng, uint64_t seed);
uint64_t stats_rng_next(struct stats_rng *rng);
/* Uniform in [0, bound) without modulo bias (Lemire); bound must be > 0. */
uint64_t stats_rng_below(struct stats_rng *rng, uint64_t bound);

/*
 * Percentile-bootstrap confidence intervals of the type-7 quantiles at probs, computed
 * from the same b resamples (0 means STATS_BOOTSTRAP_DEFAULT_B), deterministic for a given
 * seed. Above STATS_BOOTSTRAP_MAX_N values the resamples have that size and are rescaled
 * (see stats.c). Writes ret_ci[0..n_probs). Errors as stats_quantiles, plus -EINVAL for
 * confidence not in (0, 1) and -ERANGE for n > UINT32_MAX. O(n log n + b * min(n, 10^5)).
 */
int stats_bootstrap_quantiles(const double *x, size_t n, const double *probs,
			      size_t n_probs, unsigned b, uint64_t seed,
			      double confidence, struct stats_interval *ret_ci);

/* Result of the Mann-Whitney U test of x (baseline) against y (head). */
struct stats_mwu {
	double u; /* U of x: pairs x > y, ties 1/2 (SciPy's returned statistic) */
	double z; /* (max(U, nx*ny - U) - nx*ny/2 - 1/2) / sd with tie correction */
	double p; /* two-sided p, normal approximation, continuity-corrected, in [0, 1] */
};
/*
 * Mann-Whitney U test, two-sided, asymptotic with tie and continuity correction, equal to
 * SciPy's mannwhitneyu(x, y, alternative='two-sided', method='asymptotic',
 * use_continuity=True). All values tied gives p = 1. O(n log n) time, O(n) memory
 * (-ENOMEM). -EINVAL if nx or ny is 0 or a value is NaN; -ERANGE if nx + ny > UINT32_MAX.
 */
int stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny,
		       struct stats_mwu *ret);

/*
 * Hodges-Lehmann shift: the median of all nx*ny differences y[j] - x[i] (mean of the
 * two middle ones when nx*ny is even); positive means y (head) is larger. Exact for every
 * size, O((nx + ny) log(nx * ny)) expected time, O(nx + ny) memory (-ENOMEM).
 * -EINVAL if nx or ny is 0 or a value is NaN; -ERANGE if nx or ny > UINT32_MAX.
 */
int stats_hodges_lehmann(const double *x, size_t nx, const double *y, size_t ny,
			 double *ret_shift);

/*
 * Histogram samples: len distinct values v[0..len), strictly ascending, value v[i] seen
 * c[i] > 0 times. Each function equals its plain counterpart above on the expanded sample
 * (each v[i] repeated c[i] times), in O(len) or O(len log len) instead of O(n): the
 * compare engine keeps latencies of large runs as histograms (analysis/compare.c). -EINVAL if
 * len is 0, a count is 0, the values are not strictly ascending or one is NaN; -ERANGE if
 * a total exceeds STATS_COUNT_MAX (for Hodges-Lehmann: the product of the totals).
 */
/* Type-7 quantile, as stats_quantile_sorted on the expanded sample. */
int stats_hist_quantile(const double *v, const uint64_t *c, size_t len, double prob,
			double *ret_q);
/* The value of 0-based rank r of the expanded sample; -EINVAL if r >= the total. */
int stats_hist_at_rank(const double *v, const uint64_t *c, size_t len, uint64_t r,
		       double *ret);
/* As stats_mann_whitney. */
int stats_hist_mann_whitney(const double *xv, const uint64_t *xc, size_t nx,
			    const double *yv, const uint64_t *yc, size_t ny,
			    struct stats_mwu *ret);
/* As stats_hodges_lehmann: the median of the pairwise differences, each pair (i, j)
 * counted xc[i] * yc[j] times. */
int stats_hist_hodges_lehmann(const double *xv, const uint64_t *xc, size_t nx,
			      const double *yv, const uint64_t *yc, size_t ny,
			      double *ret_shift);

enum stats_verdict {
	STATS_NO_CHANGE,
	STATS_REGRESSION,
	STATS_IMPROVEMENT,
	_STATS_VERDICT_MAX,
	_STATS_VERDICT_INVALID = -EINVAL,
};
/*
 * Verdict of one metric at level alpha. effect is head minus baseline in the direction
 * where larger is worse: failure rate(head) - failure rate(base) for outcome rates,
 * the Hodges-Lehmann shift (head - base) for latencies. Significant when p <= alpha;
 * then effect > 0 is a regression, effect < 0 an improvement, 0 no change.
 * _STATS_VERDICT_INVALID if p is not in [0, 1], alpha not in (0, 1) or effect is NaN.
 */
enum stats_verdict stats_verdict(double p, double alpha, double effect);
/* "no_change", "regression", "improvement"; NULL for out-of-range values. */
const char *stats_verdict_to_string(enum stats_verdict v);

/*
 * Equivalence (TOST) of two rates: H0 |p_head - p_base| >= margin against
 * H1 |p_head - p_base| < margin, two one-sided z tests on the Agresti-Caffo adjusted
 * difference (one event and one non-event added to each arm). *ret_p is the larger of the
 * two one-sided p values; equivalence at level alpha when *ret_p <= alpha. -EINVAL for
 * n == 0, k > n or margin not in (0, 1); -ERANGE for counts > STATS_COUNT_MAX.
 */
int stats_equivalence_tost(uint64_t k_base, uint64_t n_base, uint64_t k_head,
			   uint64_t n_head, double margin, double *ret_p);
