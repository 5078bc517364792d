/* symbolize/pycode.c — see pycode.h. */
#include "symbolize/pycode.h"
#include "common/hashmap.h"
#include "common/util.h"
#include "symbolize/procmem.h"
#include "symbolize/pyobject.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hl_pycode_cache {
	struct hl_pyreader reader;
	struct hl_pyver ver;
	uint64_t code_type;
	struct hl_map *by_addr; /* code address -> struct hl_pycode * */
};

struct hl_pycode_cache *hl_pycode_cache__new(pid_t pid, const struct hl_pyver *ver,
					     uint64_t code_type)
{
	struct hl_pycode_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ver = *ver;
	c->reader.pid = pid;
	c->reader.ver = &c->ver;
	c->code_type = code_type;
	c->by_addr = hl_map__new(1024);
	if (!c->by_addr) {
		free(c);
		return NULL;
	}
	return c;
}

static void free_arg_names(struct hl_pycode *code)
{
	unsigned i;

	for (i = 0; i < HL_ARG_SLOTS; i++) {
		free(code->arg_names[i]);
		code->arg_names[i] = NULL;
	}
	code->nr_args = 0;
}

static void code_free(struct hl_pycode *code)
{
	if (!code)
		return;
	free(code->qualname);
	free(code->filename);
	free(code->linetable);
	free(code->bytecode);
	free(code->names);
	free(code->first_local);
	free_arg_names(code);
	free(code);
}

void hl_pycode_cache__free(struct hl_pycode_cache *c)
{
	uint64_t key, value;
	size_t cursor = 0;

	if (!c)
		return;
	while (hl_map__next(c->by_addr, &cursor, &key, &value))
		code_free((struct hl_pycode *)(uintptr_t)value);
	hl_map__free(c->by_addr);
	free(c);
}

static int read_code(struct hl_pycode_cache *c, uint64_t addr, struct hl_pycode *code)
{
	const struct hl_pyver *v = &c->ver;
	uint64_t type = 0, name = 0, file = 0, table = 0, fp = 0;
	uint32_t first = 0;
	pid_t pid = c->reader.pid;
	int err;

	err = hl_pyobj_type(&c->reader, addr, &type);
	if (err)
		return err;
	if (c->code_type && type != c->code_type)
		return -EINVAL;
	err = hl_procmem_read_u64(pid, addr + (v->code_qualname != HL_OFF_NONE ? v->code_qualname
									  : v->code_name),
				  &name);
	if (!err)
		err = hl_procmem_read_u64(pid, addr + v->code_filename, &file);
	if (!err)
		err = hl_procmem_read_u64(pid, addr + v->code_linetable, &table);
	if (!err)
		err = hl_procmem_read_u32(pid, addr + v->code_firstlineno, &first);
	if (!err)
		err = hl_procmem_read_u64(pid, addr + (v->code_firstlineno & ~7u), &fp);
	if (err)
		return err;
	code->addr = addr;
	code->fingerprint = fp;
	code->firstlineno = (int32_t)first;
	err = hl_pyobj_read_str(&c->reader, name, &code->qualname);
	if (!err)
		err = hl_pyobj_read_str(&c->reader, file, &code->filename);
	if (!err)
		err = hl_pyobj_read_bytes(&c->reader, table, &code->linetable,
					  &code->linetable_len);
	return err;
}

struct hl_pycode *hl_pycode_cache__get(struct hl_pycode_cache *c, uint64_t addr,
				       uint64_t fingerprint, int *err)
{
	struct hl_pycode *code = NULL;
	uint64_t value;

	*err = 0;
	if (hl_map__get(c->by_addr, addr, &value)) {
		code = (struct hl_pycode *)(uintptr_t)value;
		if (code->fingerprint == fingerprint)
			return code;
		/* The address now holds another code object (or the sample was torn). */
		hl_map__delete(c->by_addr, addr);
		code_free(code);
	}
	code = calloc(1, sizeof(*code));
	if (!code) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = read_code(c, addr, code);
	if (!*err && code->fingerprint != fingerprint)
		*err = -ESTALE; /* changed between the sample and our read */
	if (*err) {
		code_free(code);
		return NULL;
	}
	if (hl_map__set(c->by_addr, addr, (uint64_t)(uintptr_t)code)) {
		code_free(code);
		*err = -ENOMEM;
		return NULL;
	}
	return code;
}

