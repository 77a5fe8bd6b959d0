/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Outcome classification. Severity order is the enum order in model.h. Per consumer:
 *   oops      an Oops/BUG/panic record naming the device (or none naming any device)
 *   hang      an action on the device did not return within its timeout, or the device
 *             was bound at the deadline while its probe had not returned (the driver link
 *             exists from before probe() runs; observation->probing): a probe asleep in
 *             the kernel is never deferred_ok or ok
 *   late_iommu_probe  the "late IOMMU probe at driver bind" WARN for this device
 *   no_iommu  bound, an IOMMU was expected, but no iommu_group or a group whose type is
 *             not one the topology accepts (translation silently bypassed)
 *   warn      any other WARNING naming the device (or naming no device)
 *   probe_failed  a bind/probe of the device failed with an error other than deferral
 *             (EAGAIN from bind, EINVAL from drivers_probe) and it stayed unbound
 *   unbound   not bound at the deadline
 *   deferred_ok   bound after at least one deferral
 *   ok
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "outcome.h"
#include "util.h"

bool outcome_event_is_device(const struct kernel_event *e, const struct outcome_device *d)
{
	const char *dev = e->device;
	const char *kname = d->kernel_name ? d->kernel_name : d->name;
	size_t bl;

	if (!dev)
		return false;
	if (*dev == '+')
		dev++;
	if (streq(dev, kname))
		return true;
	/* "platform:decon": the DEVICE= form of a kmsg record. */
	bl = d->bus ? strlen(d->bus) : 0;
	return bl > 0 && strncmp(dev, d->bus, bl) == 0 && dev[bl] == ':' &&
	       streq(dev + bl + 1, kname);
}

static bool domain_accepted(const char *expect, const char *type)
{
	const char *p = expect ? expect : "DMA DMA-FQ";
	size_t tl;

	if (streq(p, "any"))
		return true;
	if (!type)
		return false;
	tl = strlen(type);
	while (*p) {
		size_t wl;

		while (*p == ' ' || *p == ',')
			p++;
		wl = strcspn(p, " ,");
		if (wl == tl && strncmp(p, type, tl) == 0)
			return true;
		p += wl;
	}
	return false;
}

/* A failing bind/probe write that is not a deferral. */
static bool action_failed_hard(const struct action_record *a)
{
	if (a->hung || a->err == 0)
		return false;
	if (a->verb == STEP_BIND)
		return a->err != EAGAIN;
	if (a->verb == STEP_PROBE)
		return a->err !=
		       EINVAL; /* drivers_probe says EINVAL when nothing bound */
	return false;
}

static enum outcome classify_device(const struct cycle_record *c,
				    const struct outcome_device *d,
				    const struct observation *o, const char **ret_why)
{
	enum outcome worst = OUTCOME_OK;
	const char *why = NULL;
	bool bound = o && o->driver;

#define RAISE(out, text)               \
	do {                           \
		if ((out) > worst) {   \
			worst = (out); \
			why = (text);  \
		}                      \
	} while (0)

	for (size_t i = 0; i < c->n_events; i++) {
		const struct kernel_event *e = &c->events[i];
		bool mine = outcome_event_is_device(e, d);
		bool anon = !e->device;

		switch (e->class) {
		case EVENT_OOPS:
		case EVENT_PANIC:
			if (mine || anon)
				RAISE(OUTCOME_OOPS, "kernel oops");
			break;
		case EVENT_LATE_IOMMU_PROBE:
			if (mine)
				RAISE(OUTCOME_LATE_IOMMU_PROBE,
				      "late IOMMU probe at driver bind");
			break;
		case EVENT_WARN:
			if (mine || anon)
				RAISE(OUTCOME_WARN, "kernel WARNING");
			break;
		case EVENT_PROBE_FAILED:
			if (mine && !bound)
				RAISE(OUTCOME_PROBE_FAILED, "probe failed");
			break;
		default: break;
		}
	}
	if (o && o->probing)
		RAISE(OUTCOME_HANG, "probe did not return by the deadline");
	for (size_t i = 0; i < c->n_actions; i++) {
		const struct action_record *a = &c->actions[i];

		if (!a->arg || !streq(a->arg, d->name))
			continue;
		if (a->hung)
			RAISE(OUTCOME_HANG, "action did not return");
		else if (action_failed_hard(a) && !bound)
			RAISE(OUTCOME_PROBE_FAILED, "bind returned an error");
	}
	if (bound && d->expect_iommu) {
		if (o->iommu_group < 0)
			RAISE(OUTCOME_NO_IOMMU, "bound without an iommu_group");
		else if (!domain_accepted(d->expect_domain, o->domain_type))
			RAISE(OUTCOME_NO_IOMMU,
			      "bound with an unexpected IOMMU domain type");
	}
	if (!bound)
		RAISE(OUTCOME_UNBOUND, "not bound by the deadline");
	else if (o->deferrals > 0)
		RAISE(OUTCOME_DEFERRED_OK, "deferred, then bound");
#undef RAISE
	*ret_why = why;
	return worst;
}

int outcome_classify(struct cycle_record *c, const struct outcome_device *devs,
		     size_t n_devs)
{
	enum outcome cycle = c->outcome == OUTCOME_CRASH ? OUTCOME_CRASH : OUTCOME_OK;
	char note[512] = "";
	size_t len = 0;

	for (size_t i = 0; i < n_devs; i++) {
		const struct outcome_device *d = &devs[i];
		struct observation *o = NULL;
		const char *why = NULL;
		enum outcome out;

		if (!d->consumer)
			continue;
		for (size_t j = 0; j < c->n_observations; j++)
			if (c->observations[j].device &&
			    streq(c->observations[j].device, d->name))
				o = &c->observations[j];
		out = classify_device(c, d, o, &why);
		if (o)
			o->outcome = out;
		cycle = outcome_worst(cycle, out);
		if (out > OUTCOME_DEFERRED_OK && why && len < sizeof(note)) {
			int r = snprintf(note + len, sizeof(note) - len, "%s%s: %s",
					 len ? "; " : "", d->name, why);
			if (r > 0)
				len += (size_t)r;
		}
	}
	/* Events that name no topology device still count for the cycle as a whole. */
	for (size_t i = 0; i < c->n_events; i++) {
		const struct kernel_event *e = &c->events[i];

		if (e->class == EVENT_OOPS || e->class == EVENT_PANIC)
			cycle = outcome_worst(cycle, OUTCOME_OOPS);
		else if (e->class == EVENT_WARN)
			cycle = outcome_worst(cycle, OUTCOME_WARN);
		else if (e->class == EVENT_LATE_IOMMU_PROBE)
			cycle = outcome_worst(cycle, OUTCOME_LATE_IOMMU_PROBE);
	}
	for (size_t i = 0; i < c->n_actions; i++)
		if (c->actions[i].hung)
			cycle = outcome_worst(cycle, OUTCOME_HANG);

	c->outcome = cycle;
	if (len > 0 || !c->note) {
		char *s = strdup(note);
		if (!s)
			return -ENOMEM;
		free(c->note);
		c->note = s;
	}
	return 0;
}
