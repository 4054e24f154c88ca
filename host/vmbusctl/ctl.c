// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ctl.c - error reporting, option parsing and the state directory shared by
 * the vmbusctl subcommands (see ctl.h).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "host/vmbusctl/ctl.h"

static char ctl_dir[PATH_MAX];
static bool ctl_dots;

void ctl_message(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	fflush(stdout);
	fputs("vmbusctl: ", stderr);
	errno = saved;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "vmbusctl: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'vmbusctl %s --help')\n", cmd);
	return -CTL_EUSAGE;
}

int ctl_getopt(int argc, char **argv, const struct option *options)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, ":h", options, NULL);
	switch (c) {
	case 'h':
		return CTL_OPT_HELP;
	case CTL_OPT_DIR:
		if (ctl_state_dir_set(optarg) < 0)
			return CTL_OPT_ERROR;
		return ctl_getopt(argc, argv, options);
	case ':':
		ctl_usage_error(argv[0], "option '%s' needs a value", argv[optind - 1]);
		return CTL_OPT_ERROR;
	case '?':
		if (optopt)
			ctl_usage_error(argv[0], "unknown option '-%c'", optopt);
		else
			ctl_usage_error(argv[0], "unknown option '%s'", argv[optind - 1]);
		return CTL_OPT_ERROR;
	}
	return c;
}

int ctl_option_default(int c, const char *help)
{
	if (c == CTL_OPT_HELP) {
		fputs(help, stdout);
		return 0;
	}
	return -CTL_EUSAGE;
}

int ctl_positional(int argc, char **argv, int min, int max)
{
	int n = argc - optind;

	if (n < min)
		return ctl_usage_error(argv[0], "missing %s", min - n > 1 ? "arguments" : "argument");
	if (n > max)
		return ctl_usage_error(argv[0], "unexpected argument '%s'", argv[optind + max]);
	return 0;
}

int ctl_parse_seconds(const char *cmd, const char *option, const char *text, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || !(v > 0 && v <= 86400))
		return ctl_usage_error(cmd, "%s wants a number of seconds (0 < S <= 86400), not '%s'",
				       option, text);
	*ret = v;
	return 0;
}

int ctl_absolute_path(const char *path, char *buf, size_t n)
{
	char cwd[PATH_MAX];

	if (path[0] == '/') {
		if ((size_t)snprintf(buf, n, "%s", path) >= n)
			return -ENAMETOOLONG;
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	if ((size_t)snprintf(buf, n, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) >= n)
		return -ENAMETOOLONG;
	return 0;
}

int ctl_mkdir_p(const char *path, unsigned int mode)
{
	char buf[PATH_MAX], *p;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (p = strchr(buf + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int ctl_state_dir_set(const char *dir)
{
	char abs[PATH_MAX];
	size_t len;
	int r;

	if (!*dir)
		return ctl_error_errno(-EINVAL, "--dir wants a directory, not an empty string");
	r = ctl_absolute_path(dir, abs, sizeof(abs));
	if (r < 0)
		return ctl_error_errno(r, "cannot use '%s' as the state directory: %m", dir);
	len = strlen(abs);
	while (len > 1 && abs[len - 1] == '/')
		abs[--len] = '\0';
	memcpy(ctl_dir, abs, len + 1);
	return 0;
}

int ctl_state_dir(const char **ret)
{
	const char *base;
	int n;

	if (ctl_dir[0]) {
		*ret = ctl_dir;
		return 0;
	}
	if (geteuid() == 0) {
		n = snprintf(ctl_dir, sizeof(ctl_dir), "/var/lib/openvmbus");
	} else if ((base = getenv("XDG_STATE_HOME")) && base[0] == '/') {
		n = snprintf(ctl_dir, sizeof(ctl_dir), "%s/openvmbus", base);
	} else if ((base = getenv("HOME")) && base[0] == '/') {
		n = snprintf(ctl_dir, sizeof(ctl_dir), "%s/.local/state/openvmbus", base);
	} else {
		return ctl_error_errno(-ENOENT, "no state directory: $HOME is not set (use --dir DIR)");
	}
	if (n < 0 || (size_t)n >= sizeof(ctl_dir)) {
		ctl_dir[0] = '\0';
		return ctl_error_errno(-ENAMETOOLONG, "the state directory path is too long (use --dir DIR)");
	}
	*ret = ctl_dir;
	return 0;
}

double ctl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool ctl_progress_wanted(void)
{
	return isatty(STDOUT_FILENO);
}

void ctl_progress_dot(void)
{
	if (!ctl_progress_wanted())
		return;
	fputc('.', stdout);
	fflush(stdout);
	ctl_dots = true;
}

void ctl_progress_end(void)
{
	if (ctl_dots)
		fputc('\n', stdout);
	ctl_dots = false;
}
