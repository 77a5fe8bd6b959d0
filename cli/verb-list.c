/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestorm list: the runs or the kernels in the database, as a table or JSON.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "db.h"
#include "log.h"
#include "macro.h"
#include "render.h"
#include "verbs.h"

int verb_list(struct cli_opts *cli, int argc, char **argv)
{
	const char *what = optind < argc ? argv[optind] : "runs";
	struct db_run_filter f = { .limit = 100 };
	struct db *db = NULL;
	json_t *j = NULL;
	int r;

	if (cli_open_db(cli, NULL, DB_READONLY, &db) < 0)
		return EXIT_ERROR;
	if (streq(what, "runs"))
		r = db_query_runs(db, &f, &j);
	else if (streq(what, "kernels"))
		r = db_query_kernels(db, &j);
	else {
		log_error("list: unknown object '%s' (runs, kernels)", what);
		db_close(db);
		return EXIT_ERROR;
	}
	if (r < 0) {
		log_error_errno(r, "Failed to query %s: %s", what, db_errmsg(db));
		db_close(db);
		return EXIT_ERROR;
	}
	if (cli->json)
		cli_print_json(j);
	else
		render_list(stdout, what, j);
	json_decref(j);
	db_close(db);
	return 0;
}
