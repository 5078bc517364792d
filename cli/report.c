/* cli/report.c — `hotloop report`: print or export a recorded profile.
 *
 * Parses the options, opens the store read-only (it may still be recording: WAL), loads the
 * model with the filters (report/profile.h) and hands it to the chosen format
 * (report/report.h).  The output file is created only once the input has loaded, so a bad
 * input never truncates a previous report.  docs/formats.md specifies the output formats.
 */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "cli/filters.h"
#include "common/log.h"
#include "common/util.h"
#include "report/candidates.h"
#include "report/profile.h"
#include "report/report.h"
#include "schema/store.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYNOPSIS                                                                               \
	"usage: hotloop report FILE [--format FORMAT] [-o OUT] [-n ROWS] [--min-percent PCT]\n"  \
	"                      [--function REGEX] [--title TEXT] [filters] [--python-only|\n"    \
	"                      --native-only]\n"

static void usage(FILE *out)
{
	const struct hl_report_format *formats;
	size_t nr, i;

	formats = hl_report_formats(&nr);
	fprintf(out,
		SYNOPSIS "\n"
		"Print or export the samples recorded in FILE (it may still be recording).\n"
		"Every profile in FILE is reported together unless --profile picks one.\n\n"
		"options:\n"
		"  -f, --format FORMAT  output format (default top, also when stdout is not a\n"
		"                       terminal), one of:\n");
	for (i = 0; i < nr; i++)
		fprintf(out, "         %-10s %s\n", formats[i].name, formats[i].summary);
	fprintf(out,
		"  -o, --output OUT     write to OUT instead of stdout (mode 0644; an existing\n"
		"                       OUT is replaced, a symbolic link is refused); pprof is\n"
		"                       binary and is not written to a terminal\n"
		"  -n, --rows ROWS      top: functions to list (default %d); lines: functions\n"
		"                       to detail (default %d); 0 for all\n"
		"      --min-percent PCT  tree: leave out call paths below PCT%% of the samples\n"
		"                       (default %.1f)\n"
		"      --function REGEX lines: detail the functions whose label matches REGEX\n"
		"      --title TEXT     svg, html, speedscope: the title (default: FILE)\n"
		"  -h, --help           show this help\n\n"
		"%s\n"
		"examples:\n"
		"  hotloop report app.db\n"
		"  hotloop report app.db -n 50 --pid 1234 --no-gil\n"
		"  hotloop report app.db --format html -o app.html\n"
		"  hotloop report app.db --format tree --python-only --focus handle_request\n"
		"  hotloop report app.db --format lines --function '^Store\\._match'\n"
		"  hotloop report app.db -f pprof -o app.pb.gz; go tool pprof -top app.pb.gz\n"
		"  hotloop report app.db --format folded | flamegraph.pl > app.svg\n\n"
		"Filters that match no sample give an empty report and a note on stderr.\n"
		"Exit status: 0 success (also for an empty report), 2 error (FILE missing,\n"
		"foreign, damaged or from a newer hotloop; OUT not writable), 64 usage.\n"
		"docs/formats.md describes the formats.\n",
		HL_TOP_DEFAULT_ROWS, HL_LINES_DEFAULT_FUNCTIONS, HL_TREE_DEFAULT_MIN_PERCENT,
		hl_filter_help);
}

static int usage_hint(void)
{
	return hl_usage_hint("report", SYNOPSIS);
}

static int usage_error(const char *fmt, const char *arg)
{
	return hl_usage_error("report", SYNOPSIS, fmt, arg);
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Says on stderr why the report is empty, listing the pids the file does have. */
static void explain_empty(const struct hl_profile *profile, const char *path,
			  const char *filter_label)
{
	size_t nr, i, n = 0;
	const struct hl_rthread *threads = hl_profile__threads(profile, &nr);
	uint32_t *pids = calloc(nr ? nr : 1, sizeof(*pids));
	char list[256] = "";
	size_t used = 0;

	if (!filter_label) {
		hl_warn("%s holds no samples: the recording may have stopped before its first "
			"commit, or the target was idle",
			path);
		free(pids);
		return;
	}
	if (pids) {
		for (i = 0; i < nr; i++)
			pids[i] = threads[i].pid;
		qsort(pids, nr, sizeof(*pids), compare_u32);
		for (i = 0; i < nr && used < sizeof(list) - 16; i++) {
			if (i && pids[i] == pids[i - 1])
				continue;
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%" PRIu32,
						 n++ ? ", " : "", pids[i]);
		}
	}
	hl_warn("no samples in %s match %s%s%s%s: the report is empty", path, filter_label,
		n ? " (processes in the file: " : "", list, n ? ")" : "");
	free(pids);
}

static int finish_output(FILE *out, const char *name)
{
	int failed = fflush(out) != 0 || ferror(out);
	int saved = errno;

	if (out != stdout && fclose(out))
		failed = 1, saved = errno;
	if (failed) {
		hl_err("writing %s failed: %s: check free space and permissions", name,
		       strerror(saved));
		return -EIO;
	}
	return 0;
}

