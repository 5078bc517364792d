/* symbolize/elf.h — reading ELF files with libelf: symbols, sections, load bias, build id.
 *
 * An hl_elf is one file opened read-only and memory-mapped by libelf.  Used by the collector
 * to find an interpreter's runtime in a target's binaries, and by the native symbolizer.
 * Not responsible for finding the file (callers pass a path or an fd, e.g. from
 * /proc/PID/map_files for a deleted binary).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hl_elf;

/* Opens @path (or takes ownership of @fd when path is NULL).  Returns NULL with errno set:
 * ENOENT/EACCES from open, ENOEXEC when the file is not an ELF object this build reads. */
struct hl_elf *hl_elf__open(const char *path);
struct hl_elf *hl_elf__open_fd(int fd);
/* Accepts NULL. */
void hl_elf__free(struct hl_elf *elf);

/* Opens an ELF image held in memory (e.g. a process's [vdso]); @buf must outlive the
 * object.  NULL with errno set. */
struct hl_elf *hl_elf__open_mem(void *buf, size_t size);

/* The libelf handle, for libdw (dwarf_getcfi_elf, dwarf_begin_elf).  Valid until
 * hl_elf__free. */
struct Elf;
struct Elf *hl_elf__libelf(struct hl_elf *elf);

/* ET_EXEC (fixed addresses) or ET_DYN (PIE, shared library). */
bool hl_elf__is_dyn(const struct hl_elf *elf);

/* Looks @name up in .dynsym, then .symtab.  Returns 0 and the symbol's virtual address and
 * size, or -ENOENT. */
int hl_elf__find_symbol(struct hl_elf *elf, const char *name, uint64_t *vaddr, uint64_t *size);

/* Finds section @name.  *data points into the mapped file (NULL for SHT_NOBITS) and stays
 * valid until hl_elf__free.  Returns 0 or -ENOENT. */
int hl_elf__find_section(struct hl_elf *elf, const char *name, uint64_t *vaddr, uint64_t *size,
			 const void **data);

/* Copies @len bytes of initialized data at virtual address @vaddr from the file image (a
 * PT_LOAD segment's file part).  Returns 0, or -ENOENT when the range is not backed by the
 * file (e.g. .bss). */
int hl_elf__read_vaddr(struct hl_elf *elf, uint64_t vaddr, void *buf, size_t len);

/* The difference between runtime and file virtual addresses for a process that mapped file
 * offset @map_offset at @map_start.  Returns 0 or -ENOENT when no PT_LOAD segment starts at
 * that (page-aligned) offset. */
int hl_elf__load_bias(struct hl_elf *elf, uint64_t map_start, uint64_t map_offset,
		      uint64_t *bias);

/* Whether the dynamic section lists a DT_NEEDED library whose name starts with @prefix. */
bool hl_elf__needs(struct hl_elf *elf, const char *prefix);

/* Copies the GNU build id (hex, NUL-terminated) into @buf.  Returns 0 or -ENOENT. */
int hl_elf__build_id(struct hl_elf *elf, char *buf, size_t size);

/* Calls @cb for every NUL-terminated string of at least @min_len printable bytes in section
 * @section (e.g. ".rodata"); stops when cb returns non-zero and returns that value. */
int hl_elf__for_each_string(struct hl_elf *elf, const char *section, size_t min_len,
			    int (*cb)(const char *s, size_t len, void *arg), void *arg);
