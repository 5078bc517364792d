/* cli/candidates.c — `hotloop candidates FILE`: the hot Python functions whose cost is
 * interpreter genericity, with the evidence and the remedy (docs/candidates.md).
 *
 * Opens the store read-only, loads the profile in the mixed view with the sample filters
 * (cli/filters.h; the view options are refused: the analysis needs the native frames), reads
 * the recording's facts (Python version, whether native frames were recorded) and the
 * evidence stored with code objects, and hands them to report/candidates.h.
 */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "cli/filters.h"
#include "common/log.h"
#include "common/util.h"
#include "report/candidates.h"
#include "report/candidates_write.h"
#include "report/codeinfo.h"
#include "report/profile.h"
#include "schema/store.h"

#include <errno.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNOPSIS "usage: hotloop candidates FILE [--json] [-n ROWS] [-o OUT] [filters]\n"

static void usage(FILE *out)
{
	fprintf(out,
		SYNOPSIS "\n"
		"Rank the Python functions of FILE by how much CPU specializing them could save:\n"
		"the interpreter overhead (bytecode dispatch, calls, lookups, comparisons,\n"
		"iteration, allocation, boxed arithmetic) in the function, its comprehensions\n"
		"and the small functions it calls per element.  Each comes with the native\n"
		"categories of its time, its per-element calls, evidence from its bytecode and\n"
		"arguments, and a remedy: codegen, jit, cython, or not a candidate (the time is\n"
		"real work in C).  docs/candidates.md explains the score and the thresholds.\n"
		"Needs a recording in mixed mode (the default of hotloop record).\n\n"
		"options:\n"
		"      --json           JSON instead of text (every candidate, folded ones too)\n"
		"  -n, --rows ROWS      candidates to show (default %d, 0: all)\n"
		"  -o, --output OUT     write to OUT instead of stdout\n"
		"  -h, --help           show this help\n\n"
		"%s\n"
		"examples:\n"
		"  hotloop candidates app.db\n"
		"  hotloop candidates app.db --json -n 0 --pid 1234\n\n"
		"Exit status: 0 success, 2 error, 64 usage.\n",
		HL_CANDIDATES_DEFAULT_ROWS, hl_filter_help);
}

static int usage_hint(void)
{
	return hl_usage_hint("candidates", SYNOPSIS);
}

static int usage_error(const char *fmt, const char *arg)
{
	return hl_usage_error("candidates", SYNOPSIS, fmt, arg);
}

/* The Python version of the first process that has one, and whether any selected profile
 * recorded native frames. */
static int read_facts(struct hl_store *store, int64_t profile_id,
		      struct hl_candidates_facts *facts, char *version, size_t len)
{
	sqlite3 *db = hl_store__db(store);
	sqlite3_stmt *st = NULL;
	int rc;

