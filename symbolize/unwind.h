/* symbolize/unwind.h — native unwinding of a copied user stack with DWARF CFI.
 *
 * The sampler hands user space the interrupted thread's registers and a copy of its stack from
 * the stack pointer upward (collector/sample.h).  This module turns that into the list of
 * return addresses, without frame pointers: the CFI of each binary (.eh_frame, else
 * .debug_frame) is read with libdw once per (binary, pc) and compiled into a small rule —
 * CFA = register + offset, each callee-saved register and the return address "saved at
 * CFA + offset", "unchanged" or "undefined" — cached on the binary (symbolize/binary.h), so a
 * library mapped by a thousand processes is analysed once and a steady-state step is a hash
 * lookup and a few reads from the copy.  Rare rules (PLT entries, signal frames, realigned
 * stacks) keep their DWARF expression and are evaluated by a small bounded interpreter.  Code
 * without CFI is crossed with its frame pointer when it keeps one (JIT code, CPython 3.14's
 * `-X perf` trampolines); the trampolines of 3.12 and 3.13, which keep none, are recognised
 * by their bytes.
 *
 * Not responsible for naming the addresses (symbolize/native.c) nor for obtaining the copy.
 * The copy is controlled by the target: every read is checked against it, every walk is
 * bounded, and a walk that cannot reach the thread's root says why it stopped.
 *
 * x86-64 only for now.  Not thread-safe: the per-binary caches are shared by every process
 * that maps the binary, so one thread symbolizes at a time (like the binary cache itself).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hl_addrspace;
struct hl_binary;

/* x86-64 DWARF register numbers, the order of collector/sample.h's register block. */
enum hl_unwind_reg {
	HL_REG_RAX = 0,
	HL_REG_RDX = 1,
	HL_REG_RCX = 2,
	HL_REG_RBX = 3,
	HL_REG_RSI = 4,
	HL_REG_RDI = 5,
	HL_REG_RBP = 6,
	HL_REG_RSP = 7,
	HL_REG_R8 = 8,
	HL_REG_R15 = 15,
	HL_REG_RIP = 16, /* also the return-address column of the CFI */
	HL_UNWIND_NREGS = 17,
};

struct hl_unwind_regs {
	uint64_t r[HL_UNWIND_NREGS]; /* DWARF order */
};

/* Why a walk stopped.  Only HL_UNWIND_ROOT is a complete stack. */
enum hl_unwind_end {
	HL_UNWIND_ROOT,	      /* reached the thread's first frame (_start, clone3) */
	HL_UNWIND_STACK_END,  /* a rule needs bytes past the end of the copy */
	HL_UNWIND_NO_INFO,    /* no CFI for a pc, and no usable frame pointer */
	HL_UNWIND_BAD,	      /* an implausible step: CFA not increasing, return address outside
			       * executable memory, unreadable rule, bad registers */
	HL_UNWIND_MAX_FRAMES, /* more frames than the caller's array holds */
	HL_UNWIND_END_COUNT,
};

enum hl_unwind_frame_flags {
	/* pcs[i] is where the thread was (frame 0, or the frame a signal interrupted), not a
	 * return address: do not apply the pc - 1 rule when symbolizing it. */
	HL_UNWIND_EXACT_PC = 1,
	/* pcs[i] was found through the frame pointer of the frame below, which had no CFI. */
	HL_UNWIND_FP = 2,
};

/* Frames a walk follows through signal handlers at most (a signal frame may move the stack
 * pointer anywhere, so this bounds the only steps that do not strictly climb the stack). */
#define HL_UNWIND_MAX_SIGNAL_FRAMES 8

/**
 * hl_unwind() - walks a thread's native stack from a sample.
 * @as:		 the process's code (file mappings, [vdso], anonymous executable memory).  An
 *		 address outside every known mapping triggers at most one refresh (see
 *		 hl_addrspace__find).
 * @regs:	 the user registers at the sample, DWARF order; r[HL_REG_RSP] is where @stack
 *		 starts.
 * @stack:	 @stack_len bytes copied from r[HL_REG_RSP] upward (may be NULL when 0).
 * @stack_at_top: the copy ends at the top of the stack mapping (it is shorter than asked
 *		 because the next page is not the stack's), so a frame whose CFA is exactly the
 *		 end of the copy is the thread's root.
 * @pcs:	 receives pcs[0] = the interrupted rip, then the return addresses outward.
 * @flags:	 receives enum hl_unwind_frame_flags per frame; may be NULL.
 * @max:	 capacity of @pcs (and @flags), at least 1.
 * @n:		 receives the number of frames written (at least 1 on success).
 * @end:	 receives why the walk stopped.
 *
 * A truncated walk is not an error: the frames found are returned with the reason.
 *
 * Return: 0, or -EINVAL for bad arguments (NULL pointers, @max == 0).
 */
int hl_unwind(struct hl_addrspace *as, const struct hl_unwind_regs *regs, const void *stack,
	      size_t stack_len, bool stack_at_top, uint64_t *pcs, uint8_t *flags, unsigned max,
	      unsigned *n, enum hl_unwind_end *end);

/* "root", "stack-end", "no-unwind-info", "bad-step", "max-frames": short words for
 * "[truncated: ...]" markers and counters.  "?" for values out of range. */
const char *hl_unwind_end_name(enum hl_unwind_end end);

/**
 * hl_unwind_rule_describe() - the compiled rule at a binary's file address, as text.
 * @binary:	the binary (its table is filled if needed).
 * @vaddr:	file virtual address of the instruction (already pc - 1 for return addresses).
 * @buf, @size:	receives e.g. "cfa=rsp+16 ra=[cfa-8] rbp=[cfa-16]" or "cfa=expr ra=[cfa-8]";
 *		"signal" is appended for signal frames.
 *
 * For tests, debugging and `hotloop doctor`-style explanations.
 *
 * Return: 0, -ENOENT when no CFI covers @vaddr, -ENOTSUP when the CFI there cannot be used
 * (an unsupported or absurd rule), -ENOMEM.
 */
int hl_unwind_rule_describe(struct hl_binary *binary, uint64_t vaddr, char *buf, size_t size);

/* Statistics of one binary's table, for tests and status: pcs cached, distinct rules and
 * expressions held, lookups served from the cache and compiled with libdw.  Zero when the
 * table was never filled. */
struct hl_unwind_table_stats {
	uint64_t pcs, rules, exprs;
	uint64_t hits, misses;
};
void hl_unwind_table_stats(const struct hl_binary *binary, struct hl_unwind_table_stats *st);

/* Frees a binary's table (binary.c calls this with the binary).  Accepts NULL. */
struct hl_unwind_table;
void hl_unwind_table__free(struct hl_unwind_table *table);
