/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scheduler (scheduler.h): one lock-guarded "which campaign runs" for everything that
 * starts one, and one function (scheduler_campaign_run()) that runs it, on the caller's
 * thread or on the campaign thread that scheduler_start() creates.
 *
 * The systemd watchdog is pinged only from places that prove progress: every turn of the
 * idle loop (1 s) while no campaign runs and, during a campaign, the runner's progress
 * callback after every cycle. Actions run in isolated threads with a deadline, so a cycle
 * ends within a bound computed from the campaign (scheduler_cycle_bound_us()). When that
 * bound does not fit in half the watchdog period, the period is raised with WATCHDOG_USEC=
 * for the campaign and restored afterwards; so a cycle that overruns its own bound (a
 * thread stuck in the kernel) still trips the watchdog. The idle loop does not ping while
 * a campaign runs on the campaign thread, or it would hide that.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "macro.h"
#include "push.h"
#include "runner.h"
#include "scheduler.h"
#include "util.h"

struct scheduler {
	const struct conf *conf;
	struct db *db;
	FILE *stream;
	char *label, *patches;
	struct push *push;
	volatile sig_atomic_t own_stop;
	volatile sig_atomic_t *stop;

	/* Guards everything below. */
	pthread_mutex_t lock;
	bool running;
	char *name;
	char *last_name;
	char last_uuid[37];
	int last_result;
	/* A run stopped for a reboot of the wedged target: nothing else starts in this boot. */
	bool reboot_requested;
	/* Runs taken up at start: their campaigns are not started a second time. */
	struct runner_recovered recovered;
	bool thread_started;
	pthread_t thread;
	uint64_t watchdog_usec; /* from WATCHDOG_USEC=, 0 = no watchdog */
	int64_t watchdog_last_ns;
};

static void scheduler_notify_status(const char *fmt, ...) _printf_(1, 2);
static void scheduler_notify_status(const char *fmt, ...)
{
#ifdef HAVE_LIBSYSTEMD
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
#else
	(void)fmt;
#endif
}

void scheduler_watchdog_ping(struct scheduler *s)
{
#ifdef HAVE_LIBSYSTEMD
	int64_t now = now_ns();

	pthread_mutex_lock(&s->lock);
	if (s->watchdog_usec != 0 &&
	    now - s->watchdog_last_ns >=
		    (int64_t)(s->watchdog_usec / 2) * NSEC_PER_USEC) {
		sd_notify(0, "WATCHDOG=1");
		s->watchdog_last_ns = now;
	}
	pthread_mutex_unlock(&s->lock);
#endif
}

int64_t scheduler_cycle_bound_us(const struct conf *conf,
				 const struct conf_campaign *camp)
{
	const struct conf_scenario *scen = conf_scenario_find(conf, camp->scenario);
	int64_t sweep_max = camp->sweep_to_us > camp->sweep_from_us ? camp->sweep_to_us
								    : camp->sweep_from_us;
	int64_t t = camp->deadline_us + camp->settle_us + SCHEDULER_CYCLE_SLACK_US;

	for (size_t g = 0; scen && g < scen->n_groups; g++) {
		int64_t max_off = 0;

		for (size_t i = 0; i < scen->groups[g].n_steps; i++) {
			const struct conf_step *st = &scen->groups[g].steps[i];
			int64_t off = st->offset_is_sweep ? sweep_max : st->offset_us;

			if (st->verb == STEP_WAIT_BOUND) {
				t += st->timeout_us > 0 ? st->timeout_us
							: camp->deadline_us;
				continue;
			}
			if (st->verb == STEP_SLEEP)
				off += st->timeout_us;
			if (off > max_off)
				max_off = off;
		}
		t += max_off + camp->action_timeout_us;
	}
	return t;
}

/* Raises the watchdog period for a campaign whose cycles may outlast half of it (true if
 * it did); scheduler_watchdog_restore() puts the configured period back. */
