/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The devices_deferred and sysfs state collectors on the fake sysfs tree of the QEMU model
 * (tests/data/fake-sysfs.sh), through their collector_ops as the runner calls them:
 * devices_deferred holds the captures of tests/data/deferred in turn, as the runner's
 * polls would see them during a cycle; the sysfs state is what the tree's driver links,
 * iommu_group links and group types say, and changes with them.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector.h"
#include "conf.h"
#include "deferred.h"
#include "fake-sysfs.h"
#include "kio.h"
#include "macro.h"
#include "util.h"

static const char conf_text[] = "[target guest]\n"
				"kind = local\n"
				"[consumer decon]\n"
				"driver = ps-decon\n"
				"iommus = sysmmu-a, sysmmu-b\n"
				"[consumer decon-ctl]\n"
				"driver = ps-decon\n"
				"iommus = sysmmu-b\n"
				"[supplier sysmmu-a]\n"
				"driver = ps-sysmmu\n"
				"[supplier sysmmu-b]\n"
				"driver = ps-sysmmu\n";

struct tc {
	struct conf *conf;
	const struct conf_device *devs[4];
	struct collector_ctx ctx;
};

static void put_deferred(const char *capture)
{
	char src[PATH_MAX], dst[PATH_MAX], cmd[2 * PATH_MAX + 16];

	snprintf(src, sizeof(src), "%s/deferred/%s", TEST_DATA_DIR, capture);
	assert_int_equal(kio_path(dst, sizeof(dst), "/sys/kernel/debug/devices_deferred"),
			 0);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	struct tc *t = calloc(1, sizeof(*t));
	const char *root = fake_sysfs_make();
	static const char *const names[] = { "decon", "decon-ctl", "sysmmu-a",
					     "sysmmu-b" };
	char cmd[PATH_MAX + 64];

	if (!t || !root)
		return -1;
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/sys/kernel/debug'", root);
	if (system(cmd) != 0 || kio_set_root(root) < 0)
		return -1;
	if (conf_load_string("t.conf", conf_text, &t->conf, NULL) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		t->devs[i] = conf_device_find(t->conf, names[i]);
	t->ctx = (struct collector_ctx){ .conf = t->conf,
					 .devices = t->devs,
					 .n_devices = ARRAY_SIZE(t->devs) };
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tc *t = *state;

	conf_free(t->conf);
	free(t);
	kio_set_root("");
	fake_sysfs_remove();
	return 0;
}

static void observe(struct cycle_record *c, const char *name)
{
	struct observation o = { .device = (char *)name,
				 .iommu_group = -1,
				 .time_to_bound_ns = -1 };

	assert_int_equal(cycle_add_observation(c, &o), 0);
}

/* A cycle in which decon-ctl waits for sysmmu-b, is released, and queued again: two
 * sightings, and the reason it is still listed with at the end (the IOMMU core gives
 * none). Already listed when the next cycle begins: counted once. */
static void test_deferred_sightings(void **state)
{
	struct tc *t = *state;
	void *s = calloc(1, collector_deferred.state_size);
	struct cycle_record c = {};
	struct observation *o;

	assert_non_null(s);
	put_deferred("empty.txt");
	assert_int_equal(collector_deferred.start(s, &t->ctx), 0);
	observe(&c, "decon");
	observe(&c, "decon-ctl");

	assert_int_equal(collector_deferred.cycle_begin(s, &t->ctx, 0), 0);
	put_deferred("decon-ctl-waiting-for-sysmmu-b.txt");
	assert_int_equal(deferred_poll(s), 0);
	assert_int_equal(deferred_poll(s), 0); /* still listed: the same sighting */
	put_deferred("empty.txt");
	assert_int_equal(deferred_poll(s), 0);
	put_deferred("decon-ctl-waiting-for-sysmmu-b.txt");
	assert_int_equal(collector_deferred.cycle_end(s, &t->ctx, &c), 0);
	o = cycle_find_observation(&c, "decon-ctl");
	assert_int_equal(o->deferrals, 2);
	assert_non_null(o->deferred_reason);
	o = cycle_find_observation(&c, "decon");
	assert_int_equal(o->deferrals, 0);
	assert_null(o->deferred_reason);
	cycle_record_done(&c);

	/* listed at the begin, and released: once; no reason at the end */
	memset(&c, 0, sizeof(c));
	observe(&c, "decon-ctl");
	assert_int_equal(collector_deferred.cycle_begin(s, &t->ctx, 1), 0);
	put_deferred("after-bind-eagain.txt");
	assert_int_equal(collector_deferred.cycle_end(s, &t->ctx, &c), 0);
	o = cycle_find_observation(&c, "decon-ctl");
	assert_int_equal(o->deferrals, 1);
	assert_null(o->deferred_reason);
	cycle_record_done(&c);

	collector_deferred.stop(s);
	free(s);
}

/* No debugfs: the collector is skipped (-EOPNOTSUPP), not a failure of the run. */
static void test_deferred_without_debugfs(void **state)
{
	struct tc *t = *state;
	void *s = calloc(1, collector_deferred.state_size);
	char p[PATH_MAX];

	assert_non_null(s);
	assert_int_equal(kio_path(p, sizeof(p), "/sys/kernel/debug/devices_deferred"), 0);
	unlink(p);
	assert_int_equal(collector_deferred.start(s, &t->ctx), -EOPNOTSUPP);
	assert_int_equal(deferred_poll(s), -EINVAL);
	free(s);
}

/* Bound driver, iommu_group and its domain type per device; an unbound device has no
 * driver, a supplier no group; a changed group type is seen at the next cycle's end. */
static void test_sysfs_state(void **state)
{
	struct tc *t = *state;
	struct cycle_record c = {};
	const struct observation *o;
	char p[PATH_MAX];

	assert_null(collector_sysfs.start);
	assert_int_equal(collector_sysfs.cycle_end(NULL, &t->ctx, &c), 0);
	assert_int_equal(c.n_observations, 4);
	o = cycle_find_observation(&c, "decon");
	assert_true(o->consumer);
	assert_string_equal(o->driver, "ps-decon");
	assert_int_equal(o->iommu_group, 0);
	assert_string_equal(o->domain_type, "identity");
	o = cycle_find_observation(&c, "decon-ctl");
	assert_int_equal(o->iommu_group, 1);
	assert_string_equal(o->domain_type, "DMA");
	o = cycle_find_observation(&c, "sysmmu-b");
	assert_false(o->consumer);
	assert_string_equal(o->driver, "ps-sysmmu");
	assert_int_equal(o->iommu_group, -1);
	assert_null(o->domain_type);
	cycle_record_done(&c);

	/* decon-ctl unbound, decon's group now translated */
	assert_int_equal(kio_path(p, sizeof(p), "/sys/devices/platform/decon-ctl/driver"),
			 0);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(kio_path(p, sizeof(p), "/sys/kernel/iommu_groups/0/type"), 0);
	{
		FILE *f = fopen(p, "we");

		assert_non_null(f);
		fputs("DMA-FQ\n", f);
		assert_int_equal(fclose(f), 0);
	}
	memset(&c, 0, sizeof(c));
	assert_int_equal(collector_sysfs.cycle_end(NULL, &t->ctx, &c), 0);
	o = cycle_find_observation(&c, "decon-ctl");
	assert_null(o->driver);
	assert_int_equal(o->iommu_group, 1);
	o = cycle_find_observation(&c, "decon");
	assert_string_equal(o->domain_type, "DMA-FQ");
	cycle_record_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deferred_sightings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_without_debugfs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sysfs_state, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
