/* report/profile.c — loads a profile store into the in-memory model of report/profile.h.
 *
 * Four reads: the profile rows (summary), the threads of the selected profiles, the function,
 * frame and stack tables (whole: they are small, one row per distinct value), and one scan of
 * the sample table, aggregated in a hash table keyed by (stack, thread, state).  Filters are
 * SQL fragments chosen from fixed text with their values bound as named parameters; adding a
 * filter means adding a fragment and a binding in build_sample_query().
 *
 * The file may be damaged or written by someone careless: every id read is checked (a frame
 * naming a missing function, a stack a missing parent, a cycle in the prefix tree) and turned
 * into "the file is damaged" instead of a wrong report or an endless walk.
 */
#define _GNU_SOURCE
#include "report/profile.h"
#include "report/buf.h"
#include "report/profile_private.h"
#include "report/itab.h"
#include "schema/store.h"
#include "common/hash.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Loader state that does not outlive hl_profile__load. */
struct loader {
	struct hl_store *store;
	sqlite3 *db;
	const char *path;
	struct hl_profile *p;
	const struct hl_report_filter *filter;
	struct hl_map *function_index; /* function.id -> index */
	struct hl_map *frame_index;    /* frame.id -> index */
	struct hl_map *thread_index;   /* thread.id -> index */
	size_t cap_threads;            /* allocated lengths of the model's arrays */
	size_t cap_stacks;
	bool unfinished;               /* a selected profile has no end_ns */
	int64_t from_us, to_us;        /* --from/--to resolved: relative or absolute µs */
	/* stack.id -> index: stack ids are SQLite rowids, normally dense, so a plain array
	 * (dense[id] = index + 1) does; a sparse file falls back to a hash map. */
	int64_t *stack_ids;            /* per index: stack.id and parent_id, until link_stacks() */
	int64_t *stack_parent_ids;
	size_t cap_stack_ids;
	uint32_t *dense;
	size_t nr_dense;
	struct hl_map *stack_index;
	/* Aggregation of samples per (stack, thread, state): a compact hash index over the
	 * entries, keyed by stack index << 32 | thread index << 8 | state. */
	struct hl_itab agg_index;
	struct agg {
		uint64_t key;
		int64_t thread_id;
		int64_t state;
		uint64_t weight;
	} *agg;
	size_t nr_agg;
	size_t cap_agg;
};

static int damaged(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int damaged(struct loader *l, const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return hl_store__damaged(l->store, detail);
}

/* Strings are kept as offsets into p->strings while loading (the buffer moves as it grows)
 * and become pointers in fix_strings().  Offset 0 holds an empty string no one points at, so
 * a NULL pointer (no command) stays NULL. */
static int add_string(struct hl_profile *p, const unsigned char *s, int len, const char **out)
{
	size_t off = p->strings.len;

	if (!s)
		len = 0;
	if (hl_buf__reserve(&p->strings, (size_t)len + 1))
		return -ENOMEM;
	if (len)
		memcpy(p->strings.data + off, s, (size_t)len);
	p->strings.data[off + (size_t)len] = '\0';
	p->strings.len += (size_t)len + 1;
	*out = (const char *)(uintptr_t)off;
	return 0;
}

static int column_string(struct hl_profile *p, sqlite3_stmt *stmt, int col, const char **out)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	/* A NUL inside a TEXT value would end the string early; that is all it can do. */
	return add_string(p, s, sqlite3_column_bytes(stmt, col), out);
}

static void fix_strings(struct hl_profile *p)
{
	const char *base = p->strings.data;
	size_t i;

#define FIX(ptr) ((ptr) = base + (uintptr_t)(ptr))
	for (i = 0; i < p->nr_functions; i++) {
		FIX(p->functions[i].name);
		FIX(p->functions[i].file);
		FIX(p->functions[i].module);
	}
	for (i = 0; i < p->nr_frames; i++)
		FIX(p->frames[i].file);
	for (i = 0; i < p->nr_threads; i++)
		FIX(p->threads[i].name);
	if (p->summary.command)
		FIX(p->summary.command);
#undef FIX
}

int hl_grow_array(void **array, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 64;
	void *bigger;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	bigger = reallocarray(*array, n, elem);
	if (!bigger)
		return -ENOMEM;
	*array = bigger;
	*cap = n;
	return 0;
}

static int prepare(struct loader *l, const char *sql, sqlite3_stmt **stmt, const char *what)
{
	int rc = sqlite3_prepare_v2(l->db, sql, -1, stmt, NULL);

	if (rc != SQLITE_OK)
		return hl_store__sql_error(l->store, rc, what);
	return 0;
}

