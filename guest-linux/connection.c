// SPDX-License-Identifier: GPL-2.0
/*
 * connection.c - the connection to the host worker: handshake, control
 * rings, and request/answer matching.
 *
 * Received control messages are read by one work item (driven by the
 * vector-0 interrupt), copied out of the ring, checked by
 * vmbus_ctl_validate() and dispatched through ctl_handlers[]: answers
 * complete the request waiting for them, offers and rescinds go, in order,
 * to the offer worker (offer.c), which may sleep on further answers without
 * blocking this one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "connection.h"
#include "event.h"
#include "gpadl.h"
#include "offer.h"

/* Host errors are reported to userspace at times: keep them in its errno range. */
#define OPENVMBUS_HOST_ERRNO_MAX 511

int openvmbus_host_status(s32 status)
{
	if (status == 0)
		return 0;
	if (status < 0 && status >= -OPENVMBUS_HOST_ERRNO_MAX)
		return status;
	return -EPROTO;
}

bool openvmbus_conn_usable(const struct openvmbus_conn *conn)
{
	return smp_load_acquire(&conn->ctl_ready) && !READ_ONCE(conn->ctl_broken) &&
	       READ_ONCE(conn->state) != OPENVMBUS_CONN_UNLOADED &&
	       READ_ONCE(conn->host_alive);
}

/* ------------------------------------------------------------------ waiters */

void openvmbus_ctl_waiter_init(struct openvmbus_ctl_waiter *w, u32 type, u32 key_a, u32 key_b)
{
	INIT_LIST_HEAD(&w->node);
	init_completion(&w->done);
	w->type = type;
	w->key_a = key_a;
	w->key_b = key_b;
	w->status = -EINPROGRESS;
}

void openvmbus_ctl_waiter_add(struct openvmbus_conn *conn, struct openvmbus_ctl_waiter *w)
{
	spin_lock(&conn->wait_lock);
	list_add_tail(&w->node, &conn->waiters);
	spin_unlock(&conn->wait_lock);
}

void openvmbus_ctl_waiter_cancel(struct openvmbus_conn *conn, struct openvmbus_ctl_waiter *w)
{
	spin_lock(&conn->wait_lock);
	list_del_init(&w->node);
	spin_unlock(&conn->wait_lock);
}

/* Called with wait_lock held: the waiter may be gone as soon as it is completed. */
static void ctl_waiter_finish(struct openvmbus_ctl_waiter *w, int status)
{
	w->status = status;
	list_del_init(&w->node);
	complete(&w->done);
}

int openvmbus_ctl_waiter_wait(struct openvmbus_conn *conn, struct openvmbus_ctl_waiter *w)
{
	if (!wait_for_completion_timeout(&w->done, OPENVMBUS_CTL_TIMEOUT)) {
		spin_lock(&conn->wait_lock);
		if (!list_empty(&w->node))
			ctl_waiter_finish(w, -ETIMEDOUT);
		spin_unlock(&conn->wait_lock);
	}
	return w->status;
}

void openvmbus_ctl_fail_waiters(struct openvmbus_conn *conn, int err)
{
	struct openvmbus_ctl_waiter *w, *tmp;

	spin_lock(&conn->wait_lock);
	list_for_each_entry_safe(w, tmp, &conn->waiters, node)
		ctl_waiter_finish(w, err);
	spin_unlock(&conn->wait_lock);
}

static void ctl_broken(struct openvmbus_conn *conn, const char *ring)
{
	if (xchg(&conn->ctl_broken, true))
		return;
	dev_err(&conn->pdev->dev, "host corrupted the %s control ring; bus disabled\n", ring);
	openvmbus_ctl_fail_waiters(conn, -ENODEV);
}

/* --------------------------------------------------------------------- send */

void openvmbus_ctl_tx_begin(struct openvmbus_conn *conn)
{
	mutex_lock(&conn->tx_mutex);
}

void openvmbus_ctl_tx_end(struct openvmbus_conn *conn)
{
	mutex_unlock(&conn->tx_mutex);
}

