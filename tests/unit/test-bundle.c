/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of store/bundle.c: JSON conversions of runs and cycles both ways, export of a
 * recorded run and its import into a fresh database (byte-identical on re-export), the
 * idempotence of a second import, all-or-nothing imports on malformed lines, and bundles
 * cut short by a dying producer (no "end" line, a torn last line).
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
#include <sqlite3.h>

#include "bundle.h"
#include "guestlog.h"
#include "db.h"
#include "macro.h"
#include "model.h"
#include "records.h"

#define UUID_A	 "0b7e4c1a-3f2d-4e5b-9a8c-1d2e3f405162"
#define UUID_B	 "7f3c2a10-9d8e-4b6a-8c5d-0e1f2a3b4c5d"
#define N_CYCLES 4

struct fixture {
	char dir[64];
	char path1[128], path2[128];
	struct db *db1, *db2;
};

/* ---------------------------------------------------------------- helpers */

static void make_run(struct run_record *r, const char *uuid)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	r->campaign = xstrdup("nightly");
	r->scenario = xstrdup("unbind-bind-race");
	r->scenario_text = xstrdup("unbind decon\nbind decon @150us \"quoted\" \\ back");
	r->target = xstrdup("qemu-virt");
	r->target_kind = xstrdup("qemu");
	r->hostname = xstrdup("rig-07");
	r->load_profile = xstrdup("cpu-heavy");
	r->load_args = xstrdup("--cpu 4");
	r->sweep_var = xstrdup("offset_us");
	r->cycles_planned = N_CYCLES;
	r->started_at = xstrdup("2026-11-24T06:00:00Z");
	r->status = xstrdup("running");
	r->kernel.release = xstrdup("7.3.0-rc2");
	r->kernel.version = xstrdup("#1 SMP PREEMPT");
	r->kernel.build_id = xstrdup("deadbeef");
	r->kernel.cmdline = xstrdup("console=ttyAMA0");
	r->kernel.label = xstrdup("lkml-v1");
	r->kernel.patches = NULL;
	r->kernel.fw_devlink = NULL;
	r->kernel.deferred_probe_timeout = xstrdup("5");
}

static void make_cycle(struct cycle_record *c, int64_t seq)
{
	memset(c, 0, sizeof(*c));
	c->seq = seq;
	c->boot = 1;
	c->has_sweep = seq % 2 == 0;
	c->sweep_value = seq * 1000 - 3;
	c->start_ns = 1000000000 + seq;
	c->end_ns = 1250000000 + seq;
	c->outcome = seq == 1 ? OUTCOME_HANG : OUTCOME_DEFERRED_OK;
	c->deferrals = (int)seq;
	c->note = seq == 1 ? xstrdup("bind: no return within 5 s") : NULL;
	/* cycles of older versions carry no boot_id */
	c->boot_id =
		seq % 3 == 0 ? NULL : xstrdup("5f0c2a9e-6d1b-4e7a-8c3f-2b9d4e6a1c70");

	c->n_actions = 2;
	c->actions = calloc(2, sizeof(*c->actions));
	assert_non_null(c->actions);
	c->actions[0] = (struct action_record){ .idx = 0,
						.group = -1,
						.verb = STEP_UNBIND,
						.arg = xstrdup("decon"),
						.start_ns = 1000000100,
						.end_ns = 1000200000 };
	c->actions[1] = (struct action_record){ .idx = 1,
						.group = 2,
						.verb = STEP_MODPROBE,
						.arg = xstrdup("exynos_sysmmu"),
						.params = xstrdup("a=1 b=\"x y\""),
						.offset_us = -20,
						.planned_ns = 1000300000 - 7000 - seq,
						.start_ns = 1000300000,
						.end_ns = seq == 1 ? 0 : 1000900000,
						.err = seq == 1 ? 0 : ENODEV,
						.hung = seq == 1 };

	c->n_observations = 1;
	c->observations = calloc(1, sizeof(*c->observations));
	assert_non_null(c->observations);
	c->observations[0] =
		(struct observation){ .device = xstrdup("decon"),
				      .consumer = true,
				      .driver = xstrdup("exynos-decon"),
				      .iommu_group = seq == 1 ? -1 : 3,
				      .domain_type = xstrdup("DMA-FQ"),
				      .time_to_bound_ns = seq == 1 ? -1 : 42000,
				      .deferrals = 1,
				      .deferred_reason =
					      xstrdup("supplier sysmmu1 not ready"),
				      .outcome = c->outcome };

	c->n_events = 2;
	c->events = calloc(2, sizeof(*c->events));
	assert_non_null(c->events);
	c->events[0] = (struct kernel_event){
		.source = SOURCE_KMSG,
		.class = EVENT_DEFERRED_TIMEOUT,
		.seq = 500 + seq * 2,
		.ts_ns = 1000500000,
		.prio = 4,
		.boot = 1,
		.device = xstrdup("platform:decon"),
		.message = xstrdup("deferred probe timeout, ignoring dependency"),
		.detail = xstrdup("line two\ttab")
	};
	c->events[1] = (struct kernel_event){ .source = SOURCE_TRACEFS,
					      .class = EVENT_IOMMU_TRACE,
					      .seq = seq,
					      .ts_ns = 7,
					      .prio = -1,
					      .boot = 1,
					      .message = xstrdup(
						      "add_device_to_group: group 3") };
}

