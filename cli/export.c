/* cli/export.c — `hotloop export`: one pprof file per window of a daemon store, for fleet
 * backends that ingest pprof (Pyroscope, Parca).
 *
 * Picks the windows (all of them, those in --since/--from/--to, or the one --window names),
 * loads each window's samples through the report model with the other filters (--service,
 * --pid, ...) and writes it with the pprof format of `hotloop report`.  Not responsible for
 * uploading: a fleet points its agent or a cron job at the directory.
 */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "cli/filters.h"
#include "common/log.h"
#include "common/util.h"
#include "report/profile.h"
#include "report/report.h"
#include "schema/store.h"

#include <errno.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: hotloop export DB --format pprof -o DIR [--window ID|TIME] [filters]\n"
		"\n"
		"Writes one gzipped pprof profile per window of a `hotloop daemon` store into DIR\n"
		"(created if missing), named <start, UTC>-w<window id>.pb.gz.  Without --window,\n"
		"every window that starts inside --from/--to/--since (default: all).\n"
		"\n"
		"  -f, --format pprof    the only format (what Pyroscope and Parca ingest)\n"
		"  -o, --output DIR      where the files go\n"
		"      --window ID|TIME  one window: its id (window.id), or the window holding TIME\n"
		"                        (a date and time or @EPOCH, as --from takes)\n"
		"\n%s\n"
		"examples:\n"
		"  hotloop export /var/lib/hotloop/hotloop.db -f pprof -o /tmp/pprof --since 1h\n"
		"  hotloop export d.db -f pprof -o out --window 42 --service api.service\n",
		hl_filter_help);
}

static int usage_error(const char *fmt, const char *arg)
{
	return hl_usage_error("export", "", fmt, arg);
}

static int64_t bound_us(const struct hl_time_bound *b, int64_t fallback)
{
	/* Relative and time-of-day bounds depend on a profile: for windows, absolute only. */
	return b->kind == HL_TIME_ABSOLUTE ? b->value : fallback;
}

static int export_window(struct hl_store *store, const struct hl_report_filter *base,
			 const char *dir, int64_t id, int64_t profile_id, int64_t start_ns,
			 int64_t time_us, unsigned *written)
{
	const struct hl_report_format *pprof = hl_report_format_find("pprof");
	struct hl_report_filter f = *base;
	struct hl_report_options options = {.title = "hotloop daemon window"};
	struct hl_profile *profile;
	char path[4096], stamp[32];
	time_t t = (time_t)(start_ns / 1000000000);
	struct tm tm;
	FILE *out;
	int err;

	/* The window's rows all carry its time_us: select exactly them. */
	f.profile_id = profile_id;
	f.from = (struct hl_time_bound){.kind = HL_TIME_RELATIVE, .value = time_us};
	f.to = (struct hl_time_bound){.kind = HL_TIME_RELATIVE, .value = time_us + 1};
	profile = hl_profile__load(store, &f);
	if (!profile)
		return -errno;
	if (!hl_profile__summary(profile)->selected) {
		hl_profile__free(profile);
		return 0; /* nothing passed the filters: no empty file */
	}
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(path, sizeof(path), "%s/%s-w%lld.pb.gz", dir, stamp, (long long)id);
	out = hl_create_output(path);
	if (!out) {
		err = -errno;
		hl_err("cannot create %s: %s", path, strerror(errno));
		hl_profile__free(profile);
		return err;
	}
	err = pprof->write(profile, &options, out);
	if (fflush(out) || ferror(out))
		err = err ? err : -EIO;
	if (fclose(out) && !err)
		err = -EIO;
	hl_profile__free(profile);
	if (err) {
		hl_err("writing %s failed: %s", path, strerror(-err));
		return err;
	}
	(*written)++;
	return 0;
}

