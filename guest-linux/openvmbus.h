// SPDX-License-Identifier: GPL-2.0
/*
 * openvmbus.h - the driver-facing API of the openvmbus guest bus.
 *
 * A device driver registers a struct openvmbus_driver with a table of the
 * device classes (GUIDs from vmbus/classes.h) it serves. The bus creates one
 * struct openvmbus_device per primary channel the host offers and binds it
 * to the matching driver; the driver opens the device's channel and talks
 * to the host through it. Sub-channels (multi-queue devices) are handed to
 * the driver that owns the primary channel, not made into devices.
 *
 * Everything returns 0 (or a count) on success and a negative errno:
 *   -EAGAIN  ring full / ring empty    -ENOBUFS  caller's buffer too small
 *   -ENODEV  channel closed, rescinded, bus unloaded or host not responding
 *   -EPROTO  the host broke the protocol  -EINVAL  bad argument
 *
 * Context: functions that talk to the host over the control rings (open,
 * close, GPADLs, target CPU, sub-channel requests) sleep and must be called
 * from process context. Send, receive and the readiness checks never sleep
 * and may be called from any context, the channel callback included.
 */
#ifndef OPENVMBUS_H
#define OPENVMBUS_H

#include <linux/device.h>
#include <linux/module.h>
#include <linux/types.h>

#include "vmbus/classes.h"
#include "vmbus/guid.h"
#include "vmbus/ring.h"
#include "vmbus/transport.h"

struct openvmbus_channel;

struct openvmbus_device_id {
	struct vmbus_guid class_id;	/* a table ends with a null GUID */
	unsigned long driver_data;
};

struct openvmbus_device {
	struct device dev;		/* named by the instance GUID */
	struct vmbus_guid class_id;
	struct vmbus_guid instance_id;
	const struct vmbus_class_info *class_info;	/* NULL for an unknown class */
	struct openvmbus_channel *channel;		/* the primary channel */
};

static inline struct openvmbus_device *to_openvmbus_device(struct device *dev)
{
	return container_of(dev, struct openvmbus_device, dev);
}

struct openvmbus_driver {
	const char *name;
	const struct openvmbus_device_id *id_table;
	int (*probe)(struct openvmbus_device *dev, const struct openvmbus_device_id *id);
	/* Must close every channel it opened; the bus closes leftovers with a warning. */
	void (*remove)(struct openvmbus_device *dev);
	void (*shutdown)(struct openvmbus_device *dev);		/* optional */
	/*
	 * Sub-channels, optional (both or neither). sc_offer is called from the
	 * bus's offer worker for each sub-channel of a bound device (also for
	 * those offered before the driver bound, right after probe); never
	 * wait for it inside probe. sc_rescind: the host withdrew sc; close it
	 * and forget the pointer before returning.
	 */
	void (*sc_offer)(struct openvmbus_device *dev, struct openvmbus_channel *sc);
	void (*sc_rescind)(struct openvmbus_device *dev, struct openvmbus_channel *sc);
	struct device_driver driver;
};

int __openvmbus_driver_register(struct openvmbus_driver *drv, struct module *owner,
				const char *mod_name);
#define openvmbus_driver_register(drv) \
	__openvmbus_driver_register(drv, THIS_MODULE, KBUILD_MODNAME)
void openvmbus_driver_unregister(struct openvmbus_driver *drv);
#define module_openvmbus_driver(drv) \
	module_driver(drv, openvmbus_driver_register, openvmbus_driver_unregister)

/* ------------------------------------------------------------------ channels */

/*
 * Called in softirq context, on the channel's target CPU, whenever the host
 * signals the channel: packets arrived, or room appeared in the send ring
 * after a send returned -EAGAIN. Also called once when the channel is
 * rescinded and when the host stops or starts responding again. Calls for
 * one channel never run concurrently. Read until openvmbus_channel_recv()
 * returns -EAGAIN: the host signals again only after the ring was empty.
 */
typedef void (*openvmbus_channel_callback_t)(void *ctx);