/* A fingerprint of everything recorded: row counts of every table plus a digest of the
 * rows, so "unchanged" means unchanged and not just "as many rows". */
static char *db_digest(const char *path)
{
	static const char *const queries[] = {
		"SELECT group_concat(uuid || status || IFNULL(finished_at, '-'), ',') "
		"FROM runs",
		"SELECT COUNT(*) || '/' || group_concat(id, ',') FROM kernels",
		"SELECT COUNT(*) || '/' || group_concat(id, ',') FROM targets",
		"SELECT COUNT(*) || '/' || group_concat(run_id || ':' || seq || outcome, "
		"',') "
		"FROM cycles",
		"SELECT COUNT(*) FROM actions",
		"SELECT COUNT(*) FROM observations",
		"SELECT COUNT(*) || '/' || group_concat(seq || IFNULL(cycle_id, 'u'), "
		"',') "
		"FROM events",
	};
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	sqlite3 *s = NULL;

	assert_non_null(m);
	assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	for (size_t i = 0; i < ARRAY_SIZE(queries); i++) {
		sqlite3_stmt *st = NULL;
		const unsigned char *t;

		assert_int_equal(sqlite3_prepare_v2(s, queries[i], -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		t = sqlite3_column_text(st, 0);
		fprintf(m, "%s\n", t ? (const char *)t : "(null)");
		sqlite3_finalize(st);
	}
	sqlite3_close(s);
	fclose(m);
	return out;
}

/* Records a finished run with events outside cycles and N_CYCLES cycles in db. */
static void record_run(struct db *db, const char *uuid)
{
	struct run_record r;
	struct kernel_event e = { .source = SOURCE_PSTORE,
				  .class = EVENT_PANIC,
				  .seq = 0,
				  .ts_ns = 99,
				  .prio = 0,
				  .boot = 0 };
	int64_t id;

	make_run(&r, uuid);
	assert_int_equal(db_run_insert(db, &r, &id), 0);
	run_record_done(&r);

	e.message = xstrdup("Kernel panic - not syncing: Oops: Fatal exception");
	e.detail = xstrdup("{\"pstore\":\"dmesg-ramoops-0\"}");
	assert_int_equal(db_event_insert_unattached(db, id, &e), 1);
	kernel_event_done(&e);
	e = (struct kernel_event){ .source = SOURCE_KMSG,
				   .class = EVENT_INFO,
				   .seq = 0,
				   .ts_ns = 0,
				   .prio = 5,
				   .boot = 1,
				   .message = xstrdup("Linux version 7.3.0-rc2") };
	assert_int_equal(db_event_insert_unattached(db, id, &e), 1);
	kernel_event_done(&e);

	for (int i = 0; i < N_CYCLES; i++) {
		struct cycle_record c;

		make_cycle(&c, i);
		assert_int_equal(db_cycle_insert(db, id, &c, NULL), 0);
		cycle_record_done(&c);
	}
	assert_int_equal(db_run_finish(db, id, "finished", "2026-11-24T07:00:00Z",
				       "metrics:\n  bogo-ops: 12345\n"),
			 0);
}

/* noinline: GCC's -Wdangling-pointer mistakes the memstream's buffer for the local that
 * holds its address once this is inlined. */
__attribute__((noinline)) static char *export_to_string(struct db *db, const char *uuid,
							size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(bundle_export_run(db, uuid, m), 0);
	assert_int_equal(fclose(m), 0);
	if (ret_len)
		*ret_len = len;
	return buf;
}

static int import_string(struct db *db, const char *text, struct bundle_stats *st,
			 char **err)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	int r;

	assert_non_null(in);
	r = bundle_import(db, in, st, err);
	fclose(in);
	return r;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-bundle.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path1, sizeof(f->path1), "%s/one.db", f->dir);
	snprintf(f->path2, sizeof(f->path2), "%s/two.db", f->dir);
	assert_int_equal(db_open(f->path1, 0, &f->db1), 0);
	assert_int_equal(db_open(f->path2, 0, &f->db2), 0);
	*state = f;
	return 0;
}

