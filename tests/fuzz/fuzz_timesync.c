// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzz_timesync.c - fuzz harness for the time sync service's host side
 * (host/devices/timesync.c): its answer parser and its state machine
 * (samples in flight, syncs, the delay estimate, channel resets), driven
 * through the device ops the way the bus drives them, with the guest's
 * messages taken from the input.
 *
 * Input: a sequence of records, each starting with an op byte:
 *   op 0: u16 len, len bytes  -> one raw packet from the guest, then event
 *   op 1: u8 len, i32 status, 32 bytes
 *                             -> an answer to the newest sample (header made
 *                                right, payload_len = len, answer from the
 *                                input), then event
 *   op 2: u32 version         -> the answer to the newest negotiation
 *   op 3:                     -> one-second tick
 *   op 4:                     -> the VM resumed after a pause
 *   op 5: u8 which            -> control request: sync, status, or nonsense
 *   op 6:                     -> status into a JSON object
 * After each record the harness reads what the host sent and aborts on a
 * malformed message; a channel the host reset is closed and opened again.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "host/bus.h"
#include "host/devices.h"
#include "host/log.h"
#include "tests/fuzz/fuzz.h"
#include "tests/lib/fuzzdev.h"
#include "vmbus/ic_timesync.h"

#define FUZZ_RING_SIZE	(16u * 1024)

/* Ring memory: header page + data, guest->host then host->guest. */
static uint8_t *ring_mem[2];

static void fuzz_setup(void)
{
	if (ring_mem[0])
		return;
	fuzzdev_env();
	ring_mem[0] = aligned_alloc(4096, VMBUS_RING_HEADER_SIZE + FUZZ_RING_SIZE);
	ring_mem[1] = aligned_alloc(4096, VMBUS_RING_HEADER_SIZE + FUZZ_RING_SIZE);
	if (!ring_mem[0] || !ring_mem[1])
		abort();
}

struct fuzz_guest {
	struct device *dev;
	struct channel *ch;
	struct vmbus_ring tx, rx;	/* the guest's ends */
	uint64_t negotiate_seq, sample_seq;
};

/* The guest opens the channel: fresh rings, then the backend's open. */
static void fuzz_open(struct fuzz_guest *g)
{
	struct channel *ch = g->ch;
	unsigned int i;

	for (i = 0; i < 2; i++)
		memset(ring_mem[i], 0, VMBUS_RING_HEADER_SIZE + FUZZ_RING_SIZE);
	if (vmbus_ring_attach(&ch->rx, ring_mem[0], ring_mem[0] + VMBUS_RING_HEADER_SIZE, FUZZ_RING_SIZE) ||
	    vmbus_ring_attach(&ch->tx, ring_mem[1], ring_mem[1] + VMBUS_RING_HEADER_SIZE, FUZZ_RING_SIZE) ||
	    vmbus_ring_attach(&g->tx, ring_mem[0], ring_mem[0] + VMBUS_RING_HEADER_SIZE, FUZZ_RING_SIZE) ||
	    vmbus_ring_attach(&g->rx, ring_mem[1], ring_mem[1] + VMBUS_RING_HEADER_SIZE, FUZZ_RING_SIZE))
		abort();
	ch->state = CHANNEL_OPEN;
	ch->vector = 1;
	ch->reset_reason = NULL;
	g->negotiate_seq = g->sample_seq = 0;
	if (g->dev->ops->open(g->dev, ch) < 0)
		abort();
}

/* Read what the host sent; it must be well formed. Reopen a reset channel. */
static void fuzz_drain(struct fuzz_guest *g)
{
	uint8_t msg[4096];
	struct vmbus_packet_desc d;
	struct vmbus_ic_hdr h;
	struct vmbus_ic_timesync_sample s;
	uint32_t len;

	while (vmbus_ring_read(&g->rx, &d, msg, sizeof(msg), &len) == 0) {
		if (vmbus_ic_check(msg, len, sizeof(msg) - sizeof(h)) < 0)
			abort();
		memcpy(&h, msg, sizeof(h));
		if (h.flags || h.status)
			abort();
		if (h.type == VMBUS_IC_NEGOTIATE) {
			if (h.payload_len != sizeof(struct vmbus_ic_negotiate))
				abort();
			g->negotiate_seq = h.seq;
		} else if (h.type == VMBUS_IC_TIMESYNC) {
			if (h.payload_len != sizeof(s) || h.version != VMBUS_IC_TIMESYNC_VERSION_1)
				abort();
			memcpy(&s, msg + sizeof(h), sizeof(s));
			if (s.reserved || s.flags & ~VMBUS_TIMESYNC_F_ALL ||
			    s.delay_ns > VMBUS_TIMESYNC_DELAY_MAX_NS || s.host_ns <= 0)
				abort();
			g->sample_seq = h.seq;
		} else {
			abort();
		}
	}
	vmbus_ring_read_commit(&g->rx);
	fuzzdev_env_drain();
	if (g->ch->reset_reason) {
		g->dev->ops->close(g->dev, g->ch);
		fuzz_open(g);
		fuzz_drain(g);
	}
}

