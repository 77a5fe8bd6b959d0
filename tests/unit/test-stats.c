/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of analysis/stats.c against reference values from independent implementations.
 * Every literal below was printed by tests/data/stats/reference.py with Debian 12's
 * /usr/bin/python3 3.11.2, scipy 1.10.1, numpy 1.24.2, statsmodels 0.13.5 and mpmath
 * 1.2.1; "ref.py" in a comment means that script. Fisher references are exact rational
 * arithmetic with R's tie rule (cross-checked there against 60-digit mpmath and scipy's
 * fisher_exact). Where no outside tool applies (bootstrap, large Hodges-Lehmann) the test
 * checks a brute force or an asymptotic formula instead. Tolerances: 1e-12 relative for
 * closed forms the libm can hit, 1e-6 where the reference is an approximation's target,
 * 1e-9 relative for p-values (the brief's bar is 1e-4; ours is stricter so drift shows).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"
#include "stats.h"

#define assert_close(actual, expected, rel) \
	assert_close_at((actual), (expected), (rel), #actual, __FILE__, __LINE__)

static void assert_close_at(double actual, double expected, double rel, const char *what,
			    const char *file, int line)
{
	double tol = rel * fabs(expected);

	/* an expected 0 can only be matched to an absolute scale */
	if (expected == 0.0)
		tol = rel;
	if (!(fabs(actual - expected) <= tol)) {
		print_error("%s:%d: %s = %.17g, expected %.17g (rel %g)\n", file, line,
			    what, actual, expected, rel);
		_fail(file, line);
	}
}

static void test_norm(void **state)
{
	(void)state;
	/* scipy.stats.norm.cdf / sf / ppf, ref.py */
	assert_close(stats_norm_cdf(-1.96), 0.024997895148220435, 1e-14);
	assert_close(stats_norm_cdf(0.0), 0.5, 1e-15);
	assert_close(stats_norm_cdf(3.0), 0.9986501019683699, 1e-14);
	assert_close(stats_norm_cdf(-8.0), 6.22096057427174e-16, 1e-13);
	assert_close(stats_norm_sf(8.0), 6.22096057427174e-16, 1e-13);
	assert_close(stats_norm_sf(-1.0), 0.8413447460685429, 1e-14);
	assert_close(stats_norm_sf(STATS_Z95), 0.025, 1e-14);
	assert_close(stats_norm_quantile(0.975), 1.959963984540054, 1e-14);
	assert_close(stats_norm_quantile(1e-10), -6.361340902404056, 1e-14);
	assert_close(stats_norm_quantile(0.5), 0.0, 1e-15);
	assert_close(stats_norm_quantile(0.02425), -1.972961051311885, 1e-14);
	assert_close(stats_norm_quantile(0.3), -0.5244005127080409, 1e-14);
	assert_close(stats_norm_quantile(1 - 1e-12), 7.0344869100478356, 1e-12);
	assert_close(stats_norm_quantile(0.999), 3.090232306167813, 1e-14);
	/* beyond the Halley step's range: Acklam's own 1.15e-9 */
	assert_close(stats_norm_quantile(1e-300), -37.0470962993612, 1e-8);
	assert_true(isinf(stats_norm_quantile(0.0)) && stats_norm_quantile(0.0) < 0);
	assert_true(isinf(stats_norm_quantile(1.0)) && stats_norm_quantile(1.0) > 0);
	assert_true(isnan(stats_norm_quantile(1.5)));
	assert_true(isnan(stats_norm_quantile(NAN)));
}

static void test_wilson(void **state)
{
	/* statsmodels proportion_confint(k, n, 0.05, 'wilson'), ref.py */
	static const struct {
		uint64_t k, n;
		double lo, hi;
	} c[] = {
		{ 0, 10, 0.0, 0.27753279986288926 },
		{ 1, 10, 0.017876213095072924, 0.40415002679523854 },
		{ 5, 10, 0.23659309051256394, 0.7634069094874361 },
		{ 10, 10, 0.7224672001371106, 1.0 },
		{ 3, 100, 0.01025452402403891, 0.08451936429052763 },
		{ 0, 1, 0.0, 0.7934506856227627 },
		{ 1, 1, 0.2065493143772374, 1.0 },
		{ 37, 1000000, 2.6845117233462837e-05, 5.099604256362138e-05 },
		{ 999, 1000, 0.9943574414020421, 0.9998234536293739 },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct stats_interval ci;

		assert_int_equal(stats_wilson(c[i].k, c[i].n, 0.95, &ci), 0);
		assert_close(ci.lo, c[i].lo, 1e-12);
		assert_close(ci.hi, c[i].hi, 1e-12);
	}
}

static void test_wilson_invalid(void **state)
{
	struct stats_interval ci = { -7.0, -7.0 };
	(void)state;

	assert_int_equal(stats_wilson(0, 0, 0.95, &ci), -EINVAL);
	assert_int_equal(stats_wilson(11, 10, 0.95, &ci), -EINVAL);
	assert_int_equal(stats_wilson(1, 10, 1.0, &ci), -EINVAL);
	assert_int_equal(stats_wilson(1, 10, 0.0, &ci), -EINVAL);
	assert_int_equal(stats_wilson(1, 10, NAN, &ci), -EINVAL);
	assert_int_equal(stats_wilson(1, STATS_COUNT_MAX + 1, 0.95, &ci), -ERANGE);
	/* failure leaves the output alone */
	assert_true(ci.lo == -7.0 && ci.hi == -7.0);
}

static void test_zero_events(void **state)
{
	/* 1 - 0.05^(1/n) and 0.05^(1/n) at 40 digits (mpmath), = scipy beta.ppf, ref.py */
	static const struct {
		uint64_t n;
		double upper, lower;
	} c[] = {
		{ 1, 0.95, 0.05 },
		{ 10, 0.2588655508930523, 0.7411344491069477 },
		{ 100, 0.029513049607039935, 0.9704869503929601 },
		{ 1000, 0.0029912495450952962, 0.9970087504549047 },
		{ 1000000, 2.9957277863525446e-06, 0.9999970042722136 },
		{ 10000000, 2.995731824833443e-07, 0.9999997004268175 },
	};
	double v = -1.0;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		double up, lo;

		assert_int_equal(stats_zero_events_upper(c[i].n, 0.95, &up), 0);
		assert_int_equal(stats_all_events_lower(c[i].n, 0.95, &lo), 0);
		assert_close(up, c[i].upper, 1e-12);
		assert_close(lo, c[i].lower, 1e-14);
	}
	/* the rule of three */
	assert_int_equal(stats_zero_events_upper(100000, 0.95, &v), 0);
	assert_close(v, 3.0 / 100000, 2e-3);
	v = -1.0;
	assert_int_equal(stats_zero_events_upper(0, 0.95, &v), -EINVAL);
	assert_int_equal(stats_all_events_lower(10, 1.5, &v), -EINVAL);
	assert_true(v == -1.0);
}

struct fisher_case {
	uint64_t k1, n1, k2, n2;
	double p;
};

static void check_fisher(const struct fisher_case *c, size_t n, double rel)
{
	for (size_t i = 0; i < n; i++) {
		double p = -1.0, q = -1.0;

		assert_int_equal(
			stats_fisher_exact(c[i].k1, c[i].n1, c[i].k2, c[i].n2, &p), 0);
		assert_close(p, c[i].p, rel);
		/* swapping the arms is the same test */
		assert_int_equal(
			stats_fisher_exact(c[i].k2, c[i].n2, c[i].k1, c[i].n1, &q), 0);
		assert_close(q, c[i].p, rel);
	}
}

static void test_fisher(void **state)
{
	/* exact rationals with R's rule (== scipy 1.10 fisher_exact to 1e-15), ref.py */
	static const struct fisher_case c[] = {
		{ 3, 100, 15, 100, 0.00519222290141669 },
		{ 5, 10, 5, 10, 1.0 },			   /* balanced */
		{ 2, 10, 8, 10, 0.023014137565221155 },	   /* mirror tables tie exactly */
		{ 0, 50, 50, 50, 1.9823306042836678e-29 }, /* extreme */
		{ 20, 20, 0, 20, 1.4508889103849688e-11 },
		{ 1, 2, 0, 3, 0.4 },
		{ 7, 12, 1, 9, 0.06687306501547988 },
		{ 1, 1000, 0, 1000, 1.0 },
		{ 30, 200, 12, 1000, 1.1757419696406444e-15 },
	};
	(void)state;

	check_fisher(c, ARRAY_SIZE(c), 1e-9);
}

static void test_fisher_large(void **state)
{
	static const struct fisher_case c[] = {
		/* exact rationals, ref.py (scipy agrees to 1.5e-11 resp. 2.3e-10) */
		{ 5, 100000, 40, 100000, 7.854801665532357e-08 },
		{ 100, 10000000, 160, 10000000, 0.00023891972674481643 },
		/* 60-digit mpmath, ref.py (scipy: 0.09373411654571129); tens of thousands of
		 * tables are summed here, which must stay fast */
		{ 2000000, 10000000, 2003000, 10000000, 0.09373411645118919 },
	};
	(void)state;

	check_fisher(c, ARRAY_SIZE(c), 1e-9);
}

static void test_fisher_degenerate(void **state)
{
	double p = -1.0;
	(void)state;

	/* no events at all, and events everywhere: one possible table, p = 1 (ref.py) */
	assert_int_equal(stats_fisher_exact(0, 10, 0, 20, &p), 0);
	assert_true(p == 1.0);
	p = -1.0;
	assert_int_equal(stats_fisher_exact(10, 10, 20, 20, &p), 0);
	assert_true(p == 1.0);
	p = -1.0;
	assert_int_equal(stats_fisher_exact(0, 10000000, 0, 10000000, &p), 0);
	assert_true(p == 1.0);

	p = -1.0;
	assert_int_equal(stats_fisher_exact(0, 0, 0, 0, &p), -EINVAL);
	assert_int_equal(stats_fisher_exact(0, 0, 3, 10, &p), -EINVAL);
	assert_int_equal(stats_fisher_exact(11, 10, 3, 10, &p), -EINVAL);
	assert_int_equal(stats_fisher_exact(1, 10, 11, 10, &p), -EINVAL);
	assert_int_equal(stats_fisher_exact(1, STATS_COUNT_MAX, 1, 2, &p), -ERANGE);
	assert_true(p == -1.0);
}

static void test_quantiles(void **state)
{
	static const double probs[] = { 0.0, 0.25, 0.5, 0.9, 0.99, 1.0 };
	static const double q1[] = {
		3.2, 1.5, 9.9, 4.4, 7.0, 2.2, 8.1, 5.5, 6.3, 0.7, 4.4
	};
	/* numpy.quantile(method='linear'), ref.py */
	static const double e1[] = { 0.7, 2.7, 4.4, 8.1, 9.72, 9.9 };
	static const double e2[] = {
		0.0, 37.125, 75.0, 135.14999999999998, 148.515, 150.0
	};
	double q2[200], r[ARRAY_SIZE(probs)], one = 42.0, v;
	(void)state;

	for (int i = 0; i < 200; i++)
		q2[i] = (i * 37 % 101) * 1.5;

	assert_int_equal(stats_quantiles(q1, ARRAY_SIZE(q1), probs, ARRAY_SIZE(probs), r),
			 0);
	for (size_t i = 0; i < ARRAY_SIZE(probs); i++)
		assert_close(r[i], e1[i], 1e-14);
	assert_int_equal(stats_quantiles(q2, ARRAY_SIZE(q2), probs, ARRAY_SIZE(probs), r),
			 0);
	for (size_t i = 0; i < ARRAY_SIZE(probs); i++)
		assert_close(r[i], e2[i], 1e-14);
	assert_int_equal(stats_quantiles(&one, 1, probs, ARRAY_SIZE(probs), r), 0);
	for (size_t i = 0; i < ARRAY_SIZE(probs); i++)
		assert_true(r[i] == 42.0);

	/* the input is left unsorted; the sorted variant agrees */
	assert_true(q1[0] == 3.2);
	{
		static const double s[] = { 1.0, 2.0, 4.0, 8.0 };

		assert_int_equal(stats_quantile_sorted(s, 4, 0.5, &v), 0);
		assert_true(v == 3.0);
		assert_int_equal(stats_quantile_sorted(s, 4, 0.9, &v), 0);
		assert_close(v, 6.8, 1e-15);
	}
}

static void test_quantiles_invalid(void **state)
{
	static const double x[] = { 1.0, NAN, 3.0 };
	double p = 0.5, bad = 1.5, r = -1.0;
	(void)state;

	assert_int_equal(stats_quantiles(x, 3, &p, 1, &r), -EINVAL); /* NaN */
	assert_int_equal(stats_quantiles(x, 0, &p, 1, &r), -EINVAL);
	assert_int_equal(stats_quantiles(x, 1, &bad, 1, &r), -EINVAL);
	assert_int_equal(stats_quantiles(x, 1, &p, 0, &r), -EINVAL);
	assert_int_equal(stats_quantile_sorted(x, 1, -0.1, &r), -EINVAL);
	assert_true(r == -1.0);
}

static void test_rng(void **state)
{
	/* Vigna's splitmix64 + xoshiro256** reference code, transcribed in ref.py */
	static const uint64_t seed42[] = { 0x15780b2e0c2ec716, 0x6104d9866d113a7e,
					   0xae17533239e499a1, 0xecb8ad4703b360a1 };
	struct stats_rng rng;
	unsigned hist[7] = { 0 };
	(void)state;

	stats_rng_seed(&rng, 42);
	for (size_t i = 0; i < ARRAY_SIZE(seed42); i++)
		assert_true(stats_rng_next(&rng) == seed42[i]);
	stats_rng_seed(&rng, 0);
	assert_true(stats_rng_next(&rng) == UINT64_C(0x99ec5f36cb75f2b4));
	assert_true(stats_rng_next(&rng) == UINT64_C(0xbf6e1f784956452a));

	/* below(): in range and roughly uniform (each cell 10000 +- 5 sd) */
	for (int i = 0; i < 70000; i++) {
		uint64_t v = stats_rng_below(&rng, 7);

		assert_true(v < 7);
		hist[v]++;
	}
	for (size_t i = 0; i < ARRAY_SIZE(hist); i++)
		assert_in_range(hist[i], 10000 - 463, 10000 + 463);
	assert_true(stats_rng_below(&rng, 1) == 0);

	/* the 64-bit path: in range, upper half hit about half the time (5000 +- 5 sd) */
	{
		const uint64_t big = (UINT64_C(1) << 40) + 3;
		unsigned upper = 0;

		for (int i = 0; i < 10000; i++) {
			uint64_t v = stats_rng_below(&rng, big);

			assert_true(v < big);
			upper += v >= big / 2;
		}
		assert_in_range(upper, 5000 - 250, 5000 + 250);
	}
}

static void test_bootstrap_deterministic(void **state)
{
	static const double probs[] = { 0.5, 0.9, 0.99 };
	struct stats_interval a[3], b[3], c[3];
	double x[500], est[3];
	(void)state;

	for (int i = 0; i < 500; i++)
		x[i] = 1000.0 + (i * 7919 % 997) * 0.37 + (i % 13 == 0 ? 250.0 : 0.0);

	assert_int_equal(stats_bootstrap_quantiles(x, 500, probs, 3, 0, 1234, 0.95, a),
			 0);
	assert_int_equal(stats_bootstrap_quantiles(x, 500, probs, 3, 0, 1234, 0.95, b),
			 0);
	assert_int_equal(stats_bootstrap_quantiles(x, 500, probs, 3, 0, 99, 0.95, c), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));

	/* coverage sanity: each interval is ordered and holds its point estimate */
	assert_int_equal(stats_quantiles(x, 500, probs, 3, est), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(a[i].lo <= est[i] && est[i] <= a[i].hi);
		assert_true(c[i].lo <= est[i] && est[i] <= c[i].hi);
		assert_true(a[i].lo < a[i].hi);
	}
	/* the upper percentiles are less certain than the median */
	assert_true(a[2].hi - a[2].lo > a[0].hi - a[0].lo);
}

