/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Campaign runner (see runner.h).
 *
 * Attribution: every cycle is framed by "probestorm: run=UUID cycle=N begin|end" records
 * written to /dev/kmsg, so each kernel record lands in exactly one cycle; before a group of
 * actions that can take the kernel down, the in-flight action is stored (and streamed), so a
 * crash found afterwards names the exact action.
 *
 * Sweeps interleave: cycle k uses sweep point k mod steps, so slow drift of the target (heat,
 * fragmentation, log growth) spreads evenly over the offsets instead of biasing the last ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "action.h"
#include "bundle.h"
#include "collector.h"
#include "db.h"
#include "db-runner.h"
#include "death.h"
#include "kio.h"
#include "kparse.h"
#include "pstore.h"
#include "kmsg.h"
#include "log.h"
#include "macro.h"
#include "outcome.h"
#include "runner.h"
#include "stress.h"
#include "topology.h"
#include "uevent.h"
#include "deferred.h"
#include "util.h"

#define POLL_INTERVAL_NS (2 * NSEC_PER_MSEC)
/* From handing a concurrent group to the workers to its t0: covers waking them, their
 * opening of files and the burst of kernel and collector work the previous step left
 * (under QEMU TCG, with 2 ms an offset-0 action was more than 1 ms late in 30% of the
 * cycles, with 10 ms in 4%); it adds this much to every cycle. */
#define GROUP_LEAD_NS (10 * NSEC_PER_MSEC)

struct collector_slot {
	const struct collector_ops *ops;
	void *state;
	bool active;
};

struct runner {
	bool module_error_logged; /* runner_note_module_errors() warned once this run */
	const struct conf *conf;
	const struct conf_campaign *camp;
	const struct conf_scenario *scen;
	const struct runner_opts *opts;
	struct run_record run;
	int64_t run_id;
	struct collector_ctx ctx;
	struct collector_slot slots[5];
	size_t n_slots;
	struct action_exec *exec;
	bool mlocked;
	struct stress *stress;
	/* the devices the scenario touches, for observation and classification */
	const struct conf_device *devs[64];
	struct outcome_device odevs[64];
	size_t n_devs;
	int64_t consecutive_hangs;
	char *boot_id; /* this boot's, NULL when the kernel does not say */
	int64_t next_seq[_SOURCE_MAX]; /* for events whose source numbers nothing */
	struct bundle_line line;       /* the stream's cycle and inflight lines */
	/* where a cycle's step time went, for the debug log */
	int64_t inflight_ns, exec_ns, op_ns;
	struct runner_progress progress;
};

static const struct collector_ops *const collectors_all[] = {
	&collector_sysfs, &collector_deferred, &collector_uevent,
	&collector_kmsg,  &collector_tracefs,
};

static void *runner_slot_state(struct runner *r, const struct collector_ops *ops)
{
	for (size_t i = 0; i < r->n_slots; i++)
		if (r->slots[i].ops == ops && r->slots[i].active)
			return r->slots[i].state;
	return NULL;
}

static int runner_add_device(struct runner *r, const char *name)
{
	const struct conf_device *d = conf_device_find(r->conf, name);

	if (!d)
		return -ENOENT;
	for (size_t i = 0; i < r->n_devs; i++)
		if (r->devs[i] == d)
			return 0;
	if (r->n_devs >= ARRAY_SIZE(r->devs))
		return -E2BIG;
	r->devs[r->n_devs] = d;
	r->odevs[r->n_devs] = (struct outcome_device){
		.name = d->name,
		.kernel_name = d->device,
		.bus = d->bus,
		.consumer = d->consumer,
		.expect_iommu = d->expect_iommu,
		.expect_domain = d->expect_domain,
	};
	r->n_devs++;
	return 0;
}

/* Every consumer the scenario touches, plus the suppliers those consumers use. */
static int runner_collect_devices(struct runner *r)
{
	int k;

	for (size_t g = 0; g < r->scen->n_groups; g++)
		for (size_t s = 0; s < r->scen->groups[g].n_steps; s++) {
			const struct conf_step *st = &r->scen->groups[g].steps[s];

			if (conf_step_uses_device(st->verb) &&
			    (k = runner_add_device(r, st->arg)) < 0)
				return k;
		}
	/* A scenario that names no device (reboot, module loads only) is about them all. */
	if (r->n_devs == 0)
		for (size_t i = 0; i < r->conf->n_devices; i++)
			if (r->conf->devices[i].consumer &&
			    (k = runner_add_device(r, r->conf->devices[i].name)) < 0)
				return k;
	for (size_t i = 0; i < r->n_devs; i++)
		if (r->devs[i]->consumer && r->devs[i]->iommus)
			for (char **p = r->devs[i]->iommus; *p; p++)
				if ((k = runner_add_device(r, *p)) < 0)
					return k;
	return 0;
}

int runner_preflight(const struct conf *conf, const char *campaign, char **ret_error)
{
	const struct conf_campaign *camp = conf_campaign_find(conf, campaign);
	const struct conf_target *t;
	char p[PATH_MAX];
	int r;

	if (!camp) {
		*ret_error = strprintf("no campaign '%s' in the configuration", campaign);
		return -ENOENT;
	}
	t = conf_target_find(conf, camp->target);
	if (t && t->kind && !streq(t->kind, "local")) {
		*ret_error = strprintf(
			"campaign '%s' is for %s target '%s': run it with 'probestorm qemu', or on the target itself",
			campaign, t->kind, t->name);
		return -EOPNOTSUPP;
	}
	if (t && t->sysroot && *t->sysroot)
		kio_set_root(t->sysroot);
	if (!*kio_root() && geteuid() != 0) {
		*ret_error = strprintf(
			"must run as root: campaign '%s' writes to /sys/bus and /dev/kmsg",
			campaign);
		return -EPERM;
	}
	r = kio_path(p, sizeof(p), "/sys/kernel/debug/devices_deferred");
	if (r < 0 || !kio_exists(p)) {
		*ret_error = strprintf(
			"debugfs is not mounted (no %s): mount -t debugfs debugfs /sys/kernel/debug",
			p);
		return -ENOENT;
	}
	r = kio_path(p, sizeof(p), "/dev/kmsg");
	if (r < 0 || access(p, W_OK) < 0) {
		*ret_error = strprintf("cannot write '%s': needed for cycle markers", p);
		return -EACCES;
	}
	r = topology_check(conf, camp, ret_error);
	if (r < 0)
		return r;
	if (camp->load) {
		const struct conf_load *l = conf_load_find(conf, camp->load);

		if (l && l->stress_args && !stress_available()) {
			*ret_error = strprintf(
				"load profile '%s' needs stress-ng, which is not installed (apt-get install stress-ng)",
				l->name);
			return -ENOENT;
		}
	}
	return 0;
}

/* Writes one bundle line (taking j) and flushes it: a guest may die right after. */
static int runner_stream(struct runner *r, json_t *j)
{
	int k;

	if (!j)
		return log_oom();
	k = bundle_write_line(r->opts->stream, j);
	json_decref(j);
	if (k >= 0 && fflush(r->opts->stream) != 0)
		k = negative_errno();
	if (k < 0)
		return log_error_errno(k, "Failed to write the NDJSON stream");
	return 0;
}

/* Writes the line in r->line, flushed, in one write(2). */
static int runner_stream_line(struct runner *r)
{
	int k = bundle_line_write(r->opts->stream, &r->line);

	if (k < 0)
		return log_error_errno(k, "Failed to write the NDJSON stream");
	return 0;
}

/* Fill a job for one step; returns 1 if the step is a job, 0 if the runner handles it
 * itself (sleep, wait-bound, reboot), negative errno on failure. */
static int runner_job_for_step(struct runner *r, const struct conf_step *st,
			       struct action_job *j)
{
	const struct conf_device *d = NULL;
	int k;

