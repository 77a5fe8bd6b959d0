-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- Migration 6: events_run_class (run_id, class) is replaced by a partial index of the
-- events that belong to no cycle. No query selects events by class; the one query it
-- served, a run's unattached events (boot records, pstore dumps: db_events_load_unattached),
-- walked every event of the run through it, ten million in bench/api's database, and
-- every stored event paid for one more index entry. The partial index holds only the few
-- unattached events, and an event a cycle adopts later (db.c's ON CONFLICT) leaves it.
-- Bulk ingest: 96-98k -> 104k events/s (bench/api-gen, 5*10^4 cycles, same machine).

DROP INDEX events_run_class;
CREATE INDEX events_unattached ON events (run_id) WHERE cycle_id IS NULL;
