/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP JSON API (api.h, docs/openapi.json). libmicrohttpd runs an epoll thread pool;
 * every request is routed when its headers are in: GET endpoints and static files answer
 * at once, the two POST endpoints check the token and the announced size first, collect
 * the body in per-connection state (freed in the completion callback) and answer when it
 * is complete. Workers read through a read-only database connection each, opened on a
 * worker's first request and closed by a thread-specific destructor when the pool exits;
 * bundle imports share one writer connection under a mutex, and a campaign is started
 * through the scheduler (scheduler.h), which runs it on a thread of its own.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#ifdef HAVE_LIBMICROHTTPD
#include <microhttpd.h>
#endif

#include "api.h"
#include "bundle.h"
#include "compare.h"
#include "report.h"
#include "db-query.h"
#include "db.h"
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
/* After a request whose body took this much, free memory goes back to the system. */
#define API_TRIM_THRESHOLD ((size_t)1 << 20)
/* Of an oversized chunked upload this much is read and thrown away so the client gets
 * its 413; beyond it the connection is closed. */
#define API_MAX_DISCARD ((uint64_t)16 << 20)

struct api {
#ifdef HAVE_LIBMICROHTTPD
	struct MHD_Daemon *mhd;
#endif
	uint16_t port;
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

	/* The open connections (struct api_conn), for the limits libmicrohttpd 0.9.75 does
	 * not have: connection counts that leave out connections already done, a reserve
	 * for local clients, header and body deadlines enforced by the reaper thread. */
	unsigned max_conns, max_per_ip;
	pthread_mutex_t conn_lock;
	struct api_conn *conns;
	unsigned long refused; /* since the last log line about it */
	int64_t noted_ns;
	pthread_cond_t reaper_cond;
	bool reaper_stop, reaper_started;
	pthread_t reaper;
};

#ifdef HAVE_LIBMICROHTTPD

/* ---- connections ----------------------------------------------------------------- */

/* One open connection, from libmicrohttpd's STARTED to its CLOSED notification (which
 * comes before it closes the socket: the reaper may shut fd down under conn_lock). All
 * fields under a->conn_lock. */
struct api_conn {
	struct api *api;
	struct api_conn *prev, *next;
	int fd;
	struct sockaddr_storage addr;
	bool local;	   /* 127.0.0.1 or ::1 */
	bool closing;	   /* its last request ended and it carries no other */
	bool killed;	   /* shut down by the reaper */
	bool headers_done; /* a request is in, waiting for its body or being answered */
	bool in_body;
	int64_t since_ns; /* when the connection opened or its last request ended */
	int64_t body_ns;  /* when the headers were in */
	uint64_t body_bytes;
	int64_t answered_ns; /* when an answer was queued; 0: none */
};

static bool api_addr_is_local(const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		       htonl(INADDR_LOOPBACK);
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a6) ||
		       (memcmp(a6->s6_addr, mapped, 12) == 0 && a6->s6_addr[12] == 127 &&
			a6->s6_addr[13] == 0 && a6->s6_addr[14] == 0 &&
			a6->s6_addr[15] == 1);
	}
	return false;
}

/* Same host (the port does not count). */
static bool api_addr_equal(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr,
			      sizeof(struct in6_addr)) == 0;
	return false;
}

/* libmicrohttpd's accept policy: the connection limits. libmicrohttpd's own per-IP limit
 * counts a connection until its worker thread gets round to cleaning it up, well after
 * the client saw it closed: 12 clients that each open, ask and close got refused under a
 * limit of 16. Here a connection stops counting once its last request has ended (and
 * once the reaper shut it down); the small race between two workers accepting at once
 * can let the count exceed a limit by the number of workers less one. */
static enum MHD_Result api_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct api *a = cls;
	unsigned total = 0, same = 0;
	bool ok;

	if (!addr || len == 0)
		return MHD_YES;
	pthread_mutex_lock(&a->conn_lock);
	for (struct api_conn *ac = a->conns; ac; ac = ac->next) {
		if (ac->closing || ac->killed)
			continue;
		total++;
		if (api_addr_equal(&ac->addr, addr))
			same++;
	}
	ok = same < a->max_per_ip &&
	     total < a->max_conns + (api_addr_is_local(addr) ? API_LOCAL_RESERVE : 0);
	if (!ok)
		a->refused++;
	pthread_mutex_unlock(&a->conn_lock);
	return ok ? MHD_YES : MHD_NO;
}

static void api_notify_connection(void *cls, struct MHD_Connection *c,
				  void **socket_context,
				  enum MHD_ConnectionNotificationCode toe)
{
	struct api *a = cls;
	struct api_conn *ac = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const struct sockaddr *sa = ci ? ci->client_addr : NULL;

		/* Without the state the connection is only left out of the counts. */
		ac = calloc(1, sizeof(*ac));
		if (!ac || !fd) {
			free(ac);
			return;
		}
		ac->api = a;
		ac->fd = fd->connect_fd;
		if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
			memcpy(&ac->addr, sa,
			       sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
							: sizeof(struct sockaddr_in6));
			ac->local = api_addr_is_local(sa);
		}
		ac->since_ns = now_ns();
		pthread_mutex_lock(&a->conn_lock);
		ac->next = a->conns;
		if (a->conns)
			a->conns->prev = ac;
		a->conns = ac;
		pthread_mutex_unlock(&a->conn_lock);
		*socket_context = ac;
		return;
	}
	if (!ac)
		return;
	pthread_mutex_lock(&a->conn_lock);
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		a->conns = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	pthread_mutex_unlock(&a->conn_lock);
	free(ac);
	*socket_context = NULL;
}

static struct api_conn *api_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

enum api_conn_event {
	API_CONN_HEADERS,   /* a request's headers are in */
	API_CONN_BODY,	    /* n bytes of its body */
	API_CONN_BODY_DONE, /* its body is complete */
	API_CONN_ANSWERED,  /* an answer is queued */
	API_CONN_DONE,	    /* the request ended; the connection stays open */
	API_CONN_CLOSING,   /* the request ended and so does the connection */
};

