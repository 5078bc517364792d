/* symbolize/native.c — see native.h.
 *
 * Per binary (struct hl_symbols, hung off struct hl_binary) this keeps:
 *   - the function symbols of every table the binary has (.symtab, .dynsym, the .symtab of
 *     its MiniDebugInfo or of its separate debug file), merged into one array sorted by start
 *     with one symbol per address;
 *   - the FDE ranges of its .eh_frame (symbolize/ehframe.h), which give the start of functions
 *     no symbol names;
 *   - PLT entries as "foo@plt" symbols;
 *   - libdw's view of its DWARF (its own or its debug file's), with our own indexes: address
 *     ranges to compile units (.debug_aranges is optional and often missing), per CU the
 *     subprograms' ranges, per subprogram the tree of its inlined instances (built on first
 *     use; libdw's dwarf_getscopes costs ~0.5 ms per address in CPython's eval loop);
 *   - a cache from file virtual address to the frames computed for it;
 *   - the eval-loop ranges, computed on first use.
 * The tables are loaded in two steps: the binary's own (enough for the eval ranges, which
 * stitching needs before anything is named), then, on the first symbolization, the separate
 * debug file and DWARF, whose lookup needs the process's root.
 */
#define _GNU_SOURCE
#include "symbolize/native.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "common/util.h"
#include "symbolize/addrspace.h"
#include "symbolize/binary.h"
#include "symbolize/ehframe.h"
#include "symbolize/elf.h"
#include "symbolize/perfmap.h"
#include "symbolize/strpool.h"
#include "symbolize/x86insn.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MINIDEBUG_MAX	   (64u << 20)	/* decompressed .gnu_debugdata */
#define MINIDEBUG_MEMLIMIT (256u << 20) /* liblzma's decoder memory */
#define ZERO_SIZE_SPAN	   4096		/* reach of a size-0 symbol without an FDE */
#define NESTED_LOOKBACK	   4		/* symbols inside symbols: how far back to look */
#define CACHE_MAX_FRAMES   (1u << 20)	/* cached frames per binary before starting over */
#define CU_RANGES_MAX	   (4u << 20)
#define INLINE_DEPTH_MAX   64 /* scopes examined per address */
#define EVAL_MAX_PIECES	   32
#define EVAL_PIECE_MAX	   (4u << 20)	/* bytes of one piece we decode */
#define EVAL_DECODE_BUDGET (16u << 20)	/* bytes decoded per binary */
#define PERFMAP_RECHECK_NS 100000000ULL /* re-read a perf map at most every 100 ms */

struct sym {
	uint64_t start, end;
	const char *name;
	uint8_t source; /* enum hl_native_source */
	uint8_t rank;	/* which of several symbols at one address to keep */
};

struct cu_range {
	uint64_t start, end;
	Dwarf_Off die; /* offset of the CU's DIE */
};

struct hl_symbols {
	struct hl_strpool *pool;
	const char *module; /* basename, for "module+0x..." */
	unsigned addr_size; /* 4 or 8 */
	unsigned machine;   /* e_machine */
	bool debug_loaded;  /* the debug file and DWARF were looked for */
	bool has_symtab, has_minidebug;
	struct sym *syms;
	size_t nsyms, cap_syms;
	struct hl_fde_table fdes;
	/* separate debug information */
	struct hl_elf *debug_elf;
	const char *debug_path;
	Dwarf *dwarf;
	struct hl_elf *alt_elf; /* the dwz file of .gnu_debugaltlink */
	Dwarf *alt_dwarf;
	struct cu_range *cus;
	size_t ncus;
	struct hl_map *cu_funcs;   /* CU DIE offset -> struct cu_funcs * */
	struct hl_map *func_index; /* subprogram DIE offset -> struct func_index * */
	/* CFI, for telling a function's entry from the middle of a function */
	Dwarf_CFI *cfi;
	bool cfi_tried;
	/* address -> frames */
	struct hl_map *cache; /* file vaddr -> first frame << 8 | count */
	struct hl_native_frame *frames;
	size_t nframes, cap_frames;
	/* the eval loop */
	bool eval_done;
	int eval_err;
	struct hl_native_range *eval;
	unsigned neval;
};

struct hl_native_proc {
	pid_t pid;
	char *debug_root;
	bool root_known;
	char root[32]; /* "/proc/PID/root" when the process has another root than ours, else "" */
	struct hl_perfmap *perfmap;
	bool perfmap_path_known;
	char perfmap_path[PATH_MAX];
	uint64_t perfmap_checked_ns;
	struct hl_strpool *pool; /* names of modules without a binary */
};

/* ---------------------------------------------------------------------------------------- */
/* Process context. */

