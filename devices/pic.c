/*
 * pic.c — the 8259A pair behind pic.h, after the Intel 8259A data sheet.
 *
 * Each chip keeps IRR (requests), ISR (in service), IMR (mask), the levels
 * of its input lines, and a rotating priority: `highest` is the IR that
 * currently has priority 0 (IR7 is lowest after ICW1).  The INT output is
 * recomputed after every change: the highest-priority unmasked request
 * that outranks everything in service.  The slave's INT is wired to the
 * master's IR2.
 *
 * Trigger mode: an input is level-triggered if ICW1.LTIM is set or its
 * ELCR bit is (PIIX: IRQ 0, 1, 2, 8 and 13 are always edge).  A level
 * request follows the line.  An edge request is latched on the rising edge
 * and stays latched until acknowledged even if the line drops first: the
 * data sheet says such a request turns into a default IR7, but emulated
 * devices pulse their lines (as QEMU and KVM assume), so the latch is kept.
 * The default IR7 of the data sheet is modelled for level inputs: if the
 * request is gone by INTA the chip answers base+7 and sets no ISR bit.
 * Master IR2 is edge-latched like any input, so a level request lost on
 * the slave after the master latched IR2 still puts IR2 in service on the
 * master, and the slave answers its own base+7 (IRQ 15).  As on the real
 * part (and in Bochs), the slave's INT falls during INTA, so a request it
 * still has afterwards (AEOI, say) is a new edge on IR2.
 *
 * Supported: ICW1-ICW4 (AEOI, SFNM), OCW1, every OCW2 command (EOI,
 * specific EOI, rotations, set priority), OCW3 (IRR/ISR read select, poll,
 * special mask mode).  Ignored: MCS-80/85 mode (vectors are always 8086
 * style), ICW1 ADI and address bits, buffered mode and M/S in ICW4.  The
 * slave's ID (ICW3) is stored but not compared: only IR2 has a slave, and
 * it always answers the cascade INTA.
 *
 * Locking: none; see pic.h.
 */
#include "devices/pic.h"

#include <stdlib.h>

#define ICW1_IC4   0x01
#define ICW1_SNGL  0x02
#define ICW1_LTIM  0x08
#define ICW1_INIT  0x10
#define ICW4_AEOI  0x02
#define ICW4_SFNM  0x10
#define OCW3_SEL   0x08         /* with bit 4 clear: OCW3, not OCW2 */
#define OCW3_RIS   0x01
#define OCW3_RR    0x02
#define OCW3_POLL  0x04
#define OCW3_SMM   0x20
#define OCW3_ESMM  0x40
#define CASCADE_IR 2

struct pic_chip {
	struct pic *pic;
	bool slave;
	uint8_t irr, isr, imr;
	uint8_t lines;          /* input levels, for edge detection */
	uint8_t elcr, elcr_mask;
	uint8_t base;           /* ICW2 & 0xF8 */
	uint8_t icw3;           /* master: inputs with slaves; slave: ID */
	uint8_t highest;        /* IR of priority 0 */
	uint8_t init_step;      /* ICW expected next (2..4), 0: ready */
	bool single, ltim, ic4, aeoi, sfnm, rotate_aeoi;
	bool read_isr, poll, smm;
};

struct pic {
	struct pic_chip chip[2];
	bool out;
	void (*cb)(void *ctx, bool level);
	void *ctx;
};

/* --- priority ------------------------------------------------------------ */

static uint8_t chip_level_mask(const struct pic_chip *c)
{
	return c->ltim ? 0xFF : c->elcr;
}

/* Rank (0: highest priority) of the best IR in mask; 8 if none. */
static int chip_rank(const struct pic_chip *c, uint8_t mask)
{
	int r;

	for (r = 0; r < 8; r++)
		if (mask & (1u << ((r + c->highest) & 7)))
			break;
	return r;
}

/* The IR this chip would deliver now, or -1. */
static int chip_pending(const struct pic_chip *c)
{
	uint8_t req = c->irr & ~c->imr;
	int r, cur;

	/* Special mask mode: every unmasked level not in service may
	 * interrupt, lower ones included. */
	if (c->smm)
		req &= ~c->isr;
	r = chip_rank(c, req);
	if (r == 8)
		return -1;
	cur = c->smm ? 8 : chip_rank(c, c->isr);
	/* Special fully nested: a slave in service may interrupt again
	 * (its own priority logic only lets higher requests through). */
	if (r < cur || (r == cur && c->sfnm && !c->slave &&
	                (c->icw3 & (1u << ((r + c->highest) & 7)))))
		return (r + c->highest) & 7;
	return -1;
}

