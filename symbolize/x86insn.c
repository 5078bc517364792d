/* symbolize/x86insn.c — see x86insn.h.  The opcode properties below come from the opcode maps
 * of the Intel SDM volume 2, appendix A (one-byte, 0F, 0F38 and 0F3A maps), restricted to
 * what changes an instruction's length in 64-bit mode: a ModRM byte, the immediate's size,
 * and whether the opcode is invalid there. */
#include "symbolize/x86insn.h"

#include <errno.h>
#include <stdbool.h>

#define MAX_LENGTH 15

/* Opcode properties. */
enum {
	M = 1 << 0,	/* a ModRM byte follows (then SIB and displacement as it says) */
	I8 = 1 << 1,	/* imm8 */
	I16 = 1 << 2,	/* imm16 */
	IZ = 1 << 3,	/* imm16 with a 66 prefix, else imm32 */
	IV = 1 << 4,	/* imm64 with REX.W, imm16 with 66, else imm32 (mov reg, imm) */
	MOFFS = 1 << 5, /* an address-sized offset (mov al, [moffs]) */
	BAD = 1 << 6,	/* invalid in 64-bit mode */
	GRP3 = 1 << 7,	/* F6/F7: an immediate only for /0 and /1 (test), decoded by hand */
	REL8 = 1 << 8,
	REL32 = 1 << 9,
	JMP = 1 << 10, /* with REL8/REL32: unconditional */
	CALL = 1 << 11,
	PFX = 1 << 12, /* legacy prefix */
	ESC = 1 << 13, /* 0F, C4, C5, 62: handled by hand */
};

/* clang-format off */
static const uint16_t one_byte[256] = {
	/* 00 */ M, M, M, M, I8, IZ, BAD, BAD, M, M, M, M, I8, IZ, BAD, ESC,
	/* 10 */ M, M, M, M, I8, IZ, BAD, BAD, M, M, M, M, I8, IZ, BAD, BAD,
	/* 20 */ M, M, M, M, I8, IZ, PFX, BAD, M, M, M, M, I8, IZ, PFX, BAD,
	/* 30 */ M, M, M, M, I8, IZ, PFX, BAD, M, M, M, M, I8, IZ, PFX, BAD,
	/* 40: REX, handled before the table is consulted */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 60 */ BAD, BAD, ESC, M, PFX, PFX, PFX, PFX, IZ, M | IZ, I8, M | I8, 0, 0, 0, 0,
	/* 70 */ REL8, REL8, REL8, REL8, REL8, REL8, REL8, REL8,
	REL8, REL8, REL8, REL8, REL8, REL8, REL8, REL8,
	/* 80 */ M | I8, M | IZ, BAD, M | I8, M, M, M, M, M, M, M, M, M, M, M, M,
	/* 90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, BAD, 0, 0, 0, 0, 0,
	/* A0 */ MOFFS, MOFFS, MOFFS, MOFFS, 0, 0, 0, 0, I8, IZ, 0, 0, 0, 0, 0, 0,
	/* B0 */ I8, I8, I8, I8, I8, I8, I8, I8, IV, IV, IV, IV, IV, IV, IV, IV,
	/* C0 */ M | I8, M | I8, I16, 0, ESC, ESC, M | I8, M | IZ, I16 | I8, 0, I16, 0, 0, I8, BAD, 0,
	/* D0 */ M, M, M, M, BAD, BAD, BAD, 0, M, M, M, M, M, M, M, M,
	/* E0 */ REL8, REL8, REL8, REL8, I8, I8, I8, I8,
	REL32 | CALL, REL32 | JMP, BAD, REL8 | JMP, 0, 0, 0, 0,
	/* F0 */ PFX, 0, PFX, PFX, 0, 0, M | GRP3, M | GRP3, 0, 0, 0, 0, 0, 0, M, M,
};

#define M16 M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M

static const uint16_t two_byte[256] = {
	/* 00 */ M, M, M, M, BAD, 0, 0, 0, 0, 0, BAD, 0, BAD, M, 0, M | I8,
	/* 10 */ M16,
	/* 20 */ M, M, M, M, BAD, BAD, BAD, BAD, M, M, M, M, M, M, M, M,
	/* 30 */ 0, 0, 0, 0, 0, 0, BAD, 0, ESC, BAD, ESC, BAD, BAD, BAD, BAD, BAD,
	/* 40 */ M16,
	/* 50 */ M16,
	/* 60 */ M16,
	/* 70 */ M | I8, M | I8, M | I8, M | I8, M, M, M, 0, M, M, M, M, M, M, M, M,
	/* 80 */ REL32, REL32, REL32, REL32, REL32, REL32, REL32, REL32,
	REL32, REL32, REL32, REL32, REL32, REL32, REL32, REL32,
	/* 90 */ M16,
	/* A0 */ 0, 0, 0, M, M | I8, M, BAD, BAD, 0, 0, 0, M, M | I8, M, M, M,
	/* B0 */ M, M, M, M, M, M, M, M, M, M, M | I8, M, M, M, M, M,
	/* C0 */ M, M, M | I8, M, M | I8, M | I8, M | I8, M, 0, 0, 0, 0, 0, 0, 0, 0,
	/* D0 */ M16,
	/* E0 */ M16,
	/* F0 */ M16,
};
/* clang-format on */

struct state {
	const uint8_t *code;
	size_t size, pos;
};

static bool next(struct state *s, uint8_t *b)
{
	if (s->pos >= s->size || s->pos >= MAX_LENGTH)
		return false;
	*b = s->code[s->pos++];
	return true;
}

static bool skip(struct state *s, size_t n)
{
	if (n > s->size - s->pos || s->pos + n > MAX_LENGTH)
		return false;
	s->pos += n;
	return true;
}

