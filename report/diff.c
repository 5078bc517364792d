/* report/diff.c — see diff.h: keys, counts, the statistical test, and the output formats
 * (text, markdown, json, html, svg) of `hotloop diff`.  docs/formats.md ("diff") specifies
 * the outputs and explains the test.
 */
#define _GNU_SOURCE
#include "report/diff.h"
#include "report/escape.h"
#include "report/html.h"
#include "report/label.h"
#include "report/profile_private.h"
#include "schema/store.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "common/util.h"
#include "version.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- keys ------------------------------------------------------------------------------- */

struct key_builder {
	struct hl_diff *d;
	size_t *off;          /* key i: its key bytes at d->strings.data + off[i], then its label */
	size_t cap_keys;
	struct hl_map *index; /* hash of the key bytes -> key, probed */
	struct hl_buf scratch;
};

static uint64_t fnv(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static bool is_native(int kind)
{
	return kind == HL_FUNC_NATIVE || kind == HL_FUNC_EVAL;
}

/* Puts into kb->scratch the key of a function ("kind\0name\0file-or-module\0") followed by
 * its label ("label\0"); returns the key's length in *key_len. */
static int describe(struct key_builder *kb, const char *kind, const char *name, const char *where,
		    const char *label_tail_open, const char *label_tail_close, size_t *key_len)
{
	struct hl_buf *b = &kb->scratch;
	int err;

	b->len = 0;
	err = hl_buf__add(b, kind, strlen(kind) + 1);
	if (!err)
		err = hl_buf__add(b, name, strlen(name) + 1);
	if (!err)
		err = hl_buf__add(b, where, strlen(where) + 1);
	*key_len = b->len;
	if (!err)
		err = hl_label_escape(b, name, 0);
	if (!err && *where) {
		err = hl_buf__add(b, label_tail_open, strlen(label_tail_open));
		if (!err)
			err = hl_label_escape(b, where, 0);
		if (!err)
			err = hl_buf__add(b, label_tail_close, strlen(label_tail_close));
	}
	if (!err)
		err = hl_buf__addc(b, '\0');
	return err;
}

/* The id of the key in kb->scratch (its first @key_len bytes), added when new. */
static int key_id(struct key_builder *kb, size_t key_len, const char *kind, uint32_t *out)
{
	struct hl_diff *d = kb->d;
	const char *key = kb->scratch.data;
	uint64_t h, v;

	for (h = fnv(key, key_len);; h++) {
		if (!hl_map__get(kb->index, h, &v))
			break;
		if (!memcmp(d->strings.data + kb->off[v], key, key_len)) {
			*out = (uint32_t)v;
			return 0;
		}
	}
	if (d->nr_keys + 1 > kb->cap_keys) {
		size_t cap = kb->cap_keys ? kb->cap_keys * 2 : 256;
		size_t *off = reallocarray(kb->off, cap, sizeof(*off));
		struct hl_diff_key *keys;

		if (!off)
			return -ENOMEM;
		kb->off = off;
		keys = reallocarray(d->keys, cap, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		d->keys = keys;
		kb->cap_keys = cap;
	}
	kb->off[d->nr_keys] = d->strings.len;
	if (hl_buf__add(&d->strings, key, kb->scratch.len) || hl_map__set(kb->index, h, d->nr_keys))
		return -ENOMEM;
	/* The label follows the key; pointers are set once the buffer stops moving. */
	d->keys[d->nr_keys].label = (const char *)(uintptr_t)(kb->off[d->nr_keys] + key_len);
	d->keys[d->nr_keys].kind = kind;
	*out = (uint32_t)d->nr_keys++;
	return 0;
}

static int function_key(struct key_builder *kb, const struct hl_rfunction *f, uint32_t *out)
{
	const char *kind = hl_kind_name(f);
	const char *name = *f->name ? f->name : "[unknown]";
	size_t key_len;
	int err;

	if (f->kind == HL_FUNC_PYTHON)
		err = describe(kb, kind, name, f->file, " (", ")", &key_len);
	else if (is_native(f->kind))
		err = describe(kb, kind, name, hl_basename(f->module), " [", "]", &key_len);
	else
		err = describe(kb, kind, name, "", "", "", &key_len);
	return err ? err : key_id(kb, key_len, kind, out);
}

/* key_of[f]: the key of every function of @p. */
static int map_functions(struct key_builder *kb, const struct hl_profile *p, uint32_t **key_of)
{
	size_t nr, i;
	const struct hl_rfunction *functions = hl_profile__functions(p, &nr);
	int err;

	*key_of = calloc(nr + 1, sizeof(**key_of));
	if (!*key_of)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		err = function_key(kb, &functions[i], &(*key_of)[i]);
		if (err)
			return err;
	}
	return 0;
}

/* ---- counts ----------------------------------------------------------------------------- */

/* Self and total (once per sample) per key; samples without frames count under @no_frames. */
static int count(const struct hl_profile *p, const uint32_t *key_of, uint32_t no_frames,
		 size_t nr_keys, uint64_t *self, uint64_t *total)
{
	size_t nr_stacks, nr_frames, nr_counts, i;
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	const struct hl_rframe *frames = hl_profile__frames(p, &nr_frames);
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);
	uint64_t *weight = calloc(nr_stacks + 1, sizeof(*weight));
	uint32_t *seen = calloc(nr_keys + 1, sizeof(*seen));

	if (!weight || !seen) {
		free(weight);
		free(seen);
		return -ENOMEM;
	}
	for (i = 0; i < nr_counts; i++) {
		if (counts[i].stack != HL_NONE) {
			weight[counts[i].stack] += counts[i].weight;
		} else {
			self[no_frames] += counts[i].weight;
			total[no_frames] += counts[i].weight;
		}
	}
	for (i = 0; i < nr_stacks; i++) {
		uint32_t n;

		if (!weight[i])
			continue;
		self[key_of[frames[stacks[i].frame].function]] += weight[i];
		for (n = (uint32_t)i; n != HL_NONE; n = stacks[n].parent) {
			uint32_t k = key_of[frames[stacks[n].frame].function];

			if (seen[k] == i + 1)
				continue;
			seen[k] = (uint32_t)i + 1;
			total[k] += weight[i];
		}
	}
	free(weight);
	free(seen);
	return 0;
}

