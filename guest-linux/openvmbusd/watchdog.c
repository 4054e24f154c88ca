// SPDX-License-Identifier: GPL-2.0
/*
 * watchdog.c - the backup watchdog process (see watchdog.h).
 *
 * The daemon and the watchdog talk over a SOCK_SEQPACKET socket pair: one
 * message is one struct watchdog_msg, a dead peer is end of file, and a
 * send to a dead watchdog fails with EPIPE instead of raising SIGPIPE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "guest-linux/openvmbusd/fd.h"
#include "guest-linux/openvmbusd/log.h"
#include "guest-linux/openvmbusd/watchdog.h"

enum watchdog_op {
	WATCHDOG_MSG_FREEZING	= 1,
	WATCHDOG_MSG_THAWED	= 2,
	WATCHDOG_MSG_DONE	= 3,
};

struct watchdog_msg {
	uint32_t op;			/* enum watchdog_op */
	uint32_t index;
};

static uint64_t watchdog_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int watchdog_int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * Close everything the daemon had open but our socket, the mount points
 * and stdio: above all the service devices, which allow one opener.
 */
static int watchdog_close_others(int sock, const int *fds, size_t n)
{
	int *keep = malloc((n + 1) * sizeof(*keep));
	unsigned int next = 3;
	size_t i;

	if (!keep)
		return -ENOMEM;
	keep[0] = sock;
	memcpy(keep + 1, fds, n * sizeof(*fds));
	qsort(keep, n + 1, sizeof(*keep), watchdog_int_cmp);
	for (i = 0; i < n + 1; i++) {
		if (keep[i] < (int)next)
			continue;
		fd_close_range(next, (unsigned int)keep[i] - 1);
		next = (unsigned int)keep[i] + 1;
	}
	fd_close_range(next, ~0U);
	free(keep);
	return 0;
}

/* Thaw what may be frozen, last frozen first; log (after the thaw) and exit. */
static void watchdog_thaw_and_exit(const int *fds, char *const *mount_points, const bool *maybe,
				   size_t n, int status, const char *why, uint64_t first_ms)
{
	char done[1024];
	size_t i, len = 0;
	unsigned int thawed = 0, failed = 0;

	done[0] = '\0';
	for (i = n; i-- > 0;) {
		if (!maybe[i])
			continue;
		if (ioctl(fds[i], FITHAW, 0) == 0) {
			thawed++;
			if (len < sizeof(done))
				len += (size_t)snprintf(done + len, sizeof(done) - len, "%s%s",
							len ? ", " : "", mount_points[i]);
		} else if (errno != EINVAL) {	/* EINVAL: not frozen */
			failed++;
			log_msg(LOG_ERR, "backup watchdog: cannot thaw %s: %m", mount_points[i]);
		}
	}
	log_release();
	if (thawed)
		log_msg(LOG_WARNING, "backup watchdog: %s: thawed %s, %llu ms after the first freeze",
			why, done, (unsigned long long)(watchdog_now_ms() - first_ms));
	else
		log_msg(LOG_INFO, "backup watchdog: %s: nothing was left frozen", why);
	fflush(stderr);
	_exit(failed ? WATCHDOG_EXIT_FAILED : status);
}

