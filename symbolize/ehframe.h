/* symbolize/ehframe.h — the address ranges of the FDEs of an .eh_frame or .debug_frame.
 *
 * Every function a compiler emits gets a Frame Description Entry, also the static functions a
 * stripped binary has no symbol for and the `.cold` pieces split off a hot function, so the
 * FDE containing an address gives the start of the function (or piece) it is in.  This module
 * only lists the ranges [initial_location, initial_location + address_range); it does not
 * interpret call frame instructions (symbolize/unwind.c and libdw do).  libdw's
 * dwarf_frame_info is no substitute: it reports the range of one CFI row, not of the FDE.
 *
 * The parser takes the section's bytes and does no I/O, so it can be fuzzed; the section
 * comes from a file a target chose, so every read is bounded by @size and the output by the
 * number of entries that fit.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hl_fde_range {
	uint64_t start, end; /* virtual addresses, end exclusive */
};

struct hl_fde_table {
	struct hl_fde_range *ranges; /* sorted by start, non-empty ranges only */
	size_t count;
};

enum hl_ehframe_kind {
	HL_EHFRAME,	/* .eh_frame: CIE id 0, CIE pointers relative, GNU pointer encodings */
	HL_DEBUG_FRAME, /* .debug_frame: CIE id ~0, CIE pointers are section offsets */
};

/* Parses the @size bytes of a section loaded at virtual address @vaddr (needed to resolve
 * pc-relative pointers; 0 for .debug_frame) of an ELF file whose addresses are @addr_size
 * (4 or 8) bytes, and appends the FDE ranges to @table (which may already hold ranges, e.g.
 * from a second section; zeroed to start).  FDEs with pointer encodings that cannot be
 * resolved from the section alone (datarel, textrel, funcrel, indirect) are skipped; a
 * malformed entry ends the walk, keeping what came before it.  Returns 0, -EINVAL when
 * nothing could be read at all, or -ENOMEM.  Call hl_fde_table__finish when done appending. */
int hl_fde_table__parse(struct hl_fde_table *table, const void *data, size_t size, uint64_t vaddr,
			unsigned addr_size, enum hl_ehframe_kind kind);
/* Sorts the table and removes duplicates; call once after the last parse. */
void hl_fde_table__finish(struct hl_fde_table *table);
/* Accepts a zeroed table. */
void hl_fde_table__release(struct hl_fde_table *table);

/* The FDE range containing @addr, or NULL.  Overlapping FDEs (only in malformed input) give
 * one of them. */
const struct hl_fde_range *hl_fde_table__find(const struct hl_fde_table *table, uint64_t addr);
