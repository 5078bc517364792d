/* report/pprof.c — gzipped profile.proto, the format of go tool pprof, Pyroscope and Parca.
 *
 * Message and field numbers are those of github.com/google/pprof proto/profile.proto; the
 * encoder below writes only what this file needs (varints, length-delimited fields, packed
 * repeated varints), into memory, and zlib gzips the result.  Mapping:
 *   function   one per model function used: name (as labels spell it without file and
 *              module), system_name (native: the raw symbol, which pprof may demangle),
 *              filename (the Python or C source file, else the module), start_line
 *   location   one per model frame used: its function and the line being executed; native
 *              frames also carry their module as the mapping and their offset as address
 *   mapping    one per native module (has_functions etc. set: nothing to symbolize)
 *   sample     one per (stack, thread, state): locations innermost first, values [samples,
 *              cpu nanoseconds] (cpu only when the frequency is known), labels pid and tid
 *              (numbers), thread_name and thread_state ("gil", "no-gil", "unknown")
 * default_sample_type is "samples", so `go tool pprof -top` counts what `hotloop report`
 * counts.  Samples without frames get a location "[no frames]" so they are not lost.
 */
#define _GNU_SOURCE
#include "report/report.h"
#include "report/escape.h"
#include "report/label.h"
#include "report/used.h"
#include "schema/store.h"
#include "common/hashmap.h"
#include "common/util.h"
#include "version.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- protobuf encoding ------------------------------------------------------------------ */

enum { WIRE_VARINT = 0, WIRE_BYTES = 2 };

static int pb_varint(struct hl_buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	return hl_buf__add(b, tmp, n);
}

static int pb_uint(struct hl_buf *b, uint32_t field, uint64_t v)
{
	if (!v)
		return 0; /* proto3: zero is the default and is not written */
	return pb_varint(b, (uint64_t)field << 3 | WIRE_VARINT) || pb_varint(b, v) ? -ENOMEM : 0;
}

static int pb_bytes(struct hl_buf *b, uint32_t field, const void *data, size_t len)
{
	if (pb_varint(b, (uint64_t)field << 3 | WIRE_BYTES) || pb_varint(b, len) ||
	    hl_buf__add(b, data, len))
		return -ENOMEM;
	return 0;
}

/* Repeated field that must appear even when empty-valued (e.g. an empty string entry). */
static int pb_message(struct hl_buf *b, uint32_t field, const struct hl_buf *msg)
{
	return pb_bytes(b, field, msg->data ? msg->data : "", msg->len);
}

static int pb_packed(struct hl_buf *b, struct hl_buf *scratch, uint32_t field,
		     const uint64_t *v, size_t n)
{
	size_t i;

	scratch->len = 0;
	for (i = 0; i < n; i++)
		if (pb_varint(scratch, v[i]))
			return -ENOMEM;
	return n ? pb_message(b, field, scratch) : 0;
}

/* ---- the string table ------------------------------------------------------------------- */

struct strings {
	struct hl_buf table;   /* encoded string_table fields, in index order */
	struct hl_buf text;    /* the strings, NUL-terminated, for exact comparison */
	size_t *off;
	size_t nr, cap;
	struct hl_map *index;  /* hash -> index, probed */
	struct hl_buf clean;
};

