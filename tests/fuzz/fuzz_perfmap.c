/* tests/fuzz/fuzz_perfmap.c — libFuzzer target for symbolize/perfmap.c (perf map files).
 *
 * A perf map is written by the profiled process, so any bytes may arrive, in any pieces (the
 * loader reads a growing file).  Beyond "no crash, no sanitizer report", the target aborts
 * when an invariant breaks:
 *   - hl_perfmap__parse consumes at most what it was given, and what it consumed ends with a
 *     newline unless it skipped an overlong line;
 *   - feeding the input whole or in pieces (the rest of each piece carried into the next, as
 *     the loader does) gives the same table: same count and same answers;
 *   - every answer of hl_perfmap__find contains the address and has a non-empty name without
 *     a newline, and each entry is found by its first and last byte;
 *   - hl_perfmap_parse_nspid returns 0 only with a positive pid.
 *
 * Input: byte 0 and 1 choose two cut points (as fractions of the rest), the rest is the text.
 *
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_perfmap.c \
 *   symbolize/perfmap.c symbolize/strpool.c common/hashmap.c -o fuzz_perfmap
 */
#define _GNU_SOURCE
#include "symbolize/perfmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_sym(const struct hl_perfmap_sym *s, uint64_t addr)
{
	if (!s)
		return;
	if (addr < s->start || addr >= s->end || !s->name || !s->name[0] || strchr(s->name, '\n'))
		abort();
}

/* Parses @text in pieces cut at @cuts, carrying the unconsumed rest like the loader. */
static struct hl_perfmap *parse_pieces(const char *text, size_t len, const size_t *cuts,
				       unsigned ncuts)
{
	struct hl_perfmap *pm = hl_perfmap__new();
	size_t from = 0; /* first byte not consumed */

	if (!pm)
		abort();
	for (unsigned i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		ssize_t used;

		if (to < from)
			continue;
		used = hl_perfmap__parse(pm, text + from, to - from);
		if (used < 0 || (size_t)used > to - from)
			abort();
		from += (size_t)used;
	}
	return pm;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hl_perfmap *whole, *pieces;
	const char *text;
	size_t len, cuts[2];
	pid_t pid;

	if (size < 2)
		return 0;
	text = (const char *)data + 2;
	len = size - 2;
	cuts[0] = len * data[0] / 256;
	cuts[1] = cuts[0] + (len - cuts[0]) * data[1] / 256;

	whole = parse_pieces(text, len, NULL, 0);
	pieces = parse_pieces(text, len, cuts, 2);
	if (hl_perfmap__count(whole) != hl_perfmap__count(pieces))
		abort();
	/* Probe addresses taken from the input, and every entry's ends. */
	for (size_t i = 0; i + 8 <= len; i += 7) {
		uint64_t addr;
		const struct hl_perfmap_sym *a, *b;

		memcpy(&addr, text + i, 8);
		addr &= 0xffffff; /* near the small numbers the text can spell */
		a = hl_perfmap__find(whole, addr);
		b = hl_perfmap__find(pieces, addr);
		check_sym(a, addr);
		check_sym(b, addr);
		if (!a != !b || (a && (a->start != b->start || strcmp(a->name, b->name))))
			abort();
	}
	if (!hl_perfmap_parse_nspid(text, len, &pid) && pid <= 0)
		abort();
	hl_perfmap__free(whole);
	hl_perfmap__free(pieces);
	return 0;
}
