/* report/itab.h — a compact hash index over an array the caller owns: maps a 64-bit key to
 * the position of the element that has it, storing only 32-bit positions (4 bytes a slot, not
 * the 24 of common/hashmap.h), so indexing the half-million stack nodes of a large profile
 * costs megabytes, not tens of them.  The caller tells the index how to read an element's key
 * back (key_of), which is how lookups compare and how the table rehashes when it grows.
 */
#pragma once
#include "common/hash.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define HL_ITAB_EMPTY UINT32_MAX

struct hl_itab {
	uint32_t *slots;
	size_t mask;
	size_t count;
	uint64_t (*key_of)(const void *arg, uint32_t position);
	const void *arg;
};

static inline int hl_itab__init(struct hl_itab *t, size_t hint,
				uint64_t (*key_of)(const void *arg, uint32_t position),
				const void *arg)
{
	size_t cap = 64, i;

	while (cap < hint + hint / 2)
		cap *= 2;
	t->slots = malloc(cap * sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		t->slots[i] = HL_ITAB_EMPTY;
	t->mask = cap - 1;
	t->count = 0;
	t->key_of = key_of;
	t->arg = arg;
	return 0;
}

static inline void hl_itab__release(struct hl_itab *t)
{
	free(t->slots);
	t->slots = NULL;
}

/* The position of the element with @key, or HL_ITAB_EMPTY. */
static inline uint32_t hl_itab__find(const struct hl_itab *t, uint64_t key)
{
	size_t i = hl_hash_u64(key) & t->mask;

	for (; t->slots[i] != HL_ITAB_EMPTY; i = (i + 1) & t->mask)
		if (t->key_of(t->arg, t->slots[i]) == key)
			return t->slots[i];
	return HL_ITAB_EMPTY;
}

/* Files @position (whose element's key is @key, not yet in the index).  0 or -ENOMEM. */
static inline int hl_itab__add(struct hl_itab *t, uint64_t key, uint32_t position)
{
	size_t i;

	if ((t->count + 1) * 3 > (t->mask + 1) * 2) {
		struct hl_itab bigger = *t;
		size_t cap = (t->mask + 1) * 2, j;

		bigger.slots = malloc(cap * sizeof(*bigger.slots));
		if (!bigger.slots)
			return -ENOMEM;
		for (j = 0; j < cap; j++)
			bigger.slots[j] = HL_ITAB_EMPTY;
		bigger.mask = cap - 1;
		for (j = 0; j <= t->mask; j++) {
			if (t->slots[j] == HL_ITAB_EMPTY)
				continue;
			i = hl_hash_u64(t->key_of(t->arg, t->slots[j])) & bigger.mask;
			while (bigger.slots[i] != HL_ITAB_EMPTY)
				i = (i + 1) & bigger.mask;
			bigger.slots[i] = t->slots[j];
		}
		free(t->slots);
		*t = bigger;
	}
	i = hl_hash_u64(key) & t->mask;
	while (t->slots[i] != HL_ITAB_EMPTY)
		i = (i + 1) & t->mask;
	t->slots[i] = position;
	t->count++;
	return 0;
}
