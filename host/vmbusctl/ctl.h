/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ctl.h - what every vmbusctl subcommand shares: error reporting, option
 * parsing, the state directory, and the _cleanup_ helpers.
 *
 * Subcommands return 0 on success, a negative errno for an error they have
 * already reported (exit status 1), or -CTL_EUSAGE for a command line that
 * makes no sense (exit status 2).
 */
#ifndef HOST_VMBUSCTL_CTL_H
#define HOST_VMBUSCTL_CTL_H

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "host/json.h"

/* Not an errno: "the command line was wrong", exit status 2. */
#define CTL_EUSAGE	4096

#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE	2

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void ctl_freep(void *p) { free(*(void **)p); }
static inline void ctl_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void ctl_fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void ctl_json_freep(struct json_value **v) { json_value_free(*v); }
#define _cleanup_free_ _cleanup_(ctl_freep)
#define _cleanup_close_ _cleanup_(ctl_closep)
#define _cleanup_fclose_ _cleanup_(ctl_fclosep)
#define _cleanup_json_ _cleanup_(ctl_json_freep)

/* "vmbusctl: " + message on stderr. */
void ctl_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report with %m meaning -r and return r: `return ctl_error_errno(r, "cannot read '%s': %m", p);` */
#define ctl_error_errno(r, ...) ({ int _r = (r); errno = -_r; ctl_message(__VA_ARGS__); _r; })
/* Report a bad command line for subcommand cmd (with a hint to its --help); -CTL_EUSAGE. */
int ctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Options every subcommand accepts; put CTL_COMMON_OPTIONS last in each table. */
enum { CTL_OPT_HELP = 0x1000, CTL_OPT_DIR, CTL_OPT_ERROR, CTL_OPT_FIRST_PRIVATE };
#define CTL_COMMON_OPTIONS \
	{ "dir", required_argument, NULL, CTL_OPT_DIR }, \
	{ "help", no_argument, NULL, CTL_OPT_HELP }, \
	{ NULL, 0, NULL, 0 }

/*
 * getopt_long for a subcommand (argv[0] is its name). Handles --dir itself
 * and reports unknown options and missing values. Returns the next option,
 * -1 at the end, CTL_OPT_HELP, or CTL_OPT_ERROR (already reported).
 */
int ctl_getopt(int argc, char **argv, const struct option *options);
/* The standard answers to CTL_OPT_HELP (print help, 0) and anything else (-CTL_EUSAGE). */
int ctl_option_default(int c, const char *help);
/* Check that argc - optind positional arguments are between min and max. */
int ctl_positional(int argc, char **argv, int min, int max);

/* Parse a duration in seconds (> 0, at most a day). -CTL_EUSAGE if invalid. */
int ctl_parse_seconds(const char *cmd, const char *option, const char *text, double *ret);

/* Make path absolute against the current directory (no symlink resolution). */
int ctl_absolute_path(const char *path, char *buf, size_t n);

/* mkdir -p: create path and its missing parents with mode. */
int ctl_mkdir_p(const char *path, unsigned int mode);

/* The state directory: --dir, else /var/lib/openvmbus (root), else XDG. */
int ctl_state_dir_set(const char *dir);
int ctl_state_dir(const char **ret);

/* Seconds on the monotonic clock. */
double ctl_now(void);
/* true when stdout is a terminal: progress dots are for people, not logs. */
bool ctl_progress_wanted(void);
void ctl_progress_dot(void);
void ctl_progress_end(void);

#endif
