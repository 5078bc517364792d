/* collector/collector.h — loading the BPF sampler and running it.
 *
 * Owns the BPF skeleton, one cpu-clock perf event per online CPU with the sampler attached,
 * the fork/exec tracepoints, the `procs` map of targets and the ring buffer.  Records arrive
 * through the caller's callback, in the order the kernel wrote them per CPU.  Knows nothing
 * about Python beyond the struct hl_proc it is handed (collector/python.c fills it).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "collector/sample.h"

struct hl_collector;

struct hl_collector_opts {
	uint32_t frequency_hz;	/* samples per second per CPU while a target runs */
	uint32_t max_py_frames; /* ≤ HL_PY_MAX_FRAMES */
	size_t ringbuf_bytes;	/* power of two, ≥ 64 KiB */
	size_t wakeup_bytes;	/* wake the reader when this much is waiting (0: default) */
	bool follow_forks;
	bool python_stacks;	/* read Python frames */
	bool kernel_stacks;	/* capture the kernel stack */
	uint32_t ustack_bytes;	/* user registers and this much user stack (0: none) */
	bool report_all_execs;	/* an HL_REC_EXEC record for every exec on the host */
	uint32_t arg_frames;	/* innermost Python frames whose argument slots are sent
				   (≤ HL_ARG_FRAMES; 0: none) */
};

/* Called for each record (a struct hl_sample or struct hl_proc_event, see sample.h).  The
 * data is valid only during the call.  A non-zero return stops the current poll. */
typedef int (*hl_record_fn)(void *ctx, const void *data, size_t size);

/* Loads and attaches everything.  Returns NULL with errno set; the reason is logged with
 * what to do about it (privileges, BTF, kernel version). */
struct hl_collector *hl_collector__new(const struct hl_collector_opts *opts, hl_record_fn fn,
				       void *ctx);
/* Detaches and frees.  Accepts NULL. */
void hl_collector__free(struct hl_collector *c);

/* Adds or updates target @pid.  Returns 0 or -errno. */
int hl_collector__set_target(struct hl_collector *c, pid_t pid, const struct hl_proc *proc);
/* Removes target @pid; absent is not an error.  Returns 0 or -errno. */
int hl_collector__remove_target(struct hl_collector *c, pid_t pid);
/* Whether @pid is currently a target (the BPF side adds forked children itself). */
bool hl_collector__has_target(struct hl_collector *c, pid_t pid);

/* Changes the sampling frequency of every CPU's perf event (PERF_EVENT_IOC_PERIOD).
 * Returns 0 or -errno. */
int hl_collector__set_frequency(struct hl_collector *c, uint32_t hz);

/* A file descriptor that becomes readable when a batch of records (or a process event) is
 * waiting.  Smaller amounts are not signalled: poll with a timeout and consume anyway. */
int hl_collector__fd(struct hl_collector *c);
/* Delivers waiting records.  Returns the number delivered or -errno. */
int hl_collector__consume(struct hl_collector *c);

struct hl_collector_stats {
	uint64_t samples;	/* target samples the BPF program took */
	uint64_t ringbuf_full;	/* of those, dropped because the ring buffer was full */
	uint64_t events_lost;	/* fork/exec notifications dropped */
	uint64_t codes_sent;	/* code objects named by the sampler */
	uint64_t codes_lost;	/* ... and dropped for a full ring buffer */
	uint64_t bpf_run_ns;	/* BPF CPU time of the sampler, when kernel.bpf_stats_enabled */
	uint64_t bpf_run_count;
};
int hl_collector__stats(struct hl_collector *c, struct hl_collector_stats *out);
