// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * scenario_kvp.c - sim-guest scenario "kvp": the KVP backend of a real
 * worker, served by a guest that is first well-behaved, then hostile
 * (docs/protocol/kvp.md).
 *
 * SIM_KVP_PHASE=1 (default):
 *   - after negotiation the host syncs its (empty) pool and reads ours; an
 *     entry over the limits and one that is not UTF-8 are refused, the
 *     valid ones show up in `service kvp get`;
 *   - a value set on the host arrives as SET and is reported delivered; an
 *     over-limit set is refused by the worker with a sentence saying why;
 *   - an unchanged pool is answered with one UNCHANGED message;
 *   - a page whose entry runs past its payload resets the channel, and
 *     after the reconnection the host sends its pool again and reads ours
 *     whole (generation 0);
 *   - a guest claiming 5000 entries is read up to 1024 and no further.
 * SIM_KVP_PHASE=2 (a new worker on the same run directory): the value set
 * in phase 1 is sent again at connection, read from the saved host pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/sim/simguest.h"
#include "vmbus/ic_kvp.h"

#define KVP_MSG_MAX 4096

struct kvp_req {
	struct vmbus_ic_hdr h;
	struct vmbus_ic_kvp_msg m;
	uint8_t payload[KVP_MSG_MAX];
	uint32_t payload_len;
};

static void kvp_expect_status(const char *request, const char *needle)
{
	char reply[65536];

	for (int tries = 0; tries < 100; tries++) {
		if (sim_worker_request(request, reply, sizeof(reply)) == 0 && strstr(reply, needle))
			return;
		usleep(100 * 1000);
	}
	SIM_FAIL("worker '%s' never reported %s (last reply: %.400s)", request, needle, reply);
}

/* Wait for the host's next request; check its op. */
static void kvp_recv(struct sim *s, struct sim_channel *c, uint32_t op, struct kvp_req *q)
{
	int r = sim_recv(s, c, q->payload, sizeof(q->payload), NULL, 10000);

	if (r < (int)sizeof(q->h))
		SIM_FAIL("kvp: expected a request (op %u), got %d", op, r);
	memcpy(&q->h, q->payload, sizeof(q->h));
	if (q->h.type == VMBUS_IC_NEGOTIATE && op == 0)
		return;
	if (q->h.type != VMBUS_IC_KVP || q->h.payload_len < sizeof(q->m))
		SIM_FAIL("kvp: expected a KVP request, got type %u with %u bytes", q->h.type,
			 q->h.payload_len);
	memcpy(&q->m, q->payload + sizeof(q->h), sizeof(q->m));
	if (q->m.op != op)
		SIM_FAIL("kvp: expected op %u, got op %u", op, q->m.op);
	q->payload_len = q->h.payload_len;
	memmove(q->payload, q->payload + sizeof(q->h), q->payload_len);
}

/* Answer q with status, the answer's message header and entries. */
static void kvp_reply(struct sim *s, struct sim_channel *c, const struct kvp_req *q, int32_t status,
		      const struct vmbus_ic_kvp_msg *m, const void *entries, uint32_t len)
{
	uint8_t buf[sizeof(struct vmbus_ic_hdr) + KVP_MSG_MAX];
	struct vmbus_ic_hdr h = q->h;
	struct vmbus_ic_kvp_msg a = m ? *m : q->m;

	if (len > sizeof(buf) - sizeof(h) - sizeof(a))
		SIM_FAIL("kvp: reply too large");
	h.flags = VMBUS_IC_F_RESPONSE;
	h.status = status;
	h.payload_len = (uint32_t)sizeof(a) + len;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &a, sizeof(a));
	if (len)
		memcpy(buf + sizeof(h) + sizeof(a), entries, len);
	if (sim_send(s, c, buf, (uint32_t)sizeof(h) + h.payload_len, h.seq) < 0)
		SIM_FAIL("kvp: cannot answer");
}

static struct sim_channel *kvp_open(struct sim *s)
{
	struct sim_channel *c = sim_find(s, "kvp", 0);
	struct kvp_req q;

