/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Statistics for comparing probe outcome rates and latencies between two kernels.
 *
 * Rates. A rate k/n gets the Wilson (1927) score interval, which unlike the Wald interval
 * keeps its coverage near 0 and 1 (Agresti & Coull 1998, "Approximate is better than
 * exact"). With zero events the report is the exact one-sided bound 1 - alpha^(1/n)
 * (the Clopper-Pearson bound for k = 0, the "rule of three" 3/n for alpha = 0.05), never
 * "0%". Two rates are compared with Fisher's exact test, two-sided by the probability
 * ordering of R's fisher.test (Agresti, "Categorical Data Analysis", 3rd ed., 3.5); the
 * hypergeometric probabilities use Loader's saddle-point expansion (Loader 2000, "Fast and
 * accurate computation of binomial probabilities", the algorithm of R's dhyper), accurate
 * to ~1e-14 where lgamma differences of 10^7-sized arguments would lose 7 digits.
 * "Significantly the same" is a TOST equivalence test (Schuirmann 1987) on the
 * Agresti-Caffo (2000) adjusted difference, which stays defined when both rates are 0.
 *
 * Latencies. Percentiles are type 7 of Hyndman & Fan (1996), the default of R and numpy.
 * Their confidence intervals are percentile-bootstrap intervals (Efron & Tibshirani 1993,
 * ch. 13) from a seeded xoshiro256** (Blackman & Vigna 2018), so a report is reproducible.
 * A vs B is the Mann-Whitney U test with the normal approximation, tie correction and
 * continuity correction (Hollander & Wolfe, "Nonparametric Statistical Methods", 2nd ed.,
 * 4.1), written to give SciPy's numbers, and the shift is the Hodges-Lehmann estimate
 * (Hodges & Lehmann 1963; Hollander & Wolfe 4.2), the median of all pairwise differences,
 * selected exactly without forming the pairs (Monahan 1984, ACM TOMS algorithm 616).
 * Both work on histograms (distinct values with counts), which the compare engine keeps
 * for large runs; a plain sample is turned into one first, ties merged.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "stats.h"

#define LN_SQRT_2PI 0.918938533204672741780329736406 /* log(sqrt(2 pi)) */
#define LN_2PI	    1.837877066409345483560659472811 /* log(2 pi) */

static bool valid_level(double c)
{
	return c > 0.0 && c < 1.0; /* also false for NaN */
}

static bool has_nan(const double *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isnan(x[i]))
			return true;
	return false;
}

/* ---- normal distribution ---- */

double stats_norm_cdf(double x)
{
	return 0.5 * erfc(-x * M_SQRT1_2);
}

double stats_norm_sf(double x)
{
	return 0.5 * erfc(x * M_SQRT1_2);
}

/*
 * Acklam's rational approximation (relative error 1.15e-9), then one Halley step on
 * erfc, which brings it to full double precision; the tails use erfc of the small side so
 * p = 1e-300 still works.
 */
