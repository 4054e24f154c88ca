// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * scenario_backup.c - sim-guest scenario "backup": the worker's live
 * backup (docs/backup.md) driven from inside the guest, which also serves
 * the backup integration service, so every step can be checked exactly.
 *
 * SIM_BACKUP_DIR is an empty directory for the backups; disk0 is
 * SIM_STORAGE_IMAGE (8 MiB). The worker copies slowly
 * (OPENVMBUS_BACKUP_COPY_DELAY_MS in worker.test) so that the guest's
 * writes race the copy. SIM_BACKUP_STEP selects a run:
 *
 *   1: pattern P0 written; a full quiesced backup; right after THAW the
 *      guest overwrites the whole disk with P1 while the copy runs: the
 *      backup holds P0 exactly (copy-before-write saved chunks), its
 *      sha256 is P0's; an incremental applied to the full one gives the
 *      disk as it is; a second lists exactly the three chunks changed; one
 *      on the first again (as if vmbusctl discarded the second) carries
 *      the second's changes too; a failing pre-freeze hook (the guest answers -EIO)
 *      fails the backup with the hook's text and no THAW is sent; a
 *      --no-quiesce backup is crash-consistent and says why.
 *   2: (a new worker after a clean exit) one more chunk changed; an
 *      incremental on step 1's incremental works: change tracking
 *      survived the restart. Then the worker is killed.
 *   3: (a new worker after the kill) an incremental is refused: a crashed
 *      worker's change tracking is never trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/json.h"
#include "host/sha256.h"
#include "tests/sim/simguest.h"
#include "vmbus/classes.h"
#include "vmbus/ic.h"
#include "vmbus/ic_backup.h"
#include "vmbus/storage.h"

#define DISK_BYTES	(8u << 20)
#define CHUNK		(64u * 1024u)
#define IO_BYTES	(256u * 1024u)

struct bk {
	struct sim *s;
	struct sim_channel *disk, *svc;
	uint64_t buf_gpa;		/* IO_BYTES of guest RAM */
	uint8_t *buf;
	uint8_t *expect;		/* what the disk holds now */
	uint64_t next_id;
	const char *dir;
};

static void fill(uint8_t *p, size_t n, uint64_t off, unsigned int seed)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t a = off + i;

		p[i] = (uint8_t)((a * 2654435761u >> 13) ^ (a >> 9) ^ seed * 0x5bu);
	}
}

/* Write pattern seed over [off, off + len) of disk0 and remember it. */
static void bk_write(struct bk *b, uint64_t off, uint64_t len, unsigned int seed)
{
	struct sim_stor_list l;

	while (len) {
		uint32_t n = len < IO_BYTES ? (uint32_t)len : IO_BYTES;
		uint64_t id = b->next_id++;

		fill(b->buf, n, off, seed);
		memcpy(b->expect + off, b->buf, n);
		sim_stor_list_init(&l);
		sim_stor_list_add(&l, b->buf_gpa, n);
		if (sim_stor_send(b->s, b->disk, VMBUS_STOR_OP_WRITE, 0, off / 512, n / 512, &l, id) < 0 ||
		    sim_stor_wait(b->s, b->disk, id, NULL) != VMBUS_STOR_S_OK)
			SIM_FAIL("backup: write at %llu failed", (unsigned long long)off);
		off += n;
		len -= n;
	}
}

static void bk_flush(struct bk *b)
{
	uint64_t id = b->next_id++;

	sim_stor_send(b->s, b->disk, VMBUS_STOR_OP_FLUSH, 0, 0, 0, NULL, id);
	if (sim_stor_wait(b->s, b->disk, id, NULL) != VMBUS_STOR_S_OK)
		SIM_FAIL("backup: flush failed");
}

/* A control request; the parsed reply (exits on failure unless may_fail). */
static struct json_value *bk_request(const char *req, bool may_fail)
{
	static char reply[65536];
	struct json_value *v = NULL;

	if (sim_worker_request(req, reply, sizeof(reply)) < 0 ||
	    json_parse(reply, strlen(reply), &v) < 0)
		SIM_FAIL("backup: no reply to '%s'", req);
	if (!may_fail && !json_get_bool(v, "ok", false))
		SIM_FAIL("backup: '%s' failed: %s", req, reply);
	return v;
}

