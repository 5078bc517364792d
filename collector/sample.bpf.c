// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* collector/sample.bpf.c — the sampler: runs in the kernel on every perf-event sample.
 *
 * For a sample that lands in a target process (tgid in `procs`) it records, at that instant,
 * the thread's Python frame chain — (code object, instruction offset) per frame, read
 * straight from the interpreter's memory — whether the thread holds the GIL, and optionally
 * the kernel stack, then hands the record to user space through the `events` ring buffer.
 * It does not name anything: symbolization happens in user space (symbolize/).  Also follows
 * targets across fork (the child becomes a target) and reports exec (user space re-detects
 * the interpreter).
 *
 * Every read of target memory is a checked bpf_probe_read_user; every walk is bounded by
 * max_py_frames.  A target controls these bytes: a bad pointer ends the walk with a status,
 * never more work.
 */
#include "kernel.bpf.h"

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sample.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. */
const volatile __u32 max_py_frames = 256;
const volatile __u8 follow_forks = 1;
const volatile __u8 capture_kernel_stack = 0;
const volatile __u8 capture_python = 1;
/* Bytes of user stack to copy with the user registers (0: neither), for native unwinding. */
const volatile __u32 ustack_bytes = 0;
/* Wake user space only once this much is waiting: one wakeup per batch, not per sample.
 * User space also drains on a timer, so a quiet target's samples still arrive promptly. */
const volatile __u64 wakeup_bytes = 256 << 10;
/* Report the exec of every process on the host, not only of targets (the daemon watches for
 * new interpreters this way instead of polling /proc). */
const volatile __u8 report_all_execs = 0;
/* Innermost Python frames whose first local slots (arguments) are sent, ≤ HL_ARG_FRAMES. */
const volatile __u32 arg_frames = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct hl_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by user space */
} events SEC(".maps");

/* A sample is assembled in its CPU's slot of `samples`, then copied to the ring buffer at
 * its real size.  An array indexed by CPU rather than a per-CPU map: per-CPU values are
 * capped at 32 KiB, and perf-event programs do not nest or migrate, so the slot is ours. */
#define SAMPLE_DATA_MAX                                                                     \
	(sizeof(struct hl_sample) + HL_PY_MAX_FRAMES * sizeof(struct hl_py_frame) +         \
	 HL_ARG_FRAMES * sizeof(struct hl_py_args) + HL_KSTACK_MAX * sizeof(__u64) +         \
	 HL_USER_REGS * sizeof(__u64) + HL_USTACK_MAX)

struct sample_buf {
	__u8 data[SAMPLE_DATA_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of CPUs by user space */
	__type(key, __u32);
	__type(value, struct sample_buf);
} samples SEC(".maps");

struct scratch {
	__u8 tstate[HL_TSTATE_READ];
	__u8 frame[HL_FRAME_READ];
	struct hl_py_args args[HL_ARG_FRAMES]; /* of the innermost frames, copied after them */
};

/* A code record is built here; its own map, as per-CPU values are capped at 32 KiB. */
struct code_scratch {
	__u8 code[sizeof(struct hl_code_record) + HL_CODE_LINETABLE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct code_scratch);
} code_scratch_map SEC(".maps");

/* Per CPU, a direct-mapped memory of the code objects whose names this CPU has already sent:
 * a slot holds a tag of (pid, address, fingerprint).  A miss sends the names again, which is
 * harmless; so is a rare false hit, since user space can still read the code object itself. */
struct code_seen {
	__u64 tag[HL_CODE_SEEN_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct code_seen);
} code_seen_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HL_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1;
}

static __always_inline __u64 read_u64(__u64 addr, int *ok)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		*ok = 0;
	return v;
}

/* Fields of a buffer copied from the target.  The bound check keeps the verifier (and us)
 * inside the buffer whatever offset the table holds; HL_OFF_NONE reads as 0. */
static __always_inline __u64 buf_u64(const __u8 *buf, __u32 off, __u32 size)
{
	if (off > size - 8)
		return 0;
	return *(const __u64 *)(buf + off);
}

static __always_inline __u32 buf_u32(const __u8 *buf, __u32 off, __u32 size)
{
	if (off > size - 4)
		return 0;
	return *(const __u32 *)(buf + off);
}

static __always_inline __u8 buf_u8(const __u8 *buf, __u32 off, __u32 size)
{
	if (off > size - 1)
		return 0;
	return buf[off];
}

