// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ring_bench.c - throughput of one channel ring between two pinned threads,
 * compared with a single-core memcpy over the same working set.
 *
 * For each payload size (64 B, 512 B, 4 KiB, 64 KiB):
 *   - the producer (first CPU) writes batches of packets with
 *     vmbus_ring_write() and publishes each batch once;
 *   - the consumer (second CPU) copies every packet out with
 *     vmbus_ring_read() into its own buffer and commits once per batch;
 *   - both wait by spinning with a pause instruction: no syscalls, no
 *     signals, the consumer keeps interrupts masked (polling mode);
 *   - the run is a warm-up, then RING_BENCH_SECONDS (default 2) measured
 *     seconds; messages/s and payload GB/s (10^9 bytes) are the messages
 *     the consumer delivered in that window;
 *   - then one core memcpy()s message-sized chunks from a hot source buffer
 *     into a destination region as large as the ring's data area, cycling
 *     through it, for the same duration.
 *
 * Correctness is checked while measuring: every packet's type, trans_id
 * (a sequence number), length, and the first and last payload words (which
 * carry the sequence number); every payload byte is compared with the
 * expected pattern during warm-up and for every 1024th packet afterwards.
 * Any mismatch aborts with exit status 1. A missed target does not.
 *
 * Data area: 1 MiB for 64 B and 512 B, 2 MiB for 4 KiB, 4 MiB for 64 KiB;
 * batch: up to 64 packets, at most 1/8 of the data area. Each size also
 * reports the cache-line round trip between the two CPUs (on a VM the host
 * decides how close the two vCPUs are, and throughput follows it), and warns
 * when a measuring thread got less than 95% of its CPU or the hypervisor
 * stole time: other load on the two CPUs makes the numbers meaningless.
 * With only one CPU both threads share it and yield (a syscall) instead of
 * spinning.
 *
 *   ring_bench [--json FILE]
 *   env: RING_BENCH_SECONDS   measured seconds per size (default 2)
 *        RING_BENCH_RING_KIB  data area size in KiB for every size (tuning)
 *        RING_BENCH_BATCH     packets per batch for every size (tuning)
 *        RING_BENCH_SIZES     comma-separated subset of the sizes (profiling)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "vmbus/ring.h"
#include "tests/lib/test.h"

#define PHASE_WARMUP	0
#define PHASE_MEASURE	1
#define PHASE_STOP	2

#define TAG_MAGIC	0x5a17c0de00000000ULL
#define FULL_CHECK_EVERY 1024u	/* after warm-up, full payload check period */

static const uint32_t bench_sizes[] = { 64, 512, 4096, 65536 };
#define NSIZES (sizeof(bench_sizes) / sizeof(bench_sizes[0]))
#define NTARGETS 2

struct bench_cfg {
	uint32_t msg_size;
	uint32_t ring_size;	/* data area bytes */
	uint32_t batch;		/* packets per batch */
	double warmup_s;
	double measure_s;
	int cpu_prod, cpu_cons;
	bool single_cpu;
};

struct bench_result {
	uint32_t msg_size;
	uint32_t ring_size;
	uint32_t batch;
	uint64_t ring_msgs;
	double ring_secs;
	double ring_msgs_per_s;
	double ring_gb_per_s;
	uint64_t memcpy_msgs;
	double memcpy_secs;
	double memcpy_msgs_per_s;
	double memcpy_gb_per_s;
	double ratio;
	uint64_t delivered;	/* warm-up included, every one checked */
	uint64_t full_checks;
	uint64_t full_waits;	/* producer found the ring full */
	uint64_t empty_polls;	/* consumer found the ring empty */
	double avg_commit;	/* packets per consumer commit */
	double slice_median;	/* msgs/s: median over ~50 ms slices of the window */
	double slice_best;	/* msgs/s: best ~50 ms slice */
	long preempted;		/* involuntary context switches while measured */
	double cpu_share;	/* least CPU time / wall time of the measuring threads */
	double rtt_ns;		/* cache-line round trip between the two CPUs, before the run */
	double steal_s;		/* hypervisor steal on the two CPUs while measured */
	bool ran;
};

/* State shared by the two threads of one run; hot words on their own lines. */
struct bench_run {
	const struct bench_cfg *cfg;
	struct vmbus_ring_header *hdr;
	uint8_t *data;
	const uint8_t *pattern;		/* expected payload bytes (words 0 and last aside) */

	int phase __attribute__((aligned(64)));
	int failed __attribute__((aligned(64)));
	char error[256];