	memset(j, 0, sizeof(*j));
	if (conf_step_uses_device(st->verb)) {
		d = conf_device_find(r->conf, st->arg);
		if (!d)
			return -ENOENT;
	}
	switch (st->verb) {
	case STEP_UNBIND:
	case STEP_BIND:
	case STEP_PROBE:
		j->op = ACTION_WRITE;
		if (st->verb == STEP_UNBIND)
			k = kio_unbind_path(d->bus, d->driver, j->path, sizeof(j->path));
		else if (st->verb == STEP_BIND)
			k = kio_bind_path(d->bus, d->driver, j->path, sizeof(j->path));
		else
			k = kio_drivers_probe_path(d->bus, j->path, sizeof(j->path));
		if (k < 0)
			return k;
		snprintf(j->payload, sizeof(j->payload), "%s", d->device);
		return 1;
	case STEP_INSMOD:
		j->op = ACTION_INSMOD;
		if (snprintf(j->path, sizeof(j->path), "%s", st->arg) >=
		    (int)sizeof(j->path))
			return -ENAMETOOLONG;
		snprintf(j->payload, sizeof(j->payload), "%s",
			 st->params ? st->params : "");
		return 1;
	case STEP_RMMOD:
		j->op = ACTION_RMMOD;
		snprintf(j->payload, sizeof(j->payload), "%s", st->arg);
		return 1;
	case STEP_MODPROBE:
		j->op = ACTION_MODPROBE;
		snprintf(j->payload, sizeof(j->payload), "%s%s%s", st->arg,
			 st->params ? " " : "", st->params ? st->params : "");
		return 1;
	case STEP_SLEEP: j->op = ACTION_SLEEP; return 1;
	default: return 0;
	}
}

static int64_t step_offset_us(const struct runner *r, const struct conf_step *st,
			      int64_t sweep)
{
	return st->offset_is_sweep ? sweep : st->offset_us;
}

static bool runner_device_bound(const struct conf_device *d)
{
	_cleanup_free_ char *drv = NULL;

	return kio_device_driver(d->bus, d->device, &drv) == 0;
}

/* Bound, and its probe returned. The driver link appears when really_probe() sets
 * dev->driver, before it calls the driver's probe; the bind uevent is sent after the probe
 * returned. A link without a bind uevent since the last unbind is a probe still running
 * (or asleep in the kernel). Without the uevent collector the link alone has to do. */
static bool runner_consumer_done(struct runner *r, const struct conf_device *d)
{
	void *ue = runner_slot_state(r, &collector_uevent);

	if (!runner_device_bound(d))
		return false;
	return !ue || uevent_probe_pending(ue, d->device) != 1;
}

static bool runner_consumers_bound(struct runner *r)
{
	for (size_t i = 0; i < r->n_devs; i++)
		if (r->devs[i]->consumer && !runner_consumer_done(r, r->devs[i]))
			return false;
	return true;
}

/* Consumers seen bound at the cycle's end whose probe had still not returned: hang, not
 * deferred_ok or ok (outcome.c). Checked after the sysfs collector saw the link, so a
 * bind uevent that is still missing now was missing then too. */
static void runner_mark_probing(struct runner *r, struct cycle_record *c)
{
	void *ue = runner_slot_state(r, &collector_uevent);

	if (!ue)
		return;
	for (size_t i = 0; i < r->n_devs; i++) {
		const struct conf_device *d = r->devs[i];
		struct observation *o = cycle_find_observation(c, d->name);

		if (d->consumer && o && o->driver &&
		    uevent_probe_pending(ue, d->device) == 1) {
			o->probing = true;
			log_warning(
				"run %s cycle %lld: %s is bound but its probe has not returned",
				r->run.uuid, (long long)c->seq, d->name);
		}
	}
}

