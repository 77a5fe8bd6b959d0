#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The QEMU kit fails loudly (issue: a fresh machine's quickstart went on after QEMU refused
# to start). With stand-in qemu-system-aarch64 and dtc on PATH, no real QEMU is needed:
#   - mkdtb shows QEMU's own message and fails;
#   - boot exits 3 with QEMU's message when the guest never booted, and passes -nic none;
#   - run-campaign stops at a boot that produced nothing, naming it, and exits non-zero;
#   - boot resets a guest whose stream ends with a "reboot" line (exit 0, at once);
#   - boot --stall resets a guest whose stream went silent on an in-flight record (124)
#     or after its last record (0).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
kit=$top_srcdir/contrib/qemu
tmp=$(mktemp -d "${TMPDIR:-/tmp}/probestorm-kit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

mkdir -p "$tmp/bin" "$tmp/kernel" "$tmp/cache"
export PROBESTORM_CACHE=$tmp/cache
# The stand-in QEMU: its behaviour is chosen by $FAKE_QEMU.
cat > "$tmp/bin/qemu-system-aarch64" <<'Q'
#!/bin/sh
echo "$*" >> "$FAKE_QEMU_ARGS"
case $* in *--version*) echo "QEMU emulator version 7.2.0 (fake)"; exit 0 ;; esac
case $FAKE_QEMU in
norom)
	echo "qemu-system-aarch64: failed to find romfile \"efi-virtio.rom\"" >&2
	exit 1 ;;
silent-inflight|silent-after|reboot-line)
	# A guest that boots, streams a line, then wedges.
	for a in "$@"; do case $a in file,id=ser0,path=*) con=${a#file,id=ser0,path=} ;;
		file,id=stream0,path=*) str=${a#file,id=stream0,path=} ;; esac; done
	echo "Booting Linux on physical CPU 0x0" > "$con"
	if [ "$FAKE_QEMU" = reboot-line ]; then
		echo '{"type":"reboot","run":"r","cycle":0,"boot":0,"reason":"cycle 0: the target is wedged after a hang"}' > "$str"
	elif [ "$FAKE_QEMU" = silent-inflight ]; then
		echo '{"type":"inflight","run":"r","cycle":0,"action":1,"verb":"bind","arg":"decon","group":null}' > "$str"
	else
		echo '{"type":"cycle","run":"r","seq":0}' > "$str"
	fi
	exec sleep 60 ;;
esac
exit 1
Q
chmod +x "$tmp/bin/qemu-system-aarch64"
PATH=$tmp/bin:$PATH
export PATH FAKE_QEMU_ARGS=$tmp/qemu-args
: > "$tmp/kernel/Image"
echo "variant=stock" > "$tmp/kernel/info"
: > "$tmp/initrd"
: > "$tmp/dtb"

FAKE_QEMU=norom sh "$kit/mkdtb" > /dev/null 2> "$tmp/mkdtb.err"
rc=$?
check "mkdtb fails when QEMU cannot start" '[ $rc -ne 0 ]'
check "mkdtb shows QEMU's own message" 'grep -q "failed to find romfile" "$tmp/mkdtb.err"'
check "mkdtb runs QEMU with -nic none" 'grep -q -- "-nic none" "$tmp/qemu-args"'

: > "$tmp/qemu-args"
FAKE_QEMU=norom sh "$kit/boot" --kernel-dir "$tmp/kernel" --initrd "$tmp/initrd" \
	--dtb "$tmp/dtb" --quiet --timeout 30 > /dev/null 2> "$tmp/boot.err"
rc=$?
check "boot exits 3 when the guest never booted (got $rc)" '[ $rc = 3 ]'
check "boot shows QEMU's own message" 'grep -q "failed to find romfile" "$tmp/boot.err"'
check "boot says the guest never booted" 'grep -q "never booted" "$tmp/boot.err"'
check "boot runs QEMU with -nic none" 'grep -q -- "-nic none" "$tmp/qemu-args"'

FAKE_QEMU=silent-inflight sh "$kit/boot" --kernel-dir "$tmp/kernel" --initrd "$tmp/initrd" \
	--dtb "$tmp/dtb" --quiet --timeout 50 --stall 2 > /dev/null 2> "$tmp/stall.err"
rc=$?
check "a stream silent on an in-flight action is a hang (124, got $rc)" '[ $rc = 124 ]'
check "the stall is named" 'grep -q "stall: .*in-flight" "$tmp/stall.err"'
FAKE_QEMU=silent-after sh "$kit/boot" --kernel-dir "$tmp/kernel" --initrd "$tmp/initrd" \
	--dtb "$tmp/dtb" --quiet --timeout 50 --stall 2 > /dev/null 2> "$tmp/stall2.err"
rc=$?
check "a stream silent after its last record is reset and goes on (0, got $rc)" '[ $rc = 0 ]'

start=$(date +%s)
FAKE_QEMU=reboot-line sh "$kit/boot" --kernel-dir "$tmp/kernel" --initrd "$tmp/initrd" \
	--dtb "$tmp/dtb" --quiet --timeout 50 --stall 40 > /dev/null 2> "$tmp/reboot.err"
rc=$? took=$(( $(date +%s) - start ))
check "a reboot line resets the guest at once (0, got $rc, ${took} s)" '[ $rc = 0 ] && [ $took -lt 20 ]'
check "the reset is named" 'grep -q "asked for a reboot" "$tmp/reboot.err"'

# run-campaign: a stand-in kit (build-kernel, cross-build, mkinitramfs) around the real
# run-campaign and boot, so that only the boot's failure is exercised.
mkdir -p "$tmp/kit"
cp "$kit/run-campaign" "$kit/boot" "$kit/common.sh" "$tmp/kit/"
printf '#!/bin/sh\necho %s\n' "$tmp/kernel" > "$tmp/kit/build-kernel"
printf '#!/bin/sh\necho %s\n' "$tmp/bin" > "$tmp/kit/cross-build"
printf '#!/bin/sh\necho %s\n' "$tmp/initrd" > "$tmp/kit/mkinitramfs"
printf '#!/bin/sh\necho %s\n' "$tmp/dtb" > "$tmp/kit/mkdtb"
chmod +x "$tmp/kit/"*
printf '#!/bin/sh\nexit 0\n' > "$tmp/bin/probestorm"
chmod +x "$tmp/bin/probestorm"
: > "$tmp/conf"
FAKE_QEMU=norom PROBESTORM=$tmp/bin/probestorm sh "$tmp/kit/run-campaign" --variant stock \
	--config "$tmp/conf" --campaign c --database "$tmp/db" --out "$tmp/out" \
	--timeout 30 > /dev/null 2> "$tmp/rc.err"
rc=$?
check "run-campaign fails when a boot produced nothing (got $rc)" '[ $rc -ne 0 ]'
check "run-campaign names the boot" 'grep -q "boot 0 produced no record" "$tmp/rc.err"'
check "run-campaign shows QEMU's message" 'grep -q "failed to find romfile" "$tmp/rc.err"'
check "run-campaign does not say finished" '! grep -q "finished" "$tmp/rc.err"'

echo "1..$n"
exit $failed
