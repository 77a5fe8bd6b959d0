/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The uevent collector's queries for the runner (the collector itself is collector_uevent
 * in collector.h). state is the collector's state pointer, the memory the runner allocated
 * with collector_uevent.state_size and passed to its start(). Both calls are thread-safe.
 */
#pragma once

#include <stdint.h>

/* CLOCK_MONOTONIC ns at which the first "bind" uevent of device (the kernel device name,
 * e.g. "decon", or its topology name) received at or after after_ns arrived. 0 and
 * *ret_ns, -ENOENT when there is none (yet), -EINVAL. Does not wait. */
int uevent_bound_at(void *state, const char *device, int64_t after_ns, int64_t *ret_ns);

/* The same, but waits until CLOCK_MONOTONIC deadline_ns for the uevent to arrive: the
 * driver core sends KOBJ_BIND after the probe returned, after the device's "driver" link
 * already exists, so a runner that saw the link may be a little early. -ETIMEDOUT when none
 * arrived by the deadline. */
int uevent_wait_bound(void *state, const char *device, int64_t after_ns,
		      int64_t deadline_ns, int64_t *ret_ns);

/* 1 when the last bind/unbind uevent of device (kernel or topology name) was an unbind, or
 * it was unbound when the collector started and no bind came since: if its driver link
 * exists, its probe has not returned (the link appears before probe() runs, the bind
 * uevent after it returned). Check the link first, then call this: it receives what is
 * queued before it answers. 0 when a bind came last (or uevents were lost: not known),
 * -ENOENT for a device it does not follow, -EINVAL. */
int uevent_probe_pending(void *state, const char *device);
