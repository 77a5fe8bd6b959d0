#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# contrib/lava/: the guest's report script and the job generator, without LAVA.
# report: the bundle recorded from the real QEMU kit is imported, each run's summary taken
# with `probestorm --json export --format summary` (what `run --json` prints in the guest),
# and the <LAVA_SIGNAL_TESTCASE ...> lines report prints when lava-test-case is absent are
# checked against the data (stock: decon-ctl late_iommu_probe fail at 3/28 = 0.1071;
# lkml-v1: 28/28); then with a stand-in lava-test-case on PATH, which must receive the same
# cases as arguments; the same lines from compact JSON and under busybox awk (the guest's);
# exit 1 for a summary without consumers and for non-JSON.
# mkjob: a job made from stand-in kernel, initrd and DT files must be YAML (python3-yaml)
# with the QEMU arm64 context, file:// URLs and matching sha256 sums, and, when LAVA's own
# lava_common is importable, valid against LAVA's job schema; the board template and the
# monitor template (the job contrib/lava/run-local ran with lava-run) too.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
ps=$top_builddir/probestorm
lava=$top_srcdir/contrib/lava
bundle=$top_srcdir/tests/data/bundles/qemu-e2e-stock-lkml-v1.ndjson
stock=cfe72e22-7c67-4109-ba36-ca38a28ab4f0
lkml=92a6cd99-2b7f-4c39-a72d-5ecdcfdc5f7d
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fail=1; }
signal() { # signal NAME RESULT RATE: the line lava-test-case would print
	echo "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=$1 RESULT=$2 MEASUREMENT=$3 UNITS=rate>"
}

if ! timeout 60 "$ps" --database "$t/db" import "$bundle" > /dev/null 2> "$t/err"; then
	bad "import of $bundle"; cat "$t/err"; exit 1
fi
for u in $stock $lkml; do
	timeout 30 "$ps" --database "$t/db" --json export --format summary "$u" > "$t/$u.json" ||
		bad "export --format summary $u"
done

# The fallback: no lava-test-case on PATH.
PS_LAVA_NO_HELPER=1 timeout 30 "$lava/report" "$t/$stock.json" > "$t/stock.out" 2> "$t/err"
rc=$?
n=$(grep -c '^<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=[A-Za-z0-9_.-]* RESULT=\(pass\|fail\) MEASUREMENT=[0-9.]* UNITS=rate>$' \
	"$t/stock.out")
if [ $rc -eq 0 ] && [ "$n" -eq 18 ] && [ "$(wc -l < "$t/stock.out")" -eq 18 ]; then
	ok "report (no lava-test-case): 18 well-formed LAVA_SIGNAL_TESTCASE lines"
else
	bad "report: exit $rc, $n well-formed lines"; cat "$t/stock.out" "$t/err"
fi
for want in "$(signal decon-ctl.late_iommu_probe fail 0.1071)" \
	"$(signal decon-ctl fail 0.1071)" "$(signal decon-ctl.oops pass 0.0000)" \
	"$(signal decon.late_iommu_probe fail 0.5000)" "$(signal decon fail 0.5000)"; do
	if grep -qxF "$want" "$t/stock.out"; then
		ok "stock: $want"
	else
		bad "stock: no line $want"
	fi
