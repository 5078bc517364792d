/* common/intern.c — see intern.h. */
#include "common/intern.h"
#include "common/hash.h"
#include "common/hashmap.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	int64_t id;
	size_t key_off;
	size_t key_len;
};

struct hl_intern {
	struct hl_map *map; /* hash (probed) -> entry index */
	struct entry *entries;
	size_t nr_entries, cap_entries;
	unsigned char *keys;
	size_t keys_len, keys_cap;
};

struct hl_intern *hl_intern__new(void)
{
	struct hl_intern *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->map = hl_map__new(1024);
	if (!in->map) {
		free(in);
		errno = ENOMEM;
		return NULL;
	}
	return in;
}

void hl_intern__free(struct hl_intern *in)
{
	if (!in)
		return;
	hl_map__free(in->map);
	free(in->entries);
	free(in->keys);
	free(in);
}

bool hl_intern__find(const struct hl_intern *in, const void *key, size_t len, uint64_t *slot,
		     int64_t *id)
{
	uint64_t h = hl_hash_bytes(key, len, 0), index;

	for (;; h++) {
		const struct entry *e;

		if (!hl_map__get(in->map, h, &index)) {
			*slot = h;
			return false;
		}
		e = &in->entries[index];
		if (e->key_len == len && !memcmp(in->keys + e->key_off, key, len)) {
			*id = e->id;
			return true;
		}
	}
}

int hl_intern__add(struct hl_intern *in, uint64_t slot, const void *key, size_t len, int64_t id)
{
	if (hl_grow((void **)&in->entries, &in->cap_entries, in->nr_entries + 1,
		 sizeof(*in->entries)) ||
	    hl_grow((void **)&in->keys, &in->keys_cap, in->keys_len + len, 1) ||
	    hl_map__set(in->map, slot, in->nr_entries))
		return -ENOMEM;
	memcpy(in->keys + in->keys_len, key, len);
	in->entries[in->nr_entries++] =
		(struct entry){.id = id, .key_off = in->keys_len, .key_len = len};
	in->keys_len += len;
	return 0;
}

void hl_intern__clear(struct hl_intern *in)
{
	hl_map__clear(in->map);
	in->nr_entries = 0;
	in->keys_len = 0;
}

size_t hl_intern__count(const struct hl_intern *in)
{
	return in->nr_entries;
}

size_t hl_intern__memory(const struct hl_intern *in)
{
	return in->cap_entries * sizeof(*in->entries) + in->keys_cap +
	       hl_map__count(in->map) * 2 * 24;
}
