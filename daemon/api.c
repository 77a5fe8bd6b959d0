/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP JSON API (api.h, docs/openapi.json): the route table and its handlers, over
 * the libmicrohttpd glue of http.h. Every request is routed when its headers are in: GET
 * endpoints and static files answer at once, the two POST endpoints check the token and
 * have http.c collect the body up to their limit, and answer when it is complete. Workers
 * read through a read-only database connection each, opened on a worker's first request
 * and closed by a thread-specific destructor when the pool exits; bundle imports share
 * one writer connection under a mutex, and a campaign is started through the scheduler
 * (scheduler.h), which runs it on a thread of its own.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "bundle.h"
#include "compare.h"
#include "report.h"
#include "db-query.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "macro.h"
#include "scheduler.h"
#include "stats.h"
#include "util.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

/* Debian's packaged browser libraries (libjs-*), served below /javascript/ as Debian's
 * javascript-common serves them to Apache: the dashboard loads Chart.js from there, so it
 * needs no copy of the library and no network. */
#ifndef JAVASCRIPTDIR
#define JAVASCRIPTDIR "/usr/share/javascript"
#endif
#define API_JAVASCRIPT_URL "/javascript/"

/* A campaign request is one small JSON object. */
#define API_MAX_CAMPAIGN_BODY ((size_t)4096)

struct api {
	struct http_server *http;
	char *database;
	char *web_root; /* canonical, NULL when it does not exist */
	char *js_root;	/* canonical JAVASCRIPTDIR, NULL when it does not exist */
	char *token;	/* NULL: POST endpoints disabled */
	const struct conf *conf;
	struct scheduler *scheduler;
	size_t max_body;
	int64_t started_ns;

	pthread_key_t reader_key;
	bool reader_key_set;

	pthread_mutex_t writer_lock;
	struct db *writer;
};

/* Maps a storage error onto 404/503/500 with the database's message. */
static int api_db_error(struct http_reply *rep, struct db *db, int r, const char *what)
{
	if (r == -ENOENT)
		return http_reply_error(rep, HTTP_NOT_FOUND, "not found", "%s", what);
	log_error_errno(r, "API: %s failed: %s", what, db ? db_errmsg(db) : "");
	if (r == -EBUSY)
		return http_reply_error(rep, HTTP_SERVICE_UNAVAILABLE, "database busy",
					"%s: %s", what, strerror(-r));
	return http_reply_error(rep, HTTP_INTERNAL_SERVER_ERROR, "database error",
				"%s: %s", what, strerror(-r));
}

/* ---- request parameters ---------------------------------------------------------- */

/* 0, or -EINVAL with a 400 in rep for a query parameter the endpoint does not know: a
 * typo in a filter must not silently widen the selection. */
static int api_params_check(struct http_request *req, const char *const *allowed,
			    struct http_reply *rep)
{
	const char *unknown = http_request_arg_unknown(req, allowed);

	if (unknown) {
		http_reply_error(rep, HTTP_BAD_REQUEST, "bad parameter",
				 "unknown parameter '%s'", unknown);
		return -EINVAL;
	}
	return 0;
}

static int api_param_int(struct http_request *req, const char *name, int64_t min,
			 int64_t max, int64_t def, int64_t *ret, struct http_reply *rep)
{
	const char *v = http_request_arg(req, name);

	if (!v) {
		*ret = def;
		return 0;
	}
	if (parse_int64(v, min, max, ret) < 0) {
		http_reply_error(rep, HTTP_BAD_REQUEST, "bad parameter",
				 "%s: '%s' is not an integer in %lld..%lld", name, v,
				 (long long)min, (long long)max);
		return -EINVAL;
	}
	return 0;
}

/* An alpha in (0, 1), or def when absent. */
static int api_param_alpha(struct http_request *req, const char *name, double def,
			   double *ret, struct http_reply *rep)
{
	const char *v = http_request_arg(req, name);
	char *end;
	double d;

	if (!v) {
		*ret = def;
		return 0;
	}
	errno = 0;
	d = strtod(v, &end);
	if (errno || *end || !(d > 0 && d < 1)) {
		http_reply_error(rep, HTTP_BAD_REQUEST, "bad parameter",
				 "%s: '%s' is not a number in (0, 1)", name, v);
		return -EINVAL;
	}
	*ret = d;
	return 0;
}

