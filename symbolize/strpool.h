/* symbolize/strpool.h — interned, address-stable strings.
 *
 * The symbolizers hand out `const char *` names (functions, source files, perf map entries)
 * that callers keep for as long as the owning cache lives, so a string, once added, never
 * moves: strings are packed into fixed blocks that are never reallocated.  Adding the same
 * bytes twice returns the same pointer, so equal names compare equal as pointers.  Not
 * thread-safe.
 */
#pragma once
#include <stddef.h>

struct hl_strpool;

/* NULL with errno set (ENOMEM). */
struct hl_strpool *hl_strpool__new(void);
/* Frees every string.  Accepts NULL. */
void hl_strpool__free(struct hl_strpool *pool);

/* The pooled, NUL-terminated copy of the @len bytes at @s (which need not be terminated and
 * should not contain NUL).  Valid until hl_strpool__free.  NULL on allocation failure. */
const char *hl_strpool__add(struct hl_strpool *pool, const char *s, size_t len);
/* Same for a NUL-terminated string. */
const char *hl_strpool__add_str(struct hl_strpool *pool, const char *s);

/* Frees the index that finds duplicates, for a pool that is complete (the kernel's symbols
 * once parsed: 200,000 names, 4 MiB and more of index).  Strings stay valid; a string added
 * later is copied without looking for an earlier equal one. */
void hl_strpool__seal(struct hl_strpool *pool);

/* Distinct strings held, and bytes used (blocks and index). */
size_t hl_strpool__count(const struct hl_strpool *pool);
size_t hl_strpool__memory(const struct hl_strpool *pool);