static void remove_db(const char *path)
{
	char p[160];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	db_close(f->db1);
	db_close(f->db2);
	remove_db(f->path1);
	remove_db(f->path2);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_json_round_trip(void **state)
{
	struct run_record r, r2;
	struct cycle_record c, c2;
	json_t *j = NULL;
	char *err = NULL;

	(void)state;
	make_run(&r, UUID_A);
	assert_int_equal(bundle_run_to_json(&r, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "run");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "kernel"), "label")),
		"lkml-v1");
	/* NULL fields are absent. */
	assert_null(json_object_get(j, "finished_at"));
	assert_int_equal(bundle_run_from_json(j, &r2, &err), 0);
	assert_null(err);
	assert_string_equal(r2.uuid, UUID_A);
	assert_string_equal(r2.scenario_text, r.scenario_text);
	assert_string_equal(r2.kernel.deferred_probe_timeout, "5");
	assert_null(r2.kernel.patches);
	assert_null(r2.finished_at);
	assert_int_equal(r2.cycles_planned, N_CYCLES);
	run_record_done(&r2);

	/* A bad UUID names the field; the output stays untouched. */
	json_object_set_new(j, "uuid", json_string("not-a-uuid"));
	memset(&r2, 0x11, sizeof(r2));
	assert_int_equal(bundle_run_from_json(j, &r2, &err), -EBADMSG);
	assert_non_null(strstr(err, "uuid"));
	assert_int_equal(r2.cycles_planned, (int64_t)0x1111111111111111);
	free(err);
	err = NULL;
	json_decref(j);
	run_record_done(&r);

	make_cycle(&c, 2);
	assert_int_equal(bundle_cycle_to_json(UUID_A, &c, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j, "run")), UUID_A);
	assert_int_equal(json_integer_value(json_object_get(j, "sweep_value")), 1997);
	/* A planned start is written where there is one, and only there. */
	assert_null(json_object_get(json_array_get(json_object_get(j, "actions"), 0),
				    "planned_ns"));
	assert_int_equal(
		json_integer_value(json_object_get(
			json_array_get(json_object_get(j, "actions"), 1), "planned_ns")),
		1000300000 - 7000 - 2);
	assert_int_equal(bundle_cycle_from_json(j, &c2, NULL), 0);
	assert_cycle_equal(&c, &c2);
	cycle_record_done(&c2);
	/* A negative planned start is no CLOCK_MONOTONIC time. */
	json_object_set_new(json_array_get(json_object_get(j, "actions"), 1),
			    "planned_ns", json_integer(-1));
	assert_int_equal(bundle_cycle_from_json(j, &c2, &err), -EBADMSG);
	assert_string_equal(err, "cycle 2: actions[1]: \"planned_ns\" out of range: -1");
	free(err);
	err = NULL;
	json_object_del(json_array_get(json_object_get(j, "actions"), 1), "planned_ns");

	/* Errors name the element and field. */
	json_object_set_new(json_array_get(json_object_get(j, "actions"), 1), "verb",
			    json_string("explode"));
	assert_int_equal(bundle_cycle_from_json(j, &c2, &err), -EBADMSG);
	assert_string_equal(err, "cycle 2: actions[1]: unknown verb \"explode\"");
	free(err);
	err = NULL;
	json_object_set_new(j, "outcome", json_integer(3));
	assert_int_equal(bundle_cycle_from_json(j, &c2, &err), -EBADMSG);
	assert_string_equal(err, "cycle 2: \"outcome\" must be a string");
	free(err);
	json_decref(j);

	/* Without a run UUID (as inside a live stream's own framing). */
	c.has_sweep = false;
	assert_int_equal(bundle_cycle_to_json(NULL, &c, &j), 0);
	assert_null(json_object_get(j, "run"));
	assert_null(json_object_get(j, "sweep_value"));
	assert_int_equal(bundle_cycle_from_json(j, &c2, NULL), 0);
	assert_false(c2.has_sweep);
	cycle_record_done(&c2);
	json_decref(j);

	/* An invalid enum cannot be written. */
	c.outcome = (enum outcome)77;
	assert_int_equal(bundle_cycle_to_json(UUID_A, &c, &j), -EINVAL);
	cycle_record_done(&c);
}

