/* daemon/config.h — the daemon's configuration file: keys, defaults, parsing.
 *
 * The file is lines of `key = value`; '#' starts a comment; blank lines are ignored; values
 * are taken verbatim after trimming (no quoting).  docs/daemon.md lists every key with its
 * default, and so does hl_daemon_config_defaults() in code: the two must agree.  A parser of a
 * buffer (no I/O), so it is unit-tested with failure rows.  Command-line flags override the
 * file (cli/daemon.c applies them after parsing).
 */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hl_non_python {
	HL_NON_PYTHON_IGNORE = 0, /* processes without an interpreter are not sampled */
	HL_NON_PYTHON_NATIVE,	  /* ... are sampled with kernel and native frames */
};

struct hl_daemon_config {
	char db[PATH_MAX];	  /* db */
	char status_file[PATH_MAX]; /* status_file; "" for none */
	uint32_t frequency_hz;	  /* frequency */
	uint32_t min_frequency_hz; /* min_frequency: the CPU budget never lowers below this */
	uint64_t window_ns;	  /* window */
	int mode;		  /* mode: enum hl_mode of cli/session.h */
	bool async_stacks;	  /* async */
	uint32_t max_frames;	  /* max_frames */
	uint32_t stack_bytes;	  /* stack_size */
	bool store_cmdlines;	  /* store_cmdlines */
	bool native_lines;	  /* native_lines */
	enum hl_non_python non_python; /* non_python */
	/* Which processes: every one whose fields match every regex that is set ("" unset). */
	char executable_re[512];  /* executable: /proc/PID/exe */
	char cmdline_re[512];	  /* cmdline: arguments joined by spaces */
	char cgroup_re[512];	  /* cgroup: the cgroup path */
	char unit_re[512];	  /* unit: the systemd unit */
	char container_re[512];	  /* container: the container id */
	uint64_t retention_age_ns; /* retention_age: windows older are deleted; 0 keeps them */
	uint64_t retention_bytes;  /* retention_size: the file (with its WAL) is kept under this */
	double cpu_budget_percent; /* cpu_budget: % of one core; 0 disables the governor */
	uint64_t rescan_ns;	  /* rescan_interval: /proc is rescanned this often */
};

/* Fills @cfg with every default. */
void hl_daemon_config_defaults(struct hl_daemon_config *cfg);

/* Applies the `key = value` lines of @text (@len bytes) over @cfg.  Returns 0, or -EINVAL with
 * "line N: why" in @err; @cfg may then be partly updated (parse into a copy). */
int hl_daemon_config_parse(const char *text, size_t len, struct hl_daemon_config *cfg,
			   char *err, size_t errlen);

/* Applies one setting, as the file's `key = value` would.  Used by the parser and for
 * command-line flags.  Returns 0, or -EINVAL with the reason in @err. */
int hl_daemon_config_set(struct hl_daemon_config *cfg, const char *key, const char *value,
			 char *err, size_t errlen);

/* Parses "90", "90s", "5m", "2h", "7d" into nanoseconds (> 0).  Returns 0 or -EINVAL. */
int hl_parse_duration_ns(const char *s, uint64_t *out);
/* Parses "1048576", "512K", "100M", "2G" (powers of 1024) into bytes.  Returns 0 or -EINVAL. */
int hl_parse_size(const char *s, uint64_t *out);
