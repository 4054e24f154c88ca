// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * guid_test.c - struct vmbus_guid: printing, parsing (and refusing), the
 * byte order of VMBUS_GUID_INIT, equality and the null GUID.
 *
 * Strings handed to vmbus_guid_parse() are heap copies of exactly
 * strlen + 1 bytes, so the sanitizer build catches reads past the NUL.
 */
#include <ctype.h>

#include "vmbus/guid.h"
#include "tests/lib/test.h"

static bool is_dash_pos(unsigned int i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

static int parse_exact(const char *s, struct vmbus_guid *g)
{
	size_t n = strlen(s) + 1;
	char *copy = malloc(n);
	int ret;

	CHECK(copy != NULL);
	memcpy(copy, s, n);
	ret = vmbus_guid_parse(copy, g);
	free(copy);
	return ret;
}

/* Parse must fail and leave *g alone. */
static void expect_reject(const char *s)
{
	struct vmbus_guid g, before;

	memset(&g, 0x5a, sizeof(g));
	before = g;
	if (parse_exact(s, &g) != -EINVAL) {
		fprintf(stderr, "accepted \"%s\"\n", s);
		exit(1);
	}
	CHECK(vmbus_guid_equal(&g, &before));
}

static void test_known_value(void)
{
	static const uint8_t want[16] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	};
	const struct vmbus_guid init =
		VMBUS_GUID_INIT(0x00112233, 0x4455, 0x6677, 0x8899, 0xaabbccddeeffULL);
	struct vmbus_guid parsed;
	char buf[VMBUS_GUID_STRLEN + 1];

	CHECK_EQ(VMBUS_GUID_STRLEN, 36);
	CHECK_EQ(sizeof(struct vmbus_guid), 16);
	/* Bytes in printed order, as guid.h documents. */
	CHECK(memcmp(init.b, want, 16) == 0);
	CHECK_EQ(parse_exact("00112233-4455-6677-8899-aabbccddeeff", &parsed), 0);
	CHECK(memcmp(parsed.b, want, 16) == 0);
	CHECK(vmbus_guid_equal(&init, &parsed));
	vmbus_guid_format(&init, buf);
	CHECK(strcmp(buf, "00112233-4455-6677-8899-aabbccddeeff") == 0);

	/* A real class id (Hyper-V network), with high bits in every field. */
	{
		const struct vmbus_guid net =
			VMBUS_GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, 0x913f, 0xf2d2f965ed0eULL);
		static const uint8_t net_bytes[16] = {
			0xf8, 0x61, 0x51, 0x63, 0xdf, 0x3e, 0x46, 0xc5,
			0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e,
		};

		CHECK(memcmp(net.b, net_bytes, 16) == 0);
		CHECK_EQ(parse_exact("f8615163-df3e-46c5-913f-f2d2f965ed0e", &parsed), 0);
		CHECK(vmbus_guid_equal(&net, &parsed));
		CHECK_EQ(parse_exact("F8615163-DF3E-46C5-913F-F2D2F965ED0E", &parsed), 0);
		CHECK(vmbus_guid_equal(&net, &parsed));
		CHECK_EQ(parse_exact("f8615163-DF3E-46c5-913F-f2D2f965Ed0E", &parsed), 0);
		CHECK(vmbus_guid_equal(&net, &parsed));
		vmbus_guid_format(&net, buf);
		CHECK(strcmp(buf, "f8615163-df3e-46c5-913f-f2d2f965ed0e") == 0);
	}
	/* All ones and all zeroes. */
	{
		const struct vmbus_guid ones =
			VMBUS_GUID_INIT(0xffffffff, 0xffff, 0xffff, 0xffff, 0xffffffffffffULL);
		const struct vmbus_guid zero = VMBUS_GUID_INIT(0, 0, 0, 0, 0ULL);
		unsigned int i;

		for (i = 0; i < 16; i++)
			CHECK_EQ(ones.b[i], 0xff);
		CHECK(vmbus_guid_is_null(&zero));
		vmbus_guid_format(&ones, buf);
		CHECK(strcmp(buf, "ffffffff-ffff-ffff-ffff-ffffffffffff") == 0);
		vmbus_guid_format(&zero, buf);
		CHECK(strcmp(buf, "00000000-0000-0000-0000-000000000000") == 0);
	}
}

static void test_round_trip(void)
{
	struct test_rng rng;
	unsigned int n, i;

	test_rng_seed(&rng, 0x6a1d);
	for (n = 0; n < 20000; n++) {
		struct vmbus_guid g, back;
		char buf[VMBUS_GUID_STRLEN + 2], upper[VMBUS_GUID_STRLEN + 1];

		test_rng_fill(&rng, g.b, sizeof(g.b));
		if (n < 16) {	/* one byte set, the rest zero */
			memset(g.b, 0, sizeof(g.b));
			g.b[n] = (uint8_t)(0x80 | n);
		}
		buf[VMBUS_GUID_STRLEN + 1] = 'X';
		vmbus_guid_format(&g, buf);
		CHECK_EQ(buf[VMBUS_GUID_STRLEN], '\0');
		CHECK_EQ(buf[VMBUS_GUID_STRLEN + 1], 'X');	/* writes exactly 37 bytes */
		CHECK_EQ(strlen(buf), VMBUS_GUID_STRLEN);
		for (i = 0; i < VMBUS_GUID_STRLEN; i++) {
			if (is_dash_pos(i))
				CHECK_EQ(buf[i], '-');
			else
				CHECK((buf[i] >= '0' && buf[i] <= '9') ||
				      (buf[i] >= 'a' && buf[i] <= 'f'));
		}
		/* The first two hex digits are the first byte. */
		CHECK_EQ(strtoul((char[]){ buf[0], buf[1], 0 }, NULL, 16), g.b[0]);
		memset(&back, 0, sizeof(back));
		CHECK_EQ(parse_exact(buf, &back), 0);
		CHECK(vmbus_guid_equal(&g, &back));
		for (i = 0; i <= VMBUS_GUID_STRLEN; i++)
			upper[i] = (char)toupper((unsigned char)buf[i]);
		memset(&back, 0, sizeof(back));
		CHECK_EQ(parse_exact(upper, &back), 0);
		CHECK(vmbus_guid_equal(&g, &back));
	}
}

