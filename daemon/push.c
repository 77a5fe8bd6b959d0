/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Push to a central probestormd (push.h). The thread alternates two steps: spool (export
 * what changed in a run since push_runs says it was spooled) and send (POST every
 * *.ndjson file of the spool directory, by name). A spool file, UUID-FIRSTSEQ.ndjson,
 * holds the run line, the run's events outside cycles, new cycles (PUSH_CHUNK_* at most)
 * and, in the last file of a run that ended, the end line. Each file imports
 * on its own, so a long run never makes one body too big for the central daemon, and a
 * progress step costs only its new cycles. The spool is written before push_runs, and a
 * file is deleted only after a 2xx: a crash between any two steps means a file is sent
 * again (or written again under the same name), never lost, and the central import counts
 * what it has already.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBCURL
#include <curl/curl.h>
#endif

#include "bundle.h"
#include "db.h"
#include "db-push.h"
#include "log.h"
#include "macro.h"
#include "push.h"
#include "util.h"

#ifndef HAVE_LIBCURL

int push_start(const struct push_opts *o, struct push **ret)
{
	(void)o;
	(void)ret;
	return log_error_errno(
		EOPNOTSUPP,
		"[push] needs libcurl, and this probestormd was built without it");
}

void push_kick(struct push *p)
{
	(void)p;
}

void push_stop(struct push *p)
{
	(void)p;
}

#else /* HAVE_LIBCURL */

#define PUSH_SCAN_PERIOD_NS NSEC_PER_SEC /* how often the database is looked at */
#define PUSH_BACKOFF_MIN_NS NSEC_PER_SEC /* first retry delay */
#define PUSH_ANSWER_MAX	    512		 /* bytes of an error answer kept for the log */
#define PUSH_SUFFIX	    ".ndjson"
/* A spool file ends after this many cycles or bytes, well below the central daemon's
 * body limit (API_MAX_BODY_DEFAULT, 64 MiB): a typical cycle line is ~3 kB. */
#define PUSH_CHUNK_CYCLES   1000
#define PUSH_CHUNK_BYTES    (8L << 20)

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);
#define _cleanup_fclose_    _cleanup_(fclosep)
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);
#define _cleanup_closedir_  _cleanup_(closedirp)

struct push {
	const struct conf_push *conf;
	struct db *db;
	char *endpoint;	  /* {url}/api/v1/bundles */
	char *auth;	  /* "Authorization: Bearer ..." */
	char *failed_dir; /* {spool-dir}/failed */
	bool curl_global; /* curl_global_init() done */
	CURL *curl;
	struct curl_slist *headers;
	char curl_error[CURL_ERROR_SIZE];
	char answer[PUSH_ANSWER_MAX + 1];
	size_t answer_len;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, kick;       /* under lock */
	_Atomic bool aborting; /* stopping: read by curl's progress callback */

	unsigned failures;   /* consecutive transient failures */
	int64_t retry_at_ns; /* no sending before this */
	unsigned seed;
};

/* ---- spool ---- */

static int push_mkdir(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);

	if (!copy)
		return -ENOMEM;
	for (char *s = copy + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return negative_errno();
		*s = '/';
	}
	if (mkdir(copy, 0750) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

static int push_fsync_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return negative_errno();
	return 0;
}

/* One spool file being written: the temp file and the name it gets. */
struct push_file {
	FILE *f;
	char *tmp, *path;
};

static void push_file_abandon(struct push_file *pf)
{
	if (pf->f) {
		fclose(pf->f);
		unlink(pf->tmp);
	}
	free(pf->tmp);
	free(pf->path);
	*pf = (struct push_file){};
}

/* Starts <uuid>-<first seq>.ndjson with the run line and the events outside cycles, which
 * every file carries so that each one imports on its own. */
