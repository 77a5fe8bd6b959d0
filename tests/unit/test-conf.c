/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the configuration parser (lib/conf.c): the documented example parses into
 * the right values, every class of error gives its exact "file:line: [section] key: ..."
 * message and leaves the output untouched, and drop-ins override in name order. The check
 * of a topology against sysfs is kernel/topology.c's, tested in test-topology.c.
 */

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "macro.h"
#include "util.h"
#include "conf-load.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must name the absolute path of tests/data"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define SENTINEL  ((struct conf *)0x1)
#define NAME_RULE "(one path component: no '/', no blanks, not '.' or '..')"

/* The full example of docs/config.md (= contrib/targets/qemu-sim.conf), line numbers
 * matter: the expectations below name them. */
/* clang-format off */
static const char example[] =
	"; probestorm configuration for the QEMU simulation\n"          /*  1 */
	"[daemon]\n"                                                     /*  2 */
	"listen = 127.0.0.1:8080\n"                                      /*  3 */
	"stream = /dev/hvc0\n"                                           /*  4 */
	"crash-safe = yes\n"                                             /*  5 */
	"\n"                                                             /*  6 */
	"[target qemu-sim]\n"                                            /*  7 */
	"kind = qemu\n"                                                  /*  8 */
	"cmdline = fw_devlink=on\n"                                      /*  9 */
	"variants = stock, lkml-v1\n"                                    /* 10 */
	"boot-timeout = 120s\n"                                          /* 11 */
	"\n"                                                             /* 12 */
	"[consumer decon]\n"                                             /* 13 */
	"driver = ps-decon\n"                                            /* 14 */
	"module = ps_decon\n"                                            /* 15 */
	"iommus = sysmmu-a, sysmmu-b\n"                                  /* 16 */
	"\n"                                                             /* 17 */
	"[consumer decon-ctl]\n"                                         /* 18 */
	"driver = ps-decon\n"                                            /* 19 */
	"module = ps_decon\n"                                            /* 20 */
	"iommus = sysmmu-b\n"                                            /* 21 */
	"\n"                                                             /* 22 */
	"[supplier sysmmu-a]\n"                                          /* 23 */
	"driver = ps-sysmmu\n"                                           /* 24 */
	"module = ps_sysmmu\n"                                           /* 25 */
	"\n"                                                             /* 26 */
	"[supplier sysmmu-b]\n"                                          /* 27 */
	"driver = ps-sysmmu\n"                                           /* 28 */
	"module = ps_sysmmu\n"                                           /* 29 */
	"\n"                                                             /* 30 */
	"[load cpu-half]\n"                                              /* 31 */
	"stress-ng = --cpu 2 --cpu-load 50\n"                            /* 32 */
	"\n"                                                             /* 33 */
	"[scenario rebind-race]\n"                                       /* 34 */
	"description = Re-probe both consumers while the second SysMMU is still binding\n"
	"step = unbind decon\n"                                          /* 36 */
	"step = unbind decon-ctl\n"                                      /* 37 */
	"step = unbind sysmmu-b\n"                                       /* 38 */
	"step = unbind sysmmu-a\n"                                       /* 39 */
	"step = bind sysmmu-a\n"                                         /* 40 */
	"step = concurrent bind sysmmu-b @0, probe decon @${offset}, probe decon-ctl @${offset}\n"
	"step = wait-bound decon 2s\n"                                   /* 42 */
	"\n"                                                             /* 43 */
	"[campaign rebind-sweep]\n"                                      /* 44 */
	"target = qemu-sim\n"                                            /* 45 */
	"scenario = rebind-race\n"                                       /* 46 */
	"cycles = 200\n"                                                 /* 47 */
	"sweep = offset 0 300ms 16\n"                                    /* 48 */
	"load = cpu-half\n"                                              /* 49 */
	"action-timeout = 5s\n"                                          /* 50 */
	"deadline = 2s\n"                                                /* 51 */
	"settle = 50ms\n"                                                /* 52 */
	"max-consecutive-hangs = 3\n";                                   /* 53 */
/* clang-format on */

/* A small topology for the error cases: lines 1..5, the snippet under test starts at 6. */
#define TOPOLOGY                \
	"[consumer decon]\n"    \
	"driver = ps-decon\n"   \
	"iommus = sysmmu-a\n"   \
	"[supplier sysmmu-a]\n" \
	"driver = ps-sysmmu\n"

static void expect_error(const char *text, int err, const char *msg)
{
	struct conf *c = SENTINEL;
	char *e = NULL;

	assert_int_equal(conf_load_string("t.conf", text, &c, &e), err);
	assert_ptr_equal(c, SENTINEL);
	assert_non_null(e);
	assert_string_equal(e, msg);
	free(e);
}

/* ---- the example ---- */

