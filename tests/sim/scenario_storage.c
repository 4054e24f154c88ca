// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * scenario_storage.c - sim-guest scenarios "storage" and "storage-crash":
 * the synthetic disk backend of a real worker (docs/protocol/storage.md).
 *
 * The worker serves disk0 (read-write, SIM_STORAGE_IMAGE, serial
 * SIMDISK0) and disk1 (read-only, SIM_STORAGE_RO_IMAGE); this guest runs
 * on the same machine, so it checks the image files themselves.
 *
 * "storage": identity; patterns written through page lists of scattered
 * pages (two ranges, unaligned offsets) and found in the image file; read
 * back; FUA; flush; discard frees the file's blocks; write-zeroes; the
 * read-only disk refuses writes and discards but reads. Then hostile:
 * ranges beyond the disk, lengths that disagree with the page list, pages
 * outside guest RAM (nothing written, not even the valid pages), bogus and
 * duplicate transaction ids, unknown ops and flags, a flood of requests
 * with the completion ring left full, a second queue (sub-channel), and
 * last a malformed page list, which resets the channel.
 *
 * "storage-crash": a pattern written and flushed, then the worker is
 * killed (SIGKILL); worker.test checks the pattern is in the image.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "tests/sim/simguest.h"
#include "vmbus/classes.h"
#include "vmbus/guid.h"
#include "vmbus/storage.h"

/* The n-th storage device offered (primary channel), in offer order. */
static struct sim_channel *stor_find(struct sim *s, unsigned int n, uint16_t sub, struct sim_channel *primary)
{
	const struct vmbus_class_info *ci = vmbus_class_by_name("storage");

	for (unsigned int i = 0; i < s->noffers; i++) {
		struct sim_channel *c = &s->chan[i];

		if (!vmbus_guid_equal(&c->offer.class_id, &ci->guid))
			continue;
		if (primary) {
			if (c->offer.subchannel_index == sub &&
			    vmbus_guid_equal(&c->offer.instance_id, &primary->offer.instance_id))
				return c;
			continue;
		}
		if (c->offer.subchannel_index == 0 && n-- == 0)
			return c;
	}
	return NULL;
}

void sim_stor_list_init(struct sim_stor_list *l)
{
	memset(l, 0, sizeof(*l));
	l->len = 8;
}

/* Add a range of len bytes at guest address gpa (pages assumed contiguous in our RAM). */
void sim_stor_list_add(struct sim_stor_list *l, uint64_t gpa, uint32_t len)
{
	uint32_t off = (uint32_t)(gpa % 4096), n = (off + len + 4095) / 4096;
	uint32_t *hdr = (uint32_t *)l->w;
	uint32_t *r = (uint32_t *)((uint8_t *)l->w + l->len);

	if (l->len + 8 + 8 * n > sizeof(l->w))
		SIM_FAIL("storage: page list too large for the test");
	r[0] = off;
	r[1] = len;
	l->len += 8;
	for (uint32_t i = 0; i < n; i++) {
		l->w[l->len / 8] = gpa / 4096 + i;
		l->len += 8;
	}
	hdr[0]++;
}

int sim_stor_send(struct sim *s, struct sim_channel *c, uint32_t op, uint32_t flags,
		     uint64_t sector, uint32_t nsectors, const struct sim_stor_list *l, uint64_t id)
{
	struct vmbus_stor_request rq = { .op = op, .flags = flags, .sector = sector,
					 .nsectors = nsectors };

	if (op == VMBUS_STOR_OP_IDENTIFY)
		rq.arg = VMBUS_STOR_VERSION_1;
	if (l)
		return sim_send_ext(s, c, VMBUS_PACKET_PAGES, VMBUS_PACKET_F_COMPLETION_REQUESTED,
				    l->w, l->len, &rq, sizeof(rq), id);
	return sim_send_ext(s, c, VMBUS_PACKET_INBAND, VMBUS_PACKET_F_COMPLETION_REQUESTED,
			    NULL, 0, &rq, sizeof(rq), id);
}

