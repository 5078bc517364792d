/* symbolize/pyobject.c — see pyobject.h. */
#include "symbolize/pyobject.h"
#include "common/util.h"
#include "symbolize/procmem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* PyASCIIObject.state bits, identical on 3.8–3.14 GIL builds. */
#define STATE_KIND(s)	 (((s) >> 2) & 7)
#define STATE_COMPACT(s) (((s) >> 5) & 1)
#define STATE_ASCII(s)	 (((s) >> 6) & 1)

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
		data =
		    addr + (STATE_ASCII(state) ? v->unicode_ascii_data : v->unicode_compact_data);
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

int hl_pyobj_type_name(const struct hl_pyreader *r, uint64_t addr, char *buf, size_t size)
{
	uint64_t type, name;
	ssize_t got;
	size_t i;
	int err;

	if (size < 2)
		return -EINVAL;
	err = hl_pyobj_type(r, addr, &type);
	if (!err)
		err = hl_procmem_read_u64(r->pid, type + r->ver->type_name, &name);
	if (err)
		return err;
	got = hl_procmem_read_partial(r->pid, name, buf, size - 1);
	if (got <= 0)
		return -EFAULT;
	buf[got] = '\0';
	for (i = 0; buf[i]; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return -EINVAL;
	return i ? 0 : -EINVAL;
}

/* tp_flags fast-subclass bits: public ABI, the same on 3.8–3.14 (Include/object.h). */
#define TPFLAGS_LONG_SUBCLASS	 (1ull << 24)
#define TPFLAGS_UNICODE_SUBCLASS (1ull << 28)
#define TPFLAGS_DICT_SUBCLASS	 (1ull << 29)

/* Dict entries: PyDictKeyEntry {me_hash, me_key, me_value} on every version, and from 3.11
 * PyDictUnicodeEntry {me_key, me_value} in tables of kind unicode or split
 * (internal/pycore_dict.h: 3.11.7 :39-49, 3.12.1 and later next to struct _dictkeysobject). */
#define ENTRY_GENERAL	  24
#define ENTRY_UNICODE	  16
#define DICT_KEYS_GENERAL 0
#define DICT_KEYS_SPLIT	  2
#define ENTRY_CHUNK	  64 /* entries read per process_vm_readv */

/* Limits for numbers a type object gives us: real ones are far smaller. */
#define TYPE_SIZE_MAX (1 << 20)
#define VAR_ITEMS_MAX (1ull << 32)

static uint64_t get_u64(const void *buf, size_t off)
{
	uint64_t x;

	memcpy(&x, (const uint8_t *)buf + off, sizeof(x));
	return x;
}

/* The type and tp_flags of the object at @addr.  Returns 0, -EFAULT, or -EINVAL for a NULL
 * type (a freed or never-initialized object). */
static int type_flags(const struct hl_pyreader *r, uint64_t addr, uint64_t *type, uint64_t *flags)
{
	int err;

	if (!addr)
		return -EFAULT;
	err = hl_pyobj_type(r, addr, type);
	if (err)
		return err;
	if (!*type)
		return -EINVAL;
	return hl_procmem_read_u64(r->pid, *type + r->ver->type_flags, flags);
}

static int has_type_flag(const struct hl_pyreader *r, uint64_t addr, uint64_t flag)
{
	uint64_t type, flags;
	int err = type_flags(r, addr, &type, &flags);

	if (err)
		return err == -EINVAL ? 0 : err;
	return (flags & flag) != 0;
}

int hl_pyobj_is_long(const struct hl_pyreader *r, uint64_t addr)
{
	return has_type_flag(r, addr, TPFLAGS_LONG_SUBCLASS);
}

int hl_pyobj_is_str(const struct hl_pyreader *r, uint64_t addr)
{
	return has_type_flag(r, addr, TPFLAGS_UNICODE_SUBCLASS);
}

int hl_pyobj_is_dict(const struct hl_pyreader *r, uint64_t addr)
{
	return has_type_flag(r, addr, TPFLAGS_DICT_SUBCLASS);
}

int hl_pyobj_read_long(const struct hl_pyreader *r, uint64_t addr, int64_t *value)
{
	const struct hl_pyver *v = r->ver;
	uint64_t size, ndigits, mag = 0;
	uint32_t digits[3];
	bool neg;
	int err, i;

	err = hl_pyobj_is_long(r, addr);
	if (err <= 0)
		return err ? err : -EINVAL;
	err = hl_procmem_read_u64(r->pid, addr + v->long_size, &size);
	if (err)
		return err;
	if (v->long_tagged) {
		/* 3.12+ lv_tag: digit count << 3 | sign, where sign 0 is positive, 1 zero and
		 * 2 negative (3.12 cpython/longintrepr.h, _PyLong_SIGN_MASK). */
		if ((size & 3) == 3)
			return -EINVAL;
		if ((size & 3) == 1) {
			*value = 0;
			return 0;
		}
		neg = (size & 3) == 2;
		ndigits = size >> 3;
	} else {
		/* ≤3.11: ob_size is the digit count, negative for negative numbers. */
		neg = (int64_t)size < 0;
		ndigits = neg ? 0 - size : size;
	}
	if (ndigits > HL_ARRAY_SIZE(digits))
		return -ERANGE;
	err = hl_procmem_read(r->pid, addr + v->long_digits, digits, ndigits * sizeof(digits[0]));
	if (err)
		return err;
	/* 30-bit digits, least significant first (PYLONG_BITS_IN_DIGIT 30 on 64-bit). */
	for (i = (int)ndigits - 1; i >= 0; i--) {
		if (digits[i] >> 30)
			return -EINVAL;
		if (mag >> 34)
			return -ERANGE;
		mag = mag << 30 | digits[i];
	}
	if (mag > (uint64_t)INT64_MAX + neg)
		return -ERANGE;
	/* -(mag - 1) - 1 reaches INT64_MIN without overflowing. */
	*value = neg && mag ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
	return 0;
}

/* Compares the str at @addr with @s (@len bytes of UTF-8, @ascii if all < 0x80).  Unless
 * @known_str, first checks the object is a str, remembering the last str type seen in
 * *@str_type so a dict of str keys costs one type read per key.  Returns 1, 0, or -errno. */
static int str_match(const struct hl_pyreader *r, uint64_t addr, const char *s, size_t len,
		     bool ascii, bool known_str, uint64_t *str_type)
{
	const struct hl_pyver *v = r->ver;
	uint8_t hdr[64], chunk[256];
	uint64_t type, flags, length;
	uint32_t state;
	size_t done;
	char *full;
	int err;

	if (!addr)
		return -EFAULT;
	if (!known_str) {
		err = type_flags(r, addr, &type, &flags);
		if (err)
			return err == -EINVAL ? 0 : err;
		if (!(flags & TPFLAGS_UNICODE_SUBCLASS))
			return 0;
		*str_type = type;
	}
	if (v->unicode_ascii_data > sizeof(hdr) || v->unicode_state + 4 > v->unicode_ascii_data)
		return -EINVAL;
	err = hl_procmem_read(r->pid, addr, hdr, v->unicode_ascii_data);
	if (err)
		return err;
	length = get_u64(hdr, v->unicode_length);
	memcpy(&state, hdr + v->unicode_state, sizeof(state));
	if ((int64_t)length < 0)
		return -EINVAL;
	if (STATE_ASCII(state)) {
		/* CPython sets the ascii bit for every str whose characters are all < 0x80,
		 * so an ASCII key never equals a non-ASCII name and vice versa. */
		if (!ascii || length != len)
			return 0;
		if (!STATE_COMPACT(state))
			goto decode; /* legacy string (≤3.11): characters behind a pointer */
		for (done = 0; done < len; done += sizeof(chunk)) {
			size_t n = HL_MIN(len - done, sizeof(chunk));

			err =
			    hl_procmem_read(r->pid, addr + v->unicode_ascii_data + done, chunk, n);
			if (err)
				return err;
			if (memcmp(chunk, s + done, n))
				return 0;
		}
		return 1;
	}
	/* A code point takes at least one UTF-8 byte. */
	if (ascii || length > len)
		return 0;
decode:
	err = hl_pyobj_read_str(r, addr, &full);
	if (err)
		return err;
	err = !strcmp(full, s);
	free(full);
	return err;
}

static bool is_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

int hl_pyobj_str_equals(const struct hl_pyreader *r, uint64_t addr, const char *s)
{
	uint64_t str_type = 0;
	size_t len = strlen(s);

	return str_match(r, addr, s, len, is_ascii(s, len), false, &str_type);
}

/* Where the items of a dict, or of an instance's values, are. */
struct dict_view {
	uint64_t entries; /* the first entry */
	uint64_t count;	  /* entries to visit (live and deleted) */
	uint64_t values;  /* split table: the values array; 0 for combined tables */
	unsigned entry_size, key_off, value_off;
	int kind;     /* 3.11+ dk_kind, -1 before */
	bool all_str; /* 3.11+ unicode and split tables hold only str keys */
};

/* Reads and validates the keys object at @keys. */
static int keys_view(const struct hl_pyreader *r, uint64_t keys, struct dict_view *dv)
{
	const struct hl_pyver *v = r->ver;
	uint64_t size, index_bytes;
	int64_t nentries;
	uint8_t hdr[64];
	int err;

	if (!keys)
		return -EINVAL;
	if (v->dictkeys_indices > sizeof(hdr))
		return -EINVAL;
	err = hl_procmem_read(r->pid, keys, hdr, v->dictkeys_indices);
	if (err)
		return err;
	memset(dv, 0, sizeof(*dv));
	nentries = (int64_t)get_u64(hdr, v->dictkeys_nentries);
	if (v->dictkeys_size != HL_OFF_NONE) {
		/* ≤3.10: dk_size slots of 1, 2, 4 or 8 bytes each, by dk_size (DK_IXSIZE in
		 * Objects/dictobject.c).  The shared empty keys object has dk_size 1. */
		size = get_u64(hdr, v->dictkeys_size);
		if (!size || size > (1ull << 31) || (size & (size - 1)))
			return -EINVAL;
		index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
		dv->kind = -1;
	} else {
		unsigned log2 = hdr[v->dictkeys_log2_size];
		unsigned log2_bytes = hdr[v->dictkeys_log2_index_bytes];

		/* 3.11+: the index takes 1 << dk_log2_index_bytes bytes, which is the size
		 * times 1, 2, 4 or 8. */
		dv->kind = hdr[v->dictkeys_kind];
		if (log2 > 31 || log2_bytes < log2 || log2_bytes > log2 + 3 || dv->kind > 2)
			return -EINVAL;
		size = 1ull << log2;
		index_bytes = 1ull << log2_bytes;
	}
	/* At most USABLE_FRACTION(size) = 2/3 of the slots ever hold an entry. */
	if (nentries < 0 || (uint64_t)nentries > (size << 1) / 3)
		return -EINVAL;
	if (nentries > HL_PYDICT_MAX)
		return -E2BIG;
	dv->entries = keys + v->dictkeys_indices + index_bytes;
	dv->count = (uint64_t)nentries;
	if (dv->kind > DICT_KEYS_GENERAL) {
		dv->entry_size = ENTRY_UNICODE;
		dv->key_off = 0;
		dv->value_off = 8;
		dv->all_str = true;
	} else {
		dv->entry_size = ENTRY_GENERAL;
		dv->key_off = 8;
		dv->value_off = 16;
	}
	return 0;
}

/* Makes @dv a split table whose values are in the PyDictValues at @values. */
static int attach_values(const struct hl_pyreader *r, uint64_t values, struct dict_view *dv)
{
	const struct hl_pyver *v = r->ver;
	uint8_t capacity;
	int err;

	if (dv->kind >= 0 && dv->kind != DICT_KEYS_SPLIT)
		return -EINVAL;
	if (v->dictvalues_capacity != HL_OFF_NONE) {
		/* 3.13+: the values array has room for `capacity` entries only; the shared
		 * keys may have grown past that since this instance was created. */
		err = hl_procmem_read(r->pid, values + v->dictvalues_capacity, &capacity, 1);
		if (err)
			return err;
		dv->count = HL_MIN(dv->count, (uint64_t)capacity);
	}
	dv->values = values + v->dictvalues_values;
	return 0;
}

/* Reads the dict at @dict.  Returns 0, -EINVAL when it is not a dict, or -errno. */
static int dict_view(const struct hl_pyreader *r, uint64_t dict, struct dict_view *dv)
{
	const struct hl_pyver *v = r->ver;
	uint64_t type, flags, keys, values;
	int err;

	err = type_flags(r, dict, &type, &flags);
	if (err)
		return err;
	if (!(flags & TPFLAGS_DICT_SUBCLASS))
		return -EINVAL;
	err = hl_procmem_read_u64(r->pid, dict + v->dict_keys, &keys);
	if (!err)
		err = hl_procmem_read_u64(r->pid, dict + v->dict_values, &values);
	if (!err)
		err = keys_view(r, keys, dv);
	if (!err && values)
		err = attach_values(r, values, dv);
	return err;
}

/* Calls @cb for each item of @dv; see hl_pyobj_dict_for_each. */
static int view_for_each(const struct hl_pyreader *r, const struct dict_view *dv,
			 int (*cb)(uint64_t key, uint64_t value, void *arg), void *arg)
{
	uint8_t ents[ENTRY_CHUNK * ENTRY_GENERAL];
	uint64_t vals[ENTRY_CHUNK];
	uint64_t i, j, n;
	int err, ret;

	for (i = 0; i < dv->count; i += n) {
		n = HL_MIN(dv->count - i, (uint64_t)ENTRY_CHUNK);
		err = hl_procmem_read(r->pid, dv->entries + i * dv->entry_size, ents,
				      n * dv->entry_size);
		if (!err && dv->values)
			err = hl_procmem_read(r->pid, dv->values + i * 8, vals, n * 8);
		if (err)
			return err;
		for (j = 0; j < n; j++) {
			const uint8_t *e = ents + j * dv->entry_size;
			uint64_t key = get_u64(e, dv->key_off);
			uint64_t value = dv->values ? vals[j] : get_u64(e, dv->value_off);

			/* Unused and deleted entries have no value (≤3.10 deleted keys point
			 * at a private dummy object, 3.11+ they are NULL). */
			if (!key || !value)
				continue;
			ret = cb(key, value, arg);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int hl_pyobj_dict_for_each(const struct hl_pyreader *r, uint64_t dict,
			   int (*cb)(uint64_t key, uint64_t value, void *arg), void *arg)
{
	struct dict_view dv;
	int err = dict_view(r, dict, &dv);

	return err ? err : view_for_each(r, &dv, cb, arg);
}

struct lookup {
	const struct hl_pyreader *r;
	const char *name;
	size_t len;
	bool ascii, all_str;
	uint64_t str_type;
	uint64_t value;
};

static int lookup_cb(uint64_t key, uint64_t value, void *arg)
{
	struct lookup *l = arg;
	int m = str_match(l->r, key, l->name, l->len, l->ascii, l->all_str, &l->str_type);

	if (m > 0)
		l->value = value;
	return m;
}

static int view_get(const struct hl_pyreader *r, const struct dict_view *dv, const char *name,
		    uint64_t *value)
{
	struct lookup l = {
	    .r = r,
	    .name = name,
	    .len = strlen(name),
	    .all_str = dv->all_str,
	};
	int ret;

	l.ascii = is_ascii(name, l.len);
	ret = view_for_each(r, dv, lookup_cb, &l);
	if (ret < 0)
		return ret;
	if (!ret)
		return -ENOENT;
	*value = l.value;
	return 0;
}

int hl_pyobj_dict_get(const struct hl_pyreader *r, uint64_t dict, const char *key, uint64_t *value)
{
	struct dict_view dv;
	int err = dict_view(r, dict, &dv);

	return err ? err : view_get(r, &dv, key, value);
}

/* An attribute of an instance whose type has Py_TPFLAGS_MANAGED_DICT (3.11+): the VM keeps
 * its dict, or its values in the class's shared keys order, in slots of its own. */
static int managed_getattr(const struct hl_pyreader *r, uint64_t obj, uint64_t type, uint64_t flags,
			   int64_t basicsize, const char *name, uint64_t *value)
{
	const struct hl_pyver *v = r->ver;
	uint64_t slot, dict = 0, values = 0, keys;
	struct dict_view dv;
	uint8_t valid;
	int err;

	if (v->managed_dict == HL_OFF_NONE)
		return -EINVAL;
	if (flags & v->tpflags_inline_values) {
		/* 3.13+: the values live right after the object (3.13 asserts tp_basicsize
		 * == sizeof(PyObject); 3.14 uses tp_basicsize), and stay authoritative
		 * while `valid` is set — even when a dict was materialized, which then
		 * points at them.  Once cleared, the managed dict holds everything. */
		err = hl_procmem_read(r->pid, obj + (uint64_t)basicsize + v->dictvalues_valid,
				      &valid, 1);
		if (err)
			return err;
		if (valid)
			values = obj + (uint64_t)basicsize;
	}
	if (!values) {
		err = hl_procmem_read_u64(r->pid, obj - v->managed_dict, &slot);
		if (err)
			return err;
		if (v->managed_tagged && (slot & 1))
			values = slot + 1; /* 3.12 _PyDictOrValues: values stored minus 1 */
		else
			dict = slot;
	}
	if (!values && !dict && v->managed_values != HL_OFF_NONE) {
		/* 3.11: a separate values slot, cleared when the dict is materialized. */
		err = hl_procmem_read_u64(r->pid, obj - v->managed_values, &values);
		if (err)
			return err;
	}
	if (dict)
		return hl_pyobj_dict_get(r, dict, name, value);
	if (!values)
		return -ENOENT;
	err = hl_procmem_read_u64(r->pid, type + v->heaptype_cached_keys, &keys);
	if (!err)
		err = keys_view(r, keys, &dv);
	if (!err)
		err = attach_values(r, values, &dv);
	return err ? err : view_get(r, &dv, name, value);
}

int hl_pyobj_getattr(const struct hl_pyreader *r, uint64_t obj, const char *name, uint64_t *value)
{
	const struct hl_pyver *v = r->ver;
	int64_t basicsize, itemsize, dictoffset, ob_size;
	uint8_t tp[512];
	uint64_t type, flags, dict;
	int err;

	if (!obj)
		return -EFAULT;
	if (v->type_dictoffset + 8u > sizeof(tp))
		return -EINVAL;
	err = hl_pyobj_type(r, obj, &type);
	if (err)
		return err;
	if (!type)
		return -EINVAL;
	err = hl_procmem_read(r->pid, type, tp, v->type_dictoffset + 8u);
	if (err)
		return err;
	flags = get_u64(tp, v->type_flags);
	basicsize = (int64_t)get_u64(tp, v->type_basicsize);
	itemsize = (int64_t)get_u64(tp, v->type_itemsize);
	dictoffset = (int64_t)get_u64(tp, v->type_dictoffset);
	if (basicsize < 16 || basicsize > TYPE_SIZE_MAX || itemsize < 0 ||
	    itemsize > TYPE_SIZE_MAX || dictoffset < -TYPE_SIZE_MAX || dictoffset > TYPE_SIZE_MAX)
		return -EINVAL;
	if (flags & v->tpflags_managed_dict)
		return managed_getattr(r, obj, type, flags, basicsize, name, value);
	if (!dictoffset)
		return -ENOENT; /* no __dict__: a builtin, or __slots__ */
	if (dictoffset < 0) {
		/* Counted from the end of a variable-size object (_PyObject_GetDictPtr):
		 * round_up(tp_basicsize + |ob_size| * tp_itemsize, 8) + tp_dictoffset.
		 * 3.12+ ints keep lv_tag, not a size, where ob_size was. */
		if (v->long_tagged && (flags & TPFLAGS_LONG_SUBCLASS))
			return -EOPNOTSUPP;
		err = hl_procmem_read_u64(r->pid, obj + 16, (uint64_t *)&ob_size);
		if (err)
			return err;
		if (ob_size < 0)
			ob_size = ob_size == INT64_MIN ? INT64_MAX : -ob_size;
		if ((uint64_t)ob_size > VAR_ITEMS_MAX)
			return -EINVAL;
		dictoffset += (basicsize + ob_size * itemsize + 7) & ~7ll;
		if (dictoffset < 16)
			return -EINVAL;
	}
	err = hl_procmem_read_u64(r->pid, obj + (uint64_t)dictoffset, &dict);
	if (err)
		return err;
	if (!dict)
		return -ENOENT; /* not created yet: no attribute was ever set */
	return hl_pyobj_dict_get(r, dict, name, value);
}

int hl_pyobj_module(const struct hl_pyreader *r, uint64_t runtime, const char *name,
		    uint64_t *module)
{
	const struct hl_pyver *v = r->ver;
	uint64_t interp, modules;
	int err;

	err = hl_procmem_read_u64(r->pid, runtime + v->runtime_interpreters_head, &interp);
	if (err)
		return err;
	if (!interp)
		return -ENOENT;
	err = hl_procmem_read_u64(r->pid, interp + v->interp_modules, &modules);
	if (err)
		return err;
	if (!modules)
		return -ENOENT; /* not initialized yet, or finalized */
	return hl_pyobj_dict_get(r, modules, name, module);
}

int hl_pyobj_module_dict(const struct hl_pyreader *r, uint64_t module, uint64_t *dict)
{
	int err;

	if (!module)
		return -EFAULT;
	err = hl_procmem_read_u64(r->pid, module + r->ver->module_dict, dict);
	if (err)
		return err;
	err = hl_pyobj_is_dict(r, *dict);
	if (err < 0)
		return err == -EFAULT ? -EINVAL : err;
	return err ? 0 : -EINVAL;
}

int hl_pyobj_module_global(const struct hl_pyreader *r, uint64_t runtime, const char *module,
			   const char *name, uint64_t *value)
{
	uint64_t mod, dict;
	int err;

	err = hl_pyobj_module(r, runtime, module, &mod);
	if (!err)
		err = hl_pyobj_module_dict(r, mod, &dict);
	if (!err)
		err = hl_pyobj_dict_get(r, dict, name, value);
	return err;
}
