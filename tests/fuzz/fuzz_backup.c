// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzz_backup.c - fuzz harness for the host side of the backup (quiesce)
 * service (host/devices/backup.c, docs/protocol/backup.md) on a real bus
 * with its channel open (tests/lib/fuzzdev.h).
 *
 * Input: records, each starting with an op byte:
 *   op 0: u16 len, len bytes  -> one raw packet from the guest
 *   op 1: u16 len, len bytes  -> an answer to the host's last message: its
 *                                IC header with the response flag, the
 *                                bytes as payload (a struct vmbus_ic_backup
 *                                and text, as the guest chooses)
 *   op 2:                     -> one-second tick
 *   op 3: u8 op, u16 timeout  -> the host asks FREEZE/THAW/STATUS
 *   op 4:                     -> the worker reads the status (JSON)
 * The host may log, reset the channel or ignore; it must not crash, must
 * send only well-formed IC messages, must call each request's callback at
 * most once, and must hand it text that is terminated and has no control
 * characters but newlines.
 */
#include <stdlib.h>
#include <string.h>

#include "host/devices.h"
#include "host/devices/ic.h"
#include "host/json.h"
#include "tests/fuzz/fuzz.h"
#include "tests/lib/fuzzdev.h"
#include "vmbus/ic_backup.h"

struct fuzz_backup_last {
	struct vmbus_ic_hdr h;
	bool valid;
};

static unsigned int fuzz_backup_requests, fuzz_backup_answers;

static void fuzz_backup_host_message(void *ctx, const void *msg, uint32_t len)
{
	struct fuzz_backup_last *last = ctx;

	if (vmbus_ic_check(msg, len, IC_MSG_MAX) < 0)
		abort();	/* the host sent a malformed frame */
	memcpy(&last->h, msg, sizeof(last->h));
	last->valid = true;
}

static void fuzz_backup_answer(void *ctx, const struct backup_answer *a)
{
	size_t n = strnlen(a->text, sizeof(a->text));

	(void)ctx;
	if (n == sizeof(a->text))
		abort();	/* not terminated */
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)a->text[i] < 0x20 && a->text[i] != '\n') || a->text[i] == 0x7f)
			abort();	/* guest control characters reached the host's callers */
	if (++fuzz_backup_answers > fuzz_backup_requests)
		abort();	/* a callback ran twice */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzzdev f;
	struct fuzz_backup_last last = { .valid = false };
	size_t pos = 0;

	fuzz_backup_requests = fuzz_backup_answers = 0;
	fuzzdev_start(&f, &backup_device_ops);
	fuzzdev_drain(&f, fuzz_backup_host_message, &last);
	while (pos < size) {
		uint8_t op = data[pos++] % 5;

		if (op <= 2) {
			if (!fuzzdev_ic_record(&f, &last.h, op, data, size, &pos))
				break;
			fuzzdev_drain(&f, fuzz_backup_host_message, &last);
			continue;
		}
		switch (op) {
		case 3: {
			uint16_t timeout = 0;

			if (size - pos < 3) {
				pos = size;
				break;
			}
			memcpy(&timeout, data + pos + 1, 2);
			if (backup_device_request(f.dev, data[pos] % 4, timeout * 4u, 7, fuzz_backup_answer,
						  NULL) == 0)
				fuzz_backup_requests++;
			pos += 3;
			break;
		}
		case 4: {
			struct json_writer w;

			json_writer_init(&w);
			json_object_begin(&w, NULL);
			f.dev->ops->status(f.dev, &w);
			json_object_end(&w);
			json_writer_free(&w);
			break;
		}
		}
		fuzzdev_drain(&f, fuzz_backup_host_message, &last);
	}
	fuzzdev_stop(&f);
	if (fuzz_backup_answers > fuzz_backup_requests)
		abort();
	return 0;
}