/* The next request of the backup service (its op), answered with status/text (NULL: not answered). */
static uint32_t bk_serve(struct bk *b, int32_t status, const char *text, bool answer,
			 uint32_t *ret_timeout)
{
	uint8_t msg[4096];
	struct vmbus_ic_hdr h;
	struct vmbus_ic_backup p;
	size_t tl = text ? strlen(text) : 0;
	int n = sim_recv(b->s, b->svc, msg, sizeof(msg), NULL, 10000);

	if (n < (int)(sizeof(h) + sizeof(p)))
		SIM_FAIL("backup: no request from the host's backup service (%d)", n);
	memcpy(&h, msg, sizeof(h));
	memcpy(&p, msg + sizeof(h), sizeof(p));
	if (h.type != VMBUS_IC_BACKUP)
		SIM_FAIL("backup: message type %u", h.type);
	if (ret_timeout)
		*ret_timeout = p.timeout_ms;
	if (!answer)
		return p.op;
	h.flags = VMBUS_IC_F_RESPONSE;
	h.status = status;
	h.payload_len = (uint32_t)(sizeof(p) + tl);
	p.flags = 0;
	p.nfilesystems = status == 0 && p.op == VMBUS_BACKUP_FREEZE ? 1 : 0;
	p.elapsed_ms = 3;
	p.text_len = (uint32_t)tl;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), &p, sizeof(p));
	memcpy(msg + sizeof(h) + sizeof(p), text, tl);
	sim_send(b->s, b->svc, msg, (uint32_t)(sizeof(h) + sizeof(p) + tl), h.seq);
	return p.op;
}

/* Poll backup-status until the backup ends; the final status. */
static struct json_value *bk_wait(struct bk *b, const char *want_state)
{
	for (int i = 0; i < 600; i++) {
		struct json_value *st = bk_request("backup-status", false);
		const char *state = json_get_string(st, "state");

		if (state && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0)) {
			if (strcmp(state, want_state))
				SIM_FAIL("backup: ended %s (%s), expected %s", state,
					 json_get_string(st, "error") ? json_get_string(st, "error") : "",
					 want_state);
			return st;
		}
		json_value_free(st);
		sim_poll(b->s, 50);
	}
	SIM_FAIL("backup: did not end in 30 s");
}

static const struct json_value *bk_disk0(const struct json_value *st)
{
	const struct json_value *disks = json_get(st, "disks");
	const struct json_value *d = disks && disks->type == JSON_ARRAY ? disks->child : NULL;

	if (!d || strcmp(json_get_string(d, "name") ? json_get_string(d, "name") : "", "disk0"))
		SIM_FAIL("backup: status has no disk0");
	return d;
}

static uint8_t *read_file(const char *path, size_t n)
{
	uint8_t *p = calloc(1, n);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (!p || fd < 0)
		SIM_FAIL("backup: cannot read %s", path);
	got = read(fd, p, n);
	close(fd);
	if (got < 0)
		SIM_FAIL("backup: cannot read %s", path);
	return p;
}

static void sha_hex(const void *p, size_t n, char hex[SHA256_HEX_LEN + 1])
{
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, p, n);
	sha256_final_hex(&c, hex);
}

static void bk_mkdir(const struct bk *b, const char *name, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", b->dir, name);
	if (mkdir(path, 0700) < 0)
		SIM_FAIL("backup: mkdir %s: %s", path, strerror(errno));
}

/* Apply an incremental backup (map + image) onto base, in place. */
static void apply_incremental(uint8_t *base, const char *dir, char *map_text, size_t map_len)
{
	char path[4200];
	uint8_t *img;
	unsigned long long off, len;
	int used;

	snprintf(path, sizeof(path), "%s/disk0.img", dir);
	img = read_file(path, DISK_BYTES);
	for (char *p = map_text; p < map_text + map_len && sscanf(p, "%llu %llu%n", &off, &len, &used) == 2;
	     p += used) {
		if (off + len > DISK_BYTES)
			SIM_FAIL("backup: map range %llu+%llu beyond the disk", off, len);
		memcpy(base + off, img + off, len);
	}
	free(img);
}

static size_t read_text(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = fd < 0 ? -1 : read(fd, buf, n - 1);

	if (fd >= 0)
		close(fd);
	if (got < 0)
		SIM_FAIL("backup: cannot read %s", path);
	buf[got] = '\0';
	return (size_t)got;
}

