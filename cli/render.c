/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How the CLI prints what analysis/ computes: a comparison as text, markdown or JUnit XML,
 * one side alone and the report built on it, a decision, a run's summary and the lists of
 * runs and kernels. The numbers come from compare.h, decide.h and report.h (and their JSON
 * forms, so a remote daemon's answer prints the same); nothing here computes a statistic.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "compare.h"
#include "decide.h"
#include "macro.h"
#include "model.h"
#include "render.h"
#include "report.h"
#include "stats.h"
#include "util.h"

/* --- compare --- */

static void fmt_rate(char *buf, size_t size, uint64_t k, uint64_t n,
		     struct stats_interval ci)
{
	if (n == 0)
		snprintf(buf, size, "-");
	else if (k == 0)
		/* Never "0%": the honest statement is an upper bound. */
		snprintf(buf, size, "0/%llu (<%.2g%%)", (unsigned long long)n,
			 100 * ci.hi);
	else
		snprintf(buf, size, "%llu/%llu %.1f%% [%.1f, %.1f]",
			 (unsigned long long)k, (unsigned long long)n,
			 100.0 * (double)k / (double)n, 100 * ci.lo, 100 * ci.hi);
}

static void fmt_p(char *buf, size_t size, double p)
{
	if (isnan(p))
		snprintf(buf, size, "-");
	else if (p < DBL_MIN)
		/* below what a double holds: Fisher's sum underflowed, not "exactly 0" */
		snprintf(buf, size, "<%.0e", DBL_MIN);
	else if (p < 1e-3)
		/* two significant digits where %.4f would keep one or none */
		snprintf(buf, size, "%.1e", p);
	else
		snprintf(buf, size, "%.4f", p);
}

static void fmt_ms(char *buf, size_t size, double ns)
{
	snprintf(buf, size, "%.3g", ns / 1e6);
}

static void window_describe(const struct compare_window *w, char *buf, size_t size)
{
	switch (w->kind) {
	case COMPARE_WINDOW_FOUND:
		snprintf(buf, size, "%.3f..%.3f ms (%zu offset%s)%s",
			 (double)w->first_us / 1000.0, (double)w->last_us / 1000.0,
			 w->n_above, w->n_above == 1 ? "" : "s",
			 w->n_offsets > 0 && w->n_failing == w->n_offsets
				 ? ", failures at every offset"
				 : "");
		break;
	case COMPARE_WINDOW_NO_CYCLES: snprintf(buf, size, "no cycles"); break;
	case COMPARE_WINDOW_NO_FAILURES:
		snprintf(buf, size, "no failures at any offset");
		break;
	case COMPARE_WINDOW_EVERY_OFFSET:
		snprintf(buf, size, "fails at every offset (no offset dependence)");
		break;
	case COMPARE_WINDOW_NO_DEPENDENCE:
		snprintf(buf, size,
			 "no offset dependence (failures at %zu of %zu offsets)",
			 w->n_failing, w->n_offsets);
		break;
	default: snprintf(buf, size, "none");
	}
}

/* The verdict of a latency metric as the reports print it. */
static const char *latency_verdict_text(const struct compare_latency *l)
{
	if (!l->conditional)
		return stats_verdict_to_string(l->verdict);
	return l->shift_verdict == STATS_IMPROVEMENT
		       ? "conditional (head faster among the cycles that bound correctly, but the failure rates differ: not an improvement)"
		       : "conditional (head slower among the cycles that bound correctly, but the failure rates differ: not a regression)";
}

static bool result_binned(const struct compare_result *r)
{
	for (size_t i = 0; i < r->n_groups; i++)
		for (int m = 0; m < 2; m++)
			if (r->groups[i].latency[m].binned)
				return true;
	return false;
}

/* The line that says the latencies are those of histograms, when they are. */
static void print_binned_note(FILE *f, const struct compare_result *r, bool markdown)
{
	if (result_binned(r))
		fprintf(f,
			"%slatency from histograms (more than %u values on a side): values of 1 us and more to 3 significant digits, bins at most 1%% wide\n",
			markdown ? "- " : "", COMPARE_BOOTSTRAP_MAX_N);
}

void render_compare(FILE *f, const struct compare_result *r, bool markdown)
{
	const char *sep = markdown ? " | " : "  ";

	fprintf(f, "%sbase: %s (%s, %zu run%s)\n", markdown ? "- " : "", r->base.selector,
		r->base.description ? r->base.description : "?", r->base.n_runs,
		r->base.n_runs == 1 ? "" : "s");
	fprintf(f, "%shead: %s (%s, %zu run%s)\n", markdown ? "- " : "", r->head.selector,
		r->head.description ? r->head.description : "?", r->head.n_runs,
		r->head.n_runs == 1 ? "" : "s");
	fprintf(f,
		"%soutcome rates: Wilson 95%% CI, Fisher exact two-sided, alpha %g; latency: bootstrap 95%% CI, Mann-Whitney U, Hodges-Lehmann shift, alpha %g\n",
		markdown ? "- " : "", r->alpha_outcome, r->alpha_latency);
	fprintf(f,
		"%slatency of the cycles that bound correctly (ok, deferred_ok) only; a shift between sides whose failure rates differ is conditional\n",
		markdown ? "- " : "");
	print_binned_note(f, r, markdown);
	fputc('\n', f);

	for (size_t i = 0; i < r->n_groups; i++) {
		struct compare_group *g = &r->groups[i];
		struct compare_rate sorted[_OUTCOME_MAX + 1];

		compare_group_sorted_rates(g, sorted);
		if (markdown)
			fprintf(f,
				"#### %s / consumer `%s`\n\n| outcome | base | head | p | verdict |\n"
				"|---|---|---|---|---|\n",
				g->scenario, g->device);
		else
			fprintf(f,
				"scenario %s, consumer %s\n  %-18s%s%-30s%s%-30s%s%-9s%sverdict\n",
				g->scenario, g->device, "outcome", sep, "base", sep,
				"head", sep, "p", sep);
		for (size_t j = 0; j < g->n_rates; j++) {
			const struct compare_rate *cr = &sorted[j];
			char b[64], h[64], p[32];

			fmt_rate(b, sizeof(b), cr->k_base, cr->n_base, cr->ci_base);
			fmt_rate(h, sizeof(h), cr->k_head, cr->n_head, cr->ci_head);
			fmt_p(p, sizeof(p), cr->p);
			if (markdown)
				fprintf(f, "| %s | %s | %s | %s | %s |\n",
					compare_rate_name(cr->outcome), b, h, p,
					stats_verdict_to_string(cr->verdict));
			else
				fprintf(f, "  %-18s%s%-30s%s%-30s%s%-9s%s%s\n",
					compare_rate_name(cr->outcome), sep, b, sep, h,
					sep, p, sep,
					stats_verdict_to_string(cr->verdict));
		}
		for (int m = 0; m < 2; m++) {
			const struct compare_latency *l = &g->latency[m];
			char q[3][2][24], p[32], sh[24];

			if (l->n_base == 0 && l->n_head == 0)
				continue;
			for (int k = 0; k < 3; k++) {
				fmt_ms(q[k][0], sizeof(q[k][0]), l->q_base[k]);
				fmt_ms(q[k][1], sizeof(q[k][1]), l->q_head[k]);
			}
			fmt_p(p, sizeof(p), l->p);
			fmt_ms(sh, sizeof(sh), l->shift_ns);
			fprintf(f,
				"%s%s%s ms (bound correctly: n %zu vs %zu): p50 %s -> %s, p90 %s -> %s, p99 %s -> %s; shift %s ms, p %s: %s\n",
				markdown && m == 0 ? "\n" : "", markdown ? "- " : "  ",
				l->metric, l->n_base, l->n_head,
				l->n_base ? q[0][0] : "-", l->n_head ? q[0][1] : "-",
				l->n_base ? q[1][0] : "-", l->n_head ? q[1][1] : "-",
				l->n_base ? q[2][0] : "-", l->n_head ? q[2][1] : "-",
				isnan(l->shift_ns) ? "-" : sh, p,
				latency_verdict_text(l));
		}
		if (g->n_buckets > 0 && markdown)
			fprintf(f,
				"\nfailures per offset:\n\n| offset ms | base | head |\n"
				"|---:|---:|---:|\n");
		else if (g->n_buckets > 0)
			fprintf(f, "  failures per offset (base | head):\n");
		for (size_t j = 0; j < g->n_buckets; j++) {
			const struct compare_bucket *b = &g->buckets[j];

			fprintf(f,
				markdown ? "| %.3f | %llu/%llu | %llu/%llu |\n"
					 : "    %8.3f ms  %4llu/%-4llu | %4llu/%llu\n",
				(double)b->sweep / 1000.0,
				(unsigned long long)b->fail_base,
				(unsigned long long)b->n_base,
				(unsigned long long)b->fail_head,
				(unsigned long long)b->n_head);
		}
		if (g->n_buckets > 0) {
			char wb[96], wh[96];

			window_describe(&g->window_base, wb, sizeof(wb));
			window_describe(&g->window_head, wh, sizeof(wh));
			fprintf(f,
				"%srace window (offsets whose failure rate is above the least-failing offset's, Fisher p <= %g each, uncorrected): base %s; head %s\n",
				markdown ? "\n" : "  ", COMPARE_WINDOW_ALPHA, wb, wh);
		}
		fputc('\n', f);
	}
	fprintf(f, markdown ? "**verdict: %s**\n" : "verdict: %s\n",
		compare_result_regressed(r) ? "REGRESSION" : "no regression");
}

void render_compare_side(FILE *f, const struct compare_result *r, bool markdown)
{
	fprintf(f,
		"%soutcome rates: Wilson 95%% CI (none seen: one-sided 95%% upper bound); latency: bootstrap 95%% CI\n",
		markdown ? "- " : "");
	print_binned_note(f, r, markdown);
	for (size_t i = 0; i < r->n_groups; i++) {
		struct compare_group *g = &r->groups[i];
		struct compare_rate sorted[_OUTCOME_MAX + 1];

		compare_group_sorted_rates(g, sorted);
		if (markdown)
			fprintf(f,
				"\n#### %s / consumer `%s`\n\n| outcome | cycles |\n|---|---|\n",
				g->scenario, g->device);
		else
			fprintf(f, "\nscenario %s, consumer %s\n", g->scenario,
				g->device);
		for (size_t j = 0; j < g->n_rates; j++) {
			char b[64];

			fmt_rate(b, sizeof(b), sorted[j].k_base, sorted[j].n_base,
				 sorted[j].ci_base);
			fprintf(f, markdown ? "| %s | %s |\n" : "  %-18s  %s\n",
				compare_rate_name(sorted[j].outcome), b);
		}
		if (markdown)
			fputc('\n', f);
		for (int m = 0; m < 2; m++) {
			const struct compare_latency *l = &g->latency[m];
			char q[3][3][24];

			if (l->n_base == 0)
				continue;
			for (int k = 0; k < 3; k++) {
				fmt_ms(q[k][0], sizeof(q[k][0]), l->q_base[k]);
				fmt_ms(q[k][1], sizeof(q[k][1]), l->ci_base[k].lo);
				fmt_ms(q[k][2], sizeof(q[k][2]), l->ci_base[k].hi);
			}
			fprintf(f,
				"%s%s ms (bound correctly: n %zu): p50 %s [%s, %s], p90 %s [%s, %s], p99 %s [%s, %s]\n",
				markdown ? "- " : "  ", l->metric, l->n_base, q[0][0],
				q[0][1], q[0][2], q[1][0], q[1][1], q[1][2], q[2][0],
				q[2][1], q[2][2]);
		}
		if (g->n_buckets > 0) {
			char w[96];

			fprintf(f,
				markdown
					? "\n| offset ms | failed/cycles |\n|---:|---:|\n"
					: "  failures per offset:\n");
			for (size_t j = 0; j < g->n_buckets; j++) {
				const struct compare_bucket *b = &g->buckets[j];

				if (b->n_base == 0)
					continue;
				fprintf(f,
					markdown ? "| %.3f | %llu/%llu |\n"
						 : "    %8.3f ms  %4llu/%llu\n",
					(double)b->sweep / 1000.0,
					(unsigned long long)b->fail_base,
					(unsigned long long)b->n_base);
			}
			window_describe(&g->window_base, w, sizeof(w));
			fprintf(f,
				"%srace window (offsets whose failure rate is above the least-failing offset's, Fisher p <= %g each, uncorrected): %s\n",
				markdown ? "\n" : "  ", COMPARE_WINDOW_ALPHA, w);
		}
	}
}

/* --- JUnit XML --- */

/* Attribute and text content: the five XML specials escaped; control characters other
 * than tab and newline are not allowed in XML 1.0 at all, so they become '?'. */
static void xml_escaped(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\n': fputs("&#10;", f); break;
		case '\t': fputs("&#9;", f); break;
		default: fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, f);
		}
	}
}

