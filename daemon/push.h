/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Push: a rig's probestormd sends its runs to a central probestormd ([push] in the
 * config; POST {url}/api/v1/bundles with the bearer token). One thread does all of it, so
 * the runner never waits on the network. It watches the database: what is new in a run
 * that ended, or in a running run once per [push] interval, is exported as NDJSON bundle
 * files (run line, events outside cycles, new cycles, end line) into the spool directory
 * (temp file, fsync, rename), and the push_runs table (schema/002-push.sql) records what
 * was spooled. Spooled files are sent and deleted after a 2xx answer; the central import
 * is idempotent, so a file sent twice changes nothing there. Network errors, 5xx, 408 and
 * 429 are retried with capped exponential backoff and jitter; any other 4xx is permanent
 * and the file moves to failed/ in the spool directory. What is in the spool at start is
 * sent first, so a kill -9 or a central outage loses nothing.
 */
#pragma once

#include "conf.h"

struct push;

struct push_opts {
	const struct conf_push *conf; /* [push]; must outlive the pusher */
	const char *database;	      /* path of the daemon's database (own connection) */
};

/* Creates the spool directories, reads the token (token-file), opens a database
 * connection and starts the thread. Errors are logged; returns 0 or a negative errno
 * (-EOPNOTSUPP without libcurl, -EINVAL for an empty token, the errno of mkdir/open, a
 * db error). The caller owns *ret (push_stop). */
int push_start(const struct push_opts *o, struct push **ret);
/* Tells the thread to look at the database now (a run ended). Accepts NULL. */
void push_kick(struct push *p);
/* Spools the latest state of changed runs (no network), stops the thread (an ongoing
 * request is aborted; its file stays in the spool) and frees everything. Accepts NULL. */
void push_stop(struct push *p);
