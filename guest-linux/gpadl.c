// SPDX-License-Identifier: GPL-2.0
/*
 * gpadl.c - GPADLs: buffers described to the host page by page.
 *
 * The bus allocates GPADL buffers itself so that it alone decides when
 * their pages may be reused: only after the host confirmed the teardown
 * (GPADL_TORNDOWN) or forgot everything (UNLOAD_DONE). A buffer whose
 * teardown was never confirmed - the worker died, say - becomes an orphan:
 * freed after a later UNLOAD_DONE, leaked otherwise, never handed back to
 * the allocator while the host might write to it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "channel.h"
#include "gpadl.h"

static void gpadl_fill(const struct openvmbus_gpadl *g, u64 *pfn, u32 first, u32 count)
{
	u32 i;

	for (i = 0; i < count; i++)
		pfn[i] = openvmbus_virt_to_pfn((u8 *)g->buf + (size_t)(first + i) * PAGE_SIZE);
}

/*
 * Send the page list and wait for the host's verdict. *ret_host_may_hold
 * tells the caller whether the host might have the GPADL despite a failure.
 */
static int gpadl_establish(struct openvmbus_gpadl *g, bool *ret_host_may_hold)
{
	struct openvmbus_channel *ch = g->channel;
	struct openvmbus_conn *conn = ch->conn;
	u32 npages = g->size >> PAGE_SHIFT, done, count;
	struct openvmbus_ctl_waiter w;
	union vmbus_ctl_msg *m;
	int ret;

	*ret_host_may_hold = false;
	m = kmalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	openvmbus_ctl_waiter_init(&w, VMBUS_CTL_GPADL_RESULT, g->id, ch->id);
	openvmbus_ctl_waiter_add(conn, &w);

	openvmbus_ctl_tx_begin(conn);
	count = min(npages, VMBUS_CTL_GPADL_HEADER_MAX_PFNS);
	memset(&m->gpadl_header, 0, sizeof(m->gpadl_header));
	m->gpadl_header.hdr.type = VMBUS_CTL_GPADL_HEADER;
	m->gpadl_header.channel_id = ch->id;
	m->gpadl_header.gpadl_id = g->id;
	m->gpadl_header.total_pages = npages;
	m->gpadl_header.count = count;
	gpadl_fill(g, m->gpadl_header.pfn, 0, count);
	ret = openvmbus_ctl_tx(conn, m, vmbus_ctl_len(VMBUS_CTL_GPADL_HEADER, count));
	*ret_host_may_hold = !ret;
	for (done = count; !ret && done < npages; done += count) {
		count = min(npages - done, VMBUS_CTL_GPADL_BODY_MAX_PFNS);
		memset(&m->gpadl_body, 0, sizeof(m->gpadl_body));
		m->gpadl_body.hdr.type = VMBUS_CTL_GPADL_BODY;
		m->gpadl_body.gpadl_id = g->id;
		m->gpadl_body.count = count;
		gpadl_fill(g, m->gpadl_body.pfn, done, count);
		ret = openvmbus_ctl_tx(conn, m, vmbus_ctl_len(VMBUS_CTL_GPADL_BODY, count));
	}
	openvmbus_ctl_tx_end(conn);
	kfree(m);
	if (ret) {
		openvmbus_ctl_waiter_cancel(conn, &w);
		return ret;
	}

	ret = openvmbus_ctl_waiter_wait(conn, &w);
	if (ret)
		return ret;
	ret = openvmbus_host_status(w.resp.gpadl_result.status);
	if (ret) {
		*ret_host_may_hold = false;
		dev_warn_ratelimited(&conn->pdev->dev, "channel %u: host refused GPADL of %u pages: %d\n",
				     ch->id, npages, ret);
	}
	return ret;
}

static int gpadl_teardown(struct openvmbus_gpadl *g)
{
	struct openvmbus_channel *ch = g->channel;
	struct vmbus_ctl_gpadl_teardown msg = {
		.hdr.type = VMBUS_CTL_GPADL_TEARDOWN,
		.channel_id = ch->id,
		.gpadl_id = g->id,
	};
	struct openvmbus_ctl_waiter w;

	openvmbus_ctl_waiter_init(&w, VMBUS_CTL_GPADL_TORNDOWN, g->id, ch->id);
	return openvmbus_ctl_request(ch->conn, &msg, sizeof(msg), &w);
}

