// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * transport.c - building and checking the BAR2 header (see transport.h).
 */
#include "transport.h"

struct bar_region {
	uint64_t start, len;
};

static bool bar_regions_disjoint(const struct bar_region *r, unsigned int n)
{
	unsigned int i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (r[i].start < r[j].start + r[j].len &&
			    r[j].start < r[i].start + r[i].len)
				return false;
	return true;
}

int vmbus_bar_header_check(const struct vmbus_bar_header *h, uint64_t bar_size)
{
	struct bar_region r[5];
	uint32_t bitmap;
	unsigned int i;

	if (h->magic != VMBUS_BAR_MAGIC || h->layout_version != VMBUS_BAR_LAYOUT_VERSION)
		return -EPROTO;
	if (h->bar_size != bar_size || bar_size < VMBUS_PAGE_SIZE)
		return -EPROTO;
	if (h->max_channels < 2 || h->max_channels > VMBUS_MAX_CHANNELS ||
	    h->num_vectors < 2 || h->num_vectors > VMBUS_MAX_VECTORS)
		return -EPROTO;
	if (h->to_guest_ring_offset % VMBUS_PAGE_SIZE || h->to_host_ring_offset % VMBUS_PAGE_SIZE ||
	    h->to_guest_ring_size % VMBUS_PAGE_SIZE || h->to_host_ring_size % VMBUS_PAGE_SIZE ||
	    h->to_guest_ring_size < VMBUS_PAGE_SIZE || h->to_host_ring_size < VMBUS_PAGE_SIZE ||
	    h->to_host_events_offset % 8 || h->to_guest_events_offset % 8)
		return -EPROTO;
	bitmap = vmbus_event_bitmap_bytes(h->max_channels);
	r[0] = (struct bar_region){ 0, VMBUS_PAGE_SIZE };
	r[1] = (struct bar_region){ h->to_guest_ring_offset,
				    (uint64_t)VMBUS_RING_HEADER_SIZE + h->to_guest_ring_size };
	r[2] = (struct bar_region){ h->to_host_ring_offset,
				    (uint64_t)VMBUS_RING_HEADER_SIZE + h->to_host_ring_size };
	r[3] = (struct bar_region){ h->to_host_events_offset, bitmap };
	r[4] = (struct bar_region){ h->to_guest_events_offset, (uint64_t)bitmap * h->num_vectors };
	for (i = 0; i < 5; i++)
		if (r[i].start + r[i].len > bar_size)
			return -EPROTO;
	return bar_regions_disjoint(r, 5) ? 0 : -EPROTO;
}

int vmbus_bar_header_init(struct vmbus_bar_header *h, uint32_t bar_size, uint32_t num_vectors)
{
	uint32_t bitmap = vmbus_event_bitmap_bytes(VMBUS_MAX_CHANNELS);
	uint32_t ring = VMBUS_RING_HEADER_SIZE + VMBUS_DEFAULT_CTL_RING_SIZE;

	if (num_vectors < 2 || num_vectors > VMBUS_MAX_VECTORS)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	h->magic = VMBUS_BAR_MAGIC;
	h->layout_version = VMBUS_BAR_LAYOUT_VERSION;
	h->bar_size = bar_size;
	h->max_channels = VMBUS_MAX_CHANNELS;
	h->num_vectors = num_vectors;
	h->to_guest_ring_offset = VMBUS_PAGE_SIZE;
	h->to_guest_ring_size = VMBUS_DEFAULT_CTL_RING_SIZE;
	h->to_host_ring_offset = VMBUS_PAGE_SIZE + ring;
	h->to_host_ring_size = VMBUS_DEFAULT_CTL_RING_SIZE;
	h->to_host_events_offset = VMBUS_PAGE_SIZE + 2 * ring;
	h->to_guest_events_offset = h->to_host_events_offset + bitmap;
	return vmbus_bar_header_check(h, bar_size) ? -EINVAL : 0;
}
