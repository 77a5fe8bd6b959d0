/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestormd: the daemon. Modules are set up in dependency order and torn down in reverse:
 *   log -> config -> database -> (systemd notify) -> scheduler loop -> campaigns
 * It runs the campaigns named with --campaign or listed in [daemon] autostart, then those
 * with a schedule ("boot" runs once after start, "daily HH:MM" every day), until SIGTERM.
 * With --once it exits after the named/autostart campaigns (QEMU guests run it this way,
 * streaming cycles as NDJSON to the host with --stream /dev/hvc0).
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

#include "conf.h"
#include "db.h"
#include "log.h"
#include "macro.h"
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

static volatile sig_atomic_t stop_requested;

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
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:d:C:s:l:p:n1vh", opts, NULL)) >= 0) {
		switch (c) {
		case 'c': arg_config = optarg; break;
		case 'd': arg_database = optarg; break;
		case 'C':
			if (arg_n_campaigns >= ARRAY_SIZE(arg_campaigns))
				return log_error_errno(E2BIG, "too many --campaign options");
			arg_campaigns[arg_n_campaigns++] = optarg;
			break;
		case 's': arg_stream = optarg; break;
		case 'l': arg_label = optarg; break;
		case 'p': arg_patches = optarg; break;
		case 'n': arg_check = true; break;
		case '1': arg_once = true; break;
		case 'v': log_set_max_level(LOG_DEBUG); break;
		case 'h':
			printf("Usage: probestormd [--config FILE] [--check-config] [--database FILE]\n"
			       "                   [--campaign NAME]... [--once] [--stream FILE]\n"
			       "                   [--label LABEL] [--patches LIST]\n");
			exit(0);
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static int run_campaign(const struct conf *conf, struct db *db, FILE *stream, const char *name)
{
	_cleanup_free_ char *err = NULL;
	struct runner_opts o = {
		.label = arg_label, .patches = arg_patches, .db = db, .stream = stream,
		.stop = &stop_requested,
	};
	char uuid[37] = "";
	int r;

	notify_status("running campaign %s", name);
	r = runner_run(conf, name, &o, uuid, &err);
	if (r < 0)
		log_error("campaign %s: %s", name, err ? err : strerror(-r));
	else
		log_info("campaign %s: run %s done", name, uuid);
	notify_status("idle");
	return r;
}

/* Seconds until the next HH:MM local time, or -1 when the schedule is not daily. */
static long seconds_until_daily(const char *schedule)
{
	unsigned hh, mm;
	time_t now = time(NULL), t;
	struct tm tm;

	if (!schedule || sscanf(schedule, "daily %u:%u", &hh, &mm) != 2 || hh > 23 || mm > 59)
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

int main(int argc, char **argv)
{
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *dropins = NULL;
	struct conf *conf = NULL;
	struct db *db = NULL;
	FILE *stream = NULL;
	const char *slash;
	int r, ret = 1;

	log_setup("probestormd", getenv("JOURNAL_STREAM") ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR,
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
	if (arg_check) {
		printf("%s: ok (%zu targets, %zu devices, %zu scenarios, %zu campaigns)\n",
		       arg_config, conf->n_targets, conf->n_devices, conf->n_scenarios,
		       conf->n_campaigns);
		conf_free(conf);
		return 0;
	}
	for (size_t i = 0; i < arg_n_campaigns; i++)
		if (!conf_campaign_find(conf, arg_campaigns[i])) {
			log_error("no campaign '%s' in '%s'", arg_campaigns[i], arg_config);
			goto out;
		}

	{
		const char *path = arg_database ? arg_database
				 : conf->daemon.database ? conf->daemon.database
				 : LOCALSTATEDIR "/lib/probestorm/probestorm.db";
		r = db_open(path, 0, &db);
		if (r < 0) {
			log_error_errno(r, "Failed to open database '%s'", path);
			goto out;
		}
		db_set_crash_safe(db, conf->daemon.crash_safe);
	}
	if (arg_stream || conf->daemon.stream) {
		const char *s = arg_stream ? arg_stream : conf->daemon.stream;
		stream = fopen(s, "we");
		if (!stream) {
			log_error_errno(errno, "Failed to open stream '%s'", s);
			goto out;
		}
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "READY=1\nSTATUS=started");
#endif
	ret = 0;
	if (arg_n_campaigns > 0) {
		for (size_t i = 0; i < arg_n_campaigns && !stop_requested; i++)
			if (run_campaign(conf, db, stream, arg_campaigns[i]) < 0)
				ret = 1;
	} else if (conf->daemon.autostart) {
		for (char **p = conf->daemon.autostart; *p && !stop_requested; p++)
			if (run_campaign(conf, db, stream, *p) < 0)
				ret = 1;
	}
	if (!arg_once && !stop_requested) {
		for (size_t i = 0; i < conf->n_campaigns && !stop_requested; i++)
			if (conf->campaigns[i].schedule && streq(conf->campaigns[i].schedule, "boot"))
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
			if (next)
				notify_status("idle, next campaign %s in %ld s", next->name, wait);
			else
				notify_status("idle");
			while (wait-- > 0 && !stop_requested)
				sleep(1);
			if (next && !stop_requested)
				run_campaign(conf, db, stream, next->name);
		}
	}
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, "STOPPING=1");
#endif
out:
	if (stream)
		fclose(stream);
	db_close(db);
	conf_free(conf);
	return ret;
}
