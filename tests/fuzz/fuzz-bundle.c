// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the bundle line parser and importer (store/bundle.c) into an in-memory
 * database. The input is imported as a bundle, inside a transaction that is rolled back
 * afterwards, so every input starts from the same empty database. What the import
 * promises is checked, not only that it does not crash:
 *  - when it succeeds and inserted something, importing the same bytes again succeeds
 *    and inserts nothing (idempotence; a conflict on the second import would mean the
 *    first one dropped or changed something);
 *  - when it fails, it leaves nothing behind (the run count is back to zero);
 *  - each line alone goes through bundle_import_line() (the live-stream path) too.
 * The database is opened once, with the schema applied, and every input runs inside a
 * transaction of its own that is rolled back: an input leaves nothing behind, not even in
 * the kept statements of store/ (tests/unit/test-fuzz-bundle.c includes this file and
 * checks that an input does and finds the same after any other input as alone).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bundle.h"
#include "db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one input did, for the test. */
struct fuzz_outcome {
	int import, reimport; /* bundle_import()'s results; reimport 1: not run */
	struct bundle_stats first, second;
	struct bundle_stats lines; /* of the lines bundle_import_line() took */
	size_t lines_failed;
};

static struct db *fuzz_db;
static sqlite3_stmt *fuzz_runs_count; /* kept: preparing it each time took 1% */
/* NULL while fuzzing; the test sets it to look at the database inside each transaction,
 * before it is rolled back (phase 0: after the imports, 1: after the lines). */
static void (*fuzz_inspect)(int phase);

static int64_t fuzz_count_runs(void)
{
	int64_t n = -1;

	if (!fuzz_runs_count &&
	    sqlite3_prepare_v2(db_sqlite(fuzz_db), "SELECT count(*) FROM runs", -1,
			       &fuzz_runs_count, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(fuzz_runs_count) == SQLITE_ROW)
		n = sqlite3_column_int64(fuzz_runs_count, 0);
	sqlite3_reset(fuzz_runs_count);
	return n;
}

static int fuzz_import(const uint8_t *data, size_t size, struct bundle_stats *st)
{
	FILE *f = fmemopen((void *)data, size, "r");
	char *err = NULL;
	int r;

	if (!f)
		abort();
	r = bundle_import(fuzz_db, f, st, &err);
	fclose(f);
	free(err);
	return r;
}

static void fuzz_one(const uint8_t *data, size_t size, struct fuzz_outcome *o)
{
	struct bundle_stats *a = &o->first, *b = &o->second;
	int r;

	*o = (struct fuzz_outcome){ .reimport = 1 };
	if (!fuzz_db && db_open(":memory:", 0, &fuzz_db) < 0)
		abort();
	if (db_begin(fuzz_db) < 0)
		abort();
	r = o->import = fuzz_import(data, size, a);
	/* The second import checks that the first recorded what it said it did. One that
	 * recorded nothing left the database as it was, so a second one would repeat it
	 * exactly: skipped (most inputs; it halved the exec rate). */
	if (r == 0 && (a->runs_inserted || a->cycles_inserted || a->events_inserted ||
		       a->ends_applied)) {
		r = o->reimport = fuzz_import(data, size, b);
		if (r != 0 || b->runs_inserted || b->cycles_inserted ||
		    b->events_inserted || b->ends_applied) {
			fprintf(stderr,
				"re-import: %d, %zu runs, %zu cycles, %zu events, "
				"%zu ends new\n",
				r, b->runs_inserted, b->cycles_inserted,
				b->events_inserted, b->ends_applied);
			abort();
		}
	} else if (r != -ENOMEM && fuzz_count_runs() != 0) {
		fprintf(stderr, "a failed import (%d) left runs behind\n", r);
		abort();
	}
	if (fuzz_inspect)
		fuzz_inspect(0);
	if (db_rollback(fuzz_db) < 0)
		abort();

	/* line by line, as a live stream arrives */
	if (db_begin(fuzz_db) < 0)
		abort();
	for (const uint8_t *p = data, *end = data + size; p < end;) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		char *err = NULL;

		if (bundle_import_line(fuzz_db, (const char *)p, len, &o->lines, &err) <
		    0)
			o->lines_failed++;
		free(err);
		p += len;
	}
	if (fuzz_inspect)
		fuzz_inspect(1);
	if (db_rollback(fuzz_db) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_outcome o;

	if (size == 0)
		return 0;
	fuzz_one(data, size, &o);
	return 0;
}