/* ---- the test --------------------------------------------------------------------------- */

/* p-value of "the share changed by more than @threshold" (a fraction) between x1 of n1 and x2
 * of n2: the Agresti–Caffo adjusted proportions (one success and one failure added to each
 * sample) give the difference and its standard error; the z statistic is how far the
 * difference's magnitude exceeds the threshold, in standard errors; two-sided (the direction
 * is read from the data).  1 when the difference does not exceed the threshold at all. */
static double change_p(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, double threshold)
{
	double p1, p2, se, excess;

	if (!n1 || !n2 || (x1 == x2 && n1 == n2))
		return 1;
	p1 = ((double)x1 + 1) / ((double)n1 + 2);
	p2 = ((double)x2 + 1) / ((double)n2 + 2);
	se = sqrt(p1 * (1 - p1) / ((double)n1 + 2) + p2 * (1 - p2) / ((double)n2 + 2));
	excess = fabs(p2 - p1) - threshold;
	if (excess <= 0)
		return 1;
	return fmin(1, erfc(excess / se / M_SQRT2));
}

struct test {
	double p;
	double *adjusted;
};

static int by_p(const void *a, const void *b)
{
	const struct test *x = a, *y = b;

	return (x->p > y->p) - (x->p < y->p);
}

static double share(uint64_t x, uint64_t n)
{
	return n ? (double)x / (double)n : 0;
}

static double delta_self(const struct hl_diff *d, const struct hl_diff_row *r)
{
	return share(r->self[1], d->samples[1]) - share(r->self[0], d->samples[0]);
}

static double delta_total(const struct hl_diff *d, const struct hl_diff_row *r)
{
	return share(r->total[1], d->samples[1]) - share(r->total[0], d->samples[0]);
}

