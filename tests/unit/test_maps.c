/* tests/unit/test_maps.c — symbolize/maps.c: parsing /proc/PID/maps text and address lookup.
 *
 * Three parts.  Parse rows feed one or more lines and expect either every field of every
 * mapping, or -EINVAL with the structure left empty (failure rows: missing fields, non-hex
 * digits, end below start, overlong numbers, bad permissions).  Lookup rows search a fixed
 * set of mappings at their edges and in the gaps.  Last, this process's own /proc/self/maps
 * is read and checked against what the process knows about itself: where its code, its
 * constants, its stack and the vDSO are.
 */
#define _GNU_SOURCE
#include "symbolize/maps.h"
#include "check.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_EXPECT    3

struct want {
	uint64_t start, end, offset, inode;
	uint32_t dev_major, dev_minor;
	const char *perms; /* "rwx" subset as the r/w/x flags: "r-x" */
	bool deleted;
	const char *path;
};

static const struct {
	const char *name;
	const char *text;
	int err;
	size_t count;
	struct want m[MAX_EXPECT];
} parse_rows[] = {
    {"file mapping",
     "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n",
     0,
     1,
     {{0x400000, 0x452000, 0, 173521, 8, 2, "r-x", false, "/usr/bin/dbus-daemon"}}},
    {"anonymous mapping, trailing space as procfs prints it",
     "7f32de4ef000-7f32de5b3000 rw-p 00000000 00:00 0 \n",
     0,
     1,
     {{0x7f32de4ef000, 0x7f32de5b3000, 0, 0, 0, 0, "rw-", false, ""}}},
    {"anonymous mapping, no trailing space",
     "7f32de4ef000-7f32de5b3000 rw-p 00000000 00:00 0",
     0,
     1,
     {{0x7f32de4ef000, 0x7f32de5b3000, 0, 0, 0, 0, "rw-", false, ""}}},
    {"stack",
     "7ffd3c1a2000-7ffd3c1c3000 rw-p 00000000 00:00 0                          [stack]\n",
     0,
     1,
     {{0x7ffd3c1a2000, 0x7ffd3c1c3000, 0, 0, 0, 0, "rw-", false, "[stack]"}}},
    {"vdso and vvar",
     "7ffd3c1f5000-7ffd3c1f9000 r--p 00000000 00:00 0                          [vvar]\n"
     "7ffd3c1f9000-7ffd3c1fb000 r-xp 00000000 00:00 0                          [vdso]\n",
     0,
     2,
     {{0x7ffd3c1f5000, 0x7ffd3c1f9000, 0, 0, 0, 0, "r--", false, "[vvar]"},
      {0x7ffd3c1f9000, 0x7ffd3c1fb000, 0, 0, 0, 0, "r-x", false, "[vdso]"}}},
    {"64-bit addresses (vsyscall page)",
     "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n",
     0,
     1,
     {{0xffffffffff600000, 0xffffffffff601000, 0, 0, 0, 0, "--x", false, "[vsyscall]"}}},
    {"full 16-digit addresses and offset",
     "fffffffffffff000-ffffffffffffffff r--s fedcba9876543210 fe:01 42 /dev/x\n",
     0,
     1,
     {{0xfffffffffffff000, 0xffffffffffffffff, 0xfedcba9876543210, 42, 0xfe, 1, "r--", false,
       "/dev/x"}}},
    {"path with spaces",
     "7f0000000000-7f0000001000 r--p 00001000 fe:00 99  /tmp/my dir/lib  foo.so\n",
     0,
     1,
     {{0x7f0000000000, 0x7f0000001000, 0x1000, 99, 0xfe, 0, "r--", false,
       "/tmp/my dir/lib  foo.so"}}},
    {"deleted file",
     "7f0000000000-7f0000001000 r-xp 00000000 fe:00 7 /tmp/libgone.so (deleted)\n",
     0,
     1,
     {{0x7f0000000000, 0x7f0000001000, 0, 7, 0xfe, 0, "r-x", true, "/tmp/libgone.so"}}},
    {"deleted file whose name has the suffix: only the last one is stripped",
     "7f0000000000-7f0000001000 r-xp 00000000 fe:00 7 /tmp/a (deleted) (deleted)\n",
     0,
     1,
     {{0x7f0000000000, 0x7f0000001000, 0, 7, 0xfe, 0, "r-x", true, "/tmp/a (deleted)"}}},
    {"suffix without its space is part of the name",
     "7f0000000000-7f0000001000 r-xp 00000000 fe:00 7 /tmp/x(deleted)\n",
     0,
     1,
     {{0x7f0000000000, 0x7f0000001000, 0, 7, 0xfe, 0, "r-x", false, "/tmp/x(deleted)"}}},
    {"memfd, large device numbers and inode",
     "7f0000000000-7f0000001000 rw-s 00000000 103:1f 18446744073709551615 /memfd:jit (deleted)\n",
     0,
     1,
     {{0x7f0000000000, 0x7f0000001000, 0, UINT64_MAX, 0x103, 0x1f, "rw-", true, "/memfd:jit"}}},
    {"uppercase hex",
     "7F0000000000-7F0000001000 r--p 0000ABCD FE:0A 1 /x\n",
     0,
     1,
     {{0x7f0000000000, 0x7f0000001000, 0xabcd, 1, 0xfe, 0xa, "r--", false, "/x"}}},
    {"empty mapping (start == end) is accepted",
     "1000-1000 ---p 00000000 00:00 0\n",
     0,
     1,
     {{0x1000, 0x1000, 0, 0, 0, 0, "---", false, ""}}},
    {"no trailing newline, blank lines skipped",
     "\n1000-2000 r--p 00000000 00:00 0\n\n\n3000-4000 r--p 00000000 00:00 0 [heap]",
     0,
     2,
     {{0x1000, 0x2000, 0, 0, 0, 0, "r--", false, ""},
      {0x3000, 0x4000, 0, 0, 0, 0, "r--", false, "[heap]"}}},
    {"empty text", "", 0, 0, {{0}}},
    {"only newlines", "\n\n", 0, 0, {{0}}},

    /* Failure rows: the whole parse fails and leaves nothing behind. */
    {"missing inode", "00400000-00452000 r-xp 00000000 08:02\n", -EINVAL, 0, {{0}}},
    {"missing device and inode", "00400000-00452000 r-xp 00000000\n", -EINVAL, 0, {{0}}},
    {"only addresses and perms", "00400000-00452000 r-xp\n", -EINVAL, 0, {{0}}},
    {"only addresses", "00400000-00452000\n", -EINVAL, 0, {{0}}},
    {"only a start", "00400000\n", -EINVAL, 0, {{0}}},
    {"no end", "00400000- r-xp 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"no start", "-00452000 r-xp 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"space instead of dash", "00400000 00452000 r-xp 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"non-hex start", "0040g000-00452000 r-xp 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"non-hex end", "00400000-0045200z r-xp 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"non-hex offset", "00400000-00452000 r-xp 0000x000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"non-hex device", "00400000-00452000 r-xp 00000000 0g:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"device without colon", "00400000-00452000 r-xp 00000000 0802 1 /x\n", -EINVAL, 0, {{0}}},
    {"non-decimal inode", "00400000-00452000 r-xp 00000000 08:02 12a /x\n", -EINVAL, 0, {{0}}},
    {"hex inode", "00400000-00452000 r-xp 00000000 08:02 0x12 /x\n", -EINVAL, 0, {{0}}},
    {"inode overflows u64",
     "00400000-00452000 r-xp 00000000 08:02 18446744073709551616 /x\n",
     -EINVAL,
     0,
     {{0}}},
    {"path glued to the inode", "00400000-00452000 r-xp 00000000 08:02 1/x\n", -EINVAL, 0, {{0}}},
    {"end below start", "00452000-00400000 r-xp 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"17-digit start",
     "10000000000000000-20000000000000000 r-xp 00000000 08:02 1 /x\n",
     -EINVAL,
     0,
     {{0}}},
    {"17-digit end, even with leading zeros",
     "1000-00000000000002000 r-xp 00000000 08:02 1 /x\n",
     -EINVAL,
     0,
     {{0}}},
    {"17-digit offset", "1000-2000 r-xp 00000000000000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"device major over 32 bits", "1000-2000 r-xp 00000000 100000000:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"device minor over 32 bits", "1000-2000 r-xp 00000000 08:100000000 1 /x\n", -EINVAL, 0, {{0}}},
    {"three-letter perms", "1000-2000 r-x 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"five-letter perms", "1000-2000 r-xpp 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"perms that are not perms", "1000-2000 zzzz 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"perms in the wrong order", "1000-2000 xwrp 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"sharing flag missing", "1000-2000 rwx- 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"double space after the addresses",
     "1000-2000  r-xp 00000000 08:02 1 /x\n",
     -EINVAL,
     0,
     {{0}}},
    {"leading space", " 1000-2000 r-xp 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"whitespace-only line", "1000-2000 r--p 00000000 00:00 0\n \n", -EINVAL, 0, {{0}}},
    {"negative number", "-1000-2000 r-xp 00000000 08:02 1 /x\n", -EINVAL, 0, {{0}}},
    {"one bad line after good ones",
     "1000-2000 r--p 00000000 00:00 0\n3000-4000 r--p 00000000 00:00 0\n5000-4000 r--p "
     "00000000 00:00 0\n",
     -EINVAL,
     0,
     {{0}}},
    {"garbage", "this is not a maps file\n", -EINVAL, 0, {{0}}},
};

static void perms_of(const struct hl_mapping *m, char out[4])
{
	out[0] = m->readable ? 'r' : '-';
	out[1] = m->writable ? 'w' : '-';
	out[2] = m->executable ? 'x' : '-';
	out[3] = '\0';
}

static void test_parse(void)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(parse_rows); i++) {
		struct hl_maps maps;
		char what[256], *text = strdup(parse_rows[i].text);
		int err;

		if (!text) {
			CHECK(0, "strdup");
			return;
		}
		memset(&maps, 0x5a, sizeof(maps));
		err = hl_maps__parse(&maps, text); /* takes @text, also on error */
		snprintf(what, sizeof(what), "[%s] return value", parse_rows[i].name);
		CHECK_INT(parse_rows[i].err, err, what);
		snprintf(what, sizeof(what), "[%s] count", parse_rows[i].name);
		CHECK_INT(parse_rows[i].count, maps.count, what);
		if (err) {
			snprintf(what, sizeof(what), "[%s] nothing left behind on error",
				 parse_rows[i].name);
			CHECK(!maps.entries && !maps.text && !maps.count, what);
			hl_maps__release(&maps); /* must accept the zeroed struct */
			continue;
		}
		for (j = 0; j < parse_rows[i].count && j < maps.count && j < MAX_EXPECT; j++) {
			const struct want *w = &parse_rows[i].m[j];
			const struct hl_mapping *m = &maps.entries[j];
			char perms[4];

			snprintf(what, sizeof(what), "[%s] mapping %zu start", parse_rows[i].name,
				 j);
			CHECK_INT(w->start, m->start, what);
			snprintf(what, sizeof(what), "[%s] mapping %zu end", parse_rows[i].name, j);
			CHECK_INT(w->end, m->end, what);
			snprintf(what, sizeof(what), "[%s] mapping %zu offset", parse_rows[i].name,
				 j);
			CHECK_INT(w->offset, m->offset, what);
			snprintf(what, sizeof(what), "[%s] mapping %zu inode", parse_rows[i].name,
				 j);
			CHECK_INT(w->inode, m->inode, what);
			snprintf(what, sizeof(what), "[%s] mapping %zu device", parse_rows[i].name,
				 j);
			CHECK_INT((uint64_t)w->dev_major << 32 | w->dev_minor,
				  (uint64_t)m->dev_major << 32 | m->dev_minor, what);
			snprintf(what, sizeof(what), "[%s] mapping %zu perms", parse_rows[i].name,
				 j);
			perms_of(m, perms);
			CHECK_STR(w->perms, perms, what);
			snprintf(what, sizeof(what), "[%s] mapping %zu deleted", parse_rows[i].name,
				 j);
			CHECK_INT(w->deleted, m->deleted, what);
			snprintf(what, sizeof(what), "[%s] mapping %zu path", parse_rows[i].name,
				 j);
			CHECK_STR(w->path, m->path, what);
		}
		hl_maps__release(&maps);
		snprintf(what, sizeof(what), "[%s] release zeroes", parse_rows[i].name);
		CHECK(!maps.entries && !maps.text && !maps.count, what);
	}
}

