/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestorm decide: is the comparison already decided (every watched outcome rate DIFFERENT or SAME
 * at the per-look alpha)? For adaptive campaigns (contrib/qemu/until-decided,
 * docs/adaptive.md). Exit codes: 0 decided, 3 undecided, 2 error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "compare.h"
#include "db.h"
#include "decide.h"
#include "log.h"
#include "macro.h"
#include "render.h"
#include "util.h"
#include "verbs.h"

#define EXIT_UNDECIDED 3

int verb_decide(struct cli_opts *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "base", required_argument, NULL, 'b' },
		{ "head", required_argument, NULL, 'h' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "margin", required_argument, NULL, 'm' },
		{ "look", required_argument, NULL, 'k' },
		{ "looks", required_argument, NULL, 'K' },
		{ "watch", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "database", required_argument, NULL, 'd' },
		{}
	};
	struct compare_opts co = { .alpha_outcome = DECIDE_DEFAULT_ALPHA,
				   .alpha_latency = 0.01 };
	struct decide_plan plan = {
		.alpha = DECIDE_DEFAULT_ALPHA,
		.margin = DECIDE_DEFAULT_MARGIN,
		.look = 1,
		.looks = 1,
	};
	_cleanup_free_ const char **watch = NULL;
	struct compare_result *res = NULL;
	struct decide_result *d = NULL;
	struct db *db = NULL;
	int64_t look = 1, looks = 1;
	int c, r;

	watch = calloc((size_t)argc, sizeof(*watch));
	if (!watch)
		return log_oom(), EXIT_ERROR;
	while ((c = getopt_long(argc, argv, "b:h:a:m:k:K:w:jd:", opts, NULL)) >= 0) {
		switch (c) {
		case 'b': co.base = optarg; break;
		case 'h': co.head = optarg; break;
		case 'a':
			if (!cli_parse_fraction("alpha", optarg, &plan.alpha))
				return EXIT_ERROR;
			break;
		case 'm':
			if (!cli_parse_fraction("margin", optarg, &plan.margin))
				return EXIT_ERROR;
			break;
		case 'k':
		case 'K':
			if (parse_int64(optarg, 1, 1000000, c == 'k' ? &look : &looks) <
			    0) {
				log_error("--%s: '%s' is not a number in 1..1000000",
					  c == 'k' ? "look" : "looks", optarg);
				return EXIT_ERROR;
			}
			break;
		case 'w': watch[plan.n_watch++] = optarg; break;
		case 'j': cli->json = true; break;
		case 'd': cli->database = optarg; break;
		default: return EXIT_ERROR;
		}
	}
	if (!cli_selectors_given("decide", &co, argc, argv))
		return EXIT_ERROR;
	if (look > looks) {
		log_error("decide: --look %lld is beyond --looks %lld", (long long)look,
			  (long long)looks);
		return EXIT_ERROR;
	}
	plan.look = (unsigned)look;
	plan.looks = (unsigned)looks;
	plan.watch = watch;
	if (cli_open_db(cli, NULL, DB_READONLY, &db) < 0)
		return EXIT_ERROR;
	r = compare_run(db, &co, &res);
	if (r == -ENOENT)
		log_error("'%s' or '%s' matches no run in '%s'", co.base, co.head,
			  cli_database_path(cli, NULL));
	else if (r < 0)
		log_error_errno(r, "Failed to compare '%s' with '%s': %s", co.base,
				co.head, db_errmsg(db));
	if (r < 0) {
		db_close(db);
		return EXIT_ERROR;
	}
	r = decide_run(res, &plan, &d);
	if (r == -ENOENT)
		log_error("decide: a --watch consumer is not in the comparison");
	else if (r == -EINVAL)
		log_error(
			"decide: a --watch entry is not [CONSUMER:]OUTCOME (an outcome class other than ok/deferred_ok, or any_failure)");
	else if (r < 0)
		log_error_errno(r, "Failed to decide");
	if (r >= 0) {
		/* the caveat's numbers; the decision stands without them */
		int k = decide_clusters_load(db, res, d);

		if (k < 0)
			log_warning_errno(k, "Cannot count the boots (clusters): %s",
					  db_errmsg(db));
	}
	db_close(db);
	if (r < 0) {
		compare_result_free(res);
		return EXIT_ERROR;
	}
	if (cli->json) {
		json_t *j = decide_result_to_json(d, res);

		if (!j)
			r = log_oom();
		else
			cli_print_json(j);
		json_decref(j);
	} else
		render_decide(stdout, d, res);
	if (r >= 0 && (fflush(stdout) != 0 || ferror(stdout)))
		r = log_error_errno(errno, "Failed to write to stdout");
	if (r >= 0)
		r = d->decided ? 0 : EXIT_UNDECIDED;
	else
		r = EXIT_ERROR;
	decide_result_free(d);
	compare_result_free(res);
	return r;
}
