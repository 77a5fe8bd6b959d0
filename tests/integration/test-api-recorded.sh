#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The API over a database filled from a bundle recorded from the real QEMU kit
# (tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson: campaign e2e, 28 cycles each on the
# stock and lkml-v1 Linux 7.3.4 kernels): the compare endpoint reports what the kernels
# did (decon-ctl's late_iommu_probe 3/28 on stock, 28/28 on lkml-v1: a regression), a
# run's cycles filter by offset, and a late-probe cycle carries the kernel's WARN record.
. "$(dirname "$0")/lib.sh"
PS_BUNDLE=$top_srcdir/tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson

ps_config api "token = $TOKEN"
ps_database "$ps_tmp/db"
ps_start "$ps_tmp/api.conf" "$ps_tmp/db"

ps_req GET /api/v1/kernels
expect 200 "two recorded kernels" '(.kernels | length) == 2' \
	'([.kernels[].label] | sort) == ["lkml-v1", "stock"]' \
	'all(.kernels[]; .release == "7.3.4-probestorm+" and .cycles == 28)'

ps_req GET '/api/v1/compare?base=stock&head=lkml-v1'
expect 200 "compare stock vs lkml-v1: a regression" '.verdict == "regression"' \
	'(.groups[] | select(.consumer == "decon-ctl") | .outcomes[] |
	  select(.outcome == "late_iommu_probe") | .base_k == 3 and .base_n == 28 and
	  .head_k == 28 and .head_n == 28 and .verdict == "regression" and .p < 1e-6)' \
	'(.groups[] | select(.consumer == "decon") | .window.base.found == true and
	  .window.head.found == false)'

ps_req GET '/api/v1/report?selector=stock'
expect 200 "report on stock: both consumers, the late-probe WARN with its call trace" \
	'(.groups | length) == 2' '.runs == 1' \
	'(.evidence[] | select(.outcome == "late_iommu_probe") | .event.detail |
	  test("Call trace:"))'
ps_req GET '/api/v1/report?selector=nope'
expect_error 404 "report on a selector matching nothing"
ps_req GET '/api/v1/report'
expect_error 400 "report without a selector"

ps_req GET '/api/v1/runs?kernel=stock'
expect 200 "the stock run" '(.runs | length) == 1'
uuid=$(jq -r '.runs[0].uuid' "$ps_tmp/body")

ps_req GET "/api/v1/runs/$uuid/cycles?sweep=80000"
expect 200 "the stock run's cycles at 80 ms" '(.cycles | length) == 4' \
	'all(.cycles[]; .sweep_value == 80000)'

# /sweep and /trend read the counts kept at ingest (schema 004): they must equal what the
# raw observations of the recording say.
raw() {
	sqlite3 -batch -noheader "$ps_tmp/db" "SELECT COUNT(*) FROM observations o JOIN cycles c
		ON c.id = o.cycle_id JOIN runs r ON r.id = c.run_id WHERE o.consumer = 1 AND $1"
}
fail=$(raw "r.uuid = '$uuid' AND c.sweep_value IS NOT NULL AND
	    o.outcome NOT IN ('ok', 'deferred_ok')")
all=$(raw "r.uuid = '$uuid' AND c.sweep_value IS NOT NULL")
ps_req GET "/api/v1/sweep?run=$uuid"
expect 200 "sweep counts equal the raw observations ($fail of $all failed)" \
	"([.consumers[].buckets[].failures // 0] | add) == $fail" \
	"([.consumers[].buckets[].n] | add) == $all"
late=$(raw "o.device = 'decon-ctl' AND o.outcome = 'late_iommu_probe'")
ps_req GET '/api/v1/trend?target=guest&consumer=decon-ctl&metric=late_iommu_probe'
expect 200 "trend counts equal the raw observations ($late late probes)" \
	"([.points[].k] | add) == $late" "([.points[].n] | add) == 56"

id=$(sqlite3 -batch -noheader "$ps_tmp/db" "SELECT c.id FROM cycles c JOIN observations o ON
     o.cycle_id = c.id JOIN runs r ON r.id = c.run_id WHERE r.uuid = '$uuid' AND
     o.device = 'decon' AND o.outcome = 'late_iommu_probe' ORDER BY c.seq LIMIT 1")
ps_req GET "/api/v1/cycles/$id"
expect 200 "a late-probe cycle carries the kernel's WARN for decon" \
	'any(.events[]; .class == "late_iommu_probe" and .device == "decon" and
	     (.detail | test("iommu\\.c:654")))' \
	'any(.observations[]; .device == "decon" and .outcome == "late_iommu_probe")'
ps_done
