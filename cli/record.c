/* cli/record.c — `hotloop record`: sample a command from its first instruction, or running
 * processes, into a profile database.
 *
 * Owns what surrounds a session: options, starting the command (held at a pipe until the
 * sampler is attached, so its first instruction is sampled), signals, the duration, the
 * progress line and the summary.  The sampling itself is cli/session.c.
 */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "cli/session.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PIDS 64
#define PROGRESS_INTERVAL_NS (250ULL * 1000000)

struct record_opts {
	const char *output;
	uint64_t frequency;
	double duration; /* seconds; 0 = until the targets exit or a signal */
	pid_t pids[MAX_PIDS];
	unsigned npids;
	const char *pid_list;
	char **command;
	uint64_t max_frames;
	uint64_t stack_size;
	enum hl_mode mode;
	bool follow_forks;
	bool store_cmdlines;
	bool async_stacks;
	bool arguments;
	bool quiet;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: hotloop record [options] -- COMMAND [ARGS...]\n"
		"       hotloop record [options] -p PID[,PID...]\n"
		"\n"
		"Samples the stacks of every thread — kernel, native (C) and Python frames with "
		"their\nfiles and lines, and whether the thread holds the GIL — into an SQLite "
		"profile database.\n"
		"\n"
		"  -o, --output FILE     profile database to write (default hotloop.db; replaced)\n"
		"  -F, --frequency HZ    samples per second per CPU (default 999)\n"
		"  -d, --duration SECS   stop after this long (default: when the targets exit)\n"
		"  -p, --pid PID,...     attach to running processes (all their threads)\n"
		"      --mode MODE       mixed (default): kernel, native and Python frames in one "
		"stack;\n"
		"                        python: Python frames only (cheapest); native: no Python\n"
		"      --stack-size N    bytes of user stack copied per sample for native unwinding\n"
		"                        (default 32768, at most 65536)\n"
		"      --max-frames N    Python frames kept per sample, innermost first "
		"(default 512)\n"
		"      --no-follow       do not follow processes the targets fork\n"
		"      --no-cmdline      do not store command lines (they may hold secrets)\n"
		"      --no-async        keep asyncio samples as they ran (event loop, then the\n"
		"                        task's coroutine) instead of under the tasks awaiting them\n"
		"      --no-arguments    do not record which objects the arguments of sampled\n"
		"                        functions held (candidates' invariance evidence)\n"
		"  -q, --quiet           no progress line and no summary\n"
		"  -h, --help            this help\n"
		"\n"
		"With -- COMMAND, hotloop starts the command and samples it from its first "
		"instruction\nuntil it exits; hotloop then exits 0, or 1 if the command failed. "
		"Ctrl-C reaches\nthe command; a second one stops recording at once.  With -p, "
		"recording stops when\nevery process has exited, at the duration, or on Ctrl-C.\n"
		"\n"
		"examples:\n"
		"  hotloop record -- python3 app.py --port 8080\n"
		"  hotloop record -o api.db -F 99 -d 60 -p 4242\n"
		"  hotloop report hotloop.db\n");
}

static int parse_pids(struct record_opts *o, const char *list)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t pid;

		if (o->npids == MAX_PIDS || hl_parse_u64(tok, 10, 1, INT32_MAX, &pid)) {
			err = -EINVAL;
			break;
		}
		o->pids[o->npids++] = (pid_t)pid;
	}
	free(copy);
	return o->npids ? err : -EINVAL;
}

