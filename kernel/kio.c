/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel I/O. Every path is an absolute literal below, prefixed by the root (empty on a real
 * system, a fake tree in tests). Each path component that comes from configuration or the
 * API passes name_is_valid() first, so no input can reach outside /sys, /proc or /dev.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kio.h"
#include "macro.h"
#include "util.h"

static char kio_root_buf[PATH_MAX];
static bool kio_root_set;

int kio_set_root(const char *root)
{
	size_t n = root ? strlen(root) : 0;

	if (n >= sizeof(kio_root_buf))
		return -ENAMETOOLONG;
	memcpy(kio_root_buf, root ? root : "", n + 1);
	/* A trailing slash would double up with the absolute paths below. */
	while (n > 0 && kio_root_buf[n - 1] == '/')
		kio_root_buf[--n] = '\0';
	kio_root_set = true;
	return 0;
}

const char *kio_root(void)
{
	if (!kio_root_set) {
		const char *e = getenv("PROBESTORM_SYSROOT");
		kio_set_root(e ? e : "");
	}
	return kio_root_buf;
}

int kio_path(char *buf, size_t size, const char *fmt, ...)
{
	const char *root = kio_root();
	size_t n = strlen(root);
	va_list ap;
	int r;

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, root, n);
	va_start(ap, fmt);
	r = vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -EINVAL;
	if ((size_t)r >= size - n)
		return -ENAMETOOLONG;
	return 0;
}

int kio_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	return fd < 0 ? negative_errno() : fd;
}

int kio_read_bytes(const char *path, size_t limit, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = limit + 1 < 4096 ? limit + 1 : 4096;

	fd = kio_open(path, O_RDONLY);
	if (fd < 0)
		return fd;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == limit)
			return -EFBIG;
		if (len + 1 >= cap) {
			size_t ncap = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
			char *p = realloc(buf, ncap);

			if (!p)
				return -ENOMEM;
			buf = p;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int kio_read_file(const char *path, char **ret)
{
	char *buf;
	size_t len;
	int r = kio_read_bytes(path, 65535, &buf, &len);

	if (r < 0)
		return r;
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	*ret = buf;
	return 0;
}

int kio_write_file(const char *path, const char *s)
{
	_cleanup_close_ int fd = -1;
	size_t len = strlen(s);
	ssize_t n;

	fd = kio_open(path, O_WRONLY);
	if (fd < 0)
		return fd;
	n = write(fd, s, len);
	if (n < 0)
		return negative_errno();
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int kio_readlink_base(const char *path, char **ret)
{
	char target[PATH_MAX];
	ssize_t n;
	const char *base;
	char *s;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return negative_errno();
	target[n] = '\0';
	base = strrchr(target, '/');
	s = strdup(base ? base + 1 : target);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

bool kio_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int kio_check_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return negative_errno();
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int kio_bus_exists(const char *bus)
{
	char p[PATH_MAX];
	int r;

	if (!name_is_valid(bus))
		return -EINVAL;
	r = kio_path(p, sizeof(p), "/sys/bus/%s", bus);
	return r < 0 ? r : kio_check_dir(p);
}

int kio_device_exists(const char *bus, const char *device)
{
	char p[PATH_MAX];
	int r;

	if (!name_is_valid(bus) || !name_is_valid(device))
		return -EINVAL;
	r = kio_path(p, sizeof(p), "/sys/bus/%s/devices/%s", bus, device);
	return r < 0 ? r : kio_check_dir(p);
}

int kio_driver_exists(const char *bus, const char *driver)
{
	char p[PATH_MAX];
	int r;

	if (!name_is_valid(bus) || !name_is_valid(driver))
		return -EINVAL;
	r = kio_path(p, sizeof(p), "/sys/bus/%s/drivers/%s", bus, driver);
	return r < 0 ? r : kio_check_dir(p);
}

int kio_device_driver(const char *bus, const char *device, char **ret_driver)
{
	char p[PATH_MAX];
	int r;

	if (!name_is_valid(bus) || !name_is_valid(device))
		return -EINVAL;
	r = kio_path(p, sizeof(p), "/sys/bus/%s/devices/%s/driver", bus, device);
	if (r < 0)
		return r;
	return kio_readlink_base(p, ret_driver);
}

int kio_device_iommu_group(const char *bus, const char *device, int *ret_group)
{
	_cleanup_free_ char *g = NULL;
	char p[PATH_MAX];
	int64_t v;
	int r;

	if (!name_is_valid(bus) || !name_is_valid(device))
		return -EINVAL;
	r = kio_path(p, sizeof(p), "/sys/bus/%s/devices/%s/iommu_group", bus, device);
	if (r < 0)
		return r;
	r = kio_readlink_base(p, &g);
	if (r < 0)
		return r;
	r = parse_int64(g, 0, INT32_MAX, &v);
	if (r < 0)
		return -EBADMSG;
	*ret_group = (int)v;
	return 0;
}

int kio_iommu_group_type(int group, char **ret_type)
{
	char p[PATH_MAX];
	int r;

	if (group < 0)
		return -EINVAL;
	r = kio_path(p, sizeof(p), "/sys/kernel/iommu_groups/%d/type", group);
	if (r < 0)
		return r;
	return kio_read_file(p, ret_type);
}

int kio_bind_path(const char *bus, const char *driver, char *buf, size_t size)
{
	if (!name_is_valid(bus) || !name_is_valid(driver))
		return -EINVAL;
	return kio_path(buf, size, "/sys/bus/%s/drivers/%s/bind", bus, driver);
}

int kio_unbind_path(const char *bus, const char *driver, char *buf, size_t size)
{
	if (!name_is_valid(bus) || !name_is_valid(driver))
		return -EINVAL;
	return kio_path(buf, size, "/sys/bus/%s/drivers/%s/unbind", bus, driver);
}

int kio_drivers_probe_path(const char *bus, char *buf, size_t size)
{
	if (!name_is_valid(bus))
		return -EINVAL;
	return kio_path(buf, size, "/sys/bus/%s/drivers_probe", bus);
}

bool kio_driver_has_bind_attrs(const char *bus, const char *driver)
{
	char p[PATH_MAX];

	return kio_bind_path(bus, driver, p, sizeof(p)) == 0 && kio_exists(p);
}

int kio_reboot(void)
{
	char path[PATH_MAX];
	int r;

	if (*kio_root()) {
		r = kio_path(path, sizeof(path), "/proc/sysrq-trigger");
		return r < 0 ? r : kio_write_file(path, "b");
	}
	sync();
	if (reboot(RB_AUTOBOOT) < 0)
		return negative_errno();
	return 0;
}
