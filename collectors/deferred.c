/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * devices_deferred collector: the driver core's list of devices waiting for a supplier
 * (/sys/kernel/debug/devices_deferred, "name<TAB>reason" per line). The runner polls it
 * during its wait (deferred_poll()) so a device that deferred and then bound within the
 * cycle is still counted; at cycle_end() the devices still on the list get their reason in
 * the observation. Deferral counts: the kmsg collector counts -EPROBE_DEFER probe-time
 * records (initcall_debug) for the same observations; both keep the larger number.
 *
 * A device can leave and re-enter the list between two polls unseen, so the sightings are
 * a lower bound; a device already deferred when the cycle begins counts once.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "deferred.h"
#include "kio.h"
#include "kparse.h"
#include "log.h"
#include "macro.h"
#include "util.h"

#define DEFERRED_UNKNOWN_REASON "(reason unknown)"

struct deferred_dev {
	const struct conf_device *conf;
	bool listed;   /* on the list at the last poll */
	int sightings; /* times it newly appeared on the list in this cycle */
	char *reason;  /* reason at the last poll that listed it */
};

struct deferred_state {
	pthread_mutex_t lock;
	bool lock_init;
	char path[PATH_MAX];
	struct deferred_dev *devs;
	size_t n_devs;
	bool error_logged;
};

/* Lock held. */
static int deferred_poll_locked(struct deferred_state *s)
{
	_cleanup_free_ char *text = NULL;
	struct kparse_deferred_entry *e = NULL;
	size_t n = 0;
	int k;

	k = kio_read_file(s->path, &text);
	if (k >= 0)
		k = kparse_deferred(text, &e, &n);
	if (k < 0) {
		if (!s->error_logged)
			log_warning_errno(k, "deferred: cannot read '%s'", s->path);
		s->error_logged = true;
		return k;
	}
	for (size_t i = 0; i < s->n_devs; i++) {
		struct deferred_dev *d = &s->devs[i];
		const struct kparse_deferred_entry *hit = NULL;

		for (size_t j = 0; j < n && !hit; j++)
			if (streq(e[j].device, d->conf->device))
				hit = &e[j];
		if (hit && !d->listed)
			d->sightings++;
		d->listed = hit;
		if (hit) {
			char *r = strdup(hit->reason ? hit->reason
						     : DEFERRED_UNKNOWN_REASON);

			if (r) {
				free(d->reason);
				d->reason = r;
			}
		}
	}
	kparse_deferred_free(e, n);
	return 0;
}

int deferred_poll(void *state)
{
	struct deferred_state *s = state;
	int k;

	if (!s || !s->lock_init)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	k = deferred_poll_locked(s);
	pthread_mutex_unlock(&s->lock);
	return k;
}

static void deferred_stop(void *state)
{
	struct deferred_state *s = state;

	for (size_t i = 0; i < s->n_devs; i++)
		free(s->devs[i].reason);
	free(s->devs);
	s->devs = NULL;
	s->n_devs = 0;
	if (s->lock_init) {
		pthread_mutex_destroy(&s->lock);
		s->lock_init = false;
	}
}

static int deferred_start(void *state, const struct collector_ctx *ctx)
{
	struct deferred_state *s = state;
	_cleanup_free_ char *text = NULL;
	int k;

	memset(s, 0, sizeof(*s));
	k = kio_path(s->path, sizeof(s->path), "/sys/kernel/debug/devices_deferred");
	if (k < 0)
		return k;
	k = kio_read_file(s->path, &text);
	if (k < 0) {
		/* no debugfs (or not mounted, or no permission): the runner goes without */
		log_info("deferred: cannot read '%s' (%s); deferrals not collected",
			 s->path, strerror(-k));
		return -EOPNOTSUPP;
	}
	if (ctx->conf && ctx->conf->n_devices > 0) {
		s->devs = calloc(ctx->conf->n_devices, sizeof(*s->devs));
		if (!s->devs)
			return log_oom();
		for (size_t i = 0; i < ctx->conf->n_devices; i++)
			if (ctx->conf->devices[i].device)
				s->devs[s->n_devs++].conf = &ctx->conf->devices[i];
	}
	pthread_mutex_init(&s->lock, NULL);
	s->lock_init = true;
	return 0;
}

static int deferred_cycle_begin(void *state, _unused_ const struct collector_ctx *ctx,
				_unused_ int64_t cycle)
{
	struct deferred_state *s = state;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_devs; i++) {
		s->devs[i].listed = false;
		s->devs[i].sightings = 0;
		free(s->devs[i].reason);
		s->devs[i].reason = NULL;
	}
	deferred_poll_locked(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int deferred_cycle_end(void *state, _unused_ const struct collector_ctx *ctx,
			      struct cycle_record *c)
{
	struct deferred_state *s = state;
	int k;

	pthread_mutex_lock(&s->lock);
	k = deferred_poll_locked(s);
	for (size_t i = 0; i < s->n_devs; i++) {
		struct deferred_dev *d = &s->devs[i];
		struct observation *o = cycle_find_observation(c, d->conf->name);

		if (!o)
			continue;
		if (o->deferrals < d->sightings)
			o->deferrals = d->sightings;
		if (k >= 0 && d->listed && d->reason) {
			char *r = strdup(d->reason);

			if (!r) {
				k = -ENOMEM;
				continue;
			}
			free(o->deferred_reason);
			o->deferred_reason = r;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return k < 0 ? k : 0;
}

const struct collector_ops collector_deferred = {
	.name = "deferred",
	.state_size = sizeof(struct deferred_state),
	.start = deferred_start,
	.cycle_begin = deferred_cycle_begin,
	.cycle_end = deferred_cycle_end,
	.stop = deferred_stop,
};
