// SPDX-License-Identifier: GPL-2.0
/*
 * service.c - the device-file side of every service in openvmbusd: open,
 * read one packet at a time, version negotiation, reply, reopen after a
 * reset (see service.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest-linux/openvmbusd/log.h"
#include "guest-linux/openvmbusd/service.h"

#define SERVICE_RETRY_USEC (2 * 1000000ULL)

static int service_open(struct service *s);

static int service_retry_fire(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct service *s = userdata;

	(void)src, (void)usec;
	s->retry = sd_event_source_unref(s->retry);
	service_open(s);
	return 0;
}

static void service_schedule_retry(struct service *s)
{
	uint64_t now;

	if (s->retry)
		return;
	sd_event_now(s->event, CLOCK_MONOTONIC, &now);
	if (sd_event_add_time(s->event, &s->retry, CLOCK_MONOTONIC, now + SERVICE_RETRY_USEC, 0,
			      service_retry_fire, s) < 0)
		log_msg(LOG_ERR, "%s: cannot schedule a retry", s->ops->name);
}

static void service_close(struct service *s)
{
	bool was_connected = s->version != 0;

	s->io = sd_event_source_unref(s->io);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->version = 0;
	if (was_connected && s->ops->disconnected)
		s->ops->disconnected(s);
}

int service_reply(struct service *s, const struct vmbus_ic_hdr *h, int32_t status,
		  const void *payload, uint32_t len)
{
	uint8_t msg[SERVICE_MSG_MAX];
	struct vmbus_ic_hdr r = *h;

	if (len > sizeof(msg) - sizeof(r))
		return -EMSGSIZE;
	r.flags = VMBUS_IC_F_RESPONSE;
	r.status = status;
	r.version = s->version;
	r.payload_len = len;
	memcpy(msg, &r, sizeof(r));
	if (len)
		memcpy(msg + sizeof(r), payload, len);
	if (write(s->fd, msg, sizeof(r) + len) < 0)
		return -errno;
	return 0;
}

static void service_negotiate(struct service *s, const struct vmbus_ic_hdr *h, const uint8_t *payload)
{
	struct vmbus_ic_negotiate n;
	int64_t v;

	if (h->payload_len < sizeof(n)) {
		log_msg(LOG_WARNING, "%s: short version negotiation from the host", s->ops->name);
		return;
	}
	memcpy(&n, payload, sizeof(n));
	v = vmbus_version_pick(s->ops->version_min, s->ops->version_max, n.version_min, n.version_max);
	if (v < 0) {
		log_msg(LOG_WARNING, "%s: the host offers versions we do not speak", s->ops->name);
		s->version = 0;
		service_reply(s, h, -EPROTONOSUPPORT, NULL, 0);
		return;
	}
	s->version = (uint32_t)v;
	service_reply(s, h, 0, NULL, 0);
	log_msg(LOG_INFO, "%s: connected, protocol %u.%u", s->ops->name,
		VMBUS_VERSION_MAJOR(s->version), VMBUS_VERSION_MINOR(s->version));
	if (s->ops->connected)
		s->ops->connected(s);
}

void service_watch_host(struct service *s, bool on)
{
	/* EPOLLPRI stays set while the host is silent: one report, then off. */
	if (s->io && sd_event_source_set_io_events(s->io, EPOLLIN | (on ? EPOLLPRI : 0)) < 0)
		log_msg(LOG_WARNING, "%s: cannot %s watching the host", s->ops->name,
			on ? "start" : "stop");
}

static int service_readable(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct service *s = userdata;
	uint8_t buf[SERVICE_MSG_MAX];
	struct vmbus_ic_hdr h;

	(void)src;
	if (revents & EPOLLPRI) {
		service_watch_host(s, false);
		if (s->ops->host_silent)
			s->ops->host_silent(s);
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			log_msg(LOG_WARNING, "%s: channel closed (%s); reopening when it is back",
				s->ops->name, n < 0 ? strerror(errno) : "end of file");
			service_close(s);
			service_schedule_retry(s);
			return 0;
		}
		if (vmbus_ic_check(buf, (uint32_t)n, sizeof(buf) - sizeof(h)) < 0) {
			log_msg(LOG_WARNING, "%s: malformed message from the host ignored", s->ops->name);
			continue;
		}
		memcpy(&h, buf, sizeof(h));
		s->messages++;
		if (h.type == VMBUS_IC_NEGOTIATE)
			service_negotiate(s, &h, buf + sizeof(h));
		else if (s->version)
			s->ops->handle(s, &h, buf + sizeof(h));
		else
			log_msg(LOG_WARNING, "%s: message before version negotiation ignored", s->ops->name);
	}
}

static int service_open(struct service *s)
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/%s", s->dev_dir, s->ops->name);
	s->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0) {
		r = -errno;
		if (!s->missing_logged)
			log_msg(LOG_INFO, "%s: %s not available (%s); waiting for it", s->ops->name, path,
				strerror(-r));
		s->missing_logged = true;
		service_schedule_retry(s);
		return r;
	}
	s->missing_logged = false;
	r = sd_event_add_io(s->event, &s->io, s->fd, EPOLLIN, service_readable, s);
	if (r < 0) {
		service_close(s);
		return r;
	}
	log_msg(LOG_INFO, "%s: opened %s", s->ops->name, path);
	return 0;
}

int service_start(struct service *s, const struct service_ops *ops, sd_event *event,
		  const char *dev_dir)
{
	const char *why = NULL;

	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->event = event;
	s->fd = -1;
	s->dev_dir = dev_dir;
	if (ops->available && !ops->available(&why)) {
		log_msg(LOG_INFO, "%s: not served by the daemon (%s)", ops->name, why ? why : "unavailable");
		s->disabled = true;
		return 0;
	}
	service_open(s);
	return 0;
}

void service_stop(struct service *s)
{
	if (s->disabled)
		return;
	if (s->ops->stop)
		s->ops->stop(s);
	s->retry = sd_event_source_unref(s->retry);
	service_close(s);
}
