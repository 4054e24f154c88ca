// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kvp_test.c - the checks and formats of vmbus/ic_kvp.h that the host,
 * the guest daemon and vmbusctl share: UTF-8 validation (refusing overlong
 * forms, surrogates, NUL, truncated sequences), the limits, entry framing
 * against short payloads, and the pool file's escaping round trip.
 */
#include "vmbus/ic_kvp.h"
#include "tests/lib/test.h"

static bool utf8(const char *s)
{
	return vmbus_kvp_utf8_valid(s, strlen(s));
}

static void test_utf8(void)
{
	CHECK(utf8(""));
	CHECK(utf8("plain ASCII"));
	CHECK(utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));	/* é € 😀 */
	CHECK(utf8("\xf4\x8f\xbf\xbf"));				/* U+10FFFF */
	CHECK(!utf8("caf\xe9"));					/* Latin-1 */
	CHECK(!utf8("\xc3"));						/* truncated */
	CHECK(!utf8("\xe2\x82"));
	CHECK(!utf8("\xc0\xaf"));					/* overlong '/' */
	CHECK(!utf8("\xe0\x80\xaf"));
	CHECK(!utf8("\xed\xa0\x80"));					/* surrogate */
	CHECK(!utf8("\xf4\x90\x80\x80"));				/* above U+10FFFF */
	CHECK(!utf8("\x80"));						/* lone continuation */
	CHECK(!utf8("\xff"));
	CHECK(!vmbus_kvp_utf8_valid("a\0b", 3));			/* NUL */
}

static void test_limits(void)
{
	static char key[VMBUS_KVP_KEY_MAX + 1], value[VMBUS_KVP_VALUE_MAX + 1];

	memset(key, 'k', sizeof(key));
	memset(value, 'v', sizeof(value));
	CHECK_EQ(vmbus_kvp_check(key, VMBUS_KVP_KEY_MAX, value, VMBUS_KVP_VALUE_MAX), 0);
	CHECK_EQ(vmbus_kvp_check(key, VMBUS_KVP_KEY_MAX + 1, value, 1), -E2BIG);
	CHECK_EQ(vmbus_kvp_check(key, 1, value, VMBUS_KVP_VALUE_MAX + 1), -E2BIG);
	CHECK_EQ(vmbus_kvp_check(key, 0, value, 1), -EINVAL);
	CHECK_EQ(vmbus_kvp_check("k", 1, "", 0), 0);
	CHECK_EQ(vmbus_kvp_check("k", 1, "\xc3\x28", 2), -EILSEQ);
}

static void test_entries(void)
{
	uint8_t buf[64];
	const uint8_t *k, *v;
	uint32_t off = 0, kl, vl, len, cut;

	CHECK_EQ(vmbus_kvp_entry_put(buf, sizeof(buf), &off, "key", 3, "value", 5), 0);
	CHECK_EQ(vmbus_kvp_entry_put(buf, sizeof(buf), &off, "k2", 2, "", 0), 0);
	len = off;
	CHECK_EQ(len, 4 + 8 + 4 + 2);
	CHECK_EQ(vmbus_kvp_entry_put(buf, sizeof(buf), &off, "x", 1, buf, 60), -ENOBUFS);
	CHECK_EQ(off, len);

	off = 0;
	CHECK_EQ(vmbus_kvp_entry_next(buf, len, &off, &k, &kl, &v, &vl), 0);
	CHECK(kl == 3 && vl == 5 && memcmp(k, "key", 3) == 0 && memcmp(v, "value", 5) == 0);
	CHECK_EQ(vmbus_kvp_entry_next(buf, len, &off, &k, &kl, &v, &vl), 0);
	CHECK(kl == 2 && vl == 0 && memcmp(k, "k2", 2) == 0);
	CHECK_EQ(off, len);
	CHECK_EQ(vmbus_kvp_entry_next(buf, len, &off, &k, &kl, &v, &vl), -EPROTO);

	/* Every truncation of the first entry is refused, never read past. */
	for (cut = 0; cut < 12; cut++) {
		off = 0;
		CHECK_EQ(vmbus_kvp_entry_next(buf, cut, &off, &k, &kl, &v, &vl), -EPROTO);
		CHECK_EQ(off, 0);
	}
	/* Lengths that add up beyond the payload (and overflow a u16 sum). */
	buf[0] = 0xff, buf[1] = 0xff, buf[2] = 0xff, buf[3] = 0xff;
	off = 0;
	CHECK_EQ(vmbus_kvp_entry_next(buf, len, &off, &k, &kl, &v, &vl), -EPROTO);
	off = 1000;
	CHECK_EQ(vmbus_kvp_entry_next(buf, len, &off, &k, &kl, &v, &vl), -EPROTO);
}

