/* symbolize/strpool.c — see strpool.h.  Blocks of 64 KiB (or one block per string when a
 * string is larger) hold the bytes; a hash map from the bytes' hash (probing hash + 1, ...
 * on a collision, as common/intern.c does) to the string's address finds duplicates. */
#include "symbolize/strpool.h"
#include "common/hash.h"
#include "common/hashmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE (64 * 1024)

struct block {
	struct block *next;
	size_t used, size;
	char data[];
};

struct hl_strpool {
	struct hl_map *index; /* probed hash -> string address */
	struct block *blocks; /* the first one is the one being filled */
	size_t count, memory;
};

struct hl_strpool *hl_strpool__new(void)
{
	struct hl_strpool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->index = hl_map__new(256);
	if (!p->index) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void hl_strpool__free(struct hl_strpool *p)
{
	struct block *b, *next;

	if (!p)
		return;
	for (b = p->blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	hl_map__free(p->index);
	free(p);
}

static char *alloc_bytes(struct hl_strpool *p, size_t n)
{
	struct block *b = p->blocks;

	if (!b || b->size - b->used < n) {
		size_t size = n > BLOCK_SIZE / 4 ? n : BLOCK_SIZE;

		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->used = 0;
		b->size = size;
		p->memory += sizeof(*b) + size;
		if (size == n && p->blocks) {
			/* A big string gets a block of its own behind the current one, which
			 * keeps filling. */
			b->next = p->blocks->next;
			p->blocks->next = b;
		} else {
			b->next = p->blocks;
			p->blocks = b;
		}
	}
	b->used += n;
	return b->data + b->used - n;
}

const char *hl_strpool__add(struct hl_strpool *p, const char *s, size_t len)
{
	uint64_t h, v;
	char *copy;

	len = strnlen(s, len); /* a NUL inside ends the string, as it would for the caller */
	h = hl_hash_bytes(s, len, 0x5eed);
	for (; p->index; h++) {
		const char *have;

		if (!hl_map__get(p->index, h, &v))
			break;
		have = (const char *)(uintptr_t)v;
		if (!strncmp(have, s, len) && have[len] == '\0')
			return have;
	}
	if (len > SIZE_MAX / 2)
		return NULL;
	copy = alloc_bytes(p, len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	if (p->index && hl_map__set(p->index, h, (uint64_t)(uintptr_t)copy))
		return copy; /* still a valid copy, only not shared */
	p->count++;
	return copy;
}

const char *hl_strpool__add_str(struct hl_strpool *p, const char *s)
{
	return hl_strpool__add(p, s, strlen(s));
}

void hl_strpool__seal(struct hl_strpool *p)
{
	hl_map__free(p->index);
	p->index = NULL;
}

size_t hl_strpool__count(const struct hl_strpool *p)
{
	return p->count;
}

size_t hl_strpool__memory(const struct hl_strpool *p)
{
	return p->memory + (p->index ? hl_map__count(p->index) * 2 * sizeof(uint64_t) : 0);
}
