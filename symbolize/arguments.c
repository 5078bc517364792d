/* symbolize/arguments.c — see arguments.h. */
#include "symbolize/arguments.h"
#include "common/hash.h"
#include "common/hashmap.h"
#include "common/util.h"
#include "symbolize/procmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys per function: its argument slots, then the attributes of self it follows. */
#define KEYS_PER_FUNCTION (HL_ARG_SLOTS + HL_ARGUMENTS_MAX_ATTRS)
/* One thread's last object per key: forgotten wholesale past this many (a run may then be
 * counted twice; a long-running daemon with many short threads stays bounded). */
#define LAST_MAX (1u << 16)
/* Attributes of self: a value read is reused for this long, and at most this many reads are
 * made per second (a method called on ever new objects would otherwise read per sample). */
#define ATTR_TTL_NS	   (1000ULL * 1000 * 1000)
#define ATTR_READS_PER_SEC 500
#define ATTR_CACHE	   1024
#define TYPE_NAME_MAX	   48

struct value {
	uint64_t addr;
	uint64_t samples;
	uint32_t pid;
	char type[TYPE_NAME_MAX];
};

struct key {
	char *name; /* NULL: never observed */
	uint64_t samples, runs;
	struct value *values; /* [HL_ARGUMENTS_MAX_VALUES], allocated at the first one */
	uint32_t nr;
	bool more;
	bool is_cell; /* 3.11+: the argument is captured by an inner function, so its slot
			 holds a cell made per call: follow it to the object */
};

struct function {
	int64_t id;
	char *attrs[HL_ARGUMENTS_MAX_ATTRS];
	size_t nr_attrs;
	bool code_set;
	uint32_t rebound;
	struct key keys[KEYS_PER_FUNCTION];
};

struct attr_entry {
	uint64_t self, value, read_ns;
	int64_t function;
	uint32_t pid, attr;
};

struct hl_arguments {
	struct function *fns;
	size_t nr, cap;
	struct hl_map *by_id; /* function id -> index + 1 */
	struct hl_map *last;  /* (key index << 32 | tid) -> address */
	struct attr_entry attr_cache[ATTR_CACHE];
	uint64_t window_ns; /* the second the attribute reads are counted in */
	uint32_t window_reads;
	struct hl_arguments_counts counts;
};

struct hl_arguments *hl_arguments__new(void)
{
	struct hl_arguments *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->by_id = hl_map__new(256);
	a->last = hl_map__new(1024);
	if (!a->by_id || !a->last) {
		hl_arguments__free(a);
		errno = ENOMEM;
		return NULL;
	}
	return a;
}

void hl_arguments__free(struct hl_arguments *a)
{
	size_t i, k;

	if (!a)
		return;
	for (i = 0; i < a->nr; i++) {
		for (k = 0; k < KEYS_PER_FUNCTION; k++) {
			free(a->fns[i].keys[k].name);
			free(a->fns[i].keys[k].values);
		}
		for (k = 0; k < a->fns[i].nr_attrs; k++)
			free(a->fns[i].attrs[k]);
	}
	free(a->fns);
	hl_map__free(a->by_id);
	hl_map__free(a->last);
	free(a);
}

/* The entry of @id, created if needed; NULL when full or out of memory (*err says which). */
static struct function *function_of(struct hl_arguments *a, int64_t id, int *err)
{
	uint64_t idx;
	struct function *grown;

	*err = 0;
	if (hl_map__get(a->by_id, (uint64_t)id, &idx))
		return &a->fns[idx - 1];
	if (a->nr >= HL_ARGUMENTS_MAX_FUNCTIONS) {
		a->counts.functions_over++;
		return NULL;
	}
	if (a->nr == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;

		grown = realloc(a->fns, cap * sizeof(*grown));
		if (!grown)
			goto nomem;
		a->fns = grown;
		a->cap = cap;
	}
	if (hl_map__set(a->by_id, (uint64_t)id, a->nr + 1))
		goto nomem;
	memset(&a->fns[a->nr], 0, sizeof(a->fns[a->nr]));
	a->fns[a->nr].id = id;
	return &a->fns[a->nr++];
nomem:
	*err = -ENOMEM;
	return NULL;
}

