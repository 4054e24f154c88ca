/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * manifest.h - DEST/manifest.json, what makes a directory a backup
 * (docs/backup.md, "The manifest"). `vmbusctl backup` writes it last,
 * after every file has been verified; `vmbusctl restore` reads it, and the
 * manifests of the parents an incremental backup needs, through this
 * model. Everything read is checked here, in one place: a manifest is a
 * file anybody may have edited.
 */
#ifndef HOST_VMBUSCTL_MANIFEST_H
#define HOST_VMBUSCTL_MANIFEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/config.h"
#include "host/sha256.h"

#define MANIFEST_FILE		"manifest.json"
#define MANIFEST_FORMAT		1
#define MANIFEST_ID_MAX		39	/* a UUID is 36 */
#define MANIFEST_DISK_NAME_MAX	32
#define MANIFEST_MAX_DISKS	64
#define MANIFEST_MAX_BYTES	(1024 * 1024)
#define MANIFEST_CHAIN_MAX	1000	/* incremental backups on top of one full one */

struct manifest_disk {
	char name[MANIFEST_DISK_NAME_MAX + 1];	/* disk0, ..., qemu0 */
	bool qemu;				/* kind "qemu": the [VM] Disk= virtio disk */
	uint64_t size;
	char file[NAME_MAX + 1];		/* in the backup's directory */
	bool incremental;
	char map[NAME_MAX + 1];			/* incremental only */
	char sha256[SHA256_HEX_LEN + 1];
	char serial[CONFIG_SERIAL_MAX + 1];	/* "" : not recorded */
	bool readonly;
};

struct manifest {
	char dir[PATH_MAX];			/* the backup's directory, absolute */
	char backup_id[MANIFEST_ID_MAX + 1];
	char parent_id[MANIFEST_ID_MAX + 1];	/* "" : a full backup */
	char *parent_path, *parent_relative_path;	/* may be NULL */
	char vm_name[CONFIG_NAME_MAX];
	char *definition;			/* the VM's vm.conf, as it was */
	char *time;				/* "2024-05-01T12:00:00Z" */
	bool quiesced;
	size_t ndisks;
	struct manifest_disk disks[MANIFEST_MAX_DISKS];
};

/* Read and check DIR/manifest.json (DIR may also name the file itself); reports what is wrong. */
int manifest_load(const char *dir, struct manifest *ret);
void manifest_done(struct manifest *m);
const struct manifest_disk *manifest_find_disk(const struct manifest *m, const char *name);
/* A backup id as the worker and the manifest use it: 1..39 of hex digits and '-'. */
bool manifest_id_valid(const char *id);

/* A backup and the parents it needs, newest first; the last one is the full backup. */
struct manifest_chain {
	size_t n;
	struct manifest *m[MANIFEST_CHAIN_MAX];
};

/*
 * Load dir's backup and, while one of its disks is incremental, its parent
 * (found at parent_relative_path from it, else at parent_path, and only
 * if its backup_id is parent_id), and so on.
 */
int manifest_chain_load(const char *dir, struct manifest_chain *ret);
void manifest_chain_done(struct manifest_chain *c);

/* Write text as DIR/manifest.json (mode 0600) atomically, flushed to disk. */
int manifest_save(const char *dir, const char *text);

#endif
