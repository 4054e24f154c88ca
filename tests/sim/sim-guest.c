// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * sim-guest.c - the userspace guest program. vmbus-worker starts it in
 * place of QEMU (--qemu); SIM_SCENARIO picks what it does:
 *
 *   basic    a well-behaved guest: connect, offers, echo with checksums,
 *            heartbeat, retarget, sub-channels, rescind and hot-add,
 *            unload and reconnect
 *   shutdown the shutdown service: inhibited, malformed answer, accepted
 *   window   many packets in flight, no missed signal
 *   hostile  malformed control messages, bad GPADLs, bad opens, corrupted
 *            ring indices and packet lengths, doorbell and request floods,
 *            a corrupted control ring; after each, the worker must still
 *            serve the other channels
 *
 * Exit status 0 means every check passed (the worker reports "powered
 * off"); anything else is a failure with the reason on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/sim/simguest.h"
#include "vmbus/ic.h"

#define ECHO_PAGES 8

static uint64_t fnv(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* Send n packets of varied sizes and check each comes back intact. */
static void echo_check(struct sim *s, struct sim_channel *c, unsigned int n)
{
	static uint8_t out[8192], in[8192];
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint32_t len = (i * 997u) % 4096u, j;
		uint64_t id;
		int r;

		for (j = 0; j < len; j++)
			out[j] = (uint8_t)(i * 31 + j);
		r = sim_send(s, c, out, len, 1000 + i);
		if (r < 0)
			SIM_FAIL("echo send %u (%u bytes): %d", i, len, r);
		r = sim_recv(s, c, in, sizeof(in), &id, 5000);
		if (r < 0)
			SIM_FAIL("echo %u: no answer (%d)", i, r);
		if (id != 1000 + i || (uint32_t)r < len || fnv(in, len) != fnv(out, len))
			SIM_FAIL("echo %u: answer differs (id %llu, %d bytes for %u)", i,
				 (unsigned long long)id, r, len);
	}
}

static void status_expect(const char *request, const char *needle)
{
	char reply[16384];

	for (int tries = 0; tries < 50; tries++) {
		if (sim_worker_request(request, reply, sizeof(reply)) == 0 && strstr(reply, needle))
			return;
		usleep(100 * 1000);
	}
	SIM_FAIL("worker '%s' never reported %s (last reply: %s)", request, needle, reply);
}

/* Answer the heartbeat service: negotiation, then `beats` heartbeats. */
static void heartbeat_serve(struct sim *s, struct sim_channel *c, unsigned int beats)
{
	uint8_t buf[256];
	unsigned int answered = 0;

	while (answered < beats) {
		struct vmbus_ic_hdr h;
		int r = sim_recv(s, c, buf, sizeof(buf), NULL, 5000);

		if (r < (int)sizeof(h))
			SIM_FAIL("heartbeat: expected a request, got %d", r);
		memcpy(&h, buf, sizeof(h));
		h.flags = VMBUS_IC_F_RESPONSE;
		h.status = 0;
		h.payload_len = 0;
		if (h.type == VMBUS_IC_NEGOTIATE)
			h.version = VMBUS_IC_HEARTBEAT_VERSION_1;
		else if (h.type == VMBUS_IC_HEARTBEAT)
			answered++;
		if (sim_send(s, c, &h, sizeof(h), h.seq) < 0)
			SIM_FAIL("heartbeat: cannot answer");
	}
}

static struct sim_channel *must_find(struct sim *s, const char *name, uint16_t sub)
{
	struct sim_channel *c = sim_find(s, name, sub);

	if (!c)
		SIM_FAIL("no %s offer (sub-channel %u)", name, sub);
	return c;
}

static void wait_offer(struct sim *s, const char *name)
{
	union vmbus_ctl_msg m;

	for (int i = 0; i < 100 && !sim_find(s, name, 0); i++)
		sim_ctl_wait(s, 0, &m, 100);
	must_find(s, name, 0);
}

/* The host reset channel old_id of class name: wait for its new offer. */
static void wait_reoffer(struct sim *s, const char *name, uint32_t old_id)
{
	union vmbus_ctl_msg m;

	for (int i = 0; i < 50 && sim_find(s, name, 0) &&
	     sim_find(s, name, 0)->offer.channel_id == old_id; i++)
		sim_ctl_wait(s, 0, &m, 100);
	wait_offer(s, name);
}

static void scenario_basic(struct sim *s)
{
	struct sim_channel *echo, *hb, *sc;
	struct vmbus_ctl_modify mod = { .hdr.type = VMBUS_CTL_MODIFY };
	struct vmbus_ctl_subchannel req = { .hdr.type = VMBUS_CTL_SUBCHANNEL_REQUEST, .count = 2 };
	struct vmbus_ctl_hdr unload = { .type = VMBUS_CTL_UNLOAD };
	union vmbus_ctl_msg m;
	uint64_t before, after;
	char reply[512];

	if (sim_connect(s))
		SIM_FAIL("connect refused");
	SIM_LOG("connected, %u offers", s->noffers);
	echo = must_find(s, "echo", 0);
	hb = must_find(s, "heartbeat", 0);
	if (sim_open(s, echo, ECHO_PAGES, 1))
		SIM_FAIL("cannot open echo");
	echo_check(s, echo, 2000);
	SIM_LOG("echo: 2000 packets of 0-4095 bytes came back intact");

	if (sim_open(s, hb, 2, 1))
		SIM_FAIL("cannot open heartbeat");
	heartbeat_serve(s, hb, 2);
	status_expect("status", "\"heartbeat\":\"ok\"");
	SIM_LOG("heartbeat: negotiated and answered; worker reports ok");
	{
		/*
		 * Silent for 3.5 s (a busy or paused guest): one beat waits,
		 * not one per second; answered, the service is ok again.
		 */
		uint8_t buf[256];
		unsigned int waiting = 0;
		struct vmbus_ic_hdr h;

		usleep(3500 * 1000);
		while (sim_recv(s, hb, buf, sizeof(buf), NULL, 0) >= (int)sizeof(h))
			waiting++;
		if (waiting != 1)
			SIM_FAIL("heartbeat: %u beats waited after 3.5 s of silence, not 1", waiting);
		memcpy(&h, buf, sizeof(h));
		h.flags = VMBUS_IC_F_RESPONSE;
		h.status = 0;
		h.payload_len = 0;
		if (h.type != VMBUS_IC_HEARTBEAT || sim_send(s, hb, &h, sizeof(h), h.seq) < 0)
			SIM_FAIL("heartbeat: cannot answer the beat that waited (type %u)", h.type);
		status_expect("status", "\"heartbeat\":\"ok\"");
		SIM_LOG("heartbeat: after 3.5 s of silence one beat waited; answered, ok again");
	}

	/* Retarget: the echo's interrupts must move to vector 2. */
	mod.channel_id = echo->offer.channel_id;
	mod.target_cpu = 1;
	mod.vector = 2;
	sim_ctl_send(s, &mod, sizeof(mod));
	if (sim_ctl_wait(s, VMBUS_CTL_MODIFY_RESULT, &m, 5000) < 0 || m.result.status)
		SIM_FAIL("MODIFY refused");
	while (read(s->guest_efd[2], &before, sizeof(before)) > 0)
		;
	echo_check(s, echo, 1);
	sim_poll(s, 20);
	if (read(s->guest_efd[2], &after, sizeof(after)) != sizeof(after) || after == 0)
		SIM_FAIL("no interrupt on vector 2 after retargeting");
	SIM_LOG("retarget: interrupts now on vector 2");

	/* Sub-channels. */
	req.channel_id = echo->offer.channel_id;
	sim_ctl_send(s, &req, sizeof(req));
	if (sim_ctl_wait(s, VMBUS_CTL_SUBCHANNEL_RESULT, &m, 5000) < 0 || m.subchannel.count != 2)
		SIM_FAIL("expected 2 sub-channels");
	sim_ctl_wait(s, VMBUS_CTL_OFFER, &m, 5000);
	sim_ctl_wait(s, VMBUS_CTL_OFFER, &m, 5000);
	sc = must_find(s, "echo", 2);
	if (sim_open(s, sc, 2, 1))
		SIM_FAIL("cannot open sub-channel 2");
	echo_check(s, sc, 50);
	SIM_LOG("sub-channels: 2 offered, sub-channel 2 echoes");

	/* Close and reopen. */
	echo = must_find(s, "echo", 0);
	sim_close(s, echo);
	if (sim_open(s, echo, ECHO_PAGES, 1))
		SIM_FAIL("cannot reopen echo");
	echo_check(s, echo, 10);

	/* Rescind and hot-add through the worker's control socket. */
	sim_worker_request("rescind echo", reply, sizeof(reply));
	if (!strstr(reply, "\"ok\":true"))
		SIM_FAIL("rescind refused: %s", reply);
	for (int i = 0; i < 50 && (sim_find(s, "echo", 0) || sim_find(s, "echo", 1) ||
				   sim_find(s, "echo", 2)); i++)
		sim_ctl_wait(s, 0, &m, 100);
	if (sim_find(s, "echo", 0) || sim_find(s, "echo", 1) || sim_find(s, "echo", 2))
		SIM_FAIL("echo not rescinded");
	sim_worker_request("offer echo", reply, sizeof(reply));
	wait_offer(s, "echo");
	echo = must_find(s, "echo", 0);
	if (sim_open(s, echo, ECHO_PAGES, 1))
		SIM_FAIL("cannot open the hot-added echo");
	echo_check(s, echo, 10);
	SIM_LOG("rescind and hot-add: echo went away and came back");

	/* Unload, then a new connection gets fresh offers. */
	sim_ctl_send(s, &unload, sizeof(unload));
	if (sim_ctl_wait(s, VMBUS_CTL_UNLOAD_DONE, &m, 5000) < 0)
		SIM_FAIL("no UNLOAD_DONE");
	if (sim_connect(s))
		SIM_FAIL("reconnect refused");
	echo = must_find(s, "echo", 0);
	if (sim_open(s, echo, ECHO_PAGES, 1))
		SIM_FAIL("cannot open echo after reconnecting");
	echo_check(s, echo, 10);
	SIM_LOG("unload and reconnect: offers and echo work again");
}

/* The worker must still answer on the bus and on echo. */
static struct sim_channel *sanity(struct sim *s, const char *after)
{
	struct vmbus_ctl_modify mod = { .hdr.type = VMBUS_CTL_MODIFY, .vector = 1 };
	struct sim_channel *echo;
	union vmbus_ctl_msg m;

	wait_offer(s, "echo");
	echo = must_find(s, "echo", 0);
	if (!echo->open && sim_open(s, echo, ECHO_PAGES, 1))
		SIM_FAIL("after %s: cannot open echo", after);
	mod.channel_id = echo->offer.channel_id;
	sim_ctl_send(s, &mod, sizeof(mod));
	if (sim_ctl_wait(s, VMBUS_CTL_MODIFY_RESULT, &m, 5000) < 0)
		SIM_FAIL("after %s: the control channel no longer answers", after);
	echo_check(s, echo, 5);
	SIM_LOG("survived: %s", after);
	return echo;
}

static void gpadl_expect(struct sim *s, uint32_t channel, uint32_t total, uint32_t count,
			 uint64_t pfn, int want, const char *what)
{
	uint8_t buf[sizeof(struct vmbus_ctl_gpadl_header) + 8];
	struct vmbus_ctl_gpadl_header *g = (void *)buf;
	union vmbus_ctl_msg m;

	memset(buf, 0, sizeof(buf));
	g->hdr.type = VMBUS_CTL_GPADL_HEADER;
	g->channel_id = channel;
	g->gpadl_id = 0x7000 + s->next_gpadl++;
	g->total_pages = total;
	g->count = count;
	g->pfn[0] = pfn;
	sim_ctl_send(s, g, sizeof(buf));
	if (sim_ctl_wait(s, VMBUS_CTL_GPADL_RESULT, &m, 5000) < 0)
		SIM_FAIL("%s: no GPADL_RESULT", what);
	if (m.gpadl_result.status != want)
		SIM_FAIL("%s: status %d, expected %d", what, m.gpadl_result.status, want);
	SIM_LOG("refused as expected: %s", what);
}

static void scenario_hostile(struct sim *s)
{
	struct sim_channel *echo, *hb;
	union vmbus_ctl_msg m;
	uint8_t junk[64];
	uint32_t id;
	char reply[4096];

	if (sim_connect(s))
		SIM_FAIL("connect refused");
	echo = sanity(s, "connect");
	id = echo->offer.channel_id;
	hb = must_find(s, "heartbeat", 0);
	if (sim_open(s, hb, 2, 1))
		SIM_FAIL("cannot open heartbeat");
	heartbeat_serve(s, hb, 1);

	/* Malformed and truncated control messages: no answer, no harm. */
	memset(junk, 0xff, sizeof(junk));
	sim_ctl_send(s, junk, 4);				/* shorter than a header */
	sim_ctl_send(s, junk, sizeof(junk));			/* unknown type */
	m.hdr.type = VMBUS_CTL_OPEN;
	sim_ctl_send(s, &m, sizeof(struct vmbus_ctl_open) - 8);	/* truncated open */
	memset(&m, 0, sizeof(m));
	m.gpadl_header.hdr.type = VMBUS_CTL_GPADL_HEADER;
	m.gpadl_header.count = 400;				/* claims 400 pfns, carries none */
	sim_ctl_send(s, &m, sizeof(struct vmbus_ctl_gpadl_header));
	m.hdr.type = VMBUS_CTL_OFFER;				/* a host-only message */
	sim_ctl_send(s, &m, sizeof(struct vmbus_ctl_offer));
	m.hdr.type = VMBUS_CTL_GPADL_BODY;			/* body of nothing */
	m.gpadl_body.gpadl_id = 0x5555;
	m.gpadl_body.count = 1;
	sim_ctl_send(s, &m, sizeof(struct vmbus_ctl_gpadl_body) + 8);
	echo = sanity(s, "malformed and truncated control messages");

	/* GPADLs that point outside guest RAM. */
	gpadl_expect(s, id, 1, 1, s->mem.size / VMBUS_PAGE_SIZE, -EFAULT, "page beyond the end of RAM");
	gpadl_expect(s, id, 1, 1, 0xfe000000ULL / VMBUS_PAGE_SIZE, -EFAULT, "page in the MMIO hole (BAR2)");
	gpadl_expect(s, id, 1, 1, 0xa0, -EFAULT, "page in the VGA hole");
	gpadl_expect(s, id, 1, 1, ~0ULL, -EFAULT, "pfn that overflows");
	gpadl_expect(s, id, 0x7fffffff, 1, 0x300, -EINVAL, "2^31 pages");
	gpadl_expect(s, 999, 1, 1, 0x300, -ENODEV, "GPADL for a channel that does not exist");
	echo = sanity(s, "bad GPADLs");

	/* Bad opens. */
	{
		struct vmbus_ctl_open o = { .hdr.type = VMBUS_CTL_OPEN, .channel_id = id,
					    .ring_gpadl_id = 0x4242, .to_guest_page = 2, .vector = 1 };

		sim_ctl_send(s, &o, sizeof(o));		/* unknown GPADL (and channel is open) */
		if (sim_ctl_wait(s, VMBUS_CTL_OPEN_RESULT, &m, 5000) < 0 || m.result.status != -EINVAL)
			SIM_FAIL("open of an open channel with an unknown GPADL was not refused");
		o.channel_id = 0;
		sim_ctl_send(s, &o, sizeof(o));
		if (sim_ctl_wait(s, VMBUS_CTL_OPEN_RESULT, &m, 5000) < 0 || m.result.status != -EINVAL)
			SIM_FAIL("open of channel 0 was not refused");
	}
	echo = sanity(s, "bad opens");

	/* Ring indices beyond the ring: the echo channel is reset, heartbeat is not. */
	vmbus_write_once(echo->tx.hdr->write_index, 0x7ffffff8u);
	sim_signal_channel(s, echo);
	wait_reoffer(s, "echo", id);
	echo = sanity(s, "a write index beyond the ring (channel reset and offered again)");
	heartbeat_serve(s, hb, 1);
	SIM_LOG("heartbeat channel unaffected by the echo reset");

	/* A packet whose length runs past what was written. */
	id = echo->offer.channel_id;
	{
		struct vmbus_packet_desc d = { .type = VMBUS_PACKET_INBAND, .offset8 = 2, .len8 = 500 };

		memcpy(echo->tx.data, &d, sizeof(d));
		vmbus_store_release(&echo->tx.hdr->write_index, 64u);
		echo->tx.index = 64;
		sim_signal_channel(s, echo);
	}
	wait_reoffer(s, "echo", id);
	echo = sanity(s, "a packet longer than the data written (channel reset)");

	/* Doorbell flood on every vector. */
	for (int i = 0; i < 200000; i++)
		sim_doorbell(s, (unsigned int)i % s->nvectors);
	echo = sanity(s, "200000 doorbells");

	/* Request flood without reading the answers. */
	{
		struct vmbus_ctl_modify mod = { .hdr.type = VMBUS_CTL_MODIFY,
						.channel_id = echo->offer.channel_id, .vector = 1 };
		int sent = 0;

		for (int i = 0; i < 20000; i++) {
			if (sim_ctl_send(s, &mod, sizeof(mod)) == 0)
				sent++;
			else
				sim_poll(s, 1);
		}
		for (int got = 0; got < sent; got++)
			if (sim_ctl_wait(s, VMBUS_CTL_MODIFY_RESULT, &m, 2000) < 0)
				break;
		SIM_LOG("flood: %d requests sent", sent);
	}
	echo = sanity(s, "a flood of 20000 control requests");

	/* Corrupt the control ring itself: the worker drops the connection. */
	vmbus_write_once(s->ctl_tx.hdr->write_index, 13u);
	sim_doorbell(s, VMBUS_VECTOR_CONTROL);
	sim_poll(s, 200);
	if (sim_connect(s))
		SIM_FAIL("reconnect after corrupting the control ring was refused");
	sanity(s, "a corrupted control ring (connection dropped, guest reconnected)");

	/*
	 * Integration-service framing: an answer whose payload_len runs past
	 * its packet resets the channel; a message that answers nothing is
	 * ignored (logged); the service works again after the reset.
	 */
	hb = must_find(s, "heartbeat", 0);
	if (!hb->open && sim_open(s, hb, 2, 1))
		SIM_FAIL("cannot open heartbeat again");
	{
		struct vmbus_ic_hdr h = { .type = VMBUS_IC_HEARTBEAT, .seq = 999 };
		uint32_t old_id = hb->offer.channel_id;

		sim_send(s, hb, &h, sizeof(h), 0);		/* no response flag, unknown sequence */
		h.flags = VMBUS_IC_F_RESPONSE;
		h.payload_len = 3000;				/* the packet carries none of it */
		sim_send(s, hb, &h, sizeof(h), 0);
		wait_reoffer(s, "heartbeat", old_id);
		hb = must_find(s, "heartbeat", 0);
		if (sim_open(s, hb, 2, 1))
			SIM_FAIL("cannot open heartbeat after its reset");
		heartbeat_serve(s, hb, 1);
	}
	sanity(s, "malformed integration-service frames (channel reset, service back)");

	sim_worker_request("status", reply, sizeof(reply));
	SIM_LOG("worker status: %s", reply);
}

/* Serve the shutdown service's negotiation; returns the channel. */
static struct sim_channel *shutdown_open(struct sim *s)
{
	struct sim_channel *c = must_find(s, "shutdown", 0);

	if (sim_open(s, c, 2, 1))
		SIM_FAIL("cannot open shutdown");
	sim_ic_negotiate(s, c, VMBUS_IC_SHUTDOWN_VERSION_1, "shutdown");
	return c;
}

/* Wait for a shutdown request; check it; answer with result and message. */
static void shutdown_answer(struct sim *s, struct sim_channel *c, uint32_t want_action,
			    const char *want_reason, uint32_t result, const char *message,
			    uint32_t claimed_len)
{
	uint8_t buf[1024];
	struct vmbus_ic_hdr h;
	struct vmbus_ic_shutdown_request req;
	struct vmbus_ic_shutdown_answer a = { .result = result, .message_len = claimed_len };
	int r = sim_recv(s, c, buf, sizeof(buf), NULL, 5000);

	if (r < (int)(sizeof(h) + sizeof(req)))
		SIM_FAIL("shutdown: no request (%d)", r);
	memcpy(&h, buf, sizeof(h));
	memcpy(&req, buf + sizeof(h), sizeof(req));
	if (h.type != VMBUS_IC_SHUTDOWN || req.action != want_action ||
	    req.reason_len != strlen(want_reason) ||
	    memcmp(buf + sizeof(h) + sizeof(req), want_reason, req.reason_len))
		SIM_FAIL("shutdown: request type %u action %u reason '%.*s'", h.type, req.action,
			 (int)req.reason_len, (char *)buf + sizeof(h) + sizeof(req));
	h.flags = VMBUS_IC_F_RESPONSE;
	h.payload_len = (uint32_t)(sizeof(a) + strlen(message));
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &a, sizeof(a));
	memcpy(buf + sizeof(h) + sizeof(a), message, strlen(message));
	sim_send(s, c, buf, h.payload_len + (uint32_t)sizeof(h), h.seq);
}

