/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The run a thread logs for (log_set_run(): PROBESTORM_RUN= of its journal entries) is the
 * thread's own: the API's campaign thread and the main loop must not tag each other's lines.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"
#include "util.h"

#define RUN_A "0b9e6f0e-3c55-4a43-9f57-0d5b1f4a8a11"
#define RUN_B "6a4c1d2e-8f90-4b7a-a1c3-2e5d7f9b0c22"

static void *other_thread(void *userdata)
{
	const char *seen = log_get_run();

	/* a new thread logs for no run until it says so */
	*(int *)userdata = seen == NULL;
	log_set_run(RUN_B);
	return NULL;
}

static void test_run_per_thread(void **state)
{
	pthread_t t;
	int clean = 0;

	assert_null(log_get_run());
	log_set_run(RUN_A);
	assert_string_equal(log_get_run(), RUN_A);
	assert_int_equal(pthread_create(&t, NULL, other_thread, &clean), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(clean);
	/* the other thread's run did not leak into this one */
	assert_string_equal(log_get_run(), RUN_A);
	log_set_run(NULL);
	assert_null(log_get_run());
	log_set_run("");
	assert_null(log_get_run());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_per_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
