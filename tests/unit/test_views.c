/* tests/unit/test_views.c — report/view.c and the filters of report/profile.c on a mixed-mode
 * store, and report/diff.c.
 *
 * The store holds stacks as a mixed-mode recording writes them: native frames, the eval-loop
 * frame (kind 5) under the Python frames it runs, C frames between Python frames (list.sort
 * calling a key function), kernel frames, a thread with no Python at all, a Python-mode
 * sample, a marker.  Checks:
 *   - the folded text of each view (mixed, --python-only, --native-only), written out by hand;
 *   - every filter selects exactly the samples an SQL query over the store names (state,
 *     thread name, time window relative and absolute, focus, ignore, and combinations);
 *   - both again on the same samples written as the daemon writes them (window_sample);
 *   - --from/--to parsing, with failure rows;
 *   - JSON and XML escaping of hostile names (control characters, invalid UTF-8);
 *   - diff: diff(A, A) is empty; a renamed and a moved function are removed/added; a
 *     function whose share grew is a regression and named first; markdown and json goldens.
 */
#define _GNU_SOURCE
#include "report/diff.h"
#include "report/escape.h"
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
#include <time.h>
#include <unistd.h>

static char dir[256];
static char db_path[512];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

enum { F_RUNMAIN, F_EVAL, F_MAIN, F_WORK, F_SORT, F_BYAGE, F_ZLIB, F_SYSCALL, F_THREAD,
       F_LOOP, F_FUTEX, F_TRUNC, F_PURE, NR_F };

static const struct {
	enum hl_function_kind kind;
	const char *name, *file;
	int line;
	const char *module;
} functions[NR_F] = {
	[F_RUNMAIN] = {HL_FUNC_NATIVE, "Py_RunMain", "Modules/main.c", 700, "/usr/bin/python3.12"},
	[F_EVAL] = {HL_FUNC_EVAL, "_PyEval_EvalFrameDefault", "Python/ceval.c", 0,
		    "/usr/lib/libpython3.12.so.1.0"},
	[F_MAIN] = {HL_FUNC_PYTHON, "main", "app.py", 1, NULL},
	[F_WORK] = {HL_FUNC_PYTHON, "work", "app.py", 10, NULL},
	[F_SORT] = {HL_FUNC_NATIVE, "list_sort", "Objects/listobject.c", 2400,
		    "/usr/lib/libpython3.12.so.1.0"},
	[F_BYAGE] = {HL_FUNC_PYTHON, "by_age", "app.py", 20, NULL},
	[F_ZLIB] = {HL_FUNC_NATIVE, "deflate", "", 0, "/usr/lib/x86_64-linux-gnu/libz.so.1"},
	[F_SYSCALL] = {HL_FUNC_KERNEL, "do_syscall_64", NULL, 0, NULL},
	[F_THREAD] = {HL_FUNC_NATIVE, "start_thread", NULL, 0, "/usr/lib/libc.so.6"},
	[F_LOOP] = {HL_FUNC_NATIVE, "worker_loop", "worker.c", 5, "/srv/libworker.so"},
	[F_FUTEX] = {HL_FUNC_KERNEL, "futex_wait", NULL, 0, NULL},
	[F_TRUNC] = {HL_FUNC_SYNTHETIC, "[truncated]", NULL, 0, NULL},
	[F_PURE] = {HL_FUNC_PYTHON, "pure", "app.py", 30, NULL},
};

#define MAX_DEPTH 8
struct stack_spec {
	int frames[MAX_DEPTH][2]; /* (function, line), outermost first, ends at -1 */
	int thread;               /* 0: tid 10 "MainThread", 1: tid 11 "worker-1" */
	int state;
	int samples;
};

#define END {-1, 0}
static const struct stack_spec stacks[] = {
	/* A */ {{{F_RUNMAIN, 710}, {F_EVAL, 0}, {F_MAIN, 2}, {F_WORK, 11}, END}, 0, 1, 5},
	/* B */ {{{F_RUNMAIN, 710}, {F_EVAL, 0}, {F_MAIN, 3}, {F_SORT, 2411}, {F_EVAL, 0},
		  {F_BYAGE, 21}, END}, 1, 2, 3},
	/* C */ {{{F_RUNMAIN, 710}, {F_EVAL, 0}, {F_MAIN, 2}, {F_WORK, 12}, {F_ZLIB, 0},
		  {F_SYSCALL, 0}, END}, 0, 2, 2},
	/* D */ {{{F_THREAD, 0}, {F_LOOP, 7}, {F_FUTEX, 0}, END}, 1, 0, 4},
	/* E */ {{{F_RUNMAIN, 710}, {F_EVAL, 0}, END}, 0, 1, 1},
	/* F */ {{{F_EVAL, 0}, {F_MAIN, 4}, {F_TRUNC, 0}, END}, 0, 1, 1},
	/* G */ {{{F_MAIN, 2}, {F_PURE, 31}, END}, 1, 1, 2},
	/* no frames */ {{END}, 1, 0, 1},
};

