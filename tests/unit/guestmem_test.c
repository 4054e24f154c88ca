// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * guestmem_test.c - guest-physical address translation in the worker
 * (host/guestmem.c): the q35 RAM layout below and above 4 GiB, the legacy
 * hole, overflow and out-of-RAM refusals, and the contiguous mapping of
 * scattered guest pages that ring code relies on.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/guestmem.h"
#include "tests/lib/test.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static void test_layout_rules(void)
{
	CHECK_EQ(guestmem_q35_lowmem(512 * MIB), 512 * MIB);
	CHECK_EQ(guestmem_q35_lowmem(0xb0000000ULL - 4096), 0xb0000000ULL - 4096);
	CHECK_EQ(guestmem_q35_lowmem(0xb0000000ULL), 2 * GIB);
	CHECK_EQ(guestmem_q35_lowmem(4 * GIB), 2 * GIB);
}

/* Translation only needs sizes; no memory is touched. */
static void test_translate_small(void)
{
	struct guestmem gm = { .fd = -1, .size = 256 * MIB, .lowmem = 256 * MIB };

	CHECK_EQ(guestmem_translate(&gm, 0, 4096), 0);
	CHECK_EQ(guestmem_translate(&gm, 0x100000, 4096), 0x100000);
	CHECK_EQ(guestmem_translate(&gm, 256 * MIB - 4096, 4096), 256 * MIB - 4096);
	CHECK_EQ(guestmem_translate(&gm, 256 * MIB - 4096, 4097), -EFAULT);	/* runs off the end */
	CHECK_EQ(guestmem_translate(&gm, 256 * MIB, 1), -EFAULT);
	CHECK_EQ(guestmem_translate(&gm, 0xa0000, 4096), -EFAULT);		/* VGA */
	CHECK_EQ(guestmem_translate(&gm, 0xff000, 4096), -EFAULT);		/* BIOS shadow */
	CHECK_EQ(guestmem_translate(&gm, 0x9f000, 0x2000), -EFAULT);		/* straddles the hole */
	CHECK_EQ(guestmem_translate(&gm, 0x9f000, 0x1000), 0x9f000);
	CHECK_EQ(guestmem_translate(&gm, 4 * GIB, 4096), -EFAULT);		/* no high RAM */
	CHECK_EQ(guestmem_translate(&gm, 0xfe000000ULL, 4096), -EFAULT);	/* MMIO, BAR2 */
	CHECK_EQ(guestmem_translate(&gm, 4096, 0), -EFAULT);
	CHECK_EQ(guestmem_translate(&gm, UINT64_MAX - 10, 4096), -EFAULT);	/* wraps */
}

static void test_translate_above_4g(void)
{
	/* 5 GiB guest: 2 GiB low, 3 GiB at 4 GiB..7 GiB, file offsets 2..5 GiB. */
	struct guestmem gm = { .fd = -1, .size = 5 * GIB, .lowmem = guestmem_q35_lowmem(5 * GIB) };

	CHECK_EQ(gm.lowmem, 2 * GIB);
	CHECK_EQ(guestmem_translate(&gm, 2 * GIB - 4096, 4096), 2 * GIB - 4096);
	CHECK_EQ(guestmem_translate(&gm, 2 * GIB, 4096), -EFAULT);		/* PCI hole */
	CHECK_EQ(guestmem_translate(&gm, 3 * GIB, 4096), -EFAULT);
	CHECK_EQ(guestmem_translate(&gm, 4 * GIB - 4096, 8192), -EFAULT);	/* straddles 4 GiB */
	CHECK_EQ(guestmem_translate(&gm, 4 * GIB, 4096), 2 * GIB);
	CHECK_EQ(guestmem_translate(&gm, 7 * GIB - 4096, 4096), 5 * GIB - 4096);
	CHECK_EQ(guestmem_translate(&gm, 7 * GIB - 4096, 8192), -EFAULT);
	CHECK_EQ(guestmem_translate(&gm, 7 * GIB, 4096), -EFAULT);
	CHECK_EQ(guestmem_translate(&gm, 2 * GIB - 4096, 8192), -EFAULT);	/* low end into hole */
}

/* Pages scattered in the file read as one buffer through the mapping. */
static void test_map_pages(void)
{
	struct guestmem gm;
	uint64_t offsets[5] = { 7 * 4096, 8 * 4096, 2 * 4096, 100 * 4096, 101 * 4096 };
	uint8_t *map;
	void *v;
	unsigned int i;

	CHECK_EQ(guestmem_create(&gm, 4 * MIB), 0);
	for (i = 0; i < 5; i++)
		memset(gm.base + offsets[i], 'a' + (int)i, 4096);
	CHECK_EQ(guestmem_map_pages(&gm, offsets, 5, &v), 0);
	map = v;
	for (i = 0; i < 5; i++) {
		CHECK(map[i * 4096] == 'a' + i);
		CHECK(map[i * 4096 + 4095] == 'a' + i);
	}
	/* Writes through the view land in guest RAM. */
	map[2 * 4096 + 10] = 'Z';
	CHECK(gm.base[2 * 4096 + 10] == 'Z');
	guestmem_unmap_pages(map, 5);

	offsets[0] = 4 * MIB;			/* beyond the file */
	CHECK_EQ(guestmem_map_pages(&gm, offsets, 1, &v), -EFAULT);
	offsets[0] = 4096 + 1;			/* unaligned */
	CHECK_EQ(guestmem_map_pages(&gm, offsets, 1, &v), -EFAULT);
	CHECK_EQ(guestmem_map_pages(&gm, offsets, 0, &v), -EINVAL);
	guestmem_destroy(&gm);
	guestmem_destroy(&gm);			/* destructors accept being called twice */
}

int main(void)
{
	test_layout_rules();
	test_translate_small();
	test_translate_above_4g();
	test_map_pages();
	printf("guestmem_test: ok\n");
	return 0;
}
