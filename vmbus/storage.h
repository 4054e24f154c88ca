/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * storage.h - the synthetic block device protocol: wire format, status
 * codes and limits (docs/protocol/storage.md).
 *
 * One device (one offer) per disk; its primary channel and each sub-channel
 * is one hardware queue. Every guest request is one packet:
 *   - READ and WRITE: a VMBUS_PACKET_PAGES packet whose page list describes
 *     the request's own data pages, payload struct vmbus_stor_request;
 *   - IDENTIFY, FLUSH, DISCARD, WRITE_ZEROES: a VMBUS_PACKET_INBAND packet,
 *     payload struct vmbus_stor_request, no page list.
 * The host answers every request with one VMBUS_PACKET_COMPLETION packet
 * carrying the request's transaction id and struct vmbus_stor_completion
 * (for IDENTIFY followed by struct vmbus_stor_identity).
 */
#ifndef VMBUS_STORAGE_H
#define VMBUS_STORAGE_H

#include "platform.h"
#include "guid.h"
#include "control.h"

#define VMBUS_STOR_VERSION_1	VMBUS_VERSION(1, 0)

#define VMBUS_STOR_SECTOR_SIZE	512u	/* unit of every sector/nsectors field */

/* Host limits (also reported in struct vmbus_stor_identity). */
#define VMBUS_STOR_MAX_TRANSFER	(1024u * 1024u)	/* bytes of one READ/WRITE */
#define VMBUS_STOR_MAX_RANGES	256u		/* ranges in one page list */
#define VMBUS_STOR_MAX_PAGES	512u		/* pfns in one page list */
#define VMBUS_STOR_MAX_DISCARD	(1u << 22)	/* sectors (2 GiB) in one DISCARD/WRITE_ZEROES */
#define VMBUS_STOR_QUEUE_DEPTH	128u		/* requests in flight per queue */
#define VMBUS_STOR_MAX_QUEUES	8u		/* primary channel + 7 sub-channels */
#define VMBUS_STOR_SERIAL_LEN	20u		/* bytes, NUL-padded, not terminated */

enum vmbus_stor_op {
	VMBUS_STOR_OP_IDENTIFY		= 1,	/* version in `arg`; answer has the identity */
	VMBUS_STOR_OP_READ		= 2,	/* disk -> guest pages */
	VMBUS_STOR_OP_WRITE		= 3,	/* guest pages -> disk; VMBUS_STOR_F_FUA */
	VMBUS_STOR_OP_FLUSH		= 4,	/* everything completed before is durable */
	VMBUS_STOR_OP_DISCARD		= 5,	/* the range may read back as anything */
	VMBUS_STOR_OP_WRITE_ZEROES	= 6,	/* the range reads back as zeroes */
};

/* Request flags. */
#define VMBUS_STOR_F_FUA	0x1u	/* WRITE: durable before the completion */

struct vmbus_stor_request {
	uint32_t op;		/* enum vmbus_stor_op */
	uint32_t flags;		/* VMBUS_STOR_F_*; unknown bits refused */
	uint64_t sector;	/* first sector */
	uint32_t nsectors;	/* sectors; READ/WRITE: page list bytes / 512 */
	uint32_t arg;		/* IDENTIFY: highest version the guest speaks; else 0 */
	uint64_t reserved;	/* 0 */
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_stor_request) == 32, "storage request is 32 bytes");

/* Completion status; the guest maps them onto block-layer errors. */
enum vmbus_stor_status {
	VMBUS_STOR_S_OK			= 0,	/* BLK_STS_OK */
	VMBUS_STOR_S_IO_ERROR		= 1,	/* BLK_STS_IOERR: the backing file failed */
	VMBUS_STOR_S_INVALID		= 2,	/* BLK_STS_IOERR: malformed request */
	VMBUS_STOR_S_OUT_OF_RANGE	= 3,	/* BLK_STS_IOERR: beyond the disk's end */
	VMBUS_STOR_S_READ_ONLY		= 4,	/* BLK_STS_PROTECTION: write to a read-only disk */
	VMBUS_STOR_S_UNSUPPORTED	= 5,	/* BLK_STS_NOTSUPP: op or version unknown */
	VMBUS_STOR_S_BAD_ADDRESS	= 6,	/* BLK_STS_IOERR: page outside guest RAM */
	VMBUS_STOR_S_NO_SPACE		= 7,	/* BLK_STS_NOSPC: host filesystem full */
};

struct vmbus_stor_completion {
	uint32_t status;	/* enum vmbus_stor_status */
	uint32_t reserved;	/* 0 */
	uint64_t bytes;		/* bytes transferred (READ/WRITE) */
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_stor_completion) == 16, "storage completion is 16 bytes");

/* Identity flags. */
#define VMBUS_STOR_ID_READ_ONLY		0x1u
#define VMBUS_STOR_ID_WRITE_CACHE	0x2u	/* FLUSH/FUA are needed for durability */
#define VMBUS_STOR_ID_DISCARD		0x4u
#define VMBUS_STOR_ID_WRITE_ZEROES	0x8u

struct vmbus_stor_identity {
	uint32_t version;		/* the version the host speaks (<= request arg) */
	uint32_t flags;			/* VMBUS_STOR_ID_* */
	uint64_t capacity;		/* sectors */
	uint32_t logical_block_size;	/* bytes, power of two >= 512 */
	uint32_t physical_block_size;	/* bytes */
	uint32_t optimal_io_size;	/* bytes, 0: none */
	uint32_t max_transfer;		/* bytes of one READ/WRITE */
	uint32_t max_ranges;		/* ranges in one page list */
	uint32_t max_pages;		/* pfns in one page list */
	uint32_t queue_depth;		/* requests in flight per queue */
	uint32_t num_queues;		/* primary channel + sub-channels offered */
	uint32_t max_discard_sectors;	/* per DISCARD */
	uint32_t discard_granularity;	/* bytes */
	uint32_t max_write_zeroes_sectors; /* per WRITE_ZEROES */
	uint32_t reserved0;
	uint8_t serial[VMBUS_STOR_SERIAL_LEN];
	uint32_t reserved1;
	struct vmbus_guid unique_id;	/* stable per disk */
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_stor_identity) == 104, "storage identity is 104 bytes");

#endif
