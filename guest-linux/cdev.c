// SPDX-License-Identifier: GPL-2.0
/*
 * cdev.c - openvmbus_uchan.ko, the character-device bridge for services
 * run in userspace (classes flagged VMBUS_CLASS_FLAG_USERSPACE in
 * vmbus/classes.h): each such device gets /dev/openvmbus/<class name>.
 *
 * One opener at a time (-EBUSY). read() returns exactly one in-band packet
 * payload (padded to 8 bytes by the ring) and never truncates: a buffer too
 * small gets -EMSGSIZE and the packet stays. write() sends one packet.
 * poll() reports EPOLLIN / EPOLLOUT; O_NONBLOCK gives -EAGAIN. Once the
 * host rescinds the channel (or the bus goes), reads and writes return
 * -ENODEV and poll reports EPOLLHUP: the daemon closes the file and opens
 * the new device node when the service is offered again. While the host
 * worker is not responding, writes return -ENODEV, reads wait and poll
 * reports EPOLLPRI (a daemon holding filesystems frozen thaws on it).
 *
 * Every open of the device starts a new session: the channel is closed and
 * opened again, so the host negotiates the service's version afresh with
 * the new opener (a restarted daemon must not inherit its predecessor's
 * half-finished exchange). Closing the file does the same, so the host sees
 * the service go away and come back. While no file is open, the kernel
 * answers the shutdown service itself (shutdown_fallback.c), after a delay
 * that gives a restarting daemon time to take the channel.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "openvmbus.h"
#include "vmbus/version.h"
#include "shutdown_fallback.h"

static unsigned int fallback_delay_ms = 5000;
module_param(fallback_delay_ms, uint, 0644);
MODULE_PARM_DESC(fallback_delay_ms,
		 "How long the shutdown service waits for a daemon to open it before the kernel "
		 "answers the host itself (default 5000)");

#define UCHAN_RING_BYTES (16 * 1024)	/* each direction */

/*
 * The classes bound here. MODULE_ALIAS needs string literals, so the GUIDs
 * are spelled out; uchan_check_classes() fails the module load unless this
 * list is exactly the USERSPACE classes of vmbus/classes.h.
 */
#define UCHAN_CLASSES(X)							\
	X(VMBUS_CLASS_ECHO,      "6f766d62-0001-4e00-8000-6563686f0001")	\
	X(VMBUS_CLASS_HEARTBEAT, "6f766d62-0002-4e00-8000-686561720001")	\
	X(VMBUS_CLASS_SHUTDOWN,  "6f766d62-0003-4e00-8000-736864770001")	\
	X(VMBUS_CLASS_KVP,       "6f766d62-0005-4e00-8000-6b7670000001")	\
	X(VMBUS_CLASS_BACKUP,    "6f766d62-0006-4e00-8000-626b75700001")

#define UCHAN_ID(guid, str) { .class_id = guid },
static const struct openvmbus_device_id uchan_ids[] = {
	UCHAN_CLASSES(UCHAN_ID)
	{ }
};

#define UCHAN_ID_STRING(guid, str) str,
static const char *const uchan_id_strings[] = { UCHAN_CLASSES(UCHAN_ID_STRING) };

#define UCHAN_ALIAS(guid, str) MODULE_ALIAS("openvmbus:" str);
UCHAN_CLASSES(UCHAN_ALIAS)

enum {
	UCHAN_OPEN,		/* a file is open */
	UCHAN_DEAD,		/* the device is gone */
};

struct uchan {
	struct kref kref;		/* the bound device, and the open file */
	struct openvmbus_device *dev;	/* referenced */
	struct openvmbus_channel *ch;
	struct miscdevice misc;
	char name[32];			/* "openvmbus/<class name>" */
	wait_queue_head_t wq;
	atomic_t events;		/* channel callbacks seen */
	unsigned long flags;
	struct mutex rx_mutex;
	struct mutex tx_mutex;
	void *rx_buf;
	void *tx_buf;
	u32 rx_len;			/* largest packet body the host can send */
	u32 tx_len;			/* largest payload we can send */
	u32 want_write;			/* last write that found the ring full */
	bool ch_open;			/* the channel is open; changes with both mutexes held */
	bool kernel_fallback;		/* the kernel serves the class while no file is open */
	struct delayed_work fallback_work;
};

static void uchan_free(struct kref *kref)
{
	struct uchan *uc = container_of(kref, struct uchan, kref);

	kvfree(uc->tx_buf);
	kvfree(uc->rx_buf);
	put_device(&uc->dev->dev);
	kfree(uc);
}

static bool uchan_dead(const struct uchan *uc)
{
	return test_bit(UCHAN_DEAD, &uc->flags);
}

