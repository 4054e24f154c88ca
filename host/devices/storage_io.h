/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * storage_io.h - I/O on a disk's backing file, with status codes of the
 * storage protocol (vmbus/storage.h). Phase 1 does synchronous positioned
 * I/O on the worker's event loop; the io_uring / thread-pool engine will
 * sit behind these same calls.
 */
#ifndef HOST_DEVICES_STORAGE_IO_H
#define HOST_DEVICES_STORAGE_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* Each returns an enum vmbus_stor_status. */
uint32_t storage_io_read(int fd, const struct iovec *iov, int niov, uint64_t off, uint64_t len);
uint32_t storage_io_write(int fd, const struct iovec *iov, int niov, uint64_t off, uint64_t len,
			  bool fua);
uint32_t storage_io_flush(int fd);
uint32_t storage_io_discard(int fd, uint64_t off, uint64_t len);
uint32_t storage_io_write_zeroes(int fd, uint64_t off, uint64_t len);

#endif
