/*
 * rtc.h — the Motorola MC146818 real-time clock with its 128 bytes of
 * CMOS RAM, as a plain state machine over an explicit wall-clock input.
 *
 * The model never reads a clock: every entry point takes now_ns, host
 * wall-clock nanoseconds since the Unix epoch (CLOCK_REALTIME).  The
 * guest's clock is that time plus an offset the guest changes by setting
 * the time; it counts in UTC (as QEMU's default -rtc base=utc), so a
 * guest that wants local time must apply its own zone.  Interrupt flags
 * are applied lazily: each call first brings the model up to now_ns.
 *
 * Ports: PORT_RTC (0x70) is the index (bit 7, the PC's NMI mask, is
 * stored and has no effect; reads of 0x70 return 0xFF, as it is
 * write-only on a PC), PORT_RTC + 1 (0x71) the data of the indexed byte:
 *   0x00-0x09  seconds, alarm s, minutes, alarm m, hours, alarm h, day of
 *              week (1 = Sunday), day, month, year (BCD or binary per
 *              register B, hours 12 h with bit 7 = PM or 24 h)
 *   0x0A       A: UIP (read-only), divider (6/7: held in reset), rate
 *   0x0B       B: SET PIE AIE UIE SQWE DM 24/12 DSE
 *   0x0C       C: IRQF PF AF UF, read-only; a read clears it
 *   0x0D       D: VRT (always 1), read-only
 *   0x32       century; the rest of 0x0E-0x7F plain NVRAM, with the PC
 *              BIOS's memory-size bytes filled in by rtc_new.
 * IRQ8 is IRQF: rtc_irq() gives the level; it drops when C is read.
 *
 * Locking: none; the caller serialises every call on one RTC.
 */
#ifndef POPEK_DEVICES_RTC_H
#define POPEK_DEVICES_RTC_H

#include <stdbool.h>
#include <stdint.h>

#define RTC_NPORTS 2
#define RTC_IRQ    8

/* Register indexes and bits (MC146818A data sheet). */
enum {
	RTC_SEC, RTC_SEC_ALARM, RTC_MIN, RTC_MIN_ALARM, RTC_HOUR,
	RTC_HOUR_ALARM, RTC_WDAY, RTC_MDAY, RTC_MON, RTC_YEAR,
	RTC_REG_A, RTC_REG_B, RTC_REG_C, RTC_REG_D,
	RTC_CENTURY = 0x32,
	RTC_CMOS_SIZE = 128,
};
#define RTC_A_UIP   0x80
#define RTC_A_DV    0x70        /* 0x20: 32.768 kHz, running */
#define RTC_A_RS    0x0F
#define RTC_B_SET   0x80
#define RTC_B_PIE   0x40
#define RTC_B_AIE   0x20
#define RTC_B_UIE   0x10
#define RTC_B_SQWE  0x08
#define RTC_B_DM    0x04        /* binary, not BCD */
#define RTC_B_24H   0x02
#define RTC_B_DSE   0x01        /* stored; UTC has no daylight saving */
#define RTC_C_IRQF  0x80
#define RTC_C_PF    0x40
#define RTC_C_AF    0x20
#define RTC_C_UF    0x10
#define RTC_D_VRT   0x80
#define RTC_UIP_NS  244141      /* UIP before each update: 8 / 32768 s */

struct rtc;

/* Power-on state at now_ns: the host's time, A = 0x26 (running, 1024 Hz
 * rate), B = 0x02 (24 h, BCD), and the CMOS memory-size bytes for a guest
 * of ram_bytes: 0x15/0x16 base memory (640 KiB), 0x17/0x18 and 0x30/0x31
 * KiB above 1 MiB, 0x34/0x35 64 KiB units above 16 MiB (each capped at
 * 0xFFFF), and the AT checksum of 0x10-0x2D at 0x2E/0x2F. */
struct rtc *rtc_new(uint64_t ram_bytes, uint64_t now_ns);
void rtc_free(struct rtc *rtc);

/* offset 0 is the index port, 1 the data port. */
uint8_t rtc_read(struct rtc *rtc, unsigned offset, uint64_t now_ns);
void rtc_write(struct rtc *rtc, unsigned offset, uint8_t value,
               uint64_t now_ns);

/* Level of IRQ8 as of the last call. */
bool rtc_irq(const struct rtc *rtc);
/* Bring flags up to now_ns (the timer's entry point). */
void rtc_advance(struct rtc *rtc, uint64_t now_ns);
/* After rtc_advance(now_ns): when to call rtc_advance next, the first
 * time after now_ns at which an enabled interrupt may raise IRQ8 (a
 * periodic edge, or the next update with UIE or AIE set: an alarm is
 * checked at each update), or UINT64_MAX if none can until the guest
 * touches the RTC (IRQ8 already up, nothing enabled, clock held). */
uint64_t rtc_next_event_ns(const struct rtc *rtc, uint64_t now_ns);

#endif
