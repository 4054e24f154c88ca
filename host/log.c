// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * log.c - see log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "host/log.h"

#define LOG_GUEST_BURST 20	/* guest-triggered lines per second */

static const char *log_program = "openvmbus";
static const char *log_vm;
static int log_level = LOG_INFO;
static time_t log_guest_second;
static unsigned int log_guest_count, log_guest_suppressed;

void log_init(const char *program, const char *vm_name)
{
	log_program = program;
	log_vm = vm_name;
}

void log_set_level(int level)
{
	log_level = level;
}

static void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void log_vmsg(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	int saved = errno;
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s%s%s%s: %s: ", when, ts.tv_nsec / 1000000, log_program,
		log_vm ? "[" : "", log_vm ? log_vm : "", log_vm ? "]" : "", names[level & 7]);
	errno = saved;
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_guest(int level, const char *fmt, ...)
{
	time_t now = time(NULL);
	va_list ap;

	if (level > log_level)
		return;
	if (now != log_guest_second) {
		if (log_guest_suppressed)
			log_msg(LOG_WARNING, "%u guest-triggered log lines suppressed",
				log_guest_suppressed);
		log_guest_second = now;
		log_guest_count = 0;
		log_guest_suppressed = 0;
	}
	if (++log_guest_count > LOG_GUEST_BURST) {
		log_guest_suppressed++;
		return;
	}
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
