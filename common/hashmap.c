/* common/hashmap.c — linear probing with backward-shift deletion (no tombstones), so lookups
 * stay short however many inserts and deletes a long daemon run makes. */
#include "common/hashmap.h"
#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>

struct slot {
	uint64_t key;
	uint64_t value;
	bool used;
};

struct hl_map {
	struct slot *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
	size_t count;
};

static size_t slot_of(const struct hl_map *map, uint64_t key)
{
	return hl_hash_u64(key) & map->mask;
}

static int alloc_slots(struct hl_map *map, size_t capacity)
{
	struct slot *slots = calloc(capacity, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	map->slots = slots;
	map->mask = capacity - 1;
	map->count = 0;
	return 0;
}

struct hl_map *hl_map__new(size_t capacity_hint)
{
	struct hl_map *map = calloc(1, sizeof(*map));
	size_t capacity = 16;

	if (!map)
		return NULL;
	while (capacity < capacity_hint * 2)
		capacity <<= 1;
	if (alloc_slots(map, capacity)) {
		free(map);
		errno = ENOMEM;
		return NULL;
	}
	return map;
}

void hl_map__free(struct hl_map *map)
{
	if (!map)
		return;
	free(map->slots);
	free(map);
}

static struct slot *find(const struct hl_map *map, uint64_t key)
{
	size_t i = slot_of(map, key);

	for (;;) {
		struct slot *s = &map->slots[i];

		if (!s->used)
			return NULL;
		if (s->key == key)
			return s;
		i = (i + 1) & map->mask;
	}
}

bool hl_map__get(const struct hl_map *map, uint64_t key, uint64_t *value)
{
	struct slot *s = find(map, key);

	if (!s)
		return false;
	if (value)
		*value = s->value;
	return true;
}

static void insert_new(struct hl_map *map, uint64_t key, uint64_t value)
{
	size_t i = slot_of(map, key);

	while (map->slots[i].used)
		i = (i + 1) & map->mask;
	map->slots[i] = (struct slot){.key = key, .value = value, .used = true};
	map->count++;
}

static int grow(struct hl_map *map)
{
	struct hl_map bigger;
	size_t i;

	if (alloc_slots(&bigger, (map->mask + 1) * 2))
		return -ENOMEM;
	for (i = 0; i <= map->mask; i++)
		if (map->slots[i].used)
			insert_new(&bigger, map->slots[i].key, map->slots[i].value);
	free(map->slots);
	*map = bigger;
	return 0;
}

int hl_map__set(struct hl_map *map, uint64_t key, uint64_t value)
{
	struct slot *s = find(map, key);

	if (s) {
		s->value = value;
		return 0;
	}
	/* Keep the load factor under 3/4 so probe sequences stay short. */
	if ((map->count + 1) * 4 > (map->mask + 1) * 3 && grow(map))
		return -ENOMEM;
	insert_new(map, key, value);
	return 0;
}

bool hl_map__delete(struct hl_map *map, uint64_t key)
{
	struct slot *s = find(map, key);
	size_t hole, i;

	if (!s)
		return false;
	hole = (size_t)(s - map->slots);
	map->slots[hole].used = false;
	map->count--;
	/* Backward shift: move later members of the probe run into the hole when their home slot
	 * does not lie cyclically in (hole, i]. */
	for (i = (hole + 1) & map->mask; map->slots[i].used; i = (i + 1) & map->mask) {
		size_t home = slot_of(map, map->slots[i].key);
		bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);

		if (stays)
			continue;
		map->slots[hole] = map->slots[i];
		map->slots[i].used = false;
		hole = i;
	}
	return true;
}

size_t hl_map__count(const struct hl_map *map)
{
	return map->count;
}

void hl_map__clear(struct hl_map *map)
{
	size_t i;

	for (i = 0; i <= map->mask; i++)
		map->slots[i].used = false;
	map->count = 0;
}

bool hl_map__next(const struct hl_map *map, size_t *cursor, uint64_t *key, uint64_t *value)
{
	while (*cursor <= map->mask) {
		const struct slot *s = &map->slots[(*cursor)++];

		if (s->used) {
			*key = s->key;
			*value = s->value;
			return true;
		}
	}
	return false;
}
