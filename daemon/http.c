/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmicrohttpd under the API (http.h). One epoll thread pool; every request gets a
 * struct http_request when its headers are in and the API's begin handler is called (a
 * GET's once the request is complete, which keeps its connection alive). A request that
 * takes a body collects it here, up to the handler's limit, and the body handler answers
 * once it is complete; the state is freed in the completion callback. The limits that
 * libmicrohttpd 0.9.75 does not have are kept here: connection counts that leave out
 * connections already done, a reserve for local clients, header, body and answer
 * deadlines enforced by a reaper thread. libmicrohttpd's messages go to the log.
 */

#include <errno.h>
#include <malloc.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#ifdef HAVE_LIBMICROHTTPD
#include <microhttpd.h>
#endif

#include "http.h"
#include "log.h"
#include "macro.h"
#include "util.h"

/* After a request whose body took this much, free memory goes back to the system. */
#define HTTP_TRIM_THRESHOLD ((size_t)1 << 20)
/* Of an oversized chunked upload this much is read and thrown away so the client gets
 * its 413; beyond it the connection is closed. */
#define HTTP_MAX_DISCARD ((uint64_t)16 << 20)

/* ---- replies --------------------------------------------------------------------- */

int http_reply_error(struct http_reply *rep, unsigned status, const char *error,
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

int http_reply_json(struct http_reply *rep, unsigned status, json_t *body)
{
	if (!body)
		return http_reply_error(rep, HTTP_INTERNAL_SERVER_ERROR, "out of memory",
					"cannot build the answer");
	json_decref(rep->body);
	rep->status = status;
	rep->body = body;
	return 0;
}

void http_reply_file(struct http_reply *rep, int fd, uint64_t size,
		     const char *content_type)
{
	json_decref(rep->body);
	rep->body = NULL;
	rep->status = HTTP_OK;
	rep->file = true;
	rep->fd = fd;
	rep->size = size;
	rep->content_type = content_type;
}

#ifdef HAVE_LIBMICROHTTPD

/* http.h names the status codes without including microhttpd.h. */
_Static_assert(HTTP_OK == MHD_HTTP_OK, "HTTP_OK");
_Static_assert(HTTP_ACCEPTED == MHD_HTTP_ACCEPTED, "HTTP_ACCEPTED");
_Static_assert(HTTP_BAD_REQUEST == MHD_HTTP_BAD_REQUEST, "HTTP_BAD_REQUEST");
_Static_assert(HTTP_UNAUTHORIZED == MHD_HTTP_UNAUTHORIZED, "HTTP_UNAUTHORIZED");
_Static_assert(HTTP_FORBIDDEN == MHD_HTTP_FORBIDDEN, "HTTP_FORBIDDEN");
_Static_assert(HTTP_NOT_FOUND == MHD_HTTP_NOT_FOUND, "HTTP_NOT_FOUND");
_Static_assert(HTTP_METHOD_NOT_ALLOWED == MHD_HTTP_METHOD_NOT_ALLOWED,
	       "HTTP_METHOD_NOT_ALLOWED");
_Static_assert(HTTP_CONFLICT == MHD_HTTP_CONFLICT, "HTTP_CONFLICT");
_Static_assert(HTTP_CONTENT_TOO_LARGE == MHD_HTTP_CONTENT_TOO_LARGE,
	       "HTTP_CONTENT_TOO_LARGE");
_Static_assert(HTTP_INTERNAL_SERVER_ERROR == MHD_HTTP_INTERNAL_SERVER_ERROR,
	       "HTTP_INTERNAL_SERVER_ERROR");
_Static_assert(HTTP_SERVICE_UNAVAILABLE == MHD_HTTP_SERVICE_UNAVAILABLE,
	       "HTTP_SERVICE_UNAVAILABLE");
_Static_assert(HTTP_INSUFFICIENT_STORAGE == MHD_HTTP_INSUFFICIENT_STORAGE,
	       "HTTP_INSUFFICIENT_STORAGE");

struct http_server {
	struct MHD_Daemon *mhd;
	uint16_t port;
	http_begin_fn begin;
	void *userdata;
	char *listen; /* for messages; NULL with listen_fd */
	int listen_fd;
	struct sockaddr_storage addr;
	unsigned threads;

	/* The open connections (struct http_conn), for the limits libmicrohttpd 0.9.75
	 * does not have: connection counts that leave out connections already done, a
	 * reserve for local clients, header and body deadlines enforced by the reaper
	 * thread. */
	unsigned max_conns, max_per_ip;
	pthread_mutex_t conn_lock;
	struct http_conn *conns;
	unsigned long refused; /* since the last log line about it */
	int64_t noted_ns;
	pthread_cond_t reaper_cond;
	bool reaper_stop, reaper_started;
	pthread_t reaper;
};

/* Per-request state; freed in the completion callback. */
struct http_request {
	struct MHD_Connection *conn;
	http_body_fn body_fn; /* NULL: the request takes no body */
	char *body;
	size_t len, cap, limit;
	bool keep_alive; /* the connection carries another request after this one */
	bool too_large;
	bool get_pending; /* a GET or HEAD, answered once its request is complete */
	uint64_t discarded;
};

/* ---- connections ----------------------------------------------------------------- */

/* One open connection, from libmicrohttpd's STARTED to its CLOSED notification (which
 * comes before it closes the socket: the reaper may shut fd down under conn_lock). All
 * fields under s->conn_lock. */
struct http_conn {
	struct http_server *server;
	struct http_conn *prev, *next;
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

static bool http_addr_is_local(const struct sockaddr *sa)
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
static bool http_addr_equal(const struct sockaddr_storage *a, const struct sockaddr *b)
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
static enum MHD_Result http_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct http_server *s = cls;
	unsigned total = 0, same = 0;
	bool ok;

	if (!addr || len == 0)
		return MHD_YES;
	pthread_mutex_lock(&s->conn_lock);
	for (struct http_conn *hc = s->conns; hc; hc = hc->next) {
		if (hc->closing || hc->killed)
			continue;
		total++;
		if (http_addr_equal(&hc->addr, addr))
			same++;
	}
	ok = same < s->max_per_ip &&
	     total < s->max_conns + (http_addr_is_local(addr) ? HTTP_LOCAL_RESERVE : 0);
	if (!ok)
		s->refused++;
	pthread_mutex_unlock(&s->conn_lock);
	return ok ? MHD_YES : MHD_NO;
}

static void http_notify_connection(void *cls, struct MHD_Connection *c,
				   void **socket_context,
				   enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	struct http_conn *hc = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const struct sockaddr *sa = ci ? ci->client_addr : NULL;

		/* Without the state the connection is only left out of the counts. */
		hc = calloc(1, sizeof(*hc));
		if (!hc || !fd) {
			free(hc);
			return;
		}
		hc->server = s;
		hc->fd = fd->connect_fd;
		if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
			memcpy(&hc->addr, sa,
			       sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
							: sizeof(struct sockaddr_in6));
			hc->local = http_addr_is_local(sa);
		}
		hc->since_ns = now_ns();
		pthread_mutex_lock(&s->conn_lock);
		hc->next = s->conns;
		if (s->conns)
			s->conns->prev = hc;
		s->conns = hc;
		pthread_mutex_unlock(&s->conn_lock);
		*socket_context = hc;
		return;
	}
	if (!hc)
		return;
	pthread_mutex_lock(&s->conn_lock);
	if (hc->prev)
		hc->prev->next = hc->next;
	else
		s->conns = hc->next;
	if (hc->next)
		hc->next->prev = hc->prev;
	pthread_mutex_unlock(&s->conn_lock);
	free(hc);
	*socket_context = NULL;
}

