/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * output.h - formatting shared by the subcommands' human and --json output.
 */
#ifndef HOST_VMBUSCTL_OUTPUT_H
#define HOST_VMBUSCTL_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "host/json.h"

/* "42s", "1m42s", "3h05m", "2d04h". */
void output_duration(double seconds, char *buf, size_t n);
/* Copy a parsed JSON value into a writer, leaving out members named skip (may be NULL). */
void output_json_value(struct json_writer *w, const char *key, const struct json_value *v,
		       const char *skip);
/*
 * The human form of a worker's status reply:
 *   demo: running (tcg, 2 CPUs, 512 MiB, up 1m42s, worker 1234, qemu 1235)
 *     bus: connected, protocol 1.0
 *     heartbeat: ok (2 s ago)
 */
void output_status(const char *name, const struct json_value *status);
/*
 * Where a service of a status reply stands: "offered (channel 1), not
 * opened by the guest", "connected, protocol 1.0 (channel 2)", ...
 */
void output_service_state(const struct json_value *svc, char *buf, size_t n);
/*
 * The entry of service `name` in a status reply's "services", or NULL.
 * offered_only: pass over a rescinded device that lingers until the guest
 * lets go of it (a new one of the same name may follow).
 */
const struct json_value *output_status_service(const struct json_value *status, const char *name,
					       bool offered_only);
/* "heartbeat, echo": every integration service the worker knows (host/devices.c). */
void output_service_names(char *buf, size_t n);
/* The last `lines` lines of a file (from its last 64 KiB); *ret_text to be freed. */
int output_file_tail(const char *path, unsigned int lines, char **ret_text, size_t *ret_len);
/* "Last lines of PATH:" and then each line of text indented by two spaces. */
void output_log_tail(FILE *f, const char *path, const char *text);
/* Print the writer's text and a newline; -ENOMEM if it ran out of memory. */
int output_json_print(struct json_writer *w);
/* Print a worker's reply as JSON without its "ok" member (--json output). */
int output_json_reply(const struct json_value *reply);

#endif
