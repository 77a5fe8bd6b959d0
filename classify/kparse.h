/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pure parsers for what the kernel says: /dev/kmsg records, multi-record WARN/oops/panic
 * reports folded into one classified kernel_event, probestorm's own cycle markers,
 * debugfs devices_deferred, NETLINK_KOBJECT_UEVENT datagrams, tracefs trace_pipe lines,
 * the GNU build id in /sys/kernel/notes and kernel command-line parameters.
 *
 * No I/O and no logging here: every function returns 0 (or a count) or a negative errno,
 * and leaves its ret_ outputs untouched on failure. Formats follow Linux 7.3
 * (kernel/printk/printk.c, kernel/panic.c, lib/bug.c, drivers/base/dd.c,
 * drivers/iommu/iommu.c, kernel/hung_task.c, arch/arm64/{mm/fault.c,kernel/traps.c}).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* One record as read(2) from /dev/kmsg returns it. */
struct kmsg_record {
	int facility;  /* 0 = kernel, 1 = LOG_USER (written to /dev/kmsg), ... */
	int level;     /* syslog level 0..7 */
	int64_t seq;   /* sequence number within this boot */
	int64_t ts_us; /* printk clock (local_clock) in µs */
	bool cont;     /* 'c' flag: fragment of a pr_cont() line */
	char caller
		[16];  /* "T123" (task) or "C1" (CPU), "" without CONFIG_PRINTK_CALLER */
	char *message; /* text with \xNN escapes undone (may hold '\n'); owned */
	char *subsystem; /* SUBSYSTEM= value or NULL; owned */
	char *device;	 /* DEVICE= value as the kernel wrote it ("+platform:decon",
	                        * "b8:0", "n2", ...) or NULL; owned */
};
void kparse_kmsg_record_done(struct kmsg_record *r);

/* Parses one /dev/kmsg record "prio,seq,usec,flags[,caller=T123][,...];text\n" followed by
 * " KEY=value\n" lines. len excludes any terminating NUL. On success *ret owns new strings
 * (free with kparse_kmsg_record_done()). -EBADMSG on malformed input, -ENOMEM. */
int kparse_kmsg_record(const char *buf, size_t len, struct kmsg_record *ret);

/* "+platform:decon" -> "platform:decon"; other DEVICE= forms ("b8:0", "c4:1", "n2") are
 * returned unchanged. Returns a malloc'd string, NULL for NULL input or on ENOMEM. */
char *kparse_device_id(const char *kmsg_device);

/* The event class of a single record text (first line), ignoring report context:
 * the record that opens a WARN report classifies as EVENT_WARN, and so on. */
enum event_class kparse_classify(const char *message);

/* "probe of X with driver D returned R after N usecs" (initcall_debug, dd.c). Any ret_
 * pointer may be NULL; *ret_dev and *ret_driver are malloc'd. 0, -EINVAL when msg is not
 * such a line, -ENOMEM. */
int kparse_probe_time(const char *msg, char **ret_dev, char **ret_driver, int *ret_ret,
		      int64_t *ret_usecs);
/* Whether a probe-time R means "deferred": -517 when dma_configure (the IOMMU core) or a
 * device link deferred, +517 when the driver's own probe returned -EPROBE_DEFER
 * (really_probe() reports a driver's probe errors negated; EIO shows as 5). */
static inline bool kparse_probe_ret_deferred(int ret)
{
	return ret == -517 || ret == 517;
}

/* probestorm's own markers: "probestorm: run=<uuid> cycle=<n> begin|end". */
#define KPARSE_MARKER_MAX 96
/* Formats a marker into buf (without newline). 0, -EINVAL (bad uuid/cycle), -ENOBUFS. */
int kparse_marker_format(char *buf, size_t size, const char *uuid, int64_t cycle,
			 bool end);
/* 0 and the fields (ret_uuid holds 37 bytes; any ret_ may be NULL), or -EINVAL. */
int kparse_marker(const char *msg, char ret_uuid[37], int64_t *ret_cycle,
		  bool *ret_is_end);