static int api_param_uuid(const char *what, const char *v, struct http_reply *rep)
{
	if (!uuid_is_valid(v)) {
		http_reply_error(rep, HTTP_BAD_REQUEST, "bad run id",
				 "%s: '%s' is not a UUID (8-4-4-4-12 hex digits)", what,
				 v);
		return -EINVAL;
	}
	return 0;
}

/* ---- GET endpoints --------------------------------------------------------------- */

/* The calling worker's read-only connection, opened on first use. */
static int api_reader(struct api *a, struct db **ret)
{
	struct db *db = pthread_getspecific(a->reader_key);
	int r;

	if (!db) {
		r = db_open(a->database, DB_READONLY, &db);
		if (r < 0)
			return log_error_errno(r,
					       "API: cannot open database '%s' read-only",
					       a->database);
		r = pthread_setspecific(a->reader_key, db);
		if (r != 0) {
			db_close(db);
			return -r;
		}
	}
	*ret = db;
	return 0;
}

struct api_get {
	struct api *a;
	struct http_request *req;
	struct db *db;
	const char *arg; /* the {uuid} or {id} of the path, or NULL */
};

static int api_get_health(struct api_get *g, struct http_reply *rep)
{
	struct api *a = g->a;
	struct scheduler_status st = {};
	json_t *campaign, *last = json_null();

	if (a->scheduler && scheduler_status(a->scheduler, &st) < 0)
		return http_reply_error(rep, HTTP_INTERNAL_SERVER_ERROR, "internal error",
					"out of memory");
	if (st.last_name)
		last = json_pack("{s:s, s:s?, s:s}", "name", st.last_name, "run",
				 st.last_uuid[0] ? st.last_uuid : NULL, "result",
				 st.last_result == 0 ? "ok" : strerror(-st.last_result));
	campaign = json_pack("{s:b, s:s?, s:o*}", "running", st.running, "name", st.name,
			     "last", last);
	scheduler_status_done(&st);
	return http_reply_json(
		rep, HTTP_OK,
		json_pack("{s:s, s:s, s:i, s:I, s:b, s:o*}", "status", "ok", "version",
			  PACKAGE_VERSION, "schema_version", db_schema_version(g->db),
			  "uptime_s",
			  (json_int_t)((now_ns() - a->started_ns) / NSEC_PER_SEC),
			  "ingest", a->token != NULL, "campaign", campaign));
}

static int api_get_kernels(struct api_get *g, struct http_reply *rep)
{
	json_t *j;
	int r = db_query_kernels(g->db, &j);

	if (r < 0)
		return api_db_error(rep, g->db, r, "listing kernels");
	return http_reply_json(rep, HTTP_OK, json_pack("{s:o}", "kernels", j));
}

static int api_get_targets(struct api_get *g, struct http_reply *rep)
{
	json_t *j;
	int r = db_query_targets(g->db, &j);

	if (r < 0)
		return api_db_error(rep, g->db, r, "listing targets");
	return http_reply_json(rep, HTTP_OK, json_pack("{s:o}", "targets", j));
}

static int api_get_runs(struct api_get *g, struct http_reply *rep)
{
	static const char *const params[] = { "target", "kernel", "campaign",
					      "limit",	"offset", NULL };
	struct db_run_filter f = {
		.target = http_request_arg(g->req, "target"),
		.kernel_label = http_request_arg(g->req, "kernel"),
		.campaign = http_request_arg(g->req, "campaign"),
	};
	int64_t total;
	json_t *j;
	int r;

	if (api_params_check(g->req, params, rep) < 0 ||
	    api_param_int(g->req, "limit", 1, 1000, 100, &f.limit, rep) < 0 ||
	    api_param_int(g->req, "offset", 0, INT64_MAX, 0, &f.offset, rep) < 0)
		return 0;
	r = db_query_run_count(g->db, &f, &total);
	if (r < 0)
		return api_db_error(rep, g->db, r, "counting runs");
	r = db_query_runs(g->db, &f, &j);
	if (r < 0)
		return api_db_error(rep, g->db, r, "listing runs");
	return http_reply_json(rep, HTTP_OK,
			       json_pack("{s:I, s:I, s:I, s:o}", "total",
					 (json_int_t)total, "limit", (json_int_t)f.limit,
					 "offset", (json_int_t)f.offset, "runs", j));
}

