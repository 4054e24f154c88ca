// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * manifest.c - reading, checking and writing backup manifests (see
 * manifest.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/json.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/manifest.h"

/* Sizes travel as JSON numbers (doubles): exact up to 2^53. */
#define MANIFEST_SIZE_MAX	9007199254740992.0

bool manifest_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n >= 1 && n <= MANIFEST_ID_MAX && strspn(id, "0123456789abcdefABCDEF-") == n;
}

static bool manifest_disk_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= MANIFEST_DISK_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* A file directly in the backup's directory: no path, not the manifest itself. */
static bool manifest_file_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= NAME_MAX && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") &&
	       strcmp(s, MANIFEST_FILE) && s[0] != '.';
}

static bool manifest_sha256_valid(const char *s)
{
	return strlen(s) == SHA256_HEX_LEN && strspn(s, "0123456789abcdef") == SHA256_HEX_LEN;
}

static bool manifest_serial_valid(const char *s)
{
	size_t n = strlen(s);

	if (n > CONFIG_SERIAL_MAX)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == ',')
			return false;
	return true;
}

struct manifest_reader {
	const char *path;
	int r;
};

/* Report the first problem only: one line that says what to look at. */
static void manifest_bad(struct manifest_reader *rd, const char *what)
{
	if (rd->r < 0)
		return;
	rd->r = -EBADMSG;
	ctl_message("%s: %s", rd->path, what);
}

/* Member key of o if it has the type; a missing required member or another type is reported. */
static const struct json_value *manifest_member(struct manifest_reader *rd, const struct json_value *o,
						const char *key, enum json_type type, bool required)
{
	static const char *const wanted[] = {
		[JSON_STRING] = "a string", [JSON_BOOL] = "true or false", [JSON_NUMBER] = "a number",
		[JSON_ARRAY] = "an array", [JSON_OBJECT] = "an object", [JSON_NULL] = "null",
	};
	const struct json_value *v = json_get(o, key);
	char what[128];

	if (v && v->type == type)
		return v;
	if (v || required) {
		snprintf(what, sizeof(what), "'%s' %s%s", key, v ? "is not " : "is missing",
			 v ? wanted[type] : "");
		manifest_bad(rd, what);
	}
	return NULL;
}

static const char *manifest_string(struct manifest_reader *rd, const struct json_value *o, const char *key,
				   bool required)
{
	const struct json_value *v = manifest_member(rd, o, key, JSON_STRING, required);

	return v ? v->string : NULL;
}

static bool manifest_bool(struct manifest_reader *rd, const struct json_value *o, const char *key,
			  bool required)
{
	const struct json_value *v = manifest_member(rd, o, key, JSON_BOOL, required);

	return v && v->boolean;
}

static void manifest_copy(struct manifest_reader *rd, const char *s, char *buf, size_t n,
			  bool (*valid)(const char *), const char *what)
{
	char msg[160];

	if (!s)
		return;
	if (strlen(s) >= n || (valid && !valid(s))) {
		snprintf(msg, sizeof(msg), "%s '%.64s' is not valid", what, s);
		manifest_bad(rd, msg);
		return;
	}
	strcpy(buf, s);
}

static void manifest_read_disk(struct manifest_reader *rd, const struct json_value *d, struct manifest *m,
			       struct manifest_disk *disk)
{
	const struct json_value *size = json_get(d, "size");
	const char *kind = manifest_string(rd, d, "kind", true);
	char what[128];

	manifest_copy(rd, manifest_string(rd, d, "name", true), disk->name, sizeof(disk->name),
		      manifest_disk_name_valid, "disk name");
	if (kind && strcmp(kind, "qemu") && strcmp(kind, "synthetic"))
		manifest_bad(rd, "a disk's kind is neither 'synthetic' nor 'qemu'");
	disk->qemu = kind && strcmp(kind, "qemu") == 0;
	if (!size || size->type != JSON_NUMBER || !(size->number > 0 && size->number < MANIFEST_SIZE_MAX) ||
	    size->number != (double)(uint64_t)size->number) {
		snprintf(what, sizeof(what), "disk %s: 'size' is not a positive whole number of bytes", disk->name);
		manifest_bad(rd, what);
	} else {
		disk->size = (uint64_t)size->number;
	}
	manifest_copy(rd, manifest_string(rd, d, "file", true), disk->file, sizeof(disk->file),
		      manifest_file_name_valid, "disk file");
	disk->incremental = manifest_bool(rd, d, "incremental", true);
	if (disk->incremental) {
		manifest_copy(rd, manifest_string(rd, d, "map", true), disk->map, sizeof(disk->map),
			      manifest_file_name_valid, "map file");
		if (!m->parent_id[0]) {
			snprintf(what, sizeof(what), "disk %s is incremental, but the backup has no parent_id",
				 disk->name);
			manifest_bad(rd, what);
		}
	}
	manifest_copy(rd, manifest_string(rd, d, "sha256", true), disk->sha256, sizeof(disk->sha256),
		      manifest_sha256_valid, "SHA-256");
	manifest_copy(rd, manifest_string(rd, d, "serial", false), disk->serial, sizeof(disk->serial),
		      manifest_serial_valid, "serial");
	disk->readonly = manifest_bool(rd, d, "readonly", false);
}

