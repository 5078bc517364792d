/* report/view.c — what a report does to whole stacks: --focus/--ignore and the views of a
 * mixed stack (report/profile.h, enum hl_view; docs/formats.md, "Views").
 *
 * Runs once on the freshly loaded model, before any format sees it.  Both steps work per
 * distinct stack, never per sample: focus/ignore decide per stack node whether its path holds
 * a matching function (memoized up the prefix tree), and the view rebuilds the prefix tree
 * top-down with the frames it shows, memoizing for each original node the node it became.
 * The counts are then moved to the new nodes and merged where two original stacks became one.
 *
 * The rules of the views, per frame, outermost first:
 *   mixed   an eval-loop frame (kind 5) followed by a Python frame is dropped: the Python
 *           frames it runs stand for it.  One followed by anything else (a C frame, another
 *           eval frame, nothing) stays, so time is never attributed to a frame that was not
 *           there.
 *   python  native, eval-loop and kernel frames are dropped, so time spent in C goes to the
 *           nearest Python frame; a stack left without a Python frame gets a "[native]" frame
 *           at its end, so its time stays visible.
 *   native  Python frames are dropped; a stack left without a native, eval-loop or kernel
 *           frame gets "[python]".
 * Synthetic frames (markers) stay in every view.  Not responsible for loading (profile.c) nor
 * for how frames are spelled (label.c).
 */
#define _GNU_SOURCE
#include "report/profile_private.h"
#include "report/itab.h"
#include "report/label.h"
#include "schema/store.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* ---- focus / ignore ---------------------------------------------------------------------- */

enum {
	PATH_KNOWN = 1 << 0,
	PATH_FOCUS = 1 << 1,  /* the path from the root to this node has a --focus match */
	PATH_IGNORE = 1 << 2, /* ... an --ignore match */
};

/* fn_flags[f]: PATH_FOCUS / PATH_IGNORE when function f's label matches. */
static int match_functions(struct hl_profile *p, const struct hl_report_filter *f,
			   unsigned char *fn_flags)
{
	regex_t focus, ignore;
	struct hl_buf label = {0};
	size_t i;
	int err = 0;

	if (f->focus && regcomp(&focus, f->focus, REG_EXTENDED | REG_NOSUB)) {
		hl_err("--focus '%s' is not a valid regular expression", f->focus);
		return -EINVAL;
	}
	if (f->ignore && regcomp(&ignore, f->ignore, REG_EXTENDED | REG_NOSUB)) {
		hl_err("--ignore '%s' is not a valid regular expression", f->ignore);
		err = -EINVAL;
		goto out_focus;
	}
	for (i = 0; i < p->nr_functions; i++) {
		label.len = 0;
		err = hl_label_function(&label, p, (uint32_t)i, 0);
		if (!err)
			err = hl_buf__addc(&label, '\0');
		if (err)
			break;
		if (f->focus && !regexec(&focus, label.data, 0, NULL, 0))
			fn_flags[i] |= PATH_FOCUS;
		if (f->ignore && !regexec(&ignore, label.data, 0, NULL, 0))
			fn_flags[i] |= PATH_IGNORE;
	}
	hl_buf__release(&label);
	if (f->ignore)
		regfree(&ignore);
out_focus:
	if (f->focus)
		regfree(&focus);
	return err;
}

/* Path flags of node @leaf, filling in the memo of every node up to a known one. */
static unsigned char path_flags(const struct hl_profile *p, const unsigned char *fn_flags,
				unsigned char *memo, uint32_t *path, uint32_t leaf)
{
	uint32_t n, depth = 0;
	unsigned char flags;

	for (n = leaf; n != HL_NONE && !(memo[n] & PATH_KNOWN); n = p->stacks[n].parent)
		path[depth++] = n;
	flags = n == HL_NONE ? 0 : memo[n] & ~PATH_KNOWN;
	while (depth--) {
		n = path[depth];
		flags |= fn_flags[p->frames[p->stacks[n].frame].function];
		memo[n] = flags | PATH_KNOWN;
	}
	return flags;
}

static uint32_t max_depth(const struct hl_profile *p)
{
	uint32_t d = 0;
	size_t i;

	for (i = 0; i < p->nr_stacks; i++)
		d = HL_MAX(d, p->stacks[i].depth);
	return d;
}