static struct http_conn *http_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

enum http_conn_event {
	HTTP_CONN_HEADERS,   /* a request's headers are in */
	HTTP_CONN_BODY,	     /* n bytes of its body */
	HTTP_CONN_BODY_DONE, /* its body is complete */
	HTTP_CONN_ANSWERED,  /* an answer is queued */
	HTTP_CONN_DONE,	     /* the request ended; the connection stays open */
	HTTP_CONN_CLOSING,   /* the request ended and so does the connection */
};

static void http_conn_event(struct MHD_Connection *c, enum http_conn_event ev, size_t n)
{
	struct http_conn *hc = http_conn_of(c);
	int64_t now = now_ns();

	if (!hc)
		return;
	pthread_mutex_lock(&hc->server->conn_lock);
	switch (ev) {
	case HTTP_CONN_HEADERS:
		hc->headers_done = hc->in_body = true;
		hc->closing = false;
		hc->body_ns = now;
		hc->body_bytes = 0;
		hc->answered_ns = 0;
		break;
	case HTTP_CONN_BODY: hc->body_bytes += n; break;
	case HTTP_CONN_BODY_DONE: hc->in_body = false; break;
	case HTTP_CONN_ANSWERED:
		hc->in_body = false;
		hc->answered_ns = now;
		break;
	case HTTP_CONN_DONE:
	case HTTP_CONN_CLOSING:
		hc->headers_done = hc->in_body = false;
		hc->answered_ns = 0;
		hc->since_ns = now;
		hc->closing = ev == HTTP_CONN_CLOSING;
		break;
	}
	pthread_mutex_unlock(&hc->server->conn_lock);
}

