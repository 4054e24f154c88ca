// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * shutdown.c - `vmbusctl shutdown`: ask the guest, through its shutdown
 * integration service, to power off or reboot cleanly; report its answer
 * and how long it took. Without a guest service a power-off falls back to
 * ACPI power-down; the VM is killed at the timeout only with --force.
 * Protocol: docs/protocol/shutdown.md.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/vm.h"
#include "host/vmbusctl/worker.h"

#define SHUTDOWN_TIMEOUT_S	60
#define SHUTDOWN_ANSWER_S	10	/* how long the guest service gets to answer */
#define SHUTDOWN_POLL_MS	200
#define SHUTDOWN_KILL_WAIT_S	30	/* for the worker to exit once QEMU is killed */

static const char shutdown_help[] =
	"Usage: vmbusctl shutdown NAME [--reboot] [--force] [--timeout S] [--reason TEXT]\n"
	"Ask the guest to power off (or reboot) cleanly through its shutdown service,\n"
	"and wait until it has. Without a guest service, a power-off falls back to an\n"
	"ACPI power-down.\n\n"
	"  --reboot       reboot instead of powering off\n"
	"  --force        shut down despite inhibitors in the guest, and kill the VM if\n"
	"                 it has not powered off when the time is up\n"
	"  --timeout S    seconds to wait (default 60)\n"
	"  --reason TEXT  why, for the guest's logs (at most 256 bytes)\n";

enum { OPT_REBOOT = CTL_OPT_FIRST_PRIVATE, OPT_FORCE, OPT_TIMEOUT, OPT_REASON };

static const struct option shutdown_options[] = {
	{ "reboot", no_argument, NULL, OPT_REBOOT },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "reason", required_argument, NULL, OPT_REASON },
	CTL_COMMON_OPTIONS
};

static void shutdown_sleep(void)
{
	struct timespec pause = { 0, SHUTDOWN_POLL_MS * 1000000L };

	nanosleep(&pause, NULL);
}

/* The worker's status object, or NULL if it no longer answers. */
static struct json_value *shutdown_status(const struct vm *vm)
{
	struct json_value *reply = NULL;
	char error[256];

	if (worker_call(vm, "status", &reply, error, sizeof(error)) < 0)
		return NULL;
	return reply;
}

static double shutdown_connects(const struct vm *vm)
{
	_cleanup_json_ struct json_value *st = shutdown_status(vm);

	return json_get_number(json_get(st, "bus"), "connects", -1);
}

/*
 * Wait for the guest's answer: "accepted", another result, or NULL (none).
 * The service gets answer_s seconds from each time the request reaches it.
 * While it is away (its daemon restarting, the guest rebooting) the worker
 * sends the request once it is back; that wait lasts up to away_s in all,
 * which leaves time for the ACPI fallback.
 */
static char *shutdown_wait_answer(const struct vm *vm, double answer_s, double away_s,
				  double timeout, char **ret_message)
{
	double start = ctl_now(), deadline = start + timeout, away_since = 0;
	bool told = false;

	while (ctl_now() < deadline) {
		_cleanup_json_ struct json_value *st = shutdown_status(vm);
		const struct json_value *last = json_get(output_status_service(st, "shutdown", false), "last_request");
		const char *result = json_get_string(last, "result");
		bool away = json_get_bool(last, "awaiting_service", false);

		if (!st || !result || strcmp(result, "unanswered") == 0)
			return NULL;
		if (strcmp(result, "waiting") != 0) {
			const char *msg = json_get_string(last, "message");

			*ret_message = strdup(msg ? msg : "");
			return strdup(result);
		}
		if (away && !told) {
			printf("%s: the guest's shutdown service is away (restarting, or not started "
			       "yet); the request goes to it when it is back\n", vm->name);
			fflush(stdout);
			told = true;
		}
		if (away && !away_since)
			away_since = ctl_now();
		if (!away)
			away_since = 0;
		if (away && ctl_now() - away_since > away_s)
			return NULL;
		if (!away && json_get_number(last, "sent_ago", 0) > answer_s)
			return NULL;
		shutdown_sleep();
	}
	return NULL;
}

/* Wait until the worker exits (power-off) or the bus reconnects (reboot). */
static bool shutdown_wait_done(const struct vm *vm, pid_t worker_pid, bool reboot,
			       double connects_before, double timeout)
{
	double deadline = ctl_now() + timeout;

	while (ctl_now() < deadline) {
		if (!vm_pid_is_ours(vm, worker_pid))
			return !reboot;
		if (reboot) {
			_cleanup_json_ struct json_value *st = shutdown_status(vm);
			const struct json_value *bus = json_get(st, "bus");

			if (json_get_bool(bus, "connected", false) &&
			    json_get_number(bus, "connects", -1) > connects_before)
				return true;
		}
		ctl_progress_dot();
		shutdown_sleep();
	}
	return false;
}

/*
 * The timeout passed: an error without --force; with it, QEMU is killed and
 * the command returns once the worker is gone (a caller such as systemd's
 * ExecStop takes the VM for stopped when it returns).
 */