/* Zeroes the weight of the counts whose stack fails --focus/--ignore. */
static int apply_focus(struct hl_profile *p, const struct hl_report_filter *f)
{
	unsigned char *fn_flags, *memo;
	uint32_t *path;
	size_t i;
	int err = -ENOMEM;

	fn_flags = calloc(p->nr_functions + 1, 1);
	memo = calloc(p->nr_stacks + 1, 1);
	path = calloc((size_t)max_depth(p) + 1, sizeof(*path));
	if (!fn_flags || !memo || !path)
		goto out_free;
	err = match_functions(p, f, fn_flags);
	if (err)
		goto out_free;
	for (i = 0; i < p->nr_counts; i++) {
		struct hl_rcount *c = &p->counts[i];
		unsigned char flags = 0;

		if (c->stack != HL_NONE)
			flags = path_flags(p, fn_flags, memo, path, c->stack);
		if ((f->focus && !(flags & PATH_FOCUS)) || (f->ignore && (flags & PATH_IGNORE)))
			c->weight = 0;
	}
out_free:
	free(path);
	free(memo);
	free(fn_flags);
	return err;
}

/* ---- views ------------------------------------------------------------------------------- */

/* The new prefix tree, interned by (parent, frame). */
struct builder {
	struct hl_rstack *stacks;
	size_t nr, cap;
	struct hl_itab index; /* parent << 32 | frame -> node */
};

static uint64_t node_key(const void *arg, uint32_t node)
{
	const struct builder *b = arg;

	return (uint64_t)b->stacks[node].parent << 32 | b->stacks[node].frame;
}

static int intern(struct builder *b, uint32_t parent, uint32_t frame, uint32_t *out)
{
	uint64_t key = (uint64_t)parent << 32 | frame;
	uint32_t v = hl_itab__find(&b->index, key);

	if (v != HL_ITAB_EMPTY) {
		*out = v;
		return 0;
	}
	if (b->nr >= HL_NONE - 1 ||
	    hl_grow_array((void **)&b->stacks, &b->cap, b->nr + 1, sizeof(*b->stacks)))
		return -ENOMEM;
	b->stacks[b->nr].parent = parent;
	b->stacks[b->nr].frame = frame;
	if (hl_itab__add(&b->index, key, (uint32_t)b->nr))
		return -ENOMEM;
	b->stacks[b->nr] = (struct hl_rstack){
		.parent = parent,
		.frame = frame,
		.depth = parent == HL_NONE ? 1 : b->stacks[parent].depth + 1,
	};
	*out = (uint32_t)b->nr++;
	return 0;
}

/* What an original node became. */
struct state {
	uint32_t node;    /* in the new tree; HL_NONE: no frame kept yet */
	uint32_t pending; /* mixed: an eval-loop frame whose fate the next frame decides */
	uint8_t known;
	uint8_t has_own;  /* python: a Python frame was kept; native: a C/kernel frame was */
	uint8_t dropped;  /* a frame was dropped */
};

/* Adds a synthetic function and its frame ("[native]", "[python]"); returns the frame. */
static int add_marker(struct hl_profile *p, const char *name, uint32_t *frame)
{
	struct hl_rfunction *f;

	if (hl_grow_array((void **)&p->functions, &p->cap_functions, p->nr_functions + 1,
			  sizeof(*f)) ||
	    hl_grow_array((void **)&p->frames, &p->cap_frames, p->nr_frames + 1,
			  sizeof(*p->frames)))
		return -ENOMEM;
	f = &p->functions[p->nr_functions];
	*f = (struct hl_rfunction){.kind = HL_FUNC_SYNTHETIC, .name = name, .file = "",
				   .module = ""};
	p->frames[p->nr_frames] = (struct hl_rframe){.function = (uint32_t)p->nr_functions,
						     .file = ""};
	*frame = (uint32_t)p->nr_frames;
	p->nr_functions++;
	p->nr_frames++;
	return 0;
}

struct transform {
	struct hl_profile *p;
	enum hl_view view;
	struct builder b;
	struct state *memo;
	uint32_t *path;
	uint32_t marker; /* frame of "[native]"/"[python]", HL_NONE until needed */
};

