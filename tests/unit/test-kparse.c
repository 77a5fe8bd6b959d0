/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of classify/kparse.c: /dev/kmsg records, the WARN/oops report aggregator, markers,
 * devices_deferred, uevents, trace_pipe lines, build ids and cmdline values. The inline
 * inputs follow the Linux 7.3 formats (printk.c, panic.c, lib/bug.c, dd.c, iommu.c,
 * hung_task.c, arm64 fault.c/traps.c); records captured from the QEMU guest under
 * tests/data/kmsg and tests/data/deferred are parsed too when they are present.
 */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kparse.h"
#include "macro.h"
#include "util.h"

#define UUID "0b7e4c1a-3f2d-4e5b-9a8c-1d2e3f405162"

/* ---------------------------------------------------------------- helpers */

struct events {
	struct kernel_event v[64];
	size_t n;
};

static void events_done(struct events *ev)
{
	for (size_t i = 0; i < ev->n; i++)
		kernel_event_done(&ev->v[i]);
	ev->n = 0;
}

static void drain(struct kparse_report *r, struct events *ev)
{
	struct kernel_event e;

	while (kparse_report_pop(r, &e) == 1) {
		assert_true(ev->n < ARRAY_SIZE(ev->v));
		ev->v[ev->n++] = e;
	}
}

/* Feeds records (each a complete /dev/kmsg read, NULL-terminated list), then flushes. */
static void feed_all(const char *const *recs, bool flush, struct events *ev)
{
	struct kparse_report *r = NULL;

	assert_int_equal(kparse_report_new(&r), 0);
	for (size_t i = 0; recs[i]; i++) {
		struct kmsg_record rec;

		assert_int_equal(kparse_kmsg_record(recs[i], strlen(recs[i]), &rec), 0);
		assert_true(kparse_report_feed(r, &rec) >= 0);
		kparse_kmsg_record_done(&rec);
		drain(r, ev);
	}
	if (flush) {
		assert_true(kparse_report_flush(r) >= 0);
		drain(r, ev);
		assert_int_equal(kparse_report_open(r), 0);
	}
	kparse_report_free(r);
}

static size_t count_class(const struct events *ev, enum event_class c)
{
	size_t n = 0;

	for (size_t i = 0; i < ev->n; i++)
		n += ev->v[i].class == c;
	return n;
}

static const struct kernel_event *find_class(const struct events *ev, enum event_class c)
{
	for (size_t i = 0; i < ev->n; i++)
		if (ev->v[i].class == c)
			return &ev->v[i];
	return NULL;
}

/* ---------------------------------------------------------------- records */

static void test_record_basic(_unused_ void **state)
{
	struct kmsg_record r;
	const char *s = "6,123,4567890,-;hello world\n";

	assert_int_equal(kparse_kmsg_record(s, strlen(s), &r), 0);
	assert_int_equal(r.facility, 0);
	assert_int_equal(r.level, 6);
	assert_int_equal(r.seq, 123);
	assert_int_equal(r.ts_us, 4567890);
	assert_false(r.cont);
	assert_string_equal(r.caller, "");
	assert_string_equal(r.message, "hello world");
	assert_null(r.subsystem);
	assert_null(r.device);
	kparse_kmsg_record_done(&r);

	/* user-space record: facility LOG_USER (1) << 3 | level 5 */
	s = "13,7,1,c,future=1;probestorm: x";
	assert_int_equal(kparse_kmsg_record(s, strlen(s), &r), 0);
	assert_int_equal(r.facility, 1);
	assert_int_equal(r.level, 5);
	assert_true(r.cont);
	assert_string_equal(r.message, "probestorm: x");
	kparse_kmsg_record_done(&r);
}

static void test_record_caller_dict_escapes(_unused_ void **state)
{
	struct kmsg_record r;
	const char *s =
		"3,200,1000,-,caller=T93;sim-decon decon: two\\x0alines \\x5c end\\x00\n"
		" SUBSYSTEM=platform\n"
		" DEVICE=+platform:decon\n";

	assert_int_equal(kparse_kmsg_record(s, strlen(s), &r), 0);
	assert_int_equal(r.level, 3);
	assert_string_equal(r.caller, "T93");
	assert_string_equal(r.message, "sim-decon decon: two\nlines \\ end\\x00");
	assert_string_equal(r.subsystem, "platform");
	assert_string_equal(r.device, "+platform:decon");
	kparse_kmsg_record_done(&r);

	s = "4,9,10,-,caller=C1;irq context";
	assert_int_equal(kparse_kmsg_record(s, strlen(s), &r), 0);
	assert_string_equal(r.caller, "C1");
	kparse_kmsg_record_done(&r);

	/* len is honoured: the rest of the buffer is not part of the record */
	s = "6,1,2,-;abc\n GARBAGE";
	assert_int_equal(kparse_kmsg_record(s, strlen("6,1,2,-;abc\n"), &r), 0);
	assert_string_equal(r.message, "abc");
	kparse_kmsg_record_done(&r);
}

static void test_record_malformed(_unused_ void **state)
{
	static const char *const bad[] = {
		"",
		"abc",
		"6,1,2;msg", /* no flags */
		"6,1,2,-",   /* no ';' */
		"6,x,2,-;m",
		"6,1,2,;m",
		"-6,1,2,-;m",
		"6,1,99999999999999999999,-;m",
		"6,1,2,-,caller=X12;m",
		"6,1,2,-,caller=T;m",
		"6,1,2,-,caller=T1x;m",
		"6,1,2,-;m\nDEVICE=+platform:x\n", /* dictionary line without its space */
		"6,1,2,-;m\n NOEQUALS\n",
		"6,1\n,2,-;m",
	};
	struct kmsg_record r;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&r, 0x5a, sizeof(r));
		assert_int_equal(kparse_kmsg_record(bad[i], strlen(bad[i]), &r),
				 -EBADMSG);
		/* untouched on failure */
		assert_int_equal(r.level, 0x5a5a5a5a);
	}
}

static void test_device_id(_unused_ void **state)
{
	char *s;

	s = kparse_device_id("+platform:decon");
	assert_string_equal(s, "platform:decon");
	free(s);
	s = kparse_device_id("+pci:0000:00:01.0");
	assert_string_equal(s, "pci:0000:00:01.0");
	free(s);
	s = kparse_device_id("b8:0");
	assert_string_equal(s, "b8:0");
	free(s);
	assert_null(kparse_device_id(NULL));
}

/* ---------------------------------------------------------------- reports */

/* The race's signature as Linux 7.3 on arm64 prints it: __warn_printk() emits "cut here"
 * and dev_WARN's text, the brk handler then __warn()'s "WARNING: file:line at ...". */
#define LATE_T93(seq, text) "4," #seq ",5000" #seq ",-,caller=T93;" text "\n"

static const char *const late_warn_with_callers[] = {
	"6,100,5000000,-,caller=T50;sim-iommu sysmmu-b: registering\n "
	"SUBSYSTEM=platform\n"
	" DEVICE=+platform:sysmmu-b\n",
	LATE_T93(101, "------------[ cut here ]------------"),
	LATE_T93(102, "sim-decon decon: late IOMMU probe at driver bind, something fishy "
		      "here!"),
	"7,103,5000103,-,caller=T50;probe of sysmmu-b with driver sim-iommu returned 0 "
	"after "
	"120000 usecs\n",
	LATE_T93(
		104,
		"WARNING: drivers/iommu/iommu.c:654 at __iommu_probe_device+0x1c8/0x4a0, "
		"CPU#1: sh/93"),
	LATE_T93(105, "Modules linked in: sim_decon sim_iommu"),
	LATE_T93(106, "CPU: 1 UID: 0 PID: 93 Comm: sh Not tainted 7.3.4 #1 PREEMPT"),
	LATE_T93(107, "Hardware name: linux,dummy-virt (DT)"),
	LATE_T93(108, "pstate: 61400005 (nZCv daif +PAN -UAO -TCO +DIT -SSBS BTYPE=--)"),
	LATE_T93(109, "pc : __iommu_probe_device+0x1c8/0x4a0"),
	LATE_T93(110, "lr : __iommu_probe_device+0x1c8/0x4a0"),
	LATE_T93(111, "sp : ffff800082b3b9c0"),
	LATE_T93(112,
		 "x29: ffff800082b3b9c0 x28: 0000000000000000 x27: ffff000002d1c810"),
	LATE_T93(113, "Call trace:"),
	LATE_T93(114, " __iommu_probe_device+0x1c8/0x4a0 (P)"),
	LATE_T93(115, " iommu_probe_device+0x3c/0x80"),
	LATE_T93(116, " of_iommu_configure+0x1a4/0x230"),
	LATE_T93(117, " of_dma_configure_id+0x1b0/0x2f0"),
	LATE_T93(118, " platform_dma_configure+0x2c/0x80"),
	LATE_T93(119, " really_probe+0xc0/0x390"),
	LATE_T93(120, " bind_store+0xd0/0x140"),
	LATE_T93(121, "---[ end trace 0000000000000000 ]---"),
	"7,122,5000122,-,caller=T93;probe of decon with driver sim-decon returned 0 "
	"after "
	"48211 usecs\n",
	NULL,
};

