/*
 * i8042.c — the keyboard controller model behind i8042.h (IBM PS/2
 * Hardware Interface Technical Reference, keyboard/auxiliary device
 * controller), and its attachment at ports 0x60, 0x64 and 0x92.
 *
 * The one-byte output buffer is fed from two queues: bytes the controller
 * itself produces (command answers, 0xD2/0xD3 echoes, aux time-outs),
 * which go first, and the keyboard's own FIFO, which is held while the
 * command byte disables the keyboard interface, as a keyboard holds its
 * bytes while its clock line is inhibited.  Each byte carries its status
 * bits (AUXDATA, TIMEOUT), shown while it sits in the buffer.
 *
 * Translation (command byte bit 6) is applied only where a keyboard's
 * answer depends on it, as QEMU does: the second ID byte (0x83, 0x41
 * translated) and the scan code set number (0xF0 0x00).  There are no
 * key codes to translate.
 *
 * Attachment: three one-port regions; after every access the glue sets
 * IRQ1 and IRQ12 to what i8042_irq says.  The reset line ends the VM
 * through the monitor's request_reset hook.
 */
#include "devices/i8042.h"
#include "devices/devices.h"
#include "devices/platform.h"

#include <stdlib.h>

#define PORT_DATA PORT_I8042_DATA
#define PORT_CMD  PORT_I8042_CMD
#define PORT_92   PORT_SYSCTL_A

#define QLEN       16
#define OUT_RESET  0x01         /* output port: CPU reset line, active low */
#define OUT_A20    0x02
#define OUT_OBF    0x10         /* output port: IRQ1 / IRQ12 pins */
#define OUT_AUXOBF 0x20
#define KBD_ACK    0xFA
#define KBD_RESEND 0xFE
#define KBD_BAT_OK 0xAA

struct byteq {
	uint8_t byte[QLEN], st[QLEN];
	unsigned head, n;
};

struct i8042 {
	uint8_t ram[32];        /* ram[0] is the command byte */
	uint8_t out, out_st;    /* output buffer and its status bits */
	bool cmd_last;          /* status bit 3 */
	uint8_t pending;        /* command awaiting its data byte; 0: none */
	uint8_t outport, port92;
	struct byteq ctlq, kbdq;
	/* the keyboard */
	uint8_t kbd_pending;    /* command awaiting its parameter; 0: none */
	uint8_t kbd_last;       /* last byte sent, for 0xFE (resend) */
	uint8_t scanset;
	void (*reset)(void *ctx);
	void *ctx;
};

static void push(struct byteq *q, uint8_t byte, uint8_t st)
{
	unsigned tail = (q->head + q->n) % QLEN;

	if (q->n == QLEN)
		return;         /* overrun: the byte is lost */
	q->byte[tail] = byte;
	q->st[tail] = st;
	q->n++;
}

static bool pop(struct byteq *q, uint8_t *byte, uint8_t *st)
{
	if (q->n == 0)
		return false;
	*byte = q->byte[q->head];
	*st = q->st[q->head];
	q->head = (q->head + 1) % QLEN;
	q->n--;
	return true;
}

/* Move the next byte into an empty output buffer. */
static void fill(struct i8042 *k)
{
	uint8_t st;

	if (k->out_st & I8042_STR_OBF)
		return;
	if (pop(&k->ctlq, &k->out, &st) ||
	    (!(k->ram[0] & I8042_CTR_KBDDIS) && pop(&k->kbdq, &k->out, &st)))
		k->out_st = st | I8042_STR_OBF;
}

static void ctl_answer(struct i8042 *k, uint8_t byte, uint8_t st)
{
	push(&k->ctlq, byte, st);
	fill(k);
}

static void pulse_reset(struct i8042 *k)
{
	if (k->reset)
		k->reset(k->ctx);
}

/* --- the keyboard ----------------------------------------------------------- */

static void kbd_send(struct i8042 *k, uint8_t byte)
{
	k->kbd_last = byte;
	push(&k->kbdq, byte, 0);
	fill(k);
}

static bool translated(const struct i8042 *k)
{
	return k->ram[0] & I8042_CTR_XLATE;
}

static void kbd_param(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	static const uint8_t xlat_set[4] = { 0, 0x43, 0x41, 0x3F };

	kbd_send(k, KBD_ACK);
	if (cmd != 0xF0)
		return;         /* 0xED LEDs, 0xF3 typematic: nothing to show */
	if (v == 0)
		kbd_send(k, translated(k) ? xlat_set[k->scanset] : k->scanset);
	else if (v <= 3)
		k->scanset = v;
}