static int push_file_open(struct push *p, struct push_file *pf,
			  const struct run_record *rr, json_t *run_line,
			  int64_t first_seq, const struct kernel_event *events,
			  size_t n_events)
{
	int r;

	pf->tmp = strprintf("%s/.%s-%012lld%s.tmp", p->conf->spool_dir, rr->uuid,
			    (long long)first_seq, PUSH_SUFFIX);
	pf->path = strprintf("%s/%s-%012lld%s", p->conf->spool_dir, rr->uuid,
			     (long long)first_seq, PUSH_SUFFIX);
	if (!pf->tmp || !pf->path)
		return -ENOMEM;
	pf->f = fopen(pf->tmp, "we");
	if (!pf->f)
		return negative_errno();
	r = bundle_write_line(pf->f, run_line);
	for (size_t i = 0; i < n_events && r >= 0; i++) {
		json_t *j = NULL;

		r = bundle_event_to_json(rr->uuid, &events[i], &j);
		if (r >= 0)
			r = bundle_write_line(pf->f, j);
		json_decref(j);
	}
	return r;
}

/* Ends the file (with the end line if the run ended) and renames it into the spool. */
static int push_file_close(struct push_file *pf, const struct run_record *rr)
{
	int r = 0;

	if (!streq(rr->status, "running")) {
		json_t *j = NULL;

		r = bundle_end_to_json(rr->uuid, rr->status, rr->status_reason,
				       rr->finished_at, rr->load_metrics, &j);
		if (r >= 0)
			r = bundle_write_line(pf->f, j);
		json_decref(j);
	}
	if (r >= 0 && (fflush(pf->f) != 0 || fsync(fileno(pf->f)) < 0))
		r = negative_errno();
	if (r >= 0 && rename(pf->tmp, pf->path) < 0)
		r = negative_errno();
	push_file_abandon(pf); /* closes; the temp name is gone after the rename */
	return r;
}

/* Spools what run uuid has from cycle next_seq on, in files bounded by PUSH_CHUNK_* (temp
 * file, fsync, rename, fsync of the directory), all from one snapshot, and
 * records in push_runs the seq after the last cycle spooled and the status. */
static int push_spool_run(struct push *p, int64_t run_id, const char *uuid,
			  int64_t next_seq)
{
	static char running[] = "running";
	_cleanup_(run_record_done) struct run_record rr = {};
	_cleanup_free_ int64_t *seqs = NULL;
	struct kernel_event *events = NULL;
	struct push_file pf = {};
	struct run_record start;
	size_t n_events = 0, n_seqs = 0, in_file = 0;
	int64_t next = next_seq;
	json_t *run_line = NULL;
	int r;

	r = db_begin_read(p->db);
	if (r < 0)
		return log_error_errno(r, "push: Failed to read the database: %s",
				       db_errmsg(p->db));
	r = db_run_load(p->db, uuid, &rr);
	if (r < 0)
		goto fail;
	/* As bundle_export_run: the run line says how the run started, the end line how
	 * it ended. */
	start = rr;
	if (!streq(rr.status, "running")) {
		start.status = running;
		start.finished_at = NULL;
		start.load_metrics = NULL;
	}
	r = bundle_run_to_json(&start, &run_line);
	if (r >= 0)
		r = db_events_load_unattached(p->db, run_id, &events, &n_events);
	if (r >= 0)
		r = db_push_cycle_seqs(p->db, run_id, next_seq, &seqs, &n_seqs);
	if (r < 0)
		goto fail;

	for (size_t i = 0; i < n_seqs; i++) {
		_cleanup_(cycle_record_done) struct cycle_record c = {};
		int64_t seq = seqs[i];
		json_t *j = NULL;

		if (pf.f &&
		    (in_file == PUSH_CHUNK_CYCLES || ftell(pf.f) >= PUSH_CHUNK_BYTES)) {
			r = push_file_close(&pf,
					    &(struct run_record){ .status = running });
			if (r < 0)
				goto fail;
		}
		if (!pf.f) {
			r = push_file_open(p, &pf, &rr, run_line, seq, events, n_events);
			if (r < 0)
				goto fail;
			in_file = 0;
		}
		r = db_cycle_load(p->db, run_id, seq, &c);
		if (r >= 0)
			r = bundle_cycle_to_json(rr.uuid, &c, &j);
		if (r >= 0)
			r = bundle_write_line(pf.f, j);
		json_decref(j);
		if (r < 0)
			goto fail;
		in_file++;
		next = seq + 1;
	}
	/* A run that only changed its status still gets a file, for its end line. */
	if (!pf.f)
		r = push_file_open(p, &pf, &rr, run_line, next, events, n_events);
	if (r >= 0)
		r = push_file_close(&pf, &rr);
	if (r < 0)
		goto fail;
	(void)db_commit(p->db);
	json_decref(run_line);
	for (size_t i = 0; i < n_events; i++)
		kernel_event_done(&events[i]);
	free(events);

	r = push_fsync_dir(p->conf->spool_dir);
	if (r < 0)
		return log_error_errno(r, "push: Failed to sync '%s'",
				       p->conf->spool_dir);

	r = db_push_run_spooled(p->db, run_id, next, rr.status, (int64_t)time(NULL));
	if (r == -ENOENT)
		return r; /* the run was deleted meanwhile */
	if (r < 0)
		return log_error_errno(r, "push: Failed to record spooled run %s: %s",
				       uuid, db_errmsg(p->db));
	log_debug("push: spooled run %s, cycles %lld..%lld, %s", uuid,
		  (long long)next_seq, (long long)next - 1, rr.status);
	return 0;

fail:
	push_file_abandon(&pf);
	(void)db_rollback(p->db);
	json_decref(run_line);
	for (size_t i = 0; i < n_events; i++)
		kernel_event_done(&events[i]);
	free(events);
	if (r == -ENOENT)
		return r; /* the run was deleted meanwhile */
	return log_error_errno(r, "push: Failed to spool run %s into '%s'", uuid,
			       p->conf->spool_dir);
}