static void api_conn_event(struct MHD_Connection *c, enum api_conn_event ev, size_t n)
{
	struct api_conn *ac = api_conn_of(c);
	int64_t now = now_ns();

	if (!ac)
		return;
	pthread_mutex_lock(&ac->api->conn_lock);
	switch (ev) {
	case API_CONN_HEADERS:
		ac->headers_done = ac->in_body = true;
		ac->closing = false;
		ac->body_ns = now;
		ac->body_bytes = 0;
		ac->answered_ns = 0;
		break;
	case API_CONN_BODY: ac->body_bytes += n; break;
	case API_CONN_BODY_DONE: ac->in_body = false; break;
	case API_CONN_ANSWERED:
		ac->in_body = false;
		ac->answered_ns = now;
		break;
	case API_CONN_DONE:
	case API_CONN_CLOSING:
		ac->headers_done = ac->in_body = false;
		ac->answered_ns = 0;
		ac->since_ns = now;
		ac->closing = ev == API_CONN_CLOSING;
		break;
	}
	pthread_mutex_unlock(&ac->api->conn_lock);
}

/* Shuts down the connections that are too slow: headers not in after
 * API_HEADER_TIMEOUT_S (so also keep-alive connections idle for as long), a body below
 * API_BODY_MIN_RATE, an answer not taken after API_ANSWER_TIMEOUT_S. libmicrohttpd's
 * idle timeout alone lets a client that sends a byte now and then hold a connection for
 * ever. shutdown(2) makes the worker see the end of the connection and close it itself. */
static void *api_reaper(void *userdata)
{
	struct api *a = userdata;
	unsigned long headers = 0, body = 0, answer = 0;

	pthread_mutex_lock(&a->conn_lock);
	while (!a->reaper_stop) {
		int64_t now = now_ns();
		struct timespec ts;

		for (struct api_conn *ac = a->conns; ac; ac = ac->next) {
			int64_t t = now - ac->body_ns;
			bool slow_headers =
				!ac->headers_done && !ac->closing &&
				now - ac->since_ns >
					(int64_t)API_HEADER_TIMEOUT_S * NSEC_PER_SEC;
			bool slow_body = ac->headers_done && ac->in_body &&
					 t > (int64_t)API_BODY_GRACE_S * NSEC_PER_SEC &&
					 ac->body_bytes < (uint64_t)(t / NSEC_PER_SEC) *
								  API_BODY_MIN_RATE;
			bool slow_answer =
				ac->answered_ns &&
				now - ac->answered_ns >
					(int64_t)API_ANSWER_TIMEOUT_S * NSEC_PER_SEC;

			if (ac->killed || !(slow_headers || slow_body || slow_answer))
				continue;
			shutdown(ac->fd, SHUT_RDWR);
			ac->killed = true;
			headers += slow_headers;
			body += slow_body && !slow_headers;
			answer += slow_answer && !slow_body && !slow_headers;
		}
		/* One line every 10 s at most: a flood must not flood the journal. */
		if ((headers + body + answer > 0 || a->refused > 0) &&
		    now - a->noted_ns >= 10 * NSEC_PER_SEC) {
			unsigned long refused = a->refused;

			a->refused = 0;
			a->noted_ns = now;
			pthread_mutex_unlock(&a->conn_lock);
			if (headers + body + answer > 0)
				log_notice(
					"API: closed %lu slow connections (%lu without headers after %u s, %lu with a body below %u bytes/s, %lu not taking their answer)",
					headers + body + answer, headers,
					API_HEADER_TIMEOUT_S, body, API_BODY_MIN_RATE,
					answer);
			if (refused > 0)
				log_notice(
					"API: refused %lu connections over the limits (%u, %u per address, %u more for 127.0.0.1 and ::1)",
					refused, a->max_conns, a->max_per_ip,
					API_LOCAL_RESERVE);
			headers = body = answer = 0;
			pthread_mutex_lock(&a->conn_lock);
		}
		now = now_ns() + NSEC_PER_SEC / 2;
		ts = (struct timespec){ .tv_sec = now / NSEC_PER_SEC,
					.tv_nsec = now % NSEC_PER_SEC };
		if (!a->reaper_stop)
			pthread_cond_timedwait(&a->reaper_cond, &a->conn_lock, &ts);
	}
	pthread_mutex_unlock(&a->conn_lock);
	return NULL;
}

/* ---- replies --------------------------------------------------------------------- */

struct api_reply {
	unsigned status;
	json_t *body;
	bool close;	   /* Connection: close (a request that cannot be trusted) */
	const char *allow; /* Allow header of a 405 */
	const char *authenticate; /* WWW-Authenticate header of a 401 */
};

static int api_error(struct api_reply *rep, unsigned status, const char *error,
		     const char *fmt, ...) _printf_(4, 5);
static int api_error(struct api_reply *rep, unsigned status, const char *error,
		     const char *fmt, ...)
{
	_cleanup_free_ char *detail = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&detail, fmt, ap) < 0)
		detail = NULL;
	va_end(ap);
	json_decref(rep->body);
	rep->status = status;
	rep->body =
		json_pack("{s:s, s:s}", "error", error, "detail", detail ? detail : "");
	/* The detail may quote what the client sent (a path, a parameter), which need not
	 * be UTF-8 and so no JSON string: such bytes are shown as '?'. */
	if (!rep->body && detail) {
		for (char *p = detail; *p; p++)
			if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
				*p = '?';
		rep->body = json_pack("{s:s, s:s}", "error", error, "detail", detail);
	}
	return 0;
}

static int api_ok(struct api_reply *rep, unsigned status, json_t *body)
{
	if (!body)
		return api_error(rep, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory",
				 "cannot build the answer");
	json_decref(rep->body);
	rep->status = status;
	rep->body = body;
	return 0;
}

/* Maps a storage error onto 404/503/500 with the database's message. */
static int api_db_error(struct api_reply *rep, struct db *db, int r, const char *what)
{
	if (r == -ENOENT)
		return api_error(rep, MHD_HTTP_NOT_FOUND, "not found", "%s", what);
	log_error_errno(r, "API: %s failed: %s", what, db ? db_errmsg(db) : "");
	if (r == -EBUSY)
		return api_error(rep, MHD_HTTP_SERVICE_UNAVAILABLE, "database busy",
				 "%s: %s", what, strerror(-r));
	return api_error(rep, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error", "%s: %s",
			 what, strerror(-r));
}

static enum MHD_Result api_queue(struct MHD_Connection *c, unsigned status,
				 struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES)
		api_conn_event(c, API_CONN_ANSWERED, 0);
	return ret;
}

static enum MHD_Result api_send(struct MHD_Connection *c, struct api_reply *rep)
{
	struct MHD_Response *resp;
	char *text;

