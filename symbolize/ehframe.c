/* symbolize/ehframe.c — see ehframe.h.  The formats are the LSB's .eh_frame (Linux Standard
 * Base Core, "Exception Frames") and DWARF 5 section 6.4 for .debug_frame. */
#include "symbolize/ehframe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* DW_EH_PE_* pointer encodings. */
#define PE_OMIT	    0xff
#define PE_FORMAT   0x0f
#define PE_APPLY    0x70
#define PE_PCREL    0x10
#define PE_INDIRECT 0x80

#define CIE_CACHE 16

struct cursor {
	const uint8_t *base; /* section start */
	size_t pos, end;     /* read position and limit, as offsets from base */
};

struct cie {
	size_t offset; /* of the CIE in the section; SIZE_MAX for an empty cache slot */
	bool usable;   /* false: its FDEs cannot be read (unknown augmentation, bad encoding) */
	uint8_t fde_encoding;
	unsigned addr_size;
};

struct parser {
	const uint8_t *data;
	size_t size;
	uint64_t vaddr;
	unsigned addr_size;
	enum hl_ehframe_kind kind;
	struct cie cache[CIE_CACHE];
};

static bool read_bytes(struct cursor *c, void *out, size_t n)
{
	if (c->end - c->pos < n)
		return false;
	memcpy(out, c->base + c->pos, n);
	c->pos += n;
	return true;
}

static bool read_u8(struct cursor *c, uint8_t *v)
{
	return read_bytes(c, v, 1);
}

static bool read_uleb(struct cursor *c, uint64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		if (!read_u8(c, &b))
			return false;
		if (shift < 64)
			r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (shift > 70) /* 10 bytes are enough for 64 bits: longer is malformed */
			return false;
	} while (b & 0x80);
	*v = r;
	return true;
}

static bool read_sleb(struct cursor *c, int64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		if (!read_u8(c, &b))
			return false;
		if (shift < 64)
			r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (shift > 70)
			return false;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		r |= ~(uint64_t)0 << shift;
	*v = (int64_t)r;
	return true;
}

static bool read_unsigned(struct cursor *c, unsigned n, uint64_t *v)
{
	uint8_t b[8];
	uint64_t r = 0;
	unsigned i;

	if (!read_bytes(c, b, n))
		return false;
	for (i = n; i-- > 0;) /* little-endian: the only byte order hotloop's targets use */
		r = r << 8 | b[i];
	*v = r;
	return true;
}

static bool read_signed(struct cursor *c, unsigned n, uint64_t *v)
{
	if (!read_unsigned(c, n, v))
		return false;
	if (n < 8 && (*v >> (8 * n - 1)) & 1)
		*v |= ~(uint64_t)0 << (8 * n);
	return true;
}

/* Reads a pointer in encoding @enc.  @apply false reads only the value (an FDE's address
 * range uses the format of the encoding without its application). */
static bool read_encoded(const struct parser *p, struct cursor *c, uint8_t enc, unsigned addr_size,
			 bool apply, uint64_t *out)
{
	uint64_t field = p->vaddr + c->pos, v;
	int64_t s;

	if (enc == PE_OMIT)
		return false;
	switch (enc & PE_FORMAT) {
	case 0x00: /* absptr */
		if (!read_unsigned(c, addr_size, &v))
			return false;
		break;
	case 0x01: /* uleb128 */
		if (!read_uleb(c, &v))
			return false;
		break;
	case 0x02: /* udata2 */
		if (!read_unsigned(c, 2, &v))
			return false;
		break;
	case 0x03: /* udata4 */
		if (!read_unsigned(c, 4, &v))
			return false;
		break;
	case 0x04: /* udata8 */
		if (!read_unsigned(c, 8, &v))
			return false;
		break;
	case 0x08: /* signed, address-sized */
		if (!read_signed(c, addr_size, &v))
			return false;
		break;
	case 0x09: /* sleb128 */
		if (!read_sleb(c, &s))
			return false;
		v = (uint64_t)s;
		break;
	case 0x0a: /* sdata2 */
		if (!read_signed(c, 2, &v))
			return false;
		break;
	case 0x0b: /* sdata4 */
		if (!read_signed(c, 4, &v))
			return false;
		break;
	case 0x0c: /* sdata8 */
		if (!read_signed(c, 8, &v))
			return false;
		break;
	default:
		return false;
	}
	if (apply) {
		if (enc & PE_INDIRECT)
			return false; /* the pointer is in memory we do not have */
		switch (enc & PE_APPLY) {
		case 0:
			break;
		case PE_PCREL:
			v += field;
			break;
		default:
			return false; /* textrel, datarel, funcrel, aligned: need more than us */
		}
	}
	if (addr_size == 4)
		v &= 0xffffffffu;
	*out = v;
	return true;
}

