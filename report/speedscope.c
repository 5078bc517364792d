/* report/speedscope.c — speedscope's JSON file format
 * (https://www.speedscope.app/file-format-schema.json): one "sampled" profile per thread,
 * frames shared.
 *
 * A speedscope frame is a function (name, file, line of the definition), so speedscope's
 * "left heavy" and "sandwich" views aggregate per function; the line being executed is not
 * carried (the lines format and pprof have it).  Each profile lists the thread's distinct
 * stacks, outermost frame first, with their sample counts as weights (unit "none": samples).
 * Thread states are summed.  Profiles are ordered by pid, tid as the model holds threads.
 */
#define _GNU_SOURCE
#include "report/report.h"
#include "report/escape.h"
#include "report/label.h"
#include "report/used.h"
#include "schema/store.h"
#include "common/util.h"
#include "version.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void put_string(FILE *out, struct hl_buf *scratch, const char *s)
{
	scratch->len = 0;
	if (hl_json_string(scratch, s))
		fputs("\"\"", out);
	else
		fwrite(scratch->data, 1, scratch->len, out);
}

/* The frame's name: the function's name, with the module for native code. */
static int frame_name(struct hl_buf *b, const struct hl_profile *p, uint32_t f)
{
	size_t nr;
	const struct hl_rfunction *fn = &hl_profile__functions(p, &nr)[f];
	int err;

	b->len = 0;
	err = hl_label_function(b, p, f, HL_LABEL_NAME_ONLY);
	if (!err && (fn->kind == HL_FUNC_NATIVE || fn->kind == HL_FUNC_EVAL) && *fn->module) {
		err = hl_buf__add(b, " [", 2);
		if (!err)
			err = hl_label_escape(b, hl_basename(fn->module), 0);
		if (!err)
			err = hl_buf__addc(b, ']');
	} else if (!err && fn->kind == HL_FUNC_KERNEL) {
		err = hl_buf__add(b, " [kernel]", 9);
	}
	if (!err)
		err = hl_buf__addc(b, '\0');
	return err;
}

static const struct hl_rcount *sort_counts;

static int by_thread(const void *a, const void *b)
{
	const struct hl_rcount *x = &sort_counts[*(const uint32_t *)a];
	const struct hl_rcount *y = &sort_counts[*(const uint32_t *)b];

	/* HL_NONE (unknown thread) sorts last. */
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	return 0;
}

int hl_speedscope_write(const struct hl_profile *p, const struct hl_report_options *opts,
			FILE *out)
{
	size_t nr_functions, nr_frames, nr_stacks, nr_threads, nr_counts, i, j, k;
	const struct hl_rfunction *functions = hl_profile__functions(p, &nr_functions);
	const struct hl_rframe *frames = hl_profile__frames(p, &nr_frames);
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	const struct hl_rthread *threads = hl_profile__threads(p, &nr_threads);
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);
	struct hl_buf scratch = {0}, name = {0};
	uint32_t *order = NULL, *path = NULL, max_depth = 0, no_frames;
	bool any_no_frames = false;
	struct hl_used u;
	int err;

	err = hl_used__init(&u, p);
	if (err)
		return err;
	err = -ENOMEM;
	for (i = 0; i < nr_stacks; i++)
		max_depth = HL_MAX(max_depth, stacks[i].depth);
	order = calloc(nr_counts + 1, sizeof(*order));
	path = calloc((size_t)max_depth + 1, sizeof(*path));
	if (!order || !path)
		goto out_free;

	fputs("{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\",\n", out);
	fprintf(out, "\"exporter\": \"hotloop %s\",\n\"name\": ", HOTLOOP_VERSION);
	put_string(out, &scratch, opts->title ? opts->title : "hotloop profile");
	fputs(",\n\"activeProfileIndex\": 0,\n\"shared\": {\"frames\": [", out);
	for (i = 0; i < u.nr_functions; i++) {
		const struct hl_rfunction *f = &functions[u.functions[i]];
		const char *file = *f->file ? f->file : f->module;

		err = frame_name(&name, p, u.functions[i]);
		if (err)
			goto out_free;
		fprintf(out, "%s\n{\"name\": ", i ? "," : "");
		put_string(out, &scratch, name.data);
		if (*file) {
			fputs(", \"file\": ", out);
			put_string(out, &scratch, file);
		}
		if (f->line > 0)
			fprintf(out, ", \"line\": %" PRId32, f->line);
		fputc('}', out);
	}
	for (i = 0; i < nr_counts; i++)
		any_no_frames |= counts[i].stack == HL_NONE;
	no_frames = (uint32_t)u.nr_functions;
	if (any_no_frames)
		fprintf(out, "%s\n{\"name\": \"%s\"}", u.nr_functions ? "," : "",
			HL_LABEL_NO_FRAMES);
	fputs("\n]},\n\"profiles\": [", out);

	for (i = 0; i < nr_counts; i++)
		order[i] = (uint32_t)i;
	sort_counts = counts;
	qsort(order, nr_counts, sizeof(*order), by_thread);
	for (i = 0; i < nr_counts; i = j) {
		uint32_t thread = counts[order[i]].thread;
		uint64_t total = 0;

		for (j = i; j < nr_counts && counts[order[j]].thread == thread; j++)
			total += counts[order[j]].weight;
		fprintf(out, "%s\n{\"type\": \"sampled\", \"name\": ", i ? "," : "");
		if (thread == HL_NONE) {
			put_string(out, &scratch, "unknown thread");
		} else {
			const struct hl_rthread *t = &threads[thread];
			char head[64];

			snprintf(head, sizeof(head), "pid %" PRIu32 " tid %" PRIu32 "%s", t->pid,
				 t->tid, *t->name ? " " : "");
			name.len = 0;
			if (hl_buf__add(&name, head, strlen(head)) ||
			    hl_buf__add(&name, t->name, strlen(t->name) + 1))
				goto out_free;
			put_string(out, &scratch, name.data);
		}
		fprintf(out, ", \"unit\": \"none\", \"startValue\": 0, \"endValue\": %" PRIu64
			     ",\n\"samples\": [",
			total);
		for (k = i; k < j; k++) {
			const struct hl_rcount *c = &counts[order[k]];
			uint32_t depth = 0, n;

			/* Consecutive counts of one stack (other states) become one sample. */
			if (k > i && counts[order[k - 1]].stack == c->stack)
				continue;
			fputs(k > i ? ",\n[" : "\n[", out);
			if (c->stack == HL_NONE) {
				fprintf(out, "%" PRIu32 "]", no_frames);
				continue;
			}
			for (n = c->stack; n != HL_NONE; n = stacks[n].parent)
				path[depth++] = u.function_id[frames[stacks[n].frame].function];
			while (depth--)
				fprintf(out, "%" PRIu32 "%s", path[depth], depth ? "," : "]");
		}
		fputs("],\n\"weights\": [", out);
		for (k = i; k < j;) {
			uint32_t stack = counts[order[k]].stack;
			uint64_t w = 0;

			for (; k < j && counts[order[k]].stack == stack; k++)
				w += counts[order[k]].weight;
			fprintf(out, "%s%" PRIu64, stack == counts[order[i]].stack ? "" : ",", w);
		}
		fputs("]}", out);
	}
	fputs("\n]}\n", out);
	err = 0;

out_free:
	hl_buf__release(&scratch);
	hl_buf__release(&name);
	free(order);
	free(path);
	hl_used__release(&u);
	return err;
}
