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
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#ifdef HAVE_LIBCURL
#include <curl/curl.h>
#endif

#include "bundle.h"
#include "compare.h"
#include "conf.h"
#include "db.h"
#include "decide.h"
#include "guestlog.h"
#include "kcidb.h"
#include "kmsg.h"
#include "log.h"
#include "macro.h"
#include "pstore.h"
#include "render.h"
#include "report.h"
#include "runner.h"
#include "util.h"

#define EXIT_ERROR 2

static const char *arg_config = SYSCONFDIR "/probestorm/probestorm.conf";
static const char *arg_database;
static bool arg_json;
static bool arg_markdown;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

static const char *database_path(const struct conf *c)
{
	const char *e = getenv("PROBESTORM_DB");

	if (arg_database)
		return arg_database;
	if (e && *e)
		return e;
	if (c && c->daemon.database)
		return c->daemon.database;
	return LOCALSTATEDIR "/lib/probestorm/probestorm.db";
}

static int open_db(const struct conf *c, int flags, struct db **ret)
{
	const char *path = database_path(c);
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

/* The main file, then the conf.d/ directory beside it. */
static int load_conf(struct conf **ret)
{
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *dropins = NULL;
	const char *slash = strrchr(arg_config, '/');
	int r;

	dropins = slash ? strprintf("%.*s/conf.d", (int)(slash - arg_config), arg_config)
			: strdup("conf.d");
	if (!dropins)
		return log_oom();
	r = conf_load(arg_config, dropins, ret, &err);
	if (r < 0) {
		log_error("%s", err ? err : "cannot load configuration");
		return r;
	}
	return 0;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s) {
		puts(s);
		free(s);
	}
}

/* --- run --- */

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

