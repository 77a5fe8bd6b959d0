/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kmsg collector: reads /dev/kmsg from the start of the run on, folds multi-record reports
 * with the kparse aggregator and attributes every classified event to one cycle by the
 * runner's markers ("probestorm: run=UUID cycle=N begin|end"): records after cycle N's
 * end marker (and before N+1's begin) are reported with cycle N+1, so none is lost and none
 * is counted twice. A report (an oops, a WARN with its trace) belongs to the cycle in
 * which it began, even when the end marker lands inside it (the kernel prints an oops in
 * a burst of tens of ms; a runner that sees the consumer's driver link while its deferred
 * probe oopses writes the marker meanwhile): cycle_end() waits for such a report while its
 * records keep coming (KMSG_REPORT_IDLE_NS apart, KMSG_REPORT_WAIT_NS at most), then cuts
 * what is still open; the aggregator swallows the rest of a cut report.
 *
 * A report that names no device itself (an oops: no DEVICE= record, no dev_WARN prefix)
 * gets one at cycle_end() from the kernel's words and the cycle's actions (see
 * kmsg_attribute()): the printing task matched to an action's worker tid, the driver of
 * the stack's innermost topology frame, the same task's dev_printk just before, else the
 * action in flight; the event's detail ends with a line saying which and why, so one
 * consumer is blamed instead of all. On /dev/kmsg, cycle_end() reads what is there itself (the end marker is
 * in the log once its write returned): the reader thread alone would see it late, as the
 * kernel wakes /dev/kmsg readers by lazy irq_work, at the next timer tick (up to 4 ms at
 * HZ=250). Then, or for a file stand-in, it waits (at most 2 s) until the end marker has
 * been read.
 *
 * What is kept, so that the database is not flooded by a chatty kernel:
 *   - every classified event (markers of this run, WARN, late IOMMU probe, oops, panic,
 *     hung task, deferred timeout, probe failure) wherever it comes from;
 *   - probe times (initcall_debug) of topology devices only; those that deferred (-517, or
 *     517 when the driver itself returned -EPROBE_DEFER) count as deferrals of the device;
 *   - EVENT_INFO records only when their DEVICE= is a topology device or their text names
 *     a topology device as a whole word ("sim-decon decon: ...");
 *   - at most KMSG_MAX_INFO such INFO/probe-time events per cycle (a note tells how many
 *     more were dropped); classified events are never capped.
 * Timestamps are the printk clock (local_clock(): sched_clock on arm64), which runs like
 * CLOCK_MONOTONIC on the targets we use but is not guaranteed to be the same clock; the
 * markers' own timestamps let a reader align the two.
 *
 * A regular file in place of /dev/kmsg (a fake tree for tests) is read as records appended
 * one after the other.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "kio.h"
#include "kmsg.h"
#include "kparse.h"
#include "log.h"
#include "macro.h"
#include "util.h"

/* A devkmsg read returns one record: PRINTK_MESSAGE_MAX (2048) escaped up to 4x plus the
 * dictionary; 16 KiB never gives EINVAL. */
#define KMSG_READ_MAX	 16384
#define KMSG_FILE_MAX	 (4 * 1024 * 1024)
#define KMSG_END_WAIT_NS (2 * NSEC_PER_SEC)
#define KMSG_MAX_INFO	 500
/* How long cycle_end() waits for a report that began before the end marker: while its
 * records keep coming (at most KMSG_REPORT_IDLE_NS apart), up to KMSG_REPORT_WAIT_NS. */
#define KMSG_REPORT_WAIT_NS (2 * NSEC_PER_SEC)
#define KMSG_REPORT_IDLE_NS (250 * NSEC_PER_MSEC)

/* ------------------------------------------------------------- reading records */

struct kmsg_reader {
	int fd;
	bool chardev;
	char *buf;
	size_t len, cap;
	unsigned epipe;	  /* how often the kernel said records were overwritten */
	int64_t last_seq; /* of the last record dispatched */
};

typedef int (*kmsg_record_fn)(const struct kmsg_record *rec, void *userdata);

static int kmsg_reader_open(struct kmsg_reader *r, int whence)
{
	char p[PATH_MAX];
	struct stat st;
	int k, fd;

	k = kio_path(p, sizeof(p), "/dev/kmsg");
	if (k < 0)
		return k;
	fd = kio_open(p, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		k = negative_errno();
		close(fd);
		return k;
	}
	r->chardev = S_ISCHR(st.st_mode);
	/* SEEK_DATA on /dev/kmsg: the first record after the last "dmesg -c" */
	if (lseek(fd, 0, whence) < 0 &&
	    (whence != SEEK_DATA || lseek(fd, 0, SEEK_SET) < 0)) {
		k = negative_errno();
		close(fd);
		return k;
	}
	r->buf = malloc(KMSG_READ_MAX);
	if (!r->buf) {
		close(fd);
		return -ENOMEM;
	}
	r->cap = KMSG_READ_MAX;
	r->len = 0;
	r->last_seq = -1;
	r->fd = fd;
	return 0;
}

static void kmsg_reader_close(struct kmsg_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	free(r->buf);
	r->buf = NULL;
}

/* A fake tree's /dev/kmsg also gets what the runner writes: "<5>text\n". It becomes the
 * record the kernel would make of it (facility LOG_USER), numbered after the last one. */
static int kmsg_parse_written(const char *p, size_t len, int64_t seq,
			      struct kmsg_record *ret)
{
	const char *e = memchr(p, '>', len);
	int level;

	if (!e || e - p < 2 || e - p > 4)
		return -EBADMSG;
	level = (int)strtol(p + 1, NULL, 10) & 7;
	*ret = (struct kmsg_record){ .facility = 1,
				     .level = level,
				     .seq = seq,
				     .ts_us = now_ns() / NSEC_PER_USEC };
	ret->message = strndup(e + 1, (size_t)(p + len - e - 1));
	if (!ret->message)
		return -ENOMEM;
	ret->message[strcspn(ret->message, "\n")] = '\0';
	return 0;
}

static int kmsg_dispatch(struct kmsg_reader *r, const char *p, size_t len,
			 kmsg_record_fn fn, void *userdata)
{
	struct kmsg_record rec;
	int k;

	if (!r->chardev && len > 0 && p[0] == '<')
		k = kmsg_parse_written(p, len, r->last_seq + 1, &rec);
	else
		k = kparse_kmsg_record(p, len, &rec);
	if (k == -EBADMSG) {
		log_debug("kmsg: skipping a malformed record: %.*s",
			  (int)(len > 80 ? 80 : len), p);
		return 0;
	}
	if (k < 0)
		return k;
	if (rec.seq > r->last_seq)
		r->last_seq = rec.seq;
	k = fn(&rec, userdata);
	kparse_kmsg_record_done(&rec);
	return k;
}

/* The file stand-in: records one after another; a record starts at every line that does
 * not begin with a space. Only called at EOF, so the last record is complete. */
static int kmsg_split_file(struct kmsg_reader *r, kmsg_record_fn fn, void *userdata)
{
	const char *p = r->buf, *end = r->buf + r->len;

	while (p < end) {
		const char *q = p;
		int k;

		do {
			q = memchr(q, '\n', (size_t)(end - q));
			q = q ? q + 1 : end;
		} while (q < end && *q == ' ');
		if (q - p > 1) {
			k = kmsg_dispatch(r, p, (size_t)(q - p), fn, userdata);
			if (k < 0)
				return k;
		}
		p = q;
	}
	r->len = 0;
	return 0;
}

/* Reads what is there now. Returns 0 when nothing more is available (EAGAIN, or EOF of a
 * file stand-in), negative errno on a read error or when fn fails. */
static int kmsg_reader_drain(struct kmsg_reader *r, kmsg_record_fn fn, void *userdata)
{
	for (;;) {
		ssize_t n;
		int k;

		if (!r->chardev && r->cap - r->len < 4096) {
			char *b;

			if (r->cap >= KMSG_FILE_MAX)
				return -EFBIG;
			b = realloc(r->buf, r->cap * 2);
			if (!b)
				return -ENOMEM;
			r->buf = b;
			r->cap *= 2;
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE) {
				/* overwritten before we read them; the seq gap tells how many */
				r->epipe++;
				continue;
			}
			if (errno == EAGAIN)
				return r->chardev ? 0 : kmsg_split_file(r, fn, userdata);
			return negative_errno();
		}
		if (!r->chardev) {
			if (n == 0)
				return kmsg_split_file(r, fn, userdata);
			r->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return 0;
		k = kmsg_dispatch(r, r->buf, (size_t)n, fn, userdata);
		if (k < 0)
			return k;
	}
}

static int event_set_note(struct kernel_event *e, int64_t seq, int64_t ts_ns,
			  const char *msg)
{
	*e = (struct kernel_event){
		.source = SOURCE_KMSG,
		.class = EVENT_INFO,
		.seq = seq,
		.ts_ns = ts_ns,
		.prio = LOG_WARNING,
	};
	e->message = strdup(msg);
	return e->message ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------- the collector */

struct kmsg_dev {
	const struct conf_device *conf;
	int deferrals; /* probe-time records with -EPROBE_DEFER in this cycle */
};

/* A kept event and where the aggregator says it came from (its epoch, its task). */
struct kmsg_held {
	struct kernel_event e;
	struct kparse_origin o;
};

struct kmsg_state {
	struct kmsg_reader reader;
	struct collector_thread
		t; /* the reader thread, its locks and wake-up (collector.h) */

	/* read-only after start() */
	char uuid[37];
	struct kmsg_dev *devs;
	size_t n_devs;

	/* protected by lock */
	struct kparse_report *report;
	int boot;
	bool thread_done; /* the reader thread ended (read error) */
	int64_t last_seq; /* last record seen, -1 before the first */
	int64_t in_cycle; /* cycle whose begin marker was read, -1 between cycles */
	int64_t last_end; /* last cycle whose end marker was read, -1 */
	/* The aggregator's epoch: how many of this run's end markers were read. A report
	 * (or record) of epoch E belongs to the first cycle whose end marker came after it
	 * began. end_epoch: the epoch right after the last end marker. */
	int64_t epoch, end_epoch;
	int64_t last_record_ns; /* CLOCK_MONOTONIC when the last record was read */
	bool report_wait;	/* cycle_end() waits for a report to complete */
	struct kmsg_held *held;
	size_t n_held, cap_held;
	size_t n_info, dropped_info;
};

static int kmsg_dev_find(const struct kmsg_state *s, const char *device)
{
	if (!device)
		return -1;
	for (size_t i = 0; i < s->n_devs; i++) {
		const struct conf_device *d = s->devs[i].conf;
		size_t bl = d->bus ? strlen(d->bus) : 0;

		if (streq(device, d->device))
			return (int)i;
		/* "platform:decon" from a DEVICE= field */
		if (bl && strncmp(device, d->bus, bl) == 0 && device[bl] == ':' &&
		    streq(device + bl + 1, d->device))
			return (int)i;
	}
	return -1;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* Does msg name a topology device as a whole word? */
static bool kmsg_mentions_dev(const struct kmsg_state *s, const char *msg)
{
	for (size_t i = 0; i < s->n_devs; i++) {
		const char *name = s->devs[i].conf->device;
		size_t n = strlen(name);

		if (n == 0)
			continue;
		for (const char *p = strstr(msg, name); p; p = strstr(p + 1, name))
			if ((p == msg || !is_name_char(p[-1])) && !is_name_char(p[n]))
				return true;
	}
	return false;
}

/* Whether a kernel event is worth keeping (see the top of the file); counts deferrals of
 * topology devices on the way. *ret_capped: it counts against KMSG_MAX_INFO. Lock held. */
static bool kmsg_wanted(struct kmsg_state *s, const struct kernel_event *e,
			bool *ret_capped)
{
	*ret_capped = false;
	switch (e->class) {
	case EVENT_MARKER: {
		char uuid[37];
		int64_t cycle;
		bool is_end;

		if (kparse_marker(e->message, uuid, &cycle, &is_end) < 0 ||
		    !streq(uuid, s->uuid))
			return false; /* another run's marker */
		if (!is_end)
			s->in_cycle = cycle;
		return true;
	}
	case EVENT_PROBE_TIME: {
		int idx = kmsg_dev_find(s, e->device), ret = 0;

		if (idx < 0)
			return false;
		if (kparse_probe_time(e->message, NULL, NULL, &ret, NULL) == 0 &&
		    kparse_probe_ret_deferred(ret))
			s->devs[idx].deferrals++;
		*ret_capped = true;
		return true;
	}
	case EVENT_INFO:
		*ret_capped = true;
		return kmsg_dev_find(s, e->device) >= 0 ||
		       kmsg_mentions_dev(s, e->message);
	default: return true;
	}
}

/* Takes ownership of e and o (frees them when not kept; o may be NULL: the current
 * epoch). force keeps the collector's own notes, which name no device. Lock held. */
static int kmsg_keep(struct kmsg_state *s, struct kernel_event *e,
		     struct kparse_origin *o, bool force)
{
	struct kmsg_held *h;
	bool capped = false;

	if (!force && !kmsg_wanted(s, e, &capped)) {
		kernel_event_done(e);
		kparse_origin_done(o);
		return 0;
	}
	if (capped && s->n_info >= KMSG_MAX_INFO) {
		s->dropped_info++;
		kernel_event_done(e);
		kparse_origin_done(o);
		return 0;
	}
	if (s->n_held == s->cap_held) {
		size_t cap = s->cap_held ? s->cap_held * 2 : 64;
		struct kmsg_held *v = realloc(s->held, cap * sizeof(*v));

		if (!v) {
			kernel_event_done(e);
			kparse_origin_done(o);
			return -ENOMEM;
		}
		s->held = v;
		s->cap_held = cap;
	}
	h = &s->held[s->n_held++];
	e->boot = s->boot;
	h->e = *e;
	memset(e, 0, sizeof(*e));
	if (o) {
		h->o = *o;
		memset(o, 0, sizeof(*o));
	} else
		h->o = (struct kparse_origin){ .epoch = s->epoch, .pid = -1 };
	if (capped)
		s->n_info++;
	return 0;
}

/* Moves the aggregator's finished events into the held list. An end marker of this run
 * starts a new epoch: reports still open stay open and stay the ending cycle's (its
 * cycle_end() waits a little for them). Lock held. */
static int kmsg_take_events(struct kmsg_state *s)
{
	struct kernel_event e;
	struct kparse_origin o;
	int k = 0;

	while (kparse_report_pop_origin(s->report, &e, &o) == 1) {
		bool end_marker = false;
		int64_t cycle = -1;
		char uuid[37];
		int r;

		if (e.class == EVENT_MARKER &&
		    kparse_marker(e.message, uuid, &cycle, &end_marker) == 0 &&
		    streq(uuid, s->uuid) && end_marker) {
			r = kmsg_keep(s, &e, &o, false);
			if (r < 0 && k == 0)
				k = r;
			s->end_epoch = ++s->epoch;
			kparse_report_set_epoch(s->report, s->epoch);
			s->last_end = cycle;
			s->in_cycle = -1;
			pthread_cond_broadcast(&s->t.cond);
			continue;
		}
		r = kmsg_keep(s, &e, &o, false);
		if (r < 0 && k == 0)
			k = r;
	}
	return k;
}

static int kmsg_on_record(const struct kmsg_record *rec, void *userdata)
{
	struct kmsg_state *s = userdata;
	int k;

	pthread_mutex_lock(&s->t.lock);
	/* a gap in the sequence numbers is records the kernel overwrote before we read them
	 * (a file stand-in numbers the runner's lines itself: no gaps to see there) */
	if (s->reader.chardev && s->last_seq >= 0 && rec->seq > s->last_seq + 1) {
		struct kernel_event e;
		char msg[64];

		snprintf(msg, sizeof(msg), "kmsg: %lld records lost",
			 (long long)(rec->seq - s->last_seq - 1));
		log_warning("%s (log buffer overwritten before they were read)", msg);
		k = event_set_note(&e, s->last_seq + 1, rec->ts_us * NSEC_PER_USEC, msg);
		if (k >= 0)
			k = kmsg_keep(s, &e, NULL, true);
		if (k < 0)
			log_warning_errno(k, "kmsg: cannot record the loss note");
	}
	if (rec->seq > s->last_seq)
		s->last_seq = rec->seq;
	s->last_record_ns = now_ns();
	k = kparse_report_feed(s->report, rec);
	if (k >= 0)
		k = kmsg_take_events(s);
	if (s->report_wait)
		pthread_cond_broadcast(&s->t.cond);
	pthread_mutex_unlock(&s->t.lock);
	return k;
}

static void *kmsg_thread(void *userdata)
{
	struct kmsg_state *s = userdata;
	int k = 0;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = s->t.wake_fd, .events = POLLIN },
			{ .fd = s->reader.fd, .events = POLLIN },
		};

		/* a file stand-in is always readable: look again every 20 ms instead */
		if (poll(p, s->reader.chardev ? 2 : 1, s->reader.chardev ? -1 : 20) < 0) {
			if (errno == EINTR)
				continue;
			k = negative_errno();
			break;
		}
		if (p[0].revents)
			break;
		pthread_mutex_lock(&s->t.read_lock);
		k = kmsg_reader_drain(&s->reader, kmsg_on_record, s);
		pthread_mutex_unlock(&s->t.read_lock);
		if (k == -ENOMEM) {
			log_oom();
			continue;
		}
		if (k < 0)
			break;
	}
	if (k < 0)
		log_error_errno(k, "kmsg: reading the kernel log failed, reader stopped");
	pthread_mutex_lock(&s->t.lock);
	s->thread_done = true;
	pthread_cond_broadcast(&s->t.cond);
	pthread_mutex_unlock(&s->t.lock);
	return NULL;
}

