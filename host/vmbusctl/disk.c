// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * disk.c - `vmbusctl disk`: the synthetic disks a running VM serves
 * (docs/protocol/storage.md), through the worker's storage backend
 * ("service diskN info" and "rescind diskN" on the control socket).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/vm.h"
#include "host/vmbusctl/worker.h"

#define DISK_MAX_INDEX 64	/* names disk0..disk63, as the worker hands them out */

static const char disk_help[] =
	"Usage: vmbusctl disk NAME [list | add PATH [--readonly] [--serial S] | remove ID] [--json]\n"
	"The synthetic disks a running VM serves ([Storage] Disk= lines of its\n"
	"definition, named disk0, disk1, ... in order).\n\n"
	"  list        each disk: backing file, size, read-only, serial, I/O counters\n"
	"  add PATH    hot-plug a raw image as the next free diskN (--readonly,\n"
	"              --serial S: up to 20 printable characters)\n"
	"  remove ID   hot-unplug disk ID (e.g. disk1) until the worker restarts\n"
	"  --json      the worker's replies as JSON\n\n"
	"Run-time changes last until the worker restarts; disks that stay belong\n"
	"in the definition as Disk=PATH[,readonly][,serial=S] lines under [Storage].\n";

enum { OPT_JSON = CTL_OPT_FIRST_PRIVATE, OPT_READONLY, OPT_SERIAL };

static const struct option disk_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "readonly", no_argument, NULL, OPT_READONLY },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	CTL_COMMON_OPTIONS
};

static bool disk_id_valid(const char *id)
{
	unsigned int n;
	char end;

	return sscanf(id, "disk%u%c", &n, &end) == 1 && n < DISK_MAX_INDEX;
}

static int disk_list(const struct vm *vm, bool json)
{
	struct json_writer w;
	unsigned int i, found = 0;
	int r = 0;

	if (json) {
		json_writer_init(&w);
		json_object_begin(&w, NULL);
	}
	for (i = 0; i < DISK_MAX_INDEX; i++) {
		_cleanup_json_ struct json_value *reply = NULL;
		char request[64], error[256], id[16];
		double bytes;

		snprintf(request, sizeof(request), "service disk%u info", i);
		r = worker_call(vm, request, &reply, error, sizeof(error));
		if (r == -EREMOTEIO)
			continue;	/* no such disk */
		if (r < 0) {
			if (json)
				json_writer_free(&w);
			return worker_request(vm, request, &reply);	/* reports why */
		}
		found++;
		if (json) {
			snprintf(id, sizeof(id), "disk%u", i);
			output_json_value(&w, id, reply, "ok");
			continue;
		}
		bytes = json_get_number(reply, "capacity_sectors", 0) * 512;
		printf("disk%u  %s  %.1f MiB%s  serial %s  reads %.0f  writes %.0f  errors %.0f\n", i,
		       json_get_string(reply, "path") ? json_get_string(reply, "path") : "?",
		       bytes / (1024 * 1024), json_get_bool(reply, "readonly", false) ? "  read-only" : "",
		       json_get_string(reply, "serial") ? json_get_string(reply, "serial") : "",
		       json_get_number(reply, "reads", 0), json_get_number(reply, "writes", 0),
		       json_get_number(reply, "errors", 0));
	}
	if (json) {
		json_object_end(&w);
		r = output_json_print(&w);
		json_writer_free(&w);
		return r;
	}
	if (!found)
		printf("%s: no disks\n", vm->name);
	return 0;
}

static int disk_add(const char *name, const char *path, bool readonly, const char *serial,
		    bool json, char *request, size_t n)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	_cleanup_json_ struct json_value *reply = NULL;
	char abs[PATH_MAX], arg[64];
	size_t len;
	int r;

	if (!path)
		return ctl_usage_error("disk", "add takes one image path");
	if (serial && (!*serial || strlen(serial) > 20 || strpbrk(serial, ", \t")))
		return ctl_usage_error("disk", "--serial takes 1 to 20 characters, no commas or spaces");
	r = ctl_absolute_path(path, abs, sizeof(abs));
	if (r < 0)
		return ctl_error_errno(r, "disk: %s: %m", path);
	if (access(abs, readonly ? R_OK : R_OK | W_OK) < 0)
		return ctl_error_errno(-errno, "disk: %s: %m", abs);
	r = vm_open(&vm, name);
	if (r < 0)
		return r;
	snprintf(request, n, "disk-add");
	len = strlen(request);
	r = worker_request_append(request, n, &len, abs);
	if (r >= 0 && readonly)
		r = worker_request_append(request, n, &len, "readonly");
	if (r >= 0 && serial) {
		snprintf(arg, sizeof(arg), "serial=%s", serial);
		r = worker_request_append(request, n, &len, arg);
	}
	if (r < 0)
		return ctl_error_errno(r, "disk: the path is too long");
	r = worker_request(&vm, request, &reply);
	if (r < 0)
		return r;
	if (json) {
		return output_json_reply(reply);
	}
	printf("%s: %s added as %s (channel %.0f)\n", vm.name, abs,
	       json_get_string(reply, "disk") ? json_get_string(reply, "disk") : "?",
	       json_get_number(reply, "channel_id", 0));
	return 0;
}

int cmd_disk(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	_cleanup_json_ struct json_value *reply = NULL;
	const char *action = "list", *serial = NULL;
	char request[PATH_MAX * 3 + 128];
	bool json = false, readonly = false;
	int c, r, nargs;

	while ((c = ctl_getopt(argc, argv, disk_options)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_READONLY: readonly = true; break;
		case OPT_SERIAL: serial = optarg; break;
		default: return ctl_option_default(c, disk_help);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("disk", "which VM?");
	if (optind + 1 < argc)
		action = argv[optind + 1];
	nargs = argc - optind - 2;
	if (strcmp(action, "add") == 0)
		return disk_add(argv[optind], nargs == 1 ? argv[optind + 2] : NULL, readonly, serial,
				json, request, sizeof(request));
	if (readonly || serial)
		return ctl_usage_error("disk", "--readonly and --serial go with add");
	if (strcmp(action, "list") == 0 && nargs > 0)
		return ctl_usage_error("disk", "list takes no arguments");
	if (strcmp(action, "remove") == 0 && (nargs != 1 || !disk_id_valid(argv[optind + 2])))
		return ctl_usage_error("disk", "remove takes one disk id (disk0, disk1, ...)");
	if (strcmp(action, "list") && strcmp(action, "remove"))
		return ctl_usage_error("disk", "unknown action '%s' (list, remove)", action);
	r = vm_open(&vm, argv[optind]);
	if (r < 0)
		return r;
	if (strcmp(action, "list") == 0)
		return disk_list(&vm, json);

	snprintf(request, sizeof(request), "rescind %s", argv[optind + 2]);
	r = worker_request(&vm, request, &reply);
	if (r < 0)
		return r;
	if (!json)
		printf("%s: %s removed\n", vm.name, argv[optind + 2]);
	return 0;
}
