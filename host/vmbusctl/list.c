// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * list.c - `vmbusctl list`: the defined VMs, one line each.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/vm.h"

static const char list_help[] =
	"Usage: vmbusctl list [--json]\n"
	"List the defined VMs: NAME STATE CPUS MEMORY. A VM whose definition cannot\n"
	"be read is listed as \"invalid\" (and the reason printed on stderr).\n\n"
	"  --json   an array of {\"name\", \"state\", \"cpus\", \"memory_mib\"}\n";

enum { OPT_JSON = CTL_OPT_FIRST_PRIVATE };

static const struct option list_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	CTL_COMMON_OPTIONS
};

static void list_one(const char *name, int width, struct json_writer *w)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	const char *state = "invalid";
	struct vm_probe p;
	bool loaded = vm_open(&vm, name) >= 0;

	if (loaded) {
		vm_probe(&vm, &p);
		state = vm_state_name(p.state);
		vm_probe_done(&p);
	}
	if (w) {
		json_object_begin(w, NULL);
		json_string(w, "name", name);
		json_string(w, "state", state);
		if (loaded) {
			json_uint(w, "cpus", vm.cfg.cpus);
			json_uint(w, "memory_mib", vm.cfg.memory >> 20);
		}
		json_object_end(w);
	} else if (loaded) {
		printf("%-*s  %-12s  %4u  %7llu MiB\n", width, name, state, vm.cfg.cpus,
		       (unsigned long long)(vm.cfg.memory >> 20));
	} else {
		printf("%-*s  %-12s  %4s  %11s\n", width, name, state, "-", "-");
	}
}

int cmd_list(int argc, char **argv)
{
	struct json_writer w;
	char **names = NULL;
	bool json = false;
	size_t n = 0, i;
	int c, r, width = 4;

	while ((c = ctl_getopt(argc, argv, list_options)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		default: return ctl_option_default(c, list_help);
		}
	}
	r = ctl_positional(argc, argv, 0, 0);
	if (r < 0)
		return r;
	r = vm_list(&names, &n);
	if (r < 0)
		return r;
	json_writer_init(&w);
	if (json) {
		json_array_begin(&w, NULL);
	} else {
		for (i = 0; i < n; i++)
			if ((int)strlen(names[i]) > width)
				width = (int)strlen(names[i]);
		printf("%-*s  %-12s  %4s  %11s\n", width, "NAME", "STATE", "CPUS", "MEMORY");
	}
	for (i = 0; i < n; i++)
		list_one(names[i], width, json ? &w : NULL);
	if (json) {
		json_array_end(&w);
		r = output_json_print(&w);
	}
	json_writer_free(&w);
	vm_list_free(names, n);
	return r;
}
