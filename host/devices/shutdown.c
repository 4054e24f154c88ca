// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * shutdown.c - the graceful shutdown/reboot integration service, host
 * side: sends a request on behalf of `vmbusctl shutdown` and keeps the
 * guest's answer for `status`. Protocol: docs/protocol/shutdown.md.
 */
#include <string.h>

#include "host/devices.h"
#include "host/devices/ic.h"
#include "host/log.h"
#include "vmbus/classes.h"

struct shutdown_state {
	struct ic_service ic;
	bool open;
	bool requested;			/* a request was made */
	uint32_t action;
	bool force;
	uint32_t timeout_s;
	char reason[VMBUS_SHUTDOWN_REASON_MAX + 1];
	uint64_t request_seq;
	double requested_at;
	double sent_at;			/* last time the request went to the guest */
	bool delivered;			/* went to a service at least once */
	unsigned int resent;		/* sent again after the service came back */
	bool awaiting_service;		/* the service went away before answering */
	bool expired;			/* no answer before the request's deadline */
	bool answered;
	uint32_t result;
	char message[VMBUS_SHUTDOWN_MESSAGE_MAX + 1];
};

static const char *shutdown_result_name(uint32_t result)
{
	switch (result) {
	case VMBUS_SHUTDOWN_ACCEPTED: return "accepted";
	case VMBUS_SHUTDOWN_NOT_READY: return "not-ready";
	case VMBUS_SHUTDOWN_IN_PROGRESS: return "in-progress";
	case VMBUS_SHUTDOWN_INHIBITED: return "inhibited";
	case VMBUS_SHUTDOWN_FAILED: return "failed";
	}
	return "unknown";
}

/* Send the current request (again) on the open, negotiated channel. */
static int shutdown_send(struct shutdown_state *s, struct channel *ch)
{
	uint8_t payload[sizeof(struct vmbus_ic_shutdown_request) + VMBUS_SHUTDOWN_REASON_MAX];
	struct vmbus_ic_shutdown_request req = {
		.action = s->action, .flags = s->force ? VMBUS_SHUTDOWN_F_FORCE : 0,
		.timeout_s = s->timeout_s, .reason_len = (uint32_t)strlen(s->reason),
	};
	int r;

	memcpy(payload, &req, sizeof(req));
	memcpy(payload + sizeof(req), s->reason, req.reason_len);
	r = ic_send(ch, VMBUS_IC_SHUTDOWN, s->ic.version, ++s->ic.seq, payload,
		    (uint32_t)sizeof(req) + req.reason_len);
	if (r < 0)
		return r;
	s->request_seq = s->ic.seq;
	s->sent_at = devices_now();
	return 0;
}

/* The request is still worth sending: unanswered, before its deadline. */
static bool shutdown_pending(const struct shutdown_state *s)
{
	return s->requested && !s->answered && !s->expired;
}

int shutdown_device_request(struct device *dev, uint32_t action, bool force, uint32_t timeout_s,
			    const char *reason)
{
	struct shutdown_state *s = dev->priv;
	size_t rlen = reason ? strlen(reason) : 0;
	int r;

	if (action != VMBUS_SHUTDOWN_POWEROFF && action != VMBUS_SHUTDOWN_REBOOT)
		return -EINVAL;
	if (rlen > VMBUS_SHUTDOWN_REASON_MAX)
		return -E2BIG;
	if (!dev->primary || dev->primary->state != CHANNEL_OPEN)
		return -ENODEV;		/* no guest driver: the caller falls back */
	s->action = action;
	s->force = force;
	s->timeout_s = timeout_s;
	memcpy(s->reason, reason ? reason : "", rlen + 1);
	s->sent_at = devices_now();
	if (s->ic.version) {
		r = shutdown_send(s, dev->primary);
		if (r < 0)
			return r;
		s->awaiting_service = false;
		s->delivered = true;
	} else {
		/*
		 * The guest's driver has the channel but no service has
		 * negotiated yet (a daemon taking over, the kernel's
		 * fallback about to answer): it goes out once one has.
		 */
		s->awaiting_service = true;
		s->delivered = false;
	}
	s->requested = true;
	s->answered = false;
	s->expired = false;
	s->resent = 0;
	s->requested_at = s->sent_at;
	s->message[0] = '\0';
	log_info("shutdown: %s the guest to %s%s%s%s", s->awaiting_service ? "will ask" : "asked",
		 action == VMBUS_SHUTDOWN_REBOOT ? "reboot" : "power off",
		 force ? " (forced)" : "", rlen ? ": " : "", rlen ? reason : "");
	return 0;
}

