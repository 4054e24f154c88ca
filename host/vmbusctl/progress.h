/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * progress.h - progress of a long copy on stderr: a bar redrawn in place
 * on a terminal, an occasional plain line otherwise (logs, pipes), so a
 * journal does not fill with carriage returns.
 */
#ifndef HOST_VMBUSCTL_PROGRESS_H
#define HOST_VMBUSCTL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct progress {
	char what[96];		/* "web: copying", printed before the figures */
	uint64_t total;
	double start, last_line;
	unsigned int last_quarter;
	bool tty, drawn;
};

/* "0 B", "4.0 KiB", "512.0 MiB", "1.2 GiB". */
void progress_size(uint64_t bytes, char *buf, size_t n);
/* Start; what may be p->what itself. A zeroed struct progress is "not begun" (start 0). */
void progress_begin(struct progress *p, const char *what, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
/* Finish: erase the bar on a terminal (the caller prints the outcome). */
void progress_end(struct progress *p);
/* Bytes per second since progress_begin. */
double progress_rate(const struct progress *p, uint64_t done);

#endif