static void kmsg_stop(void *state)
{
	struct kmsg_state *s = state;

	collector_thread_stop(&s->t, "kmsg reader thread");
	if (s->reader.epipe)
		log_info(
			"kmsg: the kernel overwrote unread records %u time(s) during the run",
			s->reader.epipe);
	kmsg_reader_close(&s->reader);
	kparse_report_free(s->report);
	s->report = NULL;
	for (size_t i = 0; i < s->n_held; i++) {
		kernel_event_done(&s->held[i].e);
		kparse_origin_done(&s->held[i].o);
	}
	free(s->held);
	s->held = NULL;
	s->n_held = s->cap_held = 0;
	free(s->devs);
	s->devs = NULL;
}

static int kmsg_start(void *state, const struct collector_ctx *ctx)
{
	struct kmsg_state *s = state;
	int k;

	*s = (struct kmsg_state){
		.reader.fd = -1,
		.t.wake_fd = -1,
		.last_seq = -1,
		.in_cycle = -1,
		.last_end = -1,
		.boot = ctx->boot,
	};
	if (!ctx->run_uuid || strlen(ctx->run_uuid) != 36)
		return -EINVAL;
	memcpy(s->uuid, ctx->run_uuid, 37);

	if (ctx->conf && ctx->conf->n_devices > 0) {
		s->devs = calloc(ctx->conf->n_devices, sizeof(*s->devs));
		if (!s->devs)
			return log_oom();
		for (size_t i = 0; i < ctx->conf->n_devices; i++)
			if (ctx->conf->devices[i].device)
				s->devs[s->n_devs++].conf = &ctx->conf->devices[i];
	}

	/* Only records from now on: the run's own cycles; kmsg_read_boot() reaches back. */
	k = kmsg_reader_open(&s->reader, SEEK_END);
	if (k == -ENOENT) {
		log_info("kmsg: no /dev/kmsg under '%s'", kio_root());
		k = -EOPNOTSUPP;
		goto fail;
	}
	if (k < 0) {
		log_error_errno(k, "kmsg: cannot open /dev/kmsg for reading");
		goto fail;
	}
	k = kparse_report_new(&s->report);
	if (k < 0)
		goto fail;

	k = collector_thread_start(&s->t, kmsg_thread, s, "kmsg reader thread");
	if (k < 0)
		goto fail;
	return 0;
fail:
	kmsg_stop(s);
	return k;
}

