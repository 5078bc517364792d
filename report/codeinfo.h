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

struct hl_codeinfo;

/* Reads the evidence of the first @rows listed candidates of @cs (0: all) from @store.
 * Returns NULL and sets errno (ENOMEM, EIO).  A file written before the table existed is not
 * an error: its evidence is reported missing. */
struct hl_codeinfo *hl_codeinfo__load(struct hl_store *store, const struct hl_profile *p,
				      const struct hl_candidates *cs, size_t rows);
/* Accepts NULL. */
void hl_codeinfo__free(struct hl_codeinfo *info);
/* Fills @ev with hooks writing @info's evidence; valid while @info lives. */
void hl_codeinfo__evidence(struct hl_codeinfo *info, struct hl_candidates_evidence *ev);
