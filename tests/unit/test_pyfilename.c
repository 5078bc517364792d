/* tests/unit/test_pyfilename.c — collector/python.c's hl_python_parse_filename: which file
 * names are taken for a CPython interpreter or libpython, with which version and ABI flags.
 *
 * The names are what a target maps or runs (basenames from /proc/PID/maps and
 * /proc/PID/exe), so they are untrusted; the failure rows are names of other tools that share
 * the prefix, version-less launchers (their version comes from elsewhere) and malformed
 * versions.
 */
#include "collector/python.h"
#include "check.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	bool ok;
	unsigned major, minor;
	const char *abiflags;
} rows[] = {
    {"python3.12", true, 3, 12, ""},
    {"python3.8", true, 3, 8, ""},
    {"python3.14", true, 3, 14, ""},
    {"libpython3.11.so.1.0", true, 3, 11, ""},
    {"libpython3.9.so", true, 3, 9, ""},
    {"libpython3.14.so.1.0", true, 3, 14, ""},
    {"python3.13t", true, 3, 13, "t"}, /* free-threaded */
    {"libpython3.13t.so.1.0", true, 3, 13, "t"},
    {"libpython3.11d.so", true, 3, 11, "d"},   /* debug */
    {"python3.13td", true, 3, 13, "td"},       /* both */
    {"libpython3.7m.so.1.0", true, 3, 7, "m"}, /* pymalloc flag of ≤3.7 */
    {"python2.7", true, 2, 7, ""},	       /* parsed; the caller refuses 2.x */
    {"python3.99", true, 3, 99, ""},

    /* Not an interpreter with a version in its name. */
    {"python3", false, 0, 0, NULL},
    {"python", false, 0, 0, NULL},
    {"pythonw", false, 0, 0, NULL},
    {"libpython3.so", false, 0, 0, NULL}, /* the stable-ABI shim */
    {"python3.12-config", false, 0, 0, NULL},
    {"python3.12-dbg", false, 0, 0, NULL},
    {"python3.12.1", false, 0, 0, NULL},
    {"libpython3.12.a", false, 0, 0, NULL},
    {"python3.12_d", false, 0, 0, NULL},
    {"python3.12t-config", false, 0, 0, NULL},
    {"ipython3.12", false, 0, 0, NULL},
    {"bpython3.12", false, 0, 0, NULL},
    {"lib", false, 0, 0, NULL},
    {"libpython", false, 0, 0, NULL},
    {"", false, 0, 0, NULL},
    {"python3.", false, 0, 0, NULL},
    {"python.12", false, 0, 0, NULL},
    {"python3..12", false, 0, 0, NULL},
    {"python3.+12", false, 0, 0, NULL},
    {"python3.-1", false, 0, 0, NULL},
    {"python+3.12", false, 0, 0, NULL},
    {"python 3.12", false, 0, 0, NULL},
    {"Python3.12", false, 0, 0, NULL},
    {"python10.1", false, 0, 0, NULL},	/* major is one digit */
    {"python3.100", false, 0, 0, NULL}, /* minor at most 99 */
    {"python99999999999999999999999.1", false, 0, 0, NULL},
    {"python3.99999999999999999999999", false, 0, 0, NULL},
    {"python3.12t5", false, 0, 0, NULL},
    {"liblibpython3.12.so", false, 0, 0, NULL},
};

static void test_rows(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		unsigned major = 1234, minor = 5678;
		char abiflags[16], what[128];
		bool ok;

		memset(abiflags, 'X', sizeof(abiflags));
		abiflags[sizeof(abiflags) - 1] = '\0';
		ok = hl_python_parse_filename(rows[i].name, &major, &minor, abiflags,
					      sizeof(abiflags));
		snprintf(what, sizeof(what), "\"%s\" accepted", rows[i].name);
		CHECK_INT(rows[i].ok, ok, what);
		if (!rows[i].ok || !ok)
			continue;
		snprintf(what, sizeof(what), "\"%s\" major", rows[i].name);
		CHECK_INT(rows[i].major, major, what);
		snprintf(what, sizeof(what), "\"%s\" minor", rows[i].name);
		CHECK_INT(rows[i].minor, minor, what);
		snprintf(what, sizeof(what), "\"%s\" abiflags", rows[i].name);
		CHECK_STR(rows[i].abiflags, abiflags, what);
	}
}

/* ABI flags longer than the caller's buffer: refused, never truncated (a truncated "td"
 * would read as "t", a different build), and nothing written past the buffer. */
static void test_small_buffer(void)
{
	static const struct {
		const char *name;
		size_t size;
		bool ok;
		const char *abiflags;
	} rows[] = {
	    {"python3.12", 1, true, ""},     {"python3.13t", 1, false, NULL},
	    {"python3.13t", 2, true, "t"},   {"python3.13td", 2, false, NULL},
	    {"python3.13td", 3, true, "td"}, {"libpython3.13td.so.1.0", 2, false, NULL},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		char buf[8];
		unsigned major, minor;
		char what[128];
		bool ok;

		memset(buf, '#', sizeof(buf));
		ok = hl_python_parse_filename(rows[i].name, &major, &minor, buf, rows[i].size);
		snprintf(what, sizeof(what), "\"%s\" with a %zu-byte abiflags buffer", rows[i].name,
			 rows[i].size);
		CHECK_INT(rows[i].ok, ok, what);
		if (ok && rows[i].ok)
			CHECK_STR(rows[i].abiflags, buf, what);
		CHECK(buf[rows[i].size] == '#', what);
	}
}

int main(void)
{
	test_rows();
	test_small_buffer();
	return check_done();
}
