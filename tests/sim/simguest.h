/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * simguest.h - a userspace guest for testing vmbus-worker without a VM.
 *
 * The worker is started with --qemu pointing at a program built on this
 * library, so it is launched exactly like QEMU: it parses QEMU's command
 * line, connects to the ivshmem socket as the ivshmem client, maps the BAR
 * memory and the guest RAM fd it inherited, serves QMP to the worker, and
 * then plays the guest's side of the bus (rings in guest RAM, GPADLs,
 * doorbells as eventfd writes, interrupts as eventfd reads). Tests can
 * follow the protocol or break it on purpose.
 */
#ifndef SIMGUEST_H
#define SIMGUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "host/guestmem.h"
#include "vmbus/control.h"
#include "vmbus/ring.h"
#include "vmbus/storage.h"
#include "vmbus/transport.h"

#define SIM_MAX_OFFERS 64

struct sim_channel {
	struct vmbus_ctl_offer offer;
	bool open;
	uint32_t gpadl_id;
	uint64_t ring_gpa;		/* first page of the ring GPADL */
	uint32_t ring_pages;
	uint32_t to_guest_page;
	struct vmbus_ring tx;		/* guest -> host */
	struct vmbus_ring rx;		/* host -> guest */
	uint32_t vector;
};

struct sim {
	struct guestmem mem;
	uint64_t next_free;		/* bump allocator in guest RAM */
	int bus_fd;
	uint8_t *bar;
	uint64_t bar_size;
	struct vmbus_bar_header *hdr;
	unsigned int nvectors;
	int host_efd[VMBUS_MAX_VECTORS];	/* write = ring the host's doorbell */
	int guest_efd[VMBUS_MAX_VECTORS];	/* readable = interrupt for us */
	int qmp_listen, qmp_fd;
	struct vmbus_ring ctl_tx, ctl_rx;
	uint32_t next_gpadl;
	uint32_t connect_result_version;
	unsigned int noffers;
	struct sim_channel chan[SIM_MAX_OFFERS];
	bool offers_done;
	bool powerdown_requested;
};

/* Parse QEMU's argv, connect, map memory, start QMP. Exits on failure. */
void sim_start(struct sim *s, int argc, char **argv);
/* Serve QMP and note interrupts for up to ms milliseconds. */
void sim_poll(struct sim *s, int ms);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t sim_now_ms(void);

void sim_doorbell(struct sim *s, unsigned int vector);
/* Handshake + CONNECT + REQUEST_OFFERS, collecting offers until OFFERS_DONE. */
int sim_connect(struct sim *s);
/* Send a raw control message (any bytes) on the guest->host control ring. */
int sim_ctl_send(struct sim *s, const void *msg, uint32_t len);
/*
 * Wait up to timeout_ms for a control message of type `type` (0: any),
 * handling offers/rescinds on the way. Returns its length or -ETIMEDOUT.
 */
int sim_ctl_wait(struct sim *s, uint32_t type, union vmbus_ctl_msg *ret, int timeout_ms);

/* Allocate zeroed, page-aligned guest RAM; returns its guest-physical address. */
uint64_t sim_alloc(struct sim *s, uint32_t pages);
void *sim_gpa_ptr(struct sim *s, uint64_t gpa);

struct sim_channel *sim_find(struct sim *s, const char *class_name, uint16_t subchannel);
/* GPADL + OPEN with rings of `pages` data pages each way; returns OPEN_RESULT status. */
int sim_open(struct sim *s, struct sim_channel *c, uint32_t pages, uint32_t vector);
int sim_close(struct sim *s, struct sim_channel *c);
int sim_send(struct sim *s, struct sim_channel *c, const void *buf, uint32_t len, uint64_t trans_id);
/*
 * Send a packet of any type whose first ext_len bytes (a multiple of 8) are
 * ext (a page list for VMBUS_PACKET_PAGES), then buf. -EAGAIN: ring full.
 */
int sim_send_ext(struct sim *s, struct sim_channel *c, uint16_t type, uint16_t flags,
		 const void *ext, uint32_t ext_len, const void *buf, uint32_t len, uint64_t trans_id);
/* As sim_recv, with the whole descriptor. */
int sim_recv_desc(struct sim *s, struct sim_channel *c, void *buf, uint32_t len,
		  struct vmbus_packet_desc *ret_desc, int timeout_ms);
/* Set the channel's event bit and ring the host (what a send does when the ring says so). */
void sim_signal_channel(struct sim *s, struct sim_channel *c);
/* Wait up to timeout_ms for one packet; returns its length, -ETIMEDOUT, or the ring error. */
int sim_recv(struct sim *s, struct sim_channel *c, void *buf, uint32_t len, uint64_t *trans_id,
	     int timeout_ms);

/*
 * Wait for the host's integration-service version negotiation on c and
 * accept it with version; fails the test (naming what) if the first
 * message is anything else.
 */
void sim_ic_negotiate(struct sim *s, struct sim_channel *c, uint32_t version, const char *what);

/* Ask the worker for something over its control socket; reply into buf. */
int sim_worker_request(const char *request, char *buf, size_t len);

/* Scenarios that live in their own files (tests/sim/scenario_NAME.c). */
/* Storage requests (scenario_storage.c): a page list of guest memory, a request, its completion. */
#define SIM_STOR_LIST_MAX 4096
struct sim_stor_list {
	uint64_t w[SIM_STOR_LIST_MAX / 8];
	uint32_t len;
};
void sim_stor_list_init(struct sim_stor_list *l);
/* Add len bytes at guest address gpa (pages contiguous in our RAM). */
void sim_stor_list_add(struct sim_stor_list *l, uint64_t gpa, uint32_t len);
int sim_stor_send(struct sim *s, struct sim_channel *c, uint32_t op, uint32_t flags,
		  uint64_t sector, uint32_t nsectors, const struct sim_stor_list *l, uint64_t id);
/* The completion of request id (it must be the next packet); its status. */
uint32_t sim_stor_wait(struct sim *s, struct sim_channel *c, uint64_t id,
		       struct vmbus_stor_identity *ret_id);

void scenario_timesync(struct sim *s);
void scenario_kvp(struct sim *s);
void scenario_storage(struct sim *s);
void scenario_storage_crash(struct sim *s);
void scenario_backup(struct sim *s);

#define SIM_FAIL(...) do { fprintf(stderr, "sim-guest: FAIL: " __VA_ARGS__); \
	fputc('\n', stderr); exit(1); } while (0)
#define SIM_LOG(...) do { fprintf(stderr, "sim-guest: " __VA_ARGS__); fputc('\n', stderr); } while (0)

#endif
