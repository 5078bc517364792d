/* tests/unit/test_candidates.c — report/costclass and report/candidates.
 *
 *   - the classification table, row by row, per version, with rows that must not match
 *     (names renamed between versions, unnamed addresses, libraries outside the interpreter);
 *   - the analysis on a synthetic store: a generic _match (genexpr + per-element method,
 *     iteration and call overhead) ranks first with remedy codegen and folds its callee; a
 *     zlib caller and a memcpy-bound join are never flagged; a numeric loop is JIT; a
 *     driver that only calls a hot leaf is not listed; a python-mode recording says the
 *     categories are missing;
 *   - a per-element method in only 4% of _match's samples does not make _match a leaf.
 */
#define _GNU_SOURCE
#include "report/candidates.h"
#include "report/costclass.h"
#include "report/profile.h"
#include "schema/store.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define LIBPY "/usr/lib/libpython3.12.so.1.0"

static const struct {
	int minor, kind;
	const char *name, *module;
	enum hl_cost want;
} class_rows[] = {
	{12, HL_FUNC_EVAL, "_PyEval_EvalFrameDefault", LIBPY, HL_COST_DISPATCH},
	{12, HL_FUNC_NATIVE, "_PyEval_EvalFrameDefault.cold", LIBPY, HL_COST_DISPATCH},
	{12, HL_FUNC_NATIVE, "read_u16", LIBPY, HL_COST_DISPATCH},
	{10, HL_FUNC_NATIVE, "read_u16", LIBPY, HL_COST_OTHER}, /* 3.11+ only */
	{12, HL_FUNC_NATIVE, "_PyFunction_Vectorcall", LIBPY, HL_COST_CALL},
	{12, HL_FUNC_NATIVE, "method_vectorcall_O", LIBPY, HL_COST_CALL},
	{8, HL_FUNC_NATIVE, "function_code_fastcall", LIBPY, HL_COST_CALL},
	{12, HL_FUNC_NATIVE, "function_code_fastcall", LIBPY, HL_COST_OTHER}, /* gone in 3.10 */
	{12, HL_FUNC_NATIVE, "_PyObject_GenericGetAttrWithDict", LIBPY, HL_COST_LOOKUP},
	{12, HL_FUNC_NATIVE, "_Py_dict_lookup", LIBPY, HL_COST_LOOKUP},
	{9, HL_FUNC_NATIVE, "lookdict_unicode_nodummy", LIBPY, HL_COST_LOOKUP},
	{12, HL_FUNC_NATIVE, "PyObject_RichCompare", LIBPY, HL_COST_COMPARE},
	{12, HL_FUNC_NATIVE, "long_richcompare", LIBPY, HL_COST_COMPARE}, /* before long_* */
	{12, HL_FUNC_NATIVE, "zip_next", LIBPY, HL_COST_ITERATION},
	{12, HL_FUNC_NATIVE, "builtin_all", LIBPY, HL_COST_ITERATION},
	{12, HL_FUNC_NATIVE, "gen_send_ex2", LIBPY, HL_COST_ITERATION},
	{12, HL_FUNC_NATIVE, "make_gen", LIBPY, HL_COST_ITERATION},
	{12, HL_FUNC_NATIVE, "pymalloc_alloc", LIBPY, HL_COST_ALLOC},
	{12, HL_FUNC_NATIVE, "tupledealloc", LIBPY, HL_COST_ALLOC},
	{12, HL_FUNC_NATIVE, "Py_DECREF", LIBPY, HL_COST_ALLOC},
	{12, HL_FUNC_NATIVE, "_int_malloc", "/usr/lib/x86_64-linux-gnu/libc.so.6", HL_COST_ALLOC},
	{12, HL_FUNC_NATIVE, "long_add", LIBPY, HL_COST_ARITH},
	{12, HL_FUNC_NATIVE, "_PyLong_Add", LIBPY, HL_COST_ARITH},
	{12, HL_FUNC_NATIVE, "float_mul", LIBPY, HL_COST_ARITH},
	{12, HL_FUNC_NATIVE, "__memcpy_avx_unaligned_erms", "libc.so.6", HL_COST_REAL},
	{12, HL_FUNC_NATIVE, "bytes_join", LIBPY, HL_COST_REAL},
	{12, HL_FUNC_NATIVE, "sre_ucs1_match", LIBPY, HL_COST_REAL},
	{12, HL_FUNC_NATIVE, "deflate_slow", "libz.so.1", HL_COST_REAL},
	{12, HL_FUNC_NATIVE, "libz.so.1.2.13+0x5d80", "libz.so.1.2.13", HL_COST_REAL},
	{12, HL_FUNC_NATIVE, "EVP_DigestUpdate", "libcrypto.so.3", HL_COST_REAL},
	{12, HL_FUNC_NATIVE, "ext_helper", "hotloop_testext.so", HL_COST_REAL},
	{12, HL_FUNC_KERNEL, "do_syscall_64", "", HL_COST_REAL},
	{12, HL_FUNC_NATIVE, "__tls_get_addr", "ld-linux-x86-64.so.2", HL_COST_PASS},
	{12, HL_FUNC_NATIVE, "_PyInterpreterState_GET", LIBPY, HL_COST_PASS},
	{12, HL_FUNC_NATIVE, "unicode_repr", LIBPY, HL_COST_OTHER},
	{11, HL_FUNC_NATIVE, "python3.11+0x1b2c40", "/usr/bin/python3.11", HL_COST_UNKNOWN},
	{11, HL_FUNC_NATIVE, "", "/usr/bin/python3.11", HL_COST_UNKNOWN},
};