static void check_late_event(const struct events *ev, int64_t first_seq)
{
	const struct kernel_event *e = find_class(ev, EVENT_LATE_IOMMU_PROBE);

	assert_int_equal(count_class(ev, EVENT_LATE_IOMMU_PROBE), 1);
	assert_int_equal(count_class(ev, EVENT_WARN), 0);
	assert_non_null(e);
	assert_int_equal(e->source, SOURCE_KMSG);
	assert_string_equal(e->device, "decon");
	assert_string_equal(e->message,
			    "sim-decon decon: late IOMMU probe at driver bind, "
			    "something fishy here!");
	assert_int_equal(e->seq, first_seq);
	assert_int_equal(e->prio, 4);
	assert_non_null(e->detail);
	assert_non_null(strstr(e->detail,
			       "WARNING: drivers/iommu/iommu.c:654 at "
			       "__iommu_probe_device+0x1c8/0x4a0, CPU#1: sh/93\n"));
	assert_non_null(strstr(e->detail, "\nCall trace:\n"));
	assert_non_null(strstr(e->detail, " really_probe+0xc0/0x390"));
	assert_non_null(strstr(e->detail, "---[ end trace"));
	assert_null(strstr(e->detail, "cut here"));
	assert_null(strstr(e->detail, "late IOMMU probe"));
}

static void test_late_iommu_warn(_unused_ void **state)
{
	struct events ev = {};
	const struct kernel_event *e;

	feed_all(late_warn_with_callers, false, &ev);
	check_late_event(&ev, 101);
	/* the interleaved records of other tasks stay separate events, in order */
	assert_int_equal(ev.n, 4);
	assert_int_equal(ev.v[0].class, EVENT_INFO);
	assert_string_equal(ev.v[0].device, "platform:sysmmu-b");
	assert_int_equal(ev.v[1].class, EVENT_PROBE_TIME);
	assert_string_equal(ev.v[1].device, "sysmmu-b");
	assert_int_equal(ev.v[2].class, EVENT_LATE_IOMMU_PROBE);
	assert_int_equal(ev.v[2].ts_ns, 5000101 * 1000LL);
	assert_int_equal(ev.v[3].class, EVENT_PROBE_TIME);
	e = &ev.v[3];
	assert_string_equal(e->device, "decon");
	events_done(&ev);
}

/* The same report from a kernel without CONFIG_PRINTK_CALLER: one stream. */
static void test_late_iommu_warn_no_caller(_unused_ void **state)
{
	const char *recs[ARRAY_SIZE(late_warn_with_callers)];
	char *copies[ARRAY_SIZE(late_warn_with_callers)] = {};
	struct events ev = {};

	for (size_t i = 0; late_warn_with_callers[i]; i++) {
		const char *s = late_warn_with_callers[i];
		const char *c = strstr(s, ",caller=");

		assert_non_null(c);
		copies[i] = malloc(strlen(s) + 1);
		assert_non_null(copies[i]);
		memcpy(copies[i], s, (size_t)(c - s));
		strcpy(copies[i] + (c - s), strchr(c, ';'));
		recs[i] = copies[i];
		recs[i + 1] = NULL;
	}
	/* T50's probe-time record (seq 103) lands inside the report: it stays its own event */
	feed_all(recs, false, &ev);
	check_late_event(&ev, 101);
	assert_int_equal(ev.n, 4);
	assert_int_equal(ev.v[0].class, EVENT_INFO);
	assert_int_equal(ev.v[1].class, EVENT_PROBE_TIME);
	assert_int_equal(ev.v[1].seq, 103);
	assert_int_equal(ev.v[2].class, EVENT_LATE_IOMMU_PROBE);
	assert_int_equal(ev.v[3].class, EVENT_PROBE_TIME);
	events_done(&ev);
	for (size_t i = 0; i < ARRAY_SIZE(copies); i++)
		free(copies[i]);
}

static void test_generic_warn(_unused_ void **state)
{
	static const char *const plain[] = {
		"4,10,100,-,caller=T12;------------[ cut here ]------------\n",
		"4,11,101,-,caller=T12;WARNING: drivers/base/core.c:3912 at "
		"device_del+0x2a0/0x3b0, CPU#0: kworker/0:1/12\n",
		"4,12,102,-,caller=T12;Modules linked in:\n",
		"4,13,103,-,caller=T12;Call trace:\n",
		"4,14,104,-,caller=T12; device_del+0x2a0/0x3b0\n",
		"4,15,105,-,caller=T12;---[ end trace 0000000000000000 ]---\n",
		NULL,
	};
	static const char *const devwarn[] = {
		"4,20,200,-,caller=T13;------------[ cut here ]------------\n",
		"4,21,201,-,caller=T13;sim-decon decon: clock still enabled at remove\n",
		"4,22,202,-,caller=T13;WARNING: drivers/sim/sim-decon.c:88 at "
		"sim_decon_remove+0x40/0x60 [sim_decon], CPU#1: sh/95\n",
		"4,23,203,-,caller=T13;Call trace:\n",
		"4,24,204,-,caller=T13; sim_decon_remove+0x40/0x60 [sim_decon]\n",
		"4,25,205,-,caller=T13;---[ end trace 0000000000000000 ]---\n",
		NULL,
	};
	/* 6.x format of __warn(): "WARNING: CPU: N PID: N at file:line sym" */
	static const char *const old_format[] = {
		"4,30,300,-;------------[ cut here ]------------\n",
		"4,31,301,-;WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 foo+0x10/0x20\n",
		"4,32,302,-;---[ end trace 0000000000000000 ]---\n",
		NULL,
	};
	struct events ev = {};

	feed_all(plain, false, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].class, EVENT_WARN);
	assert_string_equal(ev.v[0].message,
			    "WARNING: drivers/base/core.c:3912 at "
			    "device_del+0x2a0/0x3b0, CPU#0: kworker/0:1/12");
	assert_null(ev.v[0].device);
	assert_int_equal(ev.v[0].seq, 10);
	assert_string_equal(ev.v[0].detail, "Modules linked in:\nCall trace:\n"
					    " device_del+0x2a0/0x3b0\n"
					    "---[ end trace 0000000000000000 ]---");
	events_done(&ev);

	feed_all(devwarn, false, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].class, EVENT_WARN);
	assert_string_equal(ev.v[0].device, "decon");
	assert_true(strncmp(ev.v[0].message, "WARNING: drivers/sim/sim-decon.c:88 at ",
			    39) == 0);
	assert_true(strncmp(ev.v[0].detail, "sim-decon decon: clock still enabled", 36) ==
		    0);
	events_done(&ev);

	feed_all(old_format, false, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].class, EVENT_WARN);
	assert_string_equal(ev.v[0].message,
			    "WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 foo+0x10/0x20");
	events_done(&ev);
}

