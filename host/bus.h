/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * bus.h - the host channel manager: the connection handshake, the control
 * protocol (offers, GPADLs, open/close, retarget, sub-channels, rescind,
 * unload) and event delivery between channels and device backends.
 *
 * Everything the guest sends is validated here (control messages through
 * vmbus_ctl_validate(), addresses through guestmem_translate(), rings by the
 * ring core) before a backend sees it. A guest that breaks the rules of one
 * channel gets that channel reset (rescinded and offered again); a broken
 * control ring resets the whole connection, as a guest reboot would.
 */
#ifndef HOST_BUS_H
#define HOST_BUS_H

#include "vmbus/control.h"
#include "vmbus/ring.h"
#include "vmbus/transport.h"
#include "host/guestmem.h"
#include "host/ivshmem.h"
#include "host/json.h"

struct bus;
struct channel;
struct device;

/* A device backend: one per device class, listed in host/devices.c. */
struct device_ops {
	const char *name;
	struct vmbus_guid class_id;
	uint32_t ring_size_max;		/* 0: VMBUS_MAX_CHANNEL_RING_SIZE */
	size_t priv_size;		/* zeroed state allocated with the device (dev->priv) */
	uint32_t max_subchannels;
	/* The guest opened a channel of this device (primary or sub-channel). */
	int (*open)(struct device *dev, struct channel *ch);
	/* The channel is going away (close, rescind, reset, unload). */
	void (*close)(struct device *dev, struct channel *ch);
	/* The guest signalled the channel: read what it sent. */
	void (*event)(struct device *dev, struct channel *ch);
	/* Once a second while the worker runs. */
	void (*tick)(struct device *dev);
	/* Append device state to a JSON object under construction (no braces). */
	void (*status)(struct device *dev, struct json_writer *w);
	/*
	 * Control-socket request "service NAME ARGS..." for this backend
	 * (argv[0] is the first of ARGS). Add the result to out; return 0 or a
	 * negative errno. When it fails with *error set, that sentence is the
	 * reply's "error".
	 */
	int (*command)(struct device *dev, int argc, char **argv, struct json_writer *out,
		       const char **error);
	/* The VM runs again after a pause (QMP STOP ... RESUME) of paused_s seconds. */
	void (*vm_resumed)(struct device *dev, double paused_s);
	/* Free what the backend allocated itself; dev->priv is freed by the bus. */
	void (*destroy)(struct device *dev);
};

#define DEVICE_NAME_MAX 32

struct device {
	const struct device_ops *ops;
	struct bus *bus;
	char name[DEVICE_NAME_MAX];	/* ops->name, or the instance's own ("disk0") */
	struct vmbus_guid instance_id;
	struct channel *primary;	/* NULL once removed */
	void *priv;			/* the backend's state */
	struct device *next;
};

enum channel_state {
	CHANNEL_OFFERED,	/* offered (or waiting for the guest to connect) */
	CHANNEL_OPEN,
	CHANNEL_RESCINDED,	/* rescind sent, waiting for RELEASE */
};

struct gpadl;

struct channel {
	uint32_t id;
	uint16_t subchannel_index;
	enum channel_state state;
	struct device *dev;
	struct channel *primary;	/* for sub-channels */
	uint32_t target_cpu;
	uint32_t vector;
	struct gpadl *ring_gpadl;
	void *ring_map;
	uint32_t ring_pages;
	struct vmbus_ring rx;		/* guest -> host, we consume */
	struct vmbus_ring tx;		/* host -> guest, we produce */
	uint64_t events;		/* guest signals received */
	uint64_t signals;		/* signals sent to the guest */
	uint64_t missed_signals;	/* stalls found by the once-a-second check */
	uint32_t stall_write_index;	/* ring state at the last check */
	uint32_t stall_read_index;
	bool reoffer;			/* offer again after RELEASE (reset) */
	const char *reset_reason;	/* set by channel_reset(), acted on later */
};

enum bus_guest_state {
	BUS_GUEST_ABSENT,		/* no guest has connected since reset */
	BUS_GUEST_CONNECTED,		/* CONNECT accepted */
};

/*
 * The worker's event loop as backends see it: watch(loop, fd, fn, poll, arg)
 * makes the loop call fn(arg) whenever fd is readable (an eventfd of a
 * backend's I/O engine, say); unwatch stops that. Harnesses have no loop
 * (bus.loop NULL): backends must then finish their work synchronously.
 *
 * poll (may be NULL) lets the loop look for work without a system call
 * while it busy-polls before sleeping (docs/decisions.md, "Polling"):
 * poll(arg) > 0: fn(arg) has work now; 0: work is in flight and may end
 * soon; < 0: nothing is in flight (no reason to poll).
 */
