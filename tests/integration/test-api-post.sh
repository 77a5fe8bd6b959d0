#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# POST /api/v1/bundles and /api/v1/campaigns: the bearer token (missing, wrong, right, from
# token-file), 403 without a configured token, idempotent imports, bundle errors, and the
# campaign rules (404 unknown, 409 when the preflight fails).
. "$(dirname "$0")/lib.sh"

ps_config api "token = $TOKEN"
ps_database "$ps_tmp/db"
ps_start "$ps_tmp/api.conf" "$ps_tmp/db"
auth="Authorization: Bearer $TOKEN"
nd="Content-Type: application/x-ndjson"

# A new run of one cycle, in the bundle format of the committed bundle.
new=6b0e4d7a-2c1f-4a3e-b5d8-9f7c1e2a4b60
head -n 1 "$PS_BUNDLE" | jq -c --arg u "$new" '.uuid = $u | .cycles_planned = 1' \
	> "$ps_tmp/new.ndjson"
sed -n 3p "$PS_BUNDLE" | jq -c --arg u "$new" '.run = $u' >> "$ps_tmp/new.ndjson"

ps_req POST /api/v1/bundles -H "$nd" --data-binary @"$ps_tmp/new.ndjson"
expect_error 401 "bundle without a token"
check "401 names the Bearer scheme" test "$(ps_header WWW-Authenticate)" = 'Bearer realm="probestorm"'
ps_req POST /api/v1/bundles -H "Authorization: Bearer wrong-token" --data-binary @"$ps_tmp/new.ndjson"
expect_error 401 "bundle with a wrong token" '.detail == "invalid token"'
check "401 (wrong token) has WWW-Authenticate" test -n "$(ps_header WWW-Authenticate)"
ps_req POST /api/v1/bundles -H "Authorization: Bearer ${TOKEN}x" --data-binary @"$ps_tmp/new.ndjson"
expect_error 401 "bundle with the token plus a byte"
ps_req POST /api/v1/bundles -H "Authorization: Basic dXNlcjpwYXNz" --data-binary @"$ps_tmp/new.ndjson"
expect_error 401 "bundle with Basic auth"

ps_req POST /api/v1/bundles -H "$auth" -H "$nd" --data-binary @"$ps_tmp/new.ndjson"
expect 200 "bundle with the token imports" '.lines == 2' '.runs_inserted == 1' \
	'.cycles_inserted == 1' '.runs_present == 0' '.torn_tail == false'
ps_req GET /api/v1/runs
expect 200 "the new run is listed" '.total == 3'
ps_req POST /api/v1/bundles -H "$auth" -H "$nd" --data-binary @"$ps_tmp/new.ndjson"
expect 200 "importing it again changes nothing" '.runs_inserted == 0' '.runs_present == 1' \
	'.cycles_present == 1'
ps_req POST /api/v1/bundles -H "$auth" -H "$nd" --data-binary @"$PS_BUNDLE"
expect 200 "the committed bundle is present already" '.lines == 46' '.runs_present == 2' \
	'.cycles_present == 40' '.events_present == 2' '.ends_present == 2' \
	'.runs_inserted + .cycles_inserted + .events_inserted + .ends_applied == 0'
ps_req POST /api/v1/bundles -H "$auth" --data-binary '{"type":"bogus"}'
expect_error 400 "unknown line type" '.error == "bad bundle"' '(.detail | startswith("line 1"))'
ps_req POST /api/v1/bundles -H "$auth" --data-binary $'not json at all\n'
expect_error 400 "not JSON" '.error == "bad bundle"'
# A last line without its newline that does not parse is a write cut short: skipped.
ps_req POST /api/v1/bundles -H "$auth" --data-binary '{"type":"run","uu'
expect 200 "a torn last line is skipped and reported" '.torn_tail == true' '.lines == 0'
printf '%s\n%s\n' "$(sed -n 3p "$PS_BUNDLE" | jq -c '.run = "0d9f3c2b-1a4e-4c5d-8e6f-7a8b9c0d1e2f"')" \
	> "$ps_tmp/orphan.ndjson"
ps_req POST /api/v1/bundles -H "$auth" --data-binary @"$ps_tmp/orphan.ndjson"
expect_error 400 "cycle of an unknown run" '(.detail | startswith("line 1"))'
ps_req GET /api/v1/runs
expect 200 "failed imports left nothing behind" '.total == 3'
ps_req POST /api/v1/bundles -H "$auth" --data-binary ''
expect 200 "an empty bundle imports nothing" '.lines == 0'

ps_req POST /api/v1/campaigns -H "Content-Type: application/json" --data '{"campaign":"quick"}'
expect_error 401 "campaign without a token"
ps_req POST /api/v1/campaigns -H "$auth" --data '{"campaign":"no-such-campaign"}'
expect_error 404 "unknown campaign"
ps_req POST /api/v1/campaigns -H "$auth" --data '{"name":"quick"}'
expect_error 400 "campaign body without \"campaign\""
ps_req POST /api/v1/campaigns -H "$auth" --data 'quick'
expect_error 400 "campaign body not JSON"
ps_req POST /api/v1/campaigns -H "$auth" --data '{"campaign":"quick"}'
expect_error 409 "campaign whose preflight fails" '.error == "preflight failed"' \
	"(.detail | contains(\"$ps_tmp/sysroot\"))"
ps_req GET /api/v1/health
expect 200 "no campaign is running after it" '.campaign.running == false'
ps_req POST /api/v1/campaigns -H "$auth" --data '{"campaign":"slow"}'
expect 202 "campaign started" '.status == "started"' '.campaign == "slow"'
ps_req POST /api/v1/campaigns -H "$auth" --data '{"campaign":"slow"}'
expect_error 409 "a second campaign while one runs" '.error == "campaign running"'
ps_req GET /api/v1/health
expect 200 "health shows the running campaign" '.campaign.running == true' \
	'.campaign.name == "slow"'
slow_runs_total_is() { ps_req GET '/api/v1/runs?campaign=slow'; [ "$(jq '.total' "$ps_tmp/body")" = "$1" ]; }
wait_for 5 slow_runs_total_is 1
expect 200 "the campaign's run is recorded" '.total == 1' '.runs[0].status == "running"' \
	'.runs[0].target == "fake"'

# Without a token, POST is disabled.
ps_config open
ps_start "$ps_tmp/open.conf" "$ps_tmp/db"
ps_req POST /api/v1/bundles -H "$auth" --data-binary @"$ps_tmp/new.ndjson"
expect_error 403 "bundle without a configured token" '.error == "ingest disabled"'
ps_req POST /api/v1/campaigns -H "$auth" --data '{"campaign":"quick"}'
expect_error 403 "campaign without a configured token"
ps_req GET /api/v1/health
expect 200 "health says ingest is off" '.ingest == false'

# The token from token-file (trailing newline ignored).
printf '%s\n' "$TOKEN-file" > "$ps_tmp/token"
ps_config tokenfile "token-file = $ps_tmp/token"
ps_start "$ps_tmp/tokenfile.conf" "$ps_tmp/db"
ps_req POST /api/v1/bundles -H "$auth" --data-binary @"$ps_tmp/new.ndjson"
expect_error 401 "token-file: the config's other token is wrong"
ps_req POST /api/v1/bundles -H "Authorization: Bearer $TOKEN-file" --data-binary @"$ps_tmp/new.ndjson"
expect 200 "token-file: its token is accepted" '.runs_present == 1'

ps_done
