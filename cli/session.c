/* cli/session.c — see session.h.
 *
 * The per-sample path is: find the target and thread (hash lookups), look the raw stack up
 * in an exact cache keyed by its bytes (a hit is the common case and costs one hash of the
 * frames), and append one sample row.  Only a stack never seen before is symbolized: each
 * frame is resolved through a frame cache, then the code-object cache, reading the target's
 * memory once per code object.
 */
#define _GNU_SOURCE
#include "cli/session.h"
#include "collector/collector.h"
#include "collector/python.h"
#include "common/hashmap.h"
#include "common/intern.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/labels.h"
#include "report/bytecode.h"
#include "schema/store.h"
#include "symbolize/pycode.h"
#include "symbolize/addrspace.h"
#include "symbolize/arguments.h"
#include "symbolize/asyncio.h"
#include "symbolize/binary.h"
#include "symbolize/kallsyms.h"
#include "symbolize/native.h"
#include "symbolize/procmem.h"
#include "symbolize/unwind.h"
#include "symbolize/pyobject.h"
#include "symbolize/pythreads.h"
#include "version.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define COMMIT_INTERVAL_NS (500ULL * 1000000)
/* One drain of the ring buffer stops after this long, so a burst of costly records (the
 * first samples of a process, whose binaries and debug info are read then) does not hold
 * back interpreter detection, exits and commits. */
#define CONSUME_BUDGET_NS (20ULL * 1000000)
/* A process just started or exec'd may not have mapped libpython or initialized the
 * interpreter yet: keep looking for this long before settling on "not Python". */
#define STARTUP_WINDOW_NS (3ULL * 1000000000)
#define RECHECK_INTERVAL_NS (2ULL * 1000000000)
/* While a process's interpreter is being found, its records are held (copied, not yet
 * symbolized) so the first costly symbolizations do not delay detection; every sample taken
 * before detection lacks Python frames.  Held for this long at most after the image starts,
 * and this many bytes. */
#define HOLD_WINDOW_NS (500ULL * 1000000)
#define HOLD_MAX_BYTES (32u << 20)
/* Python thread names are re-read this often (threads may be renamed), and at most this
 * often when a new thread needs one. */
#define NAMES_REFRESH_NS (2ULL * 1000000000)
#define NAMES_RETRY_NS (100ULL * 1000000)
/* With windows (the daemon), the caches of stacks, frames and native addresses are emptied
 * when they grow past this: they are keyed by process image, so churning processes would
 * otherwise grow them forever.  They refill from the store on demand. */
#define WINDOW_CACHE_LIMIT (16u << 20)
/* A thread not sampled for this many windows is forgotten (a new sample re-adds it). */
#define THREAD_IDLE_WINDOWS 3
#define EPOLL_TAG_RING 0
#define EPOLL_TAG_PIDFD 1

struct target {
	pid_t pid;
	pid_t parent;
	int64_t process_id;
	int pidfd;
	int detect; /* enum hl_pydetect of the last attempt, -1 before the first */
	unsigned attempts;
	uint64_t next_try_ns;	 /* 0: no attempt scheduled */
	uint64_t image_start_ns; /* start or exec of the current image */
	uint32_t space;		 /* cache namespace of this image's addresses */
	bool exited;
	bool announced;
	uint64_t exited_ns; /* monotonic, when its exit was seen */
	uint64_t samples;   /* stored, over its whole life */
	char service[128];  /* daemon/labels.h */
	struct hl_python py;
	struct hl_pycode_cache *codes;
	struct hl_addrspace *as;	  /* its code, for native frames (mixed, native modes) */
	struct hl_native_proc *nproc; /* perf map, container root */
	void **held;		 /* records held while the interpreter is being found */
	size_t nr_held, cap_held, held_bytes;
	struct hl_map *pynames;	 /* pthread ident -> malloc'ed Python thread name */
	uint64_t names_read_ns; /* last read of threading._active, 0: never */
	bool names_wanted;	 /* a thread of this process waits for its name */
	struct hl_asyncio *aio;	 /* its asyncio tasks, for logical stacks */
	uint32_t aio_space;	 /* the image (space) aio was made for */
};

struct thread {
	int64_t id;
	int64_t process_id;
	pid_t pid;
	uint64_t tstate; /* its PyThreadState, 0 until a sample shows one */
	uint64_t ident;	 /* PyThreadState.thread_id: threading's ident */
	bool python_named;
	uint8_t name_tries; /* reads of threading._active that did not know it yet */
	char comm[16];
	char name[64]; /* as stored */
	uint64_t last_window; /* the window it was last sampled in */
};

/* A thread threading never lists (started from C, or with _thread) stops being looked for
 * after this many reads, taken NAMES_RETRY_NS apart. */
#define NAME_TRIES_MAX 10

/* Why a sample has no usable stack, or an incomplete one: one synthetic frame each. */
enum marker {
	MARK_NOT_PYTHON,
	MARK_NO_TSTATE,
	MARK_BAD_TSTATE,
	MARK_NO_FRAMES,
	MARK_TRUNC_DEEP,
	MARK_TRUNC_READ,
	MARK_TRUNC_CYCLE,
	MARK_UNKNOWN_CODE,
	MARK_NATIVE_STACK_END,
	MARK_NATIVE_NO_INFO,
	MARK_NATIVE_BAD,
	MARK_NATIVE_MAX,
	MARK_COUNT,
};

static const char *const marker_names[MARK_COUNT] = {
	[MARK_NOT_PYTHON] = "[no Python interpreter]",
	[MARK_NO_TSTATE] = "[no Python thread state]",
	[MARK_BAD_TSTATE] = "[unreadable Python thread state]",
	[MARK_NO_FRAMES] = "[no Python frames]",
	[MARK_TRUNC_DEEP] = "[truncated: deeper than the frame limit]",
	[MARK_TRUNC_READ] = "[truncated: unreadable frame]",
	[MARK_TRUNC_CYCLE] = "[truncated: frame cycle]",
	[MARK_UNKNOWN_CODE] = "[unreadable code object]",
	[MARK_NATIVE_STACK_END] = "[truncated: native stack deeper than the copy]",
	[MARK_NATIVE_NO_INFO] = "[truncated: native code without unwind info]",
	[MARK_NATIVE_BAD] = "[truncated: native unwinding went astray]",
	[MARK_NATIVE_MAX] = "[truncated: more native frames than kept]",
};

/* Counters kept in profile_counter, by name. */
enum counter {
	CNT_NOT_PYTHON,
	CNT_NO_TSTATE,
	CNT_BAD_TSTATE,
	CNT_TRUNC_DEEP,
	CNT_TRUNC_READ,
	CNT_TRUNC_CYCLE,
	CNT_UNRESOLVED,
	CNT_NO_BYTECODE,
	CNT_BYTECODE_READ,
	CNT_BYTECODE_NS,
	CNT_BAD_RECORD,
	CNT_NATIVE_STACK_END,
	CNT_NATIVE_NO_INFO,
	CNT_NATIVE_BAD,
	CNT_NATIVE_MAX,
	CNT_STITCH_LEFTOVER,
	CNT_STITCH_BARE_EVAL,
	CNT_ASYNC_ATTRIBUTED,
	CNT_ASYNC_NO_TASK,
	CNT_ASYNC_READ_FAILED,
	CNT_ASYNC_CYCLE,
	CNT_ASYNC_TOO_DEEP,
	CNT_ASYNC_COST_NS,
	CNT_ASYNC_SCANS,
	CNT_ASYNC_SCAN_NS,
	CNT_ASYNC_CACHED,
	CNT_ARGS_OBSERVED,
	CNT_ARGS_ATTR_READS,
	CNT_ARGS_ATTR_THROTTLED,
	CNT_ARGS_FUNCTIONS_OVER,
	CNT_COUNT,
};

static const char *const counter_names[CNT_COUNT] = {
	[CNT_NOT_PYTHON] = "samples.not_python",
	[CNT_NO_TSTATE] = "samples.no_thread_state",
	[CNT_BAD_TSTATE] = "samples.bad_thread_state",
	[CNT_TRUNC_DEEP] = "truncated.too_deep",
	[CNT_TRUNC_READ] = "truncated.read_failed",
	[CNT_TRUNC_CYCLE] = "truncated.cycle",
	[CNT_UNRESOLVED] = "frames.unresolved_code",
	/* Functions named whose bytecode could not be read (candidates' bytecode evidence). */
	[CNT_NO_BYTECODE] = "functions.bytecode_unreadable",
	/* ... and those read, with the time spent reading and storing them (record's cost). */
	[CNT_BYTECODE_READ] = "functions.bytecode_read",
	[CNT_BYTECODE_NS] = "functions.bytecode_cost_ns",
	[CNT_BAD_RECORD] = "records.malformed",
	[CNT_NATIVE_STACK_END] = "truncated.native_stack_end",
	[CNT_NATIVE_NO_INFO] = "truncated.native_no_unwind_info",
	[CNT_NATIVE_BAD] = "truncated.native_bad_step",
	[CNT_NATIVE_MAX] = "truncated.native_too_deep",
	/* Python frames whose eval-loop frame the native stack did not show (it was cut), and
	 * eval-loop frames without Python frames to show above them. */
	[CNT_STITCH_LEFTOVER] = "stitch.python_without_eval_frame",
	[CNT_STITCH_BARE_EVAL] = "stitch.eval_frame_without_python",
	/* Samples that ran in an asyncio task: shown as their logical stack, or kept physical
	 * for the reason named.  The cost: time spent finding tasks, and registry scans. */
	[CNT_ASYNC_ATTRIBUTED] = "async.attributed",
	[CNT_ASYNC_NO_TASK] = "async.unattributed_no_task",
	[CNT_ASYNC_READ_FAILED] = "async.unattributed_read_failed",
	[CNT_ASYNC_CYCLE] = "async.unattributed_cycle",
	[CNT_ASYNC_TOO_DEEP] = "async.unattributed_too_deep",
	[CNT_ASYNC_COST_NS] = "async.cost_ns",
	[CNT_ASYNC_SCANS] = "async.scans",
	[CNT_ASYNC_SCAN_NS] = "async.scan_ns",
	[CNT_ASYNC_CACHED] = "async.cached",
	/* Argument identities (candidates' invariance evidence): values counted, attributes of
	 * self read from targets and not read (rate limit), and values dropped because too many
	 * functions were followed. */
	[CNT_ARGS_OBSERVED] = "arguments.observed",
	[CNT_ARGS_ATTR_READS] = "arguments.attr_reads",
	[CNT_ARGS_ATTR_THROTTLED] = "arguments.attr_throttled",
	[CNT_ARGS_FUNCTIONS_OVER] = "arguments.functions_over",
};

/* The native frames one address stands for: the real function's frame id first, then the
 * functions inlined at that address, outer to inner (ids in native_ids). */
struct native_entry {
	uint32_t first;
	uint8_t count;
	bool eval; /* the real function is CPython's eval loop */
};

#define HL_NATIVE_MAX_PCS 256 /* native frames unwound per sample */

/* One sample row of the open window: a distinct (thread, stack, state) and its count. */
struct window_key {
	int64_t thread_id;
	int64_t stack_id;
	int64_t state;
};

struct window_row {
	struct window_key key;
	uint64_t count;
};

