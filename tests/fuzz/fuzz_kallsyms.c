/* tests/fuzz/fuzz_kallsyms.c — libFuzzer target for symbolize/kallsyms.c (/proc/kallsyms).
 *
 * The kernel writes /proc/kallsyms, but the parser also reads files a user hands it (a saved
 * kallsyms of another machine), so any bytes may arrive.  Beyond "no crash, no sanitizer
 * report", the target aborts when an invariant breaks:
 *   - hl_kallsyms__parse returns 0 with a table, or -EPERM/-ENOENT/-ENOMEM without one;
 *   - every answer of hl_kallsyms__find contains the address (start <= addr < end), has a
 *     name, and a module that is NULL or non-empty;
 *   - an address that starts a text symbol of a line the parser accepted is found with that
 *     start.
 *
 * Input: the text.
 *
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *   tests/fuzz/fuzz_kallsyms.c symbolize/kallsyms.c symbolize/strpool.c common/hashmap.c \
 *   common/log.c common/util.c -o fuzz_kallsyms -lm
 */
#define _GNU_SOURCE
#include "symbolize/kallsyms.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct hl_kallsyms *ks = NULL;
	int err = hl_kallsyms__parse(text, size, &ks);
	size_t pos = 0;

	if (err) {
		if (ks || (err != -EPERM && err != -ENOENT && err != -ENOMEM))
			abort();
		return 0;
	}
	if (!ks || !hl_kallsyms__count(ks))
		abort();
	while (pos < size) {
		const char *nl = memchr(text + pos, '\n', size - pos);
		size_t end = nl ? (size_t)(nl - text) : size;
		char line[64];
		unsigned long long addr;
		char type;
		const struct hl_ksym *s;

		/* A simple well-formed text line: 16 hex digits, one space, a text type, one
		 * space, a name of printable bytes and nothing after it. */
		if (end - pos > 19 && end - pos < sizeof(line)) {
			size_t n = end - pos;
			bool simple;

			memcpy(line, text + pos, n);
			line[n] = '\0';
			type = line[17];
			simple =
			    strspn(line, "0123456789abcdefABCDEF") == 16 && line[16] == ' ' &&
			    line[18] == ' ' && strchr("tTwW", type) && type &&
			    strspn(line + 19, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					      "0123456789_.$") == n - 19;
			if (simple && sscanf(line, "%16llx", &addr) == 1 && addr) {
				s = hl_kallsyms__find(ks, addr);
				if (!s || s->start != addr)
					abort();
			}
		}
		for (size_t k = 0; k < 3 && end - pos >= 8; k++) {
			uint64_t probe;

			memcpy(&probe, text + pos, 8);
			probe += k * 0x1000;
			s = hl_kallsyms__find(ks, probe);
			if (s && (probe < s->start || probe >= s->end || !s->name ||
				  (s->module && !s->module[0])))
				abort();
		}
		pos = end + 1;
	}
	hl_kallsyms__free(ks);
	return 0;
}