	if (!rep->body)
		api_error(rep, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory",
			  "no answer");
	text = rep->body ? json_dumps(rep->body, JSON_COMPACT) : NULL;
	json_decref(rep->body);
	rep->body = NULL;
	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer_with_free_callback(strlen(text), text,
								  free);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "application/json") == MHD_NO ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") ==
		    MHD_NO ||
	    (rep->allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
						   rep->allow) == MHD_NO) ||
	    (rep->authenticate &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				     rep->authenticate) == MHD_NO) ||
	    (rep->close && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
						   "close") == MHD_NO)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return api_queue(c, rep->status, resp);
}

/* ---- request parameters ---------------------------------------------------------- */

struct api_param_check {
	const char *const *allowed;
	const char *unknown;
};

static enum MHD_Result api_param_iter(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct api_param_check *pc = cls;

	for (const char *const *p = pc->allowed; *p; p++)
		if (streq(*p, key))
			return MHD_YES;
	pc->unknown = key;
	return MHD_NO;
}

struct api_param_bad {
	const char *key;
	const char *why;
};

static bool api_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned n, min;
		uint32_t cp;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0)
			n = 1, min = 0x80, cp = *p & 0x1f;
		else if ((*p & 0xf0) == 0xe0)
			n = 2, min = 0x800, cp = *p & 0x0f;
		else if ((*p & 0xf8) == 0xf0)
			n = 3, min = 0x10000, cp = *p & 0x07;
		else
			return false;
		if ((size_t)(end - p) <= n)
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

static enum MHD_Result api_param_bad_iter(void *cls, enum MHD_ValueKind kind,
					  const char *key, size_t key_size,
					  const char *value, size_t value_size)
{
	struct api_param_bad *b = cls;

	if (strlen(key) != key_size || (value && strlen(value) != value_size))
		b->why = "holds a NUL byte (%00)";
	else if (!api_utf8_valid(key, key_size) ||
		 (value && !api_utf8_valid(value, value_size)))
		b->why = "is not UTF-8";
	else
		return MHD_YES;
	b->key = key;
	return MHD_NO;
}

/* 0, or -EINVAL with a 400 in rep for a query parameter whose name or value has a NUL
 * byte (libmicrohttpd's lookup would see "%00" as an empty value, that is no filter at
 * all) or is not UTF-8 (it could be neither matched nor quoted in a JSON answer). */
static int api_params_sane(struct MHD_Connection *c, struct api_reply *rep)
{
	struct api_param_bad b = {};

	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, api_param_bad_iter, &b);
	if (b.key) {
		api_error(rep, MHD_HTTP_BAD_REQUEST, "bad parameter", "parameter '%s' %s",
			  b.key, b.why);
		return -EINVAL;
	}
	return 0;
}

/* 0, or -EINVAL with a 400 in rep for a query parameter the endpoint does not know: a
 * typo in a filter must not silently widen the selection. */
static int api_params_check(struct MHD_Connection *c, const char *const *allowed,
			    struct api_reply *rep)
{
	struct api_param_check pc = { .allowed = allowed };

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, api_param_iter, &pc);
	if (pc.unknown) {
		api_error(rep, MHD_HTTP_BAD_REQUEST, "bad parameter",
			  "unknown parameter '%s'", pc.unknown);
		return -EINVAL;
	}
	return 0;
}

/* A parameter's value; an empty value counts as absent. */
static const char *api_param(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);

	return v && *v ? v : NULL;
}

static int api_param_int(struct MHD_Connection *c, const char *name, int64_t min,
			 int64_t max, int64_t def, int64_t *ret, struct api_reply *rep)
{
	const char *v = api_param(c, name);

	if (!v) {
		*ret = def;
		return 0;
	}
	if (parse_int64(v, min, max, ret) < 0) {
		api_error(rep, MHD_HTTP_BAD_REQUEST, "bad parameter",
			  "%s: '%s' is not an integer in %lld..%lld", name, v,
			  (long long)min, (long long)max);
		return -EINVAL;
	}
	return 0;
}

/* An alpha in (0, 1), or def when absent. */
static int api_param_alpha(struct MHD_Connection *c, const char *name, double def,
			   double *ret, struct api_reply *rep)
{
	const char *v = api_param(c, name);
	char *end;
	double d;

	if (!v) {
		*ret = def;
		return 0;
	}
	errno = 0;
	d = strtod(v, &end);
	if (errno || *end || !(d > 0 && d < 1)) {
		api_error(rep, MHD_HTTP_BAD_REQUEST, "bad parameter",
			  "%s: '%s' is not a number in (0, 1)", name, v);
		return -EINVAL;
	}
	*ret = d;
	return 0;
}

static int api_param_uuid(const char *what, const char *v, struct api_reply *rep)
{
	if (!uuid_is_valid(v)) {
		api_error(rep, MHD_HTTP_BAD_REQUEST, "bad run id",
			  "%s: '%s' is not a UUID (8-4-4-4-12 hex digits)", what, v);
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
	struct MHD_Connection *c;
	struct db *db;
	const char *arg; /* the {uuid} or {id} of the path, or NULL */
};

static int api_get_health(struct api_get *g, struct api_reply *rep)
{
	struct api *a = g->a;
	struct scheduler_status st = {};
	json_t *campaign, *last = json_null();

	if (a->scheduler && scheduler_status(a->scheduler, &st) < 0)
		return api_error(rep, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error",
				 "out of memory");
	if (st.last_name)
		last = json_pack("{s:s, s:s?, s:s}", "name", st.last_name, "run",
				 st.last_uuid[0] ? st.last_uuid : NULL, "result",
				 st.last_result == 0 ? "ok" : strerror(-st.last_result));
	campaign = json_pack("{s:b, s:s?, s:o*}", "running", st.running, "name", st.name,
			     "last", last);
	scheduler_status_done(&st);
	return api_ok(rep, MHD_HTTP_OK,
		      json_pack("{s:s, s:s, s:i, s:I, s:b, s:o*}", "status", "ok",
				"version", PACKAGE_VERSION, "schema_version",
				db_schema_version(g->db), "uptime_s",
				(json_int_t)((now_ns() - a->started_ns) / NSEC_PER_SEC),
				"ingest", a->token != NULL, "campaign", campaign));
}

static int api_get_kernels(struct api_get *g, struct api_reply *rep)
{
	json_t *j;
	int r = db_query_kernels(g->db, &j);

	if (r < 0)
		return api_db_error(rep, g->db, r, "listing kernels");
	return api_ok(rep, MHD_HTTP_OK, json_pack("{s:o}", "kernels", j));
}

static int api_get_targets(struct api_get *g, struct api_reply *rep)
{
	json_t *j;
	int r = db_query_targets(g->db, &j);

	if (r < 0)
		return api_db_error(rep, g->db, r, "listing targets");
	return api_ok(rep, MHD_HTTP_OK, json_pack("{s:o}", "targets", j));
}

static int api_get_runs(struct api_get *g, struct api_reply *rep)
{
	static const char *const params[] = { "target", "kernel", "campaign",
					      "limit",	"offset", NULL };
	struct db_run_filter f = {
		.target = api_param(g->c, "target"),
		.kernel_label = api_param(g->c, "kernel"),
		.campaign = api_param(g->c, "campaign"),
	};
	int64_t total;
	json_t *j;
	int r;

	if (api_params_check(g->c, params, rep) < 0 ||
	    api_param_int(g->c, "limit", 1, 1000, 100, &f.limit, rep) < 0 ||
	    api_param_int(g->c, "offset", 0, INT64_MAX, 0, &f.offset, rep) < 0)
		return 0;
	r = db_query_run_count(g->db, &f, &total);
	if (r < 0)
		return api_db_error(rep, g->db, r, "counting runs");
	r = db_query_runs(g->db, &f, &j);
	if (r < 0)
		return api_db_error(rep, g->db, r, "listing runs");
	return api_ok(rep, MHD_HTTP_OK,
		      json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)total,
				"limit", (json_int_t)f.limit, "offset",
				(json_int_t)f.offset, "runs", j));
}

