// SPDX-License-Identifier: GPL-2.0
/*
 * compat.h - the only place where kernel-version differences are handled.
 * The modules are built against the Debian 12 kernel (6.1) and must keep
 * building on newer ones from the same sources (DKMS).
 */
#ifndef OPENVMBUS_COMPAT_H
#define OPENVMBUS_COMPAT_H

#include <linux/version.h>

/* struct bus_type callbacks took const pointers in 6.3 (uevent) and 6.11 (match). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define OPENVMBUS_UEVENT_DEVICE const struct device
#else
#define OPENVMBUS_UEVENT_DEVICE struct device
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define OPENVMBUS_MATCH_DRIVER const struct device_driver
#else
#define OPENVMBUS_MATCH_DRIVER struct device_driver
#endif

#endif /* OPENVMBUS_COMPAT_H */
