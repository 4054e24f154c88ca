// SPDX-License-Identifier: GPL-2.0
/*
 * shutdown_fallback.c - see shutdown_fallback.h.
 *
 * Why in the kernel: a guest without openvmbusd (an initramfs, a rescue
 * system, a distribution without systemd) must still shut down when the
 * host asks, and ACPI power-down is not honoured everywhere (busybox init
 * ignores it). The fallback runs the kernel's orderly power-off (the
 * poweroff_cmd helper, normally /sbin/poweroff, which on a systemd guest is
 * a clean systemctl poweroff). Should the guest still be up when the host's
 * own deadline is near, it syncs the filesystems and powers off or
 * restarts directly: by then the host would otherwise pull the plug.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/reboot.h>
#include <linux/suspend.h>	/* ksys_sync_helper() */
#include <linux/workqueue.h>

#include "shutdown_fallback.h"
#include "vmbus/ic.h"

static unsigned int fallback_grace_s = 30;
module_param(fallback_grace_s, uint, 0644);
MODULE_PARM_DESC(fallback_grace_s,
		 "Kernel shutdown fallback: seconds the orderly power-off gets before the kernel "
		 "syncs and powers off by itself (default 30; at most the host's timeout - 5)");

static atomic_t fallback_action = ATOMIC_INIT(0);	/* enum vmbus_shutdown_action, once */

static void fallback_force_fn(struct work_struct *work)
{
	int action = atomic_read(&fallback_action);

	pr_emerg("the orderly %s did not finish in time: syncing and %s now\n",
		 action == VMBUS_SHUTDOWN_REBOOT ? "reboot" : "power-off",
		 action == VMBUS_SHUTDOWN_REBOOT ? "restarting" : "powering off");
	ksys_sync_helper();
	if (action == VMBUS_SHUTDOWN_REBOOT)
		kernel_restart(NULL);
	else
		kernel_power_off();
}
static DECLARE_DELAYED_WORK(fallback_force_work, fallback_force_fn);

static void fallback_reply(struct openvmbus_channel *ch, struct device *dev,
			   const struct vmbus_ic_hdr *req, int32_t status, u32 version,
			   const void *payload, u32 len)
{
	u8 msg[sizeof(struct vmbus_ic_hdr) + sizeof(struct vmbus_ic_shutdown_answer) + 64];
	struct vmbus_ic_hdr h = *req;
	int ret;

	if (WARN_ON(len > sizeof(msg) - sizeof(h)))
		return;
	h.flags = VMBUS_IC_F_RESPONSE;
	h.status = status;
	h.version = version;
	h.payload_len = len;
	memcpy(msg, &h, sizeof(h));
	if (len)
		memcpy(msg + sizeof(h), payload, len);
	ret = openvmbus_channel_send(ch, msg, sizeof(h) + len, h.seq, 0);
	if (ret)
		dev_warn_ratelimited(dev, "shutdown fallback: cannot answer the host: %d\n", ret);
}

static void fallback_answer(struct openvmbus_channel *ch, struct device *dev,
			    const struct vmbus_ic_hdr *req, u32 result, const char *text)
{
	struct {
		struct vmbus_ic_shutdown_answer a;
		char text[64];
	} __packed p;
	u32 n = min_t(u32, strlen(text), sizeof(p.text));

	p.a.result = result;
	p.a.message_len = n;
	memcpy(p.text, text, n);
	fallback_reply(ch, dev, req, 0, VMBUS_IC_SHUTDOWN_VERSION_1, &p, sizeof(p.a) + n);
}

static void fallback_shutdown(struct openvmbus_channel *ch, struct device *dev,
			      const struct vmbus_ic_hdr *h, const u8 *payload)
{
	struct vmbus_ic_shutdown_request req;
	unsigned int grace;
	bool reboot;

	if (h->payload_len < sizeof(req)) {
		dev_warn_ratelimited(dev, "shutdown fallback: short request ignored\n");
		return;
	}
	memcpy(&req, payload, sizeof(req));
	if (req.action != VMBUS_SHUTDOWN_POWEROFF && req.action != VMBUS_SHUTDOWN_REBOOT) {
		fallback_answer(ch, dev, h, VMBUS_SHUTDOWN_FAILED, "unknown action");
		return;
	}
	reboot = req.action == VMBUS_SHUTDOWN_REBOOT;
	if (atomic_cmpxchg(&fallback_action, 0, req.action) != 0) {
		fallback_answer(ch, dev, h, VMBUS_SHUTDOWN_IN_PROGRESS, "already shutting down");
		return;
	}
	/* Leave a margin before the host's deadline; its fallback is harsher. */
	grace = READ_ONCE(fallback_grace_s);
	if (req.timeout_s)
		grace = min(grace, req.timeout_s > 10 ? req.timeout_s - 5 : 5u);
	fallback_answer(ch, dev, h, VMBUS_SHUTDOWN_ACCEPTED,
			reboot ? "no guest daemon: the kernel reboots"
			       : "no guest daemon: the kernel powers off");
	pr_notice("the host asked to %s and no daemon serves the shutdown service: %s "
		  "(forced in %u s unless done)\n", reboot ? "reboot" : "power off",
		  reboot ? "rebooting" : "powering off", grace);
	schedule_delayed_work(&fallback_force_work, grace * HZ);
	if (reboot)
		orderly_reboot();
	else
		orderly_poweroff(true);
}

void uchan_shutdown_fallback_message(struct openvmbus_channel *ch, struct device *dev,
				     const void *msg, u32 len)
{
	struct vmbus_ic_negotiate n;
	struct vmbus_ic_hdr h;
	const u8 *payload = (const u8 *)msg + sizeof(h);

	if (vmbus_ic_check(msg, len, len) < 0) {
		dev_warn_ratelimited(dev, "shutdown fallback: malformed message ignored\n");
		return;
	}
	memcpy(&h, msg, sizeof(h));
	if (h.flags & VMBUS_IC_F_RESPONSE)
		return;
	switch (h.type) {
	case VMBUS_IC_NEGOTIATE:
		if (h.payload_len < sizeof(n))
			return;
		memcpy(&n, payload, sizeof(n));
		if (n.version_min > VMBUS_IC_SHUTDOWN_VERSION_1 ||
		    n.version_max < VMBUS_IC_SHUTDOWN_VERSION_1) {
			fallback_reply(ch, dev, &h, -EPROTONOSUPPORT, 0, NULL, 0);
			return;
		}
		fallback_reply(ch, dev, &h, 0, VMBUS_IC_SHUTDOWN_VERSION_1, NULL, 0);
		dev_info_ratelimited(dev, "shutdown service answered by the kernel until a daemon opens it\n");
		break;
	case VMBUS_IC_SHUTDOWN:
		fallback_shutdown(ch, dev, &h, payload);
		break;
	default:
		fallback_reply(ch, dev, &h, -EOPNOTSUPP, VMBUS_IC_SHUTDOWN_VERSION_1, NULL, 0);
		break;
	}
}

void uchan_shutdown_fallback_exit(void)
{
	cancel_delayed_work_sync(&fallback_force_work);
}
