// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * xact_test.c - the transaction id table: allocation, completion, stale and
 * forged ids, cancellation, draining after a reset, and a randomized run
 * against a simple reference model.
 *
 * Ids are opaque to callers, but xact.c documents their layout
 * (generation << 32 | slot index + 1); the forged-id tests use it to aim at
 * a real slot with the wrong generation and at slots past the table.
 */
#include "vmbus/xact.h"
#include "tests/lib/test.h"

#define ID_SLOT(id)	((uint32_t)(id) - 1)	/* per xact.c */
#define ID_GEN(id)	((uint32_t)((id) >> 32))

/* Distinct, recognisable context pointers. */
static char ctx_pool[4096];
#define CTX(i) ((void *)&ctx_pool[(i) % sizeof(ctx_pool)])

static void test_init_args(void)
{
	struct vmbus_xact_table t;
	struct vmbus_xact_slot slots[4];

	CHECK_EQ(vmbus_xact_init(&t, NULL, 4), -EINVAL);
	CHECK_EQ(vmbus_xact_init(&t, slots, 0), -EINVAL);
	CHECK_EQ(vmbus_xact_init(&t, slots, (1u << 31) + 1), -EINVAL);
	CHECK_EQ(vmbus_xact_init(&t, slots, UINT32_MAX), -EINVAL);
	/* (1u << 31 is the documented upper bound, too big to allocate here.) */
	CHECK_EQ(vmbus_xact_init(&t, slots, 1), 0);
	CHECK_EQ(vmbus_xact_inflight(&t), 0);
	CHECK_EQ(vmbus_xact_init(&t, slots, 4), 0);
	CHECK_EQ(vmbus_xact_inflight(&t), 0);
	/* Re-initialising forgets whatever was in flight. */
	{
		uint64_t id;
		void *ctx;

		CHECK_EQ(vmbus_xact_alloc(&t, CTX(1), &id), 0);
		CHECK_EQ(vmbus_xact_init(&t, slots, 4), 0);
		CHECK_EQ(vmbus_xact_inflight(&t), 0);
		CHECK_EQ(vmbus_xact_find(&t, id, &ctx), -ENOENT);
	}
}

static void test_alloc_complete(uint32_t n)
{
	struct vmbus_xact_slot *slots = calloc(n, sizeof(*slots));
	uint64_t *ids = calloc(n, sizeof(*ids));
	struct vmbus_xact_table t;
	uint64_t extra;
	uint32_t i, j;
	void *ctx;

	CHECK(slots && ids);
	CHECK_EQ(vmbus_xact_init(&t, slots, n), 0);
	for (i = 0; i < n; i++) {
		CHECK_EQ(vmbus_xact_alloc(&t, CTX(i), &ids[i]), 0);
		CHECK(ids[i] != 0);
		CHECK(ID_SLOT(ids[i]) < n);
		for (j = 0; j < i; j++)
			CHECK(ids[i] != ids[j]);
		CHECK_EQ(vmbus_xact_inflight(&t), i + 1);
	}
	/* Full: -EAGAIN, nothing changes. */
	extra = 0x1234;
	CHECK_EQ(vmbus_xact_alloc(&t, CTX(999), &extra), -EAGAIN);
	CHECK_EQ(vmbus_xact_alloc(&t, CTX(999), &extra), -EAGAIN);
	CHECK_EQ(vmbus_xact_inflight(&t), n);
	/* find does not free. */
	for (i = 0; i < n; i++) {
		ctx = NULL;
		CHECK_EQ(vmbus_xact_find(&t, ids[i], &ctx), 0);
		CHECK(ctx == CTX(i));
	}
	CHECK_EQ(vmbus_xact_inflight(&t), n);
	/* Complete in a scrambled order: right ctx, slot freed, once only. */
	for (j = 0; j < n; j++) {
		i = (j * 7 + 3) % n;
		if (n % 7 == 0)
			i = j;
		ctx = NULL;
		CHECK_EQ(vmbus_xact_complete(&t, ids[i], &ctx), 0);
		CHECK(ctx == CTX(i));
		CHECK_EQ(vmbus_xact_inflight(&t), n - j - 1);
		CHECK_EQ(vmbus_xact_complete(&t, ids[i], &ctx), -EPROTO);
		CHECK_EQ(vmbus_xact_find(&t, ids[i], &ctx), -ENOENT);
		CHECK_EQ(vmbus_xact_cancel(&t, ids[i], &ctx), -ENOENT);
		CHECK_EQ(vmbus_xact_inflight(&t), n - j - 1);
	}
	/* Every slot is usable again, under new ids. */
	for (i = 0; i < n; i++) {
		CHECK_EQ(vmbus_xact_alloc(&t, CTX(i + 100), &extra), 0);
		for (j = 0; j < n; j++)
			CHECK(extra != ids[j]);
	}
	CHECK_EQ(vmbus_xact_alloc(&t, CTX(0), &extra), -EAGAIN);
	free(slots);
	free(ids);
}

