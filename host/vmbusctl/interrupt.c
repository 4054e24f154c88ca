// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * interrupt.c - see interrupt.h.
 */
#include <signal.h>
#include <stddef.h>

#include "host/vmbusctl/interrupt.h"

static volatile sig_atomic_t interrupt_signal;

static void interrupt_on_signal(int sig)
{
	interrupt_signal = sig;
}

void interrupt_catch(void)
{
	/* No SA_RESTART: a wait in progress ends early and the loop around it looks. */
	struct sigaction sa = { .sa_handler = interrupt_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

bool interrupt_requested(void)
{
	return interrupt_signal != 0;
}