#define START_NS 1700000000000000000ULL

/* Writes the store as `hotloop record` does, or with @windowed as the daemon does: each
 * sample in a window of its own (window.time_us its time, a window_sample row). */
static int build_store(const char *path, const char *rename_work, const char *move_pure,
		       int extra_work, bool windowed)
{
	struct hl_profile_info info = {.command = "python3 app.py", .target_pids = "10",
				       .host = "test", .kernel = "6.1.0", .mode = "mixed",
				       .event = "cpu-clock", .frequency_hz = 100,
				       .start_ns = START_NS};
	struct hl_profile_totals totals = {.end_ns = START_NS + 10000000000ULL, .samples = 19};
	struct hl_process_info proc = {.pid = 10, .executable = "/usr/bin/python3.12"};
	int64_t profile, process, thread[2], fn[NR_F];
	struct hl_store *s;
	uint64_t t = 0;
	size_t i;
	int j, k;

	s = hl_store__open(path, HL_STORE_CREATE | HL_STORE_TRUNCATE);
	if (!s)
		return -errno;
	profile = hl_store__add_profile(s, &info);
	process = hl_store__add_process(s, profile, &proc);
	thread[0] = hl_store__add_thread(s, process, 10, "MainThread");
	thread[1] = hl_store__add_thread(s, process, 11, "worker-1");
	for (i = 0; i < NR_F; i++) {
		const char *name = functions[i].name, *file = functions[i].file;

		if (i == F_WORK && rename_work)
			name = rename_work;
		if (i == F_PURE && move_pure)
			file = move_pure;
		fn[i] = hl_store__intern_function(s, functions[i].kind, name, file,
						  functions[i].line, functions[i].module);
		if (fn[i] < 0)
			return (int)fn[i];
	}
	for (i = 0; i < sizeof(stacks) / sizeof(stacks[0]); i++) {
		int64_t stack = 0;
		int samples = stacks[i].samples + (i == 0 ? extra_work : 0);

		for (j = 0; j < MAX_DEPTH && stacks[i].frames[j][0] >= 0; j++) {
			int f = stacks[i].frames[j][0];
			int64_t frame = hl_store__intern_frame(s, fn[f], stacks[i].frames[j][1],
							       f == F_EVAL ? 0x100 : 0);

			stack = hl_store__intern_stack(s, stack, frame);
		}
		/* One sample per second of the recording: time_us = t s. */
		for (k = 0; k < samples; k++, t++) {
			struct hl_window_info w = {
				.profile_id = profile, .start_ns = START_NS + t * 1000000000,
				.end_ns = START_NS + (t + 1) * 1000000000, .samples = 1,
				.frequency_hz = 100, .time_us = t * 1000000};

			if (!windowed) {
				if (hl_store__add_sample(s, profile, thread[stacks[i].thread], stack,
							 t * 1000000, stacks[i].state, 1))
					return -EIO;
				continue;
			}
			if (hl_store__add_window_sample(s, thread[stacks[i].thread], stack,
							stacks[i].state, 1))
				return -EIO;
			w.first_rowid = w.last_rowid = hl_store__last_rowid(s);
			if (hl_store__add_window(s, &w) < 0)
				return -EIO;
		}
	}
	hl_store__finish_profile(s, profile, &totals);
	i = (size_t)hl_store__commit(s);
	hl_store__close(s);
	return (int)i;
}