/* Holm's step-down adjustment over every self and total test. */
static int holm(struct hl_diff *d)
{
	size_t m = 2 * d->nr_rows, i;
	struct test *tests = calloc(m + 1, sizeof(*tests));
	double running = 0;

	if (!tests)
		return -ENOMEM;
	for (i = 0; i < d->nr_rows; i++) {
		tests[2 * i] = (struct test){d->rows[i].p_self, &d->rows[i].p_self};
		tests[2 * i + 1] = (struct test){d->rows[i].p_total, &d->rows[i].p_total};
	}
	qsort(tests, m, sizeof(*tests), by_p);
	for (i = 0; i < m; i++) {
		double adj = fmin(1, (double)(m - i) * tests[i].p);

		running = fmax(running, adj);
		*tests[i].adjusted = running;
	}
	d->tests = m;
	free(tests);
	return 0;
}

static int rank(const struct hl_diff_row *r)
{
	static const int order[] = {
		[HL_DIFF_REGRESSION] = 0, [HL_DIFF_IMPROVEMENT] = 1, [HL_DIFF_ADDED] = 2,
		[HL_DIFF_REMOVED] = 3, [HL_DIFF_SAME] = 4,
	};

	return order[r->status];
}

/* Regressions: those found on the self share first (where the time went), by growth; then
 * those found on the total share only (callers), by growth.  Improvements likewise by
 * shrinkage.  Added by head total, removed by base total, the rest by the larger change. */
static int compare_rows(const void *a, const void *b, void *arg)
{
	const struct hl_diff *d = arg;
	const struct hl_diff_row *x = a, *y = b;
	double kx, ky;

	if (rank(x) != rank(y))
		return rank(x) - rank(y);
	switch (x->status) {
	case HL_DIFF_REGRESSION:
	case HL_DIFF_IMPROVEMENT:
		if (x->by_self != y->by_self)
			return x->by_self ? -1 : 1;
		kx = x->by_self ? delta_self(d, x) : delta_total(d, x);
		ky = y->by_self ? delta_self(d, y) : delta_total(d, y);
		if (x->status == HL_DIFF_IMPROVEMENT)
			kx = -kx, ky = -ky;
		break;
	case HL_DIFF_ADDED:
		kx = (double)x->total[1], ky = (double)y->total[1];
		break;
	case HL_DIFF_REMOVED:
		kx = (double)x->total[0], ky = (double)y->total[0];
		break;
	default:
		kx = fmax(fabs(delta_self(d, x)), fabs(delta_total(d, x)));
		ky = fmax(fabs(delta_self(d, y)), fabs(delta_total(d, y)));
		break;
	}
	if (kx != ky)
		return kx > ky ? -1 : 1;
	return strcmp(d->keys[x->key].label, d->keys[y->key].label);
}

/* ---- computing -------------------------------------------------------------------------- */

