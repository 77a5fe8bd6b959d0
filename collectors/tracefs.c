/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tracefs collector: the IOMMU core's trace events iommu:add_device_to_group,
 * iommu:remove_device_from_group and iommu:attach_device_to_domain show when a device got
 * its group and domain relative to its driver's probe, which the kernel log alone does not.
 * start() enables them (tracefs at /sys/kernel/tracing, else /sys/kernel/debug/tracing),
 * cycle_end() drains trace_pipe without blocking into EVENT_IOMMU_TRACE events, stop()
 * puts the enable switches (and tracing_on) back as they were. No tracefs or no iommu
 * events: -EOPNOTSUPP.
 *
 * Timestamps are the trace clock ("local" by default: sched_clock, the clock printk uses
 * too), not necessarily CLOCK_MONOTONIC. Lines are attributed to the cycle whose
 * cycle_end() reads them; a cycle keeps at most TRACEFS_MAX_EVENTS of them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "kio.h"
#include "kparse.h"
#include "log.h"
#include "macro.h"
#include "util.h"

#define TRACEFS_MAX_EVENTS 1000
#define TRACEFS_BUF	   65536

static const char *const tracefs_events[] = {
	"add_device_to_group",
	"remove_device_from_group",
	"attach_device_to_domain",
};

struct tracefs_state {
	char base[PATH_MAX]; /* ".../tracing" */
	bool enabled_by_us[ARRAY_SIZE(tracefs_events)];
	bool tracing_on_by_us;
	int pipe_fd;
	char *buf; /* a partial last line waits here */
	size_t len;
	int boot;
	const struct conf *conf; /* topology: whose events are kept whole */
	bool instance;		 /* base is our own instances/ dir */
};

/* An event of a topology device (by kernel device name)? The rest (the masters behind a
 * SysMMU, dozens per bus walk) are summarised per cycle: their count and time span show
 * the walk without a row per device per cycle. */
static bool tracefs_is_topology(const struct tracefs_state *s, const char *device)
{
	if (!device || !s->conf)
		return true;
	for (size_t i = 0; i < s->conf->n_devices; i++)
		if (s->conf->devices[i].device &&
		    streq(s->conf->devices[i].device, device))
			return true;
	return false;
}

static int tracefs_file(const struct tracefs_state *s, const char *rel, char *buf,
			size_t size)
{
	int n = snprintf(buf, size, "%s/%s", s->base, rel);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int tracefs_find(struct tracefs_state *s)
{
	static const char *const bases[] = { "/sys/kernel/tracing",
					     "/sys/kernel/debug/tracing" };

	for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
		char p[PATH_MAX];

		if (kio_path(p, sizeof(p), "%s/events/iommu", bases[i]) < 0 ||
		    !kio_exists(p))
			continue;
		return kio_path(s->base, sizeof(s->base), "%s", bases[i]);
	}
	return -EOPNOTSUPP;
}

/* Reading trace_pipe consumes what it reads: in the global buffer that would take events
 * from anyone else tracing on the target (a kprobe session, a benchmark). A private
 * instance has its own buffer and event switches; where instances are not available, the
 * global buffer is used and the switches are restored at stop. */
static void tracefs_make_instance(struct tracefs_state *s)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s/instances/probestorm-%d", s->base,
			 (int)getpid());

	if (n < 0 || (size_t)n >= sizeof(p) || mkdir(p, 0755) < 0) {
		log_debug("tracefs: no private instance, using the global buffer");
		return;
	}
	memcpy(s->base, p, (size_t)n + 1);
	s->instance = true;
}

/* Sets a 0/1 switch; *ret_changed tells whether it was off before. */
static int tracefs_switch_on(const struct tracefs_state *s, const char *rel,
			     bool *ret_changed)
{
	char p[PATH_MAX];
	_cleanup_free_ char *v = NULL;
	int k;

	k = tracefs_file(s, rel, p, sizeof(p));
	if (k < 0)
		return k;
	k = kio_read_file(p, &v);
	if (k < 0)
		return k;
	if (streq(v, "1")) {
		*ret_changed = false;
		return 0;
	}
	k = kio_write_file(p, "1");
	if (k < 0)
		return k;
	*ret_changed = true;
	return 0;
}

static void tracefs_switch_off(const struct tracefs_state *s, const char *rel)
{
	char p[PATH_MAX];
	int k = tracefs_file(s, rel, p, sizeof(p));

	if (k >= 0)
		k = kio_write_file(p, "0");
	if (k < 0)
		log_warning_errno(k, "tracefs: cannot switch '%s/%s' back off", s->base,
				  rel);
}

/* Reads trace_pipe until it is empty. With c, each complete event line becomes an event of
 * c (at most TRACEFS_MAX_EVENTS); without c the lines are discarded. Returns the number of
 * events added or negative errno. */
