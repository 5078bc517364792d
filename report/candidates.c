/* report/candidates.c — see candidates.h.  docs/candidates.md is the specification; the
 * thresholds below are the ones it documents.
 *
 * Three passes over the distinct stacks (cost: stacks x depth, never samples):
 *   1. per Python function, how often it calls other Python functions (innermost occurrence,
 *      so recursion counts once) — a function that (almost) never does is a *leaf*, and a leaf
 *      called from a loop is a per-element callee;
 *   2. per sample, the category of its innermost C code and, walking the Python frames from
 *      the innermost outwards while every frame passed is per-element code, the units it
 *      belongs to;
 *   3. ranking, folding (a candidate whose unit lies inside a higher one's is shown as that
 *      one's callee) and the remedy.
 */
#define _GNU_SOURCE
#include "report/candidates.h"
#include "common/hashmap.h"
#include "schema/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A function calling Python code in at most this share of its samples is still a leaf
 * (signal handlers, GC callbacks and weakref finalizers run Python code anywhere).  Not 5%:
 * storage's _match calls Key.matches per element, yet only 4.6-6.4% of its samples on 3.13
 * show it, so it was a leaf in half the runs and its caller select swallowed it. */
#define LEAF_MAX_CALLING 0.02
/* A function is eligible when its own code (and its comprehensions) holds at least this share
 * of its unit: a driver that only calls a hot leaf is not where the time is. */
#define MIN_OWN_SHARE 0.25
/* Listed when its unit holds at least this share of the samples. */
#define MIN_UNIT_SHARE 0.03
/* Flagged when overhead is at least this share of its unit and of all samples. */
#define MIN_OVERHEAD_OF_UNIT	0.50
#define MIN_OVERHEAD_OF_PROFILE 0.05
/* Folded into a listed candidate whose unit holds at least this share of its own. */
#define FOLD_SHARE 0.80
/* Remedy JIT: boxed arithmetic at least this share of the unit; arithmetic, dispatch and
 * allocation (boxing the results) together at least JIT_NUMERIC; little time in per-element
 * callees and in the generic machinery. */
#define JIT_MIN_ARITH	    0.10
#define JIT_NUMERIC	    0.50
#define JIT_MAX_PER_ELEMENT 0.20
#define JIT_MAX_GENERIC	    0.25
/* Remedy codegen: per-element callees take at least CODEGEN_MIN_PER_ELEMENT of the unit (a
 * structural signal that needs no C symbols), or they and the generic machinery (calls,
 * lookups, comparisons, iteration) together at least CODEGEN_MIN_GENERIC. */
#define CODEGEN_MIN_PER_ELEMENT 0.20
#define CODEGEN_MIN_GENERIC	0.30
#define MAX_DEPTH		4096

const char *hl_remedy_name(enum hl_remedy remedy)
{
	switch (remedy) {
	case HL_REMEDY_CODEGEN:
		return "codegen";
	case HL_REMEDY_JIT:
		return "jit";
	case HL_REMEDY_COMPILE:
		return "cython";
	default:
		return "none";
	}
}

bool hl_candidates_is_inner_code(const char *qualname)
{
	const char *last = strrchr(qualname, '.');

	last = last ? last + 1 : qualname;
	return last[0] == '<' && strcmp(last, "<module>") != 0;
}

struct fn_stats {
	uint64_t total;	  /* samples with the function (innermost occurrence) */
	uint64_t calling; /* ... where a deeper Python frame is another, non-inner function */
	uint64_t unit, own, self, cost[HL_COST_COUNT];
	uint64_t stamp; /* last sample visited, to count each function once per sample */
	bool python, inner, leaf;
	int8_t cls; /* cached category of a native function, -1: not computed */
};

struct analysis {
	const struct hl_profile *p;
	const struct hl_rfunction *functions;
	const struct hl_rframe *frames;
	const struct hl_rstack *stacks;
	size_t nr_functions;
	int minor;
	struct fn_stats *fs;
	uint32_t chain[MAX_DEPTH]; /* function indices, outermost first */
	uint32_t py[MAX_DEPTH];	   /* positions in chain of the Python frames */
	struct hl_map *callees;	   /* (candidate << 32 | callee) -> samples */
	struct hl_map *real;	   /* (candidate << 32 | C function) -> samples */
	struct hl_map *overlap;	   /* (outer << 32 | inner) -> samples in both units */
};

