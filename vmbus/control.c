// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * control.c - the single validation table for control messages, and
 * version negotiation.
 */
#include "control.h"

/*
 * What a well-formed message looks like. A message with a variable part
 * has a uint32 count at count_off (limited to count_max); elem_size bytes
 * per element follow the fixed part (elem_size 0: the count bounds an array
 * inside the fixed part).
 */
struct vmbus_ctl_rule {
	const char *name;
	uint16_t min_len;
	uint8_t sender;
	uint8_t elem_size;
	uint16_t count_off;	/* 0: no variable part */
	uint16_t count_max;
};

#define FIXED(t, n, s, type) \
	[t] = { .name = n, .min_len = sizeof(type), .sender = s }
#define VAR(t, n, s, type, field, esize, max) \
	[t] = { .name = n, .min_len = sizeof(type), .sender = s, .elem_size = esize, \
		.count_off = offsetof(type, field), .count_max = max }

static const struct vmbus_ctl_rule vmbus_ctl_rules[VMBUS_CTL_TYPE_COUNT] = {
	FIXED(VMBUS_CTL_CONNECT, "connect", VMBUS_CTL_TO_HOST, struct vmbus_ctl_connect),
	FIXED(VMBUS_CTL_CONNECT_RESULT, "connect-result", VMBUS_CTL_TO_GUEST,
	      struct vmbus_ctl_connect_result),
	FIXED(VMBUS_CTL_REQUEST_OFFERS, "request-offers", VMBUS_CTL_TO_HOST, struct vmbus_ctl_hdr),
	VAR(VMBUS_CTL_OFFER, "offer", VMBUS_CTL_TO_GUEST, struct vmbus_ctl_offer,
	    user_len, 0, VMBUS_CTL_OFFER_USER_MAX),
	FIXED(VMBUS_CTL_OFFERS_DONE, "offers-done", VMBUS_CTL_TO_GUEST, struct vmbus_ctl_hdr),
	FIXED(VMBUS_CTL_RESCIND, "rescind", VMBUS_CTL_TO_GUEST, struct vmbus_ctl_channel),
	FIXED(VMBUS_CTL_RELEASE, "release", VMBUS_CTL_TO_HOST, struct vmbus_ctl_channel),
	VAR(VMBUS_CTL_GPADL_HEADER, "gpadl-header", VMBUS_CTL_TO_HOST,
	    struct vmbus_ctl_gpadl_header, count, 8, VMBUS_CTL_GPADL_HEADER_MAX_PFNS),
	VAR(VMBUS_CTL_GPADL_BODY, "gpadl-body", VMBUS_CTL_TO_HOST,
	    struct vmbus_ctl_gpadl_body, count, 8, VMBUS_CTL_GPADL_BODY_MAX_PFNS),
	FIXED(VMBUS_CTL_GPADL_RESULT, "gpadl-result", VMBUS_CTL_TO_GUEST,
	      struct vmbus_ctl_gpadl_result),
	FIXED(VMBUS_CTL_GPADL_TEARDOWN, "gpadl-teardown", VMBUS_CTL_TO_HOST,
	      struct vmbus_ctl_gpadl_teardown),
	FIXED(VMBUS_CTL_GPADL_TORNDOWN, "gpadl-torndown", VMBUS_CTL_TO_GUEST,
	      struct vmbus_ctl_gpadl_teardown),
	FIXED(VMBUS_CTL_OPEN, "open", VMBUS_CTL_TO_HOST, struct vmbus_ctl_open),
	FIXED(VMBUS_CTL_OPEN_RESULT, "open-result", VMBUS_CTL_TO_GUEST, struct vmbus_ctl_result),
	FIXED(VMBUS_CTL_CLOSE, "close", VMBUS_CTL_TO_HOST, struct vmbus_ctl_channel),
	FIXED(VMBUS_CTL_CLOSE_RESULT, "close-result", VMBUS_CTL_TO_GUEST, struct vmbus_ctl_result),
	FIXED(VMBUS_CTL_MODIFY, "modify", VMBUS_CTL_TO_HOST, struct vmbus_ctl_modify),
	FIXED(VMBUS_CTL_MODIFY_RESULT, "modify-result", VMBUS_CTL_TO_GUEST,
	      struct vmbus_ctl_result),
	FIXED(VMBUS_CTL_SUBCHANNEL_REQUEST, "subchannel-request", VMBUS_CTL_TO_HOST,
	      struct vmbus_ctl_subchannel),
	FIXED(VMBUS_CTL_SUBCHANNEL_RESULT, "subchannel-result", VMBUS_CTL_TO_GUEST,
	      struct vmbus_ctl_subchannel),
	FIXED(VMBUS_CTL_UNLOAD, "unload", VMBUS_CTL_TO_HOST, struct vmbus_ctl_hdr),
	FIXED(VMBUS_CTL_UNLOAD_DONE, "unload-done", VMBUS_CTL_TO_GUEST, struct vmbus_ctl_hdr),
};

static const struct vmbus_ctl_rule *vmbus_ctl_rule_for(uint32_t type)
{
	if (type == 0 || type >= VMBUS_CTL_TYPE_COUNT)
		return NULL;
	return &vmbus_ctl_rules[type];
}

const char *vmbus_ctl_name(uint32_t type)
{
	const struct vmbus_ctl_rule *rule = vmbus_ctl_rule_for(type);

	return rule ? rule->name : "unknown";
}

uint32_t vmbus_ctl_len(enum vmbus_ctl_type type, uint32_t count)
{
	const struct vmbus_ctl_rule *rule = vmbus_ctl_rule_for(type);

	if (!rule || (rule->count_off && count > rule->count_max))
		return 0;
	return rule->min_len + (rule->count_off ? count * rule->elem_size : 0);
}

int vmbus_ctl_validate(const void *msg, uint32_t len, enum vmbus_ctl_dir sender)
{
	const struct vmbus_ctl_rule *rule;
	struct vmbus_ctl_hdr hdr;
	uint32_t count;

	if (len < sizeof(hdr) || len > VMBUS_CTL_MAX_LEN)
		return -EPROTO;
	memcpy(&hdr, msg, sizeof(hdr));
	rule = vmbus_ctl_rule_for(hdr.type);
	if (!rule || rule->sender != sender || len < rule->min_len)
		return -EPROTO;
	if (rule->count_off) {
		memcpy(&count, (const uint8_t *)msg + rule->count_off, sizeof(count));
		if (count > rule->count_max)
			return -EPROTO;
		if ((uint64_t)rule->min_len + (uint64_t)count * rule->elem_size > len)
			return -EPROTO;
	}
	return (int)hdr.type;
}

int64_t vmbus_version_pick(uint32_t our_min, uint32_t our_max,
			   uint32_t peer_min, uint32_t peer_max)
{
	uint32_t lo = our_min > peer_min ? our_min : peer_min;
	uint32_t hi = our_max < peer_max ? our_max : peer_max;

	if (our_min > our_max || peer_min > peer_max || lo > hi)
		return -EPROTONOSUPPORT;
	return hi;
}