struct hl_session {
	struct hl_session_opts opts;
	struct hl_store *store;
	struct hl_collector *collector;
	int64_t profile_id;
	int epfd;
	uint64_t start_mono_ns;
	uint64_t start_wall_ns;
	uint64_t last_commit_ns;
	uint64_t last_names_ns;
	bool names_wanted; /* some thread waits for its Python name */
	uint64_t consume_deadline_ns;
	bool backlog; /* the last drain stopped at its budget: records are waiting */
	uint64_t self_cpu_start_ns;

	struct hl_map *targets; /* pid -> struct target * */
	struct hl_map *threads; /* tid -> struct thread * */
	struct hl_intern *stacks; /* raw stack bytes -> stack id */
	struct hl_intern *frames; /* (space, code, fingerprint, lasti) -> frame id */
	uint32_t next_space;
	int64_t marker_frame[MARK_COUNT];

	/* Native and kernel frames (mixed and native modes). */
	struct hl_binary_cache *binaries;
	struct hl_kallsyms *kallsyms;
	bool kallsyms_failed;
	struct hl_intern *natives;	      /* (space, pc, exact) -> index into native_entries */
	struct native_entry *native_entries;
	size_t nr_native_entries, cap_native_entries;
	int64_t *native_ids; /* the frame ids the entries point into */
	size_t nr_native_ids, cap_native_ids;
	struct hl_map *kernel_frames; /* kernel address -> frame id */
	uint64_t pcs[HL_NATIVE_MAX_PCS];
	uint8_t pc_flags[HL_NATIVE_MAX_PCS];
	int64_t *chain; /* a stack being built, outermost first */
	size_t chain_cap;

	uint64_t samples;
	uint64_t truncated;
	uint64_t counters[CNT_COUNT];
	uint64_t counters_stored[CNT_COUNT]; /* already added to profile_counter */

	/* The open window (opts.window_ns > 0). */
	struct hl_intern *window_index; /* struct window_key -> index into window_rows */
	struct window_row *window_rows;
	size_t nr_window_rows, cap_window_rows;
	uint64_t window_start_wall, window_end_wall, window_start_mono;
	uint64_t window_lost_base; /* ring-buffer drops before the window */
	uint64_t window_seq;	   /* windows opened: 1 for the first */
	uint64_t windows;	   /* written */
	uint32_t frequency_hz;	   /* now (hl_session__set_frequency) */
	int error; /* first fatal error, e.g. the disk is full */

	/* The logical part of the sample being stored (asyncio), see async_prepare(). */
	struct hl_async_stack *astack; /* NULL: async stacks off */
	bool async_on;		       /* this sample's stack is rewritten */
	bool async_cacheable;	       /* every frame id below is a real frame */
	int async_boundary;	       /* its Python frame index where the running task starts */
	int64_t *async_ids;	       /* pushed before that frame: tasks and suspended frames */
	size_t async_n, async_cap;
	unsigned async_n_inner;
	int async_inner_index[HL_ASYNC_MAX_INNER]; /* frames of eager tasks inside it ... */
	int64_t async_inner_id[HL_ASYNC_MAX_INNER]; /* ... get a task marker before them */

	struct hl_arguments *arguments; /* argument identities; NULL: not collected */
};

static struct target *target_of(const struct hl_session *s, pid_t pid)
{
	uint64_t v;

	return hl_map__get(s->targets, (uint64_t)pid, &v) ? (struct target *)(uintptr_t)v : NULL;
}

static void fail(struct hl_session *s, int err, const char *what)
{
	if (!s->error) {
		hl_err("%s: %s; stopping (what was recorded so far stays in %s)", what,
		       strerror(-err), s->opts.db_path);
		s->error = err;
	}
}

static int64_t marker_frame(struct hl_session *s, enum marker m)
{
	int64_t fn;

	if (s->marker_frame[m] > 0)
		return s->marker_frame[m];
	fn = hl_store__intern_function(s->store, HL_FUNC_SYNTHETIC, marker_names[m], NULL, 0,
				       NULL);
	if (fn < 0)
		return fn;
	s->marker_frame[m] = hl_store__intern_frame(s->store, fn, 0, 0);
	return s->marker_frame[m];
}

/* ---- targets ------------------------------------------------------------------------------ */

static void read_proc_text(pid_t pid, const char *file, char *buf, size_t size, bool cmdline)
{
	char path[64], *text = NULL;
	size_t len = 0, i;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (!strcmp(file, "exe")) {
		ssize_t n = readlink(path, buf, size - 1);

		buf[n > 0 ? n : 0] = '\0';
		return;
	}
	if (hl_read_file(path, 1 << 20, &text, &len))
		return;
	if (cmdline) /* arguments are NUL-separated */
		for (i = 0; i + 1 < len; i++)
			if (!text[i])
				text[i] = ' ';
	hl_strlcpy(buf, text, size);
	free(text);
}

/* While a process starts, its interpreter appears (libpython mapped) and initializes within
 * tens of milliseconds, and every sample before that has no Python frames: look often then,
 * and back off later. */
static uint64_t retry_delay_ns(const struct target *t, uint64_t now)
{
	uint64_t age = now - t->image_start_ns;

	if (t->detect == HL_PYDETECT_NOT_READY)
		return age < STARTUP_WINDOW_NS ? 1000000ULL : 100000000ULL;
	if (age < 500000000ULL)
		return 2000000ULL;
	return age < STARTUP_WINDOW_NS ? 50000000ULL : RECHECK_INTERVAL_NS;
}

static int64_t add_process_row(struct hl_session *s, struct target *t)
{
	char exe[PATH_MAX], cmd[4096], cgroup[4096];
	struct hl_labels labels;
	struct hl_process_info info = {
		.pid = (uint32_t)t->pid,
		.parent_pid = (uint32_t)t->parent,
		.executable = exe,
		.command = s->opts.store_cmdlines ? cmd : NULL,
		.start_ns = hl_now_realtime_ns(),
	};

	read_proc_text(t->pid, "exe", exe, sizeof(exe), false);
	read_proc_text(t->pid, "cmdline", cmd, sizeof(cmd), true);
	read_proc_text(t->pid, "cgroup", cgroup, sizeof(cgroup), false);
	hl_labels_parse(cgroup, strlen(cgroup), exe, &labels);
	info.service = labels.service[0] ? labels.service : NULL;
	info.container = labels.container[0] ? labels.container : NULL;
	info.cgroup = labels.cgroup[0] ? labels.cgroup : NULL;
	hl_strlcpy(t->service, labels.service, sizeof(t->service));
	return hl_store__add_process(s->store, s->profile_id, &info);
}

static void clear_names(struct target *t)
{
	uint64_t key, v;
	size_t cursor = 0;

	if (!t->pynames)
		return;
	while (hl_map__next(t->pynames, &cursor, &key, &v))
		free((void *)(uintptr_t)v);
	hl_map__clear(t->pynames);
}

static int remember_name(uint64_t ident, const char *name, void *arg)
{
	struct target *t = arg;
	char *copy = strdup(name);

	if (!copy || hl_map__set(t->pynames, ident, (uint64_t)(uintptr_t)copy))
		free(copy);
	return 0;
}

/* Re-reads threading._active: ident -> name. */
static void read_names(struct target *t, uint64_t now)
{
	t->names_read_ns = now;
	if (t->detect != HL_PYDETECT_OK || t->exited)
		return;
	if (!t->pynames) {
		t->pynames = hl_map__new(16);
		if (!t->pynames)
			return;
	}
	clear_names(t);
	hl_python_thread_names(&t->py, remember_name, t);
}

static void store_thread_name(struct hl_session *s, struct thread *th, const char *name)
{
	if (!strncmp(th->name, name, sizeof(th->name) - 1))
		return;
	hl_strlcpy(th->name, name, sizeof(th->name));
	hl_store__set_thread_name(s->store, th->id, name);
}

/* Gives @th its Python name when threading knows it.  Returns true when it still waits for
 * one. */
static bool name_thread(struct hl_session *s, struct target *t, struct thread *th)
{
	uint64_t v;

	if (!th->ident || t->detect != HL_PYDETECT_OK || t->exited)
		return false;
	if (t->pynames && hl_map__get(t->pynames, th->ident, &v)) {
		th->python_named = true;
		store_thread_name(s, th, (const char *)(uintptr_t)v);
		return false;
	}
	return !th->python_named && th->name_tries < NAME_TRIES_MAX;
}

/* Re-reads threading._active where names are stale, or where a thread still waits for its
 * name (threads appear in _active only once they run), and applies what it finds: names
 * also change (Thread.name = ...). */
static void refresh_names(struct hl_session *s, uint64_t now)
{
	size_t cursor = 0;
	uint64_t key, v;
	bool stale = now - s->last_names_ns >= NAMES_REFRESH_NS;

	while (hl_map__next(s->targets, &cursor, &key, &v)) {
		struct target *t = (struct target *)(uintptr_t)v;

		if (t->detect == HL_PYDETECT_OK && !t->exited &&
		    (stale || (t->names_wanted && now - t->names_read_ns >= NAMES_RETRY_NS)))
			read_names(t, now);
		t->names_wanted = false;
	}
	s->names_wanted = false;
	cursor = 0;
	while (hl_map__next(s->threads, &cursor, &key, &v)) {
		struct thread *th = (struct thread *)(uintptr_t)v;
		struct target *t = target_of(s, th->pid);

		if (!th->ident || !t || t->process_id != th->process_id)
			continue;
		if (name_thread(s, t, th)) {
			th->name_tries++;
			t->names_wanted = s->names_wanted = true;
		}
	}
	if (stale)
		s->last_names_ns = now;
}

static void on_sample(struct hl_session *s, const struct hl_sample *smp, size_t size);

/* Whether @t's records should wait for its interpreter to be found. */
static bool should_hold(const struct hl_session *s, const struct target *t, uint64_t now)
{
	return s->opts.mode != HL_MODE_PYTHON && !t->exited && t->next_try_ns &&
	       (t->detect == HL_PYDETECT_NOT_READY || t->detect == HL_PYDETECT_NOT_PYTHON ||
		t->detect < 0) &&
	       now - t->image_start_ns < HOLD_WINDOW_NS && t->held_bytes < HOLD_MAX_BYTES;
}

static bool hold_record(struct target *t, const void *data, size_t size)
{
	size_t *copy;

	if (t->nr_held == t->cap_held) {
		size_t ncap = t->cap_held ? t->cap_held * 2 : 64;
		void **bigger = realloc(t->held, ncap * sizeof(*bigger));

		if (!bigger)
			return false;
		t->held = bigger;
		t->cap_held = ncap;
	}
	copy = malloc(sizeof(size_t) + size);
	if (!copy)
		return false;
	*copy = size;
	memcpy(copy + 1, data, size);
	t->held[t->nr_held++] = copy;
	t->held_bytes += size;
	return true;
}

/* Processes @t's held records, in order. */
static void flush_held(struct hl_session *s, struct target *t)
{
	size_t i, n = t->nr_held;
	void **held = t->held;

	if (!n)
		return;
	t->held = NULL;
	t->nr_held = t->cap_held = t->held_bytes = 0;
	for (i = 0; i < n; i++) {
		size_t *rec = held[i];

		if (!s->error)
			on_sample(s, (const struct hl_sample *)(rec + 1), *rec);
		free(rec);
	}
	free(held);
}

