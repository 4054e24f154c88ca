// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * control_test.c - vmbus_ctl_validate() against an independent table of
 * every control message (minimum length from the wire structures, sender,
 * variable part), vmbus_ctl_len(), vmbus_ctl_name() and
 * vmbus_version_pick().
 *
 * Every message handed to vmbus_ctl_validate() lives in a heap buffer of
 * exactly the length passed, so the sanitizer build catches any over-read.
 */
#include "vmbus/control.h"
#include "tests/lib/test.h"

enum var_kind { VAR_NONE, VAR_OFFER, VAR_GPADL_HEADER, VAR_GPADL_BODY };

struct expect {
	uint32_t type;
	const char *name;
	uint32_t min_len;
	enum vmbus_ctl_dir sender;
	enum var_kind var;
};

#define E(t, n, s, d, v) { t, n, sizeof(s), d, v }
static const struct expect expects[] = {
	E(VMBUS_CTL_CONNECT, "connect", struct vmbus_ctl_connect, VMBUS_CTL_TO_HOST, VAR_NONE),
	E(VMBUS_CTL_CONNECT_RESULT, "connect-result", struct vmbus_ctl_connect_result,
	  VMBUS_CTL_TO_GUEST, VAR_NONE),
	E(VMBUS_CTL_REQUEST_OFFERS, "request-offers", struct vmbus_ctl_hdr,
	  VMBUS_CTL_TO_HOST, VAR_NONE),
	E(VMBUS_CTL_OFFER, "offer", struct vmbus_ctl_offer, VMBUS_CTL_TO_GUEST, VAR_OFFER),
	E(VMBUS_CTL_OFFERS_DONE, "offers-done", struct vmbus_ctl_hdr, VMBUS_CTL_TO_GUEST, VAR_NONE),
	E(VMBUS_CTL_RESCIND, "rescind", struct vmbus_ctl_channel, VMBUS_CTL_TO_GUEST, VAR_NONE),
	E(VMBUS_CTL_RELEASE, "release", struct vmbus_ctl_channel, VMBUS_CTL_TO_HOST, VAR_NONE),
	E(VMBUS_CTL_GPADL_HEADER, "gpadl-header", struct vmbus_ctl_gpadl_header,
	  VMBUS_CTL_TO_HOST, VAR_GPADL_HEADER),
	E(VMBUS_CTL_GPADL_BODY, "gpadl-body", struct vmbus_ctl_gpadl_body,
	  VMBUS_CTL_TO_HOST, VAR_GPADL_BODY),
	E(VMBUS_CTL_GPADL_RESULT, "gpadl-result", struct vmbus_ctl_gpadl_result,
	  VMBUS_CTL_TO_GUEST, VAR_NONE),
	E(VMBUS_CTL_GPADL_TEARDOWN, "gpadl-teardown", struct vmbus_ctl_gpadl_teardown,
	  VMBUS_CTL_TO_HOST, VAR_NONE),
	E(VMBUS_CTL_GPADL_TORNDOWN, "gpadl-torndown", struct vmbus_ctl_gpadl_teardown,
	  VMBUS_CTL_TO_GUEST, VAR_NONE),
	E(VMBUS_CTL_OPEN, "open", struct vmbus_ctl_open, VMBUS_CTL_TO_HOST, VAR_NONE),
	E(VMBUS_CTL_OPEN_RESULT, "open-result", struct vmbus_ctl_result,
	  VMBUS_CTL_TO_GUEST, VAR_NONE),
	E(VMBUS_CTL_CLOSE, "close", struct vmbus_ctl_channel, VMBUS_CTL_TO_HOST, VAR_NONE),
	E(VMBUS_CTL_CLOSE_RESULT, "close-result", struct vmbus_ctl_result,
	  VMBUS_CTL_TO_GUEST, VAR_NONE),
	E(VMBUS_CTL_MODIFY, "modify", struct vmbus_ctl_modify, VMBUS_CTL_TO_HOST, VAR_NONE),
	E(VMBUS_CTL_MODIFY_RESULT, "modify-result", struct vmbus_ctl_result,
	  VMBUS_CTL_TO_GUEST, VAR_NONE),
	E(VMBUS_CTL_SUBCHANNEL_REQUEST, "subchannel-request", struct vmbus_ctl_subchannel,
	  VMBUS_CTL_TO_HOST, VAR_NONE),
	E(VMBUS_CTL_SUBCHANNEL_RESULT, "subchannel-result", struct vmbus_ctl_subchannel,
	  VMBUS_CTL_TO_GUEST, VAR_NONE),
	E(VMBUS_CTL_UNLOAD, "unload", struct vmbus_ctl_hdr, VMBUS_CTL_TO_HOST, VAR_NONE),
	E(VMBUS_CTL_UNLOAD_DONE, "unload-done", struct vmbus_ctl_hdr, VMBUS_CTL_TO_GUEST, VAR_NONE),
};
#define NEXPECTS (sizeof(expects) / sizeof(expects[0]))

