/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestorm run: a campaign in the foreground on this machine, with a progress line (a bar
 * on a terminal, a line per cycle otherwise) and the run's summary at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "macro.h"
#include "render.h"
#include "runner.h"
#include "util.h"
#include "verbs.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

static void progress_cb(const struct runner_progress *p, void *userdata)
{
	bool tty = *(bool *)userdata;
	int64_t elapsed = now_ns() - p->started_ns;
	int64_t eta_s =
		p->done > 0 ? (elapsed / p->done) * (p->total - p->done) / NSEC_PER_SEC
			    : 0;
	char counts[256] = "";
	size_t len = 0;

	for (int o = 0; o < _OUTCOME_MAX; o++)
		if (p->counts[o] > 0 && len < sizeof(counts))
			len += (size_t)snprintf(counts + len, sizeof(counts) - len,
						" %s=%lld", outcome_to_string(o),
						(long long)p->counts[o]);
	if (tty) {
		int width = 30,
		    fill = p->total > 0 ? (int)(p->done * width / p->total) : 0;
		fprintf(stderr, "\r[%.*s%*s] %lld/%lld ETA %lld:%02lld%s\033[K", fill,
			"##############################", width - fill, "",
			(long long)p->done, (long long)p->total, (long long)(eta_s / 60),
			(long long)(eta_s % 60), counts);
		if (p->done == p->total)
			fputc('\n', stderr);
	} else if (p->last) {
		fprintf(stderr, "cycle %lld/%lld %s%s%s\n", (long long)p->last->seq + 1,
			(long long)p->total, outcome_to_string(p->last->outcome),
			p->last->note && *p->last->note ? " - " : "",
			p->last->note ? p->last->note : "");
	}
}

int verb_run(struct cli_opts *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "campaign", required_argument, NULL, 'C' },
		{ "label", required_argument, NULL, 'l' },
		{ "patches", required_argument, NULL, 'p' },
		{ "cycles", required_argument, NULL, 'n' },
		{ "stream", required_argument, NULL, 's' },
		{ "no-database", no_argument, NULL, 'N' },
		{ "resume", required_argument, NULL, 'R' },
		{ "after-reboot", required_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{}
	};
	_cleanup_free_ char *err = NULL;
	const char *campaign = NULL, *label = NULL, *patches = NULL, *stream = NULL;
	const char *after_reboot = NULL;
	_cleanup_free_ char *partial = NULL;
	struct conf *conf = NULL;
	struct db *db = NULL;
	FILE *sf = NULL;
	bool tty = isatty(STDERR_FILENO), no_db = false;
	int64_t cycles = 0, start_seq = 0, boot = 0;
	char uuid[37] = "", resume[37] = "";
	int c, r;

	while ((c = getopt_long(argc, argv, "C:l:p:n:s:NR:A:j", opts, NULL)) >= 0) {
		switch (c) {
		case 'C': campaign = optarg; break;
		case 'l': label = optarg; break;
		case 'p': patches = optarg; break;
		case 'n':
			if (parse_int64(optarg, 1, 10000000, &cycles) < 0) {
				log_error("--cycles: '%s' is not a number in 1..10000000",
					  optarg);
				return EXIT_ERROR;
			}
			break;
		case 's': stream = optarg; break;
		case 'N': no_db = true; break;
		case 'R': {
			/* UUID:SEQ[:BOOT] as printed by "import --print-resume" */
			char *p1 = strchr(optarg, ':'),
			     *p2 = p1 ? strchr(p1 + 1, ':') : NULL;

			if (!p1 || p1 - optarg != 36) {
				log_error("--resume: '%s' is not UUID:SEQ[:BOOT]",
					  optarg);
				return EXIT_ERROR;
			}
			memcpy(resume, optarg, 36);
			if (p2)
				*p2 = '\0';
			if (parse_int64(p1 + 1, 0, INT64_MAX, &start_seq) < 0 ||
			    (p2 && parse_int64(p2 + 1, 0, 1000000, &boot) < 0)) {
				log_error("--resume: '%s' is not UUID:SEQ[:BOOT]",
					  optarg);
				return EXIT_ERROR;
			}
			break;
		}
		case 'A': after_reboot = optarg; break;
		case 'j': cli->json = true; break;
		default: return EXIT_ERROR;
		}
	}
	if (after_reboot) {
		FILE *pf = fopen(after_reboot, "re");
		size_t len = 0;

		if (!pf || getdelim(&partial, &len, '\0', pf) < 0) {
			log_error_errno(errno, "--after-reboot: cannot read '%s'",
					after_reboot);
			if (pf)
				fclose(pf);
			return EXIT_ERROR;
		}
		fclose(pf);
		if (!resume[0]) {
			log_error("--after-reboot needs --resume UUID:SEQ:BOOT");
			return EXIT_ERROR;
		}
	}
	if (cli_load_conf(cli, &conf) < 0)
		return EXIT_ERROR;
	if (!campaign) {
		if (conf->n_campaigns != 1) {
			log_error("%zu campaigns in '%s': name one with --campaign",
				  conf->n_campaigns, cli->config);
			conf_free(conf);
			return EXIT_ERROR;
		}
		campaign = conf->campaigns[0].name;
	}
	/* Everything checkable is checked before the database is touched. */
	r = runner_preflight(conf, campaign, &err);
	if (r < 0) {
		log_error("%s", err);
		conf_free(conf);
		return EXIT_ERROR;
	}
	if (!no_db && cli_open_db(cli, conf, 0, &db) < 0) {
		conf_free(conf);
		return EXIT_ERROR;
	}
	if (stream) {
		sf = fopen(stream, "we");
		if (!sf) {
			log_error_errno(errno, "Failed to open stream '%s'", stream);
			db_close(db);
			conf_free(conf);
			return EXIT_ERROR;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	{
		struct runner_opts o = {
			.label = label,
			.patches = patches,
			.db = db,
			.stream = sf,
			.cycles = cycles,
			.stop = &stop_requested,
			.progress = progress_cb,
			.userdata = &tty,
			.resume_uuid = resume[0] ? resume : NULL,
			.start_seq = start_seq,
			.boot = (int)boot,
			.after_reboot = partial,
		};
		free(err);
		err = NULL;
		r = runner_run(conf, campaign, &o, uuid, &err);
	}
	if (r < 0 && err)
		log_error("%s", err);
	if (*uuid && db) {
		json_t *sum = NULL;
		if (db_query_run_summary(db, uuid, &sum) == 0) {
			if (cli->json)
				cli_print_json(sum);
			else
				render_run_summary(stdout, sum);
			json_decref(sum);
		}
	}
	if (sf)
		fclose(sf);
	db_close(db);
	conf_free(conf);
	return r < 0 ? EXIT_ERROR : 0;
}