static bool scheduler_watchdog_fit(struct scheduler *s, const char *name)
{
#ifdef HAVE_LIBSYSTEMD
	const struct conf_campaign *camp = conf_campaign_find(s->conf, name);
	int64_t need;

	if (s->watchdog_usec == 0 || !camp)
		return false;
	need = 2 * scheduler_cycle_bound_us(s->conf, camp);
	if (need <= (int64_t)s->watchdog_usec)
		return false;
	log_info(
		"campaign %s: a cycle may take up to %lld s, watchdog period raised to %lld s",
		name, (long long)(need / 2 / USEC_PER_SEC),
		(long long)(need / USEC_PER_SEC));
	pthread_mutex_lock(&s->lock);
	sd_notifyf(0, "WATCHDOG=1\nWATCHDOG_USEC=%lld", (long long)need);
	s->watchdog_last_ns = now_ns();
	pthread_mutex_unlock(&s->lock);
	return true;
#else
	return false;
#endif
}

static void scheduler_watchdog_restore(struct scheduler *s)
{
#ifdef HAVE_LIBSYSTEMD
	pthread_mutex_lock(&s->lock);
	sd_notifyf(0, "WATCHDOG=1\nWATCHDOG_USEC=%llu",
		   (unsigned long long)s->watchdog_usec);
	s->watchdog_last_ns = now_ns();
	pthread_mutex_unlock(&s->lock);
#endif
}

static void scheduler_on_progress(const struct runner_progress *p, void *userdata)
{
	scheduler_watchdog_ping(userdata);
}

static struct runner_opts scheduler_runner_opts(struct scheduler *s)
{
	return (struct runner_opts){
		.label = s->label,
		.patches = s->patches,
		.db = s->db,
		.stream = s->stream,
		.stop = s->stop,
		.progress = scheduler_on_progress,
		.userdata = s,
	};
}

/* The one-campaign lock: true, with name recorded as running, when none runs. */
static bool scheduler_claim(struct scheduler *s, const char *name)
{
	char *n = strdup(name);
	bool ok;

	if (!n)
		return false;
	pthread_mutex_lock(&s->lock);
	ok = !s->running;
	if (ok) {
		free(s->name);
		s->name = TAKE_PTR(n);
		s->running = true;
	}
	pthread_mutex_unlock(&s->lock);
	free(n);
	return ok;
}

/* Ends the claim and records how the run ended (uuid "" or NULL: none recorded). */
static void scheduler_release(struct scheduler *s, const char *uuid, int result)
{
	pthread_mutex_lock(&s->lock);
	free(s->last_name);
	s->last_name = TAKE_PTR(s->name);
	snprintf(s->last_uuid, sizeof(s->last_uuid), "%s", uuid ? uuid : "");
	s->last_result = result;
	s->running = false;
	pthread_mutex_unlock(&s->lock);
}

/* Runs the claimed campaign name, on whichever thread, and releases the claim. */
static int scheduler_campaign_run(struct scheduler *s, const char *name)
{
	_cleanup_free_ char *err = NULL;
	struct runner_opts o = scheduler_runner_opts(s);
	char uuid[37] = "";
	bool raised;
	int r;

	scheduler_notify_status("running campaign %s", name);
	raised = scheduler_watchdog_fit(s, name);
	r = runner_run(s->conf, name, &o, uuid, &err);
	if (raised)
		scheduler_watchdog_restore(s);
	if (r < 0)
		log_error("campaign %s: %s", name, err ? err : strerror(-r));
	else if (r == RUNNER_REBOOT) {
		log_notice("campaign %s: run %s waits for the reboot", name, uuid);
		pthread_mutex_lock(&s->lock);
		s->reboot_requested = true;
		pthread_mutex_unlock(&s->lock);
		r = 0;
	} else
		log_info("campaign %s: run %s done", name, uuid);
	push_kick(s->push);
	scheduler_notify_status("idle");
	/* last: a campaign started once the claim is free finds the status its own */
	scheduler_release(s, uuid, r);
	return r;
}

