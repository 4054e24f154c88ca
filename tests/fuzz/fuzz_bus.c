// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzz_bus.c - fuzz harness for the worker's control-protocol parser and
 * channel manager (host/bus.c), driven the way a guest drives it: bytes go
 * into the guest->host control ring or into guest RAM (where channel rings
 * live), then a doorbell.
 *
 * Input: a sequence of records, each starting with an op byte:
 *   op 0: u16 len, len bytes    -> one control message, then the doorbell
 *   op 1: u16 channel id        -> set its event bit, channel doorbell
 *   op 2: u16 page, u8 n, bytes -> write n bytes at the start of a guest page
 *   op 3:                       -> one-second tick (heartbeats, resets)
 * Each input starts from a fresh bus that has completed CONNECT and
 * REQUEST_OFFERS with the heartbeat and echo devices offered.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "host/bus.h"
#include "host/devices.h"
#include "host/log.h"
#include "tests/fuzz/fuzz.h"
#include "tests/lib/fuzzdev.h"

#define FUZZ_RAM_SIZE FUZZDEV_RAM_SIZE
#define FUZZ_VECTORS FUZZDEV_VECTORS

/* Play the guest's consumer: throw away what the host sent. */
static void fuzz_drain(struct bus *b, struct vmbus_ring *rx)
{
	union vmbus_ctl_msg m;
	struct vmbus_packet_desc d;
	uint32_t len;

	while (vmbus_ring_read(rx, &d, &m, sizeof(m), &len) == 0)
		if (vmbus_ctl_validate(&m, len, VMBUS_CTL_TO_GUEST) < 0)
			abort();	/* the host must only send well-formed messages */
	vmbus_ring_read_commit(rx);
	fuzzdev_env_drain();
	(void)b;
}

static void fuzz_send(struct bus *b, struct vmbus_ring *tx, const void *msg, uint32_t len)
{
	bool signal;

	if (vmbus_ring_send(tx, VMBUS_PACKET_INBAND, 0, 0, msg, len, &signal) == 0)
		bus_handle_control_doorbell(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmbus_ctl_connect c = { .hdr.type = VMBUS_CTL_CONNECT,
				       .version_min = VMBUS_VERSION_1_0,
				       .version_max = VMBUS_VERSION_CURRENT };
	struct vmbus_ctl_hdr req = { .type = VMBUS_CTL_REQUEST_OFFERS };
	static struct bus b;
	struct vmbus_ring tx, rx;
	struct vmbus_bar_header *h;
	struct fuzzdev_env *e = fuzzdev_env();
	uint8_t *bar = e->bar;
	size_t pos = 0;

	memset(e->mem.base, 0, FUZZ_RAM_SIZE);
	if (bus_init(&b, &e->mem, &e->ivs, bar, VMBUS_DEFAULT_BAR_SIZE, FUZZ_VECTORS) < 0 ||
	    bus_add_device(&b, &heartbeat_device_ops, NULL) < 0 ||
	    bus_add_device(&b, &echo_device_ops, NULL) < 0)
		abort();
	h = b.hdr;
	h->connect_seq = 1;
	h->guest_state = VMBUS_GUEST_CONNECTING;
	bus_handle_control_doorbell(&b);
	if (h->connect_ack != 1)
		abort();
	vmbus_ring_attach(&tx, bar + h->to_host_ring_offset,
			  bar + h->to_host_ring_offset + VMBUS_RING_HEADER_SIZE, h->to_host_ring_size);
	vmbus_ring_attach(&rx, bar + h->to_guest_ring_offset,
			  bar + h->to_guest_ring_offset + VMBUS_RING_HEADER_SIZE, h->to_guest_ring_size);
	fuzz_send(&b, &tx, &c, sizeof(c));
	fuzz_send(&b, &tx, &req, sizeof(req));
	fuzz_drain(&b, &rx);

	while (pos < size) {
		uint8_t op = data[pos++] % 4;
		uint16_t v16 = 0;

		if (op != 3) {
			if (size - pos < 2)
				break;
			memcpy(&v16, data + pos, 2);
			pos += 2;
		}
		switch (op) {
		case 0: {
			uint32_t len = v16 % (VMBUS_CTL_MAX_LEN + 64);

			if (len > size - pos)
				len = (uint32_t)(size - pos);
			fuzz_send(&b, &tx, data + pos, len);
			pos += len;
			break;
		}
		case 1: {
			uint32_t id = v16 % VMBUS_MAX_CHANNELS;

			b.to_host_events[id / 64] |= 1ULL << (id % 64);
			bus_handle_channel_doorbell(&b);
			break;
		}
		case 2: {
			uint32_t page = v16 % (FUZZ_RAM_SIZE / 4096), n;

			if (pos >= size)
				break;
			n = data[pos++];
			if (n > size - pos)
				n = (uint32_t)(size - pos);
			memcpy(e->mem.base + (size_t)page * 4096, data + pos, n);
			pos += n;
			break;
		}
		case 3:
			bus_tick(&b);
			break;
		}
		fuzz_drain(&b, &rx);
	}
	bus_destroy(&b);
	return 0;
}