static int kmsg_cycle_begin(void *state, const struct collector_ctx *ctx,
			    _unused_ int64_t cycle)
{
	struct kmsg_state *s = state;

	pthread_mutex_lock(&s->t.lock);
	s->boot = ctx->boot;
	pthread_mutex_unlock(&s->t.lock);
	return 0;
}

static int held_cmp_seq(const void *a, const void *b)
{
	const struct kmsg_held *x = a, *y = b;

	return (x->e.seq > y->e.seq) - (x->e.seq < y->e.seq);
}

/* ------------------------------------------------------------- attribution */

/* The module an insmod/modprobe/rmmod action names: "/lib/modules/ps/ps_decon.ko" ->
 * "ps_decon", "ps_decon verbose=1" -> "ps_decon". */
static void action_module(const struct action_record *a, char *buf, size_t size)
{
	const char *p = a->arg ? a->arg : "", *slash = strrchr(p, '/');
	size_t n;

	if (slash)
		p = slash + 1;
	n = strcspn(p, " ");
	if (n > 3 && strncmp(p + n - 3, ".ko", 3) == 0)
		n -= 3;
	snprintf(buf, size, "%.*s", (int)n, p);
}

static bool module_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if ((*a == '-' ? '_' : *a) != (*b == '-' ? '_' : *b))
			return false;
	return *a == *b;
}

