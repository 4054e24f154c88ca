// SPDX-License-Identifier: GPL-2.0
/*
 * kvp.c - the key-value exchange service of openvmbusd (protocol:
 * docs/protocol/kvp.md).
 *
 * The host pool (values the host set for this guest) is kept in
 * /var/lib/openvmbus/kvp/host.pool (or $OPENVMBUSD_KVP_DIR/host.pool),
 * mode 0600, one KEY=VALUE line per entry with %XX escapes, rewritten
 * atomically after each change and left in place when the daemon stops, so
 * the guest's users can read it at any time (`sudo cat`, or grep '^KEY=').
 * A resync from the host (SYNC_BEGIN ... SYNC_END after each connection)
 * is written once, at its end. While the backup service holds filesystems
 * frozen the file is not written (the daemon would block): the change is
 * answered at once and written after the thaw (kvp_pool_flush_held).
 *
 * The guest pool (what the guest publishes) is gathered again each time
 * the host starts reading it (ENUMERATE at index 0); its generation only
 * moves when something changed, so an unchanged pool costs one message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest-linux/openvmbusd/kvp_publish.h"
#include "guest-linux/openvmbusd/log.h"
#include "guest-linux/openvmbusd/service.h"

#define KVP_DEFAULT_DIR		"/var/lib/openvmbus/kvp"
#define KVP_POOL_NAME		"host.pool"

struct kvp_guest {
	bool loaded;
	bool syncing;			/* between SYNC_BEGIN and SYNC_END */
	uint64_t sync_mark;
	struct kvp_items host;		/* the host pool */
	struct kvp_items published;	/* the guest pool as last gathered */
	struct kvp_items scratch;	/* a fresh gathering, compared with published */
	bool gathered;			/* published holds a gathering */
	bool save_held;			/* a change waits for the thaw to be saved */
	uint64_t generation;		/* of published */
	char path[PATH_MAX];
};

static struct kvp_guest kvp_guest;
static bool kvp_quiet;			/* a query from the command line: no log lines */

static const char *kvp_dir(void)
{
	const char *dir = getenv("OPENVMBUSD_KVP_DIR");

	return dir && *dir ? dir : KVP_DEFAULT_DIR;
}

/* mkdir -p for the pool's directory (0755: the file itself is 0600). */
static int kvp_mkdirs(const char *dir)
{
	char tmp[PATH_MAX], *p;

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int kvp_save(struct kvp_guest *g)
{
	static char key[3 * VMBUS_KVP_KEY_MAX + 1], value[3 * VMBUS_KVP_VALUE_MAX + 1];
	char tmp[PATH_MAX + 8];
	uint32_t i;
	FILE *f;
	int fd, r;

	r = kvp_mkdirs(kvp_dir());
	if (r < 0) {
		log_msg(LOG_ERR, "kvp: cannot create %s: %s", kvp_dir(), strerror(-r));
		return r;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", g->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		log_msg(LOG_ERR, "kvp: cannot write %s: %s", tmp, strerror(-r));
		return r;
	}
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	fprintf(f, "# openvmbus KVP: values the host set for this guest (docs/protocol/kvp.md).\n"
		   "# KEY=VALUE per line; control bytes, '%%' (and '=' in keys) are written %%XX.\n");
	for (i = 0; i < g->host.n; i++) {
		const struct kvp_item *it = &g->host.item[i];

		vmbus_kvp_escape(it->key, it->key_len, true, key, sizeof(key));
		vmbus_kvp_escape(it->value, it->value_len, false, value, sizeof(value));
		fprintf(f, "%s=%s\n", key, value);
	}
	r = 0;
	if (fflush(f) != 0 || fsync(fd) < 0)
		r = -errno;
	if (fclose(f) != 0 && !r)
		r = -errno;
	if (!r && rename(tmp, g->path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		log_msg(LOG_ERR, "kvp: cannot save %s: %s", g->path, strerror(-r));
	}
	return r;
}

/* Save now, or after the thaw while filesystems are frozen. */
static int kvp_store(struct kvp_guest *g)
{
	if (backup_frozen()) {
		g->save_held = true;
		return 0;
	}
	g->save_held = false;
	return kvp_save(g);
}

void kvp_pool_flush_held(void)
{
	if (kvp_guest.save_held)
		(void)kvp_store(&kvp_guest);	/* logs its own errors */
}

/* The pool as the last run of the daemon left it (until the host resyncs). */
static void kvp_load(struct kvp_guest *g)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned int bad = 0;
	FILE *f;

	if (g->loaded)
		return;
	g->loaded = true;
	snprintf(g->path, sizeof(g->path), "%s/%s", kvp_dir(), KVP_POOL_NAME);
	f = fopen(g->path, "re");
	if (!f)
		return;
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *key, *value;
		uint32_t klen, vlen;
		int r;

		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		r = vmbus_kvp_parse_line(line, (size_t)len, &key, &klen, &value, &vlen);
		if (r == 0)
			r = kvp_items_set(&g->host, key, klen, value, vlen, NULL);
		if (r < 0)
			bad++;
	}
	free(line);
	fclose(f);
	if (!kvp_quiet)
		log_msg(LOG_INFO, "kvp: %u host value(s) in %s%s", g->host.n, g->path,
			bad ? " (invalid lines ignored)" : "");
}