static int api_get_run(struct api_get *g, struct api_reply *rep)
{
	static const char *const params[] = { NULL };
	json_t *j;
	int r;

	if (api_params_check(g->c, params, rep) < 0 ||
	    api_param_uuid("run", g->arg, rep) < 0)
		return 0;
	r = db_query_run_summary(g->db, g->arg, &j);
	if (r == -ENOENT)
		return api_error(rep, MHD_HTTP_NOT_FOUND, "not found", "no run %s",
				 g->arg);
	if (r < 0)
		return api_db_error(rep, g->db, r, "reading the run summary");
	return api_ok(rep, MHD_HTTP_OK, j);
}

static int api_get_run_cycles(struct api_get *g, struct api_reply *rep)
{
	static const char *const params[] = { "sweep", "limit", "offset", NULL };
	int64_t limit, offset, total, sweep;
	bool by_sweep = api_param(g->c, "sweep") != NULL;
	json_t *j;
	int r;

	if (api_params_check(g->c, params, rep) < 0 ||
	    api_param_uuid("run", g->arg, rep) < 0 ||
	    api_param_int(g->c, "sweep", INT64_MIN, INT64_MAX, 0, &sweep, rep) < 0 ||
	    api_param_int(g->c, "limit", 1, 1000, 100, &limit, rep) < 0 ||
	    api_param_int(g->c, "offset", 0, INT64_MAX, 0, &offset, rep) < 0)
		return 0;
	r = db_query_run_cycles(g->db, g->arg, by_sweep ? &sweep : NULL, limit, offset,
				&j, &total);
	if (r == -ENOENT)
		return api_error(rep, MHD_HTTP_NOT_FOUND, "not found", "no run %s",
				 g->arg);
	if (r < 0)
		return api_db_error(rep, g->db, r, "listing cycles");
	return api_ok(rep, MHD_HTTP_OK,
		      json_pack("{s:s, s:o*, s:I, s:I, s:I, s:o}", "run", g->arg, "sweep",
				by_sweep ? json_integer(sweep) : NULL, "total",
				(json_int_t)total, "limit", (json_int_t)limit, "offset",
				(json_int_t)offset, "cycles", j));
}

