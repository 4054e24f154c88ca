/* SPDX-License-Identifier: GPL-2.0 */
/*
 * log.h - openvmbusd logs to stderr with syslog priority prefixes, which
 * journald understands; nothing is written to disk by the daemon itself.
 *
 * While the backup service holds filesystems frozen, journald may be stuck
 * writing its journal to one of them, and a daemon blocked writing to
 * stderr could not thaw them: between log_hold() and log_release() lines
 * are kept in memory (a bounded amount; the rest is counted) and written
 * in order on release.
 */
#ifndef OPENVMBUSD_LOG_H
#define OPENVMBUSD_LOG_H

#include <stdio.h>
#include <syslog.h>

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_hold(void);
void log_release(void);

#endif