/* Wait for the completion of request id; returns its status. */
uint32_t sim_stor_wait(struct sim *s, struct sim_channel *c, uint64_t id,
			  struct vmbus_stor_identity *ret_id)
{
	uint8_t buf[512];
	struct vmbus_packet_desc d;
	struct vmbus_stor_completion comp;
	int r = sim_recv_desc(s, c, buf, sizeof(buf), &d, 10000);

	if (r < (int)sizeof(comp))
		SIM_FAIL("storage: no completion for request %llu (%d)", (unsigned long long)id, r);
	if (d.type != VMBUS_PACKET_COMPLETION || d.trans_id != id)
		SIM_FAIL("storage: expected the completion of %llu, got type %u id %llu",
			 (unsigned long long)id, d.type, (unsigned long long)d.trans_id);
	memcpy(&comp, buf, sizeof(comp));
	if (ret_id) {
		if (comp.status == VMBUS_STOR_S_OK && r < (int)(sizeof(comp) + sizeof(*ret_id)))
			SIM_FAIL("storage: identity completion of %d bytes", r);
		memcpy(ret_id, buf + sizeof(comp), sizeof(*ret_id));
	}
	return comp.status;
}

static uint32_t stor_do(struct sim *s, struct sim_channel *c, uint32_t op, uint32_t flags,
			uint64_t sector, uint32_t nsectors, const struct sim_stor_list *l)
{
	static uint64_t next_id = 1000;
	uint64_t id = next_id++;

	if (sim_stor_send(s, c, op, flags, sector, nsectors, l, id) < 0)
		SIM_FAIL("storage: cannot send request %llu", (unsigned long long)id);
	return sim_stor_wait(s, c, id, NULL);
}

static void stor_expect(uint32_t got, uint32_t want, const char *what)
{
	if (got != want)
		SIM_FAIL("storage: %s: status %u, expected %u", what, got, want);
	SIM_LOG("storage: %s: status %u as expected", what, got);
}

/* A number in the worker's "poll" object's "guest" object. */
static unsigned long poll_guest_value(const char *key)
{
	char reply[1024], pat[32];
	const char *g, *v;

	sim_worker_request("poll", reply, sizeof(reply));
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (!(g = strstr(reply, "\"guest\":{")) || !(v = strstr(g, pat)))
		SIM_FAIL("storage: poll: no guest %s in %.300s", key, reply);
	return strtoul(v + strlen(pat), NULL, 10);
}

/*
 * READS reads of one sector, one at a time: each sent THINK_US after the
 * last one's answer (busy waiting, as a guest busy with the answer), the
 * answer read as soon as it is there.
 */
static void stor_turn_reads(struct sim *s, struct sim_channel *c, uint64_t buf, unsigned int reads,
			    unsigned int think_us)
{
	static uint64_t next_id = 5000000;
	struct sim_stor_list l;
	struct vmbus_packet_desc d;
	uint8_t ans[512];

	sim_stor_list_init(&l);
	sim_stor_list_add(&l, buf, 512);
	for (unsigned int i = 0; i < reads; i++) {
		uint64_t id = next_id++;
		int64_t end = sim_now_ms() + 10000;
		struct timespec t0, t;
		int r;

		if (sim_stor_send(s, c, VMBUS_STOR_OP_READ, 0, i % 64, 1, &l, id) < 0)
			SIM_FAIL("storage: turns: cannot send read %u", i);
		while ((r = sim_recv_desc(s, c, ans, sizeof(ans), &d, 0)) == -ETIMEDOUT &&
		       sim_now_ms() < end)
			;
		if (r < 0 || d.trans_id != id)
			SIM_FAIL("storage: turns: no answer to read %u (%d)", i, r);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 < think_us);
	}
}

/*
 * The guest's turn: a guest that sends its next request soon after each
 * answer finds the worker polling for it (docs/decisions.md, "Polling");
 * with the guest limit 0 the worker only sleeps.
 */