static int shutdown_timed_out(const struct vm *vm, pid_t worker_pid, bool force, double timeout,
			      const char *what)
{
	_cleanup_json_ struct json_value *reply = NULL;
	char error[256];
	bool gone;
	int r;

	ctl_progress_end();
	if (!force)
		return ctl_error_errno(-ETIMEDOUT, "%s: the guest has not %s after %g s; it is still "
				       "running ('vmbusctl stop --force %s' kills it)", vm->name, what,
				       timeout, vm->name);
	printf("%s: the guest has not %s after %g s: stopping it by force\n", vm->name, what, timeout);
	fflush(stdout);
	r = worker_call(vm, "stop --force", &reply, error, sizeof(error));
	if (r < 0) {
		if (!vm_pid_is_ours(vm, worker_pid)) {
			/* It went down on its own just as the timeout passed. */
			printf("%s: stopped (the worker exited as the timeout passed)\n", vm->name);
			return 0;
		}
		return ctl_error_errno(r, "%s: %s", vm->name, error);
	}
	gone = shutdown_wait_done(vm, worker_pid, false, 0, SHUTDOWN_KILL_WAIT_S);
	ctl_progress_end();
	if (!gone)
		return ctl_error_errno(-ETIMEDOUT, "%s: QEMU was killed, but the worker (pid %d) "
				       "has not exited after %d s; see %s/worker.log", vm->name,
				       (int)worker_pid, SHUTDOWN_KILL_WAIT_S, vm->dir);
	printf("%s: stopped by force\n", vm->name);
	return 0;
}

/* No guest service: ACPI power-down, with the same timeout and --force rule. */
static int shutdown_acpi(const struct vm *vm, pid_t worker_pid, bool force, double timeout)
{
	_cleanup_json_ struct json_value *reply = NULL;
	double start = ctl_now();
	int r;

	printf("%s: no shutdown service answers in the guest; sending an ACPI power-down instead\n",
	       vm->name);
	r = worker_request(vm, "stop --no-kill", &reply);
	if (r < 0)
		return r;
	if (!shutdown_wait_done(vm, worker_pid, false, 0, timeout))
		return shutdown_timed_out(vm, worker_pid, force, timeout, "powered off");
	ctl_progress_end();
	printf("%s: powered off in %.1f s (ACPI)\n", vm->name, ctl_now() - start);
	return 0;
}

int cmd_shutdown(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	_cleanup_json_ struct json_value *reply = NULL;
	_cleanup_free_ char *result = NULL, *message = NULL;
	const char *reason = NULL;
	double timeout = SHUTDOWN_TIMEOUT_S, start, connects;
	bool reboot = false, force = false;
	char request[1024], error[256];
	struct vm_probe p;
	pid_t worker_pid;
	int c, r;

	while ((c = ctl_getopt(argc, argv, shutdown_options)) != -1) {
		switch (c) {
		case OPT_REBOOT: reboot = true; break;
		case OPT_FORCE: force = true; break;
		case OPT_TIMEOUT:
			r = ctl_parse_seconds("shutdown", "--timeout", optarg, &timeout);
			if (r < 0)
				return r;
			break;
		case OPT_REASON: reason = optarg; break;
		default: return ctl_option_default(c, shutdown_help);
		}
	}
	if (reason && (strlen(reason) > 256 || strpbrk(reason, "\n\r")))
		return ctl_usage_error("shutdown", "--reason takes one line of at most 256 bytes");
	r = vm_open_argument(&vm, argc, argv);
	if (r < 0)
		return r;
	vm_probe(&vm, &p);
	worker_pid = p.worker_pid;
	if (p.state != VM_RUNNING) {
		r = vm_not_running_error(&vm, &p);
		vm_probe_done(&p);
		return r;
	}
	vm_probe_done(&p);

	connects = shutdown_connects(&vm);
	snprintf(request, sizeof(request), "shutdown %s%s --timeout=%.0f%s",
		 reboot ? "reboot" : "poweroff", force ? " --force" : "", timeout,
		 reason ? " --reason" : "");
	if (reason) {
		size_t len = strlen(request);

		/* One %-escaped argument: spaces and '%' arrive as typed. */
		r = worker_request_append(request, sizeof(request), &len, reason);
		if (r < 0)
			return ctl_error_errno(r, "%s: the reason is too long", vm.name);
	}
	start = ctl_now();
	r = worker_call(&vm, request, &reply, error, sizeof(error));
	if (r == -EREMOTEIO && strstr(error, "No such device")) {
		if (reboot)
			return ctl_error_errno(-ENODEV, "%s: no shutdown service answers in the guest, so it "
					       "cannot be rebooted cleanly (is openvmbusd running, and the "
					       "shutdown service enabled?)", vm.name);
		return shutdown_acpi(&vm, worker_pid, force, timeout);
	}
	if (r < 0)
		return ctl_error_errno(r, "%s: %s", vm.name, error);

	result = shutdown_wait_answer(&vm, SHUTDOWN_ANSWER_S,
				      timeout / 2 > 2 * SHUTDOWN_ANSWER_S ? timeout / 2 : 2 * SHUTDOWN_ANSWER_S,
				      timeout, &message);
	if (!result) {
		if (reboot)
			return ctl_error_errno(-ETIMEDOUT, "%s: the guest's shutdown service did not answer "
					       "within %d s", vm.name, SHUTDOWN_ANSWER_S);
		return shutdown_acpi(&vm, worker_pid, force, timeout - (ctl_now() - start));
	}
	if (strcmp(result, "accepted") != 0)
		return ctl_error_errno(-EBUSY, "%s: the guest refused to %s: %s%s%s", vm.name,
				       reboot ? "reboot" : "power off", result, *message ? ": " : "",
				       message);
	printf("%s: the guest accepted: %s\n", vm.name, *message ? message : (reboot ? "rebooting" : "powering off"));
	fflush(stdout);
	if (!shutdown_wait_done(&vm, worker_pid, reboot, connects, timeout - (ctl_now() - start)))
		return shutdown_timed_out(&vm, worker_pid, force, timeout,
					  reboot ? "come back" : "powered off");
	ctl_progress_end();
	printf("%s: %s in %.1f s\n", vm.name, reboot ? "rebooted, bus connected again," : "powered off",
	       ctl_now() - start);
	return 0;
}
