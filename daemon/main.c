/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestormd: the daemon. Modules are set up in dependency order and torn down in reverse:
 *   log -> config -> database -> HTTP API -> push -> (systemd notify) -> scheduler loop
 *   -> campaigns
 * It runs the campaigns named with --campaign or listed in [daemon] autostart, then those
 * with a schedule ("boot" runs once after start, "daily HH:MM" every day), until SIGTERM.
 * With --once it exits after the named/autostart campaigns (QEMU guests run it this way,
 * streaming cycles as NDJSON to the host with --stream /dev/hvc0).
 * The HTTP API (api.h) serves on [daemon] listen, --listen, or the one socket systemd
 * passes (socket activation), all along; --once runs without it unless --listen is given.
 * Under systemd (contrib/systemd/probestormd.service, Type=notify) it reports READY=1,
 * STATUS= and STOPPING=1, and pings the watchdog (WatchdogSec=) while it makes progress.
 * With a [push] section, a thread of push.h sends every run to a central probestormd.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "api.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "macro.h"
#include "push.h"
#include "runner.h"
#include "util.h"

static const char *arg_config = SYSCONFDIR "/probestorm/probestorm.conf";
static const char *arg_database;
static const char *arg_stream;
static const char *arg_label;
static const char *arg_patches;
static const char *arg_campaigns[32];
static size_t arg_n_campaigns;
static bool arg_check;
static bool arg_once;
static const char *arg_listen;
static const char *arg_port_file;
static const char *arg_web_root;
static int64_t arg_max_body;
static int64_t arg_max_connections;
static int64_t arg_max_connections_per_ip;
static bool arg_no_api;

static struct api *api_server;
static struct push *pusher;

static volatile sig_atomic_t stop_requested;
/* A run stopped for a reboot of the wedged target: no other campaign starts in this boot. */
static bool reboot_requested;
/* Runs taken up at start: their campaigns are not started a second time. */
static struct runner_recovered recovered;

static void on_signal(int sig)
{
	stop_requested = 1;
}

static void notify_status(const char *fmt, ...) _printf_(1, 2);
static void notify_status(const char *fmt, ...)
{
#ifdef HAVE_LIBSYSTEMD
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
#else
	(void)fmt;
#endif
}

/*
 * The systemd watchdog. We ping only from places that prove progress: every turn of the
 * idle loop (1 s) and, during a campaign, the runner's progress callback after every cycle.
 * The main thread never blocks on a hung sysfs write (actions run in isolated threads with
 * a deadline), so a cycle ends within a bound computed from the campaign: per group its
 * largest offset (and sleep) plus action-timeout plus its wait-bound timeouts, then the
 * deadline and settle. When that bound does not fit in half the watchdog period, the period
 * is raised with WATCHDOG_USEC= for the campaign and restored afterwards; so a cycle that
 * overruns its own bound (main thread stuck in the kernel) still trips the watchdog.
 */
#define WATCHDOG_SLACK_US (10 * USEC_PER_SEC) /* markers, collectors, storing the cycle */
static uint64_t watchdog_usec;		      /* from WATCHDOG_USEC=, 0 = no watchdog */
static int64_t watchdog_last_ns;

static void watchdog_ping(void)
{
#ifdef HAVE_LIBSYSTEMD
	int64_t now = now_ns();

	if (watchdog_usec == 0 ||
	    now - watchdog_last_ns < (int64_t)(watchdog_usec / 2) * NSEC_PER_USEC)
		return;
	sd_notify(0, "WATCHDOG=1");
	watchdog_last_ns = now;
#endif
}

#ifdef HAVE_LIBSYSTEMD
static int64_t campaign_cycle_bound_us(const struct conf *conf,
				       const struct conf_campaign *camp)
{
	const struct conf_scenario *scen = conf_scenario_find(conf, camp->scenario);
	int64_t sweep_max = camp->sweep_to_us > camp->sweep_from_us ? camp->sweep_to_us
								    : camp->sweep_from_us;
	int64_t t = camp->deadline_us + camp->settle_us + WATCHDOG_SLACK_US;

	for (size_t g = 0; scen && g < scen->n_groups; g++) {
		int64_t max_off = 0;

		for (size_t i = 0; i < scen->groups[g].n_steps; i++) {
			const struct conf_step *st = &scen->groups[g].steps[i];
			int64_t off = st->offset_is_sweep ? sweep_max : st->offset_us;

			if (st->verb == STEP_WAIT_BOUND) {
				t += st->timeout_us > 0 ? st->timeout_us
							: camp->deadline_us;
				continue;
			}
			if (st->verb == STEP_SLEEP)
				off += st->timeout_us;
			if (off > max_off)
				max_off = off;
		}
		t += max_off + camp->action_timeout_us;
	}
	return t;
}
#endif

