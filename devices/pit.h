/*
 * pit.h — the Intel 8254 programmable interval timer as a pure state
 * machine over an explicit time input.
 *
 * The model never reads a clock: every entry point takes now_ns, host
 * monotonic nanoseconds, and counts are derived from the ticks of the
 * 1193182 Hz input clock elapsed since each channel's count was loaded.
 * The VMM passes non-decreasing times.  Answers are exact for any time
 * not before the channel's last mode set, count write or gate change, and
 * not before a mode 2/3 reload that an earlier call has already applied;
 * tests use this to ask about several times of one programmed state.
 *
 * Ports: 0x40..0x42 channel data, 0x43 control word (mode set, counter
 * latch, read-back), and 0x61 (system control port B: bit 0 gate of
 * channel 2, bit 1 speaker data, bits 2-3 stored, bit 4 refresh toggle,
 * bit 5 OUT2).  Gates of channels 0 and 1 are tied high.
 *
 * Locking: none; the caller serializes every call on one PIT.
 */
#ifndef POPEK_DEVICES_PIT_H
#define POPEK_DEVICES_PIT_H

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ       1193182u   /* input clock of every channel */
#define PIT_PORT     0x40       /* 0x40..0x43 */
#define PIT_NPORTS   4
#define PIT_PORT_61  0x61       /* system control port B */

struct pit;

struct pit *pit_new(void);
void pit_free(struct pit *pit);

/* port is 0x40..0x43 or 0x61; other ports read 0xFF and drop writes. */
uint8_t pit_read(struct pit *pit, unsigned port, uint64_t now_ns);
void pit_write(struct pit *pit, unsigned port, uint8_t value, uint64_t now_ns);

/* Level of the OUT pin of channel 0..2 at now_ns. */
bool pit_out(struct pit *pit, int channel, uint64_t now_ns);
/* Time of the first rising edge of OUT0 strictly after now_ns, or
 * UINT64_MAX if none will come without the guest reprogramming the PIT. */
uint64_t pit_next_irq0_ns(struct pit *pit, uint64_t now_ns);
/* Rising edges of OUT0 in (from_ns, to_ns]; summing consecutive windows
 * counts every edge exactly once, so a periodic IRQ0 does not drift. */
int pit_irq0_edges(struct pit *pit, uint64_t from_ns, uint64_t to_ns);

#endif