static void test_example_values(void **state)
{
	struct conf *c = expect_ok("example.conf", example);
	const struct conf_target *t;
	const struct conf_device *d;
	const struct conf_load *l;
	const struct conf_scenario *s;
	const struct conf_campaign *k;
	const struct conf_step_group *g;

	(void)state;
	assert_string_equal(c->daemon.listen, "127.0.0.1:8080");
	assert_string_equal(c->daemon.stream, "/dev/hvc0");
	assert_true(c->daemon.crash_safe);
	assert_string_equal(c->daemon.database,
			    LOCALSTATEDIR "/lib/probestorm/probestorm.db");
	assert_null(c->daemon.token);
	assert_null(c->daemon.token_file);
	assert_non_null(c->daemon.autostart);
	assert_null(c->daemon.autostart[0]);
	assert_null(c->daemon.label);

	assert_int_equal(c->n_targets, 1);
	t = conf_target_find(c, "qemu-sim");
	assert_non_null(t);
	assert_string_equal(t->kind, "qemu");
	assert_string_equal(t->cmdline, "fw_devlink=on");
	assert_string_equal(t->variants[0], "stock");
	assert_string_equal(t->variants[1], "lkml-v1");
	assert_null(t->variants[2]);
	assert_int_equal(t->boot_timeout_us, 120 * USEC_PER_SEC);
	assert_null(t->sysroot);

	assert_int_equal(c->n_devices, 4);
	d = conf_device_find(c, "decon");
	assert_non_null(d);
	assert_true(d->consumer);
	assert_string_equal(d->bus, "platform");
	assert_string_equal(d->device, "decon");
	assert_string_equal(d->driver, "ps-decon");
	assert_string_equal(d->module, "ps_decon");
	assert_string_equal(d->iommus[0], "sysmmu-a");
	assert_string_equal(d->iommus[1], "sysmmu-b");
	assert_null(d->iommus[2]);
	assert_true(d->expect_iommu);
	d = conf_device_find(c, "decon-ctl");
	assert_non_null(d);
	assert_string_equal(d->iommus[0], "sysmmu-b");
	assert_null(d->iommus[1]);
	d = conf_device_find(c, "sysmmu-b");
	assert_non_null(d);
	assert_false(d->consumer);
	assert_string_equal(d->driver, "ps-sysmmu");
	assert_string_equal(d->module, "ps_sysmmu");
	assert_null(conf_device_find(c, "sysmmu-c"));

	l = conf_load_find(c, "cpu-half");
	assert_non_null(l);
	assert_string_equal(l->stress_args, "--cpu 2 --cpu-load 50");
	assert_false(l->per_cycle);

	s = conf_scenario_find(c, "rebind-race");
	assert_non_null(s);
	assert_string_equal(
		s->description,
		"Re-probe both consumers while the second SysMMU is still binding");
	assert_int_equal(s->n_groups, 7);
	for (size_t i = 0; i < 4; i++) {
		assert_false(s->groups[i].concurrent);
		assert_int_equal(s->groups[i].n_steps, 1);
		assert_int_equal(s->groups[i].steps[0].verb, STEP_UNBIND);
		assert_int_equal(s->groups[i].line, 36 + i);
	}
	assert_string_equal(s->groups[1].steps[0].arg, "decon-ctl");
	assert_int_equal(s->groups[4].steps[0].verb, STEP_BIND);
	assert_string_equal(s->groups[4].steps[0].arg, "sysmmu-a");
	assert_null(s->groups[4].steps[0].params);
	g = &s->groups[5];
	assert_true(g->concurrent);
	assert_int_equal(g->line, 41);
	assert_int_equal(g->n_steps, 3);
	assert_int_equal(g->steps[0].verb, STEP_BIND);
	assert_string_equal(g->steps[0].arg, "sysmmu-b");
	assert_int_equal(g->steps[0].offset_us, 0);
	assert_false(g->steps[0].offset_is_sweep);
	assert_int_equal(g->steps[1].verb, STEP_PROBE);
	assert_string_equal(g->steps[1].arg, "decon");
	assert_true(g->steps[1].offset_is_sweep);
	assert_int_equal(g->steps[2].verb, STEP_PROBE);
	assert_string_equal(g->steps[2].arg, "decon-ctl");
	assert_true(g->steps[2].offset_is_sweep);
	g = &s->groups[6];
	assert_int_equal(g->steps[0].verb, STEP_WAIT_BOUND);
	assert_string_equal(g->steps[0].arg, "decon");
	assert_int_equal(g->steps[0].timeout_us, 2 * USEC_PER_SEC);
	assert_string_equal(
		s->text,
		"unbind decon\nunbind decon-ctl\nunbind sysmmu-b\nunbind sysmmu-a\n"
		"bind sysmmu-a\nconcurrent bind sysmmu-b @0, probe decon @${offset}, "
		"probe decon-ctl @${offset}\nwait-bound decon 2s");

	assert_int_equal(c->n_campaigns, 1);
	k = conf_campaign_find(c, "rebind-sweep");
	assert_non_null(k);
	assert_string_equal(k->target, "qemu-sim");
	assert_string_equal(k->scenario, "rebind-race");
	assert_int_equal(k->cycles, 200);
	assert_string_equal(k->sweep_var, "offset");
	assert_int_equal(k->sweep_from_us, 0);
	assert_int_equal(k->sweep_to_us, 300000);
	assert_int_equal(k->sweep_steps, 16);
	assert_string_equal(k->load, "cpu-half");
	assert_int_equal(k->action_timeout_us, 5 * USEC_PER_SEC);
	assert_int_equal(k->deadline_us, 2 * USEC_PER_SEC);
	assert_int_equal(k->settle_us, 50000);
	assert_int_equal(k->max_consecutive_hangs, 3);
	assert_null(k->schedule);
	assert_null(conf_campaign_find(c, "rebind-race"));
	conf_free(c);
}