int hl_pycode_cache__put(struct hl_pycode_cache *c, uint64_t addr, uint64_t fingerprint,
			 char *qualname, char *filename, int32_t firstlineno, uint8_t *linetable,
			 size_t linetable_len, bool linetable_cut)
{
	struct hl_pycode *code = NULL;
	uint64_t value, table;

	if (hl_map__get(c->by_addr, addr, &value)) {
		code = (struct hl_pycode *)(uintptr_t)value;
		if (code->fingerprint == fingerprint) {
			/* Another CPU sent it too: keep the entry we have. */
			free(qualname);
			free(filename);
			free(linetable);
			return 0;
		}
		hl_map__delete(c->by_addr, addr);
		code_free(code);
	}
	code = calloc(1, sizeof(*code));
	if (!code) {
		free(qualname);
		free(filename);
		free(linetable);
		return -ENOMEM;
	}
	*code = (struct hl_pycode){.addr = addr, .fingerprint = fingerprint,
				   .qualname = qualname, .filename = filename,
				   .firstlineno = firstlineno, .linetable = linetable,
				   .linetable_len = linetable_len};
	code->linetable_cut = linetable_cut;
	if (linetable_cut &&
	    !hl_procmem_read_u64(c->reader.pid, addr + c->ver.code_linetable, &table)) {
		uint8_t *full;
		size_t len;

		if (!hl_pyobj_read_bytes(&c->reader, table, &full, &len)) {
			if (len > linetable_len) {
				free(code->linetable);
				code->linetable = full;
				code->linetable_len = len;
				code->linetable_cut = false;
			} else {
				free(full);
			}
		}
	}
	if (hl_map__set(c->by_addr, addr, (uint64_t)(uintptr_t)code)) {
		code_free(code);
		return -ENOMEM;
	}
	return 0;
}

/* The tuple at @addr: its size (bounded by @max) and items address.  A tuple's ob_size is at
 * 16 and its items at tuple_items on every supported version. */
static int read_tuple(struct hl_pycode_cache *c, uint64_t addr, uint64_t max, uint64_t *n,
		      uint64_t *items)
{
	uint64_t size;
	int err = hl_procmem_read_u64(c->reader.pid, addr + 16, &size);

	if (err)
		return err;
	if ((int64_t)size < 0)
		return -EINVAL;
	*n = size < max ? size : max;
	*items = addr + c->ver.tuple_items;
	return 0;
}

