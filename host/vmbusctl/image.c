// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * image.c - backup image files: map files, hashing and sparse copies (see
 * image.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/fileio.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/image.h"
#include "host/vmbusctl/interrupt.h"

#define IMAGE_BUF		(1024 * 1024)
/* A map is at most this many lines: 1 GiB of ranges in memory is already absurd. */
#define IMAGE_MAP_MAX_RANGES	(1u << 26)
#define IMAGE_MAP_LINE_MAX	64

void image_ranges_free(struct image_ranges *m)
{
	free(m->r);
	m->r = NULL;
	m->n = 0;
	m->bytes = 0;
}

int image_ranges_whole(struct image_ranges *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	if (!size)
		return 0;
	m->r = malloc(sizeof(*m->r));
	if (!m->r)
		return -ENOMEM;
	m->r[0] = (struct image_range){ 0, size };
	m->n = 1;
	m->bytes = size;
	return 0;
}

/* A decimal number of at most 20 digits that fits 64 bits; *p moves past it. */
static bool image_parse_u64(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return true;
}

static int image_ranges_add(struct image_ranges *m, size_t *cap, uint64_t offset, uint64_t length)
{
	if (m->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct image_range *r = realloc(m->r, ncap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		m->r = r;
		*cap = ncap;
	}
	m->r[m->n++] = (struct image_range){ offset, length };
	m->bytes += length;
	return 0;
}

int image_map_load(const char *path, uint64_t size, struct image_ranges *ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_(image_ranges_freep) struct image_ranges m = { 0 };
	char line[IMAGE_MAP_LINE_MAX + 2];
	uint64_t prev_end = 0, offset, length;
	unsigned int lineno = 0;
	size_t cap = 0;
	int r;

	f = fopen(path, "re");
	if (!f)
		return ctl_error_errno(-errno, "cannot open %s: %m", path);
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;

		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			return ctl_error_errno(-EBADMSG, "%s:%u: line too long", path, lineno);
		if (!image_parse_u64(&p, &offset) || *p++ != ' ' || !image_parse_u64(&p, &length) ||
		    (*p && strcmp(p, "\n")))
			return ctl_error_errno(-EBADMSG, "%s:%u: not an 'OFFSET LENGTH' line", path, lineno);
		if (!length || offset < prev_end || offset > size || length > size - offset)
			return ctl_error_errno(-EBADMSG, "%s:%u: range %llu+%llu is empty, overlaps the one "
					       "before or passes the end of the %llu-byte disk", path, lineno,
					       (unsigned long long)offset, (unsigned long long)length,
					       (unsigned long long)size);
		if (m.n >= IMAGE_MAP_MAX_RANGES)
			return ctl_error_errno(-E2BIG, "%s: more than %u ranges", path, IMAGE_MAP_MAX_RANGES);
		r = image_ranges_add(&m, &cap, offset, length);
		if (r < 0)
			return ctl_error_errno(r, "out of memory");
		prev_end = offset + length;
	}
	if (ferror(f))
		return ctl_error_errno(-EIO, "cannot read %s", path);
	*ret = m;
	m = (struct image_ranges){ 0 };
	return 0;
}

