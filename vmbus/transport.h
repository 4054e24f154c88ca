/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * transport.h - how the bus rides on QEMU's ivshmem-doorbell device: the
 * layout of BAR2 (shared memory owned by the host worker), the doorbell
 * vectors, and the connection handshake. Documented in
 * docs/protocol/transport.md.
 *
 * BAR2 holds a header page, the two control rings (same format as channel
 * rings, see ring.h) and the event bitmaps. Every offset and size is in the
 * header; a guest must use those, not the defaults below. The guest checks
 * the header against the BAR size before it touches anything.
 */
#ifndef VMBUS_TRANSPORT_H
#define VMBUS_TRANSPORT_H

#include "platform.h"
#include "ring.h"

/* "OVMBUS\0\1" in memory order. */
#define VMBUS_BAR_MAGIC			0x01005355424d564fULL
#define VMBUS_BAR_LAYOUT_VERSION	1u

/* ivshmem-doorbell identity and registers (BAR0). */
#define VMBUS_PCI_VENDOR		0x1af4
#define VMBUS_PCI_DEVICE		0x1110
#define VMBUS_PCI_REVISION		1
#define VMBUS_IVSHMEM_REG_IVPOSITION	8	/* our own peer id */
#define VMBUS_IVSHMEM_REG_DOORBELL	12	/* write peer << 16 | vector */
#define VMBUS_HOST_PEER_ID		0	/* the worker is peer 0 */

/*
 * Vectors. Guest -> host: 0 = control ring, 1 = channel events (see the
 * to-host bitmap). Host -> guest: 0 = control ring, 1..num_vectors-1 =
 * channel events, one per guest CPU; a channel's vector is chosen by the
 * guest when it opens or retargets the channel.
 */
#define VMBUS_VECTOR_CONTROL		0u
#define VMBUS_VECTOR_TO_HOST_EVENTS	1u
#define VMBUS_VECTOR_FIRST_CHANNEL	1u
#define VMBUS_MAX_VECTORS		65u	/* control + 64 CPUs */

/* Defaults the worker uses (the header is authoritative). */
#define VMBUS_DEFAULT_BAR_SIZE		(256u * 1024u)
#define VMBUS_DEFAULT_CTL_RING_SIZE	(60u * 1024u)	/* data bytes per control ring */
#define VMBUS_MAX_CHANNELS		1024u	/* channel ids are 1..max_channels-1 */

/* Limits the host enforces on what a guest asks for. */
#define VMBUS_MAX_GPADLS		4096u		/* per bus */
#define VMBUS_MAX_GPADL_PAGES		65536u		/* 256 MiB per GPADL */
#define VMBUS_MAX_GPADL_TOTAL_PAGES	(1u << 20)	/* 4 GiB per bus */
#define VMBUS_MAX_CHANNEL_RING_SIZE	(16u << 20)	/* data bytes per direction */
#define VMBUS_PAGE_SIZE			4096u

enum vmbus_host_state {
	VMBUS_HOST_ABSENT	= 0,	/* nothing serves this BAR yet */
	VMBUS_HOST_READY	= 1,	/* the worker serves the bus */
	VMBUS_HOST_STOPPING	= 2,	/* the worker is shutting down cleanly */
};

enum vmbus_guest_state {
	VMBUS_GUEST_ABSENT	= 0,
	VMBUS_GUEST_CONNECTING	= 1,	/* connect_seq bumped, waiting for connect_ack */
	VMBUS_GUEST_CONNECTED	= 2,	/* CONNECT_RESULT accepted */
	VMBUS_GUEST_UNLOADED	= 3,	/* UNLOAD done; a new driver may connect */
};

struct vmbus_bar_header {
	/* Layout: written once by the host before QEMU starts. */
	uint64_t magic;
	uint32_t layout_version;
	uint32_t bar_size;
	uint32_t max_channels;		/* bits in each event bitmap */
	uint32_t num_vectors;		/* MSI-X vectors of the device */
	uint32_t to_guest_ring_offset;	/* ring header page; data follows it */
	uint32_t to_guest_ring_size;	/* data bytes */
	uint32_t to_host_ring_offset;
	uint32_t to_host_ring_size;
	uint32_t to_host_events_offset;	/* one bitmap of max_channels bits */
	uint32_t to_guest_events_offset; /* num_vectors bitmaps, back to back */
	uint32_t layout_reserved[4];

	/* Written by the host (offset 64). */
	uint32_t host_state;		/* enum vmbus_host_state */
	uint32_t host_epoch;		/* differs for every worker process */
	uint32_t host_heartbeat;	/* +1 every second while the worker runs */
	uint32_t connect_ack;		/* = connect_seq once the control rings are fresh */
	uint32_t host_reserved[12];

	/* Written by the guest (offset 128). */
	uint32_t guest_state;		/* enum vmbus_guest_state */
	uint32_t connect_seq;		/* bumped to ask for a fresh connection */
	uint32_t guest_reserved[14];
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_bar_header) == 192, "BAR header layout");

/* Bytes of one event bitmap. */
static inline uint32_t vmbus_event_bitmap_bytes(uint32_t max_channels)
{
	return ((max_channels + 63u) / 64u) * 8u;
}

/*
 * Check a BAR header read from shared memory against the BAR's real size:
 * every region inside the BAR, rings of a valid size, bitmaps not
 * overlapping anything. Returns 0 or -EPROTO. The guest uses this before
 * trusting any offset; the host uses it on the header it built.
 */
int vmbus_bar_header_check(const struct vmbus_bar_header *h, uint64_t bar_size);

/* Fill in a header with the default layout for num_vectors; -EINVAL if it does not fit. */
int vmbus_bar_header_init(struct vmbus_bar_header *h, uint32_t bar_size, uint32_t num_vectors);

#endif /* VMBUS_TRANSPORT_H */
