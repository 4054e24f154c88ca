// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * simguest.c - the userspace test guest (see simguest.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/sim/simguest.h"
#include "vmbus/ic.h"
#include "vmbus/classes.h"

static char sim_run_dir[PATH_MAX];

int64_t sim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read one ivshmem server message (8 bytes, optional fd). */
static int64_t sim_recv_msg(int sock, int *ret_fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	int64_t value;
	struct iovec iov = { &value, sizeof(value) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control, .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);

	if (n != sizeof(value))
		SIM_FAIL("short ivshmem server message (%zd bytes)", n);
	*ret_fd = -1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
			memcpy(ret_fd, CMSG_DATA(cmsg), sizeof(int));
	return value;
}

static const char *sim_opt(const char *arg, const char *key, char *buf, size_t n)
{
	const char *p = strstr(arg, key);
	size_t len;

	if (!p)
		return NULL;
	p += strlen(key);
	len = strcspn(p, ",");
	if (len >= n)
		return NULL;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return buf;
}

static void sim_qmp_listen(struct sim *s, const char *spec)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char path[PATH_MAX];

	if (strncmp(spec, "unix:", 5))
		SIM_FAIL("unsupported -qmp %s", spec);
	snprintf(path, sizeof(path), "%s", spec + 5);
	path[strcspn(path, ",")] = '\0';
	if (strlen(path) >= sizeof(addr.sun_path))
		SIM_FAIL("QMP socket path too long: %s", path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	s->qmp_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(path);
	if (s->qmp_listen < 0 || bind(s->qmp_listen, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(s->qmp_listen, 1) < 0)
		SIM_FAIL("cannot serve QMP on %s: %m", path);
}

void sim_start(struct sim *s, int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uint64_t ram_size = 0;
	int ram_fd = -1, i, fd;
	unsigned int v;
	char buf[PATH_MAX];
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->qmp_fd = s->qmp_listen = -1;
	s->next_gpadl = 1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strstr(a, "memory-backend-file")) {
			if (sim_opt(a, "mem-path=/proc/self/fd/", buf, sizeof(buf)))
				ram_fd = atoi(buf);
			if (sim_opt(a, "size=", buf, sizeof(buf)))
				ram_size = strtoull(buf, NULL, 10) << 20;
		} else if (strstr(a, "id=vmbus") && sim_opt(a, "path=", buf, sizeof(buf))) {
			if (strlen(buf) >= sizeof(addr.sun_path))
				SIM_FAIL("bus socket path too long: %s", buf);
			memcpy(addr.sun_path, buf, strlen(buf) + 1);
			snprintf(sim_run_dir, sizeof(sim_run_dir), "%s", buf);
			*strrchr(sim_run_dir, '/') = '\0';
		} else if (strcmp(a, "-qmp") == 0 && i + 1 < argc) {
			sim_qmp_listen(s, argv[++i]);
		}
	}
	if (ram_fd < 0 || !ram_size || !addr.sun_path[0])
		SIM_FAIL("QEMU command line lacks the RAM backend or the vmbus chardev");
	if (guestmem_attach(&s->mem, ram_fd, ram_size) < 0)
		SIM_FAIL("cannot map guest RAM from fd %d", ram_fd);
	s->next_free = 2ULL << 20;	/* leave low memory alone */

	s->bus_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(s->bus_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		SIM_FAIL("cannot connect to %s: %m", addr.sun_path);
	if (sim_recv_msg(s->bus_fd, &fd) != 0)
		SIM_FAIL("unexpected ivshmem protocol version");
	if (sim_recv_msg(s->bus_fd, &fd) != 1)
		SIM_FAIL("expected to be peer 1");
	if (sim_recv_msg(s->bus_fd, &fd) != -1 || fd < 0)
		SIM_FAIL("expected the shared memory fd");
	if (fstat(fd, &st) < 0)
		SIM_FAIL("fstat on the BAR fd: %m");
	s->bar_size = (uint64_t)st.st_size;
	s->bar = mmap(NULL, s->bar_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s->bar == MAP_FAILED)
		SIM_FAIL("cannot map the BAR: %m");
	s->hdr = (struct vmbus_bar_header *)s->bar;
	if (vmbus_bar_header_check(s->hdr, s->bar_size) < 0)
		SIM_FAIL("BAR header does not check out");
	s->nvectors = s->hdr->num_vectors;
	for (v = 0; v < s->nvectors; v++)
		if (sim_recv_msg(s->bus_fd, &s->host_efd[v]) != 0 || s->host_efd[v] < 0)
			SIM_FAIL("expected peer 0's eventfd for vector %u", v);
	for (v = 0; v < s->nvectors; v++)
		if (sim_recv_msg(s->bus_fd, &s->guest_efd[v]) != 1 || s->guest_efd[v] < 0)
			SIM_FAIL("expected our own eventfd for vector %u", v);
	SIM_LOG("attached: %llu MiB RAM, BAR %llu KiB, %u vectors",
		(unsigned long long)(ram_size >> 20), (unsigned long long)(s->bar_size >> 10), s->nvectors);
}