static int runner_append_action(struct cycle_record *c, const struct conf_step *st,
				int group, int64_t offset_us, const struct action_job *j)
{
	struct action_record *a;
	struct action_record *n = realloc(c->actions, (c->n_actions + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	c->actions = n;
	a = &c->actions[c->n_actions];
	*a = (struct action_record){
		.idx = (int)c->n_actions,
		.group = group,
		.verb = st->verb,
		.arg = strdup(st->arg ? st->arg : ""),
		.params = strdup_null(st->params),
		.offset_us = offset_us,
		.planned_ns = j->start_at_ns,
		.start_ns = j->start_ns,
		.end_ns = j->end_ns,
		.err = j->err,
		.hung = j->hung,
		.tid = j->tid,
	};
	if (!a->arg || (st->params && !a->params)) {
		action_record_done(a);
		return -ENOMEM;
	}
	c->n_actions++;
	return 0;
}

/* What an in-flight record keeps of cycle c: its seq, boot and sweep value, with this
 * boot's boot_id (a shallow view: nothing to free). */
static struct cycle_record runner_inflight_view(const struct runner *r,
						const struct cycle_record *c)
{
	return (struct cycle_record){ .seq = c->seq,
				      .boot = c->boot,
				      .has_sweep = c->has_sweep,
				      .sweep_value = c->sweep_value,
				      .boot_id = r->boot_id };
}

/* Stores the in-flight action before the kernel gets to act on it. For a concurrent group
 * the first member is the action and the whole group ("bind sysmmu-b @0us, probe decon
 * @40000us, ...") goes along (params in the database, "group" in the stream): a crash in a
 * group may come from any member, and the console's trace tells which. */
static void runner_mark_inflight(struct runner *r, struct cycle_record *c,
				 const struct conf_step *const *steps,
				 const int64_t *offsets, size_t n, int group)
{
	struct action_record a = {
		.idx = (int)c->n_actions,
		.group = group,
		.verb = steps[0]->verb,
		.arg = (char *)steps[0]->arg,
		.start_ns = now_ns(),
	};
	const struct cycle_record view = runner_inflight_view(r, c);
	char desc[512] = "";
	size_t len = 0;

	for (size_t i = 0; n > 1 && i < n && len < sizeof(desc); i++) {
		int w = snprintf(desc + len, sizeof(desc) - len, "%s%s %s @%lldus",
				 i ? ", " : "", step_verb_to_string(steps[i]->verb),
				 steps[i]->arg ? steps[i]->arg : "",
				 (long long)offsets[i]);
		if (w > 0)
			len += (size_t)w;
	}
	if (len > 0)
		a.params = desc;
	if (r->opts->db) {
		int k = db_inflight_set(r->opts->db, r->run_id, &view, &a);
		if (k < 0)
			log_warning_errno(k, "Failed to record the in-flight action");
	}
	if (r->opts->stream) {
		int k = bundle_inflight_format(&r->line, r->run.uuid, &view, a.idx,
					       step_verb_to_string(a.verb),
					       a.arg ? a.arg : "", len > 0 ? desc : NULL);

		if (k < 0)
			log_oom();
		else
			runner_stream_line(r);
	}
}

/* When the machine was asked to reboot (now_ns()), 0 when it was not. Process-wide: a
 * reboot is the machine's, whichever thread asked; runner_reboot_check() falls back to
 * reboot(2) when it does not come. */
static _Atomic int64_t runner_reboot_ns;

int64_t runner_reboot_requested_ns(void)
{
	return atomic_load(&runner_reboot_ns);
}

/* Runs the reboot command through /bin/sh -c and waits for it, at most timeout_us: 0 when
 * it exited 0, or when *stop was set meanwhile (SIGTERM: the shutdown it asked for is
 * under way; systemctl may wait for its job until then). Else a negative errno, logged;
 * a command still running at the timeout is killed. */
static int runner_reboot_command(const char *cmd, int64_t timeout_us,
				 const volatile sig_atomic_t *stop)
{
	int64_t end = now_ns() + timeout_us * NSEC_PER_USEC;
	pid_t pid, w;
	int st;

	pid = fork();
	if (pid < 0)
		return log_error_errno(errno, "Failed to fork for '%s'", cmd);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		w = waitpid(pid, &st, WNOHANG);
		if (w < 0 && errno != EINTR)
			return log_error_errno(errno, "Failed to wait for '%s'", cmd);
		if (w == pid)
			break;
		if (stop && *stop)
			return 0;
		if (now_ns() >= end) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
			log_error(
				"reboot command '%s' still running after %lld s, killed",
				cmd, (long long)(timeout_us / USEC_PER_SEC));
			return -ETIME;
		}
		sleep_until_ns(now_ns() + 50 * NSEC_PER_MSEC);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		log_error("reboot command '%s' failed (%s %d)", cmd,
			  WIFEXITED(st) ? "exit status" : "signal",
			  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return -EIO;
	}
	return 0;
}

/*
 * Reboots the machine, for a reboot step or a wedged cycle, after the run's state is
 * stored. On a rig (a database) the configured reboot-command first, `systemctl reboot`
 * by default: a clean shutdown stops the services (this daemon included, by SIGTERM) and
 * flushes the journal and the file systems. When it fails or outlasts reboot-timeout,
 * and when no command is configured, reboot(2) at once after sync(). A guest that only
 * streams has no service manager to ask: reboot(2). Returns 0 once the reboot is asked
 * for (reboot(2) does not return), a negative errno when even reboot(2) failed.
 */
static int runner_reboot_machine(struct runner *r)
{
	const char *cmd = r->conf->daemon.reboot_command;
	int k;

	sync();
	if (r->opts->db && cmd && *cmd) {
		k = runner_reboot_command(cmd, r->conf->daemon.reboot_timeout_us,
					  r->opts->stop);
		if (k >= 0) {
			log_notice("run %s: reboot requested with '%s'", r->run.uuid,
				   cmd);
			atomic_store(&runner_reboot_ns, now_ns());
			return 0;
		}
		log_warning("run %s: '%s' did not reboot the machine; falling back to "
			    "reboot(2)",
			    r->run.uuid, cmd);
	}
	log_notice("run %s: rebooting with reboot(2)", r->run.uuid);
	k = kio_reboot();
	if (k < 0)
		return log_error_errno(k, "Failed to reboot");
	return 0;
}

int runner_reboot_check(const struct conf *conf)
{
	int64_t t = atomic_load(&runner_reboot_ns);
	int k;

	if (t == 0 || now_ns() - t < conf->daemon.reboot_timeout_us * NSEC_PER_USEC)
		return 0;
	atomic_store(&runner_reboot_ns, 0);
	log_error("no reboot %lld s after '%s' asked for it; rebooting with reboot(2)",
		  (long long)((now_ns() - t) / NSEC_PER_SEC),
		  conf->daemon.reboot_command ? conf->daemon.reboot_command : "");
	k = kio_reboot();
	if (k < 0)
		return log_error_errno(k, "Failed to reboot");
	return 1;
}

/*
 * A reboot ends the boot, not the cycle: the cycle's outcome is what the next boot shows.
 * So the cycle so far (its actions, with the reboot last) is stored durably where the next
 * boot finds it: in the run's in-flight record (params = the cycle as a bundle line) on a
 * rig with a database, and in the "inflight" line of the stream for a QEMU host to hand
 * back. The next boot completes it (runner_complete_reboot_cycle).
 */
static int runner_do_reboot(struct runner *r, struct cycle_record *c,
			    const struct conf_step *st)
{
	struct action_record *a,
		*n = realloc(c->actions, (c->n_actions + 1) * sizeof(*n));
	_cleanup_free_ char *partial = NULL;
	json_t *pj = NULL;
	int k;

	if (!n)
		return log_oom();
	c->actions = n;
	a = &c->actions[c->n_actions];
	*a = (struct action_record){ .idx = (int)c->n_actions,
				     .group = -1,
				     .verb = STEP_REBOOT,
				     .arg = strdup(""),
				     .start_ns = now_ns() };
	if (!a->arg)
		return log_oom();
	c->n_actions++;
	c->end_ns = a->start_ns;
	k = bundle_cycle_to_json(r->run.uuid, c, &pj);
	if (k < 0)
		return log_error_errno(k, "Failed to encode cycle %lld before the reboot",
				       (long long)c->seq);
	partial = json_dumps(pj, JSON_COMPACT);
	if (!partial) {
		json_decref(pj);
		return log_oom();
	}
	if (r->opts->db) {
		struct action_record ia = *a;
		const struct cycle_record view = runner_inflight_view(r, c);

		ia.params = partial;
		k = db_inflight_set(r->opts->db, r->run_id, &view, &ia);
		if (k < 0) {
			json_decref(pj);
			return log_error_errno(
				k, "Failed to store cycle %lld before the reboot: %s",
				(long long)c->seq, db_errmsg(r->opts->db));
		}
	}
	if (r->opts->stream) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:i, s:s, s:s, s:O}", "type",
				      "inflight", "run", r->run.uuid, "cycle",
				      (json_int_t)c->seq, "action", a->idx, "verb",
				      "reboot", "arg", "", "partial", pj);
		if (j && r->boot_id &&
		    json_object_set_new(j, "boot_id", json_string(r->boot_id)) < 0) {
			json_decref(j);
			j = NULL;
		}
		k = runner_stream(r, j);
		if (k < 0) {
			json_decref(pj);
			return k;
		}
	}
	json_decref(pj);
	log_notice("run %s cycle %lld: rebooting (boot %d ends here)", r->run.uuid,
		   (long long)c->seq, r->ctx.boot);
	(void)st;
	k = runner_reboot_machine(r);
	return k < 0 ? k : RUNNER_REBOOT;
}

static int runner_exec_group(struct runner *r, struct cycle_record *c,
			     const struct conf_step_group *g, int group_no, int64_t sweep)
{
	struct action_job jobs[32];
	const struct conf_step *steps[32];
	int64_t offsets[32];
	int64_t t0, max_off = 0, deadline, t_mark, t_exec;
	size_t n = 0;
	int k;

	if (g->n_steps > ARRAY_SIZE(jobs))
		return -E2BIG;
	for (size_t i = 0; i < g->n_steps; i++) {
		const struct conf_step *st = &g->steps[i];

		if (st->verb == STEP_REBOOT)
			return runner_do_reboot(r, c, st);
		if (st->verb == STEP_WAIT_BOUND) {
			const struct conf_device *d = conf_device_find(r->conf, st->arg);
			int64_t limit =
				now_ns() + (st->timeout_us > 0 ? st->timeout_us
							       : r->camp->deadline_us) *
						   NSEC_PER_USEC;
			struct action_job j = { .start_ns = now_ns() };

			while (!runner_device_bound(d) && now_ns() < limit)
				sleep_until_ns(now_ns() + POLL_INTERVAL_NS);
			j.end_ns = now_ns();
			j.err = runner_device_bound(d) ? 0 : ETIMEDOUT;
			k = runner_append_action(c, st, g->concurrent ? group_no : -1, 0,
						 &j);
			if (k < 0)
				return k;
			continue;
		}
		k = runner_job_for_step(r, st, &jobs[n]);
		if (k < 0)
			return log_error_errno(k, "Failed to prepare step '%s %s'",
					       step_verb_to_string(st->verb), st->arg);
		offsets[n] = step_offset_us(r, st, sweep);
		if (st->verb == STEP_SLEEP)
			offsets[n] += st->timeout_us;
		if (offsets[n] > max_off)
			max_off = offsets[n];
		steps[n++] = st;
	}
	if (n == 0)
		return 0;

	t_mark = now_ns();
	runner_mark_inflight(r, c, steps, offsets, n, g->concurrent ? group_no : -1);
	t_exec = now_ns();
	r->inflight_ns += t_exec - t_mark;
	t0 = now_ns() + (g->concurrent ? GROUP_LEAD_NS : 0);
	for (size_t i = 0; i < n; i++)
		jobs[i].start_at_ns = (g->concurrent || steps[i]->verb == STEP_SLEEP)
					      ? t0 + offsets[i] * NSEC_PER_USEC
					      : 0;
	deadline =
		t0 + max_off * NSEC_PER_USEC + r->camp->action_timeout_us * NSEC_PER_USEC;
	k = action_exec_run(r->exec, jobs, n, deadline);
	if (k < 0)
		return log_error_errno(k, "Failed to run actions");
	r->exec_ns += now_ns() - t_exec;
	for (size_t i = 0; i < n; i++) {
		int e = runner_append_action(c, steps[i], g->concurrent ? group_no : -1,
					     g->concurrent ? offsets[i] : 0, &jobs[i]);

		if (e < 0)
			return e;
		if (jobs[i].end_ns)
			r->op_ns += jobs[i].end_ns - jobs[i].start_ns;
		if (jobs[i].hung)
			log_warning(
				"run %s cycle %lld: '%s %s' did not return within %lld ms",
				r->run.uuid, (long long)c->seq,
				step_verb_to_string(steps[i]->verb), steps[i]->arg,
				(long long)(r->camp->action_timeout_us / 1000));
	}
	return 0;
}

