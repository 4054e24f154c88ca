// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * storage_snap.c - changed-block tracking and copy-before-write snapshots
 * of a synthetic disk (see storage_snap.h).
 *
 * CBT file: a 64-byte header (magic "OVBCBT1", chunk size, flags, disk
 * size, the base backup's id) and the bitmap. Flag IN_USE is set while a
 * worker runs; a file found with it set was left by a crash, and writes
 * after its last save are unknown: the bitmap is kept but has no base, so
 * the next backup must be full.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/devices/storage_snap.h"
#include "host/fileio.h"

#define CBT_MAGIC	"OVBCBT1"
#define CBT_F_IN_USE	0x1u

struct cbt_header {
	char magic[8];
	uint32_t chunk_size;
	uint32_t flags;
	uint64_t size;
	char base_id[40];
};

static uint64_t chunks_of(uint64_t size)
{
	return (size + STORAGE_CHUNK - 1) / STORAGE_CHUNK;
}

static size_t bitmap_bytes(uint64_t nchunks)
{
	return (size_t)((nchunks + 63) / 64) * 8;
}

static int read_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset(p, 0, len);	/* past the end reads as zeroes */
			return 0;
		}
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int storage_cbt_load(struct storage_cbt *c, const char *path, uint64_t size)
{
	struct cbt_header h;
	int fd;

	memset(c, 0, sizeof(*c));
	c->size = size;
	c->nchunks = chunks_of(size);
	c->bits = calloc(1, bitmap_bytes(c->nchunks) + 8);
	if (!c->bits)
		return -ENOMEM;
	if (!path)
		return 0;
	c->path = strdup(path);
	if (!c->path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (read_full(fd, &h, sizeof(h), 0) == 0 && memcmp(h.magic, CBT_MAGIC, 8) == 0 &&
	    h.chunk_size == STORAGE_CHUNK && h.size == size &&
	    read_full(fd, c->bits, bitmap_bytes(c->nchunks), sizeof(h)) == 0 &&
	    !(h.flags & CBT_F_IN_USE)) {
		h.base_id[sizeof(h.base_id) - 1] = '\0';
		snprintf(c->base_id, sizeof(c->base_id), "%s", h.base_id);
	}
	close(fd);
	return 0;
}

void storage_cbt_mark(struct storage_cbt *c, uint64_t off, uint64_t len)
{
	uint64_t first = off / STORAGE_CHUNK, last;

	if (!len || !c->bits)
		return;
	last = (off + len - 1) / STORAGE_CHUNK;
	for (uint64_t i = first; i <= last && i < c->nchunks; i++)
		storage_bit_set(c->bits, i);
	c->dirty = true;
}

int storage_cbt_save(struct storage_cbt *c, bool in_use)
{
	struct cbt_header h = { .chunk_size = STORAGE_CHUNK, .flags = in_use ? CBT_F_IN_USE : 0,
				.size = c->size };
	char tmp[4096];
	int fd, r;

	if (!c->path || !c->bits)
		return 0;
	memcpy(h.magic, CBT_MAGIC, 8);
	snprintf(h.base_id, sizeof(h.base_id), "%s", c->base_id);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", c->path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = fileio_pwrite_all(fd, &h, sizeof(h), 0);
	if (r == 0)
		r = fileio_pwrite_all(fd, c->bits, bitmap_bytes(c->nchunks), sizeof(h));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, c->path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	else
		c->dirty = false;
	return r;
}

void storage_cbt_free(struct storage_cbt *c)
{
	free(c->bits);
	free(c->path);
	c->bits = NULL;
	c->path = NULL;
}

/* ---------------------------------------------------------------- snapshot */

int storage_snap_new(int fd, uint64_t size, const char *dir, struct storage_snap **ret)
{
	struct storage_snap *s = calloc(1, sizeof(*s));
	size_t bytes;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->store_fd = -1;
	/* Its own descriptor: the disk may go (hot remove) while the copy still reads. */
	s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	s->size = size;
	s->nchunks = chunks_of(size);
	bytes = bitmap_bytes(s->nchunks) + 8;
	s->saved = calloc(1, bytes);
	s->copied = calloc(1, bytes);
	s->store_fd = open(dir ? dir : "/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd < 0 || !s->saved || !s->copied || s->store_fd < 0) {
		int r = s->fd < 0 || s->store_fd < 0 ? -errno : -ENOMEM;

		storage_snap_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

static size_t chunk_len(const struct storage_snap *s, uint64_t i)
{
	uint64_t off = i * STORAGE_CHUNK;

	return s->size - off < STORAGE_CHUNK ? (size_t)(s->size - off) : STORAGE_CHUNK;
}

void storage_snap_before_write(struct storage_snap *s, uint64_t off, uint64_t len)
{
	static uint8_t buf[STORAGE_CHUNK];
	uint64_t first, last;

	if (!len || off >= s->size)
		return;
	first = off / STORAGE_CHUNK;
	last = (off + len - 1) / STORAGE_CHUNK;
	pthread_mutex_lock(&s->lock);
	for (uint64_t i = first; i <= last && i < s->nchunks && !s->broken; i++) {
		uint64_t coff = i * STORAGE_CHUNK;
		size_t n = chunk_len(s, i);
		int r;

		if (storage_bit(s->saved, i) || storage_bit(s->copied, i) ||
		    (s->wanted && !storage_bit(s->wanted, i)))
			continue;
		r = read_full(s->fd, buf, n, (off_t)coff);
		if (r == 0)
			r = fileio_pwrite_all(s->store_fd, buf, n, (off_t)coff);
		if (r < 0) {
			/* Never fail the guest's write for the backup's sake: the backup fails. */
			s->broken = r;
			break;
		}
		storage_bit_set(s->saved, i);
		s->saves++;
	}
	pthread_mutex_unlock(&s->lock);
}

int storage_snap_read(struct storage_snap *s, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	int r = 0;

	if (off % STORAGE_CHUNK || off > s->size || len > s->size - off)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	while (len && !r) {
		uint64_t i = off / STORAGE_CHUNK;
		size_t n = chunk_len(s, i) < len ? chunk_len(s, i) : len;

		r = read_full(storage_bit(s->saved, i) ? s->store_fd : s->fd, p, n, (off_t)off);
		if (r == 0)
			storage_bit_set(s->copied, i);
		p += n;
		off += n;
		len -= n;
	}
	if (!r && s->broken)
		r = s->broken;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void storage_snap_free(struct storage_snap *s)
{
	if (!s)
		return;
	if (s->store_fd >= 0)
		close(s->store_fd);
	if (s->fd >= 0)
		close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s->saved);
	free(s->copied);
	free(s->wanted);
	free(s);
}
