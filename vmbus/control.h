/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * control.h - the bus control protocol: messages exchanged on the two
 * control rings (guest->host, host->guest) to negotiate a version, offer
 * channels, describe guest memory (GPADLs), open/close/retarget channels,
 * request sub-channels, rescind and unload.
 *
 * Each message travels as one VMBUS_PACKET_INBAND packet whose payload
 * starts with struct vmbus_ctl_hdr. All fields are little-endian; statuses
 * are 0 or a negative Linux errno. Every message is checked by
 * vmbus_ctl_validate() against one table (minimum length, direction,
 * variable-length part) before any field is used.
 * The wire format is documented in docs/protocol/channel.md.
 */
#ifndef VMBUS_CONTROL_H
#define VMBUS_CONTROL_H

#include "platform.h"
#include "guid.h"

#define VMBUS_VERSION(major, minor)	(((uint32_t)(major) << 16) | (minor))
#define VMBUS_VERSION_MAJOR(v)		((v) >> 16)
#define VMBUS_VERSION_MINOR(v)		((v) & 0xffff)
#define VMBUS_VERSION_1_0		VMBUS_VERSION(1, 0)
#define VMBUS_VERSION_CURRENT		VMBUS_VERSION_1_0

#define VMBUS_CTL_MAX_LEN		4096u	/* largest control message */
#define VMBUS_CTL_OFFER_USER_MAX	128u	/* device-specific bytes in an offer */
/* Page frame numbers one GPADL message can carry. */
#define VMBUS_CTL_GPADL_HEADER_MAX_PFNS	((VMBUS_CTL_MAX_LEN - 32u) / 8u)
#define VMBUS_CTL_GPADL_BODY_MAX_PFNS	((VMBUS_CTL_MAX_LEN - 16u) / 8u)

enum vmbus_ctl_dir {
	VMBUS_CTL_TO_HOST  = 1,		/* sent by the guest */
	VMBUS_CTL_TO_GUEST = 2,		/* sent by the host */
};

enum vmbus_ctl_type {
	VMBUS_CTL_CONNECT = 1,		/* g->h: version range */
	VMBUS_CTL_CONNECT_RESULT,	/* h->g: chosen version or refusal, limits */
	VMBUS_CTL_REQUEST_OFFERS,	/* g->h */
	VMBUS_CTL_OFFER,		/* h->g: one channel */
	VMBUS_CTL_OFFERS_DONE,		/* h->g: initial offers all sent */
	VMBUS_CTL_RESCIND,		/* h->g: channel is going away */
	VMBUS_CTL_RELEASE,		/* g->h: guest is done with a rescinded channel */
	VMBUS_CTL_GPADL_HEADER,		/* g->h: first part of a page list */
	VMBUS_CTL_GPADL_BODY,		/* g->h: more pages */
	VMBUS_CTL_GPADL_RESULT,		/* h->g: page list accepted or refused */
	VMBUS_CTL_GPADL_TEARDOWN,	/* g->h */
	VMBUS_CTL_GPADL_TORNDOWN,	/* h->g */
	VMBUS_CTL_OPEN,			/* g->h: open a channel on a GPADL'd ring pair */
	VMBUS_CTL_OPEN_RESULT,		/* h->g */
	VMBUS_CTL_CLOSE,		/* g->h */
	VMBUS_CTL_CLOSE_RESULT,		/* h->g */
	VMBUS_CTL_MODIFY,		/* g->h: new target CPU / vector */
	VMBUS_CTL_MODIFY_RESULT,	/* h->g */
	VMBUS_CTL_SUBCHANNEL_REQUEST,	/* g->h: offer up to N sub-channels */
	VMBUS_CTL_SUBCHANNEL_RESULT,	/* h->g: how many were offered */
	VMBUS_CTL_UNLOAD,		/* g->h: guest is leaving (kexec, crash, shutdown) */
	VMBUS_CTL_UNLOAD_DONE,		/* h->g: every channel closed, bus reset */
	VMBUS_CTL_TYPE_COUNT
};

struct vmbus_ctl_hdr {
	uint32_t type;
	uint32_t reserved;
};

struct vmbus_ctl_connect {
	struct vmbus_ctl_hdr hdr;
	uint32_t version_min;
	uint32_t version_max;
	uint64_t features;
};

struct vmbus_ctl_connect_result {
	struct vmbus_ctl_hdr hdr;
	int32_t status;			/* 0, or -EPROTONOSUPPORT: no common version */
	uint32_t version;		/* chosen version when status == 0 */
	uint32_t host_version_min;
	uint32_t host_version_max;
	uint32_t max_channels;		/* event bitmap bits: channel ids are 1..max_channels-1 */
	uint32_t max_gpadl_pages;	/* pages in one GPADL */
	uint64_t features;
};

