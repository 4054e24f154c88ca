// SPDX-License-Identifier: GPL-2.0
/*
 * channel.h - channel objects: one per offer (primary or sub-channel), kept
 * in the connection's table by channel id from the offer until the guest
 * releases the rescinded channel. The driver-facing functions are declared
 * in openvmbus.h.
 *
 * Lifetime: a kref. The table holds one reference, a primary's device holds
 * one, a sub-channel holds one on its primary, and a primary's list of
 * sub-channels holds one on each. Objects are freed after an RCU grace
 * period, since the event path looks channels up under RCU.
 */
#ifndef OPENVMBUS_CHANNEL_H
#define OPENVMBUS_CHANNEL_H

#include <linux/kref.h>
#include <linux/rcupdate.h>

#include "connection.h"
#include "openvmbus.h"

enum openvmbus_channel_state {
	OPENVMBUS_CHANNEL_OFFERED,	/* closed */
	OPENVMBUS_CHANNEL_OPEN,
	OPENVMBUS_CHANNEL_CLOSING,	/* open or close in progress */
};

struct openvmbus_channel {
	struct kref kref;
	struct rcu_head rcu;
	struct openvmbus_conn *conn;
	u32 id;
	struct vmbus_ctl_offer offer;		/* copy, validated */
	bool rescinded;				/* set as soon as RESCIND is received */
	bool rescind_handled;			/* offer worker only */

	/* Sub-channels (the lists are changed by the offer worker only). */
	struct openvmbus_channel *primary;	/* NULL for a primary */
	struct list_head sc_node;		/* in primary->subchannels */
	bool sc_handed;				/* given to the bound driver's sc_offer */
	struct mutex sc_lock;			/* primary: subchannels, sc_handed */
	struct list_head subchannels;
	struct openvmbus_device *device;	/* primary: while registered */

	struct mutex mutex;			/* open, close, modify, sub-channel requests */
	int state;				/* changed under mutex + send_lock + recv_lock */
	u32 target_cpu;
	u32 vector;
	struct openvmbus_gpadl *ring;		/* both rings: send, then receive */

	spinlock_t send_lock;
	struct vmbus_ring send_ring;
	spinlock_t recv_lock;
	struct vmbus_ring recv_ring;

	/* Counters for sysfs ("signals"): compare with `vmbusctl channels`. */
	atomic64_t signals_sent;		/* host signalled (ring rules said so) */
	atomic64_t events;			/* callbacks run for host signals */

	spinlock_t callback_lock;		/* serialises and stops the callback */
	openvmbus_channel_callback_t callback;
	void *callback_ctx;
};

/* A closed channel for a validated offer; primary (or NULL) gets a reference. */
struct openvmbus_channel *openvmbus_channel_create(struct openvmbus_conn *conn,
						   const struct vmbus_ctl_offer *offer,
						   struct openvmbus_channel *primary);
void openvmbus_channel_get(struct openvmbus_channel *ch);
void openvmbus_channel_put(struct openvmbus_channel *ch);

/* Enter ch in the table (-EEXIST if its id is taken) / take it out. */
int openvmbus_channel_publish(struct openvmbus_channel *ch);
void openvmbus_channel_unpublish(struct openvmbus_channel *ch);
/* A referenced channel from the table, or NULL. */
struct openvmbus_channel *openvmbus_channel_lookup(struct openvmbus_conn *conn, u32 id);
/* The referenced primary channel with that instance GUID, or NULL. */
struct openvmbus_channel *openvmbus_channel_find_primary(struct openvmbus_conn *conn,
							 const struct vmbus_guid *instance_id);

/* The host signalled channel id (softirq, from the vector's tasklet). */
void openvmbus_channel_event(struct openvmbus_conn *conn, u32 id);
/* Run every open channel's callback once (their state changed). */
void openvmbus_channels_kick_all(struct openvmbus_conn *conn);
/*
 * The host withdrew channel id (and closed it, if it was open), and with a
 * primary all its sub-channels: I/O fails with -ENODEV from now on and
 * closing sends no CLOSE. Called by the control worker on receipt, before
 * the offer worker gets to the rescind.
 */
void openvmbus_channel_mark_rescinded(struct openvmbus_conn *conn, u32 id);
/* Tell the callback of a rescinded channel. */
void openvmbus_channel_kick(struct openvmbus_channel *ch);

bool openvmbus_channel_is_open(struct openvmbus_channel *ch);
const char *openvmbus_channel_state_name(const struct openvmbus_channel *ch);
u32 openvmbus_channel_vector(const struct openvmbus_channel *ch);
u64 openvmbus_channel_signals_sent(const struct openvmbus_channel *ch);
u64 openvmbus_channel_events(const struct openvmbus_channel *ch);

#endif /* OPENVMBUS_CHANNEL_H */
