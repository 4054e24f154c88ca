/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * fuzzdev.h - a device backend on a real host bus, driven by a fake guest
 * inside one process, for the fuzz harnesses of the device parsers
 * (tests/fuzz/fuzz_<service>.c): the bus has connected, the device is
 * offered and its primary channel is open with rings in "guest RAM", so
 * every packet the harness sends reaches the backend's event handler the
 * way a guest's would.
 */
#ifndef OPENVMBUS_FUZZDEV_H
#define OPENVMBUS_FUZZDEV_H

#include "host/bus.h"

/*
 * What every harness shares, made on first use: 4 MiB of guest RAM (a
 * memfd, as the worker has), an ivshmem server with FUZZDEV_VECTORS
 * vectors and no peer (eventfds only), a BAR. Logging is off: harnesses
 * check behaviour, not log text.
 */
#define FUZZDEV_RAM_SIZE (4u << 20)
#define FUZZDEV_VECTORS 3

struct fuzzdev_env {
	struct guestmem mem;
	struct ivshmem_server ivs;
	uint8_t *bar;
};

struct fuzzdev_env *fuzzdev_env(void);
/* Consume every pending doorbell and interrupt eventfd. */
void fuzzdev_env_drain(void);

struct fuzzdev {
	struct bus bus;
	struct device *dev;
	struct channel *ch;		/* the device's primary channel (NULL once reset) */
	struct vmbus_ring tx;		/* guest -> host on the device channel */
	struct vmbus_ring rx;		/* host -> guest */
	struct vmbus_ring ctl_tx, ctl_rx;
};

/*
 * A fresh bus with ops's device, connected, its channel opened by the
 * fake guest (aborts if that fails: the harness itself is broken).
 */
void fuzzdev_start(struct fuzzdev *f, const struct device_ops *ops);
/* One in-band packet from the guest on the device channel, then its doorbell. */
void fuzzdev_send(struct fuzzdev *f, const void *buf, uint32_t len);
/*
 * Read what the host sent: each packet on the device channel goes to fn
 * (may be NULL); control messages must be well-formed (else abort()).
 * Returns the number of channel packets.
 */
unsigned int fuzzdev_drain(struct fuzzdev *f, void (*fn)(void *ctx, const void *msg, uint32_t len),
			   void *ctx);
/* One-second tick of the bus (heartbeats, deadlines, resets). */
void fuzzdev_tick(struct fuzzdev *f);
void fuzzdev_stop(struct fuzzdev *f);

struct vmbus_ic_hdr;
/*
 * The records every integration-service harness shares, at data[*pos]
 * (op already read): op 0 = u16 len + len bytes, one raw packet from the
 * guest; op 1 = u16 len + len bytes, an answer to the host's last message
 * (its IC header, flagged as a response, with the bytes as payload);
 * op 2 = a one-second tick. False when the input ends inside the record.
 */
bool fuzzdev_ic_record(struct fuzzdev *f, const struct vmbus_ic_hdr *last, unsigned int op,
		       const uint8_t *data, size_t size, size_t *pos);

#endif
