/* report/costclass.c — see costclass.h.  The table below is the classification: edit it, and
 * its rows in tests/unit/test_costclass.c, when a CPython release renames its internals.
 *
 * Rows are tried in order and the first match wins, so specific rows come before broad ones
 * (unicode_compare_eq is a comparison before unicode_* is "other").  Patterns are fnmatch(3)
 * globs on the symbol name.  Inline frames carry their own names (the symbolizer emits one
 * frame per inlined function), so Py_DECREF inlined into the eval loop is refcounting, not
 * dispatch.
 */
#define _GNU_SOURCE
#include "report/costclass.h"
#include "schema/store.h"

#include <fnmatch.h>
#include <string.h>

#define ALL 0, 99 /* every version 3.8 .. 3.14 and later */

struct cost_row {
	const char *pattern;
	enum hl_cost cost;
	int min_minor, max_minor; /* CPython 3.min .. 3.max */
};

static const struct cost_row rows[] = {
	/* Helpers that only say where the caller was: the caller decides. */
	{"__tls_get_addr*", HL_COST_PASS, ALL},
	{"_PyInterpreterState_GET", HL_COST_PASS, ALL},
	{"_PyThreadState_GET", HL_COST_PASS, ALL},
	{"PyThreadState_Get", HL_COST_PASS, ALL},
	{"_PyRuntimeState_GetThreadState", HL_COST_PASS, ALL},
	{"current_fast_get", HL_COST_PASS, 12, 99},
	{"pthread_getspecific", HL_COST_PASS, ALL},
	{"Py_TYPE", HL_COST_PASS, ALL},
	{"_Py_TYPE", HL_COST_PASS, ALL},
	{"Py_SIZE", HL_COST_PASS, ALL},
	{"Py_IS_TYPE", HL_COST_PASS, ALL},
	{"_Py_IS_TYPE", HL_COST_PASS, ALL},
	{"_Py_atomic_*", HL_COST_PASS, ALL},
	{"PyType_HasFeature", HL_COST_PASS, ALL},
	{"_PyType_HasFeature", HL_COST_PASS, ALL},
	{"_PyObject_CAST*", HL_COST_PASS, ALL},
	{"PyTuple_GET_*", HL_COST_PASS, ALL},
	{"PyList_GET_*", HL_COST_PASS, ALL},
	{"PyTuple_SET_ITEM", HL_COST_PASS, ALL},
	{"PyList_SET_ITEM", HL_COST_PASS, ALL},
	{"_PyErr_Occurred", HL_COST_PASS, ALL},
	{"PyErr_Occurred", HL_COST_PASS, ALL},
	{"_PyInterpreterState_Main", HL_COST_PASS, ALL},
	{"_PyThreadState_UncheckedGet", HL_COST_PASS, ALL},
	{"get_state", HL_COST_PASS, ALL},
	{"get_gc_state", HL_COST_PASS, ALL},
	{"has_own_state", HL_COST_PASS, ALL},

	/* Real work that lives inside the interpreter's binary (built-in modules), or whose
	 * names would otherwise match a broad overhead row below. */
	{"*memcpy*", HL_COST_REAL, ALL},
	{"*memmove*", HL_COST_REAL, ALL},
	{"*memset*", HL_COST_REAL, ALL},
	{"*memcmp*", HL_COST_REAL, ALL},
	{"*memchr*", HL_COST_REAL, ALL},
	{"__strlen*", HL_COST_REAL, ALL},
	{"bcmp", HL_COST_REAL, ALL},
	{"sre_*", HL_COST_REAL, ALL},
	{"_sre_*", HL_COST_REAL, ALL},
	{"SRE_*", HL_COST_REAL, ALL},
	{"pattern_*", HL_COST_REAL, ALL},
	{"deflate*", HL_COST_REAL, ALL},
	{"inflate*", HL_COST_REAL, ALL},
	{"longest_match", HL_COST_REAL, ALL},
	{"fill_window", HL_COST_REAL, ALL},
	{"compress_block", HL_COST_REAL, ALL},
	{"adler32*", HL_COST_REAL, ALL},
	{"crc32*", HL_COST_REAL, ALL},
	{"zlib_*", HL_COST_REAL, ALL},
	{"_tr_*", HL_COST_REAL, ALL},
	{"SHA*", HL_COST_REAL, ALL},
	{"sha*_*", HL_COST_REAL, ALL},
	{"_sha*", HL_COST_REAL, ALL},
	{"MD5*", HL_COST_REAL, ALL},
	{"md5_*", HL_COST_REAL, ALL},
	{"_md5_*", HL_COST_REAL, ALL},
	{"blake2*", HL_COST_REAL, ALL},
	{"_blake2*", HL_COST_REAL, ALL},
	{"Hacl_*", HL_COST_REAL, 12, 99},
	{"EVP_*", HL_COST_REAL, ALL},
	{"_hashlib_*", HL_COST_REAL, ALL},
	{"bytes_join", HL_COST_REAL, ALL},
	{"_PyBytes_Join", HL_COST_REAL, ALL},
	{"stringlib_*", HL_COST_REAL, ALL},
	{"PyUnicode_Join", HL_COST_REAL, ALL},
	{"_PyUnicode_JoinArray", HL_COST_REAL, ALL},
	{"*fastsearch*", HL_COST_REAL, ALL},
	{"list_sort*", HL_COST_REAL, ALL},
	{"unsafe_*_compare", HL_COST_REAL, ALL},
	{"gallop_*", HL_COST_REAL, ALL},
	{"merge_*", HL_COST_REAL, ALL},
	{"binarysort", HL_COST_REAL, ALL},
	{"_Py_read", HL_COST_REAL, ALL},
	{"_Py_write*", HL_COST_REAL, ALL},
	{"os_*", HL_COST_REAL, ALL},
	{"_io_*", HL_COST_REAL, ALL},
	{"_bufferedreader_*", HL_COST_REAL, ALL},
	{"_bufferedwriter_*", HL_COST_REAL, ALL},
	{"sock_*", HL_COST_REAL, ALL},
	{"time_sleep", HL_COST_REAL, ALL},
	{"pysleep", HL_COST_REAL, ALL},
	{"select_*", HL_COST_REAL, ALL},

	/* The bytecode loop. */
	{"_PyEval_EvalFrameDefault*", HL_COST_DISPATCH, ALL},
	{"_Py_HandlePending", HL_COST_DISPATCH, 12, 99},
	{"eval_frame_handle_pending", HL_COST_DISPATCH, ALL},
	{"_Py_Specialize_*", HL_COST_DISPATCH, 11, 99},
	{"_PyCode_Quicken", HL_COST_DISPATCH, 11, 99},
	{"_Py_CheckRecursiveCall", HL_COST_DISPATCH, ALL},
	{"_Py_EnterRecursive*", HL_COST_DISPATCH, ALL},
	{"_Py_LeaveRecursive*", HL_COST_DISPATCH, ALL},
	{"_Py_MakeRecCheck", HL_COST_DISPATCH, ALL},
	{"read_u16", HL_COST_DISPATCH, 11, 99},
	{"read_u32", HL_COST_DISPATCH, 11, 99},
	{"read_u64", HL_COST_DISPATCH, 11, 99},
	{"read_obj", HL_COST_DISPATCH, 11, 99},

	/* Calls. */
	{"_PyEval_EvalFrame", HL_COST_CALL, ALL},
	{"_PyEval_Vector", HL_COST_CALL, 10, 99},
	{"_PyEval_EvalCode*", HL_COST_CALL, 8, 10},
	{"_PyFunction_Vectorcall", HL_COST_CALL, ALL},
	{"_PyFunction_FastCall*", HL_COST_CALL, 8, 9},
	{"function_code_fastcall", HL_COST_CALL, 8, 9},
	{"method_vectorcall*", HL_COST_CALL, ALL},
	{"*_vectorcall", HL_COST_CALL, ALL},
	{"_PyObject_Vectorcall*", HL_COST_CALL, ALL},
	{"PyObject_Vectorcall*", HL_COST_CALL, ALL},
	{"_PyObject_MakeTpCall", HL_COST_CALL, ALL},
	{"_PyObject_Call*", HL_COST_CALL, ALL},
	{"PyObject_Call*", HL_COST_CALL, ALL},
	{"_PyObject_FastCall*", HL_COST_CALL, ALL},
	{"cfunction_*", HL_COST_CALL, ALL},
	{"_PyCFunction_*", HL_COST_CALL, ALL},
	{"vectorcall_*", HL_COST_CALL, ALL},
	{"_PyStack_*", HL_COST_CALL, ALL},
	{"_Py_CheckFunctionResult", HL_COST_CALL, ALL},
	{"_PyFrame_*", HL_COST_CALL, ALL},
	{"_PyEvalFramePushAndInit*", HL_COST_CALL, 11, 99},
	{"_PyEvalFrameClearAndPop", HL_COST_CALL, 11, 99},
	{"_PyEval_FrameClearAndPop", HL_COST_CALL, 12, 99},
	{"clear_thread_frame", HL_COST_CALL, 12, 99},
	{"clear_gen_frame", HL_COST_CALL, 12, 99},
	{"_PyThreadState_PushFrame", HL_COST_CALL, 11, 99},
	{"_PyThreadState_PopFrame", HL_COST_CALL, 11, 99},
	{"_PyThreadState_BumpFramePointer*", HL_COST_CALL, 11, 99},
	{"initialize_locals", HL_COST_CALL, 11, 99},
	{"PyFrame_New", HL_COST_CALL, 8, 10},
	{"_PyFrame_New_NoTrack", HL_COST_CALL, 8, 10},
	{"frame_dealloc", HL_COST_CALL, 8, 10},
	{"call_function", HL_COST_CALL, 8, 10},
	{"slot_tp_call", HL_COST_CALL, ALL},
	{"method_*", HL_COST_CALL, ALL},
	{"PyFunction_New*", HL_COST_CALL, ALL},
	{"func_dealloc", HL_COST_CALL, ALL},
	{"_PyVectorcall_*", HL_COST_CALL, ALL},
	{"PyVectorcall_*", HL_COST_CALL, ALL},
	{"type_call", HL_COST_CALL, ALL},
	{"object_vacall", HL_COST_CALL, ALL},
	{"PyMethod_New", HL_COST_CALL, ALL},
	{"take_ownership", HL_COST_CALL, 11, 99},
	{"_PyEval_BuiltinsFromGlobals", HL_COST_CALL, 10, 99},

	/* Attribute, name and method lookup; dict probes; type checks. */
	{"PyObject_GetAttr*", HL_COST_LOOKUP, ALL},
	{"_PyObject_GetAttr*", HL_COST_LOOKUP, ALL},
	{"PyObject_GenericGetAttr", HL_COST_LOOKUP, ALL},
	{"_PyObject_GenericGetAttrWithDict", HL_COST_LOOKUP, ALL},
	{"PyObject_SetAttr*", HL_COST_LOOKUP, ALL},
	{"_PyObject_GenericSetAttrWithDict", HL_COST_LOOKUP, ALL},
	{"PyObject_GenericSetAttr", HL_COST_LOOKUP, ALL},
	{"_PyObject_GetMethod", HL_COST_LOOKUP, ALL},
	{"_PyObject_LookupAttr*", HL_COST_LOOKUP, ALL},
	{"_PyObject_TryGetInstanceAttribute", HL_COST_LOOKUP, 12, 99},
	{"_PyObject_GetInstanceDict", HL_COST_LOOKUP, ALL},
	{"_PyObject_GetDictPtr", HL_COST_LOOKUP, ALL},
	{"_PyObjectDict_SetItem", HL_COST_LOOKUP, ALL},
	{"_PyType_Lookup*", HL_COST_LOOKUP, ALL},
	{"find_name_in_mro", HL_COST_LOOKUP, ALL},
	{"_PyDict_LoadGlobal", HL_COST_LOOKUP, ALL},
	{"_Py_dict_lookup*", HL_COST_LOOKUP, 11, 99},
	{"lookdict*", HL_COST_LOOKUP, ALL},
	{"unicodekeys_lookup_*", HL_COST_LOOKUP, 11, 99},
	{"dictkeys_*", HL_COST_LOOKUP, ALL},
	{"_PyDict_GetItem*", HL_COST_LOOKUP, ALL},
	{"PyDict_GetItem*", HL_COST_LOOKUP, ALL},
	{"_PyDict_SetItem*", HL_COST_LOOKUP, ALL},
	{"PyDict_SetItem*", HL_COST_LOOKUP, ALL},
	{"insertdict", HL_COST_LOOKUP, ALL},
	{"unicode_eq", HL_COST_LOOKUP, ALL},
	{"member_get", HL_COST_LOOKUP, ALL},
	{"PyMember_GetOne", HL_COST_LOOKUP, ALL},
	{"property_descr_get", HL_COST_LOOKUP, ALL},
	{"slot_tp_getattr*", HL_COST_LOOKUP, ALL},
	{"PyType_IsSubtype", HL_COST_LOOKUP, ALL},
	{"PyObject_IsInstance", HL_COST_LOOKUP, ALL},
	{"builtin_isinstance*", HL_COST_LOOKUP, ALL},
	{"builtin_getattr*", HL_COST_LOOKUP, ALL},
	{"builtin_hasattr*", HL_COST_LOOKUP, ALL},
	{"object_isinstance", HL_COST_LOOKUP, ALL},
	{"object_recursive_isinstance", HL_COST_LOOKUP, ALL},
	{"recursive_isinstance", HL_COST_LOOKUP, ALL},
	{"PyObject_TypeCheck", HL_COST_LOOKUP, ALL},

	/* Comparisons and truth tests. */
	{"PyObject_RichCompare*", HL_COST_COMPARE, ALL},
	{"do_richcompare", HL_COST_COMPARE, ALL},
	{"*_richcompare", HL_COST_COMPARE, ALL},
	{"*richcompare", HL_COST_COMPARE, ALL},
	{"long_compare", HL_COST_COMPARE, ALL},
	{"unicode_compare*", HL_COST_COMPARE, ALL},
	{"_PyUnicode_Equal", HL_COST_COMPARE, ALL},
	{"PyUnicode_Compare", HL_COST_COMPARE, ALL},
	{"PyObject_IsTrue", HL_COST_COMPARE, ALL},
	{"PyObject_Not", HL_COST_COMPARE, ALL},
	{"bool_*", HL_COST_COMPARE, ALL},

	/* Iteration, generators and the builtins that drive them. */
	{"zip_*", HL_COST_ITERATION, ALL},
	{"builtin_zip*", HL_COST_ITERATION, ALL},
	{"builtin_all", HL_COST_ITERATION, ALL},
	{"builtin_any", HL_COST_ITERATION, ALL},
	{"builtin_map*", HL_COST_ITERATION, ALL},
	{"builtin_filter*", HL_COST_ITERATION, ALL},
	{"builtin_sum*", HL_COST_ITERATION, ALL},
	{"builtin_min*", HL_COST_ITERATION, ALL},
	{"builtin_max*", HL_COST_ITERATION, ALL},
	{"min_max", HL_COST_ITERATION, ALL},
	{"map_*", HL_COST_ITERATION, ALL},
	{"filter_*", HL_COST_ITERATION, ALL},
	{"enum_*", HL_COST_ITERATION, ALL},
	{"reversed_*", HL_COST_ITERATION, ALL},
	{"gen_*", HL_COST_ITERATION, ALL},
	{"_PyGen_*", HL_COST_ITERATION, ALL},
	{"PyGen_*", HL_COST_ITERATION, ALL},
	{"make_gen", HL_COST_ITERATION, 11, 99},
	{"_Py_MakeCoro", HL_COST_ITERATION, 11, 99},
	{"compute_cr_origin", HL_COST_ITERATION, ALL},
	{"coro_*", HL_COST_ITERATION, ALL},
	{"_PyCoro_*", HL_COST_ITERATION, ALL},
	{"PyIter_*", HL_COST_ITERATION, ALL},
	{"_PyIter_*", HL_COST_ITERATION, ALL},
	{"PyObject_GetIter", HL_COST_ITERATION, ALL},
	{"*iter_next", HL_COST_ITERATION, ALL},
	{"*iter_iternext", HL_COST_ITERATION, ALL},
	{"*iter_dealloc", HL_COST_ITERATION, ALL},
	{"list_iter", HL_COST_ITERATION, ALL},
	{"tuple_iter", HL_COST_ITERATION, ALL},
	{"range_iter", HL_COST_ITERATION, ALL},
	{"dict_iter", HL_COST_ITERATION, ALL},
	{"product_*", HL_COST_ITERATION, ALL},
	{"chain_*", HL_COST_ITERATION, ALL},
	{"islice_*", HL_COST_ITERATION, ALL},
	{"count_next", HL_COST_ITERATION, ALL},
	{"repeat_next", HL_COST_ITERATION, ALL},
	{"starmap_*", HL_COST_ITERATION, ALL},
	/* Exception machinery.  In hot generic code it is the iteration protocol: StopIteration
	 * ending an iterator, GeneratorExit closing a generator that all()/any() left early.
	 * A function that raises for its own reasons also lands here: docs/candidates.md. */
	{"_PyErr_*", HL_COST_ITERATION, ALL},
	{"PyErr_*", HL_COST_ITERATION, ALL},
	{"BaseException_*", HL_COST_ITERATION, ALL},
	{"StopIteration_*", HL_COST_ITERATION, ALL},
	{"stopiteration_error", HL_COST_ITERATION, 12, 99},
	{"PyTraceBack_*", HL_COST_ITERATION, ALL},
	{"_PyTraceBack_*", HL_COST_ITERATION, ALL},
	{"tb_*", HL_COST_ITERATION, ALL},
	{"_PyException_*", HL_COST_ITERATION, ALL},
	{"PyException_*", HL_COST_ITERATION, ALL},

	/* Boxed arithmetic. */
	{"long_*", HL_COST_ARITH, ALL},
	{"l_mod", HL_COST_ARITH, ALL},
	{"l_divmod", HL_COST_ARITH, ALL},
	{"x_add", HL_COST_ARITH, ALL},
	{"x_sub", HL_COST_ARITH, ALL},
	{"x_mul", HL_COST_ARITH, ALL},
	{"k_mul", HL_COST_ARITH, ALL},
	{"fast_mod", HL_COST_ARITH, ALL},
	{"fast_floor_div", HL_COST_ARITH, ALL},
	{"_PyLong_Add", HL_COST_ARITH, 11, 99},
	{"_PyLong_Subtract", HL_COST_ARITH, 11, 99},
	{"_PyLong_Multiply", HL_COST_ARITH, 11, 99},
	{"_PyLong_*Compact*", HL_COST_ARITH, 12, 99},
	{"_PyLong_IsZero", HL_COST_ARITH, 12, 99},
	{"medium_value", HL_COST_ARITH, ALL},
	{"is_medium_int", HL_COST_ARITH, ALL},
	{"_PyLong_FromSTwoDigits", HL_COST_ARITH, 11, 99},
	{"_PyLong_FromMedium", HL_COST_ARITH, 11, 99},
	{"_PyLong_FromLarge", HL_COST_ARITH, 11, 99},
	{"PyLong_From*", HL_COST_ARITH, ALL},
	{"float_*", HL_COST_ARITH, ALL},
	{"PyFloat_*", HL_COST_ARITH, ALL},
	{"_PyFloat_*", HL_COST_ARITH, ALL},
	{"complex_*", HL_COST_ARITH, ALL},
	{"PyNumber_*", HL_COST_ARITH, ALL},
	{"binary_op*", HL_COST_ARITH, ALL},
	{"ternary_op", HL_COST_ARITH, ALL},
	{"math_*", HL_COST_ARITH, ALL},

	/* Allocation, deallocation, reference counts, the cyclic GC. */
	{"Py_INCREF", HL_COST_ALLOC, ALL},
	{"Py_DECREF*", HL_COST_ALLOC, ALL},
	{"Py_XINCREF", HL_COST_ALLOC, ALL},
	{"Py_XDECREF", HL_COST_ALLOC, ALL},
	{"_Py_INCREF*", HL_COST_ALLOC, ALL},
	{"_Py_DECREF*", HL_COST_ALLOC, ALL},
	{"_Py_XDECREF", HL_COST_ALLOC, ALL},
	{"Py_CLEAR", HL_COST_ALLOC, ALL},
	{"_Py_IsImmortal", HL_COST_ALLOC, 12, 99},
	{"_Py_Dealloc", HL_COST_ALLOC, ALL},
	{"_Py_NewReference*", HL_COST_ALLOC, ALL},
	{"*dealloc", HL_COST_ALLOC, ALL},
	{"_Py_NewRef", HL_COST_ALLOC, ALL},
	{"_Py_XNewRef", HL_COST_ALLOC, ALL},
	{"Py_NewRef", HL_COST_ALLOC, ALL},
	{"_PyType_PreHeaderSize", HL_COST_ALLOC, 12, 99},
	{"pymalloc_*", HL_COST_ALLOC, ALL},
	{"_PyObject_Malloc", HL_COST_ALLOC, ALL},
	{"_PyObject_Calloc", HL_COST_ALLOC, ALL},
	{"_PyObject_Realloc", HL_COST_ALLOC, ALL},
	{"_PyObject_Free", HL_COST_ALLOC, ALL},
	{"PyObject_Malloc", HL_COST_ALLOC, ALL},
	{"PyObject_Free", HL_COST_ALLOC, ALL},
	{"PyObject_Init*", HL_COST_ALLOC, ALL},
	{"_PyObject_Init*", HL_COST_ALLOC, ALL},
	{"_PyObject_New*", HL_COST_ALLOC, ALL},
	{"PyType_GenericAlloc", HL_COST_ALLOC, ALL},
	{"_PyType_AllocNoTrack", HL_COST_ALLOC, 12, 99},
	{"PyMem_*", HL_COST_ALLOC, ALL},
	{"_PyMem_*", HL_COST_ALLOC, ALL},
	{"address_in_range", HL_COST_ALLOC, ALL},
	{"arena_map_*", HL_COST_ALLOC, ALL},
	{"new_arena", HL_COST_ALLOC, ALL},
	{"insert_to_usedpool", HL_COST_ALLOC, ALL},
	{"insert_to_freepool", HL_COST_ALLOC, ALL},
	{"allocate_from_new_pool", HL_COST_ALLOC, ALL},
	{"maybe_freelist_*", HL_COST_ALLOC, 12, 99},
	{"_Py_freelist*", HL_COST_ALLOC, ALL},
	{"_PyFreeList*", HL_COST_ALLOC, ALL},
	{"_PyTrash_*", HL_COST_ALLOC, ALL},
	{"_Py_Trashcan*", HL_COST_ALLOC, ALL},
	{"PyTuple_New", HL_COST_ALLOC, ALL},
	{"tuple_alloc", HL_COST_ALLOC, ALL},
	{"_PyTuple_FromArray*", HL_COST_ALLOC, ALL},
	{"PyTuple_Pack", HL_COST_ALLOC, ALL},
	{"PyList_New", HL_COST_ALLOC, ALL},
	{"_PyLong_New", HL_COST_ALLOC, ALL},
	{"_PyObject_GC_*", HL_COST_ALLOC, ALL},
	{"PyObject_GC_*", HL_COST_ALLOC, ALL},
	{"_PyGCHead_*", HL_COST_ALLOC, ALL},
	{"_PyGC_*", HL_COST_ALLOC, ALL},
	{"gc_*", HL_COST_ALLOC, ALL},
	{"collect*", HL_COST_ALLOC, ALL},
	{"_PyObject_IS_GC", HL_COST_ALLOC, ALL},
	{"visit_*", HL_COST_ALLOC, ALL},
	{"subtract_refs", HL_COST_ALLOC, ALL},
	{"update_refs", HL_COST_ALLOC, ALL},
	{"move_unreachable", HL_COST_ALLOC, ALL},
	{"*_traverse", HL_COST_ALLOC, ALL},
	{"malloc", HL_COST_ALLOC, ALL},
	{"free", HL_COST_ALLOC, ALL},
	{"cfree", HL_COST_ALLOC, ALL},
	{"calloc", HL_COST_ALLOC, ALL},
	{"realloc", HL_COST_ALLOC, ALL},
	{"_int_malloc", HL_COST_ALLOC, ALL},
	{"_int_free", HL_COST_ALLOC, ALL},
	{"_int_realloc", HL_COST_ALLOC, ALL},
	{"malloc_consolidate", HL_COST_ALLOC, ALL},
	{"__libc_malloc", HL_COST_ALLOC, ALL},
	{"__libc_free", HL_COST_ALLOC, ALL},
	{"tcache_*", HL_COST_ALLOC, ALL},
};

