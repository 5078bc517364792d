/* tests/unit/test_unwind.c — symbolize/unwind.c on real stacks of real processes.
 *
 * Each stack is taken the way the sampler takes it: the thread is stopped (ptrace
 * PTRACE_SEIZE + PTRACE_INTERRUPT, so nothing in the target changes), its registers are put in
 * DWARF order and up to HL_USTACK_MAX bytes are copied from its stack pointer upward, page by
 * page, stopping at the first unreadable page — then hl_unwind() walks the copy.
 *
 * 1. Fixture programs (tests/fixtures/native/unwind_*.c) with a known call chain, built by this
 *    test with the compiler flags that are part of each row: without frame pointers, with
 *    them, mixed (b and d with frame pointers and no CFI at all), and with CFI only in
 *    .debug_frame.  Each row says which frames must come out, in order — by the fixture's own
 *    symbol table, or "some frames in libc / the [vdso]" — which of them the frame pointer
 *    found, and why the walk ends.  Built here rather than by CMake so the flags sit next to
 *    the expectations and cannot be changed behind them (a sanitizer build adds
 *    -fno-omit-frame-pointer to every CMake target).
 *    A thread reaches the state a row is about on its own (out of the write() of its "ready"
 *    line, into the [vdso]), so the test stops it again until its pc is there rather than
 *    trusting a sleep.
 * 2. Failure rows: a real sample altered the way a hostile or unlucky target could (a short
 *    copy, a cut exactly at a frame, a garbage return address, no frame pointer, a frame
 *    pointer leading back down, a PLT stub), and thousands of random corruptions, none of
 *    which may crash, overrun or end without a reason.
 * 3. Real CPython: a pure-Python loop calling time.time() in two threads of every pyenv build
 *    3.8-3.13, of 3.12 and 3.13 under `-X perf` (trampolines without CFI or frame pointer),
 *    of Debian's stripped, static /usr/bin/python3.11 and, when tests/python314/fetch has
 *    unpacked it, of Debian sid's 3.14 with and without `-X perf`; 300 stops each; at least
 *    97% of the walks must reach the thread's root, and those must cross the eval loop.  The
 *    cost per unwind is printed (a figure, not a verdict).
 */
#define _GNU_SOURCE
#include "check.h"
#include "collector/sample.h"
#include "common/util.h"
#include "symbolize/addrspace.h"
#include "symbolize/binary.h"
#include "symbolize/elf.h"
#include "symbolize/procmem.h"
#include "symbolize/unwind.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SKIP	   77
#define MAX_FRAMES 4096
#define STACK_COPY HL_USTACK_MAX

static const char *source_dir;
static char work_dir[PATH_MAX];
static struct hl_binary_cache *bcache; /* shared by every address space, as in hotloop */

/* ---------------------------------------------------------------------------------------- */
/* Child processes: every one is killed at exit, also when a check fails half-way. */

#define MAX_CHILDREN 32
static pid_t children[MAX_CHILDREN];
static unsigned n_children;

static void kill_children(void)
{
	unsigned i;

	for (i = 0; i < n_children; i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
		}
	}
	n_children = 0;
}

struct child {
	pid_t pid;
	int out; /* its stdout */
	char buf[512];
	size_t len;
	char kept[8][64]; /* lines read while waiting for another (threads print in any order) */
	unsigned nkept;
};

static int child_start(struct child *c, char *const argv[])
{
	unsigned slot;
	int fds[2];

	memset(c, 0, sizeof(*c));
	for (slot = 0; slot < n_children && children[slot]; slot++)
		;
	if (slot == MAX_CHILDREN || pipe2(fds, O_CLOEXEC))
		return -1;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		/* A spinning fixture must not outlive a crashed test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	c->out = fds[0];
	children[slot] = c->pid;
	if (slot == n_children)
		n_children++;
	return 0;
}

static void child_stop(struct child *c)
{
	unsigned i;

	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->out);
	for (i = 0; i < n_children; i++)
		if (children[i] == c->pid)
			children[i] = 0;
	c->pid = 0;
}

/* The number after @prefix when @line is "<prefix>" or "<prefix> <number>", else -2. */
static long line_value(const char *line, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(line, prefix, n) || (line[n] != ' ' && line[n]))
		return -2;
	return strtol(line + n, NULL, 10);
}

/* Waits up to 20 s for a line "<prefix>[ <number>]"; returns the number (a tid), 0 when
 * there is none, -1 on timeout or EOF.  Other lines are kept for later calls. */
static long child_wait_line(struct child *c, const char *prefix)
{
	uint64_t deadline = hl_now_monotonic_ns() + 20000000000ULL;
	unsigned i;

	for (i = 0; i < c->nkept; i++) {
		long v = line_value(c->kept[i], prefix);

		if (v != -2) {
			memmove(c->kept[i], c->kept[i + 1],
				(c->nkept - i - 1) * sizeof(c->kept[0]));
			c->nkept--;
			return v;
		}
	}
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = {.fd = c->out, .events = POLLIN};
		ssize_t got;

		if (nl) {
			size_t linelen = (size_t)(nl - c->buf) + 1;
			long v;

			*nl = '\0';
			v = line_value(c->buf, prefix);
			if (v == -2 && c->nkept < HL_ARRAY_SIZE(c->kept))
				snprintf(c->kept[c->nkept++], sizeof(c->kept[0]), "%s", c->buf);
			memmove(c->buf, c->buf + linelen, c->len - linelen);
			c->len -= linelen;
			if (v != -2)
				return v;
			continue;
		}
		if (hl_now_monotonic_ns() > deadline || c->len == sizeof(c->buf))
			return -1;
		if (poll(&p, 1, 100) <= 0)
			continue;
		got = read(c->out, c->buf + c->len, sizeof(c->buf) - c->len);
		if (got <= 0)
			return -1;
		c->len += (size_t)got;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Samples, taken as the BPF sampler takes them. */

struct sample {
	struct hl_unwind_regs regs;
	uint8_t *stack;
	size_t len;
	bool at_top;
	pid_t tid;
};

static void sample_release(struct sample *s)
{
	free(s->stack);
	s->stack = NULL;
}

static int sample_copy(struct sample *dst, const struct sample *src)
{
	*dst = *src;
	dst->stack = malloc(src->len ? src->len : 1);
	if (!dst->stack)
		return -1;
	memcpy(dst->stack, src->stack, src->len);
	return 0;
}

static void regs_from_user(const struct user_regs_struct *u, struct hl_unwind_regs *r)
{
	r->r[0] = u->rax;
	r->r[1] = u->rdx;
	r->r[2] = u->rcx;
	r->r[3] = u->rbx;
	r->r[4] = u->rsi;
	r->r[5] = u->rdi;
	r->r[6] = u->rbp;
	r->r[7] = u->rsp;
	r->r[8] = u->r8;
	r->r[9] = u->r9;
	r->r[10] = u->r10;
	r->r[11] = u->r11;
	r->r[12] = u->r12;
	r->r[13] = u->r13;
	r->r[14] = u->r14;
	r->r[15] = u->r15;
	r->r[16] = u->rip;
}

/* Stops thread @tid of process @pid, takes its registers and stack, lets it go — after
 * queueing signal @sig for it when not 0, so the signal interrupts exactly the state
 * sampled.  0 or -1. */
static int take_sample_signal(pid_t pid, pid_t tid, struct sample *s, int sig)
{
	struct user_regs_struct u;
	ssize_t got;
	int st, i, ret = -1;

	memset(s, 0, sizeof(*s));
	if (ptrace(PTRACE_SEIZE, tid, 0, 0))
		return -1;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0))
		goto out_detach;
	for (i = 0; i < 16; i++) {
		if (waitpid(tid, &st, __WALL) != tid || !WIFSTOPPED(st))
			return -1; /* gone */
		if (st >> 16 == PTRACE_EVENT_STOP)
			break;
		/* A signal on its way in (the signal fixture's): deliver it, stop again. */
		ptrace(PTRACE_CONT, tid, 0, WSTOPSIG(st));
		ptrace(PTRACE_INTERRUPT, tid, 0, 0);
	}
	if (i == 16 || ptrace(PTRACE_GETREGS, tid, 0, &u))
		goto out_detach;
	regs_from_user(&u, &s->regs);
	s->tid = tid;
	s->stack = malloc(STACK_COPY);
	if (!s->stack)
		goto out_detach;
	got = hl_procmem_read_partial(pid, u.rsp, s->stack, STACK_COPY);
	if (got < 0)
		got = 0;
	s->len = (size_t)got;
	/* Shorter than asked: the next page is not the stack's (the sampler's copy stops at the
	 * last readable page the same way). */
	s->at_top = s->len < STACK_COPY;
	ret = 0;
	if (sig)
		syscall(SYS_tgkill, pid, tid, sig);