	if (!c)
		SIM_FAIL("no kvp offer");
	if (sim_open(s, c, 4, 1))
		SIM_FAIL("cannot open kvp");
	kvp_recv(s, c, 0, &q);
	if (q.h.type != VMBUS_IC_NEGOTIATE)
		SIM_FAIL("kvp: expected NEGOTIATE, got %u", q.h.type);
	q.h.flags = VMBUS_IC_F_RESPONSE;
	q.h.version = VMBUS_IC_KVP_VERSION_1;
	q.h.payload_len = 0;
	sim_send(s, c, &q.h, sizeof(q.h), q.h.seq);
	return c;
}

/*
 * The host's sync after a connection: SYNC_BEGIN, one SET per host value,
 * SYNC_END. Returns how many SETs came; the first one's key/value are
 * copied to key/value (when not NULL).
 */
static unsigned int kvp_serve_sync(struct sim *s, struct sim_channel *c, char *key, char *value)
{
	struct kvp_req q;
	unsigned int sets = 0;

	kvp_recv(s, c, VMBUS_KVP_SYNC_BEGIN, &q);
	kvp_reply(s, c, &q, 0, NULL, NULL, 0);
	for (;;) {
		int r = sim_recv(s, c, q.payload, sizeof(q.payload), NULL, 10000);

		if (r < (int)(sizeof(q.h) + sizeof(q.m)))
			SIM_FAIL("kvp: sync: no request (%d)", r);
		memcpy(&q.h, q.payload, sizeof(q.h));
		memcpy(&q.m, q.payload + sizeof(q.h), sizeof(q.m));
		if (q.m.op == VMBUS_KVP_SYNC_END) {
			kvp_reply(s, c, &q, 0, NULL, NULL, 0);
			return sets;
		}
		if (q.m.op != VMBUS_KVP_SET)
			SIM_FAIL("kvp: sync: op %u between SYNC_BEGIN and SYNC_END", q.m.op);
		if (sets++ == 0 && key) {
			const uint8_t *k, *v;
			uint32_t kl, vl, off = sizeof(q.h) + sizeof(q.m);

			if (vmbus_kvp_entry_next(q.payload, sizeof(q.h) + q.h.payload_len, &off, &k, &kl,
						 &v, &vl) < 0)
				SIM_FAIL("kvp: sync: malformed SET");
			memcpy(key, k, kl);
			key[kl] = '\0';
			memcpy(value, v, vl);
			value[vl] = '\0';
		}
		kvp_reply(s, c, &q, 0, NULL, NULL, 0);
	}
}

static void kvp_put(uint8_t *buf, uint32_t *off, const char *key, const char *value)
{
	if (vmbus_kvp_entry_put(buf, KVP_MSG_MAX - 64, off, key, (uint32_t)strlen(key), value,
				(uint32_t)strlen(value)) < 0)
		SIM_FAIL("kvp: page full");
}

static void kvp_phase2(struct sim *s)
{
	struct sim_channel *c;
	char key[VMBUS_KVP_KEY_MAX + 1], value[VMBUS_KVP_VALUE_MAX + 2];
	unsigned int sets;

	c = kvp_open(s);
	sets = kvp_serve_sync(s, c, key, value);
	if (sets != 1 || strcmp(key, "Greeting") != 0 || strcmp(value, "hello guest, é") != 0)
		SIM_FAIL("kvp: a new worker sent %u value(s), first '%s'='%s' (wanted Greeting)", sets,
			 sets ? key : "", sets ? value : "");
	SIM_LOG("kvp: a restarted worker sent the saved host value again: %s=%s", key, value);
}

