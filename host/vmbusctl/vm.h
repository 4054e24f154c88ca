/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * vm.h - one VM as vmbusctl sees it: its directory under the state
 * directory, its definition, and whether its worker and QEMU are alive.
 *
 *   STATE/vms/NAME/vm.conf       definition (host/config.h)
 *   STATE/vms/NAME/run/          the worker's run directory
 *   STATE/vms/NAME/worker.log    the worker's stderr, appended per start
 *   STATE/accel                  the KVM probe cache (--accel-cache)
 */
#ifndef HOST_VMBUSCTL_VM_H
#define HOST_VMBUSCTL_VM_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "host/config.h"
#include "host/json.h"

struct vm {
	char name[CONFIG_NAME_MAX];
	char dir[PATH_MAX];		/* STATE/vms/NAME */
	char run_dir[PATH_MAX];		/* STATE/vms/NAME/run */
	struct vm_config cfg;
};

enum vm_state {
	VM_STOPPED,
	VM_RUNNING,		/* the worker answers on its control socket */
	VM_UNRESPONSIVE,	/* the worker lives but does not answer (yet) */
	VM_ORPHANED,		/* the worker is gone, its QEMU is not */
};

struct vm_probe {
	enum vm_state state;
	pid_t worker_pid, qemu_pid;	/* 0 when not alive */
	struct json_value *status;	/* the worker's status reply when VM_RUNNING */
	char error[256];		/* why the worker did not answer (VM_UNRESPONSIVE) */
};

/* Check name and set up paths; does not look at the disk. */
int vm_init(struct vm *vm, const char *name);
/* vm_init + check the VM is defined ("no VM named ..."); the definition is not read. */
int vm_find(struct vm *vm, const char *name);
/* vm_find + read the definition. */
int vm_open(struct vm *vm, const char *name);
/* vm_open the subcommand's one positional argument (what follows its options). */
int vm_open_argument(struct vm *vm, int argc, char **argv);
void vm_done(struct vm *vm);
static inline void vm_donep(struct vm *vm) { vm_done(vm); }

/* Path of a file in the VM's directory / run directory. */
int vm_path(const struct vm *vm, const char *file, char *buf, size_t n);
int vm_run_path(const struct vm *vm, const char *file, char *buf, size_t n);
/* Fail with a clear message when the run directory is too long for socket paths. */
int vm_check_socket_paths(const struct vm *vm);

/* Is pid alive and running for this VM (an argument names its run directory)? */
bool vm_pid_is_ours(const struct vm *vm, pid_t pid);
/* The pid in run/NAME if that process is alive and ours, else 0. */
pid_t vm_read_pid(const struct vm *vm, const char *pidfile);

/* Find out what runs; never reports errors itself. */
void vm_probe(const struct vm *vm, struct vm_probe *ret);
void vm_probe_done(struct vm_probe *p);
const char *vm_state_name(enum vm_state state);
/* Report (as an error) that the VM is not running, with what to do about it. */
int vm_not_running_error(const struct vm *vm, const struct vm_probe *p);

/* Names of all defined VMs, sorted; free with vm_list_free. */
int vm_list(char ***ret_names, size_t *ret_n);
void vm_list_free(char **names, size_t n);

#endif
