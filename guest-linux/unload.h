// SPDX-License-Identifier: GPL-2.0
/*
 * unload.h - leaving the bus: UNLOAD before the guest goes away (module
 * removal, shutdown, reboot, kexec, panic), so that the host closes every
 * channel and stops touching guest memory.
 */
#ifndef OPENVMBUS_UNLOAD_H
#define OPENVMBUS_UNLOAD_H

#include "connection.h"

/* Send UNLOAD and wait for UNLOAD_DONE (sleeps). Afterwards the bus is unusable. */
int openvmbus_unload(struct openvmbus_conn *conn);
/* Unload from the panic notifier too. */
void openvmbus_unload_init(struct openvmbus_conn *conn);
void openvmbus_unload_exit(struct openvmbus_conn *conn);

#endif /* OPENVMBUS_UNLOAD_H */
