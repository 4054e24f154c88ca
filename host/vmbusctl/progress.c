// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * progress.c - see progress.h.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/progress.h"

#define PROGRESS_BAR_WIDTH	30
#define PROGRESS_REDRAW_S	0.2	/* a terminal */
#define PROGRESS_LINE_S		10.0	/* a log: a line this often, and at each quarter, */
#define PROGRESS_QUIET_S	3.0	/* once the copy has taken this long */

void progress_size(uint64_t bytes, char *buf, size_t n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	if (bytes < 1024) {
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, "%.1f %s", v, units[u]);
}

void progress_begin(struct progress *p, const char *what, uint64_t total)
{
	char label[sizeof(p->what)];

	snprintf(label, sizeof(label), "%s", what);	/* what may be p->what */
	memset(p, 0, sizeof(*p));
	memcpy(p->what, label, sizeof(label));
	p->total = total;
	p->start = ctl_now();
	p->last_line = p->start;
	p->tty = isatty(STDERR_FILENO);
	fflush(stdout);		/* what was said before comes first */
}

double progress_rate(const struct progress *p, uint64_t done)
{
	double s = ctl_now() - p->start;

	return s > 0 ? (double)done / s : 0;
}

void progress_update(struct progress *p, uint64_t done)
{
	char have[32], total[32], rate[32];
	double now = ctl_now();
	unsigned int pct = p->total ? (unsigned int)(done * 100 / p->total) : 100;
	unsigned int quarter = pct / 25;

	if (pct > 100)
		pct = 100;
	progress_size(done, have, sizeof(have));
	progress_size(p->total, total, sizeof(total));
	progress_size((uint64_t)progress_rate(p, done), rate, sizeof(rate));
	if (p->tty) {
		unsigned int fill = pct * PROGRESS_BAR_WIDTH / 100;
		char bar[PROGRESS_BAR_WIDTH + 1];

		if (p->drawn && now - p->last_line < PROGRESS_REDRAW_S && done < p->total)
			return;
		memset(bar, '#', fill);
		memset(bar + fill, '.', PROGRESS_BAR_WIDTH - fill);
		bar[PROGRESS_BAR_WIDTH] = '\0';
		fprintf(stderr, "\r%s [%s] %3u%%  %s of %s  %s/s\033[K", p->what, bar, pct, have, total, rate);
		fflush(stderr);
		p->drawn = true;
		p->last_line = now;
		return;
	}
	if (now - p->start < PROGRESS_QUIET_S ||
	    (now - p->last_line < PROGRESS_LINE_S && quarter == p->last_quarter))
		return;
	fprintf(stderr, "%s: %u%% (%s of %s, %s/s)\n", p->what, pct, have, total, rate);
	p->last_line = now;
	p->last_quarter = quarter;
}

void progress_end(struct progress *p)
{
	if (p->tty && p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	p->drawn = false;
}
