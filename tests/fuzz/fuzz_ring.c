// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzz_ring.c - the ring consumer against a hostile producer, and the ring
 * producer against a hostile consumer.
 *
 * Input layout (little-endian):
 *
 *   0   u16  data-area size: 64 + 8 * (v % 1017), i.e. 64..8192, multiple of 8
 *   2   u32  shared write_index   (raw if flags & 1, else made valid)
 *   6   u32  shared read_index    (raw if flags & 2, else made valid)
 *  10   u32  shared pending_send_size
 *  14   u8   flags: 1 raw write_index, 2 raw read_index, 4 interrupt_mask,
 *                   8 ext_len 8 for the producer packet, 16 completion flag,
 *                   32 vmbus_ring_send() instead of write + publish
 *  15   u16  consumer's starting index (made valid)
 *  17   u8   ops[8]: consumer operations, used in turn; low 3 bits the
 *                   operation, high 5 bits the read buffer size
 *  25   u8   producer payload length (mod 33)
 *  26   ...  the data area, `size` bytes (zero-filled if the input is short)
 *  ...  u32  further write_index values, each stored (raw) when the consumer
 *            runs dry, as a producer racing ahead would
 *
 * The consumer loop runs peek/read/skip/commit/mask/unmask/avail until the
 * ring is empty or broken and no write_index update is left, or for at most
 * MAX_ITER operations. Results outside the documented set, a successful read
 * that claims more than the buffer, a packet that differs from the ring's
 * bytes, or a private index leaving [0, size) or 8-byte alignment abort().
 *
 * Then the producer writes a small packet with the (possibly bogus) read
 * index: it must return 0, -EAGAIN or -EPROTO, and a packet it accepted
 * must read back intact.
 */
#include <stdlib.h>

#include "vmbus/ring.h"
#include "tests/fuzz/fuzz.h"

#define HDR_LEN		26
#define MAX_ITER	1024
#define DESC		16u
#define TRAILER		VMBUS_PACKET_TRAILER_SIZE

#define ASSERT(c)	do { if (!(c)) abort(); } while (0)

static volatile uint64_t sink;

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | get16(p + 2) << 16;
}

static void check_index(const struct vmbus_ring *r)
{
	ASSERT(r->index < r->size && (r->index & 7) == 0);
	ASSERT(r->published < r->size && (r->published & 7) == 0);
}

/* Byte-by-byte copy out of the ring, wrapping: the reference for packets. */
static void ref_copy(const struct vmbus_ring *r, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *d = dst;
	uint32_t i;

	for (i = 0; i < len; i++)
		d[i] = r->data[(off + i) % r->size];
}

/* What any successfully peeked/read descriptor must satisfy. */
static void check_desc(const struct vmbus_ring *r, const struct vmbus_packet_desc *d,
		       int64_t avail)
{
	struct vmbus_packet_desc ref;
	uint32_t len = (uint32_t)d->len8 * 8;

	ASSERT(len >= DESC);
	ASSERT((uint32_t)d->offset8 * 8 >= DESC);
	ASSERT(d->offset8 <= d->len8);
	ASSERT(avail > 0 && (uint64_t)len + TRAILER <= (uint64_t)avail);
	ref_copy(r, r->index, &ref, sizeof(ref));
	ASSERT(memcmp(&ref, d, sizeof(ref)) == 0);
}

static int64_t checked_avail(int64_t a, uint32_t size)
{
	ASSERT(a == -EPROTO || (a >= 0 && a < size && (a & 7) == 0));
	return a;
}

