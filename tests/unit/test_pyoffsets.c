/* tests/unit/test_pyoffsets.c — the per-version layout tables of collector/pyoffsets.c.
 *
 * Two jobs, one binary:
 *   test_pyoffsets          checks what holds without any interpreter: every supported
 *                           version has a row and no other does; each field is present exactly
 *                           in the versions that have it; the fields one BPF read copies lie
 *                           inside the bytes it reads (tstate_size, frame_size) and do not
 *                           overlap; the code fingerprint covers co_firstlineno; the sampler's
 *                           view (hl_pyver_to_bpf) agrees with the row.  Failure rows break one
 *                           property of a real row each and expect the checker to name it.
 *   test_pyoffsets --dump   prints every field of every row as "3.<minor> <field> <value>"
 *                           (decimal, HL_OFF_NONE as 65535) for pyoffsets_check.py, which
 *                           compares them with offsetof() against each interpreter's headers.
 *
 * A field added to struct hl_pyver must be added to HL_PYVER_FIELDS below; the header check
 * fails until it is (it reads the field list from pyoffsets.h).
 */
#include "collector/pyoffsets.h"
#include "collector/sample.h"
#include "check.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE	      HL_OFF_NONE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN_MINOR     8
#define MAX_MINOR     14

/* Every field of struct hl_pyver except major and minor, in declaration order. */
/* clang-format off */
#define HL_PYVER_FIELDS(X) \
	X(runtime_interpreters_head) X(runtime_autotsskey) X(runtime_gil) X(interp_next) \
	X(interp_threads_head) X(interp_modules) X(interp_ceval_gil) X(gil_holder) \
	X(gil_locked) X(tstate_next) X(tstate_interp) X(tstate_frame) X(tstate_thread_id) \
	X(tstate_native_thread_id) X(tstate_size) X(cframe_current_frame) X(frame_back) \
	X(frame_code) X(frame_lasti) X(frame_owner) X(frame_is_entry) X(frame_size) \
	X(code_firstlineno) X(code_filename) X(code_name) X(code_qualname) \
	X(code_linetable) X(code_adaptive) X(code_code) X(unicode_state) \
	X(unicode_length) X(unicode_ascii_data) X(unicode_compact_data) X(code_tag_mask) \
	X(type_basicsize) X(type_itemsize) X(type_flags) X(type_dictoffset) \
	X(heaptype_cached_keys) X(dict_keys) X(dict_values) X(dictkeys_size) \
	X(dictkeys_log2_size) X(dictkeys_log2_index_bytes) X(dictkeys_kind) \
	X(dictkeys_nentries) X(dictkeys_indices) X(dictvalues_values) \
	X(dictvalues_capacity) X(dictvalues_valid) X(managed_dict) X(managed_values) \
	X(module_dict) X(long_size) X(long_digits) X(managed_tagged) X(long_tagged) \
	X(tpflags_managed_dict) X(tpflags_inline_values) X(frame_gen) X(gen_iframe) \
	X(type_name) X(type_base) X(code_flags) X(code_nlocalsplus) X(code_names) X(code_localnames) X(code_argcount) \
	X(code_kwonlyargcount) X(frame_args) X(gen_frame) \
	X(gen_frame_state) X(frame_stack) X(frame_stackdepth) X(frame_localsplus) \
	X(tuple_items) X(list_items) X(set_mask) X(set_table) X(weakref_object) \
	X(func_closure) X(cell_ref) X(method_self) X(cfunc_def) X(cfunc_self) \
	X(methoddef_name) X(tstate_state) X(tstate_asyncio_running_task) \
	X(tstate_asyncio_tasks_head) X(interp_asyncio_tasks_head) X(partial_args) \
	X(deque_leftblock) X(deque_leftindex) X(asend_gen) X(wakeup_task) X(task_size) \
	X(fut_callback0) X(fut_callbacks) X(fut_state) X(fut_awaited_by) \
	X(fut_awaited_by_is_set) X(task_fut_waiter) X(task_coro) X(task_name) X(task_node)
/* clang-format on */

struct field {
	const char *name;
	size_t off, size;
};

#define FIELD_ROW(f) {#f, offsetof(struct hl_pyver, f), sizeof(((struct hl_pyver *)0)->f)},
static const struct field fields[] = {HL_PYVER_FIELDS(FIELD_ROW)};

