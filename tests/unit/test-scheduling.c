/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scheduler of probestormd (daemon/scheduler.c), included chrony style with the
 * runner and the push thread faked: when the next daily run starts ("schedule = daily
 * HH:MM", local time), how long one cycle of a campaign may take at most (what the
 * systemd watchdog period is raised to fit), and the one-campaign lock, which holds with
 * no HTTP API at all: a second start while a campaign runs is refused, whoever asks.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#define runner_run	 fake_runner_run
#define runner_preflight fake_runner_preflight
#define runner_recover	 fake_runner_recover
#define push_kick	 fake_push_kick
#include "scheduler.c"
#undef runner_run
#undef runner_preflight
#undef runner_recover
#undef push_kick

/* The fake runner: a run blocks until the test lets it go or the stop flag is set. */
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cond = PTHREAD_COND_INITIALIZER;
static int fake_runs_started, fake_runs_ended, fake_kicks;
static bool fake_let_go;
static int fake_preflight_result;
static const char *fake_recovered_campaign;

int fake_runner_run(const struct conf *conf, const char *campaign,
		    const struct runner_opts *o, char ret_uuid[37], char **ret_error)
{
	pthread_mutex_lock(&fake_lock);
	snprintf(ret_uuid, 37, "00000000-0000-4000-8000-%012d", ++fake_runs_started);
	pthread_cond_broadcast(&fake_cond);
	while (!fake_let_go && !*o->stop) {
		struct timespec ts;

		/* the stop flag is set without the lock, as a signal handler sets it */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&fake_cond, &fake_lock, &ts);
	}
	fake_runs_ended++;
	pthread_cond_broadcast(&fake_cond);
	pthread_mutex_unlock(&fake_lock);
	return 0;
}

int fake_runner_preflight(const struct conf *conf, const char *campaign, char **ret_error)
{
	if (fake_preflight_result < 0)
		*ret_error = strprintf(
			"cannot write '/sys/bus/platform/drivers/ps-decon/bind'");
	return fake_preflight_result;
}

int fake_runner_recover(const struct conf *conf, const struct runner_opts *base,
			struct runner_recovered *ret)
{
	if (!fake_recovered_campaign)
		return 0;
	ret->campaigns[ret->n++] = strdup(fake_recovered_campaign);
	return 1;
}

void fake_push_kick(struct push *p)
{
	pthread_mutex_lock(&fake_lock);
	fake_kicks++;
	pthread_cond_broadcast(&fake_cond);
	pthread_mutex_unlock(&fake_lock);
}

static void fake_wait(int *counter, int value)
{
	pthread_mutex_lock(&fake_lock);
	while (*counter < value)
		pthread_cond_wait(&fake_cond, &fake_lock);
	pthread_mutex_unlock(&fake_lock);
}

static void fake_reset(void)
{
	fake_runs_started = fake_runs_ended = fake_kicks = 0;
	fake_let_go = false;
	fake_preflight_result = 0;
	fake_recovered_campaign = NULL;
}

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
	time_t now = at(2, 0, 0);

	assert_int_equal(scheduler_daily_wait_s("daily 03:00", now), 3600);
	assert_int_equal(scheduler_daily_wait_s("daily 3:5", now), 3600 + 300);
	/* the time of day passed, or is now: tomorrow's */
	assert_int_equal(scheduler_daily_wait_s("daily 02:00", now), 24 * 3600);
	assert_int_equal(scheduler_daily_wait_s("daily 01:59", now), 24 * 3600 - 60);
	now = at(23, 59, 59);
	assert_int_equal(scheduler_daily_wait_s("daily 00:00", now), 1);
	/* not a daily schedule, or out of range */
	assert_int_equal(scheduler_daily_wait_s(NULL, now), -1);
	assert_int_equal(scheduler_daily_wait_s("weekly 03:00", now), -1);
	assert_int_equal(scheduler_daily_wait_s("daily 24:00", now), -1);
	assert_int_equal(scheduler_daily_wait_s("daily 03:60", now), -1);
	assert_int_equal(scheduler_daily_wait_s("daily 03", now), -1);
}

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
	assert_int_equal(scheduler_cycle_bound_us(conf, conf_campaign_find(conf, "c")),
			 1 * s + 500 * ms + SCHEDULER_CYCLE_SLACK_US + (0 + 2 * s) +
				 (2 * ms + 2 * s) + (300 * ms + 2 * s));
	assert_int_equal(scheduler_cycle_bound_us(conf, conf_campaign_find(conf, "d")),
			 1 * s + SCHEDULER_CYCLE_SLACK_US + 3 * (2 * s) + 4 * s);
	conf_free(conf);
}

static struct scheduler *new_scheduler(struct conf **conf)
{
	struct scheduler_opts o = {};
	struct scheduler *s = NULL;

