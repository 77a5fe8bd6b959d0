/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Action executor (see action.h). Each worker thread owns one job slot; the runner hands a
 * job over under the worker's lock, the worker opens what the operation needs, waits for
 * the job's start time, performs the operation and reports back through the executor's
 * condition variable. Only the operation itself sits between the two clock reads: paths
 * are built and files opened before the wait, so start_ns is as close to the planned start
 * as the wait allows.
 *
 * The wait is an absolute clock_nanosleep() to shortly before the planned start, then a
 * spin on clock_gettime(): a timer wakeup is late by the scheduler's latency, and on a
 * kernel without high-resolution timers (the QEMU kit's: HZ=250) by up to a whole tick,
 * while the spin ends within a clock read of the planned time. The spin is as long as the
 * clock's resolution plus a margin, so it costs a few µs of CPU per action with
 * high-resolution timers and up to a tick without.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "action.h"
#include "log.h"
#include "macro.h"
#include "util.h"

extern char **environ;

/*
 * One lock for every worker of the process: an abandoned worker may return from the kernel
 * long after its executor is gone, so nothing it touches on the way out may belong to the
 * executor. The lock is never held across an operation.
 */
static pthread_mutex_t exec_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t exec_done_cond;
static pthread_once_t exec_once = PTHREAD_ONCE_INIT;
static int64_t exec_clock_res_ns; /* clock_getres(CLOCK_MONOTONIC) */
static int64_t exec_spin_ns;	  /* how long before a planned start the sleep ends */

/* What a timer wakeup is late by beyond the clock's resolution: scheduler latency,
 * generous for an emulated CPU (QEMU TCG), where it is hundreds of µs. */
#define SPIN_MARGIN_NS (300 * NSEC_PER_USEC)
/* A spin this long under SCHED_FIFO would starve the kernel work of the CPU it runs on
 * (kworkers, the very probes under test): no real-time priority on a clock this coarse. */
#define FIFO_MAX_RES_NS (10 * NSEC_PER_USEC)
#define FIFO_PRIORITY	10

struct worker {
	pthread_t thread;
	int tid; /* gettid(), set by the thread before it takes its first job */
	pthread_cond_t cond; /* job handed over / quit */
	bool has_job;
	bool done;
	bool quit;
	bool abandoned;
	struct action_job job;
	struct worker *next;
};

struct action_exec {
	struct worker *idle;
	unsigned stuck;
	bool fifo; /* workers run SCHED_FIFO */
};

static void exec_init_once(void)
{
	struct timespec res;

	cond_init_monotonic(&exec_done_cond);
	if (clock_getres(CLOCK_MONOTONIC, &res) == 0)
		exec_clock_res_ns = (int64_t)res.tv_sec * NSEC_PER_SEC + res.tv_nsec;
	exec_spin_ns = (exec_clock_res_ns > NSEC_PER_USEC ? exec_clock_res_ns : 0) +
		       SPIN_MARGIN_NS;
}

/* Sleeps to exec_spin_ns before t, then spins on the clock until t. */
static void wait_until_ns(int64_t t)
{
	if (t - exec_spin_ns > now_ns())
		sleep_until_ns(t - exec_spin_ns);
	while (now_ns() < t)
		;
}

/* Waits for the job's start time (0: now) and records it as the start. */
static void job_start(struct action_job *j)
{
	if (j->start_at_ns > 0)
		wait_until_ns(j->start_at_ns);
	j->start_ns = now_ns();
}

static int op_write(struct action_job *j)
{
	_cleanup_close_ int fd = -1;
	size_t len = strlen(j->payload);
	ssize_t n;

	fd = open(j->path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		job_start(j);
		j->end_ns = j->start_ns;
		return e;
	}
	job_start(j);
	n = write(fd, j->payload, len);
	j->end_ns = now_ns();
	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EIO;
}

static int op_insmod(struct action_job *j)
{
	_cleanup_close_ int fd = -1;
	long r;

	fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		job_start(j);
		j->end_ns = j->start_ns;
		return e;
	}
	job_start(j);
	r = syscall(SYS_finit_module, fd, j->payload, 0);
	j->end_ns = now_ns();
	return r < 0 ? errno : 0;
}