static void uchan_fallback_schedule(struct uchan *uc, unsigned long delay)
{
	if (uc->kernel_fallback && !test_bit(UCHAN_OPEN, &uc->flags) && !uchan_dead(uc))
		mod_delayed_work(system_wq, &uc->fallback_work, delay);
}

/* Channel callback (softirq): wake readers, writers and pollers. */
static void uchan_event(void *ctx)
{
	struct uchan *uc = ctx;

	atomic_inc(&uc->events);
	wake_up_interruptible(&uc->wq);
	/* Not mod_: a pending delay (waiting for a daemon) must not be cut short. */
	if (uc->kernel_fallback && !test_bit(UCHAN_OPEN, &uc->flags) && !uchan_dead(uc))
		queue_delayed_work(system_wq, &uc->fallback_work, 0);
}

/*
 * Close the channel (if open) and open it again: the host starts the
 * service's session over. Both mutexes held. -ENODEV and friends leave the
 * channel closed; the next open of the file tries again.
 */
static int uchan_session_restart(struct uchan *uc)
{
	int ret;

	if (uc->ch_open)
		openvmbus_channel_close(uc->ch);
	uc->ch_open = false;
	ret = openvmbus_channel_open(uc->ch, UCHAN_RING_BYTES, UCHAN_RING_BYTES, uchan_event, uc);
	if (ret)
		dev_warn_ratelimited(&uc->dev->dev, "cannot reopen the channel: %d\n", ret);
	else
		uc->ch_open = true;
	atomic_inc(&uc->events);
	wake_up_interruptible(&uc->wq);
	return ret;
}

static void uchan_lock(struct uchan *uc)
{
	mutex_lock(&uc->rx_mutex);
	mutex_lock(&uc->tx_mutex);
}

static void uchan_unlock(struct uchan *uc)
{
	mutex_unlock(&uc->tx_mutex);
	mutex_unlock(&uc->rx_mutex);
}

/* No file is open: the kernel reads and answers the service itself. */
static void uchan_fallback_fn(struct work_struct *work)
{
	struct uchan *uc = container_of(to_delayed_work(work), struct uchan, fallback_work);
	struct openvmbus_packet_info info;

	uchan_lock(uc);
	while (uc->ch_open && !uchan_dead(uc) && !test_bit(UCHAN_OPEN, &uc->flags) &&
	       openvmbus_channel_recv(uc->ch, uc->rx_buf, uc->rx_len, &info) == 0) {
		if (info.type == VMBUS_PACKET_INBAND)
			uchan_shutdown_fallback_message(uc->ch, &uc->dev->dev, uc->rx_buf, info.len);
	}
	uchan_unlock(uc);
}

/* One in-band packet to userspace; rx_mutex held. */
static ssize_t uchan_read_packet(struct uchan *uc, char __user *ubuf, size_t count)
{
	u32 len = min_t(size_t, count, uc->rx_len);
	struct openvmbus_packet_info info;
	int ret;

	for (;;) {
		if (uchan_dead(uc) || !uc->ch_open)
			return -ENODEV;
		ret = openvmbus_channel_recv(uc->ch, uc->rx_buf, len, &info);
		if (ret == -ENOBUFS)
			return -EMSGSIZE;
		if (ret)
			return ret;
		if (info.type == VMBUS_PACKET_INBAND)
			break;
		dev_warn_ratelimited(&uc->dev->dev, "packet of type %u dropped\n", info.type);
	}
	if (copy_to_user(ubuf, uc->rx_buf, info.len))
		return -EFAULT;
	return info.len;
}

static ssize_t uchan_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	struct uchan *uc = file->private_data;
	ssize_t ret;

	for (;;) {
		/* Sampled before looking, so a packet arriving after the look is not missed. */
		int events = atomic_read(&uc->events);

		if (mutex_lock_interruptible(&uc->rx_mutex))
			return -ERESTARTSYS;
		ret = uchan_read_packet(uc, ubuf, count);
		mutex_unlock(&uc->rx_mutex);
		if (ret != -EAGAIN || (file->f_flags & O_NONBLOCK))
			return ret;
		if (wait_event_interruptible(uc->wq, atomic_read(&uc->events) != events ||
					     uchan_dead(uc)))
			return -ERESTARTSYS;
	}
}