static void detect_once(struct hl_session *s, struct target *t, uint64_t now)
{
	/* An interpreter already found only has to finish initializing: a cheap check. */
	int ret = t->detect == HL_PYDETECT_NOT_READY && t->py.runtime
			  ? hl_python_ready(&t->py)
			  : hl_python_detect(t->pid, &t->py);

	t->attempts++;
	t->detect = ret;
	t->next_try_ns = 0;
	hl_debug("pid %d: interpreter detection #%u at %.1f ms: %d", (int)t->pid, t->attempts,
		 (now - s->start_mono_ns) / 1e6, ret);
	if (ret == -ESRCH)
		return; /* gone: its pidfd reports the exit */
	if (ret < 0) {
		if (!t->announced)
			hl_warn("pid %d: cannot read its memory (%s); sampling it without Python "
				"frames", (int)t->pid, strerror(-ret));
		t->announced = true;
		t->next_try_ns = now + RECHECK_INTERVAL_NS;
		return;
	}
	switch (ret) {
	case HL_PYDETECT_OK:
		hl_pycode_cache__free(t->codes);
		t->codes = hl_pycode_cache__new(t->pid, &t->py.ver, t->py.code_type);
		if (!t->codes) {
			fail(s, -ENOMEM, "out of memory");
			return;
		}
		t->space = ++s->next_space;
		if (hl_collector__set_target(s->collector, t->pid, &t->py.bpf))
			hl_warn("pid %d: cannot hand its interpreter to the sampler", (int)t->pid);
		hl_store__update_process_python(s->store, t->process_id, t->py.version, NULL);
		hl_info("pid %d: Python %s (%s)", (int)t->pid, t->py.version, t->py.binary);
		return;
	case HL_PYDETECT_NOT_READY:
		t->next_try_ns = now + retry_delay_ns(t, now);
		return;
	case HL_PYDETECT_NOT_PYTHON:
		/* The dynamic loader may not have mapped libpython yet. */
		t->next_try_ns = now + retry_delay_ns(t, now);
		hl_store__update_process_python(s->store, t->process_id, NULL, t->py.status);
		return;
	case HL_PYDETECT_UNSUPPORTED:
		if (!t->announced)
			hl_warn("pid %d: %s; sampling it without Python frames", (int)t->pid,
				t->py.status);
		t->announced = true;
		hl_store__update_process_python(s->store, t->process_id,
						t->py.version[0] ? t->py.version : NULL,
						t->py.status);
		return;
	}
}

/* Looks for @t's interpreter; once found (or given up on for the startup), the records held
 * meanwhile are processed. */
static void try_detect(struct hl_session *s, struct target *t, uint64_t now)
{
	detect_once(s, t, now);
	if (t->nr_held && !should_hold(s, t, now))
		flush_held(s, t);
}

static int watch_exit(struct hl_session *s, struct target *t)
{
	struct epoll_event ev = {.events = EPOLLIN};

	t->pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (t->pidfd < 0)
		return -errno;
	ev.data.u64 = (uint64_t)EPOLL_TAG_PIDFD << 32 | (uint32_t)t->pid;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, t->pidfd, &ev))
		return -errno;
	return 0;
}

static struct target *new_target(struct hl_session *s, pid_t pid, pid_t parent, int *err)
{
	struct target *t = calloc(1, sizeof(*t));
	uint64_t now = hl_now_monotonic_ns();

	if (!t) {
		*err = -ENOMEM;
		return NULL;
	}
	t->pid = pid;
	t->parent = parent;
	t->pidfd = -1;
	t->detect = -1;
	t->image_start_ns = now;
	t->space = ++s->next_space;
	*err = hl_map__set(s->targets, (uint64_t)pid, (uint64_t)(uintptr_t)t);
	if (*err) {
		free(t);
		return NULL;
	}
	t->process_id = add_process_row(s, t);
	if (t->process_id < 0) {
		*err = (int)t->process_id;
		return NULL;
	}
	*err = watch_exit(s, t);
	if (*err == -ESRCH) {
		t->exited = true;
		*err = 0;
	}
	return t;
}

static void release_marked(struct hl_session *s);

/* Forgets exited target @t at once (its pid now names another process). */
static void release_now(struct hl_session *s, struct target *t)
{
	t->exited_ns = UINT64_MAX;
	release_marked(s);
}

int hl_session__add_target(struct hl_session *s, pid_t pid, pid_t parent_pid, bool await_exec)
{
	struct hl_proc none = {.flags = await_exec ? HL_PROC_AWAIT_EXEC : 0};
	struct target *t = target_of(s, pid);
	int err;

	if (t && t->exited)
		release_now(s, t); /* the pid was reused by a new process */
	else if (t)
		return 0;
	if (kill(pid, 0) && errno == ESRCH)
		return -ESRCH;
	t = new_target(s, pid, parent_pid, &err);
	if (!t)
		return err;
	if (err)
		return err;
	/* Sample it from now on (or from its exec), with Python frames once its interpreter is
	 * found. */
	err = hl_collector__set_target(s->collector, pid, &none);
	if (err)
		return err;
	if (!await_exec)
		try_detect(s, t, hl_now_monotonic_ns());
	return 0;
}

static void on_target_fork(struct hl_session *s, const struct hl_proc_event *e)
{
	struct target *parent = target_of(s, (pid_t)e->parent_pid), *t;
	int err;

	t = target_of(s, (pid_t)e->pid);
	if (t && t->exited)
		release_now(s, t); /* the pid was reused by a new process */
	else if (t)
		return;
	t = new_target(s, (pid_t)e->pid, (pid_t)e->parent_pid, &err);
	if (!t) {
		fail(s, err, "cannot follow a fork");
		return;
	}
	/* The sampler already copied the parent's interpreter facts to the child: the memory
	 * image is the same.  Mirror that here, with the child's own code cache. */
	if (parent && parent->detect == HL_PYDETECT_OK) {
		t->py = parent->py;
		t->py.pid = t->pid;
		t->detect = HL_PYDETECT_OK;
		t->codes = hl_pycode_cache__new(t->pid, &t->py.ver, t->py.code_type);
		hl_store__update_process_python(s->store, t->process_id, t->py.version, NULL);
	} else {
		try_detect(s, t, hl_now_monotonic_ns());
	}
	hl_info("following pid %d, forked by %d", (int)t->pid, (int)t->parent);
}

static void on_target_exec(struct hl_session *s, const struct hl_proc_event *e)
{
	struct target *t = target_of(s, (pid_t)e->pid);
	int64_t row;

	if (!t || t->exited) {
		/* Not ours (the daemon asked to hear of every exec), or a pid reused by a new
		 * process after a target exited. */
		if (s->opts.on_exec)
			s->opts.on_exec(s->opts.hook_ctx, (pid_t)e->pid);
		return;
	}
	flush_held(s, t); /* they belong to the old image */
	/* A new image: a new process row, a new address space for the caches. */
	hl_store__end_process(s->store, t->process_id, hl_now_realtime_ns());
	row = add_process_row(s, t);
	if (row < 0) {
		fail(s, (int)row, "cannot record an exec");
		return;
	}
	t->process_id = row;
	hl_pycode_cache__free(t->codes);
	t->codes = NULL;
	hl_addrspace__free(t->as);
	hl_native_proc__free(t->nproc);
	t->as = NULL;
	t->nproc = NULL;
	t->detect = -1;
	t->attempts = 0;
	t->announced = false;
	t->image_start_ns = hl_now_monotonic_ns();
	t->space = ++s->next_space;
	try_detect(s, t, t->image_start_ns);
}

static void on_target_exit(struct hl_session *s, pid_t pid)
{
	struct target *t = target_of(s, pid);

	if (!t || t->exited)
		return;
	flush_held(s, t);
	t->exited = true;
	t->exited_ns = hl_now_monotonic_ns();
	t->next_try_ns = 0;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, t->pidfd, NULL);
	close(t->pidfd);
	t->pidfd = -1;
	hl_collector__remove_target(s->collector, pid);
	hl_store__end_process(s->store, t->process_id, hl_now_realtime_ns());
	/* The code cache stays: samples taken before the exit may still be in the ring. */
}

/* ---- samples ------------------------------------------------------------------------------ */

static struct thread *thread_of(struct hl_session *s, struct target *t,
				const struct hl_sample *smp)
{
	struct thread *th = NULL;
	char comm[sizeof(smp->comm) + 1];
	uint64_t v;

	memcpy(comm, smp->comm, sizeof(smp->comm));
	comm[sizeof(smp->comm)] = '\0';
	if (hl_map__get(s->threads, smp->tid, &v))
		th = (struct thread *)(uintptr_t)v;
	if (!th) {
		th = calloc(1, sizeof(*th));
		if (!th || hl_map__set(s->threads, smp->tid, (uint64_t)(uintptr_t)th)) {
			free(th);
			return NULL;
		}
	}
	if (th->process_id != t->process_id) {
		/* New thread, or a tid seen before in another process image. */
		memset(th, 0, sizeof(*th));
		th->process_id = t->process_id;
		th->pid = t->pid;
		hl_strlcpy(th->comm, comm, sizeof(th->comm));
		hl_strlcpy(th->name, comm, sizeof(th->name));
		th->id = hl_store__add_thread(s->store, t->process_id, smp->tid, comm);
		if (th->id < 0) {
			fail(s, (int)th->id, "cannot write a thread");
			th->process_id = 0;
			return NULL;
		}
	} else if (!th->python_named && strncmp(th->comm, comm, sizeof(th->comm))) {
		hl_strlcpy(th->comm, comm, sizeof(th->comm));
		store_thread_name(s, th, comm);
	}
	th->last_window = s->window_seq;
	/* A Python thread: its ident leads to the name threading gave it. */
	if (smp->tstate && smp->tstate != th->tstate && t->detect == HL_PYDETECT_OK) {
		th->tstate = smp->tstate;
		if (hl_procmem_read_u64(t->pid, smp->tstate + t->py.ver.tstate_thread_id,
					&th->ident))
			th->ident = 0;
		if (name_thread(s, t, th))
			t->names_wanted = s->names_wanted = true;
	}
	return th;
}

struct frame_key {
	uint32_t space;
	int32_t lasti;
	uint64_t code;
	uint64_t fingerprint;
};

/* What the argument counting needs from a function's bytecode: the attributes of self a
 * method's code loads become arguments of their own ("self._keys", the specialization keys
 * candidates look for), and arguments the code rebinds are not counted. */
static int follow_self_attrs(struct hl_session *s, struct target *t, const struct hl_pycode *code)
{
	const char *names[HL_PYCODE_NAMES_MAX];
	const struct hl_opcodes *ops = hl_opcodes_find(t->py.ver.major, t->py.ver.minor);
	struct hl_bytecode_stats st;
	size_t n;

	if (!s->arguments || !ops || !code->nr_args)
		return 0;
	n = hl_bytecode_split_names(code->names, code->names_len, names, HL_ARRAY_SIZE(names));
	hl_bytecode_analyze(ops, code->bytecode, code->bytecode_len, names, n, code->first_local,
			    &st);
	/* Decoding cut short: stores past that point are unknown, so trust no slot. */
	return hl_arguments__set_code(s->arguments, code->store_id, st.self_attrs,
				      st.nr_self_attrs, st.stop ? UINT32_MAX : st.stored_locals);
}

/* Files the bytecode of a code object just named, for `hotloop candidates` (bytecode
 * evidence).  Read in user space, once per code object: the sampler copies names and line
 * tables only.  A code object that is gone by now leaves its function without evidence,
 * which the report says; it is not an error of the recording. */
