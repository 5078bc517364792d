/* report/used.h — the functions, frames and threads the counts of a model actually use,
 * numbered densely in model order: exported formats (json, html, speedscope, pprof) carry
 * only those.  (The model holds every function and frame of the file, also those of
 * profiles or threads filtered out.)  Stacks need no such map: after the view, every stack
 * node lies on a counted stack.
 */
#pragma once
#include "report/profile.h"

#include <stddef.h>
#include <stdint.h>

struct hl_used {
	uint32_t *function_id; /* model function -> dense id, HL_NONE when unused */
	uint32_t *functions;   /* dense id -> model function */
	size_t nr_functions;
	uint32_t *frame_id;    /* model frame -> dense id */
	uint32_t *frames;
	size_t nr_frames;
	uint32_t *thread_id;   /* model thread -> dense id */
	uint32_t *threads;
	size_t nr_threads;
};

/* 0 or -ENOMEM (nothing to release then). */
int hl_used__init(struct hl_used *u, const struct hl_profile *p);
void hl_used__release(struct hl_used *u);