static int verb_run(int argc, char **argv)
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
		case 'j': arg_json = true; break;
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
	if (load_conf(&conf) < 0)
		return EXIT_ERROR;
	if (!campaign) {
		if (conf->n_campaigns != 1) {
			log_error("%zu campaigns in '%s': name one with --campaign",
				  conf->n_campaigns, arg_config);
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
	if (!no_db && open_db(conf, 0, &db) < 0) {
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
			if (arg_json)
				print_json(sum);
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

/* --- import / export --- */

/*
 * import BUNDLE...: idempotent. For a QEMU guest's stream also:
 *   --died crash|hang --console LOG   the guest died: record the in-flight cycle
 *   --pstore-root DIR                 with --died: the crash cycle also holds the pstore
 *                                     records in DIR/sys/fs/pstore (what the next boot found)
 *   --print-resume                    print UUID:SEQ where a fresh boot continues the run
 *                                     (nothing when the run ended), import nothing
 */

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

static int verb_import(int argc, char **argv)
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
		case 'd': arg_database = optarg; break;
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
	if (open_db(NULL, 0, &db) < 0)
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

/*
 * export RUN-UUID [--format ndjson|kcidb|summary] [--origin NAME] [--arch NAME]:
 * ndjson is the bundle (import's input); kcidb a KernelCI KCIDB v5.3 report (cli/kcidb.h,
 * docs/fleet.md); summary the run summary `run --json` prints (contrib/lava/report reads it).
 */
static int verb_export(int argc, char **argv)
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
		case 'd': arg_database = optarg; break;
		case 'j': arg_json = true; break;
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
	if (open_db(NULL, DB_READONLY, &db) < 0)
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
		print_json(j);
	json_decref(j);
	db_close(db);
	return r < 0 ? EXIT_ERROR : 0;
}

/* --- list --- */

static int verb_list(int argc, char **argv)
{
	const char *what = optind < argc ? argv[optind] : "runs";
	struct db_run_filter f = { .limit = 100 };
	struct db *db = NULL;
	json_t *j = NULL;
	int r;

	if (open_db(NULL, DB_READONLY, &db) < 0)
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
	if (arg_json)
		print_json(j);
	else
		render_list(stdout, what, j);
	json_decref(j);
	db_close(db);
	return 0;
}

/* --- compare --- */

#ifdef HAVE_LIBCURL
#define COMPARE_MAX_REPLY ((size_t)64 << 20)
#define COMPARE_TIMEOUT_S 120L

struct reply_buf {
	char *data;
	size_t len;
};

static size_t reply_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reply_buf *b = userdata;
	size_t n = size * nmemb;
	char *d;

	if (b->len + n > COMPARE_MAX_REPLY)
		return 0; /* curl reports a write error */
	d = realloc(b->data, b->len + n + 1);
	if (!d)
		return 0;
	memcpy(d + b->len, ptr, n);
	d[b->len + n] = '\0';
	b->data = d;
	b->len += n;
	return n;
}

/* GET SERVER/api/v1/compare?base=&head=&alpha_outcome= and parse the body. The caller owns
 * *ret. Errors are logged here; -EIO (transfer), -ENOENT (404), -EINVAL (400), -EBADMSG
 * (not the compare JSON). */
static int compare_fetch(const char *server, const struct compare_opts *o, json_t **ret)
{
	_cleanup_free_ char *url = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", *eb = NULL, *eh = NULL;
	struct reply_buf body = { 0 };
	size_t slen = strlen(server);
	json_error_t jerr;
	long status = 0;
	json_t *j = NULL;
	CURLcode cc;
	CURL *c;
	int r;

	while (slen > 0 && server[slen - 1] == '/')
		slen--;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return log_error_errno(-EIO, "Failed to initialise libcurl");
	c = curl_easy_init();
	if (!c) {
		curl_global_cleanup();
		return log_oom();
	}
	eb = curl_easy_escape(c, o->base, 0);
	eh = curl_easy_escape(c, o->head, 0);
	if (eb && eh)
		url = strprintf(
			"%.*s/api/v1/compare?base=%s&head=%s&alpha_outcome=%.17g&alpha_latency=%.17g",
			(int)slen, server, eb, eh, o->alpha_outcome, o->alpha_latency);
	curl_free(eb);
	curl_free(eh);
	if (!url) {
		r = log_oom();
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, COMPARE_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "probestorm/" PACKAGE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	log_debug("GET %s", url);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		r = log_error_errno(-EIO, "Failed to GET '%s': %s", url,
				    errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	j = body.data ? json_loadb(body.data, body.len, 0, &jerr) : NULL;
	if (status != 200) {
		const char *detail = json_string_value(json_object_get(j, "detail"));

		r = status == 404 ? -ENOENT : status == 400 ? -EINVAL : -EIO;
		log_error("%s: HTTP %ld: %s", url, status,
			  detail ? detail : "no error detail in the reply");
		goto out;
	}
	if (!j) {
		r = log_error_errno(-EBADMSG, "%s: reply is not JSON: %s (line %d)", url,
				    jerr.text, jerr.line);
		goto out;
	}
	*ret = TAKE_PTR(j);
	r = 0;
out:
	json_decref(j);
	free(body.data);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return r;
}
#endif

/* JUnit XML into path ("-": stdout), written whole to a temporary file and renamed, so
 * a CI job never picks up half a report. */
static int write_junit(const char *path, const struct compare_result *res)
{
	_cleanup_free_ char *tmp = NULL;
	FILE *f;
	int r;

	if (streq(path, "-")) {
		render_compare_junit(stdout, res);
		return fflush(stdout) == 0 && !ferror(stdout)
			       ? 0
			       : log_error_errno(errno,
						 "Failed to write JUnit XML to stdout");
	}
	tmp = strprintf("%s.tmpXXXXXX", path);
	if (!tmp)
		return log_oom();
	{
		int fd = mkostemp(tmp, O_CLOEXEC);

		if (fd < 0)
			return log_error_errno(errno, "Failed to create '%s'", tmp);
		/* mkostemp makes it 0600; a report is for everyone to read */
		(void)fchmod(fd, 0644);
		f = fdopen(fd, "w");
		if (!f) {
			r = log_error_errno(errno, "Failed to create '%s'", tmp);
			close(fd);
			unlink(tmp);
			return r;
		}
	}
	render_compare_junit(f, res);
	r = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && r == 0)
		r = negative_errno();
	if (r == 0 && rename(tmp, path) < 0)
		r = negative_errno();
	if (r < 0) {
		unlink(tmp);
		return log_error_errno(r, "Failed to write JUnit XML to '%s'", path);
	}
	return 0;
}

/* compare and decide: both selectors given and nothing else on the line. */
static bool selectors_given(const char *verb, const struct compare_opts *co, int argc,
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

static int verb_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "base", required_argument, NULL, 'b' },
		{ "head", required_argument, NULL, 'h' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "alpha-latency", required_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ "markdown", no_argument, NULL, 'm' },
		{ "junit", required_argument, NULL, 'J' },
		{ "server", required_argument, NULL, 'S' },
		{ "database", required_argument, NULL, 'd' },
		{}
	};
	struct compare_opts co = { .alpha_outcome = 0.001, .alpha_latency = 0.01 };
	struct compare_result *res = NULL;
	const char *junit = NULL, *server = NULL;
	json_t *j = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "b:h:a:A:jmJ:S:d:", opts, NULL)) >= 0) {
		switch (c) {
		case 'b': co.base = optarg; break;
		case 'h': co.head = optarg; break;
		case 'a':
		case 'A': {
			char *end = NULL;
			double v = strtod(optarg, &end);

			if (end == optarg || *end || !(v > 0 && v < 1)) {
				log_error("--%s: '%s' is not in (0, 1)",
					  c == 'a' ? "alpha" : "alpha-latency", optarg);
				return EXIT_ERROR;
			}
			*(c == 'a' ? &co.alpha_outcome : &co.alpha_latency) = v;
			break;
		}
		case 'j': arg_json = true; break;
		case 'm': arg_markdown = true; break;
		case 'J': junit = optarg; break;
		case 'S': server = optarg; break;
		case 'd': arg_database = optarg; break;
		default: return EXIT_ERROR;
		}
	}
	if (!selectors_given("compare", &co, argc, argv))
		return EXIT_ERROR;
	if (arg_json && arg_markdown) {
		log_error("compare: --json and --markdown exclude each other");
		return EXIT_ERROR;
	}
	if (server) {
#ifdef HAVE_LIBCURL
		r = compare_fetch(server, &co, &j);
		if (r < 0)
			return EXIT_ERROR;
		r = compare_result_from_json(j, &res);
		if (r < 0) {
			log_error_errno(r, "%s: the reply is not a compare result",
					server);
			json_decref(j);
			return EXIT_ERROR;
		}
#else
		log_error(
			"--server: this probestorm was built without libcurl; compare a local database instead (--database FILE)");
		return EXIT_ERROR;
#endif
	} else {
		struct db *db = NULL;

		if (open_db(NULL, DB_READONLY, &db) < 0)
			return EXIT_ERROR;
		r = compare_run(db, &co, &res);
		if (r == -ENOENT)
			log_error("'%s' or '%s' matches no run in '%s'", co.base, co.head,
				  database_path(NULL));
		else if (r < 0)
			log_error_errno(r, "Failed to compare '%s' with '%s': %s",
					co.base, co.head, db_errmsg(db));
		db_close(db);
		if (r < 0)
			return EXIT_ERROR;
	}
	if (junit && write_junit(junit, res) < 0) {
		r = EXIT_ERROR;
		goto out;
	}
	if (arg_json) {
		if (!j)
			j = compare_result_to_json(res);
		if (!j) {
			log_oom();
			r = EXIT_ERROR;
			goto out;
		}
		print_json(j);
	} else if (!junit || !streq(junit, "-"))
		render_compare(stdout, res, arg_markdown);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error_errno(errno, "Failed to write to stdout");
		r = EXIT_ERROR;
		goto out;
	}
	r = compare_result_regressed(res) ? 1 : 0;