static void bind_int(sqlite3_stmt *stmt, const char *name, int64_t value)
{
	int i = sqlite3_bind_parameter_index(stmt, name);

	if (i)
		sqlite3_bind_int64(stmt, i, value);
}

static void bind_filter(struct loader *l, sqlite3_stmt *stmt)
{
	const struct hl_report_filter *f = l->filter;
	int i;

	bind_int(stmt, ":profile", f->profile_id);
	bind_int(stmt, ":pid", f->pid);
	bind_int(stmt, ":tid", f->tid);
	bind_int(stmt, ":state", f->state);
	bind_int(stmt, ":from", l->from_us);
	bind_int(stmt, ":to", l->to_us);
	i = sqlite3_bind_parameter_index(stmt, ":service");
	if (i)
		sqlite3_bind_text(stmt, i, f->service ? f->service : "", -1, SQLITE_STATIC);
	i = sqlite3_bind_parameter_index(stmt, ":thread_re");
	if (i)
		sqlite3_bind_text(stmt, i, f->thread_regex ? f->thread_regex : "", -1,
				  SQLITE_STATIC);
}

/* Runs @stmt to the end, calling @row for each row; finalizes it. */
static int for_each_row(struct loader *l, sqlite3_stmt *stmt, const char *what,
			int (*row)(struct loader *l, sqlite3_stmt *stmt))
{
	int rc, err = 0;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		err = row(l, stmt);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = hl_store__sql_error(l->store, rc, what);
	sqlite3_finalize(stmt);
	return err;
}

/* hl_regexp(PATTERN, TEXT): 1 when the POSIX extended regular expression matches anywhere in
 * TEXT.  The compiled pattern is kept as the statement's auxiliary data, so it is compiled once
 * per statement, not once per row. */
static void regexp_free(void *re)
{
	regfree(re);
	free(re);
}

static void sql_regexp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *text = (const char *)sqlite3_value_text(argv[1]);
	regex_t *re = sqlite3_get_auxdata(ctx, 0);
	bool fresh = false;
	int match;

	if (!re) {
		const char *pattern = (const char *)sqlite3_value_text(argv[0]);

		re = malloc(sizeof(*re));
		if (!re || !pattern || regcomp(re, pattern, REG_EXTENDED | REG_NOSUB)) {
			free(re);
			sqlite3_result_error(ctx, "hl_regexp: bad regular expression", -1);
			return;
		}
		fresh = true;
	}
	match = regexec(re, text ? text : "", 0, NULL, 0) == 0;
	/* After set_auxdata SQLite owns re (and may already have freed it): set it last. */
	if (fresh)
		sqlite3_set_auxdata(ctx, 0, re, regexp_free);
	sqlite3_result_int(ctx, match);
}

/* ---- summary ---------------------------------------------------------------------------- */

static int summary_row(struct loader *l, sqlite3_stmt *stmt)
{
	struct hl_rsummary *s = &l->p->summary;
	int64_t start = sqlite3_column_int64(stmt, 4);
	int64_t end = sqlite3_column_int64(stmt, 5);

	if (!s->profiles || (uint64_t)HL_MAX(start, 0) < s->start_ns)
		s->start_ns = (uint64_t)HL_MAX(start, 0);
	if (sqlite3_column_type(stmt, 5) == SQLITE_NULL || end <= 0)
		l->unfinished = true;
	else if ((uint64_t)end > s->end_ns)
		s->end_ns = (uint64_t)end;
	if (l->unfinished)
		s->end_ns = 0;
	s->samples += (uint64_t)sqlite3_column_int64(stmt, 1);
	s->lost += (uint64_t)sqlite3_column_int64(stmt, 2);
	s->truncated += (uint64_t)sqlite3_column_int64(stmt, 3);
	s->profiles++;
	if (s->profiles == 1) {
		s->frequency_hz = (uint32_t)sqlite3_column_int64(stmt, 6);
		if (sqlite3_column_type(stmt, 7) != SQLITE_NULL)
			return column_string(l->p, stmt, 7, &s->command);
		return 0;
	}
	s->command = NULL; /* several profiles: no single command */
	return 0;
}

static int load_summary(struct loader *l)
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(l,
		      "SELECT id, samples, lost, truncated, start_ns, end_ns, frequency_hz, command"
		      " FROM profile WHERE :profile = 0 OR id = :profile ORDER BY id",
		      &stmt, "reading profiles");
	if (err)
		return err;
	bind_filter(l, stmt);
	err = for_each_row(l, stmt, "reading profiles", summary_row);
	if (err)
		return err;
	if (l->filter->profile_id && !l->p->summary.profiles) {
		hl_err("%s has no profile %" PRId64 ": `sqlite3 %s 'SELECT id, command FROM "
		       "profile'` lists them",
		       l->path, l->filter->profile_id, l->path);
		return -ENOENT;
	}
	return 0;
}

