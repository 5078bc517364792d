/* tests/fuzz/fuzz_bytecode.c — libFuzzer target for report/bytecode.c.
 *
 * The bytecode and names of function_code were read from the profiled process, so any bytes
 * may arrive.  Beyond "no crash, no sanitizer report", it checks that the counts stay within
 * what the bytes can hold (at most one instruction per code unit) and that decoding stops at
 * or before the end.
 *
 * Input: byte 0 picks the version (mod the number of tables), byte 1 the length of the names
 * blob that follows the code, byte 2 whether local 0 is "self"; then the names, then the code.
 *
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *   tests/fuzz/fuzz_bytecode.c report/bytecode.c report/opcodes_table.c -o fuzz_bytecode
 */
#include "report/bytecode.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *names[64];
	struct hl_bytecode_stats s;
	struct hl_bytecode_iter it;
	struct hl_insn insn;
	size_t nr_tables = 0, names_len, nr_names, code_len, n = 0;
	const struct hl_opcodes *t;
	const uint8_t *code;

	if (size < 3)
		return 0;
	while (hl_opcodes_tables[nr_tables].ops)
		nr_tables++;
	t = &hl_opcodes_tables[data[0] % nr_tables];
	names_len = data[1] < size - 3 ? data[1] : size - 3;
	nr_names = hl_bytecode_split_names((const char *)data + 3, names_len, names, 64);
	code = data + 3 + names_len;
	code_len = size - 3 - names_len;
	if (hl_bytecode_analyze(t, code, code_len, names, nr_names, data[2] & 1 ? "self" : NULL,
				&s))
		abort();
	if (s.instructions > code_len / 2 || s.self_attr_loads > s.attr_loads ||
	    s.self_attr_in_loop > s.self_attr_loads || s.nr_self_attrs > HL_SELF_ATTRS_MAX ||
	    s.stop_offset > code_len)
		abort();
	hl_bytecode_iter_init(&it, t, code, code_len);
	while (hl_bytecode_next(&it, &insn) == 1) {
		if (insn.offset >= code_len || insn.next > code_len || insn.next <= insn.offset)
			abort();
		n++;
	}
	if (n != s.instructions)
		abort();
	return 0;
}