int hl_diff__compute(struct hl_diff *d, const struct hl_profile *base,
		     const struct hl_profile *head, const struct hl_diff_options *opts)
{
	struct key_builder kb = {.d = d};
	uint32_t *key_of[2] = {NULL, NULL}, no_frames;
	uint64_t *self[2] = {NULL, NULL}, *total[2] = {NULL, NULL};
	const struct hl_profile *p[2] = {base, head};
	double threshold = opts->threshold / 100;
	size_t key_len, i;
	int err, in;

	memset(d, 0, sizeof(*d));
	d->opts = *opts;
	if (!(opts->significance > 0 && opts->significance < 1) || !(opts->threshold >= 0))
		return -EINVAL;
	err = hl_calltree__init(&d->tree);
	if (err)
		return err;
	err = -ENOMEM;
	kb.index = hl_map__new(1024);
	if (!kb.index)
		goto out_free;
	/* Key 0: samples without frames. */
	err = describe(&kb, "-", HL_LABEL_NO_FRAMES, "", "", "", &key_len);
	if (!err)
		err = key_id(&kb, key_len, "-", &no_frames);
	for (in = 0; in < 2 && !err; in++)
		err = map_functions(&kb, p[in], &key_of[in]);
	if (err)
		goto out_free;
	for (i = 0; i < d->nr_keys; i++)
		d->keys[i].label = d->strings.data + (uintptr_t)d->keys[i].label;

	err = -ENOMEM;
	for (in = 0; in < 2; in++) {
		d->samples[in] = hl_profile__summary(p[in])->selected;
		self[in] = calloc(d->nr_keys + 1, sizeof(uint64_t));
		total[in] = calloc(d->nr_keys + 1, sizeof(uint64_t));
		if (!self[in] || !total[in])
			goto out_free;
		err = count(p[in], key_of[in], no_frames, d->nr_keys, self[in], total[in]);
		if (err)
			goto out_free;
	}
	err = -ENOMEM;
	d->rows = calloc(d->nr_keys + 1, sizeof(*d->rows));
	if (!d->rows)
		goto out_free;
	for (i = 0; i < d->nr_keys; i++) {
		struct hl_diff_row *r = &d->rows[d->nr_rows];

		if (!total[0][i] && !total[1][i])
			continue;
		r->key = (uint32_t)i;
		for (in = 0; in < 2; in++) {
			r->self[in] = self[in][i];
			r->total[in] = total[in][i];
		}
		r->p_self = change_p(r->self[0], d->samples[0], r->self[1], d->samples[1],
				     threshold);
		r->p_total = change_p(r->total[0], d->samples[0], r->total[1], d->samples[1],
				      threshold);
		d->nr_rows++;
	}
	err = holm(d);
	if (err)
		goto out_free;
	for (i = 0; i < d->nr_rows; i++) {
		struct hl_diff_row *r = &d->rows[i];
		double change;

		if (!r->total[0]) {
			r->status = HL_DIFF_ADDED;
			d->added++;
			continue;
		}
		if (!r->total[1]) {
			r->status = HL_DIFF_REMOVED;
			d->removed++;
			continue;
		}
		if (r->p_self < opts->significance) {
			r->by_self = true;
			change = delta_self(d, r);
		} else if (r->p_total < opts->significance) {
			change = delta_total(d, r);
		} else {
			continue;
		}
		r->status = change > 0 ? HL_DIFF_REGRESSION : HL_DIFF_IMPROVEMENT;
		if (change > 0)
			d->regressions++;
		else
			d->improvements++;
	}
	qsort_r(d->rows, d->nr_rows, sizeof(*d->rows), compare_rows, d);

	for (in = 0; in < 2 && !err; in++)
		err = hl_calltree__add(&d->tree, p[in], key_of[in], in);

out_free:
	for (in = 0; in < 2; in++) {
		free(key_of[in]);
		free(self[in]);
		free(total[in]);
	}
	free(kb.off);
	hl_map__free(kb.index);
	hl_buf__release(&kb.scratch);
	return err;
}

void hl_diff__release(struct hl_diff *d)
{
	free(d->keys);
	free(d->rows);
	hl_calltree__release(&d->tree);
	hl_buf__release(&d->strings);
	memset(d, 0, sizeof(*d));
}

/* ---- text ------------------------------------------------------------------------------- */

static const char *status_name(enum hl_diff_status s)
{
	static const char *const names[] = {"unchanged", "regression", "improvement", "added",
					    "removed"};

	return names[s];
}

static void p_text(char *buf, size_t len, double p)
{
	if (p >= 1)
		snprintf(buf, len, "1");
	else if (p < 1e-99)
		snprintf(buf, len, "<1e-99");
	else
		snprintf(buf, len, "%.1e", p);
}

static size_t section_limit(const struct hl_diff *d, size_t n)
{
	return d->opts.rows && d->opts.rows < n ? d->opts.rows : n;
}

/* The rows of @status: [*first, *first + *n). */
static void section(const struct hl_diff *d, enum hl_diff_status status, size_t *first, size_t *n)
{
	size_t i;

	for (i = 0; i < d->nr_rows && d->rows[i].status != status; i++)
		;
	*first = i;
	for (*n = 0; i < d->nr_rows && d->rows[i].status == status; i++)
		(*n)++;
}

