// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ring_stress.c - a producer thread and a consumer thread over one shared
 * ring, checking order and content of every packet and that the signalling
 * rules never lose a wakeup.
 *
 * Each side blocks on its own semaphore, and the only thing that posts a
 * semaphore is the ring API asking for a signal: the producer posts the
 * consumer's when vmbus_ring_publish() returns true, the consumer posts the
 * producer's when vmbus_ring_read_commit() returns true. A side only blocks
 * when the protocol says it may (consumer: vmbus_ring_unmask() returned 0;
 * producer: vmbus_ring_write() said -EAGAIN after a publish), so a wait that
 * times out after 5 s is a lost wakeup. Stale posts are harmless: they only
 * cause an extra look at the ring.
 *
 * Packet n has trans_id n and a size (0..1500 bytes), header length, type,
 * flags and payload all derived from n, so the consumer regenerates and
 * compares every byte.
 *
 * Environment:
 *   RING_STRESS_PACKETS=N  packets to send (default 10,000,000)
 *   RING_STRESS_SMALL_PACKETS=N  packets for the second run, through a
 *                          512-byte ring (default 2,000,000; 0 skips it)
 *   RING_STRESS_SEED=N     seed (default fixed)
 */
#include "vmbus/ring.h"
#include "tests/lib/test.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define DATA_SIZE	(64u * 1024)
#define MAX_PAYLOAD	1500u
#define WAIT_SECONDS	5
#define DEFAULT_PACKETS	10000000ull
#define SMALL_SIZE	512u
#define DEFAULT_SMALL_PACKETS	2000000ull

struct stress {
	struct vmbus_ring_header *hdr;
	uint8_t *data;
	struct vmbus_ring prod, cons;
	sem_t prod_sem, cons_sem;
	uint32_t size, max_len;	/* data area, largest payload */
	uint64_t packets, seed;

	/* producer statistics */
	uint64_t publishes, publish_signals, write_eagain, prod_waits, prod_bytes;
	/* consumer statistics */
	uint64_t commits, commit_signals, cons_waits, masked_drains, enobufs_checks;
};

struct pkt_params {
	uint32_t len, ext_len;
	uint16_t type, flags;
	uint64_t payload_seed;
};

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void pkt_params(const struct stress *st, uint64_t seq, struct pkt_params *p)
{
	uint64_t h = mix64(st->seed ^ mix64(seq));
	uint32_t ext8 = (uint32_t)(h >> 40) % 4;

	/* some small packets, the rest up to the largest size */
	if (((h >> 56) & 3) == 0)
		p->len = (uint32_t)(h % 65);
	else
		p->len = (uint32_t)(h % (st->max_len + 1));
	if (ext8 * 8 > p->len)
		ext8 = p->len / 8;
	p->ext_len = ext8 * 8;
	p->type = (uint16_t)(1 + (h >> 20) % 3);
	p->flags = (uint16_t)(h >> 24);
	p->payload_seed = h;
}

static void pkt_payload(const struct pkt_params *p, uint8_t *buf)
{
	struct test_rng rng;

	test_rng_seed(&rng, p->payload_seed);
	test_rng_fill(&rng, buf, p->len);
}

static void dump_state(const struct stress *st, const char *who, uint64_t seq)
{
	fprintf(stderr,
		"lost wakeup: the %s waited %d s for a signal at packet %llu\n"
		"  shared:   write_index %u read_index %u pending_send_size %u interrupt_mask %u\n"
		"  producer: index %u published %u; consumer: index %u published %u\n",
		who, WAIT_SECONDS, (unsigned long long)seq,
		__atomic_load_n(&st->hdr->write_index, __ATOMIC_SEQ_CST),
		__atomic_load_n(&st->hdr->read_index, __ATOMIC_SEQ_CST),
		__atomic_load_n(&st->hdr->pending_send_size, __ATOMIC_SEQ_CST),
		__atomic_load_n(&st->hdr->interrupt_mask, __ATOMIC_SEQ_CST),
		st->prod.index, st->prod.published, st->cons.index, st->cons.published);
}

