// SPDX-License-Identifier: GPL-2.0
/*
 * pagelist.c - guest page frame numbers, and building the page list that
 * heads a VMBUS_PACKET_PAGES packet (wire format and API in openvmbus.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "openvmbus.h"
#include "vmbus/transport.h"

static_assert(PAGE_SIZE == VMBUS_PAGE_SIZE, "guest pages are the bus's 4 KiB pages");
static_assert(sizeof(struct openvmbus_page_list_hdr) == 8, "page list header is 8 bytes");
static_assert(sizeof(struct openvmbus_page_range_hdr) == 8, "range header is 8 bytes");

u64 openvmbus_virt_to_pfn(const void *addr)
{
	if (is_vmalloc_addr(addr))
		return vmalloc_to_pfn(addr);
	return page_to_pfn(virt_to_page(addr));
}
EXPORT_SYMBOL_GPL(openvmbus_virt_to_pfn);

void openvmbus_page_list_init(struct openvmbus_page_list *pl, void *buf, u32 size)
{
	pl->buf = buf;
	pl->size = size;
	pl->used = 0;
	pl->last = 0;
	if (size >= sizeof(struct openvmbus_page_list_hdr)) {
		memset(buf, 0, sizeof(struct openvmbus_page_list_hdr));
		pl->used = sizeof(struct openvmbus_page_list_hdr);
	}
}
EXPORT_SYMBOL_GPL(openvmbus_page_list_init);

/* Append a range header for offset/len; the caller fills *ret_npages pfns. */
static struct openvmbus_page_range_hdr *page_list_append(struct openvmbus_page_list *pl,
							  u32 offset, u32 len, u32 *ret_npages)
{
	struct openvmbus_page_list_hdr *h = pl->buf;
	struct openvmbus_page_range_hdr *r;
	u64 npages = DIV_ROUND_UP((u64)offset + len, VMBUS_PAGE_SIZE);
	u64 need = sizeof(*r) + npages * sizeof(r->pfn[0]);

	if (!len || offset >= VMBUS_PAGE_SIZE)
		return ERR_PTR(-EINVAL);
	if (pl->used < sizeof(*h) || need > pl->size - pl->used)
		return ERR_PTR(-ENOBUFS);
	r = (struct openvmbus_page_range_hdr *)((u8 *)pl->buf + pl->used);
	r->offset = offset;
	r->len = len;
	pl->last = pl->used;
	pl->used += need;
	h->range_count++;
	*ret_npages = npages;
	return r;
}

int openvmbus_page_list_add_page(struct openvmbus_page_list *pl, u64 pfn, u32 offset, u32 len)
{
	struct openvmbus_page_range_hdr *r = NULL;
	u32 end, npages;

	if (!len || offset >= VMBUS_PAGE_SIZE || len > VMBUS_PAGE_SIZE - offset)
		return -EINVAL;
	if (pl->last)
		r = (struct openvmbus_page_range_hdr *)((u8 *)pl->buf + pl->last);
	/* The last range's pfns end the list, so it can grow in place. */
	if (r && r->len <= U32_MAX - 2 * VMBUS_PAGE_SIZE) {
		end = r->offset + r->len;	/* bytes from the start of its first page */
		npages = DIV_ROUND_UP(end, VMBUS_PAGE_SIZE);
		if (end % VMBUS_PAGE_SIZE) {
			/* Its last page is partly used: join only within that page. */
			if (offset == end % VMBUS_PAGE_SIZE && r->pfn[npages - 1] == pfn) {
				r->len += len;
				return 0;
			}
		} else if (!offset) {
			if (pl->size - pl->used < sizeof(r->pfn[0]))
				return -ENOBUFS;
			r->pfn[npages] = pfn;
			pl->used += sizeof(r->pfn[0]);
			r->len += len;
			return 0;
		}
	}
	r = page_list_append(pl, offset, len, &npages);
	if (IS_ERR(r))
		return PTR_ERR(r);
	r->pfn[0] = pfn;
	return 0;
}
EXPORT_SYMBOL_GPL(openvmbus_page_list_add_page);

int openvmbus_page_list_add_buf(struct openvmbus_page_list *pl, const void *addr, u32 len)
{
	const u8 *page = (const u8 *)((unsigned long)addr & PAGE_MASK);
	struct openvmbus_page_range_hdr *r;
	u32 i, npages;

	r = page_list_append(pl, offset_in_page(addr), len, &npages);
	if (IS_ERR(r))
		return PTR_ERR(r);
	for (i = 0; i < npages; i++)
		r->pfn[i] = openvmbus_virt_to_pfn(page + (size_t)i * PAGE_SIZE);
	return 0;
}
EXPORT_SYMBOL_GPL(openvmbus_page_list_add_buf);
