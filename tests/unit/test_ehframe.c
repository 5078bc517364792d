/* tests/unit/test_ehframe.c — symbolize/ehframe.c: FDE ranges from sections built here byte
 * by byte (pointer encodings, augmentations, 64-bit lengths, .debug_frame, malformed entries),
 * then from real files against `readelf --debug-dump=frames`. */
#define _GNU_SOURCE
#include "symbolize/ehframe.h"
#include "check.h"
#include "common/util.h"
#include "symbolize/elf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VADDR 0x400000 /* where the built sections are loaded */

struct buf {
	uint8_t b[4096];
	size_t n;
	bool debug_frame;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n <= sizeof(b->b)) {
		memcpy(b->b + b->n, p, n);
		b->n += n;
	}
}

static void put_le(struct buf *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t c = (uint8_t)(v >> (8 * i));

		put(b, &c, 1);
	}
}

static void put_uleb(struct buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		if (v)
			c |= 0x80;
		put(b, &c, 1);
	} while (v);
}

static void put_sleb(struct buf *b, int64_t v)
{
	bool more = true;

	while (more) {
		uint8_t c = v & 0x7f;

		v >>= 7;
		if ((v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40)))
			more = false;
		else
			c |= 0x80;
		put(b, &c, 1);
	}
}

/* A pointer in DW_EH_PE encoding @enc, as the field at the current position holds it. */
static void put_encoded(struct buf *b, uint8_t enc, uint64_t v, bool apply)
{
	if (apply && (enc & 0x70) == 0x10)
		v -= VADDR + b->n;
	switch (enc & 0x0f) {
	case 0x00:
	case 0x04:
	case 0x0c:
		put_le(b, v, 8);
		break;
	case 0x02:
	case 0x0a:
		put_le(b, v, 2);
		break;
	case 0x03:
	case 0x0b:
		put_le(b, v, 4);
		break;
	case 0x01:
		put_uleb(b, v);
		break;
	case 0x09:
		put_sleb(b, (int64_t)v);
		break;
	}
}

static size_t begin_entry(struct buf *b, bool is64)
{
	size_t start = b->n;

	if (is64) {
		put_le(b, 0xffffffff, 4);
		put_le(b, 0, 8);
	} else {
		put_le(b, 0, 4);
	}
	return start;
}

static void end_entry(struct buf *b, size_t start, bool is64)
{
	uint64_t len;

	while ((b->n - start) % 8)
		put_le(b, 0, 1); /* DW_CFA_nop */
	len = b->n - start - (is64 ? 12 : 4);
	if (is64)
		for (int i = 0; i < 8; i++)
			b->b[start + 4 + i] = (uint8_t)(len >> (8 * i));
	else
		for (int i = 0; i < 4; i++)
			b->b[start + i] = (uint8_t)(len >> (8 * i));
}

/* A CIE with augmentation @aug ("", "zR", "zPLR", ...) and FDE encoding @enc. */
static size_t cie(struct buf *b, const char *aug, uint8_t enc, uint8_t version, bool is64)
{
	size_t start = begin_entry(b, is64);

	if (b->debug_frame)
		put_le(b, is64 ? UINT64_MAX : 0xffffffff, is64 ? 8 : 4);
	else
		put_le(b, 0, 4);
	put(b, &version, 1);
	put(b, aug, strlen(aug) + 1);
	if (version >= 4) {
		put_le(b, 8, 1); /* address size */
		put_le(b, 0, 1); /* segment selector size */
	}
	put_uleb(b, 1);	 /* code alignment */
	put_sleb(b, -8); /* data alignment */
	if (version == 1)
		put_le(b, 16, 1);
	else
		put_uleb(b, 16);
	if (aug[0] == 'z') {
		struct buf d = {.n = 0};

		for (const char *a = aug + 1; *a; a++) {
			if (*a == 'P') {
				put_le(&d, 0x03, 1); /* udata4 */
				put_le(&d, 0x12345678, 4);
			} else if (*a == 'L') {
				put_le(&d, 0x1b, 1);
			} else if (*a == 'R') {
				put_le(&d, enc, 1);
			}
		}
		put_uleb(b, d.n);
		put(b, d.b, d.n);
	}
	put_le(b, 0x0c, 1); /* DW_CFA_def_cfa rsp+8 */
	put_le(b, 7, 1);
	put_le(b, 8, 1);
	end_entry(b, start, is64);
	return start;
}

static void fde(struct buf *b, size_t cie_off, uint8_t enc, bool z, uint64_t start, uint64_t range,
		bool is64)
{
	size_t s = begin_entry(b, is64);

	if (b->debug_frame)
		put_le(b, cie_off, is64 ? 8 : 4);
	else
		put_le(b, b->n - cie_off, 4); /* from this field back to the CIE */
	put_encoded(b, enc, start, true);
	put_encoded(b, enc & 0x0f, range, false);
	if (z)
		put_uleb(b, 0); /* augmentation data length */
	put_le(b, 0x41, 1);	/* DW_CFA_advance_loc 1 */
	end_entry(b, s, is64);
}

