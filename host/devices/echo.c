// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * echo.c - the echo device: every in-band packet the guest sends comes back
 * unchanged (type, transaction id, payload). Used by the tests and by the
 * channel latency/throughput benchmark.
 */
#include <stdlib.h>

#include "host/devices.h"
#include "host/log.h"
#include "vmbus/classes.h"

#define ECHO_MAX_PACKET (64u * 1024u)

struct echo_state {
	uint8_t *buf;
	bool held;			/* buf holds a packet the ring had no room for */
	struct vmbus_packet_desc desc;
	uint32_t len;
	uint64_t packets, bytes;
};

static int echo_open(struct device *dev, struct channel *ch)
{
	struct echo_state *s = dev->priv;

	(void)ch;
	/* The packet buffer only once a guest uses the device. */
	if (!s->buf && !(s->buf = malloc(ECHO_MAX_PACKET)))
		return -ENOMEM;
	s->held = false;
	return 0;
}

/*
 * Releases the ring space of the packets read so far every this many: a
 * guest that keeps the ring busy (it sends again as each echo arrives)
 * would otherwise see it fill up although every packet was answered, as
 * the space is released only once the ring is found empty.
 */
#define ECHO_RELEASE_EVERY 16u

static void echo_event(struct device *dev, struct channel *ch)
{
	struct echo_state *s = dev->priv;
	unsigned int unreleased = 0;
	int r;

	for (;;) {
		if (!s->held) {
			r = channel_recv(ch, &s->desc, s->buf, ECHO_MAX_PACKET, &s->len);
			if (r == -EAGAIN) {
				if (channel_recv_done(ch) > 0)
					continue;
				return;
			}
			if (r == -ENOBUFS) {
				channel_reset(ch, "echo packet larger than 64 KiB");
				return;
			}
			if (r < 0)
				return;
			if (s->desc.type != VMBUS_PACKET_INBAND)
				continue;
			s->held = true;
		}
		r = channel_send(ch, VMBUS_PACKET_INBAND, 0, s->desc.trans_id, s->buf, s->len);
		if (r == -EAGAIN) {
			/* The guest signals when it has read enough (pending send size). */
			channel_recv_done(ch);
			return;
		}
		s->held = false;
		if (r < 0)
			return;
		s->packets++;
		s->bytes += s->len;
		if (++unreleased == ECHO_RELEASE_EVERY) {
			unreleased = 0;
			channel_recv_done(ch);
		}
	}
}

static void echo_status(struct device *dev, struct json_writer *w)
{
	struct echo_state *s = dev->priv;

	json_uint(w, "packets", s->packets);
	json_uint(w, "bytes", s->bytes);
}

static void echo_destroy(struct device *dev)
{
	struct echo_state *s = dev->priv;

	free(s->buf);
}

const struct device_ops echo_device_ops = {
	.name = "echo",
	.class_id = VMBUS_CLASS_ECHO,
	.max_subchannels = 4,
	.priv_size = sizeof(struct echo_state),
	.open = echo_open,
	.event = echo_event,
	.status = echo_status,
	.destroy = echo_destroy,
};
