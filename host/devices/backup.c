// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * backup.c - the backup (quiesce) integration service, host side: asks
 * the guest to freeze and thaw its filesystems (docs/protocol/backup.md)
 * for the worker's backup (host/backup.c) and for `vmbusctl quiesce`, and
 * keeps the last answer for `status`. One request at a time: the guest
 * answers each before the next goes out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/devices.h"
#include "host/devices/ic.h"
#include "host/log.h"
#include "vmbus/classes.h"
#include "vmbus/ic_backup.h"

/* How long the guest may take to answer (hooks included) before we give up. */
#define BACKUP_ANSWER_TIMEOUT_S	90.0
#define BACKUP_STATUS_TIMEOUT_S	10.0

struct backup_state {
	struct ic_service ic;
	bool open;
	/* the request in flight */
	bool pending;
	uint32_t op;
	uint64_t seq, backup_id;
	double sent_at, deadline;
	backup_answer_fn fn;
	void *ctx;
	/* the last answer (or failure to get one) */
	bool answered;
	struct backup_answer last;
	uint64_t last_seq;
	bool frozen;			/* as the guest last said */
	uint64_t freezes, thaws, failures, watchdog_thaws;
};

const char *backup_op_name(uint32_t op)
{
	switch (op) {
	case VMBUS_BACKUP_FREEZE: return "freeze";
	case VMBUS_BACKUP_THAW: return "thaw";
	case VMBUS_BACKUP_STATUS: return "status";
	}
	return "unknown";
}

/* The request ends: with the guest's answer, or a local failure (status < 0, text why). */
static void backup_finish(struct backup_state *s, const struct backup_answer *a)
{
	backup_answer_fn fn = s->fn;
	void *ctx = s->ctx;

	s->pending = false;
	s->fn = NULL;
	s->answered = true;
	s->last = *a;
	s->last_seq = s->seq;
	if (a->status < 0)
		s->failures++;
	if (a->flags & VMBUS_BACKUP_F_WATCHDOG_THAWED)
		s->watchdog_thaws++;
	if (fn)
		fn(ctx, a);
}

static void backup_fail(struct backup_state *s, int status, const char *why)
{
	struct backup_answer a = { .op = s->op, .status = status, .local = true };

	snprintf(a.text, sizeof(a.text), "%s", why);
	log_warning("backup: %s request: %s", backup_op_name(s->op), why);
	backup_finish(s, &a);
}

int backup_device_request(struct device *dev, uint32_t op, uint32_t timeout_ms, uint64_t backup_id,
			  backup_answer_fn fn, void *ctx)
{
	struct backup_state *s = dev->priv;
	struct vmbus_ic_backup req = { .op = op, .timeout_ms = timeout_ms, .backup_id = backup_id };
	int r;

	if (op < VMBUS_BACKUP_FREEZE || op > VMBUS_BACKUP_STATUS)
		return -EINVAL;
	if (op == VMBUS_BACKUP_FREEZE && timeout_ms &&
	    (timeout_ms < VMBUS_BACKUP_TIMEOUT_MIN_MS || timeout_ms > VMBUS_BACKUP_TIMEOUT_MAX_MS))
		return -ERANGE;
	if (s->pending)
		return -EBUSY;
	if (!dev->primary || dev->primary->state != CHANNEL_OPEN || !s->ic.version)
		return -ENODEV;		/* no guest service: crash-consistent only */
	r = ic_send(dev->primary, VMBUS_IC_BACKUP, s->ic.version, ++s->ic.seq, &req, sizeof(req));
	if (r < 0)
		return r;
	s->pending = true;
	s->op = op;
	s->seq = s->ic.seq;
	s->backup_id = backup_id;
	s->sent_at = devices_now();
	s->deadline = s->sent_at +
		      (op == VMBUS_BACKUP_STATUS ? BACKUP_STATUS_TIMEOUT_S : BACKUP_ANSWER_TIMEOUT_S);
	s->fn = fn;
	s->ctx = ctx;
	log_info("backup: asked the guest to %s%s", backup_op_name(op),
		 op == VMBUS_BACKUP_FREEZE ? " its filesystems" : "");
	return 0;
}

