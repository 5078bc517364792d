/* common/hashmap.h — an open-addressing map from uint64_t keys to uint64_t values.
 *
 * The workhorse of the per-sample path (thread ids, code object addresses, stack hashes), so it
 * is small and allocation-free on lookups.  Values are plain integers; store an index or a
 * pointer cast to uintptr_t when more is needed.  Not thread-safe.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hl_map;

/* Returns NULL and sets errno (ENOMEM) on failure. */
struct hl_map *hl_map__new(size_t capacity_hint);
/* Accepts NULL. */
void hl_map__free(struct hl_map *map);

bool hl_map__get(const struct hl_map *map, uint64_t key, uint64_t *value);
/* Inserts or replaces.  Returns 0, or -ENOMEM (the map is unchanged). */
int hl_map__set(struct hl_map *map, uint64_t key, uint64_t value);
/* Returns true when the key was present. */
bool hl_map__delete(struct hl_map *map, uint64_t key);
size_t hl_map__count(const struct hl_map *map);
void hl_map__clear(struct hl_map *map);

/* Iteration: start with *cursor = 0; returns false at the end.  The map must not be modified
 * during iteration except through hl_map__delete of the key just returned, which may make
 * iteration skip or repeat entries: collect keys first when deleting many. */
bool hl_map__next(const struct hl_map *map, size_t *cursor, uint64_t *key, uint64_t *value);
