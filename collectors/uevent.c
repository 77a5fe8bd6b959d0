/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uevent collector: a NETLINK_KOBJECT_UEVENT socket bound to the kernel's multicast group 1
 * (the guests have no udevd; libsystemd's monitor would listen to udevd's rebroadcast, not
 * to the kernel). A thread stamps every datagram with CLOCK_MONOTONIC on receipt. bind and
 * unbind uevents of topology devices become EVENT_UEVENT events of the cycle (those that
 * arrive between two cycles go with the next one), and a history of bind times answers the
 * runner's time-to-bound question (uevent.h). The kernel queues a uevent on the socket before
 * the write that caused it returns, so cycle_end() receives what the thread has not got to
 * yet itself instead of sleeping until it has.
 *
 * Per device it keeps whether the last of its bind/unbind uevents was a bind: a device
 * whose driver link exists without a bind uevent since its last unbind is inside its probe
 * (uevent_probe_pending()), which is how a probe asleep in the kernel is told from a bound
 * device.
 *
 * With a fake kernel tree (kio root set) the host's uevents would be meaningless, so the
 * collector is not available there (-EOPNOTSUPP).
 */
#include "config.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "kio.h"
#include "kparse.h"
#include "log.h"
#include "macro.h"
#include "uevent.h"
#include "util.h"

#define UEVENT_RCVBUF  (8 * 1024 * 1024)
#define UEVENT_MSG_MAX 8192 /* UEVENT_BUFFER_SIZE is 2048 */
#define UEVENT_HISTORY 4096

struct uevent_seen {
	int64_t ts_ns;
	size_t dev; /* index into devs */
	bool bind;
};

struct uevent_state {
	int sock;
	struct collector_thread
		t; /* the reader thread, its locks and wake-up (collector.h) */
	char *buf; /* UEVENT_MSG_MAX, under read_lock */
	const struct conf_device **devs;
	size_t n_devs;

	/* protected by lock */
	int boot;
	/* per device: 1 its last uevent was bind (or it was bound at start), 0 unbind (or
	 * unbound at start), -1 not known (uevents were lost) */
	signed char *bound;
	struct uevent_seen history[UEVENT_HISTORY]; /* ring, oldest first from head */
	size_t head, len;
	struct kernel_event *events;
	size_t n_events, cap_events;
	unsigned overruns;
};

static int uevent_dev_find(const struct uevent_state *s, const struct uevent *u)
{
	const char *name = kparse_devpath_name(u->devpath);

	for (size_t i = 0; i < s->n_devs; i++) {
		const struct conf_device *d = s->devs[i];

		if (streq(name, d->device) &&
		    (!u->subsystem || !d->bus || streq(u->subsystem, d->bus)))
			return (int)i;
	}
	return -1;
}

