/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * image.h - the disk image files of a backup (docs/backup.md): NAME.img,
 * a sparse file of the disk's full size, and for an incremental backup
 * NAME.map, the ranges of NAME.img that hold data, one "OFFSET LENGTH"
 * line each (decimal bytes, ascending, not overlapping).
 *
 * One routine reads such ranges in order, hashing them (SHA-256, what the
 * worker reports for the disk) and optionally writing them at the same
 * offsets into another image: verification is the hash alone, a restore
 * is the hash and the copy in one pass. Holes are never read: they hash
 * as zeroes, and zeroes are written as holes.
 */
#ifndef HOST_VMBUSCTL_IMAGE_H
#define HOST_VMBUSCTL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "host/sha256.h"
#include "host/vmbusctl/progress.h"

struct image_range {
	uint64_t offset, length;
};

struct image_ranges {
	struct image_range *r;
	size_t n;
	uint64_t bytes;		/* sum of the lengths */
};

void image_ranges_free(struct image_ranges *m);
static inline void image_ranges_freep(struct image_ranges *m) { image_ranges_free(m); }
/* The whole image: one range 0..size (size 0: none). */
int image_ranges_whole(struct image_ranges *m, uint64_t size);
/* Read a map file for a disk of size bytes; reports what is wrong (with the line). */
int image_map_load(const char *path, uint64_t size, struct image_ranges *ret);

/* Where image_process writes, if anywhere. */
enum image_dest {
	IMAGE_HASH_ONLY,	/* dst_fd unused */
	IMAGE_DEST_EMPTY,	/* dst is all holes: zero blocks are skipped */
	IMAGE_DEST_OVERLAY,	/* dst has data: zero blocks are punched out */
};

/*
 * Read fd's ranges in order into hex (lowercase SHA-256 of the bytes, in
 * range order) and, unless IMAGE_HASH_ONLY, write them into dst_fd at the
 * same offsets. progress (may be NULL) is advanced by the bytes of each
 * range processed, on top of *done. Returns 0, -EINTR when interrupted
 * (interrupt.h), or -errno (not reported).
 */
int image_process(int fd, const struct image_ranges *m, enum image_dest dest, int dst_fd,
		  char hex[SHA256_HEX_LEN + 1], struct progress *progress, uint64_t *done);

/* Flush fd and drop its clean pages, so the next read comes from the disk. */
int image_sync_and_drop(int fd);

#endif