/* Raises the watchdog period for a campaign whose cycles may outlast half of it (true if
 * it did); watchdog_restore() puts the configured period back. */
static bool watchdog_fit_campaign(const struct conf *conf, const char *name)
{
#ifdef HAVE_LIBSYSTEMD
	const struct conf_campaign *camp = conf_campaign_find(conf, name);
	int64_t need;

	if (watchdog_usec == 0 || !camp)
		return false;
	need = 2 * campaign_cycle_bound_us(conf, camp);
	if (need <= (int64_t)watchdog_usec)
		return false;
	log_info(
		"campaign %s: a cycle may take up to %lld s, watchdog period raised to %lld s",
		name, (long long)(need / 2 / USEC_PER_SEC),
		(long long)(need / USEC_PER_SEC));
	sd_notifyf(0, "WATCHDOG=1\nWATCHDOG_USEC=%lld", (long long)need);
	watchdog_last_ns = now_ns();
	return true;
#else
	return false;
#endif
}

static void watchdog_restore(void)
{
#ifdef HAVE_LIBSYSTEMD
	sd_notifyf(0, "WATCHDOG=1\nWATCHDOG_USEC=%llu",
		   (unsigned long long)watchdog_usec);
	watchdog_last_ns = now_ns();
#endif
}

static void on_progress(const struct runner_progress *p, void *userdata)
{
	watchdog_ping();
}

static int parse_argv(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ "campaign", required_argument, NULL, 'C' },
		{ "stream", required_argument, NULL, 's' },
		{ "label", required_argument, NULL, 'l' },
		{ "patches", required_argument, NULL, 'p' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "once", no_argument, NULL, '1' },
		{ "listen", required_argument, NULL, 'L' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "web-root", required_argument, NULL, 'W' },
		{ "max-body", required_argument, NULL, 'B' },
		{ "max-connections", required_argument, NULL, 'M' },
		{ "max-connections-per-ip", required_argument, NULL, 'I' },
		{ "no-api", no_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:d:C:s:l:p:n1vhL:P:W:B:M:I:N", opts,
				NULL)) >= 0) {
		switch (c) {
		case 'c': arg_config = optarg; break;
		case 'd': arg_database = optarg; break;
		case 'C':
			if (arg_n_campaigns >= ARRAY_SIZE(arg_campaigns))
				return log_error_errno(E2BIG,
						       "too many --campaign options");
			arg_campaigns[arg_n_campaigns++] = optarg;
			break;
		case 's': arg_stream = optarg; break;
		case 'l': arg_label = optarg; break;
		case 'p': arg_patches = optarg; break;
		case 'n': arg_check = true; break;
		case '1': arg_once = true; break;
		case 'L': arg_listen = optarg; break;
		case 'P': arg_port_file = optarg; break;
		case 'W': arg_web_root = optarg; break;
		case 'B':
			if (parse_int64(optarg, 1, INT64_MAX, &arg_max_body) < 0)
				return log_error_errno(
					EINVAL, "--max-body: '%s' is not a size in bytes",
					optarg);
			break;
		case 'M':
			if (parse_int64(optarg, 1, 65536, &arg_max_connections) < 0)
				return log_error_errno(
					EINVAL,
					"--max-connections: '%s' is not in 1..65536",
					optarg);
			break;
		case 'I':
			if (parse_int64(optarg, 1, 65536, &arg_max_connections_per_ip) <
			    0)
				return log_error_errno(
					EINVAL,
					"--max-connections-per-ip: '%s' is not in 1..65536",
					optarg);
			break;
		case 'N': arg_no_api = true; break;
		case 'v': log_set_max_level(LOG_DEBUG); break;
		case 'h':
			printf("Usage: probestormd [--config FILE] [--check-config] [--database FILE]\n"
			       "                   [--campaign NAME]... [--once] [--stream FILE]\n"
			       "                   [--label LABEL] [--patches LIST]\n"
			       "                   [--listen HOST:PORT] [--port-file FILE] [--no-api]\n"
			       "                   [--web-root DIR] [--max-body BYTES]\n"
			       "                   [--max-connections N] [--max-connections-per-ip N]\n");
			exit(0);
		default: return -EINVAL;
		}
	}
	return 0;
}