struct vmbus_ctl_offer {
	struct vmbus_ctl_hdr hdr;
	struct vmbus_guid class_id;
	struct vmbus_guid instance_id;
	uint32_t channel_id;
	uint16_t subchannel_index;	/* 0 for a primary channel */
	uint16_t flags;
	uint32_t max_subchannels;	/* sub-channels the host would offer */
	uint32_t user_len;		/* valid bytes in user[] */
	uint8_t user[VMBUS_CTL_OFFER_USER_MAX];
};

struct vmbus_ctl_channel {		/* RESCIND, RELEASE, CLOSE, UNLOAD(_DONE) use this or hdr */
	struct vmbus_ctl_hdr hdr;
	uint32_t channel_id;
	uint32_t reserved;
};

struct vmbus_ctl_gpadl_header {
	struct vmbus_ctl_hdr hdr;
	uint32_t channel_id;
	uint32_t gpadl_id;		/* chosen by the guest, unique per bus */
	uint32_t total_pages;		/* pages in the whole GPADL */
	uint32_t count;			/* pfns in this message */
	uint32_t reserved[2];
	uint64_t pfn[];			/* guest page frame numbers (4 KiB pages) */
};

struct vmbus_ctl_gpadl_body {
	struct vmbus_ctl_hdr hdr;
	uint32_t gpadl_id;
	uint32_t count;
	uint64_t pfn[];
};

struct vmbus_ctl_gpadl_result {
	struct vmbus_ctl_hdr hdr;
	uint32_t channel_id;
	uint32_t gpadl_id;
	int32_t status;
	uint32_t reserved;
};

struct vmbus_ctl_gpadl_teardown {	/* TEARDOWN and TORNDOWN */
	struct vmbus_ctl_hdr hdr;
	uint32_t channel_id;
	uint32_t gpadl_id;
};

struct vmbus_ctl_open {
	struct vmbus_ctl_hdr hdr;
	uint32_t channel_id;
	uint32_t open_id;		/* echoed in the result */
	uint32_t ring_gpadl_id;		/* both rings: guest->host first */
	uint32_t to_guest_page;		/* page in the GPADL where host->guest ring starts */
	uint32_t target_cpu;		/* guest CPU that handles this channel */
	uint32_t vector;		/* MSI-X vector that interrupts target_cpu */
};

struct vmbus_ctl_result {		/* OPEN_RESULT, CLOSE_RESULT, MODIFY_RESULT */
	struct vmbus_ctl_hdr hdr;
	uint32_t channel_id;
	uint32_t open_id;		/* OPEN_RESULT only */
	int32_t status;
	uint32_t reserved;
};

struct vmbus_ctl_modify {
	struct vmbus_ctl_hdr hdr;
	uint32_t channel_id;
	uint32_t target_cpu;
	uint32_t vector;
	uint32_t reserved;
};

struct vmbus_ctl_subchannel {		/* REQUEST and RESULT */
	struct vmbus_ctl_hdr hdr;
	uint32_t channel_id;		/* the primary channel */
	uint32_t count;			/* requested / offered */
};

/* Largest fixed-size message, for stack buffers. */
union vmbus_ctl_msg {
	struct vmbus_ctl_hdr hdr;
	struct vmbus_ctl_connect connect;
	struct vmbus_ctl_connect_result connect_result;
	struct vmbus_ctl_offer offer;
	struct vmbus_ctl_channel channel;
	struct vmbus_ctl_gpadl_header gpadl_header;
	struct vmbus_ctl_gpadl_body gpadl_body;
	struct vmbus_ctl_gpadl_result gpadl_result;
	struct vmbus_ctl_gpadl_teardown gpadl_teardown;
	struct vmbus_ctl_open open;
	struct vmbus_ctl_result result;
	struct vmbus_ctl_modify modify;
	struct vmbus_ctl_subchannel subchannel;
	uint8_t bytes[VMBUS_CTL_MAX_LEN];
};

/*
 * Check a received control message: known type, sent in the expected
 * direction (the direction of the *sender*), at least the minimum length,
 * at most VMBUS_CTL_MAX_LEN, and any count field consistent with the length
 * and within its limit. Returns the type (> 0) or -EPROTO.
 */
int vmbus_ctl_validate(const void *msg, uint32_t len, enum vmbus_ctl_dir sender);

/*
 * Exact length of a message of `type` carrying `count` variable elements;
 * 0 for an unknown type or a count above the type's limit.
 */
uint32_t vmbus_ctl_len(enum vmbus_ctl_type type, uint32_t count);

/* Name of a message type for logs; "unknown" for anything else. */
const char *vmbus_ctl_name(uint32_t type);

/*
 * Pick the highest version inside both [our_min, our_max] and
 * [peer_min, peer_max] (each side supports every version in its range).
 * Returns the version or -EPROTONOSUPPORT.
 */
int64_t vmbus_version_pick(uint32_t our_min, uint32_t our_max,
			   uint32_t peer_min, uint32_t peer_max);

#endif /* VMBUS_CONTROL_H */
