/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP JSON API of probestormd (docs/openapi.json): its routes and handlers, served
 * by libmicrohttpd with an internal epoll thread pool (the glue is http.h's). GET
 * /api/v1/... answers queries from a read-only database connection per worker thread
 * (WAL lets them read beside the runner's writer); POST /api/v1/bundles imports an
 * NDJSON bundle through one writer connection guarded by a mutex; POST /api/v1/campaigns
 * has the scheduler start a configured campaign on its thread. Both POSTs need the
 * bearer token of [daemon] token / token-file. Everything else under / is a static file
 * of the dashboard's web root. Errors are {"error": ..., "detail": ...}.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct api;
struct scheduler;

struct api_opts {
	/* "HOST:PORT" or "[V6ADDR]:PORT"; port 0 picks a free port (api_port() says which) */
	const char *listen;
	/* >= 0: a listening socket (socket activation) used instead of listen; the server
	 * takes it over and closes it in api_stop() */
	int listen_fd;
	const char *database;	 /* path of the database the daemon writes */
	const char *web_root;	 /* static files; NULL: PKGDATADIR "/web" */
	const struct conf *conf; /* campaigns and token; must outlive the server */
	/* starts campaigns (POST) and says which runs (health); must outlive the server */
	struct scheduler *scheduler;
	size_t max_body;		 /* bundle size limit; 0: API_MAX_BODY_DEFAULT */
	unsigned max_connections;	 /* 0: API_MAX_CONNECTIONS_DEFAULT */
	unsigned max_connections_per_ip; /* 0: API_MAX_CONNECTIONS_PER_IP_DEFAULT */
	unsigned threads;		 /* worker threads; 0: API_THREADS_DEFAULT */
};

#define API_MAX_BODY_DEFAULT		   ((size_t)64 << 20)
#define API_MAX_CONNECTIONS_DEFAULT	   64u
#define API_MAX_CONNECTIONS_PER_IP_DEFAULT 16u
#define API_THREADS_DEFAULT		   4u
/* The fixed connection limits and timeouts (local reserve, header, body and answer
 * deadlines) are http.h's. */

/* Starts the server: reads the token (token-file), opens the writer connection, binds
 * and listens. Errors are logged; returns 0 or a negative errno (-EOPNOTSUPP when built
 * without libmicrohttpd, -EINVAL for a bad listen address or an empty token file,
 * -EADDRINUSE, ...). The caller owns *ret (api_stop). */
int api_start(const struct api_opts *o, struct api **ret);
/* The TCP port the server listens on (useful with port 0). */
uint16_t api_port(const struct api *a);
/* Stops the server and frees everything; a campaign it started runs on (the scheduler's).
 * Accepts NULL. */
void api_stop(struct api *a);