static void verdict_text(const struct hl_diff *d, char *buf, size_t len)
{
	size_t first, n;

	section(d, HL_DIFF_REGRESSION, &first, &n);
	if (n)
		snprintf(buf, len, "FAIL: %zu function%s regressed, first %s", n, n == 1 ? "" : "s",
			 d->keys[d->rows[first].key].label);
	else
		snprintf(buf, len, "PASS: no function's share grew by more than %.2f percentage "
				   "points with significance",
			 d->opts.threshold);
}

static void write_gate(const struct hl_diff *d, FILE *out)
{
	fprintf(out,
		"gate: a function's self or total share grew by more than %.2f percentage points, "
		"Holm-adjusted p < %g (%zu functions, %zu tests)\n",
		d->opts.threshold, d->opts.significance, d->nr_rows, d->tests);
}

static int diff_text(const struct hl_diff *d, FILE *out)
{
	static const enum hl_diff_status order[] = {HL_DIFF_REGRESSION, HL_DIFF_IMPROVEMENT,
						    HL_DIFF_ADDED, HL_DIFF_REMOVED};
	static const char *const titles[] = {"regressions", "improvements",
					     "added (in head only)", "removed (in base only)"};
	char verdict[512], ps[16], pt[16];
	size_t s, i, first, n, shown;

	fprintf(out, "base: %s: %" PRIu64 " samples\nhead: %s: %" PRIu64 " samples\n",
		d->opts.names[0], d->samples[0], d->opts.names[1], d->samples[1]);
	if (d->opts.filter_label)
		fprintf(out, "filter: %s\n", d->opts.filter_label);
	write_gate(d, out);
	for (s = 0; s < HL_ARRAY_SIZE(order); s++) {
		section(d, order[s], &first, &n);
		fprintf(out, "\n%s: %zu\n", titles[s], n);
		if (!n)
			continue;
		fprintf(out, "%-6s  %-35s  %-35s\n", "", "------------- self share ----------",
			"------------ total share ----------");
		fprintf(out, "%-6s  %8s %8s %8s %8s  %8s %8s %8s %8s  %s\n", "kind", "base", "head",
			"delta", "p", "base", "head", "delta", "p", "function");
		shown = section_limit(d, n);
		for (i = first; i < first + shown; i++) {
			const struct hl_diff_row *r = &d->rows[i];

			p_text(ps, sizeof(ps), r->p_self);
			p_text(pt, sizeof(pt), r->p_total);
			fprintf(out,
				"%-6s  %7.2f%% %7.2f%% %+8.2f %8s  %7.2f%% %7.2f%% %+8.2f %8s"
				"  %s\n",
				d->keys[r->key].kind, 100 * share(r->self[0], d->samples[0]),
				100 * share(r->self[1], d->samples[1]), 100 * delta_self(d, r), ps,
				100 * share(r->total[0], d->samples[0]),
				100 * share(r->total[1], d->samples[1]), 100 * delta_total(d, r),
				pt, d->keys[r->key].label);
		}
		if (shown < n)
			fprintf(out, "(%zu more: -n 0 shows all)\n", n - shown);
	}
	verdict_text(d, verdict, sizeof(verdict));
	fprintf(out, "\nverdict: %s\n", verdict);
	return 0;
}

/* ---- markdown --------------------------------------------------------------------------- */

/* A label as a code span inside a table cell. */
static void md_code(FILE *out, const char *s)
{
	fputc('`', out);
	for (; *s; s++) {
		if (*s == '`')
			fputc('\'', out);
		else if (*s == '|')
			fputs("\\|", out);
		else
			fputc(*s, out);
	}
	fputc('`', out);
}

