/* symbolize/asyncio.c — see asyncio.h.
 *
 * Layout of this file: object kinds (what a type is, cached by type address); futures and
 * tasks; coroutine await chains; the task registries and the coroutine -> task cache; the
 * awaiters of a task; resolving a sample; dumps.
 *
 * Costs are bounded per call by the constants below; where a walk can meet a cycle (linked
 * lists, awaiter chains, callbacks leading back), a visited set or a count ends it.
 */
#define _GNU_SOURCE
#include "symbolize/asyncio.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "common/util.h"
#include "symbolize/elf.h"
#include "symbolize/maps.h"
#include "symbolize/procmem.h"
#include "symbolize/pyobject.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUT_PENDING 0
#define TPFLAGS_HEAPTYPE (1ull << 9)
#define TPFLAGS_LONG_SUBCLASS (1ull << 24)
#define TPFLAGS_UNICODE_SUBCLASS (1ull << 28)
#define CO_COROUTINE 0x80
#define CO_ITERABLE_COROUTINE 0x100

#define CB_MAX 16	     /* done callbacks examined per future */
#define HOP_BUDGET 96	     /* objects examined to find one task's awaiters */
#define HOP_DEPTH 4	     /* futures between a task and the task awaiting it */
#define CELLS_MAX 8	     /* closure cells examined per callback */
#define GETTERS_MAX 4	     /* queue getters examined (as_completed) */
#define CURRENT_MAX 16	     /* running loops read from _current_tasks */
#define CANDIDATES_MAX 64    /* coroutine frames of one sample considered */
#define TYPE_NAME_MAX 48
#define TYPES_MAX 4096	     /* kinds of types remembered */
#define CODES_MAX 65536	     /* co_flags remembered */
#define THREADS_MAX 4096
#define SET_CHUNK 1024	     /* set entries read per system call */
#define SCAN_CHUNK 1024	     /* tasks read per batch */
#define TASK_READ_MAX 512
#define NODE_SLOTS 256
/* A task's remembered part is checked against the task on every use; the age limit only
 * bounds how stale it could get if a task moved and came back to the very same future. */
#define NODE_TTL_NS (200ULL * 1000000)
/* A registry scan is followed by at least this long, and by at least SCAN_COST_FACTOR times
 * its own duration, without another: scans take at most 1/SCAN_COST_FACTOR of the time. */
#define SCAN_MIN_INTERVAL_NS (25ULL * 1000000)
#define SCAN_COST_FACTOR 20
#define STACK_MAX_SLOTS (1u << 20) /* value-stack slots a frame may claim */
/* Code units between where a coroutine runs an await and where it waits in it (check_task). */
#define AWAIT_SPAN 4

/* Value-stack opcodes that say a suspended frame waits in `yield from` / `await`. */
#define OP_YIELD_FROM_38 72	  /* 3.8–3.10 */
#define OP_RESUME 151		  /* 3.11–3.12 */
#define OP_RESUME_QUICK_311 150	  /* 3.11 specialized RESUME */
#define OP_INSTRUMENTED_RESUME_312 240

enum kind {
	K_UNKNOWN = 0, /* not cached yet */
	K_OTHER,
	K_TASK,
	K_FUTURE,
	K_CORO,
	K_GEN,
	K_ASYNCGEN,
	K_ASEND,
	K_CFUNC,
	K_METHOD,
	K_FUNCTION,
	K_PARTIAL,
	K_WAKEUP,
	K_LIST,
	K_TUPLE,
	K_CELL,
	K_SET,
	K_DEQUE,
	K_STR,
	K_INT,
};

enum state {
	ST_UNKNOWN,	/* not checked yet */
	ST_INACTIVE,	/* asyncio not imported (yet) */
	ST_ACTIVE,
	ST_UNSUPPORTED, /* imported, but its tasks are not the C Task */
};

/* Generator frame states (gi_frame_state, 3.11+; Include/internal/pycore_frame.h). */
struct frame_states {
	int8_t created, suspended_yield_from; /* -128: no such state */
	int8_t completed;
};

struct task_view {
	uint64_t addr, type, coro, fut_waiter, name, callback0, callbacks, awaited_by;
	int32_t state;
	uint8_t awaited_by_is_set;
	int kind; /* K_TASK or K_FUTURE */
};


/* One task of logical stacks, remembered (see node_slot()). */
struct node {
	uint64_t task, coro, name_obj, fut_waiter, when_ns;
	uint64_t awaiter, awaiter_waiter; /* the first awaiting task, and its fut_waiter then */
	uint16_t awaited_by;
	uint16_t n_frames;
	bool used, has_frames, default_name;
	char name[HL_ASYNC_NAME_MAX];
	struct hl_async_frame frames[HL_ASYNC_CORO_DEPTH];
};

struct hl_asyncio {
	const struct hl_python *py;
	struct hl_pyver v; /* py->ver, with 3.14's .AsyncioDebug applied */
	struct hl_pyreader r;
	pid_t pid;
	unsigned minor;
	struct frame_states fs;
	int state;
	uint64_t next_check_ns;
	uint64_t check_interval_ns; /* doubles from ASYNC_FIRST_RECHECK_NS after each miss */
	bool warned;

	uint64_t task_type, future_type;
	uint64_t current_tasks;		 /* ≤3.13 asyncio.tasks._current_tasks (dict) */
	uint64_t weaksets[2];		 /* ≤3.13 _all_tasks / _scheduled_tasks (WeakSet) */
	uint64_t eager_tasks;		 /* 3.12–3.13 _eager_tasks (set) */
	unsigned fut_read;		 /* bytes read of a plain future */

	struct hl_map *types;	  /* type -> enum kind */
	struct hl_map *methods;	  /* PyMethodDef -> 1 + whether it is the task's wakeup */
	struct hl_map *codes;	  /* code ^ mixed fingerprint -> co_flags + 1 */
	struct hl_map *coro_task; /* coroutine -> task */
	uint64_t next_scan_ns;
	struct node *nodes;	/* NODE_SLOTS */
	struct hl_asyncio_stats stats;
};

const char *hl_async_outcome_name(int o)
{
	static const char *const names[HL_ASYNC_OUTCOMES] = {
		[HL_ASYNC_NOT_IN_TASK] = "not_in_task",	[HL_ASYNC_ATTRIBUTED] = "attributed",
		[HL_ASYNC_NO_TASK] = "no_task",		[HL_ASYNC_READ_FAILED] = "read_failed",
		[HL_ASYNC_CYCLE] = "cycle",		[HL_ASYNC_TOO_DEEP] = "too_deep",
	};

	return o >= 0 && o < HL_ASYNC_OUTCOMES ? names[o] : "?";
}

static uint64_t get_u64(const uint8_t *buf, size_t off)
{
	uint64_t x;

	memcpy(&x, buf + off, sizeof(x));
	return x;
}

static int32_t get_i32(const uint8_t *buf, size_t off)
{
	int32_t x;

	memcpy(&x, buf + off, sizeof(x));
	return x;
}

static int read_u64(const struct hl_asyncio *a, uint64_t addr, uint64_t *out)
{
	if (!addr)
		return -EFAULT;
	return hl_procmem_read_u64(a->pid, addr, out);
}

/* ---- object kinds ------------------------------------------------------------------------ */

static const struct {
	const char *name;
	int kind;
	bool static_only; /* a built-in static type: a heap type of that name is a user class */
} type_names[] = {
	{"coroutine", K_CORO, true},
	{"generator", K_GEN, true},
	{"async_generator", K_ASYNCGEN, true},
	{"async_generator_asend", K_ASEND, true},
	{"builtin_function_or_method", K_CFUNC, true},
	{"method", K_METHOD, true},
	{"function", K_FUNCTION, true},
	{"list", K_LIST, true},
	{"tuple", K_TUPLE, true},
	{"cell", K_CELL, true},
	{"set", K_SET, true},
	/* Heap types from 3.12 (functools, collections) or static (_asyncio ≤3.9). */
	{"functools.partial", K_PARTIAL, false},
	{"collections.deque", K_DEQUE, false},
	{"TaskWakeupMethWrapper", K_WAKEUP, true},
};