static void sim_qmp_input(struct sim *s)
{
	char buf[4096];
	ssize_t n = recv(s->qmp_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n <= 0) {
		if (n == 0 || errno != EAGAIN) {
			close(s->qmp_fd);
			s->qmp_fd = -1;
		}
		return;
	}
	buf[n] = '\0';
	/* Answer each command with an empty return, echoing its id. */
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char reply[128], *id = strstr(line, "\"id\":");

		snprintf(reply, sizeof(reply), "{\"return\": {}, \"id\": %ld}\r\n",
			 id ? strtol(id + 5, NULL, 10) : 0L);
		if (send(s->qmp_fd, reply, strlen(reply), MSG_NOSIGNAL) < 0)
			return;
		if (strstr(line, "system_powerdown"))
			s->powerdown_requested = true;
		/* Pause and resume as QEMU reports them (the vCPUs of this guest never stop). */
		if (strstr(line, "\"stop\"") || strstr(line, "\"cont\"")) {
			snprintf(reply, sizeof(reply), "{\"event\": \"%s\", \"timestamp\": {}}\r\n",
				 strstr(line, "\"stop\"") ? "STOP" : "RESUME");
			if (send(s->qmp_fd, reply, strlen(reply), MSG_NOSIGNAL) < 0)
				return;
		}
		if (strstr(line, "\"quit\""))
			exit(0);
	}
}

