/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the host learns from a QEMU guest's NDJSON stream when the guest died: the run, the
 * last cycle it completed, and the action it had announced as in flight ("inflight" lines
 * precede every risky action). From that and the serial console log the host records the
 * cycle the guest died in as crash (panic/reset) or hang (watchdog), with the console's
 * last lines as a console event, and knows where a fresh boot resumes the run.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

struct db;

struct guestlog_tail {
	char uuid[37];	    /* "" when the stream holds no run line */
	bool ended;	    /* an "end" line came: the guest finished the run */
	int64_t last_cycle; /* highest cycle seq streamed, -1 if none */
	int boot;	    /* highest boot number seen in cycle lines */
	bool has_inflight;  /* an inflight line came after the last cycle line */
	int64_t inflight_cycle;
	bool inflight_has_sweep; /* the inflight line gave the cycle's sweep value */
	int64_t inflight_sweep;
	int inflight_action;
	char inflight_verb[16];
	char inflight_arg[256];
	char inflight_group[512]; /* a concurrent group: all its members, else "" */
	char *partial; /* a reboot in flight: the cycle so far (bundle line), owned */
};

/* Frees what guestlog_scan() allocated in t. */
void guestlog_tail_done(struct guestlog_tail *t);
/* Whether the guest went down by a reboot step of the scenario (not a death). */
bool guestlog_rebooted(const struct guestlog_tail *t);

/* Scans a stream (lines that do not parse, e.g. a torn last line, are skipped). 0 or
 * negative errno (-EBADMSG when it names more than one run). */
int guestlog_scan(FILE *f, struct guestlog_tail *ret);

/* Records the death of the guest for a scanned stream whose run is in db (nothing when it
 * went down by a reboot step: guestlog_rebooted()): the in-flight cycle as
 * death_cycle_build() (classify/death.h) builds it with outcome how (OUTCOME_CRASH or
 * OUTCOME_HANG), its sweep value from the inflight line (for an older guest's stream,
 * db_run_sweep_guess()), the run's consumers from db, and a console event (class
 * panic/oops when the console shows one) with the last lines of console_path; without an
 * in-flight cycle, only the console event, attached to the run. extra[0..n_extra) are
 * stored with it (the pstore records the next boot found; the caller keeps them).
 * Idempotent. 0 or negative errno. */
int guestlog_record_death(struct db *db, const struct guestlog_tail *t, enum outcome how,
			  const char *console_path, int boot,
			  const struct kernel_event *extra, size_t n_extra);

/* The first cycle a fresh boot should run: after the in-flight cycle or the last one; for
 * a reboot, the in-flight cycle itself (the new boot completes it from t->partial). */
int64_t guestlog_resume_seq(const struct guestlog_tail *t);
