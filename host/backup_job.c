// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * backup_job.c - a live backup, the worker's part (see backup_job.h and
 * docs/backup.md).
 *
 *   start → [QEMU disk: add the target node] → FREEZE (guest) → snapshot
 *   every disk (storage_backup_begin; QMP blockdev-backup) → THAW → copy
 *   (a thread reads each synthetic disk's snapshot view into DEST, hashing
 *   what it reads; QEMU copies its disk itself) → done.
 *
 * Everything but the copy runs on the worker's event loop, driven by the
 * guest's answers and QMP replies. Once the guest is frozen, every path -
 * failure, cancel, the worker stopping - sends THAW.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/backup_job.h"
#include "host/devices.h"
#include "host/devices/storage.h"
#include "host/devices/storage_snap.h"
#include "host/fileio.h"
#include "host/log.h"
#include "host/sha256.h"
#include "vmbus/ic_backup.h"

#define BACKUP_MAX_DISKS	17		/* 16 synthetic + the QEMU disk */
#define BACKUP_COPY_UNIT	(16u * STORAGE_CHUNK)	/* 1 MiB per read */
#define BACKUP_QEMU_TARGET	"ovmb-backup-target"

enum backup_state {
	BACKUP_IDLE, BACKUP_PREPARE, BACKUP_FREEZING, BACKUP_SNAPSHOT, BACKUP_THAWING,
	BACKUP_COPYING, BACKUP_DONE, BACKUP_FAILED,
};

static const char *const backup_state_names[] = {
	"idle", "preparing", "freezing", "snapshot", "thawing", "copying", "done", "failed",
};

struct backup_disk {
	char name[DEVICE_NAME_MAX];
	bool qemu;
	char *source;
	char file[DEVICE_NAME_MAX + 8];
	uint64_t size;
	bool incremental;
	struct storage_snap *snap;
	int out_fd;
	uint64_t copied, total;		/* bytes; copied is written by the copy thread */
	uint64_t saves;			/* chunks saved by copy-before-write (kept after the end) */
	char sha256[SHA256_HEX_LEN + 1];
};

struct backup_job {
	struct backup_env env;
	enum backup_state state;
	char id[STORAGE_BACKUP_ID_MAX + 1];
	char parent[STORAGE_BACKUP_ID_MAX + 1];
	char *dest;
	int dest_fd;
	bool want_quiesce, incremental;
	uint32_t timeout_ms;
	bool quiesced, frozen, thaw_sent;
	char crash_reason[160];
	char fs_text[VMBUS_BACKUP_TEXT_MAX + 1];
	uint32_t guest_freeze_ms;
	bool watchdog_thawed;
	double started_at, t_frozen, t_thawed, t_done;	/* devices_now() */
	time_t started_wall;
	char error[VMBUS_BACKUP_TEXT_MAX + 256];
	struct backup_disk disks[BACKUP_MAX_DISKS];
	unsigned int ndisks;
	/* QEMU disk */
	int qemu_disk;			/* index in disks, or -1 */
	int qemu_job;			/* 0 not started, 1 running, 2 done, -1 failed */
	int qemu_nodes;			/* target nodes added: 0, 1 (file), 2 (raw on it) */
	/* copy thread */
	pthread_t thread;
	bool thread_running;
	int efd;			/* the thread is done */
	int cancel;			/* atomic: stop copying */
	int thread_error;		/* -errno of the copy */
	unsigned int copy_delay_ms;	/* OPENVMBUS_BACKUP_COPY_DELAY_MS: a slow copy, for tests */
	char thread_why[256];
};

static void backup_set_state(struct backup_job *j, enum backup_state st)
{
	j->state = st;
	log_debug("backup %s: %s", j->id, backup_state_names[st]);
}

/* The number the guest's hooks see as OPENVMBUS_BACKUP_ID: FNV-1a of the backup's id. */
static uint64_t backup_number(const struct backup_job *j)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = j->id; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return h;
}

static struct device *backup_service(const struct backup_job *j)
{
	return bus_find_device(j->env.bus, "backup");
}

