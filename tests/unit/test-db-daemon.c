/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the daemon's queries in store/ against a real SQLite file: the push
 * thread's (store/db-push.c: which runs have something to spool, a run's cycles from a
 * seq on, the push_runs record) and the runner's recovery query (store/db-runner.c: the
 * local runs left running, with the boot of their last cycle). What push_runs holds is
 * read through a second, plain SQLite connection, so the tests do not trust the code
 * under test to read back what it wrote.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db-push.h"
#include "db-runner.h"
#include "db.h"
#include "macro.h"
#include "model.h"
#include "records.h"

#define UUID_A	  "0b7e4c1a-3f2d-4e5b-9a8c-1d2e3f405162"
#define UUID_B	  "7f3c2a10-9d8e-4b6a-8c5d-0e1f2a3b4c5d"
#define UUID_C	  "c0ffee00-1234-4abc-8def-0123456789ab"
#define UUID_D	  "d00dfeed-5678-4abc-9def-0123456789ab"
#define BOOT_ID_1 "0d3e5c64-1a7b-4c8e-9f21-5a6b7c8d9e0f"
#define BOOT_ID_2 "1e4f6d75-2b8c-4d9f-8a32-6b7c8d9e0f1a"

struct fixture {
	char dir[64];
	char path[128];
	struct db *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-db-daemon.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/probestorm.db", f->dir);
	assert_int_equal(db_open(f->path, 0, &f->db), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	db_close(f->db);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int64_t add_run(struct db *db, const char *uuid, const char *campaign,
		       const char *status, bool local)
{
	struct run_record r = {};
	int64_t id = 0;

	snprintf(r.uuid, sizeof(r.uuid), "%s", uuid);
	r.campaign = xstrdup(campaign);
	r.scenario = xstrdup("unbind-bind-race");
	r.target = xstrdup("qemu-virt");
	r.target_kind = xstrdup("qemu");
	r.started_at = xstrdup("2026-11-24T06:00:00Z");
	r.status = xstrdup("running");
	r.kernel.release = xstrdup("7.3.0-rc2");
	r.kernel.version = xstrdup("#1 SMP PREEMPT Mon Nov 23 2026");
	r.kernel.cmdline = xstrdup("console=ttyAMA0");
	assert_int_equal(db_run_insert(db, &r, &id), 0);
	run_record_done(&r);
	if (!streq(status, "running"))
		assert_int_equal(
			db_run_finish(db, id, status, "2026-11-24T07:00:00Z", NULL), 0);
	if (local)
		assert_int_equal(db_run_mark_local(db, id), 0);
	return id;
}

static void add_cycle(struct db *db, int64_t run_id, int64_t seq, int boot,
		      const char *boot_id)
{
	struct cycle_record c = {};

	c.seq = seq;
	c.boot = boot;
	c.boot_id = xstrdup(boot_id);
	c.start_ns = 1000000000 + seq;
	c.end_ns = 1250000000 + seq;
	c.outcome = OUTCOME_OK;
	assert_int_equal(db_cycle_insert(db, run_id, &c, NULL), 0);
	cycle_record_done(&c);
}

static const struct db_push_run *find_push_run(const struct db_push_run *runs, size_t n,
					       int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (runs[i].run_id == id)
			return &runs[i];
	return NULL;
}

/* ---------------------------------------------------------------- push */

static void test_push_runs_changed(void **state)
{
	struct fixture *f = *state;
	struct db_push_run *runs = NULL;
	const struct db_push_run *p;
	int64_t a, b, c, d;
	size_t n = 99;

	/* an empty database: nothing, and an empty array */
	assert_int_equal(db_push_runs_changed(f->db, &runs, &n), 0);
	assert_int_equal(n, 0);
	assert_null(runs);

	a = add_run(f->db, UUID_A, "nightly", "running", true);	 /* never spooled */
	b = add_run(f->db, UUID_B, "nightly", "running", false); /* spooled, running */
	c = add_run(f->db, UUID_C, "nightly", "finished", true); /* spooled as finished */
	d = add_run(f->db, UUID_D, "nightly", "aborted", true);	 /* spooled as running */
	for (int64_t s = 0; s < 5; s++)
		add_cycle(f->db, b, s, 1, NULL);
	add_cycle(f->db, c, 0, 1, NULL);
	add_cycle(f->db, d, 7, 1, NULL);
	assert_int_equal(db_push_run_spooled(f->db, b, 3, "running", 1700000000), 0);
	assert_int_equal(db_push_run_spooled(f->db, c, 1, "finished", 1700000001), 0);
	assert_int_equal(db_push_run_spooled(f->db, d, 8, "running", 1700000002), 0);

	assert_int_equal(db_push_runs_changed(f->db, &runs, &n), 0);
	/* c is spooled in the status it has: nothing to do */
	assert_int_equal(n, 3);
	assert_null(find_push_run(runs, n, c));
	/* by row id */
	assert_int_equal(runs[0].run_id, a);
	assert_int_equal(runs[1].run_id, b);
	assert_int_equal(runs[2].run_id, d);

	p = find_push_run(runs, n, a);
	assert_string_equal(p->uuid, UUID_A);
	assert_true(p->running);
	assert_false(p->spooled);
	assert_int_equal(p->next_seq, 0);
	assert_int_equal(p->max_seq, -1);

	p = find_push_run(runs, n, b);
	assert_string_equal(p->uuid, UUID_B);
	assert_true(p->running);
	assert_true(p->spooled);
	assert_int_equal(p->next_seq, 3);
	assert_int_equal(p->spooled_at, 1700000000);
	assert_int_equal(p->max_seq, 4);

	/* the status changed since it was spooled */
	p = find_push_run(runs, n, d);
	assert_string_equal(p->uuid, UUID_D);
	assert_false(p->running);
	assert_true(p->spooled);
	assert_int_equal(p->next_seq, 8);
	assert_int_equal(p->spooled_at, 1700000002);
	assert_int_equal(p->max_seq, 7);
	free(runs);
}

static void test_push_cycle_seqs(void **state)
{
	struct fixture *f = *state;
	int64_t a, b, *seqs = NULL;
	size_t n = 99;

	a = add_run(f->db, UUID_A, "nightly", "running", true);
	b = add_run(f->db, UUID_B, "nightly", "running", true);
	/* inserted out of order, with a gap, and another run's cycles around them */
	for (int64_t s = 9; s >= 0; s -= 3)
		add_cycle(f->db, a, s, 1, NULL);
	for (int64_t s = 0; s < 12; s++)
		add_cycle(f->db, b, s, 1, NULL);

	assert_int_equal(db_push_cycle_seqs(f->db, a, 0, &seqs, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(seqs[0], 0);
	assert_int_equal(seqs[1], 3);
	assert_int_equal(seqs[2], 6);
	assert_int_equal(seqs[3], 9);
	free(seqs);

	/* from_seq itself is included */
	assert_int_equal(db_push_cycle_seqs(f->db, a, 6, &seqs, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(seqs[0], 6);
	assert_int_equal(seqs[1], 9);
	free(seqs);

	seqs = NULL;
	assert_int_equal(db_push_cycle_seqs(f->db, a, 10, &seqs, &n), 0);
	assert_int_equal(n, 0);
	assert_null(seqs);

	assert_int_equal(db_push_cycle_seqs(f->db, b, 11, &seqs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(seqs[0], 11);
	free(seqs);
}

static void test_push_run_spooled(void **state)
{
	struct fixture *f = *state;
	char sql[160];
	int64_t a;

	a = add_run(f->db, UUID_A, "nightly", "running", true);
	assert_int_equal(db_push_run_spooled(f->db, a, 4, "running", 1700000000), 0);
	snprintf(sql, sizeof(sql),
		 "SELECT next_seq * 1000 + (status = 'running') FROM push_runs "
		 "WHERE run_id = %lld AND spooled_at = 1700000000",
		 (long long)a);
	assert_int_equal(count_sql(f->path, sql), 4001);

	/* a second record replaces the first */
	assert_int_equal(db_push_run_spooled(f->db, a, 9, "finished", 1700000100), 0);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM push_runs"), 1);
	snprintf(sql, sizeof(sql),
		 "SELECT next_seq * 1000 + (status = 'finished') FROM push_runs "
		 "WHERE run_id = %lld AND spooled_at = 1700000100",
		 (long long)a);
	assert_int_equal(count_sql(f->path, sql), 9001);

	/* no such run; bad arguments: nothing written, and a message for the log */
	assert_int_equal(db_push_run_spooled(f->db, a + 100, 1, "running", 1), -ENOENT);
	assert_true(strlen(db_errmsg(f->db)) > 0);
	assert_int_equal(db_push_run_spooled(f->db, a, -1, "running", 1), -EINVAL);
	assert_int_equal(db_push_run_spooled(f->db, a, 1, NULL, 1), -EINVAL);
	assert_int_equal(count_sql(f->path, "SELECT COUNT(*) FROM push_runs"), 1);
}

/* ---------------------------------------------------------------- runner */

static void test_runner_runs_unfinished(void **state)
{
	struct fixture *f = *state;
	struct db_runner_run *runs = NULL;
	int64_t a, d;
	size_t n = 99;

	assert_int_equal(db_runner_runs_unfinished(f->db, &runs, &n), 0);
	assert_int_equal(n, 0);
	assert_null(runs);

	a = add_run(f->db, UUID_A, "nightly", "running", true);
	(void)add_run(f->db, UUID_B, "imported", "running", false); /* a rig's, pushed */
	(void)add_run(f->db, UUID_C, "done", "finished", true);
	d = add_run(f->db, UUID_D, "reboots", "running", true);
	/* a: the highest boot is 3, but the last cycle (by seq) is of boot 2 with no
	 * boot_id; d: no cycles */
	add_cycle(f->db, a, 0, 1, BOOT_ID_1);
	add_cycle(f->db, a, 1, 3, BOOT_ID_2);
	add_cycle(f->db, a, 2, 2, NULL);

	assert_int_equal(db_runner_runs_unfinished(f->db, &runs, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(runs[0].run_id, a);
	assert_string_equal(runs[0].uuid, UUID_A);
	assert_string_equal(runs[0].campaign, "nightly");
	assert_int_equal(runs[0].boot, 3);
	assert_null(runs[0].boot_id);
	assert_int_equal(runs[1].run_id, d);
	assert_string_equal(runs[1].uuid, UUID_D);
	assert_string_equal(runs[1].campaign, "reboots");
	assert_int_equal(runs[1].boot, 0);
	assert_null(runs[1].boot_id);
	db_runner_runs_free(runs, n);

	/* a new last cycle with a boot_id; d ended */
	add_cycle(f->db, a, 3, 3, BOOT_ID_1);
	assert_int_equal(db_run_finish(f->db, d, "interrupted", NULL, NULL), 0);
	assert_int_equal(db_runner_runs_unfinished(f->db, &runs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(runs[0].run_id, a);
	assert_int_equal(runs[0].boot, 3);
	assert_string_equal(runs[0].boot_id, BOOT_ID_1);
	db_runner_runs_free(runs, n);

	db_runner_runs_free(NULL, 0);
	db_runner_run_done(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_push_runs_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_cycle_seqs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_run_spooled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runner_runs_unfinished, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