static void rate_message(char *buf, size_t size, const struct compare_rate *cr,
			 double alpha)
{
	char b[64], h[64], p[32];

	fmt_rate(b, sizeof(b), cr->k_base, cr->n_base, cr->ci_base);
	fmt_rate(h, sizeof(h), cr->k_head, cr->n_head, cr->ci_head);
	fmt_p(p, sizeof(p), cr->p);
	snprintf(buf, size, "%s: base %s, head %s; Fisher exact p %s at alpha %g: %s",
		 compare_rate_name(cr->outcome), b, h, p, alpha,
		 stats_verdict_to_string(cr->verdict));
}

static void latency_message(char *buf, size_t size, const struct compare_latency *l,
			    double alpha)
{
	char q[3][2][24], p[32], sh[24];

	for (int k = 0; k < 3; k++) {
		fmt_ms(q[k][0], sizeof(q[k][0]), l->q_base[k]);
		fmt_ms(q[k][1], sizeof(q[k][1]), l->q_head[k]);
	}
	fmt_p(p, sizeof(p), l->p);
	fmt_ms(sh, sizeof(sh), l->shift_ns);
	snprintf(
		buf, size,
		"%s ms (bound correctly: n %zu vs %zu): p50 %s -> %s, p90 %s -> %s, p99 %s -> %s; Hodges-Lehmann shift %s ms, Mann-Whitney p %s at alpha %g: %s",
		l->metric, l->n_base, l->n_head, l->n_base ? q[0][0] : "-",
		l->n_head ? q[0][1] : "-", l->n_base ? q[1][0] : "-",
		l->n_head ? q[1][1] : "-", l->n_base ? q[2][0] : "-",
		l->n_head ? q[2][1] : "-", isnan(l->shift_ns) ? "-" : sh, p, alpha,
		latency_verdict_text(l));
}

