/* symbolize/binary.h — the executable files targets map, each opened once.
 *
 * A binary is an ELF file (an executable, a shared library, the kernel's [vdso]) identified
 * by its GNU build id, or by (device, inode, size, mtime) when it has none, so a library that
 * a thousand processes map is opened and analysed once — and a file replaced on disk while a
 * process still runs the old one is not confused with it (that process's copy is reached
 * through /proc/PID/map_files).  What the unwinder and the native symbolizer learn about a
 * binary (unwind tables, symbols, debug info) hangs off it and lives as long as the cache.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "symbolize/maps.h"

#define HL_BUILD_ID_MAX 129 /* hex digits of the longest build id we keep, and a NUL */

struct hl_elf;
struct hl_unwind_table; /* symbolize/unwind.c */
struct hl_symbols;	/* symbolize/native.c */

struct hl_binary {
	char *path;			  /* as the first process to map it named it */
	char build_id[HL_BUILD_ID_MAX];	  /* hex, "" when the file has none */
	uint64_t dev, inode, size, mtime; /* identity when there is no build id */
	struct hl_elf *elf;
	bool is_dyn;		     /* ET_DYN: PIE or shared library */
	bool in_memory;		     /* read from the target's memory ([vdso]) */
	void *image;		     /* the copy behind an in-memory binary */
	struct hl_unwind_table *unwind; /* owned by symbolize/unwind.c, freed with the binary */
	struct hl_symbols *symbols;	/* owned by symbolize/native.c, freed with the binary */
};

struct hl_binary_cache;

/* NULL with errno set. */
struct hl_binary_cache *hl_binary_cache__new(void);
/* Frees every binary.  Accepts NULL. */
void hl_binary_cache__free(struct hl_binary_cache *cache);

/* The binary behind file mapping @m of process @pid, opened through /proc/@pid/map_files (so
 * deleted files and files in other mount namespaces are reached), else /proc/@pid/root, else
 * the path itself; [vdso] is copied from the process's memory.  Returns NULL with errno set
 * (ENOENT for anonymous mappings and unreadable files, ENOEXEC for non-ELF files).  Valid
 * until the cache is freed. */
struct hl_binary *hl_binary_cache__get(struct hl_binary_cache *cache, pid_t pid,
				       const struct hl_mapping *m);

/* Number of binaries held (for tests and status). */
unsigned hl_binary_cache__count(const struct hl_binary_cache *cache);
