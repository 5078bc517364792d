/* tests/unit/test_kallsyms.c — symbolize/kallsyms.c on hand-written tables (types, modules,
 * aliases, malformed lines, kptr_restrict's zeros) and on this machine's /proc/kallsyms. */
#define _GNU_SOURCE
#include "symbolize/kallsyms.h"
#include "symbolize/strpool.h"
#include "check.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lookup {
	uint64_t addr;
	const char *name; /* NULL: no symbol */
	const char *module;
};

struct row {
	const char *what;
	const char *text;
	int ret;
	size_t count, malformed;
	struct lookup lookups[6];
};

#define K(x) (0xffffffff81000000ull + (x))
#define M(x) (0xffffffffc0000000ull + (x))

static const struct row rows[] = {
    {"text symbols, data skipped",
     "ffffffff81000000 T _stext\n"
     "ffffffff81000100 t local_fn\n"
     "ffffffff81000200 D some_data\n"
     "ffffffff81000300 W weak_fn\n"
     "ffffffff81000400 r rodata\n"
     "ffffffff81000500 w weak_local\n",
     0,
     4,
     0,
     {{K(0x0), "_stext", NULL},
      {K(0x1ff), "local_fn", NULL}, /* the data symbol does not end it */
      {K(0x250), "local_fn", NULL},
      {K(0x300), "weak_fn", NULL},
      {K(0x4ff), "weak_fn", NULL},
      {K(0x501), "weak_local", NULL}}},
    {"modules",
     "ffffffffc0001000 t ext4_fill_super\t[ext4]\n"
     "ffffffffc0002000 T ext4_init\t[ext4]\n"
     "ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]\n",
     0,
     3,
     0,
     {{M(0x1004), "ext4_fill_super", "ext4"},
      {M(0x2010), "ext4_init", "ext4"},
      {M(0x201000), "ftrace_trampoline", "__builtin__ftrace"},
      {M(0x0fff), NULL, NULL}}},
    {"aliases at one address: T over W over t",
     "ffffffff81000000 t zz_local\n"
     "ffffffff81000000 T _text\n"
     "ffffffff81000000 W a_weak\n"
     "ffffffff81000010 T next\n",
     0,
     2,
     0,
     {{K(0x5), "_text", NULL}, {K(0x10), "next", NULL}}},
    {"unsorted input",
     "ffffffff81000300 T c\n"
     "ffffffff81000100 T a\n"
     "ffffffff81000200 T b\n",
     0,
     3,
     0,
     {{K(0x150), "a", NULL}, {K(0x250), "b", NULL}, {K(0x350), "c", NULL}, {K(0x50), NULL, NULL}}},
    {"the last symbol reaches HL_KSYM_MAX_SPAN, not further",
     "ffffffff81000000 T only\n",
     0,
     1,
     0,
     {{K(HL_KSYM_MAX_SPAN - 1), "only", NULL}, {K(HL_KSYM_MAX_SPAN), NULL, NULL}}},
    {"malformed lines",
     "xyz T bad_addr\n"
     "ffffffff81000000\n"
     "ffffffff81000000 T\n"
     "ffffffff81000000 Tname\n"
     "ffffffff81000000 T name [mod]\n"
     "ffffffff81000000 T name\t[]\n"
     "ffffffff81000000 T name\t[unterminated\n"
     "11112222333344445 T seventeen_digits\n"
     "\n"
     "ffffffff81000040 T good\n",
     0,
     1,
     8,
     {{K(0x40), "good", NULL}, {K(0x0), NULL, NULL}}},
    {"kptr_restrict: every address zero",
     "0000000000000000 T _stext\n"
     "0000000000000000 t local_fn\n"
     "0000000000000000 D data\n",
     -EPERM,
     0,
     0,
     {{0}}},
    {"no text symbol", "ffffffff81000000 D data\nffffffff81000010 b bss\n", -ENOENT, 0, 0, {{0}}},
    {"empty", "", -ENOENT, 0, 0, {{0}}},
    {"no final newline", "ffffffff81000000 T last", 0, 1, 0, {{K(0x1), "last", NULL}}},
};

