/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pure parsers for kernel output (see kparse.h): /dev/kmsg records, the WARN/oops report
 * aggregator that turns a multi-record splat into one classified kernel_event, markers,
 * devices_deferred, uevent datagrams, trace_pipe lines, ELF build-id notes, cmdline values.
 * No I/O, no logging: errors are negative errno values for the caller to report.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kparse.h"
#include "macro.h"
#include "util.h"

/* ---------------------------------------------------------------- small helpers */

struct sbuf {
	char *s;
	size_t len, cap;
};

static int sbuf_append(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p)
			return -ENOMEM;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undoes printk's "\xNN" escaping of [p, end). "\x00" stays escaped: the result is a C
 * string. A backslash not followed by two hex digits is kept (the kernel never emits one,
 * but a stray one is not worth rejecting the record for). */
static char *unescape(const char *p, const char *end)
{
	char *ret = malloc((size_t)(end - p) + 1), *o = ret;

	if (!ret)
		return NULL;
	while (p < end) {
		if (p[0] == '\\' && end - p >= 4 && p[1] == 'x' && hexval(p[2]) >= 0 &&
		    hexval(p[3]) >= 0) {
			char c = (char)(hexval(p[2]) << 4 | hexval(p[3]));

			if (c != '\0') {
				*o++ = c;
				p += 4;
				continue;
			}
		}
		*o++ = *p++;
	}
	*o = '\0';
	return ret;
}

