/* common/intern.h — an exact cache from byte strings to int64 ids.
 *
 * The deduplication behind every "have we seen this before" of the pipeline: functions,
 * frames and stacks in the store, raw stacks in the recorder.  A 64-bit hash of the key's
 * bytes leads to an entry holding those bytes and the id; a hash already taken by a different
 * key moves on to hash + 1, hash + 2, ..., so a hit is always the same bytes, never a
 * collision.  Keys are copied into an arena owned by the cache.  Not thread-safe.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hl_intern;

/* Returns NULL with errno set. */
struct hl_intern *hl_intern__new(void);
/* Accepts NULL. */
void hl_intern__free(struct hl_intern *in);

/* On a hit returns true with *id set.  On a miss returns false with *slot set to what
 * hl_intern__add needs to file the key. */
bool hl_intern__find(const struct hl_intern *in, const void *key, size_t len, uint64_t *slot,
		     int64_t *id);
/* Files @key (a miss of hl_intern__find, with no add in between) under @id.  Returns 0 or
 * -ENOMEM, in which case the cache is unchanged: callers treat caching as an optimization. */
int hl_intern__add(struct hl_intern *in, uint64_t slot, const void *key, size_t len, int64_t id);
/* Forgets every key (e.g. after a rolled-back transaction took the rows away). */
void hl_intern__clear(struct hl_intern *in);
size_t hl_intern__count(const struct hl_intern *in);
/* Bytes held by the cache: keys, entries and the hash table. */
size_t hl_intern__memory(const struct hl_intern *in);