static __always_inline __u64 user_tls_base(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(task, thread.fsbase);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(task, thread.uw.tp_value);
#endif
}

struct walk {
	const struct hl_proc *proc;
	struct scratch *scr;
	struct sample_buf *buf;
	struct code_seen *seen;
	__u64 frame; /* next frame to read */
	__u32 pid;
	__u32 n;     /* frames written */
	__u8 status; /* enum hl_py_status */
	__u8 n_new;  /* code objects to send, in new_code[] */
	__u64 new_code[HL_CODES_PER_SAMPLE];
	__u64 new_fp[HL_CODES_PER_SAMPLE];
};

static __always_inline __u64 code_tag(__u32 pid, __u64 code, __u64 fp)
{
	return (code ^ (fp * 0x9e3779b97f4a7c15ULL) ^ ((__u64)pid << 40)) | 1;
}

static __always_inline __u32 code_slot(__u64 tag)
{
	return (__u32)((tag * 0xbf58476d1ce4e5b9ULL) >> 52) & (HL_CODE_SEEN_SLOTS - 1);
}

/* Notes @code for sending with this sample unless this CPU sent it before. */
static __always_inline void note_code(struct walk *w, __u64 code, __u64 fp)
{
	__u64 tag = code_tag(w->pid, code, fp);
	__u32 slot = code_slot(tag);
	__u8 i = w->n_new;

	if (!w->seen || w->seen->tag[slot] == tag || i >= HL_CODES_PER_SAMPLE)
		return;
	w->seen->tag[slot] = tag;
	w->new_code[i] = code;
	w->new_fp[i] = fp;
	w->n_new = i + 1;
}

static __always_inline struct hl_py_frame *frame_slot(struct sample_buf *buf, __u32 i)
{
	if (i >= HL_PY_MAX_FRAMES)
		return 0;
	return (struct hl_py_frame *)(buf->data + sizeof(struct hl_sample) +
				      i * sizeof(struct hl_py_frame));
}

/* Reads the first local slots of the frame being emitted into scratch, if it is one of the
 * arg_frames innermost.  An unreadable slot range is sent as zeros: it only costs the
 * evidence, never the stack. */
static __always_inline void read_args(struct walk *w)
{
	__u32 i = w->n;
	__u16 at = w->proc->off.frame_args;
	struct hl_py_args *a;

	if (i >= arg_frames || i >= HL_ARG_FRAMES)
		return;
	a = &w->scr->args[i];
	if (at == HL_OFF_NONE || bpf_probe_read_user(a, sizeof(*a), (const void *)(w->frame + at)))
		__builtin_memset(a, 0, sizeof(*a));
}

/* One step of the frame walk (a bpf_loop callback): reads the frame at w->frame, emits it
 * unless it is a shim, and moves to its caller.  Returns 1 to stop. */
