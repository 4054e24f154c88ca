/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ivshmem.h - the ivshmem-doorbell server side: the worker listens on the
 * socket QEMU's chardev connects to, hands QEMU the BAR2 memory and the
 * eventfds, and is itself peer 0. Protocol in docs/protocol/transport.md.
 */
#ifndef HOST_IVSHMEM_H
#define HOST_IVSHMEM_H

#include "vmbus/transport.h"

#define IVSHMEM_GUEST_PEER_ID 1

struct ivshmem_server {
	int listen_fd;
	int client_fd;				/* QEMU, once connected */
	int shm_fd;				/* BAR2 memory */
	unsigned int nvectors;
	int host_efd[VMBUS_MAX_VECTORS];	/* QEMU signals these: guest rang peer 0 */
	int guest_efd[VMBUS_MAX_VECTORS];	/* we signal these: guest MSI-X vectors */
};

int ivshmem_server_listen(struct ivshmem_server *s, const char *path, int shm_fd,
			  unsigned int nvectors);
/* Accept QEMU and send it the whole setup. A second client is refused. */
int ivshmem_server_accept(struct ivshmem_server *s);
/* Raise the guest's MSI-X vector. */
int ivshmem_signal_guest(struct ivshmem_server *s, unsigned int vector);
/* Drain a host eventfd after epoll reported it readable; returns the count. */
int64_t ivshmem_drain(int efd);
void ivshmem_server_close(struct ivshmem_server *s);

/* One server message: an 8-byte little-endian value with an optional fd. */
int ivshmem_send_msg(int sock, int64_t value, int fd);

#endif
