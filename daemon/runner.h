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

/* runner_run(): the run stopped for a reboot, of the wedged target (on-wedged = reboot)
 * or by a reboot step. */
#define RUNNER_REBOOT 1

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

/* What a restart does with a run left "running" (runner_recover_decide()). */
enum runner_recovery {
	RUNNER_RECOVER_CONTINUE, /* no action in flight: go on with the next cycle */
	RUNNER_RECOVER_RERUN,	 /* same boot: the daemon died, not the target; the
				  * interrupted cycle is run again with the same seq */
	RUNNER_RECOVER_COMPLETE, /* a reboot step rebooted: complete that cycle */
	RUNNER_RECOVER_CRASH,	 /* another boot (or unknown): the target died in it */
};

/* Decides from the in-flight record (NULL a: none; its boot_id, NULL when not recorded)
 * and the running kernel's boot_id (read through kio: identity_boot_id()). The same boot_id
 * means the process died and the machine did not; a different one, or one that cannot be
 * compared, means the target went down during the action, except for a reboot step with
 * its partial cycle stored, which is completed. */
enum runner_recovery runner_recover_decide(const struct action_record *a,
					   const char *inflight_boot_id);

/* The boot number a resumed run goes on with: the last recorded cycle's when that cycle
 * ran in this boot (same boot_id), else one more. */
int runner_recover_boot(int last_boot, const char *last_boot_id);

/* Runs runner_recover() took up. */
struct runner_recovered {
	size_t n;
	char *campaigns[16]; /* their campaign names, owned */
	bool rebooting;	     /* one stopped for a reboot of the wedged target */
};
void runner_recovered_done(struct runner_recovered *r);

/* After a restart: every run the database still has as "running" is taken up again,
 * as runner_recover_decide() says. A reboot step's cycle is completed with this boot's
 * records; a cycle interrupted in this same boot (the daemon was killed) is dropped and
 * run again, never counted; a run whose target died in an action gets a crash cycle naming
 * it (with pstore's records when there are any) and continues after it; a run whose
 * campaign is no longer configured is marked interrupted. base supplies db, stream, stop
 * and progress. ret (optional; runner_recovered_done) lists the runs taken up. Returns
 * their number, or negative errno. */
int runner_recover(const struct conf *conf, const struct runner_opts *base,
		   struct runner_recovered *ret);

/* When a run asked for a reboot of the machine (now_ns() then; 0: none asked for): no
 * other campaign starts in this boot. */
int64_t runner_reboot_requested_ns(void);
/* Called every second or so by the daemon: when the reboot asked for with reboot-command
 * has not come within reboot-timeout, reboots with reboot(2) (kio_reboot()). Returns 1
 * when it did (only a fake root returns), 0 when there was nothing to do, or a negative
 * errno. */
int runner_reboot_check(const struct conf *conf);

/* A module step that failed (rmmod EAGAIN: the module is pinned, e.g. an IOMMU driver
 * holding a reference per probed device; insmod EEXIST: it was never unloaded) leaves the
 * cycle without the reload its scenario names, which no outcome shows: appends
 * "rmmod ps_sysmmu: Resource temporarily unavailable" (and so on, "; "-separated) to
 * c->note. Returns 1 when it noted something, 0 when no module step failed, -ENOMEM. */
int runner_note_module_errors(struct cycle_record *c);

/* Runs the campaign. The run's UUID is written to ret_uuid as soon as it is recorded.
 * Returns 0 when the run finished (or was stopped: status "interrupted"), RUNNER_REBOOT
 * when it stopped for a reboot, after a wedged cycle or at a reboot step (it stays
 * "running" and the next boot takes it up; the stream ends with a "reboot" or the
 * step's "inflight" line; on a rig the machine was asked to reboot),
 * -ECANCELED when it was aborted (wedged with on-wedged = abort, max-reboots,
 * max-consecutive-hangs; the reason in *ret_error and stored with the run), other
 * negative errno on failure with the reason logged. Preflight is run first; nothing is
 * recorded when it fails. */
int runner_run(const struct conf *conf, const char *campaign, const struct runner_opts *o,
	       char ret_uuid[37], char **ret_error);
