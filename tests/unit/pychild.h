/* tests/unit/pychild.h — for unit tests that read a real CPython process: finding the
 * interpreters of this machine (pyenv 3.X, Debian's python3.11, the fetched 3.14) and running a
 * script under one that reports "key value" lines and waits on its stdin.
 *
 * The script protocol: it prints "key VALUE" lines (decimal) and a line "done", then waits;
 * child__read() collects the values up to "done".
 */
#pragma once
#include "check.h"
#include "collector/python.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------- */
/* Finding interpreters. */

struct interp {
	char id[16];
	char path[PATH_MAX];
	char why[PATH_MAX + 128]; /* why it is missing; empty when found */
};

static inline bool is_ci(void)
{
	const char *ci = getenv("CI");

	return ci && (!strcmp(ci, "true") || !strcmp(ci, "1") || !strcmp(ci, "yes"));
}

/* The first line of @cmd's stdout, or "" (exit status in *status). */
static inline void run_line(const char *cmd, char *out, size_t size, int *status)
{
	FILE *f = popen(cmd, "r");
	size_t n;

	out[0] = '\0';
	*status = -1;
	if (!f)
		return;
	if (fgets(out, (int)size, f)) {
		n = strcspn(out, "\n");
		out[n] = '\0';
	}
	*status = pclose(f);
}

static inline void pyenv_root(char *out, size_t size)
{
	const char *env = getenv("PYENV_ROOT");
	int status;

	if (env && *env) {
		snprintf(out, size, "%s", env);
		return;
	}
	run_line("pyenv root 2>/dev/null", out, size, &status);
	if (status == 0 && out[0])
		return;
	snprintf(out, size, "%s/.pyenv", getenv("HOME") ? getenv("HOME") : "/root");
}

/* The highest patch release of 3.@minor under pyenv. */
static inline void find_pyenv(struct interp *in, unsigned minor)
{
	char root[PATH_MAX], versions[PATH_MAX + 16], prefix[16], best[256] = "";
	long best_patch = -1;
	struct dirent *de;
	DIR *dir;

	snprintf(in->id, sizeof(in->id), "3.%u", minor);
	pyenv_root(root, sizeof(root));
	snprintf(versions, sizeof(versions), "%s/versions", root);
	snprintf(prefix, sizeof(prefix), "3.%u.", minor);
	dir = opendir(versions);
	while (dir && (de = readdir(dir))) {
		char *end;
		long patch;

		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		patch = strtol(de->d_name + strlen(prefix), &end, 10);
		if (*end || end == de->d_name + strlen(prefix) || patch <= best_patch)
			continue;
		best_patch = patch;
		snprintf(best, sizeof(best), "%s", de->d_name);
	}
	if (dir)
		closedir(dir);
	if (best_patch < 0) {
		snprintf(in->why, sizeof(in->why),
			 "no pyenv build of 3.%u under %s (pyenv install "
			 "3.%u)",
			 minor, versions, minor);
		return;
	}
	snprintf(in->path, sizeof(in->path), "%s/%s/bin/python3.%u", versions, best, minor);
	if (access(in->path, X_OK))
		snprintf(in->why, sizeof(in->why), "%s is not executable", in->path);
}

static inline void find_debian(struct interp *in)
{
	snprintf(in->id, sizeof(in->id), "debian-3.11");
	snprintf(in->path, sizeof(in->path), "/usr/bin/python3.11");
	if (access(in->path, X_OK))
		snprintf(in->why, sizeof(in->why),
			 "/usr/bin/python3.11 not found (apt-get install "
			 "python3.11)");
}

static inline void find_314(struct interp *in)
{
	const char *src = getenv("HOTLOOP_SOURCE_DIR");
	char cmd[PATH_MAX + 64];
	int status;

	snprintf(in->id, sizeof(in->id), "3.14");
	if (!src) {
		snprintf(in->why, sizeof(in->why),
			 "HOTLOOP_SOURCE_DIR is not set (run under "
			 "ctest)");
		return;
	}
	snprintf(cmd, sizeof(cmd), "'%s/tests/python314/fetch' --check 2>/dev/null", src);
	run_line(cmd, in->path, sizeof(in->path), &status);
	if (status != 0 || !in->path[0])
		snprintf(in->why, sizeof(in->why),
			 "3.14 is not fetched (run %s/tests/python314/"
			 "fetch)",
			 src);
}

