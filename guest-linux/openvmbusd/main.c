// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - openvmbusd, the guest daemon for the userspace integration
 * services. One sd_event loop serves every service listed below; each
 * talks to the host through /dev/openvmbus/<service>. Runs under systemd
 * (Type=notify) or without it (initramfs, containers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "guest-linux/openvmbusd/log.h"
#include "guest-linux/openvmbusd/service.h"

static const struct service_ops *const openvmbusd_services[] = {
	&heartbeat_service_ops,
	&shutdown_service_ops,
	&kvp_service_ops,
	&backup_service_ops,
};
#define NSERVICES (sizeof(openvmbusd_services) / sizeof(openvmbusd_services[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: openvmbusd [--dev-dir DIR]\n"
		   "       openvmbusd --kvp-list | --kvp-get KEY\n"
		   "Serves the openvmbus integration services of this guest (heartbeat, shutdown,\n"
		   "key-value exchange, backup freeze and thaw).\n"
		   "  --dev-dir DIR   where the service devices are (default /dev/openvmbus)\n"
		   "  --kvp-list      print the values the host set for this guest (KEY=VALUE)\n"
		   "  --kvp-get KEY   print one of them; exit status 1 if the host has not set it\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "dev-dir", required_argument, NULL, 'd' },
		{ "kvp-list", no_argument, NULL, 'l' },
		{ "kvp-get", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct service services[NSERVICES];
	const char *dev_dir = "/dev/openvmbus";
	sd_event *event = NULL;
	sigset_t mask;
	unsigned int i;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'd': dev_dir = optarg; break;
		case 'l':
			return kvp_pool_query(NULL) < 0 ? 1 : 0;
		case 'g':
			r = kvp_pool_query(optarg);
			if (r == -ENOENT)
				fprintf(stderr, "openvmbusd: the host has not set '%s'\n", optarg);
			return r < 0 ? 1 : 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	r = sd_event_default(&event);
	if (r < 0) {
		log_msg(LOG_ERR, "cannot create the event loop: %s", strerror(-r));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);	/* sd_event child sources: backup hooks and watchdog */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
	sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
	for (i = 0; i < NSERVICES; i++)
		service_start(&services[i], openvmbusd_services[i], event, dev_dir);
	sd_notify(0, "READY=1\nSTATUS=Serving integration services");
	log_msg(LOG_INFO, "started");
	r = sd_event_loop(event);
	sd_notify(0, "STOPPING=1");
	for (i = 0; i < NSERVICES; i++)
		service_stop(&services[i]);
	sd_event_unref(event);
	log_msg(LOG_INFO, "stopped");
	return r < 0 ? 1 : 0;
}
