/*
 * test_pci.c — unit tests of PCI bus 0 (devices/pci.c) and of the bus
 * region removal it relies on (bus_unregister in devices/bus.c).
 *
 * The host sits on a real port bus and MMIO bus, with 0xCF8/0xCFC claimed
 * as the platform claims them, so every access here goes the way a
 * guest's IN/OUT goes.  Test devices are a struct pci_device with an I/O
 * BAR and a memory BAR whose handlers record what reached them; the ISA
 * interrupt lines are an array of levels.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "devices/bus.h"
#include "devices/pci.h"

static struct bus *io, *mmio;
static struct pci_host *host;
static int irq_level[16], irq_calls;

static void set_irq(void *ctx, int irq, int level)
{
	(void)ctx;
	cr_assert(irq >= 0 && irq < 16);
	irq_level[irq] = level;
	irq_calls++;
}

static void setup(void)
{
	io = bus_new("port");
	mmio = bus_new("mmio");
	host = pci_host_new(io, mmio, set_irq, NULL);
	cr_assert(io && mmio && host);
	cr_assert_eq(bus_register(io, "pci", PCI_CONFIG_ADDR, 4, pci_addr_read,
	                          pci_addr_write, host), 0);
	cr_assert_eq(bus_register(io, "pci", PCI_CONFIG_DATA, 4, pci_data_read,
	                          pci_data_write, host), 0);
	memset(irq_level, 0, sizeof(irq_level));
	irq_calls = 0;
}

static void teardown(void)
{
	pci_host_free(host);
	bus_free(mmio);
	bus_free(io);
}

TestSuite(pci, .init = setup, .fini = teardown);

static uint64_t in(uint16_t port, unsigned size)
{
	uint64_t v = 0;

	bus_read(io, port, size, &v);
	return v;
}

static void out(uint16_t port, unsigned size, uint64_t v)
{
	bus_write(io, port, size, v);
}

static uint32_t addr(int slot, int fn, unsigned reg)
{
	return 0x80000000u | (uint32_t)slot << 11 | (uint32_t)fn << 8 | reg;
}

/* Configuration read/write of size at reg (any alignment within a dword). */
static uint32_t cfg_read(int slot, int fn, unsigned reg, unsigned size)
{
	out(PCI_CONFIG_ADDR, 4, addr(slot, fn, reg & 0xFC));
	return (uint32_t)in(PCI_CONFIG_DATA + (reg & 3), size);
}

static void cfg_write(int slot, int fn, unsigned reg, unsigned size,
                      uint32_t v)
{
	out(PCI_CONFIG_ADDR, 4, addr(slot, fn, reg & 0xFC));
	out(PCI_CONFIG_DATA + (reg & 3), size, v);
}

/* --- a test device ---------------------------------------------------------- */

struct tdev {
	struct pci_device pci;
	int reads, writes;
	uint64_t off, val;
};

static uint64_t tdev_read(void *opaque, uint64_t off, unsigned size)
{
	struct tdev *t = opaque;

	(void)size;
	t->reads++;
	t->off = off;
	return 0xA5;
}

static void tdev_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct tdev *t = opaque;

	(void)size;
	t->writes++;
	t->off = off;
	t->val = v;
}

static void tdev_init(struct tdev *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	pci_device_init(&t->pci, name, 0x1234, 0x5678, 0x020000, 7);
	t->pci.config[PCI_INTERRUPT_PIN] = 1;
	pci_set_bar(&t->pci, 0, true, 64, tdev_read, tdev_write, t);
	pci_set_bar(&t->pci, 1, false, 4096, tdev_read, tdev_write, t);
}

static void plug(struct tdev *t, int slot)
{
	char err[128] = "";

	cr_assert_eq(pci_host_add(host, &t->pci, slot, err, sizeof(err)), 0,
	             "%s", err);
}

/* --- bus_unregister ------------------------------------------------------------ */

