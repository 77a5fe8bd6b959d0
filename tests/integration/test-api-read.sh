#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every GET endpoint of probestormd over a database filled from the committed bundle
# (two runs of rebind-sweep on qemu-sim: kernels stock and lkml-v1, consumers decon and
# decon-ctl, offsets 0/20/40/60 ms): status and the facts the bundle holds. Also the
# static files of the web root.
. "$(dirname "$0")/lib.sh"

ps_config api "token = $TOKEN"
ps_database "$ps_tmp/db"
ps_start "$ps_tmp/api.conf" "$ps_tmp/db"

ps_req GET /api/v1/health
expect 200 "health" '.status == "ok"' '.schema_version >= 1' '.ingest == true' \
	'.campaign.running == false' '(.version | type == "string")'
check "health is application/json" test "$(ps_header Content-Type)" = application/json

ps_req GET /api/v1/kernels
expect 200 "kernels" '(.kernels | length) == 2' \
	'([.kernels[].label] | sort) == ["lkml-v1", "stock"]' \
	'all(.kernels[]; .release == "7.3.4-probestorm" and .runs == 1 and .cycles == 20)' \
	'(.kernels[] | select(.label == "lkml-v1") | .patches) == "iommu-fwspec-ready-v1@5c3e9f1"'

ps_req GET /api/v1/targets
expect 200 "targets" '(.targets | length) == 1' '.targets[0].name == "qemu-sim"' \
	'.targets[0].kind == "qemu"' '.targets[0].runs == 2' '.targets[0].cycles == 40' \
	'.targets[0].last_run_at == "2026-11-20T11:00:00Z"'

ps_req GET /api/v1/runs
expect 200 "runs, newest first" '.total == 2' '.limit == 100' '.offset == 0' \
	'(.runs | length) == 2' ".runs[0].uuid == \"$LKML\"" ".runs[1].uuid == \"$STOCK\"" \
	'.runs[0].kernel.label == "lkml-v1"' '.runs[1].cycles == 20' \
	'all(.runs[]; .status == "finished" and .target == "qemu-sim" and .sweep_var == "offset")'
ps_req GET '/api/v1/runs?kernel=stock'
expect 200 "runs?kernel=stock" '.total == 1' ".runs[0].uuid == \"$STOCK\""
ps_req GET '/api/v1/runs?target=qemu-sim&campaign=rebind-sweep'
expect 200 "runs?target&campaign" '.total == 2' '(.runs | length) == 2'
ps_req GET '/api/v1/runs?target=elsewhere'
expect 200 "runs?target=unknown is empty" '.total == 0' '.runs == []'
ps_req GET '/api/v1/runs?limit=1&offset=1'
expect 200 "runs?limit&offset" '.total == 2' '.limit == 1' '.offset == 1' \
	'(.runs | length) == 1' ".runs[0].uuid == \"$STOCK\""

ps_req GET "/api/v1/runs/$STOCK"
expect 200 "run summary (stock)" ".run.uuid == \"$STOCK\"" '.cycles == 20' \
	'.outcomes.late_iommu_probe == 5' '.outcomes.deferred_ok == 5' '.outcomes.ok == 10' \
	'([.consumers[].device]) == ["decon", "decon-ctl"]' \
	'(.consumers[] | select(.device == "decon") | .outcomes.late_iommu_probe) == 5' \
	'(.consumers[] | select(.device == "decon-ctl") | .outcomes.late_iommu_probe) == 0'
ps_req GET "/api/v1/runs/$LKML"
expect 200 "run summary (lkml-v1)" '.run.kernel.label == "lkml-v1"' \
	'.outcomes.late_iommu_probe == 1' \
	'(.consumers[] | select(.device == "decon-ctl") | .outcomes.late_iommu_probe) == 1' \
	'(.consumers[] | select(.device == "decon") | .outcomes.late_iommu_probe) == 0'

