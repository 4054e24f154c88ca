/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * pagelist.h - the receiver's parser for the page list that heads a
 * VMBUS_PACKET_PAGES packet (docs/protocol/channel.md, section 2.4):
 *
 *   u32 range_count (>= 1); u32 reserved;
 *   range_count times: u32 offset (< 4096); u32 len (> 0);
 *                      u64 pfn[ceil((offset + len) / 4096)]
 *
 * vmbus_page_list_check() validates the whole list against the caller's
 * limits before anything is used; vmbus_page_list_next() then walks it.
 * Page frame numbers are not checked here: the receiver translates each
 * one (the host through guestmem_translate()).
 */
#ifndef VMBUS_PAGELIST_H
#define VMBUS_PAGELIST_H

#include "platform.h"

#define VMBUS_PAGE_LIST_PAGE_SIZE 4096u

struct vmbus_page_list_info {
	uint32_t nranges;
	uint32_t npages;	/* pfns in all ranges */
	uint64_t bytes;		/* sum of the ranges' len */
};

struct vmbus_page_range {
	uint32_t offset;	/* into the first page */
	uint32_t len;
	uint32_t npages;
	const uint64_t *pfn;	/* npages entries, inside the checked buffer */
};

struct vmbus_page_list_iter {
	const uint8_t *pos;
	uint32_t left;		/* ranges not yet returned */
};

/*
 * Check the page list in buf[0, len) (len: the whole type-specific header,
 * 8-byte aligned buf). -EPROTO if malformed (bad counts, offset, zero len,
 * length not exactly what the ranges describe), -E2BIG if over max_ranges
 * or max_pages.
 */
int vmbus_page_list_check(const void *buf, uint32_t len, uint32_t max_ranges, uint32_t max_pages,
			  struct vmbus_page_list_info *ret_info);
/* Walk a list vmbus_page_list_check() accepted. */
void vmbus_page_list_iter_init(struct vmbus_page_list_iter *it, const void *buf);
/* 1 with *ret filled, 0 at the end. */
int vmbus_page_list_next(struct vmbus_page_list_iter *it, struct vmbus_page_range *ret);

#endif
