// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * vm.c - VM directories, definitions and liveness (see vm.h).
 *
 * Pid files outlive their processes and pids get reused, so a pid only
 * counts as this VM's worker or QEMU when the process is alive and one of
 * its arguments names this VM's run directory: vmbusctl never signals an
 * unrelated process that inherited an old pid.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/vm.h"
#include "host/vmbusctl/worker.h"

#define VM_CMDLINE_MAX	(64 * 1024)

/* The sockets the worker and QEMU create in the run directory. */
static const char *const vm_socket_names[] = { "control.sock", "console.sock", "vmbus.sock", "qmp.sock" };

int vm_init(struct vm *vm, const char *name)
{
	const char *state;
	int r;

	memset(vm, 0, sizeof(*vm));
	config_init(&vm->cfg);
	if (!config_name_valid(name)) {
		ctl_message("'%s' is not a valid VM name (1 to %d letters, digits, '_', '.' or '-', "
			    "not starting with '.' or '-')", name, CONFIG_NAME_MAX - 1);
		return -CTL_EUSAGE;
	}
	r = ctl_state_dir(&state);
	if (r < 0)
		return r;
	strcpy(vm->name, name);
	if ((size_t)snprintf(vm->dir, sizeof(vm->dir), "%s/vms/%s", state, name) >= sizeof(vm->dir) ||
	    (size_t)snprintf(vm->run_dir, sizeof(vm->run_dir), "%s/run", vm->dir) >= sizeof(vm->run_dir))
		return ctl_error_errno(-ENAMETOOLONG, "the state directory path '%s' is too long", state);
	return 0;
}

int vm_find(struct vm *vm, const char *name)
{
	char path[PATH_MAX];
	int r;

	r = vm_init(vm, name);
	if (r < 0)
		return r;
	if (vm_path(vm, "vm.conf", path, sizeof(path)) < 0)
		return ctl_error_errno(-ENAMETOOLONG, "%s: path too long", vm->dir);
	if (access(path, F_OK) < 0)
		return ctl_error_errno(-errno, "no VM named '%s' (see 'vmbusctl list')", name);
	return 0;
}

