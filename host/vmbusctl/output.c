// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * output.c - see output.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "host/devices.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"

#define OUTPUT_TAIL_MAX		(64 * 1024)

void output_duration(double seconds, char *buf, size_t n)
{
	unsigned long long s = seconds > 0 ? (unsigned long long)seconds : 0;

	if (s < 60)
		snprintf(buf, n, "%llus", s);
	else if (s < 3600)
		snprintf(buf, n, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, n, "%lluh%02llum", s / 3600, s / 60 % 60);
	else
		snprintf(buf, n, "%llud%02lluh", s / 86400, s / 3600 % 24);
}

void output_json_value(struct json_writer *w, const char *key, const struct json_value *v,
		       const char *skip)
{
	const struct json_value *c;

	switch (v->type) {
	case JSON_NULL:
		json_null(w, key);
		break;
	case JSON_BOOL:
		json_bool(w, key, v->boolean);
		break;
	case JSON_NUMBER:
		/* Keep integers (pids, counters) integers. */
		if (v->number > -9007199254740992.0 && v->number < 9007199254740992.0 &&
		    v->number == (double)(int64_t)v->number)
			json_int(w, key, (int64_t)v->number);
		else
			json_double(w, key, v->number);
		break;
	case JSON_STRING:
		json_string(w, key, v->string);
		break;
	case JSON_ARRAY:
		json_array_begin(w, key);
		for (c = v->child; c; c = c->next)
			output_json_value(w, NULL, c, NULL);
		json_array_end(w);
		break;
	case JSON_OBJECT:
		json_object_begin(w, key);
		for (c = v->child; c; c = c->next)
			if (!skip || strcmp(c->key, skip))
				output_json_value(w, c->key, c, NULL);
		json_object_end(w);
		break;
	}
}

int output_json_print(struct json_writer *w)
{
	const char *text = json_writer_text(w);

	if (!text)
		return ctl_error_errno(-ENOMEM, "out of memory");
	puts(text);
	return 0;
}

void output_service_names(char *buf, size_t n)
{
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; devices_all[i] && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", devices_all[i]->name);
}

static void output_bus(const struct json_value *bus)
{
	const char *protocol = json_get_string(bus, "protocol");
	double errors = json_get_number(bus, "protocol_errors", 0);
	double resets = json_get_number(bus, "channel_resets", 0);

	if (json_get_bool(bus, "connected", false))
		printf("  bus: connected, protocol %s", protocol ? protocol : "?");
	else
		printf("  bus: not connected (waiting for the guest's openvmbus driver)");
	if (errors > 0)
		printf(", %.0f protocol error%s", errors, errors == 1 ? "" : "s");
	if (resets > 0)
		printf(", %.0f channel reset%s", resets, resets == 1 ? "" : "s");
	putchar('\n');
}

void output_service_state(const struct json_value *svc, char *buf, size_t n)
{
	const char *channel = json_get_string(svc, "channel");
	const char *protocol = json_get_string(svc, "protocol");
	double id = json_get_number(svc, "channel_id", 0);
	/* Integration services say whether a guest service negotiated; echo does not. */
	bool ic = json_get(svc, "guest_service") != NULL;

	if (!channel)
		snprintf(buf, n, "?");
	else if (strcmp(channel, "offered") == 0)
		snprintf(buf, n, "offered (channel %.0f), not opened by the guest", id);
	else if (strcmp(channel, "open") == 0 && json_get_bool(svc, "guest_service", false))
		snprintf(buf, n, "connected, protocol %s (channel %.0f)", protocol ? protocol : "?", id);
	else if (strcmp(channel, "open") == 0 && ic)
		snprintf(buf, n, "opened (channel %.0f), waiting for the guest service", id);
	else if (strcmp(channel, "open") == 0)
		snprintf(buf, n, "open (channel %.0f)", id);
	else if (strcmp(channel, "rescinded") == 0)
		snprintf(buf, n, "rescinded, waiting for the guest to let go of channel %.0f", id);
	else
		snprintf(buf, n, "%s", channel);
}

