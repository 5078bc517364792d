/* tests/unit/check.h — the assertions of hotloop's unit tests.
 *
 * Each CHECK prints "file:line: FAIL: what: expected X, got Y" on failure and counts it; a test
 * ends with `return check_done();`, which prints the totals and exits non-zero when anything
 * failed.  Checks never abort, so one run shows every failing row of a table.
 */
#pragma once
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond, what)                                                                   \
	do {                                                                                \
		check_count++;                                                              \
		if (!(cond)) {                                                              \
			check_failures++;                                                   \
			fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, (what));   \
		}                                                                           \
	} while (0)

#define CHECK_INT(expected, actual, what)                                                   \
	do {                                                                                \
		long long e_ = (long long)(expected), a_ = (long long)(actual);             \
		check_count++;                                                              \
		if (e_ != a_) {                                                             \
			check_failures++;                                                   \
			fprintf(stderr, "%s:%d: FAIL: %s: expected %lld, got %lld\n",       \
				__FILE__, __LINE__, (what), e_, a_);                        \
		}                                                                           \
	} while (0)

#define CHECK_STR(expected, actual, what)                                                   \
	do {                                                                                \
		const char *e_ = (expected), *a_ = (actual);                                \
		check_count++;                                                              \
		if (!e_ || !a_ || strcmp(e_, a_)) {                                         \
			check_failures++;                                                   \
			fprintf(stderr, "%s:%d: FAIL: %s: expected \"%s\", got \"%s\"\n",   \
				__FILE__, __LINE__, (what), e_ ? e_ : "(null)",             \
				a_ ? a_ : "(null)");                                        \
		}                                                                           \
	} while (0)

static inline int check_done(void)
{
	fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