static enum vmbus_ctl_dir other_dir(enum vmbus_ctl_dir d)
{
	return d == VMBUS_CTL_TO_HOST ? VMBUS_CTL_TO_GUEST : VMBUS_CTL_TO_HOST;
}

/* A zeroed heap message of exactly len bytes (at least 1 allocated byte). */
static uint8_t *msg_new(uint32_t len, uint32_t type)
{
	uint8_t *m = calloc(1, len ? len : 1);

	CHECK(m != NULL);
	if (len >= 4)
		memcpy(m, &type, 4);
	else
		memcpy(m, &type, len);
	return m;
}

static void put32(uint8_t *m, size_t off, uint32_t v)
{
	memcpy(m + off, &v, 4);
}

/* Validate a copy of m[0..len) held in an exact-size heap buffer. */
static int validate_exact(const uint8_t *m, uint32_t len, enum vmbus_ctl_dir dir)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	CHECK(copy != NULL);
	memcpy(copy, m, len);
	ret = vmbus_ctl_validate(copy, len, dir);
	free(copy);
	return ret;
}

static void test_table_is_complete(void)
{
	uint32_t t;

	/* The test table covers every type of the enum, in order. */
	CHECK_EQ(NEXPECTS, VMBUS_CTL_TYPE_COUNT - 1);
	for (t = 0; t < NEXPECTS; t++)
		CHECK_EQ(expects[t].type, t + 1);
}

static void test_minimum_lengths(void)
{
	size_t i;

	for (i = 0; i < NEXPECTS; i++) {
		const struct expect *e = &expects[i];
		uint8_t *m = msg_new(e->min_len, e->type);
		uint32_t len;

		CHECK(e->min_len >= sizeof(struct vmbus_ctl_hdr));
		CHECK(e->min_len <= VMBUS_CTL_MAX_LEN);
		/* Exactly minimum length: accepted from its sender only. */
		CHECK_EQ(vmbus_ctl_validate(m, e->min_len, e->sender), (int)e->type);
		CHECK_EQ(vmbus_ctl_validate(m, e->min_len, other_dir(e->sender)), -EPROTO);
		CHECK_EQ(vmbus_ctl_validate(m, e->min_len, (enum vmbus_ctl_dir)0), -EPROTO);
		CHECK_EQ(vmbus_ctl_validate(m, e->min_len, (enum vmbus_ctl_dir)3), -EPROTO);
		/* vmbus_ctl_len with no variable elements is the minimum. */
		CHECK_EQ(vmbus_ctl_len(e->type, 0), e->min_len);
		/* Every shorter length is refused, from either side. */
		for (len = 0; len < e->min_len; len++) {
			CHECK_EQ(validate_exact(m, len, e->sender), -EPROTO);
			CHECK_EQ(validate_exact(m, len, other_dir(e->sender)), -EPROTO);
		}
		free(m);

		/* Trailing bytes after a fixed message are tolerated up to the limit. */
		m = msg_new(VMBUS_CTL_MAX_LEN + 1, e->type);
		if (e->var == VAR_NONE) {
			CHECK_EQ(vmbus_ctl_validate(m, e->min_len + 8, e->sender), (int)e->type);
			CHECK_EQ(vmbus_ctl_validate(m, VMBUS_CTL_MAX_LEN, e->sender), (int)e->type);
		}
		CHECK_EQ(vmbus_ctl_validate(m, VMBUS_CTL_MAX_LEN + 1, e->sender), -EPROTO);
		CHECK_EQ(vmbus_ctl_validate(m, UINT32_MAX, e->sender), -EPROTO);
		free(m);
	}
}

