/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Configuration parser (conf.h): one main file plus the drop-ins conf.d/NAME.conf, read
 * with inih through a line reader of our own (conf_reader), which does what Debian's
 * libinih (55) cannot be asked to. Its /usr/include/ini.h defaults INI_HANDLER_LINENO and
 * INI_CALL_HANDLER_ON_NEW_SECTION to 0, inih.pc adds no -D, and unlike the other options
 * neither has a run-time switch (ini_call_handler_on_new_section is commented out there):
 * the handler gets no line number and is never told that a section began. So the reader
 * counts lines (for the file:line of every error) and opens each "[section]" itself, so
 * that empty sections exist and a header repeated in one file is an error instead of being
 * merged into the first. It also strips leading blanks (so inih's multi-line continuation
 * never applies, whatever it was built with). Keys are parsed through one table of
 * (section kinds, key, typed parser with bounds, field offset, default). Cross-references
 * are checked after all files are read. Nothing here logs or reads sysfs (the topology
 * check is kernel/topology.c): the first error becomes a "file:line: [section] key:
 * message" string.
 *
 * Drop-in rule: a section name may appear once per file. A drop-in may re-open a section
 * defined earlier (main file or an earlier drop-in, same kind) and set keys again; each
 * key replaces the earlier value, and the first `step =` of a re-opened scenario replaces
 * all of its earlier steps.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "macro.h"
#include "util.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#if INI_HANDLER_LINENO
#error "conf.c expects inih's handler without a line number (the reader counts lines)"
#endif

#define CONF_FILE_MAX	    (1024 * 1024)
#define CONF_OFFSET_MAX_US  (60 * USEC_PER_SEC)
#define CONF_HOUR_US	    (3600 * USEC_PER_SEC)
#define CONF_STEP_WORDS_MAX 32
#define CONF_NAME_RULE	    "(one path component: no '/', no blanks, not '.' or '..')"

enum conf_kind {
	CONF_DAEMON,
	CONF_TARGET,
	CONF_CONSUMER,
	CONF_SUPPLIER,
	CONF_LOAD,
	CONF_SCENARIO,
	CONF_CAMPAIGN,
	CONF_PUSH,
	_CONF_KIND_MAX,
};

#define K(kind)	 (1u << (kind))
#define K_DEVICE (K(CONF_CONSUMER) | K(CONF_SUPPLIER))
/* Sections that exist once, without a name, and live directly in struct conf. */
#define K_SINGLE (K(CONF_DAEMON) | K(CONF_PUSH))

/* Where each kind of section lives in struct conf (every item struct starts with name). */
struct conf_kind_info {
	const char *name;
	size_t array; /* offsetof(struct conf, <array>) */
	size_t count; /* offsetof(struct conf, n_<array>) */
	size_t size;  /* sizeof one item */
};

