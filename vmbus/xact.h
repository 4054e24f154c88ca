/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * xact.h - transaction ids: matching completions from the peer to the
 * requests we sent.
 *
 * An id is never a pointer. It encodes a slot index and a generation, so a
 * completion for an id we did not hand out, or for one already completed or
 * cancelled, is recognised and rejected (-EPROTO) instead of being
 * dereferenced. The caller supplies the slot storage and serialises calls.
 */
#ifndef VMBUS_XACT_H
#define VMBUS_XACT_H

#include "platform.h"

struct vmbus_xact_slot {
	uint64_t id;		/* 0 while free */
	void *ctx;		/* the caller's request */
	uint32_t next_free;
};

struct vmbus_xact_table {
	struct vmbus_xact_slot *slots;
	uint32_t nslots;
	uint32_t free_head;	/* nslots when none is free */
	uint32_t inflight;
	uint32_t generation;
};

/* nslots in 1..2^31. */
int vmbus_xact_init(struct vmbus_xact_table *t, struct vmbus_xact_slot *slots,
		    uint32_t nslots);
/* Returns 0 with a fresh nonzero *ret_id, or -EAGAIN when every slot is busy. */
int vmbus_xact_alloc(struct vmbus_xact_table *t, void *ctx, uint64_t *ret_id);
/*
 * The peer completed id: frees the slot and returns its ctx. -EPROTO for an
 * id that is not in flight (unknown, duplicate, or already cancelled).
 */
int vmbus_xact_complete(struct vmbus_xact_table *t, uint64_t id, void **ret_ctx);
/* We gave up on id (timeout, reset): same as complete, -ENOENT if not in flight. */
int vmbus_xact_cancel(struct vmbus_xact_table *t, uint64_t id, void **ret_ctx);
/* Look up without freeing; -ENOENT if not in flight. */
int vmbus_xact_find(const struct vmbus_xact_table *t, uint64_t id, void **ret_ctx);
/*
 * Cancel the first in-flight transaction at or after slot *cursor; used to
 * fail everything after a channel reset. Returns 0 with *ret_ctx set and
 * *cursor advanced, or -ENOENT when none is left.
 */
int vmbus_xact_cancel_next(struct vmbus_xact_table *t, uint32_t *cursor, void **ret_ctx);
static inline uint32_t vmbus_xact_inflight(const struct vmbus_xact_table *t)
{
	return t->inflight;
}

#endif /* VMBUS_XACT_H */
