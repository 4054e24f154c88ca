// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzz_storage.c - fuzz harness for the storage request parser (host/
 * devices/storage.c, vmbus/pagelist.c): a disk backed by a 1 MiB memfd on a
 * real bus with its primary channel open (tests/lib/fuzzdev.h).
 *
 * Input: records, each starting with an op byte:
 *   op 0: u16 len, len bytes            -> one raw in-band packet
 *   op 1: u8 type, u16 ext, u16 len, len bytes
 *                                       -> a packet of any type whose first
 *                                          ext & ~7 bytes are the type-specific
 *                                          header (a page list, or not)
 *   op 2: 32-byte request, u8 n, n x (u16 offset, u16 len8, u16 pfn)
 *                                       -> a PAGES packet with a well-formed
 *                                          page list of n ranges (len8 * 8
 *                                          bytes each, pfns from pfn on)
 *   op 3:                               -> one-second tick
 * The host may refuse, log or reset the channel; it must not crash, and each
 * packet it sends must be a completion of at least 16 bytes with a known
 * status.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/devices/storage.h"
#include "tests/fuzz/fuzz.h"
#include "tests/lib/fuzzdev.h"
#include "vmbus/storage.h"

#define FUZZ_STOR_MAX 8192

static void fuzz_storage_host_message(void *ctx, const void *msg, uint32_t len)
{
	struct vmbus_stor_completion c;

	(void)ctx;
	if (len < sizeof(c))
		abort();
	memcpy(&c, msg, sizeof(c));
	if (c.status > VMBUS_STOR_S_NO_SPACE)
		abort();
}

static void fuzz_storage_send(struct fuzzdev *f, uint16_t type, const void *ext, uint32_t ext_len,
			      const void *buf, uint32_t len)
{
	struct vmbus_iov iov[2] = { { ext, ext_len }, { buf, len } };

	if (!f->ch || f->ch != f->dev->primary || f->ch->state != CHANNEL_OPEN)
		return;
	if (vmbus_ring_write(&f->tx, type, 0, 7, ext_len, iov, 2) < 0)
		return;
	vmbus_ring_publish(&f->tx);
	f->bus.to_host_events[f->ch->id / 64] |= 1ULL << (f->ch->id % 64);
	bus_handle_channel_doorbell(&f->bus);
}

static int fuzz_storage_disk(void)
{
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
			abort();
	}
	return dup(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzzdev f;
	static uint64_t ext[FUZZ_STOR_MAX / 8];
	size_t pos = 0;

	fuzzdev_start(&f, &storage_device_ops);
	if (storage_disk_attach_fd(f.dev, fuzz_storage_disk(), "fuzz", false, "FUZZ") < 0)
		abort();
	fuzzdev_drain(&f, fuzz_storage_host_message, NULL);
	while (pos < size) {
		uint8_t op = data[pos++] % 4;
		uint16_t len, elen;
		uint8_t type;

		switch (op) {
		case 0:
			if (size - pos < 2)
				goto out;
			memcpy(&len, data + pos, 2);
			pos += 2;
			len %= FUZZ_STOR_MAX;
			if (len > size - pos)
				len = (uint16_t)(size - pos);
			fuzzdev_send(&f, data + pos, len);
			pos += len;
			break;
		case 1:
			if (size - pos < 5)
				goto out;
			type = data[pos];
			memcpy(&elen, data + pos + 1, 2);
			memcpy(&len, data + pos + 3, 2);
			pos += 5;
			elen = (uint16_t)((elen % FUZZ_STOR_MAX) & ~7u);
			len %= FUZZ_STOR_MAX;
			if (elen > size - pos)
				elen = (uint16_t)((size - pos) & ~(size_t)7);
			memcpy(ext, data + pos, elen);
			pos += elen;
			if (len > size - pos)
				len = (uint16_t)(size - pos);
			fuzz_storage_send(&f, type, ext, elen, data + pos, len);
			pos += len;
			break;
		case 2: {
			struct vmbus_stor_request rq;
			uint32_t n, w = 1, nranges = 0;

			if (size - pos < sizeof(rq) + 1)
				goto out;
			memcpy(&rq, data + pos, sizeof(rq));
			n = data[pos + sizeof(rq)];
			pos += sizeof(rq) + 1;
			for (uint32_t i = 0; i < n && size - pos >= 6; i++) {
				uint16_t off, len8, pfn;
				uint32_t rlen, npages;

				memcpy(&off, data + pos, 2);
				memcpy(&len8, data + pos + 2, 2);
				memcpy(&pfn, data + pos + 4, 2);
				pos += 6;
				off %= 4096;
				rlen = len8 % 1024 * 8 + 8;
				npages = (off + rlen + 4095) / 4096;
				if ((w + 1 + npages) * 8 > sizeof(ext))
					break;
				ext[w++] = (uint64_t)rlen << 32 | off;
				for (uint32_t p = 0; p < npages; p++)
					ext[w++] = (uint64_t)pfn + p;
				nranges++;
			}
			ext[0] = nranges;
			fuzz_storage_send(&f, VMBUS_PACKET_PAGES, ext, w * 8, &rq, sizeof(rq));
			break;
		}
		case 3:
			fuzzdev_tick(&f);
			break;
		}
		fuzzdev_drain(&f, fuzz_storage_host_message, NULL);
	}
out:
	fuzzdev_stop(&f);
	return 0;
}