#define CONF_ARRAY(field, type)                \
	.array = offsetof(struct conf, field), \
	.count = offsetof(struct conf, n_##field), .size = sizeof(type)

static const struct conf_kind_info conf_kinds[_CONF_KIND_MAX] = {
	[CONF_DAEMON] = { .name = "daemon" },
	[CONF_TARGET] = { .name = "target", CONF_ARRAY(targets, struct conf_target) },
	[CONF_CONSUMER] = { .name = "consumer", CONF_ARRAY(devices, struct conf_device) },
	[CONF_SUPPLIER] = { .name = "supplier", CONF_ARRAY(devices, struct conf_device) },
	[CONF_LOAD] = { .name = "load", CONF_ARRAY(loads, struct conf_load) },
	[CONF_SCENARIO] = { .name = "scenario",
			    CONF_ARRAY(scenarios, struct conf_scenario) },
	[CONF_CAMPAIGN] = { .name = "campaign",
			    CONF_ARRAY(campaigns, struct conf_campaign) },
	[CONF_PUSH] = { .name = "push" },
};

struct conf_parser;
struct conf_key;
/* Parses value into field; on failure records the error in the parser and returns it. An
 * empty value means "unset" (the handler substitutes the key's default first, if any). */
typedef int (*conf_parse_fn)(struct conf_parser *p, const struct conf_key *k,
			     const char *value, void *field);

struct conf_key {
	unsigned kinds; /* K() mask of the sections that accept it */
	const char *key;
	conf_parse_fn parse;
	size_t offset;	  /* of the field in the section's struct (0: whole item) */
	int64_t min, max; /* bounds of integers and durations */
	const char *def;  /* default, parsed when the section is created; NULL = unset */
	const char *const *choices; /* conf_parse_choice */
	bool repeat;		    /* may appear more than once per section (step) */
};

struct conf_origin {
	const char *file; /* owned by the parser's file list */
	unsigned line;	  /* 0 = never set */
};

static int conf_parse_string(struct conf_parser *p, const struct conf_key *k,
			     const char *value, void *field);
static int conf_parse_name(struct conf_parser *p, const struct conf_key *k,
			   const char *value, void *field);
static int conf_parse_module(struct conf_parser *p, const struct conf_key *k,
			     const char *value, void *field);
static int conf_parse_path(struct conf_parser *p, const struct conf_key *k,
			   const char *value, void *field);
static int conf_parse_choice(struct conf_parser *p, const struct conf_key *k,
			     const char *value, void *field);
static int conf_parse_list(struct conf_parser *p, const struct conf_key *k,
			   const char *value, void *field);
static int conf_parse_boolean(struct conf_parser *p, const struct conf_key *k,
			      const char *value, void *field);
static int conf_parse_int(struct conf_parser *p, const struct conf_key *k,
			  const char *value, void *field);
static int conf_parse_duration(struct conf_parser *p, const struct conf_key *k,
			       const char *value, void *field);
static int conf_parse_listen(struct conf_parser *p, const struct conf_key *k,
			     const char *value, void *field);
static int conf_parse_schedule(struct conf_parser *p, const struct conf_key *k,
			       const char *value, void *field);
static int conf_parse_sweep(struct conf_parser *p, const struct conf_key *k,
			    const char *value, void *field);
static int conf_parse_step(struct conf_parser *p, const struct conf_key *k,
			   const char *value, void *field);
static int conf_parse_url(struct conf_parser *p, const struct conf_key *k,
			  const char *value, void *field);

static const char *const conf_target_kinds[] = { "local", "qemu", NULL };
static const char *const conf_on_wedged[] = { "reboot", "abort", "continue", NULL };

#define KEY(kinds_, key_, parse_, offset_, ...)                      \
	{                                                            \
		.kinds = (kinds_), .key = (key_), .parse = (parse_), \
		.offset = (offset_), __VA_ARGS__                     \
	}
#define F(type, field)	offsetof(type, field)
#define DAEMON(field)	F(struct conf_daemon, field)
#define TARGET(field)	F(struct conf_target, field)
#define DEVICE(field)	F(struct conf_device, field)
#define LOAD(field)	F(struct conf_load, field)
#define CAMPAIGN(field) F(struct conf_campaign, field)
#define PUSH(field)	F(struct conf_push, field)

/* Every key: sections, name, parser, field (0 = the whole item), bounds, default. The
 * defaults are parsed like values when a section is created; `key =` restores them. */
static const struct conf_key conf_keys[] = {
	KEY(K(CONF_DAEMON), "database", conf_parse_path, DAEMON(database),
	    .def = LOCALSTATEDIR "/lib/probestorm/probestorm.db"),
	KEY(K(CONF_DAEMON), "listen", conf_parse_listen, DAEMON(listen),
	    .def = "127.0.0.1:8080"),
	KEY(K(CONF_DAEMON), "token", conf_parse_string, DAEMON(token)),
	KEY(K(CONF_DAEMON), "token-file", conf_parse_path, DAEMON(token_file)),
	KEY(K(CONF_DAEMON), "autostart", conf_parse_list, DAEMON(autostart), .def = ""),
	KEY(K(CONF_DAEMON), "stream", conf_parse_path, DAEMON(stream)),
	KEY(K(CONF_DAEMON), "crash-safe", conf_parse_boolean, DAEMON(crash_safe),
	    .def = "yes"),
	KEY(K(CONF_DAEMON), "label", conf_parse_string, DAEMON(label)),
	/* How the runner reboots a wedged rig (on-wedged = reboot); run with /bin/sh -c. */
	KEY(K(CONF_DAEMON), "reboot-command", conf_parse_string, DAEMON(reboot_command),
	    .def = "systemctl reboot"),
	/* How long a reboot may take after reboot-command returned before the daemon falls
	 * back to reboot(2); longer than the unit's TimeoutStopSec= (a shutdown waits for a
	 * cycle in flight). */
	KEY(K(CONF_DAEMON), "reboot-timeout", conf_parse_duration,
	    DAEMON(reboot_timeout_us), .min = USEC_PER_SEC, .max = CONF_HOUR_US,
	    .def = "300s"),

	KEY(K(CONF_TARGET), "kind", conf_parse_choice, TARGET(kind), .def = "local",
	    .choices = conf_target_kinds),
	KEY(K(CONF_TARGET), "sysroot", conf_parse_path, TARGET(sysroot)),
	KEY(K(CONF_TARGET), "cmdline", conf_parse_string, TARGET(cmdline)),
	KEY(K(CONF_TARGET), "variants", conf_parse_list, TARGET(variants), .def = ""),
	KEY(K(CONF_TARGET), "boot-timeout", conf_parse_duration, TARGET(boot_timeout_us),
	    .min = USEC_PER_SEC, .max = CONF_HOUR_US, .def = "120s"),

	KEY(K_DEVICE, "bus", conf_parse_name, DEVICE(bus), .def = "platform"),
	KEY(K_DEVICE, "device", conf_parse_name, DEVICE(device)),
	KEY(K_DEVICE, "driver", conf_parse_name, DEVICE(driver)),
	KEY(K_DEVICE, "module", conf_parse_module, DEVICE(module)),
	KEY(K(CONF_CONSUMER), "iommus", conf_parse_list, DEVICE(iommus), .def = ""),
	KEY(K(CONF_CONSUMER), "expect-iommu", conf_parse_boolean, DEVICE(expect_iommu),
	    .def = "yes"),
	/* Group types that count as translated; "identity" where bypass is the design (the
	 * simulated SysMMU), "any" to accept every type. */
	KEY(K(CONF_CONSUMER), "expect-domain", conf_parse_string, DEVICE(expect_domain),
	    .def = "DMA DMA-FQ"),

	KEY(K(CONF_LOAD), "stress-ng", conf_parse_string, LOAD(stress_args)),
	KEY(K(CONF_LOAD), "per-cycle", conf_parse_boolean, LOAD(per_cycle), .def = "no"),

	KEY(K(CONF_SCENARIO), "description", conf_parse_string,
	    F(struct conf_scenario, description)),
	KEY(K(CONF_SCENARIO), "step", conf_parse_step, 0, .repeat = true),

	KEY(K(CONF_CAMPAIGN), "target", conf_parse_name, CAMPAIGN(target)),
	KEY(K(CONF_CAMPAIGN), "scenario", conf_parse_name, CAMPAIGN(scenario)),
	KEY(K(CONF_CAMPAIGN), "cycles", conf_parse_int, CAMPAIGN(cycles), .min = 1,
	    .max = 10000000, .def = "100"),
	KEY(K(CONF_CAMPAIGN), "sweep", conf_parse_sweep, 0),
	KEY(K(CONF_CAMPAIGN), "action-timeout", conf_parse_duration,
	    CAMPAIGN(action_timeout_us), .min = 1000, .max = CONF_HOUR_US, .def = "5s"),
	KEY(K(CONF_CAMPAIGN), "deadline", conf_parse_duration, CAMPAIGN(deadline_us),
	    .min = 1000, .max = CONF_HOUR_US, .def = "2s"),
	KEY(K(CONF_CAMPAIGN), "settle", conf_parse_duration, CAMPAIGN(settle_us),
	    .min = 0, .max = CONF_HOUR_US, .def = "0"),
	KEY(K(CONF_CAMPAIGN), "load", conf_parse_name, CAMPAIGN(load)),
	KEY(K(CONF_CAMPAIGN), "schedule", conf_parse_schedule, CAMPAIGN(schedule)),
	KEY(K(CONF_CAMPAIGN), "max-consecutive-hangs", conf_parse_int,
	    CAMPAIGN(max_consecutive_hangs), .min = 0, .max = 1000000, .def = "3"),
	/* After a hung action or probe, or an oops, the driver core is wedged (a device lock
	 * is held for good): reboot and go on in a fresh boot (DESIGN.md), end the run as
	 * aborted, or carry on in the same boot as before (max-consecutive-hangs ends it). */
	KEY(K(CONF_CAMPAIGN), "on-wedged", conf_parse_choice, CAMPAIGN(on_wedged),
	    .def = "reboot", .choices = conf_on_wedged),
	KEY(K(CONF_CAMPAIGN), "max-reboots", conf_parse_int, CAMPAIGN(max_reboots),
	    .min = 0, .max = 1000000, .def = "10"),
	/* SCHED_FIFO workers and locked memory (as root, on a real kernel, where the clock
	 * allows a short spin; kernel/action.c). Off by default: under QEMU it made the
	 * tail of the start lateness 5-10x worse (docs/qemu-kit.md); real rigs unmeasured. */
	KEY(K(CONF_CAMPAIGN), "realtime", conf_parse_boolean, CAMPAIGN(realtime),
	    .def = "no"),

	KEY(K(CONF_PUSH), "url", conf_parse_url, PUSH(url)),
	KEY(K(CONF_PUSH), "token", conf_parse_string, PUSH(token)),
	KEY(K(CONF_PUSH), "token-file", conf_parse_path, PUSH(token_file)),
	KEY(K(CONF_PUSH), "ca-file", conf_parse_path, PUSH(ca_file)),
	KEY(K(CONF_PUSH), "timeout", conf_parse_duration, PUSH(timeout_us),
	    .min = 100 * 1000, .max = CONF_HOUR_US, .def = "30s"),
	KEY(K(CONF_PUSH), "interval", conf_parse_duration, PUSH(interval_us), .min = 0,
	    .max = 24 * CONF_HOUR_US, .def = "60s"),
	KEY(K(CONF_PUSH), "spool-dir", conf_parse_path, PUSH(spool_dir),
	    .def = LOCALSTATEDIR "/lib/probestorm/spool"),
	KEY(K(CONF_PUSH), "max-backoff", conf_parse_duration, PUSH(max_backoff_us),
	    .min = 100 * 1000, .max = 24 * CONF_HOUR_US, .def = "5min"),
};

#define N_KEYS ARRAY_SIZE(conf_keys)
_Static_assert(N_KEYS <= 64, "cur_seen is a 64-bit mask over conf_keys");

/* Parser-side facts about one section (one per item, in definition order). */
struct conf_meta {
	enum conf_kind kind;
	size_t idx;		  /* index into the struct conf array of its kind */
	const char *name;	  /* owned by the item; NULL for [daemon] */
	struct conf_origin where; /* the first [header] */
	size_t opened_in;	  /* file that opened it last, and on which line */
	unsigned opened_line;
	struct conf_origin keys[N_KEYS]; /* where each key was last set */
	char *sweep_var; /* scenarios: NAME of the @${NAME} their steps use */
};

struct conf_parser {
	struct conf *c;
	char **files; /* names as given, for messages */
	size_t n_files;
	const char *text; /* the file being read */
	size_t len, pos;
	unsigned lineno;
	struct conf_meta *metas;
	size_t n_metas;
	ssize_t cur;	   /* open section (index into metas) or -1 */
	uint64_t cur_seen; /* keys set in this occurrence of the section */
	bool cur_steps;	   /* a step was set in this occurrence */
	int err;	   /* first error, 0 if none */
	unsigned err_line;
	char *error; /* its message (NULL if even that failed to allocate) */
};

/* ---- small helpers ---- */

static void strv_free(char **l)
{
	if (!l)
		return;
	for (char **s = l; *s; s++)
		free(*s);
	free(l);
}

static bool strv_contains(char *const *l, const char *s)
{
	for (; l && *l; l++)
		if (streq(*l, s))
			return true;
	return false;
}

static size_t strv_length(char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

static int conf_grow(void *array, size_t *n, size_t size)
{
	void **a = array;
	char *m;

	m = realloc(*a, (*n + 1) * size);
	if (!m)
		return -ENOMEM;
	memset(m + *n * size, 0, size);
	*a = m;
	(*n)++;
	return 0;
}

static bool conf_word_is_identifier(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* A module name as modprobe/rmmod take it: one path component of [A-Za-z0-9_-] that cannot
 * be mistaken for an option. */
static bool conf_module_is_valid(const char *s)
{
	if (!name_is_valid(s) || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* The kernel treats '-' and '_' in module names alike. */
static bool conf_module_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
			return false;
	return *a == *b;
}

static void conf_format_duration(char *buf, size_t size, int64_t us)
{
	if (us == 0)
		snprintf(buf, size, "0");
	else if (us % USEC_PER_SEC == 0)
		snprintf(buf, size, "%llds", (long long)(us / USEC_PER_SEC));
	else if (us % 1000 == 0)
		snprintf(buf, size, "%lldms", (long long)(us / 1000));
	else
		snprintf(buf, size, "%lldus", (long long)us);
}

/* ---- destructors ---- */

static void conf_step_group_done(struct conf_step_group *g)
{
	for (size_t i = 0; i < g->n_steps; i++) {
		free(g->steps[i].arg);
		free(g->steps[i].params);
	}
	free(g->steps);
	memset(g, 0, sizeof(*g));
}

static void conf_scenario_clear_steps(struct conf_scenario *s)
{
	for (size_t i = 0; i < s->n_groups; i++)
		conf_step_group_done(&s->groups[i]);
	free(s->groups);
	s->groups = NULL;
	s->n_groups = 0;
	free(s->text);
	s->text = NULL;
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	free(c->daemon.database);
	free(c->daemon.listen);
	free(c->daemon.token);
	free(c->daemon.token_file);
	strv_free(c->daemon.autostart);
	free(c->daemon.stream);
	free(c->daemon.label);
	free(c->daemon.reboot_command);
	free(c->daemon.token_emptied_at);
	free(c->push.url);
	free(c->push.token);
	free(c->push.token_file);
	free(c->push.ca_file);
	free(c->push.spool_dir);
	for (size_t i = 0; i < c->n_targets; i++) {
		struct conf_target *t = &c->targets[i];

		free(t->name);
		free(t->kind);
		free(t->sysroot);
		free(t->cmdline);
		strv_free(t->variants);
	}
	free(c->targets);
	for (size_t i = 0; i < c->n_devices; i++) {
		struct conf_device *d = &c->devices[i];

		free(d->name);
		free(d->bus);
		free(d->device);
		free(d->driver);
		free(d->module);
		free(d->expect_domain);
		strv_free(d->iommus);
	}
	free(c->devices);
	for (size_t i = 0; i < c->n_loads; i++) {
		free(c->loads[i].name);
		free(c->loads[i].stress_args);
	}
	free(c->loads);
	for (size_t i = 0; i < c->n_scenarios; i++) {
		free(c->scenarios[i].name);
		free(c->scenarios[i].description);
		conf_scenario_clear_steps(&c->scenarios[i]);
	}
	free(c->scenarios);
	for (size_t i = 0; i < c->n_campaigns; i++) {
		struct conf_campaign *k = &c->campaigns[i];

		free(k->name);
		free(k->target);
		free(k->scenario);
		free(k->sweep_var);
		free(k->load);
		free(k->schedule);
		free(k->on_wedged);
	}
	free(c->campaigns);
	free(c);
}

/* ---- lookups ---- */

#define CONF_FIND(array, n, name)                           \
	do {                                                \
		if (!c || !(name))                          \
			return NULL;                        \
		for (size_t i_ = 0; i_ < c->n; i_++)        \
			if (streq(c->array[i_].name, name)) \
				return &c->array[i_];       \
		return NULL;                                \
	} while (0)

const struct conf_device *conf_device_find(const struct conf *c, const char *name)
{
	CONF_FIND(devices, n_devices, name);
}

const struct conf_scenario *conf_scenario_find(const struct conf *c, const char *name)
{
	CONF_FIND(scenarios, n_scenarios, name);
}

const struct conf_campaign *conf_campaign_find(const struct conf *c, const char *name)
{
	CONF_FIND(campaigns, n_campaigns, name);
}

const struct conf_target *conf_target_find(const struct conf *c, const char *name)
{
	CONF_FIND(targets, n_targets, name);
}

const struct conf_load *conf_load_find(const struct conf *c, const char *name)
{
	CONF_FIND(loads, n_loads, name);
}

/* ---- errors ---- */

static const char *conf_current_file(const struct conf_parser *p)
{
	return p->n_files > 0 ? p->files[p->n_files - 1] : "";
}

/* Records the first error as "file:line: message" ("file: message" when line is 0). */
_printf_(5, 6) static int conf_error(struct conf_parser *p, int err, const char *file,
				     unsigned line, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	if (p->err)
		return p->err;
	p->err = err;
	p->err_line = line;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		msg = NULL;
		p->err = -ENOMEM;
		return p->err;
	}
	if (line > 0)
		p->error = strprintf("%s:%u: %s", file, line, msg);
	else
		p->error = strprintf("%s: %s", file, msg);
	if (!p->error)
		p->err = -ENOMEM;
	return p->err;
}

static int conf_oom(struct conf_parser *p)
{
	if (!p->err)
		p->err = -ENOMEM;
	return p->err;
}

static void conf_meta_label(const struct conf_meta *m, char *buf, size_t size)
{
	snprintf(buf, size, "[%s%s%s]", conf_kinds[m->kind].name, m->name ? " " : "",
		 m->name ? m->name : "");
}

/* "file:line: [section] key: message" at a given origin. */
_printf_(5, 6) static int conf_key_error_at(struct conf_parser *p,
					    const struct conf_meta *m, const char *key,
					    struct conf_origin at, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	char label[300];
	va_list ap;
	int r;

	if (p->err)
		return p->err;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		msg = NULL;
		return conf_oom(p);
	}
	conf_meta_label(m, label, sizeof(label));
	if (key)
		return conf_error(p, -EINVAL, at.file, at.line, "%s %s: %s", label, key,
				  msg);
	return conf_error(p, -EINVAL, at.file, at.line, "%s: %s", label, msg);
}

/* The same for the key being parsed, at the current line. */
_printf_(3, 4) static int conf_key_error(struct conf_parser *p, const struct conf_key *k,
					 const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	if (p->err)
		return p->err;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		msg = NULL;
		return conf_oom(p);
	}
	if (p->cur < 0) /* applying a built-in default: cannot happen with a sane table */
		return conf_error(p, -EINVAL, conf_current_file(p), p->lineno, "%s: %s",
				  k->key, msg);
	return conf_key_error_at(p, &p->metas[p->cur], k->key,
				 (struct conf_origin){ conf_current_file(p), p->lineno },
				 "%s", msg);
}

/* ---- typed value parsers (the table's column "parser with bounds") ---- */

static int conf_set_string(struct conf_parser *p, char **field, const char *value)
{
	char *s = NULL;

	if (*value) {
		s = strdup(value);
		if (!s)
			return conf_oom(p);
	}
	free(*field);
	*field = s;
	return 0;
}

static int conf_parse_string(struct conf_parser *p, const struct conf_key *k,
			     const char *value, void *field)
{
	(void)k;
	return conf_set_string(p, field, value);
}

static int conf_parse_name(struct conf_parser *p, const struct conf_key *k,
			   const char *value, void *field)
{
	if (*value && !name_is_valid(value))
		return conf_key_error(p, k, "invalid name '%s' " CONF_NAME_RULE, value);
	return conf_set_string(p, field, value);
}

static int conf_parse_module(struct conf_parser *p, const struct conf_key *k,
			     const char *value, void *field)
{
	if (*value && !conf_module_is_valid(value))
		return conf_key_error(
			p, k, "invalid module name '%s' (letters, digits, '_', '-')",
			value);
	return conf_set_string(p, field, value);
}

static int conf_parse_path(struct conf_parser *p, const struct conf_key *k,
			   const char *value, void *field)
{
	if (*value && value[0] != '/')
		return conf_key_error(p, k, "'%s' is not an absolute path", value);
	return conf_set_string(p, field, value);
}

/* http:// or https:// and a host; the API path is appended by the pusher. */
static int conf_parse_url(struct conf_parser *p, const struct conf_key *k,
			  const char *value, void *field)
{
	const char *host = strncmp(value, "http://", 7) == 0	? value + 7
			   : strncmp(value, "https://", 8) == 0 ? value + 8
								: NULL;

	if (*value && (!host || !*host || *host == '/' || strpbrk(value, " \t\"<>")))
		return conf_key_error(p, k, "'%s' is not an http:// or https:// URL",
				      value);
	return conf_set_string(p, field, value);
}

static int conf_parse_choice(struct conf_parser *p, const struct conf_key *k,
			     const char *value, void *field)
{
	char list[200] = "";

	if (!*value)
		return conf_set_string(p, field, value);
	for (const char *const *c = k->choices; *c; c++)
		if (streq(*c, value))
			return conf_set_string(p, field, value);
	for (const char *const *c = k->choices; *c; c++) {
		size_t n = strlen(list);

		snprintf(list + n, sizeof(list) - n, "%s%s", c == k->choices ? "" : ", ",
			 *c);
	}
	return conf_key_error(p, k, "'%s' is not one of: %s", value, list);
}

/* "a, b c" -> NULL-terminated list of names; "" -> an empty list (never NULL). */
static int conf_parse_list(struct conf_parser *p, const struct conf_key *k,
			   const char *value, void *field)
{
	_cleanup_free_ char *copy = strdup(value);
	char ***ret = field, **l, *save = NULL;
	size_t n = 0;

	if (!copy)
		return conf_oom(p);
	l = calloc(strlen(value) / 2 + 2, sizeof(char *));
	if (!l)
		return conf_oom(p);
	for (char *w = strtok_r(copy, ", \t", &save); w;
	     w = strtok_r(NULL, ", \t", &save)) {
		if (!name_is_valid(w)) {
			strv_free(l);
			return conf_key_error(p, k, "invalid name '%s' in list", w);
		}
		if (strv_contains(l, w)) {
			strv_free(l);
			return conf_key_error(p, k, "'%s' is listed twice", w);
		}
		l[n] = strdup(w);
		if (!l[n]) {
			strv_free(l);
			return conf_oom(p);
		}
		n++;
	}
	strv_free(*ret);
	*ret = l;
	return 0;
}

static int conf_parse_boolean(struct conf_parser *p, const struct conf_key *k,
			      const char *value, void *field)
{
	bool b = false;

	if (*value && parse_bool(value, &b) < 0)
		return conf_key_error(
			p, k, "'%s' is not a boolean (yes/no, true/false, on/off, 1/0)",
			value);
	*(bool *)field = b;
	return 0;
}

static int conf_parse_int(struct conf_parser *p, const struct conf_key *k,
			  const char *value, void *field)
{
	int64_t v = 0;
	int r;

	if (*value) {
		r = parse_int64(value, k->min, k->max, &v);
		if (r == -ERANGE)
			return conf_key_error(p, k, "'%s' is out of range %lld..%lld",
					      value, (long long)k->min,
					      (long long)k->max);
		if (r < 0)
			return conf_key_error(p, k, "'%s' is not an integer", value);
	}
	*(int64_t *)field = v;
	return 0;
}

/* A duration within [min, max]; used by keys and by step words. */
static int conf_duration(struct conf_parser *p, const struct conf_key *k,
			 const char *value, int64_t min, int64_t max, int64_t *ret)
{
	char a[32], b[32];
	int64_t v;
	int r;

	r = parse_duration_us(value, &v);
	if (r == -EINVAL)
		return conf_key_error(
			p, k, "'%s' is not a valid duration (e.g. 250us, 20ms, 1.5s)",
			value);
	if (r < 0 || v < min || v > max) {
		conf_format_duration(a, sizeof(a), min);
		conf_format_duration(b, sizeof(b), max);
		return conf_key_error(p, k, "'%s' is out of range %s..%s", value, a, b);
	}
	*ret = v;
	return 0;
}

static int conf_parse_duration(struct conf_parser *p, const struct conf_key *k,
			       const char *value, void *field)
{
	int64_t v = 0;
	int r;

	if (*value) {
		r = conf_duration(p, k, value, k->min, k->max, &v);
		if (r < 0)
			return r;
	}
	*(int64_t *)field = v;
	return 0;
}

/* HOST:PORT, [V6ADDR]:PORT. */
static int conf_parse_listen(struct conf_parser *p, const struct conf_key *k,
			     const char *value, void *field)
{
	const char *colon = strrchr(value, ':');
	int64_t port;
	bool ok;

	if (!*value)
		return conf_set_string(p, field, value);
	ok = colon && colon > value && parse_int64(colon + 1, 0, 65535, &port) == 0;
	if (ok && value[0] == '[')
		ok = colon[-1] == ']' && colon - value > 2;
	for (const char *s = value; ok && *s; s++)
		ok = isgraph((unsigned char)*s);
	if (!ok)
		return conf_key_error(p, k, "'%s' is not HOST:PORT (e.g. 127.0.0.1:8080)",
				      value);
	return conf_set_string(p, field, value);
}

/* "boot" or "daily HH:MM", stored normalized. */
static int conf_parse_schedule(struct conf_parser *p, const struct conf_key *k,
			       const char *value, void *field)
{
	char word[16], hm[16], tail[2], buf[32];
	int64_t h, m;

	if (!*value || streq(value, "boot"))
		return conf_set_string(p, field, value);
	if (sscanf(value, "%15s %15s %1s", word, hm, tail) == 2 && streq(word, "daily") &&
	    strlen(hm) == 5 && hm[2] == ':') {
		char hh[3] = { hm[0], hm[1], 0 }, mm[3] = { hm[3], hm[4], 0 };

		if (isdigit((unsigned char)hh[0]) && isdigit((unsigned char)mm[0]) &&
		    parse_int64(hh, 0, 23, &h) == 0 && parse_int64(mm, 0, 59, &m) == 0) {
			snprintf(buf, sizeof(buf), "daily %02d:%02d", (int)h, (int)m);
			return conf_set_string(p, field, buf);
		}
	}
	return conf_key_error(p, k, "'%s' is not 'boot' or 'daily HH:MM'", value);
}

/* "NAME FROM TO STEPS", e.g. "offset 0 300ms 20"; field is the campaign. */
static int conf_parse_sweep(struct conf_parser *p, const struct conf_key *k,
			    const char *value, void *field)
{
	struct conf_campaign *camp = field;
	_cleanup_free_ char *copy = strdup(value);
	char *w[5], *save = NULL;
	int64_t from, to, steps;
	size_t n = 0;
	char *var;
	int r;

	if (!copy)
		return conf_oom(p);
	if (!*value) {
		free(camp->sweep_var);
		camp->sweep_var = NULL;
		camp->sweep_from_us = camp->sweep_to_us = camp->sweep_steps = 0;
		return 0;
	}
	for (char *t = strtok_r(copy, " \t", &save); t && n < 5;
	     t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	if (n != 4)
		return conf_key_error(
			p, k, "expected 'NAME FROM TO STEPS' (e.g. offset 0 300ms 20)");
	if (!conf_word_is_identifier(w[0]))
		return conf_key_error(
			p, k, "'%s' is not a variable name (letters, digits, '_')", w[0]);
	r = conf_duration(p, k, w[1], 0, CONF_OFFSET_MAX_US, &from);
	if (r < 0)
		return r;
	r = conf_duration(p, k, w[2], 0, CONF_OFFSET_MAX_US, &to);
	if (r < 0)
		return r;
	r = parse_int64(w[3], 2, 100000, &steps);
	if (r == -ERANGE)
		return conf_key_error(p, k, "steps '%s' is out of range 2..100000", w[3]);
	if (r < 0)
		return conf_key_error(p, k, "steps '%s' is not an integer", w[3]);
	var = strdup(w[0]);
	if (!var)
		return conf_oom(p);
	free(camp->sweep_var);
	camp->sweep_var = var;
	camp->sweep_from_us = from;
	camp->sweep_to_us = to;
	camp->sweep_steps = steps;
	return 0;
}

/* ---- steps ---- */

bool conf_step_uses_device(enum step_verb v)
{
	return v == STEP_UNBIND || v == STEP_BIND || v == STEP_PROBE ||
	       v == STEP_WAIT_BOUND;
}

static bool conf_step_uses_module(enum step_verb v)
{
	return v == STEP_MODPROBE || v == STEP_RMMOD || v == STEP_INSMOD;
}

/* "@20ms" or "@${NAME}" (the campaign's swept variable). */
static int conf_step_offset(struct conf_parser *p, const struct conf_key *k,
			    const char *word, struct conf_step *st)
{
	struct conf_meta *m = &p->metas[p->cur];
	size_t n = strlen(word);

	if (n == 0)
		return conf_key_error(p, k,
				      "'@' needs an offset (e.g. @150us, @${offset})");
	if (word[0] != '$')
		return conf_duration(p, k, word, 0, CONF_OFFSET_MAX_US, &st->offset_us);

	_cleanup_free_ char *var = n > 3 && word[1] == '{' && word[n - 1] == '}'
					   ? strndup(word + 2, n - 3)
					   : NULL;
	if (!var || !conf_word_is_identifier(var))
		return conf_key_error(p, k, "'@%s' is not an offset or @${NAME}", word);
	if (m->sweep_var && !streq(m->sweep_var, var))
		return conf_key_error(
			p, k,
			"uses @${%s} but earlier steps use @${%s}; a campaign sweeps one variable",
			var, m->sweep_var);
	if (!m->sweep_var)
		m->sweep_var = TAKE_PTR(var);
	st->offset_is_sweep = true;
	st->offset_us = 0;
	return 0;
}

static int conf_step_params(struct conf_parser *p, const struct conf_key *k, char **words,
			    size_t n, char **ret)
{
	size_t len = 0;
	char *s;

	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(words[i], '=');
		bool ok = eq && eq > words[i] && words[i][0] != '-';

		for (const char *c = words[i]; ok && c < eq; c++)
			ok = isalnum((unsigned char)*c) || *c == '_' || *c == '-' ||
			     *c == '.';
		if (!ok)
			return conf_key_error(
				p, k,
				"invalid module parameter '%s' (expected key=value)",
				words[i]);
		len += strlen(words[i]) + 1;
	}
	if (n == 0)
		return 0;
	s = malloc(len);
	if (!s)
		return conf_oom(p);
	s[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, words[i]);
	}
	*ret = s;
	return 0;
}

