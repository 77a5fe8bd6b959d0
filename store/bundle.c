/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NDJSON bundles (bundle.h): conversions between the model and JSON objects, export of a
 * recorded run, and the idempotent import that export, the QEMU guest's live stream and
 * rig pushes all feed. Parsing is strict about types and names the offending field, so
 * an import error reads "line N: cycle 7: actions[2]: missing \"verb\"".
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "db.h"
#include "macro.h"
#include "model.h"
#include "util.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

static const char *const run_statuses[] = { "running", "finished", "aborted",
					    "interrupted" };

static bool run_status_is_valid(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(run_statuses); i++)
		if (s && streq(s, run_statuses[i]))
			return true;
	return false;
}

/* UUIDs are compared as strings: an upper-case spelling must not make a second run. */
static void uuid_canonicalize(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

static bool str_eq_null(const char *a, const char *b)
{
	return a == b || (a && b && streq(a, b));
}

/* ---- model -> JSON --------------------------------------------------------------- */

/* json_string() refuses bytes that are not UTF-8; kernel text may hold some. Those bytes
 * become '?' rather than losing the record. */
static json_t *json_text(const char *s)
{
	_cleanup_free_ char *clean = NULL;
	json_t *j = json_string(s);

	if (j)
		return j;
	clean = strdup(s);
	if (!clean)
		return NULL;
	for (char *p = clean; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return json_string(clean);
}

/* The setters leave NULL strings out and return 0 or -ENOMEM (jansson's *_new functions
 * release the value when they fail). */
static int set_str(json_t *o, const char *key, const char *v)
{
	if (!v)
		return 0;
	return json_object_set_new(o, key, json_text(v)) < 0 ? -ENOMEM : 0;
}

static int set_int(json_t *o, const char *key, int64_t v)
{
	return json_object_set_new(o, key, json_integer(v)) < 0 ? -ENOMEM : 0;
}

static int set_bool(json_t *o, const char *key, bool v)
{
	return json_object_set_new(o, key, json_boolean(v)) < 0 ? -ENOMEM : 0;
}

static int kernel_to_json(const struct kernel_identity *k, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();

	if (!o || set_str(o, "release", k->release) < 0 ||
	    set_str(o, "version", k->version) < 0 ||
	    set_str(o, "build_id", k->build_id) < 0 ||
	    set_str(o, "cmdline", k->cmdline) < 0 || set_str(o, "label", k->label) < 0 ||
	    set_str(o, "patches", k->patches) < 0 ||
	    set_str(o, "fw_devlink", k->fw_devlink) < 0 ||
	    set_str(o, "deferred_probe_timeout", k->deferred_probe_timeout) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

int bundle_run_to_json(const struct run_record *r, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();
	json_t *k;

	if (!o || set_str(o, "type", "run") < 0 || set_str(o, "uuid", r->uuid) < 0 ||
	    set_str(o, "campaign", r->campaign) < 0 ||
	    set_str(o, "scenario", r->scenario) < 0 ||
	    set_str(o, "scenario_text", r->scenario_text) < 0 ||
	    set_str(o, "target", r->target) < 0 ||
	    set_str(o, "target_kind", r->target_kind) < 0 ||
	    set_str(o, "hostname", r->hostname) < 0 ||
	    set_str(o, "load_profile", r->load_profile) < 0 ||
	    set_str(o, "load_args", r->load_args) < 0 ||
	    set_str(o, "load_metrics", r->load_metrics) < 0 ||
	    set_str(o, "sweep_var", r->sweep_var) < 0 ||
	    set_str(o, "consumers", r->consumers) < 0 ||
	    set_int(o, "cycles_planned", r->cycles_planned) < 0 ||
	    set_str(o, "started_at", r->started_at) < 0 ||
	    set_str(o, "finished_at", r->finished_at) < 0 ||
	    set_str(o, "status", r->status) < 0)
		return -ENOMEM;
	if (kernel_to_json(&r->kernel, &k) < 0 || json_object_set_new(o, "kernel", k) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

static int event_fields_to_json(json_t *o, const struct kernel_event *e)
{
	const char *source = event_source_to_string(e->source);
	const char *class = event_class_to_string(e->class);

	if (!source || !class)
		return -EINVAL;
	if (set_int(o, "boot", e->boot) < 0 || set_str(o, "source", source) < 0 ||
	    set_str(o, "class", class) < 0 || set_int(o, "seq", e->seq) < 0 ||
	    set_int(o, "ts_ns", e->ts_ns) < 0 || set_int(o, "prio", e->prio) < 0 ||
	    set_str(o, "device", e->device) < 0 ||
	    set_str(o, "message", e->message) < 0 || set_str(o, "detail", e->detail) < 0)
		return -ENOMEM;
	return 0;
}

int bundle_event_to_json(const char *run_uuid, const struct kernel_event *e, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();
	int r;

	if (!o)
		return -ENOMEM;
	if (run_uuid &&
	    (set_str(o, "type", "event") < 0 || set_str(o, "run", run_uuid) < 0))
		return -ENOMEM;
	r = event_fields_to_json(o, e);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

static int action_to_json(const struct action_record *a, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();
	const char *verb = step_verb_to_string(a->verb);

	if (!verb)
		return -EINVAL;
	if (!o || set_int(o, "idx", a->idx) < 0 || set_int(o, "group", a->group) < 0 ||
	    set_str(o, "verb", verb) < 0 || set_str(o, "arg", a->arg) < 0 ||
	    set_str(o, "params", a->params) < 0 ||
	    set_int(o, "offset_us", a->offset_us) < 0 ||
	    (a->planned_ns != 0 && set_int(o, "planned_ns", a->planned_ns) < 0) ||
	    set_int(o, "start_ns", a->start_ns) < 0 ||
	    set_int(o, "end_ns", a->end_ns) < 0 || set_int(o, "err", a->err) < 0 ||
	    set_bool(o, "hung", a->hung) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

static int observation_to_json(const struct observation *ob, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();
	const char *outcome = outcome_to_string(ob->outcome);

	if (!outcome)
		return -EINVAL;
	if (!o || set_str(o, "device", ob->device) < 0 ||
	    set_bool(o, "consumer", ob->consumer) < 0 ||
	    set_str(o, "driver", ob->driver) < 0 ||
	    set_int(o, "iommu_group", ob->iommu_group) < 0 ||
	    set_str(o, "domain_type", ob->domain_type) < 0 ||
	    set_int(o, "time_to_bound_ns", ob->time_to_bound_ns) < 0 ||
	    set_int(o, "deferrals", ob->deferrals) < 0 ||
	    set_str(o, "deferred_reason", ob->deferred_reason) < 0 ||
	    set_str(o, "outcome", outcome) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

int bundle_cycle_to_json(const char *run_uuid, const struct cycle_record *c, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();
	json_t *actions, *observations, *events;
	const char *outcome = outcome_to_string(c->outcome);
	int r;

	if (!outcome)
		return -EINVAL;
	if (!o || set_str(o, "type", "cycle") < 0 || set_str(o, "run", run_uuid) < 0 ||
	    set_int(o, "seq", c->seq) < 0 || set_int(o, "boot", c->boot) < 0 ||
	    set_str(o, "boot_id", c->boot_id) < 0 ||
	    (c->has_sweep && set_int(o, "sweep_value", c->sweep_value) < 0) ||
	    set_int(o, "start_ns", c->start_ns) < 0 ||
	    set_int(o, "end_ns", c->end_ns) < 0 || set_str(o, "outcome", outcome) < 0 ||
	    set_int(o, "deferrals", c->deferrals) < 0 || set_str(o, "note", c->note) < 0)
		return -ENOMEM;

	/* The arrays are attached first so that o owns them on every later failure. */
	actions = json_array();
	if (json_object_set_new(o, "actions", actions) < 0)
		return -ENOMEM;
	observations = json_array();
	if (json_object_set_new(o, "observations", observations) < 0)
		return -ENOMEM;
	events = json_array();
	if (json_object_set_new(o, "events", events) < 0)
		return -ENOMEM;

	for (size_t i = 0; i < c->n_actions; i++) {
		json_t *a;

		r = action_to_json(&c->actions[i], &a);
		if (r < 0)
			return r;
		if (json_array_append_new(actions, a) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_observations; i++) {
		json_t *ob;

		r = observation_to_json(&c->observations[i], &ob);
		if (r < 0)
			return r;
		if (json_array_append_new(observations, ob) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_events; i++) {
		json_t *e;

		r = bundle_event_to_json(NULL, &c->events[i], &e);
		if (r < 0)
			return r;
		if (json_array_append_new(events, e) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

int bundle_end_to_json(const char *run_uuid, const char *status, const char *reason,
		       const char *finished_at, const char *load_metrics, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();

	if (!o || set_str(o, "type", "end") < 0 || set_str(o, "run", run_uuid) < 0 ||
	    set_str(o, "status", status) < 0 || set_str(o, "reason", reason) < 0 ||
	    set_str(o, "finished_at", finished_at) < 0 ||
	    set_str(o, "load_metrics", load_metrics) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

/* Writes all of buf to fd. 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- model -> NDJSON line, directly --------------------------------------------------- */

/*
 * The runner streams a cycle per cycle and an "inflight" line per step; building a jansson
 * tree for each and dumping it cost a QEMU guest ~1 ms per cycle. These formatters write
 * the same bytes as json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) of the *_to_json
 * objects into a reused buffer (tests/unit/test-bundle.c compares the two).
 */

void bundle_line_done(struct bundle_line *l)
{
	if (!l)
		return;
	free(l->data);
	*l = (struct bundle_line){ 0 };
}

static int line_reserve(struct bundle_line *l, size_t more)
{
	size_t cap;
	char *d;

	if (l->len + more + 1 <= l->cap)
		return 0;
	cap = l->cap ? l->cap : 1024;
	while (cap < l->len + more + 1)
		cap *= 2;
	d = realloc(l->data, cap);
	if (!d)
		return -ENOMEM;
	l->data = d;
	l->cap = cap;
	return 0;
}

static int line_put(struct bundle_line *l, const char *s, size_t n)
{
	if (line_reserve(l, n) < 0)
		return -ENOMEM;
	memcpy(l->data + l->len, s, n);
	l->len += n;
	l->data[l->len] = '\0';
	return 0;
}

static int line_puts(struct bundle_line *l, const char *s)
{
	return line_put(l, s, strlen(s));
}

/* The length of the UTF-8 sequence at s as jansson accepts it (no overlong forms, no
 * surrogates, nothing above U+10FFFF), 0 when it is not one. */
static size_t utf8_seq_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000))
		return 0;
	return n;
}

static bool utf8_valid(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_seq_len(p);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/* A JSON string as jansson dumps it; text that is not UTF-8 has its non-ASCII bytes
 * replaced by '?', as json_text() does. */
static int line_string(struct bundle_line *l, const char *s)
{
	bool clean = utf8_valid(s);
	const char *run = s;
	const char *p;

	if (line_put(l, "\"", 1) < 0)
		return -ENOMEM;
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[8];
		const char *e = NULL;

		if (c >= 0x80 && !clean)
			e = "?";
		else if (c == '"')
			e = "\\\"";
		else if (c == '\\')
			e = "\\\\";
		else if (c < 0x20) {
			switch (c) {
			case '\b': e = "\\b"; break;
			case '\f': e = "\\f"; break;
			case '\n': e = "\\n"; break;
			case '\r': e = "\\r"; break;
			case '\t': e = "\\t"; break;
			default: snprintf(esc, sizeof(esc), "\\u%04X", c); e = esc;
			}
		}
		if (!e)
			continue;
		if (line_put(l, run, (size_t)(p - run)) < 0 || line_puts(l, e) < 0)
			return -ENOMEM;
		run = p + 1;
	}
	if (line_put(l, run, (size_t)(p - run)) < 0 || line_put(l, "\"", 1) < 0)
		return -ENOMEM;
	return 0;
}

/* ,"key": (no comma before the first member of an object) */
static int line_key(struct bundle_line *l, bool *first, const char *key)
{
	if (!*first && line_put(l, ",", 1) < 0)
		return -ENOMEM;
	*first = false;
	if (line_put(l, "\"", 1) < 0 || line_puts(l, key) < 0 ||
	    line_put(l, "\":", 2) < 0)
		return -ENOMEM;
	return 0;
}

/* The setters, like set_str() and friends: a NULL string is left out. */
static int line_str(struct bundle_line *l, bool *first, const char *key, const char *v)
{
	if (!v)
		return 0;
	return line_key(l, first, key) < 0 ? -ENOMEM : line_string(l, v);
}

/* A cycle holds ~180 integers: digits by hand, snprintf() took a third of the line's time
 * in the guest. */
static int line_int(struct bundle_line *l, bool *first, const char *key, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (v < 0)
		*--p = '-';
	if (line_key(l, first, key) < 0)
		return -ENOMEM;
	return line_put(l, p, (size_t)(num + sizeof(num) - p));
}

static int line_bool(struct bundle_line *l, bool *first, const char *key, bool v)
{
	return line_key(l, first, key) < 0 ? -ENOMEM : line_puts(l, v ? "true" : "false");
}

static int line_action(struct bundle_line *l, const struct action_record *a)
{
	const char *verb = step_verb_to_string(a->verb);
	bool first = true;

	if (!verb)
		return -EINVAL;
	if (line_put(l, "{", 1) < 0 || line_int(l, &first, "idx", a->idx) < 0 ||
	    line_int(l, &first, "group", a->group) < 0 ||
	    line_str(l, &first, "verb", verb) < 0 ||
	    line_str(l, &first, "arg", a->arg) < 0 ||
	    line_str(l, &first, "params", a->params) < 0 ||
	    line_int(l, &first, "offset_us", a->offset_us) < 0 ||
	    (a->planned_ns != 0 &&
	     line_int(l, &first, "planned_ns", a->planned_ns) < 0) ||
	    line_int(l, &first, "start_ns", a->start_ns) < 0 ||
	    line_int(l, &first, "end_ns", a->end_ns) < 0 ||
	    line_int(l, &first, "err", a->err) < 0 ||
	    line_bool(l, &first, "hung", a->hung) < 0 || line_put(l, "}", 1) < 0)
		return -ENOMEM;
	return 0;
}

static int line_observation(struct bundle_line *l, const struct observation *ob)
{
	const char *outcome = outcome_to_string(ob->outcome);
	bool first = true;

	if (!outcome)
		return -EINVAL;
	if (line_put(l, "{", 1) < 0 || line_str(l, &first, "device", ob->device) < 0 ||
	    line_bool(l, &first, "consumer", ob->consumer) < 0 ||
	    line_str(l, &first, "driver", ob->driver) < 0 ||
	    line_int(l, &first, "iommu_group", ob->iommu_group) < 0 ||
	    line_str(l, &first, "domain_type", ob->domain_type) < 0 ||
	    line_int(l, &first, "time_to_bound_ns", ob->time_to_bound_ns) < 0 ||
	    line_int(l, &first, "deferrals", ob->deferrals) < 0 ||
	    line_str(l, &first, "deferred_reason", ob->deferred_reason) < 0 ||
	    line_str(l, &first, "outcome", outcome) < 0 || line_put(l, "}", 1) < 0)
		return -ENOMEM;
	return 0;
}

static int line_event(struct bundle_line *l, const struct kernel_event *e)
{
	const char *source = event_source_to_string(e->source);
	const char *class = event_class_to_string(e->class);
	bool first = true;

	if (!source || !class)
		return -EINVAL;
	if (line_put(l, "{", 1) < 0 || line_int(l, &first, "boot", e->boot) < 0 ||
	    line_str(l, &first, "source", source) < 0 ||
	    line_str(l, &first, "class", class) < 0 ||
	    line_int(l, &first, "seq", e->seq) < 0 ||
	    line_int(l, &first, "ts_ns", e->ts_ns) < 0 ||
	    line_int(l, &first, "prio", e->prio) < 0 ||
	    line_str(l, &first, "device", e->device) < 0 ||
	    line_str(l, &first, "message", e->message) < 0 ||
	    line_str(l, &first, "detail", e->detail) < 0 || line_put(l, "}", 1) < 0)
		return -ENOMEM;
	return 0;
}

int bundle_cycle_format(struct bundle_line *l, const char *run_uuid,
			const struct cycle_record *c)
{
	const char *outcome = outcome_to_string(c->outcome);
	bool first = true;
	int r;

	if (!outcome)
		return -EINVAL;
	l->len = 0;
	if (line_put(l, "{", 1) < 0 || line_str(l, &first, "type", "cycle") < 0 ||
	    line_str(l, &first, "run", run_uuid) < 0 ||
	    line_int(l, &first, "seq", c->seq) < 0 ||
	    line_int(l, &first, "boot", c->boot) < 0 ||
	    line_str(l, &first, "boot_id", c->boot_id) < 0 ||
	    (c->has_sweep && line_int(l, &first, "sweep_value", c->sweep_value) < 0) ||
	    line_int(l, &first, "start_ns", c->start_ns) < 0 ||
	    line_int(l, &first, "end_ns", c->end_ns) < 0 ||
	    line_str(l, &first, "outcome", outcome) < 0 ||
	    line_int(l, &first, "deferrals", c->deferrals) < 0 ||
	    line_str(l, &first, "note", c->note) < 0 ||
	    line_key(l, &first, "actions") < 0 || line_put(l, "[", 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_actions; i++) {
		if (i > 0 && line_put(l, ",", 1) < 0)
			return -ENOMEM;
		r = line_action(l, &c->actions[i]);
		if (r < 0)
			return r;
	}
	if (line_put(l, "]", 1) < 0 || line_key(l, &first, "observations") < 0 ||
	    line_put(l, "[", 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_observations; i++) {
		if (i > 0 && line_put(l, ",", 1) < 0)
			return -ENOMEM;
		r = line_observation(l, &c->observations[i]);
		if (r < 0)
			return r;
	}
	if (line_put(l, "]", 1) < 0 || line_key(l, &first, "events") < 0 ||
	    line_put(l, "[", 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_events; i++) {
		if (i > 0 && line_put(l, ",", 1) < 0)
			return -ENOMEM;
		r = line_event(l, &c->events[i]);
		if (r < 0)
			return r;
	}
	if (line_put(l, "]}\n", 3) < 0)
		return -ENOMEM;
	return 0;
}

int bundle_inflight_format(struct bundle_line *l, const char *run_uuid,
			   const struct cycle_record *c, int action, const char *verb,
			   const char *arg, const char *group)
{
	bool first = true;

	l->len = 0;
	if (line_put(l, "{", 1) < 0 || line_str(l, &first, "type", "inflight") < 0 ||
	    line_str(l, &first, "run", run_uuid) < 0 ||
	    line_int(l, &first, "cycle", c->seq) < 0 ||
	    (c->boot > 0 && line_int(l, &first, "boot", c->boot) < 0) ||
	    (c->boot_id && line_str(l, &first, "boot_id", c->boot_id) < 0) ||
	    (c->has_sweep && line_int(l, &first, "sweep_value", c->sweep_value) < 0) ||
	    line_int(l, &first, "action", action) < 0 ||
	    line_str(l, &first, "verb", verb) < 0 ||
	    line_str(l, &first, "arg", arg) < 0 ||
	    (group				? line_str(l, &first, "group", group)
	     : line_key(l, &first, "group") < 0 ? -ENOMEM
						: line_puts(l, "null")) < 0 ||
	    line_put(l, "}\n", 2) < 0)
		return -ENOMEM;
	return 0;
}

int bundle_line_write(FILE *out, const struct bundle_line *l)
{
	int fd = fileno(out);

	if (fd < 0) {
		if (fwrite(l->data, 1, l->len, out) != l->len || fflush(out) == EOF)
			return -EIO;
		return 0;
	}
	if (fflush(out) == EOF)
		return -EIO;
	return write_all(fd, l->data, l->len) < 0 ? -EIO : 0;
}

static int write_line(FILE *out, json_t *j, bool flush)
{
	/* Key order is insertion order (always, since jansson 2.8), which makes an export
	 * byte-for-byte reproducible. */
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct bundle_line l;

	if (!s)
		return -ENOMEM;
	if (!flush) {
		if (fputs(s, out) == EOF || fputc('\n', out) == EOF)
			return -EIO;
		return 0;
	}
	l = (struct bundle_line){ .data = s, .len = strlen(s) };
	l.cap = l.len + 1;
	if (line_put(&l, "\n", 1) < 0)
		return -ENOMEM;
	s = l.data;
	return bundle_line_write(out, &l);
}

int bundle_write_line(FILE *out, json_t *j)
{
	return write_line(out, j, true);
}

/* ---- JSON -> model --------------------------------------------------------------- */

/* Keeps the first error only: that is the one that explains the others. */
_printf_(3, 4) static int perr(char **err, const char *ctx, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int n;

	if (*err)
		return -EBADMSG;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EBADMSG;
	*err = ctx && *ctx ? strprintf("%s: %s", ctx, msg) : TAKE_PTR(msg);
	return -EBADMSG;
}

/* Absent and null both mean NULL; a required field must be a string. */
static int get_str(json_t *o, const char *ctx, const char *key, bool required, char **ret,
		   char **err)
{
	json_t *v = json_object_get(o, key);
	char *s;

	if (!v || json_is_null(v)) {
		if (required)
			return perr(err, ctx, "missing \"%s\"", key);
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return perr(err, ctx, "\"%s\" must be a string", key);
	s = strdup(json_string_value(v));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int get_int(json_t *o, const char *ctx, const char *key, bool required,
		   int64_t def, int64_t min, int64_t max, int64_t *ret, char **err)
{
	json_t *v = json_object_get(o, key);
	int64_t x;

	if (!v || json_is_null(v)) {
		if (required)
			return perr(err, ctx, "missing \"%s\"", key);
		*ret = def;
		return 0;
	}
	if (!json_is_integer(v))
		return perr(err, ctx, "\"%s\" must be an integer", key);
	x = json_integer_value(v);
	if (x < min || x > max)
		return perr(err, ctx, "\"%s\" out of range: %lld", key, (long long)x);
	*ret = x;
	return 0;
}

/* int-sized fields of the model */
static int get_int32(json_t *o, const char *ctx, const char *key, bool required, int def,
		     int min, int *ret, char **err)
{
	int64_t x = 0;
	int r = get_int(o, ctx, key, required, def, min, INT_MAX, &x, err);

	if (r < 0)
		return r;
	*ret = (int)x;
	return 0;
}

static int get_bool(json_t *o, const char *ctx, const char *key, bool def, bool *ret,
		    char **err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		*ret = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return perr(err, ctx, "\"%s\" must be true or false", key);
	*ret = json_is_true(v);
	return 0;
}

/* Names that must map onto an enum of the model. */
static int get_enum(json_t *o, const char *ctx, const char *key,
		    int (*from)(const char *), int *ret, char **err)
{
	_cleanup_free_ char *s = NULL;
	int r, v;

	r = get_str(o, ctx, key, true, &s, err);
	if (r < 0)
		return r;
	v = from(s);
	if (v < 0)
		return perr(err, ctx, "unknown %s \"%s\"", key, s);
	*ret = v;
	return 0;
}

static int check_type(json_t *o, const char *ctx, const char *type, char **err)
{
	json_t *t;

	if (!json_is_object(o))
		return perr(err, ctx, "not a JSON object");
	t = json_object_get(o, "type");
	if (t && !(json_is_string(t) && streq(json_string_value(t), type)))
		return perr(err, ctx, "\"type\" is not \"%s\"", type);
	return 0;
}

static void hand_error(char *err, char **ret_error)
{
	if (ret_error)
		*ret_error = err;
	else
		free(err);
}

int bundle_run_from_json(json_t *j, struct run_record *ret, char **ret_error)
{
	_cleanup_(run_record_done) struct run_record rr = {};
	_cleanup_free_ char *uuid = NULL, *err = NULL;
	const char *ctx = "run";
	struct kernel_identity *k = &rr.kernel;
	json_t *kj;
	int r;

	r = check_type(j, ctx, "run", &err);
	if (r < 0)
		goto fail;
	if ((r = get_str(j, ctx, "uuid", true, &uuid, &err)) < 0)
		goto fail;
	if (!uuid_is_valid(uuid)) {
		r = perr(&err, ctx, "\"uuid\" is not a UUID: \"%s\"", uuid);
		goto fail;
	}
	uuid_canonicalize(uuid);
	memcpy(rr.uuid, uuid, sizeof(rr.uuid));
	if ((r = get_str(j, ctx, "campaign", true, &rr.campaign, &err)) < 0 ||
	    (r = get_str(j, ctx, "scenario", true, &rr.scenario, &err)) < 0 ||
	    (r = get_str(j, ctx, "scenario_text", false, &rr.scenario_text, &err)) < 0 ||
	    (r = get_str(j, ctx, "target", true, &rr.target, &err)) < 0 ||
	    (r = get_str(j, ctx, "target_kind", true, &rr.target_kind, &err)) < 0 ||
	    (r = get_str(j, ctx, "hostname", false, &rr.hostname, &err)) < 0 ||
	    (r = get_str(j, ctx, "load_profile", false, &rr.load_profile, &err)) < 0 ||
	    (r = get_str(j, ctx, "load_args", false, &rr.load_args, &err)) < 0 ||
	    (r = get_str(j, ctx, "load_metrics", false, &rr.load_metrics, &err)) < 0 ||
	    (r = get_str(j, ctx, "sweep_var", false, &rr.sweep_var, &err)) < 0 ||
	    (r = get_str(j, ctx, "consumers", false, &rr.consumers, &err)) < 0 ||
	    (r = get_int(j, ctx, "cycles_planned", false, 0, 0, INT64_MAX,
			 &rr.cycles_planned, &err)) < 0 ||
	    (r = get_str(j, ctx, "started_at", true, &rr.started_at, &err)) < 0 ||
	    (r = get_str(j, ctx, "finished_at", false, &rr.finished_at, &err)) < 0 ||
	    (r = get_str(j, ctx, "status", false, &rr.status, &err)) < 0)
		goto fail;
	if (!rr.status) {
		rr.status = strdup("running");
		if (!rr.status) {
			r = -ENOMEM;
			goto fail;
		}
	} else if (!run_status_is_valid(rr.status)) {
		r = perr(&err, ctx, "unknown status \"%s\"", rr.status);
		goto fail;
	}

	ctx = "run: kernel";
	kj = json_object_get(j, "kernel");
	if (!json_is_object(kj)) {
		r = perr(&err, "run",
			 kj ? "\"kernel\" must be an object" : "missing \"kernel\"");
		goto fail;
	}
	if ((r = get_str(kj, ctx, "release", true, &k->release, &err)) < 0 ||
	    (r = get_str(kj, ctx, "version", true, &k->version, &err)) < 0 ||
	    (r = get_str(kj, ctx, "build_id", false, &k->build_id, &err)) < 0 ||
	    (r = get_str(kj, ctx, "cmdline", true, &k->cmdline, &err)) < 0 ||
	    (r = get_str(kj, ctx, "label", false, &k->label, &err)) < 0 ||
	    (r = get_str(kj, ctx, "patches", false, &k->patches, &err)) < 0 ||
	    (r = get_str(kj, ctx, "fw_devlink", false, &k->fw_devlink, &err)) < 0 ||
	    (r = get_str(kj, ctx, "deferred_probe_timeout", false,
			 &k->deferred_probe_timeout, &err)) < 0)
		goto fail;

	*ret = rr;
	rr = (struct run_record){};
	return 0;
fail:
	hand_error(TAKE_PTR(err), ret_error);
	return r;
}

static int event_from_json(json_t *j, const char *ctx, struct kernel_event *e, char **err)
{
	int source = 0, class = 0;
	int r;

	if (!json_is_object(j))
		return perr(err, ctx, "not a JSON object");
	if ((r = get_enum(j, ctx, "source", event_source_from_string, &source, err)) <
		    0 ||
	    (r = get_enum(j, ctx, "class", event_class_from_string, &class, err)) < 0 ||
	    (r = get_int(j, ctx, "seq", false, -1, -1, INT64_MAX, &e->seq, err)) < 0 ||
	    (r = get_int(j, ctx, "ts_ns", false, 0, INT64_MIN, INT64_MAX, &e->ts_ns,
			 err)) < 0 ||
	    (r = get_int32(j, ctx, "prio", false, -1, -1, &e->prio, err)) < 0 ||
	    (r = get_int32(j, ctx, "boot", false, 0, 0, &e->boot, err)) < 0 ||
	    (r = get_str(j, ctx, "device", false, &e->device, err)) < 0 ||
	    (r = get_str(j, ctx, "message", true, &e->message, err)) < 0 ||
	    (r = get_str(j, ctx, "detail", false, &e->detail, err)) < 0)
		return r;
	if (e->prio > 7)
		return perr(err, ctx, "\"prio\" out of range: %d", e->prio);
	e->source = source;
	e->class = class;
	return 0;
}

int bundle_event_from_json(json_t *j, struct kernel_event *ret, char **ret_error)
{
	_cleanup_(kernel_event_done) struct kernel_event e = {};
	_cleanup_free_ char *err = NULL;
	int r;

	r = check_type(j, "event", "event", &err);
	if (r >= 0)
		r = event_from_json(j, "event", &e, &err);
	if (r < 0) {
		hand_error(TAKE_PTR(err), ret_error);
		return r;
	}
	*ret = e;
	e = (struct kernel_event){};
	return 0;
}

static int action_from_json(json_t *j, const char *ctx, int idx, struct action_record *a,
			    char **err)
{
	int verb, r;

	if (!json_is_object(j))
		return perr(err, ctx, "not a JSON object");
	if ((r = get_int32(j, ctx, "idx", false, idx, 0, &a->idx, err)) < 0 ||
	    (r = get_int32(j, ctx, "group", false, -1, -1, &a->group, err)) < 0 ||
	    (r = get_enum(j, ctx, "verb", step_verb_from_string, &verb, err)) < 0 ||
	    (r = get_str(j, ctx, "arg", false, &a->arg, err)) < 0 ||
	    (r = get_str(j, ctx, "params", false, &a->params, err)) < 0 ||
	    (r = get_int(j, ctx, "offset_us", false, 0, INT64_MIN, INT64_MAX,
			 &a->offset_us, err)) < 0 ||
	    /* absent in bundles written before planned starts were recorded */
	    (r = get_int(j, ctx, "planned_ns", false, 0, 0, INT64_MAX, &a->planned_ns,
			 err)) < 0 ||
	    (r = get_int(j, ctx, "start_ns", false, 0, INT64_MIN, INT64_MAX, &a->start_ns,
			 err)) < 0 ||
	    (r = get_int(j, ctx, "end_ns", false, 0, INT64_MIN, INT64_MAX, &a->end_ns,
			 err)) < 0 ||
	    (r = get_int32(j, ctx, "err", false, 0, 0, &a->err, err)) < 0 ||
	    (r = get_bool(j, ctx, "hung", false, &a->hung, err)) < 0)
		return r;
	a->verb = verb;
	return 0;
}

static int observation_from_json(json_t *j, const char *ctx, struct observation *o,
				 char **err)
{
	int outcome, r;

	if (!json_is_object(j))
		return perr(err, ctx, "not a JSON object");
	if ((r = get_str(j, ctx, "device", true, &o->device, err)) < 0 ||
	    (r = get_bool(j, ctx, "consumer", false, &o->consumer, err)) < 0 ||
	    (r = get_str(j, ctx, "driver", false, &o->driver, err)) < 0 ||
	    (r = get_int32(j, ctx, "iommu_group", false, -1, -1, &o->iommu_group, err)) <
		    0 ||
	    (r = get_str(j, ctx, "domain_type", false, &o->domain_type, err)) < 0 ||
	    (r = get_int(j, ctx, "time_to_bound_ns", false, -1, -1, INT64_MAX,
			 &o->time_to_bound_ns, err)) < 0 ||
	    (r = get_int32(j, ctx, "deferrals", false, 0, 0, &o->deferrals, err)) < 0 ||
	    (r = get_str(j, ctx, "deferred_reason", false, &o->deferred_reason, err)) <
		    0 ||
	    (r = get_enum(j, ctx, "outcome", outcome_from_string, &outcome, err)) < 0)
		return r;
	o->outcome = outcome;
	return 0;
}

/* The array under key, or NULL when absent; sets an error for anything but an array. */
static int get_array(json_t *o, const char *ctx, const char *key, json_t **ret,
		     char **err)
{
	json_t *v = json_object_get(o, key);

	if (v && !json_is_null(v) && !json_is_array(v))
		return perr(err, ctx, "\"%s\" must be an array", key);
	*ret = json_is_array(v) ? v : NULL;
	return 0;
}

static int cycle_from_json(json_t *j, struct cycle_record *c, char **err)
{
	json_t *actions = NULL, *observations = NULL, *events = NULL, *sweep;
	char ctx[64] = "cycle";
	int outcome, r;

	r = check_type(j, ctx, "cycle", err);
	if (r < 0)
		return r;
	r = get_int(j, ctx, "seq", true, 0, 0, INT64_MAX, &c->seq, err);
	if (r < 0)
		return r;
	snprintf(ctx, sizeof(ctx), "cycle %lld", (long long)c->seq);

	if ((r = get_int32(j, ctx, "boot", false, 0, 0, &c->boot, err)) < 0 ||
	    (r = get_str(j, ctx, "boot_id", false, &c->boot_id, err)) < 0 ||
	    (r = get_int(j, ctx, "start_ns", false, 0, INT64_MIN, INT64_MAX, &c->start_ns,
			 err)) < 0 ||
	    (r = get_int(j, ctx, "end_ns", false, 0, INT64_MIN, INT64_MAX, &c->end_ns,
			 err)) < 0 ||
	    (r = get_enum(j, ctx, "outcome", outcome_from_string, &outcome, err)) < 0 ||
	    (r = get_int32(j, ctx, "deferrals", false, 0, 0, &c->deferrals, err)) < 0 ||
	    (r = get_str(j, ctx, "note", false, &c->note, err)) < 0)
		return r;
	c->outcome = outcome;
	sweep = json_object_get(j, "sweep_value");
	c->has_sweep = sweep && !json_is_null(sweep);
	if (c->has_sweep) {
		r = get_int(j, ctx, "sweep_value", true, 0, INT64_MIN, INT64_MAX,
			    &c->sweep_value, err);
		if (r < 0)
			return r;
	}

	if ((r = get_array(j, ctx, "actions", &actions, err)) < 0 ||
	    (r = get_array(j, ctx, "observations", &observations, err)) < 0 ||
	    (r = get_array(j, ctx, "events", &events, err)) < 0)
		return r;

	/* Arrays are allocated zeroed at full size up front, so cycle_record_done() can
	 * release a partly parsed record. */
	if (actions && json_array_size(actions) > 0) {
		c->actions = calloc(json_array_size(actions), sizeof(*c->actions));
		if (!c->actions)
			return -ENOMEM;
		c->n_actions = json_array_size(actions);
	}
	if (observations && json_array_size(observations) > 0) {
		c->observations =
			calloc(json_array_size(observations), sizeof(*c->observations));
		if (!c->observations)
			return -ENOMEM;
		c->n_observations = json_array_size(observations);
	}
	if (events && json_array_size(events) > 0) {
		c->events = calloc(json_array_size(events), sizeof(*c->events));
		if (!c->events)
			return -ENOMEM;
		c->n_events = json_array_size(events);
	}

	for (size_t i = 0; i < c->n_actions; i++) {
		char sub[128];

		snprintf(sub, sizeof(sub), "%s: actions[%zu]", ctx, i);
		r = action_from_json(json_array_get(actions, i), sub, (int)i,
				     &c->actions[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->n_observations; i++) {
		char sub[128];

		snprintf(sub, sizeof(sub), "%s: observations[%zu]", ctx, i);
		r = observation_from_json(json_array_get(observations, i), sub,
					  &c->observations[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->n_events; i++) {
		char sub[128];

		snprintf(sub, sizeof(sub), "%s: events[%zu]", ctx, i);
		r = event_from_json(json_array_get(events, i), sub, &c->events[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int bundle_cycle_from_json(json_t *j, struct cycle_record *ret, char **ret_error)
{
	_cleanup_(cycle_record_done) struct cycle_record c = {};
	_cleanup_free_ char *err = NULL;
	int r;

	r = cycle_from_json(j, &c, &err);
	if (r < 0) {
		hand_error(TAKE_PTR(err), ret_error);
		return r;
	}
	*ret = c;
	c = (struct cycle_record){};
	return 0;
}

/* ---- export ---------------------------------------------------------------------- */

/* Writes and releases j, the result of a *_to_json() call that returned r (j is stale
 * when r < 0: the call left it untouched). */
static int export_json(FILE *out, int r, json_t *j)
{
	if (r < 0)
		return r;
	r = write_line(out, j, false);
	json_decref(j);
	return r;
}

static int export_locked(struct db *db, const char *uuid, FILE *out)
{
	static char running[] = "running";
	_cleanup_(run_record_done) struct run_record rr = {};
	_cleanup_free_ int64_t *seqs = NULL;
	struct kernel_event *events = NULL;
	size_t n_seqs = 0, n_events = 0;
	struct run_record start;
	json_t *j = NULL;
	int64_t run_id;
	bool ended;
	int r;

	r = db_run_load(db, uuid, &rr);
	if (r < 0)
		return r;
	r = db_run_find(db, uuid, &run_id);
	if (r < 0)
		return r;

	/* The run line says how the run started, the end line how it ended: the same
	 * shape as a live stream, so an export re-imports into an identical record. */
	ended = !streq(rr.status, "running");
	start = rr;
	if (ended) {
		start.status = running;
		start.finished_at = NULL;
		start.load_metrics = NULL;
	}
	r = bundle_run_to_json(&start, &j);
	r = export_json(out, r, j);
	if (r < 0)
		return r;

	r = db_events_load_unattached(db, run_id, &events, &n_events);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_events && r >= 0; i++) {
		r = bundle_event_to_json(rr.uuid, &events[i], &j);
		r = export_json(out, r, j);
	}
	for (size_t i = 0; i < n_events; i++)
		kernel_event_done(&events[i]);
	free(events);
	if (r < 0)
		return r;

	r = db_cycle_seqs(db, run_id, &seqs, &n_seqs);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_seqs; i++) {
		_cleanup_(cycle_record_done) struct cycle_record c = {};

		r = db_cycle_load(db, run_id, seqs[i], &c);
		if (r < 0)
			return r;
		r = bundle_cycle_to_json(rr.uuid, &c, &j);
		r = export_json(out, r, j);
		if (r < 0)
			return r;
	}

	if (ended) {
		r = bundle_end_to_json(rr.uuid, rr.status, rr.status_reason,
				       rr.finished_at, rr.load_metrics, &j);
		r = export_json(out, r, j);
		if (r < 0)
			return r;
	}
	return 0;
}

int bundle_export_run(struct db *db, const char *uuid, FILE *out)
{
	int r;

	/* One read transaction: a cycle committed by the runner mid-export is either in
	 * the bundle completely or not at all. */
	r = db_begin_read(db);
	if (r < 0)
		return r;
	r = export_locked(db, uuid, out);
	if (r < 0) {
		(void)db_rollback(db);
		return r;
	}
	r = db_commit(db);
	if (r < 0)
		return r;
	if (fflush(out) == EOF || ferror(out))
		return -EIO;
	return 0;
}

/* ---- import ---------------------------------------------------------------------- */

struct import_ctx {
	struct db *db;
	struct bundle_stats stats;
	char run_uuid[37]; /* the run the last line referred to, and its id */
	int64_t run_id;
	char *msg; /* why the current line failed */
};

/* The db layer's -EINVAL means the schema refused a value: bad input, for an importer. */
static int import_db_error(struct import_ctx *ic, int r)
{
	free(ic->msg);
	ic->msg = strdup(db_errmsg(ic->db));
	return r == -EINVAL ? -EBADMSG : r;
}

static int import_resolve_run(struct import_ctx *ic, json_t *j, int64_t *ret_id)
{
	_cleanup_free_ char *uuid = NULL;
	int64_t id;
	int r;

	r = get_str(j, NULL, "run", true, &uuid, &ic->msg);
	if (r < 0)
		return r;
	uuid_canonicalize(uuid);
	if (ic->run_uuid[0] && streq(ic->run_uuid, uuid)) {
		*ret_id = ic->run_id;
		return 0;
	}
	r = db_run_find(ic->db, uuid, &id);
	if (r == -ENOENT) {
		free(ic->msg);
		ic->msg = strprintf(
			"run %s is not known (its \"run\" line must come first)", uuid);
		return -ENOENT;
	}
	if (r < 0)
		return import_db_error(ic, r);
	snprintf(ic->run_uuid, sizeof(ic->run_uuid), "%s", uuid);
	ic->run_id = id;
	*ret_id = id;
	return 0;
}

/* ---- conflicts: a record that is present already must say the same ---------------- */

/* v as compact JSON for a message, cut after 60 bytes. */
static char *conflict_value(json_t *v)
{
	char *s;

	if (!v)
		return strdup("(absent)");
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s && strlen(s) > 60)
		memcpy(s + 56, "...", 4);
	return s;
}

/* -EEXIST with "CTX: FIELD differs from the recorded copy (recorded X, given Y)". */
static int conflict(struct import_ctx *ic, const char *ctx, const char *field,
		    json_t *recorded, json_t *given)
{
	_cleanup_free_ char *rv = conflict_value(recorded), *gv = conflict_value(given);

	free(ic->msg);
	ic->msg = strprintf(
		"%s: \"%s\" differs from the recorded copy (recorded %s, given %s): conflicting content",
		ctx, field, rv ? rv : "?", gv ? gv : "?");
	return -EEXIST;
}

static bool key_skipped(const char *key, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (streq(*skip, key))
			return true;
	return false;
}

/* The first key, in a's order and then b's, whose values differ; NULL when a and b agree
 * on every key but those in skip (NULL-terminated, may be NULL). */
static const char *json_first_diff(json_t *a, json_t *b, const char *const *skip)
{
	const char *key;
	json_t *v;

	json_object_foreach(a, key, v) {
		if (!key_skipped(key, skip) && !json_equal(v, json_object_get(b, key)))
			return key;
	}
	json_object_foreach(b, key, v) {
		if (!key_skipped(key, skip) && !json_object_get(a, key))
			return key;
	}
	return NULL;
}

/* Compares two objects made by the *_to_json() functions (r is their result: both
 * must have succeeded); 0 when they agree, -EEXIST with the first differing field. */
static int compare_json(struct import_ctx *ic, int r, const char *ctx, json_t *recorded,
			json_t *given, const char *const *skip)
{
	const char *key;

	if (r < 0)
		return r;
	key = json_first_diff(recorded, given, skip);
	if (!key)
		return 0;
	return conflict(ic, ctx, key, json_object_get(recorded, key),
			json_object_get(given, key));
}

/* A run line of a run that is recorded: the fields that say which run it is must agree.
 * Left out: how the run ended (the end line's business), and what a resumed run's next
 * boot writes anew in its run line (start time, host name, the kernel command line and
 * what it sets). */
static int import_run_compare(struct import_ctx *ic, const struct run_record *given)
{
	static const char *const skip_run[] = {
		"type",	      "status",	  "finished_at", "load_metrics",
		"started_at", "hostname", "kernel",	 NULL,
	};
	static const char *const skip_kernel[] = { "cmdline", "fw_devlink",
						   "deferred_probe_timeout", NULL };
	_cleanup_(run_record_done) struct run_record rec = {};
	_cleanup_json_ json_t *jr = NULL, *jg = NULL;
	_cleanup_free_ char *ctx = strprintf("run %s", given->uuid);
	json_t *kr, *kg;
	const char *key;
	int r;

	if (!ctx)
		return -ENOMEM;
	r = db_run_load(ic->db, given->uuid, &rec);
	if (r < 0)
		return import_db_error(ic, r);
	r = bundle_run_to_json(&rec, &jr);
	if (r >= 0)
		r = bundle_run_to_json(given, &jg);
	r = compare_json(ic, r, ctx, jr, jg, skip_run);
	if (r < 0)
		return r;
	kr = json_object_get(jr, "kernel");
	kg = json_object_get(jg, "kernel");
	key = json_first_diff(kr, kg, skip_kernel);
	if (key) {
		_cleanup_free_ char *field = strprintf("kernel.%s", key);

		return conflict(ic, ctx, field ? field : key, json_object_get(kr, key),
				json_object_get(kg, key));
	}
	return 0;
}

static int import_run(struct import_ctx *ic, json_t *j)
{
	_cleanup_(run_record_done) struct run_record rr = {};
	int64_t id;
	int r;

	r = bundle_run_from_json(j, &rr, &ic->msg);
	if (r < 0)
		return r;
	r = db_run_find(ic->db, rr.uuid, &id);
	if (r == 0) {
		r = import_run_compare(ic, &rr);
		if (r < 0)
			return r;
		ic->stats.runs_present++;
	} else if (r == -ENOENT) {
		r = db_run_insert(ic->db, &rr, &id);
		if (r < 0)
			return import_db_error(ic, r);
		ic->stats.runs_inserted++;
	} else {
		return import_db_error(ic, r);
	}
	memcpy(ic->run_uuid, rr.uuid, sizeof(ic->run_uuid));
	ic->run_id = id;
	return 0;
}

static bool event_same_key(const struct kernel_event *a, const struct kernel_event *b)
{
	return a->boot == b->boot && a->source == b->source && a->seq == b->seq;
}

static int event_json(const struct kernel_event *e, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();
	int r;

	if (!o)
		return -ENOMEM;
	r = event_fields_to_json(o, e);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

static int compare_event(struct import_ctx *ic, const char *ctx,
			 const struct kernel_event *recorded,
			 const struct kernel_event *given)
{
	_cleanup_json_ json_t *jr = NULL, *jg = NULL;
	int r;

	r = event_json(recorded, &jr);
	if (r >= 0)
		r = event_json(given, &jg);
	return compare_json(ic, r, ctx, jr, jg, NULL);
}

/* The events of a recorded cycle against those of the line. An event of the line that
 * the run holds outside this cycle is fine when it says the same (db_cycle_insert never
 * duplicates a kernel record), and so is a repeat of a key within the line. */
static int compare_cycle_events(struct import_ctx *ic, int64_t run_id, const char *ctx,
				const struct cycle_record *rec,
				const struct cycle_record *given)
{
	size_t matched = 0;
	int r;

	for (size_t i = 0; i < given->n_events; i++) {
		const struct kernel_event *e = &given->events[i];
		const struct kernel_event *found = NULL;
		const struct kernel_event *repeat = NULL;
		char sub[160];

		snprintf(sub, sizeof(sub), "%s: events[%zu]", ctx, i);
		for (size_t k = 0; k < i && !repeat; k++)
			if (event_same_key(&given->events[k], e))
				repeat = &given->events[k];
		if (repeat) {
			r = compare_event(ic, sub, repeat, e);
			if (r < 0)
				return r;
			continue;
		}
		for (size_t k = 0; k < rec->n_events && !found; k++)
			if (event_same_key(&rec->events[k], e))
				found = &rec->events[k];
		if (found) {
			r = compare_event(ic, sub, found, e);
			if (r < 0)
				return r;
			matched++;
			continue;
		}
		{
			_cleanup_(kernel_event_done) struct kernel_event other = {};

			r = db_event_find(ic->db, run_id, e, &other);
			if (r >= 0)
				r = compare_event(ic, sub, &other, e);
			if (r == -EEXIST)
				return r;
			if (r == -ENOENT) {
				free(ic->msg);
				ic->msg = strprintf(
					"%s: not in the recorded copy (boot %d, %s seq %lld): conflicting content",
					sub, e->boot,
					event_source_to_string(e->source)
						? event_source_to_string(e->source)
						: "?",
					(long long)e->seq);
				return -EEXIST;
			}
			if (r < 0)
				return import_db_error(ic, r);
		}
	}
	if (matched != rec->n_events) {
		free(ic->msg);
		ic->msg = strprintf(
			"%s: \"events\": the recorded copy has %zu events the line does not have: conflicting content",
			ctx, rec->n_events - matched);
		return -EEXIST;
	}
	return 0;
}

/* A cycle line whose (run, seq) is recorded: every field, action, observation and event
 * must agree with the recorded copy. Actions are matched by idx and observations by
 * device, since that is what identifies them (the order on disk may differ). */
static int import_cycle_compare(struct import_ctx *ic, int64_t run_id,
				const struct cycle_record *given)
{
	static const char *const skip_cycle[] = { "type",	  "run",    "actions",
						  "observations", "events", NULL };
	_cleanup_(cycle_record_done) struct cycle_record rec = {};
	_cleanup_json_ json_t *jr = NULL, *jg = NULL;
	char ctx[64];
	int r;

	snprintf(ctx, sizeof(ctx), "cycle %lld", (long long)given->seq);
	r = db_cycle_load(ic->db, run_id, given->seq, &rec);
	if (r < 0)
		return import_db_error(ic, r);
	r = bundle_cycle_to_json(NULL, &rec, &jr);
	if (r >= 0)
		r = bundle_cycle_to_json(NULL, given, &jg);
	r = compare_json(ic, r, ctx, jr, jg, skip_cycle);
	if (r < 0)
		return r;

	if (rec.n_actions != given->n_actions ||
	    rec.n_observations != given->n_observations) {
		bool act = rec.n_actions != given->n_actions;
		_cleanup_json_ json_t *nr = json_integer(
			(json_int_t)(act ? rec.n_actions : rec.n_observations));
		_cleanup_json_ json_t *ng = json_integer(
			(json_int_t)(act ? given->n_actions : given->n_observations));

		return conflict(ic, ctx, act ? "actions" : "observations", nr, ng);
	}
	for (size_t i = 0; i < given->n_actions; i++) {
		const struct action_record *a = &given->actions[i], *b = NULL;
		_cleanup_json_ json_t *ar = NULL, *ag = NULL;
		char sub[128];

		snprintf(sub, sizeof(sub), "%s: actions[%zu]", ctx, i);
		for (size_t k = 0; k < rec.n_actions && !b; k++)
			if (rec.actions[k].idx == a->idx)
				b = &rec.actions[k];
		if (!b) {
			_cleanup_json_ json_t *idx = json_integer(a->idx);

			return conflict(ic, sub, "idx", NULL, idx);
		}
		r = action_to_json(b, &ar);
		if (r >= 0)
			r = action_to_json(a, &ag);
		r = compare_json(ic, r, sub, ar, ag, NULL);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < given->n_observations; i++) {
		const struct observation *o = &given->observations[i], *b = NULL;
		_cleanup_json_ json_t *orec = NULL, *ogiv = NULL;
		char sub[128];

		snprintf(sub, sizeof(sub), "%s: observations[%zu]", ctx, i);
		for (size_t k = 0; k < rec.n_observations && !b; k++)
			if (str_eq_null(rec.observations[k].device, o->device))
				b = &rec.observations[k];
		if (!b) {
			_cleanup_json_ json_t *dev =
				json_string(o->device ? o->device : "");

			return conflict(ic, sub, "device", NULL, dev);
		}
		r = observation_to_json(b, &orec);
		if (r >= 0)
			r = observation_to_json(o, &ogiv);
		r = compare_json(ic, r, sub, orec, ogiv, NULL);
		if (r < 0)
			return r;
	}
	return compare_cycle_events(ic, run_id, ctx, &rec, given);
}

/* The events of a cycle just inserted (inside the import's transaction, which a conflict
 * rolls back): db_cycle_insert() keeps one copy of a kernel record (run, boot, source,
 * seq), the first, adopting one the run held unattached and leaving one another cycle
 * holds. What is kept must say what the line says; otherwise a copy would be dropped
 * without a word. */
static int import_cycle_events_check(struct import_ctx *ic, int64_t run_id,
				     const struct cycle_record *c)
{
	char sub[160];
	int r;

	for (size_t i = 0; i < c->n_events; i++) {
		_cleanup_(kernel_event_done) struct kernel_event kept = {};

		snprintf(sub, sizeof(sub), "cycle %lld: events[%zu]", (long long)c->seq,
			 i);
		r = db_event_find(ic->db, run_id, &c->events[i], &kept);
		if (r < 0)
			return import_db_error(ic, r);
		r = compare_event(ic, sub, &kept, &c->events[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int import_cycle(struct import_ctx *ic, json_t *j)
{
	_cleanup_(cycle_record_done) struct cycle_record c = {};
	int64_t run_id;
	int r;

	r = import_resolve_run(ic, j, &run_id);
	if (r < 0)
		return r;
	r = bundle_cycle_from_json(j, &c, &ic->msg);
	if (r < 0)
		return r;
	r = db_cycle_insert(ic->db, run_id, &c, NULL);
	if (r == -EEXIST) {
		r = import_cycle_compare(ic, run_id, &c);
		if (r < 0)
			return r;
		ic->stats.cycles_present++;
		return 0;
	}
	if (r < 0)
		return import_db_error(ic, r);
	r = import_cycle_events_check(ic, run_id, &c);
	if (r < 0)
		return r;
	ic->stats.cycles_inserted++;
	return 0;
}

static int import_event(struct import_ctx *ic, json_t *j)
{
	_cleanup_(kernel_event_done) struct kernel_event e = {};
	_cleanup_(kernel_event_done) struct kernel_event rec = {};
	int64_t run_id;
	int r;

	r = import_resolve_run(ic, j, &run_id);
	if (r < 0)
		return r;
	r = bundle_event_from_json(j, &e, &ic->msg);
	if (r < 0)
		return r;
	r = db_event_insert_unattached(ic->db, run_id, &e);
	if (r < 0)
		return import_db_error(ic, r);
	if (r > 0) {
		ic->stats.events_inserted++;
		return 0;
	}
	r = db_event_find(ic->db, run_id, &e, &rec);
	if (r < 0)
		return import_db_error(ic, r);
	r = compare_event(ic, "event", &rec, &e);
	if (r < 0)
		return r;
	ic->stats.events_present++;
	return 0;
}

/* How far along its life a status is: a run only moves forward. An interrupted run may
 * still be taken up and end otherwise; finished and aborted are final. */
static int run_status_rank(const char *s)
{
	if (streq(s, "running"))
		return 0;
	if (streq(s, "interrupted"))
		return 1;
	return 2;
}

static int import_end(struct import_ctx *ic, json_t *j)
{
	_cleanup_(run_record_done) struct run_record cur = {};
	_cleanup_free_ char *status = NULL, *finished_at = NULL, *load_metrics = NULL,
			    *reason = NULL;
	_cleanup_free_ char *ctx = NULL;
	int64_t run_id;
	int r, have, want;

	r = import_resolve_run(ic, j, &run_id);
	if (r < 0)
		return r;
	if ((r = get_str(j, "end", "status", true, &status, &ic->msg)) < 0 ||
	    (r = get_str(j, "end", "finished_at", false, &finished_at, &ic->msg)) < 0 ||
	    (r = get_str(j, "end", "load_metrics", false, &load_metrics, &ic->msg)) < 0 ||
	    (r = get_str(j, "end", "reason", false, &reason, &ic->msg)) < 0)
		return r;
	if (!run_status_is_valid(status))
		return perr(&ic->msg, "end", "unknown status \"%s\"", status);

	r = db_run_load(ic->db, ic->run_uuid, &cur);
	if (r < 0)
		return import_db_error(ic, r);
	if (streq(cur.status, status) && str_eq_null(cur.finished_at, finished_at) &&
	    (!load_metrics || str_eq_null(cur.load_metrics, load_metrics)) &&
	    (!reason || str_eq_null(cur.status_reason, reason))) {
		ic->stats.ends_present++;
		return 0;
	}
	have = run_status_rank(cur.status);
	want = run_status_rank(status);
	ctx = strprintf("end of run %s", ic->run_uuid);
	if (!ctx)
		return -ENOMEM;
	/* An end line saying "running" of a run that ended would undo the end. */
	if (want == 0 || (have == 2 && want == 2)) {
		_cleanup_json_ json_t *jr = NULL, *jg = NULL;
		bool st = !streq(cur.status, status);
		const char *field = st ? "status"
				    : !str_eq_null(cur.finished_at, finished_at)
					    ? "finished_at"
					    : "load_metrics";
		const char *rv = st			       ? cur.status
				 : streq(field, "finished_at") ? cur.finished_at
							       : cur.load_metrics;
		const char *gv = st			       ? status
				 : streq(field, "finished_at") ? finished_at
							       : load_metrics;

		jr = rv ? json_string(rv) : json_null();
		jg = gv ? json_string(gv) : json_null();
		return conflict(ic, ctx, field, jr, jg);
	}
	/* An older state arriving late (an interruption the run has since got past, as
	 * a spool or a stream replayed out of order can deliver) changes nothing. */
	if (want < have || (want == 1 && have == 1 && cur.finished_at && finished_at &&
			    strcmp(finished_at, cur.finished_at) < 0)) {
		ic->stats.ends_present++;
		return 0;
	}
	r = db_run_finish(ic->db, run_id, status, finished_at, load_metrics);
	/* An end line of an older version says nothing about the reason: keep ours. */
	if (r >= 0 && reason)
		r = db_run_set_status_reason(ic->db, run_id, reason);
	if (r < 0)
		return import_db_error(ic, r);
	ic->stats.ends_applied++;
	return 0;
}

static int import_line(struct import_ctx *ic, json_t *j)
{
	json_t *t;
	const char *type;

	if (!json_is_object(j))
		return perr(&ic->msg, NULL, "not a JSON object");
	t = json_object_get(j, "type");
	if (!json_is_string(t))
		return perr(&ic->msg, NULL,
			    t ? "\"type\" must be a string" : "missing \"type\"");
	type = json_string_value(t);
	if (streq(type, "run"))
		return import_run(ic, j);
	if (streq(type, "cycle"))
		return import_cycle(ic, j);
	if (streq(type, "event"))
		return import_event(ic, j);
	if (streq(type, "end"))
		return import_end(ic, j);
	/* A guest announces each risky action before performing it; the line only matters
	 * when the guest dies (guestlog.c reads it), the cycle line supersedes it. */
	if (streq(type, "inflight"))
		return 0;
	/* A guest whose driver core is wedged asks its host for a reboot (runner.c); the
	 * host acts on it, the run's data is in the other lines. */
	if (streq(type, "reboot"))
		return 0;
	return perr(&ic->msg, NULL, "unknown type \"%s\"", type);
}

/* Length of line without its line terminator; 0 for a blank line. */
static size_t line_content_len(const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return len;
	return 0;
}

/* Refuses, before jansson builds a tree of it, a line that would cost far more memory
 * than its size (30 MB of "[]," is ten million arrays, gigabytes as json_t): too long,
 * nested too deep or holding too many values. One pass that only tracks strings; the
 * parsing proper is jansson's. -E2BIG with the reason in *ret_msg. */
static int line_check_limits(const char *s, size_t len, char **ret_msg)
{
	size_t depth = 0, values = 0;
	bool in_str = false, esc = false;

	if (len > BUNDLE_LINE_MAX) {
		*ret_msg = strprintf("longer than %zu bytes", BUNDLE_LINE_MAX);
		return -E2BIG;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			values++;
			break;
		case '[':
		case '{':
			values++;
			if (++depth > BUNDLE_LINE_MAX_DEPTH) {
				*ret_msg = strprintf("nested deeper than %d levels",
						     BUNDLE_LINE_MAX_DEPTH);
				return -E2BIG;
			}
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		case ',': values++; break;
		default: break;
		}
		if (values > BUNDLE_LINE_MAX_VALUES) {
			*ret_msg = strprintf("more than %d JSON values",
					     BUNDLE_LINE_MAX_VALUES);
			return -E2BIG;
		}
	}
	return 0;
}

/* Reads one line, '\n' included when there is one, into *buf (grown as needed, NUL
 * terminated). Returns its length, 0 at the end of the input, -E2BIG (the rest of the line
 * is not read) for a line longer than BUNDLE_LINE_MAX plus its terminator, or -ENOMEM /
 * -EIO: a failure to read is never taken for the end of the input. */
static ssize_t read_line(FILE *in, char **buf, size_t *cap)
{
	size_t len = 0;
	int c;

	for (;;) {
		c = getc_unlocked(in);
		if (c == EOF)
			break;
		if (len >= BUNDLE_LINE_MAX + 2) /* the content and "\r\n" */
			return -E2BIG;
		if (len + 2 > *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			char *nb;

			nb = realloc(*buf, ncap);
			if (!nb)
				return -ENOMEM;
			*buf = nb;
			*cap = ncap;
		}
		(*buf)[len++] = (char)c;
		if (c == '\n')
			break;
	}
	if (c == EOF && ferror(in))
		return errno == ENOMEM ? -ENOMEM : -EIO;
	if (*buf)
		(*buf)[len] = '\0';
	return (ssize_t)len;
}

static void stats_add(struct bundle_stats *to, const struct bundle_stats *s)
{
	to->lines += s->lines;
	to->runs_inserted += s->runs_inserted;
	to->runs_present += s->runs_present;
	to->cycles_inserted += s->cycles_inserted;
	to->cycles_present += s->cycles_present;
	to->events_inserted += s->events_inserted;
	to->events_present += s->events_present;
	to->ends_applied += s->ends_applied;
	to->ends_present += s->ends_present;
	to->torn_tail = to->torn_tail || s->torn_tail;
}

int bundle_import_line(struct db *db, const char *line, size_t len,
		       struct bundle_stats *stats, char **ret_error)
{
	struct import_ctx ic = { .db = db };
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *msg = NULL;
	json_error_t je;
	int r;

	len = line_content_len(line, len);
	if (len == 0)
		return 0;
	r = line_check_limits(line, len, &msg);
	if (r < 0) {
		hand_error(TAKE_PTR(msg), ret_error);
		return r;
	}
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		hand_error(strdup(je.text), ret_error);
		return -EBADMSG;
	}

	r = db_begin(db);
	if (r < 0) {
		hand_error(strprintf("cannot start a transaction: %s", db_errmsg(db)),
			   ret_error);
		return r;
	}
	ic.stats.lines = 1;
	r = import_line(&ic, j);
	if (r < 0) {
		(void)db_rollback(db);
		hand_error(ic.msg ? TAKE_PTR(ic.msg) : strdup(strerror(-r)), ret_error);
		return r;
	}
	free(ic.msg);
	r = db_commit(db);
	if (r < 0) {
		hand_error(strprintf("commit: %s", db_errmsg(db)), ret_error);
		return r;
	}
	if (stats)
		stats_add(stats, &ic.stats);
	return 0;
}

int bundle_import(struct db *db, FILE *in, struct bundle_stats *ret_stats,
		  char **ret_error)
{
	struct import_ctx ic = { .db = db };
	_cleanup_free_ char *line = NULL, *err = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int r;

	r = db_begin(db);
	if (r < 0) {
		hand_error(strprintf("cannot start a transaction: %s", db_errmsg(db)),
			   ret_error);
		return r;
	}

	while ((n = read_line(in, &line, &cap)) > 0) {
		_cleanup_json_ json_t *j = NULL;
		_cleanup_free_ char *why = NULL;
		bool complete = line[n - 1] == '\n';
		size_t len = line_content_len(line, (size_t)n);
		json_error_t je;

		lineno++;
		if (len == 0)
			continue;

		r = line_check_limits(line, len, &why);
		if (r < 0) {
			err = strprintf("line %zu: %s", lineno, why ? why : strerror(-r));
			goto fail;
		}
		j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
		if (!j) {
			/* A line without '\n' comes only at the end of the input: the
			 * producer died in the middle of writing it. */
			if (!complete) {
				ic.stats.torn_tail = true;
				break;
			}
			r = -EBADMSG;
			err = strprintf("line %zu: %s", lineno, je.text);
			goto fail;
		}
		ic.stats.lines++;
		r = import_line(&ic, j);
		if (r < 0) {
			err = strprintf("line %zu: %s", lineno,
					ic.msg ? ic.msg : strerror(-r));
			goto fail;
		}
	}
	if (n < 0) {
		r = (int)n;
		err = r == -E2BIG ? strprintf("line %zu: longer than %zu bytes",
					      lineno + 1, BUNDLE_LINE_MAX)
				  : strprintf("line %zu: cannot read: %s", lineno + 1,
					      strerror(-r));
		goto fail;
	}

	r = db_commit(db);
	if (r < 0) {
		free(ic.msg);
		hand_error(strprintf("commit: %s", db_errmsg(db)), ret_error);
		return r;
	}
	free(ic.msg);
	if (ret_stats)
		*ret_stats = ic.stats;
	return 0;

fail:
	(void)db_rollback(db);
	free(ic.msg);
	hand_error(TAKE_PTR(err), ret_error);
	return r;
}