/*
 * On the normal quantile grid x_i = Phi^-1((i + 0.5) / n) the sample quantile at p has
 * asymptotic sd sqrt(p (1 - p) / n) / phi(Phi^-1(p)); the bootstrap interval should be
 * about 2 * 1.96 sd wide. +-15% covers the Monte-Carlo noise (seeds 1..5 gave +-6%).
 */
static void check_width(size_t n, unsigned b)
{
	static const double probs[] = { 0.5, 0.9 };
	_cleanup_free_ double *x = malloc(n * sizeof(*x));
	struct stats_interval ci[2];

	assert_non_null(x);
	for (size_t i = 0; i < n; i++)
		x[i] = stats_norm_quantile((i + 0.5) / n);
	assert_int_equal(stats_bootstrap_quantiles(x, n, probs, 2, b, 7, 0.95, ci), 0);
	for (int j = 0; j < 2; j++) {
		double zp = stats_norm_quantile(probs[j]);
		double dens = exp(-0.5 * zp * zp) / sqrt(2 * M_PI);
		double sd = sqrt(probs[j] * (1 - probs[j]) / n) / dens;
		double width = ci[j].hi - ci[j].lo;

		assert_close(width, 2 * STATS_Z95 * sd, 0.15);
		assert_true(ci[j].lo < zp && zp < ci[j].hi);
	}
}

