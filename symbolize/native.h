/* symbolize/native.h — names for native (C) frames, and where CPython's eval loop is.
 *
 * Turns an address in a process's executable mapping (a struct hl_module from
 * symbolize/addrspace.h) into frames: the function, and with DWARF the functions inlined at
 * that address with their file:line.  What it knows about a binary (symbol tables, unwind
 * table ranges, the separate debug file, DWARF, the cache of answers) hangs off the binary
 * (struct hl_binary's `symbols`) and is shared by every process mapping it.  Names come from,
 * best first:
 *   - DWARF (the binary's own, or of its separate debug file): inline chains, file:line;
 *   - .symtab of the binary, of its debug file, or of its MiniDebugInfo (.gnu_debugdata);
 *   - .dynsym, and "foo@plt" for x86-64 PLT entries (from the relocation of their GOT slot);
 *   - no symbol covers the address (a static function of a stripped binary): the start of
 *     the FDE of .eh_frame holding it, shown as "module+0xSTART";
 *   - no FDE either: "module+0xADDRESS".
 * A symbol only covers [st_value, st_value + st_size): an address past a symbol's end is not
 * that symbol's, however close (stripped binaries export few symbols).  Every address gets a
 * frame.  Anonymous executable memory (JITs, CPython's perf trampolines) is named from the
 * process's perf map.  Kernel addresses are symbolize/kallsyms.h's job; unwinding is
 * symbolize/unwind.h's.
 *
 * Separate debug files are looked up by build id (DEBUG_ROOT/.build-id/ab/cdef....debug) and
 * by .gnu_debuglink (the binary's directory, its .debug/ subdirectory, DEBUG_ROOT + directory,
 * checking the link's CRC32), under /proc/PID/root first for processes in containers; the
 * .gnu_debugaltlink (dwz) file of a debug file by build id, then by its path.
 *
 * Not thread-safe: one symbolizing thread, or a lock around these calls.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct hl_binary;
struct hl_module;
struct hl_symbols;

#define HL_NATIVE_MAX_FRAMES 16 /* frames per address: inlined ones, then the function */
#define HL_NATIVE_DEBUG_ROOT "/usr/lib/debug"

/* Where a frame's name comes from. */
enum hl_native_source {
	HL_NATIVE_DWARF,     /* debug info: name, file:line, inline chain */
	HL_NATIVE_SYMTAB,    /* .symtab of the binary or of its separate debug file */
	HL_NATIVE_MINIDEBUG, /* .symtab inside .gnu_debugdata */
	HL_NATIVE_DYNSYM,    /* exported symbols only, and foo@plt */
	HL_NATIVE_FDE,	     /* unnamed: "module+0xSTART", START from the FDE holding it */
	HL_NATIVE_ADDRESS,   /* unnamed, no FDE: "module+0xADDRESS" ("[unknown]" in anonymous
			      * memory without a perf map entry) */
	HL_NATIVE_PERFMAP,   /* anonymous memory named by /tmp/perf-PID.map */
};

struct hl_native_frame {
	const char *function;	 /* never NULL */
	const char *file;	 /* source file, NULL without line information */
	int line;		 /* 0 without line information */
	uint64_t function_start; /* the function's entry as a file virtual address of the module's
				  * binary (what "module+0x..." shows); for perf map entries and
				  * anonymous memory, the absolute address */
	bool inlined;		 /* inlined into the next frame */
	enum hl_native_source source;
};

/* Per-process context: the pid (for /proc/PID/root and the perf map) and the debug root. */
struct hl_native_proc;

/* @pid: the target (0: none, e.g. for a file symbolized offline).  @debug_root: where
 * separate debug files live, NULL for HL_NATIVE_DEBUG_ROOT (tests point it elsewhere).  The
 * debug files of a binary are looked up once, with the context of the first process whose
 * frame needs them.  NULL with errno set. */
struct hl_native_proc *hl_native_proc__new(pid_t pid, const char *debug_root);
/* Accepts NULL. */
void hl_native_proc__free(struct hl_native_proc *proc);

/* Symbolizes @addr, an address in module @m of @proc's process.  @is_return: @addr is a
 * return address (every frame of an unwound stack but the innermost), so the call
 * instruction before it is what is looked up (`pc - 1`), not whatever follows the call.
 * Fills @out with at most @max frames, innermost first: the inlined functions, then the
 * function that holds them; when the chain is longer than @max the innermost frames are left
 * out, so the last frame is always the real function.  Strings stay valid until the binary
 * cache is freed, except for modules without a binary (anonymous memory, files we could not
 * open), whose strings stay valid until hl_native_proc__free.  @proc may be NULL (no perf
 * map, no container root).  Returns the number of frames (>= 1), or -EINVAL for @max == 0,
 * -ENOMEM. */
int hl_native_symbolize(struct hl_native_proc *proc, const struct hl_module *m, uint64_t addr,
			bool is_return, struct hl_native_frame *out, unsigned max);

/* A range of file virtual addresses of a binary. */
struct hl_native_range {
	uint64_t start, end;
};

/* The ranges of binary @b that belong to CPython's bytecode interpreter function, for
 * stitching Python frames into native stacks: _PyEval_EvalFrameDefault (3.6+; before that
 * PyEval_EvalFrameEx) with its split-off pieces — symbols named like
 * "_PyEval_EvalFrameDefault.cold" or ".part.N", and, for stripped or PGO builds where a piece
 * has no symbol, the unnamed FDE regions the function jumps into (x86-64 jmp/jcc decoding).
 * Copies up to @max ranges, sorted, into @out and returns how many there are (0: not a
 * CPython binary), or -errno when the binary cannot be read.  Computed once per binary. */
int hl_native_eval_ranges(struct hl_binary *b, struct hl_native_range *out, unsigned max);

/* Whether @addr (an address in module @m; pass `pc - 1` for return addresses) is inside
 * CPython's eval loop.  False for anonymous memory and on any error. */
bool hl_native_in_eval(const struct hl_module *m, uint64_t addr);

/* What the symbolizer found for a binary, for `hotloop doctor`, degraded-stack reports and
 * tests.  Loads the tables (with @proc's context) when not done yet. */
struct hl_native_info {
	const char *debug_file; /* the separate debug file used, NULL when none */
	bool has_dwarf;
	bool has_symtab;	/* .symtab in the binary or its debug file */
	bool has_minidebuginfo; /* symbols came from .gnu_debugdata */
	unsigned long symbols;	/* function symbols kept */
	unsigned long fdes;	/* FDE ranges */
	unsigned long compile_units;
	unsigned long cached; /* addresses in the frame cache */
};
int hl_native_info(struct hl_native_proc *proc, struct hl_binary *b, struct hl_native_info *info);

/* Frees what this module hung off a binary (struct hl_binary's `symbols`); symbolize/binary.c
 * calls it when the binary cache is freed.  Accepts NULL. */
void hl_symbols__free(struct hl_symbols *symbols);
