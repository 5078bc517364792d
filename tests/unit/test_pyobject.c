/* tests/unit/test_pyobject.c — symbolize/pyobject.c and symbolize/pythreads.c against live
 * interpreters.
 *
 * Every interpreter found (pyenv 3.8–3.13, Debian's static /usr/bin/python3.11, sid's 3.14
 * from tests/python314/fetch) runs SCRIPT, which builds known objects — dicts of every
 * table shape, instances whose attributes sit in each version's places (split and
 * materialized dicts, managed values, inline values, tp_dictoffset of fixed- and variable-
 * size objects), ints at the digit boundaries, named threads — and prints their id()s.  The
 * test reads them back through the library and compares with what the script put there.
 * Failure rows use bogus addresses, objects of the wrong type, and fake dicts and types that
 * the test writes into a bytearray of the target (junk, cycles, absurd sizes), next to
 * positive controls built the same way so the fakes are known to be well-formed where they
 * mean to be.  A second process per interpreter has not imported threading.
 *
 * A missing interpreter is skipped with a message, or fails the test when CI=true.
 */
#define _GNU_SOURCE
#include "check.h"
#include "pychild.h"
#include "collector/python.h"
#include "common/util.h"
#include "symbolize/procmem.h"
#include "symbolize/pyobject.h"
#include "symbolize/pythreads.h"

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

/* Runs under 3.8–3.14.  Prints "name id" lines, then "done", and keeps the objects alive
 * until stdin closes (which also happens if this test dies). */
static const char SCRIPT[] =
    "import sys, threading\n"
    "def out(k, v):\n"
    "    sys.stdout.write('%s %d\\n' % (k, v))\n"
    "class Plain(object):\n"
    "    pass\n"
    "class Many(object):\n"
    "    pass\n"
    "class Slotted(object):\n"
    "    __slots__ = ('x',)\n"
    "class DictSub(dict):\n"
    "    pass\n"
    "class Err(Exception):\n"
    "    pass\n"
    "class TupleSub(tuple):\n"
    "    pass\n"
    "class IntSub(int):\n"
    "    pass\n"
    "d = {'alpha': 1, 'beta': -2, 'gamma': 12345678901234, 'delta': 'text',\n"
    "     'na\\u00efve': 7, '\\u65e5\\u672c': 8}\n"
    "mixed = {1: 'one', 'two': 2, (3,): 3}\n"
    "big = {}\n"
    "for i in range(1000):\n"
    "    big['k%d' % i] = i\n"
    "small = dict(('s%d' % i, i) for i in range(100))\n"
    "holes = {}\n"
    "for i in range(20):\n"
    "    holes['h%d' % i] = i\n"
    "for i in range(0, 20, 2):\n"
    "    del holes['h%d' % i]\n"
    "sub = DictSub(x=5)\n"
    "p = Plain()\n"
    "p.x = 11\n"
    "p.name = 'first'\n"
    "p.gone = 0\n"
    "del p.gone\n"
    "q = Plain()\n"
    "q.x = 22\n"
    "q.name = 'second'\n"
    "q.__dict__\n"
    "q.after = 33\n"
    "fresh = Plain()\n"
    "class Shared(object):\n"
    "    pass\n"
    "w = Shared()\n"
    "w.x = 1\n"
    "wd = w.__dict__\n"
    "m = Many()\n"
    "for i in range(40):\n"
    "    setattr(m, 'a%d' % i, i)\n"
    "m.late = 99\n"
    "s = Slotted()\n"
    "s.x = 5\n"
    "e = Err()\n"
    "e.code = 5\n"
    "t = TupleSub((1, 2, 3))\n"
    "t.attr = 7\n"
    "n = IntSub(5)\n"
    "n.attr = 8\n"
    "ints = [0, 1, -1, 2**30 - 1, 2**30, -(2**30), 2**60 + 12345, 2**62, 2**63 - 1,\n"
    "        -(2**63), 2**63, -(2**63) - 1, 2**64 + 5, 10**40, True, False]\n"
    "junk = bytearray(b'HOTLOOP-JUNK' + b'\\0' * 8180)\n"
    "lst = [1, 2]\n"
    "ev = threading.Event()\n"
    "names = ['alpha-worker', 'beta-worker', 'g\\u00e4mma-w\\u00f6rker']\n"
    "threads = [threading.Thread(target=ev.wait, name=nm) for nm in names]\n"
    "for th in threads:\n"
    "    th.daemon = True\n"
    "    th.start()\n"
    "for k in ('d', 'mixed', 'big', 'small', 'holes', 'sub', 'p', 'q', 'fresh', 'm', 's',\n"
    "          'e', 't', 'n', 'w', 'wd', 'junk', 'lst'):\n"
    "    out(k, id(globals()[k]))\n"
    "out('d.delta', id(d['delta']))\n"
    "out('p.name', id(p.name))\n"
    "out('q.name', id(q.name))\n"
    "for i, v in enumerate(ints):\n"
    "    out('int%d' % i, id(v))\n"
    "for i, th in enumerate(threads):\n"
    "    out('tid%d' % i, th.ident)\n"
    "out('main', threading.get_ident())\n"
    "sys.stdout.write('done\\n')\n"
    "sys.stdout.flush()\n"
    "sys.stdin.read()\n"
    "ev.set()\n";

/* Run with -S (no site, so no .pth file imports threading behind our back).  Stage 1 has no
 * threading module; stage 2 installs a fake one whose _active is not a dict; stage 3 one
 * whose _active holds entries that are not threads. */