static void test_short_and_bad_types(void)
{
	static const uint32_t bad_types[] = {
		0, VMBUS_CTL_TYPE_COUNT, VMBUS_CTL_TYPE_COUNT + 1, 0x100, 0x10001,
		0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff,
	};
	uint32_t len;
	size_t i;

	/* Shorter than the header, whatever the bytes say. */
	for (len = 0; len < sizeof(struct vmbus_ctl_hdr); len++) {
		uint8_t *m = msg_new(len, VMBUS_CTL_REQUEST_OFFERS);

		CHECK_EQ(vmbus_ctl_validate(m, len, VMBUS_CTL_TO_HOST), -EPROTO);
		CHECK_EQ(vmbus_ctl_validate(m, len, VMBUS_CTL_TO_GUEST), -EPROTO);
		free(m);
	}
	/* Unknown types at every plausible length. */
	for (i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		uint8_t *m = msg_new(VMBUS_CTL_MAX_LEN, bad_types[i]);

		for (len = 8; len <= VMBUS_CTL_MAX_LEN; len += len < 256 ? 8 : 512) {
			CHECK_EQ(vmbus_ctl_validate(m, len, VMBUS_CTL_TO_HOST), -EPROTO);
			CHECK_EQ(vmbus_ctl_validate(m, len, VMBUS_CTL_TO_GUEST), -EPROTO);
		}
		CHECK_EQ(vmbus_ctl_validate(m, VMBUS_CTL_MAX_LEN, VMBUS_CTL_TO_HOST), -EPROTO);
		CHECK_EQ(vmbus_ctl_validate(m, VMBUS_CTL_MAX_LEN, VMBUS_CTL_TO_GUEST), -EPROTO);
		free(m);
	}
	/* The reserved header word does not matter. */
	{
		uint8_t *m = msg_new(8, VMBUS_CTL_UNLOAD);

		put32(m, 4, 0xffffffff);
		CHECK_EQ(vmbus_ctl_validate(m, 8, VMBUS_CTL_TO_HOST), VMBUS_CTL_UNLOAD);
		free(m);
	}
}

struct gpadl_case {
	uint32_t type;
	uint32_t fixed;		/* bytes before pfn[] */
	uint32_t count_off;
	uint32_t max;
};

