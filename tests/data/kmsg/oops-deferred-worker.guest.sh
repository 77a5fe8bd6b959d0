#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest script that provokes each kind of kernel record probestorm's parsers must read, and
# copies the raw /dev/kmsg records (and devices_deferred contents) to /dev/hvc0.
#
# Used by contrib/qemu/capture-kmsg, which splits the stream into tests/data/. Each section
# is "=== BEGIN kmsg/NAME" ... "=== END"; kmsg sections hold the records between two
# marker records this script writes to /dev/kmsg (the markers themselves are left out).
# ps.capture=LIST (kernel command line) picks scenarios; default: all but lkml.
out=/dev/hvc0
[ -c "$out" ] || out=/dev/stdout
D=/sys/bus/platform/drivers
P=/sys/bus/platform/devices
M=/sys/module
scen=""
for arg in $(cat /proc/cmdline); do
	case $arg in ps.capture=*) scen=$(echo "${arg#*=}" | tr ',' ' ') ;; esac
done

sysw() {
	err=$( (echo "$2" > "$1") 2>&1 ) && { echo OK; return; }
	echo "$err" | sed 's/.*write error: //'
}

# A reader that falls behind gets EPIPE and cat exits: reopen (from the oldest record
# again; extract drops the repeats by sequence number).
(while :; do cat /dev/kmsg; done) > /tmp/kmsg.all &
reader=$!

# Write a marker record and wait until the background reader has it.
mark() {
	echo "ps-capture: $1" > /dev/kmsg
	mi=0
	while ! grep -q "ps-capture: $1\$" /tmp/kmsg.all && [ $mi -lt 200 ]; do
		usleep 10000; mi=$((mi + 1))
	done
}

begin() { mark "begin $1"; }
# extract NAME: print the records between NAME's markers
extract() {
	awk -v b="ps-capture: begin $1" -v e="ps-capture: end $1" '
		/^[^ ]/ { split($0, h, ","); dup = (h[2] + 0 <= last); if (!dup) last = h[2] + 0 }
		dup { next }
		/^[^ ]/ { hdr = $0; sub(/^[^;]*;/, "", hdr)
			if (hdr == b) { on = 1; skip = 1; next }
			if (hdr == e) { on = 0 }
			skip = 0 }
		on && !skip { print }' /tmp/kmsg.all
}
end() {
	mark "end $1"
	echo "=== BEGIN kmsg/${2:-$1}" > "$out"
	extract "$1" > "$out"
	echo "=== END" > "$out"
}
note() { echo "=== NOTE $*" > "$out"; }
section() { echo "=== BEGIN $1" > "$out"; cat > "$out"; echo "=== END" > "$out"; }

note "kernel $(uname -r) $(uname -v)"
note "cmdline $(cat /proc/cmdline)"
note "tracefs events/iommu: $(ls /sys/kernel/tracing/events/iommu 2>&1 | tr '\n' ' ')"

begin insmod
insmod /lib/modules/ps/ps_sysmmu.ko walk_delay_us=20000
insmod /lib/modules/ps/ps_decon.ko
end insmod
# probestorm h3: an oops in the deferred-probe worker (a kworker, not the writer): decon-ctl
# queued by drivers_probe while sysmmu-b is unbound, the Nth probe oopses when sysmmu-b's
# bind releases it.
sysw $D/ps-decon/unbind decon >/dev/null
sysw $D/ps-decon/unbind decon-ctl >/dev/null
sysw $D/ps-sysmmu/unbind sysmmu-b >/dev/null
r1=$(sysw /sys/bus/platform/drivers_probe decon-ctl)
note "oops-deferred-worker: drivers_probe decon-ctl: $r1; deferred: $(cat /sys/kernel/debug/devices_deferred | tr '\t\n' ' /')"
echo $(( $(cat $M/ps_decon/parameters/probe_count) + 1 )) > $M/ps_decon/parameters/oops_on_bind
begin oops-deferred-worker
r2=$(sysw $D/ps-sysmmu/bind sysmmu-b)
sleep 1
end oops-deferred-worker
note "oops-deferred-worker: bind sysmmu-b: $r2"
kill $reader 2>/dev/null
note "done"