static char *render_path(const char *path, const char *format,
			 const struct hl_report_filter *filter, uint64_t *selected)
{
	struct hl_report_options opts = {.rows = 0};
	const struct hl_report_format *fmt = hl_report_format_find(format);
	struct hl_store *s = hl_store__open(path, HL_STORE_READONLY);
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
	if (selected)
		*selected = hl_profile__summary(p)->selected;
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

static void test_views(void)
{
	static const struct {
		enum hl_view view;
		const char *folded;
	} rows[] = {
		{HL_VIEW_MIXED,
		 "Py_RunMain (main.c:710) [python3.12];_PyEval_EvalFrameDefault (ceval.c) "
		 "[libpython3.12.so.1.0] 1\n"
		 "Py_RunMain (main.c:710) [python3.12];main (app.py:2);work (app.py:11) 5\n"
		 "Py_RunMain (main.c:710) [python3.12];main (app.py:2);work (app.py:12);deflate "
		 "[libz.so.1];do_syscall_64_[k] 2\n"
		 "Py_RunMain (main.c:710) [python3.12];main (app.py:3);list_sort "
		 "(listobject.c:2411) [libpython3.12.so.1.0];by_age (app.py:21) 3\n"
		 "[no frames] 1\n"
		 "main (app.py:2);pure (app.py:31) 2\n"
		 "main (app.py:4);[truncated] 1\n"
		 "start_thread [libc.so.6];worker_loop (worker.c:7) [libworker.so];futex_wait_[k] "
		 "4\n"},
		{HL_VIEW_PYTHON,
		 "[native] 5\n"
		 "[no frames] 1\n"
		 "main (app.py:2);pure (app.py:31) 2\n"
		 "main (app.py:2);work (app.py:11) 5\n"
		 "main (app.py:2);work (app.py:12) 2\n"
		 "main (app.py:3);by_age (app.py:21) 3\n"
		 "main (app.py:4);[truncated] 1\n"},
		{HL_VIEW_NATIVE,
		 "Py_RunMain (main.c:710) [python3.12];_PyEval_EvalFrameDefault (ceval.c) "
		 "[libpython3.12.so.1.0] 6\n"
		 "Py_RunMain (main.c:710) [python3.12];_PyEval_EvalFrameDefault (ceval.c) "
		 "[libpython3.12.so.1.0];deflate [libz.so.1];do_syscall_64_[k] 2\n"
		 "Py_RunMain (main.c:710) [python3.12];_PyEval_EvalFrameDefault (ceval.c) "
		 "[libpython3.12.so.1.0];list_sort (listobject.c:2411) "
		 "[libpython3.12.so.1.0];_PyEval_EvalFrameDefault (ceval.c) "
		 "[libpython3.12.so.1.0] 3\n"
		 "[no frames] 1\n"
		 "[python] 2\n"
		 "_PyEval_EvalFrameDefault (ceval.c) [libpython3.12.so.1.0];[truncated] 1\n"
		 "start_thread [libc.so.6];worker_loop (worker.c:7) [libworker.so];futex_wait_[k] "
		 "4\n"},
	};
	char what[64];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_report_filter f = {.view = rows[i].view};
		uint64_t selected = 0;
		char *text = render_path(db_path, "folded", &f, &selected);

		snprintf(what, sizeof(what), "view %s: folded", hl_view_name(rows[i].view));
		CHECK_STR(rows[i].folded, text, what);
		snprintf(what, sizeof(what), "view %s: time kept", hl_view_name(rows[i].view));
		CHECK_INT(19, selected, what);
		free(text);
	}
}

/* SQL oracle: the weight of the samples a WHERE clause over the samples view (with the
 * stack's functions as fn) selects. */
static int64_t oracle(const char *where)
{
	char sql[1024];
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int64_t v = -1;

	snprintf(sql, sizeof(sql),
		 "SELECT coalesce(sum(weight), 0) FROM samples WHERE %s", where);
	sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			v = sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
	} else {
		fprintf(stderr, "oracle: %s: %s\n", sql, sqlite3_errmsg(db));
	}
	sqlite3_close(db);
	return v;
}

