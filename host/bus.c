// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bus.c - the host channel manager (see bus.h).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "host/bus.h"
#include "host/devices.h"
#include "host/log.h"

#define BUS_MAX_PENDING		4096	/* control replies waiting for ring space */
#define BUS_CTL_BUDGET		256	/* control messages per doorbell pass */

struct gpadl {
	uint32_t id;
	uint32_t channel_id;
	uint32_t total_pages;
	uint32_t received;
	bool in_use;			/* holds an open channel's rings */
	uint64_t *offsets;		/* translated RAM offsets, total_pages entries */
	struct gpadl *next;
};

struct ctl_pending {
	struct ctl_pending *next;
	uint32_t len;
	uint8_t msg[];
};

typedef void (*bus_ctl_handler)(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len);

const char *channel_state_name(enum channel_state s)
{
	switch (s) {
	case CHANNEL_OFFERED: return "offered";
	case CHANNEL_OPEN: return "open";
	case CHANNEL_RESCINDED: return "rescinded";
	}
	return "unknown";
}

static const char *channel_name(const struct channel *ch)
{
	return ch->dev ? ch->dev->name : "removed";
}

/* ------------------------------------------------------------ signalling */

static void bus_signal_channel(struct bus *b, struct channel *ch)
{
	uint64_t *map = b->to_guest_events + (size_t)ch->vector * b->bitmap_words;

	__atomic_fetch_or(&map[ch->id / 64], 1ULL << (ch->id % 64), __ATOMIC_SEQ_CST);
	ch->signals++;
	ivshmem_signal_guest(b->ivs, ch->vector);
	b->last_signal_ns = devices_now_ns();
}

/* ------------------------------------------------------- control sending */

static int bus_ctl_write(struct bus *b, const void *msg, uint32_t len)
{
	bool signal = false;
	int r = vmbus_ring_send(&b->ctl_tx, VMBUS_PACKET_INBAND, 0, 0, msg, len, &signal);

	if (r == 0 && signal)
		ivshmem_signal_guest(b->ivs, VMBUS_VECTOR_CONTROL);
	return r;
}

/* Send what waited for room, in order. */
static void bus_ctl_flush(struct bus *b)
{
	while (b->pending_head) {
		struct ctl_pending *p = b->pending_head;

		if (bus_ctl_write(b, p->msg, p->len) < 0)
			return;
		b->pending_head = p->next;
		if (!b->pending_head)
			b->pending_tail = &b->pending_head;
		b->npending--;
		free(p);
	}
}

static void bus_ctl_send(struct bus *b, const void *msg, uint32_t len)
{
	struct ctl_pending *p;
	int r;

	if (!b->pending_head) {
		r = bus_ctl_write(b, msg, len);
		if (r != -EAGAIN) {
			if (r < 0)
				log_guest(LOG_WARNING, "cannot send %s to the guest: %s",
					  vmbus_ctl_name(((const struct vmbus_ctl_hdr *)msg)->type),
					  strerror(-r));
			return;
		}
	}
	if (b->npending >= BUS_MAX_PENDING) {
		log_guest(LOG_WARNING, "guest is not reading its control ring; dropping %s",
			  vmbus_ctl_name(((const struct vmbus_ctl_hdr *)msg)->type));
		return;
	}
	p = malloc(sizeof(*p) + len);
	if (!p) {
		log_error("out of memory queueing a control message");
		return;
	}
	p->next = NULL;
	p->len = len;
	memcpy(p->msg, msg, len);
	*b->pending_tail = p;
	b->pending_tail = &p->next;
	b->npending++;
}

static void bus_ctl_drop_pending(struct bus *b)
{
	while (b->pending_head) {
		struct ctl_pending *p = b->pending_head;

		b->pending_head = p->next;
		free(p);
	}
	b->pending_tail = &b->pending_head;
	b->npending = 0;
}

static void bus_send_result(struct bus *b, uint32_t type, uint32_t channel_id,
			    uint32_t open_id, int status)
{
	struct vmbus_ctl_result m = {
		.hdr.type = type, .channel_id = channel_id, .open_id = open_id, .status = status,
	};

	bus_ctl_send(b, &m, sizeof(m));
}

static void bus_send_offer(struct bus *b, struct channel *ch)
{
	struct vmbus_ctl_offer m = { .hdr.type = VMBUS_CTL_OFFER };

	m.class_id = ch->dev->ops->class_id;
	m.instance_id = ch->dev->instance_id;
	m.channel_id = ch->id;
	m.subchannel_index = ch->subchannel_index;
	m.max_subchannels = ch->dev->ops->max_subchannels;
	bus_ctl_send(b, &m, sizeof(m));
}

static void bus_send_channel_msg(struct bus *b, uint32_t type, uint32_t channel_id)
{
	struct vmbus_ctl_channel m = { .hdr.type = type, .channel_id = channel_id };

	bus_ctl_send(b, &m, sizeof(m));
}

/* ------------------------------------------------------------- channels */

static struct channel *bus_channel(struct bus *b, uint32_t id)
{
	return id > 0 && id < VMBUS_MAX_CHANNELS ? b->channels[id] : NULL;
}