/* What the service itself reports (heartbeat state, the last shutdown request). */
static void output_service_detail(const struct json_value *svc)
{
	const char *heartbeat = json_get_string(svc, "heartbeat");
	const char *system = json_get_string(svc, "system_state");
	const struct json_value *last = json_get(svc, "last_request");
	const struct json_value *sample = json_get(svc, "last_sample");
	double ago = json_get_number(svc, "last_answer_ago", -1);

	if (heartbeat && strcmp(heartbeat, "ok") == 0) {
		printf("; heartbeat ok (%.0f s ago)", ago);
		if (system)
			printf(", guest system %s", system);
	} else if (heartbeat && strcmp(heartbeat, "paused") == 0) {
		printf("; heartbeat paused with the VM");
	} else if (heartbeat && strcmp(heartbeat, "lost") == 0) {
		if (ago >= 0)
			printf("; heartbeat lost (no answer for %.0f s)", ago);
		else
			printf("; heartbeat lost (the guest never answered)");
	}
	if (sample) {
		double ago_s = json_get_number(sample, "ago", 0);

		/* offset_ns is host - guest; people read "the guest is N ms ahead". */
		printf("; guest clock %+.3f ms vs the host (%.0f s ago)",
		       -json_get_number(sample, "offset_ns", 0) / 1e6, ago_s);
	}
	if (json_get(svc, "guest_entries"))
		printf("; %.0f guest values, %.0f host values", json_get_number(svc, "guest_entries", 0),
		       json_get_number(svc, "host_entries", 0));
	if (last) {
		const char *action = json_get_string(last, "action");
		const char *result = json_get_string(last, "result");
		const char *message = json_get_string(last, "message");

		printf("; last request: %s %.0f s ago, %s", action ? action : "?",
		       json_get_number(last, "ago", 0), result ? result : "?");
		if (message && *message)
			printf(" (%s)", message);
	}
}

static void output_service(const struct json_value *svc)
{
	const char *name = json_get_string(svc, "name");
	char state[128];

	output_service_state(svc, state, sizeof(state));
	printf("  %s: %s", name ? name : "?", state);
	output_service_detail(svc);
	printf("\n");
}

void output_status(const char *name, const struct json_value *status)
{
	const char *state = json_get_string(status, "state");
	const char *accel = json_get_string(status, "accel");
	double cpus = json_get_number(status, "cpus", 0);
	double qemu = json_get_number(status, "qemu_pid", -1);
	const struct json_value *services = json_get(status, "services"), *svc;
	char up[32];

	output_duration(json_get_number(status, "uptime", 0), up, sizeof(up));
	printf("%s: %s (%s, %.0f CPU%s, %.0f MiB, up %s, worker %.0f", name,
	       state ? state : "running", accel ? accel : "?", cpus, cpus == 1 ? "" : "s",
	       json_get_number(status, "memory_mib", 0), up, json_get_number(status, "worker_pid", 0));
	if (qemu > 0)
		printf(", qemu %.0f", qemu);
	printf(")\n");
	output_bus(json_get(status, "bus"));
	if (services && services->type == JSON_ARRAY)
		for (svc = services->child; svc; svc = svc->next)
			output_service(svc);
}

int output_file_tail(const char *path, unsigned int lines, char **ret_text, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	char *start;
	ssize_t n;
	off_t from;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	buf = malloc(OUTPUT_TAIL_MAX + 1);
	if (!buf)
		return -ENOMEM;
	from = st.st_size > OUTPUT_TAIL_MAX ? st.st_size - OUTPUT_TAIL_MAX : 0;
	n = lines ? pread(fd, buf, OUTPUT_TAIL_MAX, from) : 0;
	if (n < 0)
		return -errno;
	/* Walk back over `lines` line ends, not counting a final one. */
	start = buf + n;
	if (start > buf && start[-1] == '\n')
		start--;
	while (start > buf && !(start[-1] == '\n' && --lines == 0))
		start--;
	if (n == 0)
		start = buf;
	*ret_len = (size_t)(buf + n - start);
	memmove(buf, start, *ret_len);
	buf[*ret_len] = '\0';
	*ret_text = buf;
	buf = NULL;
	return 0;
}

void output_log_tail(FILE *f, const char *path, const char *text)
{
	const char *p, *nl;

	fprintf(f, "Last lines of %s:\n", path);
	for (p = text; *p; p = nl + 1) {
		nl = strchrnul(p, '\n');
		fprintf(f, "  %.*s\n", (int)(nl - p), p);
		if (!*nl)
			break;
	}
}

int output_json_reply(const struct json_value *reply)
{
	struct json_writer w;
	int r;

	json_writer_init(&w);
	output_json_value(&w, NULL, reply, "ok");
	r = output_json_print(&w);
	json_writer_free(&w);
	return r;
}

const struct json_value *output_status_service(const struct json_value *status, const char *name,
					       bool offered_only)
{
	const struct json_value *services = json_get(status, "services"), *svc;

	for (svc = services ? services->child : NULL; svc; svc = svc->next) {
		const char *n = json_get_string(svc, "name");
		const char *channel = json_get_string(svc, "channel");

		if (n && strcmp(n, name) == 0 &&
		    !(offered_only && channel && strcmp(channel, "rescinded") == 0))
			return svc;
	}
	return NULL;
}
