/* tests/unit/test_report.c — report/: the loader, filters, top numbers and folded text.
 *
 * Builds a small store through the store API (recursion, native and kernel frames, a name
 * with ';' and a newline, samples without frames, two processes with one thread each, two
 * profiles), then checks:
 *   - top's self/total per function against hand-computed numbers (recursion counted once);
 *   - folded, top, tree, lines and json text against golden files in tests/fixtures/report/
 *     (regenerate on purpose only: tests/fixtures/report/regenerate.sh);
 *   - --pid/--tid/--profile selecting exactly their samples, with an oracle computed by SQL
 *     through the `samples` view, and folded counts summing to the samples selected;
 *   - damaged rows (a cycle in the stack tree, a sample naming a missing stack) refused.
 */
#define _GNU_SOURCE
#include "report/label.h"
#include "report/profile.h"
#include "report/report.h"
#include "schema/store.h"
#include "common/log.h"
#include "tests/unit/check.h"
#include "tests/unit/golden.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static char db_path[512];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* The synthetic profile.  Stacks are listed outermost frame first. */
enum { F_MAIN, F_RUN, F_LEAF, F_FIB, F_CALL, F_SYSCALL, F_TRUNC, F_WEIRD, NR_F };

static const struct {
	enum hl_function_kind kind;
	const char *name, *file;
	int line;
	const char *module;
} functions[NR_F] = {
	[F_MAIN] = {HL_FUNC_PYTHON, "main", "app.py", 1, NULL},
	[F_RUN] = {HL_FUNC_PYTHON, "run", "app.py", 10, NULL},
	[F_LEAF] = {HL_FUNC_PYTHON, "leaf", "app.py", 20, NULL},
	[F_FIB] = {HL_FUNC_PYTHON, "fib", "app.py", 30, NULL},
	[F_CALL] = {HL_FUNC_NATIVE, "PyObject_Call", NULL, 0, "/usr/lib/libpython3.12.so.1.0"},
	[F_SYSCALL] = {HL_FUNC_KERNEL, "do_syscall_64", NULL, 0, NULL},
	[F_TRUNC] = {HL_FUNC_SYNTHETIC, "[truncated]", NULL, 0, NULL},
	[F_WEIRD] = {HL_FUNC_PYTHON, "weird;name\nx", "odd.py", 4, NULL},
};

struct frame_spec {
	int function;
	int line;
	uint64_t address;
};

#define MAX_DEPTH 6
struct stack_spec {
	const char *what;
	struct frame_spec frames[MAX_DEPTH]; /* outermost first, ends at function -1 */
	int thread;                          /* 0: tid 100 (pid 100), 1: tid 201 (pid 200) */
	int profile;                         /* 0 or 1; profile 1 has thread 2: tid 300 */
	int state;
	int samples;
	uint32_t weight;
};

#define END {-1, 0, 0}
static const struct stack_spec stacks[] = {
	{"A", {{F_MAIN, 2, 0}, {F_RUN, 11, 0}, {F_LEAF, 21, 0}, END}, 0, 0, HL_STATE_GIL, 5, 1},
	{"A", {{F_MAIN, 2, 0}, {F_RUN, 11, 0}, {F_LEAF, 21, 0}, END}, 1, 0, HL_STATE_NO_GIL, 2, 1},
	{"B", {{F_MAIN, 2, 0}, {F_RUN, 12, 0}, {F_CALL, 0, 0x10}, {F_SYSCALL, 0, 0x99}, END}, 0, 0,
	 HL_STATE_NO_GIL, 3, 1},
	/* Renders like B (another offset in PyObject_Call): folded merges the two lines. */
	{"B'", {{F_MAIN, 2, 0}, {F_RUN, 12, 0}, {F_CALL, 0, 0x20}, {F_SYSCALL, 0, 0x99}, END}, 1, 0,
	 HL_STATE_NO_GIL, 1, 1},
	{"C (recursion)", {{F_MAIN, 2, 0}, {F_FIB, 31, 0}, {F_FIB, 32, 0}, {F_FIB, 32, 0}, END}, 1,
	 0, HL_STATE_GIL, 4, 1},
	{"D", {{F_MAIN, 2, 0}, {F_RUN, 11, 0}, END}, 0, 0, HL_STATE_GIL, 1, 1},
	{"E (no frames)", {END}, 1, 0, HL_STATE_UNKNOWN, 2, 1},
	{"F", {{F_MAIN, 2, 0}, {F_TRUNC, 0, 0}, END}, 0, 0, HL_STATE_GIL, 1, 1},
	{"G (weight 3)", {{F_MAIN, 2, 0}, {F_WEIRD, 5, 0}, END}, 1, 0, HL_STATE_GIL, 1, 3},
	{"D in profile 2", {{F_MAIN, 2, 0}, {F_RUN, 11, 0}, END}, 2, 1, HL_STATE_GIL, 1, 1},
};

