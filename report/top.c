/* report/top.c — the top table: self and total samples per function.
 *
 * Self: samples whose innermost frame is in the function.  Total: samples with the function
 * anywhere in the stack, counted once per sample however often recursion repeats it.  Both are
 * computed per distinct stack (the loader already summed samples per stack), so the cost is
 * distinct stacks x depth, not samples.  Percentages are of the samples that passed the
 * filters.  docs/formats.md describes the output.
 */
#define _GNU_SOURCE
#include "report/report.h"
#include "report/label.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Sums the weights of the counts per stack node; samples without frames go to *none. */
static uint64_t *weights_per_stack(const struct hl_profile *p, uint64_t *none)
{
	size_t nr_stacks, nr_counts, i;
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);
	uint64_t *w;

	hl_profile__stacks(p, &nr_stacks);
	w = calloc(nr_stacks ? nr_stacks : 1, sizeof(*w));
	if (!w)
		return NULL;
	*none = 0;
	for (i = 0; i < nr_counts; i++) {
		if (counts[i].stack == HL_NONE)
			*none += counts[i].weight;
		else
			w[counts[i].stack] += counts[i].weight;
	}
	return w;
}

static int compare_str(const char *a, const char *b)
{
	return strcmp(a, b);
}

/* Self desc, total desc, then the function's identity so ties print in a fixed order. */
static int compare_rows(const void *a, const void *b, void *arg)
{
	const struct hl_top_row *x = a, *y = b;
	const struct hl_profile *p = arg;
	const struct hl_rfunction *f, *fx, *fy;
	size_t nr;
	int c;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	if (x->function == y->function)
		return 0;
	if (x->function == HL_NONE || y->function == HL_NONE)
		return x->function == HL_NONE ? 1 : -1;
	f = hl_profile__functions(p, &nr);
	fx = &f[x->function];
	fy = &f[y->function];
	c = compare_str(fx->name, fy->name);
	if (!c)
		c = compare_str(fx->file, fy->file);
	if (!c)
		c = (fx->line > fy->line) - (fx->line < fy->line);
	if (!c)
		c = compare_str(fx->module, fy->module);
	if (!c)
		c = (fx->kind > fy->kind) - (fx->kind < fy->kind);
	if (!c)
		c = x->function < y->function ? -1 : 1;
	return c;
}

int hl_top_compute(const struct hl_profile *p, struct hl_top_row **out_rows, size_t *out_nr)
{
	size_t nr_functions, nr_stacks, nr_frames, i, nr = 0;
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	const struct hl_rframe *frames = hl_profile__frames(p, &nr_frames);
	uint64_t *weight, *self = NULL, *total = NULL, none;
	struct hl_top_row *rows = NULL;
	uint32_t *seen = NULL; /* seen[f] == stack index + 1: f already counted in this stack */
	int err = -ENOMEM;

	hl_profile__functions(p, &nr_functions);
	*out_rows = NULL;
	*out_nr = 0;
	weight = weights_per_stack(p, &none);
	if (!weight)
		return -ENOMEM;
	self = calloc(nr_functions + 1, sizeof(*self));
	total = calloc(nr_functions + 1, sizeof(*total));
	seen = calloc(nr_functions + 1, sizeof(*seen));
	if (!self || !total || !seen)
		goto out_free;

	for (i = 0; i < nr_stacks; i++) {
		uint32_t n;

		if (!weight[i])
			continue;
		self[frames[stacks[i].frame].function] += weight[i];
		/* The loader refused cycles, so this walk ends at the root. */
		for (n = (uint32_t)i; n != HL_NONE; n = stacks[n].parent) {
			uint32_t f = frames[stacks[n].frame].function;

			if (seen[f] == i + 1)
				continue;
			seen[f] = (uint32_t)i + 1;
			total[f] += weight[i];
		}
	}

	rows = calloc(nr_functions + 1, sizeof(*rows));
	if (!rows)
		goto out_free;
	for (i = 0; i < nr_functions; i++)
		if (total[i])
			rows[nr++] = (struct hl_top_row){(uint32_t)i, self[i], total[i]};
	if (none)
		rows[nr++] = (struct hl_top_row){HL_NONE, none, none};
	qsort_r(rows, nr, sizeof(*rows), compare_rows, (void *)p);
	if (nr) {
		*out_rows = rows;
		rows = NULL;
	}
	*out_nr = nr;
	err = 0;

out_free:
	free(rows);
	free(seen);
	free(total);
	free(self);
	free(weight);
	return err;
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

int hl_top_write(const struct hl_profile *p, const struct hl_report_options *opts, FILE *out)
{
	const struct hl_rsummary *s = hl_profile__summary(p);
	struct hl_buf label = {0};
	struct hl_top_row *rows;
	size_t nr, nr_functions, shown, i;
	const struct hl_rfunction *functions = hl_profile__functions(p, &nr_functions);
	int err;

	err = hl_top_compute(p, &rows, &nr);
	if (err)
		return err;
	hl_report_header(p, opts, out);
	fprintf(out, "\n%10s %7s %10s %7s  %-6s  %s\n", "self", "self%", "total", "total%", "kind",
		"function");
	shown = opts->rows && opts->rows < nr ? opts->rows : nr;
	for (i = 0; i < shown; i++) {
		label.len = 0;
		err = hl_label_function(&label, p, rows[i].function, 0);
		if (err)
			goto out_free;
		fprintf(out, "%10" PRIu64 " %6.2f%% %10" PRIu64 " %6.2f%%  %-6s  %.*s\n",
			rows[i].self, percent(rows[i].self, s->selected), rows[i].total,
			percent(rows[i].total, s->selected),
			hl_kind_name(rows[i].function == HL_NONE ? NULL
								  : &functions[rows[i].function]),
			(int)label.len, label.data);
	}
	if (shown < nr)
		fprintf(out, "(%zu more function%s: -n 0 shows all)\n", nr - shown,
			nr - shown == 1 ? "" : "s");

out_free:
	hl_buf__release(&label);
	free(rows);
	return err;
}