static void test_defaults_and_syntax(void **state)
{
	struct conf *c = expect_ok(
		"d.conf", "\xef\xbb\xbf# BOM, comments and blanks are fine\n"
			  "[target t]\n"
			  "[consumer dev-a]\n"
			  "  driver = drv   ; inline comment\n"
			  "  device = 1000.dev\n"
			  "  bus = platform\n"
			  "[supplier mmu]\r\n"
			  "driver=mmu-drv\r\n"
			  "[load idle]\n"
			  "stress-ng = --cpu 1\n"
			  "per-cycle = on\n"
			  "[scenario s]\n"
			  "step = unbind dev-a @150us\n"
			  "step = insmod /lib/modules/x/ps_decon.ko a=1 b=x,y\n"
			  "step = modprobe ps_decon\n"
			  "step = rmmod ps-decon\n"
			  "step = sleep 1.5s\n"
			  "step = concurrent bind dev-a @20ms, modprobe m_x p=1 @1ms\n"
			  "step = wait-bound dev-a\n"
			  "step = reboot\n"
			  "[campaign k]\n"
			  "scenario = s\n"
			  "[campaign n]\n"
			  "scenario = s\n"
			  "schedule =   daily   03:05\n"
			  "realtime = yes\n"
			  "[daemon]\n"
			  "autostart = k n\n"
			  "token = secret\n"
			  "label = lkml v2\n");
	const struct conf_device *d;
	const struct conf_scenario *s;
	const struct conf_campaign *k;

	(void)state;
	assert_string_equal(c->targets[0].kind, "local");
	assert_int_equal(c->targets[0].boot_timeout_us, 120 * USEC_PER_SEC);
	assert_non_null(c->targets[0].variants);
	assert_null(c->targets[0].variants[0]);
	d = conf_device_find(c, "dev-a");
	assert_string_equal(d->driver, "drv");
	assert_string_equal(d->device, "1000.dev");
	assert_non_null(d->iommus);
	assert_null(d->iommus[0]);
	assert_true(d->expect_iommu);
	assert_null(d->module);
	d = conf_device_find(c, "mmu");
	assert_string_equal(d->driver, "mmu-drv");
	assert_string_equal(d->device, "mmu");
	assert_non_null(d->iommus); /* lists are never NULL */
	assert_null(d->iommus[0]);
	assert_true(c->loads[0].per_cycle);

	s = conf_scenario_find(c, "s");
	assert_int_equal(s->n_groups, 8);
	assert_int_equal(s->groups[0].steps[0].offset_us, 150);
	assert_int_equal(s->groups[1].steps[0].verb, STEP_INSMOD);
	assert_string_equal(s->groups[1].steps[0].arg, "/lib/modules/x/ps_decon.ko");
	assert_string_equal(s->groups[1].steps[0].params, "a=1 b=x,y");
	assert_null(s->groups[2].steps[0].params);
	assert_int_equal(s->groups[3].steps[0].verb, STEP_RMMOD);
	assert_int_equal(s->groups[4].steps[0].verb, STEP_SLEEP);
	assert_int_equal(s->groups[4].steps[0].timeout_us, 1500000);
	assert_string_equal(s->groups[4].steps[0].arg, "1.5s");
	assert_true(s->groups[5].concurrent);
	assert_int_equal(s->groups[5].steps[0].offset_us, 20000);
	assert_string_equal(s->groups[5].steps[1].arg, "m_x");
	assert_string_equal(s->groups[5].steps[1].params, "p=1");
	assert_int_equal(s->groups[5].steps[1].offset_us, 1000);
	assert_int_equal(s->groups[6].steps[0].timeout_us, 0);
	assert_int_equal(s->groups[7].steps[0].verb, STEP_REBOOT);
	assert_null(s->groups[7].steps[0].arg);

	k = conf_campaign_find(c, "k");
	assert_null(k->target);
	assert_null(k->load);
	assert_null(k->sweep_var);
	assert_null(k->schedule);
	assert_int_equal(k->cycles, 100);
	assert_int_equal(k->action_timeout_us, 5 * USEC_PER_SEC);
	assert_int_equal(k->deadline_us, 2 * USEC_PER_SEC);
	assert_int_equal(k->settle_us, 0);
	assert_int_equal(k->max_consecutive_hangs, 3);
	assert_false(k->realtime);
	/* a wedged target is rebooted, at most 10 times a run, with systemctl */
	assert_string_equal(k->on_wedged, "reboot");
	assert_int_equal(k->max_reboots, 10);
	assert_string_equal(c->daemon.reboot_command, "systemctl reboot");
	assert_string_equal(conf_campaign_find(c, "n")->schedule, "daily 03:05");
	assert_true(conf_campaign_find(c, "n")->realtime);

	assert_string_equal(c->daemon.autostart[0], "k");
	assert_string_equal(c->daemon.autostart[1], "n");
	assert_null(c->daemon.autostart[2]);
	assert_string_equal(c->daemon.token, "secret");
	assert_string_equal(c->daemon.label, "lkml v2");
	assert_string_equal(c->daemon.listen, "127.0.0.1:8080");
	assert_true(c->daemon.crash_safe);
	conf_free(c);
	conf_free(NULL);
}