/* Applies the view's rule for the frame of original node @n to @s. */
static int step(struct transform *t, struct state *s, uint32_t n)
{
	uint32_t frame = t->p->stacks[n].frame;
	int kind = t->p->functions[t->p->frames[frame].function].kind;
	int err = 0;

	switch (t->view) {
	case HL_VIEW_MIXED:
		if (kind == HL_FUNC_PYTHON && s->pending != HL_NONE) {
			s->pending = HL_NONE; /* the Python frames replace their eval frame */
			s->dropped = 1;
		} else if (s->pending != HL_NONE) {
			err = intern(&t->b, s->node, s->pending, &s->node);
			s->pending = HL_NONE;
		}
		if (err)
			return err;
		if (kind == HL_FUNC_EVAL) {
			s->pending = frame;
			return 0;
		}
		return intern(&t->b, s->node, frame, &s->node);
	case HL_VIEW_PYTHON:
		if (kind == HL_FUNC_NATIVE || kind == HL_FUNC_EVAL || kind == HL_FUNC_KERNEL) {
			s->dropped = 1;
			return 0;
		}
		if (kind == HL_FUNC_PYTHON)
			s->has_own = 1;
		return intern(&t->b, s->node, frame, &s->node);
	case HL_VIEW_NATIVE:
		if (kind == HL_FUNC_PYTHON) {
			s->dropped = 1;
			return 0;
		}
		if (kind == HL_FUNC_NATIVE || kind == HL_FUNC_EVAL || kind == HL_FUNC_KERNEL)
			s->has_own = 1;
		return intern(&t->b, s->node, frame, &s->node);
	}
	return -EINVAL;
}

/* The new node of the stack ending at original node @leaf. */
static int transform_leaf(struct transform *t, uint32_t leaf, uint32_t *out)
{
	const struct hl_rstack *stacks = t->p->stacks;
	struct state s = {.node = HL_NONE, .pending = HL_NONE};
	uint32_t n, depth = 0;
	int err;

	for (n = leaf; n != HL_NONE && !t->memo[n].known; n = stacks[n].parent)
		t->path[depth++] = n;
	if (n != HL_NONE)
		s = t->memo[n];
	while (depth--) {
		n = t->path[depth];
		err = step(t, &s, n);
		if (err)
			return err;
		s.known = 1;
		t->memo[n] = s;
	}
	/* The end of the stack settles what is pending. */
	if (s.pending != HL_NONE) {
		err = intern(&t->b, s.node, s.pending, &s.node);
		if (err)
			return err;
	}
	if (t->view != HL_VIEW_MIXED && !s.has_own && s.dropped) {
		if (t->marker == HL_NONE) {
			err = add_marker(t->p, t->view == HL_VIEW_PYTHON ? "[native]" : "[python]",
					 &t->marker);
			if (err)
				return err;
		}
		err = intern(&t->b, s.node, t->marker, &s.node);
		if (err)
			return err;
	}
	*out = s.node;
	return 0;
}

static int compare_counts(const void *a, const void *b)
{
	const struct hl_rcount *x = a, *y = b;

	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return (x->state > y->state) - (x->state < y->state);
}

/* Sorts the counts, merges equal keys and drops zero weights; recomputes summary.selected. */
static void merge_counts(struct hl_profile *p)
{
	size_t i, n = 0;

	qsort(p->counts, p->nr_counts, sizeof(*p->counts), compare_counts);
	p->summary.selected = 0;
	for (i = 0; i < p->nr_counts; i++) {
		struct hl_rcount *c = &p->counts[i];

		if (!c->weight)
			continue;
		p->summary.selected += c->weight;
		if (n && !compare_counts(&p->counts[n - 1], c))
			p->counts[n - 1].weight += c->weight;
		else
			p->counts[n++] = *c;
	}
	p->nr_counts = n;
}

static int apply(struct hl_profile *p, enum hl_view view)
{
	struct transform t = {.p = p, .view = view, .marker = HL_NONE};
	size_t i;
	int err = -ENOMEM;

	t.memo = calloc(p->nr_stacks + 1, sizeof(*t.memo));
	t.path = calloc((size_t)max_depth(p) + 1, sizeof(*t.path));
	if (!t.memo || !t.path || hl_itab__init(&t.b.index, p->nr_stacks / 2, node_key, &t.b))
		goto out_free;
	for (i = 0; i < p->nr_counts; i++) {
		struct hl_rcount *c = &p->counts[i];

		if (c->stack == HL_NONE || !c->weight)
			continue;
		err = transform_leaf(&t, c->stack, &c->stack);
		if (err)
			goto out_free;
	}
	free(p->stacks);
	p->stacks = t.b.stacks;
	p->nr_stacks = t.b.nr;
	t.b.stacks = NULL;
	err = 0;

out_free:
	free(t.b.stacks);
	free(t.path);
	free(t.memo);
	hl_itab__release(&t.b.index);
	return err;
}

int hl_profile_apply_view(struct hl_profile *p, const struct hl_report_filter *f)
{
	int err;

	if (f->focus || f->ignore) {
		err = apply_focus(p, f);
		if (err)
			return err;
	}
	err = apply(p, f->view);
	if (err)
		return err;
	merge_counts(p);
	return 0;
}