/* Decimal without sign at *pp (before end); advances *pp. */
static int parse_u64(const char **pp, const char *end, uint64_t max, uint64_t *ret)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (p >= end || !isdigit((unsigned char)*p))
		return -EBADMSG;
	for (; p < end && isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (max - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*pp = p;
	*ret = v;
	return 0;
}

/* ---------------------------------------------------------------- /dev/kmsg records */

void kparse_kmsg_record_done(struct kmsg_record *r)
{
	if (!r)
		return;
	free(r->message);
	free(r->subsystem);
	free(r->device);
	memset(r, 0, sizeof(*r));
}

/* Header "prio,seq,usec,flags[,key=value...]" in [p, end). */
static int parse_kmsg_header(const char *p, const char *end, struct kmsg_record *r)
{
	uint64_t prio, seq, usec;
	const char *f;

	if (parse_u64(&p, end, 0x7fffffff, &prio) < 0 || p >= end || *p++ != ',')
		return -EBADMSG;
	if (parse_u64(&p, end, INT64_MAX, &seq) < 0 || p >= end || *p++ != ',')
		return -EBADMSG;
	if (parse_u64(&p, end, INT64_MAX / 1000, &usec) < 0 || p >= end || *p++ != ',')
		return -EBADMSG;

	/* Flags: '-' or 'c' today; older kernels also used '+'. */
	f = p;
	while (p < end && *p != ',')
		p++;
	if (p == f)
		return -EBADMSG;
	r->cont = memchr(f, 'c', (size_t)(p - f)) || memchr(f, '+', (size_t)(p - f));

	/* Further values: only caller= is known; the format says to ignore the others. */
	while (p < end) {
		const char *v = ++p, *ve;

		while (p < end && *p != ',')
			p++;
		ve = p;
		if (ve - v > 7 && memcmp(v, "caller=", 7) == 0) {
			size_t n = (size_t)(ve - v - 7);

			v += 7;
			if (n < 2 || n >= sizeof(r->caller) ||
			    (v[0] != 'T' && v[0] != 'C'))
				return -EBADMSG;
			for (size_t i = 1; i < n; i++)
				if (!isdigit((unsigned char)v[i]))
					return -EBADMSG;
			memcpy(r->caller, v, n);
			r->caller[n] = '\0';
		}
	}

	r->facility = (int)(prio >> 3);
	r->level = (int)(prio & 7);
	r->seq = (int64_t)seq;
	r->ts_us = (int64_t)usec;
	return 0;
}

int kparse_kmsg_record(const char *buf, size_t len, struct kmsg_record *ret)
{
	struct kmsg_record r = {};
	const char *end, *semi, *p, *nl;
	int k;

	if (!buf || !ret)
		return -EINVAL;
	end = buf + len;
	semi = memchr(buf, ';', len);
	nl = memchr(buf, '\n', len);
	if (!semi || (nl && nl < semi))
		return -EBADMSG;
	k = parse_kmsg_header(buf, semi, &r);
	if (k < 0)
		return k;

	p = semi + 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		nl = end;
	r.message = unescape(p, nl);
	if (!r.message)
		return -ENOMEM;

	for (p = nl < end ? nl + 1 : end; p < end; p = nl < end ? nl + 1 : end) {
		const char *eq;
		char **field = NULL;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (*p != ' ') {
			k = -EBADMSG;
			goto fail;
		}
		p++;
		eq = memchr(p, '=', (size_t)(nl - p));
		if (!eq || eq == p) {
			k = -EBADMSG;
			goto fail;
		}
		if (eq - p == 9 && memcmp(p, "SUBSYSTEM", 9) == 0)
			field = &r.subsystem;
		else if (eq - p == 6 && memcmp(p, "DEVICE", 6) == 0)
			field = &r.device;
		if (field) {
			free(*field);
			*field = unescape(eq + 1, nl);
			if (!*field) {
				k = -ENOMEM;
				goto fail;
			}
		}
	}

	*ret = r;
	return 0;
fail:
	kparse_kmsg_record_done(&r);
	return k;
}

char *kparse_device_id(const char *kmsg_device)
{
	if (!kmsg_device)
		return NULL;
	return strdup(kmsg_device[0] == '+' ? kmsg_device + 1 : kmsg_device);
}

/* ---------------------------------------------------------------- single-line patterns */

#define LATE_IOMMU_TEXT ": late IOMMU probe at driver bind"
#define CUT_HERE_TEXT	"------------[ cut here ]------------"

/* What one line means for the report aggregator. */
enum line_kind {
	LINE_OTHER,
	LINE_CUT,  /* "------------[ cut here ]------------" */
	LINE_END,  /* "---[ end trace ... ]---", "---[ end Kernel panic ... ]---" */
	LINE_WARN, /* __warn(): "WARNING: file:line at ..." (ends with an end marker) */
	LINE_WARN_OTHER, /* lockdep, RCU: "WARNING: possible ..." (no end marker) */
	LINE_LATE_IOMMU, /* "<driver> <device>: late IOMMU probe at driver bind, ..." */
	LINE_OOPS,	 /* "Unable to handle kernel", "Internal error:", "Oops",
	                    * "kernel BUG at" */
	LINE_BUG,   /* "BUG: ..." (a stack dump follows, end marker only if it oopses) */
	LINE_PANIC, /* "Kernel panic - not syncing: ..." */
	LINE_HUNG,  /* "INFO: task X:N blocked for more than N seconds." */
	LINE_TRACE, /* looks like the body of a splat: registers, stack frames, ... */
};

/* "WARNING: <file>:<line> at <sym>, CPU#N: comm/pid" (7.x) or the older
 * "WARNING: CPU: N PID: N at <file>:<line> <sym>" and "WARNING: at <sym>" forms. */
static bool is_warn_line(const char *s)
{
	const char *p = s + strlen("WARNING: ");

	if (startswith(p, "at ") || startswith(p, "CPU: "))
		return true;
	p += strcspn(p, " :");
	if (*p != ':' || !isdigit((unsigned char)p[1]))
		return false;
	p++;
	while (isdigit((unsigned char)*p))
		p++;
	return startswith(p, " at ");
}

static bool is_register_line(const char *s)
{
	size_t n = 0;

	/* arm64 "x29: ffff80008...", "pc : __iommu_probe_device+0x..", "lr : ", "sp : " */
	if (s[0] == 'x' && isdigit((unsigned char)s[1])) {
		n = 1 + strspn(s + 1, "0123456789");
		return s[n] == ':' || (s[n] == ' ' && s[n + 1] == ':');
	}
	if (startswith(s, "pc : ") || startswith(s, "lr : ") || startswith(s, "sp : "))
		return true;
	/* x86 "RIP: 0010:...", "RAX: ...", "R10: ...", "CR2: ...", "FS: ..." (at most three
	 * characters: "INFO:", "BUG:" and friends are not registers) */
	while (n < 4 && ((s[n] >= 'A' && s[n] <= 'Z') || isdigit((unsigned char)s[n])))
		n++;
	return n >= 2 && n <= 3 && s[n] == ':' && s[0] >= 'A' && s[0] <= 'Z';
}

static bool is_trace_line(const char *s)
{
	static const char *const prefixes[] = {
		"Call trace:",
		"Call Trace:",
		"<TASK>",
		"</TASK>",
		"<IRQ>",
		"</IRQ>",
		"CPU: ",
		"Hardware name:",
		"Workqueue:",
		"Modules linked in:",
		"Tainted:",
		"pstate:",
		"Code:",
		"task:",
		"\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\"",
		"INFO: task ",
		"Mem abort info:",
		"Data abort info:",
		"Kernel Offset:",
		"CPU features:",
		"Memory Limit:",
		"Showing all locks held",
		"#PF:",
		"PGD ",
		"Future hung task reports",
		"irq event stamp:",
		"hardirqs ",
		"softirqs ",
	};

	if (s[0] == ' ' || s[0] == '\t')
		return true;
	/* arm64 page-table dump "[0000000000000000] user address but active_mm is swapper" */
	if (s[0] == '[' && isxdigit((unsigned char)s[1]) && strchr(s, ']'))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (startswith(s, prefixes[i]))
			return true;
	return is_register_line(s);
}

static bool is_hung_line(const char *s)
{
	return startswith(s, "INFO: task ") && strstr(s, " for more than ") &&
	       strstr(s, " seconds");
}

static enum line_kind line_kind(const char *s)
{
	if (startswith(s, CUT_HERE_TEXT))
		return LINE_CUT;
	if (startswith(s, "---[ end "))
		return LINE_END;
	if (startswith(s, "WARNING: "))
		return is_warn_line(s) ? LINE_WARN : LINE_WARN_OTHER;
	if (strstr(s, LATE_IOMMU_TEXT))
		return LINE_LATE_IOMMU;
	if (startswith(s, "Unable to handle kernel ") ||
	    startswith(s, "Internal error: ") || startswith(s, "Oops") ||
	    startswith(s, "kernel BUG at "))
		return LINE_OOPS;
	if (startswith(s, "BUG: "))
		return LINE_BUG;
	if (startswith(s, "Kernel panic - not syncing"))
		return LINE_PANIC;
	if (is_hung_line(s))
		return LINE_HUNG;
	if (is_trace_line(s))
		return LINE_TRACE;
	return LINE_OTHER;
}

static bool is_probe_failed(const char *s)
{
	/* dd.c call_driver_probe(): dev_err "probe with driver %s failed with error %d" (the
	 * text starts with dev_printk's "<driver> <device>: "); before 5.14 really_probe():
	 * pr_warn "%s: probe of %s failed with error %d". */
	return (strstr(s, "probe with driver ") || strstr(s, ": probe of ")) &&
	       strstr(s, " failed with error ");
}

static bool is_deferred_timeout(const char *s)
{
	/* dd.c driver_deferred_probe_check_state(): both end in a bind without the supplier */
	return strstr(s, "deferred probe timeout, ignoring dependency") ||
	       strstr(s, "ignoring dependency for device, assuming no driver");
}

enum event_class kparse_classify(const char *message)
{
	if (!message)
		return EVENT_INFO;
	switch (line_kind(message)) {
	case LINE_CUT:
	case LINE_WARN:
	case LINE_WARN_OTHER: return EVENT_WARN;
	case LINE_LATE_IOMMU: return EVENT_LATE_IOMMU_PROBE;
	case LINE_OOPS:
	case LINE_BUG: return EVENT_OOPS;
	case LINE_PANIC: return EVENT_PANIC;
	case LINE_HUNG: return EVENT_HUNG_TASK;
	default: break;
	}
	if (kparse_marker(message, NULL, NULL, NULL) >= 0)
		return EVENT_MARKER;
	if (is_deferred_timeout(message))
		return EVENT_DEFERRED_TIMEOUT;
	if (kparse_probe_time(message, NULL, NULL, NULL, NULL) >= 0)
		return EVENT_PROBE_TIME;
	if (is_probe_failed(message))
		return EVENT_PROBE_FAILED;
	return EVENT_INFO;
}

int kparse_probe_time(const char *msg, char **ret_dev, char **ret_driver, int *ret_ret,
		      int64_t *ret_usecs)
{
	const char *dev, *with, *drv, *returned;
	char *d = NULL, *v = NULL, *end;
	long r;
	long long us;

	if (!msg || !startswith(msg, "probe of "))
		return -EINVAL;
	dev = msg + strlen("probe of ");
	with = strstr(dev, " with driver ");
	if (!with || with == dev)
		return -EINVAL;
	drv = with + strlen(" with driver ");
	returned = strstr(drv, " returned ");
	if (!returned || returned == drv)
		return -EINVAL;

	errno = 0;
	r = strtol(returned + strlen(" returned "), &end, 10);
	if (errno || end == returned + strlen(" returned ") || r < INT32_MIN ||
	    r > INT32_MAX || !startswith(end, " after "))
		return -EINVAL;
	end += strlen(" after ");
	if (!isdigit((unsigned char)*end))
		return -EINVAL;
	us = strtoll(end, &end, 10);
	if (errno || !startswith(end, " usecs"))
		return -EINVAL;

	if (ret_dev && !(d = strndup(dev, (size_t)(with - dev))))
		return -ENOMEM;
	if (ret_driver && !(v = strndup(drv, (size_t)(returned - drv)))) {
		free(d);
		return -ENOMEM;
	}
	if (ret_dev)
		*ret_dev = d;
	if (ret_driver)
		*ret_driver = v;
	if (ret_ret)
		*ret_ret = (int)r;
	if (ret_usecs)
		*ret_usecs = us;
	return 0;
}

/* ---------------------------------------------------------------- markers */

int kparse_marker_format(char *buf, size_t size, const char *uuid, int64_t cycle,
			 bool end)
{
	int n;

	if (!buf || !uuid_is_valid(uuid) || cycle < 0)
		return -EINVAL;
	n = snprintf(buf, size, "probestorm: run=%s cycle=%" PRId64 " %s", uuid, cycle,
		     end ? "end" : "begin");
	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	return 0;
}

int kparse_marker(const char *msg, char ret_uuid[37], int64_t *ret_cycle,
		  bool *ret_is_end)
{
	const char *p, *u;
	char uuid[37];
	uint64_t cycle;
	bool is_end;

	if (!msg || !startswith(msg, "probestorm: run="))
		return -EINVAL;
	u = msg + strlen("probestorm: run=");
	/* " cycle=" follows the UUID: it is checked on its own */
	if (strnlen(u, 36) < 36)
		return -EINVAL;
	memcpy(uuid, u, 36);
	uuid[36] = '\0';
	if (!uuid_is_valid(uuid))
		return -EINVAL;
	p = u + 36;
	if (!startswith(p, " cycle="))
		return -EINVAL;
	p += strlen(" cycle=");
	if (parse_u64(&p, p + strlen(p), INT64_MAX, &cycle) < 0)
		return -EINVAL;
	/* A trailing newline is tolerated: the kernel strips it, a test may not. */
	if (streq(p, " begin") || streq(p, " begin\n"))
		is_end = false;
	else if (streq(p, " end") || streq(p, " end\n"))
		is_end = true;
	else
		return -EINVAL;

	if (ret_uuid)
		memcpy(ret_uuid, uuid, sizeof(uuid));
	if (ret_cycle)
		*ret_cycle = (int64_t)cycle;
	if (ret_is_end)
		*ret_is_end = is_end;
	return 0;
}

/* ---------------------------------------------------------------- report aggregator */

#define REPORT_MAX_OPEN	 8
#define REPORT_MAX_LINES 512
#define REPORT_MAX_SEEN	 16

/* Rank of a class inside a report: a report takes the most severe class it shows. */
static int class_rank(enum event_class c)
{
	switch (c) {
	case EVENT_WARN: return 1;
	case EVENT_HUNG_TASK: return 2;
	case EVENT_LATE_IOMMU_PROBE: return 3;
	case EVENT_OOPS: return 4;
	case EVENT_PANIC: return 5;
	default: return 0;
	}
}

struct open_report {
	bool used;
	/* a cut report's tail: absorbs what continues it, keeps nothing, queues nothing */
	bool tail;
	char key[16];
	uint64_t order;
	int64_t epoch;
	enum event_class class;
	bool want_end; /* closes at "---[ end ..." (else at the first non-trace line) */
	int64_t seq, ts_us;
	int64_t last_ts_us; /* of its last record, for the gap rule */
	int prio;
	char *device;
	int device_rank; /* 3 late-probe line, 2 dev_WARN prefix, 1 DEVICE= */
	char *prior_device;
	int headline; /* index into lines or -1 */
	int headline_rank;
	int cut; /* index of the "cut here" line or -1 */
	char **lines;
	size_t n_lines, cap_lines, dropped;
};

/* The last device record of a caller, for kparse_origin.prior_device. */
struct caller_seen {
	char key[16];
	char *device;
	int64_t ts_us;
	uint64_t order;
};

struct queued {
	struct kernel_event e;
	struct kparse_origin o;
};

struct kparse_report {
	struct open_report open[REPORT_MAX_OPEN];
	struct caller_seen seen[REPORT_MAX_SEEN];
	uint64_t order;
	int64_t epoch;
	struct queued *queue;
	size_t q_head, q_len, q_cap;
};

void kparse_origin_done(struct kparse_origin *o)
{
	if (!o)
		return;
	free(o->prior_device);
	memset(o, 0, sizeof(*o));
	o->pid = -1;
}

int kparse_report_new(struct kparse_report **ret)
{
	struct kparse_report *r;

	if (!ret)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*ret = r;
	return 0;
}

static void open_report_clear(struct open_report *o)
{
	for (size_t i = 0; i < o->n_lines; i++)
		free(o->lines[i]);
	free(o->lines);
	free(o->device);
	free(o->prior_device);
	memset(o, 0, sizeof(*o));
}

void kparse_report_free(struct kparse_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < REPORT_MAX_OPEN; i++)
		open_report_clear(&r->open[i]);
	for (size_t i = 0; i < REPORT_MAX_SEEN; i++)
		free(r->seen[i].device);
	for (size_t i = r->q_head; i < r->q_len; i++) {
		kernel_event_done(&r->queue[i].e);
		kparse_origin_done(&r->queue[i].o);
	}
	free(r->queue);
	free(r);
}