static void test_gpadl(void)
{
	const struct gpadl_case cases[] = {
		{ VMBUS_CTL_GPADL_HEADER, sizeof(struct vmbus_ctl_gpadl_header),
		  offsetof(struct vmbus_ctl_gpadl_header, count), VMBUS_CTL_GPADL_HEADER_MAX_PFNS },
		{ VMBUS_CTL_GPADL_BODY, sizeof(struct vmbus_ctl_gpadl_body),
		  offsetof(struct vmbus_ctl_gpadl_body, count), VMBUS_CTL_GPADL_BODY_MAX_PFNS },
	};
	size_t i;

	CHECK_EQ(offsetof(struct vmbus_ctl_gpadl_header, pfn), sizeof(struct vmbus_ctl_gpadl_header));
	CHECK_EQ(offsetof(struct vmbus_ctl_gpadl_body, pfn), sizeof(struct vmbus_ctl_gpadl_body));
	for (i = 0; i < 2; i++) {
		const struct gpadl_case *c = &cases[i];
		static const uint32_t huge[] = {
			0x20000000, 0x20000001, 0x1fffffff, 0x40000000, 0x80000000,
			0xfffffffe, 0xffffffff,
		};
		uint32_t count, len, j;
		uint8_t *m;

		/* The largest message fills VMBUS_CTL_MAX_LEN exactly. */
		CHECK_EQ(c->fixed + 8 * c->max, VMBUS_CTL_MAX_LEN);

		for (count = 0; count <= c->max; count++) {
			len = c->fixed + 8 * count;
			CHECK_EQ(vmbus_ctl_len(c->type, count), len);
			m = msg_new(len, c->type);
			put32(m, c->count_off, count);
			/* count 0, 1, max and everything between: exactly sized is OK. */
			CHECK_EQ(vmbus_ctl_validate(m, len, VMBUS_CTL_TO_HOST), (int)c->type);
			CHECK_EQ(vmbus_ctl_validate(m, len, VMBUS_CTL_TO_GUEST), -EPROTO);
			/* Elements exceeding the length: one byte and one element short. */
			if (count) {
				CHECK_EQ(validate_exact(m, len - 1, VMBUS_CTL_TO_HOST), -EPROTO);
				CHECK_EQ(validate_exact(m, len - 8, VMBUS_CTL_TO_HOST), -EPROTO);
			}
			free(m);
		}

		/* Lengths are only defined up to the limit (no silent overflow). */
		CHECK_EQ(vmbus_ctl_len(c->type, c->max + 1), 0);
		for (j = 0; j < sizeof(huge) / sizeof(huge[0]); j++)
			CHECK_EQ(vmbus_ctl_len(c->type, huge[j]), 0);

		/* count = max + 1, in the largest buffer there is. */
		m = msg_new(VMBUS_CTL_MAX_LEN, c->type);
		put32(m, c->count_off, c->max + 1);
		CHECK_EQ(vmbus_ctl_validate(m, VMBUS_CTL_MAX_LEN, VMBUS_CTL_TO_HOST), -EPROTO);
		/* count = 2 in a message sized for 1 (and for 0). */
		put32(m, c->count_off, 2);
		CHECK_EQ(validate_exact(m, c->fixed + 8, VMBUS_CTL_TO_HOST), -EPROTO);
		CHECK_EQ(validate_exact(m, c->fixed, VMBUS_CTL_TO_HOST), -EPROTO);
		/* Counts whose byte size overflows 32 bits, or is just huge. */
		for (j = 0; j < sizeof(huge) / sizeof(huge[0]); j++) {
			put32(m, c->count_off, huge[j]);
			for (len = c->fixed; len <= VMBUS_CTL_MAX_LEN; len += 8)
				CHECK_EQ(vmbus_ctl_validate(m, len, VMBUS_CTL_TO_HOST), -EPROTO);
		}
		free(m);
	}
}

static void test_offer(void)
{
	const uint32_t min = sizeof(struct vmbus_ctl_offer);
	const size_t off = offsetof(struct vmbus_ctl_offer, user_len);
	static const uint32_t bad[] = {
		VMBUS_CTL_OFFER_USER_MAX + 1, VMBUS_CTL_OFFER_USER_MAX + 8, 0x100, 0x10000,
		0x80000000, 0xfffffff8, 0xffffffff,
	};
	uint32_t user_len;
	size_t i;
	uint8_t *m;

	/* user[] is inside the fixed part, so every valid user_len fits min_len. */
	CHECK_EQ(offsetof(struct vmbus_ctl_offer, user) + VMBUS_CTL_OFFER_USER_MAX, min);
	for (user_len = 0; user_len <= VMBUS_CTL_OFFER_USER_MAX; user_len++) {
		m = msg_new(min, VMBUS_CTL_OFFER);
		put32(m, off, user_len);
		CHECK_EQ(vmbus_ctl_validate(m, min, VMBUS_CTL_TO_GUEST), VMBUS_CTL_OFFER);
		CHECK_EQ(vmbus_ctl_validate(m, min, VMBUS_CTL_TO_HOST), -EPROTO);
		CHECK_EQ(validate_exact(m, min - 1, VMBUS_CTL_TO_GUEST), -EPROTO);
		/* The exact length does not depend on user_len. */
		CHECK_EQ(vmbus_ctl_len(VMBUS_CTL_OFFER, user_len), min);
		free(m);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = msg_new(VMBUS_CTL_MAX_LEN, VMBUS_CTL_OFFER);
		put32(m, off, bad[i]);
		CHECK_EQ(vmbus_ctl_validate(m, min, VMBUS_CTL_TO_GUEST), -EPROTO);
		CHECK_EQ(vmbus_ctl_validate(m, VMBUS_CTL_MAX_LEN, VMBUS_CTL_TO_GUEST), -EPROTO);
		free(m);
	}
}

