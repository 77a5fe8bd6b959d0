// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the /dev/kmsg record parser and the report folding behind it
 * (classify/kparse.c), fed as the kmsg collector feeds them. The input is split into records as
 * a capture in tests/data/kmsg is: a record starts at a line that does not begin with
 * a space (its " KEY=value" lines follow). Every record that parses is classified, looked
 * at as a probe-time line and a cycle marker, and fed to a report, which is flushed and
 * emptied at the end.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kparse.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *end = buf + size;
	struct kparse_report *report = NULL;
	struct kernel_event e;

	if (kparse_report_new(&report) < 0)
		return 0;
	while (buf < end) {
		const char *next = buf;
		struct kmsg_record rec;

		/* the record's first line, then its continuation lines */
		do {
			const char *nl = memchr(next, '\n', (size_t)(end - next));

			next = nl ? nl + 1 : end;
		} while (next < end && *next == ' ');
		if (kparse_kmsg_record(buf, (size_t)(next - buf), &rec) == 0) {
			char uuid[37], *dev = NULL, *drv = NULL, *id;
			int64_t cycle, usecs;
			bool is_end;
			int ret;

			(void)kparse_classify(rec.message);
			if (kparse_probe_time(rec.message, &dev, &drv, &ret, &usecs) == 0)
				(void)kparse_probe_ret_deferred(ret);
			free(dev);
			free(drv);
			(void)kparse_marker(rec.message, uuid, &cycle, &is_end);
			id = kparse_device_id(rec.device);
			free(id);
			(void)kparse_report_feed(report, &rec);
			while (kparse_report_pop(report, &e) == 1)
				kernel_event_done(&e);
			kparse_kmsg_record_done(&rec);
		}
		buf = next;
	}
	(void)kparse_report_flush(report);
	while (kparse_report_pop(report, &e) == 1)
		kernel_event_done(&e);
	kparse_report_free(report);
	return 0;
}
