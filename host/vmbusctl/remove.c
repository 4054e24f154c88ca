// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * remove.c - `vmbusctl remove`: delete a stopped VM's definition, logs and
 * run directory. Files vmbusctl did not make (a disk image kept next to the
 * definition, say) are left alone, and so is the directory holding them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/vm.h"

static const char remove_help[] =
	"Usage: vmbusctl remove NAME\n"
	"Delete a stopped VM: its definition, worker.log and run directory (console\n"
	"log, sockets). Kernel, initrd and disk images are not touched.\n";

static const struct option remove_options[] = {
	CTL_COMMON_OPTIONS
};

/* The run directory holds only what the worker and QEMU made: empty it whole. */
static int remove_run_dir(const struct vm *vm)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int r = 0;

	d = opendir(vm->run_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (vm_run_path(vm, e->d_name, path, sizeof(path)) < 0 ||
		    (unlink(path) < 0 && errno != ENOENT)) {
			r = -errno;
			break;
		}
	}
	closedir(d);
	if (r == 0 && rmdir(vm->run_dir) < 0)
		r = -errno;
	return r;
}

static int remove_files(const struct vm *vm)
{
	static const char *const files[] = { "vm.conf", "worker.log", "vm.conf.tmp" };
	char path[PATH_MAX];
	unsigned int i;
	int r;

	r = remove_run_dir(vm);
	if (r < 0)
		return ctl_error_errno(r, "%s: cannot empty %s: %m", vm->name, vm->run_dir);
	/* The definition goes last: until then `vmbusctl remove` can be run again. */
	for (i = sizeof(files) / sizeof(files[0]); i-- > 0;) {
		if (vm_path(vm, files[i], path, sizeof(path)) < 0 ||
		    (unlink(path) < 0 && errno != ENOENT))
			return ctl_error_errno(-errno, "%s: cannot remove %s: %m", vm->name, path);
	}
	if (rmdir(vm->dir) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST) {
			printf("%s: removed; %s is left in place: it holds files vmbusctl did not create\n",
			       vm->name, vm->dir);
			return 0;
		}
		return ctl_error_errno(-errno, "%s: cannot remove %s: %m", vm->name, vm->dir);
	}
	printf("%s: removed\n", vm->name);
	return 0;
}

int cmd_remove(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	struct vm_probe p;
	int c, r;

	while ((c = ctl_getopt(argc, argv, remove_options)) != -1)
		return ctl_option_default(c, remove_help);
	r = ctl_positional(argc, argv, 1, 1);
	if (r < 0)
		return r;
	r = vm_find(&vm, argv[optind]);
	if (r < 0)
		return r;
	vm_probe(&vm, &p);
	vm_probe_done(&p);
	if (p.state != VM_STOPPED)
		return ctl_error_errno(-EBUSY, "%s is %s: stop it first ('vmbusctl stop %s%s')", vm.name,
				       vm_state_name(p.state), p.state == VM_RUNNING ? "" : "--force ",
				       vm.name);
	return remove_files(&vm);
}
