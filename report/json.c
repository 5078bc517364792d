/* report/json.c — the model as JSON, for scripts (docs/formats.md, "json").
 *
 * The model after filters and view: the summary, the functions, frames, threads used by the
 * selected samples (renumbered densely), the stack prefix tree (parents before children) and
 * the sample counts per (stack, thread, state).  One array element per line so the output
 * diffs and greps well.  Strings are valid UTF-8 (report/escape.h).
 */
#define _GNU_SOURCE
#include "report/report.h"
#include "report/escape.h"
#include "report/label.h"
#include "report/used.h"
#include "version.h"

#include <inttypes.h>
#include <stdlib.h>

static void put_string(FILE *out, struct hl_buf *scratch, const char *s)
{
	scratch->len = 0;
	if (!s) {
		fputs("null", out);
		return;
	}
	if (hl_json_string(scratch, s))
		fputs("\"\"", out); /* out of memory: still valid JSON; the caller reports */
	else
		fwrite(scratch->data, 1, scratch->len, out);
}

static int64_t id_or_minus(uint32_t id)
{
	return id == HL_NONE ? -1 : (int64_t)id;
}

int hl_json_write(const struct hl_profile *p, const struct hl_report_options *opts, FILE *out)
{
	const struct hl_rsummary *s = hl_profile__summary(p);
	size_t nr_functions, nr_frames, nr_stacks, nr_threads, nr_counts, i;
	const struct hl_rfunction *functions = hl_profile__functions(p, &nr_functions);
	const struct hl_rframe *frames = hl_profile__frames(p, &nr_frames);
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	const struct hl_rthread *threads = hl_profile__threads(p, &nr_threads);
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);
	struct hl_buf scratch = {0};
	struct hl_used u;
	int err;

	err = hl_used__init(&u, p);
	if (err)
		return err;
	fprintf(out, "{\n\"format\": \"hotloop-report\",\n\"version\": 1,\n\"hotloop\": \"%s\",\n",
		HOTLOOP_VERSION);
	fprintf(out, "\"summary\": {\"profiles\": %zu, \"selected\": %" PRIu64
		     ", \"stored\": %" PRIu64 ", \"recorded\": %" PRIu64 ", \"lost\": %" PRIu64
		     ", \"truncated\": %" PRIu64 ", \"start_ns\": %" PRIu64 ", \"end_ns\": ",
		s->profiles, s->selected, s->stored, s->samples, s->lost, s->truncated,
		s->start_ns);
	if (s->end_ns)
		fprintf(out, "%" PRIu64, s->end_ns);
	else
		fputs("null", out);
	fprintf(out, ", \"frequency_hz\": %" PRIu32 ", \"command\": ", s->frequency_hz);
	put_string(out, &scratch, s->command);
	fprintf(out, ", \"view\": \"%s\", \"filter\": ", hl_view_name(s->view));
	put_string(out, &scratch, opts->filter_label);
	fputs("},\n\"functions\": [", out);
	for (i = 0; i < u.nr_functions; i++) {
		const struct hl_rfunction *f = &functions[u.functions[i]];

		fprintf(out, "%s\n{\"kind\": \"%s\", \"name\": ", i ? "," : "", hl_kind_name(f));
		put_string(out, &scratch, f->name);
		fputs(", \"file\": ", out);
		put_string(out, &scratch, f->file);
		fprintf(out, ", \"line\": %" PRId32 ", \"module\": ", f->line);
		put_string(out, &scratch, f->module);
		fputc('}', out);
	}
	fputs("\n],\n\"frames\": [", out);
	for (i = 0; i < u.nr_frames; i++) {
		const struct hl_rframe *fr = &frames[u.frames[i]];

		fprintf(out, "%s\n[%" PRIu32 ", %" PRId32 ", %" PRIu64 ", ", i ? "," : "",
			u.function_id[fr->function], fr->line, fr->address);
		put_string(out, &scratch, fr->file);
		fputc(']', out);
	}
	fputs("\n],\n\"stacks\": [", out);
	for (i = 0; i < nr_stacks; i++)
		fprintf(out, "%s\n[%" PRId64 ", %" PRIu32 "]", i ? "," : "",
			id_or_minus(stacks[i].parent), u.frame_id[stacks[i].frame]);
	fputs("\n],\n\"threads\": [", out);
	for (i = 0; i < u.nr_threads; i++) {
		const struct hl_rthread *t = &threads[u.threads[i]];

		fprintf(out, "%s\n{\"pid\": %" PRIu32 ", \"tid\": %" PRIu32 ", \"name\": ",
			i ? "," : "", t->pid, t->tid);
		put_string(out, &scratch, t->name);
		fputc('}', out);
	}
	fputs("\n],\n\"counts\": [", out);
	for (i = 0; i < nr_counts; i++) {
		const struct hl_rcount *c = &counts[i];

		fprintf(out, "%s\n[%" PRId64 ", %" PRId64 ", %d, %" PRIu64 "]", i ? "," : "",
			id_or_minus(c->stack),
			id_or_minus(c->thread == HL_NONE ? HL_NONE : u.thread_id[c->thread]),
			c->state, c->weight);
	}
	fputs("\n]\n}\n", out);
	hl_buf__release(&scratch);
	hl_used__release(&u);
	return 0;
}
