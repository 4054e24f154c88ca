// SPDX-License-Identifier: GPL-2.0
/*
 * blk.c - openvmbus_blk.ko, the synthetic disk driver: one gendisk per
 * storage offer, blk-mq straight onto the channel with the small block
 * protocol of vmbus/storage.h (docs/protocol/storage.md).
 *
 * One hardware queue per channel: the primary channel is queue 0 and each
 * sub-channel (asked for at probe, one per CPU up to the host's maximum,
 * each interrupting its own CPU) one more. A queue whose sub-channel has
 * not arrived yet sends on the primary channel.
 *
 * Reads and writes go out as page-list packets that describe the request's
 * own pages (no bounce copy); a batch that blk-mq hands over at once is
 * published with one doorbell (bd->last, .commit_rqs). The host answers
 * each request with a completion packet whose transaction id is
 * (queue << 32) | (tag + 1); 0 is the IDENTIFY at probe. Everything the
 * host sends is checked: an unknown queue or idle tag, or a short
 * completion, is logged (rate-limited) and dropped, never followed as a
 * pointer. A sent request carries a state word, and whoever moves it from
 * SENT to IDLE - its completion, or a path that fails requests - ends it:
 * a request ends exactly once.
 *
 * When the host worker stops answering (the bus's heartbeat watch), the
 * disk fails: what the host holds fails with I/O errors and new requests
 * fail at once. A worker that was only stalled could still write into the
 * pages of those requests later, so every page they named is kept from the
 * page allocator for good. When the host answers again, the disk's
 * channels are closed and opened again with fresh rings - the host drains
 * and forgets the old requests on close, and a late completion left in an
 * old ring can never meet a new request with the same tag - and I/O
 * resumes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "openvmbus.h"
#include "vmbus/storage.h"
#include "vmbus/version.h"

#define OVBLK_RING_BYTES	(128 * 1024)
#define OVBLK_MINORS		16
/*
 * 1 MiB in one request even from a user buffer of scattered 4 KiB pages
 * (256 segments): the protocol's limits (VMBUS_STOR_MAX_*), so a 1 MiB
 * direct I/O is one request, as on virtio-blk, not two or four.
 */
#define OVBLK_MAX_SEGMENTS	256u
#define OVBLK_MAX_BYTES		(1024u * 1024u)
/* Worst case of one request: every segment starts a range, plus page crossings. */
#define OVBLK_MAX_PFNS		(OVBLK_MAX_BYTES / PAGE_SIZE + OVBLK_MAX_SEGMENTS)
#define OVBLK_IDENTIFY_TRANS	0
#define OVBLK_TIMEOUT		(30 * HZ)

static int ovblk_major;
static DEFINE_IDA(ovblk_index);

struct ovblk;

/* One hardware queue and its channel. */
struct ovblk_queue {
	struct ovblk *ob;
	/* Its channel from the offer to the rescind; the callback reads it. */
	struct openvmbus_channel *chan;
	/* chan while open: requests go out on it. NULL: they take the primary's. */
	struct openvmbus_channel *ch;
	unsigned int index;
	spinlock_t send_lock;
	u8 recv_buf[sizeof(struct vmbus_stor_completion) + sizeof(struct vmbus_stor_identity) + 64];
};

struct ovblk {
	struct openvmbus_device *dev;
	struct gendisk *disk;
	struct blk_mq_tag_set tag_set;
	struct vmbus_stor_identity id;
	bool ready;			/* the disk exists: the health work may run */
	bool dead;			/* being removed: no more completions */
	bool failed;			/* the host stopped answering: requests fail */
	bool broken;			/* channels not renewed: failed until removed */
	int index;
	unsigned int nqueues;
	struct completion identified;
	int identify_status;
	struct mutex lock;		/* opens and closes of channels; dead, failed, broken */
	struct work_struct health_work;
	unsigned long kept_pages;	/* page references of failed requests, never dropped */
	struct ovblk_queue q[VMBUS_STOR_MAX_QUEUES];
};

enum {
	OVBLK_CMD_IDLE,
	OVBLK_CMD_SENT,			/* the host has it; who ends it is still open */
};

/* Per request (blk_mq pdu). */
struct ovblk_cmd {
	struct vmbus_stor_request req;
	unsigned int sent_on;		/* queue whose channel carried it */
	atomic_t state;			/* OVBLK_CMD_*, see ovblk_claim() */
	u8 list[];			/* the page list, openvmbus_page_list_bytes() long */
};

