#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest script that provokes each kind of kernel record probestorm's parsers must read, and
# copies the raw /dev/kmsg records (and devices_deferred contents) to /dev/hvc0.
#
# Used by contrib/qemu/capture-kmsg, which splits the stream into tests/data/. Each section
# is "=== BEGIN kmsg/NAME" ... "=== END"; kmsg sections hold the records between two
# marker records this script writes to /dev/kmsg (the markers themselves are left out).
# ps.capture=LIST (kernel command line) picks scenarios; default: all but lkml and
# oops-deferred (both on request only: lkml for the lkml-v1 kernel, oops-deferred in a boot
# of its own, as "oops" leaves a device lock held).
out=/dev/hvc0
[ -c "$out" ] || out=/dev/stdout
D=/sys/bus/platform/drivers
P=/sys/bus/platform/devices
M=/sys/module
scen="race walk deferred eio warn hang oops"
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

for s in $scen; do
	case $s in
	race|lkml)
		# One race cycle at 100 ms: stock warns for decon, defers decon-ctl; lkml-v1
		# warns for both.
		name=late-iommu-warn
		sysw $D/ps-decon/unbind decon >/dev/null
		sysw $D/ps-decon/unbind decon-ctl >/dev/null
		sysw $D/ps-sysmmu/unbind sysmmu-b >/dev/null
		sysw $D/ps-sysmmu/unbind sysmmu-a >/dev/null
		sysw $D/ps-sysmmu/bind sysmmu-a >/dev/null
		begin $name
		(sysw $D/ps-sysmmu/bind sysmmu-b > /tmp/bb) &
		usleep 100000
		(sysw $D/ps-decon/bind decon > /tmp/b1) &
		(sysw $D/ps-decon/bind decon-ctl > /tmp/b2) &
		wait $! ; sleep 1
		end $name
		note "$name: bind sysmmu-b=$(cat /tmp/bb) decon=$(cat /tmp/b1) decon-ctl=$(cat /tmp/b2)"
		[ -e $P/decon/driver ] || sysw $D/ps-decon/bind decon >/dev/null
		[ -e $P/decon-ctl/driver ] || sysw $D/ps-decon/bind decon-ctl >/dev/null
		;;
	walk)
		# The WARN can also come from the registering instance's own bus walk: it
		# meets a consumer whose bind is inside really_probe (dev->driver set) and
		# configures it; that bind then returns EAGAIN. Needs a short walk and a
		# bind right as the walk reaches the consumer; retried until seen.
		echo 2000 > $M/ps_sysmmu/parameters/walk_delay_us
		i=0
		while [ $i -lt 80 ]; do
			i=$((i + 1))
			off=$((40000 + (i % 10) * 4000))
			sysw $D/ps-decon/unbind decon >/dev/null
			sysw $D/ps-decon/unbind decon-ctl >/dev/null
			sysw $D/ps-sysmmu/unbind sysmmu-b >/dev/null
			sysw $D/ps-sysmmu/unbind sysmmu-a >/dev/null
			sysw $D/ps-sysmmu/bind sysmmu-a >/dev/null
			begin walk$i
			(sysw $D/ps-sysmmu/bind sysmmu-b > /tmp/bb) &
			usleep $off
			(sysw $D/ps-decon/bind decon > /tmp/b1) &
			(sysw $D/ps-decon/bind decon-ctl > /tmp/b2) &
			wait $!; usleep 200000
			mark "end walk$i"
			if extract walk$i | grep -q "probe_iommu_group"; then
				end walk$i late-iommu-warn-from-walk
				note "late-iommu-warn-from-walk: attempt $i, offset $off us, bind sysmmu-b=$(cat /tmp/bb) decon=$(cat /tmp/b1) decon-ctl=$(cat /tmp/b2)"
				break
			fi
		done
		[ -e $P/decon/driver ] || sysw $D/ps-decon/bind decon >/dev/null
		[ -e $P/decon-ctl/driver ] || sysw $D/ps-decon/bind decon-ctl >/dev/null
		echo 20000 > $M/ps_sysmmu/parameters/walk_delay_us
		;;
	deferred)
		# bind -> EAGAIN (not queued); drivers_probe -> queued on devices_deferred and
		# bound by the driver core when sysmmu-b comes back.
		sysw $D/ps-decon/unbind decon >/dev/null
		sysw $D/ps-decon/unbind decon-ctl >/dev/null
		sysw $D/ps-sysmmu/unbind sysmmu-b >/dev/null
		begin bind-eagain
		r=$(sysw $D/ps-decon/bind decon-ctl)
		end bind-eagain
		note "bind-eagain: echo decon-ctl > $D/ps-decon/bind: $r"
		cat /sys/kernel/debug/devices_deferred | section deferred/after-bind-eagain.txt
		begin drivers-probe-deferred
		r1=$(sysw /sys/bus/platform/drivers_probe decon-ctl)
		r2=$(sysw /sys/bus/platform/drivers_probe decon)
		end drivers-probe-deferred
		note "drivers_probe: decon-ctl: $r1, decon: $r2"
		cat /sys/kernel/debug/devices_deferred | section deferred/decon-ctl-waiting-for-sysmmu-b.txt
		begin deferred-released
		sysw $D/ps-sysmmu/bind sysmmu-b >/dev/null
		sleep 1
		end deferred-released
		cat /sys/kernel/debug/devices_deferred | section deferred/empty.txt
		note "after sysmmu-b bind: decon $(readlink $P/decon/driver) decon-ctl $(readlink $P/decon-ctl/driver)"
		;;
	eio)
		sysw $D/ps-decon/unbind decon-ctl >/dev/null
		sysw $D/ps-decon/unbind decon >/dev/null
		sysw $D/ps-sysmmu/unbind sysmmu-b >/dev/null
		echo sysmmu-b > $M/ps_sysmmu/parameters/fail_probe
		begin bind-error-eio
		r=$(sysw $D/ps-sysmmu/bind sysmmu-b)
		end bind-error-eio
		note "bind-error-eio: echo sysmmu-b > $D/ps-sysmmu/bind: $r"
		echo > $M/ps_sysmmu/parameters/fail_probe
		sysw $D/ps-sysmmu/bind sysmmu-b >/dev/null
		sysw $D/ps-decon/bind decon >/dev/null
		sysw $D/ps-decon/bind decon-ctl >/dev/null
		;;
	warn)
		sysw $D/ps-decon/unbind decon-ctl >/dev/null
		echo $(( $(cat $M/ps_decon/parameters/probe_count) + 1 )) > $M/ps_decon/parameters/warn_on_bind
		begin generic-warning
		r=$(sysw $D/ps-decon/bind decon-ctl)
		end generic-warning
		note "generic-warning: bind decon-ctl: $r"
		echo 0 > $M/ps_decon/parameters/warn_on_bind
		;;
	hang)
		# msleep() in probe is TASK_UNINTERRUPTIBLE: the hung-task detector (20 s)
		# reports the writer.
		sysw $D/ps-decon/unbind decon-ctl >/dev/null
		echo 45 > $M/ps_decon/parameters/hang_on_bind_s
		begin hung-task
		(sysw $D/ps-decon/bind decon-ctl > /tmp/bh) &
		pid=$!
		sleep 2
		echo 0 > $M/ps_decon/parameters/hang_on_bind_s
		wait $pid
		end hung-task
		note "hung-task: bind decon-ctl: $(cat /tmp/bh)"
		;;
	oops-deferred)
		# An oops in the deferred-probe worker (a kworker, not the writer): decon-ctl
		# queued by drivers_probe while sysmmu-b is unbound, the Nth probe oopses when
		# sysmmu-b's bind releases it.
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
		;;
	oops)
		sysw $D/ps-decon/unbind decon-ctl >/dev/null
		echo $(( $(cat $M/ps_decon/parameters/probe_count) + 1 )) > $M/ps_decon/parameters/oops_on_bind
		begin oops-null-deref
		r=$(sysw $D/ps-decon/bind decon-ctl)
		sleep 1
		end oops-null-deref
		note "oops-null-deref: bind decon-ctl: $r"
		;;
	esac
done
kill $reader 2>/dev/null
note "done"
