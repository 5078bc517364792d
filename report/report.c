/* report/report.c — the table of report formats (report.h). */
#include "report/report.h"

#include <string.h>

static const struct hl_report_format formats[] = {
	{"top", "functions by self and total samples (the default)", hl_top_write},
	{"folded", "'outer;...;inner count' lines for flamegraph.pl, inferno", hl_folded_write},
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
