/* tests/e2e/cext/hotloop_testext.c — the C extension of the mixed-mode end-to-end tests.
 *
 * Built by tests/e2e/run.py (build_ext) against each interpreter's own headers, into a
 * temporary directory, with `-O2 -g -fomit-frame-pointer -fno-toplevel-reorder`: optimized
 * like a real extension, no frame pointers (so hotloop must unwind with DWARF CFI).  It only
 * exists to give the tests a call chain they know exactly:
 *
 *     Python driver -> [C] ext_entry -> [C] ext_helper -> Python callback
 *
 * ext_entry(callback, n) hands its work to ext_helper, which burns CPU in C for n iterations
 * of one line (the hot line) and then calls callback() — Python code that burns CPU in
 * Python.  Neither call is a tail call (each caller uses the result afterwards), and
 * ext_helper is noinline and noclone, so both functions keep their own frames and names (no
 * `.isra`/`.constprop` clones).  Lines the tests check end in a marker comment
 * `@line TAG` in a C comment; run.py computes their numbers, so nothing here is hard-coded.
 *
 * The module name is HL_EXT_NAME (default hotloop_testext).  The completeness test also
 * builds a stripped copy named hotloop_testext_stripped: there ext_entry, exported and laid
 * out just before ext_helper (source order, kept by -fno-toplevel-reorder), is the nearest
 * exported symbol below ext_helper, which only the unwind tables know about — the frame of a
 * sample inside ext_helper must then read "MODULE+0xSTART" with START = ext_helper's entry,
 * never "ext_entry".
 *
 * Not Python-version specific: only API that 3.8 through 3.14 all have.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#ifndef HL_EXT_NAME
#define HL_EXT_NAME hotloop_testext
#endif
#define HL_CAT(a, b) a##b
#define HL_XCAT(a, b) HL_CAT(a, b)
#define HL_STR(a) #a
#define HL_XSTR(a) HL_STR(a)

static uint64_t ext_helper(PyObject *callback, uint64_t n, PyObject **result);

/* Exported (default visibility, not static) on purpose: see the header. */
PyObject *ext_entry(PyObject *self, PyObject *args)
{
	PyObject *callback, *result = NULL;
	unsigned long long n;
	uint64_t acc;

	(void)self;
	if (!PyArg_ParseTuple(args, "OK", &callback, &n))
		return NULL;
	acc = ext_helper(callback, n, &result); /* @line entry_call */
	if (!result)
		return NULL;
	Py_DECREF(result);
	return PyLong_FromUnsignedLongLong(acc);
}

/* A 64-bit LCG folded into an accumulator: each iteration depends on the previous one, so
 * the compiler can neither vectorize it nor compute it in closed form.  The whole loop is one
 * line, so every sample inside it has that line. */
__attribute__((noinline, noclone)) static uint64_t ext_helper(PyObject *callback, uint64_t n,
							       PyObject **result)
{
	uint64_t x = n | 1, acc = 0, i;

	for (i = 0; i < n; i++) { x = x * 6364136223846793005ULL + 1442695040888963407ULL; acc ^= x >> 29; } /* @line helper_hot */
	*result = PyObject_CallObject(callback, NULL); /* @line helper_call */
	return acc + (*result != NULL);
}

static PyMethodDef methods[] = {
	{"ext_entry", ext_entry, METH_VARARGS,
	 "ext_entry(callback, n): n iterations of C work in ext_helper, then callback()."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, HL_XSTR(HL_EXT_NAME), "hotloop mixed-mode test extension", -1,
	methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC HL_XCAT(PyInit_, HL_EXT_NAME)(void)
{
	return PyModule_Create(&module);
}
