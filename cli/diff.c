/* cli/diff.c — `hotloop diff BASE HEAD`: compare two profiles per function, for CI.
 *
 * Loads both stores with the same filters and view (cli/filters.h), compares them
 * (report/diff.h) and writes the chosen format.  Exit status: 0 no significant regression,
 * 1 a function's share grew significantly beyond the threshold, 2 error, 64 usage.
 * docs/formats.md ("diff") specifies the outputs and the test.
 */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "cli/filters.h"
#include "common/log.h"
#include "common/util.h"
#include "report/diff.h"
#include "report/profile.h"
#include "schema/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS                                                                               \
	"usage: hotloop diff BASE HEAD [--format FORMAT] [-o OUT] [--threshold PP]\n"           \
	"                    [--significance P] [-n ROWS] [filters]\n"                              \
	"                    [--python-only (default)|--mixed|--native-only]\n"

static void usage(FILE *out)
{
	const struct hl_diff_format *formats;
	size_t nr, i;

	formats = hl_diff_formats(&nr);
	fprintf(out,
		SYNOPSIS "\n"
		"Compare two profiles (e.g. a benchmark recorded on the base and on the head of\n"
		"a pull request) per function: each function's self and total share of its\n"
		"profile's samples, matched by (qualname, file) for Python, (name, library) for\n"
		"native code, so moved lines do not matter.  A change counts when the share\n"
		"moved by more than the threshold and a statistical test on the sample counts\n"
		"says so (Agresti-Caffo z test against the threshold, Holm correction over all\n"
		"functions).\n\n"
		"By default functions are compared in the Python view (--python-only: time in C\n"
		"counted in the Python function that called it): the self shares of the\n"
		"interpreter's own C functions (allocator, thread-state access) move by 1-3\n"
		"points between two runs of an unchanged program, real time that a test on\n"
		"sample counts would flag.  --mixed compares every frame kind, --native-only the\n"
		"C view.\n\n"
		"options:\n"
		"  -f, --format FORMAT  one of:\n");
	for (i = 0; i < nr; i++)
		fprintf(out, "         %-9s %s\n", formats[i].name, formats[i].summary);
	fprintf(out,
		"  -o, --output OUT     write to OUT instead of stdout\n"
		"      --threshold PP   percentage points of share a function must grow by to\n"
		"                       fail the gate (default %.2f)\n"
		"      --significance P family-wise significance level (default %g)\n"
		"  -n, --rows ROWS      text, markdown: rows per section (default %d, 0: all)\n"
		"      --mixed          compare Python, native and kernel functions (the report's\n"
		"                       default view) instead of the Python view\n"
		"  -h, --help           show this help\n\n"
		"%s\n"
		"examples:\n"
		"  hotloop diff base.db head.db\n"
		"  hotloop diff base.db head.db --format markdown -o comment.md\n"
		"  hotloop diff base.db head.db --threshold 1 --mixed -f html -o d.html\n"
		"  hotloop diff d.db d.db --base-since 2h --base-to @$(date -d '1 hour ago' +%%s)\\\n"
		"      --since 1h                       (one daemon store, two time ranges)\n"
		"  hotloop diff d.db d.db --base-service a.service --service b.service\n"
		"base-only filters (the others apply to both; these replace them for BASE):\n"
		"      --base-from TIME, --base-to TIME, --base-since DURATION, --base-service NAME\n\n"
		"Exit status: 0 no significant regression, 1 a function's share grew\n"
		"significantly beyond the threshold, 2 error, 64 usage.\n",
		HL_DIFF_DEFAULT_THRESHOLD, HL_DIFF_DEFAULT_SIGNIFICANCE, HL_DIFF_DEFAULT_ROWS,
		hl_filter_help);
}

static int usage_hint(void)
{
	return hl_usage_hint("diff", SYNOPSIS);
}

static int usage_error(const char *fmt, const char *arg)
{
	return hl_usage_error("diff", SYNOPSIS, fmt, arg);
}

enum {
	OPT_THRESHOLD = 0x2000,
	OPT_SIGNIFICANCE,
	OPT_MIXED,
	/* Filters of BASE alone, so one daemon store compares with itself: two time ranges
	 * (--base-from/--base-to against --from/--to) or two services. */
	OPT_BASE_FROM,
	OPT_BASE_TO,
	OPT_BASE_SINCE,
	OPT_BASE_SERVICE,
};

