/* symbolize/addrspace.h — a process's code: which binary each executable address belongs to.
 *
 * Built from /proc/PID/maps.  An address in a file-backed executable mapping resolves to its
 * module: the binary (symbolize/binary.h, shared across processes) and the load bias that
 * turns the address into the binary's own virtual address.  Anonymous executable memory
 * (JIT code, CPython's perf trampolines) resolves to a module without a binary.  Refreshed on
 * demand when an address falls outside every known mapping (a library dlopen'ed later).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct hl_binary;
struct hl_binary_cache;

struct hl_module {
	uint64_t start, end; /* the executable mapping */
	uint64_t bias;	     /* file virtual address = address - bias */
	struct hl_binary *binary; /* NULL: anonymous memory, or a file we could not open */
	const char *path;	  /* "" for anonymous memory; valid until the next refresh */
};

struct hl_addrspace;

/* NULL with errno set. */
struct hl_addrspace *hl_addrspace__new(pid_t pid, struct hl_binary_cache *cache);
/* Accepts NULL. */
void hl_addrspace__free(struct hl_addrspace *as);

/* Re-reads the maps.  Returns 0 or -errno (-ESRCH when the process is gone; the old view
 * is kept, so samples taken before an exit still resolve). */
int hl_addrspace__refresh(struct hl_addrspace *as);

/* The module holding @addr, or NULL.  An unknown address triggers one refresh, at most every
 * 20 ms.  Valid until the next refresh. */
const struct hl_module *hl_addrspace__find(struct hl_addrspace *as, uint64_t addr);

/* The module holding @addr without refreshing (for lookups that must not touch procfs). */
const struct hl_module *hl_addrspace__lookup(const struct hl_addrspace *as, uint64_t addr);

pid_t hl_addrspace__pid(const struct hl_addrspace *as);