	version[0] = '\0';
	facts->python = version;
	rc = sqlite3_prepare_v2(db,
				"SELECT python_version FROM process WHERE python_version IS NOT "
				"NULL AND (?1 = 0 OR profile_id = ?1) ORDER BY id LIMIT 1",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out_sql;
	sqlite3_bind_int64(st, 1, profile_id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		unsigned long major = 0, minor = 0;

		hl_strlcpy(version, (const char *)sqlite3_column_text(st, 0), len);
		if (sscanf(version, "%lu.%lu", &major, &minor) == 2 && major == 3 && minor < 100)
			facts->minor = (int)minor;
	}
	sqlite3_finalize(st);
	rc = sqlite3_prepare_v2(db,
				"SELECT count(*) FROM profile WHERE mode IN ('mixed', 'native') "
				"AND (?1 = 0 OR id = ?1)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out_sql;
	sqlite3_bind_int64(st, 1, profile_id);
	facts->has_native = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0;
	sqlite3_finalize(st);
	return 0;

out_sql:
	hl_err("reading the profile's facts failed: %s", sqlite3_errmsg(db));
	return -EIO;
}

int cmd_candidates(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"rows", required_argument, NULL, 'n'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		HL_FILTER_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct hl_report_filter filter = {0};
	struct hl_filter_label label = {{0}};
	struct hl_store *store;
	size_t rows = HL_CANDIDATES_DEFAULT_ROWS;
	const char *output = NULL;
	bool json = false;
	FILE *out = stdout, *mem;
	char *text = NULL;
	size_t len = 0;
	uint64_t value;
	int opt, err;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":jn:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'n':
			if (hl_parse_u64(optarg, 10, 0, SIZE_MAX, &value))
				return usage_error("-n wants a number of rows (0: all), not '%s'",
						   optarg);
			rows = (size_t)value;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			usage(stdout);
			return HL_EXIT_OK;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		case '?':
			return usage_error("unknown option '%s'", argv[optind - 1]);
		case HL_OPT_PYTHON_ONLY:
		case HL_OPT_NATIVE_ONLY:
			return usage_error("%s: candidates always use the mixed view (the native "
					   "frames under each Python function are the evidence)",
					   argv[optind - 1]);
		default:
			if (hl_filter_option("candidates", opt, optarg, &filter, &label))
				return usage_hint();
			break;
		}
	}
	if (optind >= argc)
		return usage_error("%s", "which profile? give the FILE written by hotloop record");
	if (optind + 1 < argc)
		return usage_error("one FILE at a time ('%s' is extra)", argv[optind + 1]);
	if (hl_filter_finish("candidates", &filter))
		return usage_hint();

	/* Analyzed into memory first: a failed analysis leaves no OUT behind. */
	mem = open_memstream(&text, &len);
	if (!mem)
		return HL_EXIT_ERROR;
	store = hl_store__open(argv[optind], HL_STORE_READONLY);
	err = store ? hl_candidates_write(store, &filter, rows, json, mem) : -EIO;
	hl_store__close(store);
	if (fclose(mem) || err) {
		free(text);
		return HL_EXIT_ERROR;
	}
	if (output) {
		out = hl_create_output(output);
		if (!out) {
			hl_err("cannot create %s: %s: check the directory and permissions (a "
			       "symbolic link is refused)",
			       output, strerror(errno));
			free(text);
			return HL_EXIT_ERROR;
		}
	}
	fwrite(text, 1, len, out);
	free(text);
	if (fflush(out) || ferror(out) || (out != stdout && fclose(out))) {
		hl_err("writing %s failed: %s", output ? output : "stdout", strerror(errno));
		return HL_EXIT_ERROR;
	}
	return HL_EXIT_OK;
}

int hl_candidates_write(struct hl_store *store, const struct hl_report_filter *selection,
			size_t rows, bool json, FILE *out)
{
	struct hl_report_filter filter = *selection;
	struct hl_candidates_facts facts = {0};
	struct hl_candidates_evidence ev;
	struct hl_codeinfo *code = NULL;
	struct hl_candidates *cs = NULL;
	struct hl_profile *profile = NULL;
	char version[64];
	int ret = -EIO;

	filter.view = HL_VIEW_MIXED;
	if (read_facts(store, filter.profile_id, &facts, version, sizeof(version)))
		return -EIO;
	profile = hl_profile__load(store, &filter);
	if (!profile)
		return -EIO;
	cs = hl_candidates__analyze(profile, &facts);
	if (!cs) {
		hl_err("analyzing the profile failed: %s", strerror(errno));
		goto out_free_profile;
	}
	code = hl_codeinfo__load(store, profile, cs, rows);
	if (!code) {
		hl_err("reading the bytecode evidence failed: %s", strerror(errno));
		goto out_free_candidates;
	}
	hl_codeinfo__evidence(code, &ev);
	if (json)
		hl_candidates_write_json(cs, profile, &ev, rows, out);
	else
		hl_candidates_write_text(cs, profile, &ev, rows, out);
	ret = 0;

out_free_candidates:
	hl_codeinfo__free(code);
	hl_candidates__free(cs);
out_free_profile:
	hl_profile__free(profile);
	return ret;
}
