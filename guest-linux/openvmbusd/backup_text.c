// SPDX-License-Identifier: GPL-2.0
/*
 * backup_text.c - the text of backup answers, within the protocol's limit
 * (see backup_text.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "guest-linux/openvmbusd/backup_text.h"
#include "vmbus/ic_kvp.h"

#define BACKUP_TEXT_CUT_MARK	"[...]"
/* How far into a cut tail we look for the start of a line. */
#define BACKUP_TEXT_LINE_SEEK	120

void backup_text_init(struct backup_text *t)
{
	t->len = 0;
	t->omitted = 0;
}

size_t backup_text_utf8_char(const unsigned char *s, size_t len)
{
	size_t n;

	/* A valid character has no valid shorter prefix: the first length that validates. */
	for (n = 1; n <= 4 && n <= len; n++)
		if (vmbus_kvp_utf8_valid(s, n))
			return n;
	return 0;
}

static bool backup_text_control(unsigned char c)
{
	return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f;
}

/* data[0..len) made valid UTF-8 without control bytes into out (same length). */
static void backup_text_clean(const unsigned char *data, size_t len, char *out)
{
	size_t i = 0, n;

	while (i < len) {
		n = backup_text_utf8_char(data + i, len - i);
		if (n == 0 || (n == 1 && backup_text_control(data[i]))) {
			out[i++] = '?';
			continue;
		}
		memcpy(out + i, data + i, n);
		i += n;
	}
}

/* Append clean text, cut at a character boundary to what fits. */
static void backup_text_put(struct backup_text *t, const char *s, size_t len)
{
	size_t room = sizeof(t->buf) - t->len;

	if (len > room) {
		len = room;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(t->buf + t->len, s, len);
	t->len += len;
}

void backup_text_add_path(struct backup_text *t, const char *path)
{
	char line[sizeof(t->buf)];
	const unsigned char *p = (const unsigned char *)path;
	size_t n = 0, len = strlen(path), i = 0, c;

	while (i < len && n + 5 < sizeof(line)) {
		c = backup_text_utf8_char(p + i, len - i);
		if (c == 0 || (c == 1 && (p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\'))) {
			n += (size_t)snprintf(line + n, sizeof(line) - n, "\\%03o", p[i]);
			i++;
			continue;
		}
		memcpy(line + n, p + i, c);
		n += c;
		i += c;
	}
	line[n++] = '\n';
	if (t->omitted || i < len || t->len + n + BACKUP_TEXT_RESERVE > sizeof(t->buf)) {
		t->omitted++;
		return;
	}
	backup_text_put(t, line, n);
}

void backup_text_add(struct backup_text *t, const char *fmt, ...)
{
	/* Twice the limit: a cut by vsnprintf is then always past what fits. */
	char raw[2 * sizeof(t->buf)], clean[2 * sizeof(t->buf)];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(raw))
		n = sizeof(raw) - 1;
	backup_text_clean((const unsigned char *)raw, (size_t)n, clean);
	backup_text_put(t, clean, (size_t)n);
}

void backup_text_add_tail(struct backup_text *t, const void *data, size_t len)
{
	const unsigned char *d = data;
	char clean[sizeof(t->buf)];
	size_t room = sizeof(t->buf) - t->len, start = 0, i;

	if (len > room) {
		if (room <= sizeof(BACKUP_TEXT_CUT_MARK))
			return;
		start = len - (room - (sizeof(BACKUP_TEXT_CUT_MARK) - 1));
		/* From the start of a line if one begins soon, else of a character. */
		for (i = start; i < len && i < start + BACKUP_TEXT_LINE_SEEK; i++)
			if (d[i - 1] == '\n')
				break;
		if (i < len && i < start + BACKUP_TEXT_LINE_SEEK)
			start = i;
		while (start < len && (d[start] & 0xc0) == 0x80)
			start++;
		backup_text_put(t, BACKUP_TEXT_CUT_MARK, sizeof(BACKUP_TEXT_CUT_MARK) - 1);
	}
	backup_text_clean(d + start, len - start, clean);
	backup_text_put(t, clean, len - start);
}

size_t backup_text_finish(struct backup_text *t)
{
	char mark[BACKUP_TEXT_RESERVE];
	int n;

	if (!t->omitted)
		return t->len;
	n = snprintf(mark, sizeof(mark), "[%zu more]\n", t->omitted);
	if (n < 0 || (size_t)n >= sizeof(mark))
		return t->len;
	if (t->len + (size_t)n > sizeof(t->buf)) {
		t->len = sizeof(t->buf) - (size_t)n;
		while (t->len > 0 && ((unsigned char)t->buf[t->len] & 0xc0) == 0x80)
			t->len--;
	}
	backup_text_put(t, mark, (size_t)n);
	return t->len;
}
