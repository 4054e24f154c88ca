// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ring_test.c - unit tests of the channel ring (vmbus/ring.c).
 *
 * Two struct vmbus_ring, one producer and one consumer, are attached to the
 * same header and data area, which is how the two sides of a channel see a
 * ring. The data area is its own exact-size heap allocation and every read
 * buffer is allocated with exactly the length passed to the ring, so the
 * sanitizer build turns any access outside them into a failure.
 *
 * Environment:
 *   RING_TEST_SEED=N        seed of the randomized parts (default fixed)
 */
#include "vmbus/ring.h"
#include "tests/lib/test.h"

#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define DESC_SIZE	16u
#define TRAILER		VMBUS_PACKET_TRAILER_SIZE
#define SMALL_RING	4096u
#define PATTERN_SIZE	(2u * VMBUS_PACKET_MAX_LEN)

struct ring_fx {
	struct vmbus_ring_header *hdr;
	uint8_t *data;
	uint32_t size;
	struct vmbus_ring prod;
	struct vmbus_ring cons;
};

static uint64_t seed = 0x5eed0123456789abULL;
static uint8_t *pattern;	/* random bytes payloads are taken from */
static unsigned long roundtrips;	/* packets checked byte by byte */

/* Bytes a packet with a payload of len bytes occupies in the ring. */
static uint32_t footprint(uint32_t len)
{
	return DESC_SIZE + VMBUS_ALIGN8(len) + TRAILER;
}

static void fx_init(struct ring_fx *fx, uint32_t size)
{
	fx->hdr = aligned_alloc(VMBUS_RING_HEADER_SIZE, VMBUS_RING_HEADER_SIZE);
	fx->data = malloc(size);
	CHECK(fx->hdr != NULL);
	CHECK(fx->data != NULL);
	memset(fx->hdr, 0xcc, VMBUS_RING_HEADER_SIZE);
	memset(fx->data, 0xa5, size);
	fx->size = size;
	CHECK_EQ(vmbus_ring_attach(&fx->prod, fx->hdr, fx->data, size), 0);
	vmbus_ring_reset(&fx->prod);
	CHECK_EQ(vmbus_ring_attach(&fx->cons, fx->hdr, fx->data, size), 0);
	CHECK_EQ(fx->hdr->write_index, 0);
	CHECK_EQ(fx->hdr->read_index, 0);
	CHECK_EQ(fx->hdr->pending_send_size, 0);
	CHECK_EQ(fx->hdr->interrupt_mask, 0);
}

/* Back to an empty ring at index 0 (the allocating side resets it). */
static void fx_restart(struct ring_fx *fx)
{
	vmbus_ring_reset(&fx->prod);
	CHECK_EQ(vmbus_ring_attach(&fx->cons, fx->hdr, fx->data, fx->size), 0);
}

static void fx_free(struct ring_fx *fx)
{
	free(fx->hdr);
	free(fx->data);
}

/* Store len bytes into the data area at off, wrapping: the peer scribbling. */
static void fx_raw_put(struct ring_fx *fx, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *p = src;
	uint32_t i;

	for (i = 0; i < len; i++)
		fx->data[(off + i) % fx->size] = p[i];
}

/*
 * Append a packet whose bytes are split at random over a gather list of up
 * to 8 elements, zero-length ones included; the split ignores where the
 * ext_len header ends, which the ring must not care about.
 */
static int write_split(struct vmbus_ring *r, struct test_rng *rng, uint16_t type,
		       uint16_t flags, uint64_t tid, uint32_t ext_len,
		       const uint8_t *payload, uint32_t len)
{
	struct vmbus_iov iov[8];
	unsigned int n = 0;
	uint32_t done = 0;

	while (done < len && n < 7) {
		uint32_t left = len - done, take;

		switch (test_rng_below(rng, 4)) {
		case 0:
			take = 0;
			break;
		case 1:
			take = left;
			break;
		case 2:
			take = (uint32_t)test_rng_below(rng, 9);
			break;
		default:
			take = (uint32_t)test_rng_below(rng, (uint64_t)left + 1);
			break;
		}
		if (take > left)
			take = left;
		iov[n].base = payload + done;
		iov[n].len = take;
		n++;
		done += take;
	}
	if (done < len || test_rng_below(rng, 4) == 0) {
		iov[n].base = payload + done;
		iov[n].len = len - done;
		n++;
	}
	return vmbus_ring_write(r, type, flags, tid, ext_len, iov, n);
}

/*
 * Read one packet into a buffer of exactly ALIGN8(len) bytes and check it
 * byte by byte against what was sent.
 */
static void read_check(struct ring_fx *fx, uint16_t type, uint16_t flags, uint64_t tid,
		       uint32_t ext_len, const uint8_t *payload, uint32_t len)
{
	uint32_t body = VMBUS_ALIGN8(len), ret_len = 0xdeadbeef, i;
	uint32_t start = fx->cons.index;
	struct vmbus_packet_desc desc;
	uint8_t *buf = malloc(body ? body : 1);

	CHECK(buf != NULL);
	roundtrips++;
	CHECK_EQ(vmbus_ring_peek(&fx->cons, &desc), 0);
	CHECK_EQ(desc.len8, (DESC_SIZE + body) / 8);
	CHECK_EQ(fx->cons.index, start);

	memset(&desc, 0x5a, sizeof(desc));
	CHECK_EQ(vmbus_ring_read(&fx->cons, &desc, buf, body, &ret_len), 0);
	CHECK_EQ(ret_len, body);
	CHECK_EQ(desc.type, type);
	CHECK_EQ(desc.flags, flags);
	CHECK_EQ(desc.trans_id, tid);
	CHECK_EQ(desc.offset8, (DESC_SIZE + ext_len) / 8);
	CHECK_EQ(desc.len8, (DESC_SIZE + body) / 8);
	if (len)
		CHECK(memcmp(buf, payload, len) == 0);
	for (i = len; i < body; i++)
		CHECK_EQ(buf[i], 0);
	CHECK_EQ(fx->cons.index, (start + footprint(len)) % fx->size);
	free(buf);
}

/* Send one packet through the ring and check that it arrives intact. */
static void roundtrip(struct ring_fx *fx, struct test_rng *rng, uint32_t len, uint32_t ext_len)
{
	uint64_t tid = test_rng_next(rng);
	uint16_t type = (uint16_t)(1 + test_rng_below(rng, 3));
	uint16_t flags = (uint16_t)test_rng_next(rng);
	const uint8_t *payload = pattern + test_rng_below(rng, PATTERN_SIZE - len + 1);
	uint32_t start = fx->prod.index;

	CHECK_EQ(write_split(&fx->prod, rng, type, flags, tid, ext_len, payload, len), 0);
	CHECK_EQ(fx->prod.index, (start + footprint(len)) % fx->size);
	vmbus_ring_publish(&fx->prod);
	CHECK_EQ(vmbus_ring_avail_read(&fx->cons), footprint(len));
	read_check(fx, type, flags, tid, ext_len, payload, len);
	CHECK_EQ(vmbus_ring_avail_read(&fx->cons), 0);
	vmbus_ring_read_commit(&fx->cons);
	CHECK_EQ(fx->hdr->read_index, fx->cons.index);
	CHECK_EQ(fx->hdr->write_index, fx->prod.index);
}

/* Send and consume a packet that occupies exactly fp bytes. */
static void filler(struct ring_fx *fx, uint32_t fp)
{
	CHECK(fp >= DESC_SIZE + TRAILER && fp % 8 == 0);
	CHECK_EQ(vmbus_ring_write(&fx->prod, VMBUS_PACKET_INBAND, 0, 0, 0,
				  &(struct vmbus_iov){ pattern, fp - DESC_SIZE - TRAILER }, 1), 0);
	vmbus_ring_publish(&fx->prod);
	CHECK_EQ(vmbus_ring_skip(&fx->cons), 0);
	vmbus_ring_read_commit(&fx->cons);
}

