/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestorm report: one kernel's runs alone, as text, markdown or JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "db.h"
#include "log.h"
#include "render.h"
#include "report.h"
#include "verbs.h"

/* report SEL [--markdown] [--json]: one kernel's runs alone (analysis/report.h). */
int verb_report(struct cli_opts *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "markdown", no_argument, NULL, 'm' },
					      { "database", required_argument, NULL,
						'd' },
					      {} };
	struct report rep;
	struct db *db = NULL;
	bool markdown = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "jmd:", opts, NULL)) >= 0) {
		switch (c) {
		case 'j': cli->json = true; break;
		case 'm': markdown = true; break;
		case 'd': cli->database = optarg; break;
		default: return EXIT_ERROR;
		}
	}
	if (optind != argc - 1) {
		log_error(
			"report: one selector expected (a kernel label, a run UUID, label:NAME, run:UUID or kernel:ID)");
		return EXIT_ERROR;
	}
	if (cli->json && markdown) {
		log_error("report: --json and --markdown exclude each other");
		return EXIT_ERROR;
	}
	if (cli_open_db(cli, NULL, DB_READONLY, &db) < 0)
		return EXIT_ERROR;
	r = report_build(db, argv[optind], &rep);
	if (r == -ENOENT)
		log_error("'%s' matches no run in '%s'", argv[optind],
			  cli_database_path(cli, NULL));
	else if (r < 0)
		log_error_errno(r, "report on '%s' failed: %s", argv[optind],
				r == -EINVAL ? "malformed selector" : db_errmsg(db));
	db_close(db);
	if (r < 0)
		return EXIT_ERROR;
	if (cli->json) {
		json_t *j = report_to_json(&rep);

		if (!j) {
			report_done(&rep);
			log_oom();
			return EXIT_ERROR;
		}
		cli_print_json(j);
		json_decref(j);
	} else
		render_report(stdout, &rep, markdown);
	report_done(&rep);
	return 0;
}
