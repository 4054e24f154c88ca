// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * heartbeat.c - the heartbeat integration service: once a second the host
 * asks, the guest daemon (openvmbusd) answers. `vmbusctl status` shows
 * "ok (N s ago)" or "lost" (no answer for HEARTBEAT_LOST_AFTER seconds).
 * One beat is in flight at a time: a guest that does not answer (busy,
 * or paused) finds one request waiting, not one per second of its
 * absence, and a beat unanswered for HEARTBEAT_LOST_AFTER is sent again.
 * While QEMU has the VM paused no beat goes out and none is missed.
 * Protocol: docs/protocol/heartbeat.md.
 */
#include <string.h>

#include "host/devices.h"
#include "host/devices/ic.h"
#include "host/log.h"
#include "vmbus/classes.h"

#define HEARTBEAT_LOST_AFTER	5.0	/* seconds without an answer */

struct heartbeat_state {
	struct ic_service ic;
	bool open;
	double last_answer;		/* devices_now() of the last good answer */
	uint32_t system_state;		/* enum vmbus_guest_system_state, last reported */
	uint64_t answers;
	bool lost_logged;
	bool waiting;			/* a beat is unanswered */
	double sent_at;			/* devices_now() when it went out */
};

static int heartbeat_open(struct device *dev, struct channel *ch)
{
	struct heartbeat_state *s = dev->priv;

	s->open = true;
	s->lost_logged = false;
	s->last_answer = 0;
	s->waiting = false;
	return ic_open(&s->ic, ch, "heartbeat", VMBUS_IC_HEARTBEAT_VERSION_1,
		       VMBUS_IC_HEARTBEAT_VERSION_1);
}

static void heartbeat_close(struct device *dev, struct channel *ch)
{
	struct heartbeat_state *s = dev->priv;

	(void)ch;
	s->open = false;
	s->ic.version = 0;
}

static void heartbeat_answer(void *ctx, struct channel *ch, const struct vmbus_ic_hdr *h,
			     const uint8_t *payload)
{
	struct heartbeat_state *s = ctx;

	(void)ch;
	if (h->type != VMBUS_IC_HEARTBEAT) {
		log_guest(LOG_WARNING, "heartbeat: message type %u unexpected now", h->type);
		return;
	}
	if (h->payload_len >= sizeof(struct vmbus_ic_heartbeat)) {
		struct vmbus_ic_heartbeat hb;
		uint32_t state;

		memcpy(&hb, payload, sizeof(hb));
		state = hb.guest_state < VMBUS_GUEST_SYSTEM_STATE_COUNT ? hb.guest_state
									: VMBUS_GUEST_SYSTEM_UNKNOWN;
		if (state != s->system_state && state != VMBUS_GUEST_SYSTEM_UNKNOWN)
			log_info("heartbeat: the guest system is %s", vmbus_guest_system_state_name(state));
		s->system_state = state;
	}
	if (s->lost_logged)
		log_info("heartbeat: guest answers again");
	s->lost_logged = false;
	s->last_answer = devices_now();
	s->answers++;
	s->waiting = false;
}

static void heartbeat_event(struct device *dev, struct channel *ch)
{
	struct heartbeat_state *s = dev->priv;

	ic_receive(&s->ic, ch, heartbeat_answer, s);
}

static void heartbeat_tick(struct device *dev)
{
	struct heartbeat_state *s = dev->priv;
	struct channel *ch = dev->primary;
	double now = devices_now(), since;

	if (!ch || ch->state != CHANNEL_OPEN || !s->ic.version || dev->bus->vm_paused)
		return;
	since = now - (s->last_answer ? s->last_answer : s->ic.opened);
	if (since > HEARTBEAT_LOST_AFTER && !s->lost_logged) {
		log_warning("heartbeat: lost, no answer from the guest for %.0f s", since);
		s->lost_logged = true;
	}
	if (s->waiting && now - s->sent_at < HEARTBEAT_LOST_AFTER)
		return;
	/* A full ring means the guest is not reading: skip this beat. */
	if (ic_send(ch, VMBUS_IC_HEARTBEAT, s->ic.version, ++s->ic.seq, NULL, 0) == 0) {
		s->waiting = true;
		s->sent_at = now;
	}
}

/* The time the VM was paused does not count as the guest's silence. */
static void heartbeat_vm_resumed(struct device *dev, double paused_s)
{
	struct heartbeat_state *s = dev->priv;

	if (s->last_answer)
		s->last_answer += paused_s;
	s->ic.opened += paused_s;
	s->sent_at += paused_s;
}

static void heartbeat_status(struct device *dev, struct json_writer *w)
{
	struct heartbeat_state *s = dev->priv;
	const char *state = "waiting";
	char version[16];
	double ago = -1;

	if (s->open && dev->bus->vm_paused) {
		state = "paused";	/* the guest cannot answer: not lost */
	} else if (s->open && s->ic.version && s->last_answer) {
		ago = devices_now() - s->last_answer;
		state = ago > HEARTBEAT_LOST_AFTER ? "lost" : "ok";
	} else if (s->open && devices_now() - s->ic.opened > HEARTBEAT_LOST_AFTER) {
		state = "lost";		/* the guest opened the channel but never answers */
	}
	json_bool(w, "guest_service", s->open && s->ic.version);
	json_string(w, "heartbeat", state);
	if (ago >= 0)
		json_double(w, "last_answer_ago", ago);
	json_uint(w, "answers", s->answers);
	json_uint(w, "late_answers", s->ic.late);
	if (s->system_state != VMBUS_GUEST_SYSTEM_UNKNOWN && !strcmp(state, "ok"))
		json_string(w, "system_state", vmbus_guest_system_state_name(s->system_state));
	if (s->ic.version)
		json_string(w, "protocol", ic_version_text(&s->ic, version, sizeof(version)));
}

const struct device_ops heartbeat_device_ops = {
	.name = "heartbeat",
	.class_id = VMBUS_CLASS_HEARTBEAT,
	.ring_size_max = 64 * 1024,
	.priv_size = sizeof(struct heartbeat_state),
	.open = heartbeat_open,
	.close = heartbeat_close,
	.event = heartbeat_event,
	.tick = heartbeat_tick,
	.vm_resumed = heartbeat_vm_resumed,
	.status = heartbeat_status,
};
