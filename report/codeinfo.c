/* report/codeinfo.c — see codeinfo.h. */
#include "report/codeinfo.h"
#include "report/buf.h"
#include "report/bytecode.h"
#include "report/escape.h"
#include "symbolize/linetable.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define HOT_LINES  2
#define LINE_INSNS 16 /* instructions shown per hot line */
#define NAMES_MAX  1024

struct hot_line {
	int32_t line;
	uint64_t samples;
	char *insns; /* "LOAD_GLOBAL all, LOAD_FAST, ..." (malloc'ed) */
	bool more;   /* the line has more instructions than shown */
};

/* One argument's identities over the function's samples (table argument). */
struct arg {
	char *name;
	char *top_type;
	uint64_t samples, runs, top_samples;
	uint64_t distinct;
	bool more;
};

struct entry {
	uint32_t function;
	const char *missing; /* static: why there is no evidence, NULL when there is */
	unsigned major, minor;
	struct hl_bytecode_stats stats;
	uint64_t self; /* samples with it as the innermost Python frame */
	struct hot_line hot[HOT_LINES];
	/* Owned copies: stats.self_attrs point into names. */
	char *names;
	const char **name_list;
	/* Invariance: its arguments, and which one is the specialization key (-1: none). */
	struct arg args[HL_INVARIANCE_ARGS];
	size_t nr_args;
	int key;
};

struct hl_codeinfo {
	struct entry *entries;
	size_t nr;
	const char *missing;
	const char *missing_keys[3];
	const char *args_missing; /* static: why no argument identities at all, or NULL */
	char missing_text[256];
};

static const char NO_TABLE[] =
    "bytecode: the file was recorded before hotloop stored bytecode (schema 4)";
static const char NO_ARGS_TABLE[] =
    "invariance: the file was recorded before hotloop stored argument identities (schema 5)";
static const char NO_ARGS[] =
    "invariance: no argument identities were recorded (the daemon, native mode and "
    "--no-arguments do not record them)";

void hl_codeinfo__free(struct hl_codeinfo *info)
{
	size_t i;
	int k;

	if (!info)
		return;
	for (i = 0; i < info->nr; i++) {
		for (k = 0; k < HOT_LINES; k++)
			free(info->entries[i].hot[k].insns);
		free(info->entries[i].names);
		free(info->entries[i].name_list);
		for (k = 0; k < (int)info->entries[i].nr_args; k++) {
			free(info->entries[i].args[k].name);
			free(info->entries[i].args[k].top_type);
		}
	}
	free(info->entries);
	free(info);
}

/* The hottest lines of @fn: samples whose innermost Python frame is @fn, by line. */
static void find_hot_lines(const struct hl_profile *p, uint32_t fn, struct entry *e)
{
	size_t nr_counts, nr_stacks, nr_frames, nr_fns, i;
	const struct hl_rcount *counts = hl_profile__counts(p, &nr_counts);
	const struct hl_rstack *stacks = hl_profile__stacks(p, &nr_stacks);
	const struct hl_rframe *frames = hl_profile__frames(p, &nr_frames);
	const struct hl_rfunction *fns = hl_profile__functions(p, &nr_fns);
	struct {
		int32_t line;
		uint64_t samples;
	} lines[64];
	size_t nr_lines = 0, j;
	int k;

	for (i = 0; i < nr_counts; i++) {
		uint32_t s = counts[i].stack;
		const struct hl_rframe *f = NULL;

		/* Up from the leaf to the first Python frame; depth bounds the walk. */
		while (s != HL_NONE && s < nr_stacks) {
			f = &frames[stacks[s].frame];
			if (fns[f->function].kind == HL_FUNC_PYTHON)
				break;
			f = NULL;
			s = stacks[s].parent;
		}
		if (!f || f->function != fn)
			continue;
		e->self += counts[i].weight;
		for (j = 0; j < nr_lines && lines[j].line != f->line; j++)
			;
		if (j == nr_lines) {
			if (nr_lines == sizeof(lines) / sizeof(lines[0]))
				continue; /* a function with more hot lines: the first 64 seen */
			lines[nr_lines].line = f->line;
			lines[nr_lines++].samples = 0;
		}
		lines[j].samples += counts[i].weight;
	}
	for (k = 0; k < HOT_LINES; k++) {
		size_t best = nr_lines;

		for (j = 0; j < nr_lines; j++)
			if (lines[j].samples && lines[j].line > 0 &&
			    (best == nr_lines || lines[j].samples > lines[best].samples))
				best = j;
		/* A line with under a tenth of the function's own samples is not "hot". */
		if (best == nr_lines || lines[best].samples * 10 < e->self)
			break;
		e->hot[k].line = lines[best].line;
		e->hot[k].samples = lines[best].samples;
		lines[best].samples = 0;
	}
}