/*
 * The report aggregator. Records are fed in sequence order; records that belong to one
 * multi-record report ("------------[ cut here ]------------" ... "---[ end trace ... ]---",
 * an oops, a panic, a hung-task dump, a BUG: splat) are grouped per caller id (or in one
 * stream when the kernel has no CONFIG_PRINTK_CALLER) and become ONE kernel_event:
 *   message = the headline (the late-IOMMU-probe line, "WARNING: ...", "Unable to handle
 *             kernel ...", "Kernel panic - not syncing: ...", "INFO: task ... blocked ..."),
 *   detail  = the report's other lines joined by '\n' (without the "cut here" line),
 *   seq/ts  = those of the report's first record, prio = its most severe level,
 *   device  = for the late-IOMMU-probe WARN the <device> of "<driver> <device>: late IOMMU
 *             probe ...", otherwise a record's DEVICE= (as kparse_device_id()) or the
 *             dev_WARN "<driver> <device>: " prefix.
 * Every other record becomes its own event (classified with kparse_classify(); device from
 * DEVICE= or from the text of probe-time / old-style probe-failure lines). Records that
 * userspace wrote (facility != 0), markers included, never join a kernel report.
 * Completed events queue up inside the aggregator; take them with kparse_report_pop().
 */
struct kparse_report;
/* 0 or -ENOMEM; free with kparse_report_free() (accepts NULL). */
int kparse_report_new(struct kparse_report **ret);
void kparse_report_free(struct kparse_report *r);
/* Feeds one record (copied). Returns the number of queued events, or -ENOMEM. */
int kparse_report_feed(struct kparse_report *r, const struct kmsg_record *rec);
/* Closes every open report (e.g. one cut short by a panic or by the end of input).
 * Returns the number of queued events. */
int kparse_report_flush(struct kparse_report *r);
/* Number of reports still open (waiting for more records); a cut report's swallowed
 * tail does not count. */
size_t kparse_report_open(const struct kparse_report *r);
/* Takes the oldest queued event: returns 1 and moves it into *ret (caller owns it,
 * kernel_event_done()), or 0 when the queue is empty. */
int kparse_report_pop(struct kparse_report *r, struct kernel_event *ret);

/*
 * Where a report came from, for placing it in a cycle and finding its device.
 *
 * Epochs: the aggregator stamps every report with the epoch that was current when its
 * first record was fed (kparse_report_set_epoch(); 0 at first), and every single-record
 * event with the epoch of its record. A report that began in epoch N stays N's however
 * late its other records come (the kmsg collector's epochs are its cycles: an oops that
 * began before a cycle's end marker stays that cycle's).
 *
 * A report stays open until its end (see above) or a gap: a record of the same caller
 * more than KPARSE_REPORT_GAP_US after the report's last one does not continue it.
 * kparse_report_cut() ends reports early; what they print afterwards (their tail) is
 * swallowed, never made into a second event.
 */
#define KPARSE_REPORT_GAP_US (2 * 1000 * 1000)
/* How long before a report the same task's last DEVICE= record still names its device. */
#define KPARSE_PRIOR_MAX_US (1000 * 1000)

struct kparse_origin {
	int64_t epoch;	 /* epoch in which the report (or the record) began */
	char caller[16]; /* caller id of its first record ("T294", "C1"), "" without */
	/* The task the report is about: "PID: N Comm: X" of its "CPU: ..." line, else the
	 * "comm/pid" of a 7.x WARNING line; for a hung-task report the blocked task of its
	 * "INFO: task comm:pid blocked ..." line. -1 and "" when it names none. */
	int pid;
	char comm[32];
	/* DEVICE= (kparse_device_id() form) of the last record the same caller printed at
	 * most KPARSE_PRIOR_MAX_US before the report began (e.g. a driver's dev_err() just
	 * before it crashed); NULL when there is none or the kernel has no caller ids.
	 * Owned. */
	char *prior_device;
	bool cut; /* ended by kparse_report_cut() before its end */
};
void kparse_origin_done(struct kparse_origin *o);

/* Sets the epoch for the records fed from now on. */
void kparse_report_set_epoch(struct kparse_report *r, int64_t epoch);
/* Number of reports still open that began in an epoch before the given one. */
size_t kparse_report_open_before(const struct kparse_report *r, int64_t epoch);
/* Ends every open report that began in an epoch before the given one (INT64_MAX: all):
 * queues it as it is now (one that waits for its end marker with origin.cut set and a
 * last detail line saying so), and
 * swallows the records that continue it from now on (until its end marker, a record
 * that cannot belong to it, KPARSE_REPORT_GAP_US of silence or 512 records). Returns
 * the number of queued events or -ENOMEM. */
