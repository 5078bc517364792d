/* cli/filters.c — see filters.h.  docs/formats.md ("Filters") is the user's description. */
#define _GNU_SOURCE
#include "cli/filters.h"
#include "common/util.h"
#include "daemon/config.h"
#include "schema/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char hl_filter_help[] =
	"filters (every format; all that are given must match):\n"
	"      --pid PID        samples of process PID\n"
	"      --tid TID        samples of thread TID\n"
	"      --thread REGEX   samples of threads whose name matches REGEX\n"
	"      --from TIME      samples at or after TIME, and\n"
	"      --to TIME        before TIME: seconds since the profile's start (90, 1.5,\n"
	"                       250ms, 2m), a date and time (2024-05-01T14:00:00, local\n"
	"                       time unless it ends in Z or +HH:MM), @EPOCH seconds, or a\n"
	"                       time of day (14:05) on the day the recording started\n"
	"      --since DURATION samples of the last DURATION (90s, 30m, 1h, 2d): the same\n"
	"                       as --from @(now - DURATION)\n"
	"      --service NAME   samples of processes of service NAME (`hotloop daemon`\n"
	"                       stores: the systemd unit, container:ID or executable name)\n"
	"      --gil            samples of threads holding the GIL\n"
	"      --no-gil         samples of Python threads not holding it\n"
	"      --focus REGEX    samples whose stack has a function matching REGEX\n"
	"      --ignore REGEX   samples whose stack has no function matching REGEX\n"
	"      --profile ID     samples of profile ID (profile.id in the file)\n"
	"views (default: mixed: Python, native and kernel frames; the interpreter's\n"
	"eval-loop frames replaced by the Python frames they run):\n"
	"      --python-only    Python frames only; time in C goes to the Python frame above\n"
	"      --native-only    native and kernel frames only (the C view)\n"
	"REGEX: POSIX extended, unanchored; --focus/--ignore match function labels as\n"
	"top prints them (\"name (file:line)\", \"name (file.c:line) [module]\").\n";

static int usage(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "hotloop %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return -EINVAL;
}

static void add_label(struct hl_filter_label *l, const char *name, const char *value)
{
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof(l->text) - len, "%s%s%s%s", len ? ", " : "", name,
		 value ? " " : "", value ? value : "");
}

int hl_filter_option(const char *cmd, int opt, const char *arg, struct hl_report_filter *f,
		     struct hl_filter_label *label)
{
	uint64_t value;

	switch (opt) {
	case HL_OPT_PID:
		if (hl_parse_u64(arg, 10, 1, UINT32_MAX, &value))
			return usage(cmd, "--pid wants a process id, not '%s'", arg);
		f->has_pid = true;
		f->pid = (uint32_t)value;
		add_label(label, "pid", arg);
		return 0;
	case HL_OPT_TID:
		if (hl_parse_u64(arg, 10, 1, UINT32_MAX, &value))
			return usage(cmd, "--tid wants a thread id, not '%s'", arg);
		f->has_tid = true;
		f->tid = (uint32_t)value;
		add_label(label, "tid", arg);
		return 0;
	case HL_OPT_PROFILE:
		if (hl_parse_u64(arg, 10, 1, INT64_MAX, &value))
			return usage(cmd, "--profile wants a profile id, not '%s'", arg);
		f->profile_id = (int64_t)value;
		add_label(label, "profile", arg);
		return 0;
	case HL_OPT_THREAD:
		f->thread_regex = arg;
		add_label(label, "thread", arg);
		return 0;
	case HL_OPT_FROM:
	case HL_OPT_TO:
		if (hl_time_bound_parse(arg, opt == HL_OPT_FROM ? &f->from : &f->to))
			return usage(
			    cmd,
			    "--from/--to want seconds since the start (90, 1.5, 250ms, 2m), "
			    "a date and time (2024-05-01T14:00:00[Z]), @EPOCH or a time of "
			    "day (14:05), not '%s'",
			    arg);
		add_label(label, opt == HL_OPT_FROM ? "from" : "to", arg);
		return 0;
	case HL_OPT_SINCE: {
		uint64_t ns;

		if (hl_parse_duration_ns(arg, &ns))
			return usage(cmd, "--since wants a duration (90s, 30m, 1h, 2d), not '%s'",
				     arg);
		f->from.kind = HL_TIME_ABSOLUTE;
		f->from.value = (int64_t)((hl_now_realtime_ns() - HL_MIN(ns, hl_now_realtime_ns())) /
					  1000);
		add_label(label, "since", arg);
		return 0;
	}
	case HL_OPT_SERVICE:
		f->service = arg;
		add_label(label, "service", arg);
		return 0;
	case HL_OPT_FOCUS:
		f->focus = arg;
		add_label(label, "focus", arg);
		return 0;
	case HL_OPT_IGNORE:
		f->ignore = arg;
		add_label(label, "ignore", arg);
		return 0;
	case HL_OPT_PYTHON_ONLY:
	case HL_OPT_NATIVE_ONLY: {
		enum hl_view v = opt == HL_OPT_PYTHON_ONLY ? HL_VIEW_PYTHON : HL_VIEW_NATIVE;

		if (f->view != HL_VIEW_MIXED && f->view != v)
			return usage(cmd, "%s",
				     "--python-only and --native-only exclude each other");
		f->view = v;
		add_label(label, v == HL_VIEW_PYTHON ? "python-only" : "native-only", NULL);
		return 0;
	}
	case HL_OPT_GIL:
	case HL_OPT_NO_GIL: {
		int state = opt == HL_OPT_GIL ? HL_STATE_GIL : HL_STATE_NO_GIL;

		if (f->has_state && f->state != state)
			return usage(cmd, "%s", "--gil and --no-gil exclude each other");
		f->has_state = true;
		f->state = state;
		add_label(label, opt == HL_OPT_GIL ? "gil" : "no-gil", NULL);
		return 0;
	}
	}
	return usage(cmd, "%s", "internal error: unknown filter option");
}

int hl_filter_finish(const char *cmd, const struct hl_report_filter *f)
{
	char err[256];

	if (hl_report_filter_check(f, err, sizeof(err)))
		return usage(cmd, "%s (REGEX is a POSIX extended regular expression)", err);
	if (f->from.kind == f->to.kind && f->from.kind != HL_TIME_NONE &&
	    f->from.value >= f->to.value)
		return usage(cmd, "%s", "--from must come before --to: the window is empty");
	return 0;
}