static void stor_turns(struct sim *s, struct sim_channel *c, uint64_t buf)
{
	char reply[1024], req[48];
	unsigned long max = poll_guest_value("max_us"), hits, misses, off_hits, io_max;
	const char *m;

	/* The limit for I/O in flight stays as it is. */
	sim_worker_request("poll", reply, sizeof(reply));
	if (!(m = strstr(reply, "\"max_us\":")))
		SIM_FAIL("storage: poll: %.300s", reply);
	io_max = strtoul(m + 9, NULL, 10);

	hits = poll_guest_value("hits");
	stor_turn_reads(s, c, buf, 2000, 100);
	hits = poll_guest_value("hits") - hits;
	if (!hits)
		SIM_FAIL("storage: 2000 reads one after another, no doorbell found by polling "
			 "(wait %lu us, window %lu us, %lu early, %lu missed)",
			 poll_guest_value("wait_us"), poll_guest_value("window_us"),
			 poll_guest_value("early"), poll_guest_value("misses"));
	/* A guest that answers after more than a millisecond is idle, not taking turns. */
	misses = poll_guest_value("misses");
	stor_turn_reads(s, c, buf, 20, 3000);
	misses = poll_guest_value("misses") - misses;
	if (misses > 6 || poll_guest_value("window_us") != 0)
		SIM_FAIL("storage: a slow guest: %lu windows missed, window %lu us (want at most 6, 0)",
			 misses, poll_guest_value("window_us"));
	SIM_LOG("storage: a guest 3 ms between requests: %lu windows missed, then no polling",
		misses);
	snprintf(req, sizeof(req), "poll %lu 0", io_max);
	sim_worker_request(req, reply, sizeof(reply));
	if (poll_guest_value("max_us") != 0)
		SIM_FAIL("storage: %s: %.300s", req, reply);
	off_hits = poll_guest_value("hits");
	stor_turn_reads(s, c, buf, 200, 100);
	off_hits = poll_guest_value("hits") - off_hits;
	snprintf(req, sizeof(req), "poll %lu %lu", io_max, max);
	sim_worker_request(req, reply, sizeof(reply));
	if (off_hits || poll_guest_value("max_us") != max)
		SIM_FAIL("storage: guest polling off: %lu doorbells found by polling; %.300s",
			 off_hits, reply);
	SIM_LOG("storage: guest's turns: %lu of 2000 doorbells found by polling (limit %lu us), "
		"none with the limit 0", hits, max);
}

/*
 * The completions of requests sent together, in whatever order the host
 * finishes them (its I/O is asynchronous): each id once (duplicates as
 * often as they were sent), each with status OK.
 */
static void stor_wait_all(struct sim *s, struct sim_channel *c, const uint64_t *ids, unsigned int n,
			  const char *what)
{
	bool seen[16] = { false };
	uint8_t buf[512];
	struct vmbus_packet_desc d;
	struct vmbus_stor_completion comp;

	if (n > 16)
		SIM_FAIL("storage: stor_wait_all: too many ids");
	for (unsigned int got = 0; got < n; got++) {
		int r = sim_recv_desc(s, c, buf, sizeof(buf), &d, 10000);
		unsigned int i;

		if (r < (int)sizeof(comp) || d.type != VMBUS_PACKET_COMPLETION)
			SIM_FAIL("storage: %s: no completion (%d)", what, r);
		for (i = 0; i < n && (seen[i] || ids[i] != d.trans_id); i++)
			;
		if (i == n)
			SIM_FAIL("storage: %s: unexpected completion id %llu", what,
				 (unsigned long long)d.trans_id);
		seen[i] = true;
		memcpy(&comp, buf, sizeof(comp));
		stor_expect(comp.status, VMBUS_STOR_S_OK, what);
	}
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ seed);
}

static void file_expect(int fd, uint64_t off, const void *want, size_t n, const char *what)
{
	uint8_t *got = malloc(n);

	if (!got || pread(fd, got, n, (off_t)off) != (ssize_t)n)
		SIM_FAIL("storage: cannot read the image for %s", what);
	if (memcmp(got, want, n) != 0)
		SIM_FAIL("storage: %s: the image does not hold the expected bytes", what);
	free(got);
	SIM_LOG("storage: %s: image file checked", what);
}

