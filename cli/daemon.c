/* cli/daemon.c — `hotloop daemon`: always-on sampling of every CPython process on the host,
 * and `hotloop status`, which reads what the daemon says about itself.
 *
 * Owns what surrounds a long-lived session (cli/session.c does the sampling and the windows):
 * choosing processes (a /proc scan at start and every rescan_interval, and the exec of any
 * process, which the sampler reports within milliseconds), the configuration and its reload
 * (SIGHUP), the store's health (removed, replaced, damaged, full: the session is restarted on
 * a new file, the lost window counted), retention after each window, the CPU budget, the
 * status file, and SIGTERM (flush the open window, exit).  Not responsible for how samples
 * become stacks (session.c) or how windows are deleted (daemon/retention.c).
 */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "cli/session.h"
#include "collector/python.h"
#include "common/hashmap.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/config.h"
#include "daemon/labels.h"
#include "daemon/retention.h"
#include "version.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define APPLICATION_ID 0x686f746cu /* "hotl": schema/001_initial.sql */
/* A process is looked at again while it starts (the dynamic loader maps libpython after the
 * exec), for this long after its exec or first sight. */
#define STARTUP_CHECK_NS (2ULL * 1000000000)
#define STATUS_INTERVAL_NS (2ULL * 1000000000)
#define HEALTH_INTERVAL_NS (1ULL * 1000000000)
/* The CPU governor measures over this interval, and waits this many intervals after a
 * session starts (its first symbolizations are a one-time cost). */
#define GOVERNOR_INTERVAL_NS (5ULL * 1000000000)
#define GOVERNOR_WARMUP 2
#define RETRY_MIN_NS (1ULL * 1000000000)
#define RETRY_MAX_NS (5ULL * 1000000000)
/* The daemon's ring buffer holds this long of samples from every CPU at the configured rate
 * (the consumer is woken at 256 KiB, so it only fills while the daemon is stalled), within
 * these bounds.  Every page of it ends up resident, twice over (the kernel maps the data
 * area twice so records can wrap), so it is the largest part of the daemon's RSS. */
#define RINGBUF_SECONDS 1
#define RINGBUF_MIN_BYTES (1u << 20)
#define RINGBUF_MAX_BYTES (16u << 20)
/* A mixed sample beyond its copy of the stack: Python frames, kernel stack, registers. */
#define SAMPLE_OVERHEAD_BYTES 4096
/* Allocations from this size on get their own mapping, returned to the kernel on free.
 * Setting it stops glibc from raising the threshold each time such a block is freed, which
 * otherwise moves later large, short-lived buffers (a whole /proc/kallsyms, 8 MiB and more;
 * ELF sections) onto the heap, whose freed space is not returned. */
#define MMAP_THRESHOLD_BYTES (256u << 10)

enum verdict {
	V_PENDING,    /* starting: checked again until STARTUP_CHECK_NS */
	V_TARGET,     /* handed to the session */
	V_NOT_PYTHON, /* no interpreter (and non_python = ignore) */
	V_FILTERED,   /* does not match the configured filters */
	V_UNREADABLE, /* its memory cannot be read */
};

struct seen {
	uint64_t starttime; /* /proc/PID/stat field 22: tells a reused pid apart */
	uint64_t since_ns;  /* monotonic: exec or first sight */
	uint64_t next_ns;   /* next check while pending */
	uint64_t scan;	    /* the last /proc scan that found it */
	enum verdict verdict;
};

struct overrides {
	const char *db;
	const char *frequency;
	const char *window;
};

struct daemon {
	const char *config_path; /* NULL: defaults and flags only */
	struct overrides ov;
	struct hl_daemon_config cfg;
	regex_t re_exe, re_cmd, re_cgroup, re_unit, re_container;
	bool has_exe, has_cmd, has_cgroup, has_unit, has_container;

	struct hl_session *s;
	dev_t db_dev;
	ino_t db_ino;
	uint64_t retry_ns; /* no session: when to try again; 0 none scheduled */
	uint64_t retry_delay_ns;
	uint64_t session_start_ns;
	uint64_t windows_seen; /* the session's window count at the last retention */

	struct hl_map *seen; /* pid -> struct seen * */
	uint64_t scan;
	uint64_t next_scan_ns;
	unsigned pending;
	struct hl_python *py; /* scratch for detection (large) */

	/* Figures for the log and the status file. */
	uint64_t started_wall_ns, started_mono_ns;
	uint64_t windows_written, windows_dropped, sessions;
	uint64_t samples_before, lost_before; /* of earlier sessions */
	uint64_t retention_deleted;
	bool over_limit;
	uint32_t hz; /* sampling now */
	char throttle[256]; /* why hz is below the configured rate; "" when it is not */
	unsigned governor_intervals, governor_calm;
	uint64_t governor_cpu_ns, governor_mono_ns;
	double cpu_percent; /* over the last governor interval */
	char last_error[512];
};

