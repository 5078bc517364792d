/* report/report.h — the report formats: one table the CLI looks formats up in.
 *
 * A format turns a loaded profile (report/profile.h) into text or bytes on a FILE*.  Adding
 * one means writing report/<name>.c with a hl_<name>_write() and one row in report/report.c;
 * the CLI's --format and --help follow the table.  Formats never touch SQLite, never filter
 * (the loader did, and applied the view), and are deterministic: the same file and options
 * give byte-identical output.  docs/formats.md specifies each format.
 */
#pragma once
#include "report/profile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HL_TOP_DEFAULT_ROWS 20
#define HL_LINES_DEFAULT_FUNCTIONS 10
#define HL_TREE_DEFAULT_MIN_PERCENT 0.5

/* Options of every format; each reads the fields it understands. */
struct hl_report_options {
	size_t rows;              /* top: rows to print; lines: functions; 0 for all */
	double min_percent;       /* tree: leave out nodes below this share of the samples */
	const char *function;     /* lines: POSIX ERE on function labels; NULL: the top rows */
	const char *filter_label; /* how the filters read ("pid 1234"), NULL for none */
	const char *title;        /* svg, html, speedscope: what the profile is called */
	const char *candidates;   /* html: the JSON of `hotloop candidates --json` for the same
				     samples (the candidates panel), NULL for none */
};

struct hl_report_format {
	const char *name;
	const char *summary; /* one line for --help */
	bool binary;         /* not for a terminal */
	/* Returns 0 or a negative errno (-ENOMEM).  Write errors on @out are the caller's to
	 * check (ferror/fclose), so a format need not check every fprintf. */
	int (*write)(const struct hl_profile *profile, const struct hl_report_options *options,
		     FILE *out);
};

/* NULL when there is no format called @name. */
const struct hl_report_format *hl_report_format_find(const char *name);
/* The table, in --help order. */
const struct hl_report_format *hl_report_formats(size_t *nr);

/* The header of the text formats (top, tree, lines): samples, lost, truncated, profiles,
 * duration, frequency, command and filters. */
void hl_report_header(const struct hl_profile *profile, const struct hl_report_options *options,
		      FILE *out);

/* top: one row per function. */
struct hl_top_row {
	uint32_t function; /* index into hl_profile__functions, HL_NONE for samples w/o frames */
	uint64_t self;     /* samples with this function innermost */
	uint64_t total;    /* samples with this function anywhere in the stack, counted once */
};

/* Computes the rows of every function with samples, sorted by self, then total (descending),
 * then label.  On success *rows is malloc'ed (the caller frees it; NULL when *nr is 0).
 * Returns 0 or -ENOMEM. */
int hl_top_compute(const struct hl_profile *profile, struct hl_top_row **rows, size_t *nr);

int hl_top_write(const struct hl_profile *p, const struct hl_report_options *o, FILE *out);
int hl_tree_write(const struct hl_profile *p, const struct hl_report_options *o, FILE *out);
int hl_lines_write(const struct hl_profile *p, const struct hl_report_options *o, FILE *out);
int hl_folded_write(const struct hl_profile *p, const struct hl_report_options *o, FILE *out);
int hl_svg_write(const struct hl_profile *p, const struct hl_report_options *o, FILE *out);
int hl_html_write(const struct hl_profile *p, const struct hl_report_options *o, FILE *out);
int hl_speedscope_write(const struct hl_profile *p, const struct hl_report_options *o,
			FILE *out);
int hl_pprof_write(const struct hl_profile *p, const struct hl_report_options *o, FILE *out);
int hl_json_write(const struct hl_profile *p, const struct hl_report_options *o, FILE *out);