static size_t ovblk_list_bytes(void)
{
	return openvmbus_page_list_bytes(OVBLK_MAX_SEGMENTS, OVBLK_MAX_PFNS);
}

/* True when the caller may end this sent request: nobody else did or will. */
static bool ovblk_claim(struct ovblk_cmd *cmd)
{
	return atomic_cmpxchg(&cmd->state, OVBLK_CMD_SENT, OVBLK_CMD_IDLE) == OVBLK_CMD_SENT;
}

static bool ovblk_host_responding(const struct ovblk *ob)
{
	return openvmbus_channel_host_responding(ob->dev->channel);
}

static blk_status_t ovblk_status(u32 status)
{
	switch (status) {
	case VMBUS_STOR_S_OK:		return BLK_STS_OK;
	case VMBUS_STOR_S_READ_ONLY:	return BLK_STS_PROTECTION;
	case VMBUS_STOR_S_UNSUPPORTED:	return BLK_STS_NOTSUPP;
	case VMBUS_STOR_S_NO_SPACE:	return BLK_STS_NOSPC;
	default:			return BLK_STS_IOERR;
	}
}

/* ------------------------------------------------------------ completions */

static void ovblk_complete(struct ovblk_queue *q, const struct openvmbus_packet_info *info)
{
	struct ovblk *ob = q->ob;
	struct vmbus_stor_completion c;
	struct ovblk_cmd *cmd;
	struct request *rq;
	u32 qi, tag;

	if (info->len < sizeof(c)) {
		dev_warn_ratelimited(&ob->dev->dev, "completion of %u bytes ignored\n", info->len);
		return;
	}
	memcpy(&c, q->recv_buf, sizeof(c));
	if (info->trans_id == OVBLK_IDENTIFY_TRANS) {
		if (q->index || completion_done(&ob->identified))
			return;
		if (c.status == VMBUS_STOR_S_OK && info->len >= sizeof(c) + sizeof(ob->id))
			memcpy(&ob->id, q->recv_buf + sizeof(c), sizeof(ob->id));
		ob->identify_status = c.status == VMBUS_STOR_S_OK &&
				      info->len >= sizeof(c) + sizeof(ob->id) ? 0 : -EIO;
		complete(&ob->identified);
		return;
	}
	qi = (u32)(info->trans_id >> 32);
	tag = (u32)info->trans_id - 1;
	if (!ob->disk || qi >= ob->tag_set.nr_hw_queues || tag >= ob->tag_set.queue_depth) {
		dev_warn_ratelimited(&ob->dev->dev, "completion for unknown request %#llx\n",
				     info->trans_id);
		return;
	}
	rq = blk_mq_tag_to_rq(ob->tag_set.tags[qi], tag);
	cmd = rq ? blk_mq_rq_to_pdu(rq) : NULL;
	/* Sent on this very channel, and not ended by a path that fails requests. */
	if (!rq || !blk_mq_request_started(rq) || cmd->sent_on != q->index || !ovblk_claim(cmd)) {
		dev_warn_ratelimited(&ob->dev->dev, "completion for idle request %#llx\n",
				     info->trans_id);
		return;
	}
	if (c.status != VMBUS_STOR_S_OK)
		dev_warn_ratelimited(&ob->dev->dev, "request at sector %llu failed: status %u\n",
				     (unsigned long long)blk_rq_pos(rq), c.status);
	blk_mq_end_request(rq, ovblk_status(c.status));
}

/*
 * The host stopped answering while the disk works, or answers again while
 * the disk is failed: over to the health work, which may sleep.
 */
static void ovblk_check_host(struct ovblk *ob)
{
	if (smp_load_acquire(&ob->ready) && !READ_ONCE(ob->dead) && !READ_ONCE(ob->broken) &&
	    ovblk_host_responding(ob) == READ_ONCE(ob->failed))
		queue_work(system_long_wq, &ob->health_work);	/* may wait for the host */
}

/*
 * Channel callback (softirq): completions, room for a stopped queue, and
 * the host's liveness changing (the bus runs every callback once then).
 */
