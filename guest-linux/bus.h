// SPDX-License-Identifier: GPL-2.0
/*
 * bus.h - the "openvmbus" bus type: one device per primary channel,
 * matched to drivers by class GUID, with its sysfs attributes; and handing
 * sub-channels to the driver of their primary.
 */
#ifndef OPENVMBUS_BUS_H
#define OPENVMBUS_BUS_H

#include "channel.h"

int openvmbus_bus_register(void);
void openvmbus_bus_unregister(void);

/* Create and register the device of a primary channel (offer worker only). */
int openvmbus_device_add(struct openvmbus_channel *primary);
/* Unregister it: the driver's remove runs, leftover channels are closed. */
void openvmbus_device_remove(struct openvmbus_channel *primary);
/* A sub-channel was offered / rescinded: tell the primary's driver (offer worker only). */
void openvmbus_device_sc_offer(struct openvmbus_channel *sc);
void openvmbus_device_sc_rescind(struct openvmbus_channel *sc);
/* Forget a sub-channel still on its primary's list (bus teardown). */
void openvmbus_device_sc_forget(struct openvmbus_channel *sc);

#endif /* OPENVMBUS_BUS_H */
