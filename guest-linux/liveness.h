// SPDX-License-Identifier: GPL-2.0
/*
 * liveness.h - watching the host worker's heartbeat, so that channel I/O
 * fails instead of hanging once the worker is gone.
 */
#ifndef OPENVMBUS_LIVENESS_H
#define OPENVMBUS_LIVENESS_H

#include "connection.h"

/* The host counts as gone after this long without a heartbeat. */
#define OPENVMBUS_HEARTBEAT_TIMEOUT (5 * HZ)

void openvmbus_liveness_start(struct openvmbus_conn *conn);
void openvmbus_liveness_stop(struct openvmbus_conn *conn);

#endif /* OPENVMBUS_LIVENESS_H */