static void test_oops_then_panic(_unused_ void **state)
{
	static const char *const recs[] = {
		"1,40,900,-,caller=T93;Unable to handle kernel NULL pointer dereference "
		"at "
		"virtual address 0000000000000008\n",
		"1,41,901,-,caller=T93;Mem abort info:\n",
		"1,42,902,-,caller=T93;  ESR = 0x0000000096000006\n",
		"1,43,903,-,caller=T93;  EC = 0x25: DABT (current EL), IL = 32 bits\n",
		"1,44,904,-,caller=T93;Data abort info:\n",
		"1,45,905,-,caller=T93;[0000000000000008] user address but active_mm is "
		"swapper\n",
		"0,46,906,-,caller=T93;Internal error: Oops: 0000000096000006 [#1]  "
		"SMP\n",
		"4,47,907,-,caller=T93;Modules linked in: sim_decon\n",
		"4,48,908,-,caller=T93;CPU: 0 UID: 0 PID: 93 Comm: sh Not tainted 7.3.4 "
		"#1\n",
		"4,49,909,-,caller=T93;pc : sim_decon_probe+0x24/0x90 [sim_decon]\n",
		"4,50,910,-,caller=T93;Call trace:\n",
		"4,51,911,-,caller=T93; sim_decon_probe+0x24/0x90 [sim_decon] (P)\n",
		"0,52,912,-,caller=T93;Code: f9400c01 b4000061 (f9400420) 52800000 \n",
		"4,53,913,-,caller=T93;---[ end trace 0000000000000000 ]---\n",
		"0,54,914,-,caller=T93;Kernel panic - not syncing: Oops: Fatal "
		"exception\n",
		"2,55,915,-,caller=T93;SMP: stopping secondary CPUs\n",
		"0,56,916,-,caller=T93;Kernel Offset: disabled\n",
		"0,57,917,-,caller=T93;---[ end Kernel panic - not syncing: Oops: Fatal "
		"exception ]---\n",
		NULL,
	};
	struct events ev = {};

	feed_all(recs, false, &ev);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.v[0].class, EVENT_OOPS);
	assert_string_equal(ev.v[0].message,
			    "Unable to handle kernel NULL pointer dereference "
			    "at virtual address 0000000000000008");
	assert_int_equal(ev.v[0].prio, 0);
	assert_int_equal(ev.v[0].seq, 40);
	assert_non_null(strstr(ev.v[0].detail, "Internal error: Oops: 0000000096000006"));
	assert_non_null(strstr(ev.v[0].detail, " sim_decon_probe+0x24/0x90"));
	assert_int_equal(ev.v[1].class, EVENT_PANIC);
	assert_string_equal(ev.v[1].message,
			    "Kernel panic - not syncing: Oops: Fatal exception");
	assert_non_null(strstr(ev.v[1].detail, "SMP: stopping secondary CPUs"));
	events_done(&ev);
}

static void test_bug_open_ended(_unused_ void **state)
{
	static const char *const recs[] = {
		"3,60,1000,-,caller=T5;BUG: sleeping function called from invalid "
		"context at "
		"kernel/locking/mutex.c:580\n",
		"3,61,1001,-,caller=T5;in_atomic(): 1, irqs_disabled(): 0, non_block: 0, "
		"pid: 5\n",
		"4,62,1002,-,caller=T5;CPU: 0 UID: 0 PID: 5 Comm: kworker/0:0 Not "
		"tainted\n",
		"4,63,1003,-,caller=T5;Call trace:\n",
		"4,64,1004,-,caller=T5; __might_resched+0x13c/0x1a0\n",
		"6,65,1005,-,caller=T5;sim-decon decon: bound\n SUBSYSTEM=platform\n"
		" DEVICE=+platform:decon\n",
		NULL,
	};
	struct events ev = {};

	feed_all(recs, false, &ev);
	/* "in_atomic()..." is not trace-like: the BUG report stops at its headline, the
	 * dump after it is trace-like but now orphaned (INFO records), the last is INFO */
	assert_int_equal(count_class(&ev, EVENT_OOPS), 1);
	assert_string_equal(find_class(&ev, EVENT_OOPS)->message,
			    "BUG: sleeping function called from invalid context at "
			    "kernel/locking/mutex.c:580");
	assert_string_equal(ev.v[ev.n - 1].device, "platform:decon");
	events_done(&ev);
}

static void test_hung_task_and_flush(_unused_ void **state)
{
	static const char *const recs[] = {
		"3,70,122000000,-,caller=T30;INFO: task sh:93 blocked for more than 122 "
		"seconds.\n",
		"3,71,122000001,-,caller=T30;      Not tainted 7.3.4 #1\n",
		"3,72,122000002,-,caller=T30;\"echo 0 > "
		"/proc/sys/kernel/hung_task_timeout_secs\" "
		"disables this message.\n",
		"6,73,122000003,-,caller=T30;task:sh              state:D stack:0     "
		"pid:93    "
		"tgid:93    ppid:1      task_flags:0x400100 flags:0x00000008\n",
		"6,74,122000004,-,caller=T30;Call trace:\n",
		"6,75,122000005,-,caller=T30; __switch_to+0xf0/0x150 (T)\n",
		"6,76,122000006,-,caller=T30; bind_store+0xd0/0x140\n",
		NULL,
	};
	struct events ev = {};
	struct kparse_report *r = NULL;
	struct kmsg_record rec;
	const char *next = "6,77,122000007,-,caller=T30;unrelated\n";

	/* not closed without flush */
	feed_all(recs, false, &ev);
	assert_int_equal(ev.n, 0);

	feed_all(recs, true, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].class, EVENT_HUNG_TASK);
	assert_string_equal(ev.v[0].message,
			    "INFO: task sh:93 blocked for more than 122 seconds.");
	assert_non_null(
		strstr(ev.v[0].detail, "\nCall trace:\n __switch_to+0xf0/0x150 (T)\n"));
	assert_int_equal(ev.v[0].ts_ns, 122000000000LL);
	events_done(&ev);

	/* a non-trace record of the same caller closes it */
	assert_int_equal(kparse_report_new(&r), 0);
	for (size_t i = 0; recs[i]; i++) {
		assert_int_equal(kparse_kmsg_record(recs[i], strlen(recs[i]), &rec), 0);
		assert_int_equal(kparse_report_feed(r, &rec), 0);
		kparse_kmsg_record_done(&rec);
	}
	assert_int_equal(kparse_report_open(r), 1);
	assert_int_equal(kparse_kmsg_record(next, strlen(next), &rec), 0);
	assert_int_equal(kparse_report_feed(r, &rec), 2);
	kparse_kmsg_record_done(&rec);
	assert_int_equal(kparse_report_open(r), 0);
	drain(r, &ev);
	assert_int_equal(ev.v[0].class, EVENT_HUNG_TASK);
	assert_int_equal(ev.v[1].class, EVENT_INFO);
	assert_string_equal(ev.v[1].message, "unrelated");
	events_done(&ev);
	kparse_report_free(r);

	/* the same without caller ids */
	{
		static const char *const plain[] = {
			"3,70,1,-;INFO: task sh:93 blocked for more than 122 seconds.\n",
			"6,71,2,-;Call trace:\n",
			"6,72,3,-; __switch_to+0xf0/0x150 (T)\n",
			"6,73,4,-;unrelated\n",
			NULL,
		};

		feed_all(plain, false, &ev);
		assert_int_equal(ev.n, 2);
		assert_int_equal(ev.v[0].class, EVENT_HUNG_TASK);
		assert_string_equal(ev.v[0].detail,
				    "Call trace:\n __switch_to+0xf0/0x150 (T)");
		assert_int_equal(ev.v[1].class, EVENT_INFO);
		events_done(&ev);
	}
}

