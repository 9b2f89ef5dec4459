/*
 * virtqueue.h — a legacy split virtqueue in guest RAM, as a device model
 * consumes it: descriptors (16 bytes each), the avail ring, and at the
 * next 4 KiB boundary the used ring, starting at PFN << 12.
 *
 * Everything read from the guest is checked before use: the whole ring
 * must lie in RAM (when the PFN is set), descriptor indexes must be below
 * the queue size, a chain may not be longer than the queue (a loop), every
 * buffer must lie in RAM (overflow-safe), readable buffers must come
 * before writable ones, and the avail index may not run more than a queue
 * ahead.  Each descriptor is copied out once and checked on the copy, so a
 * guest rewriting the ring meanwhile changes nothing.  Indexes are
 * published with release stores and read with acquire loads.
 *
 * Locking: none; the device serialises calls on one queue.
 */
#ifndef POPEK_DEVICES_VIRTQUEUE_H
#define POPEK_DEVICES_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define VIRTQ_MAX 256             /* largest queue size supported */
#define VIRTQ_ALIGN 4096          /* legacy used-ring alignment */

#define VRING_DESC_F_NEXT          1
#define VRING_DESC_F_WRITE         2
#define VRING_DESC_F_INDIRECT      4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY     1

struct virtq {
	uint8_t *ram;                 /* guest RAM's host view */
	uint64_t ram_bytes;
	unsigned size;                /* entries, a power of two <= VIRTQ_MAX */
	uint8_t *ring;                /* NULL: no queue */
	uint16_t last_avail, used_idx;
};

/* One request: what the device reads, then what it writes. */
struct virtq_chain {
	uint16_t head;
	int nout, nin;
	uint64_t out_bytes, in_bytes;
	struct iovec out[VIRTQ_MAX], in[VIRTQ_MAX];
};

/* Bytes the ring of a queue of this size spans. */
uint64_t virtq_ring_bytes(unsigned size);
/* Place the queue at pfn << 12 (0: none).  -1 if it does not fit in RAM
 * (the queue is then absent). */
int virtq_set_pfn(struct virtq *q, uint32_t pfn);
/* 1: c holds the next chain; 0: none is waiting; -1: the ring is bad,
 * with the reason in why (whybytes long). */
int virtq_pop(struct virtq *q, struct virtq_chain *c, char *why,
              unsigned whybytes);
/* Return a chain with the bytes written into its buffers; true if the
 * driver wants an interrupt for it. */
bool virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/* Ask the driver to notify (or not); then whether chains are waiting. */
bool virtq_notify_on(struct virtq *q, bool on);

/* The iovecs covering bytes [skip, skip + len) of src: how many. */
int iov_slice(const struct iovec *src, int n, uint64_t skip, uint64_t len,
              struct iovec *dst);
/* Copy len bytes between buf and bytes [skip, ...) of an iovec list. */
void iov_to_buf(const struct iovec *v, int n, uint64_t skip, void *buf,
                uint64_t len);
void iov_from_buf(const struct iovec *v, int n, uint64_t skip,
                  const void *buf, uint64_t len);

#endif
