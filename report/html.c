/* report/html.c — the HTML report: one self-contained page with an interactive flame graph
 * (d3-flame-graph), process, thread and state selectors and a sortable function table.
 *
 * The page (report/html/page.html, page.js) and the libraries (report/vendor/, pinned in
 * VERSIONS, each with its LICENSE) are embedded in the binary by the build; this file puts
 * them together with the profile's data.  The data is the model in compact arrays (docs/
 * formats.md, "html"): a string table, functions, frames, the stack prefix tree (each node's
 * parent as a backwards distance, mostly 1), threads and counts per (stack, thread, state).
 * The page builds the flame graph of any selection itself, so its size is proportional to the
 * distinct stacks, not to the samples nor to the selections.
 */
#define _GNU_SOURCE
#include "report/report.h"
#include "report/html.h"
#include "report/escape.h"
#include "report/label.h"
#include "report/used.h"
#include "common/hashmap.h"
#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct embedded_file {
	const char *name;
	const char *text;
};
extern const struct embedded_file hl_html_files[];

/* ---- string table ----------------------------------------------------------------------- */

int hl_strtab__init(struct hl_strtab *t)
{
	memset(t, 0, sizeof(*t));
	t->index = hl_map__new(1024);
	return t->index ? 0 : -ENOMEM;
}

void hl_strtab__release(struct hl_strtab *t)
{
	hl_buf__release(&t->json);
	hl_buf__release(&t->text);
	hl_map__free(t->index);
	free(t->off);
	memset(t, 0, sizeof(*t));
}

int hl_strtab__id(struct hl_strtab *t, const char *s, uint32_t *id)
{
	uint64_t h = 1469598103934665603ULL, v;
	size_t len = strlen(s), i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	for (;; h++) {
		if (!hl_map__get(t->index, h, &v))
			break;
		if (!strcmp(t->text.data + t->off[v], s)) {
			*id = (uint32_t)v;
			return 0;
		}
	}
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		size_t *bigger = reallocarray(t->off, cap, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		t->off = bigger;
		t->cap = cap;
	}
	t->off[t->nr] = t->text.len;
	if (hl_buf__add(&t->text, s, len + 1) || hl_map__set(t->index, h, t->nr) ||
	    (t->nr && hl_buf__addc(&t->json, ',')) || hl_json_string(&t->json, s))
		return -ENOMEM;
	*id = (uint32_t)t->nr++;
	return 0;
}

/* ---- the page --------------------------------------------------------------------------- */

enum { FILE_PAGE, FILE_SCRIPT, FILE_VERSIONS, FILE_VENDOR };

static void put_until(FILE *out, const char **at, const char *marker)
{
	const char *end = strstr(*at, marker);

	if (!end)
		end = *at + strlen(*at);
	fwrite(*at, 1, (size_t)(end - *at), out);
	*at = *end ? end + strlen(marker) : end;
}

/* Data up to this size is plain JSON in the page; larger data is compressed (page.js,
 * hotloopData(), explains why). */
#define PLAIN_DATA_LIMIT (256 * 1024)
#define CHUNK 65536 /* base64 characters per script element */

static int write_data(FILE *out, const struct hl_buf *data)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uLongf zlen;
	unsigned char *z;
	size_t i, col = 0;

	if (data->len <= PLAIN_DATA_LIMIT) {
		fputs("<script type=\"application/json\" id=\"hotloop-data\">", out);
		fwrite(data->data, 1, data->len, out);
		fputs("</script>\n", out);
		return 0;
	}
	zlen = compressBound(data->len);
	z = malloc(zlen);
	if (!z)
		return -ENOMEM;
	if (compress2(z, &zlen, (const unsigned char *)data->data, data->len, 6) != Z_OK) {
		free(z);
		return -ENOMEM;
	}
	fputs("<script type=\"application/json\" id=\"hotloop-data\" "
	      "data-encoding=\"zlib-base64\"></script>\n<script type=\"text/plain\" "
	      "class=\"hotloop-chunk\">",
	      out);
	for (i = 0; i < zlen; i += 3) {
		uint32_t v = (uint32_t)z[i] << 16;
		char quad[4];

		if (i + 1 < zlen)
			v |= (uint32_t)z[i + 1] << 8;
		if (i + 2 < zlen)
			v |= z[i + 2];
		quad[0] = digits[v >> 18 & 63];
		quad[1] = digits[v >> 12 & 63];
		quad[2] = i + 1 < zlen ? digits[v >> 6 & 63] : '=';
		quad[3] = i + 2 < zlen ? digits[v & 63] : '=';
		fwrite(quad, 1, 4, out);
		col += 4;
		if (col >= CHUNK && i + 3 < zlen) {
			fputs("</script>\n<script type=\"text/plain\" class=\"hotloop-chunk\">",
			      out);
			col = 0;
		}
	}
	fputs("</script>\n", out);
	free(z);
	return 0;
}