static int classify_type(struct hl_asyncio *a, uint64_t type)
{
	const struct hl_pyver *v = &a->v;
	uint8_t hdr[512];
	char name[TYPE_NAME_MAX];
	uint64_t flags, t;
	ssize_t got;
	size_t i;
	int depth;

	if (v->type_base + 8u > sizeof(hdr) || v->type_flags + 8u > sizeof(hdr))
		return K_OTHER;
	if (hl_procmem_read(a->pid, type, hdr, v->type_base + 8u))
		return K_UNKNOWN; /* not cached: a read failure says nothing about the type */
	flags = get_u64(hdr, v->type_flags);
	if (flags & TPFLAGS_UNICODE_SUBCLASS)
		return K_STR;
	if (flags & TPFLAGS_LONG_SUBCLASS)
		return K_INT;
	/* Task and Future types, and Python subclasses of them (custom task factories). */
	for (t = type, depth = 0; t && depth < 16; depth++) {
		if (t == a->task_type)
			return K_TASK;
		if (t == a->future_type)
			return K_FUTURE;
		if (read_u64(a, t + v->type_base, &t))
			break;
	}
	got = hl_procmem_read_partial(a->pid, get_u64(hdr, v->type_name), name, sizeof(name));
	if (got <= 0 || !memchr(name, '\0', (size_t)got))
		return K_OTHER;
	for (i = 0; i < HL_ARRAY_SIZE(type_names); i++)
		if (!strcmp(name, type_names[i].name))
			return type_names[i].static_only && (flags & TPFLAGS_HEAPTYPE)
				       ? K_OTHER
				       : type_names[i].kind;
	return K_OTHER;
}

static int kind_of_type(struct hl_asyncio *a, uint64_t type)
{
	uint64_t k;
	int kind;

	if (!type)
		return K_UNKNOWN;
	if (hl_map__get(a->types, type, &k))
		return (int)k;
	kind = classify_type(a, type);
	if (kind == K_UNKNOWN)
		return K_UNKNOWN;
	if (hl_map__count(a->types) >= TYPES_MAX)
		hl_map__clear(a->types);
	hl_map__set(a->types, type, (uint64_t)kind);
	return kind;
}

/* The kind of the object at @obj; K_UNKNOWN when it cannot be read. */
static int kind_of(struct hl_asyncio *a, uint64_t obj, uint64_t *type_out)
{
	uint64_t type;

	if (!obj || read_u64(a, obj + 8, &type))
		return K_UNKNOWN;
	if (type_out)
		*type_out = type;
	return kind_of_type(a, type);
}

/* ---- futures and tasks ------------------------------------------------------------------- */

/* Fills @tv from @size bytes of the object at @addr, read into @buf. */
static int parse_fut(struct hl_asyncio *a, uint64_t addr, const uint8_t *buf, unsigned size,
		     bool want_task, struct task_view *tv)
{
	const struct hl_pyver *v = &a->v;
	int kind;

	memset(tv, 0, sizeof(*tv));
	tv->type = get_u64(buf, 8);
	kind = kind_of_type(a, tv->type);
	if (kind == K_UNKNOWN)
		return -EFAULT;
	if (kind != K_TASK && (want_task || kind != K_FUTURE))
		return -EINVAL;
	if (kind == K_TASK && size < v->task_size)
		kind = K_FUTURE; /* read as a future: its task fields were not read */
	tv->addr = addr;
	tv->kind = kind;
	tv->state = get_i32(buf, v->fut_state);
	tv->callback0 = get_u64(buf, v->fut_callback0);
	tv->callbacks = get_u64(buf, v->fut_callbacks);
	if (v->fut_awaited_by != HL_OFF_NONE) {
		tv->awaited_by = get_u64(buf, v->fut_awaited_by);
		tv->awaited_by_is_set = buf[v->fut_awaited_by_is_set];
	}
	if (kind == K_TASK) {
		tv->coro = get_u64(buf, v->task_coro);
		tv->fut_waiter = get_u64(buf, v->task_fut_waiter);
		tv->name = get_u64(buf, v->task_name);
	}
	return 0;
}

/* Reads the Future or Task at @addr (@want_task: only a Task will do) in one read: the
 * object, whose head says whether it is one. */
static int read_fut(struct hl_asyncio *a, uint64_t addr, bool want_task, struct task_view *tv)
{
	uint8_t buf[TASK_READ_MAX];
	unsigned size = want_task ? a->v.task_size : a->fut_read;
	int err;

	memset(tv, 0, sizeof(*tv));
	if (!addr)
		return -EFAULT;
	if (size > sizeof(buf) || size < 16)
		return -EINVAL;
	err = hl_procmem_read(a->pid, addr, buf, size);
	return err ? err : parse_fut(a, addr, buf, size, want_task, tv);
}

