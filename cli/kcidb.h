/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * KernelCI KCIDB output (schema v5.3): one recorded run as a KCIDB report a lab submits
 * with kcidb-submit or the REST /submit endpoint (docs/fleet.md). The kernel identity
 * becomes one checkout and one build; each consumer of the run gets one test per failure
 * outcome class ("probestorm.<scenario>.<consumer>.<outcome>", FAIL when the class
 * occurred in any cycle, PASS when it never did) and one summary test
 * ("probestorm.<scenario>.<consumer>", FAIL when any failure class occurred). Counts,
 * rates and Wilson 95% intervals go to each test's "misc", as does whatever the schema
 * has no field for (kernel release, label, patches, cmdline): nothing is invented at the
 * top level. IDs are "<origin>:<...>"; checkout and build are keyed by the kernel's GNU
 * build id (the run UUID when there is none), so runs of one kernel share them.
 * No logging; functions return 0 or a negative errno and leave ret_ outputs untouched on
 * failure.
 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "db.h"
#include "model.h"

#define KCIDB_VERSION_MAJOR  5
#define KCIDB_VERSION_MINOR  3
#define KCIDB_DEFAULT_ORIGIN "probestorm"

struct kcidb_opts {
	const char *origin;	  /* [a-z0-9_]+; NULL means KCIDB_DEFAULT_ORIGIN */
	const char *architecture; /* [a-z0-9_]+ (e.g. "arm64") or NULL: left out */
};

/* true if s is a valid KCIDB origin (or architecture): non-empty, [a-z0-9_] only. */
bool kcidb_name_is_valid(const char *s);

/* s lowercased with every character outside [a-z0-9_] replaced by '_' ("decon-ctl" ->
 * "decon_ctl"; "" -> "_"), as a path component. The caller frees *ret. -ENOMEM. */
int kcidb_sanitize(const char *s, char **ret);

/* The KCIDB report of run r from its summary (db_query_run_summary's object: "cycles" and
 * "consumers" are used). o may be NULL (defaults). The caller owns *ret (json_decref).
 * -EINVAL for an invalid origin/architecture or a run without uuid/scenario/started_at,
 * -EBADMSG for a summary of the wrong shape, -ENOMEM. */
int kcidb_from_summary(const struct run_record *r, json_t *summary,
		       const struct kcidb_opts *o, json_t **ret);

/* kcidb_from_summary for the recorded run with this UUID, read in one snapshot.
 * -ENOENT for an unknown run, -EINVAL as above, or a db error (message: db_errmsg). */
int kcidb_export_run(struct db *db, const char *uuid, const struct kcidb_opts *o,
		     json_t **ret);
