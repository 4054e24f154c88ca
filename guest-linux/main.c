// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module init and exit of openvmbus.ko, the guest bus driver.
 *
 * The module links the shared channel core (vmbus/); the PCI transport and
 * the bus are registered from here as they land.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/init.h>

#include "vmbus/control.h"

static int __init openvmbus_init(void)
{
	pr_debug("channel protocol %u.%u\n",
		 VMBUS_VERSION_MAJOR(VMBUS_VERSION_CURRENT),
		 VMBUS_VERSION_MINOR(VMBUS_VERSION_CURRENT));
	return 0;
}

static void __exit openvmbus_exit(void)
{
}

module_init(openvmbus_init);
module_exit(openvmbus_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("openvmbus guest bus driver");
MODULE_VERSION("0.1.0");
