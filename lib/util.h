/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small shared utilities: monotonic/real time, UUIDs, durations, checked string helpers.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in ns (the clock kmsg timestamps use). */
int64_t now_ns(void);
/* Initialises a condition variable whose timed waits take CLOCK_MONOTONIC deadlines (the
 * clock of now_ns()), so a wall-clock jump cannot stretch or cut a wait. */
void cond_init_monotonic(pthread_cond_t *c);
/* Sleeps until CLOCK_MONOTONIC reaches t (ns); retries on EINTR. */
void sleep_until_ns(int64_t t);
/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ"; returns a malloc'd string or NULL. */
char *utc_now_iso(void);
/* Random RFC 4122 v4 UUID into ret (37 bytes). Returns 0 or negative errno. */
int uuid_generate_v4(char ret[37]);
/* Whether s is a UUID in its 36-character text form: 8-4-4-4-12 hex digits of either case
 * and nothing after them (any version; NULL is not). */
bool uuid_is_valid(const char *s);
/* Parses "250", "250us", "3ms", "1.5s", "2m" into µs. 0 or -EINVAL/-ERANGE. */
int parse_duration_us(const char *s, int64_t *ret_us);
/* Parses a whole decimal int64 within [min, max]. 0 or -EINVAL/-ERANGE. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* Parses yes/no/true/false/1/0/on/off. 0 or -EINVAL. */
int parse_bool(const char *s, bool *ret);
/* strdup that accepts NULL (returns NULL). */
char *strdup_null(const char *s);
/* Removes trailing whitespace/newlines in place; returns s. */
char *strip_trailing(char *s);
/* The first line of the file at path (a token file: [daemon] and [push] token-file),
 * trailing whitespace stripped and cut at 4095 bytes, into *ret (malloc'd, the caller
 * frees; "" for an empty file or line). 0, or fopen's negative errno, -EIO for a read
 * error, -ENOMEM. */
int read_token_file(const char *path, char **ret);
/* A name usable as one path component under sysfs: non-empty, at most 255 bytes, no '/',
 * not "." or "..", printable ASCII without spaces. */
bool name_is_valid(const char *s);
/* malloc'd printf; NULL on failure. */
char *strprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
