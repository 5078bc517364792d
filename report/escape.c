/* report/escape.c — see escape.h. */
#include "report/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decodes one UTF-8 sequence at @s (at most @left bytes).  Returns its length and sets *cp,
 * or returns 0 for an invalid sequence (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *s, size_t left, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		len = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		len = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (len > left)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

enum mode { JSON, XML, CLEAN };

static int escape(struct hl_buf *b, const char *str, enum mode mode)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t left = strlen(str);
	char tmp[8];

	while (left) {
		uint32_t cp;
		size_t n = utf8_next(s, left, &cp);
		const char *out = (const char *)s;
		size_t out_len = n;

		if (!n) {
			out = replacement;
			out_len = 3;
			n = 1;
		} else if (mode == JSON) {
			if (cp == '"' || cp == '\\') {
				tmp[0] = '\\';
				tmp[1] = (char)cp;
				out = tmp;
				out_len = 2;
			} else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' || cp == 0x7f ||
				   cp == 0x2028 || cp == 0x2029) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)cp);
				out = tmp;
				out_len = 6;
			}
		} else if (mode == XML) {
			static const char *const entities[] = {
				['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;",
				['"'] = "&quot;", ['\''] = "&apos;",
			};

			if (cp < 0x20 || cp == 0x7f || cp == 0xfffe || cp == 0xffff) {
				out = "?";
				out_len = 1;
			} else if (cp < sizeof(entities) / sizeof(entities[0]) && entities[cp]) {
				out = entities[cp];
				out_len = strlen(out);
			}
		}
		if (hl_buf__add(b, out, out_len))
			return -ENOMEM;
		s += n;
		left -= n;
	}
	return 0;
}

int hl_json_string(struct hl_buf *b, const char *s)
{
	if (hl_buf__addc(b, '"') || escape(b, s, JSON) || hl_buf__addc(b, '"'))
		return -ENOMEM;
	return 0;
}

int hl_xml_text(struct hl_buf *b, const char *s)
{
	return escape(b, s, XML);
}

int hl_utf8_clean(struct hl_buf *b, const char *s)
{
	return escape(b, s, CLEAN);
}
