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
#include "schema/store.h"
#include "common/hash.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hl_profile {
	struct hl_rsummary summary;
	struct hl_rfunction *functions;
	size_t nr_functions;
	struct hl_rframe *frames;
	size_t nr_frames;
	struct hl_rstack *stacks;
	size_t nr_stacks;
	struct hl_rthread *threads;
	size_t nr_threads;
	struct hl_rcount *counts;
	size_t nr_counts;
	struct hl_buf strings; /* every string of the model, NUL-terminated */
};

/* Loader state that does not outlive hl_profile__load. */
struct loader {
	struct hl_store *store;
	sqlite3 *db;
	const char *path;
	struct hl_profile *p;
	const struct hl_report_filter *filter;
	struct hl_map *function_index; /* function.id -> index */
	struct hl_map *frame_index;    /* frame.id -> index */
	struct hl_map *stack_index;    /* stack.id -> index */
	struct hl_map *thread_index;   /* thread.id -> index */
	size_t cap_threads;            /* allocated lengths of the model's arrays */
	size_t cap_functions;
	size_t cap_frames;
	size_t cap_stacks;
	bool unfinished;               /* a selected profile has no end_ns */
	/* Aggregation of samples: hash of (stack_id, thread_id, state), probed like the store's
	 * caches (hash, hash + 1, ...), -> index into agg. */
	struct hl_map *agg_map;
	struct agg {
		int64_t stack_id;
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
	for (i = 0; i < p->nr_threads; i++)
		FIX(p->threads[i].name);
	if (p->summary.command)
		FIX(p->summary.command);
#undef FIX
}

static int grow_array(void **array, size_t *cap, size_t need, size_t elem)
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

static void bind_filter(sqlite3_stmt *stmt, const struct hl_report_filter *f)
{
	int i;

	i = sqlite3_bind_parameter_index(stmt, ":profile");
	if (i)
		sqlite3_bind_int64(stmt, i, f->profile_id);
	i = sqlite3_bind_parameter_index(stmt, ":pid");
	if (i)
		sqlite3_bind_int64(stmt, i, f->pid);
	i = sqlite3_bind_parameter_index(stmt, ":tid");
	if (i)
		sqlite3_bind_int64(stmt, i, f->tid);
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
	bind_filter(stmt, l->filter);
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

	if (grow_array((void **)&p->threads, &l->cap_threads, p->nr_threads + 1, sizeof(*t)))
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

	if (grow_array((void **)&p->functions, &l->cap_functions, p->nr_functions + 1, sizeof(*f)))
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
	if (grow_array((void **)&p->frames, &l->cap_frames, p->nr_frames + 1, sizeof(*fr)))
		return -ENOMEM;
	fr = &p->frames[p->nr_frames];
	fr->function = (uint32_t)index;
	fr->line = (int32_t)sqlite3_column_int64(stmt, 2);
	fr->address = (uint64_t)sqlite3_column_int64(stmt, 3);
	if (hl_map__set(l->frame_index, (uint64_t)id, p->nr_frames))
		return -ENOMEM;
	p->nr_frames++;
	return 0;
}

/* First pass over the stack table: parent holds the parent's *id* until link_stacks(). */
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
	if (grow_array((void **)&p->stacks, &l->cap_stacks, p->nr_stacks + 1, sizeof(*s)))
		return -ENOMEM;
	s = &p->stacks[p->nr_stacks];
	s->frame = (uint32_t)index;
	s->depth = 0;
	/* Parent ids are resolved once every node is known; keep the id meanwhile. */
	s->parent = HL_NONE;
	if (hl_map__set(l->stack_index, (uint64_t)id, p->nr_stacks))
		return -ENOMEM;
	p->nr_stacks++;
	return 0;
}

static int load_table(struct loader *l, const char *sql, const char *what,
		      int (*row)(struct loader *l, sqlite3_stmt *stmt))
{
	sqlite3_stmt *stmt;
	int err;

	err = prepare(l, sql, &stmt, what);
	if (err)
		return err;
	bind_filter(stmt, l->filter);
	return for_each_row(l, stmt, what, row);
}

/* Second pass over the stack table: parent ids to indices, then depths, refusing cycles
 * (a corrupted or hostile file must not send a walk round forever). */
