// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ring.c - the channel ring buffer (see ring.h for the rules it enforces).
 */
#include "ring.h"

#define DESC_SIZE ((uint32_t)sizeof(struct vmbus_packet_desc))

int vmbus_ring_attach(struct vmbus_ring *r, void *hdr, void *data, uint32_t size)
{
	if (!hdr || !data || size < VMBUS_RING_MIN_SIZE ||
	    size > VMBUS_RING_MAX_SIZE || (size & 7))
		return -EINVAL;
	r->hdr = hdr;
	r->data = data;
	r->size = size;
	r->index = 0;
	r->published = 0;
	return 0;
}

void vmbus_ring_reset(struct vmbus_ring *r)
{
	memset(r->hdr, 0, sizeof(*r->hdr));
	r->index = 0;
	r->published = 0;
}

uint32_t vmbus_ring_max_payload(const struct vmbus_ring *r)
{
	/* One 8-byte gap always stays free so that full != empty. */
	uint32_t max = r->size - 8 - DESC_SIZE - VMBUS_PACKET_TRAILER_SIZE;

	if (max > VMBUS_PACKET_MAX_LEN - DESC_SIZE)
		max = VMBUS_PACKET_MAX_LEN - DESC_SIZE;
	return max;
}

/* Read the peer-owned index once and check it; -EPROTO if it is garbage. */
static int64_t ring_peer_index(const struct vmbus_ring *r, const uint32_t *shared)
{
	uint32_t v = vmbus_load_acquire(shared);

	if (unlikely(v >= r->size || (v & 7)))
		return -EPROTO;
	return v;
}

static uint32_t ring_used(const struct vmbus_ring *r, uint32_t write, uint32_t read)
{
	return write >= read ? write - read : r->size - (read - write);
}

static uint32_t ring_copy_in(struct vmbus_ring *r, uint32_t off, const void *src, uint32_t len)
{
	uint32_t first = r->size - off;

	if (len < first) {
		memcpy(r->data + off, src, len);
		return off + len;
	}
	memcpy(r->data + off, src, first);
	memcpy(r->data, (const uint8_t *)src + first, len - first);
	return len - first;
}

static uint32_t ring_copy_out(const struct vmbus_ring *r, uint32_t off, void *dst, uint32_t len)
{
	uint32_t first = r->size - off;

	if (len < first) {
		memcpy(dst, r->data + off, len);
		return off + len;
	}
	memcpy(dst, r->data + off, first);
	memcpy((uint8_t *)dst + first, r->data, len - first);
	return len - first;
}

static uint32_t ring_advance(const struct vmbus_ring *r, uint32_t off, uint32_t len)
{
	off += len;
	return off >= r->size ? off - r->size : off;
}

/* ---------------------------------------------------------------- producer */

int64_t vmbus_ring_avail_write(const struct vmbus_ring *r)
{
	int64_t read = ring_peer_index(r, &r->hdr->read_index);

	if (read < 0)
		return read;
	return r->size - ring_used(r, r->index, (uint32_t)read);
}

/* Bytes a packet with this payload occupies, trailer included. */
static uint64_t ring_footprint(uint64_t payload)
{
	return DESC_SIZE + VMBUS_ALIGN8(payload) + VMBUS_PACKET_TRAILER_SIZE;
}

/*
 * Is there room for a packet of `need` bytes (trailer included)? If not
 * and `ask` is set, ask the consumer for a signal (pending_send_size), then
 * look again: it may have freed space before it could see the request.
 * Returns 1 (room), 0 (no room) or -EPROTO.
 */
static int ring_room(struct vmbus_ring *r, uint64_t need, bool ask)
{
	int64_t avail = vmbus_ring_avail_write(r);

	if (avail < 0)
		return (int)avail;
	if ((uint64_t)avail > need)
		return 1;
	if (!ask)
		return 0;
	vmbus_write_once(r->hdr->pending_send_size, (uint32_t)need);
	vmbus_mb();
	avail = vmbus_ring_avail_write(r);
	if (avail < 0)
		return (int)avail;
	return (uint64_t)avail > need;
}

int vmbus_ring_write_ready(struct vmbus_ring *r, uint32_t len)
{
	if (len > vmbus_ring_max_payload(r))
		return 1;
	return ring_room(r, ring_footprint(len), true);
}

int vmbus_ring_write(struct vmbus_ring *r, uint16_t type, uint16_t flags,
		     uint64_t trans_id, uint32_t ext_len,
		     const struct vmbus_iov *iov, unsigned int niov)
{
	static const uint8_t zeros[8];
	struct vmbus_packet_desc desc;
	uint64_t payload = 0, total, need;
	uint32_t pad, off, start = r->index;
	uint64_t trailer;
	unsigned int i;
	int room;

	if (ext_len & 7)
		return -EINVAL;
	for (i = 0; i < niov; i++)
		payload += iov[i].len;
	if (ext_len > payload)
		return -EINVAL;
	need = ring_footprint(payload);
	total = need - VMBUS_PACKET_TRAILER_SIZE;
	if (total > VMBUS_PACKET_MAX_LEN || need + 8 > r->size)
		return -EMSGSIZE;

	/*
	 * The consumer computes its signal from what we published: with
	 * packets still unpublished it could never see the room we would wait
	 * for, so no wait is registered; the caller publishes and writes again.
	 */
	room = ring_room(r, need, r->index == r->published);
	if (room < 0)
		return room;
	if (!room)
		return -EAGAIN;
	if (vmbus_read_once(r->hdr->pending_send_size))
		vmbus_write_once(r->hdr->pending_send_size, 0);

	desc.type = type;
	desc.offset8 = (uint16_t)((DESC_SIZE + ext_len) / 8);
	desc.len8 = (uint16_t)(total / 8);
	desc.flags = flags;
	desc.trans_id = trans_id;

	off = ring_copy_in(r, start, &desc, DESC_SIZE);
	for (i = 0; i < niov; i++)
		if (iov[i].len)
			off = ring_copy_in(r, off, iov[i].base, iov[i].len);
	pad = (uint32_t)(VMBUS_ALIGN8(payload) - payload);
	if (pad)
		off = ring_copy_in(r, off, zeros, pad);
	trailer = (uint64_t)start << 32;
	off = ring_copy_in(r, off, &trailer, VMBUS_PACKET_TRAILER_SIZE);
	r->index = off == r->size ? 0 : off;
	return 0;
}

