/*
 * serial_host.c — the host end of COM1, as --serial chose it:
 *
 *   stdio       the guest transmits to stdout and receives from stdin.
 *               When stdin is a terminal it is put in raw mode (no echo,
 *               no line editing, no signal keys; output post-processing
 *               kept, so "\n" still starts a new line) and the console's
 *               Ctrl-A commands are on (stdio_console.c).
 *   file:PATH   PATH is created or truncated and receives what the guest
 *               transmits; the guest receives nothing.
 *   unix:PATH   popek connects to a unix stream socket already listening
 *               at PATH (QEMU's -serial unix:PATH client mode) and uses it
 *               for both directions.
 *
 * The terminal is restored on every way out: serial_host_close on the
 * normal path (guest exit, guest crash, popek's own errors after the
 * console came up), an atexit handler for any exit(), the fatal report
 * (fatal.c calls serial_host_restore_tty), and a thread that waits for
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT: those are blocked in every other
 * thread (they are blocked here, before the device and vCPU threads
 * exist, and threads inherit the mask) — the vCPU thread in particular,
 * whose guest context cannot run an ordinary handler.  That thread
 * restores the terminal and dies of the signal as popek would have.
 *
 * Locking: one terminal per process; serial_host_restore_tty is
 * idempotent and async-signal-safe (one atomic exchange, one tcsetattr).
 */
#include "devices/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

struct serial_host {
	int out_fd, in_fd;
	bool escapes;
	int own_fd;             /* the fd this side opened, or -1 */
	bool sigthread;         /* the terminal's signal thread is running */
	pthread_t thread;
	sigset_t old_mask;      /* the opener's mask before the blocking */
};

/* The terminal in raw mode (one per process). */
static struct termios tty_saved;
static int tty_fd = -1;
static int tty_raw;             /* atomic: 1 while tty_saved must go back */

void serial_host_restore_tty(void)
{
	if (__atomic_exchange_n(&tty_raw, 0, __ATOMIC_SEQ_CST))
		tcsetattr(tty_fd, TCSANOW, &tty_saved);
}

static void tty_restore_atexit(void)
{
	serial_host_restore_tty();
}

/* What QEMU does to a -serial stdio terminal, plus no signal keys: every
 * byte the user types goes to the guest, Ctrl-C included. */
static void tty_make_raw(struct termios *t)
{
	t->c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR |
	                          IGNCR | ICRNL | IXON);
	t->c_oflag |= OPOST;
	t->c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t->c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t->c_cflag |= CS8;
	t->c_cc[VMIN] = 1;
	t->c_cc[VTIME] = 0;
}

static void term_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

/* Wait for a terminating signal; restore the terminal, then die of it. */
static void *sigthread(void *arg)
{
	sigset_t set, one;
	int sig;

	(void)arg;
	term_signals(&set);
	while (sigwait(&set, &sig) != 0)
		;
	serial_host_restore_tty();
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	_exit(128 + sig);       /* not reached: the default action kills */
}

static int sigthread_start(struct serial_host *h)
{
	sigset_t set, all, mine;
	int err;

	term_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, &h->old_mask);
	/* The thread takes signals only through sigwait: it starts with
	 * every asynchronous signal blocked. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	pthread_sigmask(SIG_SETMASK, &all, &mine);
	err = pthread_create(&h->thread, NULL, sigthread, NULL);
	pthread_sigmask(SIG_SETMASK, err ? &h->old_mask : &mine, NULL);
	if (err) {
		errno = err;
		return -1;
	}
	h->sigthread = true;
	return 0;
}

/* stdin a terminal: raw mode, restored on every way out. */
static int tty_raw_start(struct serial_host *h, char *err, size_t errlen)
{
	static bool atexit_done;
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &tty_saved) < 0)
		return 0;       /* not a terminal after all: leave it be */
	if (!atexit_done && atexit(tty_restore_atexit) == 0)
		atexit_done = true;
	if (sigthread_start(h) < 0) {
		snprintf(err, errlen, "--serial stdio: cannot start the terminal "
		         "signal thread: %s", strerror(errno));
		return -1;
	}
	t = tty_saved;
	tty_make_raw(&t);
	tty_fd = STDIN_FILENO;
	__atomic_store_n(&tty_raw, 1, __ATOMIC_SEQ_CST);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0) {
		__atomic_store_n(&tty_raw, 0, __ATOMIC_SEQ_CST);
		snprintf(err, errlen, "--serial stdio: cannot put the terminal "
		         "in raw mode: %s", strerror(errno));
		return -1;
	}
	h->escapes = true;
	return 0;
}