static void ovblk_event(void *ctx)
{
	struct ovblk_queue *q = ctx;
	struct ovblk *ob = q->ob;
	struct openvmbus_packet_info info;
	int ret;

	for (;;) {
		ret = openvmbus_channel_recv(q->chan, q->recv_buf, sizeof(q->recv_buf), &info);
		if (ret == -ENOBUFS)
			/* Larger than any answer we expect: the host broke the protocol. */
			dev_warn_ratelimited(&ob->dev->dev, "oversized packet (%u bytes) from the host\n",
					     info.len);
		if (ret)
			break;
		/* While failed, whatever the host answers belongs to failed requests. */
		if (info.type == VMBUS_PACKET_COMPLETION && !READ_ONCE(ob->dead) &&
		    !READ_ONCE(ob->failed))
			ovblk_complete(q, &info);
	}
	/* A queue stopped on a full ring goes again (a no-op when none is). */
	if (ob->disk)
		blk_mq_start_stopped_hw_queues(ob->disk->queue, true);
	ovblk_check_host(ob);
}

/* ------------------------------------------------------------- submission */

/*
 * The request's data as a page list, built in place: pieces that continue
 * each other merge into one range.
 */
static int ovblk_build_list(struct request *rq, struct ovblk_cmd *cmd,
			    struct openvmbus_page_list *pl)
{
	struct req_iterator iter;
	struct bio_vec bv;
	int ret;

	openvmbus_page_list_init(pl, cmd->list, (u32)ovblk_list_bytes());
	rq_for_each_segment(bv, rq, iter) {
		ret = openvmbus_page_list_add_page(pl, page_to_pfn(bv.bv_page), bv.bv_offset,
						   bv.bv_len);
		if (ret)
			return ret;
	}
	return pl->last ? 0 : -EINVAL;
}

static blk_status_t ovblk_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *bd)
{
	struct ovblk *ob = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct ovblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct ovblk_queue *q = &ob->q[hctx->queue_num];
	struct openvmbus_channel *ch;
	struct openvmbus_page_list pl;
	bool pages = false;
	unsigned long irqflags;
	u64 trans = (u64)hctx->queue_num << 32 | ((u64)rq->tag + 1);
	/* More requests of this batch follow: one doorbell for all (ovblk_commit_rqs()). */
	u16 flags = OPENVMBUS_SEND_COMPLETION_REQUESTED | (bd->last ? 0 : OPENVMBUS_SEND_BATCH);
	int ret;

	if (READ_ONCE(ob->dead) || READ_ONCE(ob->failed))
		return BLK_STS_IOERR;
	memset(&cmd->req, 0, sizeof(cmd->req));
	cmd->req.sector = blk_rq_pos(rq);
	cmd->req.nsectors = blk_rq_sectors(rq);
	switch (req_op(rq)) {
	case REQ_OP_READ:
		cmd->req.op = VMBUS_STOR_OP_READ;
		pages = true;
		break;
	case REQ_OP_WRITE:
		cmd->req.op = VMBUS_STOR_OP_WRITE;
		if (rq->cmd_flags & REQ_FUA)
			cmd->req.flags |= VMBUS_STOR_F_FUA;
		pages = true;
		break;
	case REQ_OP_FLUSH:
		cmd->req.op = VMBUS_STOR_OP_FLUSH;
		cmd->req.sector = 0;
		cmd->req.nsectors = 0;
		break;
	case REQ_OP_DISCARD:
		cmd->req.op = VMBUS_STOR_OP_DISCARD;
		break;
	case REQ_OP_WRITE_ZEROES:
		cmd->req.op = VMBUS_STOR_OP_WRITE_ZEROES;
		break;
	default:
		return BLK_STS_NOTSUPP;
	}
	if (pages) {
		ret = ovblk_build_list(rq, cmd, &pl);
		if (ret) {
			dev_warn_ratelimited(&ob->dev->dev, "request too fragmented: %d\n", ret);
			return BLK_STS_IOERR;
		}
	}
	blk_mq_start_request(rq);
	spin_lock_irqsave(&q->send_lock, irqflags);
	if (!q->ch) {
		/* Its sub-channel is not there (yet, or any more): the primary carries it. */
		spin_unlock_irqrestore(&q->send_lock, irqflags);
		q = &ob->q[0];
		spin_lock_irqsave(&q->send_lock, irqflags);
	}
	cmd->sent_on = q->index;
	/* Before the send: the completion may come before the send returns. */
	atomic_set(&cmd->state, OVBLK_CMD_SENT);
	/*
	 * Usable after the unlock even if a rescind closes it meanwhile: the
	 * bus frees channels after an RCU grace period, and queue_rq() runs
	 * under rcu_read_lock() (no BLK_MQ_F_BLOCKING).
	 */
	ch = q->ch;
	if (!ch)
		ret = -ENODEV;		/* the primary is closed: renewal failed */
	else if (pages)
		ret = openvmbus_channel_send_pages(ch, &pl, &cmd->req, sizeof(cmd->req), trans,
						   flags);
	else
		ret = openvmbus_channel_send(ch, &cmd->req, sizeof(cmd->req), trans, flags);
	spin_unlock_irqrestore(&q->send_lock, irqflags);
	/* Not sent. A completion that claimed it all the same (a hostile host) ended it. */
	if (ret && !ovblk_claim(cmd))
		return BLK_STS_OK;
	if (ret == -EAGAIN) {
		/*
		 * The ring is full; the host signals once there is room and the
		 * callback starts the queue again. Room that came before the
		 * stop would be missed, hence the second look.
		 */
		blk_mq_stop_hw_queue(hctx);
		if (openvmbus_channel_send_ready(ch, sizeof(cmd->req) + (pages ? pl.used : 0)))
			blk_mq_start_stopped_hw_queues(hctx->queue, true);
		return BLK_STS_DEV_RESOURCE;
	}
	if (ret)
		blk_mq_end_request(rq, BLK_STS_IOERR);	/* the host is not answering, or gone */
	return BLK_STS_OK;
}

