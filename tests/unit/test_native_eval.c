/* tests/unit/test_native_eval.c — CPython's eval loop found by address on every interpreter.
 *
 * For each interpreter on the machine (pyenv's builds, Debian's /usr/bin/python3.11 with
 * .dynsym only, Debian sid's 3.14 fetched by tests/python314/fetch), a process runs
 * `while 1: pass` and is stopped with ptrace at arbitrary moments; the pc of most stops is
 * in the bytecode interpreter, so most must be classified in-eval by hl_native_in_eval.  Where
 * the binary has names (pyenv: .symtab and DWARF) the classification is checked against them
 * both ways: no stop named _PyEval_EvalFrameDefault may be classified outside, no stop inside
 * may be named anything else.  Known helpers (PyObject_Malloc, _Py_Dealloc, the
 * PyEval_EvalFrameEx wrapper of 3.6+) must be outside.  Debian's 3.14 is the case the jump
 * decoding exists for: its exported _PyEval_EvalFrameDefault is a 1184-byte entry and the loop
 * is an 84 KB region with no symbol, so a classifier by symbol range alone finds ~0 of the
 * stops (tests/unit/test_native_eval.c prints the ranges and the split of the stops).
 */
#define _GNU_SOURCE
#include "symbolize/native.h"
#include "check.h"
#include "common/util.h"
#include "symbolize/addrspace.h"
#include "symbolize/binary.h"
#include "symbolize/elf.h"
#include "symbolize/maps.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOPS_PER_ROUND 60
#define ROUNDS_MAX	3

static bool in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && !strcmp(ci, "true");
}

static void skip(const char *what, const char *why)
{
	fprintf(stderr, "SKIP %s: %s\n", what, why);
	CHECK(!in_ci(), "nothing the machine supports may be skipped in CI");
}

/* The interpreter loop and nothing else; then a loop that also allocates and frees, so some
 * stops land in helpers (PyObject_Malloc, dict_dealloc, ...) and the classification of those is
 * checked too. */
static const char *const programs[] = {
    "import sys\n"
    "sys.stdout.write('ready\\n')\n"
    "sys.stdout.flush()\n"
    "while 1:\n"
    "    pass\n",
    "import sys\n"
    "sys.stdout.write('ready\\n')\n"
    "sys.stdout.flush()\n"
    "while 1:\n"
    "    d = {'a': [1, 2], 'b': (3, 4)}\n"
    "    s = str(len(d))\n",
};

static pid_t spawn(const char *python, const char *program)
{
	char line[64];
	int fds[2];
	pid_t pid;
	FILE *f;
	bool ready = false;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(python, python, "-S", "-c", program, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f && fgets(line, sizeof(line), f) && !strncmp(line, "ready", 5))
		ready = true;
	if (f)
		fclose(f);
	if (!ready) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static bool is_eval_name(const char *name, bool ex)
{
	const char *base = ex ? "PyEval_EvalFrameEx" : "_PyEval_EvalFrameDefault";
	size_t n = strlen(base);

	return name && !strncmp(name, base, n) && (name[n] == '\0' || name[n] == '.');
}

/* The module of the process whose binary holds the eval loop. */
static const struct hl_module *eval_module(struct hl_addrspace *as, pid_t pid)
{
	const struct hl_module *found = NULL;
	struct hl_maps maps;
	unsigned count = 0;

	if (hl_maps__read(&maps, pid))
		return NULL;
	for (size_t i = 0; i < maps.count; i++) {
		const struct hl_module *m;
		struct hl_native_range r;

		if (!maps.entries[i].executable)
			continue;
		m = hl_addrspace__find(as, maps.entries[i].start);
		if (!m || !m->binary || m == found)
			continue;
		if (hl_native_eval_ranges(m->binary, &r, 1) > 0) {
			if (found != m)
				count++;
			found = m;
		}
	}
	hl_maps__release(&maps);
	CHECK_INT(1, count, "exactly one mapped binary holds an eval loop");
	return found;
}

struct tally {
	unsigned in_eval, outside;
	unsigned in_symbol; /* in eval and inside the eval function's own symbol */
	char outside_names[1024];
};

static void note_outside(struct tally *t, const char *name)
{
	size_t l = strlen(t->outside_names);

	if (strstr(t->outside_names, name) || l + strlen(name) + 3 >= sizeof(t->outside_names))
		return;
	snprintf(t->outside_names + l, sizeof(t->outside_names) - l, "%s%s", l ? ", " : "", name);
}

/* Stops the process @n times at pseudo-random moments and classifies each pc. */
static int sample(const char *label, pid_t pid, struct hl_addrspace *as,
		  struct hl_native_proc *proc, bool named, bool ex, uint64_t sym_start,
		  uint64_t sym_end, unsigned n, struct tally *t)
{
	unsigned seed = 12345;

	for (unsigned i = 0; i < n; i++) {
		struct user_regs_struct regs;
		struct hl_native_frame f[HL_NATIVE_MAX_FRAMES];
		const struct hl_module *m;
		struct timespec pause = {
		    0, 1000000 + (long)((seed = seed * 1103515245 + 12345) % 4000000)};
		char msg[512];
		int status, k;
		bool in;

		nanosleep(&pause, NULL);
		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) || waitpid(pid, &status, __WALL) != pid ||
		    !WIFSTOPPED(status))
			return -errno;
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs)) {
			ptrace(PTRACE_CONT, pid, 0, 0);
			return -errno;
		}
		ptrace(PTRACE_CONT, pid, 0, 0);
		m = hl_addrspace__find(as, regs.rip);
		in = hl_native_in_eval(m, regs.rip);
		k = m ? hl_native_symbolize(proc, m, regs.rip, false, f, HL_NATIVE_MAX_FRAMES) : 0;
		if (in)
			t->in_eval++;
		if (in && regs.rip >= sym_start && regs.rip < sym_end)
			t->in_symbol++;
		if (!in)
			t->outside++;
		if (k <= 0)
			continue;
		if (!in)
			note_outside(t, f[k - 1].function);
		if (named) {
			/* The function holding the pc (the last frame: inlined ones come first). */
			snprintf(msg, sizeof(msg), "%s: pc %#llx in %s is %s eval", label,
				 (unsigned long long)regs.rip, f[k - 1].function,
				 in ? "in" : "not in");
			CHECK(in == is_eval_name(f[k - 1].function, ex), msg);
		}
	}
	return 0;
}