void kparse_report_set_epoch(struct kparse_report *r, int64_t epoch)
{
	if (r)
		r->epoch = epoch;
}

size_t kparse_report_open(const struct kparse_report *r)
{
	size_t n = 0;

	for (size_t i = 0; r && i < REPORT_MAX_OPEN; i++)
		n += r->open[i].used && !r->open[i].tail;
	return n;
}

size_t kparse_report_open_before(const struct kparse_report *r, int64_t epoch)
{
	size_t n = 0;

	for (size_t i = 0; r && i < REPORT_MAX_OPEN; i++)
		n += r->open[i].used && !r->open[i].tail && r->open[i].epoch < epoch;
	return n;
}

static int queued(const struct kparse_report *r)
{
	return (int)(r->q_len - r->q_head);
}

/* Takes ownership of e's and o's strings (also on failure, when they are freed). */
static int queue_push(struct kparse_report *r, struct kernel_event *e,
		      struct kparse_origin *o)
{
	if (r->q_head == r->q_len)
		r->q_head = r->q_len = 0;
	if (r->q_len == r->q_cap) {
		size_t cap = r->q_cap ? r->q_cap * 2 : 16;
		struct queued *q;

		if (r->q_head > 0) {
			/* compact before growing */
			memmove(r->queue, r->queue + r->q_head,
				(r->q_len - r->q_head) * sizeof(*q));
			r->q_len -= r->q_head;
			r->q_head = 0;
		} else {
			q = realloc(r->queue, cap * sizeof(*q));
			if (!q) {
				kernel_event_done(e);
				kparse_origin_done(o);
				return -ENOMEM;
			}
			r->queue = q;
			r->q_cap = cap;
		}
	}
	r->queue[r->q_len].e = *e;
	r->queue[r->q_len].o = *o;
	r->q_len++;
	memset(e, 0, sizeof(*e));
	memset(o, 0, sizeof(*o));
	return 0;
}