static const char SCRIPT_NOTHREADING[] =
    "import sys\n"
    "sys.stdout.write('threading %d\\n' % ('threading' in sys.modules))\n"
    "sys.stdout.write('done\\n')\n"
    "sys.stdout.flush()\n"
    "sys.stdin.readline()\n"
    "fake = type(sys)('threading')\n"
    "fake._active = 42\n"
    "fake._shutdown = lambda: None\n"
    "sys.modules['threading'] = fake\n"
    "sys.stdout.write('done\\n')\n"
    "sys.stdout.flush()\n"
    "sys.stdin.readline()\n"
    "fake._active = {1: object(), 'x': 3, 2: fake}\n"
    "sys.stdout.write('done\\n')\n"
    "sys.stdout.flush()\n"
    "sys.stdin.read()\n";

/* ---------------------------------------------------------------------------------------- */
/* Checks against real objects. */

enum want { W_INT, W_STR, W_ID, W_ERR };

struct lookup_row {
	const char *obj; /* a name the script printed */
	const char *key;
	enum want want;
	int64_t i;     /* W_INT value, W_ERR errno (negative) */
	const char *s; /* W_STR text, W_ID the printed name of the expected object */
};

static void check_value(const struct hl_pyreader *r, const struct child *c,
			const struct lookup_row *row, int err, uint64_t value, const char *fn)
{
	char what[160];
	int64_t iv = 0;
	char *sv = NULL;

	snprintf(what, sizeof(what), "%s(%s, \"%s\")", fn, row->obj, row->key);
	switch (row->want) {
	case W_ERR:
		CHECK_INT(row->i, err, what);
		return;
	case W_INT:
		CHECK_INT(0, err, what);
		if (err)
			return;
		CHECK_INT(0, hl_pyobj_read_long(r, value, &iv), what);
		CHECK_INT(row->i, iv, what);
		return;
	case W_STR:
		CHECK_INT(0, err, what);
		if (err)
			return;
		CHECK_INT(0, hl_pyobj_read_str(r, value, &sv), what);
		CHECK_STR(row->s, sv, what);
		free(sv);
		return;
	case W_ID:
		CHECK_INT(0, err, what);
		CHECK_INT(child__var(c, row->s), value, what);
		return;
	}
}

static const struct lookup_row dict_rows[] = {
    {"d", "alpha", W_INT, 1, NULL},
    {"d", "beta", W_INT, -2, NULL},
    {"d", "gamma", W_INT, 12345678901234LL, NULL},
    {"d", "delta", W_STR, 0, "text"},
    {"d", "delta", W_ID, 0, "d.delta"},
    {"d", "na\u00efve", W_INT, 7, NULL},
    {"d", "\u65e5\u672c", W_INT, 8, NULL},
    {"d", "naive", W_ERR, -ENOENT, NULL},
    {"d", "alph", W_ERR, -ENOENT, NULL},
    {"d", "alphaa", W_ERR, -ENOENT, NULL},
    {"d", "", W_ERR, -ENOENT, NULL},
    {"d", "\u65e5", W_ERR, -ENOENT, NULL},
    {"mixed", "two", W_INT, 2, NULL},
    {"mixed", "one", W_ERR, -ENOENT, NULL},
    {"big", "k0", W_INT, 0, NULL},
    {"big", "k500", W_INT, 500, NULL},
    {"big", "k999", W_INT, 999, NULL},
    {"big", "k1000", W_ERR, -ENOENT, NULL},
    {"small", "s99", W_INT, 99, NULL},
    {"holes", "h1", W_INT, 1, NULL},
    {"holes", "h19", W_INT, 19, NULL},
    {"holes", "h0", W_ERR, -ENOENT, NULL},
    {"holes", "h18", W_ERR, -ENOENT, NULL},
    {"sub", "x", W_INT, 5, NULL},
    /* Not dicts. */
    {"lst", "x", W_ERR, -EINVAL, NULL},
    {"d.delta", "x", W_ERR, -EINVAL, NULL},
    {"p", "x", W_ERR, -EINVAL, NULL},
    {"int1", "x", W_ERR, -EINVAL, NULL},
};

static const struct lookup_row attr_rows[] = {
    /* Split table (≤3.10), values slot (3.11), tagged values (3.12), inline (3.13+). */
    {"p", "x", W_INT, 11, NULL},
    {"p", "name", W_STR, 0, "first"},
    {"p", "name", W_ID, 0, "p.name"},
    {"p", "gone", W_ERR, -ENOENT, NULL},
    {"p", "nope", W_ERR, -ENOENT, NULL},
    {"p", "__dict__", W_ERR, -ENOENT, NULL},
    /* __dict__ materialized, then one more attribute. */
    {"q", "x", W_INT, 22, NULL},
    {"q", "name", W_ID, 0, "q.name"},
    {"q", "after", W_INT, 33, NULL},
    {"fresh", "x", W_ERR, -ENOENT, NULL},
    /* 41 attributes: past the shared keys' 30, so a combined dict. */
    {"m", "a0", W_INT, 0, NULL},
    {"m", "a29", W_INT, 29, NULL},
    {"m", "a39", W_INT, 39, NULL},
    {"m", "late", W_INT, 99, NULL},
    {"m", "a40", W_ERR, -ENOENT, NULL},
    /* A positive tp_dictoffset (BaseException.dict) and, up to 3.11, negative ones. */
    {"e", "code", W_INT, 5, NULL},
    {"t", "attr", W_INT, 7, NULL},
    {"n", "attr", W_INT, 8, NULL},
    /* No instance dict. */
    {"s", "x", W_ERR, -ENOENT, NULL},
    {"d", "alpha", W_ERR, -ENOENT, NULL},
    {"lst", "x", W_ERR, -ENOENT, NULL},
    {"int1", "real", W_ERR, -ENOENT, NULL},
};

