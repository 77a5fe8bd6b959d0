#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest-side proof of the IOMMU readiness race, in plain busybox sh (no probestormd).
#
# Runs inside a probestorm QEMU guest as /etc/probestorm/guest.sh (see mkinitramfs). Loads
# ps_sysmmu (walk_delay_us) and ps_decon, then for every offset runs CYCLES cycles of:
#   unbind decon, decon-ctl; unbind sysmmu-b; unbind sysmmu-a; bind sysmmu-a;
#   bind sysmmu-b in the background; after OFFSET us bind decon and decon-ctl (both at
#   once, each in its own subshell); wait for everything; read the cycle's kernel log.
# A consumer whose bind deferred (EAGAIN: nothing retries it) is bound again after the
# cycle, once both suppliers are registered, and that rebind is recorded too.
# Parameters come from the kernel command line (boot --append):
#   ps.cycles=N (10)  ps.offsets_us=A,B,.. (0,50000,100000,200000,300000,400000)
#   ps.walk_us=W (20000)  ps.kmsg=1 (dump all of /dev/kmsg to the stream at the end)
#   ps.log=1 (copy each cycle's kernel log to the stream)
# Output on /dev/hvc0 (else stdout): one "cycle ..." line per cycle, "summary ..." lines.
D=/sys/bus/platform/drivers
P=/sys/bus/platform/devices
out=/dev/hvc0
[ -c "$out" ] || out=/dev/stdout
cycles=10
offsets=0,50000,100000,200000,300000,400000
walk=20000
kmsg=0
dumplog=0
for arg in $(cat /proc/cmdline); do
	case $arg in
	ps.cycles=*) cycles=${arg#*=} ;;
	ps.offsets_us=*) offsets=${arg#*=} ;;
	ps.walk_us=*) walk=${arg#*=} ;;
	ps.kmsg=*) kmsg=${arg#*=} ;;
	ps.log=*) dumplog=${arg#*=} ;;
	esac
done

# Write $2 to sysfs file $1; print the errno name (OK on success).
sysw() {
	err=$( (echo "$2" > "$1") 2>&1 ) && { echo OK; return; }
	case $err in
	*"temporarily unavailable"*) echo EAGAIN ;;
	*"No such device"*) echo ENODEV ;;
	*"busy"*) echo EBUSY ;;
	*"Input/output"*) echo EIO ;;
	*"Invalid argument"*) echo EINVAL ;;
	*"No such file"*) echo ENOENT ;;
	*) echo "ERR($err)" | tr ' ' '_' ;;
	esac
}

state() {
	if [ -e "$P/$1/driver" ]; then
		if [ -e "$P/$1/iommu_group" ]; then echo bound; else echo bound_no_iommu; fi
	else
		echo unbound
	fi
}

up() { cut -d' ' -f1 /proc/uptime; }

insmod /lib/modules/ps/ps_sysmmu.ko walk_delay_us="$walk" || echo "insmod ps_sysmmu failed" > "$out"
insmod /lib/modules/ps/ps_decon.ko || echo "insmod ps_decon failed" > "$out"
echo "start kernel=$(uname -r) cycles=$cycles offsets_us=$offsets walk_us=$walk" \
	"cmdline=\"$(cat /proc/cmdline)\"" > "$out"
t_start=$(up)
n=0
for off in $(echo "$offsets" | tr ',' ' '); do
	i=0
	while [ "$i" -lt "$cycles" ]; do
		i=$((i + 1))
		n=$((n + 1))
		dmesg -c > /dev/null
		sysw $D/ps-decon/unbind decon > /dev/null
		sysw $D/ps-decon/unbind decon-ctl > /dev/null
		ub=$(sysw $D/ps-sysmmu/unbind sysmmu-b)
		ua=$(sysw $D/ps-sysmmu/unbind sysmmu-a)
		ba=$(sysw $D/ps-sysmmu/bind sysmmu-a)
		echo "ps-race: cycle $n offset_us $off" > /dev/kmsg
		(sysw $D/ps-sysmmu/bind sysmmu-b > /tmp/bb) &
		[ "$off" -gt 0 ] && usleep "$off"
		(sysw $D/ps-decon/bind decon > /tmp/b1) &
		(sysw $D/ps-decon/bind decon-ctl > /tmp/b2) &
		wait
		log=$(dmesg -c)
		[ "$dumplog" = 1 ] && printf 'log-begin %s\n%s\nlog-end\n' "$n" "$log" > "$out"
		w1=$(echo "$log" | grep -c "ps-decon decon: late IOMMU probe")
		w2=$(echo "$log" | grep -c "ps-decon decon-ctl: late IOMMU probe")
		wo=$(echo "$log" | grep -c "WARNING:")
		s1=$(state decon)
		s2=$(state decon-ctl)
		# A deferred bind is not retried by the kernel: bind again now that both
		# suppliers are registered, and see whether that bind warns.
		r1=-; r2=-; rw1=0; rw2=0
		if [ "$s1" = unbound ]; then
			r1=$(sysw $D/ps-decon/bind decon); s1=$s1/$(state decon)
		fi
		if [ "$s2" = unbound ]; then
			r2=$(sysw $D/ps-decon/bind decon-ctl); s2=$s2/$(state decon-ctl)
		fi
		if [ "$r1" != - ] || [ "$r2" != - ]; then
			log=$(dmesg -c)
			rw1=$(echo "$log" | grep -c "ps-decon decon: late IOMMU probe")
			rw2=$(echo "$log" | grep -c "ps-decon decon-ctl: late IOMMU probe")
		fi
		echo "cycle n=$n off_us=$off sysmmu=$ub,$ua,$ba,$(cat /tmp/bb)" \
			"decon=$(cat /tmp/b1) decon_warn=$w1 decon_state=$s1 decon_rebind=$r1" \
			"decon_rebind_warn=$rw1 ctl=$(cat /tmp/b2) ctl_warn=$w2 ctl_state=$s2" \
			"ctl_rebind=$r2 ctl_rebind_warn=$rw2 warnings=$wo" > "$out"
	done
done
t_end=$(up)
echo "end cycles=$n start_s=$t_start end_s=$t_end" > "$out"
if [ "$kmsg" = 1 ]; then
	echo "kmsg-begin" > "$out"
	timeout 2 cat /dev/kmsg > "$out"
	echo "kmsg-end" > "$out"
fi