static int api_get_cycle(struct api_get *g, struct api_reply *rep)
{
	static const char *const params[] = { NULL };
	struct cycle_record rec = {};
	int64_t id, run_id, seq, lateness = 0;
	bool has_lateness;
	char uuid[37];
	json_t *j = NULL;
	int r;

	if (api_params_check(g->c, params, rep) < 0)
		return 0;
	if (parse_int64(g->arg, 1, INT64_MAX, &id) < 0)
		return api_error(rep, MHD_HTTP_BAD_REQUEST, "bad cycle id",
				 "'%s' is not a positive integer", g->arg);
	r = db_query_cycle_locate(g->db, id, &run_id, uuid, &seq);
	if (r == -ENOENT)
		return api_error(rep, MHD_HTTP_NOT_FOUND, "not found", "no cycle %lld",
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
	return api_ok(rep, MHD_HTTP_OK, j);
}

static int api_get_compare(struct api_get *g, struct api_reply *rep)
{
	static const char *const params[] = { "base", "head", "alpha_outcome",
					      "alpha_latency", NULL };
	struct compare_opts o = {
		.base = api_param(g->c, "base"),
		.head = api_param(g->c, "head"),
	};
	struct compare_result *res = NULL;
	json_t *j;
	int r;

	if (api_params_check(g->c, params, rep) < 0)
		return 0;
	if (!o.base || !o.head)
		return api_error(
			rep, MHD_HTTP_BAD_REQUEST, "bad parameter",
			"give base and head (a kernel label, a run UUID, label:NAME, run:UUID or kernel:ID)");
	if (api_param_alpha(g->c, "alpha_outcome", 0.001, &o.alpha_outcome, rep) < 0 ||
	    api_param_alpha(g->c, "alpha_latency", 0.01, &o.alpha_latency, rep) < 0)
		return 0;
	r = compare_run(g->db, &o, &res);
	if (r == -ENOENT)
		return api_error(rep, MHD_HTTP_NOT_FOUND, "not found",
				 "base '%s' or head '%s' matches no run", o.base, o.head);
	if (r == -EINVAL)
		return api_error(rep, MHD_HTTP_BAD_REQUEST, "bad parameter",
				 "malformed selector in base '%s' or head '%s'", o.base,
				 o.head);
	if (r < 0)
		return api_db_error(rep, g->db, r, "comparing");
	j = compare_result_to_json(res);
	compare_result_free(res);
	return api_ok(rep, MHD_HTTP_OK, j);
}

static int api_get_report(struct api_get *g, struct api_reply *rep)
{
	static const char *const params[] = { "selector", NULL };
	const char *sel = api_param(g->c, "selector");
	struct report report;
	json_t *j;
	int r;

	if (api_params_check(g->c, params, rep) < 0)
		return 0;
	if (!sel)
		return api_error(
			rep, MHD_HTTP_BAD_REQUEST, "bad parameter",
			"give selector (a kernel label, a run UUID, label:NAME, run:UUID or kernel:ID)");
	r = report_build(g->db, sel, &report);
	if (r == -ENOENT)
		return api_error(rep, MHD_HTTP_NOT_FOUND, "not found",
				 "selector '%s' matches no run", sel);
	if (r == -EINVAL)
		return api_error(rep, MHD_HTTP_BAD_REQUEST, "bad parameter",
				 "malformed selector '%s'", sel);
	if (r < 0)
		return api_db_error(rep, g->db, r, "building the report");
	j = report_to_json(&report);
	report_done(&report);
	return api_ok(rep, MHD_HTTP_OK, j);
}

static int api_get_sweep(struct api_get *g, struct api_reply *rep)
{
	static const char *const params[] = { "run", NULL };
	const char *run = api_param(g->c, "run");
	json_t *j;
	int r;

	if (api_params_check(g->c, params, rep) < 0)
		return 0;
	if (!run)
		return api_error(rep, MHD_HTTP_BAD_REQUEST, "bad parameter",
				 "give run=UUID");
	if (api_param_uuid("run", run, rep) < 0)
		return 0;
	r = db_query_run_sweep(g->db, run, &j);
	if (r == -ENOENT)
		return api_error(rep, MHD_HTTP_NOT_FOUND, "not found", "no run %s", run);
	if (r < 0)
		return api_db_error(rep, g->db, r, "reading the sweep");
	return api_ok(rep, MHD_HTTP_OK, j);
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

static int api_get_trend(struct api_get *g, struct api_reply *rep)
{
	static const char *const params[] = { "target",	  "consumer", "metric", "kernel",
					      "campaign", "limit",    NULL };
	const char *metric = api_param(g->c, "metric");
	struct db_trend_filter f = {
		.target = api_param(g->c, "target"),
		.consumer = api_param(g->c, "consumer"),
		.kernel_label = api_param(g->c, "kernel"),
		.campaign = api_param(g->c, "campaign"),
		.outcome = -1,
	};
	json_t *j;
	int r;

	if (api_params_check(g->c, params, rep) < 0 ||
	    api_param_int(g->c, "limit", 1, 1000, 100, &f.limit, rep) < 0)
		return 0;
	if (!metric)
		metric = "failure";
	if (!streq(metric, "failure")) {
		f.outcome = outcome_from_string(metric);
		if (f.outcome < 0)
			return api_error(
				rep, MHD_HTTP_BAD_REQUEST, "bad parameter",
				"metric: '%s' is not 'failure' or an outcome (ok, deferred_ok, ..., crash)",
				metric);
	}
	r = db_query_trend(g->db, &f, &j);
	if (r < 0)
		return api_db_error(rep, g->db, r, "reading the trend");
	r = api_trend_rates(j);
	if (r < 0) {
		json_decref(j);
		return api_error(rep, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error",
				 "computing intervals: %s", strerror(-r));
	}
	return api_ok(rep, MHD_HTTP_OK,
		      json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:o}", "metric", metric,
				"target", f.target, "consumer", f.consumer, "kernel",
				f.kernel_label, "campaign", f.campaign, "points", j));
}

/* ---- POST endpoints -------------------------------------------------------------- */

enum api_post {
	API_POST_NONE,
	API_POST_BUNDLE,
	API_POST_CAMPAIGN,
};

/* Per-connection state of a request with a body; freed in the completion callback. */
struct api_request {
	enum api_post post;
	char *body;
	size_t len, cap, limit;
	bool keep_alive; /* the connection carries another request after this one */
	bool too_large;
	bool get_pending; /* a GET or HEAD, answered once its request is complete */
	uint64_t discarded;
};

static void api_request_free(struct api_request *req)
{
	if (!req)
		return;
	free(req->body);
	free(req);
}

/* The peer's numeric address for log messages. */
static const char *api_client(struct MHD_Connection *c, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t len = !sa			    ? 0
			: sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						    : sizeof(struct sockaddr_in);

	if (!sa ||
	    getnameinfo(sa, len, buf, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, size, "?");
	return buf;
}

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
static int api_authorize(struct api *a, struct MHD_Connection *c, const char *what,
			 struct api_reply *rep)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);

	if (!a->token) {
		api_error(
			rep, MHD_HTTP_FORBIDDEN, "ingest disabled",
			"%s needs a token and none is configured ([daemon] token or token-file)",
			what);
		return -EPERM;
	}
	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		api_error(rep, MHD_HTTP_UNAUTHORIZED, "unauthorized",
			  "%s needs 'Authorization: Bearer TOKEN'", what);
		rep->authenticate = "Bearer realm=\"probestorm\"";
		return -EACCES;
	}
	h += 7;
	while (*h == ' ')
		h++;
	if (!api_token_equal(a->token, h)) {
		api_error(rep, MHD_HTTP_UNAUTHORIZED, "unauthorized", "invalid token");
		rep->authenticate =
			"Bearer realm=\"probestorm\", error=\"invalid_token\"";
		return -EACCES;
	}
	return 0;
}

/* Takes a chunk of the body; counts what an oversized upload sends without keeping it.
 * MHD_NO closes the connection when even that gets out of hand. */
