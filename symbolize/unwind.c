/* symbolize/unwind.c — see unwind.h.
 *
 * A step from one frame to its caller:
 *   1. the module of the pc (for a return address, of pc - 1: a call to a noreturn function
 *      can be the last instruction of a function, so the return address is the next one's);
 *   2. the rule at that file address, from the binary's table: a hash lookup, or on a miss
 *      dwarf_cfi_addrframe() plus compile() — libdw executes the CFI program, we keep the
 *      outcome as a `struct rule` (interned: the call sites of a function share one);
 *   3. CFA, return address and the callee-saved registers from the rule and the copy;
 *   4. plausibility: the CFA climbs the stack (except through a signal frame, which may
 *      switch stacks), the return address lies in executable memory.
 * Without a rule (no binary, no FDE, an unusable rule): a known code stub in anonymous
 * memory (CPython's perf trampolines), else the frame pointer.
 *
 * Registers carry a validity bit: a caller-saved register is unknown in the caller (the ABI
 * lets the callee clobber it) unless a signal frame restored it, and a frame-pointer step
 * recovers only rbp.  A rule that needs an unknown register fails the walk instead of
 * inventing a value.
 */
#define _GNU_SOURCE
#include "symbolize/unwind.h"
#include "common/hash.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "common/util.h"
#include "symbolize/addrspace.h"
#include "symbolize/binary.h"
#include "symbolize/elf.h"
#include "symbolize/procmem.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Offsets in a rule beyond this are not a stack frame but corrupt CFI: rejected. */
#define RULE_MAX_OFFSET (64 << 20)
/* pcs remembered per binary; past this the table starts over (memory stays bounded in a
 * daemon that lives for months, and a hot pc is back after one miss). */
#define TABLE_MAX_PCS (1u << 18)
/* Distinct DWARF expressions per binary (PLT entries share one, a signal frame has ~17). */
#define TABLE_MAX_EXPRS 4096
#define EXPR_MAX_OPS	64
#define EXPR_MAX_STEPS	256 /* DW_OP_skip/bra can loop */
#define EXPR_STACK	16

#define ALL_REGS ((1u << HL_UNWIND_NREGS) - 1)
#define BIT(reg) (1u << (reg))
/* rbx, rbp, r12-r15: preserved across calls by the SysV ABI. */
#define CALLEE_SAVED                                                                               \
	(BIT(HL_REG_RBX) | BIT(HL_REG_RBP) | BIT(12) | BIT(13) | BIT(14) | BIT(HL_REG_R15))

/* What step functions return: an enum hl_unwind_end, or this to go on. */
#define STEP_OK (-1)

enum rule_kind {
	K_UNDEF,    /* unknown in the caller (call-clobbered; for the RA: no caller) */
	K_SAME,	    /* the callee did not change it */
	K_AT_CFA,   /* saved at CFA + off */
	K_VAL_CFA,  /* is CFA + off */
	K_REG,	    /* held in register `reg` of the callee */
	K_EXPR,	    /* saved at the address expression `expr` computes */
	K_VAL_EXPR, /* is the value expression `expr` computes */
	K_CFA_REG,  /* CFA only: register `reg` + off */
	K_CFA_EXPR, /* CFA only: expression `expr` */
};

struct reg_rule {
	uint8_t kind;
	uint8_t reg;
	uint16_t expr;
	int32_t off;
};

/* The compiled CFI row at one pc.  No implicit padding: rules are hashed and compared as
 * bytes. */
struct rule {
	struct reg_rule cfa;
	struct reg_rule regs[HL_UNWIND_NREGS]; /* [HL_REG_RSP] unused: rsp is the CFA */
	uint8_t signal;			       /* 'S' augmentation: __restore_rt */
	uint8_t pad[7];
};

struct expr {
	Dwarf_Op *ops;
	uint32_t n;
};

/* by_pc values: 0 no CFI, 1 CFI we cannot use, otherwise rule index + 2. */
#define PC_NO_CFI   0
#define PC_UNUSABLE 1
#define PC_RULE0    2

struct hl_unwind_table {
	Dwarf_CFI *eh;	  /* .eh_frame, from dwarf_getcfi_elf; NULL when absent */
	Dwarf *dwarf;	  /* opened for .debug_frame, the first time .eh_frame misses */
	Dwarf_CFI *debug; /* owned by dwarf */
	bool has_debug_frame;
	bool debug_tried;
	struct hl_map *by_pc;	/* file vaddr -> PC_* value */
	struct hl_map *by_hash; /* rule hash (linear probing on collisions) -> rule index */
	struct rule *rules;
	uint32_t nrules, rules_cap;
	struct expr *exprs;
	uint32_t nexprs, exprs_cap;
	uint64_t hits, misses;
};

/* ---------------------------------------------------------------------------------------- */
/* The per-binary table. */

static void table_clear(struct hl_unwind_table *t)
{
	uint32_t i;

	for (i = 0; i < t->nexprs; i++)
		free(t->exprs[i].ops);
	t->nexprs = 0;
	t->nrules = 0;
	hl_map__clear(t->by_pc);
	hl_map__clear(t->by_hash);
}