static void test_single_record_classes(_unused_ void **state)
{
	static const char *const recs[] = {
		"4,80,1,-,caller=T40;sim-decon decon: deferred probe timeout, ignoring "
		"dependency\n"
		" SUBSYSTEM=platform\n DEVICE=+platform:decon\n",
		"3,81,2,-,caller=T40;sim-decon decon: probe with driver sim-decon failed "
		"with "
		"error -22\n SUBSYSTEM=platform\n DEVICE=+platform:decon\n",
		"4,82,3,-;sim-decon: probe of decon failed with error -5\n",
		"7,83,4,-,caller=T93;probe of decon with driver sim-decon returned -517 "
		"after 35 "
		"usecs\n",
		"13,84,5,-,caller=T200;probestorm: run=" UUID " cycle=3 end\n",
		"6,85,6,-;random boot chatter\n",
		NULL,
	};
	struct events ev = {};
	char *dev = NULL, *drv = NULL;
	int ret = 0;
	int64_t us = 0;

	feed_all(recs, true, &ev);
	assert_int_equal(ev.n, 6);
	assert_int_equal(ev.v[0].class, EVENT_DEFERRED_TIMEOUT);
	assert_string_equal(ev.v[0].device, "platform:decon");
	assert_int_equal(ev.v[1].class, EVENT_PROBE_FAILED);
	assert_string_equal(ev.v[1].device, "platform:decon");
	assert_int_equal(ev.v[2].class, EVENT_PROBE_FAILED);
	assert_string_equal(ev.v[2].device, "decon");
	assert_int_equal(ev.v[3].class, EVENT_PROBE_TIME);
	assert_string_equal(ev.v[3].device, "decon");
	assert_int_equal(ev.v[3].prio, 7);
	assert_int_equal(ev.v[4].class, EVENT_MARKER);
	assert_int_equal(ev.v[5].class, EVENT_INFO);
	assert_null(ev.v[5].device);

	assert_int_equal(kparse_probe_time(ev.v[3].message, &dev, &drv, &ret, &us), 0);
	assert_string_equal(dev, "decon");
	assert_string_equal(drv, "sim-decon");
	assert_int_equal(ret, -517);
	assert_int_equal(us, 35);
	free(dev);
	free(drv);
	events_done(&ev);

	assert_int_equal(
		kparse_probe_time("probe of decon with driver x returned 0 after 7 usecs",
				  NULL, NULL, &ret, NULL),
		0);
	assert_int_equal(ret, 0);
	assert_int_equal(kparse_probe_time("probe of decon returned 0 after 7 usecs",
					   NULL, NULL, NULL, NULL),
			 -EINVAL);
	assert_int_equal(
		kparse_probe_time("probe of decon with driver x returned zero after 7 "
				  "usecs",
				  NULL, NULL, NULL, NULL),
		-EINVAL);
	assert_int_equal(
		kparse_probe_time("probe of decon with driver x returned 0 after 7", NULL,
				  NULL, NULL, NULL),
		-EINVAL);
	assert_true(kparse_probe_ret_deferred(-517));
	assert_true(kparse_probe_ret_deferred(517));
	assert_false(kparse_probe_ret_deferred(5));
	assert_false(kparse_probe_ret_deferred(0));
	assert_int_equal(
		kparse_probe_time("probe of sysmmu-b with driver ps-sysmmu returned 5 "
				  "after 236 usecs",
				  NULL, NULL, &ret, NULL),
		0);
	assert_int_equal(ret, 5);
	assert_int_equal(
		kparse_classify("sim-decon decon: probe with driver sim-decon rejects "
				"match -19"),
		EVENT_INFO);
}

static void test_marker_round_trip(_unused_ void **state)
{
	char buf[KPARSE_MARKER_MAX], uuid[37] = "";
	int64_t cycle = -1;
	bool end = true;

	assert_int_equal(kparse_marker_format(buf, sizeof(buf), UUID, 42, false), 0);
	assert_string_equal(buf, "probestorm: run=" UUID " cycle=42 begin");
	assert_int_equal(kparse_marker(buf, uuid, &cycle, &end), 0);
	assert_string_equal(uuid, UUID);
	assert_int_equal(cycle, 42);
	assert_false(end);
	assert_int_equal(kparse_classify(buf), EVENT_MARKER);

	assert_int_equal(kparse_marker_format(buf, sizeof(buf), UUID, 9000000000LL, true),
			 0);
	assert_int_equal(kparse_marker(buf, uuid, &cycle, &end), 0);
	assert_int_equal(cycle, 9000000000LL);
	assert_true(end);

	assert_int_equal(kparse_marker_format(buf, 20, UUID, 1, true), -ENOBUFS);
	assert_int_equal(kparse_marker_format(buf, sizeof(buf), "not-a-uuid", 1, true),
			 -EINVAL);
	assert_int_equal(kparse_marker_format(buf, sizeof(buf), UUID, -1, true), -EINVAL);

	cycle = -1;
	assert_int_equal(kparse_marker("probestorm: run=" UUID " cycle=3 middle", uuid,
				       &cycle, &end),
			 -EINVAL);
	assert_int_equal(
		kparse_marker("probestorm: run=" UUID " cycle= end", NULL, NULL, NULL),
		-EINVAL);
	assert_int_equal(
		kparse_marker("probestorm: run=0b7e4c1a cycle=3 end", NULL, NULL, NULL),
		-EINVAL);
	assert_int_equal(kparse_marker("probestorm: run=" UUID " cycle=3 end extra", NULL,
				       NULL, NULL),
			 -EINVAL);
	assert_int_equal(cycle, -1);
}

/* The one UUID check (lib/util.c) that markers, bundles and the API use: 8-4-4-4-12 hex
 * digits of either case, nothing before or after. */
static void test_uuid_is_valid(_unused_ void **state)
{
	char uuid[37] = "";
	static const char *const bad[] = {
		"",
		"not-a-uuid",
		"0b7e4c1a",
		UUID " ",
		" " UUID,
		UUID "0",
		"5d0c7a52-8f1e-4b6a-9c3d-2e7f8a9b0c1",	 /* 35 */
		"5d0c7a52+8f1e-4b6a-9c3d-2e7f8a9b0c1d",	 /* a dash replaced */
		"5d0c7a528-f1e-4b6a-9c3d-2e7f8a9b0c1d",	 /* a dash moved */
		"5d0c7a52-8f1e-4b6a-9c3d-2e7f8a9b0c1g",	 /* not hex */
		"5d0c7a52-8f1e-4b6a-9c3d-2e7f8a9b0c\n1", /* a control character */
	};

	assert_true(uuid_is_valid(UUID));
	assert_true(uuid_is_valid("5D0C7A52-8F1E-4B6A-9C3D-2E7F8A9B0C1D"));
	assert_true(uuid_is_valid("00000000-0000-0000-0000-000000000000"));
	assert_false(uuid_is_valid(NULL));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_false(uuid_is_valid(bad[i]));
	/* a marker with an upper-case UUID parses and keeps its spelling */
	assert_int_equal(
		kparse_marker("probestorm: run=5D0C7A52-8F1E-4B6A-9C3D-2E7F8A9B0C1D "
			      "cycle=1 end",
			      uuid, NULL, NULL),
		0);
	assert_string_equal(uuid, "5D0C7A52-8F1E-4B6A-9C3D-2E7F8A9B0C1D");
}

/* Markers are user records (facility 1): even inside an open report without caller ids
 * they stay separate events. */
static void test_marker_not_absorbed(_unused_ void **state)
{
	static const char *const recs[] = {
		"4,90,1,-;------------[ cut here ]------------\n",
		"12,91,2,-;probestorm: run=" UUID " cycle=0 end\n",
		"4,92,3,-;WARNING: drivers/x.c:1 at x+0x0/0x4, CPU#0: sh/1\n",
		"4,93,4,-;---[ end trace 0000000000000000 ]---\n",
		NULL,
	};
	struct events ev = {};

	feed_all(recs, false, &ev);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.v[0].class, EVENT_MARKER);
	assert_int_equal(ev.v[1].class, EVENT_WARN);
	assert_int_equal(ev.v[1].seq, 90);
	events_done(&ev);
}

