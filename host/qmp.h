/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * qmp.h - a non-blocking QMP client for the worker's event loop: the
 * capabilities handshake, commands with an id matched to their reply, and
 * events (SHUTDOWN, RESET, STOP, RESUME, ...) passed to a callback.
 */
#ifndef HOST_QMP_H
#define HOST_QMP_H

#include "host/json.h"

struct qmp;

typedef void (*qmp_event_fn)(void *ctx, const char *event, const struct json_value *data);
/* reply is the "return" member, or NULL with error set on failure. */
typedef void (*qmp_reply_fn)(void *ctx, const struct json_value *reply, const char *error);

struct qmp_pending {
	uint64_t id;
	qmp_reply_fn fn;
	void *ctx;
	struct qmp_pending *next;
};

struct qmp {
	int fd;
	bool ready;			/* capabilities negotiated */
	char *buf;
	size_t len, cap;
	uint64_t next_id;
	struct qmp_pending *pending;
	qmp_event_fn on_event;
	void *ctx;
};

void qmp_init(struct qmp *q, qmp_event_fn on_event, void *ctx);
/* Try to connect (non-blocking socket); -ENOENT/-ECONNREFUSED while QEMU starts. */
int qmp_connect(struct qmp *q, const char *path);
/* The socket is readable: process what arrived. -ECONNRESET when QEMU closed it. */
int qmp_handle_input(struct qmp *q);
/* Send {"execute": command[, "arguments": args_json]}. fn may be NULL. */
int qmp_command(struct qmp *q, const char *command, const char *args_json,
		qmp_reply_fn fn, void *ctx);
void qmp_close(struct qmp *q);

#endif
