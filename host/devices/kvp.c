// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kvp.c - the key-value exchange, host side (docs/protocol/kvp.md).
 *
 * Keeps two pools: the host pool (what `vmbusctl kvp NAME set` put there,
 * saved in the run directory so it outlives the worker, and replayed to the
 * guest after every connection) and the last complete read of the guest
 * pool (what the guest publishes, polled every few seconds with ENUMERATE).
 * One request is in flight at a time, so every answer is matched by the
 * IC sequence number alone.
 *
 * The guest is hostile: a frame that does not add up resets the channel;
 * an entry that is well framed but over a limit or not UTF-8 is dropped and
 * logged (rate-limited); the guest pool is capped at 1024 entries and the
 * pages of one read at 1024 entries too, so memory and work are bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/devices.h"
#include "host/devices/ic.h"
#include "host/log.h"
#include "vmbus/classes.h"
#include "vmbus/ic_kvp.h"

#define KVP_POLL_S		5.0	/* read the guest pool this often */
#define KVP_ANSWER_S		10.0	/* a request not answered by then is sent again */
#define KVP_POOL_FILE		"kvp-host.pool"
/* A pool file line: escaped key '=' escaped value '\n' NUL. */
#define KVP_LINE_MAX		(3 * (VMBUS_KVP_KEY_MAX + VMBUS_KVP_VALUE_MAX) + 3)

struct kvp_entry {
	char *key, *value;		/* NUL-terminated copies (no NUL inside: UTF-8 checked) */
	uint32_t key_len, value_len;
	uint64_t change;		/* host pool: the change that set this value */
	uint64_t sent;			/* host pool: the change the guest acknowledged */
};

struct kvp_pool {
	struct kvp_entry *e;
	uint32_t n;
};

enum kvp_sync {
	KVP_SYNC_BEGIN,			/* send SYNC_BEGIN next */
	KVP_SYNC_SETS,			/* sending every host entry */
	KVP_SYNC_DONE,			/* SYNC_END sent: single changes from now */
};

struct kvp_state {
	struct ic_service ic;
	bool loaded;			/* host pool read from the run directory */
	bool connected;			/* negotiated on this channel */
	struct channel *ch;
	enum kvp_sync sync;
	uint64_t resyncs;		/* a SET acknowledged for an older resync counts for nothing */
	struct kvp_pool host;
	struct kvp_pool tombstones;	/* host keys deleted, DELETE not yet acknowledged */
	uint64_t changes;

	/* The request in flight. */
	bool busy;
	uint32_t busy_op;
	double busy_since;
	char busy_key[VMBUS_KVP_KEY_MAX + 1];
	uint64_t busy_change;
	uint64_t busy_resync;

	/* The guest pool: last complete read, and the read in progress. */
	struct kvp_pool guest, fetch;
	bool guest_valid;
	bool generation_known;		/* guest_generation is from this connection */
	uint64_t guest_generation, fetch_generation;
	uint32_t fetch_index, fetch_total;
	double guest_read_at, next_poll;
	uint64_t refused;		/* guest entries dropped (limits, UTF-8) */
	uint64_t host_refused;		/* host entries the guest refused */
};

static void kvp_entry_free(struct kvp_entry *e)
{
	free(e->key);
	free(e->value);
}

static void kvp_pool_clear(struct kvp_pool *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		kvp_entry_free(&p->e[i]);
	free(p->e);
	p->e = NULL;
	p->n = 0;
}

static struct kvp_entry *kvp_pool_find(const struct kvp_pool *p, const void *key, uint32_t key_len)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		if (p->e[i].key_len == key_len && memcmp(p->e[i].key, key, key_len) == 0)
			return &p->e[i];
	return NULL;
}

