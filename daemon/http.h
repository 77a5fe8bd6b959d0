/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP glue under probestormd's API (api.c): the one file that talks to
 * libmicrohttpd. A server with an internal epoll thread pool; connection limits of its
 * own with a reserve for local clients, and a reaper thread that shuts down connections
 * too slow with their headers, their body or taking their answer; per-request state that
 * collects a body up to a limit (checked against Content-Length before a byte is read),
 * freed in the completion callback; query arguments, checked to be UTF-8 without NUL
 * bytes; answers built from a struct http_reply (JSON with its headers, or a file).
 * The API sees no libmicrohttpd type: it is handed a struct http_request, fills a struct
 * http_reply, and this module sends it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include <jansson.h>

#include "macro.h"

/* The status codes the API answers with (http.c checks them against libmicrohttpd's). */
#define HTTP_OK			   200u
#define HTTP_ACCEPTED		   202u
#define HTTP_BAD_REQUEST	   400u
#define HTTP_UNAUTHORIZED	   401u
#define HTTP_FORBIDDEN		   403u
#define HTTP_NOT_FOUND		   404u
#define HTTP_METHOD_NOT_ALLOWED	   405u
#define HTTP_CONFLICT		   409u
#define HTTP_CONTENT_TOO_LARGE	   413u
#define HTTP_INTERNAL_SERVER_ERROR 500u
#define HTTP_SERVICE_UNAVAILABLE   503u
#define HTTP_INSUFFICIENT_STORAGE  507u

/* libmicrohttpd's idle timeout and per-connection memory (headers and buffers). */
#define HTTP_CONNECTION_TIMEOUT_S    30u
#define HTTP_CONNECTION_MEMORY_LIMIT ((size_t)128 << 10)
/* Beyond max_connections, this many more for clients on 127.0.0.1 or ::1 (health checks,
 * the CLI on the host), so that remote clients filling the limit do not lock them out. */
#define HTTP_LOCAL_RESERVE 8u
/* A request's headers must be complete this long after the connection opened (or the
 * previous request on it ended); an idle keep-alive connection is closed after as long. */
#define HTTP_HEADER_TIMEOUT_S 10u
/* A body must arrive at HTTP_BODY_MIN_RATE bytes/s on average, measured from
 * HTTP_BODY_GRACE_S after the headers on. */
#define HTTP_BODY_GRACE_S  10u
#define HTTP_BODY_MIN_RATE 4096u
/* An answer must be taken by the client within this long after it is queued. */
#define HTTP_ANSWER_TIMEOUT_S 60u

/* Room for http_request_peer()'s answer. */
#define HTTP_PEER_MAX (INET6_ADDRSTRLEN + 8)

struct http_server;
/* One request, from its headers to its completion; owned by http.c. */
struct http_request;

/* An answer; zero-initialised, then filled by http_reply_error(), http_reply_json() or
 * http_reply_file() and the header fields. http.c sends it and frees what it owns. */
struct http_reply {
	unsigned status;
	json_t *body; /* owned; sent compact as application/json, no-store */
	bool file;    /* send fd (owned, size bytes) instead of body */
	int fd;
	uint64_t size;
	const char *content_type; /* of the file; static */
	bool close;	   /* Connection: close (a request that cannot be trusted) */
	const char *allow; /* Allow header of a 405; static */
	const char *authenticate; /* WWW-Authenticate header of a 401; static */
};

/* Makes rep the answer {"error": error, "detail": the formatted text}, replacing what it
 * held; bytes of the detail that are not UTF-8 or are control characters become '?' when
 * they keep it from being a JSON string. Returns 0 (so that a handler can return it); on
 * out-of-memory rep->body stays NULL and sending answers 500. */
int http_reply_error(struct http_reply *rep, unsigned status, const char *error,
		     const char *fmt, ...) _printf_(4, 5);
/* Makes rep the answer body with status, taking over body; a NULL body (a failed
 * json_pack()) makes it a 500 "out of memory". Returns 0. */
int http_reply_json(struct http_reply *rep, unsigned status, json_t *body);
/* Makes rep a 200 with the size bytes of the open file fd (taken over), of content_type
 * (static), with X-Content-Type-Options: nosniff. */
void http_reply_file(struct http_reply *rep, int fd, uint64_t size,
		     const char *content_type);

/* Called once a request's headers are in (a GET's or HEAD's: once it is complete): fills
 * rep with the answer, or calls http_request_take_body() and leaves rep alone. url and
 * method live as long as the request. Returns 0, or a negative errno to close the
 * connection without an answer. */
typedef int (*http_begin_fn)(void *userdata, struct http_request *req, const char *url,
			     const char *method, struct http_reply *rep);
/* Called once the body http_request_take_body() asked for is complete: body (NULL when
 * len is 0) is NUL-terminated and http.c's, writable until the call returns. Fills rep;
 * returns as http_begin_fn does. */
typedef int (*http_body_fn)(void *userdata, struct http_request *req, char *body,
			    size_t len, struct http_reply *rep);

/* The request has a body of at most limit bytes, for fn once complete. A Content-Length
 * above the limit is answered 413 before a byte is read; a chunked body that outgrows it
 * is read on and thrown away up to 16 MiB more for its 413, beyond that the connection
 * is closed. */
void http_request_take_body(struct http_request *req, size_t limit, http_body_fn fn);
/* A query argument's value, NULL when absent or empty; valid for the request. */
const char *http_request_arg(struct http_request *req, const char *name);
/* The name of the first query argument not in allowed (NULL-terminated), or NULL. */
const char *http_request_arg_unknown(struct http_request *req,
				     const char *const *allowed);
/* 0, or -EINVAL with a 400 in rep for a query argument whose name or value has a NUL
 * byte (libmicrohttpd's lookup would see "%00" as an empty value, that is no filter at
 * all) or is not UTF-8 (it could be neither matched nor quoted in a JSON answer). */
int http_request_args_valid(struct http_request *req, struct http_reply *rep);
/* A request header's value (the first of that name), or NULL; valid for the request. */
const char *http_request_header(struct http_request *req, const char *name);
/* The peer's numeric address in buf (HTTP_PEER_MAX), "?" when unknown; returns buf. */
const char *http_request_peer(struct http_request *req, char *buf, size_t size);

struct http_opts {
	/* "HOST:PORT" or "[V6ADDR]:PORT", port 0 for a free one; used when listen_fd < 0 */
	const char *listen;
	int listen_fd; /* >= 0: a listening socket to take over (closed by the server) */
	unsigned threads;
	unsigned max_connections; /* plus HTTP_LOCAL_RESERVE for loopback clients */
	unsigned max_connections_per_ip;
	http_begin_fn begin; /* the requests' handler */
	void *userdata;	     /* for begin and the body callbacks */
};

/* Checks the listen address and sets the server up without starting anything. Errors
 * are logged; returns 0 or a negative errno (-EOPNOTSUPP when built without
 * libmicrohttpd, -EINVAL for a bad listen address, -ENOMEM). The caller owns *ret
 * (http_server_free). */
int http_server_new(const struct http_opts *o, struct http_server **ret);
/* Starts the reaper thread, binds and listens. Errors are logged; returns 0 or a
 * negative errno (-EADDRINUSE, ...). */
int http_server_start(struct http_server *s);
/* The TCP port the server listens on (useful with port 0); 0 before it started. */
uint16_t http_server_port(const struct http_server *s);
/* Stops the server, waiting for its workers (a request being handled completes first),
 * and frees it. Accepts NULL. */
void http_server_free(struct http_server *s);
