/* tests/fuzz/fuzz_maps.c — libFuzzer target for symbolize/maps.c (/proc/PID/maps text).
 *
 * Maps text comes from procfs of a process we do not control (its file names are chosen by
 * it), so any bytes may arrive.  Beyond "no crash, no sanitizer report", the target aborts
 * when an invariant breaks:
 *   - hl_maps__parse returns 0 or -EINVAL, and on -EINVAL leaves an empty struct;
 *   - on success there is one mapping per non-empty line, each with start <= end and a path
 *     inside the parsed text that does not start with a space;
 *   - every mapping, printed back in procfs's format and parsed again, gives the same fields
 *     (so nothing is half-parsed or read from the wrong column);
 *   - hl_maps__find never returns a mapping that does not contain the address, and when the
 *     mappings are sorted and disjoint (as procfs writes them) it finds each one by its first
 *     and its last byte.
 *
 * Input: the text; it is cut at the first NUL, as a C string from procfs would be.
 *
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *   tests/fuzz/fuzz_maps.c symbolize/maps.c common/util.c -o fuzz_maps
 */
#define _GNU_SOURCE
#include "symbolize/maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t count_lines(const char *text)
{
	size_t n = 0;
	const char *line = text;

	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		n += len > 0;
		if (!nl)
			break;
		line = nl + 1;
	}
	return n;
}

static bool same(const struct hl_mapping *a, const struct hl_mapping *b)
{
	return a->start == b->start && a->end == b->end && a->offset == b->offset &&
	       a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && a->readable == b->readable &&
	       a->writable == b->writable && a->executable == b->executable &&
	       a->deleted == b->deleted && !strcmp(a->path, b->path);
}

/* Prints @m as procfs would and parses it again. */
static void roundtrip(const struct hl_mapping *m)
{
	struct hl_maps again;
	char *line;
	int n;

	n = asprintf(&line,
		     "%" PRIx64 "-%" PRIx64 " %c%c%cp %08" PRIx64 " %02" PRIx32 ":%02" PRIx32
		     " %" PRIu64 " %s%s\n",
		     m->start, m->end, m->readable ? 'r' : '-', m->writable ? 'w' : '-',
		     m->executable ? 'x' : '-', m->offset, m->dev_major, m->dev_minor, m->inode,
		     m->path, m->deleted ? " (deleted)" : "");
	if (n < 0)
		abort();
	if (hl_maps__parse(&again, line) || again.count != 1 || !same(m, &again.entries[0]))
		abort();
	hl_maps__release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct hl_maps maps;
	size_t i, len, lines;
	bool ordered = true;
	int err;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	len = strlen(text);
	lines = count_lines(text);

	err = hl_maps__parse(&maps, text); /* owns text from here */
	if (err) {
		if (err != -EINVAL || maps.entries || maps.text || maps.count)
			abort();
		hl_maps__release(&maps);
		return 0;
	}
	if (maps.count != lines)
		abort();
	for (i = 0; i < maps.count; i++) {
		const struct hl_mapping *m = &maps.entries[i];

		if (m->start > m->end || !m->path || m->path < maps.text ||
		    m->path > maps.text + len || m->path[0] == ' ')
			abort();
		if (m->start == m->end || (i && maps.entries[i - 1].end > m->start))
			ordered = false;
		roundtrip(m);
	}
	for (i = 0; i < maps.count; i++) {
		const struct hl_mapping *m = &maps.entries[i];
		const uint64_t probes[] = {m->start, m->end - 1, m->end, m->start - 1,
					   m->start + (m->end - m->start) / 2};
		size_t k;

		for (k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
			const struct hl_mapping *f = hl_maps__find(&maps, probes[k]);

			if (f && (f < maps.entries || f >= maps.entries + maps.count ||
				  probes[k] < f->start || probes[k] >= f->end))
				abort();
		}
		if (ordered &&
		    (hl_maps__find(&maps, m->start) != m || hl_maps__find(&maps, m->end - 1) != m))
			abort();
	}
	hl_maps__release(&maps);
	return 0;
}