static int read_names(struct hl_pycode_cache *c, uint64_t tuple, char **out, size_t *out_len)
{
	uint64_t n, items, i, item;
	char *buf = NULL, *s, *grown;
	size_t len = 0, sl;
	int err;

	err = read_tuple(c, tuple, HL_PYCODE_NAMES_MAX, &n, &items);
	for (i = 0; !err && i < n; i++) {
		err = hl_procmem_read_u64(c->reader.pid, items + 8 * i, &item);
		if (!err)
			err = hl_pyobj_read_str(&c->reader, item, &s);
		if (err)
			break;
		sl = strlen(s) + 1;
		grown = realloc(buf, len + sl);
		if (!grown) {
			free(s);
			err = -ENOMEM;
			break;
		}
		buf = grown;
		memcpy(buf + len, s, sl);
		len += sl;
		free(s);
	}
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

/* 0 when @code->addr still holds a code object with @code's fingerprint, else -ESTALE. */
static int still_same(struct hl_pycode_cache *c, struct hl_pycode *code)
{
	uint64_t type = 0, fp = 0;

	if (hl_pyobj_type(&c->reader, code->addr, &type) ||
	    hl_procmem_read_u64(c->reader.pid, code->addr + (c->ver.code_firstlineno & ~7u), &fp))
		return -ESTALE;
	if ((c->code_type && type != c->code_type) || fp != code->fingerprint)
		return -ESTALE;
	return 0;
}

/* How many of the first @n local names (at @items) are arguments, and their names: the
 * positional and keyword-only ones, then *args and **kwargs (CO_VARARGS, CO_VARKEYWORDS),
 * in the order the compiler lays them out. */
static int read_arg_names(struct hl_pycode_cache *c, struct hl_pycode *code, uint64_t n,
			  uint64_t items)
{
	const struct hl_pyver *v = &c->ver;
	int32_t argc = 0, kwonly = 0, flags = 0;
	uint64_t nargs, i, name;
	int err;

	if (v->code_argcount == HL_OFF_NONE || v->code_kwonlyargcount == HL_OFF_NONE ||
	    v->code_flags == HL_OFF_NONE)
		return 0;
	err = hl_procmem_read(c->reader.pid, code->addr + v->code_argcount, &argc, sizeof(argc));
	if (!err)
		err = hl_procmem_read(c->reader.pid, code->addr + v->code_kwonlyargcount, &kwonly,
				      sizeof(kwonly));
	if (!err)
		err = hl_procmem_read(c->reader.pid, code->addr + v->code_flags, &flags,
				      sizeof(flags));
	if (err)
		return err;
	if (argc < 0 || kwonly < 0 || argc > 65535 || kwonly > 65535)
		return -EINVAL;
	nargs = (uint64_t)argc + (uint64_t)kwonly + !!(flags & 0x4) + !!(flags & 0x8);
	for (i = 0; i < nargs && i < n; i++) {
		/* *args and **kwargs are named so: they hold a new tuple or dict per call. */
		uint64_t star = i < (uint64_t)argc + (uint64_t)kwonly ? 0
				: i == (uint64_t)argc + (uint64_t)kwonly && (flags & 0x4) ? 1
											   : 2;
		char *s = NULL;

		err = hl_procmem_read_u64(c->reader.pid, items + 8 * i, &name);
		if (!err)
			err = hl_pyobj_read_str(&c->reader, name, &s);
		if (!err && star) {
			size_t len = strlen(s) + 3;

			code->arg_names[i] = malloc(len);
			if (code->arg_names[i])
				snprintf(code->arg_names[i], len, "%s%s", star == 1 ? "*" : "**", s);
			else
				err = -ENOMEM;
			free(s);
		} else if (!err) {
			code->arg_names[i] = s;
		}
		if (err)
			return err;
		code->nr_args = (unsigned)i + 1;
	}
	return 0;
}

int hl_pycode_cache__read_bytecode(struct hl_pycode_cache *c, struct hl_pycode *code)
{
	const struct hl_pyver *v = &c->ver;
	uint64_t obj, units, n, items, first;
	uint8_t *bytes = NULL;
	size_t len = 0;
	bool cut = false;
	int err;

	if (code->bytecode)
		return 0;
	if (v->code_names == HL_OFF_NONE || v->code_localnames == HL_OFF_NONE)
		return -EOPNOTSUPP;
	err = still_same(c, code);
	if (err)
		return err;
	if (v->code_code != HL_OFF_NONE) {
		/* ≤3.10: co_code is a bytes object. */
		err = hl_procmem_read_u64(c->reader.pid, code->addr + v->code_code, &obj);
		if (!err)
			err = hl_pyobj_read_bytes(&c->reader, obj, &bytes, &len);
		if (!err && len > HL_PYCODE_BYTECODE_MAX) {
			len = HL_PYCODE_BYTECODE_MAX;
			cut = true;
		}
	} else {
		/* 3.11+: the code units follow the object; its ob_size (at 16) counts them. */
		err = hl_procmem_read_u64(c->reader.pid, code->addr + 16, &units);
		if (!err && (int64_t)units <= 0)
			err = -EINVAL;
		if (!err) {
			cut = units > HL_PYCODE_BYTECODE_MAX / 2;
			len = cut ? HL_PYCODE_BYTECODE_MAX : units * 2;
			bytes = malloc(len);
			err = bytes ? hl_procmem_read(c->reader.pid, code->addr + v->code_adaptive,
						      bytes, len)
				    : -ENOMEM;
		}
	}
	if (!err)
		err = hl_procmem_read_u64(c->reader.pid, code->addr + v->code_names, &obj);
	if (!err)
		err = read_names(c, obj, &code->names, &code->names_len);
	if (!err)
		err = hl_procmem_read_u64(c->reader.pid, code->addr + v->code_localnames, &obj);
	if (!err)
		err = read_tuple(c, obj, HL_ARG_SLOTS, &n, &items);
	/* A function without locals has none to name. */
	if (!err && n >= 1 && !hl_procmem_read_u64(c->reader.pid, items, &first))
		err = hl_pyobj_read_str(&c->reader, first, &code->first_local);
	if (!err)
		err = read_arg_names(c, code, n, items);
	/* Read after the sample, so the object may have been freed and its memory reused: keep
	 * the result only if the address still holds a code object with the fingerprint. */
	if (!err)
		err = still_same(c, code);
	if (err) {
		free(bytes);
		free(code->names);
		free(code->first_local);
		free_arg_names(code);
		code->names = code->first_local = NULL;
		code->names_len = 0;
		return err;
	}
	code->bytecode = bytes;
	code->bytecode_len = len;
	code->bytecode_cut = cut;
	return 0;
}

int32_t hl_pycode__line(const struct hl_pycode *code, const struct hl_pyver *ver, int32_t lasti)
{
	enum hl_linetable_format fmt = hl_linetable_format_for(ver->major, ver->minor);
	uint32_t byte_offset;
	int32_t line;

	/* A frame that has not run its first instruction reports its "def" line. */
	if (lasti < 0)
		return code->firstlineno;
	byte_offset = ver->minor >= 10 ? (uint32_t)lasti * 2 : (uint32_t)lasti;
	/* A cut lnotab would answer its last line for every offset past the copy (it does not
	 * record where the code ends); later formats answer -ENOENT there by themselves. */
	if (code->linetable_cut && fmt == HL_LINETABLE_LNOTAB) {
		uint64_t covered = 0;
		size_t i;

		for (i = 0; i + 1 < code->linetable_len; i += 2)
			covered += code->linetable[i];
		if (byte_offset >= covered)
			return 0;
	}
	if (hl_linetable_line(fmt, code->linetable, code->linetable_len, code->firstlineno,
			      byte_offset, &line) ||
	    line == HL_LINE_NONE)
		return 0;
	return line;
}