/* The header of the entry at @off: its id field's offset and the entry's end.  Returns false
 * at the terminator or on a length that does not fit. */
static bool entry_header(const struct parser *p, size_t off, bool *is64, size_t *id_off,
			 size_t *end)
{
	struct cursor c = {p->data, off, p->size};
	uint64_t len;

	if (!read_unsigned(&c, 4, &len) || len == 0)
		return false;
	*is64 = len == 0xffffffffu;
	if (*is64 && !read_unsigned(&c, 8, &len))
		return false;
	if (len > c.end - c.pos)
		return false;
	*id_off = c.pos;
	*end = c.pos + (size_t)len;
	return true;
}

static bool is_cie_id(const struct parser *p, uint64_t id, bool is64)
{
	if (p->kind == HL_EHFRAME)
		return id == 0;
	return is64 ? id == UINT64_MAX : id == 0xffffffffu;
}

/* Parses the CIE at @off (its augmentation decides how its FDEs encode addresses). */
static void parse_cie(const struct parser *p, size_t off, struct cie *cie)
{
	struct cursor c;
	size_t id_off, end, aug_off, aug_len;
	uint64_t id, u;
	int64_t s;
	uint8_t version, b;
	bool is64;
	const char *aug;

	cie->offset = off;
	cie->usable = false;
	cie->fde_encoding = 0; /* absptr */
	cie->addr_size = p->addr_size;
	if (!entry_header(p, off, &is64, &id_off, &end))
		return;
	c = (struct cursor){p->data, id_off, end};
	if (!read_unsigned(&c, p->kind == HL_DEBUG_FRAME && is64 ? 8 : 4, &id) ||
	    !is_cie_id(p, id, is64) || !read_u8(&c, &version) ||
	    (version != 1 && version != 3 && version != 4))
		return;
	aug_off = c.pos;
	aug = memchr(p->data + c.pos, '\0', c.end - c.pos);
	if (!aug)
		return;
	aug_len = (size_t)((const uint8_t *)aug - (p->data + aug_off));
	c.pos += aug_len + 1;
	aug = (const char *)p->data + aug_off;
	if (aug_len >= 2 && aug[0] == 'e' && aug[1] == 'h') { /* GCC 2.x: an eh pointer */
		if (!read_unsigned(&c, p->addr_size, &u))
			return;
		aug += 2;
		aug_len -= 2;
	}
	if (version >= 4) {
		uint8_t seg;

		if (!read_u8(&c, &b) || !read_u8(&c, &seg) || (b != 4 && b != 8) || seg)
			return;
		cie->addr_size = b;
	}
	if (!read_uleb(&c, &u) || !read_sleb(&c, &s)) /* code and data alignment */
		return;
	if (version == 1 ? !read_u8(&c, &b) : !read_uleb(&c, &u)) /* return address column */
		return;
	if (aug_len == 0) {
		cie->usable = true;
		return;
	}
	if (aug[0] != 'z')
		return; /* an augmentation we cannot skip */
	if (!read_uleb(&c, &u) || u > c.end - c.pos)
		return;
	c.end = c.pos + (size_t)u;
	for (size_t i = 1; i < aug_len; i++) {
		switch (aug[i]) {
		case 'R':
			if (!read_u8(&c, &cie->fde_encoding))
				return;
			cie->usable = true;
			return; /* nothing after R matters to us */
		case 'L':
			if (!read_u8(&c, &b))
				return;
			break;
		case 'P':
			if (!read_u8(&c, &b) ||
			    !read_encoded(p, &c, b & 0x7f, cie->addr_size, false, &u))
				return;
			break;
		case 'S':
		case 'B':
		case 'G':
			break;
		default:
			return; /* unknown: we cannot know where R would be */
		}
	}
	cie->usable = true; /* no R: absptr */
}