Test(pci, bus_unregister_removes_only_that_region)
{
	struct tdev t;

	tdev_init(&t, "t");
	cr_assert_eq(bus_register(io, "a", 0x100, 8, tdev_read, tdev_write, &t), 0);
	cr_assert_eq(bus_register(io, "b", 0x108, 8, tdev_read, tdev_write, &t), 0);
	cr_assert_eq(bus_unregister(io, 0x104), -1, "not a region start");
	cr_assert_eq(bus_unregister(io, 0x200), -1);
	cr_assert_eq(bus_unregister(io, 0x100), 0);
	cr_assert_null(bus_owner(io, 0x100));
	cr_assert_null(bus_owner(io, 0x107));
	cr_assert_str_eq(bus_owner(io, 0x108), "b");
	cr_assert_str_eq(bus_owner(io, PCI_CONFIG_DATA), "pci");
	cr_assert_eq(bus_unregister(io, 0x100), -1, "already gone");
	cr_assert_eq(bus_register(io, "c", 0x100, 8, tdev_read, tdev_write, &t), 0);
	cr_assert_str_eq(bus_owner(io, 0x100), "c");
}

/* --- configuration mechanism #1 ------------------------------------------- */

Test(pci, address_register_dword_only)
{
	out(PCI_CONFIG_ADDR, 4, 0x80000000);
	cr_assert_eq(in(PCI_CONFIG_ADDR, 4), 0x80000000);
	out(PCI_CONFIG_ADDR + 3, 1, 0x00);      /* not the register */
	out(PCI_CONFIG_ADDR, 2, 0x1234);
	cr_assert_eq(in(PCI_CONFIG_ADDR, 4), 0x80000000);
	cr_assert_eq(in(PCI_CONFIG_ADDR, 1), 0xFF);
	out(PCI_CONFIG_ADDR, 4, 0x8000FF07);   /* low two bits read as 0 */
	cr_assert_eq(in(PCI_CONFIG_ADDR, 4), 0x8000FF04);
}

Test(pci, enable_bit_gates_the_data_window)
{
	out(PCI_CONFIG_ADDR, 4, 0x00000000);    /* 00:00.0 reg 0, disabled */
	cr_assert_eq(in(PCI_CONFIG_DATA, 4), 0xFFFFFFFF);
	out(PCI_CONFIG_ADDR, 4, 0x80000000);
	cr_assert_eq(in(PCI_CONFIG_DATA, 4), 0x12378086);
}

