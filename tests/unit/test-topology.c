/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the topology check (kernel/topology.c) against the fake sysfs tree of the
 * QEMU model (tests/data/fake-sysfs.sh): a missing bus, device or driver, a driver without
 * bind/unbind files when a step binds or unbinds, the devices the check leaves alone, and
 * configs that pass, the shipped qemu-sim.conf among them. The exact messages matter: the
 * daemon returns them to whoever starts the campaign.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "kio.h"
#include "macro.h"
#include "topology.h"
#include "util.h"

#include "fake-sysfs.h"
#include "conf-load.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must name the absolute path of tests/data"
#endif

/* The topology and the rebind-race scenario of docs/config.md's example, whose devices the
 * fake tree has (test-conf.c checks the example's parsing). */
static const char example[] =
	"[consumer decon]\n"
	"driver = ps-decon\n"
	"module = ps_decon\n"
	"iommus = sysmmu-a, sysmmu-b\n"
	"[consumer decon-ctl]\n"
	"driver = ps-decon\n"
	"module = ps_decon\n"
	"iommus = sysmmu-b\n"
	"[supplier sysmmu-a]\n"
	"driver = ps-sysmmu\n"
	"module = ps_sysmmu\n"
	"[supplier sysmmu-b]\n"
	"driver = ps-sysmmu\n"
	"module = ps_sysmmu\n"
	"[scenario rebind-race]\n"
	"step = unbind decon\n"
	"step = unbind decon-ctl\n"
	"step = unbind sysmmu-b\n"
	"step = unbind sysmmu-a\n"
	"step = bind sysmmu-a\n"
	"step = concurrent bind sysmmu-b @0, probe decon @${offset}, "
	"probe decon-ctl @${offset}\n"
	"step = wait-bound decon 2s\n"
	"[campaign rebind-sweep]\n"
	"scenario = rebind-race\n"
	"sweep = offset 0 300ms 16\n";

static void expect_topology(const char *extra, const char *campaign, int err,
			    const char *msg)
{
	_cleanup_free_ char *text = strprintf("%s%s", example, extra);
	struct conf *c = expect_ok("topo.conf", text);
	const struct conf_campaign *k = conf_campaign_find(c, campaign);
	char *e = NULL;

	assert_non_null(k);
	assert_int_equal(topology_check(c, k, &e), err);
	if (msg) {
		assert_non_null(e);
		assert_string_equal(e, msg);
	} else {
		assert_null(e);
	}
	free(e);
	conf_free(c);
}

static void test_topology(void **state)
{
	(void)state;
	assert_int_equal(kio_set_root(fake_sysfs_root), 0);

	expect_topology("", "rebind-sweep", 0, NULL);
	expect_topology("[consumer ghost]\ndriver = ps-decon\ndevice = decon-missing\n"
			"[scenario s]\nstep = probe ghost\n[campaign k]\nscenario = s\n",
			"k", -ENOENT,
			"device 'ghost' (platform/decon-missing): not found under "
			"/sys/bus/platform/devices");
	expect_topology(
		"[consumer d2]\ndriver = ps-nodrv\ndevice = decon-ctl\nbus = isa\n"
		"[scenario s]\nstep = probe d2\n[campaign k]\nscenario = s\n",
		"k", -ENOENT,
		"device 'd2' (isa/decon-ctl): bus 'isa' not found under /sys/bus");
	conf_free(NULL);
}