done
# The counts behind those lines, straight from the database.
if command -v sqlite3 > /dev/null; then
	k=$(sqlite3 "$t/db" "SELECT COUNT(*) FROM observations o JOIN cycles c ON c.id =
		o.cycle_id JOIN runs r ON r.id = c.run_id WHERE r.uuid = '$stock' AND
		o.device = 'decon-ctl' AND o.outcome = 'late_iommu_probe'")
	[ "$k" = 3 ] && ok "database: decon-ctl late_iommu_probe in 3 stock cycles" ||
		bad "database says $k stock decon-ctl late_iommu_probe cycles"
fi
PS_LAVA_NO_HELPER=1 timeout 30 "$lava/report" --prefix e2e. < "$t/$lkml.json" > "$t/lkml.out"
if grep -qxF "$(signal e2e.decon-ctl.late_iommu_probe fail 1.0000)" "$t/lkml.out" &&
	grep -qxF "$(signal e2e.decon.hang pass 0.0000)" "$t/lkml.out" &&
	[ "$(grep -c 'RESULT=fail' "$t/lkml.out")" -eq 4 ]; then
	ok "lkml-v1 (stdin, --prefix): late_iommu_probe fail at 1.0000 on both consumers"
else
	bad "lkml-v1 report:"; cat "$t/lkml.out"
fi

# Compact JSON gives the same lines; so does busybox awk, which the guest has.
jq -c . "$t/$stock.json" > "$t/compact.json" 2> /dev/null ||
	tr -d '\n' < "$t/$stock.json" > "$t/compact.json"
PS_LAVA_NO_HELPER=1 "$lava/report" "$t/compact.json" > "$t/compact.out"
cmp -s "$t/compact.out" "$t/stock.out" && ok "compact JSON: same lines" ||
	bad "compact JSON gives other lines"
if command -v busybox > /dev/null && busybox awk 'BEGIN { exit 0 }' 2> /dev/null; then
	mkdir -p "$t/bb"
	printf '#!/bin/sh\nexec busybox awk "$@"\n' > "$t/bb/awk"
	chmod +x "$t/bb/awk"
	PATH=$t/bb:$PATH PS_LAVA_NO_HELPER=1 "$lava/report" "$t/$stock.json" > "$t/bb.out"
	cmp -s "$t/bb.out" "$t/stock.out" && ok "busybox awk: same lines" ||
		bad "busybox awk gives other lines"
else
	echo "SKIP - no busybox awk"
fi

# With lava-test-case on PATH, it is called once per case with LAVA's arguments.
mkdir -p "$t/bin"
cat > "$t/bin/lava-test-case" << EOF
#!/bin/sh
echo "\$*" >> "$t/calls"
EOF
chmod +x "$t/bin/lava-test-case"
PATH=$t/bin:$PATH "$lava/report" "$t/$stock.json" > "$t/helper.out"
sed -E 's/^<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=([^ ]*) RESULT=([a-z]*) MEASUREMENT=([0-9.]*) UNITS=rate>$/\1 --result \2 --measurement \3 --units rate/' \
	"$t/stock.out" > "$t/calls.want"
if cmp -s "$t/calls" "$t/calls.want" && ! [ -s "$t/helper.out" ]; then
	ok "lava-test-case on PATH: called with NAME --result R --measurement M --units rate"
else
	bad "lava-test-case calls differ:"; diff "$t/calls.want" "$t/calls"
fi

# Bad input: exit 1 and a message.
echo '{"consumers":[],"cycles":0}' > "$t/empty.json"
echo '{"consumers":[{"device":' > "$t/torn.json"
for f in empty torn; do
	PS_LAVA_NO_HELPER=1 "$lava/report" "$t/$f.json" > "$t/out" 2> "$t/err"
	rc=$?
	if [ $rc -eq 1 ] && ! [ -s "$t/out" ] && [ -s "$t/err" ]; then
		ok "report on $f summary: exit 1, $(cat "$t/err")"
	else
		bad "report on $f summary: exit $rc"; cat "$t/out" "$t/err"
	fi
done

# mkjob on stand-in files.
mkdir -p "$t/k"
echo kernel > "$t/k/Image"
printf 'variant=lkml-v1\npatches=lkml-v1.patch@4d722dae506c \n' > "$t/k/info"
echo initrd > "$t/initrd.cpio.gz"
echo dtb > "$t/virt.dtb"
if "$lava/mkjob" --kernel-dir "$t/k" --initrd "$t/initrd.cpio.gz" --dtb "$t/virt.dtb" \
	--append ps_sysmmu.walk_delay_us=5000 -o "$t/job.yaml" 2> "$t/err"; then
	ok "mkjob: qemu job written"
else
	bad "mkjob"; cat "$t/err"
fi
if "$lava/mkjob" --template "$lava/board-zuma.yaml.in" --kernel-dir "$t/k" \
	--initrd "$t/initrd.cpio.gz" --dtb "$t/virt.dtb" --device-type gs101_oriole \
	--rootfs-url https://lab.example/rootfs.tar.xz -o "$t/board.yaml" 2> "$t/err"; then
	ok "mkjob: board job written"
else
	bad "mkjob --template board-zuma.yaml.in"; cat "$t/err"
fi
"$lava/mkjob" --template "$lava/board-zuma.yaml.in" --kernel-dir "$t/k" \
	--initrd "$t/initrd.cpio.gz" --dtb "$t/virt.dtb" > /dev/null 2> "$t/err"
rc=$?
[ $rc -eq 2 ] && grep -q '@DEVICE_TYPE@' "$t/err" &&
	ok "mkjob: unfilled placeholders refused ($(cat "$t/err"))" || bad "mkjob left placeholders"
if "$lava/mkjob" --template "$lava/qemu-arm64-monitor.yaml.in" --kernel-dir "$t/k" \
	--initrd "$t/initrd.cpio.gz" --dtb "$t/virt.dtb" --cycles 3 -o "$t/monitor.yaml" \
	2> "$t/err"; then
	ok "mkjob: monitor job written"
else
	bad "mkjob --template qemu-arm64-monitor.yaml.in"; cat "$t/err"
fi
"$lava/mkjob" --initrd "$t/initrd.cpio.gz" --dtb "$t/virt.dtb" > /dev/null 2>&1
[ $? -eq 2 ] && ok "mkjob without --kernel-dir: exit 2" || bad "mkjob without --kernel-dir"

if python3 -c 'import yaml' 2> /dev/null; then
	if python3 - "$t" > "$t/err" 2>&1 << 'EOF'
import hashlib, sys, yaml
t = sys.argv[1]
job = yaml.safe_load(open(t + "/job.yaml"))
assert job["device_type"] == "qemu", job["device_type"]
ctx = job["context"]
assert (ctx["arch"], ctx["machine"], ctx["cpu"]) == ("arm64", "virt", "cortex-a57"), ctx
assert "ps_sysmmu.walk_delay_us=5000" in ctx["extra_kernel_args"]
deploy, boot, test = (a[k] for a, k in zip(job["actions"], ("deploy", "boot", "test")))
assert deploy["to"] == "tmpfs" and boot["method"] == "qemu"
for name, f in (("kernel", "k/Image"), ("ramdisk", "initrd.cpio.gz"), ("dtb", "virt.dtb")):
    img = deploy["images"][name]
    assert img["url"].startswith("file:///") and img["url"].endswith("/" + f.split("/")[-1])
    assert img["sha256sum"] == hashlib.sha256(open(t + "/" + f, "rb").read()).hexdigest()
steps = test["definitions"][0]["repository"]["run"]["steps"]
assert all(isinstance(s, str) for s in steps), steps
assert any("--campaign e2e" in s and "--label 'lkml-v1'" in s for s in steps), steps
assert any(s.startswith("probestorm-lava-report") for s in steps), steps
mon = yaml.safe_load(open(t + "/monitor.yaml"))
assert mon["device_type"] == "qemu" and mon["actions"][1]["boot"]["method"] == "qemu"
arg = mon["actions"][0]["deploy"]["images"]["kernel"]["image_arg"]
assert "probestorm.guest=/usr/bin/probestorm-lava-guest" in arg, arg
assert "probestorm.cycles=3" in arg and "probestorm.label=lkml-v1" in arg, arg
assert "panic=-1" not in arg, arg
mons = mon["actions"][2]["test"]["monitors"]
assert mons[0]["pattern"].startswith("<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=(?P<test_case_id>"), mons
board = yaml.safe_load(open(t + "/board.yaml"))
assert board["device_type"] == "gs101_oriole"
steps = board["actions"][2]["test"]["definitions"][0]["repository"]["run"]["steps"]
assert all(isinstance(s, str) for s in steps) and "reload-sweep" in steps[0], steps
EOF
	then
		ok "jobs are YAML with the expected device, context, images and steps"
	else
		bad "job YAML:"; sed 's/^/    /' "$t/err"
	fi
else
	echo "SKIP - python3-yaml not available: job YAML not parsed"
fi
if python3 -c 'import yaml, lava_common.schemas' 2> /dev/null; then
	for j in job board monitor; do
		if python3 -c 'import sys, yaml; from lava_common.schemas import validate
validate(yaml.safe_load(open(sys.argv[1])), strict=True)' "$t/$j.yaml" > "$t/err" 2>&1; then
			ok "$j.yaml: valid against LAVA's job schema (lava_common)"
		else
			bad "$j.yaml: LAVA schema:"; tail -3 "$t/err"
		fi
	done
else
	echo "SKIP - lava_common (lava-common) not importable: LAVA's job schema not checked"
fi
exit $fail