/* ---- threads, functions, frames, stacks ------------------------------------------------- */

static int thread_row(struct loader *l, sqlite3_stmt *stmt)
{
	struct hl_profile *p = l->p;
	struct hl_rthread *t;

	if (hl_grow_array((void **)&p->threads, &l->cap_threads, p->nr_threads + 1, sizeof(*t)))
		return -ENOMEM;
	t = &p->threads[p->nr_threads];
	t->id = sqlite3_column_int64(stmt, 0);
	t->pid = (uint32_t)sqlite3_column_int64(stmt, 1);
	t->tid = (uint32_t)sqlite3_column_int64(stmt, 2);
	if (column_string(p, stmt, 3, &t->name) ||
	    hl_map__set(l->thread_index, (uint64_t)t->id, p->nr_threads))
		return -ENOMEM;
	p->nr_threads++;
	return 0;
}

static int function_row(struct loader *l, sqlite3_stmt *stmt)
{
	struct hl_profile *p = l->p;
	struct hl_rfunction *f;

	if (hl_grow_array((void **)&p->functions, &p->cap_functions, p->nr_functions + 1,
			  sizeof(*f)))
		return -ENOMEM;
	f = &p->functions[p->nr_functions];
	f->kind = (int)sqlite3_column_int64(stmt, 1);
	f->line = (int32_t)sqlite3_column_int64(stmt, 4);
	if (column_string(p, stmt, 2, &f->name) || column_string(p, stmt, 3, &f->file) ||
	    column_string(p, stmt, 5, &f->module) ||
	    hl_map__set(l->function_index, (uint64_t)sqlite3_column_int64(stmt, 0),
			p->nr_functions))
		return -ENOMEM;
	p->nr_functions++;
	return 0;
}

static int frame_row(struct loader *l, sqlite3_stmt *stmt)
{
	struct hl_profile *p = l->p;
	int64_t id = sqlite3_column_int64(stmt, 0);
	int64_t function_id = sqlite3_column_int64(stmt, 1);
	struct hl_rframe *fr;
	uint64_t index;

	if (!hl_map__get(l->function_index, (uint64_t)function_id, &index))
		return damaged(l, "frame %" PRId64 " names function %" PRId64
				  ", which does not exist",
			       id, function_id);
	if (hl_grow_array((void **)&p->frames, &p->cap_frames, p->nr_frames + 1, sizeof(*fr)))
		return -ENOMEM;
	fr = &p->frames[p->nr_frames];
	fr->function = (uint32_t)index;
	fr->line = (int32_t)sqlite3_column_int64(stmt, 2);
	fr->address = (uint64_t)sqlite3_column_int64(stmt, 3);
	if (column_string(p, stmt, 4, &fr->file) ||
	    hl_map__set(l->frame_index, (uint64_t)id, p->nr_frames))
		return -ENOMEM;
	p->nr_frames++;
	return 0;
}

/* The stack table: frames now, parent ids resolved in link_stacks() once every id is known. */
static int stack_row(struct loader *l, sqlite3_stmt *stmt)
{
	struct hl_profile *p = l->p;
	int64_t id = sqlite3_column_int64(stmt, 0);
	int64_t parent_id = sqlite3_column_int64(stmt, 1);
	int64_t frame_id = sqlite3_column_int64(stmt, 2);
	struct hl_rstack *s;
	uint64_t index;

	if (!hl_map__get(l->frame_index, (uint64_t)frame_id, &index))
		return damaged(l, "stack %" PRId64 " names frame %" PRId64 ", which does not exist",
			       id, frame_id);
	if (id <= 0 || parent_id < 0)
		return damaged(l, "stack %" PRId64 " has parent %" PRId64, id, parent_id);
	if (p->nr_stacks >= HL_NONE - 1)
		return damaged(l, "more than %u stacks", HL_NONE - 1);
	if (hl_grow_array((void **)&p->stacks, &l->cap_stacks, p->nr_stacks + 1, sizeof(*s)))
		return -ENOMEM;
	if (p->nr_stacks + 1 > l->cap_stack_ids) {
		size_t cap = l->cap_stack_ids;

		if (hl_grow_array((void **)&l->stack_ids, &cap, p->nr_stacks + 1,
				  sizeof(*l->stack_ids)) ||
		    hl_grow_array((void **)&l->stack_parent_ids, &l->cap_stack_ids,
				  p->nr_stacks + 1, sizeof(*l->stack_parent_ids)))
			return -ENOMEM;
	}
	s = &p->stacks[p->nr_stacks];
	s->frame = (uint32_t)index;
	s->depth = 0;
	s->parent = HL_NONE;
	l->stack_ids[p->nr_stacks] = id;
	l->stack_parent_ids[p->nr_stacks] = parent_id;
	p->nr_stacks++;
	return 0;
}