static void ovblk_queue_flush(struct ovblk_queue *q)
{
	unsigned long irqflags;

	spin_lock_irqsave(&q->send_lock, irqflags);
	if (q->ch)
		openvmbus_channel_flush(q->ch);
	spin_unlock_irqrestore(&q->send_lock, irqflags);
}

/*
 * blk-mq ended a batch early (a request failed or the ring was full): the
 * requests queued with OPENVMBUS_SEND_BATCH go out now - on the queue's
 * channel, or the primary's when the queue borrowed it.
 */
static void ovblk_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct ovblk *ob = hctx->queue->queuedata;

	ovblk_queue_flush(&ob->q[hctx->queue_num]);
	if (hctx->queue_num)
		ovblk_queue_flush(&ob->q[0]);
}

static enum blk_eh_timer_return ovblk_timeout(struct request *rq)
{
	struct ovblk *ob = rq->q->queuedata;

	if (READ_ONCE(ob->dead))
		return BLK_EH_DONE;
	/* A host that stops answering altogether is the health work's business. */
	dev_warn_ratelimited(&ob->dev->dev, "request at sector %llu waits for the host\n",
			     (unsigned long long)blk_rq_pos(rq));
	return BLK_EH_RESET_TIMER;
}

static const struct blk_mq_ops ovblk_mq_ops = {
	.queue_rq	= ovblk_queue_rq,
	.commit_rqs	= ovblk_commit_rqs,
	.timeout	= ovblk_timeout,
};

/* ------------------------------------------------- failing held requests */

struct ovblk_fail {
	int only;			/* fail only what went out on this queue; -1: all */
	bool keep_pages;		/* the host may still use them */
	unsigned int requests;
	unsigned long pages;
};

/*
 * Keep the pages of a failed read or write from ever being reused by the
 * page allocator: one more reference each, never dropped. The pages stay
 * with their owner (a user buffer, the page cache), who may reuse them.
 */
static unsigned long ovblk_keep_pages(struct request *rq)
{
	struct req_iterator iter;
	struct page *last = NULL;
	struct bio_vec bv;
	unsigned long n = 0;

	/* Only reads and writes carry pages (discard bios have a size but no vector). */
	if (req_op(rq) != REQ_OP_READ && req_op(rq) != REQ_OP_WRITE)
		return 0;
	rq_for_each_segment(bv, rq, iter) {
		if (bv.bv_page == last)
			continue;
		get_page(bv.bv_page);
		last = bv.bv_page;
		n++;
	}
	return n;
}

static bool ovblk_fail_request(struct request *rq, void *data)
{
	struct ovblk_fail *f = data;
	struct ovblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	if (f->only >= 0 && cmd->sent_on != f->only)
		return true;
	if (!ovblk_claim(cmd))
		return true;		/* completed meanwhile, or never sent */
	if (f->keep_pages)
		f->pages += ovblk_keep_pages(rq);
	f->requests++;
	blk_mq_end_request(rq, BLK_STS_IOERR);
	return true;
}

/*
 * Fail the started requests that went out on queue only (-1: every queue).
 * The caller made sure the host will not answer them on a channel we still
 * read. Unless the host still answers (and so has drained them when it
 * closed the channel), their pages are kept.
 */
static struct ovblk_fail ovblk_fail_held(struct ovblk *ob, int only)
{
	struct ovblk_fail f = { .only = only, .keep_pages = !ovblk_host_responding(ob) };