struct range {
	uint64_t start, end;
};

struct row {
	const char *what;
	void (*build)(struct buf *b);
	bool debug_frame;
	int ret;
	struct range want[6];
};

static void b_pcrel(struct buf *b)
{
	size_t c = cie(b, "zR", 0x1b, 1, false);

	fde(b, c, 0x1b, true, 0x401000, 0x20, false);
	fde(b, c, 0x1b, true, 0x400800, 0x10, false); /* unsorted */
	put_le(b, 0, 4);			      /* terminator */
	fde(b, c, 0x1b, true, 0x500000, 0x10, false); /* after it: not read */
}

static void b_encodings(struct buf *b)
{
	size_t c1 = cie(b, "zR", 0x03, 1, false);   /* udata4, absolute */
	size_t c2 = cie(b, "zPLR", 0x1c, 3, false); /* pcrel sdata8, after P and L */
	size_t c3 = cie(b, "", 0, 1, false);	    /* no augmentation: absptr */
	size_t c4 = cie(b, "zR", 0x09, 1, false);   /* sleb128 */

	fde(b, c1, 0x03, true, 0x402000, 0x30, false);
	fde(b, c2, 0x1c, true, 0x403000, 0x40, false);
	fde(b, c3, 0x00, false, 0x404000, 0x50, false);
	fde(b, c4, 0x09, true, 0x405000, 0x60, false);
}

static void b_unusable(struct buf *b)
{
	size_t unknown = cie(b, "zX", 0x1b, 1, false); /* unknown augmentation before R */
	size_t datarel = cie(b, "zR", 0x3b, 1, false); /* datarel: needs the GOT address */
	size_t v2 = cie(b, "zR", 0x1b, 2, false);      /* CIE version 2 does not exist */
	size_t ok = cie(b, "zR", 0x1b, 1, false);

	fde(b, unknown, 0x1b, true, 0x406000, 0x10, false);
	fde(b, datarel, 0x3b, true, 0x406100, 0x10, false);
	fde(b, v2, 0x1b, true, 0x406200, 0x10, false);
	fde(b, ok, 0x1b, true, 0x406300, 0, false);	       /* empty range */
	fde(b, ok, 0x1b, true, 0, 0x10, false);		       /* discarded by the linker */
	fde(b, b->n + 100, 0x1b, true, 0x406400, 0x10, false); /* CIE pointer past itself */
	fde(b, ok, 0x1b, true, 0x406500, 0x10, false);	       /* the only good one */
}

static void b_truncated(struct buf *b)
{
	size_t c = cie(b, "zR", 0x1b, 1, false);

	fde(b, c, 0x1b, true, 0x407000, 0x10, false);
	put_le(b, 0x1000, 4); /* a length past the end of the section */
	put_le(b, 0, 4);
}

static void b_64bit(struct buf *b)
{
	size_t c = cie(b, "zR", 0x1b, 1, true);

	fde(b, c, 0x1b, true, 0x408000, 0x10, true);
	fde(b, c, 0x1b, true, 0x408000, 0x20, true); /* same start: the longest stays */
}

static void b_debug_frame(struct buf *b)
{
	size_t c;

	b->debug_frame = true;
	c = cie(b, "", 0, 4, false);
	fde(b, c, 0x00, false, 0x409000, 0x70, false);
	c = cie(b, "", 0, 1, true);
	fde(b, c, 0x00, false, 0x40a000, 0x80, true);
}

static void b_garbage(struct buf *b)
{
	put_le(b, 0xffffffff, 4); /* a 64-bit length that is not there */
	put_le(b, 0x12, 2);
}

static const struct row rows[] = {
    {"pcrel sdata4, unsorted, terminator",
     b_pcrel,
     false,
     0,
     {{0x400800, 0x400810}, {0x401000, 0x401020}}},
    {"udata4, pcrel sdata8 after P and L, absptr, sleb128",
     b_encodings,
     false,
     0,
     {{0x402000, 0x402030}, {0x403000, 0x403040}, {0x404000, 0x404050}, {0x405000, 0x405060}}},
    {"unusable CIEs and FDEs are skipped", b_unusable, false, 0, {{0x406500, 0x406510}}},
    {"a length past the end keeps what came before", b_truncated, false, 0, {{0x407000, 0x407010}}},
    {"64-bit lengths, duplicate start", b_64bit, false, 0, {{0x408000, 0x408020}}},
    {".debug_frame: CIE v4 and 64-bit entries",
     b_debug_frame,
     true,
     0,
     {{0x409000, 0x409070}, {0x40a000, 0x40a080}}},
    {"garbage", b_garbage, false, -EINVAL, {{0}}},
};

