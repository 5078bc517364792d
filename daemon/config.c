/* daemon/config.c — see config.h. */
#include "daemon/config.h"
#include "cli/session.h"
#include "common/util.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hl_daemon_config_defaults(struct hl_daemon_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	hl_strlcpy(cfg->db, "/var/lib/hotloop/hotloop.db", sizeof(cfg->db));
	hl_strlcpy(cfg->status_file, "/run/hotloop/status", sizeof(cfg->status_file));
	cfg->frequency_hz = 49;
	cfg->min_frequency_hz = 5;
	cfg->window_ns = 60ULL * 1000000000;
	cfg->mode = HL_MODE_MIXED;
	cfg->async_stacks = true;
	cfg->max_frames = 512;
	cfg->stack_bytes = 32768;
	cfg->store_cmdlines = false;
	cfg->native_lines = false;
	cfg->non_python = HL_NON_PYTHON_IGNORE;
	cfg->retention_age_ns = 7ULL * 24 * 3600 * 1000000000;
	cfg->retention_bytes = 1ULL << 30;
	cfg->cpu_budget_percent = 1.0;
	cfg->rescan_ns = 10ULL * 1000000000;
}

static int parse_scaled(const char *s, const char *const *suffixes, const uint64_t *scales,
			size_t n, uint64_t *out)
{
	char num[32];
	size_t len = strlen(s), i, digits = 0;
	uint64_t v;

	while (digits < len && s[digits] >= '0' && s[digits] <= '9')
		digits++;
	if (!digits || digits >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, digits);
	num[digits] = '\0';
	if (hl_parse_u64(num, 10, 0, UINT64_MAX, &v))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (strcmp(s + digits, suffixes[i]))
			continue;
		if (v > UINT64_MAX / scales[i])
			return -EINVAL;
		*out = v * scales[i];
		return 0;
	}
	return -EINVAL;
}

int hl_parse_duration_ns(const char *s, uint64_t *out)
{
	static const char *const suffixes[] = {"", "s", "ms", "m", "h", "d"};
	static const uint64_t scales[] = {1000000000ULL,	1000000000ULL,
					  1000000ULL,		60ULL * 1000000000,
					  3600ULL * 1000000000, 86400ULL * 1000000000};

	if (parse_scaled(s, suffixes, scales, HL_ARRAY_SIZE(suffixes), out) || !*out)
		return -EINVAL;
	return 0;
}

int hl_parse_size(const char *s, uint64_t *out)
{
	static const char *const suffixes[] = {"", "K", "M", "G", "T"};
	static const uint64_t scales[] = {1, 1ULL << 10, 1ULL << 20, 1ULL << 30, 1ULL << 40};

	return parse_scaled(s, suffixes, scales, HL_ARRAY_SIZE(suffixes), out);
}

static int bad(char *err, size_t errlen, const char *key, const char *want, const char *value)
{
	snprintf(err, errlen, "%s wants %s, not '%s'", key, want, value);
	return -EINVAL;
}

static int set_bool(bool *out, const char *key, const char *value, char *err, size_t errlen)
{
	if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "on"))
		*out = true;
	else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "off"))
		*out = false;
	else
		return bad(err, errlen, key, "true or false", value);
	return 0;
}

static int set_regex(char *out, size_t size, const char *key, const char *value, char *err,
		     size_t errlen)
{
	regex_t re;
	int rc;

	if (strlen(value) >= size)
		return bad(err, errlen, key, "a shorter regular expression", value);
	if (*value) {
		rc = regcomp(&re, value, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char why[128];

			regerror(rc, &re, why, sizeof(why));
			snprintf(err, errlen, "%s: '%s' is not a POSIX extended regular expression: %s",
				 key, value, why);
			return -EINVAL;
		}
		regfree(&re);
	}
	hl_strlcpy(out, value, size);
	return 0;
}

static int set_path(char *out, size_t size, const char *key, const char *value, bool may_be_empty,
		    char *err, size_t errlen)
{
	if ((!*value && !may_be_empty) || (*value && *value != '/') || strlen(value) >= size)
		return bad(err, errlen, key, may_be_empty ? "an absolute path or nothing"
							  : "an absolute path", value);
	hl_strlcpy(out, value, size);
	return 0;
}