/* Empty ring with both indices at off (a multiple of 8), reached by real traffic. */
static void position_at(struct ring_fx *fx, uint32_t off)
{
	uint32_t max_fp = fx->size - 8, d;

	if (max_fp > VMBUS_PACKET_MAX_LEN + TRAILER)
		max_fp = VMBUS_PACKET_MAX_LEN + TRAILER;
	fx_restart(fx);
	/* Offsets below one minimal packet are reached by going once around. */
	d = off && off < DESC_SIZE + TRAILER ? off + fx->size : off;
	while (d) {
		uint32_t c = d <= max_fp ? d : max_fp;

		if (d - c && d - c < DESC_SIZE + TRAILER)
			c = d - (DESC_SIZE + TRAILER);
		filler(fx, c);
		d -= c;
	}
	CHECK_EQ(fx->prod.index, off);
	CHECK_EQ(fx->cons.index, off);
	CHECK_EQ(fx->hdr->write_index, off);
	CHECK_EQ(fx->hdr->read_index, off);
	CHECK_EQ(vmbus_ring_avail_read(&fx->cons), 0);
	CHECK_EQ(vmbus_ring_avail_write(&fx->prod), fx->size);
}

/* ------------------------------------------------------------------ tests */

static void test_attach_validation(void)
{
	static const uint32_t bad[] = {
		0, 1, 7, 8, 56, VMBUS_RING_MIN_SIZE - 8, VMBUS_RING_MIN_SIZE - 1,
		VMBUS_RING_MIN_SIZE + 1, VMBUS_RING_MIN_SIZE + 4, 4097, 4100, 4095,
		VMBUS_RING_MAX_SIZE + 8, VMBUS_RING_MAX_SIZE + 1, VMBUS_RING_MAX_SIZE - 4,
		VMBUS_RING_MAX_SIZE * 2u, 0xfffffff8u, 0xffffffffu,
	};
	static const uint32_t good[] = {
		VMBUS_RING_MIN_SIZE, VMBUS_RING_MIN_SIZE + 8, 4096, 65536, VMBUS_RING_MAX_SIZE,
	};
	struct vmbus_ring_header *hdr = aligned_alloc(4096, 4096);
	uint8_t data[64];
	struct vmbus_ring r;
	size_t i;

	CHECK(hdr != NULL);
	/* attach only records the pointers, so a small buffer can stand for a big ring */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(vmbus_ring_attach(&r, hdr, data, bad[i]), -EINVAL);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&r, 0xff, sizeof(r));
		CHECK_EQ(vmbus_ring_attach(&r, hdr, data, good[i]), 0);
		CHECK_EQ(r.size, good[i]);
		CHECK_EQ(r.index, 0);
		CHECK_EQ(r.published, 0);
	}
	CHECK_EQ(vmbus_ring_attach(&r, NULL, data, 4096), -EINVAL);
	CHECK_EQ(vmbus_ring_attach(&r, hdr, NULL, 4096), -EINVAL);
	free(hdr);
}

static void test_max_payload(void)
{
	struct vmbus_ring r;
	uint8_t data[8];
	struct vmbus_ring_header *hdr = aligned_alloc(4096, 4096);

	CHECK(hdr != NULL);
	CHECK_EQ(vmbus_ring_attach(&r, hdr, data, VMBUS_RING_MIN_SIZE), 0);
	CHECK_EQ(vmbus_ring_max_payload(&r), VMBUS_RING_MIN_SIZE - 32);
	CHECK_EQ(vmbus_ring_attach(&r, hdr, data, 4096), 0);
	CHECK_EQ(vmbus_ring_max_payload(&r), 4096 - 32);
	CHECK_EQ(vmbus_ring_attach(&r, hdr, data, VMBUS_RING_MAX_SIZE), 0);
	CHECK_EQ(vmbus_ring_max_payload(&r), VMBUS_PACKET_MAX_LEN - DESC_SIZE);
	free(hdr);
}

static void test_empty_ring(void)
{
	struct ring_fx fx;
	struct vmbus_packet_desc desc;
	uint8_t buf[64];
	uint32_t ret_len = 12345;

	fx_init(&fx, SMALL_RING);
	CHECK_EQ(vmbus_ring_avail_read(&fx.cons), 0);
	CHECK_EQ(vmbus_ring_avail_write(&fx.prod), SMALL_RING);
	CHECK_EQ(vmbus_ring_peek(&fx.cons, &desc), -EAGAIN);
	CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, buf, sizeof(buf), &ret_len), -EAGAIN);
	CHECK_EQ(vmbus_ring_skip(&fx.cons), -EAGAIN);
	CHECK_EQ(vmbus_ring_unmask(&fx.cons), 0);
	CHECK(!vmbus_ring_read_commit(&fx.cons));
	CHECK(!vmbus_ring_publish(&fx.prod));
	CHECK_EQ(fx.cons.index, 0);
	CHECK_EQ(fx.hdr->read_index, 0);
	CHECK_EQ(fx.hdr->write_index, 0);

	/* Also empty once the indices have moved on. */
	position_at(&fx, 1000);
	CHECK_EQ(vmbus_ring_peek(&fx.cons, &desc), -EAGAIN);
	CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, buf, sizeof(buf), &ret_len), -EAGAIN);
	CHECK_EQ(vmbus_ring_avail_read(&fx.cons), 0);
	fx_free(&fx);
}

/* Every payload size, one after the other, on one ring: offsets vary as it goes. */
static void test_roundtrip_all_sizes(void)
{
	struct test_rng rng;
	struct ring_fx fx;
	uint32_t len, max;

	test_rng_seed(&rng, seed ^ 1);
	fx_init(&fx, SMALL_RING);
	max = vmbus_ring_max_payload(&fx.prod);
	CHECK_EQ(max, SMALL_RING - 32);
	for (len = 0; len <= max; len++)
		roundtrip(&fx, &rng, len, 0);
	for (len = max + 1; len > 0; len--)
		roundtrip(&fx, &rng, len - 1, (uint32_t)test_rng_below(&rng, (len - 1) / 8 + 1) * 8);
	fx_free(&fx);
}

/*
 * For every start offset (so every place the wrap can fall inside a packet:
 * in the descriptor, at each byte of the payload, in the padding, before the
 * trailer), every payload size from 0 to the maximum; half of them with a
 * random type-specific header length.
 */
static void test_roundtrip_every_split(void)
{
	struct test_rng rng;
	struct ring_fx fx;
	uint32_t off, len, max;

	test_rng_seed(&rng, seed ^ 2);
	fx_init(&fx, SMALL_RING);
	max = vmbus_ring_max_payload(&fx.prod);
	for (off = 0; off < SMALL_RING; off += 8) {
		for (len = 0; len <= max; len++) {
			position_at(&fx, off);
			roundtrip(&fx, &rng, len,
				  test_rng_below(&rng, 2) ? 0 :
				  (uint32_t)test_rng_below(&rng, len / 8 + 1) * 8);
		}
	}
	fx_free(&fx);
}