static ssize_t uchan_write(struct file *file, const char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	struct uchan *uc = file->private_data;
	int ret;

	if (!count)
		return 0;
	if (count > uc->tx_len)
		return -EMSGSIZE;
	if (mutex_lock_interruptible(&uc->tx_mutex))
		return -ERESTARTSYS;
	if (copy_from_user(uc->tx_buf, ubuf, count)) {
		ret = -EFAULT;
		goto out;
	}
	for (;;) {
		int events = atomic_read(&uc->events);

		ret = uchan_dead(uc) || !uc->ch_open ? -ENODEV :
		      openvmbus_channel_send(uc->ch, uc->tx_buf, count, 0, 0);
		if (ret != -EAGAIN)
			break;
		WRITE_ONCE(uc->want_write, count);
		if (file->f_flags & O_NONBLOCK)
			break;
		/* The send asked the host to signal once there is room. */
		ret = wait_event_interruptible(uc->wq, atomic_read(&uc->events) != events ||
					       uchan_dead(uc));
		if (ret)
			break;
	}
	if (!ret)
		WRITE_ONCE(uc->want_write, 0);
out:
	mutex_unlock(&uc->tx_mutex);
	return ret ? ret : count;
}

static __poll_t uchan_poll(struct file *file, poll_table *wait)
{
	struct uchan *uc = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &uc->wq, wait);
	/* The rx mutex keeps the rings from being freed under us (see remove). */
	mutex_lock(&uc->rx_mutex);
	if (uchan_dead(uc) || !uc->ch_open || openvmbus_channel_is_rescinded(uc->ch)) {
		mask = EPOLLERR | EPOLLHUP;
		goto out;
	}
	if (openvmbus_channel_recv_ready(uc->ch))
		mask |= EPOLLIN | EPOLLRDNORM;
	/* Pollers are woken at the change: the bus runs every callback then. */
	if (!openvmbus_channel_host_responding(uc->ch))
		mask |= EPOLLPRI;
	/* Room for the write that last failed, so poll and write agree. */
	if (openvmbus_channel_send_ready(uc->ch, max(READ_ONCE(uc->want_write), 1u)))
		mask |= EPOLLOUT | EPOLLWRNORM;
out:
	mutex_unlock(&uc->rx_mutex);
	return mask;
}

static int uchan_open(struct inode *inode, struct file *file)
{
	/* misc_open() set private_data; misc_deregister() waits for us. */
	struct uchan *uc = container_of(file->private_data, struct uchan, misc);
	int ret;

	if (uchan_dead(uc))
		return -ENODEV;
	if (test_and_set_bit(UCHAN_OPEN, &uc->flags))
		return -EBUSY;
	uchan_lock(uc);
	ret = uchan_dead(uc) ? -ENODEV : uchan_session_restart(uc);
	uchan_unlock(uc);
	if (ret) {
		clear_bit(UCHAN_OPEN, &uc->flags);
		uchan_fallback_schedule(uc, msecs_to_jiffies(fallback_delay_ms));
		return ret;
	}
	kref_get(&uc->kref);
	uc->want_write = 0;
	file->private_data = uc;
	return stream_open(inode, file);
}

static int uchan_release(struct inode *inode, struct file *file)
{
	struct uchan *uc = file->private_data;

	uchan_lock(uc);
	if (!uchan_dead(uc))
		uchan_session_restart(uc);
	uchan_unlock(uc);
	clear_bit(UCHAN_OPEN, &uc->flags);
	uchan_fallback_schedule(uc, msecs_to_jiffies(fallback_delay_ms));
	kref_put(&uc->kref, uchan_free);
	return 0;
}

static const struct file_operations uchan_fops = {
	.owner		= THIS_MODULE,
	.open		= uchan_open,
	.release	= uchan_release,
	.read		= uchan_read,
	.write		= uchan_write,
	.poll		= uchan_poll,
};

