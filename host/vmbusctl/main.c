// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * main.c - vmbusctl: manage openvmbus VMs. Global options, then one
 * subcommand from the table below; each lives in its own file.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "vmbus/version.h"

struct ctl_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct ctl_command ctl_commands[] = {
	{ "create", cmd_create, "define a new VM" },
	{ "start", cmd_start, "start a VM and wait for its guest to connect the bus" },
	{ "stop", cmd_stop, "power a VM down (or kill it) and wait for it to end" },
	{ "shutdown", cmd_shutdown, "ask the guest to power off or reboot cleanly" },
	{ "pause", cmd_pause, "stop a running VM's virtual CPUs" },
	{ "resume", cmd_resume, "let a paused VM run again" },
	{ "status", cmd_status, "show the state of one VM or of all VMs" },
	{ "list", cmd_list, "list the defined VMs" },
	{ "channels", cmd_channels, "list a running VM's VMBus channels" },
	{ "console", cmd_console, "attach to a VM's serial console" },
	{ "integration", cmd_integration, "list, enable or disable integration services" },
	{ "timesync", cmd_timesync, "show or force the guest's clock synchronisation" },
	{ "kvp", cmd_kvp, "list, read, set or delete key-value pairs shared with the guest" },
	{ "disk", cmd_disk, "list or hot-remove a running VM's synthetic disks" },
	{ "quiesce", cmd_quiesce, "freeze or thaw the guest's filesystems by hand" },
	{ "backup", cmd_backup, "back up a running VM's disks (live, verified, incremental)" },
	{ "restore", cmd_restore, "create a VM from a backup" },
	{ "remove", cmd_remove, "delete a stopped VM's definition and logs" },
	{ NULL, NULL, NULL },
};

static void ctl_usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "Usage: vmbusctl [--dir DIR] COMMAND [ARGS...]\n"
		"Manage openvmbus VMs.\n\nCommands:\n");
	for (i = 0; ctl_commands[i].name; i++)
		fprintf(f, "  %-12s %s\n", ctl_commands[i].name, ctl_commands[i].help);
	fprintf(f, "  %-12s %s\n", "help", "this list, or 'help COMMAND' for a command's options");
	fprintf(f, "\nOptions (before or after the command):\n"
		"  --dir DIR    the state directory (default /var/lib/openvmbus for root,\n"
		"               else $XDG_STATE_HOME/openvmbus or ~/.local/state/openvmbus)\n"
		"  --version    print the version\n"
		"  --help       this text\n\n"
		"Exit status: 0 success, 1 failure, 2 bad command line.\n");
}

static const struct ctl_command *ctl_command_find(const char *name)
{
	unsigned int i;

	for (i = 0; ctl_commands[i].name; i++)
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	return NULL;
}

static int ctl_exit_status(int r)
{
	if (r == -CTL_EUSAGE)
		return CTL_EXIT_USAGE;
	return r < 0 ? CTL_EXIT_FAILURE : 0;
}

/* `vmbusctl help [COMMAND]` */
static int ctl_help(int argc, char **argv)
{
	const struct ctl_command *cmd;
	char *help_argv[] = { NULL, "--help", NULL };

	if (argc < 2) {
		ctl_usage(stdout);
		return 0;
	}
	cmd = ctl_command_find(argv[1]);
	if (!cmd) {
		ctl_message("unknown command '%s' (see 'vmbusctl help')", argv[1]);
		return CTL_EXIT_USAGE;
	}
	help_argv[0] = (char *)cmd->name;
	optind = 0;
	return ctl_exit_status(cmd->fn(2, help_argv));
}

int main(int argc, char **argv)
{
	const struct ctl_command *cmd;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--version") == 0) {
			printf("vmbusctl (openvmbus) %s\n", OPENVMBUS_VERSION);
			return 0;
		} else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			ctl_usage(stdout);
			return 0;
		} else if (strncmp(arg, "--dir=", 6) == 0) {
			if (ctl_state_dir_set(arg + 6) < 0)
				return CTL_EXIT_USAGE;
		} else if (strcmp(arg, "--dir") == 0) {
			if (i + 1 >= argc) {
				ctl_message("option '--dir' needs a value (see 'vmbusctl --help')");
				return CTL_EXIT_USAGE;
			}
			if (ctl_state_dir_set(argv[++i]) < 0)
				return CTL_EXIT_USAGE;
		} else {
			ctl_message("unknown option '%s' (see 'vmbusctl --help')", arg);
			return CTL_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0)
		return ctl_help(argc - i, argv + i);
	cmd = ctl_command_find(argv[i]);
	if (!cmd) {
		ctl_message("unknown command '%s' (see 'vmbusctl help')", argv[i]);
		return CTL_EXIT_USAGE;
	}
	optind = 0;
	return ctl_exit_status(cmd->fn(argc - i, argv + i));
}
