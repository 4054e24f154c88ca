// SPDX-License-Identifier: GPL-2.0
/*
 * event.c - MSI-X vectors, event bitmaps and doorbells.
 *
 * Vector 0 is the control vector; vectors 1 .. nvec-1 are spread one per
 * CPU by managed affinity (pre_vectors = 1), and the host raises a
 * channel's events on the vector of the channel's target CPU. The handler
 * only schedules that vector's tasklet, which runs on the same CPU,
 * exchanges each word of the vector's bitmap with zero and runs the
 * callback of every channel whose bit was set.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/cpumask.h>
#include <linux/io.h>
#include <linux/slab.h>

#include "channel.h"
#include "event.h"

void openvmbus_doorbell(struct openvmbus_conn *conn, u32 vector)
{
	iowrite32((VMBUS_HOST_PEER_ID << 16) | vector, conn->regs + VMBUS_IVSHMEM_REG_DOORBELL);
}

void openvmbus_signal_channel(struct openvmbus_conn *conn, u32 channel_id)
{
	set_bit(channel_id, conn->to_host_events);
	/* The flag must be visible before the host is woken to look at it. */
	smp_mb__after_atomic();
	openvmbus_doorbell(conn, VMBUS_VECTOR_TO_HOST_EVENTS);
}

u32 openvmbus_cpu_vector(const struct openvmbus_conn *conn, unsigned int cpu)
{
	if (cpu >= nr_cpu_ids || !conn->cpu_vector[cpu])
		return VMBUS_VECTOR_FIRST_CHANNEL;
	return conn->cpu_vector[cpu];
}

unsigned int openvmbus_next_target_cpu(struct openvmbus_conn *conn)
{
	unsigned int cpu = cpumask_next(conn->rr_cpu, cpu_online_mask);

	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	conn->rr_cpu = cpu;
	return cpu;
}

static void events_run(struct tasklet_struct *t)
{
	struct openvmbus_vector *v = from_tasklet(v, t, tasklet);
	struct openvmbus_conn *conn = v->conn;
	u32 w;

	for (w = 0; w < conn->event_words; w++) {
		u64 bits;

		if (!READ_ONCE(v->bitmap[w]))
			continue;
		bits = xchg(&v->bitmap[w], 0);
		while (bits) {
			unsigned int bit = __ffs64(bits);

			bits &= bits - 1;
			openvmbus_channel_event(conn, w * 64 + bit);
		}
	}
}

static irqreturn_t events_irq(int irq, void *data)
{
	struct openvmbus_vector *v = data;

	tasklet_schedule(&v->tasklet);
	return IRQ_HANDLED;
}

static irqreturn_t events_ctl_irq(int irq, void *data)
{
	struct openvmbus_vector *v = data;

	openvmbus_ctl_irq(v->conn);
	return IRQ_HANDLED;
}

/* The first vector whose affinity holds a CPU interrupts that CPU. */
static void events_map_cpus(struct openvmbus_conn *conn)
{
	unsigned int v, cpu;

	for (v = VMBUS_VECTOR_FIRST_CHANNEL; v < conn->nvec; v++) {
		const struct cpumask *mask = pci_irq_get_affinity(conn->pdev, v);

		if (!mask)
			continue;
		for_each_cpu(cpu, mask)
			if (!conn->cpu_vector[cpu])
				conn->cpu_vector[cpu] = v;
	}
}

static void events_free_irqs(struct openvmbus_conn *conn, unsigned int n)
{
	while (n--) {
		pci_free_irq(conn->pdev, n, &conn->vec[n]);
		tasklet_kill(&conn->vec[n].tasklet);
	}
}

int openvmbus_events_init(struct openvmbus_conn *conn)
{
	struct irq_affinity affd = { .pre_vectors = 1 };
	struct pci_dev *pdev = conn->pdev;
	u32 bitmap_bytes = vmbus_event_bitmap_bytes(conn->layout.max_channels);
	unsigned int max, v;
	int nvec, ret;

	max = min_t(unsigned int, conn->layout.num_vectors, 1 + num_possible_cpus());
	nvec = pci_alloc_irq_vectors_affinity(pdev, 2, max, PCI_IRQ_MSIX | PCI_IRQ_AFFINITY,
					      &affd);
	if (nvec < 0) {
		dev_err(&pdev->dev, "cannot allocate 2..%u MSI-X vectors: %d\n", max, nvec);
		ret = nvec;
		goto err_vectors;
	}
	conn->nvec = nvec;
	conn->vec = kcalloc(nvec, sizeof(*conn->vec), GFP_KERNEL);
	conn->cpu_vector = kcalloc(nr_cpu_ids, sizeof(*conn->cpu_vector), GFP_KERNEL);
	if (!conn->vec || !conn->cpu_vector) {
		ret = -ENOMEM;
		goto err_alloc;
	}
	events_map_cpus(conn);

	for (v = 0; v < conn->nvec; v++) {
		struct openvmbus_vector *vec = &conn->vec[v];

		vec->conn = conn;
		vec->index = v;
		vec->bitmap = (u64 *)(conn->shm + conn->layout.to_guest_events_offset +
				      (size_t)v * bitmap_bytes);
		tasklet_setup(&vec->tasklet, events_run);
		if (v == VMBUS_VECTOR_CONTROL)
			ret = pci_request_irq(pdev, v, events_ctl_irq, NULL, vec, "openvmbus-ctl");
		else
			ret = pci_request_irq(pdev, v, events_irq, NULL, vec, "openvmbus-ev%u", v);
		if (ret) {
			dev_err(&pdev->dev, "cannot request vector %u: %d\n", v, ret);
			goto err_irqs;
		}
	}
	dev_dbg(&pdev->dev, "%u MSI-X vectors\n", conn->nvec);
	return 0;

err_irqs:
	events_free_irqs(conn, v);
err_alloc:
	kfree(conn->cpu_vector);
	kfree(conn->vec);
	conn->cpu_vector = NULL;
	conn->vec = NULL;
	pci_free_irq_vectors(pdev);
err_vectors:
	return ret;
}

void openvmbus_events_exit(struct openvmbus_conn *conn)
{
	events_free_irqs(conn, conn->nvec);
	kfree(conn->cpu_vector);
	kfree(conn->vec);
	conn->cpu_vector = NULL;
	conn->vec = NULL;
	pci_free_irq_vectors(conn->pdev);
}
