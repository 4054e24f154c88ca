// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * pagelist.c - parse the page list of a VMBUS_PACKET_PAGES packet (see
 * pagelist.h). Every count and length comes from the other side: sums are
 * done in 64 bits and each range is bounded by what is left of the buffer
 * before it is read.
 */
#include "pagelist.h"

struct vmbus_page_list_hdr_wire {
	uint32_t range_count;
	uint32_t reserved;
};

struct vmbus_page_range_wire {
	uint32_t offset;
	uint32_t len;
};

static uint32_t vmbus_page_range_pages(uint32_t offset, uint32_t len)
{
	return (uint32_t)(((uint64_t)offset + len + VMBUS_PAGE_LIST_PAGE_SIZE - 1) /
			  VMBUS_PAGE_LIST_PAGE_SIZE);
}

int vmbus_page_list_check(const void *buf, uint32_t len, uint32_t max_ranges, uint32_t max_pages,
			  struct vmbus_page_list_info *ret_info)
{
	const uint8_t *p = buf;
	struct vmbus_page_list_hdr_wire h;
	uint64_t pos = sizeof(h), bytes = 0, pages = 0;
	uint32_t i;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, p, sizeof(h));
	if (h.range_count == 0)
		return -EPROTO;
	if (h.range_count > max_ranges)
		return -E2BIG;
	for (i = 0; i < h.range_count; i++) {
		struct vmbus_page_range_wire r;
		uint32_t n;

		if (len - pos < sizeof(r))
			return -EPROTO;
		memcpy(&r, p + pos, sizeof(r));
		pos += sizeof(r);
		if (r.offset >= VMBUS_PAGE_LIST_PAGE_SIZE || r.len == 0)
			return -EPROTO;
		n = vmbus_page_range_pages(r.offset, r.len);
		if ((uint64_t)n * 8 > len - pos)
			return -EPROTO;
		pos += (uint64_t)n * 8;
		pages += n;
		bytes += r.len;
		if (pages > max_pages)
			return -E2BIG;
	}
	if (pos != len)
		return -EPROTO;
	if (ret_info) {
		ret_info->nranges = h.range_count;
		ret_info->npages = (uint32_t)pages;
		ret_info->bytes = bytes;
	}
	return 0;
}

void vmbus_page_list_iter_init(struct vmbus_page_list_iter *it, const void *buf)
{
	struct vmbus_page_list_hdr_wire h;

	memcpy(&h, buf, sizeof(h));
	it->pos = (const uint8_t *)buf + sizeof(h);
	it->left = h.range_count;
}

int vmbus_page_list_next(struct vmbus_page_list_iter *it, struct vmbus_page_range *ret)
{
	struct vmbus_page_range_wire r;

	if (it->left == 0)
		return 0;
	memcpy(&r, it->pos, sizeof(r));
	ret->offset = r.offset;
	ret->len = r.len;
	ret->npages = vmbus_page_range_pages(r.offset, r.len);
	ret->pfn = (const uint64_t *)(const void *)(it->pos + sizeof(r));
	it->pos += sizeof(r) + (size_t)ret->npages * 8;
	it->left--;
	return 1;
}