static bool stack_lookup(const struct loader *l, int64_t id, uint32_t *index)
{
	uint64_t v;

	if (l->dense) {
		if (id <= 0 || (uint64_t)id >= l->nr_dense || !l->dense[id])
			return false;
		*index = l->dense[id] - 1;
		return true;
	}
	if (!hl_map__get(l->stack_index, (uint64_t)id, &v))
		return false;
	*index = (uint32_t)v;
	return true;
}

static int load_table(struct loader *l, const char *sql, const char *what,
		      int (*row)(struct loader *l, sqlite3_stmt *stmt))
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(l, sql, &stmt, what);
	if (err)
		return err;
	bind_filter(l, stmt);
	return for_each_row(l, stmt, what, row);
}

/* Indexes the stack ids and resolves the parents, then computes depths, refusing cycles (a
 * corrupted or hostile file must not send a walk round forever). */
static int link_stacks(struct loader *l)
{
	struct hl_profile *p = l->p;
	int64_t max_id = 0, *ids = l->stack_ids;
	uint32_t parent;
	size_t i;
	int err;

	for (i = 0; i < p->nr_stacks; i++)
		max_id = HL_MAX(max_id, ids[i]);
	err = -ENOMEM;
	if ((uint64_t)max_id <= 4 * (uint64_t)p->nr_stacks + 1024) {
		l->nr_dense = (size_t)max_id + 1;
		l->dense = calloc(l->nr_dense, sizeof(*l->dense));
		if (!l->dense)
			goto out_free;
		for (i = 0; i < p->nr_stacks; i++)
			l->dense[ids[i]] = (uint32_t)i + 1;
	} else {
		l->stack_index = hl_map__new(p->nr_stacks);
		if (!l->stack_index)
			goto out_free;
		for (i = 0; i < p->nr_stacks; i++)
			if (hl_map__set(l->stack_index, (uint64_t)ids[i], i))
				goto out_free;
	}
	for (i = 0; i < p->nr_stacks; i++) {
		int64_t parent_id = l->stack_parent_ids[i];

		if (!parent_id)
			continue;
		if (!stack_lookup(l, parent_id, &parent)) {
			err = damaged(l, "stack %" PRId64 " names parent %" PRId64
					 ", which does not exist",
				      ids[i], parent_id);
			goto out_free;
		}
		p->stacks[i].parent = parent;
	}
	free(l->stack_parent_ids);
	l->stack_parent_ids = NULL;

	for (i = 0; i < p->nr_stacks; i++) {
		uint32_t n = (uint32_t)i, steps = 0, depth;

		/* Walk up to a node of known depth (or the root), then fill in on the way. */
		while (n != HL_NONE && !p->stacks[n].depth) {
			n = p->stacks[n].parent;
			if (++steps > p->nr_stacks) {
				err = damaged(l, "the parent_id links of the stack table loop");
				goto out_free;
			}
		}
		depth = n == HL_NONE ? 0 : p->stacks[n].depth;
		/* Nodes from i up to n get depths depth + steps, ..., depth + 1. */
		for (n = (uint32_t)i; n != HL_NONE && !p->stacks[n].depth; n = p->stacks[n].parent)
			p->stacks[n].depth = depth + steps--;
	}
	err = 0;
out_free:
	free(l->stack_ids);
	l->stack_ids = NULL;
	return err;
}

/* ---- samples --------------------------------------------------------------------------- */

/* Appends @a and @b to @cond, after " AND " unless it is the first term. */
static int add_term(struct hl_buf *cond, const char *a, const char *b)
{
	int err = cond->len ? hl_buf__add(cond, " AND ", 5) : 0;

	if (!err)
		err = hl_buf__add(cond, a, strlen(a));
	return err ? err : hl_buf__add(cond, b, strlen(b));
}

/* The filter as a condition on a sample row `s` whose time is @time_sql, into @cond.  Every
 * fragment is fixed text; values are bound in bind_filter(). */
