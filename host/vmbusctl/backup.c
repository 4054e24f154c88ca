// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * backup.c - `vmbusctl backup`: a live backup of a running VM
 * (docs/backup.md). The worker does the work (backup-start: freeze the
 * guest, snapshot every disk, thaw, copy in the background); this command
 * prepares DEST, follows backup-status with a progress bar, then re-reads
 * every file the worker wrote and compares its SHA-256 with the worker's,
 * and only then writes DEST/manifest.json, which is what makes DEST a
 * backup. Whatever goes wrong, a half-written DEST is emptied again.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/image.h"
#include "host/vmbusctl/interrupt.h"
#include "host/vmbusctl/manifest.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/progress.h"
#include "host/vmbusctl/vm.h"
#include "host/vmbusctl/worker.h"
#include "vmbus/version.h"

#define BACKUP_POLL_MS		200
#define BACKUP_CANCEL_WAIT_S	30
#define BACKUP_SLOW_ANSWERS	6	/* backup-status timeouts (5 s each) before giving up */
#define BACKUP_LAST_FILE	"last-backup"
#define BACKUP_REQUEST_MAX	(PATH_MAX * 3 + 256)

static const char backup_help[] =
	"Usage: vmbusctl backup NAME DEST [--no-quiesce] [--incremental [--parent DIR]]\n"
	"                       [--timeout MS] [--json]\n"
	"Back up a running VM into the directory DEST (new, or empty): the guest\n"
	"freezes its filesystems, every disk is snapshotted, the guest thaws, and\n"
	"the data is copied while the VM runs on. Every file is then re-read and\n"
	"checked against the worker's SHA-256, and DEST/manifest.json is written.\n\n"
	"  --no-quiesce     do not ask the guest to freeze: a crash-consistent backup\n"
	"  --incremental    copy only what changed since the last backup of NAME\n"
	"  --parent DIR     the backup to start from (default: the last one of NAME)\n"
	"  --timeout MS     the guest thaws by itself after MS ms (1000..60000,\n"
	"                   default 10000)\n"
	"  --json           print the manifest\n\n"
	"Without the guest's backup service the backup is crash-consistent, and the\n"
	"manifest says so. 'vmbusctl restore DEST NEWNAME' makes a VM of it.\n";

enum { OPT_NO_QUIESCE = CTL_OPT_FIRST_PRIVATE, OPT_INCREMENTAL, OPT_PARENT, OPT_TIMEOUT, OPT_JSON };

static const struct option backup_options[] = {
	{ "no-quiesce", no_argument, NULL, OPT_NO_QUIESCE },
	{ "incremental", no_argument, NULL, OPT_INCREMENTAL },
	{ "parent", required_argument, NULL, OPT_PARENT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	CTL_COMMON_OPTIONS
};

/* The guest's KVP keys that describe it, kept in the manifest. */
static const char *const backup_guest_keys[] = {
	"OSPrettyName", "OSName", "OSVersion", "OSId", "KernelRelease", "Architecture", "HostName",
	"OpenvmbusVersion",
};

struct backup_disk {
	const struct json_value *status;	/* the worker's entry */
	const char *name, *kind;
	char file[NAME_MAX + 1], map[NAME_MAX + 1];
	char sha256[SHA256_HEX_LEN + 1];
	uint64_t size, copied;
	bool incremental;
	struct json_value *info;		/* `service NAME info` of a synthetic disk, or NULL */
};

struct backup_run {
	struct vm vm;
	bool no_quiesce, incremental, json;
	unsigned long timeout_ms;
	char id[37];
	char dest[PATH_MAX];
	bool dest_existed;			/* keep the directory when cleaning up */
	char parent_dir[PATH_MAX];		/* incremental: the parent backup */
	char parent_id[MANIFEST_ID_MAX + 1];
	char *definition;			/* vm.conf as it is */
	struct json_value *kvp;			/* `service kvp list`, or NULL */
	double guest_failures;			/* the backup service's failure count before */
	struct json_value *status;		/* the last backup-status */
	unsigned int slow_answers;		/* backup-status requests that timed out */
	size_t ndisks;
	struct backup_disk disks[MANIFEST_MAX_DISKS];
	uint64_t verified_bytes;
	double verify_s, finished_at;
};

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static void backup_run_done(struct backup_run *b)
{
	size_t i;

	for (i = 0; i < b->ndisks; i++)
		json_value_free(b->disks[i].info);
	json_value_free(b->status);
	json_value_free(b->kvp);
	free(b->definition);
	vm_done(&b->vm);
}

/* A random (version 4) UUID: the backup's id. */
static int backup_new_id(char buf[37])
{
	uint8_t u[16];

	if (getrandom(u, sizeof(u), 0) != sizeof(u))
		return -errno;
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
	return 0;
}

static int backup_read_text(const char *path, char **ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t len;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	buf = malloc(MANIFEST_MAX_BYTES / 2 + 1);
	if (!buf)
		return -ENOMEM;
	len = fread(buf, 1, MANIFEST_MAX_BYTES / 2, f);
	if (ferror(f))
		return -EIO;
	if (!feof(f))
		return -EFBIG;
	buf[len] = '\0';
	*ret = buf;
	buf = NULL;
	return 0;
}

/* ------------------------------------------------------------ the parent */

/* vms/NAME/last-backup: "path=DIR" and "id=ID" lines, written after each successful backup. */
static int backup_last_read(const struct vm *vm, char *dir, size_t n, char *id, size_t idn)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[PATH_MAX], line[PATH_MAX + 16];

	if (vm_path(vm, BACKUP_LAST_FILE, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	dir[0] = id[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "path=", 5) == 0 && strlen(line + 5) < n)
			memcpy(dir, line + 5, strlen(line + 5) + 1);
		else if (strncmp(line, "id=", 3) == 0 && strlen(line + 3) < idn)
			memcpy(id, line + 3, strlen(line + 3) + 1);
	}
	return dir[0] && id[0] ? 0 : -EBADMSG;
}