/*
 * Allocate the ring pair (each size is rounded up to whole pages, 4 KiB ..
 * 16 MiB of data per direction), describe it to the host and open the
 * channel. The callback may run before this returns.
 */
int openvmbus_channel_open(struct openvmbus_channel *ch, u32 send_ring_bytes,
			   u32 recv_ring_bytes, openvmbus_channel_callback_t callback,
			   void *ctx);
/*
 * Close the channel and free its rings. When the callback returns the last
 * time has passed before this returns. If the host does not acknowledge
 * (e.g. the worker died), the ring pages are leaked rather than freed, since
 * the host might still write them.
 */
void openvmbus_channel_close(struct openvmbus_channel *ch);

/* Send flags */
#define OPENVMBUS_SEND_COMPLETION_REQUESTED VMBUS_PACKET_F_COMPLETION_REQUESTED
/*
 * More packets follow (not a wire flag): the packet is written but the host
 * does not see it, and is not signalled, until a send without this flag or
 * openvmbus_channel_flush() publishes everything written so far - one
 * signal for a batch instead of one per packet. The caller must make sure
 * one of those comes; a send that finds the ring full publishes the batch
 * itself before it returns -EAGAIN.
 */
#define OPENVMBUS_SEND_BATCH		0x8000

/* One VMBUS_PACKET_INBAND packet. -EAGAIN when the ring is full: the callback runs once room appears. */
int openvmbus_channel_send(struct openvmbus_channel *ch, const void *buf, u32 len,
			   u64 trans_id, u16 flags);
/* Publish what sends with OPENVMBUS_SEND_BATCH left, signalling the host if needed. */
void openvmbus_channel_flush(struct openvmbus_channel *ch);
/* One VMBUS_PACKET_COMPLETION packet answering the host's request trans_id. */
int openvmbus_channel_send_completion(struct openvmbus_channel *ch, const void *buf,
				      u32 len, u64 trans_id);

/*
 * Page lists: a VMBUS_PACKET_PAGES packet carries guest pages by reference.
 * Its type-specific header (the bytes between the 16-byte descriptor and
 * the payload, offset8 * 8 - 16 bytes) is, little-endian:
 *
 *   struct openvmbus_page_list_hdr   { u32 range_count; u32 reserved (0); }
 *   range_count times:
 *     struct openvmbus_page_range_hdr { u32 offset; u32 len; }
 *     u64 pfn[DIV_ROUND_UP(offset + len, 4096)]
 *
 * A range is `len` bytes (> 0) starting `offset` bytes (< 4096) into the
 * first of its pages; the pages need not be contiguous. The header length
 * must equal exactly what the ranges describe. The pages must stay
 * allocated, and unchanged if the host reads them, until the host's
 * completion (send with OPENVMBUS_SEND_COMPLETION_REQUESTED).
 */
struct openvmbus_page_list_hdr {
	u32 range_count;
	u32 reserved;
};

struct openvmbus_page_range_hdr {
	u32 offset;
	u32 len;
	u64 pfn[];
};

/* A page list being built in caller-provided memory (8-byte aligned). */
struct openvmbus_page_list {
	void *buf;
	u32 size;	/* bytes available at buf */
	u32 used;	/* bytes of wire format written */
	u32 last;	/* where the last range's header is (0: no range yet) */
};

/* Bytes of a page list with nranges ranges covering npages pages in total. */
static inline size_t openvmbus_page_list_bytes(u32 nranges, u32 npages)
{
	return sizeof(struct openvmbus_page_list_hdr) +
	       (size_t)nranges * sizeof(struct openvmbus_page_range_hdr) + (size_t)npages * 8;
}

void openvmbus_page_list_init(struct openvmbus_page_list *pl, void *buf, u32 size);
/*
 * Append len bytes at offset in page pfn (within that page), joining the
 * last range where they continue it: right after it in its last page, or
 * from the start of the next page when it ends at a page boundary. Builds
 * a request's list piece by piece in place. -ENOBUFS if pl is full, -EINVAL.
 */
