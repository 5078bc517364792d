/* report/label.h — how report formats spell functions, frames and frame kinds
 * (docs/formats.md, "Labels").
 *
 *   Python     qualname (file:line)              line: of the definition (function) or being
 *                                                 run (frame)
 *   native     name (file.c:line) [module]       C source basename and line from DWARF when
 *                                                 known, else just name [module]; an unnamed
 *                                                 frame shows as its 0xOFFSET in the module
 *   eval loop  as native (kind 5: CPython's _PyEval_EvalFrameDefault and its pieces)
 *   kernel     name                              folded adds flamegraph.pl's "_[k]"
 *   synthetic  name                              markers such as "[truncated: ...]"
 *
 * Names come from target processes and binaries, so they are made safe for line-based output:
 * control characters (newline, tab, escape, ...) become '?', and in folded stacks ';' (the
 * frame separator) becomes ':'.  Not responsible for column layout nor for the escaping of
 * structured formats (report/json.h, report/xml.h).
 */
#pragma once
#include "report/buf.h"
#include "report/profile.h"

#include <stdbool.h>

/* The text of a sample without any frame. */
#define HL_LABEL_NO_FRAMES "[no frames]"

enum hl_label_flags {
	HL_LABEL_FOLDED = 1 << 0,  /* replace ';', and mark kernel frames "_[k]" */
	HL_LABEL_NAME_ONLY = 1 << 1, /* the name part only: no (file:line), no [module] */
};

/* Appends the label of function @index (with its definition line) to @b; HL_NONE is
 * HL_LABEL_NO_FRAMES.  0 or -ENOMEM. */
int hl_label_function(struct hl_buf *b, const struct hl_profile *p, uint32_t index,
		      unsigned flags);
/* Appends the label of frame @index (with the line being executed) to @b.  0 or -ENOMEM. */
int hl_label_frame(struct hl_buf *b, const struct hl_profile *p, uint32_t index, unsigned flags);
/* Appends @s made safe as described above.  0 or -ENOMEM. */
int hl_label_escape(struct hl_buf *b, const char *s, unsigned flags);

/* The kind of a function as reports print it: "py", "native", "eval", "kernel", "synth"
 * (markers such as "[truncated: ...]"), or "task" (an asyncio task marker, "[task: NAME]").
 * NULL (samples without frames) gives "-".  Static strings. */
const char *hl_kind_name(const struct hl_rfunction *f);

/* The number the HTML pages color a hl_kind_name() by: py 0, native 1, eval 2, kernel 3,
 * synth 4 (and anything unknown), task 5, "-" 6. */
int hl_kind_index(const char *kind);

/* The basename of @path (the whole string when it ends in '/'). */
const char *hl_basename(const char *path);

/* Every function's (or frame's) label rendered once, NUL-terminated, for formats that need
 * them many times. */
struct hl_labels {
	struct hl_buf text;
	size_t *off; /* label i starts at text.data + off[i] */
	size_t nr;
};

/* Renders the label of every function (hl_labels__functions) or frame (hl_labels__frames) of
 * @p with @flags.  0 or -ENOMEM (nothing to release then). */
int hl_labels__functions(struct hl_labels *l, const struct hl_profile *p, unsigned flags);
int hl_labels__frames(struct hl_labels *l, const struct hl_profile *p, unsigned flags);
void hl_labels__release(struct hl_labels *l);

/* Label @i; HL_NONE gives HL_LABEL_NO_FRAMES.  Valid until hl_labels__release. */
static inline const char *hl_labels__get(const struct hl_labels *l, uint32_t i)
{
	return i == HL_NONE || i >= l->nr ? HL_LABEL_NO_FRAMES : l->text.data + l->off[i];
}
