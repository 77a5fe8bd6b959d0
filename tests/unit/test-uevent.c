/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The uevent collector's probe-pending answer (uevent_probe_pending), which makes a
 * consumer whose driver link exists but whose probe has not returned a hang: collectors/
 * uevent.c is included (chrony style) so its datagram handler can be fed captured-form
 * uevents without a netlink socket, and its start state read from the fake sysfs tree.
 */
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

#include "fake-sysfs.h"
#include "uevent.c"

static const char unbind_ctl[] =
	"unbind@/devices/platform/decon-ctl\0ACTION=unbind\0"
	"DEVPATH=/devices/platform/decon-ctl\0SUBSYSTEM=platform\0"
	"SEQNUM=1240";
static const char bind_ctl[] = "bind@/devices/platform/decon-ctl\0ACTION=bind\0"
			       "DEVPATH=/devices/platform/decon-ctl\0SUBSYSTEM=platform\0"
			       "DRIVER=ps-decon\0SEQNUM=1241";

static void *no_thread(void *arg)
{
	return NULL;
}

static void test_probe_pending(void **state)
{
	struct conf_device devs[] = {
		{ .name = "decon", .device = "decon", .bus = "platform" },
		{ .name = "decon-ctl", .device = "decon-ctl", .bus = "platform" },
	};
	struct uevent_state s = { .sock = -1 };
	const char *root = fake_sysfs_make();
	char p[PATH_MAX];

	assert_non_null(root);
	assert_int_equal(kio_set_root(root), 0);
	s.t.wake_fd = -1;
	s.n_devs = 2;
	s.devs = calloc(2, sizeof(*s.devs));
	s.bound = calloc(2, 1);
	s.buf = malloc(UEVENT_MSG_MAX); /* no socket (-1): a drain receives nothing */
	assert_non_null(s.buf);
	assert_non_null(s.devs);
	assert_non_null(s.bound);
	s.devs[0] = &devs[0];
	s.devs[1] = &devs[1];
	assert_int_equal(collector_thread_start(&s.t, no_thread, NULL, "test"), 0);

	/* decon is bound in the tree; decon-ctl's link is removed: unbound at start */
	assert_int_equal(kio_path(p, sizeof(p), "/sys/devices/platform/decon-ctl/driver"),
			 0);
	assert_int_equal(unlink(p), 0);
	uevent_bound_init(&s);
	assert_int_equal(uevent_probe_pending(&s, "decon"), 0);
	/* unbound at start and no bind since: once its link shows, it is inside probe() */
	assert_int_equal(uevent_probe_pending(&s, "decon-ctl"), 1);
	/* the bind uevent: the probe returned */
	assert_int_equal(uevent_handle(&s, bind_ctl, sizeof(bind_ctl), 100), 0);
	assert_int_equal(uevent_probe_pending(&s, "decon-ctl"), 0);
	/* unbound again: a link from now on is a probe running */
	assert_int_equal(uevent_handle(&s, unbind_ctl, sizeof(unbind_ctl), 200), 0);
	assert_int_equal(uevent_probe_pending(&s, "decon-ctl"), 1);
	assert_int_equal(uevent_probe_pending(&s, "decon"), 0);
	/* lost uevents: not known, never called pending */
	memset(s.bound, -1, s.n_devs);
	assert_int_equal(uevent_probe_pending(&s, "decon-ctl"), 0);
	assert_int_equal(uevent_probe_pending(&s, "sysmmu-a"), -ENOENT);
	assert_int_equal(uevent_probe_pending(NULL, "decon"), -EINVAL);

	uevent_stop(&s);
	kio_set_root("");
	fake_sysfs_remove();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
