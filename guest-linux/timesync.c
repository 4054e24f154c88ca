// SPDX-License-Identifier: GPL-2.0
/*
 * timesync.c - openvmbus_timesync.ko, the time synchronisation service
 * (docs/protocol/timesync.md), guest side.
 *
 * The host sends samples of its CLOCK_REALTIME (once a second, and SYNC
 * samples when the channel opens, after the VM was paused and on
 * `vmbusctl timesync`). The newest sample, with the raw monotonic time at
 * which it arrived, backs a PTP clock named "openvmbus": reading it gives
 * sample + host's delay estimate + raw time elapsed since, which chrony
 * uses as a reference clock (refclock PHC). On a SYNC sample the guest
 * steps CLOCK_REALTIME when it is off by more than step_threshold_ms;
 * smaller offsets are left to chrony, which slews. Every sample is
 * answered with the offset found, so the host can show it.
 *
 * The channel callback (softirq) only records the sample; stepping the
 * clock (do_settimeofday64 must not run in softirq context) and answering
 * happen in a work item, which answers only the newest sample.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/ptp_clock_kernel.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "openvmbus.h"
#include "vmbus/version.h"
#include "vmbus/ic_timesync.h"

#define TIMESYNC_RING_BYTES	(16 * 1024)	/* each direction */
#define TIMESYNC_CLOCK_NAME	"openvmbus"	/* /sys/class/ptp/ptpN/clock_name */

static unsigned int step_threshold_ms = 1000;
module_param(step_threshold_ms, uint, 0644);
MODULE_PARM_DESC(step_threshold_ms,
		 "On a host sync, step the clock if it is off by more than this (ms; 0: never step). Default 1000.");

struct timesync {
	struct openvmbus_device *dev;
	struct openvmbus_channel *ch;
	void *rx_buf;			/* TIMESYNC_RING_BYTES: any packet fits */
	u32 version;			/* negotiated; 0 before (callback only) */

	/* The newest sample, for the PTP clock. */
	seqlock_t sample_lock;
	bool have_sample;
	s64 sample_host_ns;		/* host time, delay included */
	u64 sample_raw_ns;		/* ktime_get_raw_ns() when it arrived */

	/* The sample to answer (the newest), handed to the work item. */
	spinlock_t answer_lock;
	bool answer_pending;
	u64 answer_seq;
	u32 answer_version;
	bool answer_is_sync;		/* the newest sample asked for a sync */
	bool sync_pending;		/* some sample since the last answer did */
	u64 answer_raw_ns;
	struct work_struct answer_work;

	struct ptp_clock_info ptp_info;
	struct ptp_clock *ptp;
};

/* Host time now by the newest sample; -EAGAIN before the first one. */
static int timesync_host_ns(struct timesync *ts, u64 raw_ns, s64 *ret_ns)
{
	unsigned int seq;
	bool have;
	s64 host;
	u64 at;

	do {
		seq = read_seqbegin(&ts->sample_lock);
		have = ts->have_sample;
		host = ts->sample_host_ns;
		at = ts->sample_raw_ns;
	} while (read_seqretry(&ts->sample_lock, seq));
	if (!have)
		return -EAGAIN;
	*ret_ns = host + (s64)(raw_ns - at);
	return 0;
}

/* ------------------------------------------------------------- PTP clock */

static int timesync_ptp_gettimex(struct ptp_clock_info *info, struct timespec64 *tsp,
				 struct ptp_system_timestamp *sts)
{
	struct timesync *ts = container_of(info, struct timesync, ptp_info);
	u64 raw;
	s64 ns;
	int ret;

	ptp_read_system_prets(sts);
	raw = ktime_get_raw_ns();
	ptp_read_system_postts(sts);
	ret = timesync_host_ns(ts, raw, &ns);
	if (ret)
		return ret;
	*tsp = ns_to_timespec64(ns);
	return 0;
}

