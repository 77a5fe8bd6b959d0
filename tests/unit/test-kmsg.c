/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kmsg collector on real kernel records: a fake /dev/kmsg (a regular file under a
 * kio root, which the collector reads as records appended one after the other) gets the
 * runner's cycle markers and the records of tests/data/kmsg/oops-null-deref.kmsg (a real
 * arm64 oops from the QEMU kit's kernel: ps_decon.oops_on_bind, bind decon-ctl), placed
 * around the markers as the kernel interleaves them. Checked: an oops is counted once, in
 * the cycle in which it began, also when its records straddle the end marker or arrive
 * after the cycle ended; the next cycle is clean; its device comes from the printing task
 * (the action's worker tid), the stack and the task's previous record, or else the
 * action in flight; outcome_classify() then blames that consumer only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector.h"
#include "conf.h"
#include "kio.h"
#include "kmsg.h"
#include "macro.h"
#include "outcome.h"
#include "util.h"

#define UUID "5d0c7a52-8f1e-4b6a-9c3d-2e7f8a9b0c1d"

static const char conf_text[] = "[target guest]\n"
				"kind = local\n"
				"[consumer decon]\n"
				"driver = ps-decon\n"
				"module = ps_decon\n"
				"iommus = sysmmu-a, sysmmu-b\n"
				"expect-domain = identity\n"
				"[consumer decon-ctl]\n"
				"driver = ps-decon\n"
				"module = ps_decon\n"
				"iommus = sysmmu-b\n"
				"expect-domain = identity\n"
				"[supplier sysmmu-a]\n"
				"driver = ps-sysmmu\n"
				"module = ps_sysmmu\n"
				"[supplier sysmmu-b]\n"
				"driver = ps-sysmmu\n"
				"module = ps_sysmmu\n";

/* The oops capture, one string per record (header line and its " KEY=value" lines). */
static char *oops[64];
static size_t n_oops;
/* the first record of the report proper ("Unable to handle kernel ...") and the first
 * after the split point ("Internal error: Oops ...") */
static size_t oops_start, oops_split;

struct tk {
	char dir[64];
	char kmsg[128];
	struct conf *conf;
	struct collector_ctx ctx;
	void *state;
};

static int setup(void **state)
{
	struct tk *t = calloc(1, sizeof(*t));
	char path[160];
	int fd;

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/probestorm-kmsg-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(path, sizeof(path), "%s/dev", t->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(t->kmsg, sizeof(t->kmsg), "%s/dev/kmsg", t->dir);
	fd = open(t->kmsg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(kio_set_root(t->dir), 0);

	assert_int_equal(conf_load_string("t.conf", conf_text, &t->conf, NULL), 0);
	t->ctx = (struct collector_ctx){ .conf = t->conf, .run_uuid = UUID };
	t->state = calloc(1, collector_kmsg.state_size);
	assert_non_null(t->state);
	assert_int_equal(collector_kmsg.start(t->state, &t->ctx), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tk *t = *state;
	char cmd[128];

	collector_kmsg.stop(t->state);
	free(t->state);
	conf_free(t->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", t->dir);
	free(t);
	return 0;
}

static int load_oops(_unused_ void **state)
{
	FILE *f = fopen(TEST_DATA_DIR "/kmsg/oops-null-deref.kmsg", "r");
	char line[1024];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		if (line[0] == ' ' && n_oops > 0) {
			/* a continuation line of the record before */
			char *p = oops[n_oops - 1];

			n = strlen(p) + strlen(line) + 1;
			oops[n_oops - 1] = realloc(p, n);
			assert_non_null(oops[n_oops - 1]);
			strcat(oops[n_oops - 1], line);
			continue;
		}
		assert_true(n_oops < ARRAY_SIZE(oops));
		oops[n_oops] = strdup(line);
		assert_non_null(oops[n_oops]);
		if (strstr(line, ";Unable to handle kernel "))
			oops_start = n_oops;
		if (strstr(line, ";Internal error: Oops"))
			oops_split = n_oops;
		n_oops++;
	}
	fclose(f);
	assert_true(oops_start > 0 && oops_split > oops_start && n_oops > oops_split);
	assert_non_null(strstr(oops[n_oops - 1], "---[ end trace"));
	return 0;
}

static int free_oops(_unused_ void **state)
{
	for (size_t i = 0; i < n_oops; i++)
		free(oops[i]);
	n_oops = 0;
	return 0;
}

/* s with every "from" replaced by "to" (malloc'd; s is freed). */
static char *replace_all(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	char *r, *o;

	for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
		n++;
	r = malloc(strlen(s) + n * tl + 1);
	assert_non_null(r);
	o = r;
	for (const char *p = s, *q; *p; p = q + fl) {
		q = strstr(p, from);
		if (!q) {
			strcpy(o, p);
			o += strlen(p);
			break;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
	}
	*o = '\0';
	free(s);
	return r;
}

/* Records [from, to) of the capture as one chunk, printed by task tid instead of 294
 * (the same oops from another task). */
static char *oops_chunk(size_t from, size_t to, int tid)
{
	char caller[32];
	size_t cap = 1;
	char *s;

	for (size_t i = from; i < to; i++)
		cap += strlen(oops[i]);
	s = calloc(1, cap);
	assert_non_null(s);
	for (size_t i = from; i < to; i++)
		strcat(s, oops[i]);
	snprintf(caller, sizeof(caller), "caller=T%d;", tid);
	return replace_all(s, "caller=T294;", caller);
}

/* One write, so the collector's reader never sees half a chunk at its EOF. */
static void append(const struct tk *t, const char *text)
{
	int fd = open(t->kmsg, O_WRONLY | O_APPEND);
	size_t n = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

struct later {
	const struct tk *t;
	const char *text;
	int64_t delay_ns;
};

static void *append_later(void *arg)
{
	struct later *l = arg;

	sleep_until_ns(now_ns() + l->delay_ns);
	append(l->t, l->text);
	return NULL;
}

static void add_action(struct cycle_record *c, enum step_verb verb, const char *arg,
		       int tid, int64_t start_ns, int64_t end_ns)
{
	struct action_record *a = realloc(c->actions, (c->n_actions + 1) * sizeof(*a));

	assert_non_null(a);
	c->actions = a;
	a[c->n_actions] = (struct action_record){
		.idx = (int)c->n_actions,
		.group = -1,
		.verb = verb,
		.arg = strdup(arg),
		.start_ns = start_ns,
		.end_ns = end_ns,
		.hung = end_ns == 0,
		.tid = tid,
	};
	c->n_actions++;
}

/* Runs cycle seq as the runner does: begin marker, before (kernel records), end marker,
 * then cycle_end(). after is appended right after the end marker (delay 0) or by another
 * thread delay_ns later, while cycle_end() runs. */
static void run_cycle(struct tk *t, int64_t seq, const char *before, const char *after,
		      int64_t delay_ns, struct cycle_record *c)
{
	struct later l = { .t = t, .text = after, .delay_ns = delay_ns };
	pthread_t th;

	c->seq = seq;
	assert_int_equal(kmsg_write_marker(UUID, seq, false), 0);
	assert_int_equal(collector_kmsg.cycle_begin(t->state, &t->ctx, seq), 0);
	if (before)
		append(t, before);
	assert_int_equal(kmsg_write_marker(UUID, seq, true), 0);
	if (after && delay_ns == 0)
		append(t, after);
	else if (after)
		assert_int_equal(pthread_create(&th, NULL, append_later, &l), 0);
	assert_int_equal(collector_kmsg.cycle_end(t->state, &t->ctx, c), 0);
	if (after && delay_ns > 0)
		pthread_join(th, NULL);
}

static size_t count_class(const struct cycle_record *c, enum event_class cls)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_events; i++)
		n += c->events[i].class == cls;
	return n;
}

static const struct kernel_event *find_class(const struct cycle_record *c,
					     enum event_class cls)
{
	for (size_t i = 0; i < c->n_events; i++)
		if (c->events[i].class == cls)
			return &c->events[i];
	return NULL;
}

/* The cycle's one oops: its device, and the detail holds the whole report. */
static const struct kernel_event *check_oops(const struct cycle_record *c,
					     const char *dev)
{
	const struct kernel_event *e = find_class(c, EVENT_OOPS);

	assert_int_equal(count_class(c, EVENT_OOPS), 1);
	assert_non_null(e);
	assert_string_equal(e->message,
			    "Unable to handle kernel NULL pointer dereference "
			    "at virtual address 0000000000000000");
	assert_non_null(e->detail);
	assert_non_null(strstr(e->detail, "Internal error: Oops: 0000000096000046"));
	assert_non_null(strstr(e->detail, " ps_decon_probe+0x1ac/0x200 [ps_decon] (P)"));
	assert_non_null(e->device);
	assert_string_equal(e->device, dev);
	return e;
}

/* outcome_classify() with both consumers bound: only dev is oops, the other ok. */
static void check_outcome(struct cycle_record *c, const char *dev)
{
	struct outcome_device od[2];
	static const char *const names[] = { "decon", "decon-ctl" };

	for (size_t i = 0; i < 2; i++) {
		struct observation *o;

		od[i] = (struct outcome_device){ .name = names[i],
						 .kernel_name = names[i],
						 .bus = "platform",
						 .consumer = true,
						 .expect_iommu = true,
						 .expect_domain = "identity" };
		o = realloc(c->observations, (c->n_observations + 1) * sizeof(*o));
		assert_non_null(o);
		c->observations = o;
		o[c->n_observations++] = (struct observation){
			.device = strdup(names[i]),
			.consumer = true,
			.driver = strdup("ps-decon"),
			.iommu_group = (int)i,
			.domain_type = strdup("identity"),
			.time_to_bound_ns = -1,
		};
	}
	assert_int_equal(outcome_classify(c, od, 2), 0);
	assert_int_equal(c->outcome, OUTCOME_OOPS);
	for (size_t i = 0; i < c->n_observations; i++)
		assert_int_equal(c->observations[i].outcome,
				 streq(c->observations[i].device, dev) ? OUTCOME_OOPS
								       : OUTCOME_OK);
	assert_non_null(c->note);
	assert_non_null(strstr(c->note, dev));
}

/* ts of the capture's first oops record, as CLOCK_MONOTONIC ns in the cycle's actions */
#define OOPS_TS_NS (54432914LL * 1000)

static void test_oops_once_in_its_cycle(void **state)
{
	struct tk *t = *state;
	struct cycle_record c0 = {}, c1 = {};
	char *all = oops_chunk(0, n_oops, 294);
	const struct kernel_event *e;

	/* the worker that wrote decon-ctl's bind file (tid 294) died in the oops */
	add_action(&c0, STEP_BIND, "decon", 293, OOPS_TS_NS - 9000000,
		   OOPS_TS_NS - 8000000);
	add_action(&c0, STEP_BIND, "decon-ctl", 294, OOPS_TS_NS - 1000000, 0);
	run_cycle(t, 0, all, NULL, 0, &c0);
	e = check_oops(&c0, "decon-ctl");
	assert_non_null(strstr(e->detail,
			       "probestorm: attributed to decon-ctl: task 294 (sh) "
			       "ran 'bind decon-ctl'"));
	check_outcome(&c0, "decon-ctl");

	run_cycle(t, 1, NULL, NULL, 0, &c1);
	assert_int_equal(count_class(&c1, EVENT_OOPS), 0);
	assert_int_equal(count_class(&c1, EVENT_MARKER), 2);
	cycle_record_done(&c0);
	cycle_record_done(&c1);
	free(all);
}

/* The deferred-probe case of issue 10: the runner sees the consumer's driver link while
 * its probe (in a kworker, no action's thread) oopses and writes the end marker in the
 * middle of the report. */
static void split_across_end_marker(struct tk *t, int64_t delay_ns)
{
	struct cycle_record c0 = {}, c1 = {};
	char *head = oops_chunk(0, oops_split, 294);
	char *tail = oops_chunk(oops_split, n_oops, 294);
	const struct kernel_event *e;

	add_action(&c0, STEP_PROBE, "decon", 500, OOPS_TS_NS - 9000000,
		   OOPS_TS_NS - 8000000);
	add_action(&c0, STEP_PROBE, "decon-ctl", 501, OOPS_TS_NS - 9000000,
		   OOPS_TS_NS - 8000000);
	add_action(&c0, STEP_BIND, "sysmmu-b", 502, OOPS_TS_NS - 9000000,
		   OOPS_TS_NS - 1000000);
	run_cycle(t, 0, head, tail, delay_ns, &c0);
	e = check_oops(&c0, "decon-ctl");
	assert_non_null(strstr(e->detail, "---[ end trace 0000000000000000 ]---"));
	assert_null(strstr(e->detail, "cut short"));
	/* both consumers are ps_decon's: the dev_err the task printed before decides */
	assert_non_null(strstr(e->detail, "probestorm: attributed to decon-ctl: the call "
					  "trace is in ps_decon, and task T294's record "
					  "before it names the device"));
	check_outcome(&c0, "decon-ctl");

	run_cycle(t, 1, NULL, NULL, 0, &c1);
	assert_int_equal(count_class(&c1, EVENT_OOPS), 0);
	assert_int_equal(c1.n_events, 2); /* the markers */
	cycle_record_done(&c0);
	cycle_record_done(&c1);
	free(head);
	free(tail);
}

static void test_split_at_once(void **state)
{
	split_across_end_marker(*state, 0);
}

static void test_split_while_waiting(void **state)
{
	/* the rest comes while cycle_end() runs, within its idle bound */
	split_across_end_marker(*state, 100 * NSEC_PER_MSEC);
}

/* The rest of the report comes only after cycle 0 ended: cycle 0 keeps what it read, and
 * cycle 1 does not count the tail (its "Internal error: Oops" line opens no report). */
static void test_split_tail_after_cycle(void **state)
{
	struct tk *t = *state;
	struct cycle_record c0 = {}, c1 = {}, c2 = {};
	char *head = oops_chunk(0, oops_split, 294);
	char *tail = oops_chunk(oops_split, n_oops, 294);
	const struct kernel_event *e;
	int64_t t0 = now_ns();

	add_action(&c0, STEP_BIND, "decon-ctl", 294, OOPS_TS_NS - 1000000, 0);
	run_cycle(t, 0, head, NULL, 0, &c0);
	/* bounded: the end marker was there, the report stopped growing */
	assert_true(now_ns() - t0 < 1500 * NSEC_PER_MSEC);
	e = find_class(&c0, EVENT_OOPS);
	assert_int_equal(count_class(&c0, EVENT_OOPS), 1);
	assert_non_null(e->detail);
	assert_null(strstr(e->detail, "Internal error"));
	assert_non_null(strstr(e->detail, "report cut short"));
	assert_string_equal(e->device, "decon-ctl");
	check_outcome(&c0, "decon-ctl");

	run_cycle(t, 1, tail, NULL, 0, &c1);
	assert_int_equal(count_class(&c1, EVENT_OOPS), 0);
	assert_int_equal(count_class(&c1, EVENT_WARN), 0);
	assert_int_equal(c1.n_events, 2); /* the markers */

	/* after the tail's end marker, a new report from the same task counts again */
	{
		char *again = oops_chunk(oops_start, n_oops, 294);

		run_cycle(t, 2, again, NULL, 0, &c2);
		assert_int_equal(count_class(&c2, EVENT_OOPS), 1);
		free(again);
	}
	cycle_record_done(&c0);
	cycle_record_done(&c1);
	cycle_record_done(&c2);
	free(head);
	free(tail);
}

static void test_two_oopses_two_cycles(void **state)
{
	struct tk *t = *state;
	struct cycle_record c0 = {}, c1 = {};
	char *first = oops_chunk(0, n_oops, 294);
	char *second = replace_all(oops_chunk(0, n_oops, 301), "decon-ctl", "decon");

	add_action(&c0, STEP_BIND, "decon-ctl", 294, OOPS_TS_NS - 1000000, 0);
	run_cycle(t, 0, first, NULL, 0, &c0);
	check_oops(&c0, "decon-ctl");
	check_outcome(&c0, "decon-ctl");

	add_action(&c1, STEP_BIND, "decon", 301, OOPS_TS_NS - 1000000, 0);
	run_cycle(t, 1, second, NULL, 0, &c1);
	check_oops(&c1, "decon");
	check_outcome(&c1, "decon");
	cycle_record_done(&c0);
	cycle_record_done(&c1);
	free(first);
	free(second);
}

/* Nothing in the report names a device (no dev_err before it, another task, both
 * consumers run ps_decon and both were probed): the action in flight, and it says so. */
static void test_fallback_action_in_flight(void **state)
{
	struct tk *t = *state;
	struct cycle_record c = {};
	char *rep = oops_chunk(oops_start, n_oops, 777);
	const struct kernel_event *e;

	add_action(&c, STEP_PROBE, "decon", 500, OOPS_TS_NS - 9000000,
		   OOPS_TS_NS - 8000000);
	add_action(&c, STEP_PROBE, "decon-ctl", 501, OOPS_TS_NS - 2000000, 0);
	run_cycle(t, 0, rep, NULL, 0, &c);
	e = check_oops(&c, "decon-ctl");
	assert_non_null(strstr(e->detail,
			       "probestorm: attributed to decon-ctl: the report "
			       "names no device; the action in flight was "
			       "'probe decon-ctl'"));
	check_outcome(&c, "decon-ctl");
	cycle_record_done(&c);
	free(rep);
}

/* The printk clock is not CLOCK_MONOTONIC (in the kit's guests it runs ahead by hundreds
 * of ms): "in flight" is judged after aligning the two on the cycle's begin marker. */
static void test_fallback_clock_offset(void **state)
{
	struct tk *t = *state;
	struct cycle_record c = { .seq = 0 };
	char *rep = oops_chunk(oops_start, n_oops, 777), marker[200];
	const int64_t mono0 = 1000 * NSEC_PER_SEC; /* start_ns: 1000 s monotonic */
	const int64_t printk0 = OOPS_TS_NS - 300 * NSEC_PER_MSEC;
	const struct kernel_event *e;

	/* the begin marker as the kernel stamps it: 300 ms before the oops in printk time */
	snprintf(marker, sizeof(marker), "13,1,%lld,-;probestorm: run=%s cycle=0 begin\n",
		 (long long)(printk0 / 1000), UUID);
	append(t, marker);
	c.start_ns = mono0;
	/* in monotonic time: decon-ctl's probe ran 0-100 ms (done long before the oops),
	 * decon's started at 250 ms and never returned; in printk time the oops is at 300 ms */
	add_action(&c, STEP_PROBE, "decon-ctl", 500, mono0, mono0 + 100 * NSEC_PER_MSEC);
	add_action(&c, STEP_PROBE, "decon", 501, mono0 + 250 * NSEC_PER_MSEC, 0);
	append(t, rep);
	assert_int_equal(kmsg_write_marker(UUID, 0, true), 0);
	assert_int_equal(collector_kmsg.cycle_end(t->state, &t->ctx, &c), 0);
	e = check_oops(&c, "decon");
	assert_non_null(strstr(e->detail, "the action in flight was 'probe decon'"));
	cycle_record_done(&c);
	free(rep);
}

/* The stack names one topology driver: that device, whatever thread printed it. */
static void test_frame_of_one_driver(void **state)
{
	struct tk *t = *state;
	struct cycle_record c = {};
	const struct kernel_event *e;
	/* the capture's oops in a driver that is not the topology's */
	char *rep =
		replace_all(oops_chunk(oops_start, n_oops, 777), "ps_decon", "other_drv");

	add_action(&c, STEP_BIND, "sysmmu-b", 600, OOPS_TS_NS - 9000000,
		   OOPS_TS_NS - 8000000);
	run_cycle(t, 0, rep, NULL, 0, &c);
	e = find_class(&c, EVENT_OOPS);
	assert_non_null(e);
	/* no frame, no task, nothing in flight: the last action before it, said so */
	assert_string_equal(e->device, "sysmmu-b");
	assert_non_null(strstr(e->detail,
			       "probestorm: attributed to sysmmu-b: the report "
			       "names no device; the last action before it was "
			       "'bind sysmmu-b'"));
	cycle_record_done(&c);
	free(rep);

	/* the same oops in ps_sysmmu (its probe, in its module) */
	rep = replace_all(oops_chunk(oops_start, n_oops, 777), "ps_decon", "ps_sysmmu");
	memset(&c, 0, sizeof(c));
	add_action(&c, STEP_PROBE, "decon", 500, OOPS_TS_NS - 2000000, 0);
	add_action(&c, STEP_BIND, "sysmmu-a", 501, OOPS_TS_NS - 9000000,
		   OOPS_TS_NS - 8000000);
	run_cycle(t, 1, rep, NULL, 0, &c);
	e = find_class(&c, EVENT_OOPS);
	assert_non_null(e);
	/* ps_sysmmu drives both SysMMUs; the cycle acted on sysmmu-a only */
	assert_string_equal(e->device, "sysmmu-a");
	assert_non_null(strstr(e->detail,
			       "the call trace is in ps_sysmmu, the one device of "
			       "it this cycle acted on"));
	cycle_record_done(&c);
	free(rep);
}

/* The real deferred-probe case (oops-deferred-worker.kmsg): decon-ctl queued by
 * drivers_probe, released by sysmmu-b's bind, oopses in the deferred-probe kworker (T24,
 * "Workqueue: events_unbound deferred_probe_work_func"), a thread no action ran in. The
 * report took 57 ms to print under TCG; the end marker lands in it, and its second half
 * comes while cycle_end() waits. */
static void test_deferred_worker_capture(void **state)
{
	struct tk *t = *state;
	struct cycle_record c0 = {}, c1 = {};
	FILE *f = fopen(TEST_DATA_DIR "/kmsg/oops-deferred-worker.kmsg", "re");
	char *text = calloc(1, 65536), *split, *tail;
	const struct kernel_event *e;
	size_t n;

	assert_non_null(f);
	assert_non_null(text);
	n = fread(text, 1, 65535, f);
	fclose(f);
	assert_true(n > 0 && n < 65535);
	split = strstr(text, ";Internal error: Oops");
	assert_non_null(split);
	while (split > text && split[-1] != '\n')
		split--;
	tail = strdup(split);
	assert_non_null(tail);
	*split = '\0';

	/* the rebind-race cycle's actions, in the capture's clock (µs 4199294 on) */
	add_action(&c0, STEP_PROBE, "decon", 80, 4100000000LL, 4100500000LL);
	add_action(&c0, STEP_PROBE, "decon-ctl", 81, 4101000000LL, 4101500000LL);
	add_action(&c0, STEP_BIND, "sysmmu-b", 87, 4170000000LL, 4592400000LL);
	run_cycle(t, 0, text, tail, 30 * NSEC_PER_MSEC, &c0);
	e = find_class(&c0, EVENT_OOPS);
	assert_int_equal(count_class(&c0, EVENT_OOPS), 1);
	assert_non_null(e);
	assert_non_null(
		strstr(e->detail, "Workqueue: events_unbound deferred_probe_work_func"));
	assert_non_null(strstr(e->detail, "---[ end trace 0000000000000000 ]---"));
	assert_string_equal(e->device, "decon-ctl");
	assert_non_null(strstr(e->detail, "probestorm: attributed to decon-ctl: the call "
					  "trace is in ps_decon, and task T24's record "
					  "before it names the device"));
	check_outcome(&c0, "decon-ctl");

	run_cycle(t, 1, NULL, NULL, 0, &c1);
	assert_int_equal(count_class(&c1, EVENT_OOPS), 0);
	cycle_record_done(&c0);
	cycle_record_done(&c1);
	free(text);
	free(tail);
}

/* ------------------------------------------------------------- the other captures */

/* A capture of tests/data/kmsg, whole (malloc'd). */
static char *capture(const char *name)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/kmsg/%s", TEST_DATA_DIR, name);
	assert_int_equal(kio_read_bytes(path, 1 << 20, &text, &len), 0);
	assert_true(len > 0);
	return text;
}

static size_t count_class_dev(const struct cycle_record *c, enum event_class cls,
			      const char *dev)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_events; i++)
		n += c->events[i].class == cls && c->events[i].device &&
		     streq(c->events[i].device, dev);
	return n;
}

/* An observation of each consumer, as the sysfs collector leaves them before kmsg's
 * cycle_end() adds its deferral counts. */
static void observe_consumers(struct cycle_record *c)
{
	static const char *const names[] = { "decon", "decon-ctl" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct observation o = { .device = (char *)names[i],
					 .consumer = true,
					 .iommu_group = -1,
					 .time_to_bound_ns = -1 };

		assert_int_equal(cycle_add_observation(c, &o), 0);
	}
}

/* lkml-v1's late-probe WARN for both consumers in one cycle: two events, each naming its
 * own device from the dev_WARN text (the records carry no DEVICE=). */
static void test_late_warn_both_consumers(void **state)
{
	struct tk *t = *state;
	struct cycle_record c = {};
	char *text = capture("late-iommu-warn-lkml-v1.kmsg");

	add_action(&c, STEP_BIND, "decon", 86, 1, 0);
	run_cycle(t, 0, text, NULL, 0, &c);
	assert_int_equal(count_class(&c, EVENT_LATE_IOMMU_PROBE), 2);
	assert_int_equal(count_class_dev(&c, EVENT_LATE_IOMMU_PROBE, "decon"), 1);
	assert_int_equal(count_class_dev(&c, EVENT_LATE_IOMMU_PROBE, "decon-ctl"), 1);
	assert_int_equal(count_class(&c, EVENT_WARN), 0);
	cycle_record_done(&c);
	free(text);
}

/* The WARN printed by the thread that binds sysmmu-b (its registration walk met
 * decon-ctl): decon-ctl's, as the message says, not the printing task's sysmmu-b. The
 * walk's "Adding to iommu group" records of the 16 masters outside the topology are not
 * kept; decon's is. */
static void test_late_warn_from_walk(void **state)
{
	struct tk *t = *state;
	struct cycle_record c = {};
	char *text = capture("late-iommu-warn-from-walk.kmsg");

	add_action(&c, STEP_BIND, "sysmmu-b", 212, 1, 0);
	add_action(&c, STEP_BIND, "decon-ctl", 213, 1, 2);
	run_cycle(t, 0, text, NULL, 0, &c);
	assert_int_equal(count_class(&c, EVENT_LATE_IOMMU_PROBE), 1);
	assert_int_equal(count_class_dev(&c, EVENT_LATE_IOMMU_PROBE, "decon-ctl"), 1);
	for (size_t i = 0; i < c.n_events; i++)
		if (c.events[i].class == EVENT_INFO)
			assert_null(strstr(c.events[i].message, "master"));
	assert_true(count_class(&c, EVENT_INFO) >= 1);
	cycle_record_done(&c);
	free(text);
}

/* drivers_probe deferred decon-ctl twice (-517 from the writer, then from the
 * deferred-probe worker): its observation counts 2 deferrals, decon (bound) none; the
 * probe times of topology devices are kept. */
static void test_deferrals_counted(void **state)
{
	struct tk *t = *state;
	struct cycle_record c = {};
	char *text = capture("drivers-probe-deferred.kmsg");

	observe_consumers(&c);
	run_cycle(t, 0, text, NULL, 0, &c);
	assert_int_equal(count_class(&c, EVENT_PROBE_TIME), 3);
	assert_int_equal(cycle_find_observation(&c, "decon-ctl")->deferrals, 2);
	assert_int_equal(cycle_find_observation(&c, "decon")->deferrals, 0);
	cycle_record_done(&c);

	/* the next cycle starts from zero */
	memset(&c, 0, sizeof(c));
	observe_consumers(&c);
	run_cycle(t, 1, NULL, NULL, 0, &c);
	assert_int_equal(cycle_find_observation(&c, "decon-ctl")->deferrals, 0);
	cycle_record_done(&c);
	free(text);
}

/* khungtaskd (T29) reports the bind's worker (pid 286) blocked: the hung task is the
 * action's, so the event is decon-ctl's although another task printed it. */
static void test_hung_task_is_the_blocked_workers(void **state)
{
	struct tk *t = *state;
	struct cycle_record c = {};
	char *text = capture("hung-task.kmsg");
	const struct kernel_event *e;

	add_action(&c, STEP_BIND, "decon", 285, 1, 2);
	add_action(&c, STEP_BIND, "decon-ctl", 286, 3, 0);
	run_cycle(t, 0, text, NULL, 0, &c);
	e = find_class(&c, EVENT_HUNG_TASK);
	assert_int_equal(count_class(&c, EVENT_HUNG_TASK), 1);
	assert_non_null(e);
	assert_string_equal(e->device, "decon-ctl");
	assert_non_null(strstr(e->detail, "task 286 (sh) ran 'bind decon-ctl'"));
	cycle_record_done(&c);
	free(text);
}

/* A driver's own WARN (ps_decon warn_on_bind) and a probe failure (ps_sysmmu
 * fail_probe), one cycle each; the failure names sysmmu-b. */
static void test_warn_and_probe_failure(void **state)
{
	struct tk *t = *state;
	struct cycle_record c0 = {}, c1 = {};
	char *warn = capture("generic-warning.kmsg"),
	     *eio = capture("bind-error-eio.kmsg");
	const struct kernel_event *e;

	add_action(&c0, STEP_BIND, "decon", 279, 1, 0);
	run_cycle(t, 0, warn, NULL, 0, &c0);
	e = find_class(&c0, EVENT_WARN);
	assert_int_equal(count_class(&c0, EVENT_WARN), 1);
	assert_non_null(e);
	assert_string_equal(e->device, "decon");
	assert_int_equal(count_class(&c0, EVENT_LATE_IOMMU_PROBE), 0);

	run_cycle(t, 1, eio, NULL, 0, &c1);
	assert_int_equal(count_class(&c1, EVENT_WARN), 0);
	assert_true(count_class(&c1, EVENT_PROBE_FAILED) >= 1);
	e = find_class(&c1, EVENT_PROBE_FAILED);
	assert_non_null(e->device);
	assert_non_null(strstr(e->device, "sysmmu-b"));
	cycle_record_done(&c0);
	cycle_record_done(&c1);
	free(warn);
	free(eio);
}

/* Another run's markers in the log are not this run's events, and do not end its cycle. */
static void test_other_runs_markers(void **state)
{
	struct tk *t = *state;
	struct cycle_record c = {};
	char other[160];

	snprintf(other, sizeof(other), "13,9001,1000,-;probestorm: run=%s cycle=0 end\n",
		 "0e0e0e0e-0000-4000-8000-000000000000");
	run_cycle(t, 0, other, NULL, 0, &c);
	assert_int_equal(count_class(&c, EVENT_MARKER), 2);
	for (size_t i = 0; i < c.n_events; i++)
		assert_non_null(strstr(c.events[i].message, UUID));
	cycle_record_done(&c);
}

/* A chatty kernel: device records past KMSG_MAX_INFO (500) in one cycle are dropped and
 * counted in a note; classified events never are. */
static void test_info_capped(void **state)
{
	struct tk *t = *state;
	struct cycle_record c = {};
	size_t cap = 600 * 160, len = 0;
	char *text = malloc(cap), *late = capture("late-iommu-warn-lkml-v1.kmsg");

	assert_non_null(text);
	for (int i = 0; i < 600; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"6,%d,%d,-,caller=T5;platform decon: tick %d\n"
					" SUBSYSTEM=platform\n DEVICE=+platform:decon\n",
					100 + i, 1000 + i, i);
	run_cycle(t, 0, text, NULL, 0, &c);
	assert_int_equal(count_class(&c, EVENT_INFO), 500 + 1);
	{
		size_t notes = 0;

		for (size_t i = 0; i < c.n_events; i++)
			notes +=
				streq(c.events[i].message, "kmsg: 100 device records not "
							   "kept (limit 500 per cycle)");
		assert_int_equal(notes, 1);
	}
	cycle_record_done(&c);

	/* the next cycle starts a new count; classified events are kept all the same */
	memset(&c, 0, sizeof(c));
	run_cycle(t, 1, late, NULL, 0, &c);
	for (size_t i = 0; i < c.n_events; i++)
		assert_null(strstr(c.events[i].message, "not kept"));
	assert_int_equal(count_class(&c, EVENT_LATE_IOMMU_PROBE), 2);
	cycle_record_done(&c);
	free(text);
	free(late);
}

/* kmsg_read_boot() on a fake /dev/kmsg holding a boot's records (insmod on lkml-v1, then
 * an oops): the classified events from the first record on, no plain INFO records. */
static void test_read_boot(void **state)
{
	struct tk *t = *state;
	char *insmod = capture("insmod-lkml-v1.kmsg"),
	     *oops_text = capture("oops-null-deref.kmsg");
	struct kernel_event *ev = NULL;
	size_t n = 0, late = 0, oopses = 0, probe_times = 0;

	append(t, insmod);
	append(t, oops_text);
	assert_int_equal(kmsg_read_boot(&ev, &n), 0);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(ev[i].class, EVENT_INFO);
		late += ev[i].class == EVENT_LATE_IOMMU_PROBE;
		oopses += ev[i].class == EVENT_OOPS;
		probe_times += ev[i].class == EVENT_PROBE_TIME;
	}
	assert_int_equal(late, 2);
	assert_int_equal(oopses, 1);
	assert_true(probe_times >= 4);
	kmsg_events_free(ev, n);
	free(insmod);
	free(oops_text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_oops_once_in_its_cycle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_split_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_while_waiting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_split_tail_after_cycle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_oopses_two_cycles, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fallback_action_in_flight, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_frame_of_one_driver, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deferred_worker_capture, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fallback_clock_offset, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_late_warn_both_consumers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_late_warn_from_walk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deferrals_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_task_is_the_blocked_workers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_warn_and_probe_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_runs_markers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_boot, setup, teardown),
	};

	return cmocka_run_group_tests(tests, load_oops, free_oops);
}