static int op_rmmod(struct action_job *j)
{
	long r;

	job_start(j);
	r = syscall(SYS_delete_module, j->payload, O_NONBLOCK);
	j->end_ns = now_ns();
	return r < 0 ? errno : 0;
}

static int op_modprobe(struct action_job *j)
{
	char *argv[66] = { "modprobe" };
	char buf[sizeof(j->payload)];
	char *save = NULL;
	size_t n = 1;
	pid_t pid;
	int r, status;

	memcpy(buf, j->payload, sizeof(buf));
	for (char *t = strtok_r(buf, " ", &save); t && n < ARRAY_SIZE(argv) - 1;
	     t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	job_start(j);
	r = posix_spawnp(&pid, "modprobe", NULL, NULL, argv, environ);
	if (r != 0) {
		j->end_ns = now_ns();
		return r;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	j->end_ns = now_ns();
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return EIO;
}

static void job_perform(struct action_job *j)
{
	switch (j->op) {
	case ACTION_WRITE: j->err = op_write(j); break;
	case ACTION_INSMOD: j->err = op_insmod(j); break;
	case ACTION_RMMOD: j->err = op_rmmod(j); break;
	case ACTION_MODPROBE: j->err = op_modprobe(j); break;
	case ACTION_SLEEP:
		job_start(j);
		j->end_ns = j->start_ns;
		j->err = 0;
		break;
	}
}

static void worker_free(struct worker *w)
{
	pthread_cond_destroy(&w->cond);
	free(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	sigset_t all;
	bool abandoned;

	/* Signals belong to the main loop, never to a thread that may sit in the kernel. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* The default 50 µs of timer slack would be added to every wakeup. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

	pthread_mutex_lock(&exec_lock);
	/* The kernel names this thread in what it prints while the job runs (caller id, the
	 * oops's PID): the job carries it so a report can be matched to its action. */
	w->tid = (int)syscall(SYS_gettid);
	for (;;) {
		while (!w->has_job && !w->quit)
			pthread_cond_wait(&w->cond, &exec_lock);
		if (w->quit)
			break;
		w->job.tid = w->tid;
		pthread_mutex_unlock(&exec_lock);

		job_perform(&w->job);

		pthread_mutex_lock(&exec_lock);
		w->has_job = false;
		if (w->abandoned)
			break;
		w->done = true;
		pthread_cond_broadcast(&exec_done_cond);
	}
	abandoned = w->abandoned;
	pthread_mutex_unlock(&exec_lock);
	if (abandoned) {
		log_notice("an abandoned %s action returned after %.3f s (err %d)",
			   w->job.op == ACTION_WRITE ? "sysfs write" : "module",
			   (double)(now_ns() - w->job.start_ns) / NSEC_PER_SEC,
			   w->job.err);
		pthread_detach(pthread_self());
		worker_free(w);
	}
	return NULL;
}

int action_exec_new(struct action_exec **ret)
{
	struct action_exec *x;

	pthread_once(&exec_once, exec_init_once);
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	*ret = x;
	return 0;
}

static int worker_new(const struct action_exec *x, struct worker **ret)
{
	struct worker *w;
	pthread_attr_t attr;
	int r;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_cond_init(&w->cond, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	r = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		worker_free(w);
		return -r;
	}
	if (x->fifo) {
		struct sched_param sp = { .sched_priority = FIFO_PRIORITY };

		/* Permitted for the first workers, so for these; a failure costs precision only. */
		(void)pthread_setschedparam(w->thread, SCHED_FIFO, &sp);
	}
	*ret = w;
	return 0;
}

int action_exec_prepare(struct action_exec *x, size_t n, bool realtime)
{
	struct worker *ws[64];
	size_t have = 0;
	int r = 0;

	if (n > ARRAY_SIZE(ws))
		return -E2BIG;
	for (struct worker *w = x->idle; w; w = w->next)
		have++;
	for (; have < n; have++) {
		struct worker *w;

		r = worker_new(x, &w);
		if (r < 0)
			return r;
		w->next = x->idle;
		x->idle = w;
	}
	x->fifo = false;
	if (!realtime || exec_clock_res_ns > FIFO_MAX_RES_NS)
		return 0;
	for (struct worker *w = x->idle; w; w = w->next) {
		struct sched_param sp = { .sched_priority = FIFO_PRIORITY };

		r = pthread_setschedparam(w->thread, SCHED_FIFO, &sp);
		if (r != 0)
			break;
		x->fifo = true;
	}
	if (r != 0) {
		struct sched_param sp = { .sched_priority = 0 };

		/* All or none: workers of one group must not race each other unevenly. */
		for (struct worker *w = x->idle; w; w = w->next)
			(void)pthread_setschedparam(w->thread, SCHED_OTHER, &sp);
		x->fifo = false;
	}
	return 0;
}

void action_exec_timing(const struct action_exec *x, struct action_exec_timing *ret)
{
	*ret = (struct action_exec_timing){
		.fifo = x->fifo,
		.fifo_priority = x->fifo ? FIFO_PRIORITY : 0,
		.clock_res_ns = exec_clock_res_ns,
		.spin_ns = exec_spin_ns,
	};
}

void action_exec_free(struct action_exec *x)
{
	if (!x)
		return;
	while (x->idle) {
		struct worker *w = x->idle;

		x->idle = w->next;
		pthread_mutex_lock(&exec_lock);
		w->quit = true;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&exec_lock);
		pthread_join(w->thread, NULL);
		worker_free(w);
	}
	free(x);
}

int action_exec_run(struct action_exec *x, struct action_job *jobs, size_t n,
		    int64_t deadline_ns)
{
	struct worker *ws[64];
	struct timespec ts = { .tv_sec = deadline_ns / NSEC_PER_SEC,
			       .tv_nsec = deadline_ns % NSEC_PER_SEC };
	size_t got;
	int hung = 0, r = 0;

	if (n > ARRAY_SIZE(ws))
		return -E2BIG;
	for (got = 0; got < n; got++) {
		if (x->idle) {
			ws[got] = x->idle;
			x->idle = ws[got]->next;
		} else {
			r = worker_new(x, &ws[got]);
			if (r < 0)
				break;
		}
	}
	if (r < 0) {
		while (got > 0) {
			got--;
			ws[got]->next = x->idle;
			x->idle = ws[got];
		}
		return r;
	}

	pthread_mutex_lock(&exec_lock);
	for (size_t i = 0; i < n; i++) {
		struct worker *w = ws[i];

		w->job = jobs[i];
		w->job.start_ns = w->job.end_ns = 0;
		w->job.err = 0;
		w->job.hung = false;
		w->done = false;
		w->has_job = true;
		pthread_cond_signal(&w->cond);
	}
	for (;;) {
		bool all = true;

		for (size_t i = 0; i < n; i++)
			all = all && ws[i]->done;
		if (all)
			break;
		if (pthread_cond_timedwait(&exec_done_cond, &exec_lock, &ts) == ETIMEDOUT)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		struct worker *w = ws[i];

		if (w->done) {
			jobs[i] = w->job;
			w->done = false;
			w->next = x->idle;
			x->idle = w;
			continue;
		}
		/* Stuck in the kernel: keep what we know, give the thread up. */
		jobs[i].start_ns = w->job.start_ns;
		jobs[i].tid = w->job.tid;
		jobs[i].end_ns = 0;
		jobs[i].err = 0;
		jobs[i].hung = true;
		w->abandoned = true;
		x->stuck++;
		hung++;
	}
	pthread_mutex_unlock(&exec_lock);
	return hung;
}

unsigned action_exec_stuck(struct action_exec *x)
{
	return x->stuck;
}
