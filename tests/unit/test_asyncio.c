/* tests/unit/test_asyncio.c — symbolize/asyncio.c against live interpreters.
 *
 * Every interpreter found (pyenv 3.8–3.13, Debian's static /usr/bin/python3.11, sid's 3.14
 * from tests/python314/fetch) runs SCRIPT: 10,000 pending tasks, then a task chain
 * root (asyncio.run's main) -> mid-task -> leaf-task whose leaf stops the process (SIGSTOP)
 * from inside a task, so its stack and tasks hold still while the test reads them.  Checked:
 *  - the logical stack of that sample: the running task found, its awaiters and their
 *    suspended frames, the boundary frame; the dump view of each task (hl_asyncio__task_info)
 *    and the registry walk (every pending task seen once);
 *  - the cost: microseconds per resolution with and without the per-task cache, and the
 *    registry walk, with 10,000 pending tasks (printed; timing decides nothing);
 *  - hostile memory: the test rewrites fields of the real tasks (process_vm_writev into the
 *    stopped process) into a cycle of awaiters, then into random words pointing anywhere,
 *    into a scratch bytearray of the target or at real objects: every call returns an outcome
 *    or an error, never crashes, and stays bounded (the slowest call is printed);
 *  - tasks that finished between a sample and its reading: the old sample's frames, resolved
 *    after the chain completed and a 40-task chain replaced it (reusing the memory), are
 *    unattributed, never attributed to the new tasks; the 40-deep chain is too deep.
 * A missing interpreter is skipped with a message, or fails the test when CI=true.
 */
#define _GNU_SOURCE
#include "check.h"
#include "pychild.h"
#include "collector/python.h"
#include "common/util.h"
#include "symbolize/asyncio.h"
#include "symbolize/procmem.h"
#include "symbolize/pystack.h"

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
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PENDING 10000 /* sleeping tasks besides the chain */
#define DEEP 40	      /* tasks in the deep chain: more than HL_ASYNC_MAX_TASKS */

/* Runs under 3.8–3.14.  Stops itself (SIGSTOP) twice, after printing "name id" lines and
 * "done"; after each SIGCONT it waits for a line on stdin before going on. */
static const char SCRIPT[] =
    "import asyncio, os, signal, sys\n"
    "N, DEEP = int(sys.argv[1]), %d\n"
    "junk = bytearray(1 << 16)\n"
    "st = {}\n"
    "def out(k, v):\n"
    "    sys.stdout.write('%%s %%d\\n' %% (k, v))\n"
    "def stop():\n"
    "    for k, v in st.items():\n"
    "        out(k, id(v))\n"
    "    out('junk', id(junk))\n"
    "    out('code.main', id(main.__code__))\n"
    "    out('code.mid', id(mid.__code__))\n"
    "    out('code.leaf', id(leaf.__code__))\n"
    "    out('code.deep', id(deep.__code__))\n"
    "    sys.stdout.write('done\\n')\n"
    "    sys.stdout.flush()\n"
    "    os.kill(os.getpid(), signal.SIGSTOP)\n"
    "    sys.stdin.readline()\n"
    "async def leaf():\n"
    "    stop()\n"
    "async def mid():\n"
    "    t = asyncio.ensure_future(leaf())\n"
    "    t.set_name('leaf-task')\n"
    "    st['leaf'] = t\n"
    "    await t\n"
    "async def deep(k):\n"
    "    if k == 0:\n"
    "        stop()\n"
    "        return\n"
    "    t = asyncio.ensure_future(deep(k - 1))\n"
    "    t.set_name('deep-%%d' %% (k - 1))\n"
    "    await t\n"
    "async def main():\n"
    "    st['root'] = asyncio.current_task()\n"
    "    ev = asyncio.Event()\n"
    "    sleepers = [asyncio.ensure_future(ev.wait()) for _ in range(N)]\n"
    "    await asyncio.sleep(0)\n"
    "    t = asyncio.ensure_future(mid())\n"
    "    t.set_name('mid-task')\n"
    "    st['mid'] = t\n"
    "    await t\n"
    "    st.clear()\n"
    "    t = asyncio.ensure_future(deep(DEEP))\n"
    "    t.set_name('deep-top')\n"
    "    await t\n"
    "    ev.set()\n"
    "    await asyncio.gather(*sleepers)\n"
    "asyncio.run(main())\n";

/* Waits until the child stopped itself (or died).  Returns 0 when stopped. */
static int wait_stopped(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		return -ECHILD;
	return 0;
}

