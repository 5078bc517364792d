/* collector/sample.h — the ABI between the BPF sampler (sample.bpf.c) and user space.
 *
 * The one header both sides include: fixed-size __u8..__u64 types and arrays only.  It holds
 *  - struct hl_proc: what user space learned about a target process (is it Python, which
 *    version, where its runtime and thread states are, the offsets of the version's structs),
 *    handed to BPF in the `procs` map keyed by tgid;
 *  - the records BPF writes to the `events` ring buffer: samples and process events.
 * Changing a layout here changes both sides at once; nothing else defines this ABI.
 */
#pragma once

#include <linux/types.h>

#define HL_PY_MAX_FRAMES 1024	   /* hard cap of Python frames per sample */
#define HL_KSTACK_MAX 128	   /* kernel frames per sample */
#define HL_USTACK_MAX 65536	   /* bytes of user stack a sample can copy */
#define HL_USER_REGS 17		   /* x86-64 DWARF registers 0-16 (rax ... r15, rip) */
#define HL_OFF_NONE 0xffff	   /* "this version has no such field" */
#define HL_TSTATE_READ 256	   /* bytes of PyThreadState read per sample */
#define HL_FRAME_READ 128	   /* bytes of a frame struct read per frame */
#define HL_CODE_NAME_MAX 256	   /* bytes of a code object's qualname copied */
#define HL_CODE_FILE_MAX 512	   /* bytes of its filename copied */
#define HL_CODE_LINETABLE_MAX 28672 /* bytes of its line table copied (per-CPU maps cap
				     values at 32 KiB) */
#define HL_CODE_SEEN_SLOTS 4096	   /* per-CPU cache of code objects already sent */
#define HL_CODES_PER_SAMPLE 16	   /* new code objects sent with one sample at most */
#define HL_ARG_FRAMES 4		   /* innermost Python frames whose first local slots are sent */
#define HL_ARG_SLOTS 4		   /* local slots (arguments first) sent per such frame */

/* How the instruction offset is stored in a frame. */
enum hl_lasti_kind {
	HL_LASTI_INT = 0, /* ≤3.10: int f_lasti (bytes on 3.8–3.9, code units on 3.10) */
	HL_LASTI_PTR = 1, /* 3.11+: pointer into co_code_adaptive (prev_instr / instr_ptr) */
};

/* How a thread's current frame hangs off its PyThreadState. */
enum hl_frame_root {
	HL_ROOT_DIRECT = 0, /* ≤3.10 tstate->frame, 3.13+ tstate->current_frame */
	HL_ROOT_CFRAME = 1, /* 3.11–3.12 tstate->cframe->current_frame */
};

/* Where the GIL struct (struct _gil_runtime_state) lives. */
enum hl_gil_kind {
	HL_GIL_NONE = 0,    /* unknown: thread state is reported as unknown */
	HL_GIL_RUNTIME = 1, /* ≤3.11: embedded in _PyRuntime at gil_off */
	HL_GIL_INTERP = 2,  /* 3.12+: pointer at interp + gil_off (interp->ceval.gil) */
};

/* Offsets of the CPython structs a sample reads, for one interpreter version.  All are byte
 * offsets; HL_OFF_NONE marks fields the version lacks. */
