/* collector/kernel.bpf.h — the few kernel types the BPF programs touch, as CO-RE definitions.
 *
 * preserve_access_index makes clang record each field access by name; libbpf relocates it
 * against the running kernel's BTF at load time.  So these definitions list only the fields
 * we read, in any order, and the build needs no vmlinux.h from the build host.
 */
#pragma once

#include <linux/types.h>

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct thread_struct {
#if defined(__TARGET_ARCH_x86)
	unsigned long fsbase; /* user TLS base; glibc's struct pthread sits here */
#elif defined(__TARGET_ARCH_arm64)
	struct {
		unsigned long tp_value;
	} uw;
#endif
};

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *group_leader;
	struct task_struct *real_parent;
	struct thread_struct thread;
	char comm[16];
};

struct linux_binprm;

/* The registers a task entered the kernel with (interrupt or syscall): for a sampled user
 * thread, its user state at the sample instant or at its syscall. */
struct pt_regs {
#if defined(__TARGET_ARCH_x86)
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
#elif defined(__TARGET_ARCH_arm64)
	unsigned long regs[31];
	unsigned long sp, pc, pstate;
#endif
};

#pragma clang attribute pop