static void junit_case(FILE *f, const struct compare_group *g, const char *name,
		       bool failed, bool skipped, const char *msg)
{
	fputs("    <testcase classname=\"", f);
	xml_escaped(f, g->scenario);
	fputc('.', f);
	xml_escaped(f, g->device);
	fputs("\" name=\"", f);
	xml_escaped(f, name);
	fputs("\" time=\"0\"", f);
	if (!failed && !skipped) {
		fputs(">\n      <system-out>", f);
		xml_escaped(f, msg);
		fputs("</system-out>\n    </testcase>\n", f);
		return;
	}
	fputs(">\n      ", f);
	fputs(failed ? "<failure type=\"regression\" message=\"" : "<skipped message=\"",
	      f);
	xml_escaped(f, msg);
	fputs("\">", f);
	xml_escaped(f, msg);
	fputs(failed ? "</failure>\n    </testcase>\n" : "</skipped>\n    </testcase>\n",
	      f);
}

void render_compare_junit(FILE *f, const struct compare_result *r)
{
	size_t tests = 0, failures = 0;

	for (size_t i = 0; i < r->n_groups; i++) {
		const struct compare_group *g = &r->groups[i];

		tests += g->n_rates + 2;
		for (size_t j = 0; j < g->n_rates; j++)
			failures += g->rates[j].verdict == STATS_REGRESSION;
		for (int m = 0; m < 2; m++)
			failures += g->latency[m].verdict == STATS_REGRESSION;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f,
		"<testsuites name=\"probestorm compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n",
		tests, failures);
	for (size_t i = 0; i < r->n_groups; i++) {
		const struct compare_group *g = &r->groups[i];
		struct compare_rate sorted[_OUTCOME_MAX + 1];
		size_t fails = 0, skips = 0;
		char msg[768], name[64];

		compare_group_sorted_rates(g, sorted);
		for (size_t j = 0; j < g->n_rates; j++)
			fails += g->rates[j].verdict == STATS_REGRESSION;
		for (int m = 0; m < 2; m++) {
			fails += g->latency[m].verdict == STATS_REGRESSION;
			skips += g->latency[m].n_base == 0 || g->latency[m].n_head == 0;
		}
		fputs("  <testsuite name=\"", f);
		xml_escaped(f, g->scenario);
		fputs(" / ", f);
		xml_escaped(f, g->device);
		fprintf(f,
			"\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
			g->n_rates + 2, fails, skips);
		fputs("    <properties>\n", f);
		for (int s = 0; s < 2; s++) {
			const struct compare_side *side = s ? &r->head : &r->base;

			fprintf(f, "      <property name=\"%s\" value=\"",
				s ? "head" : "base");
			xml_escaped(f, side->selector);
			fputs(" (", f);
			xml_escaped(f, side->description ? side->description : "?");
			fprintf(f, ", %zu run%s)\"/>\n", side->n_runs,
				side->n_runs == 1 ? "" : "s");
		}
		fprintf(f,
			"      <property name=\"alpha_outcome\" value=\"%g\"/>\n"
			"      <property name=\"alpha_latency\" value=\"%g\"/>\n"
			"    </properties>\n",
			r->alpha_outcome, r->alpha_latency);
		for (size_t j = 0; j < g->n_rates; j++) {
			rate_message(msg, sizeof(msg), &sorted[j], r->alpha_outcome);
			snprintf(name, sizeof(name), "outcome %s",
				 compare_rate_name(sorted[j].outcome));
			junit_case(f, g, name, sorted[j].verdict == STATS_REGRESSION,
				   false, msg);
		}
		for (int m = 0; m < 2; m++) {
			const struct compare_latency *l = &g->latency[m];
			bool empty = l->n_base == 0 || l->n_head == 0;

			latency_message(msg, sizeof(msg), l, r->alpha_latency);
			snprintf(name, sizeof(name), "latency %s", l->metric);
			junit_case(f, g, name, l->verdict == STATS_REGRESSION, empty,
				   msg);
		}
		fputs("  </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
}

void render_run_summary(FILE *f, json_t *summary)
{
	json_t *run = json_object_get(summary, "run");
	json_t *outcomes = json_object_get(summary, "outcomes");
	json_t *consumers = json_object_get(summary, "consumers");
	const char *key;
	json_t *v;
	size_t i;

	fprintf(f, "run %s (%s, %s): %lld cycles\n",
		json_string_value(json_object_get(run, "uuid")),
		json_string_value(json_object_get(run, "campaign")),
		json_string_value(json_object_get(run, "status")),
		(long long)json_integer_value(json_object_get(summary, "cycles")));
	if (json_string_value(json_object_get(run, "status_reason")))
		fprintf(f, "  %s: %s\n",
			json_string_value(json_object_get(run, "status")),
			json_string_value(json_object_get(run, "status_reason")));
	json_object_foreach(outcomes, key, v)
		if (json_integer_value(v) > 0)
			fprintf(f, "  %-18s %lld\n", key,
				(long long)json_integer_value(v));
	json_array_foreach(consumers, i, v) {
		json_t *oc = json_object_get(v, "outcomes"), *n;
		fprintf(f, "  consumer %s:",
			json_string_value(json_object_get(v, "device")));
		json_object_foreach(oc, key, n)
			if (json_integer_value(n) > 0)
				fprintf(f, " %s=%lld", key,
					(long long)json_integer_value(n));
		fputc('\n', f);
	}
}

void render_list(FILE *f, const char *what, json_t *list)
{
	size_t i;
	json_t *v;

	if (streq(what, "kernels")) {
		fprintf(f, "%-4s %-10s %-28s %-28s %s\n", "id", "label", "release",
			"patches", "runs");
		json_array_foreach(list, i, v)
			fprintf(f, "%-4lld %-10s %-28s %-28s %lld\n",
				(long long)json_integer_value(json_object_get(v, "id")),
				json_string_value(json_object_get(v, "label")) ?: "-",
				json_string_value(json_object_get(v, "release")) ?: "-",
				json_string_value(json_object_get(v, "patches")) ?: "-",
				(long long)json_integer_value(
					json_object_get(v, "runs")));
		return;
	}
	fprintf(f, "%-36s %-20s %-10s %-12s %8s  %s\n", "run", "campaign", "kernel",
		"status", "cycles", "started");
	json_array_foreach(list, i, v) {
		json_t *k = json_object_get(v, "kernel");
		fprintf(f, "%-36s %-20s %-10s %-12s %8lld  %s\n",
			json_string_value(json_object_get(v, "uuid")),
			json_string_value(json_object_get(v, "campaign")) ?: "-",
			json_string_value(json_object_get(k, "label")) ?: "-",
			json_string_value(json_object_get(v, "status")) ?: "-",
			(long long)json_integer_value(json_object_get(v, "cycles")),
			json_string_value(json_object_get(v, "started_at")) ?: "-");
		if (json_string_value(json_object_get(v, "status_reason")))
			fprintf(f, "    %s\n",
				json_string_value(json_object_get(v, "status_reason")));
	}
}

/* --- report --- */

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : "-";
}

/* Every line of text, indented by prefix. */
static void print_indented(FILE *f, const char *prefix, const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		int len = nl ? (int)(nl - text) : (int)strlen(text);

		fprintf(f, "%s%.*s\n", prefix, len, text);
		text = nl ? nl + 1 : NULL;
	}
}