static const char *const cost_names[HL_COST_COUNT] = {
	[HL_COST_DISPATCH] = "dispatch", [HL_COST_CALL] = "call",
	[HL_COST_LOOKUP] = "lookup",	 [HL_COST_COMPARE] = "compare",
	[HL_COST_ITERATION] = "iteration", [HL_COST_ALLOC] = "alloc",
	[HL_COST_ARITH] = "arith",	 [HL_COST_REAL] = "real",
	[HL_COST_OTHER] = "other",	 [HL_COST_UNKNOWN] = "unknown",
};

const char *hl_cost_name(enum hl_cost cost)
{
	return cost >= 0 && cost < HL_COST_COUNT ? cost_names[cost] : "pass";
}

bool hl_cost_is_overhead(enum hl_cost cost)
{
	return cost <= HL_COST_ARITH;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

bool hl_cost_is_interpreter_module(const char *module)
{
	const char *base = basename_of(module ? module : "");

	return !strncmp(base, "libpython", 9) || !strncmp(base, "python", 6);
}

bool hl_cost_is_unnamed(const char *name)
{
	return !name || !*name || strstr(name, "+0x") != NULL;
}

enum hl_cost hl_cost_classify(const struct hl_cost_frame *frame, int minor)
{
	const char *name = frame->name ? frame->name : "";
	size_t i;

	if (frame->kind == HL_FUNC_KERNEL)
		return HL_COST_REAL;
	if (frame->kind == HL_FUNC_EVAL)
		return HL_COST_DISPATCH;
	if (!hl_cost_is_unnamed(name))
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			if (minor >= rows[i].min_minor && minor <= rows[i].max_minor &&
			    !fnmatch(rows[i].pattern, name, 0))
				return rows[i].cost;
	if (hl_cost_is_interpreter_module(frame->module))
		return hl_cost_is_unnamed(name) ? HL_COST_UNKNOWN : HL_COST_OTHER;
	/* The C library's and the loader's other entries are system calls and string work;
	 * anything else outside the interpreter is a library or a C extension: real work. */
	return HL_COST_REAL;
}
