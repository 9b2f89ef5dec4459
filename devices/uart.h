/*
 * uart.h — a 16550A serial port as a plain state machine.
 *
 * The model knows nothing of buses or hosts: its registers are reached
 * through uart_read/uart_write (shaped as bus handlers, offset 0..7, one
 * byte wide; a wider access is a byte access to its first offset), its
 * transmitter calls the tx callback given to uart_new, and its receiver is
 * fed with uart_rx_push (no flow control: overrun as on a real line) or
 * uart_rx_push_wait (waits for room, as a host side should).
 *
 * Locking: one mutex per UART.  Register accesses (vCPU thread) and the
 * rx functions (a host input thread) may run concurrently.  tx is called
 * without the mutex held, on the thread that wrote THR.
 */
#ifndef POPEK_DEVICES_UART_H
#define POPEK_DEVICES_UART_H

#include <stdbool.h>
#include <stdint.h>

#define UART_NPORTS   8         /* I/O ports one UART decodes */
#define UART_FIFO_LEN 16        /* receive FIFO depth with FCR[0] set */

struct uart;

struct uart *uart_new(void (*tx)(void *ctx, uint8_t byte), void *ctx);
void uart_free(struct uart *u);

uint64_t uart_read(void *opaque, uint64_t offset, unsigned size);
void uart_write(void *opaque, uint64_t offset, unsigned size, uint64_t value);

/* A byte arrives on the serial line.  Dropped in loopback mode (the
 * receiver is disconnected from the line); sets OE if there is no room. */
void uart_rx_push(struct uart *u, uint8_t byte);
/* The same, but first wait until the receiver has room and is not in
 * loopback.  Returns false, without pushing, once uart_rx_stop was called. */
bool uart_rx_push_wait(struct uart *u, uint8_t byte);
/* Wake and refuse every uart_rx_push_wait, now and later (shutdown). */
void uart_rx_stop(struct uart *u);

/* Level of the PC's IRQ 4 line: an interrupt is identified in IIR and
 * OUT2 (MCR bit 3) opens the PC's interrupt gate.  The bit, not the pin,
 * opens it, also in loopback, as in UARTs that gate IRQ internally (the
 * 16552, Super I/O chips), so a guest can test its interrupt path in
 * loopback (QEMU, which ignores OUT2, delivers those too).  (On a discrete 8250/16450 board the gate followed
 * the OUT2 pin, which loopback forces inactive.) */
bool uart_irq_pending(struct uart *u);

#endif
