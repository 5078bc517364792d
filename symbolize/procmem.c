/* symbolize/procmem.c — see procmem.h. */
#define _GNU_SOURCE
#include "symbolize/procmem.h"

#include <errno.h>
#include <limits.h>
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

#define READ_MANY_BATCH 1024 /* IOV_MAX on Linux */

int hl_procmem_read_many(pid_t pid, struct hl_procmem_req *reqs, size_t n)
{
	struct iovec local[READ_MANY_BATCH], remote[READ_MANY_BATCH];
	size_t i = 0, k, m;

	while (i < n) {
		ssize_t got;

		for (m = 0; m < READ_MANY_BATCH && i + m < n; m++) {
			local[m].iov_base = reqs[i + m].buf;
			local[m].iov_len = reqs[i + m].len;
			remote[m].iov_base = (void *)(uintptr_t)reqs[i + m].addr;
			remote[m].iov_len = reqs[i + m].len;
		}
		got = process_vm_readv(pid, local, m, remote, m, 0);
		if (got < 0 && errno != EFAULT) {
			int err = -errno;

			for (k = 0; k < n; k++)
				reqs[k].err = err;
			return err;
		}
		if (got < 0)
			got = 0;
		/* The transfer stops at the first piece it cannot read: the pieces before it are
		 * whole, that one failed, and the next call starts after it. */
		for (k = 0; k < m; k++) {
			if ((size_t)got >= reqs[i + k].len) {
				got -= (ssize_t)reqs[i + k].len;
				reqs[i + k].err = 0;
				continue;
			}
			reqs[i + k].err = -EFAULT;
			k++;
			break;
		}
		i += k;
	}
	return 0;
}
