/* symbolize/pythreads.h — the names Python code gave its threads.
 *
 * A profile is easier to read with "alpha-worker" than with a thread id.  The name lives in
 * the threading module, not in the interpreter: threading._active maps each thread's ident
 * (threading.get_ident(), which is pthread_self() and so equals PyThreadState.thread_id)
 * to its Thread object, whose _name attribute is the name.  This module reads that out of a
 * running process with symbolize/pyobject.h.
 *
 * Not responsible for the OS thread names (/proc/PID/task/TID/comm) or for threads that
 * threading does not know (started with _thread or from C and never asked for
 * current_thread()).  Threads in threading._limbo — started, but not yet running their
 * bootstrap — are not reported: they have no ident yet, and appear in _active microseconds
 * later, so a caller that refreshes names periodically sees them on its next pass.
 */
#pragma once
#include <stdint.h>

#include "collector/python.h"

#define HL_PYTHREADS_MAX 4096 /* most threads named per call */

/* Calls @cb(ident, name, arg) for each thread in threading._active of the process described
 * by @py (from hl_python_detect).  @name is UTF-8 and valid only during the call.  Threads
 * whose entry cannot be read (a torn read, a Thread without _name) are skipped.  Stops when
 * @cb returns non-zero: a negative value is returned, a positive one ends the walk with 0.
 * Returns 0, -ENOENT when the process has not imported threading, -EINVAL when
 * threading._active is not a dict, or another -errno when it cannot be read. */
int hl_python_thread_names(const struct hl_python *py,
			   int (*cb)(uint64_t ident, const char *name, void *arg), void *arg);