static void test_rows(void)
{
	for (size_t r = 0; r < HL_ARRAY_SIZE(rows); r++) {
		const struct row *row = &rows[r];
		struct hl_kallsyms *ks = NULL;
		char msg[256];
		int ret = hl_kallsyms__parse(row->text, strlen(row->text), &ks);

		snprintf(msg, sizeof(msg), "%s: return", row->what);
		CHECK_INT(row->ret, ret, msg);
		if (ret) {
			CHECK(!ks, "no table on error");
			continue;
		}
		snprintf(msg, sizeof(msg), "%s: symbols", row->what);
		CHECK_INT(row->count, hl_kallsyms__count(ks), msg);
		snprintf(msg, sizeof(msg), "%s: malformed", row->what);
		CHECK_INT(row->malformed, hl_kallsyms__malformed(ks), msg);
		for (size_t k = 0; k < HL_ARRAY_SIZE(row->lookups) && row->lookups[k].addr; k++) {
			const struct lookup *l = &row->lookups[k];
			const struct hl_ksym *s = hl_kallsyms__find(ks, l->addr);

			snprintf(msg, sizeof(msg), "%s: %#" PRIx64, row->what, l->addr);
			if (!l->name) {
				CHECK(!s, msg);
				continue;
			}
			CHECK_STR(l->name, s ? s->name : NULL, msg);
			if (l->module)
				CHECK_STR(l->module, s ? s->module : NULL, msg);
			else
				CHECK(s && !s->module, msg);
		}
		hl_kallsyms__free(ks);
	}
}

/* The real table: a kernel function's address (read from the file here) names it. */
/* hl_kallsyms__parse seals its pool: what sealing keeps and what it stops. */
static void test_strpool_seal(void)
{
	struct hl_strpool *p = hl_strpool__new();
	const char *a, *a2, *a3, *b;
	size_t before;

	CHECK(p != NULL, "strpool__new");
	if (!p)
		return;
	a = hl_strpool__add_str(p, "do_syscall_64");
	a2 = hl_strpool__add(p, "do_syscall_64 and more", 13);
	CHECK(a && a == a2, "before sealing: equal strings are one copy");
	before = hl_strpool__memory(p);
	hl_strpool__seal(p);
	CHECK(hl_strpool__memory(p) < before, "sealing frees the index");
	CHECK_STR("do_syscall_64", a, "a string added before sealing stays valid");
	a3 = hl_strpool__add_str(p, "do_syscall_64");
	b = hl_strpool__add(p, "page_faultXX", 10);
	CHECK_STR("do_syscall_64", a3, "added after sealing: a copy");
	CHECK(a3 != a, "added after sealing: not deduplicated");
	CHECK_STR("page_fault", b, "a new string after sealing");
	CHECK_INT(3, hl_strpool__count(p), "count");
	hl_strpool__free(p);
}

static void test_proc_kallsyms(void)
{
	static const char *const wanted[] = {"do_sys_openat2", "do_sys_open", "vfs_read",
					     "schedule"};
	struct hl_kallsyms *ks = NULL;
	char *text, line[1024];
	size_t len;
	int err;
	FILE *f;

	err = hl_read_file("/proc/kallsyms", 256u << 20, &text, &len);
	if (err) {
		fprintf(stderr, "SKIP /proc/kallsyms: %s\n", strerror(-err));
		return;
	}
	err = hl_kallsyms__load(NULL, &ks);
	if (err == -EPERM) {
		/* Not root, or kptr_restrict=2: the error is the answer. */
		CHECK(strstr(text, "0000000000000000 T ") != NULL,
		      "-EPERM only when addresses are hidden");
		free(text);
		return;
	}
	CHECK_INT(0, err, "load /proc/kallsyms");
	CHECK(ks && hl_kallsyms__count(ks) > 1000, "a real kernel has many functions");
	f = fmemopen(text, len, "r");
	for (size_t w = 0; ks && f && w < HL_ARRAY_SIZE(wanted); w++) {
		unsigned long long addr;
		char type, name[512];

		rewind(f);
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%llx %c %511s", &addr, &type, name) == 3 &&
			    (type == 't' || type == 'T') && !strcmp(name, wanted[w]))
				break;
		if (feof(f))
			continue;
		{
			const struct hl_ksym *s = hl_kallsyms__find(ks, addr + 1);
			char msg[128];

			snprintf(msg, sizeof(msg), "/proc/kallsyms: %s+1", wanted[w]);
			CHECK_STR(wanted[w], s ? s->name : NULL, msg);
			fprintf(stderr, "/proc/kallsyms: %s at %#llx\n", wanted[w], addr);
			break;
		}
	}
	if (f)
		fclose(f);
	free(text);
	hl_kallsyms__free(ks);
}

int main(void)
{
	test_rows();
	test_strpool_seal();
	test_proc_kallsyms();
	return check_done();
}
