// SPDX-License-Identifier: GPL-2.0
/*
 * gpadl.h - describing guest buffers to the host (GPADL_HEADER/BODY and
 * TEARDOWN), and keeping buffers the host never let go of. The
 * driver-facing functions are declared in openvmbus.h.
 */
#ifndef OPENVMBUS_GPADL_H
#define OPENVMBUS_GPADL_H

#include "connection.h"
#include "openvmbus.h"

/* UNLOAD_DONE arrived: the host forgot every GPADL, free what it kept. */
void openvmbus_gpadl_orphans_release(struct openvmbus_conn *conn);
/* At the end of the connection: free the orphans if the host let go of them, else leak. */
void openvmbus_gpadl_orphans_exit(struct openvmbus_conn *conn);

#endif /* OPENVMBUS_GPADL_H */
