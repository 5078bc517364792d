/* collector/collector.c — see collector.h. */
#define _GNU_SOURCE
#include "collector/collector.h"
#include "common/log.h"
#include "common/util.h"

#include "sample.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct hl_collector {
	struct sample *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;
	int *perf_fds;
	int ncpus;
	hl_record_fn fn;
	void *ctx;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum hl_log_level l = level == LIBBPF_WARN ? HL_LOG_WARN
			      : level == LIBBPF_INFO ? HL_LOG_INFO
						     : HL_LOG_DEBUG;

	/* libbpf warns about every failed probe of optional features; its warnings matter
	 * only when we then fail, and we say why ourselves.  Show them with -v. */
	if (l == HL_LOG_WARN)
		l = HL_LOG_INFO;
	if (!hl_log_enabled(l))
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

static int on_ring_record(void *ctx, void *data, size_t size)
{
	struct hl_collector *c = ctx;

	if (size < sizeof(struct hl_record_header))
		return 0;
	return c->fn(c->ctx, data, size);
}

static int open_cpu_clock(int cpu, uint32_t hz)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		/* cpu-clock counts nanoseconds: a fixed period gives exactly @hz samples per
		 * second of CPU time, without the kernel's frequency-mode adjustments. */
		.sample_period = 1000000000ULL / hz,
		.disabled = 0,
	};

	return (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static void explain_load_failure(int err)
{
	if ((err == -EPERM || err == -EACCES) && geteuid() == 0)
		hl_err("the kernel refused the BPF sampler (%s) although hotloop runs as root: "
		       "lockdown, an LSM policy, or a verifier rejection.  'hotloop -v -v doctor' "
		       "shows the verifier's log.", strerror(-err));
	else if (err == -EPERM || err == -EACCES)
		hl_err("cannot load the BPF sampler: permission denied.  Run as root, or grant "
		       "CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE; 'hotloop doctor' checks this "
		       "machine.");
	else if (err == -ESRCH || err == -ENOENT || err == -EINVAL)
		hl_err("cannot load the BPF sampler (%s): the kernel needs BTF "
		       "(/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF=y) and version 5.17 or "
		       "newer; 'hotloop doctor' checks this machine.", strerror(-err));
	else
		hl_err("cannot load the BPF sampler: %s; run with -v for libbpf's log, or "
		       "'hotloop doctor'.", strerror(-err));
}

struct hl_collector *hl_collector__new(const struct hl_collector_opts *opts, hl_record_fn fn,
				       void *ctx)
{
	struct hl_collector *c;
	int err, cpu, i;

	libbpf_set_print(libbpf_print);
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->fn = fn;
	c->ctx = ctx;
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0) {
		err = c->ncpus ? c->ncpus : -ENODEV;
		goto out_free;
	}
	c->perf_fds = calloc((size_t)c->ncpus, sizeof(*c->perf_fds));
	c->links = calloc((size_t)c->ncpus, sizeof(*c->links));
	if (!c->perf_fds || !c->links) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < c->ncpus; i++)
		c->perf_fds[i] = -1;

	c->skel = sample__open();
	if (!c->skel) {
		err = -errno;
		explain_load_failure(err);
		goto out_free;
	}
	c->skel->rodata->max_py_frames =
		opts->max_py_frames && opts->max_py_frames <= HL_PY_MAX_FRAMES
			? opts->max_py_frames
			: HL_PY_MAX_FRAMES;
	c->skel->rodata->follow_forks = opts->follow_forks;
	c->skel->rodata->capture_kernel_stack = opts->kernel_stacks;
	c->skel->rodata->capture_python = opts->python_stacks;
	c->skel->rodata->ustack_bytes = HL_MIN(opts->ustack_bytes, HL_USTACK_MAX);
	c->skel->rodata->report_all_execs = opts->report_all_execs;
	c->skel->rodata->arg_frames = HL_MIN(opts->arg_frames, HL_ARG_FRAMES);
	/* One sample buffer per CPU (see `samples` in sample.bpf.c). */
	bpf_map__set_max_entries(c->skel->maps.samples, (uint32_t)c->ncpus);
	if (opts->ringbuf_bytes)
		bpf_map__set_max_entries(c->skel->maps.events, (uint32_t)opts->ringbuf_bytes);
	if (opts->wakeup_bytes)
		c->skel->rodata->wakeup_bytes = opts->wakeup_bytes;
	err = sample__load(c->skel);
	if (err) {
		explain_load_failure(err);
		goto out_free;
	}
	err = sample__attach(c->skel); /* the fork and exec tracepoints */
	if (err) {
		hl_err("cannot attach to the sched_process_fork/exec tracepoints: %s",
		       strerror(-err));
		goto out_free;
	}

	for (cpu = 0; cpu < c->ncpus; cpu++) {
		int fd = open_cpu_clock(cpu, opts->frequency_hz);

		if (fd < 0) {
			if (errno == ENODEV || errno == EINVAL)
				continue; /* possible but offline CPU */
			err = -errno;
			hl_err("perf_event_open(cpu-clock, cpu %d): %s%s", cpu, strerror(errno),
			       errno == EACCES || errno == EPERM
				       ? ": run as root or grant CAP_PERFMON"
				       : "");
			goto out_free;
		}
		c->perf_fds[cpu] = fd;
		c->links[cpu] = bpf_program__attach_perf_event(c->skel->progs.on_sample, fd);
		if (!c->links[cpu]) {
			err = -errno;
			hl_err("cannot attach the sampler to cpu %d: %s", cpu, strerror(errno));
			goto out_free;
		}
	}

	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), on_ring_record, c, NULL);
	if (!c->rb) {
		err = -errno;
		hl_err("cannot set up the BPF ring buffer: %s", strerror(errno));
		goto out_free;
	}
	return c;

