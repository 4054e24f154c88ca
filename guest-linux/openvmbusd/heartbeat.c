// SPDX-License-Identifier: GPL-2.0
/*
 * heartbeat.c - answers the host's heartbeat requests (protocol:
 * docs/protocol/heartbeat.md). Answering proves the daemon's event loop is
 * alive, which is what the host wants to know.
 */
#include <string.h>

#include "guest-linux/openvmbusd/log.h"
#include "guest-linux/openvmbusd/service.h"

static void heartbeat_handle(struct service *s, const struct vmbus_ic_hdr *h, const uint8_t *payload)
{
	struct vmbus_ic_heartbeat answer = { .guest_state = 0 };
	int r;

	(void)payload;
	if (h->type != VMBUS_IC_HEARTBEAT) {
		log_msg(LOG_WARNING, "heartbeat: unexpected message type %u ignored", h->type);
		return;
	}
	r = service_reply(s, h, 0, &answer, sizeof(answer));
	if (r < 0)
		log_msg(LOG_WARNING, "heartbeat: cannot answer: %s", strerror(-r));
}

const struct service_ops heartbeat_service_ops = {
	.name = "heartbeat",
	.version_min = VMBUS_IC_HEARTBEAT_VERSION_1,
	.version_max = VMBUS_IC_HEARTBEAT_VERSION_1,
	.handle = heartbeat_handle,
};