static void test_interleaved_callers(_unused_ void **state)
{
	static const char *const recs[] = {
		"4,200,1,-,caller=T93;------------[ cut here ]------------\n",
		"4,201,2,-,caller=T94;------------[ cut here ]------------\n",
		"4,202,3,-,caller=T94;WARNING: kernel/workqueue.c:2000 at "
		"__queue_work+0x1/0x2, "
		"CPU#0: sh/94\n",
		"4,203,4,-,caller=T93;sim-decon decon: late IOMMU probe at driver bind, "
		"something "
		"fishy here!\n",
		"4,204,5,-,caller=T93;WARNING: drivers/iommu/iommu.c:654 at "
		"__iommu_probe_device+0x1/0x2, CPU#1: sh/93\n",
		"4,205,6,-,caller=T94;Call trace:\n",
		"4,206,7,-,caller=T93;Call trace:\n",
		"4,207,8,-,caller=T94; __queue_work+0x1/0x2\n",
		"4,208,9,-,caller=T93; __iommu_probe_device+0x1/0x2\n",
		"4,209,10,-,caller=T93;---[ end trace 0000000000000000 ]---\n",
		"4,210,11,-,caller=T94;---[ end trace 0000000000000000 ]---\n",
		NULL,
	};
	struct events ev = {};
	const struct kernel_event *late, *warn;

	feed_all(recs, false, &ev);
	assert_int_equal(ev.n, 2);
	late = find_class(&ev, EVENT_LATE_IOMMU_PROBE);
	warn = find_class(&ev, EVENT_WARN);
	assert_non_null(late);
	assert_non_null(warn);
	assert_ptr_equal(late, &ev.v[0]); /* closed first */
	assert_int_equal(late->seq, 200);
	assert_string_equal(late->device, "decon");
	assert_non_null(strstr(late->detail, "__iommu_probe_device"));
	assert_null(strstr(late->detail, "__queue_work"));
	assert_int_equal(warn->seq, 201);
	assert_null(warn->device);
	assert_string_equal(warn->message, "WARNING: kernel/workqueue.c:2000 at "
					   "__queue_work+0x1/0x2, CPU#0: sh/94");
	assert_null(strstr(warn->detail, "iommu"));
	events_done(&ev);
}

/* The queue keeps FIFO order across growth and compaction. */
static void test_queue_order(_unused_ void **state)
{
	struct kparse_report *r = NULL;
	struct kernel_event e;
	int64_t expect = 0;

	assert_int_equal(kparse_report_new(&r), 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 50; i++) {
			char buf[64];
			struct kmsg_record rec;

			snprintf(buf, sizeof(buf), "6,%d,1,-;line %d\n", round * 50 + i,
				 round * 50 + i);
			assert_int_equal(kparse_kmsg_record(buf, strlen(buf), &rec), 0);
			assert_int_equal(kparse_report_feed(r, &rec),
					 (int)(round * 50 + i + 1 - expect));
			kparse_kmsg_record_done(&rec);
		}
		for (int i = 0; i < (round < 2 ? 37 : 1000); i++) {
			if (kparse_report_pop(r, &e) == 0)
				break;
			assert_int_equal(e.seq, expect);
			expect++;
			kernel_event_done(&e);
		}
	}
	assert_int_equal(expect, 150);
	assert_int_equal(kparse_report_pop(r, &e), 0);
	kparse_report_free(r);
	kparse_report_free(NULL);
}

/* ---------------------------------------------------------------- other formats */

/* ---------------------------------------------------------------- origins, epochs, cuts */

static struct kparse_report *feed_list(struct kparse_report *r, const char *const *recs)
{
	if (!r)
		assert_int_equal(kparse_report_new(&r), 0);
	for (size_t i = 0; recs[i]; i++) {
		struct kmsg_record rec;

		assert_int_equal(kparse_kmsg_record(recs[i], strlen(recs[i]), &rec), 0);
		assert_true(kparse_report_feed(r, &rec) >= 0);
		kparse_kmsg_record_done(&rec);
	}
	return r;
}

/* the capture's oops (oops-null-deref.kmsg), shortened: its dev_err, the report's first
 * records, then (oops_rest) from "Internal error" to the end marker */
static const char *const oops_head[] = {
	"0,1334,54432644,-,caller=T294;ps-decon decon-ctl: fault injection: NULL "
	"dereference on probe 19\n SUBSYSTEM=platform\n DEVICE=+platform:decon-ctl\n",
	"1,1335,54432914,-,caller=T294;Unable to handle kernel NULL pointer dereference "
	"at "
	"virtual address 0000000000000000\n",
	"1,1336,54432970,-,caller=T294;Mem abort info:\n",
	"1,1337,54432975,-,caller=T294;  ESR = 0x0000000096000046\n",
	NULL,
};
static const char *const oops_rest[] = {
	"0,1348,54437818,-,caller=T294;Internal error: Oops: 0000000096000046 [#1]  "
	"SMP\n",
	"4,1349,54439575,-,caller=T294;Modules linked in: ps_decon(O) ps_sysmmu(O)\n",
	"4,1350,54439723,-,caller=T294;CPU: 0 UID: 0 PID: 294 Comm: sh Tainted: G        "
	"W  "
	"O        7.3.4-probestorm+ #5 PREEMPTLAZY  \n",
	"4,1354,54440203,-,caller=T294;pc : ps_decon_probe+0x1ac/0x200 [ps_decon]\n",
	"4,1355,54440338,-,caller=T294;lr : ps_decon_probe+0x1a0/0x200 [ps_decon]\n",
	"4,1367,54441468,-,caller=T294;Call trace:\n",
	"4,1368,54441512,-,caller=T294; ps_decon_probe+0x1ac/0x200 [ps_decon] (P)\n",
	"4,1369,54441589,-,caller=T294; platform_probe+0x50/0x90\n",
	"4,1370,54441656,-,caller=T294; really_probe+0xa8/0x288\n",
	"4,1373,54441865,-,caller=T294; bind_store+0x78/0xc8\n",
	"0,1385,54442643,-,caller=T294;Code: 95ec7978 f94027e0 7100029f 7a5412a0 "
	"(b9000015) \n",
	"4,1386,54442819,-,caller=T294;---[ end trace 0000000000000000 ]---\n",
	NULL,
};

static void test_origin_oops(_unused_ void **state)
{
	struct kparse_report *r = feed_list(NULL, oops_head);
	struct kernel_event e;
	struct kparse_origin o;

	r = feed_list(r, oops_rest);
	/* the dev_err, then the oops */
	assert_int_equal(kparse_report_pop_origin(r, &e, &o), 1);
	assert_int_equal(e.class, EVENT_INFO);
	assert_string_equal(o.caller, "T294");
	assert_int_equal(o.pid, -1);
	kernel_event_done(&e);
	kparse_origin_done(&o);
	assert_int_equal(kparse_report_pop_origin(r, &e, &o), 1);
	assert_int_equal(e.class, EVENT_OOPS);
	assert_null(e.device); /* the report itself names none */
	assert_int_equal(o.epoch, 0);
	assert_string_equal(o.caller, "T294");
	assert_int_equal(o.pid, 294);
	assert_string_equal(o.comm, "sh");
	assert_string_equal(o.prior_device, "platform:decon-ctl");
	assert_false(o.cut);

	/* frames: pc first, then lr and the call trace */
	assert_int_equal(kparse_report_frame(&e, "ps_decon", NULL), 0);
	assert_int_equal(kparse_report_frame(&e, "ps-decon", NULL), 0);
	assert_int_equal(kparse_report_frame(&e, NULL, "ps-decon"), 0);
	assert_int_equal(kparse_report_frame(&e, "ps_sysmmu", "ps-sysmmu"), -1);
	assert_int_equal(kparse_report_frame(&e, NULL, "really"), 4);
	assert_int_equal(kparse_report_frame(&e, "ps_deco", "ps-deco"), -1);
	assert_int_equal(kparse_report_frame(&e, NULL, NULL), -1);
	kernel_event_done(&e);
	kparse_origin_done(&o);
	assert_int_equal(kparse_report_pop_origin(r, &e, &o), 0);
	kparse_report_free(r);
}

static void test_origin_warn_hung(_unused_ void **state)
{
	/* a 7.x WARNING without a "CPU:" line: the task from "CPU#N: comm/pid" */
	static const char *const warn[] = {
		"4,10,100,-,caller=T12;------------[ cut here ]------------\n",
		"4,11,101,-,caller=T12;WARNING: drivers/base/core.c:3912 at "
		"device_del+0x2a0/0x3b0 [some_mod], CPU#0: kworker/u8:1/12\n",
		"4,13,103,-,caller=T12;Call trace:\n",
		"4,14,104,-,caller=T12; device_del+0x2a0/0x3b0\n",
		"4,15,105,-,caller=T12;---[ end trace 0000000000000000 ]---\n",
		NULL,
	};
	static const char *const hung[] = {
		"3,70,122000000,-,caller=T30;INFO: task probestormd:93 blocked for more "
		"than "
		"122 seconds.\n",
		"6,74,122000004,-,caller=T30;Call trace:\n",
		"6,76,122000006,-,caller=T30; bind_store+0xd0/0x140\n",
		NULL,
	};
	struct kparse_report *r = feed_list(NULL, warn);
	struct kernel_event e;
	struct kparse_origin o;

	assert_int_equal(kparse_report_pop_origin(r, &e, &o), 1);
	assert_int_equal(e.class, EVENT_WARN);
	assert_int_equal(o.pid, 12);
	assert_string_equal(o.comm, "kworker/u8:1");
	assert_null(o.prior_device);
	/* the headline's frame counts first */
	assert_int_equal(kparse_report_frame(&e, "some_mod", NULL), 0);
	kernel_event_done(&e);
	kparse_origin_done(&o);

	r = feed_list(r, hung);
	assert_true(kparse_report_flush(r) >= 0);
	assert_int_equal(kparse_report_pop_origin(r, &e, &o), 1);
	assert_int_equal(e.class, EVENT_HUNG_TASK);
	/* the blocked task, not khungtaskd that printed it */
	assert_int_equal(o.pid, 93);
	assert_string_equal(o.comm, "probestormd");
	assert_string_equal(o.caller, "T30");
	kernel_event_done(&e);
	kparse_origin_done(&o);
	kparse_report_free(r);
}