out_detach:
	ptrace(PTRACE_DETACH, tid, 0, 0);
	if (ret)
		sample_release(s);
	return ret;
}

static int take_sample(pid_t pid, pid_t tid, struct sample *s)
{
	return take_sample_signal(pid, tid, s, 0);
}

struct walk {
	uint64_t pcs[MAX_FRAMES];
	uint8_t flags[MAX_FRAMES];
	unsigned n;
	enum hl_unwind_end end;
	int ret;
};

static void walk_sample(struct hl_addrspace *as, const struct sample *s, unsigned max,
			struct walk *w)
{
	w->n = 0;
	w->end = HL_UNWIND_END_COUNT;
	w->ret = hl_unwind(as, &s->regs, s->stack, s->len, s->at_top, w->pcs, w->flags, max, &w->n,
			   &w->end);
}

/* ---------------------------------------------------------------------------------------- */
/* Naming frames: the fixture's functions by its symbol table, other code by module. */

struct fixture {
	char path[PATH_MAX]; /* realpath, as /proc/PID/maps shows it */
	struct hl_elf *elf;
};

/* clang-format off */
static const char *const fixture_funcs[] = {
	"main", "a", "b", "c", "d", "rec", "h1", "h2", "on_signal", "t_entry", "_start",
};
/* clang-format on */

/* The address to look a frame up by: a return address belongs to the call before it. */
static uint64_t frame_addr(uint64_t pc, uint8_t flags)
{
	return (flags & HL_UNWIND_EXACT_PC) ? pc : pc - 1;
}

static bool in_func(const struct fixture *fx, const struct hl_module *m, uint64_t at,
		    const char *name)
{
	uint64_t vaddr, size;

	if (!m || !fx || strcmp(m->path, fx->path) ||
	    hl_elf__find_symbol(fx->elf, name, &vaddr, &size))
		return false;
	return at - m->bias >= vaddr && at - m->bias < vaddr + size;
}

static void frame_name(struct hl_addrspace *as, const struct fixture *fx, uint64_t pc,
		       uint8_t flags, char *buf, size_t size)
{
	uint64_t at = frame_addr(pc, flags);
	const struct hl_module *m = hl_addrspace__lookup(as, at);
	const char *base;
	size_t i;

	if (!m) {
		snprintf(buf, size, "?");
		return;
	}
	for (i = 0; i < HL_ARRAY_SIZE(fixture_funcs); i++) {
		if (in_func(fx, m, at, fixture_funcs[i])) {
			snprintf(buf, size, "%s", fixture_funcs[i]);
			return;
		}
	}
	base = strrchr(m->path, '/');
	snprintf(buf, size, "%s+%#llx", base ? base + 1 : (m->path[0] ? m->path : "[anon]"),
		 (unsigned long long)(at - m->bias));
}

static void print_walk(struct hl_addrspace *as, const struct fixture *fx, const struct walk *w,
		       const char *title)
{
	unsigned i;

	fprintf(stderr, "  %s: %u frames, end %s\n", title, w->n, hl_unwind_end_name(w->end));
	for (i = 0; i < w->n && i < 40; i++) {
		char name[128];

		uint64_t at = frame_addr(w->pcs[i], w->flags[i]);
		const struct hl_module *m = hl_addrspace__lookup(as, at);
		char rule[256] = "";

		frame_name(as, fx, w->pcs[i], w->flags[i], name, sizeof(name));
		if (m && m->binary &&
		    hl_unwind_rule_describe(m->binary, at - m->bias, rule, sizeof(rule)))
			snprintf(rule, sizeof(rule), "(no CFI)");
		fprintf(stderr, "    #%-3u %#014llx %s%s%s  %s\n", i, (unsigned long long)w->pcs[i],
			name, (w->flags[i] & HL_UNWIND_EXACT_PC) ? " [exact]" : "",
			(w->flags[i] & HL_UNWIND_FP) ? " [fp]" : "", rule);
	}
	if (w->n > 40)
		fprintf(stderr, "    ... %u more\n", w->n - 40);
}

/* A pattern of expected frames: space-separated tokens, each a fixture function, "@libc",
 * "@vdso" or "?" (anything), optionally followed by "+" (one or more) or "*" (zero or more),
 * then ":fp" (found by the frame pointer) or ":exact" (exact pc: after a signal frame).  A
 * fixture function without ":fp" must not carry the FP flag, nor EXACT unless it is frame 0:
 * a walk that found the right frames the wrong way fails. */
struct tok {
	char name[32];
	char quant; /* 0, '+', '*' */
	bool fp, exact;
};

static int parse_pattern(const char *pattern, struct tok *toks, size_t max)
{
	size_t n = 0;
	const char *p = pattern;

	while (*p) {
		struct tok *t;
		size_t len;
		char *colon;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (n == max)
			return -1;
		t = &toks[n++];
		memset(t, 0, sizeof(*t));
		len = strcspn(p, " ");
		if (len >= sizeof(t->name))
			return -1;
		memcpy(t->name, p, len);
		p += len;
		colon = strchr(t->name, ':');
		if (colon) {
			t->fp = !strcmp(colon, ":fp");
			t->exact = !strcmp(colon, ":exact");
			*colon = '\0';
		}
		len = strlen(t->name);
		if (len && (t->name[len - 1] == '+' || t->name[len - 1] == '*')) {
			t->quant = t->name[len - 1];
			t->name[len - 1] = '\0';
		}
	}
	return (int)n;
}

