// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * timesync.c - `vmbusctl timesync`: sync the guest's clock to the host's
 * now (the guest steps it if it is off by more than its threshold) and
 * report what the guest found, or with --status show the service's state.
 * Protocol: docs/protocol/timesync.md.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/vm.h"
#include "host/vmbusctl/worker.h"

#define TIMESYNC_ANSWER_S	10	/* how long the guest gets to answer a sync */
#define TIMESYNC_POLL_MS	100

static const char timesync_help[] =
	"Usage: vmbusctl timesync NAME [--status] [--json] [--timeout S]\n"
	"Send the guest the host's time now and wait for its answer: how far off its\n"
	"clock was and whether it stepped it (it does when the offset exceeds its\n"
	"threshold, by default 1 s; smaller offsets are left to chrony).\n\n"
	"  --status      show the service's state without syncing\n"
	"  --json        the service's state as JSON\n"
	"  --timeout S   seconds to wait for the guest's answer (default 10)\n";

enum { OPT_STATUS = CTL_OPT_FIRST_PRIVATE, OPT_JSON, OPT_TIMEOUT };

static const struct option timesync_options[] = {
	{ "status", no_argument, NULL, OPT_STATUS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	CTL_COMMON_OPTIONS
};

/* "+0.000123 s" from nanoseconds. */
static const char *timesync_offset_text(double ns, char *buf, size_t n)
{
	snprintf(buf, n, "%+.6f s", ns / 1e9);
	return buf;
}

static void timesync_print_status(const struct json_value *st)
{
	const struct json_value *last = json_get(st, "last_sample"), *sync = json_get(st, "last_sync");
	const char *protocol = json_get_string(st, "protocol");
	char off[48];

	if (json_get_bool(st, "guest_service", false))
		printf("guest service: connected, protocol %s, step threshold %.0f ms\n",
		       protocol ? protocol : "?", json_get_number(st, "threshold_ms", 0));
	else
		printf("guest service: not connected\n");
	printf("samples: %.0f sent, %.0f answered, %.0f unanswered; %.0f steps; delay estimate %.3f ms\n",
	       json_get_number(st, "samples", 0), json_get_number(st, "answers", 0),
	       json_get_number(st, "unanswered", 0), json_get_number(st, "steps", 0),
	       json_get_number(st, "delay_ms", 0));
	if (last)
		printf("last sample: %.1f s ago, guest offset %s, round trip %.3f ms\n",
		       json_get_number(last, "ago", 0),
		       timesync_offset_text(json_get_number(last, "offset_ns", 0), off, sizeof(off)),
		       json_get_number(last, "round_trip_ms", 0));
	if (sync) {
		const char *state = json_get_string(sync, "state");
		const char *reason = json_get_string(sync, "reason");

		printf("last sync (%s): %.1f s ago, ", reason ? reason : "?",
		       json_get_number(sync, "sent_ago", 0));
		if (state && strcmp(state, "answered") == 0)
			printf("guest offset %s, %s\n",
			       timesync_offset_text(json_get_number(sync, "offset_ns", 0), off, sizeof(off)),
			       json_get_bool(sync, "stepped", false) ? "stepped" : "not stepped");
		else
			printf("%s\n", state ? state : "?");
	}
}

static int timesync_print_json(const struct json_value *st)
{
	struct json_writer w;
	int r;

	json_writer_init(&w);
	output_json_value(&w, NULL, st, "ok");
	r = output_json_print(&w);
	json_writer_free(&w);
	return r;
}

/* Wait until the worker has the guest's answer to sync seq; the status then, or NULL. */
static struct json_value *timesync_wait_answer(const struct vm *vm, double seq, double timeout_s)
{
	struct timespec pause = { 0, TIMESYNC_POLL_MS * 1000000L };
	double end = ctl_now() + timeout_s;
	char error[256];

	do {
		struct json_value *st = NULL;
		const struct json_value *sync;
		const char *state;

		if (worker_call(vm, "service timesync status", &st, error, sizeof(error)) < 0) {
			ctl_message("%s: %s", vm->name, error);
			return NULL;
		}
		sync = json_get(st, "last_sync");
		state = json_get_string(sync, "state");
		if (json_get_number(sync, "sequence", -1) != seq) {
			json_value_free(st);
			ctl_message("%s: another sync was sent meanwhile", vm->name);
			return NULL;
		}
		if (state && strcmp(state, "waiting") != 0)
			return st;
		json_value_free(st);
		nanosleep(&pause, NULL);
	} while (ctl_now() < end);
	ctl_message("%s: the guest did not answer the sync within %.0f s", vm->name, timeout_s);
	return NULL;
}

int cmd_timesync(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	_cleanup_json_ struct json_value *reply = NULL;
	_cleanup_json_ struct json_value *st = NULL;
	const struct json_value *sync;
	const char *state;
	bool status = false, json = false;
	double timeout_s = TIMESYNC_ANSWER_S;
	char off[48];
	int c, r;

	while ((c = ctl_getopt(argc, argv, timesync_options)) != -1) {
		switch (c) {
		case OPT_STATUS: status = true; break;
		case OPT_JSON: json = true; break;
		case OPT_TIMEOUT:
			r = ctl_parse_seconds("timesync", "--timeout", optarg, &timeout_s);
			if (r < 0)
				return r;
			break;
		default: return ctl_option_default(c, timesync_help);
		}
	}
	r = vm_open_argument(&vm, argc, argv);
	if (r < 0)
		return r;

	if (status) {
		r = worker_request(&vm, "service timesync status", &st);
		if (r < 0)
			return r;
		if (json)
			return timesync_print_json(st);
		timesync_print_status(st);
		return 0;
	}

	r = worker_request(&vm, "service timesync sync", &reply);
	if (r < 0)
		return r;
	st = timesync_wait_answer(&vm, json_get_number(reply, "sequence", -1), timeout_s);
	if (!st)
		return -ETIMEDOUT;
	if (json)
		return timesync_print_json(st);
	sync = json_get(st, "last_sync");
	state = json_get_string(sync, "state");
	if (!state || strcmp(state, "answered") != 0) {
		ctl_message("%s: the guest could not use the sync (%s)", vm.name, state ? state : "?");
		return -EPROTO;
	}
	timesync_offset_text(json_get_number(sync, "offset_ns", 0), off, sizeof(off));
	if (json_get_bool(sync, "stepped", false))
		printf("%s: the guest clock was off by %s: stepped to the host's time (round trip %.3f ms)\n",
		       vm.name, off, json_get_number(sync, "round_trip_ms", 0));
	else
		printf("%s: the guest clock was off by %s: within its threshold (%.0f ms), left to chrony (round trip %.3f ms)\n",
		       vm.name, off, json_get_number(st, "threshold_ms", 0),
		       json_get_number(sync, "round_trip_ms", 0));
	return 0;
}
