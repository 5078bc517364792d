/* daemon/labels.c — see labels.h. */
#include "daemon/labels.h"
#include "common/util.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

static bool is_hex_run(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (hl_hex_digit((unsigned char)s[i]) < 0)
			return false;
	return true;
}

/* A container id in one path component: "docker-<id>.scope", "cri-containerd-<id>.scope",
 * "crio-<id>.scope", "libpod-<id>.scope" (systemd cgroup driver) or a bare 64-hex-digit
 * component (cgroupfs driver: /docker/<id>, /kubepods/.../<id>). */
static bool container_in(const char *comp, size_t len, char *out, size_t size)
{
	static const char *const prefixes[] = {"docker-", "cri-containerd-", "crio-", "libpod-"};
	size_t i, n;

	if (len == 64 && is_hex_run(comp, len)) {
		n = HL_MIN(len, size - 1);
		memcpy(out, comp, n);
		out[n] = '\0';
		return true;
	}
	if (!ends_with(comp, len, ".scope"))
		return false;
	for (i = 0; i < HL_ARRAY_SIZE(prefixes); i++) {
		size_t p = strlen(prefixes[i]), idlen;

		if (len <= p + 6 || memcmp(comp, prefixes[i], p))
			continue;
		idlen = len - p - 6;
		if (idlen < 12 || !is_hex_run(comp + p, idlen))
			continue;
		n = HL_MIN(idlen, size - 1);
		memcpy(out, comp + p, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

/* The cgroup path of one line "ID:CONTROLLERS:PATH", or NULL. */
static const char *line_path(const char *line, size_t len, const char **controllers,
			     size_t *clen, size_t *plen)
{
	const char *c1 = memchr(line, ':', len), *c2;

	if (!c1)
		return NULL;
	c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line));
	if (!c2)
		return NULL;
	*controllers = c1 + 1;
	*clen = (size_t)(c2 - c1 - 1);
	*plen = len - (size_t)(c2 + 1 - line);
	return c2 + 1;
}

/* Picks the most telling path: the unified hierarchy's (cgroup v2), else systemd's named
 * hierarchy (v1), else any controller's; a root path ("/") only when nothing better. */
static void choose_path(const char *text, size_t len, char *out, size_t size)
{
	const char *best = NULL;
	size_t best_len = 0;
	int best_rank = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos, clen, plen;
		const char *ctl, *path = line_path(line, llen, &ctl, &clen, &plen);

		pos += llen + 1;
		if (!path || !plen)
			continue;
		{
			bool root = plen == 1 && path[0] == '/';
			int rank = clen == 0 ? 3 : clen == 12 && !memcmp(ctl, "name=systemd", 12) ? 2
										     : 1;

			if (root)
				rank = 0;
			if (!best || rank > best_rank) {
				best = path;
				best_len = plen;
				best_rank = rank;
			}
		}
	}
	out[0] = '\0';
	if (best) {
		size_t n = HL_MIN(best_len, size - 1);

		memcpy(out, best, n);
		out[n] = '\0';
	}
}

void hl_labels_parse(const char *text, size_t len, const char *exe, struct hl_labels *out)
{
	const char *p, *base;
	char scope[128] = "";

	memset(out, 0, sizeof(*out));
	choose_path(text, len, out->cgroup, sizeof(out->cgroup));
	for (p = out->cgroup; *p;) {
		const char *slash = strchr(p + 1, '/');
		const char *comp = *p == '/' ? p + 1 : p;
		size_t clen = slash ? (size_t)(slash - comp) : strlen(comp);

		/* The innermost unit wins: a service under user@.service is that service. */
		if (ends_with(comp, clen, ".service") && clen < sizeof(out->unit)) {
			memcpy(out->unit, comp, clen);
			out->unit[clen] = '\0';
		} else if (!container_in(comp, clen, out->container, sizeof(out->container)) &&
			   ends_with(comp, clen, ".scope") && clen < sizeof(scope)) {
			memcpy(scope, comp, clen);
			scope[clen] = '\0';
		}
		if (!slash)
			break;
		p = slash;
	}
	if (!out->unit[0] && scope[0] && !out->container[0])
		hl_strlcpy(out->unit, scope, sizeof(out->unit));
	if (out->unit[0])
		hl_strlcpy(out->service, out->unit, sizeof(out->service));
	else if (out->container[0])
		snprintf(out->service, sizeof(out->service), "container:%.12s", out->container);
	else if (exe && *exe) {
		base = strrchr(exe, '/');
		hl_strlcpy(out->service, base ? base + 1 : exe, sizeof(out->service));
	}
}
