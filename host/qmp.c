// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * qmp.c - QMP client (see qmp.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/log.h"
#include "host/qmp.h"

#define QMP_MAX_LINE (1u << 20)

void qmp_init(struct qmp *q, qmp_event_fn on_event, void *ctx)
{
	memset(q, 0, sizeof(*q));
	q->fd = -1;
	q->next_id = 1;
	q->on_event = on_event;
	q->ctx = ctx;
}

int qmp_connect(struct qmp *q, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	q->fd = fd;
	return 0;
}

static int qmp_write(struct qmp *q, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = send(q->fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

int qmp_command(struct qmp *q, const char *command, const char *args_json,
		qmp_reply_fn fn, void *ctx)
{
	struct qmp_pending *p;
	char text[1024];
	int r;

	if (q->fd < 0 || !q->ready)
		return -ENOTCONN;
	if ((size_t)snprintf(text, sizeof(text), "{\"execute\":\"%s\"%s%s%s,\"id\":%" PRIu64 "}\r\n",
			     command, args_json ? ",\"arguments\":" : "", args_json ? args_json : "",
			     "", q->next_id) >= sizeof(text))
		return -E2BIG;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->id = q->next_id++;
	p->fn = fn;
	p->ctx = ctx;
	r = qmp_write(q, text);
	if (r < 0) {
		free(p);
		return r;
	}
	p->next = q->pending;
	q->pending = p;
	return 0;
}

static void qmp_reply(struct qmp *q, const struct json_value *msg)
{
	double id = json_get_number(msg, "id", -1);
	struct qmp_pending **pp, *p;
	const struct json_value *err;

	for (pp = &q->pending; *pp; pp = &(*pp)->next) {
		if ((double)(*pp)->id != id)
			continue;
		p = *pp;
		*pp = p->next;
		if (p->fn) {
			err = json_get(msg, "error");
			if (err)
				p->fn(p->ctx, NULL, json_get_string(err, "desc") ?: "QMP error");
			else
				p->fn(p->ctx, json_get(msg, "return"), NULL);
		}
		free(p);
		return;
	}
}

static void qmp_message(struct qmp *q, const char *line, size_t len)
{
	struct json_value *msg;
	const char *event;

	if (json_parse(line, len, &msg) < 0) {
		log_warning("QMP: unparsable message from QEMU ignored");
		return;
	}
	if (json_get(msg, "QMP")) {
		/* Greeting: leave capabilities negotiation mode. */
		if (qmp_write(q, "{\"execute\":\"qmp_capabilities\",\"id\":0}\r\n") < 0)
			log_warning("QMP: cannot send qmp_capabilities");
	} else if ((event = json_get_string(msg, "event"))) {
		if (q->on_event)
			q->on_event(q->ctx, event, json_get(msg, "data"));
	} else if (json_get_number(msg, "id", -1) == 0) {
		q->ready = true;
	} else {
		qmp_reply(q, msg);
	}
	json_value_free(msg);
}

int qmp_handle_input(struct qmp *q)
{
	char *nl;
	ssize_t n;

	for (;;) {
		if (q->cap - q->len < 4096) {
			size_t cap = q->cap ? q->cap * 2 : 8192;
			char *p;

			if (cap > QMP_MAX_LINE * 2)
				return -EMSGSIZE;
			p = realloc(q->buf, cap);
			if (!p)
				return -ENOMEM;
			q->buf = p;
			q->cap = cap;
		}
		n = recv(q->fd, q->buf + q->len, q->cap - q->len - 1, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		q->len += (size_t)n;
		while ((nl = memchr(q->buf, '\n', q->len))) {
			size_t line = (size_t)(nl - q->buf) + 1;

			qmp_message(q, q->buf, line);
			memmove(q->buf, q->buf + line, q->len - line);
			q->len -= line;
		}
	}
}

void qmp_close(struct qmp *q)
{
	while (q->pending) {
		struct qmp_pending *p = q->pending;

		q->pending = p->next;
		if (p->fn)
			p->fn(p->ctx, NULL, "QEMU went away");
		free(p);
	}
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	q->fd = -1;
	q->buf = NULL;
	q->len = q->cap = 0;
	q->ready = false;
}
