/* symbolize/perfmap.h — perf map files: names for code in anonymous memory.
 *
 * JITs, and CPython 3.12+ under `-X perf` / PYTHONPERFSUPPORT=1, describe the code they
 * generate in /tmp/perf-PID.map, one line per piece of code, appended while the process runs:
 *
 *     START SIZE NAME\n        START and SIZE in hex (an optional 0x is accepted), NAME the
 *                              rest of the line, spaces included
 *
 * CPython names its trampolines "py::QUALNAME:FILENAME".  A perf map is a table from address
 * ranges to names.  hl_perfmap__parse takes bytes and does no I/O (it can be fuzzed);
 * hl_perfmap__update is the loader that reads what the file gained since the last call.
 * Which file belongs to a process (containers) is hl_perfmap_path's job.  The file is written
 * by the target, so everything is bounded: line length, entry count, bytes read per update.
 * Not thread-safe.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HL_PERFMAP_MAX_LINE    4096	  /* longer lines are skipped as malformed */
#define HL_PERFMAP_MAX_ENTRIES (4u << 20) /* later lines are dropped (and counted) */

struct hl_perfmap_sym {
	uint64_t start, end; /* absolute addresses in the process, end exclusive */
	const char *name;    /* valid until hl_perfmap__free */
};

struct hl_perfmap;

/* NULL with errno set. */
struct hl_perfmap *hl_perfmap__new(void);
/* Accepts NULL. */
void hl_perfmap__free(struct hl_perfmap *pm);

/* Adds the complete lines of the @len bytes at @buf.  Returns the number of bytes consumed —
 * up to and including the last newline, so a caller reading a growing file passes the rest
 * again with what follows — or -ENOMEM.  Malformed lines (bad numbers, size 0, a range that
 * wraps, no name, a NUL byte, over HL_PERFMAP_MAX_LINE) are skipped and counted; a line still
 * without a newline after HL_PERFMAP_MAX_LINE bytes is consumed and skipped up to its
 * newline. */
ssize_t hl_perfmap__parse(struct hl_perfmap *pm, const char *buf, size_t len);

/* The entry containing @addr, or NULL.  When several entries start at the same address the
 * one added last wins (a JIT reusing memory); for other overlaps the entry with the greatest
 * start at or below @addr is the only candidate.  The pointer is valid until the next parse,
 * update or free. */
const struct hl_perfmap_sym *hl_perfmap__find(struct hl_perfmap *pm, uint64_t addr);

/* Reads the bytes @path gained since the last update and parses them; starts over when the
 * file was replaced (another inode) or shrank.  Returns 0, or -errno from open/read (-ENOENT:
 * the process writes no perf map).  At most 64 MiB are read per call. */
int hl_perfmap__update(struct hl_perfmap *pm, const char *path);

size_t hl_perfmap__count(const struct hl_perfmap *pm);
/* Lines skipped as malformed, and lines dropped past HL_PERFMAP_MAX_ENTRIES. */
size_t hl_perfmap__malformed(const struct hl_perfmap *pm);
size_t hl_perfmap__dropped(const struct hl_perfmap *pm);

/* The pid of the process in its own pid namespace: the last field of the "NSpid:" line of
 * /proc/PID/status text @status (@len bytes).  Returns 0, or -ENOENT when there is no such
 * line (kernels before 4.1), -EINVAL when it is malformed. */
int hl_perfmap_parse_nspid(const char *status, size_t len, pid_t *nspid);

/* The path of process @pid's perf map as seen from here: /proc/PID/root/tmp/perf-NSPID.map,
 * which is right for processes in containers (other mount and pid namespaces) as well as on
 * the host.  Returns 0 or -errno (-ESRCH: the process is gone). */
int hl_perfmap_path(pid_t pid, char *buf, size_t size);