	blk_mq_tagset_busy_iter(&ob->tag_set, ovblk_fail_request, &f);
	ob->kept_pages += f.pages;
	if (f.pages)
		dev_warn(&ob->dev->dev,
			 "%s: %u request(s) failed while the host was not answering; "
			 "their %lu page(s) are kept from reuse for good (%lu in all)\n",
			 ob->disk->disk_name, f.requests, f.pages, ob->kept_pages);
	return f;
}

/* ----------------------------------------------------------------- health */

/* Open a queue's channel and send on it. */
static int ovblk_queue_open(struct ovblk_queue *q)
{
	unsigned long irqflags;
	int ret;

	ret = openvmbus_channel_open(q->chan, OVBLK_RING_BYTES, OVBLK_RING_BYTES, ovblk_event, q);
	if (ret)
		return ret;
	spin_lock_irqsave(&q->send_lock, irqflags);
	q->ch = q->chan;
	spin_unlock_irqrestore(&q->send_lock, irqflags);
	return 0;
}

/* No more sends on a queue's channel, then close it (the callback has run for the last time). */
static void ovblk_queue_close(struct ovblk_queue *q)
{
	struct openvmbus_channel *ch;
	unsigned long irqflags;

	spin_lock_irqsave(&q->send_lock, irqflags);
	ch = q->ch;
	q->ch = NULL;
	spin_unlock_irqrestore(&q->send_lock, irqflags);
	if (ch)
		openvmbus_channel_close(ch);
}

/* The host stopped answering: fail what it holds, and everything new. */
static void ovblk_fail_disk(struct ovblk *ob)
{
	struct request_queue *rq = ob->disk->queue;
	struct ovblk_fail f;

	/* No queue_rq() runs after this: each request is either held or will fail at once. */
	blk_mq_quiesce_queue(rq);
	WRITE_ONCE(ob->failed, true);
	f = ovblk_fail_held(ob, -1);
	blk_mq_unquiesce_queue(rq);
	blk_mq_start_stopped_hw_queues(rq, true);
	dev_warn(&ob->dev->dev, "%s: the host stopped answering: %u request(s) failed, new ones fail\n",
		 ob->disk->disk_name, f.requests);
}

/*
 * The host answers again: new rings for every channel before any request
 * goes out, so that nothing the host still had for the failed requests can
 * complete a new one. If the primary cannot be opened again, the disk
 * stays failed until it is removed.
 */
static void ovblk_renew_disk(struct ovblk *ob)
{
	struct request_queue *rq = ob->disk->queue;
	unsigned int i, renewed = 1;
	int ret;

	blk_mq_quiesce_queue(rq);
	for (i = ob->nqueues; i-- > 0;)
		ovblk_queue_close(&ob->q[i]);
	ret = ovblk_queue_open(&ob->q[0]);
	if (ret) {
		WRITE_ONCE(ob->broken, true);
		blk_mq_unquiesce_queue(rq);
		dev_err(&ob->dev->dev, "%s: cannot open the channel again (%d): the disk stays failed\n",
			ob->disk->disk_name, ret);
		return;
	}
	for (i = 1; i < ob->nqueues; i++) {
		if (!ob->q[i].chan)
			continue;
		ret = ovblk_queue_open(&ob->q[i]);
		if (ret)
			dev_warn(&ob->dev->dev, "%s: queue %u goes through the primary channel: %d\n",
				 ob->disk->disk_name, i, ret);
		else
			renewed++;
	}
	WRITE_ONCE(ob->failed, false);
	blk_mq_unquiesce_queue(rq);
	blk_mq_start_stopped_hw_queues(rq, true);
	dev_info(&ob->dev->dev, "%s: the host answers again: %u channel(s) renewed, I/O resumes\n",
		 ob->disk->disk_name, renewed);
}

static void ovblk_health_work(struct work_struct *work)
{
	struct ovblk *ob = container_of(work, struct ovblk, health_work);

	mutex_lock(&ob->lock);
	if (!ob->dead && !ob->broken && !ob->failed && !ovblk_host_responding(ob))
		ovblk_fail_disk(ob);
	/* Also right after failing: a stall may already be over. */
	if (!ob->dead && !ob->broken && ob->failed && ovblk_host_responding(ob))
		ovblk_renew_disk(ob);
	mutex_unlock(&ob->lock);
}

/* ------------------------------------------------------------------- sysfs */