int hl_arguments__set_code(struct hl_arguments *a, int64_t function, const char *const *attrs,
			   size_t n, uint32_t rebound)
{
	struct function *f;
	size_t i;
	int err;

	f = function_of(a, function, &err);
	if (!f || f->code_set)
		return err; /* full, or already set */
	f->code_set = true;
	f->rebound = rebound;
	for (i = 0; i < n && f->nr_attrs < HL_ARGUMENTS_MAX_ATTRS; i++) {
		f->attrs[f->nr_attrs] = strdup(attrs[i]);
		if (!f->attrs[f->nr_attrs])
			return -ENOMEM;
		f->nr_attrs++;
	}
	return 0;
}

/* The object an argument slot refers to: 3.14 tags stack references in their low bits. */
static uint64_t untag(const struct hl_pyreader *r, uint64_t slot)
{
	return slot & r->ver->code_tag_mask;
}

static int name_key(struct key *k, const char *prefix, const char *name)
{
	size_t len;

	if (k->name)
		return 0;
	len = strlen(prefix) + strlen(name) + 1;
	k->name = malloc(len);
	if (!k->name)
		return -ENOMEM;
	snprintf(k->name, len, "%s%s", prefix, name);
	return 0;
}

/* Counts @addr for key @k (index @kidx of all keys) at thread @tid. */
static int count(struct hl_arguments *a, const struct hl_pyreader *r, struct key *k, uint64_t kidx,
		 uint32_t tid, uint64_t addr)
{
	uint64_t last_key = kidx << 32 | tid, last;
	struct value *v;
	uint32_t i;

	if (k->is_cell && hl_procmem_read_u64(r->pid, addr + r->ver->cell_ref, &addr))
		return 0;
	if (addr < 4096)
		return 0; /* an empty slot (a cleared cell, an unbound local) */
	for (i = 0; i < k->nr; i++)
		if (k->values[i].addr == addr && k->values[i].pid == (uint32_t)r->pid)
			break;
	if (i == k->nr && !k->more) {
		if (!k->values) {
			k->values = calloc(HL_ARGUMENTS_MAX_VALUES, sizeof(*k->values));
			if (!k->values)
				return -ENOMEM;
		}
		if (k->nr == HL_ARGUMENTS_MAX_VALUES) {
			k->more = true;
		} else {
			v = &k->values[k->nr];
			if (hl_pyobj_type_name(r, addr, v->type, sizeof(v->type)))
				v->type[0] = '\0';
			/* A cell made per call: what it holds is the argument. */
			if (!k->is_cell && r->ver->cell_ref != HL_OFF_NONE &&
			    !strcmp(v->type, "cell")) {
				k->is_cell = true;
				return count(a, r, k, kidx, tid, addr);
			}
			v->addr = addr;
			v->pid = (uint32_t)r->pid;
			k->nr++;
		}
	}
	if (i < k->nr)
		k->values[i].samples++;
	k->samples++;
	a->counts.observed++;
	if (!hl_map__get(a->last, last_key, &last) || last != addr) {
		k->runs++;
		if (hl_map__count(a->last) >= LAST_MAX)
			hl_map__clear(a->last);
		if (hl_map__set(a->last, last_key, addr))
			return -ENOMEM;
	}
	return 0;
}

/* self.@attr of the object @self, from the cache or the target; 0 when unknown. */
static uint64_t attr_value(struct hl_arguments *a, const struct hl_pyreader *r,
			   const struct function *f, uint32_t j, uint64_t self, uint64_t now_ns)
{
	uint64_t h = hl_hash_combine(hl_hash_combine(hl_hash_u64(self), (uint64_t)f->id),
				     (uint64_t)r->pid << 32 | j);
	struct attr_entry *e = &a->attr_cache[h % ATTR_CACHE];
	uint64_t value;

	if (e->self == self && e->function == f->id && e->pid == (uint32_t)r->pid && e->attr == j &&
	    now_ns - e->read_ns < ATTR_TTL_NS)
		return e->value;
	if (now_ns - a->window_ns >= 1000000000ULL) {
		a->window_ns = now_ns;
		a->window_reads = 0;
	}
	if (a->window_reads >= ATTR_READS_PER_SEC) {
		a->counts.attr_throttled++;
		return 0;
	}
	a->window_reads++;
	a->counts.attr_reads++;
	if (hl_pyobj_getattr(r, self, f->attrs[j], &value))
		value = 0;
	*e = (struct attr_entry){.self = self,
				 .value = value,
				 .read_ns = now_ns,
				 .function = f->id,
				 .pid = (uint32_t)r->pid,
				 .attr = j};
	return value;
}