static void test_write_size_limits(void)
{
	struct ring_fx fx, big;
	struct test_rng rng;
	uint32_t max, i;
	uint8_t zero[8] = { 0 };

	test_rng_seed(&rng, seed ^ 3);
	fx_init(&fx, SMALL_RING);
	max = vmbus_ring_max_payload(&fx.prod);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0,
				  &(struct vmbus_iov){ pattern, max + 1 }, 1), -EMSGSIZE);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0,
				  &(struct vmbus_iov){ pattern, max + 8 }, 1), -EMSGSIZE);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0,
				  &(struct vmbus_iov){ pattern, SMALL_RING }, 1), -EMSGSIZE);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0,
				  &(struct vmbus_iov){ pattern, 10000000 }, 1), -EMSGSIZE);
	{
		/* Same limit when the size is spread over a gather list. */
		struct vmbus_iov iov[3] = {
			{ pattern, max / 2 }, { zero, 0 }, { pattern, max - max / 2 + 1 },
		};
		bool sig = true;

		CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0, iov, 3), -EMSGSIZE);
		CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 0, pattern, max + 1, &sig), -EMSGSIZE);
		CHECK(sig);	/* untouched on failure */
	}
	CHECK_EQ(fx.prod.index, 0);
	CHECK_EQ(fx.hdr->write_index, 0);
	CHECK_EQ(fx.hdr->pending_send_size, 0);
	/* A ring with data in it still says -EMSGSIZE, not -EAGAIN, for a too-big packet. */
	roundtrip(&fx, &rng, 100, 0);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0, &(struct vmbus_iov){ pattern, 100 }, 1), 0);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0,
				  &(struct vmbus_iov){ pattern, max + 1 }, 1), -EMSGSIZE);
	CHECK_EQ(fx.hdr->pending_send_size, 0);
	/* max itself fits an empty ring exactly (8 bytes stay free) */
	fx_restart(&fx);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0, &(struct vmbus_iov){ pattern, max }, 1), 0);
	CHECK_EQ(vmbus_ring_avail_write(&fx.prod), 8);
	fx_free(&fx);

	/* The smallest ring. */
	fx_init(&fx, VMBUS_RING_MIN_SIZE);
	CHECK_EQ(vmbus_ring_max_payload(&fx.prod), 32);
	for (i = 0; i < 500; i++)
		roundtrip(&fx, &rng, i % 33, i % 33 / 8 * 8);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0, &(struct vmbus_iov){ pattern, 33 }, 1),
		 -EMSGSIZE);
	fx_free(&fx);

	/* A ring larger than the biggest packet: the 16-bit len8 is the limit. */
	fx_init(&big, 1u << 20);
	max = vmbus_ring_max_payload(&big.prod);
	CHECK_EQ(max, VMBUS_PACKET_MAX_LEN - DESC_SIZE);
	roundtrip(&big, &rng, max, 0);
	roundtrip(&big, &rng, max - 7, 8);
	position_at(&big, (1u << 20) - 4096);
	roundtrip(&big, &rng, max, 64);
	CHECK_EQ(vmbus_ring_write(&big.prod, 1, 0, 0, 0,
				  &(struct vmbus_iov){ pattern, max + 1 }, 1), -EMSGSIZE);
	{
		struct vmbus_iov iov[2] = { { pattern, max }, { pattern, 1 } };

		CHECK_EQ(vmbus_ring_write(&big.prod, 1, 0, 0, 0, iov, 2), -EMSGSIZE);
	}
	fx_free(&big);
}

static void test_ext_len(void)
{
	struct ring_fx fx;
	struct test_rng rng;
	uint8_t ext[32], body[100], expect[132];
	uint32_t i, e;

	test_rng_seed(&rng, seed ^ 4);
	test_rng_fill(&rng, ext, sizeof(ext));
	test_rng_fill(&rng, body, sizeof(body));
	fx_init(&fx, SMALL_RING);

	/* Bad ext_len: not a multiple of 8, or larger than the whole gather list. */
	for (i = 1; i < 8; i++)
		CHECK_EQ(vmbus_ring_write(&fx.prod, 3, 0, 0, i,
					  &(struct vmbus_iov){ body, 100 }, 1), -EINVAL);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 3, 0, 0, 104,
				  &(struct vmbus_iov){ body, 100 }, 1), -EINVAL);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 3, 0, 0, 8, NULL, 0), -EINVAL);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 3, 0, 0, 8,
				  &(struct vmbus_iov){ body, 7 }, 1), -EINVAL);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 3, 0, 0, 0xfffffff8u,
				  &(struct vmbus_iov){ body, 100 }, 1), -EINVAL);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 3, 0, 0, 0xfffffffcu,
				  &(struct vmbus_iov){ body, 100 }, 1), -EINVAL);
	CHECK_EQ(fx.prod.index, 0);
	CHECK_EQ(vmbus_ring_avail_read(&fx.cons), 0);

	/* ext_len == total is allowed (a packet that is all header) */
	CHECK_EQ(vmbus_ring_write(&fx.prod, 3, 0, 7, 8, &(struct vmbus_iov){ ext, 8 }, 1), 0);
	vmbus_ring_publish(&fx.prod);
	read_check(&fx, 3, 0, 7, 8, ext, 8);

	/* No gather list at all: an empty packet. */
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 8, 0, NULL, 0), 0);
	vmbus_ring_publish(&fx.prod);
	read_check(&fx, 1, 0, 8, 0, pattern, 0);

	/* Header and payload in several iovs, with zero-length ones anywhere. */
	for (e = 0; e <= 32; e += 8) {
		for (i = 0; i < 200; i++) {
			struct vmbus_iov iov[7];
			uint32_t blen = (uint32_t)test_rng_below(&rng, sizeof(body) + 1);
			uint32_t cut = (uint32_t)test_rng_below(&rng, blen + 1);
			uint32_t ecut = (uint32_t)test_rng_below(&rng, e + 1);

			iov[0] = (struct vmbus_iov){ NULL, 0 };
			iov[1] = (struct vmbus_iov){ ext, ecut };
			iov[2] = (struct vmbus_iov){ body, 0 };
			iov[3] = (struct vmbus_iov){ ext + ecut, e - ecut };
			iov[4] = (struct vmbus_iov){ body, cut };
			iov[5] = (struct vmbus_iov){ ext, 0 };
			iov[6] = (struct vmbus_iov){ body + cut, blen - cut };
			memcpy(expect, ext, e);
			memcpy(expect + e, body, blen);
			CHECK_EQ(vmbus_ring_write(&fx.prod, 3, 1, i, e, iov, 7), 0);
			vmbus_ring_publish(&fx.prod);
			read_check(&fx, 3, 1, i, e, expect, e + blen);
			vmbus_ring_read_commit(&fx.cons);
		}
	}
	/* offset8 counts the descriptor: 2 + ext_len / 8. */
	{
		struct vmbus_packet_desc desc;

		CHECK_EQ(vmbus_ring_write(&fx.prod, 3, 0, 0, 24,
					  &(struct vmbus_iov){ body, 40 }, 1), 0);
		vmbus_ring_publish(&fx.prod);
		CHECK_EQ(vmbus_ring_peek(&fx.cons, &desc), 0);
		CHECK_EQ(desc.offset8, 5);
		CHECK_EQ(desc.len8, 7);
		CHECK_EQ(vmbus_ring_skip(&fx.cons), 0);
	}
	fx_free(&fx);
}

/* vmbus_ring_write_ready() answers as vmbus_ring_write() would, and asks for a signal. */
static void test_write_ready(void)
{
	struct ring_fx fx;
	uint32_t n = 0, fp = footprint(100);
	bool sig;

	fx_init(&fx, SMALL_RING);
	CHECK_EQ(vmbus_ring_write_ready(&fx.prod, 100), 1);
	CHECK_EQ(fx.hdr->pending_send_size, 0);
	/* too large ever to fit: ready, so the write reports -EMSGSIZE at once */
	CHECK_EQ(vmbus_ring_write_ready(&fx.prod, vmbus_ring_max_payload(&fx.prod) + 1), 1);
	while (vmbus_ring_write_ready(&fx.prod, 100) == 1) {
		CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, n, pattern, 100, &sig), 0);
		n++;
		CHECK(n < 1000);
	}
	CHECK_EQ(n, (SMALL_RING - 8) / fp);
	CHECK_EQ(fx.hdr->pending_send_size, fp);
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, n, pattern, 100, &sig), -EAGAIN);
	/* the consumer frees one packet: the crossing is signalled and the write fits */
	read_check(&fx, 1, 0, 0, 0, pattern, 100);
	CHECK(vmbus_ring_read_commit(&fx.cons));
	CHECK_EQ(vmbus_ring_write_ready(&fx.prod, 100), 1);
	/* hostile read index */
	fx.hdr->read_index = 13;
	CHECK_EQ(vmbus_ring_write_ready(&fx.prod, 100), -EPROTO);
	fx_free(&fx);
}

