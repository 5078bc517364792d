/* report/bytecode.h — decoding CPython bytecode recorded from a target (table function_code)
 * into the bytecode evidence of `hotloop candidates` (docs/candidates.md, "Bytecode evidence").
 *
 * The opcode tables are generated from each interpreter's own `opcode`/`dis` modules by
 * report/opcodes_gen.py (report/opcodes_table.c).  3.11+ rewrite instructions in place
 * (specialized and instrumented opcodes): every opcode is mapped back to the base opcode the
 * compiler emitted before it is looked at.  An opcode whose original is kept elsewhere
 * (INSTRUMENTED_LINE, INSTRUMENTED_INSTRUCTION, ENTER_EXECUTOR) ends decoding: the number of
 * cache units after it is unknown, so nothing after it can be trusted.
 *
 * The bytes come from the target and may be anything: decoding is bounded by the buffer and
 * an instruction or name index out of range is skipped or ends decoding, never read.
 * Reading the store is the caller's job.  Pure functions, no allocation.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	HL_OP_OPAQUE = 1 << 0, /* original opcode kept elsewhere: decoding stops */
	HL_OP_JABS = 1 << 1,   /* jump to an absolute target (≤3.10) */
	HL_OP_JREL = 1 << 2,   /* jump relative to the next instruction */
	HL_OP_BACK = 1 << 3,   /* ... backwards (3.11+) */
	HL_OP_COND = 1 << 4,   /* conditional jump: a branch */
	HL_OP_CMP = 1 << 5,    /* COMPARE_OP, IS_OP, CONTAINS_OP */
	HL_OP_ARITH = 1 << 6,  /* BINARY_*, INPLACE_*, UNARY_* but subscripts and slices */
};

struct hl_opinfo {
	const char *name; /* NULL: no such opcode in this version */
	uint8_t base;	  /* the opcode the compiler emitted (itself for base opcodes) */
	uint8_t caches;	  /* inline cache units after it (3.11+) */
	uint8_t flags;	  /* HL_OP_* of the base opcode */
};

struct hl_opcodes {
	unsigned major, minor;
	const struct hl_opinfo *ops; /* [256] */
};

/* Generated tables, ended by an entry with ops NULL. */
extern const struct hl_opcodes hl_opcodes_tables[];

/* The table of @major.@minor, or NULL. */
const struct hl_opcodes *hl_opcodes_find(unsigned major, unsigned minor);

struct hl_insn {
	uint32_t offset;  /* bytes from the start of the code, of the instruction itself */
	uint8_t op;	  /* the base opcode */
	uint32_t arg;	  /* with EXTENDED_ARG prefixes applied */
	const char *name; /* the base opcode's name */
	uint8_t flags;	  /* HL_OP_* */
	uint32_t next;	  /* offset of the next instruction (after cache units) */
};

struct hl_bytecode_iter {
	const struct hl_opcodes *t;
	const uint8_t *code;
	size_t len;
	size_t pos;
};

void hl_bytecode_iter_init(struct hl_bytecode_iter *it, const struct hl_opcodes *t,
			   const uint8_t *code, size_t len);
/* The next instruction.  Returns 1 with *@out set, 0 at the end of the code, -EOPNOTSUPP at
 * an opaque opcode and -EINVAL at an opcode the version does not have (both end decoding;
 * it->pos is the offset where it stopped). */
int hl_bytecode_next(struct hl_bytecode_iter *it, struct hl_insn *out);

/* The jump target of @insn in bytes, or -1 when it is not a jump. */
int64_t hl_bytecode_jump_target(const struct hl_opcodes *t, const struct hl_insn *insn);

/* The co_names index an instruction refers to (LOAD_GLOBAL, LOAD_NAME, LOAD_ATTR,
 * LOAD_METHOD, STORE_ATTR), or -1. */
int64_t hl_bytecode_name_index(const struct hl_opcodes *t, const struct hl_insn *insn);

/* The generic builtins looked for (LOAD_GLOBAL / LOAD_NAME of these names). */
#define HL_GENERIC_BUILTINS_N 9
extern const char *const hl_generic_builtins[HL_GENERIC_BUILTINS_N];

#define HL_SELF_ATTRS_MAX 6

struct hl_bytecode_stats {
	unsigned instructions;
	unsigned loops;	   /* distinct targets of backward jumps */
	unsigned branches; /* conditional jumps */
	unsigned compares;
	unsigned arith;
	unsigned calls;
	unsigned attr_loads;	    /* LOAD_ATTR / LOAD_METHOD */
	unsigned self_attr_loads;   /* ... on local 0 named "self" */
	unsigned self_attr_in_loop; /* ... inside a loop body */
	uint32_t builtins;	    /* bit i: hl_generic_builtins[i] is loaded */
	uint32_t stored_locals;	    /* bit i: local slot i (< 32) is stored to or deleted: an
				       argument there is rebound, not what the caller passed */
	const char *self_attrs[HL_SELF_ATTRS_MAX]; /* distinct names, borrowed from @names */
	size_t nr_self_attrs;
	int stop; /* 0, or why decoding stopped early (-EOPNOTSUPP, -EINVAL) */
	uint32_t stop_offset;
};

/* Splits @names (NUL-terminated strings back to back, @len bytes) into @out, at most @max;
 * a trailing fragment without NUL is dropped.  Returns the count. */
size_t hl_bytecode_split_names(const char *names, size_t len, const char **out, size_t max);

/**
 * hl_bytecode_analyze() - counts what makes a function generic.
 * @t: the version's opcodes.  @code, @len: the bytecode.
 * @names, @nr_names: co_names.  @first_local: the name of local 0, or NULL.
 * @out: receives the counts; names in it are borrowed from @names.
 * Return: 0 (also when decoding stopped early: see @out->stop), -EINVAL for NULL arguments.
 */
int hl_bytecode_analyze(const struct hl_opcodes *t, const uint8_t *code, size_t len,
			const char *const *names, size_t nr_names, const char *first_local,
			struct hl_bytecode_stats *out);
