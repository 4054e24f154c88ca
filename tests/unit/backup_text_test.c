// SPDX-License-Identifier: GPL-2.0
/*
 * backup_text_test.c - the text of the guest's backup answers
 * (guest-linux/openvmbusd/backup_text.c): never more than
 * VMBUS_BACKUP_TEXT_MAX bytes, always valid UTF-8 without control bytes but
 * newline and tab, one mount point per line whatever its name holds, a
 * "[N more]" line when mount points are left out, and the end of a hook's
 * output (where its error usually is) cut at a line or character boundary.
 */
#include "guest-linux/openvmbusd/backup_text.h"
#include "tests/lib/test.h"
#include "vmbus/ic_kvp.h"

static void check_clean(const struct backup_text *t)
{
	size_t i;

	CHECK(t->len <= VMBUS_BACKUP_TEXT_MAX);
	CHECK(vmbus_kvp_utf8_valid(t->buf, t->len));
	for (i = 0; i < t->len; i++)
		CHECK(((unsigned char)t->buf[i] >= 0x20 && t->buf[i] != 0x7f) || t->buf[i] == '\n' ||
		      t->buf[i] == '\t');
}

static bool text_is(const struct backup_text *t, const char *s)
{
	return t->len == strlen(s) && memcmp(t->buf, s, t->len) == 0;
}

static void test_utf8_char(void)
{
	CHECK_EQ(backup_text_utf8_char((const unsigned char *)"a", 1), 1);
	CHECK_EQ(backup_text_utf8_char((const unsigned char *)"\xc3\xa9x", 3), 2);
	CHECK_EQ(backup_text_utf8_char((const unsigned char *)"\xe2\x82\xac", 3), 3);
	CHECK_EQ(backup_text_utf8_char((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	CHECK_EQ(backup_text_utf8_char((const unsigned char *)"\xe2\x82", 2), 0);	/* cut */
	CHECK_EQ(backup_text_utf8_char((const unsigned char *)"\xe9t\xe9", 3), 0);	/* Latin-1 */
	CHECK_EQ(backup_text_utf8_char((const unsigned char *)"\x80", 1), 0);
	CHECK_EQ(backup_text_utf8_char((const unsigned char *)"", 1), 0);		/* NUL */
}

static void test_paths(void)
{
	struct backup_text t;
	char path[64];
	size_t i, len;

	backup_text_init(&t);
	backup_text_add_path(&t, "/mnt/data");
	backup_text_add_path(&t, "/mnt/with space");
	backup_text_add_path(&t, "/odd\nname\\\x01");
	backup_text_add_path(&t, "/caf\xc3\xa9");
	backup_text_add_path(&t, "/lat\xe9");
	backup_text_add_path(&t, "/");
	len = backup_text_finish(&t);
	CHECK(text_is(&t, "/mnt/data\n/mnt/with space\n/odd\\012name\\134\\001\n/caf\xc3\xa9\n/lat\\351\n/\n"));
	CHECK_EQ(len, t.len);
	check_clean(&t);

	/* More than fit: those that do, in order, then how many did not. */
	backup_text_init(&t);
	for (i = 0; i < 400; i++) {
		snprintf(path, sizeof(path), "/srv/volume-%03zu", i);
		backup_text_add_path(&t, path);
	}
	backup_text_finish(&t);
	check_clean(&t);
	CHECK(t.len > VMBUS_BACKUP_TEXT_MAX - 64);
	CHECK(memcmp(t.buf, "/srv/volume-000\n/srv/volume-001\n", 32) == 0);
	CHECK_EQ(t.omitted, 400 - (VMBUS_BACKUP_TEXT_MAX - BACKUP_TEXT_RESERVE) / 16);
	snprintf(path, sizeof(path), "[%zu more]\n", t.omitted);
	CHECK(t.len > strlen(path) && memcmp(t.buf + t.len - strlen(path), path, strlen(path)) == 0);
	CHECK(memcmp(t.buf + t.len - strlen(path) - 16, "/srv/volume-", 12) == 0);
}

static void test_tail(void)
{
	static const char head[] = "pre-freeze hook 10-x exited with status 1\n";
	static char out[3 * VMBUS_BACKUP_TEXT_MAX];
	struct backup_text t;
	size_t i, len;

	/* Short output: as it is, control bytes and broken UTF-8 replaced. */
	backup_text_init(&t);
	backup_text_add(&t, "pre-freeze hook %s %s\n", "20-db", "exited with status 3");
	backup_text_add_tail(&t, "line\tone\r\n\x1b[31mred\xff\xc3\n", 21);
	CHECK(text_is(&t, "pre-freeze hook 20-db exited with status 3\nline\tone?\n?[31mred??\n"));
	check_clean(&t);

	/* Long output of lines: its end, from the start of a line, marked. */
	len = 0;
	for (i = 0; len + 32 < sizeof(out); i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "output line %zu\n", i);
	backup_text_init(&t);
	backup_text_add(&t, "%s", head);
	backup_text_add_tail(&t, out, len);
	check_clean(&t);
	CHECK(t.len <= VMBUS_BACKUP_TEXT_MAX && t.len > VMBUS_BACKUP_TEXT_MAX - 120);
	CHECK(memcmp(t.buf + strlen(head), "[...]output line ", 17) == 0);
	CHECK(memcmp(t.buf + t.len - 25, out + len - 25, 25) == 0);

	/* Long output without newlines in two-byte characters: cut between characters. */
	for (i = 0; i + 1 < sizeof(out); i += 2)
		memcpy(out + i, "\xc3\xa9", 2);
	for (len = 0; len < 3; len++) {
		backup_text_init(&t);
		backup_text_add(&t, "%.*s", (int)len, "abc");
		backup_text_add_tail(&t, out, sizeof(out) - 1);
		check_clean(&t);
		CHECK(memcmp(t.buf + len, "[...]\xc3\xa9", 7) == 0);
	}

	/* No room left: nothing added, still clean. */
	backup_text_init(&t);
	memset(out, 'x', VMBUS_BACKUP_TEXT_MAX + 10);
	backup_text_add(&t, "%.*s", VMBUS_BACKUP_TEXT_MAX + 10, out);
	CHECK_EQ(t.len, VMBUS_BACKUP_TEXT_MAX);
	backup_text_add_tail(&t, "more", 4);
	check_clean(&t);
}

/* Free text too long: cut between characters; "[N more]" finds room. */
static void test_overflow(void)
{
	static char big[2 * VMBUS_BACKUP_TEXT_MAX];
	struct backup_text t;
	size_t i;

	for (i = 0; i + 3 < sizeof(big); i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	big[i] = '\0';
	backup_text_init(&t);
	backup_text_add(&t, "x%s", big);
	check_clean(&t);
	CHECK_EQ(t.len, 1 + 3 * ((VMBUS_BACKUP_TEXT_MAX - 2) / 3));

	backup_text_init(&t);
	t.omitted = 7;
	backup_text_add(&t, "%s", big);
	backup_text_finish(&t);
	check_clean(&t);
	CHECK(memcmp(t.buf + t.len - 9, "[7 more]\n", 9) == 0);
}

int main(void)
{
	test_utf8_char();
	test_paths();
	test_tail();
	test_overflow();
	printf("backup_text: all checks passed\n");
	return 0;
}