/* The instructions on each hot line, as text. */
static int describe_hot_lines(struct entry *e, const struct hl_opcodes *t, const uint8_t *code,
			      size_t len, const uint8_t *table, size_t table_len,
			      int32_t firstlineno, size_t nr_names)
{
	enum hl_linetable_format fmt = hl_linetable_format_for(e->major, e->minor);
	struct hl_bytecode_iter it;
	struct hl_insn insn;
	int k;

	for (k = 0; k < HOT_LINES && e->hot[k].line; k++) {
		struct hl_buf b = {0};
		unsigned shown = 0;

		hl_bytecode_iter_init(&it, t, code, len);
		while (hl_bytecode_next(&it, &insn) == 1) {
			int32_t line;
			int64_t idx;

			if (hl_linetable_line(fmt, table, table_len, firstlineno, insn.offset,
					      &line) ||
			    line != e->hot[k].line || !strcmp(insn.name, "CACHE") ||
			    !strcmp(insn.name, "NOP") || !strcmp(insn.name, "RESUME"))
				continue;
			if (shown == LINE_INSNS) {
				e->hot[k].more = true;
				break;
			}
			if ((shown++ && hl_buf__add(&b, ", ", 2)) ||
			    hl_buf__add(&b, insn.name, strlen(insn.name)))
				goto nomem;
			idx = hl_bytecode_name_index(t, &insn);
			if (idx >= 0 && (size_t)idx < nr_names &&
			    (hl_buf__addc(&b, ' ') ||
			     hl_buf__add(&b, e->name_list[idx], strlen(e->name_list[idx]))))
				goto nomem;
		}
		if (hl_buf__addc(&b, '\0'))
			goto nomem;
		e->hot[k].insns = b.data;
		continue;
	nomem:
		free(b.data);
		return -ENOMEM;
	}
	return 0;
}

static int load_entry(sqlite3_stmt *st, const struct hl_profile *p, struct entry *e)
{
	size_t nr_fns, names_len, len, table_len, nr_names;
	const struct hl_rfunction *f = hl_profile__functions(p, &nr_fns) + e->function;
	const struct hl_opcodes *t;
	const uint8_t *code, *table;
	const char *first;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->file, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, f->line);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		e->missing = "its bytecode was not recorded (the code object was gone when read)";
		return 0;
	}
	if (rc != SQLITE_ROW)
		return -EIO;
	e->major = (unsigned)sqlite3_column_int(st, 0);
	e->minor = (unsigned)sqlite3_column_int(st, 1);
	t = hl_opcodes_find(e->major, e->minor);
	if (!t) {
		e->missing = "no opcode table for its Python version";
		return 0;
	}
	code = sqlite3_column_blob(st, 2);
	len = (size_t)sqlite3_column_bytes(st, 2);
	names_len = (size_t)sqlite3_column_bytes(st, 3);
	e->names = malloc(names_len + 1);
	e->name_list = calloc(NAMES_MAX, sizeof(*e->name_list));
	if (!e->names || !e->name_list)
		return -ENOMEM;
	if (names_len)
		memcpy(e->names, sqlite3_column_blob(st, 3), names_len);
	nr_names = hl_bytecode_split_names(e->names, names_len, e->name_list, NAMES_MAX);
	first = (const char *)sqlite3_column_text(st, 4);
	table = sqlite3_column_blob(st, 5);
	table_len = (size_t)sqlite3_column_bytes(st, 5);
	hl_bytecode_analyze(t, code, len, e->name_list, nr_names, first, &e->stats);
	find_hot_lines(p, e->function, e);
	return describe_hot_lines(e, t, code, len, table, table_len, sqlite3_column_int(st, 6),
				  nr_names);
}

