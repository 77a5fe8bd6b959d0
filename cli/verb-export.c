/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestorm export RUN-UUID [--format ndjson|kcidb|summary] [--origin NAME] [--arch NAME]:
 * ndjson is the bundle (import's input); kcidb a KernelCI KCIDB v5.3 report (cli/kcidb.h,
 * docs/fleet.md); summary the run summary `run --json` prints (contrib/lava/report reads it).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bundle.h"
#include "db.h"
#include "kcidb.h"
#include "log.h"
#include "macro.h"
#include "verbs.h"

int verb_export(struct cli_opts *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "origin", required_argument, NULL, 'o' },
		{ "arch", required_argument, NULL, 'a' },
		{ "database", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{}
	};
	struct kcidb_opts ko = {};
	const char *format = "ndjson";
	struct db *db = NULL;
	json_t *j = NULL;
	int r, c;

	while ((c = getopt_long(argc, argv, "f:o:a:d:j", opts, NULL)) >= 0) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': ko.origin = optarg; break;
		case 'a': ko.architecture = optarg; break;
		case 'd': cli->database = optarg; break;
		case 'j': cli->json = true; break;
		default: return EXIT_ERROR;
		}
	}
	if (!streq(format, "ndjson") && !streq(format, "kcidb") &&
	    !streq(format, "summary")) {
		log_error("export: unknown --format '%s' (ndjson, kcidb, summary)",
			  format);
		return EXIT_ERROR;
	}
	if ((ko.origin && !kcidb_name_is_valid(ko.origin)) ||
	    (ko.architecture && !kcidb_name_is_valid(ko.architecture))) {
		log_error("export: --origin and --arch take [a-z0-9_]+");
		return EXIT_ERROR;
	}
	if (optind >= argc) {
		log_error("export: which run? give its UUID");
		return EXIT_ERROR;
	}
	if (cli_open_db(cli, NULL, DB_READONLY, &db) < 0)
		return EXIT_ERROR;
	if (streq(format, "ndjson"))
		r = bundle_export_run(db, argv[optind], stdout);
	else if (streq(format, "kcidb"))
		r = kcidb_export_run(db, argv[optind], &ko, &j);
	else
		r = db_query_run_summary(db, argv[optind], &j);
	if (r < 0)
		log_error_errno(r, "Failed to export run '%s'", argv[optind]);
	else if (j)
		cli_print_json(j);
	json_decref(j);
	db_close(db);
	return r < 0 ? EXIT_ERROR : 0;
}