void render_report(FILE *f, const struct report *rep, bool markdown)
{
	json_t *kernels = json_object_get(rep->extra, "kernels");
	json_t *runs = json_object_get(rep->extra, "run_list");
	json_t *evidence = json_object_get(rep->extra, "evidence");
	const char *li = markdown ? "- " : "  ";
	json_t *v;
	size_t i;

	fprintf(f, markdown ? "### probestorm report: %s (%s)\n\n" : "report: %s (%s)\n",
		rep->r->base.selector,
		rep->r->base.description ? rep->r->base.description : "?");
	json_array_foreach(kernels, i, v) {
		fprintf(f, "%skernel %s %s\n", markdown ? "- " : "", str(v, "release"),
			str(v, "version"));
		fprintf(f, "%s%slabel %s, patches %s, build id %s\n",
			markdown ? "  " : "", li, str(v, "label"), str(v, "patches"),
			str(v, "build_id"));
		fprintf(f, "%s%scmdline %s\n", markdown ? "  " : "", li,
			str(v, "cmdline"));
	}
	json_array_foreach(runs, i, v) {
		json_t *run = json_object_get(v, "run"),
		       *lat = json_object_get(v, "lateness");

		fprintf(f,
			"%srun %s: campaign %s, scenario %s, target %s, %lld cycles (%s), %s .. %s\n",
			markdown ? "- " : "", str(run, "uuid"), str(run, "campaign"),
			str(run, "scenario"), str(run, "target"),
			(long long)json_integer_value(json_object_get(v, "cycles")),
			str(run, "status"), str(run, "started_at"),
			str(run, "finished_at"));
		if (json_string_value(json_object_get(run, "status_reason")))
			fprintf(f, "%s%s%s: %s\n", markdown ? "  " : "", li,
				str(run, "status"), str(run, "status_reason"));
		if (json_string_value(json_object_get(run, "load_profile")))
			fprintf(f, "%s%sload profile %s\n", markdown ? "  " : "", li,
				str(run, "load_profile"));
		if (json_is_object(lat))
			fprintf(f,
				"%s%sconcurrent actions' lateness (start - planned): p50 %.3f ms, p90 %.3f ms, max %.3f ms (%lld actions)\n",
				markdown ? "  " : "", li,
				(double)json_integer_value(
					json_object_get(lat, "p50_ns")) /
					1e6,
				(double)json_integer_value(
					json_object_get(lat, "p90_ns")) /
					1e6,
				(double)json_integer_value(
					json_object_get(lat, "max_ns")) /
					1e6,
				(long long)json_integer_value(
					json_object_get(lat, "actions")));
	}
	render_compare_side(f, rep->r, markdown);
	if (json_array_size(evidence) == 0)
		return;
	fprintf(f,
		markdown
			? "\n#### First cycle of each failure outcome\n"
			: "\nfirst cycle of each failure outcome, with its kernel record:\n");
	json_array_foreach(evidence, i, v) {
		json_t *ev = json_object_get(v, "event");

		fprintf(f, "%s%s: run %.8s cycle %lld", markdown ? "\n- **" : "  ",
			str(v, "outcome"), str(v, "run"),
			(long long)json_integer_value(json_object_get(v, "cycle")));
		fprintf(f, markdown ? "** (%s)\n" : " (%s)\n", str(v, "note"));
		if (!json_is_object(ev))
			continue;
		if (markdown)
			fprintf(f, "\n```\n");
		print_indented(f, markdown ? "" : "    ", str(ev, "message"));
		if (json_string_value(json_object_get(ev, "detail")))
			print_indented(f, markdown ? "" : "    ", str(ev, "detail"));
		if (markdown)
			fprintf(f, "```\n");
	}
}

