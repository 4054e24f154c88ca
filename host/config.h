/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * config.h - VM definitions: systemd-style INI files written by
 * `vmbusctl create` and read by the worker.
 *
 *   [VM]
 *   Name=demo
 *   Memory=512M
 *   CPUs=2
 *   Kernel=/boot/vmlinuz-6.1.0-56-amd64
 *   Initrd=/var/lib/openvmbus/demo/initrd.img
 *   Append=console=ttyS0
 *   Disk=/var/lib/openvmbus/demo/root.img
 *   Accel=auto
 *   QemuArgs=-device virtio-rng-pci      (extra QEMU arguments, split on spaces)
 *
 *   [Integration]
 *   Services=heartbeat
 *
 *   [Storage]                            (synthetic disks, named disk0, disk1, ...)
 *   Disk=/var/lib/openvmbus/demo/data.img,serial=DATA0001
 *   Disk=/var/lib/openvmbus/demo/iso.img,readonly
 *
 * [VM] Disk= is the QEMU virtio boot disk; [Storage] Disk= lines (one per
 * disk, in order; the path may not contain a comma) are served by the
 * worker over the bus (host/devices/storage.c).
 */
#ifndef HOST_CONFIG_H
#define HOST_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_MAX_SERVICES 16
#define CONFIG_NAME_MAX 64
#define CONFIG_MAX_DISKS 8
#define CONFIG_SERIAL_MAX 20

struct config_disk {
	char *path;
	bool readonly;
	char serial[CONFIG_SERIAL_MAX + 1];	/* "" : derived from the file */
};

struct vm_config {
	char name[CONFIG_NAME_MAX];
	uint64_t memory;		/* bytes */
	unsigned int cpus;
	char *kernel, *initrd, *append, *disk;
	char *qemu_args;		/* extra QEMU arguments, space-separated */
	char accel[8];			/* auto, kvm, tcg */
	unsigned int nservices;
	char *services[CONFIG_MAX_SERVICES];
	unsigned int ndisks;
	struct config_disk disks[CONFIG_MAX_DISKS];
};

void config_init(struct vm_config *c);
void config_free(struct vm_config *c);
/* Parse a file; on error *ret_line (if set) gets the 1-based line number. */
int config_load(struct vm_config *c, const char *path, unsigned int *ret_line);
int config_save(const struct vm_config *c, const char *path);
/* Check a VM name: 1..63 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
bool config_name_valid(const char *name);
/* "512M", "2G", "1048576K", or bytes; -EINVAL otherwise. */
int config_parse_size(const char *s, uint64_t *ret);
/* "PATH[,readonly][,serial=S]" (S: 1..20 printable ASCII, no comma) into *ret. */
int config_parse_disk(const char *spec, struct config_disk *ret);
bool config_has_service(const struct vm_config *c, const char *name);
int config_set_service(struct vm_config *c, const char *name, bool enabled);

#endif
