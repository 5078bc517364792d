/* report/candidates_write.c — the outputs of `hotloop candidates`: text for people, JSON for
 * scripts and tests (docs/candidates.md, "Output").
 *
 * Shares are percentages of the samples selected, so every number of a candidate can be read
 * against the whole profile ("could save 41%": 41% of the CPU time recorded).
 */
#define _GNU_SOURCE
#include "report/candidates_write.h"
#include "report/escape.h"
#include "report/label.h"

#include <inttypes.h>
#include <stdlib.h>

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* The label of function @fn, or "?" when out of memory; valid until the next call. */
static const char *label(struct hl_buf *b, const struct hl_profile *p, uint32_t fn)
{
	b->len = 0;
	if (hl_label_function(b, p, fn, 0) || hl_buf__add(b, "", 1))
		return "?";
	return b->data;
}

static void write_remedy_text(const struct hl_candidate *c, const struct hl_profile *p,
			      struct hl_buf *b, FILE *out)
{
	if (c->undetermined) {
		fprintf(out, "   remedy: %s\n", c->reason);
		return;
	}
	if (c->remedy == HL_REMEDY_NONE) {
		if (c->real_in != HL_NONE && c->cost[HL_COST_REAL] >= c->overhead)
			fprintf(out, "   remedy: not a candidate: the time is real work in %s\n",
				label(b, p, c->real_in));
		else
			fprintf(out, "   remedy: not a candidate: %s\n", c->reason);
		return;
	}
	fprintf(out, "   remedy: %s: %s\n", hl_remedy_name(c->remedy), c->reason);
	if (c->settled)
		fprintf(out, "     (its interpreter code has no symbols, but its bytecode calls "
			     "nothing: that code ran its own instructions, counted as overhead)\n");
	switch (c->remedy) {
	case HL_REMEDY_CODEGEN:
		if (c->key)
			fprintf(out,
				"     generate one function per %s object (built once, when it is "
				"set, e.g. in the constructor), with the per-element calls "
				"unrolled into straight-line code\n",
				c->key);
		else
			fprintf(out,
				"     generate one function per value of the invariant arguments "
				"(built once, e.g. in the constructor), with the per-element "
				"calls unrolled into straight-line code\n");
		break;
	case HL_REMEDY_JIT:
		fprintf(out,
			"     run it under a JIT (CPython's JIT, Cinder, PyPy) or move the loop "
			"to unboxed code (NumPy, Cython with C types)\n");
		break;
	default:
		fprintf(out, "     compile it with Cython or mypyc, or rewrite it in C\n");
		break;
	}
}

static void write_costs_text(const struct hl_candidate *c, uint64_t samples, FILE *out)
{
	int i;

	fprintf(out, "   overhead:");
	for (i = 0; i < HL_COST_COUNT; i++)
		if (hl_cost_is_overhead((enum hl_cost)i))
			fprintf(out, " %s %.1f%%", hl_cost_name((enum hl_cost)i),
				pct(c->cost[i], samples));
	fprintf(out, "\n   not overhead:");
	for (i = 0; i < HL_COST_COUNT; i++)
		if (!hl_cost_is_overhead((enum hl_cost)i))
			fprintf(out, " %s %.1f%%", hl_cost_name((enum hl_cost)i),
				pct(c->cost[i], samples));
	fputc('\n', out);
}

int hl_candidates_write_text(const struct hl_candidates *cs, const struct hl_profile *p,
			     const struct hl_candidates_evidence *ev, size_t rows, FILE *out)
{
	struct hl_buf b = {0};
	size_t i, j, shown = 0;

	fprintf(out, "%" PRIu64 " samples (%" PRIu64 " with Python frames), Python %s\n",
		cs->samples, cs->python_samples, *cs->facts.python ? cs->facts.python : "unknown");
	if (!cs->facts.has_native)
		fprintf(out, "missing evidence: recorded without native frames (--mode python): "
			     "every sample counts as bytecode dispatch; record in mixed mode\n");
	if (cs->unknown && pct(cs->unknown, cs->python_samples) >= 5.0)
		fprintf(out,
			"missing evidence: %.1f%% of the samples ran interpreter code without "
			"a symbol (a stripped interpreter): they count as neither overhead nor "
			"real work\n",
			pct(cs->unknown, cs->python_samples));
	if (ev && ev->missing && *ev->missing)
		fprintf(out, "missing evidence: %s\n", ev->missing);
	if (!cs->nr_listed) {
		fprintf(out, "\nno Python function holds %.0f%% of the samples or more\n", 3.0);
		return 0;
	}
	for (i = 0; i < cs->nr_listed && (!rows || shown < rows); i++, shown++) {
		const struct hl_candidate *c = &cs->items[i];

		fprintf(out, "\n#%zu %s: %s\n", i + 1, label(&b, p, c->function),
			c->undetermined		      ? "undetermined"
			: c->remedy == HL_REMEDY_NONE ? "not a candidate"
						      : hl_remedy_name(c->remedy));
		fprintf(out,
			"   could save %.1f%% of the profile: %.1f%% of the samples are in it "
			"(own code %.1f%%, self %.1f%%), %.0f%% of that is interpreter overhead\n",
			pct(c->overhead, cs->samples), pct(c->unit, cs->samples),
			pct(c->own, cs->samples), pct(c->self, cs->samples),
			pct(c->overhead, c->unit));
		write_costs_text(c, cs->samples, out);
		if (c->nr_callees) {
			fprintf(out, "   per-element calls:");
			for (j = 0; j < c->nr_callees && j < 5; j++)
				fprintf(out, "%s %s %.1f%%", j ? "," : "",
					label(&b, p, c->callees[j].function),
					pct(c->callees[j].samples, cs->samples));
			fputc('\n', out);
		}
		for (j = cs->nr_listed; j < cs->nr; j++)
			if (cs->items[j].folded_into == c->function)
				fprintf(out, "   includes: %s (%.1f%%)\n",
					label(&b, p, cs->items[j].function),
					pct(cs->items[j].unit, cs->samples));
		if (ev && ev->write_text)
			ev->write_text(ev, p, c, out);
		write_remedy_text(c, p, &b, out);
	}
	free(b.data);
	return 0;
}