static void test_rows(void)
{
	for (size_t r = 0; r < HL_ARRAY_SIZE(rows); r++) {
		struct hl_fde_table t = {0};
		struct buf b = {.n = 0};
		char msg[256];
		size_t nwant = 0;
		int ret;

		rows[r].build(&b);
		ret = hl_fde_table__parse(&t, b.b, b.n, rows[r].debug_frame ? 0 : VADDR, 8,
					  rows[r].debug_frame ? HL_DEBUG_FRAME : HL_EHFRAME);
		hl_fde_table__finish(&t);
		snprintf(msg, sizeof(msg), "%s: return", rows[r].what);
		CHECK_INT(rows[r].ret, ret, msg);
		while (nwant < HL_ARRAY_SIZE(rows[r].want) && rows[r].want[nwant].end)
			nwant++;
		snprintf(msg, sizeof(msg), "%s: ranges", rows[r].what);
		CHECK_INT(nwant, t.count, msg);
		for (size_t i = 0; i < nwant && i < t.count; i++) {
			snprintf(msg, sizeof(msg), "%s: range %zu start", rows[r].what, i);
			CHECK_INT(rows[r].want[i].start, t.ranges[i].start, msg);
			snprintf(msg, sizeof(msg), "%s: range %zu end", rows[r].what, i);
			CHECK_INT(rows[r].want[i].end, t.ranges[i].end, msg);
			snprintf(msg, sizeof(msg), "%s: find inside range %zu", rows[r].what, i);
			CHECK(hl_fde_table__find(&t, rows[r].want[i].end - 1) == &t.ranges[i], msg);
			snprintf(msg, sizeof(msg), "%s: find before range %zu", rows[r].what, i);
			CHECK(hl_fde_table__find(&t, rows[r].want[i].start - 1) != &t.ranges[i],
			      msg);
		}
		/* Every prefix of the section: never a read past it (ASan), never a crash. */
		for (size_t cut = 0; cut < b.n; cut++) {
			struct hl_fde_table p = {0};

			hl_fde_table__parse(&p, b.b, cut, VADDR, 8,
					    rows[r].debug_frame ? HL_DEBUG_FRAME : HL_EHFRAME);
			hl_fde_table__finish(&p);
			hl_fde_table__release(&p);
		}
		hl_fde_table__release(&t);
	}
	{
		struct hl_fde_table t = {0};

		CHECK_INT(-EINVAL, hl_fde_table__parse(&t, "", 0, 0, 3, HL_EHFRAME),
			  "address size 3");
		CHECK(!hl_fde_table__find(&t, 0), "empty table finds nothing");
	}
}

/* The FDE ranges readelf lists for @path's .eh_frame, against ours. */
static void test_readelf(const char *path)
{
	struct hl_fde_table t = {0};
	struct hl_elf *e;
	const void *data;
	uint64_t vaddr, size;
	unsigned long agree = 0, listed = 0;
	char cmd[1024], line[512], msg[256];
	FILE *p;

	e = hl_elf__open(path);
	if (!e) {
		fprintf(stderr, "SKIP readelf comparison: no %s\n", path);
		return;
	}
	CHECK_INT(0, hl_elf__find_section(e, ".eh_frame", &vaddr, &size, &data), ".eh_frame");
	CHECK_INT(0, hl_fde_table__parse(&t, data, size, vaddr, 8, HL_EHFRAME), "parse");
	hl_fde_table__finish(&t);
	snprintf(cmd, sizeof(cmd), "readelf --debug-dump=frames '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		unsigned long long start, end;
		const char *pc = strstr(line, " FDE ");
		const struct hl_fde_range *r;

		if (!pc || !(pc = strstr(pc, "pc=")) ||
		    sscanf(pc, "pc=%llx..%llx", &start, &end) != 2 || start == end || !start)
			continue;
		listed++;
		r = hl_fde_table__find(&t, start);
		if (r && r->start == start && r->end == end)
			agree++;
		else if (listed - agree < 5)
			fprintf(stderr, "%s: FDE %#llx..%#llx: ours %#" PRIx64 "..%#" PRIx64 "\n",
				path, start, end, r ? r->start : 0, r ? r->end : 0);
	}
	if (p)
		pclose(p);
	snprintf(msg, sizeof(msg), "%s: %lu of %lu FDEs as readelf lists them (%zu ours)", path,
		 agree, listed, t.count);
	CHECK(listed > 100 && agree == listed && t.count == listed, msg);
	fprintf(stderr, "%s\n", msg);
	hl_fde_table__release(&t);
	hl_elf__free(e);
}

int main(void)
{
	test_rows();
	if (system("command -v readelf >/dev/null 2>&1")) {
		fprintf(stderr, "SKIP readelf comparison: no readelf (apt install binutils)\n");
	} else {
		test_readelf("/lib/x86_64-linux-gnu/libc.so.6");
		test_readelf("/usr/bin/python3.11");
	}
	return check_done();
}
