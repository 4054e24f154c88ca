// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * heartbeat.c - the heartbeat integration service: once a second the host
 * asks, the guest daemon (openvmbusd) answers. `vmbusctl status` shows
 * "ok (N s ago)" or "lost" (no answer for HEARTBEAT_LOST_AFTER seconds).
 * Protocol: docs/protocol/heartbeat.md.
 */
#include <stdlib.h>
#include <string.h>

#include "host/devices.h"
#include "host/log.h"
#include "vmbus/classes.h"
#include "vmbus/ic.h"

#define HEARTBEAT_LOST_AFTER	5.0	/* seconds without an answer */
#define HEARTBEAT_MSG_MAX	256

enum heartbeat_phase {
	HEARTBEAT_CLOSED,		/* channel not open: no guest service */
	HEARTBEAT_NEGOTIATING,
	HEARTBEAT_RUNNING,
};

struct heartbeat_state {
	enum heartbeat_phase phase;
	uint32_t version;
	uint64_t seq;			/* last request sent */
	double last_answer;		/* devices_now() of the last good answer, 0 = never */
	double opened;
	uint64_t answers;
	bool lost_logged;
};

static struct heartbeat_state *heartbeat_state(struct device *dev)
{
	if (!dev->priv)
		dev->priv = calloc(1, sizeof(struct heartbeat_state));
	return dev->priv;
}

static int heartbeat_send(struct channel *ch, uint32_t type, uint32_t version, uint64_t seq,
			  const void *payload, uint32_t len)
{
	uint8_t msg[sizeof(struct vmbus_ic_hdr) + 16];
	struct vmbus_ic_hdr h = { .type = type, .version = version, .seq = seq, .payload_len = len };

	memcpy(msg, &h, sizeof(h));
	if (len)
		memcpy(msg + sizeof(h), payload, len);
	return channel_send(ch, VMBUS_PACKET_INBAND, 0, seq, msg, (uint32_t)sizeof(h) + len);
}

static int heartbeat_open(struct device *dev, struct channel *ch)
{
	struct heartbeat_state *s = heartbeat_state(dev);
	struct vmbus_ic_negotiate n = { VMBUS_IC_HEARTBEAT_VERSION_1, VMBUS_IC_HEARTBEAT_VERSION_1 };

	if (!s)
		return -ENOMEM;
	s->phase = HEARTBEAT_NEGOTIATING;
	s->version = 0;
	s->opened = devices_now();
	s->lost_logged = false;
	/* The guest just opened the channel: its ring is empty, this fits. */
	return heartbeat_send(ch, VMBUS_IC_NEGOTIATE, 0, ++s->seq, &n, sizeof(n));
}

static void heartbeat_close(struct device *dev, struct channel *ch)
{
	struct heartbeat_state *s = dev->priv;

	(void)ch;
	if (s)
		s->phase = HEARTBEAT_CLOSED;
}

static void heartbeat_handle(struct heartbeat_state *s, struct channel *ch,
			     const uint8_t *msg, uint32_t len)
{
	struct vmbus_ic_hdr h;

	if (vmbus_ic_check(msg, len, HEARTBEAT_MSG_MAX) < 0) {
		channel_reset(ch, "heartbeat: malformed message");
		return;
	}
	memcpy(&h, msg, sizeof(h));
	if (!(h.flags & VMBUS_IC_F_RESPONSE) || h.seq != s->seq) {
		log_guest(LOG_WARNING, "heartbeat: unexpected message (type %u, sequence %llu) ignored",
			  h.type, (unsigned long long)h.seq);
		return;
	}
	if (h.type == VMBUS_IC_NEGOTIATE && s->phase == HEARTBEAT_NEGOTIATING) {
		if (h.status < 0 || h.version != VMBUS_IC_HEARTBEAT_VERSION_1) {
			log_warning("heartbeat: guest refused every protocol version (status %d)", h.status);
			s->phase = HEARTBEAT_CLOSED;
			return;
		}
		s->version = h.version;
		s->phase = HEARTBEAT_RUNNING;
		s->last_answer = devices_now();
		log_info("heartbeat: guest service connected, protocol %u.%u",
			 VMBUS_VERSION_MAJOR(h.version), VMBUS_VERSION_MINOR(h.version));
	} else if (h.type == VMBUS_IC_HEARTBEAT && s->phase == HEARTBEAT_RUNNING) {
		if (s->lost_logged)
			log_info("heartbeat: guest answers again");
		s->lost_logged = false;
		s->last_answer = devices_now();
		s->answers++;
	} else {
		log_guest(LOG_WARNING, "heartbeat: message type %u unexpected now", h.type);
	}
}

static void heartbeat_event(struct device *dev, struct channel *ch)
{
	struct heartbeat_state *s = heartbeat_state(dev);
	uint8_t msg[HEARTBEAT_MSG_MAX];
	struct vmbus_packet_desc desc;
	uint32_t len;
	int r;

	for (;;) {
		r = channel_recv(ch, &desc, msg, sizeof(msg), &len);
		if (r == -EAGAIN) {
			if (channel_recv_done(ch) > 0)
				continue;
			return;
		}
		if (r == -ENOBUFS) {
			channel_reset(ch, "heartbeat: message larger than 256 bytes");
			return;
		}
		if (r < 0)
			return;
		heartbeat_handle(s, ch, msg, len);
	}
}

static void heartbeat_tick(struct device *dev)
{
	struct heartbeat_state *s = dev->priv;
	struct channel *ch = dev->primary;

	if (!s || !ch || ch->state != CHANNEL_OPEN || s->phase != HEARTBEAT_RUNNING)
		return;
	if (devices_now() - s->last_answer > HEARTBEAT_LOST_AFTER && !s->lost_logged) {
		log_warning("heartbeat: lost, no answer from the guest for %.0f s",
			    devices_now() - s->last_answer);
		s->lost_logged = true;
	}
	/* A full ring means the guest is not reading: skip this beat. */
	heartbeat_send(ch, VMBUS_IC_HEARTBEAT, s->version, ++s->seq, NULL, 0);
}

static void heartbeat_status(struct device *dev, struct json_writer *w)
{
	struct heartbeat_state *s = dev->priv;
	const char *state = "waiting";
	double ago = -1;

	if (s && s->phase == HEARTBEAT_RUNNING) {
		ago = devices_now() - s->last_answer;
		state = ago > HEARTBEAT_LOST_AFTER ? "lost" : "ok";
	} else if (s && s->phase == HEARTBEAT_NEGOTIATING &&
		   devices_now() - s->opened > HEARTBEAT_LOST_AFTER) {
		state = "lost";
	}
	json_string(w, "heartbeat", state);
	if (ago >= 0)
		json_double(w, "last_answer_ago", ago);
	json_uint(w, "answers", s ? s->answers : 0);
	if (s && s->version)
		json_string(w, "protocol", s->version == VMBUS_IC_HEARTBEAT_VERSION_1 ? "1.0" : "?");
}

static void heartbeat_destroy(struct device *dev)
{
	free(dev->priv);
}

const struct device_ops heartbeat_device_ops = {
	.name = "heartbeat",
	.class_id = VMBUS_CLASS_HEARTBEAT,
	.ring_size_max = 64 * 1024,
	.open = heartbeat_open,
	.close = heartbeat_close,
	.event = heartbeat_event,
	.tick = heartbeat_tick,
	.status = heartbeat_status,
	.destroy = heartbeat_destroy,
};
