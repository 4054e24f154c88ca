// SPDX-License-Identifier: GPL-2.0
/*
 * pci.c - the PCI driver: binds ivshmem-doorbell devices (1af4:1110 rev 1)
 * whose BAR2 carries the openvmbus magic, leaves any other ivshmem user
 * alone, and brings the connection up and down in order.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>

#include "connection.h"
#include "event.h"
#include "liveness.h"
#include "offer.h"
#include "pci.h"
#include "unload.h"

#define OPENVMBUS_BAR_REGS	0
#define OPENVMBUS_BAR_SHM	2

/*
 * Map BAR2 (host RAM: write-back) and copy its layout once it has passed
 * vmbus_bar_header_check(); -ENODEV for a device that is not ours.
 */
static int pci_map_shm(struct pci_dev *pdev, void **ret_shm, struct vmbus_bar_header *ret_layout)
{
	resource_size_t len = pci_resource_len(pdev, OPENVMBUS_BAR_SHM);
	struct device *dev = &pdev->dev;
	void *shm;
	int ret;

	if (!(pci_resource_flags(pdev, OPENVMBUS_BAR_SHM) & IORESOURCE_MEM) ||
	    len < sizeof(*ret_layout) || len > U32_MAX) {
		dev_info(dev, "not an openvmbus device (no usable BAR2)\n");
		return -ENODEV;
	}
	ret = pci_request_region(pdev, OPENVMBUS_BAR_SHM, KBUILD_MODNAME);
	if (ret)
		return ret;
	shm = devm_memremap(dev, pci_resource_start(pdev, OPENVMBUS_BAR_SHM), len, MEMREMAP_WB);
	if (IS_ERR(shm))
		return PTR_ERR(shm);
	if (READ_ONCE(((struct vmbus_bar_header *)shm)->magic) != VMBUS_BAR_MAGIC) {
		dev_info(dev, "not an openvmbus device (no magic in BAR2)\n");
		return -ENODEV;
	}
	/* Check a private copy: the host cannot change what was checked. */
	memcpy(ret_layout, shm, sizeof(*ret_layout));
	ret = vmbus_bar_header_check(ret_layout, len);
	if (ret) {
		dev_err(dev, "invalid openvmbus layout in BAR2 (%pa bytes)\n", &len);
		return ret;
	}
	*ret_shm = shm;
	return 0;
}

static int pci_map_regs(struct pci_dev *pdev, void __iomem **ret_regs)
{
	int ret;

	if (pci_resource_len(pdev, OPENVMBUS_BAR_REGS) < VMBUS_IVSHMEM_REG_DOORBELL + 4) {
		dev_err(&pdev->dev, "BAR0 too small for the ivshmem registers\n");
		return -ENODEV;
	}
	ret = pcim_iomap_regions(pdev, BIT(OPENVMBUS_BAR_REGS), KBUILD_MODNAME);
	if (ret)
		return ret;
	*ret_regs = pcim_iomap_table(pdev)[OPENVMBUS_BAR_REGS];
	return 0;
}

static int openvmbus_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vmbus_bar_header layout;
	struct openvmbus_conn *conn;
	void __iomem *regs;
	void *shm;
	int ret;

	if (pdev->revision != VMBUS_PCI_REVISION) {
		dev_info(&pdev->dev, "not an openvmbus device (revision %u)\n", pdev->revision);
		return -ENODEV;
	}
	/* Managed: undone by devres when probe fails or the device goes. */
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pci_map_shm(pdev, &shm, &layout);
	if (ret)
		return ret;
	ret = pci_map_regs(pdev, &regs);
	if (ret)
		return ret;

	conn = openvmbus_conn_alloc(pdev, regs, shm, &layout);
	if (!conn) {
		ret = -ENOMEM;
		goto err_conn;
	}
	pci_set_drvdata(pdev, conn);
	/* Without bus mastering QEMU drops every MSI-X message. */
	pci_set_master(pdev);
	ret = openvmbus_events_init(conn);
	if (ret)
		goto err_events;
	ret = openvmbus_conn_connect(conn);
	if (ret)
		goto err_connect;
	openvmbus_liveness_start(conn);
	openvmbus_unload_init(conn);
	openvmbus_offers_start(conn);
	return 0;

err_connect:
	openvmbus_events_exit(conn);
err_events:
	pci_clear_master(pdev);
	openvmbus_conn_free(conn);
err_conn:
	return ret;
}

static void openvmbus_pci_remove(struct pci_dev *pdev)
{
	struct openvmbus_conn *conn = pci_get_drvdata(pdev);

	openvmbus_offers_stop(conn);
	openvmbus_unload_exit(conn);
	openvmbus_liveness_stop(conn);
	/* Disconnect; channel objects go once the host has forgotten them. */
	openvmbus_unload(conn);
	openvmbus_offers_free(conn);
	openvmbus_events_exit(conn);
	pci_clear_master(pdev);
	openvmbus_conn_free(conn);
}

/* Power-off, reboot and kexec: the host must stop using our memory. */
static void openvmbus_pci_shutdown(struct pci_dev *pdev)
{
	struct openvmbus_conn *conn = pci_get_drvdata(pdev);

	if (conn)
		openvmbus_unload(conn);
}

static const struct pci_device_id openvmbus_pci_ids[] = {
	{ PCI_DEVICE(VMBUS_PCI_VENDOR, VMBUS_PCI_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, openvmbus_pci_ids);

static struct pci_driver openvmbus_pci_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= openvmbus_pci_ids,
	.probe		= openvmbus_pci_probe,
	.remove		= openvmbus_pci_remove,
	.shutdown	= openvmbus_pci_shutdown,
};

int openvmbus_pci_register(void)
{
	return pci_register_driver(&openvmbus_pci_driver);
}

void openvmbus_pci_unregister(void)
{
	pci_unregister_driver(&openvmbus_pci_driver);
}
