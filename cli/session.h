/* cli/session.h — one recording: the collector, the targets, and the store it fills.
 *
 * Joins the pipeline's stages: records from the BPF sampler (collector/) are symbolized
 * (symbolize/) and written as deduplicated frames, stacks and samples (schema/).  Tracks the
 * target processes — interpreter detection with retries while a process starts, forks the
 * sampler followed, execs, exits — and their threads.  `hotloop record` drives one session
 * to the end; the daemon will drive a long-lived one.
 *
 * Not responsible for starting commands, signals or the terminal (cli/record.c).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct hl_session;

/* What a sample holds. */
enum hl_mode {
	HL_MODE_MIXED,	/* kernel, native and Python frames, stitched */
	HL_MODE_PYTHON, /* Python frames only: the cheapest */
	HL_MODE_NATIVE, /* kernel and native frames, no Python */
};

/* "mixed", "python", "native". */
const char *hl_mode_name(enum hl_mode mode);

struct hl_session_opts {
	enum hl_mode mode;
	uint32_t ustack_bytes; /* user stack copied per sample (mixed, native) */
	const char *db_path;
	const char *command;	 /* stored in the profile; NULL: not stored */
	const char *target_pids; /* as the user named them, for the profile */
	bool store_cmdlines;	 /* store targets' command lines (they may hold secrets) */
	uint32_t frequency_hz;
	uint32_t max_py_frames;
	bool follow_forks;
	bool async_stacks; /* asyncio samples as logical stacks (the task's awaiters above) */
	bool arguments;	   /* count argument identities (candidates' invariance evidence) */

	/* What the daemon (cli/daemon.c) asks for; zero for `hotloop record`. */
	bool append;	    /* add a profile to an existing store instead of replacing it */
	uint64_t window_ns; /* > 0: aggregate samples per window, see hl_session__flush_window */
	bool report_all_execs;		      /* call on_exec for every exec on the host ... */
	void (*on_exec)(void *ctx, pid_t pid); /* ... of a process that is not a target */
	void *hook_ctx;
	bool release_exited; /* free what an exited process held, at the next window */
	/* Native frames keep their function but not their source line and file: a C function
	 * sampled at many lines becomes one frame, so a window holds fewer distinct stacks. */
	bool no_native_lines;
	size_t ringbuf_bytes; /* 0: hotloop record's default (sized for 999 Hz) */
};

/* Opens (replacing) the database, loads the sampler.  NULL with errno set; the reason is
 * logged. */
struct hl_session *hl_session__new(const struct hl_session_opts *opts);

/* Starts sampling @pid (a thread group id).  @parent_pid is 0 unless hotloop followed a
 * fork.  @await_exec: @pid is a command hotloop forked and will exec: sample it from its
 * exec on (before, it runs hotloop's own code).  Returns 0 or -errno (-ESRCH: no such
 * process). */
int hl_session__add_target(struct hl_session *s, pid_t pid, pid_t parent_pid, bool await_exec);

/* Blocks for up to @timeout_ms, handling records, process exits and detection retries.
 * Returns 0, or -errno on a fatal error (e.g. the database cannot be written). */
int hl_session__run_once(struct hl_session *s, int timeout_ms);

/* Whether every target has exited. */
bool hl_session__all_exited(const struct hl_session *s);
/* Whether @pid has exited (false for a pid that is not a target). */
bool hl_session__has_exited(const struct hl_session *s, pid_t pid);

struct hl_session_summary {
	uint64_t samples;   /* stored */
	uint64_t lost;	    /* dropped by the kernel side */
	uint64_t truncated; /* stored with an incomplete stack */
	uint64_t unresolved; /* Python frames whose code object could not be read */
	uint64_t duration_ns;
	unsigned processes;
	unsigned python_processes;
	uint64_t self_cpu_ns; /* hotloop's own CPU time (user + system) */
	uint64_t bpf_ns;      /* the sampler's CPU time, when kernel.bpf_stats_enabled=1 */
	uint64_t bpf_runs;    /* ... and its number of runs, all CPUs and processes */
	uint64_t windows;     /* windows written */
	size_t cache_bytes;   /* memory held by the stack, frame and native caches */
};
void hl_session__summary(struct hl_session *s, struct hl_session_summary *out);

/* Windows (opts.window_ns > 0).  Samples are counted in memory per (thread, stack, thread
 * state) and written when a window closes: one sample row per distinct triple, its weight the
 * count and its time the window's start, plus a window row, in one transaction (schema/
 * 003_daemon.sql).  hl_session__run_once closes a window when the wall clock passes a multiple
 * of window_ns; this closes the open one now.  A window holds the samples processed during
 * it.  Returns 0, or -errno after which the session is unusable (it failed as a whole: the
 * window is not in the file). */
int hl_session__flush_window(struct hl_session *s);

/* The open store, for the daemon's retention between windows (commit before using it).
 * Valid until hl_session__finish. */
struct hl_store *hl_session__store(struct hl_session *s);
/* The profile row this session writes. */
int64_t hl_session__profile_id(const struct hl_session *s);

/* Changes the sampling frequency (the profile row keeps the one it started with; the
 * daemon logs changes).  Returns 0 or -errno. */
int hl_session__set_frequency(struct hl_session *s, uint32_t hz);

/* Whether @pid is a target that has not exited. */
bool hl_session__is_target(const struct hl_session *s, pid_t pid);

struct hl_target_info {
	pid_t pid;
	bool python;
	bool exited;
	const char *python_version; /* "" when not Python */
	const char *service;	    /* "" when unknown */
	uint64_t samples;
};
/* Calls @cb for each target (exited ones until they are released).  The strings are valid
 * during the call. */
void hl_session__for_each_target(const struct hl_session *s,
				 void (*cb)(const struct hl_target_info *info, void *ctx),
				 void *ctx);

/* A one-line description of the targets for the progress line, e.g. "pid 12 (Python 3.12.1)". */
void hl_session__describe(const struct hl_session *s, char *buf, size_t size);

/* Stops sampling, drains what the kernel still holds, writes the profile's totals and closes
 * the database.  @exit_status: the started command's (exit code, or 128 + signal), or -1.
 * Frees the session.  Returns 0 or -errno (the data committed so far stays readable). */
int hl_session__finish(struct hl_session *s, int exit_status);
