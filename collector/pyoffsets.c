/* collector/pyoffsets.c — the per-version layout tables.  Values are from
 * ../shared/research/offsets/out_3.X.txt (offsetof against the installed headers) and are
 * re-checked by tests/unit/test_pyoffsets.c; do not edit one without the other. */
#include "collector/pyoffsets.h"

#include <stddef.h>

#define NONE HL_OFF_NONE

/* Fields common to the PyFrameObject era (3.8–3.10). */
#define FRAMEOBJECT_ERA                                                                     \
	.tstate_next = 8, .tstate_interp = 16, .tstate_frame = 24, .tstate_thread_id = 176,  \
	.tstate_native_thread_id = NONE, .cframe_current_frame = NONE, .frame_back = 24,     \
	.frame_code = 32, .frame_owner = NONE, .frame_is_entry = NONE,                       \
	.code_firstlineno = 40, .code_filename = 104, .code_name = 112, .code_qualname = NONE, \
	.code_linetable = 120, .code_adaptive = NONE, .code_code = 48, .unicode_state = 32,  \
	.code_names = 64, .code_localnames = 72,                                           \
	.unicode_length = 16, .unicode_ascii_data = 48, .unicode_compact_data = 72,          \
	.interp_next = 0, .interp_threads_head = 8, .interp_ceval_gil = NONE,               \
	.gil_holder = 8, .gil_locked = 16, .code_tag_mask = ~0ULL

/* Objects read by symbolize/pyobject.c.  PyTypeObject, PyDictObject, PyModuleObject and the
 * int header keep their offsets on 3.8–3.14; the dict keys object, the split-table values
 * and where an instance keeps its attributes change (docs/internals.md). */
#define OBJECTS_COMMON                                                                      \
	.type_basicsize = 32, .type_itemsize = 40, .type_flags = 168, .type_dictoffset = 288, \
	.dict_keys = 32, .dict_values = 40, .module_dict = 16, .long_size = 16,             \
	.long_digits = 24
/* struct _dictkeysobject with Py_ssize_t dk_size and a dk_lookup pointer (Objects/
 * dict-common.h, not installed: measured from libpython's DWARF). */
#define OBJECTS_KEYS_38                                                                     \
	OBJECTS_COMMON, .dictkeys_size = 8, .dictkeys_log2_size = NONE,                      \
	.dictkeys_log2_index_bytes = NONE, .dictkeys_kind = NONE, .dictkeys_nentries = 32,   \
	.dictkeys_indices = 40, .dictvalues_values = 0, .dictvalues_capacity = NONE,         \
	.dictvalues_valid = NONE, .managed_dict = NONE, .managed_values = NONE,              \
	.managed_tagged = 0, .long_tagged = 0, .tpflags_managed_dict = 0,                    \
	.tpflags_inline_values = 0
/* 3.11+: uint8_t log2 sizes and dk_kind (internal/pycore_dict.h). */
#define OBJECTS_KEYS_311                                                                    \
	OBJECTS_COMMON, .dictkeys_size = NONE, .dictkeys_log2_size = 8,                      \
	.dictkeys_log2_index_bytes = 9, .dictkeys_kind = 10, .dictkeys_nentries = 24,        \
	.dictkeys_indices = 32, .managed_dict = 24, .tpflags_managed_dict = 1u << 4

/* asyncio: fields with the same offset on 3.8–3.14.  PyTypeObject, PyListObject, PySetObject,
 * PyWeakReference, PyCellObject, PyMethodObject, PyCFunctionObject and PyMethodDef from the
 * headers; functools.partial, collections.deque, async_generator_asend and the FutureObj head
 * (loop, callback0, context0, callbacks) from their .c files, measured at run time. */
#define ASYNC_COMMON                                                                        \
	.type_name = 24, .type_base = 256, .list_items = 24, .set_mask = 32, .set_table = 40, \
	.weakref_object = 16, .cell_ref = 16, .method_self = 24, .cfunc_def = 16,           \
	.cfunc_self = 24, .methoddef_name = 0, .partial_args = 24, .deque_leftblock = 24,    \
	.deque_leftindex = 40, .asend_gen = 16, .fut_callback0 = 24, .fut_callbacks = 40
/* ≤3.10: a generator points to its PyFrameObject. */
#define ASYNC_FRAMEOBJECT_ERA                                                               \
	ASYNC_COMMON, .code_flags = 36, .code_nlocalsplus = NONE, .gen_frame = 16,           \
	.gen_frame_state = NONE, .frame_localsplus = NONE, .tuple_items = 24,               \
	.tstate_state = NONE, .tstate_asyncio_running_task = NONE,                          \
	.tstate_asyncio_tasks_head = NONE, .interp_asyncio_tasks_head = NONE,               \
	.fut_awaited_by = NONE, .fut_awaited_by_is_set = NONE, .task_node = NONE
