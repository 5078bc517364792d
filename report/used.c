/* report/used.c — see used.h. */
#include "report/used.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Numbers the marked entries of @id (nonzero) densely into @list, in index order. */
static size_t number(uint32_t *id, uint32_t *list, size_t nr)
{
	size_t i, n = 0;

	for (i = 0; i < nr; i++) {
		if (id[i]) {
			id[i] = (uint32_t)n;
			list[n++] = (uint32_t)i;
		} else {
			id[i] = HL_NONE;
		}
	}
	return n;
}

int hl_used__init(struct hl_used *u, const struct hl_profile *p)
{
	size_t nr_functions, nr_frames, nr_stacks, nr_threads, nr_counts, i;
	const struct hl_rframe *frames = hl_profile__frames(p, &nr_frames);
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);

	hl_profile__functions(p, &nr_functions);
	hl_profile__threads(p, &nr_threads);
	memset(u, 0, sizeof(*u));
	u->function_id = calloc(nr_functions + 1, sizeof(uint32_t));
	u->functions = calloc(nr_functions + 1, sizeof(uint32_t));
	u->frame_id = calloc(nr_frames + 1, sizeof(uint32_t));
	u->frames = calloc(nr_frames + 1, sizeof(uint32_t));
	u->thread_id = calloc(nr_threads + 1, sizeof(uint32_t));
	u->threads = calloc(nr_threads + 1, sizeof(uint32_t));
	if (!u->function_id || !u->functions || !u->frame_id || !u->frames || !u->thread_id ||
	    !u->threads) {
		hl_used__release(u);
		return -ENOMEM;
	}
	for (i = 0; i < nr_stacks; i++) {
		u->frame_id[stacks[i].frame] = 1;
		u->function_id[frames[stacks[i].frame].function] = 1;
	}
	for (i = 0; i < nr_counts; i++)
		if (counts[i].thread != HL_NONE)
			u->thread_id[counts[i].thread] = 1;
	u->nr_functions = number(u->function_id, u->functions, nr_functions);
	u->nr_frames = number(u->frame_id, u->frames, nr_frames);
	u->nr_threads = number(u->thread_id, u->threads, nr_threads);
	return 0;
}

void hl_used__release(struct hl_used *u)
{
	free(u->function_id);
	free(u->functions);
	free(u->frame_id);
	free(u->frames);
	free(u->thread_id);
	free(u->threads);
	memset(u, 0, sizeof(*u));
}
