/* SPDX-License-Identifier: GPL-2.0 */
/*
 * log.h - openvmbusd logs to stderr with syslog priority prefixes, which
 * journald understands; nothing is written to disk by the daemon itself
 * (a frozen filesystem must never block it).
 */
#ifndef OPENVMBUSD_LOG_H
#define OPENVMBUSD_LOG_H

#include <stdio.h>
#include <syslog.h>

#define log_msg(level, fmt, ...) \
	fprintf(stderr, "<%d>openvmbusd: " fmt "\n", level, ##__VA_ARGS__)

#endif
