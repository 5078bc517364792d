/* tests/unit/test_perfmap.c — symbolize/perfmap.c: the perf map parser, its loader on a file
 * that grows, is replaced and is not a regular file, and the NSpid parser. */
#define _GNU_SOURCE
#include "symbolize/perfmap.h"
#include "check.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lookup {
	uint64_t addr;
	const char *name; /* NULL: no entry */
};

struct parse_row {
	const char *what;
	const char *chunks[3]; /* new bytes, parsed after what the previous parse left */
	size_t count, malformed;
	struct lookup lookups[6];
};

static const struct parse_row parse_rows[] = {
    {"two entries",
     {"1000 10 foo\n2000 20 py::outer:/srv/app.py\n"},
     2,
     0,
     {{0x1000, "foo"},
      {0x100f, "foo"},
      {0x1010, NULL},
      {0xfff, NULL},
      {0x2000, "py::outer:/srv/app.py"},
      {0x201f, "py::outer:/srv/app.py"}}},
    {"0x prefixes, upper case, tabs, CRLF and trailing blanks",
     {"0x1000 0X10 a\r\nABC0\t8\tb  \n"},
     2,
     0,
     {{0x1001, "a"}, {0xabc7, "b"}, {0xabc8, NULL}}},
    {"names keep their spaces and colons",
     {"4000 10 py::with space:/my dir/x.py\n"},
     1,
     0,
     {{0x4000, "py::with space:/my dir/x.py"}}},
    {"malformed lines are skipped and counted",
     {"zz 10 a\n1000 0 size0\n1000 10\n1000 10 \nffffffffffffffff 10 wraps\n"
      "10000000000000000 1 seventeen\n\n1000-10 a\n3000 10 good\n"},
     1,
     8,
     {{0x3000, "good"}, {0x1000, NULL}, {0xffffffffffffffff, NULL}}},
    {"a partial last line waits for its newline",
     {"1000 10 a\n2000 10 b", "\n"},
     2,
     0,
     {{0x1000, "a"}, {0x2000, "b"}}},
    {"the same start again: the later line wins",
     {"1000 10 old\n1000 10 new\n", "1000 20 newer\n"},
     1,
     0,
     {{0x1000, "newer"}, {0x101f, "newer"}}},
    {"merged in order across parses",
     {"3000 10 c\n1000 10 a\n", "2000 10 b\n4000 10 d\n"},
     4,
     0,
     {{0x1000, "a"}, {0x2000, "b"}, {0x3000, "c"}, {0x4000, "d"}}},
    {"overlap: only the greatest start at or below the address",
     {"1000 100 big\n1010 10 small\n"},
     2,
     0,
     {{0x1005, "big"}, {0x1015, "small"}, {0x1050, NULL}}},
};

static void test_parse(void)
{
	for (size_t r = 0; r < HL_ARRAY_SIZE(parse_rows); r++) {
		const struct parse_row *row = &parse_rows[r];
		struct hl_perfmap *pm = hl_perfmap__new();
		char pending[4096] = "", msg[256];

		for (size_t c = 0; c < HL_ARRAY_SIZE(row->chunks) && row->chunks[c]; c++) {
			char buf[8192];
			ssize_t used;

			/* What the last parse left unconsumed comes first, as the loader does. */
			snprintf(buf, sizeof(buf), "%s%s", pending, row->chunks[c]);
			used = hl_perfmap__parse(pm, buf, strlen(buf));
			snprintf(msg, sizeof(msg), "%s: chunk %zu consumed", row->what, c);
			CHECK(used >= 0 && (size_t)used <= strlen(buf), msg);
			snprintf(pending, sizeof(pending), "%s", used >= 0 ? buf + used : "");
		}
		snprintf(msg, sizeof(msg), "%s: entries", row->what);
		CHECK_INT(row->count, hl_perfmap__count(pm), msg);
		snprintf(msg, sizeof(msg), "%s: malformed", row->what);
		CHECK_INT(row->malformed, hl_perfmap__malformed(pm), msg);
		for (size_t k = 0; k < HL_ARRAY_SIZE(row->lookups) && row->lookups[k].addr; k++) {
			const struct lookup *l = &row->lookups[k];
			const struct hl_perfmap_sym *s = hl_perfmap__find(pm, l->addr);

			snprintf(msg, sizeof(msg), "%s: %#llx", row->what,
				 (unsigned long long)l->addr);
			if (l->name)
				CHECK_STR(l->name, s ? s->name : NULL, msg);
			else
				CHECK(!s, msg);
		}
		hl_perfmap__free(pm);
	}
}

/* A line longer than HL_PERFMAP_MAX_LINE without a newline: consumed and skipped up to the
 * newline that eventually comes. */
static void test_overlong(void)
{
	struct hl_perfmap *pm = hl_perfmap__new();
	size_t n = HL_PERFMAP_MAX_LINE + 100;
	char *buf = malloc(n + 64);
	ssize_t used;

	memset(buf, 'a', n);
	used = hl_perfmap__parse(pm, buf, n);
	CHECK_INT(n, used, "overlong: all consumed");
	CHECK_INT(1, hl_perfmap__malformed(pm), "overlong: counted once");
	strcpy(buf, "aaaa\n1000 10 after\n");
	used = hl_perfmap__parse(pm, buf, strlen(buf));
	CHECK_INT(strlen(buf), used, "overlong: rest consumed");
	CHECK_INT(1, hl_perfmap__count(pm), "overlong: the next line is read");
	CHECK(hl_perfmap__find(pm, 0x1000) && !strcmp(hl_perfmap__find(pm, 0x1000)->name, "after"),
	      "overlong: next entry");
	CHECK_INT(1, hl_perfmap__malformed(pm), "overlong: its tail is not another error");
	/* An overlong line that has its newline. */
	memset(buf, 'b', n);
	buf[n] = '\n';
	used = hl_perfmap__parse(pm, buf, n + 1);
	CHECK_INT(n + 1, used, "overlong with newline: consumed");
	CHECK_INT(2, hl_perfmap__malformed(pm), "overlong with newline: counted");
	free(buf);
	hl_perfmap__free(pm);
}

