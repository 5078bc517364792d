/* report/tree.c — the call tree with totals, indented, for the terminal.
 *
 * One line per call path by function (report/calltree.h): a function's frames under one caller
 * are one node whatever line ran.  Children follow their caller, indented two spaces per
 * level, heaviest first.  total: samples whose stack passes through the node; self: samples
 * that end there.  Nodes below --min-percent of the samples are left out (with their
 * subtrees) and counted in a last line.  docs/formats.md describes the output.
 */
#define _GNU_SOURCE
#include "report/report.h"
#include "report/calltree.h"
#include "report/label.h"
#include "common/util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
	const struct hl_profile *p;
	struct hl_labels labels;
};

static const char *key_label(const struct ctx *c, uint32_t key)
{
	return key == HL_CT_NO_FRAMES ? HL_LABEL_NO_FRAMES : hl_labels__get(&c->labels, key);
}

/* Heaviest first; ties by label, so the order is fixed. */
static int by_total(const struct hl_ctnode *a, const struct hl_ctnode *b, void *arg)
{
	if (a->total[0] != b->total[0])
		return a->total[0] > b->total[0] ? -1 : 1;
	return strcmp(key_label(arg, a->key), key_label(arg, b->key));
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

int hl_tree_write(const struct hl_profile *p, const struct hl_report_options *opts, FILE *out)
{
	const struct hl_rsummary *s = hl_profile__summary(p);
	size_t nr_functions, hidden = 0;
	const struct hl_rfunction *functions = hl_profile__functions(p, &nr_functions);
	struct ctx c = {.p = p};
	struct hl_calltree t;
	uint32_t n;
	int err;

	err = hl_labels__functions(&c.labels, p, 0);
	if (err)
		return err;
	err = hl_calltree__init(&t);
	if (!err)
		err = hl_calltree__add(&t, p, NULL, 0);
	if (err)
		goto out_labels;
	hl_calltree__sort(&t, by_total, &c);

	hl_report_header(p, opts, out);
	fprintf(out, "\n%10s %7s %10s %7s  %-6s  %s\n", "total", "total%", "self", "self%", "kind",
		"call tree");
	/* Preorder walk without recursion: first child, else next sibling, else climb. */
	n = t.nodes[0].first_child;
	while (n != HL_NONE) {
		const struct hl_ctnode *node = &t.nodes[n];
		bool shown = percent(node->total[0], s->selected) >= opts->min_percent;

		if (shown) {
			fprintf(out, "%10" PRIu64 " %6.2f%% %10" PRIu64 " %6.2f%%  %-6s  %*s%s\n",
				node->total[0], percent(node->total[0], s->selected), node->self[0],
				percent(node->self[0], s->selected),
				hl_kind_name(node->key == HL_CT_NO_FRAMES ? NULL
									  : &functions[node->key]),
				(int)(2 * (node->depth - 1)), "", key_label(&c, node->key));
		} else {
			hidden++;
		}
		if (shown && node->first_child != HL_NONE) {
			n = node->first_child;
			continue;
		}
		while (n != HL_NONE && t.nodes[n].next_sibling == HL_NONE)
			n = t.nodes[n].parent ? t.nodes[n].parent : HL_NONE;
		if (n != HL_NONE)
			n = t.nodes[n].next_sibling;
	}
	if (hidden)
		fprintf(out, "(%zu call path%s below %.2g%% of the samples left out: "
			     "--min-percent 0 shows all)\n",
			hidden, hidden == 1 ? "" : "s", opts->min_percent);
	hl_calltree__release(&t);
out_labels:
	hl_labels__release(&c.labels);
	return err;
}