static ssize_t serial_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct ovblk *ob = dev_to_disk(dev)->private_data;

	return sysfs_emit(buf, "%.*s\n", (int)strnlen(ob->id.serial, VMBUS_STOR_SERIAL_LEN),
			  ob->id.serial);
}
static DEVICE_ATTR_RO(serial);

static struct attribute *ovblk_attrs[] = {
	&dev_attr_serial.attr,
	NULL,
};

static const struct attribute_group ovblk_attr_group = {
	.attrs = ovblk_attrs,
};

static const struct attribute_group *ovblk_attr_groups[] = {
	&ovblk_attr_group,
	NULL,
};

static const struct block_device_operations ovblk_fops = {
	.owner = THIS_MODULE,
};

/* ------------------------------------------------------------ probe/remove */

static int ovblk_identify(struct ovblk *ob)
{
	struct vmbus_stor_request req = {
		.op = VMBUS_STOR_OP_IDENTIFY,
		.arg = VMBUS_STOR_VERSION_1,
	};
	const struct vmbus_stor_identity *id = &ob->id;
	int ret;

	ret = openvmbus_channel_send(ob->q[0].ch, &req, sizeof(req), OVBLK_IDENTIFY_TRANS,
				     OPENVMBUS_SEND_COMPLETION_REQUESTED);
	if (ret)
		return ret;
	if (!wait_for_completion_timeout(&ob->identified, 30 * HZ))
		return -ETIMEDOUT;
	if (ob->identify_status)
		return ob->identify_status;
	/* The host is not trusted either: sizes it reports must make sense. */
	if (id->version != VMBUS_STOR_VERSION_1 || !id->capacity ||
	    id->logical_block_size < 512 || id->logical_block_size > PAGE_SIZE ||
	    !is_power_of_2(id->logical_block_size) ||
	    id->physical_block_size < id->logical_block_size ||
	    !is_power_of_2(id->physical_block_size) || id->max_transfer < PAGE_SIZE ||
	    id->max_ranges < 1 || id->max_pages < 2 || !id->queue_depth)
		return -EPROTO;
	return 0;
}

static void ovblk_set_limits(struct ovblk *ob, struct request_queue *q)
{
	const struct vmbus_stor_identity *id = &ob->id;
	u32 bytes = min3(id->max_transfer, OVBLK_MAX_BYTES,
			 (id->max_pages - 1) * (u32)PAGE_SIZE);

	blk_queue_logical_block_size(q, id->logical_block_size);
	blk_queue_physical_block_size(q, id->physical_block_size);
	if (id->optimal_io_size)
		blk_queue_io_opt(q, id->optimal_io_size);
	blk_queue_max_hw_sectors(q, bytes >> SECTOR_SHIFT);
	blk_queue_max_segments(q, min(OVBLK_MAX_SEGMENTS, id->max_ranges));
	blk_queue_write_cache(q, id->flags & VMBUS_STOR_ID_WRITE_CACHE,
			      id->flags & VMBUS_STOR_ID_WRITE_CACHE);
	if (id->flags & VMBUS_STOR_ID_DISCARD && id->max_discard_sectors) {
		blk_queue_max_discard_sectors(q, id->max_discard_sectors);
		q->limits.discard_granularity = max(id->discard_granularity,
						    id->logical_block_size);
	}
	if (id->flags & VMBUS_STOR_ID_WRITE_ZEROES)
		blk_queue_max_write_zeroes_sectors(q, id->max_write_zeroes_sectors);
}