ps_req GET "/api/v1/runs/$STOCK/cycles"
expect 200 "run cycles" ".run == \"$STOCK\"" '.total == 20' '(.cycles | length) == 20' \
	'[.cycles[].seq] == [range(0; 20)]' '.cycles[0].outcome == "late_iommu_probe"' \
	'.cycles[0].sweep_value == 0' '.cycles[19].sweep_value == 60000' \
	'.cycles[0].note == "decon: late IOMMU probe at driver bind"' \
	'all(.cycles[]; (.consumers | map(.device)) == ["decon", "decon-ctl"])' \
	'.cycles[0].consumers[0].outcome == "late_iommu_probe"' \
	'.cycles[3].consumers[0].outcome == "deferred_ok"' \
	'.cycles[3].consumers[0].deferrals == 1' '.cycles[0].duration_ns == 1400000000' \
	'([.cycles[] | select(.outcome == "late_iommu_probe") | .seq]) == [0, 1, 2, 5, 6]'
cycle_id=$(jq '.cycles[0].id' "$ps_tmp/body")
ps_req GET "/api/v1/runs/$STOCK/cycles?limit=5&offset=5"
expect 200 "run cycles page" '.limit == 5' '.offset == 5' '(.cycles | length) == 5' \
	'.cycles[0].seq == 5' '.cycles[0].sweep_value == 20000' \
	'.cycles[0].outcome == "late_iommu_probe"'
# The dashboard's heatmap cells: the cycles of one sweep value, paginated the same way.
ps_req GET "/api/v1/runs/$STOCK/cycles?sweep=20000"
expect 200 "run cycles of one sweep value" '.sweep == 20000' '.total == 5' \
	'[.cycles[].seq] == [5, 6, 7, 8, 9]' 'all(.cycles[]; .sweep_value == 20000)' \
	'all(.cycles[]; (.consumers | length) == 2)'
ps_req GET "/api/v1/runs/$STOCK/cycles?sweep=20000&limit=2&offset=4"
expect 200 "sweep filter with a page" '.total == 5' '[.cycles[].seq] == [9]'
ps_req GET "/api/v1/runs/$STOCK/cycles?sweep=12345"
expect 200 "sweep value without cycles" '.total == 0' '.cycles == []'
ps_req GET "/api/v1/runs/$STOCK/cycles?sweep=20ms"
expect_error 400 "malformed sweep value" '.detail | startswith("sweep:")'
ps_req GET "/api/v1/runs/$LKML/cycles?limit=2"
expect 200 "run cycles (lkml-v1)" \
	'.cycles[0].consumers[1] | .device == "decon-ctl" and .outcome == "late_iommu_probe"'

ps_req GET "/api/v1/cycles/$cycle_id"
expect 200 "cycle detail" ".id == $cycle_id" ".run == \"$STOCK\"" '.seq == 0' \
	'.outcome == "late_iommu_probe"' '(.actions | length) == 9' \
	'[.actions[].verb] == ["unbind", "unbind", "unbind", "unbind", "bind", "bind", "probe", "probe", "wait-bound"]' \
	'(.observations | length) == 4' \
	'([.observations[] | select(.consumer == false) | .device]) == ["sysmmu-a", "sysmmu-b"]' \
	'([.events[] | select(.class == "late_iommu_probe")] | length) == 2' \
	'any(.events[]; .message | test("something fishy here"))' 'has("type") | not'

ps_req GET '/api/v1/compare?base=stock&head=lkml-v1'
expect 200 "compare stock vs lkml-v1" '.base.selector == "stock"' '.base.runs == 1' \
	'.head.selector == "lkml-v1"' '.alpha_outcome == 0.001' \
	'(.verdict | IN("regression", "no_regression"))' \
	'([.groups[].consumer] | sort) == ["decon", "decon-ctl"]' \
	'(.groups[] | select(.consumer == "decon") | .outcomes[] | select(.outcome == "late_iommu_probe") | [.base_k, .base_n, .head_k, .head_n]) == [5, 20, 0, 20]' \
	'(.groups[] | select(.consumer == "decon-ctl") | .outcomes[] | select(.outcome == "late_iommu_probe") | [.base_k, .head_k]) == [0, 1]' \
	'(.groups[] | select(.consumer == "decon") | [.sweep[].sweep_us]) == [0, 20000, 40000, 60000]' \
	'(.groups[] | select(.consumer == "decon") | [.sweep[].base_fail]) == [3, 2, 0, 0]'