struct match_ctx {
	struct hl_addrspace *as;
	const struct fixture *fx;
	const struct walk *w;
};

static bool frame_matches(const struct match_ctx *mc, const struct tok *t, unsigned i)
{
	uint64_t at = frame_addr(mc->w->pcs[i], mc->w->flags[i]);
	const struct hl_module *m = hl_addrspace__lookup(mc->as, at);
	uint8_t fl = mc->w->flags[i];

	if (!strcmp(t->name, "?"))
		return true;
	if (!m)
		return false;
	if (!strcmp(t->name, "@libc"))
		return strstr(m->path, "/libc.so") != NULL;
	if (!strcmp(t->name, "@vdso"))
		return !strcmp(m->path, "[vdso]");
	if (!in_func(mc->fx, m, at, t->name))
		return false;
	if (!!(fl & HL_UNWIND_FP) != t->fp)
		return false;
	return !!(fl & HL_UNWIND_EXACT_PC) == (t->exact || i == 0);
}

static bool match_from(const struct match_ctx *mc, const struct tok *t, size_t nt, unsigned i)
{
	unsigned k = 0, min;

	if (nt == 0)
		return i == mc->w->n;
	if (!t->quant)
		return i < mc->w->n && frame_matches(mc, t, i) &&
		       match_from(mc, t + 1, nt - 1, i + 1);
	min = t->quant == '+' ? 1 : 0;
	while (i + k < mc->w->n && frame_matches(mc, t, i + k))
		k++;
	for (;; k--) {
		if (k >= min && match_from(mc, t + 1, nt - 1, i + k))
			return true;
		if (k == 0)
			return false;
	}
}