static int link_stacks(struct loader *l)
{
	struct hl_profile *p = l->p;
	sqlite3_stmt *stmt;
	uint64_t index, parent;
	size_t i;
	int rc, err;

	err = prepare(l, "SELECT id, parent_id FROM stack", &stmt, "reading stacks");
	if (err)
		return err;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(stmt, 0);
		int64_t parent_id = sqlite3_column_int64(stmt, 1);

		if (!hl_map__get(l->stack_index, (uint64_t)id, &index))
			continue; /* a row added since the first pass (live recording) */
		if (!parent_id)
			continue;
		if (!hl_map__get(l->stack_index, (uint64_t)parent_id, &parent)) {
			sqlite3_finalize(stmt);
			return damaged(l, "stack %" PRId64 " names parent %" PRId64
					  ", which does not exist",
				       id, parent_id);
		}
		p->stacks[index].parent = (uint32_t)parent;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return hl_store__sql_error(l->store, rc, "reading stacks");

	for (i = 0; i < p->nr_stacks; i++) {
		uint32_t n = (uint32_t)i, steps = 0, depth;

		/* Walk up to a node of known depth (or the root), then fill in on the way. */
		while (n != HL_NONE && !p->stacks[n].depth) {
			n = p->stacks[n].parent;
			if (++steps > p->nr_stacks)
				return damaged(l, "the parent_id links of the stack table loop");
		}
		depth = n == HL_NONE ? 0 : p->stacks[n].depth;
		/* Nodes from i up to n get depths depth + steps, ..., depth + 1. */
		for (n = (uint32_t)i; n != HL_NONE && !p->stacks[n].depth; n = p->stacks[n].parent)
			p->stacks[n].depth = depth + steps--;
	}
	return 0;
}

/* ---- samples --------------------------------------------------------------------------- */

/* The sample scan.  Filters other than the profile become the 5th column, so one scan counts
 * both what is selected and what is stored. */
static int build_sample_query(const struct hl_report_filter *f, char *sql, size_t len)
{
	const char *thread_cond = "";
	int n;

	if (f->has_pid && f->has_tid)
		thread_cond = "thread_id IN (SELECT thread.id FROM thread JOIN process"
			      " ON process.id = thread.process_id"
			      " WHERE process.pid = :pid AND thread.tid = :tid)";
	else if (f->has_pid)
		thread_cond = "thread_id IN (SELECT thread.id FROM thread JOIN process"
			      " ON process.id = thread.process_id WHERE process.pid = :pid)";
	else if (f->has_tid)
		thread_cond = "thread_id IN (SELECT id FROM thread WHERE tid = :tid)";
	n = snprintf(sql, len,
		     "SELECT stack_id, thread_id, state, weight, %s FROM sample%s",
		     *thread_cond ? thread_cond : "1",
		     f->profile_id ? " WHERE profile_id = :profile" : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int aggregate(struct loader *l, int64_t stack_id, int64_t thread_id, int64_t state,
		     uint64_t weight)
{
	int64_t key[3] = {stack_id, thread_id, state};
	uint64_t h = hl_hash_bytes(key, sizeof(key), 0), index;
	struct agg *a;

	for (;; h++) {
		if (!hl_map__get(l->agg_map, h, &index))
			break;
		a = &l->agg[index];
		if (a->stack_id == stack_id && a->thread_id == thread_id && a->state == state) {
			a->weight += weight;
			return 0;
		}
	}
	if (grow_array((void **)&l->agg, &l->cap_agg, l->nr_agg + 1, sizeof(*l->agg)) ||
	    hl_map__set(l->agg_map, h, l->nr_agg))
		return -ENOMEM;
	l->agg[l->nr_agg++] = (struct agg){stack_id, thread_id, state, weight};
	return 0;
}

static int load_samples(struct loader *l)
{
	struct hl_rsummary *s = &l->p->summary;
	sqlite3_stmt *stmt;
	char sql[512];
	int rc, err;

	err = build_sample_query(l->filter, sql, sizeof(sql));
	if (err)
		return err;
	err = prepare(l, sql, &stmt, "reading samples");
	if (err)
		return err;
	bind_filter(stmt, l->filter);
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

static int compare_counts(const void *a, const void *b)
{
	const struct hl_rcount *x = a, *y = b;

	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return (x->state > y->state) - (x->state < y->state);
}

/* Aggregated ids to model indices. */
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

		c->stack = HL_NONE;
		if (a->stack_id) {
			if (!hl_map__get(l->stack_index, (uint64_t)a->stack_id, &index))
				return damaged(l, "a sample names stack %" PRId64
						  ", which does not exist",
					       a->stack_id);
			c->stack = (uint32_t)index;
		}
		c->thread = HL_NONE;
		if (hl_map__get(l->thread_index, (uint64_t)a->thread_id, &index))
			c->thread = (uint32_t)index;
		c->state = (int)a->state;
		c->weight = a->weight;
	}
	p->nr_counts = l->nr_agg;
	qsort(p->counts, p->nr_counts, sizeof(*p->counts), compare_counts);
	return 0;
}

/* ---- the whole load ---------------------------------------------------------------------- */

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
		err = load_table(l, "SELECT id, function_id, line, address FROM frame",
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
	return err;
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
	l.stack_index = hl_map__new(1024);
	l.thread_index = hl_map__new(64);
	l.agg_map = hl_map__new(1024);
	if (!l.function_index || !l.frame_index || !l.stack_index || !l.thread_index ||
	    !l.agg_map)
		goto out_free_loader;
	err = load(&l);
	if (err)
		goto out_free_loader;
	fix_strings(l.p);
	err = 0;

out_free_loader:
	hl_map__free(l.function_index);
	hl_map__free(l.frame_index);
	hl_map__free(l.stack_index);
	hl_map__free(l.thread_index);
	hl_map__free(l.agg_map);
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
