/* schema/store.h — the SQLite profile store: opening, migrating, writing samples.
 *
 * Owns the database file and its schema (schema/NNN_*.sql, applied in order by the migration
 * runner; PRAGMA user_version records the last one applied, PRAGMA application_id marks the
 * file as hotloop's).  Writers intern functions, frames and stacks through in-memory caches
 * so each distinct value is inserted once; samples are appended inside a transaction the
 * caller commits periodically (hl_store__commit), so a crash loses at most the open batch.
 * Not responsible for what the rows mean to a report: report/ reads them.
 *
 * Errors: int functions return 0 or a negative errno (-EIO for SQLite failures, -EBADMSG for
 * a foreign or damaged file, -EPROTO for a file from a newer hotloop); id-returning functions
 * return a positive id or a negative errno.  The SQLite message is logged once, with the file
 * name, where the error enters.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sqlite3;
struct hl_store;

enum hl_function_kind {
	HL_FUNC_PYTHON = 1,
	HL_FUNC_NATIVE = 2,
	HL_FUNC_KERNEL = 3,
	HL_FUNC_SYNTHETIC = 4, /* markers: "[truncated: ...]", "[no Python frames]", tasks */
	/* A native frame of CPython's bytecode interpreter (_PyEval_EvalFrameDefault and its
	 * split pieces).  Stored in place, with the Python frames it runs above it; the mixed
	 * view hides it (the Python frames replace it), the native view shows it. */
	HL_FUNC_EVAL = 5,
	/* An asyncio task boundary in a logical stack: name "[task: NAME]" (with the number of
	 * awaiting tasks when several wait for it).  The frames above it ran in that task. */
	HL_FUNC_TASK = 6,
};

enum hl_thread_state {
	HL_STATE_UNKNOWN = 0, /* not a Python thread, or the state could not be read */
	HL_STATE_GIL = 1,     /* Python thread holding the GIL */
	HL_STATE_NO_GIL = 2,  /* Python thread not holding it (released around C code, waiting) */
};

enum hl_store_flags {
	HL_STORE_READONLY = 1 << 0, /* open an existing store for reading */
	HL_STORE_CREATE = 1 << 1,   /* create the file if missing, migrate to the latest schema */
	HL_STORE_TRUNCATE = 1 << 2, /* with CREATE: replace an existing hotloop store (never a
				       foreign file: that is refused) */
	/* with CREATE: a new file gets PRAGMA auto_vacuum = INCREMENTAL, so pages freed by
	   deleting rows can be given back to the file system (the daemon's retention by size);
	   an existing file keeps its setting */
	HL_STORE_INCREMENTAL_VACUUM = 1 << 3,
};

/* Opens @path.  Refuses, with a message naming the file and the fix, a file that is not an
 * SQLite database, an SQLite database that is not hotloop's (application_id), a damaged one,
 * or one whose schema is newer than this binary.  Sets WAL mode for writers.  Returns NULL and
 * sets errno on failure. */
struct hl_store *hl_store__open(const char *path, unsigned flags);
/* Commits any open batch and closes.  Accepts NULL. */
void hl_store__close(struct hl_store *store);
/* The underlying connection, for report/ queries.  Valid until hl_store__close. */
struct sqlite3 *hl_store__db(struct hl_store *store);
/* The path the store was opened with.  Valid until hl_store__close. */
const char *hl_store__path(const struct hl_store *store);
/* Translates an SQLite result code @rc from a query on hl_store__db into a negative errno and
 * logs it once with the file name, @what was being done, and the fix (SQLITE_CORRUPT and
 * SQLITE_NOTADB become -EBADMSG with "the file is damaged, recover it with ...", SQLITE_FULL
 * -ENOSPC, SQLITE_BUSY -EBUSY, other failures -EIO).  For report/ and other readers. */
int hl_store__sql_error(struct hl_store *store, int rc, const char *what);
/* Logs that the file is damaged, with @detail ("stack 7 names frame 9, which does not
 * exist") and what to do about it; returns -EBADMSG.  For readers that find rows SQLite
 * accepts but that break the schema's invariants. */
int hl_store__damaged(struct hl_store *store, const char *detail);
/* Schema version of the open file (PRAGMA user_version). */
int hl_store__schema_version(struct hl_store *store);
/* Latest schema version this binary knows. */
int hl_store_latest_schema_version(void);

/* Commits the open batch (if any) and starts none; the next write opens a new one.
 *
 * Every write (profiles, processes, threads, interning, samples) joins the open batch.  When a
 * write or the commit fails (disk full, I/O error), SQLite may roll the whole batch back: the
 * rows written since the last successful commit are gone, ids returned for them are invalid,
 * and the interning caches are emptied so they never hand out such ids.  Commit right after
 * adding a profile, process or thread if their ids must survive a later failure.  Writing to a
 * store opened with HL_STORE_READONLY returns -EROFS. */
int hl_store__commit(struct hl_store *store);

struct hl_profile_info {
	const char *command; /* NULL: not stored */
	const char *target_pids;
	const char *host;
	const char *kernel;
	const char *mode;
	const char *event;
	uint32_t frequency_hz;
	uint64_t start_ns;
};
int64_t hl_store__add_profile(struct hl_store *store, const struct hl_profile_info *info);

struct hl_profile_totals {
	uint64_t end_ns;
	uint64_t samples;
	uint64_t lost;
	uint64_t truncated;
	bool has_exit_status;
	int exit_status;
};
int hl_store__finish_profile(struct hl_store *store, int64_t profile_id,
			     const struct hl_profile_totals *totals);