static int api_get_run(struct api_get *g, struct http_reply *rep)
{
	static const char *const params[] = { NULL };
	json_t *j;
	int r;

	if (api_params_check(g->req, params, rep) < 0 ||
	    api_param_uuid("run", g->arg, rep) < 0)
		return 0;
	r = db_query_run_summary(g->db, g->arg, &j);
	if (r == -ENOENT)
		return http_reply_error(rep, HTTP_NOT_FOUND, "not found", "no run %s",
					g->arg);
	if (r < 0)
		return api_db_error(rep, g->db, r, "reading the run summary");
	return http_reply_json(rep, HTTP_OK, j);
}

static int api_get_run_cycles(struct api_get *g, struct http_reply *rep)
{
	static const char *const params[] = { "sweep", "limit", "offset", NULL };
	int64_t limit, offset, total, sweep;
	bool by_sweep = http_request_arg(g->req, "sweep") != NULL;
	json_t *j;
	int r;

	if (api_params_check(g->req, params, rep) < 0 ||
	    api_param_uuid("run", g->arg, rep) < 0 ||
	    api_param_int(g->req, "sweep", INT64_MIN, INT64_MAX, 0, &sweep, rep) < 0 ||
	    api_param_int(g->req, "limit", 1, 1000, 100, &limit, rep) < 0 ||
	    api_param_int(g->req, "offset", 0, INT64_MAX, 0, &offset, rep) < 0)
		return 0;
	r = db_query_run_cycles(g->db, g->arg, by_sweep ? &sweep : NULL, limit, offset,
				&j, &total);
	if (r == -ENOENT)
		return http_reply_error(rep, HTTP_NOT_FOUND, "not found", "no run %s",
					g->arg);
	if (r < 0)
		return api_db_error(rep, g->db, r, "listing cycles");
	return http_reply_json(rep, HTTP_OK,
			       json_pack("{s:s, s:o*, s:I, s:I, s:I, s:o}", "run", g->arg,
					 "sweep", by_sweep ? json_integer(sweep) : NULL,
					 "total", (json_int_t)total, "limit",
					 (json_int_t)limit, "offset", (json_int_t)offset,
					 "cycles", j));
}

static int api_get_cycle(struct api_get *g, struct http_reply *rep)
{
	static const char *const params[] = { NULL };
	struct cycle_record rec = {};
	int64_t id, run_id, seq, lateness = 0;
	bool has_lateness;
	char uuid[37];
	json_t *j = NULL;
	int r;

	if (api_params_check(g->req, params, rep) < 0)
		return 0;
	if (parse_int64(g->arg, 1, INT64_MAX, &id) < 0)
		return http_reply_error(rep, HTTP_BAD_REQUEST, "bad cycle id",
					"'%s' is not a positive integer", g->arg);
	r = db_query_cycle_locate(g->db, id, &run_id, uuid, &seq);
	if (r == -ENOENT)
		return http_reply_error(rep, HTTP_NOT_FOUND, "not found", "no cycle %lld",
					(long long)id);
	if (r < 0)
		return api_db_error(rep, g->db, r, "locating the cycle");
	r = db_cycle_load(g->db, run_id, seq, &rec);
	if (r < 0)
		return api_db_error(rep, g->db, r, "loading the cycle");
	r = bundle_cycle_to_json(uuid, &rec, &j);
	has_lateness = cycle_record_max_lateness(&rec, &lateness);
	cycle_record_done(&rec);
	if (r < 0)
		return api_db_error(rep, g->db, r, "rendering the cycle");
	/* The bundle line of the cycle, with its row id instead of the line type, and how
	 * far its concurrent actions started from their planned starts. */
	json_object_del(j, "type");
	if (json_object_set_new(j, "id", json_integer(id)) < 0 ||
	    json_object_set_new(j, "max_lateness_ns",
				has_lateness ? json_integer(lateness) : json_null()) <
		    0) {
		json_decref(j);
		j = NULL;
	}
	return http_reply_json(rep, HTTP_OK, j);
}