static void md_table(const struct hl_diff *d, FILE *out, enum hl_diff_status status,
		     const char *title)
{
	size_t first, n, shown, i;
	char ps[16], pt[16];

	section(d, status, &first, &n);
	if (!n)
		return;
	fprintf(out, "\n#### %s (%zu)\n\n", title, n);
	fputs("| function | kind | self base | self head | Δ self | total base | total head | "
	      "Δ total | p |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n",
	      out);
	shown = section_limit(d, n);
	for (i = first; i < first + shown; i++) {
		const struct hl_diff_row *r = &d->rows[i];
		bool bold_self = r->by_self && (status == HL_DIFF_REGRESSION ||
						status == HL_DIFF_IMPROVEMENT);
		bool bold_total = !r->by_self && (status == HL_DIFF_REGRESSION ||
						  status == HL_DIFF_IMPROVEMENT);

		p_text(ps, sizeof(ps), r->p_self);
		p_text(pt, sizeof(pt), r->p_total);
		fputs("| ", out);
		md_code(out, d->keys[r->key].label);
		fprintf(out,
			" | %s | %.2f%% | %.2f%% | %s%+.2f pp%s | %.2f%% | %.2f%% | %s%+.2f pp%s | "
			"%s |\n",
			d->keys[r->key].kind, 100 * share(r->self[0], d->samples[0]),
			100 * share(r->self[1], d->samples[1]), bold_self ? "**" : "",
			100 * delta_self(d, r), bold_self ? "**" : "",
			100 * share(r->total[0], d->samples[0]),
			100 * share(r->total[1], d->samples[1]), bold_total ? "**" : "",
			100 * delta_total(d, r), bold_total ? "**" : "",
			r->by_self || status == HL_DIFF_SAME ? ps : pt);
	}
	if (shown < n)
		fprintf(out, "\n%zu more not shown.\n", n - shown);
}

static int diff_markdown(const struct hl_diff *d, FILE *out)
{
	char verdict[512];

	verdict_text(d, verdict, sizeof(verdict));
	fprintf(out, "### hotloop diff: %s\n\n",
		hl_diff__failed(d) ? "❌ performance regression" : "✅ no significant regression");
	fputs("**base** ", out);
	md_code(out, d->opts.names[0]);
	fprintf(out, " %" PRIu64 " samples · **head** ", d->samples[0]);
	md_code(out, d->opts.names[1]);
	fprintf(out,
		" %" PRIu64 " samples\n\n"
		"Gate: a function's self or total share of its profile grew by more than "
		"**%.2f percentage points**, Holm-adjusted p < %g (%zu functions, %zu tests). "
		"Regressions %zu · improvements %zu · added %zu · removed %zu.\n",
		d->samples[1], d->opts.threshold, d->opts.significance, d->nr_rows, d->tests,
		d->regressions, d->improvements, d->added, d->removed);
	md_table(d, out, HL_DIFF_REGRESSION, "Regressions");
	md_table(d, out, HL_DIFF_IMPROVEMENT, "Improvements");
	md_table(d, out, HL_DIFF_ADDED, "Added (in head only)");
	md_table(d, out, HL_DIFF_REMOVED, "Removed (in base only)");
	fprintf(out, "\n**Verdict:** %s\n\n<sub>hotloop %s · view %s", verdict, HOTLOOP_VERSION,
		hl_view_name(d->opts.view));
	if (d->opts.filter_label) {
		fputs(" · filter ", out);
		md_code(out, d->opts.filter_label);
	}
	fputs("</sub>\n", out);
	return 0;
}

/* ---- json ------------------------------------------------------------------------------- */

static void json_str(FILE *out, struct hl_buf *scratch, const char *s)
{
	scratch->len = 0;
	if (!s)
		fputs("null", out);
	else if (!hl_json_string(scratch, s))
		fwrite(scratch->data, 1, scratch->len, out);
	else
		fputs("\"\"", out);
}

