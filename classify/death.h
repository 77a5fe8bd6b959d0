/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cycle a target died in (a crash: panic or reset) or stopped responding in (a hang:
 * watchdog). Whoever finds out builds it here, from what it knows of the action in flight:
 * the QEMU kit's host from the guest's stream (cli/guestlog.c, `probestorm import --died`)
 * and the rig daemon at restart from its in-flight record (daemon/runner.c). Pure: no I/O,
 * no logging; the caller adds the events it found (console, pstore) and stores the cycle.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* What is known of the death. Strings are borrowed: death_cycle_build() copies what it
 * keeps. */
struct death {
	int64_t seq;
	int boot;
	enum outcome how; /* OUTCOME_CRASH or OUTCOME_HANG */
	bool has_sweep;
	int64_t sweep_value;
	const struct action_record *action; /* the action in flight */
	const char *group; /* all members of its concurrent group, or NULL */
	const char
		*consumers; /* the run's consumers, space-separated (db_run_consumers) */
	const char *cause;  /* the console's line that says how, or NULL */
};

/* The cycle of d into *ret (the caller owns it, cycle_record_done): outcome d->how, the
 * sweep value, the in-flight action (copied; not returned: hung, no end), one observation
 * per consumer with outcome d->how (so every count of that consumer sees the cycle), and a
 * note naming the action and its device ("target died during 'bind decon' (boot 1): Kernel
 * panic - ..."). No events. -EINVAL for an outcome other than crash or hang or a missing
 * action, -ENOMEM; *ret is untouched on failure. */
int death_cycle_build(const struct death *d, struct cycle_record *ret);
