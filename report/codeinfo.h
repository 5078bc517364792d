/* report/codeinfo.h — the bytecode evidence of `hotloop candidates`: for each listed
 * candidate, what its recorded bytecode (table function_code) says — generic builtins,
 * attribute loads on self, loops, branches, comparisons, arithmetic, calls — and the
 * instructions of its hottest lines (docs/candidates.md, "Bytecode evidence").
 *
 * Decoding is report/bytecode.h's; ranking is report/candidates.h's.  This module reads the
 * rows, finds the hottest lines from the profile and writes the evidence through the hooks of
 * report/candidates_write.h.
 */
#pragma once
#include "report/candidates_write.h"
#include "schema/store.h"

#include <stdbool.h>
#include <stdint.h>

struct hl_codeinfo;

/* Arguments shown per candidate, and what makes one a specialization key (docs/candidates.md,
 * "Invariance"): at most KEY_MAX_DISTINCT objects, in at least KEY_MIN_SAMPLES samples, each
 * object seen in KEY_MIN_PER_OBJECT samples on average.  Runs are shown, not required: how
 * long one object stays depends on the sampling rate as much as on the program. */
#define HL_INVARIANCE_ARGS 8
#define KEY_MAX_DISTINCT   8
#define KEY_MIN_SAMPLES	   20
#define KEY_MIN_PER_OBJECT 5

bool hl_invariance_is_key(const char *name, uint64_t samples, uint64_t distinct, bool more);

/* Reads the evidence of the first @rows listed candidates of @cs (0: all) from @store: the
 * bytecode, and the argument identities (invariance).  It also settles what depends on the
 * latter: a codegen candidate gets its key (hl_candidate.key), or becomes a compile candidate
 * when identities were recorded and none of its arguments is one.  Returns NULL and sets
 * errno (ENOMEM, EIO).  A file written before a table existed is not an error: that evidence
 * is reported missing. */
struct hl_codeinfo *hl_codeinfo__load(struct hl_store *store, const struct hl_profile *p,
				      struct hl_candidates *cs, size_t rows);
/* Accepts NULL. */
void hl_codeinfo__free(struct hl_codeinfo *info);
/* Fills @ev with hooks writing @info's evidence; valid while @info lives. */
void hl_codeinfo__evidence(struct hl_codeinfo *info, struct hl_candidates_evidence *ev);
