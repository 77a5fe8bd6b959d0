/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestorm import BUNDLE...: idempotent. For a QEMU guest's stream also:
 *   --died crash|hang --console LOG   the guest died: record the in-flight cycle
 *   --pstore-root DIR                 with --died: the crash cycle also holds the pstore
 *                                     records in DIR/sys/fs/pstore (what the next boot found)
 *   --print-resume                    print UUID:SEQ where a fresh boot continues the run
 *                                     (nothing when the run ended), import nothing
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "db.h"
#include "guestlog.h"
#include "kmsg.h"
#include "log.h"
#include "macro.h"
#include "pstore.h"
#include "util.h"
#include "verbs.h"

/* The guest's death, with the pstore records the next boot saved under pstore_root (a
 * sysroot-like tree: the records are in pstore_root/sys/fs/pstore) when given. */
static int record_death(struct db *db, const struct guestlog_tail *t, enum outcome died,
			const char *console, const char *pstore_root)
{
	_cleanup_free_ char *dir = NULL;
	struct kernel_event *evs = NULL;
	size_t n = 0;
	int r = 0;

	if (pstore_root) {
		dir = strprintf("%s/sys/fs/pstore", pstore_root);
		if (!dir)
			return -ENOMEM;
		r = pstore_read_dir(dir, &evs, &n);
		/* the records of the boot that died, found by the one after it */
		for (size_t i = 0; i < n; i++)
			evs[i].boot = t->boot + 1;
	}
	if (r >= 0)
		r = guestlog_record_death(db, t, died, console, t->boot, evs, n);
	kmsg_events_free(evs, n);
	return r;
}

int verb_import(struct cli_opts *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "died", required_argument, NULL, 'D' },
		{ "console", required_argument, NULL, 'c' },
		{ "pstore-root", required_argument, NULL, 'p' },
		{ "print-resume", no_argument, NULL, 'r' },
		{ "print-partial", no_argument, NULL, 'P' },
		{ "database", required_argument, NULL, 'd' },
		{}
	};
	const char *console = NULL, *pstore_root = NULL;
	enum outcome died = OUTCOME_OK;
	bool print_resume = false, print_partial = false;
	struct db *db = NULL;
	int ret = 0, c;

	while ((c = getopt_long(argc, argv, "D:c:p:rPd:", opts, NULL)) >= 0) {
		switch (c) {
		case 'D':
			if (streq(optarg, "crash"))
				died = OUTCOME_CRASH;
			else if (streq(optarg, "hang"))
				died = OUTCOME_HANG;
			else {
				log_error("--died: '%s' is not crash or hang", optarg);
				return EXIT_ERROR;
			}
			break;
		case 'c': console = optarg; break;
		case 'p': pstore_root = optarg; break;
		case 'r': print_resume = true; break;
		case 'P': print_resume = print_partial = true; break;
		case 'd': cli->database = optarg; break;
		default: return EXIT_ERROR;
		}
	}
	if (optind >= argc) {
		log_error("import: no bundle files given");
		return EXIT_ERROR;
	}
	if (print_resume) {
		struct guestlog_tail t;
		FILE *f = fopen(argv[optind], "re");
		int r;

		if (!f) {
			log_error_errno(errno, "Failed to open '%s'", argv[optind]);
			return EXIT_ERROR;
		}
		r = guestlog_scan(f, &t);
		fclose(f);
		if (r < 0) {
			log_error_errno(r, "Failed to read '%s'", argv[optind]);
			return EXIT_ERROR;
		}
		if (!t.uuid[0]) {
			log_error(
				"%s: no run in the stream (the guest died before starting it?)",
				argv[optind]);
			guestlog_tail_done(&t);
			return EXIT_ERROR;
		}
		if (print_partial) {
			if (guestlog_rebooted(&t))
				printf("%s\n", t.partial);
		} else if (t.uuid[0] && !t.ended)
			printf("%s:%lld%s\n", t.uuid, (long long)guestlog_resume_seq(&t),
			       guestlog_rebooted(&t) ? " reboot" : "");
		guestlog_tail_done(&t);
		return 0;
	}
	if (cli_open_db(cli, NULL, 0, &db) < 0)
		return EXIT_ERROR;
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *err = NULL;
		struct bundle_stats st = { 0 };
		FILE *f = streq(argv[i], "-") ? stdin : fopen(argv[i], "re");
		int r;

		if (!f) {
			log_error_errno(errno, "Failed to open '%s'", argv[i]);
			ret = EXIT_ERROR;
			continue;
		}
		r = bundle_import(db, f, &st, &err);
		if (r >= 0 && died != OUTCOME_OK && f != stdin) {
			struct guestlog_tail t;

			rewind(f);
			r = guestlog_scan(f, &t);
			if (r >= 0 && !t.ended)
				r = record_death(db, &t, died, console, pstore_root);
			if (r >= 0 && guestlog_rebooted(&t)) {
				printf("%s: guest rebooted in cycle %lld (a scenario step)\n",
				       argv[i], (long long)t.inflight_cycle);
				guestlog_tail_done(&t);
				t.ended = true;
			}
			if (r < 0)
				log_error_errno(r, "%s: failed to record the guest's %s",
						argv[i], outcome_to_string(died));
			else if (!t.ended)
				printf("%s: guest %s in cycle %lld (%s %s) recorded\n",
				       argv[i], outcome_to_string(died),
				       (long long)(t.has_inflight ? t.inflight_cycle
								  : t.last_cycle + 1),
				       t.has_inflight ? t.inflight_verb : "-",
				       t.has_inflight ? t.inflight_arg : "-");
			guestlog_tail_done(&t);
		}
		if (f != stdin)
			fclose(f);
		if (r < 0) {
			if (err)
				log_error("%s: %s", argv[i], err);
			ret = EXIT_ERROR;
			continue;
		}
		printf("%s: imported %zu runs, %zu cycles, %zu events; already present: %zu runs, %zu cycles, %zu events%s\n",
		       argv[i], st.runs_inserted, st.cycles_inserted, st.events_inserted,
		       st.runs_present, st.cycles_present, st.events_present,
		       st.torn_tail ? "; a torn last line was skipped" : "");
	}
	db_close(db);
	return ret;
}
