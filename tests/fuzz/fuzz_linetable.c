/* tests/fuzz/fuzz_linetable.c — libFuzzer target for symbolize/linetable.c.
 *
 * Line tables are read from the profiled process, so any bytes may arrive.  Beyond "no crash,
 * no sanitizer report", the target checks the invariants the rest of hotloop relies on, and
 * aborts when one breaks:
 *   - hl_linetable_ranges() reports non-empty, contiguous ranges from byte 0, never two
 *     adjacent ones with the same line, and is all-or-nothing on malformed input;
 *   - hl_linetable_line() agrees with it at the first and last byte of every range, answers
 *     -ENOENT just past the last one (3.10+), and fails only where ranges fails too.
 *
 * Input: byte 0 picks the format (mod 3), bytes 1-4 co_firstlineno and 5-8 the offset to look
 * up (little endian), the rest is the table.
 *
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *   tests/fuzz/fuzz_linetable.c symbolize/linetable.c -o fuzz_linetable
 */
#include "symbolize/linetable.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANGES 4096

struct walk {
	enum hl_linetable_format fmt;
	const uint8_t *table;
	size_t len;
	int32_t first;
	uint32_t next_start;
	int32_t prev_line;
	unsigned n;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void expect_line(const struct walk *w, uint32_t offset, int32_t want)
{
	int32_t line;

	if (hl_linetable_line(w->fmt, w->table, w->len, w->first, offset, &line) || line != want)
		abort();
}

static int check_range(uint32_t start, uint32_t end, int32_t line, void *arg)
{
	struct walk *w = arg;

	if (start != w->next_start || end <= start)
		abort();
	if (w->n && line == w->prev_line)
		abort(); /* not merged */
	if (end == HL_LINETABLE_END_OPEN && w->fmt != HL_LINETABLE_LNOTAB)
		abort();
	/* Looking every range up twice makes the walk quadratic: check the first few thousand,
	 * which is more than any input the fuzzer keeps small enough to run fast. */
	if (w->n < MAX_RANGES) {
		expect_line(w, start, line);
		expect_line(w, end - 1, line);
	}
	w->next_start = end;
	w->prev_line = line;
	w->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct walk w = {0};
	uint32_t offset;
	int32_t line = 0;
	int err_line, err_ranges;

	if (size < 9)
		return 0;
	w.fmt = (enum hl_linetable_format)(data[0] % 3);
	w.first = (int32_t)le32(data + 1);
	offset = le32(data + 5);
	w.table = data + 9;
	w.len = size - 9;

	err_line = hl_linetable_line(w.fmt, w.table, w.len, w.first, offset, &line);
	if (err_line && err_line != -EINVAL && err_line != -ENOENT)
		abort();
	if (err_line == -ENOENT && w.fmt == HL_LINETABLE_LNOTAB)
		abort();

	err_ranges = hl_linetable_ranges(w.fmt, w.table, w.len, w.first, check_range, &w);
	if (err_ranges && err_ranges != -EINVAL)
		abort();
	if (err_ranges) {
		if (w.n) /* all or nothing */
			abort();
		return 0;
	}
	/* A table that ranges accepts is valid in full: every lookup must succeed or be past it. */
	if (err_line == -EINVAL)
		abort();
	if (err_line == -ENOENT && offset < w.next_start)
		abort();
	if (!err_line && w.fmt != HL_LINETABLE_LNOTAB && offset >= w.next_start)
		abort();
	if (w.fmt == HL_LINETABLE_LNOTAB && w.next_start != HL_LINETABLE_END_OPEN)
		abort(); /* the last lnotab range is open-ended */
	if (w.fmt != HL_LINETABLE_LNOTAB) {
		int32_t dummy;

		if (hl_linetable_line(w.fmt, w.table, w.len, w.first, w.next_start, &dummy) !=
		    -ENOENT)
			abort();
	}
	return 0;
}