int kparse_report_cut(struct kparse_report *r, int64_t epoch);
/* kparse_report_pop() with the event's origin (*ret_origin owned by the caller, free
 * with kparse_origin_done()); ret_origin may be NULL. */
int kparse_report_pop_origin(struct kparse_report *r, struct kernel_event *ret,
			     struct kparse_origin *ret_origin);

/* Where a driver shows in a report's stack: the position (0 = innermost) of the first
 * frame "func+0xOFF/0xLEN" of the report (headline, then detail: "pc :", "lr :", the
 * call trace, a 7.x WARNING's "at func+..") that sits in module ("[module]") or whose
 * function starts with the driver's name ('-' read as '_') and an underscore. module and
 * driver may be NULL. -1 when no frame matches (or the event has no frames). */
int kparse_report_frame(const struct kernel_event *e, const char *module,
			const char *driver);

/* /sys/kernel/debug/devices_deferred: one "name\treason" line per device. */
struct kparse_deferred_entry {
	char *device; /* dev_name() */
	char *reason; /* e.g. "sim-decon: waiting for sysmmu", NULL when empty */
};
/* Parses the whole file text. On success *ret is a malloc'd array of *ret_n entries (NULL
 * and 0 for an empty list); free with kparse_deferred_free(). -EBADMSG for a line without
 * a tab or with an empty name, -ENOMEM. */
int kparse_deferred(const char *text, struct kparse_deferred_entry **ret, size_t *ret_n);
void kparse_deferred_free(struct kparse_deferred_entry *e, size_t n);

/* One NETLINK_KOBJECT_UEVENT datagram from the kernel: "action@devpath\0KEY=VAL\0...". */
struct uevent {
	char *action;	 /* "bind", "unbind", "add", ... */
	char *devpath;	 /* "/devices/platform/decon" */
	char *subsystem; /* SUBSYSTEM= or NULL */
	char *driver;	 /* DRIVER= or NULL (unbind events carry none) */
	int64_t seqnum;	 /* SEQNUM= or -1 */
};
void kparse_uevent_done(struct uevent *u);
/* 0, -ENOMSG for a libudev-format datagram (udevd's rebroadcast: ignore it), -EBADMSG for
 * a malformed one, -ENOMEM. */
int kparse_uevent(const char *buf, size_t len, struct uevent *ret);
/* Last component of a devpath ("/devices/platform/decon" -> "decon"); points into s. */
const char *kparse_devpath_name(const char *devpath);

/* One tracefs trace_pipe line, e.g.
 *   "  sh-93  [001] .....  12.345678: add_device_to_group: IOMMU: groupID=0 device=decon"
 * into an EVENT_IOMMU_TRACE/SOURCE_TRACEFS event: ts_ns from the trace clock, message =
 * "add_device_to_group: IOMMU: groupID=0 device=decon", device = the device= value.
 * 0, -EINVAL for a line that is not an event (e.g. "CPU:1 [LOST 3 EVENTS]"), -ENOMEM. */
int kparse_trace_line(const char *line, struct kernel_event *ret);

/* GNU build id from the raw ELF notes of /sys/kernel/notes (native endianness): the desc
 * of the first note with type NT_GNU_BUILD_ID (3) and name "GNU", as malloc'd lowercase
 * hex. -ENOENT when there is none, -EBADMSG for truncated notes, -ENOMEM. */
int kparse_build_id(const void *notes, size_t len, char **ret_hex);

/* Value of the last "key=value" parameter on a kernel command line (double quotes as the
 * kernel's next_arg() understands them). malloc'd; "" for a bare "key". -ENOENT when
 * absent, -ENOMEM. */
int kparse_cmdline_param(const char *cmdline, const char *key, char **ret_value);

/* How a kernel log (a console capture, a pstore dump) says the kernel died: the first line
 * of a "Kernel panic - not syncing" (EVENT_PANIC), else of an Oops ("Internal error:",
 * "Unable to handle kernel", "BUG:"; EVENT_OOPS), with *ret_line malloc'd (\r removed);
 * EVENT_INFO and NULL when it shows neither. 0 or -ENOMEM. */
int kparse_crash_headline(const char *text, char **ret_line, enum event_class *ret_class);