static void test_epoch_and_cut(_unused_ void **state)
{
	static const char *const after[] = {
		"6,1400,54500000,-,caller=T294;hello\n SUBSYSTEM=platform\n"
		" DEVICE=+platform:decon\n",
		NULL,
	};
	struct kparse_report *r = feed_list(NULL, oops_head);
	struct kernel_event e;
	struct kparse_origin o;

	/* the cycle's end marker was read: epoch 1 from now on */
	kparse_report_set_epoch(r, 1);
	assert_int_equal(kparse_report_open_before(r, 1), 1);
	assert_int_equal(kparse_report_open_before(r, 0), 0);
	assert_int_equal(kparse_report_pop_origin(r, &e, &o), 1); /* the dev_err */
	kernel_event_done(&e);
	kparse_origin_done(&o);

	/* the rest arrives in time: one event, of epoch 0, with the whole report */
	r = feed_list(r, oops_rest);
	assert_int_equal(kparse_report_open_before(r, 1), 0);
	assert_int_equal(kparse_report_pop_origin(r, &e, &o), 1);
	assert_int_equal(e.class, EVENT_OOPS);
	assert_int_equal(o.epoch, 0);
	assert_non_null(strstr(e.detail, "Internal error: Oops"));
	kernel_event_done(&e);
	kparse_origin_done(&o);
	assert_int_equal(kparse_report_pop_origin(r, &e, &o), 0);
	kparse_report_free(r);

	/* it does not: cut at epoch 1, the rest is swallowed */
	r = feed_list(NULL, oops_head);
	kparse_report_set_epoch(r, 1);
	assert_int_equal(kparse_report_pop(r, &e), 1);
	kernel_event_done(&e);
	assert_int_equal(kparse_report_cut(r, 0), 0); /* nothing began before epoch 0 */
	assert_int_equal(kparse_report_cut(r, 1), 1);
	assert_int_equal(kparse_report_open(r), 0);
	assert_int_equal(kparse_report_pop_origin(r, &e, &o), 1);
	assert_int_equal(e.class, EVENT_OOPS);
	assert_true(o.cut);
	assert_int_equal(o.epoch, 0);
	assert_null(strstr(e.detail, "Internal error"));
	assert_non_null(strstr(e.detail, "report cut short"));
	kernel_event_done(&e);
	kparse_origin_done(&o);
	r = feed_list(r, oops_rest);
	assert_int_equal(kparse_report_pop(r, &e), 0);
	/* after the tail's end marker the task's records are events again, of epoch 1 */
	r = feed_list(r, after);
	assert_int_equal(kparse_report_pop_origin(r, &e, &o), 1);
	assert_string_equal(e.message, "hello");
	assert_int_equal(o.epoch, 1);
	kernel_event_done(&e);
	kparse_origin_done(&o);
	assert_true(kparse_report_flush(r) >= 0);
	assert_int_equal(kparse_report_pop(r, &e), 0);
	kparse_report_free(r);

	/* a report without an end marker (hung task) is cut without a note: it may well
	 * be complete; its trailing trace lines are still swallowed */
	{
		static const char *const hung[] = {
			"3,70,122000000,-,caller=T30;INFO: task sh:93 blocked for more "
			"than "
			"122 seconds.\n",
			"6,74,122000004,-,caller=T30;Call trace:\n",
			NULL,
		};
		static const char *const more[] = {
			"6,76,122000006,-,caller=T30; bind_store+0xd0/0x140\n",
			NULL,
		};

		r = feed_list(NULL, hung);
		kparse_report_set_epoch(r, 1);
		assert_int_equal(kparse_report_cut(r, 1), 1);
		assert_int_equal(kparse_report_pop_origin(r, &e, &o), 1);
		assert_int_equal(e.class, EVENT_HUNG_TASK);
		assert_false(o.cut);
		assert_string_equal(e.detail, "Call trace:");
		kernel_event_done(&e);
		kparse_origin_done(&o);
		r = feed_list(r, more);
		assert_true(kparse_report_flush(r) >= 0);
		assert_int_equal(kparse_report_pop(r, &e), 0);
		kparse_report_free(r);
	}
}

static void test_gap_ends_report(_unused_ void **state)
{
	/* an oops whose end marker never came (records lost), then the same caller seconds
	 * later: not part of it */
	static const char *const recs[] = {
		"1,1,1000000,-,caller=T7;Unable to handle kernel paging request at "
		"virtual "
		"address dead\n",
		"4,2,1000100,-,caller=T7;Call trace:\n",
		"6,3,4000000,-,caller=T7;probe of decon with driver ps-decon returned 0 "
		"after "
		"5 usecs\n",
		NULL,
	};
	struct events ev = {};

	feed_all(recs, false, &ev);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.v[0].class, EVENT_OOPS);
	assert_int_equal(ev.v[1].class, EVENT_PROBE_TIME);
	assert_string_equal(ev.v[1].device, "decon");
	events_done(&ev);
}

static void test_deferred(_unused_ void **state)
{
	struct kparse_deferred_entry *e = NULL, *sentinel = (void *)0x1;
	size_t n = 99;

	assert_int_equal(
		kparse_deferred("decon\tsim-decon: waiting for sysmmu-b\nother\t\n", &e,
				&n),
		0);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].device, "decon");
	assert_string_equal(e[0].reason, "sim-decon: waiting for sysmmu-b");
	assert_string_equal(e[1].device, "other");
	assert_null(e[1].reason);
	kparse_deferred_free(e, n);

	e = sentinel;
	assert_int_equal(kparse_deferred("", &e, &n), 0);
	assert_int_equal(n, 0);
	assert_null(e);

	e = sentinel;
	n = 99;
	assert_int_equal(kparse_deferred("decon\tok\nno-tab-here\n", &e, &n), -EBADMSG);
	assert_int_equal(kparse_deferred("\treason\n", &e, &n), -EBADMSG);
	assert_ptr_equal(e, sentinel);
	assert_int_equal(n, 99);
}

static void test_uevent(_unused_ void **state)
{
	static const char bind[] = "bind@/devices/platform/decon\0ACTION=bind\0"
				   "DEVPATH=/devices/platform/decon\0SUBSYSTEM=platform\0"
				   "DRIVER=sim-decon\0OF_NAME=decon\0SEQNUM=1234";
	static const char unbind[] =
		"unbind@/devices/platform/decon\0ACTION=unbind\0"
		"DEVPATH=/devices/platform/decon\0SUBSYSTEM=platform\0"
		"SEQNUM=1240";
	static const char udev[] = "libudev\0\xfe\xed\xca\xfe\x28\0\0\0";
	struct uevent u;

	assert_int_equal(kparse_uevent(bind, sizeof(bind), &u), 0);
	assert_string_equal(u.action, "bind");
	assert_string_equal(u.devpath, "/devices/platform/decon");
	assert_string_equal(u.subsystem, "platform");
	assert_string_equal(u.driver, "sim-decon");
	assert_int_equal(u.seqnum, 1234);
	assert_string_equal(kparse_devpath_name(u.devpath), "decon");
	kparse_uevent_done(&u);

	/* without the final NUL too */
	assert_int_equal(kparse_uevent(unbind, sizeof(unbind) - 1, &u), 0);
	assert_string_equal(u.action, "unbind");
	assert_null(u.driver);
	assert_int_equal(u.seqnum, 1240);
	kparse_uevent_done(&u);

	memset(&u, 0x5a, sizeof(u));
	assert_int_equal(kparse_uevent(udev, sizeof(udev), &u), -ENOMSG);
	assert_int_equal(kparse_uevent("garbage", 7, &u), -EBADMSG);
	assert_int_equal(kparse_uevent("bind/devices/x\0A=1", 18, &u), -EBADMSG);
	assert_int_equal(kparse_uevent("bind@/devices/x\0NOEQUALS", 24, &u), -EBADMSG);
	assert_int_equal(kparse_uevent("bind@/devices/x\0SEQNUM=12a", 26, &u), -EBADMSG);
	assert_int_equal(u.seqnum, 0x5a5a5a5a5a5a5a5aLL);
}

