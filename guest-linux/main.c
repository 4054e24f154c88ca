// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module init and exit of openvmbus.ko, the guest bus driver:
 * the bus type first (drivers and devices need it), then the PCI driver
 * that creates the devices; torn down in reverse.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

#include "bus.h"
#include "pci.h"
#include "vmbus/control.h"
#include "vmbus/version.h"

static int __init openvmbus_init(void)
{
	int ret;

	ret = openvmbus_bus_register();
	if (ret)
		goto err_bus;
	ret = openvmbus_pci_register();
	if (ret)
		goto err_pci;
	pr_debug("channel protocol %u.%u\n", VMBUS_VERSION_MAJOR(VMBUS_VERSION_CURRENT),
		 VMBUS_VERSION_MINOR(VMBUS_VERSION_CURRENT));
	return 0;

err_pci:
	openvmbus_bus_unregister();
err_bus:
	return ret;
}

static void __exit openvmbus_exit(void)
{
	openvmbus_pci_unregister();
	openvmbus_bus_unregister();
}

module_init(openvmbus_init);
module_exit(openvmbus_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("openvmbus guest bus driver");
MODULE_VERSION(OPENVMBUS_VERSION);
