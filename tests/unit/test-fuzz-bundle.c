/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fuzz-bundle target (tests/fuzz/fuzz-bundle.c, included here and built with gcc
 * without libFuzzer) keeps one in-memory database, and store/'s kept statements, from
 * input to input: every input runs in transactions that are rolled back. That each input
 * is still on its own is checked here on the committed corpus (tests/fuzz/corpus):
 *  - after an input the database holds what it held before: every table with its rows
 *    and row ids, sqlite_sequence and the schema;
 *  - an input run after another one (any of the corpus, itself included, on a database
 *    that has taken every pair before) has the same outcome (results and counts of the
 *    imports and of the lines) and leaves the same database inside its transactions,
 *    before they are rolled back, as the input alone on a freshly opened database.
 */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../fuzz/fuzz-bundle.c"

#define CORPUS_DIR TEST_DATA_DIR "/../fuzz/corpus/fuzz-bundle"

struct input {
	char *name;
	uint8_t *data;
	size_t size;
};

/* What an input did and left, as text (compared with strcmp, printed when different). */
struct result {
	char *outcome;
	char *inside[2]; /* the database before each rollback (fuzz_inspect's phases) */
	char *after;	 /* the database after the input */
};

static struct input *inputs;
static size_t n_inputs;
static char *inspected[2];