static void backup_thaw_answer(void *ctx, const struct backup_answer *a);
static void backup_finish(struct backup_job *j);

/* The guest thaws now (once); what follows depends on the state. */
static void backup_send_thaw(struct backup_job *j)
{
	struct device *dev = backup_service(j);
	int r;

	if (!j->frozen || j->thaw_sent)
		return;
	j->thaw_sent = true;
	r = dev ? backup_device_request(dev, VMBUS_BACKUP_THAW, 0, backup_number(j), backup_thaw_answer, j)
		: -ENODEV;
	if (r < 0) {
		/* The guest's watchdog thaws it (or the service is gone, which also thaws). */
		log_warning("backup %s: cannot send THAW (%s): the guest's watchdog thaws within %u ms",
			    j->id, strerror(-r), j->timeout_ms ? j->timeout_ms : VMBUS_BACKUP_TIMEOUT_DEFAULT_MS);
		j->frozen = false;
		j->quiesced = false;
		snprintf(j->crash_reason, sizeof(j->crash_reason), "the thaw could not be sent");
	}
}

static void backup_fail(struct backup_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void backup_fail(struct backup_job *j, const char *fmt, ...)
{
	va_list ap;

	if (j->state == BACKUP_FAILED || j->state == BACKUP_DONE)
		return;
	va_start(ap, fmt);
	vsnprintf(j->error, sizeof(j->error), fmt, ap);
	va_end(ap);
	log_warning("backup %s failed: %s", j->id, j->error);
	__atomic_store_n(&j->cancel, 1, __ATOMIC_RELAXED);
	backup_set_state(j, BACKUP_FAILED);
	backup_send_thaw(j);
	if (j->qemu_job == 1)
		qmp_command(j->env.qmp, "block-job-cancel", "{\"device\":\"ovmb-backup\",\"force\":true}",
			    NULL, NULL);
	backup_finish(j);
}

/* ------------------------------------------------------------- copy thread */

/* One synthetic disk: the snapshot's wanted chunks into the file (and the map). */
static int backup_copy_disk(struct backup_job *j, struct backup_disk *d, uint8_t *buf)
{
	struct storage_snap *snap = d->snap;
	FILE *map = NULL;
	struct sha256 h;
	uint64_t i = 0;
	int r = 0;

	sha256_init(&h);
	if (d->incremental) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s.map", j->dest, d->name);
		map = fopen(path, "wxe");
		if (!map)
			return -errno;
	}
	while (i < snap->nchunks && !r) {
		uint64_t first, n, off, len;

		if (__atomic_load_n(&j->cancel, __ATOMIC_RELAXED)) {
			r = -ECANCELED;
			break;
		}
		/* The next run of wanted chunks, at most one copy unit long. */
		if (snap->wanted && !storage_bit(snap->wanted, i)) {
			i++;
			continue;
		}
		first = i;
		n = 0;
		while (i < snap->nchunks && n < BACKUP_COPY_UNIT / STORAGE_CHUNK &&
		       (!snap->wanted || storage_bit(snap->wanted, i))) {
			i++;
			n++;
		}
		off = first * STORAGE_CHUNK;
		len = n * STORAGE_CHUNK;
		if (len > d->size - off)
			len = d->size - off;
		r = storage_snap_read(snap, off, buf, (size_t)len);
		if (r < 0)
			break;
		sha256_update(&h, buf, (size_t)len);
		if (!fileio_is_zero(buf, (size_t)len))
			r = fileio_pwrite_all(d->out_fd, buf, (size_t)len, off);
		if (map && !r && fprintf(map, "%llu %llu\n", (unsigned long long)off,
					 (unsigned long long)len) < 0)
			r = -EIO;
		__atomic_add_fetch(&d->copied, len, __ATOMIC_RELAXED);
		if (j->copy_delay_ms) {
			struct timespec t = { j->copy_delay_ms / 1000, (long)(j->copy_delay_ms % 1000) * 1000000L };

			nanosleep(&t, NULL);
		}
	}
	if (map && fclose(map) != 0 && !r)
		r = -errno;
	if (!r && fsync(d->out_fd) < 0)
		r = -errno;
	if (!r)
		sha256_final_hex(&h, d->sha256);
	sha256_free(&h);
	return r;
}

