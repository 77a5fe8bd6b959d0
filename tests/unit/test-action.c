/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The action executor (kernel/action.c) against a fake module loader, as kmod's testsuite
 * fakes init_module and delete_module: kernel/action.c is included (chrony style) with
 * syscall() #defined to fake_syscall(), which keeps a table of loaded modules and answers
 * finit_module and delete_module the way the kernel does (EEXIST for a module loaded
 * already, ENOENT for one that is not, EWOULDBLOCK while it is in use, EBUSY while it is
 * coming or going), records every call, and can fail the next call with a chosen errno or
 * block in it until the test lets it return (a load stuck in the kernel). Every other
 * syscall (gettid) goes to the real one. modprobe is a shell script on PATH that logs its
 * arguments; sysfs writes go to files in a scratch directory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kio.h"

static long fake_syscall(long nr, ...);
#define syscall fake_syscall
#include "action.c"
#undef syscall

/* ------------------------------------------------------------- the fake module loader */

enum fake_mod_state { FAKE_MOD_LIVE, FAKE_MOD_COMING, FAKE_MOD_GOING };

struct fake_mod {
	char name[64];
	bool loaded;
	int refcnt;
	enum fake_mod_state state;
};

struct fake_call {
	long nr;
	char module
		[64]; /* finit_module: the file's name without .ko; delete_module: name */
	char params[128];
	int flags;
	int tid;
};

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cond = PTHREAD_COND_INITIALIZER;
static struct fake_mod fake_mods[8];
static struct fake_call fake_calls[32];
static size_t n_fake_calls;
static int fake_fail_next;   /* errno for the next module call, 0: behave */
static bool fake_block_next; /* the next module call blocks until fake_release() */
static bool fake_blocked;    /* a call is blocked in the fake now */
static bool fake_released;

static struct fake_mod *fake_mod_find(const char *name, bool create)
{
	for (size_t i = 0; i < ARRAY_SIZE(fake_mods); i++)
		if (fake_mods[i].name[0] && streq(fake_mods[i].name, name))
			return &fake_mods[i];
	for (size_t i = 0; create && i < ARRAY_SIZE(fake_mods); i++)
		if (!fake_mods[i].name[0]) {
			snprintf(fake_mods[i].name, sizeof(fake_mods[i].name), "%s",
				 name);
			return &fake_mods[i];
		}
	return NULL;
}

/* The module name the kernel would take from the file: its base name without ".ko". */
static void fake_fd_module(int fd, char *buf, size_t size)
{
	char link[64], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	snprintf(buf, size, "%.*s", (int)strcspn(base, "."), base);
}

/* Lock held: blocks while the test holds the call in the kernel. */
static void fake_maybe_block(void)
{
	if (!fake_block_next)
		return;
	fake_block_next = false;
	fake_blocked = true;
	fake_released = false;
	pthread_cond_broadcast(&fake_cond);
	while (!fake_released)
		pthread_cond_wait(&fake_cond, &fake_lock);
	fake_blocked = false;
	pthread_cond_broadcast(&fake_cond);
}

/* Lock held: what every module call does first: note the thread, block if the test
 * says so, and fail with the chosen errno (once). */
static int fake_call_enter(struct fake_call *c)
{
	int e;

	c->tid = (int)gettid();
	fake_maybe_block();
	e = fake_fail_next;
	fake_fail_next = 0;
	return -e;
}

static int fake_finit_module(int fd, const char *params, int flags)
{
	struct fake_call *c = &fake_calls[n_fake_calls++ % ARRAY_SIZE(fake_calls)];
	struct fake_mod *m;
	int r;

	*c = (struct fake_call){ .nr = SYS_finit_module, .flags = flags };
	fake_fd_module(fd, c->module, sizeof(c->module));
	snprintf(c->params, sizeof(c->params), "%s", params ? params : "(null)");
	r = fake_call_enter(c);
	if (r < 0)
		return r;
	m = fake_mod_find(c->module, true);
	if (!m)
		return -ENOMEM;
	if (m->loaded)
		return -EEXIST;
	m->loaded = true;
	m->state = FAKE_MOD_LIVE;
	return 0;
}

static int fake_delete_module(const char *name, int flags)
{
	struct fake_call *c = &fake_calls[n_fake_calls++ % ARRAY_SIZE(fake_calls)];
	struct fake_mod *m;
	int r;

	*c = (struct fake_call){ .nr = SYS_delete_module, .flags = flags };
	snprintf(c->module, sizeof(c->module), "%s", name);
	r = fake_call_enter(c);
	if (r < 0)
		return r;
	m = fake_mod_find(name, false);
	if (!m || !m->loaded)
		return -ENOENT;
	if (m->state != FAKE_MOD_LIVE)
		return -EBUSY;
	if (m->refcnt > 0)
		return -EWOULDBLOCK;
	m->loaded = false;
	return 0;
}