struct int_row {
	int err;
	int64_t value;
};

/* The script's `ints`, in order. */
static const struct int_row int_rows[] = {
    {0, 0},
    {0, 1},
    {0, -1},
    {0, (1 << 30) - 1},
    {0, 1 << 30},
    {0, -(1 << 30)},
    {0, (1LL << 60) + 12345},
    {0, 1LL << 62},
    {0, INT64_MAX},
    {0, INT64_MIN},
    {-ERANGE, 0},
    {-ERANGE, 0},
    {-ERANGE, 0},
    {-ERANGE, 0},
    {0, 1},
    {0, 0},
};

struct count {
	const struct hl_pyreader *r;
	unsigned n;
	int64_t sum;
	unsigned stop_after;
};

static int count_cb(uint64_t key, uint64_t value, void *arg)
{
	struct count *c = arg;
	int64_t v;

	c->n++;
	if (!hl_pyobj_read_long(c->r, value, &v))
		c->sum += v;
	return c->stop_after && c->n >= c->stop_after ? 7 : 0;
}

struct names {
	unsigned n;
	uint64_t ident[32];
	char name[32][64];
	int stop; /* returned from the callback */
};

static int names_cb(uint64_t ident, const char *name, void *arg)
{
	struct names *ns = arg;

	if (ns->n < HL_ARRAY_SIZE(ns->ident)) {
		ns->ident[ns->n] = ident;
		snprintf(ns->name[ns->n], sizeof(ns->name[0]), "%s", name);
		ns->n++;
	}
	return ns->stop;
}

static const char *name_of(const struct names *ns, uint64_t ident)
{
	unsigned i;

	for (i = 0; i < ns->n; i++)
		if (ns->ident[i] == ident)
			return ns->name[i];
	return NULL;
}

struct tstates {
	uint64_t ids[64];
	unsigned n;
};

static int tstate_cb(uint64_t tstate, uint64_t pthread_id, uint32_t native, void *arg)
{
	struct tstates *t = arg;

	if (t->n < HL_ARRAY_SIZE(t->ids))
		t->ids[t->n++] = pthread_id;
	return 0;
}

static void check_threads(const struct hl_python *py, const struct child *c)
{
	static const char *const expect[] = {"alpha-worker", "beta-worker",
					     "g\u00e4mma-w\u00f6rker"};
	struct names ns = {0};
	struct tstates ts = {0};
	unsigned i, j;
	bool found;
	char key[16];

	CHECK_INT(0, hl_python_thread_names(py, names_cb, &ns), "hl_python_thread_names");
	CHECK_INT(4, ns.n, "threads named");
	for (i = 0; i < HL_ARRAY_SIZE(expect); i++) {
		snprintf(key, sizeof(key), "tid%u", i);
		CHECK_STR(expect[i], name_of(&ns, child__var(c, key)), key);
	}
	CHECK_STR("MainThread", name_of(&ns, child__var(c, "main")), "main thread name");
	/* The ident is the thread state's thread_id, which is what the sampler reports. */
	CHECK_INT(0, hl_python_for_each_thread(py, 64, tstate_cb, &ts), "for_each_thread");
	for (i = 0; i < ns.n; i++) {
		for (found = false, j = 0; j < ts.n; j++)
			found |= ts.ids[j] == ns.ident[i];
		CHECK(found, "thread ident is a PyThreadState.thread_id");
	}
	/* The callback ends the walk. */
	memset(&ns, 0, sizeof(ns));
	ns.stop = 1;
	CHECK_INT(0, hl_python_thread_names(py, names_cb, &ns), "names: stop with 1");
	CHECK_INT(1, ns.n, "names: stop with 1: calls");
	memset(&ns, 0, sizeof(ns));
	ns.stop = -EINTR;
	CHECK_INT(-EINTR, hl_python_thread_names(py, names_cb, &ns), "names: stop with -EINTR");
	CHECK_INT(1, ns.n, "names: stop with -EINTR: calls");
}

/* ---------------------------------------------------------------------------------------- */
/* Fake objects written into the script's bytearray. */

#define JUNK_SIZE 8192
#define AT_DICT	  256  /* a fake dict */
#define AT_DICT2  384  /* a second one */
#define AT_KEYS	  1024 /* its keys object */
#define AT_VALUES 3072 /* split values */
#define AT_OBJ	  4096 /* a fake instance (with room before it for managed slots) */
#define AT_TYPE	  4608 /* its type */
#define AT_FF	  7168 /* 1 KiB of 0xff */

struct junk {
	pid_t pid;
	uint64_t base; /* the bytearray's buffer in the target */
	uint8_t img[JUNK_SIZE];
};

static void put64(struct junk *j, size_t off, uint64_t v)
{
	memcpy(j->img + off, &v, sizeof(v));
}

static uint64_t at(const struct junk *j, size_t off)
{
	return j->base + off;
}

static int junk__write(struct junk *j)
{
	struct iovec local = {.iov_base = j->img, .iov_len = JUNK_SIZE};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)j->base, .iov_len = JUNK_SIZE};

	return process_vm_writev(j->pid, &local, 1, &remote, 1, 0) == JUNK_SIZE ? 0 : -errno;
}

