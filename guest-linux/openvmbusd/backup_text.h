/* SPDX-License-Identifier: GPL-2.0 */
/*
 * backup_text.h - the text of a backup answer (vmbus/ic_backup.h): at most
 * VMBUS_BACKUP_TEXT_MAX bytes of UTF-8, cut cleanly. Mount points one per
 * line (a backslash, newline or other control byte in a name written \ooo,
 * as mountinfo does, so one mount point stays one line); free text; the
 * tail of a hook's output (invalid UTF-8 and control bytes but newline and
 * tab replaced by '?'). Pure functions, tests/unit/backup_text_test.c.
 */
#ifndef OPENVMBUSD_BACKUP_TEXT_H
#define OPENVMBUSD_BACKUP_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "vmbus/ic_backup.h"

/* Kept free for the "[N more]" line while mount points are added. */
#define BACKUP_TEXT_RESERVE 32

struct backup_text {
	char buf[VMBUS_BACKUP_TEXT_MAX];
	size_t len;
	size_t omitted;			/* mount points that did not fit */
};

void backup_text_init(struct backup_text *t);
/* One mount point line; once one does not fit, it and all later ones are counted in omitted. */
void backup_text_add_path(struct backup_text *t, const char *path);
/* Free text (a line or several), cut at a character boundary if it does not fit. */
void backup_text_add(struct backup_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As much of the end of data[0..len) as fits, from a character boundary; "[...]" marks a cut. */
void backup_text_add_tail(struct backup_text *t, const void *data, size_t len);
/* Append "[N more]" if mount points were left out; the text's length. */
size_t backup_text_finish(struct backup_text *t);

/*
 * Length of the valid UTF-8 character at s[0..len) (1..4), 0 if s starts
 * with an invalid or cut sequence (or NUL).
 */
size_t backup_text_utf8_char(const unsigned char *s, size_t len);

#endif