static long fake_syscall(long nr, ...)
{
	va_list ap;
	int r;

	if (nr != SYS_finit_module && nr != SYS_delete_module)
		return syscall(nr); /* gettid: the only other one action.c makes */
	va_start(ap, nr);
	pthread_mutex_lock(&fake_lock);
	if (nr == SYS_finit_module) {
		int fd = va_arg(ap, int);
		const char *params = va_arg(ap, const char *);

		r = fake_finit_module(fd, params, va_arg(ap, int));
	} else {
		const char *name = va_arg(ap, const char *);

		r = fake_delete_module(name, va_arg(ap, int));
	}
	pthread_mutex_unlock(&fake_lock);
	va_end(ap);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

static void fake_wait_blocked(void)
{
	pthread_mutex_lock(&fake_lock);
	while (!fake_blocked)
		pthread_cond_wait(&fake_cond, &fake_lock);
	pthread_mutex_unlock(&fake_lock);
}

static void fake_release(void)
{
	pthread_mutex_lock(&fake_lock);
	fake_released = true;
	pthread_cond_broadcast(&fake_cond);
	while (fake_blocked)
		pthread_cond_wait(&fake_cond, &fake_lock);
	pthread_mutex_unlock(&fake_lock);
}

/* ------------------------------------------------------------- fixtures */

struct ta {
	char dir[64];
	char ko_decon[128], ko_sysmmu[128];
	char modprobe_log[128];
	char *old_path;
	struct action_exec *x;
};

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	struct ta *t = calloc(1, sizeof(*t));
	char p[160], script[512], path[4096];
	const char *old = getenv("PATH");

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/probestorm-action-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->ko_decon, sizeof(t->ko_decon), "%s/ps_decon.ko", t->dir);
	snprintf(t->ko_sysmmu, sizeof(t->ko_sysmmu), "%s/ps_sysmmu.ko", t->dir);
	write_file(t->ko_decon, "\177ELF", 0644);
	write_file(t->ko_sysmmu, "\177ELF", 0644);
	/* modprobe: logs its arguments; "fail" among them makes it exit 1 */
	snprintf(t->modprobe_log, sizeof(t->modprobe_log), "%s/modprobe.log", t->dir);
	snprintf(p, sizeof(p), "%s/modprobe", t->dir);
	snprintf(script, sizeof(script),
		 "#!/bin/sh\necho \"$*\" >> '%s'\n"
		 "case \" $* \" in *\" fail \"*) exit 1 ;; esac\nexit 0\n",
		 t->modprobe_log);
	write_file(p, script, 0755);
	t->old_path = old ? strdup(old) : NULL;
	snprintf(path, sizeof(path), "%s:%s", t->dir, old ? old : "/usr/bin:/bin");
	assert_int_equal(setenv("PATH", path, 1), 0);

	memset(fake_mods, 0, sizeof(fake_mods));
	n_fake_calls = 0;
	fake_fail_next = 0;
	fake_block_next = false;
	assert_int_equal(action_exec_new(&t->x), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct ta *t = *state;
	char cmd[128];

	action_exec_free(t->x);
	if (t->old_path)
		setenv("PATH", t->old_path, 1);
	free(t->old_path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", t->dir);
	free(t);
	return 0;
}

static struct action_job job(enum action_op op, const char *path, const char *payload)
{
	struct action_job j = { .op = op };

	snprintf(j.path, sizeof(j.path), "%s", path ? path : "");
	snprintf(j.payload, sizeof(j.payload), "%s", payload ? payload : "");
	return j;
}

/* Runs the jobs with a deadline of 5 s (nothing here takes a millisecond unless blocked),
 * expecting want_hung of them hung. */
static void run(struct ta *t, struct action_job *jobs, size_t n, int want_hung)
{
	assert_int_equal(action_exec_run(t->x, jobs, n, now_ns() + 5 * NSEC_PER_SEC),
			 want_hung);
}

static void run_one(struct ta *t, struct action_job *j)
{
	run(t, j, 1, 0);
	assert_false(j->hung);
	assert_true(j->start_ns > 0);
	assert_true(j->end_ns >= j->start_ns);
	assert_true(j->tid > 0);
}

/* ------------------------------------------------------------- tests */

/* insmod loads the file with its parameters; the kernel's EEXIST for a loaded module and
 * ENOENT for a missing file come back as the job's errno. */
static void test_insmod(void **state)
{
	struct ta *t = *state;
	struct action_job j = job(ACTION_INSMOD, t->ko_decon, "oops_on_bind=1");

	run_one(t, &j);
	assert_int_equal(j.err, 0);
	assert_int_equal(n_fake_calls, 1);
	assert_int_equal(fake_calls[0].nr, SYS_finit_module);
	assert_string_equal(fake_calls[0].module, "ps_decon");
	assert_string_equal(fake_calls[0].params, "oops_on_bind=1");
	assert_int_equal(fake_calls[0].flags, 0);
	/* the job carries the thread the kernel saw the load from */
	assert_int_equal(fake_calls[0].tid, j.tid);
	assert_true(fake_mod_find("ps_decon", false)->loaded);

	/* loaded already */
	j = job(ACTION_INSMOD, t->ko_decon, "");
	run_one(t, &j);
	assert_int_equal(j.err, EEXIST);
	assert_string_equal(fake_calls[1].params, "");

	/* no such file: the open fails, the kernel is never asked */
	j = job(ACTION_INSMOD, "/nonexistent/ps_decon.ko", "");
	run_one(t, &j);
	assert_int_equal(j.err, ENOENT);
	assert_int_equal(n_fake_calls, 2);
	assert_int_equal(j.end_ns, j.start_ns);
}

/* rmmod never waits for the module's users (O_NONBLOCK) and reports the kernel's answer:
 * ENOENT not loaded, EWOULDBLOCK in use, EBUSY coming or going, 0 when unloaded. */
static void test_rmmod(void **state)
{
	struct ta *t = *state;
	struct action_job j = job(ACTION_RMMOD, NULL, "ps_decon");
	struct fake_mod *m;

	run_one(t, &j);
	assert_int_equal(j.err, ENOENT);
	assert_int_equal(fake_calls[0].nr, SYS_delete_module);
	assert_string_equal(fake_calls[0].module, "ps_decon");
	assert_int_equal(fake_calls[0].flags, O_NONBLOCK);

	m = fake_mod_find("ps_decon", true);
	m->loaded = true;
	m->refcnt = 1;
	j = job(ACTION_RMMOD, NULL, "ps_decon");
	run_one(t, &j);
	assert_int_equal(j.err, EWOULDBLOCK);
	assert_true(m->loaded);

	m->refcnt = 0;
	m->state = FAKE_MOD_GOING;
	j = job(ACTION_RMMOD, NULL, "ps_decon");
	run_one(t, &j);
	assert_int_equal(j.err, EBUSY);

	m->state = FAKE_MOD_LIVE;
	j = job(ACTION_RMMOD, NULL, "ps_decon");
	run_one(t, &j);
	assert_int_equal(j.err, 0);
	assert_false(m->loaded);
	assert_int_equal(n_fake_calls, 4);
}

/* An unload and a load in one concurrent group, each in its own worker thread; an errno
 * the kernel picks (EPERM: module loading disabled) is passed on as it is. */
static void test_reload_group(void **state)
{
	struct ta *t = *state;
	struct action_job g[2];
	struct fake_mod *m = fake_mod_find("ps_sysmmu", true);
	int64_t t0;

	m->loaded = true;
	g[0] = job(ACTION_RMMOD, NULL, "ps_sysmmu");
	g[1] = job(ACTION_INSMOD, t->ko_decon, "");
	t0 = now_ns() + 20 * NSEC_PER_MSEC;
	g[0].start_at_ns = t0;
	g[1].start_at_ns = t0 + 5 * NSEC_PER_MSEC;
	run(t, g, 2, 0);
	assert_int_equal(g[0].err, 0);
	assert_int_equal(g[1].err, 0);
	assert_true(g[0].tid != g[1].tid);
	/* released at their planned starts, not before */
	assert_true(g[0].start_ns >= t0);
	assert_true(g[1].start_ns >= t0 + 5 * NSEC_PER_MSEC);
	assert_false(m->loaded);
	assert_true(fake_mod_find("ps_decon", false)->loaded);

	fake_fail_next = EPERM;
	g[0] = job(ACTION_INSMOD, t->ko_sysmmu, "walk_delay_us=20000");
	run_one(t, &g[0]);
	assert_int_equal(g[0].err, EPERM);
	assert_false(m->loaded);
}

/* A load that never returns in time: the job is hung with its worker's tid and start, the
 * caller gets control back at the deadline, the worker is abandoned and replaced, and it
 * frees itself once the kernel lets it go. */
static void test_insmod_hangs(void **state)
{
	struct ta *t = *state;
	struct action_job j = job(ACTION_INSMOD, t->ko_decon, "hang_on_bind_s=45");
	int64_t t0 = now_ns();

	fake_block_next = true;
	assert_int_equal(action_exec_run(t->x, &j, 1, t0 + 100 * NSEC_PER_MSEC), 1);
	assert_true(now_ns() - t0 >= 100 * NSEC_PER_MSEC);
	assert_true(j.hung);
	assert_int_equal(j.end_ns, 0);
	assert_int_equal(j.err, 0);
	assert_true(j.start_ns >= t0);
	fake_wait_blocked();
	assert_int_equal(j.tid, fake_calls[0].tid);
	assert_int_equal(action_exec_stuck(t->x), 1);

	/* the executor goes on with a new worker */
	j = job(ACTION_RMMOD, NULL, "ps_sysmmu");
	run_one(t, &j);
	assert_int_equal(j.err, ENOENT);
	assert_int_not_equal(j.tid, fake_calls[0].tid);

	/* the kernel lets the load go: the module is there, the old worker is gone */
	fake_release();
	pthread_mutex_lock(&fake_lock);
	assert_true(fake_mod_find("ps_decon", false)->loaded);
	pthread_mutex_unlock(&fake_lock);
	assert_int_equal(action_exec_stuck(t->x), 1);
}

/* An unload stuck in the kernel beside one that returns: only that job is hung. */
static void test_rmmod_hangs_in_group(void **state)
{
	struct ta *t = *state;
	struct action_job g[2];

	fake_mod_find("ps_decon", true)->loaded = true;
	g[0] = job(ACTION_RMMOD, NULL, "ps_decon");
	g[1] = job(ACTION_SLEEP, NULL, NULL);
	fake_block_next = true;
	assert_int_equal(action_exec_run(t->x, g, 2, now_ns() + 100 * NSEC_PER_MSEC), 1);
	assert_true(g[0].hung);
	assert_false(g[1].hung);
	assert_true(g[1].end_ns > 0);
	fake_wait_blocked();
	fake_release();
}

/* modprobe runs as a process with the step's arguments; its failure is EIO, a missing
 * modprobe ENOENT (or EIO). */
static void test_modprobe(void **state)
{
	struct ta *t = *state;
	struct action_job j = job(ACTION_MODPROBE, NULL, "ps_decon oops_on_bind=1");
	char *log = NULL;

	run_one(t, &j);
	assert_int_equal(j.err, 0);
	j = job(ACTION_MODPROBE, NULL, "ps_decon fail");
	run_one(t, &j);
	assert_int_equal(j.err, EIO);
	assert_int_equal(kio_read_file(t->modprobe_log, &log), 0);
	assert_string_equal(log, "ps_decon oops_on_bind=1\nps_decon fail");
	free(log);
	/* the module syscalls are modprobe's own, never the executor's */
	assert_int_equal(n_fake_calls, 0);

	assert_int_equal(setenv("PATH", "/nonexistent", 1), 0);
	j = job(ACTION_MODPROBE, NULL, "ps_decon");
	run_one(t, &j);
	/* posix_spawnp's ENOENT; where the spawn is a fork and exec (valgrind), exit 127 */
	assert_true(j.err == ENOENT || j.err == EIO);
}

/* A sysfs write: the payload, written once; open and write errors as the job's errno. */
static void test_write(void **state)
{
	struct ta *t = *state;
	char p[160], *text = NULL;
	struct action_job j;

	snprintf(p, sizeof(p), "%s/bind", t->dir);
	write_file(p, "", 0644);
	j = job(ACTION_WRITE, p, "decon-ctl");
	run_one(t, &j);
	assert_int_equal(j.err, 0);
	assert_int_equal(kio_read_file(p, &text), 0);
	assert_string_equal(text, "decon-ctl");
	free(text);

	snprintf(p, sizeof(p), "%s/no-such-driver/bind", t->dir);
	j = job(ACTION_WRITE, p, "decon");
	run_one(t, &j);
	assert_int_equal(j.err, ENOENT);

	/* the write itself fails (ENOSPC), as a driver's probe error does */
	j = job(ACTION_WRITE, "/dev/full", "decon");
	run_one(t, &j);
	assert_int_equal(j.err, ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insmod, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rmmod, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insmod_hangs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rmmod_hangs_in_group, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_modprobe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