static void kbd_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->kbd_pending;

	k->kbd_pending = 0;
	if (cmd) {
		kbd_param(k, cmd, v);
		return;
	}
	switch (v) {
	case 0xED: case 0xF0: case 0xF3:    /* LEDs, scan code set, typematic */
		k->kbd_pending = v;
		kbd_send(k, KBD_ACK);
		break;
	case 0xEE:                          /* echo */
		kbd_send(k, 0xEE);
		break;
	case 0xF2:                          /* identify: MF2 keyboard */
		kbd_send(k, KBD_ACK);
		kbd_send(k, 0xAB);
		kbd_send(k, translated(k) ? 0x41 : 0x83);
		break;
	case 0xFE:                          /* resend */
		kbd_send(k, k->kbd_last);
		break;
	case 0xFF:                          /* reset and self-test */
		k->scanset = 2;
		kbd_send(k, KBD_ACK);
		kbd_send(k, KBD_BAT_OK);
		break;
	default:
		if (v >= 0xF4)  /* enable, disable, defaults, key types */
			kbd_send(k, KBD_ACK);
		else
			kbd_send(k, KBD_RESEND);
		break;
	}
}

/* --- the controller --------------------------------------------------------- */

static uint8_t outport_read(const struct i8042 *k)
{
	uint8_t v = k->outport & ~(OUT_OBF | OUT_AUXOBF);

	if (k->out_st & I8042_STR_OBF)
		v |= k->out_st & I8042_STR_AUXDATA ? OUT_AUXOBF : OUT_OBF;
	return v;
}

static void command(struct i8042 *k, uint8_t c)
{
	k->pending = 0;
	if (c >= 0x20 && c < 0x40) {            /* read RAM byte */
		ctl_answer(k, k->ram[c & 0x1F], 0);
		return;
	}
	if ((c >= 0x60 && c < 0x80) || (c >= 0xD1 && c <= 0xD4)) {
		k->pending = c;                 /* data byte follows */
		return;
	}
	if (c >= 0xF0) {                        /* pulse output lines */
		if (!(c & 1))
			pulse_reset(k);
		return;
	}
	switch (c) {
	case 0xA7: k->ram[0] |= I8042_CTR_AUXDIS; break;
	case 0xA8: k->ram[0] &= ~I8042_CTR_AUXDIS; break;
	case 0xA9: ctl_answer(k, 0x00, 0); break;          /* aux lines OK */
	case 0xAA:                                          /* self-test */
		k->ram[0] |= I8042_CTR_SYS;
		ctl_answer(k, 0x55, 0);
		break;
	case 0xAB: ctl_answer(k, 0x00, 0); break;          /* kbd lines OK */
	case 0xAD: k->ram[0] |= I8042_CTR_KBDDIS; break;
	case 0xAE: k->ram[0] &= ~I8042_CTR_KBDDIS; fill(k); break;
	case 0xC0: ctl_answer(k, 0x80, 0); break;          /* input port */
	case 0xD0: ctl_answer(k, outport_read(k), 0); break;
	case 0xE0: ctl_answer(k, 0x00, 0); break;          /* test inputs */
	default: break;     /* unknown, or A20 0xDD/0xDF: ignored */
	}
}

