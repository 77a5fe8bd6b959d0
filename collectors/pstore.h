/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pstore: what a crashed kernel left behind (/sys/fs/pstore after a panic or oops, with
 * ramoops or another backend configured). Read once, after the boot that followed a crash.
 */
#pragma once

#include <stddef.h>

#include "model.h"

/* One SOURCE_PSTORE event per record file (dmesg-*, console-*) of the live pstore
 * (/sys/fs/pstore below the kio root), as pstore_read_dir() reads them. */
int pstore_read(struct kernel_event **ret, size_t *ret_n);
/* One SOURCE_PSTORE event per record file (dmesg-*, console-*) in dir, a pstore directory
 * or a copy of one (the QEMU kit's host unpacks the next boot's), classified panic/oops by
 * its content, message = the line that says so (or the file name), detail = the content
 * (records over 64 KiB are skipped); seq = the file's position in name order. *ret is NULL
 * and *ret_n 0 when dir does not exist or is empty. Caller frees with kmsg_events_free().
 * 0 or -errno (-ENAMETOOLONG for a dir of PATH_MAX bytes or more). */
int pstore_read_dir(const char *dir, struct kernel_event **ret, size_t *ret_n);