static size_t chain_of(struct analysis *a, uint32_t stack)
{
	size_t n = 0, i;
	uint32_t node = stack;

	while (node != HL_NONE && n < MAX_DEPTH) {
		a->chain[n++] = a->frames[a->stacks[node].frame].function;
		node = a->stacks[node].parent;
	}
	for (i = 0; i < n / 2; i++) { /* outermost first */
		uint32_t t = a->chain[i];

		a->chain[i] = a->chain[n - 1 - i];
		a->chain[n - 1 - i] = t;
	}
	return n;
}

static enum hl_cost class_of(struct analysis *a, uint32_t fn)
{
	const struct hl_rfunction *f = &a->functions[fn];
	struct hl_cost_frame frame = {.kind = f->kind, .name = f->name, .module = f->module};

	if (a->fs[fn].cls < 0)
		a->fs[fn].cls = (int8_t)hl_cost_classify(&frame, a->minor);
	return (enum hl_cost)a->fs[fn].cls;
}

/* The category of the C code above the innermost Python frame (chain[from..n-1]): the
 * innermost frame that is not a pass-through helper decides; none: the eval loop itself ran
 * the Python frame's bytecode.  *real_in: for real work, the outermost C function of it. */
static enum hl_cost classify_tail(struct analysis *a, size_t from, size_t n, uint32_t *real_in)
{
	enum hl_cost cost = HL_COST_DISPATCH;
	size_t i;

	*real_in = HL_NONE;
	for (i = n; i > from; i--) {
		enum hl_cost c = class_of(a, a->chain[i - 1]);

		if (c != HL_COST_PASS) {
			cost = c;
			break;
		}
	}
	if (cost == HL_COST_REAL)
		for (i = from; i < n; i++)
			if (class_of(a, a->chain[i]) == HL_COST_REAL) {
				*real_in = a->chain[i];
				break;
			}
	return cost;
}

static int map_add(struct hl_map *m, uint32_t hi, uint32_t lo, uint64_t w)
{
	uint64_t key = (uint64_t)hi << 32 | lo, v = 0;

	hl_map__get(m, key, &v);
	return hl_map__set(m, key, v + w);
}

static uint64_t map_value(const struct hl_map *m, uint32_t hi, uint32_t lo)
{
	uint64_t v = 0;

	hl_map__get(m, (uint64_t)hi << 32 | lo, &v);
	return v;
}

/* Pass 1: totals and how often each function calls other Python functions. */
static void count_calls(struct analysis *a, const struct hl_rcount *counts, size_t nr_counts)
{
	size_t c;

	for (c = 0; c < nr_counts; c++) {
		size_t n, m = 0, i;
		bool deeper_call = false; /* a non-inner Python frame deeper than position i */
		uint32_t deeper_fn = HL_NONE;

		if (counts[c].stack == HL_NONE)
			continue;
		n = chain_of(a, counts[c].stack);
		for (i = 0; i < n; i++)
			if (a->fs[a->chain[i]].python)
				a->py[m++] = (uint32_t)i;
		for (i = m; i > 0; i--) {
			uint32_t fn = a->chain[a->py[i - 1]];
			struct fn_stats *f = &a->fs[fn];

			if (f->stamp != c + 1) {
				f->stamp = c + 1;
				f->total += counts[c].weight;
				if (deeper_call && deeper_fn != fn)
					f->calling += counts[c].weight;
			}
			if (!f->inner && !deeper_call) {
				deeper_call = true;
				deeper_fn = fn;
			}
		}
	}
}

/* Pass 2 for one sample. */
static int attribute(struct analysis *a, uint32_t stack, uint64_t w, uint64_t stamp,
		     struct hl_candidates *out)
{
	uint32_t members[64], real_in, innermost;
	size_t n = chain_of(a, stack), m = 0, nm = 0, i, j;
	bool per_element = true, inner_only = true;
	enum hl_cost cost;
	int err = 0;

