/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cycle a target died in (classify/death.c), as the QEMU host and the rig daemon both
 * build it: crash and hang, one observation per consumer with the cycle's outcome, the
 * sweep value (or none), the in-flight action copied and marked hung, the note for a
 * single action and for a concurrent group, and the inputs it refuses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "death.h"

static const struct action_record bind_decon = {
	.idx = 2,
	.group = -1,
	.verb = STEP_BIND,
	.arg = (char *)"decon",
	.offset_us = 40,
	.planned_ns = 5000,
	.start_ns = 7000,
	.end_ns = 9000,
};

static void test_crash(void **state)
{
	struct death d = {
		.seq = 12,
		.boot = 3,
		.how = OUTCOME_CRASH,
		.has_sweep = true,
		.sweep_value = 40000,
		.action = &bind_decon,
		.consumers = "decon decon-ctl",
		.cause = "Kernel panic - not syncing: Oops: Fatal exception",
	};
	struct cycle_record c;

	(void)state;
	assert_int_equal(death_cycle_build(&d, &c), 0);
	assert_int_equal(c.seq, 12);
	assert_int_equal(c.boot, 3);
	assert_int_equal(c.outcome, OUTCOME_CRASH);
	assert_true(c.has_sweep);
	assert_int_equal(c.sweep_value, 40000);
	/* no latency: the cycle ends where the action that never returned began */
	assert_int_equal(c.start_ns, 7000);
	assert_int_equal(c.end_ns, 7000);
	assert_string_equal(c.note, "target died during 'bind decon' (boot 3): "
				    "Kernel panic - not syncing: Oops: Fatal exception");

	assert_int_equal(c.n_actions, 1);
	assert_int_equal(c.actions[0].idx, 2);
	assert_int_equal(c.actions[0].group, -1);
	assert_int_equal(c.actions[0].verb, STEP_BIND);
	assert_string_equal(c.actions[0].arg, "decon");
	/* copied: the caller's action stays the caller's */
	assert_ptr_not_equal(c.actions[0].arg, bind_decon.arg);
	assert_null(c.actions[0].params);
	assert_int_equal(c.actions[0].offset_us, 40);
	assert_int_equal(c.actions[0].planned_ns, 5000);
	assert_int_equal(c.actions[0].start_ns, 7000);
	assert_int_equal(c.actions[0].end_ns, 0);
	assert_true(c.actions[0].hung);

	assert_int_equal(c.n_observations, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct observation *o = &c.observations[i];

		assert_string_equal(o->device, i ? "decon-ctl" : "decon");
		assert_true(o->consumer);
		assert_int_equal(o->outcome, OUTCOME_CRASH);
		assert_int_equal(o->iommu_group, -1);
		assert_int_equal(o->time_to_bound_ns, -1);
		assert_null(o->driver);
	}
	assert_int_equal(c.n_events, 0);
	cycle_record_done(&c);
}

static void test_hang_without_sweep_or_cause(void **state)
{
	struct death d = {
		.seq = 0,
		.boot = 0,
		.how = OUTCOME_HANG,
		.has_sweep = false,
		.sweep_value = 123, /* ignored without has_sweep */
		.action = &bind_decon,
		/* spaces and tabs around and between the names */
		.consumers = "  decon\t ",
		.cause = "",
	};
	struct cycle_record c;

	(void)state;
	assert_int_equal(death_cycle_build(&d, &c), 0);
	assert_int_equal(c.outcome, OUTCOME_HANG);
	assert_false(c.has_sweep);
	assert_int_equal(c.sweep_value, 0);
	assert_string_equal(c.note, "target hung during 'bind decon' (boot 0)");
	assert_int_equal(c.n_observations, 1);
	assert_string_equal(c.observations[0].device, "decon");
	assert_int_equal(c.observations[0].outcome, OUTCOME_HANG);
	cycle_record_done(&c);
}

static void test_no_consumers(void **state)
{
	struct death d = { .seq = 1, .how = OUTCOME_CRASH, .action = &bind_decon };
	struct cycle_record c;

	(void)state;
	assert_int_equal(death_cycle_build(&d, &c), 0);
	assert_int_equal(c.n_observations, 0);
	assert_null(c.observations);
	assert_string_equal(c.note, "target died during 'bind decon' (boot 0)");
	cycle_record_done(&c);
}

static void test_group_and_bare_verb(void **state)
{
	const struct action_record group = {
		.idx = 1,
		.group = 0,
		.verb = STEP_UNBIND,
		.arg = (char *)"sysmmu-a",
		.params = (char *)"unbind sysmmu-a, bind decon",
	};
	const struct action_record reboot = { .idx = 0,
					      .group = -1,
					      .verb = STEP_REBOOT };
	struct death d = {
		.seq = 4,
		.boot = 1,
		.how = OUTCOME_CRASH,
		.action = &group,
		.group = "unbind sysmmu-a, bind decon",
		.consumers = "decon",
		.cause = "Unable to handle kernel NULL pointer dereference",
	};
	struct cycle_record c;

	(void)state;
	assert_int_equal(death_cycle_build(&d, &c), 0);
	/* a crash in a group may come from any member: the note names them all */
	assert_string_equal(c.note, "target died during the concurrent group "
				    "'unbind sysmmu-a, bind decon' (boot 1): "
				    "Unable to handle kernel NULL pointer dereference");
	assert_int_equal(c.actions[0].group, 0);
	assert_string_equal(c.actions[0].params, "unbind sysmmu-a, bind decon");
	assert_ptr_not_equal(c.actions[0].params, group.params);
	cycle_record_done(&c);

	d = (struct death){ .seq = 5, .boot = 2, .how = OUTCOME_HANG, .action = &reboot };
	assert_int_equal(death_cycle_build(&d, &c), 0);
	assert_string_equal(c.note, "target hung during 'reboot' (boot 2)");
	assert_null(c.actions[0].arg);
	cycle_record_done(&c);
}

static void test_refused(void **state)
{
	struct cycle_record c = { .seq = 99 };
	struct death d = { .how = OUTCOME_OOPS,
			   .action = &bind_decon,
			   .consumers = "decon" };

	(void)state;
	/* only a crash or a hang is a death */
	assert_int_equal(death_cycle_build(&d, &c), -EINVAL);
	d.how = OUTCOME_OK;
	assert_int_equal(death_cycle_build(&d, &c), -EINVAL);
	/* a death without the action in flight names nothing */
	d.how = OUTCOME_CRASH;
	d.action = NULL;
	assert_int_equal(death_cycle_build(&d, &c), -EINVAL);
	/* *ret untouched on failure */
	assert_int_equal(c.seq, 99);
	assert_null(c.note);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_hang_without_sweep_or_cause),
		cmocka_unit_test(test_no_consumers),
		cmocka_unit_test(test_group_and_bare_verb),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