static void fuzz_guest_send(struct fuzz_guest *g, const void *msg, uint32_t len)
{
	bool signal;

	if (vmbus_ring_send(&g->tx, VMBUS_PACKET_INBAND, 0, 0, msg, len, &signal) == 0)
		g->dev->ops->event(g->dev, g->ch);
}

static void fuzz_request(struct device *dev, uint8_t which)
{
	static const char *const requests[][2] = {
		{ "sync", NULL }, { "status", NULL }, { "bogus", NULL }, { "sync", "extra" },
	};
	const char *const *req = requests[which % 4];
	char *argv[2] = { (char *)req[0], (char *)req[1] };
	const char *error = NULL;
	struct json_writer w;

	json_writer_init(&w);
	json_object_begin(&w, NULL);
	dev->ops->command(dev, req[1] ? 2 : 1, argv, &w, &error);
	json_object_end(&w);
	json_writer_free(&w);
}

static void fuzz_status(struct device *dev)
{
	struct json_writer w;

	json_writer_init(&w);
	json_object_begin(&w, NULL);
	dev->ops->status(dev, &w);
	json_object_end(&w);
	json_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bus b;
	struct fuzz_guest g = { 0 };
	size_t pos = 0;

	fuzz_setup();
	if (bus_init(&b, &fuzzdev_env()->mem, &fuzzdev_env()->ivs, fuzzdev_env()->bar,
		     VMBUS_DEFAULT_BAR_SIZE, FUZZDEV_VECTORS) < 0 ||
	    bus_add_device(&b, &timesync_device_ops, &g.dev) < 0)
		abort();
	g.ch = g.dev->primary;
	fuzz_open(&g);
	fuzz_drain(&g);

	while (pos < size) {
		uint8_t op = data[pos++] % 7;

		switch (op) {
		case 0: {
			uint16_t len16;
			uint32_t len;

			if (size - pos < 2)
				goto out;
			memcpy(&len16, data + pos, 2);
			pos += 2;
			len = len16 % 512;
			if (len > size - pos)
				len = (uint32_t)(size - pos);
			fuzz_guest_send(&g, data + pos, len);
			pos += len;
			break;
		}
		case 1: {
			uint8_t msg[sizeof(struct vmbus_ic_hdr) + sizeof(struct vmbus_ic_timesync_answer)];
			struct vmbus_ic_hdr h = { .type = VMBUS_IC_TIMESYNC, .flags = VMBUS_IC_F_RESPONSE,
						  .version = VMBUS_IC_TIMESYNC_VERSION_1,
						  .seq = g.sample_seq };
			uint32_t plen;

			if (size - pos < 1 + 4 + sizeof(struct vmbus_ic_timesync_answer))
				goto out;
			plen = data[pos++] % (sizeof(struct vmbus_ic_timesync_answer) + 1);
			memcpy(&h.status, data + pos, 4);
			pos += 4;
			h.payload_len = plen;
			memcpy(msg, &h, sizeof(h));
			memcpy(msg + sizeof(h), data + pos, sizeof(struct vmbus_ic_timesync_answer));
			pos += sizeof(struct vmbus_ic_timesync_answer);
			fuzz_guest_send(&g, msg, (uint32_t)sizeof(h) + plen);
			break;
		}
		case 2: {
			struct vmbus_ic_hdr h = { .type = VMBUS_IC_NEGOTIATE, .flags = VMBUS_IC_F_RESPONSE,
						  .seq = g.negotiate_seq };

			if (size - pos < 4)
				goto out;
			memcpy(&h.version, data + pos, 4);
			pos += 4;
			fuzz_guest_send(&g, &h, sizeof(h));
			break;
		}
		case 3:
			g.dev->ops->tick(g.dev);
			break;
		case 4:
			g.dev->ops->vm_resumed(g.dev, 30.0);
			break;
		case 5:
			if (pos >= size)
				goto out;
			fuzz_request(g.dev, data[pos++]);
			break;
		case 6:
			fuzz_status(g.dev);
			break;
		}
		fuzz_drain(&g);
	}
out:
	g.ch->state = CHANNEL_OFFERED;	/* the rings are ours, not mapped guest RAM */
	bus_destroy(&b);
	return 0;
}