/* docs/config.md's full example and the shipped targets must parse. */
static void test_shipped_examples(void **state)
{
	static const char *const files[] = { "contrib/targets/qemu-sim.conf",
					     "contrib/targets/zuma.conf" };
	_cleanup_free_ char *doc = NULL, *block = NULL;
	char path[4096], *start, *end;
	struct conf *c;
	char *e = NULL;
	FILE *f;
	long n;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		c = NULL;
		snprintf(path, sizeof(path), "%s/../../%s", TEST_DATA_DIR, files[i]);
		if (conf_load(path, NULL, &c, &e) < 0)
			fail_msg("%s: %s", files[i], e);
		assert_non_null(conf_campaign_find(c, c->campaigns[0].name));
		conf_free(c);
	}

	snprintf(path, sizeof(path), "%s/../../docs/config.md", TEST_DATA_DIR);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	doc = calloc(1, n + 1);
	assert_non_null(doc);
	assert_int_equal(fread(doc, 1, n, f), (size_t)n);
	fclose(f);
	start = strstr(doc, "## Full example");
	assert_non_null(start);
	start = strstr(start, "```ini\n");
	assert_non_null(start);
	start += strlen("```ini\n");
	end = strstr(start, "```");
	assert_non_null(end);
	block = strndup(start, end - start);
	c = expect_ok("config.md", block);
	assert_non_null(conf_campaign_find(c, "rebind-sweep"));
	assert_int_equal(conf_scenario_find(c, "rebind-race")->n_groups, 7);
	conf_free(c);
}

/* ---- one test per class of error ---- */

static void test_error_unknown_key(void **state)
{
	(void)state;
	expect_error(TOPOLOGY "[campaign c]\nscenario = s\ncylces = 5\n", -EINVAL,
		     "t.conf:8: [campaign c] cylces: unknown key");
	expect_error(TOPOLOGY "[supplier s2]\ndriver = x\niommus = sysmmu-a\n", -EINVAL,
		     "t.conf:8: [supplier s2] iommus: not valid in [supplier] sections");
	expect_error("listen = 127.0.0.1:1\n[daemon]\n", -EINVAL,
		     "t.conf:1: listen: key outside of any section");
}

static void test_error_unknown_section(void **state)
{
	(void)state;
	expect_error(TOPOLOGY "[campain c]\n", -EINVAL,
		     "t.conf:6: [campain c]: unknown section (expected daemon, push, "
		     "target, consumer, supplier, load, scenario or campaign)");
	expect_error(TOPOLOGY "[target]\n", -EINVAL,
		     "t.conf:6: [target]: needs a name: "
		     "[target NAME]");
	expect_error(TOPOLOGY "[daemon main]\n", -EINVAL,
		     "t.conf:6: [daemon main]: [daemon] takes no name");
	expect_error(TOPOLOGY "[target a b]\n", -EINVAL,
		     "t.conf:6: [target a b]: a section name is one word");
	expect_error(TOPOLOGY "[target a\n", -EINVAL,
		     "t.conf:6: section header without ']'");
	expect_error(TOPOLOGY "[target a] kind = local\n", -EINVAL,
		     "t.conf:6: unexpected text after ']'");
}

static void test_error_syntax(void **state)
{
	(void)state;
	expect_error(TOPOLOGY "[campaign c]\nthis is not a key\n", -EINVAL,
		     "t.conf:7: expected '[section]' or 'key = value'");
	/* inih keeps going after a syntax error; the earlier line is reported */
	expect_error(TOPOLOGY "[campaign c]\nnot a key\ncylces = 1\n", -EINVAL,
		     "t.conf:7: expected '[section]' or 'key = value'");
	/* leading blanks never make a continuation line (inih's multi-line mode) */
	expect_error(TOPOLOGY "[scenario s]\nstep = unbind decon\n   unbind sysmmu-a\n",
		     -EINVAL, "t.conf:8: expected '[section]' or 'key = value'");
}

static void test_error_long_line(void **state)
{
	char text[600];

	(void)state;
	snprintf(text, sizeof(text), TOPOLOGY "[load l]\nstress-ng = %0250d\n", 7);
	expect_error(text, -EINVAL, "t.conf:7: line is longer than 197 characters");
	snprintf(text, sizeof(text), TOPOLOGY "[load l]\nstress-ng = %0180d\n", 7);
	conf_free(expect_ok("t.conf", text));
}

static void test_error_bad_duration(void **state)
{
	(void)state;
	expect_error(TOPOLOGY "[campaign c]\nsettle = fast\n", -EINVAL,
		     "t.conf:7: [campaign c] settle: 'fast' is not a valid duration "
		     "(e.g. 250us, 20ms, 1.5s)");
	expect_error(
		TOPOLOGY "[campaign c]\ndeadline = 7200s\n", -EINVAL,
		"t.conf:7: [campaign c] deadline: '7200s' is out of range 1ms..3600s");
	expect_error(TOPOLOGY "[scenario s]\nstep = sleep forever\n", -EINVAL,
		     "t.conf:7: [scenario s] step: 'forever' is not a valid duration "
		     "(e.g. 250us, 20ms, 1.5s)");
	expect_error(TOPOLOGY "[scenario s]\nstep = probe decon @61s\n", -EINVAL,
		     "t.conf:7: [scenario s] step: '61s' is out of range 0..60s");
	expect_error(
		TOPOLOGY "[target q]\nboot-timeout = 500ms\n", -EINVAL,
		"t.conf:7: [target q] boot-timeout: '500ms' is out of range 1s..3600s");
}

