/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of lib/util.c's read_token_file(), the one reader of [daemon] and [push]
 * token-file: the first line with trailing whitespace stripped, an empty file as "",
 * and fopen's errno for a file that cannot be opened.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

static char dir[64];
static char path[128];

static void write_file(const char *content)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-util.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void test_read_token_file(void **state)
{
	char *t = NULL;

	(void)state;
	write_file("s3cr3t-token \t\r\nsecond line\n");
	assert_int_equal(read_token_file(path, &t), 0);
	assert_string_equal(t, "s3cr3t-token");
	free(t);

	/* no newline at the end; leading blanks are part of the token */
	write_file("  abc");
	assert_int_equal(read_token_file(path, &t), 0);
	assert_string_equal(t, "  abc");
	free(t);

	/* empty: the caller says that a token is empty */
	write_file("");
	assert_int_equal(read_token_file(path, &t), 0);
	assert_string_equal(t, "");
	free(t);
	write_file("\nlater\n");
	assert_int_equal(read_token_file(path, &t), 0);
	assert_string_equal(t, "");
	free(t);

	/* errors leave *ret alone */
	t = (char *)"untouched";
	unlink(path);
	assert_int_equal(read_token_file(path, &t), -ENOENT);
	assert_string_equal(t, "untouched");
	/* a directory opens for reading, and then fails to read */
	assert_int_equal(read_token_file(dir, &t), -EIO);
	assert_string_equal(t, "untouched");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_token_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
