/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The probestorm tool's verbs, one file each (cli/verb-NAME.c), which cli/probestorm.c
 * dispatches to, and what they share (cli/common.c): the global options, the configuration
 * and database they open, JSON output.
 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#define EXIT_ERROR 2

struct compare_opts;
struct conf;
struct db;

/* The global options (probestorm --config/--database/--json VERB). A verb's own --database
 * and --json set them too. */
struct cli_opts {
	const char *config;
	const char *database;
	bool json;
};

/* Each verb parses argv (argv[0] is the verb's name, optind 0) and returns the process's
 * exit code: 0 ok, EXIT_ERROR (2) after logging why, and its own codes (compare: 1
 * regression; decide: 3 undecided). */
int verb_run(struct cli_opts *cli, int argc, char **argv);
int verb_import(struct cli_opts *cli, int argc, char **argv);
int verb_export(struct cli_opts *cli, int argc, char **argv);
int verb_list(struct cli_opts *cli, int argc, char **argv);
int verb_compare(struct cli_opts *cli, int argc, char **argv);
int verb_report(struct cli_opts *cli, int argc, char **argv);
int verb_decide(struct cli_opts *cli, int argc, char **argv);
/* Returns only on failure: on success the QEMU kit's runner replaces the process. */
int verb_qemu(struct cli_opts *cli, int argc, char **argv);

/* The database's path: --database, else $PROBESTORM_DB, else c's [daemon] database (c may
 * be NULL), else the default under LOCALSTATEDIR. Points into cli, the environment, c or a
 * literal. */
const char *cli_database_path(const struct cli_opts *cli, const struct conf *c);
/* Opens the database at cli_database_path() with db_open's flags into *ret (the caller
 * closes it); a DB_READONLY open of a database that needs migrating migrates it if it can
 * be written. Logs the error; returns db_open's negative errno. */
int cli_open_db(const struct cli_opts *cli, const struct conf *c, int flags,
		struct db **ret);
/* The main file, then the conf.d/ directory beside it, into *ret (conf_free). Logs the
 * error; returns conf_load's negative errno, -ENOMEM. */
int cli_load_conf(const struct cli_opts *cli, struct conf **ret);
/* j as indented JSON with sorted keys, and a newline, on stdout. */
void cli_print_json(json_t *j);
/* compare and decide: both selectors given and nothing else on the line (argv from
 * optind). Logs what is missing or too much. */
/* A probability option's value, strictly between 0 and 1; false (logged) otherwise. */
bool cli_parse_fraction(const char *option, const char *arg, double *ret);
bool cli_selectors_given(const char *verb, const struct compare_opts *co, int argc,
			 char **argv);
