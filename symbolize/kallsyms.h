/* symbolize/kallsyms.h — kernel function names from /proc/kallsyms.
 *
 * /proc/kallsyms lists every kernel symbol as "ADDRESS TYPE NAME[\t[MODULE]]".  This module
 * keeps the text symbols (types t, T, w, W) of the kernel and of its modules, sorted, and
 * answers "which function holds this kernel address".  kallsyms has no sizes: a function
 * ends where the next text symbol starts (and at most HL_KSYM_MAX_SPAN after its own start,
 * so an address past the last symbol of an area is not pinned on it).  The parser takes a
 * buffer (no I/O) so it can be fuzzed; hl_kallsyms__load reads the file.
 *
 * Without CAP_SYSLOG (or with kernel.kptr_restrict=2) the kernel prints every address as
 * zero: that is reported as -EPERM, never as a table of symbols all at address 0.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define HL_KSYM_MAX_SPAN (1u << 20)

struct hl_ksym {
	uint64_t start, end; /* end: the next symbol's start, at most start + HL_KSYM_MAX_SPAN */
	const char *name;
	const char *module; /* "ext4" for "[ext4]", NULL for the kernel image */
};

struct hl_kallsyms;

/* Parses the @len bytes of kallsyms text at @buf into a new table (*@out).  Malformed lines
 * are skipped and counted.  Returns 0, -EPERM when every address is zero (kptr_restrict),
 * -ENOENT when there is no text symbol, or -ENOMEM. */
int hl_kallsyms__parse(const char *buf, size_t len, struct hl_kallsyms **out);
/* Reads and parses @path (NULL: /proc/kallsyms).  As hl_kallsyms__parse, plus -errno from
 * reading; -EPERM comes with an explanation on stderr. */
int hl_kallsyms__load(const char *path, struct hl_kallsyms **out);
/* Accepts NULL. */
void hl_kallsyms__free(struct hl_kallsyms *ks);

/* The function holding @addr, or NULL.  Valid until hl_kallsyms__free. */
const struct hl_ksym *hl_kallsyms__find(const struct hl_kallsyms *ks, uint64_t addr);

/* Symbols kept, and lines skipped as malformed. */
size_t hl_kallsyms__count(const struct hl_kallsyms *ks);
size_t hl_kallsyms__malformed(const struct hl_kallsyms *ks);
