// SPDX-License-Identifier: GPL-2.0
/*
 * bus.c - the "openvmbus" bus type.
 *
 * Each primary channel offered by the host becomes a device named by its
 * instance GUID, child of the PCI device. Drivers match on the class GUID;
 * the uevent carries MODALIAS=openvmbus:<class GUID> so that a driver
 * declaring MODULE_ALIAS("openvmbus:<class GUID>") is loaded by udev.
 *
 * Sub-channels are not devices: they are kept on their primary's list and
 * handed to the bound driver's sc_offer. The list and the sc_handed flags
 * change under the device lock (serialising against probe and remove) and
 * the primary's sc_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "bus.h"
#include "compat.h"
#include "vmbus/classes.h"

static inline struct openvmbus_driver *to_openvmbus_driver(const struct device_driver *drv)
{
	return container_of(drv, struct openvmbus_driver, driver);
}

/* ------------------------------------------------------------ attributes */

static ssize_t guid_show(const struct vmbus_guid *g, char *buf)
{
	char s[VMBUS_GUID_STRLEN + 1];

	vmbus_guid_format(g, s);
	return sysfs_emit(buf, "%s\n", s);
}

static ssize_t class_id_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return guid_show(&to_openvmbus_device(dev)->class_id, buf);
}
static DEVICE_ATTR_RO(class_id);

static ssize_t instance_id_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return guid_show(&to_openvmbus_device(dev)->instance_id, buf);
}
static DEVICE_ATTR_RO(instance_id);

static ssize_t class_name_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	const struct vmbus_class_info *info = to_openvmbus_device(dev)->class_info;

	return sysfs_emit(buf, "%s\n", info ? info->name : "unknown");
}
static DEVICE_ATTR_RO(class_name);

static ssize_t modalias_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	char s[VMBUS_GUID_STRLEN + 1];

	vmbus_guid_format(&to_openvmbus_device(dev)->class_id, s);
	return sysfs_emit(buf, "openvmbus:%s\n", s);
}
static DEVICE_ATTR_RO(modalias);

static ssize_t channel_id_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", openvmbus_channel_id(to_openvmbus_device(dev)->channel));
}
static DEVICE_ATTR_RO(channel_id);

static ssize_t state_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  openvmbus_channel_state_name(to_openvmbus_device(dev)->channel));
}
static DEVICE_ATTR_RO(state);

static ssize_t target_cpu_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  openvmbus_channel_target_cpu(to_openvmbus_device(dev)->channel));
}

static ssize_t target_cpu_store(struct device *dev, struct device_attribute *attr,
				const char *buf, size_t count)
{
	unsigned int cpu;
	int ret;

	ret = kstrtouint(buf, 10, &cpu);
	if (ret)
		return ret;
	ret = openvmbus_channel_set_target_cpu(to_openvmbus_device(dev)->channel, cpu);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(target_cpu);

static ssize_t vector_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", openvmbus_channel_vector(to_openvmbus_device(dev)->channel));
}
static DEVICE_ATTR_RO(vector);

/* "SENT RECEIVED": signals to the host, and host signals handled. */
static ssize_t signals_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct openvmbus_channel *ch = to_openvmbus_device(dev)->channel;

	return sysfs_emit(buf, "%llu %llu\n", openvmbus_channel_signals_sent(ch),
			  openvmbus_channel_events(ch));
}
static DEVICE_ATTR_RO(signals);

static struct attribute *bus_dev_attrs[] = {
	&dev_attr_class_id.attr,
	&dev_attr_instance_id.attr,
	&dev_attr_class_name.attr,
	&dev_attr_modalias.attr,
	&dev_attr_channel_id.attr,
	&dev_attr_state.attr,
	&dev_attr_target_cpu.attr,
	&dev_attr_vector.attr,
	&dev_attr_signals.attr,
	NULL,
};
ATTRIBUTE_GROUPS(bus_dev);

/* -------------------------------------------------------------- bus type */