static int build_store(const char *path)
{
	struct hl_profile_info info[2] = {
		{.command = "python3 app.py", .target_pids = "100,200", .host = "test",
		 .kernel = "6.1.0", .mode = "mixed", .event = "cpu-clock", .frequency_hz = 99,
		 .start_ns = 1000000000ULL},
		{.command = "python3 other.py", .target_pids = "300", .host = "test",
		 .kernel = "6.1.0", .mode = "mixed", .event = "cpu-clock", .frequency_hz = 99,
		 .start_ns = 20000000000ULL},
	};
	struct hl_profile_totals totals[2] = {
		{.end_ns = 11000000000ULL, .samples = 22, .lost = 1, .truncated = 1},
		{.end_ns = 21000000000ULL, .samples = 1},
	};
	static const uint32_t pids[3] = {100, 200, 300}, tids[3] = {100, 201, 300};
	int64_t profile[2], thread[3], fn[NR_F];
	struct hl_store *s;
	size_t i;
	int j, k;

	s = hl_store__open(path, HL_STORE_CREATE | HL_STORE_TRUNCATE);
	if (!s)
		return -errno;
	for (i = 0; i < 2; i++)
		profile[i] = hl_store__add_profile(s, &info[i]);
	for (i = 0; i < 3; i++) {
		struct hl_process_info proc = {.pid = pids[i], .executable = "/usr/bin/python3"};
		int64_t process = hl_store__add_process(s, profile[i == 2], &proc);

		thread[i] = hl_store__add_thread(s, process, tids[i], i ? "worker" : "MainThread");
	}
	for (i = 0; i < NR_F; i++)
		fn[i] = hl_store__intern_function(s, functions[i].kind, functions[i].name,
						  functions[i].file, functions[i].line,
						  functions[i].module);
	for (i = 0; i < sizeof(stacks) / sizeof(stacks[0]); i++) {
		int64_t stack = 0;

		for (j = 0; j < MAX_DEPTH && stacks[i].frames[j].function >= 0; j++) {
			const struct frame_spec *f = &stacks[i].frames[j];
			int64_t frame = hl_store__intern_frame(s, fn[f->function], f->line,
							       f->address);

			stack = hl_store__intern_stack(s, stack, frame);
		}
		for (k = 0; k < stacks[i].samples; k++)
			if (hl_store__add_sample(s, profile[stacks[i].profile],
						 thread[stacks[i].thread], stack,
						 (uint64_t)(i * 1000 + (size_t)k),
						 stacks[i].state, stacks[i].weight))
				return -EIO;
	}
	for (i = 0; i < 2; i++)
		hl_store__finish_profile(s, profile[i], &totals[i]);
	i = hl_store__commit(s);
	hl_store__close(s);
	return (int)i;
}

