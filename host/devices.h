/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * devices.h - the ordered table of device backends the worker can serve.
 */
#ifndef HOST_DEVICES_H
#define HOST_DEVICES_H

#include "host/bus.h"

extern const struct device_ops echo_device_ops;
extern const struct device_ops heartbeat_device_ops;
extern const struct device_ops shutdown_device_ops;
extern const struct device_ops timesync_device_ops;
extern const struct device_ops kvp_device_ops;

/*
 * Ask the guest's shutdown service to power off or reboot. -ENODEV when no
 * guest service has negotiated the channel (the caller falls back to ACPI).
 */
int shutdown_device_request(struct device *dev, uint32_t action, bool force, uint32_t timeout_s,
			    const char *reason);

/* Backend by its short name (as in vmbus/classes.h), or NULL. */
const struct device_ops *devices_find(const char *name);
/* NULL-terminated list of every backend, in offer order. */
extern const struct device_ops *const devices_all[];

/* Seconds since an arbitrary start, for backends' timestamps. */
double devices_now(void);

/*
 * The worker's run directory (set before any device is added), where a backend
 * keeps what must outlive the worker (the KVP host pool); NULL in harnesses.
 */
extern const char *devices_run_dir;

#endif