static bool is_default_name(const char *s)
{
	if (strncmp(s, "Task-", 5) || !s[5])
		return false;
	for (s += 5; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A short compact str or a small int, from one read of the object: the usual task name. */
static bool read_name_fast(struct hl_asyncio *a, uint64_t obj, char *out, size_t size,
			   bool *is_default)
{
	const struct hl_pyver *v = &a->v;
	uint8_t buf[128];
	ssize_t got = hl_procmem_read_partial(a->pid, obj, buf, sizeof(buf));
	uint64_t length, tag, digits = 0;
	uint32_t state;
	int kind;

	if (got < 40)
		return false;
	kind = kind_of_type(a, get_u64(buf, 8));
	if (kind == K_STR) {
		length = get_u64(buf, v->unicode_length);
		memcpy(&state, buf + v->unicode_state, 4);
		/* Compact (bit 5) ASCII (bit 6): the characters follow the header. */
		if (!(state & (1u << 5)) || !(state & (1u << 6)) || length >= size ||
		    v->unicode_ascii_data + length > (uint64_t)got)
			return false;
		memcpy(out, buf + v->unicode_ascii_data, length);
		out[length] = '\0';
		*is_default = is_default_name(out);
		return true;
	}
	if (kind == K_INT && v->long_tagged && v->long_digits + 8u <= (uint64_t)got) {
		/* 3.12+ lv_tag: digit count << 3 | sign (0 positive, 1 zero, 2 negative). */
		tag = get_u64(buf, v->long_size);
		if ((tag & 3) == 2 || (tag & 3) == 3 || (tag >> 3) > 2)
			return false;
		if ((tag & 3) != 1) {
			uint32_t d[2] = {0, 0};

			memcpy(d, buf + v->long_digits, (tag >> 3) * 4);
			digits = (uint64_t)d[0] | (uint64_t)d[1] << 30;
		}
		snprintf(out, size, "Task-%llu", (unsigned long long)digits);
		*is_default = true;
		return true;
	}
	return false;
}

/* The task's name: a str, or (3.12+) the int N of a default name "Task-N". */
static void read_name(struct hl_asyncio *a, const struct task_view *tv, char *out, size_t size,
		      bool *is_default)
{
	int64_t n;
	char *s;

	*is_default = false;
	if (tv->name && read_name_fast(a, tv->name, out, size, is_default))
		return;
	if (hl_pyobj_is_str(&a->r, tv->name) > 0 && !hl_pyobj_read_str(&a->r, tv->name, &s)) {
		hl_strlcpy(out, s, size);
		*is_default = is_default_name(s);
		free(s);
		return;
	}
	if (!hl_pyobj_read_long(&a->r, tv->name, &n)) {
		snprintf(out, size, "Task-%lld", (long long)n);
		*is_default = true;
		return;
	}
	snprintf(out, size, "[unnamed task 0x%llx]", (unsigned long long)tv->addr);
}

/* The done callbacks of @tv: callback0, then the first of each (callback, context) tuple of
 * the callbacks list.  Returns how many were stored in @cbs (at most CB_MAX). */
static unsigned read_callbacks(struct hl_asyncio *a, const struct task_view *tv, uint64_t *cbs)
{
	const struct hl_pyver *v = &a->v;
	uint64_t items[CB_MAX], size = 0, arr = 0, tuple;
	unsigned n = 0, i;

	if (tv->callback0)
		cbs[n++] = tv->callback0;
	if (!tv->callbacks || kind_of(a, tv->callbacks, NULL) != K_LIST ||
	    read_u64(a, tv->callbacks + 16, &size) || read_u64(a, tv->callbacks + v->list_items, &arr))
		return n;
	if (size > CB_MAX - n)
		size = CB_MAX - n;
	if (!size || hl_procmem_read(a->pid, arr, items, size * 8))
		return n;
	for (i = 0; i < size; i++)
		if (!read_u64(a, items[i] + v->tuple_items, &tuple) && tuple)
			cbs[n++] = tuple;
	return n;
}

/* ---- coroutine await chains -------------------------------------------------------------- */

/* Reads one coroutine (or generator, async generator) frame: its code, lasti and the object
 * it awaits (*yf, 0 when it is not suspended in an await).  Returns 1 with @f filled, 0 when
 * @coro is not a coroutine with a live frame, or -errno. */
static int read_coro(struct hl_asyncio *a, uint64_t coro, struct hl_async_frame *f, uint64_t *yf)
{
	const struct hl_pyver *v = &a->v;
	uint8_t buf[1024], op[2];
	uint64_t frame, code, ip, start, fp, top = 0;
	ssize_t got = 0;
	int32_t lasti;
	int kind, err;

	*yf = 0;
	/* One read: the object's head and, from 3.11, its frame and the start of its value
	 * stack (where the awaited object usually is). */
	if (coro)
		got = hl_procmem_read_partial(a->pid, coro, buf, sizeof(buf));
	if (got < 24)
		return -EFAULT;
	kind = kind_of_type(a, get_u64(buf, 8));
	if (kind == K_ASEND) {
		/* `await agen.asend(x)`: the async generator behind it runs the frame. */
		if (v->asend_gen + 8u > (uint64_t)got)
			return -EFAULT;
		coro = get_u64(buf, v->asend_gen);
		got = coro ? hl_procmem_read_partial(a->pid, coro, buf, sizeof(buf)) : 0;
		if (got < 24)
			return -EFAULT;
		kind = kind_of_type(a, get_u64(buf, 8));
	}
	if (kind == K_UNKNOWN)
		return -EFAULT;
	if (kind != K_CORO && kind != K_GEN && kind != K_ASYNCGEN)
		return 0;
	memset(f, 0, sizeof(*f));
	f->flags = HL_PYF_GENERATOR;
	if (v->gen_frame != HL_OFF_NONE) {
		/* ≤3.10: a PyFrameObject, NULL once the coroutine finished. */
		if (v->gen_frame + 8u > (uint64_t)got)
			return -EFAULT;
		frame = get_u64(buf, v->gen_frame);
		if (!frame)
			return 0;
		if (v->frame_size > sizeof(buf) || hl_procmem_read(a->pid, frame, buf, v->frame_size))
			return -EFAULT;
		code = get_u64(buf, v->frame_code);
		lasti = get_i32(buf, v->frame_lasti);
		/* _PyGen_yf: suspended after YIELD_FROM, the awaited object is the top of the
		 * value stack.  3.8–3.9 count lasti in bytes and keep f_stacktop; 3.10 counts
		 * code units and keeps f_valuestack + f_stackdepth. */
		if (lasti >= 0 && lasti < (1 << 28)) {
			uint64_t co_code, at;

			at = a->minor >= 10 ? ((uint64_t)lasti + 1) * 2 : (uint64_t)lasti + 2;
			if (!read_u64(a, code + v->code_code, &co_code) &&
			    !hl_procmem_read(a->pid, co_code + 32 + at, op, 1) &&
			    op[0] == OP_YIELD_FROM_38) {
				if (v->frame_stackdepth == HL_OFF_NONE) {
					top = get_u64(buf, v->frame_stack);
					if (top)
						top -= 8;
				} else {
					int32_t depth = get_i32(buf, v->frame_stackdepth);
					uint64_t base = get_u64(buf, v->frame_stack);

					top = depth > 0 && (uint32_t)depth < STACK_MAX_SLOTS && base
						      ? base + ((uint64_t)depth - 1) * 8
						      : 0;
				}
			}
		}
	} else {
		/* 3.11+: the frame lives inside the coroutine, after its head. */
		unsigned size = v->gen_iframe + v->frame_localsplus;
		bool yield_from;
		int8_t state;

		if (size > sizeof(buf) || (uint64_t)got < size)
			return -EFAULT;
		state = (int8_t)buf[v->gen_frame_state];
		if (state >= a->fs.completed)
			return 0;
		frame = coro + v->gen_iframe;
		code = get_u64(buf, v->gen_iframe + v->frame_code) & v->code_tag_mask;
		ip = get_u64(buf, v->gen_iframe + v->frame_lasti);
		start = code + v->code_adaptive;
		lasti = ip >= start && ip - start < (1ull << 31) ? (int32_t)((ip - start) / 2) : -1;
		if (state == a->fs.created)
			lasti = -1;
		if (a->minor <= 12) {
			/* 3.11–3.12 have no SUSPENDED_YIELD_FROM state: a suspended frame waits
			 * in `yield from` / `await` when prev_instr[1] is RESUME with oparg >= 2
			 * (_PyGen_yf). */
			yield_from = state != a->fs.created && state < 0 && lasti >= 0 &&
				     !hl_procmem_read(a->pid, ip + 2, op, 2) &&
				     (op[0] == OP_RESUME ||
				      (a->minor == 11 && op[0] == OP_RESUME_QUICK_311) ||
				      (a->minor == 12 && op[0] == OP_INSTRUMENTED_RESUME_312)) &&
				     op[1] >= 2;
		} else {
			yield_from = state == a->fs.suspended_yield_from;
		}
		if (yield_from) {
			if (v->minor >= 14) {
				/* stackpointer: one past the top; non-empty past the locals. */
				uint64_t sp = get_u64(buf, v->gen_iframe + v->frame_stack);

				if (sp > frame + v->frame_localsplus &&
				    sp - frame < (uint64_t)STACK_MAX_SLOTS * 8)
					top = sp - 8;
			} else {
				int32_t depth = get_i32(buf, v->gen_iframe + v->frame_stack);

				if (depth > 0 && (uint32_t)depth < STACK_MAX_SLOTS)
					top = frame + v->frame_localsplus + ((uint64_t)depth - 1) * 8;
			}
		}
	}
	if (!code)
		return 0;
	err = read_u64(a, code + (v->code_firstlineno & ~7u), &fp);
	if (err)
		return err;
	f->code = code;
	f->fingerprint = fp;
	f->lasti = lasti;
	if (lasti < 0 && v->minor >= 11)
		f->flags |= HL_PYF_BAD_LASTI;
	if (top) {
		/* The top of the stack: already read when it lies in the coroutine object. */
		if (v->gen_frame == HL_OFF_NONE && top >= coro && top + 8 <= coro + (uint64_t)got)
			*yf = get_u64(buf, top - coro);
		else if (read_u64(a, top, yf))
			*yf = 0;
		*yf &= v->code_tag_mask; /* 3.14 stack references are tagged like f_executable */
	}
	return 1;
}

int hl_asyncio__coro_chain(struct hl_asyncio *a, uint64_t coro, struct hl_async_frame *frames,
			   unsigned max)
{
	uint64_t seen[HL_ASYNC_CORO_DEPTH];
	unsigned n = 0, i;
	int ret;

	while (coro && n < max && n < HL_ASYNC_CORO_DEPTH) {
		uint64_t yf;

		for (i = 0; i < n; i++)
			if (seen[i] == coro)
				return n; /* a chain that loops (torn): what we have so far */
		seen[n] = coro;
		ret = read_coro(a, coro, &frames[n], &yf);
		if (ret < 0)
			return ret;
		if (!ret)
			break;
		n++;
		coro = yf;
	}
	return (int)n;
}

/* ---- code flags: which frames belong to coroutines --------------------------------------- */

static uint64_t code_key(uint64_t code, uint64_t fp)
{
	return code ^ (fp * 0x9e3779b97f4a7c15ULL);
}

/* Whether the code object runs as a coroutine (async def, or @types.coroutine).  Unreadable:
 * false. */
static bool is_coroutine_code(struct hl_asyncio *a, uint64_t code, uint64_t fp)
{
	uint64_t key = code_key(code, fp), v;
	uint32_t flags;

	if (hl_map__get(a->codes, key, &v))
		return (v - 1) & (CO_COROUTINE | CO_ITERABLE_COROUTINE);
	if (hl_procmem_read_u32(a->pid, code + a->v.code_flags, &flags))
		return false;
	if (hl_map__count(a->codes) >= CODES_MAX)
		hl_map__clear(a->codes);
	hl_map__set(a->codes, key, (uint64_t)flags + 1);
	return flags & (CO_COROUTINE | CO_ITERABLE_COROUTINE);
}

bool hl_asyncio_has_coroutine_frame(const struct hl_py_frame *frames, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (frames[i].gen)
			return true;
	return false;
}

/* ---- setup ------------------------------------------------------------------------------- */

/* 3.14: the _asyncio module describes its own structs in the .AsyncioDebug section
 * (_Py_AsyncioModuleDebugOffsets): take the task fields from there. */
struct asyncio_debug {
	uint64_t task_size, task_name, task_awaited_by, task_is_task, task_awaited_by_is_set,
		task_coro, task_node;
	uint64_t interp_size, interp_tasks_head;
	uint64_t ts_size, ts_running_loop, ts_running_task, ts_tasks_head;
};

static int read_asyncio_debug(struct hl_asyncio *a, struct asyncio_debug *d)
{
	struct hl_maps maps;
	const char *last = "";
	int err = -ENOENT;
	size_t i;

	if (hl_maps__read(&maps, a->pid))
		return -ESRCH;
	for (i = 0; i < maps.count && err; i++) {
		const struct hl_mapping *m = &maps.entries[i];
		const char *base = strrchr(m->path, '/');
		char path[600];
		const void *data = NULL;
		uint64_t size = 0;
		struct hl_elf *elf;

		base = base ? base + 1 : m->path;
		if (m->path[0] != '/' || !strcmp(m->path, last) ||
		    (strncmp(base, "_asyncio", 8) && strcmp(m->path, a->py->binary)))
			continue;
		last = m->path;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)a->pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
		elf = hl_elf__open(path);
		if (!elf) {
			snprintf(path, sizeof(path), "/proc/%d/root%s", (int)a->pid, m->path);
			elf = hl_elf__open(path);
		}
		if (!elf)
			continue;
		if (!hl_elf__find_section(elf, ".AsyncioDebug", NULL, &size, &data) && data &&
		    size >= sizeof(*d)) {
			memcpy(d, data, sizeof(*d));
			err = 0;
		}
		hl_elf__free(elf);
	}
	hl_maps__release(&maps);
	return err;
}

static uint16_t debug_off(uint64_t v, bool *ok)
{
	if (v >= TASK_READ_MAX)
		*ok = false;
	return (uint16_t)v;
}

static void apply_asyncio_debug(struct hl_asyncio *a)
{
	struct hl_pyver *v = &a->v;
	struct asyncio_debug d;
	struct hl_pyver n = *v;
	bool ok = true;

	if (read_asyncio_debug(a, &d)) {
		hl_debug("pid %d: no .AsyncioDebug section found; using the built-in 3.%u layout",
			 (int)a->pid, a->minor);
		return;
	}
	n.task_size = debug_off(d.task_size, &ok);
	n.task_name = debug_off(d.task_name, &ok);
	n.fut_awaited_by = debug_off(d.task_awaited_by, &ok);
	n.fut_awaited_by_is_set = debug_off(d.task_awaited_by_is_set, &ok);
	n.task_coro = debug_off(d.task_coro, &ok);
	n.task_node = debug_off(d.task_node, &ok);
	if (!ok || d.ts_running_task >= 0xffff || d.ts_tasks_head >= 0xffff ||
	    d.interp_tasks_head >= 0xffff || n.task_node + 16u > n.task_size ||
	    n.task_coro + 8u > n.task_size) {
		hl_warn("pid %d: implausible .AsyncioDebug offsets; using the built-in layout",
			(int)a->pid);
		return;
	}
	n.tstate_asyncio_running_task = (uint16_t)d.ts_running_task;
	n.tstate_asyncio_tasks_head = (uint16_t)d.ts_tasks_head;
	n.interp_asyncio_tasks_head = (uint16_t)d.interp_tasks_head;
	*v = n;
}

struct hl_asyncio *hl_asyncio__new(const struct hl_python *py)
{
	struct hl_asyncio *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->py = py;
	a->v = py->ver;
	a->pid = py->pid;
	a->minor = py->minor;
	a->r.pid = py->pid;
	a->r.ver = &a->v;
	if (py->minor >= 13)
		a->fs = (struct frame_states){.created = -3, .suspended_yield_from = -1,
					      .completed = 1};
	else
		a->fs = (struct frame_states){.created = -2, .suspended_yield_from = -128,
					      .completed = 1};
	a->types = hl_map__new(64);
	a->methods = hl_map__new(16);
	a->codes = hl_map__new(256);
	a->coro_task = hl_map__new(256);
	a->nodes = calloc(NODE_SLOTS, sizeof(*a->nodes));
	if (!a->types || !a->methods || !a->codes || !a->coro_task || !a->nodes) {
		hl_asyncio__free(a);
		errno = ENOMEM;
		return NULL;
	}
	return a;
}

void hl_asyncio__free(struct hl_asyncio *a)
{
	if (!a)
		return;
	hl_map__free(a->types);
	hl_map__free(a->methods);
	hl_map__free(a->codes);
	hl_map__free(a->coro_task);
	free(a->nodes);
	free(a);
}

static int module_global(struct hl_asyncio *a, const char *module, const char *name,
			 uint64_t *out)
{
	*out = 0;
	return hl_pyobj_module_global(&a->r, a->py->runtime, module, name, out);
}

/* Looks asyncio up in the target.  Returns the new state. */
static int setup(struct hl_asyncio *a)
{
	const struct hl_pyver *v = &a->v;
	uint64_t mod, basicsize = 0;
	int err;

	err = hl_pyobj_module(&a->r, a->py->runtime, "asyncio.tasks", &mod);
	if (err)
		return ST_INACTIVE;
	if (a->minor >= 14)
		apply_asyncio_debug(a);
	if (module_global(a, "asyncio.tasks", "Task", &a->task_type) ||
	    module_global(a, "asyncio.futures", "Future", &a->future_type))
		return ST_INACTIVE; /* still importing */
	/* The C Task (_asyncio.Task) is what we can read; without the accelerator module
	 * asyncio.Task is the pure-Python _PyTask, whose fields are attributes. */
	if (read_u64(a, a->task_type + v->type_basicsize, &basicsize) ||
	    basicsize != v->task_size) {
		if (!a->warned)
			hl_warn("pid %d: asyncio.Task is not the C Task (size %llu, expected %u): "
				"no asyncio task stacks for it", (int)a->pid,
				(unsigned long long)basicsize, v->task_size);
		a->warned = true;
		return ST_UNSUPPORTED;
	}
	hl_map__clear(a->types);
	/* Up to the end of the fields read from a plain future. */
	a->fut_read = HL_MAX(HL_MAX(v->fut_state + 4u, v->fut_callbacks + 8u), v->fut_callback0 + 8u);
	if (v->fut_awaited_by != HL_OFF_NONE)
		a->fut_read = HL_MAX(a->fut_read, HL_MAX(v->fut_awaited_by + 8u,
							  v->fut_awaited_by_is_set + 1u));
	if (a->minor <= 13) {
		module_global(a, "asyncio.tasks", "_current_tasks", &a->current_tasks);
		if (a->minor <= 11) {
			module_global(a, "asyncio.tasks", "_all_tasks", &a->weaksets[0]);
		} else {
			module_global(a, "asyncio.tasks", "_scheduled_tasks", &a->weaksets[0]);
			module_global(a, "asyncio.tasks", "_eager_tasks", &a->eager_tasks);
		}
	}
	hl_debug("pid %d: asyncio in use: Task 0x%llx, Future 0x%llx", (int)a->pid,
		 (unsigned long long)a->task_type, (unsigned long long)a->future_type);
	return ST_ACTIVE;
}

/* A single miss right after start left the next 3 s of samples unattributed (inferred from
 * CI's counters: ~2.8 s of a 5 s recording; not reproduced here). */
#define ASYNC_FIRST_RECHECK_NS (16ULL * 1000000)

bool hl_asyncio__active(struct hl_asyncio *a, uint64_t now_ns, uint64_t recheck_ns)
{
	if (a->state == ST_ACTIVE)
		return true;
	if (a->state == ST_UNSUPPORTED || (a->state != ST_UNKNOWN && now_ns < a->next_check_ns))
		return false;
	a->state = setup(a);
	/* A miss is often transient (asyncio still importing, a dict resized under the read):
	 * check again soon, then less and less often. */
	a->check_interval_ns = a->check_interval_ns ? HL_MIN(2 * a->check_interval_ns, recheck_ns)
						    : HL_MIN(ASYNC_FIRST_RECHECK_NS, recheck_ns);
	a->next_check_ns = now_ns + a->check_interval_ns;
	return a->state == ST_ACTIVE;
}

/* ---- the task registries ----------------------------------------------------------------- */

typedef int (*task_fn)(struct hl_asyncio *a, const struct task_view *tv, void *arg);

struct walk {
	task_fn fn;
	void *arg;
	unsigned seen; /* tasks looked at: the walk stops at HL_ASYNC_SCAN_MAX */
	int ret;
};

/* Reads a batch of candidate task addresses and hands the pending tasks on. */
static int visit_tasks(struct hl_asyncio *a, const uint64_t *addrs, size_t n, struct walk *w)
{
	static struct hl_procmem_req reqs[SCAN_CHUNK];
	static uint8_t bufs[SCAN_CHUNK][TASK_READ_MAX];
	const struct hl_pyver *v = &a->v;
	size_t i, m = 0;
	int err;

	if (v->task_size > TASK_READ_MAX)
		return -EINVAL;
	for (i = 0; i < n && m < SCAN_CHUNK; i++) {
		if (!addrs[i])
			continue;
		reqs[m] = (struct hl_procmem_req){.addr = addrs[i], .buf = bufs[m],
						  .len = v->task_size};
		m++;
	}
	err = hl_procmem_read_many(a->pid, reqs, m);
	if (err)
		return err;
	for (i = 0; i < m; i++) {
		const uint8_t *b = bufs[i];
		struct task_view tv = {0};
		int ret;

		if (reqs[i].err || kind_of_type(a, get_u64(b, 8)) != K_TASK)
			continue;
		if (++w->seen > HL_ASYNC_SCAN_MAX)
			return 1;
		tv.addr = reqs[i].addr;
		tv.type = get_u64(b, 8);
		tv.kind = K_TASK;
		tv.state = get_i32(b, v->fut_state);
		tv.coro = get_u64(b, v->task_coro);
		tv.fut_waiter = get_u64(b, v->task_fut_waiter);
		tv.name = get_u64(b, v->task_name);
		tv.callback0 = get_u64(b, v->fut_callback0);
		tv.callbacks = get_u64(b, v->fut_callbacks);
		if (v->fut_awaited_by != HL_OFF_NONE) {
			tv.awaited_by = get_u64(b, v->fut_awaited_by);
			tv.awaited_by_is_set = b[v->fut_awaited_by_is_set];
		}
		if (tv.state != FUT_PENDING)
			continue;
		ret = w->fn(a, &tv, w->arg);
		if (ret) {
			w->ret = ret;
			return 1;
		}
	}
	return 0;
}

/* Calls @fn with the keys of the set at @set, SET_CHUNK at a time (@weak: they are weak
 * references, whose referents are passed instead).  Returns 0, 1 (stopped) or -errno. */
static int walk_set(struct hl_asyncio *a, uint64_t set, bool weak, struct walk *w)
{
	static uint64_t entries[SET_CHUNK * 2], keys[SET_CHUNK], refs[SET_CHUNK];
	static struct hl_procmem_req reqs[SET_CHUNK];
	const struct hl_pyver *v = &a->v;
	uint64_t mask, table, i, done;
	size_t n, k;
	int ret;

	if (kind_of(a, set, NULL) != K_SET || read_u64(a, set + v->set_mask, &mask) ||
	    read_u64(a, set + v->set_table, &table))
		return -EFAULT;
	if (mask >= (uint64_t)HL_ASYNC_SCAN_MAX * 8 || ((mask + 1) & mask))
		return -EINVAL;
	for (done = 0; done <= mask; done += n) {
		n = (size_t)HL_MIN(mask + 1 - done, (uint64_t)SET_CHUNK);
		if (hl_procmem_read(a->pid, table + done * 16, entries, n * 16))
			return -EFAULT;
		for (i = 0, k = 0; i < n; i++)
			if (entries[2 * i])
				keys[k++] = entries[2 * i];
		if (weak) {
			/* WeakSet.data holds weakref objects: wr_object is the task (or None
			 * once it died, which is not a task). */
			for (i = 0; i < k; i++) {
				reqs[i] = (struct hl_procmem_req){.addr = keys[i] + v->weakref_object,
								  .buf = &refs[i], .len = 8};
			}
			ret = hl_procmem_read_many(a->pid, reqs, k);
			if (ret)
				return ret;
			for (i = 0; i < k; i++)
				keys[i] = reqs[i].err ? 0 : refs[i];
		}
		ret = visit_tasks(a, keys, k, w);
		if (ret)
			return ret;
	}
	return 0;
}

/* 3.14: a circular list of llist_node embedded in the tasks, from @head. */
static int walk_list(struct hl_asyncio *a, uint64_t head, struct walk *w)
{
	const struct hl_pyver *v = &a->v;
	uint64_t node, batch[64];
	unsigned n = 0, steps = 0;
	int ret;

	if (read_u64(a, head, &node))
		return -EFAULT;
	while (node && node != head && steps++ < HL_ASYNC_SCAN_MAX) {
		batch[n++] = node - v->task_node;
		if (read_u64(a, node, &node))
			break;
		if (n == HL_ARRAY_SIZE(batch)) {
			ret = visit_tasks(a, batch, n, w);
			if (ret)
				return ret;
			n = 0;
		}
	}
	return n ? visit_tasks(a, batch, n, w) : 0;
}

static int walk_registries(struct hl_asyncio *a, task_fn fn, void *arg)
{
	const struct hl_pyver *v = &a->v;
	struct walk w = {.fn = fn, .arg = arg};
	uint64_t interp, tstate;
	unsigned threads = 0;
	size_t i;
	int ret = 0;

	if (a->state != ST_ACTIVE)
		return -ENOENT;
	if (a->minor >= 14) {
		if (read_u64(a, a->py->runtime + v->runtime_interpreters_head, &interp) ||
		    read_u64(a, interp + v->interp_threads_head, &tstate))
			return -EFAULT;
		while (tstate && threads++ < THREADS_MAX && ret >= 0 && ret != 1) {
			ret = walk_list(a, tstate + v->tstate_asyncio_tasks_head, &w);
			if (read_u64(a, tstate + v->tstate_next, &tstate))
				break;
		}
		/* Tasks still pending when their thread ended. */
		if (ret >= 0 && ret != 1)
			ret = walk_list(a, interp + v->interp_asyncio_tasks_head, &w);
	} else {
		for (i = 0; i < HL_ARRAY_SIZE(a->weaksets) && ret >= 0 && ret != 1; i++) {
			uint64_t data;

			if (!a->weaksets[i])
				continue;
			if (hl_pyobj_getattr(&a->r, a->weaksets[i], "data", &data))
				return -EFAULT;
			ret = walk_set(a, data, true, &w);
		}
		if (a->eager_tasks && ret >= 0 && ret != 1)
			ret = walk_set(a, a->eager_tasks, false, &w);
	}
	if (ret < 0)
		return ret;
	return w.ret;
}

struct public_walk {
	int (*cb)(uint64_t task, void *arg);
	void *arg;
};

static int public_cb(struct hl_asyncio *a, const struct task_view *tv, void *arg)
{
	struct public_walk *p = arg;

	(void)a;
	return p->cb(tv->addr, p->arg);
}

int hl_asyncio__for_each_task(struct hl_asyncio *a, int (*cb)(uint64_t task, void *arg),
			      void *arg)
{
	struct public_walk p = {.cb = cb, .arg = arg};

	return walk_registries(a, public_cb, &p);
}

static int remember_task(struct hl_asyncio *a, const struct task_view *tv, void *arg)
{
	(void)arg;
	if (tv->coro)
		hl_map__set(a->coro_task, tv->coro, tv->addr);
	return 0;
}

/* Refills the coroutine -> task cache from the registries, unless the last scan was too
 * recent.  Returns whether it scanned. */
static bool scan(struct hl_asyncio *a, uint64_t now_ns)
{
	uint64_t t0, cost, wait;
	int err;

	if (now_ns < a->next_scan_ns)
		return false;
	t0 = hl_now_monotonic_ns();
	hl_map__clear(a->coro_task);
	err = walk_registries(a, remember_task, NULL);
	cost = hl_now_monotonic_ns() - t0;
	wait = HL_MAX(SCAN_MIN_INTERVAL_NS, cost * SCAN_COST_FACTOR);
	a->next_scan_ns = now_ns + wait;
	a->stats.scans++;
	a->stats.scan_ns += cost;
	a->stats.scan_tasks = hl_map__count(a->coro_task);
	if (err < 0)
		hl_debug("pid %d: task registry scan failed: %s", (int)a->pid, strerror(-err));
	return true;
}

/* The tasks running right now: ≤3.13 the values of _current_tasks (one per running loop),
 * 3.14 the running task of thread state @tstate.  Returns how many were stored. */
static unsigned current_tasks(struct hl_asyncio *a, uint64_t tstate, uint64_t *out);

struct current_walk {
	uint64_t *out;
	unsigned n;
};

static int current_cb(uint64_t key, uint64_t value, void *arg)
{
	struct current_walk *c = arg;

	(void)key;
	c->out[c->n++] = value;
	return c->n >= CURRENT_MAX;
}

static unsigned current_tasks(struct hl_asyncio *a, uint64_t tstate, uint64_t *out)
{
	struct current_walk c = {.out = out};

	if (a->v.tstate_asyncio_running_task != HL_OFF_NONE) {
		if (tstate && !read_u64(a, tstate + a->v.tstate_asyncio_running_task, &out[0]) &&
		    out[0])
			return 1;
		return 0;
	}
	if (a->current_tasks)
		hl_pyobj_dict_for_each(&a->r, a->current_tasks, current_cb, &c);
	return c.n;
}

/* Files the tasks running right now in the coroutine -> task cache. */
static void refresh_current(struct hl_asyncio *a, uint64_t tstate)
{
	uint64_t cur[CURRENT_MAX];
	struct task_view tv;
	unsigned nt = current_tasks(a, tstate, cur), k;

	for (k = 0; k < nt; k++)
		if (!read_fut(a, cur[k], true, &tv) && tv.coro && tv.state == FUT_PENDING)
			hl_map__set(a->coro_task, tv.coro, tv.addr);
}

int hl_asyncio__running_task(struct hl_asyncio *a, uint64_t tstate, uint64_t *task)
{
	uint64_t cur[CURRENT_MAX];
	unsigned n;

	*task = 0;
	if (a->state != ST_ACTIVE)
		return -ENOENT;
	/* ≤3.13 keys the running tasks by event loop, not by thread: with several loops
	 * running in several threads, which is whose is not known here. */
	n = current_tasks(a, tstate, cur);
	*task = n ? cur[0] : 0;
	return 0;
}

/* Checks that @task is a pending Task whose coroutine is the sample's coroutine frame @f —
 * the same object (f->gen), running the same code, in the same await.  A task that
 * finished after the sample may have left its addresses to a new task: the code check catches
 * a new coroutine of another function, the await check a new task of the same function
 * that is somewhere else by now (and, as a price, a task that moved on since the sample: both
 * are left unattributed).  What no check can tell from memory is a new task of the same
 * function, at both old addresses, in the very await the old one was sampled in. */
static int check_task(struct hl_asyncio *a, uint64_t task, const struct hl_py_frame *f,
		      struct task_view *tv)
{
	const struct hl_pyver *v = &a->v;
	uint8_t buf[TASK_READ_MAX], fr[HL_FRAME_READ];
	uint64_t frame, code, ip, start;
	int32_t lasti;
	int err;
	/* The task and its coroutine's frame (3.11+, embedded) or frame pointer (≤3.10) in
	 * one system call. */
	struct hl_procmem_req reqs[2] = {
		{.addr = task, .buf = buf, .len = v->task_size},
		{.addr = f->gen + (v->gen_frame != HL_OFF_NONE ? v->gen_frame : v->gen_iframe),
		 .buf = fr, .len = v->gen_frame != HL_OFF_NONE ? 8 : v->frame_size},
	};

	if (v->task_size > sizeof(buf) || v->frame_size > sizeof(fr) || !task)
		return -EINVAL;
	err = hl_procmem_read_many(a->pid, reqs, 2);
	if (err || reqs[0].err || reqs[1].err)
		return err ? err : -EFAULT;
	err = parse_fut(a, task, buf, v->task_size, true, tv);
	if (err)
		return err;
	if (tv->coro != f->gen || tv->state != FUT_PENDING)
		return -ESTALE;
	if (v->gen_frame != HL_OFF_NONE) {
		/* ≤3.10: the frame object, one read further. */
		frame = get_u64(fr, 0);
		if (!frame || hl_procmem_read(a->pid, frame, fr, v->frame_size))
			return -ESTALE;
		code = get_u64(fr, v->frame_code);
		lasti = get_i32(fr, v->frame_lasti);
	} else {
		code = get_u64(fr, v->frame_code) & v->code_tag_mask;
		ip = get_u64(fr, v->frame_lasti);
		start = code + v->code_adaptive;
		lasti = ip >= start && ip - start < (1ull << 31) ? (int32_t)((ip - start) / 2) : -1;
	}
	/* A task that was sampled inside an await and has since yielded there sits a few code
	 * units from where it was sampled: ≤3.10 one instruction back (YIELD_FROM re-runs when
	 * resumed), 3.11+ on the YIELD_VALUE after the SEND.  With many concurrent tasks that
	 * is the common case by the time the sample is read, and it is still the same await. */
	return code == f->code && lasti >= 0 && f->lasti >= 0 &&
			       abs(lasti - f->lasti) <= AWAIT_SPAN
		       ? 0
		       : -ESTALE;
}

/* ---- awaiters ---------------------------------------------------------------------------- */

struct hop {
	struct hl_asyncio *a;
	uint64_t target;      /* the task whose awaiters we look for */
	uint64_t found[HL_ASYNC_MAX_AWAITERS];
	struct task_view first; /* found[0], as read */
	unsigned n_found;     /* in found[] */
	unsigned total;	      /* distinct awaiters seen */
	uint64_t visited[HOP_BUDGET];
	unsigned n_visited;
	bool failed;	      /* some read failed: the list may be incomplete */
};

static bool visit(struct hop *h, uint64_t obj)
{
	unsigned i;

	if (!obj || h->n_visited >= HOP_BUDGET)
		return false;
	for (i = 0; i < h->n_visited; i++)
		if (h->visited[i] == obj)
			return false;
	h->visited[h->n_visited++] = obj;
	return true;
}

/* What an awaiter found must be waiting on right now: a task that is running, or has resumed
 * since the edge was made, waits on nothing, and its frames are not at the await. */
enum waits {
	WAITS_VIA,	 /* @via: its wakeup is one of @via's done callbacks */
	WAITS_ANY,	 /* some future (3.14 awaited_by: the target, or gather's or wait's) */
	WAITS_UNCHECKED, /* a TaskGroup's parent task waits for it wherever it is suspended */
};

/* @task awaits @via (a future between it and the target, or the target itself). */
static void add_awaiter(struct hop *h, uint64_t task, uint64_t via, enum waits waits)
{
	struct task_view tv;
	unsigned i;

	if (!task || task == h->target)
		return;
	for (i = 0; i < h->n_found; i++)
		if (h->found[i] == task)
			return;
	if (read_fut(h->a, task, true, &tv)) {
		h->failed = true;
		return;
	}
	if (tv.state != FUT_PENDING || (waits == WAITS_VIA && tv.fut_waiter != via) ||
	    (waits == WAITS_ANY && !tv.fut_waiter))
		return;
	if (!h->n_found)
		h->first = tv;
	if (h->n_found < HL_ARRAY_SIZE(h->found))
		h->found[h->n_found++] = task;
	h->total++;
}

static void follow_future(struct hop *h, uint64_t fut, unsigned depth);

/* asyncio.Queue-like objects (as_completed's `done`): the tasks blocked in get() wait for
 * the futures in _getters, a deque. */
static void follow_queue(struct hop *h, uint64_t obj, unsigned depth)
{
	struct hl_asyncio *a = h->a;
	const struct hl_pyver *v = &a->v;
	uint64_t getters, block, index, size, item;
	unsigned i;

	if (hl_pyobj_getattr(&a->r, obj, "_getters", &getters) ||
	    kind_of(a, getters, NULL) != K_DEQUE || read_u64(a, getters + 16, &size) ||
	    read_u64(a, getters + v->deque_leftblock, &block) ||
	    read_u64(a, getters + v->deque_leftindex, &index))
		return;
	/* A deque's items: blocks of 64 slots (data[] at 8); the first ones are enough. */
	for (i = 0; i < size && i < GETTERS_MAX && index + i < 64; i++)
		if (!read_u64(a, block + 8 + (index + i) * 8, &item) &&
		    kind_of(a, item, NULL) == K_FUTURE)
			follow_future(h, item, depth + 1);
}

static void follow_object(struct hop *h, uint64_t obj, unsigned depth)
{
	int kind;

	if (depth > HOP_DEPTH || !visit(h, obj))
		return;
	kind = kind_of(h->a, obj, NULL);
	if (kind == K_FUTURE)
		follow_future(h, obj, depth);
	else if (kind == K_OTHER)
		follow_queue(h, obj, depth);
}

/* Whether the PyMethodDef at @def is _asyncio's task_wakeup (asked once per definition:
 * they are static data of the module). */
static bool is_wakeup_def(struct hl_asyncio *a, uint64_t def)
{
	uint64_t name, known;
	char text[16];

	if (hl_map__get(a->methods, def, &known))
		return known == 2;
	if (read_u64(a, def + a->v.methoddef_name, &name) ||
	    hl_procmem_read_partial(a->pid, name, text, sizeof(text)) <= 0)
		return false;
	text[sizeof(text) - 1] = '\0';
	known = strcmp(text, "task_wakeup") ? 1 : 2;
	if (hl_map__count(a->methods) < TYPES_MAX)
		hl_map__set(a->methods, def, known);
	return known == 2;
}

/* Calls follow_object for the first @max items of the tuple at @tuple (cells: their
 * contents). */
static void follow_tuple(struct hop *h, uint64_t tuple, unsigned max, bool cells,
			 unsigned depth)
{
	struct hl_asyncio *a = h->a;
	const struct hl_pyver *v = &a->v;
	uint8_t buf[64 + CELLS_MAX * 8];
	uint64_t cell[CELLS_MAX][3], n;
	struct hl_procmem_req reqs[CELLS_MAX];
	ssize_t got;
	unsigned i;

	got = tuple ? hl_procmem_read_partial(a->pid, tuple, buf, v->tuple_items + max * 8u) : 0;
	if (got < (ssize_t)v->tuple_items || kind_of_type(a, get_u64(buf, 8)) != K_TUPLE)
		return;
	n = HL_MIN(get_u64(buf, 16), (uint64_t)max);
	n = HL_MIN(n, (uint64_t)(got - v->tuple_items) / 8);
	if (!cells) {
		for (i = 0; i < n; i++)
			follow_object(h, get_u64(buf, v->tuple_items + i * 8), depth);
		return;
	}
	/* A closure's cells: read them all at once. */
	for (i = 0; i < n; i++)
		reqs[i] = (struct hl_procmem_req){.addr = get_u64(buf, v->tuple_items + i * 8),
						  .buf = cell[i], .len = sizeof(cell[i])};
	if (hl_procmem_read_many(a->pid, reqs, n))
		return;
	for (i = 0; i < n; i++)
		if (!reqs[i].err && kind_of_type(a, cell[i][1]) == K_CELL && v->cell_ref == 16)
			follow_object(h, cell[i][2], depth);
}

/* One done callback of @via. */
static void follow_callback(struct hop *h, uint64_t cb, uint64_t via, unsigned depth)
{
	struct hl_asyncio *a = h->a;
	const struct hl_pyver *v = &a->v;
	uint8_t buf[128];
	uint64_t x, y;
	ssize_t got;
	unsigned need;
	int kind;

	if (!visit(h, cb))
		return;
	/* One read: the callable, whose head says what it is and where it leads. */
	got = hl_procmem_read_partial(a->pid, cb, buf, sizeof(buf));
	if (got < 16)
		return;
	kind = kind_of_type(a, get_u64(buf, 8));
	need = kind == K_CFUNC	  ? HL_MAX(v->cfunc_def, v->cfunc_self)
	       : kind == K_WAKEUP ? v->wakeup_task
	       : kind == K_METHOD ? v->method_self
	       : kind == K_FUNCTION ? v->func_closure
	       : kind == K_PARTIAL ? v->partial_args
				    : 0;
	if (!need || need == HL_OFF_NONE || need + 8u > (uint64_t)got)
		return;
	switch (kind) {
	case K_CFUNC:
		/* 3.10+: the task's wakeup is a built-in method bound to the awaiting task. */
		if (is_wakeup_def(a, get_u64(buf, v->cfunc_def)))
			add_awaiter(h, get_u64(buf, v->cfunc_self), via, WAITS_VIA);
		return;
	case K_WAKEUP:
		/* 3.8–3.9: TaskWakeupMethWrapper. */
		add_awaiter(h, get_u64(buf, v->wakeup_task), via, WAITS_VIA);
		return;
	case K_METHOD:
		x = get_u64(buf, v->method_self);
		if (kind_of(a, x, NULL) == K_TASK) {
			add_awaiter(h, x, via, WAITS_VIA); /* a Task subclass's own wakeup */
			return;
		}
		/* TaskGroup._on_task_done: the group's parent task, wherever it waits. */
		if (!hl_pyobj_getattr(&a->r, x, "_parent_task", &y) &&
		    kind_of(a, y, NULL) == K_TASK) {
			add_awaiter(h, y, via, WAITS_UNCHECKED);
			return;
		}
		/* 3.13+ as_completed: _AsCompletedIterator._handle_completion, its queue. */
		if (!hl_pyobj_getattr(&a->r, x, "_done", &y))
			follow_object(h, y, depth);
		return;
	case K_FUNCTION:
		/* Closures of gather, shield, wait, ≤3.12 as_completed: a future (or a queue)
		 * in their cells leads to the awaiting task. */
		follow_tuple(h, get_u64(buf, v->func_closure), CELLS_MAX, true, depth);
		return;
	case K_PARTIAL:
		/* ≤3.11 wait_for: functools.partial(_release_waiter, waiter). */
		follow_tuple(h, get_u64(buf, v->partial_args), 4, false, depth);
		return;
	default:
		return;
	}
}

/* The tasks waiting, through @fut, for the target. */
static void follow_future(struct hop *h, uint64_t fut, unsigned depth)
{
	struct task_view tv;
	uint64_t cbs[CB_MAX];
	unsigned n, i;

	if (depth > HOP_DEPTH || read_fut(h->a, fut, false, &tv) || tv.state != FUT_PENDING)
		return;
	n = read_callbacks(h->a, &tv, cbs);
	for (i = 0; i < n; i++)
		follow_callback(h, cbs[i], fut, depth);
}

/* 3.14: task_awaited_by is the awaiting task, or a set of them. */
static void awaited_by(struct hop *h, const struct task_view *tv)
{
	struct hl_asyncio *a = h->a;
	const struct hl_pyver *v = &a->v;
	uint64_t mask, table, entries[2 * 64], i;

	if (!tv->awaited_by)
		return;
	if (!tv->awaited_by_is_set) {
		add_awaiter(h, tv->awaited_by, 0, WAITS_ANY);
		return;
	}
	if (kind_of(a, tv->awaited_by, NULL) != K_SET ||
	    read_u64(a, tv->awaited_by + v->set_mask, &mask) ||
	    read_u64(a, tv->awaited_by + v->set_table, &table) || mask >= 64 ||
	    hl_procmem_read(a->pid, table, entries, (mask + 1) * 16)) {
		h->failed = true;
		return;
	}
	for (i = 0; i <= mask; i++)
		if (entries[2 * i] && kind_of(a, entries[2 * i], NULL) == K_TASK)
			add_awaiter(h, entries[2 * i], 0, WAITS_ANY);
}

/* Finds the tasks awaiting @tv. */
static void awaiters(struct hl_asyncio *a, const struct task_view *tv, struct hop *h)
{
	uint64_t cbs[CB_MAX];
	unsigned n, i;

	memset(h, 0, sizeof(*h));
	h->a = a;
	h->target = tv->addr;
	visit(h, tv->addr);
	if (a->v.fut_awaited_by != HL_OFF_NONE) {
		awaited_by(h, tv);
		if (h->total)
			return;
	}
	n = read_callbacks(a, tv, cbs);
	for (i = 0; i < n; i++)
		follow_callback(h, cbs[i], tv->addr, 0);
}

/* ---- resolving a sample ------------------------------------------------------------------ */


/* What a suspended task contributes to logical stacks — its name, its suspended frames, the
 * task awaiting it — remembered while it stays where it was.  Task, coroutine, name and
 * awaited future are compared on every use, and so is where its outermost coroutine waits;
 * the edge to its awaiter is used while that one too waits on the same future as when the
 * edge was found.  The running task is never remembered: its address may be a new task's
 * (one finishes, the next reuses its memory) with nothing in memory to tell them apart. */
static struct node *node_slot(struct hl_asyncio *a, uint64_t task)
{
	return &a->nodes[((task >> 4) * 0x9e3779b97f4a7c15ULL) >> 56 & (NODE_SLOTS - 1)];
}

/* Fills @nd for task @tv: name, frames when @suspended, first awaiter.  Returns an outcome:
 * HL_ASYNC_ATTRIBUTED, or HL_ASYNC_READ_FAILED. */
static int node_fill(struct hl_asyncio *a, const struct task_view *tv, bool suspended,
		     uint64_t now_ns, struct node *nd)
{
	struct hop h;
	int ret;

	nd->used = false;
	nd->task = tv->addr;
	nd->coro = tv->coro;
	nd->name_obj = tv->name;
	nd->fut_waiter = tv->fut_waiter;
	nd->when_ns = now_ns;
	read_name(a, tv, nd->name, sizeof(nd->name), &nd->default_name);
	nd->n_frames = 0;
	nd->has_frames = suspended;
	if (suspended) {
		ret = hl_asyncio__coro_chain(a, tv->coro, nd->frames, HL_ASYNC_CORO_DEPTH);
		if (ret < 0)
			return HL_ASYNC_READ_FAILED;
		nd->n_frames = (uint16_t)ret;
	}
	awaiters(a, tv, &h);
	if (!h.total && h.failed)
		return HL_ASYNC_READ_FAILED;
	nd->awaiter = h.total ? h.found[0] : 0;
	nd->awaiter_waiter = h.total ? h.first.fut_waiter : 0;
	nd->awaited_by = (uint16_t)HL_MIN(h.total, 0xffffu);
	nd->used = true;
	return HL_ASYNC_ATTRIBUTED;
}

/* Whether the remembered @nd still describes suspended task @tv. */
static bool node_valid(struct hl_asyncio *a, const struct node *nd, const struct task_view *tv,
		       uint64_t now_ns)
{
	struct hl_async_frame f;
	uint64_t yf;

	if (!nd->used || !nd->has_frames || nd->task != tv->addr || nd->coro != tv->coro ||
	    nd->name_obj != tv->name || nd->fut_waiter != tv->fut_waiter || now_ns < nd->when_ns ||
	    now_ns - nd->when_ns >= NODE_TTL_NS)
		return false;
	/* Where its outermost coroutine waits: one read of its frame (3.11+). */
	if (!nd->n_frames)
		return true;
	return read_coro(a, tv->coro, &f, &yf) == 1 && f.code == nd->frames[0].code &&
	       f.lasti == nd->frames[0].lasti;
}

/* Walks up from the running task @running: each awaiter, its name and its suspended frames.
 * With @cached, reuses what node_slot() remembers where it is still valid.  Returns an enum
 * hl_async_outcome. */
static int build(struct hl_asyncio *a, const struct task_view *running, bool cached,
		 uint64_t now_ns, struct hl_async_stack *r)
{
	struct task_view tv = *running, next, again;
	uint64_t chain[HL_ASYNC_MAX_TASKS];
	struct hl_async_task tmp;
	struct node fresh, *nd;
	unsigned n = 0, i, j;
	int ret;

	r->n_tasks = r->n_frames = r->n_inner = 0;
	for (;;) {
		struct hl_async_task *t = &r->tasks[n];
		bool suspended = n > 0, reused;

		nd = cached && suspended ? node_slot(a, tv.addr) : &fresh;
		reused = nd != &fresh && node_valid(a, nd, &tv, now_ns);
		if (reused)
			a->stats.cache_hits++;
		if (!reused) {
			ret = node_fill(a, &tv, suspended, now_ns, nd);
			if (ret != HL_ASYNC_ATTRIBUTED)
				return ret;
		}
		/* The awaiter: still pending, and still where it was when the edge was found. */
		if (nd->awaiter && (read_fut(a, nd->awaiter, true, &next) ||
				    next.state != FUT_PENDING || next.fut_waiter != nd->awaiter_waiter)) {
			if (!reused)
				return HL_ASYNC_READ_FAILED;
			ret = node_fill(a, &tv, suspended, now_ns, nd);
			if (ret != HL_ASYNC_ATTRIBUTED)
				return ret;
			if (nd->awaiter && read_fut(a, nd->awaiter, true, &next))
				return HL_ASYNC_READ_FAILED;
		}
		/* All of it was read after the sample, while the target ran on.  A suspended
		 * task's frames are where it awaits only if it still waits on the same future
		 * after they were read; and no awaiter found proves nothing if the task has
		 * finished since (that released its awaiters, which then moved on). */
		if ((suspended || !nd->awaiter) &&
		    (read_fut(a, tv.addr, true, &again) || again.state != FUT_PENDING ||
		     again.coro != tv.coro || (suspended && again.fut_waiter != tv.fut_waiter)))
			return HL_ASYNC_READ_FAILED;
		memset(t, 0, sizeof(*t));
		t->addr = tv.addr;
		memcpy(t->name, nd->name, sizeof(t->name));
		t->default_name = nd->default_name;
		t->awaited_by = nd->awaited_by;
		if (suspended) {
			unsigned k = HL_MIN((unsigned)nd->n_frames, HL_ASYNC_MAX_FRAMES - r->n_frames);

			memcpy(r->frames + r->n_frames, nd->frames, k * sizeof(nd->frames[0]));
			t->first_frame = (uint16_t)r->n_frames;
			t->n_frames = (uint16_t)k;
			r->n_frames += k;
		}
		chain[n++] = tv.addr;
		if (!nd->awaiter)
			break;
		for (i = 0; i < n; i++)
			if (chain[i] == nd->awaiter)
				return HL_ASYNC_CYCLE;
		if (n == HL_ASYNC_MAX_TASKS)
			return HL_ASYNC_TOO_DEEP;
		tv = next;
	}
	/* Root first. */
	for (i = 0, j = n - 1; i < j; i++, j--) {
		tmp = r->tasks[i];
		r->tasks[i] = r->tasks[j];
		r->tasks[j] = tmp;
	}
	r->n_tasks = n;
	return HL_ASYNC_ATTRIBUTED;
}

int hl_asyncio__awaiter_stack(struct hl_asyncio *a, uint64_t task, struct hl_async_stack *out)
{
	struct task_view tv;
	int err;

	out->outcome = HL_ASYNC_NOT_IN_TASK;
	out->boundary = -1;
	out->n_tasks = out->n_frames = out->n_inner = 0;
	if (a->state != ST_ACTIVE)
		return -ENOENT;
	err = read_fut(a, task, true, &tv);
	if (err)
		return err;
	if (tv.state != FUT_PENDING)
		return -EINVAL;
	out->outcome = build(a, &tv, false, hl_now_monotonic_ns(), out);
	if (out->outcome != HL_ASYNC_ATTRIBUTED)
		out->n_tasks = out->n_frames = 0;
	return out->outcome;
}

/* The task running the sample's coroutine frame @f, validated; 0 if none is known. */
static uint64_t task_of(struct hl_asyncio *a, const struct hl_py_frame *f, struct task_view *tv)
{
	uint64_t task;

	if (!hl_map__get(a->coro_task, f->gen, &task))
		return 0;
	if (check_task(a, task, f, tv))
		return 0; /* kept: the task may be this coroutine's still, the sample a stale one */
	return task;
}

int hl_asyncio__resolve(struct hl_asyncio *a, const struct hl_py_frame *frames, unsigned n,
			uint64_t tstate, uint64_t now_ns, struct hl_async_stack *out)
{
	int cand[CANDIDATES_MAX];
	uint64_t t0 = hl_now_monotonic_ns();
	unsigned nc = 0, i, k, pass;
	struct task_view tv, hit;
	bool refreshed = false;
	int found = -1, ret;

	out->outcome = HL_ASYNC_NOT_IN_TASK;
	out->boundary = -1;
	out->n_tasks = out->n_frames = out->n_inner = 0;
	if (a->state != ST_ACTIVE)
		return out->outcome;
	/* Coroutine frames a task may have started, outermost first: a task's step enters its
	 * coroutine from C, so the frame opens a C-level eval call (on 3.12+ that excludes the
	 * coroutines it awaits, which run inline). */
	for (i = n; i-- > 0 && nc < CANDIDATES_MAX;)
		if (frames[i].gen && frames[i].code && (frames[i].flags & HL_PYF_ENTRY) &&
		    !(frames[i].flags & HL_PYF_BAD_LASTI) &&
		    is_coroutine_code(a, frames[i].code, frames[i].fingerprint))
			cand[nc++] = (int)i;
	if (!nc)
		return out->outcome;
	a->stats.resolves++;

	/* The running task's coroutine is the outermost coroutine frame that is a task's:
	 * known from earlier samples, or running right now, or found by a scan.  An inner hit
	 * alone (a task started eagerly inside the running one) is not enough to stop looking. */
	for (pass = 0; pass < 3 && found != 0; pass++) {
		if (pass == 1) {
			refresh_current(a, tstate);
			refreshed = true;
		} else if (pass == 2 && (found >= 0 || !scan(a, now_ns))) {
			break;
		}
		for (k = 0; k < (found < 0 ? nc : (unsigned)found); k++) {
			if (task_of(a, &frames[cand[k]], &tv)) {
				found = (int)k;
				hit = tv;
				break;
			}
		}
	}
	if (found < 0) {
		out->outcome = HL_ASYNC_NO_TASK;
		goto out;
	}
	tv = hit;
	out->boundary = cand[found];

	ret = build(a, &tv, true, now_ns, out);
	out->outcome = ret;
	if (ret != HL_ASYNC_ATTRIBUTED) {
		out->boundary = -1;
		goto out;
	}
	/* Tasks started eagerly inside the running one (their coroutine frames are inside). */
	for (k = found + 1; k < nc && out->n_inner < HL_ASYNC_MAX_INNER; k++) {
		struct hl_async_task *t = &out->inner[out->n_inner];

		if (!task_of(a, &frames[cand[k]], &tv)) {
			/* An eager task runs its first step before it is anywhere but in the
			 * running-task slot. */
			if (refreshed)
				continue;
			refresh_current(a, tstate);
			refreshed = true;
			if (!task_of(a, &frames[cand[k]], &tv))
				continue;
		}
		memset(t, 0, sizeof(*t));
		t->addr = tv.addr;
		read_name(a, &tv, t->name, sizeof(t->name), &t->default_name);
		out->inner_index[out->n_inner++] = cand[k];
	}
out:
	a->stats.resolve_ns += hl_now_monotonic_ns() - t0;
	return out->outcome;
}

/* ---- dumps ------------------------------------------------------------------------------- */

int hl_asyncio__task_info(struct hl_asyncio *a, uint64_t task, struct hl_async_task_info *out)
{
	uint64_t cur[CURRENT_MAX];
	struct task_view tv;
	struct hop h;
	unsigned nt, i;
	int ret;

	memset(out, 0, sizeof(*out));
	if (a->state != ST_ACTIVE)
		return -ENOENT;
	ret = read_fut(a, task, true, &tv);
	if (ret)
		return ret;
	if (tv.state != FUT_PENDING)
		return -EINVAL;
	out->addr = task;
	out->coro = tv.coro;
	read_name(a, &tv, out->name, sizeof(out->name), &out->default_name);
	ret = hl_asyncio__coro_chain(a, tv.coro, out->frames, HL_ARRAY_SIZE(out->frames));
	if (ret < 0)
		return ret;
	out->n_frames = (unsigned)ret;
	awaiters(a, &tv, &h);
	out->n_awaiters = HL_MIN(h.n_found, (unsigned)HL_ASYNC_MAX_AWAITERS);
	memcpy(out->awaiters, h.found, out->n_awaiters * sizeof(out->awaiters[0]));
	out->awaiters_total = h.total;
	if (a->v.tstate_asyncio_running_task == HL_OFF_NONE) {
		nt = current_tasks(a, 0, cur);
		for (i = 0; i < nt; i++)
			if (cur[i] == task)
				out->running = true;
	}
	return 0;
}

void hl_asyncio__stats(const struct hl_asyncio *a, struct hl_asyncio_stats *out)
{
	*out = a->stats;
}