/* Starts a new picture: zeros, the 0xff area, and a fake dict at AT_DICT (type @dict_type)
 * whose keys are at @keys and values at @values. */
static void junk__reset(struct junk *j, const struct hl_pyver *v, uint64_t dict_type, uint64_t keys,
			uint64_t values)
{
	memset(j->img, 0, sizeof(j->img));
	memset(j->img + AT_FF, 0xff, 1024);
	put64(j, AT_DICT, 1);
	put64(j, AT_DICT + 8, dict_type);
	put64(j, AT_DICT + 16, 1);
	put64(j, AT_DICT + v->dict_keys, keys);
	put64(j, AT_DICT + v->dict_values, values);
}

/* A keys object at AT_KEYS of 1 << @log2 slots and @kind (3.11+; ignored before) holding
 * @nentries entries, the first @n of them given as (key, value) pairs. */
static void junk__keys(struct junk *j, const struct hl_pyver *v, unsigned log2, int kind,
		       int64_t nentries, const uint64_t (*kv)[2], unsigned n)
{
	size_t entries, esize = 24, koff = 8, i;

	put64(j, AT_KEYS, 1);
	put64(j, AT_KEYS + v->dictkeys_nentries, (uint64_t)nentries);
	if (v->dictkeys_size != HL_OFF_NONE) {
		put64(j, AT_KEYS + v->dictkeys_size, 1ull << log2);
		entries = AT_KEYS + v->dictkeys_indices + ((size_t)1 << log2);
	} else {
		j->img[AT_KEYS + v->dictkeys_log2_size] = (uint8_t)log2;
		j->img[AT_KEYS + v->dictkeys_log2_index_bytes] = (uint8_t)log2;
		j->img[AT_KEYS + v->dictkeys_kind] = (uint8_t)kind;
		entries = AT_KEYS + v->dictkeys_indices + ((size_t)1 << log2);
		if (kind) {
			esize = 16;
			koff = 0;
		}
	}
	/* Index slots: -1 (empty); we never read them, CPython would. */
	if (entries <= AT_VALUES)
		memset(j->img + entries - ((size_t)1 << log2), 0xff, (size_t)1 << log2);
	for (i = 0; i < n && entries + (i + 1) * esize <= AT_VALUES; i++) {
		put64(j, entries + i * esize + koff, kv[i][0]);
		put64(j, entries + i * esize + koff + 8, kv[i][1]);
	}
}

/* Split values at AT_VALUES holding @vals. */
static void junk__values(struct junk *j, const struct hl_pyver *v, const uint64_t *vals, unsigned n)
{
	unsigned i;

	if (v->dictvalues_capacity != HL_OFF_NONE) {
		j->img[AT_VALUES + v->dictvalues_capacity] = (uint8_t)n;
		j->img[AT_VALUES + v->dictvalues_valid] = 1;
	}
	for (i = 0; i < n; i++)
		put64(j, AT_VALUES + v->dictvalues_values + i * 8, vals[i]);
}

static uint64_t xorshift(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static bool clean_error(int err)
{
	return err == 0 || err == -ENOENT || err == -EFAULT || err == -EINVAL || err == -E2BIG ||
	       err == -ERANGE || err == -EOPNOTSUPP;
}

/* Seeded random pictures: words that are pointers into the buffer (so a walk keeps finding
 * more junk), small numbers, and noise, under a fake dict whose type is real.  Whatever the
 * functions make of it, they must come back, with a result or a clean error. */
static void check_random_junk(const struct hl_pyreader *r, struct junk *j, uint64_t dict_type)
{
	const struct hl_pyver *v = r->ver;
	uint64_t state = 0x9e3779b97f4a7c15ull, value;
	unsigned round, bad = 0, i;
	struct count cnt = {.r = r};
	int64_t iv;
	char *str;

	for (round = 0; round < 300; round++) {
		for (i = 0; i < JUNK_SIZE / 8; i++) {
			uint64_t x = xorshift(&state);

			switch (x & 3) {
			case 0:
			case 1:
				put64(j, i * 8, j->base + ((x >> 8) % JUNK_SIZE & ~7ull));
				break;
			case 2:
				put64(j, i * 8, (x >> 8) & 0xff);
				break;
			default:
				put64(j, i * 8, x);
			}
		}
		put64(j, AT_DICT + 8, dict_type);
		if (round & 1)
			put64(j, AT_DICT + v->dict_values, 0);
		if (round % 3) {
			/* A well-formed keys header over random entries: the walk gets as far
			 * as comparing keys that point at junk. */
			put64(j, AT_DICT + v->dict_keys, at(j, AT_KEYS));
			junk__keys(j, v, 6, (int)(round % 3), (int64_t)(xorshift(&state) % 43),
				   NULL, 0);
		}
		if (junk__write(j)) {
			CHECK(false, "write random junk");
			return;
		}
		for (i = 0; i < 8; i++) {
			uint64_t addr = j->base + (xorshift(&state) % JUNK_SIZE & ~7ull);

			bad += !clean_error(hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value));
			bad += !clean_error(hl_pyobj_dict_for_each(r, addr, count_cb, &cnt));
			bad += !clean_error(hl_pyobj_getattr(r, addr, "x", &value));
			bad += !clean_error(hl_pyobj_read_long(r, addr, &iv));
			bad += !clean_error(hl_pyobj_str_equals(r, addr, "x") < 0 ? -EINVAL : 0);
			if (!hl_pyobj_read_str(r, addr, &str))
				free(str);
		}
	}
	CHECK_INT(0, bad, "random junk: results other than 0 or a clean error");
}

