// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * pagelist_test.c - the page-list parser (vmbus/pagelist.c): lists built
 * the way the guest builds them are accepted and walked back exactly;
 * every malformed shape (no ranges, offset past the page, zero length,
 * header cut short, pfns missing or left over, counts that overflow) is
 * refused, limits give -E2BIG, and random bytes never walk out of bounds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/lib/test.h"
#include "vmbus/pagelist.h"

struct list {
	uint64_t w[512];
	uint32_t len;
};

static void list_init(struct list *l, uint32_t nranges)
{
	memset(l, 0, sizeof(*l));
	l->w[0] = nranges;
	l->len = 8;
}

static void list_range(struct list *l, uint32_t offset, uint32_t len, uint32_t npages, uint64_t pfn0)
{
	l->w[l->len / 8] = (uint64_t)len << 32 | offset;
	l->len += 8;
	for (uint32_t i = 0; i < npages; i++) {
		l->w[l->len / 8] = pfn0 + i * 3;
		l->len += 8;
	}
}

static void test_valid(void)
{
	struct vmbus_page_list_info info;
	struct vmbus_page_list_iter it;
	struct vmbus_page_range r;
	struct list l;

	list_init(&l, 3);
	list_range(&l, 0, 4096, 1, 100);	/* one whole page */
	list_range(&l, 512, 8192, 3, 200);	/* unaligned: spans 3 pages */
	list_range(&l, 4095, 1, 1, 300);	/* last byte of a page */
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 3, 5, &info), 0);
	CHECK_EQ(info.nranges, 3);
	CHECK_EQ(info.npages, 5);
	CHECK_EQ(info.bytes, 4096 + 8192 + 1);

	vmbus_page_list_iter_init(&it, l.w);
	CHECK_EQ(vmbus_page_list_next(&it, &r), 1);
	CHECK(r.offset == 0 && r.len == 4096 && r.npages == 1 && r.pfn[0] == 100);
	CHECK_EQ(vmbus_page_list_next(&it, &r), 1);
	CHECK(r.offset == 512 && r.len == 8192 && r.npages == 3);
	CHECK(r.pfn[0] == 200 && r.pfn[1] == 203 && r.pfn[2] == 206);
	CHECK_EQ(vmbus_page_list_next(&it, &r), 1);
	CHECK(r.offset == 4095 && r.len == 1 && r.npages == 1 && r.pfn[0] == 300);
	CHECK_EQ(vmbus_page_list_next(&it, &r), 0);

	/* Limits. */
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 2, 5, NULL), -E2BIG);
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 3, 4, NULL), -E2BIG);
}

static void test_malformed(void)
{
	struct list l = { .len = 0 };

	CHECK_EQ(vmbus_page_list_check(l.w, 0, 8, 8, NULL), -EPROTO);
	CHECK_EQ(vmbus_page_list_check(l.w, 4, 8, 8, NULL), -EPROTO);
	list_init(&l, 0);				/* no ranges */
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 8, 8, NULL), -EPROTO);
	list_init(&l, 1);				/* range header missing */
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 8, 8, NULL), -EPROTO);
	list_init(&l, 1);
	list_range(&l, 4096, 1, 2, 1);			/* offset past the page */
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 8, 8, NULL), -EPROTO);
	list_init(&l, 1);
	list_range(&l, 0, 0, 0, 1);			/* zero length */
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 8, 8, NULL), -EPROTO);
	list_init(&l, 1);
	list_range(&l, 100, 4000, 1, 1);		/* needs 2 pfns, has 1 */
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 8, 8, NULL), -EPROTO);
	list_init(&l, 1);
	list_range(&l, 0, 4096, 2, 1);			/* one pfn left over */
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 8, 8, NULL), -EPROTO);
	list_init(&l, 2);				/* claims 2 ranges, has 1 */
	list_range(&l, 0, 4096, 1, 1);
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 8, 8, NULL), -EPROTO);
	list_init(&l, 1);				/* len near 2^32: 2^20 pfns claimed */
	list_range(&l, 4095, UINT32_MAX, 1, 1);
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, 8, UINT32_MAX, NULL), -EPROTO);
	list_init(&l, UINT32_MAX);			/* huge range count */
	CHECK_EQ(vmbus_page_list_check(l.w, l.len, UINT32_MAX, UINT32_MAX, NULL), -EPROTO);
}

/* Random lists: whatever check() accepts must walk inside the buffer and add up. */
static void test_random(void)
{
	struct test_rng rng;
	struct list l;
	unsigned int accepted = 0;

	test_rng_seed(&rng, 42);
	for (int n = 0; n < 200000; n++) {
		struct vmbus_page_list_info info;
		uint32_t len = (uint32_t)test_rng_below(&rng, 64) * 8;

		test_rng_fill(&rng, l.w, len);
		/* Keep counts small often enough to reach the walk. */
		l.w[0] = test_rng_below(&rng, 4);
		if (len > 8)
			l.w[1] = (test_rng_below(&rng, 9000) << 32) | test_rng_below(&rng, 4200);
		if (vmbus_page_list_check(l.w, len, 16, 64, &info) == 0) {
			struct vmbus_page_list_iter it;
			struct vmbus_page_range r;
			uint64_t bytes = 0;
			uint32_t pages = 0;

			vmbus_page_list_iter_init(&it, l.w);
			while (vmbus_page_list_next(&it, &r)) {
				CHECK((const uint8_t *)(r.pfn + r.npages) <= (const uint8_t *)l.w + len);
				CHECK(r.offset < 4096 && r.len > 0);
				bytes += r.len;
				pages += r.npages;
			}
			CHECK_EQ(bytes, info.bytes);
			CHECK_EQ(pages, info.npages);
			accepted++;
		}
	}
	CHECK(accepted > 0);
}

int main(void)
{
	test_valid();
	test_malformed();
	test_random();
	printf("pagelist_test: ok\n");
	return 0;
}
