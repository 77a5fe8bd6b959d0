/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * KCIDB v5.3 reports of recorded runs (kcidb.h). The mapping is written down in
 * docs/fleet.md; the field names follow kcidb-io's v5.3 schema, which forbids null values
 * and unknown properties, so absent data is left out and everything probestorm-specific
 * goes under "misc".
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "kcidb.h"
#include "macro.h"
#include "model.h"
#include "stats.h"
#include "util.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

bool kcidb_name_is_valid(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

int kcidb_sanitize(const char *s, char **ret)
{
	size_t n = strlen(s);
	char *out = malloc(n ? n + 1 : 2);

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[i] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
	}
	if (!n)
		out[n++] = '_';
	out[n] = '\0';
	*ret = out;
	return 0;
}

/* Sets o[key] to the string s; NULL leaves the key out (KCIDB allows no nulls). */
static int set_str(json_t *o, const char *key, const char *s)
{
	if (!s)
		return 0;
	return json_object_set_new(o, key, json_string(s)) < 0 ? -ENOMEM : 0;
}

static int set_new(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

/* "origin:rest" */
static json_t *id_new(const char *origin, const char *rest)
{
	_cleanup_free_ char *s = strprintf("%s:%s", origin, rest);

	return s ? json_string(s) : NULL;
}

/* "a b c" -> ["a","b","c"]; NULL or blank -> [] */
static json_t *words_new(const char *s)
{
	json_t *arr = json_array();

	while (arr && s && *s) {
		size_t n;

		s += strspn(s, " \t");
		n = strcspn(s, " \t");
		if (n && json_array_append_new(arr, json_stringn(s, n)) < 0) {
			json_decref(arr);
			return NULL;
		}
		s += n;
	}
	return arr;
}

/* {cycles, occurrences, rate, wilson_95: [lo, hi]} and, for no occurrence, the one-sided
 * exact bound DESIGN.md asks for instead of "0%": zero_events_upper_95. */
static int counts_new(int64_t k, int64_t n, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();
	struct stats_interval ci;
	double upper;
	int r;

	if (!o)
		return -ENOMEM;
	if (n <= 0 || k < 0 || k > n)
		return -EBADMSG;
	r = stats_wilson((uint64_t)k, (uint64_t)n, 0.95, &ci);
	if (r < 0)
		return r;
	if (set_new(o, "cycles", json_integer(n)) < 0 ||
	    set_new(o, "occurrences", json_integer(k)) < 0 ||
	    set_new(o, "rate", json_real((double)k / (double)n)) < 0 ||
	    set_new(o, "wilson_95", json_pack("[ff]", ci.lo, ci.hi)) < 0)
		return -ENOMEM;
	if (k == 0) {
		r = stats_zero_events_upper((uint64_t)n, 0.95, &upper);
		if (r < 0)
			return r;
		if (set_new(o, "zero_events_upper_95", json_real(upper)) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

static int checkout_new(const struct run_record *r, const char *origin, const char *key,
			json_t **ret)
{
	const struct kernel_identity *k = &r->kernel;
	_cleanup_json_ json_t *o = json_object(), *misc = json_object();
	_cleanup_free_ char *comment = NULL;

	comment = k->label ? strprintf("Linux %s (%s)", k->release, k->label)
			   : strprintf("Linux %s", k->release);
	if (!o || !misc || !comment)
		return -ENOMEM;
	/* No git_commit_hash: the identity does not know the source commit. */
	if (set_new(o, "id", id_new(origin, key)) < 0 ||
	    set_str(o, "origin", origin) < 0 || set_str(o, "comment", comment) < 0 ||
	    set_new(o, "valid", json_true()) < 0 ||
	    set_str(misc, "kernel_release", k->release) < 0 ||
	    set_str(misc, "kernel_version", k->version) < 0 ||
	    set_str(misc, "label", k->label) < 0 ||
	    set_new(misc, "patches", words_new(k->patches)) < 0 ||
	    set_new(o, "misc", TAKE_PTR(misc)) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

static int build_new(const struct run_record *r, const struct kcidb_opts *opts,
		     const char *origin, const char *key, json_t **ret)
{
	const struct kernel_identity *k = &r->kernel;
	_cleanup_json_ json_t *o = json_object(), *misc = json_object();

	if (!o || !misc)
		return -ENOMEM;
	/* PASS: the kernel was built and booted far enough to run the campaign. There is
	 * no config_name: the identity does not say which configuration was built. */
	if (set_new(o, "id", id_new(origin, key)) < 0 ||
	    set_str(o, "origin", origin) < 0 ||
	    set_new(o, "checkout_id", id_new(origin, key)) < 0 ||
	    set_str(o, "status", "PASS") < 0 ||
	    set_str(o, "architecture", opts->architecture) < 0 ||
	    set_str(misc, "build_id", k->build_id) < 0 ||
	    set_str(misc, "cmdline", k->cmdline) < 0 ||
	    set_str(misc, "fw_devlink", k->fw_devlink) < 0 ||
	    set_str(misc, "deferred_probe_timeout", k->deferred_probe_timeout) < 0 ||
	    set_new(o, "misc", TAKE_PTR(misc)) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

/* What every test of the run shares: origin, build_id, start_time, environment. */
static int test_base_new(const struct run_record *r, const char *origin, const char *key,
			 json_t **ret)
{
	_cleanup_json_ json_t *o = json_object(), *env = json_object(),
			      *env_misc = json_object();
	_cleanup_free_ char *comment = NULL;

	comment = strprintf(
		"probestorm target %s (%s) on %s", r->target ? r->target : "?",
		r->target_kind ? r->target_kind : "?", r->hostname ? r->hostname : "?");
	if (!o || !env || !env_misc || !comment)
		return -ENOMEM;
	if (set_str(o, "origin", origin) < 0 ||
	    set_new(o, "build_id", id_new(origin, key)) < 0 ||
	    set_str(o, "start_time", r->started_at) < 0 ||
	    set_str(env, "comment", comment) < 0 ||
	    set_str(env_misc, "target", r->target) < 0 ||
	    set_str(env_misc, "target_kind", r->target_kind) < 0 ||
	    set_str(env_misc, "hostname", r->hostname) < 0 ||
	    set_new(env, "misc", TAKE_PTR(env_misc)) < 0 ||
	    set_new(o, "environment", TAKE_PTR(env)) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

/* {uuid, campaign, status, load_profile, sweep_var}: which run a test comes from. */
static json_t *run_info_new(const struct run_record *r)
{
	json_t *o = json_object();

	if (o &&
	    (set_str(o, "uuid", r->uuid) < 0 || set_str(o, "campaign", r->campaign) < 0 ||
	     set_str(o, "status", r->status) < 0 ||
	     set_str(o, "load_profile", r->load_profile) < 0 ||
	     set_str(o, "sweep_var", r->sweep_var) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* One test: base + id "<origin>:<uuid>.<path>", path, status, misc (counts + run). */
static int test_append(json_t *tests, json_t *base, const struct run_record *r,
		       const char *origin, const char *path, bool failed, json_t *counts)
{
	_cleanup_json_ json_t *t = json_deep_copy(base), *misc = counts;
	_cleanup_free_ char *rest = strprintf("%s.%s", r->uuid, path);

	if (!t || !rest)
		return -ENOMEM;
	if (set_new(t, "id", id_new(origin, rest)) < 0 || set_str(t, "path", path) < 0 ||
	    set_str(t, "status", failed ? "FAIL" : "PASS") < 0 ||
	    set_new(misc, "run", run_info_new(r)) < 0 ||
	    set_new(t, "misc", TAKE_PTR(misc)) < 0 ||
	    json_array_append_new(tests, TAKE_PTR(t)) < 0)
		return -ENOMEM;
	return 0;
}

/* The tests of one consumer: each failure class, most severe first, then the summary. */
static int consumer_tests(json_t *tests, json_t *base, const struct run_record *run,
			  const char *origin, const char *scenario, json_t *consumer)
{
	const char *device = json_string_value(json_object_get(consumer, "device"));
	json_t *jn = json_object_get(consumer, "observations");
	json_t *outcomes = json_object_get(consumer, "outcomes");
	_cleanup_free_ char *dev = NULL, *prefix = NULL;
	int64_t n, failures = 0;
	json_t *counts;
	int r;

	if (!device || !json_is_integer(jn) || !json_is_object(outcomes))
		return -EBADMSG;
	n = json_integer_value(jn);
	if (n <= 0)
		return 0; /* never observed: nothing to say */
	r = kcidb_sanitize(device, &dev);
	if (r < 0)
		return r;
	prefix = strprintf("probestorm.%s.%s", scenario, dev);
	if (!prefix)
		return -ENOMEM;

	for (int oc = OUTCOME_CRASH; oc >= OUTCOME_UNBOUND; oc--) {
		const char *name = outcome_to_string(oc);
		json_t *jk = json_object_get(outcomes, name);
		_cleanup_free_ char *path = strprintf("%s.%s", prefix, name);
		int64_t k;

		if (!path)
			return -ENOMEM;
		if (jk && !json_is_integer(jk))
			return -EBADMSG;
		k = jk ? json_integer_value(jk) : 0;
		failures += k;
		r = counts_new(k, n, &counts);
		if (r < 0)
			return r;
		r = test_append(tests, base, run, origin, path, k > 0, counts);
		if (r < 0)
			return r;
	}

	/* The summary: failures are observations with any failure outcome (one outcome
	 * per observation, so they add up). */
	r = counts_new(failures, n, &counts);
	if (r < 0)
		return r;
	if (set_new(counts, "outcomes", json_deep_copy(outcomes)) < 0) {
		json_decref(counts);
		return -ENOMEM;
	}
	return test_append(tests, base, run, origin, prefix, failures > 0, counts);
}

int kcidb_from_summary(const struct run_record *run, json_t *summary,
		       const struct kcidb_opts *o, json_t **ret)
{
	static const struct kcidb_opts defaults = {};
	_cleanup_json_ json_t *out = NULL, *checkout = NULL, *build = NULL, *tests = NULL,
			      *base = NULL;
	_cleanup_free_ char *scenario = NULL;
	json_t *consumers, *c;
	const char *origin, *key;
	size_t i;
	int r;

	if (!o)
		o = &defaults;
	origin = o->origin ? o->origin : KCIDB_DEFAULT_ORIGIN;
	if (!kcidb_name_is_valid(origin) ||
	    (o->architecture && !kcidb_name_is_valid(o->architecture)))
		return -EINVAL;
	if (!run || !run->uuid[0] || !run->scenario || !run->started_at ||
	    !run->kernel.release)
		return -EINVAL;
	consumers = json_object_get(summary, "consumers");
	if (!json_is_array(consumers))
		return -EBADMSG;
	/* Runs of one kernel binary share its checkout and build. */
	key = run->kernel.build_id && *run->kernel.build_id ? run->kernel.build_id
							    : run->uuid;

	r = kcidb_sanitize(run->scenario, &scenario);
	if (r < 0)
		return r;
	r = checkout_new(run, origin, key, &checkout);
	if (r < 0)
		return r;
	r = build_new(run, o, origin, key, &build);
	if (r < 0)
		return r;
	r = test_base_new(run, origin, key, &base);
	if (r < 0)
		return r;
	tests = json_array();
	if (!tests)
		return -ENOMEM;
	json_array_foreach(consumers, i, c) {
		r = consumer_tests(tests, base, run, origin, scenario, c);
		if (r < 0)
			return r;
	}

	out = json_object();
	if (!out ||
	    set_new(out, "version",
		    json_pack("{sisi}", "major", KCIDB_VERSION_MAJOR, "minor",
			      KCIDB_VERSION_MINOR)) < 0 ||
	    set_new(out, "checkouts", json_pack("[o]", TAKE_PTR(checkout))) < 0 ||
	    set_new(out, "builds", json_pack("[o]", TAKE_PTR(build))) < 0 ||
	    set_new(out, "tests", TAKE_PTR(tests)) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

int kcidb_export_run(struct db *db, const char *uuid, const struct kcidb_opts *o,
		     json_t **ret)
{
	struct run_record run = {};
	json_t *summary = NULL;
	int r, rc;

	r = db_begin_read(db);
	if (r < 0)
		return r;
	r = db_run_load(db, uuid, &run);
	if (r >= 0)
		r = db_query_run_summary(db, uuid, &summary);
	rc = db_commit(db);
	if (r >= 0 && rc < 0)
		r = rc;
	if (r >= 0)
		r = kcidb_from_summary(&run, summary, o, ret);
	json_decref(summary);
	run_record_done(&run);
	return r;
}
