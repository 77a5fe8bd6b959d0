/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names and destructors of the shared data model (model.h).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "model.h"

static const char *const outcome_names[_OUTCOME_MAX] = {
	[OUTCOME_OK] = "ok",
	[OUTCOME_DEFERRED_OK] = "deferred_ok",
	[OUTCOME_UNBOUND] = "unbound",
	[OUTCOME_PROBE_FAILED] = "probe_failed",
	[OUTCOME_WARN] = "warn",
	[OUTCOME_NO_IOMMU] = "no_iommu",
	[OUTCOME_LATE_IOMMU_PROBE] = "late_iommu_probe",
	[OUTCOME_HANG] = "hang",
	[OUTCOME_OOPS] = "oops",
	[OUTCOME_CRASH] = "crash",
};

static const char *const event_class_names[_EVENT_CLASS_MAX] = {
	[EVENT_INFO] = "info",
	[EVENT_MARKER] = "marker",
	[EVENT_LATE_IOMMU_PROBE] = "late_iommu_probe",
	[EVENT_WARN] = "warn",
	[EVENT_OOPS] = "oops",
	[EVENT_PANIC] = "panic",
	[EVENT_HUNG_TASK] = "hung_task",
	[EVENT_DEFERRED_TIMEOUT] = "deferred_timeout",
	[EVENT_PROBE_FAILED] = "probe_failed",
	[EVENT_PROBE_TIME] = "probe_time",
	[EVENT_IOMMU_TRACE] = "iommu_trace",
	[EVENT_UEVENT] = "uevent",
};

static const char *const event_source_names[_SOURCE_MAX] = {
	[SOURCE_KMSG] = "kmsg",	      [SOURCE_UEVENT] = "uevent",
	[SOURCE_TRACEFS] = "tracefs", [SOURCE_PSTORE] = "pstore",
	[SOURCE_CONSOLE] = "console",
};

static const char *const step_verb_names[_STEP_VERB_MAX] = {
	[STEP_UNBIND] = "unbind",     [STEP_BIND] = "bind",
	[STEP_PROBE] = "probe",	      [STEP_INSMOD] = "insmod",
	[STEP_MODPROBE] = "modprobe", [STEP_RMMOD] = "rmmod",
	[STEP_SLEEP] = "sleep",	      [STEP_WAIT_BOUND] = "wait-bound",
	[STEP_REBOOT] = "reboot",
};

static int lookup(const char *const *table, size_t n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (table[i] && streq(table[i], s))
			return (int)i;
	return -EINVAL;
}

const char *outcome_to_string(enum outcome o)
{
	return o >= 0 && o < _OUTCOME_MAX ? outcome_names[o] : NULL;
}

int outcome_from_string(const char *s)
{
	return lookup(outcome_names, _OUTCOME_MAX, s);
}

const char *event_class_to_string(enum event_class c)
{
	return c < _EVENT_CLASS_MAX ? event_class_names[c] : NULL;
}

int event_class_from_string(const char *s)
{
	return lookup(event_class_names, _EVENT_CLASS_MAX, s);
}

const char *event_source_to_string(enum event_source s)
{
	return s < _SOURCE_MAX ? event_source_names[s] : NULL;
}

int event_source_from_string(const char *s)
{
	return lookup(event_source_names, _SOURCE_MAX, s);
}

const char *step_verb_to_string(enum step_verb v)
{
	return v < _STEP_VERB_MAX ? step_verb_names[v] : NULL;
}

int step_verb_from_string(const char *s)
{
	return lookup(step_verb_names, _STEP_VERB_MAX, s);
}

void kernel_identity_done(struct kernel_identity *k)
{
	if (!k)
		return;
	free(k->release);
	free(k->version);
	free(k->build_id);
	free(k->cmdline);
	free(k->label);
	free(k->patches);
	free(k->fw_devlink);
	free(k->deferred_probe_timeout);
	memset(k, 0, sizeof(*k));
}

void kernel_event_done(struct kernel_event *e)
{
	if (!e)
		return;
	free(e->device);
	free(e->message);
	free(e->detail);
	memset(e, 0, sizeof(*e));
}

void action_record_done(struct action_record *a)
{
	if (!a)
		return;
	free(a->arg);
	free(a->params);
	memset(a, 0, sizeof(*a));
}

bool action_record_lateness(const struct action_record *a, int64_t *ret_ns)
{
	if (a->planned_ns <= 0 || a->start_ns <= 0)
		return false;
	*ret_ns = a->start_ns - a->planned_ns;
	return true;
}

void observation_done(struct observation *o)
{
	if (!o)
		return;
	free(o->device);
	free(o->driver);
	free(o->domain_type);
	free(o->deferred_reason);
	memset(o, 0, sizeof(*o));
}

void cycle_record_done(struct cycle_record *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_actions; i++)
		action_record_done(&c->actions[i]);
	for (size_t i = 0; i < c->n_observations; i++)
		observation_done(&c->observations[i]);
	for (size_t i = 0; i < c->n_events; i++)
		kernel_event_done(&c->events[i]);
	free(c->actions);
	free(c->observations);
	free(c->events);
	free(c->note);
	free(c->boot_id);
	memset(c, 0, sizeof(*c));
}

void run_record_done(struct run_record *r)
{
	if (!r)
		return;
	free(r->campaign);
	free(r->scenario);
	free(r->scenario_text);
	free(r->target);
	free(r->target_kind);
	free(r->hostname);
	free(r->load_profile);
	free(r->load_args);
	free(r->load_metrics);
	free(r->sweep_var);
	free(r->consumers);
	free(r->started_at);
	free(r->finished_at);
	free(r->status);
	free(r->status_reason);
	kernel_identity_done(&r->kernel);
	memset(r, 0, sizeof(*r));
}

bool cycle_record_max_lateness(const struct cycle_record *c, int64_t *ret_ns)
{
	int64_t worst = 0, l;
	bool any = false;

	for (size_t i = 0; i < c->n_actions; i++) {
		if (c->actions[i].group < 0 ||
		    !action_record_lateness(&c->actions[i], &l))
			continue;
		if (l < 0)
			l = -l;
		if (!any || l > worst)
			worst = l;
		any = true;
	}
	if (any)
		*ret_ns = worst;
	return any;
}
