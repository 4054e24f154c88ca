/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * devices.h - the ordered table of device backends the worker can serve.
 */
#ifndef HOST_DEVICES_H
#define HOST_DEVICES_H

#include "host/bus.h"

extern const struct device_ops echo_device_ops;
extern const struct device_ops heartbeat_device_ops;
extern const struct device_ops shutdown_device_ops;
extern const struct device_ops timesync_device_ops;
extern const struct device_ops kvp_device_ops;
extern const struct device_ops backup_device_ops;

/*
 * Ask the guest's shutdown service to power off or reboot. -ENODEV when no
 * guest service has negotiated the channel (the caller falls back to ACPI).
 */
int shutdown_device_request(struct device *dev, uint32_t action, bool force, uint32_t timeout_s,
			    const char *reason);

/* An answer of the guest's backup service (or a local failure to get one). */
struct backup_answer {
	uint32_t op;			/* enum vmbus_ic_backup_op */
	int32_t status;			/* 0 or -errno */
	bool local;			/* no answer: status says why (timeout, service gone) */
	uint32_t flags;			/* VMBUS_BACKUP_F_* */
	uint32_t nfilesystems;
	uint32_t elapsed_ms;
	char text[3072 + 1];		/* VMBUS_BACKUP_TEXT_MAX, NUL-terminated, sanitized */
};
typedef void (*backup_answer_fn)(void *ctx, const struct backup_answer *a);

/*
 * Send a FREEZE/THAW/STATUS to the guest's backup service; fn(ctx, answer)
 * runs once with its answer, or with a local failure (-ETIMEDOUT, -ENODEV).
 * -ENODEV when no guest service is connected, -EBUSY while a request waits.
 */
int backup_device_request(struct device *dev, uint32_t op, uint32_t timeout_ms, uint64_t backup_id,
			  backup_answer_fn fn, void *ctx);
/* A guest service is connected and no request waits. */
bool backup_device_ready(struct device *dev);
/* Forget fn/ctx of the waiting request (the caller goes away). */
void backup_device_cancel(struct device *dev, void *ctx);
const char *backup_op_name(uint32_t op);

/* Backend by its short name (as in vmbus/classes.h), or NULL. */
const struct device_ops *devices_find(const char *name);
/* NULL-terminated list of every backend, in offer order. */
extern const struct device_ops *const devices_all[];

/* Seconds since an arbitrary start, for backends' timestamps. */
double devices_now(void);
/* The same clock in nanoseconds, for latencies. */
uint64_t devices_now_ns(void);

/*
 * The worker's run directory (set before any device is added), where a backend
 * keeps what must outlive the worker (the KVP host pool); NULL in harnesses.
 */
extern const char *devices_run_dir;

#endif
