/*
 * test_virtio_blk.c — unit tests of the virtio block device
 * (devices/virtio_blk.c, devices/virtqueue.c), driven at register level
 * the way a legacy virtio-pci driver drives it, against a fake guest RAM
 * and a temporary image file; then the same device on the platform (PCI
 * host, PIC) as popek builds it, and the --disk image checks.
 *
 * The fake RAM sits between PROT_NONE guards (a page below, 2 MiB above,
 * more than a 16-bit descriptor index can reach past a ring): a device
 * that touched memory outside it would crash the test.  Requests run
 * inline (threaded = false) except in the tests of the worker thread.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devices/bus.h"
#include "devices/devices.h"
#include "devices/pci.h"
#include "devices/virtio_blk.h"

#define PAGE 4096u
#define GUARD_ABOVE (2u << 20)
#define RAM_BYTES (128u * 1024)
#define QN VBLK_QUEUE_SIZE
#define RING 0x1000u                  /* queue PFN 1 */
#define AVAIL (RING + 16u * QN)
#define USED (RING + 0x2000u)         /* 16*256 + 6 + 2*256 -> next 4K */
#define HDR 0x8000u
#define STATUS 0x8100u
#define DATA 0x9000u
#define IMG_SECTORS 64u

static uint8_t *region, *ram;
static char img_path[64];
static int img_fd = -1;
static struct vblk *vb;
static int irq_level, irq_raises;
static uint16_t avail_idx;

static void set_irq(void *ctx, int level)
{
	(void)ctx;
	if (level && !irq_level)
		irq_raises++;
	irq_level = level;
}

static uint8_t img_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512);
}

