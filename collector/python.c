/* collector/python.c — see python.h.
 *
 * Detection order, and why:
 *  1. The binary: any mapped file named libpython* or python*, then /proc/PID/exe, that
 *     defines _PyRuntime (symbol, or the .PyRuntime section of 3.10+).  Files are opened
 *     through /proc/PID/map_files, which also reaches deleted binaries and containers.
 *  2. The version: _Py_DebugOffsets (3.13+: the runtime's first bytes), else Py_Version
 *     (3.11+), else the file name; the patch level of older versions comes from .rodata.
 *     Debug ("d") and free-threaded ("t") builds change struct layouts: refused by name.
 *  3. Readiness: an interpreter and a thread state exist, and the TSS key is set.
 *  4. The thread-state slot: glibc keeps pthread_getspecific() values in struct pthread,
 *     whose address is the thread's TLS base; the slot of PyGILState's TSS key holds the
 *     thread's PyThreadState whether or not it holds the GIL.  Its offset is computed from
 *     the key and confirmed against real threads, or found by scanning struct pthread.
 */
#define _GNU_SOURCE
#include "collector/python.h"
#include "common/log.h"
#include "common/util.h"
#include "symbolize/elf.h"
#include "symbolize/maps.h"
#include "symbolize/procmem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* glibc x86-64: offsetof(struct pthread, specific_1stblock); each slot is {seq, data}. */
#define GLIBC_SPECIFIC_1STBLOCK 0x310
#define GLIBC_SPECIFIC_SLOTS 32
#define PTHREAD_SCAN_BYTES 0x1000
#define MAX_THREADS_WALK 4096

