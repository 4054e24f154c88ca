// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * devices.c - the table of device backends (see devices.h).
 */
#include <string.h>
#include <time.h>

#include "host/devices.h"

const struct device_ops *const devices_all[] = {
	&heartbeat_device_ops,
	&shutdown_device_ops,
	&timesync_device_ops,
	&kvp_device_ops,
	&backup_device_ops,
	&echo_device_ops,
	NULL,
};

const struct device_ops *devices_find(const char *name)
{
	unsigned int i;

	for (i = 0; devices_all[i]; i++)
		if (strcmp(devices_all[i]->name, name) == 0)
			return devices_all[i];
	return NULL;
}

const char *devices_run_dir;

uint64_t devices_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double devices_now(void)
{
	return devices_now_ns() / 1e9;
}