/* Many lines: the entry array grows past its first allocation. */
static void test_parse_many(void)
{
	const size_t n = 1000;
	size_t i, len = 0, cap = n * 64;
	char *text = malloc(cap);
	struct hl_maps maps;
	bool ok = true;
	int err;

	if (!text) {
		CHECK(0, "malloc");
		return;
	}
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"%zx-%zx r--p %08zx 00:00 %zu /lib/%zu.so\n",
					0x10000 + i * 0x2000, 0x11000 + i * 0x2000, i, i, i);
	err = hl_maps__parse(&maps, text);
	CHECK_INT(0, err, "1000 lines parse");
	CHECK_INT(n, maps.count, "1000 lines count");
	for (i = 0; !err && i < n; i++) {
		char path[32];
		const struct hl_mapping *m = hl_maps__find(&maps, 0x10000 + i * 0x2000 + 0x800);

		snprintf(path, sizeof(path), "/lib/%zu.so", i);
		if (!m || m != &maps.entries[i] || m->inode != i || strcmp(m->path, path))
			ok = false;
		if (hl_maps__find(&maps, 0x11000 + i * 0x2000))
			ok = false; /* the gap after each mapping */
	}
	CHECK(ok, "each of 1000 mappings is found by an inner address, none in the gaps");
	hl_maps__release(&maps);
}

