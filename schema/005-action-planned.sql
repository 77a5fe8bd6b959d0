-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- Migration 5: each action's planned start, CLOCK_MONOTONIC ns (its group's t0 plus its
-- offset), so the lateness of an action (start_ns - planned_ns) can be reported and a
-- cycle whose offsets were badly honoured told from a good one. NULL for actions that had
-- no planned time (sequential steps run as soon as the previous one returned) and for
-- every action recorded before this migration or imported from an older bundle.

ALTER TABLE actions ADD COLUMN planned_ns INTEGER;
