/* report/calltree.c — see calltree.h. */
#define _GNU_SOURCE
#include "report/calltree.h"
#include "report/profile_private.h"
#include "report/itab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t node_key(const void *arg, uint32_t n)
{
	const struct hl_calltree *t = arg;

	return (uint64_t)t->nodes[n].parent << 32 | t->nodes[n].key;
}

static int node(struct hl_calltree *t, uint32_t parent, uint32_t key, uint32_t *out)
{
	uint64_t k = (uint64_t)parent << 32 | key;
	uint32_t v = hl_itab__find(&t->index, k);

	if (v != HL_ITAB_EMPTY) {
		*out = v;
		return 0;
	}
	if (t->nr >= HL_CT_NO_FRAMES ||
	    hl_grow_array((void **)&t->nodes, &t->cap, t->nr + 1, sizeof(*t->nodes)))
		return -ENOMEM;
	t->nodes[t->nr] = (struct hl_ctnode){
		.parent = parent,
		.key = key,
		.first_child = HL_NONE,
		.next_sibling = HL_NONE,
		.depth = t->nodes[parent].depth + 1,
	};
	if (hl_itab__add(&t->index, k, (uint32_t)t->nr))
		return -ENOMEM;
	*out = (uint32_t)t->nr++;
	return 0;
}

int hl_calltree__init(struct hl_calltree *t)
{
	memset(t, 0, sizeof(*t));
	if (hl_itab__init(&t->index, 1024, node_key, t) ||
	    hl_grow_array((void **)&t->nodes, &t->cap, 1, sizeof(*t->nodes))) {
		hl_calltree__release(t);
		return -ENOMEM;
	}
	t->nodes[0] = (struct hl_ctnode){.parent = HL_NONE, .key = HL_CT_ROOT,
					 .first_child = HL_NONE, .next_sibling = HL_NONE};
	t->nr = 1;
	return 0;
}

void hl_calltree__release(struct hl_calltree *t)
{
	free(t->nodes);
	hl_itab__release(&t->index);
	memset(t, 0, sizeof(*t));
}

int hl_calltree__add(struct hl_calltree *t, const struct hl_profile *p, const uint32_t *key_of,
		     int input)
{
	size_t nr_stacks, nr_frames, nr_counts, i;
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	const struct hl_rframe *frames = hl_profile__frames(p, &nr_frames);
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);
	uint32_t *map, n;
	int err = 0;

	map = calloc(nr_stacks + 1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	/* Parents come before children in the model (profile.h), so one forward pass maps every
	 * stack node to its call tree node. */
	for (i = 0; i < nr_stacks && !err; i++) {
		uint32_t f = frames[stacks[i].frame].function;

		err = node(t, stacks[i].parent == HL_NONE ? 0 : map[stacks[i].parent],
			   key_of ? key_of[f] : f, &map[i]);
	}
	for (i = 0; i < nr_counts && !err; i++) {
		if (counts[i].stack == HL_NONE) {
			err = node(t, 0, HL_CT_NO_FRAMES, &n);
			if (!err)
				t->nodes[n].self[input] += counts[i].weight;
		} else {
			t->nodes[map[counts[i].stack]].self[input] += counts[i].weight;
		}
	}
	free(map);
	if (err)
		return err;
	/* Totals: self plus the children's totals, callees before callers.  Only this input's
	 * totals are recomputed (nodes older than this call may have gained children). */
	for (i = 0; i < t->nr; i++)
		t->nodes[i].total[input] = t->nodes[i].self[input];
	for (i = t->nr; i-- > 1;)
		t->nodes[t->nodes[i].parent].total[input] += t->nodes[i].total[input];
	return 0;
}

struct sort_ctx {
	const struct hl_calltree *t;
	int (*compare)(const struct hl_ctnode *a, const struct hl_ctnode *b, void *arg);
	void *arg;
};

static int compare_children(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	const struct hl_ctnode *x = &c->t->nodes[*(const uint32_t *)a];
	const struct hl_ctnode *y = &c->t->nodes[*(const uint32_t *)b];
	int r;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	r = c->compare(x, y, c->arg);
	if (r)
		return r;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

void hl_calltree__sort(struct hl_calltree *t,
		       int (*compare)(const struct hl_ctnode *a, const struct hl_ctnode *b,
				      void *arg),
		       void *arg)
{
	struct sort_ctx ctx = {t, compare, arg};
	uint32_t *order;
	size_t i;

	for (i = 0; i < t->nr; i++)
		t->nodes[i].first_child = t->nodes[i].next_sibling = HL_NONE;
	order = calloc(t->nr, sizeof(*order));
	if (!order) {
		/* Unsorted but complete: link in creation order. */
		for (i = t->nr; i-- > 1;) {
			t->nodes[i].next_sibling = t->nodes[t->nodes[i].parent].first_child;
			t->nodes[t->nodes[i].parent].first_child = (uint32_t)i;
		}
		return;
	}
	for (i = 1; i < t->nr; i++)
		order[i - 1] = (uint32_t)i;
	qsort_r(order, t->nr - 1, sizeof(*order), compare_children, &ctx);
	for (i = t->nr - 1; i-- > 0;) {
		struct hl_ctnode *n = &t->nodes[order[i]];

		n->next_sibling = t->nodes[n->parent].first_child;
		t->nodes[n->parent].first_child = order[i];
	}
	free(order);
}
