-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- Migration 3: the runs this database's own runner started (not imported from a bundle or
-- pushed by a rig). After a boot, probestormd takes up only these: a central daemon must
-- never resume a rig's run on its own kernel. Runs recorded before this migration were
-- all local unless imported; those still "running" are counted as local when they have an
-- in-flight action, which only the local runner writes.

CREATE TABLE local_runs (
	run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE
);
INSERT INTO local_runs (run_id) SELECT run_id FROM inflight;