static int manifest_read_file(const char *path, char **ret_text, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctl_error_errno(-errno, "cannot open %s: %m%s", path,
				       errno == ENOENT ? " (is this a backup made by 'vmbusctl backup'?)" : "");
	if (fstat(fd, &st) < 0)
		return ctl_error_errno(-errno, "cannot read %s: %m", path);
	if (!S_ISREG(st.st_mode) || st.st_size > MANIFEST_MAX_BYTES)
		return ctl_error_errno(-EFBIG, "%s is not a regular file of at most %d bytes", path,
				       MANIFEST_MAX_BYTES);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return ctl_error_errno(-ENOMEM, "out of memory");
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctl_error_errno(-errno, "cannot read %s: %m", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_text = buf;
	*ret_len = len;
	buf = NULL;
	return 0;
}

static char *manifest_strdup(struct manifest_reader *rd, const char *s)
{
	char *copy;

	if (!s)
		return NULL;
	copy = strdup(s);
	if (!copy && rd->r >= 0) {
		rd->r = -ENOMEM;
		ctl_message("out of memory");
	}
	return copy;
}

int manifest_load(const char *dir, struct manifest *ret)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ struct json_value *root = NULL;
	const struct json_value *disks, *d, *format;
	struct manifest_reader rd = { 0 };
	char path[PATH_MAX + sizeof(MANIFEST_FILE) + 1], *slash;
	struct manifest *m = ret;
	size_t len = 0, i, j;
	int r;

	memset(m, 0, sizeof(*m));
	/* Canonical, so that messages and relative paths to parents read well. */
	if (!realpath(dir, m->dir))
		return ctl_error_errno(-errno, "%s: %m", dir);
	/* BACKUP/manifest.json names the backup as well as BACKUP. */
	slash = strrchr(m->dir, '/');
	if (slash && slash != m->dir && strcmp(slash + 1, MANIFEST_FILE) == 0)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/%s", strcmp(m->dir, "/") ? m->dir : "", MANIFEST_FILE);
	rd.path = path;

	r = manifest_read_file(path, &text, &len);
	if (r < 0)
		return r;
	if (json_parse(text, len, &root) < 0 || root->type != JSON_OBJECT)
		return ctl_error_errno(-EBADMSG, "%s is not a JSON object", path);
	format = json_get(root, "format");
	if (!format || format->type != JSON_NUMBER)
		return ctl_error_errno(-EBADMSG, "%s has no 'format': not a backup manifest", path);
	if (format->number != MANIFEST_FORMAT)
		return ctl_error_errno(-EPROTONOSUPPORT, "%s is in format %g; this vmbusctl reads format %d%s",
				       path, format->number, MANIFEST_FORMAT,
				       format->number > MANIFEST_FORMAT ? " (written by a newer openvmbus)" : "");

	manifest_copy(&rd, manifest_string(&rd, root, "backup_id", true), m->backup_id,
		      sizeof(m->backup_id), manifest_id_valid, "backup_id");
	manifest_copy(&rd, manifest_string(&rd, root, "parent_id", false), m->parent_id,
		      sizeof(m->parent_id), manifest_id_valid, "parent_id");
	m->parent_path = manifest_strdup(&rd, manifest_string(&rd, root, "parent_path", false));
	m->parent_relative_path = manifest_strdup(&rd, manifest_string(&rd, root, "parent_relative_path", false));
	if (m->parent_id[0] && !m->parent_path && !m->parent_relative_path)
		manifest_bad(&rd, "an incremental backup without 'parent_path'");
	manifest_copy(&rd, manifest_string(&rd, root, "vm_name", true), m->vm_name, sizeof(m->vm_name),
		      config_name_valid, "VM name");
	m->definition = manifest_strdup(&rd, manifest_string(&rd, root, "definition", true));
	m->time = manifest_strdup(&rd, manifest_string(&rd, root, "time", false));
	m->quiesced = manifest_bool(&rd, root, "quiesced", true);

	disks = json_get(root, "disks");
	if (!disks || disks->type != JSON_ARRAY || !disks->child)
		manifest_bad(&rd, "'disks' is missing or empty");
	for (d = disks ? disks->child : NULL; d && rd.r >= 0; d = d->next) {
		if (m->ndisks == MANIFEST_MAX_DISKS) {
			manifest_bad(&rd, "more disks than a VM can have");
			break;
		}
		if (d->type != JSON_OBJECT) {
			manifest_bad(&rd, "an entry of 'disks' is not an object");
			break;
		}
		manifest_read_disk(&rd, d, m, &m->disks[m->ndisks++]);
	}
	/* Two disks writing one file would restore nonsense. */
	for (i = 0; i < m->ndisks && rd.r >= 0; i++)
		for (j = 0; j < i; j++)
			if (strcmp(m->disks[i].name, m->disks[j].name) == 0 ||
			    strcmp(m->disks[i].file, m->disks[j].file) == 0 ||
			    (m->disks[i].incremental && strcmp(m->disks[i].map, m->disks[j].file) == 0))
				manifest_bad(&rd, "two disks share a name or a file");
	if (rd.r < 0) {
		manifest_done(m);
		return rd.r;
	}
	return 0;
}