static void test_error_out_of_range(void **state)
{
	(void)state;
	expect_error(
		TOPOLOGY "[campaign sweep]\ncycles = 0\n", -EINVAL,
		"t.conf:7: [campaign sweep] cycles: '0' is out of range 1..10000000");
	expect_error(TOPOLOGY "[campaign sweep]\ncycles = 10000001\n", -EINVAL,
		     "t.conf:7: [campaign sweep] cycles: '10000001' is out of range "
		     "1..10000000");
	expect_error(TOPOLOGY "[campaign sweep]\ncycles = lots\n", -EINVAL,
		     "t.conf:7: [campaign sweep] cycles: 'lots' is not an integer");
	expect_error(
		TOPOLOGY "[campaign sweep]\nsweep = offset 0 300ms 1\n", -EINVAL,
		"t.conf:7: [campaign sweep] sweep: steps '1' is out of range 2..100000");
	expect_error(TOPOLOGY "[campaign sweep]\nsweep = offset 0 300ms\n", -EINVAL,
		     "t.conf:7: [campaign sweep] sweep: expected 'NAME FROM TO STEPS' "
		     "(e.g. offset 0 300ms 20)");
	expect_error(TOPOLOGY "[daemon]\ncrash-safe = maybe\n", -EINVAL,
		     "t.conf:7: [daemon] crash-safe: 'maybe' is not a boolean "
		     "(yes/no, true/false, on/off, 1/0)");
	expect_error(TOPOLOGY "[campaign sweep]\non-wedged = ignore\n", -EINVAL,
		     "t.conf:7: [campaign sweep] on-wedged: 'ignore' is not one of: "
		     "reboot, abort, continue");
	expect_error(TOPOLOGY "[campaign sweep]\nmax-reboots = -1\n", -EINVAL,
		     "t.conf:7: [campaign sweep] max-reboots: '-1' is out of range "
		     "0..1000000");
	expect_error(TOPOLOGY "[target q]\nkind = kvm\n", -EINVAL,
		     "t.conf:7: [target q] kind: 'kvm' is not one of: local, qemu");
	expect_error(TOPOLOGY "[daemon]\nlisten = 8080\n", -EINVAL,
		     "t.conf:7: [daemon] listen: '8080' is not HOST:PORT (e.g. "
		     "127.0.0.1:8080)");
	expect_error(
		TOPOLOGY "[daemon]\ndatabase = probestorm.db\n", -EINVAL,
		"t.conf:7: [daemon] database: 'probestorm.db' is not an absolute path");
	expect_error(TOPOLOGY "[campaign c]\nschedule = daily 24:00\n", -EINVAL,
		     "t.conf:7: [campaign c] schedule: 'daily 24:00' is not 'boot' or "
		     "'daily HH:MM'");
}

static void test_error_missing_required(void **state)
{
	(void)state;
	expect_error(TOPOLOGY "[consumer x]\nbus = platform\n", -EINVAL,
		     "t.conf:6: [consumer x] driver: required key is missing");
	/* `driver =` means unset */
	expect_error(TOPOLOGY "[supplier y]\ndriver =\n", -EINVAL,
		     "t.conf:6: [supplier y] driver: required key is missing");
	expect_error(TOPOLOGY "[campaign c]\ncycles = 5\n", -EINVAL,
		     "t.conf:6: [campaign c] scenario: required key is missing");
	expect_error(TOPOLOGY "[load l]\nper-cycle = yes\n", -EINVAL,
		     "t.conf:6: [load l] stress-ng: required key is missing");
	expect_error(TOPOLOGY "[scenario s]\ndescription = nothing\n", -EINVAL,
		     "t.conf:6: [scenario s] step: a scenario needs steps");
}

static void test_error_references(void **state)
{
	(void)state;
	expect_error(TOPOLOGY "[scenario s]\nstep = unbind decon\nstep = probe decn\n",
		     -EINVAL,
		     "t.conf:8: [scenario s] step: unknown device 'decn' "
		     "(no [consumer decn] or [supplier decn])");
	expect_error(TOPOLOGY "[scenario s]\n"
			      "step = concurrent bind sysmmu-a, probe ghost @1ms\n",
		     -EINVAL,
		     "t.conf:7: [scenario s] step: unknown device 'ghost' "
		     "(no [consumer ghost] or [supplier ghost])");
	expect_error(TOPOLOGY "[scenario s]\nstep = unbind decon\n"
			      "[campaign c]\nscenario = t\n",
		     -EINVAL, "t.conf:9: [campaign c] scenario: unknown scenario 't'");
	expect_error(TOPOLOGY "[scenario s]\nstep = unbind decon\n"
			      "[campaign c]\nscenario = s\ntarget = board\n",
		     -EINVAL, "t.conf:10: [campaign c] target: unknown target 'board'");
	expect_error(TOPOLOGY "[scenario s]\nstep = unbind decon\n"
			      "[campaign c]\nscenario = s\nload = heavy\n",
		     -EINVAL, "t.conf:10: [campaign c] load: unknown load 'heavy'");
	expect_error(TOPOLOGY "[consumer d2]\ndriver = x\niommus = sysmmu-a decon\n",
		     -EINVAL,
		     "t.conf:8: [consumer d2] iommus: 'decon' is not a [supplier]");
	expect_error(TOPOLOGY "[daemon]\nautostart = nightly\n", -EINVAL,
		     "t.conf:7: [daemon] autostart: unknown campaign 'nightly'");
	expect_error(
		TOPOLOGY "[consumer d2]\ndriver = x\ndevice = decon\n", -EINVAL,
		"t.conf:8: [consumer d2] device: platform/decon is already [consumer "
		"decon]");
}