static void clear_seen(struct daemon *d)
{
	size_t cursor = 0;
	uint64_t key, v;

	while (hl_map__next(d->seen, &cursor, &key, &v))
		free((void *)(uintptr_t)v);
	hl_map__clear(d->seen);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: hotloop daemon [--config FILE] [--db PATH] [-F HZ] [--window SECONDS]\n"
		"\n"
		"Samples every CPython process on this host (or those the configuration selects) "
		"at a low\nrate, in mixed mode with asyncio stacks, into an SQLite store of "
		"per-window aggregates\nwith bounded size.  Runs until SIGTERM or SIGINT (the open "
		"window is written first);\nSIGHUP reloads the configuration.  Logs go to stderr.\n"
		"\n"
		"  -c, --config FILE     configuration file (docs/daemon.md lists every key)\n"
		"      --db PATH         store (default /var/lib/hotloop/hotloop.db)\n"
		"  -F, --frequency HZ    samples per second per CPU (default 49)\n"
		"  -w, --window SECS     aggregation window (default 60; 30s, 5m also work)\n"
		"  -h, --help            this help\n"
		"Flags override the file, also across reloads.\n"
		"\n"
		"examples:\n"
		"  hotloop daemon --config /etc/hotloop/daemon.conf\n"
		"  hotloop status\n"
		"  hotloop report /var/lib/hotloop/hotloop.db --since 1h --service api.service\n");
}

/* ---- configuration ---------------------------------------------------------------------- */

static void free_filters(struct daemon *d)
{
	if (d->has_exe)
		regfree(&d->re_exe);
	if (d->has_cmd)
		regfree(&d->re_cmd);
	if (d->has_cgroup)
		regfree(&d->re_cgroup);
	if (d->has_unit)
		regfree(&d->re_unit);
	if (d->has_container)
		regfree(&d->re_container);
	d->has_exe = d->has_cmd = d->has_cgroup = d->has_unit = d->has_container = false;
}

static bool compile(regex_t *re, const char *pattern)
{
	/* Checked when the configuration was parsed. */
	return *pattern && !regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
}

/* Reads the file and the flags into @cfg.  Returns 0 or -EINVAL after logging why. */
static int load_config(const struct daemon *d, struct hl_daemon_config *cfg)
{
	char err[600];
	char *text = NULL;
	size_t len = 0;
	int rc;

	hl_daemon_config_defaults(cfg);
	if (d->config_path) {
		rc = hl_read_file(d->config_path, 1 << 20, &text, &len);
		if (rc) {
			hl_err("cannot read the configuration %s: %s", d->config_path,
			       strerror(-rc));
			return -EINVAL;
		}
		rc = hl_daemon_config_parse(text, len, cfg, err, sizeof(err));
		free(text);
		if (rc) {
			hl_err("%s: %s", d->config_path, err);
			return -EINVAL;
		}
	}
	if ((d->ov.db && hl_daemon_config_set(cfg, "db", d->ov.db, err, sizeof(err))) ||
	    (d->ov.frequency &&
	     hl_daemon_config_set(cfg, "frequency", d->ov.frequency, err, sizeof(err))) ||
	    (d->ov.window && hl_daemon_config_set(cfg, "window", d->ov.window, err, sizeof(err)))) {
		hl_err("%s", err);
		return -EINVAL;
	}
	if (cfg->min_frequency_hz > cfg->frequency_hz)
		cfg->min_frequency_hz = cfg->frequency_hz;
	return 0;
}

static void apply_config(struct daemon *d, const struct hl_daemon_config *cfg)
{
	free_filters(d);
	d->cfg = *cfg;
	d->has_exe = compile(&d->re_exe, cfg->executable_re);
	d->has_cmd = compile(&d->re_cmd, cfg->cmdline_re);
	d->has_cgroup = compile(&d->re_cgroup, cfg->cgroup_re);
	d->has_unit = compile(&d->re_unit, cfg->unit_re);
	d->has_container = compile(&d->re_container, cfg->container_re);
	d->hz = cfg->frequency_hz;
	d->throttle[0] = '\0';
}

/* ---- the store -------------------------------------------------------------------------- */

static void note_error(struct daemon *d, const char *fmt, const char *detail)
{
	snprintf(d->last_error, sizeof(d->last_error), fmt, detail);
}

/* What the file at @path is: 0 ours or absent/empty, 1 damaged or not SQLite (ours to move
 * aside: it sits at the daemon's own path), 2 another program's SQLite database. */
