/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host-side handling of a dead QEMU guest (see guestlog.h). The console excerpt keeps the
 * last CONSOLE_TAIL_LINES lines: enough for a panic with its stack and the lines before it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db.h"
#include "death.h"
#include "guestlog.h"
#include "kparse.h"
#include "macro.h"
#include "util.h"

#define CONSOLE_TAIL_LINES 120

int guestlog_scan(FILE *f, struct guestlog_tail *ret)
{
	struct guestlog_tail t = { .last_cycle = -1 };
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, f)) >= 0) {
		json_t *j = json_loadb(line, (size_t)n, 0, NULL);
		const char *type, *run;

		if (!j)
			continue;
		type = json_string_value(json_object_get(j, "type"));
		run = json_string_value(json_object_get(j, "run"));
		if (type && streq(type, "run"))
			run = json_string_value(json_object_get(j, "uuid"));
		if (run && strlen(run) == 36) {
			if (t.uuid[0] && !streq(t.uuid, run)) {
				json_decref(j);
				return -EBADMSG;
			}
			memcpy(t.uuid, run, 37);
		}
		if (!type) {
		} else if (streq(type, "end")) {
			t.ended = true;
		} else if (streq(type, "cycle")) {
			int64_t seq = json_integer_value(json_object_get(j, "seq"));
			int boot = (int)json_integer_value(json_object_get(j, "boot"));

			if (seq > t.last_cycle)
				t.last_cycle = seq;
			if (boot > t.boot)
				t.boot = boot;
			if (t.has_inflight && t.inflight_cycle <= seq) {
				t.has_inflight = false;
				free(t.partial);
				t.partial = NULL;
			}
		} else if (streq(type, "inflight")) {
			const char *verb = json_string_value(json_object_get(j, "verb"));
			const char *arg = json_string_value(json_object_get(j, "arg"));

			t.has_inflight = true;
			free(t.partial);
			t.partial = NULL;
			if (json_object_get(j, "partial")) {
				t.partial = json_dumps(json_object_get(j, "partial"),
						       JSON_COMPACT);
				if (!t.partial) {
					json_decref(j);
					return -ENOMEM;
				}
			}
			t.inflight_cycle =
				json_integer_value(json_object_get(j, "cycle"));
			/* A boot that dies in its first cycle streams no cycle line: the
			 * in-flight line says which boot it is. */
			if ((int)json_integer_value(json_object_get(j, "boot")) > t.boot)
				t.boot = (int)json_integer_value(
					json_object_get(j, "boot"));
			t.inflight_has_sweep =
				json_is_integer(json_object_get(j, "sweep_value"));
			t.inflight_sweep =
				json_integer_value(json_object_get(j, "sweep_value"));
			t.inflight_action =
				(int)json_integer_value(json_object_get(j, "action"));
			snprintf(t.inflight_verb, sizeof(t.inflight_verb), "%s",
				 verb ? verb : "");
			snprintf(t.inflight_arg, sizeof(t.inflight_arg), "%s",
				 arg ? arg : "");
			snprintf(t.inflight_group, sizeof(t.inflight_group), "%s",
				 json_string_value(json_object_get(j, "group")) ?: "");
		}
		json_decref(j);
	}
	if (ferror(f)) {
		free(t.partial);
		return -EIO;
	}
	*ret = t;
	return 0;
}

void guestlog_tail_done(struct guestlog_tail *t)
{
	free(t->partial);
	t->partial = NULL;
}

bool guestlog_rebooted(const struct guestlog_tail *t)
{
	return t->has_inflight && streq(t->inflight_verb, "reboot") && t->partial;
}

int64_t guestlog_resume_seq(const struct guestlog_tail *t)
{
	int64_t s = t->last_cycle + 1;

	if (guestlog_rebooted(t))
		return t->inflight_cycle;
	if (t->has_inflight && t->inflight_cycle + 1 > s)
		s = t->inflight_cycle + 1;
	return s;
}

