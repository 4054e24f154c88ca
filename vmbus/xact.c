// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * xact.c - transaction id table (see xact.h).
 *
 * id = generation << 32 | (slot index + 1): never 0, and a stale id fails
 * the comparison with the slot's current id.
 */
#include "xact.h"

int vmbus_xact_init(struct vmbus_xact_table *t, struct vmbus_xact_slot *slots,
		    uint32_t nslots)
{
	uint32_t i;

	if (!slots || nslots == 0 || nslots > (1u << 31))
		return -EINVAL;
	for (i = 0; i < nslots; i++) {
		slots[i].id = 0;
		slots[i].ctx = NULL;
		slots[i].next_free = i + 1;
	}
	t->slots = slots;
	t->nslots = nslots;
	t->free_head = 0;
	t->inflight = 0;
	t->generation = 0;
	return 0;
}

int vmbus_xact_alloc(struct vmbus_xact_table *t, void *ctx, uint64_t *ret_id)
{
	struct vmbus_xact_slot *s;
	uint32_t i = t->free_head;

	if (i >= t->nslots)
		return -EAGAIN;
	s = &t->slots[i];
	t->free_head = s->next_free;
	if (++t->generation == 0)
		t->generation = 1;
	s->id = ((uint64_t)t->generation << 32) | (i + 1);
	s->ctx = ctx;
	t->inflight++;
	*ret_id = s->id;
	return 0;
}

static struct vmbus_xact_slot *xact_lookup(const struct vmbus_xact_table *t, uint64_t id)
{
	uint32_t low = (uint32_t)id;
	struct vmbus_xact_slot *s;

	if (low == 0 || low > t->nslots)
		return NULL;
	s = &t->slots[low - 1];
	return s->id == id ? s : NULL;
}

static void xact_release(struct vmbus_xact_table *t, struct vmbus_xact_slot *s)
{
	s->id = 0;
	s->ctx = NULL;
	s->next_free = t->free_head;
	t->free_head = (uint32_t)(s - t->slots);
	t->inflight--;
}

int vmbus_xact_complete(struct vmbus_xact_table *t, uint64_t id, void **ret_ctx)
{
	struct vmbus_xact_slot *s = xact_lookup(t, id);

	if (!s)
		return -EPROTO;
	*ret_ctx = s->ctx;
	xact_release(t, s);
	return 0;
}

int vmbus_xact_cancel(struct vmbus_xact_table *t, uint64_t id, void **ret_ctx)
{
	int ret = vmbus_xact_complete(t, id, ret_ctx);

	return ret == -EPROTO ? -ENOENT : ret;
}

int vmbus_xact_find(const struct vmbus_xact_table *t, uint64_t id, void **ret_ctx)
{
	struct vmbus_xact_slot *s = xact_lookup(t, id);

	if (!s)
		return -ENOENT;
	*ret_ctx = s->ctx;
	return 0;
}

int vmbus_xact_cancel_next(struct vmbus_xact_table *t, uint32_t *cursor, void **ret_ctx)
{
	uint32_t i;

	for (i = *cursor; i < t->nslots; i++) {
		if (t->slots[i].id) {
			*ret_ctx = t->slots[i].ctx;
			xact_release(t, &t->slots[i]);
			*cursor = i + 1;
			return 0;
		}
	}
	*cursor = t->nslots;
	return -ENOENT;
}
