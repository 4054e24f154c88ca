// SPDX-License-Identifier: GPL-2.0
/*
 * offer.c - channel management: OFFER, OFFERS_DONE and RESCIND, handled in
 * the order the host sent them by one ordered worker. Creating a device
 * probes its driver, which opens channels and so waits for answers from
 * the host; those are read by the control worker, so this worker may sleep
 * on them.
 *
 * A rescind removes the device (or tells the primary's driver, for a
 * sub-channel), closes what is still open - the host has closed the
 * channel already, so that only tears down the rings' GPADL - and only then
 * sends RELEASE, so the host reuses a channel id once the guest has let go
 * of it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>

#include "bus.h"
#include "channel.h"
#include "offer.h"

struct offer_event {
	struct list_head node;
	union {
		struct vmbus_ctl_hdr hdr;
		struct vmbus_ctl_offer offer;
		struct vmbus_ctl_channel channel;
	} msg;
};

static struct device *offer_dev(struct openvmbus_conn *conn)
{
	return &conn->pdev->dev;
}

/* A sub-channel offer: the referenced, live primary it belongs to, or NULL. */
static struct openvmbus_channel *offer_find_primary(struct openvmbus_conn *conn,
						    const struct vmbus_ctl_offer *o)
{
	struct openvmbus_channel *primary = openvmbus_channel_find_primary(conn, &o->instance_id);

	if (primary && (openvmbus_channel_is_rescinded(primary) ||
			!vmbus_guid_equal(&primary->offer.class_id, &o->class_id))) {
		openvmbus_channel_put(primary);
		primary = NULL;
	}
	return primary;
}

static void offer_handle(struct openvmbus_conn *conn, const struct vmbus_ctl_offer *o)
{
	struct openvmbus_channel *ch, *primary = NULL;
	int ret;

	if (o->channel_id == 0 || o->channel_id > conn->max_channel_id) {
		dev_warn_ratelimited(offer_dev(conn), "offer of channel %u: id out of range 1..%u\n",
				     o->channel_id, conn->max_channel_id);
		return;
	}
	if (o->subchannel_index) {
		primary = offer_find_primary(conn, o);
		if (!primary) {
			dev_warn_ratelimited(offer_dev(conn),
					     "offer of sub-channel %u (index %u) without its primary\n",
					     o->channel_id, o->subchannel_index);
			return;
		}
	} else {
		/* Devices are named by instance: a duplicate would clash in sysfs. */
		primary = openvmbus_channel_find_primary(conn, &o->instance_id);
		if (primary) {
			dev_warn_ratelimited(offer_dev(conn),
					     "offer of channel %u: instance already offered as channel %u\n",
					     o->channel_id, primary->id);
			openvmbus_channel_put(primary);
			return;
		}
	}

	ch = openvmbus_channel_create(conn, o, primary);
	if (!ch) {
		dev_warn_ratelimited(offer_dev(conn), "offer of channel %u: out of memory\n",
				     o->channel_id);
		goto out;
	}
	ret = openvmbus_channel_publish(ch);
	if (ret) {
		dev_warn_ratelimited(offer_dev(conn), "channel %u offered twice\n", o->channel_id);
		goto out;
	}
	if (primary) {
		openvmbus_device_sc_offer(ch);
	} else {
		/* Without a device the channel stays offered until rescinded. */
		ret = openvmbus_device_add(ch);
		if (ret)
			dev_warn_ratelimited(offer_dev(conn), "channel %u: cannot add device: %d\n",
					     ch->id, ret);
	}
out:
	openvmbus_channel_put(ch);
	openvmbus_channel_put(primary);
}

static void rescind_handle(struct openvmbus_conn *conn, u32 id)
{
	struct vmbus_ctl_channel release = { .hdr.type = VMBUS_CTL_RELEASE, .channel_id = id };
	struct openvmbus_channel *ch = openvmbus_channel_lookup(conn, id);
	int ret;

	if (!ch) {
		dev_warn_ratelimited(offer_dev(conn), "rescind of unknown channel %u\n", id);
		return;
	}
	if (ch->rescind_handled) {
		dev_warn_ratelimited(offer_dev(conn), "channel %u rescinded twice\n", id);
		goto out;
	}
	ch->rescind_handled = true;
	openvmbus_channel_mark_rescinded(conn, id);	/* usually done already */
	openvmbus_channel_kick(ch);
	if (ch->primary)
		openvmbus_device_sc_rescind(ch);
	else
		openvmbus_device_remove(ch);
	if (openvmbus_channel_is_open(ch)) {
		dev_warn_ratelimited(offer_dev(conn), "channel %u still open after rescind; closing it\n",
				     id);
		openvmbus_channel_close(ch);
	}
	openvmbus_channel_unpublish(ch);
	ret = openvmbus_ctl_send(conn, &release, sizeof(release));
	if (ret)
		dev_warn_ratelimited(offer_dev(conn), "channel %u: release: %d\n", id, ret);
out:
	openvmbus_channel_put(ch);
}

