// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * restore.c - `vmbusctl restore`: a new VM from a backup made by `vmbusctl
 * backup` (docs/backup.md). Each disk's full image is rebuilt in the new
 * VM's directory: the full backup's image, then every incremental
 * backup's ranges on top, oldest first. Every piece is checked against
 * the SHA-256 its manifest records as it is copied; the VM is defined
 * (the original definition, new name, the restored images) only when all
 * of them matched, and a failed restore leaves nothing behind.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/image.h"
#include "host/vmbusctl/interrupt.h"
#include "host/vmbusctl/manifest.h"
#include "host/vmbusctl/progress.h"
#include "host/vmbusctl/vm.h"

static const char restore_help[] =
	"Usage: vmbusctl restore BACKUP NAME [--json]\n"
	"Create the VM NAME from the backup in the directory BACKUP (made by\n"
	"'vmbusctl backup'): every disk's image is rebuilt in NAME's directory from\n"
	"the backup and, for an incremental one, the backups it builds on; each\n"
	"piece is checked against its SHA-256. NAME gets the definition the backed-up\n"
	"VM had, with the restored images and the disks' serial numbers. NAME must\n"
	"not exist.\n\n"
	"  --json   print what was restored as JSON\n";

enum { OPT_JSON = CTL_OPT_FIRST_PRIVATE };

static const struct option restore_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	CTL_COMMON_OPTIONS
};

/* One disk's pieces, full backup first. */
struct restore_disk {
	const struct manifest_disk *tip;
	size_t npieces;
	const struct manifest *from[MANIFEST_CHAIN_MAX];
	const struct manifest_disk *piece[MANIFEST_CHAIN_MAX];
	char path[PATH_MAX];
	bool created;
};

struct restore_run {
	struct vm vm;
	struct manifest_chain chain;
	size_t ndisks;
	struct restore_disk disks[MANIFEST_MAX_DISKS];
	bool dir_created;
	struct progress bar;
	uint64_t total, done;
	bool json;
};

static void restore_run_done(struct restore_run *rr)
{
	manifest_chain_done(&rr->chain);
	vm_done(&rr->vm);
}

/* Which backups hold the pieces of each disk of the newest one. */
static int restore_plan(struct restore_run *rr)
{
	const struct manifest *tip = rr->chain.m[0];
	size_t i, k;

	for (i = 0; i < tip->ndisks; i++) {
		struct restore_disk *d = &rr->disks[rr->ndisks++];
		const struct manifest_disk *disk = &tip->disks[i];
		const struct manifest_disk *chain[MANIFEST_CHAIN_MAX];
		const struct manifest *from[MANIFEST_CHAIN_MAX];
		size_t n = 0;

		d->tip = disk;
		/* Named by the disk (letters, digits, '_', '-'): never one of the VM's own files. */
		if ((size_t)snprintf(d->path, sizeof(d->path), "%s/%s.img", rr->vm.dir, disk->name) >=
		    sizeof(d->path))
			return ctl_error_errno(-ENAMETOOLONG, "%s: path too long", rr->vm.dir);
		for (k = 0;; k++) {
			if (k == rr->chain.n || !disk)
				return ctl_error_errno(-ENOENT, "%s: disk %s is incremental, but its parent %s has "
						       "no disk of that name", rr->chain.m[k - 1]->dir, d->tip->name,
						       k < rr->chain.n ? rr->chain.m[k]->dir : "(none)");
			if (disk->size != d->tip->size)
				return ctl_error_errno(-EINVAL, "%s: disk %s is %llu bytes there and %llu bytes in "
						       "%s: not one chain", rr->chain.m[k]->dir, disk->name,
						       (unsigned long long)disk->size,
						       (unsigned long long)d->tip->size, tip->dir);
			chain[n] = disk;
			from[n++] = rr->chain.m[k];
			if (!disk->incremental)
				break;
			disk = k + 1 < rr->chain.n ? manifest_find_disk(rr->chain.m[k + 1], disk->name) : NULL;
		}
		/* Oldest first. */
		for (k = 0; k < n; k++) {
			d->piece[k] = chain[n - 1 - k];
			d->from[k] = from[n - 1 - k];
		}
		d->npieces = n;
	}
	return 0;
}

/* Open a piece's image and the ranges to apply; sizes checked before anything is written. */
static int restore_open_piece(const struct manifest *m, const struct manifest_disk *disk,
			      struct image_ranges *ranges)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct stat st;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", m->dir, disk->file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctl_error_errno(-errno, "cannot open %s: %m", path);
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != disk->size) {
		close(fd);
		return ctl_error_errno(-EIO, "%s is not %llu bytes, the size of disk %s", path,
				       (unsigned long long)disk->size, disk->name);
	}
	if (disk->incremental) {
		snprintf(path, sizeof(path), "%s/%s", m->dir, disk->map);
		r = image_map_load(path, disk->size, ranges);
	} else {
		r = image_ranges_whole(ranges, disk->size);
		if (r < 0)
			ctl_message("out of memory");
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* Every file there, every map valid, before the first byte is written; the bytes to copy. */
static int restore_check_files(struct restore_run *rr)
{
	size_t i, k;

	for (i = 0; i < rr->ndisks; i++)
		for (k = 0; k < rr->disks[i].npieces; k++) {
			struct image_ranges ranges = { 0 };
			int fd = restore_open_piece(rr->disks[i].from[k], rr->disks[i].piece[k], &ranges);

			if (fd < 0)
				return fd;
			rr->total += ranges.bytes;
			image_ranges_free(&ranges);
			close(fd);
		}
	return 0;
}

static int restore_disk(struct restore_run *rr, struct restore_disk *d)
{
	_cleanup_close_ int out = -1;
	char hex[SHA256_HEX_LEN + 1];
	size_t k;
	int r;

	out = open(d->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return ctl_error_errno(-errno, "cannot create %s: %m", d->path);
	d->created = true;
	if (ftruncate(out, (off_t)d->tip->size) < 0)
		return ctl_error_errno(-errno, "cannot make %s %llu bytes: %m", d->path,
				       (unsigned long long)d->tip->size);
	for (k = 0; k < d->npieces; k++) {
		_cleanup_(image_ranges_freep) struct image_ranges ranges = { 0 };
		const struct manifest_disk *piece = d->piece[k];
		_cleanup_close_ int in = restore_open_piece(d->from[k], piece, &ranges);

		if (in < 0)
			return in;
		r = image_process(in, &ranges, k == 0 ? IMAGE_DEST_EMPTY : IMAGE_DEST_OVERLAY, out, hex,
				  &rr->bar, &rr->done);
		if (r < 0) {
			progress_end(&rr->bar);
			if (r == -EINTR)
				return ctl_error_errno(r, "interrupted");
			return ctl_error_errno(r, "disk %s: copying %s/%s to %s failed: %m", piece->name,
					       d->from[k]->dir, piece->file, d->path);
		}
		if (strcmp(hex, piece->sha256)) {
			progress_end(&rr->bar);
			return ctl_error_errno(-EIO, "%s/%s is damaged: its SHA-256 is %s, the manifest says %s",
					       d->from[k]->dir, piece->file, hex, piece->sha256);
		}
	}
	if (fsync(out) < 0)
		return ctl_error_errno(-errno, "cannot flush %s: %m", d->path);
	return 0;
}

static struct restore_disk *restore_find(struct restore_run *rr, const char *name)
{
	size_t i;

	for (i = 0; i < rr->ndisks; i++)
		if (strcmp(rr->disks[i].tip->name, name) == 0)
			return &rr->disks[i];
	return NULL;
}

static int restore_set(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return ctl_error_errno(-ENOMEM, "out of memory");
	free(*field);
	*field = copy;
	return 0;
}

/* The synthetic disks of the new definition: each disk the backup has, at its restored path. */
static int restore_storage(struct restore_run *rr, struct vm_config *cfg)
{
	struct config_disk old[CONFIG_MAX_DISKS];
	unsigned int nold = cfg->ndisks, i;
	bool used[MANIFEST_MAX_DISKS] = { false };
	char name[16];
	size_t k;
	int r;

	memcpy(old, cfg->disks, sizeof(old));
	cfg->ndisks = 0;
	memset(cfg->disks, 0, sizeof(cfg->disks));
	for (i = 0; i < nold; i++) {
		struct config_disk *nd = &cfg->disks[cfg->ndisks];
		struct restore_disk *d;

		snprintf(name, sizeof(name), "disk%u", i);
		d = restore_find(rr, name);
		if (!d || d->tip->qemu) {
			if (old[i].readonly) {
				/* Read-only media is shared safely: keep pointing at it. */
				printf("%s: %s (%s) is not in the backup; read-only, so the new VM uses the same file\n",
				       rr->vm.name, name, old[i].path);
				*nd = old[i];
				old[i].path = NULL;
				cfg->ndisks++;
			} else {
				printf("%s: %s (%s) is not in the backup and is left out of the new VM\n",
				       rr->vm.name, name, old[i].path);
			}
			continue;
		}
		used[d - rr->disks] = true;
		nd->path = strdup(d->path);
		if (!nd->path)
			return ctl_error_errno(-ENOMEM, "out of memory");
		nd->readonly = old[i].readonly;
		/* The guest finds its disks by serial (/dev/disk/by-id): keep it. */
		snprintf(nd->serial, sizeof(nd->serial), "%s", d->tip->serial[0] ? d->tip->serial : old[i].serial);
		cfg->ndisks++;
	}
	for (i = 0; i < nold; i++)
		free(old[i].path);
	/* Disks added at run time are in the backup but not in the definition. */
	for (k = 0; k < rr->ndisks; k++) {
		struct restore_disk *d = &rr->disks[k];
		struct config_disk *nd = &cfg->disks[cfg->ndisks];

		if (used[k] || d->tip->qemu)
			continue;
		if (cfg->ndisks == CONFIG_MAX_DISKS)
			return ctl_error_errno(-E2BIG, "the backup has more synthetic disks than a VM takes (%d)",
					       CONFIG_MAX_DISKS);
		r = restore_set(&nd->path, d->path);
		if (r < 0)
			return r;
		nd->readonly = d->tip->readonly;
		snprintf(nd->serial, sizeof(nd->serial), "%s", d->tip->serial);
		cfg->ndisks++;
		printf("%s: %s was added at run time; the new VM has it in its definition\n", rr->vm.name,
		       d->tip->name);
	}
	return 0;
}

/* The definition the backed-up VM had, renamed and pointing at the restored images. */
static int restore_config(struct restore_run *rr, struct vm_config *cfg)
{
	const struct manifest *tip = rr->chain.m[0];
	struct restore_disk *qemu = NULL;
	char tmp[PATH_MAX];
	unsigned int line = 0;
	size_t i;
	FILE *f;
	int r;

	if (vm_path(&rr->vm, ".definition.tmp", tmp, sizeof(tmp)) < 0)
		return ctl_error_errno(-ENAMETOOLONG, "%s: path too long", rr->vm.dir);
	f = fopen(tmp, "we");
	if (!f)
		return ctl_error_errno(-errno, "cannot write %s: %m", tmp);
	fputs(tip->definition, f);
	r = fclose(f) == 0 ? 0 : -errno;
	if (r >= 0)
		r = config_load(cfg, tmp, &line);
	unlink(tmp);
	if (r < 0)
		return ctl_error_errno(r, "%s: the VM definition in the manifest is not valid (line %u)",
				       tip->dir, line);
	snprintf(cfg->name, sizeof(cfg->name), "%s", rr->vm.name);
	for (i = 0; i < rr->ndisks; i++)
		if (rr->disks[i].tip->qemu) {
			if (qemu)
				return ctl_error_errno(-EINVAL, "%s: two copies of the VM's virtio disk", tip->dir);
			qemu = &rr->disks[i];
		}
	if (!!qemu != !!cfg->disk)
		return ctl_error_errno(-EINVAL, "%s: the definition %s a virtio disk, the backup %s", tip->dir,
				       cfg->disk ? "has" : "has no", qemu ? "has a copy of one" : "none");
	if (qemu && (r = restore_set(&cfg->disk, qemu->path)) < 0)
		return r;
	return restore_storage(rr, cfg);
}

static void restore_cleanup(struct restore_run *rr)
{
	size_t i;

	for (i = 0; i < rr->ndisks; i++)
		if (rr->disks[i].created)
			unlink(rr->disks[i].path);
	if (rr->dir_created)
		rmdir(rr->vm.dir);
}

static void restore_print(const struct restore_run *rr)
{
	const struct manifest *tip = rr->chain.m[0], *base = rr->chain.m[rr->chain.n - 1];
	char size[32];
	size_t i;

	if (rr->json) {
		struct json_writer w;
		const char *text;

		json_writer_init(&w);
		json_object_begin(&w, NULL);
		json_string(&w, "name", rr->vm.name);
		json_string(&w, "backup", tip->dir);
		json_string(&w, "backup_id", tip->backup_id);
		json_array_begin(&w, "chain");
		for (i = 0; i < rr->chain.n; i++)
			json_string(&w, NULL, rr->chain.m[i]->dir);
		json_array_end(&w);
		json_array_begin(&w, "disks");
		for (i = 0; i < rr->ndisks; i++) {
			json_object_begin(&w, NULL);
			json_string(&w, "name", rr->disks[i].tip->name);
			json_string(&w, "path", rr->disks[i].path);
			json_uint(&w, "size", rr->disks[i].tip->size);
			json_uint(&w, "pieces", rr->disks[i].npieces);
			json_object_end(&w);
		}
		json_array_end(&w);
		json_object_end(&w);
		text = json_writer_text(&w);
		if (text)
			puts(text);
		json_writer_free(&w);
		return;
	}
	printf("%s: restored from %s (%s backup of %s taken %s", rr->vm.name, tip->dir,
	       tip->quiesced ? "an application-consistent" : "a crash-consistent", tip->vm_name,
	       tip->time ? tip->time : "at an unknown time");
	if (rr->chain.n > 1)
		printf("; incremental on top of %zu more, the full one %s", rr->chain.n - 1, base->dir);
	printf(")\n");
	for (i = 0; i < rr->ndisks; i++) {
		progress_size(rr->disks[i].tip->size, size, sizeof(size));
		printf("  %s: %s, %s (%zu piece%s checked)\n", rr->disks[i].tip->name, rr->disks[i].path, size,
		       rr->disks[i].npieces, rr->disks[i].npieces == 1 ? "" : "s");
	}
	printf("%s: created; start it with 'vmbusctl start %s'\n", rr->vm.name, rr->vm.name);
}

int cmd_restore(int argc, char **argv)
{
	_cleanup_(restore_run_done) struct restore_run rr = { .vm.name = "" };
	struct vm_config cfg;
	char conf[PATH_MAX], what[96];
	struct stat st;
	size_t i;
	int c, r;

	while ((c = ctl_getopt(argc, argv, restore_options)) != -1) {
		switch (c) {
		case OPT_JSON: rr.json = true; break;
		default: return ctl_option_default(c, restore_help);
		}
	}
	r = ctl_positional(argc, argv, 2, 2);
	if (r < 0)
		return r;
	r = vm_init(&rr.vm, argv[optind + 1]);
	if (r < 0)
		return r;
	if (vm_path(&rr.vm, "vm.conf", conf, sizeof(conf)) < 0)
		return ctl_error_errno(-ENAMETOOLONG, "%s: path too long", rr.vm.dir);
	if (access(conf, F_OK) == 0)
		return ctl_error_errno(-EEXIST, "a VM named '%s' exists already: restore into a new name",
				       rr.vm.name);
	r = vm_check_socket_paths(&rr.vm);
	if (r < 0)
		return r;
	r = manifest_chain_load(argv[optind], &rr.chain);
	if (r < 0)
		return r;
	r = restore_plan(&rr);
	if (r < 0)
		return r;
	r = restore_check_files(&rr);
	if (r < 0)
		return r;

	interrupt_catch();
	rr.dir_created = stat(rr.vm.dir, &st) < 0;
	r = ctl_mkdir_p(rr.vm.dir, 0700);
	if (r < 0)
		return ctl_error_errno(r, "cannot create %s: %m", rr.vm.dir);
	config_init(&cfg);
	r = restore_config(&rr, &cfg);
	if (r < 0)
		goto fail;
	snprintf(what, sizeof(what), "%s: restoring", rr.vm.name);
	progress_begin(&rr.bar, what, rr.total);
	for (i = 0; i < rr.ndisks && r >= 0; i++)
		r = restore_disk(&rr, &rr.disks[i]);
	progress_end(&rr.bar);
	if (r < 0)
		goto fail;
	r = config_save(&cfg, conf);
	if (r < 0) {
		ctl_message("cannot write %s: %s", conf, strerror(-r));
		goto fail;
	}
	config_free(&cfg);
	restore_print(&rr);
	return 0;
fail:
	config_free(&cfg);
	restore_cleanup(&rr);
	ctl_message("%s: nothing restored", rr.vm.name);
	return r;
}
