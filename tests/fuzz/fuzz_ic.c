// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzz_ic.c - fuzz harness for the host side of the integration services
 * with a request/answer parser: heartbeat and shutdown (host/devices/
 * heartbeat.c, shutdown.c, and the framing in ic.c), each on a real bus
 * with its channel open (tests/lib/fuzzdev.h).
 *
 * Input: byte 0 picks the service (even: heartbeat, odd: shutdown); then
 * records, each starting with an op byte:
 *   op 0: u16 len, len bytes  -> one raw packet from the guest
 *   op 1: u16 len, len bytes  -> an answer to the host's last message: its
 *                                IC header with the response flag, the
 *                                bytes as payload (payload_len = len)
 *   op 2:                     -> one-second tick
 *   op 3: u8 flags            -> the host asks for a shutdown (shutdown
 *                                only: reboot/force from flags)
 * The host may log, reset the channel or ignore; it must not crash, and
 * everything it sends must be a well-formed IC message.
 */
#include <stdlib.h>
#include <string.h>

#include "host/devices.h"
#include "host/devices/ic.h"
#include "tests/fuzz/fuzz.h"
#include "tests/lib/fuzzdev.h"

struct fuzz_ic_last {
	struct vmbus_ic_hdr h;
	bool valid;
};

static void fuzz_ic_host_message(void *ctx, const void *msg, uint32_t len)
{
	struct fuzz_ic_last *last = ctx;

	if (vmbus_ic_check(msg, len, IC_MSG_MAX) < 0)
		abort();	/* the host sent a malformed frame */
	memcpy(&last->h, msg, sizeof(last->h));
	last->valid = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzzdev f;
	struct fuzz_ic_last last = { .valid = false };
	bool shutdown;
	size_t pos = 1;

	if (size < 1)
		return 0;
	shutdown = data[0] & 1;
	fuzzdev_start(&f, shutdown ? &shutdown_device_ops : &heartbeat_device_ops);
	fuzzdev_drain(&f, fuzz_ic_host_message, &last);
	while (pos < size) {
		uint8_t op = data[pos++] % 4;

		if (op <= 2) {
			if (!fuzzdev_ic_record(&f, &last.h, op, data, size, &pos))
				break;
			fuzzdev_drain(&f, fuzz_ic_host_message, &last);
			continue;
		}
		/* op 3 */
		if (pos >= size)
			break;
		if (shutdown)
			shutdown_device_request(f.dev, data[pos] & 1 ? VMBUS_SHUTDOWN_REBOOT
								 : VMBUS_SHUTDOWN_POWEROFF,
						data[pos] & 2, data[pos] >> 2, "fuzz");
		pos++;
		fuzzdev_drain(&f, fuzz_ic_host_message, &last);
	}
	fuzzdev_stop(&f);
	return 0;
}
