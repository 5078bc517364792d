/* cli/doctor.c — `hotloop doctor`: what this machine allows, and how to fix what it does not.
 *
 * Each check prints one line: ok, or what is missing and the command or setting that fixes
 * it.  The last check loads and attaches the real sampler, so "ok" here means `record` can
 * sample.  Exit 0 when everything record needs is there, 2 otherwise.
 */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "collector/collector.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

enum { CAP_SYS_PTRACE_BIT = 19, CAP_SYS_ADMIN_BIT = 21, CAP_PERFMON_BIT = 38, CAP_BPF_BIT = 39 };

static int failures;

static void report(bool ok, const char *what, const char *fix)
{
	printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
	if (!ok) {
		printf("         fix: %s\n", fix);
		failures++;
	}
}

static uint64_t effective_caps(void)
{
	char *text, *line;
	uint64_t caps = 0;

	if (hl_read_file("/proc/self/status", 1 << 16, &text, NULL))
		return 0;
	line = strstr(text, "\nCapEff:");
	if (line)
		caps = strtoull(line + 8, NULL, 16);
	free(text);
	return caps;
}

static long read_sysctl(const char *path, long fallback)
{
	char *text;
	long v;

	if (hl_read_file(path, 4096, &text, NULL))
		return fallback;
	v = strtol(text, NULL, 10);
	free(text);
	return v;
}

static int ignore_record(void *ctx, const void *data, size_t size)
{
	return 0;
}

int cmd_doctor(int argc, char **argv)
{
	struct hl_collector_opts opts = {.frequency_hz = 99, .max_py_frames = 64,
					 .ringbuf_bytes = 1 << 16, .python_stacks = true,
					 .kernel_stacks = true, .ustack_bytes = 4096};
	uint64_t caps = effective_caps();
	struct hl_collector *c;
	struct utsname un;
	unsigned major = 0, minor = 0;
	char line[256];
	bool bpf_caps, ptrace_cap;
	long paranoid, ptrace_scope, kptr;
	enum hl_log_level saved = hl_log_get_level();

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: hotloop doctor\n\nChecks privileges, kernel features and settings "
		       "that recording needs,\nand says how to fix what is missing.\n");
		return HL_EXIT_OK;
	}
	if (argc > 1) {
		fprintf(stderr, "hotloop doctor: no arguments expected\n");
		return HL_EXIT_USAGE;
	}
	uname(&un);
	sscanf(un.release, "%u.%u", &major, &minor);
	printf("hotloop doctor: kernel %s on %s\n", un.release, un.machine);

	snprintf(line, sizeof(line), "kernel %u.%u (5.17 or newer needed: BPF ring buffer, "
		 "bpf_loop, BTF tracepoints)", major, minor);
	report(major > 5 || (major == 5 && minor >= 17), line,
	       "upgrade the kernel to 5.17 or newer");

	report(!access("/sys/kernel/btf/vmlinux", R_OK), "kernel BTF at /sys/kernel/btf/vmlinux",
	       "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels are)");

	bpf_caps = geteuid() == 0 || (caps >> CAP_SYS_ADMIN_BIT & 1) ||
		   ((caps >> CAP_BPF_BIT & 1) && (caps >> CAP_PERFMON_BIT & 1));
	report(bpf_caps, "privileges to load BPF programs and open perf events",
	       "run as root, or give the binary CAP_BPF and CAP_PERFMON: "
	       "setcap cap_bpf,cap_perfmon,cap_sys_ptrace+ep build/hotloop");
	ptrace_cap = geteuid() == 0 || (caps >> CAP_SYS_PTRACE_BIT & 1);
	ptrace_scope = read_sysctl("/proc/sys/kernel/yama/ptrace_scope", 0);
	report(ptrace_cap || ptrace_scope == 0,
	       "permission to read target processes' memory (interpreter state, code objects)",
	       "run as root or grant CAP_SYS_PTRACE (kernel.yama.ptrace_scope is not 0)");

	paranoid = read_sysctl("/proc/sys/kernel/perf_event_paranoid", 2);
	snprintf(line, sizeof(line), "kernel.perf_event_paranoid = %ld%s", paranoid,
		 bpf_caps ? " (does not matter with CAP_PERFMON or root)" : "");
	report(bpf_caps || paranoid <= 0, line,
	       "sysctl -w kernel.perf_event_paranoid=0, or run with CAP_PERFMON");

	kptr = read_sysctl("/proc/sys/kernel/kptr_restrict", 0);
	snprintf(line, sizeof(line), "kernel.kptr_restrict = %ld (kernel symbol names need 0, "
		 "or 1 with root)", kptr);
	report(kptr == 0 || (kptr == 1 && geteuid() == 0), line,
	       "sysctl -w kernel.kptr_restrict=0 to name kernel frames");

	/* The real thing: load and attach the sampler. */
	/* The check reports the failure itself; keep libbpf's log for -v. */
	if (saved < HL_LOG_INFO)
		hl_log_set_level(HL_LOG_ERROR);
	c = hl_collector__new(&opts, ignore_record, NULL);
	hl_log_set_level(saved);
	snprintf(line, sizeof(line), "load and attach the BPF sampler%s%s", c ? "" : ": ",
		 c ? "" : strerror(errno));
	report(c != NULL, line,
	       "see the failures above; 'hotloop -v doctor' shows libbpf's own log");
	hl_collector__free(c);

	printf("%s\n", failures ? "hotloop doctor: recording will not work until the above is "
				  "fixed"
				: "hotloop doctor: this machine can record");
	return failures ? HL_EXIT_ERROR : HL_EXIT_OK;
}