static bool action_is_module_op(const struct action_record *a)
{
	return a->verb == STEP_INSMOD || a->verb == STEP_MODPROBE ||
	       a->verb == STEP_RMMOD;
}

/* The topology device an action names (bind, unbind, probe, wait-bound), or -1. */
static int kmsg_action_dev(const struct kmsg_state *s, const struct action_record *a)
{
	if (!a->arg || action_is_module_op(a) || a->verb == STEP_SLEEP ||
	    a->verb == STEP_REBOOT)
		return -1;
	for (size_t i = 0; i < s->n_devs; i++)
		if (streq(s->devs[i].conf->name, a->arg))
			return (int)i;
	return -1;
}

/* The cycle's action that ran in thread tid (the worker's gettid()): the one still in
 * the kernel, else the last that started before the report. */
static const struct action_record *kmsg_action_of_task(const struct cycle_record *c,
						       int tid, int64_t ts_ns)
{
	const struct action_record *best = NULL;

	if (tid <= 0)
		return NULL;
	for (size_t i = 0; i < c->n_actions; i++) {
		const struct action_record *a = &c->actions[i];

		if (a->tid != tid)
			continue;
		if (a->hung || a->end_ns == 0)
			return a;
		if (!best || a->start_ns <= ts_ns)
			best = a;
	}
	return best;
}

