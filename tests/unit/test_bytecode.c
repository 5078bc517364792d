/* tests/unit/test_bytecode.c — report/bytecode.c on real bytecode and on broken bytes.
 *
 * The rows are bytecode of two methods taken from each interpreter after 2,000 calls (3.11+:
 * co_code_adaptive, so specialized opcodes are in it and must be mapped back), with the counts
 * read off `dis` by hand:
 *
 *     def m(self, xs):                       def g(self, *keys):
 *         t = 0                                  return all(isinstance(k, int)
 *         for x in xs:                                      for k, e in zip(self._keys, keys))
 *             if x > self.lim:
 *                 t += x
 *         return t
 *
 * (3.14 inlines all() over a generator expression into a loop in g, with a second branch.)
 * The bytes were printed by a throwaway script; regenerating them is not needed for the
 * tables to stay right — unit.opcodes_tables checks those against the interpreters.
 */
#include "report/bytecode.h"
#include "check.h"

#include <errno.h>
#include <stdlib.h>

enum { ZIP = 1 << 0, ALL = 1 << 1 };

static const struct row {
	unsigned major, minor;
	const char *hex;
	size_t len;
	const char *names; /* co_names, NUL-separated */
	const char *fn;
	unsigned loops, branches, compares, arith, calls, self_loads, self_in_loop;
	const char *self_attr;
	uint32_t builtins;
} rows[] = {
	{3, 8, "64017d027c0144005d167d037c037c006a006b0472087c027c0337007d0271087c025300", 36, "lim\0", "m", 1, 1, 1, 1, 0, 1, 1, "lim", 0},
	{3, 8, "740064016402840074017c006a027c0183024400830183015300", 26, "all\0zip\0_keys\0", "g", 0, 0, 0, 0, 3, 1, 0, "_keys", ZIP | ALL},
	{3, 10, "64017d027c0144005d0b7d037c037c006a006b04720f7c027c0337007d0271047c025300", 36, "lim\0", "m", 1, 1, 1, 1, 0, 1, 1, "lim", 0},
	{3, 10, "740064016402840074017c006a027c0183024400830183015300", 26, "all\0zip\0_keys\0", "g", 0, 0, 0, 0, 3, 1, 0, "_keys", ZIP | ALL},
	{3, 11, "96006401a1027c0144005d12a1032e037c0027008c880000000000001c043500030072052e027c03050d35007d0226137c025300", 52, "lim\0", "m", 1, 1, 1, 1, 0, 1, 1, "lim", 0},
	{3, 11, "96003001350008004d000000470064018400300335004f004d00000047007c00280235006001000000007c014002ba021602ba0200000000000044008f003500170010007e00000001004c013500160100000000000000005300", 90, "all\0zip\0_keys\0", "g", 0, 0, 0, 0, 3, 1, 0, "_keys", ZIP | ALL},
	{3, 12, "970064019a027c0144003e1740039a0358037c006a002c88000000000000000000000000000000003a44400373018c1358027c03070d40037d028c1904007c025300", 66, "lim\0", "m", 1, 1, 1, 1, 0, 1, 1, "lim", 0},
	{3, 12, "97006f01400308002f002800640184006f0340034f002f0028007c0049044003550002000000000000000000000000007c01ab024a02000000004400170040031903000028014003000000005300", 78, "all\0zip\0_keys\0", "g", 0, 0, 0, 0, 3, 1, 0, "_keys", ZIP | ALL},
	{3, 13, "cf0053016e0255011300bc1840036e035830c7004003550002002f000000d0cb12f5b17f0000b79440036402dbb64d1404015823970d40036e024d1a04010b00200055022400", 70, "lim\0", "m", 1, 1, 1, 1, 0, 1, 1, "lim", 0},
	{3, 13, "cf00cb01400330002a00080053011a00cb03400330002a004f005500c104400355000200000000000000000000000000550135024a02000000001300b1004003e6020000a8014003000000002400", 78, "all\0zip\0_keys\0", "g", 0, 0, 0, 0, 3, 1, 0, "_keys", ZIP | ALL},
	{3, 14, "c4005e00700256011000ac1d400370035730ba0040035300020030000000b03fba0000000000a79440036703dbb61c00b015fcff5723820d400300000000000000007002b01ffcff09001e0056022300", 80, "lim\0", "m", 1, 1, 1, 1, 0, 1, 1, "lim", 0},
	{3, 14, "c400c000400331002c0008003b0151034a00643000001c001f00bf001700c003400331002c004f005600b4044003530002001800000000000000000000005601a0024003000000001000a1004003d4020000ab0c4003cc00400300000000640300001c00b00bfcff1e005201230009001e00be0223002100520017005c03110000000000000056005004110000000000000000000000000000000000560134021100000000001000340011000000000034011100000000002300", 186, "all\0zip\0_keys\0", "g", 1, 2, 1, 0, 5, 2, 0, "_keys", ZIP | ALL},
};

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (hex[0] && hex[1] && n < max) {
		char b[3] = {hex[0], hex[1], 0};

		out[n++] = (uint8_t)strtoul(b, NULL, 16);
		hex += 2;
	}
	return n;
}