int openvmbus_ctl_tx(struct openvmbus_conn *conn, const void *msg, u32 len)
{
	unsigned long deadline = jiffies + OPENVMBUS_CTL_TIMEOUT;

	lockdep_assert_held(&conn->tx_mutex);
	for (;;) {
		bool signal = false;
		int irqs, ret;

		if (!openvmbus_conn_usable(conn))
			return -ENODEV;
		irqs = atomic_read(&conn->ctl_irqs);
		spin_lock(&conn->tx_lock);
		ret = vmbus_ring_send(&conn->tx, VMBUS_PACKET_INBAND, 0, 0, msg, len, &signal);
		spin_unlock(&conn->tx_lock);
		if (!ret) {
			if (signal)
				openvmbus_doorbell(conn, VMBUS_VECTOR_CONTROL);
			return 0;
		}
		if (ret == -EPROTO)
			ctl_broken(conn, "guest -> host");
		if (ret != -EAGAIN)
			return ret;
		/* Full: the host signals vector 0 once it has made room. */
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		wait_event_timeout(conn->ctl_event, atomic_read(&conn->ctl_irqs) != irqs, HZ / 10);
	}
}

int openvmbus_ctl_send(struct openvmbus_conn *conn, const void *msg, u32 len)
{
	int ret;

	openvmbus_ctl_tx_begin(conn);
	ret = openvmbus_ctl_tx(conn, msg, len);
	openvmbus_ctl_tx_end(conn);
	return ret;
}

int openvmbus_ctl_request(struct openvmbus_conn *conn, const void *msg, u32 len,
			  struct openvmbus_ctl_waiter *w)
{
	int ret;

	openvmbus_ctl_waiter_add(conn, w);
	ret = openvmbus_ctl_send(conn, msg, len);
	if (ret) {
		openvmbus_ctl_waiter_cancel(conn, w);
		return ret;
	}
	return openvmbus_ctl_waiter_wait(conn, w);
}

/* ------------------------------------------------------------------ receive */

/* The keys an answer is matched on: the ids its request carried. */
static void ctl_answer_keys(const union vmbus_ctl_msg *m, u32 *ret_a, u32 *ret_b)
{
	*ret_a = 0;
	*ret_b = 0;
	switch (m->hdr.type) {
	case VMBUS_CTL_GPADL_RESULT:
		*ret_a = m->gpadl_result.gpadl_id;
		*ret_b = m->gpadl_result.channel_id;
		break;
	case VMBUS_CTL_GPADL_TORNDOWN:
		*ret_a = m->gpadl_teardown.gpadl_id;
		*ret_b = m->gpadl_teardown.channel_id;
		break;
	case VMBUS_CTL_OPEN_RESULT:
		*ret_a = m->result.channel_id;
		*ret_b = m->result.open_id;
		break;
	case VMBUS_CTL_CLOSE_RESULT:
	case VMBUS_CTL_MODIFY_RESULT:
		*ret_a = m->result.channel_id;
		break;
	case VMBUS_CTL_SUBCHANNEL_RESULT:
		*ret_a = m->subchannel.channel_id;
		break;
	}
}

static void ctl_answer(struct openvmbus_conn *conn, const union vmbus_ctl_msg *m, u32 len)
{
	struct openvmbus_ctl_waiter *w;
	u32 a, b;

	ctl_answer_keys(m, &a, &b);
	spin_lock(&conn->wait_lock);
	list_for_each_entry(w, &conn->waiters, node) {
		if (w->type != m->hdr.type || w->key_a != a || w->key_b != b)
			continue;
		memcpy(&w->resp, m, min_t(u32, len, sizeof(w->resp)));
		ctl_waiter_finish(w, 0);
		spin_unlock(&conn->wait_lock);
		return;
	}
	spin_unlock(&conn->wait_lock);
	dev_warn_ratelimited(&conn->pdev->dev, "unexpected %s from host (ids %u, %u)\n",
			     vmbus_ctl_name(m->hdr.type), a, b);
}

typedef void (*ctl_handler_fn)(struct openvmbus_conn *conn, const union vmbus_ctl_msg *m,
			       u32 len);

/* Every message the host may send; vmbus_ctl_validate() has checked its length. */
static const ctl_handler_fn ctl_handlers[VMBUS_CTL_TYPE_COUNT] = {
	[VMBUS_CTL_CONNECT_RESULT]	= ctl_answer,
	[VMBUS_CTL_OFFER]		= openvmbus_offer_queue,
	[VMBUS_CTL_OFFERS_DONE]		= openvmbus_offer_queue,
	[VMBUS_CTL_RESCIND]		= openvmbus_offer_queue,
	[VMBUS_CTL_GPADL_RESULT]	= ctl_answer,
	[VMBUS_CTL_GPADL_TORNDOWN]	= ctl_answer,
	[VMBUS_CTL_OPEN_RESULT]		= ctl_answer,
	[VMBUS_CTL_CLOSE_RESULT]	= ctl_answer,
	[VMBUS_CTL_MODIFY_RESULT]	= ctl_answer,
	[VMBUS_CTL_SUBCHANNEL_RESULT]	= ctl_answer,
	[VMBUS_CTL_UNLOAD_DONE]		= ctl_answer,
};

