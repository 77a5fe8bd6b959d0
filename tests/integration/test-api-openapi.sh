#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# docs/openapi.json describes what probestormd serves: every documented path and method is
# served (path parameters and required query parameters from the spec's examples) with a
# documented status, and the top-level keys of each 200 answer are the documented ones.
. "$(dirname "$0")/lib.sh"

spec=$top_srcdir/docs/openapi.json
ps_config api "token = $TOKEN"
ps_database "$ps_tmp/db"
ps_start "$ps_tmp/api.conf" "$ps_tmp/db"

check "openapi.json is OpenAPI 3.0" jq -e '.openapi | startswith("3.0.")' "$spec"
check "openapi.json documents the endpoints" jq -e '(.paths | length) >= 12' "$spec"

# The other direction: the route table of daemon/api.c has exactly the documented paths.
sed -n '/^} api_routes\[\] = {/,/^};/p' "$top_srcdir/daemon/api.c" |
	sed -n 's/^[[:space:]]*{ "\([^"]*\)",.*/\1/p' | sort > "$ps_tmp/routes"
jq -r '.paths | keys[] | sub("^/api/v1/"; "") | gsub("\\{[a-z]+\\}"; "*")' "$spec" |
	sort > "$ps_tmp/documented-routes"
check "daemon/api.c routes are found" test "$(wc -l < "$ps_tmp/routes")" -ge 12
check "every route of daemon/api.c is documented, and only those" \
	cmp -s "$ps_tmp/routes" "$ps_tmp/documented-routes"

# One line per operation: METHOD<TAB>URL (examples filled in).
jq -r '
	.paths | to_entries[] | .key as $path | .value | to_entries[] |
	.key as $method | .value as $op |
	(($op.parameters // []) | map(select(has("$ref") | not))) as $params |
	(reduce ($params[] | select(.in == "path")) as $p ($path;
		sub("\\{" + $p.name + "\\}"; ($p.example | tostring)))) as $url |
	([$params[] | select(.in == "query" and .required) |
		"\(.name)=\(.example | tostring | @uri)"] | join("&")) as $query |
	"\($method | ascii_upcase)\t\($path)\t\($url)\(if $query == "" then "" else "?" + $query end)"
' "$spec" > "$ps_tmp/ops"
check "operations were found" test "$(wc -l < "$ps_tmp/ops")" -ge 12

while IFS=$'\t' read -r op_method op_path op_url; do
	lower=$(echo "$op_method" | tr 'A-Z' 'a-z')
	if [ "$op_method" = GET ]; then
		ps_req GET "$op_url"
	else
		# Without the token: the documented 401 proves the route exists.
		ps_req "$op_method" "$op_url" -H 'Content-Type: application/json' --data '{}'
	fi
	if ! jq -e --arg p "$op_path" --arg m "$lower" --arg s "$status" \
		'.paths[$p][$m].responses | has($s)' "$spec" > /dev/null; then
		ps_fail "$op_method $op_url: status $status is not documented"
		continue
	fi
	if [ "$op_method" = GET ] && [ "$status" != 200 ]; then
		ps_fail "$op_method $op_url: status $status, expected 200"
		continue
	fi
	if [ "$op_method" = GET ]; then
		# The documented top-level properties (following one $ref).
		jq --arg p "$op_path" '
			. as $root | .paths[$p].get.responses["200"].content["application/json"].schema |
			(if has("$ref") then ($root.components.schemas[(."$ref" | split("/") | last)])
			 else . end) | .properties | keys' "$spec" > "$ps_tmp/documented"
		if ! jq -e --slurpfile d "$ps_tmp/documented" \
			'(keys - $d[0]) == []' "$ps_tmp/body" > /dev/null; then
			ps_fail "$op_method $op_url: undocumented keys $(jq -c --slurpfile d "$ps_tmp/documented" 'keys - $d[0]' "$ps_tmp/body")"
			continue
		fi
	fi
	ps_ok "$op_method $op_path is served ($status)"
done < "$ps_tmp/ops"

ps_done
