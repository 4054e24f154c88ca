/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * version.h - the one place the openvmbus release number lives: programs
 * print it, the guest modules carry it as MODULE_VERSION, packaging reads it.
 */
#ifndef VMBUS_VERSION_H
#define VMBUS_VERSION_H

#define OPENVMBUS_VERSION "0.1.0"

#endif