static int timesync_ptp_gettime(struct ptp_clock_info *info, struct timespec64 *tsp)
{
	return timesync_ptp_gettimex(info, tsp, NULL);
}

/* The clock follows the host: it cannot be set or tuned from the guest. */
static int timesync_ptp_adjfine(struct ptp_clock_info *info, long scaled_ppm)
{
	return -EOPNOTSUPP;
}

static int timesync_ptp_adjtime(struct ptp_clock_info *info, s64 delta)
{
	return -EOPNOTSUPP;
}

static int timesync_ptp_settime(struct ptp_clock_info *info, const struct timespec64 *tsp)
{
	return -EOPNOTSUPP;
}

static int timesync_ptp_enable(struct ptp_clock_info *info, struct ptp_clock_request *rq, int on)
{
	return -EOPNOTSUPP;
}

static const struct ptp_clock_info timesync_ptp_template = {
	.owner		= THIS_MODULE,
	.name		= TIMESYNC_CLOCK_NAME,
	.adjfine	= timesync_ptp_adjfine,
	.adjtime	= timesync_ptp_adjtime,
	.gettime64	= timesync_ptp_gettime,
	.gettimex64	= timesync_ptp_gettimex,
	.settime64	= timesync_ptp_settime,
	.enable		= timesync_ptp_enable,
};

/* --------------------------------------------------------------- answers */

static int timesync_send(struct timesync *ts, u32 version, u64 seq, int status,
			 const void *payload, u32 len)
{
	struct {
		struct vmbus_ic_hdr h;
		struct vmbus_ic_timesync_answer a;
	} msg = {
		.h = { .type = VMBUS_IC_TIMESYNC, .flags = VMBUS_IC_F_RESPONSE, .version = version,
		       .status = status, .seq = seq, .payload_len = len },
	};

	if (len > sizeof(msg.a))
		return -EINVAL;
	if (len)
		memcpy(&msg.a, payload, len);
	return openvmbus_channel_send(ts->ch, &msg, sizeof(msg.h) + len, seq, 0);
}

/* Step CLOCK_REALTIME to the host's time; returns the offset it had. */
static int timesync_step(struct timesync *ts, s64 *ret_offset)
{
	struct timespec64 now;
	s64 host;
	int ret;

	ret = timesync_host_ns(ts, ktime_get_raw_ns(), &host);
	if (ret)
		return ret;
	*ret_offset = host - ktime_get_real_ns();
	now = ns_to_timespec64(host);
	return do_settimeofday64(&now);
}

static void timesync_answer_work(struct work_struct *work)
{
	struct timesync *ts = container_of(work, struct timesync, answer_work);
	struct vmbus_ic_timesync_answer a = { 0 };
	unsigned int threshold_ms = READ_ONCE(step_threshold_ms);
	bool pending, is_sync, sync;
	u32 version;
	u64 seq, raw;
	s64 host;
	int ret;

	spin_lock_bh(&ts->answer_lock);
	pending = ts->answer_pending;
	seq = ts->answer_seq;
	version = ts->answer_version;
	is_sync = ts->answer_is_sync;
	sync = ts->sync_pending;
	raw = ts->answer_raw_ns;
	ts->answer_pending = false;
	ts->sync_pending = false;
	spin_unlock_bh(&ts->answer_lock);
	if (!pending)
		return;

	ret = timesync_host_ns(ts, ktime_get_raw_ns(), &host);
	if (ret)
		return;
	a.offset_ns = host - ktime_get_real_ns();
	a.threshold_ms = threshold_ms;
	if (sync && threshold_ms &&
	    (u64)abs(a.offset_ns) > (u64)threshold_ms * NSEC_PER_MSEC) {
		s64 offset;

		ret = timesync_step(ts, &offset);
		if (ret) {
			dev_warn_ratelimited(&ts->dev->dev, "cannot step the clock: %d\n", ret);
		} else {
			s64 abs_off = abs(offset);

			dev_info_ratelimited(&ts->dev->dev,
					     "stepped the clock by %c%lld.%09lld s to the host's time\n",
					     offset < 0 ? '-' : '+', abs_off / NSEC_PER_SEC,
					     abs_off % NSEC_PER_SEC);
			a.offset_ns = offset;
			/* The host checks the flag against the sample it answers. */
			if (is_sync && abs(offset) > (s64)threshold_ms * NSEC_PER_MSEC)
				a.flags |= VMBUS_TIMESYNC_A_STEPPED;
		}
	}
	a.turnaround_ns = ktime_get_raw_ns() - raw;
	ret = timesync_send(ts, version, seq, 0, &a, sizeof(a));
	if (ret)
		dev_warn_ratelimited(&ts->dev->dev, "cannot answer sample %llu: %d\n", seq, ret);
}