static uint64_t hash_str(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* The index of @s (made valid UTF-8) in the string table, adding it when new. */
static int string_id(struct strings *st, const char *s, int64_t *out)
{
	uint64_t h, v;
	const char *str;
	size_t len;

	st->clean.len = 0;
	if (hl_utf8_clean(&st->clean, s ? s : "") || hl_buf__addc(&st->clean, '\0'))
		return -ENOMEM;
	str = st->clean.data;
	len = st->clean.len - 1;
	for (h = hash_str(str, len);; h++) {
		if (!hl_map__get(st->index, h, &v))
			break;
		if (!strcmp(st->text.data + st->off[v], str)) {
			*out = (int64_t)v;
			return 0;
		}
	}
	if (st->nr == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 1024;
		size_t *bigger = reallocarray(st->off, cap, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		st->off = bigger;
		st->cap = cap;
	}
	st->off[st->nr] = st->text.len;
	if (hl_buf__add(&st->text, str, len + 1) || hl_map__set(st->index, h, st->nr) ||
	    pb_bytes(&st->table, 6, str, len))
		return -ENOMEM;
	*out = (int64_t)st->nr++;
	return 0;
}

static void strings_release(struct strings *st)
{
	hl_buf__release(&st->table);
	hl_buf__release(&st->text);
	hl_buf__release(&st->clean);
	hl_map__free(st->index);
	free(st->off);
}

/* ---- the profile ------------------------------------------------------------------------ */

struct writer {
	const struct hl_profile *p;
	struct strings st;
	struct hl_buf body;   /* every field but the string table */
	struct hl_buf msg;    /* the message being built */
	struct hl_buf sub;    /* a message inside it */
	struct hl_buf packed;
	struct hl_buf name;
};

static int sid(struct writer *w, const char *s, int64_t *out)
{
	return string_id(&w->st, s, out);
}

static int value_type(struct writer *w, uint32_t field, const char *type, const char *unit)
{
	int64_t t, u;

	w->msg.len = 0;
	if (sid(w, type, &t) || sid(w, unit, &u) || pb_uint(&w->msg, 1, (uint64_t)t) ||
	    pb_uint(&w->msg, 2, (uint64_t)u))
		return -ENOMEM;
	return pb_message(&w->body, field, &w->msg);
}

static bool is_native(int kind)
{
	return kind == HL_FUNC_NATIVE || kind == HL_FUNC_EVAL;
}

static int write_functions(struct writer *w, const struct hl_used *u)
{
	size_t nr, i;
	const struct hl_rfunction *functions = hl_profile__functions(w->p, &nr);
	int64_t name, system_name, file;

	for (i = 0; i < u->nr_functions; i++) {
		const struct hl_rfunction *f = &functions[u->functions[i]];

		w->name.len = 0;
		/* system_name is set for native code only: pprof demangles (and for C++,
		 * simplifies) a system name equal to the name, which would turn a Python
		 * "<module>" into "<unknown>". */
		if (hl_label_function(&w->name, w->p, u->functions[i], HL_LABEL_NAME_ONLY) ||
		    hl_buf__addc(&w->name, '\0') || sid(w, w->name.data, &name) ||
		    sid(w, is_native(f->kind) ? f->name : "", &system_name) ||
		    sid(w, *f->file ? f->file : is_native(f->kind) ? f->module : "", &file))
			return -ENOMEM;
		w->msg.len = 0;
		if (pb_uint(&w->msg, 1, i + 1) || pb_uint(&w->msg, 2, (uint64_t)name) ||
		    pb_uint(&w->msg, 3, (uint64_t)system_name) ||
		    pb_uint(&w->msg, 4, (uint64_t)file) ||
		    pb_uint(&w->msg, 5, f->line > 0 ? (uint64_t)f->line : 0) ||
		    pb_message(&w->body, 5, &w->msg))
			return -ENOMEM;
	}
	return 0;
}

/* Mappings: one per native module; *mapping_of[f] is the mapping id of function f (0: none). */
static int write_mappings(struct writer *w, const struct hl_used *u, uint32_t *mapping_of)
{
	size_t nr, i, nr_mappings = 0;
	const struct hl_rfunction *functions = hl_profile__functions(w->p, &nr);
	int64_t file;
	uint64_t id;
	struct hl_map *seen = hl_map__new(64); /* string id of the module -> mapping id */

	if (!seen)
		return -ENOMEM;
	for (i = 0; i < u->nr_functions; i++) {
		const struct hl_rfunction *f = &functions[u->functions[i]];

		if (!is_native(f->kind) || !*f->module)
			continue;
		if (sid(w, f->module, &file))
			goto out_nomem;
		if (!hl_map__get(seen, (uint64_t)file, &id)) {
			id = ++nr_mappings;
			w->msg.len = 0;
			/* memory_limit: an address range pprof accepts for offsets; nothing is
			 * symbolized (has_functions), so it only has to be non-empty. */
			if (hl_map__set(seen, (uint64_t)file, id) || pb_uint(&w->msg, 1, id) ||
			    pb_uint(&w->msg, 3, UINT64_MAX >> 1) ||
			    pb_uint(&w->msg, 5, (uint64_t)file) || pb_uint(&w->msg, 7, 1) ||
			    pb_uint(&w->msg, 8, 1) || pb_uint(&w->msg, 9, 1) ||
			    pb_uint(&w->msg, 10, 1) || pb_message(&w->body, 3, &w->msg))
				goto out_nomem;
		}
		mapping_of[u->functions[i]] = (uint32_t)id;
	}
	hl_map__free(seen);
	return 0;
out_nomem:
	hl_map__free(seen);
	return -ENOMEM;
}

static int write_locations(struct writer *w, const struct hl_used *u, const uint32_t *mapping_of)
{
	size_t nr, i;
	const struct hl_rframe *frames = hl_profile__frames(w->p, &nr);

	for (i = 0; i < u->nr_frames; i++) {
		const struct hl_rframe *fr = &frames[u->frames[i]];
		uint32_t mapping = mapping_of[fr->function];

		w->sub.len = 0;
		w->msg.len = 0;
		if (pb_uint(&w->sub, 1, (uint64_t)u->function_id[fr->function] + 1) ||
		    pb_uint(&w->sub, 2, fr->line > 0 ? (uint64_t)fr->line : 0) ||
		    pb_uint(&w->msg, 1, i + 1) || pb_uint(&w->msg, 2, mapping) ||
		    pb_uint(&w->msg, 3, mapping ? fr->address : 0) ||
		    pb_message(&w->msg, 4, &w->sub) || pb_message(&w->body, 4, &w->msg))
			return -ENOMEM;
	}
	return 0;
}

static int label(struct writer *w, const char *key, const char *str, int64_t num, bool is_num)
{
	int64_t k, s = 0;

	if (sid(w, key, &k) || (!is_num && sid(w, str, &s)))
		return -ENOMEM;
	w->sub.len = 0;
	if (pb_uint(&w->sub, 1, (uint64_t)k) || pb_uint(&w->sub, 2, (uint64_t)s) ||
	    (is_num && pb_uint(&w->sub, 3, (uint64_t)num)))
		return -ENOMEM;
	return pb_message(&w->msg, 3, &w->sub);
}

static int write_samples(struct writer *w, const struct hl_used *u, uint64_t period,
			 uint64_t no_frames_location)
{
	static const char *const states[] = {"unknown", "gil", "no-gil"};
	size_t nr_stacks, nr_frames, nr_counts, nr_threads, i;
	const struct hl_rstack *stacks = hl_profile__stacks(w->p, &nr_stacks);
	const struct hl_rcount *counts = hl_profile__counts(w->p, &nr_counts);
	const struct hl_rthread *threads = hl_profile__threads(w->p, &nr_threads);
	uint64_t *locations, values[2];
	uint32_t max_depth = 1;
	int err = -ENOMEM;

	hl_profile__frames(w->p, &nr_frames);
	for (i = 0; i < nr_stacks; i++)
		max_depth = HL_MAX(max_depth, stacks[i].depth);
	locations = calloc(max_depth, sizeof(*locations));
	if (!locations)
		return -ENOMEM;
	for (i = 0; i < nr_counts; i++) {
		const struct hl_rcount *c = &counts[i];
		size_t depth = 0;
		uint32_t n;

		if (c->stack == HL_NONE)
			locations[depth++] = no_frames_location;
		for (n = c->stack; n != HL_NONE; n = stacks[n].parent)
			locations[depth++] = (uint64_t)u->frame_id[stacks[n].frame] + 1;
		values[0] = c->weight;
		values[1] = c->weight * period;
		w->msg.len = 0;
		if (pb_packed(&w->msg, &w->packed, 1, locations, depth) ||
		    pb_packed(&w->msg, &w->packed, 2, values, period ? 2 : 1))
			goto out_free;
		if (c->thread != HL_NONE) {
			const struct hl_rthread *t = &threads[c->thread];

			if (label(w, "pid", NULL, t->pid, true) ||
			    label(w, "tid", NULL, t->tid, true) ||
			    (*t->name && label(w, "thread_name", t->name, 0, false)))
				goto out_free;
		}
		if (label(w, "thread_state",
			  c->state >= 0 && c->state <= 2 ? states[c->state] : "unknown", 0,
			  false) ||
		    pb_message(&w->body, 2, &w->msg))
			goto out_free;
	}
	err = 0;
out_free:
	free(locations);
	return err;
}

static int gzip_out(const struct hl_buf *a, const struct hl_buf *b, FILE *out)
{
	unsigned char chunk[65536];
	z_stream zs = {0};
	const struct hl_buf *parts[2] = {a, b};
	int i, rc;

	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		zs.next_in = (unsigned char *)parts[i]->data;
		zs.avail_in = (uInt)parts[i]->len;
		do {
			zs.next_out = chunk;
			zs.avail_out = sizeof(chunk);
			rc = deflate(&zs, i == 1 ? Z_FINISH : Z_NO_FLUSH);
			fwrite(chunk, 1, sizeof(chunk) - zs.avail_out, out);
		} while (zs.avail_in || (i == 1 && rc != Z_STREAM_END));
	}
	deflateEnd(&zs);
	return 0;
}

int hl_pprof_write(const struct hl_profile *p, const struct hl_report_options *opts, FILE *out)
{
	const struct hl_rsummary *s = hl_profile__summary(p);
	size_t nr_functions;
	struct writer w = {.p = p};
	uint32_t *mapping_of = NULL;
	uint64_t period = s->frequency_hz ? 1000000000ULL / s->frequency_hz : 0;
	uint64_t no_frames_location;
	int64_t samples_id, comment;
	char text[128];
	struct hl_used u;
	int err;

	hl_profile__functions(p, &nr_functions);
	err = hl_used__init(&u, p);
	if (err)
		return err;
	err = -ENOMEM;
	w.st.index = hl_map__new(1024);
	mapping_of = calloc(nr_functions + 1, sizeof(*mapping_of));
	if (!w.st.index || !mapping_of)
		goto out_free;
	/* string_table[0] must be "". */
	if (string_id(&w.st, "", &samples_id))
		goto out_free;
	if (value_type(&w, 1, "samples", "count") ||
	    (period && value_type(&w, 1, "cpu", "nanoseconds")))
		goto out_free;
	err = write_mappings(&w, &u, mapping_of);
	if (!err)
		err = write_functions(&w, &u);
	if (!err)
		err = write_locations(&w, &u, mapping_of);
	if (err)
		goto out_free;
	/* The "[no frames]" function and location, after the real ones. */
	no_frames_location = u.nr_frames + 1;
	{
		int64_t name;

		w.msg.len = 0;
		w.sub.len = 0;
		err = -ENOMEM;
		if (sid(&w, HL_LABEL_NO_FRAMES, &name) || pb_uint(&w.msg, 1, u.nr_functions + 1) ||
		    pb_uint(&w.msg, 2, (uint64_t)name) || pb_uint(&w.msg, 3, (uint64_t)name) ||
		    pb_message(&w.body, 5, &w.msg))
			goto out_free;
		w.msg.len = 0;
		if (pb_uint(&w.sub, 1, u.nr_functions + 1) ||
		    pb_uint(&w.msg, 1, no_frames_location) || pb_message(&w.msg, 4, &w.sub) ||
		    pb_message(&w.body, 4, &w.msg))
			goto out_free;
	}
	err = write_samples(&w, &u, period, no_frames_location);
	if (err)
		goto out_free;
	err = -ENOMEM;
	if (pb_uint(&w.body, 9, s->start_ns) ||
	    pb_uint(&w.body, 10, s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0))
		goto out_free;
	if (period && (value_type(&w, 11, "cpu", "nanoseconds") || pb_uint(&w.body, 12, period)))
		goto out_free;
	snprintf(text, sizeof(text), "hotloop %s, view %s%s%s", HOTLOOP_VERSION,
		 hl_view_name(s->view), opts->filter_label ? ", filter " : "",
		 opts->filter_label ? opts->filter_label : "");
	if (sid(&w, text, &comment) || pb_uint(&w.body, 13, (uint64_t)comment) ||
	    sid(&w, "samples", &samples_id) || pb_uint(&w.body, 14, (uint64_t)samples_id))
		goto out_free;
	/* Fields may come in any order; the string table goes first only for readability. */
	err = gzip_out(&w.st.table, &w.body, out);

out_free:
	free(mapping_of);
	strings_release(&w.st);
	hl_buf__release(&w.body);
	hl_buf__release(&w.msg);
	hl_buf__release(&w.sub);
	hl_buf__release(&w.packed);
	hl_buf__release(&w.name);
	hl_used__release(&u);
	return err;
}
