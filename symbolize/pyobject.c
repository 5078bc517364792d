/* symbolize/pyobject.c — see pyobject.h. */
#include "symbolize/pyobject.h"
#include "symbolize/procmem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* PyASCIIObject.state bits, identical on 3.8–3.14 GIL builds. */
#define STATE_KIND(s) (((s) >> 2) & 7)
#define STATE_COMPACT(s) (((s) >> 5) & 1)
#define STATE_ASCII(s) (((s) >> 6) & 1)

static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp > 0x10ffff)
		cp = 0xfffd; /* not a code point: a torn read or a hostile target */
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int hl_pyobj_read_str(const struct hl_pyreader *r, uint64_t addr, char **out)
{
	const struct hl_pyver *v = r->ver;
	uint64_t length = 0, data;
	uint32_t state = 0;
	unsigned kind;
	uint8_t *raw;
	int err;

	if (!addr)
		return -EFAULT;
	err = hl_procmem_read_u64(r->pid, addr + v->unicode_length, &length);
	if (!err)
		err = hl_procmem_read_u32(r->pid, addr + v->unicode_state, &state);
	if (err)
		return err;
	if ((int64_t)length < 0)
		return -EINVAL;
	if (length > HL_PYSTR_MAX)
		return -E2BIG;
	kind = STATE_KIND(state);
	if (kind != 1 && kind != 2 && kind != 4)
		return -EINVAL;
	if (STATE_COMPACT(state)) {
		data = addr + (STATE_ASCII(state) ? v->unicode_ascii_data : v->unicode_compact_data);
	} else {
		/* Legacy (non-compact) strings keep their characters behind a pointer that
		 * follows the compact header (≤3.11 only). */
		err = hl_procmem_read_u64(r->pid, addr + v->unicode_compact_data, &data);
		if (err)
			return err;
	}
	raw = malloc(length * kind + 1);
	if (!raw)
		return -ENOMEM;
	err = hl_procmem_read(r->pid, data, raw, length * kind);
	if (!err)
		err = hl_pystr_decode(raw, length * kind, kind, out);
	free(raw);
	return err;
}

int hl_pystr_decode(const void *raw, size_t bytes, unsigned kind, char **out)
{
	const uint8_t *p = raw;
	size_t i, n = 0, count;
	char *s;

	if (kind != 1 && kind != 2 && kind != 4)
		return -EINVAL;
	count = bytes / kind;
	s = malloc(count * 4 + 1);
	if (!s)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		uint32_t cp;

		if (kind == 1)
			cp = p[i];
		else if (kind == 2)
			cp = (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
		else
			memcpy(&cp, p + 4 * i, 4);
		n += utf8_encode(cp, s + n);
	}
	s[n] = '\0';
	*out = s;
	return 0;
}

int hl_pyobj_read_bytes(const struct hl_pyreader *r, uint64_t addr, uint8_t **out, size_t *len)
{
	int64_t size = 0;
	uint8_t *buf;
	int err;

	/* PyBytesObject: ob_size at 16, ob_sval at 32 on every supported version. */
	err = hl_procmem_read_u64(r->pid, addr + 16, (uint64_t *)&size);
	if (err)
		return err;
	if (size < 0)
		return -EINVAL;
	if ((uint64_t)size > HL_PYBYTES_MAX)
		return -E2BIG;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	err = hl_procmem_read(r->pid, addr + 32, buf, (size_t)size);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = (size_t)size;
	return 0;
}

int hl_pyobj_type(const struct hl_pyreader *r, uint64_t addr, uint64_t *type)
{
	return hl_procmem_read_u64(r->pid, addr + 8, type);
}
