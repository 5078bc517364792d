/* tests/fuzz/fuzz_x86insn.c — libFuzzer target for symbolize/x86insn.c.
 *
 * The decoder walks machine code of binaries a target maps, which may be anything.  Beyond
 * "no crash, no sanitizer report", the target aborts when an invariant breaks, at every
 * offset of the input:
 *   - a decoded instruction is 1..15 bytes and fits in what was given;
 *   - its length and branch do not depend on the bytes after it: decoding exactly its own
 *     bytes gives the same answer, and so does decoding them followed by other bytes;
 *   - a failure is -EINVAL or -ENODATA, and -ENODATA never turns into success with fewer
 *     bytes.
 *
 * Input: machine code.
 *
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *   tests/fuzz/fuzz_x86insn.c symbolize/x86insn.c -o fuzz_x86insn
 */
#include "symbolize/x86insn.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t off = 0; off < size; off++) {
		struct hl_x86_insn a, b;
		uint8_t copy[32];
		int ret = hl_x86_decode(data + off, size - off, &a);

		if (ret) {
			if (ret != -EINVAL && ret != -ENODATA)
				abort();
			if (ret == -ENODATA && size - off > 1 &&
			    !hl_x86_decode(data + off, size - off - 1, &b))
				abort();
			continue;
		}
		if (a.length < 1 || a.length > 15 || a.length > size - off)
			abort();
		if (a.branch == HL_X86_OTHER && a.rel)
			abort();
		if (hl_x86_decode(data + off, a.length, &b) || b.length != a.length ||
		    b.branch != a.branch || b.rel != a.rel)
			abort();
		memcpy(copy, data + off, a.length);
		memset(copy + a.length, 0xcc, sizeof(copy) - a.length);
		if (hl_x86_decode(copy, sizeof(copy), &b) || b.length != a.length ||
		    b.branch != a.branch || b.rel != a.rel)
			abort();
	}
	return 0;
}
