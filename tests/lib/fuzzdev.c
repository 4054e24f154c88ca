// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzzdev.c - see fuzzdev.h.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "host/log.h"
#include "host/devices/ic.h"
#include "tests/lib/fuzzdev.h"

#define FUZZDEV_RING_PAGES 4		/* data pages per direction */

static struct fuzzdev_env env;

struct fuzzdev_env *fuzzdev_env(void)
{
	unsigned int v;

	if (env.bar)
		return &env;
	log_set_level(LOG_EMERG);
	if (guestmem_create(&env.mem, FUZZDEV_RAM_SIZE) < 0)
		abort();
	env.bar = aligned_alloc(4096, VMBUS_DEFAULT_BAR_SIZE);
	if (!env.bar)
		abort();
	memset(&env.ivs, 0, sizeof(env.ivs));
	env.ivs.listen_fd = env.ivs.client_fd = -1;
	env.ivs.nvectors = FUZZDEV_VECTORS;
	for (v = 0; v < FUZZDEV_VECTORS; v++) {
		env.ivs.host_efd[v] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		env.ivs.guest_efd[v] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	}
	return &env;
}

void fuzzdev_env_drain(void)
{
	unsigned int v;

	for (v = 0; v < FUZZDEV_VECTORS; v++) {
		ivshmem_drain(env.ivs.guest_efd[v]);
		ivshmem_drain(env.ivs.host_efd[v]);
	}
}

static void fuzzdev_ctl_send(struct fuzzdev *f, const void *msg, uint32_t len)
{
	bool signal;

	if (vmbus_ring_send(&f->ctl_tx, VMBUS_PACKET_INBAND, 0, 0, msg, len, &signal) < 0)
		abort();
	bus_handle_control_doorbell(&f->bus);
}

/* Control messages from the host: all must be well-formed; returns the last of type want. */
static int fuzzdev_ctl_drain(struct fuzzdev *f, uint32_t want, union vmbus_ctl_msg *ret)
{
	union vmbus_ctl_msg m;
	struct vmbus_packet_desc d;
	uint32_t len;
	int found = 0;

	while (vmbus_ring_read(&f->ctl_rx, &d, &m, sizeof(m), &len) == 0) {
		if (vmbus_ctl_validate(&m, len, VMBUS_CTL_TO_GUEST) < 0)
			abort();	/* the host must only send well-formed messages */
		if (want && m.hdr.type == want) {
			*ret = m;
			found = 1;
		}
	}
	vmbus_ring_read_commit(&f->ctl_rx);
	return found;
}

void fuzzdev_start(struct fuzzdev *f, const struct device_ops *ops)
{
	struct vmbus_ctl_connect c = { .hdr.type = VMBUS_CTL_CONNECT,
				       .version_min = VMBUS_VERSION_1_0,
				       .version_max = VMBUS_VERSION_CURRENT };
	struct vmbus_ctl_hdr req = { .type = VMBUS_CTL_REQUEST_OFFERS };
	const uint32_t pages = 2 * (FUZZDEV_RING_PAGES + 1);
	uint8_t buf[sizeof(struct vmbus_ctl_gpadl_header) + 8 * 2 * (FUZZDEV_RING_PAGES + 1)];
	struct vmbus_ctl_gpadl_header *gh = (void *)buf;
	struct vmbus_ctl_open o = { .hdr.type = VMBUS_CTL_OPEN };
	struct vmbus_bar_header *h;
	union vmbus_ctl_msg m;
	uint8_t *ring;
	uint32_t i;

	fuzzdev_env();
	ring = env.mem.base + 4096;		/* the ring GPADL: pages 1.. */
	memset(f, 0, sizeof(*f));
	memset(env.mem.base, 0, FUZZDEV_RAM_SIZE);
	if (bus_init(&f->bus, &env.mem, &env.ivs, env.bar, VMBUS_DEFAULT_BAR_SIZE,
		     FUZZDEV_VECTORS) < 0 ||
	    bus_add_device(&f->bus, ops, &f->dev) < 0)
		abort();
	h = f->bus.hdr;
	h->connect_seq = 1;
	h->guest_state = VMBUS_GUEST_CONNECTING;
	bus_handle_control_doorbell(&f->bus);
	if (h->connect_ack != 1)
		abort();
	vmbus_ring_attach(&f->ctl_tx, env.bar + h->to_host_ring_offset,
			  env.bar + h->to_host_ring_offset + VMBUS_RING_HEADER_SIZE,
			  h->to_host_ring_size);
	vmbus_ring_attach(&f->ctl_rx, env.bar + h->to_guest_ring_offset,
			  env.bar + h->to_guest_ring_offset + VMBUS_RING_HEADER_SIZE,
			  h->to_guest_ring_size);
	fuzzdev_ctl_send(f, &c, sizeof(c));
	fuzzdev_ctl_send(f, &req, sizeof(req));
	fuzzdev_ctl_drain(f, 0, &m);

	f->ch = f->dev->primary;
	memset(buf, 0, sizeof(buf));
	gh->hdr.type = VMBUS_CTL_GPADL_HEADER;
	gh->channel_id = f->ch->id;
	gh->gpadl_id = 1;
	gh->total_pages = gh->count = pages;
	for (i = 0; i < pages; i++)
		gh->pfn[i] = 1 + i;
	fuzzdev_ctl_send(f, gh, vmbus_ctl_len(VMBUS_CTL_GPADL_HEADER, pages));
	if (!fuzzdev_ctl_drain(f, VMBUS_CTL_GPADL_RESULT, &m) || m.gpadl_result.status)
		abort();
	vmbus_ring_attach(&f->tx, ring, ring + VMBUS_RING_HEADER_SIZE,
			  FUZZDEV_RING_PAGES * VMBUS_PAGE_SIZE);
	ring += (size_t)(FUZZDEV_RING_PAGES + 1) * VMBUS_PAGE_SIZE;
	vmbus_ring_attach(&f->rx, ring, ring + VMBUS_RING_HEADER_SIZE,
			  FUZZDEV_RING_PAGES * VMBUS_PAGE_SIZE);
	o.channel_id = f->ch->id;
	o.open_id = 1;
	o.ring_gpadl_id = 1;
	o.to_guest_page = FUZZDEV_RING_PAGES + 1;
	o.target_cpu = 0;
	o.vector = 1;
	fuzzdev_ctl_send(f, &o, sizeof(o));
	if (!fuzzdev_ctl_drain(f, VMBUS_CTL_OPEN_RESULT, &m) || m.result.status)
		abort();
}

