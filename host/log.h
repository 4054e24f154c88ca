/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * log.h - logging for the host programs: one line per event, with time,
 * program and VM name, to stderr (the worker's stderr is its log file).
 * Anything the guest can trigger is logged through log_guest(), which is
 * rate-limited so a hostile guest cannot flood the log.
 */
#ifndef HOST_LOG_H
#define HOST_LOG_H

#include <errno.h>
#include <syslog.h>

void log_init(const char *program, const char *vm_name);
void log_set_level(int level);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like log_msg, but at most a burst of lines per second; counts the rest. */
void log_guest(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

/* Log with %m meaning -r, and return r: `return log_error_errno(r, "...: %m");` */
#define log_error_errno(r, ...) ({ int _r = (r); errno = -_r; log_msg(LOG_ERR, __VA_ARGS__); _r; })

#endif
