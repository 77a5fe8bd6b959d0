-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- Migration 4: what the compare engine needs, kept up to date as cycles are stored, so
-- that comparing two kernels reads a few thousand rows instead of every observation and
-- action of a million cycles (lib/compare.c; bench/RESULTS.md has the measurements).
--
-- agg_outcomes counts the consumer observations per run, consumer, sweep value and
-- outcome. agg_latency is a histogram per run, device and metric: the time to bound of
-- consumer observations and the latency of bind/probe actions (end - start), in ns.
-- Values below 1000 ns are kept exactly; larger ones are truncated to three significant
-- digits (1234567 -> 1230000), a bin at most 1% wide. The compare engine reads raw rows
-- when both sides together have few samples and these bins when they have many, so
-- statistics on large runs are those of the binned values (compare.h says which).
--
-- Triggers keep both tables in step with inserts into observations and actions (the only
-- writes probestorm makes to them) and with deleting cycles (deleting a run deletes its
-- cycles, and with them its rows here: no foreign key is needed, and none is declared,
-- which spares every counted row a lookup of its run); updating or deleting single
-- observations or actions is not followed. The binning is plain SQL, so the sqlite3 shell
-- can write to these tables too.

CREATE TABLE agg_outcomes (
	run_id INTEGER NOT NULL,                          -- runs (id)
	device TEXT NOT NULL,
	swept INTEGER NOT NULL CHECK (swept IN (0, 1)),  -- 0: the cycle had no sweep value
	sweep_value INTEGER NOT NULL,                     -- 0 when not swept
	outcome TEXT NOT NULL,
	n INTEGER NOT NULL CHECK (n >= 0),
	PRIMARY KEY (run_id, swept, sweep_value, device, outcome)
) WITHOUT ROWID;

CREATE TABLE agg_latency (
	run_id INTEGER NOT NULL,                          -- runs (id)
	device TEXT NOT NULL,
	metric TEXT NOT NULL CHECK (metric IN ('time_to_bound', 'bind_latency')),
	bin INTEGER NOT NULL,                             -- lower edge, ns
	n INTEGER NOT NULL CHECK (n >= 0),
	PRIMARY KEY (run_id, metric, device, bin)
) WITHOUT ROWID;

-- The bin of a value v (ns) is
--   CASE WHEN v < 1000 THEN v ELSE v - v % CAST(substr('1000000000000000000', 1,
--        length(v) - 2) AS INTEGER) END
-- (length(v) is the number of decimal digits of a non-negative integer); lib/compare.c
-- gives the width of a bin the same way.

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
		FROM cycles c WHERE c.id = NEW.cycle_id
		ON CONFLICT (run_id, metric, device, bin) DO UPDATE SET n = n + 1;
END;

-- The rows a cycle contributed, taken back before it goes (its children still exist in a
-- BEFORE trigger; the cascade deletes them after). Emptied rows are removed.
CREATE TRIGGER cycles_agg_delete BEFORE DELETE ON cycles
BEGIN
	UPDATE agg_outcomes SET n = n - 1
		WHERE run_id = OLD.run_id AND swept = (OLD.sweep_value IS NOT NULL)
		  AND sweep_value = IFNULL(OLD.sweep_value, 0)
		  AND (device, outcome) IN (SELECT device, outcome FROM observations
		                            WHERE cycle_id = OLD.id AND consumer = 1);
	UPDATE agg_latency SET n = n - 1
		WHERE run_id = OLD.run_id AND metric = 'time_to_bound'
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

-- What was recorded before this migration.
INSERT INTO agg_outcomes (run_id, device, swept, sweep_value, outcome, n)
	SELECT c.run_id, o.device, c.sweep_value IS NOT NULL, IFNULL(c.sweep_value, 0),
	       o.outcome, COUNT(*)
	FROM observations o JOIN cycles c ON c.id = o.cycle_id
	WHERE o.consumer = 1
	GROUP BY 1, 2, 3, 4, 5;
INSERT INTO agg_latency (run_id, device, metric, bin, n)
	SELECT c.run_id, o.device, 'time_to_bound',
	       CASE WHEN o.time_to_bound_ns < 1000 THEN o.time_to_bound_ns
	       ELSE o.time_to_bound_ns - o.time_to_bound_ns %
	            CAST(substr('1000000000000000000', 1,
	                        length(o.time_to_bound_ns) - 2) AS INTEGER) END, COUNT(*)
	FROM observations o JOIN cycles c ON c.id = o.cycle_id
	WHERE o.consumer = 1 AND o.time_to_bound_ns IS NOT NULL
	GROUP BY 1, 2, 3, 4;
INSERT INTO agg_latency (run_id, device, metric, bin, n)
	SELECT c.run_id, a.arg, 'bind_latency',
	       CASE WHEN a.end_ns - a.start_ns < 1000 THEN a.end_ns - a.start_ns
	       ELSE (a.end_ns - a.start_ns) - (a.end_ns - a.start_ns) %
	            CAST(substr('1000000000000000000', 1,
	                        length(a.end_ns - a.start_ns) - 2) AS INTEGER) END, COUNT(*)
	FROM actions a JOIN cycles c ON c.id = a.cycle_id
	WHERE a.verb IN ('bind', 'probe') AND a.end_ns IS NOT NULL AND a.arg IS NOT NULL
	GROUP BY 1, 2, 3, 4;