/*
 * Time to bound: from the action that released the consumer to its bind uevent. The
 * releasing action is the later of the consumer's own last bind/probe and the last
 * bind/probe/insmod/modprobe of one of its suppliers that ended before the uevent.
 */
static void runner_time_to_bound(struct runner *r, struct cycle_record *c)
{
	void *ue = runner_slot_state(r, &collector_uevent);

	for (size_t i = 0; i < r->n_devs; i++) {
		const struct conf_device *d = r->devs[i];
		struct observation *o = cycle_find_observation(c, d->name);
		int64_t ref = 0, bound_ns;

		if (!d->consumer || !o || !o->driver)
			continue;
		for (size_t a = 0; a < c->n_actions; a++) {
			const struct action_record *ar = &c->actions[a];

			if ((ar->verb == STEP_BIND || ar->verb == STEP_PROBE) &&
			    streq(ar->arg, d->name))
				ref = ar->start_ns;
		}
		/* The driver link appears before probe() runs, the bind uevent after it returns:
		 * a consumer seen bound may still have its uevent in flight. Waiting for it only
		 * makes sense when this cycle bound or probed the consumer; otherwise (a module
		 * load bound it, or it stayed bound) take what has arrived. */
		if (!ue)
			continue;
		if (ref > 0 ? uevent_wait_bound(ue, d->device, ref,
						now_ns() + 200 * NSEC_PER_MSEC,
						&bound_ns) < 0
			    : uevent_bound_at(ue, d->device, c->start_ns, &bound_ns) < 0)
			continue;
		for (size_t a = 0; a < c->n_actions; a++) {
			const struct action_record *ar = &c->actions[a];
			bool supplier = false;

			if (!d->iommus || ar->end_ns <= 0 || ar->end_ns > bound_ns)
				continue;
			for (char **p = d->iommus; *p; p++)
				supplier = supplier || streq(*p, ar->arg);
			if (supplier &&
			    (ar->verb == STEP_BIND || ar->verb == STEP_PROBE) &&
			    ar->end_ns > ref)
				ref = ar->end_ns;
			if ((ar->verb == STEP_INSMOD || ar->verb == STEP_MODPROBE) &&
			    ar->end_ns > ref)
				ref = ar->end_ns;
		}
		if (ref > 0 && bound_ns >= ref)
			o->time_to_bound_ns = bound_ns - ref;
	}
}

/* Deferrals the kernel's own records did not show: bind writes that returned EAGAIN. */
static void runner_count_deferrals(struct runner *r, struct cycle_record *c)
{
	c->deferrals = 0;
	for (size_t i = 0; i < c->n_observations; i++) {
		struct observation *o = &c->observations[i];

		if (o->deferrals == 0)
			for (size_t a = 0; a < c->n_actions; a++)
				if (c->actions[a].verb == STEP_BIND &&
				    c->actions[a].err == EAGAIN &&
				    streq(c->actions[a].arg, o->device))
					o->deferrals++;
		if (o->consumer)
			c->deferrals += o->deferrals;
	}
}

int runner_note_module_errors(struct cycle_record *c)
{
	char note[512] = "";
	size_t len = c->note ? strlen(c->note) : 0;
	int n = 0;

	if (len >= sizeof(note))
		return 0;
	if (len)
		memcpy(note, c->note, len + 1);
	for (size_t a = 0; a < c->n_actions; a++) {
		const struct action_record *ar = &c->actions[a];
		int k;

		if (ar->err == 0 || !(ar->verb == STEP_RMMOD || ar->verb == STEP_INSMOD ||
				      ar->verb == STEP_MODPROBE))
			continue;
		k = snprintf(note + len, sizeof(note) - len, "%s%s %s: %s",
			     len ? "; " : "", step_verb_to_string(ar->verb),
			     ar->arg ? ar->arg : "", strerror(ar->err));
		if (k < 0 || (size_t)k >= sizeof(note) - len)
			break;
		len += (size_t)k;
		n++;
	}
	if (n == 0)
		return 0;
	free(c->note);
	c->note = strdup(note);
	return c->note ? 1 : -ENOMEM;
}

/* The sweep point of cycle seq (interleaved: see the top of this file). */
static int64_t runner_sweep_value(const struct conf_campaign *camp, int64_t seq)
{
	int64_t i = seq % camp->sweep_steps;

	return camp->sweep_from_us +
	       (camp->sweep_to_us - camp->sweep_from_us) * i / (camp->sweep_steps - 1);
}

static int runner_cycle(struct runner *r, int64_t seq, struct cycle_record *c)
{
	int64_t sweep = 0, deadline, t_steps;
	void *deferred = runner_slot_state(r, &collector_deferred);
	int k;

	c->seq = seq;
	c->boot = r->ctx.boot;
	c->boot_id = strdup_null(r->boot_id);
	if (r->boot_id && !c->boot_id)
		return log_oom();
	if (r->camp->sweep_var) {
		sweep = runner_sweep_value(r->camp, seq);
		c->has_sweep = true;
		c->sweep_value = sweep;
	}

	k = kmsg_write_marker(r->run.uuid, seq, false);
	if (k < 0)
		return log_error_errno(k,
				       "Failed to write the cycle marker to /dev/kmsg");
	for (size_t i = 0; i < r->n_slots; i++)
		if (r->slots[i].active && r->slots[i].ops->cycle_begin)
			r->slots[i].ops->cycle_begin(r->slots[i].state, &r->ctx, seq);

	c->start_ns = now_ns();
	r->inflight_ns = r->exec_ns = r->op_ns = 0;
	for (size_t g = 0; g < r->scen->n_groups; g++) {
		k = runner_exec_group(r, c, &r->scen->groups[g], (int)g, sweep);
		/* a reboot step: the next boot completes the cycle */
		if (k < 0 || k == RUNNER_REBOOT)
			return k;
	}
	deadline = now_ns() + r->camp->deadline_us * NSEC_PER_USEC;
	for (;;) {
		if (deferred)
			deferred_poll(deferred);
		if (runner_consumers_bound(r) || now_ns() >= deadline)
			break;
		sleep_until_ns(now_ns() + POLL_INTERVAL_NS);
	}
	c->end_ns = now_ns();
	t_steps = c->end_ns;

	k = kmsg_write_marker(r->run.uuid, seq, true);
	if (k < 0)
		return log_error_errno(k,
				       "Failed to write the cycle marker to /dev/kmsg");
	for (size_t i = 0; i < r->n_slots; i++) {
		if (!r->slots[i].active)
			continue;
		int64_t t0 = now_ns();

		k = r->slots[i].ops->cycle_end(r->slots[i].state, &r->ctx, c);
		if (k < 0)
			log_warning_errno(k, "Collector %s failed in cycle %lld",
					  r->slots[i].ops->name, (long long)seq);
		if (log_get_max_level() >= LOG_DEBUG)
			log_debug("cycle %lld: collector %s took %.3f ms", (long long)seq,
				  r->slots[i].ops->name,
				  (double)(now_ns() - t0) / NSEC_PER_MSEC);
	}
	if (log_get_max_level() >= LOG_DEBUG)
		log_debug(
			"cycle %lld: steps+wait %.3f ms (in-flight records %.3f, actions %.3f, of which in the kernel %.3f), collection %.3f ms",
			(long long)seq, (double)(t_steps - c->start_ns) / NSEC_PER_MSEC,
			(double)r->inflight_ns / NSEC_PER_MSEC,
			(double)r->exec_ns / NSEC_PER_MSEC,
			(double)r->op_ns / NSEC_PER_MSEC,
			(double)(now_ns() - t_steps) / NSEC_PER_MSEC);
	/* Every stored event needs (boot, source, seq) unique within the run: kmsg and uevent
	 * records bring their own sequence numbers, tracefs lines do not. */
	for (size_t i = 0; i < c->n_events; i++) {
		struct kernel_event *e = &c->events[i];

		e->boot = r->ctx.boot;
		if (e->seq < 0 && e->source < _SOURCE_MAX)
			e->seq = r->next_seq[e->source]++;
	}
	runner_time_to_bound(r, c);
	runner_mark_probing(r, c);
	runner_count_deferrals(r, c);
	k = outcome_classify(c, r->odevs, r->n_devs);
	if (k < 0)
		return k;
	k = runner_note_module_errors(c);
	if (k > 0 && !r->module_error_logged) {
		r->module_error_logged = true;
		log_warning("cycle %lld: a module step failed (%s); the cycle did not "
			    "reload what its scenario says",
			    (long long)seq, c->note);
	}
	return k < 0 ? k : 0;
}