/* Spools every run that changed since it was last spooled: new, ended since, or running
 * with new cycles and last spooled at least [push] interval ago (never, if interval is
 * 0). Returns the number of runs spooled or a negative errno. */
static int push_spool_changed(struct push *p, bool ignore_interval)
{
	_cleanup_free_ struct db_push_run *c = NULL;
	size_t n = 0;
	int64_t now = (int64_t)time(NULL);
	int r, spooled = 0;

	r = db_push_runs_changed(p->db, &c, &n);
	if (r < 0)
		return log_error_errno(r, "push: Failed to look for runs to push: %s",
				       db_errmsg(p->db));
	for (size_t i = 0; i < n; i++) {
		int64_t age_us = (now - c[i].spooled_at) * USEC_PER_SEC;

		if (c[i].running && !ignore_interval && p->conf->interval_us == 0)
			continue;
		if (c[i].running && c[i].spooled &&
		    (c[i].max_seq < c[i].next_seq ||
		     (!ignore_interval && age_us < p->conf->interval_us)))
			continue;
		r = push_spool_run(p, c[i].run_id, c[i].uuid, c[i].next_seq);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		spooled++;
	}
	return spooled;
}

/* ---- sending ---- */

static size_t push_on_answer(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct push *p = userdata;
	size_t n = size * nmemb, room = PUSH_ANSWER_MAX - p->answer_len;

	memcpy(p->answer + p->answer_len, data, n < room ? n : room);
	p->answer_len += n < room ? n : room;
	p->answer[p->answer_len] = '\0';
	return n;
}

static int push_on_xfer(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
			curl_off_t ultotal, curl_off_t ulnow)
{
	const struct push *p = userdata;

	return p->aborting ? 1 : 0; /* non-zero aborts the transfer */
}

/* curl's own messages (connection attempts, TLS) at debug level. */
static int push_on_debug(CURL *handle, curl_infotype type, char *data, size_t size,
			 void *userdata)
{
	if (type == CURLINFO_TEXT)
		log_debug("push: curl: %.*s",
			  (int)(size > 0 && data[size - 1] == '\n' ? size - 1 : size),
			  data);
	return 0;
}