static int diff_json(const struct hl_diff *d, FILE *out)
{
	struct hl_buf scratch = {0};
	char verdict[512];
	size_t i;
	int in;

	verdict_text(d, verdict, sizeof(verdict));
	fprintf(out, "{\n\"format\": \"hotloop-diff\",\n\"version\": 1,\n\"hotloop\": \"%s\",\n",
		HOTLOOP_VERSION);
	for (in = 0; in < 2; in++) {
		fprintf(out, "\"%s\": {\"file\": ", in ? "head" : "base");
		json_str(out, &scratch, d->opts.names[in]);
		fprintf(out, ", \"samples\": %" PRIu64 "},\n", d->samples[in]);
	}
	fprintf(out, "\"threshold_pp\": %g,\n\"significance\": %g,\n\"tests\": %zu,\n"
		     "\"view\": \"%s\",\n\"filter\": ",
		d->opts.threshold, d->opts.significance, d->tests, hl_view_name(d->opts.view));
	json_str(out, &scratch, d->opts.filter_label);
	fprintf(out, ",\n\"failed\": %s,\n\"verdict\": ", hl_diff__failed(d) ? "true" : "false");
	json_str(out, &scratch, verdict);
	fprintf(out, ",\n\"regressions\": %zu, \"improvements\": %zu, \"added\": %zu, "
		     "\"removed\": %zu,\n\"functions\": [",
		d->regressions, d->improvements, d->added, d->removed);
	for (i = 0; i < d->nr_rows; i++) {
		const struct hl_diff_row *r = &d->rows[i];

		fprintf(out, "%s\n{\"function\": ", i ? "," : "");
		json_str(out, &scratch, d->keys[r->key].label);
		fprintf(out,
			", \"kind\": \"%s\", \"status\": \"%s\", \"by\": \"%s\", "
			"\"self\": [%" PRIu64 ", %" PRIu64 "], \"total\": [%" PRIu64 ", %" PRIu64
			"], "
			"\"delta_self_pp\": %.4f, \"delta_total_pp\": %.4f, \"p_self\": %.6g, "
			"\"p_total\": %.6g}",
			d->keys[r->key].kind, status_name(r->status), r->by_self ? "self" : "total",
			r->self[0], r->self[1], r->total[0], r->total[1], 100 * delta_self(d, r),
			100 * delta_total(d, r), r->p_self, r->p_total);
	}
	fputs("\n]\n}\n", out);
	hl_buf__release(&scratch);
	return 0;
}

/* ---- flame graphs ----------------------------------------------------------------------- */

static const char *key_label(void *arg, uint32_t key)
{
	const struct hl_diff *d = arg;

	return key == HL_CT_NO_FRAMES || key >= d->nr_keys ? HL_LABEL_NO_FRAMES
							   : d->keys[key].label;
}

static const char *key_kind(void *arg, uint32_t key)
{
	const struct hl_diff *d = arg;

	return key == HL_CT_NO_FRAMES || key >= d->nr_keys ? "-" : d->keys[key].kind;
}

static void flame_titles(const struct hl_diff *d, char *title, size_t tlen, char *sub,
			 size_t slen)
{
	char verdict[512];

	verdict_text(d, verdict, sizeof(verdict));
	snprintf(title, tlen, "hotloop diff: %s -> %s", d->opts.names[0], d->opts.names[1]);
	snprintf(sub, slen,
		 "widths: head (%" PRIu64 " samples); red: share grew, blue: shrank (base %" PRIu64
		 " samples). %s",
		 d->samples[1], d->samples[0], verdict);
}

static int diff_svg(const struct hl_diff *d, FILE *out)
{
	char title[512], sub[768];
	struct hl_flame fl = {
		.tree = (struct hl_calltree *)&d->tree,
		.label = key_label,
		.kind = key_kind,
		.arg = (void *)d,
		.diff = true,
		.samples = {d->samples[0], d->samples[1]},
	};

	flame_titles(d, title, sizeof(title), sub, sizeof(sub));
	fl.title = title;
	fl.subtitle = sub;
	return hl_flame_svg_write(&fl, out);
}

static int by_label(const struct hl_ctnode *a, const struct hl_ctnode *b, void *arg)
{
	return strcmp(key_label(arg, a->key), key_label(arg, b->key));
}

/* The data of the diff page (docs/formats.md, "html"): keys, the merged call tree in
 * preorder (so a node's parent is a backwards distance), and the table's rows. */
