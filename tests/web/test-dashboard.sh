#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The dashboard (web/) in headless Chromium against a real probestormd on a random loopback
# port, over a database imported from the bundle recorded from the QEMU kit (stock vs
# lkml-v1): every view renders, the comparison shows the compare engine's regression,
# heatmap cells open the matching cycles, bad deep links show readable errors, and a second
# database of a kernel that crashes shows its crash cycles and its aborted run
# (tests/web/dashboard.mjs). Uses Debian's chromium (never a downloaded browser) and
# playwright-core from npm, installed into the build folder (build/web-tests), where the
# screenshots go too. Skips (77) only when chromium is not installed.
: "${PS_TEST_TIMEOUT:=300}"
export PS_TEST_TIMEOUT
. "$(dirname "$0")/../integration/lib.sh"

PS_CHROMIUM=${PS_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$PS_CHROMIUM" ]; then
	echo "SKIP: $PS_CHROMIUM is not installed (contrib/setup-deps installs Debian's chromium)"
	exit 77
fi
for tool in node npm; do
	command -v "$tool" > /dev/null 2>&1 ||
		{ echo "Bail out! $tool is not installed"; exit 99; }
done

# playwright-core, pinned to 1.61.1, the newest release that runs on Debian 12's Node.js 18
# (1.62 and later need Node.js 20); its browser download is never used (executablePath).
# It has no dependencies: its tarball is fetched once (`npm pack`) into the kit's cache
# (PS_NPM_CACHE, default ~/.cache/probestorm/npm), checked against the registry's integrity
# for that version, and installed from the file with `npm install --offline`. A build tree,
# a distcheck or a fresh root that mounts the cache then needs no registry (a fresh root
# behind a TLS-intercepting proxy cannot reach it: SELF_SIGNED_CERT_IN_CHAIN).
PW_VERSION=1.61.1
PW_INTEGRITY=sha512-h7Qlt6m4REp25qvIdvbDtVmD4LqVXfpRxhORv9L0jzETM05p4fuPJ3dKyuSXQxDSbXnmS79HAgi9589lGSpLkg==
PS_PW_PREFIX=${PS_PW_PREFIX:-$top_builddir/build/web-tests}
PS_NPM_CACHE=${PS_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/probestorm/npm}
pw_pkg=$PS_PW_PREFIX/node_modules/playwright-core/package.json
pw_tgz=$PS_NPM_CACHE/playwright-core-$PW_VERSION.tgz
npm_bail() { # npm_bail WHAT: npm's log into the test log, then a hard error
	sed 's/^/# npm: /' "$ps_tmp/npm.log"
	echo "Bail out! $1"
	exit 99
}
if [ ! -f "$pw_pkg" ] || ! grep -q "\"version\": \"$PW_VERSION\"" "$pw_pkg"; then
	mkdir -p "$PS_PW_PREFIX" "$PS_NPM_CACHE"
	if [ ! -f "$pw_tgz" ]; then
		timeout 180 npm pack "playwright-core@$PW_VERSION" --pack-destination "$PS_NPM_CACHE" \
			--cache "$PS_NPM_CACHE" --loglevel=error > "$ps_tmp/npm.log" 2>&1 ||
			npm_bail "cannot fetch playwright-core@$PW_VERSION from npm into $PS_NPM_CACHE"
	fi
	got=$(python3 -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$pw_tgz")
	if [ "$got" != "$PW_INTEGRITY" ]; then
		rm -f "$pw_tgz"
		echo "Bail out! $pw_tgz is not playwright-core@$PW_VERSION ($got); removed"
		exit 99
	fi
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 180 npm install --prefix "$PS_PW_PREFIX" \
		--offline --cache "$PS_NPM_CACHE" --no-audit --no-fund --loglevel=error "$pw_tgz" \
		> "$ps_tmp/npm.log" 2>&1 || npm_bail "cannot install $pw_tgz"
fi

PS_BUNDLE=$top_srcdir/tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson
ps_config web
ps_database "$ps_tmp/db"
ps_start "$ps_tmp/web.conf" "$ps_tmp/db"
main_url=$ps_url
# A second daemon over the runs recorded from the kit with a kernel that oopses and panics
# (tests/data/bundles/README.md): crash cycles and an aborted run in the dashboard.
"$PS_CLI" --database "$ps_tmp/fail.db" import \
	"$top_srcdir/tests/data/bundles/qemu-failures-stock.ndjson" > /dev/null ||
	{ echo "Bail out! cannot import qemu-failures-stock.ndjson"; exit 99; }
ps_start "$ps_tmp/web.conf" "$ps_tmp/fail.db"
fail_url=$ps_url

PS_SHOTS=$top_builddir/build/web-tests/screenshots
mkdir -p "$PS_SHOTS"
PS_CHARTJS=0
[ -f /usr/share/javascript/chart.js/chart.min.js ] && PS_CHARTJS=1
[ "$PS_CHARTJS" = 1 ] ||
	echo "# libjs-chart.js is not installed: checking the page without charts"

PS_URL=$main_url PS_FAIL_URL=$fail_url PS_SHOTS=$PS_SHOTS PS_PW_PREFIX=$PS_PW_PREFIX PS_CHROMIUM=$PS_CHROMIUM \
	PS_CHARTJS=$PS_CHARTJS timeout -k 5 240 node "$top_srcdir/tests/web/dashboard.mjs"
rc=$?
echo "# screenshots: $PS_SHOTS"
if [ $rc -ne 0 ]; then
	echo "# daemon log:"
	sed 's/^/#   /' "$ps_tmp/daemon.log"
	exit 1
fi
exit 0
