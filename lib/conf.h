/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Configuration: the daemon settings, targets, topology (consumers and suppliers), load
 * profiles, scenarios and campaigns, read with inih from one main file plus the *.conf files of conf.d/
 * drop-ins (sorted by name). Table-driven: each key has a typed parser with bounds. Every
 * error names file:line and the key. The syntax is documented in docs/config.md.
 *
 * Ownership: conf_load() returns a struct conf the caller frees with conf_free(); all strings
 * and arrays inside it belong to it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct conf_daemon {
	char *database;	  /* default LOCALSTATEDIR "/lib/probestorm/probestorm.db" */
	char *listen;	  /* "127.0.0.1:8080" */
	char *token;	  /* bearer token for POST endpoints, NULL = POST disabled */
	char *token_file; /* alternative: read the token from this file */
	char **autostart; /* campaign names to run on daemon start (NULL-terminated) */
	char *stream;	  /* NDJSON stream path (QEMU guest: /dev/hvc0), or NULL */
	bool crash_safe;  /* fsync the in-flight action before it runs (default yes) */
	char *label;	  /* kernel label for identity (overridden by --label) */
	char *reboot_command; /* sh -c command rebooting the rig ("systemctl reboot") */
	int64_t reboot_timeout_us; /* then reboot(2) when the machine is still up (300 s) */
	/* "FILE:LINE" of a `token =` with no value that left ingest off (neither token nor
	 * token-file set), for a warning; NULL otherwise */
	char *token_emptied_at;
};

/* [push]: send every run (finished, and the progress of running ones) to a central
 * probestormd's POST /api/v1/bundles (daemon/push.h). Active when url is set. */
struct conf_push {
	char *url;	     /* base URL of the central daemon, "http(s)://HOST[:PORT]" */
	char *token;	     /* its bearer token ... */
	char *token_file;    /* ... or a file holding it (exactly one of the two) */
	char *ca_file;	     /* CA bundle for https (libcurl's CURLOPT_CAINFO), or NULL */
	int64_t timeout_us;  /* per request, default 30 s */
	int64_t interval_us; /* progress of running runs at most this often (0: only at
				* the end of a run), default 60 s */
	char *spool_dir;     /* default LOCALSTATEDIR "/lib/probestorm/spool" */
	int64_t max_backoff_us; /* cap of the retry delay, default 5 min */
};

struct conf_target {
	char *name;
	char *kind;		 /* "local" or "qemu" */
	char *sysroot;		 /* kio root for local targets ("" = real), test use */
	char *cmdline;		 /* qemu: extra kernel command line */
	char **variants;	 /* qemu: kernel variants to boot (NULL-terminated) */
	int64_t boot_timeout_us; /* qemu: guest boot timeout */
};

struct conf_device {
	char *name;    /* topology name, used in steps */
	bool consumer; /* [consumer NAME] vs [supplier NAME] */
	char *bus;     /* default "platform" */
	char *device;  /* device name under /sys/bus/<bus>/devices */
	char *driver;  /* driver name under /sys/bus/<bus>/drivers */
	char *module;  /* module name (for rmmod/modprobe) or NULL */
	char **iommus; /* consumers: names of the suppliers it uses (NULL-terminated) */
	bool expect_iommu; /* consumers: must end with an iommu_group (default yes) */
	char *expect_domain; /* consumers: acceptable group types, e.g. "DMA DMA-FQ" (default)
				* or "identity" for the simulated SysMMU; "any" accepts all */
};

struct conf_load {
	char *name;
	char *stress_args; /* stress-ng arguments, e.g. "--cpu 2 --cpu-load 50" */
	bool per_cycle;	   /* restart per cycle instead of per campaign */
};

/* One sub-step of a scenario line. */
struct conf_step {
	enum step_verb verb;
	char *arg;	      /* topology name / module / path / duration */
	char *params;	      /* insmod/modprobe parameters, NULL if none */
	int64_t offset_us;    /* start offset within its concurrent group */
	bool offset_is_sweep; /* offset given as ${NAME}: replaced by the sweep value */
	int64_t timeout_us; /* wait-bound timeout (0: campaign deadline) / sleep length */
};