static int open_file(struct serial_host *h, const char *spec,
                     const char *path, char *err, size_t errlen)
{
	h->own_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (h->own_fd < 0) {
		snprintf(err, errlen, "--serial %s: cannot create %s: %s", spec,
		         path, strerror(errno));
		return -1;
	}
	h->out_fd = h->own_fd;
	h->in_fd = -1;
	return 0;
}

static int open_unix(struct serial_host *h, const char *spec,
                     const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(sa.sun_path, path);      /* length checked by serial_spec_check */
	h->own_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->own_fd < 0 ||
	    connect(h->own_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "--serial %s: cannot connect to %s: %s",
		         spec, path, strerror(errno));
		return -1;
	}
	h->out_fd = h->in_fd = h->own_fd;
	return 0;
}

int serial_spec_check(const char *spec, char *err, size_t errlen)
{
	const char *path = NULL;

	if (!strcmp(spec, "stdio"))
		return 0;
	if (!strncmp(spec, "file:", 5))
		path = spec + 5;
	else if (!strncmp(spec, "unix:", 5))
		path = spec + 5;
	if (!path) {
		snprintf(err, errlen, "--serial %s: expected stdio, file:PATH or "
		         "unix:PATH", spec);
		return -1;
	}
	if (!*path) {
		snprintf(err, errlen, "--serial %s: no PATH given", spec);
		return -1;
	}
	if (!strncmp(spec, "unix:", 5) &&
	    strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "--serial %s: socket path longer than %zu "
		         "bytes", spec,
		         sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return -1;
	}
	return 0;
}

struct serial_host *serial_host_open(const char *spec, char *err,
                                     size_t errlen)
{
	struct serial_host *h = calloc(1, sizeof(*h));
	int r = 0;

	if (!h) {
		snprintf(err, errlen, "out of memory opening the serial port");
		return NULL;
	}
	h->own_fd = -1;
	h->out_fd = STDOUT_FILENO;
	h->in_fd = STDIN_FILENO;
	if (!spec)
		spec = "stdio";
	if (serial_spec_check(spec, err, errlen) < 0)
		r = -1;
	else if (!strncmp(spec, "file:", 5))
		r = open_file(h, spec, spec + 5, err, errlen);
	else if (!strncmp(spec, "unix:", 5))
		r = open_unix(h, spec, spec + 5, err, errlen);
	else if (isatty(STDIN_FILENO))
		r = tty_raw_start(h, err, errlen);
	if (r < 0) {
		serial_host_close(h);
		return NULL;
	}
	return h;
}

void serial_host_hooks(const struct serial_host *h,
                       struct platform_hooks *hooks)
{
	hooks->console_out_fd = h->out_fd;
	hooks->console_in_fd = h->in_fd;
	hooks->console_escapes = h->escapes;
}

void serial_host_close(struct serial_host *h)
{
	if (!h)
		return;
	serial_host_restore_tty();
	if (h->sigthread) {
		pthread_cancel(h->thread);
		pthread_join(h->thread, NULL);
		pthread_sigmask(SIG_SETMASK, &h->old_mask, NULL);
	}
	if (h->own_fd >= 0)
		close(h->own_fd);
	free(h);
}
