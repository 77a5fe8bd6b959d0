/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one way probestormd runs a campaign, whoever asks for it: the --campaign and
 * [daemon] autostart list, the "boot" and "daily HH:MM" schedules (scheduler_loop()), the
 * runs a restart takes up (scheduler_recover()) and POST /api/v1/campaigns
 * (scheduler_start(), on a thread of its own). One campaign runs at a time, with or
 * without the HTTP API. Every run reports STATUS= to systemd, fits the watchdog period to
 * its cycles, and kicks the push thread when it is done.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "conf.h"
#include "macro.h"

struct db;
struct push;
struct scheduler;

struct scheduler_opts {
	const struct conf *conf; /* campaigns; must outlive the scheduler */
	struct db *db;		 /* where runs go; used by one campaign at a time */
	FILE *stream;		 /* NDJSON stream of the cycles, or NULL */
	const char *label;	 /* kernel label for the identity (NULL: from config) */
	const char *patches;	 /* patch list for the identity, or NULL */
	struct push *push;	 /* kicked after every run, or NULL */
	/* The daemon's stop flag (SIGTERM): a run stops after its cycle, the loop returns.
	 * NULL: the scheduler's own, set by scheduler_stop(). */
	volatile sig_atomic_t *stop;
};

/* Markers, collectors and storing the cycle, on top of what the configuration bounds. */
#define SCHEDULER_CYCLE_SLACK_US (10 * USEC_PER_SEC)

/* Creates the scheduler and reads the systemd watchdog period (WATCHDOG_USEC=). Returns 0
 * or -ENOMEM; the caller owns *ret (scheduler_free). */
int scheduler_new(const struct scheduler_opts *o, struct scheduler **ret);
/* Stops a running campaign after its cycle (scheduler_stop()), waits for a campaign
 * thread, frees. Accepts NULL. */
void scheduler_free(struct scheduler *s);
/* Sets the stop flag: the running campaign stops after its cycle, scheduler_loop()
 * returns, nothing starts any more. Async-signal-safe. */
void scheduler_stop(struct scheduler *s);

/* Takes up the runs the previous boot left "running" (runner_recover()); their campaigns
 * are not started again by scheduler_run(), and a run waiting for a reboot of the wedged
 * target keeps scheduler_run() from starting anything in this boot. Returns the number
 * taken up, -EBUSY when a campaign runs, or negative errno. */
int scheduler_recover(struct scheduler *s);
/* Runs the campaign on the calling thread, as the daemon starts one by itself (the
 * autostart list, the schedules): skipped (0) when it was taken up at start or a reboot is
 * awaited. Returns 0 (also for a run that stopped for a reboot), -EBUSY when another
 * campaign runs, or runner_run()'s negative errno (logged). */
int scheduler_run(struct scheduler *s, const char *name);
/* Starts the campaign on a thread of its own, on request (the HTTP API). Returns 0 when it
 * started, -ENOENT when there is no such campaign, -EBUSY when another campaign runs,
 * -ENOEXEC when its preflight failed, other negative errno when no thread could be
 * started; with -EBUSY and -ENOEXEC, *ret_error (malloc'd) says why. */
int scheduler_start(struct scheduler *s, const char *name, char **ret_error);
/* Runs the "boot" campaigns once, then every "daily HH:MM" campaign at its time, until
 * stopped; pings the watchdog every second while no campaign runs. */
void scheduler_loop(struct scheduler *s);
/* Pings the systemd watchdog (WATCHDOG=1) when half its period has passed since the last
 * ping; call it where the daemon proves progress. */
void scheduler_watchdog_ping(struct scheduler *s);
/* True when a reboot of the wedged target is awaited (nothing starts in this boot). */
bool scheduler_reboot_requested(struct scheduler *s);

/* What runs now and how the last one ended, for GET /api/v1/health. */
struct scheduler_status {
	bool running;
	char *name; /* the running campaign ("recovery" while taking up runs), owned */
	char *last_name;    /* the last one that ended, NULL when none has, owned */
	char last_uuid[37]; /* its run, "" when none was recorded */
	int last_result;    /* 0 or its negative errno */
};
/* Fills *ret (scheduler_status_done()); 0 or -ENOMEM. */
int scheduler_status(struct scheduler *s, struct scheduler_status *ret);
void scheduler_status_done(struct scheduler_status *st);

/* Seconds from now until the next HH:MM local time of "daily HH:MM" (a full day when it
 * is that time now), or -1 when schedule is not a daily one. */
long scheduler_daily_wait_s(const char *schedule, time_t now);
/* The longest one cycle of camp may take (µs): per step group its largest offset (the
 * sweep's largest for a swept one, plus a sleep's length) and the action timeout,
 * every wait-bound's timeout, then the deadline, settle and SCHEDULER_CYCLE_SLACK_US.
 * The watchdog period is raised to twice this for the campaign. */
int64_t scheduler_cycle_bound_us(const struct conf *conf,
				 const struct conf_campaign *camp);
