/* collector/pyoffsets.h — CPython struct layouts per minor version (3.8–3.14, x86-64 glibc,
 * release builds with the GIL).
 *
 * Up to 3.12 these tables are the only source; they were measured with offsetof against each
 * version's headers (../shared/research/offsets/) and tests/unit/test_pyoffsets.c checks
 * them against the headers of every interpreter installed here.  From 3.13 the interpreter
 * publishes its own layout in _Py_DebugOffsets: python.c reads that and overrides these
 * values, so a patch release that moves a field is still read right.
 *
 * HL_OFF_NONE (0xffff) marks a field the version does not have.
 */
#pragma once
#include <stdint.h>

#include "collector/sample.h"

struct hl_pyver {
	uint8_t major, minor;

	/* _PyRuntimeState */
	uint32_t runtime_interpreters_head;
	uint32_t runtime_autotsskey; /* Py_tss_t: int _is_initialized; pthread_key_t _key */
	uint32_t runtime_gil;	     /* ≤3.11: the embedded struct _gil_runtime_state */

	/* PyInterpreterState */
	uint32_t interp_next;
	uint32_t interp_threads_head;
	uint32_t interp_modules; /* sys.modules dict */
	uint32_t interp_ceval_gil; /* 3.12+: pointer to the GIL in use */

	/* struct _gil_runtime_state */
	uint16_t gil_holder;
	uint16_t gil_locked;

	/* PyThreadState */
	uint16_t tstate_next;
	uint16_t tstate_interp;
	uint16_t tstate_frame; /* frame / cframe / current_frame */
	uint16_t tstate_thread_id;
	uint16_t tstate_native_thread_id; /* 3.11+ */
	uint16_t tstate_size;		  /* bytes the sampler reads */
	uint16_t cframe_current_frame;	  /* 3.11–3.12 */

	/* PyFrameObject (≤3.10) / _PyInterpreterFrame (3.11+) */
	uint16_t frame_back;
	uint16_t frame_code;
	uint16_t frame_lasti;
	uint16_t frame_owner;
	uint16_t frame_is_entry;
	uint16_t frame_size; /* bytes the sampler reads */
	uint16_t frame_args; /* the local slots, arguments first: ≤3.10 f_localsplus, 3.11+
				localsplus */

	/* PyCodeObject */
	uint16_t code_firstlineno;
	uint16_t code_filename;
	uint16_t code_name;
	uint16_t code_qualname; /* 3.11+ */
	uint16_t code_linetable; /* co_lnotab ≤3.9, co_linetable 3.10+ */
	uint16_t code_adaptive;	/* 3.11+ co_code_adaptive */
	uint16_t code_code;	/* ≤3.10 co_code (bytes) */
	uint16_t code_names;	/* co_names (tuple of str): names of globals and attributes */
	uint16_t code_localnames; /* ≤3.10 co_varnames, 3.11+ co_localsplusnames (tuple) */
	uint16_t code_argcount;	/* co_argcount (int), positional arguments */
	uint16_t code_kwonlyargcount; /* co_kwonlyargcount (int) */

	/* str */
	uint16_t unicode_state;
	uint16_t unicode_length;
	uint16_t unicode_ascii_data;   /* sizeof(PyASCIIObject) */
	uint16_t unicode_compact_data; /* sizeof(PyCompactUnicodeObject) */

	/* 3.14 tags f_executable (_PyStackRef): mask before dereferencing. */
	uint64_t code_tag_mask;

	/* Objects read by symbolize/pyobject.c: dicts, instance attributes, modules, ints.
	 * Sources and measurements: docs/internals.md, "Dicts, instance attributes, ints". */
	uint16_t type_basicsize;   /* PyTypeObject.tp_basicsize */
	uint16_t type_itemsize;	   /* tp_itemsize */
	uint16_t type_flags;	   /* tp_flags */
	uint16_t type_dictoffset;  /* tp_dictoffset */
	uint16_t heaptype_cached_keys; /* PyHeapTypeObject.ht_cached_keys (shared keys) */
	uint16_t dict_keys;	   /* PyDictObject.ma_keys */
	uint16_t dict_values;	   /* ma_values, non-NULL for split tables */
	uint16_t dictkeys_size;	   /* ≤3.10: Py_ssize_t dk_size */
	uint16_t dictkeys_log2_size; /* 3.11+: uint8_t dk_log2_size */
	uint16_t dictkeys_log2_index_bytes; /* 3.11+: uint8_t */
	uint16_t dictkeys_kind;	   /* 3.11+: uint8_t, general / unicode / split */
	uint16_t dictkeys_nentries;
	uint16_t dictkeys_indices; /* dk_indices[]: the hash index, then the entries */
	uint16_t dictvalues_values; /* PyDictValues.values[] */
	uint16_t dictvalues_capacity; /* 3.13+: uint8_t */
	uint16_t dictvalues_valid;  /* 3.13+: uint8_t, 0 once the values moved to a dict */
	uint16_t managed_dict;	   /* 3.11+: bytes *before* the object of its dict slot */
	uint16_t managed_values;   /* 3.11 only: bytes before the object of its values slot */
	uint16_t module_dict;	   /* PyModuleObject.md_dict */
	uint16_t long_size;	   /* ob_size (≤3.11) or lv_tag (3.12+) */
	uint16_t long_digits;	   /* ob_digit[], 30-bit digits */
	uint8_t managed_tagged;	   /* 3.12: the dict slot is _PyDictOrValues (bit 0: values) */
	uint8_t long_tagged;	   /* 3.12+: long_size is lv_tag, not a signed digit count */
	uint32_t tpflags_managed_dict; /* Py_TPFLAGS_MANAGED_DICT (3.11+), else 0 */
	uint32_t tpflags_inline_values; /* Py_TPFLAGS_INLINE_VALUES (3.13+), else 0 */