static void test_classify(void)
{
	size_t i;
	char what[256];

	for (i = 0; i < sizeof(class_rows) / sizeof(class_rows[0]); i++) {
		struct hl_cost_frame f = {class_rows[i].kind, class_rows[i].name,
					  class_rows[i].module};

		snprintf(what, sizeof(what), "3.%d %s [%s]", class_rows[i].minor, class_rows[i].name,
			 class_rows[i].module);
		CHECK_STR(hl_cost_name(class_rows[i].want),
			  hl_cost_name(hl_cost_classify(&f, class_rows[i].minor)), what);
	}
	CHECK(hl_cost_is_overhead(HL_COST_ARITH) && !hl_cost_is_overhead(HL_COST_REAL) &&
		  !hl_cost_is_overhead(HL_COST_UNKNOWN),
	      "overhead categories");
	CHECK(hl_candidates_is_inner_code("Filter._match.<locals>.<genexpr>"), "genexpr 3.11+");
	CHECK(hl_candidates_is_inner_code("<listcomp>"), "listcomp 3.8");
	CHECK(hl_candidates_is_inner_code("<lambda>"), "lambda");
	CHECK(!hl_candidates_is_inner_code("<module>"), "module is not inner code");
	CHECK(!hl_candidates_is_inner_code("Filter._match"), "a method is not inner code");
}

/* The synthetic profile: stacks outermost first. */
enum {
	F_MAIN, F_SELECT, F_MATCH, F_GENEXPR, F_MATCHES, F_COMPRESS, F_JOIN, F_NUMERIC, F_DRIVER,
	N_ALL, N_GEN, N_VEC, N_RICH, N_MALLOC, N_ZLIB, N_DEFLATE, N_BJOIN, N_MEMCPY, N_LONGADD,
	N_TLS, NR_F
};

static const struct {
	int kind;
	const char *name, *module;
} fns[NR_F] = {
	[F_MAIN] = {HL_FUNC_PYTHON, "<module>", ""},
	[F_SELECT] = {HL_FUNC_PYTHON, "Filter.select", ""},
	[F_MATCH] = {HL_FUNC_PYTHON, "Filter._match", ""},
	[F_GENEXPR] = {HL_FUNC_PYTHON, "Filter._match.<locals>.<genexpr>", ""},
	[F_MATCHES] = {HL_FUNC_PYTHON, "Key.matches", ""},
	[F_COMPRESS] = {HL_FUNC_PYTHON, "compress_all", ""},
	[F_JOIN] = {HL_FUNC_PYTHON, "join_buffers", ""},
	[F_NUMERIC] = {HL_FUNC_PYTHON, "lcg", ""},
	[F_DRIVER] = {HL_FUNC_PYTHON, "run_lcg", ""},
	[N_ALL] = {HL_FUNC_NATIVE, "builtin_all", LIBPY},
	[N_GEN] = {HL_FUNC_NATIVE, "gen_send_ex2", LIBPY},
	[N_VEC] = {HL_FUNC_NATIVE, "method_vectorcall", LIBPY},
	[N_RICH] = {HL_FUNC_NATIVE, "PyObject_RichCompare", LIBPY},
	[N_MALLOC] = {HL_FUNC_NATIVE, "pymalloc_alloc", LIBPY},
	[N_ZLIB] = {HL_FUNC_NATIVE, "zlib_compress_impl", "zlib.cpython-312.so"},
	[N_DEFLATE] = {HL_FUNC_NATIVE, "deflate_slow", "libz.so.1"},
	[N_BJOIN] = {HL_FUNC_NATIVE, "bytes_join", LIBPY},
	[N_MEMCPY] = {HL_FUNC_NATIVE, "__memcpy_avx_unaligned", "libc.so.6"},
	[N_LONGADD] = {HL_FUNC_NATIVE, "long_add", LIBPY},
	[N_TLS] = {HL_FUNC_NATIVE, "__tls_get_addr", "ld-linux-x86-64.so.2"},
};

