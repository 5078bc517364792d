/* report/candidates_write.h — text and JSON outputs of `hotloop candidates`
 * (docs/candidates.md, "Output").
 */
#pragma once
#include "report/candidates.h"

#include <stdio.h>

/* Evidence read beside the profile (bytecode, argument identities): each writer adds its
 * part to a candidate's entry.  Any member may be NULL. */
struct hl_candidates_evidence {
	void *data;
	const char *missing;	   /* text: which evidence could not be read, and why */
	const char *const *missing_keys; /* NULL-terminated names of missing evidence, for JSON */
	void (*write_text)(const struct hl_candidates_evidence *ev, const struct hl_profile *p,
			   const struct hl_candidate *c, FILE *out);
	/* Writes `, "key": value` members of the candidate's object. */
	void (*write_json)(const struct hl_candidates_evidence *ev, const struct hl_profile *p,
			   const struct hl_candidate *c, FILE *out);
};

/* @rows: listed candidates to show, 0 for all.  @ev may be NULL.  Return 0 (write errors are
 * the caller's to check with ferror). */
int hl_candidates_write_text(const struct hl_candidates *cs, const struct hl_profile *p,
			     const struct hl_candidates_evidence *ev, size_t rows, FILE *out);
/* JSON: every candidate, the folded ones after the listed (rank 0). */
int hl_candidates_write_json(const struct hl_candidates *cs, const struct hl_profile *p,
			     const struct hl_candidates_evidence *ev, size_t rows, FILE *out);