static int runner_store_cycle(struct runner *r, const struct cycle_record *c)
{
	int k;

	if (r->opts->db) {
		k = db_cycle_insert(r->opts->db, r->run_id, c, NULL);
		if (k < 0)
			return log_error_errno(k, "Failed to store cycle %lld: %s",
					       (long long)c->seq, db_errmsg(r->opts->db));
		db_inflight_clear(r->opts->db, r->run_id);
	}
	if (r->opts->stream) {
		k = bundle_cycle_format(&r->line, r->run.uuid, c);
		if (k < 0)
			return log_error_errno(k, "Failed to encode cycle %lld",
					       (long long)c->seq);
		k = runner_stream_line(r);
		if (k < 0)
			return k;
	}
	return 0;
}

/*
 * The executor, its workers started before the first cycle. Against a real kernel, as
 * root, the run's memory is locked (no page fault between a planned start and the action)
 * and the workers run SCHED_FIFO where the executor allows it; whatever was not permitted
 * is skipped silently, and what was used is logged with the run.
 */
static int runner_start_exec(struct runner *r)
{
	struct action_exec_timing t;
	bool realtime = r->camp->realtime && !*kio_root() && geteuid() == 0;
	size_t most = 1;
	int k;

	k = action_exec_new(&r->exec);
	if (k < 0)
		return log_error_errno(k, "Failed to create the action executor");
	for (size_t g = 0; g < r->scen->n_groups; g++)
		if (r->scen->groups[g].n_steps > most)
			most = r->scen->groups[g].n_steps;
	if (realtime)
		r->mlocked = mlockall(MCL_CURRENT | MCL_FUTURE) == 0;
	k = action_exec_prepare(r->exec, most, realtime);
	if (k < 0)
		return log_error_errno(k, "Failed to start the action workers");
	action_exec_timing(r->exec, &t);
	log_info(
		"run %s: actions start by clock_nanosleep to %.0f us before the planned time, then a spin (clock resolution %lld ns); workers %s; memory %s",
		r->run.uuid, (double)t.spin_ns / NSEC_PER_USEC, (long long)t.clock_res_ns,
		t.fifo ? "SCHED_FIFO" : "SCHED_OTHER",
		r->mlocked ? "locked" : "not locked");
	return 0;
}

static int runner_start(struct runner *r, const char *label, const char *patches)
{
	const struct conf_target *t = conf_target_find(r->conf, r->camp->target);
	const struct conf_load *l =
		r->camp->load ? conf_load_find(r->conf, r->camp->load) : NULL;
	struct utsname u;
	int k;

	if (r->opts->resume_uuid) {
		if (strlen(r->opts->resume_uuid) != 36)
			return log_error_errno(EINVAL, "Bad run UUID '%s'",
					       r->opts->resume_uuid);
		memcpy(r->run.uuid, r->opts->resume_uuid, 37);
	} else {
		k = uuid_generate_v4(r->run.uuid);
		if (k < 0)
			return log_error_errno(k, "Failed to generate a run UUID");
	}
	/* from here on this thread's lines are about the run (runner_run clears it) */
	log_set_run(r->run.uuid);
	k = identity_collect(&r->run.kernel);
	if (k < 0)
		return log_error_errno(k, "Failed to read the kernel identity");
	k = identity_boot_id(&r->boot_id);
	if (k < 0)
		log_full_errno(
			LOG_INFO, k,
			"No boot_id from the kernel: a restart cannot tell a daemon death from a target death");
	r->run.kernel.label = strdup_null(label ? label : r->conf->daemon.label);
	r->run.kernel.patches = strdup_null(patches);
	r->run.campaign = strdup(r->camp->name);
	r->run.scenario = strdup(r->scen->name);
	r->run.scenario_text = strdup_null(r->scen->text);
	r->run.target = strdup(t ? t->name : r->camp->target ? r->camp->target : "local");
	r->run.target_kind = strdup("local");
	r->run.hostname = strdup(uname(&u) == 0 ? u.nodename : "unknown");
	r->run.load_profile = strdup_null(l ? l->name : NULL);
	r->run.load_args = strdup_null(l ? l->stress_args : NULL);
	r->run.sweep_var = strdup_null(r->camp->sweep_var);
	/* A cycle the target dies in counts for each of them (death_cycle_build). */
	for (size_t i = 0; i < r->n_devs; i++) {
		char *n;

		if (!r->odevs[i].consumer)
			continue;
		n = r->run.consumers
			    ? strprintf("%s %s", r->run.consumers, r->odevs[i].name)
			    : strdup(r->odevs[i].name);
		if (!n)
			return log_oom();
		free(r->run.consumers);
		r->run.consumers = n;
	}
	r->run.cycles_planned = r->progress.total;
	r->run.started_at = utc_now_iso();
	r->run.status = strdup("running");
	if (!r->run.campaign || !r->run.scenario || !r->run.target ||
	    !r->run.started_at || !r->run.status || !r->run.hostname ||
	    !r->run.target_kind)
		return log_oom();

	if (r->opts->db && r->opts->resume_uuid)
		k = db_run_find(r->opts->db, r->run.uuid, &r->run_id);
	else if (r->opts->db) {
		k = db_run_insert(r->opts->db, &r->run, &r->run_id);
		if (k >= 0)
			k = db_run_mark_local(r->opts->db, r->run_id);
	}
	if (r->opts->db) {
		if (k < 0)
			return log_error_errno(k, "Failed to record the run: %s",
					       db_errmsg(r->opts->db));
	}
	if (r->opts->stream) {
		json_t *j = NULL;

		k = bundle_run_to_json(&r->run, &j);
		if (k < 0)
			return log_error_errno(k, "Failed to encode the run");
		k = runner_stream(r, j);
		if (k < 0)
			return k;
	}

	r->ctx = (struct collector_ctx){
		.conf = r->conf,
		.campaign = r->camp,
		.run_uuid = r->run.uuid,
		.boot = r->opts->boot,
		.run_start_ns = now_ns(),
		.devices = r->devs,
		.n_devices = r->n_devs,
	};
	for (size_t i = 0; i < ARRAY_SIZE(collectors_all); i++) {
		struct collector_slot *s = &r->slots[r->n_slots++];

		s->ops = collectors_all[i];
		s->state = calloc(1, s->ops->state_size ? s->ops->state_size : 1);
		if (!s->state)
			return log_oom();
		k = s->ops->start ? s->ops->start(s->state, &r->ctx) : 0;
		if (k == -EOPNOTSUPP) {
			log_info("collector %s: not available on this kernel, skipped",
				 s->ops->name);
			continue;
		}
		if (k < 0)
			return log_error_errno(k, "Failed to start collector %s",
					       s->ops->name);
		s->active = true;
	}
	if (l && l->stress_args) {
		k = stress_start(l->stress_args, &r->stress);
		if (k < 0)
			return log_error_errno(k, "Failed to start stress-ng '%s'",
					       l->stress_args);
	}
	return runner_start_exec(r);
}

