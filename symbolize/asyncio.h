/* symbolize/asyncio.h — asyncio tasks of a live CPython process, read from outside.
 *
 * Turns the physical Python stack of a sample into the pieces of its logical stack: which
 * task was running (the task whose coroutine is the outermost coroutine frame of the
 * sample), the chain of tasks awaiting it up to the root task, and the coroutine frames each
 * of those is suspended in.  Also lists every pending task of a process with its coroutine
 * stack and its awaiters, for `hotloop dump --async`.
 *
 * How, per version (docs/internals.md, "asyncio", has the reasons and the measurements):
 *  - the running task: a coroutine is mapped to its task through a cache filled from the
 *    task running at read time (3.8–3.13 asyncio.tasks._current_tasks, 3.14 the thread
 *    state's asyncio_running_task) and, when that misses, from a scan of the task registries
 *    (3.8–3.11 _all_tasks, 3.12–3.13 _scheduled_tasks and _eager_tasks, 3.14 the per-thread
 *    and per-interpreter task lists), rate-limited so scans cost a bounded share of time;
 *  - the awaiters: 3.14 task_awaited_by; otherwise, and as a fallback, the awaited future's
 *    done callbacks: a task's wakeup (the awaiting task itself), or the callbacks of gather,
 *    shield, wait, wait_for, TaskGroup and as_completed, which lead through a future, a
 *    TaskGroup or a queue to it.  Every edge is validated (the awaiting task is pending and
 *    waits for that very future) before it is used.
 *
 * Every read of the target is bounded and checked: a torn read, a cycle, a task that
 * finished between the sample and the read, or 10,000 pending tasks give an outcome saying
 * why the sample could not be attributed, never a wrong task, a crash or unbounded work.
 * Reads are not atomic with the sample: a task that finished, and whose task and coroutine
 * addresses were both reused by a new task before the read, is indistinguishable from it.
 *
 * Not responsible for naming frames (symbolize/pycode.h) or for the stack layout in the store
 * (cli/session.c).  Not thread-safe: one reader per process, used from one thread.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "collector/python.h"
#include "collector/sample.h"

#define HL_ASYNC_MAX_TASKS 32	 /* tasks in one logical stack: the running one and awaiters */
#define HL_ASYNC_MAX_FRAMES 256	 /* suspended coroutine frames in one logical stack */
#define HL_ASYNC_CORO_DEPTH 64	 /* coroutines followed along one await chain */
#define HL_ASYNC_MAX_INNER 4	 /* tasks started eagerly inside the running one (3.12+) */
#define HL_ASYNC_MAX_AWAITERS 16 /* awaiters listed for one task */
#define HL_ASYNC_NAME_MAX 128	 /* bytes of a task name kept, NUL included */
#define HL_ASYNC_SCAN_MAX 65536	 /* tasks one registry walk reads at most */

enum hl_async_outcome {
	HL_ASYNC_NOT_IN_TASK = 0, /* no coroutine frame (or asyncio not in use): nothing to do */
	HL_ASYNC_ATTRIBUTED,	  /* the running task and its awaiters were found */
	HL_ASYNC_NO_TASK,	  /* coroutine frames, but no live task runs them: the task
				     finished before the read, or the coroutine is driven by hand */
	HL_ASYNC_READ_FAILED,	  /* the task graph could not be read (freed or torn meanwhile) */
	HL_ASYNC_CYCLE,		  /* the awaiter chain loops */
	HL_ASYNC_TOO_DEEP,	  /* more awaiting tasks than HL_ASYNC_MAX_TASKS */
	HL_ASYNC_OUTCOMES,
};

/* A coroutine frame as the sampler would have reported it (struct hl_py_frame). */
struct hl_async_frame {
	uint64_t code;
	uint64_t fingerprint;
	int32_t lasti;
	uint32_t flags; /* enum hl_py_frame_flags */
};

struct hl_async_task {
	uint64_t addr;
	char name[HL_ASYNC_NAME_MAX]; /* UTF-8; "Task-N" for a default name */
	bool default_name;	      /* named by asyncio's counter, not by the program */
	uint16_t awaited_by;	      /* tasks awaiting it; > 1: the one shown is one of them */
	uint16_t first_frame;	      /* its suspended coroutine frames: frames[first_frame ...] */
	uint16_t n_frames;	      /* outermost first; 0 for the running task */
};

/* The logical part of one sample's stack. */
struct hl_async_stack {
	int outcome; /* enum hl_async_outcome */
	/* Index in the sample's frames (innermost first) of the running task's coroutine frame:
	 * the frames from there inward ran in the task, those outside it are the event loop. */
	int boundary;
	unsigned n_tasks; /* tasks[0] is the root, tasks[n_tasks - 1] the running task */
	struct hl_async_task tasks[HL_ASYNC_MAX_TASKS];
	unsigned n_frames;
	struct hl_async_frame frames[HL_ASYNC_MAX_FRAMES];
	/* Tasks started inside the running one and still on the stack (eager tasks, 3.12+):
	 * index of their coroutine frame in the sample's frames, outermost first. */
	unsigned n_inner;
	int inner_index[HL_ASYNC_MAX_INNER];
	struct hl_async_task inner[HL_ASYNC_MAX_INNER];
};

