#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile clients against probestormd (docs/security.md), with tests/integration/clients.py:
#  - 12 clients that each connect, ask and close, below the per-address limit of 16: all
#    served (libmicrohttpd's own limit counted connections it had not cleaned up yet);
#  - ~200 connections from 13 other loopback addresses sending headers a byte a second:
#    each is closed after HTTP_HEADER_TIMEOUT_S, and health checks from 127.0.0.1 are
#    answered all along (the local reserve);
#  - a body trickling at 10 bytes/s is cut off;
#  - query values with non-UTF-8 bytes or %00 are a 400 in JSON, never a 500 or "absent";
#  - two Content-Length headers that differ are refused;
#  - a 30 MB line of nested empty arrays is refused before jansson parses it, and the
#    daemon's memory afterwards stays small.
PS_TEST_TIMEOUT=${PS_TEST_TIMEOUT:-150}
. "$(dirname "$0")/lib.sh"

if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 is not installed"
	exit 77
fi
clients=$top_srcdir/tests/integration/clients.py
db=$ps_tmp/api.db
ps_database "$db"
ps_config api "token = $TOKEN"
ps_start "$ps_tmp/api.conf" "$db"

# --- closed connections do not count against the per-address limit ---
out=$(python3 "$clients" burst "$ps_port" 12 100)
check "12 clients opening and closing connections are all served ($out)" \
	test "$out" = "ok 1200 refused 0 other 0"

# --- query values ---
for q in "report?selector=%ff" "compare?base=%c3%28&head=x" "runs?target=%ff%fe" \
	"trend?consumer=a%80b"; do
	ps_req GET "/api/v1/$q"
	expect_error 400 "GET $q: 400" '.error == "bad parameter"' \
		'(.detail | test("is not UTF-8"))'
done
for q in "runs?target=%00" "runs?kernel=stock%00x" "trend?campaign=%00"; do
	ps_req GET "/api/v1/$q"
	expect_error 400 "GET $q: 400, not a filter left out" \
		'(.detail | test("NUL byte"))'
done
ps_req GET "/api/v1/cycles/%ff%fe"
expect_error 400 "a path segment that is not UTF-8 is quoted safely" \
	'(.detail | test("^.\\?\\?. is not a positive integer"))'

# --- request framing ---
# raw HEAD [BODY]: the status line of the answer (bash's /dev/tcp: curl merges headers).
# BODY, if given, is sent 0.3 s after HEAD, the way a client sends a body it streams.
# A request refused on its headers is answered and closed by libmicrohttpd before it
# reads the body (its "discard_request"), so the body then arrives at a closed socket: the
# server's kernel answers it with a reset, and bash's next write dies of SIGPIPE. That
# killed the whole $(raw ...) before it read the answer, which had arrived all the same
# (strace: sendmsg of the 400, shutdown, close): the "empty answer seen under load" was
# bash's printf writing the request line by line, the load letting the server read the
# headers before the body. The writes are therefore in a subshell of their own, and the
# answer is read after them.
raw() {
	exec 3<> "/dev/tcp/127.0.0.1/$ps_port"
	(
		trap '' PIPE
		printf '%b' "$1" >&3
		if [ -n "${2:-}" ]; then
			sleep 0.3
			printf '%b' "$2" >&3
		fi
	) 2> /dev/null
	timeout 5 cat <&3 > "$ps_tmp/raw"
	exec 3>&-
	head -n 1 "$ps_tmp/raw" | tr -d '\r'
}
line=$(raw "POST /api/v1/bundles HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer $TOKEN\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\n{}\n")
check "conflicting Content-Length headers: 400 ($line)" test "$line" = "HTTP/1.1 400 Bad Request"
check "with a JSON error" grep -q '"detail":"conflicting Content-Length headers"' "$ps_tmp/raw"
# Answered on its headers, before any of the body is read; the body sent after them and
# one sent with them get the same answer. Nothing is taken in.
runs_before=$(sqlite3 "$db" 'SELECT count(*) FROM runs')
for how in with after; do
	head="POST /api/v1/bundles HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer $TOKEN\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
	chunk="3\r\n{}\n\r\n0\r\n\r\n"
	if [ $how = with ]; then
		line=$(raw "$head$chunk")
	else
		line=$(raw "$head" "$chunk")
	fi
	check "Content-Length with Transfer-Encoding, body $how the headers: 400 ($line)" \
		test "$line" = "HTTP/1.1 400 Bad Request"
	check "with a JSON error" grep -q \
		'"detail":"Content-Length and Transfer-Encoding exclude each other"' "$ps_tmp/raw"
	check "and the connection closed" grep -qi '^Connection: close' "$ps_tmp/raw"