/* One consumer operation; returns true when the ring has run dry or broke. */
static bool consumer_op(struct vmbus_ring *r, uint8_t op)
{
	struct vmbus_packet_desc desc;
	uint32_t old = r->index;
	int64_t avail = checked_avail(vmbus_ring_avail_read(r), r->size);
	int ret;

	switch (op & 7) {
	case 0:		/* peek */
		ret = vmbus_ring_peek(r, &desc);
		ASSERT(ret == 0 || ret == -EAGAIN || ret == -EPROTO);
		ASSERT(r->index == old);
		if (ret == -EAGAIN)
			ASSERT(avail == 0);
		if (ret == 0)
			check_desc(r, &desc, avail);
		return ret != 0;
	case 1:
	case 2: {	/* read */
		uint32_t sel = op >> 3, buf_len, ret_len = 0xdeadbeef, i;
		uint64_t sum = 0;
		uint8_t *buf, *ref;

		if (sel == 0)
			buf_len = 0;
		else if (sel < 16)
			buf_len = sel * 7;
		else if (sel < 31 && vmbus_ring_peek(r, &desc) == 0) {
			buf_len = (uint32_t)desc.len8 * 8 - DESC;	/* exact, or 1 short */
			if (buf_len && (sel & 1))
				buf_len--;
		}
		else
			buf_len = r->size;
		buf = malloc(buf_len ? buf_len : 1);
		ASSERT(buf);
		ret = vmbus_ring_read(r, &desc, buf, buf_len, &ret_len);
		ASSERT(ret == 0 || ret == -EAGAIN || ret == -ENOBUFS || ret == -EPROTO);
		if (ret == -EAGAIN)
			ASSERT(avail == 0);
		if (ret == -ENOBUFS) {
			ASSERT(ret_len > buf_len);
			ASSERT(r->index == old);
		} else if (ret == 0) {
			ASSERT(ret_len <= buf_len);
			ASSERT(ret_len == (uint32_t)desc.len8 * 8 - DESC);
			r->index = old;		/* check against the ring as it was */
			check_desc(r, &desc, avail);
			r->index = (old + (uint32_t)desc.len8 * 8 + TRAILER) % r->size;
			ref = malloc(ret_len ? ret_len : 1);
			ASSERT(ref);
			ref_copy(r, old + DESC, ref, ret_len);
			ASSERT(memcmp(ref, buf, ret_len) == 0);
			free(ref);
			for (i = 0; i < ret_len; i++)
				sum += buf[i];
			sink += sum;
		} else {
			ASSERT(r->index == old);
		}
		free(buf);
		return ret == -EAGAIN || ret == -EPROTO;
	}
	case 3: {	/* skip */
		struct vmbus_packet_desc peeked;
		int pret = vmbus_ring_peek(r, &peeked);

		ret = vmbus_ring_skip(r);
		ASSERT(ret == 0 || ret == -EAGAIN || ret == -EPROTO);
		ASSERT(ret == pret);
		if (ret == 0)
			ASSERT(r->index == (old + (uint32_t)peeked.len8 * 8 + TRAILER) % r->size);
		else
			ASSERT(r->index == old);
		return ret != 0;
	}
	case 4: {	/* commit */
		bool sig = vmbus_ring_read_commit(r);

		ASSERT(r->published == r->index);
		ASSERT(r->hdr->read_index == r->index);
		if (sig)
			ASSERT(r->hdr->pending_send_size != 0);
		return false;
	}
	case 5: {	/* unmask */
		int64_t a = checked_avail(vmbus_ring_unmask(r), r->size);

		ASSERT(r->hdr->interrupt_mask == 0);
		ASSERT(a == avail);
		return false;
	}
	case 6:
		vmbus_ring_mask(r);
		ASSERT(r->hdr->interrupt_mask != 0);
		return false;
	default:
		ASSERT(checked_avail(vmbus_ring_avail_read(r), r->size) == avail);
		return false;
	}
}

