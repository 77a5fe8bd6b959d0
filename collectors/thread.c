/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The reader thread of the kmsg and uevent collectors (collector.h): start and stop, the
 * locks and the eventfd that ends it.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "collector.h"
#include "log.h"
#include "util.h"

int collector_thread_start(struct collector_thread *t, void *(*fn)(void *), void *arg,
			   const char *what)
{
	pthread_attr_t attr;
	int k;

	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd < 0)
		return log_error_errno(errno, "%s: eventfd failed", what);
	cond_init_monotonic(&t->cond);
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->read_lock, NULL);
	t->sync_init = true;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, COLLECTOR_THREAD_STACK);
	k = -pthread_create(&t->thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (k < 0)
		return log_error_errno(k, "cannot start the %s", what);
	t->running = true;
	return 0;
}

void collector_thread_stop(struct collector_thread *t, const char *what)
{
	if (t->running) {
		uint64_t one = 1;

		if (write(t->wake_fd, &one, sizeof(one)) < 0)
			log_warning_errno(errno, "cannot wake the %s", what);
		pthread_join(t->thread, NULL);
		t->running = false;
	}
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	t->wake_fd = -1;
	if (t->sync_init) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		pthread_mutex_destroy(&t->read_lock);
		t->sync_init = false;
	}
}
