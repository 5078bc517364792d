/* symbolize/x86insn.h — x86-64 instruction lengths and relative branch targets.
 *
 * Just enough decoding to walk a function's machine code instruction by instruction and see
 * where it jumps: symbolize/native.c finds the unnamed pieces of CPython's eval loop (the
 * `.cold` part of a stripped PGO build) from the jmp/jcc instructions of the named part.  A
 * byte-wise search for E9 / 0F 8x would also match bytes inside other instructions (immediates,
 * displacements), hence a real length decoder.  It knows the legacy, REX, VEX and EVEX
 * encodings of 64-bit mode; it does not name instructions or operands.
 *
 * Pure: no I/O, no allocation, no global state.  Reads at most 15 bytes and never past @size.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum hl_x86_branch {
	HL_X86_OTHER = 0, /* not a relative branch */
	HL_X86_JMP,	  /* jmp rel8 / rel32 */
	HL_X86_JCC,	  /* jcc rel8 / rel32, loop, jrcxz */
	HL_X86_CALL,	  /* call rel32 */
};

struct hl_x86_insn {
	unsigned length;	   /* 1..15 bytes */
	enum hl_x86_branch branch; /* relative branches only (indirect ones are HL_X86_OTHER) */
	int64_t rel;		   /* branch target = address of the instruction + length + rel */
};

/* Decodes the 64-bit mode instruction at @code, of which @size bytes are readable.  Returns
 * 0, -EINVAL for an invalid or unknown encoding (a caller walking code steps over one byte),
 * or -ENODATA when the instruction would run past @size or past 15 bytes. */
int hl_x86_decode(const uint8_t *code, size_t size, struct hl_x86_insn *insn);