int hl_daemon_config_set(struct hl_daemon_config *cfg, const char *key, const char *value,
			 char *err, size_t errlen)
{
	uint64_t v;
	double d;

	if (!strcmp(key, "db"))
		return set_path(cfg->db, sizeof(cfg->db), key, value, false, err, errlen);
	if (!strcmp(key, "status_file"))
		return set_path(cfg->status_file, sizeof(cfg->status_file), key, value, true, err,
				errlen);
	if (!strcmp(key, "frequency") || !strcmp(key, "min_frequency")) {
		if (hl_parse_u64(value, 10, 1, 10000, &v))
			return bad(err, errlen, key, "a frequency in Hz from 1 to 10000", value);
		*(!strcmp(key, "frequency") ? &cfg->frequency_hz : &cfg->min_frequency_hz) =
			(uint32_t)v;
		return 0;
	}
	if (!strcmp(key, "window")) {
		if (hl_parse_duration_ns(value, &v) || v < 1000000000ULL || v > 86400000000000ULL)
			return bad(err, errlen, key, "a duration from 1s to 1d (60, 30s, 5m)",
				   value);
		cfg->window_ns = v;
		return 0;
	}
	if (!strcmp(key, "mode")) {
		if (!strcmp(value, "mixed"))
			cfg->mode = HL_MODE_MIXED;
		else if (!strcmp(value, "python"))
			cfg->mode = HL_MODE_PYTHON;
		else if (!strcmp(value, "native"))
			cfg->mode = HL_MODE_NATIVE;
		else
			return bad(err, errlen, key, "mixed, python or native", value);
		return 0;
	}
	if (!strcmp(key, "async"))
		return set_bool(&cfg->async_stacks, key, value, err, errlen);
	if (!strcmp(key, "store_cmdlines"))
		return set_bool(&cfg->store_cmdlines, key, value, err, errlen);
	if (!strcmp(key, "native_lines"))
		return set_bool(&cfg->native_lines, key, value, err, errlen);
	if (!strcmp(key, "max_frames")) {
		if (hl_parse_u64(value, 10, 1, 1024, &v))
			return bad(err, errlen, key, "1 to 1024", value);
		cfg->max_frames = (uint32_t)v;
		return 0;
	}
	if (!strcmp(key, "stack_size")) {
		if (hl_parse_size(value, &v) || v < 512 || v > 65536)
			return bad(err, errlen, key, "512 to 65536 bytes", value);
		cfg->stack_bytes = (uint32_t)(v & ~7ULL);
		return 0;
	}
	if (!strcmp(key, "non_python")) {
		if (!strcmp(value, "ignore"))
			cfg->non_python = HL_NON_PYTHON_IGNORE;
		else if (!strcmp(value, "native"))
			cfg->non_python = HL_NON_PYTHON_NATIVE;
		else
			return bad(err, errlen, key, "ignore or native", value);
		return 0;
	}
	if (!strcmp(key, "executable"))
		return set_regex(cfg->executable_re, sizeof(cfg->executable_re), key, value, err,
				 errlen);
	if (!strcmp(key, "cmdline"))
		return set_regex(cfg->cmdline_re, sizeof(cfg->cmdline_re), key, value, err, errlen);
	if (!strcmp(key, "cgroup"))
		return set_regex(cfg->cgroup_re, sizeof(cfg->cgroup_re), key, value, err, errlen);
	if (!strcmp(key, "unit"))
		return set_regex(cfg->unit_re, sizeof(cfg->unit_re), key, value, err, errlen);
	if (!strcmp(key, "container"))
		return set_regex(cfg->container_re, sizeof(cfg->container_re), key, value, err,
				 errlen);
	if (!strcmp(key, "retention_age")) {
		if (!strcmp(value, "0")) {
			cfg->retention_age_ns = 0;
			return 0;
		}
		if (hl_parse_duration_ns(value, &v))
			return bad(err, errlen, key, "a duration (7d, 12h, 90m) or 0 (keep)", value);
		cfg->retention_age_ns = v;
		return 0;
	}
	if (!strcmp(key, "retention_size")) {
		if (hl_parse_size(value, &v) || (v && v < (64u << 10)))
			return bad(err, errlen, key, "a size of at least 64K (500M, 2G) or 0 (no limit)",
				   value);
		cfg->retention_bytes = v;
		return 0;
	}
	if (!strcmp(key, "cpu_budget")) {
		if (hl_parse_double(value, 0, 100, &d))
			return bad(err, errlen, key, "a percentage of one core from 0 (off) to 100",
				   value);
		cfg->cpu_budget_percent = d;
		return 0;
	}
	if (!strcmp(key, "rescan_interval")) {
		if (hl_parse_duration_ns(value, &v) || v < 100000000ULL)
			return bad(err, errlen, key, "a duration of at least 100ms", value);
		cfg->rescan_ns = v;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s' (docs/daemon.md lists the keys)", key);
	return -EINVAL;
}

static void trim(const char **s, const char **end)
{
	while (*s < *end && (**s == ' ' || **s == '\t' || **s == '\r'))
		(*s)++;
	while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
		(*end)--;
}

int hl_daemon_config_parse(const char *text, size_t len, struct hl_daemon_config *cfg,
			   char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned lineno = 0;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		const char *end = nl ? nl : text + len, *hash, *eq, *kend, *vstart;
		char key[64], value[PATH_MAX], why[512];
		size_t klen, vlen;

		lineno++;
		pos = (size_t)(end - text) + 1;
		hash = memchr(line, '#', (size_t)(end - line));
		if (hash)
			end = hash;
		trim(&line, &end);
		if (line == end)
			continue;
		eq = memchr(line, '=', (size_t)(end - line));
		if (!eq) {
			snprintf(err, errlen, "line %u: expected 'key = value'", lineno);
			return -EINVAL;
		}
		kend = eq;
		vstart = eq + 1;
		trim(&line, &kend);
		trim(&vstart, &end);
		klen = (size_t)(kend - line);
		vlen = (size_t)(end - vstart);
		if (!klen || klen >= sizeof(key) || vlen >= sizeof(value) || memchr(line, '\0', klen) ||
		    memchr(vstart, '\0', vlen)) {
			snprintf(err, errlen, "line %u: expected 'key = value'", lineno);
			return -EINVAL;
		}
		memcpy(key, line, klen);
		key[klen] = '\0';
		memcpy(value, vstart, vlen);
		value[vlen] = '\0';
		if (hl_daemon_config_set(cfg, key, value, why, sizeof(why))) {
			snprintf(err, errlen, "line %u: %s", lineno, why);
			return -EINVAL;
		}
	}
	return 0;
}