/* Block until posted; a timeout means a signal the ring owed us never came. */
static void wait_signal(struct stress *st, sem_t *sem, const char *who, uint64_t seq)
{
	struct timespec ts;

	CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
	ts.tv_sec += WAIT_SECONDS;
	while (sem_timedwait(sem, &ts) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == ETIMEDOUT) {
			dump_state(st, who, seq);
			exit(1);
		}
		CHECK(!"sem_timedwait failed");
	}
}

static void producer_publish(struct stress *st)
{
	st->publishes++;
	if (vmbus_ring_publish(&st->prod)) {
		st->publish_signals++;
		CHECK(sem_post(&st->cons_sem) == 0);
	}
}

static void *producer(void *arg)
{
	struct stress *st = arg;
	struct test_rng rng;
	uint8_t buf[MAX_PAYLOAD];
	uint64_t seq = 0;
	uint32_t unpublished = 0;	/* packets written since the last publish */

	test_rng_seed(&rng, st->seed ^ 0x70726f64ULL);
	while (seq < st->packets) {
		uint32_t batch = 1 + (uint32_t)test_rng_below(&rng, 16), k;

		for (k = 0; k < batch && seq < st->packets; k++, seq++) {
			struct pkt_params p;
			struct vmbus_iov iov[3];
			int ret;

			pkt_params(st, seq, &p);
			pkt_payload(&p, buf);
			iov[0] = (struct vmbus_iov){ buf, p.ext_len };
			iov[1] = (struct vmbus_iov){ buf + p.ext_len, (p.len - p.ext_len) / 2 };
			iov[2] = (struct vmbus_iov){ buf + p.ext_len + iov[1].len,
						     p.len - p.ext_len - iov[1].len };
			for (;;) {
				uint32_t spins, need = 16 + VMBUS_ALIGN8(p.len) + 8;

				ret = vmbus_ring_write(&st->prod, p.type, p.flags, seq,
						       p.ext_len, iov, 3);
				if (ret == 0) {
					unpublished++;
					break;
				}
				CHECK_EQ(ret, -EAGAIN);
				st->write_eagain++;
				if (unpublished) {
					/* the consumer can only make room for what it sees */
					producer_publish(st);
					unpublished = 0;
					continue;
				}
				/*
				 * All published, and write() looked at the ring again
				 * after setting pending_send_size: the consumer owes us
				 * a signal once there is room. (No second write here,
				 * so a write() that skipped that re-check would hang.)
				 * Sometimes poll a little before blocking.
				 */
				spins = test_rng_below(&rng, 2) ? 0 : (uint32_t)test_rng_below(&rng, 64);
				while (spins-- && vmbus_ring_avail_write(&st->prod) <= need)
					sched_yield();
				if (vmbus_ring_avail_write(&st->prod) > need)
					continue;
				st->prod_waits++;
				wait_signal(st, &st->prod_sem, "producer", seq);
			}
			st->prod_bytes += p.len;
		}
		producer_publish(st);
		unpublished = 0;
	}
	return NULL;
}