/* vmbus_ctl_len(type, n) is accepted; one byte less is not. */
static void test_len_consistent(void)
{
	size_t i;

	CHECK_EQ(vmbus_ctl_len((enum vmbus_ctl_type)0, 0), 0);
	CHECK_EQ(vmbus_ctl_len(VMBUS_CTL_TYPE_COUNT, 0), 0);
	CHECK_EQ(vmbus_ctl_len((enum vmbus_ctl_type)0xffff, 3), 0);
	for (i = 0; i < NEXPECTS; i++) {
		const struct expect *e = &expects[i];
		uint32_t counts[] = { 0, 1, 2, 7, 100, 508, 510 };
		size_t j;

		for (j = 0; j < sizeof(counts) / sizeof(counts[0]); j++) {
			uint32_t count = counts[j];
			uint32_t len = vmbus_ctl_len(e->type, count);
			uint8_t *m;

			if (e->var == VAR_GPADL_HEADER && count > VMBUS_CTL_GPADL_HEADER_MAX_PFNS)
				continue;
			if (e->var == VAR_GPADL_BODY && count > VMBUS_CTL_GPADL_BODY_MAX_PFNS)
				continue;
			if (e->var == VAR_OFFER && count > VMBUS_CTL_OFFER_USER_MAX)
				continue;
			CHECK(len >= e->min_len);
			CHECK(len <= VMBUS_CTL_MAX_LEN);
			m = msg_new(len, e->type);
			if (e->var == VAR_GPADL_HEADER)
				put32(m, offsetof(struct vmbus_ctl_gpadl_header, count), count);
			else if (e->var == VAR_GPADL_BODY)
				put32(m, offsetof(struct vmbus_ctl_gpadl_body, count), count);
			else if (e->var == VAR_OFFER)
				put32(m, offsetof(struct vmbus_ctl_offer, user_len), count);
			else
				CHECK_EQ(len, e->min_len);	/* count means nothing */
			CHECK_EQ(vmbus_ctl_validate(m, len, e->sender), (int)e->type);
			CHECK_EQ(validate_exact(m, len - 1, e->sender), -EPROTO);
			free(m);
		}
	}
}

static void test_names(void)
{
	size_t i, j;

	for (i = 0; i < NEXPECTS; i++) {
		const char *n = vmbus_ctl_name(expects[i].type);

		CHECK(n != NULL);
		if (strcmp(n, expects[i].name) != 0) {
			fprintf(stderr, "type %u: name \"%s\", expected \"%s\"\n",
				expects[i].type, n, expects[i].name);
			exit(1);
		}
		for (j = 0; j < i; j++)
			CHECK(strcmp(n, vmbus_ctl_name(expects[j].type)) != 0);
	}
	CHECK(strcmp(vmbus_ctl_name(0), "unknown") == 0);
	CHECK(strcmp(vmbus_ctl_name(VMBUS_CTL_TYPE_COUNT), "unknown") == 0);
	CHECK(strcmp(vmbus_ctl_name(0x80000000), "unknown") == 0);
	CHECK(strcmp(vmbus_ctl_name(0xffffffff), "unknown") == 0);
}

/* Brute force: the highest v with both ranges containing it. */
static int64_t pick_model(uint32_t a0, uint32_t a1, uint32_t b0, uint32_t b1)
{
	int64_t v;

	for (v = 15; v >= 0; v--)
		if ((uint32_t)v >= a0 && (uint32_t)v <= a1 && (uint32_t)v >= b0 && (uint32_t)v <= b1)
			return v;
	return -EPROTONOSUPPORT;
}

