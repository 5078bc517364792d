/* report/diff.h — comparing two profiles per function, for CI (`hotloop diff BASE HEAD`).
 *
 * Functions are matched across the two profiles by a key that survives unrelated edits: a
 * Python function by (qualname, file) — not its first line, so code moving within a file
 * does not matter —, a native one by (name, module basename), a kernel or synthetic one by
 * name; the kind is part of the key.  Per key and profile: self (samples whose innermost
 * frame is in it) and total (samples with it anywhere on the stack, once per sample), as
 * shares of that profile's samples.
 *
 * Significance (docs/formats.md, "diff", explains the choice): for the self share and for the
 * total share of every key, a test of "the share changed by more than the threshold" on the
 * sample counts — a z test on the Agresti–Caffo adjusted difference of two proportions,
 * shifted by the threshold — with Holm's step-down correction over all those tests, so the
 * probability that any unchanged function is reported stays below the significance level
 * (for independent samples).  A key present in one profile only is "added" or "removed" and
 * never fails the gate by itself (a rename is not a regression); the callers whose totals it
 * changes still can.  Not responsible for loading (report/profile.h) nor for the CLI.
 */
#pragma once
#include "report/buf.h"
#include "report/calltree.h"
#include "report/profile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HL_DIFF_DEFAULT_THRESHOLD 0.5     /* percentage points of share */
#define HL_DIFF_DEFAULT_SIGNIFICANCE 0.01 /* family-wise error rate */
#define HL_DIFF_DEFAULT_ROWS 20

struct hl_diff_options {
	double threshold;    /* percentage points */
	double significance; /* in (0, 1) */
	size_t rows;         /* text, markdown: rows per section, 0 for all */
	const char *names[2]; /* how base and head are called (their file names) */
	const char *filter_label; /* NULL: no filters */
	enum hl_view view;
};

enum hl_diff_status {
	HL_DIFF_SAME = 0,
	HL_DIFF_REGRESSION = 1,  /* share grew significantly beyond the threshold */
	HL_DIFF_IMPROVEMENT = 2, /* share shrank significantly beyond the threshold */
	HL_DIFF_ADDED = 3,       /* in head only */
	HL_DIFF_REMOVED = 4,     /* in base only */
};

struct hl_diff_key {
	const char *label; /* "qualname (file)", "name [module]", "name" */
	const char *kind;  /* hl_kind_name() spelling */
};

struct hl_diff_row {
	uint32_t key;
	uint64_t self[2], total[2]; /* samples in base [0] and head [1] */
	double p_self, p_total;     /* Holm-adjusted p-values (1: not tested or no change) */
	bool by_self;               /* the status comes from the self share (else total) */
	enum hl_diff_status status;
};

struct hl_diff {
	struct hl_diff_options opts;
	struct hl_diff_key *keys;
	size_t nr_keys;
	struct hl_diff_row *rows; /* one per key; sorted: regressions first (see diff.c) */
	size_t nr_rows;
	size_t tests;             /* hypotheses tested (the Holm family) */
	size_t regressions, improvements, added, removed;
	uint64_t samples[2];
	struct hl_calltree tree;  /* merged call tree by key, for the flame graphs */
	struct hl_buf strings;    /* the labels */
};

/* Compares @base with @head.  0, or -ENOMEM / -EINVAL (bad options).  Release with
 * hl_diff__release even after a failure. */
int hl_diff__compute(struct hl_diff *d, const struct hl_profile *base,
		     const struct hl_profile *head, const struct hl_diff_options *opts);
void hl_diff__release(struct hl_diff *d);
/* True when a function regressed: the exit status of `hotloop diff` is 1. */
static inline bool hl_diff__failed(const struct hl_diff *d)
{
	return d->regressions > 0;
}

struct hl_diff_format {
	const char *name;
	const char *summary;
	int (*write)(const struct hl_diff *d, FILE *out);
};

/* NULL when there is no format called @name. */
const struct hl_diff_format *hl_diff_format_find(const char *name);
const struct hl_diff_format *hl_diff_formats(size_t *nr);