static void store_bytecode(struct hl_session *s, struct target *t, struct hl_pycode *code)
{
	uint64_t start = hl_now_monotonic_ns();
	struct hl_function_code row;
	int err = hl_pycode_cache__read_bytecode(t->codes, code);

	if (err) {
		s->counters[CNT_NO_BYTECODE]++;
		s->counters[CNT_BYTECODE_NS] += hl_now_monotonic_ns() - start;
		hl_debug("pid %d: bytecode of %s unreadable: %s", (int)t->pid, code->qualname,
			 strerror(-err));
		return;
	}
	row = (struct hl_function_code){
	    .major = t->py.ver.major, .minor = t->py.ver.minor, .bytecode = code->bytecode,
	    .bytecode_len = code->bytecode_len, .cut = code->bytecode_cut, .names = code->names,
	    .names_len = code->names_len, .first_local = code->first_local,
	    .linetable = code->linetable, .linetable_len = code->linetable_len,
	    .firstlineno = code->firstlineno};
	err = hl_store__add_function_code(s->store, code->store_id, &row);
	if (!err)
		err = follow_self_attrs(s, t, code);
	s->counters[CNT_BYTECODE_READ]++;
	s->counters[CNT_BYTECODE_NS] += hl_now_monotonic_ns() - start;
	if (err)
		hl_debug("storing the bytecode of %s: %s", code->qualname, strerror(-err));
}

/* The frame id of one Python frame, or a negative errno.  *resolved is false when the code
 * object could not be read (the result is then a marker, and is not cached). */
static int64_t python_frame(struct hl_session *s, struct target *t, const struct hl_py_frame *f,
			    bool *resolved)
{
	struct frame_key key = {.space = t->space, .lasti = f->lasti, .code = f->code,
				.fingerprint = f->fingerprint};
	struct hl_pycode *code = NULL;
	int64_t id, fn;
	uint64_t slot;
	int err = -ENOENT;

	*resolved = true;
	if (hl_intern__find(s->frames, &key, sizeof(key), &slot, &id))
		return id;
	if (t->codes && f->code && !(f->flags & HL_PYF_BAD_LASTI && f->lasti >= 0))
		code = hl_pycode_cache__get(t->codes, f->code, f->fingerprint, &err);
	if (!code) {
		*resolved = false;
		s->counters[CNT_UNRESOLVED]++;
		hl_debug("pid %d: code object 0x%llx unreadable: %s", (int)t->pid,
			 (unsigned long long)f->code, strerror(-err));
		return marker_frame(s, MARK_UNKNOWN_CODE);
	}
	if (code->store_id <= 0) {
		fn = hl_store__intern_function(s->store, HL_FUNC_PYTHON, code->qualname,
					       code->filename, code->firstlineno, NULL);
		if (fn < 0)
			return fn;
		code->store_id = fn;
		store_bytecode(s, t, code);
	}
	id = hl_store__intern_frame(s->store, code->store_id,
				    hl_pycode__line(code, &t->py.ver, f->lasti), 0);
	if (id > 0)
		hl_intern__add(s->frames, slot, &key, sizeof(key), id);
	return id;
}

/* ---- asyncio logical stacks --------------------------------------------------------------- */

/* A process that has not imported asyncio is asked again this often. */
#define ASYNC_RECHECK_NS (3ULL * 1000000000)

/* The marker of an asyncio task: "[task: NAME]", "[task: NAME (awaited by N)]".  A default
 * name "Task-N" is shown as "Task-*": N differs for every task and every run, and stacks of
 * tasks that run the same code should merge (and compare across profiles). */
static int64_t task_marker(struct hl_session *s, const struct hl_async_task *task)
{
	char name[HL_ASYNC_NAME_MAX + 48];
	int64_t fn;

	if (task->awaited_by > 1)
		snprintf(name, sizeof(name), "[task: %s (awaited by %u)]",
			 task->default_name ? "Task-*" : task->name, (unsigned)task->awaited_by);
	else
		snprintf(name, sizeof(name), "[task: %s]", task->default_name ? "Task-*" : task->name);
	fn = hl_store__intern_function(s->store, HL_FUNC_TASK, name, NULL, 0, NULL);
	return fn < 0 ? fn : hl_store__intern_frame(s->store, fn, 0, 0);
}

static int async_push(struct hl_session *s, int64_t id)
{
	if (id < 0)
		return (int)id;
	if (hl_grow((void **)&s->async_ids, &s->async_cap, s->async_n + 1, sizeof(*s->async_ids)))
		return -ENOMEM;
	s->async_ids[s->async_n++] = id;
	return 0;
}

static void async_count(struct hl_session *s, int outcome)
{
	static const enum counter by_outcome[HL_ASYNC_OUTCOMES] = {
		[HL_ASYNC_ATTRIBUTED] = CNT_ASYNC_ATTRIBUTED,
		[HL_ASYNC_NO_TASK] = CNT_ASYNC_NO_TASK,
		[HL_ASYNC_READ_FAILED] = CNT_ASYNC_READ_FAILED,
		[HL_ASYNC_CYCLE] = CNT_ASYNC_CYCLE,
		[HL_ASYNC_TOO_DEEP] = CNT_ASYNC_TOO_DEEP,
	};

	if (outcome > HL_ASYNC_NOT_IN_TASK && outcome < HL_ASYNC_OUTCOMES)
		s->counters[by_outcome[outcome]]++;
}

/*
 * Decides whether the sample ran in an asyncio task and, if so, prepares its logical stack:
 * s->async_ids are the frames that go right before (outside) the Python frame
 * s->async_boundary, the running task's coroutine — for each task from the root down, its
 * marker and the coroutine frames it is suspended in, then the running task's marker.  The
 * frames outside the boundary (the event loop) stay below, those inside it on top.  Samples
 * outside any task are left alone; one whose task cannot be found is kept as it is and
 * counted (async.unattributed_*).  Returns 0, or a negative errno from the store.
 */
static int async_prepare(struct hl_session *s, struct target *t, const struct hl_sample *smp,
			 const struct hl_py_frame *frames)
{
	struct hl_async_stack *as = s->astack;
	uint64_t now;
	unsigned k, j;
	bool resolved;
	int ret, err = 0;

	s->async_on = false;
	if (!as || t->detect != HL_PYDETECT_OK || !hl_asyncio_has_coroutine_frame(frames, smp->n_py))
		return 0;
	if (t->aio && t->aio_space != t->space) { /* a new image (exec) or a new interpreter */
		hl_asyncio__free(t->aio);
		t->aio = NULL;
	}
	if (!t->aio) {
		t->aio = hl_asyncio__new(&t->py);
		t->aio_space = t->space;
		if (!t->aio)
			return 0;
	}
	now = hl_now_monotonic_ns();
	if (!hl_asyncio__active(t->aio, now, ASYNC_RECHECK_NS))
		return 0;
	if (!(t->py.bpf.flags & HL_PROC_WAKE_EACH) && !t->exited) {
		/* Tasks change by the millisecond: have the sampler wake us at every sample of
		 * this process, so its tasks are read while they are as the sample saw them
		 * (measured: 0.1 ms after the sample instead of 25-45 ms, and 95-99% of the
		 * samples attributed instead of 20-25%, docs/internals.md). */
		t->py.bpf.flags |= HL_PROC_WAKE_EACH;
		hl_collector__set_target(s->collector, t->pid, &t->py.bpf);
	}
	ret = hl_asyncio__resolve(t->aio, frames, smp->n_py, smp->tstate, now, as);
	if (ret < 0)
		ret = HL_ASYNC_READ_FAILED; /* the process is gone: its tasks are unknowable */
	async_count(s, ret);
	if (ret != HL_ASYNC_ATTRIBUTED || as->boundary < 0 || as->boundary >= smp->n_py)
		return 0;
	s->async_n = 0;
	s->async_cacheable = true;
	for (k = 0; k < as->n_tasks && !err; k++) {
		const struct hl_async_task *task = &as->tasks[k];

		err = async_push(s, task_marker(s, task));
		for (j = 0; j < task->n_frames && !err; j++) {
			const struct hl_async_frame *af = &as->frames[task->first_frame + j];
			struct hl_py_frame f = {.code = af->code, .fingerprint = af->fingerprint,
						.lasti = af->lasti, .flags = af->flags};

			err = async_push(s, python_frame(s, t, &f, &resolved));
			s->async_cacheable &= resolved;
		}
	}
	s->async_n_inner = 0;
	for (k = 0; k < as->n_inner && !err; k++) {
		int64_t id = task_marker(s, &as->inner[k]);

		if (id < 0)
			err = (int)id;
		s->async_inner_index[k] = as->inner_index[k];
		s->async_inner_id[k] = id;
		s->async_n_inner++;
	}
	if (err)
		return err;
	s->async_boundary = as->boundary;
	s->async_on = true;
	return 0;
}

/* The frame ids that go before Python frame @i (innermost-first index) of this sample, in
 * the order they are pushed (outermost first): the logical prefix before the boundary, a task
 * marker before an eager task's frame.  Sets *ids and returns how many. */
static size_t async_before(struct hl_session *s, int i, const int64_t **ids)
{
	unsigned k;

	if (!s->async_on)
		return 0;
	if (i == s->async_boundary) {
		*ids = s->async_ids;
		return s->async_n;
	}
	for (k = 0; k < s->async_n_inner; k++) {
		if (s->async_inner_index[k] == i) {
			*ids = &s->async_inner_id[k];
			return 1;
		}
	}
	return 0;
}

/* Appends what the logical part of a python_stack() key depends on beyond the raw frames:
 * the boundary, the prefix's frame ids and the eager tasks' markers. */
static size_t async_key(struct hl_session *s, unsigned char *key, size_t len)
{
	int32_t head[2] = {s->async_boundary, (int32_t)s->async_n_inner};
	unsigned k;

	if (!s->async_on)
		return len;
	memcpy(key + len, head, sizeof(head));
	len += sizeof(head);
	for (k = 0; k < s->async_n_inner; k++) {
		memcpy(key + len, &s->async_inner_index[k], sizeof(int32_t));
		memcpy(key + len + 4, &s->async_inner_id[k], sizeof(int64_t));
		len += 12;
	}
	memcpy(key + len, s->async_ids, s->async_n * sizeof(*s->async_ids));
	return len + s->async_n * sizeof(*s->async_ids);
}

/* Bytes async_key may append. */
#define ASYNC_KEY_MAX                                                                       \
	(8 + HL_ASYNC_MAX_INNER * 12 + (HL_ASYNC_MAX_TASKS + HL_ASYNC_MAX_FRAMES) * 8)

struct stack_key {
	uint32_t space;
	uint16_t n_py;
	uint8_t status;
	uint8_t pad;
};

/* The stack id of a sample that holds Python frames only, symbolizing it if this stack was
 * never seen: cached by the sample's raw frames, the common case costs one hash. */
