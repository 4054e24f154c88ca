/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * test.h - helpers shared by the standalone test programs: checks that
 * print where they failed and exit 1, the skip exit code, a seeded PRNG and
 * a checksum.
 */
#ifndef OPENVMBUS_TEST_H
#define OPENVMBUS_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_SKIP 77

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
			__FILE__, __LINE__, #cond);			\
		exit(1);						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
			__FILE__, __LINE__, #a, #b, _a, _b);		\
		exit(1);						\
	}								\
} while (0)

/* xorshift64*: fast, reproducible from a seed. */
struct test_rng {
	uint64_t state;
};

void test_rng_seed(struct test_rng *rng, uint64_t seed);
uint64_t test_rng_next(struct test_rng *rng);
/* Uniform in [0, bound). */
uint64_t test_rng_below(struct test_rng *rng, uint64_t bound);
void test_rng_fill(struct test_rng *rng, void *buf, size_t len);

/* FNV-1a 64, for end-to-end payload checks. */
uint64_t test_checksum(const void *buf, size_t len);

#endif
