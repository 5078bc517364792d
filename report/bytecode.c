/* report/bytecode.c — see bytecode.h. */
#include "report/bytecode.h"

#include <errno.h>
#include <string.h>

const char *const hl_generic_builtins[HL_GENERIC_BUILTINS_N] = {
    "zip", "all", "any", "map", "filter", "getattr", "hasattr", "isinstance", "enumerate",
};

const struct hl_opcodes *hl_opcodes_find(unsigned major, unsigned minor)
{
	const struct hl_opcodes *t;

	for (t = hl_opcodes_tables; t->ops; t++)
		if (t->major == major && t->minor == minor)
			return t;
	return NULL;
}

void hl_bytecode_iter_init(struct hl_bytecode_iter *it, const struct hl_opcodes *t,
			   const uint8_t *code, size_t len)
{
	*it = (struct hl_bytecode_iter){.t = t, .code = code, .len = len & ~(size_t)1};
}

int hl_bytecode_next(struct hl_bytecode_iter *it, struct hl_insn *out)
{
	uint32_t arg = 0;
	unsigned prefixes = 0;

	/* Every supported version uses 2-byte code units (opcode, arg); EXTENDED_ARG prefixes
	 * supply the higher bytes of the next instruction's argument. */
	while (it->pos + 2 <= it->len) {
		const struct hl_opinfo *info = &it->t->ops[it->code[it->pos]];
		const struct hl_opinfo *base;

		if (!info->name)
			return -EINVAL;
		if (info->flags & HL_OP_OPAQUE)
			return -EOPNOTSUPP;
		base = &it->t->ops[info->base];
		arg = arg << 8 | it->code[it->pos + 1];
		if (!strcmp(base->name, "EXTENDED_ARG")) {
			/* CPython emits at most three; more is not bytecode a compiler made. */
			if (++prefixes > 3)
				return -EINVAL;
			it->pos += 2 + 2 * (size_t)info->caches;
			continue;
		}
		out->offset = (uint32_t)it->pos;
		out->op = info->base;
		out->arg = arg;
		out->name = base->name;
		out->flags = base->flags;
		it->pos += 2 + 2 * (size_t)info->caches;
		if (it->pos > it->len)
			it->pos = it->len; /* caches cut off by a copied prefix */
		out->next = (uint32_t)it->pos;
		return 1;
	}
	return 0;
}

int64_t hl_bytecode_jump_target(const struct hl_opcodes *t, const struct hl_insn *insn)
{
	/* Arguments count bytes on 3.8–3.9 and code units from 3.10 on. */
	int64_t unit = t->minor >= 10 ? 2 : 1;

	if (insn->flags & HL_OP_JABS)
		return (int64_t)insn->arg * unit;
	if (!(insn->flags & HL_OP_JREL))
		return -1;
	if (insn->flags & HL_OP_BACK)
		return (int64_t)insn->next - (int64_t)insn->arg * unit;
	return (int64_t)insn->next + (int64_t)insn->arg * unit;
}

int64_t hl_bytecode_name_index(const struct hl_opcodes *t, const struct hl_insn *insn)
{
	/* 3.11 moved LOAD_GLOBAL's "push NULL" flag and 3.12 LOAD_ATTR's "method" flag into
	 * bit 0 of the argument. */
	if (!strcmp(insn->name, "LOAD_GLOBAL"))
		return t->minor >= 11 ? insn->arg >> 1 : insn->arg;
	if (!strcmp(insn->name, "LOAD_ATTR"))
		return t->minor >= 12 ? insn->arg >> 1 : insn->arg;
	if (!strcmp(insn->name, "LOAD_NAME") || !strcmp(insn->name, "LOAD_METHOD") ||
	    !strcmp(insn->name, "STORE_ATTR"))
		return insn->arg;
	return -1;
}

/* The local slot an instruction leaves on top of the stack, or -1. */
static int64_t fast_slot(const struct hl_insn *insn)
{
	const char *n = insn->name;

	if (!strcmp(n, "LOAD_FAST") || !strcmp(n, "LOAD_FAST_CHECK") ||
	    !strcmp(n, "LOAD_FAST_BORROW"))
		return insn->arg;
	/* 3.13+ superinstructions: two 4-bit slots, the second pushed last. */
	if (!strcmp(n, "LOAD_FAST_LOAD_FAST") || !strcmp(n, "LOAD_FAST_BORROW_LOAD_FAST_BORROW"))
		return insn->arg & 15;
	return -1;
}

