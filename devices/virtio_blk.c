/*
 * virtio_blk.c — the legacy virtio block device of virtio_blk.h: its BAR0
 * registers, the requests against the image, the worker thread, and the
 * platform glue (`--disk PATH[,ro]`).  The ring itself is virtqueue.c's.
 *
 * Notifications: while the worker drains the queue it sets
 * VRING_USED_F_NO_NOTIFY, so a busy driver does not trap on every request;
 * before sleeping it clears the flag and looks at the avail index again.
 */
#include "devices/virtio_blk.h"
#include "devices/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_REPORTS 8      /* lines on stderr about a misbehaving driver */

struct vblk {
	struct pci_device pci;
	struct vblk_params p;
	uint64_t sectors;
	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	pthread_t thread;
	bool quit, kick, busy, resetting;
	/* registers */
	uint32_t guest_features, pfn;
	uint16_t queue_sel;
	uint8_t status, isr;
	bool broken;
	int reports;
	struct virtq q;
	struct virtq_chain req;      /* the one in flight */
};

static uint32_t host_features(const struct vblk *vb)
{
	return VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE |
	       VIRTIO_BLK_F_FLUSH | (vb->p.ro ? VIRTIO_BLK_F_RO : 0);
}

/* Stop the device until a reset, and say why (a few times at most). */
static void vblk_break(struct vblk *vb, const char *why)
{
	vb->broken = true;
	if (vb->reports++ < MAX_REPORTS)
		fprintf(stderr, "popek: virtio-blk: %s; device stopped until "
		        "the driver resets it\n", why);
}

/* --- requests ------------------------------------------------------------ */

/* Sectors [sector, sector + len / 512) lie in the image. */
static bool sectors_ok(const struct vblk *vb, uint64_t sector, uint64_t len)
{
	return len % VBLK_SECTOR == 0 && sector <= vb->sectors &&
	       len / VBLK_SECTOR <= vb->sectors - sector;
}

