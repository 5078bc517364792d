/* symbolize/arguments.h — which objects the arguments of sampled Python functions were: the
 * invariance evidence of `hotloop candidates` (docs/candidates.md, "Invariance").
 *
 * The sampler sends the first local slots of the innermost frames of each sample (struct
 * hl_py_args); their count and names come from the code object (symbolize/pycode.h).  For
 * each (function, argument) this module counts the samples, the distinct objects (by
 * address, per process) and the runs: a run is a stretch of one thread's successive samples
 * of that argument holding the same object.  For methods it also follows the attributes of
 * `self` that the function's code loads (the caller names them), read from the target with
 * a per-object cache: "self._keys" is then an argument like the others.
 *
 * An address is an identity only while the object lives: a short-lived argument (a tuple
 * built per call) can come back at the same address.  The report relies on long-lived ones
 * (self, its attributes), and says so.
 *
 * Bounded: at most HL_ARGUMENTS_MAX_FUNCTIONS functions, HL_ARGUMENTS_MAX_VALUES objects
 * remembered per argument (more are counted as "more"), and attribute reads rate-limited.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "collector/sample.h"
#include "symbolize/pycode.h"
#include "symbolize/pyobject.h"

#define HL_ARGUMENTS_MAX_FUNCTIONS 4096
#define HL_ARGUMENTS_MAX_VALUES	   16
#define HL_ARGUMENTS_MAX_ATTRS	   4 /* attributes of self followed per function */

struct hl_arguments;

/* What hl_arguments__for_each hands out: one argument of one function. */
struct hl_argument_stats {
	int64_t function;     /* the caller's function id */
	const char *name;     /* "self", "x", "*args" is named as the code names it; "self.ATTR" */
	uint64_t samples;     /* samples in which it held an object */
	uint64_t runs;	      /* runs of one object in a thread's successive samples */
	uint32_t distinct;    /* objects seen (a lower bound when @more) */
	bool more;	      /* more than HL_ARGUMENTS_MAX_VALUES objects: not all kept */
	uint64_t top_samples; /* samples of the most frequent object */
	const char *top_type; /* its type's name, "" when unreadable */
};

/* NULL with errno set. */
struct hl_arguments *hl_arguments__new(void);
/* Accepts NULL. */
void hl_arguments__free(struct hl_arguments *a);

/* What @function's bytecode says (the first code object of a function wins): the attributes
 * of self its code loads, followed from then on when its first argument is named "self" (at
 * most HL_ARGUMENTS_MAX_ATTRS), and @rebound, the local slots it stores to (bit i: slot i):
 * such a slot holds a local, not what the caller passed, and is not counted.  Returns 0 or
 * -ENOMEM. */
int hl_arguments__set_code(struct hl_arguments *a, int64_t function, const char *const *attrs,
			   size_t n, uint32_t rebound);

/**
 * hl_arguments__observe() - one frame of one sample.
 * @r: reads the target (type names, attributes of self).
 * @tid: the sampled thread.  @function: the frame's function id.  @code: its code object,
 * with nr_args and arg_names read.  @args: the slots the sampler sent.  @now_ns: monotonic.
 * Return: 0, or -ENOMEM.  Objects that cannot be read are skipped, not errors.
 */
int hl_arguments__observe(struct hl_arguments *a, const struct hl_pyreader *r, uint32_t tid,
			  int64_t function, const struct hl_pycode *code,
			  const struct hl_py_args *args, uint64_t now_ns);

/* Calls @fn for every argument observed at least once; stops at a non-zero return and
 * returns it. */
int hl_arguments__for_each(const struct hl_arguments *a,
			   int (*fn)(const struct hl_argument_stats *st, void *arg), void *arg);

/* Counters for the recording's summary. */
struct hl_arguments_counts {
	uint64_t observed;	 /* argument values counted */
	uint64_t attr_reads;	 /* attributes of self read from the target */
	uint64_t attr_throttled; /* ... not read: over the rate limit */
	uint64_t functions_over; /* observations dropped: too many functions */
};
void hl_arguments__counts(const struct hl_arguments *a, struct hl_arguments_counts *out);
/* Bytes held (for the daemon's cache accounting). */
size_t hl_arguments__memory(const struct hl_arguments *a);