/* One line `step = ...`: a single step, or `concurrent a @x, b @y` (n_steps > 1 or
 * concurrent = true). */
struct conf_step_group {
	bool concurrent;
	struct conf_step *steps;
	size_t n_steps;
	unsigned line; /* source line, for messages */
};

struct conf_scenario {
	char *name;
	char *description;
	struct conf_step_group *groups;
	size_t n_groups;
	char *text; /* the step lines as written, joined by '\n' (stored with runs) */
};

struct conf_campaign {
	char *name;
	char *target;	 /* target name */
	char *scenario;	 /* scenario name */
	int64_t cycles;	 /* per sweep point (or total without sweep); 1..10,000,000 */
	char *sweep_var; /* NULL = no sweep */
	int64_t sweep_from_us, sweep_to_us;
	int64_t sweep_steps;	   /* >= 2 */
	int64_t action_timeout_us; /* default 5 s */
	int64_t deadline_us;	   /* cycle deadline for consumers to bind, default 2 s */
	int64_t settle_us;	   /* pause between cycles, default 0 */
	char *load;		   /* load profile name or NULL */
	char *schedule;		   /* daemon: "boot", "daily HH:MM", or NULL (manual) */
	int64_t max_consecutive_hangs; /* abort the run after this many, default 3; 0 never */
	char *on_wedged; /* "reboot" (default), "abort" or "continue": after a hang or oops */
	int64_t max_reboots; /* wedged-cycle reboots a run may take, default 10; 0 no cap */
	bool realtime;	     /* SCHED_FIFO workers, mlockall (as root; default no) */
};

struct conf {
	struct conf_daemon daemon;
	struct conf_push push;
	struct conf_target *targets;
	size_t n_targets;
	struct conf_device *devices;
	size_t n_devices;
	struct conf_load *loads;
	size_t n_loads;
	struct conf_scenario *scenarios;
	size_t n_scenarios;
	struct conf_campaign *campaigns;
	size_t n_campaigns;
};

/* Loads main_path, then every *.conf in dropin_dir (may be NULL or missing). On failure
 * returns negative errno and, when ret_error is non-NULL, a malloc'd "file:line: message"
 * (or "file: message"). Cross-references (campaign -> scenario/target/load, steps ->
 * topology names, iommus -> suppliers) are checked too. */
int conf_load(const char *main_path, const char *dropin_dir, struct conf **ret,
	      char **ret_error);
/* Parses a config held in memory (tests); name is used in messages. Same contract. */
int conf_load_string(const char *name, const char *text, struct conf **ret,
		     char **ret_error);
void conf_free(struct conf *c);

/* What --check-config looks at beyond the syntax: the files the daemon will open at
 * startup. [daemon] and [push] token-file must be readable regular files holding a
 * token, [daemon] stream must not be a directory and its directory must exist. 0, or
 * the first problem as a negative errno and a malloc'd message in *ret_error. Opens
 * without blocking (a FIFO is refused, not waited on); reads nothing else. */
int conf_check_files(const struct conf *c, char **ret_error);

/* Lookups by name; NULL if absent. */
const struct conf_device *conf_device_find(const struct conf *c, const char *name);
const struct conf_scenario *conf_scenario_find(const struct conf *c, const char *name);
const struct conf_campaign *conf_campaign_find(const struct conf *c, const char *name);
const struct conf_target *conf_target_find(const struct conf *c, const char *name);
const struct conf_load *conf_load_find(const struct conf *c, const char *name);

/* For the topology check against sysfs (kernel/topology.h), which the parser does not do:
 * whether a step of verb v names a topology device (bind, unbind, probe, wait-bound), and
 * whether a module step of s (modprobe, rmmod; insmod by its file name) names module, '-'
 * and '_' alike as the kernel treats them. Pure; s and module are not NULL. */
bool conf_step_uses_device(enum step_verb v);
bool conf_scenario_manages_module(const struct conf_scenario *s, const char *module);