static int judge_file(const char *path)
{
	unsigned char h[100];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	uint32_t app;

	if (fd < 0)
		return errno == ENOENT ? 0 : 1;
	n = read(fd, h, sizeof(h));
	close(fd);
	if (n == 0)
		return 0;
	if (n < (ssize_t)sizeof(h) || memcmp(h, "SQLite format 3", 16))
		return 1;
	app = (uint32_t)h[68] << 24 | (uint32_t)h[69] << 16 | (uint32_t)h[70] << 8 | h[71];
	if (app == APPLICATION_ID)
		return 0;
	return app == 0 ? 1 : 2;
}

/* Moves a damaged store (and its WAL) aside, so nothing in it is lost and a new one can
 * take its place. */
static int move_aside(struct daemon *d, const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	char from[PATH_MAX + 8], to[PATH_MAX + 64];
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < HL_ARRAY_SIZE(suffixes); i++) {
		snprintf(from, sizeof(from), "%s%s", path, suffixes[i]);
		snprintf(to, sizeof(to), "%s.damaged-%lld%s", path, (long long)now, suffixes[i]);
		if (rename(from, to) && errno != ENOENT) {
			hl_err("cannot move the damaged store %s aside: %s", from, strerror(errno));
			return -errno;
		}
	}
	hl_err("%s is damaged: moved to %s.damaged-%lld (recover it with `sqlite3 FILE "
	       ".recover`); starting a new store",
	       path, path, (long long)now);
	note_error(d, "%s was damaged and moved aside; a new store was started", path);
	return 0;
}

static void on_exec(void *ctx, pid_t pid);

static void remember_db_identity(struct daemon *d)
{
	struct stat st;

	if (!stat(d->cfg.db, &st)) {
		d->db_dev = st.st_dev;
		d->db_ino = st.st_ino;
	}
}

/* The ring buffer for @hz on this host: a power of two (the kernel requires it). */
static size_t ringbuf_bytes(const struct daemon *d, uint32_t hz)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	uint64_t per_sample = (d->cfg.mode == HL_MODE_PYTHON ? 0 : d->cfg.stack_bytes) +
			      SAMPLE_OVERHEAD_BYTES;
	uint64_t want = (uint64_t)(cpus > 0 ? cpus : 1) * hz * per_sample * RINGBUF_SECONDS;
	size_t bytes = RINGBUF_MIN_BYTES;

	while (bytes < want && bytes < RINGBUF_MAX_BYTES)
		bytes <<= 1;
	return bytes;
}

static int start_session(struct daemon *d)
{
	struct hl_session_opts so = {
		.mode = (enum hl_mode)d->cfg.mode,
		.ustack_bytes = d->cfg.stack_bytes,
		.db_path = d->cfg.db,
		.target_pids = "daemon",
		.store_cmdlines = d->cfg.store_cmdlines,
		.frequency_hz = d->hz,
		.max_py_frames = d->cfg.max_frames,
		.follow_forks = true,
		.async_stacks = d->cfg.async_stacks,
		.append = true,
		.window_ns = d->cfg.window_ns,
		.report_all_execs = true,
		.on_exec = on_exec,
		.hook_ctx = d,
		.release_exited = true,
		.no_native_lines = !d->cfg.native_lines,
		.ringbuf_bytes = ringbuf_bytes(d, d->cfg.frequency_hz),
	};
	int kind = judge_file(d->cfg.db);

	if (kind == 2) {
		hl_err("%s is another program's SQLite database: hotloop never writes into it; "
		       "set db in the configuration to a file of its own",
		       d->cfg.db);
		return -EEXIST;
	}
	if (kind == 1 && move_aside(d, d->cfg.db))
		return -EIO;
	d->s = hl_session__new(&so);
	if (!d->s)
		return -errno;
	remember_db_identity(d);
	d->sessions++;
	d->session_start_ns = hl_now_monotonic_ns();
	d->windows_seen = 0;
	d->governor_intervals = 0;
	d->governor_cpu_ns = hl_self_cpu_ns();
	d->governor_mono_ns = d->session_start_ns;
	d->retry_delay_ns = 0;
	hl_info("sampling at %u Hz into %s, %.0f s windows, a %zu KiB ring buffer", d->hz,
		d->cfg.db, d->cfg.window_ns / 1e9, so.ringbuf_bytes >> 10);
	return 0;
}

/* Ends the session.  @drop: it failed, the open window is lost (counted). */
static void stop_session(struct daemon *d, bool drop)
{
	struct hl_session_summary sum;

	if (!d->s)
		return;
	hl_session__summary(d->s, &sum);
	if (hl_session__finish(d->s, -1) || drop) {
		d->windows_dropped++;
		hl_warn("the open window was lost (%llu windows lost so far)",
			(unsigned long long)d->windows_dropped);
	} else {
		sum.windows++; /* finish wrote the open one */
	}
	d->windows_written += sum.windows;
	d->samples_before += sum.samples;
	d->lost_before += sum.lost;
	d->s = NULL;
	/* Every process is looked at again by the next session. */
	clear_seen(d);
}