/* The action in flight when the report began (the latest started of those), else the
 * last one that started before it (*ret_flying false). Only actions on topology
 * devices count. */
static const struct action_record *kmsg_action_in_flight(const struct kmsg_state *s,
							 const struct cycle_record *c,
							 int64_t ts_ns, bool *ret_flying)
{
	const struct action_record *flying = NULL, *before = NULL;

	for (size_t i = 0; i < c->n_actions; i++) {
		const struct action_record *a = &c->actions[i];

		if (kmsg_action_dev(s, a) < 0 || a->start_ns > ts_ns)
			continue;
		if ((a->hung || a->end_ns == 0 || a->end_ns >= ts_ns) &&
		    (!flying || a->start_ns >= flying->start_ns))
			flying = a;
		if (!before || a->start_ns >= before->start_ns)
			before = a;
	}
	*ret_flying = flying;
	return flying ? flying : before;
}

/*
 * Finds the device of a report that names none itself (no DEVICE= record, no dev_WARN
 * prefix), from what the kernel says about it and the cycle's actions, in this order:
 *   1. the printing task (caller id, else the "PID:" of its dump; for a hung-task report
 *      the blocked task) is the worker of an action on a topology device: that device
 *      (the thread writing its sysfs file crashed);
 *   2. the stack's innermost frame of a topology driver (its [module], or a function
 *      named after the driver), narrowed to the module of a module action of that task,
 *      and to the device named by the same task's record just before the report;
 *   3. of several devices of that driver, the one this cycle bound, unbound or probed;
 *   4. for an oops or panic that none of this identifies: the device of the action in
 *      flight, saying so.
 * Sets e->device to the kernel's device name and appends how to e->detail. clock_off:
 * printk clock minus CLOCK_MONOTONIC (kmsg_clock_offset()). Lock held.
 */
static int kmsg_attribute(const struct kmsg_state *s, const struct cycle_record *c,
			  struct kmsg_held *h, int64_t clock_off)
{
	struct kernel_event *e = &h->e;
	const struct kparse_origin *o = &h->o;
	const struct action_record *act;
	char how[256], mod[64] = "";
	int task = -1, dev = -1, best = -1, n_best = 0;
	bool fatal = e->class == EVENT_OOPS || e->class == EVENT_PANIC;
	size_t len;
	char *d;

