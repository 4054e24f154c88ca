// SPDX-License-Identifier: GPL-2.0
/*
 * shutdown.c - graceful power-off and reboot on the host's request
 * (protocol: docs/protocol/shutdown.md). systemd-logind does the work, so
 * the guest shuts down exactly as if an administrator had asked: services
 * stop in order and inhibitors are honoured unless the host forces it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "guest-linux/openvmbusd/log.h"
#include "guest-linux/openvmbusd/service.h"

/* logind: make root subject to inhibitors too (SD_LOGIND_ROOT_CHECK_INHIBITORS). */
#define LOGIND_ROOT_CHECK_INHIBITORS (UINT64_C(1) << 0)

static int shutdown_answer(struct service *s, const struct vmbus_ic_hdr *h, uint32_t result,
			   const char *message)
{
	uint8_t buf[sizeof(struct vmbus_ic_shutdown_answer) + VMBUS_SHUTDOWN_MESSAGE_MAX];
	struct vmbus_ic_shutdown_answer a = { .result = result };
	size_t len = strlen(message);

	if (len > VMBUS_SHUTDOWN_MESSAGE_MAX)
		len = VMBUS_SHUTDOWN_MESSAGE_MAX;
	a.message_len = (uint32_t)len;
	memcpy(buf, &a, sizeof(a));
	memcpy(buf + sizeof(a), message, len);
	return service_reply(s, h, 0, buf, (uint32_t)(sizeof(a) + len));
}

/* The first block inhibitor on shutdown, described into msg; 0 if none. */
static int shutdown_find_inhibitor(sd_bus *bus, char *msg, size_t n)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *what, *who, *why, *mode;
	uint32_t uid, pid;
	int r, found = 0;

	r = sd_bus_call_method(bus, "org.freedesktop.login1", "/org/freedesktop/login1",
			       "org.freedesktop.login1.Manager", "ListInhibitors", &err, &reply, "");
	if (r < 0)
		goto out;
	r = sd_bus_message_enter_container(reply, 'a', "(ssssuu)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssuu)", &what, &who, &why, &mode,
						  &uid, &pid)) > 0) {
		if (strcmp(mode, "block") == 0 && strstr(what, "shutdown")) {
			snprintf(msg, n, "blocked by inhibitor: %s (pid %u): %s", who, pid, why);
			found = 1;
			break;
		}
	}
out:
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	return r < 0 ? r : found;
}

static void shutdown_handle(struct service *s, const struct vmbus_ic_hdr *h, const uint8_t *payload)
{
	struct vmbus_ic_shutdown_request req;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	char reason[VMBUS_SHUTDOWN_REASON_MAX + 1], msg[VMBUS_SHUTDOWN_MESSAGE_MAX];
	const char *method, *verb;
	sd_bus *bus = NULL;
	bool force;
	uint32_t i;
	int r;

	if (h->type != VMBUS_IC_SHUTDOWN || h->payload_len < sizeof(req)) {
		log_msg(LOG_WARNING, "shutdown: malformed request ignored");
		return;
	}
	memcpy(&req, payload, sizeof(req));
	if (req.reason_len > VMBUS_SHUTDOWN_REASON_MAX || req.reason_len > h->payload_len - sizeof(req) ||
	    (req.action != VMBUS_SHUTDOWN_POWEROFF && req.action != VMBUS_SHUTDOWN_REBOOT)) {
		shutdown_answer(s, h, VMBUS_SHUTDOWN_FAILED, "malformed request");
		return;
	}
	/* Host text goes into our log: printable characters only. */
	for (i = 0; i < req.reason_len; i++) {
		char c = (char)payload[sizeof(req) + i];

		reason[i] = (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
	}
	reason[req.reason_len] = '\0';
	force = req.flags & VMBUS_SHUTDOWN_F_FORCE;
	verb = req.action == VMBUS_SHUTDOWN_REBOOT ? "reboot" : "power off";
	method = req.action == VMBUS_SHUTDOWN_REBOOT ? "RebootWithFlags" : "PowerOffWithFlags";
	log_msg(LOG_NOTICE, "shutdown: the host asks to %s%s%s%s", verb, force ? " (forced)" : "",
		*reason ? ": " : "", reason);

	r = sd_bus_open_system(&bus);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot reach systemd-logind over D-Bus: %s", strerror(-r));
		shutdown_answer(s, h, VMBUS_SHUTDOWN_FAILED, msg);
		return;
	}
	if (!force && shutdown_find_inhibitor(bus, msg, sizeof(msg)) > 0) {
		log_msg(LOG_NOTICE, "shutdown: not going to %s, %s", verb, msg);
		shutdown_answer(s, h, VMBUS_SHUTDOWN_INHIBITED, msg);
		goto out;
	}
	r = sd_bus_call_method(bus, "org.freedesktop.login1", "/org/freedesktop/login1",
			       "org.freedesktop.login1.Manager", method, &err, NULL, "t",
			       force ? UINT64_C(0) : LOGIND_ROOT_CHECK_INHIBITORS);
	if (r < 0) {
		bool busy = sd_bus_error_has_name(&err, "org.freedesktop.login1.OperationInProgress");

		snprintf(msg, sizeof(msg), "logind refused to %s: %s", verb,
			 err.message ? err.message : strerror(-r));
		log_msg(LOG_WARNING, "shutdown: %s", msg);
		shutdown_answer(s, h, busy ? VMBUS_SHUTDOWN_IN_PROGRESS : VMBUS_SHUTDOWN_FAILED, msg);
		goto out;
	}
	snprintf(msg, sizeof(msg), "%s", req.action == VMBUS_SHUTDOWN_REBOOT ? "rebooting" : "powering off");
	shutdown_answer(s, h, VMBUS_SHUTDOWN_ACCEPTED, msg);
out:
	sd_bus_error_free(&err);
	sd_bus_flush_close_unref(bus);
}

/*
 * Without systemd there is no logind to ask: leave the device to the
 * kernel, whose fallback powers off through the init system's own command.
 */
static bool shutdown_available(const char **why)
{
	if (sd_booted() > 0)
		return true;
	*why = "the system was not booted with systemd; the kernel's fallback answers the host";
	return false;
}

const struct service_ops shutdown_service_ops = {
	.name = "shutdown",
	.version_min = VMBUS_IC_SHUTDOWN_VERSION_1,
	.version_max = VMBUS_IC_SHUTDOWN_VERSION_1,
	.handle = shutdown_handle,
	.available = shutdown_available,
};