int vm_open(struct vm *vm, const char *name)
{
	char path[PATH_MAX];
	unsigned int line = 0;
	int r;

	r = vm_find(vm, name);
	if (r < 0)
		return r;
	if (vm_path(vm, "vm.conf", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;	/* vm_find checked */
	r = config_load(&vm->cfg, path, &line);
	if (r < 0 && line)
		return ctl_error_errno(r, "%s:%u: invalid line in the VM definition", path, line);
	if (r < 0)
		return ctl_error_errno(r, "cannot read the definition of %s (%s): %m", name, path);
	return 0;
}

int vm_open_argument(struct vm *vm, int argc, char **argv)
{
	int r;

	r = ctl_positional(argc, argv, 1, 1);
	if (r < 0)
		return r;
	return vm_open(vm, argv[optind]);
}

void vm_done(struct vm *vm)
{
	config_free(&vm->cfg);
}

int vm_path(const struct vm *vm, const char *file, char *buf, size_t n)
{
	if ((size_t)snprintf(buf, n, "%s/%s", vm->dir, file) >= n)
		return -ENAMETOOLONG;
	return 0;
}

int vm_run_path(const struct vm *vm, const char *file, char *buf, size_t n)
{
	if ((size_t)snprintf(buf, n, "%s/%s", vm->run_dir, file) >= n)
		return -ENAMETOOLONG;
	return 0;
}

int vm_check_socket_paths(const struct vm *vm)
{
	struct sockaddr_un addr;
	size_t longest = 0, i;

	for (i = 0; i < sizeof(vm_socket_names) / sizeof(vm_socket_names[0]); i++)
		if (strlen(vm_socket_names[i]) > longest)
			longest = strlen(vm_socket_names[i]);
	/* run_dir + '/' + name + NUL must fit sun_path. */
	if (strlen(vm->run_dir) + 1 + longest + 1 > sizeof(addr.sun_path))
		return ctl_error_errno(-ENAMETOOLONG,
				       "the run directory %s is %zu bytes long, but the sockets in it "
				       "need it to be at most %zu (UNIX socket paths are limited): "
				       "use a shorter --dir (or VM name)",
				       vm->run_dir, strlen(vm->run_dir),
				       sizeof(addr.sun_path) - longest - 2);
	return 0;
}

bool vm_pid_is_ours(const struct vm *vm, pid_t pid)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	char path[64], prefix[PATH_MAX + 1];
	size_t len = 0, off;
	ssize_t n;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	buf = malloc(VM_CMDLINE_MAX + 1);
	if (!buf)
		return false;
	while (len < VM_CMDLINE_MAX && (n = read(fd, buf + len, VM_CMDLINE_MAX - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	/* A zombie has an empty command line: it is not alive for us. */
	snprintf(prefix, sizeof(prefix), "%s/", vm->run_dir);
	for (off = 0; off < len; off += strlen(buf + off) + 1)
		if (strcmp(buf + off, vm->run_dir) == 0 || strstr(buf + off, prefix))
			return true;
	return false;
}

pid_t vm_read_pid(const struct vm *vm, const char *pidfile)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[PATH_MAX];
	int pid;

	if (vm_run_path(vm, pidfile, path, sizeof(path)) < 0)
		return 0;
	f = fopen(path, "re");
	if (!f || fscanf(f, "%d", &pid) != 1)
		return 0;
	return vm_pid_is_ours(vm, pid) ? pid : 0;
}

void vm_probe(const struct vm *vm, struct vm_probe *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->worker_pid = vm_read_pid(vm, "worker.pid");
	ret->qemu_pid = vm_read_pid(vm, "qemu.pid");
	if (ret->worker_pid) {
		if (worker_call(vm, "status", &ret->status, ret->error, sizeof(ret->error)) >= 0)
			ret->state = VM_RUNNING;
		else
			ret->state = VM_UNRESPONSIVE;
	} else if (ret->qemu_pid) {
		ret->state = VM_ORPHANED;
	} else {
		ret->state = VM_STOPPED;
	}
}

void vm_probe_done(struct vm_probe *p)
{
	json_value_free(p->status);
	p->status = NULL;
}

const char *vm_state_name(enum vm_state state)
{
	switch (state) {
	case VM_RUNNING: return "running";
	case VM_UNRESPONSIVE: return "unresponsive";
	case VM_ORPHANED: return "orphaned";
	case VM_STOPPED: break;
	}
	return "stopped";
}

int vm_not_running_error(const struct vm *vm, const struct vm_probe *p)
{
	switch (p->state) {
	case VM_UNRESPONSIVE:
		return ctl_error_errno(-EHOSTDOWN, "%s: the worker (pid %d) does not answer: %s",
				       vm->name, (int)p->worker_pid, p->error);
	case VM_ORPHANED:
		return ctl_error_errno(-ESRCH, "%s: QEMU (pid %d) is orphaned: its worker is gone; "
				       "'vmbusctl stop --force %s' kills it",
				       vm->name, (int)p->qemu_pid, vm->name);
	case VM_STOPPED:
	case VM_RUNNING:
		break;
	}
	return ctl_error_errno(-ESRCH, "%s is not running (start it with 'vmbusctl start %s')",
			       vm->name, vm->name);
}

static int vm_list_filter(const struct dirent *e)
{
	return config_name_valid(e->d_name);
}

int vm_list(char ***ret_names, size_t *ret_n)
{
	char path[PATH_MAX + 8], conf[PATH_MAX + 80];
	struct dirent **entries;
	const char *state;
	char **names;
	size_t n = 0;
	int count, i, r;

	r = ctl_state_dir(&state);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/vms", state);
	count = scandir(path, &entries, vm_list_filter, alphasort);
	if (count < 0) {
		if (errno != ENOENT)
			return ctl_error_errno(-errno, "cannot list %s: %m", path);
		*ret_names = NULL;
		*ret_n = 0;
		return 0;
	}
	names = calloc((size_t)count + 1, sizeof(*names));
	for (i = 0; i < count; i++) {
		if (names && (size_t)snprintf(conf, sizeof(conf), "%s/%s/vm.conf", path,
					      entries[i]->d_name) < sizeof(conf) &&
		    access(conf, F_OK) == 0) {
			names[n] = strdup(entries[i]->d_name);
			if (names[n])
				n++;
		}
		free(entries[i]);
	}
	free(entries);
	if (!names)
		return ctl_error_errno(-ENOMEM, "out of memory");
	*ret_names = names;
	*ret_n = n;
	return 0;
}

void vm_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