static void test_filters(void)
{
	static const struct {
		const char *what;
		struct hl_report_filter filter;
		const char *oracle;
		int64_t expected;
	} rows[] = {
		{"--gil", {.has_state = true, .state = HL_STATE_GIL}, "state = 1", 9},
		{"--no-gil", {.has_state = true, .state = HL_STATE_NO_GIL}, "state = 2", 5},
		{"--thread ^worker", {.thread_regex = "^worker"}, "thread LIKE 'worker%'", 10},
		{"--thread Main|work", {.thread_regex = "Main|work"}, "1", 19},
		{"--thread nomatch", {.thread_regex = "^nomatch$"}, "0", 0},
		{"--from 5 --to 10",
		 {.from = {HL_TIME_RELATIVE, 5000000}, .to = {HL_TIME_RELATIVE, 10000000}},
		 "time_us >= 5000000 AND time_us < 10000000", 5},
		{"--from 18",
		 {.from = {HL_TIME_RELATIVE, 18000000}}, "time_us >= 18000000", 1},
		{"absolute --from start+3s --to start+8s",
		 {.from = {HL_TIME_ABSOLUTE, (int64_t)(START_NS / 1000) + 3000000},
		  .to = {HL_TIME_ABSOLUTE, (int64_t)(START_NS / 1000) + 8000000}},
		 "time_us >= 3000000 AND time_us < 8000000", 5},
		{"--focus list_sort", {.focus = "list_sort"},
		 "stack_id IN (SELECT stack_id FROM stack_frames WHERE function = 'list_sort')", 3},
		{"--focus ^main", {.focus = "^main "},
		 "stack_id IN (SELECT stack_id FROM stack_frames WHERE function = 'main')", 13},
		{"--ignore deflate", {.ignore = "deflate"},
		 "stack_id NOT IN (SELECT stack_id FROM stack_frames WHERE function = 'deflate')",
		 17},
		{"--focus app.py --ignore pure", {.focus = "app\\.py", .ignore = "^pure"},
		 "stack_id IN (SELECT stack_id FROM stack_frames WHERE file = 'app.py')"
		 " AND stack_id NOT IN (SELECT stack_id FROM stack_frames WHERE function = 'pure')",
		 11},
		{"--focus main --python-only --gil",
		 {.focus = "^main ", .view = HL_VIEW_PYTHON, .has_state = true, .state = 1},
		 "state = 1 AND stack_id IN (SELECT stack_id FROM stack_frames WHERE function = "
		 "'main')",
		 8},
		{"--no-gil --thread Main", {.has_state = true, .state = 2, .thread_regex = "Main"},
		 "state = 2 AND thread = 'MainThread'", 2},
	};
	char what[160];
	size_t i;

	{
		/* --from/--to as times of day: on the day (local time) the profile started. */
		time_t start = (time_t)(START_NS / 1000000000ULL);
		struct tm tm;
		int64_t day_us;
		struct hl_report_filter f = {0};
		uint64_t selected = 0;
		char *text;

		localtime_r(&start, &tm);
		day_us = ((int64_t)tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) * 1000000;
		f.from = (struct hl_time_bound){HL_TIME_OF_DAY, day_us + 3000000};
		f.to = (struct hl_time_bound){HL_TIME_OF_DAY, day_us + 8000000};
		text = render_path(db_path, "folded", &f, &selected);
		CHECK_INT(5, selected, "time of day: start+3s to start+8s");
		free(text);
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t selected = 0;
		char *text = render_path(db_path, "folded", &rows[i].filter, &selected);
		int64_t sum = 0;
		const char *line;

		snprintf(what, sizeof(what), "%s: load", rows[i].what);
		CHECK(text != NULL, what);
		if (!text)
			continue;
		snprintf(what, sizeof(what), "%s: selected", rows[i].what);
		CHECK_INT(rows[i].expected, selected, what);
		snprintf(what, sizeof(what), "%s: SQL oracle", rows[i].what);
		CHECK_INT(rows[i].expected, oracle(rows[i].oracle), what);
		for (line = text; *line; line = strchr(line, '\n') + 1)
			sum += strtoll(strrchr(strndupa(line, strcspn(line, "\n")), ' ') + 1, NULL,
				       10);
		snprintf(what, sizeof(what), "%s: folded counts sum to the selection",
			 rows[i].what);
		CHECK_INT(rows[i].expected, sum, what);
		free(text);
	}
}

