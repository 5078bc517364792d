/* tests/unit/test_elf.c — symbolize/elf.c against real binaries and broken ones.
 *
 * Oracles, not restatements: symbol addresses are checked against where the loader actually
 * put the function (this process, libc through dladdr/dlsym), build ids against `readelf -n`,
 * strings and initialized data against the C objects they came from.  Fixture binaries are
 * compiled at test time (a shared library, the same stripped, a non-PIE executable) to cover
 * .dynsym vs .symtab and ET_EXEC vs ET_DYN.  Broken inputs — not ELF, empty, truncated at
 * every interesting size, corrupted headers — must give NULL/ENOEXEC or answers within the
 * API's conventions, never a crash (the sanitizer build runs this too).
 *
 * Without a C compiler or readelf the rows that need them are skipped with a note, unless
 * CI=true, where that is a failure.
 */
#define _GNU_SOURCE
#include "symbolize/elf.h"
#include "symbolize/maps.h"
#include "check.h"

#if defined(__SANITIZE_ADDRESS__)
#define HL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HL_ASAN 1
#endif
#endif
#ifdef HL_ASAN
#define CHECK_SIZE(expected, actual, what) CHECK((actual) >= (expected), what " covers the object")
#else
#define CHECK_SIZE(expected, actual, what) CHECK_INT(expected, actual, what)
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Objects of this binary the tests look up by name (global, so they are in .symtab). */
const char hl_test_elf_rodata[] = "hotloop test_elf rodata marker 7d1f";
int hl_test_elf_data[4] = {0x11223344, 0x55667788, 0x99aabbcc, 0x0ddf00d};
char hl_test_elf_bss[8192];
__attribute__((noinline)) int hl_test_elf_function(int x)
{
	return x * 7 + hl_test_elf_rodata[x & 7];
}

static char tmpdir[64];
static bool ci;

static void skip_or_fail(const char *what)
{
	if (ci)
		CHECK(0, what);
	else
		fprintf(stderr, "SKIP: %s\n", what);
}

/* ---------------------------------------------------------------------------------------- */
/* Helpers. */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static char *tmp_path(const char *name)
{
	static char buf[8][PATH_MAX];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", tmpdir, name);
	return p;
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			unsigned char *bigger = realloc(data, cap = cap ? cap * 2 : 1 << 20);

			if (!bigger) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = bigger;
		}
		size_t got = fread(data + n, 1, cap - n, f);

		n += got;
		if (!got)
			break;
	}
	fclose(f);
	*len = n;
	return data;
}

