/* symbolize/maps.h — parsing /proc/PID/maps.
 *
 * The parser takes a buffer and does no I/O, so it can be tested and fuzzed on its own;
 * hl_maps__read is the one function that reads procfs.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hl_mapping {
	uint64_t start;
	uint64_t end;
	uint64_t offset; /* file offset of start */
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	bool readable, writable, executable;
	bool deleted;	  /* path ended in " (deleted)", which is stripped from path */
	const char *path; /* "" for anonymous; pseudo paths like "[stack]" kept as is */
};

struct hl_maps {
	struct hl_mapping *entries;
	size_t count;
	char *text; /* owns the path strings */
};

/* Parses a maps file held in @text (taking ownership of it: freed by hl_maps__release,
 * also on error).  Malformed lines are an error (-EINVAL): procfs does not produce them. */
int hl_maps__parse(struct hl_maps *maps, char *text);
/* Reads and parses /proc/@pid/maps.  Returns 0 or -errno (-ESRCH when the process is gone). */
int hl_maps__read(struct hl_maps *maps, pid_t pid);
/* Accepts a zeroed struct. */
void hl_maps__release(struct hl_maps *maps);
/* The mapping containing @addr, or NULL.  Valid until hl_maps__release. */
const struct hl_mapping *hl_maps__find(const struct hl_maps *maps, uint64_t addr);