/* Shuts down the connections that are too slow: headers not in after
 * HTTP_HEADER_TIMEOUT_S (so also keep-alive connections idle for as long), a body below
 * HTTP_BODY_MIN_RATE, an answer not taken after HTTP_ANSWER_TIMEOUT_S. libmicrohttpd's
 * idle timeout alone lets a client that sends a byte now and then hold a connection for
 * ever. shutdown(2) makes the worker see the end of the connection and close it itself. */
static void *http_reaper(void *userdata)
{
	struct http_server *s = userdata;
	unsigned long headers = 0, body = 0, answer = 0;

	pthread_mutex_lock(&s->conn_lock);
	while (!s->reaper_stop) {
		int64_t now = now_ns();
		struct timespec ts;

		for (struct http_conn *hc = s->conns; hc; hc = hc->next) {
			int64_t t = now - hc->body_ns;
			bool slow_headers =
				!hc->headers_done && !hc->closing &&
				now - hc->since_ns >
					(int64_t)HTTP_HEADER_TIMEOUT_S * NSEC_PER_SEC;
			bool slow_body = hc->headers_done && hc->in_body &&
					 t > (int64_t)HTTP_BODY_GRACE_S * NSEC_PER_SEC &&
					 hc->body_bytes < (uint64_t)(t / NSEC_PER_SEC) *
								  HTTP_BODY_MIN_RATE;
			bool slow_answer =
				hc->answered_ns &&
				now - hc->answered_ns >
					(int64_t)HTTP_ANSWER_TIMEOUT_S * NSEC_PER_SEC;

			if (hc->killed || !(slow_headers || slow_body || slow_answer))
				continue;
			shutdown(hc->fd, SHUT_RDWR);
			hc->killed = true;
			headers += slow_headers;
			body += slow_body && !slow_headers;
			answer += slow_answer && !slow_body && !slow_headers;
		}
		/* One line every 10 s at most: a flood must not flood the journal. */
		if ((headers + body + answer > 0 || s->refused > 0) &&
		    now - s->noted_ns >= 10 * NSEC_PER_SEC) {
			unsigned long refused = s->refused;

			s->refused = 0;
			s->noted_ns = now;
			pthread_mutex_unlock(&s->conn_lock);
			if (headers + body + answer > 0)
				log_notice(
					"API: closed %lu slow connections (%lu without headers after %u s, %lu with a body below %u bytes/s, %lu not taking their answer)",
					headers + body + answer, headers,
					HTTP_HEADER_TIMEOUT_S, body, HTTP_BODY_MIN_RATE,
					answer);
			if (refused > 0)
				log_notice(
					"API: refused %lu connections over the limits (%u, %u per address, %u more for 127.0.0.1 and ::1)",
					refused, s->max_conns, s->max_per_ip,
					HTTP_LOCAL_RESERVE);
			headers = body = answer = 0;
			pthread_mutex_lock(&s->conn_lock);
		}
		now = now_ns() + NSEC_PER_SEC / 2;
		ts = (struct timespec){ .tv_sec = now / NSEC_PER_SEC,
					.tv_nsec = now % NSEC_PER_SEC };
		if (!s->reaper_stop)
			pthread_cond_timedwait(&s->reaper_cond, &s->conn_lock, &ts);
	}
	pthread_mutex_unlock(&s->conn_lock);
	return NULL;
}

/* ---- sending --------------------------------------------------------------------- */

/* Frees what an unsent reply owns. */
static void http_reply_done(struct http_reply *rep)
{
	json_decref(rep->body);
	rep->body = NULL;
	if (rep->file)
		close(rep->fd);
	rep->file = false;
}

static enum MHD_Result http_queue(struct MHD_Connection *c, unsigned status,
				  struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES)
		http_conn_event(c, HTTP_CONN_ANSWERED, 0);
	return ret;
}

