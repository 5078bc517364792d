/* report/calltree.h — the call tree by function, for tree, svg and the diff flame graphs.
 *
 * The stack prefix tree of the model keys nodes by frame (function, line, address); the call
 * tree keys them by function, or by any grouping of functions the caller chooses ("key"), so
 * the frames of one function under one caller become one node whatever line was running.
 * Up to two profiles can be added into one tree (the inputs of a diff), each with its own
 * totals.  Node 0 is the root, above every outermost frame; samples without frames are a
 * child of the root with the key HL_CT_NO_FRAMES.
 *
 * Built in O(distinct stacks); memory proportional to the nodes.  Not responsible for labels
 * (the caller maps keys to text) nor for output.
 */
#pragma once
#include "report/itab.h"
#include "report/profile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HL_CT_ROOT HL_NONE
#define HL_CT_NO_FRAMES (HL_NONE - 1)

struct hl_ctnode {
	uint32_t parent;       /* HL_NONE for the root */
	uint32_t key;          /* function index or group; HL_CT_ROOT, HL_CT_NO_FRAMES */
	uint32_t first_child;  /* HL_NONE: a leaf; valid after hl_calltree__sort */
	uint32_t next_sibling;
	uint32_t depth;        /* 0 for the root, 1 for outermost frames */
	uint64_t total[2];     /* samples whose stack passes through the node, per input */
	uint64_t self[2];      /* samples whose stack ends at the node */
};

struct hl_calltree {
	struct hl_ctnode *nodes; /* nodes[0] is the root; parents before children */
	size_t nr;
	size_t cap;
	struct hl_itab index;    /* parent << 32 | key -> node */
};

/* Initializes @t with its root.  0 or -ENOMEM. */
int hl_calltree__init(struct hl_calltree *t);
void hl_calltree__release(struct hl_calltree *t);
/* Adds every sample of @p as input @input (0 or 1).  @key_of maps a function index to its key
 * (NULL: the function index itself).  0 or -ENOMEM. */
int hl_calltree__add(struct hl_calltree *t, const struct hl_profile *p, const uint32_t *key_of,
		     int input);
/* Links each node's children in the order of @compare (negative: @a first). */
void hl_calltree__sort(struct hl_calltree *t,
		       int (*compare)(const struct hl_ctnode *a, const struct hl_ctnode *b,
				      void *arg),
		       void *arg);

/* A flame graph of a call tree, as a standalone interactive SVG (report/svg.c): the single
 * profile's (widths: input 0, colors by frame kind) or a diff's (widths: input 1, the head;
 * colors: red where a node's share of its profile grew from input 0 to input 1, blue where it
 * shrank). */
struct hl_flame {
	struct hl_calltree *tree;
	const char *(*label)(void *arg, uint32_t key); /* never NULL; the no-frames key too */
	const char *(*kind)(void *arg, uint32_t key);  /* hl_kind_name() spelling */
	void *arg;
	const char *title;
	const char *subtitle;
	bool diff;
	uint64_t samples[2]; /* samples of each input */
};

/* Sorts the tree's children by label (flame graph order) and writes the SVG.  0 or -ENOMEM. */
int hl_flame_svg_write(const struct hl_flame *flame, FILE *out);