int kparse_report_pop_origin(struct kparse_report *r, struct kernel_event *ret,
			     struct kparse_origin *ret_origin)
{
	struct queued *q;

	if (!r || !ret || r->q_head == r->q_len)
		return 0;
	q = &r->queue[r->q_head++];
	*ret = q->e;
	if (ret_origin)
		*ret_origin = q->o;
	else
		kparse_origin_done(&q->o);
	memset(q, 0, sizeof(*q));
	return 1;
}

int kparse_report_pop(struct kparse_report *r, struct kernel_event *ret)
{
	return kparse_report_pop_origin(r, ret, NULL);
}

/* "<driver> <device>: late IOMMU probe ..." -> device (the token before the colon). */
static char *late_probe_device(const char *s)
{
	const char *colon = strstr(s, LATE_IOMMU_TEXT), *b = colon;

	while (b > s && b[-1] != ' ')
		b--;
	if (b == colon)
		return NULL;
	return strndup(b, (size_t)(colon - b));
}

/* dev_WARN()'s "%s %s: " prefix: "<driver> <device>: text" -> device. */
static char *dev_prefix_device(const char *s)
{
	const char *sp = strchr(s, ' '), *d, *colon;

	if (!sp || sp == s)
		return NULL;
	d = sp + 1;
	colon = strstr(d, ": ");
	if (!colon || colon == d || memchr(d, ' ', (size_t)(colon - d)))
		return NULL;
	return strndup(d, (size_t)(colon - d));
}

static void set_device(struct open_report *o, char *dev, int rank)
{
	if (!dev)
		return;
	if (rank <= o->device_rank) {
		free(dev);
		return;
	}
	free(o->device);
	o->device = dev;
	o->device_rank = rank;
}

static void raise_class(struct open_report *o, enum event_class c, int headline)
{
	if (class_rank(c) > class_rank(o->class))
		o->class = c;
	if (headline >= 0 && class_rank(c) > o->headline_rank) {
		o->headline = headline;
		o->headline_rank = class_rank(c);
	}
}

static int report_add(struct open_report *o, const struct kmsg_record *rec,
		      enum line_kind kind)
{
	const char *msg = rec->message ? rec->message : "";
	int idx = -1;

	o->last_ts_us = rec->ts_us;
	if (o->tail) {
		o->dropped++; /* only counted, for the bound on what a tail swallows */
		return 0;
	}
	if (rec->level < o->prio)
		o->prio = rec->level;
	if (o->n_lines >= REPORT_MAX_LINES) {
		o->dropped++;
	} else {
		char *copy;

		if (o->n_lines == o->cap_lines) {
			size_t cap = o->cap_lines ? o->cap_lines * 2 : 32;
			char **l = realloc(o->lines, cap * sizeof(*l));

			if (!l)
				return -ENOMEM;
			o->lines = l;
			o->cap_lines = cap;
		}
		copy = strdup(msg);
		if (!copy)
			return -ENOMEM;
		idx = (int)o->n_lines;
		o->lines[o->n_lines++] = copy;
	}

	if (rec->device)
		set_device(o, kparse_device_id(rec->device), 1);

	switch (kind) {
	case LINE_CUT:
		if (o->cut < 0)
			o->cut = idx;
		break;
	case LINE_WARN:
	case LINE_WARN_OTHER: raise_class(o, EVENT_WARN, idx); break;
	case LINE_LATE_IOMMU:
		raise_class(o, EVENT_LATE_IOMMU_PROBE, idx);
		set_device(o, late_probe_device(msg), 3);
		break;
	case LINE_OOPS:
		raise_class(o, EVENT_OOPS, idx);
		o->want_end = true;
		break;
	case LINE_BUG: raise_class(o, EVENT_OOPS, idx); break;
	case LINE_PANIC:
		raise_class(o, EVENT_PANIC, idx);
		o->want_end = true;
		break;
	case LINE_HUNG: raise_class(o, EVENT_HUNG_TASK, idx); break;
	default:
		/* The WARN() text right after "cut here" carries dev_WARN's device prefix. */
		if (o->cut >= 0 && idx == o->cut + 1 && o->class == EVENT_WARN)
			set_device(o, dev_prefix_device(msg), 2);
		break;
	}
	return 0;
}

/* "comm:pid" / "comm/pid" ending at end (exclusive): the separator is the last one, as a
 * comm may hold either ("kworker/u8:1"). */
static void parse_comm_pid(const char *s, const char *end, char sep,
			   struct kparse_origin *o)
{
	const char *p = end;
	char *e;
	long pid;

	while (p > s && p[-1] != sep)
		p--;
	if (p == s || p == end || !isdigit((unsigned char)*p))
		return;
	pid = strtol(p, &e, 10);
	if (e != end || pid <= 0 || pid > INT32_MAX)
		return;
	o->pid = (int)pid;
	snprintf(o->comm, sizeof(o->comm), "%.*s", (int)(p - 1 - s), s);
}

