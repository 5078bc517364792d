/* symbolize/perfmap.c — see perfmap.h.
 *
 * The table is a sorted array.  Each parse sorts only the lines it added and merges them into
 * the array, so a file that grows by a few lines between updates costs a merge, not a sort of
 * everything. */
#define _GNU_SOURCE
#include "symbolize/perfmap.h"
#include "common/util.h"
#include "symbolize/strpool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPDATE_MAX_BYTES (64u << 20)
#define READ_CHUNK	 (1u << 20)

struct added {
	struct hl_perfmap_sym sym;
	size_t seq; /* order of the line in this parse: later lines win */
};

struct hl_perfmap {
	struct hl_strpool *pool;
	struct hl_perfmap_sym *syms; /* sorted by start, one entry per start */
	size_t count, cap;
	struct added *added; /* lines of the current parse */
	size_t nadded, cap_added;
	size_t malformed, dropped;
	bool skipping; /* inside an overlong line: drop bytes up to the next newline */
	/* hl_perfmap__update's view of the file */
	bool have_file;
	dev_t dev;
	ino_t ino;
	off_t offset;
};

struct hl_perfmap *hl_perfmap__new(void)
{
	struct hl_perfmap *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->pool = hl_strpool__new();
	if (!pm->pool) {
		free(pm);
		errno = ENOMEM;
		return NULL;
	}
	return pm;
}

void hl_perfmap__free(struct hl_perfmap *pm)
{
	if (!pm)
		return;
	hl_strpool__free(pm->pool);
	free(pm->syms);
	free(pm->added);
	free(pm);
}

size_t hl_perfmap__count(const struct hl_perfmap *pm)
{
	return pm->count;
}

size_t hl_perfmap__malformed(const struct hl_perfmap *pm)
{
	return pm->malformed;
}

size_t hl_perfmap__dropped(const struct hl_perfmap *pm)
{
	return pm->dropped;
}

/* A hex number of at most 16 digits, with an optional 0x, at *p..end. */
static bool parse_hex(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;

	if (end - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; s < end; s++, digits++) {
		int d;

		d = hl_hex_digit(*s);
		if (d < 0)
			break;
		if (digits == 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits)
		return false;
	*p = s;
	*out = v;
	return true;
}

static bool skip_blanks(const char **p, const char *end)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == *p)
		return false; /* fields are separated by at least one blank */
	*p = s;
	return true;
}

