/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The report on one kernel's runs (report.h). The numbers are the compare engine's, run
 * with the selector as its base side alone, so a report and a comparison never
 * disagree. The evidence is found through indexes only: the first cycle
 * of an outcome by cycles (run_id, outcome), then that cycle's records by events
 * (cycle_id); a run of a million cycles costs the same as one of ten.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "db-analysis.h"
#include "db.h"
#include "macro.h"
#include "model.h"
#include "report.h"
#include "util.h"

/* Failure outcomes, most severe first, with the record classes that show each, best
 * first. no_iommu has none: the bypass is silent, the cycle's note says it. */
static const struct {
	enum outcome outcome;
	size_t n_classes;
	enum event_class classes[2];
} evidence_classes[] = {
	{ OUTCOME_CRASH, 2, { EVENT_PANIC, EVENT_OOPS } },
	{ OUTCOME_OOPS, 2, { EVENT_OOPS, EVENT_PANIC } },
	{ OUTCOME_HANG, 1, { EVENT_HUNG_TASK } },
	{ OUTCOME_LATE_IOMMU_PROBE, 1, { EVENT_LATE_IOMMU_PROBE } },
	{ OUTCOME_NO_IOMMU, 0, {} },
	{ OUTCOME_WARN, 1, { EVENT_WARN } },
	{ OUTCOME_PROBE_FAILED, 1, { EVENT_PROBE_FAILED } },
	{ OUTCOME_UNBOUND, 2, { EVENT_DEFERRED_TIMEOUT, EVENT_PROBE_FAILED } },
};

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* A register dump line of an arm64/x86 splat ("pc : ...", "x29: ...", "RAX: ..."): the
 * part of a record a report leaves out. */
static bool register_line(const char *l, size_t len)
{
	static const char *const prefixes[] = { "pstate:", "pc :", "lr :", "sp :", "RIP:",
						"RSP:",	   "RAX:", "RDX:", "RBP:", "R10:",
						"R13:",	   "FS:",  "CS:",  "CR2:" };
	size_t i = 0;

	while (i < len && l[i] == ' ')
		i++;
	for (size_t p = 0; p < ARRAY_SIZE(prefixes); p++)
		if (strncmp(l + i, prefixes[p], strlen(prefixes[p])) == 0)
			return true;
	/* "x29: ...", "x9 : ..." */
	if (i < len && l[i] == 'x' && i + 1 < len && l[i + 1] >= '0' && l[i + 1] <= '9')
		return true;
	return false;
}

/* A record's continuation as a report shows it: without the register dump, at most
 * REPORT_DETAIL_LINES lines (then "[...]"); NULL stays NULL. */
static json_t *detail_json(const char *d)
{
	_cleanup_free_ char *out = NULL;
	size_t n = 0, len = 0;
	FILE *f;

	if (!d)
		return json_null();
	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	for (const char *p = d; *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);

		if (!register_line(p, l)) {
			if (n++ == REPORT_DETAIL_LINES) {
				fputs("[...]\n", f);
				break;
			}
			fprintf(f, "%.*s\n", (int)l, p);
		}
		p += l + (nl ? 1 : 0);
	}
	if (fclose(f) != 0)
		return NULL;
	if (len > 0 && out[len - 1] == '\n')
		out[len - 1] = '\0';
	return json_string(out);
}

/* The first record of one of classes in cycle_id, the best class first; NULL (JSON null)
 * when there is none. */
static int evidence_event(struct db *db, int64_t cycle_id,
			  const enum event_class *classes, size_t n_classes, json_t **ret)
{
	for (size_t i = 0; i < n_classes; i++) {
		struct kernel_event ev = { 0 };
		json_t *j;
		int k = db_analysis_cycle_event(db, cycle_id, classes[i], &ev);

		if (k == -ENOENT)
			continue;
		if (k < 0)
			return k;
		j = json_pack("{s:o, s:o, s:o, s:o, s:o}", "class",
			      string_or_null(event_class_to_string(ev.class)), "source",
			      string_or_null(event_source_to_string(ev.source)), "device",
			      string_or_null(ev.device), "message",
			      string_or_null(ev.message), "detail",
			      detail_json(ev.detail));
		kernel_event_done(&ev);
		if (!j)
			return -ENOMEM;
		*ret = j;
		return 0;
	}
	*ret = json_null();
	return 0;
}

/* For each failure outcome the runs show, its first cycle (runs in order) and record. */
static int evidence_json(struct db *db, const struct compare_side *side, json_t *arr)
{
	for (size_t i = 0; i < ARRAY_SIZE(evidence_classes); i++) {
		_cleanup_(db_cycle_ref_done) struct db_cycle_ref c = { 0 };
		json_t *ev = NULL;
		int k;

		k = db_analysis_first_cycle(db, side->run_ids, side->n_runs,
					    evidence_classes[i].outcome, &c);
		if (k == -ENOENT)
			continue;
		if (k < 0)
			return k;
		k = evidence_event(db, c.id, evidence_classes[i].classes,
				   evidence_classes[i].n_classes, &ev);
		if (k < 0)
			return k;
		if (json_array_append_new(
			    arr, json_pack("{s:s, s:o, s:I, s:o, s:o}", "outcome",
					   outcome_to_string(evidence_classes[i].outcome),
					   "run", string_or_null(c.run_uuid), "cycle",
					   (json_int_t)c.seq, "note",
					   string_or_null(c.note), "event", ev)) < 0)
			return -ENOMEM;
	}
	return 0;
}

int report_build(struct db *db, const char *selector, struct report *ret)
{
	struct compare_opts o = { .base = selector };
	struct report rep = { 0 };
	json_t *kernels = NULL, *runs = NULL;
	int k;

	k = db_begin_read(db);
	if (k < 0)
		return k;
	k = compare_run(db, &o, &rep.r);
	if (k >= 0)
		k = db_analysis_kernels(db, rep.r->base.run_ids, rep.r->base.n_runs,
					&kernels);
	if (k >= 0)
		k = db_analysis_run_summaries(db, rep.r->base.run_ids, rep.r->base.n_runs,
					      &runs);
	if (k >= 0) {
		rep.extra = json_pack("{s:o, s:o, s:[]}", "kernels", kernels, "run_list",
				      runs, "evidence");
		kernels = runs = NULL; /* "o" took them, also on failure */
		if (!rep.extra)
			k = -ENOMEM;
	}
	if (k >= 0)
		k = evidence_json(db, &rep.r->base,
				  json_object_get(rep.extra, "evidence"));
	json_decref(kernels);
	json_decref(runs);
	(void)db_rollback(db);
	if (k < 0) {
		report_done(&rep);
		return k;
	}
	*ret = rep;
	return 0;
}

void report_done(struct report *rep)
{
	compare_result_free(rep->r);
	json_decref(rep->extra);
	*rep = (struct report){ 0 };
}

json_t *report_to_json(const struct report *rep)
{
	json_t *j = compare_side_to_json(rep->r);

	if (j && json_object_update(j, rep->extra) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}