enum push_result { PUSH_SENT, PUSH_RETRY, PUSH_PERMANENT };

/* POSTs one spool file. Logs what went wrong (curl's message or the answer). */
static enum push_result push_send_file(struct push *p, const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	struct stat sb;
	long code = 0;
	CURLcode cc;

	if (!f || fstat(fileno(f), &sb) < 0) {
		log_error_errno(errno, "push: Failed to open '%s'", path);
		return PUSH_RETRY;
	}
	p->curl_error[0] = '\0';
	p->answer_len = 0;
	p->answer[0] = '\0';
	curl_easy_setopt(p->curl, CURLOPT_READDATA, f);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sb.st_size);
	cc = curl_easy_perform(p->curl);
	if (cc != CURLE_OK) {
		if (!p->aborting)
			log_full_errno(p->failures == 0 ? LOG_WARNING : LOG_DEBUG, 0,
				       "push: POST %s: %s", p->endpoint,
				       p->curl_error[0] ? p->curl_error
							: curl_easy_strerror(cc));
		return PUSH_RETRY;
	}
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		return PUSH_SENT;
	if (code >= 400 && code < 500 && code != 408 && code != 429) {
		log_error("push: POST %s: '%s' refused with %ld: %s", p->endpoint, path,
			  code, p->answer);
		return PUSH_PERMANENT;
	}
	log_full_errno(p->failures == 0 ? LOG_WARNING : LOG_DEBUG, 0,
		       "push: POST %s: %ld: %s", p->endpoint, code, p->answer);
	return PUSH_RETRY;
}