/* ------------------------------------------------------ channel callback */

static void timesync_negotiate(struct timesync *ts, const struct vmbus_ic_hdr *h,
			       const u8 *payload)
{
	struct vmbus_ic_hdr r = *h;
	struct vmbus_ic_negotiate n;
	const u32 want = VMBUS_IC_TIMESYNC_VERSION_1;

	r.flags = VMBUS_IC_F_RESPONSE;
	r.payload_len = 0;
	r.status = 0;
	ts->version = 0;
	if (h->payload_len < sizeof(n)) {
		r.status = -EPROTO;
	} else {
		memcpy(&n, payload, sizeof(n));
		if (want < n.version_min || want > n.version_max)
			r.status = -EPROTONOSUPPORT;
		else
			ts->version = r.version = want;
	}
	if (r.status)
		dev_warn_ratelimited(&ts->dev->dev, "cannot agree on a protocol version: %d\n",
				     r.status);
	if (openvmbus_channel_send(ts->ch, &r, sizeof(r), r.seq, 0))
		dev_warn_ratelimited(&ts->dev->dev, "cannot answer the negotiation\n");
}

static void timesync_sample(struct timesync *ts, const struct vmbus_ic_hdr *h, const u8 *payload)
{
	struct vmbus_ic_timesync_sample s;
	u64 raw = ktime_get_raw_ns();

	if (h->payload_len < sizeof(s)) {
		timesync_send(ts, h->version, h->seq, -EPROTO, NULL, 0);
		return;
	}
	memcpy(&s, payload, sizeof(s));
	if ((s.flags & ~VMBUS_TIMESYNC_F_ALL) || s.delay_ns > VMBUS_TIMESYNC_DELAY_MAX_NS ||
	    s.host_ns < 0 || s.host_ns > S64_MAX - (s64)VMBUS_TIMESYNC_DELAY_MAX_NS) {
		dev_warn_ratelimited(&ts->dev->dev, "malformed sample %llu ignored\n", h->seq);
		timesync_send(ts, h->version, h->seq, -EPROTO, NULL, 0);
		return;
	}
	write_seqlock(&ts->sample_lock);
	ts->sample_host_ns = s.host_ns + (s64)s.delay_ns;
	ts->sample_raw_ns = raw;
	ts->have_sample = true;
	write_sequnlock(&ts->sample_lock);

	spin_lock(&ts->answer_lock);
	ts->answer_pending = true;
	ts->answer_seq = h->seq;
	ts->answer_version = h->version;
	ts->answer_is_sync = s.flags & VMBUS_TIMESYNC_F_SYNC;
	ts->sync_pending |= ts->answer_is_sync;
	ts->answer_raw_ns = raw;
	spin_unlock(&ts->answer_lock);
	schedule_work(&ts->answer_work);
}

