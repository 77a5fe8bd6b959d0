/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the CLI's verbs share (verbs.h): the configuration and the database they open, as
 * the global options and the environment say, JSON output, compare's and decide's
 * selectors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "compare.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "macro.h"
#include "util.h"
#include "verbs.h"

const char *cli_database_path(const struct cli_opts *cli, const struct conf *c)
{
	const char *e = getenv("PROBESTORM_DB");

	if (cli->database)
		return cli->database;
	if (e && *e)
		return e;
	if (c && c->daemon.database)
		return c->daemon.database;
	return LOCALSTATEDIR "/lib/probestorm/probestorm.db";
}

int cli_open_db(const struct cli_opts *cli, const struct conf *c, int flags,
		struct db **ret)
{
	const char *path = cli_database_path(cli, c);
	int r = db_open(path, flags, ret);

	/* A reader on a database of an older probestorm: migrate it if it can be written
	 * (what any writer would do on opening it), instead of refusing to read it. */
	if (r == -EROFS && (flags & DB_READONLY)) {
		r = db_open(path, flags & ~DB_READONLY, ret);
		if (r >= 0)
			log_notice("Migrated database '%s' to schema version %d", path,
				   db_schema_version(*ret));
		else if (r == -EROFS || r == -EACCES || r == -EPERM)
			return log_error_errno(
				r,
				"Failed to open database '%s': it needs migrating to this probestorm's schema, and cannot be written",
				path);
	}
	if (r < 0)
		return log_error_errno(r, "Failed to open database '%s'", path);
	return 0;
}

int cli_load_conf(const struct cli_opts *cli, struct conf **ret)
{
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *dropins = NULL;
	const char *slash = strrchr(cli->config, '/');
	int r;

	dropins =
		slash ? strprintf("%.*s/conf.d", (int)(slash - cli->config), cli->config)
		      : strdup("conf.d");
	if (!dropins)
		return log_oom();
	r = conf_load(cli->config, dropins, ret, &err);
	if (r < 0) {
		log_error("%s", err ? err : "cannot load configuration");
		return r;
	}
	return 0;
}

void cli_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s) {
		puts(s);
		free(s);
	}
}

bool cli_selectors_given(const char *verb, const struct compare_opts *co, int argc,
			 char **argv)
{
	if (!co->base || !co->head) {
		log_error(
			"%s: give --base and --head (a kernel label, a run UUID, or label:NAME / run:UUID / kernel:ID)",
			verb);
		return false;
	}
	if (optind < argc) {
		log_error("%s: unexpected argument '%s'", verb, argv[optind]);
		return false;
	}
	return true;
}

bool cli_parse_fraction(const char *option, const char *arg, double *ret)
{
	char *end = NULL;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v > 0 && v < 1)) {
		log_error("--%s: '%s' is not in (0, 1)", option, arg);
		return false;
	}
	*ret = v;
	return true;
}
