/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The restart decision of the runner (runner_recover_decide, runner_recover_boot) on the
 * fake sysfs tree, whose /proc/sys/kernel/random/boot_id plays the running kernel's boot
 * identity through kio: an in-flight record of this same boot means the daemon died and
 * the cycle runs again; another boot (or one that cannot be compared) means the target
 * died in the action (a crash cycle), except a reboot step, whose cycle is completed.
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

#include "collector.h"
#include "fake-sysfs.h"
#include "kio.h"
#include "runner.h"

#define BOOT_A "3f1c9a2e-7b4d-4e8f-a1c2-9d8e7f6a5b4c"
#define BOOT_B "b2d4f6a8-1c3e-4a5b-8d7f-0e2c4a6b8d0f"

static void set_boot_id(const char *id)
{
	char p[PATH_MAX];
	FILE *f;

	assert_int_equal(kio_path(p, sizeof(p), "/proc/sys/kernel/random/boot_id"), 0);
	if (!id) {
		unlink(p);
		return;
	}
	f = fopen(p, "we");
	assert_non_null(f);
	fprintf(f, "%s\n", id);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	const char *root = fake_sysfs_make();
	char cmd[PATH_MAX + 32];

	if (!root)
		return -1;
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/proc/sys/kernel/random'", root);
	if (system(cmd) != 0)
		return -1;
	return kio_set_root(root);
}

static int teardown(void **state)
{
	kio_set_root("");
	fake_sysfs_remove();
	return 0;
}

static void test_boot_id_read(void **state)
{
	char *id = NULL;

	set_boot_id(BOOT_A);
	assert_int_equal(identity_boot_id(&id), 0);
	assert_string_equal(id, BOOT_A);
	free(id);
	id = NULL;
	set_boot_id("not a boot id");
	assert_int_equal(identity_boot_id(&id), -EBADMSG);
	assert_null(id);
	set_boot_id(NULL);
	assert_int_equal(identity_boot_id(&id), -ENOENT);
	assert_null(id);
}

static void test_decide(void **state)
{
	struct action_record bind = { .verb = STEP_BIND, .arg = "decon" };
	struct action_record reboot = { .verb = STEP_REBOOT,
					.arg = "",
					.params = "{\"type\":\"cycle\"}" };

	set_boot_id(BOOT_A);
	/* nothing in flight: stopped between cycles */
	assert_int_equal(runner_recover_decide(NULL, BOOT_A), RUNNER_RECOVER_CONTINUE);
	/* same boot: the daemon was killed, the target lives; the cycle runs again */
	assert_int_equal(runner_recover_decide(&bind, BOOT_A), RUNNER_RECOVER_RERUN);
	/* another boot: the target died in the action */
	assert_int_equal(runner_recover_decide(&bind, BOOT_B), RUNNER_RECOVER_CRASH);
	/* a record of an older version (no boot_id): the target died, as before */
	assert_int_equal(runner_recover_decide(&bind, NULL), RUNNER_RECOVER_CRASH);
	/* a reboot step that rebooted: complete its cycle; that did not: run it again */
	assert_int_equal(runner_recover_decide(&reboot, BOOT_B), RUNNER_RECOVER_COMPLETE);
	assert_int_equal(runner_recover_decide(&reboot, BOOT_A), RUNNER_RECOVER_RERUN);

	/* a kernel without the file: nothing can be compared, the target died */
	set_boot_id(NULL);
	assert_int_equal(runner_recover_decide(&bind, BOOT_A), RUNNER_RECOVER_CRASH);
}

static void test_boot_number(void **state)
{
	set_boot_id(BOOT_A);
	/* the last cycle ran in this boot: the resumed cycles keep its boot number */
	assert_int_equal(runner_recover_boot(2, BOOT_A), 2);
	/* in another boot, or not known: the next boot number */
	assert_int_equal(runner_recover_boot(2, BOOT_B), 3);
	assert_int_equal(runner_recover_boot(0, NULL), 1);
	set_boot_id(NULL);
	assert_int_equal(runner_recover_boot(2, BOOT_A), 3);
}

/* The old module-reload scenario: rmmod of the pinned IOMMU module (EAGAIN) and the insmod
 * of a module still loaded (EEXIST) were recorded only in the actions, the cycle "ok". */
static void test_note_module_errors(void **state)
{
	struct action_record acts[] = {
		{ .verb = STEP_RMMOD, .arg = (char *)"ps_decon" },
		{ .verb = STEP_RMMOD, .arg = (char *)"ps_sysmmu", .err = EAGAIN },
		{ .verb = STEP_INSMOD,
		  .arg = (char *)"/lib/modules/ps/ps_sysmmu.ko",
		  .err = EEXIST },
		{ .verb = STEP_BIND, .arg = (char *)"decon-ctl", .err = EAGAIN },
	};
	struct cycle_record c = { .actions = acts, .n_actions = 4 };
	char msg[256];

	c.note = strdup("");
	assert_non_null(c.note);
	assert_int_equal(runner_note_module_errors(&c), 1);
	snprintf(msg, sizeof(msg),
		 "rmmod ps_sysmmu: %s; insmod /lib/modules/ps/ps_sysmmu.ko: %s",
		 strerror(EAGAIN), strerror(EEXIST));
	assert_string_equal(c.note, msg);
	free(c.note);

	/* Appended to the classifier's note; a bind's EAGAIN (a deferral) is not a module step. */
	c.note = strdup("decon: late IOMMU probe");
	assert_non_null(c.note);
	acts[2].err = 0;
	assert_int_equal(runner_note_module_errors(&c), 1);
	snprintf(msg, sizeof(msg), "decon: late IOMMU probe; rmmod ps_sysmmu: %s",
		 strerror(EAGAIN));
	assert_string_equal(c.note, msg);
	free(c.note);

	acts[1].err = 0;
	c.note = NULL;
	assert_int_equal(runner_note_module_errors(&c), 0);
	assert_null(c.note);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_id_read),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_boot_number),
		cmocka_unit_test(test_note_module_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