static enum MHD_Result http_send_file(struct MHD_Connection *c, struct http_reply *rep)
{
	struct MHD_Response *resp;

	rep->file = false;
	resp = MHD_create_response_from_fd64(rep->size, rep->fd);
	if (!resp) {
		close(rep->fd);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    rep->content_type) == MHD_NO ||
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") ==
		    MHD_NO) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return http_queue(c, rep->status, resp);
}

/* Queues the answer in rep and frees what rep owns. */
static enum MHD_Result http_send(struct MHD_Connection *c, struct http_reply *rep)
{
	struct MHD_Response *resp;
	char *text;

	if (rep->file) {
		json_decref(rep->body);
		rep->body = NULL;
		return http_send_file(c, rep);
	}
	if (!rep->body)
		http_reply_error(rep, HTTP_INTERNAL_SERVER_ERROR, "out of memory",
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
	return http_queue(c, rep->status, resp);
}

/* ---- request arguments and headers ----------------------------------------------- */

struct http_arg_check {
	const char *const *allowed;
	const char *unknown;
};

static enum MHD_Result http_arg_iter(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct http_arg_check *ac = cls;

	for (const char *const *p = ac->allowed; *p; p++)
		if (streq(*p, key))
			return MHD_YES;
	ac->unknown = key;
	return MHD_NO;
}

const char *http_request_arg_unknown(struct http_request *req, const char *const *allowed)
{
	struct http_arg_check ac = { .allowed = allowed };

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, http_arg_iter, &ac);
	return ac.unknown;
}

struct http_arg_bad {
	const char *key;
	const char *why;
};

static bool http_utf8_valid(const char *s, size_t len)
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

static enum MHD_Result http_arg_bad_iter(void *cls, enum MHD_ValueKind kind,
					 const char *key, size_t key_size,
					 const char *value, size_t value_size)
{
	struct http_arg_bad *b = cls;

	if (strlen(key) != key_size || (value && strlen(value) != value_size))
		b->why = "holds a NUL byte (%00)";
	else if (!http_utf8_valid(key, key_size) ||
		 (value && !http_utf8_valid(value, value_size)))
		b->why = "is not UTF-8";
	else
		return MHD_YES;
	b->key = key;
	return MHD_NO;
}

int http_request_args_valid(struct http_request *req, struct http_reply *rep)
{
	struct http_arg_bad b = {};

	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, http_arg_bad_iter,
				    &b);
	if (b.key) {
		http_reply_error(rep, HTTP_BAD_REQUEST, "bad parameter",
				 "parameter '%s' %s", b.key, b.why);
		return -EINVAL;
	}
	return 0;
}

const char *http_request_arg(struct http_request *req, const char *name)
{
	const char *v =
		MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);

	return v && *v ? v : NULL;
}