/* One `VERB ARG [PARAMS...] [@OFFSET]`; text is modified. */
static int conf_step_parse(struct conf_parser *p, const struct conf_key *k, char *text,
			   bool in_group, struct conf_step *ret)
{
	struct conf_step st = { 0 };
	char *words[CONF_STEP_WORDS_MAX], *save = NULL, **args;
	const char *arg = NULL;
	size_t n = 0, nargs;
	int r, v;

	for (char *w = strtok_r(text, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n == CONF_STEP_WORDS_MAX)
			return conf_key_error(p, k,
					      "too many words in one step (at most %d)",
					      CONF_STEP_WORDS_MAX);
		words[n++] = w;
	}
	if (n == 0)
		return conf_key_error(p, k, "empty step in a concurrent group");

	v = step_verb_from_string(words[0]);
	if (v < 0 && streq(words[0], "concurrent"))
		return conf_key_error(
			p, k, "'concurrent' must start the line and cannot be nested");
	if (v < 0)
		return conf_key_error(
			p, k,
			"unknown step '%s' (expected unbind, bind, probe, insmod, modprobe, rmmod, sleep, wait-bound, reboot or concurrent)",
			words[0]);
	st.verb = v;
	if (n > 1 && words[n - 1][0] == '@') {
		r = conf_step_offset(p, k, words[n - 1] + 1, &st);
		if (r < 0)
			return r;
		n--;
	}
	for (size_t i = 1; i < n; i++)
		if (words[i][0] == '@')
			return conf_key_error(
				p, k, "offset '%s' must be the last word of a step",
				words[i]);
	args = words + 1;
	nargs = n - 1;

	switch (st.verb) {
	case STEP_UNBIND:
	case STEP_BIND:
	case STEP_PROBE:
	case STEP_WAIT_BOUND:
		if (st.verb == STEP_WAIT_BOUND ? nargs < 1 || nargs > 2 : nargs != 1)
			return conf_key_error(
				p, k, "'%s' takes a device name%s", words[0],
				st.verb == STEP_WAIT_BOUND ? " and an optional timeout"
							   : "");
		if (!name_is_valid(args[0]))
			return conf_key_error(p, k,
					      "invalid device name '%s' " CONF_NAME_RULE,
					      args[0]);
		if (nargs == 2) {
			r = conf_duration(p, k, args[1], 1000, CONF_HOUR_US,
					  &st.timeout_us);
			if (r < 0)
				return r;
		}
		arg = args[0];
		break;
	case STEP_INSMOD:
		if (nargs < 1)
			return conf_key_error(p, k, "'insmod' takes a module path");
		if (args[0][0] != '/' || strstr(args[0], ".."))
			return conf_key_error(
				p, k,
				"insmod path '%s' must be absolute and must not contain '..'",
				args[0]);
		arg = args[0];
		break;
	case STEP_MODPROBE:
	case STEP_RMMOD:
		if (nargs < 1 || (st.verb == STEP_RMMOD && nargs != 1))
			return conf_key_error(
				p, k, "'%s' takes a module name%s", words[0],
				st.verb == STEP_MODPROBE ? " and key=value parameters"
							 : "");
		if (!conf_module_is_valid(args[0]))
			return conf_key_error(
				p, k,
				"invalid module name '%s' (letters, digits, '_', '-')",
				args[0]);
		arg = args[0];
		break;
	case STEP_SLEEP:
		if (nargs != 1)
			return conf_key_error(p, k, "'sleep' takes one duration");
		r = conf_duration(p, k, args[0], 0, CONF_HOUR_US, &st.timeout_us);
		if (r < 0)
			return r;
		arg = args[0];
		break;
	case STEP_REBOOT:
		if (nargs != 0)
			return conf_key_error(p, k, "'reboot' takes no arguments");
		if (in_group)
			return conf_key_error(
				p, k, "'reboot' cannot be part of a concurrent group");
		break;
	default: return conf_key_error(p, k, "unsupported step '%s'", words[0]);
	}

	if (st.verb == STEP_INSMOD || st.verb == STEP_MODPROBE) {
		r = conf_step_params(p, k, args + 1, nargs - 1, &st.params);
		if (r < 0)
			return r;
	}
	if (arg) {
		st.arg = strdup(arg);
		if (!st.arg) {
			free(st.params);
			return conf_oom(p);
		}
	}
	*ret = st;
	return 0;
}

