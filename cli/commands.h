/* cli/commands.h — the subcommands of the hotloop binary and its exit codes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes (DESIGN.md "cli"): scripts and CI rely on these. */
enum hl_exit {
	HL_EXIT_OK = 0,
	HL_EXIT_DEGRADED = 1, /* completed, but found a regression (diff) or lost information */
	HL_EXIT_ERROR = 2,
	HL_EXIT_USAGE = 64,
};

/* Each takes the arguments after the subcommand name (argv[0] is the subcommand) and returns
 * an enum hl_exit value. */
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_candidates(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* For a subcommand's bad usage: prints "hotloop CMD: " + @fmt (with @arg) on stderr, then
 * @synopsis (may be "") and where the help is.  Returns HL_EXIT_USAGE. */
int hl_usage_error(const char *cmd, const char *synopsis, const char *fmt, const char *arg);
/* The synopsis and where the help is, without a message.  Returns HL_EXIT_USAGE. */
int hl_usage_hint(const char *cmd, const char *synopsis);

struct hl_store;
struct hl_report_filter;
/* What `hotloop candidates` writes (text, or with @json the JSON of docs/candidates.md) for
 * the samples @filter selects, always in the mixed view; @rows listed candidates, 0 for all.
 * The HTML report embeds the same JSON for its candidates panel.  Returns 0 or -EIO (said
 * why on stderr). */
int hl_candidates_write(struct hl_store *store, const struct hl_report_filter *filter, size_t rows,
			bool json, FILE *out);
