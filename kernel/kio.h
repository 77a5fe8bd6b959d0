/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel I/O: every sysfs, procfs, debugfs and /dev path the project touches is built here,
 * from absolute literal paths, so a reader finds every sysfs write in one place and tests can
 * redirect the whole kernel interface to a fake tree with kio_set_root() (or the
 * PROBESTORM_SYSROOT environment variable). Names from config or API are validated with
 * name_is_valid() before they become path components: nothing can build a path outside it.
 * All functions return 0 or a negative errno; ret_ outputs are untouched on failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Sets the prefix prepended to every kernel path ("" for the real system). */
int kio_set_root(const char *root);
const char *kio_root(void);
/* Builds root + printf(fmt) into buf; -ENAMETOOLONG on truncation. */
int kio_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Opens a kernel path (already built with kio_path) like open(2); returns fd or -errno. */
int kio_open(const char *path, int flags);

/* Reads a file whole, binary-safe: *ret (NUL-terminated, caller frees) and its length;
 * -EFBIG once the content reaches limit bytes. */
int kio_read_bytes(const char *path, size_t limit, char **ret, size_t *ret_len);
/* Reads a small text file whole (under 64 KiB); trailing newline removed; caller frees. */
int kio_read_file(const char *path, char **ret);
/* Writes s with a single write(2); returns 0 or the write's -errno (EAGAIN, ENODEV, ...). */
int kio_write_file(const char *path, const char *s);
/* basename of a symlink's target, caller frees; -ENOENT when there is no link. */
int kio_readlink_base(const char *path, char **ret);
bool kio_exists(const char *path);

/* Device model helpers (bus, driver and device names are validated). */
int kio_bus_exists(const char *bus);
int kio_device_exists(const char *bus, const char *device);
int kio_driver_exists(const char *bus, const char *driver);
/* Bound driver's name or -ENOENT when unbound. */
int kio_device_driver(const char *bus, const char *device, char **ret_driver);
/* iommu_group number or -ENOENT when the device has none. */
int kio_device_iommu_group(const char *bus, const char *device, int *ret_group);
/* /sys/kernel/iommu_groups/N/type, e.g. "identity", "DMA", "DMA-FQ", "blocked". */
int kio_iommu_group_type(int group, char **ret_type);
/* Paths a worker writes to; built ahead so the timed region is only open+write+close. */
int kio_bind_path(const char *bus, const char *driver, char *buf, size_t size);
int kio_unbind_path(const char *bus, const char *driver, char *buf, size_t size);
int kio_drivers_probe_path(const char *bus, char *buf, size_t size);
/* Whether the driver was registered with suppress_bind_attrs (no bind/unbind files). */
bool kio_driver_has_bind_attrs(const char *bus, const char *driver);

/* Reboots the machine at once: sync(2), then reboot(2) with RB_AUTOBOOT, which does not
 * return. Under a fake root (tests) nothing reboots: "b" (sysrq's reboot) is written to
 * ROOT/proc/sysrq-trigger instead, for the test to find, and 0 is returned. */
int kio_reboot(void);
