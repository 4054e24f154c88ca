// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fileio.c - shared file helpers (see fileio.h).
 */
#include <errno.h>
#include <unistd.h>

#include "host/fileio.h"

int fileio_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

bool fileio_is_zero(const void *buf, size_t len)
{
	const uint64_t *w = buf;
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i])
			return false;
	for (i = len / 8 * 8; i < len; i++)
		if (p[i])
			return false;
	return true;
}
