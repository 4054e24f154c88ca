// SPDX-License-Identifier: GPL-2.0
/*
 * fsfreeze.c - FIFREEZE and FITHAW over the filesystems a backup freezes
 * (see fsfreeze.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest-linux/openvmbusd/backup_fs.h"
#include "guest-linux/openvmbusd/fsfreeze.h"
#include "guest-linux/openvmbusd/log.h"

#define FSFREEZE_MOUNTINFO_MAX	(16 * 1024 * 1024)

static int fsfreeze_read_file(const char *path, char **ret, size_t *ret_len, size_t max)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 16384;
			if (cap > max) {
				r = -EFBIG;
				break;
			}
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* backup_fs_backing_fn: sysfs knows a loop device's backing file (a partition's: its parent's). */
static int fsfreeze_loop_backing(void *ctx, unsigned int major, unsigned int minor, char *buf,
				 size_t size)
{
	/* Its own loop/ directory, or its whole disk's for a partition. */
	static const char *const below[] = { "loop/backing_file", "../loop/backing_file" };
	char path[128], *text;
	size_t i, len;

	(void)ctx;
	for (i = 0; i < sizeof(below) / sizeof(below[0]); i++) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major, minor, below[i]);
		if (fsfreeze_read_file(path, &text, &len, 65536) < 0)
			continue;
		while (len && text[len - 1] == '\n')
			text[--len] = '\0';
		snprintf(buf, size, "%s", text);
		free(text);
		return len ? 1 : 0;
	}
	return 0;
}

/* The mount of m we got a descriptor for is m's (not one mounted over it). */
static bool fsfreeze_same_mount(int fd, const struct backup_fs_mount *m)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
		return true;	/* the kernel cannot tell (before 5.8) */
	return stx.stx_mnt_id == (uint64_t)m->mount_id;
}

static void fsfreeze_log_choice(const struct backup_fs_table *t)
{
	unsigned int pseudo = 0;
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct backup_fs_mount *m = &t->mounts[i];

		switch (m->verdict) {
		case BACKUP_FS_FREEZE:
			break;
		case BACKUP_FS_PSEUDO:
			pseudo++;
			break;
		case BACKUP_FS_SAME_FS:
		case BACKUP_FS_LOOP_ON_FROZEN:
			log_msg(LOG_INFO, "backup: not freezing %s (%s): %s %s", m->mount_point, m->fstype,
				backup_fs_verdict_name(m->verdict), t->mounts[m->other].mount_point);
			break;
		default:
			log_msg(LOG_INFO, "backup: not freezing %s (%s): %s", m->mount_point, m->fstype,
				backup_fs_verdict_name(m->verdict));
		}
	}
	log_msg(LOG_INFO, "backup: %zu filesystem(s) to freeze, %zu mount(s) in all, %u pseudo",
		t->n_order, t->n, pseudo);
}

int fsfreeze_prepare(struct fsfreeze *f)
{
	struct backup_fs_table t;
	size_t len, i;
	char *text;
	int r, fd;

	memset(f, 0, sizeof(*f));
	f->watchdog.fd = -1;
	r = fsfreeze_read_file("/proc/self/mountinfo", &text, &len, FSFREEZE_MOUNTINFO_MAX);
	if (r < 0)
		return r;
	r = backup_fs_parse(text, len, &t);
	free(text);
	if (r < 0)
		return r;
	r = backup_fs_select(&t, fsfreeze_loop_backing, NULL);
	if (r < 0)
		goto out;
	fsfreeze_log_choice(&t);
	f->mount_points = calloc(t.n_order + 1, sizeof(*f->mount_points));
	f->fds = calloc(t.n_order + 1, sizeof(*f->fds));
	f->frozen = calloc(t.n_order + 1, sizeof(*f->frozen));
	f->unsupported = calloc(t.n_order + 1, sizeof(*f->unsupported));
	if (!f->mount_points || !f->fds || !f->frozen || !f->unsupported) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < t.n_order; i++) {
		const struct backup_fs_mount *m = &t.mounts[t.order[i]];

		fd = open(m->mount_point, O_RDONLY | O_DIRECTORY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
			log_msg(LOG_INFO, "backup: not freezing %s: %m", m->mount_point);
			continue;
		}
		if (fd < 0) {
			r = -errno;
			log_msg(LOG_ERR, "backup: cannot open %s: %m", m->mount_point);
			goto out;
		}
		if (!fsfreeze_same_mount(fd, m)) {
			log_msg(LOG_INFO, "backup: not freezing %s: hidden under another mount", m->mount_point);
			close(fd);
			continue;
		}
		f->mount_points[f->n] = strdup(m->mount_point);
		if (!f->mount_points[f->n]) {
			close(fd);
			r = -ENOMEM;
			goto out;
		}
		f->fds[f->n++] = fd;
	}
	r = 0;