out_free:
	/* hl_collector__free takes a partly built collector apart. */
	hl_collector__free(c);
	errno = -err;
	return NULL;
}

void hl_collector__free(struct hl_collector *c)
{
	int i;

	if (!c)
		return;
	ring_buffer__free(c->rb);
	for (i = 0; c->links && i < c->ncpus; i++)
		bpf_link__destroy(c->links[i]);
	for (i = 0; c->perf_fds && i < c->ncpus; i++)
		if (c->perf_fds[i] >= 0)
			close(c->perf_fds[i]);
	sample__destroy(c->skel);
	free(c->links);
	free(c->perf_fds);
	free(c);
}

int hl_collector__set_target(struct hl_collector *c, pid_t pid, const struct hl_proc *proc)
{
	uint32_t key = (uint32_t)pid;

	if (bpf_map__update_elem(c->skel->maps.procs, &key, sizeof(key), proc, sizeof(*proc),
				 BPF_ANY))
		return -errno;
	return 0;
}

int hl_collector__remove_target(struct hl_collector *c, pid_t pid)
{
	uint32_t key = (uint32_t)pid;

	if (bpf_map__delete_elem(c->skel->maps.procs, &key, sizeof(key), 0) && errno != ENOENT)
		return -errno;
	return 0;
}

bool hl_collector__has_target(struct hl_collector *c, pid_t pid)
{
	uint32_t key = (uint32_t)pid;
	struct hl_proc proc;

	return !bpf_map__lookup_elem(c->skel->maps.procs, &key, sizeof(key), &proc, sizeof(proc),
				     0);
}

int hl_collector__set_frequency(struct hl_collector *c, uint32_t hz)
{
	uint64_t period = 1000000000ULL / (hz ? hz : 1);
	int i;

	for (i = 0; i < c->ncpus; i++)
		if (c->perf_fds[i] >= 0 && ioctl(c->perf_fds[i], PERF_EVENT_IOC_PERIOD, &period))
			return -errno;
	return 0;
}

int hl_collector__fd(struct hl_collector *c)
{
	return ring_buffer__epoll_fd(c->rb);
}

int hl_collector__consume(struct hl_collector *c)
{
	return ring_buffer__consume(c->rb);
}

int hl_collector__stats(struct hl_collector *c, struct hl_collector_stats *out)
{
	uint64_t values[c->ncpus];
	uint32_t key;
	uint64_t *fields[HL_STAT_MAX] = {&out->samples, &out->ringbuf_full, &out->events_lost,
					 &out->codes_sent, &out->codes_lost};
	struct bpf_prog_info info = {};
	uint32_t info_len = sizeof(info);
	int i;

	memset(out, 0, sizeof(*out));
	for (key = 0; key < HL_STAT_MAX; key++) {
		if (bpf_map__lookup_elem(c->skel->maps.stats, &key, sizeof(key), values,
					 sizeof(values), 0))
			return -errno;
		for (i = 0; i < c->ncpus; i++)
			*fields[key] += values[i];
	}
	if (!bpf_obj_get_info_by_fd(bpf_program__fd(c->skel->progs.on_sample), &info, &info_len)) {
		out->bpf_run_ns = info.run_time_ns;
		out->bpf_run_count = info.run_cnt;
	}
	return 0;
}
