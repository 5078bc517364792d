/* symbolize/pyobject.h — reading CPython objects out of another process.
 *
 * The remote-object layer shared by symbolization (code object names and line tables),
 * thread naming and, later, asyncio and argument inspection: str, bytes, int, dict, instance
 * attributes and sys.modules.  Everything is bounded: string lengths, bytes sizes and
 * container walks have caps, and a failed or implausible read is an error, never a crash.
 * Layouts come from struct hl_pyver (collector/pyoffsets.h); docs/internals.md says where
 * each one was taken from.
 *
 * Not responsible for finding the interpreter (collector/python.c) and never calls into the
 * target: no hashing, no descriptors, no __getattr__ — only what is stored in memory.
 *
 * Type checks use the fast-subclass bits of tp_flags (Py_TPFLAGS_DICT_SUBCLASS, _LONG_,
 * _UNICODE_; the same bits on 3.8–3.14), not the address of PyDict_Type: that needs no
 * symbol table (stripped static interpreters), and it accepts subclasses, whose instances
 * begin with the base layout.  It is a sanity check against stale or wrong pointers, not a
 * defence against a target forging objects: forged objects can only make us read more
 * bounded garbage.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "collector/pyoffsets.h"

#define HL_PYSTR_MAX   4096	  /* longest str we decode, in code points */
#define HL_PYBYTES_MAX (1u << 20) /* largest bytes object we copy */
#define HL_PYDICT_MAX  (1u << 16) /* most entries (live or deleted) of a dict we walk */

struct hl_pyreader {
	pid_t pid;
	const struct hl_pyver *ver;
};

/* Decodes @bytes of raw str character data, @kind (1, 2 or 4) bytes per character, to a
 * malloc'ed NUL-terminated UTF-8 string.  Returns 0, -EINVAL (bad kind) or -ENOMEM. */
int hl_pystr_decode(const void *raw, size_t bytes, unsigned kind, char **out);

/* Decodes the str object at @addr to UTF-8 in a malloc'ed, NUL-terminated string.  Returns 0
 * or -EFAULT (unreadable), -EINVAL (not a str layout we know), -E2BIG (over HL_PYSTR_MAX). */
int hl_pyobj_read_str(const struct hl_pyreader *r, uint64_t addr, char **out);

/* Copies the contents of the bytes object at @addr into a malloc'ed buffer.  Returns 0 or
 * -EFAULT, -E2BIG (over HL_PYBYTES_MAX). */
int hl_pyobj_read_bytes(const struct hl_pyreader *r, uint64_t addr, uint8_t **out, size_t *len);

/* The object's type (ob_type).  Returns 0 or -EFAULT. */
int hl_pyobj_type(const struct hl_pyreader *r, uint64_t addr, uint64_t *type);

/* The name of the object's type (tp_name, e.g. "list", "mymodule.Key") into @buf, cut to
 * @size - 1 bytes.  Returns 0, -EFAULT, or -EINVAL when it is not printable ASCII (not a
 * type, or a stale pointer). */
int hl_pyobj_type_name(const struct hl_pyreader *r, uint64_t addr, char *buf, size_t size);

/* Whether the object at @addr is an int, a str or a dict (or a subclass).  Returns 1, 0, or
 * -EFAULT. */
int hl_pyobj_is_long(const struct hl_pyreader *r, uint64_t addr);
int hl_pyobj_is_str(const struct hl_pyreader *r, uint64_t addr);
int hl_pyobj_is_dict(const struct hl_pyreader *r, uint64_t addr);

/* Reads the int at @addr (bool included).  Returns 0, -EFAULT, -EINVAL (not an int, or a
 * malformed one) or -ERANGE (does not fit in int64_t). */
int hl_pyobj_read_long(const struct hl_pyreader *r, uint64_t addr, int64_t *value);

/* Whether the str at @addr equals the UTF-8 string @s.  Returns 1, 0 (different, or not a
 * str), or -EFAULT / -EINVAL when the object is unreadable or malformed. */
int hl_pyobj_str_equals(const struct hl_pyreader *r, uint64_t addr, const char *s);

/* Calls @cb(key, value, arg) for every item of the dict (or dict subclass) at @dict, with
 * the addresses of the key and value objects, in entry order (which for split tables is the
 * order the keys were first added to the class's shared keys, not the dict's own insertion
 * order).  Stops when @cb returns non-zero and returns that value.  Returns 0 when every
 * item was visited, -EINVAL when @dict is not a dict or its tables are implausible, -E2BIG
 * when it has more than HL_PYDICT_MAX entries, -EFAULT when a table is unreadable.  A dict
 * being resized while we read may give a torn view: items missed or seen twice, never an
 * unbounded walk. */
int hl_pyobj_dict_for_each(const struct hl_pyreader *r, uint64_t dict,
			   int (*cb)(uint64_t key, uint64_t value, void *arg), void *arg);

/* Looks up the str key @key (UTF-8) in the dict at @dict by comparing keys, not hashes
 * (the target's hash secret is unknown); keys that are not str are skipped.  Returns 0 with
 * *value set to the value's address, -ENOENT when absent, or an error of
 * hl_pyobj_dict_for_each. */
int hl_pyobj_dict_get(const struct hl_pyreader *r, uint64_t dict, const char *key, uint64_t *value);

/* Finds the attribute @name stored in the instance at @obj — its __dict__, wherever this
 * version keeps it: tp_dictoffset (all versions), the managed dict and values slots before
 * the object (3.11, 3.12), or the inline values after it (3.13+).  Attributes of the type,
 * __slots__, properties and __getattr__ are not seen.  Returns 0 with *value set, -ENOENT
 * when the instance has no such attribute or no __dict__ at all, -EOPNOTSUPP for a layout
 * we do not read (on 3.12+, an int subclass defined in C with a negative tp_dictoffset:
 * lv_tag is no size; Python-level subclasses use a managed dict), or an error of
 * hl_pyobj_dict_for_each. */
int hl_pyobj_getattr(const struct hl_pyreader *r, uint64_t obj, const char *name, uint64_t *value);

/* The module object sys.modules[@name] of the interpreter at the head of the runtime's
 * list (the main one unless subinterpreters were created), from &_PyRuntime at @runtime.
 * Returns 0, -ENOENT when the module is not imported (or the interpreter is gone), or an
 * error of hl_pyobj_dict_get. */
int hl_pyobj_module(const struct hl_pyreader *r, uint64_t runtime, const char *name,
		    uint64_t *module);

/* The module's __dict__ (PyModuleObject.md_dict).  Returns 0, -EFAULT, or -EINVAL when it
 * is not a dict (e.g. @module is not a module: sys.modules may hold any object). */
int hl_pyobj_module_dict(const struct hl_pyreader *r, uint64_t module, uint64_t *dict);

/* sys.modules[@module].@name, a module global.  Returns 0, -ENOENT (module not imported or
 * no such global), or an error of the functions above. */
int hl_pyobj_module_global(const struct hl_pyreader *r, uint64_t runtime, const char *module,
			   const char *name, uint64_t *value);