/* Control messages are in-band packets without a type-specific header. */
static int ctl_packet_check(const struct vmbus_packet_desc *desc, const void *body, u32 len)
{
	if (desc->type != VMBUS_PACKET_INBAND || desc->offset8 != sizeof(*desc) / 8)
		return -EPROTO;
	return vmbus_ctl_validate(body, len, VMBUS_CTL_TO_GUEST);
}

static void ctl_dispatch(struct openvmbus_conn *conn, const struct vmbus_packet_desc *desc,
			 u32 len)
{
	const union vmbus_ctl_msg *m = conn->rx_buf;
	int type = ctl_packet_check(desc, m, len);

	if (type < 0 || !ctl_handlers[type]) {
		dev_warn_ratelimited(&conn->pdev->dev,
				     "malformed control message (packet type %u, %u bytes) ignored\n",
				     desc->type, len);
		return;
	}
	dev_dbg(&conn->pdev->dev, "received %s\n", vmbus_ctl_name(type));
	ctl_handlers[type](conn, m, len);
}

static void ctl_work_fn(struct work_struct *work)
{
	struct openvmbus_conn *conn = container_of(work, struct openvmbus_conn, ctl_work);
	struct vmbus_packet_desc desc;
	u32 len;

	if (!smp_load_acquire(&conn->ctl_ready))
		return;
	while (!READ_ONCE(conn->ctl_broken)) {
		bool signal = false;
		int ret;

		spin_lock(&conn->rx_lock);
		ret = vmbus_ring_read(&conn->rx, &desc, conn->rx_buf, VMBUS_CTL_MAX_LEN, &len);
		if (ret == -ENOBUFS && vmbus_ring_skip(&conn->rx) < 0)
			ret = -EPROTO;
		/* Release each message's space at once: the host may be waiting for it. */
		if (ret == 0 || ret == -ENOBUFS)
			signal = vmbus_ring_read_commit(&conn->rx);
		spin_unlock(&conn->rx_lock);
		if (signal)
			openvmbus_doorbell(conn, VMBUS_VECTOR_CONTROL);

		if (ret == -EAGAIN)
			return;
		if (ret == -EPROTO) {
			ctl_broken(conn, "host -> guest");
			return;
		}
		if (ret == -ENOBUFS)
			dev_warn_ratelimited(&conn->pdev->dev,
					     "oversized control message (%u bytes) dropped\n", len);
		else
			ctl_dispatch(conn, &desc, len);
		cond_resched();
	}
}

void openvmbus_ctl_irq(struct openvmbus_conn *conn)
{
	atomic_inc(&conn->ctl_irqs);
	wake_up_all(&conn->ctl_event);
	if (smp_load_acquire(&conn->ctl_ready))
		queue_work(conn->ctl_wq, &conn->ctl_work);
}

/* ------------------------------------------------------------------- unload */

int openvmbus_ctl_unload_atomic(struct openvmbus_conn *conn)
{
	struct vmbus_ctl_hdr msg = { .type = VMBUS_CTL_UNLOAD };
	struct vmbus_packet_desc desc;
	u64 buf[sizeof(struct vmbus_ctl_offer) / 8];
	bool signal;
	unsigned int ms;
	u32 len;
	int ret;

	if (!openvmbus_conn_usable(conn))
		return -ENODEV;
	/* A CPU stopped while holding a ring lock leaves the ring to us only if it was idle. */
	if (!spin_trylock(&conn->tx_lock))
		return -EBUSY;
	ret = vmbus_ring_send(&conn->tx, VMBUS_PACKET_INBAND, 0, 0, &msg, sizeof(msg), &signal);
	spin_unlock(&conn->tx_lock);
	if (ret)
		return ret;
	openvmbus_doorbell(conn, VMBUS_VECTOR_CONTROL);

	if (!spin_trylock(&conn->rx_lock))
		return -EBUSY;
	for (ms = 0; ms < 1000; ms++) {
		for (;;) {
			ret = vmbus_ring_read(&conn->rx, &desc, buf, sizeof(buf), &len);
			if (ret == -ENOBUFS)
				ret = vmbus_ring_skip(&conn->rx) ?: -ENOBUFS;
			if (ret == -EAGAIN)
				break;
			if (ret == -EPROTO)
				goto out;
			if (vmbus_ring_read_commit(&conn->rx))
				openvmbus_doorbell(conn, VMBUS_VECTOR_CONTROL);
			if (ret == 0 && ctl_packet_check(&desc, buf, len) == VMBUS_CTL_UNLOAD_DONE)
				goto out;
		}
		mdelay(1);
	}
	ret = -ETIMEDOUT;
out:
	spin_unlock(&conn->rx_lock);
	return ret;
}

