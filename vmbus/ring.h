/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ring.h - the channel ring buffer: one producer, one consumer, living in
 * memory shared with a peer that is not trusted.
 *
 * Layout (documented byte by byte in docs/protocol/channel.md):
 *
 *   +-------------------------------+  offset 0
 *   | struct vmbus_ring_header      |  4096 bytes
 *   +-------------------------------+  (data pointer, may be mapped apart)
 *   | data area, `size` bytes       |  packets, each 8-byte aligned,
 *   |                               |  wrapping around the end
 *   +-------------------------------+
 *
 * A packet is a struct vmbus_packet_desc, an optional type-specific header,
 * the payload, zero padding to 8 bytes, and an 8-byte trailer.
 *
 * Safety rules enforced here:
 *  - each side keeps the index it owns in private memory (struct vmbus_ring)
 *    and only publishes it; the shared copy of our own index is never read;
 *  - the peer's index is read once per operation and rejected with -EPROTO
 *    unless it is 8-byte aligned and inside the data area;
 *  - packet lengths are checked against the bytes the peer has published
 *    before anything is copied, and packets are copied out before the caller
 *    parses them, so the peer cannot change them under the parser.
 *
 * Functions never sleep, lock, allocate or log; they return 0 or a
 * positive count on success and a negative errno on failure.
 */
#ifndef VMBUS_RING_H
#define VMBUS_RING_H

#include "platform.h"

#define VMBUS_RING_HEADER_SIZE	4096u
#define VMBUS_RING_MIN_SIZE	64u		/* smallest data area */
#define VMBUS_RING_MAX_SIZE	(1u << 30)	/* largest data area */

/* Shared header. Producer- and consumer-owned words sit on separate cache lines. */
struct vmbus_ring_header {
	/* written by the producer */
	uint32_t write_index;		/* data offset of the next byte to be written */
	uint32_t pending_send_size;	/* 0, or: signal me once free space exceeds this */
	uint32_t producer_reserved[14];
	/* written by the consumer */
	uint32_t read_index;		/* data offset of the next byte to be read */
	uint32_t interrupt_mask;	/* nonzero: the consumer is polling, do not signal */
	uint32_t consumer_reserved[14];
	/* written by the side that sets the ring up */
	uint32_t feature_bits;		/* 0 in protocol version 1 */
	uint32_t reserved[(VMBUS_RING_HEADER_SIZE - 132) / 4];
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_ring_header) == VMBUS_RING_HEADER_SIZE,
		    "ring header must be one page");

/* Packet types */
enum vmbus_packet_type {
	VMBUS_PACKET_INBAND	= 1,	/* payload only */
	VMBUS_PACKET_COMPLETION	= 2,	/* answers a request; trans_id matches it */
	VMBUS_PACKET_PAGES	= 3,	/* type-specific header is a page list */
};

/* Packet flags */
#define VMBUS_PACKET_F_COMPLETION_REQUESTED	0x0001u

struct vmbus_packet_desc {
	uint16_t type;		/* enum vmbus_packet_type */
	uint16_t offset8;	/* payload offset from packet start, in 8-byte units */
	uint16_t len8;		/* packet length without trailer, in 8-byte units */
	uint16_t flags;
	uint64_t trans_id;	/* opaque to the ring; never a pointer */
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_packet_desc) == 16, "descriptor is 16 bytes");

#define VMBUS_PACKET_TRAILER_SIZE	8u
/* Largest packet the 16-bit len8 can describe. */
#define VMBUS_PACKET_MAX_LEN		(0xffffu * 8u)

/* One element of a gather list. */
struct vmbus_iov {
	const void *base;
	uint32_t len;
};

/* Private state of one side of one ring. */
struct vmbus_ring {
	struct vmbus_ring_header *hdr;	/* shared */
	uint8_t *data;			/* shared */
	uint32_t size;			/* data area size in bytes */
	uint32_t index;			/* our index, possibly ahead of what we published */
	uint32_t published;		/* our index as last published */
};

/*
 * Attach to a ring. Both sides start at index 0; the side that allocates the
 * memory calls vmbus_ring_reset() before handing it to the peer.
 * Returns -EINVAL if size is not a multiple of 8 or outside the limits.
 */