static int diff_data(const struct hl_diff *d, struct hl_buf *out)
{
	const struct hl_calltree *t = &d->tree;
	struct hl_buf body = {0};
	uint32_t *pos = NULL, n, label;
	size_t i, emitted = 0;
	char title[512], sub[768], verdict[512];
	struct hl_strtab st;
	int err;

	hl_calltree__sort((struct hl_calltree *)t, by_label, (void *)d);
	err = hl_strtab__init(&st);
	if (err)
		return err;
	err = -ENOMEM;
	pos = calloc(t->nr, sizeof(*pos));
	if (!pos || hl_buf__printf(&body, "\"keys\":["))
		goto out_free;
	for (i = 0; i < d->nr_keys; i++)
		if (hl_strtab__id(&st, d->keys[i].label, &label) ||
		    hl_buf__printf(&body, "%s%d,%" PRIu32, i ? "," : "",
				   hl_kind_index(d->keys[i].kind), label))
			goto out_free;
	if (hl_buf__printf(&body, "],\n\"nodes\":["))
		goto out_free;
	/* Preorder: first child, else next sibling, else climb. */
	n = t->nodes[0].first_child;
	while (n != HL_NONE) {
		const struct hl_ctnode *nd = &t->nodes[n];
		int64_t key = nd->key == HL_CT_NO_FRAMES ? 0 : (int64_t)nd->key;

		pos[n] = (uint32_t)++emitted;
		if (hl_buf__printf(
			&body,
			"%s%" PRIu32 ",%" PRId64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
			emitted > 1 ? "," : "", pos[n] - (nd->parent ? pos[nd->parent] : 0), key,
			nd->total[0], nd->total[1], nd->self[0], nd->self[1]))
			goto out_free;
		if (nd->first_child != HL_NONE) {
			n = nd->first_child;
			continue;
		}
		while (n != HL_NONE && t->nodes[n].next_sibling == HL_NONE)
			n = t->nodes[n].parent ? t->nodes[n].parent : HL_NONE;
		if (n != HL_NONE)
			n = t->nodes[n].next_sibling;
	}
	if (hl_buf__printf(&body, "],\n\"rows\":["))
		goto out_free;
	for (i = 0; i < d->nr_rows; i++) {
		const struct hl_diff_row *r = &d->rows[i];

		if (hl_buf__printf(&body,
				   "%s%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
				   ",%.3g,%.3g,%d",
				   i ? "," : "", r->key, r->self[0], r->self[1], r->total[0],
				   r->total[1], r->p_self, r->p_total, (int)r->status))
			goto out_free;
	}
	flame_titles(d, title, sizeof(title), sub, sizeof(sub));
	verdict_text(d, verdict, sizeof(verdict));
	if (hl_buf__printf(out, "{\"mode\":\"diff\",\"title\":") || hl_json_string(out, title) ||
	    hl_buf__printf(out, ",\"subtitle\":") || hl_json_string(out, sub) ||
	    hl_buf__printf(out, ",\"verdict\":") || hl_json_string(out, verdict) ||
	    hl_buf__printf(out, ",\"samples\":[%" PRIu64 ",%" PRIu64 "],\n\"strings\":[",
			   d->samples[0], d->samples[1]) ||
	    hl_buf__add(out, st.json.data, st.json.len) || hl_buf__printf(out, "],\n") ||
	    hl_buf__add(out, body.data, body.len) || hl_buf__printf(out, "]}"))
		goto out_free;
	err = 0;
out_free:
	free(pos);
	hl_buf__release(&body);
	hl_strtab__release(&st);
	return err;
}

static int diff_html(const struct hl_diff *d, FILE *out)
{
	struct hl_buf data = {0};
	int err = diff_data(d, &data);

	if (!err)
		err = hl_html_page_write(out, &data);
	hl_buf__release(&data);
	return err;
}

static const struct hl_diff_format formats[] = {
	{"text", "tables of regressions, improvements, added and removed (the default)",
	 diff_text},
	{"markdown", "a summary for a pull-request comment", diff_markdown},
	{"json", "every function's counts, changes and p-values", diff_json},
	{"html", "differential flame graph and change table, one self-contained page", diff_html},
	{"svg", "differential flame graph, one standalone SVG file", diff_svg},
};

const struct hl_diff_format *hl_diff_format_find(const char *name)
{
	size_t i;

	for (i = 0; i < HL_ARRAY_SIZE(formats); i++)
		if (!strcmp(formats[i].name, name))
			return &formats[i];
	return NULL;
}

const struct hl_diff_format *hl_diff_formats(size_t *nr)
{
	*nr = HL_ARRAY_SIZE(formats);
	return formats;
}
