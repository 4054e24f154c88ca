// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * integration.c - `vmbusctl integration`: which integration services a VM
 * has, in its definition and live on its bus; enabling one offers it to a
 * running guest, disabling one rescinds it.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "host/devices.h"
#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/vm.h"
#include "host/vmbusctl/worker.h"

static const char integration_help[] =
	"Usage: vmbusctl integration NAME [list]\n"
	"       vmbusctl integration NAME enable|disable SERVICE\n"
	"List the integration services (enabled or not in the definition, and their\n"
	"channel when the VM runs), or enable or disable one: the definition is\n"
	"updated, and a running VM gets the device offered or rescinded at once.\n";

static const struct option integration_options[] = {
	CTL_COMMON_OPTIONS
};

/* The service's live entry on the running VM's bus, or NULL. */
static const struct json_value *integration_live(const struct vm_probe *p, const char *name)
{
	return p->state == VM_RUNNING ? output_status_service(p->status, name, true) : NULL;
}

static int integration_list(const struct vm *vm, const struct vm_probe *p)
{
	bool running = p->state == VM_RUNNING;
	unsigned int i;

	printf(running ? "%-12s %-11s %s\n" : "%-12s %s\n", "SERVICE", "DEFINITION", "ON THE BUS");
	for (i = 0; devices_all[i]; i++) {
		const char *name = devices_all[i]->name;
		const struct json_value *live = integration_live(p, name);
		char channel[128] = "-";

		if (live)
			output_service_state(live, channel, sizeof(channel));
		printf(running ? "%-12s %-11s %s\n" : "%-12s %s\n", name,
		       config_has_service(&vm->cfg, name) ? "enabled" : "disabled", channel);
	}
	if (!running)
		printf("(%s is %s: channels show while it runs)\n", vm->name, vm_state_name(p->state));
	return 0;
}

/* Offer or rescind on the running VM's bus, unless it is already so. */
static int integration_apply_live(const struct vm *vm, const struct vm_probe *p, const char *name,
				  bool enable)
{
	_cleanup_json_ struct json_value *reply = NULL;
	const struct json_value *live = integration_live(p, name);
	char request[CONFIG_NAME_MAX + 16];
	int r;

	if (p->state != VM_RUNNING) {
		printf("%s: %s %s (takes effect at the next start)\n", vm->name, name,
		       enable ? "enabled" : "disabled");
		return 0;
	}
	if (enable == (live != NULL)) {
		printf("%s: %s %s (it already was on the running VM's bus)\n", vm->name, name,
		       enable ? "enabled" : "disabled");
		return 0;
	}
	snprintf(request, sizeof(request), "%s %s", enable ? "offer" : "rescind", name);
	r = worker_request(vm, request, &reply);
	if (r < 0)
		return ctl_error_errno(r, "%s: the definition was updated, but the running VM was not",
				       vm->name);
	if (enable)
		printf("%s: %s enabled, offered to the guest as channel %.0f\n", vm->name, name,
		       json_get_number(reply, "channel_id", 0));
	else
		printf("%s: %s disabled, rescinded from the guest\n", vm->name, name);
	return 0;
}

static int integration_set(struct vm *vm, const struct vm_probe *p, const char *name, bool enable)
{
	char conf[PATH_MAX], known[256];
	int r;

	if (!devices_find(name)) {
		output_service_names(known, sizeof(known));
		return ctl_usage_error("integration", "unknown integration service '%s' (known: %s)",
				       name, known);
	}
	if (config_has_service(&vm->cfg, name) != enable) {
		r = config_set_service(&vm->cfg, name, enable);
		if (r < 0)
			return ctl_error_errno(r, "%s: cannot %s %s: %m", vm->name,
					       enable ? "enable" : "disable", name);
		r = vm_path(vm, "vm.conf", conf, sizeof(conf));
		if (r >= 0)
			r = config_save(&vm->cfg, conf);
		if (r < 0)
			return ctl_error_errno(r, "%s: cannot write %s: %m", vm->name, conf);
	}
	return integration_apply_live(vm, p, name, enable);
}

int cmd_integration(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	const char *action = "list";
	struct vm_probe p;
	bool list, set;
	int c, r, n;

	while ((c = ctl_getopt(argc, argv, integration_options)) != -1)
		return ctl_option_default(c, integration_help);
	r = ctl_positional(argc, argv, 1, 3);
	if (r < 0)
		return r;
	n = argc - optind;
	if (n >= 2)
		action = argv[optind + 1];
	list = strcmp(action, "list") == 0;
	set = strcmp(action, "enable") == 0 || strcmp(action, "disable") == 0;
	if ((list && n > 2) || (set && n != 3) || (!list && !set))
		return ctl_usage_error("integration", "wants 'list', 'enable SERVICE' or 'disable SERVICE'");
	r = vm_open(&vm, argv[optind]);
	if (r < 0)
		return r;
	vm_probe(&vm, &p);
	if (list)
		r = integration_list(&vm, &p);
	else
		r = integration_set(&vm, &p, argv[optind + 2], strcmp(action, "enable") == 0);
	vm_probe_done(&p);
	return r;
}
