// SPDX-License-Identifier: GPL-2.0
/*
 * log.c - openvmbusd's log lines, held in memory while filesystems are
 * frozen (see log.h).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "guest-linux/openvmbusd/log.h"

#define LOG_LINE_MAX	1024
#define LOG_HELD_MAX	(64 * 1024)

static bool log_holding;
static char log_held[LOG_HELD_MAX];
static size_t log_held_len;
static unsigned int log_dropped;

void log_msg(int level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	int n, m;

	n = snprintf(line, sizeof(line), "<%d>openvmbusd: ", level);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';
	if (!log_holding) {
		fputs(line, stderr);
		return;
	}
	if (log_held_len + (size_t)n > sizeof(log_held)) {
		log_dropped++;
		return;
	}
	memcpy(log_held + log_held_len, line, (size_t)n);
	log_held_len += (size_t)n;
}

void log_hold(void)
{
	log_holding = true;
}

void log_release(void)
{
	if (!log_holding)
		return;
	log_holding = false;
	if (log_held_len)
		fwrite(log_held, 1, log_held_len, stderr);
	log_held_len = 0;
	if (log_dropped)
		log_msg(LOG_WARNING, "%u log lines dropped while filesystems were frozen", log_dropped);
	log_dropped = 0;
	fflush(stderr);
}