static void dump_table(FILE *f, sqlite3 *sql, const char *name)
{
	sqlite3_stmt *s = NULL;
	char *q;
	int rc;

	/* row ids too, where the table has them: an autoincrement that moved on would
	 * show there first */
	q = sqlite3_mprintf("SELECT rowid, * FROM \"%w\" ORDER BY rowid", name);
	assert_non_null(q);
	rc = sqlite3_prepare_v2(sql, q, -1, &s, NULL);
	sqlite3_free(q);
	if (rc != SQLITE_OK) { /* WITHOUT ROWID: scanned in primary key order */
		q = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
		assert_non_null(q);
		assert_int_equal(sqlite3_prepare_v2(sql, q, -1, &s, NULL), SQLITE_OK);
		sqlite3_free(q);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		fprintf(f, "  %s:", name);
		for (int i = 0; i < sqlite3_column_count(s); i++) {
			const unsigned char *t = sqlite3_column_text(s, i);

			fprintf(f, " %d:%s", sqlite3_column_type(s, i),
				t ? (const char *)t : "NULL");
		}
		fputc('\n', f);
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(s);
}

/* The schema and every row of every table of fuzz_db, as text. */
static char *dump_db(void)
{
	sqlite3 *sql = db_sqlite(fuzz_db);
	sqlite3_stmt *s = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	assert_non_null(f);
	fprintf(f, "schema version %d\n", db_schema_version(fuzz_db));
	assert_int_equal(sqlite3_prepare_v2(sql,
					    "SELECT type, name, sql FROM sqlite_schema "
					    "ORDER BY type, name",
					    -1, &s, NULL),
			 SQLITE_OK);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(s, 0);
		const char *name = (const char *)sqlite3_column_text(s, 1);
		const char *ddl = (const char *)sqlite3_column_text(s, 2);

		fprintf(f, "%s %s: %s\n", type, name, ddl ? ddl : "");
		if (strcmp(type, "table") == 0)
			dump_table(f, sql, name);
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(s);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void inspect(int phase)
{
	free(inspected[phase]);
	inspected[phase] = dump_db();
}

/* A database as the first input of a fuzzing run finds it. */
static void fresh_db(void)
{
	sqlite3_finalize(fuzz_runs_count);
	fuzz_runs_count = NULL;
	db_close(fuzz_db);
	fuzz_db = NULL;
	assert_int_equal(db_open(":memory:", 0, &fuzz_db), 0);
}

static char *stats_str(const struct bundle_stats *s)
{
	char *t = NULL;

	assert_true(asprintf(&t,
			     "lines %zu, runs %zu+%zu, cycles %zu+%zu, events %zu+%zu, "
			     "ends %zu+%zu, torn %d",
			     s->lines, s->runs_inserted, s->runs_present,
			     s->cycles_inserted, s->cycles_present, s->events_inserted,
			     s->events_present, s->ends_applied, s->ends_present,
			     s->torn_tail) > 0);
	return t;
}

static void run_input(const struct input *in, struct result *ret)
{
	struct fuzz_outcome o;
	char *a, *b, *l;

	fuzz_inspect = inspect;
	fuzz_one(in->data, in->size, &o);
	fuzz_inspect = NULL;
	a = stats_str(&o.first);
	b = stats_str(&o.second);
	l = stats_str(&o.lines);
	assert_true(asprintf(&ret->outcome,
			     "import %d (%s), re-import %d (%s), lines (%s), %zu failed",
			     o.import, a, o.reimport, b, l, o.lines_failed) > 0);
	free(a);
	free(b);
	free(l);
	for (int i = 0; i < 2; i++) {
		ret->inside[i] = inspected[i];
		inspected[i] = NULL;
	}
	ret->after = dump_db();
}

static void result_done(struct result *r)
{
	free(r->outcome);
	free(r->inside[0]);
	free(r->inside[1]);
	free(r->after);
}

static void assert_same(const char *what, const char *a, const char *b, const char *ctx)
{
	if (strcmp(a, b) != 0) {
		print_error("%s differs (%s):\n--- expected\n%s\n--- got\n%s\n", what,
			    ctx, a, b);
		fail();
	}
}

/* Each input leaves the database as it found it, one after the other from the first. */
static void test_input_leaves_nothing(void **state)
{
	char *empty;
	bool inserted = false;

	(void)state;
	fresh_db();
	empty = dump_db();
	for (size_t i = 0; i < n_inputs; i++) {
		struct result r = {};

		run_input(&inputs[i], &r);
		assert_true(sqlite3_get_autocommit(db_sqlite(fuzz_db)));
		assert_same("the database after the input", empty, r.after,
			    inputs[i].name);
		inserted = inserted || strcmp(r.inside[0], empty) != 0;
		result_done(&r);
	}
	/* otherwise the comparisons of the next test would prove nothing */
	assert_true(inserted);
	free(empty);
}

/* B after A is B alone, for every pair of the corpus (and after every pair before it: the
 * database is opened once for all pairs, as it is for a fuzzing run). */
static void test_inputs_independent(void **state)
{
	struct result *alone = calloc(n_inputs, sizeof(*alone));

	(void)state;
	assert_non_null(alone);
	for (size_t b = 0; b < n_inputs; b++) {
		fresh_db();
		run_input(&inputs[b], &alone[b]);
	}
	fresh_db();
	for (size_t a = 0; a < n_inputs; a++) {
		for (size_t b = 0; b < n_inputs; b++) {
			struct result first = {}, then = {};
			char ctx[512];

			snprintf(ctx, sizeof(ctx), "%s after %s", inputs[b].name,
				 inputs[a].name);
			run_input(&inputs[a], &first);
			run_input(&inputs[b], &then);
			assert_same("the outcome", alone[b].outcome, then.outcome, ctx);
			assert_same("the database after the imports", alone[b].inside[0],
				    then.inside[0], ctx);
			assert_same("the database after the lines", alone[b].inside[1],
				    then.inside[1], ctx);
			assert_same("the database after the input", alone[b].after,
				    then.after, ctx);
			result_done(&first);
			result_done(&then);
		}
	}
	for (size_t b = 0; b < n_inputs; b++)
		result_done(&alone[b]);
	free(alone);
}

static int load_corpus(void)
{
	struct dirent **names = NULL;
	int n = scandir(CORPUS_DIR, &names, NULL, alphasort);

	if (n < 0) {
		perror(CORPUS_DIR);
		return -1;
	}
	inputs = calloc((size_t)n, sizeof(*inputs));
	if (!inputs)
		return -1;
	for (int i = 0; i < n; i++) {
		struct input *in = &inputs[n_inputs];
		char path[4096];
		FILE *f;
		long size;

		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR,
				 names[i]->d_name);
			f = fopen(path, "rb");
			if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) <= 0 ||
			    fseek(f, 0, SEEK_SET) < 0)
				return -1;
			in->name = strdup(names[i]->d_name);
			in->data = malloc((size_t)size);
			in->size = (size_t)size;
			if (!in->name || !in->data ||
			    fread(in->data, 1, in->size, f) != in->size)
				return -1;
			fclose(f);
			n_inputs++;
		}
		free(names[i]);
	}
	free(names);
	return n_inputs > 1 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input_leaves_nothing),
		cmocka_unit_test(test_inputs_independent),
	};
	int r;

	if (load_corpus() < 0) {
		fprintf(stderr, "cannot read the corpus in %s\n", CORPUS_DIR);
		return 1;
	}
	r = cmocka_run_group_tests(tests, NULL, NULL);
	fuzz_inspect = NULL;
	sqlite3_finalize(fuzz_runs_count);
	db_close(fuzz_db);
	for (size_t i = 0; i < n_inputs; i++) {
		free(inputs[i].name);
		free(inputs[i].data);
	}
	free(inputs);
	return r;
}