/* ---- invariance --------------------------------------------------------------------------- */

/* Whether an argument is a specialization key: one of a few objects, each seen in many
 * samples, and not a *args tuple or **kwargs dict, which are new per call and only come back
 * at the same address from the allocator. */
bool hl_invariance_is_key(const char *name, uint64_t samples, uint64_t distinct, bool more)
{
	return name[0] != '*' && !more && distinct >= 1 && distinct <= KEY_MAX_DISTINCT &&
	       samples >= KEY_MIN_SAMPLES && samples >= KEY_MIN_PER_OBJECT * distinct;
}

/* The key of a function: an attribute of self its code reads (what a generated function
 * would be built from), else another argument, else self itself; fewer objects first. */
static int choose_key(const struct entry *e)
{
	int best = -1, rank_best = 3, i;

	for (i = 0; i < (int)e->nr_args; i++) {
		const struct arg *a = &e->args[i];
		int rank = !strncmp(a->name, "self.", 5) ? 0 : strcmp(a->name, "self") ? 1 : 2;

		if (!hl_invariance_is_key(a->name, a->samples, a->distinct, a->more))
			continue;
		if (rank < rank_best ||
		    (rank == rank_best && a->distinct < e->args[best].distinct)) {
			best = i;
			rank_best = rank;
		}
	}
	return best;
}

static char *dup_column(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	return strdup(t ? t : "");
}

/* The argument rows of @e's function, summed over the file's profiles. */
static int load_args(sqlite3_stmt *st, const struct hl_profile *p, struct entry *e)
{
	size_t nr_fns;
	const struct hl_rfunction *f = hl_profile__functions(p, &nr_fns) + e->function;
	int rc;

	e->key = -1;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->file, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, f->line);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && e->nr_args < HL_INVARIANCE_ARGS) {
		struct arg *a = &e->args[e->nr_args];

		a->name = dup_column(st, 0);
		a->top_type = dup_column(st, 6);
		if (!a->name || !a->top_type) {
			free(a->name);
			free(a->top_type);
			return -ENOMEM;
		}
		a->samples = (uint64_t)sqlite3_column_int64(st, 1);
		a->runs = (uint64_t)sqlite3_column_int64(st, 2);
		a->distinct = (uint64_t)sqlite3_column_int64(st, 3);
		a->more = sqlite3_column_int(st, 4);
		a->top_samples = (uint64_t)sqlite3_column_int64(st, 5);
		e->nr_args++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	e->key = choose_key(e);
	return 0;
}

/* Whether any profile of the file recorded argument identities. */
static int args_recorded(sqlite3 *db, bool *out)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db,
				"SELECT 1 FROM profile_counter WHERE name = 'arguments.observed'"
				" AND value > 0 LIMIT 1",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* A candidate with interpreter code that has no symbols (a stripped interpreter), whose
 * fully decoded bytecode calls nothing: no C function runs under it but the ones its own
 * instructions run, so that code is interpreter overhead — arithmetic when it has a loop and
 * its arithmetic instructions outnumber its comparisons and attribute loads (boxed numbers),
 * else dispatch.  (A C extension's operators, numpy's say, are in its own library: named,
 * real work, not affected.) */
static void settle_unknown(struct hl_candidates *cs, size_t i, const struct entry *e)
{
	const struct hl_bytecode_stats *s = &e->stats;

	if (e->missing || s->stop || s->calls || !s->instructions)
		return;
	hl_candidates__settle_unknown(
	    cs, i,
	    s->loops && s->arith > s->compares + s->attr_loads ? HL_COST_ARITH : HL_COST_DISPATCH);
}

