// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * scenario_timesync.c - sim-guest scenario "timesync": the time sync
 * service's host side against a guest that follows the protocol, then
 * against one that breaks it.
 *
 * Well behaved: a SYNC sample (reason "start") right after negotiation with
 * the host's real time; samples once a second carrying a delay estimate
 * once round trips are known; a SYNC after QMP STOP/RESUME ("resume") and
 * on "service timesync sync" ("request"); the guest's offsets and steps in
 * the worker's status.
 * Hostile: answers with unknown flags, of the wrong size, with an absurd
 * turnaround, a step on a sample that asked for none, a step inside the
 * guest's own threshold, a duplicate answer: each resets the channel, which
 * comes back; a flood of unsolicited messages is logged rate-limited.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/sim/simguest.h"
#include "vmbus/ic_timesync.h"

struct ts_msg {
	struct vmbus_ic_hdr h;
	struct vmbus_ic_timesync_sample sample;
};

static int64_t ts_realtime_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void ts_status_expect(const char *needle)
{
	char reply[16384] = "";

	for (int tries = 0; tries < 50; tries++) {
		if (sim_worker_request("service timesync status", reply, sizeof(reply)) == 0 &&
		    strstr(reply, needle))
			return;
		usleep(100 * 1000);
	}
	SIM_FAIL("timesync status never showed %s (last reply: %s)", needle, reply);
}

/* The next sample from the host (NEGOTIATE is a failure here). */
static void ts_next(struct sim *s, struct sim_channel *c, struct ts_msg *m, int timeout_ms)
{
	uint8_t buf[512];
	int r = sim_recv(s, c, buf, sizeof(buf), NULL, timeout_ms);

	if (r < (int)sizeof(*m))
		SIM_FAIL("timesync: expected a sample within %d ms, got %d", timeout_ms, r);
	memcpy(m, buf, sizeof(*m));
	if (m->h.type != VMBUS_IC_TIMESYNC || m->h.flags || m->h.payload_len != sizeof(m->sample) ||
	    m->h.version != VMBUS_IC_TIMESYNC_VERSION_1 || m->sample.reserved ||
	    m->sample.flags & ~VMBUS_TIMESYNC_F_ALL || m->sample.delay_ns > VMBUS_TIMESYNC_DELAY_MAX_NS)
		SIM_FAIL("timesync: malformed sample (type %u flags %#x len %u sample flags %#x)",
			 m->h.type, m->h.flags, m->h.payload_len, m->sample.flags);
	if (llabs(m->sample.host_ns - ts_realtime_ns()) > 1000000000LL)
		SIM_FAIL("timesync: sample time %lld is not the host's time", (long long)m->sample.host_ns);
}

/* Answer a sample (with a header and payload the test may spoil). */
static void ts_answer_raw(struct sim *s, struct sim_channel *c, const struct vmbus_ic_hdr *h,
			  const struct vmbus_ic_timesync_answer *a, uint32_t payload_len)
{
	uint8_t buf[sizeof(*h) + sizeof(*a)];
	struct vmbus_ic_hdr r = *h;

	r.flags = VMBUS_IC_F_RESPONSE;
	r.status = 0;
	r.payload_len = payload_len;
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), a, sizeof(*a));
	if (sim_send(s, c, buf, (uint32_t)sizeof(r) + (payload_len < sizeof(*a) ? payload_len : sizeof(*a)),
		     h->seq) < 0)
		SIM_FAIL("timesync: cannot answer");
}

static void ts_answer(struct sim *s, struct sim_channel *c, const struct ts_msg *m, int64_t offset_ns,
		      bool stepped)
{
	struct vmbus_ic_timesync_answer a = {
		.offset_ns = offset_ns, .threshold_ms = 1000,
		.flags = stepped ? VMBUS_TIMESYNC_A_STEPPED : 0,
	};

	ts_answer_raw(s, c, &m->h, &a, sizeof(a));
}

/* The next SYNC sample, answering the plain samples on the way. */
static void ts_next_sync(struct sim *s, struct sim_channel *c, struct ts_msg *m)
{
	for (int i = 0; i < 10; i++) {
		ts_next(s, c, m, 3000);
		if (m->sample.flags & VMBUS_TIMESYNC_F_SYNC)
			return;
		ts_answer(s, c, m, 0, false);
	}
	SIM_FAIL("timesync: no SYNC sample among 10");
}

/* Open the channel, negotiate, and take the start SYNC (answered: an hour off, stepped). */
static struct sim_channel *ts_open(struct sim *s)
{
	struct sim_channel *c = sim_find(s, "timesync", 0);
	struct ts_msg m;

	if (!c)
		SIM_FAIL("no timesync offer");
	if (sim_open(s, c, 2, 1))
		SIM_FAIL("cannot open timesync");
	sim_ic_negotiate(s, c, VMBUS_IC_TIMESYNC_VERSION_1, "timesync");
	ts_next(s, c, &m, 5000);
	if (!(m.sample.flags & VMBUS_TIMESYNC_F_SYNC))
		SIM_FAIL("timesync: the first sample after negotiation is no SYNC");
	ts_answer(s, c, &m, -3600LL * 1000000000, true);
	return c;
}

/* The host reset the channel: wait for the offer to come back (not open) and open it. */
static struct sim_channel *ts_reopened(struct sim *s, const char *what)
{
	union vmbus_ctl_msg ctl;
	struct sim_channel *c;

