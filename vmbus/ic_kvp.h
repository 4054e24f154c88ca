/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ic_kvp.h - the key-value exchange (KVP) integration service: wire
 * format, limits, and the checks both sides apply to every entry
 * (docs/protocol/kvp.md).
 *
 * Two pools of key/value pairs:
 *   - the host pool: set by the host (vmbusctl kvp NAME set), kept by the
 *     guest in a file its users can read;
 *   - the guest pool: what the guest publishes about itself (OS, kernel,
 *     host name, addresses, uptime, ...), read by the host.
 *
 * The host drives everything with one request in flight at a time:
 * SYNC_BEGIN / SET... / SYNC_END to replace the guest's copy of the host
 * pool after each connection, SET and DELETE for single changes, and
 * ENUMERATE (paged, with a generation number so an unchanged pool costs
 * one small message) to read the guest pool. Every message is
 * struct vmbus_ic_hdr (type VMBUS_IC_KVP) + struct vmbus_ic_kvp_msg +
 * `count` entries, each struct vmbus_kvp_entry + key + value, unpadded.
 */
#ifndef VMBUS_IC_KVP_H
#define VMBUS_IC_KVP_H

#include "ic.h"

#define VMBUS_IC_KVP_VERSION_1	VMBUS_VERSION(1, 0)

#define VMBUS_KVP_KEY_MAX	512u	/* bytes of UTF-8, at least 1, no NUL */
#define VMBUS_KVP_VALUE_MAX	2048u	/* bytes of UTF-8, may be empty, no NUL */
#define VMBUS_KVP_POOL_MAX	1024u	/* entries per pool */

enum vmbus_kvp_op {
	VMBUS_KVP_SET		= 1,	/* h->g: one entry into the host pool */
	VMBUS_KVP_DELETE	= 2,	/* h->g: one key (value_len 0) out of the host pool */
	VMBUS_KVP_SYNC_BEGIN	= 3,	/* h->g: the whole host pool follows as SETs */
	VMBUS_KVP_SYNC_END	= 4,	/* h->g: drop host-pool keys not SET since SYNC_BEGIN */
	VMBUS_KVP_ENUMERATE	= 5,	/* h->g: entries of the guest pool from `index` */
};

enum vmbus_kvp_pool {
	VMBUS_KVP_POOL_HOST	= 0,	/* host -> guest */
	VMBUS_KVP_POOL_GUEST	= 1,	/* guest -> host */
};

/* ENUMERATE answer flag: the pool still has the generation the host named. */
#define VMBUS_KVP_F_UNCHANGED	0x1u

struct vmbus_ic_kvp_msg {
	uint32_t op;		/* enum vmbus_kvp_op, echoed by the answer */
	uint32_t pool;		/* enum vmbus_kvp_pool */
	uint32_t index;		/* ENUMERATE: first entry wanted / sent */
	uint32_t count;		/* entries following this struct */
	uint32_t total;		/* ENUMERATE answer: entries in the pool */
	uint32_t flags;		/* ENUMERATE answer: VMBUS_KVP_F_* */
	uint64_t generation;	/* ENUMERATE: request: the generation the host has
				 * (0: none); answer: the pool's generation */
};
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_ic_kvp_msg) == 32, "KVP message header is 32 bytes");

struct vmbus_kvp_entry {
	uint16_t key_len;
	uint16_t value_len;
	/* key_len bytes of key, then value_len bytes of value */
};

/* The largest entry fits one IC message (4096 bytes) with both headers. */
#define VMBUS_KVP_ENTRY_SIZE(klen, vlen) (sizeof(struct vmbus_kvp_entry) + (klen) + (vlen))
VMBUS_STATIC_ASSERT(sizeof(struct vmbus_ic_hdr) + sizeof(struct vmbus_ic_kvp_msg) +
		    VMBUS_KVP_ENTRY_SIZE(VMBUS_KVP_KEY_MAX, VMBUS_KVP_VALUE_MAX) <= 4096,
		    "one KVP entry fits one IC message");

/*
 * Is buf[0..len) valid UTF-8 without NUL? Rejects overlong forms,
 * surrogates and code points above U+10FFFF.
 */
