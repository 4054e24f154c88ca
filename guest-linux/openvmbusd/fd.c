// SPDX-License-Identifier: GPL-2.0
/*
 * fd.c - see fd.h.
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <unistd.h>

#include "guest-linux/openvmbusd/fd.h"

void fd_close_range(unsigned int lo, unsigned int hi)
{
	struct rlimit rl;
	unsigned int fd;

	if (lo > hi || close_range(lo, hi, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <= hi)
		hi = rl.rlim_cur ? (unsigned int)rl.rlim_cur - 1 : 0;
	for (fd = lo; fd <= hi && fd >= lo; fd++)
		close((int)fd);
}