/* Tears the run down. status NULL leaves the run running (to be taken up in the next
 * boot); otherwise it is recorded, with reason (may be NULL), and streamed as the end. */
static void runner_finish(struct runner *r, const char *status, const char *reason)
{
	_cleanup_free_ char *metrics = NULL;
	_cleanup_free_ char *finished = utc_now_iso();

	if (r->stress) {
		int k = stress_stop(r->stress, &metrics);
		if (k < 0)
			log_warning_errno(k, "stress-ng did not end cleanly");
		r->stress = NULL;
	}
	for (size_t i = r->n_slots; i > 0; i--) {
		struct collector_slot *s = &r->slots[i - 1];
		int64_t t = now_ns();

		if (s->active && s->ops->stop)
			s->ops->stop(s->state);
		if (log_get_max_level() >= LOG_DEBUG)
			log_debug("collector %s stopped in %.3f ms", s->ops->name,
				  (double)(now_ns() - t) / NSEC_PER_MSEC);
		/* A collector's stop() releases what start() took; the slot memory is ours. */
		free(s->state);
		s->state = NULL;
	}
	r->n_slots = 0;
	if (status && r->opts->db && r->run_id > 0) {
		int k = db_run_finish(r->opts->db, r->run_id, status, finished, metrics);
		if (k >= 0 && reason)
			k = db_run_set_status_reason(r->opts->db, r->run_id, reason);
		if (k < 0)
			log_error_errno(k, "Failed to finish run %s: %s", r->run.uuid,
					db_errmsg(r->opts->db));
	}
	if (status && r->opts->stream) {
		json_t *j = NULL;

		if (bundle_end_to_json(r->run.uuid, status, reason, finished, metrics,
				       &j) >= 0)
			runner_stream(r, j);
	}
	action_exec_free(r->exec);
	r->exec = NULL;
	bundle_line_done(&r->line);
	if (r->mlocked)
		munlockall();
	r->mlocked = false;
}

/* Deferrals the kernel reported in boot records: "probe of X ... returned -517". */
static void runner_count_boot_deferrals(struct cycle_record *c)
{
	for (size_t i = 0; i < c->n_events; i++) {
		_cleanup_free_ char *dev = NULL, *drv = NULL;
		int64_t usecs;
		int ret;
		struct observation *o;

		if (c->events[i].class != EVENT_PROBE_TIME ||
		    kparse_probe_time(c->events[i].message, &dev, &drv, &ret, &usecs) < 0)
			continue;
		if ((ret == -517 || ret == 517) && (o = cycle_find_observation(c, dev)))
			o->deferrals++;
	}
}

/* The first cycle after a reboot: the stored partial cycle plus what this boot produced
 * (every classified kernel record of the boot, the sysfs state now), classified and
 * stored as that cycle. */
static int runner_complete_reboot_cycle(struct runner *r, const char *partial,
					int64_t seq)
{
	_cleanup_(cycle_record_done) struct cycle_record c = { 0 };
	_cleanup_free_ char *err = NULL;
	struct kernel_event *evs = NULL;
	size_t n_evs = 0;
	json_t *j;
	int k;

	j = json_loads(partial, 0, NULL);
	if (!j)
		return log_error_errno(
			EBADMSG, "The stored cycle %lld before the reboot is not JSON",
			(long long)seq);
	k = bundle_cycle_from_json(j, &c, &err);
	json_decref(j);
	if (k < 0)
		return log_error_errno(k, "The stored cycle %lld before the reboot: %s",
				       (long long)seq, err ? err : "unreadable");
	if (c.seq != seq)
		return log_error_errno(EINVAL, "The stored cycle is %lld, expected %lld",
				       (long long)c.seq, (long long)seq);
	c.boot = r->ctx.boot;
	free(c.boot_id);
	c.boot_id = strdup_null(r->boot_id);
	if (r->boot_id && !c.boot_id)
		return log_oom();
	/* Probes of the boot may still run (asynchronous probing, deferred probe work). */
	for (int64_t deadline = now_ns() + r->camp->deadline_us * NSEC_PER_USEC;
	     !runner_consumers_bound(r) && now_ns() < deadline;)
		sleep_until_ns(now_ns() + POLL_INTERVAL_NS);
	k = kmsg_read_boot(&evs, &n_evs);
	if (k < 0)
		log_warning_errno(k, "Cannot read this boot's kernel records");
	for (size_t i = 0; i < n_evs; i++) {
		evs[i].boot = r->ctx.boot;
		if (cycle_add_event(&c, &evs[i]) < 0) {
			kmsg_events_free(evs, n_evs);
			return log_oom();
		}
	}
	kmsg_events_free(evs, n_evs);
	k = collector_sysfs.cycle_end(runner_slot_state(r, &collector_sysfs), &r->ctx,
				      &c);
	if (k < 0)
		return k;
	for (size_t i = 0; i < c.n_events; i++)
		if (c.events[i].seq < 0 && c.events[i].source < _SOURCE_MAX)
			c.events[i].seq = r->next_seq[c.events[i].source]++;
	runner_count_boot_deferrals(&c);
	runner_count_deferrals(r, &c);
	c.end_ns = now_ns();
	k = outcome_classify(&c, r->odevs, r->n_devs);
	if (k < 0)
		return log_oom();
	k = runner_store_cycle(r, &c);
	if (k < 0)
		return k;
	log_info("run %s cycle %lld: completed after the reboot (boot %d): %s%s%s",
		 r->run.uuid, (long long)seq, r->ctx.boot, outcome_to_string(c.outcome),
		 c.note && *c.note ? " - " : "", c.note ? c.note : "");
	r->progress.done++;
	r->progress.counts[c.outcome]++;
	return 0;
}

/*
 * A cycle whose outcome is hang or oops left the driver core wedged: a probe asleep or
 * dead in the kernel holds its device lock, and every later bind of that device would
 * hang behind it. on-wedged says what follows: "reboot" (the cycle is stored; the run
 * stays running, without an in-flight record, so the next boot's runner_recover() goes
 * on with the next cycle), "abort", or "continue" in this boot as before. A reboot past
 * max-reboots aborts the run. Returns 0 (go on), RUNNER_REBOOT, or -ECANCELED with the
 * reason in *reason.
 */
static int runner_wedged(struct runner *r, const struct cycle_record *c, char **reason)
{
	const char *policy = r->camp->on_wedged ? r->camp->on_wedged : "reboot";
	const char *what = c->outcome == OUTCOME_OOPS ? "an oops" : "a hang";
	const char *note = c->note && *c->note ? c->note : "";
	int64_t hangs = 0, oopses = 0, n = 1;

	if (streq(policy, "continue"))
		return 0;
	free(*reason);
	if (streq(policy, "abort")) {
		*reason = strprintf(
			"cycle %lld: the target is wedged after %s%s%s%s (on-wedged = abort)",
			(long long)c->seq, what, *note ? " (" : "", note,
			*note ? ")" : "");
		log_error("run %s: %s", r->run.uuid, *reason ? *reason : "wedged");
		return -ECANCELED;
	}
	/* Every hang or oops cycle of the run cost one reboot (this one is stored). A guest
	 * without a database knows only its own boot: its host counts the boots. */
	if (r->opts->db) {
		int k = db_run_count_outcome(r->opts->db, r->run_id, OUTCOME_HANG,
					     &hangs);

		if (k >= 0)
			k = db_run_count_outcome(r->opts->db, r->run_id, OUTCOME_OOPS,
						 &oopses);
		if (k < 0)
			log_warning_errno(k, "Cannot count the run's wedged cycles: %s",
					  db_errmsg(r->opts->db));
		else
			n = hangs + oopses;
	}
	if (r->camp->max_reboots > 0 && n > r->camp->max_reboots) {
		*reason = strprintf(
			"cycle %lld: the target is wedged after %s; %lld reboots would exceed max-reboots = %lld",
			(long long)c->seq, what, (long long)n,
			(long long)r->camp->max_reboots);
		log_error("run %s: %s", r->run.uuid, *reason ? *reason : "wedged");
		return -ECANCELED;
	}
	*reason = strprintf("cycle %lld: the target is wedged after %s%s%s%s",
			    (long long)c->seq, what, *note ? " (" : "", note,
			    *note ? ")" : "");
	return RUNNER_REBOOT;
}