/* Lock held. Takes ownership of e. */
static int uevent_push_event(struct uevent_state *s, struct kernel_event *e)
{
	if (s->n_events == s->cap_events) {
		size_t cap = s->cap_events ? s->cap_events * 2 : 32;
		struct kernel_event *v = realloc(s->events, cap * sizeof(*v));

		if (!v) {
			kernel_event_done(e);
			return -ENOMEM;
		}
		s->events = v;
		s->cap_events = cap;
	}
	s->events[s->n_events++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

static int uevent_handle(struct uevent_state *s, const char *buf, size_t len, int64_t ts)
{
	struct uevent u;
	struct kernel_event e = {};
	bool bind;
	int idx, k;

	k = kparse_uevent(buf, len, &u);
	if (k == -ENOMSG || k == -EBADMSG)
		return 0; /* udevd's rebroadcast, or nothing we understand */
	if (k < 0)
		return k;
	bind = streq(u.action, "bind");
	if (!bind && !streq(u.action, "unbind"))
		goto out;
	idx = uevent_dev_find(s, &u);
	if (idx < 0)
		goto out;

	e = (struct kernel_event){
		.source = SOURCE_UEVENT,
		.class = EVENT_UEVENT,
		.seq = u.seqnum,
		.ts_ns = ts,
		.prio = -1,
	};
	e.device = u.subsystem ? strprintf("%s:%s", u.subsystem, s->devs[idx]->device)
			       : strdup(s->devs[idx]->device);
	e.message = strprintf("%s@%s", u.action, u.devpath);
	e.detail = u.driver ? strprintf("DRIVER=%s", u.driver) : NULL;
	if (!e.device || !e.message || (u.driver && !e.detail)) {
		k = -ENOMEM;
		goto out;
	}

	pthread_mutex_lock(&s->t.lock);
	e.boot = s->boot;
	s->bound[idx] = bind ? 1 : 0;
	s->history[(s->head + s->len) % UEVENT_HISTORY] = (struct uevent_seen){
		.ts_ns = ts,
		.dev = (size_t)idx,
		.bind = bind,
	};
	if (s->len < UEVENT_HISTORY)
		s->len++;
	else
		s->head = (s->head + 1) % UEVENT_HISTORY;
	k = uevent_push_event(s, &e);
	pthread_cond_broadcast(&s->t.cond);
	pthread_mutex_unlock(&s->t.lock);
out:
	kernel_event_done(&e);
	kparse_uevent_done(&u);
	return k;
}

/* Receives everything queued. 0 at EAGAIN, negative errno on a socket error. */
static int uevent_drain_locked(struct uevent_state *s)
{
	char *buf = s->buf;

	for (;;) {
		struct sockaddr_nl from = {};
		struct iovec iov = { .iov_base = buf, .iov_len = UEVENT_MSG_MAX };
		struct msghdr mh = {
			.msg_name = &from,
			.msg_namelen = sizeof(from),
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t n = recvmsg(s->sock, &mh, MSG_DONTWAIT);
		int64_t ts = now_ns();
		int k;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			if (errno == ENOBUFS) {
				/* the socket overran: some uevents are gone */
				pthread_mutex_lock(&s->t.lock);
				s->overruns++;
				/* a lost uevent may be any device's bind or unbind */
				memset(s->bound, -1, s->n_devs);
				pthread_mutex_unlock(&s->t.lock);
				continue;
			}
			return negative_errno();
		}
		/* only the kernel (port id 0) speaks for devices; never trust other senders */
		if (from.nl_pid != 0 || (mh.msg_flags & MSG_TRUNC))
			continue;
		k = uevent_handle(s, buf, (size_t)n, ts);
		if (k == -ENOMEM)
			log_oom();
		else if (k < 0)
			return k;
	}
}

static int uevent_drain(struct uevent_state *s)
{
	int k;

	pthread_mutex_lock(&s->t.read_lock);
	k = uevent_drain_locked(s);
	pthread_mutex_unlock(&s->t.read_lock);
	return k;
}

static void *uevent_thread(void *userdata)
{
	struct uevent_state *s = userdata;
	int k = 0;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = s->t.wake_fd, .events = POLLIN },
			{ .fd = s->sock, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			k = negative_errno();
			break;
		}
		if (p[0].revents)
			break;
		k = uevent_drain(s);
		if (k < 0)
			break;
	}
	if (k < 0)
		log_error_errno(k, "uevent: receiving failed, collector stopped");
	return NULL;
}

static void uevent_stop(void *state)
{
	struct uevent_state *s = state;

	collector_thread_stop(&s->t, "uevent receiver thread");
	if (s->sock >= 0)
		close(s->sock);
	s->sock = -1;
	for (size_t i = 0; i < s->n_events; i++)
		kernel_event_done(&s->events[i]);
	free(s->events);
	s->events = NULL;
	s->n_events = s->cap_events = 0;
	free(s->devs);
	s->devs = NULL;
	free(s->bound);
	s->bound = NULL;
	free(s->buf);
	s->buf = NULL;
}