/* The task a report is about (see struct kparse_origin). */
static void report_task(const struct open_report *o, struct kparse_origin *ret)
{
	const char *warn = NULL;

	for (size_t i = 0; i < o->n_lines; i++) {
		const char *l = o->lines[i], *p, *q;

		if (o->class == EVENT_HUNG_TASK) {
			if (is_hung_line(l)) {
				p = l + strlen("INFO: task ");
				q = strstr(p, " blocked for more than ");
				if (q)
					parse_comm_pid(p, q, ':', ret);
				return;
			}
			continue;
		}
		/* arm64/x86 dump_stack / show_regs: "CPU: 0 UID: 0 PID: 294 Comm: sh ..." */
		if (startswith(l, "CPU: ") && (p = strstr(l, " PID: ")) &&
		    (q = strstr(l, " Comm: "))) {
			long pid = strtol(p + strlen(" PID: "), NULL, 10);

			if (pid > 0 && pid <= INT32_MAX) {
				q += strlen(" Comm: ");
				ret->pid = (int)pid;
				snprintf(ret->comm, sizeof(ret->comm), "%.*s",
					 (int)strcspn(q, " "), q);
				return;
			}
		}
		if (!warn && startswith(l, "WARNING: ") && strstr(l, ", CPU#"))
			warn = l;
	}
	/* 7.x "WARNING: file:line at sym+off/len, CPU#1: sh/88" */
	if (warn) {
		const char *p = strstr(warn, ", CPU#"), *c = strstr(p, ": ");

		if (c)
			parse_comm_pid(c + 2, c + 2 + strcspn(c + 2, " "), '/', ret);
	}
}

static int report_close(struct kparse_report *r, struct open_report *o, bool cut)
{
	struct kernel_event e = {
		.source = SOURCE_KMSG,
		.class = o->class,
		.seq = o->seq,
		.ts_ns = o->ts_us * NSEC_PER_USEC,
		.prio = o->prio,
		.boot = 0,
	};
	struct kparse_origin origin = { .epoch = o->epoch, .pid = -1, .cut = cut };
	struct sbuf detail = {};
	int h = o->headline, k = -ENOMEM;

	if (o->tail) {
		open_report_clear(o);
		return 0;
	}
	if (h < 0) {
		/* no headline line (e.g. "cut here" then a flush): the first real line */
		for (size_t i = 0; i < o->n_lines && h < 0; i++)
			if ((int)i != o->cut)
				h = (int)i;
		if (h < 0)
			h = 0;
	}
	snprintf(origin.caller, sizeof(origin.caller), "%s", o->key);
	report_task(o, &origin);
	origin.prior_device = TAKE_PTR(o->prior_device);
	e.message = o->n_lines > 0 ? TAKE_PTR(o->lines[h]) : strdup("");
	if (!e.message)
		goto out;
	for (size_t i = 0; i < o->n_lines; i++) {
		if ((int)i == h || (int)i == o->cut)
			continue;
		if ((detail.len && sbuf_append(&detail, "\n", 1) < 0) ||
		    sbuf_append(&detail, o->lines[i], strlen(o->lines[i])) < 0)
			goto out;
	}
	if (o->dropped || cut) {
		char note[96];

		if (o->dropped)
			snprintf(note, sizeof(note), "%s(%zu more lines)",
				 detail.len ? "\n" : "", o->dropped);
		else
			snprintf(note, sizeof(note),
				 "%s(report cut short: its end was not read in time)",
				 detail.len ? "\n" : "");
		if (sbuf_append(&detail, note, strlen(note)) < 0)
			goto out;
	}
	e.detail = TAKE_PTR(detail.s);
	e.device = TAKE_PTR(o->device);
	k = queue_push(r, &e, &origin);
out:
	free(detail.s);
	kernel_event_done(&e);
	kparse_origin_done(&origin);
	open_report_clear(o);
	return k;
}

static const char *seen_device(const struct kparse_report *r,
			       const struct kmsg_record *rec)
{
	if (!rec->caller[0])
		return NULL; /* one stream for every context: the last device means nothing */
	for (size_t i = 0; i < REPORT_MAX_SEEN; i++) {
		const struct caller_seen *c = &r->seen[i];

		if (c->device && streq(c->key, rec->caller))
			return rec->ts_us - c->ts_us <= KPARSE_PRIOR_MAX_US ? c->device
									    : NULL;
	}
	return NULL;
}

/* Remembers the DEVICE= of a kernel record by caller (the least recent entry goes). */
static int seen_update(struct kparse_report *r, const struct kmsg_record *rec)
{
	struct caller_seen *c = NULL;
	char *dev;

	if (!rec->caller[0] || !rec->device)
		return 0;
	for (size_t i = 0; i < REPORT_MAX_SEEN && !c; i++)
		if (r->seen[i].device && streq(r->seen[i].key, rec->caller))
			c = &r->seen[i];
	for (size_t i = 0; i < REPORT_MAX_SEEN && !c; i++)
		if (!r->seen[i].device)
			c = &r->seen[i];
	if (!c) {
		c = &r->seen[0];
		for (size_t i = 1; i < REPORT_MAX_SEEN; i++)
			if (r->seen[i].order < c->order)
				c = &r->seen[i];
	}
	dev = kparse_device_id(rec->device);
	if (!dev)
		return -ENOMEM;
	free(c->device);
	c->device = dev;
	snprintf(c->key, sizeof(c->key), "%s", rec->caller);
	c->ts_us = rec->ts_us;
	c->order = ++r->order;
	return 0;
}

static int report_open(struct kparse_report *r, const struct kmsg_record *rec,
		       enum line_kind kind, struct open_report **ret)
{
	struct open_report *o = NULL;
	const char *prior;

	for (size_t i = 0; i < REPORT_MAX_OPEN; i++)
		if (!r->open[i].used) {
			o = &r->open[i];
			break;
		}
	/* every slot busy: a swallowed tail goes first, then the oldest report, which has
	 * waited long enough */
	for (size_t i = 0; i < REPORT_MAX_OPEN && !o; i++)
		if (r->open[i].tail) {
			o = &r->open[i];
			open_report_clear(o);
		}
	if (!o) {
		struct open_report *oldest = &r->open[0];
		int k;

		for (size_t i = 1; i < REPORT_MAX_OPEN; i++)
			if (r->open[i].order < oldest->order)
				oldest = &r->open[i];
		k = report_close(r, oldest, false);
		if (k < 0)
			return k;
		o = oldest;
	}

	prior = seen_device(r, rec);
	if (prior && !(o->prior_device = strdup(prior)))
		return -ENOMEM;
	o->used = true;
	snprintf(o->key, sizeof(o->key), "%s", rec->caller);
	o->order = ++r->order;
	o->epoch = r->epoch;
	o->class = EVENT_WARN;
	o->want_end = kind != LINE_WARN_OTHER && kind != LINE_BUG && kind != LINE_HUNG;
	o->seq = rec->seq;
	o->ts_us = o->last_ts_us = rec->ts_us;
	o->prio = rec->level;
	o->headline = -1;
	o->cut = -1;
	*ret = o;
	return 0;
}