static int conf_scenario_append_text(struct conf_parser *p, struct conf_scenario *s,
				     const char *line)
{
	char *t = s->text ? strprintf("%s\n%s", s->text, line) : strdup(line);

	if (!t)
		return conf_oom(p);
	free(s->text);
	s->text = t;
	return 0;
}

/* `step = VERB ...` or `step = concurrent SUBSTEP, SUBSTEP, ...`; field is the scenario. */
static int conf_parse_step(struct conf_parser *p, const struct conf_key *k,
			   const char *value, void *field)
{
	struct conf_scenario *s = field;
	struct conf_meta *m = &p->metas[p->cur];
	struct conf_step_group g = { .line = p->lineno };
	_cleanup_free_ char *copy = NULL;
	char *rest, *save = NULL;
	size_t wlen;
	int r;

	if (!p->cur_steps) {
		/* First step of this occurrence: a re-opened scenario gets new steps. */
		conf_scenario_clear_steps(s);
		free(m->sweep_var);
		m->sweep_var = NULL;
		p->cur_steps = true;
	}
	if (!*value)
		return conf_key_error(p, k, "empty step");
	if (s->n_groups > 0) {
		const struct conf_step_group *last = &s->groups[s->n_groups - 1];

		if (last->steps[0].verb == STEP_REBOOT)
			return conf_key_error(p, k,
					      "'reboot' must be the last step (line %u)",
					      last->line);
	}
	copy = strdup(value);
	if (!copy)
		return conf_oom(p);

	wlen = strcspn(copy, " \t");
	if (wlen == strlen("concurrent") && strncmp(copy, "concurrent", wlen) == 0) {
		g.concurrent = true;
		rest = copy + wlen;
		if (!*rest)
			return conf_key_error(
				p, k, "'concurrent' needs steps separated by ','");
		/* strtok_r would skip empty pieces; walk the commas by hand. */
		for (char *piece = rest; piece; piece = save) {
			save = strchr(piece, ',');
			if (save)
				*save++ = 0;
			r = conf_grow(&g.steps, &g.n_steps, sizeof(struct conf_step));
			if (r < 0) {
				conf_step_group_done(&g);
				return conf_oom(p);
			}
			r = conf_step_parse(p, k, piece, true, &g.steps[g.n_steps - 1]);
			if (r < 0) {
				g.n_steps--;
				conf_step_group_done(&g);
				return r;
			}
		}
	} else {
		g.steps = calloc(1, sizeof(struct conf_step));
		if (!g.steps)
			return conf_oom(p);
		r = conf_step_parse(p, k, copy, false, &g.steps[0]);
		if (r < 0) {
			free(g.steps);
			return r;
		}
		g.n_steps = 1;
	}

	r = conf_grow(&s->groups, &s->n_groups, sizeof(struct conf_step_group));
	if (r < 0) {
		conf_step_group_done(&g);
		return conf_oom(p);
	}
	s->groups[s->n_groups - 1] = g;
	return conf_scenario_append_text(p, s, value);
}

