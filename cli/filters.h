/* cli/filters.h — the sample filters and views shared by `hotloop report` and `hotloop diff`:
 * one spelling, one parser, one help text.
 *
 * A command puts HL_FILTER_LONGOPTS in its getopt_long table and hands every option it does
 * not know to hl_filter_option().
 */
#pragma once
#include "report/profile.h"

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

enum {
	HL_OPT_PID = 0x1000,
	HL_OPT_TID,
	HL_OPT_THREAD,
	HL_OPT_FROM,
	HL_OPT_TO,
	HL_OPT_FOCUS,
	HL_OPT_IGNORE,
	HL_OPT_PYTHON_ONLY,
	HL_OPT_NATIVE_ONLY,
	HL_OPT_GIL,
	HL_OPT_NO_GIL,
	HL_OPT_PROFILE,
	HL_OPT_SINCE,
	HL_OPT_SERVICE,
};

#define HL_FILTER_LONGOPTS                                                                     \
	{"pid", required_argument, NULL, HL_OPT_PID},                                          \
	{"tid", required_argument, NULL, HL_OPT_TID},                                          \
	{"thread", required_argument, NULL, HL_OPT_THREAD},                                    \
	{"from", required_argument, NULL, HL_OPT_FROM},                                        \
	{"to", required_argument, NULL, HL_OPT_TO},                                            \
	{"focus", required_argument, NULL, HL_OPT_FOCUS},                                      \
	{"ignore", required_argument, NULL, HL_OPT_IGNORE},                                    \
	{"python-only", no_argument, NULL, HL_OPT_PYTHON_ONLY},                                \
	{"native-only", no_argument, NULL, HL_OPT_NATIVE_ONLY},                                \
	{"gil", no_argument, NULL, HL_OPT_GIL},                                                \
	{"no-gil", no_argument, NULL, HL_OPT_NO_GIL},                                          \
	{"profile", required_argument, NULL, HL_OPT_PROFILE},                                  \
	{"since", required_argument, NULL, HL_OPT_SINCE},                                      \
	{"service", required_argument, NULL, HL_OPT_SERVICE}

/* The help lines of the options above. */
extern const char hl_filter_help[];

/* How the filters read in headers and notes ("pid 1234, python-only"). */
struct hl_filter_label {
	char text[512];
};

/* Handles option @opt (a value of the enum above) with @arg into @f and @label.  Returns 0,
 * or -EINVAL after printing "hotloop CMD: <why>" on stderr (a usage error). */
int hl_filter_option(const char *cmd, int opt, const char *arg, struct hl_report_filter *f,
		     struct hl_filter_label *label);
/* Checks the whole set (regular expressions compile, --from before --to, one view).  0 or
 * -EINVAL after printing why. */
int hl_filter_finish(const char *cmd, const struct hl_report_filter *f);
