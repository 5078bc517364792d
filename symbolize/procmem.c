/* symbolize/procmem.c — see procmem.h. */
#define _GNU_SOURCE
#include "symbolize/procmem.h"

#include <errno.h>
#include <sys/uio.h>

ssize_t hl_procmem_read_partial(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
	ssize_t n;

	if (!len)
		return 0;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return n;
}

int hl_procmem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = hl_procmem_read_partial(pid, addr, buf, len);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EFAULT;
}

int hl_procmem_read_u64(pid_t pid, uint64_t addr, uint64_t *out)
{
	return hl_procmem_read(pid, addr, out, sizeof(*out));
}

int hl_procmem_read_u32(pid_t pid, uint64_t addr, uint32_t *out)
{
	return hl_procmem_read(pid, addr, out, sizeof(*out));
}