#define END (-1)
struct spec {
	int frames[10];
	int samples;
};

static const struct spec specs[] = {
	/* _match: 60 samples in all, most of them overhead. */
	{{F_MAIN, F_SELECT, F_MATCH, END}, 10},
	{{F_MAIN, F_SELECT, F_MATCH, N_ALL, N_GEN, F_GENEXPR, END}, 15},
	{{F_MAIN, F_SELECT, F_MATCH, N_ALL, N_GEN, F_GENEXPR, N_MALLOC, N_TLS, END}, 10},
	{{F_MAIN, F_SELECT, F_MATCH, N_ALL, N_GEN, F_GENEXPR, F_MATCHES, END}, 10},
	{{F_MAIN, F_SELECT, F_MATCH, N_ALL, N_GEN, F_GENEXPR, F_MATCHES, N_RICH, END}, 10},
	{{F_MAIN, F_SELECT, F_MATCH, N_ALL, END}, 5},
	{{F_MAIN, F_SELECT, N_VEC, END}, 2},
	/* Real work: 15 in zlib, 10 in memcpy under bytes.join. */
	{{F_MAIN, F_COMPRESS, N_ZLIB, N_DEFLATE, END}, 14},
	{{F_MAIN, F_COMPRESS, END}, 1},
	{{F_MAIN, F_JOIN, N_BJOIN, N_MEMCPY, END}, 9},
	{{F_MAIN, F_JOIN, END}, 1},
	/* A numeric loop under a driver that does nothing itself. */
	{{F_MAIN, F_DRIVER, F_NUMERIC, END}, 8},
	{{F_MAIN, F_DRIVER, F_NUMERIC, N_LONGADD, END}, 7},
};

/* A per-element method so cheap that it is in only 4% of _match's samples (3.13's storage
 * workload: 4.6-6.4%), under a select whose own list building is 30%: _match still calls
 * Python code per element, so it is no leaf, and select does not swallow it. */
static const struct spec rare_callee[] = {
	{{F_MAIN, F_SELECT, END}, 30},
	{{F_MAIN, F_SELECT, F_MATCH, END}, 48},
	{{F_MAIN, F_SELECT, F_MATCH, N_ALL, N_GEN, F_GENEXPR, END}, 20},
	{{F_MAIN, F_SELECT, F_MATCH, N_ALL, N_GEN, F_GENEXPR, F_MATCHES, END}, 3},
};

static int build(const char *path, const char *mode, const struct spec *specs, size_t nr)
{
	struct hl_profile_info info = {.command = "python3 app.py", .target_pids = "1",
				       .host = "t", .kernel = "6.1", .mode = mode,
				       .event = "cpu-clock", .frequency_hz = 99, .start_ns = 1};
	struct hl_process_info proc = {.pid = 1, .executable = "/usr/bin/python3"};
	struct hl_profile_totals totals = {.end_ns = 2};
	int64_t profile, thread, fn[NR_F];
	struct hl_store *s = hl_store__open(path, HL_STORE_CREATE | HL_STORE_TRUNCATE);
	size_t i;
	int j, k;

	if (!s)
		return -errno;
	profile = hl_store__add_profile(s, &info);
	thread = hl_store__add_thread(s, hl_store__add_process(s, profile, &proc), 1, "main");
	for (i = 0; i < NR_F; i++)
		fn[i] = hl_store__intern_function(s, fns[i].kind, fns[i].name,
						  fns[i].kind == HL_FUNC_PYTHON ? "app.py" : NULL,
						  0, fns[i].module);
	for (i = 0; i < nr; i++) {
		int64_t stack = 0;

		for (j = 0; j < 10 && specs[i].frames[j] != END; j++)
			stack = hl_store__intern_stack(
			    s, stack, hl_store__intern_frame(s, fn[specs[i].frames[j]], 0, 0));
		for (k = 0; k < specs[i].samples; k++) {
			hl_store__add_sample(s, profile, thread, stack, (uint64_t)k, HL_STATE_GIL,
					     1);
			totals.samples++;
		}
	}
	hl_store__finish_profile(s, profile, &totals);
	i = (size_t)hl_store__commit(s);
	hl_store__close(s);
	return (int)i;
}

static const struct hl_candidate *find(const struct hl_candidates *cs,
				       const struct hl_profile *p, const char *name)
{
	size_t nr, i;
	const struct hl_rfunction *f = hl_profile__functions(p, &nr);

	for (i = 0; i < cs->nr; i++)
		if (!strcmp(f[cs->items[i].function].name, name))
			return &cs->items[i];
	return NULL;
}

