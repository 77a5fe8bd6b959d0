/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of cli/kcidb.c on a hand-built run and summary: names are sanitised into
 * path components, origins are checked, the report has one checkout, one build and, per
 * consumer, eight failure-class tests plus a summary with the right statuses, counts and
 * Wilson intervals (3 of 28: [0.0371, 0.2720], computed independently with Python), and
 * null-free optional fields. tests/cli/kcidb.sh checks the same on the recorded bundle.
 */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kcidb.h"
#include "model.h"

static void test_names(void **state)
{
	char *s = NULL;

	assert_true(kcidb_name_is_valid("probestorm"));
	assert_true(kcidb_name_is_valid("lab_1"));
	assert_false(kcidb_name_is_valid(""));
	assert_false(kcidb_name_is_valid(NULL));
	assert_false(kcidb_name_is_valid("Lab"));
	assert_false(kcidb_name_is_valid("lab-1"));

	assert_int_equal(kcidb_sanitize("Decon-CTL.0", &s), 0);
	assert_string_equal(s, "decon_ctl_0");
	free(s);
	assert_int_equal(kcidb_sanitize("", &s), 0);
	assert_string_equal(s, "_");
	free(s);
}

static json_t *summary_new(void)
{
	return json_pack("{si s[{ss si s{si si si si}}]}", "cycles", 28, "consumers",
			 "device", "decon-ctl", "observations", 28, "outcomes", "ok", 12,
			 "deferred_ok", 13, "late_iommu_probe", 3, "oops", 0);
}

static void run_init(struct run_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->uuid, "cfe72e22-7c67-4109-ba36-ca38a28ab4f0");
	r->scenario = (char *)"rebind-race";
	r->campaign = (char *)"e2e";
	r->started_at = (char *)"2026-11-24T07:00:00Z";
	r->target = (char *)"guest";
	r->target_kind = (char *)"local";
	r->kernel.release = (char *)"7.3.4";
	r->kernel.version = (char *)"#5 SMP";
	r->kernel.cmdline = (char *)"console=ttyAMA0";
	r->kernel.patches = (char *)"a.patch@1 b.patch@2";
}

static json_t *test_by_path(json_t *tests, const char *path)
{
	size_t i;
	json_t *t;

	json_array_foreach(tests, i, t)
		if (strcmp(json_string_value(json_object_get(t, "path")), path) == 0)
			return t;
	return NULL;
}

static void test_report(void **state)
{
	const struct kcidb_opts o = { .origin = "lab1", .architecture = "arm64" };
	struct run_record r;
	json_t *sum = summary_new(), *k = NULL, *t, *ci, *b, *c;
	const char *key;
	size_t i;

	run_init(&r);
	assert_non_null(sum);
	assert_int_equal(kcidb_from_summary(&r, sum, &o, &k), 0);
	assert_int_equal(json_integer_value(
				 json_object_get(json_object_get(k, "version"), "minor")),
			 3);
	assert_int_equal(json_array_size(json_object_get(k, "checkouts")), 1);
	assert_int_equal(json_array_size(json_object_get(k, "builds")), 1);
	assert_int_equal(json_array_size(json_object_get(k, "tests")), 9);

	/* no build id: checkout and build are keyed by the run */
	c = json_array_get(json_object_get(k, "checkouts"), 0);
	b = json_array_get(json_object_get(k, "builds"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "id")),
			    "lab1:cfe72e22-7c67-4109-ba36-ca38a28ab4f0");
	assert_null(json_object_get(c, "git_commit_hash"));
	assert_int_equal(
		json_array_size(json_object_get(json_object_get(c, "misc"), "patches")),
		2);
	/* the label is NULL: left out, not null */
	assert_null(json_object_get(json_object_get(c, "misc"), "label"));
	assert_string_equal(json_string_value(json_object_get(b, "checkout_id")),
			    json_string_value(json_object_get(c, "id")));
	assert_string_equal(json_string_value(json_object_get(b, "architecture")),
			    "arm64");
	key = json_string_value(json_object_get(b, "id"));

	json_array_foreach(json_object_get(k, "tests"), i, t) {
		assert_string_equal(json_string_value(json_object_get(t, "build_id")),
				    key);
		assert_string_equal(json_string_value(json_object_get(t, "origin")),
				    "lab1");
		assert_int_equal(strncmp(json_string_value(json_object_get(t, "path")),
					 "probestorm.rebind_race.decon_ctl", 32),
				 0);
	}
	t = test_by_path(json_object_get(k, "tests"),
			 "probestorm.rebind_race.decon_ctl.late_iommu_probe");
	assert_non_null(t);
	assert_string_equal(json_string_value(json_object_get(t, "status")), "FAIL");
	ci = json_object_get(json_object_get(t, "misc"), "wilson_95");
	assert_true(fabs(json_real_value(json_array_get(ci, 0)) - 0.0371) < 1e-4);
	assert_true(fabs(json_real_value(json_array_get(ci, 1)) - 0.2720) < 1e-4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(t, "misc"),
							    "occurrences")),
			 3);

	t = test_by_path(json_object_get(k, "tests"),
			 "probestorm.rebind_race.decon_ctl.oops");
	assert_non_null(t);
	assert_string_equal(json_string_value(json_object_get(t, "status")), "PASS");
	/* zero events: the one-sided bound 1 - 0.05^(1/28) */
	assert_true(fabs(json_real_value(json_object_get(json_object_get(t, "misc"),
							 "zero_events_upper_95")) -
			 0.1015) < 1e-4);
	/* a class absent from the summary counts as 0 */
	t = test_by_path(json_object_get(k, "tests"),
			 "probestorm.rebind_race.decon_ctl.hang");
	assert_string_equal(json_string_value(json_object_get(t, "status")), "PASS");

	t = test_by_path(json_object_get(k, "tests"), "probestorm.rebind_race.decon_ctl");
	assert_non_null(t);
	assert_string_equal(json_string_value(json_object_get(t, "status")), "FAIL");
	json_decref(k);
	json_decref(sum);
}

static void test_errors(void **state)
{
	struct run_record r;
	struct kcidb_opts bad = { .origin = "Bad-Origin" };
	json_t *sum = summary_new(), *k = (json_t *)&r, *empty = json_object();

	run_init(&r);
	assert_int_equal(kcidb_from_summary(&r, sum, &bad, &k), -EINVAL);
	assert_ptr_equal(k, (json_t *)&r); /* untouched on failure */
	bad.origin = NULL;
	bad.architecture = "ARM64";
	assert_int_equal(kcidb_from_summary(&r, sum, &bad, &k), -EINVAL);
	assert_int_equal(kcidb_from_summary(&r, empty, NULL, &k), -EBADMSG);
	r.scenario = NULL;
	assert_int_equal(kcidb_from_summary(&r, sum, NULL, &k), -EINVAL);
	assert_ptr_equal(k, (json_t *)&r);
	json_decref(sum);
	json_decref(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("kcidb", tests, NULL, NULL);
}
