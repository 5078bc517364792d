/* tests/unit/test_store.c — schema/store.c: migrations, refusing foreign and damaged files,
 * interning, batches visible to readers (WAL).
 *
 * Every file lives in a fresh temporary directory removed at the end.  Refusal rows check
 * both the errno and that the refused file is byte-for-byte (and mtime) unchanged.
 */
#define _GNU_SOURCE
#include "schema/store.h"
#include "common/log.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define HL_APPLICATION_ID 0x686f746c

static char dir[256];

static char *paths[256];
static size_t nr_paths;

/* DIR/NAME, valid until the end of the test run. */
static const char *tmp_path(const char *name)
{
	char *p;

	if (nr_paths == sizeof(paths) / sizeof(paths[0]) || asprintf(&p, "%s/%s", dir, name) < 0) {
		fprintf(stderr, "tmp_path: out of slots or memory\n");
		exit(2);
	}
	return paths[nr_paths++] = p;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
}

/* Whole regular file, malloc'ed; *len set.  NULL if missing or not a regular file. */
static unsigned char *read_all(const char *path, size_t *len)
{
	unsigned char *data;
	struct stat st;
	long n;
	FILE *f;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return NULL;
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	n = (long)st.st_size;
	data = malloc((size_t)n + 1);
	if (fread(data, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	*len = (size_t)n;
	return data;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		fprintf(stderr, "query failed: %s: %s\n", sql, sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* A store with one profile, process, thread and @n samples over 10 stacks, committed. */
static void fill_store(struct hl_store *s, int n)
{
	struct hl_profile_info info = {.command = "python3 app.py", .target_pids = "100",
				       .host = "h", .kernel = "6.1", .mode = "python",
				       .event = "cpu-clock", .frequency_hz = 99, .start_ns = 1};
	struct hl_process_info proc = {.pid = 100, .executable = "/usr/bin/python3"};
	int64_t profile, process, thread, fn, frame, stack = 0;
	int i;

	profile = hl_store__add_profile(s, &info);
	process = hl_store__add_process(s, profile, &proc);
	thread = hl_store__add_thread(s, process, 100, "MainThread");
	for (i = 0; i < 10; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%d", i);
		fn = hl_store__intern_function(s, HL_FUNC_PYTHON, name, "app.py", i + 1, NULL);
		frame = hl_store__intern_frame(s, fn, i + 2, 0);
		stack = hl_store__intern_stack(s, stack, frame);
	}
	for (i = 0; i < n; i++)
		if (hl_store__add_sample(s, profile, thread, stack - (i % 10), (uint64_t)i * 10000,
					 HL_STATE_GIL, 1)) {
			CHECK(0, "fill_store: add_sample");
			break;
		}
	CHECK_INT(0, hl_store__commit(s), "fill_store: commit");
}

static void test_create_and_migrate(void)
{
	const char *path = tmp_path("new.db");
	static const char *const objects[] = {"profile", "profile_counter", "process",
					      "thread", "function", "frame",
					      "stack", "sample", "stack_frames",
					      "samples", "function_code", "window",
					      "window_sample", "all_samples"};
	struct hl_store *s;
	struct stat st;
	char sql[128];
	size_t i;

	s = hl_store__open(path, HL_STORE_CREATE);
	CHECK(s != NULL, "create: open");
	if (!s)
		return;
	CHECK(hl_store_latest_schema_version() >= 1, "latest schema version >= 1");
	CHECK_INT(hl_store_latest_schema_version(), hl_store__schema_version(s), "schema version");
	CHECK_INT(HL_APPLICATION_ID, query_int(hl_store__db(s), "PRAGMA application_id"),
		  "application_id");
	CHECK_INT(hl_store_latest_schema_version(),
		  query_int(hl_store__db(s), "PRAGMA user_version"), "user_version");
	for (i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_schema WHERE name = '%s'",
			 objects[i]);
		CHECK_INT(1, query_int(hl_store__db(s), sql), objects[i]);
	}
	CHECK_STR(path, hl_store__path(s), "path");
	hl_store__close(s);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "created with mode 0644");
	{
		sqlite3 *db;

		sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
		CHECK_INT(1, query_int(db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
			  "WAL mode persists in the file");
		sqlite3_close(db);
	}
}

/* A daemon file of schema 5 kept its window rows in `sample`; migration 6 moves them to
 * window_sample with their rowids, so the windows' ranges stay right, and leaves recorded
 * samples where they are.  The old file is made from a new one by moving the rows back. */
static void test_migrate_windows(void)
{
	const char *path = tmp_path("windows5.db");
	static const char *const to_v5[] = {
		"INSERT INTO sample (rowid, profile_id, thread_id, stack_id, time_us, state, weight)"
		" SELECT ws.rowid, w.profile_id, ws.thread_id, ws.stack_id, w.time_us, ws.state,"
		" ws.weight FROM window w JOIN window_sample ws"
		" ON ws.rowid BETWEEN w.first_rowid AND w.last_rowid",
		"DROP VIEW samples",
		"CREATE VIEW samples AS SELECT rowid AS id, weight FROM sample", /* as good */
		"DROP VIEW all_samples",
		"DROP TABLE window_sample",
		"PRAGMA user_version = 5",
	};
	struct hl_store *s = hl_store__open(path, HL_STORE_CREATE);
	struct hl_window_info w = {.profile_id = 1, .frequency_hz = 99};
	int64_t thread;
	sqlite3 *db;
	size_t i;
	int k;

	if (!s) {
		CHECK(0, "windows5: create");
		return;
	}
	fill_store(s, 3); /* recorded samples, rowids 1..3 */
	thread = query_int(hl_store__db(s), "SELECT id FROM thread");
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 3; i++)
			CHECK_INT(0, hl_store__add_window_sample(s, thread, 0, HL_STATE_GIL,
								 (uint32_t)(k * 10 + i + 1)),
				  "windows5: add a window row");
		w.last_rowid = hl_store__last_rowid(s);
		w.first_rowid = w.last_rowid - 2;
		w.start_ns = w.end_ns = (uint64_t)k * 60000000000ULL;
		w.time_us = (uint64_t)k * 60000000;
		w.samples = 3 * (uint64_t)(k * 10) + 6;
		CHECK(hl_store__add_window(s, &w) > 0, "windows5: add a window");
	}
	CHECK_INT(0, hl_store__commit(s), "windows5: commit");
	hl_store__close(s);

	sqlite3_open(path, &db);
	/* In one table, the window rows came after the recorded ones. */
	CHECK_INT(SQLITE_OK, sqlite3_exec(db, "UPDATE window_sample SET rowid = rowid + 100;"
				 "UPDATE window SET first_rowid = first_rowid + 100,"
				 " last_rowid = last_rowid + 100", NULL, NULL, NULL),
		  "windows5: rowids after the recorded samples'");
	for (i = 0; i < sizeof(to_v5) / sizeof(to_v5[0]); i++)
		CHECK_INT(SQLITE_OK, sqlite3_exec(db, to_v5[i], NULL, NULL, NULL), to_v5[i]);
	CHECK_INT(9, query_int(db, "SELECT count(*) FROM sample"), "windows5: schema 5 file");
	sqlite3_close(db);

	s = hl_store__open(path, 0);
	CHECK(s != NULL, "windows5: opened for writing, migrated");
	if (!s)
		return;
	db = hl_store__db(s);
	CHECK_INT(6, hl_store__schema_version(s), "windows5: schema 6");
	CHECK_INT(3, query_int(db, "SELECT count(*) FROM sample"), "recorded samples stay");
	CHECK_INT(6, query_int(db, "SELECT count(*) FROM window_sample"), "window rows moved");
	CHECK_INT(0, query_int(db, "SELECT count(*) FROM window w WHERE samples !="
				   " (SELECT sum(weight) FROM window_sample"
				   " WHERE rowid BETWEEN w.first_rowid AND w.last_rowid)"),
		  "every window's range holds its rows");
	CHECK_INT(3 + 6 + 36, query_int(db, "SELECT sum(weight) FROM samples"),
		  "the samples view has both");
	CHECK_INT(3 * 60000000, query_int(db, "SELECT sum(time_us) FROM all_samples"
					      " WHERE id < 0"),
		  "a window row's time is its window's");
	hl_store__close(s);
}

static void test_reopen_idempotent(void)
{
	const char *path = tmp_path("reopen.db");
	struct hl_store *s;
	int64_t objects;

	s = hl_store__open(path, HL_STORE_CREATE);
	fill_store(s, 5);
	objects = query_int(hl_store__db(s), "SELECT count(*) FROM sqlite_schema");
	hl_store__close(s);

	s = hl_store__open(path, HL_STORE_CREATE);
	CHECK(s != NULL, "reopen with CREATE");
	if (s) {
		CHECK_INT(objects, query_int(hl_store__db(s), "SELECT count(*) FROM sqlite_schema"),
			  "reopen: same schema objects");
		CHECK_INT(5, query_int(hl_store__db(s), "SELECT count(*) FROM sample"),
			  "reopen with CREATE keeps the samples");
	}
	hl_store__close(s);
	s = hl_store__open(path, 0);
	CHECK(s != NULL, "reopen for appending");
	hl_store__close(s);
	s = hl_store__open(path, HL_STORE_READONLY);
	CHECK(s != NULL, "reopen read-only");
	if (s) {
		CHECK_INT(hl_store_latest_schema_version(), hl_store__schema_version(s),
			  "read-only: schema version");
		CHECK_INT(-EROFS, hl_store__add_sample(s, 1, 1, 0, 0, HL_STATE_GIL, 1),
			  "read-only store refuses writes");
		CHECK_INT(-EROFS, hl_store__intern_function(s, HL_FUNC_PYTHON, "f", "", 0, ""),
			  "read-only store refuses interning");
	}
	hl_store__close(s);
	s = hl_store__open(path, HL_STORE_CREATE | HL_STORE_TRUNCATE);
	CHECK(s != NULL, "truncate a hotloop store");
	if (s)
		CHECK_INT(0, query_int(hl_store__db(s), "SELECT count(*) FROM sample"),
			  "truncate: samples gone");
	hl_store__close(s);
}

/* Each refusal: the file, the flags, the errno expected. */
struct refusal {
	const char *what;
	const char *file;
	unsigned flags;
	int err;
	bool unchanged; /* the file's bytes and mtime must survive the attempt */
	bool foreign;   /* not hotloop's: not even -wal/-journal files may appear beside it */
};

static bool has_sidecar(const char *path, const char *suffix)
{
	char name[600];

	snprintf(name, sizeof(name), "%s%s", path, suffix);
	return access(name, F_OK) == 0;
}

static void check_refusal(const struct refusal *r)
{
	unsigned char *before, *after;
	size_t len_before = 0, len_after = 0;
	struct stat st_before, st_after;
	struct hl_store *s;
	char what[256];

	before = read_all(r->file, &len_before);
	stat(r->file, &st_before);
	errno = 0;
	s = hl_store__open(r->file, r->flags);
	snprintf(what, sizeof(what), "%s (flags %#x): refused", r->what, r->flags);
	CHECK(s == NULL, what);
	snprintf(what, sizeof(what), "%s (flags %#x): errno", r->what, r->flags);
	CHECK_INT(r->err, errno, what);
	hl_store__close(s);
	if (r->unchanged) {
		after = read_all(r->file, &len_after);
		stat(r->file, &st_after);
		snprintf(what, sizeof(what), "%s (flags %#x): file unchanged", r->what, r->flags);
		CHECK(before && after && len_before == len_after &&
			      !memcmp(before, after, len_before) &&
			      st_before.st_mtim.tv_sec == st_after.st_mtim.tv_sec &&
			      st_before.st_mtim.tv_nsec == st_after.st_mtim.tv_nsec,
		      what);
		free(after);
	}
	if (r->foreign) {
		snprintf(what, sizeof(what), "%s (flags %#x): no -wal/-shm/-journal beside it",
			 r->what, r->flags);
		CHECK(!has_sidecar(r->file, "-wal") && !has_sidecar(r->file, "-shm") &&
			      !has_sidecar(r->file, "-journal"),
		      what);
	}
	free(before);
}

static void make_foreign(const char *path, uint32_t app_id)
{
	sqlite3 *db;
	char sql[128];

	sqlite3_open(path, &db);
	snprintf(sql, sizeof(sql),
		 "PRAGMA application_id = %u; CREATE TABLE t (x); INSERT INTO t VALUES (42);",
		 app_id);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fprintf(stderr, "make_foreign: %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
}

static void test_refusals(void)
{
	const unsigned all_flags[] = {HL_STORE_READONLY, 0, HL_STORE_CREATE,
				      HL_STORE_CREATE | HL_STORE_TRUNCATE};
	const char *text = tmp_path("text.db"), *random = tmp_path("random.db");
	const char *foreign = tmp_path("foreign.db"), *plain = tmp_path("plain.db");
	unsigned char bytes[8192];
	uint64_t x = 0x123456789abcdefULL;
	size_t i, j;

	write_file(text, "this is\na text file\n", 20);
	for (i = 0; i < sizeof(bytes); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		bytes[i] = (unsigned char)x;
	}
	write_file(random, bytes, sizeof(bytes));
	make_foreign(foreign, 0x12345678);
	make_foreign(plain, 0); /* an ordinary SQLite database: no application_id */

	for (j = 0; j < sizeof(all_flags) / sizeof(all_flags[0]); j++) {
		const struct refusal rows[] = {
			{"text file", text, all_flags[j], EBADMSG, true, true},
			{"random bytes", random, all_flags[j], EBADMSG, true, true},
			{"other application_id", foreign, all_flags[j], EBADMSG, true, true},
			{"SQLite without application_id", plain, all_flags[j], EBADMSG, true, true},
		};

		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			check_refusal(&rows[i]);
	}
	{
		const struct refusal rows[] = {
			{"missing file", tmp_path("missing.db"), HL_STORE_READONLY, ENOENT, false,
			 false},
			{"missing file", tmp_path("missing.db"), 0, ENOENT, false, false},
			{"read-only with create", tmp_path("x.db"),
			 HL_STORE_READONLY | HL_STORE_CREATE, EINVAL, false, false},
			{"truncate without create", tmp_path("x.db"), HL_STORE_TRUNCATE, EINVAL,
			 false, false},
			{"a directory", dir, HL_STORE_READONLY, EINVAL, false, false},
		};

		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			check_refusal(&rows[i]);
	}
}

static void test_empty_file(void)
{
	const char *path = tmp_path("empty.db");
	struct hl_store *s;

	write_file(path, "", 0);
	errno = 0;
	s = hl_store__open(path, HL_STORE_READONLY);
	CHECK(s == NULL && errno == EBADMSG, "0-byte file refused for reading");
	s = hl_store__open(path, HL_STORE_CREATE);
	CHECK(s != NULL, "0-byte file adopted with CREATE");
	if (s)
		CHECK_INT(hl_store_latest_schema_version(), hl_store__schema_version(s),
			  "adopted file migrated");
	hl_store__close(s);
}

static void test_newer_schema(void)
{
	const char *path = tmp_path("newer.db");
	const struct refusal rows[] = {
		{"newer schema", path, HL_STORE_READONLY, EPROTO, true, false},
		{"newer schema", path, 0, EPROTO, true, false},
		{"newer schema", path, HL_STORE_CREATE, EPROTO, true, false},
	};
	struct hl_store *s;
	char sql[64];
	sqlite3 *db;
	size_t i;

	s = hl_store__open(path, HL_STORE_CREATE);
	hl_store__close(s);
	sqlite3_open(path, &db);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 hl_store_latest_schema_version() + 1);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_refusal(&rows[i]);
	s = hl_store__open(path, HL_STORE_CREATE | HL_STORE_TRUNCATE);
	CHECK(s != NULL, "newer hotloop store may be replaced with TRUNCATE");
	if (s)
		CHECK_INT(hl_store_latest_schema_version(), hl_store__schema_version(s),
			  "replaced store has our version");
	hl_store__close(s);
}

/* Overwrites @count pages of the file from page @first (1-based) with a byte pattern. */
static void damage_pages(const char *path, int first, int count, size_t page_size)
{
	unsigned char *junk = malloc(page_size);
	int fd = open(path, O_WRONLY);
	int i;

	memset(junk, 0xa5, page_size);
	for (i = 0; i < count; i++)
		if (pwrite(fd, junk, page_size, (off_t)(first - 1 + i) * (off_t)page_size) < 0)
			perror("pwrite");
	close(fd);
	free(junk);
}

static void test_damaged(void)
{
	const char *path = tmp_path("damaged.db"), *cut = tmp_path("truncated.db");
	struct hl_store *s;
	struct stat st;
	int64_t pages, page_size;

	s = hl_store__open(path, HL_STORE_CREATE);
	fill_store(s, 20000);
	pages = query_int(hl_store__db(s), "PRAGMA page_count");
	page_size = query_int(hl_store__db(s), "PRAGMA page_size");
	hl_store__close(s);
	CHECK(pages > 20, "damaged: the store spans many pages");

	/* A copy cut in half. */
	{
		size_t len;
		unsigned char *data = read_all(path, &len);

		write_file(cut, data, len / 2);
		free(data);
	}
	damage_pages(path, (int)pages / 2, 3, (size_t)page_size);
	{
		const struct refusal rows[] = {
			{"pages overwritten", path, HL_STORE_READONLY, EBADMSG, true, false},
			{"pages overwritten", path, 0, EBADMSG, true, false},
			{"pages overwritten", path, HL_STORE_CREATE, EBADMSG, true, false},
			{"truncated", cut, HL_STORE_READONLY, EBADMSG, true, false},
			{"truncated", cut, 0, EBADMSG, true, false},
		};
		size_t i;

		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			check_refusal(&rows[i]);
	}
	/* A damaged file that is still recognisably ours may be replaced on request. */
	s = hl_store__open(path, HL_STORE_CREATE | HL_STORE_TRUNCATE);
	CHECK(s != NULL, "damaged hotloop store replaced with TRUNCATE");
	hl_store__close(s);
	CHECK(stat(path, &st) == 0 && st.st_size < pages * page_size, "replaced store is new");
}

static void test_symlink(void)
{
	const char *target = tmp_path("target.db"), *link = tmp_path("link.db");
	const char *dangling = tmp_path("dangling.db");
	struct hl_store *s;

	s = hl_store__open(target, HL_STORE_CREATE);
	hl_store__close(s);
	CHECK_INT(0, symlink(target, link), "symlink");
	CHECK_INT(0, symlink(tmp_path("nowhere.db"), dangling), "symlink");
	errno = 0;
	s = hl_store__open(link, HL_STORE_CREATE);
	CHECK(s == NULL && errno == ELOOP, "writer refuses a symbolic link");
	errno = 0;
	s = hl_store__open(dangling, HL_STORE_CREATE);
	CHECK(s == NULL && errno == ELOOP, "writer refuses a dangling symbolic link");
	CHECK(access(tmp_path("nowhere.db"), F_OK) != 0, "nothing created through the link");
	s = hl_store__open(link, HL_STORE_READONLY);
	CHECK(s != NULL, "reader follows a symbolic link");
	hl_store__close(s);
}

static void test_interning(void)
{
	const char *path = tmp_path("intern.db");
	int64_t f1, f2, fr1, fr2, s1, s2, n_functions;
	struct hl_store *s;
	struct {
		enum hl_function_kind kind;
		const char *name, *file;
		int32_t line;
		const char *module;
	} const distinct[] = {
		{HL_FUNC_PYTHON, "f", "a.py", 1, ""},
		{HL_FUNC_NATIVE, "f", "a.py", 1, ""},
		{HL_FUNC_PYTHON, "g", "a.py", 1, ""},
		{HL_FUNC_PYTHON, "f", "b.py", 1, ""},
		{HL_FUNC_PYTHON, "f", "a.py", 2, ""},
		{HL_FUNC_PYTHON, "f", "a.py", 1, "m"},
		{HL_FUNC_PYTHON, "fa", ".py", 1, ""}, /* same bytes as "f" + "a.py" run together */
		{HL_FUNC_PYTHON, "", "", 0, ""},
		{HL_FUNC_KERNEL, "f", "", 0, ""},
		{HL_FUNC_SYNTHETIC, "[truncated]", "", 0, ""},
	};
	int64_t ids[sizeof(distinct) / sizeof(distinct[0])];
	size_t i, j;

	s = hl_store__open(path, HL_STORE_CREATE);
	if (!s) {
		CHECK(0, "interning: open");
		return;
	}
	for (i = 0; i < sizeof(distinct) / sizeof(distinct[0]); i++) {
		ids[i] = hl_store__intern_function(s, distinct[i].kind, distinct[i].name,
						   distinct[i].file, distinct[i].line,
						   distinct[i].module);
		CHECK(ids[i] > 0, "intern function");
		CHECK_INT(ids[i], hl_store__intern_function(s, distinct[i].kind, distinct[i].name,
							    distinct[i].file, distinct[i].line,
							    distinct[i].module),
			  "same function values, same id");
		for (j = 0; j < i; j++)
			CHECK(ids[i] != ids[j], "different function values, different ids");
	}
	CHECK_INT(ids[7], hl_store__intern_function(s, HL_FUNC_PYTHON, NULL, NULL, 0, NULL),
		  "NULL strings intern as ''");
	CHECK_INT(-EINVAL, hl_store__intern_function(s, 9, "f", "", 0, ""), "bad kind");
	f1 = ids[0];
	f2 = ids[2];
	fr1 = hl_store__intern_frame(s, f1, 10, 0);
	CHECK_INT(fr1, hl_store__intern_frame(s, f1, 10, 0), "same frame, same id");
	fr2 = hl_store__intern_frame(s, f1, 11, 0);
	CHECK(fr2 > 0 && fr2 != fr1, "other line, other frame");
	CHECK(hl_store__intern_frame(s, f1, 10, 0xffffffff81000000ULL) != fr1,
	      "other address, other frame");
	CHECK_INT(hl_store__intern_frame(s, f1, 10, 0xffffffff81000000ULL),
		  hl_store__intern_frame(s, f1, 10, 0xffffffff81000000ULL),
		  "kernel-range address interns stably");
	CHECK(hl_store__intern_frame(s, f2, 10, 0) != fr1, "other function, other frame");
	s1 = hl_store__intern_stack(s, 0, fr1);
	s2 = hl_store__intern_stack(s, s1, fr2);
	CHECK(s1 > 0 && s2 > 0 && s1 != s2, "stacks");
	CHECK_INT(s2, hl_store__intern_stack(s, s1, fr2), "same stack, same id");
	CHECK(hl_store__intern_stack(s, 0, fr2) != s2, "other parent, other stack");
	CHECK_INT(-EINVAL, hl_store__intern_stack(s, 0, 0), "stack without frame");
	CHECK_INT(0, hl_store__commit(s), "commit");
	n_functions = query_int(hl_store__db(s), "SELECT count(*) FROM function");
	CHECK_INT(sizeof(distinct) / sizeof(distinct[0]), n_functions, "one row per function");
	hl_store__close(s);

	/* Reopened for appending: the (empty) caches must find the existing rows. */
	s = hl_store__open(path, HL_STORE_CREATE);
	if (!s) {
		CHECK(0, "interning: reopen");
		return;
	}
	for (i = 0; i < sizeof(distinct) / sizeof(distinct[0]); i++)
		CHECK_INT(ids[i], hl_store__intern_function(s, distinct[i].kind, distinct[i].name,
							    distinct[i].file, distinct[i].line,
							    distinct[i].module),
			  "reopened: same function, same id");
	CHECK_INT(fr1, hl_store__intern_frame(s, f1, 10, 0), "reopened: same frame");
	CHECK_INT(s2, hl_store__intern_stack(s, s1, fr2), "reopened: same stack");
	CHECK(hl_store__intern_function(s, HL_FUNC_PYTHON, "new", "a.py", 1, "") > ids[9],
	      "reopened: a new function gets a new id");
	CHECK_INT(0, hl_store__commit(s), "commit");
	CHECK_INT(n_functions + 1, query_int(hl_store__db(s), "SELECT count(*) FROM function"),
		  "reopened: no duplicate rows");
	CHECK_INT(0, hl_store__commit(s), "commit with nothing open");
	hl_store__close(s);
}

static void test_rows(void)
{
	const char *path = tmp_path("rows.db");
	struct hl_profile_info info = {.target_pids = "7", .host = "h", .kernel = "k",
				       .mode = "python", .event = "cpu-clock",
				       .frequency_hz = 99, .start_ns = 1000};
	struct hl_profile_totals totals = {.end_ns = 5000, .samples = 3, .lost = 1,
					   .truncated = 2, .has_exit_status = true,
					   .exit_status = 0};
	struct hl_process_info proc = {.pid = 7, .start_ns = 1000};
	int64_t profile, process, thread;
	struct hl_store *s;

	s = hl_store__open(path, HL_STORE_CREATE);
	if (!s) {
		CHECK(0, "rows: open");
		return;
	}
	profile = hl_store__add_profile(s, &info);
	CHECK(profile > 0, "add profile");
	process = hl_store__add_process(s, profile, &proc);
	CHECK(process > 0, "add process");
	thread = hl_store__add_thread(s, process, 8, NULL);
	CHECK(thread > 0, "add thread");
	CHECK_INT(0, hl_store__set_thread_name(s, thread, "worker"), "name thread");
	CHECK_INT(-ENOENT, hl_store__set_thread_name(s, thread + 100, "x"), "name missing thread");
	CHECK_INT(0, hl_store__update_process_python(s, process, "3.12.1", NULL), "python");
	CHECK_INT(0, hl_store__end_process(s, process, 4000), "end process");
	CHECK_INT(0, hl_store__add_counter(s, profile, "lost.ringbuf", 2), "counter");
	CHECK_INT(0, hl_store__add_counter(s, profile, "lost.ringbuf", 3), "counter again");
	CHECK_INT(0, hl_store__finish_profile(s, profile, &totals), "finish profile");
	CHECK_INT(-ENOENT, hl_store__finish_profile(s, profile + 1, &totals), "finish missing");
	CHECK_INT(-EINVAL, hl_store__add_sample(s, profile, thread, 0, 0, HL_STATE_GIL, 0),
		  "weight 0 refused");
	CHECK_INT(-EINVAL, hl_store__add_sample(s, profile, thread, 0, 0, 7, 1),
		  "unknown state refused");
	CHECK_INT(0, hl_store__commit(s), "commit");
	CHECK_INT(5, query_int(hl_store__db(s), "SELECT value FROM profile_counter"),
		  "counter adds up");
	CHECK_INT(5000, query_int(hl_store__db(s), "SELECT end_ns FROM profile"), "end_ns");
	CHECK_INT(1, query_int(hl_store__db(s),
			       "SELECT name = 'worker' AND tid = 8 FROM thread"),
		  "thread row");
	CHECK_INT(1, query_int(hl_store__db(s),
			       "SELECT python_version = '3.12.1' AND python_status IS NULL"
			       " AND end_ns = 4000 AND parent_pid IS NULL FROM process"),
		  "process row");
	CHECK_INT(1, query_int(hl_store__db(s),
			       "SELECT command IS NULL AND hotloop_version != '' FROM profile"),
		  "profile row");
	hl_store__close(s);
}

/* function_code (schema 4): stored as given, the first row of a function wins, empty
 * buffers are stored as empty blobs (NOT NULL). */
static void test_function_code(void)
{
	const char *path = tmp_path("code.db");
	static const uint8_t code[] = {0x97, 0x00, 0x53, 0x00};
	static const char names[] = "zip\0all";
	struct hl_function_code row = {.major = 3, .minor = 12, .bytecode = code,
				       .bytecode_len = sizeof(code), .names = names,
				       .names_len = sizeof(names), .first_local = "self",
				       .firstlineno = 7};
	struct hl_store *s = hl_store__open(path, HL_STORE_CREATE);
	int64_t f, g;

	CHECK(s != NULL, "code: open");
	if (!s)
		return;
	f = hl_store__intern_function(s, HL_FUNC_PYTHON, "f", "a.py", 7, NULL);
	g = hl_store__intern_function(s, HL_FUNC_PYTHON, "g", "a.py", 9, NULL);
	CHECK_INT(0, hl_store__add_function_code(s, f, &row), "add");
	row.minor = 13;
	CHECK_INT(0, hl_store__add_function_code(s, f, &row), "add again: ignored");
	CHECK_INT(0, hl_store__add_function_code(s, g, &(struct hl_function_code){.major = 3, .minor = 8}),
		  "add empty");
	CHECK_INT(0, hl_store__commit(s), "commit");
	CHECK_INT(12, query_int(hl_store__db(s), "SELECT python_minor FROM function_code"
						 " WHERE function_id = 1"), "first row wins");
	CHECK_INT(1, query_int(hl_store__db(s), "SELECT bytecode = x'97005300' AND "
						"names = CAST('zip' || char(0) || 'all' || char(0)"
						" AS BLOB) AND first_local = 'self' FROM function_code"
						" WHERE function_id = 1"), "stored as given");
	CHECK_INT(1, query_int(hl_store__db(s), "SELECT length(bytecode) = 0 AND typeof(names)"
						" = 'blob' FROM function_code WHERE function_id = 2"),
		  "empty buffers");
	hl_store__close(s);
	s = hl_store__open(path, HL_STORE_READONLY);
	CHECK(s != NULL, "code: reopen read-only");
	if (s) {
		CHECK_INT(-EROFS, hl_store__add_function_code(s, f, &row), "read-only");
		hl_store__close(s);
	}
}

static void test_wal_reader(void)
{
	const char *path = tmp_path("wal.db");
	struct hl_store *w, *r;
	int64_t thread;
	int i;

	w = hl_store__open(path, HL_STORE_CREATE);
	if (!w) {
		CHECK(0, "wal: open writer");
		return;
	}
	fill_store(w, 100);
	thread = query_int(hl_store__db(w), "SELECT id FROM thread");
	r = hl_store__open(path, HL_STORE_READONLY);
	CHECK(r != NULL, "reader opens while the writer is open");
	if (!r) {
		hl_store__close(w);
		return;
	}
	CHECK_INT(100, query_int(hl_store__db(r), "SELECT count(*) FROM sample"),
		  "reader sees committed samples");
	for (i = 0; i < 50; i++)
		hl_store__add_sample(w, 1, thread, 0, 5000000 + (uint64_t)i, HL_STATE_NO_GIL, 1);
	CHECK_INT(100, query_int(hl_store__db(r), "SELECT count(*) FROM sample"),
		  "reader does not see the open batch");
	CHECK_INT(0, hl_store__commit(w), "commit");
	CHECK_INT(150, query_int(hl_store__db(r), "SELECT count(*) FROM sample"),
		  "reader sees the new batch after commit");
	hl_store__close(r);
	hl_store__close(w);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	umask(022);
	snprintf(dir, sizeof(dir), "%s/hl_test_store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	if (!getenv("HOTLOOP_TEST_VERBOSE"))
		hl_log_set_level(HL_LOG_ERROR);

	test_create_and_migrate();
	test_migrate_windows();
	test_reopen_idempotent();
	test_refusals();
	test_empty_file();
	test_newer_schema();
	test_damaged();
	test_symlink();
	test_interning();
	test_rows();
	test_function_code();
	test_wal_reader();

	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	while (nr_paths)
		free(paths[--nr_paths]);
	return check_done();
}