bool hl_python_parse_filename(const char *name, unsigned *major, unsigned *minor, char *abiflags,
			      size_t abiflags_size)
{
	const char *p = name;
	size_t n = 0;
	char *end;
	unsigned long ma, mi;

	if (!strncmp(p, "lib", 3))
		p += 3;
	if (strncmp(p, "python", 6))
		return false;
	p += 6;
	if (!isdigit((unsigned char)*p))
		return false;
	ma = strtoul(p, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return false;
	mi = strtoul(end + 1, &end, 10);
	if (ma > 9 || mi > 99)
		return false;
	/* ABI flags: letters up to the end or ".so". */
	while (isalpha((unsigned char)end[n]) && n + 1 < abiflags_size)
		n++;
	if (end[n] && strncmp(end + n, ".so", 3))
		return false;
	memcpy(abiflags, end, n);
	abiflags[n] = '\0';
	*major = (unsigned)ma;
	*minor = (unsigned)mi;
	return true;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Opens the file behind a mapping the way the target sees it. */
static struct hl_elf *open_mapped(pid_t pid, const struct hl_mapping *m)
{
	char path[PATH_MAX];
	struct hl_elf *elf;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	elf = hl_elf__open(path);
	if (elf)
		return elf;
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
	elf = hl_elf__open(path);
	if (elf)
		return elf;
	return hl_elf__open(m->path);
}

/* The load bias of the file mapped by @m, from one of its executable mappings: only the
 * loader's mappings follow the program headers (the process may also mmap the file itself,
 * e.g. libelf reading it, at any address). */
static int mapping_bias(const struct hl_maps *maps, const struct hl_mapping *m,
			struct hl_elf *elf, uint64_t *bias)
{
	size_t i;

	if (!hl_elf__is_dyn(elf)) {
		*bias = 0;
		return 0;
	}
	for (i = 0; i < maps->count; i++) {
		const struct hl_mapping *o = &maps->entries[i];

		if (o->executable && o->inode == m->inode && o->dev_major == m->dev_major &&
		    o->dev_minor == m->dev_minor && !strcmp(o->path, m->path) &&
		    !hl_elf__load_bias(elf, o->start, o->offset, bias))
			return 0;
	}
	return -ENOENT;
}

struct version_scan {
	unsigned minor;
	unsigned micro;
	int found; /* 0 none, 1 one micro version, -1 conflicting ones */
};

/* PY_VERSION ("3.9.18") is a string constant in .rodata, but the linker may have merged it
 * into the tail of a longer string that ends the same way (the build directory
 * ".../Python-3.9.18").  So look for strings *ending* in "3.<minor>.<micro>", and trust the
 * answer only if every such string agrees. */
static int match_version_string(const char *s, size_t len, void *arg)
{
	struct version_scan *vs = arg;
	unsigned ma, mi, mc;
	size_t start = len;
	int used = 0;

	while (start > 0 && (isdigit((unsigned char)s[start - 1]) || s[start - 1] == '.'))
		start--;
	if (len - start > 12 || sscanf(s + start, "%u.%u.%u%n", &ma, &mi, &mc, &used) != 3 ||
	    start + (size_t)used != len || ma != 3 || mi != vs->minor)
		return 0;
	if (vs->found && vs->micro != mc) {
		vs->found = -1;
		return 1;
	}
	vs->micro = mc;
	vs->found = 1;
	return 0;
}

/* _Py_DebugOffsets layouts: the groups of u64 after the 24-byte header, in declaration
 * order (3.13.0 pycore_runtime.h; 3.14 pycore_debug_offsets.h).  Only the fields we use are
 * named; their index is their position. */
enum {
	D313_RUNTIME_HEAD = 2,
	D313_INTERP_NEXT = 3 + 2,
	D313_INTERP_THREADS_HEAD = 3 + 3,
	D313_INTERP_MODULES = 3 + 5,
	D313_INTERP_CEVAL_GIL = 3 + 8,
	D313_INTERP_GIL = 3 + 9,
	D313_INTERP_GIL_LOCKED = 3 + 11,
	D313_INTERP_GIL_HOLDER = 3 + 12,
	D313_TSTATE = 3 + 13, /* size, prev, next, interp, current_frame, thread_id, native */
	D313_FRAME = D313_TSTATE + 9, /* size, previous, executable, instr_ptr, localsplus, owner */
	D313_CODE = D313_FRAME + 6, /* size, filename, name, qualname, linetable, firstlineno,
				       argcount, localsplusnames, localspluskinds, adaptive */
	D313_UNICODE = D313_CODE + 10 + 2 + 4 + 3 + 3 + 3 + 2 + 3 + 3, /* size, state, length,
									 ascii size */
	D313_COUNT = D313_UNICODE + 4,

	D314_RUNTIME_HEAD = 2,
	D314_INTERP_NEXT = 3 + 2,
	D314_INTERP_THREADS_HEAD = 3 + 3,
	D314_INTERP_MODULES = 3 + 6,
	D314_INTERP_CEVAL_GIL = 3 + 9,
	D314_INTERP_GIL = 3 + 10,
	D314_INTERP_GIL_LOCKED = 3 + 12,
	D314_INTERP_GIL_HOLDER = 3 + 13,
	D314_TSTATE = 3 + 16,
	D314_FRAME = D314_TSTATE + 9, /* ... owner, stackpointer, tlbc_index */
	D314_CODE = D314_FRAME + 8,   /* ... adaptive, co_tlbc */
	D314_UNICODE = D314_CODE + 11 + 2 + 4 + 3 + 3 + 4 + 3 + 2 + 3 + 3,
	D314_GEN = D314_UNICODE + 4 + 2, /* after gc: size, gi_name, gi_iframe, gi_frame_state */
	D314_COUNT = D314_GEN + 4,
};

struct debug_layout {
	unsigned runtime_head, interp_next, interp_threads_head, interp_modules, interp_ceval_gil,
		interp_gil, interp_gil_locked, interp_gil_holder, tstate, frame, code, unicode,
		count, gen; /* gen: 0 when the layout has no gen_object group (3.13) */
};

static const struct debug_layout layout_313 = {
	D313_RUNTIME_HEAD, D313_INTERP_NEXT, D313_INTERP_THREADS_HEAD, D313_INTERP_MODULES,
	D313_INTERP_CEVAL_GIL, D313_INTERP_GIL, D313_INTERP_GIL_LOCKED, D313_INTERP_GIL_HOLDER,
	D313_TSTATE, D313_FRAME, D313_CODE, D313_UNICODE, D313_COUNT, 0,
};
static const struct debug_layout layout_314 = {
	D314_RUNTIME_HEAD, D314_INTERP_NEXT, D314_INTERP_THREADS_HEAD, D314_INTERP_MODULES,
	D314_INTERP_CEVAL_GIL, D314_INTERP_GIL, D314_INTERP_GIL_LOCKED, D314_INTERP_GIL_HOLDER,
	D314_TSTATE, D314_FRAME, D314_CODE, D314_UNICODE, D314_COUNT, D314_GEN,
};

static uint16_t off16(uint64_t v, bool *ok)
{
	if (v >= HL_OFF_NONE)
		*ok = false;
	return (uint16_t)v;
}

/* Applies the target's own _Py_DebugOffsets (read from its memory) over the table. */
static int apply_debug_offsets(struct hl_python *py)
{
	const struct debug_layout *L = py->minor == 13 ? &layout_313 : &layout_314;
	uint64_t d[D314_COUNT > D313_COUNT ? D314_COUNT : D313_COUNT];
	struct hl_pyver *v = &py->ver;
	const uint64_t *t, *f, *c, *u;
	bool ok = true;
	int err;

	err = hl_procmem_read(py->pid, py->runtime + 24, d, L->count * sizeof(d[0]));
	if (err)
		return err;
	t = d + L->tstate;
	f = d + L->frame;
	c = d + L->code;
	u = d + L->unicode;
	if (d[L->runtime_head] > UINT32_MAX || d[L->interp_threads_head] > UINT32_MAX ||
	    d[L->interp_modules] > UINT32_MAX || d[L->interp_next] > UINT32_MAX ||
	    d[L->interp_gil_holder] < d[L->interp_gil] || d[L->interp_gil_locked] < d[L->interp_gil])
		return -EINVAL;
	v->runtime_interpreters_head = (uint32_t)d[L->runtime_head];
	v->interp_next = (uint32_t)d[L->interp_next];
	v->interp_threads_head = (uint32_t)d[L->interp_threads_head];
	v->interp_modules = (uint32_t)d[L->interp_modules];
	v->interp_ceval_gil = (uint32_t)d[L->interp_ceval_gil];
	v->gil_holder = off16(d[L->interp_gil_holder] - d[L->interp_gil], &ok);
	v->gil_locked = off16(d[L->interp_gil_locked] - d[L->interp_gil], &ok);
	v->tstate_next = off16(t[2], &ok);
	v->tstate_interp = off16(t[3], &ok);
	v->tstate_frame = off16(t[4], &ok);
	v->tstate_thread_id = off16(t[5], &ok);
	v->tstate_native_thread_id = off16(t[6], &ok);
	v->tstate_size = (uint16_t)(HL_MAX(HL_MAX(t[3], t[4]), HL_MAX(t[5], t[6])) + 8);
	v->frame_back = off16(f[1], &ok);
	v->frame_code = off16(f[2], &ok);
	v->frame_lasti = off16(f[3], &ok);
	v->frame_owner = off16(f[5], &ok);
	v->frame_size = (uint16_t)((HL_MAX(HL_MAX(f[1], f[2]), HL_MAX(f[3], f[5] + 1)) + 8) & ~7u);
	v->code_filename = off16(c[1], &ok);
	v->code_name = off16(c[2], &ok);
	v->code_qualname = off16(c[3], &ok);
	v->code_linetable = off16(c[4], &ok);
	v->code_firstlineno = off16(c[5], &ok);
	v->code_adaptive = off16(c[9], &ok);
	v->unicode_state = off16(u[1], &ok);
	v->unicode_length = off16(u[2], &ok);
	v->unicode_ascii_data = off16(u[3], &ok);
	/* PyCompactUnicodeObject adds utf8_length and utf8 (3.12+; not in the debug offsets). */
	v->unicode_compact_data = (uint16_t)(v->unicode_ascii_data + 16);
	v->frame_localsplus = off16(f[4], &ok);
	v->frame_args = v->frame_localsplus;
	if (L->gen) {
		/* 3.14: the frame's stackpointer, and the generator's frame and its state. */
		v->frame_stack = off16(f[6], &ok);
		v->gen_iframe = off16(d[L->gen + 2], &ok);
		v->gen_frame_state = off16(d[L->gen + 3], &ok);
	}
	if (!ok || v->tstate_size > HL_TSTATE_READ || v->frame_size > HL_FRAME_READ)
		return -EINVAL;
	return 0;
}

static int read_u64(const struct hl_python *py, uint64_t addr, uint64_t *out)
{
	return hl_procmem_read_u64(py->pid, addr, out);
}

int hl_python_for_each_thread(const struct hl_python *py, unsigned limit,
			      int (*cb)(uint64_t tstate, uint64_t pthread_id, uint32_t native_tid,
					void *arg),
			      void *arg)
{
	const struct hl_pyver *v = &py->ver;
	uint64_t interp, tstate;
	unsigned n = 0;
	int err, ret;

	err = read_u64(py, py->runtime + v->runtime_interpreters_head, &interp);
	if (err)
		return err;
	if (!interp)
		return 0;
	err = read_u64(py, interp + v->interp_threads_head, &tstate);
	if (err)
		return err;
	while (tstate && n++ < limit) {
		uint64_t pthread_id = 0, next = 0;
		uint32_t native = 0;

		if (read_u64(py, tstate + v->tstate_thread_id, &pthread_id) ||
		    read_u64(py, tstate + v->tstate_next, &next))
			return -EFAULT;
		if (v->tstate_native_thread_id != HL_OFF_NONE &&
		    hl_procmem_read_u32(py->pid, tstate + v->tstate_native_thread_id, &native))
			return -EFAULT;
		ret = cb(tstate, pthread_id, native, arg);
		if (ret)
			return ret > 0 ? 0 : ret;
		if (next == tstate)
			break;
		tstate = next;
	}
	return 0;
}

struct tss_probe {
	const struct hl_python *py;
	uint64_t offset;   /* candidate slot offset from the TLS base */
	unsigned checked;  /* threads whose slot was examined */
	unsigned matched;  /* ... and held their own tstate */
	uint64_t interp;
	bool interp_mismatch;
};

static int check_tss_slot(uint64_t tstate, uint64_t pthread_id, uint32_t native, void *arg)
{
	struct tss_probe *p = arg;
	uint64_t self = 0, slot = 0, interp = 0;

	/* struct pthread begins with tcbhead_t, whose `self` (at 16) points to itself: a
	 * cheap proof that thread_id really is a TLS base and our layout guess is right. */
	if (!pthread_id || read_u64(p->py, pthread_id + 16, &self) || self != pthread_id)
		return 0;
	if (!read_u64(p->py, tstate + p->py->ver.tstate_interp, &interp) && interp != p->interp)
		p->interp_mismatch = true;
	p->checked++;
	if (!read_u64(p->py, pthread_id + p->offset, &slot) && slot == tstate)
		p->matched++;
	return 0;
}

struct tss_scan {
	const struct hl_python *py;
	uint64_t found;
};

/* Finds the offset in struct pthread of the first thread that holds its own tstate. */
static int scan_tss_slot(uint64_t tstate, uint64_t pthread_id, uint32_t native, void *arg)
{
	struct tss_scan *s = arg;
	uint64_t words[PTHREAD_SCAN_BYTES / 8];
	size_t i;

	if (!pthread_id || hl_procmem_read(s->py->pid, pthread_id, words, sizeof(words)))
		return 0;
	for (i = 2; i < HL_ARRAY_SIZE(words); i++) {
		if (words[i] == tstate) {
			s->found = i * 8;
			return 1;
		}
	}
	return 0;
}

/* Locates the TSD slot holding each thread's PyThreadState.  Returns HL_PYDETECT_*. */
static int locate_tss(struct hl_python *py)
{
	const struct hl_pyver *v = &py->ver;
	struct tss_probe probe = {.py = py};
	struct tss_scan scan = {.py = py};
	uint32_t key[2]; /* Py_tss_t: int _is_initialized; pthread_key_t _key */
	int err;

	err = read_u64(py, py->runtime + v->runtime_interpreters_head, &probe.interp);
	if (err)
		return err;
	if (!probe.interp) {
		snprintf(py->status, sizeof(py->status), "interpreter not initialized yet");
		return HL_PYDETECT_NOT_READY;
	}
	err = hl_procmem_read(py->pid, py->runtime + v->runtime_autotsskey, key, sizeof(key));
	if (err)
		return err;
	if (key[0] == 1 && key[1] < GLIBC_SPECIFIC_SLOTS) {
		probe.offset = GLIBC_SPECIFIC_1STBLOCK + key[1] * 16 + 8;
		err = hl_python_for_each_thread(py, MAX_THREADS_WALK, check_tss_slot, &probe);
		if (err)
			return err;
		if (probe.interp_mismatch) {
			snprintf(py->status, sizeof(py->status),
				 "Python %s in %s: thread states do not match the expected layout "
				 "(an unusual build?)", py->version, py->binary);
			return HL_PYDETECT_UNSUPPORTED;
		}
		if (probe.matched) {
			py->bpf.tss_offset = probe.offset;
			return HL_PYDETECT_OK;
		}
	}
	/* Key not set yet, or the slot moved (another libc layout): look for a thread state
	 * in its own thread's struct pthread, then confirm on every thread. */
	err = hl_python_for_each_thread(py, MAX_THREADS_WALK, scan_tss_slot, &scan);
	if (err)
		return err;
	if (scan.found) {
		probe.offset = scan.found;
		probe.checked = probe.matched = 0;
		hl_python_for_each_thread(py, MAX_THREADS_WALK, check_tss_slot, &probe);
		if (probe.matched == probe.checked && probe.matched) {
			py->bpf.tss_offset = probe.offset;
			return HL_PYDETECT_OK;
		}
	}
	snprintf(py->status, sizeof(py->status), "no thread state bound to a thread yet");
	return HL_PYDETECT_NOT_READY;
}

/* Finds the ELF that defines the runtime.  Returns 0 with *elf and py->runtime set,
 * -ENOENT when there is none, or -errno. */
static int find_runtime(pid_t pid, const struct hl_maps *maps, struct hl_python *py,
			struct hl_elf **out)
{
	char exe[PATH_MAX], link[64];
	ssize_t n;
	int pass;
	size_t i;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';

	/* Pass 0: libpython*; pass 1: python*; pass 2: the executable. */
	for (pass = 0; pass < 3; pass++) {
		const char *last = "";

		for (i = 0; i < maps->count; i++) {
			const struct hl_mapping *m = &maps->entries[i];
			const char *base = basename_of(m->path);
			uint64_t vaddr, bias;
			struct hl_elf *elf;

			if (m->path[0] != '/' || !strcmp(m->path, last))
				continue;
			last = m->path;
			if ((pass == 0 && strncmp(base, "libpython", 9)) ||
			    (pass == 1 && strncmp(base, "python", 6)) ||
			    (pass == 2 && strcmp(m->path, exe)))
				continue;
			elf = open_mapped(pid, m);
			if (!elf)
				continue;
			if ((hl_elf__find_symbol(elf, "_PyRuntime", &vaddr, NULL) &&
			     hl_elf__find_section(elf, ".PyRuntime", &vaddr, NULL, NULL)) ||
			    mapping_bias(maps, m, elf, &bias)) {
				hl_elf__free(elf);
				continue;
			}
			py->runtime = vaddr + bias;
			if (!hl_elf__find_symbol(elf, "PyCode_Type", &vaddr, NULL))
				py->code_type = vaddr + bias;
			hl_strlcpy(py->binary, m->path, sizeof(py->binary));
			*out = elf;
			return 0;
		}
	}
	return -ENOENT;
}

/* Works out major.minor.micro and the build.  Returns HL_PYDETECT_OK or UNSUPPORTED. */
static int identify_version(struct hl_python *py, struct hl_elf *elf)
{
	unsigned fmajor = 0, fminor = 0;
	char abiflags[8] = "";
	bool named;
	struct {
		char cookie[8];
		uint64_t version;
		uint64_t free_threaded;
	} dbg;
	uint64_t vaddr, hexversion = 0;

	named = hl_python_parse_filename(basename_of(py->binary), &fmajor, &fminor, abiflags,
					 sizeof(abiflags));
	if (!hl_procmem_read(py->pid, py->runtime, &dbg, sizeof(dbg)) &&
	    !memcmp(dbg.cookie, "xdebugpy", 8)) {
		hexversion = dbg.version;
		if (dbg.free_threaded) {
			snprintf(py->status, sizeof(py->status),
				 "%s is a free-threaded build, which hotloop does not read yet",
				 py->binary);
			return HL_PYDETECT_UNSUPPORTED;
		}
	} else if (!hl_elf__find_symbol(elf, "Py_Version", &vaddr, NULL)) {
		uint64_t v = 0;

		/* Py_Version is `const unsigned long`: initialized data in the file. */
		if (!hl_elf__read_vaddr(elf, vaddr, &v, sizeof(v)))
			hexversion = v;
	}
	if (hexversion) {
		py->major = (hexversion >> 24) & 0xff;
		py->minor = (hexversion >> 16) & 0xff;
		py->micro = (hexversion >> 8) & 0xff;
		snprintf(py->version, sizeof(py->version), "%u.%u.%u", py->major, py->minor,
			 py->micro);
	} else if (named) {
		struct version_scan vs = {.minor = fminor};

		py->major = fmajor;
		py->minor = fminor;
		hl_elf__for_each_string(elf, ".rodata", 5, match_version_string, &vs);
		if (vs.found > 0) {
			py->micro = vs.micro;
			snprintf(py->version, sizeof(py->version), "%u.%u.%u", fmajor, fminor,
				 vs.micro);
		} else {
			snprintf(py->version, sizeof(py->version), "%u.%u", fmajor, fminor);
		}
	} else {
		snprintf(py->status, sizeof(py->status),
			 "%s holds a Python runtime of unknown version (no _Py_DebugOffsets, no "
			 "Py_Version, and a file name without one)", py->binary);
		return HL_PYDETECT_UNSUPPORTED;
	}
	/* Debug builds (d) and free-threaded builds (t) lay structs out differently. */
	if (strchr(abiflags, 'd') || strchr(abiflags, 't')) {
		snprintf(py->status, sizeof(py->status),
			 "%s is a %s build of Python %s, whose struct layouts hotloop does not "
			 "read yet", py->binary, strchr(abiflags, 't') ? "free-threaded" : "debug",
			 py->version);
		return HL_PYDETECT_UNSUPPORTED;
	}
	if (named && (fmajor != py->major || fminor != py->minor))
		hl_warn("pid %d: %s reports Python %s; trusting the interpreter over the name",
			(int)py->pid, py->binary, py->version);
	return HL_PYDETECT_OK;
}

int hl_python_ready(struct hl_python *py)
{
	int ret = locate_tss(py);

	if (ret != HL_PYDETECT_OK)
		return ret;
	py->bpf.flags = HL_PROC_PYTHON;
	py->bpf.py_version = py->major << 8 | py->minor;
	py->bpf.runtime = py->runtime;
	hl_pyver_to_bpf(&py->ver, &py->bpf.off);
	py->status[0] = '\0';
	return HL_PYDETECT_OK;
}

int hl_python_detect(pid_t pid, struct hl_python *py)
{
	const struct hl_pyver *table;
	struct hl_elf *elf = NULL;
	struct hl_maps maps;
	int err, ret;

	memset(py, 0, sizeof(*py));
	py->pid = pid;
	err = hl_maps__read(&maps, pid);
	if (err)
		return err;
	err = find_runtime(pid, &maps, py, &elf);
	hl_maps__release(&maps);
	if (err == -ENOENT) {
		snprintf(py->status, sizeof(py->status), "no Python interpreter in this process");
		return HL_PYDETECT_NOT_PYTHON;
	}
	if (err)
		return err;

	ret = identify_version(py, elf);
	hl_elf__free(elf);
	if (ret != HL_PYDETECT_OK)
		return ret;
	table = hl_pyver_find(py->major, py->minor);
	if (!table) {
		snprintf(py->status, sizeof(py->status),
			 "Python %s (%s) is not supported: hotloop reads 3.8 to 3.14",
			 py->version, py->binary);
		return HL_PYDETECT_UNSUPPORTED;
	}
	py->ver = *table;
	if (py->minor >= 13) {
		err = apply_debug_offsets(py);
		if (err == -ESRCH)
			return err;
		if (err) {
			snprintf(py->status, sizeof(py->status),
				 "Python %s (%s): its _Py_DebugOffsets are unreadable or "
				 "implausible", py->version, py->binary);
			return HL_PYDETECT_UNSUPPORTED;
		}
	}
	return hl_python_ready(py);
}