static void kvp_answer(struct service *s, const struct vmbus_ic_hdr *h, int32_t status,
		       const struct vmbus_ic_kvp_msg *req, const uint8_t *entries, uint32_t len,
		       const struct vmbus_ic_kvp_msg *m)
{
	uint8_t payload[SERVICE_MSG_MAX - sizeof(struct vmbus_ic_hdr)];
	struct vmbus_ic_kvp_msg a = { .op = req->op, .pool = req->pool, .index = req->index };
	int r;

	if (m)
		a = *m;
	memcpy(payload, &a, sizeof(a));
	if (len)
		memcpy(payload + sizeof(a), entries, len);
	r = service_reply(s, h, status, payload, (uint32_t)sizeof(a) + len);
	if (r < 0)
		log_msg(LOG_WARNING, "kvp: cannot answer the host: %s", strerror(-r));
}

/* ENUMERATE: a page of the guest pool from req->index. */
static void kvp_enumerate(struct service *s, struct kvp_guest *g, const struct vmbus_ic_hdr *h,
			  const struct vmbus_ic_kvp_msg *req)
{
	static uint8_t page[SERVICE_MSG_MAX - sizeof(struct vmbus_ic_hdr) - sizeof(struct vmbus_ic_kvp_msg)];
	struct vmbus_ic_kvp_msg a = { .op = VMBUS_KVP_ENUMERATE, .pool = VMBUS_KVP_POOL_GUEST,
				      .index = req->index };
	uint32_t off = 0, i;

	if (req->pool != VMBUS_KVP_POOL_GUEST) {
		kvp_answer(s, h, -EINVAL, req, NULL, 0, NULL);
		return;
	}
	if (req->index == 0) {
		bool same;

		kvp_publish_collect(&g->scratch);
		same = g->gathered && g->scratch.n == g->published.n;
		for (i = 0; same && i < g->scratch.n; i++)
			same = g->scratch.item[i].key_len == g->published.item[i].key_len &&
			       g->scratch.item[i].value_len == g->published.item[i].value_len &&
			       memcmp(g->scratch.item[i].key, g->published.item[i].key,
				      g->scratch.item[i].key_len) == 0 &&
			       memcmp(g->scratch.item[i].value, g->published.item[i].value,
				      g->scratch.item[i].value_len) == 0;
		if (!same) {
			g->published.n = g->scratch.n;
			memcpy(g->published.item, g->scratch.item, g->scratch.n * sizeof(g->scratch.item[0]));
			g->generation++;
			g->gathered = true;
		}
	}
	a.generation = g->generation;
	a.total = g->published.n;
	if (req->index == 0 && req->generation == g->generation) {
		a.flags = VMBUS_KVP_F_UNCHANGED;
		kvp_answer(s, h, 0, req, NULL, 0, &a);
		return;
	}
	for (i = req->index; i < g->published.n; i++) {
		const struct kvp_item *it = &g->published.item[i];

		if (vmbus_kvp_entry_put(page, sizeof(page), &off, it->key, it->key_len, it->value,
					it->value_len) < 0)
			break;
		a.count++;
	}
	kvp_answer(s, h, 0, req, page, off, &a);
}