static void test_trace_line(_unused_ void **state)
{
	struct kernel_event e;

	assert_int_equal(
		kparse_trace_line("              sh-93      [001] .....    12.345678: "
				  "add_device_to_group: IOMMU: groupID=0 device=decon\n",
				  &e),
		0);
	assert_int_equal(e.source, SOURCE_TRACEFS);
	assert_int_equal(e.class, EVENT_IOMMU_TRACE);
	assert_int_equal(e.ts_ns, 12345678000LL);
	assert_string_equal(e.message,
			    "add_device_to_group: IOMMU: groupID=0 device=decon");
	assert_string_equal(e.device, "decon");
	kernel_event_done(&e);

	/* a task name with spaces and dashes */
	assert_int_equal(
		kparse_trace_line(" kworker/u4:1 my-x-7 [000] d..1. 3.000001: "
				  "attach_device_to_domain: IOMMU: device=sysmmu-b",
				  &e),
		0);
	assert_int_equal(e.ts_ns, 3000001000LL);
	assert_string_equal(e.device, "sysmmu-b");
	kernel_event_done(&e);

	assert_int_equal(kparse_trace_line("CPU:1 [LOST 3 EVENTS]", &e), -EINVAL);
	assert_int_equal(kparse_trace_line("", &e), -EINVAL);
}

static void test_build_id(_unused_ void **state)
{
	unsigned char notes[64] = {};
	uint32_t hdr[3];
	char *hex = NULL;
	size_t off = 0;

	/* a Xen note first (name "Xen", type 1, 4 bytes desc), then the GNU build id */
	hdr[0] = 4, hdr[1] = 4, hdr[2] = 1;
	memcpy(notes + off, hdr, 12), off += 12;
	memcpy(notes + off, "Xen", 4), off += 4;
	off += 4;
	hdr[0] = 4, hdr[1] = 5, hdr[2] = 3;
	memcpy(notes + off, hdr, 12), off += 12;
	memcpy(notes + off, "GNU", 4), off += 4;
	memcpy(notes + off, "\x01\xab\xcd\xef\x10", 5), off += 8;

	assert_int_equal(kparse_build_id(notes, off, &hex), 0);
	assert_string_equal(hex, "01abcdef10");
	free(hex);
	hex = NULL;
	assert_int_equal(kparse_build_id(notes, 20, &hex), -ENOENT);
	assert_int_equal(kparse_build_id(notes, off - 4, &hex), -EBADMSG);
	assert_int_equal(kparse_build_id(notes, 7, &hex), -EBADMSG);
	assert_null(hex);
}

static void test_cmdline_param(_unused_ void **state)
{
	const char *cmd = "console=ttyAMA0 fw_devlink=on quiet deferred-probe-timeout=30 "
			  "deferred_probe_timeout=-1 dyndbg=\"file dd.c +p\" flag -- "
			  "fw_devlink=off";
	char *v = NULL;

	assert_int_equal(kparse_cmdline_param(cmd, "fw_devlink", &v), 0);
	assert_string_equal(v, "on"); /* after "--" belongs to init */
	free(v);
	assert_int_equal(kparse_cmdline_param(cmd, "deferred_probe_timeout", &v), 0);
	assert_string_equal(v, "-1"); /* last one wins; '-' == '_' */
	free(v);
	assert_int_equal(kparse_cmdline_param(cmd, "dyndbg", &v), 0);
	assert_string_equal(v, "file dd.c +p");
	free(v);
	assert_int_equal(kparse_cmdline_param(cmd, "flag", &v), 0);
	assert_string_equal(v, "");
	free(v);
	v = NULL;
	assert_int_equal(kparse_cmdline_param(cmd, "initcall_debug", &v), -ENOENT);
	assert_int_equal(kparse_cmdline_param(cmd, "fw", &v), -ENOENT);
	assert_null(v);
}

/* ---------------------------------------------------------------- captured data */

static char *read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

/* A capture is the records as read from /dev/kmsg, one after another: a record starts at
 * every line that does not begin with a space (continuation lines do). */
static void feed_capture(const char *text, size_t len, struct kparse_report *r,
			 struct events *ev, size_t *ret_records)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *q = p;
		struct kmsg_record rec;

		do {
			q = memchr(q, '\n', (size_t)(end - q));
			q = q ? q + 1 : end;
		} while (q < end && *q == ' ');
		if (q - p > 1) {
			assert_int_equal(kparse_kmsg_record(p, (size_t)(q - p), &rec), 0);
			assert_true(kparse_report_feed(r, &rec) >= 0);
			kparse_kmsg_record_done(&rec);
			(*ret_records)++;
		}
		while (kparse_report_pop(r, &ev->v[ev->n]) == 1)
			if (ev->n + 1 < ARRAY_SIZE(ev->v))
				ev->n++;
			else
				kernel_event_done(&ev->v[ev->n]);
		p = q;
	}
}

/* What each capture of contrib/qemu/guest-capture.sh must fold into. */
struct capture_expect {
	const char *name; /* file name without extension */
	enum event_class class;
	size_t count;
	const char *devices[4]; /* expected devices of those events, if any */
};

static const struct capture_expect kmsg_expect[] = {
	/* stock 7.3: decon (two IOMMUs) warns, decon-ctl (only sysmmu-b) defers */
	{ "late-iommu-warn", EVENT_LATE_IOMMU_PROBE, 1, { "decon" } },
	{ "late-iommu-warn", EVENT_WARN, 0, {} },
	/* lkml-v1: every consumer bound while sysmmu-b registers warns, at bind and at
	 * module load alike */
	{ "late-iommu-warn-lkml-v1",
	  EVENT_LATE_IOMMU_PROBE,
	  2,
	  { "decon", "decon-ctl" } },
	{ "insmod-lkml-v1", EVENT_LATE_IOMMU_PROBE, 2, { "decon", "decon-ctl" } },
	{ "insmod", EVENT_LATE_IOMMU_PROBE, 0, {} },
	{ "insmod",
	  EVENT_PROBE_TIME,
	  4,
	  { "sysmmu-a", "sysmmu-b", "decon", "decon-ctl" } },
	{ "generic-warning", EVENT_WARN, 1, {} },
	{ "generic-warning", EVENT_LATE_IOMMU_PROBE, 0, {} },
	{ "oops-null-deref", EVENT_OOPS, 1, {} },
	{ "oops-deferred-worker", EVENT_OOPS, 1, {} },
	{ "oops-deferred-worker", EVENT_PROBE_TIME, 1, { "sysmmu-b" } },
	{ "hung-task", EVENT_HUNG_TASK, 1, {} },
	{ "bind-error-eio", EVENT_PROBE_FAILED, 1, { "platform:sysmmu-b" } },
	{ "bind-error-eio", EVENT_WARN, 0, {} },
	{ "bind-eagain", EVENT_PROBE_TIME, 1, { "decon-ctl" } },
	{ "drivers-probe-deferred", EVENT_PROBE_TIME, 3, { "decon", "decon-ctl" } },
	{ "drivers-probe-deferred", EVENT_LATE_IOMMU_PROBE, 0, {} },
	{ "deferred-released", EVENT_LATE_IOMMU_PROBE, 0, {} },
	{ "deferred-released", EVENT_OOPS, 0, {} },
};

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && streq(s + n - m, suffix);
}