static struct open_report *report_find(struct kparse_report *r, const char *key)
{
	for (size_t i = 0; i < REPORT_MAX_OPEN; i++)
		if (r->open[i].used && streq(r->open[i].key, key))
			return &r->open[i];
	return NULL;
}

static int emit_single(struct kparse_report *r, const struct kmsg_record *rec)
{
	const char *msg = rec->message ? rec->message : "";
	struct kernel_event e = {
		.source = SOURCE_KMSG,
		.class = kparse_classify(msg),
		.seq = rec->seq,
		.ts_ns = rec->ts_us * NSEC_PER_USEC,
		.prio = rec->level,
		.boot = 0,
	};
	struct kparse_origin origin = { .epoch = r->epoch, .pid = -1 };
	int k;

	snprintf(origin.caller, sizeof(origin.caller), "%s", rec->caller);
	e.message = strdup(msg);
	if (!e.message)
		return -ENOMEM;
	if (rec->device) {
		e.device = kparse_device_id(rec->device);
		if (!e.device)
			goto enomem;
	} else if (e.class == EVENT_PROBE_TIME) {
		k = kparse_probe_time(msg, &e.device, NULL, NULL, NULL);
		if (k < 0)
			goto enomem;
	} else if (e.class == EVENT_PROBE_FAILED && strstr(msg, ": probe of ")) {
		const char *d = strstr(msg, ": probe of ") + strlen(": probe of ");
		const char *f = strstr(d, " failed with error ");

		if (f > d && !(e.device = strndup(d, (size_t)(f - d))))
			goto enomem;
	}
	return queue_push(r, &e, &origin);
enomem:
	kernel_event_done(&e);
	return -ENOMEM;
}

int kparse_report_feed(struct kparse_report *r, const struct kmsg_record *rec)
{
	const char *msg;
	struct open_report *o;
	enum line_kind kind;
	int k;

	if (!r || !rec)
		return -EINVAL;
	msg = rec->message ? rec->message : "";

	/* Userspace wrote it (our markers, init scripts): never part of a kernel splat. */
	if (rec->facility != 0) {
		k = emit_single(r, rec);
		return k < 0 ? k : queued(r);
	}

	kind = line_kind(msg);
	o = report_find(r, rec->caller);
	/* A long silence ends a report (and a tail): what comes now is something else. */
	if (o && (rec->ts_us - o->last_ts_us > KPARSE_REPORT_GAP_US ||
		  (o->tail && o->dropped >= REPORT_MAX_LINES))) {
		k = report_close(r, o, false);
		if (k < 0)
			return k;
		o = NULL;
	}
	if (o) {
		bool absorb;

		if (kind == LINE_CUT)
			absorb = false; /* a new WARN: the old one lost its end marker */
		else if (!rec->caller[0] && kind == LINE_OTHER &&
			 (rec->device || kparse_classify(msg) != EVENT_INFO))
			/* Without caller ids every context shares one stream: a record that
			 * carries a device dictionary or stands as its own class (probe time,
			 * probe failure, deferred timeout) comes from elsewhere; a splat's
			 * lines have neither. */
			absorb = false;
		else if (o->want_end)
			absorb = true;
		else
			absorb = kind == LINE_TRACE || kind == LINE_OOPS ||
				 kind == LINE_END ||
				 (kind == LINE_PANIC && o->class == EVENT_OOPS);
		if (absorb) {
			k = report_add(o, rec, kind);
			if (k >= 0 && kind == LINE_END)
				k = report_close(r, o, false);
			if (k >= 0)
				k = seen_update(r, rec);
			return k < 0 ? k : queued(r);
		}
		/* a foreign record passes by a report that waits for its end marker */
		if (!o->want_end || kind != LINE_OTHER || rec->caller[0]) {
			k = report_close(r, o, false);
			if (k < 0)
				return k;
		}
	}

	switch (kind) {
	case LINE_CUT:
	case LINE_WARN:
	case LINE_WARN_OTHER:
	case LINE_LATE_IOMMU:
	case LINE_OOPS:
	case LINE_BUG:
	case LINE_PANIC:
	case LINE_HUNG:
		k = report_open(r, rec, kind, &o);
		if (k >= 0)
			k = report_add(o, rec, kind);
		break;
	default: k = emit_single(r, rec); break;
	}
	if (k >= 0)
		k = seen_update(r, rec);
	return k < 0 ? k : queued(r);
}

/* Closes the open reports that match, oldest first; cut ones become tails. */
static int report_close_all(struct kparse_report *r, int64_t epoch, bool cut)
{
	for (;;) {
		struct open_report *oldest = NULL;
		int k;

		for (size_t i = 0; i < REPORT_MAX_OPEN; i++) {
			const struct open_report *o = &r->open[i];

			if (o->used && !(cut && (o->tail || o->epoch >= epoch)) &&
			    (!oldest || o->order < oldest->order))
				oldest = &r->open[i];
		}
		if (!oldest)
			break;
		if (cut) {
			struct open_report keep = {
				.used = true,
				.tail = true,
				.order = oldest->order,
				.epoch = oldest->epoch,
				.class = oldest->class,
				.want_end = oldest->want_end,
				.seq = oldest->seq,
				.ts_us = oldest->ts_us,
				.last_ts_us = oldest->last_ts_us,
				.headline = -1,
				.cut = -1,
			};

			memcpy(keep.key, oldest->key, sizeof(keep.key));
			/* one without an end marker may well be complete: no note then */
			k = report_close(r, oldest, oldest->want_end);
			*oldest = keep;
		} else
			k = report_close(r, oldest, false);
		if (k < 0)
			return k;
	}
	return queued(r);
}

int kparse_report_flush(struct kparse_report *r)
{
	if (!r)
		return -EINVAL;
	return report_close_all(r, INT64_MAX, false);
}

int kparse_report_cut(struct kparse_report *r, int64_t epoch)
{
	if (!r)
		return -EINVAL;
	return report_close_all(r, epoch, true);
}

/* Does the frame "func+0x../0x.. [mod]" starting at f (ending before end) belong to the
 * module or to a function of the driver? */