bool backup_device_ready(struct device *dev)
{
	struct backup_state *s = dev->priv;

	return dev->primary && dev->primary->state == CHANNEL_OPEN && s->ic.version && !s->pending;
}

void backup_device_cancel(struct device *dev, void *ctx)
{
	struct backup_state *s = dev->priv;

	if (s->pending && s->ctx == ctx)
		s->fn = NULL;
}

static void backup_answer(void *ctx, struct channel *ch, const struct vmbus_ic_hdr *h,
			  const uint8_t *payload)
{
	struct backup_state *s = ctx;
	struct vmbus_ic_backup p;
	struct backup_answer a = { 0 };

	if (h->type != VMBUS_IC_BACKUP || h->payload_len < sizeof(p)) {
		channel_reset(ch, "backup: malformed answer");
		return;
	}
	memcpy(&p, payload, sizeof(p));
	if (p.text_len > VMBUS_BACKUP_TEXT_MAX || p.text_len > h->payload_len - sizeof(p)) {
		channel_reset(ch, "backup: answer text longer than its payload or 3072 bytes");
		return;
	}
	if (!s->pending || h->seq != s->seq || p.op != s->op) {
		log_guest(LOG_WARNING, "backup: answer to no request (sequence %llu, op %u) ignored",
			  (unsigned long long)h->seq, p.op);
		return;
	}
	a.op = p.op;
	a.status = h->status;
	a.flags = p.flags;
	a.nfilesystems = p.nfilesystems;
	a.elapsed_ms = p.elapsed_ms;
	memcpy(a.text, payload + sizeof(p), p.text_len);
	/* Guest text goes into logs and terminals: no control characters but newlines. */
	for (uint32_t i = 0; i < p.text_len; i++)
		if (((unsigned char)a.text[i] < 0x20 && a.text[i] != '\n') || a.text[i] == 0x7f)
			a.text[i] = '?';
	if (a.op == VMBUS_BACKUP_FREEZE && a.status == 0) {
		s->frozen = true;
		s->freezes++;
	} else if (a.op == VMBUS_BACKUP_THAW && a.status == 0) {
		s->frozen = false;
		s->thaws++;
	} else if (a.op == VMBUS_BACKUP_STATUS) {
		s->frozen = !(a.flags & VMBUS_BACKUP_F_NOTHING_FROZEN);
	}
	log_info("backup: the guest answered %s: %s in %u ms (%u filesystem%s%s)",
		 backup_op_name(a.op), a.status == 0 ? "done" : strerror(-a.status), a.elapsed_ms,
		 a.nfilesystems, a.nfilesystems == 1 ? "" : "s",
		 a.flags & VMBUS_BACKUP_F_WATCHDOG_THAWED ? ", its watchdog had thawed already" : "");
	backup_finish(s, &a);
}

static int backup_open(struct device *dev, struct channel *ch)
{
	struct backup_state *s = dev->priv;

	s->open = true;
	return ic_open(&s->ic, ch, "backup", VMBUS_IC_BACKUP_VERSION_1, VMBUS_IC_BACKUP_VERSION_1);
}

static void backup_close(struct device *dev, struct channel *ch)
{
	struct backup_state *s = dev->priv;

	(void)ch;
	s->open = false;
	s->ic.version = 0;
	/* The guest thaws by itself when its service loses the channel. */
	s->frozen = false;
	if (s->pending)
		backup_fail(s, -ENODEV, "the guest's backup service went away before answering");
}

static void backup_event(struct device *dev, struct channel *ch)
{
	struct backup_state *s = dev->priv;

	ic_receive(&s->ic, ch, backup_answer, s);
}