/* All of iov at off, or -1. */
static int rw_full(int fd, struct iovec *iov, int n, uint64_t off, bool wr)
{
	while (n > 0) {
		ssize_t r = wr ? pwritev(fd, iov, n, (off_t)off)
		               : preadv(fd, iov, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static uint8_t do_rw(struct vblk *vb, struct virtq_chain *c, uint64_t sector,
                     bool wr, uint32_t *written)
{
	struct iovec io[VIRTQ_MAX];
	uint64_t len = wr ? c->out_bytes - 16 : c->in_bytes - 1;
	int k = wr ? iov_slice(c->out, c->nout, 16, len, io)
	           : iov_slice(c->in, c->nin, 0, len, io);

	if ((wr && vb->p.ro) || !sectors_ok(vb, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (rw_full(vb->p.fd, io, k, sector * VBLK_SECTOR, wr) < 0)
		return VIRTIO_BLK_S_IOERR;
	if (!wr)
		*written += (uint32_t)len;
	return VIRTIO_BLK_S_OK;
}

/* Carry out a well-formed chain; returns the bytes written to the guest,
 * status byte included.  Runs without vb->lock. */
static uint32_t execute(struct vblk *vb, struct virtq_chain *c)
{
	struct { uint32_t type, ioprio; uint64_t sector; } hdr = { 0 };
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };
	uint64_t data = c->in_bytes - 1;
	uint32_t written = 1, type;
	uint8_t st = VIRTIO_BLK_S_UNSUPP;

	iov_to_buf(c->out, c->nout, 0, &hdr, sizeof(hdr));
	type = hdr.type & 0x7FFFFFFFu;           /* bit 31: legacy barrier */
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		st = do_rw(vb, c, hdr.sector, type == VIRTIO_BLK_T_OUT, &written);
		break;
	case VIRTIO_BLK_T_FLUSH:
		st = vb->p.ro || fdatasync(vb->p.fd) == 0 ? VIRTIO_BLK_S_OK
		                                           : VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (vb->p.id)   /* NUL-padded, not terminated when 20 long */
			memcpy(id, vb->p.id, strnlen(vb->p.id, sizeof(id)));
		if (data > sizeof(id))
			data = sizeof(id);
		iov_from_buf(c->in, c->nin, 0, id, data);
		written += (uint32_t)data;
		st = VIRTIO_BLK_S_OK;
		break;
	}
	iov_from_buf(c->in, c->nin, c->in_bytes - 1, &st, 1);
	return written;
}

static bool queue_live(const struct vblk *vb)
{
	return vb->q.ring && !vb->broken && !vb->resetting &&
	       (vb->status & VIRTIO_STATUS_DRIVER_OK);
}

/* The next request, or false (ring empty, or bad: then broken). */
static bool next_request(struct vblk *vb)
{
	char why[128];
	int got = virtq_pop(&vb->q, &vb->req, why, sizeof(why));

	if (got > 0 && (vb->req.out_bytes < 16 || vb->req.in_bytes < 1)) {
		snprintf(why, sizeof(why), "request at head %u without header "
		         "or status byte", vb->req.head);
		got = -1;
	}
	if (got < 0)
		vblk_break(vb, why);
	return got > 0;
}

/* Run requests until the ring is empty or the device stops.  Called with
 * vb->lock held; drops it around each request's I/O. */
static void drain(struct vblk *vb)
{
	if (!queue_live(vb))
		return;
	virtq_notify_on(&vb->q, false);
	while (queue_live(vb)) {
		uint32_t written;

		if (!next_request(vb)) {
			if (vb->broken || !virtq_notify_on(&vb->q, true))
				return;
			virtq_notify_on(&vb->q, false);
			continue;
		}
		vb->busy = true;
		pthread_mutex_unlock(&vb->lock);
		written = execute(vb, &vb->req);
		pthread_mutex_lock(&vb->lock);
		vb->busy = false;
		pthread_cond_broadcast(&vb->idle);
		if (virtq_push(&vb->q, vb->req.head, written)) {
			vb->isr |= 1;
			vb->p.set_irq(vb->p.irqctx, 1);
		}
	}
}

static void *vblk_thread(void *arg)
{
	struct vblk *vb = arg;

	pthread_mutex_lock(&vb->lock);
	while (!vb->quit) {
		if (!vb->kick) {
			pthread_cond_wait(&vb->wake, &vb->lock);
			continue;
		}
		vb->kick = false;
		drain(vb);
	}
	pthread_mutex_unlock(&vb->lock);
	return NULL;
}

static void notify(struct vblk *vb)
{
	if (!queue_live(vb))
		return;
	if (!vb->p.threaded) {
		drain(vb);
		return;
	}
	vb->kick = true;
	pthread_cond_signal(&vb->wake);
}

/* --- registers ------------------------------------------------------------- */

static void reset(struct vblk *vb)
{
	vb->resetting = true;
	while (vb->busy)
		pthread_cond_wait(&vb->idle, &vb->lock);
	vb->resetting = false;
	vb->guest_features = vb->pfn = 0;
	vb->queue_sel = 0;
	vb->status = vb->isr = 0;
	vb->broken = false;
	virtq_set_pfn(&vb->q, 0);
	vb->p.set_irq(vb->p.irqctx, 0);
}

static void set_pfn(struct vblk *vb, uint32_t pfn)
{
	char why[96];

	if (vb->queue_sel != 0 || vb->busy)
		return;
	vb->pfn = pfn;
	if (virtq_set_pfn(&vb->q, pfn) < 0) {
		snprintf(why, sizeof(why), "queue at 0x%" PRIx64 " lies outside "
		         "guest RAM", (uint64_t)pfn << 12);
		vblk_break(vb, why);
	}
}

static void regs_image(const struct vblk *vb, uint8_t *img)
{
	uint32_t f = host_features(vb), seg_max = VBLK_QUEUE_SIZE - 2;
	uint32_t blk = VBLK_SECTOR;
	uint16_t num = vb->queue_sel == 0 ? VBLK_QUEUE_SIZE : 0;
	uint32_t pfn = vb->queue_sel == 0 ? vb->pfn : 0;

	memset(img, 0, VBLK_BAR_SIZE);
	memcpy(img + VIRTIO_PCI_HOST_FEATURES, &f, 4);
	memcpy(img + VIRTIO_PCI_GUEST_FEATURES, &vb->guest_features, 4);
	memcpy(img + VIRTIO_PCI_QUEUE_PFN, &pfn, 4);
	memcpy(img + VIRTIO_PCI_QUEUE_NUM, &num, 2);
	memcpy(img + VIRTIO_PCI_QUEUE_SEL, &vb->queue_sel, 2);
	img[VIRTIO_PCI_STATUS] = (uint8_t)(vb->status |
	                         (vb->broken ? VIRTIO_STATUS_NEEDS_RESET : 0));
	img[VIRTIO_PCI_ISR] = vb->isr;
	memcpy(img + VIRTIO_PCI_CONFIG, &vb->sectors, 8);      /* capacity */
	memcpy(img + VIRTIO_PCI_CONFIG + 12, &seg_max, 4);     /* seg_max */
	memcpy(img + VIRTIO_PCI_CONFIG + 20, &blk, 4);         /* blk_size */
}

uint64_t vblk_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct vblk *vb = opaque;
	uint8_t img[VBLK_BAR_SIZE];
	uint64_t v = 0;

	pthread_mutex_lock(&vb->lock);
	regs_image(vb, img);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)(off + i < VBLK_BAR_SIZE ? img[off + i] : 0xFF)
		     << (8 * i);
	if (off <= VIRTIO_PCI_ISR && off + size > VIRTIO_PCI_ISR && vb->isr) {
		vb->isr = 0;             /* reading ISR acknowledges */
		vb->p.set_irq(vb->p.irqctx, 0);
	}
	pthread_mutex_unlock(&vb->lock);
	return v;
}

void vblk_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct vblk *vb = opaque;

	(void)size;
	pthread_mutex_lock(&vb->lock);
	switch (off) {
	case VIRTIO_PCI_GUEST_FEATURES:
		vb->guest_features = (uint32_t)v & host_features(vb);
		break;
	case VIRTIO_PCI_QUEUE_PFN:
		set_pfn(vb, (uint32_t)v);
		break;
	case VIRTIO_PCI_QUEUE_SEL:
		vb->queue_sel = (uint16_t)v;
		break;
	case VIRTIO_PCI_QUEUE_NOTIFY:
		if ((uint16_t)v == 0)
			notify(vb);
		break;
	case VIRTIO_PCI_STATUS:
		if ((uint8_t)v == 0) {
			reset(vb);
			break;
		}
		vb->status = (uint8_t)v;
		notify(vb);      /* DRIVER_OK may start a waiting queue */
		break;
	}
	pthread_mutex_unlock(&vb->lock);
}

