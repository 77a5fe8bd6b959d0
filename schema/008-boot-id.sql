-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- Migration 8: boot identity and the reason a run ended.
-- inflight.boot_id and cycles.boot_id hold the kernel's boot_id
-- (/proc/sys/kernel/random/boot_id) of the boot the action was started in / the cycle ran
-- in. At a restart the runner compares the in-flight record's boot_id with the running
-- kernel's: the same one means the daemon died and the target did not (the interrupted
-- cycle is run again, never counted); another one means the target died (a crash cycle).
-- NULL where it was not known: rows recorded before this migration, bundles from older
-- versions, kernels without the file; recovery then treats the target as dead, as before.
-- runs.status_reason says why a run ended as it did (e.g. why it was aborted: a cap on
-- reboots, a wedged target with on-wedged = abort); NULL when there is nothing to say.

ALTER TABLE inflight ADD COLUMN boot_id TEXT;
ALTER TABLE cycles ADD COLUMN boot_id TEXT;
ALTER TABLE runs ADD COLUMN status_reason TEXT;