static int tracefs_drain(struct tracefs_state *s, struct cycle_record *c)
{
	size_t kept = 0, dropped = 0, lost = 0, others = 0;
	int64_t others_first = 0, others_last = 0;
	int k = 0;

	for (;;) {
		ssize_t n = read(s->pipe_fd, s->buf + s->len, TRACEFS_BUF - 1 - s->len);
		char *p, *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				k = log_warning_errno(
					errno, "tracefs: reading trace_pipe failed");
			break;
		}
		if (n == 0)
			break;
		s->len += (size_t)n;
		s->buf[s->len] = '\0';
		for (p = s->buf; (nl = strchr(p, '\n')); p = nl + 1) {
			struct kernel_event e;

			*nl = '\0';
			if (!c)
				continue;
			if (strstr(p, "LOST") && strstr(p, "EVENTS]")) {
				lost++;
				continue;
			}
			if (kparse_trace_line(p, &e) < 0)
				continue;
			if (!tracefs_is_topology(s, e.device)) {
				if (others++ == 0)
					others_first = e.ts_ns;
				others_last = e.ts_ns;
				kernel_event_done(&e);
				continue;
			}
			if (kept >= TRACEFS_MAX_EVENTS) {
				dropped++;
				kernel_event_done(&e);
				continue;
			}
			e.boot = s->boot;
			k = cycle_add_event(c, &e);
			kernel_event_done(&e);
			if (k < 0)
				return k;
			kept++;
		}
		/* keep the partial line; a line longer than the buffer is cut */
		s->len = strlen(p);
		memmove(s->buf, p, s->len + 1);
		if (s->len == TRACEFS_BUF - 1)
			s->len = 0;
	}
	if (c && others) {
		struct kernel_event e = {
			.source = SOURCE_TRACEFS,
			.class = EVENT_IOMMU_TRACE,
			.seq = -1,
			.ts_ns = others_first,
			.prio = -1,
			.boot = s->boot,
		};
		int r;

		e.message = strprintf(
			"tracefs: %zu iommu events of devices outside the topology over %.3f ms",
			others, (double)(others_last - others_first) / NSEC_PER_MSEC);
		if (!e.message)
			return -ENOMEM;
		r = cycle_add_event(c, &e);
		kernel_event_done(&e);
		if (r < 0)
			return r;
	}
	if (c && (dropped || lost)) {
		struct kernel_event e = {
			.source = SOURCE_TRACEFS,
			.class = EVENT_INFO,
			.seq = -1,
			.ts_ns = now_ns(),
			.prio = LOG_WARNING,
			.boot = s->boot,
		};
		int r;

		e.message = strprintf(
			"tracefs: %zu iommu events not kept (limit %d per cycle), %zu lost-events notices",
			dropped, TRACEFS_MAX_EVENTS, lost);
		if (!e.message)
			return -ENOMEM;
		r = cycle_add_event(c, &e);
		kernel_event_done(&e);
		if (r < 0)
			return r;
	}
	return k < 0 ? k : (int)kept;
}

static void tracefs_stop(void *state)
{
	struct tracefs_state *s = state;

	for (size_t i = 0; i < ARRAY_SIZE(tracefs_events); i++)
		if (s->enabled_by_us[i]) {
			char rel[128];

			snprintf(rel, sizeof(rel), "events/iommu/%s/enable",
				 tracefs_events[i]);
			tracefs_switch_off(s, rel);
			s->enabled_by_us[i] = false;
		}
	if (s->tracing_on_by_us)
		tracefs_switch_off(s, "tracing_on");
	s->tracing_on_by_us = false;
	if (s->pipe_fd >= 0)
		close(s->pipe_fd);
	s->pipe_fd = -1;
	if (s->instance && rmdir(s->base) < 0)
		log_warning_errno(errno, "tracefs: cannot remove instance '%s'", s->base);
	s->instance = false;
	free(s->buf);
	s->buf = NULL;
}

static int tracefs_start(void *state, const struct collector_ctx *ctx)
{
	struct tracefs_state *s = state;
	char p[PATH_MAX];
	size_t n_enabled = 0;
	int k;

	memset(s, 0, sizeof(*s));
	s->pipe_fd = -1;
	s->boot = ctx->boot;
	s->conf = ctx->conf;
	if (tracefs_find(s) < 0) {
		log_info(
			"tracefs: no events/iommu under /sys/kernel/tracing or /sys/kernel/debug/tracing");
		return -EOPNOTSUPP;
	}
	tracefs_make_instance(s);
	s->buf = malloc(TRACEFS_BUF);
	if (!s->buf)
		return log_oom();

	for (size_t i = 0; i < ARRAY_SIZE(tracefs_events); i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "events/iommu/%s/enable", tracefs_events[i]);
		k = tracefs_switch_on(s, rel, &s->enabled_by_us[i]);
		if (k < 0) {
			log_warning_errno(k, "tracefs: cannot enable iommu:%s",
					  tracefs_events[i]);
			continue;
		}
		n_enabled++;
	}
	if (n_enabled == 0) {
		k = -EOPNOTSUPP;
		goto fail;
	}
	k = tracefs_switch_on(s, "tracing_on", &s->tracing_on_by_us);
	if (k < 0)
		log_warning_errno(
			k, "tracefs: cannot switch tracing_on on; events may not come");

	k = tracefs_file(s, "trace_pipe", p, sizeof(p));
	if (k >= 0)
		k = kio_open(p, O_RDONLY | O_NONBLOCK);
	if (k < 0) {
		log_error_errno(k, "tracefs: cannot open '%s'", p);
		goto fail;
	}
	s->pipe_fd = k;
	/* what was buffered before the run is not ours */
	tracefs_drain(s, NULL);
	s->len = 0;
	return 0;
fail:
	tracefs_stop(s);
	return k;
}

static int tracefs_cycle_begin(void *state, const struct collector_ctx *ctx,
			       _unused_ int64_t cycle)
{
	struct tracefs_state *s = state;

	s->boot = ctx->boot;
	return 0;
}

static int tracefs_cycle_end(void *state, _unused_ const struct collector_ctx *ctx,
			     struct cycle_record *c)
{
	struct tracefs_state *s = state;
	int k = tracefs_drain(s, c);

	return k < 0 ? k : 0;
}

const struct collector_ops collector_tracefs = {
	.name = "tracefs",
	.state_size = sizeof(struct tracefs_state),
	.start = tracefs_start,
	.cycle_begin = tracefs_cycle_begin,
	.cycle_end = tracefs_cycle_end,
	.stop = tracefs_stop,
};
