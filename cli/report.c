/* cli/report.c — `hotloop report`: print or export a recorded profile.
 *
 * Parses the options, opens the store read-only (it may still be recording: WAL), loads the
 * model with the filters (report/profile.h) and hands it to the chosen format
 * (report/report.h).  The output file is created only once the input has loaded, so a bad
 * input never truncates a previous report.  docs/formats.md specifies the output formats.
 */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "common/log.h"
#include "common/util.h"
#include "report/profile.h"
#include "report/report.h"
#include "schema/store.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	const struct hl_report_format *formats;
	size_t nr, i;

	formats = hl_report_formats(&nr);
	fprintf(out,
		"usage: hotloop report FILE [--format FORMAT] [-o OUT] [--pid PID] [--tid TID]\n"
		"                      [--profile ID] [-n ROWS]\n\n"
		"Print or export the samples recorded in FILE (it may still be recording).\n"
		"Every profile in FILE is reported together unless --profile picks one.\n\n"
		"options:\n"
		"  -f, --format FORMAT  output format, one of:\n");
	for (i = 0; i < nr; i++)
		fprintf(out, "         %-7s %s\n", formats[i].name, formats[i].summary);
	fprintf(out,
		"  -o, --output OUT     write to OUT instead of stdout (mode 0644; an existing\n"
		"                       OUT is replaced, a symbolic link is refused)\n"
		"  -n, --rows ROWS      top: functions to list (default %d, 0 for all)\n"
		"      --pid PID        only samples of process PID\n"
		"      --tid TID        only samples of thread TID\n"
		"      --profile ID     only profile ID (profile.id in FILE)\n"
		"  -h, --help           show this help\n\n"
		"examples:\n"
		"  hotloop report app.db\n"
		"  hotloop report app.db -n 50 --pid 1234\n"
		"  hotloop report app.db --format folded -o app.folded\n"
		"  hotloop report app.db --format folded | flamegraph.pl > app.svg\n"
		"  hotloop report app.db --format folded | inferno-flamegraph > app.svg\n\n"
		"Filters that match no sample give an empty report and a note on stderr.\n"
		"Exit status: 0 success (also for an empty report), 2 error (FILE missing,\n"
		"foreign, damaged or from a newer hotloop; OUT not writable), 64 usage.\n"
		"docs/formats.md describes the formats.\n",
		HL_TOP_DEFAULT_ROWS);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "hotloop report: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: hotloop report FILE [--format FORMAT] [-o OUT] [--pid PID] "
			"[--tid TID] [--profile ID] [-n ROWS]\n"
			"'hotloop report --help' explains the options.\n");
	return HL_EXIT_USAGE;
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

/* "pid 1234, tid 1235": how the filters read in top's header and in notes. */
static void append_label(char *label, size_t size, const char *name, int64_t value)
{
	size_t len = strlen(label);

	snprintf(label + len, size - len, "%s%s %" PRId64, len ? ", " : "", name, value);
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

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"rows", required_argument, NULL, 'n'},
		{"pid", required_argument, NULL, 'P'},
		{"tid", required_argument, NULL, 'T'},
		{"profile", required_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hl_report_options options = {.rows = HL_TOP_DEFAULT_ROWS};
	struct hl_report_filter filter = {0};
	const struct hl_report_format *format = hl_report_format_find("top");
	const char *path, *output = NULL;
	char filter_label[96] = "";
	struct hl_profile *profile;
	struct hl_store *store;
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
			break;
		case 'P':
			if (hl_parse_u64(optarg, 10, 1, UINT32_MAX, &value))
				return usage_error("--pid wants a process id, not '%s'", optarg);
			filter.has_pid = true;
			filter.pid = (uint32_t)value;
			break;
		case 'T':
			if (hl_parse_u64(optarg, 10, 1, UINT32_MAX, &value))
				return usage_error("--tid wants a thread id, not '%s'", optarg);
			filter.has_tid = true;
			filter.tid = (uint32_t)value;
			break;
		case 'I':
			if (hl_parse_u64(optarg, 10, 1, INT64_MAX, &value))
				return usage_error("--profile wants a profile id, not '%s'",
						   optarg);
			filter.profile_id = (int64_t)value;
			break;
		case 'h':
			usage(stdout);
			return HL_EXIT_OK;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("%s", "which profile? give the FILE written by hotloop record");
	if (optind + 1 < argc)
		return usage_error("one FILE at a time ('%s' is extra)", argv[optind + 1]);
	path = argv[optind];

	if (filter.profile_id)
		append_label(filter_label, sizeof(filter_label), "profile", filter.profile_id);
	if (filter.has_pid)
		append_label(filter_label, sizeof(filter_label), "pid", filter.pid);
	if (filter.has_tid)
		append_label(filter_label, sizeof(filter_label), "tid", filter.tid);
	if (*filter_label)
		options.filter_label = filter_label;

	store = hl_store__open(path, HL_STORE_READONLY);
	if (!store)
		return HL_EXIT_ERROR; /* hl_store__open said why */
	profile = hl_profile__load(store, &filter);
	if (!profile)
		goto out_close_store;
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
	hl_profile__free(profile);
out_close_store:
	hl_store__close(store);
	return ret;
}
