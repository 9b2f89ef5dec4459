/*
 * deny-exec.c — run a command on a host that lacks some of what popek
 * needs, by failing those syscalls with ENOSYS under a seccomp filter.
 *
 *   deny-exec SYSCALL[,SYSCALL...] -- COMMAND [ARGS...]
 *
 * SYSCALL is one of: modify_ldt, seccomp.  Used by tests/host/hostcheck.sh
 * to check that popek names every missing piece and exits 2.
 */
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

#define DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS)

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr, "usage: deny-exec modify_ldt,seccomp -- CMD...\n");
		return 2;
	}
	int ldt = strstr(argv[1], "modify_ldt") != NULL;
	int sec = strstr(argv[1], "seccomp") != NULL;
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		DENY(ldt ? __NR_modify_ldt : 0xffff),
		DENY(sec ? __NR_seccomp : 0xffff),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("deny-exec: seccomp");
		return 2;
	}
	execv(argv[3], argv + 3);
	perror("deny-exec: exec");
	return 2;
}
