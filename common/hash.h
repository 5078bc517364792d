/* common/hash.h — fast 64-bit hashing for in-memory caches (not cryptographic).
 *
 * Used to key caches of stacks, frames and strings; callers that need exactness compare the
 * full key after a hash match.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t hl_hash_u64(uint64_t x)
{
	/* splitmix64 finalizer: every input bit affects every output bit. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static inline uint64_t hl_hash_combine(uint64_t h, uint64_t v)
{
	return hl_hash_u64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

static inline uint64_t hl_hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = hl_hash_u64(seed ^ len);
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h = hl_hash_combine(h, w);
		p += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, p, len);
	return hl_hash_combine(h, w);
}
