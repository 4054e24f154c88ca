// SPDX-License-Identifier: GPL-2.0
/*
 * channel.c - the channel API: open and close a channel's ring pair, send
 * and receive packets, signal the host, retarget interrupts, request
 * sub-channels; and the channel table the event path looks channels up in.
 *
 * Locking: ch->mutex serialises state changes that talk to the host (they
 * sleep). The rings are used under send_lock / recv_lock (IRQ-safe, so
 * drivers may send and receive from any context); the state is only
 * changed with both held, so I/O never touches rings that are being freed.
 * The callback runs under callback_lock: calls never overlap, and clearing
 * the callback under that lock waits for a running one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/slab.h>

#include "channel.h"
#include "event.h"
#include "gpadl.h"

static struct device *channel_dev(const struct openvmbus_channel *ch)
{
	return &ch->conn->pdev->dev;
}

/* ------------------------------------------------------------ the objects */

struct openvmbus_channel *openvmbus_channel_create(struct openvmbus_conn *conn,
						   const struct vmbus_ctl_offer *offer,
						   struct openvmbus_channel *primary)
{
	struct openvmbus_channel *ch = kzalloc(sizeof(*ch), GFP_KERNEL);

	if (!ch)
		return NULL;
	kref_init(&ch->kref);
	ch->conn = conn;
	ch->id = offer->channel_id;
	ch->offer = *offer;
	if (primary) {
		openvmbus_channel_get(primary);
		ch->primary = primary;
	}
	INIT_LIST_HEAD(&ch->sc_node);
	mutex_init(&ch->sc_lock);
	INIT_LIST_HEAD(&ch->subchannels);
	mutex_init(&ch->mutex);
	ch->state = OPENVMBUS_CHANNEL_OFFERED;
	ch->target_cpu = openvmbus_next_target_cpu(conn);
	ch->vector = openvmbus_cpu_vector(conn, ch->target_cpu);
	spin_lock_init(&ch->send_lock);
	spin_lock_init(&ch->recv_lock);
	spin_lock_init(&ch->callback_lock);
	return ch;
}

void openvmbus_channel_get(struct openvmbus_channel *ch)
{
	kref_get(&ch->kref);
}

static void channel_release(struct kref *kref)
{
	struct openvmbus_channel *ch = container_of(kref, struct openvmbus_channel, kref);

	if (ch->primary)
		openvmbus_channel_put(ch->primary);
	kfree_rcu(ch, rcu);
}

void openvmbus_channel_put(struct openvmbus_channel *ch)
{
	if (ch)
		kref_put(&ch->kref, channel_release);
}

int openvmbus_channel_publish(struct openvmbus_channel *ch)
{
	struct openvmbus_conn *conn = ch->conn;
	int ret = 0;

	spin_lock(&conn->chan_lock);
	if (rcu_access_pointer(conn->chans[ch->id])) {
		ret = -EEXIST;
	} else {
		openvmbus_channel_get(ch);
		rcu_assign_pointer(conn->chans[ch->id], ch);
	}
	spin_unlock(&conn->chan_lock);
	return ret;
}

void openvmbus_channel_unpublish(struct openvmbus_channel *ch)
{
	struct openvmbus_conn *conn = ch->conn;
	bool found = false;

	spin_lock(&conn->chan_lock);
	if (rcu_access_pointer(conn->chans[ch->id]) == ch) {
		RCU_INIT_POINTER(conn->chans[ch->id], NULL);
		found = true;
	}
	spin_unlock(&conn->chan_lock);
	if (found)
		openvmbus_channel_put(ch);
}

struct openvmbus_channel *openvmbus_channel_lookup(struct openvmbus_conn *conn, u32 id)
{
	struct openvmbus_channel *ch;

	if (id == 0 || id > conn->max_channel_id)
		return NULL;
	rcu_read_lock();
	ch = rcu_dereference(conn->chans[id]);
	if (ch && !kref_get_unless_zero(&ch->kref))
		ch = NULL;
	rcu_read_unlock();
	return ch;
}

struct openvmbus_channel *openvmbus_channel_find_primary(struct openvmbus_conn *conn,
							 const struct vmbus_guid *instance_id)
{
	struct openvmbus_channel *ch, *found = NULL;
	u32 id;

	rcu_read_lock();
	for (id = 1; id <= conn->max_channel_id && !found; id++) {
		ch = rcu_dereference(conn->chans[id]);
		if (ch && !ch->primary && vmbus_guid_equal(&ch->offer.instance_id, instance_id) &&
		    kref_get_unless_zero(&ch->kref))
			found = ch;
	}
	rcu_read_unlock();
	return found;
}

