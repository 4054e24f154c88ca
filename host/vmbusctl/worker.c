// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * worker.c - starting vmbus-worker and talking to it (see worker.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/worker.h"

/* Written to worker.log before each start, so a run's lines can be found. */
#define WORKER_LOG_MARKER	"vmbusctl: starting "
/* The worker's last line (host/worker.c). */
#define WORKER_LOG_EXIT		"worker exits with status "

static int worker_connect(const struct vm *vm, char *error, size_t error_len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = WORKER_REQUEST_TIMEOUT_S };
	int fd, r;

	if (vm_run_path(vm, "control.sock", addr.sun_path, sizeof(addr.sun_path)) < 0) {
		snprintf(error, error_len, "the run directory path is too long for a socket");
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(error, error_len, "cannot create a socket: %s", strerror(-r));
		return r;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		close(fd);
		if (r == -ENOENT || r == -ECONNREFUSED)
			snprintf(error, error_len, "nothing answers on %s", addr.sun_path);
		else
			snprintf(error, error_len, "cannot connect to %s: %s", addr.sun_path, strerror(-r));
		return r;
	}
	return fd;
}

/* Read until EOF, at most WORKER_REPLY_MAX bytes. */
static int worker_read_reply(int fd, char **ret_text, size_t *ret_len, char *error, size_t error_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (len + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *p;

			if (ncap > WORKER_REPLY_MAX + 1) {
				snprintf(error, error_len, "the worker's reply is larger than %d bytes",
					 WORKER_REPLY_MAX);
				return -EMSGSIZE;
			}
			p = realloc(buf, ncap);
			if (!p) {
				snprintf(error, error_len, "out of memory");
				return -ENOMEM;
			}
			buf = p;
			cap = ncap;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n == 0)
			break;
		if (n < 0) {
			int r = -errno;

			if (r == -EINTR)
				continue;
			if (r == -EAGAIN || r == -EWOULDBLOCK) {
				snprintf(error, error_len, "the worker did not answer within %d s",
					 WORKER_REQUEST_TIMEOUT_S);
				return -ETIMEDOUT;
			}
			snprintf(error, error_len, "cannot read the worker's reply: %s", strerror(-r));
			return r;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_text = buf;
	*ret_len = len;
	buf = NULL;
	return 0;
}

int worker_call(const struct vm *vm, const char *request, struct json_value **ret_reply,
		char *error, size_t error_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *line = NULL, *text = NULL;
	_cleanup_json_ struct json_value *reply = NULL;
	size_t len, off = 0;
	const char *msg;
	int r;

	fd = worker_connect(vm, error, error_len);
	if (fd < 0)
		return fd;
	if (asprintf(&line, "%s\n", request) < 0) {
		line = NULL;
		snprintf(error, error_len, "out of memory");
		return -ENOMEM;
	}
	len = strlen(line);
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(error, error_len, "cannot send '%s' to the worker: %s", request, strerror(-r));
			return r;
		}
		off += (size_t)n;
	}
	r = worker_read_reply(fd, &text, &len, error, error_len);
	if (r < 0)
		return r;
	if (json_parse(text, len, &reply) < 0 || reply->type != JSON_OBJECT) {
		snprintf(error, error_len, "the worker's reply to '%s' is not a JSON object", request);
		return -EPROTO;
	}
	if (!json_get_bool(reply, "ok", false)) {
		msg = json_get_string(reply, "error");
		snprintf(error, error_len, "the worker refused '%s': %s", request,
			 msg ? msg : "no reason given");
		return -EREMOTEIO;
	}
	*ret_reply = reply;
	reply = NULL;
	return 0;
}

int worker_request_append(char *buf, size_t n, size_t *len, const char *arg)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t l = *len;

	if (l + 1 >= n)
		return -E2BIG;
	buf[l++] = ' ';
	for (; *arg; arg++) {
		unsigned char c = (unsigned char)*arg;

		if (c <= ' ' || c == '%' || c == 0x7f) {
			if (l + 3 >= n)
				return -E2BIG;
			buf[l++] = '%';
			buf[l++] = hex[c >> 4];
			buf[l++] = hex[c & 15];
		} else {
			if (l + 1 >= n)
				return -E2BIG;
			buf[l++] = (char)c;
		}
	}
	buf[l] = '\0';
	*len = l;
	return 0;
}