static uint64_t get_field(const struct hl_pyver *v, const struct field *f)
{
	const unsigned char *p = (const unsigned char *)v + f->off;

	switch (f->size) {
	case 1:
		return *(const uint8_t *)p;
	case 2:
		return *(const uint16_t *)p;
	case 4:
		return *(const uint32_t *)p;
	default:
		return *(const uint64_t *)p;
	}
}

static void set_field(struct hl_pyver *v, const struct field *f, uint64_t value)
{
	unsigned char *p = (unsigned char *)v + f->off;

	switch (f->size) {
	case 1:
		*(uint8_t *)p = (uint8_t)value;
		break;
	case 2:
		*(uint16_t *)p = (uint16_t)value;
		break;
	case 4:
		*(uint32_t *)p = (uint32_t)value;
		break;
	default:
		*(uint64_t *)p = value;
	}
}

static const struct field *field_named(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fields); i++)
		if (!strcmp(fields[i].name, name))
			return &fields[i];
	return NULL;
}

static int dump(void)
{
	unsigned minor;
	size_t i;

	for (minor = 0; minor < 100; minor++) {
		const struct hl_pyver *v = hl_pyver_find(3, minor);

		if (!v)
			continue;
		for (i = 0; i < ARRAY_SIZE(fields); i++)
			printf("3.%u %s %llu\n", minor, fields[i].name,
			       (unsigned long long)get_field(v, &fields[i]));
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The invariant checker: one "field: why" line per problem. */

struct problems {
	char text[4096];
	int count;
};

static void __attribute__((format(printf, 3, 4)))
problem(struct problems *p, const char *field, const char *fmt, ...)
{
	size_t len = strlen(p->text);
	va_list ap;
	int n;

	p->count++;
	n = snprintf(p->text + len, sizeof(p->text) - len, "%s: ", field);
	if (n < 0 || (size_t)n >= sizeof(p->text) - len)
		return;
	len += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(p->text + len, sizeof(p->text) - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 1 >= sizeof(p->text) - len)
		return;
	strcat(p->text, "\n");
}

/* Which versions have a field: HL_OFF_NONE outside [first, last].  Fields not listed are
 * numbers (sizes, masks, flags), or belong to symbolize/pyobject.c and are checked against
 * the headers only. */
static const struct {
	const char *field;
	unsigned first, last;
} eras[] = {
    {"runtime_gil", 8, 11}, /* the GIL moved into the interpreter in 3.12 */
    {"interp_ceval_gil", 12, 14},
    {"tstate_native_thread_id", 11, 14},
    {"cframe_current_frame", 11, 12}, /* _PyCFrame existed in 3.11-3.12 only */
    {"frame_owner", 11, 14},	      /* _PyInterpreterFrame */
    {"frame_is_entry", 11, 11},	      /* 3.12: owner == FRAME_OWNED_BY_CSTACK instead */
    {"code_qualname", 11, 14},
    {"code_adaptive", 11, 14},
    {"code_code", 8, 10},
    {"code_names", 8, 14},
    {"code_localnames", 8, 14},
    {"runtime_interpreters_head", 8, 14},
    {"runtime_autotsskey", 8, 14},
    {"interp_next", 8, 14},
    {"interp_threads_head", 8, 14},
    {"interp_modules", 8, 14},
    {"gil_holder", 8, 14},
    {"gil_locked", 8, 14},
    {"tstate_next", 8, 14},
    {"tstate_interp", 8, 14},
    {"tstate_frame", 8, 14},
    {"tstate_thread_id", 8, 14},
    {"frame_back", 8, 14},
    {"frame_code", 8, 14},
    {"frame_lasti", 8, 14},
    {"code_firstlineno", 8, 14},
    {"code_filename", 8, 14},
    {"code_name", 8, 14},
    {"code_linetable", 8, 14},
    {"unicode_state", 8, 14},
    {"unicode_length", 8, 14},
    /* asyncio */
    {"frame_gen", 8, 10},
    {"gen_iframe", 11, 14},
    {"gen_frame", 8, 10},	      /* 3.11 embedded the frame in the generator */
    {"gen_frame_state", 11, 14},
    {"code_nlocalsplus", 11, 14},
    {"frame_stackdepth", 10, 10},     /* 3.10's f_valuestack + f_stackdepth */
    {"frame_localsplus", 11, 14},
    {"frame_stack", 8, 14},
    {"tstate_state", 13, 14},
    {"tstate_asyncio_running_task", 14, 14},
    {"tstate_asyncio_tasks_head", 14, 14},
    {"interp_asyncio_tasks_head", 14, 14},
    {"wakeup_task", 8, 9}, /* 3.10: task_wakeup became a PyCFunction bound to the task */
    {"fut_awaited_by", 14, 14},
    {"fut_awaited_by_is_set", 14, 14},
    {"task_node", 14, 14},
    {"task_coro", 8, 14},
    {"task_name", 8, 14},
    {"task_fut_waiter", 8, 14},
    {"fut_state", 8, 14},
    {"fut_callback0", 8, 14},
    {"fut_callbacks", 8, 14},
};

/* Bytes one read copies from a struct: [off, off + size); off HL_OFF_NONE when absent. */
struct span {
	const char *field;
	unsigned off, size;
};

/* The spans must be disjoint and end within @limit bytes. */
static void check_spans(struct problems *p, const struct span *s, size_t n, const char *limit_name,
			unsigned limit)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (s[i].off == NONE)
			continue;
		if (s[i].off + s[i].size > limit)
			problem(p, s[i].field, "ends at %u, past %s = %u", s[i].off + s[i].size,
				limit_name, limit);
		for (j = i + 1; j < n; j++) {
			if (s[j].off == NONE)
				continue;
			if (s[i].off < s[j].off + s[j].size && s[j].off < s[i].off + s[i].size)
				problem(p, s[i].field, "overlaps %s (at %u and %u)", s[j].field,
					s[i].off, s[j].off);
		}
	}
}