static int run_campaign(const struct conf *conf, struct db *db, FILE *stream,
			const char *name)
{
	_cleanup_free_ char *err = NULL;
	struct runner_opts o = {
		.label = arg_label,
		.patches = arg_patches,
		.db = db,
		.stream = stream,
		.stop = &stop_requested,
		.progress = on_progress,
	};
	char uuid[37] = "";
	bool raised;
	int r;

	/* a run (the API's too) asked for a reboot of the machine */
	if (reboot_requested || runner_reboot_requested_ns() > 0)
		return 0;
	/* A restart that resumed this campaign's run must not start a second one. */
	for (size_t i = 0; i < recovered.n; i++)
		if (streq(recovered.campaigns[i], name)) {
			log_info(
				"campaign %s: its run was taken up at start, not started again",
				name);
			return 0;
		}
	/* One campaign at a time: the API may have started one. */
	if (!api_campaign_claim(api_server, name)) {
		log_warning("campaign %s: another campaign is running, skipped", name);
		return -EBUSY;
	}
	notify_status("running campaign %s", name);
	raised = watchdog_fit_campaign(conf, name);
	r = runner_run(conf, name, &o, uuid, &err);
	if (raised)
		watchdog_restore();
	if (r < 0)
		log_error("campaign %s: %s", name, err ? err : strerror(-r));
	else if (r == RUNNER_REBOOT) {
		log_notice("campaign %s: run %s waits for the reboot", name, uuid);
		reboot_requested = true;
		r = 0;
	} else
		log_info("campaign %s: run %s done", name, uuid);
	api_campaign_release(api_server, uuid, r);
	push_kick(pusher);
	notify_status("idle");
	return r;
}

/* Seconds until the next HH:MM local time, or -1 when the schedule is not daily. */
static long seconds_until_daily(const char *schedule)
{
	unsigned hh, mm;
	time_t now = time(NULL), t;
	struct tm tm;

	if (!schedule || sscanf(schedule, "daily %u:%u", &hh, &mm) != 2 || hh > 23 ||
	    mm > 59)
		return -1;
	localtime_r(&now, &tm);
	tm.tm_hour = (int)hh;
	tm.tm_min = (int)mm;
	tm.tm_sec = 0;
	t = mktime(&tm);
	if (t <= now)
		t += 24 * 3600;
	return (long)(t - now);
}

/* The HTTP API on the socket systemd passed, else on --listen / [daemon] listen. The bound
 * port goes to --port-file, written whole and then renamed so that a reader (a test that
 * listens on port 0) never sees half of it. */
