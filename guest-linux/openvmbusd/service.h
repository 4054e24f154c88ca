/* SPDX-License-Identifier: GPL-2.0 */
/*
 * service.h - how openvmbusd serves one integration service: a device file
 * /dev/openvmbus/<name> (one packet per read/write), a handler for each
 * message from the host, and a shared reopen policy when the channel is
 * reset, rescinded or not there yet.
 */
#ifndef OPENVMBUSD_SERVICE_H
#define OPENVMBUSD_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "vmbus/ic.h"

#define SERVICE_MSG_MAX 4096

struct service;

struct service_ops {
	const char *name;		/* /dev/openvmbus/<name> */
	uint32_t version_min, version_max;
	/* One message from the host (IC frame checked); answer with service_reply(). */
	void (*handle)(struct service *s, const struct vmbus_ic_hdr *h, const uint8_t *payload);
	/* Optional: a version was just negotiated (the service may start sending). */
	void (*connected)(struct service *s);
	/* Optional: the channel closed (reset, rescind, bus gone); version is 0 again. */
	void (*disconnected)(struct service *s);
	/*
	 * Optional: false when this guest cannot serve the service (e.g. no
	 * systemd for shutdown): the daemon leaves the device alone so the
	 * kernel's fallback answers. Asked once at start; why gets a reason.
	 */
	bool (*available)(const char **why);
	/*
	 * Optional: the host worker stopped answering (no heartbeat for 5 s,
	 * or it is stopping; the kernel reports EPOLLPRI), seen while the
	 * service watched for it with service_watch_host(). Once per watch.
	 */
	void (*host_silent)(struct service *s);
	/* Optional: the daemon stops (state to save, timers to drop). */
	void (*stop)(struct service *s);
	void *priv;			/* the service's own state */
};

struct service {
	const struct service_ops *ops;
	sd_event *event;
	sd_event_source *io, *retry;
	int fd;
	uint32_t version;		/* negotiated, 0 before */
	uint64_t messages;
	const char *dev_dir;
	bool missing_logged;
	bool disabled;			/* ops->available said no */
	void *priv;			/* per-instance state of the service */
};

int service_start(struct service *s, const struct service_ops *ops, sd_event *event,
		  const char *dev_dir);
void service_stop(struct service *s);
/*
 * Watch for the host worker to stop answering (ops->host_silent), or stop
 * watching. Off after each report and whenever the device is reopened.
 */
void service_watch_host(struct service *s, bool on);
/* Send the answer to request h with status and payload. */
int service_reply(struct service *s, const struct vmbus_ic_hdr *h, int32_t status,
		  const void *payload, uint32_t len);

extern const struct service_ops heartbeat_service_ops;
extern const struct service_ops shutdown_service_ops;
extern const struct service_ops kvp_service_ops;
extern const struct service_ops backup_service_ops;

/*
 * True while the backup service holds filesystems frozen: nothing may be
 * written to disk (backup.c). kvp_pool_flush_held() writes the KVP pool
 * file if a change came meanwhile (kvp.c); the backup service calls it
 * after every thaw.
 */
bool backup_frozen(void);
void kvp_pool_flush_held(void);

/*
 * `openvmbusd --kvp-get KEY` (key) / `--kvp-list` (NULL): print what the
 * host set for this guest, from the pool file the daemon keeps. -ENOENT
 * for a key the host has not set.
 */
int kvp_pool_query(const char *key);

#endif
