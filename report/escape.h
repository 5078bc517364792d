/* report/escape.h — strings from targets made safe for structured output formats.
 *
 * Names come from target processes and binaries: any bytes.  JSON and XML need valid UTF-8,
 * so every invalid sequence becomes U+FFFD.  JSON escapes '"', '\\' and control characters,
 * and also '<', '>', '&' and U+2028/U+2029 as \\uXXXX, so the same text is safe inside an HTML
 * <script> element.  XML (SVG) escapes the five markup characters and turns the control
 * characters XML 1.0 forbids into '?'.  Not responsible for line-oriented formats
 * (report/label.h does those).
 */
#pragma once
#include "report/buf.h"

#include <stddef.h>

/* Appends @s as a JSON string literal, quotes included.  0 or -ENOMEM. */
int hl_json_string(struct hl_buf *b, const char *s);
/* Appends @s escaped as XML character data (usable in attribute values too).  0 or -ENOMEM. */
int hl_xml_text(struct hl_buf *b, const char *s);
/* Appends @s with every invalid UTF-8 sequence replaced by U+FFFD (protobuf strings).  0 or
 * -ENOMEM. */
int hl_utf8_clean(struct hl_buf *b, const char *s);
