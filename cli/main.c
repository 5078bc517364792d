/* cli/main.c — the hotloop binary: global options and subcommand dispatch.
 *
 * Each subcommand lives in its own cli/<name>.c and parses its own options; this file only
 * picks one.  Usage errors exit 64, other errors 2 (cli/commands.h).
 */
#include "cli/commands.h"
#include "common/log.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"record", cmd_record, "sample a command or running processes into a profile database"},
	{"report", cmd_report, "print or export a recorded profile (top, folded, ...)"},
	{"diff", cmd_diff, "compare two profiles per function; exit 1 on a significant regression"},
	{"candidates", cmd_candidates,
	 "rank hot generic Python functions by what specializing them could save"},
	{"dump", cmd_dump, "print the Python stacks (and asyncio tasks) of a running process"},
	{"daemon", cmd_daemon, "sample every CPython process on the host, always on, bounded cost"},
	{"status", cmd_status, "what the running daemon samples, its rates, store and own cost"},
	{"export", cmd_export, "write the daemon's windows as pprof files, one per window"},
	{"doctor", cmd_doctor, "check what this machine allows and how to fix what is missing"},
};

int hl_usage_error(const char *cmd, const char *synopsis, const char *fmt, const char *arg)
{
	fprintf(stderr, "hotloop %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return hl_usage_hint(cmd, synopsis);
}

int hl_usage_hint(const char *cmd, const char *synopsis)
{
	fprintf(stderr, "%s'hotloop %s --help' explains the options.\n", synopsis, cmd);
	return HL_EXIT_USAGE;
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: hotloop [--version] [-v] <command> [<args>]\n\n"
		     "A profiler for CPython services: Python, native and kernel frames in one "
		     "stack.\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nexamples:\n"
		     "  hotloop record -o app.db -- python3 app.py\n"
		     "  hotloop record -p 1234 -d 30\n"
		     "  hotloop report app.db --format top\n"
		     "\n'hotloop <command> --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	int i = 1;
	size_t c;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("hotloop %s\n", HOTLOOP_VERSION);
			return HL_EXIT_OK;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return HL_EXIT_OK;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			hl_log_set_level(hl_log_get_level() < HL_LOG_INFO ? HL_LOG_INFO
									   : HL_LOG_DEBUG);
		} else {
			fprintf(stderr, "hotloop: unknown option '%s'\n\n", argv[i]);
			usage(stderr);
			return HL_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return HL_EXIT_USAGE;
	}
	for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].run(argc - i, argv + i);
	fprintf(stderr, "hotloop: unknown command '%s'\n\n", argv[i]);
	usage(stderr);
	return HL_EXIT_USAGE;
}