const char *http_request_header(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_peer(struct http_request *req, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t len = !sa			    ? 0
			: sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						    : sizeof(struct sockaddr_in);

	if (!sa ||
	    getnameinfo(sa, len, buf, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, size, "?");
	return buf;
}

/* ---- requests -------------------------------------------------------------------- */

void http_request_take_body(struct http_request *req, size_t limit, http_body_fn fn)
{
	req->body_fn = fn;
	req->limit = limit;
}

static void http_request_free(struct http_request *req)
{
	if (!req)
		return;
	free(req->body);
	free(req);
}

/* Takes a chunk of the body; counts what an oversized upload sends without keeping it.
 * MHD_NO closes the connection when even that gets out of hand. */
static enum MHD_Result http_body_add(struct http_request *req, const char *data,
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
		return req->discarded - req->limit > HTTP_MAX_DISCARD ? MHD_NO : MHD_YES;
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

/* The begin handler's answer; or, when the request takes a body, nothing yet but a 413
 * for a Content-Length above its limit, refused before a byte of the body is read. */
static enum MHD_Result http_begin(struct http_server *s, struct MHD_Connection *c,
				  const char *url, const char *method,
				  struct http_request *req)
{
	struct http_reply rep = {};
	const char *cl;
	int64_t n;

	if (s->begin(s->userdata, req, url, method, &rep) < 0) {
		http_reply_done(&rep);
		return MHD_NO;
	}
	if (!req->body_fn)
		return http_send(c, &rep);
	http_reply_done(&rep);
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && parse_int64(cl, 0, INT64_MAX, &n) == 0 && (uint64_t)n > req->limit) {
		http_reply_error(&rep, HTTP_CONTENT_TOO_LARGE, "body too large",
				 "%lld bytes; the limit is %zu", (long long)n,
				 req->limit);
		return http_send(c, &rep);
	}
	return MHD_YES;
}

struct http_framing {
	unsigned content_length;
	const char *first_length;
	bool length_differs, chunked;
};

static enum MHD_Result http_framing_iter(void *cls, enum MHD_ValueKind kind,
					 const char *key, const char *value)
{
	struct http_framing *f = cls;

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
static int http_framing_check(struct MHD_Connection *c, struct http_reply *rep)
{
	struct http_framing f = {};

	MHD_get_connection_values(c, MHD_HEADER_KIND, http_framing_iter, &f);
	if (!f.length_differs && !(f.content_length > 0 && f.chunked))
		return 0;
	http_reply_error(
		rep, HTTP_BAD_REQUEST, "bad request",
		f.length_differs
			? "conflicting Content-Length headers"
			: "Content-Length and Transfer-Encoding exclude each other");
	rep->close = true;
	return -EBADMSG;
}

/* Whether the connection carries another request after this one (HTTP/1.1 unless
 * "Connection: close", HTTP/1.0 only with "Connection: keep-alive"). */
static bool http_keeps_alive(struct MHD_Connection *c, const char *version)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONNECTION);

	if (version && streq(version, MHD_HTTP_VERSION_1_1))
		return !h || !strcasestr(h, "close");
	return h && strcasestr(h, "keep-alive");
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size,
				   void **con_cls)
{
	struct http_server *s = cls;
	struct http_request *req = *con_cls;
	struct http_reply rep = {};

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->conn = c;
		*con_cls = req;
		http_conn_event(c, HTTP_CONN_HEADERS, 0);
		req->keep_alive = http_keeps_alive(c, version);
		if (http_framing_check(c, &rep) < 0) {
			req->keep_alive = false;
			return http_send(c, &rep);
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
			enum MHD_Result ret = http_begin(s, c, url, method, req);

			/* answered before its body: libmicrohttpd closes the connection */
			if (!req->body_fn)
				req->keep_alive = false;
			return ret;
		}
	}
	if (*upload_data_size > 0)
		http_conn_event(c, HTTP_CONN_BODY, *upload_data_size);
	else
		http_conn_event(c, HTTP_CONN_BODY_DONE, 0);
	if (req->get_pending) {
		if (*upload_data_size > 0) {
			*upload_data_size = 0; /* a GET's body means nothing: dropped */
			return MHD_YES;
		}
		req->get_pending = false;
		return http_begin(s, c, url, method, req);
	}
	if (*upload_data_size > 0) {
		size_t size = *upload_data_size;

		*upload_data_size = 0;
		if (!req->body_fn) {
			/* answered already; the rest is dropped, and so is the connection */
			req->keep_alive = false;
			return MHD_YES;
		}
		return http_body_add(req, upload_data, size);
	}
	if (req->too_large) {
		http_reply_error(&rep, HTTP_CONTENT_TOO_LARGE, "body too large",
				 "more than %zu bytes", req->limit);
		return http_send(c, &rep);
	}
	if (!req->body_fn)
		return MHD_YES;
	if (req->body_fn(s->userdata, req, req->body, req->len, &rep) < 0) {
		http_reply_done(&rep);
		return MHD_NO;
	}
	return http_send(c, &rep);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *con_cls;
	bool alive = req && req->keep_alive && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
	/* A large body leaves the worker's malloc arena with free memory glibc keeps
	 * (jansson's trees of an import, the body itself): given back here. */
	bool trim = req && req->cap >= HTTP_TRIM_THRESHOLD;

	http_conn_event(c, alive ? HTTP_CONN_DONE : HTTP_CONN_CLOSING, 0);
	http_request_free(req);
	*con_cls = NULL;
	if (trim)
		malloc_trim(0);
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap) _printf_(2, 0);
static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	/* What one client did to its own connection: under a flood of them that would
	 * be a line per connection (the reaper and http_accept() count them instead). */
	if (strncmp(buf, "Connection was closed", 21) == 0 ||
	    strncmp(buf, "Connection socket is closed", 27) == 0 ||
	    strstr(buf, "Server reached connection limit") || strstr(buf, "timed out"))
		log_debug("libmicrohttpd: %s", buf);
	else
		log_warning("libmicrohttpd: %s", buf);
}