static int api_get_compare(struct api_get *g, struct http_reply *rep)
{
	static const char *const params[] = { "base", "head", "alpha_outcome",
					      "alpha_latency", NULL };
	struct compare_opts o = {
		.base = http_request_arg(g->req, "base"),
		.head = http_request_arg(g->req, "head"),
	};
	struct compare_result *res = NULL;
	json_t *j;
	int r;

	if (api_params_check(g->req, params, rep) < 0)
		return 0;
	if (!o.base || !o.head)
		return http_reply_error(
			rep, HTTP_BAD_REQUEST, "bad parameter",
			"give base and head (a kernel label, a run UUID, label:NAME, run:UUID or kernel:ID)");
	if (api_param_alpha(g->req, "alpha_outcome", 0.001, &o.alpha_outcome, rep) < 0 ||
	    api_param_alpha(g->req, "alpha_latency", 0.01, &o.alpha_latency, rep) < 0)
		return 0;
	r = compare_run(g->db, &o, &res);
	if (r == -ENOENT)
		return http_reply_error(rep, HTTP_NOT_FOUND, "not found",
					"base '%s' or head '%s' matches no run", o.base,
					o.head);
	if (r == -EINVAL)
		return http_reply_error(rep, HTTP_BAD_REQUEST, "bad parameter",
					"malformed selector in base '%s' or head '%s'",
					o.base, o.head);
	if (r < 0)
		return api_db_error(rep, g->db, r, "comparing");
	j = compare_result_to_json(res);
	compare_result_free(res);
	return http_reply_json(rep, HTTP_OK, j);
}

static int api_get_report(struct api_get *g, struct http_reply *rep)
{
	static const char *const params[] = { "selector", NULL };
	const char *sel = http_request_arg(g->req, "selector");
	struct report report;
	json_t *j;
	int r;

	if (api_params_check(g->req, params, rep) < 0)
		return 0;
	if (!sel)
		return http_reply_error(
			rep, HTTP_BAD_REQUEST, "bad parameter",
			"give selector (a kernel label, a run UUID, label:NAME, run:UUID or kernel:ID)");
	r = report_build(g->db, sel, &report);
	if (r == -ENOENT)
		return http_reply_error(rep, HTTP_NOT_FOUND, "not found",
					"selector '%s' matches no run", sel);
	if (r == -EINVAL)
		return http_reply_error(rep, HTTP_BAD_REQUEST, "bad parameter",
					"malformed selector '%s'", sel);
	if (r < 0)
		return api_db_error(rep, g->db, r, "building the report");
	j = report_to_json(&report);
	report_done(&report);
	return http_reply_json(rep, HTTP_OK, j);
}

static int api_get_sweep(struct api_get *g, struct http_reply *rep)
{
	static const char *const params[] = { "run", NULL };
	const char *run = http_request_arg(g->req, "run");
	json_t *j;
	int r;

	if (api_params_check(g->req, params, rep) < 0)
		return 0;
	if (!run)
		return http_reply_error(rep, HTTP_BAD_REQUEST, "bad parameter",
					"give run=UUID");
	if (api_param_uuid("run", run, rep) < 0)
		return 0;
	r = db_query_run_sweep(g->db, run, &j);
	if (r == -ENOENT)
		return http_reply_error(rep, HTTP_NOT_FOUND, "not found", "no run %s",
					run);
	if (r < 0)
		return api_db_error(rep, g->db, r, "reading the sweep");
	return http_reply_json(rep, HTTP_OK, j);
}

/* Rate and 95% interval of every point: Wilson, or [0, exact one-sided upper bound]
 * for zero events, as the compare engine does (never a bare "0%"). */