int scheduler_run(struct scheduler *s, const char *name)
{
	bool skip;

	pthread_mutex_lock(&s->lock);
	/* a run asked for a reboot of the machine (runner_reboot_requested_ns: the run's own
	 * record of it, set before the reboot-command is even spawned) */
	skip = s->reboot_requested || runner_reboot_requested_ns() > 0;
	/* A restart that resumed this campaign's run must not start a second one. */
	for (size_t i = 0; !skip && i < s->recovered.n; i++)
		if (streq(s->recovered.campaigns[i], name)) {
			log_info(
				"campaign %s: its run was taken up at start, not started again",
				name);
			skip = true;
		}
	pthread_mutex_unlock(&s->lock);
	if (skip)
		return 0;
	if (!scheduler_claim(s, name)) {
		log_warning("campaign %s: another campaign is running, skipped", name);
		return -EBUSY;
	}
	return scheduler_campaign_run(s, name);
}

static void *scheduler_thread(void *userdata)
{
	struct scheduler *s = userdata;
	_cleanup_free_ char *name = NULL;

	pthread_mutex_lock(&s->lock);
	name = strdup(s->name ? s->name : "");
	pthread_mutex_unlock(&s->lock);
	if (!name) {
		scheduler_release(s, NULL, -ENOMEM);
		return NULL;
	}
	scheduler_campaign_run(s, name);
	return NULL;
}

int scheduler_start(struct scheduler *s, const char *name, char **ret_error)
{
	_cleanup_free_ char *err = NULL;
	int r;

	if (!conf_campaign_find(s->conf, name))
		return -ENOENT;
	if (!scheduler_claim(s, name)) {
		pthread_mutex_lock(&s->lock);
		err = strprintf("campaign '%s' is running", s->name ? s->name : "?");
		pthread_mutex_unlock(&s->lock);
		if (ret_error)
			*ret_error = TAKE_PTR(err);
		return -EBUSY;
	}
	/* Checked here so that the one who asked hears why it cannot run. */
	r = runner_preflight(s->conf, name, &err);
	if (r < 0) {
		scheduler_release(s, NULL, r);
		if (!err)
			err = strdup(strerror(-r));
		if (ret_error)
			*ret_error = TAKE_PTR(err);
		return -ENOEXEC;
	}
	/* A previous campaign thread has released its claim: joining it is quick. */
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	s->thread_started = false;
	r = pthread_create(&s->thread, NULL, scheduler_thread, s);
	if (r != 0) {
		scheduler_release(s, NULL, -r);
		return log_error_errno(r, "campaign %s: cannot start a thread", name);
	}
	s->thread_started = true;
	return 0;
}

int scheduler_recover(struct scheduler *s)
{
	struct runner_opts o = scheduler_runner_opts(s);
	struct runner_recovered rec = {};
	int k;

	if (*s->stop)
		return 0;
	if (!scheduler_claim(s, "recovery"))
		return -EBUSY;
	scheduler_notify_status("taking up runs of the previous boot");
	k = runner_recover(s->conf, &o, &rec);
	if (k > 0)
		log_info("took up %d run(s) of the previous boot", k);
	pthread_mutex_lock(&s->lock);
	runner_recovered_done(&s->recovered);
	s->recovered = rec;
	if (rec.rebooting)
		s->reboot_requested = true;
	pthread_mutex_unlock(&s->lock);
	scheduler_release(s, "", k < 0 ? k : 0);
	scheduler_notify_status("idle");
	return k;
}

bool scheduler_reboot_requested(struct scheduler *s)
{
	bool r;

	pthread_mutex_lock(&s->lock);
	r = s->reboot_requested;
	pthread_mutex_unlock(&s->lock);
	return r;
}