/* ---- sections ---- */

static void *conf_item(struct conf *c, enum conf_kind kind, size_t idx)
{
	const struct conf_kind_info *info = &conf_kinds[kind];

	if (kind == CONF_DAEMON)
		return &c->daemon;
	if (kind == CONF_PUSH)
		return &c->push;
	return *(char **)((char *)c + info->array) + idx * info->size;
}

static bool conf_same_namespace(enum conf_kind a, enum conf_kind b)
{
	return a == b || ((K(a) | K(b)) & ~K_DEVICE) == 0;
}

/* Runs the parser of every key of kind that has a default. */
static int conf_apply_defaults(struct conf_parser *p, enum conf_kind kind, void *item)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		int r;

		if (!(k->kinds & K(kind)) || !k->def)
			continue;
		r = k->parse(p, k, k->def, (char *)item + k->offset);
		if (r < 0)
			return r;
	}
	return 0;
}

static int conf_section_create(struct conf_parser *p, enum conf_kind kind,
			       const char *name)
{
	const struct conf_kind_info *info = &conf_kinds[kind];
	struct conf_meta *m;
	size_t idx = 0;
	void *item;
	int r;

	if (!(K(kind) & K_SINGLE)) {
		size_t *n = (size_t *)((char *)p->c + info->count);

		r = conf_grow((char *)p->c + info->array, n, info->size);
		if (r < 0)
			return conf_oom(p);
		idx = *n - 1;
	}
	r = conf_grow(&p->metas, &p->n_metas, sizeof(struct conf_meta));
	if (r < 0)
		return conf_oom(p);
	m = &p->metas[p->n_metas - 1];
	m->kind = kind;
	m->idx = idx;
	m->where = (struct conf_origin){ conf_current_file(p), p->lineno };
	m->opened_in = p->n_files - 1;
	m->opened_line = p->lineno;
	item = conf_item(p->c, kind, idx);
	if (kind == CONF_PUSH) {
		/* [daemon]'s defaults are set up front; [push]'s only when it exists */
		r = conf_apply_defaults(p, kind, item);
		if (r < 0)
			return r;
	} else if (kind != CONF_DAEMON) {
		/* every item struct starts with its name */
		char **np = item;

		*np = strdup(name);
		if (!*np)
			return conf_oom(p);
		m->name = *np;
		r = conf_apply_defaults(p, kind, item);
		if (r < 0)
			return r;
	}
	if (kind == CONF_CONSUMER)
		((struct conf_device *)item)->consumer = true;
	p->cur = p->n_metas - 1;
	return 0;
}