struct hl_native_proc *hl_native_proc__new(pid_t pid, const char *debug_root)
{
	struct hl_native_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->debug_root = strdup(debug_root ? debug_root : HL_NATIVE_DEBUG_ROOT);
	p->pool = hl_strpool__new();
	if (!p->debug_root || !p->pool) {
		hl_native_proc__free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void hl_native_proc__free(struct hl_native_proc *p)
{
	if (!p)
		return;
	hl_perfmap__free(p->perfmap);
	hl_strpool__free(p->pool);
	free(p->debug_root);
	free(p);
}

/* The prefix that reaches the process's files: /proc/PID/root when its root directory is not
 * ours (a container), "" otherwise, so host processes cost one lookup per candidate file. */
static const char *proc_root(struct hl_native_proc *p)
{
	struct stat ours, theirs;
	char path[32];

	if (!p || p->pid <= 0)
		return "";
	if (!p->root_known) {
		p->root_known = true;
		snprintf(path, sizeof(path), "/proc/%d/root", (int)p->pid);
		if (!stat(path, &theirs) && !stat("/", &ours) &&
		    (theirs.st_dev != ours.st_dev || theirs.st_ino != ours.st_ino))
			hl_strlcpy(p->root, path, sizeof(p->root));
	}
	return p->root;
}

/* ---------------------------------------------------------------------------------------- */
/* Symbol tables. */

#define RANK_UNSIZED 0x80 /* st_size 0: end is the end of its section until finish_symbols */

/* The end of section @shndx of @elf when it holds @addr, else @addr + ZERO_SIZE_SPAN. */
static uint64_t section_end(Elf *elf, size_t shndx, uint64_t addr)
{
	Elf_Scn *scn = shndx < SHN_LORESERVE ? elf_getscn(elf, shndx) : NULL;
	GElf_Shdr sh;

	if (scn && gelf_getshdr(scn, &sh) && addr >= sh.sh_addr && addr - sh.sh_addr < sh.sh_size)
		return sh.sh_addr + sh.sh_size;
	return addr + ZERO_SIZE_SPAN;
}

static int bind_rank(int bind)
{
	if (bind == STB_GLOBAL)
		return 4;
	return bind == STB_WEAK ? 2 : 0;
}

static int push_sym(struct hl_symbols *st, const struct sym *s)
{
	if (st->nsyms == st->cap_syms) {
		size_t n = st->cap_syms ? st->cap_syms * 2 : 1024;
		struct sym *bigger = realloc(st->syms, n * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		st->syms = bigger;
		st->cap_syms = n;
	}
	st->syms[st->nsyms++] = *s;
	return 0;
}

/* Adds the function symbols of every section of @type in @elf.  @copy: the names must be
 * copied (the ELF image goes away).  Returns the number added or -ENOMEM. */
static long add_symbols(struct hl_symbols *st, Elf *elf, Elf64_Word type,
			enum hl_native_source source, bool copy)
{
	Elf_Scn *scn = NULL;
	long added = 0;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = HL_MIN(sh.sh_size / sh.sh_entsize, (size_t)INT_MAX);
		for (i = 0; i < n; i++) {
			GElf_Sym es;
			const char *name;
			struct sym s;
			int t, bind;

			if (!gelf_getsym(data, (int)i, &es))
				break;
			t = GELF_ST_TYPE(es.st_info);
			if ((t != STT_FUNC && t != STT_GNU_IFUNC) || es.st_shndx == SHN_UNDEF ||
			    !es.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, es.st_name);
			if (!name || !*name)
				continue;
			if (copy) {
				name = hl_strpool__add_str(st->pool, name);
				if (!name)
					return -ENOMEM;
			}
			bind = GELF_ST_BIND(es.st_info);
			s.start = es.st_value;
			s.name = name;
			s.source = (uint8_t)source;
			/* Among symbols at one address: a sized one (a size-0 alias tells nothing),
			 * then global over weak over local (foo over foo.localalias and
			 * __GI_foo), then a full table over .dynsym. */
			s.rank = (uint8_t)((es.st_size ? 8 : 0) + bind_rank(bind) +
					   (source != HL_NATIVE_DYNSYM));
			if (es.st_size && es.st_value + es.st_size > es.st_value) {
				s.end = es.st_value + es.st_size;
			} else {
				/* Sized by finish_symbols; until then, the end of its section. */
				s.end = section_end(elf, es.st_shndx, es.st_value);
				s.rank |= RANK_UNSIZED;
			}
			if (push_sym(st, &s))
				return -ENOMEM;
			added++;
		}
	}
	return added;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	uint8_t rx = x->rank & (uint8_t)~RANK_UNSIZED, ry = y->rank & (uint8_t)~RANK_UNSIZED;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (rx != ry)
		return rx > ry ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sorts, keeps one symbol per address, and gives size-0 symbols (hand-written assembly,
 * _init) an end: the end of their FDE, else the next symbol; never past their section (.init
 * is followed by .plt, which is not _init). */
static void finish_symbols(struct hl_symbols *st)
{
	size_t i, n = 0;

	if (!st->nsyms)
		return;
	qsort(st->syms, st->nsyms, sizeof(*st->syms), sym_cmp);
	for (i = 0; i < st->nsyms; i++) {
		if (n && st->syms[n - 1].start == st->syms[i].start)
			continue;
		st->syms[n++] = st->syms[i];
	}
	st->nsyms = n;
	for (i = 0; i < n; i++) {
		struct sym *s = &st->syms[i];
		const struct hl_fde_range *fde;
		uint64_t end = s->end;

		if (!(s->rank & RANK_UNSIZED))
			continue;
		s->rank &= (uint8_t)~RANK_UNSIZED;
		fde = hl_fde_table__find(&st->fdes, s->start);
		if (fde && fde->end < end)
			end = fde->end;
		else if (!fde && i + 1 < n && st->syms[i + 1].start < end)
			end = st->syms[i + 1].start;
		s->end = end > s->start ? end : s->start + 1;
	}
}

/* Index of the last symbol starting at or below @addr, plus one (0: none). */
static size_t sym_upper(const struct hl_symbols *st, uint64_t addr)
{
	size_t lo = 0, hi = st->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The symbol covering @addr: st_value <= addr < st_value + st_size, never merely the nearest
 * symbol below (which in a stripped binary is usually some unrelated exported function). */
static const struct sym *find_sym(const struct hl_symbols *st, uint64_t addr)
{
	size_t i = sym_upper(st, addr), k;

	for (k = 0; i > 0 && k < NESTED_LOOKBACK; i--, k++)
		if (addr < st->syms[i - 1].end)
			return &st->syms[i - 1];
	return NULL;
}

/* The symbol starting exactly at @addr. */
static const struct sym *sym_at(const struct hl_symbols *st, uint64_t addr)
{
	size_t i = sym_upper(st, addr);

	return i && st->syms[i - 1].start == addr ? &st->syms[i - 1] : NULL;
}

/* Whether a symbol starts in [start, end). */
static bool sym_starts_in(const struct hl_symbols *st, uint64_t start, uint64_t end)
{
	size_t i = start ? sym_upper(st, start - 1) : 0;

	return i < st->nsyms && st->syms[i].start < end;
}

struct got_slot {
	uint64_t addr; /* of the GOT slot a relocation fills */
	const char *name;
};

static int got_slot_cmp(const void *a, const void *b)
{
	const struct got_slot *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The GOT slots that dynamic relocations with a symbol fill (JUMP_SLOT in .rela.plt,
 * GLOB_DAT in .rela.dyn), sorted by address. */
static size_t got_slots(Elf *elf, struct got_slot **out)
{
	struct got_slot *v = NULL;
	size_t n = 0, cap = 0;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Scn *symscn;
		Elf_Data *data, *symdata;
		GElf_Shdr sh, symsh;
		size_t i, count;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		symscn = elf_getscn(elf, sh.sh_link);
		data = elf_getdata(scn, NULL);
		symdata = symscn ? elf_getdata(symscn, NULL) : NULL;
		if (!data || !symdata || !gelf_getshdr(symscn, &symsh) ||
		    symsh.sh_type != SHT_DYNSYM)
			continue;
		count = HL_MIN(sh.sh_size / sh.sh_entsize, (size_t)INT_MAX);
		for (i = 0; i < count; i++) {
			GElf_Rela rela;
			GElf_Sym sym;
			const char *name;

			if (!gelf_getrela(data, (int)i, &rela) || !GELF_R_SYM(rela.r_info) ||
			    !gelf_getsym(symdata, (int)GELF_R_SYM(rela.r_info), &sym))
				continue;
			name = elf_strptr(elf, symsh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			if (n == cap) {
				size_t c = cap ? cap * 2 : 256;
				struct got_slot *bigger = realloc(v, c * sizeof(*bigger));

				if (!bigger)
					goto out;
				v = bigger;
				cap = c;
			}
			v[n++] = (struct got_slot){rela.r_offset, name};
		}
	}
out:
	if (n)
		qsort(v, n, sizeof(*v), got_slot_cmp);
	*out = v;
	return n;
}

/* x86-64 PLT entries, named "foo@plt" as perf and objdump do: calls through the PLT are
 * frequent in profiles and deserve better than "libfoo.so+0x26020".  Each entry of .plt,
 * .plt.sec (IBT) and .plt.got holds a `jmp *SLOT(%rip)` (ff 25 rel32, maybe after endbr64 or a
 * bnd prefix); the dynamic relocation filling SLOT names the function.  Entries without one
 * (the resolver stub, IBT's lazy .plt) stay unnamed. */
static void add_plt_symbols(struct hl_symbols *st, struct hl_elf *e)
{
	static const struct {
		const char *name;
		uint64_t entry;
	} sections[] = {{".plt", 16}, {".plt.sec", 16}, {".plt.got", 8}};
	struct got_slot *slots = NULL;
	size_t nslots, k;

	if (st->machine != EM_X86_64)
		return;
	nslots = got_slots(hl_elf__libelf(e), &slots);
	for (k = 0; nslots && k < HL_ARRAY_SIZE(sections); k++) {
		uint64_t addr, size, off;
		const void *data;
		const uint8_t *code;

		if (hl_elf__find_section(e, sections[k].name, &addr, &size, &data) || !data)
			continue;
		code = data;
		for (off = 0; off + sections[k].entry <= size; off += sections[k].entry) {
			uint64_t j, slot;

			for (j = 0; j + 6 <= sections[k].entry; j++) {
				struct got_slot key, *hit;
				const char *name;
				char buf[512];
				int32_t rel;

				if (code[off + j] != 0xff || code[off + j + 1] != 0x25)
					continue;
				memcpy(&rel, code + off + j + 2, 4);
				slot = addr + off + j + 6 + (uint64_t)(int64_t)rel;
				key.addr = slot;
				hit = bsearch(&key, slots, nslots, sizeof(*slots), got_slot_cmp);
				if (!hit)
					break;
				snprintf(buf, sizeof(buf), "%s@plt", hit->name);
				name = hl_strpool__add_str(st->pool, buf);
				if (!name ||
				    push_sym(st, &(struct sym){addr + off,
							       addr + off + sections[k].entry, name,
							       HL_NATIVE_DYNSYM, 0}))
					goto out;
				break;
			}
		}
	}
out:
	free(slots);
}

/* ---------------------------------------------------------------------------------------- */
/* MiniDebugInfo: an xz-compressed ELF in .gnu_debugdata whose .symtab lists the functions
 * .dynsym lacks (Fedora, RHEL and derivatives ship binaries this way). */

static int xz_decode(const void *in, size_t in_len, size_t limit, uint8_t **out, size_t *out_len)
{
	lzma_stream s = LZMA_STREAM_INIT;
	size_t cap = HL_MIN(HL_MAX(in_len * 4, (size_t)65536), (size_t)limit), n = 0;
	uint8_t *buf = malloc(cap);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	if (lzma_stream_decoder(&s, MINIDEBUG_MEMLIMIT, 0) != LZMA_OK) {
		free(buf);
		return -ENOMEM;
	}
	s.next_in = in;
	s.avail_in = in_len;
	for (;;) {
		lzma_ret r;

		if (n == cap) {
			uint8_t *bigger;

			if (cap >= limit) {
				err = -EFBIG;
				break;
			}
			cap = HL_MIN(cap * 2, (size_t)limit);
			bigger = realloc(buf, cap);
			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			buf = bigger;
		}
		s.next_out = buf + n;
		s.avail_out = cap - n;
		r = lzma_code(&s, LZMA_FINISH);
		n = cap - s.avail_out;
		if (r == LZMA_STREAM_END)
			break;
		if (r != LZMA_OK) {
			err = r == LZMA_MEM_ERROR || r == LZMA_MEMLIMIT_ERROR ? -ENOMEM : -EINVAL;
			break;
		}
	}
	lzma_end(&s);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

static void load_minidebug(struct hl_symbols *st, struct hl_binary *b)
{
	const void *data;
	uint64_t size;
	uint8_t *image;
	size_t len;
	struct hl_elf *mini;
	long added;
	int err;

	if (hl_elf__find_section(b->elf, ".gnu_debugdata", NULL, &size, &data) || !data || !size)
		return;
	err = xz_decode(data, size, MINIDEBUG_MAX, &image, &len);
	if (err) {
		hl_debug("native: %s: cannot decompress .gnu_debugdata: %s", b->path,
			 strerror(-err));
		return;
	}
	mini = hl_elf__open_mem(image, len);
	if (!mini) {
		hl_debug("native: %s: .gnu_debugdata is not an ELF file", b->path);
		free(image);
		return;
	}
	added = add_symbols(st, hl_elf__libelf(mini), SHT_SYMTAB, HL_NATIVE_MINIDEBUG, true);
	st->has_minidebug = added > 0;
	hl_elf__free(mini);
	free(image);
}

/* ---------------------------------------------------------------------------------------- */
/* The binary's own tables. */

static void load_fdes(struct hl_symbols *st, struct hl_elf *elf)
{
	static const struct {
		const char *name;
		enum hl_ehframe_kind kind;
	} sections[] = {{".eh_frame", HL_EHFRAME}, {".debug_frame", HL_DEBUG_FRAME}};
	size_t i;

	for (i = 0; i < HL_ARRAY_SIZE(sections); i++) {
		const void *data;
		uint64_t vaddr, size;

		if (hl_elf__find_section(elf, sections[i].name, &vaddr, &size, &data) || !data)
			continue;
		if (hl_fde_table__parse(&st->fdes, data, size, vaddr, st->addr_size,
					sections[i].kind) == -ENOMEM)
			break;
		if (st->fdes.count)
			break; /* .debug_frame only when .eh_frame gave nothing */
	}
	hl_fde_table__finish(&st->fdes);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static struct hl_symbols *symbols_new(struct hl_binary *b)
{
	struct hl_symbols *st = calloc(1, sizeof(*st));
	Elf *elf = hl_elf__libelf(b->elf);
	GElf_Ehdr eh;

	if (!st)
		return NULL;
	st->pool = hl_strpool__new();
	st->cache = hl_map__new(1024);
	st->cu_funcs = hl_map__new(64);
	st->func_index = hl_map__new(64);
	if (!st->pool || !st->cache || !st->cu_funcs || !st->func_index)
		goto out_free;
	st->module = hl_strpool__add_str(st->pool, base_name(b->path));
	if (!st->module)
		goto out_free;
	st->addr_size = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	st->machine = gelf_getehdr(elf, &eh) ? eh.e_machine : EM_NONE;

	load_fdes(st, b->elf);
	if (add_symbols(st, elf, SHT_SYMTAB, HL_NATIVE_SYMTAB, false) > 0)
		st->has_symtab = true;
	add_symbols(st, elf, SHT_DYNSYM, HL_NATIVE_DYNSYM, false);
	add_plt_symbols(st, b->elf);
	if (!st->has_symtab)
		load_minidebug(st, b);
	finish_symbols(st);
	return st;

out_free:
	hl_symbols__free(st);
	return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Separate debug files. */

static int file_crc32(const char *path, uint32_t *out)
{
	const size_t chunk = 1 << 20;
	uLong crc = crc32(0, NULL, 0);
	unsigned char *buf;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(chunk);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r = read(fd, buf, chunk);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		crc = crc32(crc, buf, (uInt)r);
	}
	free(buf);
	close(fd);
	*out = (uint32_t)crc;
	return err;
}

static bool has_section_data(struct hl_elf *e, const char *name)
{
	const void *data;
	uint64_t size;

	return !hl_elf__find_section(e, name, NULL, &size, &data) && data && size;
}

static bool has_debug_info(struct hl_elf *e)
{
	return has_section_data(e, ".debug_info") || has_section_data(e, ".zdebug_info");
}

static bool has_symtab(struct hl_elf *e)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(hl_elf__libelf(e), scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB && sh.sh_size)
			return true;
	}
	return false;
}

/* Opens @path as the debug file of @b: it must be a regular ELF file holding symbols or
 * DWARF, carry @b's build id when both have one, and, for a debuglink, match its CRC. */
static struct hl_elf *open_debug_candidate(const char *path, const struct hl_binary *b,
					   bool check_crc, uint32_t crc)
{
	char id[HL_BUILD_ID_MAX];
	struct hl_elf *e;
	struct stat st;
	uint32_t have = 0;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return NULL;
	e = hl_elf__open(path);
	if (!e)
		return NULL;
	if (b->build_id[0] && !hl_elf__build_id(e, id, sizeof(id)) && strcmp(id, b->build_id)) {
		hl_debug("native: %s: build id %s, not %s: ignored", path, id, b->build_id);
		goto out_free;
	}
	if (check_crc && (file_crc32(path, &have) || have != crc)) {
		hl_debug("native: %s: CRC32 does not match the debuglink of %s: ignored", path,
			 b->path);
		goto out_free;
	}
	if (!has_symtab(e) && !has_debug_info(e))
		goto out_free;
	return e;

out_free:
	hl_elf__free(e);
	return NULL;
}

/* Tries @path, recording the path that worked. */
static bool try_debug(struct hl_symbols *st, const struct hl_binary *b, const char *path,
		      bool check_crc, uint32_t crc)
{
	st->debug_elf = open_debug_candidate(path, b, check_crc, crc);
	if (!st->debug_elf)
		return false;
	st->debug_path = hl_strpool__add_str(st->pool, path);
	hl_debug("native: %s: debug file %s", b->path, path);
	return true;
}

static bool find_by_build_id(struct hl_symbols *st, const struct hl_binary *b, const char *roots[],
			     unsigned nroots, const char *debug_root)
{
	char path[PATH_MAX];
	unsigned i;

	if (strlen(b->build_id) < 4 ||
	    strspn(b->build_id, "0123456789abcdef") != strlen(b->build_id))
		return false;
	for (i = 0; i < nroots; i++) {
		snprintf(path, sizeof(path), "%s%s/.build-id/%.2s/%s.debug", roots[i], debug_root,
			 b->build_id, b->build_id + 2);
		if (try_debug(st, b, path, false, 0))
			return true;
	}
	return false;
}

static bool find_by_debuglink(struct hl_symbols *st, const struct hl_binary *b, const char *roots[],
			      unsigned nroots, const char *debug_root)
{
	char path[PATH_MAX], dir[PATH_MAX];
	const char *link, *slash;
	GElf_Word crc;
	unsigned i;

	link = dwelf_elf_gnu_debuglink(hl_elf__libelf(b->elf), &crc);
	/* A bare file name: a link is not a way to make us open arbitrary paths. */
	if (!link || !*link || strchr(link, '/') || !strcmp(link, "..") || b->path[0] != '/')
		return false;
	slash = strrchr(b->path, '/');
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - b->path), b->path);
	for (i = 0; i < nroots; i++) {
		snprintf(path, sizeof(path), "%s%s/%s", roots[i], dir, link);
		if (strcmp(path + strlen(roots[i]), b->path) && try_debug(st, b, path, true, crc))
			return true;
		snprintf(path, sizeof(path), "%s%s/.debug/%s", roots[i], dir, link);
		if (try_debug(st, b, path, true, crc))
			return true;
		snprintf(path, sizeof(path), "%s%s%s/%s", roots[i], debug_root, dir, link);
		if (try_debug(st, b, path, true, crc))
			return true;
	}
	return false;
}

/* dwz moves DWARF shared between files into one file named by .gnu_debugaltlink; libdw only
 * follows DW_FORM_GNU_ref_alt / strp_alt once given that file with dwarf_setalt. */
static void load_altlink(struct hl_symbols *st, const char *roots[], unsigned nroots,
			 const char *debug_root)
{
	const char *name;
	const void *id;
	char hex[HL_BUILD_ID_MAX], path[PATH_MAX];
	ssize_t n;
	unsigned i;

	n = dwelf_dwarf_gnu_debugaltlink(st->dwarf, &name, &id);
	if (n <= 0 || (size_t)n * 2 + 1 > sizeof(hex))
		return;
	for (i = 0; i < (unsigned)n; i++)
		snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)id)[i]);
	for (i = 0; i < nroots * 2 && !st->alt_elf; i++) {
		const char *root = roots[i / 2];
		char idnow[HL_BUILD_ID_MAX];

		if (i % 2 == 0)
			snprintf(path, sizeof(path), "%s%s/.build-id/%.2s/%s.debug", root,
				 debug_root, hex, hex + 2);
		else if (name[0] == '/')
			snprintf(path, sizeof(path), "%s%s", root, name);
		else if (st->debug_path && strrchr(st->debug_path, '/'))
			snprintf(path, sizeof(path), "%.*s/%s",
				 (int)(strrchr(st->debug_path, '/') - st->debug_path),
				 st->debug_path, name);
		else
			continue;
		st->alt_elf = hl_elf__open(path);
		if (st->alt_elf &&
		    (hl_elf__build_id(st->alt_elf, idnow, sizeof(idnow)) || strcmp(idnow, hex))) {
			hl_elf__free(st->alt_elf);
			st->alt_elf = NULL;
		}
	}
	if (!st->alt_elf)
		return;
	st->alt_dwarf = dwarf_begin_elf(hl_elf__libelf(st->alt_elf), DWARF_C_READ, NULL);
	if (st->alt_dwarf)
		dwarf_setalt(st->dwarf, st->alt_dwarf);
}