void hl_unwind_table__free(struct hl_unwind_table *t)
{
	if (!t)
		return;
	table_clear(t);
	if (t->eh)
		dwarf_cfi_end(t->eh);
	if (t->dwarf)
		dwarf_end(t->dwarf);
	hl_map__free(t->by_pc);
	hl_map__free(t->by_hash);
	free(t->rules);
	free(t->exprs);
	free(t);
}

static struct hl_unwind_table *table_of(struct hl_binary *b)
{
	struct hl_unwind_table *t = b->unwind;

	if (t)
		return t;
	if (!b->elf)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->by_pc = hl_map__new(1024);
	t->by_hash = hl_map__new(64);
	if (!t->by_pc || !t->by_hash) {
		hl_unwind_table__free(t);
		return NULL;
	}
	/* NULL without .eh_frame: not an error, the binary may have .debug_frame only. */
	t->eh = dwarf_getcfi_elf(hl_elf__libelf(b->elf));
	t->has_debug_frame = !hl_elf__find_section(b->elf, ".debug_frame", NULL, NULL, NULL);
	if (!t->eh && !t->has_debug_frame)
		hl_debug("unwind: %s has no CFI; frame pointers only", b->path);
	b->unwind = t;
	return t;
}

/* .debug_frame needs a Dwarf handle, which costs more than the CFI alone: opened only when a
 * pc has no .eh_frame entry (binaries built with -fno-asynchronous-unwind-tables -g). */
static Dwarf_CFI *debug_cfi(struct hl_unwind_table *t, struct hl_binary *b)
{
	if (!t->has_debug_frame || t->debug_tried)
		return t->debug;
	t->debug_tried = true;
	t->dwarf = dwarf_begin_elf(hl_elf__libelf(b->elf), DWARF_C_READ, NULL);
	if (t->dwarf)
		t->debug = dwarf_getcfi(t->dwarf);
	if (!t->debug)
		hl_debug("unwind: %s: .debug_frame unreadable: %s", b->path, dwarf_errmsg(-1));
	return t->debug;
}

static bool offset_ok(int64_t off)
{
	return off >= -RULE_MAX_OFFSET && off <= RULE_MAX_OFFSET;
}

static bool same_ops(const Dwarf_Op *a, const Dwarf_Op *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (a[i].atom != b[i].atom || a[i].number != b[i].number ||
		    a[i].number2 != b[i].number2 || a[i].offset != b[i].offset)
			return false;
	}
	return true;
}

/* Keeps a copy of @ops (libdw's lives only as long as its Dwarf_CFI).  Returns its index or
 * -ENOTSUP / -ENOMEM. */