static void test_bootstrap_width(void **state)
{
	(void)state;
	check_width(2000, 0);	  /* the full bootstrap */
	check_width(400000, 400); /* m-out-of-n with rescaling */
}

static void test_bootstrap_edge(void **state)
{
	static const double probs[] = { 0.0, 0.5, 1.0 };
	double x[50];
	struct stats_interval ci[3], keep = { -9.0, -9.0 };
	(void)state;

	for (int i = 0; i < 50; i++)
		x[i] = 5.0;
	assert_int_equal(stats_bootstrap_quantiles(x, 50, probs, 3, 100, 1, 0.95, ci), 0);
	for (int i = 0; i < 3; i++)
		assert_true(ci[i].lo == 5.0 && ci[i].hi == 5.0);
	assert_int_equal(stats_bootstrap_quantiles(x, 1, probs, 3, 100, 1, 0.95, ci), 0);
	assert_true(ci[1].lo == 5.0 && ci[1].hi == 5.0);

	assert_int_equal(stats_bootstrap_quantiles(x, 0, probs, 1, 100, 1, 0.95, &keep),
			 -EINVAL);
	assert_int_equal(stats_bootstrap_quantiles(x, 50, probs, 1, 100, 1, 1.0, &keep),
			 -EINVAL);
	assert_true(keep.lo == -9.0 && keep.hi == -9.0);
}