static bool frame_matches(const char *f, const char *plus, const char *end,
			  const char *module, const char *driver)
{
	if (module && *module) {
		const char *b = memchr(plus, '[', (size_t)(end - plus));
		size_t n = strlen(module);

		/* "[ps_decon]" right after the offset; module names use '_' where the .ko
		 * file may say '-' */
		if (b && (size_t)(end - b) > n + 1 && b[n + 1] == ']' &&
		    !memchr(plus, ' ', (size_t)(b - plus - 1))) {
			bool eq = true;

			for (size_t i = 0; i < n && eq; i++)
				eq = (b[1 + i] == '-' ? '_' : b[1 + i]) ==
				     (module[i] == '-' ? '_' : module[i]);
			if (eq)
				return true;
		}
	}
	if (driver && *driver) {
		size_t n = strlen(driver);

		if ((size_t)(plus - f) > n && f[n] == '_') {
			for (size_t i = 0; i < n; i++)
				if (f[i] != (driver[i] == '-' ? '_' : driver[i]))
					return false;
			return true;
		}
	}
	return false;
}

/* Counts the frames of one line, *pos running over the report; -1 or the matching pos. */
static int line_frame(const char *l, const char *end, const char *module,
		      const char *driver, int *pos)
{
	for (const char *p = l; p < end; p++) {
		const char *plus = memchr(p, '+', (size_t)(end - p)), *f, *q;

		if (!plus)
			break;
		p = plus;
		if (plus[1] != '0' || plus[2] != 'x')
			continue;
		f = plus;
		while (f > l &&
		       (isalnum((unsigned char)f[-1]) || f[-1] == '_' || f[-1] == '.'))
			f--;
		if (f == plus)
			continue;
		q = plus + 3;
		while (q < end && isxdigit((unsigned char)*q))
			q++;
		if (q == plus + 3 || q + 3 > end || q[0] != '/' || q[1] != '0' ||
		    q[2] != 'x')
			continue;
		/* a frame: "func+0xOFF/0xLEN", maybe " [module]" after it */
		q += 3;
		while (q < end && isxdigit((unsigned char)*q))
			q++;
		{
			const char *fe = q;

			if (q + 1 < end && q[0] == ' ' && q[1] == '[') {
				const char *rb = memchr(q, ']', (size_t)(end - q));

				if (rb)
					fe = rb + 1;
			}
			if (frame_matches(f, plus, fe, module, driver))
				return *pos;
			(*pos)++;
			p = fe - 1;
		}
	}
	return -1;
}

int kparse_report_frame(const struct kernel_event *e, const char *module,
			const char *driver)
{
	const char *texts[2];
	int pos = 0;

	if (!e || ((!module || !*module) && (!driver || !*driver)))
		return -1;
	texts[0] = e->message;
	texts[1] = e->detail;
	for (size_t t = 0; t < ARRAY_SIZE(texts); t++)
		for (const char *l = texts[t]; l && *l;) {
			const char *nl = strchr(l, '\n'), *end = nl ? nl : l + strlen(l);
			int k = line_frame(l, end, module, driver, &pos);

			if (k >= 0)
				return k;
			l = nl ? nl + 1 : NULL;
		}
	return -1;
}

/* ---------------------------------------------------------------- devices_deferred */

void kparse_deferred_free(struct kparse_deferred_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++) {
		free(e[i].device);
		free(e[i].reason);
	}
	free(e);
}

int kparse_deferred(const char *text, struct kparse_deferred_entry **ret, size_t *ret_n)
{
	struct kparse_deferred_entry *v = NULL;
	size_t n = 0, cap = 0;
	const char *p = text;
	int k;

	if (!text || !ret || !ret_n)
		return -EINVAL;
	while (*p) {
		const char *nl = strchr(p, '\n'), *tab, *reason;
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len == 0) {
			p += 1;
			continue;
		}
		tab = memchr(p, '\t', len);
		if (!tab || tab == p) {
			k = -EBADMSG;
			goto fail;
		}
		if (n == cap) {
			size_t c = cap ? cap * 2 : 8;
			struct kparse_deferred_entry *w = realloc(v, c * sizeof(*w));

			if (!w) {
				k = -ENOMEM;
				goto fail;
			}
			v = w;
			cap = c;
		}
		reason = tab + 1;
		v[n].device = strndup(p, (size_t)(tab - p));
		v[n].reason = p + len > reason
				      ? strndup(reason, (size_t)(p + len - reason))
				      : NULL;
		n++;
		if (!v[n - 1].device || (p + len > reason && !v[n - 1].reason)) {
			k = -ENOMEM;
			goto fail;
		}
		p += len + (nl ? 1 : 0);
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	kparse_deferred_free(v, n);
	return k;
}

/* ---------------------------------------------------------------- uevents */

void kparse_uevent_done(struct uevent *u)
{
	if (!u)
		return;
	free(u->action);
	free(u->devpath);
	free(u->subsystem);
	free(u->driver);
	memset(u, 0, sizeof(*u));
}

int kparse_uevent(const char *buf, size_t len, struct uevent *ret)
{
	struct uevent u = { .seqnum = -1 };
	const char *end, *p, *at, *z;
	int k = -ENOMEM;

	if (!buf || !ret)
		return -EINVAL;
	if (len >= 8 && memcmp(buf, "libudev", 8) == 0)
		return -ENOMSG;
	end = buf + len;
	z = memchr(buf, '\0', len);
	if (!z)
		return -EBADMSG;
	at = memchr(buf, '@', (size_t)(z - buf));
	if (!at || at == buf || at + 1 == z || at[1] != '/')
		return -EBADMSG;
	u.action = strndup(buf, (size_t)(at - buf));
	u.devpath = strndup(at + 1, (size_t)(z - at - 1));
	if (!u.action || !u.devpath)
		goto fail;

	for (p = z + 1; p < end; p = z + 1) {
		z = memchr(p, '\0', (size_t)(end - p));
		if (!z)
			z = end; /* tolerate a missing final NUL */
		if (z == p)
			continue;
		if (!memchr(p, '=', (size_t)(z - p))) {
			k = -EBADMSG;
			goto fail;
		}
		if (z - p > 10 && memcmp(p, "SUBSYSTEM=", 10) == 0) {
			free(u.subsystem);
			if (!(u.subsystem = strndup(p + 10, (size_t)(z - p - 10))))
				goto fail;
		} else if (z - p > 7 && memcmp(p, "DRIVER=", 7) == 0) {
			free(u.driver);
			if (!(u.driver = strndup(p + 7, (size_t)(z - p - 7))))
				goto fail;
		} else if (z - p > 7 && memcmp(p, "SEQNUM=", 7) == 0) {
			const char *q = p + 7;
			uint64_t s;

			if (parse_u64(&q, z, INT64_MAX, &s) < 0 || q != z) {
				k = -EBADMSG;
				goto fail;
			}
			u.seqnum = (int64_t)s;
		}
	}
	*ret = u;
	return 0;
fail:
	kparse_uevent_done(&u);
	return k;
}