	fake_reset();
	assert_int_equal(conf_load_string("t.conf", conf_text, conf, NULL), 0);
	o.conf = *conf;
	assert_int_equal(scheduler_new(&o, &s), 0);
	return s;
}

/* No HTTP API anywhere: while a campaign runs on the campaign thread, a second start is
 * refused whether it is asked for (scheduler_start) or the daemon starts it itself
 * (scheduler_run, the autostart list and the schedules), and so is recovery; once it
 * ended, the next one starts, and the push thread was kicked after each. */
static void test_one_campaign(void **state)
{
	struct conf *conf = NULL;
	struct scheduler *s = new_scheduler(&conf);
	struct scheduler_status st;
	char *err = NULL;

	assert_int_equal(scheduler_start(s, "c", &err), 0);
	assert_null(err);
	fake_wait(&fake_runs_started, 1);

	assert_int_equal(scheduler_start(s, "d", &err), -EBUSY);
	assert_string_equal(err, "campaign 'c' is running");
	free(err);
	err = NULL;
	assert_int_equal(scheduler_start(s, "c", &err), -EBUSY);
	free(err);
	err = NULL;
	assert_int_equal(scheduler_run(s, "d"), -EBUSY);
	assert_int_equal(scheduler_recover(s), -EBUSY);
	assert_int_equal(fake_runs_started, 1);

	assert_int_equal(scheduler_status(s, &st), 0);
	assert_true(st.running);
	assert_string_equal(st.name, "c");
	assert_null(st.last_name);
	scheduler_status_done(&st);

	pthread_mutex_lock(&fake_lock);
	fake_let_go = true;
	pthread_cond_broadcast(&fake_cond);
	pthread_mutex_unlock(&fake_lock);
	fake_wait(&fake_kicks, 1);
	/* the claim is released last: wait for it */
	for (;;) {
		assert_int_equal(scheduler_status(s, &st), 0);
		if (!st.running)
			break;
		scheduler_status_done(&st);
		usleep(1000);
	}
	assert_string_equal(st.last_name, "c");
	assert_string_equal(st.last_uuid, "00000000-0000-4000-8000-000000000001");
	assert_int_equal(st.last_result, 0);
	scheduler_status_done(&st);

	/* free again: the daemon's own start runs on the calling thread */
	assert_int_equal(scheduler_run(s, "d"), 0);
	assert_int_equal(fake_runs_ended, 2);
	assert_int_equal(fake_kicks, 2);
	assert_int_equal(scheduler_start(s, "c", &err), 0);
	fake_wait(&fake_runs_ended, 3);
	scheduler_free(s);
	assert_int_equal(fake_kicks, 3);
	conf_free(conf);
}

/* What the API maps to 404 and to 409 "preflight failed"; neither keeps the lock. */
static void test_start_refused(void **state)
{
	struct conf *conf = NULL;
	struct scheduler *s = new_scheduler(&conf);
	char *err = NULL;

	assert_int_equal(scheduler_start(s, "no-such-campaign", &err), -ENOENT);
	assert_null(err);
	fake_preflight_result = -EACCES;
	assert_int_equal(scheduler_start(s, "c", &err), -ENOEXEC);
	assert_string_equal(err,
			    "cannot write '/sys/bus/platform/drivers/ps-decon/bind'");
	free(err);
	fake_preflight_result = 0;
	fake_let_go = true;
	assert_int_equal(scheduler_run(s, "c"), 0);
	assert_int_equal(fake_runs_started, 1);
	scheduler_free(s);
	conf_free(conf);
}

/* Stopping (SIGTERM, teardown) reaches the campaign on the campaign thread. */
static void test_stop(void **state)
{
	struct conf *conf = NULL;
	struct scheduler *s = new_scheduler(&conf);

	assert_int_equal(scheduler_start(s, "c", NULL), 0);
	fake_wait(&fake_runs_started, 1);
	scheduler_free(s);
	assert_int_equal(fake_runs_ended, 1);
	conf_free(conf);
}

/* A campaign whose run was taken up at start is not started again by the daemon. */
static void test_recovered(void **state)
{
	struct conf *conf = NULL;
	struct scheduler *s = new_scheduler(&conf);

	fake_recovered_campaign = "c";
	fake_let_go = true;
	assert_int_equal(scheduler_recover(s), 1);
	assert_int_equal(scheduler_run(s, "c"), 0);
	assert_int_equal(fake_runs_started, 0);
	assert_int_equal(scheduler_run(s, "d"), 0);
	assert_int_equal(fake_runs_started, 1);
	scheduler_free(s);
	conf_free(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily),	     cmocka_unit_test(test_cycle_bound),
		cmocka_unit_test(test_one_campaign), cmocka_unit_test(test_start_refused),
		cmocka_unit_test(test_stop),	     cmocka_unit_test(test_recovered),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