/* The host holds nothing of g any more. */
static void gpadl_destroy(struct openvmbus_conn *conn, struct openvmbus_gpadl *g)
{
	ida_free(&conn->gpadl_ida, g->id);
	vfree(g->buf);
	openvmbus_channel_put(g->channel);
	kfree(g);
}

/* The host may still use g: keep its pages (and its id) out of reach. */
static void gpadl_orphan(struct openvmbus_conn *conn, struct openvmbus_gpadl *g, int err)
{
	dev_warn_ratelimited(&conn->pdev->dev,
			     "channel %u: GPADL %u teardown failed (%d): keeping its %zu KiB from reuse\n",
			     g->channel->id, g->id, err, g->size / 1024);
	openvmbus_channel_put(g->channel);
	g->channel = NULL;
	spin_lock(&conn->orphan_lock);
	list_add_tail(&g->orphan_node, &conn->orphans);
	spin_unlock(&conn->orphan_lock);
}

struct openvmbus_gpadl *openvmbus_gpadl_alloc(struct openvmbus_channel *ch, size_t size)
{
	struct openvmbus_conn *conn = ch->conn;
	struct openvmbus_gpadl *g;
	bool host_may_hold;
	int ret;

	if (!size || size > (size_t)conn->max_gpadl_pages * PAGE_SIZE)
		return ERR_PTR(-EINVAL);
	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g) {
		ret = -ENOMEM;
		goto err_gpadl;
	}
	INIT_LIST_HEAD(&g->orphan_node);
	g->size = PAGE_ALIGN(size);
	g->buf = vzalloc(g->size);
	if (!g->buf) {
		ret = -ENOMEM;
		goto err_buf;
	}
	ret = ida_alloc_min(&conn->gpadl_ida, 1, GFP_KERNEL);
	if (ret < 0)
		goto err_id;
	g->id = ret;
	openvmbus_channel_get(ch);
	g->channel = ch;

	ret = gpadl_establish(g, &host_may_hold);
	if (ret)
		goto err_establish;
	return g;

err_establish:
	if (host_may_hold)
		openvmbus_gpadl_free(g);
	else
		gpadl_destroy(conn, g);
	return ERR_PTR(ret);
err_id:
	vfree(g->buf);
err_buf:
	kfree(g);
err_gpadl:
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(openvmbus_gpadl_alloc);

void openvmbus_gpadl_free(struct openvmbus_gpadl *g)
{
	struct openvmbus_conn *conn;
	int ret = 0;

	if (!g)
		return;
	conn = g->channel->conn;
	if (!READ_ONCE(conn->unload_done))
		ret = gpadl_teardown(g);
	if (ret)
		gpadl_orphan(conn, g, ret);
	else
		gpadl_destroy(conn, g);
}
EXPORT_SYMBOL_GPL(openvmbus_gpadl_free);

static void gpadl_orphans_take(struct openvmbus_conn *conn, struct list_head *ret_list)
{
	spin_lock(&conn->orphan_lock);
	list_splice_init(&conn->orphans, ret_list);
	spin_unlock(&conn->orphan_lock);
}

void openvmbus_gpadl_orphans_release(struct openvmbus_conn *conn)
{
	struct openvmbus_gpadl *g, *tmp;
	LIST_HEAD(list);

	gpadl_orphans_take(conn, &list);
	list_for_each_entry_safe(g, tmp, &list, orphan_node) {
		ida_free(&conn->gpadl_ida, g->id);
		vfree(g->buf);
		kfree(g);
	}
}

void openvmbus_gpadl_orphans_exit(struct openvmbus_conn *conn)
{
	struct openvmbus_gpadl *g, *tmp;
	unsigned int n = 0;
	size_t bytes = 0;
	LIST_HEAD(list);

	if (READ_ONCE(conn->unload_done)) {
		openvmbus_gpadl_orphans_release(conn);
		return;
	}
	gpadl_orphans_take(conn, &list);
	list_for_each_entry_safe(g, tmp, &list, orphan_node) {
		/* g->buf is deliberately not freed. */
		n++;
		bytes += g->size;
		kfree(g);
	}
	if (n)
		dev_warn(&conn->pdev->dev,
			 "leaking %u GPADL buffers (%zu KiB) the host may still write\n",
			 n, bytes / 1024);
}