/*
 * Asks for the reboot a wedged cycle needs. The stream (a QEMU guest's) ends with
 *   {"type":"reboot","run":UUID,"cycle":SEQ,"boot":B,"boot_id":ID,"reason":TEXT}
 * (boot_id left out when unknown): the host resets the guest and resumes the run at
 * SEQ + 1 in boot B + 1. With a database (a rig) the machine reboots
 * (runner_reboot_machine); the systemd watchdog stays the backstop when the kernel cannot
 * reboot past the held device lock.
 */
static void runner_reboot(struct runner *r, int64_t seq, const char *reason)
{
	log_notice(
		"run %s: %s; rebooting, the run goes on with cycle %lld in a fresh boot",
		r->run.uuid, reason ? reason : "the target is wedged",
		(long long)seq + 1);
	if (r->opts->stream) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:i}", "type", "reboot", "run",
				      r->run.uuid, "cycle", (json_int_t)seq, "boot",
				      r->ctx.boot);

		if (j &&
		    ((r->boot_id &&
		      json_object_set_new(j, "boot_id", json_string(r->boot_id)) < 0) ||
		     (reason &&
		      json_object_set_new(j, "reason", json_string(reason)) < 0))) {
			json_decref(j);
			j = NULL;
		}
		runner_stream(r, j);
	}
	if (r->opts->db)
		(void)runner_reboot_machine(r);
}

int runner_run(const struct conf *conf, const char *campaign, const struct runner_opts *o,
	       char ret_uuid[37], char **ret_error)
{
	struct runner r = { .conf = conf, .opts = o };
	const char *status = "finished";
	_cleanup_free_ char *reason = NULL;
	int64_t total, stuck_before, t_cycle, t_store, wedged_seq = -1;
	int k;

	k = runner_preflight(conf, campaign, ret_error);
	if (k < 0)
		return k;
	r.camp = conf_campaign_find(conf, campaign);
	r.scen = conf_scenario_find(conf, r.camp->scenario);
	if (!r.scen) {
		*ret_error = strprintf("campaign '%s': no scenario '%s'", campaign,
				       r.camp->scenario);
		return -ENOENT;
	}
	k = runner_collect_devices(&r);
	if (k < 0) {
		*ret_error = strprintf("campaign '%s': bad topology reference", campaign);
		return k;
	}
	total = o->cycles > 0 ? o->cycles : r.camp->cycles;
	if (r.camp->sweep_var && o->cycles <= 0)
		total *= r.camp->sweep_steps;
	r.progress = (struct runner_progress){ .total = total, .started_ns = now_ns() };

	k = runner_start(&r, o->label, o->patches);
	if (k < 0) {
		runner_finish(&r, "aborted", "could not start the run");
		log_set_run(NULL);
		run_record_done(&r.run);
		free(r.boot_id);
		*ret_error = strprintf("could not start the run (see the log above)");
		return k;
	}
	memcpy(ret_uuid, r.run.uuid, 37);
	log_debug("run %s: set up in %.3f ms", r.run.uuid,
		  (double)(now_ns() - r.progress.started_ns) / NSEC_PER_MSEC);
	log_info("run %s: campaign '%s', %lld cycles, kernel %s%s%s", r.run.uuid,
		 campaign, (long long)total, r.run.kernel.release,
		 r.run.kernel.label ? " label " : "",
		 r.run.kernel.label ? r.run.kernel.label : "");

	if (o->resume_uuid)
		log_info("run %s: resuming at cycle %lld, boot %d", r.run.uuid,
			 (long long)o->start_seq, o->boot);
	r.progress.done = o->start_seq;
	if (o->after_reboot) {
		k = runner_complete_reboot_cycle(&r, o->after_reboot, o->start_seq);
		if (k < 0) {
			runner_finish(&r, "aborted",
				      "could not complete the cycle after the reboot");
			log_set_run(NULL);
			run_record_done(&r.run);
			free(r.boot_id);
			*ret_error = strprintf(
				"could not complete cycle %lld after the reboot",
				(long long)o->start_seq);
			return k;
		}
	}
	for (int64_t seq = o->start_seq + (o->after_reboot ? 1 : 0); seq < total; seq++) {
		struct cycle_record c = { 0 };

		if (o->stop && *o->stop) {
			status = "interrupted";
			break;
		}
		stuck_before = action_exec_stuck(r.exec);
		t_cycle = now_ns();
		k = runner_cycle(&r, seq, &c);
		if (k == RUNNER_REBOOT) {
			/* a reboot step: the cycle so far waits in the in-flight record */
			status = NULL;
			cycle_record_done(&c);
			break;
		}
		t_store = now_ns();
		if (k >= 0)
			k = runner_store_cycle(&r, &c);
		if (log_get_max_level() >= LOG_DEBUG)
			log_debug("cycle %lld: stored in %.3f ms, %.3f ms in all",
				  (long long)seq,
				  (double)(now_ns() - t_store) / NSEC_PER_MSEC,
				  (double)(now_ns() - t_cycle) / NSEC_PER_MSEC);
		if (k < 0) {
			cycle_record_done(&c);
			status = "aborted";
			reason = strprintf("cycle %lld failed (see the daemon's log)",
					   (long long)seq);
			break;
		}
		r.progress.done++;
		r.progress.counts[c.outcome]++;
		r.progress.last = &c;
		if (o->progress)
			o->progress(&r.progress, o->userdata);
		r.progress.last = NULL;

		if (action_exec_stuck(r.exec) > stuck_before)
			r.consecutive_hangs++;
		else
			r.consecutive_hangs = 0;
		if (c.outcome >= OUTCOME_HANG && seq + 1 < total) {
			k = runner_wedged(&r, &c, &reason);
			wedged_seq = seq;
			if (k == RUNNER_REBOOT) {
				status = NULL;
				cycle_record_done(&c);
				break;
			}
			if (k < 0) {
				status = "aborted";
				cycle_record_done(&c);
				break;
			}
		}
		cycle_record_done(&c);
		/* 0 means never: the run goes on whatever hangs (on-wedged = continue). */
		if (r.camp->max_consecutive_hangs > 0 &&
		    r.consecutive_hangs >= r.camp->max_consecutive_hangs) {
			log_error(
				"run %s: %lld consecutive cycles hung; the target looks wedged, aborting (%u threads stuck in the kernel)",
				r.run.uuid, (long long)r.consecutive_hangs,
				action_exec_stuck(r.exec));
			status = "aborted";
			reason = strprintf(
				"%lld consecutive cycles hung (max-consecutive-hangs = %lld)",
				(long long)r.consecutive_hangs,
				(long long)r.camp->max_consecutive_hangs);
			k = -ECANCELED;
			break;
		}
		if (r.camp->settle_us > 0)
			sleep_until_ns(now_ns() + r.camp->settle_us * NSEC_PER_USEC);
	}
	t_cycle = now_ns();
	runner_finish(&r, status, reason);
	log_debug("run %s: torn down in %.3f ms", r.run.uuid,
		  (double)(now_ns() - t_cycle) / NSEC_PER_MSEC);
	if (k == RUNNER_REBOOT && wedged_seq >= 0)
		runner_reboot(&r, wedged_seq, reason);
	log_set_run(NULL);
	run_record_done(&r.run);
	free(r.boot_id);
	if (k == -ECANCELED && reason && ret_error)
		*ret_error = TAKE_PTR(reason);
	if (k < 0 && k != -ECANCELED) {
		*ret_error = strprintf("run stopped by an error (see the log above)");
		return k;
	}
	return k == -ECANCELED || k == RUNNER_REBOOT ? k : 0;
}

