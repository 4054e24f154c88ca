// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * start.c - `vmbusctl start`: start the worker detached and wait until the
 * guest's openvmbus driver has connected the bus.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <string.h>
#include <time.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/vm.h"
#include "host/vmbusctl/worker.h"

#define START_TIMEOUT_S		120	/* a TCG boot of a distribution kernel is slow */
#define START_POLL_MS		200
#define START_LOG_LINES		20

static const char start_help[] =
	"Usage: vmbusctl start NAME [--timeout S] [--no-wait] [--qemu PATH]\n"
	"Start a VM: its worker starts QEMU; then wait until the guest's openvmbus\n"
	"driver has connected the bus.\n\n"
	"  --timeout S   how long to wait (default 120 s: TCG boots are slow)\n"
	"  --no-wait     return once the worker answers, without waiting for the guest\n"
	"  --qemu PATH   QEMU binary for this run (default qemu-system-x86_64)\n\n"
	"The worker is vmbus-worker next to vmbusctl, else in $PATH; OPENVMBUS_WORKER\n"
	"overrides. Its output is appended to STATE/vms/NAME/worker.log.\n";

enum { OPT_TIMEOUT = CTL_OPT_FIRST_PRIVATE, OPT_NO_WAIT, OPT_QEMU };

static const struct option start_options[] = {
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
	{ "qemu", required_argument, NULL, OPT_QEMU },
	CTL_COMMON_OPTIONS
};

/* Refuse to start a VM that is (partly) alive. */
static int start_check_stopped(const struct vm *vm)
{
	struct vm_probe p;
	int r = 0;

	vm_probe(vm, &p);
	switch (p.state) {
	case VM_RUNNING:
		r = ctl_error_errno(-EALREADY, "%s is already running (worker %d, qemu %d)",
				    vm->name, (int)p.worker_pid, (int)p.qemu_pid);
		break;
	case VM_UNRESPONSIVE:
		r = ctl_error_errno(-EALREADY, "%s: a worker (pid %d) is already there but does not "
				    "answer (%s); 'vmbusctl stop --force %s' ends it",
				    vm->name, (int)p.worker_pid, p.error, vm->name);
		break;
	case VM_ORPHANED:
		r = ctl_error_errno(-EALREADY, "%s: QEMU of an earlier run (pid %d) still runs without "
				    "its worker; 'vmbusctl stop --force %s' kills it",
				    vm->name, (int)p.qemu_pid, vm->name);
		break;
	case VM_STOPPED:
		break;
	}
	vm_probe_done(&p);
	return r;
}

/* Pid files of an earlier run would make the new one look alive (or dead) too early. */
static void start_remove_stale_files(const struct vm *vm)
{
	char path[PATH_MAX];

	if (vm_run_path(vm, "worker.pid", path, sizeof(path)) == 0)
		unlink(path);
	if (vm_run_path(vm, "qemu.pid", path, sizeof(path)) == 0)
		unlink(path);
}

/* QEMU's own words when it failed (the worker's log says only "see qemu.log"). */
static void start_print_qemu_log(const struct vm *vm)
{
	_cleanup_free_ char *tail = NULL;
	char path[PATH_MAX];
	size_t len;

	if (vm_run_path(vm, "qemu.log", path, sizeof(path)) < 0 ||
	    output_file_tail(path, START_LOG_LINES, &tail, &len) < 0 || !len)
		return;
	output_log_tail(stderr, path, tail);
}

static int start_worker_exited(const struct vm *vm, pid_t pid)
{
	int status = -1;

	ctl_progress_end();
	worker_log_last_run(vm, &status, NULL, 0);
	if (status < 0)
		ctl_message("%s: the worker (pid %d) died without saying why", vm->name, (int)pid);
	else
		ctl_message("%s: the worker exited with status %d: %s", vm->name, status,
			    worker_exit_meaning(status));
	worker_log_print_tail(vm, START_LOG_LINES);
	if (status == 2)
		start_print_qemu_log(vm);
	return -ECHILD;
}

static int start_wait(const struct vm *vm, pid_t pid, double timeout, bool no_wait)
{
	double start = ctl_now(), deadline = start + timeout, next_dot = start + 1;
	struct timespec pause = { 0, START_POLL_MS * 1000000L };
	bool answered = false;
	char error[512];

	for (;;) {
		_cleanup_json_ struct json_value *status = NULL;

		if (!vm_pid_is_ours(vm, pid))
			return start_worker_exited(vm, pid);
		if (worker_call(vm, "status", &status, error, sizeof(error)) == 0) {
			answered = true;
			if (no_wait || json_get_bool(json_get(status, "bus"), "connected", false)) {
				ctl_progress_end();
				if (!no_wait)
					printf("%s: the guest connected its bus after %.1f s\n", vm->name,
					       ctl_now() - start);
				output_status(vm->name, status);
				return 0;
			}
		}
		if (ctl_now() >= deadline)
			break;
		if (ctl_now() >= next_dot) {
			ctl_progress_dot();
			next_dot += 1;
		}
		nanosleep(&pause, NULL);
	}
	ctl_progress_end();
	if (!answered)
		return ctl_error_errno(-ETIMEDOUT, "%s: the worker (pid %d) did not answer within %g s "
				       "(%s); it is still running: see %s/worker.log, and "
				       "'vmbusctl stop --force %s' ends it",
				       vm->name, (int)pid, timeout, error, vm->dir, vm->name);
	return ctl_error_errno(-ETIMEDOUT, "%s: the guest did not connect its bus within %g s (is the "
			       "openvmbus driver installed in the guest?); the VM is still running: "
			       "'vmbusctl console %s' shows its console, 'vmbusctl stop %s' stops it",
			       vm->name, timeout, vm->name, vm->name);
}

int cmd_start(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	char worker[PATH_MAX], qemu_abs[PATH_MAX];
	const char *qemu = NULL;
	double timeout = START_TIMEOUT_S;
	bool no_wait = false;
	pid_t pid;
	int c, r;

	while ((c = ctl_getopt(argc, argv, start_options)) != -1) {
		switch (c) {
		case OPT_TIMEOUT:
			r = ctl_parse_seconds("start", "--timeout", optarg, &timeout);
			if (r < 0)
				return r;
			break;
		case OPT_NO_WAIT: no_wait = true; break;
		case OPT_QEMU: qemu = optarg; break;
		default: return ctl_option_default(c, start_help);
		}
	}
	r = vm_open_argument(&vm, argc, argv);
	if (r < 0)
		return r;
	/* The worker runs in /, so a relative QEMU path must be made absolute. */
	if (qemu && strchr(qemu, '/')) {
		r = ctl_absolute_path(qemu, qemu_abs, sizeof(qemu_abs));
		if (r < 0)
			return ctl_error_errno(r, "--qemu %s: %m", qemu);
		qemu = qemu_abs;
	}
	r = vm_check_socket_paths(&vm);
	if (r < 0)
		return r;
	r = start_check_stopped(&vm);
	if (r < 0)
		return r;
	r = worker_find_binary(worker, sizeof(worker));
	if (r < 0)
		return r;

	start_remove_stale_files(&vm);
	r = worker_spawn(&vm, worker, qemu, &pid);
	if (r < 0)
		return r;
	if (no_wait)
		printf("%s: starting (worker %d)\n", vm.name, (int)pid);
	else
		printf("%s: starting (worker %d), waiting up to %g s for the guest to connect its bus\n",
		       vm.name, (int)pid, timeout);
	fflush(stdout);
	return start_wait(&vm, pid, timeout, no_wait);
}
