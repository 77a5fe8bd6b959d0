/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The action executor: performs the kernel-facing operations of a cycle (sysfs writes,
 * finit_module/delete_module, modprobe) in worker threads, each timed with
 * CLOCK_MONOTONIC around the operation itself and started at an absolute time, so a
 * concurrent group really runs concurrently with its offsets. A write can block forever in
 * the kernel (D state) and cannot be cancelled: a job that misses its deadline is reported
 * hung, its worker is abandoned (it frees itself if it ever returns) and replaced, and the
 * caller carries on.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

enum action_op {
	ACTION_WRITE,	 /* write payload to path (sysfs bind/unbind/drivers_probe) */
	ACTION_INSMOD,	 /* finit_module(path, payload=params) */
	ACTION_RMMOD,	 /* delete_module(payload=name, O_NONBLOCK) */
	ACTION_MODPROBE, /* run "modprobe payload..." and wait */
	ACTION_SLEEP,	 /* nothing; used for timing placeholders */
};

struct action_job {
	enum action_op op;
	char path[PATH_MAX];
	char payload[512];
	int64_t start_at_ns; /* planned start, absolute CLOCK_MONOTONIC; 0 = at once */
	/* results */
	int64_t start_ns;
	int64_t end_ns; /* 0 if it never returned */
	int err;	/* 0 or positive errno */
	bool hung;
	int tid; /* the worker thread's id (gettid), also for a hung job */
};

struct action_exec;

/* Creates an executor with no workers yet (they are made on demand). 0 or -ENOMEM. */
int action_exec_new(struct action_exec **ret);
/* Frees the executor; abandoned workers keep running and free themselves. Accepts NULL. */
void action_exec_free(struct action_exec *x);
/* Runs the n jobs concurrently and waits until all returned or deadline_ns (absolute)
 * passed; late jobs are marked hung. Returns the number of hung jobs (>= 0) or -errno
 * when workers cannot be started. */
int action_exec_run(struct action_exec *x, struct action_job *jobs, size_t n,
		    int64_t deadline_ns);
/* Starts workers until n are idle, so the first group does not pay for thread creation
 * inside its lead time. With realtime, the workers (and those made later) run SCHED_FIFO
 * when the process may and the clock has high resolution; otherwise, silently, they do
 * not (action_exec_timing() tells). 0, -E2BIG (n > 64) or -errno from pthread_create. */
int action_exec_prepare(struct action_exec *x, size_t n, bool realtime);

struct action_exec_timing {
	bool fifo; /* workers run SCHED_FIFO */
	int fifo_priority;
	int64_t clock_res_ns; /* CLOCK_MONOTONIC resolution: 1 with hrtimers, else a tick */
	int64_t spin_ns; /* the sleep ends this long before a planned start; then spin */
};
/* How the executor releases jobs at their start times. */
void action_exec_timing(const struct action_exec *x, struct action_exec_timing *ret);
/* How many workers are stuck in the kernel right now. */
unsigned action_exec_stuck(struct action_exec *x);
