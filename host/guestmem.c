// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * guestmem.c - guest RAM and address translation (see guestmem.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/guestmem.h"

#define GIB (1ULL << 30)
#define Q35_LOWMEM_LIMIT 0xb0000000ULL
#define LEGACY_HOLE_START 0xa0000ULL
#define LEGACY_HOLE_END 0x100000ULL

uint64_t guestmem_q35_lowmem(uint64_t ram_size)
{
	if (ram_size >= Q35_LOWMEM_LIMIT)
		return 2 * GIB;
	return ram_size;
}

int guestmem_attach(struct guestmem *gm, int fd, uint64_t size)
{
	void *p;

	if (size == 0 || size % GUESTMEM_PAGE_SIZE)
		return -EINVAL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	gm->fd = fd;
	gm->base = p;
	gm->size = size;
	gm->lowmem = guestmem_q35_lowmem(size);
	return 0;
}

int guestmem_create(struct guestmem *gm, uint64_t size)
{
	int fd, r;

	fd = memfd_create("openvmbus-guest-ram", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		goto err_fd;
	}
	r = guestmem_attach(gm, fd, size);
	if (r < 0)
		goto err_fd;
	return 0;
err_fd:
	close(fd);
	return r;
}

void guestmem_destroy(struct guestmem *gm)
{
	if (!gm->base)
		return;
	munmap(gm->base, gm->size);
	close(gm->fd);
	gm->base = NULL;
	gm->fd = -1;
}

int64_t guestmem_translate(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	if (len == 0 || end < gpa)
		return -EFAULT;
	if (gpa < LEGACY_HOLE_END && end > LEGACY_HOLE_START)
		return -EFAULT;
	if (end <= gm->lowmem)
		return (int64_t)gpa;
	if (gpa >= 4 * GIB && end - 4 * GIB <= gm->size - gm->lowmem)
		return (int64_t)(gpa - 4 * GIB + gm->lowmem);
	return -EFAULT;
}

void *guestmem_ptr(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
	int64_t off = guestmem_translate(gm, gpa, len);

	return off < 0 ? NULL : gm->base + off;
}

int guestmem_map_pages(const struct guestmem *gm, const uint64_t *offsets, uint32_t n,
		       void **ret_map)
{
	size_t len = (size_t)n * GUESTMEM_PAGE_SIZE;
	uint8_t *map;
	uint32_t i, run;
	int r;

	if (n == 0)
		return -EINVAL;
	map = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	/* One mmap per run of pages that are also consecutive in the file. */
	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n &&
		     offsets[i + run] == offsets[i] + (uint64_t)run * GUESTMEM_PAGE_SIZE; run++)
			;
		if (offsets[i] % GUESTMEM_PAGE_SIZE ||
		    offsets[i] + (uint64_t)run * GUESTMEM_PAGE_SIZE > gm->size) {
			r = -EFAULT;
			goto err_unmap;
		}
		if (mmap(map + (size_t)i * GUESTMEM_PAGE_SIZE, (size_t)run * GUESTMEM_PAGE_SIZE,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, gm->fd,
			 (off_t)offsets[i]) == MAP_FAILED) {
			r = -errno;
			goto err_unmap;
		}
	}
	*ret_map = map;
	return 0;
err_unmap:
	munmap(map, len);
	return r;
}

void guestmem_unmap_pages(void *map, uint32_t n)
{
	if (map)
		munmap(map, (size_t)n * GUESTMEM_PAGE_SIZE);
}
