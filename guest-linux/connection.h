// SPDX-License-Identifier: GPL-2.0
/*
 * connection.h - one connection to the host worker through one
 * ivshmem-doorbell device: the shared BAR2, the handshake, the control
 * rings, and matching the host's answers to the requests that wait for them.
 * Every other file reaches the host through the functions declared here.
 */
#ifndef OPENVMBUS_CONNECTION_H
#define OPENVMBUS_CONNECTION_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "vmbus/control.h"
#include "vmbus/ring.h"
#include "vmbus/transport.h"

/* How long the guest waits for any answer from the host. */
#define OPENVMBUS_CTL_TIMEOUT		(5 * HZ)
/* How long the host gets to acknowledge a new connection (transport.md). */
#define OPENVMBUS_CONNECT_TIMEOUT	(5 * HZ)

struct openvmbus_channel;
struct openvmbus_vector;

enum openvmbus_conn_state {
	OPENVMBUS_CONN_DISCONNECTED,	/* handshake not done */
	OPENVMBUS_CONN_CONNECTED,
	OPENVMBUS_CONN_UNLOADED,	/* UNLOAD sent: the host forgot us */
};

struct openvmbus_conn {
	struct pci_dev *pdev;
	void __iomem *regs;			/* BAR0: ivshmem registers */
	struct vmbus_bar_header *hdr;		/* BAR2, shared: live words only */
	struct vmbus_bar_header layout;		/* private copy, checked once */
	u8 *shm;				/* BAR2 */

	/* Interrupt vectors (event.c). */
	unsigned int nvec;
	struct openvmbus_vector *vec;
	u16 *cpu_vector;			/* nr_cpu_ids entries */
	int rr_cpu;				/* default target CPU, round robin */
	unsigned long *to_host_events;		/* bitmap in BAR2 */
	u32 event_words;			/* u64 words per bitmap */

	/* Control rings. */
	int state;				/* enum openvmbus_conn_state */
	bool ctl_ready;				/* rings attached */
	bool ctl_broken;			/* host corrupted a control ring */
	bool host_alive;			/* liveness.c */
	bool unload_done;			/* the host confirmed UNLOAD */
	u32 version;
	u32 max_channel_id;
	u32 max_gpadl_pages;
	struct mutex tx_mutex;			/* one sender (or message sequence) at a time */
	spinlock_t tx_lock;			/* the ring itself; try-locked on panic */
	struct vmbus_ring tx;
	spinlock_t rx_lock;
	struct vmbus_ring rx;
	void *rx_buf;				/* VMBUS_CTL_MAX_LEN, used by ctl_work */
	atomic_t ctl_irqs;			/* vector-0 interrupts seen */
	wait_queue_head_t ctl_event;		/* woken on every vector-0 interrupt */
	struct workqueue_struct *ctl_wq;
	struct work_struct ctl_work;
	spinlock_t wait_lock;
	struct list_head waiters;

	/* Offers and rescinds, in order (offer.c). */
	struct workqueue_struct *offer_wq;
	struct work_struct offer_work;
	spinlock_t offer_lock;
	struct list_head offer_events;
	unsigned int offer_pending;
	bool offers_accepted;
	struct completion offers_done;

	/* Channels by id (channel.c); readers use RCU. */
	spinlock_t chan_lock;
	struct openvmbus_channel __rcu **chans;	/* layout.max_channels entries */
	atomic_t open_seq;

	/* GPADLs (gpadl.c). */
	struct ida gpadl_ida;
	spinlock_t orphan_lock;
	struct list_head orphans;		/* the host may still use these pages */

	/* Liveness (liveness.c). */
	struct delayed_work liveness_work;
	u32 last_heartbeat;
	unsigned long last_change;

	struct notifier_block panic_nb;		/* unload.c */
};

/* An answer awaited from the host, matched on type and up to two keys. */
struct openvmbus_ctl_waiter {
	struct list_head node;
	struct completion done;
	u32 type, key_a, key_b;
	int status;			/* 0: resp holds the answer */
	union {
		struct vmbus_ctl_hdr hdr;
		struct vmbus_ctl_connect_result connect_result;
		struct vmbus_ctl_gpadl_result gpadl_result;
		struct vmbus_ctl_gpadl_teardown gpadl_teardown;
		struct vmbus_ctl_result result;
		struct vmbus_ctl_subchannel subchannel;
	} resp;
};

struct openvmbus_conn *openvmbus_conn_alloc(struct pci_dev *pdev, void __iomem *regs,
					    void *shm, const struct vmbus_bar_header *layout);
void openvmbus_conn_free(struct openvmbus_conn *conn);
/* Handshake of transport.md "Connecting"; IRQs must be set up. */
int openvmbus_conn_connect(struct openvmbus_conn *conn);
/* Control messages can be sent and channels used. */
bool openvmbus_conn_usable(const struct openvmbus_conn *conn);
/* Called from the vector-0 interrupt. */
void openvmbus_ctl_irq(struct openvmbus_conn *conn);

void openvmbus_ctl_waiter_init(struct openvmbus_ctl_waiter *w, u32 type, u32 key_a, u32 key_b);
/* Register w before sending the request it waits for. */
void openvmbus_ctl_waiter_add(struct openvmbus_conn *conn, struct openvmbus_ctl_waiter *w);
void openvmbus_ctl_waiter_cancel(struct openvmbus_conn *conn, struct openvmbus_ctl_waiter *w);
/* 0 with w->resp filled, -ETIMEDOUT, or -ENODEV; w is unregistered either way. */
int openvmbus_ctl_waiter_wait(struct openvmbus_conn *conn, struct openvmbus_ctl_waiter *w);
/* Complete every waiter with err (host gone, bus unloaded). */
void openvmbus_ctl_fail_waiters(struct openvmbus_conn *conn, int err);

/* Send one message (sleeps while the ring is full). */
int openvmbus_ctl_send(struct openvmbus_conn *conn, const void *msg, u32 len);
/* Send a sequence of messages that must not be interleaved with others. */
void openvmbus_ctl_tx_begin(struct openvmbus_conn *conn);
int openvmbus_ctl_tx(struct openvmbus_conn *conn, const void *msg, u32 len);
void openvmbus_ctl_tx_end(struct openvmbus_conn *conn);
/* Send msg and wait for the answer described by w. */
int openvmbus_ctl_request(struct openvmbus_conn *conn, const void *msg, u32 len,
			  struct openvmbus_ctl_waiter *w);
/* A host status word as an errno: 0, a negative errno, or -EPROTO for garbage. */
int openvmbus_host_status(s32 status);

/* Panic path: send UNLOAD and poll for UNLOAD_DONE for up to 1 s, without sleeping. */
int openvmbus_ctl_unload_atomic(struct openvmbus_conn *conn);

#endif /* OPENVMBUS_CONNECTION_H */
