#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Error answers of probestormd's API: every one is JSON {"error", "detail"} with the right
# status: unknown paths 404, wrong methods 405 with Allow, malformed ids and parameters
# 400, unknown runs, cycles and selectors 404.
. "$(dirname "$0")/lib.sh"

ps_config api "token = $TOKEN"
ps_database "$ps_tmp/db"
ps_start "$ps_tmp/api.conf" "$ps_tmp/db"
none=00000000-0000-4000-8000-000000000000

for p in /api/v1/nope /api/v2/health /api /api/v1/ /api/v1/runs/ "/api/v1/runs/$STOCK/cycles/1" \
	/api/v1/cycles; do
	ps_req GET "$p"
	expect_error 404 "GET $p is 404"
done

ps_req GET /api/v1/runs/not-a-uuid
expect_error 400 "malformed run id" '.error == "bad run id"'
ps_req GET "/api/v1/runs/$none"
expect_error 404 "unknown run" '.error == "not found"'
ps_req GET /api/v1/runs/not-a-uuid/cycles
expect_error 400 "cycles of a malformed run id"
ps_req GET "/api/v1/runs/$none/cycles"
expect_error 404 "cycles of an unknown run"
for q in limit=0 limit=1001 limit=abc offset=-1 offset=1x; do
	ps_req GET "/api/v1/runs/$STOCK/cycles?$q"
	expect_error 400 "cycles?$q"
done
for q in limit=0 limit=1001 limit=ten offset=-5 kernal=stock; do
	ps_req GET "/api/v1/runs?$q"
	expect_error 400 "runs?$q" '.error == "bad parameter"'
done
ps_req GET "/api/v1/runs/$STOCK?verbose=1"
expect_error 400 "unknown parameter on a run"

for id in abc 0 -1 1.5; do
	ps_req GET "/api/v1/cycles/$id"
	expect_error 400 "cycle id $id" '.error == "bad cycle id"'
done
ps_req GET /api/v1/cycles/999999
expect_error 404 "unknown cycle"

ps_req GET /api/v1/compare
expect_error 400 "compare without base/head"
ps_req GET '/api/v1/compare?base=stock'
expect_error 400 "compare without head"
ps_req GET '/api/v1/compare?base=no-such-kernel&head=stock'
expect_error 404 "compare: selector matching nothing"
ps_req GET "/api/v1/compare?base=stock&head=run:$none"
expect_error 404 "compare: unknown run"
ps_req GET '/api/v1/compare?base=stock&head=lkml-v1&alpha_outcome=2'
expect_error 400 "compare: alpha out of range"
ps_req GET '/api/v1/compare?base=stock&head=lkml-v1&alpha_latency=x'
expect_error 400 "compare: alpha not a number"

ps_req GET /api/v1/sweep
expect_error 400 "sweep without run"
ps_req GET /api/v1/sweep?run=xyz
expect_error 400 "sweep: malformed run"
ps_req GET "/api/v1/sweep?run=$none"
expect_error 404 "sweep: unknown run"

ps_req GET '/api/v1/trend?metric=bogus'
expect_error 400 "trend: unknown metric"
ps_req GET '/api/v1/trend?limit=0'
expect_error 400 "trend: bad limit"

for m in POST PUT DELETE PATCH; do
	ps_req "$m" /api/v1/runs
	expect_error 405 "$m /api/v1/runs is 405"
	check "$m /api/v1/runs: Allow: GET, HEAD" test "$(ps_header Allow)" = "GET, HEAD"
done
ps_req POST "/api/v1/runs/$STOCK"
expect_error 405 "POST on a run is 405"
ps_req GET /api/v1/bundles
expect_error 405 "GET /api/v1/bundles is 405"
check "GET /api/v1/bundles: Allow: POST" test "$(ps_header Allow)" = POST
ps_req PUT /api/v1/campaigns
expect_error 405 "PUT /api/v1/campaigns is 405"
check "PUT /api/v1/campaigns: Allow: POST" test "$(ps_header Allow)" = POST
ps_req DELETE /index.html
expect_error 405 "DELETE on a static file is 405"
check "static: Allow: GET, HEAD" test "$(ps_header Allow)" = "GET, HEAD"

ps_done