static void schedule_retry(struct daemon *d)
{
	d->retry_delay_ns = d->retry_delay_ns ? HL_MIN(d->retry_delay_ns * 2, RETRY_MAX_NS)
					      : RETRY_MIN_NS;
	d->retry_ns = hl_now_monotonic_ns() + d->retry_delay_ns;
}

/* The session failed (disk full, I/O error, damaged file): keep running, start again. */
static void session_failed(struct daemon *d, int err)
{
	note_error(d, "store error: %s", strerror(-err));
	stop_session(d, true);
	if (err == -EBADMSG)
		move_aside(d, d->cfg.db);
	schedule_retry(d);
}

/* The file under the session's feet: removed, replaced or overwritten. */
static void check_store_health(struct daemon *d)
{
	struct stat st;

	if (!d->s)
		return;
	if (stat(d->cfg.db, &st) || st.st_dev != d->db_dev || st.st_ino != d->db_ino) {
		hl_err("%s was removed or replaced while the daemon wrote it: starting a new "
		       "store there",
		       d->cfg.db);
		note_error(d, "%s was removed or replaced; a new store was started", d->cfg.db);
		stop_session(d, true);
		schedule_retry(d);
		d->retry_ns = hl_now_monotonic_ns(); /* at once */
		return;
	}
	if (judge_file(d->cfg.db)) {
		stop_session(d, true);
		move_aside(d, d->cfg.db);
		schedule_retry(d);
		d->retry_ns = hl_now_monotonic_ns();
	}
}

/* ---- choosing processes ----------------------------------------------------------------- */

static uint64_t proc_starttime(pid_t pid)
{
	char path[64], *text = NULL, *p;
	uint64_t start = 0;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (hl_read_file(path, 4096, &text, NULL))
		return 0;
	/* comm may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(text, ')');
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	free(text);
	return start;
}

static bool matches(bool has, const regex_t *re, const char *text)
{
	return !has || !regexec(re, text, 0, NULL, 0);
}

/* Whether the configured filters select @pid. */
static bool selected(struct daemon *d, pid_t pid, const char *exe)
{
	char path[64], *text = NULL;
	size_t len = 0, i;
	struct hl_labels labels;

	if ((d->has_exe && !matches(true, &d->re_exe, exe)))
		return false;
	if (d->has_cmd) {
		bool ok;

		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		if (hl_read_file(path, 1 << 16, &text, &len))
			return false;
		for (i = 0; i + 1 < len; i++)
			if (!text[i])
				text[i] = ' ';
		ok = matches(true, &d->re_cmd, text);
		free(text);
		text = NULL;
		if (!ok)
			return false;
	}
	if (d->has_cgroup || d->has_unit || d->has_container) {
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
		if (hl_read_file(path, 1 << 16, &text, &len))
			return false;
		hl_labels_parse(text, len, exe, &labels);
		free(text);
		if (!matches(d->has_cgroup, &d->re_cgroup, labels.cgroup) ||
		    !matches(d->has_unit, &d->re_unit, labels.unit) ||
		    !matches(d->has_container, &d->re_container, labels.container))
			return false;
	}
	return true;
}

static struct seen *seen_of(struct daemon *d, pid_t pid)
{
	uint64_t v;

	return hl_map__get(d->seen, (uint64_t)pid, &v) ? (struct seen *)(uintptr_t)v : NULL;
}

/* Looks at @pid once: filters, then whether it runs an interpreter. */
static void check_process(struct daemon *d, pid_t pid, struct seen *e, uint64_t now)
{
	char link[64], exe[PATH_MAX];
	ssize_t n;
	int ret, err;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0) {
		/* A kernel thread, a zombie, or gone. */
		e->verdict = V_FILTERED;
		return;
	}
	exe[n] = '\0';
	if (!selected(d, pid, exe)) {
		e->verdict = V_FILTERED;
		return;
	}
	ret = hl_python_detect(pid, d->py);
	if (ret == -ESRCH) {
		e->verdict = V_FILTERED;
		return;
	}
	if (ret < 0) {
		if (e->verdict != V_UNREADABLE)
			hl_warn("pid %d (%s): cannot read its memory: %s", (int)pid, exe,
				strerror(-ret));
		e->verdict = V_UNREADABLE;
		return;
	}
	if (ret == HL_PYDETECT_NOT_PYTHON && d->cfg.non_python == HL_NON_PYTHON_IGNORE) {
		/* The loader may not have mapped libpython yet. */
		if (now - e->since_ns < STARTUP_CHECK_NS) {
			uint64_t age = now - e->since_ns;

			e->verdict = V_PENDING;
			e->next_ns = now + (age < 100000000ULL ? 5000000ULL : 100000000ULL);
		} else {
			e->verdict = V_NOT_PYTHON;
		}
		return;
	}
	err = hl_session__add_target(d->s, pid, 0, false);
	if (err && err != -ESRCH) {
		hl_warn("pid %d (%s): cannot sample it: %s", (int)pid, exe, strerror(-err));
		e->verdict = V_UNREADABLE;
		return;
	}
	e->verdict = V_TARGET;
}