static bool walk_matches(struct hl_addrspace *as, const struct fixture *fx, const struct walk *w,
			 const char *pattern)
{
	struct tok toks[32];
	struct match_ctx mc = {as, fx, w};
	int nt = parse_pattern(pattern, toks, HL_ARRAY_SIZE(toks));

	return nt >= 0 && match_from(&mc, toks, (size_t)nt, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Building the fixtures. */

/* clang-format off */
static const struct variant {
	const char *name;
	const char *chain_flags; /* unwind_chain.c: main, a, c, the handler, rec, t_entry */
	const char *leaf_flags;	 /* unwind_leaf.c: b, d */
} variants[] = {
	{"nofp", "-O2 -fomit-frame-pointer", "-O2 -fomit-frame-pointer"},
	{"fp", "-O2 -fno-omit-frame-pointer", "-O2 -fno-omit-frame-pointer"},
	/* b and d keep frame pointers but have no CFI at all (no .eh_frame, no -g). */
	{"mixed", "-O2 -fomit-frame-pointer",
	 "-O2 -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-unwind-tables"},
	/* Our code's CFI only in .debug_frame (crt's and the PLT's stay in .eh_frame). */
	{"debugframe", "-O2 -fomit-frame-pointer -fno-asynchronous-unwind-tables -g",
	 "-O2 -fomit-frame-pointer -fno-asynchronous-unwind-tables -g"},
};
/* clang-format on */

static struct fixture fixtures[HL_ARRAY_SIZE(variants)];

static int run_cmd(const char *cmd)
{
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
		return -1;
	}
	return 0;
}

static int build_fixture(const struct variant *v, struct fixture *fx)
{
	const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
	char cmd[4 * PATH_MAX], exe[PATH_MAX];

	snprintf(exe, sizeof(exe), "%s/unwind_%s", work_dir, v->name);
	snprintf(cmd, sizeof(cmd),
		 "'%s' %s -c -o '%s/unwind_leaf_%s.o' '%s/tests/fixtures/native/unwind_leaf.c' && "
		 "'%s' %s -o '%s' '%s/tests/fixtures/native/unwind_chain.c' "
		 "'%s/unwind_leaf_%s.o' -lpthread",
		 cc, v->leaf_flags, work_dir, v->name, source_dir, cc, v->chain_flags, exe,
		 source_dir, work_dir, v->name);
	if (run_cmd(cmd))
		return -1;
	if (!realpath(exe, fx->path))
		return -1;
	fx->elf = hl_elf__open(fx->path);
	return fx->elf ? 0 : -1;
}

static const struct fixture *fixture_of(const char *variant)
{
	size_t i;

	for (i = 0; i < HL_ARRAY_SIZE(variants); i++)
		if (!strcmp(variants[i].name, variant) && fixtures[i].elf)
			return &fixtures[i];
	return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* 1. Fixture stacks. */

/* clang-format off */
static const struct fixture_case {
	const char *variant;
	const char *mode;
	const char *pattern;
	enum hl_unwind_end end;
} fixture_cases[] = {
	{"nofp", "chain", "d c b a main @libc+ _start", HL_UNWIND_ROOT},
	{"nofp", "signal", "h2 h1 on_signal @libc d:exact c b a main @libc+ _start",
	 HL_UNWIND_ROOT},
	{"nofp", "vdso", "@vdso+ @libc+ d c b a main @libc+ _start", HL_UNWIND_ROOT},
	{"nofp", "thread", "d c b a t_entry @libc+", HL_UNWIND_ROOT},
	{"nofp", "thread-main", "@libc+ main @libc+ _start", HL_UNWIND_ROOT},
	{"nofp", "deep", "d rec+", HL_UNWIND_STACK_END},

	{"fp", "chain", "d c b a main @libc+ _start", HL_UNWIND_ROOT},
	{"fp", "signal", "h2 h1 on_signal @libc d:exact c b a main @libc+ _start", HL_UNWIND_ROOT},
	{"fp", "vdso", "@vdso+ @libc+ d c b a main @libc+ _start", HL_UNWIND_ROOT},
	{"fp", "thread", "d c b a t_entry @libc+", HL_UNWIND_ROOT},
	{"fp", "deep", "d rec+", HL_UNWIND_STACK_END},

	/* d and b have no CFI: c and a are found through their frame pointers. */
	{"mixed", "chain", "d c:fp b a:fp main @libc+ _start", HL_UNWIND_ROOT},
	{"mixed", "signal", "h2 h1 on_signal @libc d:exact c:fp b a:fp main @libc+ _start",
	 HL_UNWIND_ROOT},
	{"mixed", "vdso", "@vdso+ @libc+ d c:fp b a:fp main @libc+ _start", HL_UNWIND_ROOT},
	{"mixed", "thread", "d c:fp b a:fp t_entry @libc+", HL_UNWIND_ROOT},
	{"mixed", "deep", "d rec:fp rec+", HL_UNWIND_STACK_END},

	{"debugframe", "chain", "d c b a main @libc+ _start", HL_UNWIND_ROOT},
	{"debugframe", "signal", "h2 h1 on_signal @libc d:exact c b a main @libc+ _start",
	 HL_UNWIND_ROOT},
	{"debugframe", "thread", "d c b a t_entry @libc+", HL_UNWIND_ROOT},
};
/* clang-format on */

/* Whether exact pc @pc is where @token (a fixture function, "@libc", "@vdso") says. */
static bool pc_is(struct hl_addrspace *as, const struct fixture *fx, uint64_t pc, const char *token)
{
	struct walk *w = calloc(1, sizeof(*w));
	struct tok t;
	bool ok;

	if (!w)
		return false;
	w->pcs[0] = pc;
	w->flags[0] = HL_UNWIND_EXACT_PC;
	w->n = 1;
	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%.*s", (int)strcspn(token, " +*:"), token);
	ok = frame_matches(&(struct match_ctx){as, fx, w}, &t, 0);
	free(w);
	return ok;
}

/* Stops @tid until its pc is where @want says, at most 1000 times: the thread gets there
 * on its own (out of the write() of its "ready" line, into clock_gettime's [vdso] code),
 * and retrying is what makes that certain, not a sleep.  Sends @sig at that stop when not
 * 0.  0 or -1. */
static int sample_where(struct hl_addrspace *as, const struct fixture *fx, pid_t pid, pid_t tid,
			const char *want, int sig, struct sample *s)
{
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		if (take_sample_signal(pid, tid, s, 0))
			return -1;
		if (pc_is(as, fx, s->regs.r[HL_REG_RIP], want)) {
			if (!sig)
				return 0;
			/* Stop again and signal right there: the pc barely moves in a spin. */
			sample_release(s);
			if (take_sample_signal(pid, tid, s, sig))
				return -1;
			return pc_is(as, fx, s->regs.r[HL_REG_RIP], want) ? 0 : -1;
		}
		sample_release(s);
		usleep(1000);
	}
	fprintf(stderr, "thread %d never stopped in %s in %d tries\n", (int)tid, want, tries);
	return -1;
}

/* Starts the fixture in @mode and samples the thread the mode is about where @want (the
 * first token of the row's pattern) says its pc must be.  The process stays running in *c
 * with its address space in *as (the caller frees both).  Returns 0 or -1. */
static int fixture_sample(const struct fixture *fx, const char *mode, const char *want,
			  struct child *c, struct hl_addrspace **as, struct sample *s)
{
	const char *run_mode = !strcmp(mode, "thread-main") ? "thread" : mode;
	char *argv[] = {(char *)fx->path, (char *)run_mode, NULL};
	struct sample first;
	pid_t tid;

	*as = NULL;
	if (child_start(c, argv))
		return -1;
	tid = (pid_t)child_wait_line(c, "ready");
	if (tid <= 0)
		return -1;
	*as = hl_addrspace__new(c->pid, bcache);
	if (!*as || hl_addrspace__refresh(*as))
		return -1;
	if (!strcmp(mode, "signal")) {
		/* The signal must interrupt d itself, not the write() of "ready". */
		if (sample_where(*as, fx, c->pid, tid, "d", SIGUSR1, &first))
			return -1;
		sample_release(&first);
		tid = (pid_t)child_wait_line(c, "ready2");
		if (tid <= 0)
			return -1;
	}
	if (!strcmp(mode, "thread-main")) {
		if (child_wait_line(c, "joining") < 0)
			return -1;
		tid = c->pid;
	}
	return sample_where(*as, fx, c->pid, tid, want, 0, s);
}

struct taken {
	struct child child;
	struct hl_addrspace *as;
	struct sample s;
	struct walk w;
};

static void test_fixture_stacks(void)
{
	size_t i;

	for (i = 0; i < HL_ARRAY_SIZE(fixture_cases); i++) {
		const struct fixture_case *fc = &fixture_cases[i];
		const struct fixture *fx = fixture_of(fc->variant);
		static struct taken t;
		char what[160];
		bool ok;

		snprintf(what, sizeof(what), "%s/%s", fc->variant, fc->mode);
		memset(&t, 0, sizeof(t));
		if (!fx || fixture_sample(fx, fc->mode, fc->pattern, &t.child, &t.as, &t.s)) {
			CHECK(false, what);
			hl_addrspace__free(t.as);
			child_stop(&t.child);
			continue;
		}
		walk_sample(t.as, &t.s, MAX_FRAMES, &t.w);
		CHECK_INT(0, t.w.ret, what);
		CHECK_STR(hl_unwind_end_name(fc->end), hl_unwind_end_name(t.w.end), what);
		ok = walk_matches(t.as, fx, &t.w, fc->pattern);
		if (!ok) {
			fprintf(stderr, "%s: expected \"%s\"\n", what, fc->pattern);
			print_walk(t.as, fx, &t.w, what);
		}
		CHECK(ok, what);
		if (fc->end == HL_UNWIND_STACK_END)
			CHECK(t.w.n > 100,
			      "deep recursion: hundreds of frames before the copy ends");
		hl_addrspace__free(t.as);
		sample_release(&t.s);
		child_stop(&t.child);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* 2. Failure rows: a real sample, altered. */

enum alteration {
	ALT_NONE,
	ALT_EMPTY_COPY,	    /* not one byte of stack */
	ALT_MAX3,	    /* room for three frames */
	ALT_MAX_EXACT,	    /* room for exactly the frames there are */
	ALT_RIP_UNMAPPED,   /* pc nowhere, rbp 0 */
	ALT_RA_GARBAGE,	    /* d's return address overwritten */
	ALT_RA_ZERO_RBP,    /* mixed: d without CFI and rbp cleared */
	ALT_RBP_MISALIGNED, /* mixed: d without CFI and rbp not a frame pointer */
	ALT_CUT_AT_CFA_TOP, /* the copy ends exactly at c's CFA and that is the stack's top */
	ALT_CUT_AT_CFA,	    /* the same cut, but the copy was merely short */
	ALT_PLT_ENTRY,	    /* d just called a PLT stub: stopped on its first instruction */
	ALT_PLT_PUSHED,	    /* ... on the jmp after the stub's push */
	ALT_CFA_DOWN,	    /* fp: d's saved rbp made to point back down the stack */
};

/* clang-format off */
static const struct alter_case {
	const char *name;
	const char *variant;
	enum alteration alt;
	const char *pattern;
	enum hl_unwind_end end;
} alter_cases[] = {
	{"unaltered", "nofp", ALT_NONE, "d c b a main @libc+ _start", HL_UNWIND_ROOT},
	{"empty copy", "nofp", ALT_EMPTY_COPY, "d", HL_UNWIND_STACK_END},
	{"three frames max", "nofp", ALT_MAX3, "d c b", HL_UNWIND_MAX_FRAMES},
	{"max == frames", "nofp", ALT_MAX_EXACT, "d c b a main @libc+ _start", HL_UNWIND_ROOT},
	{"pc unmapped, no frame pointer", "nofp", ALT_RIP_UNMAPPED, "?", HL_UNWIND_NO_INFO},
	{"garbage return address", "nofp", ALT_RA_GARBAGE, "d", HL_UNWIND_BAD},
	{"no CFI, rbp 0", "mixed", ALT_RA_ZERO_RBP, "d", HL_UNWIND_NO_INFO},
	{"no CFI, rbp misaligned", "mixed", ALT_RBP_MISALIGNED, "d", HL_UNWIND_NO_INFO},
	{"copy ends at a CFA at the top", "nofp", ALT_CUT_AT_CFA_TOP, "d c", HL_UNWIND_ROOT},
	{"copy ends at a CFA, short", "nofp", ALT_CUT_AT_CFA, "d c b", HL_UNWIND_STACK_END},
	{"cut, frame pointers", "fp", ALT_CUT_AT_CFA, "d c b", HL_UNWIND_STACK_END},
	{"PLT stub, first insn", "nofp", ALT_PLT_ENTRY, "? d c b a main @libc+ _start",
	 HL_UNWIND_ROOT},
	{"PLT stub, after push", "nofp", ALT_PLT_PUSHED, "? d c b a main @libc+ _start",
	 HL_UNWIND_ROOT},
	{"PLT stub, debug_frame build", "debugframe", ALT_PLT_PUSHED,
	 "? d c b a main @libc+ _start", HL_UNWIND_ROOT},
	/* c's CFA = that rbp + 16 lies below d's, and a return address waits there: only the
	 * rule that the CFA climbs stops the walk going round. */
	{"CFA going down", "fp", ALT_CFA_DOWN, "d c", HL_UNWIND_BAD},
};
/* clang-format on */

/* Offset in the copy of the first 8-byte word equal to @v at or after @from, or -1. */
static long find_word(const struct sample *s, uint64_t v, size_t from)
{
	size_t off;

	for (off = from; off + 8 <= s->len; off += 8) {
		uint64_t w;

		memcpy(&w, s->stack + off, 8);
		if (w == v)
			return (long)off;
	}
	return -1;
}

/* Makes @s look like d had just called the second PLT stub, stopped @at bytes into it (with
 * the stub's push done when @at >= 6).  Returns 0 or -1. */
static int alter_plt(struct hl_addrspace *as, const struct fixture *fx, struct sample *s,
		     unsigned at)
{
	uint64_t plt, size, ret = s->regs.r[HL_REG_RIP], pushed = at >= 6 ? 16 : 8;
	const struct hl_module *m = hl_addrspace__lookup(as, ret);
	uint8_t *bigger;
	char rule[256];

	if (!m || hl_elf__find_section(fx->elf, ".plt", &plt, &size, NULL) || size < 32)
		return -1;
	/* The stub's CFA is the DWARF expression rsp + 8 + ((rip & 15) >= 11 ? 8 : 0). */
	if (hl_unwind_rule_describe(m->binary, plt + 16 + at, rule, sizeof(rule)) ||
	    strncmp(rule, "cfa=expr", 8)) {
		fprintf(stderr, "PLT rule at %#llx: \"%s\"\n", (unsigned long long)(plt + 16 + at),
			rule);
		return -1;
	}
	bigger = malloc(s->len + pushed);
	if (!bigger)
		return -1;
	memset(bigger, 0, pushed);
	/* The return address sits right above what the stub pushed (the relocation index). */
	memcpy(bigger + pushed - 8, &ret, 8);
	memcpy(bigger + pushed, s->stack, s->len);
	free(s->stack);
	s->stack = bigger;
	s->len += pushed;
	s->regs.r[HL_REG_RSP] -= pushed;
	s->regs.r[HL_REG_RIP] = m->bias + plt + 16 + at;
	return 0;
}

static void test_alterations(void)
{
	struct {
		const char *variant;
		struct child child;
		struct hl_addrspace *as;
		struct sample s;
		struct walk w;
	} * base;
	static struct walk w;
	size_t i, v;

	base = calloc(HL_ARRAY_SIZE(variants), sizeof(*base));
	if (!base) {
		CHECK(false, "calloc");
		return;
	}
	for (v = 0; v < HL_ARRAY_SIZE(variants); v++) {
		const struct fixture *fx = &fixtures[v];

		base[v].variant = variants[v].name;
		if (!fx->elf ||
		    fixture_sample(fx, "chain", "d", &base[v].child, &base[v].as, &base[v].s)) {
			CHECK(false, "base sample");
			continue;
		}
		walk_sample(base[v].as, &base[v].s, MAX_FRAMES, &base[v].w);
	}

	for (i = 0; i < HL_ARRAY_SIZE(alter_cases); i++) {
		const struct alter_case *ac = &alter_cases[i];
		const struct fixture *fx = fixture_of(ac->variant);
		struct sample s;
		unsigned max = MAX_FRAMES;
		long off1, off2;
		bool ok;

		for (v = 0; v < HL_ARRAY_SIZE(variants); v++)
			if (!strcmp(base[v].variant, ac->variant))
				break;
		if (v == HL_ARRAY_SIZE(variants) || !base[v].as || !base[v].s.stack ||
		    sample_copy(&s, &base[v].s)) {
			CHECK(false, ac->name);
			continue;
		}
		/* Where d's and c's return addresses sit: the ends of their frames. */
		off1 = find_word(&s, base[v].w.pcs[1], 0);
		off2 = off1 < 0 ? -1 : find_word(&s, base[v].w.pcs[2], (size_t)off1 + 8);
		switch (ac->alt) {
		case ALT_NONE:
			break;
		case ALT_EMPTY_COPY:
			s.len = 0;
			s.at_top = false;
			break;
		case ALT_MAX3:
			max = 3;
			break;
		case ALT_MAX_EXACT:
			max = base[v].w.n;
			break;
		case ALT_RIP_UNMAPPED:
			s.regs.r[HL_REG_RIP] = 0x1000;
			s.regs.r[HL_REG_RBP] = 0;
			break;
		case ALT_RA_GARBAGE:
			CHECK(off1 >= 0, "d's return address is in the copy");
			while (off1 >= 0) {
				uint64_t junk = 0x4141414141414141ULL;

				memcpy(s.stack + off1, &junk, 8);
				off1 = find_word(&s, base[v].w.pcs[1], (size_t)off1 + 8);
			}
			break;
		case ALT_RA_ZERO_RBP:
			s.regs.r[HL_REG_RBP] = 0;
			break;
		case ALT_RBP_MISALIGNED:
			s.regs.r[HL_REG_RBP] = s.regs.r[HL_REG_RSP] + 3;
			break;
		case ALT_CUT_AT_CFA_TOP:
		case ALT_CUT_AT_CFA:
			CHECK(off2 >= 0, "c's return address is in the copy");
			if (off2 >= 0)
				s.len = (size_t)off2 + 8;
			s.at_top = ac->alt == ALT_CUT_AT_CFA_TOP;
			break;
		case ALT_CFA_DOWN:
			CHECK(off1 >= 8, "d's saved rbp and return address are in the copy");
			if (off1 >= 8) {
				uint64_t down = s.regs.r[HL_REG_RSP];

				memcpy(s.stack + off1 - 8, &down, 8);
				memcpy(s.stack + 8, &base[v].w.pcs[1], 8);
			}
			break;
		case ALT_PLT_ENTRY:
		case ALT_PLT_PUSHED:
			CHECK(!alter_plt(base[v].as, fx, &s, ac->alt == ALT_PLT_ENTRY ? 0 : 11),
			      "a PLT stub with a DWARF-expression CFA");
			break;
		}
		walk_sample(base[v].as, &s, max, &w);
		CHECK_INT(0, w.ret, ac->name);
		CHECK_STR(hl_unwind_end_name(ac->end), hl_unwind_end_name(w.end), ac->name);
		ok = walk_matches(base[v].as, fx, &w, ac->pattern);
		if (!ok) {
			fprintf(stderr, "%s: expected \"%s\"\n", ac->name, ac->pattern);
			print_walk(base[v].as, fx, &w, ac->name);
		}
		CHECK(ok, ac->name);
		CHECK_INT(s.regs.r[HL_REG_RIP], w.pcs[0], "pcs[0] is the interrupted rip");
		sample_release(&s);
	}

	/* Steady state: walking a stack again compiles nothing, it only hits the cache. */
	for (v = 0; v < HL_ARRAY_SIZE(variants); v++) {
		const struct hl_module *m;
		struct hl_unwind_table_stats before, after;

		if (!base[v].as || !base[v].s.stack)
			continue;
		m = hl_addrspace__lookup(base[v].as, base[v].s.regs.r[HL_REG_RIP]);
		CHECK(m && m->binary, "the fixture module has a binary");
		if (!m || !m->binary)
			continue;
		hl_unwind_table_stats(m->binary, &before);
		walk_sample(base[v].as, &base[v].s, MAX_FRAMES, &w);
		hl_unwind_table_stats(m->binary, &after);
		CHECK(before.rules > 0 && before.pcs > 0, "rules were compiled and cached");
		CHECK_INT(before.misses, after.misses, "a second walk compiles nothing");
		CHECK(after.hits > before.hits, "a second walk hits the cache");
	}

	/* A target controls its stack: random corruption of a real sample, of the copy and of
	 * the registers, must never crash, overrun or end without a reason. */
	for (v = 0; v < HL_ARRAY_SIZE(variants); v++) {
		unsigned seed = 12345 + (unsigned)v, round, bad = 0;

		if (!base[v].as || !base[v].s.stack)
			continue;
		for (round = 0; round < 3000; round++) {
			struct sample s;
			unsigned k, nmut, maxf = 1 + (unsigned)(rand_r(&seed) % 64);

			if (sample_copy(&s, &base[v].s))
				break;
			nmut = 1 + (unsigned)rand_r(&seed) % 8;
			for (k = 0; k < nmut; k++) {
				uint64_t val, pick = (uint64_t)rand_r(&seed);

				/* Plausible values hurt more than random ones: stack and code
				 * addresses. */
				switch (pick % 4) {
				case 0:
					val = ((uint64_t)rand_r(&seed) << 32) ^
					      (uint64_t)rand_r(&seed);
					break;
				case 1:
					val = s.regs.r[HL_REG_RSP] +
					      (uint64_t)(rand_r(&seed) % 70000);
					break;
				case 2:
					val = base[v].w.pcs[(unsigned)rand_r(&seed) % base[v].w.n];
					break;
				default:
					val = s.regs.r[HL_REG_RSP] -
					      8 * (uint64_t)(rand_r(&seed) % 8);
					break;
				}
				if (s.len >= 8 && rand_r(&seed) % 3) {
					size_t off = (size_t)rand_r(&seed) % (s.len / 8) * 8;

					memcpy(s.stack + off, &val, 8);
				} else {
					s.regs.r[(unsigned)rand_r(&seed) % HL_UNWIND_NREGS] = val;
				}
			}
			if (rand_r(&seed) % 4 == 0)
				s.len = (size_t)rand_r(&seed) % (s.len + 1);
			w.pcs[maxf] = 0xfeedfacecafebeefULL;
			walk_sample(base[v].as, &s, maxf, &w);
			if (w.ret || w.n < 1 || w.n > maxf || w.end >= HL_UNWIND_END_COUNT ||
			    w.pcs[0] != s.regs.r[HL_REG_RIP] ||
			    w.pcs[maxf] != 0xfeedfacecafebeefULL)
				bad++;
			sample_release(&s);
		}
		CHECK_INT(0, bad, "corrupted samples: every walk bounded, with a reason");
	}

	for (v = 0; v < HL_ARRAY_SIZE(variants); v++) {
		hl_addrspace__free(base[v].as);
		sample_release(&base[v].s);
		child_stop(&base[v].child);
	}
	free(base);
}

/* ---------------------------------------------------------------------------------------- */
/* The API's own edges. */

static void test_api(void)
{
	/* clang-format off */
	static const struct {
		enum hl_unwind_end end;
		const char *name;
	} names[] = {
		{HL_UNWIND_ROOT, "root"},
		{HL_UNWIND_STACK_END, "stack-end"},
		{HL_UNWIND_NO_INFO, "no-unwind-info"},
		{HL_UNWIND_BAD, "bad-step"},
		{HL_UNWIND_MAX_FRAMES, "max-frames"},
		{HL_UNWIND_END_COUNT, "?"},
		{(enum hl_unwind_end)-1, "?"},
	}; /* clang-format on */

	struct hl_addrspace *as = hl_addrspace__new(getpid(), bcache);
	struct hl_unwind_regs regs = {{0}};
	uint64_t pcs[4];
	unsigned n = 99;
	enum hl_unwind_end end;
	size_t i;

	for (i = 0; i < HL_ARRAY_SIZE(names); i++)
		CHECK_STR(names[i].name, hl_unwind_end_name(names[i].end), "hl_unwind_end_name");
	CHECK_INT(-EINVAL, hl_unwind(as, &regs, NULL, 0, false, pcs, NULL, 0, &n, &end), "max 0");
	CHECK_INT(-EINVAL, hl_unwind(NULL, &regs, NULL, 0, false, pcs, NULL, 4, &n, &end),
		  "no address space");
	CHECK_INT(-EINVAL, hl_unwind(as, NULL, NULL, 0, false, pcs, NULL, 4, &n, &end),
		  "no registers");
	CHECK_INT(-EINVAL, hl_unwind(as, &regs, NULL, 16, false, pcs, NULL, 4, &n, &end),
		  "a length without a copy");
	/* All zero: pc 0, nothing to go on. */
	CHECK_INT(0, hl_unwind(as, &regs, NULL, 0, false, pcs, NULL, 4, &n, &end), "zeros");
	CHECK_INT(1, n, "zeros: one frame");
	CHECK_STR("no-unwind-info", hl_unwind_end_name(end), "zeros");
	hl_addrspace__free(as);
}

/* ---------------------------------------------------------------------------------------- */
/* 3. Real CPython. */

static const char py_script[] = "import threading, time\n"
				"def leaf():\n"
				"    return time.time()\n"
				"def middle(n):\n"
				"    t = 0.0\n"
				"    for _ in range(n):\n"
				"        t += leaf()\n"
				"    return t\n"
				"def outer():\n"
				"    while True:\n"
				"        middle(100)\n"
				"threading.Thread(target=outer, daemon=True).start()\n"
				"print('ready', flush=True)\n"
				"outer()\n";

#define PY_SAMPLES   300
#define PY_MIN_RATE  0.97
#define BENCH_ROUNDS 30

struct py_case {
	const char *name;
	const char *xopt; /* -X option, or NULL */
	char exe[PATH_MAX];
	char eval_file[PATH_MAX]; /* the file defining _PyEval_EvalFrameDefault */
	char root_file[PATH_MAX]; /* the file whose _start ends the main thread's walks */
	/* Debian's 3.14 keeps the eval loop's body in an unnamed region the symbol does not
	 * cover (cpython-internals.md 7.3.2): there, any frame in eval_file counts. */
	bool eval_unnamed;
};

static int list_threads(pid_t pid, pid_t *tids, int max)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		long t = strtol(de->d_name, NULL, 10);

		if (t > 0)
			tids[n++] = (pid_t)t;
	}
	closedir(d);
	return n;
}

static void test_python(const struct py_case *pc)
{
	char *argv[] = {(char *)pc->exe, "-c", (char *)py_script, NULL, NULL, NULL};
	static struct sample samples[PY_SAMPLES];
	static struct walk w;
	struct hl_addrspace *as = NULL;
	struct child c;
	struct hl_elf *eval_elf;
	uint64_t eval_lo = 0, eval_size = 0, t0, t1, cpu0, cpu1, frames = 0, cold_ns = 0;
	struct hl_unwind_table_stats st;
	const struct hl_module *em;
	unsigned ends[HL_UNWIND_END_COUNT] = {0}, taken = 0, root_ok = 0, with_eval = 0,
		 wrong_root = 0, shown = 0, i, r;
	pid_t tids[8];
	int ntids;
	char what[160];
	double rate;

	if (pc->xopt) {
		argv[1] = "-X";
		argv[2] = (char *)pc->xopt;
		argv[3] = "-c";
		argv[4] = (char *)py_script;
	}
	eval_elf = hl_elf__open(pc->eval_file);
	if (!eval_elf ||
	    hl_elf__find_symbol(eval_elf, "_PyEval_EvalFrameDefault", &eval_lo, &eval_size)) {
		snprintf(what, sizeof(what), "%s: _PyEval_EvalFrameDefault in %s", pc->name,
			 pc->eval_file);
		CHECK(false, what);
		hl_elf__free(eval_elf);
		return;
	}
	hl_elf__free(eval_elf);
	if (child_start(&c, argv) || child_wait_line(&c, "ready") < 0) {
		snprintf(what, sizeof(what), "%s: start %s", pc->name, pc->exe);
		CHECK(false, what);
		child_stop(&c);
		return;
	}
	usleep(50000);
	ntids = list_threads(c.pid, tids, 8);
	as = hl_addrspace__new(c.pid, bcache);
	if (!as || hl_addrspace__refresh(as) || ntids < 2) {
		CHECK(false, "python address space and threads");
		goto out;
	}
	for (i = 0; i < PY_SAMPLES; i++) {
		struct sample *s = &samples[taken];
		const struct hl_module *last;
		bool has_eval = false;
		unsigned k;

		usleep(500 + (unsigned)(i * 7919) % 2500);
		if (take_sample(c.pid, tids[i % (unsigned)ntids], s))
			continue;
		taken++;
		t0 = hl_self_cpu_ns();
		walk_sample(as, s, MAX_FRAMES, &w);
		cold_ns += hl_self_cpu_ns() - t0;
		ends[w.end < HL_UNWIND_END_COUNT ? w.end : HL_UNWIND_BAD]++;
		for (k = 0; k < w.n; k++) {
			uint64_t at = frame_addr(w.pcs[k], w.flags[k]);
			const struct hl_module *m = hl_addrspace__lookup(as, at);

			if (m && !strcmp(m->path, pc->eval_file) &&
			    (pc->eval_unnamed ||
			     (at - m->bias >= eval_lo && at - m->bias < eval_lo + eval_size)))
				has_eval = true;
		}
		if (w.end != HL_UNWIND_ROOT) {
			if (shown++ < 3)
				print_walk(as, NULL, &w, "truncated python walk");
			continue;
		}
		/* The root is _start in the executable for the main thread, clone3 in libc
		 * for the other. */
		last = hl_addrspace__lookup(as, frame_addr(w.pcs[w.n - 1], w.flags[w.n - 1]));
		if (!last || (s->tid == c.pid ? strcmp(last->path, pc->root_file) != 0
					      : !strstr(last->path, "/libc.so"))) {
			wrong_root++;
			if (shown++ < 3)
				print_walk(as, NULL, &w, "walk ends at an unexpected root");
			continue;
		}
		root_ok++;
		with_eval += has_eval;
	}
	rate = taken ? (double)root_ok / taken : 0;
	printf("%s: %u stops, %.1f%% reached the root (%u stack-end, %u no-unwind-info, "
	       "%u bad-step, %u max-frames, %u wrong root); %u of %u complete walks cross "
	       "_PyEval_EvalFrameDefault\n",
	       pc->name, taken, 100.0 * rate, ends[HL_UNWIND_STACK_END], ends[HL_UNWIND_NO_INFO],
	       ends[HL_UNWIND_BAD], ends[HL_UNWIND_MAX_FRAMES], wrong_root, with_eval, root_ok);
	snprintf(what, sizeof(what), "%s: at least %.0f%% of walks reach the root", pc->name,
		 100 * PY_MIN_RATE);
	CHECK(taken >= PY_SAMPLES / 2 && rate >= PY_MIN_RATE, what);
	snprintf(what, sizeof(what), "%s: complete walks cross _PyEval_EvalFrameDefault", pc->name);
	CHECK(root_ok && with_eval == root_ok, what);

	/* The cost of a warm walk (every rule already compiled): a figure, not a verdict.
	 * The target stops meanwhile so that it does not compete for the CPU. */
	kill(c.pid, SIGSTOP);
	t0 = hl_now_monotonic_ns();
	cpu0 = hl_self_cpu_ns();
	for (r = 0; r < BENCH_ROUNDS; r++) {
		for (i = 0; i < taken; i++) {
			walk_sample(as, &samples[i], MAX_FRAMES, &w);
			frames += w.n;
		}
	}
	t1 = hl_now_monotonic_ns();
	cpu1 = hl_self_cpu_ns();
	if (taken)
		printf("%s: %.2f us CPU per warm unwind (%.2f us wall), %.1f frames per stack; "
		       "%.1f us CPU per first walk (compiling rules as needed)\n",
		       pc->name, (double)(cpu1 - cpu0) / 1e3 / (BENCH_ROUNDS * taken),
		       (double)(t1 - t0) / 1e3 / (BENCH_ROUNDS * taken),
		       (double)frames / (BENCH_ROUNDS * taken), (double)cold_ns / 1e3 / taken);
	/* One table per binary, shared: the pcs seen, and how few rules they need. */
	em = NULL;
	for (i = 0; i < taken && !em; i++) {
		const struct hl_module *m = hl_addrspace__lookup(as, samples[i].regs.r[HL_REG_RIP]);

		if (m && m->binary && !strcmp(m->path, pc->eval_file))
			em = m;
	}
	if (em) {
		hl_unwind_table_stats(em->binary, &st);
		printf("%s: %s table: %llu pcs cached, %llu distinct rules, %llu expressions\n",
		       pc->name, pc->eval_file, (unsigned long long)st.pcs,
		       (unsigned long long)st.rules, (unsigned long long)st.exprs);
	}
out:
	for (i = 0; i < taken; i++)
		sample_release(&samples[i]);
	hl_addrspace__free(as);
	child_stop(&c);
}

static void pyenv_root(char *buf, size_t size)
{
	const char *env = getenv("PYENV_ROOT");
	FILE *p;

	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return;
	}
	buf[0] = '\0';
	p = popen("pyenv root 2>/dev/null", "r");
	if (p) {
		if (fgets(buf, (int)size, p))
			buf[strcspn(buf, "\n")] = '\0';
		pclose(p);
	}
	if (!buf[0])
		snprintf(buf, size, "%s/.pyenv", getenv("HOME") ? getenv("HOME") : "/root");
}