	for (i = 0; i < n; i++)
		if (a->fs[a->chain[i]].python)
			a->py[m++] = (uint32_t)i;
	if (!m)
		return 0;
	out->python_samples += w;
	cost = classify_tail(a, a->py[m - 1] + 1, n, &real_in);
	if (cost == HL_COST_UNKNOWN)
		out->unknown += w;
	innermost = a->chain[a->py[m - 1]];
	for (i = m; i > 0 && per_element; i--) {
		uint32_t fn = a->chain[a->py[i - 1]];
		struct fn_stats *f = &a->fs[fn];

		if (!f->inner && f->stamp != stamp) {
			f->stamp = stamp;
			f->unit += w;
			f->cost[cost] += w;
			if (i == m)
				f->self += w;
			if (inner_only)
				f->own += w;
			if (fn != innermost)
				err = err ? err : map_add(a->callees, fn, innermost, w);
			if (real_in != HL_NONE)
				err = err ? err : map_add(a->real, fn, real_in, w);
			if (nm < sizeof(members) / sizeof(members[0]))
				members[nm++] = fn;
		}
		per_element = f->inner || f->leaf;
		inner_only = inner_only && f->inner;
	}
	/* members[] runs inner to outer: every later one's unit holds every earlier one's. */
	for (i = 0; i < nm; i++)
		for (j = i + 1; j < nm; j++)
			err = err ? err : map_add(a->overlap, members[j], members[i], w);
	return err;
}

static int by_savings(const void *x, const void *y)
{
	const struct hl_candidate *a = x, *b = y;

	if ((a->remedy == HL_REMEDY_NONE) != (b->remedy == HL_REMEDY_NONE))
		return a->remedy == HL_REMEDY_NONE ? 1 : -1;
	if (a->overhead != b->overhead)
		return a->overhead > b->overhead ? -1 : 1;
	if (a->unit != b->unit)
		return a->unit > b->unit ? -1 : 1;
	return a->function < b->function ? -1 : a->function > b->function;
}

static int by_samples(const void *x, const void *y)
{
	const struct hl_candidate_part *a = x, *b = y;

	if (a->samples != b->samples)
		return a->samples > b->samples ? -1 : 1;
	return a->function < b->function ? -1 : a->function > b->function;
}

static void choose_remedy(struct hl_candidate *c, uint64_t samples)
{
	double unit = (double)c->unit;
	double overhead = c->overhead / unit;
	double per_element = (double)(c->unit - c->self) / unit;
	double arith = c->cost[HL_COST_ARITH] / unit;
	double numeric =
	    (c->cost[HL_COST_ARITH] + c->cost[HL_COST_DISPATCH] + c->cost[HL_COST_ALLOC]) / unit;
	double generic = (c->cost[HL_COST_CALL] + c->cost[HL_COST_LOOKUP] +
			  c->cost[HL_COST_COMPARE] + c->cost[HL_COST_ITERATION]) /
			 unit;

	if (overhead < MIN_OVERHEAD_OF_UNIT ||
	    (double)c->overhead < MIN_OVERHEAD_OF_PROFILE * (double)samples) {
		uint64_t at_most = c->overhead + c->cost[HL_COST_UNKNOWN];

		c->remedy = HL_REMEDY_NONE;
		/* Unnamed interpreter code may be overhead or real work (a built-in module):
		 * say so rather than guess, when it decides the verdict. */
		c->undetermined = (double)at_most >= MIN_OVERHEAD_OF_UNIT * unit &&
				  (double)at_most >= MIN_OVERHEAD_OF_PROFILE * (double)samples;
		if (c->undetermined) {
			c->reason = "undetermined: too much of its time ran interpreter code "
				    "without symbols";
			return;
		}
		if (c->cost[HL_COST_REAL] >= c->overhead && c->real_in != HL_NONE)
			c->reason = "the time is real work in C";
		else if (overhead < MIN_OVERHEAD_OF_UNIT)
			c->reason = "interpreter overhead is under half of its time";
		else
			c->reason = "what it could save is under 5% of the profile";
		return;
	}
	if (arith >= JIT_MIN_ARITH && numeric >= JIT_NUMERIC && per_element < JIT_MAX_PER_ELEMENT &&
	    generic < JIT_MAX_GENERIC) {
		c->remedy = HL_REMEDY_JIT;
		c->reason = "boxed arithmetic and bytecode dispatch in a loop";
	} else if (per_element >= CODEGEN_MIN_PER_ELEMENT ||
		   generic + per_element >= CODEGEN_MIN_GENERIC) {
		c->remedy = HL_REMEDY_CODEGEN;
		c->reason = "generic calls, lookups, comparisons and iteration per element";
	} else {
		c->remedy = HL_REMEDY_COMPILE;
		c->reason = "interpreter overhead without a per-element pattern";
	}
}