/* Called by the reader for each "[...]" line; header is the text between the brackets. */
static int conf_section_open(struct conf_parser *p, const char *header)
{
	const char *file = conf_current_file(p);
	_cleanup_free_ char *copy = strdup(header);
	char *kind_s, *name, *extra, *save = NULL;
	int kind = -1;

	if (!copy)
		return conf_oom(p);
	p->cur = -1;
	p->cur_seen = 0;
	p->cur_steps = false;

	kind_s = strtok_r(copy, " \t", &save);
	name = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (!kind_s)
		return conf_error(p, -EINVAL, file, p->lineno,
				  "[]: empty section header");
	for (int i = 0; i < _CONF_KIND_MAX; i++)
		if (streq(conf_kinds[i].name, kind_s))
			kind = i;
	if (kind < 0)
		return conf_error(
			p, -EINVAL, file, p->lineno,
			"[%s]: unknown section (expected daemon, push, target, consumer, supplier, load, scenario or campaign)",
			header);
	if ((K(kind) & K_SINGLE) && name)
		return conf_error(p, -EINVAL, file, p->lineno, "[%s]: [%s] takes no name",
				  header, kind_s);
	if (!(K(kind) & K_SINGLE) && !name)
		return conf_error(p, -EINVAL, file, p->lineno,
				  "[%s]: needs a name: [%s NAME]", header, kind_s);
	if (extra)
		return conf_error(p, -EINVAL, file, p->lineno,
				  "[%s]: a section name is one word", header);
	if (name && !name_is_valid(name))
		return conf_error(p, -EINVAL, file, p->lineno,
				  "[%s]: invalid name '%s' " CONF_NAME_RULE, header,
				  name);

	for (size_t i = 0; i < p->n_metas; i++) {
		struct conf_meta *m = &p->metas[i];
		char label[300];

		if (!conf_same_namespace(m->kind, kind))
			continue;
		if (name && !streq(m->name, name))
			continue;
		conf_meta_label(m, label, sizeof(label));
		if (m->kind != (enum conf_kind)kind)
			return conf_error(
				p, -EINVAL, file, p->lineno,
				"[%s %s]: '%s' is already defined as %s (%s:%u)", kind_s,
				name, name, label, m->where.file, m->where.line);
		if (m->opened_in == p->n_files - 1)
			return conf_error(p, -EINVAL, file, p->lineno,
					  "%s: duplicate section (first at line %u)",
					  label, m->opened_line);
		/* a drop-in re-opens the section: its keys override */
		m->opened_in = p->n_files - 1;
		m->opened_line = p->lineno;
		p->cur = i;
		return 0;
	}
	return conf_section_create(p, kind, name);
}

/* ---- inih glue ---- */

/* fgets-like reader over the file held in memory: counts lines, strips leading blanks, and
 * opens sections itself. Returning NULL ends the parse (also after an error). */
static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_parser *p = stream;
	const char *start, *nl, *end;
	size_t n, content;

	if (p->err || p->pos >= p->len)
		return NULL;
	start = p->text + p->pos;
	nl = memchr(start, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - start) + 1 : p->len - p->pos;
	p->pos += n;
	p->lineno++;
	while (n > 0 && (*start == ' ' || *start == '\t')) {
		start++;
		n--;
	}
	/* inih's buffer holds the text plus "\r\n" and NUL; a longer line would be split */
	content = n;
	while (content > 0 && (start[content - 1] == '\n' || start[content - 1] == '\r'))
		content--;
	if (num < 3 || content > (size_t)num - 3) {
		conf_error(p, -EINVAL, conf_current_file(p), p->lineno,
			   "line is longer than %d characters", num - 3);
		return NULL;
	}
	/* Only the content and one '\n': n also counts every '\r' before the newline, and
	 * copying those could overrun inih's buffer (found by tests/fuzz/fuzz-conf). */
	memcpy(str, start, content);
	n = content;
	if (nl)
		str[n++] = '\n';
	str[n] = 0;

	if (str[0] == '[') {
		char *close = strchr(str, ']');
		_cleanup_free_ char *header = NULL;

		if (!close) {
			conf_error(p, -EINVAL, conf_current_file(p), p->lineno,
				   "section header without ']'");
			return NULL;
		}
		end = close + 1 + strspn(close + 1, " \t\r\n");
		if (*end && *end != ';' && *end != '#') {
			conf_error(p, -EINVAL, conf_current_file(p), p->lineno,
				   "unexpected text after ']'");
			return NULL;
		}
		header = strndup(str + 1, close - str - 1);
		if (!header || conf_section_open(p, header) < 0) {
			conf_oom(p);
			return NULL;
		}
	}
	return str;
}

static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct conf_parser *p = user;
	const struct conf_key *k = NULL;
	const char *file = conf_current_file(p);
	struct conf_meta *m;
	bool elsewhere = false;
	size_t ki;
	int r;

	(void)section; /* the reader tracks sections, including repeated and empty ones */
	if (p->err)
		return 0;
	if (!value) {
		conf_error(p, -EINVAL, file, p->lineno, "expected 'key = value'");
		return 0;
	}
	if (p->cur < 0) {
		conf_error(p, -EINVAL, file, p->lineno, "%s: key outside of any section",
			   name);
		return 0;
	}
	m = &p->metas[p->cur];
	for (ki = 0; ki < N_KEYS; ki++) {
		if (!streq(conf_keys[ki].key, name))
			continue;
		if (conf_keys[ki].kinds & K(m->kind)) {
			k = &conf_keys[ki];
			break;
		}
		elsewhere = true;
	}
	if (!k) {
		struct conf_origin at = { file, p->lineno };

		if (elsewhere)
			conf_key_error_at(p, m, name, at, "not valid in [%s] sections",
					  conf_kinds[m->kind].name);
		else
			conf_key_error_at(p, m, name, at, "unknown key");
		return 0;
	}
	if ((p->cur_seen & (UINT64_C(1) << ki)) && !k->repeat) {
		conf_key_error(p, k, "set twice in this section (first at line %u)",
			       m->keys[ki].line);
		return 0;
	}
	if (!*value && k->def)
		value = k->def;
	r = k->parse(p, k, value, (char *)conf_item(p->c, m->kind, m->idx) + k->offset);
	if (r < 0)
		return 0;
	p->cur_seen |= UINT64_C(1) << ki;
	m->keys[ki] = (struct conf_origin){ file, p->lineno };
	return 1;
}

