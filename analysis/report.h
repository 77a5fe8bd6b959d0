/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A report on one kernel's runs (probestorm report SEL): what a developer pastes under
 * "Tested-by" or into a bug report. The kernel identities and runs the selector picks,
 * per consumer the outcome rates with Wilson intervals, latency percentiles, failures
 * per offset and the race window (the compare engine's numbers for that one side), and
 * for each failure outcome the first cycle that had it with the kernel record that
 * shows it (the late-probe WARN with its stack, the oops, the panic).
 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

struct db;

/* Lines of a kernel record's continuation a report keeps, the register dump left out. */
#define REPORT_DETAIL_LINES 40

struct compare_result;

struct report {
	struct compare_result *r; /* the selector as the base side, no head */
	json_t *extra;		  /* {"kernels", "run_list", "evidence"} */
};

/* Builds the report of selector (as compare's: a label, a run UUID, label:NAME,
 * run:UUID, kernel:ID) in one read snapshot. -ENOENT when the selector matches no run,
 * -EINVAL when it is malformed, other negative errno on database errors; *ret is the
 * caller's (report_done) on success. */
int report_build(struct db *db, const char *selector, struct report *ret);
void report_done(struct report *rep);

/* JSON: the fields of compare_side_to_json() plus "kernels" (identities), "run_list" (each
 * run's summary, as db_query_run_summary) and "evidence": [{"outcome", "run", "cycle",
 * "note", "event": {"class", "source", "device", "message", "detail"} or null}]. NULL on
 * allocation failure. */
json_t *report_to_json(const struct report *rep);