int cmd_export(int argc, char **argv)
{
	enum { OPT_WINDOW = 0x3000 };
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"window", required_argument, NULL, OPT_WINDOW},
		{"help", no_argument, NULL, 'h'},
		HL_FILTER_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct hl_report_filter filter = {0};
	struct hl_filter_label label = {{0}};
	const char *dir = NULL, *window = NULL;
	struct hl_store *store;
	sqlite3_stmt *stmt = NULL;
	struct hl_time_bound at = {0};
	uint64_t window_id = 0;
	struct window_row {
		int64_t id, profile_id, start_ns, time_us;
	} *list = NULL;
	size_t windows = 0, cap = 0, i;
	unsigned written = 0;
	int opt, rc, err = 0, ret = HL_EXIT_ERROR;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (strcmp(optarg, "pprof"))
				return usage_error("--format is pprof, not '%s'", optarg);
			break;
		case 'o':
			dir = optarg;
			break;
		case OPT_WINDOW:
			window = optarg;
			break;
		case 'h':
			usage(stdout);
			return HL_EXIT_OK;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		case '?':
			return usage_error("unknown option '%s'", argv[optind - 1]);
		default:
			if (hl_filter_option("export", opt, optarg, &filter, &label))
				return HL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error("%s", "give one DB, the store of `hotloop daemon`");
	if (!dir)
		return usage_error("%s", "-o DIR: where the pprof files go");
	if (window && hl_parse_u64(window, 10, 1, INT64_MAX, &window_id) &&
	    (hl_time_bound_parse(window, &at) || at.kind != HL_TIME_ABSOLUTE))
		return usage_error("--window wants a window id or a date and time, not '%s'",
				   window);
	if ((filter.from.kind != HL_TIME_NONE && filter.from.kind != HL_TIME_ABSOLUTE) ||
	    (filter.to.kind != HL_TIME_NONE && filter.to.kind != HL_TIME_ABSOLUTE))
		return usage_error("%s", "--from/--to: give a date and time or @EPOCH (windows "
					 "are chosen by wall clock)");
	if (hl_filter_finish("export", &filter))
		return HL_EXIT_USAGE;
	store = hl_store__open(argv[optind], HL_STORE_READONLY);
	if (!store)
		return HL_EXIT_ERROR;
	if (hl_store__schema_version(store) < 3) {
		hl_err("%s has no windows: export reads stores written by `hotloop daemon` (use "
		       "`hotloop report -f pprof` for a recording)",
		       argv[optind]);
		goto out_close;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		hl_err("cannot create %s: %s", dir, strerror(errno));
		goto out_close;
	}
	rc = sqlite3_prepare_v2(hl_store__db(store),
				"SELECT id, profile_id, start_ns, time_us FROM window"
				" WHERE (?1 = 0 OR id = ?1)"
				" AND (?2 = 0 OR (start_ns <= ?2 * 1000 AND end_ns > ?2 * 1000))"
				" AND start_ns >= ?3 * 1000 AND start_ns < ?4 * 1000"
				" ORDER BY start_ns",
				-1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		hl_store__sql_error(store, rc, "listing windows");
		goto out_close;
	}
	sqlite3_bind_int64(stmt, 1, (int64_t)window_id);
	sqlite3_bind_int64(stmt, 2, at.kind == HL_TIME_ABSOLUTE ? at.value : 0);
	sqlite3_bind_int64(stmt, 3, bound_us(&filter.from, 0));
	sqlite3_bind_int64(stmt, 4, bound_us(&filter.to, INT64_MAX / 1000));
	/* The list is read whole first: loading a profile registers SQL functions, which
	 * SQLite refuses while a statement is running on the connection. */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (hl_grow((void **)&list, &cap, windows + 1, sizeof(*list))) {
			hl_err("out of memory");
			goto out_close;
		}
		list[windows++] = (struct window_row){
			sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
			sqlite3_column_int64(stmt, 2), sqlite3_column_int64(stmt, 3)};
	}
	if (rc != SQLITE_DONE) {
		hl_store__sql_error(store, rc, "listing windows");
		goto out_close;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	for (i = 0; i < windows && !err; i++)
		err = export_window(store, &filter, dir, list[i].id, list[i].profile_id,
				    list[i].start_ns, list[i].time_us, &written);
	if (err)
		goto out_close;
	if (!windows)
		hl_warn("no window of %s matches: nothing written", argv[optind]);
	fprintf(stderr, "hotloop: %u pprof files written to %s (%zu windows, those without "
			"matching samples skipped)\n",
		written, dir, windows);
	ret = HL_EXIT_OK;

out_close:
	free(list);
	sqlite3_finalize(stmt);
	hl_store__close(store);
	return ret;
}
