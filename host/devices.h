/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * devices.h - the ordered table of device backends the worker can serve.
 */
#ifndef HOST_DEVICES_H
#define HOST_DEVICES_H

#include "host/bus.h"

extern const struct device_ops echo_device_ops;
extern const struct device_ops heartbeat_device_ops;

/* Backend by its short name (as in vmbus/classes.h), or NULL. */
const struct device_ops *devices_find(const char *name);
/* NULL-terminated list of every backend, in offer order. */
extern const struct device_ops *const devices_all[];

/* Seconds since an arbitrary start, for backends' timestamps. */
double devices_now(void);

#endif