static int uchan_probe(struct openvmbus_device *dev, const struct openvmbus_device_id *id)
{
	const struct vmbus_class_info *info = dev->class_info;
	struct uchan *uc;
	int ret;

	if (!info || !(info->flags & VMBUS_CLASS_FLAG_USERSPACE))
		return -ENODEV;
	uc = kzalloc(sizeof(*uc), GFP_KERNEL);
	if (!uc)
		return -ENOMEM;
	kref_init(&uc->kref);
	get_device(&dev->dev);
	uc->dev = dev;
	uc->ch = dev->channel;
	init_waitqueue_head(&uc->wq);
	atomic_set(&uc->events, 0);
	mutex_init(&uc->rx_mutex);
	mutex_init(&uc->tx_mutex);
	INIT_DELAYED_WORK(&uc->fallback_work, uchan_fallback_fn);
	snprintf(uc->name, sizeof(uc->name), "openvmbus/%s", info->name);

	uc->kernel_fallback = strcmp(info->name, "shutdown") == 0;
	ret = openvmbus_channel_open(uc->ch, UCHAN_RING_BYTES, UCHAN_RING_BYTES, uchan_event, uc);
	if (ret) {
		dev_err(&dev->dev, "cannot open channel: %d\n", ret);
		goto err_open;
	}
	/* The sizes are the open channel's; reopening keeps the same ring sizes. */
	uc->rx_len = openvmbus_channel_max_recv(uc->ch);
	uc->tx_len = openvmbus_channel_max_send(uc->ch);
	uc->rx_buf = kvmalloc(uc->rx_len, GFP_KERNEL);
	uc->tx_buf = kvmalloc(uc->tx_len, GFP_KERNEL);
	if (!uc->rx_buf || !uc->tx_buf) {
		ret = -ENOMEM;
		goto err_bufs;
	}
	/* Only now may the fallback read (its work checks ch_open). */
	uc->ch_open = true;
	/* The host's first message may have come before ch_open was set. */
	uchan_fallback_schedule(uc, 0);
	uc->misc.minor = MISC_DYNAMIC_MINOR;
	uc->misc.name = uc->name;
	uc->misc.fops = &uchan_fops;
	uc->misc.parent = &dev->dev;
	uc->misc.mode = 0600;
	dev_set_drvdata(&dev->dev, uc);
	ret = misc_register(&uc->misc);
	if (ret) {
		dev_err(&dev->dev, "cannot create /dev/%s: %d\n", uc->name, ret);
		goto err_misc;
	}
	return 0;

err_misc:
	dev_set_drvdata(&dev->dev, NULL);
err_bufs:
	set_bit(UCHAN_DEAD, &uc->flags);
	cancel_delayed_work_sync(&uc->fallback_work);
	openvmbus_channel_close(uc->ch);
err_open:
	kref_put(&uc->kref, uchan_free);
	return ret;
}

static void uchan_remove(struct openvmbus_device *dev)
{
	struct uchan *uc = dev_get_drvdata(&dev->dev);

	set_bit(UCHAN_DEAD, &uc->flags);
	wake_up_interruptible_all(&uc->wq);
	misc_deregister(&uc->misc);
	cancel_delayed_work_sync(&uc->fallback_work);
	/* Wait for reads and writes in progress; later ones see UCHAN_DEAD. */
	uchan_lock(uc);
	if (uc->ch_open)
		openvmbus_channel_close(uc->ch);
	uc->ch_open = false;
	uchan_unlock(uc);
	/* A callback that ran before the close may have queued it again. */
	cancel_delayed_work_sync(&uc->fallback_work);
	dev_set_drvdata(&dev->dev, NULL);
	kref_put(&uc->kref, uchan_free);
}

static struct openvmbus_driver uchan_driver = {
	.name		= "openvmbus_uchan",
	.id_table	= uchan_ids,
	.probe		= uchan_probe,
	.remove		= uchan_remove,
};

#define UCHAN_CLASS_INFO(n, g, f) { .name = n, .guid = g, .flags = f },
static const struct vmbus_class_info uchan_all_classes[] __initconst = {
	VMBUS_CLASS_TABLE(UCHAN_CLASS_INFO)
};

static bool __init uchan_binds(const struct vmbus_guid *g)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(uchan_id_strings); i++)
		if (!memcmp(uchan_ids[i].class_id.b, g->b, sizeof(g->b)))
			return true;
	return false;
}

/* The alias list must be exactly the USERSPACE classes, spelled correctly. */
static int __init uchan_check_classes(void)
{
	char s[VMBUS_GUID_STRLEN + 1];
	unsigned int i, userspace = 0;

	for (i = 0; i < ARRAY_SIZE(uchan_id_strings); i++) {
		snprintf(s, sizeof(s), "%pUb", uchan_ids[i].class_id.b);
		if (strcmp(s, uchan_id_strings[i])) {
			pr_err("alias %s does not match class %s\n", uchan_id_strings[i], s);
			return -EINVAL;
		}
	}
	for (i = 0; i < ARRAY_SIZE(uchan_all_classes); i++) {
		if (!(uchan_all_classes[i].flags & VMBUS_CLASS_FLAG_USERSPACE))
			continue;
		userspace++;
		if (!uchan_binds(&uchan_all_classes[i].guid)) {
			pr_err("userspace class %s missing from UCHAN_CLASSES\n",
			       uchan_all_classes[i].name);
			return -EINVAL;
		}
	}
	if (userspace != ARRAY_SIZE(uchan_id_strings)) {
		pr_err("UCHAN_CLASSES lists classes that are not userspace classes\n");
		return -EINVAL;
	}
	return 0;
}

static int __init uchan_init(void)
{
	int ret;

	ret = uchan_check_classes();
	if (ret)
		return ret;
	return openvmbus_driver_register(&uchan_driver);
}

static void __exit uchan_exit(void)
{
	openvmbus_driver_unregister(&uchan_driver);
	uchan_shutdown_fallback_exit();
}

module_init(uchan_init);
module_exit(uchan_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("openvmbus character devices for userspace services");
MODULE_VERSION(OPENVMBUS_VERSION);