static int cu_cmp(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Address ranges -> compile units, from each CU's DW_AT_low_pc/high_pc/ranges. */
static void load_cus(struct hl_symbols *st)
{
	Dwarf_CU *cu = NULL, *next;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie, subdie;
	size_t cap = 0;

	while (dwarf_get_units(st->dwarf, cu, &next, &version, &unit_type, &cudie, &subdie) == 0) {
		Dwarf_Addr base, start, end;
		ptrdiff_t off = 0;

		cu = next;
		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial)
			continue;
		while ((off = dwarf_ranges(&cudie, off, &base, &start, &end)) > 0) {
			if (!start || end <= start)
				continue; /* discarded by the linker */
			if (st->ncus == CU_RANGES_MAX)
				goto out_sort;
			if (st->ncus == cap) {
				size_t n = cap ? cap * 2 : 256;
				struct cu_range *bigger = realloc(st->cus, n * sizeof(*bigger));

				if (!bigger)
					goto out_sort;
				st->cus = bigger;
				cap = n;
			}
			st->cus[st->ncus++] =
			    (struct cu_range){start, end, dwarf_dieoffset(&cudie)};
		}
	}
out_sort:
	if (st->ncus)
		qsort(st->cus, st->ncus, sizeof(*st->cus), cu_cmp);
}

