/* tests/fuzz/fuzz_ehframe.c — libFuzzer target for symbolize/ehframe.c (.eh_frame and
 * .debug_frame FDE ranges).
 *
 * The sections come from binaries a target maps, so any bytes may arrive.  Beyond "no crash,
 * no sanitizer report", the target aborts when an invariant breaks:
 *   - hl_fde_table__parse returns 0, -EINVAL or -ENOMEM;
 *   - after hl_fde_table__finish the ranges are non-empty, sorted by strictly increasing
 *     start, and none starts at 0;
 *   - hl_fde_table__find finds each range by its start, and never returns a range that does
 *     not contain the address;
 *   - parsing the same bytes twice into one table (as two sections) and finishing gives the
 *     same table as once.
 *
 * Input: byte 0 chooses the kind (bit 0: .debug_frame) and the address size (bit 1: 4 bytes),
 * bytes 1-8 the section's address (little endian), the rest is the section.
 *
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *   tests/fuzz/fuzz_ehframe.c symbolize/ehframe.c -o fuzz_ehframe
 */
#include "symbolize/ehframe.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hl_fde_table once = {0}, twice = {0};
	enum hl_ehframe_kind kind;
	unsigned addr_size;
	uint64_t vaddr;
	int ret;

	if (size < 9)
		return 0;
	kind = data[0] & 1 ? HL_DEBUG_FRAME : HL_EHFRAME;
	addr_size = data[0] & 2 ? 4 : 8;
	memcpy(&vaddr, data + 1, 8);
	data += 9;
	size -= 9;

	ret = hl_fde_table__parse(&once, data, size, vaddr, addr_size, kind);
	if (ret && ret != -EINVAL && ret != -ENOMEM)
		abort();
	hl_fde_table__finish(&once);
	for (size_t i = 0; i < once.count; i++) {
		const struct hl_fde_range *r = &once.ranges[i];

		if (!r->start || r->end <= r->start || (i && r->start <= once.ranges[i - 1].start))
			abort();
		if (hl_fde_table__find(&once, r->start) != r)
			abort();
		r = hl_fde_table__find(&once, once.ranges[i].end);
		if (r && (once.ranges[i].end < r->start || once.ranges[i].end >= r->end))
			abort();
	}
	hl_fde_table__parse(&twice, data, size, vaddr, addr_size, kind);
	hl_fde_table__parse(&twice, data, size, vaddr, addr_size, kind);
	hl_fde_table__finish(&twice);
	if (twice.count != once.count ||
	    (once.count && memcmp(twice.ranges, once.ranges, once.count * sizeof(*once.ranges))))
		abort();
	hl_fde_table__release(&once);
	hl_fde_table__release(&twice);
	return 0;
}