enum { OPT_MIN_PERCENT = 0x2000, OPT_FUNCTION, OPT_TITLE };

/* The candidates panel of the HTML page: `hotloop candidates --json` of the same samples, or
 * NULL (no panel) when the analysis fails — the page is still written. */
static const char *candidates_json(struct hl_store *store, const struct hl_report_filter *filter,
				   char **buf)
{
	size_t len = 0;
	FILE *f = open_memstream(buf, &len);
	int err;

	if (!f)
		return NULL;
	err = hl_candidates_write(store, filter, HL_CANDIDATES_DEFAULT_ROWS, true, f);
	if (fclose(f) || err || !len) {
		hl_err("the HTML page has no candidates panel: the analysis failed");
		free(*buf);
		*buf = NULL;
	}
	return *buf;
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"rows", required_argument, NULL, 'n'},
		{"min-percent", required_argument, NULL, OPT_MIN_PERCENT},
		{"function", required_argument, NULL, OPT_FUNCTION},
		{"title", required_argument, NULL, OPT_TITLE},
		{"help", no_argument, NULL, 'h'},
		HL_FILTER_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct hl_report_options options = {.min_percent = HL_TREE_DEFAULT_MIN_PERCENT};
	struct hl_report_filter filter = {0};
	struct hl_filter_label filter_label = {{0}};
	const struct hl_report_format *format = hl_report_format_find("top");
	const char *path, *output = NULL;
	struct hl_profile *profile;
	struct hl_store *store;
	char *candidates = NULL;
	bool rows_given = false;
	FILE *out = stdout;
	uint64_t value;
	int opt, err, ret = HL_EXIT_ERROR;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":f:o:n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			format = hl_report_format_find(optarg);
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
			rows_given = true;
			break;
		case OPT_MIN_PERCENT:
			if (hl_parse_double(optarg, 0, 100, &options.min_percent))
				return usage_error(
				    "--min-percent wants a percentage (0-100), not '%s'", optarg);
			break;
		case OPT_FUNCTION:
			options.function = optarg;
			break;
		case OPT_TITLE:
			options.title = optarg;
			break;
		case 'h':
			usage(stdout);
			return HL_EXIT_OK;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		case '?':
			return usage_error("unknown option '%s'", argv[optind - 1]);
		default:
			if (hl_filter_option("report", opt, optarg, &filter, &filter_label))
				return usage_hint();
			break;
		}
	}
	if (optind >= argc)
		return usage_error("%s", "which profile? give the FILE written by hotloop record");
	if (optind + 1 < argc)
		return usage_error("one FILE at a time ('%s' is extra)", argv[optind + 1]);
	path = argv[optind];
	if (hl_filter_finish("report", &filter))
		return usage_hint();
	if (options.function) {
		struct hl_report_filter check = {.focus = options.function};
		char why[256];

		if (hl_report_filter_check(&check, why, sizeof(why)))
			return usage_error("--function is not a valid regular expression: '%s'",
					   options.function);
	}
	if (!rows_given)
		options.rows = strcmp(format->name, "lines") ? HL_TOP_DEFAULT_ROWS
							    : HL_LINES_DEFAULT_FUNCTIONS;
	if (*filter_label.text)
		options.filter_label = filter_label.text;
	if (!options.title)
		options.title = path;
	if (format->binary && !output && isatty(STDOUT_FILENO))
		return usage_error("%s is binary: write it with -o OUT or redirect stdout",
				   format->name);

	store = hl_store__open(path, HL_STORE_READONLY);
	if (!store)
		return HL_EXIT_ERROR; /* hl_store__open said why */
	profile = hl_profile__load(store, &filter);
	if (!profile)
		goto out_close_store;
	if (!strcmp(format->name, "html"))
		options.candidates = candidates_json(store, &filter, &candidates);
	if (output) {
		out = hl_create_output(output);
		if (!out) {
			if (errno == ELOOP)
				hl_err("cannot create %s: it is a symbolic link, which hotloop "
				       "does not write through (one in a shared directory could "
				       "redirect the write): give another name",
				       output);
			else
				hl_err("cannot create %s: %s: check the directory and permissions",
				       output, strerror(errno));
			goto out_free_profile;
		}
	}
	err = format->write(profile, &options, out);
	if (err)
		hl_err("writing the %s report failed: %s", format->name, strerror(-err));
	if (finish_output(out, output ? output : "stdout") || err)
		goto out_free_profile;
	if (!hl_profile__summary(profile)->selected)
		explain_empty(profile, path, options.filter_label);
	ret = HL_EXIT_OK;

out_free_profile:
	free(candidates);
	hl_profile__free(profile);
out_close_store:
	hl_store__close(store);
	return ret;
}