static void test_pythons(void)
{
	/* clang-format off */
	static const struct {
		const char *version;
		const char *xopt;
	} pyenv_cases[] = {
		{"3.12.1", NULL},
		/* Perf trampolines: a copy of an asm stub per code object in anonymous memory,
		 * without CFI or frame pointer, under every eval frame. */
		{"3.12.1", "perf"},
		{"3.13.0", "perf"},
		{"3.8.18", NULL},
		{"3.9.18", NULL},
		{"3.10.13", NULL},
		{"3.11.7", NULL},
		{"3.13.0", NULL},
	}; /* clang-format on */

	static struct py_case pc;
	char root[PATH_MAX];
	size_t i;
	unsigned ran = 0;

	pyenv_root(root, sizeof(root));
	for (i = 0; i < HL_ARRAY_SIZE(pyenv_cases); i++) {
		const char *version = pyenv_cases[i].version;
		char name[64], minor[16];
		struct stat st;

		snprintf(minor, sizeof(minor), "%.*s", (int)strcspn(version + 2, ".") + 2, version);
		snprintf(name, sizeof(name), "pyenv %s%s%s", version,
			 pyenv_cases[i].xopt ? " -X " : "",
			 pyenv_cases[i].xopt ? pyenv_cases[i].xopt : "");
		pc.name = name;
		pc.xopt = pyenv_cases[i].xopt;
		snprintf(pc.exe, sizeof(pc.exe), "%s/versions/%s/bin/python%s", root, version,
			 minor);
		snprintf(pc.eval_file, sizeof(pc.eval_file),
			 "%s/versions/%s/lib/libpython%s.so.1.0", root, version, minor);
		snprintf(pc.root_file, sizeof(pc.root_file), "%s", pc.exe);
		pc.eval_unnamed = false;
		if (stat(pc.exe, &st) || stat(pc.eval_file, &st)) {
			printf("%s: not installed at %s, not measured\n", name, pc.exe);
			continue;
		}
		test_python(&pc);
		ran++;
	}
	pc.name = "debian /usr/bin/python3.11";
	pc.xopt = NULL;
	snprintf(pc.exe, sizeof(pc.exe), "/usr/bin/python3.11");
	snprintf(pc.eval_file, sizeof(pc.eval_file), "/usr/bin/python3.11");
	snprintf(pc.root_file, sizeof(pc.root_file), "/usr/bin/python3.11");
	pc.eval_unnamed = false;
	if (!access(pc.exe, X_OK)) {
		test_python(&pc);
		ran++;
	} else {
		printf("%s: not installed, not measured\n", pc.name);
	}
	/* Debian sid's 3.14 as tests/python314/fetch unpacks it: static, stripped, run through
	 * its own ld.so by a launcher script.  Its perf trampolines keep a frame pointer. */
	for (i = 0; i < 2; i++) {
		const char *cache = getenv("HOTLOOP_CACHE") && *getenv("HOTLOOP_CACHE")
					? getenv("HOTLOOP_CACHE")
					: "/var/cache/hotloop";
		char done[PATH_MAX];

		pc.name = i ? "debian sid 3.14 -X perf" : "debian sid 3.14";
		pc.xopt = i ? "perf" : NULL;
		snprintf(done, sizeof(done), "%s/python3.14/.complete", cache);
		snprintf(pc.exe, sizeof(pc.exe), "%s/python3.14/bin/python3.14", cache);
		snprintf(pc.eval_file, sizeof(pc.eval_file), "%s/python3.14/usr/bin/python3.14",
			 cache);
		snprintf(pc.root_file, sizeof(pc.root_file), "%s", pc.eval_file);
		pc.eval_unnamed = true;
		if (access(done, F_OK)) {
			printf("%s: not fetched (tests/python314/fetch), not measured\n", pc.name);
			continue;
		}
		test_python(&pc);
		ran++;
	}
	CHECK(ran > 0, "at least one CPython measured");
}