static int open_image(const char *env)
{
	const char *path = getenv(env);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	if (fd < 0)
		SIM_FAIL("storage: %s not set or not readable", env);
	return fd;
}

static struct sim_channel *stor_connect_open(struct sim *s, unsigned int n)
{
	struct sim_channel *c;

	if (!s->offers_done && sim_connect(s))
		SIM_FAIL("connect failed");
	c = stor_find(s, n, 0, NULL);
	if (!c)
		SIM_FAIL("storage: disk%u not offered", n);
	if (sim_open(s, c, 8, 1))
		SIM_FAIL("storage: cannot open disk%u", n);
	return c;
}

static void stor_hostile(struct sim *s, struct sim_channel *c, int fd, uint64_t capacity)
{
	uint64_t buf = sim_alloc(s, 4), ram_pfns = s->mem.size / 4096;
	uint8_t *p = sim_gpa_ptr(s, buf), before[4096];
	struct sim_stor_list l;
	unsigned int i;

	/* Beyond the disk. */
	sim_stor_list_init(&l);
	sim_stor_list_add(&l, buf, 1024);
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_READ, 0, capacity - 1, 2, &l), VMBUS_STOR_S_OUT_OF_RANGE,
		    "read crossing the disk's end");
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_WRITE, 0, UINT64_MAX - 1, 2, &l), VMBUS_STOR_S_OUT_OF_RANGE,
		    "write at sector 2^64-2 (wrap-around)");
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_DISCARD, 0, capacity, 1, NULL), VMBUS_STOR_S_OUT_OF_RANGE,
		    "discard past the end");

	/* Lengths that disagree with the page list. */
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_READ, 0, 0, 3, &l), VMBUS_STOR_S_INVALID,
		    "3 sectors with a 1024-byte page list");
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_WRITE, 0, 0, 0, &l), VMBUS_STOR_S_INVALID,
		    "zero-sector write");
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_READ, 0, 0, 2, NULL), VMBUS_STOR_S_INVALID,
		    "read without a page list");
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_FLUSH, 0, 0, 0, &l), VMBUS_STOR_S_INVALID,
		    "flush with a page list");

	/* Pages outside guest RAM; the valid first page must not reach the disk either. */
	if (pread(fd, before, sizeof(before), 0) != (ssize_t)sizeof(before))
		SIM_FAIL("storage: cannot read the image");
	memset(p, 0xEE, 8192);
	{
		uint64_t bad[] = { ram_pfns + 16, 0xa0, 1ULL << 60, UINT64_MAX };

		for (i = 0; i < 4; i++) {
			sim_stor_list_init(&l);
			sim_stor_list_add(&l, buf, 8192);
			l.w[l.len / 8 - 1] = bad[i];	/* second pfn of the range */
			stor_expect(stor_do(s, c, VMBUS_STOR_OP_WRITE, 0, 0, 16, &l),
				    VMBUS_STOR_S_BAD_ADDRESS, "write with a page outside guest RAM");
		}
	}
	file_expect(fd, 0, before, sizeof(before), "nothing written by the refused writes");

	/* Bogus ids: any value comes back unchanged, duplicates each get theirs. */
	{
		uint64_t ids[] = { 0, UINT64_MAX, 7, 7, 7 };

		for (i = 0; i < 5; i++)
			sim_stor_send(s, c, VMBUS_STOR_OP_FLUSH, 0, 0, 0, NULL, ids[i]);
		stor_wait_all(s, c, ids, 5, "flush with a bogus id");
	}
	stor_expect(stor_do(s, c, 99, 0, 0, 0, NULL), VMBUS_STOR_S_UNSUPPORTED, "unknown op");
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_FLUSH, 0x80, 0, 0, NULL), VMBUS_STOR_S_INVALID,
		    "unknown flag");
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_READ, VMBUS_STOR_F_FUA, 0, 2, &l), VMBUS_STOR_S_INVALID,
		    "FUA on a read");

	/*
	 * Flood: fill our ring without reading completions, then drain. More
	 * requests than the host has slots for a queue: it must stop reading
	 * and resume as completions free slots. Each completes exactly once.
	 */
	{
		enum { total = 3000 };
		static bool done[total];
		uint64_t sent = 0, got = 0;
		uint8_t cbuf[512];
		struct vmbus_packet_desc d;
		struct vmbus_stor_completion comp;

		sim_stor_list_init(&l);
		sim_stor_list_add(&l, buf, 512);
		while (got < total) {
			uint64_t k;
			int r;

			while (sent < total &&
			       sim_stor_send(s, c, VMBUS_STOR_OP_READ, 0, sent % capacity, 1, &l, 1000000 + sent) == 0)
				sent++;
			if (got == 0)
				sim_poll(s, 200);	/* leave the host's completion ring full a while */
			r = sim_recv_desc(s, c, cbuf, sizeof(cbuf), &d, 10000);
			if (r < (int)sizeof(comp) || d.type != VMBUS_PACKET_COMPLETION)
				SIM_FAIL("storage: flood: no completion after %llu (%d)",
					 (unsigned long long)got, r);
			k = d.trans_id - 1000000;
			memcpy(&comp, cbuf, sizeof(comp));
			if (d.trans_id < 1000000 || k >= sent || done[k])
				SIM_FAIL("storage: flood: unexpected or repeated completion %llu",
					 (unsigned long long)d.trans_id);
			if (comp.status != VMBUS_STOR_S_OK)
				SIM_FAIL("storage: flood request %llu failed", (unsigned long long)k);
			done[k] = true;
			got++;
		}
		SIM_LOG("storage: a flood of %llu requests each completed once", (unsigned long long)got);
	}
}

