// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ivshmem.c - ivshmem-doorbell server (see ivshmem.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/ivshmem.h"
#include "host/log.h"

int ivshmem_send_msg(int sock, int64_t value, int fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &value, sizeof(value) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *cmsg;

		memset(control, 0, sizeof(control));
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return n == sizeof(value) ? 0 : -EIO;
}

int ivshmem_server_listen(struct ivshmem_server *s, const char *path, int shm_fd,
			  unsigned int nvectors)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	unsigned int i;
	int r;

	memset(s, 0, sizeof(*s));
	s->listen_fd = s->client_fd = -1;
	for (i = 0; i < VMBUS_MAX_VECTORS; i++)
		s->host_efd[i] = s->guest_efd[i] = -1;
	if (nvectors < 2 || nvectors > VMBUS_MAX_VECTORS)
		return -EINVAL;
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	s->shm_fd = shm_fd;
	s->nvectors = nvectors;
	for (i = 0; i < nvectors; i++) {
		s->host_efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		s->guest_efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (s->host_efd[i] < 0 || s->guest_efd[i] < 0) {
			r = -errno;
			goto err;
		}
	}
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0) {
		r = -errno;
		goto err;
	}
	strcpy(addr.sun_path, path);
	unlink(path);
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(s->listen_fd, 4) < 0) {
		r = -errno;
		goto err;
	}
	return 0;
err:
	ivshmem_server_close(s);
	return r;
}

int ivshmem_server_accept(struct ivshmem_server *s)
{
	unsigned int v;
	int fd, r;

	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (s->client_fd >= 0) {
		log_warning("ivshmem: refusing a second client on the bus socket");
		close(fd);
		return -EBUSY;
	}
	/* version, client id, shared memory, peer 0's vectors, the client's own vectors */
	r = ivshmem_send_msg(fd, 0, -1);
	if (!r)
		r = ivshmem_send_msg(fd, IVSHMEM_GUEST_PEER_ID, -1);
	if (!r)
		r = ivshmem_send_msg(fd, -1, s->shm_fd);
	for (v = 0; !r && v < s->nvectors; v++)
		r = ivshmem_send_msg(fd, VMBUS_HOST_PEER_ID, s->host_efd[v]);
	for (v = 0; !r && v < s->nvectors; v++)
		r = ivshmem_send_msg(fd, IVSHMEM_GUEST_PEER_ID, s->guest_efd[v]);
	if (r < 0) {
		close(fd);
		return r;
	}
	s->client_fd = fd;
	return 0;
}

int ivshmem_signal_guest(struct ivshmem_server *s, unsigned int vector)
{
	uint64_t one = 1;

	if (vector >= s->nvectors)
		return -EINVAL;
	if (write(s->guest_efd[vector], &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int64_t ivshmem_drain(int efd)
{
	uint64_t count;

	if (read(efd, &count, sizeof(count)) != sizeof(count))
		return errno == EAGAIN ? 0 : -errno;
	return (int64_t)count;
}

void ivshmem_server_close(struct ivshmem_server *s)
{
	unsigned int i;

	for (i = 0; i < VMBUS_MAX_VECTORS; i++) {
		if (s->host_efd[i] >= 0)
			close(s->host_efd[i]);
		if (s->guest_efd[i] >= 0)
			close(s->guest_efd[i]);
		s->host_efd[i] = s->guest_efd[i] = -1;
	}
	if (s->client_fd >= 0)
		close(s->client_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->client_fd = s->listen_fd = -1;
}