/* Codegen specializes per key: a candidate without one, when identities were recorded, gets
 * compiled instead.  The others keep the remedy the profile gave them. */
static void refine_remedy(struct hl_candidate *c, const struct entry *e)
{
	if (c->remedy != HL_REMEDY_CODEGEN)
		return;
	if (e->key >= 0) {
		c->key = e->args[e->key].name;
		return;
	}
	c->remedy = HL_REMEDY_COMPILE;
	c->reason = "generic calls, lookups, comparisons and iteration per element, but no "
		    "argument or attribute of self held the same few objects over its samples: "
		    "nothing to specialize per key";
}

struct hl_codeinfo *hl_codeinfo__load(struct hl_store *store, const struct hl_profile *p,
				      struct hl_candidates *cs, size_t rows)
{
	struct hl_codeinfo *info = calloc(1, sizeof(*info));
	sqlite3 *db = hl_store__db(store);
	sqlite3_stmt *st = NULL;
	size_t i, n = cs->nr_listed;
	int err = 0;

	if (!info)
		return NULL;
	if (rows && rows < n)
		n = rows;
	if (hl_store__schema_version(store) < 4) {
		info->missing = NO_TABLE;
		info->missing_keys[0] = "bytecode";
		info->missing_keys[1] = "invariance";
		return info;
	}
	if (hl_store__schema_version(store) < 5) {
		info->args_missing = NO_ARGS_TABLE;
	} else {
		bool recorded;

		err = args_recorded(db, &recorded);
		if (err)
			goto out_free;
		if (!recorded)
			info->args_missing = NO_ARGS;
	}
	if (info->args_missing) {
		info->missing = info->args_missing;
		info->missing_keys[0] = "invariance";
	}
	info->entries = calloc(n ? n : 1, sizeof(*info->entries));
	if (!info->entries) {
		err = -ENOMEM;
		goto out_free;
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT c.python_major, c.python_minor, c.bytecode, c.names,"
			       " c.first_local, c.linetable, c.firstlineno"
			       " FROM function_code c JOIN function f ON f.id = c.function_id"
			       " WHERE f.kind = 1 AND f.name = ?1 AND f.file = ?2 AND f.line = ?3"
			       " LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK) {
		err = hl_store__sql_error(store, sqlite3_errcode(db), "reading bytecode");
		goto out_free;
	}
	for (i = 0; i < n && !err; i++) {
		info->entries[i].function = cs->items[i].function;
		info->entries[i].key = -1;
		info->nr = i + 1;
		err = load_entry(st, p, &info->entries[i]);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!err && !info->args_missing &&
	    sqlite3_prepare_v2(db,
			       "SELECT a.name, SUM(a.samples), SUM(a.runs), SUM(a.distinct_values),"
			       " MAX(a.more_values), MAX(a.top_samples), a.top_type"
			       " FROM argument a JOIN function f ON f.id = a.function_id"
			       " WHERE f.kind = 1 AND f.name = ?1 AND f.file = ?2 AND f.line = ?3"
			       " GROUP BY a.name ORDER BY SUM(a.samples) DESC, a.name",
			       -1, &st, NULL) != SQLITE_OK)
		err = hl_store__sql_error(store, sqlite3_errcode(db), "reading arguments");
	for (i = 0; i < info->nr && !err; i++) {
		settle_unknown(cs, i, &info->entries[i]);
		if (st)
			err = load_args(st, p, &info->entries[i]);
		if (st && !err)
			refine_remedy(&cs->items[i], &info->entries[i]);
	}
	sqlite3_finalize(st);
	hl_candidates__rerank(cs);
	if (!err)
		return info;
out_free:
	hl_codeinfo__free(info);
	errno = err == -ENOMEM ? ENOMEM : EIO;
	return NULL;
}

