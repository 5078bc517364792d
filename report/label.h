/* report/label.h — how report formats spell functions and frames (docs/formats.md).
 *
 *   Python     qualname (file:line)      line: of the definition (function) or being run (frame)
 *   native     name [module basename]    an unnamed symbol shows as its frame's 0xOFFSET
 *   kernel     name_[k]                  flamegraph.pl's kernel annotation (--colors=java)
 *   synthetic  name                      markers such as "[truncated]"
 *
 * Names come from target processes and binaries, so they are made safe for line-based output:
 * control characters (newline, tab, escape, ...) become '?', and in folded stacks ';' (the
 * frame separator) becomes ':'.  Not responsible for column layout.
 */
#pragma once
#include "report/buf.h"
#include "report/profile.h"

#include <stdbool.h>

/* The text of a sample without any frame. */
#define HL_LABEL_NO_FRAMES "[no frames]"

enum hl_label_flags {
	HL_LABEL_FOLDED = 1 << 0, /* also replace ';' */
};

/* Appends the label of function @index (with its definition line) to @b.  0 or -ENOMEM. */
int hl_label_function(struct hl_buf *b, const struct hl_profile *p, uint32_t index,
		      unsigned flags);
/* Appends the label of frame @index (with the line being executed) to @b.  0 or -ENOMEM. */
int hl_label_frame(struct hl_buf *b, const struct hl_profile *p, uint32_t index, unsigned flags);
/* Appends @s made safe as described above.  0 or -ENOMEM. */
int hl_label_escape(struct hl_buf *b, const char *s, unsigned flags);