/* Parses one file's text into the configuration built so far. */
static int conf_feed(struct conf_parser *p, const char *file, const char *text,
		     size_t len)
{
	char *f;
	int r;

	if (p->err)
		return p->err;
	f = strdup(file);
	if (!f)
		return conf_oom(p);
	r = conf_grow(&p->files, &p->n_files, sizeof(char *));
	if (r < 0) {
		free(f);
		return conf_oom(p);
	}
	p->files[p->n_files - 1] = f;
	if (memchr(text, 0, len))
		return conf_error(p, -EINVAL, f, 0, "contains a NUL byte");
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	p->text = text;
	p->len = len;
	p->pos = 0;
	p->lineno = 0;
	p->cur = -1;

	r = ini_parse_stream(conf_reader, p, conf_handler, p);
	if (r == -2)
		return conf_oom(p);
	if (r > 0 && (!p->err || (unsigned)r < p->err_line)) {
		/* inih's own syntax error came first (it keeps going after one) */
		free(p->error);
		p->error = NULL;
		p->err = 0;
		return conf_error(p, -EINVAL, f, r,
				  "expected '[section]' or 'key = value'");
	}
	p->cur = -1;
	return p->err;
}

/* ---- checks after all files are read ---- */

static size_t conf_key_index(const char *key)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (streq(conf_keys[i].key, key))
			return i;
	abort(); /* a key name missing from the table is a programming error */
}

static struct conf_origin conf_key_origin(const struct conf_meta *m, const char *key)
{
	struct conf_origin o = m->keys[conf_key_index(key)];

	return o.line > 0 ? o : m->where;
}

static struct conf_meta *conf_meta_find(struct conf_parser *p, enum conf_kind kind,
					const char *name)
{
	for (size_t i = 0; i < p->n_metas; i++)
		if (conf_same_namespace(p->metas[i].kind, kind) && p->metas[i].name &&
		    streq(p->metas[i].name, name))
			return &p->metas[i];
	return NULL;
}

static int conf_check_device(struct conf_parser *p, struct conf_meta *m)
{
	struct conf_device *d = &p->c->devices[m->idx];

	if (!d->driver)
		return conf_key_error_at(p, m, "driver", m->where,
					 "required key is missing");
	if (!d->device) {
		d->device = strdup(d->name);
		if (!d->device)
			return conf_oom(p);
	}
	if (!d->iommus) {
		/* suppliers have no iommus key; give them the same empty list */
		d->iommus = calloc(1, sizeof(char *));
		if (!d->iommus)
			return conf_oom(p);
	}
	for (char **s = d->iommus; s && *s; s++) {
		struct conf_meta *o = conf_meta_find(p, CONF_SUPPLIER, *s);

		if (!o || o->kind != CONF_SUPPLIER)
			return conf_key_error_at(p, m, "iommus",
						 conf_key_origin(m, "iommus"),
						 "'%s' is not a [supplier]", *s);
	}
	for (size_t i = 0; i < p->n_metas && &p->metas[i] != m; i++) {
		const struct conf_device *o;
		char label[300];

		if (!conf_same_namespace(p->metas[i].kind, CONF_CONSUMER))
			continue;
		o = &p->c->devices[p->metas[i].idx];
		if (!streq(o->bus, d->bus) || !streq(o->device, d->device))
			continue;
		conf_meta_label(&p->metas[i], label, sizeof(label));
		return conf_key_error_at(p, m, "device", conf_key_origin(m, "device"),
					 "%s/%s is already %s", d->bus, d->device, label);
	}
	return 0;
}

static int conf_check_target(struct conf_parser *p, struct conf_meta *m)
{
	const struct conf_target *t = &p->c->targets[m->idx];
	bool qemu = streq(t->kind, "qemu");

	if (!qemu && t->cmdline)
		return conf_key_error_at(p, m, "cmdline", conf_key_origin(m, "cmdline"),
					 "only valid with kind = qemu");
	if (!qemu && strv_length(t->variants) > 0)
		return conf_key_error_at(p, m, "variants", conf_key_origin(m, "variants"),
					 "only valid with kind = qemu");
	if (qemu && t->sysroot)
		return conf_key_error_at(p, m, "sysroot", conf_key_origin(m, "sysroot"),
					 "only valid with kind = local");
	return 0;
}

static int conf_check_scenario(struct conf_parser *p, struct conf_meta *m)
{
	const struct conf_scenario *s = &p->c->scenarios[m->idx];
	struct conf_origin at = conf_key_origin(m, "step");

	if (s->n_groups == 0)
		return conf_key_error_at(p, m, "step", m->where,
					 "a scenario needs steps");
	for (size_t i = 0; i < s->n_groups; i++)
		for (size_t j = 0; j < s->groups[i].n_steps; j++) {
			const struct conf_step *st = &s->groups[i].steps[j];

			if (!conf_step_uses_device(st->verb) ||
			    conf_device_find(p->c, st->arg))
				continue;
			at.line = s->groups[i].line;
			return conf_key_error_at(
				p, m, "step", at,
				"unknown device '%s' (no [consumer %s] or [supplier %s])",
				st->arg, st->arg, st->arg);
		}
	return 0;
}

static int conf_check_campaign(struct conf_parser *p, struct conf_meta *m)
{
	const struct conf_campaign *k = &p->c->campaigns[m->idx];
	struct conf_meta *s;

	if (!k->scenario)
		return conf_key_error_at(p, m, "scenario", m->where,
					 "required key is missing");
	s = conf_meta_find(p, CONF_SCENARIO, k->scenario);
	if (!s)
		return conf_key_error_at(p, m, "scenario", conf_key_origin(m, "scenario"),
					 "unknown scenario '%s'", k->scenario);
	if (k->target && !conf_target_find(p->c, k->target))
		return conf_key_error_at(p, m, "target", conf_key_origin(m, "target"),
					 "unknown target '%s'", k->target);
	if (k->load && !conf_load_find(p->c, k->load))
		return conf_key_error_at(p, m, "load", conf_key_origin(m, "load"),
					 "unknown load '%s'", k->load);
	if (s->sweep_var && !k->sweep_var)
		return conf_key_error_at(p, m, "scenario", conf_key_origin(m, "scenario"),
					 "'%s' uses @${%s}, so the campaign needs "
					 "'sweep = %s FROM TO STEPS'",
					 k->scenario, s->sweep_var, s->sweep_var);
	if (k->sweep_var && (!s->sweep_var || !streq(s->sweep_var, k->sweep_var)))
		return conf_key_error_at(p, m, "sweep", conf_key_origin(m, "sweep"),
					 "scenario '%s' does not use @${%s}", k->scenario,
					 k->sweep_var);
	return 0;
}

static int conf_check_daemon(struct conf_parser *p, struct conf_meta *m)
{
	const struct conf_daemon *d = &p->c->daemon;

	for (char **s = d->autostart; s && *s; s++)
		if (!conf_campaign_find(p->c, *s))
			return conf_key_error_at(p, m, "autostart",
						 conf_key_origin(m, "autostart"),
						 "unknown campaign '%s'", *s);
	if (d->token && d->token_file)
		return conf_key_error_at(p, m, "token-file",
					 conf_key_origin(m, "token-file"),
					 "'token' and 'token-file' exclude each other");
	/* An empty value resets a key (docs/config.md); for the token that turns ingest
	 * off, which a template with an unset variable would do by mistake: recorded for
	 * --check-config's and the daemon's warning. */
	{
		struct conf_origin o = m->keys[conf_key_index("token")];

		if (!d->token && !d->token_file && o.line > 0) {
			free(p->c->daemon.token_emptied_at);
			p->c->daemon.token_emptied_at =
				strprintf("%s:%u", o.file, o.line);
			if (!p->c->daemon.token_emptied_at)
				return conf_oom(p);
		}
	}
	return 0;
}

static int conf_check_push(struct conf_parser *p, struct conf_meta *m)
{
	const struct conf_push *u = &p->c->push;

#ifndef HAVE_LIBCURL
	return conf_key_error_at(
		p, m, NULL, m->where,
		"pushing needs libcurl, and this probestormd was built without it");
#endif
	if (!u->url)
		return conf_key_error_at(p, m, "url", m->where,
					 "required key is missing");
	if (u->token && u->token_file)
		return conf_key_error_at(p, m, "token-file",
					 conf_key_origin(m, "token-file"),
					 "'token' and 'token-file' exclude each other");
	if (!u->token && !u->token_file)
		return conf_key_error_at(p, m, "token", m->where,
					 "required key is missing (or token-file)");
	return 0;
}

