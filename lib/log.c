/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging backend: formats once, writes to stderr or sd_journal_send() with CODE_FILE,
 * CODE_LINE and ERRNO fields. Thread-safe: each message is one write(2)/one journal call.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_LIBSYSTEMD
/* The call site is passed in as CODE_FILE/CODE_LINE: without this, sd_journal_send() adds
 * its own (lib/log.c), and every entry has both (arrays of two values). */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#endif

#include "log.h"

static const char *log_ident = "probestorm";
static enum log_target log_target = LOG_TARGET_STDERR;
static int log_max_level = LOG_INFO;
/* Thread-local: the API's campaign thread and the main loop log for different runs. */
static _Thread_local char log_run[37];

void log_setup(const char *ident, enum log_target target, int max_level)
{
	log_ident = ident;
	log_target = target;
	log_max_level = max_level;
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

void log_set_run(const char *uuid)
{
	snprintf(log_run, sizeof(log_run), "%s", uuid ? uuid : "");
}

const char *log_get_run(void)
{
	return log_run[0] ? log_run : NULL;
}

int log_internal(int level, int err, const char *file, int line, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int saved = errno;

	if (err < 0)
		err = -err;
	if (level > log_max_level)
		goto out;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err > 0) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
	}

#ifdef HAVE_LIBSYSTEMD
	if (log_target == LOG_TARGET_JOURNAL) {
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, "CODE_FILE=%s",
				file, "CODE_LINE=%d", line, "ERRNO=%d", err,
				"SYSLOG_IDENTIFIER=%s", log_ident,
				/* the field list ends here (NULL) when there is no run */
				log_run[0] ? "PROBESTORM_RUN=%s" : NULL, log_run, NULL);
		goto out;
	}
#else
	(void)file;
	(void)line;
#endif
	{
		char buf[2200];
		int n = snprintf(buf, sizeof(buf), "%s: %s\n", log_ident, msg);
		if (n > (int)sizeof(buf))
			n = sizeof(buf);
		if (write(STDERR_FILENO, buf, (size_t)n) < 0) {
			/* Nothing sensible to do when stderr is gone. */
		}
	}
out:
	errno = saved;
	return err > 0 ? -err : -EIO;
}
