/*
 * fatal.h — how popek dies: one clear line for the user's errors, a
 * symbolised backtrace of the monitor (libunwind) plus the guest state for
 * popek's own bugs.
 */
#ifndef POPEK_VMM_FATAL_H
#define POPEK_VMM_FATAL_H

#include <ucontext.h>

struct vcpu;

/* The vCPU whose guest state a fatal report should include (if any). */
void fatal_set_vcpu(struct vcpu *v);
/* popek's own bug: message, backtrace, guest state; exit 2. */
void fatal_bug(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/* Guest code that far-jumped to the host's 64-bit selector took a
 * signal there: one line, status 3 (docs/escape.md). */
void fatal_long_mode(int sig, const ucontext_t *uc)
	__attribute__((noreturn));
/* A signal that interrupted the monitor itself (a bug). */
void fatal_signal(int sig, const void *info, ucontext_t *uc)
	__attribute__((noreturn));

#endif
