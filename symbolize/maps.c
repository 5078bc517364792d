/* symbolize/maps.c — see maps.h. */
#define _GNU_SOURCE
#include "symbolize/maps.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_hex(char **p, char stop, uint64_t *out)
{
	uint64_t v = 0;
	char *s = *p;
	int digits = 0;

	for (; *s && *s != stop; s++, digits++) {
		int d;

		d = hl_hex_digit(*s);
		if (d < 0)
			return false;
		if (digits >= 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits || *s != stop)
		return false;
	*p = s + 1;
	*out = v;
	return true;
}

/* A decimal number ending at a space or at the end of the line. */
static bool parse_dec(char **p, uint64_t *out)
{
	uint64_t v = 0;
	char *s = *p;
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (!digits || (*s != ' ' && *s != '\0'))
		return false;
	*p = s;
	*out = v;
	return true;
}

/* One line: "start-end perms offset major:minor inode   path" (path optional). */
static int parse_line(char *line, struct hl_mapping *m)
{
	static const char deleted[] = " (deleted)";
	uint64_t major, minor;
	char *p = line;
	size_t len;

	memset(m, 0, sizeof(*m));
	if (!parse_hex(&p, '-', &m->start) || !parse_hex(&p, ' ', &m->end) || m->end < m->start)
		return -EINVAL;
	/* "rwxp": each letter or '-', then 'p' (private) or 's' (shared). */
	if (strlen(p) < 5 || p[4] != ' ' || (p[0] != 'r' && p[0] != '-') ||
	    (p[1] != 'w' && p[1] != '-') || (p[2] != 'x' && p[2] != '-') ||
	    (p[3] != 'p' && p[3] != 's'))
		return -EINVAL;
	m->readable = p[0] == 'r';
	m->writable = p[1] == 'w';
	m->executable = p[2] == 'x';
	p += 5;
	if (!parse_hex(&p, ' ', &m->offset) || !parse_hex(&p, ':', &major) ||
	    !parse_hex(&p, ' ', &minor) || major > UINT32_MAX || minor > UINT32_MAX)
		return -EINVAL;
	m->dev_major = (uint32_t)major;
	m->dev_minor = (uint32_t)minor;
	/* The inode is followed by padding spaces and the path, or by the end of the line. */
	if (!parse_dec(&p, &m->inode))
		return -EINVAL;
	while (*p == ' ')
		p++;
	len = strlen(p);
	if (len >= sizeof(deleted) - 1 && !strcmp(p + len - (sizeof(deleted) - 1), deleted)) {
		p[len - (sizeof(deleted) - 1)] = '\0';
		m->deleted = true;
	}
	m->path = p;
	return 0;
}

int hl_maps__parse(struct hl_maps *maps, char *text)
{
	size_t cap = 0, n = 0;
	char *line, *next;
	int err;

	memset(maps, 0, sizeof(*maps));
	maps->text = text;
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct hl_mapping *bigger = realloc(maps->entries, ncap * sizeof(*bigger));

			if (!bigger) {
				err = -ENOMEM;
				goto out_release;
			}
			maps->entries = bigger;
			cap = ncap;
		}
		err = parse_line(line, &maps->entries[n]);
		if (err)
			goto out_release;
		n++;
	}
	maps->count = n;
	return 0;

out_release:
	hl_maps__release(maps);
	return err;
}

int hl_maps__read(struct hl_maps *maps, pid_t pid)
{
	char path[64], *text;
	int err;

	memset(maps, 0, sizeof(*maps));
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	err = hl_read_file(path, 64 << 20, &text, NULL);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	return hl_maps__parse(maps, text);
}

void hl_maps__release(struct hl_maps *maps)
{
	free(maps->entries);
	free(maps->text);
	memset(maps, 0, sizeof(*maps));
}

const struct hl_mapping *hl_maps__find(const struct hl_maps *maps, uint64_t addr)
{
	size_t lo = 0, hi = maps->count;

	/* procfs lists mappings in address order. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct hl_mapping *m = &maps->entries[mid];

		if (addr < m->start)
			hi = mid;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}