static int64_t python_stack(struct hl_session *s, struct target *t, const struct hl_sample *smp,
			    const struct hl_py_frame *frames)
{
	/* Each frame's code, fingerprint, lasti and flags: not the generator it belongs to,
	 * which differs for every coroutine instance running the same code. */
	enum { FRAME_KEY = offsetof(struct hl_py_frame, gen) };
	unsigned char keybuf[sizeof(struct stack_key) + HL_PY_MAX_FRAMES * FRAME_KEY +
			     ASYNC_KEY_MAX];
	struct stack_key *key = (struct stack_key *)keybuf;
	size_t keylen = sizeof(*key) + smp->n_py * FRAME_KEY, n_ids, k;
	bool cacheable = true, resolved;
	int64_t parent = 0, id;
	const int64_t *ids;
	uint64_t slot;
	int i, err;

	/* In an asyncio task, the stack also depends on the task's awaiters. */
	err = async_prepare(s, t, smp, frames);
	if (err)
		return err;
	cacheable = !s->async_on || s->async_cacheable;
	key->space = t->space;
	key->n_py = smp->n_py;
	key->status = smp->py_status;
	key->pad = 0;
	for (i = 0; i < smp->n_py; i++)
		memcpy(keybuf + sizeof(*key) + (size_t)i * FRAME_KEY, &frames[i], FRAME_KEY);
	keylen = async_key(s, keybuf, keylen);
	if (hl_intern__find(s->stacks, keybuf, keylen, &slot, &id))
		return id;

	/* A cut stack is rooted at a marker saying why, so reports show the cut. */
	switch (smp->py_status) {
	case HL_PY_TOO_DEEP:
		parent = marker_frame(s, MARK_TRUNC_DEEP);
		break;
	case HL_PY_READ_FAILED:
		parent = smp->n_py ? marker_frame(s, MARK_TRUNC_READ) : 0;
		break;
	case HL_PY_CYCLE:
		parent = marker_frame(s, MARK_TRUNC_CYCLE);
		break;
	}
	if (parent < 0)
		return parent;
	if (parent > 0)
		parent = hl_store__intern_stack(s->store, 0, parent);
	if (!smp->n_py) {
		enum marker m = smp->py_status == HL_PY_NOT_PYTHON    ? MARK_NOT_PYTHON
				: smp->py_status == HL_PY_NO_TSTATE   ? MARK_NO_TSTATE
				: smp->py_status == HL_PY_BAD_TSTATE  ? MARK_BAD_TSTATE
				: smp->py_status == HL_PY_READ_FAILED ? MARK_TRUNC_READ
								      : MARK_NO_FRAMES;
		id = marker_frame(s, m);
		if (id < 0)
			return id;
		parent = hl_store__intern_stack(s->store, parent, id);
	}
	for (i = smp->n_py - 1; i >= 0 && parent >= 0; i--) {
		n_ids = async_before(s, i, &ids);
		for (k = 0; k < n_ids && parent >= 0; k++)
			parent = hl_store__intern_stack(s->store, parent, ids[k]);
		if (parent < 0)
			return parent;
		id = python_frame(s, t, &frames[i], &resolved);
		if (id < 0)
			return id;
		cacheable &= resolved;
		parent = hl_store__intern_stack(s->store, parent, id);
	}
	if (parent > 0 && cacheable)
		hl_intern__add(s->stacks, slot, keybuf, keylen, parent);
	return parent;
}


/* ---- native, kernel and stitched stacks ------------------------------------------------ */

const char *hl_mode_name(enum hl_mode mode)
{
	return mode == HL_MODE_PYTHON ? "python" : mode == HL_MODE_NATIVE ? "native" : "mixed";
}

static int chain_push(struct hl_session *s, size_t *n, int64_t id)
{
	if (id < 0)
		return (int)id;
	if (hl_grow((void **)&s->chain, &s->chain_cap, *n + 1, sizeof(*s->chain)))
		return -ENOMEM;
	s->chain[(*n)++] = id;
	return 0;
}

/* The process's code, set up on its first native sample. */
static struct hl_addrspace *addrspace_of(struct hl_session *s, struct target *t)
{
	if (t->as)
		return t->as;
	t->as = hl_addrspace__new(t->pid, s->binaries);
	t->nproc = hl_native_proc__new(t->pid, NULL);
	if (!t->as || !t->nproc) {
		hl_addrspace__free(t->as);
		hl_native_proc__free(t->nproc);
		t->as = NULL;
		t->nproc = NULL;
		return NULL;
	}
	hl_addrspace__refresh(t->as);
	return t->as;
}

struct native_key {
	uint32_t space;
	uint32_t exact;
	uint64_t pc;
};

/* The native frames at @pc (an interrupted instruction when @exact, else a return address):
 * symbolized once per (image, address), with inlined functions expanded.  Returns the index
 * of the entry in s->native_entries (an index: the array moves as it grows), or a negative
 * errno on a store error. */
static int64_t native_at(struct hl_session *s, struct target *t, uint64_t pc, bool exact)
{
	struct native_key key = {.space = t->space, .exact = exact, .pc = pc};
	struct hl_native_frame nf[HL_NATIVE_MAX_FRAMES];
	const struct hl_module *m = NULL;
	struct native_entry e = {0};
	struct hl_addrspace *as;
	char anon[64];
	const char *module;
	uint64_t slot;
	int64_t idx;
	int n = 0, j;

	if (hl_intern__find(s->natives, &key, sizeof(key), &slot, &idx))
		return idx;
	as = addrspace_of(s, t);
	if (as)
		m = hl_addrspace__find(as, pc);
	if (m)
		n = hl_native_symbolize(t->nproc, m, pc, !exact, nf, HL_ARRAY_SIZE(nf));
	if (n <= 0) {
		/* Outside every mapping we know: keep the address, never drop the frame. */
		snprintf(anon, sizeof(anon), "[unknown 0x%llx]", (unsigned long long)pc);
		nf[0] = (struct hl_native_frame){.function = anon};
		n = 1;
	}
	/* Only mixed stacks stitch Python frames over the eval loop; a native recording shows
	 * it as the C function it is. */
	e.eval = m && s->opts.mode == HL_MODE_MIXED &&
		 hl_native_in_eval(m, exact ? pc : pc - 1);
	module = m ? (m->path[0] ? m->path : "[anonymous]") : "";
	if (hl_grow((void **)&s->native_entries, &s->cap_native_entries, s->nr_native_entries + 1,
		 sizeof(*s->native_entries)) ||
	    hl_grow((void **)&s->native_ids, &s->cap_native_ids, s->nr_native_ids + (size_t)n,
		 sizeof(*s->native_ids)))
		return -ENOMEM;
	e.first = (uint32_t)s->nr_native_ids;
	/* native.h lists innermost first; a stack is stored outermost first. */
	for (j = n - 1; j >= 0; j--) {
		bool is_eval = e.eval && j == n - 1;
		int64_t fn, fr;

		fn = hl_store__intern_function(s->store, is_eval ? HL_FUNC_EVAL : HL_FUNC_NATIVE,
					       nf[j].function, NULL, 0, module);
		fr = fn < 0 ? fn
			    : s->opts.no_native_lines
				? hl_store__intern_frame_file(s->store, fn, NULL, 0, nf[j].function_start)
				: hl_store__intern_frame_file(s->store, fn, nf[j].file, nf[j].line,
							      nf[j].function_start);
		if (fr < 0)
			return fr;
		s->native_ids[s->nr_native_ids++] = fr;
	}
	e.count = (uint8_t)n;
	idx = (int64_t)s->nr_native_entries;
	s->native_entries[s->nr_native_entries++] = e;
	/* An address outside every known mapping may be code mapped since (the loader is
	 * still at work), and anonymous code may get its perf-map entry after it first runs
	 * (CPython writes a trampoline's line when it creates it): name those again next time
	 * rather than remember them as unknown. */
	if (m && (m->binary || nf[0].source == HL_NATIVE_PERFMAP))
		hl_intern__add(s->natives, slot, &key, sizeof(key), idx);
	return idx;
}

static int64_t kernel_frame(struct hl_session *s, uint64_t pc)
{
	const struct hl_ksym *k = NULL;
	char unknown[40];
	int64_t fn, id;
	uint64_t v;

	if (hl_map__get(s->kernel_frames, pc, &v))
		return (int64_t)v;
	if (!s->kallsyms && !s->kallsyms_failed &&
	    hl_kallsyms__load(NULL, &s->kallsyms))
		s->kallsyms_failed = true; /* explained once by hl_kallsyms__load */
	if (s->kallsyms)
		k = hl_kallsyms__find(s->kallsyms, pc);
	snprintf(unknown, sizeof(unknown), "[kernel 0x%llx]", (unsigned long long)pc);
	fn = hl_store__intern_function(s->store, HL_FUNC_KERNEL, k ? k->name : unknown, NULL, 0,
				       k && k->module ? k->module : NULL);
	if (fn < 0)
		return fn;
	id = hl_store__intern_frame(s->store, fn, 0, 0);
	if (id > 0)
		hl_map__set(s->kernel_frames, pc, (uint64_t)id);
	return id;
}

static enum marker native_marker(enum hl_unwind_end end, enum counter *cnt)
{
	switch (end) {
	case HL_UNWIND_STACK_END:
		*cnt = CNT_NATIVE_STACK_END;
		return MARK_NATIVE_STACK_END;
	case HL_UNWIND_NO_INFO:
		*cnt = CNT_NATIVE_NO_INFO;
		return MARK_NATIVE_NO_INFO;
	case HL_UNWIND_MAX_FRAMES:
		*cnt = CNT_NATIVE_MAX;
		return MARK_NATIVE_MAX;
	default:
		*cnt = CNT_NATIVE_BAD;
		return MARK_NATIVE_BAD;
	}
}

/* Appends Python frames [lo, hi] (indices into the innermost-first array) outermost first. */
static int push_python(struct hl_session *s, struct target *t, const struct hl_py_frame *frames,
		       int lo, int hi, size_t *n)
{
	const int64_t *ids;
	size_t n_ids, k;
	bool resolved;
	int i, err;

	for (i = hi; i >= lo; i--) {
		n_ids = async_before(s, i, &ids);
		for (k = 0; k < n_ids; k++) {
			err = chain_push(s, n, ids[k]);
			if (err)
				return err;
		}
		err = chain_push(s, n, python_frame(s, t, &frames[i], &resolved));
		if (err)
			return err;
	}
	return 0;
}

/*
 * A sample with native and kernel frames: unwinds the user stack, names each address, and
 * stitches the Python frames in: every frame of CPython's eval loop is followed by the
 * Python frames that call of the loop runs — one per call up to 3.10, up to the frame marked
 * as the call's entry from 3.11 — so C code between Python frames (a C extension calling back
 * into Python, list.sort calling a key function) stays where it ran.  The pairing goes from
 * the innermost frames out: a native stack cut short loses its outer eval frames, and the
 * Python frames they ran are then placed at the root, above a marker of the cut.  Kernel
 * frames go last, below the user frame that entered the kernel.
 */
