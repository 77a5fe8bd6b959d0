/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Outcome classification of one cycle (DESIGN.md "Outcomes of a cycle"): from the actions,
 * the observations and the classified kernel events, a per-device outcome for every
 * consumer and the cycle's outcome (most severe wins). Pure: no I/O, testable on records.
 */
#pragma once

#include <stdbool.h>

#include "model.h"

/* What the classifier needs to know about one topology device. */
struct outcome_device {
	const char *name;	 /* topology name (observation->device, action->arg) */
	const char *kernel_name; /* device name in the kernel, e.g. "19471000.drmdecon" */
	const char *bus;	 /* e.g. "platform" */
	bool consumer;
	bool expect_iommu;
	const char *
		expect_domain; /* acceptable group types (space-separated), "any" or NULL */
};

/* True when an event names this device: "decon", "platform:decon" or "+platform:decon". */
bool outcome_event_is_device(const struct kernel_event *e,
			     const struct outcome_device *d);

/* Sets observation->outcome for every consumer observation, c->outcome and c->note (a short
 * human reason, malloc'd; replaced if set). Events without a device (an oops in another
 * task, a WARN without a dev prefix) count for the whole cycle. A cycle already marked
 * OUTCOME_CRASH keeps it. Returns 0 or -ENOMEM. */
int outcome_classify(struct cycle_record *c, const struct outcome_device *devs,
		     size_t n_devs);