static int intern_expr(struct hl_unwind_table *t, const Dwarf_Op *ops, size_t n)
{
	struct expr *e;
	uint32_t i;

	if (n == 0 || n > EXPR_MAX_OPS)
		return -ENOTSUP;
	for (i = 0; i < t->nexprs; i++) {
		if (t->exprs[i].n == n && same_ops(t->exprs[i].ops, ops, n))
			return (int)i;
	}
	if (t->nexprs >= TABLE_MAX_EXPRS)
		return -ENOTSUP;
	if (t->nexprs == t->exprs_cap) {
		uint32_t cap = t->exprs_cap ? t->exprs_cap * 2 : 8;
		struct expr *bigger = realloc(t->exprs, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		t->exprs = bigger;
		t->exprs_cap = cap;
	}
	e = &t->exprs[t->nexprs];
	e->ops = malloc(n * sizeof(*ops));
	if (!e->ops)
		return -ENOMEM;
	memcpy(e->ops, ops, n * sizeof(*ops));
	e->n = (uint32_t)n;
	return (int)t->nexprs++;
}

/* One register's rule, from libdw's location description (dwarf_frame_register). */
static int compile_reg(struct hl_unwind_table *t, Dwarf_Frame *frame, int regno,
		       struct reg_rule *rr)
{
	Dwarf_Op mem[3], *ops;
	size_t nops, body;
	bool value;
	int idx;

	if (dwarf_frame_register(frame, regno, mem, &ops, &nops))
		return -ENOTSUP;
	if (nops == 0) {
		/* libdw: ops == NULL means "same value", ops == mem "undefined". */
		rr->kind = ops ? K_UNDEF : K_SAME;
		return 0;
	}
	value = ops[nops - 1].atom == DW_OP_stack_value;
	body = value ? nops - 1 : nops;
	/* DW_CFA_offset / DW_CFA_val_offset arrive as call_frame_cfa [plus_uconst N]. */
	if (body >= 1 && body <= 2 && ops[0].atom == DW_OP_call_frame_cfa &&
	    (body == 1 || ops[1].atom == DW_OP_plus_uconst)) {
		int64_t off = body == 2 ? (int64_t)ops[1].number : 0;

		if (!offset_ok(off))
			return -ENOTSUP;
		rr->kind = value ? K_VAL_CFA : K_AT_CFA;
		rr->off = (int32_t)off;
		return 0;
	}
	if (!value && nops == 1 && ops[0].atom == DW_OP_regx) {
		if (ops[0].number >= HL_UNWIND_NREGS)
			return -ENOTSUP;
		rr->kind = K_REG;
		rr->reg = (uint8_t)ops[0].number;
		return 0;
	}
	idx = intern_expr(t, ops, nops);
	if (idx < 0)
		return idx;
	rr->kind = value ? K_VAL_EXPR : K_EXPR;
	rr->expr = (uint16_t)idx;
	return 0;
}

static int compile(struct hl_unwind_table *t, Dwarf_Frame *frame, struct rule *r)
{
	Dwarf_Addr start, end;
	Dwarf_Op *ops;
	size_t nops;
	bool signal = false;
	int reg, err;

	memset(r, 0, sizeof(*r));
	if (dwarf_frame_info(frame, &start, &end, &signal) != HL_REG_RIP)
		return -ENOTSUP;
	r->signal = signal;
	if (dwarf_frame_cfa(frame, &ops, &nops) || nops == 0)
		return -ENOTSUP;
	if (nops == 1 && ops[0].atom == DW_OP_bregx) {
		/* DW_CFA_def_cfa: libdw hands it over as bregx reg, offset. */
		if (ops[0].number >= HL_UNWIND_NREGS || !offset_ok((int64_t)ops[0].number2))
			return -ENOTSUP;
		r->cfa.kind = K_CFA_REG;
		r->cfa.reg = (uint8_t)ops[0].number;
		r->cfa.off = (int32_t)(int64_t)ops[0].number2;
	} else {
		int idx = intern_expr(t, ops, nops);

		if (idx < 0)
			return idx;
		r->cfa.kind = K_CFA_EXPR;
		r->cfa.expr = (uint16_t)idx;
	}
	for (reg = 0; reg < HL_UNWIND_NREGS; reg++) {
		struct reg_rule *rr = &r->regs[reg];

		if (reg == HL_REG_RSP)
			continue;
		err = compile_reg(t, frame, reg, rr);
		if (err)
			return err;
		/* What the FDE does not mention follows the ABI, not libdw's defaults: those
		 * (elfutils backends/x86_64_cfi.c, still in 0.188) mark register 0 where rbx (3)
		 * was meant, so rax would pass as "same value" and rbx as "undefined".  A
		 * caller-saved register is clobbered by the call, a callee-saved one kept (no
		 * compiler says DW_CFA_undefined for one).  A signal frame is no call: its CFI
		 * restores every register from the interrupted context. */
		if (!signal && reg != HL_REG_RIP) {
			if (rr->kind == K_SAME && !(CALLEE_SAVED & BIT(reg)))
				rr->kind = K_UNDEF;
			else if (rr->kind == K_UNDEF && (CALLEE_SAVED & BIT(reg)))
				rr->kind = K_SAME;
		}
	}
	/* A return address "unchanged by the callee" describes no caller. */
	if (r->regs[HL_REG_RIP].kind == K_SAME || r->regs[HL_REG_RIP].kind == K_REG)
		return -ENOTSUP;
	return 0;
}

static int intern_rule(struct hl_unwind_table *t, const struct rule *r, uint32_t *idx)
{
	uint64_t key = hl_hash_bytes(r, sizeof(*r), 0x686c7577), v;

	for (;; key++) {
		if (!hl_map__get(t->by_hash, key, &v))
			break;
		if (!memcmp(&t->rules[v], r, sizeof(*r))) {
			*idx = (uint32_t)v;
			return 0;
		}
	}
	if (t->nrules == t->rules_cap) {
		uint32_t cap = t->rules_cap ? t->rules_cap * 2 : 64;
		struct rule *bigger = realloc(t->rules, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		t->rules = bigger;
		t->rules_cap = cap;
	}
	if (hl_map__set(t->by_hash, key, t->nrules))
		return -ENOMEM;
	t->rules[t->nrules] = *r;
	*idx = t->nrules++;
	return 0;
}

/* The PC_* value for @vaddr, computed with libdw.  -ENOMEM is not cached. */
static int compile_at(struct hl_unwind_table *t, struct hl_binary *b, uint64_t vaddr,
		      uint64_t *value)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_CFI *cfi;
	struct rule r;
	uint32_t idx;
	int err;

	if (!t->eh || dwarf_cfi_addrframe(t->eh, vaddr, &frame)) {
		frame = NULL;
		cfi = debug_cfi(t, b);
		if (cfi && dwarf_cfi_addrframe(cfi, vaddr, &frame))
			frame = NULL;
	}
	if (!frame) {
		*value = PC_NO_CFI;
		return 0;
	}
	err = compile(t, frame, &r);
	free(frame);
	if (err == -ENOMEM)
		return err;
	if (err) {
		hl_debug("unwind: %s: unusable CFI at %#llx", b->path, (unsigned long long)vaddr);
		*value = PC_UNUSABLE;
		return 0;
	}
	err = intern_rule(t, &r, &idx);
	if (err)
		return err;
	*value = PC_RULE0 + idx;
	return 0;
}

/* The rule at file address @vaddr of @b.  Returns 0 and *out (valid until the next lookup in
 * this binary), -ENOENT (no CFI), -ENOTSUP (CFI we cannot use) or -ENOMEM. */
static int rule_at(struct hl_binary *b, uint64_t vaddr, struct hl_unwind_table **tp,
		   const struct rule **out)
{
	struct hl_unwind_table *t = table_of(b);
	uint64_t v;
	int err;

	if (!t)
		return -ENOMEM;
	*tp = t;
	if (hl_map__get(t->by_pc, vaddr, &v)) {
		t->hits++;
	} else {
		t->misses++;
		if (!t->eh && !t->has_debug_frame)
			return -ENOENT;
		if (hl_map__count(t->by_pc) >= TABLE_MAX_PCS)
			table_clear(t);
		err = compile_at(t, b, vaddr, &v);
		if (err)
			return err;
		hl_map__set(t->by_pc, vaddr, v); /* a failed insert only costs a recompile */
	}
	if (v == PC_NO_CFI)
		return -ENOENT;
	if (v == PC_UNUSABLE || v - PC_RULE0 >= t->nrules)
		return -ENOTSUP;
	*out = &t->rules[v - PC_RULE0];
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Walking. */

struct walk {
	struct hl_addrspace *as;
	const uint8_t *stack;
	uint64_t base; /* the address stack[0] was copied from */
	size_t len;
	bool at_top;
	unsigned signals; /* signal frames crossed */
};

struct frame {
	uint64_t r[HL_UNWIND_NREGS];
	uint32_t valid; /* BIT(reg) when r[reg] is known */
	bool exact;	/* r[RIP] is not a return address */
};

/* Reads @size (1-8) bytes of the copy at @addr, zero-extended. */
static int stack_read(const struct walk *w, uint64_t addr, unsigned size, uint64_t *out)
{
	uint64_t off;

	*out = 0;
	if (addr < w->base)
		return HL_UNWIND_BAD; /* below the stack pointer: no frame keeps data there */
	off = addr - w->base;
	if (off > w->len || w->len - off < size)
		return HL_UNWIND_STACK_END;
	memcpy(out, w->stack + off, size); /* little-endian */
	return STEP_OK;
}

/* Index of the op at byte offset @target, or e->n for the end of the expression. */
static int branch_target(const struct expr *e, uint64_t target, uint32_t *idx)
{
	uint32_t i;

	for (i = 0; i < e->n; i++) {
		/* libdw gives its synthetic leading call_frame_cfa offset -1: never a target. */
		if (e->ops[i].offset == target && e->ops[i].offset != (Dwarf_Word)-1) {
			*idx = i;
			return 0;
		}
	}
	if (target > e->ops[e->n - 1].offset || e->ops[e->n - 1].offset == (Dwarf_Word)-1) {
		*idx = e->n;
		return 0;
	}
	return -EINVAL;
}

/* Evaluates a CFI expression.  *is_value tells a value (DW_OP_stack_value) from an address.
 * Returns STEP_OK or an end reason. */
static int expr_eval(const struct walk *w, const struct frame *f, const struct expr *e,
		     uint64_t cfa, bool have_cfa, uint64_t *out, bool *is_value)
{
	uint64_t st[EXPR_STACK], a, b;
	unsigned sp = 0, steps = 0;
	uint32_t i = 0;
	int res;

	*is_value = false;
	while (i < e->n) {
		const Dwarf_Op *op = &e->ops[i++];
		unsigned reg;

		if (++steps > EXPR_MAX_STEPS)
			return HL_UNWIND_BAD;
		/* Every op below pushes at most one value and pops at most three. */
		if (sp == EXPR_STACK)
			return HL_UNWIND_BAD;
		switch (op->atom) {
		case DW_OP_lit0 ... DW_OP_lit31:
			st[sp++] = op->atom - DW_OP_lit0;
			break;
		case DW_OP_const1u:
		case DW_OP_const1s:
		case DW_OP_const2u:
		case DW_OP_const2s:
		case DW_OP_const4u:
		case DW_OP_const4s:
		case DW_OP_const8u:
		case DW_OP_const8s:
		case DW_OP_constu:
		case DW_OP_consts:
			st[sp++] = op->number; /* libdw sign-extended the signed forms */
			break;
		case DW_OP_breg0 ... DW_OP_breg31:
		case DW_OP_bregx:
			reg = op->atom == DW_OP_bregx ? (unsigned)HL_MIN(op->number, 255)
						      : (unsigned)(op->atom - DW_OP_breg0);
			if (reg >= HL_UNWIND_NREGS || !(f->valid & BIT(reg)))
				return HL_UNWIND_BAD;
			st[sp++] = f->r[reg] + (op->atom == DW_OP_bregx ? op->number2 : op->number);
			break;
		case DW_OP_call_frame_cfa:
			if (!have_cfa)
				return HL_UNWIND_BAD;
			st[sp++] = cfa;
			break;
		case DW_OP_dup:
		case DW_OP_over:
		case DW_OP_pick:
			a = op->atom == DW_OP_dup ? 0 : op->atom == DW_OP_over ? 1 : op->number;
			if (a >= sp)
				return HL_UNWIND_BAD;
			st[sp] = st[sp - 1 - a];
			sp++;
			break;
		case DW_OP_drop:
			if (sp < 1)
				return HL_UNWIND_BAD;
			sp--;
			break;
		case DW_OP_swap:
			if (sp < 2)
				return HL_UNWIND_BAD;
			a = st[sp - 1];
			st[sp - 1] = st[sp - 2];
			st[sp - 2] = a;
			break;
		case DW_OP_rot:
			if (sp < 3)
				return HL_UNWIND_BAD;
			a = st[sp - 1];
			st[sp - 1] = st[sp - 2];
			st[sp - 2] = st[sp - 3];
			st[sp - 3] = a;
			break;
		case DW_OP_deref:
		case DW_OP_deref_size:
			if (sp < 1)
				return HL_UNWIND_BAD;
			a = op->atom == DW_OP_deref ? 8 : op->number;
			if (a < 1 || a > 8)
				return HL_UNWIND_BAD;
			res = stack_read(w, st[sp - 1], (unsigned)a, &st[sp - 1]);
			if (res != STEP_OK)
				return res;
			break;
		case DW_OP_abs:
		case DW_OP_neg:
		case DW_OP_not:
		case DW_OP_plus_uconst:
			if (sp < 1)
				return HL_UNWIND_BAD;
			a = st[sp - 1];
			if (op->atom == DW_OP_abs)
				a = (int64_t)a < 0 ? -a : a;
			else if (op->atom == DW_OP_neg)
				a = -a;
			else if (op->atom == DW_OP_not)
				a = ~a;
			else
				a += op->number;
			st[sp - 1] = a;
			break;
		case DW_OP_and:
		case DW_OP_div:
		case DW_OP_minus:
		case DW_OP_mod:
		case DW_OP_mul:
		case DW_OP_or:
		case DW_OP_plus:
		case DW_OP_shl:
		case DW_OP_shr:
		case DW_OP_shra:
		case DW_OP_xor:
		case DW_OP_eq:
		case DW_OP_ge:
		case DW_OP_gt:
		case DW_OP_le:
		case DW_OP_lt:
		case DW_OP_ne:
			if (sp < 2)
				return HL_UNWIND_BAD;
			b = st[--sp];
			a = st[sp - 1];
			switch (op->atom) {
			case DW_OP_and:
				a &= b;
				break;
			case DW_OP_div:
				/* Signed, and INT64_MIN / -1 would trap. */
				if (!b || ((int64_t)b == -1 && a == (uint64_t)INT64_MIN))
					return HL_UNWIND_BAD;
				a = (uint64_t)((int64_t)a / (int64_t)b);
				break;
			case DW_OP_minus:
				a -= b;
				break;
			case DW_OP_mod:
				if (!b)
					return HL_UNWIND_BAD;
				a %= b;
				break;
			case DW_OP_mul:
				a *= b;
				break;
			case DW_OP_or:
				a |= b;
				break;
			case DW_OP_plus:
				a += b;
				break;
			case DW_OP_shl:
				a = b >= 64 ? 0 : a << b;
				break;
			case DW_OP_shr:
				a = b >= 64 ? 0 : a >> b;
				break;
			case DW_OP_shra:
				a = (uint64_t)((int64_t)a >> (b >= 64 ? 63 : b));
				break;
			case DW_OP_xor:
				a ^= b;
				break;
			/* DWARF comparisons are signed. */
			case DW_OP_eq:
				a = a == b;
				break;
			case DW_OP_ge:
				a = (int64_t)a >= (int64_t)b;
				break;
			case DW_OP_gt:
				a = (int64_t)a > (int64_t)b;
				break;
			case DW_OP_le:
				a = (int64_t)a <= (int64_t)b;
				break;
			case DW_OP_lt:
				a = (int64_t)a < (int64_t)b;
				break;
			default: /* DW_OP_ne */
				a = a != b;
				break;
			}
			st[sp - 1] = a;
			break;
		case DW_OP_skip:
		case DW_OP_bra:
			if (op->atom == DW_OP_bra) {
				if (sp < 1)
					return HL_UNWIND_BAD;
				if (!st[--sp])
					break;
			}
			/* The 2-byte operand counts from the end of this 3-byte op. */
			a = op->offset + 3 + (uint64_t)(int64_t)(int16_t)op->number;
			if (branch_target(e, a, &i))
				return HL_UNWIND_BAD;
			break;
		case DW_OP_nop:
			break;
		case DW_OP_stack_value:
			*is_value = true;
			i = e->n;
			break;
		default:
			return HL_UNWIND_BAD; /* DW_OP_addr, TLS, registers...: not CFI material */
		}
	}
	if (sp < 1)
		return HL_UNWIND_BAD;
	*out = st[sp - 1];
	return STEP_OK;
}

/* Caller registers from the CFI rule @r.  Returns STEP_OK or an end reason. */
static int cfi_step(const struct walk *w, const struct hl_unwind_table *t, const struct rule *r,
		    const struct frame *f, struct frame *nf)
{
	uint64_t cfa, v;
	bool is_value;
	int reg, res;

	if (r->cfa.kind == K_CFA_REG) {
		if (!(f->valid & BIT(r->cfa.reg)))
			return HL_UNWIND_BAD;
		cfa = f->r[r->cfa.reg] + (uint64_t)(int64_t)r->cfa.off;
	} else {
		res = expr_eval(w, f, &t->exprs[r->cfa.expr], 0, false, &cfa, &is_value);
		if (res != STEP_OK)
			return res;
	}
	/* glibc marks _start and the new thread's side of clone/clone3 this way. */
	if (r->regs[HL_REG_RIP].kind == K_UNDEF)
		return HL_UNWIND_ROOT;

	nf->valid = 0;
	for (reg = 0; reg < HL_UNWIND_NREGS; reg++) {
		const struct reg_rule *rr = &r->regs[reg];

		switch (rr->kind) {
		case K_UNDEF:
			continue;
		case K_SAME:
			if (!(f->valid & BIT(reg)))
				continue;
			v = f->r[reg];
			break;
		case K_AT_CFA:
			v = cfa + (uint64_t)(int64_t)rr->off;
			/* In an epilogue the CFI still names the save slots of registers already
			 * popped: below the stack pointer, so the register holds the value. */
			if (v < f->r[HL_REG_RSP] && reg != HL_REG_RIP) {
				if (!(f->valid & BIT(reg)))
					continue;
				v = f->r[reg];
				break;
			}
			res = stack_read(w, v, 8, &v);
			if (res != STEP_OK)
				return res;
			break;
		case K_VAL_CFA:
			v = cfa + (uint64_t)(int64_t)rr->off;
			break;
		case K_REG:
			if (!(f->valid & BIT(rr->reg)))
				continue;
			v = f->r[rr->reg];
			break;
		case K_EXPR:
		case K_VAL_EXPR:
			res = expr_eval(w, f, &t->exprs[rr->expr], cfa, true, &v, &is_value);
			if (res == STEP_OK && !is_value)
				res = stack_read(w, v, 8, &v);
			if (res != STEP_OK)
				return res;
			break;
		default:
			continue;
		}
		nf->r[reg] = v;
		nf->valid |= BIT(reg);
	}
	if (!(nf->valid & BIT(HL_REG_RIP)))
		return HL_UNWIND_BAD;
	/* On x86-64 the CFA is by definition the caller's stack pointer. */
	nf->r[HL_REG_RSP] = cfa;
	nf->valid |= BIT(HL_REG_RSP);
	return STEP_OK;
}

/* Code without CFI that keeps a frame pointer (push rbp; mov rsp, rbp): the saved rbp at
 * [rbp], the return address above it.  Only rbp is recovered. */
static int fp_step(const struct walk *w, const struct frame *f, struct frame *nf)
{
	uint64_t bp = f->r[HL_REG_RBP];
	int res;

	if (!(f->valid & BIT(HL_REG_RBP)) || !(f->valid & BIT(HL_REG_RSP)))
		return HL_UNWIND_NO_INFO;
	/* A frame pointer points into the live stack, at an aligned slot; anything else is rbp
	 * used as a general register. */
	if (!bp || bp < f->r[HL_REG_RSP] || bp < w->base || (bp & 7))
		return HL_UNWIND_NO_INFO;
	if (bp - w->base > w->len || w->len - (bp - w->base) < 16)
		return w->at_top ? HL_UNWIND_NO_INFO : HL_UNWIND_STACK_END;
	res = stack_read(w, bp + 8, 8, &nf->r[HL_REG_RIP]);
	if (res == STEP_OK)
		res = stack_read(w, bp, 8, &nf->r[HL_REG_RBP]);
	if (res != STEP_OK)
		return res;
	nf->r[HL_REG_RSP] = bp + 16;
	nf->valid = BIT(HL_REG_RIP) | BIT(HL_REG_RBP) | BIT(HL_REG_RSP);
	return STEP_OK;
}

/* Code stubs that run from anonymous memory without CFI, known by their bytes.  CPython runs
 * each Python call under `-X perf` through its own copy of Python/asm_trampoline.S.  The copy
 * of 3.12 and 3.13 keeps no frame pointer, so without this every such stack would end at the
 * first trampoline; 3.14's does, but a sample inside its prologue would still lose the
 * caller.  Each row: at an instruction start, CFA = rsp + cfa, and rbp saved at CFA - rbp
 * (0: rbp unchanged). */
struct stub_row {
	uint8_t at, cfa, rbp;
};

/* clang-format off */
static const struct stub {
	uint8_t len;
	uint8_t code[16];
	uint8_t ret; /* offset of the return address of its call */
	uint8_t nrows;
	struct stub_row rows[6];
} stubs[] = {
	/* 3.12, 3.13: sub $8,%rsp; call *%rcx; add $8,%rsp; ret */
	{11,
	 {0x48, 0x83, 0xec, 0x08, 0xff, 0xd1, 0x48, 0x83, 0xc4, 0x08, 0xc3},
	 6,
	 4,
	 {{0, 8, 0}, {4, 16, 0}, {6, 16, 0}, {10, 8, 0}}},
	/* 3.14: endbr64; push %rbp; mov %rsp,%rbp; call *%rcx; pop %rbp; ret */
	{12,
	 {0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5, 0xff, 0xd1, 0x5d, 0xc3},
	 10,
	 6,
	 {{0, 8, 0}, {4, 8, 0}, {5, 16, 16}, {8, 16, 16}, {10, 16, 16}, {11, 8, 0}}},
};
/* clang-format on */
#define STUB_MAX_LEN 16

/* Which pcs of anonymous memory are known stubs: reading the code costs a syscall, and under
 * `-X perf` every Python frame has a trampoline.  Per process and pc, direct-mapped and
 * bounded.  An entry goes stale only when a process puts other code where a stub was
 * (CPython never frees its trampolines) or a pid is reused; the step then fails its
 * plausibility checks, or the entry is overwritten.  Global like the per-binary tables, and
 * like them for one symbolizing thread. */
#define STUB_MEMO_SIZE 4096
static struct stub_memo {
	uint64_t pc;
	int32_t pid; /* 0: empty */
	int8_t stub; /* index in stubs, -1 none */
	uint8_t row; /* index in its rows */
	bool exact;
} stub_memo[STUB_MEMO_SIZE];

/* Finds the stub and row the pc is at from the code around it.  Returns the stub's index or
 * -1. */
static int stub_find(const struct walk *w, const struct hl_module *m, uint64_t pc, bool exact,
		     uint8_t *row)
{
	uint8_t code[2 * STUB_MAX_LEN];
	uint64_t lo, hi;
	size_t i, k;

	lo = pc - m->start >= STUB_MAX_LEN ? pc - (STUB_MAX_LEN - 1) : m->start;
	hi = m->end - pc >= STUB_MAX_LEN ? pc + STUB_MAX_LEN : m->end;
	if (hi <= lo || hl_procmem_read(hl_addrspace__pid(w->as), lo, code, hi - lo))
		return -1;
	for (i = 0; i < HL_ARRAY_SIZE(stubs); i++) {
		const struct stub *st = &stubs[i];

		for (k = 0; k < st->nrows; k++) {
			uint64_t at = st->rows[k].at;

			/* A return address can only be the one after the call. */
			if (!exact && at != st->ret)
				continue;
			/* lo <= pc < hi, so neither side wraps. */
			if (pc - lo >= at && pc - at + st->len <= hi &&
			    !memcmp(code + (pc - at - lo), st->code, st->len)) {
				*row = (uint8_t)k;
				return (int)i;
			}
		}
	}
	return -1;
}

/* A step through a known stub.  Returns STEP_OK, or HL_UNWIND_NO_INFO when the code at the
 * pc is none. */
static int stub_step(const struct walk *w, const struct hl_module *m, const struct frame *f,
		     struct frame *nf)
{
	uint64_t pc = f->r[HL_REG_RIP], cfa;
	int32_t pid = (int32_t)hl_addrspace__pid(w->as);
	const struct stub_row *row;
	struct stub_memo *memo;
	int res;

	if (!(f->valid & BIT(HL_REG_RSP)))
		return HL_UNWIND_NO_INFO;
	memo = &stub_memo[hl_hash_combine(hl_hash_u64(pc), (uint64_t)pid) % STUB_MEMO_SIZE];
	if (memo->pid != pid || memo->pc != pc || memo->exact != f->exact) {
		memo->pc = pc;
		memo->pid = pid;
		memo->exact = f->exact;
		memo->stub = (int8_t)stub_find(w, m, pc, f->exact, &memo->row);
	}
	if (memo->stub < 0)
		return HL_UNWIND_NO_INFO;
	row = &stubs[memo->stub].rows[memo->row];
	cfa = f->r[HL_REG_RSP] + row->cfa;
	memcpy(nf->r, f->r, sizeof(nf->r[0]) * HL_REG_RIP);
	nf->valid = f->valid & CALLEE_SAVED;
	res = stack_read(w, cfa - 8, 8, &nf->r[HL_REG_RIP]);
	if (res == STEP_OK && row->rbp) {
		res = stack_read(w, cfa - row->rbp, 8, &nf->r[HL_REG_RBP]);
		nf->valid |= BIT(HL_REG_RBP);
	}
	if (res != STEP_OK)
		return res;
	nf->r[HL_REG_RSP] = cfa;
	nf->valid |= BIT(HL_REG_RSP) | BIT(HL_REG_RIP);
	return STEP_OK;
}

/* From frame @f to its caller @nf.  Returns STEP_OK (with *nflags for the caller) or why the
 * walk ends. */
static int step(struct walk *w, const struct frame *f, struct frame *nf, uint8_t *nflags)
{
	uint64_t pc = f->r[HL_REG_RIP], at = f->exact ? pc : pc - 1;
	const struct hl_module *m = hl_addrspace__find(w->as, at);
	struct hl_unwind_table *t = NULL;
	const struct rule *r = NULL;
	bool signal = false;
	int res = -ENOENT;

	if (m && m->binary)
		res = rule_at(m->binary, at - m->bias, &t, &r);
	if (!res) {
		signal = r->signal;
		res = cfi_step(w, t, r, f, nf);
		*nflags = signal ? HL_UNWIND_EXACT_PC : 0;
	} else {
		/* Known stubs first: in code built without frame pointers rbp is a general
		 * register, and a frame-pointer step through it could skip frames silently. */
		res = m && !m->binary ? stub_step(w, m, f, nf) : HL_UNWIND_NO_INFO;
		*nflags = 0;
		if (res != STEP_OK) {
			res = fp_step(w, f, nf);
			*nflags = HL_UNWIND_FP;
		}
	}
	if (res != STEP_OK)
		return res;

	/* Without a signal frame the stack only grows down, so the caller's frame is above:
	 * this also rules out loops.  A signal frame may come from another stack
	 * (sigaltstack), so those steps are counted instead. */
	if (!signal && nf->r[HL_REG_RSP] <= f->r[HL_REG_RSP])
		return HL_UNWIND_BAD;
	if (signal && ++w->signals > HL_UNWIND_MAX_SIGNAL_FRAMES)
		return HL_UNWIND_BAD;
	if (w->at_top && nf->r[HL_REG_RSP] == w->base + w->len)
		return HL_UNWIND_ROOT; /* nothing above: this frame was the first */
	if (nf->r[HL_REG_RIP] == 0)
		return HL_UNWIND_ROOT;
	nf->exact = signal;
	if (!hl_addrspace__find(w->as, signal ? nf->r[HL_REG_RIP] : nf->r[HL_REG_RIP] - 1))
		return HL_UNWIND_BAD;
	return STEP_OK;
}

int hl_unwind(struct hl_addrspace *as, const struct hl_unwind_regs *regs, const void *stack,
	      size_t stack_len, bool stack_at_top, uint64_t *pcs, uint8_t *flags, unsigned max,
	      unsigned *n, enum hl_unwind_end *end)
{
	struct walk w;
	struct frame fr[2];
	unsigned i = 0, cur = 0;
	uint8_t fl = HL_UNWIND_EXACT_PC;
	int res;

	if (!as || !regs || !pcs || !n || !end || !max || (!stack && stack_len))
		return -EINVAL;
	memset(&w, 0, sizeof(w));
	w.as = as;
	w.stack = stack;
	w.len = stack_len;
	w.at_top = stack_at_top;
	w.base = regs->r[HL_REG_RSP];
	memcpy(fr[0].r, regs->r, sizeof(fr[0].r));
	fr[0].valid = ALL_REGS;
	fr[0].exact = true;
	for (;;) {
		if (i == max) {
			res = HL_UNWIND_MAX_FRAMES;
			break;
		}
		pcs[i] = fr[cur].r[HL_REG_RIP];
		if (flags)
			flags[i] = fl;
		i++;
		res = step(&w, &fr[cur], &fr[cur ^ 1], &fl);
		if (res != STEP_OK)
			break;
		cur ^= 1;
	}
	*n = i;
	*end = (enum hl_unwind_end)res;
	return 0;
}

const char *hl_unwind_end_name(enum hl_unwind_end end)
{
	/* clang-format off */
	static const char *const names[HL_UNWIND_END_COUNT] = {
		[HL_UNWIND_ROOT] = "root",
		[HL_UNWIND_STACK_END] = "stack-end",
		[HL_UNWIND_NO_INFO] = "no-unwind-info",
		[HL_UNWIND_BAD] = "bad-step",
		[HL_UNWIND_MAX_FRAMES] = "max-frames",
	};
	/* clang-format on */

	if ((unsigned)end >= HL_UNWIND_END_COUNT)
		return "?";
	return names[end];
}

/* ---------------------------------------------------------------------------------------- */
/* Introspection. */

/* clang-format off */
static const char *const reg_names[HL_UNWIND_NREGS] = {
	"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8",
	"r9", "r10", "r11", "r12", "r13", "r14", "r15", "ra",
};
/* clang-format on */

static void describe_reg(char *buf, size_t size, size_t *len, const char *name,
			 const struct reg_rule *rr)
{
	int k;

	if (*len >= size)
		return;
	switch (rr->kind) {
	case K_UNDEF:
		k = snprintf(buf + *len, size - *len, " %s=undef", name);
		break;
	case K_SAME:
		k = snprintf(buf + *len, size - *len, " %s=same", name);
		break;
	case K_AT_CFA:
		k = snprintf(buf + *len, size - *len, " %s=[cfa%+d]", name, rr->off);
		break;
	case K_VAL_CFA:
		k = snprintf(buf + *len, size - *len, " %s=cfa%+d", name, rr->off);
		break;
	case K_REG:
		k = snprintf(buf + *len, size - *len, " %s=%s", name,
			     reg_names[rr->reg % HL_UNWIND_NREGS]);
		break;
	case K_EXPR:
		k = snprintf(buf + *len, size - *len, " %s=[expr]", name);
		break;
	default:
		k = snprintf(buf + *len, size - *len, " %s=expr", name);
		break;
	}
	if (k > 0)
		*len += (size_t)k;
}

int hl_unwind_rule_describe(struct hl_binary *b, uint64_t vaddr, char *buf, size_t size)
{
	struct hl_unwind_table *t;
	const struct rule *r;
	size_t len;
	int reg, err, k;

	if (!b || !buf || !size)
		return -EINVAL;
	err = rule_at(b, vaddr, &t, &r);
	if (err)
		return err;
	if (r->cfa.kind == K_CFA_REG)
		k = snprintf(buf, size, "cfa=%s%+d", reg_names[r->cfa.reg % HL_UNWIND_NREGS],
			     r->cfa.off);
	else
		k = snprintf(buf, size, "cfa=expr");
	len = k > 0 ? (size_t)k : 0;
	describe_reg(buf, size, &len, "ra", &r->regs[HL_REG_RIP]);
	for (reg = 0; reg < HL_REG_RIP; reg++) {
		const struct reg_rule *rr = &r->regs[reg];
		bool saved = CALLEE_SAVED & BIT(reg);

		/* Print what differs from the ABI's default. */
		if (reg == HL_REG_RSP || (saved && rr->kind == K_SAME) ||
		    (!saved && rr->kind == K_UNDEF))
			continue;
		describe_reg(buf, size, &len, reg_names[reg], rr);
	}
	if (r->signal && len < size)
		snprintf(buf + len, size - len, " signal");
	return 0;
}

void hl_unwind_table_stats(const struct hl_binary *b, struct hl_unwind_table_stats *st)
{
	const struct hl_unwind_table *t = b ? b->unwind : NULL;

	memset(st, 0, sizeof(*st));
	if (!t)
		return;
	st->pcs = hl_map__count(t->by_pc);
	st->rules = t->nrules;
	st->exprs = t->nexprs;
	st->hits = t->hits;
	st->misses = t->misses;
}
