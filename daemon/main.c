/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestormd: the daemon. Modules are set up in dependency order and torn down in reverse:
 *   log -> config -> database -> stream -> push -> scheduler -> HTTP API -> (systemd
 *   notify) -> recovery, campaigns, scheduler loop
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "scheduler.h"
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

/* The modules, in the order main() sets them up. */
static struct conf *conf;
static const char *db_path;
static struct db *db;
static FILE *stream;
static struct push *pusher;
static struct scheduler *scheduler;
static struct api *api_server;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
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

/* The HTTP API on the socket systemd passed, else on --listen / [daemon] listen. The bound
 * port goes to --port-file, written whole and then renamed so that a reader (a test that
 * listens on port 0) never sees half of it. */
static int start_api(void)
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
		.scheduler = scheduler,
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

/* Loads the configuration and its drop-ins: 0, 1 when --check-config is done, or a
 * negative errno (logged). */
static int load_config(void)
{
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *dropins = NULL;
	const char *slash = strrchr(arg_config, '/');
	int r;

	dropins = slash ? strprintf("%.*s/conf.d", (int)(slash - arg_config), arg_config)
			: strdup("conf.d");
	r = conf_load(arg_config, dropins, &conf, &err);
	if (r < 0) {
		log_error("%s", err ? err : "cannot load configuration");
		return r;
	}
	if (conf->daemon.token_emptied_at && !conf->daemon.token)
		log_warning(
			"%s: [daemon] token is empty: ingest (POST /api/v1/bundles and /api/v1/campaigns) is off",
			conf->daemon.token_emptied_at);
	if (!arg_check)
		return 0;
	r = conf_check_files(conf, &err);
	if (r < 0) {
		log_error("%s: %s", arg_config, err ? err : strerror(-r));
		return r;
	}
	printf("%s: ok (%zu targets, %zu devices, %zu scenarios, %zu campaigns)\n",
	       arg_config, conf->n_targets, conf->n_devices, conf->n_scenarios,
	       conf->n_campaigns);
	return 1;
}

static int check_campaigns(void)
{
	for (size_t i = 0; i < arg_n_campaigns; i++)
		if (!conf_campaign_find(conf, arg_campaigns[i])) {
			log_error("no campaign '%s' in '%s'", arg_campaigns[i],
				  arg_config);
			return -ENOENT;
		}
	return 0;
}

static int open_database(void)
{
	int r;

	db_path = arg_database		  ? arg_database
		  : conf->daemon.database ? conf->daemon.database
					  : LOCALSTATEDIR "/lib/probestorm/probestorm.db";
	r = db_open(db_path, 0, &db);
	if (r < 0)
		return log_error_errno(r, "Failed to open database '%s'", db_path);
	db_set_crash_safe(db, conf->daemon.crash_safe);
	return 0;
}

static int open_stream(void)
{
	const char *s = arg_stream ? arg_stream : conf->daemon.stream;

	if (!s)
		return 0;
	stream = fopen(s, "we");
	if (!stream)
		return log_error_errno(errno, "Failed to open stream '%s'", s);
	return 0;
}

static int start_push(void)
{
	struct push_opts po = { .conf = &conf->push, .database = db_path };

	return conf->push.url ? push_start(&po, &pusher) : 0;
}

static int start_scheduler(void)
{
	struct scheduler_opts so = {
		.conf = conf,
		.db = db,
		.stream = stream,
		.label = arg_label,
		.patches = arg_patches,
		.push = pusher,
		.stop = &stop_requested,
	};
	int r = scheduler_new(&so, &scheduler);

	if (r < 0)
		return log_error_errno(r, "Failed to set up the scheduler");
	return 0;
}

/* Takes up the runs the previous boot left "running" (a reboot step, or the target
 * died), runs the named or autostart campaigns, then (without --once) the schedules until
 * SIGTERM. Returns the exit status: 1 when a named or autostart campaign failed. */
static int run_campaigns(void)
{
	int ret = 0;

	scheduler_recover(scheduler);
	if (arg_n_campaigns > 0) {
		for (size_t i = 0; i < arg_n_campaigns && !stop_requested; i++)
			if (scheduler_run(scheduler, arg_campaigns[i]) < 0)
				ret = 1;
	} else if (conf->daemon.autostart) {
		for (char **p = conf->daemon.autostart; *p && !stop_requested; p++)
			if (scheduler_run(scheduler, *p) < 0)
				ret = 1;
	}
#ifdef HAVE_LIBSYSTEMD
	if (scheduler_reboot_requested(scheduler))
		sd_notify(0, "STATUS=waiting for the reboot of the wedged target");
#endif
	if (!arg_once)
		scheduler_loop(scheduler);
	return ret;
}

int main(int argc, char **argv)
{
	int r, ret = 1;

	log_setup("probestormd",
		  getenv("JOURNAL_STREAM") ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR,
		  LOG_INFO);
	if (parse_argv(argc, argv) < 0)
		return 2;
	r = load_config();
	if (r != 0) {
		conf_free(conf);
		return r < 0 ? 2 : 0;
	}
	if (check_campaigns() < 0 || open_database() < 0 || open_stream() < 0 ||
	    start_push() < 0 || start_scheduler() < 0 || start_api() < 0)
		goto out;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "READY=1\nSTATUS=started");
#endif
	scheduler_watchdog_ping(scheduler);
	ret = run_campaigns();
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "STOPPING=1");
#endif
out:
	api_stop(api_server);
	scheduler_free(scheduler);
	push_stop(pusher);
	if (stream)
		fclose(stream);
	db_close(db);
	conf_free(conf);
	return ret;
}