/* jansson's dump of the cycle: bundle_cycle_format() must give these bytes and a '\n'. */
static char *jansson_dump(const struct cycle_record *c)
{
	json_t *j = NULL;
	char *s;

	assert_int_equal(bundle_cycle_to_json(UUID_A, c, &j), 0);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static void assert_formats_like_jansson(struct bundle_line *l,
					const struct cycle_record *c)
{
	char *want = jansson_dump(c);
	size_t n = strlen(want);

	assert_int_equal(bundle_cycle_format(l, UUID_A, c), 0);
	assert_int_equal(l->len, n + 1);
	assert_memory_equal(l->data, want, n);
	assert_int_equal(l->data[n], '\n');
	assert_int_equal(l->data[n + 1], '\0');
	free(want);
}

/* The runner's direct formatter against jansson: the fixture cycles, then text with every
 * byte value (escapes, UTF-8 of every length, invalid UTF-8, which jansson takes only with
 * its non-ASCII bytes replaced), random bytes, integers at their limits, and a line much
 * longer than the first one (the buffer is reused). The inflight line against json_pack's. */
static void test_line_format(_unused_ void **state)
{
	static const char *const texts[] = {
		"",
		"plain",
		"q\"uo\\te/slash",
		"\b\f\n\r\t\x01\x1f\x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"bad \xff byte \xc3\xa9",
		"overlong \xc0\xaf",
		"surrogate \xed\xa0\x80",
		"too big \xf4\x90\x80\x80",
		"cut \xe2\x82",
	};
	struct bundle_line l = { 0 };
	struct cycle_record c;
	unsigned seed = 42;

	for (int64_t i = 0; i < N_CYCLES; i++) {
		make_cycle(&c, i);
		assert_formats_like_jansson(&l, &c);
		cycle_record_done(&c);
	}
	make_cycle(&c, 0);
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		free(c.events[0].message);
		c.events[0].message = xstrdup(texts[i]);
		free(c.actions[0].arg);
		c.actions[0].arg = xstrdup(texts[ARRAY_SIZE(texts) - 1 - i]);
		assert_formats_like_jansson(&l, &c);
	}
	for (int round = 0; round < 2000; round++) {
		char text[24];
		size_t n = (size_t)(rand_r(&seed) % (sizeof(text) - 1));

		for (size_t i = 0; i < n; i++) {
			/* mostly the interesting bytes: controls, ASCII, UTF-8 lead and tail bytes */
			int v = rand_r(&seed) % 256;

			text[i] = (char)(v == 0 ? 'x' : v);
		}
		text[n] = '\0';
		free(c.events[1].message);
		c.events[1].message = xstrdup(text);
		assert_formats_like_jansson(&l, &c);
	}
	c.seq = INT64_MAX;
	c.start_ns = INT64_MIN;
	c.end_ns = -1;
	c.events[0].ts_ns = 0;
	c.events[0].seq = -9876543210;
	assert_formats_like_jansson(&l, &c);
	free(c.note);
	c.note = malloc(100001);
	assert_non_null(c.note);
	memset(c.note, 'n', 100000);
	c.note[100000] = '\0';
	assert_formats_like_jansson(&l, &c);
	cycle_record_done(&c);

	for (int with_group = 0; with_group < 2; with_group++) {
		const char *group =
			with_group ? "bind decon @0us, probe \"x\" @40us" : NULL;
		/* the swept cycle of a known boot says its boot_id and sweep value; the
		 * other one has neither (the lines of older versions) */
		char boot_id[] = "0d3e5c64-1a7b-4c8e-9f21-5a6b7c8d9e0f";
		struct cycle_record ic = { .seq = 7,
					   .has_sweep = with_group,
					   .sweep_value = 40000,
					   .boot_id = with_group ? boot_id : NULL };
		json_t *j =
			with_group ? json_pack("{s:s, s:s, s:I, s:s, s:I, s:i, s:s, s:s, "
					       "s:s?}",
					       "type", "inflight", "run", UUID_A, "cycle",
					       (json_int_t)7, "boot_id", boot_id,
					       "sweep_value", (json_int_t)40000, "action",
					       3, "verb", "bind", "arg", "decon", "group",
					       group)
				   : json_pack("{s:s, s:s, s:I, s:i, s:s, s:s, s:s?}",
					       "type", "inflight", "run", UUID_A, "cycle",
					       (json_int_t)7, "action", 3, "verb", "bind",
					       "arg", "decon", "group", group);
		char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

		assert_int_equal(bundle_inflight_format(&l, UUID_A, &ic, 3, "bind",
							"decon", group),
				 0);
		assert_int_equal(strncmp(l.data, s, strlen(s)), 0);
		assert_string_equal(l.data + strlen(s), "\n");
		free(s);
		json_decref(j);
	}
	bundle_line_done(&l);
	bundle_line_done(&l);
}