	/* producer results */
	uint64_t full_waits __attribute__((aligned(64)));
	uint64_t sent;
	long prod_preempted;
	double prod_share;

	/* consumer: messages delivered so far, sampled by the main thread */
	uint64_t progress __attribute__((aligned(64)));

	/* consumer results */
	uint64_t meas_msgs __attribute__((aligned(64)));
	double meas_secs;
	uint64_t delivered;
	uint64_t full_checks;
	uint64_t empty_polls;
	uint64_t commits;
	long cons_preempted;
	double cons_share;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the calling thread so far (a vDSO-less syscall: not for hot paths). */
static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Involuntary context switches of the calling thread so far. */
static long thread_preemptions(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return 0;
	return ru.ru_nivcsw;
}

/* Steal time of one CPU in seconds from /proc/stat, or 0 if unknown. */
static double cpu_steal_s(int cpu)
{
	char want[32], line[512];
	unsigned long long v[8] = { 0 };
	double steal = 0;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		/* user nice system idle iowait irq softirq steal */
		if (sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
			steal = (double)v[7] / (double)sysconf(_SC_CLK_TCK);
		break;
	}
	fclose(f);
	return steal;
}

static double steal_both(const struct bench_cfg *cfg)
{
	double s = cpu_steal_s(cfg->cpu_prod);

	if (cfg->cpu_cons != cfg->cpu_prod)
		s += cpu_steal_s(cfg->cpu_cons);
	return s;
}

static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

static int get_phase(struct bench_run *b)
{
	return __atomic_load_n(&b->phase, __ATOMIC_ACQUIRE);
}

/* Move the phase forward only from `from`, so a failure's STOP sticks. */
static void advance_phase(struct bench_run *b, int from, int to)
{
	int expected = from;

	__atomic_compare_exchange_n(&b->phase, &expected, to, false,
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void bench_fail(struct bench_run *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bench_fail(struct bench_run *b, const char *fmt, ...)
{
	va_list ap;

	/* the first failure's message is kept */
	if (!__atomic_exchange_n(&b->failed, 1, __ATOMIC_ACQ_REL)) {
		va_start(ap, fmt);
		vsnprintf(b->error, sizeof(b->error), fmt, ap);
		va_end(ap);
	}
	__atomic_store_n(&b->phase, PHASE_STOP, __ATOMIC_RELEASE);
}

static void pin_to(int cpu)
{
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err) {
		fprintf(stderr, "ring_bench: pthread_setaffinity_np(cpu %d): %s\n",
			cpu, strerror(err));
		exit(1);
	}
}

static void *xalloc(size_t len)
{
	void *p = NULL;

	/* page-aligned like shared ring memory; touched so no fault is timed */
	if (posix_memalign(&p, 4096, len ? len : 1)) {
		fprintf(stderr, "ring_bench: out of memory (%zu bytes)\n", len);
		exit(1);
	}
	memset(p, 0, len);
	return p;
}

static uint64_t tag_for(uint64_t seq)
{
	return TAG_MAGIC ^ seq;
}

/* Bytes one packet of `size` payload bytes takes in the ring. */
static uint32_t packet_bytes(uint32_t size)
{
	return (uint32_t)sizeof(struct vmbus_packet_desc) + VMBUS_ALIGN8(size) +
	       VMBUS_PACKET_TRAILER_SIZE;
}

/* ---------------------------------------------------------------- producer */

/* Spin until a packet of `need` bytes fits; false if the run stopped. */
static bool producer_wait_space(struct bench_run *b, struct vmbus_ring *r, uint32_t need)
{
	unsigned int spins = 0;

	for (;;) {
		int64_t avail = vmbus_ring_avail_write(r);

		if (avail < 0) {
			bench_fail(b, "producer: vmbus_ring_avail_write: %" PRId64, avail);
			return false;
		}
		/* write needs strictly more than the packet: one 8-byte gap */
		if ((uint64_t)avail > need)
			return true;
		if ((++spins & 1023) == 0 && get_phase(b) == PHASE_STOP)
			return false;
		if (b->cfg->single_cpu)
			sched_yield();
		else
			cpu_relax();
	}
}

static void *producer_main(void *arg)
{
	struct bench_run *b = arg;
	const struct bench_cfg *cfg = b->cfg;
	const uint32_t size = cfg->msg_size, need = packet_bytes(size);
	struct vmbus_ring r;
	struct vmbus_iov iov;
	uint8_t *src;
	uint64_t seq = 1, waits = 0;
	long preempt_start = 0;
	double cpu_start = 0, wall_start = 0;
	int ph, phase = PHASE_WARMUP;

	pin_to(cfg->cpu_prod);
	if (vmbus_ring_attach(&r, b->hdr, b->data, cfg->ring_size)) {
		bench_fail(b, "producer: vmbus_ring_attach failed");
		return NULL;
	}
	src = xalloc(size);
	memcpy(src, b->pattern, size);
	iov.base = src;
	iov.len = size;

	while ((ph = get_phase(b)) != PHASE_STOP) {
		if (ph != phase) {
			preempt_start = thread_preemptions();
			cpu_start = thread_cpu_s();
			wall_start = now_s();
			phase = ph;
		}
		for (uint32_t i = 0; i < cfg->batch; i++) {
			uint64_t tag = tag_for(seq);
			int ret;

			memcpy(src, &tag, 8);
			memcpy(src + size - 8, &tag, 8);
			while ((ret = vmbus_ring_write(&r, VMBUS_PACKET_INBAND, 0, seq, 0,
						       &iov, 1)) == -EAGAIN) {
				/* full: hand over what we have, wait for room */
				vmbus_ring_publish(&r);
				waits++;
				if (!producer_wait_space(b, &r, need))
					goto out;
			}
			if (ret < 0) {
				bench_fail(b, "producer: vmbus_ring_write: %d", ret);
				goto out;
			}
			seq++;
		}
		vmbus_ring_publish(&r);
	}
out:
	vmbus_ring_publish(&r);
	if (phase == PHASE_MEASURE) {
		b->prod_preempted = thread_preemptions() - preempt_start;
		b->prod_share = (thread_cpu_s() - cpu_start) / (now_s() - wall_start);
	}
	b->full_waits = waits;
	b->sent = seq - 1;
	free(src);
	return NULL;
}

/* ---------------------------------------------------------------- consumer */

static void *consumer_main(void *arg)
{
	struct bench_run *b = arg;
	const struct bench_cfg *cfg = b->cfg;
	const uint32_t size = cfg->msg_size, body = VMBUS_ALIGN8(size);
	const uint32_t buf_len = body + 64;
	struct vmbus_ring r;
	uint8_t *buf;
	uint64_t expected = 1, start_count = 0, full_checks = 0, polls = 0, commits = 0;
	double t_start = 0, cpu_start = 0;
	long preempt_start = 0;
	int phase = PHASE_WARMUP;

	pin_to(cfg->cpu_cons);
	if (vmbus_ring_attach(&r, b->hdr, b->data, cfg->ring_size)) {
		bench_fail(b, "consumer: vmbus_ring_attach failed");
		return NULL;
	}
	vmbus_ring_mask(&r);	/* polling: the producer need not signal */
	buf = xalloc(buf_len);

	for (;;) {
		uint32_t n = 0;
		int ph = get_phase(b);

		if (ph != phase) {
			if (phase == PHASE_WARMUP && ph >= PHASE_MEASURE) {
				t_start = now_s();
				start_count = expected;
				preempt_start = thread_preemptions();
				cpu_start = thread_cpu_s();
			}
			if (ph == PHASE_STOP) {
				b->meas_secs = now_s() - t_start;
				b->meas_msgs = expected - start_count;
				b->cons_preempted = thread_preemptions() - preempt_start;
				b->cons_share = (thread_cpu_s() - cpu_start) / b->meas_secs;
				break;
			}
			phase = ph;
		}
		while (n < cfg->batch) {
			struct vmbus_packet_desc desc;
			uint32_t len;
			uint64_t w0, w1;
			int ret = vmbus_ring_read(&r, &desc, buf, buf_len, &len);

			if (ret == -EAGAIN)
				break;
			if (ret < 0) {
				bench_fail(b, "consumer: vmbus_ring_read: %d at message %" PRIu64,
					   ret, expected);
				goto out;
			}
			memcpy(&w0, buf, 8);
			memcpy(&w1, buf + size - 8, 8);
			if (unlikely(desc.trans_id != expected || len != body ||
				     desc.type != VMBUS_PACKET_INBAND ||
				     desc.offset8 != sizeof(desc) / 8 ||
				     w0 != tag_for(expected) || w1 != tag_for(expected))) {
				bench_fail(b, "consumer: message %" PRIu64 " wrong: trans_id %" PRIu64
					   " type %u len %u first word %#" PRIx64
					   " last word %#" PRIx64, expected, desc.trans_id,
					   desc.type, len, w0, w1);
				goto out;
			}
			if (phase == PHASE_WARMUP || (expected % FULL_CHECK_EVERY) == 0) {
				if (size > 16 && memcmp(buf + 8, b->pattern + 8, size - 16)) {
					bench_fail(b, "consumer: message %" PRIu64
						   " payload differs", expected);
					goto out;
				}
				full_checks++;
			}
			expected++;
			n++;
		}
		if (n) {
			vmbus_ring_read_commit(&r);
			commits++;
			__atomic_store_n(&b->progress, expected - 1, __ATOMIC_RELAXED);
		} else {
			polls++;
			if (cfg->single_cpu)
				sched_yield();
			else
				cpu_relax();
		}
	}
out:
	b->delivered = expected - 1;
	b->full_checks = full_checks;
	b->empty_polls = polls;
	b->commits = commits;
	free(buf);
	return NULL;
}

#define SLICE_S 0.05

struct slice_samples {
	double *t;
	uint64_t *count;
	size_t n, cap;
};

/*
 * Sleep until `secs` passed or the run was stopped by a failure; with
 * `sm`, sample the consumer's progress every SLICE_S seconds.
 */
static void sleep_watching(struct bench_run *b, double secs, struct slice_samples *sm)
{
	double end = now_s() + secs;

	for (;;) {
		double t = now_s(), left = end - t;
		struct timespec ts;

		if (sm && sm->n < sm->cap) {
			sm->t[sm->n] = t;
			sm->count[sm->n] = __atomic_load_n(&b->progress, __ATOMIC_RELAXED);
			sm->n++;
		}
		if (left <= 0 || get_phase(b) == PHASE_STOP)
			return;
		if (left > SLICE_S)
			left = SLICE_S;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median and best rate over the sampled slices (slices shorter than half a slice ignored). */
static void slice_stats(const struct slice_samples *sm, double *median, double *best)
{
	double *rate = calloc(sm->n ? sm->n : 1, sizeof(*rate));
	size_t n = 0;

	CHECK(rate);
	for (size_t i = 1; i < sm->n; i++) {
		double dt = sm->t[i] - sm->t[i - 1];

		if (dt >= SLICE_S / 2)
			rate[n++] = (double)(sm->count[i] - sm->count[i - 1]) / dt;
	}
	*median = *best = 0;
	if (n) {
		qsort(rate, n, sizeof(*rate), cmp_double);
		*median = n & 1 ? rate[n / 2] : (rate[n / 2 - 1] + rate[n / 2]) / 2;
		*best = rate[n - 1];
	}
	free(rate);
}

static int run_ring(const struct bench_cfg *cfg, const uint8_t *pattern,
		    struct bench_result *res)
{
	struct bench_run *b;
	struct vmbus_ring setup;
	pthread_t prod, cons;
	struct slice_samples sm = { 0 };
	double steal;
	int err;

	if (posix_memalign((void **)&b, 64, sizeof(*b))) {
		fprintf(stderr, "ring_bench: out of memory\n");
		exit(1);
	}
	memset(b, 0, sizeof(*b));
	b->cfg = cfg;
	b->pattern = pattern;
	b->hdr = xalloc(VMBUS_RING_HEADER_SIZE);
	b->data = xalloc(cfg->ring_size);
	/* the side that allocates the ring resets it before sharing it */
	CHECK_EQ(vmbus_ring_attach(&setup, b->hdr, b->data, cfg->ring_size), 0);
	vmbus_ring_reset(&setup);

	err = pthread_create(&cons, NULL, consumer_main, b);
	if (!err)
		err = pthread_create(&prod, NULL, producer_main, b);
	if (err) {
		fprintf(stderr, "ring_bench: pthread_create: %s\n", strerror(err));
		exit(1);
	}
	sm.cap = (size_t)(cfg->measure_s / SLICE_S) + 16;
	sm.t = calloc(sm.cap, sizeof(*sm.t));
	sm.count = calloc(sm.cap, sizeof(*sm.count));
	CHECK(sm.t && sm.count);
	sleep_watching(b, cfg->warmup_s, NULL);
	steal = steal_both(cfg);
	advance_phase(b, PHASE_WARMUP, PHASE_MEASURE);
	sleep_watching(b, cfg->measure_s, &sm);
	advance_phase(b, PHASE_MEASURE, PHASE_STOP);
	steal = steal_both(cfg) - steal;
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);

	if (b->failed) {
		fprintf(stderr, "ring_bench: %u-byte run failed: %s\n", cfg->msg_size, b->error);
		return -1;
	}
	if (b->meas_msgs == 0 || b->meas_secs <= 0) {
		fprintf(stderr, "ring_bench: %u-byte run delivered nothing\n", cfg->msg_size);
		return -1;
	}
	res->ring_msgs = b->meas_msgs;
	res->ring_secs = b->meas_secs;
	res->ring_msgs_per_s = (double)b->meas_msgs / b->meas_secs;
	res->ring_gb_per_s = res->ring_msgs_per_s * cfg->msg_size / 1e9;
	res->full_checks = b->full_checks;
	res->full_waits = b->full_waits;
	res->empty_polls = b->empty_polls;
	slice_stats(&sm, &res->slice_median, &res->slice_best);
	free(sm.t);
	free(sm.count);
	res->delivered = b->delivered;
	res->preempted = b->prod_preempted + b->cons_preempted;
	res->cpu_share = b->prod_share < b->cons_share ? b->prod_share : b->cons_share;
	res->steal_s = steal;
	res->avg_commit = b->commits ? (double)b->delivered / (double)b->commits : 0;
	free(b->hdr);
	free(b->data);
	free(b);
	return 0;
}

/* ------------------------------------------------ cross-CPU round trip */

/*
 * How far apart the two CPUs are: a cache line bounced between them. On a
 * VM the host may place the two vCPUs on cores that share a cache or not,
 * and move them; the ring's throughput follows this number.
 */
struct rtt_probe {
	uint64_t ping __attribute__((aligned(64)));
	uint64_t pong __attribute__((aligned(64)));
	int stop __attribute__((aligned(64)));
	int cpu;
};

static void *rtt_echo(void *arg)
{
	struct rtt_probe *p = arg;
	uint64_t last = 0;

	pin_to(p->cpu);
	while (!__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
		uint64_t v = __atomic_load_n(&p->ping, __ATOMIC_ACQUIRE);

		if (v != last) {
			__atomic_store_n(&p->pong, v, __ATOMIC_RELEASE);
			last = v;
		} else {
			cpu_relax();
		}
	}
	return NULL;
}

/* Median over 9 rounds of the mean round trip in ns; 0 with one CPU. */
static double measure_rtt(const struct bench_cfg *cfg)
{
	struct rtt_probe *p;
	pthread_t t;
	double round[9];
	uint64_t seq = 0;

	if (cfg->single_cpu)
		return 0;
	if (posix_memalign((void **)&p, 64, sizeof(*p)))
		return 0;
	memset(p, 0, sizeof(*p));
	p->cpu = cfg->cpu_cons;
	pin_to(cfg->cpu_prod);
	if (pthread_create(&t, NULL, rtt_echo, p)) {
		free(p);
		return 0;
	}
	for (int r = -1; r < 9; r++) {	/* round -1 warms up */
		double start = now_s();

		for (int i = 0; i < 2000; i++) {
			double spin_start = 0;

			__atomic_store_n(&p->ping, ++seq, __ATOMIC_RELEASE);
			for (unsigned int k = 0; __atomic_load_n(&p->pong, __ATOMIC_ACQUIRE) != seq; k++) {
				cpu_relax();
				/* echo thread descheduled for long: give up on this probe */
				if ((k & 0xffff) == 0xffff) {
					if (!spin_start)
						spin_start = now_s();
					else if (now_s() - spin_start > 1)
						goto out;
				}
			}
		}
		if (r >= 0)
			round[r] = (now_s() - start) / 2000 * 1e9;
	}
	qsort(round, 9, sizeof(round[0]), cmp_double);
out:
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	free(p);
	return seq == 10 * 2000 ? round[4] : 0;
}

/* ---------------------------------------------------------------- memcpy */

static uint64_t memcpy_loop(uint8_t *dst, uint32_t region, const uint8_t *src,
			    uint32_t size, double secs, double *ret_secs)
{
	/* iterations between clock reads: about 1 MiB of copying */
	uint32_t inner = size >= (1u << 20) ? 1 : (1u << 20) / size;
	uint32_t off = 0;
	uint64_t n = 0;
	double start = now_s(), t;

	do {
		for (uint32_t i = 0; i < inner; i++) {
			memcpy(dst + off, src, size);
			/* the copy is observable: the compiler may not drop it */
			__asm__ __volatile__("" : : "r"(dst) : "memory");
			off += size;
			if (off > region - size)
				off = 0;
		}
		n += inner;
		t = now_s() - start;
	} while (t < secs);
	*ret_secs = t;
	return n;
}

static void run_memcpy(const struct bench_cfg *cfg, const uint8_t *pattern,
		       struct bench_result *res)
{
	uint8_t *src = xalloc(cfg->msg_size), *dst = xalloc(cfg->ring_size);
	double secs;
	uint64_t n;
	long preempt;
	double cpu;

	pin_to(cfg->cpu_prod);
	memcpy(src, pattern, cfg->msg_size);
	memcpy_loop(dst, cfg->ring_size, src, cfg->msg_size, cfg->warmup_s, &secs);
	preempt = thread_preemptions();
	cpu = thread_cpu_s();
	n = memcpy_loop(dst, cfg->ring_size, src, cfg->msg_size, cfg->measure_s, &secs);
	res->preempted += thread_preemptions() - preempt;
	cpu = (thread_cpu_s() - cpu) / secs;
	if (cpu < res->cpu_share)
		res->cpu_share = cpu;
	/* spot-check that the copies landed */
	CHECK(memcmp(dst, pattern, cfg->msg_size) == 0);
	res->memcpy_msgs = n;
	res->memcpy_secs = secs;
	res->memcpy_msgs_per_s = (double)n / secs;
	res->memcpy_gb_per_s = res->memcpy_msgs_per_s * cfg->msg_size / 1e9;
	free(src);
	free(dst);
}

/* ---------------------------------------------------------------- setup */

static double env_double(const char *name, double def, double min, double max)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (!s || !*s)
		return def;
	v = strtod(s, &end);
	if (*end || v < min || v > max) {
		fprintf(stderr, "ring_bench: %s=%s: want a number in [%g, %g]\n",
			name, s, min, max);
		exit(2);
	}
	return v;
}

/* Default data area: room for many packets of the size, and at least 1 MiB. */
static uint32_t default_ring_size(uint32_t size)
{
	return size >= 65536 ? 4u << 20 : size >= 4096 ? 2u << 20 : 1u << 20;
}

/* Default batch: up to 64 packets, but no more than 1/8 of the data area. */
static uint32_t default_batch(uint32_t ring_size, uint32_t size)
{
	uint32_t b = ring_size / 8 / packet_bytes(size);

	if (b > 64)
		b = 64;
	return b ? b : 1;
}

static void pick_cpus(int *prod, int *cons, bool *single)
{
	cpu_set_t set;
	int first = -1, second = -1;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		for (int c = 0; c < CPU_SETSIZE; c++) {
			if (!CPU_ISSET(c, &set))
				continue;
			if (first < 0)
				first = c;
			else if (second < 0)
				second = c;
		}
	}
	if (first < 0)
		first = 0;
	*prod = first;
	*cons = second < 0 ? first : second;
	*single = second < 0;
}

static const char *size_name(uint32_t size, char *buf, size_t len)
{
	if (size >= 1024 && size % 1024 == 0)
		snprintf(buf, len, "%u KiB", size / 1024);
	else
		snprintf(buf, len, "%u B", size);
	return buf;
}

struct bench_target {
	const char *name;	/* as printed after "target: " */
	bool measured;
	bool met;
	double value;
	const char *unit;	/* printed after the value */
	double scale;		/* printed value = value / scale */
};

static void write_json(const char *path, const struct bench_cfg *base,
		       const struct bench_result *res, size_t n,
		       const struct bench_target *tg, size_t ntg)
{
	FILE *f = fopen(path, "w");
	bool first = true;

	if (!f) {
		fprintf(stderr, "ring_bench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fprintf(f, "{\n  \"benchmark\": \"ring_bench\",\n");
	fprintf(f, "  \"cpu_producer\": %d,\n  \"cpu_consumer\": %d,\n  \"single_cpu\": %s,\n",
		base->cpu_prod, base->cpu_cons, base->single_cpu ? "true" : "false");
	fprintf(f, "  \"warmup_seconds\": %.3f,\n  \"seconds\": %.3f,\n",
		base->warmup_s, base->measure_s);
	fprintf(f, "  \"gb_bytes\": 1000000000,\n  \"results\": [");
	for (size_t i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];

		if (!r->ran)
			continue;
		fprintf(f, "%s\n    {\"size\": %u, \"ring_data_bytes\": %u, \"batch\": %u, "
			"\"ring_messages\": %" PRIu64 ", \"ring_seconds\": %.6f, "
			"\"ring_msgs_per_s\": %.1f, \"ring_gb_per_s\": %.4f, "
			"\"ring_slice_median_msgs_per_s\": %.1f, "
			"\"ring_slice_best_msgs_per_s\": %.1f, "
			"\"memcpy_messages\": %" PRIu64 ", \"memcpy_seconds\": %.6f, "
			"\"memcpy_msgs_per_s\": %.1f, \"memcpy_gb_per_s\": %.4f, "
			"\"ratio\": %.4f, \"messages_checked\": %" PRIu64 ", "
			"\"full_payload_checks\": %" PRIu64 ", "
			"\"producer_full_waits\": %" PRIu64 ", "
			"\"consumer_empty_polls\": %" PRIu64 ", \"preempted\": %ld, "
			"\"min_cpu_share\": %.4f, \"cpu_round_trip_ns\": %.1f, "
			"\"steal_seconds\": %.3f}",
			first ? "" : ",", r->msg_size, r->ring_size, r->batch, r->ring_msgs,
			r->ring_secs, r->ring_msgs_per_s, r->ring_gb_per_s, r->slice_median,
			r->slice_best, r->memcpy_msgs,
			r->memcpy_secs, r->memcpy_msgs_per_s, r->memcpy_gb_per_s, r->ratio,
			r->delivered, r->full_checks, r->full_waits, r->empty_polls,
			r->preempted, r->cpu_share, r->rtt_ns, r->steal_s);
		first = false;
	}
	fprintf(f, "\n  ],\n  \"targets\": [");
	for (size_t i = 0; i < ntg; i++) {
		fprintf(f, "%s\n    {\"name\": \"%s\", \"measured\": %s, \"met\": %s, "
			"\"value\": %.4f}", i ? "," : "", tg[i].name,
			tg[i].measured ? "true" : "false", tg[i].met ? "true" : "false",
			tg[i].value);
	}
	fprintf(f, "\n  ]\n}\n");
	if (fclose(f)) {
		fprintf(stderr, "ring_bench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* RING_BENCH_SIZES: which of bench_sizes to run (all when unset). */
static bool size_selected(uint32_t size)
{
	const char *s = getenv("RING_BENCH_SIZES");

	if (!s || !*s)
		return true;
	while (*s) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);

		if (end == s) {
			fprintf(stderr, "ring_bench: RING_BENCH_SIZES=%s: want e.g. 64,65536\n",
				getenv("RING_BENCH_SIZES"));
			exit(2);
		}
		if (v == size)
			return true;
		s = *end == ',' ? end + 1 : end;
	}
	return false;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ring_bench [--json FILE]\n"
		"env: RING_BENCH_SECONDS (default 2), RING_BENCH_RING_KIB, RING_BENCH_BATCH,\n"
		"     RING_BENCH_SIZES (e.g. 64,65536)\n");
}

int main(int argc, char **argv)
{
	struct bench_cfg base = { 0 };
	struct bench_result res[NSIZES];
	const char *json = NULL;
	uint32_t ring_override, batch_override, max_size = 0;
	struct test_rng rng;
	uint8_t *pattern;
	struct bench_target targets[] = {
		{ .name = ">= 0.8x memcpy at 64 KiB", .unit = "", .scale = 1 },
		{ .name = ">= 10 M msg/s at 64 B", .unit = " M msg/s", .scale = 1e6 },
	};
	bool failed = false;
	char name[32];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			json = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	base.measure_s = env_double("RING_BENCH_SECONDS", 2, 0.01, 3600);
	base.warmup_s = base.measure_s / 4 < 0.5 ? base.measure_s / 4 : 0.5;
	ring_override = (uint32_t)env_double("RING_BENCH_RING_KIB", 0, 0, 1u << 20) * 1024u;
	batch_override = (uint32_t)env_double("RING_BENCH_BATCH", 0, 0, 1u << 20);
	pick_cpus(&base.cpu_prod, &base.cpu_cons, &base.single_cpu);

	for (size_t i = 0; i < NSIZES; i++)
		if (bench_sizes[i] > max_size)
			max_size = bench_sizes[i];
	pattern = xalloc(max_size);
	test_rng_seed(&rng, 0x0be7c4);
	test_rng_fill(&rng, pattern, max_size);

	printf("ring_bench: producer on CPU %d, consumer on CPU %d%s\n",
	       base.cpu_prod, base.cpu_cons,
	       base.single_cpu ? " (only one CPU available: both threads share it and "
				 "yield instead of spinning; numbers are not comparable)" : "");
	printf("ring_bench: %.2g s warm-up + %.2g s measured per size; GB/s = 10^9 payload "
	       "bytes/s; memcpy: 1 core, same size, destination cycling through a region "
	       "the size of the ring data area\n", base.warmup_s, base.measure_s);
	fflush(stdout);

	for (size_t i = 0; i < NSIZES; i++) {
		struct bench_cfg cfg = base;
		struct bench_result *r = &res[i];

		memset(r, 0, sizeof(*r));
		cfg.msg_size = bench_sizes[i];
		if (!size_selected(cfg.msg_size))
			continue;
		cfg.ring_size = ring_override ? ring_override : default_ring_size(cfg.msg_size);
		if (packet_bytes(cfg.msg_size) + 8 > cfg.ring_size) {
			fprintf(stderr, "ring_bench: %u-byte packets do not fit a %u-byte ring\n",
				cfg.msg_size, cfg.ring_size);
			free(pattern);
			return 2;
		}
		cfg.batch = batch_override ? batch_override :
			    default_batch(cfg.ring_size, cfg.msg_size);
		r->msg_size = cfg.msg_size;
		r->ring_size = cfg.ring_size;
		r->batch = cfg.batch;
		r->rtt_ns = measure_rtt(&cfg);
		if (run_ring(&cfg, pattern, r)) {
			failed = true;
			break;
		}
		run_memcpy(&cfg, pattern, r);
		r->ratio = r->ring_gb_per_s / r->memcpy_gb_per_s;
		r->ran = true;
		if (cfg.msg_size == 65536) {
			targets[0].measured = true;
			targets[0].value = r->ratio;
			targets[0].met = r->ratio >= 0.8;
		}
		if (cfg.msg_size == 64) {
			targets[1].measured = true;
			targets[1].value = r->ring_msgs_per_s;
			targets[1].met = r->ring_msgs_per_s >= 10e6;
		}
	}
	free(pattern);
	if (failed)
		return 1;

	printf("\n%-8s | %12s | %9s | %11s | %6s | %13s | %9s | %5s\n",
	       "size", "ring msg/s", "ring GB/s", "memcpy GB/s", "ratio",
	       "memcpy msg/s", "data area", "batch");
	printf("---------+--------------+-----------+-------------+--------+"
	       "---------------+-----------+------\n");
	for (size_t i = 0; i < NSIZES; i++) {
		const struct bench_result *r = &res[i];
		char area[32];

		if (!r->ran)
			continue;
		printf("%-8s | %12.0f | %9.2f | %11.2f | %5.2fx | %13.0f | %9s | %5u\n",
		       size_name(r->msg_size, name, sizeof(name)), r->ring_msgs_per_s,
		       r->ring_gb_per_s, r->memcpy_gb_per_s, r->ratio, r->memcpy_msgs_per_s,
		       size_name(r->ring_size, area, sizeof(area)), r->batch);
	}
	printf("\n");
	for (size_t i = 0; i < NSIZES; i++) {
		const struct bench_result *r = &res[i];

		if (!r->ran)
			continue;
		char rtt[32];

		if (r->rtt_ns > 0)
			snprintf(rtt, sizeof(rtt), "%.0f ns", r->rtt_ns);
		else
			snprintf(rtt, sizeof(rtt), "n/a");
		printf("%-8s CPU%d<->CPU%d round trip %s; ring msg/s over 50 ms slices: "
		       "median %.0f, best %.0f; checked %"
		       PRIu64 " messages (type, length, trans_id, first and last word), %"
		       PRIu64 " byte for byte; ring full %" PRIu64 "x, empty %" PRIu64
		       "x, %.1f msgs per commit\n",
		       size_name(r->msg_size, name, sizeof(name)), base.cpu_prod, base.cpu_cons,
		       rtt, r->slice_median,
		       r->slice_best, r->delivered, r->full_checks, r->full_waits,
		       r->empty_polls, r->avg_commit);
	}
	for (size_t i = 0; i < NSIZES; i++) {
		const struct bench_result *r = &res[i];

		/* a spinning thread that only got part of its CPU measured nothing useful */
		if (r->ran && (r->cpu_share < 0.95 || r->steal_s > 0.02 * base.measure_s))
			printf("WARNING: %s: a measuring thread got only %.0f%% of its CPU "
			       "(%ld preemptions, %.2f s stolen by the hypervisor): other load "
			       "on these CPUs, numbers are low and noisy\n",
			       size_name(r->msg_size, name, sizeof(name)), r->cpu_share * 100,
			       r->preempted, r->steal_s);
	}
	printf("\n");
	for (size_t i = 0; i < NTARGETS; i++) {
		const struct bench_target *t = &targets[i];

		if (t->measured)
			printf("target: %s: %s (%.2f%s)\n", t->name, t->met ? "MET" : "NOT MET",
			       t->value / t->scale, t->unit);
		else
			printf("target: %s: NOT MEASURED\n", t->name);
	}
	if (json)
		write_json(json, &base, res, NSIZES, targets, NTARGETS);
	return 0;
}
