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

#include <sqlite3.h>

#include "compare.h"
#include "db.h"
#include "macro.h"
#include "model.h"
#include "report.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* Failure outcomes, most severe first, with the record classes that show each, best
 * first. no_iommu has none: the bypass is silent, the cycle's note says it. */
static const struct {
	enum outcome outcome;
	const char *classes[3];
} evidence_classes[] = {
	{ OUTCOME_CRASH, { "panic", "oops" } },
	{ OUTCOME_OOPS, { "oops", "panic" } },
	{ OUTCOME_HANG, { "hung_task" } },
	{ OUTCOME_LATE_IOMMU_PROBE, { "late_iommu_probe" } },
	{ OUTCOME_NO_IOMMU, { NULL } },
	{ OUTCOME_WARN, { "warn" } },
	{ OUTCOME_PROBE_FAILED, { "probe_failed" } },
	{ OUTCOME_UNBOUND, { "deferred_timeout", "probe_failed" } },
};

static int sql_err(int rc)
{
	return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

/* Prepares head, then the run ids as an SQL list, then tail. */
static int prepare_in(sqlite3 *h, const char *head, const char *ids, const char *tail,
		      sqlite3_stmt **ret)
{
	_cleanup_free_ char *sql = strprintf("%s%s%s", head, ids, tail);
	int rc;

	if (!sql)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(h, sql, -1, ret, NULL);
	return rc == SQLITE_OK ? 0 : sql_err(rc);
}

static json_t *col_json(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	return t ? json_string(t) : json_null();
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

static int kernels_json(sqlite3 *h, const char *ids, json_t *arr)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int rc = prepare_in(h,
			    "SELECT DISTINCT k.id, k.release, k.version, k.build_id, "
			    "k.cmdline, k.label, k.patches FROM kernels k JOIN runs r ON "
			    "r.kernel_id = k.id WHERE r.id IN ",
			    ids, " ORDER BY k.id", &s);

	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (json_array_append_new(
			    arr, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
					   (json_int_t)sqlite3_column_int64(s, 0),
					   "release", col_json(s, 1), "version",
					   col_json(s, 2), "build_id", col_json(s, 3),
					   "cmdline", col_json(s, 4), "label",
					   col_json(s, 5), "patches", col_json(s, 6))) <
		    0)
			return -ENOMEM;
	return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

/* The first record of one of classes in cycle_id, the best class first; NULL (JSON null)
 * when there is none. */
static int evidence_event(sqlite3 *h, int64_t cycle_id, const char *const *classes,
			  json_t **ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(
		h,
		"SELECT class, source, device, message, detail FROM events "
		"WHERE cycle_id = ?1 AND class = ?2 ORDER BY id LIMIT 1",
		-1, &s, NULL);

	*ret = json_null();
	if (rc != SQLITE_OK)
		return sql_err(rc);
	for (size_t i = 0; i < 3 && classes[i]; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, cycle_id);
		sqlite3_bind_text(s, 2, classes[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			continue;
		if (rc != SQLITE_ROW)
			return sql_err(rc);
		*ret = json_pack("{s:o, s:o, s:o, s:o, s:o}", "class", col_json(s, 0),
				 "source", col_json(s, 1), "device", col_json(s, 2),
				 "message", col_json(s, 3), "detail",
				 detail_json((const char *)sqlite3_column_text(s, 4)));
		return *ret ? 0 : -ENOMEM;
	}
	return 0;
}

/* For each failure outcome the runs show, its first cycle (runs in order) and record. */
static int evidence_json(sqlite3 *h, const char *ids, json_t *arr)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int k = prepare_in(h,
			   "SELECT c.id, c.seq, c.note, r.uuid FROM cycles c JOIN runs r "
			   "ON r.id = c.run_id WHERE c.run_id IN ",
			   ids, " AND c.outcome = ?1 ORDER BY c.run_id, c.id LIMIT 1",
			   &s);

	if (k < 0)
		return k;
	for (size_t i = 0; i < ARRAY_SIZE(evidence_classes); i++) {
		json_t *ev = NULL;
		int rc;

		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, outcome_to_string(evidence_classes[i].outcome),
				  -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			continue;
		if (rc != SQLITE_ROW)
			return sql_err(rc);
		k = evidence_event(h, sqlite3_column_int64(s, 0),
				   evidence_classes[i].classes, &ev);
		if (k < 0)
			return k;
		if (json_array_append_new(
			    arr, json_pack("{s:s, s:o, s:I, s:o, s:o}", "outcome",
					   outcome_to_string(evidence_classes[i].outcome),
					   "run", col_json(s, 3), "cycle",
					   (json_int_t)sqlite3_column_int64(s, 1), "note",
					   col_json(s, 2), "event", ev)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int run_list_json(struct db *db, sqlite3 *h, const char *ids, json_t *arr)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int rc = prepare_in(h, "SELECT uuid FROM runs WHERE id IN ", ids, " ORDER BY id",
			    &s);

	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *sum = NULL;
		int k = db_query_run_summary(db, (const char *)sqlite3_column_text(s, 0),
					     &sum);

		if (k < 0)
			return k;
		if (json_array_append_new(arr, sum) < 0)
			return -ENOMEM;
	}
	return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

int report_build(struct db *db, const char *selector, struct report *ret)
{
	struct compare_opts o = { .base = selector };
	struct report rep = { 0 };
	_cleanup_free_ char *ids = NULL;
	sqlite3 *h = db_sqlite(db);
	int k;

	k = db_begin_read(db);
	if (k < 0)
		return k;
	k = compare_run(db, &o, &rep.r);
	if (k >= 0) {
		ids = compare_side_id_list(&rep.r->base);
		rep.extra = json_pack("{s:[], s:[], s:[]}", "kernels", "run_list",
				      "evidence");
		if (!ids || !rep.extra)
			k = -ENOMEM;
	}
	if (k >= 0)
		k = kernels_json(h, ids, json_object_get(rep.extra, "kernels"));
	if (k >= 0)
		k = run_list_json(db, h, ids, json_object_get(rep.extra, "run_list"));
	if (k >= 0)
		k = evidence_json(h, ids, json_object_get(rep.extra, "evidence"));
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

void report_print(FILE *f, const struct report *rep, bool markdown)
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
	compare_print_side(f, rep->r, markdown);
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
