/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The campaign runner: executes the cycles of one campaign on the local target. For every
 * cycle it writes a begin marker to /dev/kmsg, performs the scenario's steps through the
 * action executor (concurrent groups in threads with µs offsets, hung actions isolated),
 * waits for the consumers to bind or the deadline to pass, lets the collectors add what
 * the kernel said, classifies the outcome and stores the cycle in one transaction (and/or
 * streams it as an NDJSON bundle line, which is how a QEMU guest reports to its host).
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "model.h"

struct db;

struct runner_progress {
	int64_t done;
	int64_t total;
	int64_t counts[_OUTCOME_MAX];
	int64_t started_ns;
	const struct cycle_record *last;
};

struct runner_opts {
	const char *label;   /* kernel label for the identity (NULL: from config) */
	const char *patches; /* patch list for the identity, or NULL */
	struct db *db;	     /* where cycles go; may be NULL when streaming */
	FILE *stream;	     /* NDJSON stream (QEMU guest -> host), may be NULL */
	int64_t cycles;	     /* override of the campaign's cycles (0 = as configured) */
	const char *resume_uuid; /* continue this run (after a crash or reboot) */
	int64_t start_seq;	 /* first cycle number when resuming */
	int boot;		 /* boot number when resuming */
	const char
		*after_reboot; /* resuming after a reboot step: the stored partial cycle
				     * start_seq (a bundle cycle line), completed first */
	const volatile sig_atomic_t
		*stop; /* set asynchronously to stop after this cycle */
	void (*progress)(const struct runner_progress *p, void *userdata);
	void *userdata;
};

/* Checks everything that can be checked before a run is recorded: campaign and target,
 * root privileges, debugfs, /dev/kmsg, the topology in sysfs, stress-ng for a load
 * profile. Returns 0, or a negative errno with a one-line malloc'd reason in ret_error. */
int runner_preflight(const struct conf *conf, const char *campaign, char **ret_error);

/* After a boot: every run the database still has as "running" is taken up again. A run
 * whose in-flight action was a reboot step completes that cycle with this boot's records
 * and continues; a run whose in-flight action was anything else died with the target in
 * that action: a crash cycle naming it is recorded (with pstore's records when there are
 * any) and the run continues after it; a run whose campaign is no longer configured is
 * marked interrupted. base supplies db, stream, stop and progress. Returns the number of
 * runs taken up, or negative errno. */
int runner_recover(const struct conf *conf, const struct runner_opts *base);

/* Runs the campaign. The run's UUID is written to ret_uuid as soon as it is recorded.
 * Returns 0 when the run finished (or was stopped: status "interrupted"), -ECANCELED when
 * it was aborted (too many consecutive hangs), other negative errno on failure with the
 * reason logged. Preflight is run first; nothing is recorded when it fails. */
int runner_run(const struct conf *conf, const char *campaign, const struct runner_opts *o,
	       char ret_uuid[37], char **ret_error);