static void test_rejects(void)
{
	static const char good[] = "0a1b2c3d-4e5f-6a7b-8c9d-aebfc0d1e2f3";
	static const char bad_chars[] = "gGzZxX -_+.:/{}@`[\x7f\x80\xff";
	char s[64];
	unsigned int i, j;

	CHECK_EQ(strlen(good), VMBUS_GUID_STRLEN);
	{
		struct vmbus_guid g;

		CHECK_EQ(parse_exact(good, &g), 0);
	}

	/* Wrong lengths: every prefix, and longer strings. */
	for (i = 0; i < VMBUS_GUID_STRLEN; i++) {
		memcpy(s, good, i);
		s[i] = '\0';
		expect_reject(s);
	}
	expect_reject("");
	snprintf(s, sizeof(s), "%s0", good);
	expect_reject(s);
	snprintf(s, sizeof(s), "%s-", good);
	expect_reject(s);
	snprintf(s, sizeof(s), "%s ", good);
	expect_reject(s);
	snprintf(s, sizeof(s), "%s\n", good);
	expect_reject(s);
	snprintf(s, sizeof(s), "%s}", good);
	expect_reject(s);
	snprintf(s, sizeof(s), "{%s}", good);
	expect_reject(s);
	snprintf(s, sizeof(s), " %s", good);
	expect_reject(s);
	expect_reject("0a1b2c3d4e5f6a7b8c9daebfc0d1e2f3");		/* no dashes */
	expect_reject("0a1b2c3d4e5f6a7b8c9daebfc0d1e2f30000");	/* 36, no dashes */

	/* Each character replaced by something that does not belong there. */
	for (i = 0; i < VMBUS_GUID_STRLEN; i++) {
		for (j = 0; j < sizeof(bad_chars) - 1; j++) {
			if (bad_chars[j] == '-' && is_dash_pos(i))
				continue;
			memcpy(s, good, sizeof(good));
			s[i] = bad_chars[j];
			expect_reject(s);
		}
		memcpy(s, good, sizeof(good));
		s[i] = is_dash_pos(i) ? 'a' : '-';	/* missing or extra dash */
		expect_reject(s);
		if (is_dash_pos(i)) {
			s[i] = '0';
			expect_reject(s);
		}
	}
	/* A dash moved by one position either way. */
	for (i = 0; i < VMBUS_GUID_STRLEN; i++) {
		if (!is_dash_pos(i))
			continue;
		memcpy(s, good, sizeof(good));
		s[i] = s[i - 1];
		s[i - 1] = '-';
		expect_reject(s);
		memcpy(s, good, sizeof(good));
		s[i] = s[i + 1];
		s[i + 1] = '-';
		expect_reject(s);
	}
	/* Dashes everywhere but right. */
	expect_reject("00112233-44556677-8899-aabb-ccddeeff");
	expect_reject("0011223-34455-6677-8899-aabbccddeeff");
	expect_reject("00112233-4455-6677-8899aabbccddeeff-");
	expect_reject("------------------------------------");
	/* "0x" prefixes and signs, as strtoul would take them. */
	expect_reject("0x112233-4455-6677-8899-aabbccddeeff");
	expect_reject("+0112233-4455-6677-8899-aabbccddeeff");
	/* An embedded NUL ends the string early. */
	memcpy(s, good, sizeof(good));
	s[20] = '\0';
	expect_reject(s);
}

static void test_equal_null(void)
{
	struct vmbus_guid zero, a, b;
	unsigned int i, bit;

	memset(&zero, 0, sizeof(zero));
	CHECK(vmbus_guid_is_null(&zero));
	CHECK(vmbus_guid_equal(&zero, &zero));
	CHECK_EQ(parse_exact("00000000-0000-0000-0000-000000000000", &a), 0);
	CHECK(vmbus_guid_is_null(&a));
	for (i = 0; i < 16; i++) {
		for (bit = 0; bit < 8; bit++) {
			memset(&a, 0, sizeof(a));
			a.b[i] = (uint8_t)(1u << bit);
			CHECK(!vmbus_guid_is_null(&a));
			CHECK(!vmbus_guid_equal(&a, &zero));
			CHECK(!vmbus_guid_equal(&zero, &a));
		}
	}
	memset(&a, 0xa5, sizeof(a));
	b = a;
	CHECK(vmbus_guid_equal(&a, &b));
	CHECK(vmbus_guid_equal(&b, &a));
	CHECK(!vmbus_guid_is_null(&a));
	for (i = 0; i < 16; i++) {
		b = a;
		b.b[i] ^= 0x80;
		CHECK(!vmbus_guid_equal(&a, &b));
		CHECK(!vmbus_guid_equal(&b, &a));
		b.b[i] ^= 0x80;
		CHECK(vmbus_guid_equal(&a, &b));
	}
}

int main(void)
{
	test_known_value();
	test_round_trip();
	test_rejects();
	test_equal_null();
	printf("guid_test: ok\n");
	return 0;
}
