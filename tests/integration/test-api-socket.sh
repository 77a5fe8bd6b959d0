#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# systemd socket activation: probestormd serves on the socket it is passed (LISTEN_FDS,
# here from systemd-socket-activate, which execs it on the first connection) instead of
# its --listen address. Skipped (77) when systemd-socket-activate is not installed.
. "$(dirname "$0")/lib.sh"

if ! command -v systemd-socket-activate > /dev/null 2>&1; then
	echo "SKIP: systemd-socket-activate is not installed"
	exit 77
fi
ps_config api "token = $TOKEN"
ps_database "$ps_tmp/db"

# A port that is free now; a few tries in case another process holds it.
port=
for try in 1 2 3 4 5; do
	p=$((20000 + RANDOM % 40000))
	: > "$ps_tmp/activate.log"
	systemd-socket-activate -l "127.0.0.1:$p" "$PS_DAEMON" --config "$ps_tmp/api.conf" \
		--database "$ps_tmp/db" --listen 127.0.0.1:0 --port-file "$ps_tmp/port" \
		--web-root "$top_srcdir/web" >> "$ps_tmp/activate.log" 2>&1 &
	pid=$!
	ps_pids="$ps_pids $pid"
	for i in $(seq 50); do
		grep -q "^Listening on" "$ps_tmp/activate.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "^Listening on" "$ps_tmp/activate.log"; then
		port=$p
		break
	fi
done
cat "$ps_tmp/activate.log" >> "$ps_tmp/daemon.log"
check "systemd-socket-activate listens" test -n "$port"
[ -n "$port" ] || ps_done
ps_url=http://127.0.0.1:$port

# The first connection makes systemd-socket-activate exec probestormd, which accepts it.
ps_req GET /api/v1/health
expect 200 "health over the activated socket" '.status == "ok"'
ps_req GET "/api/v1/runs/$STOCK"
expect 200 "a query over the activated socket" '.cycles == 20'
check "--port-file names the activated socket's port, not --listen's" \
	test "$(cat "$ps_tmp/port" 2>/dev/null)" = "$port"
cat "$ps_tmp/activate.log" >> "$ps_tmp/daemon.log"
check "the log names the activated socket" grep -q "socket passed by systemd" \
	"$ps_tmp/activate.log"

ps_done
