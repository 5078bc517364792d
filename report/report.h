/* report/report.h — the report formats: one table the CLI looks formats up in.
 *
 * A format turns a loaded profile (report/profile.h) into text or bytes on a FILE*.  Adding
 * one (tree, lines, svg, html, speedscope, pprof, json) means writing report/<name>.c with a
 * hl_<name>_write() and one row in report/report.c; the CLI's --format and --help follow the
 * table.  Formats never touch SQLite, never filter (the loader did), and are deterministic:
 * the same file and options give byte-identical output.
 */
#pragma once
#include "report/profile.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HL_TOP_DEFAULT_ROWS 20

/* Options of every format; each reads the fields it understands. */
struct hl_report_options {
	size_t rows;              /* top: rows to print, 0 for all */
	const char *filter_label; /* top: how the filters read ("pid 1234"), NULL for none */
};

struct hl_report_format {
	const char *name;
	const char *summary; /* one line for --help */
	/* Returns 0 or a negative errno (-ENOMEM).  Write errors on @out are the caller's to
	 * check (ferror/fclose), so a format need not check every fprintf. */
	int (*write)(const struct hl_profile *profile, const struct hl_report_options *options,
		     FILE *out);
};

/* NULL when there is no format called @name. */
const struct hl_report_format *hl_report_format_find(const char *name);
/* The table, in --help order. */
const struct hl_report_format *hl_report_formats(size_t *nr);

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
int hl_top_write(const struct hl_profile *profile, const struct hl_report_options *options,
		 FILE *out);

/* folded: "frame;frame;...;frame count" lines, outermost frame first, sorted bytewise. */
int hl_folded_write(const struct hl_profile *profile, const struct hl_report_options *options,
		    FILE *out);