/* The data sets of ref.py's "mw" dictionary. */
static const double mw_ties_x[] = { 12, 15, 15, 18, 20, 20, 20, 25, 30, 31 };
static const double mw_ties_y[] = { 15, 20, 22, 25, 25, 33, 35, 40, 41, 45, 50, 20 };
static const double mw_noties_x[] = { 1.1, 2.3, 3.7, 4.2, 5.9 };
static const double mw_noties_y[] = { 3.3, 6.1, 7.4, 8.8, 9.0, 10.2, 11.5 };
static const double mw_tied_x[] = { 5, 5, 5 };
static const double mw_tied_y[] = { 5, 5 };
static const double mw_rev_x[] = { 30, 31, 40, 44, 52, 60 };
static const double mw_rev_y[] = { 1, 2, 2, 3, 10 };

static void gen_data(double *x, double *y)
{
	for (int i = 0; i < 500; i++)
		x[i] = (i * 7919 % 1000) / 10.0;
	for (int i = 0; i < 600; i++)
		y[i] = ((i * 104729 % 1013) + 30) / 10.0;
}

static void check_mwu(const double *x, size_t nx, const double *y, size_t ny, double u,
		      double p)
{
	struct stats_mwu r;

	assert_int_equal(stats_mann_whitney(x, nx, y, ny, &r), 0);
	assert_true(r.u == u);
	assert_close(r.p, p, 1e-9);
}