static void test_full_ring(void)
{
	struct ring_fx fx;
	struct test_rng rng;
	uint32_t n = 0, i, free_now, crossings = 0;
	uint32_t fp = footprint(100), big_fp = footprint(1000);
	bool sig;

	test_rng_seed(&rng, seed ^ 5);
	fx_init(&fx, SMALL_RING);
	position_at(&fx, 1000);	/* so the full ring also wraps */

	/* Fill: 31 packets of 128 bytes fit in 4096 (one 8-byte gap must stay). */
	while (vmbus_ring_write(&fx.prod, 1, 0, n, 0, &(struct vmbus_iov){ pattern + n, 100 }, 1) == 0) {
		CHECK_EQ(fx.hdr->pending_send_size, 0);
		n++;
		CHECK(n < 1000);
	}
	CHECK_EQ(n, (SMALL_RING - 8) / fp);
	free_now = SMALL_RING - n * fp;
	CHECK_EQ(vmbus_ring_avail_write(&fx.prod), free_now);
	/*
	 * With the batch unpublished, the consumer could never see room
	 * appear: the write asks for no signal, the caller must publish.
	 */
	CHECK_EQ(fx.hdr->pending_send_size, 0);
	/* a failed write changes nothing else */
	CHECK_EQ(fx.prod.index, (1000 + n * fp) % SMALL_RING);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0, &(struct vmbus_iov){ pattern, 100 }, 1),
		 -EAGAIN);
	CHECK_EQ(fx.prod.index, (1000 + n * fp) % SMALL_RING);
	/* the batch was never published: the first publish finds the ring empty */
	CHECK_EQ(vmbus_ring_avail_read(&fx.cons), 0);
	CHECK(vmbus_ring_publish(&fx.prod));
	CHECK_EQ(vmbus_ring_avail_read(&fx.cons), n * fp);

	/* Ask for room for a 1000-byte payload: pending_send_size = its footprint. */
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0, &(struct vmbus_iov){ pattern, 1000 }, 1),
		 -EAGAIN);
	CHECK_EQ(fx.hdr->pending_send_size, big_fp);

	/* Consume one packet per commit: exactly one commit reports the crossing. */
	for (i = 0; i < n; i++) {
		bool want, got;

		read_check(&fx, 1, 0, i, 0, pattern + i, 100);
		free_now += fp;
		want = free_now > big_fp && free_now - fp <= big_fp;
		got = vmbus_ring_read_commit(&fx.cons);
		CHECK_EQ(got, want);
		crossings += got;
		if (i == 12)
			break;
	}
	CHECK_EQ(crossings, 1);
	CHECK_EQ(fx.hdr->pending_send_size, big_fp);	/* the consumer does not clear it */
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 4242, pattern, 1000, &sig), 0);
	CHECK_EQ(fx.hdr->pending_send_size, 0);
	CHECK(!sig);

	/* pending_send_size 0: commits never ask for a signal */
	for (i++; i < n; i++) {
		read_check(&fx, 1, 0, i, 0, pattern + i, 100);
		CHECK(!vmbus_ring_read_commit(&fx.cons));
	}
	read_check(&fx, 1, 0, 4242, 0, pattern, 1000);
	CHECK(!vmbus_ring_read_commit(&fx.cons));
	CHECK_EQ(vmbus_ring_avail_read(&fx.cons), 0);

	/* Fill again; one commit that frees a lot at once also signals once. */
	n = 0;
	while (vmbus_ring_write(&fx.prod, 1, 0, n, 0, &(struct vmbus_iov){ pattern, 500 }, 1) == 0)
		n++;
	CHECK_EQ(fx.hdr->pending_send_size, 0);		/* unpublished: no request yet */
	vmbus_ring_publish(&fx.prod);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, n, 0, &(struct vmbus_iov){ pattern, 500 }, 1),
		 -EAGAIN);
	CHECK_EQ(fx.hdr->pending_send_size, footprint(500));
	vmbus_ring_publish(&fx.prod);
	for (i = 0; i < n; i++)
		read_check(&fx, 1, 0, i, 0, pattern, 500);
	CHECK(vmbus_ring_read_commit(&fx.cons));
	CHECK(!vmbus_ring_read_commit(&fx.cons));	/* nothing new */
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0, &(struct vmbus_iov){ pattern, 500 }, 1), 0);
	CHECK_EQ(fx.hdr->pending_send_size, 0);

	/*
	 * Commits that free space without reaching the request do not signal;
	 * the one that crosses does, even when it is not the one that frees most.
	 */
	fx_restart(&fx);
	n = 0;
	while (vmbus_ring_write(&fx.prod, 1, 0, n, 0, &(struct vmbus_iov){ pattern, 40 }, 1) == 0)
		n++;
	vmbus_ring_publish(&fx.prod);
	free_now = (uint32_t)vmbus_ring_avail_write(&fx.prod);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0, &(struct vmbus_iov){ pattern, 2000 }, 1),
		 -EAGAIN);
	CHECK_EQ(fx.hdr->pending_send_size, footprint(2000));
	crossings = 0;
	for (i = 0; i < n; i++) {
		bool want, got;
		uint32_t k, batch = 1 + (uint32_t)test_rng_below(&rng, 5), before = free_now;

		for (k = 0; k < batch && i < n; k++, i++) {
			read_check(&fx, 1, 0, i, 0, pattern, 40);
			free_now += footprint(40);
		}
		i--;
		want = free_now > footprint(2000) && before <= footprint(2000);
		got = vmbus_ring_read_commit(&fx.cons);
		CHECK_EQ(got, want);
		crossings += got;
	}
	CHECK_EQ(crossings, 1);
	fx_free(&fx);
}

static void test_read_small_buffer_and_skip(void)
{
	struct ring_fx fx;
	struct vmbus_packet_desc desc;
	uint32_t ret_len, i;
	uint8_t *small, *exact;

	fx_init(&fx, SMALL_RING);
	position_at(&fx, SMALL_RING - 40);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 1, 0, &(struct vmbus_iov){ pattern, 100 }, 1), 0);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 2, 0, 2, 0, &(struct vmbus_iov){ pattern + 1, 33 }, 1), 0);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 3, 0, &(struct vmbus_iov){ pattern + 2, 0 }, 1), 0);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 4, 0, &(struct vmbus_iov){ pattern + 3, 8 }, 1), 0);
	vmbus_ring_publish(&fx.prod);

	for (i = 0; i < 104; i++) {
		small = malloc(i ? i : 1);
		ret_len = 0;
		memset(&desc, 0, sizeof(desc));
		CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, small, i, &ret_len), -ENOBUFS);
		CHECK_EQ(ret_len, 104);
		CHECK_EQ(fx.cons.index, SMALL_RING - 40);
		free(small);
	}
	CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, NULL, 0, &ret_len), -ENOBUFS);
	CHECK_EQ(ret_len, 104);
	/* the same packet, whole, with a large enough buffer */
	exact = malloc(4096);
	CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, exact, 4096, &ret_len), 0);
	CHECK_EQ(ret_len, 104);
	CHECK_EQ(desc.trans_id, 1);
	CHECK(memcmp(exact, pattern, 100) == 0);
	free(exact);

	/* skip consumes a packet that read would not take */
	CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, NULL, 0, &ret_len), -ENOBUFS);
	CHECK_EQ(ret_len, 40);
	CHECK_EQ(vmbus_ring_skip(&fx.cons), 0);
	/* a 0-byte packet needs no buffer */
	CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, NULL, 0, &ret_len), 0);
	CHECK_EQ(ret_len, 0);
	CHECK_EQ(desc.trans_id, 3);
	read_check(&fx, 1, 0, 4, 0, pattern + 3, 8);
	CHECK_EQ(vmbus_ring_skip(&fx.cons), -EAGAIN);
	CHECK_EQ(vmbus_ring_avail_read(&fx.cons), 0);
	vmbus_ring_read_commit(&fx.cons);
	CHECK_EQ(vmbus_ring_avail_write(&fx.prod), SMALL_RING);
	fx_free(&fx);
}

