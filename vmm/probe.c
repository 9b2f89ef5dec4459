/*
 * probe.c — `popek probe [--mode=trap|bt|all]`: the Popek–Goldberg probe
 * suite run under popek itself, judged against its expected results and
 * printed as one table (probe_table.c).
 *
 * The guest and its expected results are compiled in (probe_blob.S), so
 * the command works from any directory.  POPEK_PROBE_EXPECT=PATH reads
 * the expected results from PATH instead (for the tests: a wrong
 * expectation must make the command fail).
 *
 * Each mode runs in a child process made by fork(), which calls vm_run()
 * exactly as `popek run` does: a VM takes over its process (the guest
 * window, signal handlers, a seccomp filter on the vCPU thread), so two
 * cannot share one.  The child reads the guest from a memfd through
 * /proc/self/fd; its console and stderr go to memfds the parent reads
 * when it has ended.
 */
#include "vmm/probe.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const char probe_elf_start[], probe_elf_end[];
extern const char probe_expect_start[], probe_expect_end[];

#define RUN_TIMEOUT_MS 60000    /* the suite takes well under a second */

/* A memfd holding len bytes of data, or -1. */
static int memfd_with(const char *name, const void *data, size_t len)
{
	int fd = memfd_create(name, 0);

	if (fd < 0)
		return -1;
	for (size_t done = 0; done < len; ) {
		ssize_t n = write(fd, (const char *)data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	return fd;
}

/* The whole of fd (a memfd or a file), NUL-terminated, in *buf. */
static int slurp(int fd, char **buf, size_t *len)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !(*buf = malloc((size_t)st.st_size + 1)))
		return -1;
	*len = 0;
	while (*len < (size_t)st.st_size) {
		ssize_t n = pread(fd, *buf + *len, (size_t)st.st_size - *len,
		                  (off_t)*len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	(*buf)[*len] = '\0';
	return 0;
}

static void child(enum probe_mode mode, int elf_fd, int out_fd, int err_fd)
{
	char path[32];
	int null = open("/dev/null", O_RDONLY);
	struct vm_config cfg = {
		.ram_mib = RAM_MIB_DEFAULT,
		.mode = mode == PROBE_TRAP ? MODE_TRAP : MODE_BT,
		.kernel = path,
	};

	if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
		_exit(STATUS_POPEK_ERROR);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", elf_fd);
	_exit(vm_run(&cfg));
}

/* Wait for pid, killing it after RUN_TIMEOUT_MS; its exit status, or -1
 * when it was killed by a signal (the timeout's included). */
static int reap(pid_t pid)
{
	const struct timespec tick = { .tv_nsec = 2000000 };
	int status;

	for (int ms = 0; ; ms += 2) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (ms >= RUN_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		nanosleep(&tick, NULL);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run the guest under mode and hand its console to the table.  The
 * guest ends with 0 (all passed) or 1 (some failed); anything else is
 * reported with the run's stderr. */
static int run_mode(struct probe_table *t, enum probe_mode mode, int elf_fd)
{
	int out_fd = memfd_create("popek-probe-console", MFD_CLOEXEC);
	int err_fd = memfd_create("popek-probe-stderr", MFD_CLOEXEC);
	char *out = NULL, *err = NULL;
	size_t out_len = 0, err_len = 0;
	int status = -1;

	if (out_fd < 0 || err_fd < 0)
		goto done;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		child(mode, elf_fd, out_fd, err_fd);
	if (pid < 0)
		goto done;
	status = reap(pid);
	if (slurp(out_fd, &out, &out_len) < 0 || slurp(err_fd, &err, &err_len) < 0)
		goto done;
	probe_table_results(t, mode, out, out_len);
	if (status < 0)
		fprintf(stderr, "popek probe: the --mode=%s run was killed (a "
		        "signal, or no end within %d s)\n", probe_mode_name[mode],
		        RUN_TIMEOUT_MS / 1000);
	else if (status > 1)
		fprintf(stderr, "popek probe: the --mode=%s run ended with "
		        "status %d\n", probe_mode_name[mode], status);
	if ((status < 0 || status > 1) && err_len)
		fprintf(stderr, "%s", err);
done:
	if (!out)
		fprintf(stderr, "popek probe: cannot run the --mode=%s guest: %s\n",
		        probe_mode_name[mode], strerror(errno));
	free(out);
	free(err);
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	return status;
}

/* The expected results: compiled in, or POPEK_PROBE_EXPECT's file. */
static struct probe_table *load_table(void)
{
	const char *path = getenv("POPEK_PROBE_EXPECT");
	char err[256], *text = NULL;
	size_t len = (size_t)(probe_expect_end - probe_expect_start);
	struct probe_table *t;

	if (path && *path) {
		int fd = open(path, O_RDONLY);

		if (fd < 0 || slurp(fd, &text, &len) < 0) {
			fprintf(stderr, "popek probe: POPEK_PROBE_EXPECT=%s: %s\n",
			        path, strerror(errno));
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		close(fd);
		fprintf(stderr, "popek probe: expected results from %s "
		        "(POPEK_PROBE_EXPECT)\n", path);
	}
	t = probe_table_parse(text ? text : probe_expect_start, len,
	                      text ? path : "tests/pg/expect.txt",
	                      err, sizeof(err));
	if (!t)
		fprintf(stderr, "popek probe: %s\n", err);
	free(text);
	return t;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: popek probe [--mode=trap|bt|all]\n"
"\n"
"Run the Popek-Goldberg probe suite (tests/pg/probe.c, compiled into\n"
"popek) under popek in the given mode(s) (default all) and print one\n"
"table: per instruction, how many of its probes differ from what the\n"
"architecture says in guest kernel and user mode.  Exit status 0 when\n"
"every probe gives what tests/pg/expect.txt expects, 1 otherwise (the\n"
"probes named on stderr), 2 on errors.\n");
}

static int parse_args(int argc, char **argv, unsigned *ran)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 },
	};
	int c;

	*ran = (1u << PROBE_MODES) - 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'M':
			if (!strcmp(optarg, "trap"))
				*ran = 1u << PROBE_TRAP;
			else if (!strcmp(optarg, "bt"))
				*ran = 1u << PROBE_BT;
			else if (strcmp(optarg, "all")) {
				fprintf(stderr, "popek probe: --mode=%s: trap, bt or "
				        "all\n", optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "popek probe: %s: unknown option or no "
			        "value (see popek probe --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "popek probe: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	return -1;
}

int probe_command(int argc, char **argv)
{
	unsigned ran;
	int r = parse_args(argc, argv, &ran);
	size_t elf_len = (size_t)(probe_elf_end - probe_elf_start);

	if (r >= 0)
		return r;
	struct probe_table *t = load_table();
	if (!t)
		return 2;
	int elf_fd = memfd_with("popek-probe.elf", probe_elf_start, elf_len);
	if (elf_fd < 0) {
		fprintf(stderr, "popek probe: memfd: %s\n", strerror(errno));
		probe_table_free(t);
		return 2;
	}
	printf("popek probe: the %u probes of tests/pg/probe.c, --mode=%s\n\n",
	       probe_table_count(t), ran == 1u << PROBE_TRAP ? "trap" :
	       ran == 1u << PROBE_BT ? "bt" : "trap and --mode=bt");
	for (int m = 0; m < PROBE_MODES; m++)
		if (ran & 1u << m)
			run_mode(t, (enum probe_mode)m, elf_fd);
	unsigned bad = probe_table_print(t, ran, stdout, stderr);
	close(elf_fd);
	probe_table_free(t);
	return fflush(stdout) == 0 && !bad ? 0 : 1;
}