static void chip_intack(struct pic_chip *c, int ir)
{
	uint8_t bit = (uint8_t)(1u << ir);

	if (!c->aeoi)
		c->isr |= bit;
	else if (c->rotate_aeoi)
		c->highest = (uint8_t)((ir + 1) & 7);
	if (!(chip_level_mask(c) & bit))
		c->irr &= (uint8_t)~bit;    /* the edge latch is consumed */
}

/* Propagate the slave's INT to master IR2 (an input like any other: its
 * rising edge is latched in edge mode) and the master's INT to the CPU. */
static void pic_update(struct pic *pic)
{
	struct pic_chip *m = &pic->chip[PIC_MASTER];
	uint8_t bit = 1u << CASCADE_IR;
	bool sint = chip_pending(&pic->chip[PIC_SLAVE]) >= 0, out;

	if (sint && (!(m->lines & bit) || (chip_level_mask(m) & bit)))
		m->irr |= bit;
	else if (!sint && (chip_level_mask(m) & bit))
		m->irr &= (uint8_t)~bit;
	if (sint)
		m->lines |= bit;
	else
		m->lines &= (uint8_t)~bit;
	out = chip_pending(m) >= 0;
	if (out != pic->out) {
		pic->out = out;
		if (pic->cb)
			pic->cb(pic->ctx, out);
	}
}

/* --- lifetime and lines -------------------------------------------------- */

static void chip_init(struct pic *pic, int which, uint8_t base,
                      uint8_t icw3, uint8_t elcr_mask)
{
	struct pic_chip *c = &pic->chip[which];

	c->pic = pic;
	c->slave = which == PIC_SLAVE;
	c->base = base;
	c->icw3 = icw3;
	c->imr = 0xFF;
	c->elcr_mask = elcr_mask;
}

struct pic *pic_new(void)
{
	struct pic *pic = calloc(1, sizeof(*pic));

	if (!pic)
		return NULL;
	chip_init(pic, PIC_MASTER, 0x08, 1u << CASCADE_IR, 0xF8);
	chip_init(pic, PIC_SLAVE, 0x70, CASCADE_IR, 0xDE);
	return pic;
}

void pic_free(struct pic *pic)
{
	free(pic);
}

void pic_set_output_cb(struct pic *pic, void (*cb)(void *ctx, bool level),
                       void *ctx)
{
	pic->cb = cb;
	pic->ctx = ctx;
}