static int64_t mixed_stack(struct hl_session *s, struct target *t, const struct hl_sample *smp,
			   const struct hl_py_frame *frames)
{
	const uint64_t *kstack = (const uint64_t *)((const struct hl_py_args *)(frames + smp->n_py) +
						    smp->n_args);
	const uint64_t *regs = kstack + smp->n_kstack;
	const uint8_t *ustack = (const uint8_t *)(regs + HL_USER_REGS);
	/* Python groups, innermost first: group g spans frames [lo[g], hi[g]]. */
	int lo[HL_PY_MAX_FRAMES], hi[HL_PY_MAX_FRAMES];
	enum hl_unwind_end end = HL_UNWIND_ROOT;
	int64_t entry[HL_NATIVE_MAX_PCS]; /* indices into s->native_entries */
	int groups = 0, evals = 0, g, i, err = 0;
	unsigned npc = 0, j;
	size_t n = 0;
	int64_t parent = 0;

	/* In an asyncio task, the awaiters go in before the task's frames (push_python). */
	err = async_prepare(s, t, smp, frames);
	if (err)
		return err;
	for (i = 0; i < smp->n_py; i = hi[groups++] + 1) {
		lo[groups] = i;
		hi[groups] = i;
		while (hi[groups] < smp->n_py - 1 && !(frames[hi[groups]].flags & HL_PYF_ENTRY))
			hi[groups]++;
	}
	if (smp->has_regs) {
		struct hl_unwind_regs r;
		struct hl_addrspace *as = addrspace_of(s, t);

		memcpy(r.r, regs, sizeof(r.r));
		if (as)
			hl_unwind(as, &r, ustack, smp->ustack_bytes,
				  smp->ustack_bytes < s->opts.ustack_bytes, s->pcs, s->pc_flags,
				  HL_NATIVE_MAX_PCS, &npc, &end);
	}
	for (j = 0; j < npc; j++) {
		entry[j] = native_at(s, t, s->pcs[j], s->pc_flags[j] & HL_UNWIND_EXACT_PC);
		if (entry[j] < 0)
			return entry[j];
		evals += s->native_entries[entry[j]].eval;
	}

	/* Root: why the Python chain is cut, then Python frames whose eval frames were lost. */
	switch (smp->py_status) {
	case HL_PY_TOO_DEEP:
		err = chain_push(s, &n, marker_frame(s, MARK_TRUNC_DEEP));
		break;
	case HL_PY_READ_FAILED:
		err = chain_push(s, &n, marker_frame(s, MARK_TRUNC_READ));
		break;
	case HL_PY_CYCLE:
		err = chain_push(s, &n, marker_frame(s, MARK_TRUNC_CYCLE));
		break;
	}
	if (npc && end != HL_UNWIND_ROOT) {
		enum counter cnt;
		enum marker mk = native_marker(end, &cnt);

		s->counters[cnt]++;
		if (smp->py_status <= HL_PY_BAD_TSTATE)
			s->truncated++; /* else the Python cut counted it already */
		if (!err)
			err = chain_push(s, &n, marker_frame(s, mk));
	}
	if (!npc) /* no native stack: the Python frames alone */
		evals = 0;
	if (groups > evals)
		s->counters[CNT_STITCH_LEFTOVER] += npc ? 1 : 0;
	for (g = groups - 1; g >= evals && !err; g--)
		err = push_python(s, t, frames, lo[g], hi[g], &n);

	/* Native frames, outermost first; eval frames take Python groups from the inside. */
	g = evals - 1;
	for (j = npc; j-- > 0 && !err;) {
		const struct native_entry *e = &s->native_entries[entry[j]];
		unsigned k;

		err = chain_push(s, &n, s->native_ids[e->first]);
		if (e->eval) {
			if (g < groups)
				err = err ? err : push_python(s, t, frames, lo[g], hi[g], &n);
			else
				s->counters[CNT_STITCH_BARE_EVAL]++;
			g--;
		}
		for (k = 1; k < e->count && !err; k++)
			err = chain_push(s, &n, s->native_ids[e->first + k]);
	}
	for (j = smp->n_kstack; j-- > 0 && !err;)
		err = chain_push(s, &n, kernel_frame(s, kstack[j]));
	if (!n && !err) {
		enum marker m = smp->py_status == HL_PY_NOT_PYTHON   ? MARK_NOT_PYTHON
				: smp->py_status == HL_PY_NO_TSTATE  ? MARK_NO_TSTATE
				: smp->py_status == HL_PY_BAD_TSTATE ? MARK_BAD_TSTATE
								     : MARK_NO_FRAMES;
		err = chain_push(s, &n, marker_frame(s, m));
	}
	if (err)
		return err;
	for (j = 0; j < n && parent >= 0; j++)
		parent = hl_store__intern_stack(s->store, parent, s->chain[j]);
	return parent;
}

static int64_t sample_stack(struct hl_session *s, struct target *t, const struct hl_sample *smp,
			    const struct hl_py_frame *frames)
{
	if (!smp->has_regs && !smp->n_kstack)
		return python_stack(s, t, smp, frames);
	return mixed_stack(s, t, smp, frames);
}

static void count_status(struct hl_session *s, const struct hl_sample *smp)
{
	switch (smp->py_status) {
	case HL_PY_NOT_PYTHON:
		s->counters[CNT_NOT_PYTHON]++;
		break;
	case HL_PY_NO_TSTATE:
		s->counters[CNT_NO_TSTATE]++;
		break;
	case HL_PY_BAD_TSTATE:
		s->counters[CNT_BAD_TSTATE]++;
		break;
	case HL_PY_TOO_DEEP:
		s->counters[CNT_TRUNC_DEEP]++;
		s->truncated++;
		break;
	case HL_PY_READ_FAILED:
		s->counters[CNT_TRUNC_READ]++;
		s->truncated++;
		break;
	case HL_PY_CYCLE:
		s->counters[CNT_TRUNC_CYCLE]++;
		s->truncated++;
		break;
	}
}

/* Counts one sample in the open window. */
static int window_count(struct hl_session *s, int64_t thread_id, int64_t stack_id,
			enum hl_thread_state state)
{
	struct window_key key = {.thread_id = thread_id, .stack_id = stack_id, .state = state};
	uint64_t slot;
	int64_t idx;
	int err;

	if (hl_intern__find(s->window_index, &key, sizeof(key), &slot, &idx)) {
		s->window_rows[idx].count++;
		return 0;
	}
	err = hl_grow((void **)&s->window_rows, &s->cap_window_rows, s->nr_window_rows + 1,
		      sizeof(*s->window_rows));
	if (err)
		return err;
	idx = (int64_t)s->nr_window_rows;
	/* Unlike a cache, a lost index entry would split a row: treat it as fatal. */
	err = hl_intern__add(s->window_index, slot, &key, sizeof(key), idx);
	if (err)
		return err;
	s->window_rows[s->nr_window_rows++] = (struct window_row){.key = key, .count = 1};
	return 0;
}

/* Counts the argument identities of the sample's innermost frames (the invariance evidence
 * of candidates).  A function on the stack twice (recursion) counts once per sample. */
static void observe_arguments(struct hl_session *s, struct target *t, const struct hl_sample *smp,
			      const struct hl_py_frame *frames)
{
	const struct hl_py_args *args = (const void *)(frames + smp->n_py);
	struct hl_pyreader r = {.pid = t->pid, .ver = &t->py.ver};
	int64_t seen[HL_ARG_FRAMES];
	uint64_t now = hl_now_monotonic_ns();
	unsigned i, j, nseen = 0;
	int err;

	if (!t->codes)
		return;
	for (i = 0; i < smp->n_args; i++) {
		const struct hl_py_frame *f = &frames[i];
		struct hl_pycode *code;

		if (!f->code || (f->flags & HL_PYF_BAD_LASTI))
			continue;
		code = hl_pycode_cache__get(t->codes, f->code, f->fingerprint, &err);
		if (!code || code->store_id <= 0 || !code->nr_args)
			continue;
		for (j = 0; j < nseen && seen[j] != code->store_id; j++)
			;
		if (j < nseen)
			continue;
		seen[nseen++] = code->store_id;
		if (hl_arguments__observe(s->arguments, &r, smp->tid, code->store_id, code,
					  &args[i], now)) {
			fail(s, -ENOMEM, "cannot count argument identities");
			return;
		}
	}
}

static void on_sample(struct hl_session *s, const struct hl_sample *smp, size_t size)
{
	const struct hl_py_frame *frames = (const void *)(smp + 1);
	enum hl_thread_state state;
	struct target *t;
	struct thread *th;
	int64_t stack;
	int err;

	if (smp->n_py > HL_PY_MAX_FRAMES || smp->n_args > HL_MIN(smp->n_py, HL_ARG_FRAMES) ||
	    size < sizeof(*smp) + smp->n_py * sizeof(*frames) +
			   smp->n_args * sizeof(struct hl_py_args) +
			   smp->n_kstack * sizeof(uint64_t)) {
		s->counters[CNT_BAD_RECORD]++;
		return;
	}
	t = target_of(s, (pid_t)smp->pid);
	if (!t) {
		/* A target the sampler knows and we do not: a fork whose event was lost. */
		t = new_target(s, (pid_t)smp->pid, 0, &err);
		if (!t) {
			fail(s, err, "cannot add a process");
			return;
		}
	}
	/* A process still starting: look for its interpreter between records too, and hold
	 * its records meanwhile (see HOLD_WINDOW_NS). */
	if (t->next_try_ns && !t->exited) {
		uint64_t now = hl_now_monotonic_ns();

		if (now >= t->next_try_ns)
			try_detect(s, t, now);
		if (should_hold(s, t, now) && hold_record(t, smp, size))
			return;
	}
	th = thread_of(s, t, smp);
	if (!th)
		return;
	count_status(s, smp);
	stack = sample_stack(s, t, smp, frames);
	if (stack < 0) {
		fail(s, (int)stack, "cannot write a stack");
		return;
	}
	state = smp->gil == HL_GIL_STATE_HELD	  ? HL_STATE_GIL
		: smp->gil == HL_GIL_STATE_NOT_HELD ? HL_STATE_NO_GIL
						    : HL_STATE_UNKNOWN;
	if (s->opts.window_ns)
		err = window_count(s, th->id, stack, state);
	else
		err = hl_store__add_sample(s->store, s->profile_id, th->id, stack,
					   smp->time_ns > s->start_mono_ns
						   ? (smp->time_ns - s->start_mono_ns) / 1000
						   : 0,
					   state, 1);
	if (err) {
		fail(s, err, "cannot write a sample");
		return;
	}
	s->samples++;
	t->samples++;
	if (s->arguments && smp->n_args)
		observe_arguments(s, t, smp, frames);
}

/* Names of a code object, copied by the sampler when it first saw it: filed in the code
 * cache so the object can be named even if it is freed before we could read it. */
static void on_code(struct hl_session *s, const struct hl_code_record *r, size_t size)
{
	struct target *t = target_of(s, (pid_t)r->pid);
	char *name = NULL, *file = NULL;
	uint8_t *table = NULL;

	if (!t || !t->codes || (r->flags & HL_CODE_UNREADABLE) ||
	    r->linetable_bytes > HL_CODE_LINETABLE_MAX ||
	    size < sizeof(*r) + r->linetable_bytes || !r->name.kind || !r->file.kind ||
	    r->name.bytes < (uint64_t)r->name.length * r->name.kind ||
	    r->file.bytes < (uint64_t)r->file.length * r->file.kind)
		return; /* incomplete: the code cache reads the object itself when needed */
	table = malloc(r->linetable_bytes + 1);
	if (!table || hl_pystr_decode(r->name_data, r->name.bytes, r->name.kind, &name) ||
	    hl_pystr_decode(r->file_data, r->file.bytes, r->file.kind, &file)) {
		free(table);
		free(name);
		free(file);
		return;
	}
	memcpy(table, r + 1, r->linetable_bytes);
	hl_pycode_cache__put(t->codes, r->code, r->fingerprint, name, file, r->firstlineno, table,
			     r->linetable_bytes, r->flags & HL_CODE_LINETABLE_CUT);
}

static int on_record(void *ctx, const void *data, size_t size)
{
	const struct hl_record_header *hdr = data;
	struct hl_session *s = ctx;

	if (s->error)
		return 1;
	switch (hdr->kind) {
	case HL_REC_SAMPLE:
		if (size >= sizeof(struct hl_sample))
			on_sample(s, data, size);
		break;
	case HL_REC_FORK:
		if (size >= sizeof(struct hl_proc_event))
			on_target_fork(s, data);
		break;
	case HL_REC_EXEC:
		if (size >= sizeof(struct hl_proc_event))
			on_target_exec(s, data);
		break;
	case HL_REC_CODE:
		if (size >= sizeof(struct hl_code_record))
			on_code(s, data, size);
		break;
	default:
		s->counters[CNT_BAD_RECORD]++;
	}
	/* A negative value stops libbpf's drain after this record. */
	if (s->error)
		return -ECANCELED;
	if (hl_now_monotonic_ns() >= s->consume_deadline_ns) {
		s->backlog = true;
		return -EAGAIN;
	}
	return 0;
}