static const struct openvmbus_device_id *bus_match_id(const struct openvmbus_driver *drv,
						      const struct vmbus_guid *class_id)
{
	const struct openvmbus_device_id *id;

	for (id = drv->id_table; id && !vmbus_guid_is_null(&id->class_id); id++)
		if (vmbus_guid_equal(&id->class_id, class_id))
			return id;
	return NULL;
}

static int bus_match(struct device *dev, OPENVMBUS_MATCH_DRIVER *drv)
{
	return bus_match_id(to_openvmbus_driver(drv), &to_openvmbus_device(dev)->class_id) != NULL;
}

static int bus_uevent(OPENVMBUS_UEVENT_DEVICE *dev, struct kobj_uevent_env *env)
{
	const struct openvmbus_device *odev = container_of(dev, struct openvmbus_device, dev);
	char s[VMBUS_GUID_STRLEN + 1];

	vmbus_guid_format(&odev->class_id, s);
	return add_uevent_var(env, "MODALIAS=openvmbus:%s", s);
}

/* Device lock held. */
static void bus_offer_subchannels(struct openvmbus_device *odev, struct openvmbus_driver *drv)
{
	struct openvmbus_channel *primary = odev->channel, *sc;

	if (!drv->sc_offer)
		return;
	mutex_lock(&primary->sc_lock);
	list_for_each_entry(sc, &primary->subchannels, sc_node) {
		if (sc->sc_handed || openvmbus_channel_is_rescinded(sc))
			continue;
		sc->sc_handed = true;
		drv->sc_offer(odev, sc);
	}
	mutex_unlock(&primary->sc_lock);
}

/* Device lock held: the driver is gone (or failed to probe), close what it left open. */
static void bus_close_leftovers(struct openvmbus_device *odev)
{
	struct openvmbus_channel *primary = odev->channel, *sc;

	mutex_lock(&primary->sc_lock);
	list_for_each_entry(sc, &primary->subchannels, sc_node) {
		sc->sc_handed = false;
		if (openvmbus_channel_is_open(sc)) {
			dev_warn_ratelimited(&odev->dev, "driver left sub-channel %u open\n", sc->id);
			openvmbus_channel_close(sc);
		}
	}
	mutex_unlock(&primary->sc_lock);
	if (openvmbus_channel_is_open(primary)) {
		dev_warn_ratelimited(&odev->dev, "driver left channel %u open\n", primary->id);
		openvmbus_channel_close(primary);
	}
}

static int bus_probe(struct device *dev)
{
	struct openvmbus_device *odev = to_openvmbus_device(dev);
	struct openvmbus_driver *drv = to_openvmbus_driver(dev->driver);
	const struct openvmbus_device_id *id = bus_match_id(drv, &odev->class_id);
	int ret;

	if (!id)
		return -ENODEV;
	ret = drv->probe(odev, id);
	if (ret) {
		bus_close_leftovers(odev);
		return ret;
	}
	bus_offer_subchannels(odev, drv);
	return 0;
}

static void bus_remove(struct device *dev)
{
	struct openvmbus_device *odev = to_openvmbus_device(dev);
	struct openvmbus_driver *drv = to_openvmbus_driver(dev->driver);

	if (drv->remove)
		drv->remove(odev);
	bus_close_leftovers(odev);
}

static void bus_shutdown(struct device *dev)
{
	struct openvmbus_driver *drv;

	if (!dev->driver)
		return;
	drv = to_openvmbus_driver(dev->driver);
	if (drv->shutdown)
		drv->shutdown(to_openvmbus_device(dev));
}

static struct bus_type openvmbus_bus = {
	.name		= "openvmbus",
	.match		= bus_match,
	.uevent		= bus_uevent,
	.probe		= bus_probe,
	.remove		= bus_remove,
	.shutdown	= bus_shutdown,
	.dev_groups	= bus_dev_groups,
};

int openvmbus_bus_register(void)
{
	return bus_register(&openvmbus_bus);
}

void openvmbus_bus_unregister(void)
{
	bus_unregister(&openvmbus_bus);
}

