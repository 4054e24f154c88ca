/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvp_publish.h - what the guest tells the host about itself through KVP
 * (the guest pool): OS name and version from os-release, kernel, host
 * name, addresses per interface (rtnetlink), uptime, openvmbus version.
 * Key names: docs/protocol/kvp.md.
 */
#ifndef OPENVMBUSD_KVP_PUBLISH_H
#define OPENVMBUSD_KVP_PUBLISH_H

#include <stdint.h>

#include "vmbus/ic_kvp.h"

struct kvp_item {
	uint16_t key_len, value_len;
	char key[VMBUS_KVP_KEY_MAX + 1];
	char value[VMBUS_KVP_VALUE_MAX + 1];
	uint64_t mark;			/* host pool: the sync that last set it */
};

struct kvp_items {
	uint32_t n;
	struct kvp_item item[VMBUS_KVP_POOL_MAX];
};

/* Find key, or NULL. */
struct kvp_item *kvp_items_find(struct kvp_items *p, const void *key, uint32_t key_len);
/* Set key (checked by vmbus_kvp_check) to value; -ENOSPC when full, or the check's error. */
int kvp_items_set(struct kvp_items *p, const void *key, uint32_t key_len, const void *value,
		  uint32_t value_len, struct kvp_item **ret);
void kvp_items_delete(struct kvp_items *p, struct kvp_item *it);

/* Fill p with what this guest publishes now (p is emptied first). */
void kvp_publish_collect(struct kvp_items *p);

#endif