/* Zeroes at [off, off + len) of the destination. */
static int image_write_zeroes(enum image_dest dest, int fd, const uint8_t *zero, uint64_t off, uint64_t len)
{
	if (dest != IMAGE_DEST_OVERLAY)
		return 0;	/* nothing to write, or holes already */
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	while (len) {
		size_t n = len > IMAGE_BUF ? IMAGE_BUF : (size_t)len;
		int r = fileio_pwrite_all(fd, zero, n, off);

		if (r < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

struct image_job {
	int fd, dst_fd;
	enum image_dest dest;
	uint8_t *buf;
	const uint8_t *zero;
	struct sha256 sha;
	bool sparse;		/* the filesystem answers SEEK_DATA */
	struct progress *progress;
	uint64_t *done;
};

/* Account for n bytes; -EINTR when the user asked to stop. */
static int image_advance(struct image_job *j, uint64_t n)
{
	*j->done += n;
	if (j->progress)
		progress_update(j->progress, *j->done);
	return interrupt_requested() ? -EINTR : 0;
}

static int image_zeroes(struct image_job *j, uint64_t off, uint64_t len)
{
	int r = image_write_zeroes(j->dest, j->dst_fd, j->zero, off, len);

	if (r < 0)
		return r;
	while (len) {
		size_t n = len > IMAGE_BUF ? IMAGE_BUF : (size_t)len;

		sha256_update(&j->sha, j->zero, n);
		r = image_advance(j, n);
		if (r < 0)
			return r;
		len -= n;
	}
	return 0;
}

/* [off, end) holds data (as far as the filesystem says): read, hash, write. */
static int image_data(struct image_job *j, uint64_t off, uint64_t end)
{
	int r;

	while (off < end) {
		size_t want = end - off > IMAGE_BUF ? IMAGE_BUF : (size_t)(end - off), got = 0;

		while (got < want) {
			ssize_t n = pread(j->fd, j->buf + got, want - got, (off_t)(off + got));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				return -ENODATA;	/* the file ends before the range */
			got += (size_t)n;
		}
		sha256_update(&j->sha, j->buf, want);
		if (j->dest != IMAGE_HASH_ONLY) {
			if (fileio_is_zero(j->buf, want))
				r = image_write_zeroes(j->dest, j->dst_fd, j->zero, off, want);
			else
				r = fileio_pwrite_all(j->dst_fd, j->buf, want, off);
			if (r < 0)
				return r;
		}
		r = image_advance(j, want);
		if (r < 0)
			return r;
		off += want;
	}
	return 0;
}

static int image_range(struct image_job *j, uint64_t off, uint64_t end)
{
	while (off < end) {
		off_t data = off, hole = end;
		int r;

		if (j->sparse) {
			data = lseek(j->fd, (off_t)off, SEEK_DATA);
			if (data < 0 && errno == ENXIO) {
				data = (off_t)end;	/* a hole up to the end of the file */
			} else if (data < 0 && errno == EINVAL) {
				j->sparse = false;	/* no SEEK_DATA here: read everything */
				data = (off_t)off;
			} else if (data < 0) {
				return -errno;
			}
			if ((uint64_t)data > end)
				data = (off_t)end;
		}
		if ((uint64_t)data > off) {
			r = image_zeroes(j, off, (uint64_t)data - off);
			if (r < 0)
				return r;
			off = (uint64_t)data;
		}
		if (off >= end)
			break;
		if (j->sparse) {
			hole = lseek(j->fd, (off_t)off, SEEK_HOLE);
			if (hole < 0)
				return -errno;
			if ((uint64_t)hole > end)
				hole = (off_t)end;
		}
		r = image_data(j, off, (uint64_t)hole);
		if (r < 0)
			return r;
		off = (uint64_t)hole;
	}
	return 0;
}

int image_process(int fd, const struct image_ranges *m, enum image_dest dest, int dst_fd,
		  char hex[SHA256_HEX_LEN + 1], struct progress *progress, uint64_t *done)
{
	struct image_job j = { .fd = fd, .dst_fd = dst_fd, .dest = dest, .sparse = true,
			       .progress = progress, .done = done };
	uint64_t dummy = 0;
	size_t i;
	int r = 0;

	if (!j.done)
		j.done = &dummy;
	j.buf = malloc(IMAGE_BUF);
	j.zero = calloc(1, IMAGE_BUF);
	if (!j.buf || !j.zero) {
		r = -ENOMEM;
		goto out;
	}
	sha256_init(&j.sha);
	for (i = 0; i < m->n && r >= 0; i++)
		r = image_range(&j, m->r[i].offset, m->r[i].offset + m->r[i].length);
	if (r >= 0)
		sha256_final_hex(&j.sha, hex);
	sha256_free(&j.sha);
out:
	free(j.buf);
	free((void *)j.zero);
	return r;
}

int image_sync_and_drop(int fd)
{
	int r;

	if (fsync(fd) < 0)
		return -errno;
	r = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return r > 0 ? -r : 0;
}
