// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * timesync.c - the time synchronisation integration service, host side
 * (docs/protocol/timesync.md): samples of the host's CLOCK_REALTIME once a
 * second for the guest's PTP clock, and SYNC samples (the guest steps its
 * clock if it is too far off) when the guest opens the channel, when the VM
 * runs again after a pause and on `vmbusctl timesync`. Every answer gives
 * a round trip; half the smallest recent one is the delay the next sample
 * tells the guest to add.
 */
#include <string.h>
#include <time.h>

#include "host/devices.h"
#include "host/devices/ic.h"
#include "host/log.h"
#include "vmbus/classes.h"
#include "vmbus/ic_timesync.h"

#define TIMESYNC_RTT_WINDOW	16	/* answers the delay estimate looks back on */
#define TIMESYNC_ANSWER_WAIT_S	5.0	/* a sample unanswered this long is given up */

/* Why a SYNC sample was sent (shown by status and `vmbusctl timesync`). */
enum timesync_reason {
	TIMESYNC_REASON_START,		/* the guest opened the channel */
	TIMESYNC_REASON_RESUME,		/* the VM runs again after a pause */
	TIMESYNC_REASON_REQUEST,	/* vmbusctl timesync */
};

static const char *const timesync_reason_names[] = { "start", "resume", "request" };

struct timesync_answer_info {
	bool valid;
	uint64_t seq;
	double at;			/* devices_now() when it arrived */
	int64_t offset_ns;
	bool stepped;
	double round_trip;		/* seconds, the guest's turnaround taken out */
};

struct timesync_state {
	struct ic_service ic;
	bool open;
	bool started;			/* the start SYNC went out after negotiation */
	/* The sample in flight. */
	bool waiting;
	uint64_t sample_seq;
	uint32_t sample_flags;
	double sent_at;
	/* Round trips of the last answers (seconds). */
	double rtt[TIMESYNC_RTT_WINDOW];
	unsigned int nrtt, rtt_next;
	/* What the guest said. */
	uint32_t threshold_ms;
	struct timesync_answer_info last;	/* any sample */
	struct timesync_answer_info sync;	/* the last SYNC sample */
	bool sync_sent;
	enum timesync_reason sync_reason;
	uint64_t sync_seq;
	double sync_sent_at;
	uint64_t samples, answers, steps, unanswered;
};

/* Half the smallest recent round trip: the delivery delay of a sample. */
static uint64_t timesync_delay_ns(const struct timesync_state *s)
{
	double best = -1;
	unsigned int i;

	for (i = 0; i < s->nrtt; i++)
		if (best < 0 || s->rtt[i] < best)
			best = s->rtt[i];
	if (best <= 0)
		return 0;
	if (best / 2 * 1e9 > (double)VMBUS_TIMESYNC_DELAY_MAX_NS)
		return VMBUS_TIMESYNC_DELAY_MAX_NS;
	return (uint64_t)(best / 2 * 1e9);
}

static int timesync_send(struct timesync_state *s, struct channel *ch, uint32_t flags)
{
	struct vmbus_ic_timesync_sample sample = { .delay_ns = timesync_delay_ns(s), .flags = flags };
	struct timespec now;
	int r;

	if (!ch || ch->state != CHANNEL_OPEN || !s->ic.version)
		return -ENODEV;
	if (s->waiting && devices_now() - s->sent_at >= TIMESYNC_ANSWER_WAIT_S)
		s->unanswered++;
	/* Read the clock last: the delay estimate starts here. */
	clock_gettime(CLOCK_REALTIME, &now);
	sample.host_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	r = ic_send(ch, VMBUS_IC_TIMESYNC, s->ic.version, s->ic.seq + 1, &sample, sizeof(sample));
	if (r < 0)
		return r;
	s->ic.seq++;
	s->waiting = true;
	s->sample_seq = s->ic.seq;
	s->sample_flags = flags;
	s->sent_at = devices_now();
	s->samples++;
	return 0;
}

static int timesync_sync(struct timesync_state *s, struct channel *ch, enum timesync_reason why)
{
	int r = timesync_send(s, ch, VMBUS_TIMESYNC_F_SYNC);

	if (r < 0)
		return r;
	s->sync_sent = true;
	s->sync_reason = why;
	s->sync_seq = s->sample_seq;
	s->sync_sent_at = s->sent_at;
	s->sync.valid = false;
	log_info("timesync: sync sent to the guest (%s)", timesync_reason_names[why]);
	return 0;
}

