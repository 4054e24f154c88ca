// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * stop.c - `vmbusctl stop`: ask the worker to power the VM down (or kill
 * it), wait for the worker to exit and say how it ended. Also ends what a
 * crashed worker left behind (--force).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/vm.h"
#include "host/vmbusctl/worker.h"

#define STOP_TIMEOUT_S		60	/* the worker's default too */
#define STOP_GRACE_S		10	/* on top of the timeout: killing and cleaning up */
#define STOP_KILL_WAIT_S	5	/* for processes we kill ourselves */
#define STOP_POLL_MS		100

static const char stop_help[] =
	"Usage: vmbusctl stop NAME [--force] [--timeout S]\n"
	"Stop a VM: ACPI power-down, QEMU killed if the guest has not powered off\n"
	"after S seconds (default 60); wait for the worker to exit and report how.\n\n"
	"  --force       kill QEMU at once; also ends a worker that does not answer,\n"
	"                or a QEMU whose worker is gone\n"
	"  --timeout S   seconds the guest gets to power off\n";

enum { OPT_FORCE = CTL_OPT_FIRST_PRIVATE, OPT_TIMEOUT };

static const struct option stop_options[] = {
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	CTL_COMMON_OPTIONS
};

/* Wait until pid no longer runs for vm; true if it ended in time. */
static bool stop_wait_gone(const struct vm *vm, pid_t pid, double timeout)
{
	double deadline = ctl_now() + timeout, next_dot = ctl_now() + 1;
	struct timespec pause = { 0, STOP_POLL_MS * 1000000L };

	while (vm_pid_is_ours(vm, pid)) {
		if (ctl_now() >= deadline)
			return false;
		if (ctl_now() >= next_dot) {
			ctl_progress_dot();
			next_dot += 1;
		}
		nanosleep(&pause, NULL);
	}
	return true;
}

/* SIGKILL a process of this VM that has nobody left to stop it properly. */
static int stop_kill(const struct vm *vm, pid_t pid, const char *what)
{
	if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
		return ctl_error_errno(-errno, "%s: cannot kill %s (pid %d): %m", vm->name, what, (int)pid);
	if (!stop_wait_gone(vm, pid, STOP_KILL_WAIT_S))
		return ctl_error_errno(-ETIMEDOUT, "%s: %s (pid %d) is still there after SIGKILL",
				       vm->name, what, (int)pid);
	printf("%s: killed %s (pid %d)\n", vm->name, what, (int)pid);
	return 0;
}

/* What is left when the worker is gone or does not answer. */
static int stop_leftovers(const struct vm *vm, const struct vm_probe *p, bool force)
{
	int r;

	if (!force)
		return vm_not_running_error(vm, p);
	if (p->worker_pid) {
		r = stop_kill(vm, p->worker_pid, "the unresponsive worker");
		if (r < 0)
			return r;
	}
	/* QEMU runs in its own session: it outlives its worker. */
	if (p->qemu_pid && vm_pid_is_ours(vm, p->qemu_pid)) {
		r = stop_kill(vm, p->qemu_pid, p->worker_pid ? "its QEMU" : "the orphaned QEMU");
		if (r < 0)
			return r;
	}
	return 0;
}

static int stop_running(const struct vm *vm, pid_t worker_pid, bool force, double timeout)
{
	_cleanup_json_ struct json_value *reply = NULL;
	char request[64];
	double start = ctl_now();
	int status = -1, r;

	snprintf(request, sizeof(request), "stop%s --timeout=%g", force ? " --force" : "", timeout);
	r = worker_request(vm, request, &reply);
	if (r < 0)
		return r;
	if (force)
		printf("%s: killing QEMU\n", vm->name);
	else
		printf("%s: asked the guest to power down; QEMU is killed if it has not after %g s\n",
		       vm->name, timeout);
	fflush(stdout);
	if (!stop_wait_gone(vm, worker_pid, timeout + STOP_GRACE_S)) {
		ctl_progress_end();
		return ctl_error_errno(-ETIMEDOUT, "%s: the worker (pid %d) did not exit within %g s; "
				       "see %s/worker.log%s", vm->name, (int)worker_pid,
				       timeout + STOP_GRACE_S, vm->dir,
				       force ? "" : ", or try 'vmbusctl stop --force'");
	}
	ctl_progress_end();
	worker_log_last_run(vm, &status, NULL, 0);
	if (status < 0) {
		printf("%s: stopped in %.1f s (the worker did not log its exit status)\n", vm->name,
		       ctl_now() - start);
	} else if (status == 3 && !force) {
		printf("%s: stopped in %.1f s: the guest did not power off in time, QEMU was killed "
		       "(worker exit status 3)\n", vm->name, ctl_now() - start);
	} else {
		printf("%s: stopped in %.1f s: %s (worker exit status %d)\n", vm->name,
		       ctl_now() - start, worker_exit_meaning(status), status);
	}
	return 0;
}

int cmd_stop(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	double timeout = STOP_TIMEOUT_S;
	struct vm_probe p;
	bool force = false;
	int c, r;

	while ((c = ctl_getopt(argc, argv, stop_options)) != -1) {
		switch (c) {
		case OPT_FORCE: force = true; break;
		case OPT_TIMEOUT:
			r = ctl_parse_seconds("stop", "--timeout", optarg, &timeout);
			if (r < 0)
				return r;
			break;
		default: return ctl_option_default(c, stop_help);
		}
	}
	r = vm_open_argument(&vm, argc, argv);
	if (r < 0)
		return r;
	vm_probe(&vm, &p);
	switch (p.state) {
	case VM_RUNNING:
		r = stop_running(&vm, p.worker_pid, force, timeout);
		break;
	case VM_UNRESPONSIVE:
	case VM_ORPHANED:
		r = stop_leftovers(&vm, &p, force);
		break;
	case VM_STOPPED:
		r = ctl_error_errno(-ESRCH, "%s is not running", vm.name);
		break;
	}
	vm_probe_done(&p);
	return r;
}