static void check_packet(struct stress *st, uint64_t seq, const struct vmbus_packet_desc *desc,
			 const uint8_t *buf, uint32_t ret_len, uint8_t *expect)
{
	struct pkt_params p;
	uint32_t i;

	pkt_params(st, seq, &p);
	if (desc->trans_id != seq) {
		fprintf(stderr, "packet out of order: got trans_id %llu, expected %llu\n",
			(unsigned long long)desc->trans_id, (unsigned long long)seq);
		exit(1);
	}
	CHECK_EQ(desc->type, p.type);
	CHECK_EQ(desc->flags, p.flags);
	CHECK_EQ(desc->offset8, 2 + p.ext_len / 8);
	CHECK_EQ(desc->len8, 2 + VMBUS_ALIGN8(p.len) / 8);
	CHECK_EQ(ret_len, VMBUS_ALIGN8(p.len));
	pkt_payload(&p, expect);
	if (memcmp(buf, expect, p.len) != 0) {
		fprintf(stderr, "packet %llu: payload differs (len %u, checksum %#llx, expected %#llx)\n",
			(unsigned long long)seq, p.len,
			(unsigned long long)test_checksum(buf, p.len),
			(unsigned long long)test_checksum(expect, p.len));
		exit(1);
	}
	for (i = p.len; i < ret_len; i++)
		CHECK_EQ(buf[i], 0);
}

