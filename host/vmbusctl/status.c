// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * status.c - `vmbusctl status`: what one VM, or every VM, is doing.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/vm.h"

static const char status_help[] =
	"Usage: vmbusctl status [NAME] [--json]\n"
	"Show whether a VM runs, its bus and its integration services; without NAME,\n"
	"every VM.\n\n"
	"  --json   the worker's status object ({\"name\", \"state\"} for a VM that does\n"
	"           not run); an array of them without NAME\n";

enum { OPT_JSON = CTL_OPT_FIRST_PRIVATE };

static const struct option status_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	CTL_COMMON_OPTIONS
};

static void status_json(const struct vm *vm, const struct vm_probe *p, struct json_writer *w)
{
	if (p->state == VM_RUNNING) {
		output_json_value(w, NULL, p->status, "ok");
		return;
	}
	json_object_begin(w, NULL);
	json_string(w, "name", vm->name);
	json_string(w, "state", vm_state_name(p->state));
	if (p->worker_pid)
		json_int(w, "worker_pid", p->worker_pid);
	if (p->qemu_pid)
		json_int(w, "qemu_pid", p->qemu_pid);
	if (p->state == VM_UNRESPONSIVE)
		json_string(w, "error", p->error);
	json_object_end(w);
}

static void status_human(const struct vm *vm, const struct vm_probe *p)
{
	switch (p->state) {
	case VM_RUNNING:
		output_status(vm->name, p->status);
		break;
	case VM_UNRESPONSIVE:
		printf("%s: unresponsive (worker %d does not answer: %s)\n", vm->name,
		       (int)p->worker_pid, p->error);
		break;
	case VM_ORPHANED:
		printf("%s: orphaned (QEMU %d runs without its worker; 'vmbusctl stop --force %s' "
		       "kills it)\n", vm->name, (int)p->qemu_pid, vm->name);
		break;
	case VM_STOPPED:
		printf("%s: stopped\n", vm->name);
		break;
	}
}

/* One VM into w (--json) or onto stdout. */
static void status_one(const struct vm *vm, struct json_writer *w)
{
	struct vm_probe p;

	vm_probe(vm, &p);
	if (w)
		status_json(vm, &p, w);
	else
		status_human(vm, &p);
	vm_probe_done(&p);
}

int cmd_status(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	struct json_writer w;
	bool json = false;
	char **names = NULL;
	size_t n = 0, i;
	int c, r;

	while ((c = ctl_getopt(argc, argv, status_options)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		default: return ctl_option_default(c, status_help);
		}
	}
	r = ctl_positional(argc, argv, 0, 1);
	if (r < 0)
		return r;
	json_writer_init(&w);
	if (optind < argc) {
		/* vm_find, not vm_init: a typo gets "no VM named ...". */
		r = vm_find(&vm, argv[optind]);
		if (r >= 0)
			status_one(&vm, json ? &w : NULL);
	} else {
		r = vm_list(&names, &n);
		if (r >= 0) {
			if (json)
				json_array_begin(&w, NULL);
			for (i = 0; i < n && r >= 0; i++) {
				vm_done(&vm);
				r = vm_init(&vm, names[i]);
				if (r >= 0)
					status_one(&vm, json ? &w : NULL);
			}
			if (json)
				json_array_end(&w);
			else if (n == 0)
				printf("No VMs defined (create one with 'vmbusctl create').\n");
		}
		vm_list_free(names, n);
	}
	if (r >= 0 && json)
		r = output_json_print(&w);
	json_writer_free(&w);
	return r;
}
