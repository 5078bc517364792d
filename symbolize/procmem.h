/* symbolize/procmem.h — reading another process's memory.
 *
 * Every read of a target goes through here: a target controls these bytes, so callers bound
 * their walks and treat every failure as "this pointer is bad", never as fatal.  Reads are
 * process_vm_readv (no ptrace stop), so the target keeps running and what we read may be
 * torn; callers validate what they read.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads exactly @len bytes at @addr.  Returns 0, or -EFAULT (unmapped or partial read),
 * -ESRCH (process gone), -EPERM (not allowed). */
int hl_procmem_read(pid_t pid, uint64_t addr, void *buf, size_t len);
int hl_procmem_read_u64(pid_t pid, uint64_t addr, uint64_t *out);
int hl_procmem_read_u32(pid_t pid, uint64_t addr, uint32_t *out);
/* Reads up to @len bytes, stopping at the first unreadable page.  Returns bytes read (≥ 0)
 * or -errno when nothing could be read. */
ssize_t hl_procmem_read_partial(pid_t pid, uint64_t addr, void *buf, size_t len);

/* One read of a batch: @len bytes at @addr into @buf; @err is set to 0 or -EFAULT. */
struct hl_procmem_req {
	uint64_t addr;
	void *buf;
	size_t len;
	int err;
};

/* Reads every request of @reqs, many per system call (process_vm_readv takes up to IOV_MAX
 * remote pieces): for walks that read thousands of small objects, e.g. every task of an
 * asyncio program.  A request that cannot be read gets -EFAULT and does not stop the others.
 * Returns 0, or -ESRCH / -EPERM when the process is gone or cannot be read (every request
 * then has that error). */
int hl_procmem_read_many(pid_t pid, struct hl_procmem_req *reqs, size_t n);