long scheduler_daily_wait_s(const char *schedule, time_t now)
{
	unsigned hh, mm;
	struct tm tm;
	time_t t;

	if (!schedule || sscanf(schedule, "daily %u:%u", &hh, &mm) != 2 || hh > 23 ||
	    mm > 59)
		return -1;
	localtime_r(&now, &tm);
	tm.tm_hour = (int)hh;
	tm.tm_min = (int)mm;
	tm.tm_sec = 0;
	t = mktime(&tm);
	if (t <= now)
		t += 24 * 3600;
	return (long)(t - now);
}

void scheduler_loop(struct scheduler *s)
{
	const struct conf *conf = s->conf;

	for (size_t i = 0; i < conf->n_campaigns && !*s->stop; i++)
		if (conf->campaigns[i].schedule &&
		    streq(conf->campaigns[i].schedule, "boot"))
			scheduler_run(s, conf->campaigns[i].name);
	while (!*s->stop) {
		const struct conf_campaign *next = NULL;
		long wait = 24 * 3600;
		time_t now = time(NULL);
		bool rebooting = scheduler_reboot_requested(s);

		for (size_t i = 0; i < conf->n_campaigns; i++) {
			long w = scheduler_daily_wait_s(conf->campaigns[i].schedule, now);

			if (w >= 0 && w < wait) {
				wait = w;
				next = &conf->campaigns[i];
			}
		}
		/* while a reboot is awaited the status says so */
		if (next && !rebooting)
			scheduler_notify_status("idle, next campaign %s in %ld s",
						next->name, wait);
		else if (!rebooting)
			scheduler_notify_status("idle");
		while (wait-- > 0 && !*s->stop) {
			bool running;

			pthread_mutex_lock(&s->lock);
			running = s->running;
			pthread_mutex_unlock(&s->lock);
			if (!running)
				scheduler_watchdog_ping(s);
			/* reboot(2) when the asked-for reboot does not come */
			(void)runner_reboot_check(conf);
			sleep(1);
		}
		if (next && !*s->stop)
			scheduler_run(s, next->name);
	}
}

int scheduler_status(struct scheduler *s, struct scheduler_status *ret)
{
	struct scheduler_status st = {};
	int r = 0;

	pthread_mutex_lock(&s->lock);
	st.running = s->running;
	st.name = s->running ? strdup_null(s->name) : NULL;
	st.last_name = strdup_null(s->last_name);
	memcpy(st.last_uuid, s->last_uuid, sizeof(st.last_uuid));
	st.last_result = s->last_result;
	if ((s->running && s->name && !st.name) || (s->last_name && !st.last_name))
		r = -ENOMEM;
	pthread_mutex_unlock(&s->lock);
	if (r < 0) {
		scheduler_status_done(&st);
		return r;
	}
	*ret = st;
	return 0;
}

void scheduler_status_done(struct scheduler_status *st)
{
	free(st->name);
	free(st->last_name);
	st->name = st->last_name = NULL;
}

void scheduler_stop(struct scheduler *s)
{
	if (s)
		*s->stop = 1;
}

int scheduler_new(const struct scheduler_opts *o, struct scheduler **ret)
{
	struct scheduler *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->conf = o->conf;
	s->db = o->db;
	s->stream = o->stream;
	s->push = o->push;
	s->stop = o->stop ? o->stop : &s->own_stop;
	s->label = strdup_null(o->label);
	s->patches = strdup_null(o->patches);
	if ((o->label && !s->label) || (o->patches && !s->patches)) {
		scheduler_free(s);
		return -ENOMEM;
	}
#ifdef HAVE_LIBSYSTEMD
	if (sd_watchdog_enabled(0, &s->watchdog_usec) <= 0)
		s->watchdog_usec = 0;
#endif
	*ret = s;
	return 0;
}

void scheduler_free(struct scheduler *s)
{
	if (!s)
		return;
	scheduler_stop(s);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	runner_recovered_done(&s->recovered);
	pthread_mutex_destroy(&s->lock);
	free(s->label);
	free(s->patches);
	free(s->name);
	free(s->last_name);
	free(s);
}