/* Records @pid (new, reused or exec'd) and checks it now. */
static void consider(struct daemon *d, pid_t pid, bool exec, uint64_t now)
{
	uint64_t start = proc_starttime(pid);
	struct seen *e = seen_of(d, pid);

	if (pid == getpid() || !start)
		return;
	if (e && e->starttime == start && !exec) {
		e->scan = d->scan;
		return;
	}
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e || hl_map__set(d->seen, (uint64_t)pid, (uint64_t)(uintptr_t)e)) {
			free(e);
			return;
		}
	}
	*e = (struct seen){.starttime = start, .since_ns = now, .scan = d->scan};
	/* An exec'd target is re-detected by the session itself. */
	if (hl_session__is_target(d->s, pid)) {
		e->verdict = V_TARGET;
		return;
	}
	check_process(d, pid, e, now);
}

static void on_exec(void *ctx, pid_t pid)
{
	struct daemon *d = ctx;

	if (d->s)
		consider(d, pid, true, hl_now_monotonic_ns());
}

/* Every process in /proc; forgets the pids that are gone. */
static void scan_proc(struct daemon *d, uint64_t now)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	size_t cursor = 0;
	uint64_t key, v;
	uint64_t *gone = NULL;
	size_t n = 0, cap = 0, i;

	if (!dir) {
		hl_warn("cannot list /proc: %s", strerror(errno));
		return;
	}
	d->scan++;
	while ((de = readdir(dir))) {
		uint64_t pid;

		if (hl_parse_u64(de->d_name, 10, 1, INT32_MAX, &pid))
			continue;
		consider(d, (pid_t)pid, false, now);
	}
	closedir(dir);
	while (hl_map__next(d->seen, &cursor, &key, &v))
		if (((struct seen *)(uintptr_t)v)->scan != d->scan &&
		    !hl_grow((void **)&gone, &cap, n + 1, sizeof(*gone)))
			gone[n++] = key;
	for (i = 0; i < n; i++)
		if (hl_map__get(d->seen, gone[i], &v)) {
			hl_map__delete(d->seen, gone[i]);
			free((void *)(uintptr_t)v);
		}
	free(gone);
}

/* Checks again the processes still starting; returns how many still are. */
static unsigned run_pending(struct daemon *d, uint64_t now)
{
	size_t cursor = 0;
	uint64_t key, v;
	unsigned pending = 0;

	while (hl_map__next(d->seen, &cursor, &key, &v)) {
		struct seen *e = (struct seen *)(uintptr_t)v;

		if (e->verdict != V_PENDING)
			continue;
		if (e->next_ns <= now)
			check_process(d, (pid_t)key, e, now);
		pending += e->verdict == V_PENDING;
	}
	return pending;
}

/* ---- cost -------------------------------------------------------------------------------- */

/* Lowers the sampling rate while the daemon's own CPU is over its budget, and raises it back
 * once well under. */
static void govern(struct daemon *d, uint64_t now)
{
	uint64_t cpu = hl_self_cpu_ns();
	double budget = d->cfg.cpu_budget_percent;
	uint32_t hz = d->hz;

	if (now - d->governor_mono_ns < GOVERNOR_INTERVAL_NS)
		return;
	d->cpu_percent = 100.0 * (double)(cpu - d->governor_cpu_ns) /
			 (double)(now - d->governor_mono_ns);
	d->governor_cpu_ns = cpu;
	d->governor_mono_ns = now;
	if (!d->s || budget <= 0 || ++d->governor_intervals <= GOVERNOR_WARMUP)
		return;
	if (d->cpu_percent > budget && d->hz > d->cfg.min_frequency_hz) {
		/* CPU cost is roughly proportional to the rate: aim under the budget. */
		double scaled = d->hz * budget / d->cpu_percent * 0.8;

		hz = scaled < d->cfg.min_frequency_hz ? d->cfg.min_frequency_hz
						      : (uint32_t)scaled;
		if (hz >= d->hz)
			hz = d->hz - 1;
		d->governor_calm = 0;
	} else if (d->cpu_percent < budget / 2 && d->hz < d->cfg.frequency_hz) {
		if (++d->governor_calm < 3)
			return;
		hz = HL_MIN(d->cfg.frequency_hz, d->hz + HL_MAX(d->hz / 2, 1u));
		d->governor_calm = 0;
	} else {
		d->governor_calm = 0;
		return;
	}
	if (hz == d->hz || hl_session__set_frequency(d->s, hz))
		return;
	if (hz < d->cfg.frequency_hz) {
		snprintf(d->throttle, sizeof(d->throttle),
			 "own CPU %.2f%% of a core over the budget of %g%%: %u Hz instead of %u",
			 d->cpu_percent, budget, hz, d->cfg.frequency_hz);
		hl_warn("%s", d->throttle);
	} else {
		d->throttle[0] = '\0';
		hl_info("own CPU %.2f%% of a core: back to %u Hz", d->cpu_percent, hz);
	}
	d->hz = hz;
}

