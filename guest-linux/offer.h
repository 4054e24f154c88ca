// SPDX-License-Identifier: GPL-2.0
/*
 * offer.h - channel management: offers, rescinds and releases, processed in
 * the order the host sent them by one worker that may sleep (device probe
 * and remove run from it).
 */
#ifndef OPENVMBUS_OFFER_H
#define OPENVMBUS_OFFER_H

#include "connection.h"

/* Events waiting for the offer worker; more from the host are dropped. */
#define OPENVMBUS_MAX_OFFER_EVENTS (2 * VMBUS_MAX_CHANNELS)

void openvmbus_offer_init(struct openvmbus_conn *conn);
/* Control handler for OFFER, OFFERS_DONE and RESCIND: queue for the offer worker. */
void openvmbus_offer_queue(struct openvmbus_conn *conn, const union vmbus_ctl_msg *m, u32 len);
/* Ask for the offers and wait (a while) until the first batch is processed. */
void openvmbus_offers_start(struct openvmbus_conn *conn);
/* Stop taking offers and remove every device; channels stay until openvmbus_offers_free(). */
void openvmbus_offers_stop(struct openvmbus_conn *conn);
/* Drop every channel object (after UNLOAD). */
void openvmbus_offers_free(struct openvmbus_conn *conn);

#endif /* OPENVMBUS_OFFER_H */
