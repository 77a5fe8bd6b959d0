/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kmsg collector's extras for the runner (the collector itself is collector_kmsg in
 * collector.h): writing the cycle markers that frame every cycle in the kernel log, and
 * reading the records of the current boot for reboot campaigns.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Writes "probestorm: run=<uuid> cycle=<n> begin|end" to /dev/kmsg at KERN_NOTICE. Each
 * call opens /dev/kmsg anew: the kernel rate-limits writes per open file (10 per 5 s unless
 * printk.devkmsg=on), and a lost end marker would cost a cycle its 2 s wait.
 * 0 or negative errno (-EINVAL for a bad uuid or cycle). */
int kmsg_write_marker(const char *uuid, int64_t cycle, bool end);

/* Reads every record of the current boot still in the log buffer (from the last
 * "dmesg -c", else the first record), folds reports and returns the classified events
 * except plain EVENT_INFO records: markers, WARN/late-IOMMU-probe/oops/panic/hung-task,
 * deferred timeouts, probe failures and probe times. *ret is a malloc'd array of *ret_n
 * events (NULL and 0 when there are none) the caller frees with kmsg_events_free().
 * A record-loss note ("kmsg: N records lost") is included when the buffer wrapped while
 * reading. 0 or negative errno. */
int kmsg_read_boot(struct kernel_event **ret, size_t *ret_n);
void kmsg_events_free(struct kernel_event *e, size_t n);
