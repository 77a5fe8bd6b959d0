-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- Migration 1: the initial probestorm schema. A run (one campaign execution) references a
-- kernel identity and a target; it owns its cycles, and each cycle owns its actions,
-- observations and the kernel events seen while it ran. Events outside any cycle (boot
-- records, pstore dumps) belong to the run alone. `inflight` survives a crash of the
-- target: the runner records the action it is about to perform there first, so a crash
-- found after the reboot maps to that exact action. Enumerations are stored by name (the
-- strings of lib/model.c) and checked here, so a row is readable without the binary.
-- db.c applies this file in one transaction and then sets PRAGMA user_version = 1.

-- Two kernels are the same kernel only if every identity field matches. NULL means "not
-- known" (e.g. no build id) and must compare equal to another NULL for deduplication, which
-- a plain UNIQUE constraint does not do; the index maps NULL to a blob that no text value
-- can equal, keeping NULL and '' distinct.
CREATE TABLE kernels (
	id INTEGER PRIMARY KEY,
	release TEXT NOT NULL,
	version TEXT NOT NULL,
	build_id TEXT,
	cmdline TEXT NOT NULL,
	label TEXT,
	patches TEXT,
	fw_devlink TEXT,
	deferred_probe_timeout TEXT
);
CREATE UNIQUE INDEX kernels_identity ON kernels (
	release, version, IFNULL(build_id, x'00'), cmdline, IFNULL(label, x'00'),
	IFNULL(patches, x'00'), IFNULL(fw_devlink, x'00'), IFNULL(deferred_probe_timeout, x'00')
);
CREATE INDEX kernels_label ON kernels (label);

CREATE TABLE targets (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL CHECK (name <> ''),
	kind TEXT NOT NULL CHECK (kind IN ('local', 'qemu')),
	UNIQUE (name, kind)
);

CREATE TABLE runs (
	id INTEGER PRIMARY KEY,
	uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
	kernel_id INTEGER NOT NULL REFERENCES kernels (id),
	target_id INTEGER NOT NULL REFERENCES targets (id),
	campaign TEXT NOT NULL,
	scenario TEXT NOT NULL,
	scenario_text TEXT,
	load_profile TEXT,
	load_args TEXT,
	load_metrics TEXT,
	sweep_var TEXT,
	cycles_planned INTEGER NOT NULL CHECK (cycles_planned >= 0),
	started_at TEXT NOT NULL,
	finished_at TEXT,
	status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'aborted', 'interrupted')),
	hostname TEXT
);
CREATE INDEX runs_kernel ON runs (kernel_id);
CREATE INDEX runs_target ON runs (target_id);
CREATE INDEX runs_campaign ON runs (campaign);
CREATE INDEX runs_started ON runs (started_at);

CREATE TABLE cycles (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq INTEGER NOT NULL CHECK (seq >= 0),
	boot INTEGER NOT NULL DEFAULT 0 CHECK (boot >= 0),
	sweep_value INTEGER,                    -- NULL: the run does not sweep
	start_ns INTEGER NOT NULL,
	end_ns INTEGER NOT NULL,
	outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'deferred_ok', 'unbound', 'probe_failed',
		'warn', 'no_iommu', 'late_iommu_probe', 'hang', 'oops', 'crash')),
	deferrals INTEGER NOT NULL DEFAULT 0 CHECK (deferrals >= 0),
	note TEXT,
	UNIQUE (run_id, seq)
);
-- Outcome counts per run (summary, compare engine) read this index only.
CREATE INDEX cycles_run_outcome ON cycles (run_id, outcome);

-- end_ns is NULL while the action has not returned; state says why: never started
-- (pending), still inside the kernel (running), returned (done), given up on (hung).
CREATE TABLE actions (
	id INTEGER PRIMARY KEY,
	cycle_id INTEGER NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
	idx INTEGER NOT NULL CHECK (idx >= 0),
	grp INTEGER NOT NULL DEFAULT -1 CHECK (grp >= -1),
	verb TEXT NOT NULL CHECK (verb IN ('unbind', 'bind', 'probe', 'insmod', 'modprobe',
		'rmmod', 'sleep', 'wait-bound', 'reboot')),
	arg TEXT,
	params TEXT,
	offset_us INTEGER NOT NULL DEFAULT 0,
	start_ns INTEGER NOT NULL,
	end_ns INTEGER,
	err INTEGER NOT NULL DEFAULT 0 CHECK (err >= 0),
	hung INTEGER NOT NULL DEFAULT 0 CHECK (hung IN (0, 1)),
	state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'hung')),
	UNIQUE (cycle_id, idx)
);

