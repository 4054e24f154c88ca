// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kvp.c - `vmbusctl kvp`: read what the guest publishes about itself (the
 * guest pool) and set values for the guest (the host pool), through the
 * worker's KVP backend ("service kvp ..." on the control socket).
 * Protocol: docs/protocol/kvp.md.
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
#include "vmbus/ic_kvp.h"

#define KVP_DELIVERY_WAIT_S	5.0
#define KVP_REQUEST_MAX		16384	/* the worker's CONTROL_MAX_REQUEST */

static const char kvp_help[] =
	"Usage: vmbusctl kvp NAME [list | get KEY | set KEY VALUE | delete KEY] [--json]\n"
	"Key-value pairs shared with the guest's KVP service (openvmbusd).\n\n"
	"  list             what the guest publishes (OS, kernel, host name, addresses,\n"
	"                   uptime, openvmbus version) and the values the host set\n"
	"  get KEY          one value: the guest's, else the host's (printed as is)\n"
	"  set KEY VALUE    give the guest a value; it lands in the guest's\n"
	"                   /var/lib/openvmbus/kvp/host.pool and is kept across\n"
	"                   reboots of the guest and restarts of the worker\n"
	"  delete KEY       remove a value the host set\n"
	"  --json           the worker's reply as JSON\n\n"
	"Keys take 1 to 512 bytes, values up to 2048 bytes, both valid UTF-8; a pool\n"
	"holds at most 1024 entries.\n";

enum { OPT_JSON = CTL_OPT_FIRST_PRIVATE };

static const struct option kvp_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	CTL_COMMON_OPTIONS
};

/* The same limits the worker and the guest enforce, with a sentence for each. */
static int kvp_check_input(const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = value ? strlen(value) : 0;

	switch (vmbus_kvp_check(key, klen, value ? value : "", vlen)) {
	case 0:
		return 0;
	case -EINVAL:
		return ctl_error_errno(-EINVAL, "kvp: the key is empty");
	case -E2BIG:
		if (klen > VMBUS_KVP_KEY_MAX)
			return ctl_error_errno(-E2BIG, "kvp: the key is %zu bytes; keys take at most %u bytes",
					       klen, VMBUS_KVP_KEY_MAX);
		return ctl_error_errno(-E2BIG, "kvp: the value is %zu bytes; values take at most %u bytes",
				       vlen, VMBUS_KVP_VALUE_MAX);
	default:
		return ctl_error_errno(-EILSEQ, "kvp: keys and values must be valid UTF-8 (and hold no NUL)");
	}
}

/* Control bytes shown as %XX so one entry stays on one line. */
static void kvp_print_escaped(const char *s)
{
	static char buf[3 * VMBUS_KVP_VALUE_MAX + 1];

	if (vmbus_kvp_escape(s, strlen(s), false, buf, sizeof(buf)) < 0)
		fputs(s, stdout);
	else
		fputs(buf, stdout);
}

static void kvp_print_pool(const struct json_value *pool, bool delivery)
{
	const struct json_value *e;

	if (!pool || !pool->child) {
		printf("  (none)\n");
		return;
	}
	for (e = pool->child; e; e = e->next) {
		const char *key = json_get_string(e, "key"), *value = json_get_string(e, "value");

		printf("  ");
		kvp_print_escaped(key ? key : "");
		printf(" = ");
		kvp_print_escaped(value ? value : "");
		if (delivery && !json_get_bool(e, "delivered", true))
			printf("   (not yet delivered)");
		printf("\n");
	}
}

static void kvp_print_list(const struct vm *vm, const struct json_value *reply)
{
	char ago[32];

	if (json_get_bool(reply, "guest_pool_read", false)) {
		output_duration(json_get_number(reply, "guest_read_ago", 0), ago, sizeof(ago));
		printf("%s: published by the guest (read %s ago):\n", vm->name, ago);
	} else {
		printf("%s: published by the guest: %s\n", vm->name,
		       json_get_bool(reply, "guest_service", false) ? "not read yet" :
		       "nothing (no KVP service in the guest has connected)");
	}
	if (json_get_bool(reply, "guest_pool_read", false))
		kvp_print_pool(json_get(reply, "guest"), false);
	printf("%s: set by the host:\n", vm->name);
	kvp_print_pool(json_get(reply, "host"), true);
}