static int api_trend_rates(json_t *points)
{
	size_t i;
	json_t *p;

	json_array_foreach(points, i, p) {
		uint64_t k = (uint64_t)json_integer_value(json_object_get(p, "k"));
		uint64_t n = (uint64_t)json_integer_value(json_object_get(p, "n"));
		struct stats_interval ci = { 0, 1 };
		int r;

		if (n == 0)
			continue;
		if (k == 0)
			r = stats_zero_events_upper(n, 0.95, &ci.hi);
		else
			r = stats_wilson(k, n, 0.95, &ci);
		if (r < 0)
			return r;
		if (json_object_set_new(p, "rate", json_real((double)k / (double)n)) <
			    0 ||
		    json_object_set_new(p, "ci", json_pack("[f, f]", ci.lo, ci.hi)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int api_get_trend(struct api_get *g, struct http_reply *rep)
{
	static const char *const params[] = { "target",	  "consumer", "metric", "kernel",
					      "campaign", "limit",    NULL };
	const char *metric = http_request_arg(g->req, "metric");
	struct db_trend_filter f = {
		.target = http_request_arg(g->req, "target"),
		.consumer = http_request_arg(g->req, "consumer"),
		.kernel_label = http_request_arg(g->req, "kernel"),
		.campaign = http_request_arg(g->req, "campaign"),
		.outcome = -1,
	};
	json_t *j;
	int r;

	if (api_params_check(g->req, params, rep) < 0 ||
	    api_param_int(g->req, "limit", 1, 1000, 100, &f.limit, rep) < 0)
		return 0;
	if (!metric)
		metric = "failure";
	if (!streq(metric, "failure")) {
		f.outcome = outcome_from_string(metric);
		if (f.outcome < 0)
			return http_reply_error(
				rep, HTTP_BAD_REQUEST, "bad parameter",
				"metric: '%s' is not 'failure' or an outcome (ok, deferred_ok, ..., crash)",
				metric);
	}
	r = db_query_trend(g->db, &f, &j);
	if (r < 0)
		return api_db_error(rep, g->db, r, "reading the trend");
	r = api_trend_rates(j);
	if (r < 0) {
		json_decref(j);
		return http_reply_error(rep, HTTP_INTERNAL_SERVER_ERROR, "internal error",
					"computing intervals: %s", strerror(-r));
	}
	return http_reply_json(rep, HTTP_OK,
			       json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:o}", "metric",
					 metric, "target", f.target, "consumer",
					 f.consumer, "kernel", f.kernel_label, "campaign",
					 f.campaign, "points", j));
}

/* ---- POST endpoints -------------------------------------------------------------- */

/* Byte-wise comparison whose time depends only on the length of the given token. */
static bool api_token_equal(const char *expected, const char *given)
{
	size_t le = strlen(expected), lg = strlen(given);
	unsigned char d = le != lg;

	for (size_t i = 0; i < lg; i++)
		d |= (unsigned char)((unsigned char)given[i] ^
				     (unsigned char)expected[i % le]);
	return d == 0;
}

/* 0 when the request carries the token; otherwise the 401/403 is in rep. */
static int api_authorize(struct api *a, struct http_request *req, const char *what,
			 struct http_reply *rep)
{
	const char *h = http_request_header(req, "Authorization");

	if (!a->token) {
		http_reply_error(
			rep, HTTP_FORBIDDEN, "ingest disabled",
			"%s needs a token and none is configured ([daemon] token or token-file)",
			what);
		return -EPERM;
	}
	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		http_reply_error(rep, HTTP_UNAUTHORIZED, "unauthorized",
				 "%s needs 'Authorization: Bearer TOKEN'", what);
		rep->authenticate = "Bearer realm=\"probestorm\"";
		return -EACCES;
	}
	h += 7;
	while (*h == ' ')
		h++;
	if (!api_token_equal(a->token, h)) {
		http_reply_error(rep, HTTP_UNAUTHORIZED, "unauthorized", "invalid token");
		rep->authenticate =
			"Bearer realm=\"probestorm\", error=\"invalid_token\"";
		return -EACCES;
	}
	return 0;
}

static json_t *api_stats_json(const struct bundle_stats *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "lines",
			 (json_int_t)s->lines, "runs_inserted",
			 (json_int_t)s->runs_inserted, "runs_present",
			 (json_int_t)s->runs_present, "cycles_inserted",
			 (json_int_t)s->cycles_inserted, "cycles_present",
			 (json_int_t)s->cycles_present, "events_inserted",
			 (json_int_t)s->events_inserted, "events_present",
			 (json_int_t)s->events_present, "ends_applied",
			 (json_int_t)s->ends_applied, "ends_present",
			 (json_int_t)s->ends_present, "torn_tail", s->torn_tail);
}