int hl_arguments__observe(struct hl_arguments *a, const struct hl_pyreader *r, uint32_t tid,
			  int64_t function, const struct hl_pycode *code,
			  const struct hl_py_args *args, uint64_t now_ns)
{
	struct function *f;
	uint64_t base, self;
	unsigned i, n = HL_MIN(code->nr_args, (unsigned)HL_ARG_SLOTS);
	int err;

	if (!n)
		return 0;
	f = function_of(a, function, &err);
	if (!f)
		return err;
	base = (uint64_t)(f - a->fns) * KEYS_PER_FUNCTION;
	for (i = 0; i < n; i++) {
		if (f->rebound & 1u << i)
			continue;
		err = name_key(&f->keys[i], "", code->arg_names[i]);
		if (!err)
			err = count(a, r, &f->keys[i], base + i, tid, untag(r, args->slot[i]));
		if (err)
			return err;
	}
	if (!f->nr_attrs || strcmp(code->arg_names[0], "self") || (f->rebound & 1))
		return 0;
	self = untag(r, args->slot[0]);
	if (f->keys[0].is_cell && hl_procmem_read_u64(r->pid, self + r->ver->cell_ref, &self))
		return 0;
	if (self < 4096)
		return 0;
	for (i = 0; i < f->nr_attrs; i++) {
		struct key *k = &f->keys[HL_ARG_SLOTS + i];
		uint64_t value = attr_value(a, r, f, i, self, now_ns);

		if (!value)
			continue;
		err = name_key(k, "self.", f->attrs[i]);
		if (!err)
			err = count(a, r, k, base + HL_ARG_SLOTS + i, tid, value);
		if (err)
			return err;
	}
	return 0;
}

int hl_arguments__for_each(const struct hl_arguments *a,
			   int (*fn)(const struct hl_argument_stats *st, void *arg), void *arg)
{
	size_t i, k;
	uint32_t j, top;
	int ret;

	for (i = 0; i < a->nr; i++)
		for (k = 0; k < KEYS_PER_FUNCTION; k++) {
			const struct key *key = &a->fns[i].keys[k];
			struct hl_argument_stats st;

			if (!key->name || !key->samples || !key->nr)
				continue;
			for (top = 0, j = 1; j < key->nr; j++)
				if (key->values[j].samples > key->values[top].samples)
					top = j;
			st = (struct hl_argument_stats){.function = a->fns[i].id,
							.name = key->name,
							.samples = key->samples,
							.runs = key->runs,
							.distinct = key->nr,
							.more = key->more,
							.top_samples = key->values[top].samples,
							.top_type = key->values[top].type};
			ret = fn(&st, arg);
			if (ret)
				return ret;
		}
	return 0;
}

void hl_arguments__counts(const struct hl_arguments *a, struct hl_arguments_counts *out)
{
	*out = a->counts;
}

size_t hl_arguments__memory(const struct hl_arguments *a)
{
	size_t bytes = sizeof(*a) + a->cap * sizeof(*a->fns), i, k;

	for (i = 0; i < a->nr; i++)
		for (k = 0; k < KEYS_PER_FUNCTION; k++)
			if (a->fns[i].keys[k].values)
				bytes += HL_ARGUMENTS_MAX_VALUES * sizeof(struct value);
	/* The two maps: ~16 bytes per entry at a load of one half. */
	return bytes + 32 * (hl_map__count(a->by_id) + hl_map__count(a->last));
}