/* --- decide --- */

static void fmt_p_decide(char *buf, size_t size, double p)
{
	if (isnan(p))
		snprintf(buf, size, "-");
	else if (p < 1e-300)
		snprintf(buf, size, "<1e-300");
	else if (p < 1e-3)
		snprintf(buf, size, "%.1e", p);
	else
		snprintf(buf, size, "%.4f", p);
}

static void fmt_count(char *buf, size_t size, uint64_t k, uint64_t n)
{
	if (n == 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%llu/%llu %.1f%%", (unsigned long long)k,
			 (unsigned long long)n, 100.0 * (double)k / (double)n);
}

static void fmt_deff(char *buf, size_t size, size_t clusters, double deff)
{
	if (isnan(deff))
		snprintf(buf, size, "%zu boot%s", clusters, clusters == 1 ? "" : "s");
	else
		snprintf(buf, size, "%zu boots deff %.2f", clusters, deff);
}

/* The boots of one consumer (its any_failure metric, else its first): one line. */
static void print_clusters(FILE *f, const struct decide_result *d, size_t from,
			   double *deff_max, size_t *min_clusters)
{
	const struct decide_metric *m = &d->metrics[from];
	char cb[40], ch[40];

	for (size_t i = from; i < d->n_metrics && d->metrics[i].scenario == m->scenario &&
			      d->metrics[i].device == m->device;
	     i++)
		if (d->metrics[i].outcome < 0)
			m = &d->metrics[i];
	fmt_deff(cb, sizeof(cb), m->clusters_base, m->deff_base);
	fmt_deff(ch, sizeof(ch), m->clusters_head, m->deff_head);
	fprintf(f, "  boots (clusters), %s: base %s, head %s\n",
		compare_rate_name(m->outcome), cb, ch);
	if (!isnan(m->deff_base) && !(m->deff_base <= *deff_max))
		*deff_max = m->deff_base;
	if (!isnan(m->deff_head) && !(m->deff_head <= *deff_max))
		*deff_max = m->deff_head;
	if (!isnan(m->deff_base) && m->clusters_base < *min_clusters)
		*min_clusters = m->clusters_base;
	if (!isnan(m->deff_head) && m->clusters_head < *min_clusters)
		*min_clusters = m->clusters_head;
}

