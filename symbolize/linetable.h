/* symbolize/linetable.h — CPython line tables: bytecode offset -> source line.
 *
 * The BPF side records, per Python frame, the code object and the offset of the instruction
 * being executed; this module turns the offset into a line using the code object's line-table
 * bytes and co_firstlineno, which the caller has read from the target.  It decodes the three
 * formats CPython 3.8+ uses and gives exactly the answers CPython's own PyCode_Addr2Line gives
 * (checked against every interpreter by tests/unit/test_linetable.c and the fixtures of
 * tests/fixtures/linetable/generate.py).  Reading the bytes, caching results and deciding
 * which code object a frame runs are not its job.
 *
 * The table comes from an untrusted process: decoding is bounded by @len, never reads past
 * it, and has no undefined behaviour on any input.  Functions are pure (no I/O, no allocation,
 * no global state) and thread-safe.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum hl_linetable_format {
	/* 3.8-3.9 co_lnotab: pairs (unsigned byte address delta, signed byte line delta). */
	HL_LINETABLE_LNOTAB,
	/* 3.10 co_linetable (PEP 626): pairs (unsigned byte range length in bytes, signed
	 * byte line delta), a delta of -128 meaning "no line" for that range. */
	HL_LINETABLE_310,
	/* 3.11+ co_linetable location table: variable-length entries of 1-8 code units. */
	HL_LINETABLE_311,
};

/* The line of an instruction that has none (3.10 delta -128, 3.11+ code 15; CPython's
 * f_lineno is None there).  It is CPython's own value: PyCode_Addr2Line returns -1 for these,
 * so a line that *computes* to -1 (possible only in crafted tables) is also "none", in CPython
 * and here.  Other negative lines are returned as computed, as CPython does. */
#define HL_LINE_NONE (-1)

/* end_byte of the last range of an lnotab table, which does not record where the bytecode
 * ends: the range extends to the end of the code. */
#define HL_LINETABLE_END_OPEN UINT32_MAX

/* The format of CPython @major.@minor: 3.8/3.9 -> LNOTAB, 3.10 -> 310, 3.11 and later -> 311.
 * Versions before 3.8 map to LNOTAB (3.6/3.7 use the same format; 2.x, whose line deltas were
 * unsigned, is not supported); checking that a version is supported is the caller's job. */
enum hl_linetable_format hl_linetable_format_for(unsigned major, unsigned minor);

/**
 * hl_linetable_line() - the source line of the instruction at a bytecode offset.
 * @fmt: the table's format (hl_linetable_format_for()).
 * @table: the line-table bytes (co_lnotab or co_linetable), borrowed for the call; may be
 *         NULL when @len is 0 (an empty table).
 * @len: number of bytes in @table.
 * @firstlineno: the code object's co_firstlineno.
 * @byte_offset: offset in bytes into the bytecode of the instruction:
 *   - 3.8/3.9: f_lasti, which is already in bytes;
 *   - 3.10: f_lasti * 2 (f_lasti counts 2-byte code units);
 *   - 3.11/3.12: (prev_instr - co_code_adaptive) * 2, the last code unit started, which may be
 *     an inline CACHE unit: table entries cover CACHE units with their instruction's line;
 *   - 3.13+: (instr_ptr - co_code_adaptive) * 2, the instruction being executed.
 *   A *negative* index (3.8-3.10 f_lasti == -1, 3.11/3.12 prev_instr one unit before the
 *   code: a frame that has not run its first instruction) cannot be passed: the caller
 *   reports @firstlineno, which is what CPython reports for every negative offset in every
 *   version.  Do not clamp it to 0: offset 0 usually has a different line (the first body
 *   line, not the "def" line).
 * @line: receives the line, or HL_LINE_NONE.
 *
 * Return: 0 with *@line set; -ENOENT when @byte_offset lies past the ranges the table
 * describes (3.10+; CPython answers -1 there too, and a compiler-made table always covers the
 * whole code, so -ENOENT means a stale offset or a torn read); -EINVAL for malformed bytes
 * (odd length for 3.8-3.10; 3.11+: an entry not starting with bit 7 set, a truncated entry, a
 * varint longer than the 32 bits CPython writes) or ranges past 2 GiB (CPython code sizes are
 * ints), for a NULL @line, for a NULL @table with @len > 0 and for an unknown @fmt.  *@line is
 * untouched on error.
 *
 * An lnotab does not record where the code ends, so for LNOTAB every offset past the last
 * entry gets the last line (as in CPython) and -ENOENT never happens.
 * Only the bytes up to the entry containing @byte_offset are decoded (and checked): a table
 * malformed further on still answers for earlier offsets, whereas hl_linetable_ranges()
 * rejects it.  So a table copied only in part still gives right answers for the offsets its
 * complete entries cover (-ENOENT or -EINVAL past them), except an lnotab, whose copied
 * prefix gives offsets past it the last copied line: callers must not trust lnotab answers
 * from a cut copy.
 * Line arithmetic wraps modulo 2^32 like CPython's (built with -fwrapv).
 */
int hl_linetable_line(enum hl_linetable_format fmt, const uint8_t *table, size_t len,
		      int32_t firstlineno, uint32_t byte_offset, int32_t *line);

/* Called by hl_linetable_ranges() for [@start_byte, @end_byte) having @line (or HL_LINE_NONE).
 * Returns 0 to continue; anything else stops the walk and is returned by hl_linetable_ranges
 * (use a negative errno). */
typedef int (*hl_linetable_range_fn)(uint32_t start_byte, uint32_t end_byte, int32_t line,
				     void *arg);

/**
 * hl_linetable_ranges() - walk a table's address ranges in order, for per-line reports.
 * @fmt, @table, @len, @firstlineno: as for hl_linetable_line().
 * @cb: called once per range; must not be NULL.  @arg is passed through.
 *
 * The ranges are non-empty, contiguous from byte 0 and maximal: adjacent ranges with the same
 * line are merged (as 3.12+ co_lines() does; 3.10/3.11 co_lines() does not merge) and
 * "no line" ranges are reported with HL_LINE_NONE.  For every offset inside a range,
 * hl_linetable_line() returns that range's line.  The last range of an LNOTAB table ends at
 * HL_LINETABLE_END_OPEN; the caller clips it to the code size.  An empty 3.10+ table has no
 * ranges; an empty lnotab has one, [0, END_OPEN) at @firstlineno.
 *
 * The whole table is checked before the first call of @cb, so on -EINVAL @cb has not been
 * called (all or nothing).
 *
 * Return: 0 when every range was reported; -EINVAL as for hl_linetable_line() and for a NULL
 * @cb; otherwise the non-zero value @cb returned.
 */
int hl_linetable_ranges(enum hl_linetable_format fmt, const uint8_t *table, size_t len,
			int32_t firstlineno, hl_linetable_range_fn cb, void *arg);