/* The QEMU disk: QEMU wrote the file; hash it once its job completed. */
static int backup_hash_qemu_disk(struct backup_job *j, struct backup_disk *d, uint8_t *buf)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	struct sha256 h;
	uint64_t off = 0;
	int st;

	while ((st = __atomic_load_n(&j->qemu_job, __ATOMIC_ACQUIRE)) == 1 &&
	       !__atomic_load_n(&j->cancel, __ATOMIC_RELAXED))
		nanosleep(&pause, NULL);
	if (st != 2)
		return -ECANCELED;
	sha256_init(&h);
	while (off < d->size) {
		size_t n = d->size - off < BACKUP_COPY_UNIT ? (size_t)(d->size - off) : BACKUP_COPY_UNIT;
		ssize_t got = pread(d->out_fd, buf, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			sha256_free(&h);
			return -errno;
		}
		if (got == 0) {
			memset(buf, 0, n);	/* QEMU may leave the tail a hole */
			got = (ssize_t)n;
		}
		sha256_update(&h, buf, (size_t)got);
		off += (uint64_t)got;
		__atomic_store_n(&d->copied, off, __ATOMIC_RELAXED);
	}
	if (fsync(d->out_fd) < 0) {
		sha256_free(&h);
		return -errno;
	}
	sha256_final_hex(&h, d->sha256);
	return 0;
}

static void *backup_thread(void *arg)
{
	struct backup_job *j = arg;
	uint8_t *buf = malloc(BACKUP_COPY_UNIT);
	uint64_t one = 1;
	int r = buf ? 0 : -ENOMEM;

	for (unsigned int i = 0; i < j->ndisks && !r; i++) {
		struct backup_disk *d = &j->disks[i];

		r = d->qemu ? backup_hash_qemu_disk(j, d, buf) : backup_copy_disk(j, d, buf);
		if (r < 0)
			snprintf(j->thread_why, sizeof(j->thread_why), "%s: %s", d->name,
				 r == -ENODEV ? "the disk was removed during the backup" : strerror(-r));
	}
	if (!r && fsync(j->dest_fd) < 0)
		r = -errno;
	free(buf);
	j->thread_error = r;
	if (write(j->efd, &one, sizeof(one)) < 0)
		log_error("backup: cannot wake the worker's loop: %m");
	return NULL;
}

/* The copy thread finished (its eventfd fired). */
static void backup_thread_done(void *arg)
{
	struct backup_job *j = arg;
	uint64_t v;

	if (read(j->efd, &v, sizeof(v)) < 0)
		return;
	if (!j->thread_running)
		return;
	pthread_join(j->thread, NULL);
	j->thread_running = false;
	bus_unwatch_fd(j->env.bus, j->efd);
	if (j->thread_error < 0) {
		backup_fail(j, "copy failed: %s", j->thread_why[0] ? j->thread_why : strerror(-j->thread_error));
		return;
	}
	backup_finish(j);
}

/* --------------------------------------------------------------- phases */

/* Drop snapshots (ok: the next incremental builds on this backup) and QEMU's target. */
static void backup_release(struct backup_job *j, bool ok)
{
	for (unsigned int i = 0; i < j->ndisks; i++) {
		struct backup_disk *d = &j->disks[i];
		struct device *dev;

		if (!d->snap)
			continue;
		dev = bus_find_device(j->env.bus, d->name);
		d->saves = d->snap->saves;
		if (dev && storage_is_disk(dev))
			storage_backup_end(dev, d->snap, ok, j->id);
		storage_snap_free(d->snap);
		d->snap = NULL;
	}
	if (j->qemu_nodes && j->qemu_job != 1) {
		if (j->qemu_nodes == 2)
			qmp_command(j->env.qmp, "blockdev-del",
				    "{\"node-name\":\"" BACKUP_QEMU_TARGET "\"}", NULL, NULL);
		qmp_command(j->env.qmp, "blockdev-del", "{\"node-name\":\"" BACKUP_QEMU_TARGET "-file\"}",
			    NULL, NULL);
		j->qemu_nodes = 0;
	}
}

