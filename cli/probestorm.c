/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestorm: the command-line tool. Verbs:
 *   run      run a campaign in the foreground on this machine
 *   import   import NDJSON bundles (idempotent)
 *   export   export a run as an NDJSON bundle, a KernelCI KCIDB report or its summary
 *   list     list runs or kernels
 *   compare  compare two kernels (or runs): outcome rates per consumer, from the local
 *            database or a remote probestormd (--server, libcurl), as text, markdown,
 *            JSON and JUnit XML
 *   decide   is a comparison decided yet (every watched outcome rate different or the
 *            same within a margin, Bonferroni over the planned looks)? For adaptive
 *            campaigns (contrib/qemu/until-decided)
 * Every query verb takes --json. Exit codes: 0 ok, 1 regression (compare), 2 error,
 * 3 undecided (decide).
 * This file is the dispatcher: the global options, the verbs table and the usage. Each verb
 * is in cli/verb-NAME.c; what they share is in cli/common.c (verbs.h).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "verbs.h"

static const struct {
	const char *name;
	int (*fn)(struct cli_opts *cli, int argc, char **argv);
	const char *help;
} verbs[] = {
	{ "run", verb_run,
	  "run [--campaign NAME] [--label L] [--cycles N] [--stream FILE]" },
	{ "import", verb_import, "import BUNDLE..." },
	{ "qemu", verb_qemu,
	  "qemu --variant stock|lkml-v1 --config F --campaign C [...] (contrib/qemu/run-campaign)" },
	{ "export", verb_export,
	  "export RUN-UUID [--format ndjson|kcidb|summary] [--origin NAME] [--arch NAME]" },
	{ "list", verb_list, "list [runs|kernels] [--json]" },
	{ "compare", verb_compare,
	  "compare --base SEL --head SEL [--json|--markdown] [--junit FILE] [--alpha A]\n"
	  "                     [--alpha-latency A] [--server URL]" },
	{ "report", verb_report, "report SEL [--markdown|--json]" },
	{ "decide", verb_decide,
	  "decide --base SEL --head SEL [--margin 0.05] [--alpha 0.001] [--look k --looks K]\n"
	  "                     [--watch [CONSUMER:]OUTCOME]... [--json]  (exit 0 decided, 3 undecided)" },
};

/* --help among a verb's arguments, before any "--" that ends its options. */
static bool verb_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
		if (streq(argv[i], "--help"))
			return true;
	return false;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: probestorm [--config FILE] [--database FILE] [--json] VERB ...\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  probestorm %s\n", verbs[i].help);
	fprintf(f,
		"\nSEL is a kernel label, a run UUID, label:NAME, run:UUID or kernel:ID.\ncompare --server URL asks a probestormd (GET URL/api/v1/compare) instead of\nthe local database; --junit - writes the JUnit XML to stdout.\n"
		"Exit codes: 0 ok, 1 regression found by compare, 2 error, 3 undecided (decide).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'H' },
		{}
	};
	struct cli_opts cli = { .config = SYSCONFDIR "/probestorm/probestorm.conf" };
	int c;

	log_setup("probestorm", LOG_TARGET_STDERR, LOG_INFO);
	/* Global options stop at the verb; the verb parses the rest. */
	while ((c = getopt_long(argc, argv, "+c:d:jvH", opts, NULL)) >= 0) {
		switch (c) {
		case 'c': cli.config = optarg; break;
		case 'd': cli.database = optarg; break;
		case 'j': cli.json = true; break;
		case 'v': log_set_max_level(LOG_DEBUG); break;
		case 'H': usage(stdout); return 0;
		default: usage(stderr); return EXIT_ERROR;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_ERROR;
	}
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (!streq(argv[optind], verbs[i].name))
			continue;
		argc -= optind;
		argv += optind;
		/* 0, not 1: glibc then starts afresh, in the order the verb's optstring asks
		 * for; with 1 it kept the "+" (stop at the first operand) of the global
		 * parse, and `export UUID --format summary` ignored its --format. */
		optind = 0;
		/* `probestorm VERB --help`: the verb's usage line (qemu's is run-campaign's). */
		if (verbs[i].fn != verb_qemu && verb_wants_help(argc, argv)) {
			printf("Usage: probestorm %s\n\nSee probestorm(1) for every option.\n",
			       verbs[i].help);
			return 0;
		}
		/* Verbs without options of their own still accept the query options. */
		if (verbs[i].fn != verb_run && verbs[i].fn != verb_compare &&
		    verbs[i].fn != verb_import && verbs[i].fn != verb_qemu &&
		    verbs[i].fn != verb_decide && verbs[i].fn != verb_export &&
		    verbs[i].fn != verb_report) {
			while ((c = getopt_long(argc, argv, "jd:", opts, NULL)) >= 0) {
				if (c == 'j')
					cli.json = true;
				else if (c == 'd')
					cli.database = optarg;
				else
					return EXIT_ERROR;
			}
		}
		return verbs[i].fn(&cli, argc, argv);
	}
	log_error("unknown verb '%s'", argv[optind]);
	usage(stderr);
	return EXIT_ERROR;
}
