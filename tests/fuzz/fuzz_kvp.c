// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzz_kvp.c - fuzz harness for the worker's KVP backend
 * (host/devices/kvp.c, through host/devices/ic.c): what a hostile guest
 * answers on an open KVP channel, mixed with control-socket requests.
 *
 * Each input starts from a fresh bus (tests/lib/fuzzdev.c) whose guest has
 * connected, opened the KVP channel and negotiated version 1.0, so the host
 * has just sent SYNC_BEGIN. Then a sequence of records, each starting with an op byte:
 *   op 0: u8 mode, u16 len, len bytes -> an answer to the host's last
 *         request: IC header built by the harness (KVP type, response flag,
 *         the request's sequence; status -EIO if mode bit 0), payload =
 *         the bytes; mode bit 1 copies the request's op and index into the
 *         payload's struct vmbus_ic_kvp_msg (when it is long enough)
 *   op 1: u16 len, len bytes          -> the bytes as a raw channel packet
 *   op 2: u8 action, u8 klen, u16 vlen, bytes -> "service kvp" request
 *         (action % 4: list, get KEY, set KEY VALUE, delete KEY)
 *   op 3:                              -> one-second tick
 * The harness checks that the host only ever sends well-formed KVP
 * requests (valid frame, entries within limits).
 */
#include <stdlib.h>
#include <string.h>

#include "host/devices.h"
#include "tests/fuzz/fuzz.h"
#include "tests/lib/fuzzdev.h"
#include "vmbus/ic_kvp.h"

#define FUZZ_MSG_MAX	4096

struct fuzz_guest {
	struct fuzzdev f;
	struct vmbus_ic_hdr last;		/* the host's last request */
	struct vmbus_ic_kvp_msg last_msg;
};

/* A request from the host must be one we could have written ourselves. */
static void fuzz_check_request(void *ctx, const void *buf, uint32_t len)
{
	struct fuzz_guest *g = ctx;
	const uint8_t *msg = buf;
	struct vmbus_ic_hdr h;
	struct vmbus_ic_kvp_msg m;
	uint32_t off, i;

	if (vmbus_ic_check(msg, len, FUZZ_MSG_MAX) < 0)
		abort();
	memcpy(&h, msg, sizeof(h));
	if (h.type == VMBUS_IC_NEGOTIATE) {
		g->last = h;
		return;
	}
	if (h.type != VMBUS_IC_KVP || h.payload_len < sizeof(m))
		abort();
	memcpy(&m, msg + sizeof(h), sizeof(m));
	off = sizeof(m);
	for (i = 0; i < m.count; i++) {
		const uint8_t *k, *v;
		uint32_t kl, vl;

		if (vmbus_kvp_entry_next(msg + sizeof(h), h.payload_len, &off, &k, &kl, &v, &vl) < 0 ||
		    vmbus_kvp_check(k, kl, v, vl) < 0)
			abort();
	}
	if (off != h.payload_len)
		abort();
	g->last = h;
	g->last_msg = m;
}

static void fuzz_drain(struct fuzz_guest *g)
{
	fuzzdev_drain(&g->f, fuzz_check_request, g);
}

static void fuzz_chan_send(struct fuzz_guest *g, const void *msg, uint32_t len)
{
	fuzzdev_send(&g->f, msg, len);
	fuzz_drain(g);
}

/* The host opened with a version negotiation: answer it. */
static void fuzz_connect(struct fuzz_guest *g)
{
	struct vmbus_ic_hdr answer;

	fuzzdev_start(&g->f, &kvp_device_ops);
	fuzz_drain(g);
	if (g->last.type != VMBUS_IC_NEGOTIATE)
		abort();
	answer = g->last;
	answer.flags = VMBUS_IC_F_RESPONSE;
	answer.version = VMBUS_IC_KVP_VERSION_1;
	answer.payload_len = 0;
	fuzz_chan_send(g, &answer, sizeof(answer));
	if (g->last.type != VMBUS_IC_KVP || g->last_msg.op != VMBUS_KVP_SYNC_BEGIN)
		abort();
}

static void fuzz_command(struct fuzz_guest *g, uint8_t action, const char *key, const char *value)
{
	static const char *const names[] = { "list", "get", "set", "delete" };
	struct device *dev = g->f.dev;
	char *argv[3] = { (char *)names[action % 4], (char *)key, (char *)value };
	int argc = action % 4 == 0 ? 1 : action % 4 == 2 ? 3 : 2;
	const char *error = NULL;
	struct json_writer w;

	json_writer_init(&w);
	json_object_begin(&w, NULL);
	dev->ops->command(dev, argc, argv, &w, &error);
	json_writer_free(&w);
	fuzz_drain(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_guest g;
	static uint8_t msg[FUZZ_MSG_MAX + 256];
	static char key[256 + 1], value[65535 + 1];
	size_t pos = 0;

	memset(&g, 0, sizeof(g));
	fuzz_connect(&g);

	while (pos < size) {
		uint8_t op = data[pos++] % 4;
		uint16_t len = 0;
		uint8_t mode = 0;

		switch (op) {
		case 0: {
			struct vmbus_ic_hdr h = { .type = VMBUS_IC_KVP, .flags = VMBUS_IC_F_RESPONSE,
						  .version = VMBUS_IC_KVP_VERSION_1, .seq = g.last.seq };

			if (size - pos < 3)
				goto out;
			mode = data[pos];
			memcpy(&len, data + pos + 1, 2);
			pos += 3;
			len %= FUZZ_MSG_MAX - sizeof(h) + 1;
			if (len > size - pos)
				len = (uint16_t)(size - pos);
			h.status = mode & 1 ? -EIO : 0;
			h.payload_len = len;
			memcpy(msg, &h, sizeof(h));
			memcpy(msg + sizeof(h), data + pos, len);
			if ((mode & 2) && len >= sizeof(struct vmbus_ic_kvp_msg)) {
				struct vmbus_ic_kvp_msg m;

				memcpy(&m, msg + sizeof(h), sizeof(m));
				m.op = g.last_msg.op;
				m.index = g.last_msg.index;
				memcpy(msg + sizeof(h), &m, sizeof(m));
			}
			pos += len;
			fuzz_chan_send(&g, msg, (uint32_t)sizeof(h) + len);
			break;
		}
		case 1:
			if (size - pos < 2)
				goto out;
			memcpy(&len, data + pos, 2);
			pos += 2;
			len %= FUZZ_MSG_MAX + 64;
			if (len > size - pos)
				len = (uint16_t)(size - pos);
			fuzz_chan_send(&g, data + pos, len);
			pos += len;
			break;
		case 2: {
			uint8_t action, klen;
			uint16_t vlen;

			if (size - pos < 4)
				goto out;
			action = data[pos];
			klen = data[pos + 1];
			memcpy(&vlen, data + pos + 2, 2);
			pos += 4;
			vlen %= 3000;
			if (klen > size - pos)
				klen = (uint8_t)(size - pos);
			memcpy(key, data + pos, klen);
			key[klen] = '\0';
			pos += klen;
			if (vlen > size - pos)
				vlen = (uint16_t)(size - pos);
			memcpy(value, data + pos, vlen);
			value[vlen] = '\0';
			pos += vlen;
			fuzz_command(&g, action, key, value);
			break;
		}
		case 3:
			fuzzdev_tick(&g.f);
			fuzz_drain(&g);
			break;
		}
	}
out:
	fuzzdev_stop(&g.f);
	return 0;
}