/* ---- the session -------------------------------------------------------------------------- */

/* The native-side caches.  The binary cache goes last: the others hold its strings. */
static void free_native(struct hl_session *s)
{
	hl_intern__free(s->natives);
	free(s->native_entries);
	free(s->native_ids);
	hl_map__free(s->kernel_frames);
	hl_kallsyms__free(s->kallsyms);
	free(s->chain);
	hl_binary_cache__free(s->binaries);
}

/* Starts a window at @wall (@mono), ending at the next multiple of window_ns of the wall
 * clock, so every host's windows line up (14:00:00, 14:01:00, ...). */
static void open_window(struct hl_session *s, uint64_t wall, uint64_t mono)
{
	struct hl_collector_stats st = {0};

	if (!s->opts.window_ns)
		return;
	if (s->collector)
		hl_collector__stats(s->collector, &st);
	s->window_start_wall = wall;
	s->window_start_mono = mono;
	s->window_end_wall = (wall / s->opts.window_ns + 1) * s->opts.window_ns;
	s->window_lost_base = st.ringbuf_full;
	s->window_seq++;
	s->nr_window_rows = 0;
	hl_intern__clear(s->window_index);
}

struct hl_session *hl_session__new(const struct hl_session_opts *opts)
{
	struct hl_collector_opts copts = {
		.frequency_hz = opts->frequency_hz,
		.max_py_frames = opts->max_py_frames,
		/* Mixed samples carry a stack copy: room for a second or so of them. */
		.ringbuf_bytes = opts->ringbuf_bytes	       ? opts->ringbuf_bytes
				 : opts->mode == HL_MODE_PYTHON ? 16 << 20
								 : 64 << 20,
		.follow_forks = opts->follow_forks,
		.python_stacks = opts->mode != HL_MODE_NATIVE,
		.kernel_stacks = opts->mode != HL_MODE_PYTHON,
		.ustack_bytes = opts->mode != HL_MODE_PYTHON ? opts->ustack_bytes : 0,
		.report_all_execs = opts->report_all_execs,
		.arg_frames = opts->arguments && opts->mode != HL_MODE_NATIVE ? HL_ARG_FRAMES : 0,
	};
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EPOLL_TAG_RING};
	char host[256] = "", kernel[256] = "";
	struct hl_profile_info info;
	struct hl_session *s;
	struct utsname un;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->opts = *opts;
	s->epfd = -1;
	s->frequency_hz = opts->frequency_hz;
	s->targets = hl_map__new(16);
	s->threads = hl_map__new(64);
	s->stacks = hl_intern__new();
	s->frames = hl_intern__new();
	s->natives = hl_intern__new();
	s->kernel_frames = hl_map__new(256);
	s->binaries = hl_binary_cache__new();
	if (opts->async_stacks)
		s->astack = calloc(1, sizeof(*s->astack));
	if (copts.arg_frames)
		s->arguments = hl_arguments__new();
	if (opts->window_ns)
		s->window_index = hl_intern__new();
	if (!s->targets || !s->threads || !s->stacks || !s->frames || !s->natives ||
	    !s->kernel_frames || !s->binaries || (opts->async_stacks && !s->astack) ||
	    (opts->window_ns && !s->window_index)) {
		err = -ENOMEM;
		goto out_free;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		err = -errno;
		goto out_free;
	}
	/* Load the sampler before touching the output file: a machine that cannot sample
	 * should not lose an old profile to a failed start. */
	s->collector = hl_collector__new(&copts, on_record, s);
	if (!s->collector) {
		err = -errno;
		goto out_free;
	}
	s->store = hl_store__open(opts->db_path,
				  HL_STORE_CREATE | (opts->append ? HL_STORE_INCREMENTAL_VACUUM
								  : HL_STORE_TRUNCATE));
	if (!s->store) {
		err = -errno;
		goto out_free;
	}
	if (!uname(&un)) {
		hl_strlcpy(host, un.nodename, sizeof(host));
		hl_strlcpy(kernel, un.release, sizeof(kernel));
	}
	s->start_mono_ns = hl_now_monotonic_ns();
	s->start_wall_ns = hl_now_realtime_ns();
	s->last_commit_ns = s->start_mono_ns;
	s->self_cpu_start_ns = hl_self_cpu_ns();
	open_window(s, s->start_wall_ns, s->start_mono_ns);
	info = (struct hl_profile_info){
		.command = opts->command,
		.target_pids = opts->target_pids,
		.host = host,
		.kernel = kernel,
		.mode = hl_mode_name(opts->mode),
		.event = "cpu-clock",
		.frequency_hz = opts->frequency_hz,
		.start_ns = s->start_wall_ns,
	};
	s->profile_id = hl_store__add_profile(s->store, &info);
	if (s->profile_id < 0) {
		err = (int)s->profile_id;
		goto out_free;
	}
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, hl_collector__fd(s->collector), &ev)) {
		err = -errno;
		goto out_free;
	}
	return s;

out_free:
	hl_store__close(s->store);
	hl_collector__free(s->collector);
	if (s->epfd >= 0)
		close(s->epfd);
	free_native(s);
	hl_intern__free(s->frames);
	hl_intern__free(s->stacks);
	hl_map__free(s->threads);
	hl_map__free(s->targets);
	hl_intern__free(s->window_index);
	free(s->astack);
	free(s);
	errno = -err;
	return NULL;
}

static void run_detections(struct hl_session *s, uint64_t now, uint64_t *next_due)
{
	size_t cursor = 0;
	uint64_t pid, v;

	while (hl_map__next(s->targets, &cursor, &pid, &v)) {
		struct target *t = (struct target *)(uintptr_t)v;

		if (t->nr_held && !should_hold(s, t, now))
			flush_held(s, t);
		if (t->exited || !t->next_try_ns)
			continue;
		if (t->next_try_ns <= now)
			try_detect(s, t, now);
		if (t->next_try_ns && (!*next_due || t->next_try_ns < *next_due))
			*next_due = t->next_try_ns;
	}
}

