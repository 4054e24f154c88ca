// SPDX-License-Identifier: GPL-2.0
/*
 * pci.h - the PCI driver for QEMU's ivshmem-doorbell device carrying the bus.
 */
#ifndef OPENVMBUS_PCI_H
#define OPENVMBUS_PCI_H

int openvmbus_pci_register(void);
void openvmbus_pci_unregister(void);

#endif /* OPENVMBUS_PCI_H */
