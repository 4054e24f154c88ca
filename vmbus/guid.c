// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * guid.c - comparing, printing and parsing struct vmbus_guid.
 */
#include "guid.h"

/* Positions of the dashes in the text form. */
static bool guid_dash_at(unsigned int i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

static int guid_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool vmbus_guid_equal(const struct vmbus_guid *a, const struct vmbus_guid *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

bool vmbus_guid_is_null(const struct vmbus_guid *g)
{
	static const struct vmbus_guid null_guid;

	return vmbus_guid_equal(g, &null_guid);
}

void vmbus_guid_format(const struct vmbus_guid *g, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int i, n = 0;

	for (i = 0; i < VMBUS_GUID_STRLEN; i++) {
		if (guid_dash_at(i)) {
			buf[i] = '-';
			continue;
		}
		buf[i] = hex[(n & 1) ? g->b[n / 2] & 0xf : g->b[n / 2] >> 4];
		n++;
	}
	buf[VMBUS_GUID_STRLEN] = '\0';
}

int vmbus_guid_parse(const char *s, struct vmbus_guid *ret)
{
	struct vmbus_guid g;
	unsigned int i, n = 0;

	for (i = 0; i < VMBUS_GUID_STRLEN; i++) {
		int v;

		if (guid_dash_at(i)) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		v = guid_hex_value(s[i]);
		if (v < 0)
			return -EINVAL;
		if (n & 1)
			g.b[n / 2] |= (uint8_t)v;
		else
			g.b[n / 2] = (uint8_t)(v << 4);
		n++;
	}
	if (s[VMBUS_GUID_STRLEN] != '\0')
		return -EINVAL;
	*ret = g;
	return 0;
}
