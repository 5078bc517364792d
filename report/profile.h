/* report/profile.h — one profile store loaded for reporting: the in-memory model every report
 * format works on.
 *
 * Loading reads the functions, frames and stacks of the file (memory proportional to the
 * number of distinct stacks, never to the number of samples) and streams the samples once,
 * aggregating them per (stack, thread, state) with the filters applied in SQL; then --focus,
 * --ignore and the view (mixed, Python-only, native-only) transform the distinct stacks
 * (report/view.c).  Formats (report/report.h) walk the model without touching SQLite.
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

/* Which frames of a mixed stack a report shows (docs/formats.md, "Views").  Applied when the
 * model is built, so every format sees the same stacks. */
enum hl_view {
	HL_VIEW_MIXED = 0, /* everything but the interpreter's eval-loop frames (kind 5), which the
			      Python frames they run replace */
	HL_VIEW_PYTHON,	   /* Python (and synthetic) frames only: C time goes to the nearest Python
			      frame, a stack without any Python frame to "[native]" */
	HL_VIEW_NATIVE, /* native, eval-loop and kernel frames (and synthetic): the C view; a stack
			   of Python frames only goes to "[python]" */
};

/* One end of a --from/--to window. */
enum hl_time_kind {
	HL_TIME_NONE = 0,
	HL_TIME_RELATIVE,    /* value: µs since the start of each sample's own profile */
	HL_TIME_ABSOLUTE,    /* value: µs since the Unix epoch */
	HL_TIME_OF_DAY,      /* value: µs since local midnight of the day the earliest selected
				profile started */
};

struct hl_time_bound {
	enum hl_time_kind kind;
	int64_t value;
};

/* Which samples a report looks at.  Zero-initialize, then set what is wanted; every filter
 * that is set must match (AND).  Filters that select samples by their own columns (profile,
 * process, thread, time, state) become SQL in report/profile.c, with values bound as
 * parameters; those that look at whole stacks (focus, ignore) and the view are applied to the
 * distinct stacks in report/view.c.  Regular expressions are POSIX extended (regcomp(3)),
 * unanchored. */
struct hl_report_filter {
	int64_t profile_id; /* 0: every profile in the file */
	bool has_pid;
	uint32_t pid;
	bool has_tid;
	uint32_t tid;
	const char *thread_regex; /* thread names; NULL: any thread */
	const char *service;	  /* process.service equal to this (schema 3+); NULL: any */
	struct hl_time_bound from; /* samples at or after from ... */
	struct hl_time_bound to;   /* ... and before to */
	bool has_state;
	int state;                 /* enum hl_thread_state: --gil 1, --no-gil 2 */
	const char *focus;  /* keep samples whose stack has a function whose label matches */
	const char *ignore; /* drop samples whose stack has a function whose label matches */
	enum hl_view view;
};

/* "mixed", "python" or "native". */
const char *hl_view_name(enum hl_view view);

/* Parses a --from/--to value: SECONDS since the profile's start ("90", "1.5"), an absolute
 * time "YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|+HH:MM|-HH:MM]" (no zone: local time), "@EPOCH"
 * seconds, or a time of day "HH:MM[:SS]".  Returns 0 or -EINVAL. */
int hl_time_bound_parse(const char *s, struct hl_time_bound *out);

/* Checks the regular expressions of @filter.  Returns 0, or -EINVAL with the reason in @err
 * ("--focus: Unmatched ( or \\("). */
int hl_report_filter_check(const struct hl_report_filter *filter, char *err, size_t len);

#define HL_NONE UINT32_MAX /* "no such index": the parent of an outermost stack node, ... */

struct hl_rfunction {
	int kind; /* enum hl_function_kind */
	int32_t line; /* first line of the definition (Python, and native when DWARF says), 0 when
			 unknown */
	const char *name;
	const char *file;
	const char *module;
};

struct hl_rframe {
	uint32_t function; /* index into the function array */
	int32_t line;      /* line being executed, 0 when unknown */
	uint64_t address;
	const char *file;  /* the source file of line when it is not the function's (native
			      frames: a header, an included .c.h), else "" */
};

/* A node of the stack prefix tree.  After loading, a node's parent always has a smaller index
 * than the node (the view rebuilds the tree top-down), so one pass in index order visits
 * callers before callees and one pass backwards callees before callers. */
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
	enum hl_view view;   /* the view the model was built with */
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
