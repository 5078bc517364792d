/* symbolize/binary.c — see binary.h. */
#define _GNU_SOURCE
#include "symbolize/binary.h"
#include "common/hashmap.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/util.h"
#include "symbolize/elf.h"
#include "symbolize/procmem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Defined by the owners of the per-binary tables; NULL-safe. */
void hl_unwind_table__free(struct hl_unwind_table *table);
void hl_symbols__free(struct hl_symbols *symbols);

struct hl_binary_cache {
	struct hl_map *by_key; /* identity hash -> struct hl_binary * */
	struct hl_binary **all;
	unsigned count, cap;
};

struct hl_binary_cache *hl_binary_cache__new(void)
{
	struct hl_binary_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->by_key = hl_map__new(64);
	if (!c->by_key) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

static void binary_free(struct hl_binary *b)
{
	if (!b)
		return;
	hl_unwind_table__free(b->unwind);
	hl_symbols__free(b->symbols);
	hl_elf__free(b->elf);
	free(b->image);
	free(b->path);
	free(b);
}

void hl_binary_cache__free(struct hl_binary_cache *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < c->count; i++)
		binary_free(c->all[i]);
	free(c->all);
	hl_map__free(c->by_key);
	free(c);
}

unsigned hl_binary_cache__count(const struct hl_binary_cache *c)
{
	return c->count;
}

static uint64_t identity_key(const struct hl_binary *b)
{
	if (b->build_id[0])
		return hl_hash_bytes(b->build_id, strlen(b->build_id), 1);
	return hl_hash_combine(hl_hash_combine(hl_hash_u64(b->dev), b->inode),
			       hl_hash_combine(b->size, b->mtime));
}

static bool same_binary(const struct hl_binary *a, const struct hl_binary *b)
{
	if (a->build_id[0] || b->build_id[0])
		return !strcmp(a->build_id, b->build_id);
	return a->dev == b->dev && a->inode == b->inode && a->size == b->size &&
	       a->mtime == b->mtime;
}

/* Opens a file mapping: map_files reaches the exact file the process mapped. */
static int open_mapping(pid_t pid, const struct hl_mapping *m)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	return open(m->path, O_RDONLY | O_CLOEXEC);
}

/* The [vdso] is an ELF image in memory, identical for every process of a kernel. */
static struct hl_binary *load_vdso(pid_t pid, const struct hl_mapping *m)
{
	size_t size = m->end - m->start;
	struct hl_binary *b;

	if (size > (16 << 20))
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->image = malloc(size);
	b->path = strdup("[vdso]");
	if (!b->image || !b->path || hl_procmem_read(pid, m->start, b->image, size))
		goto out_free;
	b->elf = hl_elf__open_mem(b->image, size);
	if (!b->elf)
		goto out_free;
	b->in_memory = true;
	b->is_dyn = true;
	if (hl_elf__build_id(b->elf, b->build_id, sizeof(b->build_id)))
		hl_strlcpy(b->build_id, "vdso", sizeof(b->build_id));
	return b;

out_free:
	binary_free(b);
	return NULL;
}

static struct hl_binary *load_file(pid_t pid, const struct hl_mapping *m)
{
	struct hl_binary *b;
	struct stat st;
	int fd;

	fd = open_mapping(pid, m);
	if (fd < 0)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b || fstat(fd, &st)) {
		free(b);
		close(fd);
		return NULL;
	}
	b->dev = st.st_dev;
	b->inode = st.st_ino;
	b->size = (uint64_t)st.st_size;
	b->mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
	b->elf = hl_elf__open_fd(fd); /* owns fd from here on */
	b->path = strdup(m->path);
	if (!b->elf || !b->path) {
		binary_free(b);
		return NULL;
	}
	b->is_dyn = hl_elf__is_dyn(b->elf);
	hl_elf__build_id(b->elf, b->build_id, sizeof(b->build_id));
	return b;
}

struct hl_binary *hl_binary_cache__get(struct hl_binary_cache *c, pid_t pid,
				       const struct hl_mapping *m)
{
	struct hl_binary *b;
	uint64_t key, v;

	if (!strcmp(m->path, "[vdso]")) {
		b = load_vdso(pid, m);
	} else if (m->path[0] == '/') {
		b = load_file(pid, m);
	} else {
		errno = ENOENT;
		return NULL;
	}
	if (!b) {
		if (!errno)
			errno = ENOENT;
		return NULL;
	}
	/* Probe from the identity hash on: a different binary with the same hash moves on. */
	for (key = identity_key(b);; key++) {
		struct hl_binary *have;

		if (!hl_map__get(c->by_key, key, &v))
			break;
		have = (struct hl_binary *)(uintptr_t)v;
		if (same_binary(have, b)) {
			binary_free(b);
			return have;
		}
	}
	if (c->count == c->cap) {
		unsigned ncap = c->cap ? c->cap * 2 : 32;
		struct hl_binary **bigger = realloc(c->all, ncap * sizeof(*bigger));

		if (!bigger)
			goto out_nomem;
		c->all = bigger;
		c->cap = ncap;
	}
	if (hl_map__set(c->by_key, key, (uint64_t)(uintptr_t)b))
		goto out_nomem;
	c->all[c->count++] = b;
	return b;

out_nomem:
	binary_free(b);
	errno = ENOMEM;
	return NULL;
}