static void scenario_shutdown(struct sim *s)
{
	struct sim_channel *c;
	char reply[4096];

	if (sim_connect(s))
		SIM_FAIL("connect refused");
	c = shutdown_open(s);
	status_expect("status", "\"guest_service\":true");

	/* An inhibitor blocks it: the host shows who. */
	sim_worker_request("shutdown poweroff --reason maintenance window", reply, sizeof(reply));
	if (!strstr(reply, "\"ok\":true"))
		SIM_FAIL("shutdown request refused by the worker: %s", reply);
	shutdown_answer(s, c, VMBUS_SHUTDOWN_POWEROFF, "maintenance window", VMBUS_SHUTDOWN_INHIBITED,
			"blocked by inhibitor: backup (pid 42)", 37);
	status_expect("status", "\"result\":\"inhibited\",\"message\":\"blocked by inhibitor: backup (pid 42)\"");
	SIM_LOG("shutdown: an inhibited request is reported with the guest's message");

	/* A malformed answer (message longer than the packet) resets the channel. */
	sim_worker_request("shutdown reboot", reply, sizeof(reply));
	shutdown_answer(s, c, VMBUS_SHUTDOWN_REBOOT, "", VMBUS_SHUTDOWN_ACCEPTED, "x", 400);
	wait_reoffer(s, "shutdown", c->offer.channel_id);
	c = shutdown_open(s);
	SIM_LOG("shutdown: a malformed answer reset the channel, which came back");

	/*
	 * The service goes away with the request unanswered (a daemon that
	 * restarts closes its device, which closes the channel): the host
	 * sends the request again once a service has negotiated.
	 */
	sim_worker_request("shutdown poweroff --timeout=30 --reason restart", reply, sizeof(reply));
	if (sim_recv(s, c, reply, sizeof(reply), NULL, 5000) < (int)sizeof(struct vmbus_ic_hdr))
		SIM_FAIL("shutdown: no request to leave unanswered");
	if (sim_close(s, c))
		SIM_FAIL("shutdown: close refused");
	status_expect("status", "\"awaiting_service\":true");
	c = shutdown_open(s);
	shutdown_answer(s, c, VMBUS_SHUTDOWN_POWEROFF, "restart", VMBUS_SHUTDOWN_ACCEPTED,
			"powering off", 12);
	status_expect("status", "\"resent\":1,\"awaiting_service\":false,\"result\":\"accepted\"");
	SIM_LOG("shutdown: a request left unanswered by a closing service went again to the next one");

	/* Never answered: at its deadline the host stops waiting and says so. */
	sim_worker_request("shutdown reboot --timeout=2", reply, sizeof(reply));
	if (sim_recv(s, c, reply, sizeof(reply), NULL, 5000) < (int)sizeof(struct vmbus_ic_hdr))
		SIM_FAIL("shutdown: no request to ignore");
	status_expect("status", "\"result\":\"unanswered\"");
	SIM_LOG("shutdown: an unanswered request is reported as such after its timeout");

	/*
	 * The driver has the channel open but no service has negotiated yet
	 * (a daemon taking over): the request waits for the negotiation.
	 */
	if (sim_close(s, c) || sim_open(s, c, 2, 1))
		SIM_FAIL("shutdown: cannot reopen");
	sim_worker_request("shutdown poweroff --timeout=30 --reason queued", reply, sizeof(reply));
	if (!strstr(reply, "\"ok\":true"))
		SIM_FAIL("a request before the negotiation was refused: %s", reply);
	status_expect("status", "\"awaiting_service\":true");
	/* The request must not come before the negotiation. */
	sim_ic_negotiate(s, c, VMBUS_IC_SHUTDOWN_VERSION_1, "shutdown after reopening");
	shutdown_answer(s, c, VMBUS_SHUTDOWN_POWEROFF, "queued", VMBUS_SHUTDOWN_NOT_READY,
			"still booting", 13);
	status_expect("status", "\"resent\":0,\"awaiting_service\":false,\"result\":\"not-ready\"");
	SIM_LOG("shutdown: a request made before the service negotiated went out once it had");

	/* Accepted, forced, with a reason. */
	sim_worker_request("shutdown poweroff --force --timeout=30 --reason host maintenance", reply,
			   sizeof(reply));
	shutdown_answer(s, c, VMBUS_SHUTDOWN_POWEROFF, "host maintenance", VMBUS_SHUTDOWN_ACCEPTED,
			"powering off", 12);
	status_expect("status", "\"force\":true");
	status_expect("status", "\"result\":\"accepted\"");
	SIM_LOG("shutdown: accepted; the guest powers off");
}