static long walk_step(__u32 i, struct walk *w)
{
	const struct hl_py_offsets *off = &w->proc->off;
	struct scratch *scr = w->scr;
	struct hl_py_frame *out;
	__u32 size = off->frame_size;
	__u64 code, next;
	__u8 owner = 0;
	int ok = 1;

	if (!w->frame)
		return 1;
	if (size > HL_FRAME_READ)
		size = HL_FRAME_READ;
	if (size < 8 || bpf_probe_read_user(scr->frame, size, (const void *)w->frame)) {
		w->status = HL_PY_READ_FAILED;
		return 1;
	}
	next = buf_u64(scr->frame, off->frame_back, HL_FRAME_READ);
	if (next == w->frame) {
		w->status = HL_PY_CYCLE;
		return 1;
	}
	code = buf_u64(scr->frame, off->frame_code, HL_FRAME_READ) & off->code_tag_mask;
	if (off->frame_owner != HL_OFF_NONE)
		owner = buf_u8(scr->frame, off->frame_owner, HL_FRAME_READ);

	/* 3.12+: a shim frame sits below (older than) the outermost Python frame of each C-level
	 * eval call.  Not a Python frame itself: mark the frame above it as that call's entry. */
	if (owner >= off->owner_shim_min) {
		out = w->n ? frame_slot(w->buf, w->n - 1) : 0;
		if (out)
			out->flags |= HL_PYF_ENTRY;
		w->frame = next;
		return 0;
	}
	if (w->n >= max_py_frames) {
		w->status = HL_PY_TOO_DEEP;
		return 1;
	}
	out = frame_slot(w->buf, w->n);
	if (!out)
		return 1;
	out->code = code;
	out->flags = 0;
	out->fingerprint = code ? read_u64(code + off->code_fingerprint, &ok) : 0;
	if (!code || !ok) {
		/* Not a readable code object: keep the frame so the stack shows the hole. */
		out->flags |= HL_PYF_BAD_LASTI;
	} else {
		note_code(w, code, out->fingerprint);
	}
	out->gen = 0;
	if (off->lasti_kind == HL_LASTI_INT) {
		out->lasti = (__s32)buf_u32(scr->frame, off->frame_lasti, HL_FRAME_READ);
		out->flags |= HL_PYF_ENTRY; /* ≤3.10: one C eval call per Python frame */
		if (off->frame_gen != HL_OFF_NONE)
			out->gen = buf_u64(scr->frame, off->frame_gen, HL_FRAME_READ);
	} else {
		__u64 ip = buf_u64(scr->frame, off->frame_lasti, HL_FRAME_READ);
		__u64 start = code + off->code_adaptive;

		/* Code units from the start of the bytecode; the line table maps these. */
		if (ip >= start && ip - start < (1ULL << 31))
			out->lasti = (__s32)((ip - start) / 2);
		else {
			out->lasti = -1;
			out->flags |= HL_PYF_BAD_LASTI;
		}
		if (off->frame_is_entry != HL_OFF_NONE &&
		    buf_u8(scr->frame, off->frame_is_entry, HL_FRAME_READ))
			out->flags |= HL_PYF_ENTRY;
		/* FRAME_OWNED_BY_GENERATOR on 3.11–3.14: the frame lives inside its generator. */
		if (owner == 1) {
			out->flags |= HL_PYF_GENERATOR;
			out->gen = w->frame - off->gen_iframe;
		}
	}
	read_args(w);
	w->n++;
	w->frame = next;
	return 0;
}

/* Copies a compact str's character data; kind 0 marks a str we could not read. */
static __always_inline void read_str(const struct hl_py_offsets *off, __u64 str,
				     struct hl_code_str *out, char *dst, __u64 cap)
{
	/* 64-bit sizes: a 32-bit one gets bounds-checked on a zero-extended copy while the
	 * original register goes to the helper, which the verifier rejects. */
	__u64 length = 0, data, bytes;
	__u32 state = 0, kind;
	int ok = 1;

	out->kind = 0;
	out->bytes = 0;
	length = read_u64(str + off->unicode_length, &ok);
	if (!ok || bpf_probe_read_user(&state, sizeof(state), (const void *)(str + off->unicode_state)))
		return;
	kind = (state >> 2) & 7;
	if (!(state & (1 << 5)) || (kind != 1 && kind != 2 && kind != 4) || length > (1 << 20))
		return; /* not compact: user space reads it instead */
	data = str + ((state & (1 << 6)) ? off->unicode_ascii_data : off->unicode_compact_data);
	bytes = length * kind;
	if (bytes > cap)
		bytes = cap;
	if (bytes && bpf_probe_read_user(dst, bytes, (const void *)data))
		return;
	out->length = (__u32)length;
	out->bytes = (__u16)bytes;
	out->kind = (__u8)kind;
}

struct code_send {
	const struct hl_proc *proc;
	struct code_scratch *scr;
	struct walk *w;
};

