/* report/buf.h — a growable byte buffer for building report text and string arenas.
 *
 * Report code builds labels and lines into one buffer and keeps offsets (the buffer may move
 * when it grows), turning them into pointers only when it is complete.
 */
#pragma once
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hl_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Makes room for @extra more bytes.  Returns 0 or -ENOMEM (the buffer is unchanged). */
static inline int hl_buf__reserve(struct hl_buf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : 256;
	char *bigger;

	if (b->len + extra <= b->cap)
		return 0;
	if (b->len + extra < b->len)
		return -ENOMEM;
	while (cap < b->len + extra)
		cap *= 2;
	bigger = realloc(b->data, cap);
	if (!bigger)
		return -ENOMEM;
	b->data = bigger;
	b->cap = cap;
	return 0;
}

static inline int hl_buf__add(struct hl_buf *b, const void *data, size_t len)
{
	if (hl_buf__reserve(b, len))
		return -ENOMEM;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static inline int hl_buf__addc(struct hl_buf *b, char c)
{
	return hl_buf__add(b, &c, 1);
}

/* Appends printf-formatted text (not NUL-terminated in the count).  0, -ENOMEM or -EINVAL. */
static inline int hl_buf__printf(struct hl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline int hl_buf__printf(struct hl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->data ? b->data + b->len : NULL, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return 0;
		}
		if (hl_buf__reserve(b, (size_t)n + 1))
			return -ENOMEM;
	}
}

static inline void hl_buf__release(struct hl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
