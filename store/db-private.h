/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The error channel of store/db.c for the other store/ files that prepare statements of
 * their own (db-push.c, db-runner.c): they record failures in the same struct db, so a
 * caller logs db_errmsg() whichever file failed. Included only by the .c files of store/.
 * TODO(store-internal): use the shared one (one header, one cleanup, one errno mapping).
 */
#pragma once

#include "db.h"
#include "macro.h"

/* Records SQLite's message for result code rc in db and returns rc mapped to a negative
 * errno as db.h lists. */
int db_sqlerr(struct db *db, int rc);
/* The same for a failure SQLite recorded on the connection but did not return
 * (sqlite3_bind_*). */
int db_sqlerr_last(struct db *db);
/* Records a message of our own in db and returns err (a negative errno). */
_printf_(3, 4) int db_fail(struct db *db, int err, const char *fmt, ...);