static struct channel *bus_channel_new(struct bus *b, struct device *dev, uint16_t index,
				       struct channel *primary)
{
	struct channel *ch;
	uint32_t id;

	for (id = 1; id < VMBUS_MAX_CHANNELS && b->channels[id]; id++)
		;
	if (id == VMBUS_MAX_CHANNELS)
		return NULL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->id = id;
	ch->dev = dev;
	ch->subchannel_index = index;
	ch->primary = primary;
	ch->state = CHANNEL_OFFERED;
	b->channels[id] = ch;
	return ch;
}

static void bus_channel_free(struct bus *b, struct channel *ch)
{
	b->channels[ch->id] = NULL;
	if (ch->dev && ch->dev->primary == ch)
		ch->dev->primary = NULL;
	free(ch);
}

static struct gpadl *bus_gpadl(struct bus *b, uint32_t id)
{
	struct gpadl *g;

	for (g = b->gpadls; g; g = g->next)
		if (g->id == id)
			return g;
	return NULL;
}

static void bus_gpadl_free(struct bus *b, struct gpadl *g)
{
	struct gpadl **pp;

	for (pp = &b->gpadls; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	b->ngpadls--;
	b->gpadl_pages -= g->total_pages;
	free(g->offsets);
	free(g);
}

/* Stop serving an open channel: backend first, then the ring mapping. */
static void bus_channel_close(struct bus *b, struct channel *ch)
{
	(void)b;
	if (ch->state != CHANNEL_OPEN)
		return;
	if (ch->dev && ch->dev->ops->close)
		ch->dev->ops->close(ch->dev, ch);
	guestmem_unmap_pages(ch->ring_map, ch->ring_pages);
	ch->ring_map = NULL;
	if (ch->ring_gpadl)
		ch->ring_gpadl->in_use = false;
	ch->ring_gpadl = NULL;
	ch->state = CHANNEL_OFFERED;
}

static bool bus_offers_visible(const struct bus *b)
{
	return b->guest_state == BUS_GUEST_CONNECTED && b->offers_requested;
}

/* A fresh primary channel for a device whose old one was reset. */
static void bus_reoffer(struct bus *b, struct device *dev)
{
	struct channel *ch = bus_channel_new(b, dev, 0, NULL);

	if (!ch) {
		log_error("%s: no free channel id to offer the device again", dev->name);
		return;
	}
	dev->primary = ch;
	if (bus_offers_visible(b))
		bus_send_offer(b, ch);
}

/*
 * Rescind every channel of a device (primary and sub-channels). The guest
 * answers each with RELEASE; until then the ids stay reserved.
 */
static void bus_rescind_device_channels(struct bus *b, struct device *dev, bool reoffer)
{
	uint32_t id;

	for (id = 1; id < VMBUS_MAX_CHANNELS; id++) {
		struct channel *ch = b->channels[id];

		if (!ch || ch->dev != dev || ch->state == CHANNEL_RESCINDED)
			continue;
		bus_channel_close(b, ch);
		if (!bus_offers_visible(b)) {
			bus_channel_free(b, ch);
			continue;
		}
		ch->state = CHANNEL_RESCINDED;
		ch->reoffer = reoffer && ch->subchannel_index == 0;
		if (!reoffer)
			ch->dev = NULL;
		bus_send_channel_msg(b, VMBUS_CTL_RESCIND, ch->id);
	}
	if (!bus_offers_visible(b) && reoffer && !dev->primary)
		bus_reoffer(b, dev);
	else if (!reoffer || bus_offers_visible(b))
		dev->primary = NULL;
}

void channel_reset(struct channel *ch, const char *why)
{
	if (!ch->reset_reason)
		ch->reset_reason = why;
	/* Only channels with a device are ever open, and only those are reset. */
	if (ch->dev)
		ch->dev->bus->resets_pending = true;
}

/*
 * Resets requested by backends or the ring checks, done outside callbacks.
 * Called after every control message and channel doorbell: the flag keeps
 * the common case (nothing to reset) from scanning every channel slot.
 */
void bus_process_resets(struct bus *b)
{
	uint32_t id;

	if (!b->resets_pending)
		return;
	b->resets_pending = false;
	for (id = 1; id < VMBUS_MAX_CHANNELS; id++) {
		struct channel *ch = b->channels[id];
		struct device *dev;

		if (!ch || !ch->reset_reason)
			continue;
		dev = ch->dev;
		log_guest(LOG_WARNING, "channel %u (%s): %s; resetting the device's channels",
			  ch->id, channel_name(ch), ch->reset_reason);
		ch->reset_reason = NULL;
		b->resets++;
		if (dev)
			bus_rescind_device_channels(b, dev, true);
	}
}

/* ----------------------------------------------------------- connection */

static void bus_reset_shared(struct bus *b)
{
	vmbus_ring_reset(&b->ctl_tx);
	vmbus_ring_reset(&b->ctl_rx);
	memset(b->to_host_events, 0, (size_t)b->bitmap_words * 8);
	memset(b->to_guest_events, 0, (size_t)b->bitmap_words * 8 * b->nvectors);
}

/* Forget everything the guest set up; devices stay, with fresh offers. */
static void bus_teardown(struct bus *b)
{
	struct device *dev;
	uint32_t id;

	for (id = 1; id < VMBUS_MAX_CHANNELS; id++) {
		struct channel *ch = b->channels[id];

		if (!ch)
			continue;
		bus_channel_close(b, ch);
		if (ch->state == CHANNEL_RESCINDED || ch->subchannel_index)
			bus_channel_free(b, ch);
		else
			ch->reset_reason = NULL;
	}
	while (b->gpadls)
		bus_gpadl_free(b, b->gpadls);
	bus_ctl_drop_pending(b);
	for (dev = b->devices; dev; dev = dev->next)
		if (!dev->primary)
			bus_reoffer(b, dev);
	b->guest_state = BUS_GUEST_ABSENT;
	b->offers_requested = false;
}

void bus_guest_reset(struct bus *b, const char *why)
{
	if (b->guest_state != BUS_GUEST_ABSENT)
		log_info("guest bus reset: %s", why);
	bus_teardown(b);
	bus_reset_shared(b);
}

/* The control ring is unusable: drop the connection until the guest reconnects. */
static void bus_break_connection(struct bus *b, const char *why)
{
	log_guest(LOG_WARNING, "control ring: %s; dropping the connection until the guest reconnects",
		  why);
	b->protocol_errors++;
	bus_guest_reset(b, why);
}

/* ---------------------------------------------------------- control in */

static void bus_protocol_error(struct bus *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bus_protocol_error(struct bus *b, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	b->protocol_errors++;
	log_guest(LOG_WARNING, "guest protocol error: %s", text);
}

static void bus_on_connect(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	struct vmbus_ctl_connect_result r = { .hdr.type = VMBUS_CTL_CONNECT_RESULT };
	int64_t v;

	(void)len;
	if (b->guest_state == BUS_GUEST_CONNECTED) {
		bus_protocol_error(b, "CONNECT while already connected");
		return;
	}
	v = vmbus_version_pick(VMBUS_VERSION_1_0, VMBUS_VERSION_CURRENT,
			       m->connect.version_min, m->connect.version_max);
	r.host_version_min = VMBUS_VERSION_1_0;
	r.host_version_max = VMBUS_VERSION_CURRENT;
	r.max_channels = VMBUS_MAX_CHANNELS;
	r.max_gpadl_pages = VMBUS_MAX_GPADL_PAGES;
	if (v < 0) {
		r.status = -EPROTONOSUPPORT;
		log_warning("guest speaks versions %u.%u-%u.%u, we speak %u.%u-%u.%u: refused",
			    VMBUS_VERSION_MAJOR(m->connect.version_min),
			    VMBUS_VERSION_MINOR(m->connect.version_min),
			    VMBUS_VERSION_MAJOR(m->connect.version_max),
			    VMBUS_VERSION_MINOR(m->connect.version_max),
			    VMBUS_VERSION_MAJOR(VMBUS_VERSION_1_0), VMBUS_VERSION_MINOR(VMBUS_VERSION_1_0),
			    VMBUS_VERSION_MAJOR(VMBUS_VERSION_CURRENT),
			    VMBUS_VERSION_MINOR(VMBUS_VERSION_CURRENT));
	} else {
		r.version = (uint32_t)v;
		b->version = (uint32_t)v;
		b->guest_state = BUS_GUEST_CONNECTED;
		b->connects++;
		log_info("guest connected, protocol %u.%u", VMBUS_VERSION_MAJOR(r.version),
			 VMBUS_VERSION_MINOR(r.version));
	}
	bus_ctl_send(b, &r, sizeof(r));
}

static void bus_on_request_offers(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	struct vmbus_ctl_hdr done = { .type = VMBUS_CTL_OFFERS_DONE };
	uint32_t id;

	(void)m, (void)len;
	if (b->offers_requested) {
		bus_protocol_error(b, "REQUEST_OFFERS sent twice");
		return;
	}
	b->offers_requested = true;
	for (id = 1; id < VMBUS_MAX_CHANNELS; id++) {
		struct channel *ch = b->channels[id];

		if (ch && ch->dev && ch->state == CHANNEL_OFFERED && !ch->subchannel_index)
			bus_send_offer(b, ch);
	}
	bus_ctl_send(b, &done, sizeof(done));
}

static void bus_send_gpadl_result(struct bus *b, uint32_t channel_id, uint32_t gpadl_id, int status)
{
	struct vmbus_ctl_gpadl_result r = {
		.hdr.type = VMBUS_CTL_GPADL_RESULT, .channel_id = channel_id,
		.gpadl_id = gpadl_id, .status = status,
	};

	bus_ctl_send(b, &r, sizeof(r));
}

/* Translate pfns into g; -EFAULT (logged) if any is not guest RAM. */
static int bus_gpadl_add_pages(struct bus *b, struct gpadl *g, const uint64_t *pfn, uint32_t count)
{
	uint32_t i;

	for (i = 0; i < count; i++) {
		int64_t off = -EFAULT;

		if (pfn[i] < (1ULL << 52))
			off = guestmem_translate(b->mem, pfn[i] * VMBUS_PAGE_SIZE, VMBUS_PAGE_SIZE);
		if (off < 0) {
			bus_protocol_error(b, "GPADL %u page %u (pfn 0x%llx) is not guest RAM",
					   g->id, g->received + i, (unsigned long long)pfn[i]);
			return -EFAULT;
		}
		g->offsets[g->received + i] = (uint64_t)off;
	}
	g->received += count;
	return 0;
}

static void bus_on_gpadl_header(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	const struct vmbus_ctl_gpadl_header *h = &m->gpadl_header;
	struct channel *ch = bus_channel(b, h->channel_id);
	struct gpadl *g;
	int status;

	(void)len;
	if (!ch || ch->state == CHANNEL_RESCINDED) {
		bus_protocol_error(b, "GPADL %u for unknown channel %u", h->gpadl_id, h->channel_id);
		status = -ENODEV;
		goto fail;
	}
	if (h->gpadl_id == 0 || bus_gpadl(b, h->gpadl_id)) {
		bus_protocol_error(b, "GPADL id %u is zero or already in use", h->gpadl_id);
		status = -EEXIST;
		goto fail;
	}
	if (h->total_pages == 0 || h->total_pages > VMBUS_MAX_GPADL_PAGES || h->count > h->total_pages) {
		bus_protocol_error(b, "GPADL %u: %u pages (%u in the header) is outside 1..%u",
				   h->gpadl_id, h->total_pages, h->count, VMBUS_MAX_GPADL_PAGES);
		status = -EINVAL;
		goto fail;
	}
	if (b->ngpadls >= VMBUS_MAX_GPADLS ||
	    b->gpadl_pages + h->total_pages > VMBUS_MAX_GPADL_TOTAL_PAGES) {
		bus_protocol_error(b, "GPADL %u: limit of %u GPADLs / %u pages reached", h->gpadl_id,
				   VMBUS_MAX_GPADLS, VMBUS_MAX_GPADL_TOTAL_PAGES);
		status = -ENOSPC;
		goto fail;
	}
	g = calloc(1, sizeof(*g));
	if (g)
		g->offsets = calloc(h->total_pages, sizeof(uint64_t));
	if (!g || !g->offsets) {
		free(g);
		status = -ENOMEM;
		goto fail;
	}
	g->id = h->gpadl_id;
	g->channel_id = h->channel_id;
	g->total_pages = h->total_pages;
	g->next = b->gpadls;
	b->gpadls = g;
	b->ngpadls++;
	b->gpadl_pages += g->total_pages;
	if (bus_gpadl_add_pages(b, g, h->pfn, h->count) < 0) {
		bus_gpadl_free(b, g);
		status = -EFAULT;
		goto fail;
	}
	if (g->received == g->total_pages)
		bus_send_gpadl_result(b, h->channel_id, h->gpadl_id, 0);
	return;
fail:
	bus_send_gpadl_result(b, h->channel_id, h->gpadl_id, status);
}

static void bus_on_gpadl_body(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	const struct vmbus_ctl_gpadl_body *body = &m->gpadl_body;
	struct gpadl *g = bus_gpadl(b, body->gpadl_id);

	(void)len;
	if (!g || g->received == g->total_pages) {
		bus_protocol_error(b, "GPADL body for %s GPADL %u",
				   g ? "complete" : "unknown", body->gpadl_id);
		return;
	}
	if (body->count > g->total_pages - g->received) {
		bus_protocol_error(b, "GPADL %u: body carries %u pages, only %u expected",
				   g->id, body->count, g->total_pages - g->received);
		bus_send_gpadl_result(b, g->channel_id, g->id, -EINVAL);
		bus_gpadl_free(b, g);
		return;
	}
	if (bus_gpadl_add_pages(b, g, body->pfn, body->count) < 0) {
		bus_send_gpadl_result(b, g->channel_id, g->id, -EFAULT);
		bus_gpadl_free(b, g);
		return;
	}
	if (g->received == g->total_pages)
		bus_send_gpadl_result(b, g->channel_id, g->id, 0);
}

static void bus_on_gpadl_teardown(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	const struct vmbus_ctl_gpadl_teardown *t = &m->gpadl_teardown;
	struct vmbus_ctl_gpadl_teardown done = {
		.hdr.type = VMBUS_CTL_GPADL_TORNDOWN, .channel_id = t->channel_id,
		.gpadl_id = t->gpadl_id,
	};
	struct gpadl *g = bus_gpadl(b, t->gpadl_id);
	uint32_t id;

	(void)len;
	if (!g || g->channel_id != t->channel_id) {
		bus_protocol_error(b, "teardown of unknown GPADL %u (channel %u)", t->gpadl_id,
				   t->channel_id);
		return;
	}
	if (g->in_use) {
		/* The guest frees rings we still use: stop using them first. */
		for (id = 1; id < VMBUS_MAX_CHANNELS; id++)
			if (b->channels[id] && b->channels[id]->ring_gpadl == g)
				channel_reset(b->channels[id], "GPADL torn down while the channel is open");
		for (id = 1; id < VMBUS_MAX_CHANNELS; id++)
			if (b->channels[id] && b->channels[id]->ring_gpadl == g)
				bus_channel_close(b, b->channels[id]);
	}
	bus_gpadl_free(b, g);
	bus_ctl_send(b, &done, sizeof(done));
}

static int bus_open_channel(struct bus *b, struct channel *ch, const struct vmbus_ctl_open *o)
{
	struct gpadl *g = bus_gpadl(b, o->ring_gpadl_id);
	uint32_t max = ch->dev->ops->ring_size_max ?: VMBUS_MAX_CHANNEL_RING_SIZE;
	uint64_t rx_size, tx_size;
	uint8_t *map;
	int r;

	if (!g || g->channel_id != ch->id || g->received != g->total_pages || g->in_use) {
		bus_protocol_error(b, "open of channel %u with unusable GPADL %u", ch->id,
				   o->ring_gpadl_id);
		return -EINVAL;
	}
	if (o->to_guest_page < 2 || o->to_guest_page > g->total_pages - 2) {
		bus_protocol_error(b, "open of channel %u: ring split at page %u of %u", ch->id,
				   o->to_guest_page, g->total_pages);
		return -EINVAL;
	}
	rx_size = (uint64_t)(o->to_guest_page - 1) * VMBUS_PAGE_SIZE;
	tx_size = (uint64_t)(g->total_pages - o->to_guest_page - 1) * VMBUS_PAGE_SIZE;
	if (rx_size > max || tx_size > max) {
		bus_protocol_error(b, "open of channel %u: rings of %llu/%llu bytes exceed %u",
				   ch->id, (unsigned long long)rx_size, (unsigned long long)tx_size, max);
		return -EINVAL;
	}
	if (o->vector < VMBUS_VECTOR_FIRST_CHANNEL || o->vector >= b->nvectors) {
		bus_protocol_error(b, "open of channel %u: vector %u outside 1..%u", ch->id,
				   o->vector, b->nvectors - 1);
		return -EINVAL;
	}
	r = guestmem_map_pages(b->mem, g->offsets, g->total_pages, &ch->ring_map);
	if (r < 0)
		return log_error_errno(r, "cannot map the rings of channel %u: %m", ch->id);
	map = ch->ring_map;
	vmbus_ring_attach(&ch->rx, map, map + VMBUS_PAGE_SIZE, (uint32_t)rx_size);
	vmbus_ring_attach(&ch->tx, map + (size_t)o->to_guest_page * VMBUS_PAGE_SIZE,
			  map + (size_t)(o->to_guest_page + 1) * VMBUS_PAGE_SIZE, (uint32_t)tx_size);
	ch->ring_pages = g->total_pages;
	ch->ring_gpadl = g;
	ch->target_cpu = o->target_cpu;
	ch->vector = o->vector;
	g->in_use = true;
	ch->state = CHANNEL_OPEN;
	if (ch->dev->ops->open) {
		r = ch->dev->ops->open(ch->dev, ch);
		if (r < 0) {
			ch->state = CHANNEL_OFFERED;
			g->in_use = false;
			guestmem_unmap_pages(ch->ring_map, ch->ring_pages);
			ch->ring_map = NULL;
			ch->ring_gpadl = NULL;
			return log_error_errno(r, "%s: cannot open channel %u: %m",
					       ch->dev->name, ch->id);
		}
	}
	return 0;
}

static void bus_on_open(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	const struct vmbus_ctl_open *o = &m->open;
	struct channel *ch = bus_channel(b, o->channel_id);
	int status;

	(void)len;
	if (!ch || !ch->dev || ch->state != CHANNEL_OFFERED) {
		bus_protocol_error(b, "open of channel %u, which is %s", o->channel_id,
				   ch ? channel_state_name(ch->state) : "unknown");
		status = -EINVAL;
	} else {
		status = bus_open_channel(b, ch, o);
	}
	bus_send_result(b, VMBUS_CTL_OPEN_RESULT, o->channel_id, o->open_id, status);
}

static void bus_on_close(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	struct channel *ch = bus_channel(b, m->channel.channel_id);

	(void)len;
	if (!ch || ch->state != CHANNEL_OPEN) {
		bus_protocol_error(b, "close of channel %u, which is not open", m->channel.channel_id);
		bus_send_result(b, VMBUS_CTL_CLOSE_RESULT, m->channel.channel_id, 0, -EINVAL);
		return;
	}
	bus_channel_close(b, ch);
	bus_send_result(b, VMBUS_CTL_CLOSE_RESULT, ch->id, 0, 0);
}

static void bus_on_modify(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	const struct vmbus_ctl_modify *mod = &m->modify;
	struct channel *ch = bus_channel(b, mod->channel_id);
	int status = 0;

	(void)len;
	if (!ch || ch->state != CHANNEL_OPEN) {
		bus_protocol_error(b, "retarget of channel %u, which is not open", mod->channel_id);
		status = -EINVAL;
	} else if (mod->vector < VMBUS_VECTOR_FIRST_CHANNEL || mod->vector >= b->nvectors) {
		bus_protocol_error(b, "retarget of channel %u to vector %u outside 1..%u",
				   mod->channel_id, mod->vector, b->nvectors - 1);
		status = -EINVAL;
	} else {
		ch->target_cpu = mod->target_cpu;
		ch->vector = mod->vector;
	}
	bus_send_result(b, VMBUS_CTL_MODIFY_RESULT, mod->channel_id, 0, status);
}

static void bus_on_subchannel_request(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	const struct vmbus_ctl_subchannel *req = &m->subchannel;
	struct vmbus_ctl_subchannel res = { .hdr.type = VMBUS_CTL_SUBCHANNEL_RESULT,
					    .channel_id = req->channel_id };
	struct channel *primary = bus_channel(b, req->channel_id), *offered[64];
	uint32_t id, have = 0, want, n = 0, i;

	(void)len;
	if (!primary || primary->subchannel_index || primary->state != CHANNEL_OPEN) {
		bus_protocol_error(b, "sub-channels requested for channel %u, not an open primary",
				   req->channel_id);
		bus_ctl_send(b, &res, sizeof(res));
		return;
	}
	for (id = 1; id < VMBUS_MAX_CHANNELS; id++)
		if (b->channels[id] && b->channels[id]->primary == primary)
			have++;
	want = req->count;
	if (want > primary->dev->ops->max_subchannels - have)
		want = primary->dev->ops->max_subchannels - have;
	if (want > 64)
		want = 64;
	for (i = 0; i < want; i++) {
		struct channel *sc = bus_channel_new(b, primary->dev, (uint16_t)(have + i + 1), primary);

		if (!sc)
			break;
		offered[n++] = sc;
	}
	res.count = n;
	bus_ctl_send(b, &res, sizeof(res));
	for (i = 0; i < n; i++)
		bus_send_offer(b, offered[i]);
}

static void bus_on_release(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	struct channel *ch = bus_channel(b, m->channel.channel_id);
	struct device *dev;
	bool reoffer;

	(void)len;
	if (!ch || ch->state != CHANNEL_RESCINDED) {
		bus_protocol_error(b, "release of channel %u, which was not rescinded",
				   m->channel.channel_id);
		return;
	}
	dev = ch->dev;
	reoffer = ch->reoffer && dev;
	bus_channel_free(b, ch);
	if (reoffer && !dev->primary)
		bus_reoffer(b, dev);
}

static void bus_on_unload(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	struct vmbus_ctl_hdr done = { .type = VMBUS_CTL_UNLOAD_DONE };

	(void)m, (void)len;
	log_info("guest unloaded the bus");
	bus_teardown(b);
	bus_ctl_send(b, &done, sizeof(done));
}

static const bus_ctl_handler bus_ctl_handlers[VMBUS_CTL_TYPE_COUNT] = {
	[VMBUS_CTL_CONNECT] = bus_on_connect,
	[VMBUS_CTL_REQUEST_OFFERS] = bus_on_request_offers,
	[VMBUS_CTL_RELEASE] = bus_on_release,
	[VMBUS_CTL_GPADL_HEADER] = bus_on_gpadl_header,
	[VMBUS_CTL_GPADL_BODY] = bus_on_gpadl_body,
	[VMBUS_CTL_GPADL_TEARDOWN] = bus_on_gpadl_teardown,
	[VMBUS_CTL_OPEN] = bus_on_open,
	[VMBUS_CTL_CLOSE] = bus_on_close,
	[VMBUS_CTL_MODIFY] = bus_on_modify,
	[VMBUS_CTL_SUBCHANNEL_REQUEST] = bus_on_subchannel_request,
	[VMBUS_CTL_UNLOAD] = bus_on_unload,
};

static void bus_dispatch(struct bus *b, const union vmbus_ctl_msg *m, uint32_t len)
{
	int type = vmbus_ctl_validate(m, len, VMBUS_CTL_TO_HOST);

	if (type < 0) {
		bus_protocol_error(b, "malformed control message (type %u, %u bytes) ignored",
				   m->hdr.type, len);
		return;
	}
	if (b->guest_state != BUS_GUEST_CONNECTED && type != VMBUS_CTL_CONNECT) {
		bus_protocol_error(b, "%s before CONNECT ignored", vmbus_ctl_name((uint32_t)type));
		return;
	}
	if (!bus_ctl_handlers[type]) {
		bus_protocol_error(b, "unexpected %s ignored", vmbus_ctl_name((uint32_t)type));
		return;
	}
	bus_ctl_handlers[type](b, m, len);
}

void bus_handle_control_doorbell(struct bus *b)
{
	uint32_t seq = vmbus_load_acquire(&b->hdr->connect_seq);
	union vmbus_ctl_msg *m = malloc(sizeof(*m));
	unsigned int budget = BUS_CTL_BUDGET;

	if (!m) {
		log_error("out of memory reading the control ring");
		return;
	}
	if (vmbus_read_once(b->hdr->guest_state) == VMBUS_GUEST_CONNECTING && seq != b->connect_seq) {
		bus_teardown(b);
		bus_reset_shared(b);
		b->connect_seq = seq;
		vmbus_store_release(&b->hdr->connect_ack, seq);
		ivshmem_signal_guest(b->ivs, VMBUS_VECTOR_CONTROL);
		log_info("guest asked for a connection (sequence %u)", seq);
	}
	if (vmbus_read_once(b->hdr->connect_ack) != seq)
		goto out;	/* the rings belong to no connection yet */

	for (;;) {
		struct vmbus_packet_desc desc;
		uint32_t len;
		int r = vmbus_ring_read(&b->ctl_rx, &desc, m, sizeof(*m), &len);

		if (r == -EAGAIN) {
			if (vmbus_ring_read_commit(&b->ctl_rx))
				ivshmem_signal_guest(b->ivs, VMBUS_VECTOR_CONTROL);
			r = (int)vmbus_ring_unmask(&b->ctl_rx);
			if (r == 0)
				break;
			if (r > 0)
				continue;
		}
		if (r == -ENOBUFS) {
			bus_protocol_error(b, "control message of %u bytes exceeds %u", len,
					   VMBUS_CTL_MAX_LEN);
			vmbus_ring_skip(&b->ctl_rx);
			continue;
		}
		if (r < 0) {
			bus_break_connection(b, "guest wrote invalid ring indices or packet lengths");
			goto out;
		}
		if (desc.type != VMBUS_PACKET_INBAND) {
			bus_protocol_error(b, "control packet of type %u ignored", desc.type);
		} else {
			bus_dispatch(b, m, len);
			bus_process_resets(b);
		}
		if (--budget == 0) {
			/* Come back later: other event sources get their turn. */
			uint64_t one = 1;

			/* The commit may be the crossing a guest waiting for room needs. */
			if (vmbus_ring_read_commit(&b->ctl_rx))
				ivshmem_signal_guest(b->ivs, VMBUS_VECTOR_CONTROL);
			if (write(b->ivs->host_efd[VMBUS_VECTOR_CONTROL], &one, sizeof(one)) < 0)
				log_error("cannot re-arm the control doorbell");
			break;
		}
	}
	bus_ctl_flush(b);
out:
	free(m);
}

void bus_handle_channel_doorbell(struct bus *b)
{
	uint32_t w;

	for (w = 0; w < b->bitmap_words; w++) {
		uint64_t bits = __atomic_exchange_n(&b->to_host_events[w], 0, __ATOMIC_SEQ_CST);

		while (bits) {
			uint32_t id = w * 64 + (uint32_t)__builtin_ctzll(bits);
			struct channel *ch = bus_channel(b, id);

			bits &= bits - 1;
			if (!ch || ch->state != CHANNEL_OPEN || !ch->dev)
				continue;
			ch->events++;
			if (ch->dev->ops->event)
				ch->dev->ops->event(ch->dev, ch);
		}
	}
	bus_process_resets(b);
}

/*
 * Once a second: a channel whose guest->host ring has held the same unread
 * data since the last tick, with no signal pending, missed a signal.
 * Serve it and say so: a stuck channel would otherwise hang its device.
 */
static void bus_check_stalled(struct bus *b)
{
	uint32_t id;

	for (id = 1; id < VMBUS_MAX_CHANNELS; id++) {
		struct channel *ch = b->channels[id];
		uint32_t write;

		if (!ch || ch->state != CHANNEL_OPEN || !ch->dev)
			continue;
		write = vmbus_read_once(ch->rx.hdr->write_index);
		if (write == ch->rx.index || write != ch->stall_write_index ||
		    ch->rx.index != ch->stall_read_index) {
			ch->stall_write_index = write;
			ch->stall_read_index = ch->rx.index;
			continue;
		}
		ch->missed_signals++;
		log_guest(LOG_WARNING, "channel %u (%s): unread data without a signal for a second; "
			  "serving it (missed signal #%llu)", ch->id, channel_name(ch),
			  (unsigned long long)ch->missed_signals);
		if (ch->dev->ops->event)
			ch->dev->ops->event(ch->dev, ch);
	}
}

void bus_tick(struct bus *b)
{
	struct device *dev;

	__atomic_fetch_add(&b->hdr->host_heartbeat, 1, __ATOMIC_RELEASE);
	bus_check_stalled(b);
	for (dev = b->devices; dev; dev = dev->next)
		if (dev->ops->tick)
			dev->ops->tick(dev);
	bus_process_resets(b);
}

/* ------------------------------------------------------- backend helpers */

int channel_send(struct channel *ch, uint16_t type, uint16_t flags, uint64_t trans_id,
		 const void *buf, uint32_t len)
{
	bool signal = false;
	int r;

	if (ch->state != CHANNEL_OPEN)
		return -ENODEV;
	r = vmbus_ring_send(&ch->tx, type, flags, trans_id, buf, len, &signal);
	if (r == -EPROTO)
		channel_reset(ch, "guest wrote an invalid read index into the host-to-guest ring");
	if (r == 0 && signal)
		bus_signal_channel(ch->dev->bus, ch);
	return r;
}

int channel_recv(struct channel *ch, struct vmbus_packet_desc *ret_desc,
		 void *buf, uint32_t len, uint32_t *ret_len)
{
	int r;

	if (ch->state != CHANNEL_OPEN)
		return -ENODEV;
	r = vmbus_ring_read(&ch->rx, ret_desc, buf, len, ret_len);
	if (r == -EPROTO)
		channel_reset(ch, "guest wrote invalid indices or packet lengths into its ring");
	return r;
}

int64_t channel_recv_done(struct channel *ch)
{
	int64_t r;

	if (ch->state != CHANNEL_OPEN)
		return -ENODEV;
	if (vmbus_ring_read_commit(&ch->rx))
		bus_signal_channel(ch->dev->bus, ch);
	r = vmbus_ring_unmask(&ch->rx);
	if (r == -EPROTO)
		channel_reset(ch, "guest wrote an invalid write index into its ring");
	return r;
}

int bus_watch_fd(struct bus *b, int fd, void (*fn)(void *arg), bus_poll_fn poll, void *arg)
{
	if (!b->loop)
		return -EOPNOTSUPP;
	return b->loop->watch(b->loop->loop, fd, fn, poll, arg);
}

bool bus_channel_events_pending(const struct bus *b)
{
	if (b->guest_state != BUS_GUEST_CONNECTED)
		return false;
	for (uint32_t w = 0; w < b->bitmap_words; w++)
		if (__atomic_load_n(&b->to_host_events[w], __ATOMIC_RELAXED))
			return true;
	return false;
}

void bus_unwatch_fd(struct bus *b, int fd)
{
	if (b->loop)
		b->loop->unwatch(b->loop->loop, fd);
}

/* --------------------------------------------------------------- devices */

int bus_add_device(struct bus *b, const struct device_ops *ops, struct device **ret)
{
	return bus_add_named_device(b, ops, ops->name, ret);
}

int bus_add_named_device(struct bus *b, const struct device_ops *ops, const char *name,
			 struct device **ret)
{
	struct device *dev, **pp;

	if (!name[0] || strlen(name) >= DEVICE_NAME_MAX)
		return -EINVAL;
	if (bus_find_device(b, name))
		return -EEXIST;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	memcpy(dev->name, name, strlen(name) + 1);
	if (ops->priv_size && !(dev->priv = calloc(1, ops->priv_size))) {
		free(dev);
		return -ENOMEM;
	}
	dev->ops = ops;
	dev->bus = b;
	if (getrandom(&dev->instance_id, sizeof(dev->instance_id), 0) != sizeof(dev->instance_id)) {
		free(dev->priv);
		free(dev);
		return -EIO;
	}
	dev->primary = bus_channel_new(b, dev, 0, NULL);
	if (!dev->primary) {
		free(dev->priv);
		free(dev);
		return -ENOSPC;
	}
	for (pp = &b->devices; *pp; pp = &(*pp)->next)
		;
	*pp = dev;
	if (bus_offers_visible(b))
		bus_send_offer(b, dev->primary);
	if (ret)
		*ret = dev;
	return 0;
}

void bus_remove_device(struct bus *b, struct device *dev)
{
	struct device **pp;

	bus_rescind_device_channels(b, dev, false);
	for (pp = &b->devices; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	}
	if (dev->ops->destroy)
		dev->ops->destroy(dev);
	free(dev->priv);
	free(dev);
}

struct device *bus_find_device(struct bus *b, const char *name)
{
	struct device *dev;

	for (dev = b->devices; dev; dev = dev->next)
		if (strcmp(dev->name, name) == 0)
			return dev;
	return NULL;
}

/* ----------------------------------------------------------------- setup */

int bus_init(struct bus *b, struct guestmem *mem, struct ivshmem_server *ivs,
	     void *bar, uint32_t bar_size, uint32_t nvectors)
{
	struct vmbus_bar_header *h = bar;
	uint8_t *p = bar;
	int r;

	memset(b, 0, sizeof(*b));
	b->pending_tail = &b->pending_head;
	memset(bar, 0, bar_size);
	r = vmbus_bar_header_init(h, bar_size, nvectors);
	if (r < 0)
		return r;
	b->mem = mem;
	b->ivs = ivs;
	b->bar = bar;
	b->bar_size = bar_size;
	b->hdr = h;
	b->nvectors = nvectors;
	b->bitmap_words = vmbus_event_bitmap_bytes(h->max_channels) / 8;
	b->to_host_events = (uint64_t *)(p + h->to_host_events_offset);
	b->to_guest_events = (uint64_t *)(p + h->to_guest_events_offset);
	vmbus_ring_attach(&b->ctl_tx, p + h->to_guest_ring_offset,
			  p + h->to_guest_ring_offset + VMBUS_RING_HEADER_SIZE, h->to_guest_ring_size);
	vmbus_ring_attach(&b->ctl_rx, p + h->to_host_ring_offset,
			  p + h->to_host_ring_offset + VMBUS_RING_HEADER_SIZE, h->to_host_ring_size);
	if (getrandom(&h->host_epoch, sizeof(h->host_epoch), 0) != sizeof(h->host_epoch))
		return -EIO;
	vmbus_store_release(&h->host_state, (uint32_t)VMBUS_HOST_READY);
	return 0;
}

void bus_destroy(struct bus *b)
{
	if (b->hdr)
		vmbus_store_release(&b->hdr->host_state, (uint32_t)VMBUS_HOST_STOPPING);
	bus_teardown(b);
	while (b->devices)
		bus_remove_device(b, b->devices);
	for (uint32_t id = 1; id < VMBUS_MAX_CHANNELS; id++)
		if (b->channels[id])
			bus_channel_free(b, b->channels[id]);
}