/* Runs @format on the store with @filter; returns the malloc'ed output (NULL on error). */
static char *render(const char *format, const struct hl_report_filter *filter, size_t rows)
{
	struct hl_report_options opts = {.rows = rows};
	const struct hl_report_format *fmt = hl_report_format_find(format);
	struct hl_store *s = hl_store__open(db_path, HL_STORE_READONLY);
	struct hl_profile *p = s ? hl_profile__load(s, filter) : NULL;
	char *text = NULL;
	size_t len;
	FILE *out;
	int err;

	if (!p || !fmt) {
		hl_profile__free(p);
		hl_store__close(s);
		return NULL;
	}
	out = open_memstream(&text, &len);
	err = fmt->write(p, &opts, out);
	fclose(out);
	hl_profile__free(p);
	hl_store__close(s);
	if (err) {
		free(text);
		return NULL;
	}
	return text;
}

/* Sum of the counts at the end of each folded line; -1 for a malformed line. */
static int64_t folded_sum(const char *text, int *lines)
{
	int64_t sum = 0;
	const char *line = text;

	*lines = 0;
	while (*line) {
		const char *nl = strchr(line, '\n'), *sp;
		char *end;
		long long v;

		if (!nl)
			return -1;
		for (sp = nl; sp > line && sp[-1] != ' '; sp--)
			;
		if (sp == line)
			return -1;
		v = strtoll(sp, &end, 10);
		if (end != nl || v <= 0)
			return -1;
		sum += v;
		(*lines)++;
		line = nl + 1;
	}
	return sum;
}

/* SQL oracle: the weight of the samples matching the filter, through the samples view. */
static int64_t oracle(const struct hl_report_filter *f)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int64_t v = -1;

	sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL);
	if (sqlite3_prepare_v2(db,
			       "SELECT coalesce(sum(weight), 0) FROM samples"
			       " WHERE (?1 = 0 OR profile_id = ?1) AND (?2 = 0 OR pid = ?2)"
			       " AND (?3 = 0 OR tid = ?3)",
			       -1, &stmt, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(stmt, 1, f->profile_id);
		sqlite3_bind_int64(stmt, 2, f->has_pid ? f->pid : 0);
		sqlite3_bind_int64(stmt, 3, f->has_tid ? f->tid : 0);
		if (sqlite3_step(stmt) == SQLITE_ROW)
			v = sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
	}
	sqlite3_close(db);
	return v;
}

static const struct hl_top_row *find_row(const struct hl_profile *p, const struct hl_top_row *rows,
					 size_t nr, const char *name)
{
	size_t n, i;
	const struct hl_rfunction *f = hl_profile__functions(p, &n);

	for (i = 0; i < nr; i++) {
		if (!name && rows[i].function == HL_NONE)
			return &rows[i];
		if (name && rows[i].function != HL_NONE && !strcmp(f[rows[i].function].name, name))
			return &rows[i];
	}
	return NULL;
}

static void test_top_numbers(void)
{
	static const struct {
		const char *name; /* NULL: samples without frames */
		uint64_t self, total;
	} expected[] = {
		{"leaf", 7, 7},
		{"do_syscall_64", 4, 4},
		{"fib", 4, 4}, /* 4 samples, 3 fib frames each: total counts each sample once */
		{"weird;name\nx", 3, 3},
		{"run", 2, 13},
		{NULL, 2, 2},
		{"[truncated]", 1, 1},
		{"main", 0, 21},
		{"PyObject_Call", 0, 4},
	};
	struct hl_store *s = hl_store__open(db_path, HL_STORE_READONLY);
	struct hl_profile *p = s ? hl_profile__load(s, NULL) : NULL;
	struct hl_top_row *rows = NULL;
	size_t nr = 0, i;
	char what[128];

	CHECK(p != NULL, "load");
	if (!p)
		goto out;
	CHECK_INT(23, hl_profile__summary(p)->selected, "selected samples");
	CHECK_INT(23, hl_profile__summary(p)->stored, "stored samples");
	CHECK_INT(2, hl_profile__summary(p)->profiles, "profiles");
	CHECK_INT(0, hl_top_compute(p, &rows, &nr), "top");
	CHECK_INT(sizeof(expected) / sizeof(expected[0]), nr, "top rows");
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const struct hl_top_row *r = find_row(p, rows, nr, expected[i].name);
		const char *name = expected[i].name ? expected[i].name : "[none]";

		snprintf(what, sizeof(what), "top %s", name);
		CHECK(r != NULL, what);
		if (!r)
			continue;
		snprintf(what, sizeof(what), "top %s self", name);
		CHECK_INT(expected[i].self, r->self, what);
		snprintf(what, sizeof(what), "top %s total", name);
		CHECK_INT(expected[i].total, r->total, what);
		/* Sorted as the table lists them: self desc, total desc, name. */
		snprintf(what, sizeof(what), "top %s position", name);
		CHECK_INT(i, r - rows, what);
	}
	free(rows);