/* Each device's state before any uevent: bound when its driver link exists. A probe in
 * progress at this moment is taken for bound (its bind uevent just confirms it). */
static void uevent_bound_init(struct uevent_state *s)
{
	for (size_t i = 0; i < s->n_devs; i++) {
		_cleanup_free_ char *drv = NULL;

		s->bound[i] =
			kio_device_driver(s->devs[i]->bus, s->devs[i]->device, &drv) == 0;
	}
}

static int uevent_start(void *state, const struct collector_ctx *ctx)
{
	struct uevent_state *s = state;
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int size = UEVENT_RCVBUF, k;

	memset(s, 0, sizeof(*s));
	s->sock = s->t.wake_fd = -1;
	s->boot = ctx->boot;
	if (kio_root()[0]) {
		log_info(
			"uevent: kernel tree is redirected to '%s'; uevents not collected",
			kio_root());
		return -EOPNOTSUPP;
	}
	if (ctx->conf && ctx->conf->n_devices > 0) {
		s->devs = calloc(ctx->conf->n_devices, sizeof(*s->devs));
		if (!s->devs)
			return log_oom();
		for (size_t i = 0; i < ctx->conf->n_devices; i++)
			if (ctx->conf->devices[i].device)
				s->devs[s->n_devs++] = &ctx->conf->devices[i];
	}

	s->sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			 NETLINK_KOBJECT_UEVENT);
	if (s->sock < 0) {
		k = negative_errno();
		if (k == -EPROTONOSUPPORT || k == -EAFNOSUPPORT) {
			log_info("uevent: no NETLINK_KOBJECT_UEVENT in this kernel");
			k = -EOPNOTSUPP;
		} else
			log_error_errno(k, "uevent: cannot open the netlink socket");
		goto fail;
	}
	/* A burst of uevents (module load) must not overrun us: FORCE needs CAP_NET_ADMIN,
	 * which the daemon has as root; otherwise take what rmem_max allows. */
	if (setsockopt(s->sock, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(s->sock, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		log_warning_errno(errno, "uevent: cannot enlarge the receive buffer");
	if (bind(s->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		k = log_error_errno(errno,
				    "uevent: cannot bind to the kernel's uevent group");
		goto fail;
	}

	s->buf = malloc(UEVENT_MSG_MAX);
	s->bound = calloc(s->n_devs ? s->n_devs : 1, 1);
	if (!s->buf || !s->bound) {
		k = log_oom();
		goto fail;
	}
	/* After the socket is bound: a change from now on arrives as a uevent. */
	uevent_bound_init(s);
	k = collector_thread_start(&s->t, uevent_thread, s, "uevent receiver thread");
	if (k < 0)
		goto fail;
	return 0;
fail:
	uevent_stop(s);
	return k;
}

static int uevent_cycle_begin(void *state, const struct collector_ctx *ctx,
			      _unused_ int64_t cycle)
{
	struct uevent_state *s = state;

	pthread_mutex_lock(&s->t.lock);
	s->boot = ctx->boot;
	pthread_mutex_unlock(&s->t.lock);
	return 0;
}

static int uevent_cycle_end(void *state, _unused_ const struct collector_ctx *ctx,
			    struct cycle_record *c)
{
	struct uevent_state *s = state;
	int k;

	/* What is queued on the socket is this cycle's: take it now. A socket error is the
	 * thread's to report. */
	(void)uevent_drain(s);

	k = 0;
	pthread_mutex_lock(&s->t.lock);
	if (s->overruns) {
		struct kernel_event e = {
			.source = SOURCE_UEVENT,
			.class = EVENT_INFO,
			.seq = -1,
			.ts_ns = now_ns(),
			.prio = LOG_WARNING,
			.boot = s->boot,
		};

		e.message = strprintf(
			"uevent: receive buffer overran %u time(s), uevents lost",
			s->overruns);
		log_warning("%s",
			    e.message ? e.message : "uevent: receive buffer overran");
		if (e.message)
			uevent_push_event(s, &e);
		s->overruns = 0;
	}
	for (size_t i = 0; i < s->n_events; i++) {
		if (k == 0)
			k = cycle_add_event(c, &s->events[i]);
		kernel_event_done(&s->events[i]);
	}
	s->n_events = 0;
	pthread_mutex_unlock(&s->t.lock);
	if (k < 0)
		return log_error_errno(k, "uevent: cannot add events to cycle %lld",
				       (long long)c->seq);
	return 0;
}

const struct collector_ops collector_uevent = {
	.name = "uevent",
	.state_size = sizeof(struct uevent_state),
	.start = uevent_start,
	.cycle_begin = uevent_cycle_begin,
	.cycle_end = uevent_cycle_end,
	.stop = uevent_stop,
};

/* The first bind of device at or after after_ns. The history is in receipt order, so the
 * search walks back from the newest entry and stops at the first one older than after_ns:
 * it looks at this cycle's uevents, not at a full ring. Lock held. */
static bool uevent_find_bind(const struct uevent_state *s, const char *device,
			     int64_t after_ns, int64_t *ret_ns)
{
	bool found = false;

	for (size_t i = s->len; i > 0; i--) {
		const struct uevent_seen *h =
			&s->history[(s->head + i - 1) % UEVENT_HISTORY];
		const struct conf_device *d = s->devs[h->dev];

		if (h->ts_ns < after_ns)
			break;
		if (h->bind &&
		    (streq(d->device, device) || (d->name && streq(d->name, device)))) {
			*ret_ns = h->ts_ns;
			found = true;
		}
	}
	return found;
}

int uevent_wait_bound(void *state, const char *device, int64_t after_ns,
		      int64_t deadline_ns, int64_t *ret_ns)
{
	struct uevent_state *s = state;
	struct timespec until = {
		.tv_sec = deadline_ns / NSEC_PER_SEC,
		.tv_nsec = deadline_ns % NSEC_PER_SEC,
	};
	int64_t t;
	int k = 0;

	if (!s || !device || !ret_ns || !s->t.sync_init)
		return -EINVAL;
	pthread_mutex_lock(&s->t.lock);
	while (!uevent_find_bind(s, device, after_ns, &t)) {
		if (now_ns() >= deadline_ns ||
		    pthread_cond_timedwait(&s->t.cond, &s->t.lock, &until) == ETIMEDOUT) {
			k = uevent_find_bind(s, device, after_ns, &t) ? 0 : -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&s->t.lock);
	if (k < 0)
		return k;
	*ret_ns = t;
	return 0;
}

int uevent_bound_at(void *state, const char *device, int64_t after_ns, int64_t *ret_ns)
{
	struct uevent_state *s = state;
	int64_t t;
	bool found;

	if (!s || !device || !ret_ns || !s->t.sync_init)
		return -EINVAL;
	pthread_mutex_lock(&s->t.lock);
	found = uevent_find_bind(s, device, after_ns, &t);
	pthread_mutex_unlock(&s->t.lock);
	if (!found)
		return -ENOENT;
	*ret_ns = t;
	return 0;
}

int uevent_probe_pending(void *state, const char *device)
{
	struct uevent_state *s = state;
	int k = -ENOENT;

	if (!s || !device || !s->t.sync_init)
		return -EINVAL;
	/* what the kernel queued so far, including a bind the thread has not read yet */
	(void)uevent_drain(s);
	pthread_mutex_lock(&s->t.lock);
	for (size_t i = 0; i < s->n_devs; i++) {
		const struct conf_device *d = s->devs[i];

		if (streq(d->device, device) || (d->name && streq(d->name, device))) {
			k = s->bound[i] == 0 ? 1 : 0;
			break;
		}
	}
	pthread_mutex_unlock(&s->t.lock);
	return k;
}