static uint64_t self_rss_bytes(void)
{
	char *text = NULL, *p;
	uint64_t kib = 0;

	if (hl_read_file("/proc/self/status", 1 << 16, &text, NULL))
		return 0;
	p = strstr(text, "\nVmRSS:");
	if (p)
		kib = strtoull(p + 7, NULL, 10);
	free(text);
	return kib * 1024;
}

/* ---- status ------------------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

struct status_walk {
	FILE *f;
	unsigned n;
};

static void status_target(const struct hl_target_info *t, void *ctx)
{
	struct status_walk *w = ctx;

	if (t->exited)
		return;
	fprintf(w->f, "%s\n    {\"pid\": %d, \"python\": ", w->n++ ? "," : "", (int)t->pid);
	json_string(w->f, t->python_version);
	fputs(", \"service\": ", w->f);
	json_string(w->f, t->service);
	fprintf(w->f, ", \"samples\": %llu}", (unsigned long long)t->samples);
}

/* Written to a temporary file and renamed over the old one: readers never see half. */
static void write_status(struct daemon *d, const char *state)
{
	struct hl_session_summary sum = {0};
	struct status_walk w = {0};
	char tmp[PATH_MAX + 16];
	FILE *f;
	int fd;

	if (!d->cfg.status_file[0])
		return;
	if (d->s)
		hl_session__summary(d->s, &sum);
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->cfg.status_file);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	fprintf(f, "{\n  \"state\": \"%s\",\n  \"pid\": %d,\n  \"version\": \"%s\",\n", state,
		(int)getpid(), HOTLOOP_VERSION);
	fprintf(f, "  \"started_ns\": %llu,\n  \"updated_ns\": %llu,\n",
		(unsigned long long)d->started_wall_ns, (unsigned long long)hl_now_realtime_ns());
	fputs("  \"db\": ", f);
	json_string(f, d->cfg.db);
	fprintf(f, ",\n  \"db_bytes\": %llu,\n  \"db_over_limit\": %s,\n",
		(unsigned long long)hl_store_file_bytes(d->cfg.db), d->over_limit ? "true" : "false");
	fprintf(f, "  \"frequency_hz\": %u,\n  \"configured_hz\": %u,\n  \"throttled\": ", d->hz,
		d->cfg.frequency_hz);
	json_string(f, d->throttle);
	fprintf(f, ",\n  \"window_s\": %.3f,\n  \"windows_written\": %llu,\n"
		   "  \"windows_dropped\": %llu,\n  \"windows_deleted\": %llu,\n",
		d->cfg.window_ns / 1e9, (unsigned long long)(d->windows_written + sum.windows),
		(unsigned long long)d->windows_dropped, (unsigned long long)d->retention_deleted);
	fprintf(f, "  \"samples\": %llu,\n  \"lost\": %llu,\n  \"sessions\": %llu,\n",
		(unsigned long long)(d->samples_before + sum.samples),
		(unsigned long long)(d->lost_before + sum.lost), (unsigned long long)d->sessions);
	fprintf(f, "  \"cpu_percent\": %.3f,\n  \"cpu_budget_percent\": %.3f,\n"
		   "  \"cpu_total_s\": %.3f,\n  \"rss_bytes\": %llu,\n  \"cache_bytes\": %zu,\n",
		d->cpu_percent, d->cfg.cpu_budget_percent, hl_self_cpu_ns() / 1e9,
		(unsigned long long)self_rss_bytes(), sum.cache_bytes);
	fputs("  \"last_error\": ", f);
	json_string(f, d->last_error);
	fputs(",\n  \"targets\": [", f);
	w.f = f;
	if (d->s)
		hl_session__for_each_target(d->s, status_target, &w);
	fputs("\n  ]\n}\n", f);
	if (fclose(f) || rename(tmp, d->cfg.status_file))
		unlink(tmp);
}

/* ---- the loop ---------------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, struct daemon *d)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'D'},
		{"frequency", required_argument, NULL, 'F'},
		{"window", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:F:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d->config_path = optarg;
			break;
		case 'D':
			d->ov.db = optarg;
			break;
		case 'F':
			d->ov.frequency = optarg;
			break;
		case 'w':
			d->ov.window = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hotloop daemon: unexpected argument '%s'\n\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Creates the directory of the store (mode 0750) if missing. */