/* Checks what can be checked without stopping the process: the eval function's own range
 * and the helpers around it. */
static void check_ranges(const char *label, const struct hl_module *m, bool ex, uint64_t v,
			 uint64_t size)
{
	static const char *const helpers[] = {"PyObject_Malloc", "_Py_Dealloc", "PyLong_FromLong",
					      "PyObject_GetAttr", "PyEval_EvalFrameEx"};
	struct hl_native_range ranges[32];
	char msg[512];
	int n;

	n = hl_native_eval_ranges(m->binary, ranges, HL_ARRAY_SIZE(ranges));
	fprintf(stderr, "%s: %s: %d eval range(s):", label, m->path, n);
	for (int i = 0; i < n && i < (int)HL_ARRAY_SIZE(ranges); i++)
		fprintf(stderr, " %#" PRIx64 "-%#" PRIx64 " (%" PRIu64 " B)", ranges[i].start,
			ranges[i].end, ranges[i].end - ranges[i].start);
	fprintf(stderr, "\n");
	snprintf(msg, sizeof(msg), "%s: the eval function's entry is in eval", label);
	CHECK(hl_native_in_eval(m, v + m->bias), msg);
	snprintf(msg, sizeof(msg), "%s: the eval function's last byte is in eval", label);
	CHECK(hl_native_in_eval(m, v + size - 1 + m->bias), msg);
	for (unsigned i = 0; i < HL_ARRAY_SIZE(helpers); i++) {
		uint64_t hv, hs;

		/* 3.6+: PyEval_EvalFrameEx is a wrapper that calls the eval loop. */
		if ((ex && !strcmp(helpers[i], "PyEval_EvalFrameEx")) ||
		    hl_elf__find_symbol(m->binary->elf, helpers[i], &hv, &hs))
			continue;
		snprintf(msg, sizeof(msg), "%s: %s is not eval", label, helpers[i]);
		CHECK(!hl_native_in_eval(m, hv + m->bias), msg);
		CHECK(!hl_native_in_eval(m, hv + hs / 2 + m->bias), msg);
	}
}

