// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzz_control.c - vmbus_ctl_validate() on arbitrary bytes, from both
 * directions.
 *
 * The input is the message itself. It is validated as sent by the guest and
 * as sent by the host (and from two invalid directions), and every result
 * is compared with an independent re-statement of the rules below, written
 * from control.h rather than from the validation table. When a message is
 * accepted, every byte it claims to carry is read (the pfns of a GPADL
 * message up to count, the user bytes of an offer), so that a too-lenient
 * validator shows up as a sanitizer over-read on the exact-size buffer.
 * Any disagreement calls abort().
 */
#include <stdlib.h>

#include "vmbus/control.h"
#include "tests/fuzz/fuzz.h"

struct rule {
	uint32_t min_len;
	enum vmbus_ctl_dir sender;
};

static const struct rule rules[VMBUS_CTL_TYPE_COUNT] = {
	[VMBUS_CTL_CONNECT]		= { sizeof(struct vmbus_ctl_connect), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_CONNECT_RESULT]	= { sizeof(struct vmbus_ctl_connect_result), VMBUS_CTL_TO_GUEST },
	[VMBUS_CTL_REQUEST_OFFERS]	= { sizeof(struct vmbus_ctl_hdr), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_OFFER]		= { sizeof(struct vmbus_ctl_offer), VMBUS_CTL_TO_GUEST },
	[VMBUS_CTL_OFFERS_DONE]		= { sizeof(struct vmbus_ctl_hdr), VMBUS_CTL_TO_GUEST },
	[VMBUS_CTL_RESCIND]		= { sizeof(struct vmbus_ctl_channel), VMBUS_CTL_TO_GUEST },
	[VMBUS_CTL_RELEASE]		= { sizeof(struct vmbus_ctl_channel), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_GPADL_HEADER]	= { sizeof(struct vmbus_ctl_gpadl_header), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_GPADL_BODY]		= { sizeof(struct vmbus_ctl_gpadl_body), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_GPADL_RESULT]	= { sizeof(struct vmbus_ctl_gpadl_result), VMBUS_CTL_TO_GUEST },
	[VMBUS_CTL_GPADL_TEARDOWN]	= { sizeof(struct vmbus_ctl_gpadl_teardown), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_GPADL_TORNDOWN]	= { sizeof(struct vmbus_ctl_gpadl_teardown), VMBUS_CTL_TO_GUEST },
	[VMBUS_CTL_OPEN]		= { sizeof(struct vmbus_ctl_open), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_OPEN_RESULT]		= { sizeof(struct vmbus_ctl_result), VMBUS_CTL_TO_GUEST },
	[VMBUS_CTL_CLOSE]		= { sizeof(struct vmbus_ctl_channel), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_CLOSE_RESULT]	= { sizeof(struct vmbus_ctl_result), VMBUS_CTL_TO_GUEST },
	[VMBUS_CTL_MODIFY]		= { sizeof(struct vmbus_ctl_modify), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_MODIFY_RESULT]	= { sizeof(struct vmbus_ctl_result), VMBUS_CTL_TO_GUEST },
	[VMBUS_CTL_SUBCHANNEL_REQUEST]	= { sizeof(struct vmbus_ctl_subchannel), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_SUBCHANNEL_RESULT]	= { sizeof(struct vmbus_ctl_subchannel), VMBUS_CTL_TO_GUEST },
	[VMBUS_CTL_UNLOAD]		= { sizeof(struct vmbus_ctl_hdr), VMBUS_CTL_TO_HOST },
	[VMBUS_CTL_UNLOAD_DONE]		= { sizeof(struct vmbus_ctl_hdr), VMBUS_CTL_TO_GUEST },
};

static uint32_t get32(const uint8_t *m, size_t off)
{
	uint32_t v;

	memcpy(&v, m + off, sizeof(v));
	return v;
}