/* A quiesced backup whose guest side answers FREEZE and THAW; after THAW, after_thaw(). */
static struct json_value *bk_run(struct bk *b, const char *request, void (*after_thaw)(struct bk *))
{
	uint32_t timeout_ms = 0;

	json_value_free(bk_request(request, false));
	if (bk_serve(b, 0, "/\n", true, &timeout_ms) != VMBUS_BACKUP_FREEZE)
		SIM_FAIL("backup: the first request was not FREEZE");
	if (bk_serve(b, 0, "/\n", true, NULL) != VMBUS_BACKUP_THAW)
		SIM_FAIL("backup: the second request was not THAW");
	if (after_thaw)
		after_thaw(b);
	return bk_wait(b, "done");
}

/*
 * A quiesced incremental backup NAME (id ID) on PARENT into the backup
 * directory NAME; its map file's text into map. The status is the caller's.
 */
static struct json_value *bk_incremental(struct bk *b, const char *name, const char *parent,
					 const char *id, char *dir, size_t dir_len, char *map, size_t map_len)
{
	char req[8192], path[4200];
	struct json_value *st;

	bk_mkdir(b, name, dir, dir_len);
	snprintf(req, sizeof(req), "backup-start %s incremental parent=%s id=%s", dir, parent, id);
	st = bk_run(b, req, NULL);
	snprintf(path, sizeof(path), "%s/disk0.map", dir);
	read_text(path, map, map_len);
	return st;
}

static void overwrite_all(struct bk *b)
{
	bk_write(b, 0, DISK_BYTES, 1);		/* P1, racing the copy */
	bk_flush(b);
}

static const char *state_dir_file(const struct bk *b, const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", b->dir, name);
	return buf;
}

static void save_expect(const struct bk *b)
{
	char path[4096];
	int fd = open(state_dir_file(b, "expect.bin", path, sizeof(path)),
		      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, b->expect, DISK_BYTES) != DISK_BYTES)
		SIM_FAIL("backup: cannot save the expected disk");
	close(fd);
}