done
check "nothing was taken in" test "$(sqlite3 "$db" 'SELECT count(*) FROM runs')" = "$runs_before"

# --- a slow-header flood; health checks from 127.0.0.1 keep being answered ---
if python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null
then
	python3 "$clients" slow-headers "$ps_port" 127.0.0.2 13 15 22 > "$ps_tmp/flood" &
	flood=$!
	sleep 2
	served=0 failed=0
	for ((i = 0; i < 36; i++)); do
		if curl -sf --max-time 2 -o /dev/null "$ps_url/api/v1/health"; then
			served=$((served + 1))
		else
			failed=$((failed + 1))
		fi
		sleep 0.5
	done
	wait "$flood"
	check "health checks during the flood: $served answered, $failed not" \
		test "$failed" = 0
	check "the flood's connections were closed by the server ($(cat "$ps_tmp/flood"))" \
		test "$(awk '{print $4}' "$ps_tmp/flood")" -gt 0
	check "the daemon says why" grep -q "closed [0-9]* slow connections ([1-9][0-9]* without headers" \
		"$ps_tmp/daemon.log"
else
	ps_ok "# SKIP slow-header flood (cannot bind 127.0.0.2)"
fi

# --- a trickling body ---
out=$(python3 "$clients" slow-body "$ps_port" 40 "$TOKEN")
secs=$(awk '{print $3}' <<< "$out")
check "a body at 10 bytes/s is cut off ($out)" \
	test "${out%% *}" = closed -a "${secs:-99}" -le 15

# --- a 30 MB line of nested empty arrays ---
rss() {
	awk '/^VmRSS/ {print $2}' "/proc/$ps_pid/status"
}
python3 -c 'import sys; sys.stdout.write("[" + "[],"*10000000 + "[]]\n")' > "$ps_tmp/arrays"
rss_before=$(rss)
ps_req POST /api/v1/bundles -H "Authorization: Bearer $TOKEN" --data-binary "@$ps_tmp/arrays"
expect_error 413 "a 30 MB line of ten million arrays is refused" \
	'.error == "line too large"' '(.detail | test("longer than [0-9]+ bytes"))'
python3 -c 'import sys; sys.stdout.write("[" + "[],"*3000000 + "[]]\n")' > "$ps_tmp/arrays"
ps_req POST /api/v1/bundles -H "Authorization: Bearer $TOKEN" --data-binary "@$ps_tmp/arrays"
expect_error 413 "a 9 MB line of three million arrays is refused" \
	'(.detail | test("more than [0-9]+ JSON values"))'
rss_after=$(rss)
rss_peak=$(awk '/^VmHWM/ {print $2}' "/proc/$ps_pid/status")
echo "# peak RSS $rss_peak kB"
# 256 MiB; 1 GiB on an ASan build, whose allocator keeps freed blocks in a quarantine of
# 256 MiB (before the limits, the peak was 2 GB)
peak_max=262144
ldd "$PS_DAEMON" 2>/dev/null | grep -q libasan && peak_max=1048576
check "the peak stays small ($rss_peak kB, limit $peak_max kB)" test "$rss_peak" -lt $peak_max
python3 -c 'import sys; sys.stdout.write("["*100 + "]"*100 + "\n")' > "$ps_tmp/deep"
ps_req POST /api/v1/bundles -H "Authorization: Bearer $TOKEN" --data-binary "@$ps_tmp/deep"
expect_error 413 "a line nested 100 deep is refused" '(.detail | test("nested deeper"))'
echo "# RSS before $rss_before kB, after $rss_after kB"
# Given back is glibc's malloc_trim(); ASan's allocator keeps freed memory in its
# quarantine and does not give it back (contrib/run-tests runs this test on an ASan build).
if ldd "$PS_DAEMON" 2>/dev/null | grep -q libasan; then
	ps_ok "# SKIP memory given back (an ASan build: its allocator keeps freed memory)"
else
	check "memory is given back after the large body ($rss_before -> $rss_after kB)" \
		test "$rss_after" -lt $((rss_before + 16384))
fi

ps_done