static void make_image(void)
{
	uint8_t buf[IMG_SECTORS * 512];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = img_byte(i);
	strcpy(img_path, "/tmp/popek-vblk-XXXXXX");
	img_fd = mkstemp(img_path);
	cr_assert(img_fd >= 0);
	cr_assert_eq(write(img_fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
}

static void new_device(bool ro, bool threaded)
{
	int fd = open(img_path, ro ? O_RDONLY : O_RDWR);
	struct vblk_params p = {
		.ram = ram, .ram_bytes = RAM_BYTES, .fd = fd,
		.bytes = IMG_SECTORS * 512, .ro = ro, .id = "disk-serial-1",
		.threaded = threaded, .set_irq = set_irq,
	};

	cr_assert(fd >= 0);
	vb = vblk_new(&p);
	cr_assert_not_null(vb);
}

static void setup(void)
{
	region = mmap(NULL, PAGE + RAM_BYTES + GUARD_ABOVE, PROT_NONE,
	              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(region != MAP_FAILED);
	ram = region + PAGE;
	cr_assert_eq(mprotect(ram, RAM_BYTES, PROT_READ | PROT_WRITE), 0);
	make_image();
	irq_level = irq_raises = 0;
	avail_idx = 0;
	vb = NULL;
}

static void teardown(void)
{
	vblk_free(vb);
	munmap(region, PAGE + RAM_BYTES + GUARD_ABOVE);
	close(img_fd);
	unlink(img_path);
}

TestSuite(vblk, .init = setup, .fini = teardown);

/* --- a minimal legacy driver ------------------------------------------------ */

static uint64_t rd(unsigned off, unsigned size)
{
	return vblk_io_read(vb, off, size);
}

static void wr(unsigned off, unsigned size, uint64_t v)
{
	vblk_io_write(vb, off, size, v);
}

static void driver_init(void)
{
	wr(VIRTIO_PCI_STATUS, 1, 0);
	wr(VIRTIO_PCI_STATUS, 1, 1);           /* ACKNOWLEDGE */
	wr(VIRTIO_PCI_STATUS, 1, 3);           /* DRIVER */
	wr(VIRTIO_PCI_GUEST_FEATURES, 4, rd(VIRTIO_PCI_HOST_FEATURES, 4));
	wr(VIRTIO_PCI_QUEUE_SEL, 2, 0);
	memset(ram + RING, 0, 3 * PAGE);
	avail_idx = 0;
	wr(VIRTIO_PCI_QUEUE_PFN, 4, RING >> 12);
	wr(VIRTIO_PCI_STATUS, 1, 7);           /* DRIVER_OK */
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                 uint16_t next)
{
	uint8_t *d = ram + RING + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static uint16_t used_idx(void)
{
	uint16_t v;

	memcpy(&v, ram + USED + 2, 2);
	return v;
}

static uint32_t used_len(unsigned slot)
{
	uint32_t v;

	memcpy(&v, ram + USED + 4 + 8 * (slot % QN) + 4, 4);
	return v;
}

static void post(uint16_t head)
{
	memcpy(ram + AVAIL + 4 + 2 * (avail_idx % QN), &head, 2);
	avail_idx++;
	memcpy(ram + AVAIL + 2, &avail_idx, 2);
}

static void header(uint32_t type, uint64_t sector)
{
	memset(ram + HDR, 0, 16);
	memcpy(ram + HDR, &type, 4);
	memcpy(ram + HDR + 8, &sector, 8);
}

/* header, one data buffer (none if len is 0), status: post, notify, and
 * return the status byte (0xEE if the device did not complete it). */
static uint8_t request(uint32_t type, uint64_t sector, uint32_t len,
                       bool device_writes)
{
	uint16_t before = used_idx();

	header(type, sector);
	ram[STATUS] = 0xEE;
	desc(0, HDR, 16, VRING_DESC_F_NEXT, len ? 1 : 2);
	desc(1, DATA, len, VRING_DESC_F_NEXT |
	     (device_writes ? VRING_DESC_F_WRITE : 0), 2);
	desc(2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	post(0);
	wr(VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
	return used_idx() == (uint16_t)(before + 1) ? ram[STATUS] : 0xEE;
}

/* The redirected stderr so far mentions s (reading it consumes it, so
 * what was read is kept). */
static char err_text[8192];
static size_t err_len;

static bool stderr_has(const char *s)
{
	FILE *f;

	fflush(stderr);
	f = cr_get_redirected_stderr();
	err_len += fread(err_text + err_len, 1, sizeof(err_text) - 1 - err_len, f);
	err_text[err_len] = 0;
	return strstr(err_text, s) != NULL;
}

static bool broken(void)
{
	return rd(VIRTIO_PCI_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET;
}

/* --- identity and registers ---------------------------------------------------- */

Test(vblk, pci_identity)
{
	struct pci_device *d;

	new_device(false, false);
	d = vblk_pci(vb);
	cr_assert_eq(d->config[0] | d->config[1] << 8, 0x1AF4);
	cr_assert_eq(d->config[2] | d->config[3] << 8, 0x1001);
	cr_assert_eq(d->config[PCI_REVISION], 0, "legacy ABI version 0");
	cr_assert_eq(d->config[PCI_SUBSYS_ID], 2);
	cr_assert_eq(d->config[PCI_SUBSYS_VENDOR + 1] << 8 |
	             d->config[PCI_SUBSYS_VENDOR], 0x1AF4);
	cr_assert_eq(d->config[PCI_INTERRUPT_PIN], 1);
	cr_assert_eq(d->config[0x0B], 0x01, "mass storage class");
	cr_assert(d->bar[0].io);
	cr_assert_eq(d->bar[0].size, VBLK_BAR_SIZE);
}

Test(vblk, registers)
{
	uint64_t cap = 0;

	new_device(false, false);
	cr_assert_eq(rd(VIRTIO_PCI_HOST_FEATURES, 4),
	             VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE |
	             VIRTIO_BLK_F_FLUSH);
	cr_assert_eq(rd(VIRTIO_PCI_QUEUE_NUM, 2), QN);
	for (unsigned i = 0; i < 8; i++)      /* Linux reads config bytewise */
		cap |= rd(VIRTIO_PCI_CONFIG + i, 1) << (8 * i);
	cr_assert_eq(cap, IMG_SECTORS);
	cr_assert_eq(rd(VIRTIO_PCI_CONFIG + 12, 4), QN - 2, "seg_max");
	cr_assert_eq(rd(VIRTIO_PCI_CONFIG + 20, 4), 512, "blk_size");
	wr(VIRTIO_PCI_GUEST_FEATURES, 4, 0xFFFFFFFF);
	cr_assert_eq(rd(VIRTIO_PCI_GUEST_FEATURES, 4),
	             rd(VIRTIO_PCI_HOST_FEATURES, 4), "only offered bits stick");
	wr(VIRTIO_PCI_QUEUE_SEL, 2, 1);
	cr_assert_eq(rd(VIRTIO_PCI_QUEUE_NUM, 2), 0, "one queue only");
	wr(VIRTIO_PCI_QUEUE_PFN, 4, 5);
	cr_assert_eq(rd(VIRTIO_PCI_QUEUE_PFN, 4), 0);
	wr(VIRTIO_PCI_QUEUE_SEL, 2, 0);
	wr(VIRTIO_PCI_QUEUE_PFN, 4, 5);
	cr_assert_eq(rd(VIRTIO_PCI_QUEUE_PFN, 4), 5);
	wr(VIRTIO_PCI_STATUS, 1, 0);
	cr_assert_eq(rd(VIRTIO_PCI_QUEUE_PFN, 4), 0, "reset clears the queue");
	cr_assert_eq(rd(VIRTIO_PCI_GUEST_FEATURES, 4), 0);
}

/* --- requests ------------------------------------------------------------------ */

Test(vblk, read_into_split_buffers_with_interrupt)
{
	new_device(false, false);
	driver_init();
	header(VIRTIO_BLK_T_IN, 3);
	ram[STATUS] = 0xEE;
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 5);
	desc(5, DATA, 700, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 9);
	desc(9, DATA + 0x1000, 324, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	post(0);
	wr(VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(used_len(0), 1025);
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 1024; i++) {
		uint8_t got = i < 700 ? ram[DATA + i] : ram[DATA + 0x1000 + i - 700];
		cr_assert_eq(got, img_byte(3 * 512 + i), "byte %u", i);
	}
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(rd(VIRTIO_PCI_ISR, 1), 1);
	cr_assert_eq(irq_level, 0, "reading ISR lowers the line");
	cr_assert_eq(rd(VIRTIO_PCI_ISR, 1), 0);
}

Test(vblk, write_then_flush_reach_the_file)
{
	uint8_t back[1024];

	new_device(false, false);
	driver_init();
	for (unsigned i = 0; i < 1024; i++)
		ram[DATA + i] = (uint8_t)(0xA0 ^ i);
	cr_assert_eq(request(VIRTIO_BLK_T_OUT, 10, 1024, false), VIRTIO_BLK_S_OK);
	cr_assert_eq(used_len(0), 1, "only the status byte written");
	cr_assert_eq(pread(img_fd, back, sizeof(back), 10 * 512), 1024);
	cr_assert_arr_eq(back, ram + DATA, 1024);
	cr_assert_eq(pread(img_fd, back, 1, 9 * 512 + 511), 1);
	cr_assert_eq(back[0], img_byte(9 * 512 + 511), "neighbour untouched");
	cr_assert_eq(request(VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
}

Test(vblk, get_id)
{
	new_device(false, false);
	driver_init();
	memset(ram + DATA, 0x55, 64);
	cr_assert_eq(request(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true),
	             VIRTIO_BLK_S_OK);
	cr_assert_str_eq((char *)ram + DATA, "disk-serial-1");
	cr_assert_eq(ram[DATA + 19], 0, "NUL padded");
	cr_assert_eq(ram[DATA + 20], 0x55, "nothing past the buffer");
}

Test(vblk, bad_requests_get_an_error_status)
{
	new_device(false, false);
	driver_init();
	cr_assert_eq(request(99, 0, 512, true), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(request(VIRTIO_BLK_T_IN, IMG_SECTORS, 512, true),
	             VIRTIO_BLK_S_IOERR, "first sector past the end");
	cr_assert_eq(request(VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 1024, true),
	             VIRTIO_BLK_S_IOERR, "runs past the end");
	cr_assert_eq(request(VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, 512, false),
	             VIRTIO_BLK_S_IOERR, "sector * 512 overflows");
	cr_assert_eq(request(VIRTIO_BLK_T_OUT, UINT64_MAX, 512, false),
	             VIRTIO_BLK_S_IOERR);
	cr_assert_eq(request(VIRTIO_BLK_T_IN, 0, 100, true), VIRTIO_BLK_S_IOERR,
	             "not whole sectors");
	cr_assert_eq(request(VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 512, true),
	             VIRTIO_BLK_S_OK, "the last sector is fine");
	cr_assert_not(broken(), "an error status does not stop the device");
}

Test(vblk, read_only_refuses_writes)
{
	uint8_t back[512];

	new_device(true, false);
	cr_assert(rd(VIRTIO_PCI_HOST_FEATURES, 4) & VIRTIO_BLK_F_RO);
	driver_init();
	memset(ram + DATA, 0xCC, 512);
	cr_assert_eq(request(VIRTIO_BLK_T_OUT, 1, 512, false), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(pread(img_fd, back, 512, 512), 512);
	for (unsigned i = 0; i < 512; i++)
		cr_assert_eq(back[i], img_byte(512 + i));
	cr_assert_eq(request(VIRTIO_BLK_T_IN, 1, 512, true), VIRTIO_BLK_S_OK);
	cr_assert_eq(request(VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
}

Test(vblk, no_interrupt_flag_is_honoured)
{
	new_device(false, false);
	driver_init();
	ram[AVAIL] = VRING_AVAIL_F_NO_INTERRUPT;
	cr_assert_eq(request(VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);
	cr_assert_eq(irq_raises, 0);
	cr_assert_eq(rd(VIRTIO_PCI_ISR, 1), 0);
}

Test(vblk, nothing_runs_before_driver_ok)
{
	new_device(false, false);
	wr(VIRTIO_PCI_STATUS, 1, 3);
	memset(ram + RING, 0, 3 * PAGE);
	wr(VIRTIO_PCI_QUEUE_PFN, 4, RING >> 12);
	cr_assert_eq(request(VIRTIO_BLK_T_IN, 0, 512, true), 0xEE);
	wr(VIRTIO_PCI_STATUS, 1, 7);
	cr_assert_eq(used_idx(), 1, "DRIVER_OK starts the waiting request");
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
}

/* --- a malicious driver ------------------------------------------------------ */

/* Post the chain at head 0 as set up by the caller; the device must stop
 * without completing it, then work again after a reset. */
static void expect_rejected(const char *what)
{
	uint16_t before = used_idx();

	post(0);
	wr(VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
	cr_assert(broken(), "%s: NEEDS_RESET set", what);
	cr_assert_eq(used_idx(), before, "%s: nothing completed", what);
	cr_assert_eq(ram[STATUS], 0xEE, "%s: no status written", what);
	wr(VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);     /* still stopped */
	cr_assert_eq(used_idx(), before);
	driver_init();
	cr_assert_not(broken(), "%s: reset clears it", what);
	cr_assert_eq(request(VIRTIO_BLK_T_IN, 2, 512, true), VIRTIO_BLK_S_OK,
	             "%s: works again after reset", what);
	cr_assert_eq(ram[DATA], img_byte(1024));
}

static void chain_with_data(uint64_t addr, uint32_t len)
{
	header(VIRTIO_BLK_T_IN, 0);
	ram[STATUS] = 0xEE;
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 1);
	desc(1, addr, len, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(2, STATUS, 1, VRING_DESC_F_WRITE, 0);
}

Test(vblk, buffer_outside_ram, .init = cr_redirect_stderr)
{
	new_device(false, false);
	driver_init();
	chain_with_data(RAM_BYTES, 512);            /* the guard page */
	expect_rejected("just past RAM");
	chain_with_data(RAM_BYTES - 256, 512);      /* straddles the end */
	expect_rejected("straddling the end");
	chain_with_data(0x1000, 0xFFFFFFFF);        /* length too long */
	expect_rejected("long length");
	chain_with_data(UINT64_MAX - 15, 512);      /* addr + len wraps */
	expect_rejected("wrapping address");
	chain_with_data(0x100000000ull, 512);
	expect_rejected("above 4 GiB");
	cr_assert(stderr_has("popek: virtio-blk: bad descriptor chain at head 0: "
	                     "buffer outside guest RAM; device stopped"));
}

Test(vblk, descriptor_index_out_of_range, .init = cr_redirect_stderr)
{
	new_device(false, false);
	driver_init();
	chain_with_data(DATA, 512);
	desc(1, DATA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, QN);
	expect_rejected("next = queue size");
	cr_assert(stderr_has("head 0: descriptor index out of range"));
	/* a head index out of range in the avail ring */
	chain_with_data(DATA, 512);
	post(0xFFFF);
	wr(VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
	cr_assert(broken(), "head 0xFFFF");
	cr_assert_eq(ram[STATUS], 0xEE);
	cr_assert(stderr_has("head 65535: descriptor index out of range"));
}

Test(vblk, descriptor_loop, .init = cr_redirect_stderr)
{
	new_device(false, false);
	driver_init();
	chain_with_data(DATA, 512);
	desc(2, STATUS, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	expect_rejected("1 -> 2 -> 1");
	chain_with_data(DATA, 512);
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 0);
	expect_rejected("0 -> 0");
	cr_assert(stderr_has("descriptor chain loops"));
}

Test(vblk, malformed_chains, .init = cr_redirect_stderr)
{
	new_device(false, false);
	driver_init();
	chain_with_data(DATA, 512);
	desc(2, STATUS, 1, 0, 0);               /* no writable status byte */
	expect_rejected("no status byte");
	chain_with_data(DATA, 512);
	desc(0, HDR, 8, VRING_DESC_F_NEXT, 1);  /* header too short */
	desc(1, DATA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	expect_rejected("short header");
	chain_with_data(DATA, 512);
	desc(0, HDR, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(1, DATA, 512, VRING_DESC_F_NEXT, 2);
	expect_rejected("readable after writable");
	chain_with_data(DATA, 512);
	desc(1, DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT, 2);
	expect_rejected("indirect not offered");
	cr_assert(stderr_has("without header or status byte"));
	cr_assert(stderr_has("readable buffer after a writable one"));
}

Test(vblk, avail_index_jump, .init = cr_redirect_stderr)
{
	new_device(false, false);
	driver_init();
	chain_with_data(DATA, 512);
	avail_idx = QN + 1;
	memcpy(ram + AVAIL + 2, &avail_idx, 2);
	wr(VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
	cr_assert(broken());
	cr_assert_eq(used_idx(), 0);
	cr_assert(stderr_has("avail index jumped from 0 to 257"));
}

Test(vblk, ring_outside_ram, .init = cr_redirect_stderr)
{
	new_device(false, false);
	wr(VIRTIO_PCI_STATUS, 1, 3);
	wr(VIRTIO_PCI_QUEUE_PFN, 4, (RAM_BYTES - PAGE) >> 12); /* ring spills */
	cr_assert(broken());
	wr(VIRTIO_PCI_STATUS, 1, 7);
	wr(VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
	wr(VIRTIO_PCI_QUEUE_PFN, 4, 0xFFFFFFFF);
	cr_assert(broken());
	cr_assert(stderr_has("queue at 0x1f000 lies outside guest RAM"));
	driver_init();
	cr_assert_not(broken());
	cr_assert_eq(request(VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);
}

/* --- the worker thread ----------------------------------------------------------- */

static bool wait_used(uint16_t idx)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n((uint16_t *)(ram + USED + 2), __ATOMIC_ACQUIRE) == idx)
			return true;
		usleep(1000);
	}
	return false;
}

Test(vblk, worker_thread_runs_a_batch)
{
	new_device(false, true);
	driver_init();
	/* 8 reads of one sector each, posted at once. */
	for (unsigned r = 0; r < 8; r++) {
		unsigned d = 3 * r;

		memset(ram + HDR + 16 * r, 0, 16);
		memcpy(ram + HDR + 16 * r + 8, &(uint64_t){ r }, 8);
		ram[STATUS + r] = 0xEE;
		desc(d, HDR + 16 * r, 16, VRING_DESC_F_NEXT, (uint16_t)(d + 1));
		desc(d + 1, DATA + 512 * r, 512,
		     VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, (uint16_t)(d + 2));
		desc(d + 2, STATUS + r, 1, VRING_DESC_F_WRITE, 0);
		post((uint16_t)d);
	}
	wr(VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
	cr_assert(wait_used(8), "all 8 completed (used idx %u)", used_idx());
	for (unsigned r = 0; r < 8; r++) {
		cr_assert_eq(ram[STATUS + r], VIRTIO_BLK_S_OK);
		cr_assert_eq(ram[DATA + 512 * r + 17], img_byte(512 * r + 17));
	}
	cr_assert_eq(ram[USED] & VRING_USED_F_NO_NOTIFY, 0,
	             "notifications back on when idle");
	cr_assert_eq(rd(VIRTIO_PCI_ISR, 1), 1);
	cr_assert_eq(irq_level, 0);
	wr(VIRTIO_PCI_STATUS, 1, 0);       /* reset with the worker idle */
}

/* --- the image behind --disk ------------------------------------------------- */

Test(vblk_image, open_errors)
{
	char err[256], dir[] = "/tmp/popek-vblkd-XXXXXX", path[300];
	int fd, fd2, cfd;
	uint64_t bytes;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.img", dir);
	cr_assert_eq(vblk_open_image(path, false, &fd, &bytes, err, sizeof(err)), -1);
	cr_assert(strstr(err, "No such file"), "%s", err);
	cr_assert_eq(vblk_open_image(dir, true, &fd, &bytes, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a regular file"), "%s", err);
	cfd = open(path, O_CREAT | O_RDWR, 0600);
	cr_assert_eq(vblk_open_image(path, false, &fd, &bytes, err, sizeof(err)), -1);
	cr_assert(strstr(err, "size 0 bytes"), "%s", err);
	cr_assert_eq(ftruncate(cfd, 1000), 0);
	cr_assert_eq(vblk_open_image(path, false, &fd, &bytes, err, sizeof(err)), -1);
	cr_assert(strstr(err, "multiple of 512"), "%s", err);
	cr_assert_eq(ftruncate(cfd, 4096), 0);
	cr_assert_eq(vblk_open_image(path, false, &fd, &bytes, err, sizeof(err)), 0,
	             "%s", err);
	cr_assert_eq(bytes, 4096);
	/* Another open file description of the same image is locked out. */
	cr_assert_eq(vblk_open_image(path, true, &fd2, &bytes, err, sizeof(err)), -1);
	cr_assert(strstr(err, "is locked by another process"), "%s", err);
	close(fd);
	cr_assert_eq(vblk_open_image(path, true, &fd, &bytes, err, sizeof(err)), 0);
	cr_assert_eq(vblk_open_image(path, true, &fd2, &bytes, err, sizeof(err)), 0,
	             "read-only opens share the image");
	close(fd);
	close(fd2);
	close(cfd);
	unlink(path);
	rmdir(dir);
}

/* --- on the platform: PCI host, PIRQ, ELCR, PIC -------------------------- */

static bool (*pic_line)(void *dev);
static int (*pic_ack)(void *dev);
static void *pic_dev;

static void hook_controller(void *ctx, bool (*line)(void *dev),
                            int (*ack)(void *dev), void *dev)
{
	(void)ctx;
	pic_line = line;
	pic_ack = ack;
	pic_dev = dev;
}

static void hook_nothing(void *ctx)
{
	(void)ctx;
}

static struct bus *pio;

static uint64_t pin(uint16_t port, unsigned size)
{
	uint64_t v = 0;

	bus_read(pio, port, size, &v);
	return v;
}

static void pout(uint16_t port, unsigned size, uint64_t v)
{
	bus_write(pio, port, size, v);
}

Test(vblk, on_the_platform_interrupts_reach_the_pic)
{
	int null = open("/dev/null", O_WRONLY);
	struct platform_hooks hooks = {
		.set_intr_controller = hook_controller, .intr_line = hook_nothing,
		.add_irq_source = hook_nothing,
		.console_out_fd = null, .console_in_fd = -1,
		.ram = ram, .ram_bytes = RAM_BYTES, .disk_path = img_path,
	};
	struct bus *mmio = bus_new("mmio");
	struct platform *p;
	uint16_t bar;

	pio = bus_new("port");
	p = platform_new(pio, mmio, &hooks);
	cr_assert_not_null(p);
	pout(0xCF8, 4, 0x80001000);                  /* 00:02.0 */
	cr_assert_eq(pin(0xCFC, 4), 0x10011AF4);
	pout(0xCF8, 4, 0x80001010);
	cr_assert_eq(pin(0xCFC, 4), PCI_IO_START | 1);
	bar = PCI_IO_START;
	pout(0xCF8, 4, 0x8000103C);
	cr_assert_eq(pin(0xCFC, 2), 0x010A, "INTA#, IRQ 10");
	cr_assert_eq(pin(0x4D1, 1) & 0x0C, 0x0C, "ELCR: IRQ 10, 11 level");
	/* 8259A pair: vectors 0x20/0x28, only IRQ 2 and IRQ 10 unmasked. */
	pout(0x20, 1, 0x11); pout(0xA0, 1, 0x11);
	pout(0x21, 1, 0x20); pout(0xA1, 1, 0x28);
	pout(0x21, 1, 0x04); pout(0xA1, 1, 0x02);
	pout(0x21, 1, 0x01); pout(0xA1, 1, 0x01);
	pout(0x21, 1, 0xFB); pout(0xA1, 1, 0xFB);
	/* the driver, through the ports */
	pout(bar + VIRTIO_PCI_STATUS, 1, 0);
	pout(bar + VIRTIO_PCI_STATUS, 1, 3);
	cr_assert_eq(pin(bar + VIRTIO_PCI_QUEUE_NUM, 2), QN);
	memset(ram + RING, 0, 3 * PAGE);
	pout(bar + VIRTIO_PCI_QUEUE_PFN, 4, RING >> 12);
	pout(bar + VIRTIO_PCI_STATUS, 1, 7);
	header(VIRTIO_BLK_T_IN, 5);
	ram[STATUS] = 0xEE;
	desc(0, HDR, 16, VRING_DESC_F_NEXT, 1);
	desc(1, DATA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	post(0);
	cr_assert_not(pic_line(pic_dev));
	pout(bar + VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
	cr_assert(wait_used(1), "completed by the worker");
	cr_assert_eq(ram[STATUS], VIRTIO_BLK_S_OK);
	cr_assert_eq(ram[DATA + 3], img_byte(5 * 512 + 3));
	for (int i = 0; i < 1000 && !pic_line(pic_dev); i++)
		usleep(1000);
	cr_assert(pic_line(pic_dev), "INTR up");
	cr_assert_eq(pic_ack(pic_dev), 0x2A, "IRQ 10 through the slave");
	cr_assert_eq(pin(bar + VIRTIO_PCI_ISR, 1), 1);
	pout(0xA0, 1, 0x20);                         /* EOI slave, master */
	pout(0x20, 1, 0x20);
	cr_assert_not(pic_line(pic_dev), "line down after the ISR read");
	platform_free(p);
	bus_free(mmio);
	bus_free(pio);
	close(null);
}

Test(vblk, no_disk_no_device)
{
	int null = open("/dev/null", O_WRONLY);
	struct platform_hooks hooks = {
		.set_intr_controller = hook_controller, .intr_line = hook_nothing,
		.add_irq_source = hook_nothing,
		.console_out_fd = null, .console_in_fd = -1,
		.ram = ram, .ram_bytes = RAM_BYTES,
	};
	struct bus *mmio = bus_new("mmio");
	struct platform *p;

	pio = bus_new("port");
	p = platform_new(pio, mmio, &hooks);
	cr_assert_not_null(p);
	for (int slot = 2; slot < 32; slot++) {
		pout(0xCF8, 4, 0x80000000u | (uint32_t)slot << 11);
		cr_assert_eq(pin(0xCFC, 4), 0xFFFFFFFF, "slot %d", slot);
	}
	cr_assert_null(bus_owner(pio, PCI_IO_START));
	platform_free(p);
	bus_free(mmio);
	bus_free(pio);
	close(null);
}