static void shutdown_answer(void *ctx, struct channel *ch, const struct vmbus_ic_hdr *h,
			    const uint8_t *payload)
{
	struct shutdown_state *s = ctx;
	struct vmbus_ic_shutdown_answer a;
	uint32_t i;

	if (h->type != VMBUS_IC_SHUTDOWN || h->payload_len < sizeof(a)) {
		channel_reset(ch, "shutdown: malformed answer");
		return;
	}
	memcpy(&a, payload, sizeof(a));
	if (a.message_len > VMBUS_SHUTDOWN_MESSAGE_MAX || a.message_len > h->payload_len - sizeof(a)) {
		channel_reset(ch, "shutdown: answer message longer than its payload or 512 bytes");
		return;
	}
	memcpy(s->message, payload + sizeof(a), a.message_len);
	s->message[a.message_len] = '\0';
	/* Guest text goes into logs: no control characters. */
	for (i = 0; i < a.message_len; i++)
		if ((unsigned char)s->message[i] < 0x20 || s->message[i] == 0x7f)
			s->message[i] = '?';
	s->answered = true;
	s->awaiting_service = false;
	s->result = a.result;
	log_info("shutdown: the guest answered %s%s%s", shutdown_result_name(a.result),
		 a.message_len ? ": " : "", s->message);
}

static int shutdown_open(struct device *dev, struct channel *ch)
{
	struct shutdown_state *s = dev->priv;

	s->open = true;
	return ic_open(&s->ic, ch, "shutdown", VMBUS_IC_SHUTDOWN_VERSION_1,
		       VMBUS_IC_SHUTDOWN_VERSION_1);
}

static void shutdown_close(struct device *dev, struct channel *ch)
{
	struct shutdown_state *s = dev->priv;

	(void)ch;
	s->open = false;
	s->ic.version = 0;
	/*
	 * The service went away (daemon restarted, guest rebooted, channel
	 * reset) with the request unanswered: send it again when a service
	 * negotiates, until the request's own deadline.
	 */
	if (shutdown_pending(s) && !s->awaiting_service) {
		s->awaiting_service = true;
		log_info("shutdown: the guest's service went away before answering; the request "
			 "goes again when it is back");
	}
}

/* The request's deadline (its timeout) passed: stop trying. */
static bool shutdown_check_deadline(struct shutdown_state *s)
{
	if (shutdown_pending(s) && s->timeout_s && devices_now() > s->requested_at + s->timeout_s) {
		s->expired = true;
		s->awaiting_service = false;
		log_warning("shutdown: no answer from the guest within %u s", s->timeout_s);
	}
	return s->expired;
}

static void shutdown_tick(struct device *dev)
{
	shutdown_check_deadline(dev->priv);
}

static void shutdown_event(struct device *dev, struct channel *ch)
{
	struct shutdown_state *s = dev->priv;

	ic_receive(&s->ic, ch, shutdown_answer, s);
	if (s->awaiting_service && s->ic.version && ch->state == CHANNEL_OPEN &&
	    !shutdown_check_deadline(s)) {
		if (shutdown_send(s, ch) < 0)
			return;		/* the ring was just opened: only a broken guest fills it */
		s->awaiting_service = false;
		if (s->delivered) {
			s->resent++;
			log_info("shutdown: the guest's service is back; request sent again");
		} else {
			s->delivered = true;
			log_info("shutdown: the guest's service has connected; request sent");
		}
	}
}

static void shutdown_status(struct device *dev, struct json_writer *w)
{
	struct shutdown_state *s = dev->priv;
	char version[16];

	json_bool(w, "guest_service", s->open && s->ic.version);
	if (s->ic.version)
		json_string(w, "protocol", ic_version_text(&s->ic, version, sizeof(version)));
	if (!s->requested)
		return;
	json_object_begin(w, "last_request");
	json_string(w, "action", s->action == VMBUS_SHUTDOWN_REBOOT ? "reboot" : "poweroff");
	json_bool(w, "force", s->force);
	json_uint(w, "sequence", s->request_seq);
	json_double(w, "ago", devices_now() - s->requested_at);
	json_double(w, "sent_ago", devices_now() - s->sent_at);
	json_uint(w, "resent", s->resent);
	json_bool(w, "awaiting_service", s->awaiting_service);
	json_string(w, "result", s->answered ? shutdown_result_name(s->result) :
				 s->expired ? "unanswered" : "waiting");
	if (s->answered)
		json_string(w, "message", s->message);
	json_object_end(w);
}

const struct device_ops shutdown_device_ops = {
	.name = "shutdown",
	.class_id = VMBUS_CLASS_SHUTDOWN,
	.ring_size_max = 64 * 1024,
	.priv_size = sizeof(struct shutdown_state),
	.open = shutdown_open,
	.close = shutdown_close,
	.event = shutdown_event,
	.tick = shutdown_tick,
	.status = shutdown_status,
};
