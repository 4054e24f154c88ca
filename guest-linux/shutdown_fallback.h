/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shutdown_fallback.h - the kernel's own answer to the host's shutdown
 * service while no daemon (openvmbusd) holds /dev/openvmbus/shutdown: it
 * negotiates the protocol and powers off or reboots through the kernel's
 * orderly path (docs/protocol/shutdown.md, "Kernel fallback").
 */
#ifndef OPENVMBUS_SHUTDOWN_FALLBACK_H
#define OPENVMBUS_SHUTDOWN_FALLBACK_H

#include "openvmbus.h"

/* One message from the host, already copied out of the ring (process context). */
void uchan_shutdown_fallback_message(struct openvmbus_channel *ch, struct device *dev,
				     const void *msg, u32 len);
/* Module exit: drop a forced power-off that is still waiting. */
void uchan_shutdown_fallback_exit(void);

#endif