	/* Generators and coroutines: which one a frame belongs to (asyncio stacks). */
	uint16_t frame_gen;  /* ≤3.10: PyFrameObject.f_gen */
	uint16_t gen_iframe; /* 3.11+: the _PyInterpreterFrame embedded in PyGenObject */

	/* asyncio logical stacks and `hotloop dump` (symbolize/asyncio.c, symbolize/pystack.c):
	 * coroutine await chains, futures, tasks and the callbacks that link them.  Sources and
	 * measurements: docs/internals.md, "asyncio". */
	uint16_t type_name;	   /* PyTypeObject.tp_name (const char *) */
	uint16_t type_base;	   /* tp_base */
	uint16_t code_flags;	   /* co_flags (int): CO_COROUTINE, CO_ITERABLE_COROUTINE */
	uint16_t code_nlocalsplus; /* 3.11+ co_nlocalsplus (int) */
	uint16_t gen_frame;	   /* ≤3.10 gi_frame / cr_frame (PyFrameObject *) */
	uint16_t gen_frame_state;  /* 3.11+ gi_frame_state (int8_t) */
	uint16_t frame_stack;	   /* value stack: ≤3.9 f_stacktop, 3.10 f_valuestack (pointers),
				      3.11–3.13 stacktop (int, slots from localsplus), 3.14
				      stackpointer (pointer) */
	uint16_t frame_stackdepth; /* 3.10 f_stackdepth (int) */
	uint16_t frame_localsplus; /* 3.11+ localsplus[] */
	uint16_t tuple_items;	   /* PyTupleObject.ob_item[] */
	uint16_t list_items;	   /* PyListObject.ob_item (PyObject **); ob_size at 16 */
	uint16_t set_mask;	   /* PySetObject.mask */
	uint16_t set_table;	   /* PySetObject.table: {key, hash} entries */
	uint16_t weakref_object;   /* PyWeakReference.wr_object */
	uint16_t func_closure;	   /* PyFunctionObject.func_closure (tuple of cells) */
	uint16_t cell_ref;	   /* PyCellObject.ob_ref */
	uint16_t method_self;	   /* PyMethodObject.im_self (a bound method's instance) */
	uint16_t cfunc_def;	   /* PyCFunctionObject.m_ml (PyMethodDef *) */
	uint16_t cfunc_self;	   /* PyCFunctionObject.m_self */
	uint16_t methoddef_name;   /* PyMethodDef.ml_name (const char *) */
	uint16_t tstate_state;	   /* 3.13+ PyThreadState.state: attached, detached, suspended */
	uint16_t tstate_asyncio_running_task; /* 3.14 _PyThreadStateImpl.asyncio_running_task */
	uint16_t tstate_asyncio_tasks_head;   /* 3.14 _PyThreadStateImpl.asyncio_tasks_head */
	uint16_t interp_asyncio_tasks_head;   /* 3.14 PyInterpreterState.asyncio_tasks_head */
	/* Structs of .c files (not in any installed header): measured in a live interpreter by
	 * tests/unit/asyncio_offsets_check.py; 3.14 takes the task fields from the .AsyncioDebug
	 * section of _asyncio at run time. */
	uint16_t partial_args;	   /* functools.partial: args (tuple) */
	uint16_t deque_leftblock;  /* collections.deque: leftblock; a block's data[] is at 8 */
	uint16_t deque_leftindex;  /* collections.deque: leftindex (Py_ssize_t) */
	uint16_t asend_gen;	   /* async_generator_asend: ags_gen */
	uint16_t wakeup_task;	   /* 3.8–3.9 TaskWakeupMethWrapper.ww_task (3.10+: a
				      PyCFunction whose m_self is the task) */
	uint16_t task_size;	   /* sizeof(TaskObj): bytes read per task */
	uint16_t fut_callback0;	   /* FutureObj: first done callback */
	uint16_t fut_callbacks;	   /* ... the others: a list of (callback, context) tuples */
	uint16_t fut_state;	   /* fut_state enum (int): PENDING 0, CANCELLED 1, FINISHED 2 */
	uint16_t fut_awaited_by;   /* 3.14: the awaiting task, or a set of them */
	uint16_t fut_awaited_by_is_set; /* 3.14: char */
	uint16_t task_fut_waiter;  /* TaskObj: the future the task waits for */
	uint16_t task_coro;
	uint16_t task_name;	   /* str, or (3.12+, default names) an int N for "Task-N" */
	uint16_t task_node;	   /* 3.14: struct llist_node in the thread's task list */
};

/* The table entry for @major.@minor, or NULL when the version is not supported. */
const struct hl_pyver *hl_pyver_find(unsigned major, unsigned minor);

/* Fills the sampler's view of the offsets (struct hl_py_offsets, collector/sample.h). */
void hl_pyver_to_bpf(const struct hl_pyver *v, struct hl_py_offsets *out);

/* The frame-walk details that differ by version but are not struct offsets. */
static inline int hl_pyver_lasti_kind(const struct hl_pyver *v)
{
	return v->minor >= 11 ? HL_LASTI_PTR : HL_LASTI_INT;
}
