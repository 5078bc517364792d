/* tests/unit/test_native.c — symbolize/native.c on binaries stripped every way real ones are.
 *
 * The fixtures (tests/fixtures/native-sym, built by make-fixture.sh) are one program built
 * and stripped six ways; each copy prints where its functions and three return addresses
 * are, and the table below says what each address must be named in each copy: the inline
 * chain with file:line from DWARF (in the file, or in a separate debug file found by build id
 * or by debuglink, a decoy with the wrong CRC32 beside it), names from MiniDebugInfo, and in a
 * .dynsym-only copy "module+0xSTART" from the FDE — never the exported function just before.
 * Then: a deleted binary still running, symbolized through its live address space; a perf
 * map read while it grows; and two real-world oracles when the machine has them — glibc's
 * debug file from libc6-dbg, and pyenv's libpython3.12 (DWARF) against eu-addr2line -i.
 */
#define _GNU_SOURCE
#include "symbolize/native.h"
#include "check.h"
#include "common/util.h"
#include "symbolize/addrspace.h"
#include "symbolize/binary.h"
#include "symbolize/elf.h"
#include "symbolize/maps.h"

#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char fixture_dir[PATH_MAX];
static char source_file[PATH_MAX];

static bool in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && !strcmp(ci, "true");
}

/* A row that cannot run on this machine: a reason, and a failure in CI. */
static void skip(const char *what, const char *why)
{
	fprintf(stderr, "SKIP %s: %s\n", what, why);
	CHECK(!in_ci(), "nothing the machine supports may be skipped in CI");
}

/* ---------------------------------------------------------------------------------------- */
/* Fixtures. */

#define NADDRS 12
static const char *const addr_names[NADDRS] = {
    "base",	  "inl_outer", "exported_before", "static_after_export", "capture",
    "nofde_func", "leaf_ret",  "exported_ret",	  "static_ret",		 "variant",
    "jit",	  "hostpid",
};

struct addrs {
	uint64_t v[NADDRS];
};

static int addr_index(const char *name)
{
	for (int i = 0; i < NADDRS; i++)
		if (!strcmp(addr_names[i], name))
			return i;
	fprintf(stderr, "test bug: no address named %s\n", name);
	exit(2);
}

/* Parses one "NAME 0xVALUE" line; returns true for "ready". */
static bool parse_addr_line(const char *line, struct addrs *a)
{
	char name[64];
	unsigned long long v;

	if (!strncmp(line, "ready", 5))
		return true;
	if (sscanf(line, "%63s %lli", name, &v) == 2)
		for (int i = 0; i < NADDRS; i++)
			if (!strcmp(addr_names[i], name))
				a->v[i] = v;
	return false;
}

/* Runs @path with @mode; for "wait" returns the running pid once it printed "ready". */
static pid_t run_fixture(const char *path, const char *mode, struct addrs *a)
{
	int fds[2];
	pid_t pid;
	FILE *f;
	char line[256];

	memset(a, 0, sizeof(*a));
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(path, path, mode, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (f && fgets(line, sizeof(line), f))
		if (parse_addr_line(line, a))
			break;
	if (f)
		fclose(f);
	if (strcmp(mode, "wait")) {
		int status;

		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			return -1;
		return 0;
	}
	return pid;
}

/* The line of fixture.c marked "LINE:@tag". */
static int source_line(const char *tag)
{
	char marker[64], line[512];
	FILE *f = fopen(source_file, "r");
	int n = 0;

	snprintf(marker, sizeof(marker), "LINE:%s */", tag);
	while (f && fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, marker)) {
			fclose(f);
			return n;
		}
	}
	if (f)
		fclose(f);
	fprintf(stderr, "test bug: no %s in %s\n", marker, source_file);
	exit(2);
}

/* The binary at @path, opened the way the collector opens a mapping (it is not mapped here,
 * so binary.c falls back from map_files to the path). */
static struct hl_binary *open_binary(struct hl_binary_cache *c, const char *path)
{
	struct hl_mapping m = {.start = 0, .end = 0, .path = path, .executable = true};

	return hl_binary_cache__get(c, getpid(), &m);
}