static void test_error_bad_names(void **state)
{
	(void)state;
	expect_error(
		TOPOLOGY "[scenario s]\nstep = unbind ../decon\n", -EINVAL,
		"t.conf:7: [scenario s] step: invalid device name '../decon' " NAME_RULE);
	expect_error(TOPOLOGY "[scenario s]\nstep = wait-bound ..\n", -EINVAL,
		     "t.conf:7: [scenario s] step: invalid device name '..' " NAME_RULE);
	expect_error(
		TOPOLOGY "[consumer x]\ndriver = d\ndevice = soc/decon\n", -EINVAL,
		"t.conf:8: [consumer x] device: invalid name 'soc/decon' " NAME_RULE);
	expect_error(TOPOLOGY "[consumer x]\ndriver = ..\n", -EINVAL,
		     "t.conf:7: [consumer x] driver: invalid name '..' " NAME_RULE);
	expect_error(TOPOLOGY "[consumer ..]\n", -EINVAL,
		     "t.conf:6: [consumer ..]: invalid name '..' " NAME_RULE);
	expect_error(TOPOLOGY "[supplier a/b]\n", -EINVAL,
		     "t.conf:6: [supplier a/b]: invalid name 'a/b' " NAME_RULE);
	expect_error(TOPOLOGY "[consumer x]\ndriver = d\nmodule = ../m\n", -EINVAL,
		     "t.conf:8: [consumer x] module: invalid module name '../m' "
		     "(letters, digits, '_', '-')");
	expect_error(TOPOLOGY "[scenario s]\nstep = modprobe -r\n", -EINVAL,
		     "t.conf:7: [scenario s] step: invalid module name '-r' "
		     "(letters, digits, '_', '-')");
	expect_error(TOPOLOGY "[scenario s]\nstep = rmmod a/b\n", -EINVAL,
		     "t.conf:7: [scenario s] step: invalid module name 'a/b' "
		     "(letters, digits, '_', '-')");
	expect_error(
		TOPOLOGY "[scenario s]\nstep = insmod ps_decon.ko\n", -EINVAL,
		"t.conf:7: [scenario s] step: insmod path 'ps_decon.ko' must be absolute "
		"and must not contain '..'");
	expect_error(
		TOPOLOGY "[scenario s]\nstep = insmod /lib/../tmp/x.ko\n", -EINVAL,
		"t.conf:7: [scenario s] step: insmod path '/lib/../tmp/x.ko' must be "
		"absolute and must not contain '..'");
	expect_error(TOPOLOGY "[scenario s]\nstep = modprobe m -x=1\n", -EINVAL,
		     "t.conf:7: [scenario s] step: invalid module parameter '-x=1' "
		     "(expected key=value)");
	expect_error(TOPOLOGY "[daemon]\nautostart = a, ../b\n", -EINVAL,
		     "t.conf:7: [daemon] autostart: invalid name '../b' in list");
}

static void test_error_step_grammar(void **state)
{
	(void)state;
	expect_error(
		TOPOLOGY "[scenario s]\nstep = rebind decon\n", -EINVAL,
		"t.conf:7: [scenario s] step: unknown step 'rebind' (expected unbind, "
		"bind, "
		"probe, insmod, modprobe, rmmod, sleep, wait-bound, reboot or "
		"concurrent)");
	expect_error(TOPOLOGY "[scenario s]\nstep = unbind decon sysmmu-a\n", -EINVAL,
		     "t.conf:7: [scenario s] step: 'unbind' takes a device name");
	expect_error(
		TOPOLOGY "[scenario s]\nstep = probe @1ms decon\n", -EINVAL,
		"t.conf:7: [scenario s] step: offset '@1ms' must be the last word of "
		"a step");
	expect_error(
		TOPOLOGY "[scenario s]\nstep = concurrent bind decon, , probe decon\n",
		-EINVAL, "t.conf:7: [scenario s] step: empty step in a concurrent group");
	expect_error(TOPOLOGY
		     "[scenario s]\nstep = concurrent bind decon, concurrent x\n",
		     -EINVAL,
		     "t.conf:7: [scenario s] step: 'concurrent' must start the line and "
		     "cannot "
		     "be nested");
	expect_error(
		TOPOLOGY "[scenario s]\nstep = probe decon @${off set}\n", -EINVAL,
		"t.conf:7: [scenario s] step: offset '@${off' must be the last word of a "
		"step");
	expect_error(
		TOPOLOGY "[scenario s]\nstep = probe decon @$offset\n", -EINVAL,
		"t.conf:7: [scenario s] step: '@$offset' is not an offset or @${NAME}");
	expect_error(
		TOPOLOGY
		"[scenario s]\nstep = probe decon @${a}\nstep = probe decon @${b}\n",
		-EINVAL,
		"t.conf:8: [scenario s] step: uses @${b} but earlier steps use @${a}; a "
		"campaign sweeps one variable");
	expect_error(TOPOLOGY "[scenario s]\nstep =\n", -EINVAL,
		     "t.conf:7: [scenario s] step: empty step");
}

static void test_error_sweep(void **state)
{
	(void)state;
	/* a scenario using @${offset} needs a sweep in every campaign that runs it */
	expect_error(TOPOLOGY
		     "[scenario race]\nstep = probe decon @${offset}\n"
		     "[campaign ok]\nscenario = race\nsweep = offset 0 300ms 20\n"
		     "[campaign c]\nscenario = race\n",
		     -EINVAL,
		     "t.conf:12: [campaign c] scenario: 'race' uses @${offset}, so the "
		     "campaign needs 'sweep = offset FROM TO STEPS'");
	expect_error(TOPOLOGY "[scenario race]\nstep = probe decon @${offset}\n"
			      "[campaign c]\nscenario = race\nsweep = delay 0 300ms 20\n",
		     -EINVAL,
		     "t.conf:10: [campaign c] sweep: scenario 'race' does not use "
		     "@${delay}");
	expect_error(TOPOLOGY
		     "[scenario plain]\nstep = probe decon @1ms\n"
		     "[campaign c]\nscenario = plain\nsweep = offset 0 300ms 20\n",
		     -EINVAL,
		     "t.conf:10: [campaign c] sweep: scenario 'plain' does not use "
		     "@${offset}");
	/* unused scenarios need no sweep */
	conf_free(expect_ok("t.conf",
			    TOPOLOGY "[scenario race]\nstep = probe decon @${x}\n"));
}

