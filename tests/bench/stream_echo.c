// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * stream_echo.c - host side of the virtio-serial peer in the channel
 * benchmark: connects to QEMU's chardev socket and writes back every byte
 * it reads, until QEMU closes the socket.
 *
 * Usage: stream_echo SOCKET
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static char buf[1 << 16];
	int fd, tries;

	if (argc != 2 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: stream_echo SOCKET\n");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	for (tries = 0; fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0; tries++) {
		if (tries > 600) {
			fprintf(stderr, "stream_echo: cannot connect to %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		usleep(100 * 1000);
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf)), off = 0;

		if (n <= 0)
			return 0;
		while (off < n) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w <= 0)
				return 0;
			off += w;
		}
	}
}
