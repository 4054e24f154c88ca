/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * interrupt.h - Ctrl-C, SIGTERM and SIGHUP during a long job (a backup, a
 * restore): instead of dying with half-written files, the job notices,
 * stops at the next step and cleans up after itself.
 */
#ifndef HOST_VMBUSCTL_INTERRUPT_H
#define HOST_VMBUSCTL_INTERRUPT_H

#include <stdbool.h>

/* From now on SIGINT, SIGTERM and SIGHUP only set a flag. */
void interrupt_catch(void);
/* One of them arrived since interrupt_catch(). */
bool interrupt_requested(void);

#endif
