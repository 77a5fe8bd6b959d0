/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel identity (collector.h): what tells two kernels apart when they are compared.
 * uname(2) release and version, the GNU build id from the ELF notes the kernel exports in
 * /sys/kernel/notes, the command line from /proc/cmdline and the two parameters on it that
 * change probe behaviour: fw_devlink= and deferred_probe_timeout=. Paths go through kio,
 * so a fake tree gives a fake identity; uname(2) has no path and is the real one.
 * Also the boot identity: the boot_id the kernel draws at every boot, which tells a
 * restarted daemon whether the target rebooted since its in-flight record was written.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "collector.h"
#include "kio.h"
#include "kparse.h"
#include "log.h"
#include "macro.h"
#include "util.h"

/* /sys/kernel/notes is a few hundred bytes of binary notes. */
#define IDENTITY_NOTES_MAX 65536

static int identity_build_id(char **ret)
{
	char p[PATH_MAX];
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int k;

	k = kio_path(p, sizeof(p), "/sys/kernel/notes");
	if (k < 0)
		return k;
	k = kio_read_bytes(p, IDENTITY_NOTES_MAX, &buf, &len);
	if (k < 0)
		return k;
	return kparse_build_id(buf, len, ret);
}

static int identity_param(const char *cmdline, const char *key, char **ret)
{
	int k = kparse_cmdline_param(cmdline, key, ret);

	return k == -ENOENT ? 0 : k; /* absent: the kernel default, left NULL */
}

int identity_collect(struct kernel_identity *ret)
{
	struct kernel_identity id = {};
	struct utsname u;
	char p[PATH_MAX];
	int k;

	if (!ret)
		return -EINVAL;
	if (uname(&u) < 0)
		return log_error_errno(errno, "identity: uname failed");
	id.release = strdup(u.release);
	id.version = strdup(u.version);
	if (!id.release || !id.version) {
		k = log_oom();
		goto fail;
	}

	k = identity_build_id(&id.build_id);
	if (k < 0) {
		/* kernels without CONFIG_BUILD_ID / notes: compare by the rest */
		log_warning_errno(k, "identity: no GNU build id from /sys/kernel/notes");
		id.build_id = NULL;
	}

	k = kio_path(p, sizeof(p), "/proc/cmdline");
	if (k >= 0)
		k = kio_read_file(p, &id.cmdline);
	if (k < 0) {
		log_error_errno(k, "identity: cannot read '%s'", p);
		goto fail;
	}
	strip_trailing(id.cmdline);
	k = identity_param(id.cmdline, "fw_devlink", &id.fw_devlink);
	if (k >= 0)
		k = identity_param(id.cmdline, "deferred_probe_timeout",
				   &id.deferred_probe_timeout);
	if (k < 0) {
		log_oom();
		goto fail;
	}

	*ret = id;
	return 0;
fail:
	kernel_identity_done(&id);
	return k;
}

int identity_boot_id(char **ret)
{
	_cleanup_free_ char *id = NULL;
	char p[PATH_MAX];
	int k;

	if (!ret)
		return -EINVAL;
	k = kio_path(p, sizeof(p), "/proc/sys/kernel/random/boot_id");
	if (k < 0)
		return k;
	k = kio_read_file(p, &id);
	if (k < 0)
		return k;
	strip_trailing(id);
	/* a UUID in its 36-character text form; anything else is not a boot_id */
	if (strlen(id) != 36 || strspn(id, "0123456789abcdef-") != 36)
		return -EBADMSG;
	*ret = TAKE_PTR(id);
	return 0;
}