static void test_mann_whitney(void **state)
{
	double gx[500], gy[600];
	struct stats_mwu r = { -1, -1, -1 };
	(void)state;

	gen_data(gx, gy);
	/* scipy 1.10 mannwhitneyu(x, y, 'two-sided', method='asymptotic',
	 * use_continuity=True): (statistic, pvalue), ref.py */
	check_mwu(mw_ties_x, 10, mw_ties_y, 12, 25.0, 0.021844445844821307);
	check_mwu(mw_noties_x, 5, mw_noties_y, 7, 3.0, 0.022990394092464894);
	check_mwu(gx, 500, gy, 600, 139674.5, 0.04906721523142777);
	check_mwu(mw_tied_x, 3, mw_tied_y, 2, 3.0, 1.0);
	check_mwu(mw_rev_x, 6, mw_rev_y, 5, 30.0, 0.007969413024121784);

	/* the p value does not depend on which sample comes first; U does */
	assert_int_equal(stats_mann_whitney(mw_ties_y, 12, mw_ties_x, 10, &r), 0);
	assert_true(r.u == 10 * 12 - 25.0);
	assert_close(r.p, 0.021844445844821307, 1e-9);

	r = (struct stats_mwu){ -1, -1, -1 };
	assert_int_equal(stats_mann_whitney(mw_ties_x, 0, mw_ties_y, 12, &r), -EINVAL);
	gx[3] = NAN;
	assert_int_equal(stats_mann_whitney(gx, 500, gy, 600, &r), -EINVAL);
	assert_true(r.u == -1 && r.p == -1);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The definition, by brute force: all differences, sorted, middle one(s). */
static double hl_brute(const double *x, size_t nx, const double *y, size_t ny)
{
	size_t n = nx * ny, k = 0;
	_cleanup_free_ double *d = malloc(n * sizeof(*d));
	double m;

	assert_non_null(d);
	for (size_t i = 0; i < nx; i++)
		for (size_t j = 0; j < ny; j++)
			d[k++] = y[j] - x[i];
	qsort(d, n, sizeof(*d), cmp_d);
	m = d[(n - 1) / 2];
	if (n % 2 == 0)
		m = m + (d[n / 2] - m) / 2.0;
	return m;
}

static void test_hodges_lehmann(void **state)
{
	double gx[500], gy[600], v = -1.0;
	(void)state;

	gen_data(gx, gy);
	/* numpy.median(numpy.subtract.outer(y, x)), ref.py */
	assert_int_equal(stats_hodges_lehmann(mw_ties_x, 10, mw_ties_y, 12, &v), 0);
	assert_true(v == 10.0);
	assert_int_equal(stats_hodges_lehmann(mw_noties_x, 5, mw_noties_y, 7, &v), 0);
	assert_close(v, 5.0, 1e-15);
	assert_int_equal(stats_hodges_lehmann(gx, 500, gy, 600, &v), 0);
	assert_close(v, 3.5, 1e-15);
	assert_int_equal(stats_hodges_lehmann(mw_tied_x, 3, mw_tied_y, 2, &v), 0);
	assert_true(v == 0.0);
	assert_int_equal(stats_hodges_lehmann(mw_rev_x, 6, mw_rev_y, 5, &v), 0);
	assert_true(v == -38.5);

	v = -1.0;
	assert_int_equal(stats_hodges_lehmann(gx, 0, gy, 600, &v), -EINVAL);
	gy[0] = NAN;
	assert_int_equal(stats_hodges_lehmann(gx, 500, gy, 600, &v), -EINVAL);
	assert_true(v == -1.0);
}

/* Uniform in [0, scale) with 53 random bits. */
static double uniform(struct stats_rng *rng, double scale)
{
	return (double)(stats_rng_next(rng) >> 11) * 0x1p-53 * scale;
}

/*
 * Against the brute force on sizes that go through the selection rounds (more pairs than
 * the 4096 gathered directly), with continuous values, heavy ties, and odd and even
 * numbers of pairs.
 */
static void test_hodges_lehmann_brute(void **state)
{
	static const struct {
		size_t nx, ny;
		int ties;
	} c[] = {
		{ 1, 1, 0 },	 { 1, 9, 0 },	    { 7, 1, 1 },
		{ 60, 70, 0 },	 { 61, 71, 1 },	    { 300, 401, 0 },
		{ 301, 400, 1 }, { 2000, 2500, 0 }, { 2001, 2499, 1 },
	};
	struct stats_rng rng;
	(void)state;

	stats_rng_seed(&rng, 2024);
	for (size_t t = 0; t < ARRAY_SIZE(c); t++) {
		_cleanup_free_ double *x = malloc(c[t].nx * sizeof(*x));
		_cleanup_free_ double *y = malloc(c[t].ny * sizeof(*y));
		double v;

		assert_non_null(x);
		assert_non_null(y);
		/* integers 0..16 and 0..18 tie heavily; continuous draws almost never do */
		for (size_t i = 0; i < c[t].nx; i++)
			x[i] = c[t].ties ? stats_rng_below(&rng, 17) : uniform(&rng, 100);
		for (size_t i = 0; i < c[t].ny; i++)
			y[i] = c[t].ties ? stats_rng_below(&rng, 19) : uniform(&rng, 130);
		assert_int_equal(stats_hodges_lehmann(x, c[t].nx, y, c[t].ny, &v), 0);
		assert_true(v == hl_brute(x, c[t].nx, y, c[t].ny));
	}
}

/* x as a histogram: sorted distinct values with counts; returns the number of values. */
static size_t to_hist(const double *x, size_t n, double *v, uint64_t *c)
{
	_cleanup_free_ double *s = malloc(n * sizeof(*s));
	size_t len = 0;

	assert_non_null(s);
	memcpy(s, x, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_d);
	for (size_t i = 0; i < n; i++) {
		if (len > 0 && v[len - 1] == s[i]) {
			c[len - 1]++;
			continue;
		}
		v[len] = s[i];
		c[len++] = 1;
	}
	return len;
}

/* The histogram functions equal the plain ones on the expanded sample, bit for bit, with
 * heavy ties and without; the plain ones are checked against SciPy/R above. */
static void test_hist_equals_plain(void **state)
{
	static const struct {
		size_t nx, ny;
		int ties;
	} c[] = {
		{ 1, 1, 0 },	 { 1, 9, 1 },	    { 7, 1, 1 },       { 61, 71, 1 },
		{ 300, 401, 0 }, { 2001, 2499, 1 }, { 5000, 4000, 1 }, { 1500, 1700, 0 },
	};
	static const double probs[] = { 0, 0.01, 0.5, 0.9, 0.99, 1 };
	struct stats_rng rng;
	(void)state;

	stats_rng_seed(&rng, 77);
	for (size_t t = 0; t < ARRAY_SIZE(c); t++) {
		size_t nx = c[t].nx, ny = c[t].ny, hx, hy;
		_cleanup_free_ double *x = malloc(nx * sizeof(*x)),
				      *y = malloc(ny * sizeof(*y));
		_cleanup_free_ double *xv = malloc(nx * sizeof(*xv)),
				      *yv = malloc(ny * sizeof(*yv));
		_cleanup_free_ uint64_t *xc = malloc(nx * sizeof(*xc)),
					*yc = malloc(ny * sizeof(*yc));
		struct stats_mwu a, b;
		double p, q, s1, s2;

		assert_true(x && y && xv && yv && xc && yc);
		for (size_t i = 0; i < nx; i++)
			x[i] = c[t].ties ? stats_rng_below(&rng, 23) * 10.0
					 : uniform(&rng, 100);
		for (size_t i = 0; i < ny; i++)
			y[i] = c[t].ties ? stats_rng_below(&rng, 29) * 10.0
					 : uniform(&rng, 130);
		hx = to_hist(x, nx, xv, xc);
		hy = to_hist(y, ny, yv, yc);

		assert_int_equal(stats_mann_whitney(x, nx, y, ny, &a), 0);
		assert_int_equal(stats_hist_mann_whitney(xv, xc, hx, yv, yc, hy, &b), 0);
		assert_true(a.u == b.u && a.z == b.z && a.p == b.p);

		assert_int_equal(stats_hodges_lehmann(x, nx, y, ny, &s1), 0);
		assert_int_equal(stats_hist_hodges_lehmann(xv, xc, hx, yv, yc, hy, &s2),
				 0);
		assert_true(s1 == s2);

		for (size_t i = 0; i < ARRAY_SIZE(probs); i++) {
			assert_int_equal(stats_quantiles(y, ny, &probs[i], 1, &p), 0);
			assert_int_equal(stats_hist_quantile(yv, yc, hy, probs[i], &q),
					 0);
			assert_true(p == q);
		}
	}
}

static void test_hist_small(void **state)
{
	/* x = {1, 1, 2}, y = {2, 3, 3}: the nine differences y - x are 0 once, 1 four times,
	 * 2 four times; the median (5th of 9) is 1, by hand */
	static const double xv[] = { 1, 2 }, yv[] = { 2, 3 };
	static const uint64_t xc[] = { 2, 1 }, yc[] = { 1, 2 };
	static const uint64_t zero[] = { 2, 0 };
	static const double unsorted[] = { 2, 1 };
	double s = -1, v = -1;
	struct stats_mwu m;
	(void)state;

	assert_int_equal(stats_hist_hodges_lehmann(xv, xc, 2, yv, yc, 2, &s), 0);
	assert_true(s == 1.0);
	assert_int_equal(stats_hist_at_rank(xv, xc, 2, 2, &v), 0);
	assert_true(v == 2.0);
	assert_int_equal(stats_hist_at_rank(xv, xc, 2, 3, &v), -EINVAL);
	/* U of x: pairs x > y count 1, ties 1/2: only (2, 2) ties -> U = 0.5 */
	assert_int_equal(stats_hist_mann_whitney(xv, xc, 2, yv, yc, 2, &m), 0);
	assert_true(m.u == 0.5);

	s = -1;
	assert_int_equal(stats_hist_hodges_lehmann(xv, zero, 2, yv, yc, 2, &s), -EINVAL);
	assert_int_equal(stats_hist_hodges_lehmann(unsorted, xc, 2, yv, yc, 2, &s),
			 -EINVAL);
	assert_int_equal(stats_hist_quantile(xv, xc, 0, 0.5, &s), -EINVAL);
	assert_int_equal(stats_hist_quantile(xv, xc, 2, 1.5, &s), -EINVAL);
	assert_true(s == -1);
}

static void test_verdict(void **state)
{
	(void)state;
	/* head fails more often / is slower: regression */
	assert_int_equal(stats_verdict(0.001, 0.05, +0.02), STATS_REGRESSION);
	assert_int_equal(stats_verdict(0.001, 0.05, -0.02), STATS_IMPROVEMENT);
	assert_int_equal(stats_verdict(0.2, 0.05, +0.02), STATS_NO_CHANGE);
	assert_int_equal(stats_verdict(0.05, 0.05, +1.0),
			 STATS_REGRESSION); /* p <= alpha */
	assert_int_equal(stats_verdict(0.0, 0.05, 0.0), STATS_NO_CHANGE);
	assert_int_equal(stats_verdict(-0.1, 0.05, 1.0), _STATS_VERDICT_INVALID);
	assert_int_equal(stats_verdict(NAN, 0.05, 1.0), _STATS_VERDICT_INVALID);
	assert_int_equal(stats_verdict(0.01, 0.0, 1.0), _STATS_VERDICT_INVALID);
	assert_int_equal(stats_verdict(0.01, 0.05, NAN), _STATS_VERDICT_INVALID);
	assert_string_equal(stats_verdict_to_string(STATS_NO_CHANGE), "no_change");
	assert_string_equal(stats_verdict_to_string(STATS_REGRESSION), "regression");
	assert_string_equal(stats_verdict_to_string(STATS_IMPROVEMENT), "improvement");
	assert_null(stats_verdict_to_string(_STATS_VERDICT_MAX));
	assert_null(stats_verdict_to_string(_STATS_VERDICT_INVALID));
}

static void test_equivalence(void **state)
{
	/* statsmodels 0.13.5 tost_proportions_2indep(k_head, n_head, k_base, n_base,
	 * -margin, margin, method='agresti-caffo'), the larger one-sided p, ref.py */
	static const struct {
		uint64_t kb, nb, kh, nh;
		double margin, p;
	} c[] = {
		{ 0, 1000, 0, 1000, 0.01, 6.766528273343882e-13 },
		{ 3, 100, 5, 100, 0.05, 0.15713751870055453 },
		{ 50, 1000, 80, 1000, 0.02, 0.8155639402064252 },
		{ 0, 500, 2, 500, 0.01, 0.06504157662284818 },
		{ 10, 10000, 12, 10000, 0.002, 0.00011787034039220172 },
	};
	double p = -1.0;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		assert_int_equal(stats_equivalence_tost(c[i].kb, c[i].nb, c[i].kh,
							c[i].nh, c[i].margin, &p),
				 0);
		assert_close(p, c[i].p, 1e-9);
	}
	p = -1.0;
	assert_int_equal(stats_equivalence_tost(1, 0, 1, 10, 0.01, &p), -EINVAL);
	assert_int_equal(stats_equivalence_tost(1, 10, 11, 10, 0.01, &p), -EINVAL);
	assert_int_equal(stats_equivalence_tost(1, 10, 1, 10, 0.0, &p), -EINVAL);
	assert_true(p == -1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm),
		cmocka_unit_test(test_wilson),
		cmocka_unit_test(test_wilson_invalid),
		cmocka_unit_test(test_zero_events),
		cmocka_unit_test(test_fisher),
		cmocka_unit_test(test_fisher_large),
		cmocka_unit_test(test_fisher_degenerate),
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_quantiles_invalid),
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_bootstrap_deterministic),
		cmocka_unit_test(test_bootstrap_width),
		cmocka_unit_test(test_bootstrap_edge),
		cmocka_unit_test(test_mann_whitney),
		cmocka_unit_test(test_hodges_lehmann),
		cmocka_unit_test(test_hodges_lehmann_brute),
		cmocka_unit_test(test_hist_equals_plain),
		cmocka_unit_test(test_hist_small),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_equivalence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