static void analyze(const struct hl_opcodes *t, const uint8_t *code, size_t len,
		    const char *names, size_t names_len, struct hl_bytecode_stats *s)
{
	const char *list[16];
	size_t n = hl_bytecode_split_names(names, names_len, list, 16);

	CHECK_INT(0, hl_bytecode_analyze(t, code, len, list, n, "self", s), "analyze");
}

static size_t names_len(const char *names)
{
	size_t len = 0;

	while (names[len]) /* each name ends with a NUL; an empty name ends the list */
		len += strlen(names + len) + 1;
	return len;
}

static void test_real_bytecode(void)
{
	uint8_t code[512];
	size_t i, len;
	char what[96];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		const struct hl_opcodes *t = hl_opcodes_find(r->major, r->minor);
		struct hl_bytecode_stats s;

		snprintf(what, sizeof(what), "%u.%u %s", r->major, r->minor, r->fn);
		CHECK(t != NULL, what);
		if (!t)
			continue;
		len = unhex(r->hex, code, sizeof(code));
		CHECK_INT(r->len, len, what);
		analyze(t, code, len, r->names, names_len(r->names), &s);
		CHECK_INT(0, s.stop, what);
		CHECK_INT(r->loops, s.loops, what);
		CHECK_INT(r->branches, s.branches, what);
		CHECK_INT(r->compares, s.compares, what);
		CHECK_INT(r->arith, s.arith, what);
		CHECK_INT(r->calls, s.calls, what);
		CHECK_INT(r->self_loads, s.self_attr_loads, what);
		CHECK_INT(r->self_in_loop, s.self_attr_in_loop, what);
		CHECK_INT(1, s.nr_self_attrs, what);
		CHECK_STR(r->self_attr, s.nr_self_attrs ? s.self_attrs[0] : NULL, what);
		CHECK_INT(r->builtins, s.builtins, what);
	}
}

/* Broken or unusual bytes: decoding stops or skips, never reads out of bounds (run under
 * ASan in the sanitizer build). */
static void test_failures(void)
{
	const struct hl_opcodes *t38 = hl_opcodes_find(3, 8), *t312 = hl_opcodes_find(3, 12);
	struct hl_bytecode_stats s;
	uint8_t code[512];
	size_t len;

	CHECK(hl_opcodes_find(3, 7) == NULL, "no table for 3.7");
	CHECK(hl_opcodes_find(2, 7) == NULL, "no table for 2.7");

	/* 3.12 INSTRUMENTED_LINE (254): the original opcode is in co_monitoring. */
	len = unhex("9700fe00", code, sizeof(code));
	analyze(t312, code, len, "", 0, &s);
	CHECK_INT(-EOPNOTSUPP, s.stop, "instrumented line stops decoding");
	CHECK_INT(2, s.stop_offset, "... at its offset");
	CHECK_INT(1, s.instructions, "... after RESUME");

	/* Opcode 0 does not exist in 3.8. */
	len = unhex("64010000", code, sizeof(code));
	analyze(t38, code, len, "", 0, &s);
	CHECK_INT(-EINVAL, s.stop, "unknown opcode stops decoding");

	/* Four EXTENDED_ARG (0x90) prefixes: no compiler makes them. */
	len = unhex("9001900190019001640153000", code, sizeof(code));
	analyze(t38, code, len, "", 0, &s);
	CHECK_INT(-EINVAL, s.stop, "four EXTENDED_ARGs stop decoding");

	/* g on 3.8 with co_names cut to "all": the zip and _keys indexes are out of range. */
	len = unhex(rows[1].hex, code, sizeof(code));
	analyze(t38, code, len, "all\0", 4, &s);
	CHECK_INT(ALL, s.builtins, "out-of-range name indexes are skipped");
	CHECK_INT(0, s.self_attr_loads, "... also for attributes");

	/* A name list whose last name has no NUL: the fragment is dropped. */
	{
		const char *list[4];

		CHECK_INT(1, hl_bytecode_split_names("all\0zi", 6, list, 4), "split drops a tail");
		CHECK_INT(0, hl_bytecode_split_names("abc", 3, list, 4), "split without NUL");
	}

	/* m on 3.12 cut inside LOAD_ATTR's cache units and at an odd length. */
	len = unhex(rows[6].hex, code, sizeof(code));
	CHECK_INT(12, rows[6].minor, "row 6 is 3.12's m");
	analyze(t312, code, 27, "lim\0", 4, &s);
	CHECK_INT(0, s.stop, "a cut copy ends decoding quietly");
	/* RESUME .. LOAD_FAST self, then LOAD_ATTR at 20 whose cache units are cut off. */
	CHECK_INT(10, s.instructions, "a cut copy decodes its prefix");
	CHECK_INT(0, s.loops, "the cut copy holds no backward jump");

	/* A backward jump to before the code (arg too large) is no loop to crash on. */
	len = unhex("97008cff", code, sizeof(code));
	analyze(t312, code, len, "", 0, &s);
	CHECK_INT(0, s.loops, "jump before the code is not a loop");

	CHECK_INT(-EINVAL, hl_bytecode_analyze(NULL, code, 2, NULL, 0, NULL, &s), "NULL table");
}

int main(void)
{
	test_real_bytecode();
	test_failures();
	return check_done();
}
