/*
 * virtqueue.c — the legacy split virtqueue of virtqueue.h.
 *
 * Layout for a queue of n entries at ring: descriptors at 0 (16 n bytes);
 * avail at 16 n: flags, idx, ring[n], used_event (2 bytes each); used at
 * the next VIRTQ_ALIGN boundary: flags, idx, then n {id, len} pairs of
 * 4 bytes, then avail_event.  The whole span is checked against RAM once,
 * in virtq_set_pfn; afterwards every offset into it is an index taken
 * modulo n, so only descriptor contents need checking per request.
 */
#include "devices/virtqueue.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static uint64_t avail_off(unsigned n)
{
	return 16ull * n;
}

static uint64_t used_off(unsigned n)
{
	return (avail_off(n) + 6 + 2ull * n + VIRTQ_ALIGN - 1) &
	       ~(uint64_t)(VIRTQ_ALIGN - 1);
}

uint64_t virtq_ring_bytes(unsigned n)
{
	return used_off(n) + 6 + 8ull * n;
}

static bool in_ram(const struct virtq *q, uint64_t addr, uint64_t len)
{
	return addr <= q->ram_bytes && len <= q->ram_bytes - addr;
}

/* avail: 0 flags, 1 idx, 2.. ring; used: 0 flags, 1 idx. */
static uint16_t *avail_word(const struct virtq *q, unsigned i)
{
	return (uint16_t *)(q->ring + avail_off(q->size) + 2 * i);
}

static uint16_t *used_word(const struct virtq *q, unsigned i)
{
	return (uint16_t *)(q->ring + used_off(q->size) + 2 * i);
}

int virtq_set_pfn(struct virtq *q, uint32_t pfn)
{
	uint64_t at = (uint64_t)pfn << 12;

	q->ring = NULL;
	q->last_avail = q->used_idx = 0;
	if (!pfn)
		return 0;
	if (!in_ram(q, at, virtq_ring_bytes(q->size)))
		return -1;
	q->ring = q->ram + at;
	return 0;
}

/* Copy the chain at head into c; NULL, or what is wrong with it. */
static const char *walk(const struct virtq *q, uint16_t head,
                        struct virtq_chain *c)
{
	uint16_t i = head;

	c->head = head;
	c->nout = c->nin = 0;
	c->out_bytes = c->in_bytes = 0;
	for (unsigned count = 0;; count++) {
		struct { uint64_t addr; uint32_t len; uint16_t flags, next; } d;
		struct iovec v;

		if (i >= q->size)
			return "descriptor index out of range";
		if (count >= q->size)
			return "descriptor chain loops";
		memcpy(&d, q->ring + 16u * i, sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return "indirect descriptor (not offered)";
		if (!in_ram(q, d.addr, d.len))
			return "buffer outside guest RAM";
		v = (struct iovec){ q->ram + d.addr, d.len };
		if (d.flags & VRING_DESC_F_WRITE) {
			c->in[c->nin++] = v;
			c->in_bytes += d.len;
		} else if (c->nin) {
			return "readable buffer after a writable one";
		} else {
			c->out[c->nout++] = v;
			c->out_bytes += d.len;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return NULL;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c, char *why,
              unsigned whybytes)
{
	uint16_t idx, head;
	const char *bad;

	if (!q->ring)
		return 0;
	idx = __atomic_load_n(avail_word(q, 1), __ATOMIC_ACQUIRE);
	if ((uint16_t)(idx - q->last_avail) > q->size) {
		snprintf(why, whybytes, "avail index jumped from %u to %u "
		         "(queue of %u)", q->last_avail, idx, q->size);
		return -1;
	}
	if (idx == q->last_avail)
		return 0;
	head = __atomic_load_n(avail_word(q, 2 + q->last_avail % q->size),
	                       __ATOMIC_RELAXED);
	bad = walk(q, head, c);
	if (bad) {
		snprintf(why, whybytes, "bad descriptor chain at head %u: %s",
		         head, bad);
		return -1;
	}
	q->last_avail++;
	return 1;
}

bool virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	uint8_t *e = q->ring + used_off(q->size) + 4 + 8u * (q->used_idx % q->size);
	uint32_t id = head;

	memcpy(e, &id, 4);
	memcpy(e + 4, &written, 4);
	__atomic_store_n(used_word(q, 1), ++q->used_idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(avail_word(q, 0), __ATOMIC_RELAXED) &
	         VRING_AVAIL_F_NO_INTERRUPT);
}

bool virtq_notify_on(struct virtq *q, bool on)
{
	if (!q->ring)
		return false;
	__atomic_store_n(used_word(q, 0), on ? 0 : VRING_USED_F_NO_NOTIFY,
	                 __ATOMIC_RELAXED);
	/* The driver writes avail idx, then reads our flags: order our flag
	 * store before our index load, or both sides could miss. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(avail_word(q, 1), __ATOMIC_ACQUIRE) !=
	       q->last_avail;
}

/* --- iovec helpers ---------------------------------------------------------- */

int iov_slice(const struct iovec *src, int n, uint64_t skip, uint64_t len,
              struct iovec *dst)
{
	int k = 0;

	for (int i = 0; i < n && len; i++) {
		uint64_t l = src[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		dst[k++] = (struct iovec){ (uint8_t *)src[i].iov_base + skip, l };
		len -= l;
		skip = 0;
	}
	return k;
}

void iov_to_buf(const struct iovec *v, int n, uint64_t skip, void *buf,
                uint64_t len)
{
	struct iovec part[VIRTQ_MAX];
	int k = iov_slice(v, n, skip, len, part);
	uint8_t *b = buf;

	for (int i = 0; i < k; i++) {
		memcpy(b, part[i].iov_base, part[i].iov_len);
		b += part[i].iov_len;
	}
}

void iov_from_buf(const struct iovec *v, int n, uint64_t skip,
                  const void *buf, uint64_t len)
{
	struct iovec part[VIRTQ_MAX];
	int k = iov_slice(v, n, skip, len, part);
	const uint8_t *b = buf;

	for (int i = 0; i < k; i++) {
		memcpy(part[i].iov_base, b, part[i].iov_len);
		b += part[i].iov_len;
	}
}