static void test_nspid(void)
{
	static const struct {
		const char *status;
		int ret;
		pid_t pid;
	} rows[] = {
	    {"Name:\tpython3\nPid:\t4242\nNSpid:\t4242\t17\nNSpgid:\t1\n", 0, 17},
	    {"NSpid:\t99\n", 0, 99},
	    {"NSpid:\t5 6 7", 0, 7}, /* no final newline */
	    {"Name:\tx\nPid:\t3\n", -ENOENT, 0},
	    {"NSpid:\tabc\n", -EINVAL, 0},
	    {"NSpid:\t\n", -EINVAL, 0},
	    {"NSpid:\t12x\n", -EINVAL, 0},
	    {"NSpid:\t99999999999999\n", -EINVAL, 0},
	    {"NSpid:\t0\n", -EINVAL, 0},
	};

	for (size_t r = 0; r < HL_ARRAY_SIZE(rows); r++) {
		pid_t pid = 0;
		char msg[128];
		int ret = hl_perfmap_parse_nspid(rows[r].status, strlen(rows[r].status), &pid);

		snprintf(msg, sizeof(msg), "nspid row %zu: return", r);
		CHECK_INT(rows[r].ret, ret, msg);
		if (!ret) {
			snprintf(msg, sizeof(msg), "nspid row %zu: pid", r);
			CHECK_INT(rows[r].pid, pid, msg);
		}
	}
	{
		char path[128], want[128];

		CHECK_INT(0, hl_perfmap_path(getpid(), path, sizeof(path)), "own perf map path");
		snprintf(want, sizeof(want), "/proc/%d/root/tmp/perf-%d.map", (int)getpid(),
			 (int)getpid());
		CHECK_STR(want, path, "own perf map path (same pid namespace)");
		CHECK_INT(-ESRCH, hl_perfmap_path(INT_MAX, path, sizeof(path)), "no such process");
	}
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	CHECK(f != NULL, "append to the map file");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_update(void)
{
	char dir[] = "/tmp/hl-perfmap-XXXXXX", path[PATH_MAX], other[PATH_MAX], fifo[PATH_MAX],
	     link[PATH_MAX];
	struct hl_perfmap *pm = hl_perfmap__new();
	const struct hl_perfmap_sym *s;

	if (!mkdtemp(dir)) {
		CHECK(false, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/perf-1.map", dir);
	snprintf(other, sizeof(other), "%s/perf-1.map.new", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.map", dir);
	snprintf(link, sizeof(link), "%s/link.map", dir);

	CHECK_INT(-ENOENT, hl_perfmap__update(pm, path), "no file yet");
	append(path, "1000 10 a\n2000 10 b");
	CHECK_INT(0, hl_perfmap__update(pm, path), "first read");
	CHECK_INT(1, hl_perfmap__count(pm), "the partial line is not read yet");
	append(path, "\n3000 10 c\n");
	CHECK_INT(0, hl_perfmap__update(pm, path), "read what was appended");
	CHECK_INT(3, hl_perfmap__count(pm), "the rest of the partial line and the next");
	s = hl_perfmap__find(pm, 0x2005);
	CHECK_STR("b", s ? s->name : NULL, "entry completed across reads");
	CHECK_INT(0, hl_perfmap__update(pm, path), "nothing new");
	CHECK_INT(3, hl_perfmap__count(pm), "nothing new: same entries");

	/* Replaced by another file (a new process reusing the pid): start over. */
	append(other, "5000 10 e\n");
	CHECK_INT(0, rename(other, path), "replace the file");
	CHECK_INT(0, hl_perfmap__update(pm, path), "read the new file");
	CHECK_INT(1, hl_perfmap__count(pm), "replaced: only the new file's entries");
	CHECK(!hl_perfmap__find(pm, 0x1000), "replaced: old entries gone");
	/* Truncated in place: start over too. */
	CHECK_INT(0, truncate(path, 0), "truncate");
	append(path, "6000 4 f\n");
	CHECK_INT(0, hl_perfmap__update(pm, path), "read the truncated file");
	s = hl_perfmap__find(pm, 0x6000);
	CHECK_STR("f", s ? s->name : NULL, "truncated: new entry");

	/* Files a target could plant instead of a map. */
	CHECK_INT(0, mkfifo(fifo, 0600), "mkfifo");
	CHECK_INT(-EINVAL, hl_perfmap__update(pm, fifo), "a FIFO is refused without blocking");
	CHECK_INT(0, symlink(path, link), "symlink");
	CHECK_INT(-ELOOP, hl_perfmap__update(pm, link), "a symlink is not followed");

	unlink(link);
	unlink(fifo);
	unlink(path);
	rmdir(dir);
	hl_perfmap__free(pm);
}

int main(void)
{
	test_parse();
	test_overlong();
	test_nspid();
	test_update();
	return check_done();
}
