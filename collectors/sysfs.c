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

static int sysfs_observe(const struct conf_device *d, struct observation *ret)
{
	struct observation o = { .iommu_group = -1,
				 .time_to_bound_ns = -1,
				 .consumer = d->consumer };
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

static int sysfs_cycle_end(void *state, const struct collector_ctx *ctx,
			   struct cycle_record *c)
{
	for (size_t i = 0; i < ctx->n_devices; i++) {
		struct observation o;
		int r = sysfs_observe(ctx->devices[i], &o);

		if (r < 0)
			return log_error_errno(r,
					       "Failed to read the sysfs state of '%s'",
					       ctx->devices[i]->device);
		r = cycle_add_observation(c, &o);
		observation_done(&o);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The devices come with the context (the runner's set): no state of its own. */
const struct collector_ops collector_sysfs = {
	.name = "sysfs",
	.cycle_end = sysfs_cycle_end,
};