static void __attribute__((noreturn))
watchdog_main(int sock, const int *fds, char *const *mount_points, size_t n, uint32_t timeout_ms)
{
	uint64_t first_ms = 0, deadline = 0;
	struct signalfd_siginfo si;
	struct watchdog_msg msg;
	struct pollfd pfd[2];
	char why[128];
	sigset_t mask;
	bool *maybe;
	int r;

	log_hold();	/* nothing may be frozen yet, but nothing we log can wait either */
	maybe = calloc(n ? n : 1, sizeof(*maybe));
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The signalfd after the clean-up, which would close it. */
	r = watchdog_close_others(sock, fds, n);
	pfd[1].fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (!maybe || r < 0 || pfd[1].fd < 0) {
		log_release();
		log_msg(LOG_ERR, "backup watchdog: cannot start: %m");
		_exit(WATCHDOG_EXIT_FAILED);
	}
	prctl(PR_SET_NAME, "openvmbusd-wd");
	/* Not the process the kernel picks when memory runs out while we matter. */
	r = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (r >= 0) {
		if (write(r, "-1000", 5) < 0)
			log_msg(LOG_DEBUG, "backup watchdog: oom_score_adj: %m");
		close(r);
	}
	pfd[0].fd = sock;
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		int wait_ms = -1;

		if (deadline) {
			uint64_t now = watchdog_now_ms();

			wait_ms = now >= deadline ? 0 : (int)(deadline - now);
		}
		r = poll(pfd, 2, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, sizeof(why), "poll failed (%s)", strerror(errno));
			watchdog_thaw_and_exit(fds, mount_points, maybe, n, WATCHDOG_EXIT_FAILED, why,
					       first_ms);
		}
		if (r == 0) {
			snprintf(why, sizeof(why), "no thaw within %u ms", timeout_ms);
			watchdog_thaw_and_exit(fds, mount_points, maybe, n, WATCHDOG_EXIT_DEADLINE, why,
					       first_ms);
		}
		if (pfd[1].revents) {
			if (read(pfd[1].fd, &si, sizeof(si)) != sizeof(si))
				si.ssi_signo = 0;
			snprintf(why, sizeof(why), "stopped by SIG%s", sigabbrev_np((int)si.ssi_signo) ?
				 sigabbrev_np((int)si.ssi_signo) : "NAL");
			watchdog_thaw_and_exit(fds, mount_points, maybe, n, WATCHDOG_EXIT_SIGNALLED, why,
					       first_ms);
		}
		if (!pfd[0].revents)
			continue;
		r = (int)recv(sock, &msg, sizeof(msg), MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r != (int)sizeof(msg))
			watchdog_thaw_and_exit(fds, mount_points, maybe, n, WATCHDOG_EXIT_ORPHANED,
					       "the daemon went away", first_ms);
		if (msg.op == WATCHDOG_MSG_DONE)
			_exit(WATCHDOG_EXIT_DONE);
		if (msg.index >= n)
			continue;
		if (msg.op == WATCHDOG_MSG_FREEZING) {
			maybe[msg.index] = true;
			if (!deadline) {
				first_ms = watchdog_now_ms();
				deadline = first_ms + timeout_ms;
			}
		} else if (msg.op == WATCHDOG_MSG_THAWED) {
			maybe[msg.index] = false;
		}
	}
}

int watchdog_start(struct watchdog *w, const int *fds, char *const *mount_points, size_t n,
		   uint32_t timeout_ms)
{
	int sv[2], r;
	pid_t pid;

	w->pid = 0;
	w->fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fflush(stderr);		/* nothing buffered is written twice */
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[1]);
		watchdog_main(sv[0], fds, mount_points, n, timeout_ms);
	}
	close(sv[0]);
	w->pid = pid;
	w->fd = sv[1];
	return 0;
}

static int watchdog_send(struct watchdog *w, uint32_t op, size_t i)
{
	struct watchdog_msg msg = { .op = op, .index = (uint32_t)i };

	if (w->fd < 0)
		return -ENOTCONN;
	if (send(w->fd, &msg, sizeof(msg), MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
		return -errno;
	return 0;
}

int watchdog_freezing(struct watchdog *w, size_t i)
{
	return watchdog_send(w, WATCHDOG_MSG_FREEZING, i);
}

int watchdog_thawed(struct watchdog *w, size_t i)
{
	return watchdog_send(w, WATCHDOG_MSG_THAWED, i);
}

void watchdog_done(struct watchdog *w)
{
	if (w->fd < 0)
		return;
	(void)watchdog_send(w, WATCHDOG_MSG_DONE, 0);	/* gone already: nothing to tell */
	close(w->fd);
	w->fd = -1;
}

const char *watchdog_exit_reason(int status)
{
	switch (status) {
	case WATCHDOG_EXIT_DONE: return "done";
	case WATCHDOG_EXIT_DEADLINE: return "thawed at its deadline";
	case WATCHDOG_EXIT_ORPHANED: return "thawed: the daemon went away";
	case WATCHDOG_EXIT_SIGNALLED: return "thawed: stopped by a signal";
	case WATCHDOG_EXIT_FAILED: return "failed";
	}
	return "unknown exit";
}