int vmbus_ring_attach(struct vmbus_ring *r, void *hdr, void *data, uint32_t size);
void vmbus_ring_reset(struct vmbus_ring *r);

/* Largest payload (type-specific header included) that fits in an empty ring. */
uint32_t vmbus_ring_max_payload(const struct vmbus_ring *r);

/* --- producer --- */

/*
 * Append one packet without publishing it. The gather list holds the
 * type-specific header (the first ext_len bytes, a multiple of 8) followed by
 * the payload. Returns 0, -EAGAIN if the ring lacks room, -EMSGSIZE if the
 * packet can never fit, -EINVAL for a bad ext_len, -EPROTO if the peer's
 * read index is invalid.
 *
 * On -EAGAIN: if packets written since the last publish are pending,
 * nothing else happened - publish them and write again. Otherwise
 * pending_send_size is now set and the consumer will signal once the
 * packet fits: wait for that signal, then write again.
 */
int vmbus_ring_write(struct vmbus_ring *r, uint16_t type, uint16_t flags,
		     uint64_t trans_id, uint32_t ext_len,
		     const struct vmbus_iov *iov, unsigned int niov);

/*
 * Publish everything written so far. Returns true when the consumer must be
 * signalled: the ring went from empty to non-empty and the consumer has not
 * masked interrupts.
 */
bool vmbus_ring_publish(struct vmbus_ring *r);

/* vmbus_ring_write() + vmbus_ring_publish(); *ret_signal set on success. */
int vmbus_ring_send(struct vmbus_ring *r, uint16_t type, uint16_t flags,
		    uint64_t trans_id, const void *payload, uint32_t len,
		    bool *ret_signal);

/*
 * Would a write of a len-byte payload fit now? If not, set
 * pending_send_size (as a failed write would) so the consumer signals once
 * it does, and look again. Returns 1 (fits, or can never fit: the write will
 * say -EMSGSIZE), 0 (no room; a signal will come), or -EPROTO. For poll():
 * the caller must have nothing unpublished.
 */
int vmbus_ring_write_ready(struct vmbus_ring *r, uint32_t len);

/* Free bytes for the producer (>= 0), or -EPROTO. */
int64_t vmbus_ring_avail_write(const struct vmbus_ring *r);

/* --- consumer --- */

/*
 * Copy and validate the descriptor of the next packet without consuming it.
 * Returns 0, -EAGAIN if the ring is empty, -EPROTO if the peer wrote an
 * invalid index or descriptor.
 */
int vmbus_ring_peek(struct vmbus_ring *r, struct vmbus_packet_desc *ret_desc);

/*
 * Copy out the next packet: the descriptor to *ret_desc, everything after it
 * (type-specific header, payload and padding: len8 * 8 - 16 bytes) to buf.
 * The packet is consumed but the read index is not published; call
 * vmbus_ring_read_commit() after a batch. Returns 0 with *ret_len set,
 * -EAGAIN if empty, -ENOBUFS (nothing consumed, *ret_len = bytes needed) if
 * buf is too small, -EPROTO for a malformed packet or index.
 */
int vmbus_ring_read(struct vmbus_ring *r, struct vmbus_packet_desc *ret_desc,
		    void *buf, uint32_t buf_len, uint32_t *ret_len);

/* Consume the next packet without copying it (e.g. one too large to read). */
int vmbus_ring_skip(struct vmbus_ring *r);

/*
 * Publish the read index. Returns true when the producer must be signalled:
 * it asked (pending_send_size) and free space just crossed its threshold.
 */
bool vmbus_ring_read_commit(struct vmbus_ring *r);

/* Bytes waiting for the consumer (>= 0), or -EPROTO. */
int64_t vmbus_ring_avail_read(const struct vmbus_ring *r);

/* Ask the producer not to signal (the consumer is polling). */
void vmbus_ring_mask(struct vmbus_ring *r);

/*
 * Re-enable signals, then look again: returns the bytes waiting (> 0 means
 * the caller must keep reading, since the producer may not signal for
 * them), 0 if empty, or -EPROTO.
 */
int64_t vmbus_ring_unmask(struct vmbus_ring *r);

#endif /* VMBUS_RING_H */
