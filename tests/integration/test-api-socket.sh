#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# systemd socket activation: probestormd serves on the socket it is passed (LISTEN_FDS,
# here from systemd-socket-activate) instead of its --listen address. Skipped (77) when
# systemd-socket-activate is not installed.
. "$(dirname "$0")/lib.sh"

if ! command -v systemd-socket-activate > /dev/null 2>&1; then
	echo "SKIP: systemd-socket-activate is not installed"
	exit 77
fi
ps_config api "token = $TOKEN"
ps_database "$ps_tmp/db"

# A port that is free now; a few tries in case another process takes it first.
for try in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 40000))
	PS_LAUNCH="systemd-socket-activate -l 127.0.0.1:$port"
	(ps_start "$ps_tmp/api.conf" "$ps_tmp/db") > /dev/null 2>&1 && break
	port=
done
check "a socket-activated probestormd started" test -n "$port"
[ -n "$port" ] || ps_done
ps_start "$ps_tmp/api.conf" "$ps_tmp/db"
check "it serves on the passed socket, not on --listen 127.0.0.1:0" test "$ps_port" = "$port"
ps_req GET /api/v1/health
expect 200 "health over the activated socket" '.status == "ok"'
ps_req GET "/api/v1/runs/$STOCK"
expect 200 "a query over the activated socket" '.cycles == 20'
check "the log names the activated socket" grep -q "socket passed by systemd" "$ps_tmp/daemon.log"

ps_done