static enum MHD_Result api_body_add(struct api_request *req, const char *data,
				    size_t size)
{
	if (!req->too_large && req->len + size > req->limit) {
		req->too_large = true;
		req->discarded = req->len;
		free(req->body);
		req->body = NULL;
		req->len = req->cap = 0;
	}
	if (req->too_large) {
		req->discarded += size;
		return req->discarded - req->limit > API_MAX_DISCARD ? MHD_NO : MHD_YES;
	}
	if (req->len + size + 1 > req->cap) {
		size_t cap = req->cap ? req->cap : 64 * 1024;
		char *b;

		while (cap < req->len + size + 1)
			cap *= 2;
		b = realloc(req->body, cap);
		if (!b)
			return MHD_NO;
		req->body = b;
		req->cap = cap;
	}
	memcpy(req->body + req->len, data, size);
	req->len += size;
	req->body[req->len] = '\0';
	return MHD_YES;
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

static int api_post_bundle(struct api *a, struct MHD_Connection *c,
			   struct api_request *req, struct api_reply *rep)
{
	_cleanup_free_ char *err = NULL;
	struct bundle_stats st = {};
	char peer[INET6_ADDRSTRLEN + 8];
	FILE *f;
	int r = 0;

	if (req->len > 0) {
		f = fmemopen(req->body, req->len, "r");
		if (!f)
			return api_error(rep, MHD_HTTP_INTERNAL_SERVER_ERROR,
					 "internal error", "cannot read the body: %s",
					 strerror(errno));
		pthread_mutex_lock(&a->writer_lock);
		r = bundle_import(a->writer, f, &st, &err);
		pthread_mutex_unlock(&a->writer_lock);
		fclose(f);
	}
	if (r == -EBADMSG || r == -ENOENT || r == -EINVAL || r == -EEXIST ||
	    r == -E2BIG) {
		unsigned status = r == -EEXIST	? MHD_HTTP_CONFLICT
				  : r == -E2BIG ? MHD_HTTP_CONTENT_TOO_LARGE
						: MHD_HTTP_BAD_REQUEST;

		log_notice("API: bundle from %s refused: %s",
			   api_client(c, peer, sizeof(peer)), err ? err : strerror(-r));
		return api_error(rep, status,
				 r == -EEXIST  ? "conflict"
				 : r == -E2BIG ? "line too large"
					       : "bad bundle",
				 "%s", err ? err : strerror(-r));
	}
	if (r == -EBUSY)
		return api_error(rep, MHD_HTTP_SERVICE_UNAVAILABLE, "database busy", "%s",
				 err ? err : strerror(-r));
	/* The import rolled back whole: the client may send it again once there is room. */
	if (r == -ENOSPC) {
		log_error("API: bundle import failed: the database's disk is full: %s",
			  err ? err : "");
		return api_error(rep, MHD_HTTP_INSUFFICIENT_STORAGE, "disk full",
				 "no space left for the database: %s",
				 err ? err : strerror(-r));
	}
	if (r < 0) {
		log_error_errno(r, "API: bundle import failed: %s", err ? err : "");
		return api_error(rep, MHD_HTTP_INTERNAL_SERVER_ERROR, "import failed",
				 "%s", err ? err : strerror(-r));
	}
	log_info(
		"API: bundle from %s imported: %zu lines, %zu runs, %zu cycles, %zu events new; %zu runs, %zu cycles, %zu events present",
		api_client(c, peer, sizeof(peer)), st.lines, st.runs_inserted,
		st.cycles_inserted, st.events_inserted, st.runs_present,
		st.cycles_present, st.events_present);
	return api_ok(rep, MHD_HTTP_OK, api_stats_json(&st));
}

static int api_post_campaign(struct api *a, struct MHD_Connection *c,
			     struct api_request *req, struct api_reply *rep)
{
	char peer[INET6_ADDRSTRLEN + 8];
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *err = NULL;
	const char *name;
	json_error_t jerr;
	int r;

	j = json_loadb(req->body ? req->body : "", req->len, JSON_REJECT_DUPLICATES,
		       &jerr);
	if (!j)
		return api_error(rep, MHD_HTTP_BAD_REQUEST, "bad request",
				 "body is not JSON: %s (at byte %d)", jerr.text,
				 jerr.position);
	name = json_string_value(json_object_get(j, "campaign"));
	if (!json_is_object(j) || !name)
		return api_error(rep, MHD_HTTP_BAD_REQUEST, "bad request",
				 "body must be {\"campaign\": NAME}");
	r = a->scheduler ? scheduler_start(a->scheduler, name, &err) : -EOPNOTSUPP;
	if (r == -ENOENT)
		return api_error(rep, MHD_HTTP_NOT_FOUND, "not found", "no campaign '%s'",
				 name);
	if (r == -EBUSY)
		return api_error(rep, MHD_HTTP_CONFLICT, "campaign running", "%s",
				 err ? err : "another campaign is running");
	if (r == -ENOEXEC)
		return api_error(rep, MHD_HTTP_CONFLICT, "preflight failed", "%s",
				 err ? err : "the target is not ready");
	if (r < 0)
		return api_error(rep, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error",
				 "cannot start the campaign: %s", strerror(-r));
	log_info("API: campaign %s requested by %s", name,
		 api_client(c, peer, sizeof(peer)));
	return api_ok(rep, MHD_HTTP_ACCEPTED,
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

static enum MHD_Result api_static(struct api *a, struct MHD_Connection *c,
				  const char *url, const char *method,
				  struct api_reply *rep)
{
	_cleanup_free_ char *path = NULL;
	struct MHD_Response *resp;
	struct stat st;
	int fd;

	if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD)) {
		api_error(rep, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
			  "%s %s: allowed: GET, HEAD", method, url);
		rep->allow = "GET, HEAD";
		return api_send(c, rep);
	}
	if (strncmp(url, API_JAVASCRIPT_URL, strlen(API_JAVASCRIPT_URL)) == 0)
		fd = api_static_open(a->js_root, url + strlen(API_JAVASCRIPT_URL) - 1,
				     &path, &st);
	else
		fd = api_static_open(a->web_root, url, &path, &st);
	if (fd < 0) {
		api_error(rep, MHD_HTTP_NOT_FOUND, "not found", "no file %s", url);
		return api_send(c, rep);
	}
	resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    api_content_type(path)) == MHD_NO ||
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") ==
		    MHD_NO) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return api_queue(c, MHD_HTTP_OK, resp);
}

/* ---- routing --------------------------------------------------------------------- */

typedef int (*api_get_fn)(struct api_get *g, struct api_reply *rep);

