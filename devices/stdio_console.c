/*
 * stdio_console.c — COM1: the 16550A of uart.c with its host side on two
 * file descriptors (normally the monitor's stdout and stdin).  Attached
 * by platform.c as console_attach/console_detach (platform.h).
 *
 * Output: each transmitted byte is one write(2) to the output fd, with no
 * buffering in between, so guest output appears as the guest sends it and
 * interleaves in order with whatever the monitor prints to stderr.
 *
 * Input: a thread polls the input fd together with a wake pipe, reads what
 * is there and hands it to the UART one byte at a time with
 * uart_rx_push_wait, which waits while the guest has not made room; so a
 * pasted or redirected input is delivered whole instead of overrunning.
 * The thread ends on EOF or error of the input fd, or when console_free
 * writes to the wake pipe and stops the UART's receiver (which releases a
 * thread waiting for room).  It runs with asynchronous signals blocked, so
 * that they keep going to the monitor's own threads; and since a thread
 * blocked in poll does not hold back exit(), the monitor may also end
 * without calling console_free.
 *
 * Escapes: when the input is a raw terminal (platform_hooks'
 * console_escapes), Ctrl-A starts a command as in QEMU: Ctrl-A x ends
 * the VM with status 0, Ctrl-A Ctrl-A sends one Ctrl-A to the guest,
 * Ctrl-A h lists the commands; any other byte after Ctrl-A is dropped.
 *
 * Locking: the fds are fixed before the thread starts; the UART locks
 * itself.
 */
#include "devices/platform.h"
#include "devices/uart.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct console {
	int out_fd, in_fd;
	int wake[2];            /* a byte on wake[1] ends the input thread */
	struct uart *uart;
	pthread_t thread;
	bool running;
	/* IRQ4: recomputed after every register access and received byte;
	 * irq_lock makes compute-and-set atomic so the line never goes stale
	 * (lock order: irq_lock, then the PIC's). */
	pthread_mutex_t irq_lock;
	void (*set_irq)(void *irqctx, int irq, int level);
	void *irqctx;
	/* Ctrl-A commands (input thread only). */
	bool escapes, escape_armed;
	void (*request_quit)(void *ctx, int status);
	void *quit_ctx;
};

#define ESCAPE_CHAR 0x01        /* Ctrl-A */

#define CONSOLE_IRQ 4

static void console_irq(struct console *c)
{
	if (!c->set_irq)
		return;
	pthread_mutex_lock(&c->irq_lock);
	c->set_irq(c->irqctx, CONSOLE_IRQ, uart_irq_pending(c->uart));
	pthread_mutex_unlock(&c->irq_lock);
}

static uint64_t console_read(void *opaque, uint64_t off, unsigned size)
{
	struct console *c = opaque;
	uint64_t v = uart_read(c->uart, off, size);

	console_irq(c);
	return v;
}

static void console_write(void *opaque, uint64_t off, unsigned size,
                          uint64_t val)
{
	struct console *c = opaque;

	uart_write(c->uart, off, size, val);
	console_irq(c);
}

static struct console *console_new(int out_fd, int in_fd)
{
	struct console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->out_fd = out_fd;
	c->in_fd = in_fd;
	c->wake[0] = c->wake[1] = -1;
	return c;
}

static void console_tx(void *ctx, uint8_t byte)
{
	struct console *c = ctx;

	if (c->out_fd < 0)
		return;
	/* A byte the host cannot take is lost, as on an unplugged line. */
	while (write(c->out_fd, &byte, 1) < 0 && errno == EINTR)
		;
}

/* Wait for input or the wake pipe.  Bytes read; 0 on EOF, error or stop. */
static ssize_t console_wait_read(struct console *c, uint8_t *buf, size_t len)
{
	struct pollfd fds[2] = {
		{ .fd = c->in_fd, .events = POLLIN },
		{ .fd = c->wake[0], .events = POLLIN },
	};
	ssize_t n;

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (fds[1].revents || (fds[0].revents & POLLNVAL))
			return 0;
		n = read(c->in_fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN)
			return 0;
	}
}

