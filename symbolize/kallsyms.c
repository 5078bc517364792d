/* symbolize/kallsyms.c — see kallsyms.h. */
#define _GNU_SOURCE
#include "symbolize/kallsyms.h"
#include "common/log.h"
#include "common/util.h"
#include "symbolize/strpool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE      1024	   /* KSYM_NAME_LEN is 512, module names are short */
#define KALLSYMS_SIZE (256u << 20) /* 10 MB is typical; refuse anything absurd */

struct entry {
	struct hl_ksym sym;
	int rank; /* among symbols at one address: T, then W, then t, then w */
};

struct hl_kallsyms {
	struct hl_strpool *pool;
	struct hl_ksym *syms;
	size_t count, malformed;
};

void hl_kallsyms__free(struct hl_kallsyms *ks)
{
	if (!ks)
		return;
	hl_strpool__free(ks->pool);
	free(ks->syms);
	free(ks);
}

size_t hl_kallsyms__count(const struct hl_kallsyms *ks)
{
	return ks->count;
}

size_t hl_kallsyms__malformed(const struct hl_kallsyms *ks)
{
	return ks->malformed;
}

static int type_rank(char t)
{
	switch (t) {
	case 'T':
		return 4;
	case 'W':
		return 3;
	case 't':
		return 2;
	case 'w':
		return 1;
	default:
		return 0; /* not text */
	}
}

/* One line without its newline: "ADDRESS TYPE NAME" and optionally "\t[MODULE]".  Returns
 * false when malformed; *rank 0 for a well-formed line that is not a text symbol. */
static bool parse_line(const char *s, const char *end, uint64_t *addr, int *rank, const char **name,
		       size_t *name_len, const char **mod, size_t *mod_len)
{
	uint64_t v = 0;
	int digits = 0;
	const char *n;

	for (; s < end && *s != ' '; s++, digits++) {
		int d;

		d = hl_hex_digit(*s);
		if (d < 0)
			return false;
		if (digits == 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits || end - s < 4 || s[0] != ' ' || s[2] != ' ')
		return false;
	*rank = type_rank(s[1]);
	n = s + 3;
	for (s = n; s < end && *s != '\t' && *s != ' ' && *s != '\0'; s++)
		;
	if (s == n || (s < end && *s == '\0'))
		return false;
	*addr = v;
	*name = n;
	*name_len = (size_t)(s - n);
	*mod = NULL;
	*mod_len = 0;
	if (s == end)
		return true;
	if (*s != '\t' || end - s < 3 || s[1] != '[')
		return false;
	n = s + 2;
	s = memchr(n, ']', (size_t)(end - n));
	if (!s || s == n)
		return false;
	*mod = n;
	*mod_len = (size_t)(s - n);
	return true;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->sym.start != y->sym.start)
		return x->sym.start < y->sym.start ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return strcmp(x->sym.name, y->sym.name); /* a stable choice among equals */
}

static int add(struct entry **v, size_t *n, size_t *cap, const struct entry *e)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 4096;
		struct entry *bigger = realloc(*v, c * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		*v = bigger;
		*cap = c;
	}
	(*v)[(*n)++] = *e;
	return 0;
}

int hl_kallsyms__parse(const char *buf, size_t len, struct hl_kallsyms **out)
{
	struct hl_kallsyms *ks = calloc(1, sizeof(*ks));
	struct entry *v = NULL;
	size_t n = 0, cap = 0, pos = 0, i, k, lines = 0, nonzero = 0;
	int err = 0;

	*out = NULL;
	if (!ks)
		return -ENOMEM;
	ks->pool = hl_strpool__new();
	if (!ks->pool) {
		err = -ENOMEM;
		goto out_free;
	}
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		const char *end = nl ? nl : buf + len;
		const char *name, *mod;
		size_t name_len, mod_len;
		struct entry e;
		uint64_t addr;
		int rank;

		pos = (size_t)(end - buf) + 1;
		if (end == line)
			continue;
		if (end - line > MAX_LINE ||
		    !parse_line(line, end, &addr, &rank, &name, &name_len, &mod, &mod_len)) {
			ks->malformed++;
			continue;
		}
		lines++;
		if (addr)
			nonzero++;
		if (!rank || !addr)
			continue;
		e.sym.start = addr;
		e.sym.end = 0;
		e.rank = rank;
		e.sym.name = hl_strpool__add(ks->pool, name, name_len);
		e.sym.module = mod ? hl_strpool__add(ks->pool, mod, mod_len) : NULL;
		if (!e.sym.name || (mod && !e.sym.module) || add(&v, &n, &cap, &e)) {
			err = -ENOMEM;
			goto out_free;
		}
	}
	if (lines && !nonzero) {
		err = -EPERM;
		goto out_free;
	}
	if (!n) {
		err = -ENOENT;
		goto out_free;
	}
	qsort(v, n, sizeof(*v), entry_cmp);
	ks->syms = malloc(n * sizeof(*ks->syms));
	if (!ks->syms) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0, k = 0; i < n; i++) {
		if (k && ks->syms[k - 1].start == v[i].sym.start)
			continue; /* aliases: the best-ranked came first */
		ks->syms[k++] = v[i].sym;
	}
	for (i = 0; i < k; i++) {
		uint64_t limit = ks->syms[i].start + HL_KSYM_MAX_SPAN;

		if (limit < ks->syms[i].start)
			limit = UINT64_MAX;
		ks->syms[i].end =
		    i + 1 < k && ks->syms[i + 1].start < limit ? ks->syms[i + 1].start : limit;
	}
	ks->count = k;
	free(v);
	hl_strpool__seal(ks->pool); /* no name is added after parsing */
	*out = ks;
	return 0;

out_free:
	free(v);
	hl_kallsyms__free(ks);
	return err;
}

int hl_kallsyms__load(const char *path, struct hl_kallsyms **out)
{
	char *buf;
	size_t len;
	int err;

	*out = NULL;
	if (!path)
		path = "/proc/kallsyms";
	err = hl_read_file(path, KALLSYMS_SIZE, &buf, &len);
	if (err) {
		hl_warn("cannot read %s: %s", path, strerror(-err));
		return err;
	}
	err = hl_kallsyms__parse(buf, len, out);
	free(buf);
	if (err == -EPERM)
		hl_warn("%s shows every address as 0: kernel frames need CAP_SYSLOG (run as root) "
			"and kernel.kptr_restrict <= 1 (sysctl -w kernel.kptr_restrict=1)",
			path);
	else if (err)
		hl_warn("no kernel symbols in %s: %s", path, strerror(-err));
	return err;
}

const struct hl_ksym *hl_kallsyms__find(const struct hl_kallsyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < ks->syms[lo - 1].end)
		return &ks->syms[lo - 1];
	return NULL;
}