static void timesync_callback(void *ctx)
{
	struct timesync *ts = ctx;
	struct openvmbus_packet_info info;
	struct vmbus_ic_hdr h;
	const u8 *buf = ts->rx_buf;

	while (!openvmbus_channel_recv(ts->ch, ts->rx_buf, TIMESYNC_RING_BYTES, &info)) {
		if (info.type != VMBUS_PACKET_INBAND ||
		    vmbus_ic_check(buf, info.len, TIMESYNC_RING_BYTES - sizeof(h)) < 0) {
			dev_warn_ratelimited(&ts->dev->dev, "malformed packet from the host ignored\n");
			continue;
		}
		memcpy(&h, buf, sizeof(h));
		if (h.flags & VMBUS_IC_F_RESPONSE)
			dev_warn_ratelimited(&ts->dev->dev, "unexpected answer from the host ignored\n");
		else if (h.type == VMBUS_IC_NEGOTIATE)
			timesync_negotiate(ts, &h, buf + sizeof(h));
		else if (h.type == VMBUS_IC_TIMESYNC && ts->version && h.version == ts->version)
			timesync_sample(ts, &h, buf + sizeof(h));
		else
			dev_warn_ratelimited(&ts->dev->dev, "message type %u (version %#x) ignored\n",
					     h.type, h.version);
	}
}

/* ------------------------------------------------------------ the driver */

static int timesync_probe(struct openvmbus_device *dev, const struct openvmbus_device_id *id)
{
	struct timesync *ts;
	int ret;

	ts = kzalloc(sizeof(*ts), GFP_KERNEL);
	if (!ts)
		return -ENOMEM;
	ts->dev = dev;
	ts->ch = dev->channel;
	seqlock_init(&ts->sample_lock);
	spin_lock_init(&ts->answer_lock);
	INIT_WORK(&ts->answer_work, timesync_answer_work);
	ts->ptp_info = timesync_ptp_template;
	ts->rx_buf = kmalloc(TIMESYNC_RING_BYTES, GFP_KERNEL);
	if (!ts->rx_buf) {
		ret = -ENOMEM;
		goto err_buf;
	}
	dev_set_drvdata(&dev->dev, ts);

	ts->ptp = ptp_clock_register(&ts->ptp_info, &dev->dev);
	if (IS_ERR(ts->ptp)) {
		ret = PTR_ERR(ts->ptp);
		dev_err(&dev->dev, "cannot register the PTP clock: %d\n", ret);
		goto err_ptp;
	}
	ret = openvmbus_channel_open(ts->ch, TIMESYNC_RING_BYTES, TIMESYNC_RING_BYTES,
				     timesync_callback, ts);
	if (ret) {
		dev_err(&dev->dev, "cannot open channel: %d\n", ret);
		goto err_open;
	}
	dev_info(&dev->dev, "PTP clock %s (/dev/ptp%d), step threshold %u ms\n",
		 TIMESYNC_CLOCK_NAME, ptp_clock_index(ts->ptp), READ_ONCE(step_threshold_ms));
	return 0;

err_open:
	ptp_clock_unregister(ts->ptp);
err_ptp:
	dev_set_drvdata(&dev->dev, NULL);
	kfree(ts->rx_buf);
err_buf:
	kfree(ts);
	return ret;
}

static void timesync_remove(struct openvmbus_device *dev)
{
	struct timesync *ts = dev_get_drvdata(&dev->dev);

	ptp_clock_unregister(ts->ptp);
	openvmbus_channel_close(ts->ch);	/* no callback after this */
	cancel_work_sync(&ts->answer_work);
	dev_set_drvdata(&dev->dev, NULL);
	kfree(ts->rx_buf);
	kfree(ts);
}

static const struct openvmbus_device_id timesync_ids[] = {
	{ .class_id = VMBUS_CLASS_TIMESYNC },
	{ }
};
MODULE_ALIAS("openvmbus:6f766d62-0004-4e00-8000-74696d650001");

static struct openvmbus_driver timesync_driver = {
	.name		= "openvmbus_timesync",
	.id_table	= timesync_ids,
	.probe		= timesync_probe,
	.remove		= timesync_remove,
};

module_openvmbus_driver(timesync_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("openvmbus time synchronisation: host clock as a PTP clock, steps on host sync");
MODULE_VERSION(OPENVMBUS_VERSION);
