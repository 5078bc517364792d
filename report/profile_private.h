/* report/profile_private.h — the inside of struct hl_profile, shared by the loader
 * (report/profile.c) and the stack transformations (report/view.c).  Formats use the accessors
 * of report/profile.h instead.
 */
#pragma once
#include "report/buf.h"
#include "report/profile.h"

struct hl_profile {
	struct hl_rsummary summary;
	struct hl_rfunction *functions;
	size_t nr_functions;
	size_t cap_functions;
	struct hl_rframe *frames;
	size_t nr_frames;
	size_t cap_frames;
	struct hl_rstack *stacks;
	size_t nr_stacks;
	struct hl_rthread *threads;
	size_t nr_threads;
	struct hl_rcount *counts;
	size_t nr_counts;
	struct hl_buf strings; /* every string read from the file, NUL-terminated */
};

/* Grows *array (of @elem-byte elements, *cap allocated) to hold at least @need.  0 or -ENOMEM
 * (the array is unchanged). */
int hl_grow_array(void **array, size_t *cap, size_t need, size_t elem);

/* Applies --focus/--ignore and the view of @filter to a freshly loaded model: drops the counts
 * whose stack fails focus/ignore, rebuilds the stack tree with the frames the view shows
 * (parents before children), re-aggregates the counts and updates summary.selected.  0 or
 * -ENOMEM / -EINVAL (a regular expression that does not compile; logged). */
int hl_profile_apply_view(struct hl_profile *p, const struct hl_report_filter *filter);
