/* tests/unit/pyoffsets_probe.c — prints, for the CPython headers it is compiled against, the
 * value every field of struct hl_pyver (collector/pyoffsets.h) must have.
 *
 * Compiled at test time by pyoffsets_check.py, once per installed interpreter:
 *     cc -DPy_BUILD_CORE -DNDEBUG -I<inc> -I<inc>/internal pyoffsets_probe.c
 * and compared with `test_pyoffsets --dump`.  Not part of hotloop and never linked into it.
 *
 * Output, one line per fact, names as in struct hl_pyver:
 *     <field> <offset> <size of the member>   the field exists in this version
 *     <field> none                            the version has no such field (HL_OFF_NONE)
 *     <field> value <number>                  a plain number (sizes, masks, flags)
 *     <field> unknown <reason>                the installed headers do not define it
 *     sizeof <struct> <bytes>                 bounds for the "bytes the sampler reads" fields
 * Each line says which C member it measured, after a '#', for the failure messages.
 */
#define Py_BUILD_CORE 1
#ifndef NDEBUG
#define NDEBUG 1 /* the inline helpers used below assert on the object's type */
#endif
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if PY_VERSION_HEX < 0x030b0000
#include <longintrepr.h> /* 3.11+: included by Python.h */
#endif
#if PY_VERSION_HEX < 0x03090000
#include "internal/pycore_pystate.h"
#else
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_pystate.h"
#endif
#include "internal/pycore_gil.h"
#if PY_VERSION_HEX >= 0x030a0000
#include "internal/pycore_moduleobject.h"
#endif
#if PY_VERSION_HEX >= 0x030b0000
#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_object.h"
#endif
#if PY_VERSION_HEX >= 0x030d0000
#include "internal/pycore_tstate.h"
#endif
#if PY_VERSION_HEX >= 0x030e0000
#include "internal/pycore_interpframe_structs.h"
#include "internal/pycore_stackref.h"
#endif

#if PY_VERSION_HEX < 0x03080000 || PY_VERSION_HEX >= 0x030f0000
#error "pyoffsets_probe.c knows CPython 3.8 to 3.14"
#endif
#if defined(Py_GIL_DISABLED) || defined(Py_DEBUG) || defined(Py_TRACE_REFS)
#error "hotloop's tables describe release builds with the GIL"
#endif

