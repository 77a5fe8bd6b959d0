/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cycle a target died in (see death.h). It counts like any other cycle: the outcome is
 * set on the cycle and on one observation per consumer, because every rate, per-offset table
 * and verdict counts observations. No latency: the action never returned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "death.h"
#include "macro.h"
#include "util.h"

int death_cycle_build(const struct death *d, struct cycle_record *ret)
{
	_cleanup_(cycle_record_done) struct cycle_record c = {
		.seq = d->seq,
		.boot = d->boot,
		.has_sweep = d->has_sweep,
		.sweep_value = d->has_sweep ? d->sweep_value : 0,
		.start_ns = d->action ? d->action->start_ns : 0,
		.end_ns = d->action ? d->action->start_ns : 0,
		.outcome = d->how,
	};
	const char *what = d->how == OUTCOME_HANG ? "hung" : "died";
	const char *cause = d->cause && *d->cause ? d->cause : NULL;
	const struct action_record *a = d->action;

	if ((d->how != OUTCOME_CRASH && d->how != OUTCOME_HANG) || !a)
		return -EINVAL;
	c.actions = calloc(1, sizeof(*c.actions));
	if (!c.actions)
		return -ENOMEM;
	c.n_actions = 1;
	c.actions[0] = (struct action_record){
		.idx = a->idx,
		.group = a->group,
		.verb = a->verb,
		.arg = a->arg ? strdup(a->arg) : NULL,
		.params = a->params ? strdup(a->params) : NULL,
		.offset_us = a->offset_us,
		.planned_ns = a->planned_ns,
		.start_ns = a->start_ns,
		/* it never returned */
		.end_ns = 0,
		.hung = true,
	};
	if ((a->arg && !c.actions[0].arg) || (a->params && !c.actions[0].params))
		return -ENOMEM;
	/* The group names every member (a crash in a group may come from any of them, the
	 * console's trace tells which); a single action names its device or module. */
	if (d->group)
		c.note = strprintf(
			"target %s during the concurrent group '%s' (boot %d)%s%s", what,
			d->group, d->boot, cause ? ": " : "", cause ? cause : "");
	else
		c.note = strprintf("target %s during '%s%s%s' (boot %d)%s%s", what,
				   step_verb_to_string(a->verb) ?: "?",
				   a->arg && *a->arg ? " " : "", a->arg ? a->arg : "",
				   d->boot, cause ? ": " : "", cause ? cause : "");
	if (!c.note)
		return -ENOMEM;
	/* One observation per consumer: the cycle counts for each of them, in every rate,
	 * per-offset table and verdict (the counts are kept from observations). */
	for (const char *p = d->consumers; p && *p;) {
		size_t n;
		struct observation *o;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n == 0)
			break;
		o = realloc(c.observations, (c.n_observations + 1) * sizeof(*o));
		if (!o)
			return -ENOMEM;
		c.observations = o;
		o = &c.observations[c.n_observations];
		*o = (struct observation){
			.device = strndup(p, n),
			.consumer = true,
			.iommu_group = -1,
			.time_to_bound_ns = -1,
			.outcome = d->how,
		};
		if (!o->device)
			return -ENOMEM;
		c.n_observations++;
		p += n;
	}
	*ret = c;
	c = (struct cycle_record){ 0 };
	return 0;
}
