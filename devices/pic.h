/*
 * pic.h — the PC's pair of Intel 8259A interrupt controllers: the master
 * at ports 0x20/0x21 drives the CPU's INTR line, the slave at 0xA0/0xA1
 * feeds the master's IR2 (cascade), and the PIIX edge/level control
 * registers (ELCR) sit at 0x4D0/0x4D1.  ISA IRQ n is master input n for
 * n < 8 and slave input n - 8 otherwise.
 *
 * Bus wiring (three regions):
 *   PIC_MASTER_BASE, PIC_NPORTS: pic_io_read/pic_io_write,
 *                                opaque = pic_chip_opaque(pic, PIC_MASTER)
 *   PIC_SLAVE_BASE,  PIC_NPORTS: the same functions,
 *                                opaque = pic_chip_opaque(pic, PIC_SLAVE)
 *   PIC_ELCR_BASE,   PIC_NPORTS: pic_elcr_read/pic_elcr_write, opaque = pic
 * Offsets are 0 (command/status, A0 = 0) and 1 (data/IMR, A0 = 1); ELCR
 * offset 0 is the master's, 1 the slave's.  A wider access is a sequence
 * of byte accesses to consecutive ports of the region.
 *
 * Locking: none inside.  Every function here touches state shared by both
 * chips, so the caller serialises all calls on one struct pic (the
 * platform takes one device lock around each call, from the vCPU thread
 * and from device threads alike).  The output callback runs inside such a
 * call, under that lock, and must not call back into the PIC.
 */
#ifndef POPEK_DEVICES_PIC_H
#define POPEK_DEVICES_PIC_H

#include <stdbool.h>
#include <stdint.h>

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE  0xA0
#define PIC_ELCR_BASE   0x4D0
#define PIC_NPORTS      2

enum { PIC_MASTER, PIC_SLAVE };

struct pic;

/* Power-on state, as a PC BIOS leaves the pair: initialised in 8086 mode,
 * edge-triggered, vector bases 0x08 (master) and 0x70 (slave), cascade on
 * IR2, and every input masked (no BIOS here to unmask anything). */
struct pic *pic_new(void);
void pic_free(struct pic *pic);

/* Drive input line irq (0..15) to level (0/1).  IRQ 2 is the cascade
 * input, wired to the slave: setting it is ignored (ISA IRQ2 is IRQ9). */
void pic_set_irq(struct pic *pic, int irq, int level);
/* The master's INT output: the CPU's INTR line. */
bool pic_output(const struct pic *pic);
/* Called with the new level whenever pic_output changes, by whichever call
 * changed it (a bus write unmasking a pending IRQ included).  NULL: none. */
void pic_set_output_cb(struct pic *pic, void (*cb)(void *ctx, bool level),
                       void *ctx);
/* The CPU's INTA cycle: returns the vector to deliver.  With nothing left
 * to deliver (the request dropped before INTA) the chip answers as for its
 * IR7 without setting an ISR bit: the spurious vector base+7. */
int pic_ack(struct pic *pic);

/* Per-chip opaque for pic_io_read/pic_io_write. */
void *pic_chip_opaque(struct pic *pic, int chip);
uint64_t pic_io_read(void *opaque, uint64_t offset, unsigned size);
void pic_io_write(void *opaque, uint64_t offset, unsigned size,
                  uint64_t value);
uint64_t pic_elcr_read(void *opaque, uint64_t offset, unsigned size);
void pic_elcr_write(void *opaque, uint64_t offset, unsigned size,
                    uint64_t value);

#endif