	if (e->device ||
	    !(fatal || e->class == EVENT_WARN || e->class == EVENT_HUNG_TASK))
		return 0;
	if (e->class == EVENT_HUNG_TASK)
		task = o->pid;
	else if (o->caller[0] == 'T')
		task = atoi(o->caller + 1);
	else
		task = o->pid;
	act = kmsg_action_of_task(c, task, e->ts_ns - clock_off);
	if (act && action_is_module_op(act))
		action_module(act, mod, sizeof(mod));

	/* 1. */
	if (act && (dev = kmsg_action_dev(s, act)) >= 0)
		snprintf(how, sizeof(how), "task %d (%s) ran '%s %s'", task,
			 o->comm[0] ? o->comm : "?", step_verb_to_string(act->verb),
			 act->arg);

	/* 2. innermost frame of a topology driver */
	for (size_t i = 0; dev < 0 && i < s->n_devs; i++) {
		const struct conf_device *cd = s->devs[i].conf;
		int f;

		if (mod[0] && (!cd->module || !module_eq(cd->module, mod)))
			continue;
		f = kparse_report_frame(e, cd->module, cd->driver);
		if (f < 0)
			continue;
		if (best < 0 || f < best) {
			best = f;
			n_best = 0;
		}
		if (f == best)
			n_best++;
	}
	if (dev < 0 && best >= 0) {
		int prior = kmsg_dev_find(s, o->prior_device), acted = -1, n_acted = 0;
		const char *drv = NULL;

		for (size_t i = 0; i < s->n_devs; i++) {
			const struct conf_device *cd = s->devs[i].conf;

			if ((mod[0] && (!cd->module || !module_eq(cd->module, mod))) ||
			    kparse_report_frame(e, cd->module, cd->driver) != best)
				continue;
			drv = cd->module ? cd->module : cd->driver;
			if ((int)i == prior)
				dev = prior;
			for (size_t a = 0; a < c->n_actions; a++)
				if (kmsg_action_dev(s, &c->actions[a]) == (int)i) {
					if (acted != (int)i)
						n_acted++;
					acted = (int)i;
					break;
				}
			if (n_best == 1)
				dev = (int)i;
		}
		if (dev >= 0 && dev == prior)
			snprintf(
				how, sizeof(how),
				"the call trace is in %s, and task %s's record before it names the device",
				drv, o->caller);
		else if (dev >= 0)
			snprintf(how, sizeof(how), "the call trace is in %s", drv);
		else if (n_acted == 1) {
			/* 3. */
			dev = acted;
			snprintf(
				how, sizeof(how),
				"the call trace is in %s, the one device of it this cycle acted on",
				drv);
		}
	}
	if (dev < 0 && !act && o->caller[0] == 'T') {
		/* the same task's dev_printk just before, without a driver frame to check */
		int prior = kmsg_dev_find(s, o->prior_device);

		if (prior >= 0 && best < 0) {
			dev = prior;
			snprintf(how, sizeof(how),
				 "task %s's record before it names the device",
				 o->caller);
		}
	}
	/* 4. */
	if (dev < 0 && fatal) {
		bool flying = false;
		const struct action_record *a =
			kmsg_action_in_flight(s, c, e->ts_ns - clock_off, &flying);

		if (a) {
			dev = kmsg_action_dev(s, a);
			snprintf(how, sizeof(how),
				 "the report names no device; the %s was '%s %s'",
				 flying ? "action in flight" : "last action before it",
				 step_verb_to_string(a->verb), a->arg);
		}
	}
	if (dev < 0)
		return 0;

	d = strdup(s->devs[dev].conf->device);
	if (!d)
		return -ENOMEM;
	len = e->detail ? strlen(e->detail) : 0;
	{
		size_t need = len + strlen(how) + strlen(d) + 64;
		char *nd = realloc(e->detail, need);

		if (!nd) {
			free(d);
			return -ENOMEM;
		}
		snprintf(nd + len, need - len, "%sprobestorm: attributed to %s: %s",
			 len ? "\n" : "", d, how);
		e->detail = nd;
	}
	e->device = d;
	return 0;
}

/* The printk clock (local_clock) is not CLOCK_MONOTONIC: in the QEMU kit's guests it runs
 * hundreds of ms ahead. The cycle's begin marker was written just before c->start_ns was
 * taken, so its printk time minus start_ns is the offset (to a few µs; 0 when either is
 * missing). kept: the cycle's events. */
static int64_t kmsg_clock_offset(const struct kmsg_state *s, const struct cycle_record *c,
				 size_t kept)
{
	for (size_t i = 0; c->start_ns > 0 && i < kept; i++) {
		const struct kernel_event *e = &s->held[i].e;
		char uuid[37];
		int64_t cycle;
		bool is_end;

		if (e->class == EVENT_MARKER &&
		    kparse_marker(e->message, uuid, &cycle, &is_end) == 0 && !is_end &&
		    cycle == c->seq && streq(uuid, s->uuid))
			return e->ts_ns - c->start_ns;
	}
	return 0;
}