static char *kvp_strndup(const void *s, uint32_t len)
{
	char *d = malloc((size_t)len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* Set key to value; -ENOSPC when the pool is full and key is new. */
static int kvp_pool_set(struct kvp_pool *p, const void *key, uint32_t key_len, const void *value,
			uint32_t value_len, struct kvp_entry **ret)
{
	struct kvp_entry *e = kvp_pool_find(p, key, key_len);
	char *v = kvp_strndup(value, value_len);

	if (!v)
		return -ENOMEM;
	if (!e) {
		struct kvp_entry *grown;
		char *k;

		if (p->n >= VMBUS_KVP_POOL_MAX) {
			free(v);
			return -ENOSPC;
		}
		k = kvp_strndup(key, key_len);
		grown = k ? realloc(p->e, (p->n + 1) * sizeof(*p->e)) : NULL;
		if (!grown) {
			free(k);
			free(v);
			return -ENOMEM;
		}
		p->e = grown;
		e = &p->e[p->n++];
		memset(e, 0, sizeof(*e));
		e->key = k;
		e->key_len = key_len;
	}
	free(e->value);
	e->value = v;
	e->value_len = value_len;
	if (ret)
		*ret = e;
	return 0;
}

static bool kvp_pool_delete(struct kvp_pool *p, const void *key, uint32_t key_len)
{
	struct kvp_entry *e = kvp_pool_find(p, key, key_len);

	if (!e)
		return false;
	kvp_entry_free(e);
	*e = p->e[--p->n];
	return true;
}

/* ------------------------------------------------------------ persistence */

static int kvp_pool_path(char *buf, size_t n)
{
	if (!devices_run_dir)
		return -ENOENT;		/* no run directory (fuzzing): keep the pool in memory */
	if ((size_t)snprintf(buf, n, "%s/%s", devices_run_dir, KVP_POOL_FILE) >= n)
		return -ENAMETOOLONG;
	return 0;
}

/* Write the host pool: a temporary file, then rename, mode 0600. */
static int kvp_save(struct kvp_state *s)
{
	char path[4096], tmp[4096 + 8];
	char *key = NULL, *value = NULL;
	uint32_t i;
	FILE *f;
	int fd, r = 0;

	if (kvp_pool_path(path, sizeof(path)) < 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_error_errno(-errno, "kvp: cannot write %s: %m", tmp);
	f = fdopen(fd, "w");
	key = malloc(3 * VMBUS_KVP_KEY_MAX + 1);
	value = malloc(3 * VMBUS_KVP_VALUE_MAX + 1);
	if (!f || !key || !value) {
		r = -ENOMEM;
		if (!f)
			close(fd);
		goto out;
	}
	fprintf(f, "# openvmbus KVP host pool (docs/protocol/kvp.md): KEY=VALUE, %%XX escapes\n");
	for (i = 0; i < s->host.n; i++) {
		struct kvp_entry *e = &s->host.e[i];

		vmbus_kvp_escape(e->key, e->key_len, true, key, 3 * VMBUS_KVP_KEY_MAX + 1);
		vmbus_kvp_escape(e->value, e->value_len, false, value, 3 * VMBUS_KVP_VALUE_MAX + 1);
		fprintf(f, "%s=%s\n", key, value);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		r = -errno;
out:
	if (f && fclose(f) != 0 && !r)
		r = -errno;
	free(key);
	free(value);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return log_error_errno(r, "kvp: cannot save the host pool to %s: %m", path);
	}
	return 0;
}

/* Read the saved host pool once, the first time the backend needs it. */
static void kvp_load(struct kvp_state *s)
{
	char path[4096];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned int bad = 0;
	FILE *f;

	if (s->loaded)
		return;
	s->loaded = true;
	if (kvp_pool_path(path, sizeof(path)) < 0)
		return;
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			log_warning("kvp: cannot read %s: %m", path);
		return;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *key, *value;
		uint32_t klen, vlen;
		int r;

		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		r = len > KVP_LINE_MAX ? -EINVAL :
		    vmbus_kvp_parse_line(line, (size_t)len, &key, &klen, &value, &vlen);
		if (r == 0)
			r = kvp_pool_set(&s->host, key, klen, value, vlen, NULL);
		if (r < 0)
			bad++;
	}
	free(line);
	fclose(f);
	if (bad)
		log_warning("kvp: %s: %u invalid line(s) ignored", path, bad);
	log_info("kvp: %u host value(s) loaded from %s", s->host.n, path);
	for (uint32_t i = 0; i < s->host.n; i++)
		s->host.e[i].change = ++s->changes;
}

/* --------------------------------------------------------------- requests */

static int kvp_send(struct kvp_state *s, uint32_t op, uint32_t pool, uint32_t index,
		    uint64_t generation, const struct kvp_entry *e)
{
	uint8_t payload[IC_MSG_MAX - sizeof(struct vmbus_ic_hdr)];
	struct vmbus_ic_kvp_msg m = { .op = op, .pool = pool, .index = index, .generation = generation };
	uint32_t off = sizeof(m);
	int r;

	if (e) {
		m.count = 1;
		r = vmbus_kvp_entry_put(payload, sizeof(payload), &off, e->key, e->key_len,
					e->value, op == VMBUS_KVP_DELETE ? 0 : e->value_len);
		if (r < 0)
			return r;
	}
	memcpy(payload, &m, sizeof(m));
	r = ic_send(s->ch, VMBUS_IC_KVP, s->ic.version, ++s->ic.seq, payload, off);
	if (r < 0)
		return r;
	s->busy = true;
	s->busy_op = op;
	s->busy_since = devices_now();
	s->busy_resync = s->resyncs;
	s->busy_key[0] = '\0';
	if (e) {
		memcpy(s->busy_key, e->key, e->key_len + 1);
		s->busy_change = e->change;
	}
	return 0;
}

/* Replace the guest's copy of the host pool next (SYNC_BEGIN, SETs, SYNC_END). */
static void kvp_resync(struct kvp_state *s)
{
	uint32_t i;

	s->sync = KVP_SYNC_BEGIN;
	s->resyncs++;
	for (i = 0; i < s->host.n; i++)
		s->host.e[i].sent = 0;
	/* Deletes not yet sent are covered: SYNC_END drops what was not sent again. */
	kvp_pool_clear(&s->tombstones);
}

static struct kvp_entry *kvp_host_unsent(struct kvp_state *s)
{
	uint32_t i;

	for (i = 0; i < s->host.n; i++)
		if (s->host.e[i].sent != s->host.e[i].change)
			return &s->host.e[i];
	return NULL;
}

/* Send the next request, if none is in flight: host changes first, then the poll. */
static void kvp_pump(struct kvp_state *s)
{
	struct kvp_entry *e;
	int r = 0;

	if (!s->connected || s->busy)
		return;
	if (s->sync == KVP_SYNC_BEGIN) {
		r = kvp_send(s, VMBUS_KVP_SYNC_BEGIN, VMBUS_KVP_POOL_HOST, 0, 0, NULL);
		if (r == 0)
			s->sync = KVP_SYNC_SETS;
	} else if ((e = kvp_host_unsent(s))) {
		r = kvp_send(s, VMBUS_KVP_SET, VMBUS_KVP_POOL_HOST, 0, 0, e);
	} else if (s->sync == KVP_SYNC_SETS) {
		r = kvp_send(s, VMBUS_KVP_SYNC_END, VMBUS_KVP_POOL_HOST, 0, 0, NULL);
		if (r == 0)
			s->sync = KVP_SYNC_DONE;
	} else if (s->tombstones.n) {
		r = kvp_send(s, VMBUS_KVP_DELETE, VMBUS_KVP_POOL_HOST, 0, 0, &s->tombstones.e[0]);
	} else if (devices_now() >= s->next_poll) {
		r = kvp_send(s, VMBUS_KVP_ENUMERATE, VMBUS_KVP_POOL_GUEST, s->fetch_index,
			     s->fetch_index ? s->fetch_generation :
			     (s->generation_known ? s->guest_generation : 0), NULL);
	}
	if (r < 0 && r != -EAGAIN)
		log_warning("kvp: cannot send a request to the guest: %s", strerror(-r));
}

/* ---------------------------------------------------------------- answers */

static void kvp_poll_done(struct kvp_state *s)
{
	s->fetch_index = 0;
	s->guest_read_at = devices_now();
	s->next_poll = s->guest_read_at + KVP_POLL_S;
}

/* One page of the guest pool. Returns -EPROTO for a frame that does not add up. */
static int kvp_enumerate_answer(struct kvp_state *s, const struct vmbus_ic_kvp_msg *m,
				const uint8_t *payload, uint32_t len)
{
	uint32_t off = sizeof(*m), i;

	if (m->pool != VMBUS_KVP_POOL_GUEST || m->index != s->fetch_index)
		return -EPROTO;
	if (m->flags & VMBUS_KVP_F_UNCHANGED) {
		if (m->index || m->count || !s->generation_known || m->generation != s->guest_generation)
			return -EPROTO;
		kvp_poll_done(s);
		return 0;
	}
	if (m->index == 0) {
		kvp_pool_clear(&s->fetch);
		s->fetch_generation = m->generation;
		s->fetch_total = m->total;
		if (m->total > VMBUS_KVP_POOL_MAX)
			log_guest(LOG_WARNING, "kvp: the guest publishes %u entries; only the first %u are read",
				  m->total, VMBUS_KVP_POOL_MAX);
	} else if (m->generation != s->fetch_generation || m->total != s->fetch_total) {
		/* The pool changed between pages: read it again from the start. */
		s->fetch_index = 0;
		kvp_pool_clear(&s->fetch);
		return 0;
	}
	if (m->count > m->total - m->index || (m->count == 0 && m->index < m->total))
		return -EPROTO;
	for (i = 0; i < m->count; i++) {
		const uint8_t *key, *value;
		uint32_t klen, vlen;
		int r = vmbus_kvp_entry_next(payload, len, &off, &key, &klen, &value, &vlen);

		if (r < 0)
			return r;
		r = vmbus_kvp_check(key, klen, value, vlen);
		if (r < 0) {
			s->refused++;
			log_guest(LOG_WARNING, "kvp: guest entry %u refused: %s", m->index + i,
				  r == -E2BIG ? "key over 512 or value over 2048 bytes" :
				  r == -EINVAL ? "empty key" : "not valid UTF-8");
			continue;
		}
		r = kvp_pool_set(&s->fetch, key, klen, value, vlen, NULL);
		if (r == -ENOSPC) {
			s->refused++;
			continue;
		}
		if (r < 0)
			return r;
	}
	if (off != len)
		return -EPROTO;
	s->fetch_index += m->count;
	if (s->fetch_index >= s->fetch_total || s->fetch_index >= VMBUS_KVP_POOL_MAX) {
		struct kvp_pool old = s->guest;

		s->guest = s->fetch;
		s->fetch = old;
		kvp_pool_clear(&s->fetch);
		s->guest_generation = s->fetch_generation;
		s->guest_valid = true;
		s->generation_known = true;
		kvp_poll_done(s);
	}
	return 0;
}

static void kvp_answer(void *ctx, struct channel *ch, const struct vmbus_ic_hdr *h,
		       const uint8_t *payload)
{
	struct kvp_state *s = ctx;
	struct vmbus_ic_kvp_msg m;
	struct kvp_entry *e;
	int r = 0;

	if (h->type != VMBUS_IC_KVP || !s->busy || h->payload_len < sizeof(m)) {
		channel_reset(ch, "kvp: malformed answer");
		return;
	}
	memcpy(&m, payload, sizeof(m));
	if (m.op != s->busy_op) {
		channel_reset(ch, "kvp: answer to another request");
		return;
	}
	s->busy = false;
	if (h->status < 0) {
		if (m.op == VMBUS_KVP_ENUMERATE) {
			log_guest(LOG_WARNING, "kvp: the guest could not list its pool (status %d)", h->status);
			kvp_poll_done(s);
		} else {
			s->host_refused++;
			log_guest(LOG_WARNING, "kvp: the guest refused request %u%s%s (status %d)", m.op,
				  s->busy_key[0] ? " for key " : "", s->busy_key, h->status);
		}
	}
	switch (m.op) {
	case VMBUS_KVP_SET:
		/* Acknowledged or refused: either way, not sent again until it changes. */
		e = kvp_pool_find(&s->host, s->busy_key, (uint32_t)strlen(s->busy_key));
		if (e && e->change == s->busy_change && s->busy_resync == s->resyncs)
			e->sent = s->busy_change;
		break;
	case VMBUS_KVP_DELETE:
		kvp_pool_delete(&s->tombstones, s->busy_key, (uint32_t)strlen(s->busy_key));
		break;
	case VMBUS_KVP_ENUMERATE:
		if (h->status >= 0)
			r = kvp_enumerate_answer(s, &m, payload, h->payload_len);
		break;
	}
	if (r == -EPROTO) {
		channel_reset(ch, "kvp: malformed page of the guest pool");
		return;
	}
	if (r < 0)
		log_warning("kvp: cannot keep the guest pool: %s", strerror(-r));
	kvp_pump(s);
}

/* ------------------------------------------------------------------- ops */

static int kvp_open(struct device *dev, struct channel *ch)
{
	struct kvp_state *s = dev->priv;

	kvp_load(s);
	s->ch = ch;
	s->connected = false;
	s->busy = false;
	s->fetch_index = 0;
	s->next_poll = 0;
	/* A new guest daemon counts generations afresh: read everything once. */
	s->generation_known = false;
	kvp_resync(s);
	return ic_open(&s->ic, ch, "kvp", VMBUS_IC_KVP_VERSION_1, VMBUS_IC_KVP_VERSION_1);
}

static void kvp_close(struct device *dev, struct channel *ch)
{
	struct kvp_state *s = dev->priv;

	(void)ch;
	s->ch = NULL;
	s->connected = false;
	s->busy = false;
	s->ic.version = 0;
	kvp_pool_clear(&s->fetch);
}

static void kvp_event(struct device *dev, struct channel *ch)
{
	struct kvp_state *s = dev->priv;

	ic_receive(&s->ic, ch, kvp_answer, s);
	if (s->ic.version && !s->connected && ch->state == CHANNEL_OPEN && !ch->reset_reason) {
		s->connected = true;
		kvp_pump(s);
	}
}

static void kvp_tick(struct device *dev)
{
	struct kvp_state *s = dev->priv;

	kvp_load(s);
	if (s->busy && devices_now() - s->busy_since > KVP_ANSWER_S) {
		log_guest(LOG_WARNING, "kvp: no answer from the guest in %.0f s; asking again", KVP_ANSWER_S);
		s->busy = false;
		if (s->busy_op == VMBUS_KVP_SYNC_BEGIN || s->busy_op == VMBUS_KVP_SYNC_END)
			kvp_resync(s);
	}
	kvp_pump(s);
}

static void kvp_json_pool(struct json_writer *w, const char *name, const struct kvp_pool *p,
			  bool delivery)
{
	uint32_t i;

	json_array_begin(w, name);
	for (i = 0; i < p->n; i++) {
		json_object_begin(w, NULL);
		json_string(w, "key", p->e[i].key);
		json_string(w, "value", p->e[i].value);
		if (delivery)
			json_bool(w, "delivered", p->e[i].sent == p->e[i].change);
		json_object_end(w);
	}
	json_array_end(w);
}

static void kvp_status(struct device *dev, struct json_writer *w)
{
	struct kvp_state *s = dev->priv;
	char version[16];

	json_bool(w, "guest_service", s->connected);
	if (s->ic.version)
		json_string(w, "protocol", ic_version_text(&s->ic, version, sizeof(version)));
	json_uint(w, "guest_entries", s->guest.n);
	json_uint(w, "host_entries", s->host.n);
	if (s->guest_valid)
		json_double(w, "guest_read_ago", devices_now() - s->guest_read_at);
	json_uint(w, "guest_entries_refused", s->refused);
	json_uint(w, "host_entries_refused", s->host_refused);
}

static const char *kvp_check_text(int r)
{
	switch (r) {
	case -EINVAL: return "the key is empty";
	case -E2BIG: return "over the limit: keys take at most 512 bytes, values 2048";
	case -EILSEQ: return "keys and values must be valid UTF-8 without NUL bytes";
	}
	return NULL;
}

/* Host pool change from the control socket: set (value != NULL) or delete. */
static int kvp_change(struct kvp_state *s, const char *key, const char *value, struct json_writer *out,
		      const char **error)
{
	uint32_t klen = (uint32_t)strlen(key);
	struct kvp_entry *e;
	int r;

	r = vmbus_kvp_check(key, klen, value ? value : "", value ? strlen(value) : 0);
	if (r < 0) {
		*error = kvp_check_text(r);
		return r;
	}
	if (value) {
		r = kvp_pool_set(&s->host, key, klen, value, (uint32_t)strlen(value), &e);
		if (r == -ENOSPC)
			*error = "the host pool already has 1024 entries (the limit); delete some first";
		if (r < 0)
			return r;
		e->change = ++s->changes;
		kvp_pool_delete(&s->tombstones, key, klen);
	} else {
		if (!kvp_pool_delete(&s->host, key, klen)) {
			*error = "no such key in the host pool";
			return -ENOENT;
		}
		if (s->connected && !kvp_pool_find(&s->tombstones, key, klen) &&
		    kvp_pool_set(&s->tombstones, key, klen, "", 0, NULL) < 0)
			kvp_resync(s);	/* too many deletes pending: replace the guest's copy */
	}
	r = kvp_save(s);
	if (r < 0) {
		*error = "cannot save the host pool in the run directory (see the worker log)";
		return r;
	}
	log_info("kvp: host %s %s", value ? "set" : "deleted", key);
	json_string(out, "key", key);
	json_bool(out, "guest_service", s->connected);
	kvp_pump(s);
	return 0;
}

static int kvp_command(struct device *dev, int argc, char **argv, struct json_writer *out,
		       const char **error)
{
	struct kvp_state *s = dev->priv;
	const struct kvp_entry *e;

	kvp_load(s);
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		json_bool(out, "guest_service", s->connected);
		json_bool(out, "guest_pool_read", s->guest_valid);
		if (s->guest_valid)
			json_double(out, "guest_read_ago", devices_now() - s->guest_read_at);
		kvp_json_pool(out, "guest", &s->guest, false);
		kvp_json_pool(out, "host", &s->host, true);
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "get") == 0) {
		const char *pool = "guest";

		e = kvp_pool_find(&s->guest, argv[1], (uint32_t)strlen(argv[1]));
		if (!e) {
			pool = "host";
			e = kvp_pool_find(&s->host, argv[1], (uint32_t)strlen(argv[1]));
		}
		if (!e) {
			*error = s->guest_valid ? "no such key" :
				 "no such key (the guest pool has not been read yet)";
			return -ENOENT;
		}
		json_string(out, "pool", pool);
		json_string(out, "key", e->key);
		json_string(out, "value", e->value);
		if (strcmp(pool, "host") == 0)
			json_bool(out, "delivered", e->sent == e->change);
		return 0;
	}
	if (argc == 3 && strcmp(argv[0], "set") == 0)
		return kvp_change(s, argv[1], argv[2], out, error);
	if (argc == 2 && strcmp(argv[0], "delete") == 0)
		return kvp_change(s, argv[1], NULL, out, error);
	*error = "usage: list | get KEY | set KEY VALUE | delete KEY";
	return -EINVAL;
}

static void kvp_destroy(struct device *dev)
{
	struct kvp_state *s = dev->priv;

	kvp_pool_clear(&s->host);
	kvp_pool_clear(&s->tombstones);
	kvp_pool_clear(&s->guest);
	kvp_pool_clear(&s->fetch);
}

const struct device_ops kvp_device_ops = {
	.name = "kvp",
	.class_id = VMBUS_CLASS_KVP,
	.ring_size_max = 64 * 1024,
	.priv_size = sizeof(struct kvp_state),
	.open = kvp_open,
	.close = kvp_close,
	.event = kvp_event,
	.tick = kvp_tick,
	.status = kvp_status,
	.command = kvp_command,
	.destroy = kvp_destroy,
};