Test(pci, host_and_isa_bridges)
{
	cr_assert_eq(cfg_read(0, 0, 0x00, 4), 0x12378086);
	cr_assert_eq(cfg_read(0, 0, 0x08, 4) >> 8, 0x060000);
	cr_assert_eq(cfg_read(0, 0, PCI_HEADER_TYPE, 1), 0x00);
	cr_assert_eq(cfg_read(1, 0, 0x00, 4), 0x70008086);
	cr_assert_eq(cfg_read(1, 0, 0x08, 4) >> 8, 0x060100);
	cr_assert_eq(cfg_read(1, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_MULTIFN);
	cr_assert_eq(cfg_read(1, 0, 0x60, 4), 0x0B0B0A0A, "PIRQA..D 10 10 11 11");
}

Test(pci, byte_word_dword_at_every_offset)
{
	/* 00:00.0 dword 0 is 86 80 37 12. */
	static const uint8_t b[4] = { 0x86, 0x80, 0x37, 0x12 };

	for (unsigned o = 0; o < 4; o++)
		cr_assert_eq(cfg_read(0, 0, o, 1), b[o], "byte %u", o);
	cr_assert_eq(cfg_read(0, 0, 0, 2), 0x8086);
	cr_assert_eq(cfg_read(0, 0, 1, 2), 0x3780);
	cr_assert_eq(cfg_read(0, 0, 2, 2), 0x1237);
	/* A dword at 0xCFE would cross into the next register: all ones. */
	cr_assert_eq(cfg_read(0, 0, 2, 4), 0xFFFFFFFF);
}

Test(pci, absent_functions_read_all_ones)
{
	cr_assert_eq(cfg_read(5, 0, 0, 4), 0xFFFFFFFF);
	cr_assert_eq(cfg_read(31, 7, 0x3C, 4), 0xFFFFFFFF);
	cr_assert_eq(cfg_read(0, 1, 0, 4), 0xFFFFFFFF);
	cr_assert_eq(cfg_read(5, 0, 0, 2), 0xFFFF);
	/* bus 1 does not exist */
	out(PCI_CONFIG_ADDR, 4, 0x80010000);
	cr_assert_eq(in(PCI_CONFIG_DATA, 4), 0xFFFFFFFF);
	cfg_write(5, 0, 0x10, 4, 0x1234);      /* dropped, nothing to crash */
}

Test(pci, read_only_bits_stay)
{
	cfg_write(0, 0, 0x00, 4, 0);
	cr_assert_eq(cfg_read(0, 0, 0, 4), 0x12378086);
	cfg_write(0, 0, PCI_INTERRUPT_LINE, 1, 0x42);
	cr_assert_eq(cfg_read(0, 0, PCI_INTERRUPT_LINE, 1), 0x42);
	cfg_write(1, 0, 0x60, 4, 0xFFFFFFFF);
	cr_assert_eq(cfg_read(1, 0, 0x60, 4), 0x8F8F8F8F,
	             "PIRQ route: enable bit and IRQ nibble only");
}

/* --- BARs ------------------------------------------------------------------- */

Test(pci, bars_placed_and_decoded_at_plug)
{
	struct tdev t;

	tdev_init(&t, "t");
	plug(&t, -1);
	cr_assert_eq(t.pci.devfn, 2 << 3, "first free slot is 2");
	cr_assert_eq(cfg_read(2, 0, 0, 4), 0x56781234);
	cr_assert_eq(cfg_read(2, 0, 0x10, 4), PCI_IO_START | 1);
	cr_assert_eq(cfg_read(2, 0, 0x14, 4), PCI_MEM_START);
	cr_assert_eq(cfg_read(2, 0, PCI_COMMAND, 2) & 3, PCI_CMD_IO | PCI_CMD_MEM);
	cr_assert_eq(in(PCI_IO_START + 5, 1), 0xA5);
	cr_assert_eq(t.off, 5);
	out(PCI_IO_START + 9, 2, 0xBEEF);
	cr_assert_eq(t.writes, 1);
	cr_assert_eq(t.off, 9);
	cr_assert_eq(t.val, 0xBEEF);
	cr_assert_str_eq(bus_owner(mmio, PCI_MEM_START + 4095), "t");
	cr_assert_null(bus_owner(mmio, PCI_MEM_START + 4096));
	cr_assert_null(bus_owner(io, PCI_IO_START + 64));
}

Test(pci, bar_sizing_and_relocation)
{
	struct tdev t;

	tdev_init(&t, "t");
	plug(&t, 3);
	cfg_write(3, 0, 0x10, 4, 0xFFFFFFFF);
	cr_assert_eq(cfg_read(3, 0, 0x10, 4), 0xFFFFFFC1, "I/O BAR of 64");
	cr_assert_null(bus_owner(io, PCI_IO_START), "sizing pattern unmaps");
	cfg_write(3, 0, 0x14, 4, 0xFFFFFFFF);
	cr_assert_eq(cfg_read(3, 0, 0x14, 4), 0xFFFFF000, "memory BAR of 4K");
	cr_assert_null(bus_owner(mmio, PCI_MEM_START));
	cr_assert_null(bus_owner(mmio, 0xFFFFF000), "top of 4G: not decoded");
	cfg_write(3, 0, 0x10, 4, 0xD000);
	cfg_write(3, 0, 0x14, 4, 0xE0100000);
	cr_assert_eq(cfg_read(3, 0, 0x10, 4), 0xD001);
	cr_assert_str_eq(bus_owner(io, 0xD000), "t");
	cr_assert_str_eq(bus_owner(io, 0xD03F), "t");
	cr_assert_null(bus_owner(io, PCI_IO_START));
	cr_assert_str_eq(bus_owner(mmio, 0xE0100000), "t");
	cr_assert_null(bus_owner(mmio, PCI_MEM_START));
	cr_assert_eq(in(0xD002, 1), 0xA5);
	cr_assert_eq(t.off, 2);
	/* Unused BARs and the ROM BAR stay 0 whatever is written. */
	cfg_write(3, 0, 0x18, 4, 0xFFFFFFFF);
	cfg_write(3, 0, 0x30, 4, 0xFFFFFFFF);
	cr_assert_eq(cfg_read(3, 0, 0x18, 4), 0);
	cr_assert_eq(cfg_read(3, 0, 0x30, 4), 0);
}

Test(pci, byte_writes_move_a_bar)
{
	struct tdev t;

	tdev_init(&t, "t");
	plug(&t, 2);
	cfg_write(2, 0, 0x11, 1, 0xE0);        /* BAR0 byte 1: 0xC0 -> 0xE0 */
	cr_assert_eq(cfg_read(2, 0, 0x10, 4), 0xE001);
	cr_assert_str_eq(bus_owner(io, 0xE000), "t");
	cr_assert_null(bus_owner(io, 0xC000));
}

Test(pci, command_register_enables_decoding)
{
	struct tdev t;

	tdev_init(&t, "t");
	plug(&t, 2);
	cfg_write(2, 0, PCI_COMMAND, 2, PCI_CMD_MEM);
	cr_assert_null(bus_owner(io, PCI_IO_START), "I/O decoding off");
	cr_assert_str_eq(bus_owner(mmio, PCI_MEM_START), "t");
	cfg_write(2, 0, PCI_COMMAND, 2, PCI_CMD_IO);
	cr_assert_str_eq(bus_owner(io, PCI_IO_START), "t");
	cr_assert_null(bus_owner(mmio, PCI_MEM_START), "memory decoding off");
	cfg_write(2, 0, PCI_COMMAND, 2, 0);
	cr_assert_null(bus_owner(io, PCI_IO_START));
	/* A BAR moved while decoding is off appears at its new place. */
	cfg_write(2, 0, 0x10, 4, 0xD000);
	cr_assert_null(bus_owner(io, 0xD000));
	cfg_write(2, 0, PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM);
	cr_assert_str_eq(bus_owner(io, 0xD000), "t");
	cr_assert_str_eq(bus_owner(mmio, PCI_MEM_START), "t");
}

Test(pci, bar_over_another_device_is_left_unmapped,
     .init = cr_redirect_stderr)
{
	struct tdev t;
	struct tdev other;

	tdev_init(&t, "t");
	tdev_init(&other, "uart");
	cr_assert_eq(bus_register(io, "uart", 0x3F8, 8, tdev_read, tdev_write,
	                          &other), 0);
	plug(&t, 2);
	cfg_write(2, 0, 0x10, 4, 0x3C0);       /* 0x3C0..0x3FF covers 0x3F8 */
	cr_assert_str_eq(bus_owner(io, 0x3F8), "uart");
	cr_assert_null(bus_owner(io, 0x3C0));
	cr_assert_null(bus_owner(io, PCI_IO_START));
	fflush(stderr);
	cr_assert_stderr_neq_str("");
}

Test(pci, plug_fails_cleanly_when_its_ports_are_taken,
     .init = cr_redirect_stderr)
{
	struct tdev t, other;
	char err[128] = "";

	tdev_init(&t, "t");
	tdev_init(&other, "other");
	cr_assert_eq(bus_register(io, "other", PCI_IO_START, 4, tdev_read,
	                          tdev_write, &other), 0);
	cr_assert_eq(pci_host_add(host, &t.pci, 2, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "BAR0 at 0xc000 is taken");
	cr_assert_null(bus_owner(mmio, PCI_MEM_START), "memory BAR undone");
	cr_assert_eq(cfg_read(2, 0, 0, 4), 0xFFFFFFFF, "slot left empty");
	cr_assert_eq(t.pci.devfn, -1);
}

Test(pci, remove_unmaps)
{
	struct tdev t;

	tdev_init(&t, "t");
	plug(&t, 4);
	pci_host_remove(host, &t.pci);
	cr_assert_null(bus_owner(io, PCI_IO_START));
	cr_assert_null(bus_owner(mmio, PCI_MEM_START));
	cr_assert_eq(cfg_read(4, 0, 0, 4), 0xFFFFFFFF);
}

/* --- INTx -------------------------------------------------------------------- */

Test(pci, intx_routed_through_pirq_to_isa_irq)
{
	struct tdev t;

	tdev_init(&t, "t");
	plug(&t, 2);                       /* slot 2 INTA -> PIRQB -> IRQ 10 */
	cr_assert_eq(cfg_read(2, 0, PCI_INTERRUPT_LINE, 1), 10);
	cr_assert_eq(cfg_read(2, 0, PCI_INTERRUPT_PIN, 1), 1);
	pci_set_irq(&t.pci, 1);
	cr_assert_eq(irq_level[10], 1);
	cr_assert_eq(cfg_read(2, 0, PCI_STATUS, 2) & PCI_STATUS_INTX,
	             PCI_STATUS_INTX);
	pci_set_irq(&t.pci, 1);
	cr_assert_eq(irq_calls, 1, "no change, no call");
	pci_set_irq(&t.pci, 0);
	cr_assert_eq(irq_level[10], 0);
	cr_assert_eq(cfg_read(2, 0, PCI_STATUS, 2) & PCI_STATUS_INTX, 0);
}

Test(pci, swizzle_by_slot)
{
	struct tdev a, b;

	tdev_init(&a, "a");
	tdev_init(&b, "b");
	plug(&a, 4);                       /* (4 + 1 - 2) & 3 = PIRQD -> 11 */
	plug(&b, 5);                       /* PIRQA -> 10 */
	cr_assert_eq(cfg_read(4, 0, PCI_INTERRUPT_LINE, 1), 11);
	cr_assert_eq(cfg_read(5, 0, PCI_INTERRUPT_LINE, 1), 10);
	pci_set_irq(&a.pci, 1);
	cr_assert_eq(irq_level[11], 1);
	cr_assert_eq(irq_level[10], 0);
}

Test(pci, shared_line_stays_up_while_any_device_holds_it)
{
	struct tdev a, b;

	tdev_init(&a, "a");
	tdev_init(&b, "b");
	plug(&a, 2);                       /* PIRQB -> 10 */
	plug(&b, 6);                       /* PIRQB -> 10 */
	pci_set_irq(&a.pci, 1);
	pci_set_irq(&b.pci, 1);
	pci_set_irq(&a.pci, 0);
	cr_assert_eq(irq_level[10], 1);
	pci_set_irq(&b.pci, 0);
	cr_assert_eq(irq_level[10], 0);
}

Test(pci, rerouting_moves_an_asserted_line)
{
	struct tdev t;

	tdev_init(&t, "t");
	plug(&t, 2);
	pci_set_irq(&t.pci, 1);
	cfg_write(1, 0, 0x61, 1, 5);       /* PIRQB -> IRQ 5 */
	cr_assert_eq(irq_level[10], 0);
	cr_assert_eq(irq_level[5], 1);
	cfg_write(1, 0, 0x61, 1, 0x80);    /* disabled */
	cr_assert_eq(irq_level[5], 0);
	cfg_write(1, 0, 0x61, 1, 13);      /* a reserved encoding: off too */
	cr_assert_eq(irq_level[13], 0);
	cr_assert_eq(pci_host_pirq_irq(host, 1), -1);
	cfg_write(1, 0, 0x61, 1, 11);
	cr_assert_eq(irq_level[11], 1);
}

Test(pci, intx_disable_bit_masks_the_pin)
{
	struct tdev t;

	tdev_init(&t, "t");
	plug(&t, 2);
	pci_set_irq(&t.pci, 1);
	cfg_write(2, 0, PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM |
	          PCI_CMD_INTX_OFF);
	cr_assert_eq(irq_level[10], 0);
	cr_assert_eq(cfg_read(2, 0, PCI_STATUS, 2) & PCI_STATUS_INTX,
	             PCI_STATUS_INTX, "status still shows the pin");
	cfg_write(2, 0, PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM);
	cr_assert_eq(irq_level[10], 1);
}

Test(pci, remove_drops_the_line)
{
	struct tdev t;

	tdev_init(&t, "t");
	plug(&t, 2);
	pci_set_irq(&t.pci, 1);
	pci_host_remove(host, &t.pci);
	cr_assert_eq(irq_level[10], 0);
}
