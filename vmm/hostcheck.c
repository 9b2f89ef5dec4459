/*
 * hostcheck.c — what popek needs from the host, checked once at start:
 * an x86-64 CPU and kernel, modify_ldt (guest segments live in the host
 * LDT) and seccomp filters that can trap (guest syscalls must never reach
 * the host kernel).  Every missing piece gets its own line; the caller
 * exits 2.  The fourth need — 32-bit compatibility-mode code runs and its
 * faults come back — is proved by the vCPU's entry probe (vcpu.c), which
 * needs the LDT checked here.
 */
#include "vmm/vcpu.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static int check_x86_64(char *err, size_t errlen)
{
	struct utsname u;

	if (uname(&u) == 0 && strcmp(u.machine, "x86_64") == 0)
		return 0;
	snprintf(err, errlen, "the host is not x86-64 (uname reports %s)",
	         u.machine);
	return -1;
}

static int check_seccomp(char *err, size_t errlen)
{
	unsigned action = SECCOMP_RET_TRAP;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
		snprintf(err, errlen, "seccomp is not available (kernel built "
		         "without CONFIG_SECCOMP): popek cannot contain guest syscalls");
		return -1;
	}
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0) {
		snprintf(err, errlen, "seccomp filters cannot trap (%s): popek "
		         "cannot contain guest syscalls", strerror(errno));
		return -1;
	}
	return 0;
}

int hostcheck(void)
{
	int (*const checks[])(char *, size_t) = {
		check_x86_64, vcpu_setup_segments, check_seccomp,
	};
	int missing = 0;
	char err[256];

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if (checks[i](err, sizeof(err)) < 0) {
			fprintf(stderr, "popek: host check: %s\n", err);
			missing++;
		}
	}
	return missing;
}