static void test_forged_ids(void)
{
	enum { N = 8 };
	struct vmbus_xact_slot slots[N];
	struct vmbus_xact_table t;
	uint64_t ids[N], bad[64];
	struct test_rng rng;
	size_t nbad = 0, i, j;
	void *ctx;

	CHECK_EQ(vmbus_xact_init(&t, slots, N), 0);
	for (i = 0; i < N; i++)
		CHECK_EQ(vmbus_xact_alloc(&t, CTX(i), &ids[i]), 0);
	/* Free two slots so that free slots are targeted too. */
	CHECK_EQ(vmbus_xact_complete(&t, ids[2], &ctx), 0);
	CHECK_EQ(vmbus_xact_complete(&t, ids[5], &ctx), 0);

	bad[nbad++] = 0;
	bad[nbad++] = ids[2];			/* completed */
	bad[nbad++] = ids[5];
	bad[nbad++] = ids[0] & 0xffffffff;	/* right slot, generation 0 */
	bad[nbad++] = ids[0] & ~0xffffffffULL;	/* right generation, slot "0" */
	bad[nbad++] = ids[0] ^ (1ULL << 32);	/* right slot, wrong generation */
	bad[nbad++] = ids[0] + (1ULL << 32);
	bad[nbad++] = ids[N - 1] + (100ULL << 32);
	bad[nbad++] = ids[1] | (0xffffffffULL << 32);
	bad[nbad++] = ((uint64_t)ID_GEN(ids[3]) << 32) | (N + 1);	/* past the table */
	bad[nbad++] = ((uint64_t)ID_GEN(ids[3]) << 32) | 0xffffffffULL;
	bad[nbad++] = ((uint64_t)ID_GEN(ids[3]) << 32) | 0x80000000ULL;
	bad[nbad++] = UINT64_MAX;
	bad[nbad++] = 1;
	bad[nbad++] = N;
	bad[nbad++] = N + 1;
	test_rng_seed(&rng, 42);
	while (nbad < sizeof(bad) / sizeof(bad[0]))
		bad[nbad++] = test_rng_next(&rng);

	for (i = 0; i < nbad; i++) {
		bool live = false;

		for (j = 0; j < N; j++)
			if (j != 2 && j != 5 && bad[i] == ids[j])
				live = true;
		if (live)	/* a random id that happens to be real */
			continue;
		ctx = CTX(77);
		CHECK_EQ(vmbus_xact_complete(&t, bad[i], &ctx), -EPROTO);
		CHECK_EQ(vmbus_xact_cancel(&t, bad[i], &ctx), -ENOENT);
		CHECK_EQ(vmbus_xact_find(&t, bad[i], &ctx), -ENOENT);
		CHECK(ctx == CTX(77));	/* untouched on failure */
		CHECK_EQ(vmbus_xact_inflight(&t), N - 2);
	}
	/* None of that disturbed the live ones. */
	for (i = 0; i < N; i++) {
		if (i == 2 || i == 5)
			continue;
		CHECK_EQ(vmbus_xact_find(&t, ids[i], &ctx), 0);
		CHECK(ctx == CTX(i));
	}

	/* A reused slot does not honour its previous id. */
	{
		uint64_t again;

		CHECK_EQ(vmbus_xact_alloc(&t, CTX(50), &again), 0);
		CHECK(ID_SLOT(again) == 2 || ID_SLOT(again) == 5);
		CHECK(again != ids[2] && again != ids[5]);
		CHECK_EQ(vmbus_xact_complete(&t, ids[ID_SLOT(again)], &ctx), -EPROTO);
		CHECK_EQ(vmbus_xact_find(&t, again, &ctx), 0);
		CHECK(ctx == CTX(50));
	}
}