static void step1(struct bk *b)
{
	char full[1024], incr[1024], bad[1024], crash[1024], path[4096], req[8192], hex[SHA256_HEX_LEN + 1];
	char map[4096];
	struct json_value *st;
	const struct json_value *d;
	uint8_t *p0, *img;
	uint32_t timeout_ms = 0;

	bk_write(b, 0, DISK_BYTES, 0);		/* P0 */
	bk_flush(b);
	p0 = malloc(DISK_BYTES);
	memcpy(p0, b->expect, DISK_BYTES);

	/* Full backup while the guest rewrites everything right after THAW. */
	bk_mkdir(b, "full1", full, sizeof(full));
	snprintf(req, sizeof(req), "backup-start %s id=full-1 timeout=5000", full);
	json_value_free(bk_request(req, false));
	if (bk_serve(b, 0, "/\n", true, &timeout_ms) != VMBUS_BACKUP_FREEZE || timeout_ms != 5000)
		SIM_FAIL("backup: expected FREEZE with timeout 5000, got timeout %u", timeout_ms);
	if (bk_serve(b, 0, "/\n", true, NULL) != VMBUS_BACKUP_THAW)
		SIM_FAIL("backup: expected THAW");
	overwrite_all(b);
	st = bk_wait(b, "done");
	d = bk_disk0(st);
	if (!json_get_bool(st, "quiesced", false))
		SIM_FAIL("backup: a quiesced backup says it is not");
	snprintf(path, sizeof(path), "%s/disk0.img", full);
	img = read_file(path, DISK_BYTES);
	if (memcmp(img, p0, DISK_BYTES))
		SIM_FAIL("backup: the full backup does not hold the disk as it was at the snapshot");
	sha_hex(p0, DISK_BYTES, hex);
	if (strcmp(json_get_string(d, "sha256") ? json_get_string(d, "sha256") : "", hex))
		SIM_FAIL("backup: sha256 %s, the snapshot's is %s", json_get_string(d, "sha256"), hex);
	SIM_LOG("backup: full backup = the disk at the snapshot although the guest rewrote all of it "
		"during the copy (%.0f chunks saved before writes; freeze window %.1f ms); sha256 matches",
		json_get_number(d, "saved_chunks", 0),
		json_get_number(json_get(st, "freeze"), "window_ms", -1));
	if (json_get_number(d, "saved_chunks", 0) < 1)
		SIM_FAIL("backup: no chunk was saved before a write: the race was not exercised");
	free(img);
	json_value_free(st);

	/* Incremental: exactly the chunks changed since full-1. */
	bk_write(b, 3 * CHUNK, CHUNK, 2);
	bk_write(b, 10 * CHUNK, 2 * CHUNK, 2);
	bk_flush(b);
	st = bk_incremental(b, "incr1", "full-1", "incr-1", incr, sizeof(incr), map, sizeof(map));
	/* Everything changed since full-1: P1 everywhere, then P2's chunks. */
	if (!json_get_bool(bk_disk0(st), "incremental", false))
		SIM_FAIL("backup: the incremental backup's disk says full");
	{
		uint8_t *restored;

		snprintf(path, sizeof(path), "%s/disk0.img", full);
		restored = read_file(path, DISK_BYTES);
		apply_incremental(restored, incr, map, strlen(map));
		if (memcmp(restored, b->expect, DISK_BYTES))
			SIM_FAIL("backup: full-1 + incr-1 is not the disk at incr-1's snapshot");
		free(restored);
	}
	SIM_LOG("backup: incremental (map %zu bytes: every chunk written since full-1) applied to the full "
		"backup equals the disk", strlen(map));
	json_value_free(st);

	/* A second incremental: only the three chunks changed since incr-1. */
	bk_write(b, 3 * CHUNK, CHUNK, 3);
	bk_write(b, 10 * CHUNK, 2 * CHUNK, 3);
	bk_flush(b);
	st = bk_incremental(b, "incr2", "incr-1", "incr-2", incr, sizeof(incr), map, sizeof(map));
	if (strcmp(map, "196608 65536\n655360 131072\n"))
		SIM_FAIL("backup: incremental map is '%s', expected chunks 3 and 10-11", map);
	SIM_LOG("backup: a second incremental lists exactly the three chunks changed since the first");
	json_value_free(st);

	/*
	 * vmbusctl may discard a backup the worker finished (its verification
	 * failed): an incremental on the one before it still works and also
	 * carries the discarded one's changes.
	 */
	bk_write(b, 5 * CHUNK, CHUNK, 4);
	bk_flush(b);
	st = bk_incremental(b, "incr2b", "incr-1", "incr-2b", incr, sizeof(incr), map, sizeof(map));
	if (strcmp(map, "196608 65536\n327680 65536\n655360 131072\n"))
		SIM_FAIL("backup: an incremental on the backup before a discarded one has map '%s', "
			 "expected chunks 3, 5 and 10-11", map);
	SIM_LOG("backup: an incremental on the backup before a discarded one carries both's changes");
	json_value_free(st);

	/* A failing pre-freeze hook: the backup fails with its text, no THAW. */
	bk_mkdir(b, "bad", bad, sizeof(bad));
	snprintf(req, sizeof(req), "backup-start %s id=bad-1", bad);
	json_value_free(bk_request(req, false));
	bk_serve(b, -EIO, "hook 10-db exited with status 3: database refused to flush", true, NULL);
	st = bk_wait(b, "failed");
	if (!strstr(json_get_string(st, "error") ? json_get_string(st, "error") : "", "database refused"))
		SIM_FAIL("backup: the failure does not carry the hook's output: %s",
			 json_get_string(st, "error"));
	{
		uint8_t junk[64];

		if (sim_recv(b->s, b->svc, junk, sizeof(junk), NULL, 500) > 0)
			SIM_FAIL("backup: the host sent a request after a failed freeze");
	}
	SIM_LOG("backup: a failing hook fails the backup with its output (\"%s\"), nothing more is asked",
		json_get_string(st, "error"));
	json_value_free(st);

	/* --no-quiesce: no FREEZE, crash-consistent, and it says why. */
	bk_mkdir(b, "crash", crash, sizeof(crash));
	snprintf(req, sizeof(req), "backup-start %s no-quiesce id=crash-1", crash);
	json_value_free(bk_request(req, false));
	st = bk_wait(b, "done");
	if (json_get_bool(st, "quiesced", true) || !json_get_string(st, "crash_consistent_reason"))
		SIM_FAIL("backup: a --no-quiesce backup does not say it is crash-consistent");
	SIM_LOG("backup: --no-quiesce: crash-consistent (%s)", json_get_string(st, "crash_consistent_reason"));
	json_value_free(st);

	/* Refusals. */
	st = bk_request("backup-start relative/path", true);
	if (json_get_bool(st, "ok", true))
		SIM_FAIL("backup: a relative destination was accepted");
	json_value_free(st);
	snprintf(req, sizeof(req), "backup-start %s", full);
	st = bk_request(req, true);
	if (json_get_bool(st, "ok", true))
		SIM_FAIL("backup: a non-empty destination was accepted");
	SIM_LOG("backup: refused: a relative path, a non-empty directory (%s)", json_get_string(st, "error"));
	json_value_free(st);
	save_expect(b);
	free(p0);
}