static void test_find(void)
{
	static const char text[] = "1000-2000 r--p 00000000 00:00 0 A\n"
				   "3000-5000 r--p 00000000 00:00 0 B\n"
				   "5000-6000 r--p 00000000 00:00 0 C\n"
				   "7fff0000-7fff1000 r--p 00000000 00:00 0 D\n"
				   "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 E\n";
	static const struct {
		uint64_t addr;
		const char *path; /* NULL: not found */
	} rows[] = {
	    {0, NULL},
	    {0xfff, NULL},
	    {0x1000, "A"}, /* first byte of the first mapping */
	    {0x1fff, "A"},
	    {0x2000, NULL}, /* end is exclusive; a gap follows */
	    {0x2fff, NULL},
	    {0x3000, "B"},
	    {0x4fff, "B"},
	    {0x5000, "C"}, /* adjacent mappings: the boundary belongs to the second */
	    {0x5fff, "C"},
	    {0x6000, NULL},
	    {0x7ffeffff, NULL},
	    {0x7fff0000, "D"},
	    {0x7fff0fff, "D"},
	    {0x7fff1000, NULL},
	    {0xffffffffff5fffff, NULL},
	    {0xffffffffff600000, "E"}, /* last mapping */
	    {0xffffffffff600fff, "E"},
	    {0xffffffffff601000, NULL},
	    {UINT64_MAX, NULL},
	};
	struct hl_maps maps, empty = {0};
	char *copy = strdup(text);
	size_t i;

	if (!copy || hl_maps__parse(&maps, copy)) {
		CHECK(0, "lookup fixture parses");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct hl_mapping *m = hl_maps__find(&maps, rows[i].addr);
		char what[96];

		snprintf(what, sizeof(what), "hl_maps__find(0x%llx)",
			 (unsigned long long)rows[i].addr);
		CHECK_STR(rows[i].path ? rows[i].path : "(none)", m ? m->path : "(none)", what);
	}
	hl_maps__release(&maps);
	CHECK(hl_maps__find(&empty, 0x1000) == NULL, "hl_maps__find on empty maps");

	copy = strdup("1000-2000 r--p 00000000 00:00 0 only\n");
	if (!copy || hl_maps__parse(&maps, copy)) {
		CHECK(0, "one-mapping fixture parses");
		return;
	}
	CHECK(hl_maps__find(&maps, 0xfff) == NULL, "one mapping: below");
	CHECK(hl_maps__find(&maps, 0x1000) == &maps.entries[0], "one mapping: start");
	CHECK(hl_maps__find(&maps, 0x1fff) == &maps.entries[0], "one mapping: last byte");
	CHECK(hl_maps__find(&maps, 0x2000) == NULL, "one mapping: end");
	hl_maps__release(&maps);
}