/* Lets the stopped child go on to its next stage. */
static int resume(struct child *c)
{
	c->nvars = 0;
	if (kill(c->pid, SIGCONT))
		return -errno;
	return write(c->in, "\n", 1) == 1 ? 0 : -EPIPE;
}

static void finish_child(struct child *c)
{
	int status;

	kill(c->pid, SIGKILL);
	kill(c->pid, SIGCONT);
	close(c->in);
	close(c->out);
	waitpid(c->pid, &status, 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int first_tstate(uint64_t tstate, uint64_t pthread_id, uint32_t native, void *arg)
{
	(void)pthread_id;
	(void)native;
	*(uint64_t *)arg = tstate;
	return 1;
}

struct sample {
	uint64_t tstate;
	unsigned n;
	struct hl_py_frame frames[256];
};

static int take_sample(const struct hl_python *py, struct sample *s)
{
	int status;

	s->tstate = 0;
	if (hl_python_for_each_thread(py, 16, first_tstate, &s->tstate) || !s->tstate)
		return -ENOENT;
	status = hl_pystack_walk(py, s->tstate, s->frames, HL_ARRAY_SIZE(s->frames), &s->n);
	return status == HL_PY_OK ? 0 : -EIO;
}

static int count_cb(uint64_t task, void *arg)
{
	(void)task;
	(*(unsigned *)arg)++;
	return 0;
}

static int64_t read64(pid_t pid, uint64_t addr)
{
	uint64_t v = 0;

	hl_procmem_read_u64(pid, addr, &v);
	return (int64_t)v;
}

static int write_mem(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = {.iov_base = (void *)buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};

	return process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int write64(pid_t pid, uint64_t addr, uint64_t v)
{
	return write_mem(pid, addr, &v, sizeof(v));
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The logical stack of the sample taken inside leaf(). */
static void check_chain(const struct hl_python *py, struct hl_asyncio *a, const struct child *c,
			const struct sample *s)
{
	struct hl_async_stack *st = calloc(1, sizeof(*st));
	struct hl_async_task_info *ti = calloc(1, sizeof(*ti));
	unsigned seen = 0;
	int ret;

	(void)py;
	if (!st || !ti) {
		CHECK(false, "memory");
		goto out;
	}
	ret = hl_asyncio__resolve(a, s->frames, s->n, s->tstate, now_ns(), st);
	CHECK_INT(HL_ASYNC_ATTRIBUTED, ret, "resolve: the leaf sample is attributed");
	if (ret != HL_ASYNC_ATTRIBUTED)
		goto out;
	CHECK_INT(3, st->n_tasks, "resolve: root -> mid-task -> leaf-task");
	if (st->n_tasks == 3) {
		CHECK_INT(child__var(c, "root"), st->tasks[0].addr, "root task");
		CHECK_INT(child__var(c, "mid"), st->tasks[1].addr, "mid-task");
		CHECK_INT(child__var(c, "leaf"), st->tasks[2].addr, "leaf-task (running)");
		CHECK(st->tasks[0].default_name && !strncmp(st->tasks[0].name, "Task-", 5),
		      "the root task has a default name");
		CHECK_STR("mid-task", st->tasks[1].name, "mid-task's name");
		CHECK_STR("leaf-task", st->tasks[2].name, "leaf-task's name");
		CHECK_INT(1, st->tasks[0].n_frames, "root suspended in main");
		CHECK_INT(1, st->tasks[1].n_frames, "mid-task suspended in mid");
		CHECK_INT(0, st->tasks[2].n_frames, "the running task's frames are the sample's");
		CHECK_INT(1, st->tasks[1].awaited_by, "mid-task awaited by one task");
		if (st->tasks[0].n_frames == 1)
			CHECK_INT(child__var(c, "code.main"),
				  st->frames[st->tasks[0].first_frame].code, "root's frame: main");
		if (st->tasks[1].n_frames == 1)
			CHECK_INT(child__var(c, "code.mid"), st->frames[st->tasks[1].first_frame].code,
				  "mid-task's frame: mid");
	}
	CHECK(st->boundary >= 0 && st->boundary < (int)s->n &&
	      s->frames[st->boundary].code == child__var(c, "code.leaf"),
	      "the boundary is leaf's frame");
	CHECK_INT(0, st->n_inner, "no eager task inside");

	/* The dump's view of a suspended task, and of the running one. */
	CHECK_INT(0, hl_asyncio__task_info(a, child__var(c, "mid"), ti), "task_info(mid-task)");
	CHECK_STR("mid-task", ti->name, "task_info: name");
	CHECK_INT(1, ti->n_awaiters, "task_info: one awaiter");
	CHECK_INT(child__var(c, "root"), ti->awaiters[0], "task_info: awaited by the root");
	CHECK(ti->n_frames >= 1 && ti->frames[0].code == child__var(c, "code.mid"),
	      "task_info: mid-task's chain starts in mid");
	CHECK_INT(-EINVAL, hl_asyncio__task_info(a, child__var(c, "junk"), ti),
		  "task_info(a bytearray)");
	CHECK_INT(0, hl_asyncio__for_each_task(a, count_cb, &seen), "for_each_task");
	CHECK(seen >= PENDING + 3 && seen <= PENDING + 4, "for_each_task sees every pending task");
	if (seen < PENDING + 3 || seen > PENDING + 4)
		fprintf(stderr, "  saw %u tasks\n", seen);
out:
	free(st);
	free(ti);
}

/* Microseconds per call, printed for docs/benchmarks.md; no verdict. */
static void measure(const char *id, struct hl_asyncio *a, const struct sample *s)
{
	struct hl_async_stack *st = calloc(1, sizeof(*st));
	struct hl_asyncio_stats stats;
	uint64_t t0, t1, t2, t3, base = now_ns();
	unsigned seen = 0, i, rounds = 2000;

	if (!st)
		return;
	/* Cache misses: the clock moves past the per-task cache's lifetime every call. */
	t0 = now_ns();
	for (i = 0; i < rounds; i++)
		hl_asyncio__resolve(a, s->frames, s->n, s->tstate, base + (i + 1) * 50000000ull, st);
	t1 = now_ns();
	for (i = 0; i < rounds; i++)
		hl_asyncio__resolve(a, s->frames, s->n, s->tstate, base + rounds * 50000000ull, st);
	t2 = now_ns();
	hl_asyncio__for_each_task(a, count_cb, &seen);
	t3 = now_ns();
	hl_asyncio__stats(a, &stats);
	fprintf(stderr,
		"asyncio: %s: resolve %.1f us uncached, %.1f us cached; registry walk of %u "
		"tasks %.2f ms (%.2f us a task)\n",
		id, (t1 - t0) / 1e3 / rounds, (t2 - t1) / 1e3 / rounds, seen, (t3 - t2) / 1e6,
		seen ? (t3 - t2) / 1e3 / seen : 0.0);
	free(st);
}

/* Rewrites the real tasks' fields, checks, and puts everything back. */
static void check_hostile(const struct hl_python *py, struct hl_asyncio *a,
			  const struct child *c, const struct sample *s)
{
	const struct hl_pyver *v = &py->ver;
	pid_t pid = c->pid;
	uint64_t leaf = child__var(c, "leaf"), mid = child__var(c, "mid");
	uint64_t junk, wake, fake, rng = 0x9e3779b97f4a7c15ull;
	uint8_t save_leaf[512], save_mid[512], img[4096];
	struct hl_async_stack *st = calloc(1, sizeof(*st));
	struct hl_async_task_info *ti = calloc(1, sizeof(*ti));
	struct hl_async_frame frames[HL_ASYNC_CORO_DEPTH];
	uint64_t worst = 0, t0, t;
	unsigned round, k;
	int ret;

	if (!st || !ti || v->task_size > sizeof(save_leaf) ||
	    hl_procmem_read(pid, leaf, save_leaf, v->task_size) ||
	    hl_procmem_read(pid, mid, save_mid, v->task_size)) {
		CHECK(false, "save the tasks");
		goto out;
	}
	/* bytearray: ob_bytes at 32 on 3.8–3.14 (PyByteArrayObject). */
	junk = (uint64_t)read64(pid, child__var(c, "junk") + 32);
	CHECK(junk != 0, "the scratch bytearray's buffer");

	/* A cycle: leaf-task waits for mid-task, which leaf-task's wakeup would resume. */
	wake = (uint64_t)read64(pid, leaf + v->fut_callback0); /* mid-task's wakeup */
	if (hl_procmem_read(pid, wake, img, 64)) {
		CHECK(false, "read mid-task's wakeup");
		goto out;
	}
	fake = junk + 1024;
	memcpy(img + (v->wakeup_task != HL_OFF_NONE ? v->wakeup_task : v->cfunc_self), &leaf, 8);
	write_mem(pid, fake, img, 64);
	write64(pid, mid + v->fut_callback0, fake);
	write64(pid, leaf + v->task_fut_waiter, mid);
	if (v->fut_awaited_by != HL_OFF_NONE) {
		uint8_t zero = 0;

		/* 3.14 also says so in awaited_by. */
		write64(pid, mid + v->fut_awaited_by, leaf);
		write_mem(pid, mid + v->fut_awaited_by_is_set, &zero, 1);
	}
	ret = hl_asyncio__awaiter_stack(a, leaf, st);
	CHECK_INT(HL_ASYNC_CYCLE, ret, "leaf <-> mid awaiting each other: a cycle");
	ret = hl_asyncio__resolve(a, s->frames, s->n, s->tstate, now_ns() + 1000000000000ull, st);
	CHECK_INT(HL_ASYNC_CYCLE, ret, "resolve in a cycle: unattributed (cycle)");
	write_mem(pid, leaf, save_leaf, v->task_size);
	write_mem(pid, mid, save_mid, v->task_size);
	ret = hl_asyncio__awaiter_stack(a, leaf, st);
	CHECK_INT(HL_ASYNC_ATTRIBUTED, ret, "restored: attributed again");

	/* Random words: into the scratch buffer (often at themselves), at the real tasks, or
	 * anywhere; the tasks' links point into that mess. */
	for (round = 0; round < 400; round++) {
		uint64_t words[512];

		for (k = 0; k < HL_ARRAY_SIZE(words); k++) {
			uint64_t r = xorshift(&rng);

			switch (r % 6) {
			case 0:
			case 1:
				words[k] = junk + (r >> 8) % sizeof(words);
				break;
			case 2:
				words[k] = (r >> 8) & 1 ? leaf : mid;
				break;
			case 3:
				words[k] = r >> 16;
				break;
			default:
				words[k] = r % 4096;
			}
		}
		/* Keep a real type at the object heads, so the walks go on past the type check. */
		for (k = 0; k < 8; k++)
			words[k * 64 + 1] = (uint64_t)read64(pid, (k & 1 ? leaf : wake) + 8);
		write_mem(pid, junk, words, sizeof(words));
		write64(pid, leaf + v->fut_callback0, junk + (xorshift(&rng) % 8) * 512);
		write64(pid, leaf + v->fut_callbacks, junk + (xorshift(&rng) % 8) * 512);
		write64(pid, mid + v->task_coro, junk + (xorshift(&rng) % 4096));
		write64(pid, mid + v->task_name, junk + (xorshift(&rng) % 4096));
		write64(pid, leaf + v->task_fut_waiter, xorshift(&rng) & 1 ? mid : junk);
		if (v->fut_awaited_by != HL_OFF_NONE) {
			uint8_t is_set = xorshift(&rng) & 1;

			write64(pid, leaf + v->fut_awaited_by, junk + (xorshift(&rng) % 8) * 512);
			write_mem(pid, leaf + v->fut_awaited_by_is_set, &is_set, 1);
		}
		t0 = now_ns();
		ret = hl_asyncio__awaiter_stack(a, leaf, st);
		CHECK(ret == -EINVAL || ret == -EFAULT || (ret >= 0 && ret < HL_ASYNC_OUTCOMES),
		      "awaiter_stack on junk: an outcome or an error");
		ret = hl_asyncio__resolve(a, s->frames, s->n, s->tstate,
					  now_ns() + (round + 1) * 1000000000000ull, st);
		CHECK(ret >= 0 && ret < HL_ASYNC_OUTCOMES, "resolve on junk: an outcome");
		if (ret == HL_ASYNC_ATTRIBUTED)
			CHECK(st->n_tasks >= 1 && st->tasks[st->n_tasks - 1].addr == leaf &&
				      st->n_tasks <= HL_ASYNC_MAX_TASKS &&
				      st->n_frames <= HL_ASYNC_MAX_FRAMES,
			      "resolve on junk: attributed only to leaf-task, within bounds");
		hl_asyncio__task_info(a, mid, ti);
		ret = hl_asyncio__coro_chain(a, junk + (xorshift(&rng) % 4096), frames,
					     HL_ARRAY_SIZE(frames));
		CHECK(ret <= (int)HL_ARRAY_SIZE(frames), "coro_chain on junk: bounded");
		t = now_ns() - t0;
		worst = t > worst ? t : worst;
		write_mem(pid, leaf, save_leaf, v->task_size);
		write_mem(pid, mid, save_mid, v->task_size);
	}
	fprintf(stderr, "asyncio: 400 rounds of junk: slowest round %.1f us\n", worst / 1e3);
	memset(img, 0, sizeof(img));
	for (k = 0; k < 16; k++)
		write_mem(pid, junk + k * sizeof(img), img, sizeof(img));
	ret = hl_asyncio__awaiter_stack(a, leaf, st);
	CHECK_INT(HL_ASYNC_ATTRIBUTED, ret, "after the junk rounds: attributed again");
out:
	free(st);
	free(ti);
}

/* A failed look-up (here: no runtime to read asyncio from) is retried soon, not after the
 * full recheck interval (CI lost ~2.8 s of a 5 s recording to what is thought to be one). */
static void check_recheck(const struct hl_python *py)
{
	const uint64_t ms = 1000000, recheck = 3000 * ms, t0 = now_ns();
	struct hl_python blind = *py;
	struct hl_asyncio *a;

	blind.runtime = 0;
	a = hl_asyncio__new(&blind);
	CHECK(a != NULL, "hl_asyncio__new (blind)");
	if (!a)
		return;
	CHECK(!hl_asyncio__active(a, t0, recheck), "no runtime: asyncio not found");
	blind.runtime = py->runtime;
	CHECK(!hl_asyncio__active(a, t0 + 10 * ms, recheck), "not looked up again within 10 ms");
	CHECK(hl_asyncio__active(a, t0 + 20 * ms, recheck), "looked up again after 20 ms: found");
	hl_asyncio__free(a);
}

static void run_interp(const struct interp *in)
{
	int failures = check_failures, count = check_count;
	struct hl_async_stack *st = calloc(1, sizeof(*st));
	struct sample *old = calloc(1, sizeof(*old)), *now = calloc(1, sizeof(*now));
	char script[sizeof(SCRIPT) + 16], arg[16];
	struct hl_asyncio *a = NULL;
	struct hl_python py;
	struct child c;
	int ret;

	memset(&py, 0, sizeof(py));
	if (!st || !old || !now) {
		CHECK(false, "memory");
		goto out_free;
	}
	snprintf(script, sizeof(script), SCRIPT, DEEP);
	snprintf(arg, sizeof(arg), "%d", PENDING);
	if (child__start(&c, in->path, "-I", script, arg)) {
		CHECK(false, "start the script");
		goto out_free;
	}
	if (child__read(&c) || wait_stopped(c.pid)) {
		CHECK(false, "the script stopped inside leaf()");
		goto out;
	}
	if (child__detect(c.pid, &py) != HL_PYDETECT_OK) {
		CHECK(false, "hl_python_detect");
		goto out;
	}
	check_recheck(&py);
	a = hl_asyncio__new(&py);
	CHECK(a != NULL, "hl_asyncio__new");
	if (!a)
		goto out;
	CHECK(hl_asyncio__active(a, now_ns(), 0), "asyncio is active");
	CHECK_INT(0, take_sample(&py, old), "walk the stopped main thread");
	check_chain(&py, a, &c, old);
	measure(in->id, a, old);
	check_hostile(&py, a, &c, old);

	/* Stage 2: the chain finished, a 40-deep one runs in its memory. */
	if (resume(&c) || child__read(&c) || wait_stopped(c.pid)) {
		CHECK(false, "the script stopped inside the deep chain");
		goto out;
	}
	ret = hl_asyncio__resolve(a, old->frames, old->n, old->tstate, now_ns(), st);
	CHECK_INT(HL_ASYNC_NO_TASK, ret, "a sample whose tasks finished: unattributed");
	CHECK_INT(0, take_sample(&py, now), "walk the deep chain");
	ret = hl_asyncio__resolve(a, now->frames, now->n, now->tstate, now_ns(), st);
	CHECK_INT(HL_ASYNC_TOO_DEEP, ret, "a 41-task chain is too deep");
	ret = hl_asyncio__resolve(a, old->frames, old->n, old->tstate, now_ns(), st);
	CHECK_INT(HL_ASYNC_NO_TASK, ret, "the old sample, after a scan: still unattributed");
out:
	hl_asyncio__free(a);
	finish_child(&c);
out_free:
	free(st);
	free(old);
	free(now);
	fprintf(stderr, "asyncio: %s (%s, Python %s): %d checks, %d failed\n", in->id, in->path,
		py.version, check_count - count, check_failures - failures);
}

int main(void)
{
	return run_each_interpreter("asyncio", run_interp);
}
