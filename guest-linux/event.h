// SPDX-License-Identifier: GPL-2.0
/*
 * event.h - interrupts and doorbells: the MSI-X vectors (0 for control, one
 * per CPU for channel events), the event bitmaps in BAR2, and ringing the
 * host.
 */
#ifndef OPENVMBUS_EVENT_H
#define OPENVMBUS_EVENT_H

#include <linux/interrupt.h>

#include "connection.h"

struct openvmbus_vector {
	struct openvmbus_conn *conn;
	unsigned int index;
	u64 *bitmap;			/* this vector's to-guest bitmap, in BAR2 */
	struct tasklet_struct tasklet;
};

/* Allocate the MSI-X vectors and install the handlers. */
int openvmbus_events_init(struct openvmbus_conn *conn);
void openvmbus_events_exit(struct openvmbus_conn *conn);

/* Ring the host's vector (VMBUS_VECTOR_CONTROL or VMBUS_VECTOR_TO_HOST_EVENTS). */
void openvmbus_doorbell(struct openvmbus_conn *conn, u32 vector);
/* Flag channel_id in the to-host bitmap and ring the host. */
void openvmbus_signal_channel(struct openvmbus_conn *conn, u32 channel_id);

/* The vector that interrupts cpu. */
u32 openvmbus_cpu_vector(const struct openvmbus_conn *conn, unsigned int cpu);
/* A target CPU for a new channel: online CPUs in turn. Serialised by the caller. */
unsigned int openvmbus_next_target_cpu(struct openvmbus_conn *conn);

#endif /* OPENVMBUS_EVENT_H */