/* One pending task, for dumps. */
struct hl_async_task_info {
	uint64_t addr;
	uint64_t coro;
	char name[HL_ASYNC_NAME_MAX];
	bool default_name;
	bool running;	  /* its coroutine is executing (it is some thread's running task) */
	unsigned n_frames; /* its coroutine chain, outermost first */
	struct hl_async_frame frames[HL_ASYNC_CORO_DEPTH];
	unsigned n_awaiters;	   /* listed below */
	unsigned awaiters_total;   /* found (may exceed the list) */
	uint64_t awaiters[HL_ASYNC_MAX_AWAITERS];
};

struct hl_asyncio_stats {
	uint64_t resolves;    /* hl_asyncio__resolve calls that looked for a task */
	uint64_t cache_hits;  /* ... answered from the per-task cache */
	uint64_t scans;	      /* registry scans */
	uint64_t scan_ns;     /* their total wall time */
	uint64_t scan_tasks;  /* tasks seen by the last scan */
	uint64_t resolve_ns;  /* time spent in hl_asyncio__resolve, scans included */
};

struct hl_asyncio;

/* A reader for the process described by @py (hl_python_detect: HL_PYDETECT_OK), which must
 * outlive it.  Reads nothing yet.  NULL with errno set (ENOMEM). */
struct hl_asyncio *hl_asyncio__new(const struct hl_python *py);
/* Accepts NULL. */
void hl_asyncio__free(struct hl_asyncio *a);

/* Whether the process uses asyncio: asyncio.tasks is imported and its C Task can be read.
 * Checked against the target while it is not (a few hundred reads of sys.modules) after
 * 16 ms, then at doubling intervals up to @recheck_ns; never again once it is.
 * @now_ns: CLOCK_MONOTONIC. */
bool hl_asyncio__active(struct hl_asyncio *a, uint64_t now_ns, uint64_t recheck_ns);

/* Whether any of @frames (a sample's, innermost first) belongs to a coroutine: the cheap
 * test before hl_asyncio__resolve, reading nothing. */
bool hl_asyncio_has_coroutine_frame(const struct hl_py_frame *frames, unsigned n);

/* Finds the task running @frames (a sample of the thread whose PyThreadState is @tstate,
 * innermost first), its awaiters and their suspended coroutine frames.  Fills @out and
 * returns its outcome (enum hl_async_outcome), or a negative errno when the process is gone
 * (-ESRCH) or unreadable (-EPERM).  @now_ns: CLOCK_MONOTONIC, for the caches and the scan
 * rate limit.  Costs a few dozen reads of the target when nothing is cached, a handful when
 * the running task was resolved in the last few milliseconds; a registry scan (rate-
 * limited) when the running task is not known yet. */
int hl_asyncio__resolve(struct hl_asyncio *a, const struct hl_py_frame *frames, unsigned n,
			uint64_t tstate, uint64_t now_ns, struct hl_async_stack *out);

/* The logical stack above the pending task @task as if it were running: the tasks awaiting
 * it up to the root and their suspended frames (@out->boundary is -1).  Returns its outcome
 * (enum hl_async_outcome), -EINVAL when @task is not a pending task, or -errno. */
int hl_asyncio__awaiter_stack(struct hl_asyncio *a, uint64_t task, struct hl_async_stack *out);

/* Calls @cb(task, arg) for each pending task in the registries, at most
 * HL_ASYNC_SCAN_MAX.  Stops when @cb returns non-zero.  Returns 0 or -errno (-ENOENT:
 * asyncio is not in use). */
int hl_asyncio__for_each_task(struct hl_asyncio *a, int (*cb)(uint64_t task, void *arg),
			      void *arg);

/* Describes the pending task at @task: name, coroutine chain, the tasks awaiting it.
 * Returns 0, -EINVAL when @task is not a pending task, or -errno. */
int hl_asyncio__task_info(struct hl_asyncio *a, uint64_t task, struct hl_async_task_info *out);

/* Reads the await chain starting at coroutine @coro into @frames (outermost first), at most
 * @max.  Returns the number of frames (0 when @coro is not a coroutine) or -errno. */
int hl_asyncio__coro_chain(struct hl_asyncio *a, uint64_t coro, struct hl_async_frame *frames,
			   unsigned max);

/* The running task of the thread whose PyThreadState is @tstate, as the interpreter says at
 * the time of the call (0 if none).  Returns 0 or -errno. */
int hl_asyncio__running_task(struct hl_asyncio *a, uint64_t tstate, uint64_t *task);

void hl_asyncio__stats(const struct hl_asyncio *a, struct hl_asyncio_stats *out);

/* The name asyncio shows for enum hl_async_outcome @o ("attributed", "no_task", ...). */
const char *hl_async_outcome_name(int o);