/* --- life ------------------------------------------------------------------ */

struct vblk *vblk_new(const struct vblk_params *p)
{
	struct vblk *vb = calloc(1, sizeof(*vb));

	if (!vb)
		return NULL;
	vb->p = *p;
	vb->sectors = p->bytes / VBLK_SECTOR;
	vb->q = (struct virtq){ .ram = p->ram, .ram_bytes = p->ram_bytes,
	                        .size = VBLK_QUEUE_SIZE };
	pthread_mutex_init(&vb->lock, NULL);
	pthread_cond_init(&vb->wake, NULL);
	pthread_cond_init(&vb->idle, NULL);
	pci_device_init(&vb->pci, "virtio-blk", 0x1AF4, 0x1001, 0x010000, 0);
	vb->pci.config[PCI_SUBSYS_VENDOR] = 0xF4;
	vb->pci.config[PCI_SUBSYS_VENDOR + 1] = 0x1A;
	vb->pci.config[PCI_SUBSYS_ID] = 2;              /* virtio block */
	vb->pci.config[PCI_INTERRUPT_PIN] = 1;          /* INTA# */
	pci_set_bar(&vb->pci, 0, true, VBLK_BAR_SIZE, vblk_io_read,
	            vblk_io_write, vb);
	if (p->threaded &&
	    pthread_create(&vb->thread, NULL, vblk_thread, vb) != 0) {
		free(vb);
		return NULL;
	}
	return vb;
}

