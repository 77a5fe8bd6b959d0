/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The collector interface. Each source of kernel truth (kmsg, uevent, sysfs state,
 * devices_deferred, identity, tracefs, pstore) is one file behind one small ops struct.
 * The runner calls start() once per run, cycle_begin()/cycle_end() around every cycle and
 * stop() at the end. cycle_end() appends what the source saw to the cycle record (events,
 * observations, deferral counts). All ops return 0 or negative errno; a collector that is
 * not available (e.g. no tracefs) returns -EOPNOTSUPP from start() and is skipped.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "model.h"

/* Stack size of a collector's reader thread (kmsg, uevent). */
#define COLLECTOR_THREAD_STACK (256 * 1024)

/*
 * A collector's reader thread (kmsg, uevent) and what it shares with the runner's thread:
 * lock guards the collected state, cond is broadcast as records arrive, read_lock is taken
 * around every read of the source (by the thread and by cycle_end(), before lock), and
 * an eventfd in wake_fd tells the thread to quit (it polls it beside its source). Zeroed
 * with wake_fd = -1 before collector_thread_start().
 */
struct collector_thread {
	int wake_fd;
	pthread_t thread;
	bool running;
	bool sync_init;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC, for timed waits */
	pthread_mutex_t read_lock;
};
/* Creates the eventfd and the locks, and starts fn(arg) on a COLLECTOR_THREAD_STACK
 * stack (the runner locks its memory: a default 8 MiB stack would be faulted in whole at
 * every run start). Errors are logged with what ("kmsg reader thread"); 0 or -errno,
 * with whatever was set up left for collector_thread_stop(). */
int collector_thread_start(struct collector_thread *t, void *(*fn)(void *), void *arg,
			   const char *what);
/* Wakes the thread through wake_fd, joins it, closes wake_fd and destroys the locks;
 * safe on what start() left after a failure, and twice. */
void collector_thread_stop(struct collector_thread *t, const char *what);

struct collector_ctx {
	const struct conf *conf;
	const struct conf_campaign *campaign;
	const char *run_uuid;
	int boot; /* boot number within the run */
	/* the consumers the scenario touches (all of them when it names none) and their
	 * suppliers, as the runner derived them; owned by the runner */
	const struct conf_device **devices;
	size_t n_devices;
	int64_t run_start_ns; /* CLOCK_MONOTONIC at run start */
};

struct collector_ops {
	const char *name;
	size_t state_size;
	int (*start)(void *state, const struct collector_ctx *ctx);
	/* Called right after the runner wrote the cycle's begin marker to /dev/kmsg. */
	int (*cycle_begin)(void *state, const struct collector_ctx *ctx, int64_t cycle);
	/* Called after the steps and the wait; appends to c. */
	int (*cycle_end)(void *state, const struct collector_ctx *ctx,
			 struct cycle_record *c);
	void (*stop)(void *state);
};

extern const struct collector_ops collector_kmsg;
extern const struct collector_ops collector_uevent;
extern const struct collector_ops collector_sysfs;
extern const struct collector_ops collector_deferred;
extern const struct collector_ops collector_tracefs;

/* Helpers for cycle_end(): append copies; return 0 or -ENOMEM. */
int cycle_add_event(struct cycle_record *c, const struct kernel_event *e);
int cycle_add_observation(struct cycle_record *c, const struct observation *o);
/* Finds the observation for a topology name, or NULL. */
struct observation *cycle_find_observation(struct cycle_record *c, const char *device);

/* Kernel identity of the running kernel (uname, /sys/kernel/notes build id, /proc/cmdline
 * and the fw_devlink / deferred_probe_timeout values on it). Label and patches are left
 * NULL for the caller to fill. */
int identity_collect(struct kernel_identity *ret);
/* The running kernel's boot_id (/proc/sys/kernel/random/boot_id through kio, so a fake tree
 * can fake it), malloc'd into *ret. -ENOENT without the file, -EBADMSG when it holds no
 * boot_id, other negative errno. */
int identity_boot_id(char **ret);
