// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * storage_io.c - positioned I/O on a disk's backing file (see storage_io.h).
 * Flush is fdatasync, discard punches a hole, write-zeroes zeroes the range
 * (punching a hole where the filesystem cannot zero in place).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "host/devices/storage_io.h"
#include "vmbus/storage.h"

static uint32_t storage_io_status(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		return VMBUS_STOR_S_NO_SPACE;
	case EOPNOTSUPP:
		return VMBUS_STOR_S_UNSUPPORTED;
	default:
		return VMBUS_STOR_S_IO_ERROR;
	}
}

/* Advance iov past n bytes (the kernel may transfer less than asked). */
static void storage_io_advance(struct iovec **iov, int *niov, size_t n)
{
	while (*niov && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*niov)--;
	}
	if (*niov && n) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

static uint32_t storage_io_rw(int fd, const struct iovec *in, int niov, uint64_t off, uint64_t len,
			      bool write)
{
	struct iovec local[VMBUS_STOR_MAX_PAGES], *iov = local;

	if (niov > (int)VMBUS_STOR_MAX_PAGES)
		return VMBUS_STOR_S_INVALID;
	memcpy(local, in, sizeof(*in) * (size_t)niov);
	while (len) {
		ssize_t n = write ? pwritev(fd, iov, niov, (off_t)off) : preadv(fd, iov, niov, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return storage_io_status(errno);
		if (n == 0) {
			if (write)
				return VMBUS_STOR_S_IO_ERROR;
			/* The image shrank under us: what is past its end reads as zeroes. */
			for (int i = 0; i < niov; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return VMBUS_STOR_S_OK;
		}
		off += (uint64_t)n;
		len -= (uint64_t)n;
		storage_io_advance(&iov, &niov, (size_t)n);
	}
	return VMBUS_STOR_S_OK;
}

uint32_t storage_io_read(int fd, const struct iovec *iov, int niov, uint64_t off, uint64_t len)
{
	return storage_io_rw(fd, iov, niov, off, len, false);
}

uint32_t storage_io_write(int fd, const struct iovec *iov, int niov, uint64_t off, uint64_t len,
			  bool fua)
{
	uint32_t st = storage_io_rw(fd, iov, niov, off, len, true);

	if (st == VMBUS_STOR_S_OK && fua && fdatasync(fd) < 0)
		return storage_io_status(errno);
	return st;
}

uint32_t storage_io_flush(int fd)
{
	return fdatasync(fd) < 0 ? storage_io_status(errno) : VMBUS_STOR_S_OK;
}

uint32_t storage_io_discard(int fd, uint64_t off, uint64_t len)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return storage_io_status(errno);
	return VMBUS_STOR_S_OK;
}

uint32_t storage_io_write_zeroes(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[64 * 1024];

	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return VMBUS_STOR_S_OK;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return VMBUS_STOR_S_OK;
	while (len) {
		size_t chunk = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		ssize_t n = pwrite(fd, zeroes, chunk, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? storage_io_status(errno) : VMBUS_STOR_S_IO_ERROR;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return VMBUS_STOR_S_OK;
}