static struct hl_module module_of(struct hl_binary *b, const char *path)
{
	return (struct hl_module){
	    .start = 0, .end = UINT64_MAX, .bias = 0, .binary = b, .path = path};
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static const char *source_name(int s)
{
	static const char *const names[] = {"dwarf", "symtab",	"minidebug", "dynsym",
					    "fde",   "address", "perfmap"};

	return s >= 0 && s < (int)HL_ARRAY_SIZE(names) ? names[s] : "?";
}

/* A library of a pyenv-installed CPython. */
static void pyenv_lib(char *buf, size_t size, const char *version, const char *soname)
{
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");

	if (root)
		snprintf(buf, size, "%s/versions/%s/lib/%s", root, version, soname);
	else
		snprintf(buf, size, "%s/.pyenv/versions/%s/lib/%s", home ? home : "/root", version,
			 soname);
}

/* ---------------------------------------------------------------------------------------- */
/* What each fixture must answer. */

struct want_frame {
	/* The name, or "+NAME": "<fixture>+0x<file vaddr of NAME + start_delta>" */
	const char *function;
	const char *line_tag; /* NULL: no line expected (file NULL, line 0) */
	bool inlined;
	enum hl_native_source source;
	const char *start_of; /* function_start must be this address (+ start_delta), or NULL */
	int start_delta;
};

struct sym_row {
	const char *fixture;
	const char *addr; /* a printed address */
	int delta;	  /* added to it */
	bool is_return;
	unsigned nframes;
	struct want_frame f[3];
};

#define DW HL_NATIVE_DWARF

static const struct sym_row sym_rows[] = {
    /* Everything in the file: the inline chain of the return address in inl_leaf. */
    {"fixture-full",
     "leaf_ret",
     0,
     true,
     3,
     {{"inl_leaf", "leaf", true, DW, NULL, 0},
      {"inl_middle", "middle", true, DW, NULL, 0},
      {"inl_outer", "outer", false, DW, "inl_outer", 0}}},
    {"fixture-full",
     "static_ret",
     0,
     true,
     1,
     {{"static_after_export", "static", false, DW, "static_after_export", 0}}},
    {"fixture-full",
     "exported_before",
     0,
     false,
     1,
     {{"exported_before", "exported", false, DW, "exported_before", 0}}},
    /* Hand-written assembly: a symbol, no DWARF function. */
    {"fixture-full",
     "nofde_func",
     2,
     false,
     1,
     {{"nofde_func", "asm", false, HL_NATIVE_SYMTAB, "nofde_func", 0}}},
    /* The ELF header: no symbol, no FDE. */
    {"fixture-full", "base", 16, false, 1, {{"+base", NULL, false, HL_NATIVE_ADDRESS, "base", 16}}},

    /* Debug file (DWARF compressed with zlib) by build id. */
    {"fixture-buildid",
     "leaf_ret",
     0,
     true,
     3,
     {{"inl_leaf", "leaf", true, DW, NULL, 0},
      {"inl_middle", "middle", true, DW, NULL, 0},
      {"inl_outer", "outer", false, DW, "inl_outer", 0}}},
    {"fixture-buildid",
     "static_ret",
     0,
     true,
     1,
     {{"static_after_export", "static", false, DW, "static_after_export", 0}}},
    {"fixture-buildid", "capture", 1, false, 1, {{"capture", "capture", false, DW, "capture", 0}}},

    /* Debug file by debuglink in .debug/: the decoy beside the binary has the same name
     * and calls these functions decoy_*. */
    {"fixture-debuglink",
     "static_ret",
     0,
     true,
     1,
     {{"static_after_export", "static", false, DW, "static_after_export", 0}}},
    {"fixture-debuglink",
     "leaf_ret",
     0,
     true,
     3,
     {{"inl_leaf", "leaf", true, DW, NULL, 0},
      {"inl_middle", "middle", true, DW, NULL, 0},
      {"inl_outer", "outer", false, DW, "inl_outer", 0}}},
    {"fixture-debuglink-root",
     "static_ret",
     0,
     true,
     1,
     {{"static_after_export", "static", false, DW, "static_after_export", 0}}},

    /* MiniDebugInfo: static functions from .gnu_debugdata, exported ones from .dynsym. */
    {"fixture-minidebug",
     "static_after_export",
     4,
     false,
     1,
     {{"static_after_export", NULL, false, HL_NATIVE_MINIDEBUG, "static_after_export", 0}}},
    {"fixture-minidebug",
     "leaf_ret",
     0,
     true,
     1,
     {{"inl_outer", NULL, false, HL_NATIVE_MINIDEBUG, "inl_outer", 0}}},
    {"fixture-minidebug",
     "exported_ret",
     0,
     true,
     1,
     {{"exported_before", NULL, false, HL_NATIVE_DYNSYM, "exported_before", 0}}},

    /* .dynsym and .eh_frame only: a static function is module+offset of its FDE's start,
     * not the exported function that precedes it. */
    {"fixture-dynsym",
     "static_after_export",
     4,
     false,
     1,
     {{"+static_after_export", NULL, false, HL_NATIVE_FDE, "static_after_export", 0}}},
    {"fixture-dynsym",
     "static_ret",
     0,
     true,
     1,
     {{"+static_after_export", NULL, false, HL_NATIVE_FDE, "static_after_export", 0}}},
    {"fixture-dynsym",
     "capture",
     1,
     false,
     1,
     {{"+capture", NULL, false, HL_NATIVE_FDE, "capture", 0}}},
    {"fixture-dynsym",
     "exported_ret",
     0,
     true,
     1,
     {{"exported_before", NULL, false, HL_NATIVE_DYNSYM, "exported_before", 0}}},
    /* No symbol and no FDE: the address itself. */
    {"fixture-dynsym",
     "nofde_func",
     2,
     false,
     1,
     {{"+nofde_func", NULL, false, HL_NATIVE_ADDRESS, "nofde_func", 2}}},
};

struct fixture_run {
	const char *name;
	struct addrs a;
	bool ok;
};

static struct fixture_run runs[8];

static const struct addrs *addrs_of(const char *fixture)
{
	char path[PATH_MAX];
	unsigned i;

	for (i = 0; i < HL_ARRAY_SIZE(runs) && runs[i].name; i++)
		if (!strcmp(runs[i].name, fixture))
			return runs[i].ok ? &runs[i].a : NULL;
	if (i == HL_ARRAY_SIZE(runs))
		exit(2);
	runs[i].name = fixture;
	snprintf(path, sizeof(path), "%s/bin/%s", fixture_dir, fixture);
	runs[i].ok = run_fixture(path, "addrs", &runs[i].a) == 0;
	CHECK(runs[i].ok, "fixture runs and prints its addresses");
	return runs[i].ok ? &runs[i].a : NULL;
}

static uint64_t vaddr_of(const struct addrs *a, const char *name)
{
	return a->v[addr_index(name)] - a->v[addr_index("base")];
}

/* The line a tag stands for: LINE:* markers; for "static", "exported", "capture" and "asm"
 * (the top-level asm statement, whose line gcc records without a function) any line. */
static bool line_matches(const char *tag, int line)
{
	if (!strcmp(tag, "static") || !strcmp(tag, "exported") || !strcmp(tag, "capture") ||
	    !strcmp(tag, "asm"))
		return line > 0;
	return line == source_line(tag);
}

static void check_frames(const char *what, const char *fixture, const struct addrs *a,
			 const struct want_frame *want, unsigned nwant,
			 const struct hl_native_frame *got, int n)
{
	char msg[512], expect[256];

	snprintf(msg, sizeof(msg), "%s: frame count", what);
	CHECK_INT(nwant, n, msg);
	for (unsigned i = 0; i < nwant && (int)i < n; i++) {
		const struct want_frame *w = &want[i];
		const struct hl_native_frame *f = &got[i];

		if (w->function[0] == '+')
			snprintf(expect, sizeof(expect), "%s+0x%" PRIx64, fixture,
				 vaddr_of(a, w->function + 1) + (uint64_t)w->start_delta);
		else
			snprintf(expect, sizeof(expect), "%s", w->function);
		snprintf(msg, sizeof(msg), "%s: frame %u function", what, i);
		CHECK_STR(expect, f->function, msg);
		snprintf(msg, sizeof(msg), "%s: frame %u inlined", what, i);
		CHECK_INT(w->inlined, f->inlined, msg);
		snprintf(msg, sizeof(msg), "%s: frame %u source (%s)", what, i,
			 source_name(f->source));
		CHECK_INT(w->source, f->source, msg);
		if (w->start_of) {
			snprintf(msg, sizeof(msg), "%s: frame %u function_start", what, i);
			CHECK_INT(vaddr_of(a, w->start_of) + (uint64_t)w->start_delta,
				  f->function_start, msg);
		}
		if (w->line_tag) {
			snprintf(msg, sizeof(msg), "%s: frame %u file", what, i);
			CHECK(f->file && !strcmp(basename_of(f->file), "fixture.c"), msg);
			snprintf(msg, sizeof(msg), "%s: frame %u line %d for LINE:%s", what, i,
				 f->line, w->line_tag);
			CHECK(line_matches(w->line_tag, f->line), msg);
		} else {
			snprintf(msg, sizeof(msg), "%s: frame %u has no line", what, i);
			CHECK(!f->file && !f->line, msg);
		}
	}
}

static void test_fixture_rows(struct hl_native_proc *proc)
{
	struct hl_binary_cache *cache = hl_binary_cache__new();

	for (unsigned r = 0; r < HL_ARRAY_SIZE(sym_rows); r++) {
		const struct sym_row *row = &sym_rows[r];
		struct hl_native_frame frames[HL_NATIVE_MAX_FRAMES];
		char path[PATH_MAX], what[256];
		const struct addrs *a = addrs_of(row->fixture);
		struct hl_binary *b;
		struct hl_module m;
		uint64_t vaddr;
		int n;

		if (!a)
			continue;
		snprintf(path, sizeof(path), "%s/bin/%s", fixture_dir, row->fixture);
		snprintf(what, sizeof(what), "%s %s%+d%s", row->fixture, row->addr, row->delta,
			 row->is_return ? " (return address)" : "");
		b = open_binary(cache, path);
		CHECK(b != NULL, "fixture opens");
		if (!b)
			continue;
		m = module_of(b, path);
		vaddr = vaddr_of(a, row->addr) + (uint64_t)(int64_t)row->delta;
		n = hl_native_symbolize(proc, &m, vaddr, row->is_return, frames,
					HL_NATIVE_MAX_FRAMES);
		check_frames(what, row->fixture, a, row->f, row->nframes, frames, n);
		/* The second lookup comes from the cache and must say the same. */
		n = hl_native_symbolize(proc, &m, vaddr, row->is_return, frames,
					HL_NATIVE_MAX_FRAMES);
		strcat(what, " (cached)");
		check_frames(what, row->fixture, a, row->f, row->nframes, frames, n);
	}
	hl_binary_cache__free(cache);
}

/* Which debug file each fixture must have used, and what its tables hold. */
static void test_info(struct hl_native_proc *proc)
{
	static const struct {
		const char *fixture;
		const char *debug_suffix; /* NULL: no separate debug file */
		bool dwarf, symtab, minidebug;
	} rows[] = {
	    {"fixture-full", NULL, true, true, false},
	    {"fixture-buildid", ".debug", true, true, false}, /* under .build-id/, below */
	    {"fixture-debuglink", "/bin/.debug/fixture-debuglink.debug", true, true, false},
	    {"fixture-debuglink-root", "/bin/fixture-debuglink-root.debug", true, true, false},
	    {"fixture-minidebug", NULL, false, false, true},
	    {"fixture-dynsym", NULL, false, false, false},
	};
	struct hl_binary_cache *cache = hl_binary_cache__new();

	for (unsigned r = 0; r < HL_ARRAY_SIZE(rows); r++) {
		struct hl_native_info info;
		char path[PATH_MAX], msg[256], root[PATH_MAX];
		struct hl_binary *b;
		size_t ls, lf;

		snprintf(path, sizeof(path), "%s/bin/%s", fixture_dir, rows[r].fixture);
		b = open_binary(cache, path);
		CHECK(b != NULL, "fixture opens");
		if (!b)
			continue;
		snprintf(msg, sizeof(msg), "%s: hl_native_info", rows[r].fixture);
		CHECK_INT(0, hl_native_info(proc, b, &info), msg);
		snprintf(msg, sizeof(msg), "%s: debug file %s", rows[r].fixture,
			 info.debug_file ? info.debug_file : "(none)");
		if (!rows[r].debug_suffix) {
			CHECK(!info.debug_file, msg);
		} else {
			ls = strlen(rows[r].debug_suffix);
			lf = info.debug_file ? strlen(info.debug_file) : 0;
			CHECK(lf >= ls && !strcmp(info.debug_file + lf - ls, rows[r].debug_suffix),
			      msg);
		}
		if (r == 1) {
			snprintf(root, sizeof(root), "%s/debugroot/.build-id/%.2s/%s.debug",
				 fixture_dir, b->build_id, b->build_id + 2);
			CHECK_STR(root, info.debug_file, "fixture-buildid: found by build id");
		}
		if (r == 3) {
			snprintf(root, sizeof(root), "%s/debugroot%s/bin/", fixture_dir,
				 fixture_dir);
			CHECK(info.debug_file && !strncmp(info.debug_file, root, strlen(root)),
			      "fixture-debuglink-root: found under the debug root");
		}
		snprintf(msg, sizeof(msg), "%s: has_dwarf", rows[r].fixture);
		CHECK_INT(rows[r].dwarf, info.has_dwarf, msg);
		snprintf(msg, sizeof(msg), "%s: has_symtab", rows[r].fixture);
		CHECK_INT(rows[r].symtab, info.has_symtab, msg);
		snprintf(msg, sizeof(msg), "%s: has_minidebuginfo", rows[r].fixture);
		CHECK_INT(rows[r].minidebug, info.has_minidebuginfo, msg);
		snprintf(msg, sizeof(msg), "%s: FDEs", rows[r].fixture);
		CHECK(info.fdes > 0, msg);
	}
	hl_binary_cache__free(cache);
}

/* Bad arguments and the truncation rule. */
static void test_api_edges(struct hl_native_proc *proc)
{
	struct hl_binary_cache *cache = hl_binary_cache__new();
	struct hl_native_frame f[HL_NATIVE_MAX_FRAMES];
	const struct addrs *a = addrs_of("fixture-full");
	char path[PATH_MAX];
	struct hl_binary *b;
	struct hl_module m;
	int n;

	snprintf(path, sizeof(path), "%s/bin/fixture-full", fixture_dir);
	b = open_binary(cache, path);
	CHECK(a && b, "fixture-full opens");
	if (!a || !b) {
		hl_binary_cache__free(cache);
		return;
	}
	m = module_of(b, path);
	CHECK_INT(-EINVAL, hl_native_symbolize(proc, &m, 0x1000, false, f, 0), "max == 0");
	CHECK_INT(-EINVAL, hl_native_symbolize(proc, NULL, 0x1000, false, f, 4), "no module");
	/* One frame wanted from a chain of three: the real function, not the innermost. */
	n = hl_native_symbolize(proc, &m, vaddr_of(a, "leaf_ret"), true, f, 1);
	CHECK_INT(1, n, "max 1: one frame");
	if (n == 1) {
		CHECK_STR("inl_outer", f[0].function, "max 1: the real function");
		CHECK_INT(false, f[0].inlined, "max 1: not inlined");
	}
	n = hl_native_symbolize(proc, &m, vaddr_of(a, "leaf_ret"), true, f, 2);
	CHECK_INT(2, n, "max 2: two frames");
	if (n == 2) {
		CHECK_STR("inl_middle", f[0].function, "max 2: innermost dropped");
		CHECK_STR("inl_outer", f[1].function, "max 2: then the function");
	}
	/* Without pc - 1 the return address is the instruction after the call: its line is
	 * not the call's. */
	n = hl_native_symbolize(proc, &m, vaddr_of(a, "leaf_ret"), false, f, HL_NATIVE_MAX_FRAMES);
	CHECK(n >= 1 && f[0].line != source_line("leaf"),
	      "without is_return the line is the one after the call");
	/* A module without a binary and without a process: never an empty answer. */
	{
		struct hl_module anon = {.start = 0x1000, .end = 0x2000, .path = ""};

		n = hl_native_symbolize(NULL, &anon, 0x1800, false, f, 4);
		CHECK_INT(1, n, "anonymous memory: one frame");
		if (n == 1) {
			CHECK_STR("[unknown]", f[0].function, "anonymous memory: [unknown]");
			CHECK_INT(HL_NATIVE_ADDRESS, f[0].source, "anonymous memory: address");
			CHECK_INT(0x1800, f[0].function_start, "anonymous memory: the address");
		}
	}
	CHECK(!hl_native_in_eval(&m, vaddr_of(a, "inl_outer")), "not a Python binary: no eval");
	{
		struct hl_native_range r[4];

		CHECK_INT(0, hl_native_eval_ranges(b, r, 4), "not a Python binary: no ranges");
	}
	hl_binary_cache__free(cache);
}

/* ---------------------------------------------------------------------------------------- */
/* A binary deleted while it runs: the address space reaches it through map_files. */

static void test_deleted(void)
{
	char dir[] = "/tmp/hl-native-XXXXXX", path[PATH_MAX], src[PATH_MAX];
	struct hl_native_frame f[HL_NATIVE_MAX_FRAMES];
	struct hl_binary_cache *cache;
	struct hl_addrspace *as;
	struct hl_native_proc *proc;
	const struct hl_module *m;
	struct addrs a;
	char *image;
	size_t len;
	FILE *out;
	pid_t pid;
	int n;

	if (!mkdtemp(dir)) {
		CHECK(false, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/fixture-deleted", dir);
	snprintf(src, sizeof(src), "%s/bin/fixture-full", fixture_dir);
	if (hl_read_file(src, 64 << 20, &image, &len)) {
		CHECK(false, "read fixture-full");
		rmdir(dir);
		return;
	}
	out = fopen(path, "w");
	CHECK(out && fwrite(image, 1, len, out) == len, "copy fixture-full");
	if (out)
		fclose(out);
	free(image);
	chmod(path, 0755);
	pid = run_fixture(path, "wait", &a);
	unlink(path);
	rmdir(dir);
	CHECK(pid > 0 && a.v[addr_index("static_ret")], "deleted fixture runs");
	if (pid <= 0)
		return;

	cache = hl_binary_cache__new();
	as = hl_addrspace__new(pid, cache);
	proc = hl_native_proc__new(pid, NULL);
	CHECK_INT(0, hl_addrspace__refresh(as), "address space of the deleted fixture");
	m = hl_addrspace__find(as, a.v[addr_index("static_ret")]);
	CHECK(m && m->binary, "the deleted binary is opened");
	if (m && m->binary) {
		CHECK(strstr(m->path, "fixture-deleted") != NULL, "module path");
		n = hl_native_symbolize(proc, m, a.v[addr_index("static_ret")], true, f,
					HL_NATIVE_MAX_FRAMES);
		CHECK_INT(1, n, "deleted: static_ret frames");
		if (n >= 1)
			CHECK_STR("static_after_export", f[0].function, "deleted: static_ret");
		n = hl_native_symbolize(proc, m, a.v[addr_index("leaf_ret")], true, f,
					HL_NATIVE_MAX_FRAMES);
		CHECK_INT(3, n, "deleted: leaf_ret frames");
		if (n == 3) {
			CHECK_STR("inl_leaf", f[0].function, "deleted: inl_leaf");
			CHECK_INT(source_line("leaf"), f[0].line, "deleted: leaf line");
			CHECK_STR("inl_outer", f[2].function, "deleted: inl_outer");
			CHECK_INT(vaddr_of(&a, "inl_outer"), f[2].function_start,
				  "deleted: inl_outer start (file vaddr, bias applied)");
		}
		CHECK(!hl_native_in_eval(m, a.v[addr_index("leaf_ret")]), "deleted: not eval");
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	hl_native_proc__free(proc);
	hl_addrspace__free(as);
	hl_binary_cache__free(cache);
}

/* ---------------------------------------------------------------------------------------- */
/* A process in a container: its own root (chroot) and pid namespace.  The debug file of its
 * binary exists only under its root's /usr/lib/debug, and its perf map is its root's
 * /tmp/perf-1.map (1: its pid as it sees itself), so both are only found through
 * /proc/PID/root and NSpid. */

static pid_t run_in_container(const char *root, struct addrs *a, pid_t *middle)
{
	int fds[2];
	char line[256];
	bool ready = false;
	FILE *f;
	pid_t pid;

	memset(a, 0, sizeof(*a));
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		pid_t inner;

		/* The next child is pid 1 of a new pid namespace, with a mount namespace of its
		 * own (as container runtimes give). */
		if (unshare(CLONE_NEWPID | CLONE_NEWNS))
			_exit(77);
		inner = fork();
		if (inner < 0)
			_exit(1);
		if (inner == 0) {
			dup2(fds[1], 1);
			close(fds[0]);
			close(fds[1]);
			/* Never outlive the test, whatever happens to it. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (chroot(root) || chdir("/"))
				_exit(77);
			execl("/fixture", "/fixture", "wait-perfmap", (char *)NULL);
			_exit(127);
		}
		dprintf(fds[1], "hostpid %d\n", (int)inner);
		close(fds[0]);
		close(fds[1]);
		waitpid(inner, NULL, 0);
		_exit(0);
	}
	*middle = pid;
	close(fds[1]);
	f = fdopen(fds[0], "r");
	/* "hostpid" (from the middle process) may come before or after the fixture's lines. */
	while (f && fgets(line, sizeof(line), f)) {
		if (parse_addr_line(line, a))
			ready = true;
		if (ready && a->v[addr_index("hostpid")])
			break;
	}
	if (f)
		fclose(f);
	return a->v[addr_index("hostpid")] && a->v[addr_index("jit")]
		   ? (pid_t)a->v[addr_index("hostpid")]
		   : -1;
}

static void test_container(void)
{
	char root[PATH_MAX], perfmap[PATH_MAX], prefix[64];
	struct hl_native_frame f[HL_NATIVE_MAX_FRAMES];
	struct hl_native_info info;
	struct hl_binary_cache *cache;
	struct hl_addrspace *as;
	struct hl_native_proc *proc;
	const struct hl_module *m;
	struct addrs a;
	pid_t pid, middle = 0;
	int n;

	if (geteuid()) {
		skip("container", "needs root (chroot, pid namespace)");
		return;
	}
	snprintf(root, sizeof(root), "%s/container-root", fixture_dir);
	pid = run_in_container(root, &a, &middle);
	CHECK(pid > 0, "the fixture runs in a chroot and a pid namespace");
	if (pid <= 0) {
		if (middle > 0) {
			kill(middle, SIGKILL); /* the fixture dies with it (PR_SET_PDEATHSIG) */
			waitpid(middle, NULL, 0);
		}
		return;
	}
	cache = hl_binary_cache__new();
	as = hl_addrspace__new(pid, cache);
	proc = hl_native_proc__new(pid, NULL); /* the default debug root, /usr/lib/debug */
	CHECK_INT(0, hl_addrspace__refresh(as), "container: address space");
	m = hl_addrspace__find(as, a.v[addr_index("static_ret")]);
	CHECK(m && m->binary, "container: the binary opens");
	if (m && m->binary) {
		n = hl_native_symbolize(proc, m, a.v[addr_index("static_ret")], true, f,
					HL_NATIVE_MAX_FRAMES);
		CHECK(n >= 1 && !strcmp(f[n - 1].function, "static_after_export"),
		      "container: name from the debug file inside the container");
		CHECK(n >= 1 && f[n - 1].source == HL_NATIVE_DWARF, "container: with DWARF");
		n = hl_native_symbolize(proc, m, a.v[addr_index("leaf_ret")], true, f,
					HL_NATIVE_MAX_FRAMES);
		CHECK_INT(3, n, "container: inline chain");
		CHECK_INT(0, hl_native_info(proc, m->binary, &info), "container: info");
		snprintf(prefix, sizeof(prefix), "/proc/%d/root/usr/lib/debug/.build-id/",
			 (int)pid);
		CHECK(info.debug_file && !strncmp(info.debug_file, prefix, strlen(prefix)),
		      "container: debug file under /proc/PID/root");
	}
	m = hl_addrspace__find(as, a.v[addr_index("jit")]);
	CHECK(m && !m->binary, "container: anonymous code");
	if (m) {
		n = hl_native_symbolize(proc, m, a.v[addr_index("jit")] + 8, false, f, 4);
		CHECK_INT(1, n, "container: perf map frame");
		CHECK_STR("jit::fixture_code", f[0].function,
			  "container: perf map at /proc/PID/root/tmp/perf-NSPID.map");
	}
	kill(pid, SIGKILL);
	waitpid(middle, NULL, 0);
	snprintf(perfmap, sizeof(perfmap), "%s/tmp/perf-1.map", root);
	unlink(perfmap);
	hl_native_proc__free(proc);
	hl_addrspace__free(as);
	hl_binary_cache__free(cache);
}

/* ---------------------------------------------------------------------------------------- */
/* Anonymous executable memory named by this process's own perf map, which grows. */

static void test_perfmap_process(void)
{
	char path[64];
	struct hl_native_frame f[4];
	struct hl_binary_cache *cache = hl_binary_cache__new();
	struct hl_addrspace *as = hl_addrspace__new(getpid(), cache);
	struct hl_native_proc *proc = hl_native_proc__new(getpid(), NULL);
	const struct hl_module *m;
	struct timespec pause = {0, 150 * 1000 * 1000};
	uint8_t *code;
	FILE *pm;
	int n;

	code = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(code != MAP_FAILED, "mmap executable memory");
	if (code == MAP_FAILED)
		return;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	pm = fopen(path, "w");
	CHECK(pm != NULL, "create this process's perf map");
	if (!pm)
		return;
	fprintf(pm, "%lx 100 py::outer:/srv/app.py\n", (unsigned long)(uintptr_t)code);
	fprintf(pm, "%lx 100 py::with space:/srv/my app.py\n",
		(unsigned long)(uintptr_t)(code + 0x100));
	fflush(pm);

	CHECK_INT(0, hl_addrspace__refresh(as), "own address space");
	m = hl_addrspace__find(as, (uintptr_t)code + 0x10);
	CHECK(m && !m->binary, "anonymous module");
	if (m) {
		n = hl_native_symbolize(proc, m, (uintptr_t)code + 0x10, false, f, 4);
		CHECK_INT(1, n, "perf map: one frame");
		CHECK_STR("py::outer:/srv/app.py", f[0].function, "perf map: name");
		CHECK_INT(HL_NATIVE_PERFMAP, f[0].source, "perf map: source");
		CHECK_INT((uintptr_t)code, f[0].function_start, "perf map: start");
		/* The return address one past the entry's end belongs to it (pc - 1). */
		n = hl_native_symbolize(proc, m, (uintptr_t)code + 0x200, true, f, 4);
		CHECK_STR("py::with space:/srv/my app.py", f[0].function, "perf map: pc - 1");
		n = hl_native_symbolize(proc, m, (uintptr_t)code + 0x200, false, f, 4);
		CHECK_STR("[unknown]", f[0].function, "perf map: past the last entry");
		/* The process describes more code; the next miss after the recheck interval
		 * reads what was appended. */
		fprintf(pm, "%lx 80 py::later:/srv/app.py\n",
			(unsigned long)(uintptr_t)(code + 0x200));
		fflush(pm);
		nanosleep(&pause, NULL);
		n = hl_native_symbolize(proc, m, (uintptr_t)code + 0x210, false, f, 4);
		CHECK_STR("py::later:/srv/app.py", f[0].function, "perf map: appended line");
	}
	fclose(pm);
	unlink(path);
	munmap(code, 8192);
	hl_native_proc__free(proc);
	hl_addrspace__free(as);
	hl_binary_cache__free(cache);
}

/* ---------------------------------------------------------------------------------------- */
/* glibc with libc6-dbg: a static function of libc.so.6 (not in its .dynsym) named from the
 * debug file found by build id under /usr/lib/debug. */

static void test_libc_debug(void)
{
	struct hl_binary_cache *cache = hl_binary_cache__new();
	struct hl_addrspace *as = hl_addrspace__new(getpid(), cache);
	struct hl_native_proc *proc = hl_native_proc__new(getpid(), NULL);
	struct hl_native_frame f[HL_NATIVE_MAX_FRAMES];
	struct hl_native_info info;
	const struct hl_module *m;
	char path[PATH_MAX], name[256] = "";
	struct hl_elf *debug;
	uint64_t value = 0, size = 0;
	Elf_Scn *scn = NULL;
	Elf *elf;
	int n;

	hl_addrspace__refresh(as);
	m = hl_addrspace__find(as, (uintptr_t)&getpid);
	if (!m || !m->binary || !strstr(m->path, "libc.so")) {
		skip("libc debug file", "getpid is not in a libc.so mapping");
		goto out;
	}
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", m->binary->build_id,
		 m->binary->build_id + 2);
	debug = hl_elf__open(path);
	if (!debug) {
		skip("libc debug file", "no libc6-dbg for this libc (apt install libc6-dbg)");
		goto out;
	}
	/* A local, sized function without a '.' suffix, not exported. */
	elf = hl_elf__libelf(debug);
	while (!name[0] && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *sn;
			uint64_t dv;

			if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    GELF_ST_BIND(s.st_info) != STB_LOCAL || s.st_size < 64 ||
			    s.st_shndx == SHN_UNDEF)
				continue;
			sn = elf_strptr(elf, sh.sh_link, s.st_name);
			if (!sn || strchr(sn, '.') || !strncmp(sn, "__", 2) ||
			    !hl_elf__find_symbol(m->binary->elf, sn, &dv, NULL))
				continue;
			snprintf(name, sizeof(name), "%s", sn);
			value = s.st_value;
			size = s.st_size;
			break;
		}
	}
	hl_elf__free(debug);
	CHECK(name[0], "a static function in libc's debug file");
	if (!name[0])
		goto out;
	n = hl_native_symbolize(proc, m, value + size / 2 + m->bias, false, f,
				HL_NATIVE_MAX_FRAMES);
	CHECK(n >= 1, "libc: frames");
	if (n >= 1) {
		char msg[512];

		snprintf(msg, sizeof(msg), "libc: the static function %s", name);
		CHECK_STR(name, f[n - 1].function, msg);
		CHECK_INT(value, f[n - 1].function_start, "libc: its start");
		CHECK(f[0].file && f[0].line > 0, "libc: file:line from the debug file");
	}
	CHECK_INT(0, hl_native_info(proc, m->binary, &info), "libc: info");
	CHECK_STR(path, info.debug_file, "libc: debug file by build id");
out:
	hl_native_proc__free(proc);
	hl_addrspace__free(as);
	hl_binary_cache__free(cache);
}

/* ---------------------------------------------------------------------------------------- */
/* pyenv's libpython3.12 (DWARF in the file) against elfutils' eu-addr2line -i -f: same inline
 * chains, names, files and lines, over the body of _PyEval_EvalFrameDefault and a few other
 * functions. */

struct a2l_frame {
	char function[256];
	char file[PATH_MAX];
	int line;
};

/* Reads one address's answer: pairs of lines "NAME[ inlined at ...]" / "FILE:LINE[:COL]",
 * up to the "??" / "??:0" pair of the separator address 0. */
static int read_a2l(FILE *f, struct a2l_frame *out, int max)
{
	char name[1024], loc[PATH_MAX + 64];
	int n = 0;

	while (fgets(name, sizeof(name), f) && fgets(loc, sizeof(loc), f)) {
		char *s, *colon;

		name[strcspn(name, "\n")] = '\0';
		loc[strcspn(loc, "\n")] = '\0';
		if (!strcmp(name, "??") && !strcmp(loc, "??:0"))
			return n;
		if (n == max)
			continue;
		s = strstr(name, " inlined at ");
		if (s)
			*s = '\0';
		snprintf(out[n].function, sizeof(out[n].function), "%s", name);
		/* FILE:LINE:COL or FILE:LINE */
		colon = strrchr(loc, ':');
		if (colon && strchr(loc, ':') != colon) {
			char *prev;

			*colon = '\0';
			prev = strrchr(loc, ':');
			if (prev && atoi(prev + 1) > 0) {
				*prev = '\0';
				out[n].line = atoi(prev + 1);
			} else {
				out[n].line = atoi(colon + 1);
			}
		} else if (colon) {
			*colon = '\0';
			out[n].line = atoi(colon + 1);
		}
		snprintf(out[n].file, sizeof(out[n].file), "%s", loc);
		n++;
	}
	return -1;
}

/* Symbolizes @per addresses spread over each function of @funcs (the first gets @first) in
 * the binary at @path and compares every frame with eu-addr2line's.  (Not for glibc: there
 * eu-addr2line names the outer frame after a symbol alias, __GI___libc_malloc, and answers
 * the separator address 0 with a version name.) */
static void compare_with_addr2line(const char *label, const char *path, const char *const *funcs,
				   unsigned nfuncs, unsigned first, unsigned per,
				   unsigned min_inlined)
{
	struct hl_binary_cache *cache = hl_binary_cache__new();
	static char cmd[65536];
	char msg[512];
	uint64_t addrs[1024];
	unsigned naddrs = 0, compared = 0, inlined = 0;
	struct hl_binary *b;
	struct hl_module m;
	FILE *p;

	if (access(path, R_OK)) {
		snprintf(msg, sizeof(msg), "no %s", path);
		skip(label, msg);
		goto out;
	}
	if (system("command -v eu-addr2line >/dev/null 2>&1")) {
		skip(label, "no eu-addr2line (apt install elfutils)");
		goto out;
	}
	b = open_binary(cache, path);
	CHECK(b != NULL, "binary opens");
	if (!b)
		goto out;
	m = module_of(b, path);
	for (unsigned i = 0; i < nfuncs; i++) {
		uint64_t v, size;
		unsigned k, n = i == 0 ? first : per;

		if (hl_elf__find_symbol(b->elf, funcs[i], &v, &size) || !size)
			continue;
		/* Inside the function: past its end eu-addr2line has no function to name. */
		for (k = 0; k < n && naddrs < HL_ARRAY_SIZE(addrs); k++)
			addrs[naddrs++] = v + HL_MIN(size * k / n + 1, size - 1);
	}
	snprintf(msg, sizeof(msg), "%s: addresses to compare", label);
	CHECK(naddrs >= first, msg);
	snprintf(cmd, sizeof(cmd), "eu-addr2line -i -f -e '%s'", path);
	for (unsigned i = 0; i < naddrs; i++) {
		size_t l = strlen(cmd);

		snprintf(cmd + l, sizeof(cmd) - l, " %#" PRIx64 " 0", addrs[i]);
	}
	p = popen(cmd, "r");
	CHECK(p != NULL, "run eu-addr2line");
	for (unsigned i = 0; p && i < naddrs; i++) {
		struct a2l_frame want[HL_NATIVE_MAX_FRAMES];
		struct hl_native_frame got[HL_NATIVE_MAX_FRAMES];
		int nw = read_a2l(p, want, HL_NATIVE_MAX_FRAMES), ng;

		if (nw < 0) {
			CHECK(false, "eu-addr2line output ends early");
			break;
		}
		ng = hl_native_symbolize(NULL, &m, addrs[i], false, got, HL_NATIVE_MAX_FRAMES);
		snprintf(msg, sizeof(msg), "%s %#" PRIx64 ": frames", label, addrs[i]);
		CHECK_INT(nw, ng, msg);
		if (nw != ng)
			continue;
		compared++;
		inlined += ng > 1;
		for (int k = 0; k < nw; k++) {
			snprintf(msg, sizeof(msg), "%s %#" PRIx64 " frame %d function", label,
				 addrs[i], k);
			CHECK_STR(want[k].function, got[k].function, msg);
			snprintf(msg, sizeof(msg), "%s %#" PRIx64 " frame %d file", label, addrs[i],
				 k);
			CHECK_STR(want[k].file, got[k].file, msg);
			snprintf(msg, sizeof(msg), "%s %#" PRIx64 " frame %d line", label, addrs[i],
				 k);
			CHECK_INT(want[k].line, got[k].line, msg);
			snprintf(msg, sizeof(msg), "%s %#" PRIx64 " frame %d inlined", label,
				 addrs[i], k);
			CHECK_INT(k < nw - 1, got[k].inlined, msg);
		}
	}
	/* eu-addr2line exits 1 when an address (our separators) has no answer. */
	if (p)
		CHECK_INT(1, WEXITSTATUS(pclose(p)), "eu-addr2line exit status");
	fprintf(stderr, "%s: %u of %u addresses agree with eu-addr2line, %u with inlining\n", label,
		compared, naddrs, inlined);
	snprintf(msg, sizeof(msg), "%s: the sample exercises inline chains", label);
	CHECK(inlined >= min_inlined, msg);
out:
	hl_binary_cache__free(cache);
}

/* pyenv's libpython3.12 (DWARF in the file): the eval loop, thousands of inlined instances. */
static void test_libpython_vs_addr2line(void)
{
	static const char *const funcs[] = {
	    "_PyEval_EvalFrameDefault", "PyObject_Malloc",
	    "PyDict_GetItem",		"_PyObject_MakeTpCall",
	    "PyUnicode_FromFormatV",	"_PyObject_GenericGetAttrWithDict"};
	char lib[PATH_MAX];

	pyenv_lib(lib, sizeof(lib), "3.12.1", "libpython3.12.so.1.0");
	compare_with_addr2line("libpython3.12", lib, funcs, HL_ARRAY_SIZE(funcs), 400, 40, 50);
}

/* ---------------------------------------------------------------------------------------- */
/* PLT entries are named "foo@plt", as objdump names them. */

static void test_plt_vs_objdump(const char *path)
{
	struct hl_binary_cache *cache = hl_binary_cache__new();
	unsigned long listed = 0, agree = 0;
	char cmd[PATH_MAX + 128], line[1024], msg[PATH_MAX + 128];
	struct hl_binary *b;
	struct hl_module m;
	FILE *p;

	if (access(path, R_OK) || system("command -v objdump >/dev/null 2>&1")) {
		snprintf(msg, sizeof(msg), "no %s or no objdump", path);
		skip("PLT names", msg);
		goto out;
	}
	b = open_binary(cache, path);
	CHECK(b != NULL, "binary for PLT names opens");
	if (!b)
		goto out;
	m = module_of(b, path);
	snprintf(cmd, sizeof(cmd), "objdump -d -j .plt -j .plt.sec -j .plt.got '%s' 2>/dev/null",
		 path);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		struct hl_native_frame f[HL_NATIVE_MAX_FRAMES];
		unsigned long long addr;
		char name[512];
		int n;

		/* "0000000000026030 <free@plt>:" */
		if (sscanf(line, "%llx <%511[^>]>:", &addr, name) != 2 || !strstr(name, "@plt") ||
		    strchr(name, '-') || strchr(name, '+'))
			continue;
		listed++;
		n = hl_native_symbolize(NULL, &m, addr + 2, false, f, HL_NATIVE_MAX_FRAMES);
		if (n == 1 && !strcmp(f[0].function, name) && f[0].function_start == addr)
			agree++;
		else if (listed - agree <= 5)
			fprintf(stderr, "%s: %#llx: objdump %s, ours %s\n", path, addr, name,
				n > 0 ? f[n - 1].function : "-");
	}
	if (p)
		pclose(p);
	snprintf(msg, sizeof(msg), "%s: %lu of %lu PLT entries named as objdump names them", path,
		 agree, listed);
	CHECK(listed > 10 && agree == listed, msg);
	fprintf(stderr, "%s\n", msg);
out:
	hl_binary_cache__free(cache);
}

/* ---------------------------------------------------------------------------------------- */
/* Cost of a warm lookup (reported, never a verdict). */

static void report_cost(struct hl_native_proc *proc)
{
	struct hl_binary_cache *cache = hl_binary_cache__new();
	struct hl_native_frame f[HL_NATIVE_MAX_FRAMES];
	const struct addrs *a = addrs_of("fixture-full");
	char path[PATH_MAX];
	struct hl_binary *b;
	struct hl_module m;
	uint64_t t0, t1, sink = 0;
	const int rounds = 200000;

	snprintf(path, sizeof(path), "%s/bin/fixture-full", fixture_dir);
	b = open_binary(cache, path);
	if (!a || !b) {
		hl_binary_cache__free(cache);
		return;
	}
	m = module_of(b, path);
	t0 = hl_now_monotonic_ns();
	hl_native_symbolize(proc, &m, vaddr_of(a, "leaf_ret"), true, f, HL_NATIVE_MAX_FRAMES);
	t1 = hl_now_monotonic_ns();
	fprintf(stderr, "cold lookup (tables, DWARF): %.1f us\n", (t1 - t0) / 1e3);
	t0 = hl_now_monotonic_ns();
	for (int i = 0; i < rounds; i++)
		sink += (uint64_t)hl_native_symbolize(proc, &m, vaddr_of(a, "leaf_ret"), true, f,
						      HL_NATIVE_MAX_FRAMES);
	t1 = hl_now_monotonic_ns();
	fprintf(stderr, "warm lookup (3 frames): %.3f us\n", (t1 - t0) / 1e3 / rounds);
	CHECK_INT(3ull * rounds, sink, "warm lookups answer the same");
	hl_binary_cache__free(cache);
}

int main(void)
{
	const char *build = getenv("HOTLOOP_BUILD_DIR"), *src = getenv("HOTLOOP_SOURCE_DIR");
	char debugroot[PATH_MAX], lib[PATH_MAX];
	struct hl_native_proc *proc;
	struct stat st;

	if (!build || !src) {
		fprintf(stderr,
			"HOTLOOP_BUILD_DIR and HOTLOOP_SOURCE_DIR must be set (ctest does)\n");
		return 2;
	}
	snprintf(fixture_dir, sizeof(fixture_dir), "%s/tests/fixtures/native-sym", build);
	snprintf(source_file, sizeof(source_file), "%s/tests/fixtures/native-sym/fixture.c", src);
	if (stat(fixture_dir, &st)) {
		fprintf(stderr, "no fixtures in %s: build the native_sym_fixtures target\n",
			fixture_dir);
		return 2;
	}
	snprintf(debugroot, sizeof(debugroot), "%s/debugroot", fixture_dir);
	proc = hl_native_proc__new(0, debugroot);
	CHECK(proc != NULL, "hl_native_proc__new");

	test_fixture_rows(proc);
	test_info(proc);
	test_api_edges(proc);
	test_deleted();
	test_container();
	test_perfmap_process();
	test_libc_debug();
	test_libpython_vs_addr2line();
	test_plt_vs_objdump("/lib/x86_64-linux-gnu/libc.so.6");
	test_plt_vs_objdump("/usr/bin/python3.11");
	pyenv_lib(lib, sizeof(lib), "3.11.7", "libpython3.11.so.1.0"); /* has .plt.got */
	test_plt_vs_objdump(lib);
	report_cost(proc);

	hl_native_proc__free(proc);
	return check_done();
}