static int conf_finalize(struct conf_parser *p)
{
	for (size_t i = 0; i < p->n_metas && !p->err; i++) {
		struct conf_meta *m = &p->metas[i];

		switch (m->kind) {
		case CONF_DAEMON: conf_check_daemon(p, m); break;
		case CONF_TARGET: conf_check_target(p, m); break;
		case CONF_CONSUMER:
		case CONF_SUPPLIER: conf_check_device(p, m); break;
		case CONF_LOAD:
			if (!p->c->loads[m->idx].stress_args)
				conf_key_error_at(p, m, "stress-ng", m->where,
						  "required key is missing");
			break;
		case CONF_SCENARIO: conf_check_scenario(p, m); break;
		case CONF_CAMPAIGN: conf_check_campaign(p, m); break;
		case CONF_PUSH: conf_check_push(p, m); break;
		default: break;
		}
	}
	return p->err;
}

/* ---- entry points ---- */

static int conf_parser_init(struct conf_parser *p)
{
	*p = (struct conf_parser){ .cur = -1 };
	p->c = calloc(1, sizeof(struct conf));
	if (!p->c)
		return -ENOMEM;
	return conf_apply_defaults(p, CONF_DAEMON, &p->c->daemon);
}

static void conf_parser_done(struct conf_parser *p)
{
	for (size_t i = 0; i < p->n_files; i++)
		free(p->files[i]);
	free(p->files);
	for (size_t i = 0; i < p->n_metas; i++)
		free(p->metas[i].sweep_var);
	free(p->metas);
	free(p->error);
	conf_free(p->c);
}

/* Hands out the result (or the error) and tears the parser down. */
static int conf_parser_finish(struct conf_parser *p, struct conf **ret, char **ret_error)
{
	int r;

	if (!p->err)
		conf_finalize(p);
	r = p->err;
	if (r < 0) {
		if (ret_error) {
			*ret_error = TAKE_PTR(p->error);
			if (!*ret_error)
				*ret_error = strdup("out of memory");
		}
	} else {
		*ret = TAKE_PTR(p->c);
	}
	conf_parser_done(p);
	return r;
}

int conf_load_string(const char *name, const char *text, struct conf **ret,
		     char **ret_error)
{
	struct conf_parser p;
	int r;

	if (!name || !text || !ret)
		return -EINVAL;
	r = conf_parser_init(&p);
	if (r < 0) {
		conf_parser_done(&p);
		return r;
	}
	conf_feed(&p, name, text, strlen(text));
	return conf_parser_finish(&p, ret, ret_error);
}

/* Reads a whole regular file (at most CONF_FILE_MAX bytes). */
static int conf_read_file(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;

	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer for ever. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	buf = malloc(CONF_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, CONF_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		len += n;
		if (len > CONF_FILE_MAX)
			return -EFBIG;
	}
	buf[len] = 0;
	*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

static int conf_feed_file(struct conf_parser *p, const char *path)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = conf_read_file(path, &text, &len);
	if (r == -EFBIG)
		return conf_error(p, r, path, 0, "larger than %d bytes", CONF_FILE_MAX);
	if (r == -EINVAL)
		return conf_error(p, r, path, 0,
				  "not a regular file (a FIFO, device or socket)");
	if (r < 0)
		return conf_error(p, r, path, 0, "cannot read: %s", strerror(-r));
	return conf_feed(p, path, text, len);
}

static int conf_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf names in dir, sorted bytewise; a missing directory is an empty list. */
static int conf_list_dropins(struct conf_parser *p, const char *dir, char ***ret,
			     size_t *ret_n)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int r = 0;

	d = opendir(dir);
	if (!d && errno == ENOENT)
		return 0;
	if (!d) {
		r = negative_errno();
		return conf_error(p, r, dir, 0, "cannot open directory: %s",
				  strerror(-r));
	}
	for (;;) {
		size_t len;
		char *s;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				r = negative_errno();
				conf_error(p, r, dir, 0, "cannot read directory: %s",
					   strerror(-r));
			}
			break;
		}
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 ||
		    !streq(de->d_name + len - 5, ".conf"))
			continue;
		s = strprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
			      de->d_name);
		if (!s || conf_grow(&names, &n, sizeof(char *)) < 0) {
			free(s);
			r = conf_oom(p);
			break;
		}
		names[n - 1] = s;
	}
	closedir(d);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return r;
	}
	if (n > 0)
		qsort(names, n, sizeof(char *), conf_strcmp);
	*ret = names;
	*ret_n = n;
	return 0;
}

int conf_load(const char *main_path, const char *dropin_dir, struct conf **ret,
	      char **ret_error)
{
	struct conf_parser p;
	char **dropins = NULL;
	size_t n = 0;
	int r;

	if (!main_path || !ret)
		return -EINVAL;
	r = conf_parser_init(&p);
	if (r < 0) {
		conf_parser_done(&p);
		return r;
	}
	r = conf_feed_file(&p, main_path);
	if (r >= 0 && dropin_dir)
		r = conf_list_dropins(&p, dropin_dir, &dropins, &n);
	for (size_t i = 0; i < n; i++) {
		if (r >= 0)
			r = conf_feed_file(&p, dropins[i]);
		free(dropins[i]);
	}
	free(dropins);
	return conf_parser_finish(&p, ret, ret_error);
}

/* ---- files the daemon opens at startup (--check-config) ---- */

/* A token file as api.c and push.c read it: a regular file whose first line is the
 * token. */
static int conf_check_token_file(const char *section, const char *path, char **ret_error)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	char buf[4096];
	ssize_t n;
	const char *why;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = negative_errno();
		*ret_error = strprintf("[%s] token-file '%s': cannot open: %s", section,
				       path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		*ret_error = strprintf("[%s] token-file '%s': not a regular file",
				       section, path);
		return -EINVAL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		r = negative_errno();
		*ret_error = strprintf("[%s] token-file '%s': cannot read: %s", section,
				       path, strerror(-r));
		return r;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	why = *strip_trailing(buf) ? NULL : "its first line is empty";
	if (why) {
		*ret_error = strprintf("[%s] token-file '%s': %s", section, path, why);
		return -EINVAL;
	}
	return 0;
}

int conf_check_files(const struct conf *c, char **ret_error)
{
	char *msg = NULL;
	int r = 0;

	if (!c || !ret_error)
		return -EINVAL;
	if (c->daemon.token_file)
		r = conf_check_token_file("daemon", c->daemon.token_file, &msg);
	if (r >= 0 && c->push.url && c->push.token_file)
		r = conf_check_token_file("push", c->push.token_file, &msg);
	if (r >= 0 && c->daemon.stream) {
		_cleanup_free_ char *dir = strdup(c->daemon.stream);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		struct stat st;

		if (!dir)
			return -ENOMEM;
		/* the path is absolute (conf_parse_path): slash is not NULL */
		if (slash && slash != dir)
			*slash = '\0';
		else if (slash)
			slash[1] = '\0';
		if (stat(c->daemon.stream, &st) == 0 && S_ISDIR(st.st_mode)) {
			r = -EISDIR;
			msg = strprintf("[daemon] stream '%s': is a directory",
					c->daemon.stream);
		} else if (stat(dir, &st) < 0) {
			r = negative_errno();
			msg = strprintf("[daemon] stream '%s': directory '%s': %s",
					c->daemon.stream, dir, strerror(-r));
		}
	}
	if (r < 0)
		*ret_error = msg ? msg : strdup(strerror(-r));
	return r;
}

/* ---- queries for the topology check (kernel/topology.c) ---- */

bool conf_scenario_manages_module(const struct conf_scenario *s, const char *module)
{
	for (size_t i = 0; i < s->n_groups; i++)
		for (size_t j = 0; j < s->groups[i].n_steps; j++) {
			const struct conf_step *st = &s->groups[i].steps[j];
			_cleanup_free_ char *base = NULL;

			if (!conf_step_uses_module(st->verb))
				continue;
			if (st->verb != STEP_INSMOD) {
				if (conf_module_eq(st->arg, module))
					return true;
				continue;
			}
			base = strdup(strrchr(st->arg, '/') + 1);
			if (base && strstr(base, ".ko"))
				*strstr(base, ".ko") = 0;
			if (base && conf_module_eq(base, module))
				return true;
		}
	return false;
}
