-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- Migration 7: every cycle counts, and latency is that of cycles that bound correctly.
--
-- A cycle the target died in (crash) or hung in (hang, the host's watchdog) used to be
-- stored with its in-flight action and no observation and, from a QEMU guest, no sweep
-- value: the counts of agg_outcomes come from consumer observations only, so compare,
-- report, decide, /sweep, /trend, the heatmap and KCIDB left such cycles out (a crashing
-- kernel compared "no regression"). Such a cycle is now stored with one observation per
-- consumer of the run, with the cycle's outcome, and with its sweep value
-- (lib/guestlog.c, guestlog_death_cycle). For that:
--   - runs.consumers: the consumers the runner observes ("decon decon-ctl"), known at
--     the start of a run, so a death in the very first cycle names them too. NULL for
--     runs recorded before this migration or by an older producer.
--   - inflight.sweep_value: the sweep value of the cycle in flight (NULL: no sweep).
-- Cycles recorded before this migration are backfilled below.
--
-- Latency: time to bound and bind latency are compared only between cycles whose outcome
-- is ok or deferred_ok (a failure mode that skips work makes a bind faster; DESIGN.md).
-- agg_latency now counts only those cycles; the raw path of lib/compare.c filters the
-- same way.

ALTER TABLE runs ADD COLUMN consumers TEXT;
ALTER TABLE inflight ADD COLUMN sweep_value INTEGER;

-- The sweep value of a crash/hang cycle that has none, in a run that sweeps: the runner
-- gives cycle k the point k mod steps (daemon/runner.c), so with S the number of distinct
-- values the run recorded, the value is that of the cycles with the same seq mod S --
-- when the run recorded more than S such cycles (some point came round again) and every
-- residue maps to exactly one value; otherwise S need not be the number of steps (a run
-- that stopped before visiting every point) and the value stays unknown. lib/db.c's
-- db_run_sweep_guess() applies the same rule.
CREATE TEMP TABLE sweep_steps AS
	SELECT run_id, COUNT(DISTINCT sweep_value) AS s FROM cycles
	WHERE sweep_value IS NOT NULL GROUP BY run_id;
DELETE FROM sweep_steps WHERE run_id IN (
	SELECT c.run_id FROM cycles c JOIN sweep_steps t ON t.run_id = c.run_id
	WHERE c.sweep_value IS NOT NULL
	GROUP BY c.run_id, c.seq % t.s HAVING COUNT(DISTINCT c.sweep_value) > 1)
   OR run_id IN (
	SELECT c.run_id FROM cycles c JOIN sweep_steps t ON t.run_id = c.run_id
	WHERE c.sweep_value IS NOT NULL GROUP BY c.run_id HAVING COUNT(*) <= MAX(t.s));
UPDATE cycles SET sweep_value = (
		SELECT c2.sweep_value FROM cycles c2 JOIN sweep_steps t ON t.run_id = c2.run_id
		WHERE c2.run_id = cycles.run_id AND c2.sweep_value IS NOT NULL
		  AND c2.seq % t.s = cycles.seq % t.s LIMIT 1)
	WHERE outcome IN ('crash', 'hang') AND sweep_value IS NULL
	  AND run_id IN (SELECT id FROM runs WHERE sweep_var IS NOT NULL)
	  AND NOT EXISTS (SELECT 1 FROM observations o WHERE o.cycle_id = cycles.id);
DROP TABLE sweep_steps;

-- One observation per consumer the run observed elsewhere, with the cycle's outcome. The
-- trigger observations_agg counts them into agg_outcomes as it counts any other.
INSERT INTO observations (cycle_id, device, consumer, outcome)
	SELECT c.id, d.device, 1, c.outcome
	FROM cycles c
	JOIN (SELECT DISTINCT c2.run_id, o.device FROM observations o
	      JOIN cycles c2 ON c2.id = o.cycle_id WHERE o.consumer = 1) d
	  ON d.run_id = c.run_id
	WHERE c.outcome IN ('crash', 'hang')
	  AND NOT EXISTS (SELECT 1 FROM observations o WHERE o.cycle_id = c.id)
	ORDER BY c.id, d.device;

-- Latency of the cycles that bound correctly only (the triggers of 004, with the cycle's
-- outcome as a condition; the bins are computed as there).
DROP TRIGGER observations_agg;
DROP TRIGGER actions_agg;
DROP TRIGGER cycles_agg_delete;

CREATE TRIGGER observations_agg AFTER INSERT ON observations WHEN NEW.consumer = 1
BEGIN
	INSERT INTO agg_outcomes (run_id, device, swept, sweep_value, outcome, n)
		SELECT c.run_id, NEW.device, c.sweep_value IS NOT NULL,
		       IFNULL(c.sweep_value, 0), NEW.outcome, 1
		FROM cycles c WHERE c.id = NEW.cycle_id
		ON CONFLICT (run_id, swept, sweep_value, device, outcome) DO UPDATE SET n = n + 1;
	INSERT INTO agg_latency (run_id, device, metric, bin, n)
		SELECT c.run_id, NEW.device, 'time_to_bound',
		       CASE WHEN NEW.time_to_bound_ns < 1000 THEN NEW.time_to_bound_ns
		       ELSE NEW.time_to_bound_ns - NEW.time_to_bound_ns %
		            CAST(substr('1000000000000000000', 1,
		                        length(NEW.time_to_bound_ns) - 2) AS INTEGER) END, 1
		FROM cycles c WHERE c.id = NEW.cycle_id AND NEW.time_to_bound_ns IS NOT NULL
		  AND c.outcome IN ('ok', 'deferred_ok')
		ON CONFLICT (run_id, metric, device, bin) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER actions_agg AFTER INSERT ON actions
WHEN NEW.verb IN ('bind', 'probe') AND NEW.end_ns IS NOT NULL AND NEW.arg IS NOT NULL
BEGIN
	INSERT INTO agg_latency (run_id, device, metric, bin, n)
		SELECT c.run_id, NEW.arg, 'bind_latency',
		       CASE WHEN NEW.end_ns - NEW.start_ns < 1000 THEN NEW.end_ns - NEW.start_ns
		       ELSE (NEW.end_ns - NEW.start_ns) - (NEW.end_ns - NEW.start_ns) %
		            CAST(substr('1000000000000000000', 1,
		                        length(NEW.end_ns - NEW.start_ns) - 2) AS INTEGER) END, 1
		FROM cycles c WHERE c.id = NEW.cycle_id AND c.outcome IN ('ok', 'deferred_ok')
		ON CONFLICT (run_id, metric, device, bin) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER cycles_agg_delete BEFORE DELETE ON cycles
BEGIN
	UPDATE agg_outcomes SET n = n - 1
		WHERE run_id = OLD.run_id AND swept = (OLD.sweep_value IS NOT NULL)
		  AND sweep_value = IFNULL(OLD.sweep_value, 0)
		  AND (device, outcome) IN (SELECT device, outcome FROM observations
		                            WHERE cycle_id = OLD.id AND consumer = 1);
	UPDATE agg_latency SET n = n - 1
		WHERE run_id = OLD.run_id AND metric = 'time_to_bound'
		  AND OLD.outcome IN ('ok', 'deferred_ok')
		  AND (device, bin) IN (
			SELECT device, CASE WHEN time_to_bound_ns < 1000 THEN time_to_bound_ns
			       ELSE time_to_bound_ns - time_to_bound_ns %
			            CAST(substr('1000000000000000000', 1,
			                        length(time_to_bound_ns) - 2) AS INTEGER) END
			FROM observations
			WHERE cycle_id = OLD.id AND consumer = 1 AND time_to_bound_ns IS NOT NULL);
	UPDATE agg_latency SET n = n - (
			SELECT COUNT(*) FROM actions a
			WHERE a.cycle_id = OLD.id AND a.verb IN ('bind', 'probe')
			  AND a.end_ns IS NOT NULL AND a.arg = agg_latency.device
			  AND agg_latency.bin = CASE WHEN a.end_ns - a.start_ns < 1000
				THEN a.end_ns - a.start_ns
				ELSE (a.end_ns - a.start_ns) - (a.end_ns - a.start_ns) %
				     CAST(substr('1000000000000000000', 1,
				                 length(a.end_ns - a.start_ns) - 2) AS INTEGER) END)
		WHERE run_id = OLD.run_id AND metric = 'bind_latency'
		  AND OLD.outcome IN ('ok', 'deferred_ok')
		  AND (device, bin) IN (
			SELECT arg, CASE WHEN end_ns - start_ns < 1000 THEN end_ns - start_ns
			       ELSE (end_ns - start_ns) - (end_ns - start_ns) %
			            CAST(substr('1000000000000000000', 1,
			                        length(end_ns - start_ns) - 2) AS INTEGER) END
			FROM actions
			WHERE cycle_id = OLD.id AND verb IN ('bind', 'probe')
			  AND end_ns IS NOT NULL AND arg IS NOT NULL);
	DELETE FROM agg_outcomes WHERE run_id = OLD.run_id AND n = 0;
	DELETE FROM agg_latency WHERE run_id = OLD.run_id AND n = 0;
END;

-- agg_latency again from the raw rows, with the new condition.
DELETE FROM agg_latency;
INSERT INTO agg_latency (run_id, device, metric, bin, n)
	SELECT c.run_id, o.device, 'time_to_bound',
	       CASE WHEN o.time_to_bound_ns < 1000 THEN o.time_to_bound_ns
	       ELSE o.time_to_bound_ns - o.time_to_bound_ns %
	            CAST(substr('1000000000000000000', 1,
	                        length(o.time_to_bound_ns) - 2) AS INTEGER) END, COUNT(*)
	FROM observations o JOIN cycles c ON c.id = o.cycle_id
	WHERE o.consumer = 1 AND o.time_to_bound_ns IS NOT NULL
	  AND c.outcome IN ('ok', 'deferred_ok')
	GROUP BY 1, 2, 3, 4;
INSERT INTO agg_latency (run_id, device, metric, bin, n)
	SELECT c.run_id, a.arg, 'bind_latency',
	       CASE WHEN a.end_ns - a.start_ns < 1000 THEN a.end_ns - a.start_ns
	       ELSE (a.end_ns - a.start_ns) - (a.end_ns - a.start_ns) %
	            CAST(substr('1000000000000000000', 1,
	                        length(a.end_ns - a.start_ns) - 2) AS INTEGER) END, COUNT(*)
	FROM actions a JOIN cycles c ON c.id = a.cycle_id
	WHERE a.verb IN ('bind', 'probe') AND a.end_ns IS NOT NULL AND a.arg IS NOT NULL
	  AND c.outcome IN ('ok', 'deferred_ok')
	GROUP BY 1, 2, 3, 4;