static int build_condition(const struct hl_report_filter *f, const char *time_sql,
			   struct hl_buf *cond)
{
	int err = 0;

#define COND(a, b)                                                                             \
	do {                                                                                   \
		if (!err)                                                                      \
			err = add_term(cond, a, b);                                            \
	} while (0)

	if (f->has_pid && f->has_tid)
		COND("s.thread_id IN (SELECT thread.id FROM thread JOIN process"
		     " ON process.id = thread.process_id"
		     " WHERE process.pid = :pid AND thread.tid = :tid)", "");
	else if (f->has_pid)
		COND("s.thread_id IN (SELECT thread.id FROM thread JOIN process"
		     " ON process.id = thread.process_id WHERE process.pid = :pid)", "");
	else if (f->has_tid)
		COND("s.thread_id IN (SELECT id FROM thread WHERE tid = :tid)", "");
	if (f->thread_regex)
		COND("s.thread_id IN (SELECT id FROM thread"
		     " WHERE hl_regexp(:thread_re, coalesce(name, '')))", "");
	if (f->service)
		COND("s.thread_id IN (SELECT thread.id FROM thread JOIN process"
		     " ON process.id = thread.process_id WHERE process.service = :service)", "");
	if (f->has_state)
		COND("s.state = :state", "");
	if (f->from.kind == HL_TIME_RELATIVE)
		COND(time_sql, " >= :from");
	else if (f->from.kind != HL_TIME_NONE)
		COND(time_sql, " + p.start_ns / 1000 >= :from");
	if (f->to.kind == HL_TIME_RELATIVE)
		COND(time_sql, " < :to");
	else if (f->to.kind != HL_TIME_NONE)
		COND(time_sql, " + p.start_ns / 1000 < :to");
#undef COND
	if (!err && !cond->len)
		err = hl_buf__add(cond, "1", 1);
	return err ? err : hl_buf__addc(cond, '\0');
}

/* The sample scan: `sample` (hotloop record), then from schema 6 on the daemon's windows'
 * rows in `window_sample`, whose time and profile are their window's.  Filters other than the
 * profile become the 5th column, so one scan counts both what is selected and what is
 * stored. */
