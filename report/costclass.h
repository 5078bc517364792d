/* report/costclass.h — what a native frame under a Python function costs: interpreter
 * overhead of some kind, or real work.
 *
 * `hotloop candidates` splits the time of a Python function into the categories below by
 * naming the C function the CPU was in.  The names are data: one table (report/costclass.c)
 * of glob patterns, each valid for a range of CPython minor versions, since the interpreter's
 * internals are renamed between releases (gen_send_ex became gen_send_ex2 in 3.10, ...).
 * docs/candidates.md lists the categories and how a stack is classified.
 *
 * Not responsible for walking stacks (report/candidates.c does): this module answers for one
 * frame at a time, with no I/O, so it is unit-tested row by row.
 */
#pragma once
#include <stdbool.h>

enum hl_cost {
	/* Interpreter overhead: what specialization (codegen, a JIT) can remove. */
	HL_COST_DISPATCH = 0, /* the bytecode loop itself, and the eval breaker */
	HL_COST_CALL,	      /* vectorcall, frame setup and teardown, argument binding */
	HL_COST_LOOKUP,	      /* attribute, global and method lookup; dict probes; type checks */
	HL_COST_COMPARE,      /* rich comparison, truth tests */
	HL_COST_ITERATION,    /* zip, all, any, map, generators and their resumption, iterators */
	HL_COST_ALLOC,	      /* allocation, deallocation, reference counts, the cyclic GC */
	HL_COST_ARITH,	      /* boxed int and float arithmetic */
	/* Not overhead. */
	HL_COST_REAL,	/* real work: C extensions, libc mem*, compression, hashing, regex, I/O,
			   the kernel */
	HL_COST_OTHER,	/* named interpreter code the table does not place (str methods, ...) */
	HL_COST_UNKNOWN, /* an interpreter address without a symbol (stripped interpreter) */
	HL_COST_COUNT,
	/* Table-only: a helper that says nothing by itself (__tls_get_addr, Py_TYPE); the frame
	 * that called it decides. */
	HL_COST_PASS = HL_COST_COUNT,
};

/* Short names used in the text and JSON outputs: "dispatch", "call", ... */
const char *hl_cost_name(enum hl_cost cost);
/* Whether the category is interpreter overhead (dispatch .. arith). */
bool hl_cost_is_overhead(enum hl_cost cost);

/* A native frame to classify. */
struct hl_cost_frame {
	int kind;	    /* enum hl_function_kind: 2 native, 3 kernel, 5 eval loop */
	const char *name;   /* symbol, or "module+0xOFFSET" when it has none */
	const char *module; /* basename or path of the binary; "" for the kernel */
};

/* The category of @frame on CPython 3.@minor: the first table row whose pattern matches the
 * name and whose version range holds @minor; failing that, by where the code lives (kernel:
 * real; the interpreter's own binary: other, or unknown without a symbol; any other library
 * or extension: real).  May return HL_COST_PASS. */
enum hl_cost hl_cost_classify(const struct hl_cost_frame *frame, int minor);

/* Whether @module (a path or basename) is CPython's own binary: libpython3.X or python3.X. */
bool hl_cost_is_interpreter_module(const char *module);
/* Whether @name is how the symbolizer names an address without a symbol ("lib.so+0x1f0"). */
bool hl_cost_is_unnamed(const char *name);