/* Called whenever a part ends: done when the copy and the guest's thaw are. */
static void backup_finish(struct backup_job *j)
{
	if (j->thread_running) {
		if (j->state != BACKUP_FAILED)
			return;		/* the copy goes on */
		/* Failed: the thread sees cancel and stops soon; wait for it here. */
		pthread_join(j->thread, NULL);
		j->thread_running = false;
		bus_unwatch_fd(j->env.bus, j->efd);
	}
	if (j->state == BACKUP_FAILED) {
		backup_release(j, false);
		return;
	}
	if (j->thaw_sent && j->frozen)
		return;		/* wait for the guest's THAW answer */
	if (j->state != BACKUP_COPYING)
		return;
	backup_release(j, true);
	j->t_done = devices_now();
	backup_set_state(j, BACKUP_DONE);
	log_info("backup %s done in %.1f s%s", j->id, j->t_done - j->started_at,
		 j->quiesced ? " (application-consistent)" : " (crash-consistent)");
}

static void backup_start_copy(struct backup_job *j)
{
	int r;

	backup_set_state(j, BACKUP_COPYING);
	r = bus_watch_fd(j->env.bus, j->efd, backup_thread_done, NULL, j);
	if (r < 0) {
		backup_fail(j, "cannot watch the copy: %s", strerror(-r));
		return;
	}
	r = pthread_create(&j->thread, NULL, backup_thread, j);
	if (r) {
		bus_unwatch_fd(j->env.bus, j->efd);
		backup_fail(j, "cannot start the copy thread: %s", strerror(r));
		return;
	}
	j->thread_running = true;
}

static void backup_thaw_answer(void *ctx, const struct backup_answer *a)
{
	struct backup_job *j = ctx;

	j->frozen = false;
	j->t_thawed = devices_now();
	if (a->status < 0) {
		log_warning("backup %s: the guest's thaw answer: %s %s", j->id, strerror(-a->status), a->text);
	}
	if (a->flags & VMBUS_BACKUP_F_WATCHDOG_THAWED) {
		j->watchdog_thawed = true;
		j->quiesced = false;
		snprintf(j->crash_reason, sizeof(j->crash_reason),
			 "the guest's watchdog thawed before the snapshot was complete");
	}
	if (j->quiesced)
		log_info("backup %s: the guest was frozen for %.0f ms", j->id,
			 (j->t_thawed - j->t_frozen) * 1000);
	if (j->state == BACKUP_THAWING)
		backup_start_copy(j);
	else
		backup_finish(j);
}

/* Snapshots taken: thaw (or, not quiesced, copy at once). */
static void backup_after_snapshot(struct backup_job *j)
{
	if (j->state != BACKUP_SNAPSHOT)
		return;
	if (j->frozen) {
		backup_set_state(j, BACKUP_THAWING);
		backup_send_thaw(j);
		if (!j->frozen)		/* THAW could not be sent */
			backup_start_copy(j);
		return;
	}
	backup_start_copy(j);
}

static void backup_qemu_started(void *ctx, const struct json_value *reply, const char *error)
{
	struct backup_job *j = ctx;

	(void)reply;
	if (j->state != BACKUP_SNAPSHOT)
		return;
	if (error) {
		j->qemu_job = -1;
		backup_fail(j, "QEMU could not start the backup of %s: %s",
			    j->disks[j->qemu_disk].source, error);
		return;
	}
	j->qemu_job = 1;
	backup_after_snapshot(j);
}