static int push_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Spool files, oldest first (modification time, then name). */
static int push_list_spool(struct push *p, char ***ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = opendir(p->conf->spool_dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;

	if (!d)
		return log_error_errno(errno, "push: Failed to open '%s'",
				       p->conf->spool_dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **nn;

		if (de->d_name[0] == '.' || len <= strlen(PUSH_SUFFIX) ||
		    !streq(de->d_name + len - strlen(PUSH_SUFFIX), PUSH_SUFFIX))
			continue;
		nn = realloc(names, (n + 1) * sizeof(char *));
		if (!nn)
			goto oom;
		names = nn;
		names[n] = strdup(de->d_name);
		if (!names[n])
			goto oom;
		n++;
	}
	/* By name: each file is one whole run, so the order does not matter for what the
	 * central daemon ends up with; a stable order makes logs comparable. */
	if (n > 1)
		qsort(names, n, sizeof(char *), push_name_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
oom:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return log_oom();
}

/* Sends the spool until it is empty or a transient failure; then backs off. */
static void push_send_spool(struct push *p)
{
	char **names = NULL;
	size_t n = 0, sent = 0;
	bool retry = false;

	if (push_list_spool(p, &names, &n) < 0) {
		retry = true;
		n = 0;
	}
	for (size_t i = 0; i < n && !retry && !p->aborting; i++) {
		_cleanup_free_ char *path =
			strprintf("%s/%s", p->conf->spool_dir, names[i]);
		_cleanup_free_ char *dest = strprintf("%s/%s", p->failed_dir, names[i]);

		if (!path || !dest) {
			log_oom();
			retry = true;
			break;
		}
		switch (push_send_file(p, path)) {
		case PUSH_SENT:
			if (unlink(path) < 0)
				log_warning_errno(errno, "push: Failed to remove '%s'",
						  path);
			log_debug("push: sent '%s'", path);
			sent++;
			break;
		case PUSH_PERMANENT:
			/* A later bundle of the run may carry the same name (a progress bundle
			 * and the final one both start at a seq the central never accepted):
			 * keep every refused one, never overwrite evidence. */
			for (unsigned k = 1; access(dest, F_OK) == 0 && k < 1000; k++) {
				free(dest);
				dest = strprintf("%s/%s.%u", p->failed_dir, names[i], k);
				if (!dest)
					break;
			}
			if (!dest) {
				log_oom();
				retry = true;
				break;
			}
			if (rename(path, dest) < 0)
				log_error_errno(errno,
						"push: Failed to move '%s' to '%s'", path,
						dest);
			else
				log_error(
					"push: '%s' kept in '%s'; it will not be retried",
					path, p->failed_dir);
			break;
		case PUSH_RETRY: retry = true; break;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);

	if (retry && !p->aborting) {
		/* Exponential, capped, with "equal jitter": half fixed, half random, so
		 * rigs that lost the same server do not come back in step. */
		int64_t cap = p->conf->max_backoff_us * NSEC_PER_USEC;
		int64_t delay = PUSH_BACKOFF_MIN_NS;

		for (unsigned i = 0; i < p->failures && delay < cap; i++)
			delay *= 2;
		if (delay > cap)
			delay = cap;
		delay = delay / 2 +
			(int64_t)((double)rand_r(&p->seed) / RAND_MAX * (delay / 2));
		p->failures++;
		p->retry_at_ns = now_ns() + delay;
		log_debug("push: retry %u in %lld ms", p->failures,
			  (long long)(delay / NSEC_PER_MSEC));
	} else if (!retry) {
		if (p->failures > 0 && sent > 0)
			log_info("push: %s reachable again, %zu bundle(s) sent",
				 p->conf->url, sent);
		p->failures = 0;
		p->retry_at_ns = 0;
	}
}

/* ---- the thread ---- */

static void *push_thread(void *userdata)
{
	struct push *p = userdata;
	int64_t next_scan = 0;

	/* What an earlier life left in the spool goes first. */
	push_send_spool(p);
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		int64_t now, wake;
		struct timespec ts;
		bool kicked = p->kick;

		p->kick = false;
		pthread_mutex_unlock(&p->lock);

		now = now_ns();
		if (kicked || now >= next_scan) {
			push_spool_changed(p, false);
			next_scan = now + PUSH_SCAN_PERIOD_NS;
		}
		if (now_ns() >= p->retry_at_ns)
			push_send_spool(p);

		wake = next_scan;
		if (p->retry_at_ns > now && p->retry_at_ns < wake)
			wake = p->retry_at_ns;
		/* the condition variable runs on CLOCK_REALTIME: wait a relative span */
		clock_gettime(CLOCK_REALTIME, &ts);
		wake -= now_ns();
		if (wake < NSEC_PER_MSEC)
			wake = NSEC_PER_MSEC;
		ts.tv_sec += wake / NSEC_PER_SEC;
		ts.tv_nsec += wake % NSEC_PER_SEC;
		if (ts.tv_nsec >= NSEC_PER_SEC) {
			ts.tv_sec++;
			ts.tv_nsec -= NSEC_PER_SEC;
		}
		pthread_mutex_lock(&p->lock);
		if (!p->stop && !p->kick)
			pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	/* The final state of every run (interrupted by the stop, say) into the spool, for
	 * the next start to send. */
	push_spool_changed(p, true);
	return NULL;
}

static int push_read_token(const struct conf_push *c, char **ret)
{
	_cleanup_free_ char *t = NULL;
	int r;

	if (c->token) {
		t = strdup(c->token);
		if (!t)
			return log_oom();
	} else {
		r = read_token_file(c->token_file, &t);
		if (r < 0)
			return log_error_errno(r, "push: Failed to read token file '%s'",
					       c->token_file);
	}
	if (!*t)
		return log_error_errno(EINVAL, "push: the token is empty");
	*ret = TAKE_PTR(t);
	return 0;
}

static void push_free(struct push *p)
{
	if (!p)
		return;
	if (p->curl)
		curl_easy_cleanup(p->curl);
	curl_slist_free_all(p->headers);
	if (p->curl_global)
		curl_global_cleanup();
	db_close(p->db);
	free(p->endpoint);
	free(p->auth);
	free(p->failed_dir);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static int push_setup_curl(struct push *p)
{
	const struct conf_push *c = p->conf;
	struct curl_slist *l;
	CURLcode cc = CURLE_OK;

	l = curl_slist_append(NULL, p->auth);
	p->headers = l;
	if (l)
		l = curl_slist_append(p->headers, "Content-Type: application/x-ndjson");
	if (l)
		l = curl_slist_append(p->headers,
				      "Expect:"); /* no 100-continue round trip */
	if (!l)
		return log_oom();
	p->curl = curl_easy_init();
	if (!p->curl)
		return log_error_errno(ENOMEM, "push: Failed to set up libcurl");

#define SET(opt, val)                                             \
	do {                                                      \
		if (cc == CURLE_OK)                               \
			cc = curl_easy_setopt(p->curl, opt, val); \
	} while (0)
	SET(CURLOPT_URL, p->endpoint);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_HTTPHEADER, p->headers);
	SET(CURLOPT_READFUNCTION, fread);
	SET(CURLOPT_WRITEFUNCTION, push_on_answer);
	SET(CURLOPT_WRITEDATA, p);
	SET(CURLOPT_ERRORBUFFER, p->curl_error);
	SET(CURLOPT_NOSIGNAL, 1L); /* we are a thread: no SIGALRM for DNS timeouts */
	SET(CURLOPT_TIMEOUT_MS, (long)(c->timeout_us / 1000));
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(c->timeout_us / 1000));
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, push_on_xfer);
	SET(CURLOPT_XFERINFODATA, p);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (c->ca_file)
		SET(CURLOPT_CAINFO, c->ca_file);
	if (log_get_max_level() >= LOG_DEBUG) {
		SET(CURLOPT_DEBUGFUNCTION, push_on_debug);
		SET(CURLOPT_VERBOSE, 1L);
	}
#undef SET
	if (cc != CURLE_OK)
		return log_error_errno(EINVAL, "push: Failed to set up libcurl: %s",
				       curl_easy_strerror(cc));
	return 0;
}

int push_start(const struct push_opts *o, struct push **ret)
{
	const struct conf_push *c = o->conf;
	_cleanup_free_ char *tmpglob = NULL;
	struct push *p;
	size_t ulen;
	int r;

	if (!c->url || !c->spool_dir)
		return log_error_errno(EINVAL, "push: no [push] url or spool-dir");
	p = calloc(1, sizeof(*p));
	if (!p)
		return log_oom();
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->conf = c;
	p->seed = (unsigned)now_ns() ^ (unsigned)getpid();

	r = push_read_token(c, &tmpglob);
	if (r < 0)
		goto fail;
	p->auth = strprintf("Authorization: Bearer %s", tmpglob);
	ulen = strlen(c->url);
	while (ulen > 0 && c->url[ulen - 1] == '/')
		ulen--;
	p->endpoint = strprintf("%.*s/api/v1/bundles", (int)ulen, c->url);
	p->failed_dir = strprintf("%s/failed", c->spool_dir);
	if (!p->auth || !p->endpoint || !p->failed_dir) {
		r = log_oom();
		goto fail;
	}
	r = push_mkdir(p->failed_dir);
	if (r < 0) {
		log_error_errno(r, "push: Failed to create spool directory '%s'",
				p->failed_dir);
		goto fail;
	}
	r = db_open(o->database, 0, &p->db);
	if (r < 0) {
		log_error_errno(r, "push: Failed to open database '%s'", o->database);
		goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		r = log_error_errno(EIO, "push: Failed to initialise libcurl");
		goto fail;
	}
	p->curl_global = true;
	r = push_setup_curl(p);
	if (r < 0)
		goto fail;
	r = -pthread_create(&p->thread, NULL, push_thread, p);
	if (r < 0) {
		log_error_errno(r, "push: Failed to start the thread");
		goto fail;
	}
	p->thread_started = true;
	log_info("push: runs go to %s (spool '%s')", p->endpoint, c->spool_dir);
	*ret = p;
	return 0;
fail:
	push_free(p);
	return r;
}

void push_kick(struct push *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->kick = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void push_stop(struct push *p)
{
	if (!p)
		return;
	if (p->thread_started) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		p->aborting = true;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	push_free(p);
}

#endif /* HAVE_LIBCURL */
