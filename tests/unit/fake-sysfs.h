/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * For unit tests: materialise the fake sysfs tree of the QEMU model (tests/data/fake-sysfs.sh)
 * in a temporary directory and remove it afterwards. Header-only, one tree per test binary.
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>

static char fake_sysfs_dir[64];
static char fake_sysfs_root[96];

/* Returns the root to pass to kio_set_root(), or NULL when the tree cannot be made. */
static inline const char *fake_sysfs_make(void)
{
	char cmd[512];

	snprintf(fake_sysfs_dir, sizeof(fake_sysfs_dir), "/tmp/probestorm-sysfs-XXXXXX");
	if (!mkdtemp(fake_sysfs_dir))
		return NULL;
	snprintf(fake_sysfs_root, sizeof(fake_sysfs_root), "%s/root", fake_sysfs_dir);
	snprintf(cmd, sizeof(cmd), "sh '%s/fake-sysfs.sh' '%s'", TEST_DATA_DIR,
		 fake_sysfs_root);
	if (system(cmd) != 0)
		return NULL;
	return fake_sysfs_root;
}

static inline void fake_sysfs_remove(void)
{
	char cmd[160];

	if (!fake_sysfs_dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake_sysfs_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fake_sysfs_dir);
	fake_sysfs_dir[0] = '\0';
}