static int parse_args(int argc, char **argv, struct record_opts *o)
{
	enum { OPT_MAX_FRAMES = 256, OPT_NO_FOLLOW, OPT_NO_CMDLINE, OPT_MODE, OPT_STACK_SIZE,
	       OPT_NO_ASYNC, OPT_NO_ARGUMENTS };
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"frequency", required_argument, NULL, 'F'},
		{"duration", required_argument, NULL, 'd'},
		{"pid", required_argument, NULL, 'p'},
		{"max-frames", required_argument, NULL, OPT_MAX_FRAMES},
		{"mode", required_argument, NULL, OPT_MODE},
		{"stack-size", required_argument, NULL, OPT_STACK_SIZE},
		{"no-follow", no_argument, NULL, OPT_NO_FOLLOW},
		{"no-cmdline", no_argument, NULL, OPT_NO_CMDLINE},
		{"no-async", no_argument, NULL, OPT_NO_ASYNC},
		{"no-arguments", no_argument, NULL, OPT_NO_ARGUMENTS},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct record_opts){.output = "hotloop.db", .frequency = 999, .max_frames = 512,
				  .stack_size = 32768, .mode = HL_MODE_MIXED,
				  .follow_forks = true, .store_cmdlines = true,
				  .async_stacks = true, .arguments = true};
	optind = 1;
	/* '+': stop at the first non-option, the command's own arguments are not ours. */
	while ((c = getopt_long(argc, argv, "+o:F:d:p:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output = optarg;
			break;
		case 'F':
			if (hl_parse_u64(optarg, 10, 1, 100000, &o->frequency)) {
				fprintf(stderr, "hotloop record: -F wants a frequency in Hz from 1 "
						"to 100000, not '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'd':
			if (hl_parse_double(optarg, 0.001, 1e9, &o->duration)) {
				fprintf(stderr, "hotloop record: -d wants a positive number of "
						"seconds, not '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'p':
			o->pid_list = optarg;
			if (parse_pids(o, optarg)) {
				fprintf(stderr, "hotloop record: -p wants process ids separated by "
						"commas (at most %d), not '%s'\n", MAX_PIDS, optarg);
				return -EINVAL;
			}
			break;
		case OPT_MAX_FRAMES:
			if (hl_parse_u64(optarg, 10, 1, 1024, &o->max_frames)) {
				fprintf(stderr, "hotloop record: --max-frames wants 1 to 1024\n");
				return -EINVAL;
			}
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "mixed"))
				o->mode = HL_MODE_MIXED;
			else if (!strcmp(optarg, "python"))
				o->mode = HL_MODE_PYTHON;
			else if (!strcmp(optarg, "native"))
				o->mode = HL_MODE_NATIVE;
			else {
				fprintf(stderr, "hotloop record: --mode is mixed, python or native, "
						"not '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_STACK_SIZE:
			if (hl_parse_u64(optarg, 10, 512, 65536, &o->stack_size)) {
				fprintf(stderr, "hotloop record: --stack-size wants 512 to 65536 "
						"bytes\n");
				return -EINVAL;
			}
			o->stack_size &= ~7ULL;
			break;
		case OPT_NO_FOLLOW:
			o->follow_forks = false;
			break;
		case OPT_NO_CMDLINE:
			o->store_cmdlines = false;
			break;
		case OPT_NO_ASYNC:
			o->async_stacks = false;
			break;
		case OPT_NO_ARGUMENTS:
			o->arguments = false;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc)
		o->command = argv + optind;
	if (!o->command == !o->npids) {
		fprintf(stderr, "hotloop record: give either -p PID or -- COMMAND\n\n");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* The thread group of @pid (a tid names its process), or -ESRCH. */
static pid_t thread_group_of(pid_t pid)
{
	char path[64], *text, *line;
	uint64_t tgid = 0;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	err = hl_read_file(path, 1 << 16, &text, NULL);
	if (err)
		return -ESRCH;
	line = strstr(text, "\nTgid:");
	if (!line || sscanf(line + 6, "%lu", &tgid) != 1)
		tgid = 0;
	free(text);
	return tgid ? (pid_t)tgid : -ESRCH;
}

/* Joins argv for the profile's command column, quoting words with spaces. */
static char *join_command(char **argv)
{
	size_t len = 1, i;
	char *out, *p;

	for (i = 0; argv[i]; i++)
		len += strlen(argv[i]) + 3;
	out = malloc(len);
	if (!out)
		return NULL;
	p = out;
	for (i = 0; argv[i]; i++) {
		bool quote = !argv[i][0] || strpbrk(argv[i], " \t'\"");

		p += sprintf(p, "%s%s%s%s", i ? " " : "", quote ? "'" : "", argv[i],
			     quote ? "'" : "");
	}
	return out;
}

struct child {
	pid_t pid;
	int go_fd;  /* write a byte to let it exec */
	int err_fd; /* exec's errno arrives here; EOF means exec succeeded */
};

/* Forks the command, held before exec until release_child. */
static int spawn_child(char **argv, const sigset_t *orig_mask, struct child *c)
{
	int go[2], errp[2];
	char byte;

	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		int e;

		close(go[1]);
		close(errp[0]);
		sigprocmask(SIG_SETMASK, orig_mask, NULL);
		if (read(go[0], &byte, 1) != 1)
			_exit(127); /* hotloop gave up before starting us */
		execvp(argv[0], argv);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(errp[1]);
	c->go_fd = go[1];
	c->err_fd = errp[0];
	return 0;
}

/* Lets the child exec.  Returns 0, or the exec's -errno. */
static int release_child(struct child *c)
{
	int e = 0;
	ssize_t n;

	if (write(c->go_fd, "g", 1) != 1)
		return -errno;
	close(c->go_fd);
	c->go_fd = -1;
	n = read(c->err_fd, &e, sizeof(e));
	close(c->err_fd);
	c->err_fd = -1;
	return n == sizeof(e) ? -e : 0;
}

static int decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

static void print_progress(struct hl_session *s, uint64_t elapsed_ns)
{
	struct hl_session_summary sum;
	char who[160];

	hl_session__summary(s, &sum);
	hl_session__describe(s, who, sizeof(who));
	fprintf(stderr, "\r\033[Khotloop: recording %s: %llu samples, %llu lost, %.1f s",
		who, (unsigned long long)sum.samples, (unsigned long long)sum.lost,
		elapsed_ns / 1e9);
	fflush(stderr);
}

static void print_summary(const struct hl_session_summary *sum, const char *file)
{
	fprintf(stderr,
		"hotloop: %llu samples (%llu lost, %llu truncated) in %.2f s from %u process%s "
		"(%u Python), written to %s\n",
		(unsigned long long)sum->samples, (unsigned long long)sum->lost,
		(unsigned long long)sum->truncated, sum->duration_ns / 1e9, sum->processes,
		sum->processes == 1 ? "" : "es", sum->python_processes, file);
	if (sum->unresolved)
		fprintf(stderr,
			"hotloop: %llu Python frames could not be named (their code objects "
			"were gone when read)\n",
			(unsigned long long)sum->unresolved);
	if (sum->samples)
		fprintf(stderr, "hotloop: collector CPU %.3f s (%.1f us per sample)\n",
			sum->self_cpu_ns / 1e9, sum->self_cpu_ns / 1e3 / (double)sum->samples);
	/* Only counted while kernel.bpf_stats_enabled=1. */
	if (sum->samples && sum->bpf_ns)
		hl_info("sampler CPU %.2f us per stored sample (%.3f s over %llu runs, including "
			"the runs that skipped other processes)",
			sum->bpf_ns / 1e3 / (double)sum->samples, sum->bpf_ns / 1e9,
			(unsigned long long)sum->bpf_runs);
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct hl_session_opts so;
	struct hl_session_summary sum;
	struct child child = {.pid = -1, .go_fd = -1, .err_fd = -1};
	struct hl_session *s;
	sigset_t mask, orig_mask;
	char *command = NULL, pidbuf[32];
	uint64_t start, last_progress = 0, deadline = 0;
	int sigfd = -1, exit_status = -1, ret = HL_EXIT_ERROR, err, interrupts = 0;
	bool progress, done = false;
	unsigned i;

	err = parse_args(argc, argv, &o);
	if (err)
		return err > 0 ? HL_EXIT_OK : HL_EXIT_USAGE;
	progress = !o.quiet && isatty(STDERR_FILENO);

	/* Signals arrive through a signalfd, so the loop sees them between records. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &orig_mask);
	sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0) {
		hl_err("signalfd: %s", strerror(errno));
		goto out_restore;
	}

	for (i = 0; i < o.npids; i++) {
		pid_t tgid = thread_group_of(o.pids[i]);

		if (tgid < 0) {
			hl_err("no process with pid %d", (int)o.pids[i]);
			goto out_restore;
		}
		if (tgid == getpid()) {
			hl_err("pid %d is hotloop itself", (int)o.pids[i]);
			goto out_restore;
		}
		if (tgid != o.pids[i])
			hl_info("pid %d is a thread of process %d: recording the process",
				(int)o.pids[i], (int)tgid);
		o.pids[i] = tgid;
	}
	if (o.command) {
		err = spawn_child(o.command, &orig_mask, &child);
		if (err) {
			hl_err("cannot start %s: %s", o.command[0], strerror(-err));
			goto out_restore;
		}
		command = join_command(o.command);
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)child.pid);
	}

	so = (struct hl_session_opts){
		.db_path = o.output,
		.command = o.store_cmdlines ? command : NULL,
		.target_pids = o.command ? pidbuf : o.pid_list,
		.store_cmdlines = o.store_cmdlines,
		.async_stacks = o.async_stacks,
		.arguments = o.arguments,
		.frequency_hz = (uint32_t)o.frequency,
		.max_py_frames = (uint32_t)o.max_frames,
		.mode = o.mode,
		.ustack_bytes = (uint32_t)o.stack_size,
		.follow_forks = o.follow_forks,
	};
	s = hl_session__new(&so);

	if (!s)
		goto out_kill_child;
	if (o.command) {
		err = hl_session__add_target(s, child.pid, 0, true);
		if (!err)
			err = release_child(&child);
		if (err) {
			hl_err("cannot run %s: %s", o.command[0], strerror(-err));
			hl_session__finish(s, -1);
			goto out_kill_child;
		}
	} else {
		for (i = 0; i < o.npids; i++) {
			err = hl_session__add_target(s, o.pids[i], 0, false);
			if (err) {
				hl_err("cannot record pid %d: %s", (int)o.pids[i],
				       err == -ESRCH ? "no such process" : strerror(-err));
				hl_session__finish(s, -1);
				goto out_restore;
			}
		}
	}

	start = hl_now_monotonic_ns();
	if (o.duration > 0)
		deadline = start + (uint64_t)(o.duration * 1e9);
	while (!done) {
		struct signalfd_siginfo si;
		uint64_t now;

		err = hl_session__run_once(s, 50);
		if (err)
			break;
		while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				continue;
			interrupts++;
			/* The command shares our terminal, so Ctrl-C reached it too; a signal
			 * sent to hotloop alone (kill) is passed on.  Recording goes on until
			 * the command exits; a second signal stops it now. */
			if (child.pid > 0 && interrupts == 1 && exit_status < 0) {
				if (si.ssi_code == SI_USER && (pid_t)si.ssi_pid != child.pid)
					kill(child.pid, (int)si.ssi_signo);
			} else {
				done = true;
			}
		}
		if (child.pid > 0 && exit_status < 0) {
			int status;

			if (waitpid(child.pid, &status, WNOHANG) == child.pid) {
				exit_status = decode_status(status);
				done = true;
			}
		}
		if (!o.command && hl_session__all_exited(s))
			done = true;
		now = hl_now_monotonic_ns();
		if (deadline && now >= deadline)
			done = true;
		if (progress && now - last_progress >= PROGRESS_INTERVAL_NS) {
			print_progress(s, now - start);
			last_progress = now;
		}
	}
	if (progress)
		fputs("\r\033[K", stderr);
	/* The command's last samples may still be queued: one more pass drains them. */
	hl_session__run_once(s, 0);
	hl_session__summary(s, &sum);
	err = hl_session__finish(s, exit_status);
	if (err) {
		hl_err("the profile in %s may be incomplete: %s", o.output, strerror(-err));
		ret = HL_EXIT_ERROR;
	} else {
		ret = HL_EXIT_OK;
	}
	if (!o.quiet)
		print_summary(&sum, o.output);
	if (o.command) {
		if (exit_status < 0) {
			if (!o.quiet)
				fprintf(stderr, "hotloop: %s is still running (pid %d)\n",
					o.command[0], (int)child.pid);
		} else {
			if (!o.quiet)
				fprintf(stderr, "hotloop: %s exited with status %d\n",
					o.command[0], exit_status);
			if (exit_status && ret == HL_EXIT_OK)
				ret = HL_EXIT_DEGRADED;
		}
	}
	goto out_restore;

out_kill_child:
	if (child.pid > 0) {
		/* Never started: closing the go pipe makes it exit without running. */
		if (child.go_fd >= 0)
			close(child.go_fd);
		waitpid(child.pid, NULL, 0);
	}
out_restore:
	if (child.err_fd >= 0)
		close(child.err_fd);
	if (sigfd >= 0)
		close(sigfd);
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
	free(command);
	return ret;
}