static void test_cancel(void)
{
	enum { N = 4 };
	struct vmbus_xact_slot slots[N];
	struct vmbus_xact_table t;
	uint64_t a, b;
	void *ctx;

	CHECK_EQ(vmbus_xact_init(&t, slots, N), 0);
	CHECK_EQ(vmbus_xact_cancel(&t, 0, &ctx), -ENOENT);
	CHECK_EQ(vmbus_xact_cancel(&t, 0x100000001ULL, &ctx), -ENOENT);
	CHECK_EQ(vmbus_xact_alloc(&t, CTX(1), &a), 0);
	CHECK_EQ(vmbus_xact_alloc(&t, CTX(2), &b), 0);
	ctx = NULL;
	CHECK_EQ(vmbus_xact_cancel(&t, a, &ctx), 0);
	CHECK(ctx == CTX(1));
	CHECK_EQ(vmbus_xact_inflight(&t), 1);
	/* The peer answers after we gave up: rejected as a protocol error. */
	CHECK_EQ(vmbus_xact_complete(&t, a, &ctx), -EPROTO);
	CHECK_EQ(vmbus_xact_cancel(&t, a, &ctx), -ENOENT);
	CHECK_EQ(vmbus_xact_inflight(&t), 1);
	CHECK_EQ(vmbus_xact_complete(&t, b, &ctx), 0);
	CHECK(ctx == CTX(2));
	CHECK_EQ(vmbus_xact_inflight(&t), 0);
	/* NULL contexts are legitimate. */
	CHECK_EQ(vmbus_xact_alloc(&t, NULL, &a), 0);
	ctx = CTX(3);
	CHECK_EQ(vmbus_xact_find(&t, a, &ctx), 0);
	CHECK(ctx == NULL);
	ctx = CTX(3);
	CHECK_EQ(vmbus_xact_complete(&t, a, &ctx), 0);
	CHECK(ctx == NULL);
}

static void test_cancel_next(uint32_t n)
{
	struct vmbus_xact_slot *slots = calloc(n, sizeof(*slots));
	uint64_t *ids = calloc(n, sizeof(*ids));
	uint8_t *seen = calloc(n, 1), *live = calloc(n, 1);
	struct vmbus_xact_table t;
	uint32_t i, cursor, nlive = 0, drained = 0;
	void *ctx;

	CHECK(slots && ids && seen && live);
	CHECK_EQ(vmbus_xact_init(&t, slots, n), 0);
	/* Empty table. */
	cursor = 0;
	CHECK_EQ(vmbus_xact_cancel_next(&t, &cursor, &ctx), -ENOENT);
	CHECK_EQ(cursor, n);

	for (i = 0; i < n; i++)
		CHECK_EQ(vmbus_xact_alloc(&t, CTX(i), &ids[i]), 0);
	/* Complete every third, leave holes. */
	for (i = 0; i < n; i++) {
		if (i % 3 == 1) {
			CHECK_EQ(vmbus_xact_complete(&t, ids[i], &ctx), 0);
		} else {
			live[i] = 1;
			nlive++;
		}
	}
	CHECK_EQ(vmbus_xact_inflight(&t), nlive);

	cursor = 0;
	for (;;) {
		uint32_t k, before = cursor;
		int ret = vmbus_xact_cancel_next(&t, &cursor, &ctx);

		if (ret == -ENOENT)
			break;
		CHECK_EQ(ret, 0);
		CHECK(cursor > before);
		CHECK(cursor <= n);
		k = (uint32_t)((char *)ctx - ctx_pool);
		CHECK(k < n && live[k]);
		CHECK(!seen[k]);
		seen[k] = 1;
		drained++;
		CHECK_EQ(vmbus_xact_inflight(&t), nlive - drained);
		CHECK(drained <= nlive);
	}
	CHECK_EQ(drained, nlive);
	CHECK_EQ(cursor, n);
	CHECK_EQ(vmbus_xact_inflight(&t), 0);
	CHECK_EQ(vmbus_xact_cancel_next(&t, &cursor, &ctx), -ENOENT);
	cursor = 0;
	CHECK_EQ(vmbus_xact_cancel_next(&t, &cursor, &ctx), -ENOENT);
	/* Late completions of drained transactions are refused. */
	for (i = 0; i < n; i++)
		CHECK_EQ(vmbus_xact_complete(&t, ids[i], &ctx), -EPROTO);
	/* A cursor past the end finds nothing and is clamped. */
	CHECK_EQ(vmbus_xact_alloc(&t, CTX(0), &ids[0]), 0);
	cursor = n + 5;
	CHECK_EQ(vmbus_xact_cancel_next(&t, &cursor, &ctx), -ENOENT);
	CHECK_EQ(cursor, n);
	CHECK_EQ(vmbus_xact_inflight(&t), 1);
	free(slots);
	free(ids);
	free(seen);
	free(live);
}