static int api_post_bundle(void *userdata, struct http_request *req, char *body,
			   size_t len, struct http_reply *rep)
{
	struct api *a = userdata;
	_cleanup_free_ char *err = NULL;
	struct bundle_stats st = {};
	char peer[HTTP_PEER_MAX];
	FILE *f;
	int r = 0;

	if (len > 0) {
		f = fmemopen(body, len, "r");
		if (!f)
			return http_reply_error(
				rep, HTTP_INTERNAL_SERVER_ERROR, "internal error",
				"cannot read the body: %s", strerror(errno));
		pthread_mutex_lock(&a->writer_lock);
		r = bundle_import(a->writer, f, &st, &err);
		pthread_mutex_unlock(&a->writer_lock);
		fclose(f);
	}
	if (r == -EBADMSG || r == -ENOENT || r == -EINVAL || r == -EEXIST ||
	    r == -E2BIG) {
		unsigned status = r == -EEXIST	? HTTP_CONFLICT
				  : r == -E2BIG ? HTTP_CONTENT_TOO_LARGE
						: HTTP_BAD_REQUEST;

		log_notice("API: bundle from %s refused: %s",
			   http_request_peer(req, peer, sizeof(peer)),
			   err ? err : strerror(-r));
		return http_reply_error(rep, status,
					r == -EEXIST  ? "conflict"
					: r == -E2BIG ? "line too large"
						      : "bad bundle",
					"%s", err ? err : strerror(-r));
	}
	if (r == -EBUSY)
		return http_reply_error(rep, HTTP_SERVICE_UNAVAILABLE, "database busy",
					"%s", err ? err : strerror(-r));
	/* The import rolled back whole: the client may send it again once there is room. */
	if (r == -ENOSPC) {
		log_error("API: bundle import failed: the database's disk is full: %s",
			  err ? err : "");
		return http_reply_error(rep, HTTP_INSUFFICIENT_STORAGE, "disk full",
					"no space left for the database: %s",
					err ? err : strerror(-r));
	}
	if (r < 0) {
		log_error_errno(r, "API: bundle import failed: %s", err ? err : "");
		return http_reply_error(rep, HTTP_INTERNAL_SERVER_ERROR, "import failed",
					"%s", err ? err : strerror(-r));
	}
	log_info(
		"API: bundle from %s imported: %zu lines, %zu runs, %zu cycles, %zu events new; %zu runs, %zu cycles, %zu events present",
		http_request_peer(req, peer, sizeof(peer)), st.lines, st.runs_inserted,
		st.cycles_inserted, st.events_inserted, st.runs_present,
		st.cycles_present, st.events_present);
	return http_reply_json(rep, HTTP_OK, api_stats_json(&st));
}

static int api_post_campaign(void *userdata, struct http_request *req, char *body,
			     size_t len, struct http_reply *rep)
{
	struct api *a = userdata;
	char peer[HTTP_PEER_MAX];
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *err = NULL;
	const char *name;
	json_error_t jerr;
	int r;

	j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return http_reply_error(rep, HTTP_BAD_REQUEST, "bad request",
					"body is not JSON: %s (at byte %d)", jerr.text,
					jerr.position);
	name = json_string_value(json_object_get(j, "campaign"));
	if (!json_is_object(j) || !name)
		return http_reply_error(rep, HTTP_BAD_REQUEST, "bad request",
					"body must be {\"campaign\": NAME}");
	r = a->scheduler ? scheduler_start(a->scheduler, name, &err) : -EOPNOTSUPP;
	if (r == -ENOENT)
		return http_reply_error(rep, HTTP_NOT_FOUND, "not found",
					"no campaign '%s'", name);
	if (r == -EBUSY)
		return http_reply_error(rep, HTTP_CONFLICT, "campaign running", "%s",
					err ? err : "another campaign is running");
	if (r == -ENOEXEC)
		return http_reply_error(rep, HTTP_CONFLICT, "preflight failed", "%s",
					err ? err : "the target is not ready");
	if (r < 0)
		return http_reply_error(rep, HTTP_INTERNAL_SERVER_ERROR, "internal error",
					"cannot start the campaign: %s", strerror(-r));
	log_info("API: campaign %s requested by %s", name,
		 http_request_peer(req, peer, sizeof(peer)));
	return http_reply_json(
		rep, HTTP_ACCEPTED,
		json_pack("{s:s, s:s}", "status", "started", "campaign", name));
}

/* ---- static files ---------------------------------------------------------------- */

static const char *api_content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".json", "application/json" },
		{ ".ico", "image/vnd.microsoft.icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');

	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < ARRAY_SIZE(types); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* Opens url under root (canonical): no "..", and after resolving symlinks still inside
 * it. A directory means its index.html. Returns an fd or a negative errno. */
static int api_static_open(const char *root, const char *url, char **ret_path,
			   struct stat *st)
{
	_cleanup_free_ char *path = NULL, *real = NULL;
	size_t rootlen;
	int fd;

	if (!root || url[0] != '/' || strstr(url, ".."))
		return -ENOENT;
	path = strprintf("%s%s%s", root, url,
			 url[strlen(url) - 1] == '/' ? "index.html" : "");
	if (!path)
		return -ENOMEM;
	real = realpath(path, NULL);
	if (!real)
		return negative_errno();
	rootlen = strlen(root);
	if (strncmp(real, root, rootlen) != 0 || real[rootlen] != '/')
		return -ENOENT;
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, st) < 0) {
		close(fd);
		return -EIO;
	}
	if (S_ISDIR(st->st_mode)) {
		int fd2 = openat(fd, "index.html",
				 O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);

		close(fd);
		if (fd2 < 0)
			return negative_errno();
		fd = fd2;
		free(real);
		real = strprintf("%s/index.html", path);
		if (!real || fstat(fd, st) < 0) {
			close(fd);
			return -ENOMEM;
		}
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT;
	}
	*ret_path = TAKE_PTR(real);
	return fd;
}

