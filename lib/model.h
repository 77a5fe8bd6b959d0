/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The data model shared by runner, collectors, storage, bundles and the compare engine,
 * using the vocabulary of DESIGN.md: run (campaign execution), cycle, action, observation,
 * kernel event, kernel identity, outcome. Plain structs, no typedefs; strings are owned
 * by the struct that holds them unless a comment says otherwise.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Outcomes in ascending severity: the most severe one observed in a cycle wins. */
enum outcome {
	OUTCOME_OK,
	OUTCOME_DEFERRED_OK,
	OUTCOME_UNBOUND,
	OUTCOME_PROBE_FAILED,
	OUTCOME_WARN,
	OUTCOME_NO_IOMMU,
	OUTCOME_LATE_IOMMU_PROBE,
	OUTCOME_HANG,
	OUTCOME_OOPS,
	OUTCOME_CRASH,
	_OUTCOME_MAX,
	_OUTCOME_INVALID = -EINVAL,
};

/* "ok", "deferred_ok", ..., "crash"; NULL for out-of-range values. */
const char *outcome_to_string(enum outcome o);
/* Returns the outcome or -EINVAL for an unknown name. */
int outcome_from_string(const char *s);
static inline enum outcome outcome_worst(enum outcome a, enum outcome b)
{
	return a > b ? a : b;
}

/* Classes of kernel events, as the kmsg/tracefs/pstore collectors classify them. */
enum event_class {
	EVENT_INFO,		/* anything not classified */
	EVENT_MARKER,		/* probestorm's own cycle/action marker in kmsg */
	EVENT_LATE_IOMMU_PROBE, /* the WARN "late IOMMU probe at driver bind, ..." */
	EVENT_WARN,		/* "WARNING: ..." (other than the late-probe WARN) */
	EVENT_OOPS,		/* "Unable to handle kernel", "Internal error", BUG: */
	EVENT_PANIC,		/* "Kernel panic - not syncing" */
	EVENT_HUNG_TASK,	/* "INFO: task X blocked for more than N seconds." */
	EVENT_DEFERRED_TIMEOUT, /* "deferred probe timeout, ignoring dependency" */
	EVENT_PROBE_FAILED,	/* "probe with driver X failed with error N", ... */
	EVENT_PROBE_TIME,	/* initcall_debug "probe of X returned R after N usecs" */
	EVENT_IOMMU_TRACE,	/* tracefs iommu:* events */
	EVENT_UEVENT,		/* bind/unbind uevents */
	_EVENT_CLASS_MAX,
};
const char *event_class_to_string(enum event_class c);
int event_class_from_string(const char *s);

enum event_source {
	SOURCE_KMSG,
	SOURCE_UEVENT,
	SOURCE_TRACEFS,
	SOURCE_PSTORE,
	SOURCE_CONSOLE,
	_SOURCE_MAX,
};
const char *event_source_to_string(enum event_source s);
int event_source_from_string(const char *s);

/* What identifies a kernel: two kernels are compared by identity, not by name. */
struct kernel_identity {
	char *release;	  /* uname -r */
	char *version;	  /* uname -v */
	char *build_id;	  /* GNU build id from /sys/kernel/notes, hex; may be NULL */
	char *cmdline;	  /* /proc/cmdline, trailing newline removed */
	char *label;	  /* user label (e.g. "stock", "lkml-v1"); may be NULL */
	char *patches;	  /* the builder's "name@sha" patches, space-separated, or NULL */
	char *fw_devlink; /* value from cmdline or NULL (kernel default) */
	char *deferred_probe_timeout; /* value from cmdline or NULL (kernel default) */
};
void kernel_identity_done(struct kernel_identity *k);

/* One kernel record, parsed and classified. */
struct kernel_event {
	enum event_source source;
	enum event_class class;
	int64_t seq;   /* kmsg sequence number (per boot), uevent SEQNUM, or -1 */
	int64_t ts_ns; /* CLOCK_MONOTONIC ns (kmsg usec * 1000; same clock) */
	int prio;      /* syslog priority 0..7, -1 if none */
	int boot;      /* boot number within the run (0 for non-reboot campaigns) */
	char *device;  /* "platform:decon" style device ("DEVICE=" or parsed), or NULL */
	char *message; /* first line of the record (or of the trace/uevent) */
	char *detail;  /* continuation lines / JSON extras, or NULL */
};
void kernel_event_done(struct kernel_event *e);

