/* symbolize/pyobject.h — reading CPython objects out of another process.
 *
 * The remote-object layer shared by symbolization (code object names and line tables),
 * thread naming and, later, asyncio and argument inspection.  Everything is bounded: string
 * lengths, bytes sizes and container walks have caps, and a failed or implausible read is an
 * error, never a crash.  Layouts come from struct hl_pyver (collector/pyoffsets.h).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "collector/pyoffsets.h"

#define HL_PYSTR_MAX 4096	     /* longest str we decode, in code points */
#define HL_PYBYTES_MAX (1u << 20) /* largest bytes object we copy */

struct hl_pyreader {
	pid_t pid;
	const struct hl_pyver *ver;
};

/* Decodes @bytes of raw str character data, @kind (1, 2 or 4) bytes per character, to a
 * malloc'ed NUL-terminated UTF-8 string.  Returns 0, -EINVAL (bad kind) or -ENOMEM. */
int hl_pystr_decode(const void *raw, size_t bytes, unsigned kind, char **out);

/* Decodes the str object at @addr to UTF-8 in a malloc'ed, NUL-terminated string.  Returns 0
 * or -EFAULT (unreadable), -EINVAL (not a str layout we know), -E2BIG (over HL_PYSTR_MAX). */
int hl_pyobj_read_str(const struct hl_pyreader *r, uint64_t addr, char **out);

/* Copies the contents of the bytes object at @addr into a malloc'ed buffer.  Returns 0 or
 * -EFAULT, -E2BIG (over HL_PYBYTES_MAX). */
int hl_pyobj_read_bytes(const struct hl_pyreader *r, uint64_t addr, uint8_t **out, size_t *len);

/* The object's type (ob_type).  Returns 0 or -EFAULT. */
int hl_pyobj_type(const struct hl_pyreader *r, uint64_t addr, uint64_t *type);