/*
 * Check an answer against the sample it answers; NULL if it is well formed,
 * else why not. Everything in it comes from the guest.
 */
static const char *timesync_answer_check(const struct timesync_state *s, const struct vmbus_ic_hdr *h,
					 const struct vmbus_ic_timesync_answer *a)
{
	if (h->type != VMBUS_IC_TIMESYNC)
		return "timesync: answer of another message type";
	if (!s->waiting || h->seq != s->sample_seq)
		return "timesync: answer to no sample in flight";
	if (h->payload_len != sizeof(*a))
		return "timesync: answer of the wrong size";
	if (h->status > 0 || h->status < -4095)
		return "timesync: answer status is not an errno";
	if (a->flags & ~VMBUS_TIMESYNC_A_ALL || a->reserved)
		return "timesync: answer with unknown flags or non-zero reserved bytes";
	if (a->turnaround_ns > VMBUS_TIMESYNC_TURNAROUND_MAX_NS)
		return "timesync: answer claims a turnaround over 10 s";
	if (a->offset_ns == INT64_MIN)
		return "timesync: answer offset out of range";
	if (a->flags & VMBUS_TIMESYNC_A_STEPPED) {
		uint64_t off = (uint64_t)(a->offset_ns < 0 ? -a->offset_ns : a->offset_ns);

		if (!(s->sample_flags & VMBUS_TIMESYNC_F_SYNC))
			return "timesync: the guest stepped on a sample that was no sync";
		if (!a->threshold_ms || off <= (uint64_t)a->threshold_ms * 1000000)
			return "timesync: the guest stepped within its own threshold";
	}
	return NULL;
}

static void timesync_answer(void *ctx, struct channel *ch, const struct vmbus_ic_hdr *h,
			    const uint8_t *payload)
{
	struct timesync_state *s = ctx;
	struct vmbus_ic_timesync_answer a = { 0 };
	struct timesync_answer_info info = { .valid = true, .seq = h->seq, .at = devices_now() };
	const char *why;

	if (h->payload_len >= sizeof(a))
		memcpy(&a, payload, sizeof(a));
	why = timesync_answer_check(s, h, &a);
	if (why) {
		channel_reset(ch, why);
		return;
	}
	s->waiting = false;
	s->answers++;
	if (h->status < 0) {
		log_guest(LOG_WARNING, "timesync: the guest could not use sample %llu (status %d)",
			  (unsigned long long)h->seq, h->status);
		return;
	}
	info.offset_ns = a.offset_ns;
	info.stepped = a.flags & VMBUS_TIMESYNC_A_STEPPED;
	info.round_trip = info.at - s->sent_at - (double)a.turnaround_ns / 1e9;
	if (info.round_trip < 0)
		info.round_trip = 0;	/* the two clocks' rates differ a little */
	s->rtt[s->rtt_next] = info.round_trip;
	s->rtt_next = (s->rtt_next + 1) % TIMESYNC_RTT_WINDOW;
	if (s->nrtt < TIMESYNC_RTT_WINDOW)
		s->nrtt++;
	s->threshold_ms = a.threshold_ms;
	s->last = info;
	if (s->sync_sent && h->seq == s->sync_seq) {
		s->sync = info;
		if (info.stepped)
			s->steps++;
		log_guest(LOG_INFO, "timesync: guest clock was off by %+.6f s, %s", (double)a.offset_ns / 1e9,
			  info.stepped ? "stepped" : "left to chrony (within the guest's threshold)");
	}
}

static int timesync_open(struct device *dev, struct channel *ch)
{
	struct timesync_state *s = dev->priv;

	s->open = true;
	s->started = false;
	s->waiting = false;
	s->nrtt = s->rtt_next = 0;
	return ic_open(&s->ic, ch, "timesync", VMBUS_IC_TIMESYNC_VERSION_1, VMBUS_IC_TIMESYNC_VERSION_1);
}

static void timesync_close(struct device *dev, struct channel *ch)
{
	struct timesync_state *s = dev->priv;

	(void)ch;
	s->open = false;
	s->ic.version = 0;
	s->waiting = false;
}

