/* tests/unit/test_arguments.c — argument identities (symbolize/arguments.c) and argument names
 * (symbolize/pycode.c) against live interpreters, and the key rule of report/codeinfo.h.
 *
 * Every interpreter found runs SCRIPT, which defines a method with every kind of argument and
 * builds objects with known attributes, a closure cell, and more distinct objects than an
 * argument remembers; it prints their id()s.  The test reads the method's code object for its
 * argument names, then feeds hl_arguments__observe() slot values made from those ids — in a
 * known order, on two threads — and compares counts, runs, types and the attributes of self
 * it followed with what the order implies.
 *
 * A missing interpreter is skipped with a message, or fails the test when CI=true.
 */
#define _GNU_SOURCE
#include "check.h"
#include "pychild.h"
#include "collector/python.h"
#include "report/codeinfo.h"
#include "symbolize/arguments.h"
#include "symbolize/procmem.h"
#include "symbolize/pycode.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char SCRIPT[] = "import sys\n"
			     "def out(k, v):\n"
			     "    sys.stdout.write('%s %d\\n' % (k, v))\n"
			     "class Filter(object):\n"
			     "    def __init__(self, keys):\n"
			     "        self._keys = keys\n"
			     "    def method(self, a, *rest, k=1, **kw):\n"
			     "        return self._keys\n"
			     "def outer(x):\n"
			     "    def inner():\n"
			     "        return x\n"
			     "    return inner\n"
			     "k1, k2 = [1, 2], [3, 4]\n"
			     "f1, f2 = Filter(k1), Filter(k2)\n"
			     "code = Filter.method.__code__\n"
			     "out('code', id(code))\n"
			     "out('f1', id(f1))\n"
			     "out('f2', id(f2))\n"
			     "out('k1', id(k1))\n"
			     "out('k2', id(k2))\n"
			     "c1, c2 = outer(k1).__closure__[0], outer(k1).__closure__[0]\n"
			     "out('c1', id(c1))\n"
			     "out('c2', id(c2))\n"
			     "many = [object() for i in range(40)]\n"
			     "for i, o in enumerate(many):\n"
			     "    out('m%d' % i, id(o))\n"
			     "sys.stdout.write('done\\n')\n"
			     "sys.stdout.flush()\n"
			     "sys.stdin.read()\n";

struct found {
	const char *name;
	int64_t function;
	struct hl_argument_stats st;
	char type[64];
	bool seen;
};

static int find_cb(const struct hl_argument_stats *st, void *arg)
{
	struct found *f = arg;

	if (st->function == f->function && !strcmp(st->name, f->name)) {
		f->st = *st;
		snprintf(f->type, sizeof(f->type), "%s", st->top_type);
		f->seen = true;
	}
	return 0;
}

static struct found find(const struct hl_arguments *a, int64_t function, const char *name)
{
	struct found f = {.name = name, .function = function};