static void check_junk(const struct hl_pyreader *r, const struct child *c)
{
	const struct hl_pyver *v = r->ver;
	bool modern = v->dictkeys_kind != HL_OFF_NONE;
	uint64_t dict_type = 0, value = 0, text = child__var(c, "d.delta");
	uint64_t d = child__var(c, "d"), type_of_text = 0;
	struct count cnt = {.r = r};
	struct junk *j = calloc(1, sizeof(*j));
	char magic[12];
	int err;

	if (!j)
		return;
	j->pid = r->pid;
	CHECK_INT(0, hl_procmem_read_u64(r->pid, child__var(c, "junk") + 40, &j->base),
		  "bytearray ob_start");
	CHECK_INT(0, hl_procmem_read(r->pid, j->base, magic, sizeof(magic)), "junk readable");
	CHECK(!memcmp(magic, "HOTLOOP-JUNK", sizeof(magic)), "found the junk buffer");
	CHECK_INT(0, hl_pyobj_type(r, d, &dict_type), "type(d)");
	CHECK_INT(0, hl_pyobj_type(r, text, &type_of_text), "type(str)");
	if (memcmp(magic, "HOTLOOP-JUNK", sizeof(magic)) || !dict_type)
		goto out;

	/* Positive controls: the fakes below are right where they do not mean to be wrong. */
	{
		const uint64_t kv[][2] = {{at(j, AT_DICT), 5}, {text, d}};

		junk__reset(j, v, dict_type, at(j, AT_KEYS), 0);
		junk__keys(j, v, 3, 0, 2, kv, 2);
		CHECK_INT(0, junk__write(j), "write fake dict");
		CHECK_INT(0, hl_pyobj_dict_get(r, at(j, AT_DICT), "text", &value),
			  "fake general dict: get");
		CHECK_INT(d, value, "fake general dict: value");
		if (modern) {
			const uint64_t ukv[][2] = {{text, d}};

			junk__reset(j, v, dict_type, at(j, AT_KEYS), 0);
			junk__keys(j, v, 3, 1, 1, ukv, 1);
			CHECK_INT(0, junk__write(j), "write fake unicode dict");
			value = 0;
			CHECK_INT(0, hl_pyobj_dict_get(r, at(j, AT_DICT), "text", &value),
				  "fake unicode dict: get");
			CHECK_INT(d, value, "fake unicode dict: value");
		}
	}
	{
		const uint64_t kv[][2] = {{text, 0}};
		const uint64_t vals[] = {d};

		junk__reset(j, v, dict_type, at(j, AT_KEYS), at(j, AT_VALUES));
		junk__keys(j, v, 3, 2, 1, kv, 1);
		junk__values(j, v, vals, 1);
		CHECK_INT(0, junk__write(j), "write fake split dict");
		value = 0;
		CHECK_INT(0, hl_pyobj_dict_get(r, at(j, AT_DICT), "text", &value),
			  "fake split dict: get");
		CHECK_INT(d, value, "fake split dict: value");
		/* Values that are not there. */
		put64(j, AT_DICT + v->dict_values, 0x10);
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-EFAULT, hl_pyobj_dict_get(r, at(j, AT_DICT), "text", &value),
			  "fake split dict, values unmapped");
		if (modern) {
			/* A split values pointer on keys that are not split. */
			put64(j, AT_DICT + v->dict_values, at(j, AT_VALUES));
			j->img[AT_KEYS + v->dictkeys_kind] = 0;
			CHECK_INT(0, junk__write(j), "write");
			CHECK_INT(-EINVAL, hl_pyobj_dict_get(r, at(j, AT_DICT), "text", &value),
				  "fake dict: values on general keys");
		}
	}

	/* Keys pointers that lead nowhere good. */
	junk__reset(j, v, dict_type, 0, 0);
	CHECK_INT(0, junk__write(j), "write");
	CHECK_INT(-EINVAL, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value), "keys NULL");
	junk__reset(j, v, dict_type, 0x10, 0);
	CHECK_INT(0, junk__write(j), "write");
	CHECK_INT(-EFAULT, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value), "keys unmapped");
	junk__reset(j, v, dict_type, at(j, AT_FF), 0);
	CHECK_INT(0, junk__write(j), "write");
	CHECK_INT(-EINVAL, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value), "keys all 0xff");
	CHECK_INT(-EINVAL, hl_pyobj_dict_for_each(r, at(j, AT_DICT), count_cb, &cnt),
		  "for_each: keys all 0xff");

	/* Sizes that cannot be. */
	junk__reset(j, v, dict_type, at(j, AT_KEYS), 0);
	junk__keys(j, v, 3, 0, 6, NULL, 0);
	CHECK_INT(0, junk__write(j), "write");
	CHECK_INT(-EINVAL, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value),
		  "more entries than usable slots");
	junk__reset(j, v, dict_type, at(j, AT_KEYS), 0);
	junk__keys(j, v, 3, 0, -1, NULL, 0);
	CHECK_INT(0, junk__write(j), "write");
	CHECK_INT(-EINVAL, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value), "negative entries");
	junk__reset(j, v, dict_type, at(j, AT_KEYS), 0);
	junk__keys(j, v, 20, 0, 100000, NULL, 0);
	CHECK_INT(0, junk__write(j), "write");
	CHECK_INT(-E2BIG, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value),
		  "over HL_PYDICT_MAX entries");
	if (modern) {
		junk__reset(j, v, dict_type, at(j, AT_KEYS), 0);
		junk__keys(j, v, 3, 7, 1, NULL, 0);
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-EINVAL, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value),
			  "unknown dk_kind");
	}

	/* A dict whose keys are itself and another fake dict: no str to compare, no loop. */
	{
		const uint64_t kv[][2] = {{at(j, AT_DICT), at(j, AT_DICT)},
					  {at(j, AT_DICT2), at(j, AT_DICT)},
					  {0, 0},
					  {at(j, AT_DICT), 0}};

		junk__reset(j, v, dict_type, at(j, AT_KEYS), 0);
		junk__keys(j, v, 3, 0, 4, kv, 4);
		memcpy(j->img + AT_DICT2, j->img + AT_DICT, 48);
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-ENOENT, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value),
			  "self-referencing dict: get");
		memset(&cnt, 0, sizeof(cnt));
		cnt.r = r;
		CHECK_INT(0, hl_pyobj_dict_for_each(r, at(j, AT_DICT), count_cb, &cnt),
			  "self-referencing dict: for_each");
		CHECK_INT(2, cnt.n, "self-referencing dict: items");
	}
	/* A key whose object is junk. */
	{
		const uint64_t kv[][2] = {{at(j, AT_FF), d}};

		junk__reset(j, v, dict_type, at(j, AT_KEYS), 0);
		junk__keys(j, v, 3, 0, 1, kv, 1);
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-EFAULT, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value),
			  "key object of 0xff");
	}
	/* A str key claiming 2^40 characters, ASCII or not: skipped or refused, not read. */
	{
		const uint64_t kv[][2] = {{at(j, AT_DICT2), d}};

		junk__reset(j, v, dict_type, at(j, AT_KEYS), 0);
		junk__keys(j, v, 3, 0, 1, kv, 1);
		put64(j, AT_DICT2 + 8, type_of_text);
		put64(j, AT_DICT2 + v->unicode_length, 1ull << 40);
		j->img[AT_DICT2 + v->unicode_state] = 0x04 | 0x20; /* kind 1, compact */
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-ENOENT, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value),
			  "huge non-ASCII str key");
		j->img[AT_DICT2 + v->unicode_state] = 0x04 | 0x20 | 0x40;
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-ENOENT, hl_pyobj_dict_get(r, at(j, AT_DICT), "x", &value),
			  "huge ASCII str key");
		CHECK_INT(0, hl_pyobj_str_equals(r, at(j, AT_DICT2), "\u00e9"),
			  "huge str: equals non-ASCII");
	}

	/* Instances of a fake type. */
	{
		const uint64_t kv[][2] = {{text, d}};

		junk__reset(j, v, dict_type, at(j, AT_KEYS), 0);
		junk__keys(j, v, 3, 0, 1, kv, 1);
		put64(j, AT_OBJ, 1);
		put64(j, AT_OBJ + 8, at(j, AT_TYPE));
		put64(j, AT_OBJ + 16, at(j, AT_DICT));
		put64(j, AT_TYPE + v->type_basicsize, 24);
		put64(j, AT_TYPE + v->type_dictoffset, 16);
		CHECK_INT(0, junk__write(j), "write");
		value = 0;
		CHECK_INT(0, hl_pyobj_getattr(r, at(j, AT_OBJ), "text", &value),
			  "fake instance: getattr");
		CHECK_INT(d, value, "fake instance: value");
		put64(j, AT_TYPE + v->type_dictoffset, 1ull << 30);
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-EINVAL, hl_pyobj_getattr(r, at(j, AT_OBJ), "text", &value),
			  "fake type: dictoffset 2^30");
		put64(j, AT_TYPE + v->type_dictoffset, (uint64_t)-8);
		put64(j, AT_TYPE + v->type_itemsize, 8);
		put64(j, AT_OBJ + 16, 1ull << 40);
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-EINVAL, hl_pyobj_getattr(r, at(j, AT_OBJ), "text", &value),
			  "fake type: ob_size 2^40");
		put64(j, AT_TYPE + v->type_dictoffset, 16);
		put64(j, AT_OBJ + 16, at(j, AT_FF));
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-EFAULT, hl_pyobj_getattr(r, at(j, AT_OBJ), "text", &value),
			  "fake instance: __dict__ of 0xff");
		put64(j, AT_TYPE + v->type_basicsize, (uint64_t)-1);
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-EINVAL, hl_pyobj_getattr(r, at(j, AT_OBJ), "text", &value),
			  "fake type: basicsize -1");
		put64(j, AT_OBJ + 8, 0);
		CHECK_INT(0, junk__write(j), "write");
		CHECK_INT(-EINVAL, hl_pyobj_getattr(r, at(j, AT_OBJ), "text", &value),
			  "fake instance: NULL type");
		if (v->tpflags_managed_dict) {
			/* Managed dict slot pointing at the fake dict (3.13+: values invalid). */
			put64(j, AT_OBJ + 8, at(j, AT_TYPE));
			put64(j, AT_TYPE + v->type_basicsize, 16);
			put64(j, AT_TYPE + v->type_dictoffset, (uint64_t)-1);
			put64(j, AT_TYPE + v->type_flags,
			      v->tpflags_managed_dict | v->tpflags_inline_values);
			put64(j, AT_OBJ - v->managed_dict, at(j, AT_DICT));
			put64(j, AT_OBJ + 16, 0);
			CHECK_INT(0, junk__write(j), "write");
			value = 0;
			CHECK_INT(0, hl_pyobj_getattr(r, at(j, AT_OBJ), "text", &value),
				  "fake managed instance: getattr");
			CHECK_INT(d, value, "fake managed instance: value");
			put64(j, AT_OBJ - v->managed_dict, at(j, AT_FF) & ~7ull);
			CHECK_INT(0, junk__write(j), "write");
			err = hl_pyobj_getattr(r, at(j, AT_OBJ), "text", &value);
			CHECK(err == -EFAULT || err == -EINVAL, "fake managed instance: junk slot");
		}
	}
	check_random_junk(r, j, dict_type);
	/* Leave the buffer harmless. */
	memset(j->img, 0, sizeof(j->img));
	junk__write(j);