int worker_request(const struct vm *vm, const char *request, struct json_value **ret_reply)
{
	char error[512];
	int r;

	r = worker_call(vm, request, ret_reply, error, sizeof(error));
	if (r == -ENOENT || r == -ECONNREFUSED) {
		struct vm_probe p;

		/* Say what does run (nothing, an orphaned QEMU, ...) rather than "connection refused". */
		vm_probe(vm, &p);
		vm_probe_done(&p);
		if (p.state != VM_RUNNING)
			return vm_not_running_error(vm, &p);
	}
	if (r < 0)
		return ctl_error_errno(r, "%s: %s", vm->name, error);
	return 0;
}

static bool worker_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

int worker_find_binary(char *buf, size_t n)
{
	char self[PATH_MAX], *slash;
	const char *env = getenv("OPENVMBUS_WORKER"), *path;
	ssize_t len;
	int r;

	if (env && *env) {
		r = ctl_absolute_path(env, buf, n);
		if (r < 0)
			return ctl_error_errno(r, "OPENVMBUS_WORKER=%s: %m", env);
		if (!worker_executable(buf))
			return ctl_error_errno(-errno, "OPENVMBUS_WORKER=%s: %m", env);
		return 0;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len > 0) {
		self[len] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(buf, n, "%s/vmbus-worker", self) < n && worker_executable(buf))
				return 0;
		}
	}
	path = getenv("PATH");
	while (path && *path) {
		size_t dlen = strcspn(path, ":");

		if (dlen && (size_t)snprintf(buf, n, "%.*s/vmbus-worker", (int)dlen, path) < n &&
		    worker_executable(buf))
			return 0;
		path += dlen + (path[dlen] == ':');
	}
	return ctl_error_errno(-ENOENT, "cannot find vmbus-worker next to vmbusctl or in $PATH "
			       "(set OPENVMBUS_WORKER to its path)");
}

/* The detached grandchild: becomes the worker, or reports why it could not. */
static void __attribute__((noreturn)) worker_exec(int report_fd, int log_fd, char **argv)
{
	pid_t self = getpid();
	int null, e;

	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
	    dup2(log_fd, STDERR_FILENO) < 0 || chdir("/") < 0)
		goto fail;
	if (write(report_fd, &self, sizeof(self)) != sizeof(self))
		_exit(127);
	execv(argv[0], argv);
fail:
	e = errno;
	if (write(report_fd, &e, sizeof(e)) != sizeof(e))
		_exit(127);
	_exit(127);
}

