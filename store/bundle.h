/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bundles: runs as NDJSON, one object per line, the one format for export/import, the
 * QEMU guest's live stream to the host and a rig's push to the central daemon.
 *
 *   {"type":"run", "uuid":..., all run_record fields, "kernel":{identity fields}}
 *   {"type":"event", "run":UUID, kernel_event fields}        (events outside cycles)
 *   {"type":"cycle", "run":UUID, cycle_record fields, "actions":[...],
 *    "observations":[...], "events":[...]}
 *   {"type":"end", "run":UUID, "status":..., "finished_at":..., "load_metrics":...}
 *
 * The run line describes the run as it started; the end line says how it ended, and is
 * missing when the producer died (the run then stays as its run line left it, normally
 * "running", until someone marks it "interrupted"). A string field that is NULL in the
 * model is absent; unknown fields are ignored so older readers accept newer producers;
 * an unknown "type" is an error, because skipping it would lose records silently.
 *
 * Importing is idempotent: runs are keyed by UUID (lower-cased), cycles by (run, seq),
 * events by (run, boot, source, seq); what is recorded already is counted, not written
 * again. A record that is present must say the same as the recorded copy: otherwise the
 * import is a conflict and refused (-EEXIST). Of a run line that means the fields naming
 * the run (campaign, scenario, target, load, sweep, cycles_planned and the kernel but its
 * command line: a resumed run's next boot writes started_at, hostname and cmdline anew);
 * of a cycle, everything. An end line only moves a run forward: running, then
 * interrupted, then finished or aborted; an older state arriving late is counted as
 * present, an end line saying "running" of a run that ended, or another final state or
 * time for one that is final, is a conflict. An event a cycle line carries that the run
 * holds already elsewhere keeps its recorded copy, as db_cycle_insert() does.
 * One import is one transaction: on any error nothing of the bundle stays.
 * Functions return 0 or a negative errno and never log; outputs named ret_ are untouched
 * on failure, except ret_error, which is set only on failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "db.h"
#include "model.h"

/* Limits of one line, checked before it is parsed (a cycle line is a few kB; a cycle with
 * a kernel log flood a few MB): what a line may cost in memory stays a small multiple of
 * its size. */
#define BUNDLE_LINE_MAX	       ((size_t)16 << 20) /* bytes, without the line end */
#define BUNDLE_LINE_MAX_DEPTH  16		  /* nesting of arrays and objects */
#define BUNDLE_LINE_MAX_VALUES 1000000		  /* JSON values (about) */

struct bundle_stats {
	size_t lines; /* non-blank lines processed */
	size_t runs_inserted, runs_present;
	size_t cycles_inserted, cycles_present;
	size_t events_inserted,
		events_present; /* "event" lines (cycle events go with cycles) */
	size_t ends_applied, ends_present;
	bool torn_tail; /* the last line had no newline and did not parse: a write
			 * cut short by a crash, skipped */
};

/* {"type":"run",...} for r. The caller owns *ret (json_decref). -ENOMEM. */
int bundle_run_to_json(const struct run_record *r, json_t **ret);
/* Fills *ret (zeroed first; caller owns it, run_record_done) from a "run" object ("type"
 * may be absent). -EBADMSG for a missing/mistyped field or a bad UUID, with a malloc'd
 * message in *ret_error if ret_error is not NULL. */
int bundle_run_from_json(json_t *j, struct run_record *ret, char **ret_error);

/* {"type":"cycle","run":run_uuid,...} for c ("run" left out when run_uuid is NULL). The
 * caller owns *ret. -ENOMEM, -EINVAL for an enum value outside the model. */
int bundle_cycle_to_json(const char *run_uuid, const struct cycle_record *c,
			 json_t **ret);
/* Fills *ret (zeroed first; caller owns it, cycle_record_done) from a "cycle" object.
 * -EBADMSG (message in *ret_error) as bundle_run_from_json. */
int bundle_cycle_from_json(json_t *j, struct cycle_record *ret, char **ret_error);

/* {"type":"event","run":run_uuid,...} for an event outside cycles ("type" and "run" left
 * out when run_uuid is NULL, as inside a cycle's "events"). The caller owns *ret. */
int bundle_event_to_json(const char *run_uuid, const struct kernel_event *e,
			 json_t **ret);
/* Fills *ret (zeroed first; caller owns it, kernel_event_done). -EBADMSG as above. */
int bundle_event_from_json(json_t *j, struct kernel_event *ret, char **ret_error);

/* {"type":"end","run":...,"status":...,"reason":...,"finished_at":...,
 * "load_metrics":...}; NULL strings are left out (reason: why the run ended so, e.g. what
 * aborted it). The caller owns *ret. */
int bundle_end_to_json(const char *run_uuid, const char *status, const char *reason,
		       const char *finished_at, const char *load_metrics, json_t **ret);

/* Writes j as one compact line ending in '\n' and flushes, so a line is either complete
 * or torn at the end of the stream: one write(2) when out has a descriptor (do not mix
 * with unflushed stdio output on out). 0, -ENOMEM or -EIO. */
int bundle_write_line(FILE *out, json_t *j);

/* A line built without a JSON tree, for the runner's per-cycle and per-step lines; the
 * buffer is reused from line to line. Zero-initialise; bundle_line_done() frees it. */
struct bundle_line {
	char *data; /* NUL-terminated */
	size_t len, cap;
};
void bundle_line_done(struct bundle_line *l);
/* Replaces l's content with the cycle's line, '\n' included: byte for byte what
 * bundle_cycle_to_json() written by bundle_write_line() gives. 0, -ENOMEM, or -EINVAL
 * (a verb, outcome, source or class with no name); l's content is undefined on failure. */
int bundle_cycle_format(struct bundle_line *l, const char *run_uuid,
			const struct cycle_record *c);
/* {"type":"inflight","run":...,"cycle":...,"boot":...,"boot_id":...,"sweep_value":...,"action":...,
 * "verb":...,"arg":...,"group":...} and '\n' in l ("boot" only when above 0): cycle, boot_id and sweep_value are c's
 * seq, boot_id and sweep value (the last two left out when c has none); "group":null when
 * group is NULL, as json_pack's "s?" gave it. 0 or -ENOMEM. */
int bundle_inflight_format(struct bundle_line *l, const char *run_uuid,
			   const struct cycle_record *c, int action, const char *verb,
			   const char *arg, const char *group);
/* Writes l in one write(2) (through stdio when out has no descriptor) and flushes, as
 * bundle_write_line(). 0 or -EIO. */
int bundle_line_write(FILE *out, const struct bundle_line *l);

/* Writes the run with this UUID as a bundle: run line, events outside cycles, cycles by
 * seq, end line (unless the run is still "running"). Reads one snapshot. -ENOENT for an
 * unknown run, -EIO for a write error, or a db error. */
int bundle_export_run(struct db *db, const char *uuid, FILE *out);

/* Imports a bundle (any number of runs) in one transaction. *ret_stats (optional) counts
 * what was inserted and what was present already. On failure nothing is written, and
 * *ret_error (optional) gets a malloc'd "line N: ..." message: -EBADMSG for a malformed
 * line or a record the schema refuses, -E2BIG for a line over the BUNDLE_LINE_* limits,
 * -ENOENT for a line naming a run that neither the bundle (earlier) nor the database has,
 * -EEXIST for a conflict (a run, cycle or event that is recorded with other content: the
 * message names the field), -ENOMEM or -EIO when reading the input fails (never taken for
 * its end), or the db error (-EBUSY, -ENOSPC, ...). Inside a caller's transaction the
 * import nests as a savepoint. */
int bundle_import(struct db *db, FILE *in, struct bundle_stats *ret_stats,
		  char **ret_error);

/* Imports one line (its newline optional; blank lines are no-ops) in its own transaction,
 * for a live stream: a transaction over a whole guest session would hold the write lock
 * for hours and show nothing until the guest ends. Same rules and errors as
 * bundle_import; the message in *ret_error has no "line N: " prefix. On success the
 * counts are added to *stats (optional), which the caller keeps across lines. */
int bundle_import_line(struct db *db, const char *line, size_t len,
		       struct bundle_stats *stats, char **ret_error);
