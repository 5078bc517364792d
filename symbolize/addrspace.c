/* symbolize/addrspace.c — see addrspace.h. */
#define _GNU_SOURCE
#include "symbolize/addrspace.h"
#include "common/log.h"
#include "common/util.h"
#include "symbolize/binary.h"
#include "symbolize/elf.h"
#include "symbolize/maps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A process maps code while it starts (the dynamic loader, then dlopen), so an unknown
 * address is usually new code: re-read the maps, but not more often than this, so a process
 * that runs code outside any mapping costs at most a read of its maps every 20 ms. */
#define REFRESH_MIN_INTERVAL_NS 20000000ULL

struct hl_addrspace {
	pid_t pid;
	struct hl_binary_cache *cache;
	struct hl_maps maps;	    /* owns the path strings the modules point to */
	struct hl_module *modules; /* executable mappings, by address */
	size_t count;
	uint64_t last_refresh_ns;
};

struct hl_addrspace *hl_addrspace__new(pid_t pid, struct hl_binary_cache *cache)
{
	struct hl_addrspace *as = calloc(1, sizeof(*as));

	if (!as)
		return NULL;
	as->pid = pid;
	as->cache = cache;
	return as;
}

void hl_addrspace__free(struct hl_addrspace *as)
{
	if (!as)
		return;
	hl_maps__release(&as->maps);
	free(as->modules);
	free(as);
}

pid_t hl_addrspace__pid(const struct hl_addrspace *as)
{
	return as->pid;
}

/* The module of a mapping we saw before (same file, same place): keep its binary without
 * opening the file again. */
static struct hl_binary *previous_binary(const struct hl_addrspace *as,
					 const struct hl_mapping *m)
{
	const struct hl_module *old = hl_addrspace__lookup(as, m->start);

	if (old && old->start == m->start && old->end == m->end && old->binary &&
	    !strcmp(old->path, m->path))
		return old->binary;
	return NULL;
}

/* The load bias of @m's binary: from the mapping of the lowest PT_LOAD, whichever of the
 * file's mappings that is. */
static uint64_t bias_of(const struct hl_maps *maps, const struct hl_mapping *m,
			struct hl_binary *b)
{
	uint64_t bias = 0;
	size_t i;

	if (!b->is_dyn)
		return 0;
	if (!hl_elf__load_bias(b->elf, m->start, m->offset, &bias))
		return bias;
	for (i = 0; i < maps->count; i++) {
		const struct hl_mapping *o = &maps->entries[i];

		if (o->executable && o->inode == m->inode && !strcmp(o->path, m->path) &&
		    !hl_elf__load_bias(b->elf, o->start, o->offset, &bias))
			return bias;
	}
	return m->start - m->offset; /* the usual layout, when headers do not say */
}

int hl_addrspace__refresh(struct hl_addrspace *as)
{
	struct hl_maps maps;
	struct hl_module *mods;
	size_t i, n = 0;
	int err;

	as->last_refresh_ns = hl_now_monotonic_ns();
	err = hl_maps__read(&maps, as->pid);
	if (err)
		return err;
	mods = calloc(maps.count ? maps.count : 1, sizeof(*mods));
	if (!mods) {
		hl_maps__release(&maps);
		return -ENOMEM;
	}
	for (i = 0; i < maps.count; i++) {
		const struct hl_mapping *m = &maps.entries[i];
		struct hl_module *mod = &mods[n];

		if (!m->executable)
			continue;
		mod->start = m->start;
		mod->end = m->end;
		mod->path = m->path;
		mod->binary = previous_binary(as, m);
		if (!mod->binary && (m->path[0] == '/' || !strcmp(m->path, "[vdso]")))
			mod->binary = hl_binary_cache__get(as->cache, as->pid, m);
		if (mod->binary)
			mod->bias = bias_of(&maps, m, mod->binary);
		n++;
	}
	hl_maps__release(&as->maps);
	free(as->modules);
	as->maps = maps;
	as->modules = mods;
	as->count = n;
	return 0;
}

const struct hl_module *hl_addrspace__lookup(const struct hl_addrspace *as, uint64_t addr)
{
	size_t lo = 0, hi = as->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct hl_module *m = &as->modules[mid];

		if (addr < m->start)
			hi = mid;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

const struct hl_module *hl_addrspace__find(struct hl_addrspace *as, uint64_t addr)
{
	const struct hl_module *m = hl_addrspace__lookup(as, addr);

	if (m)
		return m;
	if (as->last_refresh_ns &&
	    hl_now_monotonic_ns() - as->last_refresh_ns < REFRESH_MIN_INTERVAL_NS)
		return NULL;
	if (hl_addrspace__refresh(as))
		return NULL;
	return hl_addrspace__lookup(as, addr);
}