out:
	json_decref(j);
	compare_result_free(res);
	return r;
}

/* --- decide --- */

/* report SEL [--markdown] [--json]: one kernel's runs alone (analysis/report.h). */
static int verb_report(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "markdown", no_argument, NULL, 'm' },
					      { "database", required_argument, NULL,
						'd' },
					      {} };
	struct report rep;
	struct db *db = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "jmd:", opts, NULL)) >= 0) {
		switch (c) {
		case 'j': arg_json = true; break;
		case 'm': arg_markdown = true; break;
		case 'd': arg_database = optarg; break;
		default: return EXIT_ERROR;
		}
	}
	if (optind != argc - 1) {
		log_error(
			"report: one selector expected (a kernel label, a run UUID, label:NAME, run:UUID or kernel:ID)");
		return EXIT_ERROR;
	}
	if (arg_json && arg_markdown) {
		log_error("report: --json and --markdown exclude each other");
		return EXIT_ERROR;
	}
	if (open_db(NULL, DB_READONLY, &db) < 0)
		return EXIT_ERROR;
	r = report_build(db, argv[optind], &rep);
	if (r == -ENOENT)
		log_error("'%s' matches no run in '%s'", argv[optind],
			  database_path(NULL));
	else if (r < 0)
		log_error_errno(r, "report on '%s' failed: %s", argv[optind],
				r == -EINVAL ? "malformed selector" : db_errmsg(db));
	db_close(db);
	if (r < 0)
		return EXIT_ERROR;
	if (arg_json) {
		json_t *j = report_to_json(&rep);

		if (!j) {
			report_done(&rep);
			log_oom();
			return EXIT_ERROR;
		}
		print_json(j);
		json_decref(j);
	} else
		render_report(stdout, &rep, arg_markdown);
	report_done(&rep);
	return 0;
}