/* ---- server ---------------------------------------------------------------------- */

/* HOST:PORT or [V6ADDR]:PORT into a socket address. */
static int http_parse_listen(const char *listen, struct sockaddr_storage *ret)
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
	freeaddrinfo(ai);
	return 0;
}

int http_server_new(const struct http_opts *o, struct http_server **ret)
{
	struct sockaddr_storage ss = {};
	struct http_server *s;
	int r;

	if (o->listen_fd < 0 && (r = http_parse_listen(o->listen, &ss)) < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return log_oom();
	if (o->listen_fd < 0) {
		s->listen = strdup(o->listen);
		if (!s->listen) {
			free(s);
			return log_oom();
		}
	}
	s->listen_fd = o->listen_fd;
	s->addr = ss;
	s->threads = o->threads;
	s->max_conns = o->max_connections;
	s->max_per_ip = o->max_connections_per_ip;
	s->begin = o->begin;
	s->userdata = o->userdata;
	pthread_mutex_init(&s->conn_lock, NULL);
	cond_init_monotonic(&s->reaper_cond);
	*ret = s;
	return 0;
}

int http_server_start(struct http_server *s)
{
	struct MHD_OptionItem ops[16];
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	size_t n = 0;
	int r;

	if (s->listen_fd >= 0)
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET,
						    s->listen_fd, NULL };
	else {
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &s->addr };
		if (s->addr.ss_family == AF_INET6)
			flags |= MHD_USE_IPv6;
	}
	ops[n++] =
		(struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, s->threads, NULL };
	/* The limits are http_accept()'s; libmicrohttpd's own, which it splits between
	 * the workers and which counts connections until they are cleaned up, is only a
	 * backstop well above them. */
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
					    2 * (s->max_conns + HTTP_LOCAL_RESERVE) +
						    s->threads,
					    NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
					    (intptr_t)http_notify_connection, s };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
					    HTTP_CONNECTION_TIMEOUT_S, NULL };
	ops[n++] =
		(struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					 (intptr_t)HTTP_CONNECTION_MEMORY_LIMIT, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
					    (intptr_t)http_completed, s };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	r = pthread_create(&s->reaper, NULL, http_reaper, s);
	if (r != 0)
		return log_error_errno(r, "Failed to start a thread");
	s->reaper_started = true;
	/* The logger comes first, so that MHD's messages about the other options reach
	 * it. */
	s->mhd = MHD_start_daemon(flags, 0, http_accept, s, http_handle, s,
				  MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, s,
				  MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
	if (!s->mhd)
		return log_error_errno(
			errno ? errno : EIO, "Failed to start the HTTP server on %s",
			s->listen_fd >= 0 ? "the activated socket" : s->listen);
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	return 0;
}

uint16_t http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	/* Joins the workers: every request completes, every connection is closed. */
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	if (s->reaper_started) {
		pthread_mutex_lock(&s->conn_lock);
		s->reaper_stop = true;
		pthread_cond_signal(&s->reaper_cond);
		pthread_mutex_unlock(&s->conn_lock);
		pthread_join(s->reaper, NULL);
	}
	pthread_cond_destroy(&s->reaper_cond);
	pthread_mutex_destroy(&s->conn_lock);
	free(s->listen);
	free(s);
}

#else /* !HAVE_LIBMICROHTTPD */

/* No server is ever set up, so no request reaches the accessors. */

void http_request_take_body(struct http_request *req, size_t limit, http_body_fn fn)
{
}

const char *http_request_arg(struct http_request *req, const char *name)
{
	return NULL;
}

const char *http_request_arg_unknown(struct http_request *req, const char *const *allowed)
{
	return NULL;
}

int http_request_args_valid(struct http_request *req, struct http_reply *rep)
{
	return 0;
}

const char *http_request_header(struct http_request *req, const char *name)
{
	return NULL;
}

const char *http_request_peer(struct http_request *req, char *buf, size_t size)
{
	snprintf(buf, size, "?");
	return buf;
}

int http_server_new(const struct http_opts *o, struct http_server **ret)
{
	return log_error_errno(
		EOPNOTSUPP, "probestormd was built without libmicrohttpd: no HTTP API");
}

int http_server_start(struct http_server *s)
{
	return -EOPNOTSUPP;
}

uint16_t http_server_port(const struct http_server *s)
{
	return 0;
}

void http_server_free(struct http_server *s)
{
}

#endif
