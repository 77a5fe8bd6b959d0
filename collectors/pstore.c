/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pstore reader (see pstore.h). Files are read in name order so the sequence numbers of a
 * crash's records are stable when the same boot is examined twice.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kio.h"
#include "kparse.h"
#include "macro.h"
#include "pstore.h"
#include "util.h"

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int pstore_read(struct kernel_event **ret, size_t *ret_n)
{
	char dir[PATH_MAX];
	int r;

	r = kio_path(dir, sizeof(dir), "/sys/fs/pstore");
	if (r < 0)
		return r;
	return pstore_read_dir(dir, ret, ret_n);
}

int pstore_read_dir(const char *dir, struct kernel_event **ret, size_t *ret_n)
{
	struct kernel_event *evs = NULL;
	char p[PATH_MAX + 256];
	char *names[256];
	size_t n_names = 0, n = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	/* a record's name is at most 255 bytes: no path below can be truncated */
	if (strlen(dir) >= PATH_MAX)
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	while ((de = readdir(d)) && n_names < ARRAY_SIZE(names))
		if (de->d_name[0] != '.' && (names[n_names] = strdup(de->d_name)))
			n_names++;
	closedir(d);
	qsort(names, n_names, sizeof(names[0]), name_cmp);
	evs = calloc(n_names ? n_names : 1, sizeof(*evs));
	if (!evs)
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n_names; i++) {
		_cleanup_free_ char *text = NULL;
		enum event_class cls;
		char *head = NULL;

		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		if (kio_read_file(p, &text) < 0)
			continue;
		r = kparse_crash_headline(text, &head, &cls);
		if (r < 0)
			break;
		evs[n] = (struct kernel_event){
			.source = SOURCE_PSTORE,
			.class = cls,
			.seq = (int64_t)i,
			.prio = -1,
			.device = NULL,
			.message = head ? head : strprintf("pstore record %s", names[i]),
			.detail = TAKE_PTR(text),
		};
		if (!evs[n].message) {
			free(evs[n].detail);
			r = -ENOMEM;
			break;
		}
		n++;
	}
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			kernel_event_done(&evs[i]);
		free(evs);
		return r;
	}
	*ret = evs;
	*ret_n = n;
	return 0;
}