static void offer_work_fn(struct work_struct *work)
{
	struct openvmbus_conn *conn = container_of(work, struct openvmbus_conn, offer_work);
	struct offer_event *ev;

	for (;;) {
		spin_lock(&conn->offer_lock);
		ev = list_first_entry_or_null(&conn->offer_events, struct offer_event, node);
		if (ev) {
			list_del(&ev->node);
			conn->offer_pending--;
		}
		spin_unlock(&conn->offer_lock);
		if (!ev)
			return;

		switch (ev->msg.hdr.type) {
		case VMBUS_CTL_OFFER:
			offer_handle(conn, &ev->msg.offer);
			break;
		case VMBUS_CTL_RESCIND:
			rescind_handle(conn, ev->msg.channel.channel_id);
			break;
		case VMBUS_CTL_OFFERS_DONE:
			complete_all(&conn->offers_done);
			break;
		}
		kfree(ev);
	}
}

void openvmbus_offer_init(struct openvmbus_conn *conn)
{
	INIT_WORK(&conn->offer_work, offer_work_fn);
}

void openvmbus_offer_queue(struct openvmbus_conn *conn, const union vmbus_ctl_msg *m, u32 len)
{
	struct offer_event *ev = kmalloc(sizeof(*ev), GFP_KERNEL);
	bool queued = false;

	if (!ev) {
		dev_warn_ratelimited(offer_dev(conn), "out of memory: %s dropped\n",
				     vmbus_ctl_name(m->hdr.type));
		return;
	}
	memset(&ev->msg, 0, sizeof(ev->msg));
	memcpy(&ev->msg, m, min_t(u32, len, sizeof(ev->msg)));
	/* I/O on a rescinded channel must fail now, not when the worker gets to it. */
	if (m->hdr.type == VMBUS_CTL_RESCIND)
		openvmbus_channel_mark_rescinded(conn, m->channel.channel_id);

	spin_lock(&conn->offer_lock);
	if (conn->offers_accepted && conn->offer_pending < OPENVMBUS_MAX_OFFER_EVENTS) {
		list_add_tail(&ev->node, &conn->offer_events);
		conn->offer_pending++;
		queued = true;
	}
	spin_unlock(&conn->offer_lock);
	if (!queued) {
		if (READ_ONCE(conn->offers_accepted))
			dev_warn_ratelimited(offer_dev(conn), "too many pending offers: %s dropped\n",
					     vmbus_ctl_name(m->hdr.type));
		kfree(ev);
		return;
	}
	queue_work(conn->offer_wq, &conn->offer_work);
}

void openvmbus_offers_start(struct openvmbus_conn *conn)
{
	struct vmbus_ctl_hdr msg = { .type = VMBUS_CTL_REQUEST_OFFERS };
	int ret;

	spin_lock(&conn->offer_lock);
	conn->offers_accepted = true;
	spin_unlock(&conn->offer_lock);
	ret = openvmbus_ctl_send(conn, &msg, sizeof(msg));
	if (ret) {
		dev_warn(offer_dev(conn), "cannot request offers: %d\n", ret);
		return;
	}
	/* Devices present at boot are there when the module has loaded. */
	if (!wait_for_completion_timeout(&conn->offers_done, OPENVMBUS_CTL_TIMEOUT))
		dev_warn(offer_dev(conn), "host did not finish its offers\n");
}

void openvmbus_offers_stop(struct openvmbus_conn *conn)
{
	struct offer_event *ev, *tmp;
	LIST_HEAD(dropped);
	u32 id;

	spin_lock(&conn->offer_lock);
	conn->offers_accepted = false;
	list_splice_init(&conn->offer_events, &dropped);
	conn->offer_pending = 0;
	spin_unlock(&conn->offer_lock);
	list_for_each_entry_safe(ev, tmp, &dropped, node)
		kfree(ev);
	flush_workqueue(conn->offer_wq);

	for (id = 1; id <= conn->max_channel_id; id++) {
		struct openvmbus_channel *ch = openvmbus_channel_lookup(conn, id);

		if (ch && !ch->primary)
			openvmbus_device_remove(ch);
		openvmbus_channel_put(ch);
	}
}

void openvmbus_offers_free(struct openvmbus_conn *conn)
{
	u32 id;

	for (id = 1; id <= conn->max_channel_id; id++) {
		struct openvmbus_channel *ch = openvmbus_channel_lookup(conn, id);

		if (!ch)
			continue;
		/* Normally a no-op: the drivers are gone. */
		openvmbus_channel_close(ch);
		if (ch->primary)
			openvmbus_device_sc_forget(ch);
		openvmbus_channel_unpublish(ch);
		openvmbus_channel_put(ch);
	}
}
