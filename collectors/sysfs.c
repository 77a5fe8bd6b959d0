/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sysfs state collector: at the end of every cycle, for each consumer and supplier the
 * campaign touches, which driver is bound, which iommu_group the device is in and what kind
 * of domain that group got (/sys/kernel/iommu_groups/N/type). The type matters: a consumer
 * that binds with an identity domain where translation was expected is bypassing the IOMMU
 * without a single kernel warning, and only this check catches it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "kio.h"
#include "log.h"
#include "macro.h"
#include "util.h"

struct sysfs_state {
	const struct conf_device *devs[64];
	size_t n;
};

static void sysfs_add(struct sysfs_state *s, const struct conf_device *d)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->devs[i] == d)
			return;
	if (d && s->n < ARRAY_SIZE(s->devs))
		s->devs[s->n++] = d;
}

static int sysfs_start(void *state, const struct collector_ctx *ctx)
{
	struct sysfs_state *s = state;
	const struct conf_scenario *scen = conf_scenario_find(ctx->conf, ctx->campaign->scenario);

	if (!scen)
		return -ENOENT;
	for (size_t g = 0; g < scen->n_groups; g++)
		for (size_t i = 0; i < scen->groups[g].n_steps; i++) {
			const struct conf_step *st = &scen->groups[g].steps[i];

			if (st->verb == STEP_BIND || st->verb == STEP_UNBIND ||
			    st->verb == STEP_PROBE || st->verb == STEP_WAIT_BOUND)
				sysfs_add(s, conf_device_find(ctx->conf, st->arg));
		}
	/* A scenario that names no device (reboot, module loads only) is about them all. */
	if (s->n == 0)
		for (size_t i = 0; i < ctx->conf->n_devices; i++)
			if (ctx->conf->devices[i].consumer)
				sysfs_add(s, &ctx->conf->devices[i]);
	/* The suppliers of every consumer, even when no step names them (module reloads). */
	for (size_t i = 0; i < s->n; i++)
		if (s->devs[i]->consumer && s->devs[i]->iommus)
			for (char **p = s->devs[i]->iommus; *p; p++)
				sysfs_add(s, conf_device_find(ctx->conf, *p));
	return 0;
}

static int sysfs_observe(const struct conf_device *d, struct observation *ret)
{
	struct observation o = { .iommu_group = -1, .time_to_bound_ns = -1, .consumer = d->consumer };
	int r;

	o.device = strdup(d->name);
	if (!o.device)
		return -ENOMEM;
	r = kio_device_driver(d->bus, d->device, &o.driver);
	if (r < 0 && r != -ENOENT)
		goto fail;
	r = kio_device_iommu_group(d->bus, d->device, &o.iommu_group);
	if (r < 0 && r != -ENOENT)
		goto fail;
	if (o.iommu_group >= 0) {
		r = kio_iommu_group_type(o.iommu_group, &o.domain_type);
		if (r < 0 && r != -ENOENT)
			goto fail;
	}
	*ret = o;
	return 0;
fail:
	observation_done(&o);
	return r;
}

static int sysfs_cycle_end(void *state, const struct collector_ctx *ctx, struct cycle_record *c)
{
	struct sysfs_state *s = state;

	for (size_t i = 0; i < s->n; i++) {
		struct observation o;
		int r = sysfs_observe(s->devs[i], &o);

		if (r < 0)
			return log_error_errno(r, "Failed to read the sysfs state of '%s'",
					       s->devs[i]->device);
		r = cycle_add_observation(c, &o);
		observation_done(&o);
		if (r < 0)
			return r;
	}
	return 0;
}

const struct collector_ops collector_sysfs = {
	.name = "sysfs",
	.state_size = sizeof(struct sysfs_state),
	.start = sysfs_start,
	.cycle_end = sysfs_cycle_end,
};
