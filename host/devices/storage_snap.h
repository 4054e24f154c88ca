/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * storage_snap.h - what a backup needs of a synthetic disk (docs/backup.md):
 *
 *   changed-block tracking (CBT): a bitmap of the 64 KiB chunks written
 *   since the last successful backup, kept in a file while the worker runs
 *   and marked "in use" so that a crashed worker's stale bitmap is never
 *   trusted;
 *
 *   a point-in-time snapshot by copy-before-write: from the snapshot on,
 *   the first write to a chunk the backup has not read yet saves the
 *   chunk's old content in a store file first. The backup's copy thread
 *   reads the snapshot view (saved chunks from the store, the others from
 *   the image) while the worker's loop thread keeps serving the guest; one
 *   mutex orders the two per chunk.
 */
#ifndef HOST_DEVICES_STORAGE_SNAP_H
#define HOST_DEVICES_STORAGE_SNAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define STORAGE_CHUNK		(64u * 1024u)
#define STORAGE_BACKUP_ID_MAX	39	/* a UUID is 36 */

struct storage_cbt {
	uint64_t size;			/* the disk's, bytes */
	uint64_t nchunks;
	uint64_t *bits;
	char base_id[STORAGE_BACKUP_ID_MAX + 1];	/* "" : no usable base */
	char *path;			/* NULL: not persisted */
	bool dirty;			/* bits changed since the last save */
};

/* Load (or start) the bitmap for a disk of size bytes; a stale or foreign file gives no base. */
int storage_cbt_load(struct storage_cbt *c, const char *path, uint64_t size);
void storage_cbt_mark(struct storage_cbt *c, uint64_t off, uint64_t len);
/* Write the file; in_use false only at a clean exit. */
int storage_cbt_save(struct storage_cbt *c, bool in_use);
void storage_cbt_free(struct storage_cbt *c);

struct storage_snap {
	int fd;				/* the image */
	int store_fd;			/* saved chunks, at their own offsets (sparse) */
	uint64_t size, nchunks;
	uint64_t *saved;		/* chunk's old content is in the store */
	uint64_t *copied;		/* the backup has read the chunk */
	uint64_t *wanted;		/* chunks the backup copies (incremental); NULL: all */
	pthread_mutex_t lock;
	int broken;			/* -errno: the store failed, the snapshot is lost */
	uint64_t saves;			/* chunks saved before a write */
};

static inline bool storage_bit(const uint64_t *b, uint64_t i)
{
	return b[i / 64] >> (i % 64) & 1;
}

static inline void storage_bit_set(uint64_t *b, uint64_t i)
{
	b[i / 64] |= 1ULL << (i % 64);
}

/* A snapshot of fd (size bytes) now, its store an unnamed file in dir. */
int storage_snap_new(int fd, uint64_t size, const char *dir, struct storage_snap **ret);
/* Before a write, discard or write-zeroes of [off, off + len): save what the backup still needs. */
void storage_snap_before_write(struct storage_snap *s, uint64_t off, uint64_t len);
/* The snapshot's bytes [off, off + len) (copy thread); -errno, or the store's failure. */
int storage_snap_read(struct storage_snap *s, uint64_t off, void *buf, size_t len);
void storage_snap_free(struct storage_snap *s);

#endif
