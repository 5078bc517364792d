/* report/label.c — see label.h. */
#include "report/label.h"
#include "schema/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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

const char *hl_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static int add_str(struct hl_buf *b, const char *s)
{
	return hl_buf__add(b, s, strlen(s));
}

/* " (file:line)", the line left out when unknown. */
static int add_place(struct hl_buf *b, const char *file, int32_t line, unsigned flags)
{
	char num[32];
	int err;

	err = add_str(b, " (");
	if (!err)
		err = hl_label_escape(b, file, flags);
	if (!err && line > 0) {
		snprintf(num, sizeof(num), ":%" PRId32, line);
		err = add_str(b, num);
	}
	if (!err)
		err = hl_buf__addc(b, ')');
	return err;
}

static bool is_native(int kind)
{
	return kind == HL_FUNC_NATIVE || kind == HL_FUNC_EVAL;
}

static int label(struct hl_buf *b, const struct hl_rfunction *f, const char *frame_file,
		 int32_t line, uint64_t address, unsigned flags)
{
	const char *file = frame_file && *frame_file ? frame_file : f->file;
	char num[32];
	int err = 0;

	if (is_native(f->kind) && !*f->name && address) {
		snprintf(num, sizeof(num), "0x%" PRIx64, address);
		err = add_str(b, num);
	} else {
		err = hl_label_escape(b, *f->name ? f->name : "[unknown]", flags);
	}
	if (err || (flags & HL_LABEL_NAME_ONLY))
		return err;
	switch (f->kind) {
	case HL_FUNC_PYTHON:
		return *file ? add_place(b, file, line, flags) : 0;
	case HL_FUNC_NATIVE:
	case HL_FUNC_EVAL:
		/* C sources are named by basename: DWARF paths are build-machine paths
		 * ("/build/python3.12-x/Objects/listobject.c") that say little here. */
		if (*file)
			err = add_place(b, hl_basename(file), line, flags);
		if (err || !*f->module)
			return err;
		err = add_str(b, " [");
		if (!err)
			err = hl_label_escape(b, hl_basename(f->module), flags);
		if (!err)
			err = hl_buf__addc(b, ']');
		return err;
	case HL_FUNC_KERNEL:
		return flags & HL_LABEL_FOLDED ? add_str(b, "_[k]") : 0;
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
	return label(b, &f[index], NULL, f[index].line, 0, flags);
}

int hl_label_frame(struct hl_buf *b, const struct hl_profile *p, uint32_t index, unsigned flags)
{
	size_t nr;
	const struct hl_rframe *fr = hl_profile__frames(p, &nr);
	const struct hl_rfunction *f = hl_profile__functions(p, &nr);

	return label(b, &f[fr[index].function], fr[index].file, fr[index].line, fr[index].address,
		     flags);
}

const char *hl_kind_name(const struct hl_rfunction *f)
{
	if (!f)
		return "-";
	switch (f->kind) {
	case HL_FUNC_PYTHON:
		return "py";
	case HL_FUNC_NATIVE:
		return "native";
	case HL_FUNC_EVAL:
		return "eval";
	case HL_FUNC_KERNEL:
		return "kernel";
	case HL_FUNC_SYNTHETIC:
		return "synth";
	case HL_FUNC_TASK:
		return "task";
	default:
		return "?";
	}
}

int hl_kind_index(const char *kind)
{
	static const char *const kinds[] = {"py", "native", "eval", "kernel", "synth", "task", "-"};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i], kind))
			return (int)i;
	return 4;
}

static int render_all(struct hl_labels *l, const struct hl_profile *p, size_t nr,
		      int (*one)(struct hl_buf *, const struct hl_profile *, uint32_t, unsigned),
		      unsigned flags)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	l->off = calloc(nr + 1, sizeof(*l->off));
	if (!l->off)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		l->off[i] = l->text.len;
		if (one(&l->text, p, (uint32_t)i, flags) || hl_buf__addc(&l->text, '\0')) {
			hl_labels__release(l);
			return -ENOMEM;
		}
	}
	l->nr = nr;
	return 0;
}

int hl_labels__functions(struct hl_labels *l, const struct hl_profile *p, unsigned flags)
{
	size_t nr;

	hl_profile__functions(p, &nr);
	return render_all(l, p, nr, hl_label_function, flags);
}

int hl_labels__frames(struct hl_labels *l, const struct hl_profile *p, unsigned flags)
{
	size_t nr;

	hl_profile__frames(p, &nr);
	return render_all(l, p, nr, hl_label_frame, flags);
}

void hl_labels__release(struct hl_labels *l)
{
	hl_buf__release(&l->text);
	free(l->off);
	memset(l, 0, sizeof(*l));
}
