// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the stream-line formatter (bundle_cycle_format(), which the runner
 * uses instead of building a JSON tree per cycle). A cycle record is built from the
 * input bytes (strings may hold any byte, as kernel text can; enum values may be out of
 * range), and the formatter must give exactly what jansson gives for the same record
 * (bundle_cycle_to_json() dumped as bundle_write_line() dumps it), or fail the same way;
 * its line must parse back into the same JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bundle.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct input *in, size_t bytes)
{
	uint64_t v = 0;

	for (size_t i = 0; i < bytes && in->n > 0; i++, in->p++, in->n--)
		v = v << 8 | *in->p;
	return v;
}

static int64_t take_i64(struct input *in)
{
	/* small values most of the time, any value sometimes */
	uint8_t how = (uint8_t)take(in, 1);

	if (how < 0x80)
		return (int64_t)take(in, 1) - 64;
	return (int64_t)take(in, 8);
}

/* A string of up to 63 bytes (NULL sometimes); it ends at a NUL byte like a C string. */
static char *take_str(struct input *in)
{
	size_t len = (size_t)take(in, 1);
	char *s;

	if (len == 0xff)
		return NULL;
	len &= 63;
	if (len > in->n)
		len = in->n;
	s = malloc(len + 1);
	if (!s)
		abort();
	memcpy(s, in->p, len);
	s[len] = '\0';
	in->p += len;
	in->n -= len;
	return s;
}

static void build(struct input *in, struct cycle_record *c)
{
	c->seq = take_i64(in);
	c->boot = (int)take_i64(in);
	c->has_sweep = take(in, 1) & 1;
	c->sweep_value = take_i64(in);
	c->start_ns = take_i64(in);
	c->end_ns = take_i64(in);
	c->outcome = (enum outcome)(take(in, 1) % 24);
	c->deferrals = (int)take_i64(in);
	c->note = take_str(in);
	c->n_actions = take(in, 1) % 4;
	c->n_observations = take(in, 1) % 4;
	c->n_events = take(in, 1) % 4;
	c->actions = calloc(c->n_actions + 1, sizeof(*c->actions));
	c->observations = calloc(c->n_observations + 1, sizeof(*c->observations));
	c->events = calloc(c->n_events + 1, sizeof(*c->events));
	if (!c->actions || !c->observations || !c->events)
		abort();
	for (size_t i = 0; i < c->n_actions; i++) {
		struct action_record *a = &c->actions[i];

		a->idx = (int)take_i64(in);
		a->group = (int)take_i64(in);
		a->verb = (enum step_verb)(take(in, 1) % 24);
		a->arg = take_str(in);
		a->params = take_str(in);
		a->offset_us = take_i64(in);
		a->planned_ns = take_i64(in);
		a->start_ns = take_i64(in);
		a->end_ns = take_i64(in);
		a->err = (int)take_i64(in);
		a->hung = take(in, 1) & 1;
	}
	for (size_t i = 0; i < c->n_observations; i++) {
		struct observation *o = &c->observations[i];

		o->device = take_str(in);
		o->consumer = take(in, 1) & 1;
		o->driver = take_str(in);
		o->iommu_group = (int)take_i64(in);
		o->domain_type = take_str(in);
		o->time_to_bound_ns = take_i64(in);
		o->deferrals = (int)take_i64(in);
		o->deferred_reason = take_str(in);
		o->outcome = (enum outcome)(take(in, 1) % 24);
	}
	for (size_t i = 0; i < c->n_events; i++) {
		struct kernel_event *e = &c->events[i];

		e->source = (enum event_source)(take(in, 1) % 16);
		e->class = (enum event_class)(take(in, 1) % 24);
		e->seq = take_i64(in);
		e->ts_ns = take_i64(in);
		e->prio = (int)take_i64(in);
		e->boot = (int)take_i64(in);
		e->device = take_str(in);
		e->message = take_str(in);
		e->detail = take_str(in);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct cycle_record c = {};
	struct bundle_line l = {};
	json_t *j = NULL, *back;
	json_error_t je;
	char *uuid, *dump;
	int rf, rj;

	uuid = take_str(&in);
	build(&in, &c);
	rf = bundle_cycle_format(&l, uuid, &c);
	rj = bundle_cycle_to_json(uuid, &c, &j);
	if (rf != rj) {
		fprintf(stderr, "formatter %d, jansson %d\n", rf, rj);
		abort();
	}
	if (rf == 0) {
		dump = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!dump)
			abort();
		if (l.len != strlen(dump) + 1 || memcmp(l.data, dump, l.len - 1) != 0 ||
		    l.data[l.len - 1] != '\n') {
			fprintf(stderr, "formatter: %.*s\njansson:   %s\n", (int)l.len,
				l.data, dump);
			abort();
		}
		back = json_loadb(l.data, l.len, JSON_REJECT_DUPLICATES, &je);
		if (!back || !json_equal(back, j)) {
			fprintf(stderr, "does not parse back (%s): %.*s\n", je.text,
				(int)l.len, l.data);
			abort();
		}
		json_decref(back);
		free(dump);
		json_decref(j);
	}
	bundle_line_done(&l);
	cycle_record_done(&c);
	free(uuid);
	return 0;
}