#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
#define OFF(field, T, m)                                                                           \
	printf("%s %zu %zu # offsetof(%s, %s)\n", field, offsetof(T, m), MEMBER_SIZE(T, m), #T, #m)
/* A flexible array member: its size is that of one element. */
#define OFF_FLEX(field, T, m)                                                                      \
	printf("%s %zu %zu # offsetof(%s, %s)\n", field, offsetof(T, m), sizeof(((T *)0)->m[0]),   \
	       #T, #m)
#define NONE(field)	      printf("%s none\n", field)
#define VALUE(field, v, what) printf("%s value %llu # %s\n", field, (unsigned long long)(v), what)
#define UNKNOWN(field, why)   printf("%s unknown %s\n", field, why)
#define SIZEOF(T)	      printf("sizeof %s %zu\n", #T, sizeof(T))

/* Distance from an object to a slot the interpreter keeps *before* it (managed dicts), taken
 * from the header's own accessor so the probe does not restate the layout. */
static __attribute__((unused)) size_t slot_before(const void *obj, const void *slot)
{
	return (size_t)((const char *)obj - (const char *)slot);
}

/* The struct a ≤3.10 thread's frame pointer points to, and the one 3.11+ uses. */
#if PY_VERSION_HEX < 0x030b0000
typedef PyFrameObject probe_frame;
#else
typedef _PyInterpreterFrame probe_frame;
#endif

static void runtime(void)
{
	OFF("runtime_interpreters_head", _PyRuntimeState, interpreters.head);
#if PY_VERSION_HEX < 0x030c0000
	OFF("runtime_autotsskey", _PyRuntimeState, gilstate.autoTSSkey);
	OFF("runtime_gil", _PyRuntimeState, ceval.gil);
#else
	OFF("runtime_autotsskey", _PyRuntimeState, autoTSSkey);
	NONE("runtime_gil");
#endif
}

static void interp(void)
{
	OFF("interp_next", PyInterpreterState, next);
#if PY_VERSION_HEX < 0x030b0000
	OFF("interp_threads_head", PyInterpreterState, tstate_head);
#else
	OFF("interp_threads_head", PyInterpreterState, threads.head);
#endif
#if PY_VERSION_HEX < 0x030c0000
	OFF("interp_modules", PyInterpreterState, modules);
	NONE("interp_ceval_gil");
#else
	OFF("interp_modules", PyInterpreterState, imports.modules);
	OFF("interp_ceval_gil", PyInterpreterState, ceval.gil);
#endif
	OFF("gil_holder", struct _gil_runtime_state, last_holder);
	OFF("gil_locked", struct _gil_runtime_state, locked);
}

static void tstate(void)
{
	OFF("tstate_next", PyThreadState, next);
	OFF("tstate_interp", PyThreadState, interp);
#if PY_VERSION_HEX < 0x030b0000
	OFF("tstate_frame", PyThreadState, frame);
#elif PY_VERSION_HEX < 0x030d0000
	OFF("tstate_frame", PyThreadState, cframe);
#else
	OFF("tstate_frame", PyThreadState, current_frame);
#endif
	OFF("tstate_thread_id", PyThreadState, thread_id);
#if PY_VERSION_HEX < 0x030b0000
	NONE("tstate_native_thread_id");
	NONE("cframe_current_frame");
#else
	OFF("tstate_native_thread_id", PyThreadState, native_thread_id);
#if PY_VERSION_HEX < 0x030d0000
	OFF("cframe_current_frame", _PyCFrame, current_frame);
#else
	NONE("cframe_current_frame");
#endif
#endif
	SIZEOF(PyThreadState);
}

static void frame(void)
{
#if PY_VERSION_HEX < 0x030b0000
	OFF("frame_back", PyFrameObject, f_back);
	OFF("frame_code", PyFrameObject, f_code);
	OFF("frame_lasti", PyFrameObject, f_lasti);
	NONE("frame_owner");
	NONE("frame_is_entry");
	OFF("frame_gen", PyFrameObject, f_gen);
	NONE("gen_iframe");
#else
	OFF("frame_back", _PyInterpreterFrame, previous);
#if PY_VERSION_HEX < 0x030d0000
	OFF("frame_code", _PyInterpreterFrame, f_code);
	OFF("frame_lasti", _PyInterpreterFrame, prev_instr);
#else
	OFF("frame_code", _PyInterpreterFrame, f_executable);
	OFF("frame_lasti", _PyInterpreterFrame, instr_ptr);
#endif
	OFF("frame_owner", _PyInterpreterFrame, owner);
#if PY_VERSION_HEX < 0x030c0000
	OFF("frame_is_entry", _PyInterpreterFrame, is_entry);
#else
	NONE("frame_is_entry");
#endif
	NONE("frame_gen");
	OFF("gen_iframe", PyGenObject, gi_iframe);
#endif
	printf("sizeof frame %zu # sizeof(%s)\n", sizeof(probe_frame),
	       PY_VERSION_HEX < 0x030b0000 ? "PyFrameObject" : "_PyInterpreterFrame");
}

static void code(void)
{
	OFF("code_firstlineno", PyCodeObject, co_firstlineno);
	OFF("code_filename", PyCodeObject, co_filename);
	OFF("code_name", PyCodeObject, co_name);
	OFF("code_names", PyCodeObject, co_names);
	OFF("code_argcount", PyCodeObject, co_argcount);
	OFF("code_kwonlyargcount", PyCodeObject, co_kwonlyargcount);
#if PY_VERSION_HEX < 0x030b0000
	OFF("code_localnames", PyCodeObject, co_varnames);
	OFF_FLEX("frame_args", PyFrameObject, f_localsplus);
#else
	OFF("code_localnames", PyCodeObject, co_localsplusnames);
	OFF_FLEX("frame_args", _PyInterpreterFrame, localsplus);
#endif
#if PY_VERSION_HEX < 0x030a0000
	OFF("code_linetable", PyCodeObject, co_lnotab);
#else
	OFF("code_linetable", PyCodeObject, co_linetable);
#endif
#if PY_VERSION_HEX < 0x030b0000
	NONE("code_qualname");
	NONE("code_adaptive");
	OFF("code_code", PyCodeObject, co_code);
#else
	OFF("code_qualname", PyCodeObject, co_qualname);
	OFF_FLEX("code_adaptive", PyCodeObject, co_code_adaptive);
	NONE("code_code");
#endif
	SIZEOF(PyCodeObject);
	/* The mask that turns the frame's code slot into a pointer: 3.14 made it a tagged
	 * _PyStackRef; before, it is a plain PyObject *. */
#if PY_VERSION_HEX >= 0x030e0000
	_Static_assert(
	    __builtin_types_compatible_p(__typeof__(((probe_frame *)0)->f_executable), _PyStackRef),
	    "3.14 f_executable is a _PyStackRef");
	VALUE("code_tag_mask", ~(uint64_t)Py_TAG_BITS, "~Py_TAG_BITS");
#else
	VALUE("code_tag_mask", ~(uint64_t)0, "untagged PyObject *");
#endif
}

static void unicode(void)
{
	OFF("unicode_state", PyASCIIObject, state);
	OFF("unicode_length", PyASCIIObject, length);
	VALUE("unicode_ascii_data", sizeof(PyASCIIObject), "sizeof(PyASCIIObject)");
	VALUE("unicode_compact_data", sizeof(PyCompactUnicodeObject),
	      "sizeof(PyCompactUnicodeObject)");
}

static void objects(void)
{
	static PyObject *fake[8];
	PyObject *obj = (PyObject *)&fake[6];

	(void)obj;
	OFF("type_basicsize", PyTypeObject, tp_basicsize);
	OFF("type_itemsize", PyTypeObject, tp_itemsize);
	OFF("type_flags", PyTypeObject, tp_flags);
	OFF("type_dictoffset", PyTypeObject, tp_dictoffset);
	OFF("heaptype_cached_keys", PyHeapTypeObject, ht_cached_keys);
	OFF("dict_keys", PyDictObject, ma_keys);
	OFF("dict_values", PyDictObject, ma_values);

	/* PyDictKeysObject: Objects/dict-common.h up to 3.10, which is not installed. */
#if PY_VERSION_HEX < 0x030b0000
	UNKNOWN("dictkeys_size",
		"struct _dictkeysobject is in Objects/dict-common.h (not installed)");
	UNKNOWN("dictkeys_nentries",
		"struct _dictkeysobject is in Objects/dict-common.h (not installed)");
	UNKNOWN("dictkeys_indices",
		"struct _dictkeysobject is in Objects/dict-common.h (not installed)");
	/* ma_values points straight at the values array. */
	_Static_assert(
	    __builtin_types_compatible_p(__typeof__(((PyDictObject *)0)->ma_values), PyObject **),
	    "≤3.10 ma_values is a PyObject **");
	VALUE("dictvalues_values", 0, "ma_values is the PyObject *[] itself");
	NONE("dictkeys_log2_size");
	NONE("dictkeys_log2_index_bytes");
	NONE("dictkeys_kind");
#else
	NONE("dictkeys_size");
	OFF("dictkeys_log2_size", PyDictKeysObject, dk_log2_size);
	OFF("dictkeys_log2_index_bytes", PyDictKeysObject, dk_log2_index_bytes);
	OFF("dictkeys_kind", PyDictKeysObject, dk_kind);
	OFF("dictkeys_nentries", PyDictKeysObject, dk_nentries);
	OFF_FLEX("dictkeys_indices", PyDictKeysObject, dk_indices);
	OFF_FLEX("dictvalues_values", PyDictValues, values);
#endif
#if PY_VERSION_HEX >= 0x030d0000
	OFF("dictvalues_capacity", PyDictValues, capacity);
	OFF("dictvalues_valid", PyDictValues, valid);
#else
	NONE("dictvalues_capacity");
	NONE("dictvalues_valid");
#endif

	/* Managed dicts: slots before the object, located through the header's accessors. */
#if PY_VERSION_HEX < 0x030b0000
	NONE("managed_dict");
	NONE("managed_values");
	VALUE("managed_tagged", 0, "no managed dict");
#elif PY_VERSION_HEX < 0x030c0000
	VALUE("managed_dict", slot_before(obj, _PyObject_ManagedDictPointer(obj)),
	      "obj - _PyObject_ManagedDictPointer(obj)");
	VALUE("managed_values", slot_before(obj, _PyObject_ValuesPointer(obj)),
	      "obj - _PyObject_ValuesPointer(obj)");
	VALUE("managed_tagged", 0, "separate dict and values slots");
#elif PY_VERSION_HEX < 0x030d0000
	VALUE("managed_dict", slot_before(obj, _PyObject_DictOrValuesPointer(obj)),
	      "obj - _PyObject_DictOrValuesPointer(obj)");
	NONE("managed_values");
	VALUE("managed_tagged", 1, "_PyDictOrValues");
#else
	VALUE("managed_dict", slot_before(obj, _PyObject_ManagedDictPointer(obj)),
	      "obj - _PyObject_ManagedDictPointer(obj)");
	NONE("managed_values");
	VALUE("managed_tagged", 0, "PyManagedDictPointer");
#endif

#if PY_VERSION_HEX < 0x030a0000
	UNKNOWN("module_dict", "PyModuleObject is in Objects/moduleobject.c (not installed)");
#else
	OFF("module_dict", PyModuleObject, md_dict);
#endif

#if PY_VERSION_HEX < 0x030c0000
	OFF("long_size", PyLongObject, ob_base.ob_size);
	OFF_FLEX("long_digits", PyLongObject, ob_digit);
	VALUE("long_tagged", 0, "ob_size");
#else
	OFF("long_size", PyLongObject, long_value.lv_tag);
	OFF_FLEX("long_digits", PyLongObject, long_value.ob_digit);
	VALUE("long_tagged", 1, "lv_tag");
#endif

#ifdef Py_TPFLAGS_MANAGED_DICT
	VALUE("tpflags_managed_dict", Py_TPFLAGS_MANAGED_DICT, "Py_TPFLAGS_MANAGED_DICT");
#else
	VALUE("tpflags_managed_dict", 0, "no Py_TPFLAGS_MANAGED_DICT");
#endif
#ifdef Py_TPFLAGS_INLINE_VALUES
	VALUE("tpflags_inline_values", Py_TPFLAGS_INLINE_VALUES, "Py_TPFLAGS_INLINE_VALUES");
#else
	VALUE("tpflags_inline_values", 0, "no Py_TPFLAGS_INLINE_VALUES");
#endif
}

/* What the asyncio reader walks: coroutine frames and value stacks, the containers and
 * callables that link futures to the tasks awaiting them, and 3.14's task lists. */
static void asyncio(void)
{
	OFF("type_name", PyTypeObject, tp_name);
	OFF("type_base", PyTypeObject, tp_base);
	OFF("code_flags", PyCodeObject, co_flags);
#if PY_VERSION_HEX < 0x030b0000
	NONE("code_nlocalsplus");
	OFF("gen_frame", PyGenObject, gi_frame);
	NONE("gen_frame_state");
#if PY_VERSION_HEX < 0x030a0000
	OFF("frame_stack", PyFrameObject, f_stacktop);
	NONE("frame_stackdepth");
#else
	OFF("frame_stack", PyFrameObject, f_valuestack);
	OFF("frame_stackdepth", PyFrameObject, f_stackdepth);
#endif
	NONE("frame_localsplus");
#else
	OFF("code_nlocalsplus", PyCodeObject, co_nlocalsplus);
	NONE("gen_frame");
	OFF("gen_frame_state", PyGenObject, gi_frame_state);
#if PY_VERSION_HEX < 0x030e0000
	OFF("frame_stack", _PyInterpreterFrame, stacktop);
#else
	OFF("frame_stack", _PyInterpreterFrame, stackpointer);
#endif
	NONE("frame_stackdepth");
	OFF_FLEX("frame_localsplus", _PyInterpreterFrame, localsplus);
#endif
	OFF_FLEX("tuple_items", PyTupleObject, ob_item);
	OFF("list_items", PyListObject, ob_item);
	OFF("set_mask", PySetObject, mask);
	OFF("set_table", PySetObject, table);
	OFF("weakref_object", PyWeakReference, wr_object);
	OFF("func_closure", PyFunctionObject, func_closure);
	OFF("cell_ref", PyCellObject, ob_ref);
	OFF("method_self", PyMethodObject, im_self);
	OFF("cfunc_def", PyCFunctionObject, m_ml);
	OFF("cfunc_self", PyCFunctionObject, m_self);
	OFF("methoddef_name", PyMethodDef, ml_name);
#if PY_VERSION_HEX < 0x030d0000
	NONE("tstate_state");
#else
	OFF("tstate_state", PyThreadState, state);
#endif
#if PY_VERSION_HEX < 0x030e0000
	NONE("tstate_asyncio_running_task");
	NONE("tstate_asyncio_tasks_head");
	NONE("interp_asyncio_tasks_head");
#else
	OFF("tstate_asyncio_running_task", _PyThreadStateImpl, asyncio_running_task);
	OFF("tstate_asyncio_tasks_head", _PyThreadStateImpl, asyncio_tasks_head);
	OFF("interp_asyncio_tasks_head", PyInterpreterState, asyncio_tasks_head);
#endif
	/* Defined in .c files: tests/unit/pyoffsets_check.py measures them in the interpreter. */
	UNKNOWN("partial_args", "functools.partial is in Modules/_functoolsmodule.c");
	UNKNOWN("deque_leftblock", "collections.deque is in Modules/_collectionsmodule.c");
	UNKNOWN("deque_leftindex", "collections.deque is in Modules/_collectionsmodule.c");
	UNKNOWN("asend_gen", "async_generator_asend is in Objects/genobject.c");
	UNKNOWN("wakeup_task", "TaskWakeupMethWrapper is in Modules/_asynciomodule.c");
	UNKNOWN("task_size", "TaskObj is in Modules/_asynciomodule.c");
	UNKNOWN("fut_callback0", "FutureObj is in Modules/_asynciomodule.c");
	UNKNOWN("fut_callbacks", "FutureObj is in Modules/_asynciomodule.c");
	UNKNOWN("fut_state", "FutureObj is in Modules/_asynciomodule.c");
	UNKNOWN("fut_awaited_by", "FutureObj is in Modules/_asynciomodule.c");
	UNKNOWN("fut_awaited_by_is_set", "FutureObj is in Modules/_asynciomodule.c");
	UNKNOWN("task_fut_waiter", "TaskObj is in Modules/_asynciomodule.c");
	UNKNOWN("task_coro", "TaskObj is in Modules/_asynciomodule.c");
	UNKNOWN("task_name", "TaskObj is in Modules/_asynciomodule.c");
	UNKNOWN("task_node", "TaskObj is in Modules/_asynciomodule.c");
}

int main(void)
{
	printf("version %d %d %s\n", PY_MAJOR_VERSION, PY_MINOR_VERSION, PY_VERSION);
	runtime();
	interp();
	tstate();
	frame();
	code();
	unicode();
	objects();
	asyncio();
	return 0;
}