static void backup_tick(struct device *dev)
{
	struct backup_state *s = dev->priv;

	if (s->pending && devices_now() > s->deadline)
		backup_fail(s, -ETIMEDOUT, "no answer from the guest in time");
}

static void backup_status(struct device *dev, struct json_writer *w)
{
	struct backup_state *s = dev->priv;
	char version[16];

	json_bool(w, "guest_service", s->open && s->ic.version);
	if (s->ic.version)
		json_string(w, "protocol", ic_version_text(&s->ic, version, sizeof(version)));
	json_bool(w, "frozen", s->frozen);
	json_uint(w, "freezes", s->freezes);
	json_uint(w, "thaws", s->thaws);
	json_uint(w, "failures", s->failures);
	json_uint(w, "watchdog_thaws", s->watchdog_thaws);
	if (s->pending) {
		json_object_begin(w, "pending");
		json_string(w, "op", backup_op_name(s->op));
		json_uint(w, "sequence", s->seq);
		json_double(w, "ago", devices_now() - s->sent_at);
		json_object_end(w);
	}
	if (s->answered) {
		json_object_begin(w, "last");
		json_string(w, "op", backup_op_name(s->last.op));
		json_uint(w, "sequence", s->last_seq);
		json_int(w, "status", s->last.status);
		json_bool(w, "local", s->last.local);
		json_bool(w, "watchdog_thawed", s->last.flags & VMBUS_BACKUP_F_WATCHDOG_THAWED);
		json_bool(w, "hook_failed", s->last.flags & VMBUS_BACKUP_F_HOOK_FAILED);
		json_uint(w, "filesystems", s->last.nfilesystems);
		json_uint(w, "elapsed_ms", s->last.elapsed_ms);
		json_string(w, "text", s->last.text);
		json_object_end(w);
	}
}

/* `service backup freeze [TIMEOUT_MS] | thaw | status`: send, answer with the sequence. */
static int backup_command(struct device *dev, int argc, char **argv, struct json_writer *out,
			  const char **error)
{
	struct backup_state *s = dev->priv;
	uint32_t op = 0, timeout_ms = 0;
	int r;

	if (argc >= 1 && strcmp(argv[0], "freeze") == 0 && argc <= 2) {
		op = VMBUS_BACKUP_FREEZE;
		if (argc == 2) {
			char *end;
			unsigned long v = strtoul(argv[1], &end, 10);

			if (*end || !*argv[1] || v > UINT32_MAX) {
				*error = "the timeout is a number of milliseconds";
				return -EINVAL;
			}
			timeout_ms = (uint32_t)v;
		}
	} else if (argc == 1 && strcmp(argv[0], "thaw") == 0) {
		op = VMBUS_BACKUP_THAW;
	} else if (argc == 1 && strcmp(argv[0], "status") == 0) {
		op = VMBUS_BACKUP_STATUS;
	} else if (argc == 1 && strcmp(argv[0], "info") == 0) {
		backup_status(dev, out);	/* what the worker knows; nothing sent */
		return 0;
	} else {
		*error = "usage: service backup freeze [TIMEOUT_MS] | thaw | status | info";
		return -EINVAL;
	}
	r = backup_device_request(dev, op, timeout_ms, 0, NULL, NULL);
	if (r == -ENODEV)
		*error = "the guest's backup service is not connected";
	else if (r == -EBUSY)
		*error = "a request to the guest's backup service is still waiting for its answer";
	else if (r == -ERANGE)
		*error = "the freeze timeout must be 1000 to 60000 ms";
	if (r < 0)
		return r;
	json_uint(out, "sequence", s->seq);
	return 0;
}

const struct device_ops backup_device_ops = {
	.name = "backup",
	.class_id = VMBUS_CLASS_BACKUP,
	.ring_size_max = 64 * 1024,
	.priv_size = sizeof(struct backup_state),
	.open = backup_open,
	.close = backup_close,
	.event = backup_event,
	.tick = backup_tick,
	.status = backup_status,
	.command = backup_command,
};
