// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * chanbench.c - guest side of the channel benchmark, linked statically into
 * the benchmark guest's initramfs. Measures round-trip latency (one message
 * out, its echo back) and streaming throughput (a window of messages in
 * flight) through a device file whose far end echoes:
 *
 *   packet mode: /dev/openvmbus/echo — one message per write()/read()
 *   stream mode: a virtio-serial port — a byte stream, so each echo is read
 *                back by length
 *
 * Usage: chanbench packet|stream DEVICE SIZE SECONDS
 * Output: one line "RESULT mode size rtt_us=.. msgs_per_s=.. MB_per_s=..".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "chanbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * A wait longer than 5 s is reported (a lost wakeup would hang here), and
 * after 60 s it is an error.
 */
static void wait_fd(int fd, short ev)
{
	struct pollfd p = { fd, ev, 0 };
	double start = now();
	int r;

	while ((r = poll(&p, 1, 5000)) == 0) {
		fprintf(stderr, "chanbench: no %s for %.0f s\n", ev == POLLIN ? "echo" : "room to send",
			now() - start);
		if (now() - start > 60)
			die("timed out waiting for the echo");
	}
	if (r < 0)
		die("poll");
}

/* Write all of buf (stream) or exactly one message (packet). */
static void put(int fd, const char *buf, size_t len, int packet)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EAGAIN) {
			wait_fd(fd, POLLOUT);
			continue;
		}
		if (n < 0)
			die("write");
		if (packet && (size_t)n != len)
			die("short packet write");
		off += (size_t)n;
	}
}

static void get(int fd, char *buf, size_t len, int packet)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, buf + off, packet ? len + 64 : len - off);

		if (n < 0 && errno == EAGAIN) {
			wait_fd(fd, POLLIN);
			continue;
		}
		if (n <= 0)
			die("read");
		if (packet && (size_t)n < len)
			die("short packet read");
		off += packet ? len : (size_t)n;
	}
}

int main(int argc, char **argv)
{
	int packet, fd, window = 8;
	size_t size;
	double secs, t0, t, rtt;
	unsigned long n = 0, sent = 0, got = 0;
	char *out, *in;

	if (argc != 5) {
		fprintf(stderr, "usage: chanbench packet|stream DEVICE SIZE SECONDS\n");
		return 2;
	}
	packet = strcmp(argv[1], "packet") == 0;
	size = strtoul(argv[3], NULL, 10);
	secs = strtod(argv[4], NULL);
	fd = open(argv[2], O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		die(argv[2]);
	out = malloc(size);
	in = malloc(size + 64);
	if (!out || !in)
		die("malloc");
	memset(out, 0x5a, size);

	/* Latency: one message in flight. */
	put(fd, out, size, packet);	/* warm-up */
	get(fd, in, size, packet);
	t0 = now();
	do {
		put(fd, out, size, packet);
		get(fd, in, size, packet);
		n++;
		t = now();
	} while (t - t0 < secs);
	rtt = (t - t0) / (double)n * 1e6;
	if (memcmp(in, out, size))
		die("echo differs");

	/*
	 * Throughput: up to `window` messages in flight. One poll loop reads
	 * echoes and writes messages as each becomes possible: a writer that
	 * only waited for room would deadlock against an echo that waits for
	 * its replies to be read.
	 */
	{
		size_t out_off = 0, in_bytes = 0, bufsz = size * (size_t)window + 64;
		char *big = malloc(bufsz);

		if (!big)
			die("malloc");
		t0 = now();
		for (t = t0; t - t0 < secs || got < sent; t = now()) {
			struct pollfd p = { fd, POLLIN, 0 };
			ssize_t r;

			if (t - t0 < secs && (sent - got < (unsigned long)window || out_off))
				p.events |= POLLOUT;
			if (poll(&p, 1, 5000) == 0) {
				fprintf(stderr, "chanbench: no progress for 5 s (%lu sent, %lu echoed)\n",
					sent, got);
				if (now() - t > 60)
					die("timed out waiting for the echo");
				continue;
			}
			if (p.revents & POLLOUT) {
				r = write(fd, out + out_off, size - out_off);
				if (r < 0 && errno != EAGAIN)
					die("write");
				if (r > 0) {
					if (packet && (size_t)r != size)
						die("short packet write");
					out_off += (size_t)r;
					if (out_off == size) {
						sent++;
						out_off = 0;
					}
				}
			}
			if (p.revents & POLLIN) {
				r = read(fd, big, packet ? bufsz : bufsz - 64);
				if (r < 0 && errno != EAGAIN)
					die("read");
				if (r > 0) {
					if (packet && (size_t)r < size)
						die("short packet read");
					in_bytes += packet ? size : (size_t)r;
					got = in_bytes / size;
				}
			}
		}
		free(big);
	}
	t = now();
	printf("RESULT %s %zu rtt_us=%.1f msgs_per_s=%.0f MB_per_s=%.2f\n", packet ? "packet" : "stream",
	       size, rtt, (double)got / (t - t0), (double)got * (double)size / (t - t0) / 1e6);
	return 0;
}
