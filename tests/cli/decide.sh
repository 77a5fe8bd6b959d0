#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `probestorm decide` on the bundle recorded from the real QEMU kit
# (tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson, 28 cycles of stock and of lkml-v1):
# stock against lkml-v1 is decided (decon-ctl late_iommu_probe 3/28 vs 28/28, Fisher p
# 1.2e-12: DIFFERENT) at one look and at look 1 of 4 (alpha 0.001 / 4); stock against
# itself is UNDECIDED at the 0.05 margin (decon 14/28 each side: TOST p 0.35, far from
# alpha; equivalence within 5 points needs thousands of cycles at a rate near 50%) and
# SAME at a 0.5 margin (TOST p 5.4e-5); the per-look alpha and the Bonferroni rule are in
# the text and the JSON; bad options exit 2 with one line on stderr.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
ps=$top_builddir/probestorm
bundle=$top_srcdir/tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0

ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fail=1; }

run() { # run NAME WANT-EXIT ARGS...: stdout into $t/NAME
	name=$1 want=$2; shift 2
	timeout 30 "$ps" --database "$t/db" "$@" > "$t/$name" 2> "$t/err"
	rc=$?
	if [ $rc -ne "$want" ]; then
		bad "$name: exit $rc, expected $want"
		sed 's/^/    /' "$t/err" "$t/$name"
		return 1
	fi
	ok "$name: exit $rc"
	return 0
}

has() { # has NAME REGEX WHAT
	if grep -Eq "$2" "$t/$1"; then
		ok "$1: $3"
	else
		bad "$1: $3 (no /$2/)"
		sed 's/^/    /' "$t/$1"
	fi
}

# the row of consumer $2 metric $3 in text output $1
row() {
	awk -v c="$2" -v m="$3" '/^scenario /{cur=$NF} cur==c && $1==m' "$t/$1"
}

if ! timeout 60 "$ps" --database "$t/db" import "$bundle" > /dev/null 2> "$t/err"; then
	echo "FAIL - import of $bundle"
	cat "$t/err"
	exit 1
fi

if run diff 0 decide --base stock --head lkml-v1; then
	case $(row diff decon-ctl late_iommu_probe) in
	*"3/28 "*"28/28 "*1.2e-12*DIFFERENT)
		ok "decon-ctl late_iommu_probe: 3/28 vs 28/28, p 1.2e-12, DIFFERENT" ;;
	*) bad "decon-ctl late_iommu_probe row: '$(row diff decon-ctl late_iommu_probe)'" ;;
	esac
	case $(row diff decon any_failure) in
	*"14/28 "*"28/28 "*1.4e-05*DIFFERENT) ok "decon any_failure: 14/28 vs 28/28, DIFFERENT" ;;
	*) bad "decon any_failure row: '$(row diff decon any_failure)'" ;;
	esac
	has diff '^decision: DECIDED \(4 different, 0 same of 4 metrics\)' "DECIDED, 4 different"
	has diff 'Bonferroni over the 1 planned look,' "states the alpha-spending rule"
	has diff 'cycles are treated as independent trials' "states the independence caveat"
fi
if run diff-look1of4 0 decide --base label:stock --head label:lkml-v1 --look 1 --looks 4; then
	has diff-look1of4 \
		'alpha 0.001 overall, 0.00025 per look \(Bonferroni over the 4 planned looks' \
		"per-look alpha 0.001 / 4"
fi
if run self 3 decide --base stock --head stock; then
	case $(row self decon any_failure) in
	*"14/28 "*"14/28 "*"+0.0%"*1.0000*0.3493*UNDECIDED)
		ok "stock vs stock decon: TOST p 0.3493, UNDECIDED" ;;
	*) bad "stock vs stock decon row: '$(row self decon any_failure)'" ;;
	esac
	has self '^decision: UNDECIDED \(4 of 4 metrics undecided' "UNDECIDED"
fi
if run self-wide 0 decide --base stock --head stock --margin 0.5; then
	case $(row self-wide decon any_failure) in
	*5.4e-05*SAME) ok "stock vs stock, margin 0.5: decon TOST p 5.4e-05, SAME" ;;
	*) bad "margin 0.5 decon row: '$(row self-wide decon any_failure)'" ;;
	esac
	has self-wide '^decision: DECIDED \(0 different, 4 same' "DECIDED, all SAME"
fi
# one watched metric, JSON
if run json 0 decide --base stock --head lkml-v1 --watch decon-ctl:late_iommu_probe --json \
	--look 2 --looks 4; then
	if command -v jq > /dev/null; then
		got=$(jq -r '[.decided, .alpha_spending, .alpha_look, (.metrics | length),
			.metrics[0].consumer, .metrics[0].metric, .metrics[0].decision,
			.metrics[0].base.k, .metrics[0].head.k] | map(tostring) | join(" ")' "$t/json")
		if [ "$got" = "true bonferroni 0.00025 1 decon-ctl late_iommu_probe different 3 28" ]; then
			ok "json: $got"
		else
			bad "json: '$got'"
		fi
	else
		has json '"decision": "different"' "json decision (no jq)"
	fi
fi
# a watched class never seen: 0/28 on each side, undecided at 28 cycles
run unseen 3 decide --base stock --head lkml-v1 --watch crash
# errors: exit 2 with one line on stderr
for args in "--base nope --head stock" "--base stock" "--base stock --head stock --margin 0" \
	"--base stock --head stock --look 5 --looks 4" "--base stock --head stock --watch ok" \
	"--base stock --head stock --watch nope:crash" "--base stock --head stock extra"; do
	# shellcheck disable=SC2086
	timeout 30 "$ps" --database "$t/db" decide $args > /dev/null 2> "$t/err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l < "$t/err")" -eq 1 ]; then
		ok "decide $args: exit 2, $(cat "$t/err")"
	else
		bad "decide $args: exit $rc"; cat "$t/err"
	fi
done
exit $fail