/* The rules of control.h, spelled out; returns the type or -EPROTO. */
static int expected(const uint8_t *m, uint32_t len, enum vmbus_ctl_dir sender)
{
	uint32_t type, count;

	if (len < sizeof(struct vmbus_ctl_hdr) || len > VMBUS_CTL_MAX_LEN)
		return -EPROTO;
	type = get32(m, 0);
	if (type == 0 || type >= VMBUS_CTL_TYPE_COUNT)
		return -EPROTO;
	if (rules[type].sender != sender || len < rules[type].min_len)
		return -EPROTO;
	switch (type) {
	case VMBUS_CTL_OFFER:
		if (get32(m, offsetof(struct vmbus_ctl_offer, user_len)) > VMBUS_CTL_OFFER_USER_MAX)
			return -EPROTO;
		break;
	case VMBUS_CTL_GPADL_HEADER:
		count = get32(m, offsetof(struct vmbus_ctl_gpadl_header, count));
		if (count > VMBUS_CTL_GPADL_HEADER_MAX_PFNS ||
		    sizeof(struct vmbus_ctl_gpadl_header) + (uint64_t)count * 8 > len)
			return -EPROTO;
		break;
	case VMBUS_CTL_GPADL_BODY:
		count = get32(m, offsetof(struct vmbus_ctl_gpadl_body, count));
		if (count > VMBUS_CTL_GPADL_BODY_MAX_PFNS ||
		    sizeof(struct vmbus_ctl_gpadl_body) + (uint64_t)count * 8 > len)
			return -EPROTO;
		break;
	}
	return (int)type;
}

/* Read every byte an accepted message claims to have; abort on nonsense. */
static uint64_t touch_accepted(const uint8_t *m, uint32_t len, uint32_t type)
{
	uint64_t sum = 0, pfn;
	uint32_t count, i, need;
	size_t pfn_off;

	if (len > VMBUS_CTL_MAX_LEN || len < rules[type].min_len)
		abort();
	if (vmbus_ctl_len(type, 0) != rules[type].min_len)
		abort();
	if (strcmp(vmbus_ctl_name(type), "unknown") == 0)
		abort();
	/* The fixed part. */
	for (i = 0; i < rules[type].min_len; i++)
		sum += m[i];

	switch (type) {
	case VMBUS_CTL_OFFER: {
		const size_t user = offsetof(struct vmbus_ctl_offer, user);

		count = get32(m, offsetof(struct vmbus_ctl_offer, user_len));
		if (count > VMBUS_CTL_OFFER_USER_MAX || user + count > len)
			abort();
		for (i = 0; i < count; i++)
			sum += m[user + i];
		return sum;
	}
	case VMBUS_CTL_GPADL_HEADER:
		count = get32(m, offsetof(struct vmbus_ctl_gpadl_header, count));
		if (count > VMBUS_CTL_GPADL_HEADER_MAX_PFNS)
			abort();
		pfn_off = offsetof(struct vmbus_ctl_gpadl_header, pfn);
		break;
	case VMBUS_CTL_GPADL_BODY:
		count = get32(m, offsetof(struct vmbus_ctl_gpadl_body, count));
		if (count > VMBUS_CTL_GPADL_BODY_MAX_PFNS)
			abort();
		pfn_off = offsetof(struct vmbus_ctl_gpadl_body, pfn);
		break;
	default:
		return sum;
	}
	need = vmbus_ctl_len(type, count);
	if (need != pfn_off + (uint64_t)count * 8 || need > len)
		abort();
	for (i = 0; i < count; i++) {
		memcpy(&pfn, m + pfn_off + (size_t)i * 8, sizeof(pfn));
		sum += pfn;
	}
	return sum;
}

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum vmbus_ctl_dir dirs[] = {
		VMBUS_CTL_TO_HOST, VMBUS_CTL_TO_GUEST, (enum vmbus_ctl_dir)0, (enum vmbus_ctl_dir)3,
	};
	uint8_t *m;
	uint32_t len;
	int accepted = 0;
	size_t i;

	if (size > 2 * VMBUS_CTL_MAX_LEN)
		return 0;
	len = (uint32_t)size;
	m = malloc(size ? size : 1);
	if (!m)
		abort();
	if (size)
		memcpy(m, data, size);

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int got = vmbus_ctl_validate(m, len, dirs[i]);
		int want = expected(m, len, dirs[i]);

		if (got != want)
			abort();
		if (got == -EPROTO)
			continue;
		if (got <= 0 || got >= VMBUS_CTL_TYPE_COUNT || (uint32_t)got != get32(m, 0))
			abort();
		sink += touch_accepted(m, len, (uint32_t)got);
		accepted++;
	}
	/* Each type has one sender. */
	if (accepted > 1)
		abort();
	free(m);
	return 0;
}
