#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Files named by the configuration (docs/security.md): a FIFO (or anything but a regular
# file) given as --config or named *.conf in conf.d is refused at once, not waited on;
# --check-config fails for a token-file that cannot be read and for a stream that is a
# directory, and warns that `token =` turns ingest off.
. "$(dirname "$0")/lib.sh"

# checkcfg CONF: --check-config under a 5 s timeout; output in $out, status in $rc.
checkcfg() {
	out=$(timeout 5 "$PS_DAEMON" --config "$1" --check-config 2>&1)
	rc=$?
}

mkdir -p "$ps_tmp/fifo"
mkfifo "$ps_tmp/fifo/probestorm.conf"
checkcfg "$ps_tmp/fifo/probestorm.conf"
check "a FIFO as --config: exit 2, no hang (got $rc)" test "$rc" = 2
check "named as not a regular file ($out)" \
	grep -q "fifo/probestorm.conf: not a regular file" <<< "$out"
out=$(timeout 5 "$PS_DAEMON" --config "$ps_tmp/fifo/probestorm.conf" \
	--database "$ps_tmp/x.db" --listen 127.0.0.1:0 2>&1)
rc=$?
check "the daemon does not start on it either (got $rc)" test "$rc" = 2

ps_config main "token = $TOKEN"
mkdir -p "$ps_tmp/conf.d"
mkfifo "$ps_tmp/conf.d/50-fifo.conf"
checkcfg "$ps_tmp/main.conf"
check "a FIFO in conf.d: exit 2, no hang (got $rc)" test "$rc" = 2
check "named by its path ($out)" \
	grep -q "conf.d/50-fifo.conf: not a regular file" <<< "$out"
rm "$ps_tmp/conf.d/50-fifo.conf"
checkcfg "$ps_tmp/main.conf"
check "without it the config is fine ($out)" test "$rc" = 0

ps_config tokfile "token-file = $ps_tmp/no-such-token"
checkcfg "$ps_tmp/tokfile.conf"
check "a missing token-file fails --check-config (got $rc)" test "$rc" = 2
check "naming it ($out)" grep -q "token-file '$ps_tmp/no-such-token': cannot open" <<< "$out"
: > "$ps_tmp/empty-token"
ps_config tokfile "token-file = $ps_tmp/empty-token"
checkcfg "$ps_tmp/tokfile.conf"
check "an empty token-file fails --check-config ($out)" \
	grep -q "first line is empty" <<< "$out"
printf '%s\n' "$TOKEN" > "$ps_tmp/good-token"
ps_config tokfile "token-file = $ps_tmp/good-token"
checkcfg "$ps_tmp/tokfile.conf"
check "a readable token-file passes ($out)" test "$rc" = 0
if [ "$(id -u)" != 0 ]; then
	chmod 000 "$ps_tmp/good-token"
	checkcfg "$ps_tmp/tokfile.conf"
	check "an unreadable token-file fails ($out)" test "$rc" = 2
fi

ps_config stream "stream = /"
checkcfg "$ps_tmp/stream.conf"
check "stream = / fails --check-config (got $rc)" test "$rc" = 2
check "as a directory ($out)" grep -q "stream '/': is a directory" <<< "$out"
ps_config stream "stream = $ps_tmp/no/such/dir/out.ndjson"
checkcfg "$ps_tmp/stream.conf"
check "a stream in a missing directory fails ($out)" test "$rc" = 2

ps_config emptytok "token ="
checkcfg "$ps_tmp/emptytok.conf"
check "token = passes --check-config (got $rc)" test "$rc" = 0
check "with a warning naming file and line ($out)" \
	grep -q "emptytok.conf:2: \[daemon\] token is empty: ingest .* is off" <<< "$out"

# A line ending in many carriage returns: the reader copied them all into inih's line
# buffer on the stack (tests/fuzz/fuzz-conf found it); now they are the line's end.
python3 -c 'import sys; sys.stdout.write("[daemon]\nlabel = x" + "\r" * 4000 + "\n")' \
	> "$ps_tmp/crs.conf"
checkcfg "$ps_tmp/crs.conf"
check "a line ending in 4000 CRs parses (got $rc: $out)" test "$rc" = 0

ps_done
