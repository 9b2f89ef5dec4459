/*
 * i8042.h — the PC's keyboard controller (a PS/2-type 8042) with an
 * MF2 keyboard and an empty auxiliary (mouse) port, plus system control
 * port A (0x92), as a plain state machine.
 *
 * Ports (absolute numbers, one byte wide):
 *   0x60  data: reads the output buffer; writes go to the keyboard, or are
 *         the parameter of the last controller command that takes one
 *   0x64  reads the status register, writes a controller command
 *   0x92  system control port A: bit 1 (A20) always reads 1; writing
 *         bit 0 = 1 resets the CPU
 * A20 is always on: the output port's A20 bit (0xD1) is forced to 1.
 *
 * Nothing comes from the host: the keyboard answers its commands (ACK
 * 0xFA, BAT 0xAA, ID 0xAB 0x83) and never has a key; the aux port has
 * no device, so a byte sent to it (0xD4) comes back as 0xFE with the
 * time-out bit, and Linux's probe finds the port but no mouse.
 *
 * The reset line (0xFE and the other pulse commands 0xF0-0xFF with bit 0
 * clear, output port bit 0 clear through 0xD1, port 0x92 bit 0) calls
 * the reset callback given to i8042_new.
 *
 * IRQ1 is up while the output buffer holds a keyboard (or controller)
 * byte and the command byte has bit 0 set; IRQ12 while it holds an aux
 * byte and bit 1 is set.
 *
 * Locking: none; the vCPU thread is the only caller.
 */
#ifndef POPEK_DEVICES_I8042_H
#define POPEK_DEVICES_I8042_H

#include <stdbool.h>
#include <stdint.h>

#define I8042_IRQ_KBD 1
#define I8042_IRQ_AUX 12

/* Status register (port 0x64). */
#define I8042_STR_OBF     0x01
#define I8042_STR_IBF     0x02  /* always 0: input is taken at once */
#define I8042_STR_SYS     0x04
#define I8042_STR_CMD     0x08  /* last write was to 0x64 */
#define I8042_STR_UNLOCK  0x10  /* keyboard not inhibited by the key lock */
#define I8042_STR_AUXDATA 0x20
#define I8042_STR_TIMEOUT 0x40

/* Command byte (controller RAM byte 0). */
#define I8042_CTR_KBDINT  0x01
#define I8042_CTR_AUXINT  0x02
#define I8042_CTR_SYS     0x04
#define I8042_CTR_KBDDIS  0x10
#define I8042_CTR_AUXDIS  0x20
#define I8042_CTR_XLATE   0x40

struct i8042;

/* Power-on state as a BIOS leaves it: command byte 0x65 (translation,
 * system flag, keyboard interrupt on, aux port disabled), empty output
 * buffer, keyboard in scan code set 2. */
struct i8042 *i8042_new(void (*reset)(void *ctx), void *ctx);
void i8042_free(struct i8042 *k);

/* port is 0x60, 0x64 or 0x92; others read 0xFF and drop writes. */
uint8_t i8042_read(struct i8042 *k, unsigned port);
void i8042_write(struct i8042 *k, unsigned port, uint8_t value);

/* Level of IRQ 1 or 12 (false for any other). */
bool i8042_irq(const struct i8042 *k, int irq);

#endif
