/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ic.h - the common frame of integration-service messages (heartbeat,
 * shutdown, KVP, backup, ...). Each service message starts with struct
 * vmbus_ic_hdr; the payload that follows is service-specific and described
 * in docs/protocol/<service>.md.
 *
 * Every service starts with a version negotiation: the host sends
 * VMBUS_IC_NEGOTIATE with its range [version, version_max] in the payload
 * (struct vmbus_ic_negotiate); the guest answers VMBUS_IC_NEGOTIATE with
 * status 0 and the chosen version in the header, or status
 * -EPROTONOSUPPORT. Requests carry a sequence number that the answer
 * echoes.
 */
#ifndef VMBUS_IC_H
#define VMBUS_IC_H

#include "platform.h"
#include "control.h"

enum vmbus_ic_type {
	VMBUS_IC_NEGOTIATE		= 1,
	VMBUS_IC_HEARTBEAT		= 2,	/* request h->g, answer g->h */
	VMBUS_IC_SHUTDOWN		= 3,	/* request h->g, answer g->h */
	VMBUS_IC_TIMESYNC		= 4,	/* sample h->g, answer g->h (vmbus/ic_timesync.h) */
	VMBUS_IC_KVP			= 5,	/* requests h->g, answers g->h (ic_kvp.h) */
	VMBUS_IC_BACKUP			= 6,	/* requests h->g, answers g->h (ic_backup.h) */
};

#define VMBUS_IC_F_RESPONSE	0x1u	/* flags: this message answers a request */

struct vmbus_ic_hdr {
	uint32_t type;		/* enum vmbus_ic_type */
	uint32_t flags;		/* VMBUS_IC_F_* */
	uint32_t version;	/* negotiated service version (0 in NEGOTIATE requests) */
	int32_t status;		/* answers: 0 or a negative errno */
	uint64_t seq;		/* request sequence, echoed by the answer */
	uint32_t payload_len;	/* bytes following this header */
	uint32_t reserved;
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_ic_hdr) == 32, "IC header is 32 bytes");

struct vmbus_ic_negotiate {
	uint32_t version_min;
	uint32_t version_max;
};

#define VMBUS_IC_HEARTBEAT_VERSION_1	VMBUS_VERSION(1, 0)

/* Heartbeat answer payload. */
struct vmbus_ic_heartbeat {
	uint32_t guest_state;	/* enum vmbus_guest_system_state */
	uint32_t reserved;
};

/* The guest's overall state, as systemd reports it (SystemState). */
enum vmbus_guest_system_state {
	VMBUS_GUEST_SYSTEM_UNKNOWN = 0,	/* not reported (no systemd) */
	VMBUS_GUEST_SYSTEM_INITIALIZING,
	VMBUS_GUEST_SYSTEM_STARTING,
	VMBUS_GUEST_SYSTEM_RUNNING,
	VMBUS_GUEST_SYSTEM_DEGRADED,
	VMBUS_GUEST_SYSTEM_MAINTENANCE,
	VMBUS_GUEST_SYSTEM_STOPPING,
	VMBUS_GUEST_SYSTEM_OFFLINE,
	VMBUS_GUEST_SYSTEM_STATE_COUNT
};

/* systemd's names, indexed by enum vmbus_guest_system_state. */
static const char *const vmbus_guest_system_state_names[VMBUS_GUEST_SYSTEM_STATE_COUNT] = {
	"unknown", "initializing", "starting", "running", "degraded", "maintenance",
	"stopping", "offline",
};

static inline const char *vmbus_guest_system_state_name(uint32_t state)
{
	return state < VMBUS_GUEST_SYSTEM_STATE_COUNT ? vmbus_guest_system_state_names[state] : "unknown";
}

static inline uint32_t vmbus_guest_system_state_from_name(const char *name)
{
	uint32_t i;

	for (i = 1; i < VMBUS_GUEST_SYSTEM_STATE_COUNT; i++)
		if (strcmp(vmbus_guest_system_state_names[i], name) == 0)
			return i;
	return VMBUS_GUEST_SYSTEM_UNKNOWN;
}

/* Shutdown (docs/protocol/shutdown.md). */
#define VMBUS_IC_SHUTDOWN_VERSION_1	VMBUS_VERSION(1, 0)
#define VMBUS_SHUTDOWN_REASON_MAX	256u	/* bytes of UTF-8, no NUL */
#define VMBUS_SHUTDOWN_MESSAGE_MAX	512u

enum vmbus_shutdown_action {
	VMBUS_SHUTDOWN_POWEROFF	= 1,
	VMBUS_SHUTDOWN_REBOOT	= 2,
};

#define VMBUS_SHUTDOWN_F_FORCE	0x1u	/* go ahead despite inhibitors */

/* Request payload; reason_len bytes of reason follow. */
struct vmbus_ic_shutdown_request {
	uint32_t action;	/* enum vmbus_shutdown_action */
	uint32_t flags;		/* VMBUS_SHUTDOWN_F_* */
	uint32_t timeout_s;	/* how long the host waits before its fallback */
	uint32_t reason_len;
};

enum vmbus_shutdown_result {
	VMBUS_SHUTDOWN_ACCEPTED		= 0,	/* the guest is shutting down */
	VMBUS_SHUTDOWN_NOT_READY	= 1,	/* e.g. still booting; try again */
	VMBUS_SHUTDOWN_IN_PROGRESS	= 2,	/* a shutdown is already under way */
	VMBUS_SHUTDOWN_INHIBITED	= 3,	/* an inhibitor blocks it (not forced) */
	VMBUS_SHUTDOWN_FAILED		= 4,	/* see the message */
};

/* Answer payload; message_len bytes of message follow. */
struct vmbus_ic_shutdown_answer {
	uint32_t result;	/* enum vmbus_shutdown_result */
	uint32_t message_len;
};

/*
 * Check the frame of a received IC message of len bytes (len may include
 * ring padding): header present, payload_len inside the message and no
 * larger than max_payload. Returns the payload length or -EPROTO.
 */
static inline int vmbus_ic_check(const void *msg, uint32_t len, uint32_t max_payload)
{
	const struct vmbus_ic_hdr *h = msg;

	if (len < sizeof(*h))
		return -EPROTO;
	if (h->payload_len > len - sizeof(*h) || h->payload_len > max_payload)
		return -EPROTO;
	return (int)h->payload_len;
}

#endif /* VMBUS_IC_H */