static void step2(struct bk *b)
{
	char incr[1024], path[4096], map[4096];
	struct json_value *st;

	b->expect = read_file(state_dir_file(b, "expect.bin", path, sizeof(path)), DISK_BYTES);
	bk_write(b, 20 * CHUNK, CHUNK, 4);
	bk_flush(b);
	st = bk_incremental(b, "incr3", "crash-1", "incr-3", incr, sizeof(incr), map, sizeof(map));
	if (strcmp(map, "1310720 65536\n"))
		SIM_FAIL("backup: after a worker restart the incremental map is '%s', expected chunk 20", map);
	SIM_LOG("backup: change tracking survived a worker restart: the incremental lists chunk 20 only");
	json_value_free(st);
	bk_write(b, 21 * CHUNK, CHUNK, 5);
	bk_flush(b);
	SIM_LOG("backup: killing the worker");
	kill(getppid(), SIGKILL);
	sim_poll(b->s, 5000);
}

static void step3(struct bk *b)
{
	char incr[1024], req[8192];
	struct json_value *st;

	bk_mkdir(b, "incr4", incr, sizeof(incr));
	snprintf(req, sizeof(req), "backup-start %s incremental parent=incr-3 id=incr-4", incr);
	json_value_free(bk_request(req, false));
	bk_serve(b, 0, "/\n", true, NULL);	/* FREEZE */
	bk_serve(b, 0, "/\n", true, NULL);	/* THAW, sent after the refusal */
	st = bk_wait(b, "failed");
	if (!strstr(json_get_string(st, "error") ? json_get_string(st, "error") : "", "full backup"))
		SIM_FAIL("backup: after a crash the incremental failed for another reason: %s",
			 json_get_string(st, "error"));
	SIM_LOG("backup: after a worker crash an incremental is refused: %s", json_get_string(st, "error"));
	json_value_free(st);
}

void scenario_backup(struct sim *s)
{
	const char *step = getenv("SIM_BACKUP_STEP");
	struct bk b = { .s = s, .next_id = 1 };

	b.dir = getenv("SIM_BACKUP_DIR");
	if (!b.dir || !step)
		SIM_FAIL("backup: SIM_BACKUP_DIR and SIM_BACKUP_STEP wanted");
	if (sim_connect(s))
		SIM_FAIL("connect failed");
	b.disk = sim_find(s, "storage", 0);
	b.svc = sim_find(s, "backup", 0);
	if (!b.disk || !b.svc)
		SIM_FAIL("backup: the worker offers no disk or no backup service");
	if (sim_open(s, b.disk, 8, 1) || sim_open(s, b.svc, 4, 1))
		SIM_FAIL("backup: cannot open the disk or the backup service");
	sim_ic_negotiate(s, b.svc, VMBUS_IC_BACKUP_VERSION_1, "backup");
	b.buf_gpa = sim_alloc(s, IO_BYTES / 4096);
	b.buf = sim_gpa_ptr(s, b.buf_gpa);
	b.expect = calloc(1, DISK_BYTES);
	if (!b.expect)
		SIM_FAIL("backup: out of memory");
	sim_poll(s, 200);	/* the negotiation reaches the worker */
	if (strcmp(step, "1") == 0)
		step1(&b);
	else if (strcmp(step, "2") == 0)
		step2(&b);
	else
		step3(&b);
	free(b.expect);
}