static void check_presence(struct problems *p, const struct hl_pyver *v)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(eras); i++) {
		const struct field *f = field_named(eras[i].field);
		bool want = v->minor >= eras[i].first && v->minor <= eras[i].last;
		uint64_t val = get_field(v, f);

		if (want && val == NONE)
			problem(p, f->name, "missing (HL_OFF_NONE) in 3.%u", v->minor);
		if (!want && val != NONE)
			problem(p, f->name, "is %llu, but 3.%u has no such field",
				(unsigned long long)val, v->minor);
	}
	/* struct hl_py_offsets holds the GIL offset in 16 bits. */
	if (v->runtime_gil != NONE && v->runtime_gil >= 0xffff)
		problem(p, "runtime_gil", "%u does not fit the sampler's u16 gil_off",
			v->runtime_gil);
	if (v->interp_ceval_gil != NONE && v->interp_ceval_gil >= 0xffff)
		problem(p, "interp_ceval_gil", "%u does not fit the sampler's u16 gil_off",
			v->interp_ceval_gil);
	if (v->runtime_interpreters_head >= 1u << 20 || v->runtime_autotsskey >= 1u << 20 ||
	    v->interp_next >= 1u << 20 || v->interp_threads_head >= 1u << 20 ||
	    v->interp_modules >= 1u << 20)
		problem(p, "runtime/interp", "an offset of 1 MiB or more is not a struct offset");
}