void scenario_kvp(struct sim *s)
{
	struct sim_channel *c;
	struct kvp_req q;
	struct vmbus_ic_kvp_msg a;
	uint8_t page[KVP_MSG_MAX];
	char big[700], reply[4096], key[VMBUS_KVP_KEY_MAX + 1], value[VMBUS_KVP_VALUE_MAX + 2];
	const char *phase = getenv("SIM_KVP_PHASE");
	uint32_t off, i, old_id;

	if (sim_connect(s))
		SIM_FAIL("connect refused");
	if (phase && strcmp(phase, "2") == 0) {
		kvp_phase2(s);
		return;
	}
	c = kvp_open(s);
	if (kvp_serve_sync(s, c, NULL, NULL) != 0)
		SIM_FAIL("kvp: a fresh worker had host values");

	/* First read of our pool: 3 valid entries, one over the limit, one not UTF-8. */
	kvp_recv(s, c, VMBUS_KVP_ENUMERATE, &q);
	if (q.m.index != 0 || q.m.generation != 0 || q.m.pool != VMBUS_KVP_POOL_GUEST)
		SIM_FAIL("kvp: first ENUMERATE: index %u generation %llu pool %u", q.m.index,
			 (unsigned long long)q.m.generation, q.m.pool);
	memset(big, 'k', 600);
	big[600] = '\0';
	off = 0;
	kvp_put(page, &off, "HostName", "sim-guest");
	kvp_put(page, &off, big, "too long a key");
	kvp_put(page, &off, "OSName", "Sim \xc3\xa9");
	kvp_put(page, &off, "Bad", "\xc3\x28");
	kvp_put(page, &off, "UptimeSeconds", "42");
	a = (struct vmbus_ic_kvp_msg){ .op = VMBUS_KVP_ENUMERATE, .pool = VMBUS_KVP_POOL_GUEST,
				       .count = 5, .total = 5, .generation = 7 };
	kvp_reply(s, c, &q, 0, &a, page, off);
	kvp_expect_status("service kvp get HostName", "\"value\":\"sim-guest\"");
	kvp_expect_status("service kvp get OSName", "\"value\":\"Sim \xc3\xa9\"");
	kvp_expect_status("status", "\"guest_entries_refused\":2");
	sim_worker_request("service kvp get Bad", reply, sizeof(reply));
	if (!strstr(reply, "\"ok\":false") || !strstr(reply, "no such key"))
		SIM_FAIL("kvp: the entry that is not UTF-8 was kept: %s", reply);
	SIM_LOG("kvp: guest pool read; over-limit and non-UTF-8 entries refused");

	/* A value from the host. */
	sim_worker_request("service kvp set Greeting hello%20guest,%20\xc3\xa9", reply, sizeof(reply));
	if (!strstr(reply, "\"ok\":true"))
		SIM_FAIL("kvp: set refused: %s", reply);
	kvp_recv(s, c, VMBUS_KVP_SET, &q);
	off = sizeof(q.m);
	{
		const uint8_t *k, *v;
		uint32_t kl, vl;

		if (vmbus_kvp_entry_next(q.payload, q.payload_len, &off, &k, &kl, &v, &vl) < 0 ||
		    kl != 8 || memcmp(k, "Greeting", 8) || vl != strlen("hello guest, é") ||
		    memcmp(v, "hello guest, é", vl))
			SIM_FAIL("kvp: SET does not carry Greeting='hello guest, é'");
	}
	kvp_reply(s, c, &q, 0, NULL, NULL, 0);
	kvp_expect_status("service kvp get Greeting", "\"delivered\":true");
	SIM_LOG("kvp: a host value reached the guest and was acknowledged");

	/* Over the limits: refused by the worker, with why. */
	memset(value, 'v', 2049);
	value[2049] = '\0';
	snprintf(reply, sizeof(reply), "service kvp set Big %s", value);
	{
		static char r2[4096];

		sim_worker_request(reply, r2, sizeof(r2));
		if (!strstr(r2, "\"ok\":false") || !strstr(r2, "values 2048"))
			SIM_FAIL("kvp: a 2049-byte value was not refused clearly: %.300s", r2);
		snprintf(reply, sizeof(reply), "service kvp set %s v", big);
		sim_worker_request(reply, r2, sizeof(r2));
		if (!strstr(r2, "\"ok\":false") || !strstr(r2, "keys take at most 512"))
			SIM_FAIL("kvp: a 600-byte key was not refused clearly: %.300s", r2);
		sim_worker_request("service kvp set Bad %C3%28", r2, sizeof(r2));
		if (!strstr(r2, "\"ok\":false") || !strstr(r2, "UTF-8"))
			SIM_FAIL("kvp: a value that is not UTF-8 was not refused: %.300s", r2);
	}
	SIM_LOG("kvp: over-limit and non-UTF-8 host values refused by the worker");

	/* The next poll: unchanged, one message. */
	kvp_recv(s, c, VMBUS_KVP_ENUMERATE, &q);
	if (q.m.index != 0 || q.m.generation != 7)
		SIM_FAIL("kvp: second ENUMERATE: index %u generation %llu (wanted 0, 7)", q.m.index,
			 (unsigned long long)q.m.generation);
	a = (struct vmbus_ic_kvp_msg){ .op = VMBUS_KVP_ENUMERATE, .pool = VMBUS_KVP_POOL_GUEST,
				       .total = 3, .flags = VMBUS_KVP_F_UNCHANGED, .generation = 7 };
	kvp_reply(s, c, &q, 0, &a, NULL, 0);
	SIM_LOG("kvp: an unchanged pool took one message");

	/* Hostile: an entry longer than the page that carries it. */
	kvp_recv(s, c, VMBUS_KVP_ENUMERATE, &q);
	off = 0;
	kvp_put(page, &off, "HostName", "sim-guest");
	page[2] = 0xff;		/* key_len 8 -> 0xff08 */
	a = (struct vmbus_ic_kvp_msg){ .op = VMBUS_KVP_ENUMERATE, .pool = VMBUS_KVP_POOL_GUEST,
				       .count = 1, .total = 1, .generation = 8 };
	old_id = c->offer.channel_id;
	kvp_reply(s, c, &q, 0, &a, page, off);
	{
		union vmbus_ctl_msg m;

		for (i = 0; i < 100 && sim_find(s, "kvp", 0) &&
		     sim_find(s, "kvp", 0)->offer.channel_id == old_id; i++)
			sim_ctl_wait(s, 0, &m, 100);
		for (i = 0; i < 100 && !sim_find(s, "kvp", 0); i++)
			sim_ctl_wait(s, 0, &m, 100);
	}
	c = kvp_open(s);
	if (kvp_serve_sync(s, c, key, value) != 1 || strcmp(key, "Greeting") != 0)
		SIM_FAIL("kvp: after the reset, the host did not send its value again");
	SIM_LOG("kvp: a malformed page reset the channel; the host pool was sent again");

	/* Hostile: 5000 entries claimed, pages of 100; the host stops at 1024. */
	for (uint32_t index = 0;;) {
		kvp_recv(s, c, VMBUS_KVP_ENUMERATE, &q);
		if (q.m.index != index)
			SIM_FAIL("kvp: ENUMERATE for index %u, wanted %u", q.m.index, index);
		/* A new connection may be a new guest daemon: its generations mean nothing yet. */
		if (index == 0 && q.m.generation != 0)
			SIM_FAIL("kvp: after a reconnection the host named generation %llu",
				 (unsigned long long)q.m.generation);
		if (index >= 1024)
			SIM_FAIL("kvp: the host asked for entry %u of a pool claimed to hold 5000", index);
		off = 0;
		for (i = 0; i < 100; i++) {
			snprintf(key, sizeof(key), "k%u", index + i);
			kvp_put(page, &off, key, "v");
		}
		a = (struct vmbus_ic_kvp_msg){ .op = VMBUS_KVP_ENUMERATE, .pool = VMBUS_KVP_POOL_GUEST,
					       .index = index, .count = 100, .total = 5000,
					       .generation = 9 };
		kvp_reply(s, c, &q, 0, &a, page, off);
		index += 100;
		if (index >= 1100)
			break;
	}
	kvp_expect_status("status", "\"guest_entries\":1024,");
	kvp_expect_status("service kvp get k1023", "\"value\":\"v\"");
	sim_worker_request("service kvp get k1024", reply, sizeof(reply));
	if (!strstr(reply, "no such key"))
		SIM_FAIL("kvp: entry 1024 was kept: %.300s", reply);
	SIM_LOG("kvp: a guest claiming 5000 entries was read up to 1024");
}
