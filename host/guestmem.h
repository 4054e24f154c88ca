/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * guestmem.h - guest RAM as the worker sees it: a memfd shared with QEMU,
 * and the translation of guest-physical addresses to offsets in it. Every
 * address the guest hands us goes through guestmem_translate(), which
 * refuses anything that is not plain RAM (BAR2, MMIO, ROM, beyond the end).
 */
#ifndef HOST_GUESTMEM_H
#define HOST_GUESTMEM_H

#include <stdint.h>
#include <stddef.h>

#define GUESTMEM_PAGE_SIZE 4096u

struct guestmem {
	int fd;			/* memfd, inherited by QEMU */
	uint8_t *base;		/* whole RAM mapped shared */
	uint64_t size;		/* bytes of RAM */
	uint64_t lowmem;	/* RAM bytes below 4 GiB (q35 rule) */
};

/* q35: RAM below 4 GiB, the rest from 4 GiB up (see docs/protocol/transport.md). */
uint64_t guestmem_q35_lowmem(uint64_t ram_size);

int guestmem_create(struct guestmem *gm, uint64_t size);
/* Use an existing fd (the userspace test guest maps what QEMU would). */
int guestmem_attach(struct guestmem *gm, int fd, uint64_t size);
void guestmem_destroy(struct guestmem *gm);

/*
 * Offset in the RAM file of [gpa, gpa + len), which must lie inside one RAM
 * region and outside the legacy 0xa0000-0xfffff range. -EFAULT otherwise.
 */
int64_t guestmem_translate(const struct guestmem *gm, uint64_t gpa, uint64_t len);
/* Pointer to [gpa, gpa + len) or NULL. */
void *guestmem_ptr(const struct guestmem *gm, uint64_t gpa, uint64_t len);

/*
 * Map n guest pages (already translated: file offsets) at consecutive
 * addresses, so a ring spread over scattered pages reads as one buffer.
 */
int guestmem_map_pages(const struct guestmem *gm, const uint64_t *offsets, uint32_t n,
		       void **ret_map);
void guestmem_unmap_pages(void *map, uint32_t n);

#endif
