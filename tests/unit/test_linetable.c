/* tests/unit/test_linetable.c — symbolize/linetable.c against what CPython itself reports.
 *
 * Two sources of truth.  Hand-written rows cover what no interpreter can be asked about:
 * malformed bytes (truncated varints, odd lengths, bytes after an entry), offsets past the
 * table, the NULL conventions, ranges past 2 GiB.  The golden fixtures of
 * tests/fixtures/linetable/<version>.txt, written by generate.py under each real interpreter,
 * give for every code object of a set of tricky snippets and crafted tables what that
 * interpreter's PyCode_Addr2Line answers for every byte offset, its co_lines() ranges, and the
 * (f_lasti, f_lineno) of live frames; every one of those is checked here.
 */
#define _GNU_SOURCE
#include "symbolize/linetable.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENOENT_ERR (-ENOENT)
#define EINVAL_ERR (-EINVAL)
#define NONE	   HL_LINE_NONE

/* ---------------------------------------------------------------------------------------- */
/* Helpers. */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes @hex (spaces allowed between bytes, "-" for empty) into a malloc'ed buffer. */
static int unhex(const char *hex, uint8_t **out, size_t *len)
{
	size_t n = 0, cap = strlen(hex) / 2 + 1;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	if (!strcmp(hex, "-"))
		hex = "";
	while (*hex) {
		int hi, lo;

		if (*hex == ' ') {
			hex++;
			continue;
		}
		hi = hexval(hex[0]);
		lo = hi < 0 ? -1 : hexval(hex[1]);
		if (lo < 0) {
			free(buf);
			return -EINVAL;
		}
		buf[n++] = (uint8_t)(hi << 4 | lo);
		hex += 2;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* The whole of @tok as a decimal in [min, max]. */
static int parse_ll(const char *tok, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!tok || !*tok)
		return -EINVAL;
	errno = 0;
	v = strtoll(tok, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static const char *fmt_name(enum hl_linetable_format fmt)
{
	switch (fmt) {
	case HL_LINETABLE_LNOTAB:
		return "lnotab";
	case HL_LINETABLE_310:
		return "310";
	case HL_LINETABLE_311:
		return "311";
	}
	return "?";
}

/* A growable list of ranges, filled by the hl_linetable_ranges callback. */
struct rng {
	uint32_t start, end;
	int32_t line;
};

struct rlist {
	struct rng *v;
	size_t n, cap;
	int stop_after; /* > 0: the callback returns -ECANCELED on that call */
};

static int rlist_push(struct rlist *l, uint32_t start, uint32_t end, int32_t line)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct rng *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].start = start;
	l->v[l->n].end = end;
	l->v[l->n].line = line;
	l->n++;
	return 0;
}

/* Appends, merging with the previous range when contiguous and on the same line. */
static int rlist_merge_push(struct rlist *l, uint32_t start, uint32_t end, int32_t line)
{
	if (l->n && l->v[l->n - 1].end == start && l->v[l->n - 1].line == line) {
		l->v[l->n - 1].end = end;
		return 0;
	}
	return rlist_push(l, start, end, line);
}

static int collect(uint32_t start, uint32_t end, int32_t line, void *arg)
{
	struct rlist *l = arg;
	int err = rlist_push(l, start, end, line);

	if (err)
		return err;
	if (l->stop_after && (int)l->n == l->stop_after)
		return -ECANCELED;
	return 0;
}

static void rlist_free(struct rlist *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---------------------------------------------------------------------------------------- */
/* Hand-written rows. */

static void test_format_for(void)
{
	/* clang-format off */
	static const struct {
		unsigned major, minor;
		enum hl_linetable_format want;
	} rows[] = {
		{3, 6, HL_LINETABLE_LNOTAB},  {3, 8, HL_LINETABLE_LNOTAB},
		{3, 9, HL_LINETABLE_LNOTAB},  {3, 10, HL_LINETABLE_310},
		{3, 11, HL_LINETABLE_311},    {3, 12, HL_LINETABLE_311},
		{3, 13, HL_LINETABLE_311},    {3, 14, HL_LINETABLE_311},
		{3, 99, HL_LINETABLE_311},
	};
	/* clang-format on */
	char what[64];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(what, sizeof(what), "format_for(%u, %u)", rows[i].major, rows[i].minor);
		CHECK_INT(rows[i].want, hl_linetable_format_for(rows[i].major, rows[i].minor),
			  what);
	}
}

/* clang-format off */
#define L HL_LINETABLE_LNOTAB
#define T10 HL_LINETABLE_310
#define T11 HL_LINETABLE_311

static const struct line_row {
	const char *name;
	enum hl_linetable_format fmt;
	const char *hex; /* NULL: a NULL table pointer */
	int32_t first;
	uint32_t offset;
	int err;
	int32_t line; /* when err == 0 */
} line_rows[] = {
	/* lnotab: the line changes *at* each entry's address; past the end, the last line. */
	{"lnotab empty", L, "", 7, 0, 0, 7},
	{"lnotab empty, far offset", L, "", 7, 100000, 0, 7},
	{"lnotab NULL, len 0", L, NULL, 7, 4, 0, 7},
	{"lnotab first entry at 0", L, "0001 0801", 1, 0, 0, 2},
	{"lnotab before 2nd entry", L, "0001 0801", 1, 7, 0, 2},
	{"lnotab at 2nd entry", L, "0001 0801", 1, 8, 0, 3},
	{"lnotab past the end: last line", L, "0001 0801", 1, 5000, 0, 3},
	{"lnotab negative line", L, "0080 047f", 5, 0, 0, -123},
	{"lnotab back from negative", L, "0080 047f", 5, 4, 0, 4},
	{"lnotab line to -1 is none", L, "02fc", 3, 2, 0, NONE},
	{"lnotab wraps at INT32_MAX", L, "027f 027f", INT32_MAX, 2, 0, -2147483522},
	{"lnotab INT32_MIN first", L, "0280", INT32_MIN, 2, 0, 2147483520},
	{"lnotab 255 address steps", L, "0001 ff00 ff00 0203", 1, 511, 0, 2},
	{"lnotab after 255 steps", L, "0001 ff00 ff00 0203", 1, 512, 0, 5},
	{"lnotab gap > 255 lines", L, "007f 007f 007f 0603", 10, 0, 0, 10 + 3 * 127},
	{"lnotab after gap > 255 lines", L, "007f 007f 007f 0603", 10, 6, 0, 10 + 3 * 127 + 3},
	{"lnotab odd offset", L, "0301 0501", 1, 3, 0, 2},
	{"lnotab odd length", L, "000108", 1, 0, EINVAL_ERR, 0},
	{"lnotab one byte", L, "00", 1, 0, EINVAL_ERR, 0},

	/* 3.10: ranges of the first byte's length; -128 = no line and does not move it. */
	{"310 empty", T10, "", 5, 0, ENOENT_ERR, 0},
	{"310 NULL, len 0", T10, NULL, 5, 0, ENOENT_ERR, 0},
	{"310 -128 range", T10, "0480 0201", 5, 0, 0, NONE},
	{"310 -128 range end", T10, "0480 0201", 5, 3, 0, NONE},
	{"310 after -128", T10, "0480 0201", 5, 4, 0, 6},
	{"310 past the table", T10, "0480 0201", 5, 6, ENOENT_ERR, 0},
	{"310 far past the table", T10, "0480 0201", 5, UINT32_MAX, ENOENT_ERR, 0},
	{"310 zero-length -128 ignored", T10, "0080 0401", 5, 0, 0, 6},
	{"310 zero-length entries move line", T10, "0005 007f 0401 0280", 5, 0, 0, 138},
	{"310 trailing -128 range", T10, "0005 007f 0401 0280", 5, 5, 0, NONE},
	{"310 trailing zero-length entry", T10, "0201 0005", 5, 2, ENOENT_ERR, 0},
	{"310 negative line", T10, "04f6 0201", 5, 0, 0, -5},
	{"310 line to -1 is none", T10, "04fc", 3, 0, 0, NONE},
	{"310 wraps at INT32_MAX", T10, "027f 027f", INT32_MAX, 2, 0, -2147483395},
	{"310 255-byte range", T10, "ff01 0201", 1, 254, 0, 2},
	{"310 after 255-byte range", T10, "ff01 0201", 1, 255, 0, 3},
	{"310 odd length", T10, "0401 02", 1, 0, EINVAL_ERR, 0},

	/* 3.11+: entries of (b & 7) + 1 code units; codes 0-9 short, 10-12 one-line,
	 * 13 no columns, 14 long, 15 no location. */
	{"311 empty", T11, "", 5, 0, ENOENT_ERR, 0},
	{"311 NULL, len 0", T11, NULL, 5, 0, ENOENT_ERR, 0},
	{"311 short form", T11, "8000", 5, 0, 0, 5},
	{"311 short form odd offset", T11, "8000", 5, 1, 0, 5},
	{"311 short form past", T11, "8000", 5, 2, ENOENT_ERR, 0},
	{"311 short form code 9", T11, "8000 c87f", 5, 3, 0, 5},
	{"311 eight units", T11, "8700", 5, 15, 0, 5},
	{"311 eight units past", T11, "8700", 5, 16, ENOENT_ERR, 0},
	{"311 one-line +0", T11, "d000 00", 5, 0, 0, 5},
	{"311 one-line +1", T11, "d800 00", 5, 0, 0, 6},
	{"311 one-line +2", T11, "e07f 7f", 5, 0, 0, 7},
	{"311 no columns -10", T11, "e815", 5, 0, 0, -5},
	{"311 no columns +2000000", T11, "e8 4064 500f", 1, 0, 0, 2000001},
	{"311 long form", T11, "f006 0001 02 8000", 1, 2, 0, 4},
	{"311 long form big columns", T11, "f006 4001 7f3f 4004 8000", 1, 2, 0, 4},
	{"311 code 15 none", T11, "f9", 5, 3, 0, NONE},
	{"311 code 15 past", T11, "f9", 5, 4, ENOENT_ERR, 0},
	{"311 code 15 keeps line", T11, "f9 e803", 5, 4, 0, 4},
	{"311 line to -1 is none", T11, "e909", 3, 0, 0, NONE},
	{"311 6-chunk varint", T11, "e9 7f7f 7f7f 7f03", 0, 0, 0, -2147483647},
	{"311 wraps at INT32_MAX", T11, "e902", INT32_MAX, 0, 0, INT32_MIN},
	{"311 svarint -(2^31-1) from 0", T11, "e8 7f7f 7f7f 7f03", 0, 0, 0, -2147483647},
	{"311 good prefix, bad tail", T11, "8000 80", 5, 0, 0, 5},
	{"311 bad tail reached", T11, "8000 80", 5, 2, EINVAL_ERR, 0},
	{"311 no bit 7 first", T11, "00", 5, 0, EINVAL_ERR, 0},
	{"311 no bit 7 later", T11, "8000 7800", 5, 2, EINVAL_ERR, 0},
	{"311 short form truncated", T11, "80", 5, 0, EINVAL_ERR, 0},
	{"311 short form cut by entry", T11, "80 8000", 5, 0, EINVAL_ERR, 0},
	{"311 extra byte after entry", T11, "8000 00", 5, 0, EINVAL_ERR, 0},
	{"311 one-line truncated", T11, "d000", 5, 0, EINVAL_ERR, 0},
	{"311 varint truncated", T11, "e8", 5, 0, EINVAL_ERR, 0},
	{"311 varint continuation truncated", T11, "e840", 5, 0, EINVAL_ERR, 0},
	{"311 varint cut by entry", T11, "e840 8000", 5, 0, EINVAL_ERR, 0},
	{"311 varint 7 chunks", T11, "e8 7f7f 7f7f 7f7f 01", 5, 0, EINVAL_ERR, 0},
	{"311 varint 7 chunks of zero", T11, "e8 4040 4040 4040 00", 5, 0, EINVAL_ERR, 0},
	{"311 varint over 32 bits", T11, "e8 7f7f 7f7f 7f04", 5, 0, EINVAL_ERR, 0},
	{"311 long form truncated", T11, "f006 0001", 5, 0, EINVAL_ERR, 0},
	{"311 long form varint truncated", T11, "f006 0001 40", 5, 0, EINVAL_ERR, 0},
};
/* clang-format on */

static void test_line_rows(void)
{
	char what[160];
	int32_t line;
	int err;

	for (size_t i = 0; i < sizeof(line_rows) / sizeof(line_rows[0]); i++) {
		const struct line_row *r = &line_rows[i];
		uint8_t *buf = NULL;
		size_t len = 0;

		if (r->hex && unhex(r->hex, &buf, &len)) {
			CHECK(0, r->name);
			continue;
		}
		line = 12345;
		err =
		    hl_linetable_line(r->fmt, r->hex ? buf : NULL, len, r->first, r->offset, &line);
		snprintf(what, sizeof(what), "%s: return", r->name);
		CHECK_INT(r->err, err, what);
		snprintf(what, sizeof(what), "%s: line", r->name);
		CHECK_INT(r->err ? 12345 : r->line, line, what);
		free(buf);
	}
}

static void test_argument_errors(void)
{
	static const uint8_t table[] = {0x80, 0x00};
	const enum hl_linetable_format bad_fmt = (enum hl_linetable_format)99;
	struct rlist l = {0};
	int32_t line = 0;

	CHECK_INT(EINVAL_ERR, hl_linetable_line(T11, table, sizeof(table), 1, 0, NULL),
		  "NULL line");
	CHECK_INT(EINVAL_ERR, hl_linetable_line(T11, NULL, 2, 1, 0, &line),
		  "NULL table with len 2");
	CHECK_INT(EINVAL_ERR,
		  hl_linetable_line((enum hl_linetable_format)7, table, sizeof(table), 1, 0, &line),
		  "unknown format");
	CHECK_INT(EINVAL_ERR, hl_linetable_ranges(T11, table, sizeof(table), 1, NULL, NULL),
		  "ranges: NULL cb");
	CHECK_INT(EINVAL_ERR, hl_linetable_ranges(T10, NULL, 4, 1, collect, &l),
		  "ranges: NULL table with len 4");
	CHECK_INT(EINVAL_ERR, hl_linetable_ranges(bad_fmt, table, sizeof(table), 1, collect, &l),
		  "ranges: unknown format");
	CHECK_INT(0, l.n, "ranges: cb not called on argument errors");
	rlist_free(&l);
}

/* Tables that describe more than 2 GiB of code: CPython's sizes are ints, so these are
 * garbage; the decoder must refuse them rather than wrap. */
static void test_huge_addresses(void)
{
	size_t entries = ((size_t)INT32_MAX / 255) + 2, len = 2 * entries;
	uint8_t *buf = malloc(len);
	struct rlist l = {0};
	int32_t line = 0;

	if (!buf) {
		CHECK(0, "malloc");
		return;
	}
	for (size_t i = 0; i < entries; i++) {
		buf[2 * i] = 0xff;
		buf[2 * i + 1] = 0;
	}
	CHECK_INT(0, hl_linetable_line(L, buf, len, 1, 1000, &line), "lnotab 2 GiB: early");
	CHECK_INT(EINVAL_ERR, hl_linetable_line(L, buf, len, 1, UINT32_MAX, &line),
		  "lnotab 2 GiB: past");
	CHECK_INT(EINVAL_ERR, hl_linetable_ranges(L, buf, len, 1, collect, &l),
		  "lnotab 2 GiB: ranges");
	CHECK_INT(0, hl_linetable_line(T10, buf, len, 1, 1000, &line), "310 2 GiB: early");
	CHECK_INT(EINVAL_ERR, hl_linetable_line(T10, buf, len, 1, INT32_MAX, &line),
		  "310 2 GiB: past");
	CHECK_INT(EINVAL_ERR, hl_linetable_ranges(T10, buf, len, 1, collect, &l),
		  "310 2 GiB: ranges");
	/* One entry less stays within INT32_MAX and is accepted. */
	CHECK_INT(0, hl_linetable_ranges(T10, buf, len - 4, 1, collect, &l),
		  "310 just under 2 GiB: ranges");
	CHECK_INT(1, l.n, "310 just under 2 GiB: one merged range");
	free(buf);
	rlist_free(&l);
}

/* clang-format off */
static const struct ranges_row {
	const char *name;
	enum hl_linetable_format fmt;
	const char *hex;
	int32_t first;
	int stop_after;
	int err;
	size_t n;
	struct rng want[6];
} ranges_rows[] = {
	{"lnotab empty: one open range", L, "", 7, 0, 0, 1,
	 {{0, HL_LINETABLE_END_OPEN, 7}}},
	{"lnotab merges same-line entries", L, "0001 0400 0401 0200", 1, 0, 0, 2,
	 {{0, 8, 2}, {8, HL_LINETABLE_END_OPEN, 3}}},
	{"lnotab zero-address entries", L, "007f 007f 0203 02fd", 1, 0, 0, 3,
	 {{0, 2, 255}, {2, 4, 258}, {4, HL_LINETABLE_END_OPEN, 255}}},
	{"310 empty: no ranges", T10, "", 7, 0, 0, 0, {{0, 0, 0}}},
	{"310 none, lines, merge", T10, "0480 0201 0400 0280 0280", 5, 0, 0, 3,
	 {{0, 4, NONE}, {4, 10, 6}, {10, 14, NONE}}},
	{"310 zero-length entries skipped", T10, "0005 0201 0000 0201", 5, 0, 0, 2,
	 {{0, 2, 11}, {2, 4, 12}}},
	{"311 merges like 3.12 co_lines", T11, "8000 8000 f9 f8 d800 00", 5, 0, 0, 3,
	 {{0, 4, 5}, {4, 10, NONE}, {10, 12, 6}}},
	{"311 malformed tail: cb never called", T11, "8000 d800 00 80", 5, 0, EINVAL_ERR, 0,
	 {{0, 0, 0}}},
	{"311 cb stops the walk", T11, "8000 d800 00 d800 00", 5, 1, -ECANCELED, 1,
	 {{0, 2, 5}}},
	{"lnotab cb stops at the open range", L, "0201", 5, 2, -ECANCELED, 2,
	 {{0, 2, 5}, {2, HL_LINETABLE_END_OPEN, 6}}},
};
/* clang-format on */

static void test_ranges_rows(void)
{
	char what[160];

	for (size_t i = 0; i < sizeof(ranges_rows) / sizeof(ranges_rows[0]); i++) {
		const struct ranges_row *r = &ranges_rows[i];
		struct rlist l = {.stop_after = r->stop_after};
		uint8_t *buf;
		size_t len;
		int err;

		if (unhex(r->hex, &buf, &len)) {
			CHECK(0, r->name);
			continue;
		}
		err = hl_linetable_ranges(r->fmt, buf, len, r->first, collect, &l);
		snprintf(what, sizeof(what), "%s: return", r->name);
		CHECK_INT(r->err, err, what);
		snprintf(what, sizeof(what), "%s: number of ranges", r->name);
		CHECK_INT(r->n, l.n, what);
		for (size_t j = 0; j < r->n && j < l.n; j++) {
			snprintf(what, sizeof(what), "%s: range %zu start", r->name, j);
			CHECK_INT(r->want[j].start, l.v[j].start, what);
			snprintf(what, sizeof(what), "%s: range %zu end", r->name, j);
			CHECK_INT(r->want[j].end, l.v[j].end, what);
			snprintf(what, sizeof(what), "%s: range %zu line", r->name, j);
			CHECK_INT(r->want[j].line, l.v[j].line, what);
		}
		rlist_free(&l);
		free(buf);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Golden fixtures. */

struct fixture {
	const char *path;
	unsigned lineno;
	char version[32];
	unsigned minor; /* of 3.minor */
	enum hl_linetable_format fmt;
	bool have_fmt;

	/* The current code object. */
	bool in_code;
	char name[256];
	int32_t first;
	long long codelen;
	long long covered; /* -1: "-" (lnotab) */
	uint8_t *table;
	size_t len;
	struct rlist a2l;   /* the a2l runs, merged */
	struct rlist lines; /* co_lines(), None as INT32_MIN until compared */

	/* Totals, for the summary and the "cannot pass vacuously" checks. */
	unsigned codes, offsets, frames, lines_rows, crafted;
	int checks_before;
};

#define CO_LINES_NONE INT32_MIN

static void fixture_where(const struct fixture *f, char *buf, size_t size, const char *what)
{
	snprintf(buf, size, "%s:%u (%s %s): %s", f->path, f->lineno, f->version, f->name, what);
}

/* co_lines() turns lines into None by its own rule: any negative line on 3.10 and 3.11, only
 * -1 on 3.12+.  Both lists are put through it before they are compared. */
static int32_t co_lines_view(const struct fixture *f, int32_t line)
{
	if (line == CO_LINES_NONE)
		return CO_LINES_NONE;
	if (f->minor <= 11 ? line < 0 : line == HL_LINE_NONE)
		return CO_LINES_NONE;
	return line;
}

static int collect_merged(uint32_t start, uint32_t end, int32_t line, void *arg)
{
	return rlist_merge_push(arg, start, end, line);
}

/* Compares @want with @got clipped to [0, @limit); @view maps lines first when non-NULL. */
static void compare_ranges(struct fixture *f, const char *what, const struct rlist *want,
			   const struct rlist *got, uint32_t limit, bool view)
{
	struct rlist a = {0}, b = {0};
	char buf[512];
	size_t i;

	for (i = 0; i < want->n; i++) {
		uint32_t end = want->v[i].end < limit ? want->v[i].end : limit;
		int32_t line = view ? co_lines_view(f, want->v[i].line) : want->v[i].line;

		if (want->v[i].start < limit)
			rlist_merge_push(&a, want->v[i].start, end, line);
	}
	for (i = 0; i < got->n; i++) {
		uint32_t end = got->v[i].end < limit ? got->v[i].end : limit;
		int32_t line = view ? co_lines_view(f, got->v[i].line) : got->v[i].line;

		if (got->v[i].start < limit)
			rlist_merge_push(&b, got->v[i].start, end, line);
	}
	fixture_where(f, buf, sizeof(buf), what);
	CHECK_INT(a.n, b.n, buf);
	for (i = 0; i < a.n && i < b.n; i++) {
		if (a.v[i].start == b.v[i].start && a.v[i].end == b.v[i].end &&
		    a.v[i].line == b.v[i].line)
			continue;
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			 ": range %zu [%u, %u) line %d vs ours [%u, %u) line %d", i, a.v[i].start,
			 a.v[i].end, a.v[i].line, b.v[i].start, b.v[i].end, b.v[i].line);
		CHECK(0, buf);
		break;
	}
	rlist_free(&a);
	rlist_free(&b);
}

/* Checks made once a code object's rows have all been read. */
static void fixture_end_code(struct fixture *f)
{
	struct rlist ours = {0};
	uint32_t limit;
	char buf[512];
	int err;

	if (!f->in_code)
		return;
	f->in_code = false;
	err = hl_linetable_ranges(f->fmt, f->table, f->len, f->first, collect_merged, &ours);
	fixture_where(f, buf, sizeof(buf), "hl_linetable_ranges");
	CHECK_INT(0, err, buf);
	/* The a2l runs span [0, codelen]; for 3.10+ only [0, covered) is in the table. */
	limit = (uint32_t)(f->fmt == HL_LINETABLE_LNOTAB ? f->codelen + 1 : f->covered);
	compare_ranges(f, "ranges vs PyCode_Addr2Line", &f->a2l, &ours, limit, false);
	if (f->fmt != HL_LINETABLE_LNOTAB)
		compare_ranges(f, "ranges vs co_lines()", &f->lines, &ours, UINT32_MAX, true);
	rlist_free(&ours);
	rlist_free(&f->a2l);
	rlist_free(&f->lines);
	free(f->table);
	f->table = NULL;
}

/* "a2l start end line": PyCode_Addr2Line gave @line for every offset in [start, end). */
static void fixture_a2l(struct fixture *f, long long start, long long end, long long want)
{
	char buf[512], what[128];

	rlist_merge_push(&f->a2l, (uint32_t)start, (uint32_t)end, (int32_t)want);
	for (long long off = start; off < end; off++) {
		bool past = f->fmt != HL_LINETABLE_LNOTAB && off >= f->covered;
		int32_t line = 12345;
		int err =
		    hl_linetable_line(f->fmt, f->table, f->len, f->first, (uint32_t)off, &line);

		f->offsets++;
		snprintf(what, sizeof(what), "offset %lld", off);
		fixture_where(f, buf, sizeof(buf), what);
		if (past) {
			/* CPython's -1 past the table is our -ENOENT. */
			CHECK_INT(HL_LINE_NONE, want, buf);
			CHECK_INT(ENOENT_ERR, err, buf);
			if (want != HL_LINE_NONE || err != ENOENT_ERR)
				return;
			continue;
		}
		CHECK_INT(0, err, buf);
		CHECK_INT(want, line, buf);
		if (err || line != want)
			return; /* one report per row is enough */
	}
}

/* "frame f_lasti f_lineno": a live frame; a negative f_lasti is the caller's case. */
static void fixture_frame(struct fixture *f, long long lasti, long long want)
{
	char buf[512], what[128];
	int32_t line = 12345;
	int err;

	f->frames++;
	snprintf(what, sizeof(what), "frame f_lasti %lld", lasti);
	fixture_where(f, buf, sizeof(buf), what);
	if (lasti < 0) {
		/* linetable.h: the caller reports co_firstlineno for a frame not started. */
		CHECK_INT(f->first, want, buf);
		return;
	}
	err = hl_linetable_line(f->fmt, f->table, f->len, f->first, (uint32_t)lasti, &line);
	CHECK_INT(0, err, buf);
	CHECK_INT(want, line, buf);
}

static int fixture_code(struct fixture *f, char **tok)
{
	long long v;

	if (!tok[1] || !tok[2] || !tok[3] || !tok[4] || !tok[5] || tok[6])
		return -EINVAL;
	snprintf(f->name, sizeof(f->name), "%s", tok[1]);
	if (parse_ll(tok[2], INT32_MIN, INT32_MAX, &v))
		return -EINVAL;
	f->first = (int32_t)v;
	if (parse_ll(tok[3], 0, INT32_MAX, &f->codelen))
		return -EINVAL;
	if (!strcmp(tok[4], "-"))
		f->covered = -1;
	else if (parse_ll(tok[4], 0, INT32_MAX, &f->covered))
		return -EINVAL;
	if ((f->covered < 0) != (f->fmt == HL_LINETABLE_LNOTAB))
		return -EINVAL;
	if (unhex(tok[5], &f->table, &f->len))
		return -EINVAL;
	f->in_code = true;
	f->codes++;
	if (!strncmp(f->name, "crafted:", 8))
		f->crafted++;
	return 0;
}

/* One fixture line, split into tokens.  Returns 0 or -EINVAL for a line we do not know. */
static int fixture_line(struct fixture *f, char **tok)
{
	long long a, b, c;
	char buf[512];

	if (!strcmp(tok[0], "python")) {
		if (!tok[1] || sscanf(tok[1], "3.%u.", &f->minor) != 1)
			return -EINVAL;
		snprintf(f->version, sizeof(f->version), "%s", tok[1]);
		return 0;
	}
	if (!strcmp(tok[0], "format")) {
		if (!tok[1])
			return -EINVAL;
		if (!strcmp(tok[1], "lnotab"))
			f->fmt = HL_LINETABLE_LNOTAB;
		else if (!strcmp(tok[1], "310"))
			f->fmt = HL_LINETABLE_310;
		else if (!strcmp(tok[1], "311"))
			f->fmt = HL_LINETABLE_311;
		else
			return -EINVAL;
		f->have_fmt = true;
		/* The fixture's format must be the one hotloop would pick for its version. */
		fixture_where(f, buf, sizeof(buf), "hl_linetable_format_for(fixture version)");
		CHECK_INT(f->fmt, hl_linetable_format_for(3, f->minor), buf);
		return 0;
	}
	if (!f->have_fmt)
		return -EINVAL;
	if (!strcmp(tok[0], "code")) {
		fixture_end_code(f);
		return fixture_code(f, tok);
	}
	if (!f->in_code)
		return -EINVAL;
	if (!strcmp(tok[0], "neg")) {
		if (parse_ll(tok[1], INT32_MIN, INT32_MAX, &a))
			return -EINVAL;
		fixture_where(f, buf, sizeof(buf), "PyCode_Addr2Line(-1) is co_firstlineno");
		CHECK_INT(f->first, a, buf);
		return 0;
	}
	if (!strcmp(tok[0], "a2l")) {
		if (parse_ll(tok[1], 0, INT32_MAX, &a) || parse_ll(tok[2], a + 1, INT32_MAX, &b) ||
		    parse_ll(tok[3], INT32_MIN, INT32_MAX, &c))
			return -EINVAL;
		fixture_a2l(f, a, b, c);
		return 0;
	}
	if (!strcmp(tok[0], "lines")) {
		if (parse_ll(tok[1], 0, INT32_MAX, &a) || parse_ll(tok[2], a, INT32_MAX, &b))
			return -EINVAL;
		if (tok[3] && !strcmp(tok[3], "none"))
			c = CO_LINES_NONE;
		else if (parse_ll(tok[3], INT32_MIN, INT32_MAX, &c))
			return -EINVAL;
		f->lines_rows++;
		/* co_lines() may yield empty ranges; they carry no offset. */
		if (b > a)
			rlist_merge_push(&f->lines, (uint32_t)a, (uint32_t)b, (int32_t)c);
		return 0;
	}
	if (!strcmp(tok[0], "frame")) {
		if (parse_ll(tok[1], -1, INT32_MAX, &a))
			return -EINVAL;
		if (tok[2] && !strcmp(tok[2], "none"))
			b = HL_LINE_NONE;
		else if (parse_ll(tok[2], INT32_MIN, INT32_MAX, &b))
			return -EINVAL;
		fixture_frame(f, a, b);
		return 0;
	}
	return -EINVAL;
}

static void check_fixture(const char *path, unsigned *files_per_fmt)
{
	struct fixture f = {.path = path, .checks_before = check_count};
	char *line = NULL, buf[512];
	size_t cap = 0;
	FILE *fp = fopen(path, "r");

	if (!fp) {
		snprintf(buf, sizeof(buf), "open %s: %s", path, strerror(errno));
		CHECK(0, buf);
		return;
	}
	while (getline(&line, &cap, fp) > 0) {
		char *tok[8] = {0}, *save = NULL;
		size_t n = 0;

		f.lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		for (char *t = strtok_r(line, " ", &save); t && n < 7;
		     t = strtok_r(NULL, " ", &save))
			tok[n++] = t;
		if (fixture_line(&f, tok)) {
			snprintf(buf, sizeof(buf),
				 "%s:%u: malformed fixture line (regenerate with generate.py)",
				 path, f.lineno);
			CHECK(0, buf);
			break;
		}
	}
	fixture_end_code(&f);
	free(line);
	fclose(fp);
	free(f.table);
	rlist_free(&f.a2l);
	rlist_free(&f.lines);

	/* A fixture that checks nearly nothing would let the test pass vacuously. */
	snprintf(buf, sizeof(buf), "%s: at least 40 code objects, 40 frames, 5 crafted tables",
		 path);
	CHECK(f.codes >= 40 && f.frames >= 40 && f.crafted >= 5, buf);
	if (f.have_fmt)
		files_per_fmt[f.fmt]++;
	fprintf(stderr,
		"fixture %s (%s): %u code objects (%u crafted), %u offsets, %u frames, %u co_lines "
		"rows; %d checks\n",
		f.version, f.have_fmt ? fmt_name(f.fmt) : "?", f.codes, f.crafted, f.offsets,
		f.frames, f.lines_rows, check_count - f.checks_before);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_fixtures(void)
{
	const char *src = getenv("HOTLOOP_SOURCE_DIR");
	unsigned files_per_fmt[3] = {0};
	char dir[4096], path[4352];
	char *names[64];
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	if (!src) {
		CHECK(0, "HOTLOOP_SOURCE_DIR is not set: run through ctest, or set it to the "
			 "project root");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/tests/fixtures/linetable", src);
	d = opendir(dir);
	if (!d) {
		snprintf(path, sizeof(path), "opendir %s: %s", dir, strerror(errno));
		CHECK(0, path);
		return;
	}
	while ((de = readdir(d)) && n < sizeof(names) / sizeof(names[0])) {
		size_t len = strlen(de->d_name);

		if (len > 4 && !strcmp(de->d_name + len - 4, ".txt"))
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		check_fixture(path, files_per_fmt);
		free(names[i]);
	}
	CHECK(files_per_fmt[HL_LINETABLE_LNOTAB] > 0, "a 3.8/3.9 (lnotab) fixture exists");
	CHECK(files_per_fmt[HL_LINETABLE_310] > 0, "a 3.10 fixture exists");
	CHECK(files_per_fmt[HL_LINETABLE_311] > 0, "a 3.11+ fixture exists");
}

int main(void)
{
	test_format_for();
	test_line_rows();
	test_argument_errors();
	test_huge_addresses();
	test_ranges_rows();
	test_fixtures();
	return check_done();
}