out:
	free(j);
}

static void check_objects(const struct hl_python *py, const struct child *c)
{
	struct hl_pyreader r = {.pid = py->pid, .ver = &py->ver};
	struct count cnt = {.r = &r};
	uint64_t value = 0, mod = 0, dict = 0;
	int64_t iv;
	char key[16], what[64];
	unsigned i;
	int err;

	for (i = 0; i < HL_ARRAY_SIZE(dict_rows); i++) {
		value = 0;
		err = hl_pyobj_dict_get(&r, child__var(c, dict_rows[i].obj), dict_rows[i].key,
					&value);
		check_value(&r, c, &dict_rows[i], err, value, "dict_get");
	}
	for (i = 0; i < HL_ARRAY_SIZE(attr_rows); i++) {
		value = 0;
		err =
		    hl_pyobj_getattr(&r, child__var(c, attr_rows[i].obj), attr_rows[i].key, &value);
		check_value(&r, c, &attr_rows[i], err, value, "getattr");
	}

	/* A materialized instance dict is a split table on the class's shared keys (while the
	 * class has never seen a deletion, which on ≤3.10 unshares them), which is how
	 * heaptype_cached_keys is checked on versions that never read it otherwise. */
	{
		uint64_t type = 0, cached = 0, keys = 0;

		CHECK_INT(0, hl_pyobj_type(&r, child__var(c, "w"), &type), "type(w)");
		CHECK_INT(0,
			  hl_procmem_read_u64(r.pid, type + py->ver.heaptype_cached_keys, &cached),
			  "ht_cached_keys");
		CHECK_INT(
		    0, hl_procmem_read_u64(r.pid, child__var(c, "wd") + py->ver.dict_keys, &keys),
		    "w.__dict__ ma_keys");
		CHECK(cached && keys == cached, "w.__dict__ uses the class's shared keys");
		CHECK_INT(0, hl_pyobj_getattr(&r, child__var(c, "w"), "x", &value), "w.x");
		CHECK_INT(0, hl_pyobj_read_long(&r, value, &iv), "w.x is an int");
		CHECK_INT(1, iv, "w.x");
	}

	/* Bogus addresses. */
	CHECK_INT(-EFAULT, hl_pyobj_dict_get(&r, 0, "x", &value), "dict_get(NULL)");
	CHECK_INT(-EFAULT, hl_pyobj_dict_get(&r, 0x10, "x", &value), "dict_get(0x10)");
	CHECK_INT(-EFAULT, hl_pyobj_dict_get(&r, 0xffffffffffff0000ull, "x", &value),
		  "dict_get(kernel address)");
	CHECK_INT(-EFAULT, hl_pyobj_getattr(&r, 0, "x", &value), "getattr(NULL)");
	CHECK_INT(-EFAULT, hl_pyobj_getattr(&r, 0x10, "x", &value), "getattr(0x10)");
	CHECK_INT(-EFAULT, hl_pyobj_read_long(&r, 0x10, &iv), "read_long(0x10)");
	CHECK_INT(-EFAULT, hl_pyobj_dict_for_each(&r, 0x10, count_cb, &cnt), "for_each(0x10)");

	/* Whole-dict walks. */
	memset(&cnt, 0, sizeof(cnt));
	cnt.r = &r;
	CHECK_INT(0, hl_pyobj_dict_for_each(&r, child__var(c, "big"), count_cb, &cnt),
		  "for_each(big)");
	CHECK_INT(1000, cnt.n, "for_each(big): items");
	CHECK_INT(499500, cnt.sum, "for_each(big): sum of values");
	memset(&cnt, 0, sizeof(cnt));
	cnt.r = &r;
	CHECK_INT(0, hl_pyobj_dict_for_each(&r, child__var(c, "holes"), count_cb, &cnt),
		  "for_each(holes)");
	CHECK_INT(10, cnt.n, "for_each(holes): items");
	CHECK_INT(100, cnt.sum, "for_each(holes): sum of odd values below 20");
	memset(&cnt, 0, sizeof(cnt));
	cnt.r = &r;
	CHECK_INT(0, hl_pyobj_dict_for_each(&r, child__var(c, "mixed"), count_cb, &cnt),
		  "for_each(mixed)");
	CHECK_INT(3, cnt.n, "for_each(mixed): items");
	memset(&cnt, 0, sizeof(cnt));
	cnt.r = &r;
	cnt.stop_after = 3;
	CHECK_INT(7, hl_pyobj_dict_for_each(&r, child__var(c, "big"), count_cb, &cnt),
		  "for_each stopped by the callback");
	CHECK_INT(3, cnt.n, "for_each stopped: items");
	CHECK_INT(-EINVAL, hl_pyobj_dict_for_each(&r, child__var(c, "lst"), count_cb, &cnt),
		  "for_each(list)");

	/* Ints. */
	for (i = 0; i < HL_ARRAY_SIZE(int_rows); i++) {
		snprintf(key, sizeof(key), "int%u", i);
		snprintf(what, sizeof(what), "read_long(ints[%u])", i);
		iv = 0;
		err = hl_pyobj_read_long(&r, child__var(c, key), &iv);
		CHECK_INT(int_rows[i].err, err, what);
		if (!err)
			CHECK_INT(int_rows[i].value, iv, what);
	}
	CHECK_INT(-EINVAL, hl_pyobj_read_long(&r, child__var(c, "d.delta"), &iv), "read_long(str)");
	CHECK_INT(-EINVAL, hl_pyobj_read_long(&r, child__var(c, "d"), &iv), "read_long(dict)");

	/* Types and str comparison. */
	CHECK_INT(1, hl_pyobj_is_dict(&r, child__var(c, "sub")), "is_dict(DictSub)");
	CHECK_INT(0, hl_pyobj_is_dict(&r, child__var(c, "lst")), "is_dict(list)");
	CHECK_INT(1, hl_pyobj_is_str(&r, child__var(c, "d.delta")), "is_str(str)");
	CHECK_INT(1, hl_pyobj_is_long(&r, child__var(c, "n")), "is_long(IntSub)");
	CHECK_INT(-EFAULT, hl_pyobj_is_long(&r, 0x10), "is_long(0x10)");
	CHECK_INT(1, hl_pyobj_str_equals(&r, child__var(c, "d.delta"), "text"), "'text' == text");
	CHECK_INT(0, hl_pyobj_str_equals(&r, child__var(c, "d.delta"), "tex"), "'text' == tex");
	CHECK_INT(0, hl_pyobj_str_equals(&r, child__var(c, "d.delta"), "t\u00e9xt"),
		  "'text' == t\u00e9xt");
	CHECK_INT(0, hl_pyobj_str_equals(&r, child__var(c, "int1"), "1"), "1 == '1'");

	/* sys.modules. */
	CHECK_INT(0, hl_pyobj_module(&r, py->runtime, "__main__", &mod), "module(__main__)");
	CHECK_INT(0, hl_pyobj_module_dict(&r, mod, &dict), "module_dict(__main__)");
	value = 0;
	CHECK_INT(0, hl_pyobj_dict_get(&r, dict, "d", &value), "__main__.d");
	CHECK_INT(child__var(c, "d"), value, "__main__.d is d");
	value = 0;
	CHECK_INT(0, hl_pyobj_module_global(&r, py->runtime, "__main__", "big", &value),
		  "module_global(__main__, big)");
	CHECK_INT(child__var(c, "big"), value, "__main__.big is big");
	CHECK_INT(-ENOENT, hl_pyobj_module(&r, py->runtime, "no_such_module", &mod),
		  "module(no_such_module)");
	CHECK_INT(-ENOENT, hl_pyobj_module_global(&r, py->runtime, "sys", "no_such_name", &value),
		  "module_global(sys, no_such_name)");
	CHECK_INT(-EINVAL, hl_pyobj_module_dict(&r, child__var(c, "lst"), &dict),
		  "module_dict(list)");
	CHECK_INT(-EFAULT, hl_pyobj_module(&r, 0x10, "sys", &mod), "module(runtime 0x10)");

	check_junk(&r, c);
}

