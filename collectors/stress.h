/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The load generator: stress-ng run as a child process for the length of a campaign, with
 * its metrics written by --yaml and returned when it is stopped. The child is always reaped.
 */
#pragma once

#include <stdbool.h>

struct stress;

/* Whether a stress-ng executable is on PATH. */
bool stress_available(void);
/* Starts stress-ng with the given arguments (split on blanks) plus --yaml FILE. */
int stress_start(const char *args, struct stress **ret);
/* Stops it (SIGINT, then SIGKILL after 5 s), reaps it, returns its YAML metrics (caller
 * frees; NULL if none) and frees s. Negative errno when it had failed (exit code logged). */
int stress_stop(struct stress *s, char **ret_metrics);