static const struct entry *find(const struct hl_codeinfo *info, uint32_t fn)
{
	size_t i;

	for (i = 0; i < info->nr; i++)
		if (info->entries[i].function == fn)
			return &info->entries[i];
	return NULL;
}

/* "self._keys: one of 3 objects (list) over 3397 samples, runs of 16 samples". */
static void write_args_text(const struct hl_codeinfo *info, const struct entry *e, FILE *out)
{
	size_t k;

	if (info->args_missing)
		return; /* said once, at the top */
	if (!e->nr_args) {
		fputs("   invariance: no arguments sampled (it takes none, or was never among the "
		      "innermost frames)\n",
		      out);
		return;
	}
	fputs("   invariance (objects its arguments held, by identity):\n", out);
	for (k = 0; k < e->nr_args; k++) {
		const struct arg *a = &e->args[k];

		fprintf(out, "     %s: ", a->name);
		if (a->distinct == 1 && !a->more)
			fprintf(out, "always the same %s", *a->top_type ? a->top_type : "object");
		else
			fprintf(out, "one of %s%" PRIu64 " objects (most often a %s, %.0f%%)",
				a->more ? "more than " : "", a->distinct,
				*a->top_type ? a->top_type : "?",
				100.0 * (double)a->top_samples / (double)a->samples);
		fprintf(out, " over %" PRIu64 " samples, runs of %.0f samples%s\n", a->samples,
			(double)a->samples / (double)(a->runs ? a->runs : 1),
			(int)k == e->key    ? "  <- specialization key"
			: a->name[0] == '*' ? " (new per call: not a key)"
					    : "");
	}
}

static void write_text(const struct hl_candidates_evidence *ev, const struct hl_profile *p,
		       const struct hl_candidate *c, FILE *out)
{
	const struct hl_codeinfo *info = ev->data;
	const struct entry *e = find(info, c->function);
	const struct hl_bytecode_stats *s;
	size_t k, n = 0;
	int h;

	(void)p;
	if (!e)
		return; /* the file has no bytecode at all: said once, at the top */
	write_args_text(info, e, out);
	if (e->missing) {
		fprintf(out, "   bytecode: missing: %s\n", e->missing);
		return;
	}
	s = &e->stats;
	fprintf(out, "   bytecode (%u.%u): generic builtins:", e->major, e->minor);
	for (k = 0; k < HL_GENERIC_BUILTINS_N; k++)
		if (s->builtins & 1u << k)
			fprintf(out, "%s %s", n++ ? "," : "", hl_generic_builtins[k]);
	if (!n)
		fputs(" none", out);
	fprintf(out, "; self attribute loads %u (%u in loops)", s->self_attr_loads,
		s->self_attr_in_loop);
	for (k = 0; k < s->nr_self_attrs; k++)
		fprintf(out, "%s self.%s", k ? "," : ":", s->self_attrs[k]);
	fprintf(out,
		"\n     %u loops, %u branches, %u comparisons, %u arithmetic, %u calls, "
		"%u attribute loads in %u instructions\n",
		s->loops, s->branches, s->compares, s->arith, s->calls, s->attr_loads,
		s->instructions);
	if (s->stop)
		fprintf(out, "     decoded up to byte %u only: %s\n", s->stop_offset,
			s->stop == -EOPNOTSUPP ? "an instruction instrumented by sys.monitoring "
						 "or replaced by the JIT hides its opcode"
					       : "an opcode this version does not have");
	for (h = 0; h < HOT_LINES && e->hot[h].line; h++)
		fprintf(out, "     line %d (%.0f%% of its own samples): %s%s\n", e->hot[h].line,
			e->self ? 100.0 * (double)e->hot[h].samples / (double)e->self : 0.0,
			e->hot[h].insns ? e->hot[h].insns : "", e->hot[h].more ? ", ..." : "");
}

static void put_string(FILE *out, const char *s)
{
	struct hl_buf b = {0};

	if (hl_json_string(&b, s ? s : ""))
		fputs("\"\"", out);
	else
		fwrite(b.data, 1, b.len, out);
	free(b.data);
}