static void test_export_import_identical(void **state)
{
	struct fixture *f = *state;
	struct bundle_stats st;
	char *one, *two, *err = NULL;
	size_t len1, len2;
	struct run_record r;
	int64_t id;

	record_run(f->db1, UUID_A);
	one = export_to_string(f->db1, UUID_A, &len1);
	/* run line, 2 events, N cycles, end line */
	{
		size_t lines = 0;

		for (size_t i = 0; i < len1; i++)
			lines += one[i] == '\n';
		assert_int_equal(lines, 1 + 2 + N_CYCLES + 1);
		assert_int_equal(strncmp(one, "{\"type\":\"run\"", 13), 0);
		assert_non_null(strstr(one, "{\"type\":\"end\",\"run\":\"" UUID_A
					    "\",\"status\":\"finished\""));
	}

	memset(&st, 0xff, sizeof(st));
	assert_int_equal(import_string(f->db2, one, &st, &err), 0);
	assert_null(err);
	assert_int_equal(st.lines, 1 + 2 + N_CYCLES + 1);
	assert_int_equal(st.runs_inserted, 1);
	assert_int_equal(st.runs_present, 0);
	assert_int_equal(st.cycles_inserted, N_CYCLES);
	assert_int_equal(st.cycles_present, 0);
	assert_int_equal(st.events_inserted, 2);
	assert_int_equal(st.ends_applied, 1);
	assert_int_equal(st.ends_present, 0);
	assert_false(st.torn_tail);

	two = export_to_string(f->db2, UUID_A, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(one, two, len1);

	/* The imported run is the recorded run. */
	assert_int_equal(db_run_load(f->db2, UUID_A, &r), 0);
	assert_string_equal(r.status, "finished");
	assert_string_equal(r.finished_at, "2026-11-24T07:00:00Z");
	assert_string_equal(r.load_metrics, "metrics:\n  bogo-ops: 12345\n");
	assert_string_equal(r.kernel.build_id, "deadbeef");
	run_record_done(&r);
	assert_int_equal(db_run_find(f->db2, UUID_A, &id), 0);
	for (int i = 0; i < N_CYCLES; i++) {
		struct cycle_record want, got;

		make_cycle(&want, i);
		assert_int_equal(db_cycle_load(f->db2, id, i, &got), 0);
		assert_cycle_equal(&want, &got);
		cycle_record_done(&want);
		cycle_record_done(&got);
	}

	assert_int_equal(bundle_export_run(f->db2, UUID_B, stdout), -ENOENT);
	free(one);
	free(two);
}

/* Removes every ',"planned_ns":N' from text, in place: a bundle as written before
 * planned starts were recorded. Returns how many it removed. */
static int strip_planned(char *text)
{
	static const char key[] = ",\"planned_ns\":";
	char *p;
	int n = 0;

	while ((p = strstr(text, key))) {
		char *end = p + strlen(key);

		while (*end == '-' || (*end >= '0' && *end <= '9'))
			end++;
		memmove(p, end, strlen(end) + 1);
		n++;
	}
	return n;
}

/* A bundle from before planned starts were recorded imports, its actions without one,
 * and exports again byte for byte. */
static void test_import_old_bundle(void **state)
{
	struct fixture *f = *state;
	struct cycle_record c;
	struct bundle_stats st = {};
	char *text, *again, *err = NULL;
	int64_t run_id, late;
	FILE *in;

	record_run(f->db1, UUID_A);
	text = export_to_string(f->db1, UUID_A, NULL);
	assert_int_equal(strip_planned(text), N_CYCLES);
	assert_null(strstr(text, "planned_ns"));

	in = fmemopen(text, strlen(text), "r");
	assert_non_null(in);
	assert_int_equal(bundle_import(f->db2, in, &st, &err), 0);
	fclose(in);
	assert_null(err);
	assert_int_equal(st.cycles_inserted, N_CYCLES);
	assert_int_equal(count_sql(f->path2, "SELECT COUNT(*) FROM actions WHERE "
					     "planned_ns IS NOT NULL"),
			 0);
	assert_int_equal(db_run_find(f->db2, UUID_A, &run_id), 0);
	assert_int_equal(db_cycle_load(f->db2, run_id, 0, &c), 0);
	assert_int_equal(c.actions[1].planned_ns, 0);
	assert_false(cycle_record_max_lateness(&c, &late));
	cycle_record_done(&c);
	again = export_to_string(f->db2, UUID_A, NULL);
	assert_string_equal(text, again);
	free(again);
	free(text);
}

static void test_import_twice(void **state)
{
	struct fixture *f = *state;
	struct bundle_stats st;
	char *text, *before, *after;

	record_run(f->db1, UUID_A);
	text = export_to_string(f->db1, UUID_A, NULL);
	assert_int_equal(import_string(f->db2, text, &st, NULL), 0);
	assert_int_equal(st.cycles_inserted, N_CYCLES);
	before = db_digest(f->path2);

	assert_int_equal(import_string(f->db2, text, &st, NULL), 0);
	assert_int_equal(st.runs_inserted, 0);
	assert_int_equal(st.runs_present, 1);
	assert_int_equal(st.cycles_inserted, 0);
	assert_int_equal(st.cycles_present, N_CYCLES);
	assert_int_equal(st.events_inserted, 0);
	assert_int_equal(st.events_present, 2);
	assert_int_equal(st.ends_applied, 0);
	assert_int_equal(st.ends_present, 1);
	after = db_digest(f->path2);
	assert_string_equal(before, after);

	/* Into the database it came from: nothing new either. */
	free(before);
	before = db_digest(f->path1);
	assert_int_equal(import_string(f->db1, text, &st, NULL), 0);
	assert_int_equal(st.cycles_inserted + st.runs_inserted + st.events_inserted, 0);
	free(after);
	after = db_digest(f->path1);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(text);
}

static void test_malformed_line3(void **state)
{
	struct fixture *f = *state;
	struct bundle_stats st = { .lines = 12345 };
	char *text, *cut, *before, *after, *err = NULL;
	char *nl;

	/* db2 holds another run already; a failed import must leave it exactly so. */
	record_run(f->db2, UUID_B);
	before = db_digest(f->path2);

	record_run(f->db1, UUID_A);
	text = export_to_string(f->db1, UUID_A, NULL);
	/* Break line 3 (a complete line, not the tail): cut it after 10 bytes. */
	nl = strchr(text, '\n');
	nl = strchr(nl + 1, '\n');
	cut = strndup(text, (size_t)(nl - text) + 11);
	assert_non_null(cut);
	{
		char *bad = NULL;

		assert_true(asprintf(&bad, "%s\n%s", cut, strchr(nl + 1, '\n') + 1) > 0);
		free(cut);
		cut = bad;
	}
	assert_int_equal(import_string(f->db2, cut, &st, &err), -EBADMSG);
	assert_non_null(err);
	assert_int_equal(strncmp(err, "line 3: ", 8), 0);
	assert_int_equal(st.lines, 12345);
	free(err);
	err = NULL;
	after = db_digest(f->path2);
	assert_string_equal(before, after);
	assert_int_equal(db_run_find(f->db2, UUID_A, NULL), -ENOENT);
	free(after);
	free(cut);

	/* Valid JSON, invalid record at line 3: named precisely, nothing written. */
	{
		const char *bad_cycle = "{\"type\":\"cycle\",\"run\":\"" UUID_A
					"\",\"seq\":9,\"actions\":[]}\n";
		char *line1 = strndup(text, (size_t)(strchr(text, '\n') - text) + 1);
		char *line2 = NULL, *doc = NULL;
		struct cycle_record c;
		json_t *j;

		make_cycle(&c, 8);
		assert_int_equal(bundle_cycle_to_json(UUID_A, &c, &j), 0);
		cycle_record_done(&c);
		line2 = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		assert_true(asprintf(&doc, "%s%s\n%s", line1, line2, bad_cycle) > 0);
		assert_int_equal(import_string(f->db2, doc, &st, &err), -EBADMSG);
		assert_string_equal(err, "line 3: cycle 9: missing \"outcome\"");
		free(err);
		err = NULL;
		after = db_digest(f->path2);
		assert_string_equal(before, after);
		free(after);
		free(line1);
		free(line2);
		free(doc);
	}

	/* A record the schema refuses (event without seq) is -EBADMSG too. */
	{
		const char *doc =
			"{\"type\":\"event\",\"run\":\"" UUID_B "\",\"source\":\"kmsg\","
			"\"class\":\"info\",\"seq\":-1,\"message\":\"x\"}\n";

		assert_int_equal(import_string(f->db2, doc, &st, &err), -EBADMSG);
		assert_int_equal(strncmp(err, "line 1: ", 8), 0);
		free(err);
		err = NULL;
	}

	/* A line for a run nobody has heard of. */
	{
		const char *doc = "\n{\"type\":\"end\",\"run\":\"" UUID_A
				  "\",\"status\":\"finished\"}\n";

		assert_int_equal(import_string(f->db2, doc, &st, &err), -ENOENT);
		assert_non_null(strstr(err, "line 2: run " UUID_A " is not known"));
		free(err);
		err = NULL;
	}

	/* Unknown type, non-object, duplicate keys. */
	assert_int_equal(import_string(f->db2, "{\"type\":\"mystery\"}\n", &st, &err),
			 -EBADMSG);
	assert_string_equal(err, "line 1: unknown type \"mystery\"");
	free(err);
	err = NULL;
	assert_int_equal(import_string(f->db2, "[1,2]\n", &st, &err), -EBADMSG);
	assert_string_equal(err, "line 1: not a JSON object");
	free(err);
	err = NULL;
	assert_int_equal(
		import_string(f->db2, "{\"type\":\"end\",\"type\":\"end\"}\n", &st, &err),
		-EBADMSG);
	free(err);

	after = db_digest(f->path2);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(text);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct bundle_stats st;
	struct run_record r;
	char *text, *end, *torn;
	int64_t id, next;

	record_run(f->db1, UUID_A);
	text = export_to_string(f->db1, UUID_A, NULL);

	/* Without the end line: the guest died after its last cycle. */
	end = strstr(text, "{\"type\":\"end\"");
	assert_non_null(end);
	*end = '\0';
	assert_int_equal(import_string(f->db2, text, &st, NULL), 0);
	assert_int_equal(st.cycles_inserted, N_CYCLES);
	assert_int_equal(st.ends_applied + st.ends_present, 0);
	assert_false(st.torn_tail);
	assert_int_equal(db_run_load(f->db2, UUID_A, &r), 0);
	assert_string_equal(r.status, "running");
	assert_null(r.finished_at);
	assert_null(r.load_metrics);
	run_record_done(&r);
	assert_int_equal(db_run_find(f->db2, UUID_A, &id), 0);
	assert_int_equal(db_run_next_seq(f->db2, id, &next), 0);
	assert_int_equal(next, N_CYCLES);

	/* The host marks it; a later complete bundle still brings the end. */
	assert_int_equal(db_run_finish(f->db2, id, "interrupted", NULL, NULL), 0);
	assert_int_equal(db_run_load(f->db2, UUID_A, &r), 0);
	assert_string_equal(r.status, "interrupted");
	run_record_done(&r);
	free(text);

	/* Torn in the middle of the last cycle line: that line is skipped, rest kept. */
	text = export_to_string(f->db1, UUID_A, NULL);
	end = strstr(text, "{\"type\":\"end\"");
	*end = '\0';
	end[-1] = '\0'; /* drop the last cycle's newline... */
	torn = strrchr(text, '\n');
	assert_non_null(torn);
	torn[1 + 40] = '\0'; /* ...and cut that line after 40 bytes */
	db_close(f->db1);
	remove_db(f->path1);
	assert_int_equal(db_open(f->path1, 0, &f->db1), 0);
	assert_int_equal(import_string(f->db1, text, &st, NULL), 0);
	assert_true(st.torn_tail);
	assert_int_equal(st.cycles_inserted, N_CYCLES - 1);
	assert_int_equal(st.runs_inserted, 1);
	assert_int_equal(count_sql(f->path1, "SELECT COUNT(*) FROM cycles"),
			 N_CYCLES - 1);
	free(text);
}

static void test_live_stream(void **state)
{
	struct fixture *f = *state;
	struct bundle_stats st;
	struct run_record r, got;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	json_t *j;

	/* What the QEMU guest writes as it goes: run, cycles, end, one line each. */
	assert_non_null(m);
	make_run(&r, UUID_B);
	assert_int_equal(bundle_run_to_json(&r, &j), 0);
	assert_int_equal(bundle_write_line(m, j), 0);
	json_decref(j);
	for (int i = 0; i < 2; i++) {
		struct cycle_record c;

		make_cycle(&c, i);
		assert_int_equal(bundle_cycle_to_json(r.uuid, &c, &j), 0);
		assert_int_equal(bundle_write_line(m, j), 0);
		json_decref(j);
		cycle_record_done(&c);
	}
	assert_int_equal(bundle_end_to_json(r.uuid, "aborted", NULL,
					    "2026-11-24T08:00:00Z", NULL, &j),
			 0);
	assert_int_equal(bundle_write_line(m, j), 0);
	json_decref(j);
	fclose(m);

	assert_int_equal(import_string(f->db2, buf, &st, NULL), 0);
	assert_int_equal(st.runs_inserted, 1);
	assert_int_equal(st.cycles_inserted, 2);
	assert_int_equal(st.ends_applied, 1);
	assert_int_equal(db_run_load(f->db2, UUID_B, &got), 0);
	assert_string_equal(got.status, "aborted");
	assert_string_equal(got.finished_at, "2026-11-24T08:00:00Z");
	assert_string_equal(got.hostname, r.hostname);
	run_record_done(&got);
	run_record_done(&r);
	free(buf);
}

static void test_import_lines(void **state)
{
	struct fixture *f = *state;
	struct bundle_stats st = {};
	char *text, *again, *err = NULL;
	const char *p;
	size_t n_lines = 0;

	record_run(f->db1, UUID_A);
	text = export_to_string(f->db1, UUID_A, NULL);

	/* Line by line, as a host reading the guest's stream does. */
	for (p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

		assert_int_equal(bundle_import_line(f->db2, p, len, &st, &err), 0);
		assert_null(err);
		n_lines++;
		p += len;
	}
	assert_int_equal(bundle_import_line(f->db2, "  \r\n", 4, &st, NULL), 0);
	assert_int_equal(st.lines, n_lines);
	assert_int_equal(st.runs_inserted, 1);
	assert_int_equal(st.cycles_inserted, N_CYCLES);
	assert_int_equal(st.events_inserted, 2);
	assert_int_equal(st.ends_applied, 1);
	again = export_to_string(f->db2, UUID_A, NULL);
	assert_string_equal(text, again);
	free(again);

	/* Each line stands alone: a bad one fails without touching the others. */
	assert_int_equal(bundle_import_line(f->db2, "{\"type\":", 9, &st, &err),
			 -EBADMSG);
	assert_non_null(err);
	assert_null(strstr(err, "line "));
	free(err);
	err = NULL;
	p = "{\"type\":\"cycle\",\"run\":\"" UUID_B "\",\"seq\":0,\"outcome\":\"ok\"}";
	assert_int_equal(bundle_import_line(f->db2, p, strlen(p), &st, &err), -ENOENT);
	assert_non_null(strstr(err, UUID_B));
	free(err);
	assert_int_equal(st.lines, n_lines);
	assert_int_equal(count_sql(f->path2, "SELECT COUNT(*) FROM cycles"), N_CYCLES);
	free(text);
}

/* A QEMU guest that panicked mid-cycle: its stream ends with an "inflight" line and no
 * "end". Import skips the inflight line; the host then records the in-flight cycle as a
 * crash with the console's panic, once, and knows where the next boot resumes. */
static void test_guest_died(void **state)
{
	struct fixture *f = *state;
	struct guestlog_tail t;
	struct bundle_stats st;
	char console[160], *text, *end, *stream;
	FILE *in, *cf;

	record_run(f->db1, UUID_A);
	text = export_to_string(f->db1, UUID_A, NULL);
	end = strstr(text, "{\"type\":\"end\"");
	assert_non_null(end);
	*end = '\0';
	assert_true(asprintf(&stream,
			     "%s{\"type\":\"inflight\",\"run\":\"%s\",\"cycle\":%d,"
			     "\"sweep_value\":3997,"
			     "\"action\":3,\"verb\":\"bind\",\"arg\":\"decon\"}\n",
			     text, UUID_A, N_CYCLES) > 0);
	assert_int_equal(import_string(f->db2, stream, &st, NULL), 0);
	assert_int_equal(st.cycles_inserted, N_CYCLES);

	in = fmemopen(stream, strlen(stream), "r");
	assert_int_equal(guestlog_scan(in, &t), 0);
	fclose(in);
	assert_string_equal(t.uuid, UUID_A);
	assert_false(t.ended);
	assert_true(t.has_inflight);
	assert_int_equal(t.inflight_cycle, N_CYCLES);
	assert_true(t.inflight_has_sweep);
	assert_int_equal(t.inflight_sweep, 3997);
	assert_int_equal(t.last_cycle, N_CYCLES - 1);
	assert_int_equal(guestlog_resume_seq(&t), N_CYCLES + 1);

	snprintf(console, sizeof(console), "%s/console.log", f->dir);
	cf = fopen(console, "w");
	assert_non_null(cf);
	fputs("probestorm: cycle 2/3 ok\r\n"
	      "Unable to handle kernel NULL pointer dereference at virtual address "
	      "0000000000000000\r\n"
	      "Internal error: Oops: 0000000096000045 [#1] SMP\r\n"
	      "Kernel panic - not syncing: Oops: Fatal exception\r\n",
	      cf);
	fclose(cf);
	/* with a pstore record the next boot found (import --pstore-root) */
	struct kernel_event ps = { .source = SOURCE_PSTORE,
				   .class = EVENT_PANIC,
				   .seq = 0,
				   .prio = -1,
				   .boot = 1,
				   .message = (char *)"Kernel panic - not syncing: Oops",
				   .detail = (char *)"dmesg-ramoops-0" };
	assert_int_equal(
		guestlog_record_death(f->db2, &t, OUTCOME_CRASH, console, 0, &ps, 1), 0);
	assert_int_equal(count_sql(f->path2, "SELECT COUNT(*) FROM cycles"),
			 N_CYCLES + 1);
	assert_int_equal(count_sql(f->path2,
				   "SELECT COUNT(*) FROM events e JOIN cycles c ON "
				   "c.id = e.cycle_id WHERE c.seq = 4 AND e.source = "
				   "'pstore' AND e.boot = 1 AND e.class = 'panic'"),
			 1);
	assert_int_equal(count_sql(f->path2,
				   "SELECT COUNT(*) FROM cycles WHERE seq = 4 AND "
				   "outcome = 'crash' AND note LIKE '%bind decon%' AND "
				   "sweep_value = 3997"),
			 1);
	/* The crash counts for the run's consumer (the run line named none: the
	 * consumers its cycles observed), in the counts kept at ingest too. */
	assert_int_equal(count_sql(f->path2,
				   "SELECT COUNT(*) FROM observations o JOIN cycles c ON "
				   "c.id = o.cycle_id WHERE c.seq = 4 AND o.device = "
				   "'decon' AND o.consumer = 1 AND o.outcome = 'crash'"),
			 1);
	assert_int_equal(count_sql(f->path2,
				   "SELECT n FROM agg_outcomes WHERE device = 'decon' "
				   "AND outcome = 'crash' AND swept = 1 AND "
				   "sweep_value = 3997"),
			 1);
	assert_int_equal(count_sql(f->path2,
				   "SELECT COUNT(*) FROM actions WHERE verb = 'bind' "
				   "AND arg = 'decon' AND hung = 1 AND end_ns IS NULL"),
			 1);
	assert_int_equal(
		count_sql(f->path2,
			  "SELECT COUNT(*) FROM events WHERE source = "
			  "'console' AND class = 'panic' AND message LIKE "
			  "'Kernel panic - not syncing%' AND detail LIKE '%Oops%'"),
		1);
	/* Idempotent: the same death recorded twice changes nothing. */
	assert_int_equal(
		guestlog_record_death(f->db2, &t, OUTCOME_CRASH, console, 0, NULL, 0), 0);
	assert_int_equal(count_sql(f->path2, "SELECT COUNT(*) FROM cycles"),
			 N_CYCLES + 1);
	assert_int_equal(
		count_sql(f->path2,
			  "SELECT COUNT(*) FROM events WHERE source = 'console'"),
		1);
	unlink(console);
	free(stream);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_line_format),
		cmocka_unit_test_setup_teardown(test_export_import_identical, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_old_bundle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_line3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_died, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
