/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CLI's output of what analysis/ computes (render.c): text, markdown and JUnit XML.
 * Every function writes to f and leaves write errors in f's error indicator for the caller
 * to check; none fails otherwise.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

struct compare_result;
struct decide_result;
struct report;

/* A comparison as text (fixed-width) or markdown (for a mailing-list reply or CI
 * summary). */
void render_compare(FILE *f, const struct compare_result *r, bool markdown);
/* JUnit XML for CI: one testsuite per scenario and consumer, one testcase per outcome
 * class and latency metric, a <failure> (with the numbers) for each regression. */
void render_compare_junit(FILE *f, const struct compare_result *r);
/* The base side of r alone (compare_run without a head), as text or markdown. */
void render_compare_side(FILE *f, const struct compare_result *r, bool markdown);
/* A report on one kernel's runs (report_build) as text or markdown. */
void render_report(FILE *f, const struct report *rep, bool markdown);
/* A decision: a table per scenario and consumer, the alpha-spending rule, the caveats,
 * the decision; cr is the comparison it was made on. */
void render_decide(FILE *f, const struct decide_result *d,
		   const struct compare_result *cr);
/* A run's summary (db_query_run_summary's JSON) as text. */
void render_run_summary(FILE *f, json_t *summary);
/* db_query_kernels' (what "kernels") or db_query_runs' JSON as a table. */
void render_list(FILE *f, const char *what, json_t *list);