/* A target that died in the middle of an action: the crash cycle for that action (one
 * crash observation per consumer of the run, the cycle's sweep value), with the records
 * pstore kept of the crash (none without a pstore backend). The cycle belongs to the boot
 * it died in: BOOT is that boot's number, and its boot_id is the in-flight record's, as the
 * QEMU kit records a crash cycle (the kernel events pstore kept are of that boot too). */
static int runner_record_crash(struct db *db, int64_t run_id,
			       const struct cycle_record *ic, int boot,
			       const struct action_record *a)
{
	_cleanup_(cycle_record_done) struct cycle_record c = { 0 };
	_cleanup_free_ char *consumers = NULL;
	struct kernel_event *evs = NULL;
	size_t n_evs = 0;
	int k;

	k = db_run_consumers(db, run_id, &consumers);
	if (k < 0)
		return k;
	k = death_cycle_build(
		&(struct death){
			.seq = ic->seq,
			.boot = boot,
			.how = OUTCOME_CRASH,
			.has_sweep = ic->has_sweep,
			.sweep_value = ic->sweep_value,
			.action = a,
			.group = a->params && a->verb != STEP_REBOOT ? a->params : NULL,
			.consumers = consumers,
		},
		&c);
	if (k < 0)
		return k;
	if (ic->boot_id && !(c.boot_id = strdup(ic->boot_id)))
		return -ENOMEM;
	k = pstore_read(&evs, &n_evs);
	if (k < 0)
		log_warning_errno(k, "Cannot read pstore");
	for (size_t i = 0; i < n_evs; i++) {
		evs[i].boot = boot;
		if (cycle_add_event(&c, &evs[i]) < 0) {
			kmsg_events_free(evs, n_evs);
			return -ENOMEM;
		}
	}
	kmsg_events_free(evs, n_evs);
	k = db_cycle_insert(db, run_id, &c, NULL);
	return k == -EEXIST ? 0 : k;
}

enum runner_recovery runner_recover_decide(const struct action_record *a,
					   const char *inflight_boot_id)
{
	_cleanup_free_ char *now = NULL;
	bool same;

	if (!a)
		return RUNNER_RECOVER_CONTINUE;
	same = inflight_boot_id && identity_boot_id(&now) >= 0 &&
	       streq(now, inflight_boot_id);
	if (same)
		return RUNNER_RECOVER_RERUN;
	if (a->verb == STEP_REBOOT && a->params)
		return RUNNER_RECOVER_COMPLETE;
	return RUNNER_RECOVER_CRASH;
}

int runner_recover_boot(int last_boot, const char *last_boot_id)
{
	_cleanup_free_ char *now = NULL;

	if (last_boot_id && identity_boot_id(&now) >= 0 && streq(now, last_boot_id))
		return last_boot;
	return last_boot + 1;
}

void runner_recovered_done(struct runner_recovered *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->campaigns[i]);
	memset(r, 0, sizeof(*r));
}

int runner_recover(const struct conf *conf, const struct runner_opts *base,
		   struct runner_recovered *ret)
{
	struct db_runner_run *runs = NULL;
	size_t n = 0;
	int rc, taken = 0;

	if (ret)
		*ret = (struct runner_recovered){ 0 };
	/* Only runs this database's runner started: imported (pushed) runs belong to a rig. */
	rc = db_runner_runs_unfinished(base->db, &runs, &n);
	if (rc < 0)
		return log_error_errno(rc, "Failed to look for runs to recover: %s",
				       db_errmsg(base->db));
	for (size_t i = 0; i < n; i++) {
		_cleanup_(action_record_done) struct action_record a = { 0 };
		_cleanup_free_ char *err = NULL;
		struct runner_opts o = *base;
		_cleanup_(cycle_record_done) struct cycle_record ic = { 0 };
		const struct conf_campaign *camp;
		int64_t seq = 0, next_seq = 0;
		char uuid[37];
		int k;

		/* what recovery says of a run is about that run (PROBESTORM_RUN=) */
		log_set_run(runs[i].uuid);
		if (!runs[i].campaign || !conf_campaign_find(conf, runs[i].campaign)) {
			log_warning(
				"run %s: campaign '%s' is not configured any more; marking it interrupted",
				runs[i].uuid, runs[i].campaign ? runs[i].campaign : "?");
			db_run_finish(base->db, runs[i].id, "interrupted", NULL, NULL);
			continue;
		}
		/* Preflight first: it points kernel I/O at the campaign's target (pstore and
		 * boot_id are read there) and refuses a target that cannot run before anything
		 * is recorded. */
		k = runner_preflight(conf, runs[i].campaign, &err);
		if (k < 0) {
			log_error("run %s: cannot take it up: %s", runs[i].uuid, err);
			continue;
		}
		k = db_inflight_get(base->db, runs[i].id, &ic, &a);
		seq = ic.seq;
		/* An in-flight record of an older probestorm has no sweep value: the
		 * campaign's sweep gives it, as it gave it to the cycle. */
		camp = conf_campaign_find(conf, runs[i].campaign);
		if (k >= 0 && !ic.has_sweep && camp->sweep_var) {
			ic.has_sweep = true;
			ic.sweep_value = runner_sweep_value(camp, seq);
		}
		o.resume_uuid = runs[i].uuid;
		o.boot = runner_recover_boot(runs[i].boot, runs[i].boot_id);
		if (k == -ENOENT) {
			/* Stopped between cycles (power cut, daemon killed, a reboot after a
			 * wedged cycle): just go on. */
			k = db_run_next_seq(base->db, runs[i].id, &o.start_seq);
		} else if (k >= 0) {
			switch (runner_recover_decide(&a, ic.boot_id)) {
			case RUNNER_RECOVER_RERUN:
				log_warning(
					"run %s: the daemon stopped during cycle %lld ('%s %s') in this same boot; that cycle is not counted and runs again",
					runs[i].uuid, (long long)seq,
					step_verb_to_string(a.verb), a.arg ? a.arg : "");
				k = db_inflight_clear(base->db, runs[i].id);
				o.start_seq = seq;
				/* Stopped after the cycle was stored but before its in-flight
				 * record was cleared (seen under systemd's watchdog): the cycle
				 * counts as it is, the run goes on after it. */
				if (k >= 0)
					k = db_run_next_seq(base->db, runs[i].id,
							    &next_seq);
				if (k >= 0 && next_seq > seq)
					o.start_seq = next_seq;
				break;
			case RUNNER_RECOVER_COMPLETE:
				o.start_seq = seq;
				o.after_reboot = a.params;
				break;
			default:
				log_warning(
					"run %s: the target died during cycle %lld ('%s %s'); recording a crash",
					runs[i].uuid, (long long)seq,
					step_verb_to_string(a.verb), a.arg ? a.arg : "");
				k = runner_record_crash(base->db, runs[i].id, &ic,
							runs[i].boot, &a);
				if (k >= 0)
					k = db_inflight_clear(base->db, runs[i].id);
				o.start_seq = seq + 1;
				break;
			}
		}
		if (k < 0) {
			log_error_errno(k, "run %s: cannot recover: %s", runs[i].uuid,
					db_errmsg(base->db));
			continue;
		}
		if (ret && ret->n < ARRAY_SIZE(ret->campaigns) &&
		    (ret->campaigns[ret->n] = strdup(runs[i].campaign)))
			ret->n++;
		k = runner_run(conf, runs[i].campaign, &o, uuid, &err);
		if (k < 0)
			log_error("run %s: %s", runs[i].uuid, err ? err : strerror(-k));
		taken++;
		if (k == RUNNER_REBOOT) {
			/* the machine goes down: the other runs wait for the next boot */
			if (ret)
				ret->rebooting = true;
			break;
		}
	}
	log_set_run(NULL);
	db_runner_runs_free(runs, n);
	return taken;
}
