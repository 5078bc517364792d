/* report/candidates.h — `hotloop candidates`: which hot Python functions are expensive because
 * they are generic, and what specializing them could save.
 *
 * The analysis works on a loaded profile (report/profile.h) in the mixed view, where the
 * native frames a Python function runs sit between it and its Python callees.  For each
 * Python function it measures its *unit*: the samples in the function itself, in the
 * comprehensions, generator expressions and lambdas it runs, and in the small Python
 * functions called per element (a callee that never calls Python code itself).  The native
 * frames of each sample are classified (report/costclass.h) into interpreter overhead or real
 * work; the overhead in a unit is what a specialization could save.  docs/candidates.md
 * specifies the unit, the score, the thresholds and the remedies.
 *
 * Not responsible for reading the store (the caller loads the profile and the facts below)
 * nor for the evidence read from code objects (report/codeinfo.h).
 */
#pragma once
#include "report/costclass.h"
#include "report/profile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HL_CANDIDATES_DEFAULT_ROWS 10

enum hl_remedy {
	HL_REMEDY_NONE = 0, /* not a candidate */
	HL_REMEDY_CODEGEN,  /* generate a function specialized per invariant key */
	HL_REMEDY_JIT,	    /* numeric or loop-heavy code: a JIT compiles it well */
	HL_REMEDY_COMPILE,  /* Cython, mypyc or C: generic overhead without an invariant key */
};

/* "none", "codegen", "jit", "cython". */
const char *hl_remedy_name(enum hl_remedy remedy);

/* What the store says about the recording (the caller reads it). */
struct hl_candidates_facts {
	int minor;		 /* CPython 3.minor of the (first) process; 0 when unknown */
	const char *python;	 /* its version text, "" when unknown */
	bool has_native;	 /* recorded in mixed mode: native frames are there to classify */
};

struct hl_candidate_part {
	uint32_t function; /* index into hl_profile__functions */
	uint64_t samples;
};

struct hl_candidate {
	uint32_t function;  /* index into hl_profile__functions */
	uint64_t unit;	    /* samples in its unit (see above) */
	uint64_t own;	    /* ... in the function and its comprehensions, genexprs, lambdas */
	uint64_t self;	    /* ... with the function itself the innermost Python frame */
	uint64_t cost[HL_COST_COUNT]; /* unit samples per category of their innermost C code */
	uint64_t overhead;  /* sum of the overhead categories */
	uint32_t real_in;   /* function where most of its real work starts, HL_NONE if none */
	struct hl_candidate_part *callees; /* per-element callees, by samples, descending */
	size_t nr_callees;
	uint32_t folded_into; /* index of the listed candidate whose unit holds this one, or
				 HL_NONE */
	enum hl_remedy remedy;
	const char *reason; /* static text: why this remedy */
	const char *key;    /* codegen: the invariant argument to specialize per (borrowed from
			       the evidence, report/codeinfo.h), NULL when none was measured */
	bool undetermined;  /* not flagged, but would be if its interpreter code without symbols
			       (HL_COST_UNKNOWN) were overhead: the verdict needs symbols */
	bool settled;	    /* its interpreter code without symbols was placed by its bytecode
			       (hl_candidates__settle_unknown) */
};

struct hl_candidates {
	uint64_t samples;	/* samples selected */
	uint64_t python_samples; /* ... with at least one Python frame */
	uint64_t unknown;	/* ... whose innermost C code had no symbol */
	struct hl_candidates_facts facts;
	struct hl_candidate *items; /* every eligible function: listed first (by savings), then
				       folded ones */
	size_t nr;
	size_t nr_listed;
};

/* Analyzes @profile (loaded with the mixed view).  Returns NULL and sets errno (ENOMEM). */
struct hl_candidates *hl_candidates__analyze(const struct hl_profile *profile,
					     const struct hl_candidates_facts *facts);
/* Accepts NULL. */
void hl_candidates__free(struct hl_candidates *c);

/* Places the interpreter code without symbols (HL_COST_UNKNOWN) of listed candidate @i when
 * its bytecode shows what that code must be (report/codeinfo.c decides): it is counted as
 * category @as, an overhead category, and the remedy is chosen again.  Call
 * hl_candidates__rerank() after settling. */
void hl_candidates__settle_unknown(struct hl_candidates *cs, size_t i, enum hl_cost as);
/* Orders the listed candidates again after remedies changed. */
void hl_candidates__rerank(struct hl_candidates *cs);

/* Exposed for tests: whether a qualname names a comprehension, generator expression or lambda
 * ("f.<locals>.<genexpr>", "<listcomp>"), which belongs to the function that defines it. */
bool hl_candidates_is_inner_code(const char *qualname);
