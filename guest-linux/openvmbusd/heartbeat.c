// SPDX-License-Identifier: GPL-2.0
/*
 * heartbeat.c - answers the host's heartbeat requests (protocol:
 * docs/protocol/heartbeat.md). Answering proves the daemon's event loop is
 * alive, which is what the host wants to know.
 */
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "guest-linux/openvmbusd/log.h"
#include "guest-linux/openvmbusd/service.h"

/*
 * systemd's SystemState (running, degraded, starting, stopping, ...) over
 * D-Bus; unknown where no systemd runs. The connection is kept and
 * reopened after an error. While filesystems are frozen the last state is
 * repeated: the bus or systemd may be stuck logging to a frozen journal,
 * and the daemon must stay free to thaw.
 */
static uint32_t heartbeat_system_state(void)
{
	static uint32_t last = VMBUS_GUEST_SYSTEM_UNKNOWN;
	static sd_bus *bus;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	uint32_t state = VMBUS_GUEST_SYSTEM_UNKNOWN;
	char *text = NULL;
	int r;

	if (backup_frozen())
		return last;
	if (!bus && sd_bus_open_system(&bus) < 0)
		return state;
	r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
				       "org.freedesktop.systemd1.Manager", "SystemState", &err, &text);
	if (r < 0) {
		bus = sd_bus_flush_close_unref(bus);
	} else {
		state = vmbus_guest_system_state_from_name(text);
		free(text);
	}
	sd_bus_error_free(&err);
	last = state;
	return state;
}

static void heartbeat_handle(struct service *s, const struct vmbus_ic_hdr *h, const uint8_t *payload)
{
	struct vmbus_ic_heartbeat answer = { .guest_state = heartbeat_system_state() };
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