static int write_all(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* The build id `readelf -n` prints for @path, or "" when readelf is missing or says none. */
static void readelf_build_id(const char *path, char *out, size_t size)
{
	char cmd[PATH_MAX + 64], line[512];
	FILE *p;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	if (!p)
		return;
	while (fgets(line, sizeof(line), p)) {
		char *s = strstr(line, "Build ID: ");

		if (s) {
			s += strlen("Build ID: ");
			s[strcspn(s, " \r\n")] = '\0';
			snprintf(out, size, "%s", s);
		}
	}
	pclose(p);
}

static bool have_readelf(void)
{
	return system("readelf --version >/dev/null 2>&1") == 0;
}

/* The load bias of @file as this process's loader mapped it, from the mapping in
 * /proc/self/maps that holds @inside, an address of the loaded image.  Not "the first mapping
 * of that file": libelf's own read-only mmap of the file (hl_elf__open) is one too, and sits
 * just below the loader's.  Maps name files by canonical path (/usr/lib/..., not the /lib/...
 * a loader may have opened). */
static int self_load_bias(struct hl_elf *elf, const char *file, const void *inside, uint64_t *bias)
{
	const struct hl_mapping *m;
	char path[PATH_MAX];
	struct hl_maps maps;
	int err;

	if (!realpath(file, path))
		return -errno;
	err = hl_maps__read(&maps, getpid());
	if (err)
		return err;
	m = hl_maps__find(&maps, (uint64_t)(uintptr_t)inside);
	if (!m || strcmp(m->path, path))
		err = -ENOENT;
	else
		err = hl_elf__load_bias(elf, m->start, m->offset, bias);
	hl_maps__release(&maps);
	return err;
}

struct find_string {
	const char *want;
	int found;
	int calls;
	int stop_after; /* return 99 on that call */
};

static int find_string_cb(const char *s, size_t len, void *arg)
{
	struct find_string *fs = arg;

	fs->calls++;
	if (strlen(s) != len)
		return -1000; /* the callback's length must be the string's */
	if (!strcmp(s, fs->want))
		fs->found++;
	if (fs->stop_after && fs->calls == fs->stop_after)
		return 99;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* This test binary. */

static void test_self(void)
{
	char exe[PATH_MAX], want[256], got[256];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct hl_elf *elf;
	uint64_t vaddr = 0, size = 0, bias = 0, text_addr, text_size, bss_addr;
	const void *data;
	unsigned char ident[18];
	int fd, err;
	struct find_string fs = {.want = hl_test_elf_rodata};
	char buf[sizeof(hl_test_elf_rodata)];
	int ints[4];

	CHECK(n > 0, "readlink /proc/self/exe");
	if (n <= 0)
		return;
	exe[n] = '\0';
	elf = hl_elf__open("/proc/self/exe");
	CHECK(elf != NULL, "hl_elf__open(/proc/self/exe)");
	if (!elf)
		return;

	/* ET_DYN or ET_EXEC, as the file's own header says (e_type at byte 16). */
	fd = open(exe, O_RDONLY);
	CHECK(fd >= 0 && read(fd, ident, sizeof(ident)) == (ssize_t)sizeof(ident), "read e_type");
	if (fd >= 0)
		close(fd);
	CHECK_INT(ident[16] == 3 /* ET_DYN */, hl_elf__is_dyn(elf), "self: is_dyn matches e_type");

	/* The function: file address + load bias == where it runs. */
	err = hl_elf__find_symbol(elf, "hl_test_elf_function", &vaddr, &size);
	CHECK_INT(0, err, "self: find hl_test_elf_function");
	CHECK(size > 0, "self: the function symbol has a size");
	err = self_load_bias(elf, exe, (const void *)&hl_test_elf_function, &bias);
	CHECK_INT(0, err, "self: load bias from /proc/self/maps");
	CHECK_INT((uint64_t)(uintptr_t)&hl_test_elf_function, vaddr + bias,
		  "self: symbol + load bias == &hl_test_elf_function");

	/* The data objects, by size and by contents read through the file image.  AddressSanitizer
	 * pads every global with a redzone counted in its symbol's size, so there the size only
	 * has to cover the object. */
	err = hl_elf__find_symbol(elf, "hl_test_elf_data", &vaddr, &size);
	CHECK_INT(0, err, "self: find hl_test_elf_data");
	CHECK_SIZE(sizeof(hl_test_elf_data), size, "self: data symbol size");
	CHECK_INT((uint64_t)(uintptr_t)hl_test_elf_data, vaddr + bias, "self: data address");
	CHECK_INT(0, hl_elf__read_vaddr(elf, vaddr, ints, sizeof(ints)), "self: read .data");
	CHECK(!memcmp(ints, (int[]){0x11223344, 0x55667788, 0x99aabbcc, 0x0ddf00d}, sizeof(ints)),
	      "self: .data bytes from the file are the initializer");
	err = hl_elf__find_symbol(elf, "hl_test_elf_rodata", &vaddr, &size);
	CHECK_INT(0, err, "self: find hl_test_elf_rodata");
	CHECK_SIZE(sizeof(hl_test_elf_rodata), size, "self: rodata symbol size");
	memset(buf, 0, sizeof(buf));
	CHECK_INT(0, hl_elf__read_vaddr(elf, vaddr, buf, sizeof(buf)), "self: read .rodata");
	CHECK_STR(hl_test_elf_rodata, buf, "self: .rodata bytes from the file");
	err = hl_elf__find_symbol(elf, "hl_test_elf_bss", &bss_addr, &size);
	CHECK_INT(0, err, "self: find hl_test_elf_bss");
	CHECK_SIZE(sizeof(hl_test_elf_bss), size, "self: bss symbol size");
	CHECK_INT(-ENOENT, hl_elf__read_vaddr(elf, bss_addr, buf, 16),
		  "self: .bss is not backed by the file");
	CHECK_INT(-ENOENT, hl_elf__read_vaddr(elf, 0xfffffffffff00000ULL, buf, 16),
		  "self: an address outside every segment");
	CHECK_INT(-ENOENT, hl_elf__read_vaddr(elf, vaddr, buf, (size_t)1 << 40),
		  "self: a read longer than the segment");

	/* Names that are not (defined) symbols here. */
	CHECK_INT(-ENOENT, hl_elf__find_symbol(elf, "hl_no_such_symbol_anywhere", &vaddr, NULL),
		  "self: unknown symbol");
	/* nftw: imported by this test (below), and not one of the libc functions
	 * AddressSanitizer defines in the binary to intercept them (popen, fopen, ...). */
	CHECK_INT(-ENOENT, hl_elf__find_symbol(elf, "nftw", &vaddr, NULL),
		  "self: an imported (undefined) symbol is not found");

	/* Sections. */
	err = hl_elf__find_section(elf, ".text", &text_addr, &text_size, &data);
	CHECK_INT(0, err, "self: find .text");
	CHECK(data != NULL, "self: .text has data");
	err = hl_elf__find_symbol(elf, "hl_test_elf_function", &vaddr, NULL);
	CHECK(!err && vaddr >= text_addr && vaddr < text_addr + text_size,
	      "self: the function lies in .text");
	err = hl_elf__find_section(elf, ".bss", &vaddr, &size, &data);
	CHECK_INT(0, err, "self: find .bss");
	CHECK(data == NULL, "self: .bss (SHT_NOBITS) has no data");
	CHECK(bss_addr >= vaddr && bss_addr < vaddr + size, "self: the bss object lies in .bss");
	CHECK_INT(-ENOENT, hl_elf__find_section(elf, ".no_such_section", NULL, NULL, NULL),
		  "self: unknown section");

	/* Strings of .rodata. */
	err = hl_elf__for_each_string(elf, ".rodata", 8, find_string_cb, &fs);
	CHECK_INT(0, err, "self: for_each_string returns 0 after a full pass");
	CHECK_INT(1, fs.found, "self: the rodata marker is found once");
	fs = (struct find_string){.want = hl_test_elf_rodata};
	hl_elf__for_each_string(elf, ".rodata", sizeof(hl_test_elf_rodata), find_string_cb, &fs);
	CHECK_INT(0, fs.found, "self: min_len longer than the marker skips it");
	fs = (struct find_string){.want = hl_test_elf_rodata, .stop_after = 2};
	err = hl_elf__for_each_string(elf, ".rodata", 1, find_string_cb, &fs);
	CHECK_INT(99, err, "self: the callback's non-zero return stops and is returned");
	CHECK_INT(2, fs.calls, "self: no call after the callback asked to stop");
	CHECK_INT(-ENOENT, hl_elf__for_each_string(elf, ".nope", 1, find_string_cb, &fs),
		  "self: strings of an unknown section");
	CHECK_INT(-ENOENT, hl_elf__for_each_string(elf, ".bss", 1, find_string_cb, &fs),
		  "self: strings of .bss");

	/* Dependencies. */
	CHECK(hl_elf__needs(elf, "libelf.so"), "self: needs libelf");
	CHECK(hl_elf__needs(elf, "libc.so"), "self: needs libc");
	CHECK(!hl_elf__needs(elf, "libpython"), "self: does not need libpython");

	/* Build id. */
	err = hl_elf__build_id(elf, got, sizeof(got));
	if (have_readelf()) {
		readelf_build_id(exe, want, sizeof(want));
		CHECK(want[0], "readelf -n prints a build id for the test binary");
		CHECK_INT(0, err, "self: build id");
		CHECK_STR(want, got, "self: build id == readelf -n");
		CHECK_INT(-ENOSPC, hl_elf__build_id(elf, got, strlen(want)),
			  "self: build id buffer one byte short");
		CHECK_INT(0, hl_elf__build_id(elf, got, strlen(want) + 1),
			  "self: build id buffer exactly long enough");
	} else {
		skip_or_fail("readelf not found: build ids not compared (binutils)");
	}
	hl_elf__free(elf);
	hl_elf__free(NULL);
}

/* libc, found through the dynamic loader. */
static void test_libc(void)
{
	void *fn = dlsym(RTLD_DEFAULT, "getpid");
	uint64_t vaddr = 0, bias = 0;
	struct hl_elf *elf;
	Dl_info info;

	CHECK(fn && dladdr(fn, &info) && info.dli_fname, "dladdr(getpid)");
	if (!fn || !dladdr(fn, &info) || !info.dli_fname)
		return;
	elf = hl_elf__open(info.dli_fname);
	CHECK(elf != NULL, "hl_elf__open(libc)");
	if (!elf)
		return;
	CHECK(hl_elf__is_dyn(elf), "libc is ET_DYN");
	CHECK_INT(0, hl_elf__find_symbol(elf, "getpid", &vaddr, NULL), "libc: find getpid");
	CHECK_INT(0, self_load_bias(elf, info.dli_fname, fn, &bias), "libc: load bias from maps");
	CHECK_INT((uint64_t)(uintptr_t)info.dli_fbase, bias, "libc: load bias == dli_fbase");
	CHECK_INT((uint64_t)(uintptr_t)fn, vaddr + bias, "libc: getpid + bias == dlsym(getpid)");
	hl_elf__free(elf);
}

/* The vDSO, opened from memory. */
static void test_vdso(void)
{
	uint64_t base = getauxval(AT_SYSINFO_EHDR), vaddr = 0;
	const struct hl_mapping *m;
	struct hl_maps maps;
	struct hl_elf *elf;
	void *fn;

	if (!base || hl_maps__read(&maps, getpid())) {
		CHECK(0, "vDSO base and maps");
		return;
	}
	m = hl_maps__find(&maps, base);
	CHECK(m && !strcmp(m->path, "[vdso]"), "vDSO mapping");
	if (!m) {
		hl_maps__release(&maps);
		return;
	}
	elf = hl_elf__open_mem((void *)(uintptr_t)base, m->end - m->start);
	CHECK(elf != NULL, "hl_elf__open_mem(vDSO)");
	if (elf) {
		CHECK(hl_elf__is_dyn(elf), "vDSO is ET_DYN");
		CHECK_INT(0, hl_elf__find_symbol(elf, "__vdso_clock_gettime", &vaddr, NULL),
			  "vDSO: find __vdso_clock_gettime");
		fn = dlsym(RTLD_DEFAULT, "__vdso_clock_gettime");
		if (!fn) {
			void *h = dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD);

			fn = h ? dlsym(h, "__vdso_clock_gettime") : NULL;
		}
		if (fn) {
			uint64_t bias = 0;

			CHECK_INT(0, hl_elf__load_bias(elf, m->start, 0, &bias), "vDSO: load bias");
			CHECK_INT((uint64_t)(uintptr_t)fn, vaddr + bias,
				  "vDSO: symbol + bias == the loader's address");
		} else {
			fprintf(stderr, "note: the loader does not say where the vDSO's "
					"__vdso_clock_gettime is; address not compared\n");
		}
		hl_elf__free(elf);
	}
	hl_maps__release(&maps);
}

/* ---------------------------------------------------------------------------------------- */
/* Fixtures compiled now. */

static const char fixture_src[] =
    "int hl_fixture_exported(int x) { return x + 1; }\n"
    "static __attribute__((noinline, used)) int hl_fixture_local(int x) { return x * 3; }\n"
    "int (*hl_fixture_ptr)(int) = hl_fixture_local;\n"
    "const char hl_fixture_string[] = \"hotloop elf fixture string\";\n"
    "char hl_fixture_bss[4096];\n"
    "#ifdef MAIN\n"
    "int main(void) { return hl_fixture_ptr(hl_fixture_string[0]) + hl_fixture_bss[9]; }\n"
    "#endif\n";

static bool build_fixtures(void)
{
	const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
	char cmd[4 * PATH_MAX];
	int rc;

	if (write_all(tmp_path("fixture.c"), fixture_src, sizeof(fixture_src) - 1))
		return false;
	snprintf(cmd, sizeof(cmd),
		 "%s -O1 -fPIC -shared -Wl,--build-id=sha1 -o %s %s 2>&1 && "
		 "%s -O1 -fPIC -shared -s -Wl,--build-id=sha1 -o %s %s 2>&1 && "
		 "%s -O1 -DMAIN -fno-pie -no-pie -Wl,--build-id=sha1 -o %s %s 2>&1",
		 cc, tmp_path("libfixture.so"), tmp_path("fixture.c"), cc,
		 tmp_path("libfixture-stripped.so"), tmp_path("fixture.c"), cc,
		 tmp_path("fixture-nopie"), tmp_path("fixture.c"));
	rc = system(cmd);
	return rc == 0;
}

static void test_fixtures(void)
{
	static const struct {
		const char *file;
		bool dyn;
		bool local_visible; /* static function: .symtab only */
	} rows[] = {
	    {"libfixture.so", true, true},
	    {"libfixture-stripped.so", true, false},
	    {"fixture-nopie", false, true},
	};
	uint64_t exported[ARRAY_SIZE(rows)];
	size_t i;

	if (!build_fixtures()) {
		skip_or_fail("no working C compiler ($CC or cc): fixture binaries not built");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const char *path = tmp_path(rows[i].file);
		struct hl_elf *elf = hl_elf__open(path);
		char what[160], got[128], want[128], str[64];
		uint64_t vaddr = 0, size = 0, bias = 1;
		int err;

		snprintf(what, sizeof(what), "%s opens", rows[i].file);
		CHECK(elf != NULL, what);
		if (!elf)
			continue;
		snprintf(what, sizeof(what), "%s is_dyn", rows[i].file);
		CHECK_INT(rows[i].dyn, hl_elf__is_dyn(elf), what);

		err = hl_elf__find_symbol(elf, "hl_fixture_exported", &exported[i], &size);
		snprintf(what, sizeof(what), "%s: exported function found", rows[i].file);
		CHECK_INT(0, err, what);
		err = hl_elf__find_symbol(elf, "hl_fixture_local", &vaddr, NULL);
		snprintf(what, sizeof(what), "%s: static function %s", rows[i].file,
			 rows[i].local_visible ? "found (.symtab)" : "absent (stripped)");
		CHECK_INT(rows[i].local_visible ? 0 : -ENOENT, err, what);

		err = hl_elf__find_symbol(elf, "hl_fixture_string", &vaddr, &size);
		snprintf(what, sizeof(what), "%s: string constant", rows[i].file);
		CHECK(!err && size == sizeof("hotloop elf fixture string"), what);
		memset(str, 0, sizeof(str));
		CHECK(!err && !hl_elf__read_vaddr(elf, vaddr, str, size) &&
			  !strcmp(str, "hotloop elf fixture string"),
		      what);
		err = hl_elf__find_symbol(elf, "hl_fixture_bss", &vaddr, &size);
		snprintf(what, sizeof(what), "%s: bss object not in the file", rows[i].file);
		CHECK(!err && size == 4096 && hl_elf__read_vaddr(elf, vaddr, str, 8) == -ENOENT,
		      what);

		/* Mapped at 0x7f1234500000 from offset 0: a PIE/library's first segment is at
		 * vaddr 0; an ET_EXEC maps at its link address, so its bias is 0 there. */
		if (rows[i].dyn) {
			err = hl_elf__load_bias(elf, 0x7f1234500000ULL, 0, &bias);
			snprintf(what, sizeof(what), "%s: load bias", rows[i].file);
			CHECK(!err && bias == 0x7f1234500000ULL, what);
		} else {
			uint64_t text = 0;

			hl_elf__find_section(elf, ".text", &text, NULL, NULL);
			err = hl_elf__load_bias(elf, 0x400000, 0, &bias);
			snprintf(what, sizeof(what), "%s: load bias at the link address",
				 rows[i].file);
			CHECK(!err && bias == 0 && text >= 0x400000, what);
		}
		err = hl_elf__load_bias(elf, 0x7f1234500000ULL, 0x123000000ULL, &bias);
		snprintf(what, sizeof(what), "%s: no segment at that offset", rows[i].file);
		CHECK_INT(-ENOENT, err, what);

		err = hl_elf__build_id(elf, got, sizeof(got));
		if (have_readelf()) {
			readelf_build_id(path, want, sizeof(want));
			snprintf(what, sizeof(what), "%s: build id == readelf -n", rows[i].file);
			CHECK_INT(0, err, what);
			CHECK_STR(want, got, what);
		}
		snprintf(what, sizeof(what), "%s: does not need libpython", rows[i].file);
		CHECK(!hl_elf__needs(elf, "libpython"), what);
		hl_elf__free(elf);
	}
	CHECK_INT(exported[0], exported[1], "stripping keeps the exported symbol's address");
}

/* ---------------------------------------------------------------------------------------- */
/* Inputs that are not (whole) ELF files. */

static void test_not_elf(void)
{
	static const struct {
		const char *name;
		const char *content;
		size_t len;
	} rows[] = {
	    {"text", "#!/bin/sh\necho not an ELF file\n", 31},
	    {"empty", "", 0},
	    {"magic only",
	     "\x7f"
	     "ELF",
	     4},
	    {"ar archive", "!<arch>\n", 8},
	};
	struct hl_elf *elf;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		char what[96];

		write_all(tmp_path("notelf"), rows[i].content, rows[i].len);
		errno = 0;
		elf = hl_elf__open(tmp_path("notelf"));
		snprintf(what, sizeof(what), "[%s] is refused with ENOEXEC", rows[i].name);
		CHECK(elf == NULL && errno == ENOEXEC, what);
		hl_elf__free(elf);
	}
	errno = 0;
	elf = hl_elf__open(tmp_path("does-not-exist"));
	CHECK(elf == NULL && errno == ENOENT, "missing file: NULL with ENOENT");
	errno = 0;
	elf = hl_elf__open(tmpdir);
	CHECK(elf == NULL && errno == ENOEXEC, "a directory: NULL with ENOEXEC");
	errno = 0;
	elf = hl_elf__open_mem((void *)"plain text, not an ELF image", 28);
	CHECK(elf == NULL && errno == ENOEXEC, "open_mem of text: NULL with ENOEXEC");
}