static int ovblk_probe(struct openvmbus_device *dev, const struct openvmbus_device_id *id)
{
	struct gendisk *disk;
	struct ovblk *ob;
	unsigned int i;
	int ret;

	ob = kzalloc(sizeof(*ob), GFP_KERNEL);
	if (!ob)
		return -ENOMEM;
	ob->dev = dev;
	for (i = 0; i < VMBUS_STOR_MAX_QUEUES; i++) {
		ob->q[i].ob = ob;
		ob->q[i].index = i;
		spin_lock_init(&ob->q[i].send_lock);
	}
	ob->q[0].chan = dev->channel;
	init_completion(&ob->identified);
	mutex_init(&ob->lock);
	INIT_WORK(&ob->health_work, ovblk_health_work);
	dev_set_drvdata(&dev->dev, ob);

	ob->index = ida_alloc_max(&ovblk_index, 26 * 27 - 1, GFP_KERNEL);
	if (ob->index < 0) {
		ret = ob->index;
		goto err_index;
	}
	/* Queue i interrupts the i-th CPU, the one blk-mq maps to it. */
	openvmbus_channel_set_target_cpu(dev->channel, cpumask_first(cpu_online_mask));
	ret = ovblk_queue_open(&ob->q[0]);
	if (ret)
		goto err_open;
	ret = ovblk_identify(ob);
	if (ret) {
		dev_err(&dev->dev, "the host did not describe the disk: %d\n", ret);
		goto err_identify;
	}
	/* A queue per CPU, as far as the host goes; the sub-channels come later. */
	ob->nqueues = min3(num_online_cpus(), ob->id.num_queues, VMBUS_STOR_MAX_QUEUES);
	if (ob->nqueues > 1) {
		ret = openvmbus_subchannel_request(dev->channel, ob->nqueues - 1);
		ob->nqueues = ret < 0 ? 1 : 1 + ret;
	}
	if (!ob->nqueues)
		ob->nqueues = 1;

	ob->tag_set.ops = &ovblk_mq_ops;
	ob->tag_set.nr_hw_queues = ob->nqueues;
	ob->tag_set.queue_depth = min(ob->id.queue_depth, VMBUS_STOR_QUEUE_DEPTH);
	ob->tag_set.numa_node = NUMA_NO_NODE;
	ob->tag_set.cmd_size = sizeof(struct ovblk_cmd) + ovblk_list_bytes();
	ob->tag_set.flags = BLK_MQ_F_SHOULD_MERGE;
	ob->tag_set.driver_data = ob;
	ret = blk_mq_alloc_tag_set(&ob->tag_set);
	if (ret)
		goto err_identify;

	disk = blk_mq_alloc_disk(&ob->tag_set, ob);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto err_disk;
	}
	ob->disk = disk;
	disk->major = ovblk_major;
	disk->first_minor = ob->index * OVBLK_MINORS;
	disk->minors = OVBLK_MINORS;
	disk->fops = &ovblk_fops;
	disk->private_data = ob;
	if (ob->index < 26)
		snprintf(disk->disk_name, DISK_NAME_LEN, "ovbd%c", 'a' + ob->index);
	else
		snprintf(disk->disk_name, DISK_NAME_LEN, "ovbd%c%c", 'a' + ob->index / 26 - 1,
			 'a' + ob->index % 26);
	ovblk_set_limits(ob, disk->queue);
	set_capacity(disk, ob->id.capacity);
	set_disk_ro(disk, ob->id.flags & VMBUS_STOR_ID_READ_ONLY);
	ret = device_add_disk(&dev->dev, disk, ovblk_attr_groups);
	if (ret)
		goto err_add;
	smp_store_release(&ob->ready, true);
	dev_info(&dev->dev, "%s: %llu sectors (%llu MiB)%s, %u queue%s, serial %.*s\n",
		 disk->disk_name,
		 (unsigned long long)ob->id.capacity, (unsigned long long)(ob->id.capacity >> 11),
		 ob->id.flags & VMBUS_STOR_ID_READ_ONLY ? ", read-only" : "",
		 ob->nqueues, ob->nqueues == 1 ? "" : "s",
		 (int)strnlen(ob->id.serial, VMBUS_STOR_SERIAL_LEN), ob->id.serial);
	/* The host may have stopped answering while the disk was being made. */
	ovblk_check_host(ob);
	return 0;

err_add:
	put_disk(disk);
	ob->disk = NULL;
err_disk:
	blk_mq_free_tag_set(&ob->tag_set);
err_identify:
	WRITE_ONCE(ob->dead, true);
	dev_set_drvdata(&dev->dev, NULL);	/* sub-channels still to come stay closed */
	ovblk_queue_close(&ob->q[0]);
err_open:
	ida_free(&ovblk_index, ob->index);
err_index:
	dev_set_drvdata(&dev->dev, NULL);
	kfree(ob);
	return ret;
}

/* A sub-channel from the host: open it on its own CPU and give it its queue. */
static void ovblk_sc_offer(struct openvmbus_device *dev, struct openvmbus_channel *sc)
{
	struct ovblk *ob = dev_get_drvdata(&dev->dev);
	unsigned int i = openvmbus_channel_subchannel_index(sc);
	struct ovblk_queue *q;
	int ret;

	if (!ob)
		return;
	mutex_lock(&ob->lock);
	if (ob->dead || !i || i >= ob->nqueues || ob->q[i].chan) {
		dev_warn_ratelimited(&dev->dev, "sub-channel %u not asked for: left closed\n", i);
		goto out;
	}
	q = &ob->q[i];
	q->chan = sc;
	if (i < num_online_cpus())
		openvmbus_channel_set_target_cpu(sc, cpumask_nth(i, cpu_online_mask));
	ret = ovblk_queue_open(q);
	if (ret)
		dev_warn(&dev->dev, "cannot open sub-channel %u (queue %u stays on the primary): %d\n",
			 i, i, ret);
out:
	mutex_unlock(&ob->lock);
}