int worker_spawn(const struct vm *vm, const char *worker, const char *qemu, pid_t *ret_pid)
{
	char conf[PATH_MAX], logpath[PATH_MAX], cache[PATH_MAX], when[32];
	char *argv[] = { (char *)worker, "--config", conf, "--run-dir", (char *)vm->run_dir,
			 "--accel-cache", cache, qemu ? "--qemu" : NULL, (char *)qemu, NULL };
	_cleanup_close_ int log_fd = -1;
	const char *state;
	int report[2], status, e, r;
	pid_t child, pid = 0;
	struct timespec now;
	struct tm tm;
	ssize_t n;

	r = ctl_state_dir(&state);
	if (r < 0)
		return r;
	if (vm_path(vm, "vm.conf", conf, sizeof(conf)) < 0 ||
	    vm_path(vm, "worker.log", logpath, sizeof(logpath)) < 0 ||
	    (size_t)snprintf(cache, sizeof(cache), "%s/accel", state) >= sizeof(cache))
		return ctl_error_errno(-ENAMETOOLONG, "%s: path too long", vm->dir);

	log_fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return ctl_error_errno(-errno, "cannot open %s: %m", logpath);
	/* In the worker's own log format (host/log.c). */
	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	dprintf(log_fd, "%s.%03ld " WORKER_LOG_MARKER "%s%s%s\n", when, now.tv_nsec / 1000000,
		worker, qemu ? " with QEMU " : "", qemu ? qemu : "");

	if (pipe2(report, O_CLOEXEC) < 0)
		return ctl_error_errno(-errno, "cannot create a pipe: %m");
	child = fork();
	if (child < 0) {
		r = -errno;
		close(report[0]);
		close(report[1]);
		return ctl_error_errno(r, "cannot fork: %m");
	}
	if (child == 0) {
		/* Fork again so the worker is nobody's child here: it outlives vmbusctl. */
		close(report[0]);
		if (setsid() < 0)
			_exit(1);
		child = fork();
		if (child < 0)
			_exit(1);
		if (child == 0)
			worker_exec(report[1], log_fd, argv);
		_exit(0);
	}
	close(report[1]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	n = read(report[0], &pid, sizeof(pid));
	if (n != sizeof(pid)) {
		close(report[0]);
		return ctl_error_errno(-ECHILD, "%s: could not start the worker process", vm->name);
	}
	/* EOF: exec succeeded (close-on-exec); an int: why it failed. */
	n = read(report[0], &e, sizeof(e));
	close(report[0]);
	if (n == sizeof(e))
		return ctl_error_errno(-e, "%s: cannot run %s: %m", vm->name, worker);
	*ret_pid = pid;
	return 0;
}

const char *worker_exit_meaning(int status)
{
	switch (status) {
	case 0: return "the guest powered off";
	case 1: return "the worker could not set the VM up";
	case 2: return "QEMU crashed or failed";
	case 3: return "QEMU was killed on request";
	}
	return "unknown exit status";
}

int worker_log_last_run(const struct vm *vm, int *ret_status, char **ret_tail, unsigned int tail_lines)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	char path[PATH_MAX], **ring = NULL, *tail = NULL, *p;
	unsigned int count = 0, i;
	size_t cap = 0, total = 1;
	int status = -1;

	if (vm_path(vm, "worker.log", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (ret_tail && tail_lines) {
		ring = calloc(tail_lines, sizeof(*ring));
		if (!ring)
			return -ENOMEM;
	}
	while (getline(&line, &cap, f) > 0) {
		if (strstr(line, WORKER_LOG_MARKER)) {
			status = -1;
			for (i = 0; ring && i < tail_lines; i++) {
				free(ring[i]);
				ring[i] = NULL;
			}
			count = 0;
			continue;
		}
		if ((p = strstr(line, WORKER_LOG_EXIT)))
			status = atoi(p + strlen(WORKER_LOG_EXIT));
		if (ring) {
			free(ring[count % tail_lines]);
			ring[count % tail_lines] = strdup(line);
			count++;
		}
	}
	if (ring) {
		unsigned int first = count > tail_lines ? count - tail_lines : 0;

		for (i = first; i < count; i++)
			total += ring[i % tail_lines] ? strlen(ring[i % tail_lines]) : 0;
		tail = malloc(total);
		if (tail) {
			tail[0] = '\0';
			for (i = first; i < count; i++)
				if (ring[i % tail_lines])
					strcat(tail, ring[i % tail_lines]);
		}
		for (i = 0; i < tail_lines; i++)
			free(ring[i]);
		free(ring);
		if (!tail)
			return -ENOMEM;
		*ret_tail = tail;
	}
	*ret_status = status;
	return 0;
}

void worker_log_print_tail(const struct vm *vm, unsigned int lines)
{
	_cleanup_free_ char *tail = NULL;
	char path[PATH_MAX];
	int status;

	if (vm_path(vm, "worker.log", path, sizeof(path)) < 0 ||
	    worker_log_last_run(vm, &status, &tail, lines) < 0 || !tail[0])
		return;
	output_log_tail(stderr, path, tail);
}