/* Every API on an object that opened: returns follow the conventions, nothing crashes. */
static bool exercise(struct hl_elf *elf)
{
	struct find_string fs = {.want = hl_test_elf_rodata};
	uint64_t a = 0, b = 0;
	const void *data;
	char buf[256];
	int err;
	bool ok = true;

	err = hl_elf__find_symbol(elf, "hl_test_elf_function", &a, &b);
	ok &= err == 0 || err == -ENOENT;
	err = hl_elf__find_symbol(elf, "main", &a, NULL);
	ok &= err == 0 || err == -ENOENT;
	err = hl_elf__find_section(elf, ".rodata", &a, &b, &data);
	ok &= err == 0 || err == -ENOENT;
	err = hl_elf__read_vaddr(elf, a, buf, sizeof(buf));
	ok &= err == 0 || err == -ENOENT;
	err = hl_elf__load_bias(elf, 0x7f0000000000ULL, 0, &a);
	ok &= err == 0 || err == -ENOENT;
	hl_elf__needs(elf, "libc");
	hl_elf__is_dyn(elf);
	err = hl_elf__build_id(elf, buf, sizeof(buf));
	ok &= err == 0 || err == -ENOENT || err == -ENOSPC;
	if (!err)
		ok &= strlen(buf) < sizeof(buf);
	err = hl_elf__for_each_string(elf, ".rodata", 4, find_string_cb, &fs);
	ok &= err == 0 || err == -ENOENT;
	err = hl_elf__for_each_string(elf, ".dynstr", 1, find_string_cb, &fs);
	ok &= err == 0 || err == -ENOENT;
	return ok;
}