/* After a set: wait (a little) until the guest has acknowledged the value. */
static bool kvp_wait_delivered(const struct vm *vm, const char *key)
{
	char request[KVP_REQUEST_MAX], error[256];
	size_t len = (size_t)snprintf(request, sizeof(request), "service kvp get");
	double deadline = ctl_now() + KVP_DELIVERY_WAIT_S;
	struct timespec pause = { 0, 100 * 1000000L };

	if (worker_request_append(request, sizeof(request), &len, key) < 0)
		return false;
	while (ctl_now() < deadline) {
		_cleanup_json_ struct json_value *reply = NULL;

		if (worker_call(vm, request, &reply, error, sizeof(error)) < 0)
			return false;
		if (json_get_bool(reply, "delivered", false))
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

int cmd_kvp(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	_cleanup_json_ struct json_value *reply = NULL;
	char request[KVP_REQUEST_MAX];
	const char *action = "list";
	size_t len;
	bool json = false;
	int c, r, nargs, i;

	while ((c = ctl_getopt(argc, argv, kvp_options)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		default: return ctl_option_default(c, kvp_help);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("kvp", "which VM?");
	if (optind + 1 < argc)
		action = argv[optind + 1];
	nargs = argc - optind - 2;
	if ((strcmp(action, "list") == 0 && nargs > 0) ||
	    ((strcmp(action, "get") == 0 || strcmp(action, "delete") == 0) && nargs != 1) ||
	    (strcmp(action, "set") == 0 && nargs != 2))
		return ctl_usage_error("kvp", "%s takes %s", action,
				       strcmp(action, "list") == 0 ? "no arguments" :
				       strcmp(action, "set") == 0 ? "KEY VALUE" : "KEY");
	if (strcmp(action, "list") && strcmp(action, "get") && strcmp(action, "set") &&
	    strcmp(action, "delete"))
		return ctl_usage_error("kvp", "unknown action '%s' (list, get, set, delete)", action);
	if (nargs > 0) {
		r = kvp_check_input(argv[optind + 2], nargs == 2 ? argv[optind + 3] : NULL);
		if (r < 0)
			return r;
	}
	r = vm_open(&vm, argv[optind]);
	if (r < 0)
		return r;

	len = (size_t)snprintf(request, sizeof(request), "service kvp %s", action);
	for (i = 0; i < nargs; i++)
		if (worker_request_append(request, sizeof(request), &len, argv[optind + 2 + i]) < 0)
			return ctl_error_errno(-E2BIG, "kvp: the request is too long");
	r = worker_request(&vm, request, &reply);
	if (r < 0)
		return r;

	if (strcmp(action, "set") == 0 && json_get_bool(reply, "guest_service", false) &&
	    kvp_wait_delivered(&vm, argv[optind + 2])) {
		if (!json)
			printf("%s: %s set and delivered to the guest\n", vm.name, argv[optind + 2]);
	} else if (strcmp(action, "set") == 0 && !json) {
		printf("%s: %s set; the guest gets it %s\n", vm.name, argv[optind + 2],
		       json_get_bool(reply, "guest_service", false) ? "when its KVP service answers" :
		       "once its KVP service connects");
	}
	if (json) {
		return output_json_reply(reply);
	}
	if (strcmp(action, "list") == 0)
		kvp_print_list(&vm, reply);
	else if (strcmp(action, "get") == 0)
		printf("%s\n", json_get_string(reply, "value") ? json_get_string(reply, "value") : "");
	else if (strcmp(action, "delete") == 0)
		printf("%s: %s deleted\n", vm.name, argv[optind + 2]);
	return 0;
}