/* ---------------------------------------------------------------------------------------- */

int main(void)
{
	const char *build_dir = getenv("HOTLOOP_BUILD_DIR");
	size_t i;
	unsigned built = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: stopping other processes with ptrace needs root\n");
		return SKIP;
	}
	source_dir = getenv("HOTLOOP_SOURCE_DIR");
	if (!source_dir || !*source_dir) {
		fprintf(stderr, "HOTLOOP_SOURCE_DIR is not set (ctest sets it)\n");
		return 2;
	}
	snprintf(work_dir, sizeof(work_dir), "%s/tests/fixtures/native",
		 build_dir && *build_dir ? build_dir : "/tmp");
	if (build_dir && *build_dir) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", work_dir);
		if (run_cmd(cmd))
			return 2;
	} else if (!mkdtemp(strcpy(work_dir, "/tmp/hl-unwind-XXXXXX"))) {
		return 2;
	}
	atexit(kill_children);
	bcache = hl_binary_cache__new();
	if (!bcache)
		return 2;
	for (i = 0; i < HL_ARRAY_SIZE(variants); i++) {
		int ok = !build_fixture(&variants[i], &fixtures[i]);

		CHECK(ok, variants[i].name);
		built += ok;
	}
	if (built) {
		test_fixture_stacks();
		test_alterations();
	}
	test_api();
	test_pythons();
	fflush(stdout);

	for (i = 0; i < HL_ARRAY_SIZE(variants); i++)
		hl_elf__free(fixtures[i].elf);
	kill_children();
	hl_binary_cache__free(bcache);
	return check_done();
}