struct hl_py_offsets {
	__u16 tstate_interp;
	__u16 tstate_frame;	   /* frame / cframe / current_frame */
	__u16 tstate_thread_id;	   /* pthread_t, equal to the thread's fsbase on x86-64 glibc */
	__u16 cframe_current_frame; /* 3.11–3.12: in _PyCFrame */
	__u16 frame_back;	   /* f_back / previous */
	__u16 frame_code;	   /* f_code / f_executable */
	__u16 frame_lasti;	   /* f_lasti / prev_instr / instr_ptr */
	__u16 frame_owner;	   /* 3.11+ owner byte */
	__u16 frame_is_entry;	   /* 3.11 is_entry */
	__u16 code_adaptive;	   /* 3.11+ co_code_adaptive */
	__u16 code_fingerprint;	   /* 8 aligned bytes holding co_firstlineno: reuse check */
	__u16 gil_off;		   /* see enum hl_gil_kind */
	__u16 gil_holder;	   /* last_holder in the GIL struct */
	__u16 gil_locked;	   /* locked in the GIL struct */
	__u16 code_name;	   /* co_qualname (3.11+) or co_name */
	__u16 code_filename;
	__u16 code_firstlineno;
	__u16 code_linetable;	   /* co_lnotab / co_linetable (a bytes object) */
	__u16 unicode_length;
	__u16 unicode_state;
	__u16 unicode_ascii_data;   /* character data of a compact ASCII str */
	__u16 unicode_compact_data; /* character data of a compact non-ASCII str */
	__u16 frame_gen;	   /* ≤3.10 f_gen: the generator a frame belongs to */
	__u16 gen_iframe;	   /* 3.11+: offset of the frame embedded in its generator */
	__u16 tstate_size;	   /* bytes of PyThreadState to read (≤ HL_TSTATE_READ) */
	__u16 frame_size;	   /* bytes of a frame struct to read (≤ HL_FRAME_READ) */
	__u16 frame_args;	   /* the frame's local slots: f_localsplus / localsplus */
	__u8 lasti_kind;	   /* enum hl_lasti_kind */
	__u8 frame_root;	   /* enum hl_frame_root */
	__u8 gil_kind;		   /* enum hl_gil_kind */
	__u8 owner_shim_min;	   /* 3.12+: owner >= this is a C-stack shim frame; else 0xff */
	__u64 code_tag_mask;	   /* AND-mask applied to the code pointer (3.14 _PyStackRef) */
};

enum hl_proc_flags {
	HL_PROC_PYTHON = 1 << 0,       /* offsets, runtime and tss_offset are valid */
	HL_PROC_AWAIT_EXEC = 1 << 1,   /* a command hotloop forked: sample it from its exec on */
	HL_PROC_WAKE_EACH = 1 << 2,    /* wake user space at every sample: it reads the target's
					  asyncio tasks, which must be done before they change */
};

/* Value of the `procs` map, keyed by tgid (root pid namespace). */
struct hl_proc {
	__u32 flags;	  /* enum hl_proc_flags */
	__u32 py_version; /* PY_VERSION_HEX >> 16, e.g. 0x030c for 3.12 */
	__u64 runtime;	  /* address of _PyRuntime */
	__u64 tss_offset; /* fsbase-relative address of the PyThreadState* in glibc's TSD */
	struct hl_py_offsets off;
};

enum hl_record_kind {
	HL_REC_SAMPLE = 1,
	HL_REC_FORK = 2, /* a target process forked a child (now a target too) */
	HL_REC_EXEC = 3, /* a target process replaced its image: re-detect the interpreter */
	HL_REC_CODE = 4, /* a code object's names and line table, read at first sight */
};

/* Why a sample's Python stack is missing or incomplete. */
enum hl_py_status {
	HL_PY_OK = 0,
	HL_PY_NOT_PYTHON = 1,	/* process not (yet) known as a Python process */
	HL_PY_NO_TSTATE = 2,	/* thread has no PyThreadState (native thread, not attached) */
	HL_PY_BAD_TSTATE = 3,	/* TSD slot does not hold this thread's PyThreadState */
	HL_PY_READ_FAILED = 4,	/* a frame could not be read: the chain is cut there */
	HL_PY_TOO_DEEP = 5,	/* more frames than the configured limit: the root is cut */
	HL_PY_CYCLE = 6,	/* a frame links to itself */
};

/* Flags of one Python frame. */
enum hl_py_frame_flags {
	HL_PYF_ENTRY = 1 << 0,	  /* outermost Python frame of one C-level eval call */
	HL_PYF_GENERATOR = 1 << 1, /* frame owned by a generator or coroutine (3.11+) */
	HL_PYF_BAD_LASTI = 1 << 2, /* instruction pointer outside the code object */
};