const char *kparse_devpath_name(const char *devpath)
{
	const char *s;

	if (!devpath)
		return NULL;
	s = strrchr(devpath, '/');
	return s ? s + 1 : devpath;
}

/* ---------------------------------------------------------------- trace_pipe */

int kparse_trace_line(const char *line, struct kernel_event *ret)
{
	const char *p, *ts = NULL, *body = NULL, *name_end, *dev;
	int64_t secs = 0, frac = 0;
	int digits = 0;
	struct kernel_event e = {
		.source = SOURCE_TRACEFS,
		.class = EVENT_IOMMU_TRACE,
		.seq = -1,
		.prio = -1,
	};

	if (!line || !ret)
		return -EINVAL;
	/* The timestamp is the first "<digits>.<digits>: " after the "[cpu]" field; the task
	 * name before it may hold anything, spaces included. */
	p = strchr(line, '[');
	if (!p)
		return -EINVAL;
	for (p = strstr(p, ": "); p; p = strstr(p + 1, ": ")) {
		const char *q = p;

		while (q > line && isdigit((unsigned char)q[-1]))
			q--;
		if (q == p || q == line || q[-1] != '.')
			continue;
		q--;
		while (q > line && isdigit((unsigned char)q[-1]))
			q--;
		if (!isdigit((unsigned char)*q) || (q > line && q[-1] != ' '))
			continue;
		ts = q;
		body = p + 2;
		break;
	}
	if (!ts)
		return -EINVAL;
	for (p = ts; *p != '.'; p++)
		secs = secs * 10 + (*p - '0');
	for (p++; isdigit((unsigned char)*p) && digits < 9; p++, digits++)
		frac = frac * 10 + (*p - '0');
	for (; digits < 9; digits++)
		frac *= 10;
	name_end = strchr(body, ':');
	if (!name_end || name_end == body)
		return -EINVAL;

	e.ts_ns = secs * NSEC_PER_SEC + frac;
	e.message = strdup(body);
	if (!e.message)
		return -ENOMEM;
	e.message[strcspn(e.message, "\n")] = '\0';
	dev = strstr(body, "device=");
	if (dev) {
		dev += strlen("device=");
		e.device = strndup(dev, strcspn(dev, " \n"));
		if (!e.device) {
			kernel_event_done(&e);
			return -ENOMEM;
		}
	}
	*ret = e;
	return 0;
}

/* ---------------------------------------------------------------- identity helpers */

int kparse_build_id(const void *notes, size_t len, char **ret_hex)
{
	const unsigned char *p = notes, *end = p + len;

	if (!notes || !ret_hex)
		return -EINVAL;
	while (p < end) {
		uint32_t namesz, descsz, type;
		size_t name_pad, desc_pad;

		if (end - p < 12)
			return -EBADMSG;
		memcpy(&namesz, p, 4);
		memcpy(&descsz, p + 4, 4);
		memcpy(&type, p + 8, 4);
		p += 12;
		name_pad = ((size_t)namesz + 3) & ~(size_t)3;
		desc_pad = ((size_t)descsz + 3) & ~(size_t)3;
		if ((size_t)(end - p) < name_pad ||
		    (size_t)(end - p) - name_pad < desc_pad)
			return -EBADMSG;
		if (type == 3 && namesz == 4 && memcmp(p, "GNU", 4) == 0 && descsz > 0) {
			const unsigned char *d = p + name_pad;
			char *hex = malloc((size_t)descsz * 2 + 1);

			if (!hex)
				return -ENOMEM;
			for (uint32_t i = 0; i < descsz; i++)
				snprintf(hex + 2 * i, 3, "%02x", d[i]);
			*ret_hex = hex;
			return 0;
		}
		p += name_pad + desc_pad;
	}
	return -ENOENT;
}

/* The kernel treats '-' and '_' alike in parameter names (parameq()). */
static bool param_name_eq(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];

		if (x != y)
			return false;
	}
	return true;
}

int kparse_cmdline_param(const char *cmdline, const char *key, char **ret_value)
{
	const char *p = cmdline, *val = NULL;
	size_t val_len = 0;
	bool found = false;
	char *v;

	if (!cmdline || !key || !ret_value)
		return -EINVAL;
	for (;;) {
		const char *a, *eq = NULL;
		bool quoted = false;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		a = p;
		/* like next_arg(): spaces inside double quotes do not end the argument */
		for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '=' && !eq && !quoted)
				eq = p;
		}
		if (p - a == 2 && memcmp(a, "--", 2) == 0)
			break; /* the rest belongs to init */
		if (param_name_eq(a, (size_t)((eq ? eq : p) - a), key)) {
			found = true;
			if (eq) {
				val = eq + 1;
				val_len = (size_t)(p - val);
				if (val_len > 0 && val[0] == '"') {
					val++;
					val_len--;
					if (val_len > 0 && val[val_len - 1] == '"')
						val_len--;
				}
			} else {
				val = "";
				val_len = 0;
			}
		}
	}
	if (!found)
		return -ENOENT;
	v = strndup(val, val_len);
	if (!v)
		return -ENOMEM;
	*ret_value = v;
	return 0;
}

int kparse_crash_headline(const char *text, char **ret_line, enum event_class *ret_class)
{
	enum event_class cls = EVENT_INFO;
	const char *best = NULL;
	size_t best_len = 0;

	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		enum event_class c = EVENT_INFO;

		if (memmem(p, len, "Kernel panic - not syncing", 26))
			c = EVENT_PANIC;
		else if (memmem(p, len, "Internal error:", 15) ||
			 memmem(p, len, "Unable to handle kernel", 23) ||
			 memmem(p, len, "BUG:", 4))
			c = EVENT_OOPS;
		/* The panic line names the cause; else the first oops line. */
		if (c == EVENT_PANIC || (c == EVENT_OOPS && cls == EVENT_INFO)) {
			best = p;
			best_len = len;
			cls = c;
			if (c == EVENT_PANIC)
				break;
		}
		p = nl ? nl + 1 : NULL;
	}
	if (best) {
		char *s = strndup(best, best_len);

		if (!s)
			return -ENOMEM;
		s[strcspn(s, "\r")] = '\0';
		*ret_line = s;
	} else
		*ret_line = NULL;
	*ret_class = cls;
	return 0;
}