/* Pass 3: one candidate per eligible function, ranked, folded, with its remedy. */
static int rank(struct analysis *a, struct hl_candidates *out)
{
	struct hl_candidate *listed, *folded;
	size_t fn, i, j, nr = 0, nl = 0, nf = 0;
	uint64_t key, v;
	size_t cursor;

	for (fn = 0; fn < a->nr_functions; fn++) {
		struct fn_stats *f = &a->fs[fn];

		if (!f->python || f->inner || !f->unit)
			continue;
		if ((double)f->unit < MIN_UNIT_SHARE * (double)out->samples ||
		    (double)f->own < MIN_OWN_SHARE * (double)f->unit)
			continue;
		nr++;
	}
	out->items = calloc(nr ? nr : 1, sizeof(*out->items));
	if (!out->items)
		return -ENOMEM;
	for (fn = 0; fn < a->nr_functions; fn++) {
		struct fn_stats *f = &a->fs[fn];
		struct hl_candidate *c;
		uint64_t best = 0;

		if (!f->python || f->inner || !f->unit ||
		    (double)f->unit < MIN_UNIT_SHARE * (double)out->samples ||
		    (double)f->own < MIN_OWN_SHARE * (double)f->unit)
			continue;
		c = &out->items[out->nr++];
		c->function = (uint32_t)fn;
		c->unit = f->unit;
		c->own = f->own;
		c->self = f->self;
		c->real_in = HL_NONE;
		c->folded_into = HL_NONE;
		memcpy(c->cost, f->cost, sizeof(c->cost));
		for (i = 0; i < HL_COST_COUNT; i++)
			if (hl_cost_is_overhead((enum hl_cost)i))
				c->overhead += f->cost[i];
		cursor = 0;
		while (hl_map__next(a->real, &cursor, &key, &v))
			if (key >> 32 == fn && v > best) {
				best = v;
				c->real_in = (uint32_t)key;
			}
		cursor = 0;
		while (hl_map__next(a->callees, &cursor, &key, &v))
			if (key >> 32 == fn)
				c->nr_callees++;
		if (c->nr_callees) {
			c->callees = calloc(c->nr_callees, sizeof(*c->callees));
			if (!c->callees)
				return -ENOMEM;
			cursor = 0;
			j = 0;
			while (hl_map__next(a->callees, &cursor, &key, &v))
				if (key >> 32 == fn && j < c->nr_callees)
					c->callees[j++] =
					    (struct hl_candidate_part){(uint32_t)key, v};
			qsort(c->callees, c->nr_callees, sizeof(*c->callees), by_samples);
		}
		choose_remedy(c, out->samples);
	}
	qsort(out->items, out->nr, sizeof(*out->items), by_savings);
	/* Fold, in rank order, into the listed candidates above; then listed ones first. */
	for (i = 0; i < out->nr; i++)
		for (j = 0; j < i; j++) {
			struct hl_candidate *outer = &out->items[j], *c = &out->items[i];

			if (outer->folded_into == HL_NONE &&
			    (double)map_value(a->overlap, outer->function, c->function) >=
				FOLD_SHARE * (double)c->unit) {
				c->folded_into = outer->function;
				break;
			}
		}
	listed = malloc((out->nr ? out->nr : 1) * sizeof(*listed));
	folded = malloc((out->nr ? out->nr : 1) * sizeof(*folded));
	if (!listed || !folded) {
		free(listed);
		free(folded);
		return -ENOMEM;
	}
	for (i = 0; i < out->nr; i++) {
		if (out->items[i].folded_into == HL_NONE)
			listed[nl++] = out->items[i];
		else
			folded[nf++] = out->items[i];
	}
	memcpy(out->items, listed, nl * sizeof(*listed));
	memcpy(out->items + nl, folded, nf * sizeof(*folded));
	out->nr_listed = nl;
	free(listed);
	free(folded);
	return 0;
}

