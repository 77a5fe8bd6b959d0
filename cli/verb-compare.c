/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probestorm compare: two kernels (or runs), from the local database or a remote
 * probestormd (--server, libcurl), as text, markdown, JSON and JUnit XML. Exit 1 when the
 * head regressed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#ifdef HAVE_LIBCURL
#include <curl/curl.h>
#endif

#include "compare.h"
#include "db.h"
#include "log.h"
#include "macro.h"
#include "render.h"
#include "util.h"
#include "verbs.h"

#ifdef HAVE_LIBCURL
#define COMPARE_MAX_REPLY ((size_t)64 << 20)
#define COMPARE_TIMEOUT_S 120L

struct reply_buf {
	char *data;
	size_t len;
};

static size_t reply_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reply_buf *b = userdata;
	size_t n = size * nmemb;
	char *d;

	if (b->len + n > COMPARE_MAX_REPLY)
		return 0; /* curl reports a write error */
	d = realloc(b->data, b->len + n + 1);
	if (!d)
		return 0;
	memcpy(d + b->len, ptr, n);
	d[b->len + n] = '\0';
	b->data = d;
	b->len += n;
	return n;
}

/* GET SERVER/api/v1/compare?base=&head=&alpha_outcome= and parse the body. The caller owns
 * *ret. Errors are logged here; -EIO (transfer), -ENOENT (404), -EINVAL (400), -EBADMSG
 * (not the compare JSON). */
