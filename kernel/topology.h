/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The topology check: before a campaign runs, every device and driver its scenario uses must
 * exist in the (kio-rooted) sysfs. It reads a parsed config (lib/conf.h) and asks kernel/kio;
 * the config parser itself never looks at the live system.
 */
#pragma once

#include "conf.h"

/* Checks camp's topology against sysfs: for each device a step of its scenario names, the
 * suppliers of those devices, and each device whose module a step loads or unloads: the bus
 * and the device exist; unless the scenario manages the driver's module, the driver exists
 * too; and for a bind or unbind step, the driver has its bind/unbind files. Returns 0, or
 * -EINVAL (c or camp NULL), -ENOMEM, -ENOENT (unknown scenario, missing bus, device or
 * driver), -EOPNOTSUPP (no bind/unbind files) or kio's error; except for -EINVAL and
 * -ENOMEM, a malloc'd message naming the campaign or device goes to *ret_error (the caller
 * frees it) when ret_error is not NULL. */
int topology_check(const struct conf *c, const struct conf_campaign *camp,
		   char **ret_error);