/* The steps of a scenario (see config). */
enum step_verb {
	STEP_UNBIND,
	STEP_BIND,
	STEP_PROBE,    /* write device name to /sys/bus/<bus>/drivers_probe */
	STEP_INSMOD,   /* finit_module(path, params) */
	STEP_MODPROBE, /* run modprobe NAME params */
	STEP_RMMOD,    /* delete_module(name) */
	STEP_SLEEP,
	STEP_WAIT_BOUND, /* wait until the device is bound (or timeout) */
	STEP_REBOOT,
	_STEP_VERB_MAX,
};
const char *step_verb_to_string(enum step_verb v);
int step_verb_from_string(const char *s);

/* One executed action of a cycle: a sysfs write, a module operation, a sleep, a wait. */
struct action_record {
	int idx;   /* order within the cycle */
	int group; /* concurrent group number, -1 for a sequential step */
	enum step_verb verb;
	char *arg;	   /* topology name, module name or path, duration text */
	char *params;	   /* module parameters or NULL */
	int64_t offset_us; /* planned start offset within its group */
	/* planned start, CLOCK_MONOTONIC (group t0 + offset); 0 when it had none (a
	 * sequential step) or was not recorded */
	int64_t planned_ns;
	int64_t start_ns; /* CLOCK_MONOTONIC */
	int64_t end_ns;	  /* 0 when it did not return (hang) */
	int err;	  /* 0 or positive errno the operation returned */
	bool hung;	  /* did not return within its timeout */
	/* thread id (gettid) of the runner's worker that performed it, 0 when unknown: the
	 * kmsg collector matches it against a report's printing task. Not stored. */
	int tid;
};
void action_record_done(struct action_record *a);
/* start_ns - planned_ns; false (ret_ns untouched) when the action has no planned start or
 * never started. */
bool action_record_lateness(const struct action_record *a, int64_t *ret_ns);

/* What was observed about one device of the topology at the end of a cycle. */
struct observation {
	char *device;		  /* topology name */
	bool consumer;		  /* consumer (true) or supplier (false) */
	char *driver;		  /* bound driver name or NULL */
	int iommu_group;	  /* group id, -1 when none */
	char *domain_type;	  /* /sys/kernel/iommu_groups/N/type, or NULL */
	int64_t time_to_bound_ns; /* releasing action to bind uevent; -1 if unbound */
	int deferrals;		  /* how often it was seen deferred in this cycle */
	char *deferred_reason;	  /* last devices_deferred reason, or NULL */
	enum outcome outcome;	  /* per-device outcome */
	/* bound (driver link present) while its probe had not returned: no bind uevent
	 * since its last unbind. Seen by the runner at the cycle's end, not stored: the
	 * stored outcome (hang) carries it. */
	bool probing;
};
void observation_done(struct observation *o);

struct cycle_record {
	int64_t seq;   /* cycle number within the run, from 0 */
	int boot;      /* boot number (reboot campaigns) */
	char *boot_id; /* the kernel's boot_id in that boot, or NULL when not known */
	bool has_sweep;
	int64_t sweep_value; /* value of the swept variable (µs) */
	int64_t start_ns;
	int64_t end_ns;
	enum outcome outcome;
	int deferrals;
	char *note; /* free text: why the outcome (e.g. "decon: late IOMMU probe") */
	struct action_record *actions;
	size_t n_actions;
	struct observation *observations;
	size_t n_observations;
	struct kernel_event *events;
	size_t n_events;
};
void cycle_record_done(struct cycle_record *c);
/* The largest |lateness| among the concurrent-group actions of a cycle; false when none
 * of them has a planned start. */
bool cycle_record_max_lateness(const struct cycle_record *c, int64_t *ret_ns);

struct run_record {
	char uuid[37];
	char *campaign;
	char *scenario;
	char *scenario_text; /* the scenario steps as configured (for reproduction) */
	char *target;	     /* target name */
	char *target_kind;   /* "local" or "qemu" */
	char *hostname;
	char *load_profile; /* name or NULL */
	char *load_args;    /* stress-ng arguments or NULL */
	char *load_metrics; /* stress-ng --yaml output (text) or NULL */
	char *sweep_var;    /* swept variable name or NULL */
	char *consumers;    /* the consumers the runner observes, space-separated, or NULL
			     * (not known: recorded by an older producer) */
	int64_t cycles_planned;
	char *started_at;    /* UTC, ISO 8601 */
	char *finished_at;   /* NULL while running */
	char *status;	     /* "running", "finished", "aborted", "interrupted" */
	char *status_reason; /* why it ended so (e.g. what aborted it), or NULL */
	struct kernel_identity kernel;
};
void run_record_done(struct run_record *r);