int hl_session__run_once(struct hl_session *s, int timeout_ms)
{
	struct epoll_event events[16];
	uint64_t now = hl_now_monotonic_ns(), next_due = 0;
	int n, i;

	run_detections(s, now, &next_due);
	if (next_due) {
		uint64_t wait_ms = next_due > now ? (next_due - now + 999999) / 1000000 : 0;

		if (wait_ms < (uint64_t)timeout_ms)
			timeout_ms = (int)wait_ms;
	}
	if (s->backlog)
		timeout_ms = 0;
	n = epoll_wait(s->epfd, events, HL_ARRAY_SIZE(events), timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	s->backlog = false;
	s->consume_deadline_ns = hl_now_monotonic_ns() + CONSUME_BUDGET_NS;
	hl_collector__consume(s->collector);
	/* Exits after the records: a process's last samples are in the ring before its exit is
	 * seen, so its exit waits until the ring is drained (pidfds stay readable). */
	for (i = 0; i < n && !s->backlog; i++)
		if (events[i].data.u64 >> 32 == EPOLL_TAG_PIDFD)
			on_target_exit(s, (pid_t)(uint32_t)events[i].data.u64);
	if (s->opts.window_ns && !s->error && hl_now_realtime_ns() >= s->window_end_wall)
		hl_session__flush_window(s);
	now = hl_now_monotonic_ns();
	if (now - s->last_names_ns >= NAMES_REFRESH_NS || s->names_wanted)
		refresh_names(s, now);
	if (now - s->last_commit_ns >= COMMIT_INTERVAL_NS) {
		int err = hl_store__commit(s->store);

		if (err)
			fail(s, err, "cannot commit to the database");
		s->last_commit_ns = now;
	}
	return s->error;
}

bool hl_session__all_exited(const struct hl_session *s)
{
	size_t cursor = 0;
	uint64_t pid, v;

	while (hl_map__next(s->targets, &cursor, &pid, &v))
		if (!((struct target *)(uintptr_t)v)->exited)
			return false;
	return true;
}

bool hl_session__has_exited(const struct hl_session *s, pid_t pid)
{
	struct target *t = target_of(s, pid);

	return t && t->exited;
}

static size_t cache_bytes(const struct hl_session *s);

void hl_session__summary(struct hl_session *s, struct hl_session_summary *out)
{
	struct hl_collector_stats st = {0};
	size_t cursor = 0;
	uint64_t pid, v;

	memset(out, 0, sizeof(*out));
	if (s->collector)
		hl_collector__stats(s->collector, &st);
	out->samples = s->samples;
	out->lost = st.ringbuf_full;
	out->truncated = s->truncated;
	out->unresolved = s->counters[CNT_UNRESOLVED];
	out->duration_ns = hl_now_monotonic_ns() - s->start_mono_ns;
	out->self_cpu_ns = hl_self_cpu_ns() - s->self_cpu_start_ns;
	out->bpf_ns = st.bpf_run_ns;
	out->bpf_runs = st.bpf_run_count;
	out->windows = s->windows;
	out->cache_bytes = cache_bytes(s);
	while (hl_map__next(s->targets, &cursor, &pid, &v)) {
		struct target *t = (struct target *)(uintptr_t)v;

		out->processes++;
		if (t->detect == HL_PYDETECT_OK)
			out->python_processes++;
	}
}

void hl_session__describe(const struct hl_session *s, char *buf, size_t size)
{
	size_t cursor = 0, used = 0;
	uint64_t pid, v;
	unsigned shown = 0, total = 0;

	buf[0] = '\0';
	while (hl_map__next(s->targets, &cursor, &pid, &v)) {
		struct target *t = (struct target *)(uintptr_t)v;
		int n;

		total++;
		if (shown == 2 || used >= size)
			continue;
		n = snprintf(buf + used, size - used, "%spid %d%s%s%s", shown ? ", " : "",
			     (int)t->pid, t->detect == HL_PYDETECT_OK ? " (Python " : "",
			     t->detect == HL_PYDETECT_OK ? t->py.version : "",
			     t->detect == HL_PYDETECT_OK ? ")" : "");
		if (n > 0)
			used += (size_t)n;
		shown++;
	}
	if (total > shown && used < size)
		snprintf(buf + used, size - used, " and %u more", total - shown);
}

static void free_target(struct target *t)
{
	if (t->pidfd >= 0)
		close(t->pidfd);
	while (t->nr_held)
		free(t->held[--t->nr_held]);
	free(t->held);
	hl_pycode_cache__free(t->codes);
	hl_addrspace__free(t->as);
	hl_native_proc__free(t->nproc);
	clear_names(t);
	hl_map__free(t->pynames);
	hl_asyncio__free(t->aio);
	free(t);
}

static void free_targets(struct hl_session *s)
{
	size_t cursor = 0;
	uint64_t key, v;

	while (hl_map__next(s->targets, &cursor, &key, &v))
		free_target((struct target *)(uintptr_t)v);
	cursor = 0;
	while (hl_map__next(s->threads, &cursor, &key, &v))
		free((void *)(uintptr_t)v);
}

/* What finding @t's asyncio tasks cost, into the counters (once per target: at its release
 * or at the end). */
static void async_totals_of(struct hl_session *s, struct target *t)
{
	struct hl_asyncio_stats st;

	if (!t->aio)
		return;
	hl_asyncio__stats(t->aio, &st);
	s->counters[CNT_ASYNC_COST_NS] += st.resolve_ns;
	s->counters[CNT_ASYNC_SCANS] += st.scans;
	s->counters[CNT_ASYNC_SCAN_NS] += st.scan_ns;
	s->counters[CNT_ASYNC_CACHED] += st.cache_hits;
}

/* What finding asyncio tasks cost, over every process. */
static void async_totals(struct hl_session *s)
{
	size_t cursor = 0;
	uint64_t key, v;

	while (hl_map__next(s->targets, &cursor, &key, &v))
		async_totals_of(s, (struct target *)(uintptr_t)v);
}

/* Adds to profile_counter what the counters gained since the last call. */
static int store_argument(const struct hl_argument_stats *a, void *arg)
{
	struct hl_session *s = arg;
	struct hl_argument_row row = {.function_id = a->function, .name = a->name,
				      .samples = a->samples, .runs = a->runs,
				      .distinct = a->distinct, .more = a->more,
				      .top_samples = a->top_samples, .top_type = a->top_type};

	return hl_store__add_argument(s->store, s->profile_id, &row);
}

/* Files the argument identities counted so far, and their counters. */
static int store_arguments(struct hl_session *s)
{
	struct hl_arguments_counts c;

	if (!s->arguments)
		return 0;
	hl_arguments__counts(s->arguments, &c);
	s->counters[CNT_ARGS_OBSERVED] = c.observed;
	s->counters[CNT_ARGS_ATTR_READS] = c.attr_reads;
	s->counters[CNT_ARGS_ATTR_THROTTLED] = c.attr_throttled;
	s->counters[CNT_ARGS_FUNCTIONS_OVER] = c.functions_over;
	return hl_arguments__for_each(s->arguments, store_argument, s);
}

static int store_counters(struct hl_session *s)
{
	int i, err = 0;

	for (i = 0; i < CNT_COUNT && !err; i++) {
		uint64_t delta = s->counters[i] - s->counters_stored[i];

		if (!delta)
			continue;
		err = hl_store__add_counter(s->store, s->profile_id, counter_names[i],
					    (int64_t)delta);
		if (!err)
			s->counters_stored[i] = s->counters[i];
	}
	return err;
}

int hl_session__finish(struct hl_session *s, int exit_status)
{
	struct hl_profile_totals totals;
	struct hl_collector_stats st = {0};
	int err;

	/* Stop the sampler, then take all it already queued. */
	hl_collector__stats(s->collector, &st);
	s->consume_deadline_ns = UINT64_MAX;
	if (!s->error)
		hl_collector__consume(s->collector);
	{
		size_t cursor = 0;
		uint64_t key, v;

		while (hl_map__next(s->targets, &cursor, &key, &v))
			flush_held(s, (struct target *)(uintptr_t)v);
	}
	if (s->opts.window_ns && !s->error)
		hl_session__flush_window(s);
	err = s->error;
	hl_collector__free(s->collector);
	s->collector = NULL;

	totals = (struct hl_profile_totals){
		.end_ns = hl_now_realtime_ns(),
		.samples = s->samples,
		.lost = st.ringbuf_full,
		.truncated = s->truncated,
		.has_exit_status = exit_status >= 0,
		.exit_status = exit_status,
	};
	if (!err)
		err = hl_store__finish_profile(s->store, s->profile_id, &totals);
	async_totals(s);
	if (!err)
		err = store_arguments(s);
	if (!err)
		err = store_counters(s);
	if (!err && st.ringbuf_full)
		err = hl_store__add_counter(s->store, s->profile_id, "lost.ringbuf_full",
					    (int64_t)st.ringbuf_full);
	if (!err && st.events_lost)
		err = hl_store__add_counter(s->store, s->profile_id, "lost.process_events",
					    (int64_t)st.events_lost);
	if (!err)
		err = hl_store__commit(s->store);
	hl_store__close(s->store);
	free_targets(s);
	free_native(s);
	hl_intern__free(s->frames);
	hl_intern__free(s->stacks);
	hl_map__free(s->threads);
	hl_map__free(s->targets);
	free(s->astack);
	free(s->async_ids);
	hl_arguments__free(s->arguments);
	hl_intern__free(s->window_index);
	free(s->window_rows);
	close(s->epfd);
	free(s);
	return err;
}

/* ---- windows (the daemon) ------------------------------------------------------------------ */

/* Removes the thread entries of targets marked @releasing, then those targets. */
static void release_marked(struct hl_session *s)
{
	uint64_t key, v, *doomed = NULL;
	size_t cursor = 0, n = 0, cap = 0, i;

	while (hl_map__next(s->threads, &cursor, &key, &v)) {
		struct thread *th = (struct thread *)(uintptr_t)v;
		struct target *t = target_of(s, th->pid);
		bool idle = s->window_seq - th->last_window >= THREAD_IDLE_WINDOWS;

		if (!((t && t->exited && t->exited_ns == UINT64_MAX) || idle))
			continue;
		if (hl_grow((void **)&doomed, &cap, n + 1, sizeof(*doomed)))
			break; /* tried again at the next window */
		doomed[n++] = key;
	}
	for (i = 0; i < n; i++)
		if (hl_map__get(s->threads, doomed[i], &v)) {
			hl_map__delete(s->threads, doomed[i]);
			free((void *)(uintptr_t)v);
		}
	n = 0;
	cursor = 0;
	while (hl_map__next(s->targets, &cursor, &key, &v)) {
		struct target *t = (struct target *)(uintptr_t)v;

		if (!(t->exited && t->exited_ns == UINT64_MAX))
			continue;
		if (hl_grow((void **)&doomed, &cap, n + 1, sizeof(*doomed)))
			break;
		doomed[n++] = key;
	}
	for (i = 0; i < n; i++)
		if (hl_map__get(s->targets, doomed[i], &v)) {
			struct target *t = (struct target *)(uintptr_t)v;

			async_totals_of(s, t);
			hl_map__delete(s->targets, doomed[i]);
			free_target(t);
		}
	free(doomed);
}

/* Frees what exited processes held, once their last samples surely went through the ring
 * (their exit is handled after a drain; a second of margin), and forgets idle threads. */
static void release_exited(struct hl_session *s, uint64_t now)
{
	size_t cursor = 0;
	uint64_t key, v;

	while (hl_map__next(s->targets, &cursor, &key, &v)) {
		struct target *t = (struct target *)(uintptr_t)v;

		/* exited_ns UINT64_MAX marks "release now" for release_marked(). */
		if (t->exited && t->exited_ns != UINT64_MAX && now - t->exited_ns >= 1000000000ULL)
			t->exited_ns = UINT64_MAX;
	}
	release_marked(s);
}

static size_t cache_bytes(const struct hl_session *s)
{
	return hl_intern__memory(s->stacks) + hl_intern__memory(s->frames) +
	       hl_intern__memory(s->natives) + hl_store__cache_bytes(s->store) +
	       s->cap_native_entries * sizeof(*s->native_entries) +
	       s->cap_native_ids * sizeof(*s->native_ids);
}

/* Empties the stack, frame and native caches, and the store's caches of ids, when together
 * they outgrow WINDOW_CACHE_LIMIT.  Safe between samples: every id they hold stays valid in
 * the store, and nothing else refers to native entries by index across samples. */
static void bound_caches(struct hl_session *s)
{
	if (cache_bytes(s) < WINDOW_CACHE_LIMIT)
		return;
	hl_info("caches hold %zu KiB: emptying them (they refill on demand)",
		cache_bytes(s) >> 10);
	hl_intern__clear(s->stacks);
	hl_intern__clear(s->frames);
	hl_intern__clear(s->natives);
	hl_store__forget_caches(s->store);
	free(s->native_entries);
	free(s->native_ids);
	s->native_entries = NULL;
	s->native_ids = NULL;
	s->nr_native_entries = s->cap_native_entries = 0;
	s->nr_native_ids = s->cap_native_ids = 0;
}

int hl_session__flush_window(struct hl_session *s)
{
	uint64_t wall = hl_now_realtime_ns(), mono = hl_now_monotonic_ns();
	struct hl_collector_stats st = {0};
	struct hl_profile_totals totals;
	struct hl_window_info w;
	uint64_t time_us;
	int64_t id;
	size_t i;
	int err = 0;

	if (!s->opts.window_ns)
		return 0;
	if (s->error)
		return s->error;
	if (s->collector)
		hl_collector__stats(s->collector, &st);
	else
		st.ringbuf_full = s->window_lost_base;
	time_us = (s->window_start_mono - s->start_mono_ns) / 1000;
	w = (struct hl_window_info){
		.profile_id = s->profile_id,
		.start_ns = s->window_start_wall,
		.end_ns = HL_MAX(wall, s->window_start_wall),
		.lost = st.ringbuf_full - s->window_lost_base,
		.first_rowid = 0,
		.last_rowid = -1,
		.frequency_hz = s->frequency_hz,
		.time_us = time_us,
	};
	for (i = 0; i < s->nr_window_rows && !err; i++) {
		const struct window_row *r = &s->window_rows[i];
		int64_t rowid;

		/* A weight is 32 bits; a window at 100 kHz on one thread stays far below. */
		err = hl_store__add_window_sample(s->store, r->key.thread_id, r->key.stack_id,
						  (enum hl_thread_state)r->key.state,
						  (uint32_t)HL_MIN(r->count, UINT32_MAX));
		rowid = hl_store__last_rowid(s->store);
		if (!i)
			w.first_rowid = rowid;
		w.last_rowid = rowid;
		w.samples += r->count;
	}
	if (!err) {
		id = hl_store__add_window(s->store, &w);
		if (id < 0)
			err = (int)id;
	}
	totals = (struct hl_profile_totals){
		.end_ns = w.end_ns,
		.samples = s->samples,
		.lost = st.ringbuf_full,
		.truncated = s->truncated,
	};
	if (!err)
		err = hl_store__finish_profile(s->store, s->profile_id, &totals);
	if (!err)
		err = store_counters(s);
	if (!err)
		err = hl_store__commit(s->store);
	if (err) {
		fail(s, err, "cannot write a window");
		return err;
	}
	s->windows++;
	s->last_commit_ns = mono;
	release_exited(s, mono);
	bound_caches(s);
	open_window(s, wall, mono);
	return 0;
}

struct hl_store *hl_session__store(struct hl_session *s)
{
	return s->store;
}

int64_t hl_session__profile_id(const struct hl_session *s)
{
	return s->profile_id;
}

int hl_session__set_frequency(struct hl_session *s, uint32_t hz)
{
	int err = hl_collector__set_frequency(s->collector, hz);

	if (!err)
		s->frequency_hz = hz;
	return err;
}

bool hl_session__is_target(const struct hl_session *s, pid_t pid)
{
	const struct target *t = target_of(s, pid);

	return t && !t->exited;
}

void hl_session__for_each_target(const struct hl_session *s,
				 void (*cb)(const struct hl_target_info *info, void *ctx),
				 void *ctx)
{
	size_t cursor = 0;
	uint64_t key, v;

	while (hl_map__next(s->targets, &cursor, &key, &v)) {
		const struct target *t = (const struct target *)(uintptr_t)v;
		struct hl_target_info info = {
			.pid = t->pid,
			.python = t->detect == HL_PYDETECT_OK,
			.exited = t->exited,
			.python_version = t->detect == HL_PYDETECT_OK ? t->py.version : "",
			.service = t->service,
			.samples = t->samples,
		};

		cb(&info, ctx);
	}
}
