// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test.c - PRNG and checksum shared by the test programs.
 */
#include "test.h"

void test_rng_seed(struct test_rng *rng, uint64_t seed)
{
	rng->state = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

uint64_t test_rng_next(struct test_rng *rng)
{
	uint64_t x = rng->state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng->state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint64_t test_rng_below(struct test_rng *rng, uint64_t bound)
{
	return bound ? test_rng_next(rng) % bound : 0;
}

void test_rng_fill(struct test_rng *rng, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len >= 8) {
		uint64_t v = test_rng_next(rng);

		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = test_rng_next(rng);

		memcpy(p, &v, len);
	}
}

uint64_t test_checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