static void command_data(struct i8042 *k, uint8_t c, uint8_t v)
{
	switch (c) {
	case 0xD1:                                  /* write output port */
		k->outport = v | OUT_A20;
		if (!(v & OUT_RESET))
			pulse_reset(k);
		break;
	case 0xD2:                                  /* as if from the kbd */
		ctl_answer(k, v, 0);
		break;
	case 0xD3:                                  /* as if from aux */
		ctl_answer(k, v, I8042_STR_AUXDATA);
		break;
	case 0xD4:              /* to the aux device: none answers */
		ctl_answer(k, 0xFE, I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
		break;
	default:                                    /* 0x60-0x7F: RAM */
		k->ram[c & 0x1F] = v;
		fill(k);        /* the keyboard may just have been enabled */
		break;
	}
}

uint8_t i8042_read(struct i8042 *k, unsigned port)
{
	uint8_t v;

	switch (port) {
	case PORT_DATA:
		v = k->out;     /* read again while empty: the last byte */
		if (k->out_st & I8042_STR_OBF) {
			k->out_st = 0;
			fill(k);
		}
		return v;
	case PORT_CMD:
		return k->out_st | (k->ram[0] & I8042_CTR_SYS) |
		       (k->cmd_last ? I8042_STR_CMD : 0) | I8042_STR_UNLOCK;
	case PORT_92:
		return (k->port92 & ~OUT_RESET) | OUT_A20;
	}
	return 0xFF;
}

void i8042_write(struct i8042 *k, unsigned port, uint8_t v)
{
	uint8_t c;

	switch (port) {
	case PORT_DATA:
		k->cmd_last = false;
		c = k->pending;
		k->pending = 0;
		if (c)
			command_data(k, c, v);
		else
			kbd_write(k, v);
		break;
	case PORT_CMD:
		k->cmd_last = true;
		command(k, v);
		break;
	case PORT_92:
		k->port92 = v;
		if (v & OUT_RESET)
			pulse_reset(k);
		break;
	}
}

bool i8042_irq(const struct i8042 *k, int irq)
{
	bool aux = k->out_st & I8042_STR_AUXDATA;

	if (!(k->out_st & I8042_STR_OBF))
		return false;
	if (irq == I8042_IRQ_KBD)
		return !aux && (k->ram[0] & I8042_CTR_KBDINT);
	if (irq == I8042_IRQ_AUX)
		return aux && (k->ram[0] & I8042_CTR_AUXINT);
	return false;
}

struct i8042 *i8042_new(void (*reset)(void *ctx), void *ctx)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->ram[0] = I8042_CTR_XLATE | I8042_CTR_AUXDIS | I8042_CTR_SYS |
	            I8042_CTR_KBDINT;
	k->outport = 0xCC | OUT_A20 | OUT_RESET;   /* as QEMU's */
	k->port92 = OUT_A20;
	k->scanset = 2;
	k->reset = reset;
	k->ctx = ctx;
	return k;
}

void i8042_free(struct i8042 *k)
{
	free(k);
}

/* --- the platform device ------------------------------------------------- */

struct i8042_dev;
struct i8042_port {             /* one region's opaque */
	struct i8042_dev *d;
	unsigned port;
};

struct i8042_dev {
	struct i8042 *k;
	struct i8042_port ports[3];
	void (*set_irq)(void *irqctx, int irq, int level);
	void *irqctx;
	bool level[2];          /* IRQ1, IRQ12 as last driven */
	void (*request_reset)(void *ctx);
	void *ctx;
};

static void i8042_sync(struct i8042_dev *d)
{
	static const int irqs[2] = { I8042_IRQ_KBD, I8042_IRQ_AUX };

	for (int i = 0; i < 2 && d->set_irq; i++) {
		bool level = i8042_irq(d->k, irqs[i]);

		if (level != d->level[i]) {
			d->level[i] = level;
			d->set_irq(d->irqctx, irqs[i], level);
		}
	}
}

static void i8042_reset_line(void *ctx)
{
	struct i8042_dev *d = ctx;

	if (d->request_reset)
		d->request_reset(d->ctx);
}

/* A wider access is a byte access to its first port. */
static uint64_t i8042_port_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8042_port *p = opaque;
	uint8_t v = i8042_read(p->d->k, p->port);

	(void)off;
	(void)size;
	i8042_sync(p->d);
	return v;
}

static void i8042_port_write(void *opaque, uint64_t off, unsigned size,
                             uint64_t val)
{
	struct i8042_port *p = opaque;

	(void)off;
	(void)size;
	i8042_write(p->d->k, p->port, (uint8_t)val);
	i8042_sync(p->d);
}

void *i8042_attach(struct platform_env *env)
{
	static const unsigned ports[3] = { PORT_DATA, PORT_CMD, PORT_92 };
	struct i8042_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->set_irq = env->set_irq;
	d->irqctx = env->irqctx;
	d->request_reset = env->hooks->request_reset;
	d->ctx = env->hooks->ctx;
	d->k = i8042_new(i8042_reset_line, d);
	for (int i = 0; i < 3; i++) {
		d->ports[i] = (struct i8042_port){ d, ports[i] };
		if (!d->k || platform_claim(env, ports[i], 1, i8042_port_read,
		                            i8042_port_write, &d->ports[i]) < 0) {
			i8042_detach(d);
			return NULL;
		}
	}
	return d;
}

void i8042_detach(void *dev)
{
	struct i8042_dev *d = dev;

	i8042_free(d->k);
	free(d);
}
