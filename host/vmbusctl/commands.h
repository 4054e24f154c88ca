/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * commands.h - the vmbusctl subcommands, one file each. Each gets its own
 * argv (argv[0] is the subcommand's name) and returns 0, a negative errno
 * it has reported, or -CTL_EUSAGE (see ctl.h).
 */
#ifndef HOST_VMBUSCTL_COMMANDS_H
#define HOST_VMBUSCTL_COMMANDS_H

int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_shutdown(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_channels(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_integration(int argc, char **argv);
int cmd_remove(int argc, char **argv);
int cmd_timesync(int argc, char **argv);
int cmd_kvp(int argc, char **argv);
int cmd_disk(int argc, char **argv);
int cmd_quiesce(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);

#endif