static void round_trip(const char *key, const char *value, const char *want_line)
{
	char line[3 * (VMBUS_KVP_KEY_MAX + VMBUS_KVP_VALUE_MAX) + 2], *k, *v;
	uint32_t kl, vl;
	int n;

	n = vmbus_kvp_escape(key, strlen(key), true, line, sizeof(line));
	CHECK(n > 0);
	line[n] = '=';
	CHECK(vmbus_kvp_escape(value, strlen(value), false, line + n + 1, sizeof(line) - n - 1) >= 0);
	if (want_line && strcmp(line, want_line) != 0) {
		fprintf(stderr, "escaped '%s', wanted '%s'\n", line, want_line);
		exit(1);
	}
	CHECK_EQ(vmbus_kvp_parse_line(line, strlen(line), &k, &kl, &v, &vl), 0);
	CHECK(kl == strlen(key) && memcmp(k, key, kl) == 0);
	CHECK(vl == strlen(value) && memcmp(v, value, vl) == 0);
}

static void test_pool_lines(void)
{
	char line[64], *k, *v;
	uint32_t kl, vl;
	char small[4];

	round_trip("Greeting", "hello from the host", "Greeting=hello from the host");
	round_trip("Special", "two\nlines, 100%", "Special=two%0Alines, 100%25");
	round_trip("a=b", "c=d", "a%3Db=c=d");
	round_trip("#not a comment", "x", "%23not a comment=x");
	round_trip("caf\xc3\xa9", "\xe2\x82\xac\t\x7f", "caf\xc3\xa9=\xe2\x82\xac%09%7F");
	round_trip("k", "", "k=");

	strcpy(line, "# comment");
	CHECK_EQ(vmbus_kvp_parse_line(line, strlen(line), &k, &kl, &v, &vl), 1);
	CHECK_EQ(vmbus_kvp_parse_line(line, 0, &k, &kl, &v, &vl), 1);
	strcpy(line, "no equals sign");
	CHECK_EQ(vmbus_kvp_parse_line(line, strlen(line), &k, &kl, &v, &vl), -EINVAL);
	strcpy(line, "=empty key");
	CHECK_EQ(vmbus_kvp_parse_line(line, strlen(line), &k, &kl, &v, &vl), -EINVAL);
	strcpy(line, "k=bad %4");
	CHECK_EQ(vmbus_kvp_parse_line(line, strlen(line), &k, &kl, &v, &vl), -EINVAL);
	strcpy(line, "k=%00");				/* NUL is not UTF-8 here */
	CHECK_EQ(vmbus_kvp_parse_line(line, strlen(line), &k, &kl, &v, &vl), -EINVAL);
	strcpy(line, "k=%C3%28");			/* escaped, still not UTF-8 */
	CHECK_EQ(vmbus_kvp_parse_line(line, strlen(line), &k, &kl, &v, &vl), -EINVAL);
	CHECK_EQ(vmbus_kvp_escape("abc%", 4, false, small, sizeof(small)), -ENOBUFS);
}

int main(void)
{
	test_utf8();
	test_limits();
	test_entries();
	test_pool_lines();
	printf("kvp_test: ok\n");
	return 0;
}