/* --------------------------------------------------------------- handshake */

static int conn_wait_host_ready(struct openvmbus_conn *conn)
{
	unsigned long deadline = jiffies + OPENVMBUS_CONNECT_TIMEOUT;

	while (READ_ONCE(conn->hdr->host_state) != VMBUS_HOST_READY) {
		if (time_after(jiffies, deadline)) {
			dev_err(&conn->pdev->dev, "host worker not ready (state %u)\n",
				READ_ONCE(conn->hdr->host_state));
			return -ETIMEDOUT;
		}
		msleep(10);
	}
	return 0;
}

/* Step 2-3: ask for a fresh connection and wait until the host has reset. */
static int conn_wait_ack(struct openvmbus_conn *conn)
{
	struct vmbus_bar_header *hdr = conn->hdr;
	unsigned long deadline = jiffies + OPENVMBUS_CONNECT_TIMEOUT;
	u32 seq = READ_ONCE(hdr->connect_seq) + 1;

	if (!seq)
		seq = 1;
	WRITE_ONCE(hdr->guest_state, VMBUS_GUEST_CONNECTING);
	virt_wmb();
	WRITE_ONCE(hdr->connect_seq, seq);
	virt_mb();
	openvmbus_doorbell(conn, VMBUS_VECTOR_CONTROL);

	/* Interrupt-driven, but polled too: nothing is known to work yet. */
	while (READ_ONCE(hdr->connect_ack) != seq) {
		int irqs = atomic_read(&conn->ctl_irqs);

		if (time_after(jiffies, deadline)) {
			dev_err(&conn->pdev->dev, "host did not acknowledge connection %u\n", seq);
			return -ETIMEDOUT;
		}
		wait_event_timeout(conn->ctl_event, atomic_read(&conn->ctl_irqs) != irqs ||
				   READ_ONCE(hdr->connect_ack) == seq, HZ / 50);
	}
	/* The host zeroed the rings before it stored connect_ack. */
	virt_rmb();
	return 0;
}

static int conn_attach_rings(struct openvmbus_conn *conn)
{
	const struct vmbus_bar_header *l = &conn->layout;
	u8 *tx = conn->shm + l->to_host_ring_offset;
	u8 *rx = conn->shm + l->to_guest_ring_offset;
	int ret;

	ret = vmbus_ring_attach(&conn->tx, tx, tx + VMBUS_RING_HEADER_SIZE, l->to_host_ring_size);
	if (ret)
		return ret;
	ret = vmbus_ring_attach(&conn->rx, rx, rx + VMBUS_RING_HEADER_SIZE, l->to_guest_ring_size);
	if (ret)
		return ret;
	smp_store_release(&conn->ctl_ready, true);
	return 0;
}

/* Step 4: version negotiation. */
static int conn_negotiate(struct openvmbus_conn *conn)
{
	struct device *dev = &conn->pdev->dev;
	struct vmbus_ctl_connect msg = {
		.hdr.type = VMBUS_CTL_CONNECT,
		.version_min = VMBUS_VERSION_1_0,
		.version_max = VMBUS_VERSION_CURRENT,
	};
	const struct vmbus_ctl_connect_result *r;
	struct openvmbus_ctl_waiter w;
	int ret;

	openvmbus_ctl_waiter_init(&w, VMBUS_CTL_CONNECT_RESULT, 0, 0);
	ret = openvmbus_ctl_request(conn, &msg, sizeof(msg), &w);
	if (ret) {
		dev_err(dev, "no answer to CONNECT: %d\n", ret);
		return ret;
	}
	r = &w.resp.connect_result;
	if (r->status) {
		dev_err(dev, "host refused connection: %d (host versions %u.%u-%u.%u)\n",
			r->status, VMBUS_VERSION_MAJOR(r->host_version_min),
			VMBUS_VERSION_MINOR(r->host_version_min),
			VMBUS_VERSION_MAJOR(r->host_version_max),
			VMBUS_VERSION_MINOR(r->host_version_max));
		return -EPROTONOSUPPORT;
	}
	if (r->version < VMBUS_VERSION_1_0 || r->version > VMBUS_VERSION_CURRENT) {
		dev_err(dev, "host chose unsupported version %#x\n", r->version);
		return -EPROTO;
	}
	conn->version = r->version;
	/*
	 * max_channels (in the BAR header and in CONNECT_RESULT) is the number
	 * of bits in an event bitmap; ids run from 1 to max_channels - 1.
	 */
	conn->max_channel_id = conn->layout.max_channels - 1;
	if (r->max_channels > 1 && r->max_channels - 1 < conn->max_channel_id)
		conn->max_channel_id = r->max_channels - 1;
	conn->max_gpadl_pages = VMBUS_MAX_GPADL_PAGES;
	if (r->max_gpadl_pages && r->max_gpadl_pages < conn->max_gpadl_pages)
		conn->max_gpadl_pages = r->max_gpadl_pages;
	return 0;
}