static void ovblk_sc_rescind(struct openvmbus_device *dev, struct openvmbus_channel *sc)
{
	struct ovblk *ob = dev_get_drvdata(&dev->dev);
	unsigned int i;

	if (!ob)
		return;
	mutex_lock(&ob->lock);
	for (i = 1; i < ob->nqueues; i++) {
		struct ovblk_queue *q = &ob->q[i];

		if (q->chan != sc)
			continue;
		/* No new sends on it; then what it still held fails. */
		ovblk_queue_close(q);
		q->chan = NULL;
		if (ob->disk)
			ovblk_fail_held(ob, i);
	}
	mutex_unlock(&ob->lock);
}

static void ovblk_remove(struct openvmbus_device *dev)
{
	struct ovblk *ob = dev_get_drvdata(&dev->dev);
	unsigned int i;

	/* New I/O fails at once; what the host still holds fails once the channels are closed. */
	blk_mark_disk_dead(ob->disk);
	mutex_lock(&ob->lock);
	blk_mq_quiesce_queue(ob->disk->queue);
	WRITE_ONCE(ob->dead, true);
	for (i = ob->nqueues; i-- > 0;)
		ovblk_queue_close(&ob->q[i]);
	mutex_unlock(&ob->lock);
	/* No callback runs any more, so nothing schedules the work again. */
	cancel_work_sync(&ob->health_work);
	ovblk_fail_held(ob, -1);
	blk_mq_unquiesce_queue(ob->disk->queue);
	del_gendisk(ob->disk);
	put_disk(ob->disk);
	blk_mq_free_tag_set(&ob->tag_set);
	ida_free(&ovblk_index, ob->index);
	dev_set_drvdata(&dev->dev, NULL);
	kfree(ob);
}

static const struct openvmbus_device_id ovblk_ids[] = {
	{ .class_id = VMBUS_CLASS_STORAGE },
	{ }
};

/* udev loads us for a storage offer; ovblk_init() checks the spelling. */
#define OVBLK_CLASS_STRING "6f766d62-0007-4e00-8000-626c6b000001"
MODULE_ALIAS("openvmbus:" OVBLK_CLASS_STRING);

static struct openvmbus_driver ovblk_driver = {
	.name		= "openvmbus_blk",
	.id_table	= ovblk_ids,
	.probe		= ovblk_probe,
	.remove		= ovblk_remove,
	.sc_offer	= ovblk_sc_offer,
	.sc_rescind	= ovblk_sc_rescind,
};

static int __init ovblk_init(void)
{
	char guid[VMBUS_GUID_STRLEN + 1];
	int ret;

	/* Our largest request must be one the protocol allows. */
	BUILD_BUG_ON(OVBLK_MAX_BYTES > VMBUS_STOR_MAX_TRANSFER);
	BUILD_BUG_ON(OVBLK_MAX_SEGMENTS > VMBUS_STOR_MAX_RANGES);
	BUILD_BUG_ON(OVBLK_MAX_PFNS > VMBUS_STOR_MAX_PAGES);
	snprintf(guid, sizeof(guid), "%pUb", ovblk_ids[0].class_id.b);
	if (strcmp(guid, OVBLK_CLASS_STRING)) {
		pr_err("module alias %s does not match the storage class %s\n",
		       OVBLK_CLASS_STRING, guid);
		return -EINVAL;
	}
	ovblk_major = register_blkdev(0, "ovbd");
	if (ovblk_major < 0)
		return ovblk_major;
	ret = openvmbus_driver_register(&ovblk_driver);
	if (ret)
		unregister_blkdev(ovblk_major, "ovbd");
	return ret;
}

static void __exit ovblk_exit(void)
{
	openvmbus_driver_unregister(&ovblk_driver);
	unregister_blkdev(ovblk_major, "ovbd");
}

module_init(ovblk_init);
module_exit(ovblk_exit);

MODULE_DESCRIPTION("openvmbus synthetic disk");
MODULE_LICENSE("GPL");
MODULE_VERSION(OPENVMBUS_VERSION);