static void test_batching(void)
{
	struct ring_fx fx;
	struct vmbus_packet_desc desc;
	struct test_rng rng;
	uint32_t i, total = 0;
	uint32_t lens[10];

	test_rng_seed(&rng, seed ^ 6);
	fx_init(&fx, SMALL_RING);
	position_at(&fx, 3000);
	for (i = 0; i < 10; i++) {
		lens[i] = (uint32_t)test_rng_below(&rng, 300);
		CHECK_EQ(write_split(&fx.prod, &rng, 1, 0, i, 0, pattern + i, lens[i]), 0);
		total += footprint(lens[i]);
		CHECK_EQ(vmbus_ring_avail_read(&fx.cons), 0);
		CHECK_EQ(vmbus_ring_peek(&fx.cons, &desc), -EAGAIN);
		CHECK_EQ(vmbus_ring_unmask(&fx.cons), 0);
		CHECK_EQ(fx.hdr->write_index, 3000);
		/* the producer counts unpublished packets against its free space */
		CHECK_EQ(vmbus_ring_avail_write(&fx.prod), SMALL_RING - total);
	}
	CHECK(vmbus_ring_publish(&fx.prod));
	CHECK_EQ(fx.hdr->write_index, (3000 + total) % SMALL_RING);
	CHECK_EQ(vmbus_ring_avail_read(&fx.cons), total);
	CHECK_EQ(vmbus_ring_unmask(&fx.cons), total);
	for (i = 0; i < 10; i++)
		read_check(&fx, 1, 0, i, 0, pattern + i, lens[i]);
	CHECK_EQ(vmbus_ring_peek(&fx.cons, &desc), -EAGAIN);
	/* the producer sees no space back until the consumer commits */
	CHECK_EQ(vmbus_ring_avail_write(&fx.prod), SMALL_RING - total);
	CHECK_EQ(fx.hdr->read_index, 3000);
	vmbus_ring_read_commit(&fx.cons);
	CHECK_EQ(vmbus_ring_avail_write(&fx.prod), SMALL_RING);
	fx_free(&fx);
}

static void test_signalling(void)
{
	struct ring_fx fx;
	uint8_t buf[64];
	struct vmbus_packet_desc desc;
	uint32_t ret_len;
	bool sig = false;

	fx_init(&fx, SMALL_RING);

	/* empty -> non-empty, unmasked: signal */
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 1, pattern, 10, &sig), 0);
	CHECK(sig);
	/* the consumer has not caught up: no signal */
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 2, pattern, 10, &sig), 0);
	CHECK(!sig);
	/* nothing new to publish: no signal, even with the consumer caught up */
	CHECK(!vmbus_ring_publish(&fx.prod));
	CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, buf, sizeof(buf), &ret_len), 0);
	CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, buf, sizeof(buf), &ret_len), 0);
	CHECK(!vmbus_ring_publish(&fx.prod));
	/* consumed but not committed: the producer cannot know, no signal */
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 3, pattern, 10, &sig), 0);
	CHECK(!sig);
	CHECK_EQ(vmbus_ring_unmask(&fx.cons), footprint(10));
	CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, buf, sizeof(buf), &ret_len), 0);
	vmbus_ring_read_commit(&fx.cons);
	CHECK_EQ(vmbus_ring_unmask(&fx.cons), 0);
	/* caught up and committed: signal */
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 4, pattern, 10, &sig), 0);
	CHECK(sig);

	/* consumer behind by part of the batch: no signal */
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 5, pattern, 10, &sig), 0);
	CHECK(!sig);
	CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, buf, sizeof(buf), &ret_len), 0);
	vmbus_ring_read_commit(&fx.cons);
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 6, pattern, 10, &sig), 0);
	CHECK(!sig);
	CHECK_EQ(vmbus_ring_unmask(&fx.cons), 2 * footprint(10));
	while (vmbus_ring_read(&fx.cons, &desc, buf, sizeof(buf), &ret_len) == 0)
		;
	vmbus_ring_read_commit(&fx.cons);

	/* masked: no signal even though the ring was empty */
	vmbus_ring_mask(&fx.cons);
	CHECK(fx.hdr->interrupt_mask != 0);
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 7, pattern, 10, &sig), 0);
	CHECK(!sig);
	/* unmask clears the mask and reports what arrived while masked */
	CHECK_EQ(vmbus_ring_unmask(&fx.cons), footprint(10));
	CHECK_EQ(fx.hdr->interrupt_mask, 0);
	/* still behind: no signal; once caught up, signal again */
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 8, pattern, 10, &sig), 0);
	CHECK(!sig);
	while (vmbus_ring_read(&fx.cons, &desc, buf, sizeof(buf), &ret_len) == 0)
		;
	CHECK_EQ(desc.trans_id, 8);
	vmbus_ring_read_commit(&fx.cons);
	CHECK_EQ(vmbus_ring_unmask(&fx.cons), 0);
	/* several writes, one publish: one signal for the batch */
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 9, 0, &(struct vmbus_iov){ pattern, 1 }, 1), 0);
	CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 10, 0, &(struct vmbus_iov){ pattern, 1 }, 1), 0);
	CHECK(vmbus_ring_publish(&fx.prod));
	CHECK(!vmbus_ring_publish(&fx.prod));
	/* mask / unmask when there is data */
	vmbus_ring_mask(&fx.cons);
	CHECK(fx.hdr->interrupt_mask != 0);
	vmbus_ring_mask(&fx.cons);
	CHECK(fx.hdr->interrupt_mask != 0);
	CHECK_EQ(vmbus_ring_unmask(&fx.cons), 2 * footprint(1));
	CHECK_EQ(fx.hdr->interrupt_mask, 0);

	/* The empty test also holds across the wrap. */
	position_at(&fx, SMALL_RING - 8);
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 11, pattern, 100, &sig), 0);
	CHECK(sig);
	read_check(&fx, 1, 0, 11, 0, pattern, 100);
	vmbus_ring_read_commit(&fx.cons);
	CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 12, pattern, 100, &sig), 0);
	CHECK(sig);
	fx_free(&fx);
}

/*
 * Every consumer operation on a ring with a bad index (bad_index) or a bad
 * descriptor says -EPROTO, consumes nothing and copies nothing out.
 */
static void consumer_ops_reject(struct ring_fx *fx, bool bad_index)
{
	struct vmbus_packet_desc desc, before;
	uint32_t ret_len, index = fx->cons.index;
	uint8_t *buf = malloc(SMALL_RING);

	CHECK(buf != NULL);
	memset(buf, 0x77, SMALL_RING);
	memset(&desc, 0x66, sizeof(desc));
	before = desc;
	if (bad_index) {
		CHECK_EQ(vmbus_ring_avail_read(&fx->cons), -EPROTO);
		CHECK_EQ(vmbus_ring_unmask(&fx->cons), -EPROTO);
	} else {
		int64_t avail = vmbus_ring_avail_read(&fx->cons);

		CHECK(avail > 0 && avail < fx->size);
		CHECK_EQ(vmbus_ring_unmask(&fx->cons), avail);
	}
	/* read fills *ret_desc only on success (peek may fill it anyway) */
	CHECK_EQ(vmbus_ring_read(&fx->cons, &desc, buf, SMALL_RING, &ret_len), -EPROTO);
	CHECK(memcmp(&desc, &before, sizeof(desc)) == 0);
	CHECK_EQ(vmbus_ring_peek(&fx->cons, &desc), -EPROTO);
	CHECK_EQ(buf[0], 0x77);
	CHECK_EQ(buf[SMALL_RING - 1], 0x77);
	CHECK_EQ(vmbus_ring_read(&fx->cons, &desc, NULL, 0, &ret_len), -EPROTO);
	CHECK_EQ(vmbus_ring_skip(&fx->cons), -EPROTO);
	CHECK_EQ(fx->cons.index, index);
	CHECK(!vmbus_ring_read_commit(&fx->cons));
	free(buf);
}