/* Sends one noted code object (a bpf_loop callback). */
static long send_code(__u32 i, struct code_send *cs)
{
	const struct hl_py_offsets *off = &cs->proc->off;
	struct hl_code_record *r = (struct hl_code_record *)cs->scr->code;
	__u64 code, name, file, table, size, copy = 0, bytes;
	int ok = 1;

	if (i >= HL_CODES_PER_SAMPLE || i >= cs->w->n_new)
		return 1;
	/* Restate the bound where the verifier can see it: clang knows i < 8 and would drop a
	 * plain mask, then index with an unbounded copy of i. */
	barrier_var(i);
	i &= HL_CODES_PER_SAMPLE - 1;
	code = cs->w->new_code[i];
	__builtin_memset(r, 0, sizeof(*r) - HL_CODE_NAME_MAX - HL_CODE_FILE_MAX);
	r->hdr.kind = HL_REC_CODE;
	r->pid = cs->w->pid;
	r->code = code;
	r->fingerprint = cs->w->new_fp[i];
	name = read_u64(code + off->code_name, &ok);
	file = read_u64(code + off->code_filename, &ok);
	table = read_u64(code + off->code_linetable, &ok);
	if (bpf_probe_read_user(&r->firstlineno, sizeof(r->firstlineno),
				(const void *)(code + off->code_firstlineno)))
		ok = 0;
	if (!ok) {
		r->flags = HL_CODE_UNREADABLE;
	} else {
		read_str(off, name, &r->name, r->name_data, HL_CODE_NAME_MAX);
		read_str(off, file, &r->file, r->file_data, HL_CODE_FILE_MAX);
		/* PyBytesObject: ob_size at 16, data at 32 on every supported version. */
		size = read_u64(table + 16, &ok);
		if (ok && size < (1ULL << 31)) {
			r->linetable_size = (__u32)size;
			copy = size > HL_CODE_LINETABLE_MAX ? HL_CODE_LINETABLE_MAX : size;
			if (copy && bpf_probe_read_user(r + 1, copy, (const void *)(table + 32)))
				copy = 0;
			if (copy < size)
				r->flags |= HL_CODE_LINETABLE_CUT;
		}
	}
	if (copy > HL_CODE_LINETABLE_MAX)
		copy = HL_CODE_LINETABLE_MAX;
	bytes = sizeof(*r) + copy;
	r->linetable_bytes = (__u32)copy;
	r->hdr.size = (__u32)bytes;
	if (bpf_ringbuf_output(&events, r, bytes, BPF_RB_NO_WAKEUP)) {
		stat_inc(HL_STAT_CODES_LOST);
		/* Forget it, so a later sample tries again. */
		if (cs->w->seen) {
			__u64 tag = code_tag(cs->w->pid, code, cs->w->new_fp[i]);

			cs->w->seen->tag[code_slot(tag)] = 0;
		}
	} else {
		stat_inc(HL_STAT_CODES_SENT);
	}
	return 0;
}

/* Reads the GIL state of @tstate.  Returns enum hl_sample_gil. */
static __always_inline __u8 gil_state(const struct hl_proc *proc, __u64 tstate, __u64 interp)
{
	const struct hl_py_offsets *off = &proc->off;
	__u64 gil, holder;
	__u32 locked = 0;
	int ok = 1;

	if (off->gil_kind == HL_GIL_RUNTIME)
		gil = proc->runtime + off->gil_off;
	else if (off->gil_kind == HL_GIL_INTERP)
		gil = read_u64(interp + off->gil_off, &ok);
	else
		return HL_GIL_STATE_UNKNOWN;
	if (!ok || !gil)
		return HL_GIL_STATE_UNKNOWN;
	if (bpf_probe_read_user(&locked, sizeof(locked), (const void *)(gil + off->gil_locked)))
		return HL_GIL_STATE_UNKNOWN;
	holder = read_u64(gil + off->gil_holder, &ok);
	if (!ok)
		return HL_GIL_STATE_UNKNOWN;
	/* last_holder is not cleared on release: only a locked GIL has a holder. */
	return locked && holder == tstate ? HL_GIL_STATE_HELD : HL_GIL_STATE_NOT_HELD;
}

/* Fills the sample's Python part and sends the names of code objects seen for the first
 * time.  Returns the number of frames written. */
static __always_inline __u32 read_python(const struct hl_proc *proc, struct scratch *scr,
					 struct sample_buf *buf, struct hl_sample *s)
{
	const struct hl_py_offsets *off = &proc->off;
	__u32 tsize = off->tstate_size, zero = 0;
	__u64 tls, tstate, frame, interp;
	struct code_send cs;
	struct walk w = {};
	int ok = 1;

	tls = user_tls_base();
	tstate = tls ? read_u64(tls + proc->tss_offset, &ok) : 0;
	if (!ok || !tstate) {
		s->py_status = HL_PY_NO_TSTATE;
		return 0;
	}
	if (tsize > HL_TSTATE_READ)
		tsize = HL_TSTATE_READ;
	if (tsize < 8 || bpf_probe_read_user(scr->tstate, tsize, (const void *)tstate)) {
		s->py_status = HL_PY_BAD_TSTATE;
		return 0;
	}
	/* The TSD slot must hold this very thread's state: thread_id is its pthread_t, which
	 * on x86-64 glibc is the TLS base. */
	if (buf_u64(scr->tstate, off->tstate_thread_id, HL_TSTATE_READ) != tls) {
		s->py_status = HL_PY_BAD_TSTATE;
		return 0;
	}
	s->tstate = tstate;
	interp = buf_u64(scr->tstate, off->tstate_interp, HL_TSTATE_READ);
	s->gil = gil_state(proc, tstate, interp);