static void test_time_parse(void)
{
	static const struct {
		const char *text;
		int ok;
		enum hl_time_kind kind;
		int64_t value;
	} rows[] = {
		{"90", 1, HL_TIME_RELATIVE, 90000000},
		{"1.5", 1, HL_TIME_RELATIVE, 1500000},
		{"250ms", 1, HL_TIME_RELATIVE, 250000},
		{"2m", 1, HL_TIME_RELATIVE, 120000000},
		{"1h", 1, HL_TIME_RELATIVE, 3600000000LL},
		{"3s", 1, HL_TIME_RELATIVE, 3000000},
		{"@1700000000.5", 1, HL_TIME_ABSOLUTE, 1700000000500000LL},
		{"2023-11-14T22:13:20Z", 1, HL_TIME_ABSOLUTE, 1700000000000000LL},
		{"2023-11-14T23:13:20+01:00", 1, HL_TIME_ABSOLUTE, 1700000000000000LL},
		{"2023-11-14 22:13:20.25Z", 1, HL_TIME_ABSOLUTE, 1700000000250000LL},
		{"14:05", 1, HL_TIME_OF_DAY, (14 * 3600 + 5 * 60) * 1000000LL},
		{"14:05:30", 1, HL_TIME_OF_DAY, (14 * 3600 + 5 * 60 + 30) * 1000000LL},
		{"", 0, 0, 0},
		{"-5", 0, 0, 0},
		{"5x", 0, 0, 0},
		{"ms", 0, 0, 0},
		{"25:00", 0, 0, 0},
		{"2023-13-01T00:00:00Z", 0, 0, 0},
		{"2023-11-14T22:13", 1, HL_TIME_ABSOLUTE, 0}, /* local time: value not checked */
		{"2023-11-14", 0, 0, 0},
		{"2023-11-14T22:13:20+1", 0, 0, 0},
		{"@", 0, 0, 0},
	};
	size_t i;
	char what[96];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_time_bound t = {0};
		int rc = hl_time_bound_parse(rows[i].text, &t);

		snprintf(what, sizeof(what), "parse '%s'", rows[i].text);
		CHECK_INT(rows[i].ok ? 0 : -EINVAL, rc, what);
		if (!rows[i].ok || rc)
			continue;
		snprintf(what, sizeof(what), "parse '%s': kind", rows[i].text);
		CHECK_INT(rows[i].kind, t.kind, what);
		if (rows[i].value) {
			snprintf(what, sizeof(what), "parse '%s': value", rows[i].text);
			CHECK_INT(rows[i].value, t.value, what);
		}
	}
}

/* Names from targets in structured formats: valid UTF-8 out, whatever came in. */
static void test_escape(void)
{
	static const struct {
		const char *in, *json, *xml;
	} rows[] = {
	    {"plain", "\"plain\"", "plain"},
	    {"a\"b\\c", "\"a\\\"b\\\\c\"", "a&quot;b\\c"},
	    {"<script>&'", "\"\\u003cscript\\u003e\\u0026'\"", "&lt;script&gt;&amp;&apos;"},
	    {"line\nbreak\t\x7f", "\"line\\u000abreak\\u0009\\u007f\"", "line?break??"},
	    {"caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\"",
	     "caf\xc3\xa9 \xe2\x82\xac"},
	    /* invalid: a lone continuation byte, a truncated sequence, an overlong '/', a
	     * surrogate */
	    {"\x80x\xe2\x82", "\"\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd\"",
	     "\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"", "\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
	     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xe2\x80\xa8", "\"\\u2028\"", "\xe2\x80\xa8"},
	};
	size_t i;
	char what[64];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_buf b = {0};

		snprintf(what, sizeof(what), "json row %zu", i);
		CHECK(!hl_json_string(&b, rows[i].in) && !hl_buf__addc(&b, '\0'), what);
		CHECK_STR(rows[i].json, b.data, what);
		b.len = 0;
		snprintf(what, sizeof(what), "xml row %zu", i);
		CHECK(!hl_xml_text(&b, rows[i].in) && !hl_buf__addc(&b, '\0'), what);
		CHECK_STR(rows[i].xml, b.data, what);
		hl_buf__release(&b);
	}
}

/* ---- diff -------------------------------------------------------------------------------- */

static struct hl_profile *load(const char *path, struct hl_store **s)
{
	*s = hl_store__open(path, HL_STORE_READONLY);
	return *s ? hl_profile__load(*s, NULL) : NULL;
}

static char *diff_text(const struct hl_diff *d, const char *format)
{
	char *text = NULL;
	size_t len;
	FILE *out = open_memstream(&text, &len);

	hl_diff_format_find(format)->write(d, out);
	fclose(out);
	return text;
}

static const struct hl_diff_row *find(const struct hl_diff *d, const char *label)
{
	size_t i;

	for (i = 0; i < d->nr_rows; i++)
		if (!strcmp(d->keys[d->rows[i].key].label, label))
			return &d->rows[i];
	return NULL;
}

