/* symbolize/pystack.h — a thread's Python stack, read from user space.
 *
 * The same walk the BPF sampler makes (collector/sample.bpf.c), for callers that have no
 * sample: `hotloop dump`.  Frames come out as the sampler's struct hl_py_frame (code object,
 * fingerprint, lasti, flags, generator), innermost first, so the same symbolization applies.
 *
 * The target keeps running while it is read (process_vm_readv, no ptrace stop): a thread
 * that runs meanwhile may be seen half-way through a call or a return, and its frames beyond
 * the current one may be reused.  The walk is bounded and every read checked, so such a torn
 * view ends with a status (read failed, cycle), never a crash or unbounded work; a thread
 * that is blocked (in a syscall, waiting for the GIL) is read exactly.
 */
#pragma once
#include <stdint.h>

#include "collector/python.h"
#include "collector/sample.h"

/* Walks the frames of the thread whose PyThreadState is @tstate into @frames (at most @max,
 * innermost first), sets *@n.  Returns an enum hl_py_status (HL_PY_OK, HL_PY_READ_FAILED,
 * HL_PY_TOO_DEEP, HL_PY_CYCLE, HL_PY_BAD_TSTATE), or -ESRCH when the process is gone. */
int hl_pystack_walk(const struct hl_python *py, uint64_t tstate, struct hl_py_frame *frames,
		    unsigned max, unsigned *n);

/* Whether the thread holds the GIL: an enum hl_sample_gil. */
int hl_pystack_gil(const struct hl_python *py, uint64_t tstate);

/* 3.13+: the thread state's `state`: 0 detached, 1 attached, 2 suspended (3.14: 3 shutting
 * down); -1 when the version has none or it cannot be read. */
int hl_pystack_attach_state(const struct hl_python *py, uint64_t tstate);