static void put_string(FILE *out, struct hl_buf *b, const char *s)
{
	b->len = 0;
	if (hl_json_string(b, s ? s : ""))
		fputs("\"\"", out);
	else
		fwrite(b->data, 1, b->len, out);
}

static void put_function(FILE *out, struct hl_buf *b, const struct hl_profile *p, uint32_t fn)
{
	size_t nr;
	const struct hl_rfunction *f = hl_profile__functions(p, &nr);
	struct hl_buf lb = {0};

	fputs("{\"name\": ", out);
	put_string(out, b, f[fn].name);
	fputs(", \"file\": ", out);
	put_string(out, b, f[fn].file);
	fprintf(out, ", \"line\": %d, \"module\": ", f[fn].line);
	put_string(out, b, f[fn].module);
	fputs(", \"label\": ", out);
	put_string(out, b, label(&lb, p, fn));
	fputc('}', out);
	free(lb.data);
}

int hl_candidates_write_json(const struct hl_candidates *cs, const struct hl_profile *p,
			     const struct hl_candidates_evidence *ev, size_t rows, FILE *out)
{
	struct hl_buf b = {0};
	size_t i, j;
	int k;

	fprintf(out,
		"{\"samples\": %" PRIu64 ", \"python_samples\": %" PRIu64
		", \"unknown_samples\": %" PRIu64 ", \"python\": ",
		cs->samples, cs->python_samples, cs->unknown);
	put_string(out, &b, cs->facts.python);
	fprintf(out, ", \"native_frames\": %s, \"missing_evidence\": [",
		cs->facts.has_native ? "true" : "false");
	j = 0;
	if (!cs->facts.has_native)
		fprintf(out, "%s\"categories\"", j++ ? ", " : "");
	if (cs->unknown && pct(cs->unknown, cs->python_samples) >= 5.0)
		fprintf(out, "%s\"symbols\"", j++ ? ", " : "");
	if (ev && ev->missing_keys)
		for (k = 0; ev->missing_keys[k]; k++) {
			fprintf(out, "%s", j++ ? ", " : "");
			put_string(out, &b, ev->missing_keys[k]);
		}
	fputs("],\n \"candidates\": [", out);
	for (i = 0; i < cs->nr; i++) {
		const struct hl_candidate *c = &cs->items[i];

		if (rows && i < cs->nr_listed && i >= rows)
			continue;
		fprintf(out, "%s\n  {\"rank\": %zu, \"function\": ", i ? "," : "",
			i < cs->nr_listed ? i + 1 : 0);
		put_function(out, &b, p, c->function);
		fprintf(out,
			", \"remedy\": \"%s\", \"undetermined\": %s, \"settled_by_bytecode\": %s, "
			"\"reason\": ",
			hl_remedy_name(c->remedy), c->undetermined ? "true" : "false",
			c->settled ? "true" : "false");
		put_string(out, &b, c->reason);
		fprintf(out,
			", \"samples\": %" PRIu64 ", \"own\": %" PRIu64 ", \"self\": %" PRIu64
			", \"overhead\": %" PRIu64 ", \"savings_pct\": %.2f, \"unit_pct\": %.2f"
			", \"categories\": {",
			c->unit, c->own, c->self, c->overhead, pct(c->overhead, cs->samples),
			pct(c->unit, cs->samples));
		for (k = 0; k < HL_COST_COUNT; k++)
			fprintf(out, "%s\"%s\": %" PRIu64, k ? ", " : "",
				hl_cost_name((enum hl_cost)k), c->cost[k]);
		fputs("}, \"real_work_in\": ", out);
		if (c->real_in == HL_NONE)
			fputs("null", out);
		else
			put_function(out, &b, p, c->real_in);
		fputs(", \"per_element\": [", out);
		for (j = 0; j < c->nr_callees; j++) {
			fprintf(out, "%s{\"samples\": %" PRIu64 ", \"function\": ", j ? ", " : "",
				c->callees[j].samples);
			put_function(out, &b, p, c->callees[j].function);
			fputc('}', out);
		}
		fputs("], \"folded_into\": ", out);
		if (c->folded_into == HL_NONE)
			fputs("null", out);
		else
			put_function(out, &b, p, c->folded_into);
		if (ev && ev->write_json)
			ev->write_json(ev, p, c, out);
		fputc('}', out);
	}
	fputs("\n]}\n", out);
	free(b.data);
	return 0;
}