/* 3.11–3.13: the frame is embedded in the generator; no task lists, no awaited_by. */
#define ASYNC_IFRAME_ERA                                                                    \
	ASYNC_COMMON, .code_flags = 48, .gen_frame = NONE, .frame_stack = 64,               \
	.frame_stackdepth = NONE, .tuple_items = 24, .tstate_asyncio_running_task = NONE,   \
	.tstate_asyncio_tasks_head = NONE, .interp_asyncio_tasks_head = NONE,               \
	.wakeup_task = NONE, .fut_awaited_by = NONE, .fut_awaited_by_is_set = NONE,         \
	.task_node = NONE

static const struct hl_pyver table[] = {
	{
		.major = 3, .minor = 8, .frame_args = 360, .code_argcount = 16, .code_kwonlyargcount = 24, FRAMEOBJECT_ERA,
		.runtime_interpreters_head = 32, .runtime_autotsskey = 1392,
		.runtime_gil = 1152, .interp_modules = 56,
		.tstate_size = 184, .frame_lasti = 104, .frame_size = 112,
		OBJECTS_KEYS_38, .heaptype_cached_keys = 872,
		.frame_gen = 96, .gen_iframe = NONE,
		ASYNC_FRAMEOBJECT_ERA, .frame_stack = 72, .frame_stackdepth = NONE, .wakeup_task = 16,
		.func_closure = 48, .task_size = 144, .fut_state = 72, .task_fut_waiter = 104, .task_coro = 112,
		.task_name = 120,
	},
	{
		.major = 3, .minor = 9, .frame_args = 360, .code_argcount = 16, .code_kwonlyargcount = 24, FRAMEOBJECT_ERA,
		.runtime_interpreters_head = 32, .runtime_autotsskey = 584,
		.runtime_gil = 352, .interp_modules = 856,
		.tstate_size = 184, .frame_lasti = 104, .frame_size = 112,
		OBJECTS_KEYS_38, .heaptype_cached_keys = 864,
		.frame_gen = 96, .gen_iframe = NONE,
		ASYNC_FRAMEOBJECT_ERA, .frame_stack = 72, .frame_stackdepth = NONE, .wakeup_task = 16,
		.func_closure = 48, .task_size = 184, .fut_state = 80, .task_fut_waiter = 144, .task_coro = 152,
		.task_name = 160,
	},
	{
		.major = 3, .minor = 10, .frame_args = 352, .code_argcount = 16, .code_kwonlyargcount = 24, FRAMEOBJECT_ERA,
		.runtime_interpreters_head = 32, .runtime_autotsskey = 584,
		.runtime_gil = 352, .interp_modules = 856,
		.tstate_size = 184, .frame_lasti = 96, .frame_size = 104,
		OBJECTS_KEYS_38, .heaptype_cached_keys = 872,
		.frame_gen = 88, .gen_iframe = NONE,
		ASYNC_FRAMEOBJECT_ERA, .frame_stack = 64, .frame_stackdepth = 80, .wakeup_task = NONE,
		.func_closure = 72, .task_size = 192, .fut_state = 88, .task_fut_waiter = 152, .task_coro = 160,
		.task_name = 168,
	},
	{
		.major = 3, .minor = 11, .frame_args = 72, .code_argcount = 56, .code_kwonlyargcount = 64,
		.runtime_interpreters_head = 40, .runtime_autotsskey = 592, .runtime_gil = 360,
		.interp_next = 0, .interp_threads_head = 16, .interp_modules = 888,
		.interp_ceval_gil = NONE, .gil_holder = 8, .gil_locked = 16,
		.tstate_next = 8, .tstate_interp = 16, .tstate_frame = 56, .tstate_thread_id = 152,
		.tstate_native_thread_id = 160, .tstate_size = 168, .cframe_current_frame = 8,
		.frame_back = 48, .frame_code = 32, .frame_lasti = 56, .frame_owner = 69,
		.frame_is_entry = 68, .frame_size = 72,
		.code_firstlineno = 72, .code_filename = 112, .code_name = 120,
		.code_qualname = 128, .code_linetable = 136, .code_adaptive = 184, .code_names = 32, .code_localnames = 96,
		.code_code = NONE, .unicode_state = 32, .unicode_length = 16,
		.unicode_ascii_data = 48, .unicode_compact_data = 72, .code_tag_mask = ~0ULL,
		OBJECTS_KEYS_311, .heaptype_cached_keys = 872, .dictvalues_values = 0,
		.dictvalues_capacity = NONE, .dictvalues_valid = NONE, .managed_values = 32,
		.managed_tagged = 0, .long_tagged = 0, .tpflags_inline_values = 0,
		.frame_gen = NONE, .gen_iframe = 80,
		ASYNC_IFRAME_ERA, .code_nlocalsplus = 76, .gen_frame_state = 75, .frame_localsplus = 72,
		.tstate_state = NONE, .func_closure = 72, .task_size = 176, .fut_state = 88, .task_fut_waiter = 128,
		.task_coro = 136, .task_name = 144,
	},
	{
		.major = 3, .minor = 12, .frame_args = 72, .code_argcount = 52, .code_kwonlyargcount = 60,
		.runtime_interpreters_head = 40, .runtime_autotsskey = 1544, .runtime_gil = NONE,
		.interp_next = 0, .interp_threads_head = 72, .interp_modules = 944,
		.interp_ceval_gil = 384, .gil_holder = 8, .gil_locked = 16,
		.tstate_next = 8, .tstate_interp = 16, .tstate_frame = 56, .tstate_thread_id = 136,
		.tstate_native_thread_id = 144, .tstate_size = 152, .cframe_current_frame = 0,
		.frame_back = 8, .frame_code = 0, .frame_lasti = 56, .frame_owner = 70,
		.frame_is_entry = NONE, .frame_size = 72,
		.code_firstlineno = 68, .code_filename = 112, .code_name = 120,
		.code_qualname = 128, .code_linetable = 136, .code_adaptive = 192, .code_names = 32, .code_localnames = 96,
		.code_code = NONE, .unicode_state = 32, .unicode_length = 16,
		.unicode_ascii_data = 40, .unicode_compact_data = 56, .code_tag_mask = ~0ULL,
		OBJECTS_KEYS_311, .heaptype_cached_keys = 880, .dictvalues_values = 0,
		.dictvalues_capacity = NONE, .dictvalues_valid = NONE, .managed_values = NONE,
		.managed_tagged = 1, .long_tagged = 1, .tpflags_inline_values = 0,
		.frame_gen = NONE, .gen_iframe = 72,
		ASYNC_IFRAME_ERA, .code_nlocalsplus = 72, .gen_frame_state = 67, .frame_localsplus = 72,
		.tstate_state = NONE, .func_closure = 72, .task_size = 176, .fut_state = 88, .task_fut_waiter = 128,
		.task_coro = 136, .task_name = 144,
	},
	{
		.major = 3, .minor = 13, .frame_args = 72, .code_argcount = 52, .code_kwonlyargcount = 60,
		.runtime_interpreters_head = 632, .runtime_autotsskey = 2160, .runtime_gil = NONE,
		.interp_next = 7264, .interp_threads_head = 7344, .interp_modules = 7656,
		.interp_ceval_gil = 16, .gil_holder = 8, .gil_locked = 16,
		.tstate_next = 8, .tstate_interp = 16, .tstate_frame = 72, .tstate_thread_id = 152,
		.tstate_native_thread_id = 160, .tstate_size = 168, .cframe_current_frame = NONE,
		.frame_back = 8, .frame_code = 0, .frame_lasti = 56, .frame_owner = 70,
		.frame_is_entry = NONE, .frame_size = 72,
		.code_firstlineno = 68, .code_filename = 112, .code_name = 120,
		.code_qualname = 128, .code_linetable = 136, .code_adaptive = 200, .code_names = 32, .code_localnames = 96,
		.code_code = NONE, .unicode_state = 32, .unicode_length = 16,
		.unicode_ascii_data = 40, .unicode_compact_data = 56, .code_tag_mask = ~0ULL,
		OBJECTS_KEYS_311, .heaptype_cached_keys = 880, .dictvalues_values = 8,
		.dictvalues_capacity = 0, .dictvalues_valid = 3, .managed_values = NONE,
		.managed_tagged = 0, .long_tagged = 1, .tpflags_inline_values = 1u << 2,
		.frame_gen = NONE, .gen_iframe = 72,
		ASYNC_IFRAME_ERA, .code_nlocalsplus = 72, .gen_frame_state = 67, .frame_localsplus = 72,
		.tstate_state = 40, .func_closure = 72, .task_size = 144, .fut_state = 96, .task_fut_waiter = 112,
		.task_coro = 120, .task_name = 128,
	},
	{
		.major = 3, .minor = 14, .frame_args = 80, .code_argcount = 52, .code_kwonlyargcount = 60,
		.runtime_interpreters_head = 808, .runtime_autotsskey = 2336, .runtime_gil = NONE,
		.interp_next = 7272, .interp_threads_head = 7344, .interp_modules = 7688,
		.interp_ceval_gil = 16, .gil_holder = 8, .gil_locked = 16,
		.tstate_next = 8, .tstate_interp = 16, .tstate_frame = 72, .tstate_thread_id = 152,
		.tstate_native_thread_id = 160, .tstate_size = 168, .cframe_current_frame = NONE,
		.frame_back = 8, .frame_code = 0, .frame_lasti = 56, .frame_owner = 74,
		.frame_is_entry = NONE, .frame_size = 80,
		.code_firstlineno = 68, .code_filename = 112, .code_name = 120,
		.code_qualname = 128, .code_linetable = 136, .code_adaptive = 208, .code_names = 32, .code_localnames = 96,
		.code_code = NONE, .unicode_state = 32, .unicode_length = 16,
		.unicode_ascii_data = 40, .unicode_compact_data = 56,
		/* _PyStackRef: Py_TAG_BITS = 3 in GIL builds. */
		.code_tag_mask = ~3ULL,
		OBJECTS_KEYS_311, .heaptype_cached_keys = 880, .dictvalues_values = 8,
		.dictvalues_capacity = 0, .dictvalues_valid = 3, .managed_values = NONE,
		.managed_tagged = 0, .long_tagged = 1, .tpflags_inline_values = 1u << 2,
		.frame_gen = NONE, .gen_iframe = 72,
		ASYNC_COMMON, .code_flags = 48, .code_nlocalsplus = 72, .gen_frame = NONE,
		.gen_frame_state = 67, .frame_stack = 64, .frame_stackdepth = NONE,
		.frame_localsplus = 80, .tuple_items = 32, .tstate_state = 44,
		.tstate_asyncio_running_task = 872, .tstate_asyncio_tasks_head = 880,
		.interp_asyncio_tasks_head = 10880, .wakeup_task = NONE, .func_closure = 72,
		.task_size = 168,
		.fut_state = 104, .fut_awaited_by = 96, .fut_awaited_by_is_set = 109,
		.task_fut_waiter = 120, .task_coro = 128, .task_name = 136, .task_node = 152,
	},
};