/* --------------------------------------------------------------- callback */

static void channel_run_callback(struct openvmbus_channel *ch)
{
	spin_lock(&ch->callback_lock);
	if (ch->callback)
		ch->callback(ch->callback_ctx);
	spin_unlock(&ch->callback_lock);
}

static void channel_set_callback(struct openvmbus_channel *ch,
				 openvmbus_channel_callback_t callback, void *ctx)
{
	spin_lock_bh(&ch->callback_lock);
	ch->callback = callback;
	ch->callback_ctx = ctx;
	spin_unlock_bh(&ch->callback_lock);
}

void openvmbus_channel_event(struct openvmbus_conn *conn, u32 id)
{
	struct openvmbus_channel *ch;

	if (id == 0 || id > READ_ONCE(conn->max_channel_id)) {
		dev_warn_ratelimited(&conn->pdev->dev, "event for channel id %u out of range\n", id);
		return;
	}
	rcu_read_lock();
	ch = rcu_dereference(conn->chans[id]);
	if (ch) {
		atomic64_inc(&ch->events);
		channel_run_callback(ch);
	} else {
		dev_warn_ratelimited(&conn->pdev->dev, "event for unknown channel %u\n", id);
	}
	rcu_read_unlock();
}

void openvmbus_channels_kick_all(struct openvmbus_conn *conn)
{
	struct openvmbus_channel *ch;
	u32 id;

	rcu_read_lock();
	local_bh_disable();
	for (id = 1; id <= conn->max_channel_id; id++) {
		ch = rcu_dereference(conn->chans[id]);
		if (ch)
			channel_run_callback(ch);
	}
	local_bh_enable();
	rcu_read_unlock();
}

/*
 * A sub-channel does not outlive its primary: the host closes and rescinds
 * them together, and its RESCIND for a sub-channel may still be on its way
 * when the primary's driver closes the sub-channel.
 */
void openvmbus_channel_mark_rescinded(struct openvmbus_conn *conn, u32 id)
{
	struct openvmbus_channel *ch, *primary = NULL;

	if (id == 0 || id > conn->max_channel_id)
		return;
	rcu_read_lock();
	ch = rcu_dereference(conn->chans[id]);
	if (ch) {
		WRITE_ONCE(ch->rescinded, true);
		if (!ch->primary)
			primary = ch;
	}
	for (id = 1; primary && id <= conn->max_channel_id; id++) {
		ch = rcu_dereference(conn->chans[id]);
		if (ch && ch->primary == primary)
			WRITE_ONCE(ch->rescinded, true);
	}
	rcu_read_unlock();
}

void openvmbus_channel_kick(struct openvmbus_channel *ch)
{
	local_bh_disable();
	channel_run_callback(ch);
	local_bh_enable();
}

/* ------------------------------------------------------------ accessors */

u32 openvmbus_channel_id(const struct openvmbus_channel *ch)
{
	return ch->id;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_id);

u16 openvmbus_channel_subchannel_index(const struct openvmbus_channel *ch)
{
	return ch->offer.subchannel_index;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_subchannel_index);

u32 openvmbus_channel_max_subchannels(const struct openvmbus_channel *ch)
{
	return ch->offer.max_subchannels;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_max_subchannels);

const void *openvmbus_channel_offer_data(const struct openvmbus_channel *ch, u32 *ret_len)
{
	*ret_len = ch->offer.user_len;
	return ch->offer.user;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_offer_data);

bool openvmbus_channel_is_rescinded(const struct openvmbus_channel *ch)
{
	return READ_ONCE(ch->rescinded);
}
EXPORT_SYMBOL_GPL(openvmbus_channel_is_rescinded);

bool openvmbus_channel_host_responding(const struct openvmbus_channel *ch)
{
	return openvmbus_conn_usable(ch->conn);
}
EXPORT_SYMBOL_GPL(openvmbus_channel_host_responding);

unsigned int openvmbus_channel_target_cpu(const struct openvmbus_channel *ch)
{
	return READ_ONCE(ch->target_cpu);
}
EXPORT_SYMBOL_GPL(openvmbus_channel_target_cpu);