out:
	hl_profile__free(p);
	hl_store__close(s);
}

static void test_golden(void)
{
	char *text;

	text = render("folded", NULL, 0);
	check_golden("folded.txt", text);
	free(text);
	text = render("top", NULL, 0);
	check_golden("top.txt", text);
	free(text);
	text = render("top", NULL, 3);
	check_golden("top-n3.txt", text);
	free(text);
	text = render("folded", &(struct hl_report_filter){.has_pid = true, .pid = 100}, 0);
	check_golden("folded-pid100.txt", text);
	free(text);
	text = render("tree", NULL, 0);
	check_golden("tree.txt", text);
	free(text);
	text = render("lines", NULL, 3);
	check_golden("lines-n3.txt", text);
	free(text);
	text = render("json", NULL, 0);
	check_golden("model.json", text);
	free(text);
	text = render("json", &(struct hl_report_filter){.has_tid = true, .tid = 201}, 0);
	check_golden("model-tid201.json", text);
	free(text);
}

static void test_filters(void)
{
	const struct {
		const char *what;
		struct hl_report_filter filter;
		int64_t samples;
	} rows[] = {
		{"no filter", {0}, 23},
		{"--pid 100", {.has_pid = true, .pid = 100}, 10},
		{"--pid 200", {.has_pid = true, .pid = 200}, 12},
		{"--tid 201", {.has_tid = true, .tid = 201}, 12},
		{"--tid 100", {.has_tid = true, .tid = 100}, 10},
		{"--pid 100 --tid 100",
		 {.has_pid = true, .pid = 100, .has_tid = true, .tid = 100},
		 10},
		{"--pid 100 --tid 201",
		 {.has_pid = true, .pid = 100, .has_tid = true, .tid = 201},
		 0},
		{"--pid 999", {.has_pid = true, .pid = 999}, 0},
		{"--profile 1", {.profile_id = 1}, 22},
		{"--profile 2", {.profile_id = 2}, 1},
		{"--profile 2 --pid 300", {.profile_id = 2, .has_pid = true, .pid = 300}, 1},
		{"--profile 1 --pid 300", {.profile_id = 1, .has_pid = true, .pid = 300}, 0},
	};
	char what[160];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_store *s = hl_store__open(db_path, HL_STORE_READONLY);
		struct hl_profile *p = s ? hl_profile__load(s, &rows[i].filter) : NULL;
		char *text = render("folded", &rows[i].filter, 0);
		int lines = 0;

		snprintf(what, sizeof(what), "%s: load", rows[i].what);
		CHECK(p != NULL && text != NULL, what);
		if (p && text) {
			snprintf(what, sizeof(what), "%s: selected samples", rows[i].what);
			CHECK_INT(rows[i].samples, hl_profile__summary(p)->selected, what);
			snprintf(what, sizeof(what), "%s: SQL oracle agrees", rows[i].what);
			CHECK_INT(oracle(&rows[i].filter), rows[i].samples, what);
			snprintf(what, sizeof(what), "%s: folded counts sum to the samples",
				 rows[i].what);
			CHECK_INT(rows[i].samples, folded_sum(text, &lines), what);
			snprintf(what, sizeof(what), "%s: empty selection, empty output",
				 rows[i].what);
			CHECK(rows[i].samples || !*text, what);
		}
		free(text);
		hl_profile__free(p);
		hl_store__close(s);
	}
	{
		struct hl_store *s = hl_store__open(db_path, HL_STORE_READONLY);
		struct hl_report_filter f = {.profile_id = 3};

		errno = 0;
		CHECK(s && !hl_profile__load(s, &f) && errno == ENOENT,
		      "--profile 3: no such profile");
		hl_store__close(s);
	}
}

