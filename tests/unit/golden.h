/* tests/unit/golden.h — golden files of the report tests.
 *
 * check_golden() compares text with tests/fixtures/report/NAME, or writes it there when
 * HOTLOOP_REGENERATE=1 (tests/fixtures/report/regenerate.sh does that, on purpose only).
 */
#pragma once
#define _GNU_SOURCE
#include "tests/unit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void check_golden(const char *name, const char *actual)
{
	const char *src = getenv("HOTLOOP_SOURCE_DIR");
	char path[1024], what[128];
	char *expected = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fixtures/report/%s", src ? src : ".", name);
	snprintf(what, sizeof(what), "golden %s", name);
	if (!actual) {
		CHECK(0, what);
		return;
	}
	if (getenv("HOTLOOP_REGENERATE") && !strcmp(getenv("HOTLOOP_REGENERATE"), "1")) {
		f = fopen(path, "w");
		CHECK(f && fputs(actual, f) >= 0 && !fclose(f), "writing golden file");
		fprintf(stderr, "regenerated %s\n", path);
		return;
	}
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: missing (HOTLOOP_SOURCE_DIR set?)\n", path);
		CHECK(0, what);
		return;
	}
	if (getdelim(&expected, &len, '\0', f) < 0) {
		free(expected);
		expected = strdup("");
	}
	fclose(f);
	CHECK_STR(expected, actual, what);
	free(expected);
}
