/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scheduling arithmetic of probestormd (daemon/main.c), included chrony style with
 * main() renamed and time() faked: when the next daily run starts ("schedule = daily
 * HH:MM", local time), and how long one cycle of a campaign may take at most, which is
 * what the systemd watchdog period is raised to fit.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

int probestormd_main(int argc, char **argv);

static time_t fake_now;
static time_t fake_time(time_t *t)
{
	if (t)
		*t = fake_now;
	return fake_now;
}

#define main(...) probestormd_main(__VA_ARGS__)
#define time(t)	  fake_time(t)
#include "main.c"
#undef time
#undef main

/* 2026-12-05 in UTC (TZ is set to UTC in main()) at hh:mm:ss */
static time_t at(int hh, int mm, int ss)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 5 };

	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	return timegm(&tm);
}

static void test_daily(void **state)
{
	fake_now = at(2, 0, 0);
	assert_int_equal(seconds_until_daily("daily 03:00"), 3600);
	assert_int_equal(seconds_until_daily("daily 3:5"), 3600 + 300);
	/* the time of day passed, or is now: tomorrow's */
	assert_int_equal(seconds_until_daily("daily 02:00"), 24 * 3600);
	assert_int_equal(seconds_until_daily("daily 01:59"), 24 * 3600 - 60);
	fake_now = at(23, 59, 59);
	assert_int_equal(seconds_until_daily("daily 00:00"), 1);
	/* not a daily schedule, or out of range */
	assert_int_equal(seconds_until_daily(NULL), -1);
	assert_int_equal(seconds_until_daily("weekly 03:00"), -1);
	assert_int_equal(seconds_until_daily("daily 24:00"), -1);
	assert_int_equal(seconds_until_daily("daily 03:60"), -1);
	assert_int_equal(seconds_until_daily("daily 03"), -1);
}

#ifdef HAVE_LIBSYSTEMD
static const char conf_text[] = "[target guest]\n"
				"kind = local\n"
				"[consumer decon]\n"
				"driver = ps-decon\n"
				"[scenario s]\n"
				"step = unbind decon\n"
				"step = bind decon @${offset}\n"
				"step = sleep 300ms\n"
				"[scenario w]\n"
				"step = unbind decon\n"
				"step = bind decon\n"
				"step = wait-bound decon 4s\n"
				"[campaign c]\n"
				"target = guest\n"
				"scenario = s\n"
				"cycles = 1\n"
				"sweep = offset 0 2ms 3\n"
				"deadline = 1s\n"
				"settle = 500ms\n"
				"action-timeout = 2s\n"
				"[campaign d]\n"
				"target = guest\n"
				"scenario = w\n"
				"cycles = 1\n"
				"deadline = 1s\n"
				"action-timeout = 2s\n";

/* Deadline, settle and slack once; every step's offset (the sweep's largest for
 * @${offset}) and a sleep's length; a wait-bound its own timeout; and the action timeout
 * for every step group (a wait-bound's too: a bound, not an estimate). */
static void test_cycle_bound(void **state)
{
	struct conf *conf = NULL;
	const int64_t s = USEC_PER_SEC, ms = USEC_PER_SEC / 1000;

	assert_int_equal(conf_load_string("t.conf", conf_text, &conf, NULL), 0);
	assert_int_equal(campaign_cycle_bound_us(conf, conf_campaign_find(conf, "c")),
			 1 * s + 500 * ms + WATCHDOG_SLACK_US + (0 + 2 * s) +
				 (2 * ms + 2 * s) + (300 * ms + 2 * s));
	assert_int_equal(campaign_cycle_bound_us(conf, conf_campaign_find(conf, "d")),
			 1 * s + WATCHDOG_SLACK_US + 3 * (2 * s) + 4 * s);
	conf_free(conf);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily),
#ifdef HAVE_LIBSYSTEMD
		cmocka_unit_test(test_cycle_bound),
#endif
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