static void test_truncated(void)
{
	size_t len, i;
	unsigned char *image = read_all("/proc/self/exe", &len);
	const size_t cuts[] = {1, 4, 16, 52, 63, 64, 65, 100, 0x200, 0x1000, 0x2000, 0x10000};
	uint64_t e_shoff, e_phoff;

	CHECK(image && len > 0x2000, "read /proc/self/exe");
	if (!image || len <= 0x2000) {
		free(image);
		return;
	}
	memcpy(&e_phoff, image + 0x20, 8);
	memcpy(&e_shoff, image + 0x28, 8);

	for (i = 0; i < ARRAY_SIZE(cuts) + 5; i++) {
		size_t cut = i < ARRAY_SIZE(cuts)	 ? cuts[i]
			     : i == ARRAY_SIZE(cuts)	 ? len / 2
			     : i == ARRAY_SIZE(cuts) + 1 ? len - 1
			     : i == ARRAY_SIZE(cuts) + 2 ? (size_t)e_shoff + 1	/* in the shdrs */
			     : i == ARRAY_SIZE(cuts) + 3 ? (size_t)e_shoff	/* shdrs cut off */
							 : (size_t)e_phoff + 8; /* in the phdrs */
		struct hl_elf *elf;
		char what[96];

		if (cut >= len)
			continue;
		write_all(tmp_path("truncated"), image, cut);
		errno = 0;
		elf = hl_elf__open(tmp_path("truncated"));
		snprintf(what, sizeof(what), "truncated at %zu: NULL/ENOEXEC or usable", cut);
		CHECK(elf || errno == ENOEXEC, what);
		if (elf) {
			snprintf(what, sizeof(what),
				 "truncated at %zu: every call within conventions", cut);
			CHECK(exercise(elf), what);
			hl_elf__free(elf);
		}
		/* The same bytes from memory. */
		elf = hl_elf__open_mem(image, cut);
		if (elf) {
			snprintf(what, sizeof(what),
				 "truncated at %zu (memory): calls within conventions", cut);
			CHECK(exercise(elf), what);
			hl_elf__free(elf);
		}
	}
	free(image);
}