/*
 * decide: is the comparison already decided (every watched outcome rate DIFFERENT or SAME
 * at the per-look alpha)? For adaptive campaigns (contrib/qemu/until-decided,
 * docs/adaptive.md). Exit codes: 0 decided, 3 undecided, 2 error.
 */
#define EXIT_UNDECIDED 3

static int verb_decide(int argc, char **argv)
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
		case 'm': {
			char *end = NULL;
			double v = strtod(optarg, &end);

			if (end == optarg || *end || !(v > 0 && v < 1)) {
				log_error("--%s: '%s' is not in (0, 1)",
					  c == 'a' ? "alpha" : "margin", optarg);
				return EXIT_ERROR;
			}
			*(c == 'a' ? &plan.alpha : &plan.margin) = v;
			break;
		}
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
		case 'j': arg_json = true; break;
		case 'd': arg_database = optarg; break;
		default: return EXIT_ERROR;
		}
	}
	if (!selectors_given("decide", &co, argc, argv))
		return EXIT_ERROR;
	if (look > looks) {
		log_error("decide: --look %lld is beyond --looks %lld", (long long)look,
			  (long long)looks);
		return EXIT_ERROR;
	}
	plan.look = (unsigned)look;
	plan.looks = (unsigned)looks;
	plan.watch = watch;
	if (open_db(NULL, DB_READONLY, &db) < 0)
		return EXIT_ERROR;
	r = compare_run(db, &co, &res);
	if (r == -ENOENT)
		log_error("'%s' or '%s' matches no run in '%s'", co.base, co.head,
			  database_path(NULL));
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
	if (arg_json) {
		json_t *j = decide_result_to_json(d, res);

		if (!j)
			r = log_oom();
		else
			print_json(j);
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

/* qemu ...: the QEMU kit's host runner (contrib/qemu/run-campaign) with this binary as the
 * host's probestorm. The kit is looked for in $PROBESTORM_QEMU_KIT, beside a build tree
 * (../contrib/qemu from this executable) and in PKGDATADIR/qemu. */
static int verb_qemu(int argc, char **argv)
{
	char self[PATH_MAX], cand[3][PATH_MAX + 64];
	const char *env = getenv("PROBESTORM_QEMU_KIT");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	size_t k = 0;

	if (n < 0)
		return log_error_errno(errno, "Cannot find this executable"), EXIT_ERROR;
	self[n] = '\0';
	if (env)
		snprintf(cand[k++], sizeof(cand[0]), "%s/run-campaign", env);
	slash = strrchr(self, '/');
	snprintf(cand[k++], sizeof(cand[0]), "%.*s/../contrib/qemu/run-campaign",
		 (int)(slash ? slash - self : 1), slash ? self : ".");
	snprintf(cand[k++], sizeof(cand[0]), "%s/qemu/run-campaign", PKGDATADIR);
	for (size_t i = 0; i < k; i++) {
		if (access(cand[i], X_OK) != 0)
			continue;
		setenv("PROBESTORM", self, 1);
		if (arg_database)
			setenv("PROBESTORM_DB", arg_database, 1);
		argv[0] = cand[i];
		execv(cand[i], argv);
		return log_error_errno(errno, "Cannot run '%s'", cand[i]), EXIT_ERROR;
	}
	log_error(
		"the QEMU kit (contrib/qemu/run-campaign) was not found; set PROBESTORM_QEMU_KIT");
	return EXIT_ERROR;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
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
	int c;

	log_setup("probestorm", LOG_TARGET_STDERR, LOG_INFO);
	/* Global options stop at the verb; the verb parses the rest. */
	while ((c = getopt_long(argc, argv, "+c:d:jvH", opts, NULL)) >= 0) {
		switch (c) {
		case 'c': arg_config = optarg; break;
		case 'd': arg_database = optarg; break;
		case 'j': arg_json = true; break;
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
		/* Verbs without options of their own still accept the query options. */
		if (verbs[i].fn != verb_run && verbs[i].fn != verb_compare &&
		    verbs[i].fn != verb_import && verbs[i].fn != verb_qemu &&
		    verbs[i].fn != verb_decide && verbs[i].fn != verb_export &&
		    verbs[i].fn != verb_report) {
			while ((c = getopt_long(argc, argv, "jd:", opts, NULL)) >= 0) {
				if (c == 'j')
					arg_json = true;
				else if (c == 'd')
					arg_database = optarg;
				else
					return EXIT_ERROR;
			}
		}
		return verbs[i].fn(argc, argv);
	}
	log_error("unknown verb '%s'", argv[optind]);
	usage(stderr);
	return EXIT_ERROR;
}
