/* report/html.h — the self-contained HTML page shared by `report --format html` and the
 * differential flame graph of `diff` (report/html/page.html and page.js, with the libraries of
 * report/vendor/ embedded at build time), and the string table their data uses.
 */
#pragma once
#include "report/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Strings of the page's data, each stored once: JSON arrays refer to them by index. */
struct hl_strtab {
	struct hl_buf json;   /* the JSON array's elements so far, comma-separated */
	struct hl_buf text;   /* the strings, NUL-terminated, for exact comparison */
	size_t *off;
	size_t nr, cap;
	struct hl_map *index; /* hash -> index, probed */
};

/* 0 or -ENOMEM. */
int hl_strtab__init(struct hl_strtab *t);
void hl_strtab__release(struct hl_strtab *t);
/* The index of @s, added when new.  0 or -ENOMEM. */
int hl_strtab__id(struct hl_strtab *t, const char *s, uint32_t *id);

/* Writes the page with @data (a JSON object: docs/formats.md, "html") as its data.  The caller
 * checks write errors on @out.  0 or -EINVAL (the embedded files are not as built). */
int hl_html_page_write(FILE *out, const struct hl_buf *data);