/* ---------------------------------------------------------------------------------------- */

static int tell(struct child *c)
{
	return write(c->in, "\n", 1) == 1 ? 0 : -EPIPE;
}

static void check_nothreading(const struct interp *in)
{
	struct hl_python py;
	struct names ns = {0};
	struct child c;

	if (child__start(&c, in->path, "-IS", SCRIPT_NOTHREADING, NULL)) {
		CHECK(false, "start the no-threading script");
		return;
	}
	CHECK_INT(0, child__read(&c), "no-threading script: stage 1");
	CHECK_INT(0, child__var(&c, "threading"), "threading not imported at startup");
	if (child__detect(c.pid, &py) != HL_PYDETECT_OK) {
		CHECK(false, "detect the no-threading process");
		goto out;
	}
	CHECK_INT(-ENOENT, hl_python_thread_names(&py, names_cb, &ns), "names: no threading");
	CHECK_INT(0, tell(&c), "to stage 2");
	CHECK_INT(0, child__read(&c), "no-threading script: stage 2");
	CHECK_INT(-EINVAL, hl_python_thread_names(&py, names_cb, &ns), "names: _active = 42");
	CHECK_INT(0, tell(&c), "to stage 3");
	CHECK_INT(0, child__read(&c), "no-threading script: stage 3");
	CHECK_INT(0, hl_python_thread_names(&py, names_cb, &ns), "names: _active of non-threads");
	CHECK_INT(0, ns.n, "names: _active of non-threads: none reported");
out:
	child__stop(&c);
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
	if (child__read(&c)) {
		CHECK(false, "the script printed its objects");
		goto out;
	}
	if (child__detect(c.pid, &py) != HL_PYDETECT_OK) {
		CHECK(false, "hl_python_detect");
		goto out;
	}
	check_objects(&py, &c);
	check_threads(&py, &c);
out:
	child__stop(&c);
	check_nothreading(in);
	fprintf(stderr, "pyobject: %s (%s, Python %s): %d checks, %d failed\n", in->id, in->path,
		py.version, check_count - count, check_failures - failures);
}

int main(void)
{
	return run_each_interpreter("pyobject", run_interp);
}