ps_req GET "/api/v1/compare?base=$STOCK&head=run:$LKML&alpha_outcome=0.05&alpha_latency=0.2"
expect 200 "compare by run, alphas" '.alpha_outcome == 0.05' '.alpha_latency == 0.2' \
	'.base.runs == 1' '.head.runs == 1'

ps_req GET "/api/v1/sweep?run=$STOCK"
expect 200 "sweep (stock)" ".run == \"$STOCK\"" '.sweep_var == "offset"' \
	'([.consumers[].device]) == ["decon", "decon-ctl"]' \
	'(.consumers[0].buckets | map(.sweep_us)) == [0, 20000, 40000, 60000]' \
	'(.consumers[0].buckets | map(.n)) == [5, 5, 5, 5]' \
	'(.consumers[0].buckets | map(.failures)) == [3, 2, 0, 0]' \
	'(.consumers[0].buckets | map(.outcomes.late_iommu_probe)) == [3, 2, 0, 0]' \
	'(.consumers[0].buckets[0].outcomes.deferred_ok) == 2' \
	'(.consumers[1].buckets | map(.failures)) == [0, 0, 0, 0]'
ps_req GET "/api/v1/sweep?run=$LKML"
expect 200 "sweep (lkml-v1)" '(.consumers[1].buckets | map(.failures)) == [1, 0, 0, 0]'

ps_req GET '/api/v1/trend?target=qemu-sim&consumer=decon&metric=late_iommu_probe'
expect 200 "trend decon late_iommu_probe" '.metric == "late_iommu_probe"' \
	'.consumer == "decon"' '(.points | length) == 2' \
	'.points[0].kernel.label == "stock"' '.points[1].kernel.label == "lkml-v1"' \
	".points[0].run == \"$STOCK\"" '.points[0].k == 5' '.points[0].n == 20' \
	'.points[0].rate == 0.25' '.points[0].ci[0] < 0.25 and .points[0].ci[1] > 0.25' \
	'.points[1].k == 0' '.points[1].ci[0] == 0' \
	'.points[1].ci[1] > 0.13 and .points[1].ci[1] < 0.14'
ps_req GET '/api/v1/trend?consumer=decon-ctl'
expect 200 "trend decon-ctl failure (default metric)" '.metric == "failure"' \
	'[.points[].k] == [0, 1]' '[.points[].n] == [20, 20]'
ps_req GET '/api/v1/trend?kernel=stock&limit=1'
expect 200 "trend kernel filter, both consumers" '(.points | length) == 1' \
	'.points[0].n == 40' '.points[0].k == 5'

# Static files of the web root.
ps_req GET /
check "GET / serves index.html" test "$status" = 200
check "index.html is text/html" test "$(ps_header Content-Type)" = "text/html; charset=utf-8"
check "index.html is the web root's" cmp -s "$ps_tmp/body" "$top_srcdir/web/index.html"
ps_req GET /index.html
check "GET /index.html" test "$status" = 200
ps_req GET /no-such-file.js
expect_error 404 "missing static file"
ps_req GET /../../etc/passwd --path-as-is
expect_error 404 "'..' is refused"
ps_req GET /%2e%2e/%2e%2e/etc/passwd --path-as-is
expect_error 404 "escaped '..' is refused"
# Debian's packaged browser libraries (the dashboard's Chart.js) below /javascript/.
if [ -f /usr/share/javascript/chart.js/chart.min.js ]; then
	ps_req GET /javascript/chart.js/chart.min.js
	check "GET /javascript/ serves /usr/share/javascript" \
		cmp -s "$ps_tmp/body" /usr/share/javascript/chart.js/chart.min.js
	check "a .js file is text/javascript" \
		test "$(ps_header Content-Type)" = "text/javascript; charset=utf-8"
fi
ps_req GET /javascript/../../../etc/passwd --path-as-is
expect_error 404 "'..' below /javascript/ is refused"
ps_req GET /javascript/no-such-library/x.js
expect_error 404 "missing library file"
ps_req HEAD /api/v1/health -I
check "HEAD /api/v1/health" test "$status" = 200

ps_done