u64 openvmbus_channel_signals_sent(const struct openvmbus_channel *ch)
{
	return atomic64_read(&ch->signals_sent);
}

u64 openvmbus_channel_events(const struct openvmbus_channel *ch)
{
	return atomic64_read(&ch->events);
}

u32 openvmbus_channel_vector(const struct openvmbus_channel *ch)
{
	return READ_ONCE(ch->vector);
}

bool openvmbus_channel_is_open(struct openvmbus_channel *ch)
{
	return READ_ONCE(ch->state) != OPENVMBUS_CHANNEL_OFFERED;
}

const char *openvmbus_channel_state_name(const struct openvmbus_channel *ch)
{
	if (READ_ONCE(ch->rescinded))
		return "rescinded";
	switch (READ_ONCE(ch->state)) {
	case OPENVMBUS_CHANNEL_OPEN:
		return "open";
	case OPENVMBUS_CHANNEL_CLOSING:
		return "closing";
	default:
		return "offered";
	}
}

/* ------------------------------------------------------------------- I/O */

static void channel_set_state(struct openvmbus_channel *ch, int state)
{
	unsigned long flags;

	spin_lock_irqsave(&ch->send_lock, flags);
	spin_lock(&ch->recv_lock);
	WRITE_ONCE(ch->state, state);
	spin_unlock(&ch->recv_lock);
	spin_unlock_irqrestore(&ch->send_lock, flags);
}

/* Under send_lock or recv_lock. Received packets stay readable while the host is away. */
static bool channel_readable(const struct openvmbus_channel *ch)
{
	return ch->state == OPENVMBUS_CHANNEL_OPEN && !READ_ONCE(ch->rescinded);
}

static bool channel_writable(const struct openvmbus_channel *ch)
{
	return channel_readable(ch) && openvmbus_conn_usable(ch->conn);
}

static void channel_corrupt(const struct openvmbus_channel *ch, const char *ring)
{
	dev_warn_ratelimited(channel_dev(ch), "channel %u: host corrupted the %s ring\n",
			     ch->id, ring);
}

static void channel_signal(struct openvmbus_channel *ch)
{
	atomic64_inc(&ch->signals_sent);
	openvmbus_signal_channel(ch->conn, ch->id);
}

/* Under send_lock: packets written with OPENVMBUS_SEND_BATCH are not published yet. */
static bool channel_unpublished(const struct openvmbus_channel *ch)
{
	return ch->send_ring.index != ch->send_ring.published;
}

static int channel_write(struct openvmbus_channel *ch, u16 type, u16 flags, u64 trans_id,
			 u32 ext_len, const struct vmbus_iov *iov, unsigned int niov)
{
	bool batch = flags & OPENVMBUS_SEND_BATCH;
	unsigned long irqflags;
	bool signal = false;
	int ret;

	flags &= ~OPENVMBUS_SEND_BATCH;
	spin_lock_irqsave(&ch->send_lock, irqflags);
	if (channel_writable(ch)) {
		ret = vmbus_ring_write(&ch->send_ring, type, flags, trans_id, ext_len, iov, niov);
		/*
		 * Full with a batch unpublished: the host could never make the
		 * room we would wait for (ring.h), so publish and try again.
		 */
		if (ret == -EAGAIN && channel_unpublished(ch)) {
			signal = vmbus_ring_publish(&ch->send_ring);
			ret = vmbus_ring_write(&ch->send_ring, type, flags, trans_id, ext_len,
					       iov, niov);
		}
		if (!ret && !batch)
			signal |= vmbus_ring_publish(&ch->send_ring);
	} else {
		ret = -ENODEV;
	}
	spin_unlock_irqrestore(&ch->send_lock, irqflags);
	if (signal)
		channel_signal(ch);
	if (ret == -EPROTO)
		channel_corrupt(ch, "send");
	return ret;
}

void openvmbus_channel_flush(struct openvmbus_channel *ch)
{
	unsigned long irqflags;
	bool signal = false;

	spin_lock_irqsave(&ch->send_lock, irqflags);
	if (channel_writable(ch))
		signal = vmbus_ring_publish(&ch->send_ring);
	spin_unlock_irqrestore(&ch->send_lock, irqflags);
	if (signal)
		channel_signal(ch);
}
EXPORT_SYMBOL_GPL(openvmbus_channel_flush);