static void test_diff(void)
{
	char renamed[600], grown[600];
	struct hl_store *s[3] = {NULL, NULL, NULL};
	struct hl_profile *p[3] = {NULL, NULL, NULL};
	struct hl_diff_options o = {.threshold = 1, .significance = 0.05,
				    .names = {"base.db", "head.db"}};
	struct hl_diff d;
	const struct hl_diff_row *r;
	char *text;
	size_t i;

	snprintf(renamed, sizeof(renamed), "%s/renamed.db", dir);
	snprintf(grown, sizeof(grown), "%s/grown.db", dir);
	CHECK_INT(0, build_store(renamed, "work_renamed", "lib/pure.py", 0, false), "build renamed");
	CHECK_INT(0, build_store(grown, NULL, NULL, 60, false), "build grown");
	p[0] = load(db_path, &s[0]);
	p[1] = load(renamed, &s[1]);
	p[2] = load(grown, &s[2]);
	CHECK(p[0] && p[1] && p[2], "load the diff inputs");
	if (!p[0] || !p[1] || !p[2])
		goto out;

	/* diff(A, A): nothing changed, nothing is significant. */
	CHECK_INT(0, hl_diff__compute(&d, p[0], p[0], &o), "diff A A");
	CHECK_INT(0, d.regressions + d.improvements + d.added + d.removed, "diff A A: no change");
	for (i = 0; i < d.nr_rows; i++)
		CHECK(d.rows[i].p_self == 1 && d.rows[i].p_total == 1, "diff A A: p = 1");
	CHECK(!hl_diff__failed(&d), "diff A A: passes");
	hl_diff__release(&d);

	/* A renamed function and a function moved to another file: removed and added. */
	CHECK_INT(0, hl_diff__compute(&d, p[0], p[1], &o), "diff A renamed");
	r = find(&d, "work (app.py)");
	CHECK(r && r->status == HL_DIFF_REMOVED, "work: removed");
	r = find(&d, "work_renamed (app.py)");
	CHECK(r && r->status == HL_DIFF_ADDED, "work_renamed: added");
	r = find(&d, "pure (app.py)");
	CHECK(r && r->status == HL_DIFF_REMOVED, "pure (app.py): removed");
	r = find(&d, "pure (lib/pure.py)");
	CHECK(r && r->status == HL_DIFF_ADDED, "pure (lib/pure.py): added");
	CHECK_INT(2, d.added, "two added");
	CHECK_INT(2, d.removed, "two removed");
	CHECK(!hl_diff__failed(&d), "a rename alone does not fail the gate");
	text = diff_text(&d, "markdown");
	check_golden("diff-renamed.md", text);
	free(text);
	hl_diff__release(&d);

	/* work's self share grows from 5/19 to 65/79: a regression, named first. */
	CHECK_INT(0, hl_diff__compute(&d, p[0], p[2], &o), "diff A grown");
	CHECK(hl_diff__failed(&d), "grown: fails the gate");
	CHECK(d.nr_rows && d.rows[0].status == HL_DIFF_REGRESSION &&
	      !strcmp(d.keys[d.rows[0].key].label, "work (app.py)") && d.rows[0].by_self,
	      "grown: work is the first regression, on its self share");
	text = diff_text(&d, "markdown");
	check_golden("diff-grown.md", text);
	free(text);
	text = diff_text(&d, "json");
	check_golden("diff-grown.json", text);
	free(text);
	text = diff_text(&d, "text");
	check_golden("diff-grown.txt", text);
	free(text);
	hl_diff__release(&d);

	/* Bad options are refused. */
	o.significance = 0;
	CHECK_INT(-EINVAL, hl_diff__compute(&d, p[0], p[0], &o), "significance 0 refused");
	hl_diff__release(&d);
out:
	for (i = 0; i < 3; i++) {
		hl_profile__free(p[i]);
		hl_store__close(s[i]);
	}
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	int err;

	snprintf(dir, sizeof(dir), "%s/hl_test_views.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	if (!getenv("HOTLOOP_TEST_VERBOSE"))
		hl_log_set_level(HL_LOG_ERROR);
	snprintf(db_path, sizeof(db_path), "%s/views.db", dir);
	err = build_store(db_path, NULL, NULL, 0, false);
	CHECK_INT(0, err, "build the mixed-mode store");
	if (!err) {
		test_views();
		test_filters();
		test_time_parse();
		test_escape();
		test_diff();
	}
	/* The same samples as the daemon writes them: the same reports, the same filters. */
	fprintf(stderr, "-- the same store, in daemon windows\n");
	snprintf(db_path, sizeof(db_path), "%s/views-windowed.db", dir);
	err = build_store(db_path, NULL, NULL, 0, true);
	CHECK_INT(0, err, "build the mixed-mode store in windows");
	if (!err) {
		test_views();
		test_filters();
	}
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