int openvmbus_page_list_add_page(struct openvmbus_page_list *pl, u64 pfn, u32 offset, u32 len);
/* Append a kernel buffer (linear map or vmalloc; not module data or stack). */
int openvmbus_page_list_add_buf(struct openvmbus_page_list *pl, const void *addr, u32 len);
/* Page frame number of a linear-map or vmalloc address. */
u64 openvmbus_virt_to_pfn(const void *addr);

int openvmbus_channel_send_pages(struct openvmbus_channel *ch,
				 const struct openvmbus_page_list *pl,
				 const void *buf, u32 len, u64 trans_id, u16 flags);

struct openvmbus_packet_info {
	u16 type;	/* enum vmbus_packet_type */
	u16 flags;
	u32 len;	/* payload bytes: a multiple of 8, the ring pads packets */
	u64 trans_id;
};

/*
 * Copy out and consume the next packet: its payload to buf (a page list
 * from the host is dropped). buf_len must cover the whole packet body;
 * -ENOBUFS consumes nothing and sets ret_info->len to the size needed.
 * -EAGAIN when the ring is empty.
 */
int openvmbus_channel_recv(struct openvmbus_channel *ch, void *buf, u32 buf_len,
			   struct openvmbus_packet_info *ret_info);

/* A packet is waiting (or recv would fail at once with an error). */
bool openvmbus_channel_recv_ready(struct openvmbus_channel *ch);
/*
 * A send of len payload bytes would not return -EAGAIN. When it returns
 * false the host is asked to signal (callback) once that much room exists.
 */
bool openvmbus_channel_send_ready(struct openvmbus_channel *ch, u32 len);
/* Largest payload of one packet in each direction; 0 while closed. */
u32 openvmbus_channel_max_send(struct openvmbus_channel *ch);
u32 openvmbus_channel_max_recv(struct openvmbus_channel *ch);

/* Move the channel's interrupts to cpu (online); sleeps for the host's answer when open. */
int openvmbus_channel_set_target_cpu(struct openvmbus_channel *ch, unsigned int cpu);
unsigned int openvmbus_channel_target_cpu(const struct openvmbus_channel *ch);

u32 openvmbus_channel_id(const struct openvmbus_channel *ch);
/* 0 for a primary channel. */
u16 openvmbus_channel_subchannel_index(const struct openvmbus_channel *ch);
/* Sub-channels the host said it could offer for this primary channel. */
u32 openvmbus_channel_max_subchannels(const struct openvmbus_channel *ch);
/* The device-specific bytes of the offer. */
const void *openvmbus_channel_offer_data(const struct openvmbus_channel *ch, u32 *ret_len);
bool openvmbus_channel_is_rescinded(const struct openvmbus_channel *ch);
/*
 * The host worker answers on ch's connection: its heartbeat moves and the
 * connection is usable. While it does not, sends fail with -ENODEV and
 * what the host already holds may never be answered - or, if the worker
 * was only stalled, be answered late. The callback runs once at each
 * change, so a driver that reads this there sees every transition.
 */
bool openvmbus_channel_host_responding(const struct openvmbus_channel *ch);

/*
 * Ask the host for count sub-channels of primary. Returns how many it will
 * offer (0 .. count); they arrive later through the driver's sc_offer.
 */
int openvmbus_subchannel_request(struct openvmbus_channel *primary, u32 count);

/* ------------------------------------------------------------------- GPADLs */

/*
 * A buffer in guest memory described to the host (Guest Physical Address
 * Descriptor List); drivers pass `id` to the host in their own protocol.
 * The bus allocates the buffer (zeroed, vmalloc) so that it can keep it
 * alive if the host never confirms the teardown.
 */
struct openvmbus_gpadl {
	void *buf;
	size_t size;		/* whole pages */
	u32 id;
	/* private to the bus */
	struct openvmbus_channel *channel;
	struct list_head orphan_node;
};

struct openvmbus_gpadl *openvmbus_gpadl_alloc(struct openvmbus_channel *ch, size_t size);
/* Tear down and free (or leak, see openvmbus_channel_close()); NULL is a no-op. */
void openvmbus_gpadl_free(struct openvmbus_gpadl *gpadl);

#endif /* OPENVMBUS_H */
