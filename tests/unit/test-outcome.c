/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Outcome classification: each rule of DESIGN.md's outcome list on a hand-built cycle, the
 * severity order, per-consumer attribution (the late-probe WARN of one consumer must not
 * mark the other), and the silent-bypass check on the iommu_group type.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "outcome.h"

static const struct outcome_device devs[] = {
	{ .name = "decon",
	  .kernel_name = "decon",
	  .bus = "platform",
	  .consumer = true,
	  .expect_iommu = true,
	  .expect_domain = "identity" },
	{ .name = "decon-ctl",
	  .kernel_name = "decon-ctl",
	  .bus = "platform",
	  .consumer = true,
	  .expect_iommu = true,
	  .expect_domain = "identity" },
	{ .name = "sysmmu-a", .kernel_name = "sysmmu-a", .bus = "platform" },
};

struct fixture {
	struct cycle_record c;
};

static void add_obs(struct cycle_record *c, const char *dev, const char *driver,
		    int group, const char *type, int deferrals)
{
	c->observations = realloc(c->observations,
				  (c->n_observations + 1) * sizeof(struct observation));
	c->observations[c->n_observations++] = (struct observation){
		.device = strdup(dev),
		.consumer = strncmp(dev, "decon", 5) == 0,
		.driver = driver ? strdup(driver) : NULL,
		.iommu_group = group,
		.domain_type = type ? strdup(type) : NULL,
		.time_to_bound_ns = -1,
		.deferrals = deferrals,
	};
}

static void add_event(struct cycle_record *c, enum event_class cls, const char *dev)
{
	c->events = realloc(c->events, (c->n_events + 1) * sizeof(struct kernel_event));
	c->events[c->n_events++] = (struct kernel_event){
		.source = SOURCE_KMSG,
		.class = cls,
		.seq = (int64_t)c->n_events,
		.device = dev ? strdup(dev) : NULL,
		.message = strdup("x"),
	};
}

static void add_action(struct cycle_record *c, enum step_verb v, const char *arg, int err,
		       bool hung)
{
	c->actions =
		realloc(c->actions, (c->n_actions + 1) * sizeof(struct action_record));
	c->actions[c->n_actions] = (struct action_record){
		.idx = (int)c->n_actions,
		.group = -1,
		.verb = v,
		.arg = strdup(arg),
		.start_ns = 1,
		.end_ns = hung ? 0 : 2,
		.err = err,
		.hung = hung,
	};
	c->n_actions++;
}

