/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stress-ng child management (see stress.h). stress-ng stops its stressors and writes the
 * --yaml metrics on SIGINT; we give it 5 s for that before SIGKILL.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "stress.h"
#include "util.h"

extern char **environ;

struct stress {
	pid_t pid;
	char yaml[64];
};

bool stress_available(void)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = strdup(path ? path : "/usr/bin:/bin");
	char *save = NULL;

	if (!copy)
		return false;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = strprintf("%s/stress-ng", d);
		if (p && access(p, X_OK) == 0)
			return true;
	}
	return false;
}

int stress_start(const char *args, struct stress **ret)
{
	_cleanup_free_ struct stress *s = calloc(1, sizeof(*s));
	_cleanup_free_ char *buf = strdup(args ? args : "");
	char *argv[72] = { "stress-ng" };
	char *save = NULL;
	size_t n = 1;
	int fd, r;

	if (!s || !buf)
		return -ENOMEM;
	snprintf(s->yaml, sizeof(s->yaml), "/tmp/probestorm-stress-XXXXXX");
	fd = mkstemp(s->yaml);
	if (fd < 0)
		return negative_errno();
	close(fd);
	for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n >= ARRAY_SIZE(argv) - 5)
			return -E2BIG;
		argv[n++] = t;
	}
	/* --yaml holds the per-stressor metrics (bogo-ops, rates, times) only with them on. */
	argv[n++] = "--metrics-brief";
	argv[n++] = "--yaml";
	argv[n++] = s->yaml;
	argv[n] = NULL;
	r = posix_spawnp(&s->pid, "stress-ng", NULL, NULL, argv, environ);
	if (r != 0) {
		unlink(s->yaml);
		return -r;
	}
	log_info("load: stress-ng %s (pid %d)", args, (int)s->pid);
	*ret = TAKE_PTR(s);
	return 0;
}

int stress_stop(struct stress *s, char **ret_metrics)
{
	int status = 0, r = 0;
	char *yaml = NULL;
	FILE *f;

	if (!s)
		return 0;
	kill(s->pid, SIGINT);
	for (int i = 0; i < 500; i++) {
		pid_t p = waitpid(s->pid, &status, WNOHANG);
		if (p == s->pid)
			goto reaped;
		usleep(10000);
	}
	kill(s->pid, SIGKILL);
	while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
		;
reaped:
	/* stress-ng exits 0 when stopped by SIGINT; 2/3/4/7 mean a stressor did not run right. */
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		log_warning("stress-ng exited with status %d", WEXITSTATUS(status));
		r = -EIO;
	}
	f = fopen(s->yaml, "re");
	if (f) {
		size_t len = 0;
		if (getdelim(&yaml, &len, '\0', f) < 0) {
			free(yaml);
			yaml = NULL;
		}
		fclose(f);
	}
	unlink(s->yaml);
	free(s);
	*ret_metrics = yaml;
	return r;
}