void sim_poll(struct sim *s, int ms)
{
	int64_t end = sim_now_ms() + ms;

	do {
		struct pollfd p[2] = { { s->qmp_listen, POLLIN, 0 }, { s->qmp_fd, POLLIN, 0 } };
		int64_t left = end - sim_now_ms();

		if (poll(p, 2, left > 0 ? (int)(left < 10 ? left : 10) : 0) > 0) {
			if (p[0].revents & POLLIN) {
				int fd = accept4(s->qmp_listen, NULL, NULL, SOCK_CLOEXEC);
				static const char greeting[] =
					"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";

				if (fd >= 0) {
					if (s->qmp_fd >= 0)
						close(s->qmp_fd);
					s->qmp_fd = fd;
					if (send(fd, greeting, sizeof(greeting) - 1, MSG_NOSIGNAL) < 0)
						SIM_LOG("QMP greeting failed");
				}
			}
			if (s->qmp_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
				sim_qmp_input(s);
		}
	} while (sim_now_ms() < end);
}

void sim_doorbell(struct sim *s, unsigned int vector)
{
	uint64_t one = 1;

	if (vector < s->nvectors && write(s->host_efd[vector], &one, sizeof(one)) < 0)
		SIM_FAIL("doorbell write: %m");
}

uint64_t sim_alloc(struct sim *s, uint32_t pages)
{
	uint64_t gpa = s->next_free;

	s->next_free += (uint64_t)pages * VMBUS_PAGE_SIZE;
	if (s->next_free > s->mem.lowmem)
		SIM_FAIL("simulated guest out of RAM");
	memset(sim_gpa_ptr(s, gpa), 0, (size_t)pages * VMBUS_PAGE_SIZE);
	return gpa;
}

void *sim_gpa_ptr(struct sim *s, uint64_t gpa)
{
	return guestmem_ptr(&s->mem, gpa, 1);
}

int sim_ctl_send(struct sim *s, const void *msg, uint32_t len)
{
	bool signal = false;
	int r = vmbus_ring_send(&s->ctl_tx, VMBUS_PACKET_INBAND, 0, 0, msg, len, &signal);

	if (r == 0 && signal)
		sim_doorbell(s, VMBUS_VECTOR_CONTROL);
	return r;
}

static void sim_note_offer(struct sim *s, const struct vmbus_ctl_offer *o)
{
	struct sim_channel *c;
	unsigned int i;

	for (i = 0; i < s->noffers; i++)
		if (s->chan[i].offer.channel_id == o->channel_id)
			break;
	if (i == SIM_MAX_OFFERS)
		return;
	c = &s->chan[i];
	memset(c, 0, sizeof(*c));
	c->offer = *o;
	if (i == s->noffers)
		s->noffers++;
}

static void sim_note_rescind(struct sim *s, uint32_t channel_id)
{
	struct vmbus_ctl_channel rel = { .hdr.type = VMBUS_CTL_RELEASE, .channel_id = channel_id };
	unsigned int i;

	for (i = 0; i < s->noffers; i++) {
		if (s->chan[i].offer.channel_id == channel_id) {
			s->chan[i] = s->chan[--s->noffers];
			memset(&s->chan[s->noffers], 0, sizeof(s->chan[0]));
			break;
		}
	}
	sim_ctl_send(s, &rel, sizeof(rel));
}

int sim_ctl_wait(struct sim *s, uint32_t type, union vmbus_ctl_msg *ret, int timeout_ms)
{
	int64_t end = sim_now_ms() + timeout_ms;

	for (;;) {
		struct vmbus_packet_desc d;
		uint32_t len;
		int r = vmbus_ring_read(&s->ctl_rx, &d, ret, sizeof(*ret), &len);

		if (r == 0) {
			if (vmbus_ring_read_commit(&s->ctl_rx))
				sim_doorbell(s, VMBUS_VECTOR_CONTROL);
			if (vmbus_ctl_validate(ret, len, VMBUS_CTL_TO_GUEST) < 0)
				SIM_FAIL("the host sent a malformed control message (type %u)", ret->hdr.type);
			if (ret->hdr.type == VMBUS_CTL_OFFER)
				sim_note_offer(s, &ret->offer);
			else if (ret->hdr.type == VMBUS_CTL_RESCIND)
				sim_note_rescind(s, ret->channel.channel_id);
			else if (ret->hdr.type == VMBUS_CTL_OFFERS_DONE)
				s->offers_done = true;
			if (!type || ret->hdr.type == type)
				return (int)len;
			continue;
		}
		if (r != -EAGAIN)
			SIM_FAIL("host->guest control ring error %d", r);
		if (sim_now_ms() >= end)
			return -ETIMEDOUT;
		sim_poll(s, 5);
	}
}

int sim_connect(struct sim *s)
{
	struct vmbus_bar_header *h = s->hdr;
	struct vmbus_ctl_connect c = { .hdr.type = VMBUS_CTL_CONNECT,
				       .version_min = VMBUS_VERSION_1_0,
				       .version_max = VMBUS_VERSION_CURRENT };
	struct vmbus_ctl_hdr req = { .type = VMBUS_CTL_REQUEST_OFFERS };
	union vmbus_ctl_msg m;
	uint32_t seq = vmbus_read_once(h->connect_seq) + 1;
	int64_t end;

	if (vmbus_read_once(h->host_state) != VMBUS_HOST_READY)
		SIM_FAIL("host not ready");
	vmbus_write_once(h->connect_seq, seq);
	vmbus_store_release(&h->guest_state, (uint32_t)VMBUS_GUEST_CONNECTING);
	sim_doorbell(s, VMBUS_VECTOR_CONTROL);
	for (end = sim_now_ms() + 5000; vmbus_load_acquire(&h->connect_ack) != seq;) {
		if (sim_now_ms() > end)
			SIM_FAIL("no connect_ack from the host within 5 s");
		sim_poll(s, 5);
	}
	vmbus_ring_attach(&s->ctl_tx, s->bar + h->to_host_ring_offset,
			  s->bar + h->to_host_ring_offset + VMBUS_RING_HEADER_SIZE, h->to_host_ring_size);
	vmbus_ring_attach(&s->ctl_rx, s->bar + h->to_guest_ring_offset,
			  s->bar + h->to_guest_ring_offset + VMBUS_RING_HEADER_SIZE, h->to_guest_ring_size);
	s->noffers = 0;
	s->offers_done = false;
	if (sim_ctl_send(s, &c, sizeof(c)) < 0)
		SIM_FAIL("cannot send CONNECT");
	if (sim_ctl_wait(s, VMBUS_CTL_CONNECT_RESULT, &m, 5000) < 0)
		SIM_FAIL("no CONNECT_RESULT");
	if (m.connect_result.status)
		return m.connect_result.status;
	s->connect_result_version = m.connect_result.version;
	vmbus_store_release(&h->guest_state, (uint32_t)VMBUS_GUEST_CONNECTED);
	sim_ctl_send(s, &req, sizeof(req));
	if (sim_ctl_wait(s, VMBUS_CTL_OFFERS_DONE, &m, 5000) < 0)
		SIM_FAIL("no OFFERS_DONE");
	return 0;
}

struct sim_channel *sim_find(struct sim *s, const char *class_name, uint16_t subchannel)
{
	const struct vmbus_class_info *ci = vmbus_class_by_name(class_name);
	unsigned int i;

	for (i = 0; ci && i < s->noffers; i++)
		if (vmbus_guid_equal(&s->chan[i].offer.class_id, &ci->guid) &&
		    s->chan[i].offer.subchannel_index == subchannel)
			return &s->chan[i];
	return NULL;
}

int sim_open(struct sim *s, struct sim_channel *c, uint32_t pages, uint32_t vector)
{
	uint32_t total = 2 * (pages + 1), i, id = c->offer.channel_id;
	uint8_t buf[sizeof(struct vmbus_ctl_gpadl_header) + 8 * 64];
	struct vmbus_ctl_gpadl_header *gh = (void *)buf;
	struct vmbus_ctl_open o = { .hdr.type = VMBUS_CTL_OPEN };
	union vmbus_ctl_msg m;
	uint8_t *map;

	if (total > 64)
		SIM_FAIL("sim_open supports up to 31 data pages per ring");
	c->ring_gpa = sim_alloc(s, total);
	c->ring_pages = total;
	c->to_guest_page = pages + 1;
	c->gpadl_id = s->next_gpadl++;
	memset(buf, 0, sizeof(buf));
	gh->hdr.type = VMBUS_CTL_GPADL_HEADER;
	gh->channel_id = id;
	gh->gpadl_id = c->gpadl_id;
	gh->total_pages = total;
	gh->count = total;
	for (i = 0; i < total; i++)
		gh->pfn[i] = c->ring_gpa / VMBUS_PAGE_SIZE + i;
	sim_ctl_send(s, gh, vmbus_ctl_len(VMBUS_CTL_GPADL_HEADER, total));
	if (sim_ctl_wait(s, VMBUS_CTL_GPADL_RESULT, &m, 5000) < 0)
		SIM_FAIL("no GPADL_RESULT");
	if (m.gpadl_result.status)
		return m.gpadl_result.status;
	map = sim_gpa_ptr(s, c->ring_gpa);
	vmbus_ring_attach(&c->tx, map, map + VMBUS_PAGE_SIZE, pages * VMBUS_PAGE_SIZE);
	vmbus_ring_attach(&c->rx, map + (size_t)c->to_guest_page * VMBUS_PAGE_SIZE,
			  map + (size_t)(c->to_guest_page + 1) * VMBUS_PAGE_SIZE, pages * VMBUS_PAGE_SIZE);
	o.channel_id = id;
	o.open_id = id * 7;
	o.ring_gpadl_id = c->gpadl_id;
	o.to_guest_page = c->to_guest_page;
	o.target_cpu = vector - 1;
	o.vector = vector;
	c->vector = vector;
	sim_ctl_send(s, &o, sizeof(o));
	if (sim_ctl_wait(s, VMBUS_CTL_OPEN_RESULT, &m, 5000) < 0)
		SIM_FAIL("no OPEN_RESULT");
	if (m.result.open_id != o.open_id)
		SIM_FAIL("OPEN_RESULT carries open id %u, sent %u", m.result.open_id, o.open_id);
	c->open = m.result.status == 0;
	return m.result.status;
}

int sim_close(struct sim *s, struct sim_channel *c)
{
	struct vmbus_ctl_channel cl = { .hdr.type = VMBUS_CTL_CLOSE, .channel_id = c->offer.channel_id };
	struct vmbus_ctl_gpadl_teardown td = { .hdr.type = VMBUS_CTL_GPADL_TEARDOWN,
					       .channel_id = c->offer.channel_id,
					       .gpadl_id = c->gpadl_id };
	union vmbus_ctl_msg m;

	sim_ctl_send(s, &cl, sizeof(cl));
	if (sim_ctl_wait(s, VMBUS_CTL_CLOSE_RESULT, &m, 5000) < 0)
		SIM_FAIL("no CLOSE_RESULT");
	c->open = false;
	sim_ctl_send(s, &td, sizeof(td));
	if (sim_ctl_wait(s, VMBUS_CTL_GPADL_TORNDOWN, &m, 5000) < 0)
		SIM_FAIL("no GPADL_TORNDOWN");
	return m.result.status;
}

void sim_signal_channel(struct sim *s, struct sim_channel *c)
{
	uint64_t *map = (uint64_t *)(s->bar + s->hdr->to_host_events_offset);
	uint32_t id = c->offer.channel_id;

	__atomic_fetch_or(&map[id / 64], 1ULL << (id % 64), __ATOMIC_SEQ_CST);
	sim_doorbell(s, VMBUS_VECTOR_TO_HOST_EVENTS);
}

int sim_send(struct sim *s, struct sim_channel *c, const void *buf, uint32_t len, uint64_t trans_id)
{
	bool signal = false;
	int r = vmbus_ring_send(&c->tx, VMBUS_PACKET_INBAND, 0, trans_id, buf, len, &signal);

	if (r == 0 && signal)
		sim_signal_channel(s, c);
	return r;
}

int sim_send_ext(struct sim *s, struct sim_channel *c, uint16_t type, uint16_t flags,
		 const void *ext, uint32_t ext_len, const void *buf, uint32_t len, uint64_t trans_id)
{
	struct vmbus_iov iov[2] = { { ext, ext_len }, { buf, len } };
	int r = vmbus_ring_write(&c->tx, type, flags, trans_id, ext_len, iov, 2);

	if (r < 0)
		return r;
	if (vmbus_ring_publish(&c->tx))
		sim_signal_channel(s, c);
	return 0;
}

int sim_recv_desc(struct sim *s, struct sim_channel *c, void *buf, uint32_t len,
		  struct vmbus_packet_desc *ret_desc, int timeout_ms)
{
	int64_t end = sim_now_ms() + timeout_ms;

	for (;;) {
		uint32_t got;
		int r = vmbus_ring_read(&c->rx, ret_desc, buf, len, &got);

		if (r == 0) {
			if (vmbus_ring_read_commit(&c->rx))
				sim_signal_channel(s, c);
			return (int)got;
		}
		if (r != -EAGAIN)
			return r;
		if (sim_now_ms() >= end)
			return -ETIMEDOUT;
		sim_poll(s, 2);
	}
}

int sim_recv(struct sim *s, struct sim_channel *c, void *buf, uint32_t len, uint64_t *trans_id,
	     int timeout_ms)
{
	struct vmbus_packet_desc d;
	int r = sim_recv_desc(s, c, buf, len, &d, timeout_ms);

	if (r >= 0 && trans_id)
		*trans_id = d.trans_id;
	return r;
}

int sim_worker_request(const char *request, char *buf, size_t len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t off = 0;
	int fd;

	if (strlen(sim_run_dir) + sizeof("/control.sock") > sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, sim_run_dir);
	strcat(addr.sun_path, "/control.sock");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -errno;
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		close(fd);
		return -errno;
	}
	while (off + 1 < len) {
		ssize_t n = recv(fd, buf + off, len - off - 1, 0);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(fd);
	return 0;
}

void sim_ic_negotiate(struct sim *s, struct sim_channel *c, uint32_t version, const char *what)
{
	uint8_t buf[256];
	struct vmbus_ic_hdr h;

	if (sim_recv(s, c, buf, sizeof(buf), NULL, 5000) < (int)sizeof(h))
		SIM_FAIL("%s: no version negotiation", what);
	memcpy(&h, buf, sizeof(h));
	if (h.type != VMBUS_IC_NEGOTIATE)
		SIM_FAIL("%s: expected the negotiation, got message type %u", what, h.type);
	h.flags = VMBUS_IC_F_RESPONSE;
	h.version = version;
	h.payload_len = 0;
	sim_send(s, c, &h, sizeof(h), h.seq);
}