	hl_arguments__for_each(a, find_cb, &f);
	return f;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* One observation of the method's frame: self, a, k, *rest in the sampler's slot order. */
static void observe(struct hl_arguments *a, const struct hl_pyreader *r, uint32_t tid, int64_t fn,
		    const struct hl_pycode *code, uint64_t self, uint64_t arg_a, uint64_t tag)
{
	struct hl_py_args args = {.slot = {self | tag, arg_a | tag, 0, 0}};

	CHECK_INT(0, hl_arguments__observe(a, r, tid, fn, code, &args, now_ns()), "observe");
}

static void check_interp(const struct hl_python *py, const struct child *c)
{
	struct hl_pyreader r = {.pid = c->pid, .ver = &py->ver};
	struct hl_pycode_cache *cache = hl_pycode_cache__new(c->pid, &py->ver, 0);
	uint64_t code_addr = child__var(c, "code"), fp = 0, f1 = child__var(c, "f1"),
		 f2 = child__var(c, "f2"), k1 = child__var(c, "k1"), k2 = child__var(c, "k2");
	/* 3.14's frames hold tagged stack references: the low bits must not make a new object. */
	uint64_t tag = py->ver.minor >= 14 ? 1 : 0;
	const char *attrs[] = {"_keys", "missing_attr"};
	struct hl_arguments *a = hl_arguments__new();
	struct hl_pycode *code;
	struct found f;
	char key[8];
	int err, i;

	if (!cache || !a) {
		CHECK(false, "allocate");
		goto out;
	}
	CHECK_INT(0, hl_procmem_read_u64(c->pid, code_addr + (py->ver.code_firstlineno & ~7u), &fp),
		  "read the fingerprint");
	code = hl_pycode_cache__get(cache, code_addr, fp, &err);
	CHECK(code != NULL, "the method's code object");
	if (!code)
		goto out;
	CHECK_INT(0, hl_pycode_cache__read_bytecode(cache, code), "read bytecode and arguments");
	/* self, a, the keyword-only k, then *rest: four slots of five arguments (**kw is 5th). */
	CHECK_INT(4, code->nr_args, "arguments among the first slots");
	CHECK_STR("self", code->arg_names[0], "argument 0");
	CHECK_STR("a", code->arg_names[1], "argument 1");
	CHECK_STR("k", code->arg_names[2], "argument 2 (keyword-only)");
	CHECK_STR("*rest", code->arg_names[3], "argument 3 (*args)");
	code->nr_args = 2; /* the slots fed below: self and a */

	CHECK_INT(0, hl_arguments__set_code(a, 7, attrs, 2, 0), "set_code");
	CHECK_INT(0, hl_arguments__set_code(a, 10, NULL, 0, 1u << 1), "set_code (a rebound)");
	/* Thread 1: f1 f1 f1 f2 f2 f1 -> self: 2 objects, 3 runs, f1 in 4 samples.  Thread 2:
	 * f2 f2 -> one more run.  Argument a: k1 throughout. */
	observe(a, &r, 1, 7, code, f1, k1, tag);
	observe(a, &r, 1, 7, code, f1, k1, tag);
	observe(a, &r, 1, 7, code, f1, k1, tag);
	observe(a, &r, 1, 7, code, f2, k1, tag);
	observe(a, &r, 1, 7, code, f2, k1, tag);
	observe(a, &r, 1, 7, code, f1, k1, tag);
	observe(a, &r, 2, 7, code, f2, k1, tag);
	observe(a, &r, 2, 7, code, f2, k1, tag);

	f = find(a, 7, "self");
	CHECK(f.seen, "self counted");
	CHECK_INT(8, f.st.samples, "self: samples");
	CHECK_INT(2, f.st.distinct, "self: distinct objects");
	CHECK_INT(4, f.st.runs, "self: runs (3 on thread 1, 1 on thread 2)");
	CHECK_INT(4, f.st.top_samples, "self: samples of the top object");
	CHECK_STR("Filter", f.type, "self: type");
	CHECK(!f.st.more, "self: all objects kept");

	f = find(a, 7, "a");
	CHECK_INT(8, f.st.samples, "a: samples");
	CHECK_INT(1, f.st.distinct, "a: one object");
	CHECK_STR("list", f.type, "a: type");

	/* An argument captured by an inner function (3.11+ keeps a cell made per call in its
	 * slot): two cells holding k1 count as k1. */
	observe(a, &r, 1, 9, code, f1, child__var(c, "c1"), tag);
	observe(a, &r, 1, 9, code, f1, child__var(c, "c2"), tag);
	observe(a, &r, 1, 9, code, f1, child__var(c, "c1"), tag);
	f = find(a, 9, "a");
	CHECK_INT(3, f.st.samples, "cells: samples");
	CHECK_INT(1, f.st.distinct, "cells: followed to the object they hold");
	CHECK_INT(1, f.st.runs, "cells: one run");
	CHECK_STR("list", f.type, "cells: type of the object held");

	f = find(a, 7, "self._keys");
	CHECK(f.seen, "self._keys followed");
	CHECK_INT(8, f.st.samples, "self._keys: samples");
	CHECK_INT(2, f.st.distinct, "self._keys: distinct objects (k1, k2)");
	CHECK_INT(4, f.st.runs, "self._keys: runs");
	CHECK_STR("list", f.type, "self._keys: type");
	f = find(a, 7, "self.missing_attr");
	CHECK(!f.seen, "an attribute self does not have is not counted");
	(void)k2;

	/* A rebound argument is not counted; the others are. */
	observe(a, &r, 1, 10, code, f1, k1, tag);
	CHECK(find(a, 10, "self").seen, "rebound: self counted");
	CHECK(!find(a, 10, "a").seen, "rebound: a not counted");

	/* More objects than are remembered: a lower bound, flagged. */
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "m%d", i);
		observe(a, &r, 3, 8, code, child__var(c, key), child__var(c, key), tag);
	}
	f = find(a, 8, "a");
	CHECK_INT(40, f.st.samples, "many: samples");
	CHECK_INT(HL_ARGUMENTS_MAX_VALUES, f.st.distinct, "many: distinct capped");
	CHECK(f.st.more, "many: more flagged");
	CHECK_INT(40, f.st.runs, "many: every sample a new run");
	CHECK(!hl_invariance_is_key("a", f.st.samples, f.st.distinct, f.st.more),
	      "many: not a key");
	CHECK(!find(a, 8, "self._keys").seen, "function 8 follows no attributes");
out:
	hl_arguments__free(a);
	hl_pycode_cache__free(cache);
}

/* The key rule (report/codeinfo.h), on the figures a real recording gives. */
static void check_key_rule(void)
{
	CHECK(hl_invariance_is_key("self._keys", 3368, 3, false), "3 objects over 3368 samples");
	CHECK(!hl_invariance_is_key("*encoded_keys", 3368, 1, false), "*args is never a key");
	CHECK(!hl_invariance_is_key("**kw", 3368, 1, false), "**kwargs is never a key");
	CHECK(!hl_invariance_is_key("x", 10, 1, false), "too few samples");
	CHECK(!hl_invariance_is_key("x", 3368, 9, false), "too many objects");
	CHECK(!hl_invariance_is_key("x", 30, 8, false), "under 5 samples per object");
	CHECK(hl_invariance_is_key("x", 40, 8, false), "5 samples per object");
	CHECK(!hl_invariance_is_key("x", 3368, 8, true), "more objects than remembered");
}

static void run_interp(const struct interp *in)
{
	int failures = check_failures, count = check_count;
	struct hl_python py;
	struct child c;

	memset(&py, 0, sizeof(py));
	if (child__start(&c, in->path, "-I", SCRIPT, NULL)) {
		CHECK(false, "start the script");
		return;
	}
	if (child__read(&c))
		CHECK(false, "the script printed its objects");
	else if (child__detect(c.pid, &py) != HL_PYDETECT_OK)
		CHECK(false, "hl_python_detect");
	else
		check_interp(&py, &c);
	child__stop(&c);
	fprintf(stderr, "arguments: %s (%s, Python %s): %d checks, %d failed\n", in->id, in->path,
		py.version, check_count - count, check_failures - failures);
}

int main(void)
{
	check_key_rule();
	return run_each_interpreter("arguments", run_interp);
}