-- iommu_group and time_to_bound_ns are NULL where the model says -1 (none / unbound).
CREATE TABLE observations (
	id INTEGER PRIMARY KEY,
	cycle_id INTEGER NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
	device TEXT NOT NULL,
	consumer INTEGER NOT NULL CHECK (consumer IN (0, 1)),
	driver TEXT,
	iommu_group INTEGER CHECK (iommu_group >= 0),
	domain_type TEXT,
	time_to_bound_ns INTEGER CHECK (time_to_bound_ns >= 0),
	deferrals INTEGER NOT NULL DEFAULT 0 CHECK (deferrals >= 0),
	deferred_reason TEXT,
	outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'deferred_ok', 'unbound', 'probe_failed',
		'warn', 'no_iommu', 'late_iommu_probe', 'hang', 'oops', 'crash')),
	UNIQUE (cycle_id, device)
);

-- (run, boot, source, seq) names one kernel record, which makes importing the same
-- bundle twice a no-op. kmsg and uevent records carry their own sequence numbers; for
-- sources without one the producer assigns one, unique per source and boot.
CREATE TABLE events (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	cycle_id INTEGER REFERENCES cycles (id) ON DELETE CASCADE,   -- NULL: outside cycles
	boot INTEGER NOT NULL DEFAULT 0 CHECK (boot >= 0),
	source TEXT NOT NULL CHECK (source IN ('kmsg', 'uevent', 'tracefs', 'pstore', 'console')),
	class TEXT NOT NULL CHECK (class IN ('info', 'marker', 'late_iommu_probe', 'warn', 'oops',
		'panic', 'hung_task', 'deferred_timeout', 'probe_failed', 'probe_time',
		'iommu_trace', 'uevent')),
	seq INTEGER NOT NULL CHECK (seq >= 0),
	ts_ns INTEGER NOT NULL,
	prio INTEGER CHECK (prio BETWEEN 0 AND 7),                      -- NULL: no priority
	device TEXT,
	message TEXT NOT NULL,
	detail TEXT,
	UNIQUE (run_id, boot, source, seq)
);
CREATE INDEX events_cycle ON events (cycle_id);
CREATE INDEX events_run_class ON events (run_id, class);

-- At most one row per run: the action the runner is about to perform or performing.
-- Written (durably) before a risky action and cleared after it returned.
CREATE TABLE inflight (
	run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	cycle_seq INTEGER NOT NULL CHECK (cycle_seq >= 0),
	action_idx INTEGER NOT NULL CHECK (action_idx >= 0),
	grp INTEGER NOT NULL DEFAULT -1,
	verb TEXT NOT NULL CHECK (verb IN ('unbind', 'bind', 'probe', 'insmod', 'modprobe',
		'rmmod', 'sleep', 'wait-bound', 'reboot')),
	arg TEXT,
	params TEXT,
	offset_us INTEGER NOT NULL DEFAULT 0,
	started_at_ns INTEGER NOT NULL
);

-- One row per cycle with what the compare engine groups by.
CREATE VIEW v_cycle_outcomes AS
SELECT
	r.id AS run_id, r.uuid AS run_uuid, r.campaign, r.scenario, r.sweep_var,
	k.id AS kernel_id, k.label AS kernel_label, k.release AS kernel_release,
	t.name AS target, t.kind AS target_kind,
	c.id AS cycle_id, c.seq, c.boot, c.sweep_value, c.outcome, c.deferrals,
	c.end_ns - c.start_ns AS duration_ns
FROM cycles c
JOIN runs r ON r.id = c.run_id
JOIN kernels k ON k.id = r.kernel_id
JOIN targets t ON t.id = r.target_id;

-- One row per consumer device per cycle (suppliers are left out: their outcome is what
-- the consumer's observation already reflects).
CREATE VIEW v_observation_outcomes AS
SELECT
	r.id AS run_id, r.uuid AS run_uuid, r.campaign, r.scenario, r.sweep_var,
	k.id AS kernel_id, k.label AS kernel_label, k.release AS kernel_release,
	t.name AS target, t.kind AS target_kind,
	c.id AS cycle_id, c.seq, c.boot, c.sweep_value, c.outcome AS cycle_outcome,
	o.device, o.driver, o.iommu_group, o.domain_type, o.time_to_bound_ns,
	o.deferrals, o.deferred_reason, o.outcome
FROM observations o
JOIN cycles c ON c.id = o.cycle_id
JOIN runs r ON r.id = c.run_id
JOIN kernels k ON k.id = r.kernel_id
JOIN targets t ON t.id = r.target_id
WHERE o.consumer = 1;