static int kmsg_cycle_end(void *state, _unused_ const struct collector_ctx *ctx,
			  struct cycle_record *c)
{
	struct kmsg_state *s = state;
	struct timespec until;
	int64_t deadline = now_ns() + KMSG_END_WAIT_NS, epoch, clock_off;
	size_t kept = 0;
	int k = 0;

	until.tv_sec = deadline / NSEC_PER_SEC;
	until.tv_nsec = deadline % NSEC_PER_SEC;

	/* The end marker is in the log: read up to it here rather than wait for the thread's
	 * lazy wakeup. A read error is the thread's to report; the wait below still bounds
	 * us. A file stand-in is left to the thread's 20 ms polls, as before: fake-tree runs
	 * keep their pace (tests/integration's "slow" campaign counts on it). */
	if (s->reader.chardev) {
		pthread_mutex_lock(&s->t.read_lock);
		(void)kmsg_reader_drain(&s->reader, kmsg_on_record, s);
		pthread_mutex_unlock(&s->t.read_lock);
	}

	pthread_mutex_lock(&s->t.lock);
	while (s->last_end < c->seq && !s->thread_done)
		if (pthread_cond_timedwait(&s->t.cond, &s->t.lock, &until) == ETIMEDOUT)
			break;
	if (s->last_end < c->seq) {
		log_warning(
			"kmsg: end marker of cycle %lld not read within %lld ms%s; later records go to the next cycle",
			(long long)c->seq, (long long)(KMSG_END_WAIT_NS / NSEC_PER_MSEC),
			s->in_cycle == c->seq ? "" : " (nor its begin marker)");
		epoch = INT64_MAX;
	} else {
		/* A report that began before the end marker is this cycle's, and the kernel
		 * prints it in one burst (an oops in a deferred probe can straddle the marker):
		 * wait while it still grows, within bounds. */
		int64_t hard = now_ns() + KMSG_REPORT_WAIT_NS;

		epoch = s->end_epoch;
		s->report_wait = true;
		while (kparse_report_open_before(s->report, epoch) > 0 &&
		       !s->thread_done) {
			int64_t t = s->last_record_ns + KMSG_REPORT_IDLE_NS;

			if (t > hard)
				t = hard;
			if (now_ns() >= t)
				break;
			until.tv_sec = t / NSEC_PER_SEC;
			until.tv_nsec = t % NSEC_PER_SEC;
			pthread_cond_timedwait(&s->t.cond, &s->t.lock, &until);
		}
		s->report_wait = false;
	}
	/* What is still open now is cut: this cycle gets it as far as it got, and the rest
	 * of it is swallowed rather than counted again in the next cycle. */
	if (kparse_report_open_before(s->report, epoch) > 0) {
		log_notice(
			"kmsg: cycle %lld ends with a kernel report still being printed; it is recorded as far as it was read",
			(long long)c->seq);
		if (kparse_report_cut(s->report, epoch) >= 0)
			kmsg_take_events(s);
	}
	if (s->dropped_info > 0) {
		struct kernel_event e;
		char msg[96];

		snprintf(msg, sizeof(msg),
			 "kmsg: %zu device records not kept (limit %d per cycle)",
			 s->dropped_info, KMSG_MAX_INFO);
		int64_t ts = s->n_held ? s->held[s->n_held - 1].e.ts_ns : 0;

		if (event_set_note(&e, s->last_seq, ts, msg) >= 0) {
			struct kparse_origin o = { .epoch = epoch == INT64_MAX
								    ? s->epoch
								    : epoch - 1,
						   .pid = -1 };

			kmsg_keep(s, &e, &o, true);
		}
	}

	/* This cycle's events: those of epochs before the end marker's; later ones (records
	 * after the marker, read before we got here) wait for the next cycle. */
	for (size_t i = 0; i < s->n_held; i++) {
		if (s->held[i].o.epoch < epoch) {
			struct kmsg_held t = s->held[kept];

			s->held[kept++] = s->held[i];
			s->held[i] = t;
		}
	}
	qsort(s->held, kept, sizeof(*s->held), held_cmp_seq);
	clock_off = kmsg_clock_offset(s, c, kept);
	for (size_t i = 0; i < kept; i++) {
		int r = kmsg_attribute(s, c, &s->held[i], clock_off);

		if (r < 0 && k == 0)
			k = r;
		if (k == 0)
			k = cycle_add_event(c, &s->held[i].e);
		kernel_event_done(&s->held[i].e);
		kparse_origin_done(&s->held[i].o);
	}
	memmove(s->held, s->held + kept, (s->n_held - kept) * sizeof(*s->held));
	s->n_held -= kept;
	s->n_info = s->dropped_info = 0;

	/* The deferred collector counts deferrals it saw in debugfs; both count the same
	 * thing at different resolution, so the larger number wins. */
	for (size_t i = 0; i < s->n_devs; i++) {
		struct observation *o;

		if (s->devs[i].deferrals == 0)
			continue;
		o = cycle_find_observation(c, s->devs[i].conf->name);
		if (o && o->deferrals < s->devs[i].deferrals)
			o->deferrals = s->devs[i].deferrals;
		else if (!o)
			log_debug("kmsg: %d deferrals of '%s' but no observation of it",
				  s->devs[i].deferrals, s->devs[i].conf->name);
		s->devs[i].deferrals = 0;
	}
	pthread_mutex_unlock(&s->t.lock);

