/* SPDX-License-Identifier: GPL-2.0 */
/*
 * watchdog.h - the backup watchdog: a child process of openvmbusd that
 * thaws the filesystems the daemon froze when the daemon does not:
 *
 *   the deadline passes (counted from the first freeze);
 *   the daemon dies (end of file on the pipe from it: no timer needed);
 *   it gets SIGTERM, SIGINT or SIGHUP (systemd stopping the unit's
 *   control group, which also holds us).
 *
 * It inherits the daemon's descriptors of the mount points (FITHAW works on
 * any descriptor of the filesystem) and nothing else: not the service
 * devices, which a restarted daemon must be able to open. The daemon tells
 * it each filesystem it is about to freeze and each one it thawed or failed
 * to freeze, so it thaws only what may be frozen by us; "done" lets it
 * exit quietly. It logs nothing while anything may be frozen (see log.h).
 */
#ifndef OPENVMBUSD_WATCHDOG_H
#define OPENVMBUSD_WATCHDOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The watchdog's exit status says why it ended. */
enum watchdog_exit {
	WATCHDOG_EXIT_DONE	= 0,	/* told the daemon had thawed */
	WATCHDOG_EXIT_DEADLINE	= 10,	/* thawed: the deadline passed */
	WATCHDOG_EXIT_ORPHANED	= 11,	/* thawed: the daemon went away */
	WATCHDOG_EXIT_SIGNALLED	= 12,	/* thawed: asked to stop */
	WATCHDOG_EXIT_FAILED	= 13,	/* could not watch (thawed what it could) */
};

struct watchdog {
	pid_t pid;			/* 0: not running */
	int fd;				/* the pipe to it */
};

/*
 * Fork the watchdog for the descriptors fds[0..n) (named by mount_points,
 * for its log lines), thawing after timeout_ms from the first freeze.
 */
int watchdog_start(struct watchdog *w, const int *fds, char *const *mount_points, size_t n,
		   uint32_t timeout_ms);
/* fds[i] may be frozen from now on. */
int watchdog_freezing(struct watchdog *w, size_t i);
/* fds[i] is not frozen (any more). */
int watchdog_thawed(struct watchdog *w, size_t i);
/* Everything is thawed: the watchdog exits (WATCHDOG_EXIT_DONE); the daemon reaps it. */
void watchdog_done(struct watchdog *w);
const char *watchdog_exit_reason(int status);

#endif