/* ---------------------------------------------------------------------------------------- */
/* This process's own maps. */

static const char rodata_marker[] = "hotloop test_maps rodata marker";
static int data_marker = 42;

static void test_self(void)
{
	char exe[PATH_MAX];
	struct hl_maps maps;
	const struct hl_mapping *m;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int local = 0, err;
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	size_t i;
	bool sorted = true, libc = false;

	CHECK(n > 0, "readlink /proc/self/exe");
	if (n <= 0)
		return;
	exe[n] = '\0';
	err = hl_maps__read(&maps, getpid());
	CHECK_INT(0, err, "hl_maps__read(self)");
	if (err)
		return;
	CHECK(maps.count > 5, "self: a handful of mappings");

	m = hl_maps__find(&maps, (uint64_t)(uintptr_t)&test_self);
	CHECK(m && m->executable && m->readable, "self: this function is in an r-x mapping");
	CHECK_STR(exe, m ? m->path : NULL, "self: this function's mapping is the test binary");
	CHECK(m && !m->deleted && m->inode != 0, "self: the binary mapping has an inode");

	m = hl_maps__find(&maps, (uint64_t)(uintptr_t)rodata_marker);
	CHECK(m && m->readable && !m->writable && !m->executable,
	      "self: a string constant is in an r-- mapping");
	CHECK_STR(exe, m ? m->path : NULL, "self: the string constant's mapping is the binary");

	m = hl_maps__find(&maps, (uint64_t)(uintptr_t)&data_marker);
	CHECK(m && m->readable && m->writable, "self: an initialized global is in an rw mapping");
	CHECK_STR(exe, m ? m->path : NULL, "self: the global's mapping is the binary");

	m = hl_maps__find(&maps, (uint64_t)(uintptr_t)&local);
	/* Under ASan with detect_stack_use_after_return, locals can live on a fake stack. */
	if (m && strcmp(m->path, "[stack]"))
		fprintf(stderr, "note: a local variable is in \"%s\", not [stack] (sanitizer?)\n",
			m->path);
	CHECK(m && m->readable && m->writable, "self: a local variable is in an rw mapping");

	m = hl_maps__find(&maps, vdso);
	CHECK(vdso != 0, "getauxval(AT_SYSINFO_EHDR)");
	CHECK_STR("[vdso]", m ? m->path : NULL, "self: AT_SYSINFO_EHDR is in [vdso]");
	CHECK(m && m->start == vdso && m->executable, "self: the vDSO mapping starts at its ELF");

	for (i = 0; i < maps.count; i++) {
		if (maps.entries[i].start >= maps.entries[i].end ||
		    (i && maps.entries[i - 1].end > maps.entries[i].start))
			sorted = false;
		if (strstr(maps.entries[i].path, "/libc.so") && maps.entries[i].executable)
			libc = true;
	}
	CHECK(sorted, "self: mappings non-empty, sorted, disjoint");
	CHECK(libc, "self: an executable libc mapping");
	hl_maps__release(&maps);
}

static void test_read_gone(void)
{
	struct hl_maps maps;
	pid_t pid = fork();
	int err;

	if (pid == 0)
		_exit(0);
	CHECK(pid > 0, "fork");
	if (pid <= 0)
		return;
	waitpid(pid, NULL, 0);
	err = hl_maps__read(&maps, pid);
	CHECK_INT(-ESRCH, err, "hl_maps__read of a reaped child");
	CHECK(!maps.entries && !maps.count, "nothing left behind");
}

int main(void)
{
	test_parse();
	test_parse_many();
	test_find();
	test_self();
	test_read_gone();
	return check_done();
}
