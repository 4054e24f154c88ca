// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * accel.c - KVM probe with a cached verdict (see accel.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host/accel.h"
#include "host/log.h"

#define ACCEL_PROBE_SECONDS 20

/* A key that changes when the machine or QEMU changes. */
static void accel_machine_key(const char *qemu, char *key, size_t n)
{
	char line[256], model[128] = "unknown";
	struct stat st;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "model name", 10) == 0) {
				char *c = strchr(line, ':');

				if (c) {
					snprintf(model, sizeof(model), "%s", c + 2);
					model[strcspn(model, "\n")] = '\0';
				}
				break;
			}
		}
		fclose(f);
	}
	if (stat(qemu, &st) < 0)
		st.st_mtime = 0;
	snprintf(key, n, "%s|%s|%lld", model, qemu, (long long)st.st_mtime);
}

static bool accel_newest_kernel(char *out, size_t n)
{
	struct dirent *e;
	time_t best = 0;
	DIR *d = opendir("/boot");

	if (!d)
		return false;
	while ((e = readdir(d))) {
		char path[512];
		struct stat st;

		if (strncmp(e->d_name, "vmlinuz-", 8))
			continue;
		snprintf(path, sizeof(path), "/boot/%s", e->d_name);
		if (stat(path, &st) == 0 && st.st_mtime > best) {
			best = st.st_mtime;
			snprintf(out, n, "%s", path);
		}
	}
	closedir(d);
	return best != 0;
}

/* Boot kernel under KVM; true if it reached the point of panicking for lack of a root fs. */
static bool accel_kvm_boots(const char *qemu, const char *kernel)
{
	char logpath[] = "/tmp/openvmbus-kvm-probe-XXXXXX", serial[600], buf[65536];
	int fd = mkstemp(logpath), status;
	bool ok = false;
	pid_t pid;
	time_t deadline;

	if (fd < 0)
		return false;
	snprintf(serial, sizeof(serial), "file:%s", logpath);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		execlp(qemu, qemu, "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults",
		       "-no-user-config", "-display", "none", "-no-reboot", "-serial", serial,
		       "-kernel", kernel, "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent",
		       (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		close(fd);
		unlink(logpath);
		return false;
	}
	deadline = time(NULL) + ACCEL_PROBE_SECONDS;
	while (time(NULL) < deadline) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, "Kernel panic") || strstr(buf, "VFS: Unable to mount root")) {
				ok = true;
				break;
			}
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = -1;
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			ok = strstr(buf, "Kernel panic") != NULL;
			break;
		}
		usleep(200 * 1000);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(fd);
	unlink(logpath);
	return ok;
}

const char *accel_resolve(const char *requested, const char *qemu, const char *kernel,
			  const char *cache_path, char *why)
{
	char key[512], line[600], probe_kernel[512];
	const char *verdict;
	FILE *f;

	if (strcmp(requested, "auto") != 0) {
		if (why)
			snprintf(why, 128, "requested");
		return strcmp(requested, "kvm") == 0 ? "kvm" : "tcg";
	}
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		if (why)
			snprintf(why, 128, "/dev/kvm is not usable");
		return "tcg";
	}
	accel_machine_key(qemu, key, sizeof(key));
	if (cache_path && (f = fopen(cache_path, "re"))) {
		bool hit = false;

		if (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			char *sep = strrchr(line, '=');

			if (sep && (size_t)(sep - line) == strlen(key) && !strncmp(line, key, strlen(key))) {
				hit = true;
				verdict = strcmp(sep + 1, "kvm") == 0 ? "kvm" : "tcg";
			}
		}
		fclose(f);
		if (hit) {
			if (why)
				snprintf(why, 128, "cached probe result (%s)", cache_path);
			return verdict;
		}
	}
	if (!kernel || access(kernel, R_OK) != 0) {
		if (!accel_newest_kernel(probe_kernel, sizeof(probe_kernel))) {
			if (why)
				snprintf(why, 128, "no kernel to probe KVM with");
			return "tcg";
		}
		kernel = probe_kernel;
	}
	log_info("probing whether KVM can boot %s (up to %d s, once per machine)", kernel,
		 ACCEL_PROBE_SECONDS);
	verdict = accel_kvm_boots(qemu, kernel) ? "kvm" : "tcg";
	if (why)
		snprintf(why, 128, "KVM probe: %s", strcmp(verdict, "kvm") ? "a kernel does not boot under KVM here" : "works");
	if (cache_path && (f = fopen(cache_path, "we"))) {
		fprintf(f, "%s=%s\n", key, verdict);
		fclose(f);
	}
	return verdict;
}