static void load_debug(struct hl_symbols *st, struct hl_binary *b, struct hl_native_proc *proc)
{
	const char *debug_root = proc ? proc->debug_root : HL_NATIVE_DEBUG_ROOT;
	const char *roots[2];
	unsigned nroots = 0;
	struct hl_elf *dwarf_elf = NULL;

	st->debug_loaded = true;
	if (*proc_root(proc))
		roots[nroots++] = proc_root(proc);
	roots[nroots++] = "";
	if (has_debug_info(b->elf)) {
		dwarf_elf = b->elf;
	} else if (find_by_build_id(st, b, roots, nroots, debug_root) ||
		   (!b->in_memory && find_by_debuglink(st, b, roots, nroots, debug_root))) {
		if (!st->has_symtab && add_symbols(st, hl_elf__libelf(st->debug_elf), SHT_SYMTAB,
						   HL_NATIVE_SYMTAB, false) > 0) {
			st->has_symtab = true;
			finish_symbols(st);
		}
		if (has_debug_info(st->debug_elf))
			dwarf_elf = st->debug_elf;
	}
	if (!dwarf_elf)
		return;
	st->dwarf = dwarf_begin_elf(hl_elf__libelf(dwarf_elf), DWARF_C_READ, NULL);
	if (!st->dwarf) {
		hl_debug("native: %s: unreadable DWARF: %s", b->path, dwarf_errmsg(-1));
		return;
	}
	load_altlink(st, roots, nroots, debug_root);
	load_cus(st);
}