	frame = buf_u64(scr->tstate, off->tstate_frame, HL_TSTATE_READ);
	if (off->frame_root == HL_ROOT_CFRAME && frame)
		frame = read_u64(frame + off->cframe_current_frame, &ok);
	if (!ok) {
		s->py_status = HL_PY_READ_FAILED;
		return 0;
	}
	w.proc = proc;
	w.scr = scr;
	w.buf = buf;
	w.frame = frame;
	w.pid = s->pid;
	w.seen = bpf_map_lookup_elem(&code_seen_map, &zero);
	bpf_loop(HL_PY_MAX_FRAMES + 64, walk_step, &w, 0);
	if (w.status == HL_PY_OK && w.frame)
		w.status = HL_PY_TOO_DEEP;
	s->py_status = w.status;
	/* The names go first: user space must know them when the sample arrives. */
	cs.scr = bpf_map_lookup_elem(&code_scratch_map, &zero);
	if (w.n_new && cs.scr) {
		cs.proc = proc;
		cs.w = &w;
		bpf_loop(HL_CODES_PER_SAMPLE, send_code, &cs, 0);
	}
	return w.n;
}

struct stack_copy {
	struct sample_buf *buf;
	__u64 sp;
	__u32 off;   /* where the stack copy starts in buf->data */
	__u32 done;  /* bytes copied */
	__u32 limit; /* bytes wanted */
};

/* Copies one piece of the user stack (a bpf_loop callback): up to the next page boundary, so
 * a copy that runs past the top of the stack stops at the last readable page instead of
 * failing as a whole. */
static long copy_stack_page(__u32 i, struct stack_copy *c)
{
	__u64 from = c->sp + c->done;
	__u64 n = 4096 - (from & 4095);
	__u64 at = (__u64)c->off + c->done;

	if (c->done >= c->limit)
		return 1;
	if (n > c->limit - c->done)
		n = c->limit - c->done;
	if (at > SAMPLE_DATA_MAX - 4096 || n > 4096)
		return 1;
	if (bpf_probe_read_user(c->buf->data + at, n, (const void *)from))
		return 1;
	c->done += (__u32)n;
	return 0;
}

/* Appends the user registers (DWARF order) and the used part of the user stack at @size.
 * Returns the new size. */
static __always_inline __u64 read_user_stack(struct sample_buf *buf, struct hl_sample *s,
					     __u64 size)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct stack_copy c = {.buf = buf};
	__u64 *r;

	if (!regs || size > SAMPLE_DATA_MAX - HL_USER_REGS * sizeof(__u64) - HL_USTACK_MAX)
		return size;
	r = (__u64 *)(buf->data + size);
#if defined(__TARGET_ARCH_x86)
	r[0] = regs->ax;
	r[1] = regs->dx;
	r[2] = regs->cx;
	r[3] = regs->bx;
	r[4] = regs->si;
	r[5] = regs->di;
	r[6] = regs->bp;
	r[7] = regs->sp;
	r[8] = regs->r8;
	r[9] = regs->r9;
	r[10] = regs->r10;
	r[11] = regs->r11;
	r[12] = regs->r12;
	r[13] = regs->r13;
	r[14] = regs->r14;
	r[15] = regs->r15;
	r[16] = regs->ip;
	c.sp = regs->sp;
#endif
	s->has_regs = 1;
	size += HL_USER_REGS * sizeof(__u64);
	c.off = size;
	c.limit = ustack_bytes > HL_USTACK_MAX ? HL_USTACK_MAX : ustack_bytes;
	bpf_loop(HL_USTACK_MAX / 4096 + 1, copy_stack_page, &c, 0);
	s->ustack_bytes = c.done;
	return size + c.done;
}

