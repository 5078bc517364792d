/* report/lines.c — per-line samples of functions: which lines of a hot function the time is
 * spent on.
 *
 * For each chosen function (those whose label matches --function, else the -n functions with
 * the most self samples, as top ranks them) one block: a line per source line seen in its
 * frames (the Python line, or the C line from DWARF for native frames, "file.h:line" when the
 * line is in another file than the function's; "?" when unknown),
 * with self samples (the frame is innermost) and total samples (the line is on the stack,
 * counted once per sample however often recursion repeats it).  Percentages are of all
 * selected samples.  Cost: distinct stacks x depth.  docs/formats.md describes the output.
 */
#define _GNU_SOURCE
#include "report/report.h"
#include "report/label.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	uint32_t function;
	const char *file; /* the frame's own file ("" : the function's) */
	int32_t line;
	uint64_t self;
	uint64_t total;
	uint32_t seen; /* stack node + 1 that last counted this slot's total */
};

static int compare_slots(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	int c;

	if (x->function != y->function)
		return x->function < y->function ? -1 : 1;
	c = strcmp(x->file, y->file);
	if (c)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Marks the chosen functions in @chosen (rank + 1, so blocks print in top's order). */
static int choose(const struct hl_profile *p, const struct hl_report_options *opts,
		  const struct hl_top_row *rows, size_t nr_rows, uint32_t *chosen, size_t *nr)
{
	struct hl_labels labels;
	regex_t re;
	size_t i, limit = opts->rows ? opts->rows : SIZE_MAX;
	int err;

	*nr = 0;
	if (!opts->function) {
		for (i = 0; i < nr_rows && *nr < limit; i++)
			if (rows[i].function != HL_NONE && rows[i].self)
				chosen[rows[i].function] = (uint32_t)++*nr;
		return 0;
	}
	if (regcomp(&re, opts->function, REG_EXTENDED | REG_NOSUB)) {
		hl_err("--function '%s' is not a valid regular expression", opts->function);
		return -EINVAL;
	}
	err = hl_labels__functions(&labels, p, 0);
	if (!err) {
		for (i = 0; i < nr_rows; i++) {
			uint32_t f = rows[i].function;

			if (f != HL_NONE && !regexec(&re, hl_labels__get(&labels, f), 0, NULL, 0))
				chosen[f] = (uint32_t)++*nr;
		}
		hl_labels__release(&labels);
	}
	regfree(&re);
	return err;
}

int hl_lines_write(const struct hl_profile *p, const struct hl_report_options *opts, FILE *out)
{
	const struct hl_rsummary *s = hl_profile__summary(p);
	size_t nr_functions, nr_frames, nr_stacks, nr_counts, nr_rows, nr_chosen, nr_slots = 0;
	const struct hl_rfunction *functions = hl_profile__functions(p, &nr_functions);
	const struct hl_rframe *frames = hl_profile__frames(p, &nr_frames);
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);
	struct hl_top_row *rows = NULL;
	uint32_t *chosen = NULL, *frame_slot = NULL;
	size_t *order = NULL; /* per rank: its first slot + 1 */
	struct slot *slots = NULL;
	uint64_t *weight = NULL;
	struct hl_buf label = {0};
	size_t i, j, k;
	int err;

	err = hl_top_compute(p, &rows, &nr_rows);
	if (err)
		return err;
	err = -ENOMEM;
	chosen = calloc(nr_functions + 1, sizeof(*chosen));
	frame_slot = calloc(nr_frames + 1, sizeof(*frame_slot));
	slots = calloc(nr_frames + 1, sizeof(*slots));
	weight = calloc(nr_stacks + 1, sizeof(*weight));
	if (!chosen || !frame_slot || !slots || !weight)
		goto out_free;
	err = choose(p, opts, rows, nr_rows, chosen, &nr_chosen);
	if (err)
		goto out_free;

	/* One slot per distinct (function, line) of the chosen functions. */
	for (i = 0; i < nr_frames; i++)
		if (chosen[frames[i].function])
			slots[nr_slots++] = (struct slot){.function = frames[i].function,
							  .file = frames[i].file,
							  .line = frames[i].line};
	qsort(slots, nr_slots, sizeof(*slots), compare_slots);
	for (i = j = 0; i < nr_slots; i++)
		if (!j || compare_slots(&slots[j - 1], &slots[i]))
			slots[j++] = slots[i];
	nr_slots = j;
	for (i = 0; i < nr_frames; i++) {
		struct slot key = {.function = frames[i].function, .file = frames[i].file,
				   .line = frames[i].line},
			    *hit;

		frame_slot[i] = HL_NONE;
		if (!chosen[frames[i].function])
			continue;
		hit = bsearch(&key, slots, nr_slots, sizeof(*slots), compare_slots);
		frame_slot[i] = (uint32_t)(hit - slots);
	}

	for (i = 0; i < nr_counts; i++)
		if (counts[i].stack != HL_NONE)
			weight[counts[i].stack] += counts[i].weight;
	for (i = 0; i < nr_stacks; i++) {
		uint32_t n, sl;

		if (!weight[i])
			continue;
		sl = frame_slot[stacks[i].frame];
		if (sl != HL_NONE)
			slots[sl].self += weight[i];
		for (n = (uint32_t)i; n != HL_NONE; n = stacks[n].parent) {
			sl = frame_slot[stacks[n].frame];
			if (sl == HL_NONE || slots[sl].seen == i + 1)
				continue;
			slots[sl].seen = (uint32_t)i + 1;
			slots[sl].total += weight[i];
		}
	}

	hl_report_header(p, opts, out);
	if (!nr_chosen)
		fprintf(out, "\n(no function%s)\n",
			opts->function ? " matches --function" : " with samples");
	/* Blocks in top's order: for each rank, the slots of that function (sorted by line). */
	order = calloc(nr_chosen + 1, sizeof(*order));
	if (!order)
		goto out_free;
	for (i = 0; i < nr_slots; i = j) {
		for (j = i; j < nr_slots && slots[j].function == slots[i].function; j++)
			;
		order[chosen[slots[i].function] - 1] = i + 1;
	}
	for (k = 0; k < nr_chosen; k++) {
		const struct hl_top_row *row = NULL;
		struct slot *first;
		uint32_t f;

		if (!order[k])
			continue;
		first = &slots[order[k] - 1];
		f = first->function;
		for (i = 0; i < nr_rows; i++)
			if (rows[i].function == f)
				row = &rows[i];
		label.len = 0;
		err = hl_label_function(&label, p, f, 0);
		if (err)
			goto out_free;
		fprintf(out,
			"\n%.*s  [%s]  self %" PRIu64 " (%.2f%%), total %" PRIu64 " (%.2f%%)\n",
			(int)label.len, label.data, hl_kind_name(&functions[f]),
			row ? row->self : 0, percent(row ? row->self : 0, s->selected),
			row ? row->total : 0, percent(row ? row->total : 0, s->selected));
		fprintf(out, "%10s %10s %7s %10s %7s\n", "line", "self", "self%", "total",
			"total%");
		for (; first < slots + nr_slots && first->function == f; first++) {
			char line[64] = "?";

			if (!first->self && !first->total)
				continue;
			if (first->line > 0 && *first->file)
				snprintf(line, sizeof(line), "%.40s:%" PRId32,
					 hl_basename(first->file), first->line);
			else if (first->line > 0)
				snprintf(line, sizeof(line), "%" PRId32, first->line);
			fprintf(out, "%10s %10" PRIu64 " %6.2f%% %10" PRIu64 " %6.2f%%\n", line,
				first->self, percent(first->self, s->selected), first->total,
				percent(first->total, s->selected));
		}
	}
	err = 0;

out_free:
	hl_buf__release(&label);
	free(order);
	free(weight);
	free(slots);
	free(frame_slot);
	free(chosen);
	free(rows);
	return err;
}
