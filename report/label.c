/* report/label.c — see label.h. */
#include "report/label.h"
#include "schema/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int hl_label_escape(struct hl_buf *b, const char *s, unsigned flags)
{
	size_t len = strlen(s), i;

	if (hl_buf__reserve(b, len))
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			c = '?';
		else if (c == ';' && (flags & HL_LABEL_FOLDED))
			c = ':';
		b->data[b->len++] = (char)c;
	}
	return 0;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static int add_str(struct hl_buf *b, const char *s)
{
	return hl_buf__add(b, s, strlen(s));
}

static int label(struct hl_buf *b, const struct hl_rfunction *f, int32_t line, uint64_t address,
		 unsigned flags)
{
	char num[32];
	int err = 0;

	if (f->kind == HL_FUNC_NATIVE && !*f->name && address) {
		snprintf(num, sizeof(num), "0x%" PRIx64, address);
		err = add_str(b, num);
	} else {
		err = hl_label_escape(b, *f->name ? f->name : "[unknown]", flags);
	}
	if (err)
		return err;
	switch (f->kind) {
	case HL_FUNC_PYTHON:
		if (!*f->file)
			return 0;
		err = add_str(b, " (");
		if (!err)
			err = hl_label_escape(b, f->file, flags);
		if (!err && line > 0) {
			snprintf(num, sizeof(num), ":%" PRId32, line);
			err = add_str(b, num);
		}
		if (!err)
			err = hl_buf__addc(b, ')');
		return err;
	case HL_FUNC_NATIVE:
		if (!*f->module)
			return 0;
		err = add_str(b, " [");
		if (!err)
			err = hl_label_escape(b, basename_of(f->module), flags);
		if (!err)
			err = hl_buf__addc(b, ']');
		return err;
	case HL_FUNC_KERNEL:
		return add_str(b, "_[k]");
	default:
		return 0;
	}
}

int hl_label_function(struct hl_buf *b, const struct hl_profile *p, uint32_t index,
		      unsigned flags)
{
	size_t nr;
	const struct hl_rfunction *f = hl_profile__functions(p, &nr);

	if (index == HL_NONE)
		return add_str(b, HL_LABEL_NO_FRAMES);
	return label(b, &f[index], f[index].line, 0, flags);
}

int hl_label_frame(struct hl_buf *b, const struct hl_profile *p, uint32_t index, unsigned flags)
{
	size_t nr;
	const struct hl_rframe *fr = hl_profile__frames(p, &nr);
	const struct hl_rfunction *f = hl_profile__functions(p, &nr);

	return label(b, &f[fr[index].function], fr[index].line, fr[index].address, flags);
}