static void write_args_json(const struct hl_codeinfo *info, const struct entry *e, FILE *out)
{
	size_t k;

	if (!e || info->args_missing) {
		fputs(", \"invariance\": null, \"invariant_key\": null", out);
		return;
	}
	fputs(", \"invariance\": [", out);
	for (k = 0; k < e->nr_args; k++) {
		const struct arg *a = &e->args[k];

		fprintf(out, "%s{\"name\": ", k ? ", " : "");
		put_string(out, a->name);
		fprintf(out,
			", \"samples\": %" PRIu64 ", \"runs\": %" PRIu64 ", \"distinct\": %" PRIu64
			", \"more\": %s, \"top_samples\": %" PRIu64 ", \"top_share\": %.4f"
			", \"top_type\": ",
			a->samples, a->runs, a->distinct, a->more ? "true" : "false",
			a->top_samples,
			a->samples ? (double)a->top_samples / (double)a->samples : 0.0);
		put_string(out, a->top_type);
		fprintf(out, ", \"key\": %s}", (int)k == e->key ? "true" : "false");
	}
	fputs("], \"invariant_key\": ", out);
	if (e->key >= 0)
		put_string(out, e->args[e->key].name);
	else
		fputs("null", out);
}

static void write_json(const struct hl_candidates_evidence *ev, const struct hl_profile *p,
		       const struct hl_candidate *c, FILE *out)
{
	const struct hl_codeinfo *info = ev->data;
	const struct entry *e = find(info, c->function);
	const struct hl_bytecode_stats *s;
	size_t k, n = 0;
	int h;

	(void)p;
	write_args_json(info, e, out);
	if (!e || e->missing) {
		fputs(", \"bytecode\": null, \"bytecode_missing\": ", out);
		put_string(out, e ? e->missing
				: info->missing
				    ? info->missing
				    : "read for the listed candidates only (this one is "
				      "folded into another)");
		return;
	}
	s = &e->stats;
	fprintf(out,
		", \"bytecode\": {\"python\": \"%u.%u\", \"instructions\": %u, \"loops\": %u, "
		"\"branches\": %u, \"compares\": %u, \"arithmetic\": %u, \"calls\": %u, "
		"\"attr_loads\": %u, \"self_attr_loads\": %u, \"self_attr_loads_in_loops\": %u, "
		"\"self_attrs\": [",
		e->major, e->minor, s->instructions, s->loops, s->branches, s->compares, s->arith,
		s->calls, s->attr_loads, s->self_attr_loads, s->self_attr_in_loop);
	for (k = 0; k < s->nr_self_attrs; k++) {
		fputs(k ? ", " : "", out);
		put_string(out, s->self_attrs[k]);
	}
	fputs("], \"generic_builtins\": [", out);
	for (k = 0; k < HL_GENERIC_BUILTINS_N; k++)
		if (s->builtins & 1u << k)
			fprintf(out, "%s\"%s\"", n++ ? ", " : "", hl_generic_builtins[k]);
	fputs("], \"decoded_to\": ", out);
	if (s->stop)
		fprintf(out, "%u", s->stop_offset);
	else
		fputs("null", out);
	fprintf(out, ", \"self_samples\": %" PRIu64 ", \"hot_lines\": [", e->self);
	for (h = 0; h < HOT_LINES && e->hot[h].line; h++) {
		fprintf(out, "%s{\"line\": %d, \"samples\": %" PRIu64 ", \"instructions\": ",
			h ? ", " : "", e->hot[h].line, e->hot[h].samples);
		put_string(out, e->hot[h].insns);
		fprintf(out, ", \"more\": %s}", e->hot[h].more ? "true" : "false");
	}
	fputs("]}", out);
}

void hl_codeinfo__evidence(struct hl_codeinfo *info, struct hl_candidates_evidence *ev)
{
	*ev = (struct hl_candidates_evidence){.data = info,
					      .missing = info->missing,
					      .missing_keys = info->missing_keys,
					      .write_text = write_text,
					      .write_json = write_json};
}