static int make_state_dir(const char *db)
{
	char dir[PATH_MAX], *p;

	hl_strlcpy(dir, db, sizeof(dir));
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0750) && errno != EEXIST)
		return -errno;
	return 0;
}

static void after_window(struct daemon *d)
{
	struct hl_session_summary sum;
	struct hl_retention_result r;
	int err;

	hl_session__summary(d->s, &sum);
	if (sum.windows == d->windows_seen)
		return;
	d->windows_seen = sum.windows;
	err = hl_retention_enforce(hl_session__store(d->s), hl_session__profile_id(d->s),
				   hl_now_realtime_ns(), d->cfg.retention_age_ns,
				   d->cfg.retention_bytes, &r);
	if (err) {
		session_failed(d, err);
		return;
	}
	/* Once a window: hand back heap pages freed since (symbolizing new processes allocates
	 * and frees in bursts), so RSS shows what the daemon holds. */
	malloc_trim(0);
	d->retention_deleted += r.windows_deleted;
	if (r.windows_deleted)
		hl_info("retention: deleted %llu old windows, the store is %llu KiB",
			(unsigned long long)r.windows_deleted, (unsigned long long)(r.bytes >> 10));
	if (r.over_limit && !d->over_limit)
		hl_warn("%s is %llu KiB with no window left to delete, over retention_size: the "
			"functions and stacks it names take that room; raise retention_size",
			d->cfg.db, (unsigned long long)(r.bytes >> 10));
	d->over_limit = r.over_limit;
}

static int reload(struct daemon *d)
{
	struct hl_daemon_config cfg;

	if (load_config(d, &cfg)) {
		hl_err("configuration not reloaded: the daemon keeps running with the old one");
		return -EINVAL;
	}
	hl_info("reloading the configuration%s%s", d->config_path ? " from " : "",
		d->config_path ? d->config_path : "");
	/* A new session picks up every setting; the open window is written first. */
	stop_session(d, false);
	apply_config(d, &cfg);
	if (make_state_dir(d->cfg.db))
		hl_warn("cannot create the directory of %s: %s", d->cfg.db, strerror(errno));
	d->retry_ns = hl_now_monotonic_ns();
	return 0;
}

int cmd_daemon(int argc, char **argv)
{
	struct daemon d = {0};
	struct hl_daemon_config cfg;
	sigset_t mask, orig;
	int sigfd = -1, err, ret = HL_EXIT_ERROR;
	bool done = false;
	uint64_t next_status = 0, next_health = 0;

	err = parse_args(argc, argv, &d);
	if (err)
		return err > 0 ? HL_EXIT_OK : HL_EXIT_USAGE;
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
	if (load_config(&d, &cfg))
		return HL_EXIT_USAGE;
	apply_config(&d, &cfg);
	d.seen = hl_map__new(1024);
	d.py = calloc(1, sizeof(*d.py));
	if (!d.seen || !d.py) {
		hl_err("out of memory");
		goto out;
	}
	if (hl_log_get_level() < HL_LOG_INFO)
		hl_log_set_level(HL_LOG_INFO); /* a daemon says what it does */
	err = make_state_dir(d.cfg.db);
	if (err) {
		hl_err("cannot create the directory of %s: %s", d.cfg.db, strerror(-err));
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &orig);
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0) {
		hl_err("signalfd: %s", strerror(errno));
		goto out_restore;
	}
	d.started_wall_ns = hl_now_realtime_ns();
	d.started_mono_ns = hl_now_monotonic_ns();
	err = start_session(&d);
	if (err == -EEXIST || err == -EPERM || err == -EACCES) {
		/* Configuration or privileges: retrying would not help. */
		goto out_restore;
	}
	if (err) {
		hl_err("cannot start sampling: %s; trying again", strerror(-err));
		note_error(&d, "cannot start sampling: %s", strerror(-err));
		schedule_retry(&d);
	}
	hl_info("hotloop daemon %s started (pid %d)", HOTLOOP_VERSION, (int)getpid());

	while (!done) {
		struct signalfd_siginfo si;
		uint64_t now = hl_now_monotonic_ns();
		int timeout = d.pending ? 5 : 200;

		if (!d.s && d.retry_ns && now >= d.retry_ns) {
			d.retry_ns = 0;
			err = start_session(&d);
			if (err) {
				note_error(&d, "cannot start sampling: %s", strerror(-err));
				hl_warn("cannot start sampling: %s; trying again", strerror(-err));
				d.windows_dropped++; /* time without a session is a lost window */
				schedule_retry(&d);
			} else {
				d.next_scan_ns = 0;
			}
		}
		if (d.s) {
			if (!d.next_scan_ns || now >= d.next_scan_ns) {
				scan_proc(&d, now);
				d.next_scan_ns = now + d.cfg.rescan_ns;
			}
			err = hl_session__run_once(d.s, timeout);
			if (err)
				session_failed(&d, err);
			else
				after_window(&d);
		} else {
			struct pollfd pfd = {.fd = sigfd, .events = POLLIN};

			poll(&pfd, 1, 200);
		}
		now = hl_now_monotonic_ns();
		if (d.s)
			d.pending = run_pending(&d, now);
		while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP)
				reload(&d);
			else
				done = true;
		}
		if (now >= next_health) {
			check_store_health(&d);
			next_health = now + HEALTH_INTERVAL_NS;
		}
		govern(&d, now);
		if (now >= next_status) {
			write_status(&d, d.s ? "running" : "retrying");
			next_status = now + STATUS_INTERVAL_NS;
		}
	}
	hl_info("stopping: writing the open window");
	stop_session(&d, false);
	hl_info("stopped: %llu windows written, %llu lost", (unsigned long long)d.windows_written,
		(unsigned long long)d.windows_dropped);
	if (d.cfg.status_file[0])
		unlink(d.cfg.status_file);
	ret = HL_EXIT_OK;