static void test_version_pick(void)
{
	const uint32_t v10 = VMBUS_VERSION(1, 0), v11 = VMBUS_VERSION(1, 1);
	const uint32_t v20 = VMBUS_VERSION(2, 0), v30 = VMBUS_VERSION(3, 0);
	uint32_t a0, a1, b0, b1;

	/* overlapping: the top of the overlap, whichever side is higher */
	CHECK_EQ(vmbus_version_pick(v10, v20, v11, v30), v20);
	CHECK_EQ(vmbus_version_pick(v11, v30, v10, v20), v20);
	CHECK_EQ(vmbus_version_pick(v10, v30, v11, v20), v20);	/* nested */
	CHECK_EQ(vmbus_version_pick(v10, v20, v20, v30), v20);	/* touching */
	/* disjoint */
	CHECK_EQ(vmbus_version_pick(v10, v11, v20, v30), -EPROTONOSUPPORT);
	CHECK_EQ(vmbus_version_pick(v20, v30, v10, v11), -EPROTONOSUPPORT);
	/* inverted ranges on either side, even when the bounds would overlap */
	CHECK_EQ(vmbus_version_pick(v20, v10, v10, v30), -EPROTONOSUPPORT);
	CHECK_EQ(vmbus_version_pick(v10, v30, v20, v10), -EPROTONOSUPPORT);
	CHECK_EQ(vmbus_version_pick(v30, v10, v30, v10), -EPROTONOSUPPORT);
	/* equal ranges */
	CHECK_EQ(vmbus_version_pick(v10, v30, v10, v30), v30);
	/* single points */
	CHECK_EQ(vmbus_version_pick(v10, v10, v10, v10), v10);
	CHECK_EQ(vmbus_version_pick(v11, v11, v10, v20), v11);
	CHECK_EQ(vmbus_version_pick(v10, v20, v11, v11), v11);
	CHECK_EQ(vmbus_version_pick(v10, v10, v11, v11), -EPROTONOSUPPORT);
	CHECK_EQ(vmbus_version_pick(VMBUS_VERSION_CURRENT, VMBUS_VERSION_CURRENT,
				    VMBUS_VERSION_1_0, VMBUS_VERSION_CURRENT),
		 VMBUS_VERSION_CURRENT);
	/* extremes of the 32-bit range are returned as positive versions */
	CHECK_EQ(vmbus_version_pick(0, UINT32_MAX, 0, UINT32_MAX), UINT32_MAX);
	CHECK_EQ(vmbus_version_pick(UINT32_MAX, UINT32_MAX, 0, UINT32_MAX), UINT32_MAX);
	CHECK_EQ(vmbus_version_pick(0x80000000, UINT32_MAX, 0, 0x80000000), 0x80000000);
	CHECK_EQ(vmbus_version_pick(0, 0, 0, UINT32_MAX), 0);
	CHECK_EQ(vmbus_version_pick(0, 0, 1, UINT32_MAX), -EPROTONOSUPPORT);
	CHECK_EQ(vmbus_version_pick(UINT32_MAX, 0, 0, UINT32_MAX), -EPROTONOSUPPORT);

	/* Every combination of small bounds against the brute-force model. */
	for (a0 = 0; a0 < 6; a0++)
		for (a1 = 0; a1 < 6; a1++)
			for (b0 = 0; b0 < 6; b0++)
				for (b1 = 0; b1 < 6; b1++) {
					int64_t want = (a0 > a1 || b0 > b1) ? -EPROTONOSUPPORT
						     : pick_model(a0, a1, b0, b1);

					CHECK_EQ(vmbus_version_pick(a0, a1, b0, b1), want);
				}
}

int main(void)
{
	test_table_is_complete();
	test_minimum_lengths();
	test_short_and_bad_types();
	test_gpadl();
	test_offer();
	test_len_consistent();
	test_names();
	test_version_pick();
	printf("control_test: ok\n");
	return 0;
}
