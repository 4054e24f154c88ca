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

#endif
