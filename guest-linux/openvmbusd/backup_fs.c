// SPDX-License-Identifier: GPL-2.0
/*
 * backup_fs.c - the choice of filesystems to freeze (see backup_fs.h).
 *
 * mountinfo lines (proc(5)):
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   id parent major:minor root mount-point mount-options [optional...] - type source super-options
 * Paths and sources escape space, tab, newline and backslash as \ooo.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-linux/openvmbusd/backup_fs.h"

/* Kernel filesystems with nothing on disk. */
static const char *const backup_fs_pseudo[] = {
	"autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
	"devtmpfs", "efivarfs", "fusectl", "hugetlbfs", "mqueue", "nfsd", "nsfs", "proc",
	"pstore", "ramfs", "rootfs", "rpc_pipefs", "securityfs", "selinuxfs", "sysfs", "tmpfs",
	"tracefs", NULL,
};

/* Filesystems whose data lives elsewhere (another machine, the host). */
static const char *const backup_fs_network[] = {
	"9p", "afs", "beegfs", "ceph", "cifs", "coda", "glusterfs", "lustre", "ncpfs", "nfs",
	"nfs4", "orangefs", "smb3", "smbfs", "virtiofs", NULL,
};

static bool backup_fs_in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Unescape \ooo in place. */
static void backup_fs_unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* "ro" among the comma-separated options. */
static bool backup_fs_has_ro(const char *options)
{
	size_t n;

	for (;;) {
		n = strcspn(options, ",");
		if (n == 2 && strncmp(options, "ro", 2) == 0)
			return true;
		if (!options[n])
			return false;
		options += n + 1;
	}
}

static char *backup_fs_field(const char *s)
{
	char *copy = strdup(s);

	if (copy)
		backup_fs_unescape(copy);
	return copy;
}

#define BACKUP_FS_FIELDS_MAX 64

/* One line (NUL-terminated, modified) into m. */
static int backup_fs_parse_line(char *line, struct backup_fs_mount *m)
{
	char *field[BACKUP_FS_FIELDS_MAX], *p = line, *end;
	size_t n = 0, dash;
	unsigned long v;

	while (n < BACKUP_FS_FIELDS_MAX) {
		field[n++] = p;
		p = strchr(p, ' ');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (p)
		return -EINVAL;
	for (dash = 6; dash < n && strcmp(field[dash], "-") != 0; dash++)
		;
	if (dash + 4 > n)
		return -EINVAL;
	v = strtoul(field[0], &end, 10);
	if (*end || end == field[0] || v > INT32_MAX)
		return -EINVAL;
	m->mount_id = (int)v;
	if (sscanf(field[2], "%u:%u", &m->major, &m->minor) != 2 || field[4][0] != '/')
		return -EINVAL;
	m->ro_mount = backup_fs_has_ro(field[5]);
	m->ro_super = backup_fs_has_ro(field[dash + 3]);
	m->root = backup_fs_field(field[3]);
	m->mount_point = backup_fs_field(field[4]);
	m->fstype = backup_fs_field(field[dash + 1]);
	m->source = backup_fs_field(field[dash + 2]);
	if (!m->root || !m->mount_point || !m->fstype || !m->source)
		return -ENOMEM;
	return 0;
}

int backup_fs_parse(const char *text, size_t len, struct backup_fs_table *ret)
{
	struct backup_fs_table t = { 0 };
	size_t cap = 0, off = 0;
	int r = 0;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		char *line;

		if (n == 0) {
			off++;
			continue;
		}
		if (t.n == cap) {
			struct backup_fs_mount *m;

			cap = cap ? 2 * cap : 32;
			m = realloc(t.mounts, cap * sizeof(*m));
			if (!m) {
				r = -ENOMEM;
				break;
			}
			t.mounts = m;
		}
		line = strndup(text + off, n);
		if (!line) {
			r = -ENOMEM;
			break;
		}
		memset(&t.mounts[t.n], 0, sizeof(t.mounts[t.n]));
		r = backup_fs_parse_line(line, &t.mounts[t.n]);
		t.n++;		/* freed with the table even when half parsed */
		free(line);
		if (r < 0)
			break;
		off += n + 1;
	}
	if (r < 0) {
		backup_fs_table_free(&t);
		return r;
	}
	*ret = t;
	return 0;
}

void backup_fs_table_free(struct backup_fs_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->mounts[i].root);
		free(t->mounts[i].mount_point);
		free(t->mounts[i].fstype);
		free(t->mounts[i].source);
	}
	free(t->mounts);
	free(t->order);
	memset(t, 0, sizeof(*t));
}

static enum backup_fs_verdict backup_fs_kind(const struct backup_fs_mount *m)
{
	if (backup_fs_in(m->fstype, backup_fs_pseudo))
		return BACKUP_FS_PSEUDO;
	if (backup_fs_in(m->fstype, backup_fs_network))
		return BACKUP_FS_NETWORK;
	if (strcmp(m->fstype, "fuse") == 0 || strcmp(m->fstype, "fuseblk") == 0 ||
	    strncmp(m->fstype, "fuse.", 5) == 0 || strncmp(m->fstype, "fuseblk.", 8) == 0)
		return BACKUP_FS_FUSE;
	if (m->ro_super)
		return BACKUP_FS_READ_ONLY;
	/* btrfs has anonymous device numbers, but a block device as its source. */
	if (m->major == 0 && strncmp(m->source, "/dev/", 5) != 0)
		return BACKUP_FS_NO_DEVICE;
	return BACKUP_FS_FREEZE;
}

/*
 * Which mount of a filesystem to freeze it through (the one the answer
 * names): root's own "/", then a writable mount of the whole filesystem,
 * then any mount of the whole filesystem, then the first.
 */
