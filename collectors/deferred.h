/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The devices_deferred collector's poll for the runner (the collector itself is
 * collector_deferred in collector.h). state is the collector's state pointer.
 */
#pragma once

/* Reads /sys/kernel/debug/devices_deferred once and counts, per topology device, each time
 * it newly appears on the list (a deferral "sighting") in the current cycle. Cheap enough
 * for the runner's wait loop (one small debugfs read). 0 or negative errno (not logged
 * again on every call: the first failure of a run is logged). */
int deferred_poll(void *state);