static void test_hostile_indices(void)
{
	static const uint32_t bad[] = {
		1, 4, 7, 12, SMALL_RING, SMALL_RING + 8, SMALL_RING + 4, SMALL_RING - 4,
		SMALL_RING - 1, 2 * SMALL_RING, 0x80000000u, 0xfffffff8u, 0xffffffffu,
		0x7ffffff8u, 0x00010000u,
	};
	struct ring_fx fx;
	size_t i;
	bool sig = false;

	fx_init(&fx, SMALL_RING);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t index;

		/* a consumer facing a bad write_index, with and without data */
		position_at(&fx, (uint32_t)(i * 8 * 37) % SMALL_RING);
		fx.hdr->write_index = bad[i];
		consumer_ops_reject(&fx, true);
		CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 1, pattern, 50, &sig), 0);
		fx.hdr->write_index = bad[i];
		consumer_ops_reject(&fx, true);
		/* commit with a request pending and a bad write_index: no signal */
		fx.hdr->write_index = fx.prod.published;
		CHECK_EQ(vmbus_ring_skip(&fx.cons), 0);
		fx.hdr->pending_send_size = 8;
		fx.hdr->write_index = bad[i];
		CHECK(!vmbus_ring_read_commit(&fx.cons));
		CHECK_EQ(fx.hdr->read_index, fx.cons.index);

		/* a producer facing a bad read_index */
		position_at(&fx, (uint32_t)(i * 8 * 53) % SMALL_RING);
		index = fx.prod.index;
		fx.hdr->read_index = bad[i];
		CHECK_EQ(vmbus_ring_avail_write(&fx.prod), -EPROTO);
		CHECK_EQ(vmbus_ring_write(&fx.prod, 1, 0, 0, 0,
					  &(struct vmbus_iov){ pattern, 16 }, 1), -EPROTO);
		CHECK_EQ(vmbus_ring_send(&fx.prod, 1, 0, 0, pattern, 0, &sig), -EPROTO);
		CHECK_EQ(fx.prod.index, index);
		/* publish compares read_index without trusting it for anything */
		CHECK(!vmbus_ring_publish(&fx.prod));
	}
	fx_free(&fx);
}

/* Put a descriptor at the consumer's index and publish `avail` bytes of it. */
static void plant_desc(struct ring_fx *fx, uint16_t offset8, uint16_t len8, uint32_t avail)
{
	struct vmbus_packet_desc d = {
		.type = 1, .offset8 = offset8, .len8 = len8, .flags = 0, .trans_id = 99,
	};

	fx_raw_put(fx, fx->cons.index, &d, sizeof(d));
	fx->hdr->write_index = (fx->cons.index + avail) % fx->size;
}

static void test_hostile_descriptors(void)
{
	struct ring_fx fx;
	uint32_t starts[] = { 0, 1024, SMALL_RING - 8, SMALL_RING - 16, SMALL_RING - 24 };
	size_t s;

	fx_init(&fx, SMALL_RING);
	for (s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		struct vmbus_packet_desc desc;
		uint32_t ret_len, avail;
		uint8_t buf[64];

		position_at(&fx, starts[s]);
		memset(fx.data, 0xee, SMALL_RING);

		/* fewer published bytes than a descriptor and a trailer */
		plant_desc(&fx, 2, 2, 8);
		consumer_ops_reject(&fx, false);
		plant_desc(&fx, 2, 2, 16);
		consumer_ops_reject(&fx, false);
		/* len8 == 0 and len8 == 1: shorter than the descriptor */
		plant_desc(&fx, 2, 0, 24);
		consumer_ops_reject(&fx, false);
		plant_desc(&fx, 0, 0, 512);
		consumer_ops_reject(&fx, false);
		plant_desc(&fx, 1, 1, 512);
		consumer_ops_reject(&fx, false);
		/* offset8 < 2: payload inside the descriptor */
		plant_desc(&fx, 0, 4, 512);
		consumer_ops_reject(&fx, false);
		plant_desc(&fx, 1, 4, 512);
		consumer_ops_reject(&fx, false);
		/* offset8 > len8 */
		plant_desc(&fx, 5, 4, 512);
		consumer_ops_reject(&fx, false);
		plant_desc(&fx, 0xffff, 4, 512);
		consumer_ops_reject(&fx, false);
		/* len8 * 8 + trailer beyond what was published */
		plant_desc(&fx, 2, 3, 24);
		consumer_ops_reject(&fx, false);
		plant_desc(&fx, 2, 63, 504);
		consumer_ops_reject(&fx, false);
		plant_desc(&fx, 2, 64, 512);
		consumer_ops_reject(&fx, false);
		plant_desc(&fx, 2, 0xffff, 512);
		consumer_ops_reject(&fx, false);
		plant_desc(&fx, 2, 0xffff, SMALL_RING - 8);
		consumer_ops_reject(&fx, false);
		plant_desc(&fx, 0xffff, 0xffff, SMALL_RING - 8);
		consumer_ops_reject(&fx, false);
		/* lengths larger than the ring itself */
		plant_desc(&fx, 2, SMALL_RING / 8, SMALL_RING - 8);
		consumer_ops_reject(&fx, false);

		/* positive controls: the same checks accept exact fits */
		plant_desc(&fx, 2, 2, 24);
		CHECK_EQ(vmbus_ring_peek(&fx.cons, &desc), 0);
		CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, NULL, 0, &ret_len), 0);
		CHECK_EQ(ret_len, 0);
		CHECK_EQ(desc.trans_id, 99);
		vmbus_ring_read_commit(&fx.cons);
		plant_desc(&fx, 8, 8, 72);	/* offset8 == len8: all header */
		CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, buf, sizeof(buf), &ret_len), 0);
		CHECK_EQ(ret_len, 48);
		vmbus_ring_read_commit(&fx.cons);
		avail = SMALL_RING - 8;
		plant_desc(&fx, 2, (uint16_t)((avail - 8) / 8), avail);
		CHECK_EQ(vmbus_ring_skip(&fx.cons), 0);
		CHECK_EQ(vmbus_ring_avail_read(&fx.cons), 0);
		vmbus_ring_read_commit(&fx.cons);
		/* a packet that fits, followed by garbage: first read ok, then -EPROTO */
		plant_desc(&fx, 2, 4, 64);
		CHECK_EQ(vmbus_ring_read(&fx.cons, &desc, buf, sizeof(buf), &ret_len), 0);
		CHECK_EQ(ret_len, 16);
		plant_desc(&fx, 2, 4, 24);
		consumer_ops_reject(&fx, false);
		/* leave the ring consistent for the next start */
		fx.hdr->write_index = fx.cons.index;
	}
	fx_free(&fx);
}

/*
 * Random bytes in the whole data area, random (often valid-looking) indices
 * and descriptors; whatever the peer does, the ring returns one of the
 * documented errors and never consumes beyond what was published.
 */
