/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One logging API for daemon, CLI and tests: stderr in the foreground, the journal (with
 * structured fields) when built with libsystemd and running under systemd. Parsers and the
 * database layer never log; they return negative errno and let their caller log.
 */
#pragma once

#include <syslog.h>

#include "macro.h"

enum log_target { LOG_TARGET_STDERR, LOG_TARGET_JOURNAL };

void log_setup(const char *ident, enum log_target target, int max_level);
void log_set_max_level(int level);
int log_get_max_level(void);

/* The run this thread logs for (a UUID; NULL: none): under the journal its entries carry
 * PROBESTORM_RUN=UUID, so `journalctl PROBESTORM_RUN=UUID` selects a run. Per thread. */
void log_set_run(const char *uuid);
const char *log_get_run(void);

/* Logs at level; returns -abs(err) (or -EIO when err is 0) so callers can `return log_...`. */
int log_internal(int level, int err, const char *file, int line, const char *fmt, ...)
	_printf_(5, 6);

#define log_full_errno(level, err, ...) \
	log_internal(level, err, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...)	 log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)	 log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)	 log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)	 log_full_errno(LOG_ERR, 0, __VA_ARGS__)
/* The _errno variants append ": <strerror(err)>" to the message. */
#define log_warning_errno(err, ...) log_full_errno(LOG_WARNING, err, __VA_ARGS__)
#define log_error_errno(err, ...)   log_full_errno(LOG_ERR, err, __VA_ARGS__)
#define log_debug_errno(err, ...)   log_full_errno(LOG_DEBUG, err, __VA_ARGS__)
#define log_oom()		    log_full_errno(LOG_ERR, ENOMEM, "Out of memory")
