/* symbolize/pystack.c — see pystack.h.  Mirrors walk_step() and gil_state() of
 * collector/sample.bpf.c; a change to one is a change to the other. */
#include "symbolize/pystack.h"
#include "common/util.h"
#include "symbolize/procmem.h"

#include <errno.h>
#include <string.h>

static uint64_t get_u64(const uint8_t *buf, unsigned off, unsigned size)
{
	uint64_t x;

	if (off == HL_OFF_NONE || off + 8 > size)
		return 0;
	memcpy(&x, buf + off, sizeof(x));
	return x;
}

static uint32_t get_u32(const uint8_t *buf, unsigned off, unsigned size)
{
	uint32_t x;

	if (off == HL_OFF_NONE || off + 4 > size)
		return 0;
	memcpy(&x, buf + off, sizeof(x));
	return x;
}

static uint8_t get_u8(const uint8_t *buf, unsigned off, unsigned size)
{
	return off == HL_OFF_NONE || off >= size ? 0 : buf[off];
}

int hl_pystack_walk(const struct hl_python *py, uint64_t tstate, struct hl_py_frame *frames,
		    unsigned max, unsigned *n)
{
	const struct hl_py_offsets *off = &py->bpf.off;
	unsigned tsize = HL_MIN(off->tstate_size, HL_TSTATE_READ);
	unsigned fsize = HL_MIN(off->frame_size, HL_FRAME_READ);
	uint8_t ts[HL_TSTATE_READ], fr[HL_FRAME_READ];
	uint64_t frame, next, code;
	unsigned steps;
	int err;

	*n = 0;
	if (tsize < 8 || fsize < 8)
		return HL_PY_BAD_TSTATE;
	err = hl_procmem_read(py->pid, tstate, ts, tsize);
	if (err)
		return err == -ESRCH ? err : HL_PY_BAD_TSTATE;
	frame = get_u64(ts, off->tstate_frame, tsize);
	if (off->frame_root == HL_ROOT_CFRAME && frame &&
	    hl_procmem_read_u64(py->pid, frame + off->cframe_current_frame, &frame))
		return HL_PY_READ_FAILED;
	/* Shims do not count against @max; the bound on steps covers them. */
	for (steps = 0; frame && steps < max + 64; steps++) {
		struct hl_py_frame *out;
		uint8_t owner = 0;

		if (hl_procmem_read(py->pid, frame, fr, fsize))
			return HL_PY_READ_FAILED;
		next = get_u64(fr, off->frame_back, fsize);
		if (next == frame)
			return HL_PY_CYCLE;
		code = get_u64(fr, off->frame_code, fsize) & off->code_tag_mask;
		if (off->frame_owner != HL_OFF_NONE)
			owner = get_u8(fr, off->frame_owner, fsize);
		if (owner >= off->owner_shim_min) {
			if (*n)
				frames[*n - 1].flags |= HL_PYF_ENTRY;
			frame = next;
			continue;
		}
		if (*n >= max)
			return HL_PY_TOO_DEEP;
		out = &frames[(*n)++];
		memset(out, 0, sizeof(*out));
		out->code = code;
		if (!code || hl_procmem_read(py->pid, code + off->code_fingerprint,
					     &out->fingerprint, sizeof(out->fingerprint)))
			out->flags |= HL_PYF_BAD_LASTI;
		if (off->lasti_kind == HL_LASTI_INT) {
			out->lasti = (int32_t)get_u32(fr, off->frame_lasti, fsize);
			out->flags |= HL_PYF_ENTRY;
			out->gen = get_u64(fr, off->frame_gen, fsize);
		} else {
			uint64_t ip = get_u64(fr, off->frame_lasti, fsize);
			uint64_t start = code + off->code_adaptive;

			if (ip >= start && ip - start < (1ULL << 31)) {
				out->lasti = (int32_t)((ip - start) / 2);
			} else {
				out->lasti = -1;
				out->flags |= HL_PYF_BAD_LASTI;
			}
			if (get_u8(fr, off->frame_is_entry, fsize))
				out->flags |= HL_PYF_ENTRY;
			if (owner == 1) {
				out->flags |= HL_PYF_GENERATOR;
				out->gen = frame - off->gen_iframe;
			}
		}
		frame = next;
	}
	return frame ? HL_PY_TOO_DEEP : HL_PY_OK;
}

int hl_pystack_gil(const struct hl_python *py, uint64_t tstate)
{
	const struct hl_py_offsets *off = &py->bpf.off;
	uint64_t gil, holder, interp;
	uint32_t locked;

	if (off->gil_kind == HL_GIL_RUNTIME) {
		gil = py->runtime + off->gil_off;
	} else if (off->gil_kind == HL_GIL_INTERP) {
		if (hl_procmem_read_u64(py->pid, tstate + off->tstate_interp, &interp) ||
		    hl_procmem_read_u64(py->pid, interp + off->gil_off, &gil))
			return HL_GIL_STATE_UNKNOWN;
	} else {
		return HL_GIL_STATE_UNKNOWN;
	}
	if (!gil || hl_procmem_read_u32(py->pid, gil + off->gil_locked, &locked) ||
	    hl_procmem_read_u64(py->pid, gil + off->gil_holder, &holder))
		return HL_GIL_STATE_UNKNOWN;
	/* last_holder is not cleared on release: only a locked GIL has a holder. */
	return locked && holder == tstate ? HL_GIL_STATE_HELD : HL_GIL_STATE_NOT_HELD;
}

int hl_pystack_attach_state(const struct hl_python *py, uint64_t tstate)
{
	uint32_t state;

	if (py->ver.tstate_state == HL_OFF_NONE ||
	    hl_procmem_read_u32(py->pid, tstate + py->ver.tstate_state, &state) || state > 3)
		return -1;
	return (int)state;
}