/*
 * A guest that stays up and serves the shutdown service as
 * SIM_SHUTDOWN_ANSWER says: "accept" (answer, then power off), "inhibit"
 * (refuse with a message), or "none" (never open the service: the host
 * must fall back to ACPI, which this guest honours by powering off).
 */
static void scenario_serve_shutdown(struct sim *s)
{
	const char *mode = getenv("SIM_SHUTDOWN_ANSWER") ?: "accept";
	struct sim_channel *c = NULL;
	uint8_t buf[1024];

	if (sim_connect(s))
		SIM_FAIL("connect refused");
	if (strcmp(mode, "none") != 0)
		c = shutdown_open(s);
	for (;;) {
		struct vmbus_ic_hdr h;
		struct vmbus_ic_shutdown_answer a = { 0 };
		const char *msg;
		int r;

		if (s->powerdown_requested) {
			SIM_LOG("ACPI power-down: powering off");
			return;
		}
		if (!c) {
			sim_poll(s, 50);
			continue;
		}
		r = sim_recv(s, c, buf, sizeof(buf), NULL, 50);
		if (r == -ETIMEDOUT)
			continue;
		if (r < (int)sizeof(h))
			SIM_FAIL("shutdown: bad message (%d)", r);
		memcpy(&h, buf, sizeof(h));
		msg = strcmp(mode, "inhibit") == 0 ? "blocked by inhibitor: backup (pid 42)" : "powering off";
		a.result = strcmp(mode, "inhibit") == 0 ? VMBUS_SHUTDOWN_INHIBITED : VMBUS_SHUTDOWN_ACCEPTED;
		a.message_len = (uint32_t)strlen(msg);
		h.flags = VMBUS_IC_F_RESPONSE;
		h.payload_len = (uint32_t)(sizeof(a) + a.message_len);
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), &a, sizeof(a));
		memcpy(buf + sizeof(h) + sizeof(a), msg, a.message_len);
		sim_send(s, c, buf, (uint32_t)sizeof(h) + h.payload_len, h.seq);
		if (a.result == VMBUS_SHUTDOWN_ACCEPTED) {
			sim_poll(s, 300);
			SIM_LOG("shutdown accepted: powering off");
			return;
		}
	}
}