/* The last lines of the console, and the line that says how the kernel died. */
static int console_tail(const char *path, char **ret_tail, char **ret_headline,
			enum event_class *ret_class)
{
	char *lines[CONSOLE_TAIL_LINES] = { 0 };
	char *line = NULL, *buf;
	size_t cap = 0, n = 0, len = 0, pos = 0, first;
	FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return negative_errno();
	while (getline(&line, &cap, f) >= 0) {
		/* The console carries \r from the serial line. */
		line[strcspn(line, "\r\n")] = '\0';
		free(lines[n % CONSOLE_TAIL_LINES]);
		lines[n % CONSOLE_TAIL_LINES] = strdup(line);
		n++;
	}
	free(line);
	fclose(f);
	first = n > CONSOLE_TAIL_LINES ? n - CONSOLE_TAIL_LINES : 0;
	for (size_t i = first; i < n; i++)
		len += (lines[i % CONSOLE_TAIL_LINES]
				? strlen(lines[i % CONSOLE_TAIL_LINES])
				: 0) +
		       1;
	buf = malloc(len + 1);
	if (buf) {
		for (size_t i = first; i < n; i++) {
			const char *l = lines[i % CONSOLE_TAIL_LINES]
						? lines[i % CONSOLE_TAIL_LINES]
						: "";
			size_t ll = strlen(l);

			memcpy(buf + pos, l, ll);
			pos += ll;
			buf[pos++] = '\n';
		}
		buf[pos] = '\0';
	}
	for (size_t i = 0; i < CONSOLE_TAIL_LINES; i++)
		free(lines[i]);
	if (!buf)
		return -ENOMEM;
	/* The panic is normally within the tail; a dying kernel prints little after it. */
	r = kparse_crash_headline(buf, ret_headline, ret_class);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret_tail = buf;
	return 0;
}

int guestlog_record_death(struct db *db, const struct guestlog_tail *t, enum outcome how,
			  const char *console_path, int boot,
			  const struct kernel_event *extra, size_t n_extra)
{
	_cleanup_free_ struct kernel_event *evs = NULL;
	_cleanup_free_ char *tail = NULL, *headline = NULL;
	struct kernel_event ev = { .source = SOURCE_CONSOLE, .prio = -1, .boot = boot };
	enum event_class cls = EVENT_INFO;
	int64_t run_id;
	int r;

	if (!t->uuid[0])
		return -ENOENT;
	if (guestlog_rebooted(t))
		return 0;
	r = db_run_find(db, t->uuid, &run_id);
	if (r < 0)
		return r;
	if (console_path) {
		r = console_tail(console_path, &tail, &headline, &cls);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	ev.class = cls;
	/* One console record per boot: seq 0 of the console source of that boot. */
	ev.seq = 0;
	ev.message = headline ? headline
			      : (char *)(how == OUTCOME_HANG
						 ? "guest stopped responding (watchdog)"
						 : "guest reset without a console panic");
	ev.detail = tail;
	/* Shallow copies: the strings stay owned where they are. */
	evs = calloc(1 + n_extra, sizeof(*evs));
	if (!evs)
		return -ENOMEM;
	evs[0] = ev;
	for (size_t i = 0; i < n_extra; i++)
		evs[1 + i] = extra[i];

	if (t->has_inflight && t->inflight_cycle > t->last_cycle) {
		_cleanup_(cycle_record_done) struct cycle_record c = { 0 };
		_cleanup_free_ char *consumers = NULL;
		struct action_record a = {
			.idx = t->inflight_action,
			.group = -1,
			.verb = step_verb_from_string(t->inflight_verb) >= 0
					? (enum step_verb)step_verb_from_string(
						  t->inflight_verb)
					: STEP_SLEEP,
			.arg = (char *)t->inflight_arg,
			/* as the rig's in-flight record keeps it */
			.params = t->inflight_group[0] ? (char *)t->inflight_group : NULL,
		};
		struct death d = {
			.seq = t->inflight_cycle,
			.boot = boot,
			.how = how,
			.has_sweep = t->inflight_has_sweep,
			.sweep_value = t->inflight_sweep,
			.action = &a,
			.group = t->inflight_group[0] ? t->inflight_group : NULL,
			.cause = headline,
		};
		struct run_record run = { 0 };

		r = db_run_consumers(db, run_id, &consumers);
		if (r < 0)
			return r;
		d.consumers = consumers;
		/* A guest from before the inflight line carried the sweep value. */
		if (!d.has_sweep) {
			r = db_run_load(db, t->uuid, &run);
			if (r < 0)
				return r;
			if (run.sweep_var &&
			    db_run_sweep_guess(db, run_id, d.seq, &d.sweep_value) >= 0)
				d.has_sweep = true;
			run_record_done(&run);
		}
		r = death_cycle_build(&d, &c);
		if (r < 0)
			return r;
		/* borrowed for the insert, given back before c is freed */
		c.events = evs;
		c.n_events = 1 + n_extra;
		r = db_cycle_insert(db, run_id, &c, NULL);
		c.events = NULL;
		c.n_events = 0;
		return r == -EEXIST ? 0 : r;
	}
	for (size_t i = 0; i < 1 + n_extra; i++) {
		r = db_event_insert_unattached(db, run_id, &evs[i]);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}
