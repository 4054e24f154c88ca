/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ic.h - what every integration-service backend (heartbeat, shutdown, ...)
 * does the same way: framing messages with struct vmbus_ic_hdr, the
 * version negotiation when the guest opens the channel, and a receive loop
 * that checks each message's frame before the service sees it.
 */
#ifndef HOST_DEVICES_IC_H
#define HOST_DEVICES_IC_H

#include "host/bus.h"
#include "vmbus/ic.h"

#define IC_MSG_MAX 4096

struct ic_service {
	const char *name;
	uint32_t version_min, version_max;
	uint32_t version;		/* negotiated; 0 before */
	uint64_t seq;			/* last request sent */
	uint64_t late;			/* answers to earlier requests, after a newer one went out */
	double opened;			/* devices_now() when the guest opened the channel */
};

/* Send one message (the IC header is built here). */
int ic_send(struct channel *ch, uint32_t type, uint32_t version, uint64_t seq,
	    const void *payload, uint32_t len);
/* The guest opened the channel: start negotiating a version in [vmin, vmax]. */
int ic_open(struct ic_service *ic, struct channel *ch, const char *name,
	    uint32_t version_min, uint32_t version_max);
/*
 * Read every message waiting on the channel. Negotiation answers are
 * handled here; answers to other requests go to handle(). A malformed
 * frame resets the channel.
 */
void ic_receive(struct ic_service *ic, struct channel *ch,
		void (*handle)(void *ctx, struct channel *ch, const struct vmbus_ic_hdr *h,
			       const uint8_t *payload),
		void *ctx);
/* Version as "major.minor" into buf (8 bytes at least), or "" before negotiation. */
const char *ic_version_text(const struct ic_service *ic, char *buf, size_t n);

#endif
