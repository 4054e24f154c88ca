// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * quiesce.c - `vmbusctl quiesce`: freeze or thaw the guest's filesystems
 * through its backup service by hand (for an administrator's own snapshot
 * tool, and for tests), or show what is frozen. `vmbusctl backup` does the
 * same inside a backup. Protocol: docs/protocol/backup.md.
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

#define QUIESCE_ANSWER_S	95	/* the worker gives the guest 90 s (hooks included) */
#define QUIESCE_POLL_MS		50

static const char quiesce_help[] =
	"Usage: vmbusctl quiesce NAME freeze|thaw|status [--timeout MS] [--json]\n"
	"Ask the guest's backup service (openvmbusd) to freeze its filesystems (after\n"
	"its pre-freeze hooks), to thaw them (then its post-thaw hooks), or to say what\n"
	"is frozen. The guest thaws by itself when the freeze's watchdog timeout\n"
	"passes without a thaw. Prints the guest's answer: the mount points, or what\n"
	"failed.\n\n"
	"  --timeout MS  freeze: the guest's watchdog timeout, 1000..60000 (default 10000)\n"
	"  --json        the service's state after the answer, as JSON\n";

enum { OPT_TIMEOUT = CTL_OPT_FIRST_PRIVATE, OPT_JSON };

static const struct option quiesce_options[] = {
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	CTL_COMMON_OPTIONS
};

/* Wait until the worker has the answer to request seq; the service's status then, or NULL. */
static struct json_value *quiesce_wait_answer(const struct vm *vm, double seq)
{
	struct timespec pause = { 0, QUIESCE_POLL_MS * 1000000L };
	double end = ctl_now() + QUIESCE_ANSWER_S;
	char error[256];

	do {
		struct json_value *st = NULL;

		if (worker_call(vm, "service backup info", &st, error, sizeof(error)) < 0) {
			ctl_message("%s: %s", vm->name, error);
			return NULL;
		}
		if (json_get_number(json_get(st, "last"), "sequence", -1) == seq)
			return st;
		json_value_free(st);
		nanosleep(&pause, NULL);
	} while (ctl_now() < end);
	ctl_message("%s: no answer from the worker about the guest within %d s", vm->name,
		    QUIESCE_ANSWER_S);
	return NULL;
}

int cmd_quiesce(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	_cleanup_json_ struct json_value *reply = NULL;
	_cleanup_json_ struct json_value *st = NULL;
	const struct json_value *last;
	const char *op, *text;
	unsigned long timeout_ms = 0;
	bool json = false;
	char request[128];
	int c, r, status;

	while ((c = ctl_getopt(argc, argv, quiesce_options)) != -1) {
		switch (c) {
		case OPT_TIMEOUT: {
			char *end;

			timeout_ms = strtoul(optarg, &end, 10);
			if (*end || !*optarg || timeout_ms < 1000 || timeout_ms > 60000)
				return ctl_usage_error("quiesce", "--timeout takes 1000 to 60000 (milliseconds)");
			break;
		}
		case OPT_JSON: json = true; break;
		default: return ctl_option_default(c, quiesce_help);
		}
	}
	if (argc - optind != 2)
		return ctl_usage_error("quiesce", "NAME and one of freeze, thaw, status wanted");
	op = argv[optind + 1];
	if (strcmp(op, "freeze") && strcmp(op, "thaw") && strcmp(op, "status"))
		return ctl_usage_error("quiesce", "'%s' is not freeze, thaw or status", op);
	r = vm_open(&vm, argv[optind]);
	if (r < 0)
		return r;

	if (strcmp(op, "freeze") == 0 && timeout_ms)
		snprintf(request, sizeof(request), "service backup freeze %lu", timeout_ms);
	else
		snprintf(request, sizeof(request), "service backup %s", op);
	r = worker_request(&vm, request, &reply);
	if (r < 0)
		return r;
	st = quiesce_wait_answer(&vm, json_get_number(reply, "sequence", -1));
	if (!st)
		return -ETIMEDOUT;
	if (json) {
		struct json_writer w;

		json_writer_init(&w);
		output_json_value(&w, NULL, st, "ok");
		r = output_json_print(&w);
		json_writer_free(&w);
		return r;
	}
	last = json_get(st, "last");
	status = (int)json_get_number(last, "status", -EPROTO);
	text = json_get_string(last, "text");
	if (status < 0) {
		ctl_message("%s: %s failed: %s%s%s", vm.name, op, strerror(-status),
			    text && *text ? "\n" : "", text ? text : "");
		return status;
	}
	if (strcmp(op, "freeze") == 0)
		printf("%s: frozen in %.0f ms (%.0f filesystems):\n", vm.name,
		       json_get_number(last, "elapsed_ms", 0), json_get_number(last, "filesystems", 0));
	else if (strcmp(op, "thaw") == 0 && json_get_number(last, "filesystems", 0) == 0 &&
		 !json_get_bool(last, "watchdog_thawed", false))
		printf("%s: nothing was frozen\n", vm.name);
	else if (strcmp(op, "thaw") == 0)
		printf("%s: thawed in %.0f ms%s%s:\n", vm.name, json_get_number(last, "elapsed_ms", 0),
		       json_get_bool(last, "watchdog_thawed", false)
			       ? " (the guest's watchdog had thawed already)" : "",
		       json_get_bool(last, "hook_failed", false) ? " (a post-thaw hook failed)" : "");
	else
		printf("%s: %s\n", vm.name, json_get_bool(st, "frozen", false) ? "frozen:" : "nothing frozen");
	if (text && *text)
		printf("%s%s", text, text[strlen(text) - 1] == '\n' ? "" : "\n");
	return 0;
}