static int build_sample_query(struct loader *l, char *sql, size_t len)
{
	const struct hl_report_filter *f = l->filter;
	struct hl_buf cond = {0}, wcond = {0};
	bool absolute = (f->from.kind != HL_TIME_NONE && f->from.kind != HL_TIME_RELATIVE) ||
			(f->to.kind != HL_TIME_NONE && f->to.kind != HL_TIME_RELATIVE);
	bool windows = hl_store__schema_version(l->store) >= 6;
	int n, err;

	err = build_condition(f, "s.time_us", &cond);
	if (!err && windows)
		err = build_condition(f, "w.time_us", &wcond);
	if (err) {
		hl_buf__release(&cond);
		hl_buf__release(&wcond);
		return err;
	}
	/* CROSS JOIN keeps the sample table the outer loop: one rowid lookup per sample instead
	 * of a scan of the samples per profile; for windows, the window table (one range of
	 * window_sample each). */
	n = snprintf(sql, len,
		     "SELECT s.stack_id, s.thread_id, s.state, s.weight, %s FROM sample AS s%s%s"
		     "%s%s%s%s%s",
		     cond.data, absolute ? " CROSS JOIN profile AS p ON p.id = s.profile_id" : "",
		     f->profile_id ? " WHERE s.profile_id = :profile" : "",
		     windows ? " UNION ALL SELECT s.stack_id, s.thread_id, s.state, s.weight, " : "",
		     windows ? wcond.data : "",
		     windows ? " FROM window AS w CROSS JOIN window_sample AS s"
			       " ON s.rowid BETWEEN w.first_rowid AND w.last_rowid"
			     : "",
		     windows && absolute ? " CROSS JOIN profile AS p ON p.id = w.profile_id" : "",
		     windows && f->profile_id ? " WHERE w.profile_id = :profile" : "");
	hl_buf__release(&cond);
	hl_buf__release(&wcond);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Turns --from/--to into the values bound as :from and :to. */
static void resolve_time(struct loader *l, const struct hl_time_bound *t, int64_t *out)
{
	const struct hl_rsummary *s = &l->p->summary;
	struct tm tm;
	time_t start, midnight;

	switch (t->kind) {
	case HL_TIME_OF_DAY:
		start = (time_t)(s->start_ns / 1000000000ULL);
		localtime_r(&start, &tm);
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		midnight = mktime(&tm);
		*out = (int64_t)midnight * 1000000 + t->value;
		break;
	default:
		*out = t->value;
		break;
	}
}

static uint64_t agg_key(const void *arg, uint32_t i)
{
	const struct loader *l = arg;

	return l->agg[i].key;
}

static int aggregate(struct loader *l, int64_t stack_id, int64_t thread_id, int64_t state,
		     uint64_t weight)
{
	uint32_t slot = (uint32_t)l->p->nr_stacks, i;
	uint64_t thread = 0xffffff, key, v;

	if (stack_id && !stack_lookup(l, stack_id, &slot))
		return damaged(l, "a sample names stack %" PRId64 ", which does not exist",
			       stack_id);
	if (hl_map__get(l->thread_index, (uint64_t)thread_id, &v) && v < 0xffffff)
		thread = v;
	/* A state outside 0..254 (not written by hotloop) shares the key 255 with the others;
	 * the entry keeps the first one seen. */
	key = (uint64_t)slot << 32 | thread << 8 |
	      (state >= 0 && state < 255 ? (uint64_t)state : 255);
	i = hl_itab__find(&l->agg_index, key);
	if (i != HL_ITAB_EMPTY) {
		l->agg[i].weight += weight;
		return 0;
	}
	if (l->nr_agg >= HL_NONE - 1 ||
	    hl_grow_array((void **)&l->agg, &l->cap_agg, l->nr_agg + 1, sizeof(*l->agg)))
		return -ENOMEM;
	l->agg[l->nr_agg] = (struct agg){key, thread_id, state, weight};
	if (hl_itab__add(&l->agg_index, key, (uint32_t)l->nr_agg))
		return -ENOMEM;
	l->nr_agg++;
	return 0;
}

static int load_samples(struct loader *l)
{
	struct hl_rsummary *s = &l->p->summary;
	sqlite3_stmt *stmt;
	char sql[4096];
	int rc, err;

	if (hl_itab__init(&l->agg_index, 4096, agg_key, l))
		return -ENOMEM;
	if (l->filter->service && hl_store__schema_version(l->store) < 3) {
		hl_err("%s has no service labels (written by a hotloop older than schema 3): "
		       "--service needs a store written by `hotloop daemon` or a newer `record`",
		       l->path);
		return -EINVAL;
	}
	resolve_time(l, &l->filter->from, &l->from_us);
	resolve_time(l, &l->filter->to, &l->to_us);
	err = build_sample_query(l, sql, sizeof(sql));
	if (err)
		return err;
	err = prepare(l, sql, &stmt, "reading samples");
	if (err)
		return err;
	bind_filter(l, stmt);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t weight = sqlite3_column_int64(stmt, 3);

		if (weight <= 0)
			continue; /* not written by hotloop; counts for nothing */
		s->stored += (uint64_t)weight;
		if (!sqlite3_column_int(stmt, 4))
			continue;
		s->selected += (uint64_t)weight;
		err = aggregate(l, sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
				sqlite3_column_int64(stmt, 2), (uint64_t)weight);
		if (err)
			break;
	}
	sqlite3_finalize(stmt);
	if (err)
		return err;
	if (rc != SQLITE_DONE)
		return hl_store__sql_error(l->store, rc, "reading samples");
	return 0;
}

/* Aggregated entries to model counts. */
static int build_counts(struct loader *l)
{
	struct hl_profile *p = l->p;
	size_t i;

	p->counts = calloc(l->nr_agg ? l->nr_agg : 1, sizeof(*p->counts));
	if (!p->counts)
		return -ENOMEM;
	for (i = 0; i < l->nr_agg; i++) {
		const struct agg *a = &l->agg[i];
		struct hl_rcount *c = &p->counts[i];
		uint64_t index;

		c->stack = (a->key >> 32) == p->nr_stacks ? HL_NONE : (uint32_t)(a->key >> 32);
		c->thread = HL_NONE;
		if (hl_map__get(l->thread_index, (uint64_t)a->thread_id, &index))
			c->thread = (uint32_t)index;
		c->state = (int)a->state;
		c->weight = a->weight;
	}
	p->nr_counts = l->nr_agg;
	return 0;
}

/* ---- the whole load ---------------------------------------------------------------------- */

/* frame.file exists from schema version 2 on. */
static bool has_frame_file(struct loader *l)
{
	sqlite3_stmt *stmt;
	bool has = false;

	if (sqlite3_prepare_v2(l->db,
			       "SELECT 1 FROM pragma_table_info('frame') WHERE name = 'file'", -1,
			       &stmt, NULL) != SQLITE_OK)
		return false;
	has = sqlite3_step(stmt) == SQLITE_ROW;
	sqlite3_finalize(stmt);
	return has;
}