void render_decide(FILE *f, const struct decide_result *d,
		   const struct compare_result *cr)
{
	double deff_max = NAN;
	size_t min_clusters = SIZE_MAX;

	fprintf(f, "base: %s (%s)\nhead: %s (%s)\n", cr->base.selector,
		cr->base.description ? cr->base.description : "-", cr->head.selector,
		cr->head.description ? cr->head.description : "-");
	fprintf(f,
		"look %u of %u: alpha %g overall, %.3g per look (Bonferroni over the %u planned look%s, conservative)\n"
		"different: Fisher exact two-sided p <= %.3g; same: TOST |head - base| < %g (absolute), p <= %.3g\n",
		d->look, d->looks, d->alpha, d->alpha_look, d->looks,
		d->looks == 1 ? "" : "s", d->alpha_look, d->margin, d->alpha_look);
	for (size_t i = 0; i < d->n_metrics; i++) {
		const struct decide_metric *m = &d->metrics[i];
		char rb[48], rh[48], pd[16], ps[16], diff[16];

		if (i == 0 || m->scenario != d->metrics[i - 1].scenario ||
		    m->device != d->metrics[i - 1].device) {
			fprintf(f, "\nscenario %s, consumer %s\n", m->scenario,
				m->device);
			fprintf(f, "  %-18s  %-16s  %-16s  %-8s  %-9s  %-9s  %s\n",
				"metric", "base", "head", "diff", "p(diff)", "p(same)",
				"decision");
		}
		fmt_count(rb, sizeof(rb), m->k_base, m->n_base);
		fmt_count(rh, sizeof(rh), m->k_head, m->n_head);
		fmt_p_decide(pd, sizeof(pd), m->p_diff);
		fmt_p_decide(ps, sizeof(ps), m->p_same);
		if (isnan(m->diff))
			snprintf(diff, sizeof(diff), "-");
		else
			snprintf(diff, sizeof(diff), "%+.1f%%", 100 * m->diff);
		fprintf(f, "  %-18s  %-16s  %-16s  %-8s  %-9s  %-9s  %s\n",
			compare_rate_name(m->outcome), rb, rh, diff, pd, ps,
			m->state == DECIDE_DIFFERENT ? "DIFFERENT"
			: m->state == DECIDE_SAME    ? "SAME"
						     : "UNDECIDED");
		if (d->clusters_known &&
		    (i + 1 == d->n_metrics || d->metrics[i + 1].scenario != m->scenario ||
		     d->metrics[i + 1].device != m->device)) {
			size_t from = i;

			while (from > 0 && d->metrics[from - 1].scenario == m->scenario &&
			       d->metrics[from - 1].device == m->device)
				from--;
			print_clusters(f, d, from, &deff_max, &min_clusters);
		}
	}
	fprintf(f, "\ncycles are treated as independent trials");
	if (!d->clusters_known)
		fprintf(f, "; clustering by boot was not measured.\n");
	else if (d->reboot)
		fprintf(f,
			", although each boot is a cluster: the scenario\nreboots, so a cycle's outcome is what its boot shows, and boot-to-boot variation is\npart of the rate.\n");
	else
		fprintf(f,
			", although cycles of one boot share its kernel\nstate (a boot is a cluster).\n");
	if (d->clusters_known) {
		if (isnan(deff_max))
			fprintf(f,
				"design effect: not estimable (fewer than 2 boots per side, or a rate of 0 or 100%%).\n");
		else
			fprintf(f,
				"design effect (between-boot variance / binomial variance): at most %.2f%s%s\n",
				deff_max,
				min_clusters < DECIDE_FEW_CLUSTERS
					? " (from fewer than 5 boots: a rough estimate)"
					: "",
				deff_max > 1.5
					? ";\nwell above 1: the p-values are too small, treat the decision with care"
					: "");
	}
	if (d->n_metrics == 0)
		fprintf(f, "\ndecision: UNDECIDED (no metric to decide)\n");
	else if (d->decided)
		fprintf(f,
			"\ndecision: DECIDED (%zu different, %zu same of %zu metrics)\n",
			d->n_different, d->n_same, d->n_metrics);
	else
		fprintf(f,
			"\ndecision: UNDECIDED (%zu of %zu metrics undecided; %zu different, %zu same)\n",
			d->n_undecided, d->n_metrics, d->n_different, d->n_same);
}