static bool name_is(const char *file, const char *name)
{
	size_t n = strlen(name);

	return strncmp(file, name, n) == 0 && (file[n] == '\0' || file[n] == '.');
}

static void check_capture(const char *file, const struct events *ev)
{
	for (size_t i = 0; i < ARRAY_SIZE(kmsg_expect); i++) {
		const struct capture_expect *x = &kmsg_expect[i];

		if (!name_is(file, x->name))
			continue;
		if (count_class(ev, x->class) != x->count)
			fail_msg("%s: %zu %s event(s), expected %zu", file,
				 count_class(ev, x->class),
				 event_class_to_string(x->class), x->count);
		for (size_t d = 0; d < ARRAY_SIZE(x->devices) && x->devices[d]; d++) {
			bool found = false;

			for (size_t j = 0; j < ev->n; j++)
				if (ev->v[j].class == x->class && ev->v[j].device &&
				    streq(ev->v[j].device, x->devices[d]))
					found = true;
			if (!found)
				fail_msg("%s: no %s event for device %s", file,
					 event_class_to_string(x->class), x->devices[d]);
		}
		if (x->class == EVENT_LATE_IOMMU_PROBE || x->class == EVENT_WARN)
			for (size_t j = 0; j < ev->n; j++)
				if (ev->v[j].class == x->class) {
					assert_non_null(ev->v[j].detail);
					assert_non_null(
						strstr(ev->v[j].detail, "Call trace:"));
				}
		if (x->class == EVENT_LATE_IOMMU_PROBE)
			for (size_t j = 0; j < ev->n; j++)
				if (ev->v[j].class == x->class)
					assert_non_null(strstr(
						ev->v[j].detail,
						"WARNING: drivers/iommu/iommu.c:"));
	}
}

static void test_captured_kmsg(_unused_ void **state)
{
	DIR *d = opendir(TEST_DATA_DIR "/kmsg");
	struct dirent *de;
	size_t files = 0;

	if (!d) {
		print_message("no captures in " TEST_DATA_DIR "/kmsg, skipped\n");
		return;
	}
	while ((de = readdir(d))) {
		char path[4096];
		struct kparse_report *r = NULL;
		struct events ev = {};
		size_t len = 0, records = 0;
		char *text;

		/* *.kmsg hold records; *.notes say what the capture script saw */
		if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".kmsg"))
			continue;
		snprintf(path, sizeof(path), "%s/kmsg/%s", TEST_DATA_DIR, de->d_name);
		text = read_all(path, &len);
		if (!text)
			continue;
		assert_int_equal(kparse_report_new(&r), 0);
		feed_capture(text, len, r, &ev, &records);
		assert_true(kparse_report_flush(r) >= 0);
		drain(r, &ev);
		check_capture(de->d_name, &ev);
		events_done(&ev);
		kparse_report_free(r);
		free(text);
		files++;
	}
	closedir(d);
	print_message("%zu kmsg capture(s) parsed\n", files);
}

/* The race as the stock kernel reported it in the QEMU guest, field by field. */
static void test_captured_late_warn(_unused_ void **state)
{
	struct kparse_report *r = NULL;
	struct events ev = {};
	const struct kernel_event *e;
	size_t len = 0, records = 0;
	char *text = read_all(TEST_DATA_DIR "/kmsg/late-iommu-warn.kmsg", &len);
	char *dev = NULL;
	int ret = 0;

	if (!text) {
		print_message("no late-iommu-warn.kmsg capture, skipped\n");
		return;
	}
	assert_int_equal(kparse_report_new(&r), 0);
	feed_capture(text, len, r, &ev, &records);
	/* the report closed on its end marker, no flush needed */
	assert_int_equal(kparse_report_open(r), 0);
	e = find_class(&ev, EVENT_LATE_IOMMU_PROBE);
	assert_non_null(e);
	assert_int_equal(e->seq, 699);
	assert_int_equal(e->ts_ns, 1652501000LL);
	assert_int_equal(e->prio, 4);
	assert_string_equal(e->device, "decon");
	assert_string_equal(e->message,
			    "ps-decon decon: late IOMMU probe at driver bind, "
			    "something fishy here!");
	assert_true(strncmp(e->detail,
			    "WARNING: drivers/iommu/iommu.c:654 at "
			    "__iommu_probe_device+0x19c/0x48c, CPU#1: sh/88\n",
			    71) == 0);
	assert_non_null(strstr(e->detail, "\n really_probe+0x5c/0x288\n"));
	assert_true(strstr(e->detail, "---[ end trace 0000000000000000 ]---") ==
		    e->detail + strlen(e->detail) -
			    strlen("---[ end trace 0000000000000000 ]---"));
	/* the consumer with one IOMMU deferred instead */
	for (size_t i = 0; i < ev.n; i++)
		if (ev.v[i].class == EVENT_PROBE_TIME &&
		    streq(ev.v[i].device, "decon-ctl")) {
			assert_int_equal(kparse_probe_time(ev.v[i].message, &dev, NULL,
							   &ret, NULL),
					 0);
			assert_int_equal(ret, -517);
		}
	assert_non_null(dev);
	free(dev);
	events_done(&ev);
	kparse_report_free(r);
	free(text);
}

static void test_captured_deferred(_unused_ void **state)
{
	DIR *d = opendir(TEST_DATA_DIR "/deferred");
	struct dirent *de;

	if (!d) {
		print_message("no captures in " TEST_DATA_DIR "/deferred, skipped\n");
		return;
	}
	while ((de = readdir(d))) {
		char path[4096];
		struct kparse_deferred_entry *e = NULL;
		size_t len = 0, n = 0;
		char *text;

		/* *.txt are captures; README.md describes them */
		if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".txt"))
			continue;
		snprintf(path, sizeof(path), "%s/deferred/%s", TEST_DATA_DIR, de->d_name);
		text = read_all(path, &len);
		if (!text)
			continue;
		assert_int_equal(kparse_deferred(text, &e, &n), 0);
		for (size_t i = 0; i < n; i++)
			assert_true(strlen(e[i].device) > 0);
		if (name_is(de->d_name, "empty"))
			assert_int_equal(n, 0);
		if (name_is(de->d_name, "decon-ctl-waiting-for-sysmmu-b")) {
			/* 7.3 prints an empty reason when the IOMMU core deferred */
			assert_int_equal(n, 1);
			assert_string_equal(e[0].device, "decon-ctl");
			assert_null(e[0].reason);
		}
		if (name_is(de->d_name, "two-consumers-waiting-for-sysmmu-b")) {
			bool ab, ba;

			assert_int_equal(n, 2);
			ab = streq(e[0].device, "decon") &&
			     streq(e[1].device, "decon-ctl");
			ba = streq(e[0].device, "decon-ctl") &&
			     streq(e[1].device, "decon");
			assert_true(ab || ba);
		}
		kparse_deferred_free(e, n);
		free(text);
	}
	closedir(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_basic),
		cmocka_unit_test(test_record_caller_dict_escapes),
		cmocka_unit_test(test_record_malformed),
		cmocka_unit_test(test_device_id),
		cmocka_unit_test(test_late_iommu_warn),
		cmocka_unit_test(test_late_iommu_warn_no_caller),
		cmocka_unit_test(test_generic_warn),
		cmocka_unit_test(test_oops_then_panic),
		cmocka_unit_test(test_bug_open_ended),
		cmocka_unit_test(test_hung_task_and_flush),
		cmocka_unit_test(test_single_record_classes),
		cmocka_unit_test(test_marker_round_trip),
		cmocka_unit_test(test_marker_not_absorbed),
		cmocka_unit_test(test_uuid_is_valid),
		cmocka_unit_test(test_interleaved_callers),
		cmocka_unit_test(test_queue_order),
		cmocka_unit_test(test_origin_oops),
		cmocka_unit_test(test_origin_warn_hung),
		cmocka_unit_test(test_epoch_and_cut),
		cmocka_unit_test(test_gap_ends_report),
		cmocka_unit_test(test_deferred),
		cmocka_unit_test(test_uevent),
		cmocka_unit_test(test_trace_line),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_cmdline_param),
		cmocka_unit_test(test_captured_kmsg),
		cmocka_unit_test(test_captured_late_warn),
		cmocka_unit_test(test_captured_deferred),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