void pic_set_irq(struct pic *pic, int irq, int level)
{
	struct pic_chip *c;
	uint8_t bit;

	if (irq < 0 || irq > 15 || irq == CASCADE_IR)
		return;
	c = &pic->chip[irq >> 3];
	bit = (uint8_t)(1u << (irq & 7));
	if (chip_level_mask(c) & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= (uint8_t)~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= (uint8_t)~bit;
	pic_update(pic);
}

bool pic_output(const struct pic *pic)
{
	return pic->out;
}

int pic_ack(struct pic *pic)
{
	struct pic_chip *m = &pic->chip[PIC_MASTER];
	struct pic_chip *s = &pic->chip[PIC_SLAVE];
	int ir = chip_pending(m), sir, vector;

	if (ir < 0) {
		vector = m->base + 7;
	} else {
		chip_intack(m, ir);
		if (ir == CASCADE_IR && !m->single &&
		    (m->icw3 & (1u << CASCADE_IR))) {
			sir = chip_pending(s);
			if (sir < 0) {
				vector = s->base + 7;
			} else {
				chip_intack(s, sir);
				vector = s->base + sir;
			}
			/* The slave drops INT during INTA: a request still
			 * pending afterwards is a fresh edge on IR2. */
			m->lines &= (uint8_t)~(1u << CASCADE_IR);
		} else {
			vector = m->base + ir;
		}
	}
	pic_update(pic);
	return vector;
}

/* --- registers ----------------------------------------------------------- */

static void chip_icw1(struct pic_chip *c, uint8_t v)
{
	c->ltim = v & ICW1_LTIM;
	c->single = v & ICW1_SNGL;
	c->ic4 = v & ICW1_IC4;
	/* The edge sense latches are reset: a line already high must fall
	 * and rise again; level requests still follow their lines. */
	c->irr = c->lines & chip_level_mask(c);
	c->isr = 0;
	c->imr = 0;
	c->highest = 0;
	c->aeoi = c->sfnm = c->rotate_aeoi = false;
	c->read_isr = c->poll = c->smm = false;
	c->init_step = 2;
}

static void chip_write_data(struct pic_chip *c, uint8_t v)
{
	switch (c->init_step) {
	case 2:
		c->base = v & 0xF8;
		c->init_step = !c->single ? 3 : c->ic4 ? 4 : 0;
		break;
	case 3:
		c->icw3 = c->slave ? (v & 7) : v;
		c->init_step = c->ic4 ? 4 : 0;
		break;
	case 4:
		c->aeoi = v & ICW4_AEOI;
		c->sfnm = v & ICW4_SFNM;
		c->init_step = 0;
		break;
	default:
		c->imr = v;     /* OCW1 */
		break;
	}
}

/* OCW2: bits 7..5 are R, SL, EOI; bits 2..0 the level L. */
static void chip_ocw2(struct pic_chip *c, uint8_t v)
{
	int cmd = v >> 5, ir = v & 7;

	switch (cmd) {
	case 0:         /* clear rotate in AEOI mode */
	case 4:         /* set rotate in AEOI mode */
		c->rotate_aeoi = cmd == 4;
		return;
	case 1:         /* non-specific EOI */
	case 5:         /* rotate on non-specific EOI */
		if (!c->isr)
			return;
		ir = (chip_rank(c, c->isr) + c->highest) & 7;
		break;
	case 3:         /* specific EOI */
	case 7:         /* rotate on specific EOI */
		break;
	case 6:         /* set priority: L becomes lowest */
		c->highest = (uint8_t)((ir + 1) & 7);
		return;
	default:        /* 2: no operation */
		return;
	}
	c->isr &= (uint8_t)~(1u << ir);
	if (cmd & 4)
		c->highest = (uint8_t)((ir + 1) & 7);
}

static void chip_ocw3(struct pic_chip *c, uint8_t v)
{
	if (v & OCW3_ESMM)
		c->smm = v & OCW3_SMM;
	if (v & OCW3_POLL)
		c->poll = true;
	if (v & OCW3_RR)
		c->read_isr = v & OCW3_RIS;
}

static void chip_write(void *opaque, unsigned port, uint8_t v)
{
	struct pic_chip *c = opaque;

	if (port == 1)
		chip_write_data(c, v);
	else if (v & ICW1_INIT)
		chip_icw1(c, v);
	else if (v & OCW3_SEL)
		chip_ocw3(c, v);
	else
		chip_ocw2(c, v);
	pic_update(c->pic);
}

/* After a poll command the next read is an acknowledge: 0x80 | IR when a
 * request is pending (now in service), 0 when none. */
static uint8_t chip_poll(struct pic_chip *c)
{
	int ir = chip_pending(c);

	c->poll = false;
	if (ir < 0)
		return 0;
	chip_intack(c, ir);
	pic_update(c->pic);
	return (uint8_t)(0x80 | ir);
}

static uint8_t chip_read(void *opaque, unsigned port)
{
	struct pic_chip *c = opaque;

	if (c->poll)
		return chip_poll(c);
	if (port == 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

void *pic_chip_opaque(struct pic *pic, int chip)
{
	return &pic->chip[chip == PIC_SLAVE];
}

static uint8_t elcr_read(void *opaque, unsigned port)
{
	return ((struct pic *)opaque)->chip[port].elcr;
}

static void elcr_write(void *opaque, unsigned port, uint8_t v)
{
	struct pic_chip *c = &((struct pic *)opaque)->chip[port];
	uint8_t lvl;

	c->elcr = v & c->elcr_mask;
	/* Inputs now level-triggered follow their lines at once. */
	lvl = chip_level_mask(c);
	c->irr = (uint8_t)((c->irr & ~lvl) | (c->lines & lvl));
	pic_update(c->pic);
}

/* Wider accesses: one byte per port, 0xFF past the region's end. */
static uint64_t read_bytes(uint8_t (*rd)(void *, unsigned), void *opaque,
                           uint64_t offset, unsigned size)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size && i < 8; i++) {
		uint64_t b = offset + i < PIC_NPORTS ?
		             rd(opaque, (unsigned)(offset + i)) : 0xFF;
		v |= b << (8 * i);
	}
	return v;
}

static void write_bytes(void (*wr)(void *, unsigned, uint8_t), void *opaque,
                        uint64_t offset, unsigned size, uint64_t value)
{
	unsigned i;

	for (i = 0; i < size && offset + i < PIC_NPORTS; i++)
		wr(opaque, (unsigned)(offset + i), (uint8_t)(value >> (8 * i)));
}

uint64_t pic_io_read(void *opaque, uint64_t offset, unsigned size)
{
	return read_bytes(chip_read, opaque, offset, size);
}

void pic_io_write(void *opaque, uint64_t offset, unsigned size,
                  uint64_t value)
{
	write_bytes(chip_write, opaque, offset, size, value);
}

uint64_t pic_elcr_read(void *opaque, uint64_t offset, unsigned size)
{
	return read_bytes(elcr_read, opaque, offset, size);
}

void pic_elcr_write(void *opaque, uint64_t offset, unsigned size,
                    uint64_t value)
{
	write_bytes(elcr_write, opaque, offset, size, value);
}