double stats_norm_quantile(double p)
{
	static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
				    -2.759285104469687e+02, 1.383577518672690e+02,
				    -3.066479806614716e+01, 2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
				    -1.556989798598866e+02, 6.680131188771972e+01,
				    -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
				    -2.400758277161838e+00, -2.549732539343734e+00,
				    4.374664141464968e+00,  2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
				    2.445134137142996e+00, 3.754408661907416e+00 };
	const double p_low = 0.02425;
	double q, r, x, e, u;

	if (isnan(p) || p < 0.0 || p > 1.0)
		return NAN;
	if (p == 0.0)
		return -INFINITY;
	if (p == 1.0)
		return INFINITY;

	if (p < p_low) {
		q = sqrt(-2.0 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q +
		     c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
	} else if (p <= 1.0 - p_low) {
		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r +
		     a[5]) *
		    q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
	} else {
		q = sqrt(-2.0 * log1p(-p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q +
		      c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
	}

	/* Halley step; in the upper half work on 1 - p so the residual has no cancellation. */
	if (p <= 0.5)
		e = stats_norm_cdf(x) - p;
	else
		e = (1.0 - p) - stats_norm_sf(x);
	u = e * sqrt(2.0 * M_PI) * exp(0.5 * x * x);
	if (!isfinite(u))
		return x; /* |x| > 37.5, where exp() overflows: keep Acklam's 1e-9 */
	return x - u / (1.0 + 0.5 * x * u);
}

/* ---- rates ---- */

int stats_wilson(uint64_t k, uint64_t n, double confidence, struct stats_interval *ret)
{
	double z, z2, p, denom, center, half, lo, hi;

	if (n == 0 || k > n || !valid_level(confidence))
		return -EINVAL;
	if (n > STATS_COUNT_MAX)
		return -ERANGE;

	z = stats_norm_quantile(1.0 - 0.5 * (1.0 - confidence));
	z2 = z * z;
	p = (double)k / (double)n;
	denom = 1.0 + z2 / (double)n;
	center = (p + z2 / (2.0 * (double)n)) / denom;
	half = z / denom *
	       sqrt(p * (1.0 - p) / (double)n + z2 / (4.0 * (double)n * (double)n));

	/* At k = 0 and k = n the bound is 0 resp. 1 algebraically; say so exactly. */
	lo = k == 0 ? 0.0 : fmax(0.0, center - half);
	hi = k == n ? 1.0 : fmin(1.0, center + half);

	ret->lo = lo;
	ret->hi = hi;
	return 0;
}

int stats_zero_events_upper(uint64_t n, double confidence, double *ret_upper)
{
	if (n == 0 || !valid_level(confidence))
		return -EINVAL;
	/* 1 - alpha^(1/n) via expm1: for n = 10^7 the plain form would lose 7 digits. */
	*ret_upper = -expm1(log1p(-confidence) / (double)n);
	return 0;
}

int stats_all_events_lower(uint64_t n, double confidence, double *ret_lower)
{
	if (n == 0 || !valid_level(confidence))
		return -EINVAL;
	*ret_lower = exp(log1p(-confidence) / (double)n);
	return 0;
}

/*
 * Loader's stirlerr(n) = log(n!) - log(sqrt(2 pi n) (n/e)^n). For n <= 15 the lgamma
 * form is accurate to ~1e-15 absolute (its arguments are small); above, the Stirling
 * series converges fast.
 */
static double stirlerr(double n)
{
	const double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680,
		     s4 = 1.0 / 1188;
	double nn;

	if (n <= 15.0) {
		if (n == 0.0)
			return 0.0;
		return lgamma(n + 1.0) - (n + 0.5) * log(n) + n - LN_SQRT_2PI;
	}
	nn = n * n;
	if (n > 500)
		return (s0 - s1 / nn) / n;
	if (n > 80)
		return (s0 - (s1 - s2 / nn) / nn) / n;
	if (n > 35)
		return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
	return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/* Loader's bd0(x, np) = x log(x / np) + np - x, without cancellation when x ~ np. */
static double bd0(double x, double np)
{
	if (fabs(x - np) < 0.1 * (x + np)) {
		double v = (x - np) / (x + np), s = (x - np) * v, ej, s1;

		if (fabs(s) < DBL_MIN)
			return s;
		ej = 2 * x * v;
		v = v * v;
		for (int j = 1; j < 1000; j++) {
			ej *= v;
			s1 = s + ej / (2 * j + 1);
			if (s1 == s)
				return s1;
			s = s1;
		}
	}
	return x * log(x / np) + np - x;
}

/* log of the binomial pmf of x in n at p (q = 1 - p given separately), after Loader. */
static double log_dbinom_raw(double x, double n, double p, double q)
{
	double lc, lf;

	if (p == 0.0)
		return x == 0.0 ? 0.0 : -INFINITY;
	if (q == 0.0)
		return x == n ? 0.0 : -INFINITY;
	if (x == 0.0) {
		if (n == 0.0)
			return 0.0;
		return p < 0.1 ? -bd0(n, n * q) - n * p : n * log(q);
	}
	if (x == n)
		return q < 0.1 ? -bd0(n, n * p) - n * q : n * log(p);
	if (x < 0.0 || x > n)
		return -INFINITY;
	lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) -
	     bd0(n - x, n * q);
	lf = LN_2PI + log(x) + log1p(-x / n);
	return lc - 0.5 * lf;
}

/* Hypergeometric table: margins and the support of x = k1. */
struct hyper {
	double r; /* column total of events, k1 + k2 */
	double b; /* column total of non-events */
	double n; /* first row total, n1 */
	double p, q;
	uint64_t lo, hi, mode;
};

/* log P(X = x) for X ~ Hypergeometric(r events, b non-events, n drawn), as R's dhyper. */
static double log_dhyper(const struct hyper *h, double x)
{
	return log_dbinom_raw(x, h->r, h->p, h->q) +
	       log_dbinom_raw(h->n - x, h->b, h->p, h->q) -
	       log_dbinom_raw(h->n, h->r + h->b, h->p, h->q);
}

/* P(x+1)/P(x) = (r - x)(n - x) / ((x + 1)(b - n + x + 1)) */
static double ratio_up(const struct hyper *h, double x)
{
	return (h->r - x) * (h->n - x) / ((x + 1.0) * (h->b - h->n + x + 1.0));
}

/*
 * Sum of P(x)/P(obs) from x = start outward (step -1 or +1) to the end of the support,
 * using the exact ratio of neighbouring probabilities. The terms fall monotonically
 * (log-concavity), and since the caller's sum is >= 1 (it includes the observed table),
 * stopping below 1e-20 leaves an error far under a double's precision: the remainder
 * is at most term / (1 - ratio), and 1 - ratio grows like distance / variance.
 */
static double tail_sum(const struct hyper *h, uint64_t start, int step, double first)
{
	double s = first, sum = 0.0, x = (double)start;
	double c = h->b - h->n; /* x-independent part of the non-event/non-drawn cell */

	for (;;) {
		sum += s;
		if (s < 1e-20)
			break;
		if (step < 0) {
			if (x <= (double)h->lo)
				break;
			/* P(x-1)/P(x) = x (b - n + x) / ((r - x + 1)(n - x + 1)) */
			s *= x * (c + x) / ((h->r - x + 1.0) * (h->n - x + 1.0));
			x -= 1.0;
		} else {
			if (x >= (double)h->hi)
				break;
			s *= ratio_up(h, x);
			x += 1.0;
		}
	}
	return sum;
}

/*
 * Complexity: O(log n) evaluations of log_dhyper to find where the probabilities cross
 * the observed one (the pmf is unimodal), then one multiplication per table summed, and
 * the tails are cut once terms fall below 1e-20 of P(obs). The summed stretch is at most
 * ~10 standard deviations of the hypergeometric per side, so 5/10^7 vs 40/10^7 costs tens
 * of steps and even 4*10^6 events in 2*10^7 trials a few tens of thousands.
 */
int stats_fisher_exact(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2, double *ret_p)
{
	struct hyper h;
	double lobs, thr, sum = 0.0, p;
	uint64_t r, total, a, bb, lo_i, hi_i;

	if (n1 == 0 || n2 == 0 || k1 > n1 || k2 > n2)
		return -EINVAL;
	if (n1 > STATS_COUNT_MAX || n2 > STATS_COUNT_MAX - n1)
		return -ERANGE;

	total = n1 + n2;
	r = k1 + k2;
	h = (struct hyper){
		.r = (double)r,
		.b = (double)(total - r),
		.n = (double)n1,
		.p = (double)n1 / (double)total,
		.q = (double)n2 / (double)total,
		.lo = r > n2 ? r - n2 : 0,
		.hi = r < n1 ? r : n1,
	};
	/* With one point of support (no events, or no non-events) every table is observed. */
	if (h.lo == h.hi) {
		*ret_p = 1.0;
		return 0;
	}
	/*
	 * floor((n1 + 1)(r + 1) / (N + 2)) in double may be one off once the product passes
	 * 2^53; settle on the exact mode with the neighbour ratios, which are exact enough.
	 */
	h.mode = (uint64_t)floor(((double)n1 + 1.0) * ((double)r + 1.0) /
				 ((double)total + 2.0));
	if (h.mode < h.lo)
		h.mode = h.lo;
	if (h.mode > h.hi)
		h.mode = h.hi;
	while (h.mode < h.hi && ratio_up(&h, (double)h.mode) > 1.0)
		h.mode++;
	while (h.mode > h.lo && ratio_up(&h, (double)h.mode - 1.0) < 1.0)
		h.mode--;

	lobs = log_dhyper(&h, (double)k1);
	thr = lobs + log1p(STATS_FISHER_REL_TOL);
	if (log_dhyper(&h, (double)h.mode) <= thr) {
		*ret_p = 1.0;
		return 0;
	}

	/* a = first x in [lo, mode] above the threshold; P rises on that stretch. */
	lo_i = h.lo;
	hi_i = h.mode;
	while (lo_i < hi_i) {
		uint64_t mid = lo_i + (hi_i - lo_i) / 2;

		if (log_dhyper(&h, (double)mid) > thr)
			hi_i = mid;
		else
			lo_i = mid + 1;
	}
	a = lo_i;
	/* bb = last x in [mode, hi] above the threshold; P falls on that stretch. */
	lo_i = h.mode;
	hi_i = h.hi;
	while (lo_i < hi_i) {
		uint64_t mid = lo_i + (hi_i - lo_i + 1) / 2;

		if (log_dhyper(&h, (double)mid) > thr)
			lo_i = mid;
		else
			hi_i = mid - 1;
	}
	bb = lo_i;

	/* Everything outside [a, bb] is at most as probable as the observed table. */
	if (a > h.lo)
		sum += tail_sum(&h, a - 1, -1,
				exp(log_dhyper(&h, (double)(a - 1)) - lobs));
	if (bb < h.hi)
		sum += tail_sum(&h, bb + 1, +1,
				exp(log_dhyper(&h, (double)(bb + 1)) - lobs));

	p = exp(lobs + log(sum));
	*ret_p = fmin(p, 1.0);
	return 0;
}

/*
 * Agresti-Caffo: one event and one non-event added to each arm before the Wald formula,
 * which keeps the standard error positive at 0/n and gives near-nominal coverage even for
 * small n. Returns the adjusted head - base difference.
 */
static double adjusted_diff(uint64_t k_base, uint64_t n_base, uint64_t k_head,
			    uint64_t n_head, double *ret_se)
{
	double pb = ((double)k_base + 1.0) / ((double)n_base + 2.0);
	double ph = ((double)k_head + 1.0) / ((double)n_head + 2.0);

	*ret_se = sqrt(pb * (1.0 - pb) / ((double)n_base + 2.0) +
		       ph * (1.0 - ph) / ((double)n_head + 2.0));
	return ph - pb;
}

int stats_equivalence_tost(uint64_t k_base, uint64_t n_base, uint64_t k_head,
			   uint64_t n_head, double margin, double *ret_p)
{
	double d, se, p_lower, p_upper;

	if (n_base == 0 || n_head == 0 || k_base > n_base || k_head > n_head ||
	    !valid_level(margin))
		return -EINVAL;
	if (n_base > STATS_COUNT_MAX || n_head > STATS_COUNT_MAX)
		return -ERANGE;

	d = adjusted_diff(k_base, n_base, k_head, n_head, &se);
	/* H0a: d <= -margin, rejected for large z; H0b: d >= margin, rejected for small z. */
	p_lower = stats_norm_sf((d + margin) / se);
	p_upper = stats_norm_cdf((d - margin) / se);
	*ret_p = fmax(p_lower, p_upper);
	return 0;
}

/* ---- random numbers ---- */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void stats_rng_seed(struct stats_rng *rng, uint64_t seed)
{
	/* splitmix64 never yields four zero words, the one state xoshiro cannot leave. */
	for (size_t i = 0; i < ARRAY_SIZE(rng->s); i++)
		rng->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t stats_rng_next(struct stats_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/*
 * Bounds below 2^32 (every resample index) use Lemire's multiply-shift on the top 32 bits,
 * which avoids a division per draw; rejecting the short first bucket removes the bias.
 * Larger bounds reject the lowest 2^64 mod bound values and take the modulo. Both stay
 * in 64-bit arithmetic, so the guest daemon also builds for 32-bit targets without
 * __int128.
 */
uint64_t stats_rng_below(struct stats_rng *rng, uint64_t bound)
{
	if (bound <= UINT32_MAX) {
		uint32_t b32 = (uint32_t)bound;
		uint64_t m = (stats_rng_next(rng) >> 32) * b32;

		if ((uint32_t)m < b32) {
			uint32_t threshold = -b32 % b32;

			while ((uint32_t)m < threshold)
				m = (stats_rng_next(rng) >> 32) * b32;
		}
		return m >> 32;
	} else {
		uint64_t threshold = -bound % bound, v;

		do
			v = stats_rng_next(rng);
		while (v < threshold);
		return v % bound;
	}
}

/* ---- quantiles ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Interpolate from the nearer end, as numpy does, so the result stays within [a, b]. */
static double lerp(double a, double b, double g)
{
	if (g < 0.5)
		return a + (b - a) * g;
	return b - (b - a) * (1.0 - g);
}

/* Type 7 on sorted data; callers have validated n > 0 and prob in [0, 1]. */
static double quantile7(const double *s, size_t n, double prob)
{
	double h = (double)(n - 1) * prob;
	size_t j = (size_t)floor(h);
	double g = h - (double)j;

	if (j + 1 >= n || g == 0.0)
		return s[j];
	return lerp(s[j], s[j + 1], g);
}

static bool valid_probs(const double *probs, size_t n_probs)
{
	if (n_probs == 0)
		return false;
	for (size_t i = 0; i < n_probs; i++)
		if (!(probs[i] >= 0.0 && probs[i] <= 1.0))
			return false;
	return true;
}

int stats_quantile_sorted(const double *sorted, size_t n, double prob, double *ret_q)
{
	if (n == 0 || !(prob >= 0.0 && prob <= 1.0))
		return -EINVAL;
	*ret_q = quantile7(sorted, n, prob);
	return 0;
}

static int sorted_copy(const double *x, size_t n, double **ret)
{
	double *s;

	if (has_nan(x, n))
		return -EINVAL;
	s = malloc(n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s, x, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	*ret = s;
	return 0;
}

int stats_quantiles(const double *x, size_t n, const double *probs, size_t n_probs,
		    double *ret_q)
{
	_cleanup_free_ double *s = NULL;
	int r;

	if (n == 0 || !valid_probs(probs, n_probs))
		return -EINVAL;
	r = sorted_copy(x, n, &s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_probs; i++)
		ret_q[i] = quantile7(s, n, probs[i]);
	return 0;
}

/*
 * One resample of m indices into [0, n), returned ascending in idx. Bucket sort with m
 * buckets: the indices are uniform, so a bucket holds O(1) of them and the whole sort is
 * O(m) expected; for m == n each bucket is one index and this is a counting sort.
 */
static void resample_sorted(struct stats_rng *rng, size_t n, size_t m, uint32_t *draw,
			    uint32_t *idx, uint32_t *start)
{
	memset(start, 0, (m + 1) * sizeof(*start));
	for (size_t i = 0; i < m; i++) {
		draw[i] = (uint32_t)stats_rng_below(rng, n);
		start[(uint64_t)draw[i] * m / n + 1]++;
	}
	for (size_t k = 1; k <= m; k++)
		start[k] += start[k - 1];
	for (size_t i = 0; i < m; i++)
		idx[start[(uint64_t)draw[i] * m / n]++] = draw[i];
	/* start[k] now points at the end of bucket k; insertion-sort the whole array, cheap
	 * because every element is already within its own small bucket. */
	for (size_t i = 1; i < m; i++) {
		uint32_t v = idx[i];
		size_t j = i;

		while (j > 0 && idx[j - 1] > v) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = v;
	}
}

/*
 * Percentile bootstrap. The data are sorted once, so a resample is a multiset of indices
 * and its order statistics are the sorted indices mapped through the sorted data: each
 * resample costs O(m) instead of O(m log m), and all probs share it.
 *
 * For n > STATS_BOOTSTRAP_MAX_N the resamples have m = STATS_BOOTSTRAP_MAX_N values (the
 * m-out-of-n bootstrap, Bickel, Goetze & van Zwet 1997), and each replicate is shrunk
 * towards the full-sample estimate by sqrt(m/n), since a sample quantile's spread scales
 * as 1/sqrt(sample size). This bounds the cost at B * m (2*10^8 draws, about a second,
 * at the defaults) for any n. The interval is asymptotically that of the full bootstrap;
 * for smooth data at m = 10^5 its width stayed within the Monte-Carlo noise of the
 * asymptotic one (test-stats.c), but extreme quantiles (p near 0 or 1 such that
 * m * min(p, 1 - p) is small) of heavy-tailed data are approximated less well.
 */
int stats_bootstrap_quantiles(const double *x, size_t n, const double *probs,
			      size_t n_probs, unsigned b, uint64_t seed,
			      double confidence, struct stats_interval *ret_ci)
{
	_cleanup_free_ double *s = NULL, *est = NULL, *rep = NULL, *col = NULL;
	_cleanup_free_ uint32_t *draw = NULL, *idx = NULL, *start = NULL;
	struct stats_rng rng;
	size_t m;
	double shrink, alpha;
	int r;

	if (n == 0 || !valid_probs(probs, n_probs) || !valid_level(confidence))
		return -EINVAL;
	if (n > UINT32_MAX)
		return -ERANGE;
	if (b == 0)
		b = STATS_BOOTSTRAP_DEFAULT_B;
	if (n_probs > SIZE_MAX / sizeof(double) / b)
		return -ENOMEM;
	r = sorted_copy(x, n, &s);
	if (r < 0)
		return r;

	m = n > STATS_BOOTSTRAP_MAX_N ? STATS_BOOTSTRAP_MAX_N : n;
	shrink = sqrt((double)m / (double)n);
	est = malloc(n_probs * sizeof(*est));
	rep = malloc((size_t)b * n_probs * sizeof(*rep));
	col = malloc((size_t)b * sizeof(*col));
	draw = malloc(m * sizeof(*draw));
	idx = malloc(m * sizeof(*idx));
	start = malloc((m + 1) * sizeof(*start));
	if (!est || !rep || !col || !draw || !idx || !start)
		return -ENOMEM;

	for (size_t j = 0; j < n_probs; j++)
		est[j] = quantile7(s, n, probs[j]);

	stats_rng_seed(&rng, seed);
	for (unsigned i = 0; i < b; i++) {
		resample_sorted(&rng, n, m, draw, idx, start);
		for (size_t j = 0; j < n_probs; j++) {
			double h = (double)(m - 1) * probs[j];
			size_t lo = (size_t)floor(h);
			double g = h - (double)lo, v;

			if (lo + 1 >= m || g == 0.0)
				v = s[idx[lo]];
			else
				v = lerp(s[idx[lo]], s[idx[lo + 1]], g);
			if (m < n)
				v = est[j] + shrink * (v - est[j]);
			rep[(size_t)i * n_probs + j] = v;
		}
	}

	alpha = 1.0 - confidence;
	for (size_t j = 0; j < n_probs; j++) {
		for (unsigned i = 0; i < b; i++)
			col[i] = rep[(size_t)i * n_probs + j];
		qsort(col, b, sizeof(*col), cmp_double);
		ret_ci[j].lo = quantile7(col, b, 0.5 * alpha);
		ret_ci[j].hi = quantile7(col, b, 1.0 - 0.5 * alpha);
	}
	return 0;
}

/* ---- rank tests ---- */

/* x as a histogram: its distinct values ascending, each with its count (malloc'd). */
static int to_hist(const double *x, size_t n, double **ret_v, uint64_t **ret_c,
		   size_t *ret_len)
{
	_cleanup_free_ double *v = NULL;
	_cleanup_free_ uint64_t *c = NULL;
	size_t len = 0;
	int r;

	r = sorted_copy(x, n, &v);
	if (r < 0)
		return r;
	c = malloc(n * sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (len > 0 && v[len - 1] == v[i]) {
			c[len - 1]++;
			continue;
		}
		v[len] = v[i];
		c[len++] = 1;
	}
	*ret_v = TAKE_PTR(v);
	*ret_c = TAKE_PTR(c);
	*ret_len = len;
	return 0;
}

/* U, z and p from twice the rank sum of x and the tie term sum(t^3 - t) over tie groups. */
static void mwu_finish(double n1, double n2, double twice_rx, double tie,
		       struct stats_mwu *ret)
{
	double n = n1 + n2, u1, u, mu, sd, z, p;

	u1 = twice_rx / 2.0 - n1 * (n1 + 1.0) / 2.0;
	mu = n1 * n2 / 2.0;
	u = fmax(u1, n1 * n2 - u1);
	sd = sqrt(n1 * n2 / 12.0 * ((n + 1.0) - tie / (n * (n - 1.0))));
	if (!(sd > 0.0)) {
		/* every value tied (sd is 0, or NaN by rounding): no evidence either way */
		z = 0.0;
		p = 1.0;
	} else {
		z = (u - mu - 0.5) / sd;
		p = fmin(1.0, 2.0 * stats_norm_sf(z));
	}
	ret->u = u1;
	ret->z = z;
	ret->p = p;
}

/* A rank statistic of plain samples: both made histograms, then the histogram version
 * (ret: struct stats_mwu for Mann-Whitney, double for Hodges-Lehmann). */
static int rank_stat(bool hodges_lehmann, const double *x, size_t nx, const double *y,
		     size_t ny, void *ret)
{
	_cleanup_free_ double *xv = NULL, *yv = NULL;
	_cleanup_free_ uint64_t *xc = NULL, *yc = NULL;
	size_t hx, hy;
	int r;

	r = to_hist(x, nx, &xv, &xc, &hx);
	if (r >= 0)
		r = to_hist(y, ny, &yv, &yc, &hy);
	if (r < 0)
		return r;
	return hodges_lehmann ? stats_hist_hodges_lehmann(xv, xc, hx, yv, yc, hy, ret)
			      : stats_hist_mann_whitney(xv, xc, hx, yv, yc, hy, ret);
}

int stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny,
		       struct stats_mwu *ret)
{
	if (nx == 0 || ny == 0)
		return -EINVAL;
	if (nx + ny > UINT32_MAX)
		return -ERANGE;
	return rank_stat(false, x, nx, y, ny, ret);
}

int stats_hodges_lehmann(const double *x, size_t nx, const double *y, size_t ny,
			 double *ret_shift)
{
	if (nx == 0 || ny == 0)
		return -EINVAL;
	if (nx > UINT32_MAX || ny > UINT32_MAX)
		return -ERANGE;
	return rank_stat(true, x, nx, y, ny, ret_shift);
}

/* ---- histogram samples ---- */

static int hist_check(const double *v, const uint64_t *c, size_t len, uint64_t *ret_total)
{
	uint64_t t = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (c[i] == 0 || isnan(v[i]) || (i > 0 && !(v[i - 1] < v[i])))
			return -EINVAL;
		if (c[i] > STATS_COUNT_MAX - t)
			return -ERANGE;
		t += c[i];
	}
	*ret_total = t;
	return 0;
}

/* Value of 0-based rank r (r < total, checked by the caller). */
static double hist_at(const double *v, const uint64_t *c, size_t len, uint64_t r)
{
	for (size_t i = 0; i < len; i++) {
		if (r < c[i])
			return v[i];
		r -= c[i];
	}
	return v[len - 1];
}

int stats_hist_at_rank(const double *v, const uint64_t *c, size_t len, uint64_t r,
		       double *ret)
{
	uint64_t total;
	int k = hist_check(v, c, len, &total);

	if (k < 0)
		return k;
	if (r >= total)
		return -EINVAL;
	*ret = hist_at(v, c, len, r);
	return 0;
}

int stats_hist_quantile(const double *v, const uint64_t *c, size_t len, double prob,
			double *ret_q)
{
	uint64_t total, j;
	double h, g, a;
	int k;

	k = hist_check(v, c, len, &total);
	if (k < 0)
		return k;
	if (!(prob >= 0.0 && prob <= 1.0))
		return -EINVAL;
	/* as quantile7() on the expanded sample */
	h = (double)(total - 1) * prob;
	j = (uint64_t)floor(h);
	g = h - (double)j;
	a = hist_at(v, c, len, j);
	*ret_q = (j + 1 >= total || g == 0.0) ? a : lerp(a, hist_at(v, c, len, j + 1), g);
	return 0;
}

int stats_hist_mann_whitney(const double *xv, const uint64_t *xc, size_t nx,
			    const double *yv, const uint64_t *yc, size_t ny,
			    struct stats_mwu *ret)
{
	unsigned __int128 twice_rx =
		0; /* as in stats_mann_whitney, without its size limit */
	uint64_t tx, ty, pos = 0;
	double tie = 0.0;
	size_t i = 0, j = 0;
	int k;

	k = hist_check(xv, xc, nx, &tx);
	if (k >= 0)
		k = hist_check(yv, yc, ny, &ty);
	if (k < 0)
		return k;
	if (tx > STATS_COUNT_MAX - ty)
		return -ERANGE;
	/* one merge of the two ascending value lists; a value in both is one tie group */
	while (i < nx || j < ny) {
		double v = (j >= ny || (i < nx && xv[i] <= yv[j])) ? xv[i] : yv[j];
		uint64_t a = 0, b = 0;
		double t;

		if (i < nx && xv[i] == v)
			a = xc[i++];
		if (j < ny && yv[j] == v)
			b = yc[j++];
		/* ranks pos+1 .. pos+a+b share their mean (2 pos + a + b + 1) / 2 */
		twice_rx += (unsigned __int128)a * (2 * pos + a + b + 1);
		t = (double)(a + b);
		tie += t * t * t - t;
		pos += a + b;
	}
	mwu_finish((double)tx, (double)ty, (double)twice_rx, tie, ret);
	return 0;
}

/* One candidate cell of the difference matrix, gathered for the final selection. */
struct hist_cell {
	double d;
	uint64_t w;
};

static int cmp_cell(const void *a, const void *b)
{
	return cmp_double(&((const struct hist_cell *)a)->d,
			  &((const struct hist_cell *)b)->d);
}

/*
 * The k-th smallest (0-based) of the differences yv[j] - xv[i], cell (i, j) standing for
 * xc[i] * yc[j] pairs; xv and yv ascending, cy the prefix sums of yc. Row i of the
 * difference matrix ascends in j and column j descends in i, so the pairs below any value
 * form a staircase counted in O(nx + ny) through cy. Each round picks a random remaining
 * cell as pivot, counts, and keeps per row only the cells on the side of the pivot where
 * the k-th lies (Monahan 1984): O(log(nx ny)) rounds expected. When at most
 * max(nx + ny, 4096) cells remain they are gathered, sorted and walked by weight.
 */
static int hist_hl_select(const double *xv, const uint64_t *xc, size_t nx,
			  const double *yv, const uint64_t *cy, size_t ny, uint64_t k,
			  struct stats_rng *rng, double *ret)
{
	_cleanup_free_ size_t *lo = NULL, *hi = NULL, *lt = NULL, *le = NULL;
	_cleanup_free_ struct hist_cell *buf = NULL;
	size_t gather = nx + ny > 4096 ? nx + ny : 4096;

	lo = calloc(nx, sizeof(*lo));
	hi = malloc(nx * sizeof(*hi));
	lt = malloc(nx * sizeof(*lt));
	le = malloc(nx * sizeof(*le));
	if (!lo || !hi || !lt || !le)
		return -ENOMEM;
	for (size_t i = 0; i < nx; i++)
		hi[i] = ny;

	for (;;) {
		uint64_t cand = 0, below = 0, n_lt = 0, n_le = 0, pick;
		size_t row, pl, pe;
		double pivot;

		for (size_t i = 0; i < nx; i++) {
			cand += hi[i] - lo[i];
			below += xc[i] * cy[lo[i]];
		}
		if (cand <= gather) {
			size_t c = 0;
			uint64_t rank = below;

			buf = malloc((cand ? cand : 1) * sizeof(*buf));
			if (!buf)
				return -ENOMEM;
			for (size_t i = 0; i < nx; i++)
				for (size_t j = lo[i]; j < hi[i]; j++)
					buf[c++] = (struct hist_cell){
						yv[j] - xv[i], xc[i] * (cy[j + 1] - cy[j])
					};
			qsort(buf, c, sizeof(*buf), cmp_cell);
			for (size_t i = 0; i < c; i++) {
				if (k < rank + buf[i].w) {
					*ret = buf[i].d;
					return 0;
				}
				rank += buf[i].w;
			}
			return -EINVAL; /* k beyond the total: not reached for valid k */
		}

		pick = stats_rng_below(rng, cand);
		for (row = 0; pick >= hi[row] - lo[row]; row++)
			pick -= hi[row] - lo[row];
		pivot = yv[lo[row] + pick] - xv[row];

		pl = ny;
		pe = ny;
		for (size_t i = nx; i-- > 0;) {
			while (pl > 0 && !(yv[pl - 1] - xv[i] < pivot))
				pl--;
			while (pe > 0 && !(yv[pe - 1] - xv[i] <= pivot))
				pe--;
			lt[i] = pl;
			le[i] = pe;
			n_lt += xc[i] * cy[pl];
			n_le += xc[i] * cy[pe];
		}

		if (k < n_lt) {
			for (size_t i = 0; i < nx; i++)
				if (lt[i] < hi[i])
					hi[i] = lt[i];
		} else if (k >= n_le) {
			for (size_t i = 0; i < nx; i++)
				if (le[i] > lo[i])
					lo[i] = le[i];
		} else {
			*ret = pivot;
			return 0;
		}
	}
}

int stats_hist_hodges_lehmann(const double *xv, const uint64_t *xc, size_t nx,
			      const double *yv, const uint64_t *yc, size_t ny,
			      double *ret_shift)
{
	_cleanup_free_ uint64_t *cy = NULL;
	struct stats_rng rng;
	uint64_t tx, ty, total, k;
	double a, b;
	int r;

	r = hist_check(xv, xc, nx, &tx);
	if (r >= 0)
		r = hist_check(yv, yc, ny, &ty);
	if (r < 0)
		return r;
	if (ty > STATS_COUNT_MAX / tx)
		return -ERANGE;
	cy = malloc((ny + 1) * sizeof(*cy));
	if (!cy)
		return -ENOMEM;
	cy[0] = 0;
	for (size_t j = 0; j < ny; j++)
		cy[j + 1] = cy[j] + yc[j];

	stats_rng_seed(&rng, UINT64_C(0x484c));
	total = tx * ty;
	k = (total - 1) / 2;
	r = hist_hl_select(xv, xc, nx, yv, cy, ny, k, &rng, &a);
	if (r < 0)
		return r;
	if (total % 2 == 0) {
		r = hist_hl_select(xv, xc, nx, yv, cy, ny, k + 1, &rng, &b);
		if (r < 0)
			return r;
		a = a + (b - a) / 2.0;
	}
	*ret_shift = a;
	return 0;
}

/* ---- verdicts ---- */

enum stats_verdict stats_verdict(double p, double alpha, double effect)
{
	if (!(p >= 0.0 && p <= 1.0) || !valid_level(alpha) || isnan(effect))
		return _STATS_VERDICT_INVALID;
	if (p > alpha || effect == 0.0)
		return STATS_NO_CHANGE;
	return effect > 0.0 ? STATS_REGRESSION : STATS_IMPROVEMENT;
}

static const char *const verdict_names[_STATS_VERDICT_MAX] = {
	[STATS_NO_CHANGE] = "no_change",
	[STATS_REGRESSION] = "regression",
	[STATS_IMPROVEMENT] = "improvement",
};

const char *stats_verdict_to_string(enum stats_verdict v)
{
	if (v < 0 || v >= _STATS_VERDICT_MAX)
		return NULL;
	return verdict_names[v];
}
