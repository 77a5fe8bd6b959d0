/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pstore: what a crashed kernel left behind (/sys/fs/pstore after a panic or oops, with
 * ramoops or another backend configured). Read once, after the boot that followed a crash.
 */
#pragma once

#include <stddef.h>

#include "model.h"

/* One SOURCE_PSTORE event per record file (dmesg-*, console-*), classified panic/oops by
 * its content, message = the line that says so (or the file name), detail = the content
 * (records over 64 KiB are skipped); seq = the file's position in name order. *ret is NULL and *ret_n 0 when
 * pstore is not mounted or empty. Caller frees with kmsg_events_free(). 0 or -errno. */
int pstore_read(struct kernel_event **ret, size_t *ret_n);