void manifest_done(struct manifest *m)
{
	free(m->parent_path);
	free(m->parent_relative_path);
	free(m->definition);
	free(m->time);
	m->parent_path = m->parent_relative_path = m->definition = m->time = NULL;
}

const struct manifest_disk *manifest_find_disk(const struct manifest *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->ndisks; i++)
		if (strcmp(m->disks[i].name, name) == 0)
			return &m->disks[i];
	return NULL;
}

static bool manifest_needs_parent(const struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->ndisks; i++)
		if (m->disks[i].incremental)
			return true;
	return false;
}

/* Is there a backup with id at path? Quietly: a moved chain has stale paths. */
static bool manifest_is_backup(const char *path, const char *id)
{
	char file[PATH_MAX + sizeof(MANIFEST_FILE) + 1];
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ struct json_value *root = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	const char *found;
	size_t len;

	snprintf(file, sizeof(file), "%s/%s", path, MANIFEST_FILE);
	f = fopen(file, "re");
	if (!f)
		return false;
	text = malloc(MANIFEST_MAX_BYTES + 1);
	if (!text)
		return false;
	len = fread(text, 1, MANIFEST_MAX_BYTES, f);
	if (json_parse(text, len, &root) < 0)
		return false;
	found = json_get_string(root, "backup_id");
	return found && strcmp(found, id) == 0;
}

/* Where child's parent is: next to it as it was (the chain moved as a whole), else where it was. */
static int manifest_find_parent(const struct manifest *child, char *buf, size_t n)
{
	if (child->parent_relative_path && child->parent_relative_path[0] != '/' &&
	    (size_t)snprintf(buf, n, "%s/%s", child->dir, child->parent_relative_path) < n &&
	    manifest_is_backup(buf, child->parent_id))
		return 0;
	if (child->parent_path && (size_t)snprintf(buf, n, "%s", child->parent_path) < n &&
	    manifest_is_backup(buf, child->parent_id))
		return 0;
	return ctl_error_errno(-ENOENT, "%s: its parent backup %s is not at %s%s%s", child->dir,
			       child->parent_id,
			       child->parent_relative_path ? child->parent_relative_path : "",
			       child->parent_relative_path && child->parent_path ? " nor at " : "",
			       child->parent_path ? child->parent_path : "");
}

int manifest_chain_load(const char *dir, struct manifest_chain *ret)
{
	char parent[PATH_MAX];
	struct manifest *m;
	size_t i;
	int r;

	memset(ret, 0, sizeof(*ret));
	for (;;) {
		m = calloc(1, sizeof(*m));
		if (!m) {
			r = ctl_error_errno(-ENOMEM, "out of memory");
			goto fail;
		}
		ret->m[ret->n++] = m;
		r = manifest_load(ret->n == 1 ? dir : parent, m);
		if (r < 0)
			goto fail;
		for (i = 0; i + 1 < ret->n; i++)
			if (strcmp(ret->m[i]->backup_id, m->backup_id) == 0) {
				r = ctl_error_errno(-ELOOP, "%s: backup %s is its own ancestor", dir, m->backup_id);
				goto fail;
			}
		if (!manifest_needs_parent(m))
			return 0;
		if (ret->n == MANIFEST_CHAIN_MAX) {
			r = ctl_error_errno(-ELOOP, "%s: more than %d backups in the chain", dir, MANIFEST_CHAIN_MAX);
			goto fail;
		}
		r = manifest_find_parent(m, parent, sizeof(parent));
		if (r < 0)
			goto fail;
	}
fail:
	manifest_chain_done(ret);
	return r;
}

void manifest_chain_done(struct manifest_chain *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (c->m[i])
			manifest_done(c->m[i]);
		free(c->m[i]);
	}
	c->n = 0;
}

int manifest_save(const char *dir, const char *text)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	size_t len = strlen(text), off = 0;
	_cleanup_close_ int dfd = -1;
	int fd, r = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, MANIFEST_FILE) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, MANIFEST_FILE) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (off < len && r == 0) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (r == 0 && (write(fd, "\n", 1) != 1 || fsync(fd) < 0))
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	/* The rename itself must survive a crash too. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return -errno;
	return 0;
}
