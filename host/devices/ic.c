// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ic.c - common framing and negotiation of integration services (see ic.h).
 */
#include <stdio.h>
#include <string.h>

#include "host/devices.h"
#include "host/devices/ic.h"
#include "host/log.h"

int ic_send(struct channel *ch, uint32_t type, uint32_t version, uint64_t seq,
	    const void *payload, uint32_t len)
{
	uint8_t msg[IC_MSG_MAX];
	struct vmbus_ic_hdr h = { .type = type, .version = version, .seq = seq, .payload_len = len };

	if (len > sizeof(msg) - sizeof(h))
		return -EMSGSIZE;
	memcpy(msg, &h, sizeof(h));
	if (len)
		memcpy(msg + sizeof(h), payload, len);
	return channel_send(ch, VMBUS_PACKET_INBAND, 0, seq, msg, (uint32_t)sizeof(h) + len);
}

int ic_open(struct ic_service *ic, struct channel *ch, const char *name,
	    uint32_t version_min, uint32_t version_max)
{
	struct vmbus_ic_negotiate n = { version_min, version_max };

	ic->name = name;
	ic->version_min = version_min;
	ic->version_max = version_max;
	ic->version = 0;
	ic->opened = devices_now();
	/* The guest just opened the channel: its ring is empty, this fits. */
	return ic_send(ch, VMBUS_IC_NEGOTIATE, 0, ++ic->seq, &n, sizeof(n));
}

static void ic_negotiated(struct ic_service *ic, const struct vmbus_ic_hdr *h)
{
	if (h->status < 0 || h->version < ic->version_min || h->version > ic->version_max) {
		log_warning("%s: the guest refused every protocol version (status %d, version %#x)",
			    ic->name, h->status, h->version);
		ic->version = 0;
		return;
	}
	ic->version = h->version;
	log_info("%s: guest service connected, protocol %u.%u", ic->name,
		 VMBUS_VERSION_MAJOR(h->version), VMBUS_VERSION_MINOR(h->version));
}

void ic_receive(struct ic_service *ic, struct channel *ch,
		void (*handle)(void *ctx, struct channel *ch, const struct vmbus_ic_hdr *h,
			       const uint8_t *payload),
		void *ctx)
{
	uint8_t msg[IC_MSG_MAX];
	struct vmbus_packet_desc desc;
	struct vmbus_ic_hdr h;
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
			channel_reset(ch, "integration service message larger than 4 KiB");
			return;
		}
		if (r < 0)
			return;
		if (vmbus_ic_check(msg, len, IC_MSG_MAX - sizeof(h)) < 0) {
			channel_reset(ch, "malformed integration service message");
			return;
		}
		memcpy(&h, msg, sizeof(h));
		if ((h.flags & VMBUS_IC_F_RESPONSE) && h.seq && h.seq < ic->seq) {
			/* The guest was slow and we asked again: not the guest's fault. */
			ic->late++;
			log_debug("%s: a late answer (type %u, sequence %llu, now at %llu) ignored",
				  ic->name, h.type, (unsigned long long)h.seq,
				  (unsigned long long)ic->seq);
			continue;
		}
		if (!(h.flags & VMBUS_IC_F_RESPONSE) || h.seq != ic->seq) {
			log_guest(LOG_WARNING, "%s: unexpected message (type %u, sequence %llu) ignored",
				  ic->name, h.type, (unsigned long long)h.seq);
			continue;
		}
		if (h.type == VMBUS_IC_NEGOTIATE && !ic->version)
			ic_negotiated(ic, &h);
		else if (ic->version)
			handle(ctx, ch, &h, msg + sizeof(h));
		else
			log_guest(LOG_WARNING, "%s: message type %u before negotiation ignored",
				  ic->name, h.type);
	}
}

const char *ic_version_text(const struct ic_service *ic, char *buf, size_t n)
{
	if (!ic->version)
		snprintf(buf, n, "%s", "");
	else
		snprintf(buf, n, "%u.%u", VMBUS_VERSION_MAJOR(ic->version),
			 VMBUS_VERSION_MINOR(ic->version));
	return buf;
}
