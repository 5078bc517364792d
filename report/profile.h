/* report/profile.h — one profile store loaded for reporting: the in-memory model every report
 * format works on.
 *
 * Loading reads the functions, frames and stacks of the file (memory proportional to the
 * number of distinct stacks, never to the number of samples) and streams the samples once,
 * aggregating them per (stack, thread, state) with the filters applied in SQL.  Formats (top,
 * folded, and later tree, svg, pprof, ...) then walk the model without touching SQLite.
 *
 * The model is read-only after hl_profile__load; pointers it hands out are valid until
 * hl_profile__free.  Not responsible for output formatting (report/<format>.c) nor for
 * writing (schema/store.c).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hl_store;
struct hl_profile;

/* Which samples a report looks at.  Zero-initialize, then set what is wanted; every filter
 * that is set must match (AND).  New filters (thread name, time range, state, focus/ignore)
 * are added here and turned into SQL, bound as parameters, in report/profile.c. */
struct hl_report_filter {
	int64_t profile_id; /* 0: every profile in the file */
	bool has_pid;
	uint32_t pid;
	bool has_tid;
	uint32_t tid;
};

#define HL_NONE UINT32_MAX /* "no such index": the parent of an outermost stack node, ... */

struct hl_rfunction {
	int kind; /* enum hl_function_kind */
	int32_t line; /* first line of the definition (Python), 0 when unknown */
	const char *name;
	const char *file;
	const char *module;
};

struct hl_rframe {
	uint32_t function; /* index into the function array */
	int32_t line;      /* line being executed, 0 when unknown */
	uint64_t address;
};

/* A node of the stack prefix tree. */
struct hl_rstack {
	uint32_t parent; /* index of the caller's node, HL_NONE for the outermost frame */
	uint32_t frame;  /* index into the frame array */
	uint32_t depth;  /* 1 for the outermost frame */
};

struct hl_rthread {
	int64_t id; /* thread.id */
	uint32_t pid;
	uint32_t tid;
	const char *name; /* "" when unknown */
};

/* The samples of one (stack, thread, state) that passed the filters. */
struct hl_rcount {
	uint32_t stack;  /* index into the stack array, HL_NONE: a sample without frames */
	uint32_t thread; /* index into the thread array, HL_NONE if its thread row is missing */
	int state;       /* enum hl_thread_state */
	uint64_t weight; /* sum of sample.weight: the number of samples this stands for */
};

/* What the selected profile rows say about the recording, summed over them. */
struct hl_rsummary {
	size_t profiles;     /* profile rows selected */
	uint64_t samples;    /* sum of profile.samples (as the recorder counted them) */
	uint64_t lost;
	uint64_t truncated;
	uint64_t start_ns;   /* earliest start */
	uint64_t end_ns;     /* latest end; 0 when a profile has no end (recording, or killed) */
	uint32_t frequency_hz; /* of the first profile */
	const char *command; /* of the profile when only one is selected, else (or unset) NULL */
	uint64_t selected;   /* sum of the weights of the samples that passed the filters */
	uint64_t stored;     /* sum of the weights of all samples of the selected profiles */
};

/* Loads the store's model with @filter applied (NULL: no filter).  Returns NULL and sets errno
 * (EBADMSG for a damaged file, ENOENT when --profile names no profile, ENOMEM, EIO); the
 * reason has been logged. */
struct hl_profile *hl_profile__load(struct hl_store *store, const struct hl_report_filter *filter);
/* Accepts NULL. */
void hl_profile__free(struct hl_profile *profile);

const struct hl_rsummary *hl_profile__summary(const struct hl_profile *profile);
const struct hl_rfunction *hl_profile__functions(const struct hl_profile *profile, size_t *nr);
const struct hl_rframe *hl_profile__frames(const struct hl_profile *profile, size_t *nr);
const struct hl_rstack *hl_profile__stacks(const struct hl_profile *profile, size_t *nr);
const struct hl_rthread *hl_profile__threads(const struct hl_profile *profile, size_t *nr);
/* Sorted by (stack, thread, state), so output built from it is deterministic. */
const struct hl_rcount *hl_profile__counts(const struct hl_profile *profile, size_t *nr);
