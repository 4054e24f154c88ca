/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * fileio.h - the few file helpers the worker and vmbusctl share: a
 * positioned write that finishes (or fails), and a zero test that lets a
 * copy leave holes.
 */
#ifndef HOST_FILEIO_H
#define HOST_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write all len bytes at off (retrying short writes and EINTR); 0 or -errno. */
int fileio_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Are the len bytes at buf (8-byte aligned) all zero? */
bool fileio_is_zero(const void *buf, size_t len);

#endif
