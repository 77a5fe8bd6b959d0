-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- Migration 2: what the pusher (daemon/push.c) has put into its spool for each run, so a
-- restarted daemon spools only what changed since (new cycles, a new status) and a
-- finished run is spooled once. A row is written only after the bundle files are renamed
-- into place in the spool directory; a file is deleted once the central daemon accepted
-- it. Rows go with their run.

CREATE TABLE push_runs (
	run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	next_seq INTEGER NOT NULL CHECK (next_seq >= 0), -- cycles below it are spooled
	status TEXT NOT NULL,                            -- the run's status when spooled
	spooled_at INTEGER NOT NULL                      -- unix seconds
);