static inline bool vmbus_kvp_utf8_valid(const void *buf, size_t len)
{
	const uint8_t *s = buf;
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp, min;
		unsigned int n, k;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/*
 * Is this a key/value pair either side accepts? 0, -EINVAL (empty key),
 * -E2BIG (key over 512 or value over 2048 bytes), -EILSEQ (not UTF-8, or
 * a NUL byte).
 */
static inline int vmbus_kvp_check(const void *key, size_t key_len, const void *value,
				  size_t value_len)
{
	if (!key_len)
		return -EINVAL;
	if (key_len > VMBUS_KVP_KEY_MAX || value_len > VMBUS_KVP_VALUE_MAX)
		return -E2BIG;
	if (!vmbus_kvp_utf8_valid(key, key_len) || !vmbus_kvp_utf8_valid(value, value_len))
		return -EILSEQ;
	return 0;
}

/*
 * Take the entry at *off of payload[0..len): its key and value (pointers
 * into payload, not NUL-terminated) and lengths; *off moves past it.
 * -EPROTO when the entry does not fit the payload (a malformed frame).
 * The content is not checked: that is vmbus_kvp_check()'s job.
 */
static inline int vmbus_kvp_entry_next(const uint8_t *payload, uint32_t len, uint32_t *off,
				       const uint8_t **ret_key, uint32_t *ret_key_len,
				       const uint8_t **ret_value, uint32_t *ret_value_len)
{
	struct vmbus_kvp_entry e;
	uint32_t o = *off;

	if (o > len || len - o < sizeof(e))
		return -EPROTO;
	memcpy(&e, payload + o, sizeof(e));
	o += sizeof(e);
	if ((uint32_t)e.key_len + e.value_len > len - o)
		return -EPROTO;
	*ret_key = payload + o;
	*ret_key_len = e.key_len;
	*ret_value = payload + o + e.key_len;
	*ret_value_len = e.value_len;
	*off = o + e.key_len + e.value_len;
	return 0;
}

/*
 * Append one entry at *off of buf[0..n). -ENOBUFS when it does not fit
 * (nothing written). The caller has checked the lengths.
 */
static inline int vmbus_kvp_entry_put(uint8_t *buf, uint32_t n, uint32_t *off,
				      const void *key, uint32_t key_len,
				      const void *value, uint32_t value_len)
{
	struct vmbus_kvp_entry e = { (uint16_t)key_len, (uint16_t)value_len };
	uint32_t need = (uint32_t)VMBUS_KVP_ENTRY_SIZE(key_len, value_len);

	if (*off > n || n - *off < need)
		return -ENOBUFS;
	memcpy(buf + *off, &e, sizeof(e));
	memcpy(buf + *off + sizeof(e), key, key_len);
	if (value_len)
		memcpy(buf + *off + sizeof(e) + key_len, value, value_len);
	*off += need;
	return 0;
}

/*
 * The text form of pool files (both sides keep one; docs/protocol/kvp.md):
 * one "KEY=VALUE" line per entry, '#' lines are comments. Bytes below
 * 0x20, DEL and '%' are written %XX, and so are '=' in keys and a '#'
 * starting a key, so every line reads back as it was.
 *
 * Escape src[0..len) into dst (n bytes, NUL-terminated); returns the
 * length or -ENOBUFS. 3 * len + 1 bytes are always enough.
 */
static inline int vmbus_kvp_escape(const void *src, size_t len, bool is_key, char *dst, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const uint8_t *s = src;
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		uint8_t c = s[i];
		bool esc = c < 0x20 || c == 0x7f || c == '%' ||
			   (is_key && (c == '=' || (i == 0 && c == '#')));

		if (o + (esc ? 3 : 1) >= n)
			return -ENOBUFS;
		if (esc) {
			dst[o++] = '%';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	if (o >= n)
		return -ENOBUFS;
	dst[o] = '\0';
	return (int)o;
}

static inline int vmbus_kvp_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undo vmbus_kvp_escape() in place over s[0..len); returns the new length or -EINVAL. */
static inline int vmbus_kvp_unescape(char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			s[o++] = s[i];
			continue;
		}
		if (len - i < 3 || vmbus_kvp_hex(s[i + 1]) < 0 || vmbus_kvp_hex(s[i + 2]) < 0)
			return -EINVAL;
		s[o++] = (char)(vmbus_kvp_hex(s[i + 1]) << 4 | vmbus_kvp_hex(s[i + 2]));
		i += 2;
	}
	return (int)o;
}

/*
 * Parse one line of a pool file in place (without its '\n'): 0 with the
 * unescaped key and value (pointers into line) for an entry that passes
 * vmbus_kvp_check(), 1 for a blank or comment line, -EINVAL otherwise.
 */
static inline int vmbus_kvp_parse_line(char *line, size_t len, char **ret_key, uint32_t *ret_key_len,
				       char **ret_value, uint32_t *ret_value_len)
{
	char *eq;
	int klen, vlen;

	if (!len || line[0] == '#')
		return 1;
	eq = memchr(line, '=', len);
	if (!eq)
		return -EINVAL;
	klen = vmbus_kvp_unescape(line, (size_t)(eq - line));
	vlen = vmbus_kvp_unescape(eq + 1, (size_t)(line + len - eq - 1));
	if (klen < 0 || vlen < 0 || vmbus_kvp_check(line, (size_t)klen, eq + 1, (size_t)vlen) < 0)
		return -EINVAL;
	line[klen] = '\0';
	eq[1 + vlen] = '\0';
	*ret_key = line;
	*ret_key_len = (uint32_t)klen;
	*ret_value = eq + 1;
	*ret_value_len = (uint32_t)vlen;
	return 0;
}

#endif /* VMBUS_IC_KVP_H */