int openvmbus_channel_send(struct openvmbus_channel *ch, const void *buf, u32 len,
			   u64 trans_id, u16 flags)
{
	struct vmbus_iov iov = { buf, len };

	if (flags & ~(OPENVMBUS_SEND_COMPLETION_REQUESTED | OPENVMBUS_SEND_BATCH))
		return -EINVAL;
	return channel_write(ch, VMBUS_PACKET_INBAND, flags, trans_id, 0, &iov, 1);
}
EXPORT_SYMBOL_GPL(openvmbus_channel_send);

int openvmbus_channel_send_completion(struct openvmbus_channel *ch, const void *buf,
				      u32 len, u64 trans_id)
{
	struct vmbus_iov iov = { buf, len };

	return channel_write(ch, VMBUS_PACKET_COMPLETION, 0, trans_id, 0, &iov, 1);
}
EXPORT_SYMBOL_GPL(openvmbus_channel_send_completion);

int openvmbus_channel_send_pages(struct openvmbus_channel *ch,
				 const struct openvmbus_page_list *pl,
				 const void *buf, u32 len, u64 trans_id, u16 flags)
{
	const struct openvmbus_page_list_hdr *h = pl->buf;
	struct vmbus_iov iov[2] = { { pl->buf, pl->used }, { buf, len } };

	if (flags & ~(OPENVMBUS_SEND_COMPLETION_REQUESTED | OPENVMBUS_SEND_BATCH))
		return -EINVAL;
	if (pl->used < sizeof(*h) || !h->range_count)
		return -EINVAL;
	return channel_write(ch, VMBUS_PACKET_PAGES, flags, trans_id, pl->used, iov, 2);
}
EXPORT_SYMBOL_GPL(openvmbus_channel_send_pages);

int openvmbus_channel_recv(struct openvmbus_channel *ch, void *buf, u32 buf_len,
			   struct openvmbus_packet_info *ret_info)
{
	struct vmbus_packet_desc desc;
	unsigned long irqflags;
	bool signal = false;
	u32 body, ext;
	int ret;

	spin_lock_irqsave(&ch->recv_lock, irqflags);
	if (channel_readable(ch)) {
		ret = vmbus_ring_read(&ch->recv_ring, &desc, buf, buf_len, &body);
		/* Commit each packet: an empty ring must look empty to the host. */
		if (!ret)
			signal = vmbus_ring_read_commit(&ch->recv_ring);
	} else {
		ret = -ENODEV;
	}
	spin_unlock_irqrestore(&ch->recv_lock, irqflags);
	if (signal)
		channel_signal(ch);
	if (ret == -ENOBUFS)
		ret_info->len = body;
	if (ret == -EPROTO)
		channel_corrupt(ch, "receive");
	if (ret)
		return ret;

	/* vmbus_ring_read() checked that the header fits in the body. */
	ext = desc.offset8 * 8 - sizeof(desc);
	if (ext)
		memmove(buf, (u8 *)buf + ext, body - ext);
	ret_info->type = desc.type;
	ret_info->flags = desc.flags;
	ret_info->len = body - ext;
	ret_info->trans_id = desc.trans_id;
	return 0;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_recv);

bool openvmbus_channel_recv_ready(struct openvmbus_channel *ch)
{
	unsigned long irqflags;
	bool ready = true;

	spin_lock_irqsave(&ch->recv_lock, irqflags);
	if (channel_readable(ch))
		ready = vmbus_ring_avail_read(&ch->recv_ring) != 0;
	spin_unlock_irqrestore(&ch->recv_lock, irqflags);
	return ready;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_recv_ready);

bool openvmbus_channel_send_ready(struct openvmbus_channel *ch, u32 len)
{
	unsigned long irqflags;
	bool ready = true;

	spin_lock_irqsave(&ch->send_lock, irqflags);
	/* A corrupted ring reads as ready: the send then reports it. */
	if (channel_writable(ch))
		ready = vmbus_ring_write_ready(&ch->send_ring, len) != 0;
	spin_unlock_irqrestore(&ch->send_lock, irqflags);
	return ready;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_send_ready);

u32 openvmbus_channel_max_send(struct openvmbus_channel *ch)
{
	return READ_ONCE(ch->state) == OPENVMBUS_CHANNEL_OPEN ?
	       vmbus_ring_max_payload(&ch->send_ring) : 0;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_max_send);