static void producer(struct vmbus_ring_header *hdr, uint8_t *data, uint32_t size,
		     uint32_t wv, uint32_t hostile_read, uint32_t pending, uint8_t flags,
		     uint32_t plen)
{
	struct vmbus_ring p, c;
	struct vmbus_packet_desc desc;
	uint8_t payload[32], out[64];
	uint32_t ext_len = (flags & 8) && plen >= 8 ? 8 : 0;
	uint16_t pflags = (flags & 16) ? VMBUS_PACKET_F_COMPLETION_REQUESTED : 0;
	struct vmbus_iov iov[2];
	uint32_t total, ret_len, i;
	int64_t avail;
	bool signal;
	int ret;

	for (i = 0; i < plen; i++)
		payload[i] = (uint8_t)(0xa0 + i);
	iov[0].base = payload;
	iov[0].len = ext_len;
	iov[1].base = payload + ext_len;
	iov[1].len = plen - ext_len;
	total = DESC + VMBUS_ALIGN8(plen);

	ASSERT(vmbus_ring_attach(&p, hdr, data, size) == 0);
	ASSERT(vmbus_ring_max_payload(&p) >= 32 && vmbus_ring_max_payload(&p) < size);
	p.index = p.published = wv;
	hdr->write_index = wv;
	hdr->read_index = hostile_read;
	hdr->pending_send_size = pending;
	hdr->interrupt_mask = (flags & 4) ? 1 : 0;

	avail = vmbus_ring_avail_write(&p);
	ASSERT(avail == -EPROTO || (avail > 0 && avail <= size && (avail & 7) == 0));
	if ((flags & 32) && !ext_len) {
		signal = true;
		ret = vmbus_ring_send(&p, VMBUS_PACKET_INBAND, pflags,
				      0x1122334455667788ULL ^ plen, payload, plen, &signal);
	} else {
		ret = vmbus_ring_write(&p, VMBUS_PACKET_INBAND, pflags,
				       0x1122334455667788ULL ^ plen, ext_len, iov, 2);
	}
	ASSERT(ret == 0 || ret == -EAGAIN || ret == -EPROTO);
	check_index(&p);
	if (ret != 0) {
		ASSERT(p.index == wv && p.published == wv);
		ASSERT(hdr->write_index == wv);
		ASSERT(ret == (avail < 0 ? -EPROTO : -EAGAIN));
		if (ret == -EAGAIN)
			ASSERT(hdr->pending_send_size == total + TRAILER);
		return;
	}
	ASSERT(avail > total + TRAILER);
	ASSERT(p.index == (wv + total + TRAILER) % size);
	if (!(flags & 32) || ext_len) {
		ASSERT(hdr->write_index == wv);		/* written, not yet published */
		signal = vmbus_ring_publish(&p);
	}
	ASSERT(hdr->write_index == p.index && p.published == p.index);
	/* Signal exactly when the consumer had caught up and is not polling. */
	ASSERT(signal == (!(flags & 4) && hostile_read == wv));
	ASSERT(!vmbus_ring_publish(&p));		/* nothing new */

	/* What was written reads back intact. */
	ASSERT(vmbus_ring_attach(&c, hdr, data, size) == 0);
	c.index = c.published = wv;
	ASSERT(vmbus_ring_avail_read(&c) == total + TRAILER);
	ret_len = 0;
	ret = vmbus_ring_read(&c, &desc, out, sizeof(out), &ret_len);
	ASSERT(ret == 0);
	ASSERT(desc.type == VMBUS_PACKET_INBAND && desc.flags == pflags);
	ASSERT(desc.trans_id == (0x1122334455667788ULL ^ plen));
	ASSERT(desc.offset8 == (DESC + ext_len) / 8 && desc.len8 == total / 8);
	ASSERT(ret_len == VMBUS_ALIGN8(plen));
	ASSERT(memcmp(out, payload, plen) == 0);
	for (i = plen; i < ret_len; i++)
		ASSERT(out[i] == 0);
	ASSERT(c.index == p.index);
	ASSERT(vmbus_ring_peek(&c, &desc) == -EAGAIN);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	struct vmbus_ring_header *hdr;
	struct vmbus_ring r;
	uint32_t ring_size, w, rd, pending, start, wv, rv, plen, iter;
	const uint8_t *ops, *updates;
	size_t nupdates, next_update = 0, body;
	uint8_t flags, *data;

	if (size < HDR_LEN)
		return 0;
	ring_size = 64 + 8 * (get16(in) % 1017);
	w = get32(in + 2);
	rd = get32(in + 6);
	pending = get32(in + 10);
	flags = in[14];
	start = (get16(in + 15) % (ring_size / 8)) * 8;
	ops = in + 17;
	plen = in[25] % 33;
	wv = (flags & 1) ? w : (w % (ring_size / 8)) * 8;
	rv = (flags & 2) ? rd : (rd % (ring_size / 8)) * 8;

	body = size - HDR_LEN;
	if (body > ring_size) {
		updates = in + HDR_LEN + ring_size;
		nupdates = (body - ring_size) / 4;
		body = ring_size;
	} else {
		updates = NULL;
		nupdates = 0;
	}

	/* Exact-size allocations: any stray access is a sanitizer report. */
	hdr = calloc(1, sizeof(*hdr));
	data = calloc(1, ring_size);
	ASSERT(hdr && data);
	memcpy(data, in + HDR_LEN, body);

	/* ------------------------------------------------------ consumer */
	ASSERT(vmbus_ring_attach(&r, hdr, data, ring_size) == 0);
	ASSERT(r.size == ring_size);
	r.index = r.published = start;
	hdr->write_index = wv;
	hdr->read_index = start;
	hdr->pending_send_size = pending;
	hdr->interrupt_mask = (flags & 4) ? 1 : 0;

	for (iter = 0; iter < MAX_ITER; iter++) {
		bool dry = consumer_op(&r, ops[iter % 8]);

		check_index(&r);
		if (dry) {
			if (next_update == nupdates)
				break;
			hdr->write_index = get32(updates + 4 * next_update++);
		}
	}

	/* ------------------------------------------------------ producer */
	/*
	 * The producer's own index is private, so always valid: the consumer's
	 * write_index if that was valid, else made valid. The peer's read
	 * index may be anything.
	 */
	if (wv >= ring_size || (wv & 7))
		wv = (w % (ring_size / 8)) * 8;
	producer(hdr, data, ring_size, wv, rv, pending, flags, plen);

	free(hdr);
	free(data);
	return 0;
}
