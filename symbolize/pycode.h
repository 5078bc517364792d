/* symbolize/pycode.h — naming Python frames: code object address -> (qualname, file, lines).
 *
 * One cache per target process.  A code object is read once (qualname — name before 3.11 —,
 * filename, co_firstlineno, line table) and kept; since the process may free a code object
 * and reuse its address, each lookup carries the fingerprint the sampler read at the sample
 * instant (8 bytes holding co_firstlineno), and an entry whose fingerprint differs is read
 * again.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collector/pyoffsets.h"
#include "collector/sample.h"
#include "symbolize/linetable.h"

struct hl_pycode {
	uint64_t addr;
	uint64_t fingerprint;
	char *qualname; /* co_qualname on 3.11+, co_name before */
	char *filename;
	int32_t firstlineno;
	uint8_t *linetable;
	size_t linetable_len;
	bool linetable_cut; /* only a prefix of the table could be copied */
	int64_t store_id; /* free for the caller: e.g. the function's row id */
	/* Filled by hl_pycode_cache__read_bytecode(), else NULL/0. */
	uint8_t *bytecode; /* co_code (≤3.10) or co_code_adaptive (3.11+) as read */
	size_t bytecode_len;
	bool bytecode_cut;  /* longer than HL_PYCODE_BYTECODE_MAX: a prefix */
	char *names;	    /* co_names, each followed by a NUL */
	size_t names_len;   /* bytes in @names, NULs included */
	char *first_local;  /* the name of local slot 0 ("self" in methods), or NULL */
	/* The arguments among the first HL_ARG_SLOTS local slots (the sampler sends those
	 * slots): their count and names (arguments come first among the locals). */
	unsigned nr_args;
	char *arg_names[HL_ARG_SLOTS];
};

/* Most bytecode bytes and co_names entries kept per code object: bytecode evidence is read
 * from the hottest functions, which are small; a longer one keeps its prefix. */
#define HL_PYCODE_BYTECODE_MAX (64u << 10)
#define HL_PYCODE_NAMES_MAX    1024u

struct hl_pycode_cache;

/* @code_type: the target's &PyCode_Type (0: unknown, type not checked).  NULL + errno. */
struct hl_pycode_cache *hl_pycode_cache__new(pid_t pid, const struct hl_pyver *ver,
					     uint64_t code_type);
/* Accepts NULL. */
void hl_pycode_cache__free(struct hl_pycode_cache *cache);

/* The code object at @addr with @fingerprint, read on first use.  Returns NULL when it
 * cannot be read (process gone, not a code object); *err gets the reason (-errno).  The
 * result is valid until the cache is freed or the same address is looked up with another
 * fingerprint. */
struct hl_pycode *hl_pycode_cache__get(struct hl_pycode_cache *cache, uint64_t addr,
				       uint64_t fingerprint, int *err);

/* Files a code object whose fields the sampler copied at the sample instant (struct
 * hl_code_record), replacing any entry for @addr.  Takes ownership of @qualname, @filename
 * and @linetable (malloc'ed), also on error.  When @linetable_cut, the table is read again
 * from the target's memory if it is still there.  Returns 0 or -ENOMEM. */
int hl_pycode_cache__put(struct hl_pycode_cache *cache, uint64_t addr, uint64_t fingerprint,
			 char *qualname, char *filename, int32_t firstlineno, uint8_t *linetable,
			 size_t linetable_len, bool linetable_cut);

/* Reads the bytecode, co_names and the first local name of @code from the target (they are
 * not in the sampler's code record), once: a later call returns the first answer.  Returns
 * 0, or -ESTALE when @code->addr no longer holds a code object with @code's fingerprint
 * (checked before and after reading: it was freed since the sample), -EFAULT / -EINVAL /
 * -E2BIG when the object is gone or implausible (@code keeps no partial result then),
 * -EOPNOTSUPP when the version's layout lacks the fields, -ENOMEM. */
int hl_pycode_cache__read_bytecode(struct hl_pycode_cache *cache, struct hl_pycode *code);

/* The line being executed, from the sampler's raw lasti (see struct hl_py_frame): bytes on
 * 3.8–3.9, code units on 3.10+.  Returns the line, co_firstlineno for a frame that has not
 * started, or 0 when the table has no line for it. */
int32_t hl_pycode__line(const struct hl_pycode *code, const struct hl_pyver *ver, int32_t lasti);