static void check_reads(struct problems *p, const struct hl_pyver *v)
{
	unsigned lasti_size = hl_pyver_lasti_kind(v) == HL_LASTI_PTR ? 8 : 4;
	const struct span tstate[] = {
	    {"tstate_interp", v->tstate_interp, 8},
	    {"tstate_frame", v->tstate_frame, 8},
	    {"tstate_thread_id", v->tstate_thread_id, 8},
	    {"tstate_native_thread_id", v->tstate_native_thread_id, 8},
	    {"tstate_next", v->tstate_next, 8},
	};
	const struct span frame[] = {
	    {"frame_back", v->frame_back, 8},
	    {"frame_code", v->frame_code, 8},
	    {"frame_lasti", v->frame_lasti, lasti_size},
	    {"frame_owner", v->frame_owner, 1},
	    {"frame_is_entry", v->frame_is_entry, 1},
	};
	/* Read one by one; co_code_adaptive (3.11+) is the trailing bytecode. */
	const struct span code[] = {
	    {"code_firstlineno", v->code_firstlineno, 4},
	    {"code_filename", v->code_filename, 8},
	    {"code_name", v->code_name, 8},
	    {"code_qualname", v->code_qualname, 8},
	    {"code_linetable", v->code_linetable, 8},
	    {"code_code", v->code_code, 8},
	};
	const struct span gil[] = {
	    {"gil_holder", v->gil_holder, 8},
	    {"gil_locked", v->gil_locked, 4},
	};

	/* One read of task_size bytes per task (symbolize/asyncio.c). */
	const struct span task[] = {
	    {"fut_callback0", v->fut_callback0, 8},
	    {"fut_callbacks", v->fut_callbacks, 8},
	    {"fut_state", v->fut_state, 4},
	    {"fut_awaited_by", v->fut_awaited_by, 8},
	    {"fut_awaited_by_is_set", v->fut_awaited_by_is_set, 1},
	    {"task_fut_waiter", v->task_fut_waiter, 8},
	    {"task_coro", v->task_coro, 8},
	    {"task_name", v->task_name, 8},
	    {"task_node", v->task_node, 16},
	};

	check_spans(p, task, ARRAY_SIZE(task), "task_size", v->task_size);
	/* A 3.11+ coroutine is read from its head through its frame's fixed fields. */
	if (v->gen_iframe != NONE &&
	    (v->gen_frame_state >= v->gen_iframe || v->frame_localsplus > 128))
		problem(p, "gen_frame_state", "%u is not in the generator head before gi_iframe %u",
			v->gen_frame_state, v->gen_iframe);
	check_spans(p, tstate, ARRAY_SIZE(tstate), "tstate_size", v->tstate_size);
	if (v->tstate_size > HL_TSTATE_READ)
		problem(p, "tstate_size", "%u is more than the sampler's buffer (%u)",
			v->tstate_size, HL_TSTATE_READ);
	check_spans(p, frame, ARRAY_SIZE(frame), "frame_size", v->frame_size);
	if (v->frame_size > HL_FRAME_READ)
		problem(p, "frame_size", "%u is more than the sampler's buffer (%u)", v->frame_size,
			HL_FRAME_READ);
	if (v->frame_size % 8)
		problem(p, "frame_size", "%u is not a multiple of 8", v->frame_size);
	check_spans(p, code, ARRAY_SIZE(code), "code_adaptive",
		    v->code_adaptive != NONE ? v->code_adaptive : 0x1000);
	check_spans(p, gil, ARRAY_SIZE(gil), "the GIL struct", 0x100);

	/* The reuse fingerprint is the aligned u64 holding co_firstlineno: all 4 bytes of it. */
	if ((v->code_firstlineno & 7u) + 4 > 8)
		problem(p, "code_firstlineno",
			"at %u straddles two aligned u64 (fingerprint at %u)", v->code_firstlineno,
			v->code_firstlineno & ~7u);
	if (v->minor < 14 && v->code_tag_mask != ~0ULL)
		problem(p, "code_tag_mask", "0x%llx on 3.%u, whose frames hold plain pointers",
			(unsigned long long)v->code_tag_mask, v->minor);
	if ((v->code_tag_mask | 7) != ~0ULL || (v->minor >= 14 && v->code_tag_mask == ~0ULL))
		problem(p, "code_tag_mask", "0x%llx is not a low-bits tag mask on 3.%u",
			(unsigned long long)v->code_tag_mask, v->minor);

	/* str: the header fields, then the character data. */
	if (v->unicode_ascii_data <= v->unicode_state || v->unicode_ascii_data <= v->unicode_length)
		problem(p, "unicode_ascii_data", "%u is not past the header fields",
			v->unicode_ascii_data);
	if (v->unicode_compact_data <= v->unicode_ascii_data)
		problem(p, "unicode_compact_data", "%u is not past the ASCII header (%u)",
			v->unicode_compact_data, v->unicode_ascii_data);
}