void vblk_free(struct vblk *vb)
{
	if (!vb)
		return;
	if (vb->p.threaded) {
		pthread_mutex_lock(&vb->lock);
		vb->quit = true;
		pthread_cond_signal(&vb->wake);
		pthread_mutex_unlock(&vb->lock);
		pthread_join(vb->thread, NULL);
	}
	pthread_cond_destroy(&vb->idle);
	pthread_cond_destroy(&vb->wake);
	pthread_mutex_destroy(&vb->lock);
	if (vb->p.fd >= 0)
		close(vb->p.fd);
	free(vb);
}

struct pci_device *vblk_pci(struct vblk *vb)
{
	return &vb->pci;
}

/* --- the image and the platform ------------------------------------------ */

int vblk_open_image(const char *path, bool ro, int *fd, uint64_t *bytes,
                    char *err, size_t errlen)
{
	struct stat st;
	off_t end;

	*fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "disk %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(*fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "disk %s: not a regular file or block device",
		         path);
	} else if (flock(*fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		snprintf(err, errlen, errno == EWOULDBLOCK ? "disk %s is locked by "
		         "another process" : "disk %s: cannot lock it", path);
	} else if ((end = lseek(*fd, 0, SEEK_END)) <= 0 ||
	           end % VBLK_SECTOR != 0) {
		snprintf(err, errlen, "disk %s: size %lld bytes is not a non-zero "
		         "multiple of 512", path, (long long)end);
	} else {
		*bytes = (uint64_t)end;
		return 0;
	}
	close(*fd);
	*fd = -1;
	return -1;
}

static char vblk_absent;        /* attach's answer when there is no disk */

static void vblk_intx(void *ctx, int level)
{
	pci_set_irq(ctx, level);
}

void *virtio_blk_attach(struct platform_env *env)
{
	const struct platform_hooks *hk = env->hooks;
	struct vblk_params p = { .ram = hk->ram, .ram_bytes = hk->ram_bytes,
	                         .ro = hk->disk_ro, .threaded = true,
	                         .set_irq = vblk_intx };
	const char *slash;
	struct vblk *vb;

	if (!hk->disk_path)
		return &vblk_absent;
	if (!env->pci || !hk->ram) {
		snprintf(env->err, sizeof(env->err), "needs PCI and guest RAM");
		return NULL;
	}
	if (vblk_open_image(hk->disk_path, hk->disk_ro, &p.fd, &p.bytes,
	                    env->err, sizeof(env->err)) < 0)
		return NULL;
	slash = strrchr(hk->disk_path, '/');
	p.id = slash ? slash + 1 : hk->disk_path;
	vb = vblk_new(&p);
	if (!vb) {
		close(p.fd);
		return NULL;
	}
	vb->p.irqctx = &vb->pci;
	if (pci_host_add(env->pci, &vb->pci, -1, env->err,
	                 sizeof(env->err)) < 0) {
		vblk_free(vb);
		return NULL;
	}
	return vb;
}

void virtio_blk_detach(void *dev)
{
	struct vblk *vb = dev;

	if (dev == &vblk_absent)
		return;
	if (vb->pci.host)
		pci_host_remove(vb->pci.host, &vb->pci);
	vblk_free(vb);
}
