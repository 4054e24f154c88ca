/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * storage.h - the synthetic disk backend (docs/protocol/storage.md): one
 * device per disk, named disk0, disk1, ..., each backed by a raw image
 * file (sparse allowed) and served on its primary channel and sub-channels
 * (one per guest queue).
 */
#ifndef HOST_DEVICES_STORAGE_H
#define HOST_DEVICES_STORAGE_H

#include "host/bus.h"

extern const struct device_ops storage_device_ops;

struct storage_disk_config {
	const char *path;
	bool readonly;
	const char *serial;	/* NULL or "": derived from the file */
};

/* Open cfg->path and offer it as device `name`. */
int storage_disk_add(struct bus *b, const char *name, const struct storage_disk_config *cfg,
		     struct device **ret);
/*
 * Back dev with fd (taken over, closed by the device even on failure);
 * for storage_disk_add() and harnesses that make the device themselves.
 */
int storage_disk_attach_fd(struct device *dev, int fd, const char *path, bool readonly,
			   const char *serial);

/* Backups (docs/backup.md). */
struct storage_snap;
bool storage_is_disk(const struct device *dev);
const char *storage_disk_path(const struct device *dev);
uint64_t storage_disk_bytes(const struct device *dev);
/*
 * Take a point-in-time snapshot of the disk for a backup (I/O in flight
 * is drained first); *ret is the caller's to free with storage_snap_free()
 * after storage_backup_end(). incremental: only the chunks changed since
 * backup parent_id are wanted (-ESTALE when the disk does not track changes
 * since that backup). *ret_why says why it failed, for a human.
 */
int storage_backup_begin(struct device *dev, bool incremental, const char *parent_id,
			 const char *store_dir, struct storage_snap **ret, const char **ret_why);
/* The backup ended: ok makes it the base of the next incremental; else its changes count again. */
void storage_backup_end(struct device *dev, struct storage_snap *snap, bool ok, const char *backup_id);

#endif