out_restore:
	if (sigfd >= 0)
		close(sigfd);
	sigprocmask(SIG_SETMASK, &orig, NULL);
out:
	if (d.s)
		hl_session__finish(d.s, -1);
	if (d.seen) {
		clear_seen(&d);
		hl_map__free(d.seen);
	}
	free(d.py);
	free_filters(&d);
	return ret;
}

/* ---- hotloop status ---------------------------------------------------------------------- */

/* The value of "key" in the status file's text: the rest of its line, without the comma. */
static void print_field(const char *text, const char *key, const char *label)
{
	char pat[64];
	const char *p, *end;
	int len;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(text, pat);
	if (!p)
		return;
	p += strlen(pat);
	end = strchr(p, '\n');
	len = end ? (int)(end - p) : (int)strlen(p);
	if (len && p[len - 1] == ',')
		len--;
	printf("%-18s %.*s\n", label, len, p);
}

int cmd_status(int argc, char **argv)
{
	const char *path = "/run/hotloop/status";
	char *text = NULL, *p;
	bool json = false;
	long pid = 0;
	int i, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--status-file") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: hotloop status [--status-file FILE] [--json]\n\n"
			       "What the running daemon samples, its rates, lost samples and windows,\n"
			       "the store's size and its own CPU and memory, from the file it updates\n"
			       "every 2 s (status_file, default /run/hotloop/status).  Exits 0 when\n"
			       "the daemon runs, 2 when it does not.\n");
			return HL_EXIT_OK;
		} else {
			fprintf(stderr, "hotloop status: unknown argument '%s'\n", argv[i]);
			return HL_EXIT_USAGE;
		}
	}
	err = hl_read_file(path, 1 << 22, &text, NULL);
	if (err) {
		hl_err("no daemon status at %s (%s): is `hotloop daemon` running?  Its status_file "
		       "setting names the file",
		       path, strerror(-err));
		return HL_EXIT_ERROR;
	}
	p = strstr(text, "\"pid\": ");
	if (p)
		pid = strtol(p + 7, NULL, 10);
	if (pid <= 0 || (kill((pid_t)pid, 0) && errno == ESRCH)) {
		hl_err("%s names pid %ld, which is not running: the daemon died without removing "
		       "its status file",
		       path, pid);
		free(text);
		return HL_EXIT_ERROR;
	}
	if (json) {
		fputs(text, stdout);
	} else {
		static const char *const fields[][2] = {
			{"state", "state"},		{"pid", "pid"},
			{"db", "store"},		{"db_bytes", "store bytes"},
			{"frequency_hz", "sampling Hz"}, {"configured_hz", "configured Hz"},
			{"throttled", "throttled"},	{"window_s", "window s"},
			{"windows_written", "windows written"}, {"windows_dropped", "windows lost"},
			{"windows_deleted", "windows expired"}, {"samples", "samples"},
			{"lost", "samples lost"},	{"cpu_percent", "own CPU %"},
			{"cpu_budget_percent", "CPU budget %"}, {"rss_bytes", "RSS bytes"},
			{"last_error", "last error"},
		};
		const char *t;
		size_t k;

		for (k = 0; k < HL_ARRAY_SIZE(fields); k++)
			print_field(text, fields[k][0], fields[k][1]);
		t = strstr(text, "\"targets\": [");
		printf("processes sampled:\n");
		while (t && (t = strstr(t, "{\"pid\"")) != NULL) {
			const char *end = strchr(t, '}');

			printf("  %.*s\n", end ? (int)(end - t + 1) : (int)strlen(t), t);
			t = end;
		}
	}
	free(text);
	return HL_EXIT_OK;
}