static void timesync_event(struct device *dev, struct channel *ch)
{
	struct timesync_state *s = dev->priv;

	ic_receive(&s->ic, ch, timesync_answer, s);
	/* Negotiated just now: the guest's clock may be anything, sync it. */
	if (s->ic.version && !s->started && !ch->reset_reason) {
		s->started = true;
		timesync_sync(s, ch, TIMESYNC_REASON_START);
	}
}

static void timesync_tick(struct device *dev)
{
	struct timesync_state *s = dev->priv;

	if (!s->open || !s->started)
		return;
	/* One sample in flight at a time (a paused guest answers nothing). */
	if (s->waiting && devices_now() - s->sent_at < TIMESYNC_ANSWER_WAIT_S)
		return;
	timesync_send(s, dev->primary, 0);
}

static void timesync_vm_resumed(struct device *dev, double paused_s)
{
	struct timesync_state *s = dev->priv;

	(void)paused_s;
	if (s->open && s->started)
		timesync_sync(s, dev->primary, TIMESYNC_REASON_RESUME);
}

static void timesync_answer_json(struct json_writer *w, const char *key,
				 const struct timesync_answer_info *info)
{
	json_object_begin(w, key);
	json_uint(w, "sequence", info->seq);
	json_double(w, "ago", devices_now() - info->at);
	json_int(w, "offset_ns", info->offset_ns);
	json_bool(w, "stepped", info->stepped);
	json_double(w, "round_trip_ms", info->round_trip * 1e3);
	json_object_end(w);
}

static void timesync_status(struct device *dev, struct json_writer *w)
{
	struct timesync_state *s = dev->priv;
	char version[16];

	json_bool(w, "guest_service", s->open && s->ic.version);
	if (s->ic.version)
		json_string(w, "protocol", ic_version_text(&s->ic, version, sizeof(version)));
	json_uint(w, "samples", s->samples);
	json_uint(w, "answers", s->answers);
	json_uint(w, "unanswered", s->unanswered);
	json_uint(w, "steps", s->steps);
	json_double(w, "delay_ms", (double)timesync_delay_ns(s) / 1e6);
	if (s->answers)
		json_uint(w, "threshold_ms", s->threshold_ms);
	if (s->last.valid)
		timesync_answer_json(w, "last_sample", &s->last);
	if (!s->sync_sent)
		return;
	json_object_begin(w, "last_sync");
	json_string(w, "reason", timesync_reason_names[s->sync_reason]);
	json_uint(w, "sequence", s->sync_seq);
	json_double(w, "sent_ago", devices_now() - s->sync_sent_at);
	json_string(w, "state", s->sync.valid ? "answered" :
		    s->waiting && s->sample_seq == s->sync_seq ? "waiting" : "unanswered");
	if (s->sync.valid) {
		json_int(w, "offset_ns", s->sync.offset_ns);
		json_bool(w, "stepped", s->sync.stepped);
		json_double(w, "round_trip_ms", s->sync.round_trip * 1e3);
	}
	json_object_end(w);
}

/* "service timesync sync" sends a SYNC; "service timesync status" reports. */
static int timesync_command(struct device *dev, int argc, char **argv, struct json_writer *out,
			    const char **error)
{
	struct timesync_state *s = dev->priv;
	int r;

	if (argc == 1 && strcmp(argv[0], "status") == 0) {
		timesync_status(dev, out);
		return 0;
	}
	if (argc != 1 || strcmp(argv[0], "sync") != 0) {
		*error = "usage: service timesync sync|status";
		return -EINVAL;
	}
	r = timesync_sync(s, dev->primary, TIMESYNC_REASON_REQUEST);
	if (r == -ENODEV)
		*error = "the guest's time sync service is not connected";
	if (r < 0)
		return r;
	json_uint(out, "sequence", s->sync_seq);
	return 0;
}

const struct device_ops timesync_device_ops = {
	.name = "timesync",
	.class_id = VMBUS_CLASS_TIMESYNC,
	.ring_size_max = 64 * 1024,
	.priv_size = sizeof(struct timesync_state),
	.open = timesync_open,
	.close = timesync_close,
	.event = timesync_event,
	.tick = timesync_tick,
	.status = timesync_status,
	.command = timesync_command,
	.vm_resumed = timesync_vm_resumed,
};
