/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * For unit tests of storage and bundles (test-db.c, test-bundle.c): records compared field
 * by field, a strdup that fails the test instead of returning NULL, and a single number
 * read from a database file. Header-only.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "model.h"

static inline char *xstrdup(const char *s)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	assert_non_null(p);
	return p;
}

#define assert_str_or_null_equal(a, b)               \
	do {                                         \
		const char *a_ = (a), *b_ = (b);     \
		if (!a_ || !b_)                      \
			assert_ptr_equal(a_, b_);    \
		else                                 \
			assert_string_equal(a_, b_); \
	} while (0)

static inline void assert_event_equal(const struct kernel_event *a,
				      const struct kernel_event *b)
{
	assert_int_equal(a->source, b->source);
	assert_int_equal(a->class, b->class);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ts_ns, b->ts_ns);
	assert_int_equal(a->prio, b->prio);
	assert_int_equal(a->boot, b->boot);
	assert_str_or_null_equal(a->device, b->device);
	assert_str_or_null_equal(a->message, b->message);
	assert_str_or_null_equal(a->detail, b->detail);
}

static inline void assert_cycle_equal(const struct cycle_record *a,
				      const struct cycle_record *b)
{
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->boot, b->boot);
	assert_str_or_null_equal(a->boot_id, b->boot_id);
	assert_int_equal(a->has_sweep, b->has_sweep);
	if (a->has_sweep)
		assert_int_equal(a->sweep_value, b->sweep_value);
	assert_int_equal(a->start_ns, b->start_ns);
	assert_int_equal(a->end_ns, b->end_ns);
	assert_int_equal(a->outcome, b->outcome);
	assert_int_equal(a->deferrals, b->deferrals);
	assert_str_or_null_equal(a->note, b->note);

	assert_int_equal(a->n_actions, b->n_actions);
	for (size_t i = 0; i < a->n_actions; i++) {
		const struct action_record *x = &a->actions[i], *y = &b->actions[i];

		assert_int_equal(x->idx, y->idx);
		assert_int_equal(x->group, y->group);
		assert_int_equal(x->verb, y->verb);
		assert_str_or_null_equal(x->arg, y->arg);
		assert_str_or_null_equal(x->params, y->params);
		assert_int_equal(x->offset_us, y->offset_us);
		assert_int_equal(x->planned_ns, y->planned_ns);
		assert_int_equal(x->start_ns, y->start_ns);
		assert_int_equal(x->end_ns, y->end_ns);
		assert_int_equal(x->err, y->err);
		assert_int_equal(x->hung, y->hung);
	}
	assert_int_equal(a->n_observations, b->n_observations);
	for (size_t i = 0; i < a->n_observations; i++) {
		const struct observation *x = &a->observations[i],
					 *y = &b->observations[i];

		assert_str_or_null_equal(x->device, y->device);
		assert_int_equal(x->consumer, y->consumer);
		assert_str_or_null_equal(x->driver, y->driver);
		assert_int_equal(x->iommu_group, y->iommu_group);
		assert_str_or_null_equal(x->domain_type, y->domain_type);
		assert_int_equal(x->time_to_bound_ns, y->time_to_bound_ns);
		assert_int_equal(x->deferrals, y->deferrals);
		assert_str_or_null_equal(x->deferred_reason, y->deferred_reason);
		assert_int_equal(x->outcome, y->outcome);
	}
	assert_int_equal(a->n_events, b->n_events);
	for (size_t i = 0; i < a->n_events; i++)
		assert_event_equal(&a->events[i], &b->events[i]);
}

/* The first column of the first row of sql on the database file path. */
static inline int64_t count_sql(const char *path, const char *sql)
{
	sqlite3 *s = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n;

	assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(s);
	return n;
}
