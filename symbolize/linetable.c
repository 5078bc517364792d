/* symbolize/linetable.c — see linetable.h.
 *
 * One cursor per format produces the table's non-empty address ranges in order; the lookup and
 * the range walk are both built on it, so they cannot disagree.  The formats are described in
 * ../shared/research/cpython-internals.md §4.2; the edge cases (zero-length 3.10 entries,
 * negative and wrapping lines, "no line" entries) follow what the interpreters report, as
 * recorded in tests/fixtures/linetable/.
 */
#include "symbolize/linetable.h"

#include <errno.h>
#include <stdbool.h>

/* CPython keeps code sizes and offsets in an int, so no real table describes bytes past
 * INT32_MAX; a table that does is garbage, and refusing it keeps every sum below in range. */
#define MAX_END ((uint64_t)INT32_MAX)
/* Internal end of the final lnotab range, which runs to the end of the code. */
#define OPEN_END UINT64_MAX

struct cursor {
	enum hl_linetable_format fmt;
	const uint8_t *p;
	const uint8_t *end;
	uint64_t addr; /* start of the next range, in bytes */
	/* The accumulated line, kept unsigned so that wrapping is defined: CPython's int
	 * arithmetic wraps (it is built with -fwrapv) and the fixtures record that. */
	uint32_t line;
	bool done; /* lnotab: the final, open-ended range has been produced */
};

struct range {
	uint64_t start;
	uint64_t end;
	int32_t line;
};