int __openvmbus_driver_register(struct openvmbus_driver *drv, struct module *owner,
				const char *mod_name)
{
	if (!drv->name || !drv->probe || !drv->id_table || !drv->sc_offer != !drv->sc_rescind)
		return -EINVAL;
	drv->driver.name = drv->name;
	drv->driver.bus = &openvmbus_bus;
	drv->driver.owner = owner;
	drv->driver.mod_name = mod_name;
	return driver_register(&drv->driver);
}
EXPORT_SYMBOL_GPL(__openvmbus_driver_register);

void openvmbus_driver_unregister(struct openvmbus_driver *drv)
{
	driver_unregister(&drv->driver);
}
EXPORT_SYMBOL_GPL(openvmbus_driver_unregister);

/* --------------------------------------------------------------- devices */

static void bus_device_release(struct device *dev)
{
	struct openvmbus_device *odev = to_openvmbus_device(dev);

	openvmbus_channel_put(odev->channel);
	kfree(odev);
}

int openvmbus_device_add(struct openvmbus_channel *primary)
{
	char name[VMBUS_GUID_STRLEN + 1];
	struct openvmbus_device *odev;
	int ret;

	odev = kzalloc(sizeof(*odev), GFP_KERNEL);
	if (!odev)
		return -ENOMEM;
	odev->class_id = primary->offer.class_id;
	odev->instance_id = primary->offer.instance_id;
	odev->class_info = vmbus_class_by_guid(&odev->class_id);
	openvmbus_channel_get(primary);
	odev->channel = primary;
	device_initialize(&odev->dev);
	odev->dev.bus = &openvmbus_bus;
	odev->dev.parent = &primary->conn->pdev->dev;
	odev->dev.release = bus_device_release;
	vmbus_guid_format(&odev->instance_id, name);
	ret = dev_set_name(&odev->dev, "%s", name);
	if (ret)
		goto err_put;
	primary->device = odev;
	ret = device_add(&odev->dev);
	if (ret) {
		primary->device = NULL;
		goto err_put;
	}
	return 0;

err_put:
	put_device(&odev->dev);
	return ret;
}

void openvmbus_device_remove(struct openvmbus_channel *primary)
{
	struct openvmbus_device *odev = primary->device;

	if (!odev)
		return;
	device_unregister(&odev->dev);
	primary->device = NULL;
}

void openvmbus_device_sc_offer(struct openvmbus_channel *sc)
{
	struct openvmbus_channel *primary = sc->primary;
	struct openvmbus_device *odev = primary->device;
	struct openvmbus_driver *drv = NULL;

	if (odev)
		device_lock(&odev->dev);
	mutex_lock(&primary->sc_lock);
	openvmbus_channel_get(sc);
	list_add_tail(&sc->sc_node, &primary->subchannels);
	if (odev && odev->dev.driver)
		drv = to_openvmbus_driver(odev->dev.driver);
	if (drv && drv->sc_offer) {
		sc->sc_handed = true;
		drv->sc_offer(odev, sc);
	}
	mutex_unlock(&primary->sc_lock);
	if (odev)
		device_unlock(&odev->dev);
}

/* Take sc off its primary's list; returns whether it was handed to the driver. */
static bool bus_sc_unlist(struct openvmbus_channel *sc)
{
	struct openvmbus_channel *primary = sc->primary;
	bool listed, handed;

	mutex_lock(&primary->sc_lock);
	listed = !list_empty(&sc->sc_node);
	list_del_init(&sc->sc_node);
	handed = sc->sc_handed;
	sc->sc_handed = false;
	mutex_unlock(&primary->sc_lock);
	if (listed)
		openvmbus_channel_put(sc);
	return handed;
}

void openvmbus_device_sc_rescind(struct openvmbus_channel *sc)
{
	struct openvmbus_device *odev = sc->primary->device;

	if (odev)
		device_lock(&odev->dev);
	/* sc_handed is only set while a driver with sc_offer (so sc_rescind) is bound. */
	if (bus_sc_unlist(sc) && odev && odev->dev.driver)
		to_openvmbus_driver(odev->dev.driver)->sc_rescind(odev, sc);
	if (odev)
		device_unlock(&odev->dev);
}

void openvmbus_device_sc_forget(struct openvmbus_channel *sc)
{
	bus_sc_unlist(sc);
}