static void backup_take_snapshot(struct backup_job *j)
{
	backup_set_state(j, BACKUP_SNAPSHOT);
	for (unsigned int i = 0; i < j->ndisks; i++) {
		struct backup_disk *d = &j->disks[i];
		struct device *dev;
		const char *why = NULL;
		int r;

		if (d->qemu)
			continue;
		dev = bus_find_device(j->env.bus, d->name);
		if (!dev || !storage_is_disk(dev)) {
			backup_fail(j, "%s was removed before its snapshot", d->name);
			return;
		}
		r = storage_backup_begin(dev, d->incremental, j->parent, j->env.run_dir, &d->snap, &why);
		if (r < 0) {
			backup_fail(j, "%s: %s", d->name, why ? why : strerror(-r));
			return;
		}
		d->total = 0;
		if (d->snap->wanted) {
			for (uint64_t c = 0; c < d->snap->nchunks; c++)
				if (storage_bit(d->snap->wanted, c))
					d->total += c + 1 == d->snap->nchunks ? d->size - c * STORAGE_CHUNK
									     : STORAGE_CHUNK;
		} else {
			d->total = d->size;
		}
	}
	if (j->qemu_disk >= 0) {
		char args[256];

		snprintf(args, sizeof(args),
			 "{\"job-id\":\"ovmb-backup\",\"device\":\"%s\",\"target\":\"" BACKUP_QEMU_TARGET
			 "\",\"sync\":\"full\",\"auto-dismiss\":true}", j->env.qemu_node);
		if (qmp_command(j->env.qmp, "blockdev-backup", args, backup_qemu_started, j) < 0)
			backup_fail(j, "QMP is not connected: cannot back up %s", j->disks[j->qemu_disk].source);
		return;
	}
	backup_after_snapshot(j);
}

static void backup_freeze_answer(void *ctx, const struct backup_answer *a)
{
	struct backup_job *j = ctx;

	if (j->state != BACKUP_FREEZING) {
		/* Cancelled meanwhile: whatever it froze thaws now. */
		if (a->status == 0) {
			j->frozen = true;
			backup_send_thaw(j);
		}
		return;
	}
	if (a->status < 0) {
		if (a->local) {
			/* It may still freeze late: make sure it thaws. */
			j->frozen = true;
			j->thaw_sent = false;
		}
		backup_fail(j, "the guest could not freeze its filesystems: %s%s%s", strerror(-a->status),
			    a->text[0] ? "\n" : "", a->text);
		return;
	}
	j->frozen = true;
	j->quiesced = true;
	if (a->flags & VMBUS_BACKUP_F_NOTHING_FROZEN) {
		/* Its hooks ran, but no filesystem could be frozen: writes went on. */
		j->quiesced = false;
		snprintf(j->crash_reason, sizeof(j->crash_reason),
			 "the guest froze no filesystem (its hooks ran)");
	}
	j->t_frozen = devices_now();
	j->guest_freeze_ms = a->elapsed_ms;
	snprintf(j->fs_text, sizeof(j->fs_text), "%s", a->text);
	backup_take_snapshot(j);
}

static void backup_freeze(struct backup_job *j)
{
	struct device *dev = backup_service(j);
	int r;

	if (!j->want_quiesce) {
		snprintf(j->crash_reason, sizeof(j->crash_reason), "asked for (--no-quiesce)");
	} else if (!dev || !backup_device_ready(dev)) {
		snprintf(j->crash_reason, sizeof(j->crash_reason),
			 dev ? "the guest's backup service is not connected (no openvmbusd)"
			     : "the VM does not offer the backup integration service");
	} else {
		backup_set_state(j, BACKUP_FREEZING);
		r = backup_device_request(dev, VMBUS_BACKUP_FREEZE, j->timeout_ms, backup_number(j),
					  backup_freeze_answer, j);
		if (r == 0)
			return;
		snprintf(j->crash_reason, sizeof(j->crash_reason), "the freeze could not be sent: %s",
			 strerror(-r));
	}
	log_info("backup %s: crash-consistent: %s", j->id, j->crash_reason);
	backup_take_snapshot(j);
}

/*
 * QEMU added one node of the copy's target: the file, then the raw format
 * on it; then the guest freezes. A node added after the backup failed is
 * removed again at once.
 */
