/*
 * seccomp.c — no host syscall on the guest's behalf.
 *
 * A filter on the vCPU thread traps (SIGSYS) every syscall that guest code
 * makes: anything of the i386 ABI (int $0x80, and SYSCALL/SYSENTER from
 * compatibility mode), anything whose instruction pointer lies in the
 * guest window below 4 GiB, and the vsyscall page's emulated calls (IP in
 * the top 4 GiB: glibc never uses them, guest code in 64-bit mode could,
 * docs/escape.md).  The monitor's own syscalls come from code between
 * 4 GiB and the top of user space with the x86-64 ABI and pass.  The signal becomes a guest
 * event (exits.c); the host kernel never carries the call out.
 */
#include "vmm/vcpu.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define IP_HI (offsetof(struct seccomp_data, instruction_pointer) + 4)

int seccomp_install(char *err, size_t errlen)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 4, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP_HI),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xFFFFFFFFu, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]),
	                           .filter = code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		snprintf(err, errlen, "cannot install the seccomp filter that "
		         "contains guest syscalls: %s", strerror(errno));
		return -1;
	}
	return 0;
}
