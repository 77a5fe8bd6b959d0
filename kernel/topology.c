/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The topology check (topology.h): which devices a campaign's scenario uses, from the parsed
 * config, and whether their bus, device and driver exist in sysfs, through kio. It lives in
 * kernel/, not in lib/conf.c, so that the parser only parses and every sysfs access is found
 * in this folder (tests/layout.sh: lib/ includes no header of kernel/).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "kio.h"
#include "macro.h"
#include "topology.h"
#include "util.h"

static int topology_check_device(const struct conf_device *d, bool check_driver,
				 bool needs_bind_attrs, char **ret_error)
{
	char *msg = NULL;
	int r;

	r = kio_bus_exists(d->bus);
	if (r < 0) {
		msg = r == -ENOENT
			      ? strprintf(
					"device '%s' (%s/%s): bus '%s' not found under /sys/bus",
					d->name, d->bus, d->device, d->bus)
			      : strprintf(
					"device '%s' (%s/%s): cannot check bus '%s': %s",
					d->name, d->bus, d->device, d->bus, strerror(-r));
		goto fail;
	}
	r = kio_device_exists(d->bus, d->device);
	if (r < 0) {
		msg = r == -ENOENT
			      ? strprintf(
					"device '%s' (%s/%s): not found under /sys/bus/%s/devices",
					d->name, d->bus, d->device, d->bus)
			      : strprintf("device '%s' (%s/%s): cannot check: %s",
					  d->name, d->bus, d->device, strerror(-r));
		goto fail;
	}
	if (!check_driver)
		return 0;
	r = kio_driver_exists(d->bus, d->driver);
	if (r < 0) {
		msg = r == -ENOENT
			      ? strprintf(
					"device '%s' (%s/%s): driver '%s' not found under /sys/bus/%s/drivers",
					d->name, d->bus, d->device, d->driver, d->bus)
			      : strprintf(
					"device '%s' (%s/%s): cannot check driver '%s': %s",
					d->name, d->bus, d->device, d->driver,
					strerror(-r));
		goto fail;
	}
	if (needs_bind_attrs && !kio_driver_has_bind_attrs(d->bus, d->driver)) {
		r = -EOPNOTSUPP;
		msg = strprintf(
			"device '%s' (%s/%s): driver '%s' has no bind/unbind files (suppress_bind_attrs); reload its module instead",
			d->name, d->bus, d->device, d->driver);
		goto fail;
	}
	return 0;
fail:
	if (ret_error)
		*ret_error = msg;
	else
		free(msg);
	return r;
}

int topology_check(const struct conf *c, const struct conf_campaign *camp,
		   char **ret_error)
{
	const struct conf_scenario *s;
	_cleanup_free_ bool *used = NULL, *bind_attrs = NULL;
	int r;

	if (!c || !camp)
		return -EINVAL;
	s = conf_scenario_find(c, camp->scenario);
	if (!s) {
		if (ret_error)
			*ret_error = strprintf("campaign '%s': unknown scenario '%s'",
					       camp->name,
					       camp->scenario ? camp->scenario : "");
		return -ENOENT;
	}
	used = calloc(c->n_devices + 1, sizeof(bool));
	bind_attrs = calloc(c->n_devices + 1, sizeof(bool));
	if (!used || !bind_attrs)
		return -ENOMEM;

	/* The devices the steps name, the suppliers of those consumers, and every device
	 * whose module a step loads or unloads. */
	for (size_t i = 0; i < s->n_groups; i++)
		for (size_t j = 0; j < s->groups[i].n_steps; j++) {
			const struct conf_step *st = &s->groups[i].steps[j];
			const struct conf_device *d;

			if (!conf_step_uses_device(st->verb))
				continue;
			d = conf_device_find(c, st->arg);
			if (!d)
				continue;
			used[d - c->devices] = true;
			if (st->verb == STEP_BIND || st->verb == STEP_UNBIND)
				bind_attrs[d - c->devices] = true;
			for (char **sup = d->iommus; sup && *sup; sup++) {
				const struct conf_device *o = conf_device_find(c, *sup);

				if (o)
					used[o - c->devices] = true;
			}
		}
	for (size_t i = 0; i < c->n_devices; i++)
		if (c->devices[i].module &&
		    conf_scenario_manages_module(s, c->devices[i].module))
			used[i] = true;

	for (size_t i = 0; i < c->n_devices; i++) {
		const struct conf_device *d = &c->devices[i];
		/* A driver whose module the scenario loads may legitimately be absent now.
		 */
		bool managed = d->module && conf_scenario_manages_module(s, d->module);

		if (!used[i])
			continue;
		r = topology_check_device(d, !managed, bind_attrs[i], ret_error);
		if (r < 0)
			return r;
	}
	return 0;
}