static void backup_qemu_node_added(void *ctx, const struct json_value *reply, const char *error)
{
	struct backup_job *j = ctx;

	(void)reply;
	if (!error)
		j->qemu_nodes++;
	if (j->state != BACKUP_PREPARE) {
		if (j->state == BACKUP_FAILED)
			backup_release(j, false);
		return;
	}
	if (error) {
		backup_fail(j, "QEMU cannot open the backup file for %s: %s",
			    j->disks[j->qemu_disk].source, error);
		return;
	}
	if (j->qemu_nodes == 1) {
		if (qmp_command(j->env.qmp, "blockdev-add",
				"{\"driver\":\"raw\",\"file\":\"" BACKUP_QEMU_TARGET "-file\",\"node-name\":\""
				BACKUP_QEMU_TARGET "\"}", backup_qemu_node_added, j) < 0)
			backup_fail(j, "QMP is not connected");
		return;
	}
	backup_freeze(j);
}

/* ----------------------------------------------------------------- setup */

static bool backup_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > STORAGE_BACKUP_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(id[i] == '-' || (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= 'A' && id[i] <= 'Z')))
			return false;
	return true;
}

static int backup_dest_empty(int fd)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	int r = 0;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -errno;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			r = -ENOTEMPTY;
	closedir(d);
	return r;
}