/* The sampler's view (struct hl_py_offsets) says what the row says. */
static void check_bpf_view(struct problems *p, const struct hl_pyver *v)
{
	struct hl_py_offsets o;

	memset(&o, 0xa5, sizeof(o));
	hl_pyver_to_bpf(v, &o);
	if (o.gil_kind != (v->runtime_gil != NONE ? HL_GIL_RUNTIME : HL_GIL_INTERP) ||
	    o.gil_off != (v->runtime_gil != NONE ? v->runtime_gil : v->interp_ceval_gil))
		problem(p, "hl_pyver_to_bpf", "gil_kind %u gil_off %u", o.gil_kind, o.gil_off);
	if (o.frame_root != (v->minor == 11 || v->minor == 12 ? HL_ROOT_CFRAME : HL_ROOT_DIRECT))
		problem(p, "hl_pyver_to_bpf", "frame_root %u", o.frame_root);
	if (o.lasti_kind != (v->minor >= 11 ? HL_LASTI_PTR : HL_LASTI_INT))
		problem(p, "hl_pyver_to_bpf", "lasti_kind %u", o.lasti_kind);
	if (o.code_name != (v->minor >= 11 ? v->code_qualname : v->code_name))
		problem(p, "hl_pyver_to_bpf", "code_name %u (co_qualname from 3.11 on)",
			o.code_name);
	if (o.code_fingerprint != (v->code_firstlineno & ~7u))
		problem(p, "hl_pyver_to_bpf", "code_fingerprint %u, co_firstlineno at %u",
			o.code_fingerprint, v->code_firstlineno);
	if (o.owner_shim_min != (v->minor >= 12 ? 3 : 0xff))
		problem(p, "hl_pyver_to_bpf", "owner_shim_min %u", o.owner_shim_min);
	if (o.tstate_interp != v->tstate_interp || o.tstate_frame != v->tstate_frame ||
	    o.tstate_thread_id != v->tstate_thread_id ||
	    o.cframe_current_frame != v->cframe_current_frame || o.frame_back != v->frame_back ||
	    o.frame_code != v->frame_code || o.frame_lasti != v->frame_lasti ||
	    o.frame_owner != v->frame_owner || o.frame_is_entry != v->frame_is_entry ||
	    o.code_adaptive != v->code_adaptive || o.code_filename != v->code_filename ||
	    o.code_firstlineno != v->code_firstlineno || o.code_linetable != v->code_linetable ||
	    o.unicode_length != v->unicode_length || o.unicode_state != v->unicode_state ||
	    o.unicode_ascii_data != v->unicode_ascii_data ||
	    o.unicode_compact_data != v->unicode_compact_data || o.tstate_size != v->tstate_size ||
	    o.frame_size != v->frame_size || o.gil_holder != v->gil_holder ||
	    o.gil_locked != v->gil_locked || o.code_tag_mask != v->code_tag_mask)
		problem(p, "hl_pyver_to_bpf", "a field copied from the row differs");
}

static struct problems check_row(const struct hl_pyver *v)
{
	struct problems p = {.text = "", .count = 0};

	check_presence(&p, v);
	check_reads(&p, v);
	check_bpf_view(&p, v);
	return p;
}

/* ---------------------------------------------------------------------------------------- */

static void test_lookup(void)
{
	static const struct {
		unsigned major, minor;
		bool found;
	} rows[] = {
	    {3, 8, true},  {3, 9, true},  {3, 10, true}, {3, 11, true},	  {3, 12, true},
	    {3, 13, true}, {3, 14, true}, {3, 7, false}, {3, 15, false},  {3, 0, false},
	    {2, 7, false}, {4, 8, false}, {0, 0, false}, {3, 255, false}, {259, 8, false},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct hl_pyver *v = hl_pyver_find(rows[i].major, rows[i].minor);
		char what[64];

		snprintf(what, sizeof(what), "hl_pyver_find(%u, %u) found", rows[i].major,
			 rows[i].minor);
		CHECK_INT(rows[i].found, v != NULL, what);
		if (v && rows[i].found) {
			CHECK_INT(rows[i].major, v->major, what);
			CHECK_INT(rows[i].minor, v->minor, what);
		}
	}
}

static void test_rows(void)
{
	unsigned minor;

	for (minor = MIN_MINOR; minor <= MAX_MINOR; minor++) {
		const struct hl_pyver *v = hl_pyver_find(3, minor);
		struct problems p;
		char what[64];

		if (!v)
			continue; /* reported by test_lookup */
		p = check_row(v);
		snprintf(what, sizeof(what), "3.%u row is consistent", minor);
		CHECK(p.count == 0, what);
		if (p.count)
			fprintf(stderr, "%s", p.text);
	}
}