static void test_hostile_random(void)
{
	struct ring_fx fx;
	struct test_rng rng;
	uint8_t *bufmem = malloc(SMALL_RING);
	unsigned long iters = 200000, it;
	unsigned long ok = 0, eagain = 0, eproto = 0, enobufs = 0;
	const char *env = getenv("RING_TEST_HOSTILE_ITERS");

	if (env)
		iters = strtoul(env, NULL, 0);
	CHECK(bufmem != NULL);
	test_rng_seed(&rng, seed ^ 7);
	fx_init(&fx, SMALL_RING);
	for (it = 0; it < iters; it++) {
		uint32_t choice = (uint32_t)test_rng_below(&rng, 16);
		uint32_t buf_len = (uint32_t)test_rng_below(&rng, SMALL_RING + 1);
		uint8_t *buf = bufmem + (SMALL_RING - buf_len);	/* ends at the allocation's end */
		uint32_t start, ret_len = 0xffffffffu;
		struct vmbus_packet_desc desc;
		int64_t avail;
		int ret, k;

		/* the data area: fully random, or random with planted descriptors */
		if (it % 8 == 0)
			test_rng_fill(&rng, fx.data, SMALL_RING);
		if (test_rng_below(&rng, 2) == 0)
			fx.cons.index = (uint32_t)test_rng_below(&rng, SMALL_RING / 8) * 8;
		if (choice < 8) {
			struct vmbus_packet_desc d;
			uint32_t len8 = (uint32_t)test_rng_below(&rng, SMALL_RING / 8 + 4);

			test_rng_fill(&rng, &d, sizeof(d));
			d.len8 = (uint16_t)(test_rng_below(&rng, 4) ? len8 : d.len8);
			d.offset8 = (uint16_t)(test_rng_below(&rng, 4) ?
					       test_rng_below(&rng, len8 + 3) : d.offset8);
			fx_raw_put(&fx, fx.cons.index, &d, sizeof(d));
			if (test_rng_below(&rng, 2))
				fx.hdr->write_index = (fx.cons.index + d.len8 * 8u + 8 +
						       (uint32_t)test_rng_below(&rng, 3) * 8 - 8) % SMALL_RING;
			else
				fx.hdr->write_index = (uint32_t)test_rng_below(&rng, SMALL_RING / 8) * 8;
		} else if (choice < 12) {
			fx.hdr->write_index = (uint32_t)test_rng_below(&rng, SMALL_RING + 64);
		} else {
			fx.hdr->write_index = (uint32_t)test_rng_next(&rng);
		}
		if (test_rng_below(&rng, 4) == 0)
			fx.hdr->write_index = fx.cons.index;

		/* consumer side */
		start = fx.cons.index;
		avail = vmbus_ring_avail_read(&fx.cons);
		CHECK(avail == -EPROTO || (avail >= 0 && avail < SMALL_RING));
		CHECK_EQ(vmbus_ring_unmask(&fx.cons), avail);
		ret = vmbus_ring_peek(&fx.cons, &desc);
		CHECK(ret == 0 || ret == -EAGAIN || ret == -EPROTO);
		CHECK_EQ(fx.cons.index, start);
		if (ret == 0) {
			CHECK(desc.len8 >= 2 && desc.offset8 >= 2 && desc.offset8 <= desc.len8);
			CHECK(desc.len8 * 8u + 8 <= (uint64_t)avail);
		}
		for (k = 0; k < 3; k++) {
			uint32_t before = fx.cons.index, used;
			int64_t avail_now = vmbus_ring_avail_read(&fx.cons);

			if (test_rng_below(&rng, 4) == 0) {
				ret = vmbus_ring_skip(&fx.cons);
				CHECK(ret == 0 || ret == -EAGAIN || ret == -EPROTO);
			} else {
				ret = vmbus_ring_read(&fx.cons, &desc, buf, buf_len, &ret_len);
				CHECK(ret == 0 || ret == -EAGAIN || ret == -EPROTO || ret == -ENOBUFS);
				if (ret == 0) {
					CHECK(ret_len <= buf_len);
					CHECK_EQ(ret_len, desc.len8 * 8u - 16);
				}
				if (ret == -ENOBUFS)
					CHECK(ret_len > buf_len);
			}
			CHECK(fx.cons.index < SMALL_RING && fx.cons.index % 8 == 0);
			used = (fx.cons.index - before + SMALL_RING) % SMALL_RING;
			if (ret == 0) {
				CHECK(avail_now > 0);
				CHECK(used > 0 && used <= (uint64_t)avail_now);
				CHECK(used >= 24);
				ok++;
			} else {
				CHECK_EQ(used, 0);
				eagain += ret == -EAGAIN;
				eproto += ret == -EPROTO;
				enobufs += ret == -ENOBUFS;
				break;
			}
		}
		if (test_rng_below(&rng, 2)) {
			/* with nothing new to commit, commit leaves the header alone */
			bool moved = fx.cons.index != fx.cons.published;

			vmbus_ring_read_commit(&fx.cons);
			CHECK_EQ(fx.cons.published, fx.cons.index);
			if (moved)
				CHECK_EQ(fx.hdr->read_index, fx.cons.index);
		}

		/* producer side, facing a random read_index */
		switch (test_rng_below(&rng, 3)) {
		case 0:
			fx.hdr->read_index = (uint32_t)test_rng_next(&rng);
			break;
		case 1:
			fx.hdr->read_index = (uint32_t)test_rng_below(&rng, SMALL_RING / 8) * 8;
			break;
		default:
			fx.hdr->read_index = (uint32_t)test_rng_below(&rng, SMALL_RING + 16);
			break;
		}
		{
			uint32_t len = (uint32_t)test_rng_below(&rng, SMALL_RING), pstart = fx.prod.index;
			int64_t room = vmbus_ring_avail_write(&fx.prod);

			ret = vmbus_ring_write(&fx.prod, 1, 0, it, 0,
					       &(struct vmbus_iov){ pattern, len }, 1);
			CHECK(ret == 0 || ret == -EAGAIN || ret == -EPROTO || ret == -EMSGSIZE);
			CHECK(room == -EPROTO || (room > 0 && room <= SMALL_RING));
			if (ret == 0) {
				CHECK(room > footprint(len));
				CHECK_EQ(fx.prod.index, (pstart + footprint(len)) % SMALL_RING);
			} else {
				CHECK_EQ(fx.prod.index, pstart);
			}
			if (ret == -EPROTO)
				CHECK_EQ(room, -EPROTO);
			if (ret == -EAGAIN)
				CHECK(room <= footprint(len));
			if (test_rng_below(&rng, 2))
				vmbus_ring_publish(&fx.prod);
		}
		if (test_rng_below(&rng, 64) == 0)
			test_rng_fill(&rng, fx.hdr, sizeof(*fx.hdr));
	}
	printf("hostile random: %lu iterations: %lu read, %lu -EAGAIN, %lu -EPROTO, %lu -ENOBUFS\n",
	       iters, ok, eagain, eproto, enobufs);
	/* the generator must actually reach every outcome */
	if (iters >= 10000)
		CHECK(ok > 0 && eagain > 0 && eproto > 0 && enobufs > 0);
	fx_free(&fx);
	free(bufmem);
}

/*
 * The producer owns write_index: it keeps its index privately and never
 * reads the shared copy back, so scribbling on it changes nothing until the
 * next publish overwrites it. Likewise for the consumer and read_index.
 */
static void test_own_index_never_read(void)
{
	static const uint32_t junk[] = { 0xdeadbeef, 4, SMALL_RING, 0, 8, 2048, 0xfffffff8u };
	struct ring_fx fx;
	struct test_rng rng;
	size_t i;

	test_rng_seed(&rng, seed ^ 8);
	fx_init(&fx, SMALL_RING);
	position_at(&fx, 2000);
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		uint32_t idx = fx.prod.index;
		uint32_t len = 10 + (uint32_t)i * 30;

		/* scribble before and between write and publish */
		fx.hdr->write_index = junk[i];
		CHECK_EQ(vmbus_ring_avail_write(&fx.prod), SMALL_RING);
		CHECK_EQ(vmbus_ring_write(&fx.prod, 2, 0, i, 0,
					  &(struct vmbus_iov){ pattern + i, len }, 1), 0);
		CHECK_EQ(fx.prod.index, (idx + footprint(len)) % SMALL_RING);
		CHECK_EQ(vmbus_ring_avail_write(&fx.prod), SMALL_RING - footprint(len));
		fx.hdr->write_index = junk[(i + 1) % (sizeof(junk) / sizeof(junk[0]))];
		CHECK_EQ(vmbus_ring_write(&fx.prod, 2, 0, i + 100, 0,
					  &(struct vmbus_iov){ pattern + 1, 1 }, 1), 0);
		vmbus_ring_publish(&fx.prod);
		CHECK_EQ(fx.hdr->write_index, fx.prod.index);
		CHECK_EQ(fx.prod.published, fx.prod.index);

		/* the packets are where the private index said, intact */
		fx.hdr->read_index = junk[i];	/* consumer side: same rule */
		read_check(&fx, 2, 0, i, 0, pattern + i, len);
		fx.hdr->read_index = junk[(i + 2) % (sizeof(junk) / sizeof(junk[0]))];
		read_check(&fx, 2, 0, i + 100, 0, pattern + 1, 1);
		CHECK_EQ(vmbus_ring_avail_read(&fx.cons), 0);
		vmbus_ring_read_commit(&fx.cons);
		CHECK_EQ(fx.hdr->read_index, fx.cons.index);
		CHECK_EQ(fx.cons.index, fx.prod.index);
	}
	fx_free(&fx);
}