	if (k < 0)
		return log_error_errno(k, "kmsg: cannot add events to cycle %lld",
				       (long long)c->seq);
	return 0;
}

const struct collector_ops collector_kmsg = {
	.name = "kmsg",
	.state_size = sizeof(struct kmsg_state),
	.start = kmsg_start,
	.cycle_begin = kmsg_cycle_begin,
	.cycle_end = kmsg_cycle_end,
	.stop = kmsg_stop,
};

/* ------------------------------------------------------------- runner extras */

int kmsg_write_marker(const char *uuid, int64_t cycle, bool end)
{
	char p[PATH_MAX], m[KPARSE_MARKER_MAX], line[KPARSE_MARKER_MAX + 8];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int k, len;

	k = kparse_marker_format(m, sizeof(m), uuid, cycle, end);
	if (k < 0)
		return k;
	k = kio_path(p, sizeof(p), "/dev/kmsg");
	if (k < 0)
		return k;
	/* <7>: KERN_DEBUG, so a serial console (slow: on boards and under QEMU TCG) does not
	 * print two markers per cycle; /dev/kmsg keeps every level. The kernel keeps facility
	 * LOG_USER for userspace records, which is what keeps markers out of kernel reports in
	 * the aggregator. O_APPEND changes nothing for /dev/kmsg and keeps a fake tree's file
	 * intact. */
	len = snprintf(line, sizeof(line), "<7>%s\n", m);
	fd = kio_open(p, O_WRONLY | O_APPEND);
	if (fd < 0)
		return fd;
	n = write(fd, line, (size_t)len);
	if (n < 0)
		return negative_errno();
	return n == len ? 0 : -EIO;
}

void kmsg_events_free(struct kernel_event *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		kernel_event_done(&e[i]);
	free(e);
}

struct kmsg_boot {
	bool track_gaps; /* the real /dev/kmsg (not a file stand-in) */
	struct kparse_report *report;
	struct kernel_event *v;
	size_t n, cap;
	int64_t last_seq;
};

/* Takes ownership of e. */
static int kmsg_boot_push(struct kmsg_boot *b, struct kernel_event *e, bool keep_info)
{
	if (e->class == EVENT_INFO && !keep_info) {
		kernel_event_done(e);
		return 0;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct kernel_event *v = realloc(b->v, cap * sizeof(*v));

		if (!v) {
			kernel_event_done(e);
			return -ENOMEM;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

static int kmsg_boot_take(struct kmsg_boot *b)
{
	struct kernel_event e;
	int k = 0;

	while (kparse_report_pop(b->report, &e) == 1) {
		int r = kmsg_boot_push(b, &e, false);

		if (r < 0 && k == 0)
			k = r;
	}
	return k;
}

static int kmsg_boot_on_record(const struct kmsg_record *rec, void *userdata)
{
	struct kmsg_boot *b = userdata;
	int k;

	if (b->track_gaps && b->last_seq >= 0 && rec->seq > b->last_seq + 1) {
		struct kernel_event e;
		char msg[64];

		snprintf(msg, sizeof(msg), "kmsg: %lld records lost",
			 (long long)(rec->seq - b->last_seq - 1));
		k = event_set_note(&e, b->last_seq + 1, rec->ts_us * NSEC_PER_USEC, msg);
		if (k < 0)
			return k;
		k = kmsg_boot_push(b, &e, true);
		if (k < 0)
			return k;
	}
	if (rec->seq > b->last_seq)
		b->last_seq = rec->seq;
	k = kparse_report_feed(b->report, rec);
	return k < 0 ? k : kmsg_boot_take(b);
}

int kmsg_read_boot(struct kernel_event **ret, size_t *ret_n)
{
	struct kmsg_reader reader = { .fd = -1 };
	struct kmsg_boot b = { .last_seq = -1 };
	int k;

	if (!ret || !ret_n)
		return -EINVAL;
	k = kmsg_reader_open(&reader, SEEK_DATA);
	if (k < 0)
		return log_error_errno(k, "kmsg: cannot open /dev/kmsg for reading");
	b.track_gaps = reader.chardev;
	k = kparse_report_new(&b.report);
	if (k < 0)
		goto out;
	k = kmsg_reader_drain(&reader, kmsg_boot_on_record, &b);
	if (k >= 0)
		k = kparse_report_flush(b.report);
	if (k >= 0)
		k = kmsg_boot_take(&b);
	if (k < 0) {
		log_error_errno(k, "kmsg: cannot read the boot's records");
		goto out;
	}
	*ret = TAKE_PTR(b.v);
	*ret_n = b.n;
	b.n = 0;
	k = 0;
out:
	kmsg_events_free(b.v, b.n);
	kparse_report_free(b.report);
	kmsg_reader_close(&reader);
	return k;
}