static const struct cie *cie_at(struct parser *p, size_t off)
{
	struct cie *slot = &p->cache[(off / 4) % CIE_CACHE];

	if (slot->offset != off)
		parse_cie(p, off, slot);
	return slot;
}

static int append(struct hl_fde_table *t, size_t *cap, uint64_t start, uint64_t end)
{
	if (t->count == *cap) {
		size_t n = *cap ? *cap * 2 : 256;
		struct hl_fde_range *bigger = realloc(t->ranges, n * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		t->ranges = bigger;
		*cap = n;
	}
	t->ranges[t->count++] = (struct hl_fde_range){start, end};
	return 0;
}

int hl_fde_table__parse(struct hl_fde_table *t, const void *data, size_t size, uint64_t vaddr,
			unsigned addr_size, enum hl_ehframe_kind kind)
{
	struct parser p = {data, size, vaddr, addr_size, kind, {{0}}};
	size_t off = 0, cap = t->count, entries = 0;
	unsigned i;
	int err;

	if (addr_size != 4 && addr_size != 8)
		return -EINVAL;
	for (i = 0; i < CIE_CACHE; i++)
		p.cache[i].offset = SIZE_MAX;
	while (off < size) {
		struct cursor c;
		const struct cie *cie;
		size_t id_off, end, cie_off;
		uint64_t id, start, range;
		bool is64;

		if (!entry_header(&p, off, &is64, &id_off, &end))
			break;
		entries++;
		c = (struct cursor){p.data, id_off, end};
		if (!read_unsigned(&c, kind == HL_DEBUG_FRAME && is64 ? 8 : 4, &id))
			break;
		if (is_cie_id(&p, id, is64))
			goto next;
		if (kind == HL_EHFRAME) {
			if (id > id_off)
				goto next;
			cie_off = id_off - (size_t)id;
		} else {
			if (id >= size)
				goto next;
			cie_off = (size_t)id;
		}
		cie = cie_at(&p, cie_off);
		if (!cie->usable)
			goto next;
		if (kind == HL_DEBUG_FRAME && !(cie->fde_encoding & PE_APPLY)) {
			if (!read_unsigned(&c, cie->addr_size, &start) ||
			    !read_unsigned(&c, cie->addr_size, &range))
				goto next;
		} else if (!read_encoded(&p, &c, cie->fde_encoding, cie->addr_size, true, &start) ||
			   !read_encoded(&p, &c, cie->fde_encoding & PE_FORMAT, cie->addr_size,
					 false, &range)) {
			goto next;
		}
		/* Address 0 holds no code in a linked file: FDEs there describe functions the
		 * linker discarded. */
		if (!start || !range || start + range < start)
			goto next;
		err = append(t, &cap, start, start + range);
		if (err)
			return err;
	next:
		off = end;
	}
	return entries ? 0 : -EINVAL;
}

static int range_cmp(const void *a, const void *b)
{
	const struct hl_fde_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

void hl_fde_table__finish(struct hl_fde_table *t)
{
	size_t i, n = 0;

	if (!t->count)
		return;
	qsort(t->ranges, t->count, sizeof(*t->ranges), range_cmp);
	for (i = 0; i < t->count; i++) {
		if (n && t->ranges[n - 1].start == t->ranges[i].start) {
			t->ranges[n - 1] = t->ranges[i]; /* same start: keep the longest */
			continue;
		}
		t->ranges[n++] = t->ranges[i];
	}
	t->count = n;
}

void hl_fde_table__release(struct hl_fde_table *t)
{
	free(t->ranges);
	t->ranges = NULL;
	t->count = 0;
}

const struct hl_fde_range *hl_fde_table__find(const struct hl_fde_table *t, uint64_t addr)
{
	size_t lo = 0, hi = t->count;

	/* The last range starting at or before addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->ranges[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < t->ranges[lo - 1].end)
		return &t->ranges[lo - 1];
	return NULL;
}
