// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * storage.c - the synthetic disk backend (docs/protocol/storage.md).
 *
 * Each channel of a disk (primary = queue 0, sub-channel N = queue N) is
 * read one request at a time: the packet is copied out, its framing checked
 * (packet type, page list, header size: a violation resets the channel),
 * then its meaning (op, flags, range inside the disk, length equal to the
 * page list, every page inside guest RAM, write to a read-only disk: each
 * refused with a status in the request's completion) - all before any I/O.
 * When the guest's ring has no room for a completion, the completion is
 * kept and reading stops until the guest makes room: a flood of requests
 * is throttled by the guest's own ring.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "host/devices.h"
#include "host/devices/storage.h"
#include "host/devices/storage_io.h"
#include "host/devices/storage_snap.h"
#include "host/log.h"
#include "vmbus/classes.h"
#include "vmbus/pagelist.h"
#include "vmbus/storage.h"

/* Largest packet a well-behaved guest sends: descriptor aside, a full page list + request. */
#define STORAGE_PACKET_MAX \
	(8u + VMBUS_STOR_MAX_RANGES * 8u + VMBUS_STOR_MAX_PAGES * 8u + 64u)

struct storage_reply {
	struct vmbus_stor_completion c;
	struct vmbus_stor_identity id;
};

struct storage_queue;

/* One request from its arrival to its completion's send. */
struct storage_slot {
	struct storage_io io;
	struct storage_queue *q;
	uint64_t trans_id;
	uint64_t t_read;		/* CLOCK_MONOTONIC ns: when the request was read */
	uint32_t len;			/* of the reply */
	struct storage_reply reply;
	struct storage_slot *next;	/* free list, or completions to send */
	struct iovec iov[VMBUS_STOR_MAX_PAGES];
};

/* One channel (queue) of the disk, with its own I/O engine. */
struct storage_queue {
	struct device *dev;
	struct channel *ch;		/* NULL while closed */
	struct storage_engine *engine;	/* kept across close and reopen */
	struct storage_slot *slots;	/* VMBUS_STOR_QUEUE_DEPTH of them, while open */
	struct storage_slot *free;
	struct storage_slot *done_head, **done_tail;
	uint64_t batches;		/* rounds of reading the ring that queued I/O */
};

struct storage_state {
	bool attached;			/* false: no medium (every request fails) */
	int fd;
	int direct_fd;			/* O_DIRECT on the same file, or -1 (when attached) */
	uint32_t direct_align;
	char *path;
	bool readonly;
	uint64_t capacity;		/* sectors */
	uint32_t physical_block_size;
	char serial[VMBUS_STOR_SERIAL_LEN + 1];
	struct vmbus_guid unique_id;
	uint8_t *buf;			/* the request being parsed, copied out */
	struct storage_queue q[VMBUS_STOR_MAX_QUEUES];
	uint64_t reads, writes, flushes, discards, zeroes, identifies;
	uint64_t bytes_read, bytes_written, errors, resets, direct_ios, buffered_ios;
	/* A request's time on the host: from its read to its I/O's end, and to its answer. */
	uint64_t answered, answer_ns, io_done, io_ns;
	struct storage_cbt cbt;		/* chunks written since the last backup */
	uint64_t *cbt_taken;		/* the running backup's share of them */
	char cbt_taken_since[STORAGE_BACKUP_ID_MAX + 1];	/* ... changes since this backup */
	/*
	 * The last backup's share and what it was relative to: vmbusctl may
	 * still discard that backup (a failed verification), and the next
	 * incremental then builds on the one before it.
	 */
	uint64_t *cbt_prev;
	char cbt_prev_since[STORAGE_BACKUP_ID_MAX + 1];
	struct storage_snap *snap;	/* a backup's snapshot (owned by the backup) */
	uint64_t backups;
};

static void storage_queue_run(struct storage_queue *q);

/* The engine's eventfd fired: completions wait. */
static void storage_engine_ready(void *arg)
{
	storage_queue_run(arg);
}

/* The event loop busy-polls: have completions come in? (bus_poll_fn) */
static int storage_engine_poll_fn(void *arg)
{
	struct storage_queue *q = arg;

	return q->engine ? storage_engine_poll(q->engine) : -1;
}

static int storage_queue_engine(struct device *dev, struct storage_queue *q)
{
	struct storage_state *s = dev->priv;
	enum storage_engine_kind kind;
	const char *why;
	int r;

	if (q->engine)
		return 0;
	if (storage_engine_from_env(&kind) < 0)
		log_warning("%s: unknown OPENVMBUS_STORAGE_ENGINE (io_uring, threads or sync): "
			    "using io_uring", dev->name);
	if (!dev->bus->loop)
		kind = STORAGE_ENGINE_SYNC;
	r = storage_engine_new(kind, VMBUS_STOR_QUEUE_DEPTH, &q->engine, &why);
	if (r < 0)
		return r;
	if (kind != storage_engine_kind(q->engine))
		log_warning("%s: %s: I/O goes through a thread pool", dev->name, why);
	if (q == &s->q[0]) {
		if (s->attached && s->direct_fd >= 0)
			log_info("%s: I/O through %s, direct (O_DIRECT, %u-byte alignment)", dev->name,
				 storage_engine_name(storage_engine_kind(q->engine)), s->direct_align);
		else
			log_info("%s: I/O through %s, buffered", dev->name,
				 storage_engine_name(storage_engine_kind(q->engine)));
	}
	if (storage_engine_fd(q->engine) >= 0) {
		r = bus_watch_fd(dev->bus, storage_engine_fd(q->engine), storage_engine_ready,
				 storage_engine_poll_fn, q);
		if (r < 0) {
			storage_engine_free(q->engine);
			q->engine = NULL;
			return r;
		}
	}
	return 0;
}

static int storage_open(struct device *dev, struct channel *ch)
{
	struct storage_state *s = dev->priv;
	struct storage_queue *q;
	int r;

	if (ch->subchannel_index >= VMBUS_STOR_MAX_QUEUES)
		return -EINVAL;
	if (!s->buf && !(s->buf = malloc(STORAGE_PACKET_MAX)))
		return -ENOMEM;
	q = &s->q[ch->subchannel_index];
	r = storage_queue_engine(dev, q);
	if (r < 0)
		return r;
	free(q->slots);
	q->slots = calloc(VMBUS_STOR_QUEUE_DEPTH, sizeof(*q->slots));
	if (!q->slots)
		return -ENOMEM;
	q->free = NULL;
	for (unsigned int i = VMBUS_STOR_QUEUE_DEPTH; i-- > 0;) {
		q->slots[i].q = q;
		q->slots[i].next = q->free;
		q->free = &q->slots[i];
	}
	q->done_head = NULL;
	q->done_tail = &q->done_head;
	q->dev = dev;
	q->ch = ch;
	return 0;
}

/* I/O of a closing queue finished: nobody is told. */
static void storage_io_dropped(struct storage_io *io, void *ctx)
{
	(void)io;
	(void)ctx;
}

/*
 * The channel goes away (close, reset, rescind, guest reset): wait for its
 * I/O, so nothing writes into guest pages once the guest may reuse them.
 */
static void storage_close(struct device *dev, struct channel *ch)
{
	struct storage_state *s = dev->priv;
	struct storage_queue *q;

	if (ch->subchannel_index >= VMBUS_STOR_MAX_QUEUES)
		return;
	q = &s->q[ch->subchannel_index];
	if (q->ch != ch)
		return;
	if (q->engine)
		storage_engine_drain(q->engine, storage_io_dropped, NULL);
	q->ch = NULL;
	free(q->slots);
	q->slots = NULL;
	q->free = NULL;
	q->done_head = NULL;
	q->done_tail = &q->done_head;
}

static void storage_identify(struct device *dev, const struct vmbus_stor_request *rq,
			     struct storage_reply *rp, uint32_t *ret_len)
{
	struct storage_state *s = dev->priv;
	struct vmbus_stor_identity *id = &rp->id;

	if (rq->arg < VMBUS_STOR_VERSION_1) {
		rp->c.status = VMBUS_STOR_S_UNSUPPORTED;
		return;
	}
	id->version = VMBUS_STOR_VERSION_1;
	id->flags = VMBUS_STOR_ID_WRITE_CACHE;
	if (s->readonly)
		id->flags |= VMBUS_STOR_ID_READ_ONLY;
	else
		id->flags |= VMBUS_STOR_ID_DISCARD | VMBUS_STOR_ID_WRITE_ZEROES;
	id->capacity = s->capacity;
	id->logical_block_size = VMBUS_STOR_SECTOR_SIZE;
	id->physical_block_size = s->physical_block_size;
	id->optimal_io_size = 0;
	id->max_transfer = VMBUS_STOR_MAX_TRANSFER;
	id->max_ranges = VMBUS_STOR_MAX_RANGES;
	id->max_pages = VMBUS_STOR_MAX_PAGES;
	id->queue_depth = VMBUS_STOR_QUEUE_DEPTH;
	id->num_queues = 1 + dev->ops->max_subchannels;
	id->max_discard_sectors = s->readonly ? 0 : VMBUS_STOR_MAX_DISCARD;
	id->discard_granularity = s->physical_block_size;
	id->max_write_zeroes_sectors = s->readonly ? 0 : VMBUS_STOR_MAX_DISCARD;
	memcpy(id->serial, s->serial, strnlen(s->serial, VMBUS_STOR_SERIAL_LEN));
	id->unique_id = s->unique_id;
	*ret_len = sizeof(rp->c) + sizeof(rp->id);
	s->identifies++;
}

/* Is [sector, sector + n) inside the disk? */
static bool storage_in_range(const struct storage_state *s, uint64_t sector, uint64_t n)
{
	return sector <= s->capacity && n <= s->capacity - sector;
}

/*
 * Guest pages of a checked page list as an iovec: every page through
 * guestmem_ptr(), so nothing outside plain guest RAM is ever touched.
 */
static int storage_map_pages(struct device *dev, const void *list, struct iovec *iov,
			     int *ret_niov)
{
	const struct guestmem *gm = dev->bus->mem;
	struct vmbus_page_list_iter it;
	struct vmbus_page_range r;
	int niov = 0;

	vmbus_page_list_iter_init(&it, list);
	while (vmbus_page_list_next(&it, &r)) {
		uint32_t off = r.offset, left = r.len;

		for (uint32_t i = 0; i < r.npages; i++) {
			uint32_t chunk = GUESTMEM_PAGE_SIZE - off < left ? GUESTMEM_PAGE_SIZE - off : left;
			uint64_t pfn;
			void *p;

			memcpy(&pfn, &r.pfn[i], sizeof(pfn));
			if (pfn > UINT64_MAX / GUESTMEM_PAGE_SIZE)
				return -EFAULT;
			p = guestmem_ptr(gm, pfn * GUESTMEM_PAGE_SIZE + off, chunk);
			if (!p || niov >= (int)VMBUS_STOR_MAX_PAGES)
				return -EFAULT;
			/* Guest pages that follow each other in RAM make one iovec. */
			if (niov && (uint8_t *)iov[niov - 1].iov_base + iov[niov - 1].iov_len == p)
				iov[niov - 1].iov_len += chunk;
			else
				iov[niov++] = (struct iovec){ .iov_base = p, .iov_len = chunk };
			left -= chunk;
			off = 0;
		}
	}
	*ret_niov = niov;
	return 0;
}

/* Can the O_DIRECT descriptor take this transfer (buffers, offset, length aligned)? */
static bool storage_direct_ok(const struct storage_state *s, const struct storage_io *io)
{
	uint64_t mask = s->direct_align - 1;

	if (s->direct_fd < 0 || (io->off & mask) || (io->len & mask))
		return false;
	for (int i = 0; i < io->niov; i++)
		if (((uintptr_t)io->iov[i].iov_base & mask) || (io->iov[i].iov_len & mask))
			return false;
	return true;
}

/* A write, discard or write-zeroes is about to change [off, off + len). */
static void storage_will_change(struct storage_state *s, uint64_t off, uint64_t len)
{
	storage_cbt_mark(&s->cbt, off, len);
	if (s->snap)
		storage_snap_before_write(s->snap, off, len);
}

/*
 * Check a READ/WRITE and make it the slot's I/O; or a status. list is the
 * packet's page list (NULL: none), which the framing check already walked
 * into *info.
 */
static uint32_t storage_rw(struct device *dev, const struct vmbus_stor_request *rq,
			   const void *list, const struct vmbus_page_list_info *info,
			   struct storage_slot *slot)
{
	struct storage_state *s = dev->priv;
	struct storage_io *io = &slot->io;
	bool write = rq->op == VMBUS_STOR_OP_WRITE;
	uint64_t bytes = (uint64_t)rq->nsectors * VMBUS_STOR_SECTOR_SIZE;
	int niov;

	if (!list) {
		log_guest(LOG_WARNING, "%s: read/write without a page list", dev->name);
		return VMBUS_STOR_S_INVALID;
	}
	if (info->nranges > VMBUS_STOR_MAX_RANGES || info->npages > VMBUS_STOR_MAX_PAGES) {
		log_guest(LOG_WARNING, "%s: page list over the limits", dev->name);
		return VMBUS_STOR_S_INVALID;
	}
	if ((rq->flags & VMBUS_STOR_F_FUA) && !write)
		return VMBUS_STOR_S_INVALID;
	if (rq->nsectors == 0 || bytes != info->bytes || bytes > VMBUS_STOR_MAX_TRANSFER) {
		log_guest(LOG_WARNING, "%s: request of %llu bytes with a page list of %llu bytes",
			  dev->name, (unsigned long long)bytes, (unsigned long long)info->bytes);
		return VMBUS_STOR_S_INVALID;
	}
	if (!storage_in_range(s, rq->sector, rq->nsectors)) {
		log_guest(LOG_WARNING, "%s: request for sectors %llu+%u beyond the disk (%llu sectors)",
			  dev->name, (unsigned long long)rq->sector, rq->nsectors,
			  (unsigned long long)s->capacity);
		return VMBUS_STOR_S_OUT_OF_RANGE;
	}
	if (write && s->readonly) {
		log_guest(LOG_WARNING, "%s: write to a read-only disk refused", dev->name);
		return VMBUS_STOR_S_READ_ONLY;
	}
	if (storage_map_pages(dev, list, slot->iov, &niov) < 0) {
		log_guest(LOG_WARNING, "%s: page list outside guest RAM", dev->name);
		return VMBUS_STOR_S_BAD_ADDRESS;
	}
	*io = (struct storage_io){
		.op = write ? STORAGE_IO_WRITE : STORAGE_IO_READ,
		.fua = rq->flags & VMBUS_STOR_F_FUA,
		.fd = s->fd,
		.direct_fd = -1,
		.off = rq->sector * VMBUS_STOR_SECTOR_SIZE,
		.len = bytes,
		.iov = slot->iov,
		.niov = niov,
	};
	if (storage_direct_ok(s, io)) {
		io->direct_fd = s->direct_fd;
		s->direct_ios++;
	} else {
		s->buffered_ios++;
	}
	slot->reply.c.bytes = bytes;
	if (write)
		storage_will_change(s, io->off, io->len);
	return VMBUS_STOR_S_OK;
}

/* Check a DISCARD/WRITE_ZEROES and make it the slot's I/O; or a status. */
static uint32_t storage_range_op(struct device *dev, const struct vmbus_stor_request *rq,
				 struct storage_slot *slot)
{
	struct storage_state *s = dev->priv;

	if (rq->flags || rq->nsectors == 0 || rq->nsectors > VMBUS_STOR_MAX_DISCARD)
		return VMBUS_STOR_S_INVALID;
	if (!storage_in_range(s, rq->sector, rq->nsectors)) {
		log_guest(LOG_WARNING, "%s: discard/write-zeroes of sectors %llu+%u beyond the disk",
			  dev->name, (unsigned long long)rq->sector, rq->nsectors);
		return VMBUS_STOR_S_OUT_OF_RANGE;
	}
	if (s->readonly)
		return VMBUS_STOR_S_READ_ONLY;
	slot->io = (struct storage_io){
		.op = rq->op == VMBUS_STOR_OP_DISCARD ? STORAGE_IO_DISCARD : STORAGE_IO_WRITE_ZEROES,
		.fd = s->fd,
		.direct_fd = -1,
		.off = rq->sector * VMBUS_STOR_SECTOR_SIZE,
		.len = (uint64_t)rq->nsectors * VMBUS_STOR_SECTOR_SIZE,
	};
	storage_will_change(s, slot->io.off, slot->io.len);
	return VMBUS_STOR_S_OK;
}

/*
 * One request into slot: 1 when its I/O is to be submitted, 0 when the
 * reply is ready (a status, or the identity), or -EPROTO when the packet's
 * framing is broken (the caller resets the channel).
 */
static int storage_handle(struct device *dev, const struct vmbus_packet_desc *d, uint32_t len,
			  struct storage_slot *slot, const char **ret_why)
{
	struct storage_state *s = dev->priv;
	struct storage_reply *rp = &slot->reply;
	struct vmbus_stor_request rq;
	uint32_t ext = (uint32_t)d->offset8 * 8u - (uint32_t)sizeof(*d);
	bool pages = d->type == VMBUS_PACKET_PAGES;
	struct vmbus_page_list_info info = { 0 };
	uint32_t st;

	if (d->type != VMBUS_PACKET_INBAND && !pages) {
		*ret_why = "storage: packet of an unexpected type";
		return -EPROTO;
	}
	if ((uint32_t)d->offset8 * 8u < sizeof(*d) || ext > len) {
		*ret_why = "storage: header length beyond the packet";
		return -EPROTO;
	}
	if (!pages && ext) {
		*ret_why = "storage: in-band request with a type-specific header";
		return -EPROTO;
	}
	if (pages && vmbus_page_list_check(s->buf, ext, UINT32_MAX, UINT32_MAX, &info) < 0) {
		*ret_why = "storage: malformed page list";
		return -EPROTO;
	}
	if (len - ext < sizeof(rq)) {
		*ret_why = "storage: request shorter than its header";
		return -EPROTO;
	}
	memcpy(&rq, s->buf + ext, sizeof(rq));

	memset(rp, 0, sizeof(*rp));
	slot->trans_id = d->trans_id;
	slot->len = sizeof(rp->c);
	if (rq.reserved || (rq.flags & ~VMBUS_STOR_F_FUA)) {
		st = VMBUS_STOR_S_INVALID;
	} else if (!s->attached) {
		st = VMBUS_STOR_S_IO_ERROR;
	} else if (rq.op == VMBUS_STOR_OP_READ || rq.op == VMBUS_STOR_OP_WRITE) {
		st = storage_rw(dev, &rq, pages ? s->buf : NULL, &info, slot);
		if (st == VMBUS_STOR_S_OK)
			return 1;
	} else if (pages) {
		/* Only data requests may pin guest pages. */
		st = VMBUS_STOR_S_INVALID;
	} else if (rq.op == VMBUS_STOR_OP_IDENTIFY) {
		rp->c.status = VMBUS_STOR_S_OK;
		storage_identify(dev, &rq, rp, &slot->len);
		st = rp->c.status;
	} else if (rq.op == VMBUS_STOR_OP_FLUSH) {
		if (rq.flags || rq.sector || rq.nsectors) {
			st = VMBUS_STOR_S_INVALID;
		} else {
			slot->io = (struct storage_io){ .op = STORAGE_IO_FLUSH, .fd = s->fd,
							.direct_fd = -1 };
			return 1;
		}
	} else if (rq.op == VMBUS_STOR_OP_DISCARD || rq.op == VMBUS_STOR_OP_WRITE_ZEROES) {
		st = storage_range_op(dev, &rq, slot);
		if (st == VMBUS_STOR_S_OK)
			return 1;
	} else {
		log_guest(LOG_WARNING, "%s: unknown request op %u", dev->name, rq.op);
		st = VMBUS_STOR_S_UNSUPPORTED;
	}
	rp->c.status = st;
	if (st != VMBUS_STOR_S_OK) {
		s->errors++;
		slot->len = sizeof(rp->c);
	}
	return 0;
}

static void storage_slot_done(struct storage_queue *q, struct storage_slot *slot)
{
	slot->next = NULL;
	*q->done_tail = slot;
	q->done_tail = &slot->next;
}

/* An engine finished a slot's I/O: count it, and queue its completion. */
static void storage_io_finished(struct storage_io *io, void *ctx)
{
	struct storage_queue *q = ctx;
	struct storage_slot *slot = (struct storage_slot *)((uint8_t *)io - offsetof(struct storage_slot, io));
	struct storage_state *s = q->dev->priv;
	uint64_t bytes = slot->reply.c.bytes;

	s->io_done++;
	s->io_ns += devices_now_ns() - slot->t_read;
	slot->reply.c.status = io->status;
	if (io->status != VMBUS_STOR_S_OK) {
		s->errors++;
		slot->reply.c.bytes = 0;
	} else if (io->op == STORAGE_IO_READ) {
		s->reads++;
		s->bytes_read += bytes;
	} else if (io->op == STORAGE_IO_WRITE) {
		s->writes++;
		s->bytes_written += bytes;
	} else if (io->op == STORAGE_IO_FLUSH) {
		s->flushes++;
	} else if (io->op == STORAGE_IO_DISCARD) {
		s->discards++;
	} else {
		s->zeroes++;
	}
	storage_slot_done(q, slot);
}

/* Send finished completions in order; -EAGAIN when the guest's ring is full. */
static int storage_send_done(struct storage_queue *q)
{
	struct storage_state *s = q->dev->priv;
	struct storage_slot *slot;
	int r;

	while ((slot = q->done_head)) {
		r = channel_send(q->ch, VMBUS_PACKET_COMPLETION, 0, slot->trans_id, &slot->reply,
				 slot->len);
		if (r == -EAGAIN)
			return r;	/* the guest signals once it has read enough (pending send size) */
		q->done_head = slot->next;
		if (!q->done_head)
			q->done_tail = &q->done_head;
		if (r == 0) {
			s->answered++;
			s->answer_ns += devices_now_ns() - slot->t_read;
		}
		slot->next = q->free;
		q->free = slot;
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Serve a queue: completions out, then requests in while a slot is free;
 * the I/O of one pass over the ring goes to the kernel as one batch.
 * Called when the guest signals, and when the engine has completions.
 */
static void storage_queue_run(struct storage_queue *q)
{
	struct storage_state *s;
	struct channel *ch = q->ch;
	struct vmbus_packet_desc d;
	const char *why = NULL;
	bool queued = false;
	uint32_t len;
	int r;

	if (!ch || ch->reset_reason) {
		/* Closed, or about to be reset: what finishes is not answered. */
		if (q->engine)
			storage_engine_reap(q->engine, storage_io_dropped, NULL);
		return;
	}
	s = q->dev->priv;
	for (;;) {
		storage_engine_reap(q->engine, storage_io_finished, q);
		r = storage_send_done(q);
		if (r == -EAGAIN)
			break;
		if (r < 0 || !q->free)
			break;	/* every slot busy: a completion brings us back */
		r = channel_recv(ch, &d, s->buf, STORAGE_PACKET_MAX, &len);
		if (r == -EAGAIN) {
			storage_engine_commit(q->engine);
			if (queued) {
				q->batches++;
				queued = false;
			}
			if (channel_recv_done(ch) > 0)
				continue;
			/* Replies made on the way, or I/O already finished (sync engine): send them. */
			if (q->done_head || storage_engine_reap(q->engine, storage_io_finished, q))
				continue;
			return;
		}
		if (r == -ENOBUFS) {
			s->resets++;
			channel_reset(ch, "storage: request packet over the size limit");
			break;
		}
		if (r < 0)
			break;
		{
			struct storage_slot *slot = q->free;

			slot->t_read = devices_now_ns();
			r = storage_handle(q->dev, &d, len, slot, &why);
			if (r < 0) {
				s->resets++;
				channel_reset(ch, why);
				break;
			}
			q->free = slot->next;
			if (r > 0) {
				storage_engine_submit(q->engine, &slot->io);
				queued = true;
			} else {
				storage_slot_done(q, slot);
			}
		}
	}
	storage_engine_commit(q->engine);
	if (queued)
		q->batches++;
	if (r == -EAGAIN || !q->free)
		channel_recv_done(ch);
}

static void storage_event(struct device *dev, struct channel *ch)
{
	struct storage_state *s = dev->priv;

	if (ch->subchannel_index >= VMBUS_STOR_MAX_QUEUES || !s->buf)
		return;
	if (s->q[ch->subchannel_index].ch != ch)
		return;
	storage_queue_run(&s->q[ch->subchannel_index]);
}

static void storage_status(struct device *dev, struct json_writer *w)
{
	struct storage_state *s = dev->priv;

	json_string(w, "path", s->path ? s->path : "");
	json_bool(w, "readonly", s->readonly);
	json_uint(w, "capacity_sectors", s->capacity);
	json_string(w, "serial", s->serial);
	json_uint(w, "reads", s->reads);
	json_uint(w, "writes", s->writes);
	json_uint(w, "bytes_read", s->bytes_read);
	json_uint(w, "bytes_written", s->bytes_written);
	json_uint(w, "flushes", s->flushes);
	json_uint(w, "discards", s->discards);
	json_uint(w, "write_zeroes", s->zeroes);
	json_uint(w, "errors", s->errors);
	json_uint(w, "resets", s->resets);
	json_string(w, "engine", s->q[0].engine ? storage_engine_name(storage_engine_kind(s->q[0].engine))
						: "none yet");
	json_bool(w, "direct_io", s->attached && s->direct_fd >= 0);
	json_uint(w, "direct_ios", s->direct_ios);
	json_uint(w, "buffered_ios", s->buffered_ios);
	/* Totals, so a reader can take the mean over any interval of its own. */
	json_uint(w, "answered", s->answered);
	json_uint(w, "answer_ns", s->answer_ns);
	json_uint(w, "io_done", s->io_done);
	json_uint(w, "io_ns", s->io_ns);
	{
		uint64_t batches = 0;

		for (unsigned int i = 0; i < VMBUS_STOR_MAX_QUEUES; i++)
			batches += s->q[i].batches;
		json_uint(w, "submit_batches", batches);
	}
}

static int storage_command(struct device *dev, int argc, char **argv, struct json_writer *out,
			   const char **error)
{
	if (argc == 1 && strcmp(argv[0], "info") == 0) {
		storage_status(dev, out);
		return 0;
	}
	*error = "usage: service DISK info";
	return -EINVAL;
}

static void storage_destroy(struct device *dev)
{
	struct storage_state *s = dev->priv;

	for (unsigned int i = 0; i < VMBUS_STOR_MAX_QUEUES; i++) {
		struct storage_queue *q = &s->q[i];

		if (q->engine && storage_engine_fd(q->engine) >= 0)
			bus_unwatch_fd(dev->bus, storage_engine_fd(q->engine));
		storage_engine_free(q->engine);
		free(q->slots);
	}
	if (s->snap) {
		/* The backup owns it and learns that the disk went. */
		pthread_mutex_lock(&s->snap->lock);
		s->snap->broken = -ENODEV;
		pthread_mutex_unlock(&s->snap->lock);
		s->snap = NULL;
	}
	if (s->cbt_taken) {
		/* An unfinished backup's changes are still changes. */
		for (uint64_t i = 0; i < (s->cbt.nchunks + 63) / 64; i++)
			s->cbt.bits[i] |= s->cbt_taken[i];
		free(s->cbt_taken);
	}
	free(s->cbt_prev);
	if (s->attached) {
		/* A clean end: the bitmap is complete, the next worker may trust it. */
		storage_cbt_save(&s->cbt, false);
		close(s->fd);
		if (s->direct_fd >= 0)
			close(s->direct_fd);
	}
	storage_cbt_free(&s->cbt);
	free(s->path);
	free(s->buf);
}

const struct device_ops storage_device_ops = {
	.name = "storage",
	.class_id = VMBUS_CLASS_STORAGE,
	.max_subchannels = VMBUS_STOR_MAX_QUEUES - 1,
	.priv_size = sizeof(struct storage_state),
	.open = storage_open,
	.close = storage_close,
	.event = storage_event,
	.status = storage_status,
	.command = storage_command,
	.destroy = storage_destroy,
};

/* The first word of the disk's unique id: names its change-tracking file. */
static uint64_t storage_id_word(const struct storage_state *s)
{
	uint64_t w;

	memcpy(&w, s->unique_id.b, sizeof(w));
	return w;
}

/* A stable id from the file's identity (FNV-1a), so the guest sees the same disk across runs. */
static void storage_derive_ids(struct storage_state *s, const struct stat *st, const char *serial)
{
	uint64_t h1 = 0xcbf29ce484222325ULL, h2;
	uint64_t key[2] = { (uint64_t)st->st_dev, (uint64_t)st->st_ino };
	const uint8_t *p = (const uint8_t *)key;

	for (size_t i = 0; i < sizeof(key); i++)
		h1 = (h1 ^ p[i]) * 0x100000001b3ULL;
	h2 = (h1 ^ 0x5a) * 0x100000001b3ULL;
	memcpy(s->unique_id.b, &h1, 8);
	memcpy(s->unique_id.b + 8, &h2, 8);
	if (serial && serial[0])
		snprintf(s->serial, sizeof(s->serial), "%s", serial);
	else
		snprintf(s->serial, sizeof(s->serial), "OVMB%016llx", (unsigned long long)h1);
}

int storage_disk_attach_fd(struct device *dev, int fd, const char *path, bool readonly,
			   const char *serial)
{
	struct storage_state *s = dev->priv;
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (s->attached) {
		close(s->fd);
		if (s->direct_fd >= 0)
			close(s->direct_fd);
	}
	free(s->path);
	s->path = path ? strdup(path) : NULL;
	s->fd = fd;
	s->direct_fd = storage_io_open_direct(fd, readonly, &s->direct_align);
	if (s->direct_fd < 0)
		log_info("%s: %s takes no direct I/O here (%s): the host's page cache is used",
			 dev->name, path ? path : "the image", strerror(-s->direct_fd));
	s->attached = true;
	s->readonly = readonly;
	s->capacity = (uint64_t)st.st_size / VMBUS_STOR_SECTOR_SIZE;
	s->physical_block_size = st.st_blksize >= 512 && st.st_blksize <= 65536 &&
				 !(st.st_blksize & (st.st_blksize - 1)) ? (uint32_t)st.st_blksize : 4096;
	storage_derive_ids(s, &st, serial);
	storage_cbt_free(&s->cbt);
	free(s->cbt_prev);
	s->cbt_prev = NULL;
	{
		char cbt_path[4096];
		const char *cp = NULL;
		int r;

		if (devices_run_dir) {
			snprintf(cbt_path, sizeof(cbt_path), "%s/cbt-%016llx.bin", devices_run_dir,
				 (unsigned long long)storage_id_word(s));
			cp = cbt_path;
		}
		r = storage_cbt_load(&s->cbt, cp, s->capacity * VMBUS_STOR_SECTOR_SIZE);
		if (r < 0)
			log_warning("%s: change tracking file %s unusable (%s): the next backup is full",
				    dev->name, cp, strerror(-r));
		/* From now on a crash leaves the file marked in use: never trusted after one. */
		else if (cp && storage_cbt_save(&s->cbt, true) < 0)
			log_warning("%s: cannot write %s: incremental backups need it", dev->name, cp);
	}
	return 0;
}

int storage_disk_add(struct bus *b, const char *name, const struct storage_disk_config *cfg,
		     struct device **ret)
{
	struct device *dev;
	int fd, r;

	fd = open(cfg->path, (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = bus_add_named_device(b, &storage_device_ops, name, &dev);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = storage_disk_attach_fd(dev, fd, cfg->path, cfg->readonly, cfg->serial);
	if (r < 0) {
		bus_remove_device(b, dev);
		return r;
	}
	if (ret)
		*ret = dev;
	return 0;
}

/* ------------------------------------------------------------------ backup */

bool storage_is_disk(const struct device *dev)
{
	return dev->ops == &storage_device_ops;
}

const char *storage_disk_path(const struct device *dev)
{
	const struct storage_state *s = dev->priv;

	return s->path;
}

uint64_t storage_disk_bytes(const struct device *dev)
{
	const struct storage_state *s = dev->priv;

	return s->capacity * VMBUS_STOR_SECTOR_SIZE;
}

int storage_backup_begin(struct device *dev, bool incremental, const char *parent_id,
			 const char *store_dir, struct storage_snap **ret, const char **ret_why)
{
	struct storage_state *s = dev->priv;
	size_t words = (s->cbt.nchunks + 63) / 64;
	struct storage_snap *snap;
	int r;

	*ret_why = NULL;
	if (!s->attached) {
		*ret_why = "the disk has no medium";
		return -ENODEV;
	}
	if (s->snap) {
		*ret_why = "a backup of this disk is already running";
		return -EBUSY;
	}
	if (incremental && !s->cbt.base_id[0]) {
		*ret_why = "no change tracking to build on (no backup since the worker started "
			   "tracking, or it crashed since): take a full backup";
		return -ESTALE;
	}
	if (incremental && (!parent_id || (strcmp(parent_id, s->cbt.base_id) != 0 &&
					   !(s->cbt_prev && strcmp(parent_id, s->cbt_prev_since) == 0)))) {
		*ret_why = "changes are tracked since another backup than the parent given: "
			   "take a full backup";
		return -ESTALE;
	}
	/* The point in time: nothing in flight, so every write after it goes through the snapshot. */
	for (unsigned int i = 0; i < VMBUS_STOR_MAX_QUEUES; i++)
		if (s->q[i].engine && s->q[i].ch)
			storage_engine_drain(s->q[i].engine, storage_io_finished, &s->q[i]);
	r = storage_snap_new(s->fd, s->capacity * VMBUS_STOR_SECTOR_SIZE, store_dir, &snap);
	if (r < 0) {
		*ret_why = "cannot create the snapshot store";
		return r;
	}
	s->cbt_taken = calloc(words + 1, sizeof(uint64_t));
	if (!s->cbt_taken || (incremental && !(snap->wanted = calloc(words + 1, sizeof(uint64_t))))) {
		free(s->cbt_taken);
		s->cbt_taken = NULL;
		storage_snap_free(snap);
		return -ENOMEM;
	}
	memcpy(s->cbt_taken, s->cbt.bits, words * sizeof(uint64_t));
	snprintf(s->cbt_taken_since, sizeof(s->cbt_taken_since), "%s", s->cbt.base_id);
	if (incremental && strcmp(parent_id, s->cbt.base_id) != 0) {
		/* On the backup before the last one (which was discarded): its changes count too. */
		for (size_t i = 0; i < words; i++)
			s->cbt_taken[i] |= s->cbt_prev[i];
		snprintf(s->cbt_taken_since, sizeof(s->cbt_taken_since), "%s", s->cbt_prev_since);
	}
	if (incremental)
		memcpy(snap->wanted, s->cbt_taken, words * sizeof(uint64_t));
	memset(s->cbt.bits, 0, words * sizeof(uint64_t));
	s->snap = snap;
	/* What the drain finished goes to the guest now. */
	for (unsigned int i = 0; i < VMBUS_STOR_MAX_QUEUES; i++)
		if (s->q[i].engine && s->q[i].ch)
			storage_queue_run(&s->q[i]);
	*ret = snap;
	return 0;
}

void storage_backup_end(struct device *dev, struct storage_snap *snap, bool ok, const char *backup_id)
{
	struct storage_state *s = dev->priv;
	size_t words = (s->cbt.nchunks + 63) / 64;

	if (s->snap != snap)
		return;		/* the disk was replaced meanwhile */
	s->snap = NULL;
	if (ok) {
		snprintf(s->cbt.base_id, sizeof(s->cbt.base_id), "%s", backup_id);
		free(s->cbt_prev);
		s->cbt_prev = s->cbt_taken;
		snprintf(s->cbt_prev_since, sizeof(s->cbt_prev_since), "%s", s->cbt_taken_since);
		s->backups++;
	} else {
		for (size_t i = 0; i < words; i++)
			s->cbt.bits[i] |= s->cbt_taken[i];
		free(s->cbt_taken);
	}
	s->cbt_taken = NULL;
	if (storage_cbt_save(&s->cbt, true) < 0)
		log_warning("%s: cannot save change tracking: the next incremental backup may be refused",
			    dev->name);
}