enum escape { ESC_SEND, ESC_DROP, ESC_QUIT };

/* One typed byte through the Ctrl-A command state machine. */
static enum escape console_escape(struct console *c, uint8_t byte)
{
	if (!c->escapes)
		return ESC_SEND;
	if (!c->escape_armed) {
		c->escape_armed = byte == ESCAPE_CHAR;
		return c->escape_armed ? ESC_DROP : ESC_SEND;
	}
	c->escape_armed = false;
	switch (byte) {
	case ESCAPE_CHAR:
		return ESC_SEND;
	case 'x':
		return c->request_quit ? ESC_QUIT : ESC_DROP;
	case 'h': case '?':
		fprintf(stderr, "\npopek: C-a x  quit popek (status 0)\n"
		        "popek: C-a C-a  send C-a to the guest\n"
		        "popek: C-a h  this list\n");
		return ESC_DROP;
	default:
		return ESC_DROP;
	}
}

static void *console_input(void *arg)
{
	struct console *c = arg;
	uint8_t buf[256];
	ssize_t n;

	while ((n = console_wait_read(c, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			enum escape e = console_escape(c, buf[i]);

			if (e == ESC_QUIT) {
				fprintf(stderr, "\npopek: quit (C-a x)\n");
				c->request_quit(c->quit_ctx, 0);
				return NULL;
			}
			if (e == ESC_DROP)
				continue;
			bool ok = uart_rx_push_wait(c->uart, buf[i]);

			console_irq(c);
			if (!ok)
				return NULL;
		}
	}
	return NULL;
}

/* Start the thread with every asynchronous signal blocked; faults stay
 * deliverable so that a crash in it still reaches the fatal handler. */
static int console_spawn(struct console *c)
{
	sigset_t mask, old;
	int err;

	sigfillset(&mask);
	sigdelset(&mask, SIGSEGV);
	sigdelset(&mask, SIGBUS);
	sigdelset(&mask, SIGILL);
	sigdelset(&mask, SIGFPE);
	pthread_sigmask(SIG_SETMASK, &mask, &old);
	err = pthread_create(&c->thread, NULL, console_input, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		return -1;
	}
	c->running = true;
	return 0;
}

static int console_start(struct console *c, struct uart *u)
{
	c->uart = u;
	if (c->in_fd < 0)
		return 0;
	if (pipe2(c->wake, O_CLOEXEC) < 0)
		return -1;
	return console_spawn(c);
}

static void console_free(struct console *c)
{
	char b = 0;

	if (!c)
		return;
	if (c->running) {
		while (write(c->wake[1], &b, 1) < 0 && errno == EINTR)
			;
		uart_rx_stop(c->uart);
		pthread_join(c->thread, NULL);
	}
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	free(c);
}

void *console_attach(struct platform_env *env)
{
	const struct platform_hooks *h = env->hooks;
	struct console *c = console_new(h->console_out_fd, h->console_in_fd);
	struct uart *u = c ? uart_new(console_tx, c) : NULL;

	if (!u) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->irq_lock, NULL);
	c->set_irq = env->set_irq;
	c->irqctx = env->irqctx;
	c->escapes = h->console_escapes;
	c->request_quit = h->request_quit;
	c->quit_ctx = h->ctx;
	if (console_start(c, u) < 0) {
		snprintf(env->err, sizeof(env->err), "cannot start the console "
		         "input thread: %s", strerror(errno));
		console_detach(c);
		return NULL;
	}
	if (env->hooks->add_irq_source && c->set_irq)
		env->hooks->add_irq_source(env->hooks->ctx);
	if (platform_claim(env, PORT_COM1, UART_NPORTS, console_read,
	                   console_write, c) < 0) {
		console_detach(c);
		return NULL;
	}
	return c;
}

/* The input thread goes first: it feeds the UART. */
void console_detach(void *dev)
{
	struct console *c = dev;
	struct uart *u = c->uart;

	console_free(c);
	uart_free(u);
}