static int compare_fetch(const char *server, const struct compare_opts *o, json_t **ret)
{
	_cleanup_free_ char *url = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", *eb = NULL, *eh = NULL;
	struct reply_buf body = { 0 };
	size_t slen = strlen(server);
	json_error_t jerr;
	long status = 0;
	json_t *j = NULL;
	CURLcode cc;
	CURL *c;
	int r;

	while (slen > 0 && server[slen - 1] == '/')
		slen--;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return log_error_errno(-EIO, "Failed to initialise libcurl");
	c = curl_easy_init();
	if (!c) {
		curl_global_cleanup();
		return log_oom();
	}
	eb = curl_easy_escape(c, o->base, 0);
	eh = curl_easy_escape(c, o->head, 0);
	if (eb && eh)
		url = strprintf(
			"%.*s/api/v1/compare?base=%s&head=%s&alpha_outcome=%.17g&alpha_latency=%.17g",
			(int)slen, server, eb, eh, o->alpha_outcome, o->alpha_latency);
	curl_free(eb);
	curl_free(eh);
	if (!url) {
		r = log_oom();
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, COMPARE_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "probestorm/" PACKAGE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	log_debug("GET %s", url);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		r = log_error_errno(-EIO, "Failed to GET '%s': %s", url,
				    errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	j = body.data ? json_loadb(body.data, body.len, 0, &jerr) : NULL;
	if (status != 200) {
		const char *detail = json_string_value(json_object_get(j, "detail"));

		r = status == 404 ? -ENOENT : status == 400 ? -EINVAL : -EIO;
		log_error("%s: HTTP %ld: %s", url, status,
			  detail ? detail : "no error detail in the reply");
		goto out;
	}
	if (!j) {
		r = log_error_errno(-EBADMSG, "%s: reply is not JSON: %s (line %d)", url,
				    jerr.text, jerr.line);
		goto out;
	}
	*ret = TAKE_PTR(j);
	r = 0;
out:
	json_decref(j);
	free(body.data);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return r;
}
#endif

/* JUnit XML into path ("-": stdout), written whole to a temporary file and renamed, so
 * a CI job never picks up half a report. */
static int write_junit(const char *path, const struct compare_result *res)
{
	_cleanup_free_ char *tmp = NULL;
	FILE *f;
	int r;

	if (streq(path, "-")) {
		render_compare_junit(stdout, res);
		return fflush(stdout) == 0 && !ferror(stdout)
			       ? 0
			       : log_error_errno(errno,
						 "Failed to write JUnit XML to stdout");
	}
	tmp = strprintf("%s.tmpXXXXXX", path);
	if (!tmp)
		return log_oom();
	{
		int fd = mkostemp(tmp, O_CLOEXEC);

		if (fd < 0)
			return log_error_errno(errno, "Failed to create '%s'", tmp);
		/* mkostemp makes it 0600; a report is for everyone to read */
		(void)fchmod(fd, 0644);
		f = fdopen(fd, "w");
		if (!f) {
			r = log_error_errno(errno, "Failed to create '%s'", tmp);
			close(fd);
			unlink(tmp);
			return r;
		}
	}
	render_compare_junit(f, res);
	r = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && r == 0)
		r = negative_errno();
	if (r == 0 && rename(tmp, path) < 0)
		r = negative_errno();
	if (r < 0) {
		unlink(tmp);
		return log_error_errno(r, "Failed to write JUnit XML to '%s'", path);
	}
	return 0;
}

int verb_compare(struct cli_opts *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "base", required_argument, NULL, 'b' },
		{ "head", required_argument, NULL, 'h' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "alpha-latency", required_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ "markdown", no_argument, NULL, 'm' },
		{ "junit", required_argument, NULL, 'J' },
		{ "server", required_argument, NULL, 'S' },
		{ "database", required_argument, NULL, 'd' },
		{}
	};
	struct compare_opts co = { .alpha_outcome = 0.001, .alpha_latency = 0.01 };
	struct compare_result *res = NULL;
	const char *junit = NULL, *server = NULL;
	bool markdown = false;
	json_t *j = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "b:h:a:A:jmJ:S:d:", opts, NULL)) >= 0) {
		switch (c) {
		case 'b': co.base = optarg; break;
		case 'h': co.head = optarg; break;
		case 'a':
			if (!cli_parse_fraction("alpha", optarg, &co.alpha_outcome))
				return EXIT_ERROR;
			break;
		case 'A':
			if (!cli_parse_fraction("alpha-latency", optarg,
						&co.alpha_latency))
				return EXIT_ERROR;
			break;
		case 'j': cli->json = true; break;
		case 'm': markdown = true; break;
		case 'J': junit = optarg; break;
		case 'S': server = optarg; break;
		case 'd': cli->database = optarg; break;
		default: return EXIT_ERROR;
		}
	}
	if (!cli_selectors_given("compare", &co, argc, argv))
		return EXIT_ERROR;
	if (cli->json && markdown) {
		log_error("compare: --json and --markdown exclude each other");
		return EXIT_ERROR;
	}
	if (server) {
#ifdef HAVE_LIBCURL
		r = compare_fetch(server, &co, &j);
		if (r < 0)
			return EXIT_ERROR;
		r = compare_result_from_json(j, &res);
		if (r < 0) {
			log_error_errno(r, "%s: the reply is not a compare result",
					server);
			json_decref(j);
			return EXIT_ERROR;
		}
#else
		log_error(
			"--server: this probestorm was built without libcurl; compare a local database instead (--database FILE)");
		return EXIT_ERROR;
#endif
	} else {
		struct db *db = NULL;

		if (cli_open_db(cli, NULL, DB_READONLY, &db) < 0)
			return EXIT_ERROR;
		r = compare_run(db, &co, &res);
		if (r == -ENOENT)
			log_error("'%s' or '%s' matches no run in '%s'", co.base, co.head,
				  cli_database_path(cli, NULL));
		else if (r < 0)
			log_error_errno(r, "Failed to compare '%s' with '%s': %s",
					co.base, co.head, db_errmsg(db));
		db_close(db);
		if (r < 0)
			return EXIT_ERROR;
	}
	if (junit && write_junit(junit, res) < 0) {
		r = EXIT_ERROR;
		goto out;
	}
	if (cli->json) {
		if (!j)
			j = compare_result_to_json(res);
		if (!j) {
			log_oom();
			r = EXIT_ERROR;
			goto out;
		}
		cli_print_json(j);
	} else if (!junit || !streq(junit, "-"))
		render_compare(stdout, res, markdown);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error_errno(errno, "Failed to write to stdout");
		r = EXIT_ERROR;
		goto out;
	}
	r = compare_result_regressed(res) ? 1 : 0;
out:
	json_decref(j);
	compare_result_free(res);
	return r;
}