static void test_error_reboot(void **state)
{
	(void)state;
	expect_error(TOPOLOGY "[scenario s]\nstep = unbind decon\nstep = reboot\n"
			      "step = bind decon\n",
		     -EINVAL,
		     "t.conf:9: [scenario s] step: 'reboot' must be the last step "
		     "(line 8)");
	expect_error(
		TOPOLOGY "[scenario s]\nstep = concurrent reboot, bind decon\n", -EINVAL,
		"t.conf:7: [scenario s] step: 'reboot' cannot be part of a concurrent "
		"group");
	expect_error(TOPOLOGY "[scenario s]\nstep = reboot now\n", -EINVAL,
		     "t.conf:7: [scenario s] step: 'reboot' takes no arguments");
}

static void test_error_duplicates(void **state)
{
	(void)state;
	expect_error(TOPOLOGY "[consumer decon]\ndriver = other\n", -EINVAL,
		     "t.conf:6: [consumer decon]: duplicate section (first at line 1)");
	expect_error(TOPOLOGY "[supplier decon]\n", -EINVAL,
		     "t.conf:6: [supplier decon]: 'decon' is already defined as "
		     "[consumer decon] (t.conf:1)");
	expect_error("[daemon]\n" TOPOLOGY "[daemon]\n", -EINVAL,
		     "t.conf:7: [daemon]: duplicate section (first at line 1)");
	expect_error(TOPOLOGY "[campaign c]\ncycles = 1\ncycles = 2\n", -EINVAL,
		     "t.conf:8: [campaign c] cycles: set twice in this section (first at "
		     "line 7)");
	/* the same name in different kinds of sections is fine */
	conf_free(expect_ok("t.conf", TOPOLOGY "[scenario decon]\nstep = unbind decon\n"
					       "[campaign decon]\nscenario = decon\n"
					       "[target decon]\n"));
}

static void test_error_target_kind(void **state)
{
	(void)state;
	expect_error(TOPOLOGY "[target t]\ncmdline = quiet\n", -EINVAL,
		     "t.conf:7: [target t] cmdline: only valid with kind = qemu");
	expect_error(TOPOLOGY "[target t]\nsysroot = /tmp/x\nkind = qemu\n", -EINVAL,
		     "t.conf:7: [target t] sysroot: only valid with kind = local");
	expect_error(
		TOPOLOGY "[daemon]\ntoken = a\ntoken-file = /etc/t\n", -EINVAL,
		"t.conf:8: [daemon] token-file: 'token' and 'token-file' exclude each "
		"other");
}

static void test_error_output_untouched(void **state)
{
	struct conf *c = SENTINEL;

	(void)state;
	/* ret_error may be NULL */
	assert_int_equal(conf_load_string("t.conf", "[nope]\n", &c, NULL), -EINVAL);
	assert_ptr_equal(c, SENTINEL);
}

/* ---- files and drop-ins ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *dir)
{
	assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *make_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = strprintf("%s/test-conf.XXXXXX", tmp && *tmp ? tmp : "/tmp");

	assert_non_null(mkdtemp(dir));
	return dir;
}

/* conf_load() fails with err and the message printf(fmt, ...), leaving ret alone. */
_printf_(4, 5) static void expect_load_error(const char *main_path, const char *dir,
					     int err, const char *fmt, ...)
{
	_cleanup_free_ char *want = NULL;
	struct conf *c = SENTINEL;
	char *e = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&want, fmt, ap);
	va_end(ap);
	assert_true(r >= 0);
	assert_int_equal(conf_load(main_path, dir, &c, &e), err);
	assert_ptr_equal(c, SENTINEL);
	assert_non_null(e);
	assert_string_equal(e, want);
	free(e);
}

