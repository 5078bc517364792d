/* report/folded.c — folded stacks, the interchange format of flame graph tools.
 *
 * One line per distinct rendered stack: frame labels from the outermost to the innermost
 * joined by ';', a space, and the number of samples (sum of weights).  Samples without frames
 * are the line "[no frames] N", so the counts always add up to the samples selected.  Lines
 * are sorted bytewise (as `LC_ALL=C sort`) and stacks that render identically (two native
 * frames at different offsets of one function) are merged, so output is deterministic and
 * each line unique.  Labels and escaping: report/label.h; the format: docs/formats.md.
 */
#define _GNU_SOURCE
#include "report/report.h"
#include "report/label.h"
#include "common/util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct line {
	size_t off; /* into the text buffer; made a pointer in ptr once the text is complete */
	const char *ptr;
	size_t len;
	uint64_t weight;
};

static int compare_lines(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	int c = memcmp(x->ptr, y->ptr, HL_MIN(x->len, y->len));

	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* Each frame's label, rendered once: frame_off[i]..frame_off[i + 1] in @labels. */
static int render_frames(const struct hl_profile *p, struct hl_buf *labels, size_t **frame_off)
{
	size_t nr_frames, i;
	size_t *off;
	int err;

	hl_profile__frames(p, &nr_frames);
	off = calloc(nr_frames + 1, sizeof(*off));
	if (!off)
		return -ENOMEM;
	for (i = 0; i < nr_frames; i++) {
		off[i] = labels->len;
		err = hl_label_frame(labels, p, (uint32_t)i, HL_LABEL_FOLDED);
		if (err) {
			free(off);
			return err;
		}
	}
	off[nr_frames] = labels->len;
	*frame_off = off;
	return 0;
}

/* Appends the line of stack node @leaf (outermost frame first) to @text. */
static int render_stack(const struct hl_profile *p, uint32_t leaf, const struct hl_buf *labels,
			const size_t *frame_off, uint32_t *path, struct hl_buf *text)
{
	size_t nr_stacks;
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	uint32_t depth = 0, n;

	for (n = leaf; n != HL_NONE; n = stacks[n].parent)
		path[depth++] = stacks[n].frame;
	while (depth--) {
		uint32_t f = path[depth];

		if (hl_buf__add(text, labels->data + frame_off[f], frame_off[f + 1] - frame_off[f]))
			return -ENOMEM;
		if (depth && hl_buf__addc(text, ';'))
			return -ENOMEM;
	}
	return 0;
}

int hl_folded_write(const struct hl_profile *p, const struct hl_report_options *opts, FILE *out)
{
	size_t nr_stacks, nr_counts, nr_lines = 0, i, j;
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);
	struct hl_buf labels = {0}, text = {0};
	uint64_t *weight = NULL, none = 0;
	struct line *lines = NULL;
	size_t *frame_off = NULL;
	uint32_t *path = NULL, max_depth = 0;
	int err = -ENOMEM;

	weight = calloc(nr_stacks + 1, sizeof(*weight));
	if (!weight)
		goto out_free;
	for (i = 0; i < nr_counts; i++) {
		if (counts[i].stack == HL_NONE)
			none += counts[i].weight;
		else
			weight[counts[i].stack] += counts[i].weight;
	}
	for (i = 0; i < nr_stacks; i++)
		max_depth = HL_MAX(max_depth, stacks[i].depth);
	path = calloc((size_t)max_depth + 1, sizeof(*path));
	lines = calloc(nr_stacks + 1, sizeof(*lines));
	if (!path || !lines)
		goto out_free;
	err = render_frames(p, &labels, &frame_off);
	if (err)
		goto out_free;

	for (i = 0; i < nr_stacks; i++) {
		if (!weight[i])
			continue;
		lines[nr_lines].off = text.len;
		err = render_stack(p, (uint32_t)i, &labels, frame_off, path, &text);
		if (err)
			goto out_free;
		lines[nr_lines].len = text.len - lines[nr_lines].off;
		lines[nr_lines++].weight = weight[i];
	}
	if (none) {
		lines[nr_lines].off = text.len;
		err = hl_buf__add(&text, HL_LABEL_NO_FRAMES, strlen(HL_LABEL_NO_FRAMES));
		if (err)
			goto out_free;
		lines[nr_lines].len = strlen(HL_LABEL_NO_FRAMES);
		lines[nr_lines++].weight = none;
	}
	for (i = 0; i < nr_lines; i++)
		lines[i].ptr = text.data + lines[i].off;
	qsort(lines, nr_lines, sizeof(*lines), compare_lines);

	for (i = 0; i < nr_lines; i = j) {
		uint64_t sum = lines[i].weight;

		for (j = i + 1; j < nr_lines && !compare_lines(&lines[i], &lines[j]); j++)
			sum += lines[j].weight;
		fwrite(lines[i].ptr, 1, lines[i].len, out);
		fprintf(out, " %" PRIu64 "\n", sum);
	}
	err = 0;

out_free:
	hl_buf__release(&text);
	hl_buf__release(&labels);
	free(frame_off);
	free(lines);
	free(path);
	free(weight);
	return err;
}