/* The generation counter wraps without ever producing id 0 or a repeat. */
static void test_generation_wrap(void)
{
	enum { N = 3 };
	struct vmbus_xact_slot slots[N];
	struct vmbus_xact_table t;
	uint64_t prev[8];
	unsigned int i, j;
	void *ctx;

	CHECK_EQ(vmbus_xact_init(&t, slots, N), 0);
	t.generation = UINT32_MAX - 3;
	for (i = 0; i < 8; i++) {
		CHECK_EQ(vmbus_xact_alloc(&t, CTX(i), &prev[i]), 0);
		CHECK(prev[i] != 0);
		CHECK(ID_GEN(prev[i]) != 0);
		for (j = 0; j < i; j++)
			CHECK(prev[i] != prev[j]);
		CHECK_EQ(vmbus_xact_complete(&t, prev[i], &ctx), 0);
		CHECK(ctx == CTX(i));
		CHECK_EQ(vmbus_xact_complete(&t, prev[i], &ctx), -EPROTO);
	}
}

/* ------------------------------------------------------- randomized model */

#define M_SLOTS		16
#define M_OPS		100000
#define M_HASH		(1u << 18)	/* > M_OPS, power of two */

struct model {
	uint64_t id[M_SLOTS];	/* live transactions, unordered */
	void *ctx[M_SLOTS];
	uint32_t n;
	uint64_t dead[64];	/* recently completed / cancelled ids */
	uint32_t ndead;
	uint64_t *issued;	/* every id ever handed out (open addressing) */
};

static bool issued_insert(struct model *m, uint64_t id)
{
	uint32_t h = (uint32_t)((id * 0x9e3779b97f4a7c15ULL) >> 40) & (M_HASH - 1);

	while (m->issued[h]) {
		if (m->issued[h] == id)
			return false;
		h = (h + 1) & (M_HASH - 1);
	}
	m->issued[h] = id;
	return true;
}

static void model_kill(struct model *m, uint32_t k)
{
	m->dead[m->ndead++ % 64] = m->id[k];
	m->n--;
	m->id[k] = m->id[m->n];
	m->ctx[k] = m->ctx[m->n];
}

static int model_find(const struct model *m, uint64_t id)
{
	uint32_t k;

	for (k = 0; k < m->n; k++)
		if (m->id[k] == id)
			return (int)k;
	return -1;
}

static void model_check(const struct model *m, const struct vmbus_xact_table *t)
{
	uint32_t k, used = 0;
	void *ctx;

	CHECK_EQ(vmbus_xact_inflight(t), m->n);
	for (k = 0; k < m->n; k++) {
		ctx = NULL;
		CHECK_EQ(vmbus_xact_find(t, m->id[k], &ctx), 0);
		CHECK(ctx == m->ctx[k]);
	}
	for (k = 0; k < t->nslots; k++)
		if (t->slots[k].id) {
			used++;
			CHECK(model_find(m, t->slots[k].id) >= 0);
		}
	CHECK_EQ(used, m->n);
	for (k = 0; k < 64 && k < m->ndead; k++)
		CHECK_EQ(vmbus_xact_find(t, m->dead[k], &ctx), -ENOENT);
}