/* Many packets in flight: the host must never miss a signal (no stall check may fire). */
static void scenario_window(struct sim *s)
{
	static uint8_t out[512], in[1024];
	struct sim_channel *echo;
	unsigned long sent = 0, got = 0, total = 300000;
	const unsigned int window = 8;
	char reply[16384];

	if (sim_connect(s))
		SIM_FAIL("connect refused");
	echo = must_find(s, "echo", 0);
	if (sim_open(s, echo, 4, 1))
		SIM_FAIL("cannot open echo");
	memset(out, 0x5a, sizeof(out));
	while (got < total) {
		while (sent < total && sent - got < window) {
			if (sim_send(s, echo, out, sizeof(out), sent) < 0)
				SIM_FAIL("send %lu", sent);
			sent++;
		}
		if (sim_recv(s, echo, in, sizeof(in), NULL, 3000) < 0)
			SIM_FAIL("no echo for packet %lu within 3 s (%lu sent)", got, sent);
		got++;
	}
	sim_worker_request("channels", reply, sizeof(reply));
	if (!strstr(reply, "\"missed_signals\":0"))
		SIM_FAIL("the host reports missed signals: %s", reply);
	SIM_LOG("window: %lu packets echoed with %u in flight, no missed signal", got, window);

	/*
	 * The same, the guest reading each echo as soon as it is there: now
	 * the host is the slower side and finds the ring never empty. It
	 * must release the space of what it answered all the same, or the
	 * ring fills up with 8 packets in flight.
	 */
	for (sent = got = 0, total = 100000; got < total;) {
		struct vmbus_packet_desc d;
		int64_t end = sim_now_ms() + 3000;
		int r;

		while (sent < total && sent - got < window) {
			if (sim_send(s, echo, out, sizeof(out), sent) < 0)
				SIM_FAIL("busy window: send %lu with %lu unanswered: the ring is full",
					 sent, sent - got);
			sent++;
		}
		while ((r = sim_recv_desc(s, echo, in, sizeof(in), &d, 0)) == -ETIMEDOUT &&
		       sim_now_ms() < end)
			;
		if (r < 0)
			SIM_FAIL("busy window: no echo for packet %lu within 3 s (%lu sent)", got, sent);
		got++;
	}
	SIM_LOG("busy window: %lu packets echoed with %u in flight, the guest never waiting",
		got, window);
}

