/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ic_timesync.h - the time synchronisation integration service
 * (docs/protocol/timesync.md): the host sends samples of its
 * CLOCK_REALTIME, the guest kernel module keeps the latest one behind a
 * PTP clock for chrony and steps its own clock when a sample marked SYNC
 * finds it too far off. Every sample is answered, so the host knows the
 * round trip (its delay estimate) and the guest's offset.
 *
 * Framing and version negotiation: vmbus/ic.h. Both messages have type
 * VMBUS_IC_TIMESYNC; the answer carries VMBUS_IC_F_RESPONSE and echoes the
 * sample's sequence number. The guest answers only the latest sample it
 * has read, so a sample superseded while the guest was not running (a
 * paused VM) goes unanswered.
 */
#ifndef VMBUS_IC_TIMESYNC_H
#define VMBUS_IC_TIMESYNC_H

#include "ic.h"

#define VMBUS_IC_TIMESYNC_VERSION_1	VMBUS_VERSION(1, 0)

/* Sample flags (host -> guest). */
#define VMBUS_TIMESYNC_F_SYNC		0x1u	/* step the clock if it is off by more than the threshold */
#define VMBUS_TIMESYNC_F_ALL		VMBUS_TIMESYNC_F_SYNC

/* Limit on the host's delay estimate: a larger one is not worth sending. */
#define VMBUS_TIMESYNC_DELAY_MAX_NS	1000000000ull

/* Sample payload (host -> guest), 24 bytes. */
struct vmbus_ic_timesync_sample {
	int64_t host_ns;	/* host CLOCK_REALTIME when sent, ns since 1970-01-01 UTC */
	uint64_t delay_ns;	/* host's estimate of the delivery delay: add to host_ns */
	uint32_t flags;		/* VMBUS_TIMESYNC_F_* */
	uint32_t reserved;	/* 0 */
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_ic_timesync_sample) == 24, "timesync sample is 24 bytes");

/* Answer flags (guest -> host). */
#define VMBUS_TIMESYNC_A_STEPPED	0x1u	/* the guest stepped its clock (SYNC samples only) */
#define VMBUS_TIMESYNC_A_ALL		VMBUS_TIMESYNC_A_STEPPED

/* Limit on turnaround_ns: a guest slower than this is treated as broken. */
#define VMBUS_TIMESYNC_TURNAROUND_MAX_NS 10000000000ull

/* Answer payload (guest -> host), 32 bytes. */
struct vmbus_ic_timesync_answer {
	int64_t offset_ns;	/* host time (sample + delay + elapsed) - guest CLOCK_REALTIME, before any step */
	uint64_t turnaround_ns;	/* guest time from reading the sample to sending this answer */
	uint32_t flags;		/* VMBUS_TIMESYNC_A_* */
	uint32_t threshold_ms;	/* the guest's step threshold (0: never steps) */
	uint64_t reserved;	/* 0 */
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_ic_timesync_answer) == 32, "timesync answer is 32 bytes");

#endif /* VMBUS_IC_TIMESYNC_H */
