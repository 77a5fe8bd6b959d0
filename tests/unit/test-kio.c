/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel I/O against the fake sysfs tree (tests/data/fake-sysfs.sh, the shape of the
 * QEMU guest's /sys with the simulated SysMMU pair bound): root redirection, driver and
 * iommu_group links, group types, and the guarantee that no name from config or the API
 * builds a path outside the tree.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kio.h"
#include "macro.h"
#include "util.h"

#include "fake-sysfs.h"

static const char *root;

static int setup(void **state)
{
	root = fake_sysfs_make();
	return root ? kio_set_root(root) : -1;
}

static int teardown(void **state)
{
	fake_sysfs_remove();
	return 0;
}

/* root + suffix, for comparing built paths */
static const char *rooted(const char *suffix)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s%s", root, suffix);
	return buf;
}

static void test_driver_links(void **state)
{
	_cleanup_free_ char *d1 = NULL, *d2 = NULL;
	char *none = (char *)"untouched";

	assert_int_equal(kio_device_driver("platform", "decon", &d1), 0);
	assert_string_equal(d1, "ps-decon");
	assert_int_equal(kio_device_driver("platform", "sysmmu-b", &d2), 0);
	assert_string_equal(d2, "ps-sysmmu");
	assert_int_equal(kio_device_driver("platform", "no-such-device", &none), -ENOENT);
	assert_string_equal(none, "untouched");
}

static void test_iommu_groups(void **state)
{
	_cleanup_free_ char *type = NULL;
	int g = -7;

	assert_int_equal(kio_device_iommu_group("platform", "decon", &g), 0);
	assert_int_equal(g, 0);
	assert_int_equal(kio_device_iommu_group("platform", "decon-ctl", &g), 0);
	assert_int_equal(g, 1);
	g = -7;
	/* A supplier has no group: -ENOENT and the output untouched. */
	assert_int_equal(kio_device_iommu_group("platform", "sysmmu-a", &g), -ENOENT);
	assert_int_equal(g, -7);
	assert_int_equal(kio_iommu_group_type(0, &type), 0);
	assert_string_equal(type, "identity");
	assert_int_equal(kio_iommu_group_type(-1, &type), -EINVAL);
}

static void test_existence(void **state)
{
	assert_int_equal(kio_bus_exists("platform"), 0);
	assert_int_equal(kio_bus_exists("pci"), -ENOENT);
	assert_int_equal(kio_device_exists("platform", "decon"), 0);
	assert_int_equal(kio_device_exists("platform", "decon2"), -ENOENT);
	assert_int_equal(kio_driver_exists("platform", "ps-sysmmu"), 0);
	assert_true(kio_driver_has_bind_attrs("platform", "ps-decon"));
	/* A driver registered with suppress_bind_attrs has no bind/unbind files. */
	assert_int_equal(kio_driver_exists("platform", "ps-nobind"), 0);
	assert_false(kio_driver_has_bind_attrs("platform", "ps-nobind"));
}

static void test_names_cannot_escape(void **state)
{
	static const char *const bad[] = { "..",  ".",	    "",	  "../../etc",
					   "a/b", "decon ", "x\n" };
	char p[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *d = NULL;
		int g;

		assert_int_equal(kio_device_exists("platform", bad[i]), -EINVAL);
		assert_int_equal(kio_device_exists(bad[i], "decon"), -EINVAL);
		assert_int_equal(kio_driver_exists("platform", bad[i]), -EINVAL);
		assert_int_equal(kio_device_driver("platform", bad[i], &d), -EINVAL);
		assert_int_equal(kio_device_iommu_group("platform", bad[i], &g), -EINVAL);
		assert_int_equal(kio_bind_path("platform", bad[i], p, sizeof(p)),
				 -EINVAL);
		assert_int_equal(kio_unbind_path(bad[i], "ps-decon", p, sizeof(p)),
				 -EINVAL);
		assert_int_equal(kio_drivers_probe_path(bad[i], p, sizeof(p)), -EINVAL);
	}
	assert_int_equal(kio_device_exists("platform", NULL), -EINVAL);
}

static void test_paths_and_truncation(void **state)
{
	char p[PATH_MAX], small[16];

	assert_int_equal(kio_bind_path("platform", "ps-decon", p, sizeof(p)), 0);
	assert_string_equal(p, rooted("/sys/bus/platform/drivers/ps-decon/bind"));
	assert_int_equal(kio_drivers_probe_path("platform", p, sizeof(p)), 0);
	assert_string_equal(p, rooted("/sys/bus/platform/drivers_probe"));
	assert_int_equal(kio_path(small, sizeof(small), "/sys/bus/%s", "platform"),
			 -ENAMETOOLONG);
}

static void test_write_and_read(void **state)
{
	char dir[] = "/tmp/probestorm-kio-XXXXXX", p[PATH_MAX];
	_cleanup_free_ char *back = NULL;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(kio_set_root(dir), 0);
	assert_int_equal(kio_path(p, sizeof(p), "/bind"), 0);
	/* A missing sysfs file reports the open's errno, as the real bind file would ENOENT. */
	assert_int_equal(kio_write_file(p, "decon"), -ENOENT);
	fclose(fopen(p, "w"));
	assert_int_equal(kio_write_file(p, "decon"), 0);
	assert_int_equal(kio_read_file(p, &back), 0);
	assert_string_equal(back, "decon");
	unlink(p);
	rmdir(dir);
	assert_int_equal(kio_set_root(rooted("/")), 0);
	/* The trailing slash is dropped so paths do not double up. */
	assert_string_equal(kio_root(), root);
}

/* Under a fake root nothing reboots: the request lands in ROOT/proc/sysrq-trigger. */
static void test_reboot_under_fake_root(void **state)
{
	char dir[] = "/tmp/probestorm-kio-XXXXXX", p[PATH_MAX];
	_cleanup_free_ char *back = NULL;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(kio_set_root(dir), 0);
	assert_int_equal(kio_path(p, sizeof(p), "/proc"), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(kio_path(p, sizeof(p), "/proc/sysrq-trigger"), 0);
	/* no trigger file: the open's errno, and still no reboot(2) */
	assert_int_equal(kio_reboot(), -ENOENT);
	fclose(fopen(p, "w"));
	assert_int_equal(kio_reboot(), 0);
	assert_int_equal(kio_read_file(p, &back), 0);
	assert_string_equal(back, "b");
	unlink(p);
	assert_int_equal(kio_path(p, sizeof(p), "/proc"), 0);
	rmdir(p);
	rmdir(dir);
	assert_int_equal(kio_set_root(root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_links),
		cmocka_unit_test(test_iommu_groups),
		cmocka_unit_test(test_existence),
		cmocka_unit_test(test_names_cannot_escape),
		cmocka_unit_test(test_paths_and_truncation),
		cmocka_unit_test(test_write_and_read),
		cmocka_unit_test(test_reboot_under_fake_root),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