static int backup_last_write(const struct vm *vm, const char *dir, const char *id)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int r = 0;

	if (vm_path(vm, BACKUP_LAST_FILE, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "# The last successful backup of this VM: vmbusctl backup --incremental starts from it.\n"
		"path=%s\nid=%s\n", dir, id);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* --incremental: the parent from --parent DIR, else the VM's last backup. */
static int backup_find_parent(struct backup_run *b, const char *option)
{
	struct manifest m;
	char recorded_id[MANIFEST_ID_MAX + 1] = "";
	int r;

	if (option) {
		snprintf(b->parent_dir, sizeof(b->parent_dir), "%s", option);
	} else {
		r = backup_last_read(&b->vm, b->parent_dir, sizeof(b->parent_dir), recorded_id,
				     sizeof(recorded_id));
		if (r == -ENOENT)
			return ctl_error_errno(r, "%s: no backup of this VM is recorded: take a full backup "
					       "first, or name the parent with --parent DIR", b->vm.name);
		if (r < 0)
			return ctl_error_errno(r, "%s: cannot read %s/%s: %m", b->vm.name, b->vm.dir,
					       BACKUP_LAST_FILE);
	}
	r = manifest_load(b->parent_dir, &m);
	if (r < 0)
		return ctl_error_errno(r, "%s: the parent backup %s cannot be used (see above)%s", b->vm.name,
				       b->parent_dir, option ? "" : "; take a full backup, or name the parent "
				       "with --parent DIR");
	snprintf(b->parent_dir, sizeof(b->parent_dir), "%s", m.dir);
	snprintf(b->parent_id, sizeof(b->parent_id), "%s", m.backup_id);
	if (strcmp(m.vm_name, b->vm.name)) {
		r = ctl_error_errno(-EINVAL, "%s: %s is a backup of VM '%s', not of '%s'", b->vm.name,
				    m.dir, m.vm_name, b->vm.name);
	} else if (recorded_id[0] && strcmp(recorded_id, m.backup_id)) {
		r = ctl_error_errno(-ESTALE, "%s: %s holds backup %s now, not the last backup %s: take a "
				    "full backup, or name the parent with --parent DIR", b->vm.name, m.dir,
				    m.backup_id, recorded_id);
	}
	manifest_done(&m);
	return r;
}

/* -------------------------------------------------------------- DEST */

static int backup_dest_prepare(struct backup_run *b, const char *arg)
{
	_cleanup_(closedirp) DIR *d = NULL;
	char canonical[PATH_MAX];
	struct dirent *e;
	struct stat st;
	int r;

	r = ctl_absolute_path(arg, b->dest, sizeof(b->dest));
	if (r < 0)
		return ctl_error_errno(r, "backup: %s: %m", arg);
	if (stat(b->dest, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return ctl_error_errno(-ENOTDIR, "backup: %s exists and is not a directory", b->dest);
		d = opendir(b->dest);
		if (!d)
			return ctl_error_errno(-errno, "backup: cannot read %s: %m", b->dest);
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				return ctl_error_errno(-ENOTEMPTY, "backup: %s is not empty: a backup goes into "
						       "a new or empty directory", b->dest);
		if (access(b->dest, W_OK) < 0)
			return ctl_error_errno(-errno, "backup: %s: %m", b->dest);
		b->dest_existed = true;
	} else if (errno != ENOENT) {
		return ctl_error_errno(-errno, "backup: %s: %m", b->dest);
	} else {
		r = ctl_mkdir_p(b->dest, 0700);
		if (r < 0)
			return ctl_error_errno(r, "backup: cannot create %s: %m", b->dest);
	}
	/* Canonical: the manifest's relative path to a parent is computed from it. */
	if (!realpath(b->dest, canonical))
		return ctl_error_errno(-errno, "backup: %s: %m", arg);
	memcpy(b->dest, canonical, sizeof(b->dest));
	return 0;
}

/* Remove what this backup put into DEST, and DEST if we made it. */
static void backup_dest_clean(const struct backup_run *b)
{
	_cleanup_(closedirp) DIR *d = opendir(b->dest);
	unsigned int left = 0;
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			left++;
	}
	if (left)
		ctl_message("%s: %u entr%s of the incomplete backup could not be removed from %s",
			    b->vm.name, left, left == 1 ? "y" : "ies", b->dest);
	else if (!b->dest_existed && rmdir(b->dest) == 0)
		ctl_message("%s: removed the incomplete backup %s", b->vm.name, b->dest);
	else
		ctl_message("%s: emptied %s again", b->vm.name, b->dest);
}

/* ------------------------------------------------------------ running */

static const char *backup_state(const struct json_value *st)
{
	const char *s = json_get_string(st, "state");

	return s ? s : "?";
}

static void backup_filesystems(const char *list, char *buf, size_t n)
{
	size_t len = 0;
	const char *p, *nl;

	buf[0] = '\0';
	for (p = list; p && *p && len < n; p = *nl ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		if (nl > p)
			len += (size_t)snprintf(buf + len, n - len, "%s%.*s", len ? ", " : "", (int)(nl - p), p);
	}
}

/* Once the guest is thawed: how long it was frozen, or why it was not. */
static void backup_print_freeze(const struct backup_run *b, const struct json_value *st)
{
	const struct json_value *f = json_get(st, "freeze");
	const char *why = json_get_string(st, "crash_consistent_reason");
	char fs[512];

	if (b->json)
		return;
	if (f)
		backup_filesystems(json_get_string(f, "filesystems"), fs, sizeof(fs));
	if (json_get_bool(st, "quiesced", false) && f) {
		printf("%s: the guest was frozen for %.0f ms (freezing took %.0f ms; %s), disks snapshotted\n",
		       b->vm.name, json_get_number(f, "window_ms", 0), json_get_number(f, "freeze_ms", 0),
		       fs[0] ? fs : "no filesystems");
		return;
	}
	printf("%s: not quiesced: %s; the backup is crash-consistent\n", b->vm.name,
	       why ? why : "no reason given");
	if (f && json_get_bool(f, "watchdog_thawed", false))
		printf("%s: the guest's watchdog thawed its filesystems before the snapshot was done: "
		       "raise --timeout\n", b->vm.name);
}

static int backup_start(struct backup_run *b)
{
	_cleanup_json_ struct json_value *reply = NULL;
	char request[BACKUP_REQUEST_MAX], arg[64];
	size_t len;
	int r;

	snprintf(request, sizeof(request), "backup-start");
	len = strlen(request);
	r = worker_request_append(request, sizeof(request), &len, b->dest);
	if (r >= 0 && b->no_quiesce)
		r = worker_request_append(request, sizeof(request), &len, "no-quiesce");
	if (r >= 0 && b->incremental)
		r = worker_request_append(request, sizeof(request), &len, "incremental");
	if (r >= 0 && b->timeout_ms) {
		snprintf(arg, sizeof(arg), "timeout=%lu", b->timeout_ms);
		r = worker_request_append(request, sizeof(request), &len, arg);
	}
	if (r >= 0) {
		snprintf(arg, sizeof(arg), "id=%s", b->id);
		r = worker_request_append(request, sizeof(request), &len, arg);
	}
	if (r >= 0 && b->incremental) {
		snprintf(arg, sizeof(arg), "parent=%s", b->parent_id);
		r = worker_request_append(request, sizeof(request), &len, arg);
	}
	if (r < 0)
		return ctl_error_errno(r, "backup: the path %s is too long", b->dest);
	return worker_request(&b->vm, request, &reply);
}

/* After a failure: the guest's own words, if its backup service failed just now (a hook). */
static void backup_print_guest_failure(const struct backup_run *b, const char *error)
{
	_cleanup_json_ struct json_value *info = NULL;
	const struct json_value *last;
	const char *text;
	char err[256];

	if (worker_call(&b->vm, "service backup info", &info, err, sizeof(err)) < 0 ||
	    json_get_number(info, "failures", 0) <= b->guest_failures)
		return;
	last = json_get(info, "last");
	text = json_get_string(last, "text");
	if (!text || !*text || json_get_number(last, "status", 0) >= 0 || (error && strstr(error, text)))
		return;
	fprintf(stderr, "The guest's answer:\n");
	for (const char *p = text, *nl; *p; p = *nl ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		fprintf(stderr, "  %.*s\n", (int)(nl - p), p);
	}
}

static void backup_cancel(struct backup_run *b)
{
	_cleanup_json_ struct json_value *reply = NULL;
	double end = ctl_now() + BACKUP_CANCEL_WAIT_S;
	char err[256];

	if (worker_call(&b->vm, "backup-cancel", &reply, err, sizeof(err)) < 0)
		return;
	while (ctl_now() < end) {
		_cleanup_json_ struct json_value *st = NULL;
		struct timespec pause = { 0, BACKUP_POLL_MS * 1000000L };

		if (worker_call(&b->vm, "backup-status", &st, err, sizeof(err)) < 0)
			return;
		if (!strcmp(backup_state(st), "failed") || !strcmp(backup_state(st), "done") ||
		    !strcmp(backup_state(st), "idle"))
			return;
		nanosleep(&pause, NULL);
	}
}

/* One look at backup-status: 1 to go on, 0 done, or the failure (reported). */
static int backup_poll(struct backup_run *b, struct progress *bar, bool *freeze_shown)
{
	struct json_value *st = NULL;
	const char *state, *id, *why;
	char error[512];
	int r;

	r = worker_call(&b->vm, "backup-status", &st, error, sizeof(error));
	/* A worker busy for a while (it answers within 5 s, normally at once) is not a lost one. */
	if (r == -ETIMEDOUT && ++b->slow_answers < BACKUP_SLOW_ANSWERS)
		return 1;
	if (r < 0) {
		progress_end(bar);
		return ctl_error_errno(r, "%s: lost the worker during the backup: %s", b->vm.name, error);
	}
	json_value_free(b->status);
	b->status = st;
	state = backup_state(st);
	id = json_get_string(st, "backup_id");
	if (!id || strcmp(id, b->id)) {
		progress_end(bar);
		return ctl_error_errno(-ESTALE, "%s: the worker reports backup %s, not ours (%s)",
				       b->vm.name, id ? id : "none", b->id);
	}
	if (!*freeze_shown && (!strcmp(state, "copying") || !strcmp(state, "done"))) {
		backup_print_freeze(b, st);
		*freeze_shown = true;
	}
	if (!strcmp(state, "copying")) {
		if (!bar->start)
			progress_begin(bar, bar->what, (uint64_t)json_get_number(st, "total_bytes", 0));
		progress_update(bar, (uint64_t)json_get_number(st, "copied_bytes", 0));
	}
	if (!strcmp(state, "done")) {
		progress_end(bar);
		return 0;
	}
	if (strcmp(state, "failed") && strcmp(state, "idle"))
		return 1;
	progress_end(bar);
	why = json_get_string(st, "error");
	ctl_message("%s: the backup failed: %s", b->vm.name, why ? why : "no reason given");
	backup_print_guest_failure(b, why);
	return -EIO;
}

/* Follow backup-status until done (0) or failed (reported). */
static int backup_follow(struct backup_run *b)
{
	struct progress bar = { .start = 0 };
	bool freeze_shown = false;
	int r;

	snprintf(bar.what, sizeof(bar.what), "%s: copying", b->vm.name);
	while ((r = backup_poll(b, &bar, &freeze_shown)) > 0) {
		struct timespec pause = { 0, BACKUP_POLL_MS * 1000000L };

		nanosleep(&pause, NULL);
		if (interrupt_requested()) {
			progress_end(&bar);
			ctl_message("%s: interrupted: cancelling the backup", b->vm.name);
			backup_cancel(b);
			return -ECANCELED;
		}
	}
	return r;
}

/* -------------------------------------------------------- verification */

/* The worker's "file"/"map" member: a file directly in DEST, given by name or path. */
static int backup_dest_file(const struct backup_run *b, const char *value, char *buf, size_t n)
{
	size_t dlen = strlen(b->dest);
	const char *name = value;

	if (!value)
		return -EBADMSG;
	if (value[0] == '/') {
		if (strncmp(value, b->dest, dlen) || value[dlen] != '/')
			return -EBADMSG;
		name = value + dlen + 1;
	}
	if (!*name || strchr(name, '/') || name[0] == '.' || strlen(name) >= n ||
	    strcmp(name, MANIFEST_FILE) == 0)
		return -EBADMSG;
	strcpy(buf, name);
	return 0;
}

static int backup_collect_disks(struct backup_run *b)
{
	const struct json_value *disks = json_get(b->status, "disks"), *d;

	if (!disks || disks->type != JSON_ARRAY || !disks->child)
		return ctl_error_errno(-EBADMSG, "%s: the worker's backup lists no disks", b->vm.name);
	for (d = disks->child; d; d = d->next) {
		struct backup_disk *disk = &b->disks[b->ndisks];
		const char *sha = json_get_string(d, "sha256");
		double size = json_get_number(d, "size", -1);

		if (b->ndisks == MANIFEST_MAX_DISKS)
			return ctl_error_errno(-E2BIG, "%s: more than %d disks", b->vm.name, MANIFEST_MAX_DISKS);
		disk->status = d;
		disk->name = json_get_string(d, "name");
		disk->kind = json_get_string(d, "kind");
		disk->incremental = json_get_bool(d, "incremental", false);
		if (!disk->name || !disk->kind || !(size > 0) ||
		    backup_dest_file(b, json_get_string(d, "file"), disk->file, sizeof(disk->file)) < 0 ||
		    (disk->incremental &&
		     backup_dest_file(b, json_get_string(d, "map"), disk->map, sizeof(disk->map)) < 0))
			return ctl_error_errno(-EBADMSG, "%s: the worker's entry for disk %s lacks a name, kind, "
					       "size, or a file in %s", b->vm.name,
					       disk->name ? disk->name : "?", b->dest);
		if (!sha || strlen(sha) != SHA256_HEX_LEN || strspn(sha, "0123456789abcdefABCDEF") != SHA256_HEX_LEN)
			return ctl_error_errno(-EBADMSG, "%s: the worker gave no SHA-256 for disk %s",
					       b->vm.name, disk->name);
		for (size_t i = 0; i <= SHA256_HEX_LEN; i++)
			disk->sha256[i] = (char)(sha[i] >= 'A' && sha[i] <= 'F' ? sha[i] - 'A' + 'a' : sha[i]);
		disk->size = (uint64_t)size;
		disk->copied = (uint64_t)json_get_number(d, "copied_bytes", 0);
		b->ndisks++;
	}
	return 0;
}

/* Re-read one disk's file (what the map lists, for an incremental one) from the disk itself. */
static int backup_verify_disk(struct backup_run *b, struct backup_disk *disk, struct progress *bar,
			      uint64_t *done)
{
	_cleanup_(image_ranges_freep) struct image_ranges ranges = { 0 };
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX + NAME_MAX + 2], hex[SHA256_HEX_LEN + 1];
	struct stat st;
	int r;

	snprintf(path, sizeof(path), "%s/%s", b->dest, disk->file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return ctl_error_errno(-errno, "%s: disk %s: %s: %m", b->vm.name, disk->name, path);
	if ((uint64_t)st.st_size != disk->size)
		return ctl_error_errno(-EIO, "%s: disk %s: %s is %lld bytes, the disk %llu", b->vm.name,
				       disk->name, path, (long long)st.st_size, (unsigned long long)disk->size);
	if (disk->incremental) {
		char map[PATH_MAX + NAME_MAX + 2];

		snprintf(map, sizeof(map), "%s/%s", b->dest, disk->map);
		r = image_map_load(map, disk->size, &ranges);
		if (r < 0)
			return r;
		if (ranges.bytes != disk->copied)
			return ctl_error_errno(-EIO, "%s: disk %s: the map lists %llu bytes, the worker copied %llu",
					       b->vm.name, disk->name, (unsigned long long)ranges.bytes,
					       (unsigned long long)disk->copied);
	} else {
		r = image_ranges_whole(&ranges, disk->size);
		if (r < 0)
			return ctl_error_errno(r, "out of memory");
	}
	r = image_sync_and_drop(fd);
	if (r < 0)
		return ctl_error_errno(r, "%s: cannot flush %s: %m", b->vm.name, path);
	r = image_process(fd, &ranges, IMAGE_HASH_ONLY, -1, hex, bar, done);
	if (r == -EINTR)
		return -ECANCELED;
	if (r < 0)
		return ctl_error_errno(r, "%s: cannot read %s: %m", b->vm.name, path);
	if (strcmp(hex, disk->sha256))
		return ctl_error_errno(-EIO, "%s: disk %s: %s does not hold what the worker copied "
				       "(SHA-256 %s, the worker's %s)", b->vm.name, disk->name, path, hex,
				       disk->sha256);
	b->verified_bytes += ranges.bytes;
	return 0;
}

static int backup_verify(struct backup_run *b)
{
	_cleanup_close_ int dfd = -1;
	struct progress bar;
	uint64_t total = 0, done = 0;
	double start = ctl_now();
	char what[96];
	size_t i;
	int r;

	r = backup_collect_disks(b);
	if (r < 0)
		return r;
	for (i = 0; i < b->ndisks; i++)
		total += b->disks[i].incremental ? b->disks[i].copied : b->disks[i].size;
	snprintf(what, sizeof(what), "%s: verifying", b->vm.name);
	progress_begin(&bar, what, total);
	for (i = 0; i < b->ndisks; i++) {
		r = backup_verify_disk(b, &b->disks[i], &bar, &done);
		if (r < 0) {
			progress_end(&bar);
			return r;
		}
		/* The serial number and mode of a synthetic disk, for a restore. */
		if (!strcmp(b->disks[i].kind, "synthetic")) {
			char request[64], err[256];

			snprintf(request, sizeof(request), "service %s info", b->disks[i].name);
			if (worker_call(&b->vm, request, &b->disks[i].info, err, sizeof(err)) < 0)
				b->disks[i].info = NULL;	/* hot-removed meanwhile: no serial */
		}
	}
	progress_end(&bar);
	dfd = open(b->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return ctl_error_errno(-errno, "%s: cannot flush %s: %m", b->vm.name, b->dest);
	b->verify_s = ctl_now() - start;
	return 0;
}

/* ------------------------------------------------------------ manifest */

/* Path of to relative to the directory from (both canonical, absolute): "../web-full". */
static void backup_relative_path(const char *from, const char *to, char *buf, size_t n)
{
	size_t common = 0, i, len = 0;
	const char *rest;

	/* The longest common leading run of whole components. */
	for (i = 0;; i++) {
		bool from_end = !from[i] || from[i] == '/', to_end = !to[i] || to[i] == '/';

		if (from_end && to_end)
			common = i;
		if (!from[i] || !to[i] || from[i] != to[i])
			break;
	}
	buf[0] = '\0';
	for (i = common; from[i]; i++)
		if (from[i] == '/')
			len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s..", len ? "/" : "");
	rest = to + common;
	if (*rest == '/')
		rest++;
	if (*rest)
		snprintf(buf + len, len < n ? n - len : 0, "%s%s", len ? "/" : "", rest);
	else if (!len)
		snprintf(buf, n, ".");
}

static void backup_json_guest(struct json_writer *w, const struct json_value *kvp)
{
	const struct json_value *pool = json_get(kvp, "guest"), *e;
	size_t i;

	if (!kvp || !json_get_bool(kvp, "guest_pool_read", false) || !pool) {
		json_null(w, "guest");
		return;
	}
	json_object_begin(w, "guest");
	for (i = 0; i < sizeof(backup_guest_keys) / sizeof(backup_guest_keys[0]); i++)
		for (e = pool->child; e; e = e->next) {
			const char *key = json_get_string(e, "key"), *value = json_get_string(e, "value");

			if (key && value && !strcmp(key, backup_guest_keys[i]))
				json_string(w, key, value);
		}
	json_object_end(w);
}

static void backup_json_freeze(struct json_writer *w, const struct json_value *f)
{
	const char *list = json_get_string(f, "filesystems"), *p, *nl;
	char fs[PATH_MAX];

	json_object_begin(w, "freeze");
	json_double(w, "window_ms", json_get_number(f, "window_ms", 0));
	json_double(w, "freeze_ms", json_get_number(f, "freeze_ms", 0));
	json_bool(w, "watchdog_thawed", json_get_bool(f, "watchdog_thawed", false));
	json_array_begin(w, "filesystems");
	for (p = list; p && *p; p = *nl ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		if (nl > p && (size_t)(nl - p) < sizeof(fs)) {
			snprintf(fs, sizeof(fs), "%.*s", (int)(nl - p), p);
			json_string(w, NULL, fs);
		}
	}
	json_array_end(w);
	json_object_end(w);
}

static void backup_json_disks(struct json_writer *w, const struct backup_run *b)
{
	size_t i;

	json_array_begin(w, "disks");
	for (i = 0; i < b->ndisks; i++) {
		const struct backup_disk *d = &b->disks[i];
		const char *source = json_get_string(d->status, "source");
		const char *serial = json_get_string(d->info, "serial");

		json_object_begin(w, NULL);
		json_string(w, "name", d->name);
		json_string(w, "kind", d->kind);
		if (source)
			json_string(w, "source", source);
		if (serial)
			json_string(w, "serial", serial);
		if (d->info)
			json_bool(w, "readonly", json_get_bool(d->info, "readonly", false));
		json_uint(w, "size", d->size);
		json_string(w, "file", d->file);
		json_bool(w, "incremental", d->incremental);
		if (d->incremental)
			json_string(w, "map", d->map);
		json_uint(w, "copied_bytes", d->incremental ? d->copied : d->size);
		json_string(w, "sha256", d->sha256);
		json_object_end(w);
	}
	json_array_end(w);
}

static void backup_json_manifest(struct json_writer *w, const struct backup_run *b)
{
	const struct json_value *st = b->status, *f = json_get(st, "freeze");
	double started = json_get_number(st, "started_at", 0);
	bool quiesced = json_get_bool(st, "quiesced", false);
	const char *why = json_get_string(st, "crash_consistent_reason");
	time_t t = (time_t)started;
	char when[32], rel[PATH_MAX];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_begin(w, NULL);
	json_int(w, "format", MANIFEST_FORMAT);
	json_string(w, "backup_id", b->id);
	json_bool(w, "incremental", b->incremental);
	if (b->incremental) {
		backup_relative_path(b->dest, b->parent_dir, rel, sizeof(rel));
		json_string(w, "parent_id", b->parent_id);
		json_string(w, "parent_path", b->parent_dir);
		json_string(w, "parent_relative_path", rel);
	}
	json_string(w, "vm_name", b->vm.name);
	json_string(w, "time", when);
	json_double(w, "started_at", started);
	json_double(w, "finished_at", b->finished_at);
	json_bool(w, "quiesced", quiesced);
	json_string(w, "consistency", quiesced ? "application-consistent" : "crash-consistent");
	if (!quiesced)
		json_string(w, "crash_consistent_reason", why ? why : "unknown");
	/* The freeze figures mean something only when the guest froze (or its watchdog thawed). */
	if (f && (quiesced || json_get_bool(f, "watchdog_thawed", false)))
		backup_json_freeze(w, f);
	backup_json_guest(w, b->kvp);
	backup_json_disks(w, b);
	json_uint(w, "copied_bytes", (uint64_t)json_get_number(st, "copied_bytes", 0));
	json_double(w, "copy_seconds", json_get_number(st, "elapsed_s", 0));
	json_double(w, "verify_seconds", b->verify_s);
	json_string(w, "vmbusctl", OPENVMBUS_VERSION);
	json_string(w, "definition", b->definition);
	json_object_end(w);
}

static int backup_write_manifest(struct backup_run *b)
{
	struct json_writer w;
	const char *text;
	int r;

	b->finished_at = (double)time(NULL);
	json_writer_init(&w);
	backup_json_manifest(&w, b);
	text = json_writer_text(&w);
	r = text ? manifest_save(b->dest, text) : -ENOMEM;
	if (r < 0) {
		json_writer_free(&w);
		return ctl_error_errno(r, "%s: cannot write %s/%s: %m", b->vm.name, b->dest, MANIFEST_FILE);
	}
	if (b->json)
		puts(text);
	json_writer_free(&w);
	return 0;
}

static void backup_print_result(const struct backup_run *b)
{
	const struct json_value *st = b->status;
	uint64_t copied = (uint64_t)json_get_number(st, "copied_bytes", 0);
	double secs = json_get_number(st, "elapsed_s", 0);
	char size[32], rate[32], checked[32];

	if (b->json)
		return;
	progress_size(copied, size, sizeof(size));
	progress_size(secs > 0 ? (uint64_t)((double)copied / secs) : 0, rate, sizeof(rate));
	progress_size(b->verified_bytes, checked, sizeof(checked));
	printf("%s: copied %s in %.1f s (%s/s); verified %zu disk%s (SHA-256 of %s read back) in %.1f s\n",
	       b->vm.name, size, secs, rate, b->ndisks, b->ndisks == 1 ? "" : "s", checked, b->verify_s);
	printf("%s: backup %s complete in %s (%s%s%s)\n", b->vm.name, b->id, b->dest,
	       b->incremental ? "incremental, parent " : "full", b->incremental ? b->parent_dir : "",
	       json_get_bool(st, "quiesced", false) ? ", application-consistent" : ", crash-consistent");
}

/* ------------------------------------------------------------ command */

/* Before DEST is touched: the VM runs, no backup runs, and what the manifest needs from it. */
static int backup_prepare(struct backup_run *b)
{
	_cleanup_json_ struct json_value *st = NULL, *info = NULL;
	char path[PATH_MAX], err[256];
	const char *state;
	int r;

	r = worker_request(&b->vm, "backup-status", &st);
	if (r < 0)
		return r;
	state = backup_state(st);
	if (strcmp(state, "idle") && strcmp(state, "done") && strcmp(state, "failed"))
		return ctl_error_errno(-EBUSY, "%s: a backup is running already (%s, into %s)", b->vm.name,
				       state, json_get_string(st, "dest") ? json_get_string(st, "dest") : "?");
	if (vm_path(&b->vm, "vm.conf", path, sizeof(path)) < 0)
		return ctl_error_errno(-ENAMETOOLONG, "%s: path too long", b->vm.dir);
	r = backup_read_text(path, &b->definition);
	if (r < 0)
		return ctl_error_errno(r, "%s: cannot read %s: %m", b->vm.name, path);
	/* Both optional: a VM without KVP or backup service still gets a crash-consistent backup. */
	if (worker_call(&b->vm, "service kvp list", &b->kvp, err, sizeof(err)) < 0)
		b->kvp = NULL;
	if (worker_call(&b->vm, "service backup info", &info, err, sizeof(err)) >= 0)
		b->guest_failures = json_get_number(info, "failures", 0);
	return 0;
}

int cmd_backup(int argc, char **argv)
{
	_cleanup_(backup_run_done) struct backup_run b = { .vm.name = "" };
	const char *parent = NULL;
	char *end;
	int c, r;

	while ((c = ctl_getopt(argc, argv, backup_options)) != -1) {
		switch (c) {
		case OPT_NO_QUIESCE: b.no_quiesce = true; break;
		case OPT_INCREMENTAL: b.incremental = true; break;
		case OPT_PARENT: parent = optarg; break;
		case OPT_JSON: b.json = true; break;
		case OPT_TIMEOUT:
			errno = 0;
			b.timeout_ms = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || b.timeout_ms < 1000 || b.timeout_ms > 60000)
				return ctl_usage_error("backup", "--timeout takes 1000 to 60000 (milliseconds), "
						       "not '%s'", optarg);
			break;
		default: return ctl_option_default(c, backup_help);
		}
	}
	r = ctl_positional(argc, argv, 2, 2);
	if (r < 0)
		return r;
	if (parent && !b.incremental)
		return ctl_usage_error("backup", "--parent goes with --incremental");
	if (b.no_quiesce && b.timeout_ms)
		return ctl_usage_error("backup", "--timeout is the guest's freeze timeout: not with --no-quiesce");
	r = vm_open(&b.vm, argv[optind]);
	if (r < 0)
		return r;
	if (b.incremental && (r = backup_find_parent(&b, parent)) < 0)
		return r;
	r = backup_prepare(&b);
	if (r < 0)
		return r;
	r = backup_new_id(b.id);
	if (r < 0)
		return ctl_error_errno(r, "cannot get random bytes for the backup id: %m");
	r = backup_dest_prepare(&b, argv[optind + 1]);
	if (r < 0)
		return r;
	if (!b.json)
		printf("%s: backup %s (%s) into %s\n", b.vm.name, b.id,
		       b.incremental ? "incremental" : "full", b.dest);
	interrupt_catch();
	r = backup_start(&b);
	if (r >= 0)
		r = backup_follow(&b);
	if (r >= 0)
		r = backup_verify(&b);
	if (r >= 0)
		r = backup_write_manifest(&b);
	if (r < 0) {
		backup_dest_clean(&b);
		if (r == -ECANCELED)
			ctl_message("%s: backup cancelled", b.vm.name);
		return r;
	}
	r = backup_last_write(&b.vm, b.dest, b.id);
	if (r < 0)
		ctl_message("%s: warning: cannot record this backup in %s/%s (%s): the next --incremental "
			    "needs --parent %s", b.vm.name, b.vm.dir, BACKUP_LAST_FILE, strerror(-r), b.dest);
	backup_print_result(&b);
	return 0;
}