/* Adds @delta to the named counter of the profile (created at 0). */
int hl_store__add_counter(struct hl_store *store, int64_t profile_id, const char *name,
			  int64_t delta);

struct hl_process_info {
	uint32_t pid;
	uint32_t parent_pid; /* 0: none */
	const char *executable;
	const char *command;        /* NULL: not stored */
	const char *python_version; /* NULL: no interpreter */
	const char *python_status;  /* NULL: Python stacks available */
	uint64_t start_ns;
	const char *service;   /* systemd unit, else container, else executable; NULL: unknown */
	const char *container; /* container id from the cgroup path; NULL: none */
	const char *cgroup;    /* cgroup v2 path; NULL: unknown */
};
int64_t hl_store__add_process(struct hl_store *store, int64_t profile_id,
			      const struct hl_process_info *info);
int hl_store__update_process_python(struct hl_store *store, int64_t process_id,
				    const char *python_version, const char *python_status);
int hl_store__end_process(struct hl_store *store, int64_t process_id, uint64_t end_ns);

int64_t hl_store__add_thread(struct hl_store *store, int64_t process_id, uint32_t tid,
			     const char *name);
int hl_store__set_thread_name(struct hl_store *store, int64_t thread_id, const char *name);

/* Interning: returns the id of the existing row with these values, or inserts one.  Strings
 * may be NULL (stored as '').  Cached in memory: a repeated call costs one hash lookup. */
int64_t hl_store__intern_function(struct hl_store *store, enum hl_function_kind kind,
				  const char *name, const char *file, int32_t line,
				  const char *module);
int64_t hl_store__intern_frame(struct hl_store *store, int64_t function_id, int32_t line,
			       uint64_t address);
/* The same with @file, the source file of @line when it is not the function's (native frames;
 * NULL or '' otherwise), at most 512 bytes. */
int64_t hl_store__intern_frame_file(struct hl_store *store, int64_t function_id,
				    const char *file, int32_t line, uint64_t address);
/* The bytecode of a Python function (table function_code, docs/schema.md).  All buffers are
 * borrowed for the call; NULL with length 0 stores an empty value. */
struct hl_function_code {
	unsigned major, minor; /* the interpreter's version */
	const uint8_t *bytecode;
	size_t bytecode_len;
	bool cut;
	const char *names; /* NUL-terminated names, back to back */
	size_t names_len;
	const char *first_local;
	const uint8_t *linetable;
	size_t linetable_len;
	int32_t firstlineno;
};
/* Files @code for @function_id unless the function already has one (the first wins).
 * Returns 0 or a negative errno (-EROFS for a read-only store). */
int hl_store__add_function_code(struct hl_store *store, int64_t function_id,
				const struct hl_function_code *code);
/* What the objects of one argument of one function were (schema/005_arguments.sql). */
struct hl_argument_row {
	int64_t function_id;
	const char *name;
	uint64_t samples, runs;
	uint32_t distinct;
	bool more;
	uint64_t top_samples;
	const char *top_type;
};
/* Files (or replaces) @a for @profile_id.  Returns 0 or a negative errno. */
int hl_store__add_argument(struct hl_store *store, int64_t profile_id,
			   const struct hl_argument_row *a);
/* Bytes held by the writer's caches of function, frame and stack ids (they grow with the
 * distinct rows written).  hl_store__forget_caches() empties them: the ids are looked up in
 * the database again on demand (rows of the open batch included), so a long-running writer
 * can bound its memory. */
size_t hl_store__cache_bytes(const struct hl_store *store);
void hl_store__forget_caches(struct hl_store *store);
/* @parent_id 0 for an outermost frame. */
int64_t hl_store__intern_stack(struct hl_store *store, int64_t parent_id, int64_t frame_id);

/* Appends one sample to the open batch (opening one if needed).  @time_us counts from the
 * profile's start_ns; @stack_id 0 means no frames at all; @weight is how many samples this row
 * stands for (>= 1).  No allocation; about a microsecond.  -EINVAL for a weight of 0, an
 * unknown state or a negative stack id. */
int hl_store__add_sample(struct hl_store *store, int64_t profile_id, int64_t thread_id,
			 int64_t stack_id, uint64_t time_us, enum hl_thread_state state,
			 uint32_t weight);

/* Appends one row of a daemon window (schema/006_window_sample.sql): @weight samples of
 * (@thread_id, @stack_id, @state), whose profile and time are the window's.  Checks as
 * hl_store__add_sample. */
int hl_store__add_window_sample(struct hl_store *store, int64_t thread_id, int64_t stack_id,
				enum hl_thread_state state, uint32_t weight);

/* The rowid of the last row inserted on this connection (a sample, right after
 * hl_store__add_sample or hl_store__add_window_sample). */
int64_t hl_store__last_rowid(struct hl_store *store);

/* A daemon window (schema/003_daemon.sql): its rows are window_sample's rowids first..last. */
struct hl_window_info {
	int64_t profile_id;
	uint64_t start_ns, end_ns; /* wall clock */
	uint64_t samples, lost;
	int64_t first_rowid, last_rowid;
	uint32_t frequency_hz;
	uint64_t time_us; /* its start, µs since the profile's start_ns */
};
/* Adds the window row to the open batch.  Returns its id or a negative errno. */
int64_t hl_store__add_window(struct hl_store *store, const struct hl_window_info *w);