static int start_api(const struct conf *conf, const char *db_path)
{
	const char *listen = arg_listen ? arg_listen
			     : conf->daemon.listen && *conf->daemon.listen
				     ? conf->daemon.listen
				     : "127.0.0.1:8080";
	struct api_opts o = {
		.listen = listen,
		.listen_fd = -1,
		.database = db_path,
		.web_root = arg_web_root,
		.conf = conf,
		.label = arg_label,
		.patches = arg_patches,
		.max_body = (size_t)arg_max_body,
		.max_connections = (unsigned)arg_max_connections,
		.max_connections_per_ip = (unsigned)arg_max_connections_per_ip,
	};
	_cleanup_free_ char *tmp = NULL;
	FILE *f;
	int r;

	if (arg_no_api || (arg_once && !arg_listen))
		return 0;
#ifdef HAVE_LIBSYSTEMD
	r = sd_listen_fds(1);
	if (r < 0)
		return log_error_errno(r, "Failed to get the sockets passed by systemd");
	if (r > 1)
		return log_error_errno(EINVAL, "systemd passed %d sockets, expected one",
				       r);
	if (r == 1)
		o.listen_fd = SD_LISTEN_FDS_START;
#endif
	r = api_start(&o, &api_server);
	if (r < 0)
		return r;
	if (o.listen_fd >= 0)
		log_info("HTTP API on the socket passed by systemd (port %u)",
			 api_port(api_server));
	else
		log_info("HTTP API on %s (port %u)", listen, api_port(api_server));
	if (!arg_port_file)
		return 0;
	tmp = strprintf("%s.tmp", arg_port_file);
	if (!tmp)
		return log_oom();
	f = fopen(tmp, "we");
	if (!f)
		return log_error_errno(errno, "Failed to create '%s'", tmp);
	fprintf(f, "%u\n", api_port(api_server));
	if (fclose(f) != 0 || rename(tmp, arg_port_file) < 0)
		return log_error_errno(errno, "Failed to write '%s'", arg_port_file);
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *dropins = NULL;
	struct conf *conf = NULL;
	struct db *db = NULL;
	FILE *stream = NULL;
	const char *slash, *db_path;
	int r, ret = 1;

	log_setup("probestormd",
		  getenv("JOURNAL_STREAM") ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR,
		  LOG_INFO);
	if (parse_argv(argc, argv) < 0)
		return 2;

	slash = strrchr(arg_config, '/');
	dropins = slash ? strprintf("%.*s/conf.d", (int)(slash - arg_config), arg_config)
			: strdup("conf.d");
	r = conf_load(arg_config, dropins, &conf, &err);
	if (r < 0) {
		log_error("%s", err ? err : "cannot load configuration");
		return 2;
	}
	if (conf->daemon.token_emptied_at && !conf->daemon.token)
		log_warning(
			"%s: [daemon] token is empty: ingest (POST /api/v1/bundles and /api/v1/campaigns) is off",
			conf->daemon.token_emptied_at);
	if (arg_check) {
		r = conf_check_files(conf, &err);
		if (r < 0) {
			log_error("%s: %s", arg_config, err ? err : strerror(-r));
			conf_free(conf);
			return 2;
		}
		printf("%s: ok (%zu targets, %zu devices, %zu scenarios, %zu campaigns)\n",
		       arg_config, conf->n_targets, conf->n_devices, conf->n_scenarios,
		       conf->n_campaigns);
		conf_free(conf);
		return 0;
	}
	for (size_t i = 0; i < arg_n_campaigns; i++)
		if (!conf_campaign_find(conf, arg_campaigns[i])) {
			log_error("no campaign '%s' in '%s'", arg_campaigns[i],
				  arg_config);
			goto out;
		}

	{
		const char *path = arg_database		   ? arg_database
				   : conf->daemon.database ? conf->daemon.database
							   : LOCALSTATEDIR
					   "/lib/probestorm/probestorm.db";
		r = db_open(path, 0, &db);
		if (r < 0) {
			log_error_errno(r, "Failed to open database '%s'", path);
			goto out;
		}
		db_set_crash_safe(db, conf->daemon.crash_safe);
		db_path = path;
	}
	if (arg_stream || conf->daemon.stream) {
		const char *s = arg_stream ? arg_stream : conf->daemon.stream;
		stream = fopen(s, "we");
		if (!stream) {
			log_error_errno(errno, "Failed to open stream '%s'", s);
			goto out;
		}
	}
	if (start_api(conf, db_path) < 0)
		goto out;
	if (conf->push.url) {
		struct push_opts po = { .conf = &conf->push, .database = db_path };

		if (push_start(&po, &pusher) < 0)
			goto out;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
#ifdef HAVE_LIBSYSTEMD
	if (sd_watchdog_enabled(0, &watchdog_usec) <= 0)
		watchdog_usec = 0;
	sd_notify(0, "READY=1\nSTATUS=started");
#endif
	watchdog_ping();
	ret = 0;
	/* Runs left "running" by the previous boot: a reboot step, or the target died. */
	if (!stop_requested && api_campaign_claim(api_server, "recovery")) {
		struct runner_opts ro = {
			.label = arg_label,
			.patches = arg_patches,
			.db = db,
			.stream = stream,
			.stop = &stop_requested,
			.progress = on_progress,
		};
		int k;

		notify_status("taking up runs of the previous boot");
		k = runner_recover(conf, &ro, &recovered);
		if (k > 0)
			log_info("took up %d run(s) of the previous boot", k);
		if (recovered.rebooting)
			reboot_requested = true;
		api_campaign_release(api_server, "", k < 0 ? k : 0);
		notify_status("idle");
	}
	if (arg_n_campaigns > 0) {
		for (size_t i = 0; i < arg_n_campaigns && !stop_requested; i++)
			if (run_campaign(conf, db, stream, arg_campaigns[i]) < 0)
				ret = 1;
	} else if (conf->daemon.autostart) {
		for (char **p = conf->daemon.autostart; *p && !stop_requested; p++)
			if (run_campaign(conf, db, stream, *p) < 0)
				ret = 1;
	}
	if (reboot_requested)
		notify_status("waiting for the reboot of the wedged target");
	if (!arg_once && !stop_requested) {
		for (size_t i = 0; i < conf->n_campaigns && !stop_requested; i++)
			if (conf->campaigns[i].schedule &&
			    streq(conf->campaigns[i].schedule, "boot"))
				run_campaign(conf, db, stream, conf->campaigns[i].name);
		while (!stop_requested) {
			const struct conf_campaign *next = NULL;
			long wait = 24 * 3600;

			for (size_t i = 0; i < conf->n_campaigns; i++) {
				long s = seconds_until_daily(conf->campaigns[i].schedule);
				if (s >= 0 && s < wait) {
					wait = s;
					next = &conf->campaigns[i];
				}
			}
			/* while a reboot is awaited the status says so */
			if (next && !reboot_requested)
				notify_status("idle, next campaign %s in %ld s",
					      next->name, wait);
			else if (!reboot_requested)
				notify_status("idle");
			while (wait-- > 0 && !stop_requested) {
				watchdog_ping();
				/* reboot(2) when the asked-for reboot does not come */
				(void)runner_reboot_check(conf);
				sleep(1);
			}
			if (next && !stop_requested)
				run_campaign(conf, db, stream, next->name);
		}
	}
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "STOPPING=1");
#endif
out:
	runner_recovered_done(&recovered);
	push_stop(pusher);
	api_stop(api_server);
	if (stream)
		fclose(stream);
	db_close(db);
	conf_free(conf);
	return ret;
}