static int backup_fs_preference(const struct backup_fs_table *t, size_t i, size_t root)
{
	const struct backup_fs_mount *m = &t->mounts[i];

	if (i == root)
		return 3;
	if (strcmp(m->root, "/") == 0)
		return m->ro_mount ? 1 : 2;
	return 0;
}

/* The mount whose mount point holds path (the deepest; the topmost of equals), or SIZE_MAX. */
static size_t backup_fs_containing(const struct backup_fs_table *t, const char *path)
{
	size_t i, best = SIZE_MAX, best_len = 0;

	for (i = 0; i < t->n; i++) {
		const char *mp = t->mounts[i].mount_point;
		size_t len = strlen(mp);

		if (strcmp(mp, "/") == 0)
			len = 1;
		else if (strncmp(path, mp, len) != 0 || (path[len] != '\0' && path[len] != '/'))
			continue;
		if (len >= best_len) {
			best = i;
			best_len = len;
		}
	}
	return best;
}

static size_t backup_fs_chosen(const struct backup_fs_table *t, size_t i)
{
	return t->mounts[i].verdict == BACKUP_FS_SAME_FS ? t->mounts[i].other : i;
}

/*
 * A loop device whose backing file lives on a filesystem we freeze stays
 * as it is: freezing the backing filesystem holds the loop device's writes
 * too, and freezing the loop filesystem after it would wait forever for
 * its own writeback. The same goes for a loop device on such a loop
 * device, and so on: a verdict only ever turns from FREEZE to
 * LOOP_ON_FROZEN, so "either of the two" is the same question whichever
 * is decided first.
 */
static void backup_fs_check_loop(struct backup_fs_table *t, size_t i, backup_fs_backing_fn backing,
				 void *ctx)
{
	struct backup_fs_mount *m = &t->mounts[i];
	char path[4096];
	size_t c, b, len;

	if (m->verdict != BACKUP_FS_FREEZE || backing(ctx, m->major, m->minor, path, sizeof(path)) <= 0)
		return;
	len = strlen(path);
	if (len > 10 && strcmp(path + len - 10, " (deleted)") == 0)
		path[len - 10] = '\0';
	c = backup_fs_containing(t, path);
	if (c == SIZE_MAX)
		return;
	b = backup_fs_chosen(t, c);
	if (b == i)		/* under its own mount: the file is not what we see there */
		return;
	if (t->mounts[b].verdict == BACKUP_FS_FREEZE || t->mounts[b].verdict == BACKUP_FS_LOOP_ON_FROZEN) {
		m->verdict = BACKUP_FS_LOOP_ON_FROZEN;
		m->other = c;
	}
}

int backup_fs_select(struct backup_fs_table *t, backup_fs_backing_fn backing, void *ctx)
{
	size_t i, j, root = SIZE_MAX, root_chosen = SIZE_MAX;

	free(t->order);
	t->order = calloc(t->n ? t->n : 1, sizeof(*t->order));
	if (!t->order)
		return -ENOMEM;
	t->n_order = 0;
	for (i = 0; i < t->n; i++)
		if (strcmp(t->mounts[i].mount_point, "/") == 0)
			root = i;	/* the last one: mounted over the others */

	/* One mount per filesystem (major:minor), the preferred one. */
	for (i = 0; i < t->n; i++) {
		struct backup_fs_mount *m = &t->mounts[i];

		m->verdict = backup_fs_kind(m);
		if (m->verdict != BACKUP_FS_FREEZE)
			continue;
		for (j = 0; j < i; j++) {
			struct backup_fs_mount *o = &t->mounts[j];

			if (o->verdict != BACKUP_FS_FREEZE || o->major != m->major || o->minor != m->minor)
				continue;
			if (backup_fs_preference(t, i, root) > backup_fs_preference(t, j, root)) {
				o->verdict = BACKUP_FS_SAME_FS;
				o->other = i;
			} else {
				m->verdict = BACKUP_FS_SAME_FS;
				m->other = j;
			}
			break;
		}
	}
	/* A mount that lost its place may have had others pointing at it. */
	for (i = 0; i < t->n; i++)
		while (t->mounts[i].verdict == BACKUP_FS_SAME_FS &&
		       t->mounts[t->mounts[i].other].verdict == BACKUP_FS_SAME_FS)
			t->mounts[i].other = t->mounts[t->mounts[i].other].other;

	for (i = 0; backing && i < t->n; i++)
		backup_fs_check_loop(t, i, backing, ctx);

	if (root != SIZE_MAX && t->mounts[backup_fs_chosen(t, root)].verdict == BACKUP_FS_FREEZE)
		root_chosen = backup_fs_chosen(t, root);
	for (i = 0; i < t->n; i++)
		if (t->mounts[i].verdict == BACKUP_FS_FREEZE && i != root_chosen)
			t->order[t->n_order++] = i;
	if (root_chosen != SIZE_MAX)
		t->order[t->n_order++] = root_chosen;
	return 0;
}

const char *backup_fs_verdict_name(enum backup_fs_verdict v)
{
	switch (v) {
	case BACKUP_FS_FREEZE: return "frozen";
	case BACKUP_FS_PSEUDO: return "pseudo filesystem";
	case BACKUP_FS_NETWORK: return "network filesystem";
	case BACKUP_FS_FUSE: return "FUSE filesystem";
	case BACKUP_FS_READ_ONLY: return "read-only";
	case BACKUP_FS_NO_DEVICE: return "no block device";
	case BACKUP_FS_SAME_FS: return "same filesystem as";
	case BACKUP_FS_LOOP_ON_FROZEN: return "loop device backed by a file on";
	}
	return "unknown";
}