/* The endpoints; a "*" segment matches a run UUID or cycle id (passed as arg). */
static const struct api_route {
	const char *path; /* below /api/v1/ */
	api_get_fn get;
	enum api_post post;
} api_routes[] = {
	{ "health", api_get_health, API_POST_NONE },
	{ "kernels", api_get_kernels, API_POST_NONE },
	{ "targets", api_get_targets, API_POST_NONE },
	{ "runs", api_get_runs, API_POST_NONE },
	{ "runs/*", api_get_run, API_POST_NONE },
	{ "runs/*/cycles", api_get_run_cycles, API_POST_NONE },
	{ "cycles/*", api_get_cycle, API_POST_NONE },
	{ "compare", api_get_compare, API_POST_NONE },
	{ "report", api_get_report, API_POST_NONE },
	{ "sweep", api_get_sweep, API_POST_NONE },
	{ "trend", api_get_trend, API_POST_NONE },
	{ "bundles", NULL, API_POST_BUNDLE },
	{ "campaigns", NULL, API_POST_CAMPAIGN },
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

/* Called once the headers are in: answers everything but a POST whose body is still to
 * come. */
static enum MHD_Result api_begin(struct api *a, struct MHD_Connection *c, const char *url,
				 const char *method, struct api_request *req)
{
	struct api_reply rep = {};
	const struct api_route *route = NULL;
	char arg[64] = "";
	bool get =
		streq(method, MHD_HTTP_METHOD_GET) || streq(method, MHD_HTTP_METHOD_HEAD);

	if (strncmp(url, "/api/", 5) != 0 && !streq(url, "/api"))
		return api_static(a, c, url, method, &rep);
	if (strncmp(url, "/api/v1/", 8) == 0)
		for (size_t i = 0; i < ARRAY_SIZE(api_routes) && !route; i++)
			if (api_route_match(api_routes[i].path, url + 8, arg,
					    sizeof(arg)))
				route = &api_routes[i];
	if (!route) {
		api_error(&rep, MHD_HTTP_NOT_FOUND, "not found", "no endpoint %s", url);
		return api_send(c, &rep);
	}
	if (route->get && !get) {
		api_error(&rep, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
			  "%s %s: allowed: GET, HEAD", method, url);
		rep.allow = "GET, HEAD";
		return api_send(c, &rep);
	}
	if (route->get) {
		struct api_get g = { .a = a, .c = c, .arg = arg };
		int r;

		if (api_params_sane(c, &rep) < 0)
			return api_send(c, &rep);
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
			api_error(&rep, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "database unavailable", "cannot read the database: %s",
				  strerror(-r));
		else {
			route->get(&g, &rep);
			db_rollback(g.db);
		}
		log_debug("API: %s %s: %u", method, url, rep.status);
		return api_send(c, &rep);
	}
	if (!streq(method, MHD_HTTP_METHOD_POST)) {
		api_error(&rep, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
			  "%s %s: allowed: POST", method, url);
		rep.allow = "POST";
		return api_send(c, &rep);
	}
	if (api_authorize(a, c, url, &rep) < 0)
		return api_send(c, &rep);

	req->post = route->post;
	req->limit = route->post == API_POST_BUNDLE ? a->max_body : API_MAX_CAMPAIGN_BODY;
	{
		const char *cl = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		int64_t n;

		/* Refused before a byte of the body is read. */
		if (cl && parse_int64(cl, 0, INT64_MAX, &n) == 0 &&
		    (uint64_t)n > req->limit) {
			api_error(&rep, MHD_HTTP_CONTENT_TOO_LARGE, "body too large",
				  "%lld bytes; the limit is %zu", (long long)n,
				  req->limit);
			return api_send(c, &rep);
		}
	}
	return MHD_YES;
}

struct api_framing {
	unsigned content_length;
	const char *first_length;
	bool length_differs, chunked;
};

static enum MHD_Result api_framing_iter(void *cls, enum MHD_ValueKind kind,
					const char *key, const char *value)
{
	struct api_framing *f = cls;

	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		if (f->content_length++ == 0)
			f->first_length = value;
		else if (!value || !f->first_length || !streq(value, f->first_length))
			f->length_differs = true;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
		f->chunked = true;
	return MHD_YES;
}

/* 0, or a 400 in rep for a request whose body length is ambiguous: two Content-Length
 * headers that differ, or Content-Length beside Transfer-Encoding. A proxy in front could
 * frame such a request otherwise than libmicrohttpd (request smuggling); the connection
 * is closed after the answer. */
static int api_framing_check(struct MHD_Connection *c, struct api_reply *rep)
{
	struct api_framing f = {};

	MHD_get_connection_values(c, MHD_HEADER_KIND, api_framing_iter, &f);
	if (!f.length_differs && !(f.content_length > 0 && f.chunked))
		return 0;
	api_error(rep, MHD_HTTP_BAD_REQUEST, "bad request",
		  f.length_differs
			  ? "conflicting Content-Length headers"
			  : "Content-Length and Transfer-Encoding exclude each other");
	rep->close = true;
	return -EBADMSG;
}

/* Whether the connection carries another request after this one (HTTP/1.1 unless
 * "Connection: close", HTTP/1.0 only with "Connection: keep-alive"). */
static bool api_keeps_alive(struct MHD_Connection *c, const char *version)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONNECTION);

	if (version && streq(version, MHD_HTTP_VERSION_1_1))
		return !h || !strcasestr(h, "close");
	return h && strcasestr(h, "keep-alive");
}

static enum MHD_Result api_handle(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct api *a = cls;
	struct api_request *req = *con_cls;
	struct api_reply rep = {};

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		api_conn_event(c, API_CONN_HEADERS, 0);
		req->keep_alive = api_keeps_alive(c, version);
		if (api_framing_check(c, &rep) < 0) {
			req->keep_alive = false;
			return api_send(c, &rep);
		}
		/* libmicrohttpd closes a connection whose answer was queued before the
		 * request was complete, even one without a body: GETs are answered on the
		 * next call, which keeps the connection alive for the next request. */
		if (streq(method, MHD_HTTP_METHOD_GET) ||
		    streq(method, MHD_HTTP_METHOD_HEAD)) {
			req->get_pending = true;
			return MHD_YES;
		}
		{
			enum MHD_Result ret = api_begin(a, c, url, method, req);

			/* answered before its body: libmicrohttpd closes the connection */
			if (req->post == API_POST_NONE)
				req->keep_alive = false;
			return ret;
		}
	}
	if (*upload_data_size > 0)
		api_conn_event(c, API_CONN_BODY, *upload_data_size);
	else
		api_conn_event(c, API_CONN_BODY_DONE, 0);
	if (req->get_pending) {
		if (*upload_data_size > 0) {
			*upload_data_size = 0; /* a GET's body means nothing: dropped */
			return MHD_YES;
		}
		req->get_pending = false;
		return api_begin(a, c, url, method, req);
	}
	if (*upload_data_size > 0) {
		size_t size = *upload_data_size;

		*upload_data_size = 0;
		if (req->post == API_POST_NONE) {
			/* answered already; the rest is dropped, and so is the connection */
			req->keep_alive = false;
			return MHD_YES;
		}
		return api_body_add(req, upload_data, size);
	}
	if (req->too_large) {
		api_error(&rep, MHD_HTTP_CONTENT_TOO_LARGE, "body too large",
			  "more than %zu bytes", req->limit);
		return api_send(c, &rep);
	}
	switch (req->post) {
	case API_POST_BUNDLE: api_post_bundle(a, c, req, &rep); break;
	case API_POST_CAMPAIGN: api_post_campaign(a, c, req, &rep); break;
	default: return MHD_YES;
	}
	return api_send(c, &rep);
}

