// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * channels.c - `vmbusctl channels`: a running VM's VMBus channels.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/vm.h"
#include "host/vmbusctl/worker.h"

static const char channels_help[] =
	"Usage: vmbusctl channels NAME [--json]\n"
	"List a running VM's channels: id, device class, sub-channel index, state,\n"
	"target CPU and interrupt vector (open channels), how often the guest and\n"
	"the host signalled it, and the device's instance id.\n\n"
	"  --json   the worker's channel list ({\"channels\": [...]})\n";

enum { OPT_JSON = CTL_OPT_FIRST_PRIVATE };

static const struct option channels_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	CTL_COMMON_OPTIONS
};

#define CHANNELS_ROW "%-4s %-10s %-4s %-10s %-4s %-7s %-20s %s\n"

/* A member as text, "-" when absent (CPU and vector exist only for open channels). */
static const char *channels_number(const struct json_value *ch, const char *key, char *buf, size_t n)
{
	const struct json_value *v = json_get(ch, key);

	if (!v || v->type != JSON_NUMBER)
		return "-";
	snprintf(buf, n, "%.0f", v->number);
	return buf;
}

static void channels_print(const struct json_value *list)
{
	const struct json_value *ch;
	char id[16], sub[16], cpu[16], vector[16], signals[48];

	printf(CHANNELS_ROW, "ID", "CLASS", "SUB", "STATE", "CPU", "VECTOR", "SIGNALS(guest/host)",
	       "INSTANCE");
	for (ch = list ? list->child : NULL; ch; ch = ch->next) {
		const char *class = json_get_string(ch, "class");
		const char *state = json_get_string(ch, "state");
		const char *instance = json_get_string(ch, "instance_id");

		snprintf(signals, sizeof(signals), "%.0f/%.0f", json_get_number(ch, "guest_signals", 0),
			 json_get_number(ch, "host_signals", 0));
		printf(CHANNELS_ROW, channels_number(ch, "id", id, sizeof(id)), class ? class : "?",
		       channels_number(ch, "subchannel", sub, sizeof(sub)), state ? state : "?",
		       channels_number(ch, "target_cpu", cpu, sizeof(cpu)),
		       channels_number(ch, "vector", vector, sizeof(vector)), signals,
		       instance ? instance : "-");
	}
}

int cmd_channels(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	_cleanup_json_ struct json_value *reply = NULL;
	bool json = false;
	int c, r;

	while ((c = ctl_getopt(argc, argv, channels_options)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		default: return ctl_option_default(c, channels_help);
		}
	}
	r = vm_open_argument(&vm, argc, argv);
	if (r < 0)
		return r;
	r = worker_request(&vm, "channels", &reply);
	if (r < 0)
		return r;
	if (json) {
		return output_json_reply(reply);
	}
	channels_print(json_get(reply, "channels"));
	return 0;
}