typedef int (*bus_poll_fn)(void *arg);

struct bus_loop {
	int (*watch)(void *loop, int fd, void (*fn)(void *arg), bus_poll_fn poll, void *arg);
	void (*unwatch)(void *loop, int fd);
	void *loop;
};

struct bus {
	struct guestmem *mem;
	const struct bus_loop *loop;	/* NULL: none (harnesses) */
	struct ivshmem_server *ivs;
	uint8_t *bar;
	uint32_t bar_size;
	struct vmbus_bar_header *hdr;
	struct vmbus_ring ctl_rx;	/* guest -> host control */
	struct vmbus_ring ctl_tx;	/* host -> guest control */
	uint64_t *to_host_events;
	uint64_t *to_guest_events;	/* num_vectors bitmaps */
	uint32_t bitmap_words;
	uint32_t nvectors;

	enum bus_guest_state guest_state;
	uint32_t version;
	uint32_t connect_seq;		/* last sequence we acknowledged */
	bool offers_requested;
	uint64_t connects;		/* connections since the worker started */
	uint64_t resets;		/* channel resets caused by the guest */
	bool resets_pending;		/* some channel has a reset_reason */
	bool vm_paused;			/* QEMU stopped the vCPUs (QMP STOP): the guest answers nothing */
	uint64_t protocol_errors;
	uint64_t last_signal_ns;	/* devices_now_ns() of the last channel interrupt to the guest */

	struct channel *channels[VMBUS_MAX_CHANNELS];
	struct gpadl *gpadls;
	uint32_t ngpadls;
	uint32_t gpadl_pages;
	struct device *devices;

	/* Control messages waiting for room in the host -> guest ring. */
	struct ctl_pending *pending_head, **pending_tail;
	uint32_t npending;
};

int bus_init(struct bus *b, struct guestmem *mem, struct ivshmem_server *ivs,
	     void *bar, uint32_t bar_size, uint32_t nvectors);
void bus_destroy(struct bus *b);

/* Event sources, called by the worker's event loop. */
void bus_handle_control_doorbell(struct bus *b);
void bus_handle_channel_doorbell(struct bus *b);
void bus_tick(struct bus *b);		/* once a second */
/* QEMU reset the guest: forget everything, as if it had never connected. */
void bus_guest_reset(struct bus *b, const char *why);

/* Channel resets backends asked for (channel_reset()), done outside their callbacks. */
void bus_process_resets(struct bus *b);
/* A backend's event source in the worker's loop; -EOPNOTSUPP without a loop. */
int bus_watch_fd(struct bus *b, int fd, void (*fn)(void *arg), bus_poll_fn poll, void *arg);
/* A guest doorbell's work is waiting (read from the event bitmap, no system call). */
bool bus_channel_events_pending(const struct bus *b);
void bus_unwatch_fd(struct bus *b, int fd);

/* Devices. */
int bus_add_device(struct bus *b, const struct device_ops *ops, struct device **ret);
/*
 * The same for a backend with several instances per VM (disks): each has
 * its own name for bus_find_device() and the control socket. -EEXIST if
 * the name is taken, -EINVAL if it is empty or too long.
 */
int bus_add_named_device(struct bus *b, const struct device_ops *ops, const char *name,
			 struct device **ret);
/* Rescind and drop a device; its channels close. */
void bus_remove_device(struct bus *b, struct device *dev);
struct device *bus_find_device(struct bus *b, const char *name);

/* For backends. */
int channel_send(struct channel *ch, uint16_t type, uint16_t flags, uint64_t trans_id,
		 const void *buf, uint32_t len);
/* Returns 0 with *ret_len, -EAGAIN when empty, -ENOBUFS, -EPROTO. */
int channel_recv(struct channel *ch, struct vmbus_packet_desc *ret_desc,
		 void *buf, uint32_t len, uint32_t *ret_len);
/* Finish a batch of channel_recv() calls: publish and re-check. Returns >0 if more arrived. */
int64_t channel_recv_done(struct channel *ch);
/* The guest broke this channel's protocol: log why, rescind and offer it again. */
void channel_reset(struct channel *ch, const char *why);

const char *channel_state_name(enum channel_state s);

#endif
