/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestorm qemu: hands over to the QEMU kit's host runner.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "verbs.h"

/* qemu ...: the QEMU kit's host runner (contrib/qemu/run-campaign) with this binary as the
 * host's probestorm. The kit is looked for in $PROBESTORM_QEMU_KIT, beside a build tree
 * (../contrib/qemu from this executable) and in PKGDATADIR/qemu. */
int verb_qemu(struct cli_opts *cli, int argc, char **argv)
{
	char self[PATH_MAX], cand[3][PATH_MAX + 64];
	const char *env = getenv("PROBESTORM_QEMU_KIT");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	size_t k = 0;

	if (n < 0)
		return log_error_errno(errno, "Cannot find this executable"), EXIT_ERROR;
	self[n] = '\0';
	if (env)
		snprintf(cand[k++], sizeof(cand[0]), "%s/run-campaign", env);
	slash = strrchr(self, '/');
	snprintf(cand[k++], sizeof(cand[0]), "%.*s/../contrib/qemu/run-campaign",
		 (int)(slash ? slash - self : 1), slash ? self : ".");
	snprintf(cand[k++], sizeof(cand[0]), "%s/qemu/run-campaign", PKGDATADIR);
	for (size_t i = 0; i < k; i++) {
		if (access(cand[i], X_OK) != 0)
			continue;
		setenv("PROBESTORM", self, 1);
		if (cli->database)
			setenv("PROBESTORM_DB", cli->database, 1);
		argv[0] = cand[i];
		execv(cand[i], argv);
		return log_error_errno(errno, "Cannot run '%s'", cand[i]), EXIT_ERROR;
	}
	log_error(
		"the QEMU kit (contrib/qemu/run-campaign) was not found; set PROBESTORM_QEMU_KIT");
	return EXIT_ERROR;
}