	for (int i = 0; i < 50; i++) {
		c = sim_find(s, "timesync", 0);
		if (c && !c->open)
			break;
		sim_ctl_wait(s, 0, &ctl, 100);
	}
	c = sim_find(s, "timesync", 0);
	if (!c || c->open)
		SIM_FAIL("timesync: %s did not reset the channel", what);
	SIM_LOG("timesync: %s reset the channel", what);
	return ts_open(s);
}

void scenario_timesync(struct sim *s)
{
	struct vmbus_ic_timesync_answer a;
	struct sim_channel *c;
	struct ts_msg m;
	char reply[4096];
	int i;

	if (sim_connect(s))
		SIM_FAIL("connect refused");
	c = ts_open(s);
	ts_status_expect("\"reason\":\"start\"");
	ts_status_expect("\"state\":\"answered\",\"offset_ns\":-3600000000000,\"stepped\":true");
	SIM_LOG("timesync: start SYNC answered, the host shows the hour the guest was off");

	/* Samples once a second, with the delay estimate from the round trips. */
	for (i = 0; i < 3; i++) {
		ts_next(s, c, &m, 2500);
		if (m.sample.flags & VMBUS_TIMESYNC_F_SYNC)
			SIM_FAIL("timesync: a periodic sample asks for a sync");
		ts_answer(s, c, &m, 1000, false);
	}
	if (!m.sample.delay_ns)
		SIM_FAIL("timesync: no delay estimate after 3 round trips");
	SIM_LOG("timesync: periodic samples, delay estimate %.3f ms", m.sample.delay_ns / 1e6);

	/* Pause and resume: a SYNC for the time the guest lost. */
	if (sim_worker_request("pause", reply, sizeof(reply)) || !strstr(reply, "\"ok\":true"))
		SIM_FAIL("pause refused: %s", reply);
	sim_poll(s, 300);
	if (sim_worker_request("resume", reply, sizeof(reply)) || !strstr(reply, "\"ok\":true"))
		SIM_FAIL("resume refused: %s", reply);
	ts_next_sync(s, c, &m);
	ts_answer(s, c, &m, 30LL * 1000000000, true);
	ts_status_expect("\"reason\":\"resume\"");
	ts_status_expect("\"offset_ns\":30000000000,\"stepped\":true");
	SIM_LOG("timesync: a resume from pause sends a SYNC");

	/* On request (vmbusctl timesync). */
	if (sim_worker_request("service timesync sync", reply, sizeof(reply)) ||
	    !strstr(reply, "\"ok\":true"))
		SIM_FAIL("sync request refused: %s", reply);
	ts_next_sync(s, c, &m);
	ts_answer(s, c, &m, 2000000, false);
	ts_status_expect("\"reason\":\"request\"");
	ts_status_expect("\"offset_ns\":2000000,\"stepped\":false");
	SIM_LOG("timesync: a requested SYNC within the threshold is reported as not stepped");

	/* Hostile answers: each resets the channel. */
	ts_next(s, c, &m, 2500);
	a = (struct vmbus_ic_timesync_answer){ .flags = 0x80 };
	ts_answer_raw(s, c, &m.h, &a, sizeof(a));
	c = ts_reopened(s, "an answer with unknown flags");

	ts_next(s, c, &m, 2500);
	a = (struct vmbus_ic_timesync_answer){ 0 };
	ts_answer_raw(s, c, &m.h, &a, 8);
	c = ts_reopened(s, "a short answer");

	ts_next(s, c, &m, 2500);
	a = (struct vmbus_ic_timesync_answer){ .turnaround_ns = ~0ull };
	ts_answer_raw(s, c, &m.h, &a, sizeof(a));
	c = ts_reopened(s, "an answer with a huge turnaround");

	ts_next(s, c, &m, 2500);	/* a plain sample */
	ts_answer(s, c, &m, 7200LL * 1000000000, true);
	c = ts_reopened(s, "a step on a plain sample");

	if (sim_worker_request("service timesync sync", reply, sizeof(reply)))
		SIM_FAIL("sync request failed");
	ts_next_sync(s, c, &m);
	ts_answer(s, c, &m, 1000, true);
	c = ts_reopened(s, "a step within the guest's own threshold");

	ts_next(s, c, &m, 2500);
	ts_answer(s, c, &m, 0, false);
	ts_answer(s, c, &m, 0, false);
	c = ts_reopened(s, "a duplicate answer");

	/* Unsolicited messages: ignored, logged rate-limited; the service goes on. */
	for (i = 0; i < 100; i++) {
		struct vmbus_ic_hdr h = { .type = VMBUS_IC_TIMESYNC, .seq = 1000 + (uint64_t)i };

		sim_send(s, c, &h, sizeof(h), h.seq);
	}
	ts_next(s, c, &m, 3000);
	ts_answer(s, c, &m, 5000, false);
	ts_status_expect("\"offset_ns\":5000,");
	/* The next second's first guest-triggered line reports what was suppressed. */
	sim_poll(s, 1100);
	if (sim_worker_request("service timesync sync", reply, sizeof(reply)))
		SIM_FAIL("sync request failed");
	ts_next_sync(s, c, &m);
	ts_answer(s, c, &m, -2000000000LL, true);
	ts_status_expect("\"offset_ns\":-2000000000,\"stepped\":true");
	ts_status_expect("\"guest_service\":true");
	SIM_LOG("timesync: hostile answers reset the channel; the service recovers each time");
}