/* Failure rows: one real row with one field broken; the checker must name @expect. */
static void test_broken_rows(void)
{
	static const struct {
		unsigned minor;
		const char *field;
		uint64_t value;
		const char *expect;
	} rows[] = {
	    /* 3.12 owner is at 70: a 64-byte read misses it. */
	    {12, "frame_size", 64, "frame_owner: ends at 71, past frame_size"},
	    {8, "frame_size", 104, "frame_lasti: ends at 108, past frame_size"},
	    {14, "frame_size", 136, "frame_size: 136 is more than"},
	    {13, "frame_size", 76, "not a multiple of 8"},
	    {12, "frame_lasti", 8, "frame_back: overlaps frame_lasti"},
	    {11, "frame_is_entry", 69, "frame_owner: overlaps frame_is_entry"},
	    {11, "tstate_size", 160, "tstate_native_thread_id: ends at 168"},
	    {8, "tstate_size", 176, "tstate_thread_id: ends at 184"},
	    {12, "tstate_size", 264, "tstate_size: 264 is more than"},
	    {13, "tstate_frame", 16, "tstate_interp: overlaps tstate_frame"},
	    {12, "code_firstlineno", 70, "straddles"},
	    {10, "code_filename", 112, "code_filename: overlaps code_name"},
	    {13, "code_adaptive", 136, "code_linetable: ends at 144, past code_adaptive"},
	    {12, "frame_owner", NONE, "frame_owner: missing"},
	    {12, "frame_is_entry", 68, "frame_is_entry: is 68, but 3.12"},
	    {10, "code_code", NONE, "code_code: missing"},
	    {11, "code_code", 48, "code_code: is 48, but 3.11"},
	    {13, "cframe_current_frame", 0, "cframe_current_frame: is 0, but 3.13"},
	    {11, "runtime_gil", NONE, "runtime_gil: missing"},
	    {12, "runtime_gil", 360, "runtime_gil: is 360, but 3.12"},
	    {10, "runtime_gil", 0xfffff, "does not fit"},
	    {12, "interp_modules", 1u << 21, "not a struct offset"},
	    {12, "code_tag_mask", ~3ULL, "plain pointers"},
	    {14, "code_tag_mask", ~0ULL, "not a low-bits tag mask"},
	    {14, "code_tag_mask", ~0xfULL, "not a low-bits tag mask"},
	    {12, "unicode_compact_data", 40, "unicode_compact_data: 40 is not past"},
	    {9, "unicode_ascii_data", 32, "unicode_ascii_data: 32 is not past"},
	    {9, "gil_locked", 8, "gil_holder: overlaps gil_locked"},
	    {13, "task_size", 120, "task_coro: ends at 128, past task_size"},
	    {11, "fut_state", 128, "fut_state: overlaps task_fut_waiter"},
	    {14, "task_node", NONE, "task_node: missing"},
	    {12, "wakeup_task", 16, "wakeup_task: is 16, but 3.12"},
	    {10, "gen_frame", NONE, "gen_frame: missing"},
	    {12, "gen_frame_state", 80, "not in the generator head"},
	    {13, "fut_awaited_by", 96, "fut_awaited_by: is 96, but 3.13"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct hl_pyver *real = hl_pyver_find(3, rows[i].minor);
		const struct field *f = field_named(rows[i].field);
		struct hl_pyver v;
		struct problems p;
		char what[128];

		snprintf(what, sizeof(what), "3.%u with %s = %llu is caught as \"%s\"",
			 rows[i].minor, rows[i].field, (unsigned long long)rows[i].value,
			 rows[i].expect);
		if (!real || !f) {
			CHECK(0, what);
			continue;
		}
		v = *real;
		set_field(&v, f, rows[i].value);
		p = check_row(&v);
		CHECK(p.count > 0 && strstr(p.text, rows[i].expect), what);
		if (!strstr(p.text, rows[i].expect))
			fprintf(stderr, "  checker said: %s\n", p.count ? p.text : "(nothing)");
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--dump"))
		return dump();
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--dump]\n", argv[0]);
		return 64;
	}
	test_lookup();
	test_rows();
	test_broken_rows();
	return check_done();
}