SEC("perf_event")
int on_sample(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, zero = 0, cpu;
	const struct hl_proc *proc;
	struct sample_buf *buf;
	struct scratch *scr;
	struct hl_sample *s;
	__u64 size; /* 64-bit: see read_str() */
	__u32 n_py = 0;
	long kbytes = 0;

	proc = bpf_map_lookup_elem(&procs, &pid);
	if (!proc || (proc->flags & HL_PROC_AWAIT_EXEC))
		return 0;
	cpu = bpf_get_smp_processor_id();
	scr = bpf_map_lookup_elem(&scratch_map, &zero);
	buf = bpf_map_lookup_elem(&samples, &cpu);
	if (!scr || !buf)
		return 0;
	stat_inc(HL_STAT_SAMPLES);

	s = (struct hl_sample *)buf->data;
	__builtin_memset(s, 0, sizeof(*s));
	s->hdr.kind = HL_REC_SAMPLE;
	s->time_ns = bpf_ktime_get_ns();
	s->pid = pid;
	s->tid = (__u32)id;
	s->cpu = cpu;
	bpf_get_current_comm(s->comm, sizeof(s->comm));

	if (!capture_python)
		s->py_status = HL_PY_NOT_PYTHON;
	else if (proc->flags & HL_PROC_PYTHON)
		n_py = read_python(proc, scr, buf, s);
	else
		s->py_status = HL_PY_NOT_PYTHON;
	if (n_py > HL_PY_MAX_FRAMES)
		n_py = HL_PY_MAX_FRAMES;
	s->n_py = n_py;
	size = sizeof(*s) + n_py * sizeof(struct hl_py_frame);
	if (n_py && arg_frames && size <= SAMPLE_DATA_MAX - sizeof(scr->args)) {
		__u32 n_args = n_py < arg_frames ? n_py : arg_frames;

		if (n_args > HL_ARG_FRAMES)
			n_args = HL_ARG_FRAMES;
		/* The whole array is copied (a constant size for the verifier); the part past
		 * n_args is overwritten by what follows. */
		bpf_probe_read_kernel(buf->data + size, sizeof(scr->args), scr->args);
		s->n_args = (__u8)n_args;
		size += n_args * sizeof(struct hl_py_args);
	}

	if (capture_kernel_stack && size <= SAMPLE_DATA_MAX - HL_KSTACK_MAX * sizeof(__u64)) {
		kbytes = bpf_get_stack(ctx, buf->data + size, HL_KSTACK_MAX * sizeof(__u64), 0);
		if (kbytes < 0)
			kbytes = 0;
		s->n_kstack = kbytes / sizeof(__u64);
		size += s->n_kstack * sizeof(__u64);
	}
	if (ustack_bytes)
		size = read_user_stack(buf, s, size);
	if (size > SAMPLE_DATA_MAX)
		return 0;
	s->hdr.size = (__u32)size;
	if (bpf_ringbuf_output(&events, buf->data, size,
			       (proc->flags & HL_PROC_WAKE_EACH) ||
				       bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
				       ? BPF_RB_FORCE_WAKEUP
				       : BPF_RB_NO_WAKEUP))
		stat_inc(HL_STAT_RINGBUF_FULL);
	return 0;
}

static __always_inline void emit_proc_event(__u32 kind, __u32 pid, __u32 parent)
{
	struct hl_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		stat_inc(HL_STAT_EVENTS_LOST);
		return;
	}
	e->hdr.kind = kind;
	e->hdr.size = sizeof(*e);
	e->time_ns = bpf_ktime_get_ns();
	e->pid = pid;
	e->parent_pid = parent;
	/* Process events wake user space at once: it sets the new image up for sampling. */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

/* A target forked: the child shares its parent's memory image, so the parent's interpreter
 * facts hold for it too, from its first instruction. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ppid = BPF_CORE_READ(parent, tgid);
	__u32 cpid = BPF_CORE_READ(child, tgid);
	const struct hl_proc *proc;
	struct hl_proc copy;

	if (!follow_forks || cpid == ppid) /* a new thread, not a new process */
		return 0;
	proc = bpf_map_lookup_elem(&procs, &ppid);
	if (!proc)
		return 0;
	__builtin_memcpy(&copy, proc, sizeof(copy));
	bpf_map_update_elem(&procs, &cpid, &copy, BPF_ANY);
	emit_proc_event(HL_REC_FORK, cpid, ppid);
	return 0;
}

/* A target exec'd: its old interpreter is gone.  Sample it as non-Python until user space
 * has looked at the new image (this also starts sampling a command hotloop started). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, int old_pid, struct linux_binprm *bprm)
{
	__u32 pid = BPF_CORE_READ(task, tgid);
	struct hl_proc *proc;

	proc = bpf_map_lookup_elem(&procs, &pid);
	if (!proc) {
		if (report_all_execs)
			emit_proc_event(HL_REC_EXEC, pid, 0);
		return 0;
	}
	proc->flags = 0;
	emit_proc_event(HL_REC_EXEC, pid, 0);
	return 0;
}