static struct hl_symbols *symbols_get(struct hl_binary *b, struct hl_native_proc *proc, bool debug)
{
	struct hl_symbols *st = b->symbols;

	if (!st) {
		st = symbols_new(b);
		if (!st)
			return NULL;
		b->symbols = st;
	}
	if (debug && !st->debug_loaded)
		load_debug(st, b, proc);
	return st;
}

/* ---------------------------------------------------------------------------------------- */
/* Frames. */

static bool cu_of(const struct hl_symbols *st, uint64_t addr, Dwarf_Die *cudie)
{
	size_t lo = 0, hi = st->ncus, k;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->cus[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (k = 0; lo > 0 && k < NESTED_LOOKBACK; lo--, k++)
		if (addr < st->cus[lo - 1].end)
			return dwarf_offdie(st->dwarf, st->cus[lo - 1].die, cudie) != NULL;
	return false;
}

/* Where a DIE's code starts: DW_AT_entry_pc / low_pc, else its first range. */
static uint64_t die_start(Dwarf_Die *die)
{
	Dwarf_Addr pc, base, start, end;

	if (!dwarf_entrypc(die, &pc))
		return pc;
	if (dwarf_ranges(die, 0, &base, &start, &end) > 0)
		return start;
	return 0;
}

static const char *file_at(Dwarf_Files *files, size_t nfiles, Dwarf_Word index)
{
	if (!files || index >= nfiles)
		return NULL;
	return dwarf_filesrc(files, index, NULL, NULL);
}

/* @file as an interned absolute path: line tables may name files relative to the CU's
 * DW_AT_comp_dir (DWARF 5 directory 0), and "Python/ceval.c" of two builds would otherwise
 * look the same. */
static const char *intern_file(struct hl_symbols *st, Dwarf_Die *cudie, const char *file)
{
	char buf[PATH_MAX];
	Dwarf_Attribute attr;
	const char *dir;

	if (!file)
		return NULL;
	if (file[0] != '/') {
		dir = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr));
		if (dir && dir[0] == '/' &&
		    (size_t)snprintf(buf, sizeof(buf), "%s/%s", dir, file) < sizeof(buf))
			file = buf;
	}
	return hl_strpool__add_str(st->pool, file);
}

/* Finding the scopes of an address.  libdw's dwarf_getscopes walks the CU's DIE tree from the
 * top for every address and evaluates the ranges of every sibling on the way: about 0.5 ms per
 * address in CPython's eval loop, whose one subprogram holds thousands of inlined instances,
 * and as much again for dwarf_getscopes_die.  Instead, per CU, the subprograms' ranges are
 * listed once; per subprogram, the inlined instances are indexed once as a tree (each node
 * with its children's ranges sorted), so an address costs a few binary searches. */

struct cu_func {
	uint64_t start, end;
	Dwarf_Off die;
};

struct cu_funcs {
	struct cu_func *v;
	size_t n;
};

struct inl_node {
	Dwarf_Off die;	       /* the subprogram for node 0, else an inlined_subroutine */
	uint32_t first, count; /* its children's ranges: kids[first, first + count) */
};

struct inl_kid {
	uint64_t start, end;
	uint32_t node;	 /* the child */
	uint32_t parent; /* the node it is inlined into */
};

struct func_index {
	struct inl_node *nodes;
	struct inl_kid *kids;
	uint32_t nnodes, nkids;
};

#define FUNC_NODES_MAX	(1u << 20)
#define FUNC_WALK_DEPTH 64
#define CU_FUNC_DEPTH	8	   /* namespaces inside namespaces */
#define FUNC_DIES_MAX	(4u << 20) /* DIEs visited to index one subprogram */

static void collect_funcs(Dwarf_Die *parent, struct cu_funcs *f, size_t *cap, int depth)
{
	Dwarf_Die child, next;

	if (depth > CU_FUNC_DEPTH || dwarf_child(parent, &child))
		return;
	do {
		int tag = dwarf_tag(&child);

		if (tag == DW_TAG_subprogram) {
			Dwarf_Addr base, start, end;
			ptrdiff_t off = 0;

			while ((off = dwarf_ranges(&child, off, &base, &start, &end)) > 0) {
				if (!start || end <= start ||
				    hl_grow((void **)&f->v, cap, f->n + 1, sizeof(*f->v)))
					continue;
				f->v[f->n++] =
				    (struct cu_func){start, end, dwarf_dieoffset(&child)};
			}
		} else if (tag == DW_TAG_namespace || tag == DW_TAG_module) {
			collect_funcs(&child, f, cap, depth + 1);
		}
		if (dwarf_siblingof(&child, &next))
			break;
		child = next;
	} while (1);
}