static int api_static(struct api *a, const char *url, const char *method,
		      struct http_reply *rep)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;
	int fd;

	if (!streq(method, "GET") && !streq(method, "HEAD")) {
		http_reply_error(rep, HTTP_METHOD_NOT_ALLOWED, "method not allowed",
				 "%s %s: allowed: GET, HEAD", method, url);
		rep->allow = "GET, HEAD";
		return 0;
	}
	if (strncmp(url, API_JAVASCRIPT_URL, strlen(API_JAVASCRIPT_URL)) == 0)
		fd = api_static_open(a->js_root, url + strlen(API_JAVASCRIPT_URL) - 1,
				     &path, &st);
	else
		fd = api_static_open(a->web_root, url, &path, &st);
	if (fd < 0)
		return http_reply_error(rep, HTTP_NOT_FOUND, "not found", "no file %s",
					url);
	http_reply_file(rep, fd, (uint64_t)st.st_size, api_content_type(path));
	return 0;
}

/* ---- routing --------------------------------------------------------------------- */

typedef int (*api_get_fn)(struct api_get *g, struct http_reply *rep);

/* The endpoints; a "*" segment matches a run UUID or cycle id (passed as arg). */
static const struct api_route {
	const char *path; /* below /api/v1/ */
	api_get_fn get;
	http_body_fn post;
} api_routes[] = {
	{ "health", api_get_health, NULL },
	{ "kernels", api_get_kernels, NULL },
	{ "targets", api_get_targets, NULL },
	{ "runs", api_get_runs, NULL },
	{ "runs/*", api_get_run, NULL },
	{ "runs/*/cycles", api_get_run_cycles, NULL },
	{ "cycles/*", api_get_cycle, NULL },
	{ "compare", api_get_compare, NULL },
	{ "report", api_get_report, NULL },
	{ "sweep", api_get_sweep, NULL },
	{ "trend", api_get_trend, NULL },
	{ "bundles", NULL, api_post_bundle },
	{ "campaigns", NULL, api_post_campaign },
};

/* Matches path against pattern; the segment matched by "*" goes into arg (at most 63
 * bytes, empty segments never match). */
static bool api_route_match(const char *pattern, const char *path, char *arg, size_t size)
{
	while (*pattern) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");

			if (n == 0 || n >= size)
				return false;
			memcpy(arg, path, n);
			arg[n] = '\0';
			path += n;
			pattern++;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *path == '\0';
}

/* http.c's begin handler, called once the headers are in: answers everything but a POST
 * whose body is still to come, which it hands to http.c with its size limit. */