void fuzzdev_send(struct fuzzdev *f, const void *buf, uint32_t len)
{
	bool signal;

	if (!f->ch || f->ch != f->dev->primary || f->ch->state != CHANNEL_OPEN)
		return;		/* reset by an earlier input: nothing listens any more */
	if (vmbus_ring_send(&f->tx, VMBUS_PACKET_INBAND, 0, 0, buf, len, &signal) < 0)
		return;		/* ring full: the host stopped reading, as it may */
	f->bus.to_host_events[f->ch->id / 64] |= 1ULL << (f->ch->id % 64);
	bus_handle_channel_doorbell(&f->bus);
}

unsigned int fuzzdev_drain(struct fuzzdev *f, void (*fn)(void *ctx, const void *msg, uint32_t len),
			   void *ctx)
{
	static uint8_t msg[64 * 1024];
	struct vmbus_packet_desc d;
	union vmbus_ctl_msg m;
	unsigned int n = 0;
	uint32_t len;

	fuzzdev_ctl_drain(f, 0, &m);
	if (f->ch && f->ch == f->dev->primary && f->ch->state == CHANNEL_OPEN) {
		while (vmbus_ring_read(&f->rx, &d, msg, sizeof(msg), &len) == 0) {
			n++;
			if (fn)
				fn(ctx, msg, len);
		}
		vmbus_ring_read_commit(&f->rx);
	}
	fuzzdev_env_drain();
	return n;
}

void fuzzdev_tick(struct fuzzdev *f)
{
	bus_tick(&f->bus);
}

void fuzzdev_stop(struct fuzzdev *f)
{
	bus_destroy(&f->bus);
}

bool fuzzdev_ic_record(struct fuzzdev *f, const struct vmbus_ic_hdr *last, unsigned int op,
		       const uint8_t *data, size_t size, size_t *pos)
{
	static uint8_t msg[IC_MSG_MAX + 64];
	struct vmbus_ic_hdr h;
	uint16_t len;

	if (op == 2) {
		fuzzdev_tick(f);
		return true;
	}
	if (size - *pos < 2)
		return false;
	memcpy(&len, data + *pos, 2);
	*pos += 2;
	len %= sizeof(msg) - sizeof(h);
	if (len > size - *pos)
		len = (uint16_t)(size - *pos);
	if (op == 0) {
		fuzzdev_send(f, data + *pos, len);
	} else {
		h = *last;
		h.flags |= VMBUS_IC_F_RESPONSE;
		h.payload_len = len;
		memcpy(msg, &h, sizeof(h));
		memcpy(msg + sizeof(h), data + *pos, len);
		fuzzdev_send(f, msg, (uint32_t)sizeof(h) + len);
	}
	*pos += len;
	return true;
}