void hl_candidates__settle_unknown(struct hl_candidates *cs, size_t i, enum hl_cost as)
{
	struct hl_candidate *c = &cs->items[i];

	if (!c->cost[HL_COST_UNKNOWN])
		return;
	c->cost[as] += c->cost[HL_COST_UNKNOWN];
	c->overhead += c->cost[HL_COST_UNKNOWN];
	c->cost[HL_COST_UNKNOWN] = 0;
	c->undetermined = false;
	choose_remedy(c, cs->samples);
	c->settled = true;
}

void hl_candidates__rerank(struct hl_candidates *cs)
{
	qsort(cs->items, cs->nr_listed, sizeof(*cs->items), by_savings);
}

struct hl_candidates *hl_candidates__analyze(const struct hl_profile *p,
					     const struct hl_candidates_facts *facts)
{
	struct analysis *a = calloc(1, sizeof(*a));
	struct hl_candidates *out = calloc(1, sizeof(*out));
	size_t nr_counts, nr_frames, nr_stacks, i;
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);
	int err = -ENOMEM;

	if (!a || !out)
		goto out_fail;
	out->facts = *facts;
	out->samples = hl_profile__summary(p)->selected;
	a->p = p;
	a->minor = facts->minor;
	a->functions = hl_profile__functions(p, &a->nr_functions);
	a->frames = hl_profile__frames(p, &nr_frames);
	a->stacks = hl_profile__stacks(p, &nr_stacks);
	a->fs = calloc(a->nr_functions ? a->nr_functions : 1, sizeof(*a->fs));
	a->callees = hl_map__new(256);
	a->real = hl_map__new(256);
	a->overlap = hl_map__new(256);
	if (!a->fs || !a->callees || !a->real || !a->overlap)
		goto out_fail;
	for (i = 0; i < a->nr_functions; i++) {
		a->fs[i].cls = -1;
		a->fs[i].python = a->functions[i].kind == HL_FUNC_PYTHON;
		a->fs[i].inner =
		    a->fs[i].python && hl_candidates_is_inner_code(a->functions[i].name);
	}
	count_calls(a, counts, nr_counts);
	for (i = 0; i < a->nr_functions; i++) {
		struct fn_stats *f = &a->fs[i];

		f->leaf = f->python && !f->inner &&
			  (double)f->calling <= LEAF_MAX_CALLING * (double)f->total;
		f->stamp = 0;
	}
	for (i = 0; i < nr_counts; i++) {
		if (counts[i].stack == HL_NONE)
			continue;
		err = attribute(a, counts[i].stack, counts[i].weight, i + 1, out);
		if (err)
			goto out_fail;
	}
	err = rank(a, out);
	if (err)
		goto out_fail;
	hl_map__free(a->callees);
	hl_map__free(a->real);
	hl_map__free(a->overlap);
	free(a->fs);
	free(a);
	return out;

out_fail:
	if (a) {
		hl_map__free(a->callees);
		hl_map__free(a->real);
		hl_map__free(a->overlap);
		free(a->fs);
		free(a);
	}
	hl_candidates__free(out);
	errno = -err;
	return NULL;
}

void hl_candidates__free(struct hl_candidates *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nr; i++)
		free(c->items[i].callees);
	free(c->items);
	free(c);
}
