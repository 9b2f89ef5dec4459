/*
 * virtio_blk.h — a legacy (virtio 0.9.5, "transitional") virtio block
 * device on PCI, backed by a raw image file: 1af4:1001, subsystem 2, BAR0 =
 * 64 bytes of I/O ports holding the legacy header and the block config,
 * one request queue of VBLK_QUEUE_SIZE entries in the legacy split layout,
 * INTx with the ISR register.  What Linux's virtio_pci (legacy) and
 * virtio_blk drive.
 *
 * The core is vblk_new + the BAR handlers: a unit test drives it at
 * register level against a fake RAM buffer.  With `threaded`, a queue
 * notify only wakes the device's worker thread, which does the file I/O
 * (preadv, pwritev, fdatasync) and raises the interrupt; without, the
 * notify runs the requests before it returns (tests).
 *
 * Everything the guest hands the device is checked before use (the ring
 * itself in virtqueue.c; here: a header and a status byte, sectors inside
 * the image, lengths in whole sectors).  A bad ring or chain stops the
 * device (status bit DEVICE_NEEDS_RESET, one line on stderr) until the
 * driver resets it; a bad request in a good chain completes with
 * VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP.
 *
 * Locking: vb->lock guards the registers and queue state against the
 * worker; it is dropped around file I/O.  A reset (status 0) waits for the
 * request in flight.  Lock order: vb->lock, then the interrupt callback's.
 */
#ifndef POPEK_DEVICES_VIRTIO_BLK_H
#define POPEK_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "devices/pci.h"
#include "devices/virtqueue.h"

/* Legacy virtio-pci header in BAR0 (no MSI-X). */
#define VIRTIO_PCI_HOST_FEATURES  0x00
#define VIRTIO_PCI_GUEST_FEATURES 0x04
#define VIRTIO_PCI_QUEUE_PFN      0x08
#define VIRTIO_PCI_QUEUE_NUM      0x0C
#define VIRTIO_PCI_QUEUE_SEL      0x0E
#define VIRTIO_PCI_QUEUE_NOTIFY   0x10
#define VIRTIO_PCI_STATUS         0x12
#define VIRTIO_PCI_ISR            0x13
#define VIRTIO_PCI_CONFIG         0x14   /* struct virtio_blk_config */
#define VBLK_BAR_SIZE             0x40

#define VIRTIO_STATUS_DRIVER_OK   0x04
#define VIRTIO_STATUS_NEEDS_RESET 0x40

#define VIRTIO_BLK_F_SEG_MAX   (1u << 2)
#define VIRTIO_BLK_F_RO        (1u << 5)
#define VIRTIO_BLK_F_BLK_SIZE  (1u << 6)
#define VIRTIO_BLK_F_FLUSH     (1u << 9)

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20

#define VBLK_QUEUE_SIZE  256
#define VBLK_SECTOR      512

struct vblk_params {
	uint8_t *ram;              /* guest-physical a is ram[a] */
	uint64_t ram_bytes;
	int fd;                    /* the image; vblk_free closes it */
	uint64_t bytes;            /* its size, a multiple of 512 */
	bool ro;
	const char *id;            /* GET_ID answer (first 20 bytes) */
	bool threaded;
	/* INTx: level 1 while ISR is non-zero; any thread, vb->lock held */
	void (*set_irq)(void *ctx, int level);
	void *irqctx;
};

struct vblk;

struct vblk *vblk_new(const struct vblk_params *p);
void vblk_free(struct vblk *vb);
/* Its PCI function (identity, BAR0 on vblk_io_read/write). */
struct pci_device *vblk_pci(struct vblk *vb);
uint64_t vblk_io_read(void *opaque, uint64_t off, unsigned size);
void vblk_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v);

/* Open and lock an image for the device: 0, or -1 with one line in err
 * (missing, unreadable, locked by another process, bad size). */
int vblk_open_image(const char *path, bool ro, int *fd, uint64_t *bytes,
                    char *err, size_t errlen);

#endif
