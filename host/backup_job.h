/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * backup_job.h - a live backup of the running VM, as the worker runs it
 * (docs/backup.md): quiesce the guest, snapshot every disk (synthetic disks
 * by copy-before-write in the storage backend, the QEMU virtio disk by
 * QMP blockdev-backup), thaw, copy in a background thread, report through
 * backup-status.
 */
#ifndef HOST_BACKUP_JOB_H
#define HOST_BACKUP_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "host/bus.h"
#include "host/json.h"
#include "host/qmp.h"

struct backup_job;

struct backup_env {
	struct bus *bus;
	struct qmp *qmp;
	const char *run_dir;
	const char *qemu_disk;		/* the [VM] Disk= image, or NULL */
	const char *qemu_node;		/* its QMP node name */
};

struct backup_options {
	const char *dest;		/* existing empty directory, absolute */
	bool quiesce;
	bool incremental;
	uint32_t timeout_ms;		/* the guest's watchdog, 0: default */
	const char *id;			/* NULL: generated */
	const char *parent;		/* incremental: the previous backup's id */
};

/*
 * Start a backup (the job replaces a finished one in *jobp). -EBUSY while
 * one runs; other failures with *ret_why set, for a human.
 */
int backup_job_start(struct backup_job **jobp, const struct backup_env *env,
		     const struct backup_options *opt, const char **ret_why);
void backup_job_status(const struct backup_job *job, struct json_writer *w);
/* backup-cancel: -ENOENT when nothing runs. */
int backup_job_cancel(struct backup_job *job);
/* A QMP event (block jobs). */
void backup_job_qmp_event(struct backup_job *job, const char *event, const struct json_value *data);
/* The worker stops: end what runs (the guest is thawed, the copy stopped). */
void backup_job_free(struct backup_job *job);

#endif
