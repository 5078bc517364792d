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

#pragma clang attribute pop
