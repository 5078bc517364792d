/* tests/unit/test_daemon_config.c — the daemon's configuration parser and service labels. */
#include "check.h"
#include "cli/session.h"
#include "daemon/config.h"
#include "daemon/labels.h"

#include <errno.h>

static void test_config(void)
{
	static const struct {
		const char *text;
		int err;
		const char *err_has; /* a piece of the message */
	} rows[] = {
		{"", 0, NULL},
		{"# only a comment\n\n   \n", 0, NULL},
		{"frequency = 99\nwindow = 30s\n", 0, NULL},
		{"frequency=0\n", -EINVAL, "line 1: frequency"},
		{"frequency = 49hz\n", -EINVAL, "frequency"},
		{"\nwindow = 0\n", -EINVAL, "line 2: window"},
		{"window = 2d\n", -EINVAL, "window"},
		{"mode = fast\n", -EINVAL, "mixed, python or native"},
		{"no equals sign\n", -EINVAL, "line 1: expected"},
		{"colour = blue\n", -EINVAL, "unknown key 'colour'"},
		{"db = relative.db\n", -EINVAL, "absolute path"},
		{"executable = (unclosed\n", -EINVAL, "regular expression"},
		{"retention_size = 10K\n", -EINVAL, "at least 64K"},
		{"retention_size = 0\nretention_age = 0\n", 0, NULL},
		{"cpu_budget = 101\n", -EINVAL, "cpu_budget"},
		{"async = maybe\n", -EINVAL, "true or false"},
		{"stack_size = 100\n", -EINVAL, "512 to 65536"},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_daemon_config cfg;
		char err[600] = "";
		int rc;

		hl_daemon_config_defaults(&cfg);
		rc = hl_daemon_config_parse(rows[i].text, strlen(rows[i].text), &cfg, err,
					    sizeof(err));
		CHECK_INT(rows[i].err, rc, rows[i].text);
		if (rows[i].err_has && !strstr(err, rows[i].err_has))
			fprintf(stderr, "message '%s' lacks '%s'\n", err, rows[i].err_has);
		CHECK(!rows[i].err_has || strstr(err, rows[i].err_has), rows[i].text);
	}
	{
		static const char text[] =
			"db = /srv/hl.db   # trailing comment\n"
			"frequency = 99\nmin_frequency = 7\nwindow = 5m\nmode = python\n"
			"async = no\nstore_cmdlines = yes\nnative_lines = on\nnon_python = native\n"
			"executable = python3\\.1[0-9]$\ncmdline = gunicorn\ncgroup = ^/system\\.slice\n"
			"unit = ^api\\.service$\ncontainer = ^[0-9a-f]+$\nretention_age = 12h\n"
			"retention_size = 500M\ncpu_budget = 0.5\nrescan_interval = 250ms\n"
			"stack_size = 16K\nmax_frames = 64\nstatus_file =\n";
		struct hl_daemon_config cfg;
		char err[600] = "";

		hl_daemon_config_defaults(&cfg);
		CHECK_INT(49, cfg.frequency_hz, "default frequency");
		CHECK_INT(60000000000LL, cfg.window_ns, "default window");
		CHECK_INT(0, cfg.native_lines, "default native_lines");
		CHECK_STR("/var/lib/hotloop/hotloop.db", cfg.db, "default db");
		CHECK_INT(0, hl_daemon_config_parse(text, strlen(text), &cfg, err, sizeof(err)), err);
		CHECK_STR("/srv/hl.db", cfg.db, "db, comment stripped");
		CHECK_INT(99, cfg.frequency_hz, "frequency");
		CHECK_INT(7, cfg.min_frequency_hz, "min_frequency");
		CHECK_INT(300000000000LL, cfg.window_ns, "window 5m");
		CHECK_INT(HL_MODE_PYTHON, cfg.mode, "mode");
		CHECK_INT(0, cfg.async_stacks, "async");
		CHECK_INT(1, cfg.store_cmdlines, "store_cmdlines");
		CHECK_INT(1, cfg.native_lines, "native_lines");
		CHECK_INT(HL_NON_PYTHON_NATIVE, cfg.non_python, "non_python");
		CHECK_STR("python3\\.1[0-9]$", cfg.executable_re, "executable");
		CHECK_STR("^api\\.service$", cfg.unit_re, "unit");
		CHECK_INT(12ULL * 3600 * 1000000000, cfg.retention_age_ns, "retention_age");
		CHECK_INT(500ULL << 20, cfg.retention_bytes, "retention_size");
		CHECK_INT(250000000, cfg.rescan_ns, "rescan_interval");
		CHECK_INT(16384, cfg.stack_bytes, "stack_size");
		CHECK_INT(64, cfg.max_frames, "max_frames");
		CHECK_STR("", cfg.status_file, "status_file empty: none");
	}
}

static void test_labels(void)
{
	static const struct {
		const char *cgroup, *exe, *want_unit, *want_container, *want_service, *want_path;
	} rows[] = {
		{"0::/system.slice/api.service\n", "/usr/bin/python3.11", "api.service", "",
		 "api.service", "/system.slice/api.service"},
		{"0::/user.slice/user-1000.slice/user@1000.service/app.slice/web.service\n", "/x",
		 "web.service", "", "web.service", NULL},
		{"0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
		 "/usr/bin/python3", "", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		 "container:0123456789ab", NULL},
		{"0::/kubepods/burstable/pod1/abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd\n",
		 "/p", "", "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd",
		 "container:abcdefabcdef", NULL},
		{"0::/\n", "/usr/local/bin/python3.12", "", "", "python3.12", "/"},
		/* cgroup v1 / hybrid: the named systemd hierarchy when the unified one is the root */
		{"9:name=systemd:/system.slice/cron.service\n4:memory:/x\n0::/\n", "/bin/sh",
		 "cron.service", "", "cron.service", "/system.slice/cron.service"},
		{"0::/user.slice/session-3.scope\n", "/bin/py", "session-3.scope", "", "session-3.scope",
		 NULL},
		/* garbage: no crash, falls back to the executable */
		{"no colons at all\n::\n:::::\n", "/opt/app/bin/worker", "", "", "worker", NULL},
		{"", NULL, "", "", "", ""},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hl_labels l;

		hl_labels_parse(rows[i].cgroup, strlen(rows[i].cgroup), rows[i].exe, &l);
		CHECK_STR(rows[i].want_unit, l.unit, rows[i].cgroup);
		CHECK_STR(rows[i].want_container, l.container, rows[i].cgroup);
		CHECK_STR(rows[i].want_service, l.service, rows[i].cgroup);
		if (rows[i].want_path)
			CHECK_STR(rows[i].want_path, l.cgroup, rows[i].cgroup);
	}
}

int main(void)
{
	test_config();
	test_labels();
	return check_done();
}