/* Topologies that the example's devices do not clash with. */
static void test_topology_drivers(void **state)
{
	/* lines 1-4 */
	static const char base[] =
		"[consumer disp]\ndriver = ps-decon\ndevice = decon\niommus = mmu\n"
		"[supplier mmu]\ndriver = ps-sysmmu\ndevice = sysmmu-b\nmodule = "
		"ps_sysmmu\n";
	struct {
		const char *extra;
		int err;
		const char *msg;
	} cases[] = {
		{ "[scenario s]\nstep = unbind disp\nstep = bind disp\n", 0, NULL },
		/* a supplier of a consumer the scenario uses is checked too */
		{ "[supplier mmu2]\ndriver = ps-sysmmu\ndevice = sysmmu-9\n"
		  "[consumer d]\ndriver = ps-decon\ndevice = decon-ctl\niommus = mmu2\n"
		  "[scenario s]\nstep = probe d\n",
		  -ENOENT,
		  "device 'mmu2' (platform/sysmmu-9): not found under "
		  "/sys/bus/platform/devices" },
		{ "[consumer d]\ndriver = ps-nodrv\ndevice = decon-ctl\n"
		  "[scenario s]\nstep = probe d\n",
		  -ENOENT,
		  "device 'd' (platform/decon-ctl): driver 'ps-nodrv' not found under "
		  "/sys/bus/platform/drivers" },
		/* suppress_bind_attrs: no bind/unbind files, so unbind cannot work */
		{ "[consumer d]\ndriver = ps-nobind\ndevice = decon-ctl\n"
		  "[scenario s]\nstep = unbind d\n",
		  -EOPNOTSUPP,
		  "device 'd' (platform/decon-ctl): driver 'ps-nobind' has no "
		  "bind/unbind files (suppress_bind_attrs); reload its module instead" },
		/* ... while probing through drivers_probe works */
		{ "[consumer d]\ndriver = ps-nobind\ndevice = decon-ctl\n"
		  "[scenario s]\nstep = probe d\n",
		  0, NULL },
		/* a driver whose module the scenario loads may be absent */
		{ "[supplier m2]\ndriver = ps-gone\ndevice = sysmmu-a\nmodule = ps-gone\n"
		  "[scenario s]\nstep = rmmod ps_gone\nstep = concurrent modprobe "
		  "ps_gone, "
		  "probe disp @${t}\n",
		  0, NULL },
		{ "[supplier m2]\ndriver = ps-gone\ndevice = sysmmu-a\nmodule = ps_gone\n"
		  "[scenario s]\nstep = insmod /lib/modules/ps_gone.ko.xz\n",
		  0, NULL },
		/* ... but its device must exist */
		{ "[supplier m2]\ndriver = ps-gone\ndevice = sysmmu-z\nmodule = ps_gone\n"
		  "[scenario s]\nstep = modprobe ps_gone\n",
		  -ENOENT,
		  "device 'm2' (platform/sysmmu-z): not found under "
		  "/sys/bus/platform/devices" },
		/* devices no step touches are not checked */
		{ "[consumer unused]\ndriver = x\ndevice = nowhere\n"
		  "[scenario s]\nstep = sleep 1ms\n",
		  0, NULL },
	};

	(void)state;
	assert_int_equal(kio_set_root(fake_sysfs_root), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *text = strprintf("%s%s", base, cases[i].extra);
		_cleanup_free_ char *full = NULL;
		struct conf *c;
		char *e = NULL;
		int r;

		full = strprintf(
			"%s%s", text,
			strstr(cases[i].extra, "${t}")
				? "[campaign k]\nscenario = s\nsweep = t 0 1ms 2\n"
				: "[campaign k]\nscenario = s\n");
		c = expect_ok("topo.conf", full);
		r = topology_check(c, conf_campaign_find(c, "k"), &e);
		if (r != cases[i].err ||
		    (cases[i].msg && (!e || !streq(e, cases[i].msg))))
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, r,
				 e ? e : "(null)", cases[i].err,
				 cases[i].msg ? cases[i].msg : "(null)");
		if (!cases[i].msg)
			assert_null(e);
		free(e);
		conf_free(c);
	}
}

/* A driver without bind/unbind files fails a bind step as it fails an unbind step. */
static void test_topology_bind_attrs(void **state)
{
	struct conf *c;
	char *e = NULL;

	(void)state;
	assert_int_equal(kio_set_root(fake_sysfs_root), 0);
	c = expect_ok("topo.conf",
		      "[consumer d]\ndriver = ps-nobind\ndevice = decon-ctl\n"
		      "[scenario s]\nstep = bind d\n[campaign k]\nscenario = s\n");
	assert_int_equal(topology_check(c, conf_campaign_find(c, "k"), &e), -EOPNOTSUPP);
	assert_non_null(e);
	assert_string_equal(
		e, "device 'd' (platform/decon-ctl): driver 'ps-nobind' has no "
		   "bind/unbind files (suppress_bind_attrs); reload its module instead");
	free(e);
	conf_free(c);
}

/* Every campaign of the config the QEMU guest runs passes against the model's tree; a NULL
 * config or campaign is -EINVAL; a NULL ret_error is allowed. */
static void test_topology_shipped(void **state)
{
	_cleanup_free_ char *path = NULL;
	struct conf *c = NULL;
	char *e = NULL;

	(void)state;
	assert_int_equal(kio_set_root(fake_sysfs_root), 0);
	path = strprintf("%s/../../contrib/targets/qemu-sim.conf", TEST_DATA_DIR);
	assert_non_null(path);
	if (conf_load(path, NULL, &c, &e) < 0)
		fail_msg("%s: %s", path, e);
	assert_true(c->n_campaigns > 0);
	for (size_t i = 0; i < c->n_campaigns; i++) {
		int r = topology_check(c, &c->campaigns[i], &e);

		if (r < 0)
			fail_msg("campaign '%s': %d '%s'", c->campaigns[i].name, r,
				 e ? e : "(null)");
		assert_null(e);
	}
	assert_int_equal(topology_check(c, NULL, &e), -EINVAL);
	assert_int_equal(topology_check(NULL, &c->campaigns[0], &e), -EINVAL);
	assert_null(e);

	/* without a message wanted, the error is still returned */
	conf_free(c);
	c = expect_ok("topo.conf",
		      "[consumer d]\ndriver = ps-decon\ndevice = gone\n"
		      "[scenario s]\nstep = probe d\n[campaign k]\nscenario = s\n");
	assert_int_equal(topology_check(c, conf_campaign_find(c, "k"), NULL), -ENOENT);
	conf_free(c);
}

static int group_setup(void **state)
{
	(void)state;
	return fake_sysfs_make() ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	fake_sysfs_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_topology_drivers),
		cmocka_unit_test(test_topology_bind_attrs),
		cmocka_unit_test(test_topology_shipped),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