static void test_model(void)
{
	struct vmbus_xact_slot slots[M_SLOTS];
	struct vmbus_xact_table t;
	struct model m = { .n = 0 };
	struct test_rng rng;
	uint32_t op, next_ctx = 0;
	unsigned long stats[8] = { 0 };

	m.issued = calloc(M_HASH, sizeof(*m.issued));
	CHECK(m.issued != NULL);
	test_rng_seed(&rng, 0x5eed0001);
	CHECK_EQ(vmbus_xact_init(&t, slots, M_SLOTS), 0);

	for (op = 0; op < M_OPS; op++) {
		uint32_t kind = (uint32_t)test_rng_below(&rng, 100);
		void *ctx = NULL;
		uint64_t id;
		int ret, k;

		if (kind < 40) {				/* alloc */
			/* unique and never dereferenced */
			void *c = (void *)(uintptr_t)(++next_ctx * 16);

			id = 0;
			ret = vmbus_xact_alloc(&t, c, &id);
			if (m.n == M_SLOTS) {
				CHECK_EQ(ret, -EAGAIN);
			} else {
				CHECK_EQ(ret, 0);
				CHECK(id != 0);
				CHECK(issued_insert(&m, id));	/* never seen before */
				m.id[m.n] = id;
				m.ctx[m.n] = c;
				m.n++;
			}
			stats[0]++;
		} else if (kind < 70) {				/* complete a live one */
			if (!m.n)
				continue;
			k = (int)test_rng_below(&rng, m.n);
			CHECK_EQ(vmbus_xact_complete(&t, m.id[k], &ctx), 0);
			CHECK(ctx == m.ctx[k]);
			model_kill(&m, (uint32_t)k);
			stats[1]++;
		} else if (kind < 78) {				/* cancel a live one */
			if (!m.n)
				continue;
			k = (int)test_rng_below(&rng, m.n);
			CHECK_EQ(vmbus_xact_cancel(&t, m.id[k], &ctx), 0);
			CHECK(ctx == m.ctx[k]);
			model_kill(&m, (uint32_t)k);
			stats[2]++;
		} else if (kind < 86) {				/* stale id */
			if (!m.ndead)
				continue;
			id = m.dead[test_rng_below(&rng, m.ndead < 64 ? m.ndead : 64)];
			CHECK(model_find(&m, id) < 0);
			CHECK_EQ(vmbus_xact_complete(&t, id, &ctx), -EPROTO);
			CHECK_EQ(vmbus_xact_cancel(&t, id, &ctx), -ENOENT);
			stats[3]++;
		} else if (kind < 92) {				/* forged id */
			switch (test_rng_below(&rng, 3)) {
			case 0:
				id = test_rng_next(&rng);
				break;
			case 1:	/* a live slot, another generation */
				if (!m.n)
					continue;
				id = m.id[test_rng_below(&rng, m.n)] +
				     ((test_rng_below(&rng, 1000) + 1) << 32);
				break;
			default:	/* past the table */
				id = (test_rng_next(&rng) & ~0xffffffffULL) |
				     (M_SLOTS + 1 + test_rng_below(&rng, 1000));
				break;
			}
			ret = vmbus_xact_complete(&t, id, &ctx);
			k = model_find(&m, id);
			if (k >= 0) {	/* astronomically unlikely, but then it is real */
				CHECK_EQ(ret, 0);
				model_kill(&m, (uint32_t)k);
			} else {
				CHECK_EQ(ret, -EPROTO);
			}
			stats[4]++;
		} else if (kind < 97) {				/* find */
			if (m.n) {
				k = (int)test_rng_below(&rng, m.n);
				CHECK_EQ(vmbus_xact_find(&t, m.id[k], &ctx), 0);
				CHECK(ctx == m.ctx[k]);
			}
			stats[5]++;
		} else {					/* reset: drain */
			uint32_t cursor = 0, drained = 0, before = m.n;

			while ((ret = vmbus_xact_cancel_next(&t, &cursor, &ctx)) == 0) {
				k = -1;
				for (uint32_t j = 0; j < m.n; j++)
					if (m.ctx[j] == ctx)
						k = (int)j;
				CHECK(k >= 0);
				model_kill(&m, (uint32_t)k);
				drained++;
			}
			CHECK_EQ(ret, -ENOENT);
			CHECK_EQ(drained, before);
			CHECK_EQ(m.n, 0);
			stats[6]++;
		}
		model_check(&m, &t);
	}
	printf("model: %lu alloc, %lu complete, %lu cancel, %lu stale, %lu forged, "
	       "%lu find, %lu drain\n", stats[0], stats[1], stats[2], stats[3], stats[4],
	       stats[5], stats[6]);
	free(m.issued);
}

int main(void)
{
	test_init_args();
	test_alloc_complete(1);
	test_alloc_complete(2);
	test_alloc_complete(64);
	test_alloc_complete(1000);
	test_forged_ids();
	test_cancel();
	test_cancel_next(1);
	test_cancel_next(7);
	test_cancel_next(100);
	test_generation_wrap();
	test_model();
	printf("xact_test: ok\n");
	return 0;
}
