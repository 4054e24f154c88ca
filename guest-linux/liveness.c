// SPDX-License-Identifier: GPL-2.0
/*
 * liveness.c - the host worker bumps host_heartbeat every second; when it
 * stops (or the worker says it is stopping), every request waiting for an
 * answer fails with -ENODEV, sends fail with -ENODEV, and the channel
 * callbacks run once so that drivers notice. When the heartbeat moves
 * again, everything works as before.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>

#include "channel.h"
#include "liveness.h"

static void liveness_set(struct openvmbus_conn *conn, bool alive, u32 host_state)
{
	struct device *dev = &conn->pdev->dev;

	/* Once per change; rate-limited all the same, since the host decides how often. */
	WRITE_ONCE(conn->host_alive, alive);
	if (alive) {
		dev_info_ratelimited(dev, "host worker responding again\n");
	} else {
		if (host_state == VMBUS_HOST_STOPPING)
			dev_warn_ratelimited(dev, "host worker stopping\n");
		else
			dev_warn_ratelimited(dev, "host worker not responding\n");
		openvmbus_ctl_fail_waiters(conn, -ENODEV);
		wake_up_all(&conn->ctl_event);
	}
	openvmbus_channels_kick_all(conn);
}

static void liveness_check(struct work_struct *work)
{
	struct openvmbus_conn *conn = container_of(to_delayed_work(work), struct openvmbus_conn,
						   liveness_work);
	u32 beat = READ_ONCE(conn->hdr->host_heartbeat);
	u32 host_state = READ_ONCE(conn->hdr->host_state);
	bool alive;

	if (beat != conn->last_heartbeat) {
		conn->last_heartbeat = beat;
		conn->last_change = jiffies;
	}
	alive = host_state == VMBUS_HOST_READY &&
		time_before(jiffies, conn->last_change + OPENVMBUS_HEARTBEAT_TIMEOUT);
	if (alive != READ_ONCE(conn->host_alive))
		liveness_set(conn, alive, host_state);
	schedule_delayed_work(&conn->liveness_work, HZ);
}

void openvmbus_liveness_start(struct openvmbus_conn *conn)
{
	conn->last_heartbeat = READ_ONCE(conn->hdr->host_heartbeat);
	conn->last_change = jiffies;
	INIT_DELAYED_WORK(&conn->liveness_work, liveness_check);
	schedule_delayed_work(&conn->liveness_work, HZ);
}

void openvmbus_liveness_stop(struct openvmbus_conn *conn)
{
	cancel_delayed_work_sync(&conn->liveness_work);
}
