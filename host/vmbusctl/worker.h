/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * worker.h - vmbusctl's side of vmbus-worker: finding and starting it,
 * talking to its control socket (docs/control-socket.md), and reading what
 * its log says about how it ended.
 */
#ifndef HOST_VMBUSCTL_WORKER_H
#define HOST_VMBUSCTL_WORKER_H

#include <stddef.h>
#include <sys/types.h>

#include "host/json.h"
#include "host/vmbusctl/vm.h"

#define WORKER_REQUEST_TIMEOUT_S	5
#define WORKER_REPLY_MAX		(1024 * 1024)

/*
 * Send one request line and return the parsed reply object. Fails with
 * -ECONNREFUSED/-ENOENT (nothing listens), -ETIMEDOUT, -EPROTO (not a JSON
 * object) or -EREMOTEIO (the worker answered "ok": false); error gets a
 * sentence for a human. Reports nothing itself.
 */
int worker_call(const struct vm *vm, const char *request, struct json_value **ret_reply,
		char *error, size_t error_len);
/* worker_call that reports failures as "vmbusctl: NAME: ..." ("NAME is not running", ...). */
int worker_request(const struct vm *vm, const char *request, struct json_value **ret_reply);

/*
 * Append arg to the request line in buf (length *len, capacity n) as one
 * argument: a space first, then the bytes with every space, control byte,
 * '%' and DEL written as %XX (docs/control-socket.md). -E2BIG if it does
 * not fit.
 */
int worker_request_append(char *buf, size_t n, size_t *len, const char *arg);

/* The vmbus-worker to run: $OPENVMBUS_WORKER, next to vmbusctl, or $PATH. */
int worker_find_binary(char *buf, size_t n);
/*
 * Start the worker for vm, detached (own session, stdin /dev/null, output
 * appended to worker.log after a start marker). qemu may be NULL.
 */
int worker_spawn(const struct vm *vm, const char *worker, const char *qemu, pid_t *ret_pid);

/* What a worker exit status means (docs/control-socket.md). */
const char *worker_exit_meaning(int status);
/*
 * Read worker.log from the last start marker: *ret_status gets the status
 * of the "worker exits with status N" line (-1 if there is none), and
 * *ret_tail (if not NULL) the last tail_lines lines, to be freed.
 */
int worker_log_last_run(const struct vm *vm, int *ret_status, char **ret_tail, unsigned int tail_lines);
/* Print the last lines of the last run's log, indented, on stderr. */
void worker_log_print_tail(const struct vm *vm, unsigned int lines);

#endif