int openvmbus_conn_connect(struct openvmbus_conn *conn)
{
	int ret;

	ret = conn_wait_host_ready(conn);
	if (ret)
		return ret;
	ret = conn_wait_ack(conn);
	if (ret)
		return ret;
	ret = conn_attach_rings(conn);
	if (ret)
		return ret;
	ret = conn_negotiate(conn);
	if (ret)
		return ret;
	WRITE_ONCE(conn->hdr->guest_state, VMBUS_GUEST_CONNECTED);
	WRITE_ONCE(conn->state, OPENVMBUS_CONN_CONNECTED);
	dev_info(&conn->pdev->dev, "connected to host: protocol %u.%u, %u vectors, %u channels\n",
		 VMBUS_VERSION_MAJOR(conn->version), VMBUS_VERSION_MINOR(conn->version),
		 conn->nvec, conn->max_channel_id);
	return 0;
}

/* ------------------------------------------------------------- life cycle */

struct openvmbus_conn *openvmbus_conn_alloc(struct pci_dev *pdev, void __iomem *regs,
					    void *shm, const struct vmbus_bar_header *layout)
{
	struct openvmbus_conn *conn;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		goto err_conn;
	conn->pdev = pdev;
	conn->regs = regs;
	conn->shm = shm;
	conn->hdr = shm;
	conn->layout = *layout;
	conn->rr_cpu = -1;
	conn->host_alive = true;
	conn->to_host_events = (unsigned long *)(conn->shm + layout->to_host_events_offset);
	conn->event_words = vmbus_event_bitmap_bytes(layout->max_channels) / 8;
	mutex_init(&conn->tx_mutex);
	spin_lock_init(&conn->tx_lock);
	spin_lock_init(&conn->rx_lock);
	atomic_set(&conn->ctl_irqs, 0);
	init_waitqueue_head(&conn->ctl_event);
	INIT_WORK(&conn->ctl_work, ctl_work_fn);
	spin_lock_init(&conn->wait_lock);
	INIT_LIST_HEAD(&conn->waiters);
	spin_lock_init(&conn->offer_lock);
	INIT_LIST_HEAD(&conn->offer_events);
	init_completion(&conn->offers_done);
	spin_lock_init(&conn->chan_lock);
	atomic_set(&conn->open_seq, 0);
	ida_init(&conn->gpadl_ida);
	spin_lock_init(&conn->orphan_lock);
	INIT_LIST_HEAD(&conn->orphans);
	openvmbus_offer_init(conn);

	conn->rx_buf = kmalloc(sizeof(union vmbus_ctl_msg), GFP_KERNEL);
	if (!conn->rx_buf)
		goto err_rx_buf;
	conn->chans = kcalloc(layout->max_channels, sizeof(*conn->chans), GFP_KERNEL);
	if (!conn->chans)
		goto err_chans;
	/* Storage may need control messages to make progress under memory pressure. */
	conn->ctl_wq = alloc_workqueue("openvmbus-ctl", WQ_HIGHPRI | WQ_MEM_RECLAIM, 1);
	if (!conn->ctl_wq)
		goto err_ctl_wq;
	conn->offer_wq = alloc_ordered_workqueue("openvmbus-offers", 0);
	if (!conn->offer_wq)
		goto err_offer_wq;
	return conn;

err_offer_wq:
	destroy_workqueue(conn->ctl_wq);
err_ctl_wq:
	kfree(conn->chans);
err_chans:
	kfree(conn->rx_buf);
err_rx_buf:
	kfree(conn);
err_conn:
	return NULL;
}

void openvmbus_conn_free(struct openvmbus_conn *conn)
{
	destroy_workqueue(conn->offer_wq);
	destroy_workqueue(conn->ctl_wq);
	openvmbus_gpadl_orphans_exit(conn);
	ida_destroy(&conn->gpadl_ida);
	kfree(conn->chans);
	kfree(conn->rx_buf);
	kfree(conn);
}