u32 openvmbus_channel_max_recv(struct openvmbus_channel *ch)
{
	return READ_ONCE(ch->state) == OPENVMBUS_CHANNEL_OPEN ?
	       vmbus_ring_max_payload(&ch->recv_ring) : 0;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_max_recv);

/* ------------------------------------------------------------ open/close */

/*
 * Stop I/O and callbacks, close the channel on the host (if it may be open
 * there: the host closes a channel itself when it rescinds it), release
 * the rings.
 */
static void channel_shutdown(struct openvmbus_channel *ch, bool send_close)
{
	struct openvmbus_conn *conn = ch->conn;

	channel_set_state(ch, OPENVMBUS_CHANNEL_CLOSING);
	channel_set_callback(ch, NULL, NULL);
	if (send_close && !READ_ONCE(ch->rescinded)) {
		struct vmbus_ctl_channel msg = {
			.hdr.type = VMBUS_CTL_CLOSE,
			.channel_id = ch->id,
		};
		struct openvmbus_ctl_waiter w;
		int ret;

		openvmbus_ctl_waiter_init(&w, VMBUS_CTL_CLOSE_RESULT, ch->id, 0);
		ret = openvmbus_ctl_request(conn, &msg, sizeof(msg), &w);
		if (!ret)
			ret = openvmbus_host_status(w.resp.result.status);
		if (ret)
			dev_warn_ratelimited(channel_dev(ch), "channel %u: close: %d\n", ch->id, ret);
	}
	/* Frees the pages, or keeps them if the host did not let go of them. */
	openvmbus_gpadl_free(ch->ring);
	ch->ring = NULL;
	channel_set_state(ch, OPENVMBUS_CHANNEL_OFFERED);
}

static int channel_attach_rings(struct openvmbus_channel *ch, u32 send_bytes, u32 recv_bytes)
{
	u8 *send = ch->ring->buf;
	u8 *recv = send + VMBUS_RING_HEADER_SIZE + send_bytes;
	int ret;

	ret = vmbus_ring_attach(&ch->send_ring, send, send + VMBUS_RING_HEADER_SIZE, send_bytes);
	if (ret)
		return ret;
	ret = vmbus_ring_attach(&ch->recv_ring, recv, recv + VMBUS_RING_HEADER_SIZE, recv_bytes);
	if (ret)
		return ret;
	vmbus_ring_reset(&ch->send_ring);
	vmbus_ring_reset(&ch->recv_ring);
	return 0;
}

static int channel_open_locked(struct openvmbus_channel *ch, u32 send_bytes, u32 recv_bytes,
			       openvmbus_channel_callback_t callback, void *ctx)
{
	struct openvmbus_conn *conn = ch->conn;
	struct openvmbus_ctl_waiter w;
	struct vmbus_ctl_open msg;
	int ret;

	ch->ring = openvmbus_gpadl_alloc(ch, 2 * VMBUS_RING_HEADER_SIZE + send_bytes + recv_bytes);
	if (IS_ERR(ch->ring)) {
		ret = PTR_ERR(ch->ring);
		ch->ring = NULL;
		return ret;
	}
	ret = channel_attach_rings(ch, send_bytes, recv_bytes);
	if (ret) {
		openvmbus_gpadl_free(ch->ring);
		ch->ring = NULL;
		return ret;
	}
	if (!cpu_online(ch->target_cpu))
		WRITE_ONCE(ch->target_cpu, openvmbus_next_target_cpu(conn));
	WRITE_ONCE(ch->vector, openvmbus_cpu_vector(conn, ch->target_cpu));

	memset(&msg, 0, sizeof(msg));
	msg.hdr.type = VMBUS_CTL_OPEN;
	msg.channel_id = ch->id;
	msg.open_id = atomic_inc_return(&conn->open_seq);
	msg.ring_gpadl_id = ch->ring->id;
	msg.to_guest_page = (VMBUS_RING_HEADER_SIZE + send_bytes) / VMBUS_PAGE_SIZE;
	msg.target_cpu = ch->target_cpu;
	msg.vector = ch->vector;

	/* The host may send as soon as it has opened, before its answer arrives. */
	channel_set_callback(ch, callback, ctx);
	channel_set_state(ch, OPENVMBUS_CHANNEL_OPEN);
	openvmbus_ctl_waiter_init(&w, VMBUS_CTL_OPEN_RESULT, ch->id, msg.open_id);
	ret = openvmbus_ctl_request(conn, &msg, sizeof(msg), &w);
	if (!ret) {
		ret = openvmbus_host_status(w.resp.result.status);
		if (ret)
			dev_warn_ratelimited(channel_dev(ch), "channel %u: host refused open: %d\n",
					     ch->id, ret);
		else
			return 0;
		channel_shutdown(ch, false);
	} else {
		/* No answer: the host may have opened it, so close it before freeing. */
		channel_shutdown(ch, true);
	}
	return ret;
}