/* One FIFO model against random interleavings of every API call. */
static void test_random_fifo(void)
{
	enum { QCAP = 1024 };
	struct pkt {
		uint32_t len, ext_len, src;
		uint16_t type, flags;
		uint64_t tid;
	} q[QCAP];
	uint32_t head = 0, npub = 0, tail = 0;	/* read < published <= written */
	uint32_t used_pub = 0, used_all = 0;	/* bytes published / written, unread */
	uint32_t uncommitted = 0;	/* bytes consumed but not committed */
	struct ring_fx fx;
	struct test_rng rng;
	uint64_t tid = 0;
	unsigned long it;
	uint32_t sizes[] = { 64, 128, 4096, 8192 + 64 };
	size_t s;

	test_rng_seed(&rng, seed ^ 9);
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t size = sizes[s], max;

		fx_init(&fx, size);
		max = vmbus_ring_max_payload(&fx.prod);
		head = npub = tail = used_pub = used_all = uncommitted = 0;
		for (it = 0; it < 100000; it++) {
			uint32_t op = (uint32_t)test_rng_below(&rng, 10);

			if (op < 4) {
				struct pkt *p = &q[tail % QCAP];
				uint32_t lim = test_rng_below(&rng, 4) ? max / 4 + 1 : max + 1;
				int64_t room = vmbus_ring_avail_write(&fx.prod);
				int ret;

				if (tail - head >= QCAP)
					continue;
				p->len = (uint32_t)test_rng_below(&rng, lim);
				p->ext_len = (uint32_t)test_rng_below(&rng, p->len / 8 + 1) * 8;
				p->src = (uint32_t)test_rng_below(&rng, PATTERN_SIZE - p->len);
				p->type = (uint16_t)test_rng_next(&rng);
				p->flags = (uint16_t)test_rng_next(&rng);
				p->tid = tid++;
				uint32_t pending_before = fx.hdr->pending_send_size;

				CHECK_EQ(room, size - used_all - uncommitted);
				ret = write_split(&fx.prod, &rng, p->type, p->flags, p->tid,
						  p->ext_len, pattern + p->src, p->len);
				if (room > footprint(p->len)) {
					CHECK_EQ(ret, 0);
					CHECK_EQ(fx.hdr->pending_send_size, 0);
					used_all += footprint(p->len);
					tail++;
				} else if (npub != tail) {
					/* unpublished packets: publish first, no request made */
					CHECK_EQ(ret, -EAGAIN);
					CHECK_EQ(fx.hdr->pending_send_size, pending_before);
				} else {
					CHECK_EQ(ret, -EAGAIN);
					CHECK_EQ(fx.hdr->pending_send_size, footprint(p->len));
				}
			} else if (op < 5) {
				bool sig = vmbus_ring_publish(&fx.prod);
				bool want = npub != tail && fx.hdr->interrupt_mask == 0 &&
					    used_pub == 0 && uncommitted == 0;

				CHECK_EQ(sig, want);
				npub = tail;
				used_pub = used_all;
			} else if (op < 8) {
				struct pkt *p = &q[head % QCAP];
				struct vmbus_packet_desc desc;
				uint32_t ret_len, want = VMBUS_ALIGN8(p->len);
				uint32_t buf_len = test_rng_below(&rng, 8) ? want :
					(uint32_t)test_rng_below(&rng, want + 16);
				uint8_t *buf = malloc(buf_len ? buf_len : 1);
				int ret;

				CHECK_EQ(vmbus_ring_avail_read(&fx.cons), used_pub);
				ret = vmbus_ring_read(&fx.cons, &desc, buf, buf_len, &ret_len);
				if (head == npub) {
					CHECK_EQ(ret, -EAGAIN);
				} else if (buf_len < want) {
					CHECK_EQ(ret, -ENOBUFS);
					CHECK_EQ(ret_len, want);
				} else {
					CHECK_EQ(ret, 0);
					CHECK_EQ(ret_len, want);
					CHECK_EQ(desc.type, p->type);
					CHECK_EQ(desc.flags, p->flags);
					CHECK_EQ(desc.trans_id, p->tid);
					CHECK_EQ(desc.offset8, 2 + p->ext_len / 8);
					CHECK(memcmp(buf, pattern + p->src, p->len) == 0);
					while (want > p->len)
						CHECK_EQ(buf[--want], 0);
					used_pub -= footprint(p->len);
					used_all -= footprint(p->len);
					uncommitted += footprint(p->len);
					head++;
				}
				free(buf);
			} else if (op < 9) {
				uint32_t pending = fx.hdr->pending_send_size;
				/* the consumer sees only published packets */
				uint32_t before = size - used_pub - uncommitted;
				uint32_t after = size - used_pub;
				bool want = uncommitted && pending && after > pending && before <= pending;

				CHECK_EQ(vmbus_ring_read_commit(&fx.cons), want);
				uncommitted = 0;
			} else {
				if (test_rng_below(&rng, 2))
					vmbus_ring_mask(&fx.cons);
				else
					CHECK_EQ(vmbus_ring_unmask(&fx.cons), used_pub);
			}
		}
		fx_free(&fx);
	}
}

/*
 * Regression: VMBUS_ALIGN8() once masked with ~7u, a 32-bit mask, so
 * vmbus_ring_write() rounded a 64-bit payload total of 0xfffffff9 or more
 * down to a small number, passed the size checks and then copied the whole
 * gather list into the ring. The expected result is -EMSGSIZE. Each case
 * runs in a child, since the bug overran the ring.
 */
static void expect_emsgsize_in_child(const struct vmbus_iov *iov, unsigned int niov, bool send)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct ring_fx fx;
		bool sig;
		int ret;

		fx_init(&fx, SMALL_RING);
		if (send)
			ret = vmbus_ring_send(&fx.prod, 1, 0, 0, iov[0].base, iov[0].len, &sig);
		else
			ret = vmbus_ring_write(&fx.prod, 1, 0, 0, 0, iov, niov);
		if (ret != -EMSGSIZE)
			fprintf(stderr, "oversized write returned %d, expected -EMSGSIZE\n", ret);
		_exit(ret == -EMSGSIZE ? 0 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "oversized write: child %s %d\n",
			WIFSIGNALED(status) ? "killed by signal" : "exited with",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_write_huge_len(void)
{
	struct vmbus_iov one = { pattern, 0xfffffff9u };
	struct vmbus_iov two[2] = { { pattern, 0xfffffff8u }, { pattern, 0x18 } };

	expect_emsgsize_in_child(&one, 1, true);
	expect_emsgsize_in_child(two, 2, false);
}

int main(void)
{
	const char *env = getenv("RING_TEST_SEED");
	struct test_rng rng;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (env)
		seed = strtoull(env, NULL, 0);
	printf("seed %#llx\n", (unsigned long long)seed);
	pattern = malloc(PATTERN_SIZE);
	CHECK(pattern != NULL);
	test_rng_seed(&rng, seed);
	test_rng_fill(&rng, pattern, PATTERN_SIZE);

	test_attach_validation();
	test_max_payload();
	test_empty_ring();
	test_roundtrip_all_sizes();
	test_roundtrip_every_split();
	test_write_size_limits();
	test_ext_len();
	test_full_ring();
	test_write_ready();
	test_read_small_buffer_and_skip();
	test_batching();
	test_signalling();
	test_hostile_indices();
	test_hostile_descriptors();
	test_hostile_random();
	test_own_index_never_read();
	test_random_fifo();
	test_write_huge_len();

	free(pattern);
	printf("ring_test: all passed (%lu packets checked byte by byte)\n", roundtrips);
	return 0;
}