static int cu_func_cmp(const void *a, const void *b)
{
	const struct cu_func *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The subprogram of @cudie whose code holds @addr. */
static bool subprogram_of(struct hl_symbols *st, Dwarf_Die *cudie, uint64_t addr, Dwarf_Off *die)
{
	Dwarf_Off key = dwarf_dieoffset(cudie);
	struct cu_funcs *f;
	size_t lo = 0, hi, k, cap = 0;
	uint64_t v;

	if (hl_map__get(st->cu_funcs, key, &v)) {
		f = (struct cu_funcs *)(uintptr_t)v;
	} else {
		f = calloc(1, sizeof(*f));
		if (!f)
			return false;
		collect_funcs(cudie, f, &cap, 0);
		if (f->n)
			qsort(f->v, f->n, sizeof(*f->v), cu_func_cmp);
		if (hl_map__set(st->cu_funcs, key, (uint64_t)(uintptr_t)f)) {
			free(f->v);
			free(f);
			return false;
		}
	}
	hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (k = 0; lo > 0 && k < NESTED_LOOKBACK; lo--, k++) {
		if (addr < f->v[lo - 1].end) {
			*die = f->v[lo - 1].die;
			return true;
		}
	}
	return false;
}

static int kid_cmp(const void *a, const void *b)
{
	const struct inl_kid *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void func_index_free(struct func_index *fi)
{
	if (!fi)
		return;
	free(fi->nodes);
	free(fi->kids);
	free(fi);
}

/* Indexes the inlined instances of subprogram @sub: a depth-first walk through lexical
 * blocks, not into nested subprograms, bounded in depth and in DIEs visited. */
static struct func_index *func_index_build(Dwarf_Die *sub)
{
	struct walk {
		Dwarf_Die die;
		uint32_t parent;
	} stack[FUNC_WALK_DEPTH];
	struct func_index *fi = calloc(1, sizeof(*fi));
	size_t cap_nodes = 0, cap_kids = 0, visited = 0, i;
	unsigned sp = 0;

	if (!fi || hl_grow((void **)&fi->nodes, &cap_nodes, 1, sizeof(*fi->nodes)))
		goto out_free;
	fi->nodes[fi->nnodes++] = (struct inl_node){dwarf_dieoffset(sub), 0, 0};
	if (!dwarf_child(sub, &stack[0].die)) {
		stack[0].parent = 0;
		sp = 1;
	}
	while (sp && visited++ < FUNC_DIES_MAX) {
		Dwarf_Die die = stack[sp - 1].die, next, child;
		uint32_t parent = stack[sp - 1].parent, inner = parent;
		int tag = dwarf_tag(&die);

		if (dwarf_siblingof(&die, &next))
			sp--;
		else
			stack[sp - 1].die = next;
		if (tag == DW_TAG_inlined_subroutine && fi->nnodes < FUNC_NODES_MAX) {
			Dwarf_Addr base, start, end;
			ptrdiff_t off = 0;

			if (hl_grow((void **)&fi->nodes, &cap_nodes, fi->nnodes + 1,
				       sizeof(*fi->nodes)))
				goto out_free;
			inner = fi->nnodes++;
			fi->nodes[inner] = (struct inl_node){dwarf_dieoffset(&die), 0, 0};
			while ((off = dwarf_ranges(&die, off, &base, &start, &end)) > 0) {
				if (end <= start || fi->nkids >= FUNC_NODES_MAX)
					continue;
				if (hl_grow((void **)&fi->kids, &cap_kids, fi->nkids + 1,
					       sizeof(*fi->kids)))
					goto out_free;
				fi->kids[fi->nkids++] = (struct inl_kid){start, end, inner, parent};
			}
		} else if (tag != DW_TAG_lexical_block && tag != DW_TAG_try_block &&
			   tag != DW_TAG_catch_block) {
			continue; /* variables, parameters, labels, nested subprograms */
		}
		if (sp < FUNC_WALK_DEPTH && !dwarf_child(&die, &child)) {
			stack[sp].die = child;
			stack[sp].parent = inner;
			sp++;
		}
	}
	if (fi->nkids)
		qsort(fi->kids, fi->nkids, sizeof(*fi->kids), kid_cmp);
	for (i = 0; i < fi->nkids; i++) {
		struct inl_node *n = &fi->nodes[fi->kids[i].parent];

		if (!n->count)
			n->first = (uint32_t)i;
		n->count++;
	}
	return fi;

out_free:
	func_index_free(fi);
	return NULL;
}

/* The chain of DIEs holding @addr in subprogram @sub_off, innermost first, ending with the
 * subprogram.  Returns how many, 0 on failure. */
static int indexed_scopes(struct hl_symbols *st, Dwarf_Off sub_off, uint64_t addr, Dwarf_Die *dies,
			  int max)
{
	uint32_t chain[INLINE_DEPTH_MAX], node = 0;
	struct func_index *fi;
	int depth = 0, n = 0;
	uint64_t v;

	if (hl_map__get(st->func_index, sub_off, &v)) {
		fi = (struct func_index *)(uintptr_t)v;
	} else {
		Dwarf_Die sub;

		if (!dwarf_offdie(st->dwarf, sub_off, &sub))
			return 0;
		fi = func_index_build(&sub);
		if (!fi)
			return 0;
		if (hl_map__set(st->func_index, sub_off, (uint64_t)(uintptr_t)fi)) {
			func_index_free(fi);
			return 0;
		}
	}
	chain[depth++] = 0;
	while (depth < INLINE_DEPTH_MAX) {
		const struct inl_node *nd = &fi->nodes[node];
		size_t lo = nd->first, hi = (size_t)nd->first + nd->count;

		/* The last child range starting at or below addr; siblings do not overlap. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (fi->kids[mid].start <= addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == nd->first || addr >= fi->kids[lo - 1].end)
			break;
		node = fi->kids[lo - 1].node;
		chain[depth++] = node;
	}
	while (depth > 0 && n < max)
		if (dwarf_offdie(st->dwarf, fi->nodes[chain[--depth]].die, &dies[n]))
			n++;
	return n;
}

/* The same from libdw, for addresses outside every subprogram we listed.  dwarf_getscopes
 * follows an inlined instance to where the inlined function is *defined* (its abstract DIE's
 * scopes); the callers it was inlined into are the concrete nesting of the innermost scope,
 * which dwarf_getscopes_die gives. */
static int libdw_scopes(Dwarf_Die *cudie, uint64_t addr, Dwarf_Die *dies, int max)
{
	Dwarf_Die *scopes = NULL;
	int nscopes, n = 0;

	nscopes = dwarf_getscopes(cudie, addr, &scopes);
	if (nscopes > 0) {
		Dwarf_Die inner = scopes[0];

		free(scopes);
		scopes = NULL;
		nscopes = dwarf_getscopes_die(&inner, &scopes);
	}
	for (int i = 0; i < nscopes && n < max; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram ||
		    tag == DW_TAG_entry_point)
			dies[n++] = scopes[i];
	}
	free(scopes);
	return n;
}

/* The inline chain at @addr from DWARF, innermost first, ending with the subprogram.  Each
 * frame's file:line is where execution is in that function: the address's line for the
 * innermost, the call site (DW_AT_call_file/line of the inlined instance inside it) for the
 * others.  Returns the number of frames, 0 when DWARF does not describe @addr, -1 when it
 * gives a line but no function (out[0] then holds the line). */
static int dwarf_frames(struct hl_symbols *st, uint64_t addr, struct hl_native_frame *out,
			unsigned max)
{
	struct hl_native_frame chain[INLINE_DEPTH_MAX];
	Dwarf_Die cudie, dies[INLINE_DEPTH_MAX];
	Dwarf_Files *files = NULL;
	Dwarf_Off sub;
	size_t nfiles = 0;
	Dwarf_Line *line;
	const char *file = NULL;
	int ndies, i, n = 0, lineno = 0;

	if (!st->dwarf || !cu_of(st, addr, &cudie))
		return 0;
	line = dwarf_getsrc_die(&cudie, addr);
	if (line) {
		file = dwarf_linesrc(line, NULL, NULL);
		if (dwarf_lineno(line, &lineno))
			lineno = 0;
	}
	if (dwarf_getsrcfiles(&cudie, &files, &nfiles))
		files = NULL;
	ndies = subprogram_of(st, &cudie, addr, &sub)
		    ? indexed_scopes(st, sub, addr, dies, INLINE_DEPTH_MAX)
		    : libdw_scopes(&cudie, addr, dies, INLINE_DEPTH_MAX);
	for (i = 0; i < ndies; i++) {
		Dwarf_Die *die = &dies[i];
		struct hl_native_frame *f = &chain[n++];
		Dwarf_Attribute attr;
		Dwarf_Word w;
		const char *name;

		name = dwarf_diename(die);
		f->function = name ? hl_strpool__add_str(st->pool, name) : NULL;
		f->file = intern_file(st, &cudie, file);
		f->line = lineno;
		f->function_start = die_start(die);
		f->inlined = dwarf_tag(die) == DW_TAG_inlined_subroutine;
		f->source = HL_NATIVE_DWARF;
		if (!f->inlined)
			break;
		/* The caller continues at this instance's call site. */
		file = dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &w)
			   ? NULL
			   : file_at(files, nfiles, w);
		lineno = dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &w) || w > INT_MAX
			     ? 0
			     : (int)w;
	}
	if (!n && file) {
		/* Inside a CU but in no function DWARF describes: keep the line. */
		out[0] = (struct hl_native_frame){.file = intern_file(st, &cudie, file),
						  .line = lineno,
						  .source = HL_NATIVE_DWARF};
		return -1;
	}
	if (!n || chain[n - 1].inlined)
		return 0; /* no subprogram: a chain we cannot trust */
	if ((unsigned)n > max) {
		/* Keep the innermost max - 1 frames and the function. */
		chain[max - 1] = chain[n - 1];
		n = (int)max;
	}
	memcpy(out, chain, (size_t)n * sizeof(*out));
	return n;
}

void hl_symbols__free(struct hl_symbols *st)
{
	size_t cursor = 0;
	uint64_t key, v;

	if (!st)
		return;
	while (st->cu_funcs && hl_map__next(st->cu_funcs, &cursor, &key, &v)) {
		struct cu_funcs *f = (struct cu_funcs *)(uintptr_t)v;

		free(f->v);
		free(f);
	}
	cursor = 0;
	while (st->func_index && hl_map__next(st->func_index, &cursor, &key, &v))
		func_index_free((struct func_index *)(uintptr_t)v);
	hl_map__free(st->cu_funcs);
	hl_map__free(st->func_index);
	if (st->dwarf)
		dwarf_end(st->dwarf);
	if (st->alt_dwarf)
		dwarf_end(st->alt_dwarf);
	if (st->cfi)
		dwarf_cfi_end(st->cfi);
	hl_elf__free(st->alt_elf);
	hl_elf__free(st->debug_elf);
	hl_fde_table__release(&st->fdes);
	hl_map__free(st->cache);
	hl_strpool__free(st->pool);
	free(st->syms);
	free(st->cus);
	free(st->frames);
	free(st->eval);
	free(st);
}

static const char *offset_name(struct hl_symbols *st, uint64_t vaddr)
{
	char buf[PATH_MAX + 32];
	const char *s;

	snprintf(buf, sizeof(buf), "%s+0x%llx", st->module, (unsigned long long)vaddr);
	s = hl_strpool__add_str(st->pool, buf);
	return s ? s : st->module;
}

/* The frame for @addr from the symbol tables and FDEs alone. */
static void symbol_frame(struct hl_symbols *st, uint64_t addr, struct hl_native_frame *f)
{
	const struct sym *s = find_sym(st, addr);
	const struct hl_fde_range *fde;

	f->inlined = false;
	if (s) {
		f->function = s->name;
		f->function_start = s->start;
		f->source = s->source;
		return;
	}
	fde = hl_fde_table__find(&st->fdes, addr);
	if (fde) {
		/* A symbol exactly at the FDE's start names the function even when its size
		 * is short of the address. */
		s = sym_at(st, fde->start);
		f->function = s ? s->name : offset_name(st, fde->start);
		f->function_start = fde->start;
		f->source = s ? s->source : HL_NATIVE_FDE;
		return;
	}
	f->function = offset_name(st, addr);
	f->function_start = addr;
	f->source = HL_NATIVE_ADDRESS;
}

static int build_frames(struct hl_symbols *st, uint64_t addr, struct hl_native_frame *out)
{
	struct hl_native_frame sym;
	int n = dwarf_frames(st, addr, out, HL_NATIVE_MAX_FRAMES);

	symbol_frame(st, addr, &sym);
	if (n <= 0) {
		/* n == -1: DWARF gave a line but no function. */
		const char *file = n < 0 ? out[0].file : NULL;
		int line = n < 0 ? out[0].line : 0;

		out[0] = sym;
		out[0].file = file;
		out[0].line = line;
		return 1;
	}
	if (!out[n - 1].function) {
		out[n - 1].function = sym.function;
		out[n - 1].function_start = sym.function_start;
	}
	if (!out[n - 1].function_start)
		out[n - 1].function_start = sym.function_start;
	for (int i = 0; i < n - 1; i++)
		if (!out[i].function)
			out[i].function = "[inlined]";
	return n;
}

static void cache_put(struct hl_symbols *st, uint64_t addr, const struct hl_native_frame *f, int n)
{
	if (st->nframes + (size_t)n > CACHE_MAX_FRAMES) {
		/* A daemon symbolizing for weeks: start over rather than grow without bound.
		 * The strings stay (callers hold them); only the answers are recomputed. */
		hl_map__clear(st->cache);
		st->nframes = 0;
	}
	if (st->nframes + (size_t)n > st->cap_frames) {
		size_t cap = st->cap_frames ? st->cap_frames * 2 : 1024;
		struct hl_native_frame *bigger;

		while (cap < st->nframes + (size_t)n)
			cap *= 2;
		bigger = realloc(st->frames, cap * sizeof(*bigger));
		if (!bigger)
			return; /* caching is an optimization */
		st->frames = bigger;
		st->cap_frames = cap;
	}
	if (hl_map__set(st->cache, addr, (uint64_t)st->nframes << 8 | (uint64_t)n))
		return;
	memcpy(&st->frames[st->nframes], f, (size_t)n * sizeof(*f));
	st->nframes += (size_t)n;
}

static int copy_out(struct hl_native_frame *out, unsigned max, const struct hl_native_frame *f,
		    unsigned n)
{
	if (n > max) {
		/* Drop innermost inlined frames; the function itself stays. */
		f += n - max;
		n = max;
	}
	memcpy(out, f, n * sizeof(*out));
	return (int)n;
}

/* ---------------------------------------------------------------------------------------- */
/* Modules without a binary: anonymous memory (perf maps) and files we could not open. */

static const struct hl_perfmap_sym *perfmap_find(struct hl_native_proc *p, uint64_t addr)
{
	const struct hl_perfmap_sym *s;
	uint64_t now;
	int err;

	if (!p || p->pid <= 0)
		return NULL;
	if (!p->perfmap) {
		p->perfmap = hl_perfmap__new();
		if (!p->perfmap)
			return NULL;
	}
	s = hl_perfmap__find(p->perfmap, addr);
	if (s)
		return s;
	/* A miss may be code the process described after our last read. */
	now = hl_now_monotonic_ns();
	if (p->perfmap_checked_ns && now - p->perfmap_checked_ns < PERFMAP_RECHECK_NS)
		return NULL;
	p->perfmap_checked_ns = now;
	if (!p->perfmap_path_known) {
		p->perfmap_path_known = true;
		if (hl_perfmap_path(p->pid, p->perfmap_path, sizeof(p->perfmap_path)))
			snprintf(p->perfmap_path, sizeof(p->perfmap_path), "/tmp/perf-%d.map",
				 (int)p->pid);
	}
	err = hl_perfmap__update(p->perfmap, p->perfmap_path);
	if (err && err != -ENOENT)
		hl_debug("native: cannot read %s: %s", p->perfmap_path, strerror(-err));
	return hl_perfmap__find(p->perfmap, addr);
}

static int unbacked_frame(struct hl_native_proc *p, const struct hl_module *m, uint64_t addr,
			  struct hl_native_frame *f)
{
	const struct hl_perfmap_sym *s = perfmap_find(p, addr);

	*f = (struct hl_native_frame){
	    .function = "[unknown]", .function_start = addr, .source = HL_NATIVE_ADDRESS};
	if (s) {
		f->function = s->name;
		f->function_start = s->start;
		f->source = HL_NATIVE_PERFMAP;
	} else if (p && m->path && m->path[0] == '/') {
		const char *name = hl_strpool__add_str(p->pool, base_name(m->path));

		if (name)
			f->function = name;
	}
	return 1;
}

int hl_native_symbolize(struct hl_native_proc *proc, const struct hl_module *m, uint64_t addr,
			bool is_return, struct hl_native_frame *out, unsigned max)
{
	struct hl_native_frame frames[HL_NATIVE_MAX_FRAMES];
	struct hl_symbols *st;
	uint64_t vaddr, v;
	int n;

	if (!m || !out || !max)
		return -EINVAL;
	if (is_return && addr)
		addr--; /* inside the call instruction, not after it */
	if (!m->binary)
		return unbacked_frame(proc, m, addr, out);
	st = symbols_get(m->binary, proc, true);
	if (!st)
		return -ENOMEM;
	vaddr = addr - m->bias;
	if (hl_map__get(st->cache, vaddr, &v))
		return copy_out(out, max, &st->frames[v >> 8], (unsigned)(v & 0xff));
	n = build_frames(st, vaddr, frames);
	cache_put(st, vaddr, frames, n);
	return copy_out(out, max, frames, (unsigned)n);
}

/* ---------------------------------------------------------------------------------------- */
/* The eval loop. */

static bool is_eval_name(const char *name, const char *base)
{
	size_t n = strlen(base);

	/* The function itself, or a piece GCC split off it: .cold, .part.N, .isra.N,
	 * .constprop.N, .lto_priv.N. */
	return !strncmp(name, base, n) && (name[n] == '\0' || name[n] == '.');
}

/* Whether @addr is where a function is entered: the CFA is rsp + 8 there (only the return
 * address is on the stack).  The unnamed piece of a split function starts with the frame of
 * the function that jumps into it (e.g. CFA = rbp + 16).  Unknown means yes: an unsure
 * region is left out of the eval ranges. */
static bool is_function_entry(struct hl_symbols *st, struct hl_binary *b, uint64_t addr)
{
	Dwarf_Frame *frame;
	Dwarf_Op *ops;
	size_t nops;
	bool entry = true;

	if (!st->cfi_tried) {
		st->cfi_tried = true;
		st->cfi = dwarf_getcfi_elf(hl_elf__libelf(b->elf));
	}
	if (!st->cfi || dwarf_cfi_addrframe(st->cfi, addr, &frame))
		return true;
	if (!dwarf_frame_cfa(frame, &ops, &nops))
		entry = nops == 1 && ops[0].atom == DW_OP_bregx && ops[0].number == 7 /* rsp */ &&
			ops[0].number2 == 8;
	free(frame);
	return entry;
}

static bool overlaps_eval(const struct hl_symbols *st, uint64_t start, uint64_t end)
{
	unsigned i;

	for (i = 0; i < st->neval; i++)
		if (start < st->eval[i].end && st->eval[i].start < end)
			return true;
	return false;
}

static int add_eval(struct hl_symbols *st, uint64_t start, uint64_t end)
{
	if (st->neval == EVAL_MAX_PIECES || overlaps_eval(st, start, end))
		return 0;
	st->eval[st->neval++] = (struct hl_native_range){start, end};
	return 1;
}

/* A jump from the eval loop to @target, outside every piece found so far: a new piece when
 * no symbol covers the target (named code is some other function, reached by a tail call)
 * and the FDE holding it is not entered there like a function. */
static void consider_target(struct hl_symbols *st, struct hl_binary *b, uint64_t target)
{
	const struct hl_fde_range *fde;

	if (overlaps_eval(st, target, target + 1) || find_sym(st, target))
		return;
	fde = hl_fde_table__find(&st->fdes, target);
	if (!fde || sym_starts_in(st, fde->start, fde->end))
		return;
	if (target == fde->start && is_function_entry(st, b, target))
		return;
	if (add_eval(st, fde->start, fde->end))
		hl_debug("native: %s: unnamed eval piece 0x%llx-0x%llx (jumped to at 0x%llx)",
			 b->path, (unsigned long long)fde->start, (unsigned long long)fde->end,
			 (unsigned long long)target);
}

/* Decodes piece @i and considers every jmp/jcc leaving it. */
static void follow_jumps(struct hl_symbols *st, struct hl_binary *b, unsigned i, size_t *budget)
{
	uint64_t start = st->eval[i].start, len = st->eval[i].end - start, pos = 0;
	uint8_t *code;

	if (len > EVAL_PIECE_MAX || len > *budget)
		return;
	*budget -= len;
	code = malloc(len);
	if (!code)
		return;
	if (hl_elf__read_vaddr(b->elf, start, code, len)) {
		free(code);
		return;
	}
	while (pos < len) {
		struct hl_x86_insn insn;
		uint64_t target;

		if (hl_x86_decode(code + pos, len - pos, &insn)) {
			pos++;
			continue;
		}
		if (insn.branch == HL_X86_JMP || insn.branch == HL_X86_JCC) {
			target = start + pos + insn.length + (uint64_t)insn.rel;
			if (target < start || target >= start + len)
				consider_target(st, b, target);
		}
		pos += insn.length;
	}
	free(code);
}

static int range_cmp(const void *a, const void *b)
{
	const struct hl_native_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void compute_eval(struct hl_symbols *st, struct hl_binary *b)
{
	static const char *const names[] = {"_PyEval_EvalFrameDefault", "PyEval_EvalFrameEx"};
	size_t budget = EVAL_DECODE_BUDGET, i, k;
	unsigned p;

	st->eval_done = true;
	st->eval = calloc(EVAL_MAX_PIECES, sizeof(*st->eval));
	if (!st->eval) {
		st->eval_err = -ENOMEM;
		return;
	}
	/* 3.6+ have _PyEval_EvalFrameDefault, and PyEval_EvalFrameEx is only a wrapper that
	 * calls it: matching the wrapper too would count one Python frame twice. */
	for (k = 0; k < HL_ARRAY_SIZE(names) && !st->neval; k++)
		for (i = 0; i < st->nsyms; i++)
			if (is_eval_name(st->syms[i].name, names[k]))
				add_eval(st, st->syms[i].start, st->syms[i].end);
	if (!st->neval || st->machine != EM_X86_64)
		goto out_sort;
	/* The pieces found by jumping are decoded too: a piece may jump to another one. */
	for (p = 0; p < st->neval; p++)
		follow_jumps(st, b, p, &budget);
out_sort:
	qsort(st->eval, st->neval, sizeof(*st->eval), range_cmp);
}

static struct hl_symbols *eval_symbols(struct hl_binary *b)
{
	struct hl_symbols *st = symbols_get(b, NULL, false);

	if (st && !st->eval_done)
		compute_eval(st, b);
	return st;
}

int hl_native_eval_ranges(struct hl_binary *b, struct hl_native_range *out, unsigned max)
{
	struct hl_symbols *st;

	if (!b)
		return -EINVAL;
	st = eval_symbols(b);
	if (!st)
		return -ENOMEM;
	if (st->eval_err)
		return st->eval_err;
	memcpy(out, st->eval, HL_MIN(max, st->neval) * sizeof(*out));
	return (int)st->neval;
}

bool hl_native_in_eval(const struct hl_module *m, uint64_t addr)
{
	struct hl_symbols *st;
	uint64_t vaddr;
	unsigned i;

	if (!m || !m->binary)
		return false;
	st = eval_symbols(m->binary);
	if (!st)
		return false;
	vaddr = addr - m->bias;
	for (i = 0; i < st->neval; i++)
		if (vaddr >= st->eval[i].start && vaddr < st->eval[i].end)
			return true;
	return false;
}

int hl_native_info(struct hl_native_proc *proc, struct hl_binary *b, struct hl_native_info *info)
{
	struct hl_symbols *st;

	if (!b || !info)
		return -EINVAL;
	st = symbols_get(b, proc, true);
	if (!st)
		return -ENOMEM;
	*info = (struct hl_native_info){
	    .debug_file = st->debug_path,
	    .has_dwarf = st->dwarf != NULL,
	    .has_symtab = st->has_symtab,
	    .has_minidebuginfo = st->has_minidebug,
	    .symbols = st->nsyms,
	    .fdes = st->fdes.count,
	    .compile_units = st->ncus,
	    .cached = hl_map__count(st->cache),
	};
	return 0;
}
