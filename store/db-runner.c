/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The runner's recovery query (db-runner.h): which of its runs a stopped daemon left
 * running, with the boot they were last seen in. Failures go through db.c's error channel
 * (db-internal.h); nothing here logs.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db-internal.h"
#include "db-runner.h"
#include "macro.h"

void db_runner_run_done(struct db_runner_run *r)
{
	if (!r)
		return;
	free(r->campaign);
	free(r->boot_id);
	*r = (struct db_runner_run){};
}

void db_runner_runs_free(struct db_runner_run *runs, size_t n)
{
	for (size_t i = 0; runs && i < n; i++)
		db_runner_run_done(&runs[i]);
	free(runs);
}

int db_runner_runs_unfinished(struct db *db, struct db_runner_run **ret, size_t *ret_n)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	struct db_runner_run *runs = NULL;
	size_t n = 0, cap = 0;
	int r, rc;

	r = db_prepare(
		db,
		"SELECT r.uuid, r.campaign, r.id, (SELECT IFNULL(MAX(boot), 0) "
		"FROM cycles WHERE run_id = r.id), (SELECT boot_id FROM cycles WHERE "
		"run_id = r.id ORDER BY seq DESC LIMIT 1) FROM runs r JOIN local_runs l "
		"ON l.run_id = r.id WHERE r.status = 'running' ORDER BY r.id",
		&s);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *uuid = (const char *)sqlite3_column_text(s, 0);
		const char *campaign = (const char *)sqlite3_column_text(s, 1);
		const char *boot_id = (const char *)sqlite3_column_text(s, 4);
		struct db_runner_run *p;

		if (n == cap) {
			size_t c = cap ? 2 * cap : 8;

			p = realloc(runs, c * sizeof(*runs));
			if (!p)
				goto oom;
			runs = p;
			cap = c;
		}
		p = &runs[n];
		*p = (struct db_runner_run){
			.id = sqlite3_column_int64(s, 2),
			.boot = sqlite3_column_int(s, 3),
		};
		snprintf(p->uuid, sizeof(p->uuid), "%s", uuid ? uuid : "");
		/* runs.campaign is NOT NULL */
		p->campaign = strdup(campaign ? campaign : "");
		p->boot_id = boot_id ? strdup(boot_id) : NULL;
		n++;
		if (!p->campaign || (boot_id && !p->boot_id))
			goto oom;
	}
	if (rc != SQLITE_DONE) {
		r = db_sqlerr(db, rc);
		db_runner_runs_free(runs, n);
		return r;
	}
	*ret = runs;
	*ret_n = n;
	return 0;
oom:
	db_runner_runs_free(runs, n);
	return db_fail(db, -ENOMEM, "out of memory");
}