int openvmbus_channel_open(struct openvmbus_channel *ch, u32 send_ring_bytes,
			   u32 recv_ring_bytes, openvmbus_channel_callback_t callback, void *ctx)
{
	int ret;

	if (!callback || !send_ring_bytes || !recv_ring_bytes ||
	    send_ring_bytes > VMBUS_MAX_CHANNEL_RING_SIZE ||
	    recv_ring_bytes > VMBUS_MAX_CHANNEL_RING_SIZE)
		return -EINVAL;
	mutex_lock(&ch->mutex);
	if (READ_ONCE(ch->rescinded))
		ret = -ENODEV;
	else if (ch->state != OPENVMBUS_CHANNEL_OFFERED)
		ret = -EBUSY;
	else
		ret = channel_open_locked(ch, PAGE_ALIGN(send_ring_bytes),
					  PAGE_ALIGN(recv_ring_bytes), callback, ctx);
	mutex_unlock(&ch->mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_open);

void openvmbus_channel_close(struct openvmbus_channel *ch)
{
	mutex_lock(&ch->mutex);
	if (ch->state == OPENVMBUS_CHANNEL_OPEN)
		channel_shutdown(ch, true);
	mutex_unlock(&ch->mutex);
}
EXPORT_SYMBOL_GPL(openvmbus_channel_close);

/* ------------------------------------------------------- host requests */

int openvmbus_channel_set_target_cpu(struct openvmbus_channel *ch, unsigned int cpu)
{
	struct openvmbus_conn *conn = ch->conn;
	u32 vector;
	int ret = 0;

	if (cpu >= nr_cpu_ids || !cpu_online(cpu))
		return -EINVAL;
	vector = openvmbus_cpu_vector(conn, cpu);
	mutex_lock(&ch->mutex);
	if (READ_ONCE(ch->rescinded)) {
		ret = -ENODEV;
	} else if (ch->state == OPENVMBUS_CHANNEL_OPEN) {
		struct vmbus_ctl_modify msg = {
			.hdr.type = VMBUS_CTL_MODIFY,
			.channel_id = ch->id,
			.target_cpu = cpu,
			.vector = vector,
		};
		struct openvmbus_ctl_waiter w;

		openvmbus_ctl_waiter_init(&w, VMBUS_CTL_MODIFY_RESULT, ch->id, 0);
		ret = openvmbus_ctl_request(conn, &msg, sizeof(msg), &w);
		if (!ret)
			ret = openvmbus_host_status(w.resp.result.status);
	}
	if (!ret) {
		WRITE_ONCE(ch->target_cpu, cpu);
		WRITE_ONCE(ch->vector, vector);
	}
	mutex_unlock(&ch->mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(openvmbus_channel_set_target_cpu);

int openvmbus_subchannel_request(struct openvmbus_channel *primary, u32 count)
{
	struct vmbus_ctl_subchannel msg = {
		.hdr.type = VMBUS_CTL_SUBCHANNEL_REQUEST,
		.channel_id = primary->id,
		.count = count,
	};
	struct openvmbus_ctl_waiter w;
	int ret;

	if (primary->primary)
		return -EINVAL;
	if (!count)
		return 0;
	mutex_lock(&primary->mutex);
	if (READ_ONCE(primary->rescinded)) {
		ret = -ENODEV;
	} else {
		openvmbus_ctl_waiter_init(&w, VMBUS_CTL_SUBCHANNEL_RESULT, primary->id, 0);
		ret = openvmbus_ctl_request(primary->conn, &msg, sizeof(msg), &w);
	}
	mutex_unlock(&primary->mutex);
	if (ret)
		return ret;
	if (w.resp.subchannel.count > count) {
		dev_warn_ratelimited(channel_dev(primary),
				     "channel %u: host offers %u sub-channels, %u requested\n",
				     primary->id, w.resp.subchannel.count, count);
		return -EPROTO;
	}
	return w.resp.subchannel.count;
}
EXPORT_SYMBOL_GPL(openvmbus_subchannel_request);