static void test_dropins(void **state)
{
	_cleanup_free_ char *dir = make_tmpdir(), *main_path = NULL, *dropins = NULL;
	_cleanup_free_ char *bad = NULL, *sub = NULL;
	const struct conf_scenario *s;
	const struct conf_campaign *k;
	struct conf *c = NULL;
	char *e = NULL;

	(void)state;
	main_path = strprintf("%s/probestorm.conf", dir);
	dropins = strprintf("%s/conf.d", dir);
	bad = strprintf("%s/30-bad.conf", dropins);
	sub = strprintf("%s/40-dir.conf", dropins);
	assert_true(main_path && dropins && bad && sub);
	write_file(dir, "probestorm.conf", example);

	/* a missing drop-in directory is fine */
	assert_int_equal(conf_load(main_path, dropins, &c, &e), 0);
	assert_int_equal(conf_campaign_find(c, "rebind-sweep")->cycles, 200);
	conf_free(c);

	assert_int_equal(mkdir(dropins, 0755), 0);
	write_file(dropins, "20-later.conf",
		   "[campaign rebind-sweep]\n"
		   "cycles = 700\n"
		   "settle =\n");
	write_file(dropins, "10-override.conf",
		   "; re-open sections defined in the main file\n"
		   "[campaign rebind-sweep]\n"
		   "cycles = 500\n"
		   "sweep = delay 1ms 2ms 2\n"
		   "[scenario rebind-race]\n"
		   "step = unbind decon\n"
		   "step = probe decon @${delay}\n"
		   "[consumer decon]\n"
		   "expect-iommu = no\n"
		   "[consumer extra]\n"
		   "driver = ps-decon\n");
	write_file(dropins, ".hidden.conf", "this would be a syntax error\n");
	write_file(dropins, "README", "not a .conf file, ignored\n");

	c = NULL;
	if (conf_load(main_path, dropins, &c, &e) < 0)
		fail_msg("%s", e);
	k = conf_campaign_find(c, "rebind-sweep");
	assert_int_equal(k->cycles, 700); /* 20-later.conf comes after 10-override.conf */
	assert_int_equal(k->settle_us, 0); /* `settle =` restored the default */
	assert_string_equal(k->sweep_var, "delay");
	assert_int_equal(k->sweep_from_us, 1000);
	assert_int_equal(k->sweep_to_us, 2000);
	assert_int_equal(k->sweep_steps, 2);
	assert_string_equal(k->load, "cpu-half"); /* keys not set again are kept */
	s = conf_scenario_find(c, "rebind-race");
	assert_int_equal(s->n_groups,
			 2); /* the drop-in's steps replace the earlier ones */
	assert_int_equal(s->groups[0].line, 6);
	assert_true(s->groups[1].steps[0].offset_is_sweep);
	assert_string_equal(s->text, "unbind decon\nprobe decon @${delay}");
	assert_string_equal(
		s->description,
		"Re-probe both consumers while the second SysMMU is still binding");
	assert_false(conf_device_find(c, "decon")->expect_iommu);
	assert_string_equal(conf_device_find(c, "decon")->driver, "ps-decon");
	assert_non_null(conf_device_find(c, "extra"));
	assert_int_equal(c->n_devices, 5);
	conf_free(c);

	/* errors name the drop-in file */
	write_file(dropins, "30-bad.conf", "[campaign rebind-sweep]\n\ncylces = 3\n");
	expect_load_error(main_path, dropins, -EINVAL,
			  "%s:3: [campaign rebind-sweep] cylces: unknown key", bad);

	/* a drop-in may re-open a section once, and only as the same kind */
	write_file(dropins, "30-bad.conf",
		   "[consumer decon]\n"
		   "[campaign x]\n"
		   "scenario = rebind-race\n"
		   "[consumer decon]\n");
	expect_load_error(main_path, dropins, -EINVAL,
			  "%s:4: [consumer decon]: duplicate section (first at line 1)",
			  bad);
	write_file(dropins, "30-bad.conf", "[supplier decon-ctl]\n");
	expect_load_error(main_path, dropins, -EINVAL,
			  "%s:1: [supplier decon-ctl]: 'decon-ctl' is already defined as "
			  "[consumer decon-ctl] (%s:18)",
			  bad, main_path);

	/* a drop-in does not continue the previous file's last section */
	write_file(dropins, "30-bad.conf", "cycles = 3\n");
	expect_load_error(main_path, dropins, -EINVAL,
			  "%s:1: cycles: key outside of any section", bad);

	/* references are checked after all files: here a drop-in drops the @${delay} that
	 * an earlier drop-in's sweep relies on */
	write_file(dropins, "30-bad.conf",
		   "[scenario rebind-race]\nstep = probe decon\n");
	expect_load_error(
		main_path, dropins, -EINVAL,
		"%s/10-override.conf:4: [campaign rebind-sweep] sweep: scenario "
		"'rebind-race' does not use @${delay}",
		dropins);
	assert_int_equal(unlink(bad), 0);

	/* a drop-in that cannot be read is an error */
	assert_int_equal(mkdir(sub, 0755), 0);
	expect_load_error(main_path, dropins, -EISDIR, "%s: cannot read: %s", sub,
			  strerror(EISDIR));
	assert_int_equal(rmdir(sub), 0);

	/* so is a drop-in "directory" that is not one */
	expect_load_error(main_path, main_path, -ENOTDIR, "%s: cannot open directory: %s",
			  main_path, strerror(ENOTDIR));
	rm_rf(dir);
}

static void test_load_missing_file(void **state)
{
	_cleanup_free_ char *dir = make_tmpdir(), *path = NULL;
	FILE *f;

	(void)state;
	path = strprintf("%s/probestorm.conf", dir);
	assert_non_null(path);
	expect_load_error(path, NULL, -ENOENT, "%s: cannot read: %s", path,
			  strerror(ENOENT));

	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite("[daemon]\n\0\n", 1, 11, f), 11);
	assert_int_equal(fclose(f), 0);
	expect_load_error(path, NULL, -EINVAL, "%s: contains a NUL byte", path);
	rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_values),
		cmocka_unit_test(test_defaults_and_syntax),
		cmocka_unit_test(test_shipped_examples),
		cmocka_unit_test(test_error_unknown_key),
		cmocka_unit_test(test_error_unknown_section),
		cmocka_unit_test(test_error_syntax),
		cmocka_unit_test(test_error_long_line),
		cmocka_unit_test(test_error_bad_duration),
		cmocka_unit_test(test_error_out_of_range),
		cmocka_unit_test(test_error_missing_required),
		cmocka_unit_test(test_error_references),
		cmocka_unit_test(test_error_bad_names),
		cmocka_unit_test(test_error_step_grammar),
		cmocka_unit_test(test_error_sweep),
		cmocka_unit_test(test_error_reboot),
		cmocka_unit_test(test_error_duplicates),
		cmocka_unit_test(test_error_target_kind),
		cmocka_unit_test(test_error_output_untouched),
		cmocka_unit_test(test_dropins),
		cmocka_unit_test(test_load_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