static void both_bound(struct cycle_record *c)
{
	add_obs(c, "decon", "ps-decon", 0, "identity", 0);
	add_obs(c, "decon-ctl", "ps-decon", 1, "identity", 0);
	add_obs(c, "sysmmu-a", "ps-sysmmu", -1, NULL, 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	cycle_record_done(&f->c);
	free(f);
	return 0;
}

static enum outcome obs_outcome(struct cycle_record *c, const char *dev)
{
	for (size_t i = 0; i < c->n_observations; i++)
		if (strcmp(c->observations[i].device, dev) == 0)
			return c->observations[i].outcome;
	fail_msg("no observation for %s", dev);
	return _OUTCOME_INVALID;
}

/* The hang_on_bind case: decon-ctl's deferred probe was picked up by the driver
 * core and is asleep in the kernel, so its driver link exists and it was deferred once;
 * no bind uevent came. That is hang, never deferred_ok. */
static void test_probe_still_running_is_hang(void **state)
{
	struct fixture *f = *state;

	add_obs(&f->c, "decon", "ps-decon", 0, "identity", 0);
	add_obs(&f->c, "decon-ctl", "ps-decon", -1, NULL, 1);
	f->c.observations[1].probing = true;
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	assert_int_equal(obs_outcome(&f->c, "decon"), OUTCOME_OK);
	assert_int_equal(obs_outcome(&f->c, "decon-ctl"), OUTCOME_HANG);
	assert_int_equal(f->c.outcome, OUTCOME_HANG);
	assert_string_equal(f->c.note, "decon-ctl: probe did not return by the deadline");

	/* the same cycle once the probe returned (bind uevent seen): deferred_ok */
	f->c.observations[1].probing = false;
	f->c.observations[1].iommu_group = 1;
	f->c.observations[1].domain_type = strdup("identity");
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	assert_int_equal(obs_outcome(&f->c, "decon-ctl"), OUTCOME_DEFERRED_OK);
}

static void test_ok(void **state)
{
	struct fixture *f = *state;

	both_bound(&f->c);
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	assert_int_equal(f->c.outcome, OUTCOME_OK);
	assert_int_equal(obs_outcome(&f->c, "decon"), OUTCOME_OK);
	assert_string_equal(f->c.note, "");
}

static void test_late_probe_only_marks_its_consumer(void **state)
{
	struct fixture *f = *state;

	both_bound(&f->c);
	add_event(&f->c, EVENT_LATE_IOMMU_PROBE, "decon");
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	assert_int_equal(obs_outcome(&f->c, "decon"), OUTCOME_LATE_IOMMU_PROBE);
	assert_int_equal(obs_outcome(&f->c, "decon-ctl"), OUTCOME_OK);
	assert_int_equal(f->c.outcome, OUTCOME_LATE_IOMMU_PROBE);
	assert_non_null(strstr(f->c.note, "decon: late IOMMU probe"));
}

static void test_device_forms(void **state)
{
	struct kernel_event e = { .device = (char *)"+platform:decon-ctl" };

	assert_true(outcome_event_is_device(&e, &devs[1]));
	assert_false(outcome_event_is_device(&e, &devs[0]));
	e.device = (char *)"platform:decon";
	assert_true(outcome_event_is_device(&e, &devs[0]));
	e.device = (char *)"pci:decon";
	assert_false(outcome_event_is_device(&e, &devs[0]));
	(void)state;
}

static void test_no_group_is_no_iommu(void **state)
{
	struct fixture *f = *state;

	add_obs(&f->c, "decon", "ps-decon", -1, NULL, 0);
	add_obs(&f->c, "decon-ctl", "ps-decon", 1, "identity", 0);
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	assert_int_equal(obs_outcome(&f->c, "decon"), OUTCOME_NO_IOMMU);
	assert_int_equal(f->c.outcome, OUTCOME_NO_IOMMU);
}

static void test_wrong_domain_type_is_no_iommu(void **state)
{
	struct fixture *f = *state;
	struct outcome_device d[2] = { devs[0], devs[1] };

	/* A real rig expects translation: an identity domain there is a silent bypass. */
	d[0].expect_domain = NULL;
	d[1].expect_domain = "DMA DMA-FQ";
	add_obs(&f->c, "decon", "ps-decon", 0, "identity", 0);
	add_obs(&f->c, "decon-ctl", "ps-decon", 1, "DMA-FQ", 0);
	assert_int_equal(outcome_classify(&f->c, d, 2), 0);
	assert_int_equal(obs_outcome(&f->c, "decon"), OUTCOME_NO_IOMMU);
	assert_int_equal(obs_outcome(&f->c, "decon-ctl"), OUTCOME_OK);
}

static void test_unbound_and_deferred(void **state)
{
	struct fixture *f = *state;

	add_obs(&f->c, "decon", NULL, -1, NULL, 2);
	add_obs(&f->c, "decon-ctl", "ps-decon", 1, "identity", 3);
	add_action(&f->c, STEP_BIND, "decon", EAGAIN, false);
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	/* EAGAIN is a deferral, not a failure: unbound, not probe_failed. */
	assert_int_equal(obs_outcome(&f->c, "decon"), OUTCOME_UNBOUND);
	assert_int_equal(obs_outcome(&f->c, "decon-ctl"), OUTCOME_DEFERRED_OK);
	assert_int_equal(f->c.outcome, OUTCOME_UNBOUND);
}

static void test_probe_failed(void **state)
{
	struct fixture *f = *state;

	add_obs(&f->c, "decon", NULL, -1, NULL, 0);
	add_obs(&f->c, "decon-ctl", "ps-decon", 1, "identity", 0);
	add_action(&f->c, STEP_BIND, "decon", EIO, false);
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	assert_int_equal(obs_outcome(&f->c, "decon"), OUTCOME_PROBE_FAILED);
}

static void test_hang_beats_late_probe(void **state)
{
	struct fixture *f = *state;

	both_bound(&f->c);
	add_event(&f->c, EVENT_LATE_IOMMU_PROBE, "decon");
	add_action(&f->c, STEP_BIND, "decon", 0, true);
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	assert_int_equal(obs_outcome(&f->c, "decon"), OUTCOME_HANG);
	assert_int_equal(f->c.outcome, OUTCOME_HANG);
}

static void test_anonymous_oops_counts_for_all(void **state)
{
	struct fixture *f = *state;

	both_bound(&f->c);
	add_event(&f->c, EVENT_OOPS, NULL);
	add_event(&f->c, EVENT_WARN, "sysmmu-a");
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	assert_int_equal(obs_outcome(&f->c, "decon"), OUTCOME_OOPS);
	assert_int_equal(obs_outcome(&f->c, "decon-ctl"), OUTCOME_OOPS);
	assert_int_equal(f->c.outcome, OUTCOME_OOPS);
}

static void test_supplier_warn_counts_for_cycle_only(void **state)
{
	struct fixture *f = *state;

	both_bound(&f->c);
	add_event(&f->c, EVENT_WARN, "sysmmu-a");
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	assert_int_equal(obs_outcome(&f->c, "decon"), OUTCOME_OK);
	assert_int_equal(f->c.outcome, OUTCOME_WARN);
}

static void test_crash_is_kept(void **state)
{
	struct fixture *f = *state;

	both_bound(&f->c);
	f->c.outcome = OUTCOME_CRASH;
	assert_int_equal(outcome_classify(&f->c, devs, 3), 0);
	assert_int_equal(f->c.outcome, OUTCOME_CRASH);
}

static void test_names_round_trip(void **state)
{
	for (int o = 0; o < _OUTCOME_MAX; o++)
		assert_int_equal(outcome_from_string(outcome_to_string(o)), o);
	assert_int_equal(outcome_from_string("fine"), -EINVAL);
	assert_true(OUTCOME_CRASH > OUTCOME_OOPS && OUTCOME_OOPS > OUTCOME_HANG &&
		    OUTCOME_HANG > OUTCOME_LATE_IOMMU_PROBE &&
		    OUTCOME_LATE_IOMMU_PROBE > OUTCOME_NO_IOMMU &&
		    OUTCOME_NO_IOMMU > OUTCOME_WARN &&
		    OUTCOME_WARN > OUTCOME_PROBE_FAILED &&
		    OUTCOME_PROBE_FAILED > OUTCOME_UNBOUND &&
		    OUTCOME_UNBOUND > OUTCOME_DEFERRED_OK &&
		    OUTCOME_DEFERRED_OK > OUTCOME_OK);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_still_running_is_hang, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_late_probe_only_marks_its_consumer,
						setup, teardown),
		cmocka_unit_test(test_device_forms),
		cmocka_unit_test_setup_teardown(test_no_group_is_no_iommu, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_domain_type_is_no_iommu, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unbound_and_deferred, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_probe_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_beats_late_probe, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_anonymous_oops_counts_for_all, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_supplier_warn_counts_for_cycle_only,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_is_kept, setup, teardown),
		cmocka_unit_test(test_names_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