/* The build-id note with odd sizes: the answer is a NUL-terminated hex string of the
 * descriptor, or -ENOENT; never an unterminated buffer or a read past the note. */
static void test_build_id_note(void)
{
	static const unsigned char note[16] = {4, 0, 0, 0, 20,	0,   0,	  0,
					       3, 0, 0, 0, 'G', 'N', 'U', 0};
	static const struct {
		const char *name;
		uint32_t descsz;
		int err;       /* 1: 0 or -ENOENT both fine */
		size_t hexlen; /* when 0 is returned */
	} rows[] = {
	    {"20-byte descriptor (unchanged)", 20, 0, 40},
	    {"1-byte descriptor", 1, 0, 2},
	    {"empty descriptor", 0, 1, 0},
	    {"descriptor past the section", 0x7fffffff, -ENOENT, 0},
	    {"descriptor of 2^32-1 bytes", 0xffffffff, -ENOENT, 0},
	};
	size_t len, i;
	unsigned char *image = read_all("/proc/self/exe", &len), *copy = NULL, *at;

	at = image ? memmem(image, len, note, sizeof(note)) : NULL;
	if (!at) {
		skip_or_fail("no 20-byte GNU build-id note in the test binary (linked without "
			     "--build-id=sha1?)");
		free(image);
		return;
	}
	copy = malloc(len);
	for (i = 0; copy && i < ARRAY_SIZE(rows); i++) {
		struct hl_elf *elf;
		char buf[128], what[128];
		int err;

		memcpy(copy, image, len);
		memcpy(copy + (at - image) + 4, &rows[i].descsz, 4);
		elf = hl_elf__open_mem(copy, len);
		snprintf(what, sizeof(what), "[%s] opens", rows[i].name);
		CHECK(elf != NULL, what);
		if (!elf)
			continue;
		memset(buf, 'X', sizeof(buf));
		err = hl_elf__build_id(elf, buf, sizeof(buf));
		snprintf(what, sizeof(what), "[%s] build id return value", rows[i].name);
		if (rows[i].err == 1)
			CHECK(err == 0 || err == -ENOENT, what);
		else
			CHECK_INT(rows[i].err, err, what);
		if (!err) {
			snprintf(what, sizeof(what), "[%s] build id is a terminated hex string",
				 rows[i].name);
			CHECK(memchr(buf, '\0', sizeof(buf)) != NULL, what);
			if (memchr(buf, '\0', sizeof(buf)))
				CHECK_INT(rows[i].hexlen, strlen(buf), what);
		}
		hl_elf__free(elf);
	}
	free(copy);
	free(image);
}