struct hl_py_frame {
	__u64 code;	   /* PyCodeObject address (untagged) */
	__u64 fingerprint; /* 8 bytes of the code object at off.code_fingerprint */
	__s32 lasti;	   /* ≤3.10 raw f_lasti; 3.11+ code-unit index of the instruction */
	__u32 flags;	   /* enum hl_py_frame_flags */
	__u64 gen;	   /* the generator or coroutine running this frame, 0 if none */
};

/* The first HL_ARG_SLOTS local slots of a frame as they were at the sample: object addresses
 * (3.14: _PyStackRef, untagged by user space), 0 when the slot is empty or unreadable.  The
 * arguments come first among a code object's locals; user space knows from the code object
 * how many there are and what they are named (candidates' invariance evidence). */
struct hl_py_args {
	__u64 slot[HL_ARG_SLOTS];
};

struct hl_record_header {
	__u32 kind; /* enum hl_record_kind */
	__u32 size; /* bytes of the whole record */
};

enum hl_sample_gil {
	HL_GIL_STATE_UNKNOWN = 0,
	HL_GIL_STATE_HELD = 1,
	HL_GIL_STATE_NOT_HELD = 2,
};

/* A sample.  Followed in the record by n_py struct hl_py_frame (innermost first), then
 * n_args struct hl_py_args (of the n_args innermost frames, in the same order), then
 * n_kstack __u64 kernel addresses (innermost first), then — when has_regs — HL_USER_REGS __u64
 * user registers in DWARF order and ustack_bytes bytes of user stack from the stack pointer
 * up. */
struct hl_sample {
	struct hl_record_header hdr;
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 tstate;  /* PyThreadState address, 0 if none */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u32 cpu;
	__u16 n_py;
	__u16 n_kstack;
	__u8 py_status; /* enum hl_py_status */
	__u8 gil;	/* enum hl_sample_gil */
	__u8 has_regs;	/* user registers and stack follow */
	__u8 n_args;	/* frames whose argument slots follow the frames (≤ HL_ARG_FRAMES) */
	__u32 ustack_bytes; /* user stack bytes copied */
	char comm[16]; /* thread name at the sample instant */
};

struct hl_proc_event {
	struct hl_record_header hdr;
	__u64 time_ns;
	__u32 pid;	  /* the new child (fork) or the exec'ing process */
	__u32 parent_pid; /* fork: the target that forked */
};

/* A str as copied from the target: raw character data, @kind bytes per character. */
struct hl_code_str {
	__u32 length; /* characters in the str */
	__u16 bytes;  /* bytes copied (≤ the field's capacity) */
	__u8 kind;    /* 1, 2 or 4; 0 when the str could not be read */
	__u8 pad;
};

enum hl_code_flags {
	HL_CODE_LINETABLE_CUT = 1 << 0, /* the line table is longer than what was copied */
	HL_CODE_UNREADABLE = 1 << 1,	/* the code object's fields could not be read */
};

/* Sent the first time a CPU sees a code object in a target (or sees its address hold a new
 * one), before the sample that refers to it, so a code object freed right after (an imported
 * module's <module>, code made by exec) is still named.  Followed by linetable_bytes bytes of
 * line table. */
struct hl_code_record {
	struct hl_record_header hdr;
	__u32 pid;
	__u32 flags; /* enum hl_code_flags */
	__u64 code;
	__u64 fingerprint;
	__s32 firstlineno;
	__u32 linetable_size;  /* bytes in co_linetable */
	__u32 linetable_bytes; /* bytes copied after this struct */
	__u32 pad;
	struct hl_code_str name;
	struct hl_code_str file;
	char name_data[HL_CODE_NAME_MAX];
	char file_data[HL_CODE_FILE_MAX];
};

/* Per-CPU counters in the `stats` map, indexed by enum hl_stat. */
enum hl_stat {
	HL_STAT_SAMPLES = 0,	/* samples of target processes taken */
	HL_STAT_RINGBUF_FULL,	/* samples dropped: ring buffer full (lost) */
	HL_STAT_EVENTS_LOST,	/* process events dropped: ring buffer full */
	HL_STAT_CODES_SENT,	/* code records sent */
	HL_STAT_CODES_LOST,	/* code records dropped: ring buffer full */
	HL_STAT_MAX,
};
