/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fsfreeze.h - freezing and thawing the guest's filesystems for a backup:
 * the choice (backup_fs.h, from /proc/self/mountinfo), one descriptor per
 * filesystem, FIFREEZE in order with root last under a watchdog
 * (watchdog.h), FITHAW in reverse order. Log lines are held in memory from
 * the first freeze until everything is thawed (log.h).
 */
#ifndef OPENVMBUSD_FSFREEZE_H
#define OPENVMBUSD_FSFREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-linux/openvmbusd/watchdog.h"

struct fsfreeze {
	size_t n;			/* filesystems chosen, in freeze order */
	char **mount_points;
	int *fds;
	bool *frozen;			/* by us, as far as we know */
	bool *unsupported;		/* FIFREEZE said the filesystem cannot freeze */
	struct watchdog watchdog;
};

/* Choose and open the filesystems to freeze (logs what it leaves out). */
int fsfreeze_prepare(struct fsfreeze *f);
/*
 * Freeze them in order, the watchdog thawing after timeout_ms. On failure
 * everything frozen is thawed again, the watchdog is told, and
 * *ret_failed is the index of the filesystem that refused.
 */
int fsfreeze_freeze(struct fsfreeze *f, uint32_t timeout_ms, size_t *ret_failed);
/*
 * Thaw in reverse order. *ret_already: how many were thawed by someone
 * else first (the watchdog). The first error other than that, or 0.
 */
int fsfreeze_thaw(struct fsfreeze *f, size_t *ret_already);
/* Frozen filesystems left (none after a thaw). */
size_t fsfreeze_count(const struct fsfreeze *f);
/* Thaw what is left, close everything. */
void fsfreeze_release(struct fsfreeze *f);

#endif