int hl_html_page_write(FILE *out, const struct hl_buf *data)
{
	const char *page = hl_html_files[FILE_PAGE].text;
	const char *at = page;
	size_t i;
	int err;

	if (!hl_html_files[FILE_PAGE].name || strcmp(hl_html_files[FILE_PAGE].name, "page.html") ||
	    !strstr(page, "<!--HOTLOOP:VENDOR-->") || !strstr(page, "<!--HOTLOOP:DATA-->") ||
	    !strstr(page, "<!--HOTLOOP:SCRIPT-->")) {
		hl_err("the HTML page embedded in this hotloop is not as built (report/html/): "
		       "rebuild hotloop");
		return -EINVAL;
	}
	put_until(out, &at, "<!--HOTLOOP:VENDOR-->");
	/* Libraries in VERSIONS order, each followed by its license (report/CMakeLists.txt). */
	for (i = FILE_VENDOR; hl_html_files[i].name && hl_html_files[i + 1].name; i += 2) {
		fprintf(out, "<script>\n%s\n</script>\n", hl_html_files[i].text);
		fprintf(out, "<script type=\"text/plain\" class=\"license\" data-for=\"%s\">\n%s"
			     "</script>\n",
			hl_html_files[i].name, hl_html_files[i + 1].text);
	}
	fprintf(out, "<script type=\"text/plain\" id=\"vendored\">\n%s</script>\n",
		hl_html_files[FILE_VERSIONS].text);
	put_until(out, &at, "<!--HOTLOOP:DATA-->");
	err = write_data(out, data);
	if (err)
		return err;
	put_until(out, &at, "<!--HOTLOOP:SCRIPT-->");
	fprintf(out, "<script>\n%s</script>\n", hl_html_files[FILE_SCRIPT].text);
	fputs(at, out);
	return 0;
}

/* ---- the data of one profile ------------------------------------------------------------ */

/* Node order for the page: depth-first preorder, so a node's parent is mostly the node before
 * it (distance 1) and siblings are near: small numbers, and data that compresses well.
 * order[k] is the model node at position k, pos[n] the position of model node n. */
static int preorder(const struct hl_rstack *stacks, size_t nr, uint32_t *order, uint32_t *pos)
{
	uint32_t *first = malloc((nr + 1) * sizeof(*first)),
		 *next = malloc((nr + 1) * sizeof(*next));
	uint32_t *stack = malloc((nr + 1) * sizeof(*stack)), top = 0, k = 0;
	size_t i;

	if (!first || !next || !stack) {
		free(first);
		free(next);
		free(stack);
		return -ENOMEM;
	}
	/* first[nr] heads the outermost nodes.  Linked backwards, so children come out in
	 * model order. */
	for (i = 0; i <= nr; i++)
		first[i] = HL_NONE;
	for (i = nr; i-- > 0;) {
		uint32_t up = stacks[i].parent == HL_NONE ? (uint32_t)nr : stacks[i].parent;

		next[i] = first[up];
		first[up] = (uint32_t)i;
	}
	for (i = first[nr]; i != HL_NONE; i = next[i])
		stack[top++] = (uint32_t)i;
	/* The stack holds siblings in reverse; pop order is then model order. */
	for (i = 0; i < top / 2; i++) {
		uint32_t t = stack[i];

		stack[i] = stack[top - 1 - i];
		stack[top - 1 - i] = t;
	}
	while (top) {
		uint32_t n = stack[--top], c, start = top;

		order[k] = n;
		pos[n] = k++;
		for (c = first[n]; c != HL_NONE; c = next[c])
			stack[top++] = c;
		for (i = 0; i < (top - start) / 2; i++) {
			uint32_t t = stack[start + i];

			stack[start + i] = stack[top - 1 - i];
			stack[top - 1 - i] = t;
		}
	}
	free(first);
	free(next);
	free(stack);
	return 0;
}

struct count_order {
	int64_t node;
	uint32_t count;
};

static int by_node(const void *a, const void *b)
{
	const struct count_order *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return (x->count > y->count) - (x->count < y->count);
}