bool vmbus_ring_publish(struct vmbus_ring *r)
{
	uint32_t old = r->published;

	if (r->index == old)
		return false;
	/* Packet bytes must be visible before the index that covers them. */
	vmbus_store_release(&r->hdr->write_index, r->index);
	r->published = r->index;
	/* Order the index store against the loads below (pairs with unmask). */
	vmbus_mb();
	if (vmbus_read_once(r->hdr->interrupt_mask))
		return false;
	vmbus_rmb();
	/* The consumer had caught up with us: it may be waiting for a signal. */
	return vmbus_read_once(r->hdr->read_index) == old;
}

int vmbus_ring_send(struct vmbus_ring *r, uint16_t type, uint16_t flags,
		    uint64_t trans_id, const void *payload, uint32_t len,
		    bool *ret_signal)
{
	struct vmbus_iov iov = { payload, len };
	int ret = vmbus_ring_write(r, type, flags, trans_id, 0, &iov, 1);

	if (ret < 0)
		return ret;
	*ret_signal = vmbus_ring_publish(r);
	return 0;
}

/* ---------------------------------------------------------------- consumer */

int64_t vmbus_ring_avail_read(const struct vmbus_ring *r)
{
	int64_t write = ring_peer_index(r, &r->hdr->write_index);

	if (write < 0)
		return write;
	return ring_used(r, (uint32_t)write, r->index);
}

int vmbus_ring_peek(struct vmbus_ring *r, struct vmbus_packet_desc *ret_desc)
{
	int64_t avail = vmbus_ring_avail_read(r);
	uint32_t len, hdr_len;

	if (avail < 0)
		return (int)avail;
	if (avail == 0)
		return -EAGAIN;
	/* A published packet is at least a descriptor and a trailer. */
	if (avail < DESC_SIZE + VMBUS_PACKET_TRAILER_SIZE)
		return -EPROTO;
	ring_copy_out(r, r->index, ret_desc, DESC_SIZE);
	len = (uint32_t)ret_desc->len8 * 8;
	hdr_len = (uint32_t)ret_desc->offset8 * 8;
	if (len < DESC_SIZE || hdr_len < DESC_SIZE || hdr_len > len ||
	    (uint64_t)len + VMBUS_PACKET_TRAILER_SIZE > (uint64_t)avail)
		return -EPROTO;
	return 0;
}

int vmbus_ring_read(struct vmbus_ring *r, struct vmbus_packet_desc *ret_desc,
		    void *buf, uint32_t buf_len, uint32_t *ret_len)
{
	struct vmbus_packet_desc desc;
	uint32_t body;
	int ret;

	ret = vmbus_ring_peek(r, &desc);
	if (ret < 0)
		return ret;
	body = (uint32_t)desc.len8 * 8 - DESC_SIZE;
	*ret_len = body;
	if (body > buf_len)
		return -ENOBUFS;
	if (body)
		ring_copy_out(r, ring_advance(r, r->index, DESC_SIZE), buf, body);
	*ret_desc = desc;
	r->index = ring_advance(r, r->index,
				(uint32_t)desc.len8 * 8 + VMBUS_PACKET_TRAILER_SIZE);
	return 0;
}

int vmbus_ring_skip(struct vmbus_ring *r)
{
	struct vmbus_packet_desc desc;
	int ret = vmbus_ring_peek(r, &desc);

	if (ret < 0)
		return ret;
	r->index = ring_advance(r, r->index,
				(uint32_t)desc.len8 * 8 + VMBUS_PACKET_TRAILER_SIZE);
	return 0;
}

bool vmbus_ring_read_commit(struct vmbus_ring *r)
{
	uint32_t old = r->published, pending;
	int64_t write;
	uint32_t free_before, free_after;

	if (r->index == old)
		return false;
	/* Our copies of the packets are complete before the space is released. */
	vmbus_store_release(&r->hdr->read_index, r->index);
	r->published = r->index;
	vmbus_mb();	/* pairs with the producer's store of pending_send_size */
	pending = vmbus_load_acquire(&r->hdr->pending_send_size);
	if (!pending)
		return false;
	write = ring_peer_index(r, &r->hdr->write_index);
	if (write < 0)
		return false;
	free_after = r->size - ring_used(r, (uint32_t)write, r->index);
	free_before = r->size - ring_used(r, (uint32_t)write, old);
	/* Signal only on the crossing, so that one wait costs one signal. */
	return free_after > pending && free_before <= pending;
}

void vmbus_ring_mask(struct vmbus_ring *r)
{
	vmbus_write_once(r->hdr->interrupt_mask, 1);
}

int64_t vmbus_ring_unmask(struct vmbus_ring *r)
{
	vmbus_write_once(r->hdr->interrupt_mask, 0);
	vmbus_mb();	/* pairs with the barrier in vmbus_ring_publish() */
	return vmbus_ring_avail_read(r);
}