/* Deterministic corruption of the headers: section and program header fields, note
 * contents.  libelf validates most of it; what it does not must not crash elf.c. */
static void test_corrupted(void)
{
	size_t len, round, opened = 0;
	unsigned char *image = read_all("/proc/self/exe", &len), *copy;
	uint64_t e_shoff, e_phoff, state = 0x2545f4914f6cdd1dULL;
	uint16_t e_shnum, e_phnum;
	bool ok = true;

	if (!image || len < 0x1000) {
		CHECK(0, "read /proc/self/exe");
		free(image);
		return;
	}
	copy = malloc(len);
	if (!copy) {
		free(image);
		CHECK(0, "malloc");
		return;
	}
	memcpy(&e_phoff, image + 0x20, 8);
	memcpy(&e_shoff, image + 0x28, 8);
	memcpy(&e_phnum, image + 0x38, 2);
	memcpy(&e_shnum, image + 0x3c, 2);
	for (round = 0; round < 300; round++) {
		unsigned k, flips = 1 + round % 8;
		struct hl_elf *elf;

		memcpy(copy, image, len);
		for (k = 0; k < flips; k++) {
			uint64_t pos;

			state ^= state << 13, state ^= state >> 7, state ^= state << 17;
			switch (state % 3) {
			case 0: /* a section header byte */
				pos = e_shoff + (state >> 8) % ((uint64_t)e_shnum * 64);
				break;
			case 1: /* a program header byte */
				pos = e_phoff + (state >> 8) % ((uint64_t)e_phnum * 56);
				break;
			default: /* anywhere in the first 64 KiB (notes, .dynsym, .dynstr) */
				pos = (state >> 8) % 0x10000;
			}
			if (pos < len && pos >= 0x40)
				copy[pos] = (unsigned char)(state >> 40);
		}
		elf = hl_elf__open_mem(copy, len);
		if (elf) {
			opened++;
			ok &= exercise(elf);
			hl_elf__free(elf);
		}
	}
	CHECK(ok, "300 corrupted images: every call within conventions");
	CHECK(opened > 0, "some corrupted images still open (the calls were exercised)");
	free(copy);
	free(image);
}

int main(void)
{
	const char *env = getenv("CI");

	ci = env && !strcmp(env, "true");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hl_test_elf.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_self();
	test_libc();
	test_vdso();
	test_fixtures();
	test_not_elf();
	test_truncated();
	test_build_id_note();
	test_corrupted();
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