/* ---------------------------------------------------------------------------------------- */
/* Running a script. */

struct child {
	pid_t pid;
	int in, out; /* our ends of its stdin and stdout */
	struct {
		char key[32];
		uint64_t value;
	} vars[128];
	unsigned nvars;
};

static inline int child__start(struct child *c, const char *python, const char *flags, const char *script,
			const char *arg)
{
	int to[2], from[2];

	memset(c, 0, sizeof(*c));
	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (!c->pid) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		execl(python, python, flags, "-c", script, arg, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	c->in = to[1];
	c->out = from[0];
	return 0;
}

/* Reads "key value" lines until "done".  Returns 0, or -ETIMEDOUT / -EPIPE. */
static inline int child__read(struct child *c)
{
	char line[256];
	size_t len = 0;
	int waited = 0;

	for (;;) {
		struct pollfd pfd = {.fd = c->out, .events = POLLIN};
		ssize_t n;
		char ch;

		if (poll(&pfd, 1, 1000) == 0) {
			if (++waited >= 60)
				return -ETIMEDOUT;
			continue;
		}
		n = read(c->out, &ch, 1);
		if (n <= 0)
			return -EPIPE;
		if (ch != '\n') {
			if (len + 1 < sizeof(line))
				line[len++] = ch;
			continue;
		}
		line[len] = '\0';
		len = 0;
		if (!strcmp(line, "done"))
			return 0;
		if (c->nvars < HL_ARRAY_SIZE(c->vars)) {
			char *sp = strchr(line, ' ');

			if (!sp)
				continue;
			*sp = '\0';
			snprintf(c->vars[c->nvars].key, sizeof(c->vars[0].key), "%s", line);
			if (!hl_parse_u64(sp + 1, 10, 0, UINT64_MAX, &c->vars[c->nvars].value))
				c->nvars++;
		}
	}
}

/* The value the script printed for @key; 0 (and a failed check) when it did not. */
static inline uint64_t child__var(const struct child *c, const char *key)
{
	unsigned i;

	for (i = 0; i < c->nvars; i++)
		if (!strcmp(c->vars[i].key, key))
			return c->vars[i].value;
	CHECK(false, key);
	return 0;
}

static inline void child__stop(struct child *c)
{
	int status, i;

	close(c->in);
	close(c->out);
	for (i = 0; i < 500; i++) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid)
			return;
		usleep(10000);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, &status, 0);
}

/* Finds the interpreter of a script child, retrying while it is still starting.  Returns
 * hl_python_detect()'s result; a failure is said on stderr. */
static inline int child__detect(pid_t pid, struct hl_python *py)
{
	int ret = -1, i;

	for (i = 0; i < 200; i++) {
		ret = hl_python_detect(pid, py);
		if (ret != HL_PYDETECT_NOT_READY)
			break;
		usleep(20000);
	}
	if (ret != HL_PYDETECT_OK)
		fprintf(stderr, "hl_python_detect(%d) = %d: %s\n", (int)pid, ret, py->status);
	return ret;
}

/* ---------------------------------------------------------------------------------------- */
/* The main of a test run against every interpreter. */

/* Calls @run for every interpreter found (pyenv 3.8-3.13, Debian's 3.11, the fetched 3.14);
 * a missing one is skipped with a message, or fails the test when CI=true.  Returns the
 * test's exit status: 77 (skip) when none ran and nothing failed. */
static inline int run_each_interpreter(const char *test, void (*run)(const struct interp *in))
{
	struct interp in[8];
	unsigned i, n = 0, ran = 0;

	memset(in, 0, sizeof(in));
	for (i = 8; i <= 13; i++)
		find_pyenv(&in[n++], i);
	find_debian(&in[n++]);
	find_314(&in[n++]);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++) {
		if (in[i].why[0]) {
			if (is_ci())
				CHECK(false, in[i].why);
			else
				fprintf(stderr, "%s: SKIP %s: %s\n", test, in[i].id, in[i].why);
			continue;
		}
		fprintf(stderr, "%s: running %s (%s)\n", test, in[i].id, in[i].path);
		run(&in[i]);
		ran++;
	}
	if (!ran && !check_failures) {
		fprintf(stderr, "%s: SKIP: no interpreter found\n", test);
		return 77;
	}
	return check_done();
}
