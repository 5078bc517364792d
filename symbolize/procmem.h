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
