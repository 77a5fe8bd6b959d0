/* SPDX-License-Identifier: GPL-2.0-or-later */
/* expect_ok(): a config text that must load, for the cmocka tests of conf.c and of
 * kernel/topology.c. Include after <cmocka.h> and "conf.h". */
#pragma once

static struct conf *expect_ok(const char *name, const char *text)
{
	struct conf *c = NULL;
	char *e = NULL;
	int r;

	r = conf_load_string(name, text, &c, &e);
	if (r < 0)
		fail_msg("%s: unexpected error %d: %s", name, r, e ? e : "(null)");
	assert_null(e);
	assert_non_null(c);
	return c;
}
