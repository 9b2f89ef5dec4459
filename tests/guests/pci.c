/*
 * pci.c — PCI bus 0 through configuration mechanism #1, as a kernel
 * without a BIOS sees it: the address register, the enable bit, byte and
 * word accesses in the data window, absent functions, the i440FX host
 * bridge and the PIIX3 ISA bridge with its PIRQ routing.  Prints one line
 * per function found:
 *
 *     pci 00:SS.F VVVV:DDDD class CCCCCC pin P irq I
 *
 * With disk=1 (popek --disk) it also checks the virtio block device: its
 * identity, BAR0 (I/O, sized by writing ones, moved and switched off
 * through the command register) and its Interrupt Line, which must be the
 * IRQ the PIRQ router gives its slot and pin.
 */
#include "virtio-drv.h"

static int print_function(int slot, int fn, uint32_t id, void *ctx)
{
	(void)ctx;
	printf("pci 00:%02x.%x %04x:%04x class %06x pin %u irq %u\n",
	       slot, fn, id & 0xFFFF, id >> 16, pci_read32(slot, fn, 0x08) >> 8,
	       pci_read8(slot, fn, 0x3D), pci_read8(slot, fn, 0x3C));
	return 0;
}

static void enumerate(void)
{
	pci_walk(print_function, NULL);
}

static void mechanism(void)
{
	outl(0x80000000, 0xCF8);
	check(inl(0xCF8) == 0x80000000, "address-register-reads-back");
	outl(0x00000000, 0xCF8);
	check(inl(0xCFC) == 0xFFFFFFFF, "enable-bit-clear-reads-ones");
	outl(0x80000000, 0xCF8);
	check(inb(0xCFD) == 0x80 && inw(0xCFE) == 0x1237 && inb(0xCFC) == 0x86,
	      "byte-and-word-reads-in-the-window");
	check(pci_read32(31, 0, 0) == 0xFFFFFFFF &&
	      pci_read32(0, 7, 0) == 0xFFFFFFFF, "absent-function-reads-ones");
	pci_write32(0, 0, 0, 0);
	check(pci_read32(0, 0, 0) == 0x12378086, "vendor-id-read-only");
}

static void bridges(void)
{
	check(pci_read32(0, 0, 0) == 0x12378086, "host-bridge-i440fx");
	check(pci_read32(0, 0, 0x08) >> 8 == 0x060000, "host-bridge-class");
	check(pci_read32(1, 0, 0) == 0x70008086, "isa-bridge-piix3");
	check(pci_read32(1, 0, 0x08) >> 8 == 0x060100, "isa-bridge-class");
	check(pci_read8(1, 0, 0x0E) & 0x80, "isa-bridge-multifunction");
	check(pci_read32(1, 0, 0x60) == 0x0B0B0A0A, "pirq-routes-10-10-11-11");
}

static void virtio_device(void)
{
	int devfn = pci_find(0x1AF4, 0x1001), slot, fn;
	uint32_t bar, size, features;
	uint16_t base, cmd;

	if (!check(devfn >= 0, "virtio-blk-found"))
		return;
	slot = devfn >> 3;
	fn = devfn & 7;
	check(pci_read16(slot, fn, 0x2E) == 2 && pci_read16(slot, fn, 0x2C) == 0x1AF4,
	      "virtio-subsystem-block");
	check(pci_read8(slot, fn, 0x08) == 0, "virtio-legacy-revision-0");
	check(pci_read8(slot, fn, 0x3D) == 1, "virtio-pin-inta");
	check(pci_read8(slot, fn, 0x3C) == pci_routed_irq(slot, 1),
	      "virtio-irq-line-matches-pirq-route");
	bar = pci_read32(slot, fn, 0x10);
	base = (uint16_t)(bar & ~3u);
	cmd = pci_read16(slot, fn, 0x04);
	check((bar & 1) && base != 0 && (cmd & 1), "virtio-bar0-io-enabled");
	features = inl(base);
	check(features != 0xFFFFFFFF && (features & (1u << 9)),
	      "virtio-bar0-answers-flush-feature");
	pci_write32(slot, fn, 0x10, 0xFFFFFFFF);
	size = ~(pci_read32(slot, fn, 0x10) & ~3u) + 1;
	printf("virtio BAR0 at 0x%x, %u bytes\n", base, size & 0xFFFF);
	check((size & 0xFFFF) >= 0x40 && !((size & 0xFFFF) & ((size & 0xFFFF) - 1)),
	      "virtio-bar0-sized-by-ones");
	pci_write32(slot, fn, 0x10, 0xD000);
	check(inl(0xD000) == features, "bar0-moved-answers-at-new-base");
	check(inl(base) == 0xFFFFFFFF, "bar0-moved-old-base-silent");
	pci_write16(slot, fn, 0x04, cmd & ~1u);
	check(inl(0xD000) == 0xFFFFFFFF, "io-decode-off-silent");
	pci_write16(slot, fn, 0x04, cmd);
	pci_write32(slot, fn, 0x10, bar);
	check(inl(base) == features, "bar0-restored");
}

int guest_main(void)
{
	enumerate();
	mechanism();
	bridges();
	if (cmdline_int("disk", 0))
		virtio_device();
	else
		check(pci_find(0x1AF4, 0x1001) < 0, "no-virtio-without-disk");
	return finish();
}