void scenario_storage(struct sim *s)
{
	struct sim_channel *c = stor_connect_open(s, 0), *ro, *q1;
	struct vmbus_stor_identity id;
	int fd = open_image("SIM_STORAGE_IMAGE"), rofd = open_image("SIM_STORAGE_RO_IMAGE");
	uint64_t a = sim_alloc(s, 16), b = sim_alloc(s, 1), rd = sim_alloc(s, 17);
	uint8_t *want = malloc(65536);
	struct sim_stor_list l;
	struct stat st0, st1;
	char reply[4096];
	uint32_t n;

	/* Identity. */
	sim_stor_send(s, c, VMBUS_STOR_OP_IDENTIFY, 0, 0, 0, NULL, 1);
	stor_expect(sim_stor_wait(s, c, 1, &id), VMBUS_STOR_S_OK, "identify");
	if (id.version != VMBUS_STOR_VERSION_1 || id.capacity != (8u << 20) / 512 ||
	    id.logical_block_size != 512 || (id.flags & VMBUS_STOR_ID_READ_ONLY) ||
	    !(id.flags & VMBUS_STOR_ID_DISCARD) || memcmp(id.serial, "SIMDISK0", 9) != 0 ||
	    id.num_queues < 2 || id.max_transfer != VMBUS_STOR_MAX_TRANSFER)
		SIM_FAIL("storage: unexpected identity (capacity %llu, flags %#x, serial %.20s)",
			 (unsigned long long)id.capacity, id.flags, (const char *)id.serial);
	SIM_LOG("storage: disk0 identity: %llu sectors, serial %.20s, %u queues",
		(unsigned long long)id.capacity, (const char *)id.serial, id.num_queues);

	/*
	 * 60 KiB at sector 100 from two ranges: 56 KiB starting 512 bytes into
	 * a 16-page buffer, then 4 KiB from another page.
	 */
	fill_pattern(want, 65536, 1);
	memcpy((uint8_t *)sim_gpa_ptr(s, a) + 512, want, 57344);
	memcpy(sim_gpa_ptr(s, b), want + 57344, 4096);
	sim_stor_list_init(&l);
	sim_stor_list_add(&l, a + 512, 57344);
	sim_stor_list_add(&l, b, 4096);
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_WRITE, 0, 100, 61440 / 512, &l), VMBUS_STOR_S_OK,
		    "60 KiB write from two ranges");
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_FLUSH, 0, 0, 0, NULL), VMBUS_STOR_S_OK, "flush");
	file_expect(fd, 100 * 512, want, 61440, "written pattern");

	/* Read it back into one range at an odd offset. */
	sim_stor_list_init(&l);
	sim_stor_list_add(&l, rd + 1536, 61440);
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_READ, 0, 100, 61440 / 512, &l), VMBUS_STOR_S_OK,
		    "60 KiB read");
	if (memcmp((uint8_t *)sim_gpa_ptr(s, rd) + 1536, want, 61440) != 0)
		SIM_FAIL("storage: read back different data");
	SIM_LOG("storage: read back what was written");

	/* FUA write of one sector at the last sector. */
	fill_pattern(want, 512, 2);
	memcpy(sim_gpa_ptr(s, b), want, 512);
	sim_stor_list_init(&l);
	sim_stor_list_add(&l, b, 512);
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_WRITE, VMBUS_STOR_F_FUA, id.capacity - 1, 1, &l),
		    VMBUS_STOR_S_OK, "FUA write of the last sector");
	file_expect(fd, (id.capacity - 1) * 512, want, 512, "FUA write");

	/* Discard gives the blocks back to the host filesystem. */
	fill_pattern(want, 65536, 3);
	memcpy(sim_gpa_ptr(s, a), want, 65536);
	sim_stor_list_init(&l);
	sim_stor_list_add(&l, a, 65536);
	for (n = 0; n < 16; n++)
		stor_expect(stor_do(s, c, VMBUS_STOR_OP_WRITE, 0, 8192 + n * 128, 128, &l), VMBUS_STOR_S_OK,
			    "write of 64 KiB before a discard");
	stor_do(s, c, VMBUS_STOR_OP_FLUSH, 0, 0, 0, NULL);
	fstat(fd, &st0);
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_DISCARD, 0, 8192, 2048, NULL), VMBUS_STOR_S_OK,
		    "discard of 1 MiB");
	fstat(fd, &st1);
	if (st1.st_blocks + 1024 > st0.st_blocks)
		SIM_FAIL("storage: discard freed %lld blocks of 512, expected at least 1024",
			 (long long)(st0.st_blocks - st1.st_blocks));
	SIM_LOG("storage: discard freed %lld KiB of the image", (long long)(st0.st_blocks - st1.st_blocks) / 2);

	/* Write-zeroes. */
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_WRITE_ZEROES, 0, 100, 8, NULL), VMBUS_STOR_S_OK,
		    "write-zeroes of 4 KiB");
	memset(want, 0, 4096);
	file_expect(fd, 100 * 512, want, 4096, "zeroed range");

	/* The read-only disk. */
	ro = stor_connect_open(s, 1);
	sim_stor_send(s, ro, VMBUS_STOR_OP_IDENTIFY, 0, 0, 0, NULL, 2);
	stor_expect(sim_stor_wait(s, ro, 2, &id), VMBUS_STOR_S_OK, "identify disk1");
	if (!(id.flags & VMBUS_STOR_ID_READ_ONLY))
		SIM_FAIL("storage: disk1 is not reported read-only");
	sim_stor_list_init(&l);
	sim_stor_list_add(&l, b, 4096);
	stor_expect(stor_do(s, ro, VMBUS_STOR_OP_WRITE, 0, 0, 8, &l), VMBUS_STOR_S_READ_ONLY,
		    "write to the read-only disk");
	stor_expect(stor_do(s, ro, VMBUS_STOR_OP_DISCARD, 0, 0, 8, NULL), VMBUS_STOR_S_READ_ONLY,
		    "discard on the read-only disk");
	stor_expect(stor_do(s, ro, VMBUS_STOR_OP_READ, 0, 0, 8, &l), VMBUS_STOR_S_OK,
		    "read of the read-only disk");
	{
		uint8_t img[4096];

		if (pread(rofd, img, sizeof(img), 0) != (ssize_t)sizeof(img) ||
		    memcmp(img, sim_gpa_ptr(s, b), sizeof(img)) != 0)
			SIM_FAIL("storage: read of disk1 differs from its image");
	}

	/* A second queue: a sub-channel of disk0 serves requests too. */
	{
		struct vmbus_ctl_subchannel sr = { .hdr.type = VMBUS_CTL_SUBCHANNEL_REQUEST,
							   .channel_id = c->offer.channel_id, .count = 1 };
		union vmbus_ctl_msg m;

		sim_ctl_send(s, &sr, sizeof(sr));
		if (sim_ctl_wait(s, VMBUS_CTL_SUBCHANNEL_RESULT, &m, 5000) < 0)
			SIM_FAIL("storage: no SUBCHANNEL_RESULT");
		for (int i = 0; i < 100 && !(q1 = stor_find(s, 0, 1, c)); i++)
			sim_ctl_wait(s, VMBUS_CTL_OFFER, &m, 100);
		if (!q1 || sim_open(s, q1, 4, 1))
			SIM_FAIL("storage: cannot open the sub-channel of disk0");
		sim_stor_list_init(&l);
		sim_stor_list_add(&l, rd, 512);
		stor_expect(stor_do(s, q1, VMBUS_STOR_OP_READ, 0, 0, 1, &l), VMBUS_STOR_S_OK,
			    "read on queue 1 (a sub-channel)");
	}

	stor_hostile(s, c, fd, (8u << 20) / 512);
	sim_worker_request("service disk0 info", reply, sizeof(reply));
	if (!strstr(reply, "\"serial\":\"SIMDISK0\"") || !strstr(reply, "\"writes\":"))
		SIM_FAIL("storage: service disk0 info: %.300s", reply);

	/* The event loop's polling limit: shown, refused beyond 10 ms, turned off and back. */
	{
		const char *m;
		unsigned long limit;
		char req[32];

		sim_worker_request("poll", reply, sizeof(reply));
		if (!strstr(reply, "\"ok\":true") || !(m = strstr(reply, "\"max_us\":")))
			SIM_FAIL("storage: poll: %.300s", reply);
		limit = strtoul(m + 9, NULL, 10);
		sim_worker_request("poll 10001", reply, sizeof(reply));
		if (!strstr(reply, "\"ok\":false"))
			SIM_FAIL("storage: poll 10001 accepted: %.300s", reply);
		sim_worker_request("poll 0", reply, sizeof(reply));
		if (!strstr(reply, "\"max_us\":0,"))
			SIM_FAIL("storage: poll 0: %.300s", reply);
		sim_stor_list_init(&l);
		sim_stor_list_add(&l, rd, 4096);
		stor_expect(stor_do(s, c, VMBUS_STOR_OP_READ, 0, 0, 8, &l), VMBUS_STOR_S_OK,
			    "read with polling off");
		snprintf(req, sizeof(req), "poll %lu", limit);
		sim_worker_request(req, reply, sizeof(reply));
		if (!strstr(reply, "\"ok\":true"))
			SIM_FAIL("storage: %s: %.300s", req, reply);
		SIM_LOG("storage: polling limit %lu us; 10001 refused; off and back", limit);
	}
	stor_turns(s, c, rd);

	/* Last: a malformed page list (no ranges) resets the channel. */
	{
		uint64_t bad_list = 0;
		struct vmbus_stor_request rq = { .op = VMBUS_STOR_OP_READ, .nsectors = 1 };

		sim_send_ext(s, c, VMBUS_PACKET_PAGES, 0, &bad_list, 8, &rq, sizeof(rq), 5);
		sim_poll(s, 300);
	}
	free(want);
	close(fd);
	close(rofd);
}

void scenario_storage_crash(struct sim *s)
{
	struct sim_channel *c = stor_connect_open(s, 0);
	uint64_t a = sim_alloc(s, 32);
	struct sim_stor_list l;

	fill_pattern(sim_gpa_ptr(s, a), 131072, 9);
	sim_stor_list_init(&l);
	sim_stor_list_add(&l, a, 131072);
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_WRITE, 0, 2048, 256, &l), VMBUS_STOR_S_OK, "128 KiB write");
	stor_expect(stor_do(s, c, VMBUS_STOR_OP_FLUSH, 0, 0, 0, NULL), VMBUS_STOR_S_OK, "flush");
	SIM_LOG("storage: killing the worker after the flush");
	kill(getppid(), SIGKILL);
}