/* uint32 -> int32 modulo 2^32, without the implementation-defined conversion. */
static int32_t to_i32(uint32_t u)
{
	if (u <= INT32_MAX)
		return (int32_t)u;
	return (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

/* A byte read as a two's complement signed char (the lnotab and 3.10 line deltas). */
static int signed_byte(uint8_t b)
{
	return b < 0x80 ? (int)b : (int)b - 0x100;
}

static int cursor_init(struct cursor *c, enum hl_linetable_format fmt, const uint8_t *table,
		       size_t len, int32_t firstlineno)
{
	if (!table && len)
		return -EINVAL;
	switch (fmt) {
	case HL_LINETABLE_LNOTAB:
	case HL_LINETABLE_310:
		/* CPython would ignore a trailing odd byte, but its compilers only write pairs:
		 * an odd length means we did not read a line table. */
		if (len % 2)
			return -EINVAL;
		break;
	case HL_LINETABLE_311:
		break;
	default:
		return -EINVAL;
	}
	c->fmt = fmt;
	c->p = table;
	c->end = table ? table + len : table;
	c->addr = 0;
	c->line = (uint32_t)firstlineno;
	c->done = false;
	return 0;
}

/* co_lnotab: entry i moves the address by its first byte, and the line by its second byte
 * *from that address on*: the range before the new address keeps the old line.  A run of
 * entries with address delta 0 only moves the line (how deltas beyond a byte are spelled). */
static int next_lnotab(struct cursor *c, struct range *r)
{
	while (c->p < c->end) {
		uint64_t next = c->addr + c->p[0];
		uint32_t delta = (uint32_t)signed_byte(c->p[1]);

		c->p += 2;
		if (next > MAX_END)
			return -EINVAL;
		if (next > c->addr) {
			r->start = c->addr;
			r->end = next;
			r->line = to_i32(c->line);
			c->addr = next;
			c->line += delta;
			return 1;
		}
		c->line += delta;
	}
	if (c->done)
		return 0;
	/* Past the last entry CPython answers with the last line, whatever the offset. */
	c->done = true;
	r->start = c->addr;
	r->end = OPEN_END;
	r->line = to_i32(c->line);
	return 1;
}

/* 3.10 co_linetable: each entry is a range of its first byte's length whose line is the
 * accumulated line after its own delta, or none when the delta is -128 (which then does not
 * move the line).  Zero-length entries only move the line. */
static int next_310(struct cursor *c, struct range *r)
{
	while (c->p < c->end) {
		unsigned length = c->p[0];
		int delta = signed_byte(c->p[1]);

		c->p += 2;
		if (delta != -128)
			c->line += (uint32_t)delta;
		if (!length)
			continue;
		if (c->addr + length > MAX_END)
			return -EINVAL;
		r->start = c->addr;
		r->end = c->addr + length;
		r->line = delta == -128 ? HL_LINE_NONE : to_i32(c->line);
		c->addr = r->end;
		return 1;
	}
	return 0;
}

/* Only an entry's first byte has bit 7 set: CPython writes every other byte below 0x80
 * (6-bit varint chunks, columns < 128, the short form's packed columns).  A continuation byte
 * with bit 7 set is therefore the next entry, and this one was cut short. */
static int read_byte(const uint8_t **p, const uint8_t *end, uint8_t *b)
{
	if (*p == end || (**p & 0x80))
		return -EINVAL;
	*b = *(*p)++;
	return 0;
}

/* Little-endian 6-bit chunks, 0x40 = more follow.  CPython writes unsigned ints, so at most six
 * chunks and no bit above 31; anything longer did not come from CPython. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint32_t *out)
{
	uint64_t val = 0;
	unsigned shift = 0;
	uint8_t b;
	int err;

	for (;;) {
		err = read_byte(p, end, &b);
		if (err)
			return err;
		val |= (uint64_t)(b & 0x3f) << shift;
		if (!(b & 0x40))
			break;
		shift += 6;
		if (shift > 30)
			return -EINVAL;
	}
	if (val > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)val;
	return 0;
}

/* Zig-zag by the low bit: v&1 ? -(v>>1) : v>>1, returned modulo 2^32 for the line sum. */
static int read_svarint(const uint8_t **p, const uint8_t *end, uint32_t *delta)
{
	uint32_t v;
	int err = read_varint(p, end, &v);

	if (err)
		return err;
	*delta = v & 1 ? 0u - (v >> 1) : v >> 1;
	return 0;
}

static int skip_bytes(const uint8_t **p, const uint8_t *end, unsigned n)
{
	uint8_t b;
	int err = 0;

	while (n-- && !err)
		err = read_byte(p, end, &b);
	return err;
}

/* 3.11+ location table.  First byte: 1 (bit 7), code (4 bits), length - 1 in code units
 * (3 bits); then, by code, the line delta and column data, which we decode only to find the
 * next entry and to check the bytes are what CPython writes. */
static int next_311(struct cursor *c, struct range *r)
{
	const uint8_t *p = c->p;
	uint32_t delta = 0, ignored;
	unsigned code, units;
	int err = 0;

	if (p == c->end)
		return 0;
	if (!(*p & 0x80))
		return -EINVAL;
	code = (*p >> 3) & 15;
	units = (*p & 7) + 1;
	p++;
	switch (code) {
	case 15: /* no location: the line stays as it was for the entries after */
		break;
	case 14: /* long form: line delta, end-line delta, column + 1, end column + 1 */
		err = read_svarint(&p, c->end, &delta);
		if (!err)
			err = read_varint(&p, c->end, &ignored);
		if (!err)
			err = read_varint(&p, c->end, &ignored);
		if (!err)
			err = read_varint(&p, c->end, &ignored);
		break;
	case 13: /* no columns: line delta */
		err = read_svarint(&p, c->end, &delta);
		break;
	case 10:
	case 11:
	case 12: /* one-line form: line delta is code - 10; column, end column */
		delta = code - 10;
		err = skip_bytes(&p, c->end, 2);
		break;
	default: /* short form, codes 0-9: same line; packed columns */
		err = skip_bytes(&p, c->end, 1);
		break;
	}
	if (err)
		return err;
	/* The next entry starts exactly here, or the table ends. */
	if (p < c->end && !(*p & 0x80))
		return -EINVAL;
	if (c->addr + 2 * units > MAX_END)
		return -EINVAL;
	c->line += delta;
	r->start = c->addr;
	r->end = c->addr + 2 * units;
	r->line = code == 15 ? HL_LINE_NONE : to_i32(c->line);
	c->addr = r->end;
	c->p = p;
	return 1;
}

/* The next non-empty range, contiguous with the previous one.  Returns 1, 0 at the end of the
 * table, or -EINVAL. */
static int cursor_next(struct cursor *c, struct range *r)
{
	switch (c->fmt) {
	case HL_LINETABLE_LNOTAB:
		return next_lnotab(c, r);
	case HL_LINETABLE_310:
		return next_310(c, r);
	case HL_LINETABLE_311:
		return next_311(c, r);
	}
	return -EINVAL;
}

enum hl_linetable_format hl_linetable_format_for(unsigned major, unsigned minor)
{
	if (major < 3 || (major == 3 && minor < 10))
		return HL_LINETABLE_LNOTAB;
	if (major == 3 && minor == 10)
		return HL_LINETABLE_310;
	return HL_LINETABLE_311;
}

int hl_linetable_line(enum hl_linetable_format fmt, const uint8_t *table, size_t len,
		      int32_t firstlineno, uint32_t byte_offset, int32_t *line)
{
	struct cursor c;
	struct range r;
	int err;

	if (!line)
		return -EINVAL;
	err = cursor_init(&c, fmt, table, len, firstlineno);
	if (err)
		return err;
	/* Ranges start at 0 and are contiguous, so the first one ending past the offset holds
	 * it. */
	while ((err = cursor_next(&c, &r)) > 0) {
		if (byte_offset < r.end) {
			*line = r.line;
			return 0;
		}
	}
	return err ? err : -ENOENT;
}

static int report(hl_linetable_range_fn cb, const struct range *r, void *arg)
{
	uint32_t end = r->end == OPEN_END ? HL_LINETABLE_END_OPEN : (uint32_t)r->end;

	return cb((uint32_t)r->start, end, r->line, arg);
}

int hl_linetable_ranges(enum hl_linetable_format fmt, const uint8_t *table, size_t len,
			int32_t firstlineno, hl_linetable_range_fn cb, void *arg)
{
	struct range r, cur = {0};
	struct cursor c;
	bool have = false;
	int err;

	if (!cb)
		return -EINVAL;
	/* Check everything first, so that a caller building a cache from the callbacks never
	 * sees half a table. */
	err = cursor_init(&c, fmt, table, len, firstlineno);
	if (err)
		return err;
	while ((err = cursor_next(&c, &r)) > 0)
		;
	if (err)
		return err;

	cursor_init(&c, fmt, table, len, firstlineno);
	while ((err = cursor_next(&c, &r)) > 0) {
		if (have && r.line == cur.line) {
			cur.end = r.end;
			continue;
		}
		if (have) {
			err = report(cb, &cur, arg);
			if (err)
				return err;
		}
		cur = r;
		have = true;
	}
	if (err)
		return err;
	return have ? report(cb, &cur, arg) : 0;
}
