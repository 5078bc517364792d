/* collector/python.h — finding and describing the CPython interpreter inside a target.
 *
 * Run once when a process is first seen (and again after exec): finds the binary that holds
 * _PyRuntime (libpython or the executable itself), learns the version and build, takes the
 * struct layouts from _Py_DebugOffsets (3.13+) or the tables in pyoffsets.c, and locates each
 * thread's PyThreadState through glibc's thread-specific data, so the BPF sampler can read
 * Python frames of any thread — including one that released the GIL.  The result is the
 * struct hl_proc handed to BPF plus what user space needs to symbolize code objects.
 *
 * Not responsible for reading frames (the BPF side does) or naming code objects (symbolize/).
 */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collector/pyoffsets.h"
#include "collector/sample.h"

enum hl_pydetect {
	HL_PYDETECT_OK = 0,	     /* interpreter found and initialized: bpf is valid */
	HL_PYDETECT_NOT_PYTHON = 1,  /* no interpreter mapped in this process */
	HL_PYDETECT_NOT_READY = 2,   /* interpreter mapped but not initialized yet: retry */
	HL_PYDETECT_UNSUPPORTED = 3, /* found, but this version or build cannot be read */
};

struct hl_python {
	pid_t pid;
	unsigned major, minor, micro;
	char version[32];	/* "3.12.1", or "3.8" when the patch level is unknown */
	char binary[PATH_MAX];	/* the ELF holding _PyRuntime, as the target maps it */
	char status[512];	/* why not OK, in words a user can act on */
	uint64_t runtime;	/* _PyRuntime in the target */
	uint64_t code_type;	/* &PyCode_Type in the target, 0 if unknown */
	struct hl_pyver ver;	/* layouts, debug offsets applied */
	struct hl_proc bpf;	/* for the sampler's procs map */
};

/* Examines process @pid.  Returns an enum hl_pydetect value with @out filled as far as it
 * got (status explains anything but OK), or -ESRCH when the process is gone, -EPERM when its
 * memory cannot be read. */
int hl_python_detect(pid_t pid, struct hl_python *out);

/* For a @py that hl_python_detect left HL_PYDETECT_NOT_READY: checks again, cheaply (a few
 * reads of the target's memory, no ELF work), whether the interpreter is initialized now.
 * Returns as hl_python_detect. */
int hl_python_ready(struct hl_python *py);

/* Parses an interpreter file name ("python3.12", "libpython3.11.so.1.0", "python3.13t",
 * "libpython3.11d.so").  Returns true with the version and ABI flags ("", "t", "d", ...). */
bool hl_python_parse_filename(const char *basename, unsigned *major, unsigned *minor,
			      char *abiflags, size_t abiflags_size);

/* Calls @cb for each PyThreadState of the main interpreter (at most @limit), with its
 * pthread_t and, on 3.11+, its native thread id (0 before 3.11).  Stops when @cb returns
 * non-zero.  Returns 0 or -errno. */
int hl_python_for_each_thread(const struct hl_python *py, unsigned limit,
			      int (*cb)(uint64_t tstate, uint64_t pthread_id, uint32_t native_tid,
					void *arg),
			      void *arg);