out:
	backup_fs_table_free(&t);
	if (r < 0)
		fsfreeze_release(f);
	return r;
}

/* Thaw what we froze, last first; the first error but EINVAL (not frozen). */
static int fsfreeze_thaw_all(struct fsfreeze *f, size_t *ret_already)
{
	size_t i, already = 0;
	int r = 0;

	for (i = f->n; i-- > 0;) {
		if (!f->frozen[i])
			continue;
		if (ioctl(f->fds[i], FITHAW, 0) < 0) {
			if (errno == EINVAL) {
				already++;
			} else {
				if (!r)
					r = -errno;
				log_msg(LOG_ERR, "backup: cannot thaw %s: %m", f->mount_points[i]);
				continue;	/* still frozen: the watchdog keeps it */
			}
		}
		f->frozen[i] = false;
		(void)watchdog_thawed(&f->watchdog, i);	/* gone: it thawed, see EINVAL */
	}
	if (ret_already)
		*ret_already = already;
	if (fsfreeze_count(f) == 0) {
		watchdog_done(&f->watchdog);
		log_release();
	}
	return r;
}

int fsfreeze_freeze(struct fsfreeze *f, uint32_t timeout_ms, size_t *ret_failed)
{
	size_t i;
	int r;

	if (f->n == 0)
		return 0;
	r = watchdog_start(&f->watchdog, f->fds, f->mount_points, f->n, timeout_ms);
	if (r < 0) {
		log_msg(LOG_ERR, "backup: cannot start the watchdog: %s", strerror(-r));
		*ret_failed = 0;
		return r;
	}
	log_hold();
	for (i = 0; i < f->n; i++) {
		/* Announced first: should we die inside FIFREEZE, the watchdog thaws it. */
		r = watchdog_freezing(&f->watchdog, i);
		if (r < 0) {
			log_msg(LOG_ERR, "backup: the watchdog is gone (%s): not freezing", strerror(-r));
			goto fail;
		}
		if (ioctl(f->fds[i], FIFREEZE, 0) == 0) {
			f->frozen[i] = true;
			continue;
		}
		r = -errno;
		(void)watchdog_thawed(&f->watchdog, i);
		if (r == -EOPNOTSUPP || r == -ENOTTY) {
			f->unsupported[i] = true;
			log_msg(LOG_INFO, "backup: not freezing %s: the filesystem cannot be frozen",
				f->mount_points[i]);
			continue;
		}
		log_msg(LOG_ERR, "backup: cannot freeze %s: %s", f->mount_points[i], strerror(-r));
		goto fail;
	}
	if (fsfreeze_count(f) == 0) {	/* nothing could freeze: nothing to watch */
		watchdog_done(&f->watchdog);
		log_release();
	}
	return 0;
fail:
	*ret_failed = i;
	(void)fsfreeze_thaw_all(f, NULL);	/* logs its own errors */
	watchdog_done(&f->watchdog);
	log_release();
	return r;
}

int fsfreeze_thaw(struct fsfreeze *f, size_t *ret_already)
{
	return fsfreeze_thaw_all(f, ret_already);
}

size_t fsfreeze_count(const struct fsfreeze *f)
{
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		n += f->frozen[i];
	return n;
}

void fsfreeze_release(struct fsfreeze *f)
{
	size_t i;

	if (f->frozen && fsfreeze_count(f))
		(void)fsfreeze_thaw_all(f, NULL);
	watchdog_done(&f->watchdog);
	log_release();
	for (i = 0; i < f->n; i++) {
		close(f->fds[i]);
		free(f->mount_points[i]);
	}
	free(f->mount_points);
	free(f->fds);
	free(f->frozen);
	free(f->unsupported);
	f->mount_points = NULL;
	f->fds = NULL;
	f->frozen = f->unsupported = NULL;
	f->n = 0;
}