static void *consumer(void *arg)
{
	struct stress *st = arg;
	struct test_rng rng;
	uint8_t buf[VMBUS_ALIGN8(MAX_PAYLOAD)], expect[MAX_PAYLOAD];
	uint64_t seq = 0;

	test_rng_seed(&rng, st->seed ^ 0x636f6e73ULL);
	for (;;) {
		bool masked = test_rng_below(&rng, 4) == 0;
		int64_t avail;
		uint32_t spins;

		/* A masked consumer is polling: the producer must not signal it. */
		if (masked) {
			vmbus_ring_mask(&st->cons);
			st->masked_drains++;
		}
		/* Drain, committing after random-sized batches. */
		for (;;) {
			uint32_t batch = 1 + (uint32_t)test_rng_below(&rng, 32), got = 0;

			while (got < batch) {
				struct vmbus_packet_desc desc;
				uint32_t ret_len;
				int ret;

				if (test_rng_below(&rng, 256) == 0) {
					/* a too-small buffer leaves the packet in place */
					ret = vmbus_ring_read(&st->cons, &desc, buf, 0, &ret_len);
					if (ret == -ENOBUFS) {
						CHECK(ret_len > 0);
						st->enobufs_checks++;
					} else {
						CHECK(ret == -EAGAIN || (ret == 0 && ret_len == 0));
						if (ret == 0) {
							check_packet(st, seq, &desc, buf, ret_len, expect);
							seq++, got++;
						}
						if (ret == -EAGAIN)
							break;
						continue;
					}
				}
				ret = vmbus_ring_read(&st->cons, &desc, buf, sizeof(buf), &ret_len);
				if (ret == -EAGAIN)
					break;
				CHECK_EQ(ret, 0);
				CHECK(seq < st->packets);
				check_packet(st, seq, &desc, buf, ret_len, expect);
				seq++;
				got++;
			}
			st->commits++;
			if (vmbus_ring_read_commit(&st->cons)) {
				st->commit_signals++;
				CHECK(sem_post(&st->prod_sem) == 0);
			}
			if (got < batch)
				break;	/* found the ring empty */
		}
		if (seq == st->packets) {
			if (masked)
				vmbus_ring_unmask(&st->cons);
			break;
		}
		/* Unmask, then look again: the producer may not signal for what is there. */
		avail = vmbus_ring_unmask(&st->cons);
		CHECK(avail >= 0);
		if (avail > 0)
			continue;
		/* Sometimes poll a little before blocking. */
		spins = test_rng_below(&rng, 2) ? 0 : (uint32_t)test_rng_below(&rng, 64);
		while (spins-- && vmbus_ring_avail_read(&st->cons) == 0)
			sched_yield();
		if (vmbus_ring_avail_read(&st->cons) > 0)
			continue;
		st->cons_waits++;
		wait_signal(st, &st->cons_sem, "consumer", seq);
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One run: a fresh ring of `size` bytes, `packets` packets of up to max_len bytes. */
static void run(uint32_t size, uint32_t max_len, uint64_t packets, uint64_t seed)
{
	struct stress *st = calloc(1, sizeof(*st));
	pthread_t tp, tc;
	double t0, secs;

	CHECK(st != NULL);
	CHECK(max_len <= MAX_PAYLOAD);
	st->size = size;
	st->max_len = max_len;
	st->packets = packets;
	st->seed = seed;
	printf("%llu packets of 0..%u bytes through a %u-byte ring\n",
	       (unsigned long long)packets, max_len, size);

	st->hdr = aligned_alloc(VMBUS_RING_HEADER_SIZE, VMBUS_RING_HEADER_SIZE);
	st->data = malloc(size);	/* exact size: the sanitizer sees any overrun */
	CHECK(st->hdr != NULL);
	CHECK(st->data != NULL);
	CHECK_EQ(vmbus_ring_attach(&st->prod, st->hdr, st->data, size), 0);
	vmbus_ring_reset(&st->prod);
	CHECK_EQ(vmbus_ring_attach(&st->cons, st->hdr, st->data, size), 0);
	CHECK(max_len <= vmbus_ring_max_payload(&st->prod));
	CHECK(sem_init(&st->prod_sem, 0, 0) == 0);
	CHECK(sem_init(&st->cons_sem, 0, 0) == 0);

	t0 = now();
	CHECK(pthread_create(&tc, NULL, consumer, st) == 0);
	CHECK(pthread_create(&tp, NULL, producer, st) == 0);
	CHECK(pthread_join(tp, NULL) == 0);
	CHECK(pthread_join(tc, NULL) == 0);
	secs = now() - t0;

	/* Nothing extra arrived, nothing is left over. */
	CHECK_EQ(vmbus_ring_avail_read(&st->cons), 0);
	CHECK_EQ(st->prod.index, st->cons.index);
	CHECK_EQ(st->hdr->write_index, st->hdr->read_index);
	CHECK_EQ(vmbus_ring_avail_write(&st->prod), size);

	printf("  producer: %llu publishes, %llu asked for a signal; %llu writes found the ring full,"
	       " %llu blocking waits\n",
	       (unsigned long long)st->publishes, (unsigned long long)st->publish_signals,
	       (unsigned long long)st->write_eagain, (unsigned long long)st->prod_waits);
	printf("  consumer: %llu commits, %llu asked for a signal; %llu blocking waits,"
	       " %llu masked drains, %llu -ENOBUFS checks\n",
	       (unsigned long long)st->commits, (unsigned long long)st->commit_signals,
	       (unsigned long long)st->cons_waits, (unsigned long long)st->masked_drains,
	       (unsigned long long)st->enobufs_checks);
	printf("  %.1f MB payload in %.2f s: %.0f packets/s, %.1f MB/s\n",
	       st->prod_bytes / 1e6, secs, packets / secs, st->prod_bytes / 1e6 / secs);

	sem_destroy(&st->prod_sem);
	sem_destroy(&st->cons_sem);
	free(st->hdr);
	free(st->data);
	free(st);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v ? strtoull(v, NULL, 0) : def;
}

int main(void)
{
	uint64_t seed = env_u64("RING_STRESS_SEED", 0x57e55ULL);
	uint64_t packets = env_u64("RING_STRESS_PACKETS", DEFAULT_PACKETS);
	uint64_t small = env_u64("RING_STRESS_SMALL_PACKETS", DEFAULT_SMALL_PACKETS);

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ring_stress: seed %#llx%s\n", (unsigned long long)seed,
	       SANITIZED ? " (sanitizer build)" : "");
	/* The main run: a 64 KiB ring, packets up to 1500 bytes. */
	run(DATA_SIZE, MAX_PAYLOAD, packets, seed);
	/*
	 * A ring that holds only a packet or two, so it goes full and empty
	 * all the time and the signalling races are hit far more often.
	 */
	if (small)
		run(SMALL_SIZE, SMALL_SIZE - 32, small, seed + 1);
	printf("ring_stress: passed\n");
	return 0;
}