static void kvp_handle(struct service *s, const struct vmbus_ic_hdr *h, const uint8_t *payload)
{
	struct kvp_guest *g = &kvp_guest;
	struct vmbus_ic_kvp_msg req;
	const uint8_t *key = NULL, *value = NULL;
	uint32_t klen = 0, vlen = 0, off = sizeof(req), i;
	struct kvp_item *it;
	int r = 0;

	if (h->type != VMBUS_IC_KVP || h->payload_len < sizeof(req)) {
		log_msg(LOG_WARNING, "kvp: malformed message from the host ignored");
		return;
	}
	memcpy(&req, payload, sizeof(req));
	kvp_load(g);
	if (req.op == VMBUS_KVP_ENUMERATE) {
		kvp_enumerate(s, g, h, &req);
		return;
	}
	if (req.pool != VMBUS_KVP_POOL_HOST) {
		kvp_answer(s, h, -EINVAL, &req, NULL, 0, NULL);
		return;
	}
	if (req.op == VMBUS_KVP_SET || req.op == VMBUS_KVP_DELETE) {
		if (req.count != 1 ||
		    vmbus_kvp_entry_next(payload, h->payload_len, &off, &key, &klen, &value, &vlen) < 0) {
			kvp_answer(s, h, -EPROTO, &req, NULL, 0, NULL);
			return;
		}
		/* The same limits as the host: a bad entry is refused, not stored. */
		r = vmbus_kvp_check(key, klen, value, vlen);
		if (r < 0) {
			log_msg(LOG_WARNING, "kvp: the host sent an entry over the limits or not UTF-8");
			kvp_answer(s, h, r, &req, NULL, 0, NULL);
			return;
		}
	}
	switch (req.op) {
	case VMBUS_KVP_SET:
		r = kvp_items_set(&g->host, key, klen, value, vlen, &it);
		if (r == 0)
			it->mark = g->sync_mark;
		break;
	case VMBUS_KVP_DELETE:
		it = kvp_items_find(&g->host, key, klen);
		if (it)
			kvp_items_delete(&g->host, it);
		break;
	case VMBUS_KVP_SYNC_BEGIN:
		g->syncing = true;
		g->sync_mark++;
		break;
	case VMBUS_KVP_SYNC_END:
		/* What the host did not send again is gone on the host. */
		for (i = g->host.n; i-- > 0;)
			if (g->host.item[i].mark != g->sync_mark)
				kvp_items_delete(&g->host, &g->host.item[i]);
		g->syncing = false;
		break;
	default:
		r = -EOPNOTSUPP;
	}
	if (r == 0 && !g->syncing && req.op != VMBUS_KVP_SYNC_BEGIN)
		r = kvp_store(g);
	if (r == 0 && req.op == VMBUS_KVP_SYNC_END)
		log_msg(LOG_INFO, "kvp: %u host value(s) in %s", g->host.n, g->path);
	kvp_answer(s, h, r, &req, NULL, 0, NULL);
}

static void kvp_connected(struct service *s)
{
	struct timespec now;

	s->priv = &kvp_guest;
	kvp_load(&kvp_guest);
	/* Not 1, 2, ... again after a restart: a stale host copy cannot look current. */
	if (!kvp_guest.generation && clock_gettime(CLOCK_REALTIME, &now) == 0)
		kvp_guest.generation = (uint64_t)now.tv_sec << 20;
	/* A resync the old connection cut short is over: the host starts another. */
	kvp_guest.syncing = false;
}

const struct service_ops kvp_service_ops = {
	.name = "kvp",
	.version_min = VMBUS_IC_KVP_VERSION_1,
	.version_max = VMBUS_IC_KVP_VERSION_1,
	.handle = kvp_handle,
	.connected = kvp_connected,
};

int kvp_pool_query(const char *key)
{
	struct kvp_item *it;
	uint32_t i;

	kvp_quiet = true;
	kvp_load(&kvp_guest);
	if (!key) {
		/* Keys and values as they are, one pair a line: no escapes for people. */
		for (i = 0; i < kvp_guest.host.n; i++) {
			it = &kvp_guest.host.item[i];
			printf("%s=%s\n", it->key, it->value);
		}
		return 0;
	}
	it = kvp_items_find(&kvp_guest.host, key, (uint32_t)strlen(key));
	if (!it)
		return -ENOENT;
	printf("%s\n", it->value);
	return 0;
}