static int profile_data(const struct hl_profile *p, const struct hl_report_options *opts,
			struct hl_buf *out)
{
	const struct hl_rsummary *s = hl_profile__summary(p);
	size_t nr_functions, nr_frames, nr_stacks, nr_threads, nr_counts, i;
	const struct hl_rfunction *functions = hl_profile__functions(p, &nr_functions);
	const struct hl_rframe *frames = hl_profile__frames(p, &nr_frames);
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	const struct hl_rthread *threads = hl_profile__threads(p, &nr_threads);
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);
	struct hl_buf body = {0}, label = {0};
	uint32_t *order = NULL, *pos = NULL;
	struct count_order *corder = NULL;
	int64_t prev;
	struct hl_strtab st;
	struct hl_used u;
	char subtitle[512];
	uint32_t a, b, c;
	int err;

	err = hl_used__init(&u, p);
	if (err)
		return err;
	err = hl_strtab__init(&st);
	if (err)
		goto out_used;
	err = -ENOMEM;
	order = calloc(nr_stacks + 1, sizeof(*order));
	pos = calloc(nr_stacks + 1, sizeof(*pos));
	if (!order || !pos || preorder(stacks, nr_stacks, order, pos))
		goto out_free;
	if (hl_buf__printf(&body, "\"functions\":["))
		goto out_free;
	for (i = 0; i < u.nr_functions; i++) {
		const struct hl_rfunction *f = &functions[u.functions[i]];

		label.len = 0;
		if (hl_label_function(&label, p, u.functions[i], 0) || hl_buf__addc(&label, '\0') ||
		    hl_strtab__id(&st, label.data, &a) || hl_strtab__id(&st, f->file, &b) ||
		    hl_strtab__id(&st, f->module, &c) ||
		    hl_buf__printf(&body, "%s%d,%" PRIu32 ",%" PRIu32 ",%" PRId32 ",%" PRIu32,
				   i ? "," : "", hl_kind_index(hl_kind_name(f)), a, b, f->line, c))
			goto out_free;
	}
	if (hl_buf__printf(&body, "],\n\"frames\":["))
		goto out_free;
	for (i = 0; i < u.nr_frames; i++) {
		const struct hl_rframe *fr = &frames[u.frames[i]];

		if (hl_strtab__id(&st, fr->file, &a) ||
		    hl_buf__printf(&body, "%s%" PRIu32 ",%" PRId32 ",%" PRIu32, i ? "," : "",
				   u.function_id[fr->function], fr->line, a))
			goto out_free;
	}
	if (hl_buf__printf(&body, "],\n\"nodes\":["))
		goto out_free;
	for (i = 0; i < nr_stacks; i++) {
		const struct hl_rstack *n = &stacks[order[i]];

		if (hl_buf__printf(&body, "%s%zu,%" PRIu32, i ? "," : "",
				   n->parent == HL_NONE ? 0 : i - pos[n->parent],
				   u.frame_id[n->frame]))
			goto out_free;
	}
	if (hl_buf__printf(&body, "],\n\"threads\":["))
		goto out_free;
	for (i = 0; i < u.nr_threads; i++) {
		const struct hl_rthread *t = &threads[u.threads[i]];

		if (hl_strtab__id(&st, t->name, &a) ||
		    hl_buf__printf(&body, "%s%" PRIu32 ",%" PRIu32 ",%" PRIu32, i ? "," : "",
				   t->pid, t->tid, a))
			goto out_free;
	}
	/* Counts in node order, each node as the distance from the previous count's (starting
	 * from -1, "no frames"): small numbers. */
	corder = calloc(nr_counts + 1, sizeof(*corder));
	if (!corder)
		goto out_free;
	for (i = 0; i < nr_counts; i++) {
		corder[i].node = counts[i].stack == HL_NONE ? -1 : (int64_t)pos[counts[i].stack];
		corder[i].count = (uint32_t)i;
	}
	qsort(corder, nr_counts, sizeof(*corder), by_node);
	if (hl_buf__printf(&body, "],\n\"counts\":["))
		goto out_free;
	for (i = 0, prev = -1; i < nr_counts; i++) {
		const struct hl_rcount *ct = &counts[corder[i].count];

		if (hl_buf__printf(&body, "%s%" PRId64 ",%" PRId64 ",%d,%" PRIu64, i ? "," : "",
				   corder[i].node - prev,
				   ct->thread == HL_NONE ? -1 : (int64_t)u.thread_id[ct->thread],
				   ct->state, ct->weight))
			goto out_free;
		prev = corder[i].node;
	}
	if (hl_buf__printf(&body, "]"))
		goto out_free;

	snprintf(subtitle, sizeof(subtitle), "%" PRIu64 " samples%s, view %s%s%s", s->selected,
		 s->selected != s->stored ? " (filtered)" : "", hl_view_name(s->view),
		 opts->filter_label ? ", filter: " : "",
		 opts->filter_label ? opts->filter_label : "");
	if (hl_buf__printf(out, "{\"mode\":\"profile\",\"title\":") ||
	    hl_json_string(out, opts->title ? opts->title : "hotloop profile") ||
	    hl_buf__printf(out, ",\"subtitle\":") || hl_json_string(out, subtitle) ||
	    hl_buf__printf(out, ",\n\"strings\":[") ||
	    hl_buf__add(out, st.json.data, st.json.len) || hl_buf__printf(out, "],\n") ||
	    hl_buf__add(out, body.data, body.len) ||
	    (opts->candidates && hl_buf__printf(out, ",\n\"candidates\":%s", opts->candidates)) ||
	    hl_buf__printf(out, "}"))
		goto out_free;
	err = 0;

out_free:
	free(corder);
	free(order);
	free(pos);
	hl_buf__release(&body);
	hl_buf__release(&label);
	hl_strtab__release(&st);
out_used:
	hl_used__release(&u);
	return err;
}

int hl_html_write(const struct hl_profile *p, const struct hl_report_options *opts, FILE *out)
{
	struct hl_buf data = {0};
	int err;

	err = profile_data(p, opts, &data);
	if (!err)
		err = hl_html_page_write(out, &data);
	hl_buf__release(&data);
	return err;
}
