/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ic_backup.h - the backup (quiesce) integration service: the host asks
 * the guest to make its filesystems consistent and hold them still
 * (FREEZE), takes its point-in-time snapshot of the disks, and lets them go
 * (THAW). docs/protocol/backup.md describes the exchange; this header is
 * the wire format, shared by the worker and openvmbusd.
 *
 * Every message is an IC frame (vmbus/ic.h) of type VMBUS_IC_BACKUP; the
 * payload is struct vmbus_ic_backup in both directions, followed in
 * answers by `text_len` bytes of UTF-8 text (not NUL-terminated):
 *
 *   FREEZE answer, status 0:  the mount points frozen, one per line, in
 *                             the order they were frozen (root last);
 *   FREEZE answer, status <0: what failed: a hook's name, exit status and
 *                             output, or the filesystem that refused and why;
 *                             everything was thawed again before answering;
 *   THAW answer:              the mount points thawed, one per line; flags
 *                             say whether the guest's watchdog had thawed
 *                             them already (the snapshot may then not be
 *                             consistent) and whether a post-thaw hook failed;
 *   STATUS answer:            the frozen mount points, if any.
 */
#ifndef VMBUS_IC_BACKUP_H
#define VMBUS_IC_BACKUP_H

#include "platform.h"
#include "ic.h"

#define VMBUS_IC_BACKUP_VERSION_1	VMBUS_VERSION(1, 0)

enum vmbus_ic_backup_op {
	VMBUS_BACKUP_FREEZE	= 1,	/* run pre-freeze hooks, freeze; answer when frozen */
	VMBUS_BACKUP_THAW	= 2,	/* thaw, run post-thaw hooks; answer when thawed */
	VMBUS_BACKUP_STATUS	= 3,	/* what is frozen now (no change) */
};

/* FREEZE: the guest's watchdog thaws after timeout_ms without a THAW. */
#define VMBUS_BACKUP_TIMEOUT_DEFAULT_MS	10000u
#define VMBUS_BACKUP_TIMEOUT_MAX_MS	60000u
#define VMBUS_BACKUP_TIMEOUT_MIN_MS	1000u

/* Answer flags */
#define VMBUS_BACKUP_F_WATCHDOG_THAWED	0x1u	/* THAW: the watchdog had thawed already */
#define VMBUS_BACKUP_F_HOOK_FAILED	0x2u	/* THAW: a post-thaw hook failed (text says which) */
#define VMBUS_BACKUP_F_NOTHING_FROZEN	0x4u	/* FREEZE/THAW/STATUS: no filesystem is frozen */

/* Longest text in an answer (fits one IC message with the headers). */
#define VMBUS_BACKUP_TEXT_MAX		3072u

struct vmbus_ic_backup {
	uint32_t op;		/* enum vmbus_ic_backup_op (the answer repeats it) */
	uint32_t timeout_ms;	/* FREEZE request: watchdog timeout, MIN..MAX (0: default) */
	uint64_t backup_id;	/* chosen by the host; the answer repeats it */
	uint32_t flags;		/* answers: VMBUS_BACKUP_F_* */
	uint32_t nfilesystems;	/* answers: mount points listed in the text */
	uint32_t elapsed_ms;	/* answers: how long the guest took (hooks included) */
	uint32_t text_len;	/* answers: bytes of text after this struct */
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_ic_backup) == 32, "backup payload is 32 bytes");

#endif
