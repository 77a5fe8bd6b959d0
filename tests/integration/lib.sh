# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the integration tests: runs the test under a timeout, skips (77) without curl
# or jq, makes a scratch directory with a database filled from the committed bundle, starts
# probestormd on a free loopback port (--listen 127.0.0.1:0 --port-file) and kills every
# daemon it started on exit. Assertions print TAP-like lines; ps_done exits 1 if one failed.

# The whole test runs under timeout(1) (tests/cli/lib.sh, the shared part): a hung daemon or
# request fails the test.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$PWD}"
ps_test_timeout=120
. "$top_srcdir/tests/cli/lib.sh"
set -u

for tool in curl jq; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (contrib/setup-deps installs it)"
		exit 77
	fi
done

PS_DAEMON=$top_builddir/probestormd
PS_CLI=$top_builddir/probestorm
PS_BUNDLE=$top_srcdir/tests/data/bundles/qemu-sim-2kernels.ndjson
# The facts of the bundle (tests/data/bundles/gen-qemu-sim.py).
STOCK=3f1c9a52-7d4e-4b6a-9c21-5e8f0a7b6d10
LKML=8a6d2e17-0b3c-4f59-8e4a-c7d1f2b3a904
TOKEN=test-token-5f2b8c1e9d

ps_tmp=$(mktemp -d "${TMPDIR:-/tmp}/probestorm-api.XXXXXX")
ps_pids=
ps_n=0
ps_failed=0
status=000

ps_cleanup() {
	for p in $ps_pids; do
		kill "$p" 2>/dev/null
	done
	for p in $ps_pids; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$ps_tmp"
}
trap ps_cleanup EXIT
trap 'exit 143' INT TERM

ps_ok() {
	ps_n=$((ps_n + 1))
	echo "ok $ps_n - $1"
}

ps_fail() {
	ps_n=$((ps_n + 1))
	ps_failed=$((ps_failed + 1))
	echo "not ok $ps_n - $1"
	echo "#   status $status, body: $(head -c 800 "$ps_tmp/body" 2>/dev/null)"
	[ "$status" != 000 ] || echo "#   curl: $(head -c 400 "$ps_tmp/curl.err" 2>/dev/null)"
}

ps_done() {
	echo "1..$ps_n"
	if [ "$ps_failed" -ne 0 ]; then
		echo "# $ps_failed of $ps_n checks failed; daemon log:"
		sed 's/^/#   /' "$ps_tmp/daemon.log" 2>/dev/null
		exit 1
	fi
	exit 0
}

# A config in $ps_tmp/NAME.conf: [daemon] with the given extra lines, plus two local
# targets that never touch the real kernel: `sim`, whose sysroot ($ps_tmp/sysroot) is
# empty, so campaign `quick` fails its preflight, and `fake`, a copy of the committed fake
# sysfs tree with /dev/kmsg and debugfs files, on which campaign `slow` really runs: 100
# cycles, each settling 100 ms, so it is still running while a test looks at it however
# fast the runner gets.
ps_config() {
	name=$1
	shift
	mkdir -p "$ps_tmp/sysroot"
	if [ ! -d "$ps_tmp/fakeroot" ]; then
		fake_target "$ps_tmp/fakeroot"
	fi
	{
		echo "[daemon]"
		for line in "$@"; do
			echo "$line"
		done
		cat <<-EOF
		[target sim]
		kind = local
		sysroot = $ps_tmp/sysroot

		[consumer decon]
		driver = ps-decon
		expect-domain = identity

		[scenario rebind]
		step = unbind decon
		step = bind decon

		[campaign quick]
		target = sim
		scenario = rebind
		cycles = 1

		[target fake]
		kind = local
		sysroot = $ps_tmp/fakeroot

		[campaign slow]
		target = fake
		scenario = rebind
		cycles = 100
		deadline = 100ms
		settle = 100ms
		EOF
	} > "$ps_tmp/$name.conf"
}

# A database filled from the committed bundle through the real import code.
ps_database() {
	db=$1
	"$PS_CLI" --database "$db" import "$PS_BUNDLE" > /dev/null ||
		{ echo "Bail out! cannot import $PS_BUNDLE"; exit 99; }
}

# ps_start CONF DB [ARGS...]: starts probestormd; sets ps_pid, ps_port and ps_url.
ps_start() {
	conf=$1
	db=$2
	shift 2
	rm -f "$ps_tmp/port"
	"$PS_DAEMON" --config "$conf" --database "$db" --listen 127.0.0.1:0 \
		--port-file "$ps_tmp/port" --web-root "$top_srcdir/web" "$@" \
		>> "$ps_tmp/daemon.log" 2>&1 &
	ps_pid=$!
	ps_pids="$ps_pids $ps_pid"
	i=0
	while [ ! -s "$ps_tmp/port" ]; do
		if ! kill -0 "$ps_pid" 2>/dev/null; then
			echo "Bail out! probestormd exited:"
			sed 's/^/#   /' "$ps_tmp/daemon.log"
			exit 99
		fi
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "Bail out! probestormd wrote no port file in 10 s"
			exit 99
		fi
		sleep 0.1
	done
	ps_port=$(cat "$ps_tmp/port")
	ps_url=http://127.0.0.1:$ps_port
}

# ps_req METHOD PATH [CURL-ARGS...]: the answer's status in $status, body in
# $ps_tmp/body, headers in $ps_tmp/headers. Status 000: no HTTP answer.
ps_req() {
	method=$1
	path=$2
	shift 2
	: > "$ps_tmp/body"
	: > "$ps_tmp/headers"
	status=$(curl -sS --max-time "${PS_REQ_MAX_TIME:-20}" -o "$ps_tmp/body" -D "$ps_tmp/headers" \
		-w '%{http_code}' -X "$method" "$@" "$ps_url$path" 2> "$ps_tmp/curl.err") ||
		status=000
}

# ps_header NAME: the value of a header of the last answer ("" when absent).
ps_header() {
	grep -i "^$1:" "$ps_tmp/headers" | head -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'
}

# expect STATUS DESC [JQ-EXPR...]: the last answer had STATUS and every jq expression
# is true of its body.
expect() {
	want=$1
	desc=$2
	shift 2
	if [ "$status" != "$want" ]; then
		ps_fail "$desc (status $status, expected $want)"
		return 0
	fi
	for e in "$@"; do
		if ! jq -e "$e" "$ps_tmp/body" > /dev/null 2>&1; then
			ps_fail "$desc: $e"
			return 0
		fi
	done
	ps_ok "$desc"
}

# expect_error STATUS DESC [JQ-EXPR...]: an error answer: JSON {"error", "detail"}.
expect_error() {
	want=$1
	desc=$2
	shift 2
	ctype=$(ps_header Content-Type)
	case $ctype in
	application/json*) ;;
	*)
		ps_fail "$desc: Content-Type '$ctype' is not application/json"
		return 0
		;;
	esac
	expect "$want" "$desc" '(.error | type == "string" and length > 0)' \
		'(.detail | type == "string")' '(keys == ["detail", "error"])' "$@"
}

# check DESC COMMAND...: a plain shell condition.
check() {
	desc=$1
	shift
	if "$@" > /dev/null; then
		ps_ok "$desc"
	else
		ps_fail "$desc"
	fi
}