static void test_formats_table(void)
{
	static const char *const names[] = {"top", "tree", "lines", "folded", "svg", "html",
					    "speedscope", "pprof", "json"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK(hl_report_format_find(names[i]) != NULL, names[i]);
	CHECK(hl_report_format_find("nope") == NULL, "unknown format");
	CHECK(hl_report_format_find("") == NULL, "empty format name");
}

/* Rows SQLite accepts but that break the schema's invariants must not mislead a report. */
static void test_damaged_rows(void)
{
	static const struct {
		const char *what;
		const char *sql;
	} rows[] = {
		{"cycle in the stack tree",
		 "UPDATE stack SET parent_id = (SELECT max(id) FROM stack) WHERE parent_id = 0"},
		{"sample naming a missing stack",
		 "INSERT INTO sample VALUES (1, 1, 99999, 0, 1, 1)"},
		{"frame naming a missing function", "UPDATE frame SET function_id = 99999"},
		{"stack naming a missing parent",
		 "UPDATE stack SET parent_id = 99999 WHERE id = 2"},
	};
	char path[600], what[160];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_store *s;
		sqlite3 *db;

		snprintf(path, sizeof(path), "%s/damaged%zu.db", dir, i);
		if (build_store(path)) {
			CHECK(0, "build damaged store");
			continue;
		}
		sqlite3_open(path, &db);
		snprintf(what, sizeof(what), "%s: apply", rows[i].what);
		CHECK_INT(SQLITE_OK, sqlite3_exec(db, rows[i].sql, NULL, NULL, NULL), what);
		sqlite3_close(db);
		s = hl_store__open(path, HL_STORE_READONLY);
		errno = 0;
		snprintf(what, sizeof(what), "%s: refused as damaged", rows[i].what);
		CHECK(s && !hl_profile__load(s, NULL) && errno == EBADMSG, what);
		hl_store__close(s);
	}
}

/* Every function kind the store knows has a name in reports, and the page's color index. */
static void test_kind_names(void)
{
	static const struct {
		int kind;
		const char *name;
		int index;
	} rows[] = {
		{HL_FUNC_PYTHON, "py", 0},	 {HL_FUNC_NATIVE, "native", 1}, {HL_FUNC_EVAL, "eval", 2},
		{HL_FUNC_KERNEL, "kernel", 3}, {HL_FUNC_SYNTHETIC, "synth", 4}, {HL_FUNC_TASK, "task", 5},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_rfunction f = {.kind = rows[i].kind, .name = "[task: x]"};

		CHECK_STR(rows[i].name, hl_kind_name(&f), "hl_kind_name");
		CHECK_INT(rows[i].index, hl_kind_index(hl_kind_name(&f)), "hl_kind_index");
	}
	CHECK_STR("-", hl_kind_name(NULL), "hl_kind_name(NULL)");
	CHECK_INT(6, hl_kind_index("-"), "hl_kind_index of \"-\"");
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	int err;

	snprintf(dir, sizeof(dir), "%s/hl_test_report.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	if (!getenv("HOTLOOP_TEST_VERBOSE"))
		hl_log_set_level(HL_LOG_ERROR);
	snprintf(db_path, sizeof(db_path), "%s/report.db", dir);
	err = build_store(db_path);
	CHECK_INT(0, err, "build the synthetic store");
	test_kind_names();
	if (!err) {
		test_top_numbers();
		test_golden();
		test_filters();
		test_formats_table();
		test_damaged_rows();
	}
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
