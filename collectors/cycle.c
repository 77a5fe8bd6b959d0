/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The helpers collectors use in cycle_end() to append to a cycle record (collector.h):
 * deep copies of kernel events and observations, and the lookup of a device's observation.
 * The cycle record owns what is appended; a failed append leaves it unchanged.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "macro.h"
#include "util.h"

/* Grows *array so that one more element of size elem fits after n. The arrays may come
 * from elsewhere (storage, bundle import) with no spare room, so no capacity is assumed. */
static int grow(void **array, size_t n, size_t elem)
{
	void *p = realloc(*array, (n + 1) * elem);

	if (!p)
		return -ENOMEM;
	*array = p;
	return 0;
}

static int dup_field(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int cycle_add_event(struct cycle_record *c, const struct kernel_event *e)
{
	struct kernel_event copy;

	if (!c || !e)
		return -EINVAL;
	copy = *e;
	copy.device = copy.message = copy.detail = NULL;
	if (dup_field(e->device, &copy.device) < 0 ||
	    dup_field(e->message, &copy.message) < 0 ||
	    dup_field(e->detail, &copy.detail) < 0)
		goto enomem;
	if (grow((void **)&c->events, c->n_events, sizeof(*c->events)) < 0)
		goto enomem;
	c->events[c->n_events++] = copy;
	return 0;
enomem:
	kernel_event_done(&copy);
	return -ENOMEM;
}

int cycle_add_observation(struct cycle_record *c, const struct observation *o)
{
	struct observation copy;

	if (!c || !o)
		return -EINVAL;
	copy = *o;
	copy.device = copy.driver = copy.domain_type = copy.deferred_reason = NULL;
	if (dup_field(o->device, &copy.device) < 0 ||
	    dup_field(o->driver, &copy.driver) < 0 ||
	    dup_field(o->domain_type, &copy.domain_type) < 0 ||
	    dup_field(o->deferred_reason, &copy.deferred_reason) < 0)
		goto enomem;
	if (grow((void **)&c->observations, c->n_observations, sizeof(*c->observations)) <
	    0)
		goto enomem;
	c->observations[c->n_observations++] = copy;
	return 0;
enomem:
	observation_done(&copy);
	return -ENOMEM;
}

struct observation *cycle_find_observation(struct cycle_record *c, const char *device)
{
	if (!c || !device)
		return NULL;
	for (size_t i = 0; i < c->n_observations; i++)
		if (c->observations[i].device && streq(c->observations[i].device, device))
			return &c->observations[i];
	return NULL;
}