const struct hl_pyver *hl_pyver_find(unsigned major, unsigned minor)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].major == major && table[i].minor == minor)
			return &table[i];
	return NULL;
}

void hl_pyver_to_bpf(const struct hl_pyver *v, struct hl_py_offsets *o)
{
	o->tstate_interp = v->tstate_interp;
	o->tstate_frame = v->tstate_frame;
	o->tstate_thread_id = v->tstate_thread_id;
	o->cframe_current_frame = v->cframe_current_frame;
	o->frame_back = v->frame_back;
	o->frame_code = v->frame_code;
	o->frame_lasti = v->frame_lasti;
	o->frame_owner = v->frame_owner;
	o->frame_is_entry = v->frame_is_entry;
	o->frame_gen = v->frame_gen;
	o->gen_iframe = v->gen_iframe;
	o->code_adaptive = v->code_adaptive;
	/* Eight aligned bytes holding co_firstlineno: immutable, and different for most pairs
	 * of code objects that could share an address over time. */
	o->code_fingerprint = v->code_firstlineno & ~7u;
	o->code_name = v->code_qualname != NONE ? v->code_qualname : v->code_name;
	o->code_filename = v->code_filename;
	o->code_firstlineno = v->code_firstlineno;
	o->code_linetable = v->code_linetable;
	o->unicode_length = v->unicode_length;
	o->unicode_state = v->unicode_state;
	o->unicode_ascii_data = v->unicode_ascii_data;
	o->unicode_compact_data = v->unicode_compact_data;
	o->tstate_size = v->tstate_size;
	o->frame_size = v->frame_size;
	o->frame_args = v->frame_args;
	o->lasti_kind = (uint8_t)hl_pyver_lasti_kind(v);
	o->frame_root = v->cframe_current_frame != NONE ? HL_ROOT_CFRAME : HL_ROOT_DIRECT;
	if (v->runtime_gil != NONE) {
		o->gil_kind = HL_GIL_RUNTIME;
		o->gil_off = (uint16_t)v->runtime_gil;
	} else {
		o->gil_kind = HL_GIL_INTERP;
		o->gil_off = (uint16_t)v->interp_ceval_gil;
	}
	o->gil_holder = v->gil_holder;
	o->gil_locked = v->gil_locked;
	/* 3.12+ owner enum: 3 is the C-stack shim (3.12–3.13) or the interpreter-owned entry
	 * frame (3.14); 3.14's CSTACK is 4.  Both mark eval-call boundaries, not code. */
	o->owner_shim_min = v->minor >= 12 ? 3 : 0xff;
	o->code_tag_mask = v->code_tag_mask;
}