static int backup_add_disk(struct backup_job *j, const char *name, bool qemu, const char *source,
			   uint64_t size)
{
	struct backup_disk *d = &j->disks[j->ndisks];

	if (j->ndisks == BACKUP_MAX_DISKS)
		return -E2BIG;
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->qemu = qemu;
	d->source = strdup(source ? source : "");
	d->size = size;
	d->incremental = j->incremental && !qemu;
	d->total = size;
	snprintf(d->file, sizeof(d->file), "%s.img", name);
	d->out_fd = openat(j->dest_fd, d->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (!d->source || d->out_fd < 0)
		return d->source ? -errno : -ENOMEM;
	j->ndisks++;
	if (ftruncate(d->out_fd, (off_t)size) < 0)
		return -errno;
	return 0;
}

static void backup_job_clear(struct backup_job *j)
{
	for (unsigned int i = 0; i < j->ndisks; i++) {
		free(j->disks[i].source);
		if (j->disks[i].out_fd >= 0)
			close(j->disks[i].out_fd);
		storage_snap_free(j->disks[i].snap);
	}
	if (j->dest_fd >= 0)
		close(j->dest_fd);
	if (j->efd >= 0)
		close(j->efd);
	free(j->dest);
	free(j);
}

int backup_job_start(struct backup_job **jobp, const struct backup_env *env,
		     const struct backup_options *opt, const char **ret_why)
{
	struct backup_job *j, *old = *jobp;
	struct device *dev;
	uint8_t rnd[16];
	int r;

	*ret_why = NULL;
	if (old && old->state != BACKUP_DONE && old->state != BACKUP_FAILED) {
		*ret_why = "a backup is already running";
		return -EBUSY;
	}
	if (!opt->dest || opt->dest[0] != '/') {
		*ret_why = "the destination must be an absolute path";
		return -EINVAL;
	}
	if ((opt->id && !backup_id_ok(opt->id)) || (opt->parent && !backup_id_ok(opt->parent))) {
		*ret_why = "backup ids are 1 to 39 letters, digits and dashes";
		return -EINVAL;
	}
	if (opt->incremental && !opt->parent) {
		*ret_why = "an incremental backup needs the parent backup's id";
		return -EINVAL;
	}
	if (opt->timeout_ms && (opt->timeout_ms < VMBUS_BACKUP_TIMEOUT_MIN_MS ||
				opt->timeout_ms > VMBUS_BACKUP_TIMEOUT_MAX_MS)) {
		*ret_why = "the freeze timeout must be 1000 to 60000 ms";
		return -ERANGE;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->dest_fd = j->efd = -1;
	j->qemu_disk = -1;
	j->env = *env;
	j->want_quiesce = opt->quiesce;
	if (getenv("OPENVMBUS_BACKUP_COPY_DELAY_MS"))
		j->copy_delay_ms = (unsigned int)strtoul(getenv("OPENVMBUS_BACKUP_COPY_DELAY_MS"), NULL, 10);
	j->incremental = opt->incremental;
	j->timeout_ms = opt->timeout_ms;
	if (opt->id) {
		snprintf(j->id, sizeof(j->id), "%s", opt->id);
	} else {
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			memset(rnd, 0x5a, sizeof(rnd));
		for (int i = 0; i < 16; i++)
			snprintf(j->id + 2 * i, 3, "%02x", rnd[i]);
	}
	if (opt->parent)
		snprintf(j->parent, sizeof(j->parent), "%s", opt->parent);
	j->dest = strdup(opt->dest);
	j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	j->dest_fd = open(opt->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!j->dest || j->efd < 0 || j->dest_fd < 0) {
		r = j->dest ? -errno : -ENOMEM;
		*ret_why = j->dest_fd < 0 ? "cannot open the destination directory" : NULL;
		backup_job_clear(j);
		return r;
	}
	r = backup_dest_empty(j->dest_fd);
	if (r < 0) {
		*ret_why = r == -ENOTEMPTY ? "the destination directory is not empty" : NULL;
		backup_job_clear(j);
		return r;
	}
	for (dev = env->bus->devices; dev && r == 0; dev = dev->next)
		if (storage_is_disk(dev) && dev->primary && storage_disk_path(dev))
			r = backup_add_disk(j, dev->name, false, storage_disk_path(dev), storage_disk_bytes(dev));
	if (r == 0 && env->qemu_disk) {
		struct stat st;

		if (stat(env->qemu_disk, &st) < 0) {
			r = -errno;
		} else {
			j->qemu_disk = (int)j->ndisks;
			r = backup_add_disk(j, "qemu0", true, env->qemu_disk, (uint64_t)st.st_size);
		}
	}
	if (r == 0 && j->ndisks == 0) {
		*ret_why = "the VM has no disk to back up";
		r = -ENOENT;
	}
	if (r < 0) {
		if (!*ret_why)
			*ret_why = "cannot create the backup files";
		for (unsigned int i = 0; i < j->ndisks; i++)
			unlinkat(j->dest_fd, j->disks[i].file, 0);
		backup_job_clear(j);
		return r;
	}
	if (old)
		backup_job_free(old);
	*jobp = j;
	j->started_at = devices_now();
	j->started_wall = time(NULL);
	log_info("backup %s%s%s into %s: %u disk%s%s", j->id, j->incremental ? " (incremental on " : "",
		 j->incremental ? j->parent : "", j->dest, j->ndisks, j->ndisks == 1 ? "" : "s",
		 j->incremental ? ")" : "");
	if (j->qemu_disk >= 0) {
		char args[4200];

		backup_set_state(j, BACKUP_PREPARE);
		snprintf(args, sizeof(args), "{\"driver\":\"file\",\"filename\":\"%s/%s\",\"node-name\":\""
			 BACKUP_QEMU_TARGET "-file\"}", j->dest, j->disks[j->qemu_disk].file);
		if (strpbrk(j->dest, "\"\\") ||
		    qmp_command(env->qmp, "blockdev-add", args, backup_qemu_node_added, j) < 0)
			backup_fail(j, "QMP cannot take the destination path %s", j->dest);
		return 0;
	}
	backup_freeze(j);
	return 0;
}

void backup_job_qmp_event(struct backup_job *j, const char *event, const struct json_value *data)
{
	const char *dev, *err;

	if (!j || j->qemu_job != 1 ||
	    (strcmp(event, "BLOCK_JOB_COMPLETED") && strcmp(event, "BLOCK_JOB_CANCELLED")))
		return;
	dev = json_get_string(data, "device");
	if (!dev || strcmp(dev, "ovmb-backup"))
		return;
	err = json_get_string(data, "error");
	if (strcmp(event, "BLOCK_JOB_CANCELLED") == 0 || err) {
		__atomic_store_n(&j->qemu_job, -1, __ATOMIC_RELEASE);
		if (j->state == BACKUP_FAILED)
			backup_release(j, false);	/* the target nodes, now that the job is gone */
		else
			backup_fail(j, "QEMU's backup of %s failed: %s", j->disks[j->qemu_disk].source,
				    err ? err : "cancelled");
		return;
	}
	__atomic_store_n(&j->qemu_job, 2, __ATOMIC_RELEASE);
	log_info("backup %s: QEMU finished copying %s", j->id, j->disks[j->qemu_disk].source);
}

int backup_job_cancel(struct backup_job *j)
{
	if (!j || j->state == BACKUP_DONE || j->state == BACKUP_FAILED)
		return -ENOENT;
	backup_fail(j, "cancelled");
	return 0;
}

void backup_job_status(const struct backup_job *j, struct json_writer *w)
{
	uint64_t copied = 0, total = 0;

	if (!j) {
		json_string(w, "state", "idle");
		return;
	}
	json_string(w, "state", backup_state_names[j->state]);
	if (j->state == BACKUP_FAILED)
		json_string(w, "error", j->error);
	json_string(w, "backup_id", j->id);
	if (j->incremental)
		json_string(w, "parent_id", j->parent);
	json_string(w, "dest", j->dest);
	json_bool(w, "quiesced", j->quiesced);
	if (!j->quiesced && j->crash_reason[0])
		json_string(w, "crash_consistent_reason", j->crash_reason);
	json_object_begin(w, "freeze");
	if (j->t_frozen && j->t_thawed)
		json_double(w, "window_ms", (j->t_thawed - j->t_frozen) * 1000);
	json_uint(w, "freeze_ms", j->guest_freeze_ms);
	json_string(w, "filesystems", j->fs_text);
	json_bool(w, "watchdog_thawed", j->watchdog_thawed);
	json_object_end(w);
	json_array_begin(w, "disks");
	for (unsigned int i = 0; i < j->ndisks; i++) {
		const struct backup_disk *d = &j->disks[i];
		uint64_t c = __atomic_load_n(&d->copied, __ATOMIC_RELAXED);
		char map[DEVICE_NAME_MAX + 8];

		json_object_begin(w, NULL);
		json_string(w, "name", d->name);
		json_string(w, "kind", d->qemu ? "qemu" : "synthetic");
		json_string(w, "source", d->source);
		json_string(w, "file", d->file);
		json_uint(w, "size", d->size);
		json_bool(w, "incremental", d->incremental);
		if (d->incremental) {
			snprintf(map, sizeof(map), "%s.map", d->name);
			json_string(w, "map", map);
		}
		json_uint(w, "copied_bytes", c);
		json_uint(w, "total_bytes", d->total);
		if (d->snap)
			json_uint(w, "saved_chunks", __atomic_load_n(&d->snap->saves, __ATOMIC_RELAXED));
		else if (!d->qemu)
			json_uint(w, "saved_chunks", d->saves);
		if (j->state == BACKUP_DONE)
			json_string(w, "sha256", d->sha256);
		json_object_end(w);
		copied += c;
		total += d->total;
	}
	json_array_end(w);
	json_uint(w, "started_at", (uint64_t)j->started_wall);
	json_double(w, "elapsed_s", (j->t_done ? j->t_done : devices_now()) - j->started_at);
	json_uint(w, "copied_bytes", copied);
	json_uint(w, "total_bytes", total);
}

void backup_job_free(struct backup_job *j)
{
	struct device *dev;

	if (!j)
		return;
	if (j->state != BACKUP_DONE && j->state != BACKUP_FAILED)
		backup_fail(j, "the worker stops");
	dev = backup_service(j);
	if (dev)
		backup_device_cancel(dev, j);
	if (j->thread_running) {
		pthread_join(j->thread, NULL);
		bus_unwatch_fd(j->env.bus, j->efd);
	}
	backup_job_clear(j);
}
