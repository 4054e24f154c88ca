// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * pause.c - `vmbusctl pause` and `vmbusctl resume`: stop a running VM's
 * vCPUs (QMP stop) or let them run again (QMP cont), and wait until QEMU
 * says it is so. The worker keeps serving the bus while the VM is paused;
 * on resume the time sync service steps the guest's clock.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/vm.h"
#include "host/vmbusctl/worker.h"

#define PAUSE_TIMEOUT_S		10	/* for QEMU to report the new state */
#define PAUSE_POLL_MS		50

static const char pause_help[] =
	"Usage: vmbusctl pause NAME [--timeout S]\n"
	"Stop the VM's virtual CPUs; its memory, disks and devices stay as they are\n"
	"until 'vmbusctl resume'. Waits until QEMU reports the VM paused.\n\n"
	"  --timeout S   seconds to wait for QEMU (default 10)\n";

static const char resume_help[] =
	"Usage: vmbusctl resume NAME [--timeout S]\n"
	"Let a paused VM run again; the guest's clock is synchronised if the time\n"
	"sync service is enabled. Waits until QEMU reports the VM running.\n\n"
	"  --timeout S   seconds to wait for QEMU (default 10)\n";

enum { OPT_TIMEOUT = CTL_OPT_FIRST_PRIVATE };

static const struct option pause_options[] = {
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	CTL_COMMON_OPTIONS
};

/*
 * The VM's run state as the worker has it from QEMU ("running", "paused",
 * ...) into buf; a negative errno (reported) if the worker does not answer.
 */
static int pause_state(const struct vm *vm, char *buf, size_t n)
{
	_cleanup_json_ struct json_value *reply = NULL;
	const char *state;
	int r;

	r = worker_request(vm, "status", &reply);
	if (r < 0)
		return r;
	state = json_get_string(reply, "state");
	snprintf(buf, n, "%s", state ? state : "unknown");
	return 0;
}

static int pause_or_resume(int argc, char **argv, bool pause)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	_cleanup_json_ struct json_value *reply = NULL;
	const char *want = pause ? "paused" : "running";
	struct timespec nap = { 0, PAUSE_POLL_MS * 1000000L };
	double timeout = PAUSE_TIMEOUT_S, deadline;
	char state[32];
	int c, r;

	while ((c = ctl_getopt(argc, argv, pause_options)) != -1) {
		switch (c) {
		case OPT_TIMEOUT:
			r = ctl_parse_seconds(argv[0], "--timeout", optarg, &timeout);
			if (r < 0)
				return r;
			break;
		default: return ctl_option_default(c, pause ? pause_help : resume_help);
		}
	}
	r = vm_open_argument(&vm, argc, argv);
	if (r < 0)
		return r;
	r = pause_state(&vm, state, sizeof(state));
	if (r < 0)
		return r;
	if (strcmp(state, want) == 0) {
		printf("%s: already %s\n", vm.name, want);
		return 0;
	}
	/* Only these two: a VM that is shutting down or crashed is not ours to resume. */
	if (strcmp(state, pause ? "running" : "paused") != 0)
		return ctl_error_errno(-EBUSY, "%s is %s, not %s: nothing to %s", vm.name, state,
				       pause ? "running" : "paused", argv[0]);
	deadline = ctl_now() + timeout;
	r = worker_request(&vm, pause ? "pause" : "resume", &reply);
	if (r < 0)
		return r;
	for (;;) {
		r = pause_state(&vm, state, sizeof(state));
		if (r < 0)
			return r;
		if (strcmp(state, want) == 0)
			break;
		if (ctl_now() >= deadline)
			return ctl_error_errno(-ETIMEDOUT, "%s: QEMU did not report the VM %s within "
					       "%g s (it is %s); see %s/worker.log", vm.name, want,
					       timeout, state, vm.dir);
		nanosleep(&nap, NULL);
	}
	printf("%s: %s\n", vm.name, pause ? "paused" : "running again");
	return 0;
}

int cmd_pause(int argc, char **argv)
{
	return pause_or_resume(argc, argv, true);
}

int cmd_resume(int argc, char **argv)
{
	return pause_or_resume(argc, argv, false);
}