/* The local slots an instruction stores to or deletes, as a mask of slots 0-31. */
static uint32_t stored_slots(const struct hl_insn *insn)
{
	const char *n = insn->name;
	uint32_t a = insn->arg;

	if (!strcmp(n, "STORE_FAST") || !strcmp(n, "DELETE_FAST") ||
	    !strcmp(n, "LOAD_FAST_AND_CLEAR"))
		return a < 32 ? 1u << a : 0;
	/* 3.13+ superinstructions: two 4-bit slots; STORE_FAST_LOAD_FAST stores the first. */
	if (!strcmp(n, "STORE_FAST_STORE_FAST"))
		return 1u << (a >> 4 & 15) | 1u << (a & 15);
	if (!strcmp(n, "STORE_FAST_LOAD_FAST"))
		return 1u << (a >> 4 & 15);
	return 0;
}

size_t hl_bytecode_split_names(const char *names, size_t len, const char **out, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len && n < max) {
		const char *end = memchr(names + i, '\0', len - i);

		if (!end)
			break;
		out[n++] = names + i;
		i = (size_t)(end - names) + 1;
	}
	return n;
}

#define LOOPS_MAX 64

int hl_bytecode_analyze(const struct hl_opcodes *t, const uint8_t *code, size_t len,
			const char *const *names, size_t nr_names, const char *first_local,
			struct hl_bytecode_stats *out)
{
	struct {
		int64_t start, end;
	} loops[LOOPS_MAX];
	size_t nr_loops = 0, i, k;
	struct hl_bytecode_iter it;
	struct hl_insn insn;
	bool self_is_local0 = first_local && !strcmp(first_local, "self");
	int64_t top = -1, target, idx;
	int rc;

	if (!t || (!code && len) || (!names && nr_names) || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	/* Pass 1: loop bodies, the ranges [target, jump] of backward jumps. */
	hl_bytecode_iter_init(&it, t, code, len);
	while (hl_bytecode_next(&it, &insn) == 1) {
		target = hl_bytecode_jump_target(t, &insn);
		if (target < 0 || target > insn.offset)
			continue;
		/* 3.12+ close a loop body with several JUMP_BACKWARDs to one head: a loop is a
		 * distinct target. */
		for (i = 0; i < nr_loops && loops[i].start != target; i++)
			;
		if (i < nr_loops) {
			loops[i].end = loops[i].end > insn.offset ? loops[i].end : insn.offset;
			continue;
		}
		out->loops++;
		if (nr_loops < LOOPS_MAX) {
			loops[nr_loops].start = target;
			loops[nr_loops++].end = insn.offset;
		}
	}
	/* Pass 2: the counts. */
	hl_bytecode_iter_init(&it, t, code, len);
	while ((rc = hl_bytecode_next(&it, &insn)) == 1) {
		out->instructions++;
		if (insn.flags & HL_OP_COND)
			out->branches++;
		if (insn.flags & HL_OP_CMP)
			out->compares++;
		if (insn.flags & HL_OP_ARITH)
			out->arith++;
		if (!strncmp(insn.name, "CALL", 4) && strncmp(insn.name, "CALL_INTRINSIC", 14))
			out->calls++;
		out->stored_locals |= stored_slots(&insn);
		idx = hl_bytecode_name_index(t, &insn);
		if (idx >= 0 && (size_t)idx < nr_names &&
		    (!strcmp(insn.name, "LOAD_GLOBAL") || !strcmp(insn.name, "LOAD_NAME"))) {
			for (k = 0; k < HL_GENERIC_BUILTINS_N; k++)
				if (!strcmp(names[idx], hl_generic_builtins[k]))
					out->builtins |= 1u << k;
		}
		if (!strcmp(insn.name, "LOAD_ATTR") || !strcmp(insn.name, "LOAD_METHOD")) {
			out->attr_loads++;
			if (top == 0 && self_is_local0 && idx >= 0 && (size_t)idx < nr_names) {
				bool in_loop = false, seen = false;

				for (i = 0; i < nr_loops; i++)
					in_loop |= insn.offset >= loops[i].start &&
						   insn.offset <= loops[i].end;
				out->self_attr_loads++;
				out->self_attr_in_loop += in_loop;
				for (k = 0; k < out->nr_self_attrs; k++)
					seen |= !strcmp(out->self_attrs[k], names[idx]);
				if (!seen && out->nr_self_attrs < HL_SELF_ATTRS_MAX)
					out->self_attrs[out->nr_self_attrs++] = names[idx];
			}
		}
		top = fast_slot(&insn);
	}
	if (rc < 0) {
		out->stop = rc;
		out->stop_offset = (uint32_t)it.pos;
	}
	return 0;
}