/* The ModRM byte, then SIB and displacement.  64-bit mode only has 32/64-bit addressing,
 * whose encodings are the same. */
static int modrm(struct state *s, uint8_t *reg)
{
	uint8_t m, sib;
	unsigned mod, rm;

	if (!next(s, &m))
		return -ENODATA;
	mod = m >> 6;
	rm = m & 7;
	*reg = (m >> 3) & 7;
	if (mod == 3)
		return 0;
	if (rm == 4) {
		if (!next(s, &sib))
			return -ENODATA;
		if (mod == 0 && (sib & 7) == 5)
			return skip(s, 4) ? 0 : -ENODATA;
	}
	if (mod == 0 && rm == 5) /* rip-relative */
		return skip(s, 4) ? 0 : -ENODATA;
	if (mod == 1)
		return skip(s, 1) ? 0 : -ENODATA;
	if (mod == 2)
		return skip(s, 4) ? 0 : -ENODATA;
	return 0;
}

static int read_rel(struct state *s, unsigned n, int64_t *rel)
{
	const uint8_t *p = s->code + s->pos;

	if (!skip(s, n))
		return -ENODATA;
	if (n == 1)
		*rel = (int8_t)p[0];
	else
		*rel = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				 (uint32_t)p[3] << 24);
	return 0;
}

/* The operands after the opcode byte, as @flags describes them. */
static int operands(struct state *s, unsigned flags, bool opsize16, bool addr32, bool rex_w,
		    struct hl_x86_insn *insn)
{
	uint8_t reg = 0;
	size_t imm = 0;
	int err;

	if (flags & BAD)
		return -EINVAL;
	if (flags & M) {
		err = modrm(s, &reg);
		if (err)
			return err;
	}
	if (flags & (REL8 | REL32)) {
		insn->branch = flags & JMP ? HL_X86_JMP : flags & CALL ? HL_X86_CALL : HL_X86_JCC;
		/* 64-bit mode: near branches take rel32 whatever the operand size. */
		return read_rel(s, flags & REL8 ? 1 : 4, &insn->rel);
	}
	if (flags & I8)
		imm += 1;
	if (flags & I16)
		imm += 2;
	if (flags & IZ)
		imm += opsize16 ? 2 : 4;
	if (flags & IV)
		imm += rex_w ? 8 : opsize16 ? 2 : 4;
	if (flags & MOFFS)
		imm += addr32 ? 4 : 8;
	return skip(s, imm) ? 0 : -ENODATA;
}

/* VEX (C4, C5) and EVEX (62): the payload bytes name the map; then opcode and ModRM. */
static int vex(struct state *s, uint8_t first, struct hl_x86_insn *insn)
{
	uint8_t p0, op;
	unsigned map, n = first == 0xc5 ? 1 : first == 0xc4 ? 2 : 3;
	unsigned flags;

	if (!next(s, &p0))
		return -ENODATA;
	map = first == 0xc5 ? 1 : first == 0xc4 ? p0 & 0x1f : p0 & 0x07;
	if (!skip(s, n - 1) || !next(s, &op))
		return -ENODATA;
	switch (map) {
	case 1:
		flags = two_byte[op];
		if (flags & (REL32 | ESC)) /* no branches or escapes in VEX space */
			return -EINVAL;
		if (op == 0x77 && first != 0x62) /* vzeroupper/vzeroall: no ModRM */
			return 0;
		flags |= M;
		break;
	case 2:
	case 5:
	case 6:
		flags = M;
		break;
	case 3:
		flags = M | I8;
		break;
	default:
		return -EINVAL;
	}
	return operands(s, flags, false, false, false, insn);
}

int hl_x86_decode(const uint8_t *code, size_t size, struct hl_x86_insn *insn)
{
	struct state s = {code, size, 0};
	bool opsize16 = false, addr32 = false, rex_w = false;
	unsigned flags;
	uint8_t b;
	int err;

	insn->length = 0;
	insn->branch = HL_X86_OTHER;
	insn->rel = 0;
	for (;;) {
		if (!next(&s, &b))
			return -ENODATA;
		if (b >= 0x40 && b <= 0x4f) {
			rex_w = b & 8;
			if (!next(&s, &b))
				return -ENODATA;
			if (b >= 0x40 && b <= 0x4f) { /* REX REX: the last one counts */
				s.pos--;
				continue;
			}
			if (one_byte[b] & PFX) /* a prefix after REX cancels the REX */
				rex_w = false;
			else
				break;
		}
		if (!(one_byte[b] & PFX))
			break;
		if (b == 0x66)
			opsize16 = true;
		else if (b == 0x67)
			addr32 = true;
	}
	flags = one_byte[b];
	if (b == 0x0f) {
		if (!next(&s, &b))
			return -ENODATA;
		flags = two_byte[b];
		if (b == 0x38) {
			if (!next(&s, &b))
				return -ENODATA;
			flags = M;
		} else if (b == 0x3a) {
			if (!next(&s, &b))
				return -ENODATA;
			flags = M | I8;
		}
		err = operands(&s, flags, opsize16, addr32, rex_w, insn);
	} else if (b == 0xc4 || b == 0xc5 || b == 0x62) {
		err = vex(&s, b, insn);
	} else {
		if (flags & GRP3) {
			/* test r/m, imm (/0, /1) is the only form of F6/F7 with an immediate. */
			uint8_t reg;

			err = modrm(&s, &reg);
			if (!err && reg <= 1)
				err = skip(&s, b == 0xf6 ? 1 : opsize16 ? 2 : 4) ? 0 : -ENODATA;
		} else {
			err = operands(&s, flags, opsize16, addr32, rex_w, insn);
		}
	}
	if (err)
		return err;
	insn->length = (unsigned)s.pos;
	return 0;
}