static int api_begin(void *userdata, struct http_request *req, const char *url,
		     const char *method, struct http_reply *rep)
{
	struct api *a = userdata;
	const struct api_route *route = NULL;
	char arg[64] = "";
	bool get = streq(method, "GET") || streq(method, "HEAD");

	if (strncmp(url, "/api/", 5) != 0 && !streq(url, "/api"))
		return api_static(a, url, method, rep);
	if (strncmp(url, "/api/v1/", 8) == 0)
		for (size_t i = 0; i < ARRAY_SIZE(api_routes) && !route; i++)
			if (api_route_match(api_routes[i].path, url + 8, arg,
					    sizeof(arg)))
				route = &api_routes[i];
	if (!route)
		return http_reply_error(rep, HTTP_NOT_FOUND, "not found",
					"no endpoint %s", url);
	if (route->get && !get) {
		http_reply_error(rep, HTTP_METHOD_NOT_ALLOWED, "method not allowed",
				 "%s %s: allowed: GET, HEAD", method, url);
		rep->allow = "GET, HEAD";
		return 0;
	}
	if (route->get) {
		struct api_get g = { .a = a, .req = req, .arg = arg };
		int r;

		if (http_request_args_valid(req, rep) < 0)
			return 0;
		/* Run UUIDs are recorded in lower case (bundle.h). */
		for (char *p = arg; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
		r = api_reader(a, &g.db);

		/* One snapshot per request: the queries of an answer agree with each
		 * other while the runner or an import commits beside them. */
		if (r >= 0)
			r = db_begin_read(g.db);
		if (r < 0)
			http_reply_error(rep, HTTP_SERVICE_UNAVAILABLE,
					 "database unavailable",
					 "cannot read the database: %s", strerror(-r));
		else {
			route->get(&g, rep);
			db_rollback(g.db);
		}
		log_debug("API: %s %s: %u", method, url, rep->status);
		return 0;
	}
	if (!streq(method, "POST")) {
		http_reply_error(rep, HTTP_METHOD_NOT_ALLOWED, "method not allowed",
				 "%s %s: allowed: POST", method, url);
		rep->allow = "POST";
		return 0;
	}
	if (api_authorize(a, req, url, rep) < 0)
		return 0;
	http_request_take_body(
		req, route->post == api_post_bundle ? a->max_body : API_MAX_CAMPAIGN_BODY,
		route->post);
	return 0;
}

static void api_reader_close(void *p)
{
	db_close(p);
}

/* ---- setup ----------------------------------------------------------------------- */

static int api_read_token(const struct conf_daemon *d, char **ret)
{
	_cleanup_free_ char *t = NULL;
	int r;

	if (d->token) {
		t = strdup(d->token);
		if (!t)
			return log_oom();
	} else if (d->token_file) {
		r = read_token_file(d->token_file, &t);
		if (r < 0)
			return log_error_errno(r, "Failed to read token file '%s'",
					       d->token_file);
	}
	if (t && !*t)
		return log_error_errno(EINVAL, "the API token is empty");
	*ret = TAKE_PTR(t);
	return 0;
}

static void api_free(struct api *a)
{
	if (!a)
		return;
	/* Joins the workers; their reader connections close by the key's destructor. */
	http_server_free(a->http);
	db_close(a->writer);
	if (a->reader_key_set)
		pthread_key_delete(a->reader_key);
	pthread_mutex_destroy(&a->writer_lock);
	free(a->database);
	free(a->web_root);
	free(a->js_root);
	free(a->token);
	free(a);
}

int api_start(const struct api_opts *o, struct api **ret)
{
	struct http_opts ho = {
		.listen = o->listen,
		.listen_fd = o->listen_fd,
		.threads = o->threads ? o->threads : API_THREADS_DEFAULT,
		.max_connections = o->max_connections ? o->max_connections
						      : API_MAX_CONNECTIONS_DEFAULT,
		.max_connections_per_ip = o->max_connections_per_ip
						  ? o->max_connections_per_ip
						  : API_MAX_CONNECTIONS_PER_IP_DEFAULT,
		.begin = api_begin,
	};
	const char *web_root = o->web_root ? o->web_root : PKGDATADIR "/web";
	struct api *a;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return log_oom();
	pthread_mutex_init(&a->writer_lock, NULL);
	/* First, so that a bad listen address is the first thing said. */
	ho.userdata = a;
	r = http_server_new(&ho, &a->http);
	if (r < 0)
		goto fail;
	a->conf = o->conf;
	a->scheduler = o->scheduler;
	a->max_body = o->max_body ? o->max_body : API_MAX_BODY_DEFAULT;
	a->started_ns = now_ns();
	a->database = strdup(o->database);
	if (!a->database) {
		r = log_oom();
		goto fail;
	}
	a->web_root = realpath(web_root, NULL);
	if (!a->web_root)
		log_warning_errno(errno,
				  "web root '%s' unavailable: only the API is served",
				  web_root);
	/* Without it the dashboard still works, with tables instead of charts. */
	a->js_root = realpath(JAVASCRIPTDIR, NULL);
	if (!a->js_root)
		log_debug("'%s' unavailable: %s is not served", JAVASCRIPTDIR,
			  API_JAVASCRIPT_URL);
	r = api_read_token(&o->conf->daemon, &a->token);
	if (r < 0)
		goto fail;
	r = pthread_key_create(&a->reader_key, api_reader_close);
	if (r != 0) {
		r = log_error_errno(r, "Failed to create a thread key");
		goto fail;
	}
	a->reader_key_set = true;
	r = db_open(a->database, 0, &a->writer);
	if (r < 0) {
		log_error_errno(r, "Failed to open database '%s' for ingest",
				a->database);
		goto fail;
	}
	r = http_server_start(a->http);
	if (r < 0)
		goto fail;
	*ret = a;
	return 0;
fail:
	api_free(a);
	return r;
}

uint16_t api_port(const struct api *a)
{
	return http_server_port(a->http);
}

void api_stop(struct api *a)
{
	api_free(a);
}