static void test_analysis(const char *dir)
{
	char path[512];
	struct hl_report_filter filter = {.view = HL_VIEW_MIXED};
	struct hl_candidates_facts facts = {.minor = 12, .python = "3.12.1", .has_native = true};
	struct hl_store *s;
	struct hl_profile *p;
	struct hl_candidates *cs;
	const struct hl_candidate *c;
	size_t nr;
	const struct hl_rfunction *f;

	snprintf(path, sizeof(path), "%s/cand.db", dir);
	CHECK_INT(0, build(path, "mixed", specs, sizeof(specs) / sizeof(specs[0])),
		  "build the synthetic store");
	s = hl_store__open(path, HL_STORE_READONLY);
	p = s ? hl_profile__load(s, &filter) : NULL;
	cs = p ? hl_candidates__analyze(p, &facts) : NULL;
	CHECK(cs != NULL, "analyze");
	if (!cs)
		goto out;
	f = hl_profile__functions(p, &nr);
	CHECK_INT(102, cs->samples, "samples");
	CHECK(cs->nr_listed >= 2, "at least two listed");
	CHECK_STR("Filter._match", f[cs->items[0].function].name, "_match ranks first");
	CHECK_STR("codegen", hl_remedy_name(cs->items[0].remedy), "_match: codegen");
	CHECK_INT(60, cs->items[0].unit, "_match unit: itself, its genexpr, Key.matches");
	CHECK_INT(15, cs->items[0].self, "_match self: itself and builtin_all under it");
	CHECK_INT(40, cs->items[0].own, "_match own: itself and its genexpr");
	CHECK_INT(10, cs->items[0].cost[HL_COST_ALLOC], "pymalloc under __tls_get_addr: alloc");
	CHECK_INT(10, cs->items[0].cost[HL_COST_COMPARE], "rich compare");
	CHECK_INT(5, cs->items[0].cost[HL_COST_ITERATION], "builtin_all");
	CHECK_INT(35, cs->items[0].cost[HL_COST_DISPATCH], "dispatch");
	CHECK(cs->items[0].nr_callees == 2 &&
		  !strcmp(f[cs->items[0].callees[0].function].name, "Filter._match.<locals>.<genexpr>") &&
		  cs->items[0].callees[0].samples == 25,
	      "per-element: genexpr 25 first, then Key.matches");
	c = find(cs, p, "Key.matches");
	CHECK(c && c->folded_into == cs->items[0].function, "Key.matches folded into _match");
	c = find(cs, p, "compress_all");
	CHECK(c && c->remedy == HL_REMEDY_NONE, "compress_all is not a candidate");
	CHECK(c && c->real_in != HL_NONE && !strcmp(f[c->real_in].name, "zlib_compress_impl"),
	      "compress_all: real work in zlib_compress_impl");
	c = find(cs, p, "join_buffers");
	CHECK(c && c->remedy == HL_REMEDY_NONE, "join_buffers is not a candidate");
	c = find(cs, p, "lcg");
	CHECK(c && c->remedy == HL_REMEDY_JIT, "lcg: jit");
	CHECK(!find(cs, p, "run_lcg"), "a driver of a hot leaf is not listed");
	CHECK(!find(cs, p, "<module>"), "<module> is not listed");
	hl_candidates__free(cs);
out:
	hl_profile__free(p);
	hl_store__close(s);
}

static void test_rare_callee(const char *dir)
{
	char path[512];
	struct hl_report_filter filter = {.view = HL_VIEW_MIXED};
	struct hl_candidates_facts facts = {.minor = 13, .python = "3.13.0", .has_native = true};
	struct hl_store *s;
	struct hl_profile *p;
	struct hl_candidates *cs;
	const struct hl_rfunction *f;
	size_t nr;

	snprintf(path, sizeof(path), "%s/rare.db", dir);
	CHECK_INT(0, build(path, "mixed", rare_callee, sizeof(rare_callee) / sizeof(rare_callee[0])),
		  "build the rare-callee store");
	s = hl_store__open(path, HL_STORE_READONLY);
	p = s ? hl_profile__load(s, &filter) : NULL;
	cs = p ? hl_candidates__analyze(p, &facts) : NULL;
	CHECK(cs != NULL && cs->nr_listed >= 1, "rare callee: analyze");
	if (cs) {
		f = hl_profile__functions(p, &nr);
		CHECK_STR("Filter._match", f[cs->items[0].function].name,
			  "rare callee: _match ranks first, not folded into select");
		CHECK_INT(71, cs->items[0].unit, "rare callee: _match's unit is its own 71");
	}
	hl_candidates__free(cs);
	hl_profile__free(p);
	hl_store__close(s);
	unlink(path);
}

int main(void)
{
	char dir[] = "/tmp/hl-test-candidates-XXXXXX";
	char path[512];

	test_classify();
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_analysis(dir);
	test_rare_callee(dir);
	snprintf(path, sizeof(path), "%s/cand.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cand.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cand.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return check_done();
}
