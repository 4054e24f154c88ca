// SPDX-License-Identifier: GPL-2.0
/*
 * unload.c - UNLOAD. The PCI driver's .shutdown hook covers power-off,
 * reboot and kexec (device_shutdown() runs for all three); module removal
 * unloads after the devices are gone; the panic notifier sends UNLOAD and
 * polls for the answer without sleeping, for one second at most.
 *
 * A crash kernel started by kdump before the panic notifiers run needs
 * none of this: connecting bumps connect_seq, which makes the host reset
 * everything the previous kernel had.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/notifier.h>
#include <linux/panic_notifier.h>

#include "gpadl.h"
#include "unload.h"

static void unload_mark(struct openvmbus_conn *conn)
{
	WRITE_ONCE(conn->state, OPENVMBUS_CONN_UNLOADED);
	WRITE_ONCE(conn->hdr->guest_state, VMBUS_GUEST_UNLOADED);
}

int openvmbus_unload(struct openvmbus_conn *conn)
{
	struct vmbus_ctl_hdr msg = { .type = VMBUS_CTL_UNLOAD };
	struct openvmbus_ctl_waiter w;
	int ret;

	if (READ_ONCE(conn->state) != OPENVMBUS_CONN_CONNECTED)
		return 0;
	openvmbus_ctl_waiter_init(&w, VMBUS_CTL_UNLOAD_DONE, 0, 0);
	ret = openvmbus_ctl_request(conn, &msg, sizeof(msg), &w);
	unload_mark(conn);
	/* Nothing will answer now. */
	openvmbus_ctl_fail_waiters(conn, -ENODEV);
	if (ret) {
		dev_warn(&conn->pdev->dev, "host did not confirm unload: %d\n", ret);
		return ret;
	}
	WRITE_ONCE(conn->unload_done, true);
	openvmbus_gpadl_orphans_release(conn);
	dev_dbg(&conn->pdev->dev, "unloaded\n");
	return 0;
}

static int unload_panic(struct notifier_block *nb, unsigned long event, void *data)
{
	struct openvmbus_conn *conn = container_of(nb, struct openvmbus_conn, panic_nb);
	int ret;

	if (READ_ONCE(conn->state) != OPENVMBUS_CONN_CONNECTED)
		return NOTIFY_DONE;
	ret = openvmbus_ctl_unload_atomic(conn);
	unload_mark(conn);
	if (ret)
		dev_emerg(&conn->pdev->dev, "unload on panic: %d\n", ret);
	return NOTIFY_DONE;
}

void openvmbus_unload_init(struct openvmbus_conn *conn)
{
	conn->panic_nb.notifier_call = unload_panic;
	atomic_notifier_chain_register(&panic_notifier_list, &conn->panic_nb);
}

void openvmbus_unload_exit(struct openvmbus_conn *conn)
{
	atomic_notifier_chain_unregister(&panic_notifier_list, &conn->panic_nb);
}
