/* report/report.c — the table of report formats (report.h) and the header the text formats
 * share. */
#include "report/report.h"
#include "report/label.h"

#include <inttypes.h>
#include <string.h>

static const struct hl_report_format formats[] = {
	{"top", "functions by self and total samples (the default)", false, hl_top_write},
	{"tree", "the call tree with totals, indented", false, hl_tree_write},
	{"lines", "per-line samples of the top functions (or --function REGEX)", false,
	 hl_lines_write},
	{"folded", "'outer;...;inner count' lines for flamegraph.pl, inferno", false,
	 hl_folded_write},
	{"svg", "interactive flame graph, one standalone SVG file", false, hl_svg_write},
	{"html", "interactive flame graph and function table, one self-contained page", false,
	 hl_html_write},
	{"speedscope", "speedscope's JSON file format, one profile per thread", false,
	 hl_speedscope_write},
	{"pprof", "gzipped profile.proto for go tool pprof, Pyroscope, Parca", true,
	 hl_pprof_write},
	{"json", "the model (functions, frames, stacks, threads, counts) as JSON", false,
	 hl_json_write},
};

const struct hl_report_format *hl_report_format_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(formats[i].name, name))
			return &formats[i];
	return NULL;
}

const struct hl_report_format *hl_report_formats(size_t *nr)
{
	*nr = sizeof(formats) / sizeof(formats[0]);
	return formats;
}

void hl_report_header(const struct hl_profile *p, const struct hl_report_options *opts,
		      FILE *out)
{
	const struct hl_rsummary *s = hl_profile__summary(p);
	struct hl_buf scratch = {0};

	fprintf(out, "%" PRIu64 " samples", s->selected);
	if (s->selected != s->stored)
		fprintf(out, " of %" PRIu64 " stored", s->stored);
	fprintf(out, " (lost %" PRIu64 ", truncated %" PRIu64 "), %zu profile%s", s->lost,
		s->truncated, s->profiles, s->profiles == 1 ? "" : "s");
	if (s->end_ns && s->end_ns >= s->start_ns)
		fprintf(out, ", %.2f s", (double)(s->end_ns - s->start_ns) / 1e9);
	else if (s->profiles)
		fprintf(out, ", duration unknown (recording unfinished or interrupted)");
	if (s->frequency_hz)
		fprintf(out, " at %" PRIu32 " Hz", s->frequency_hz);
	fputc('\n', out);
	if (s->command) {
		if (!hl_label_escape(&scratch, s->command, 0) && scratch.len)
			fprintf(out, "command: %.*s\n", (int)scratch.len, scratch.data);
	}
	if (opts->filter_label)
		fprintf(out, "filter: %s\n", opts->filter_label);
	hl_buf__release(&scratch);
}