/* The base-only option @opt as the shared filter option it mirrors. */
static int base_option(int opt)
{
	return opt == OPT_BASE_FROM	? HL_OPT_FROM
	       : opt == OPT_BASE_TO	? HL_OPT_TO
	       : opt == OPT_BASE_SINCE ? HL_OPT_SINCE
					: HL_OPT_SERVICE;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"rows", required_argument, NULL, 'n'},
		{"threshold", required_argument, NULL, OPT_THRESHOLD},
		{"significance", required_argument, NULL, OPT_SIGNIFICANCE},
		{"mixed", no_argument, NULL, OPT_MIXED},
		{"help", no_argument, NULL, 'h'},
		{"base-from", required_argument, NULL, OPT_BASE_FROM},
		{"base-to", required_argument, NULL, OPT_BASE_TO},
		{"base-since", required_argument, NULL, OPT_BASE_SINCE},
		{"base-service", required_argument, NULL, OPT_BASE_SERVICE},
		HL_FILTER_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct hl_diff_options options = {
		.threshold = HL_DIFF_DEFAULT_THRESHOLD,
		.significance = HL_DIFF_DEFAULT_SIGNIFICANCE,
		.rows = HL_DIFF_DEFAULT_ROWS,
	};
	const struct hl_diff_format *format = hl_diff_format_find("text");
	struct hl_report_filter filter = {0}, base_only = {0}, base_filter;
	struct hl_filter_label label = {{0}}, base_label = {{0}};
	bool base_from = false, base_to = false, base_service = false;
	char combined_label[sizeof(label.text) * 2 + 16];
	struct hl_store *store[2] = {NULL, NULL};
	struct hl_profile *profile[2] = {NULL, NULL};
	const char *output = NULL;
	struct hl_diff d = {0};
	FILE *out = stdout;
	bool mixed = false;
	uint64_t value;
	int opt, err, i, ret = HL_EXIT_ERROR;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":f:o:n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			format = hl_diff_format_find(optarg);
			if (!format)
				return usage_error("unknown format '%s'", optarg);
			break;
		case 'o':
			output = optarg;
			break;
		case 'n':
			if (hl_parse_u64(optarg, 10, 0, SIZE_MAX, &value))
				return usage_error("-n wants a number of rows (0: all), not '%s'",
						   optarg);
			options.rows = (size_t)value;
			break;
		case OPT_THRESHOLD:
			if (hl_parse_double(optarg, 0, 100, &options.threshold))
				return usage_error("--threshold wants percentage points (0-100), "
						   "not '%s'",
						   optarg);
			break;
		case OPT_SIGNIFICANCE:
			if (hl_parse_double(optarg, 1e-300, 0.5, &options.significance))
				return usage_error(
				    "--significance wants a probability in (0, 0.5], "
				    "not '%s'",
				    optarg);
			break;
		case OPT_MIXED:
			mixed = true;
			break;
		case OPT_BASE_FROM:
		case OPT_BASE_TO:
		case OPT_BASE_SINCE:
		case OPT_BASE_SERVICE:
			if (hl_filter_option("diff", base_option(opt), optarg, &base_only,
					     &base_label))
				return usage_hint();
			base_from |= opt == OPT_BASE_FROM || opt == OPT_BASE_SINCE;
			base_to |= opt == OPT_BASE_TO;
			base_service |= opt == OPT_BASE_SERVICE;
			break;
		case 'h':
			usage(stdout);
			return HL_EXIT_OK;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		case '?':
			return usage_error("unknown option '%s'", argv[optind - 1]);
		default:
			if (hl_filter_option("diff", opt, optarg, &filter, &label))
				return usage_hint();
			break;
		}
	}
	if (argc - optind != 2)
		return usage_error("%s", argc - optind < 2 ? "give two files: BASE HEAD"
							   : "give two files only: BASE HEAD");
	base_filter = filter;
	if (base_from)
		base_filter.from = base_only.from;
	if (base_to)
		base_filter.to = base_only.to;
	if (base_service)
		base_filter.service = base_only.service;
	if (hl_filter_finish("diff", &filter) || hl_filter_finish("diff", &base_filter))
		return usage_hint();
	if (mixed && filter.view != HL_VIEW_MIXED)
		return usage_error("%s", "--mixed excludes --python-only and --native-only");
	if (!mixed && filter.view == HL_VIEW_MIXED)
		filter.view = base_filter.view = HL_VIEW_PYTHON;
	options.names[0] = argv[optind];
	options.names[1] = argv[optind + 1];
	options.view = filter.view;
	if (*base_label.text) {
		/* Both labels in one: "base: from 14:00, to 14:10; both: ...". */
		snprintf(combined_label, sizeof(combined_label), "base: %s%s%s", base_label.text,
			 *label.text ? "; both: " : "", label.text);
		options.filter_label = combined_label;
	} else if (*label.text) {
		options.filter_label = label.text;
	}

	for (i = 0; i < 2; i++) {
		store[i] = hl_store__open(options.names[i], HL_STORE_READONLY);
		if (!store[i])
			goto out_free; /* hl_store__open said why */
		profile[i] = hl_profile__load(store[i], i ? &filter : &base_filter);
		if (!profile[i])
			goto out_free;
		if (!hl_profile__summary(profile[i])->selected)
			hl_warn("%s has no samples%s: every function shows as %s", options.names[i],
				options.filter_label ? " that pass the filters" : "",
				i ? "removed" : "added");
	}
	err = hl_diff__compute(&d, profile[0], profile[1], &options);
	if (err) {
		hl_err("comparing %s with %s failed: %s", options.names[0], options.names[1],
		       strerror(-err));
		goto out_free;
	}
	if (output) {
		out = hl_create_output(output);
		if (!out) {
			hl_err("cannot create %s: %s: check the directory and permissions%s",
			       output, strerror(errno),
			       errno == ELOOP ? " (a symbolic link is refused)" : "");
			goto out_free;
		}
	}
	err = format->write(&d, out);
	if (fflush(out) || ferror(out) || (out != stdout && fclose(out)) || err) {
		hl_err("writing the %s diff failed: %s", format->name,
		       err ? strerror(-err) : "check free space and permissions");
		goto out_free;
	}
	ret = hl_diff__failed(&d) ? HL_EXIT_DEGRADED : HL_EXIT_OK;

out_free:
	hl_diff__release(&d);
	for (i = 0; i < 2; i++) {
		hl_profile__free(profile[i]);
		hl_store__close(store[i]);
	}
	return ret;
}