/* Runs programs[@which] under @python and classifies ptrace stops. */
static void run_program(const char *label, const char *python, unsigned which)
{
	struct hl_binary_cache *cache;
	struct hl_addrspace *as;
	struct hl_native_proc *proc;
	const struct hl_module *m;
	struct hl_native_info info;
	struct tally t = {0};
	char msg[512];
	uint64_t v = 0, size = 0;
	bool named, ex;
	int err = 0;
	pid_t pid;

	pid = spawn(python, programs[which]);
	snprintf(msg, sizeof(msg), "%s: %s starts", label, python);
	CHECK(pid > 0, msg);
	if (pid <= 0)
		return;
	cache = hl_binary_cache__new();
	as = hl_addrspace__new(pid, cache);
	proc = hl_native_proc__new(pid, NULL);
	hl_addrspace__refresh(as);
	m = eval_module(as, pid);
	if (!m)
		goto out;
	/* Before 3.6 the loop is PyEval_EvalFrameEx itself. */
	ex = hl_elf__find_symbol(m->binary->elf, "_PyEval_EvalFrameDefault", &v, &size) != 0;
	CHECK(!ex || !hl_elf__find_symbol(m->binary->elf, "PyEval_EvalFrameEx", &v, &size),
	      "the eval function has a symbol");
	if (which == 0)
		check_ranges(label, m, ex, v, size);

	/* Cross-check stops by name where the binary names its static pieces. */
	hl_native_info(proc, m->binary, &info);
	named = info.has_symtab || info.has_dwarf;
	if (ptrace(PTRACE_SEIZE, pid, 0, 0)) {
		snprintf(msg, sizeof(msg), "%s: ptrace: %s", label, strerror(errno));
		skip(label, msg);
		goto out;
	}
	for (int round = 0; round < ROUNDS_MAX; round++) {
		err = sample(label, pid, as, proc, named, ex, v + m->bias, v + size + m->bias,
			     STOPS_PER_ROUND, &t);
		/* Retry with more stops rather than fail on an unlucky handful. */
		if (err || which != 0 || t.in_eval * 2 >= t.in_eval + t.outside)
			break;
	}
	snprintf(msg, sizeof(msg), "%s: ptrace stops: %s", label, strerror(-err));
	CHECK_INT(0, err, msg);
	fprintf(stderr,
		"%s: %s loop: %u of %u stops in eval (%u in the symbol's own range)%s; "
		"outside: %s\n",
		label, which == 0 ? "pass" : "alloc", t.in_eval, t.in_eval + t.outside, t.in_symbol,
		named ? ", checked against names" : "", t.outside_names[0] ? t.outside_names : "-");
	if (which == 0) {
		snprintf(msg, sizeof(msg),
			 "%s: most stops of `while 1: pass` are in eval (%u of %u)", label,
			 t.in_eval, t.in_eval + t.outside);
		CHECK(t.in_eval * 2 >= t.in_eval + t.outside && t.in_eval > 0, msg);
	}
out:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	hl_native_proc__free(proc);
	hl_addrspace__free(as);
	hl_binary_cache__free(cache);
}

static void test_interpreter(const char *label, const char *python)
{
	char msg[PATH_MAX + 32];

	if (access(python, X_OK)) {
		snprintf(msg, sizeof(msg), "%s is not installed", python);
		skip(label, msg);
		return;
	}
	for (unsigned i = 0; i < HL_ARRAY_SIZE(programs); i++)
		run_program(label, python, i);
}

static int version_cmp(const void *a, const void *b)
{
	return strverscmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void)
{
	const char *home = getenv("HOME"), *pyenv = getenv("PYENV_ROOT");
	const char *hcache = getenv("HOTLOOP_CACHE");
	char root[PATH_MAX], path[PATH_MAX * 2], label[64];
	char *versions[64];
	unsigned nversions = 0;
	struct dirent *e;
	DIR *d;

	if (pyenv)
		snprintf(root, sizeof(root), "%s/versions", pyenv);
	else
		snprintf(root, sizeof(root), "%s/.pyenv/versions", home ? home : "/root");
	d = opendir(root);
	while (d && (e = readdir(d)) && nversions < HL_ARRAY_SIZE(versions))
		if (e->d_name[0] >= '2' && e->d_name[0] <= '9')
			versions[nversions++] = strdup(e->d_name);
	if (d)
		closedir(d);
	qsort(versions, nversions, sizeof(*versions), version_cmp);
	if (!nversions)
		skip("pyenv interpreters", "no pyenv versions");
	for (unsigned i = 0; i < nversions; i++) {
		unsigned major, minor;

		if (sscanf(versions[i], "%u.%u", &major, &minor) != 2)
			continue;
		snprintf(path, sizeof(path), "%s/%s/bin/python%u.%u", root, versions[i], major,
			 minor);
		snprintf(label, sizeof(label), "pyenv %s", versions[i]);
		test_interpreter(label, path);
		free(versions[i]);
	}
	test_interpreter("debian 3.11", "/usr/bin/python3.11");
	snprintf(root, sizeof(root), "%s/python3.14", hcache ? hcache : "/var/cache/hotloop");
	snprintf(path, sizeof(path), "%s/.complete", root);
	if (access(path, F_OK)) {
		skip("debian 3.14", "not fetched: run tests/python314/fetch (ctest -R fetch)");
	} else {
		snprintf(path, sizeof(path), "%s/bin/python3.14", root);
		test_interpreter("debian 3.14", path);
	}
	return check_done();
}
