/* SPDX-License-Identifier: GPL-2.0 */
/*
 * backup_fs.h - which filesystems a backup freezes, decided from the text
 * of /proc/self/mountinfo (pure functions: no I/O but through the caller's
 * callback; tests/unit/backup_fs_test.c checks them).
 *
 * Frozen: every writable, local filesystem on a block device, once (one
 * mount chosen per superblock: major:minor in mountinfo is the
 * superblock's device, the same for every bind mount and btrfs subvolume),
 * in mount order with the root filesystem last. Skipped, with the reason:
 * pseudo filesystems, network filesystems, FUSE, read-only superblocks,
 * filesystems without a block device (overlay, ZFS, ...), further mounts
 * of a filesystem already in the list, and loop devices whose backing file
 * lives on a filesystem in the list (or on another such loop device).
 */
#ifndef OPENVMBUSD_BACKUP_FS_H
#define OPENVMBUSD_BACKUP_FS_H

#include <stdbool.h>
#include <stddef.h>

enum backup_fs_verdict {
	BACKUP_FS_FREEZE,
	BACKUP_FS_PSEUDO,
	BACKUP_FS_NETWORK,
	BACKUP_FS_FUSE,
	BACKUP_FS_READ_ONLY,
	BACKUP_FS_NO_DEVICE,		/* no block device under it */
	BACKUP_FS_SAME_FS,		/* another mount of mounts[other]'s filesystem */
	BACKUP_FS_LOOP_ON_FROZEN,	/* loop device backed by a file on mounts[other] */
};

struct backup_fs_mount {
	int mount_id;
	unsigned int major, minor;
	char *root;			/* the directory of the filesystem mounted here */
	char *mount_point;		/* unescaped */
	char *fstype;
	char *source;
	bool ro_mount;			/* this mount is read-only */
	bool ro_super;			/* the filesystem is read-only */
	enum backup_fs_verdict verdict;
	size_t other;			/* SAME_FS, LOOP_ON_FROZEN: see above */
};

struct backup_fs_table {
	struct backup_fs_mount *mounts;	/* in mountinfo order */
	size_t n;
	size_t *order;			/* indexes of the mounts to freeze, root last */
	size_t n_order;
};

/*
 * The backing file of the loop device major:minor (or of the loop device a
 * partition belongs to) into buf, NUL-terminated: 1; 0 when it is not a
 * loop device.
 */
typedef int (*backup_fs_backing_fn)(void *ctx, unsigned int major, unsigned int minor,
				    char *buf, size_t size);

/* Parse mountinfo text; -EINVAL on a malformed line, -ENOMEM. */
int backup_fs_parse(const char *text, size_t len, struct backup_fs_table *ret);
/* Decide each mount's verdict and the freeze order; -ENOMEM. */
int backup_fs_select(struct backup_fs_table *t, backup_fs_backing_fn backing, void *ctx);
void backup_fs_table_free(struct backup_fs_table *t);

/* "pseudo filesystem", "read-only", ... for log lines. */
const char *backup_fs_verdict_name(enum backup_fs_verdict v);

#endif