/* SIM_SCENARIO picks one (default basic). */
static const struct {
	const char *name;
	void (*run)(struct sim *s);
} sim_scenarios[] = {
	{ "basic", scenario_basic },
	{ "hostile", scenario_hostile },
	{ "window", scenario_window },
	{ "shutdown", scenario_shutdown },
	{ "serve-shutdown", scenario_serve_shutdown },
	{ "timesync", scenario_timesync },
	{ "kvp", scenario_kvp },
	{ "storage", scenario_storage },
	{ "storage-crash", scenario_storage_crash },
	{ "backup", scenario_backup },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	const char *scenario = getenv("SIM_SCENARIO");
	static struct sim s;
	unsigned int i;

	setvbuf(stderr, NULL, _IOLBF, 0);
	sim_start(&s, argc, argv);
	sim_poll(&s, 50);
	if (!scenario)
		scenario = "basic";
	for (i = 0; sim_scenarios[i].name; i++)
		if (strcmp(sim_scenarios[i].name, scenario) == 0)
			break;
	if (!sim_scenarios[i].name)
		SIM_FAIL("unknown SIM_SCENARIO '%s'", scenario);
	sim_scenarios[i].run(&s);
	SIM_LOG("scenario %s: all checks passed", scenario);
	return 0;
}