/* One line without its newline.  Returns 0, -EINVAL (malformed) or -ENOMEM. */
static int parse_line(struct hl_perfmap *pm, const char *s, const char *end)
{
	uint64_t start, size;
	const char *name;

	while (end > s && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (!parse_hex(&s, end, &start) || !skip_blanks(&s, end) || !parse_hex(&s, end, &size) ||
	    !skip_blanks(&s, end))
		return -EINVAL;
	/* A NUL would cut the name short (and is not text a perf map writer produces). */
	if (!size || start + size < start || s == end || memchr(s, '\0', (size_t)(end - s)))
		return -EINVAL;
	if (pm->count + pm->nadded >= HL_PERFMAP_MAX_ENTRIES) {
		pm->dropped++;
		return 0;
	}
	if (pm->nadded == pm->cap_added) {
		size_t n = pm->cap_added ? pm->cap_added * 2 : 256;
		struct added *bigger = realloc(pm->added, n * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		pm->added = bigger;
		pm->cap_added = n;
	}
	name = hl_strpool__add(pm->pool, s, (size_t)(end - s));
	if (!name)
		return -ENOMEM;
	pm->added[pm->nadded] = (struct added){{start, start + size, name}, pm->nadded};
	pm->nadded++;
	return 0;
}

static int added_cmp(const void *a, const void *b)
{
	const struct added *x = a, *y = b;

	if (x->sym.start != y->sym.start)
		return x->sym.start < y->sym.start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts the lines of this parse and merges them into the table; a new line replaces an old
 * entry with the same start. */
static int merge_added(struct hl_perfmap *pm)
{
	struct hl_perfmap_sym *out;
	size_t i = 0, j = 0, n = 0, k, m = 0;

	if (!pm->nadded)
		return 0;
	qsort(pm->added, pm->nadded, sizeof(*pm->added), added_cmp);
	for (k = 0; k < pm->nadded; k++) { /* equal starts: keep the last line */
		if (m && pm->added[m - 1].sym.start == pm->added[k].sym.start)
			m--;
		pm->added[m++] = pm->added[k];
	}
	out = malloc((pm->count + m) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	while (i < pm->count || j < m) {
		if (j == m || (i < pm->count && pm->syms[i].start < pm->added[j].sym.start)) {
			out[n++] = pm->syms[i++];
		} else {
			if (i < pm->count && pm->syms[i].start == pm->added[j].sym.start)
				i++; /* replaced */
			out[n++] = pm->added[j++].sym;
		}
	}
	free(pm->syms);
	pm->syms = out;
	pm->count = n;
	pm->cap = pm->count;
	pm->nadded = 0;
	return 0;
}

ssize_t hl_perfmap__parse(struct hl_perfmap *pm, const char *buf, size_t len)
{
	size_t pos = 0;
	int err = 0;

	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);

		if (pm->skipping) {
			if (!nl) {
				pos = len;
				break;
			}
			pm->skipping = false;
			pos = (size_t)(nl - buf) + 1;
			continue;
		}
		if (!nl) {
			if (len - pos > HL_PERFMAP_MAX_LINE) {
				pm->malformed++;
				pm->skipping = true;
				pos = len;
			}
			break;
		}
		if (nl - line > HL_PERFMAP_MAX_LINE) {
			pm->malformed++;
		} else {
			err = parse_line(pm, line, nl);
			if (err == -EINVAL) {
				pm->malformed++;
				err = 0;
			}
			if (err)
				break;
		}
		pos = (size_t)(nl - buf) + 1;
	}
	if (!err)
		err = merge_added(pm);
	if (err) {
		pm->nadded = 0;
		return err;
	}
	return (ssize_t)pos;
}

const struct hl_perfmap_sym *hl_perfmap__find(struct hl_perfmap *pm, uint64_t addr)
{
	size_t lo = 0, hi = pm->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < pm->syms[lo - 1].end)
		return &pm->syms[lo - 1];
	return NULL;
}

static void reset(struct hl_perfmap *pm)
{
	pm->count = 0;
	pm->nadded = 0;
	pm->skipping = false;
	pm->offset = 0;
	/* The names stay in the pool: callers may still hold them. */
}

int hl_perfmap__update(struct hl_perfmap *pm, const char *path)
{
	size_t budget = UPDATE_MAX_BYTES;
	struct stat st;
	char *buf;
	int fd, err = 0;

	/* Not following a symlink, and not blocking on a FIFO: the target chose what is there. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	if (pm->have_file &&
	    (st.st_dev != pm->dev || st.st_ino != pm->ino || st.st_size < pm->offset))
		reset(pm);
	pm->have_file = true;
	pm->dev = st.st_dev;
	pm->ino = st.st_ino;
	if (st.st_size == pm->offset)
		goto out_close;
	buf = malloc(READ_CHUNK);
	if (!buf) {
		err = -ENOMEM;
		goto out_close;
	}
	/* Each chunk is parsed from the first byte not yet consumed, so a line cut by the
	 * chunk (or by the writer) is read again whole next time. */
	while (budget) {
		ssize_t r = pread(fd, buf, READ_CHUNK, pm->offset), used;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		used = hl_perfmap__parse(pm, buf, (size_t)r);
		if (used < 0) {
			err = (int)used;
			break;
		}
		pm->offset += used;
		budget = (size_t)r < budget ? budget - (size_t)r : 0;
		if (used == 0 && (size_t)r < READ_CHUNK)
			break; /* only a partial line left */
	}
	free(buf);
out_close:
	close(fd);
	return err;
}

int hl_perfmap_parse_nspid(const char *status, size_t len, pid_t *nspid)
{
	const char *p = status, *end = status + len;
	const char *key = "NSpid:";

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		if ((size_t)(eol - p) >= strlen(key) && !memcmp(p, key, strlen(key))) {
			const char *s = p + strlen(key);
			long long last = -1;

			while (s < eol) {
				long long v = 0;
				int digits = 0;

				while (s < eol && (*s == ' ' || *s == '\t'))
					s++;
				if (s == eol)
					break;
				for (; s < eol && *s >= '0' && *s <= '9'; s++, digits++) {
					v = v * 10 + (*s - '0');
					if (v > INT_MAX)
						return -EINVAL;
				}
				if (!digits || (s < eol && *s != ' ' && *s != '\t'))
					return -EINVAL;
				last = v;
			}
			if (last <= 0)
				return -EINVAL;
			*nspid = (pid_t)last;
			return 0;
		}
		p = eol + 1;
	}
	return -ENOENT;
}

int hl_perfmap_path(pid_t pid, char *buf, size_t size)
{
	char path[64], status[4096];
	pid_t nspid = pid;
	ssize_t n;
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, status, sizeof(status) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	status[n] = '\0';
	err = hl_perfmap_parse_nspid(status, (size_t)n, &nspid);
	if (err && err != -ENOENT)
		return err;
	if ((size_t)snprintf(buf, size, "/proc/%d/root/tmp/perf-%d.map", (int)pid, (int)nspid) >=
	    size)
		return -ENAMETOOLONG;
	return 0;
}