static int load(struct loader *l)
{
	int err;

	/* One read transaction: a recorder committing meanwhile cannot make the tables
	 * disagree (a sample naming a stack the earlier read did not see). */
	if (sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return hl_store__sql_error(l->store, sqlite3_errcode(l->db), "starting a read");
	err = load_summary(l);
	if (!err)
		err = load_table(l,
				 "SELECT thread.id, process.pid, thread.tid, thread.name"
				 " FROM thread JOIN process ON process.id = thread.process_id"
				 " WHERE :profile = 0 OR process.profile_id = :profile"
				 " ORDER BY thread.id",
				 "reading threads", thread_row);
	if (!err)
		err = load_table(l, "SELECT id, kind, name, file, line, module FROM function",
				 "reading functions", function_row);
	if (!err)
		err = load_table(l,
				 has_frame_file(l)
				     ? "SELECT id, function_id, line, address, file FROM frame"
				     : "SELECT id, function_id, line, address, '' FROM frame",
				 "reading frames", frame_row);
	if (!err)
		err = load_table(l, "SELECT id, parent_id, frame_id FROM stack", "reading stacks",
				 stack_row);
	if (!err)
		err = link_stacks(l);
	if (!err)
		err = load_samples(l);
	if (!err)
		err = build_counts(l);
	sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
	if (err)
		return err;
	fix_strings(l->p);
	return hl_profile_apply_view(l->p, l->filter);
}

struct hl_profile *hl_profile__load(struct hl_store *store, const struct hl_report_filter *filter)
{
	static const struct hl_report_filter no_filter;
	struct loader l = {
		.store = store,
		.db = hl_store__db(store),
		.path = hl_store__path(store),
		.filter = filter ? filter : &no_filter,
	};
	int err = -ENOMEM;

	l.p = calloc(1, sizeof(*l.p));
	if (!l.p)
		goto out_errno;
	if (hl_buf__addc(&l.p->strings, '\0'))
		goto out_free_loader;
	l.function_index = hl_map__new(1024);
	l.frame_index = hl_map__new(1024);
	l.thread_index = hl_map__new(64);
	if (!l.function_index || !l.frame_index || !l.thread_index)
		goto out_free_loader;
	if (sqlite3_create_function_v2(l.db, "hl_regexp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
				       NULL, sql_regexp, NULL, NULL, NULL) != SQLITE_OK) {
		err = hl_store__sql_error(store, sqlite3_errcode(l.db), "registering hl_regexp");
		goto out_free_loader;
	}
	l.p->summary.view = l.filter->view;
	err = load(&l);

out_free_loader:
	hl_map__free(l.function_index);
	hl_map__free(l.frame_index);
	hl_map__free(l.stack_index);
	hl_map__free(l.thread_index);
	free(l.dense);
	free(l.stack_ids);
	free(l.stack_parent_ids);
	hl_itab__release(&l.agg_index);
	free(l.agg);
	if (!err)
		return l.p;
	if (err == -ENOMEM)
		hl_err("out of memory loading %s", l.path);
	hl_profile__free(l.p);
out_errno:
	errno = -err;
	return NULL;
}

void hl_profile__free(struct hl_profile *p)
{
	if (!p)
		return;
	free(p->functions);
	free(p->frames);
	free(p->stacks);
	free(p->threads);
	free(p->counts);
	hl_buf__release(&p->strings);
	free(p);
}

const struct hl_rsummary *hl_profile__summary(const struct hl_profile *p)
{
	return &p->summary;
}

const struct hl_rfunction *hl_profile__functions(const struct hl_profile *p, size_t *nr)
{
	*nr = p->nr_functions;
	return p->functions;
}

const struct hl_rframe *hl_profile__frames(const struct hl_profile *p, size_t *nr)
{
	*nr = p->nr_frames;
	return p->frames;
}

const struct hl_rstack *hl_profile__stacks(const struct hl_profile *p, size_t *nr)
{
	*nr = p->nr_stacks;
	return p->stacks;
}

const struct hl_rthread *hl_profile__threads(const struct hl_profile *p, size_t *nr)
{
	*nr = p->nr_threads;
	return p->threads;
}

const struct hl_rcount *hl_profile__counts(const struct hl_profile *p, size_t *nr)
{
	*nr = p->nr_counts;
	return p->counts;
}

const char *hl_view_name(enum hl_view view)
{
	switch (view) {
	case HL_VIEW_PYTHON:
		return "python";
	case HL_VIEW_NATIVE:
		return "native";
	default:
		return "mixed";
	}
}

/* ---- filter values ------------------------------------------------------------------------ */

/* Reads exactly @digits decimal digits at *s. */
static bool take_digits(const char **s, int digits, int *out)
{
	int v = 0, i;

	for (i = 0; i < digits; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += digits;
	*out = v;
	return true;
}

/* "HH:MM[:SS[.frac]]" at *s: seconds since midnight in µs. */
static bool take_clock(const char **s, int64_t *us)
{
	int h, m, sec = 0;
	int64_t frac = 0, scale = 100000;

	if (!take_digits(s, 2, &h) || **s != ':')
		return false;
	(*s)++;
	if (!take_digits(s, 2, &m) || h > 23 || m > 59)
		return false;
	if (**s == ':') {
		(*s)++;
		if (!take_digits(s, 2, &sec) || sec > 60)
			return false;
		if (**s == '.') {
			(*s)++;
			if (**s < '0' || **s > '9')
				return false;
			for (; **s >= '0' && **s <= '9'; (*s)++) {
				frac += (**s - '0') * scale;
				scale /= 10;
			}
		}
	}
	*us = ((int64_t)h * 3600 + m * 60 + sec) * 1000000 + frac;
	return true;
}

static int parse_absolute(const char *s, struct hl_time_bound *out)
{
	struct tm tm = {0};
	int64_t clock_us, offset_s = 0;
	bool utc = false;
	time_t t;
	int y, mo, d, oh, om;

	if (!take_digits(&s, 4, &y) || *s++ != '-' || !take_digits(&s, 2, &mo) || *s++ != '-' ||
	    !take_digits(&s, 2, &d) || (*s != 'T' && *s != ' '))
		return -EINVAL;
	s++;
	if (!take_clock(&s, &clock_us) || mo < 1 || mo > 12 || d < 1 || d > 31)
		return -EINVAL;
	if (*s == 'Z') {
		utc = true;
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;

		if (!take_digits(&s, 2, &oh) || *s++ != ':' || !take_digits(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		utc = true;
		offset_s = sign * (oh * 3600 + om * 60);
	}
	if (*s)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	out->kind = HL_TIME_ABSOLUTE;
	out->value = ((int64_t)t - offset_s) * 1000000 + clock_us;
	return 0;
}

int hl_time_bound_parse(const char *s, struct hl_time_bound *out)
{
	static const struct {
		const char *suffix;
		double us;
	} units[] = {{"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}};
	char number[64];
	const char *p = s;
	int64_t us;
	double v;
	size_t len, i;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '@') {
		if (hl_parse_double(s + 1, 0, 1e11, &v))
			return -EINVAL;
		out->kind = HL_TIME_ABSOLUTE;
		out->value = (int64_t)(v * 1e6 + 0.5);
		return 0;
	}
	if (strlen(s) >= 10 && s[4] == '-')
		return parse_absolute(s, out);
	if (strchr(s, ':')) {
		if (!take_clock(&p, &us) || *p)
			return -EINVAL;
		out->kind = HL_TIME_OF_DAY;
		out->value = us;
		return 0;
	}
	len = strlen(s);
	for (i = 0; i < HL_ARRAY_SIZE(units); i++) {
		size_t sl = strlen(units[i].suffix);

		if (len > sl && !strcmp(s + len - sl, units[i].suffix) &&
		    ((s[len - sl - 1] >= '0' && s[len - sl - 1] <= '9') || s[len - sl - 1] == '.'))
			break;
	}
	if (i < HL_ARRAY_SIZE(units))
		len -= strlen(units[i].suffix);
	if (len >= sizeof(number))
		return -EINVAL;
	memcpy(number, s, len);
	number[len] = '\0';
	if (hl_parse_double(number, 0, 1e10, &v))
		return -EINVAL;
	out->kind = HL_TIME_RELATIVE;
	out->value = (int64_t)(v * (i < HL_ARRAY_SIZE(units) ? units[i].us : 1e6) + 0.5);
	return 0;
}

static int check_regex(const char *what, const char *pattern, char *err, size_t len)
{
	regex_t re;
	int rc;

	if (!pattern)
		return 0;
	rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[128];

		regerror(rc, &re, msg, sizeof(msg));
		snprintf(err, len, "%s: %s", what, msg);
		return -EINVAL;
	}
	regfree(&re);
	return 0;
}

int hl_report_filter_check(const struct hl_report_filter *f, char *err, size_t len)
{
	int rc = check_regex("--thread", f->thread_regex, err, len);

	if (!rc)
		rc = check_regex("--focus", f->focus, err, len);
	if (!rc)
		rc = check_regex("--ignore", f->ignore, err, len);
	return rc;
}
