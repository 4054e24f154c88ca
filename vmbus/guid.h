/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * guid.h - 128-bit identifiers for device classes and instances.
 *
 * Bytes are stored in the order they are printed (RFC 4122 / Linux uuid_t
 * order), not Microsoft's mixed-endian GUID order: the text form
 * "00112233-4455-6677-8899-aabbccddeeff" is bytes 00 11 22 ... ff.
 */
#ifndef VMBUS_GUID_H
#define VMBUS_GUID_H

#include "platform.h"

struct vmbus_guid {
	uint8_t b[16];
};

#define VMBUS_GUID_STRLEN 36	/* without the terminating NUL */

/* VMBUS_GUID_INIT(0x00112233, 0x4455, 0x6677, 0x8899, 0xaabbccddeeffULL) */
#define VMBUS_GUID_INIT(a, b, c, d, e) ((struct vmbus_guid){ {		\
	((a) >> 24) & 0xff, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, (a) & 0xff, \
	((b) >> 8) & 0xff, (b) & 0xff, ((c) >> 8) & 0xff, (c) & 0xff,	\
	((d) >> 8) & 0xff, (d) & 0xff,					\
	((e) >> 40) & 0xff, ((e) >> 32) & 0xff, ((e) >> 24) & 0xff,	\
	((e) >> 16) & 0xff, ((e) >> 8) & 0xff, (e) & 0xff } })

bool vmbus_guid_equal(const struct vmbus_guid *a, const struct vmbus_guid *b);
bool vmbus_guid_is_null(const struct vmbus_guid *g);
/* Writes VMBUS_GUID_STRLEN + 1 bytes (lower-case hex, NUL-terminated). */
void vmbus_guid_format(const struct vmbus_guid *g, char *buf);
/* Parses exactly the 36-character form (either case); -EINVAL otherwise. */
int vmbus_guid_parse(const char *s, struct vmbus_guid *ret);

#endif /* VMBUS_GUID_H */