static void api_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct api_request *req = *con_cls;
	bool alive = req && req->keep_alive && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
	/* A large body leaves the worker's malloc arena with free memory glibc keeps
	 * (jansson's trees of an import, the body itself): given back here. */
	bool trim = req && req->cap >= API_TRIM_THRESHOLD;

	api_conn_event(c, alive ? API_CONN_DONE : API_CONN_CLOSING, 0);
	api_request_free(req);
	*con_cls = NULL;
	if (trim)
		malloc_trim(0);
}

static void api_mhd_log(void *cls, const char *fmt, va_list ap) _printf_(2, 0);
static void api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	/* What one client did to its own connection: under a flood of them that would
	 * be a line per connection (the reaper and api_accept() count them instead). */
	if (strncmp(buf, "Connection was closed", 21) == 0 ||
	    strncmp(buf, "Connection socket is closed", 27) == 0 ||
	    strstr(buf, "Server reached connection limit") || strstr(buf, "timed out"))
		log_debug("libmicrohttpd: %s", buf);
	else
		log_warning("libmicrohttpd: %s", buf);
}

static void api_reader_close(void *p)
{
	db_close(p);
}

/* ---- setup ----------------------------------------------------------------------- */

/* HOST:PORT or [V6ADDR]:PORT into a socket address. */
static int api_parse_listen(const char *listen, struct sockaddr_storage *ret,
			    socklen_t *ret_len)
{
	_cleanup_free_ char *host = NULL;
	const char *colon = strrchr(listen, ':'), *h = listen;
	size_t hlen;
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | AI_PASSIVE,
	};
	struct addrinfo *ai = NULL;
	int64_t port;
	int r;

	if (!colon || colon == listen || parse_int64(colon + 1, 0, 65535, &port) < 0)
		return log_error_errno(EINVAL, "listen address '%s' is not HOST:PORT",
				       listen);
	hlen = (size_t)(colon - listen);
	if (h[0] == '[') {
		if (hlen < 3 || colon[-1] != ']')
			return log_error_errno(
				EINVAL, "listen address '%s' is not [ADDR]:PORT", listen);
		h++;
		hlen -= 2;
	}
	host = strndup(h, hlen);
	if (!host)
		return log_oom();
	r = getaddrinfo(host, colon + 1, &hints, &ai);
	if (r != 0)
		return log_error_errno(EINVAL, "cannot resolve listen address '%s': %s",
				       listen, gai_strerror(r));
	if (ai->ai_addrlen > sizeof(*ret)) {
		freeaddrinfo(ai);
		return -EINVAL;
	}
	memcpy(ret, ai->ai_addr, ai->ai_addrlen);
	*ret_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

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
	db_close(a->writer);
	if (a->reader_key_set)
		pthread_key_delete(a->reader_key);
	if (a->reaper_started) {
		pthread_mutex_lock(&a->conn_lock);
		a->reaper_stop = true;
		pthread_cond_signal(&a->reaper_cond);
		pthread_mutex_unlock(&a->conn_lock);
		pthread_join(a->reaper, NULL);
	}
	pthread_cond_destroy(&a->reaper_cond);
	pthread_mutex_destroy(&a->conn_lock);
	pthread_mutex_destroy(&a->writer_lock);
	free(a->database);
	free(a->web_root);
	free(a->js_root);
	free(a->token);
	free(a);
}

int api_start(const struct api_opts *o, struct api **ret)
{
	struct api *a;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct MHD_OptionItem ops[16];
	const char *web_root = o->web_root ? o->web_root : PKGDATADIR "/web";
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	size_t n = 0;
	int r;

	if (o->listen_fd < 0 && (r = api_parse_listen(o->listen, &ss, &sslen)) < 0)
		return r;
	a = calloc(1, sizeof(*a));
	if (!a)
		return log_oom();
	pthread_mutex_init(&a->writer_lock, NULL);
	pthread_mutex_init(&a->conn_lock, NULL);
	cond_init_monotonic(&a->reaper_cond);
	a->max_conns =
		o->max_connections ? o->max_connections : API_MAX_CONNECTIONS_DEFAULT;
	a->max_per_ip = o->max_connections_per_ip ? o->max_connections_per_ip
						  : API_MAX_CONNECTIONS_PER_IP_DEFAULT;
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

	if (o->listen_fd >= 0)
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET,
						    o->listen_fd, NULL };
	else {
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
		if (ss.ss_family == AF_INET6)
			flags |= MHD_USE_IPv6;
	}
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
					    o->threads ? o->threads : API_THREADS_DEFAULT,
					    NULL };
	/* The limits are api_accept()'s; libmicrohttpd's own, which it splits between the
	 * workers and which counts connections until they are cleaned up, is only a
	 * backstop well above them. */
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
					    2 * (a->max_conns + API_LOCAL_RESERVE) +
						    (o->threads ? o->threads
								: API_THREADS_DEFAULT),
					    NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
					    (intptr_t)api_notify_connection, a };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
					    API_CONNECTION_TIMEOUT_S, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					    (intptr_t)API_CONNECTION_MEMORY_LIMIT, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
					    (intptr_t)api_completed, a };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	/* The logger comes first, so that MHD's messages about the other options reach
	 * it. */
	r = pthread_create(&a->reaper, NULL, api_reaper, a);
	if (r != 0) {
		r = log_error_errno(r, "Failed to start a thread");
		goto fail;
	}
	a->reaper_started = true;
	a->mhd = MHD_start_daemon(flags, 0, api_accept, a, api_handle, a,
				  MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, a,
				  MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
	if (!a->mhd) {
		r = log_error_errno(
			errno ? errno : EIO, "Failed to start the HTTP server on %s",
			o->listen_fd >= 0 ? "the activated socket" : o->listen);
		goto fail;
	}
	info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT);
	a->port = info ? info->port : 0;
	*ret = a;
	return 0;
fail:
	api_free(a);
	return r;
}

uint16_t api_port(const struct api *a)
{
	return a->port;
}

void api_stop(struct api *a)
{
	if (!a)
		return;
	/* Joins the workers; their reader connections close by the key's destructor. */
	if (a->mhd)
		MHD_stop_daemon(a->mhd);
	api_free(a);
}

#else /* !HAVE_LIBMICROHTTPD */

int api_start(const struct api_opts *o, struct api **ret)
{
	return log_error_errno(
		EOPNOTSUPP, "probestormd was built without libmicrohttpd: no HTTP API");
}

uint16_t api_port(const struct api *a)
{
	return 0;
}

void api_stop(struct api *a)
{
}

#endif
